#!/usr/bin/python3
"""bench_svm.py - data and peer for bench_svm.sh.
  bench_svm.py data OUT.h5 N d G        write a features.h5 task (N clips, d dims, G genres, 10 clips
                                        per artist, artist offsets) for `artistnet evaluate`
  bench_svm.py sklearn OUT.h5 FOLDS.tsv JOBS C,.. g,..
                                        the peer: per outer fold of FOLDS.tsv StandardScaler +
                                        GridSearchCV(SVC(rbf), cv=PredefinedSplit(inner folds), n_jobs=JOBS),
                                        refit, predict; prints seconds, chosen params, accuracies.
  bench_svm.py fit OUT.h5 C gamma REPEAT
                                        the peer of bench_svm_fit: StandardScaler + SVC(rbf, C, gamma).fit
                                        on every row, best of REPEAT; prints seconds and support vectors."""
import sys, time, csv
import numpy as np, h5py

def fixed(strings):
    b = [s.encode() for s in strings]
    return np.array(b, dtype=h5py.string_dtype("utf-8", max(len(s) for s in b)))

if sys.argv[1] == "data":
    out, N, d, G = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rng = np.random.default_rng(5)
    A = N // 10
    gm = rng.normal(0, 0.35, size=(G, d))
    art = np.repeat(np.arange(A), 10)[:N]
    genre = art % G
    X = gm[genre] + rng.normal(0, 0.5, size=(A, d))[art] + rng.normal(0, 1, size=(N, d))
    with h5py.File(out, "w") as f:
        f["ids"] = fixed([f"clip{i}" for i in range(N)])
        f["artist"] = fixed([f"artist{a}" for a in art])
        f["genre"] = fixed([f"genre{g}" for g in genre])
        f["features"] = X.astype(np.float32)
        f["status"] = np.zeros(N, np.int8)
elif sys.argv[1] == "fit":
    from sklearn.svm import SVC
    from sklearn.preprocessing import StandardScaler
    with h5py.File(sys.argv[2]) as f:
        X = f["features"][:].astype(np.float64); y = np.array([s.decode() for s in f["genre"][:]])
    best = None
    for _ in range(int(sys.argv[5])):
        t0 = time.perf_counter()
        m = SVC(kernel="rbf", C=float(sys.argv[3]), gamma=float(sys.argv[4]), tol=1e-3, cache_size=200,
                shrinking=True).fit(StandardScaler().fit_transform(X), y)
        t = time.perf_counter() - t0
        best = t if best is None or t < best else best
    print(f"sklearn_fit_seconds {best:.3f} support_vectors {int(m.n_support_.sum())}")
else:
    from sklearn.svm import SVC
    from sklearn.preprocessing import StandardScaler
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    out, folds_tsv, jobs = sys.argv[2], sys.argv[3], int(sys.argv[4])
    Cs = [float(v) for v in sys.argv[5].split(",")]; gs_ = [float(v) for v in sys.argv[6].split(",")]
    with h5py.File(out) as f:
        ids = [s.decode() for s in f["ids"][:]]
        X = f["features"][:].astype(np.float64); y = np.array([s.decode() for s in f["genre"][:]])
    row = {i: r for r, i in enumerate(ids)}
    rows = list(csv.DictReader(open(folds_tsv), delimiter="\t"))
    K = max(int(r["fold"]) for r in rows)
    sel = np.array([row[r["id"]] for r in rows]); X, y = X[sel], y[sel]
    fold = np.array([int(r["fold"]) - 1 for r in rows])
    inner = np.array([[int(r[f"inner_{q+1}"]) - 1 for q in range(K)] for r in rows])
    t0 = time.perf_counter()
    res = []
    for q in range(K):
        tr, te = fold != q, fold == q
        sc = StandardScaler().fit(X[tr])
        gs = GridSearchCV(SVC(kernel="rbf", tol=1e-3, cache_size=200, shrinking=True), {"C": Cs, "gamma": gs_},
                          cv=PredefinedSplit(inner[tr, q]), n_jobs=jobs, refit=True).fit(sc.transform(X[tr]), y[tr])
        res.append((gs.best_params_["C"], gs.best_params_["gamma"], float((gs.predict(sc.transform(X[te])) == y[te]).mean())))
    print(f"sklearn_seconds {time.perf_counter() - t0:.3f}")
    for r in res: print("sklearn_fold C %g gamma %g accuracy %.6f" % r)
