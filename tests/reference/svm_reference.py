#!/usr/bin/python3
"""svm_reference.py - golden files for the SVM evaluation tests (reduce/reduce_svm.h conventions).

Step 1 (`features`): writes tests/fixtures/reduce/svm_features.h5, a small MIREX-like task:
  180 clips, 36 artists x 5 clips, 4 genres (9 artists each), d = 16, each artist with its own offset
  (so the artist filter matters), 2 failed rows (status 1, NaN features) that must be skipped.
Step 2: run `artistnet evaluate` once to get its seeded folds:
  artistnet evaluate --features svm_features.h5 --label-column genre --out DIR --seed 3 ...
  cp DIR/folds.tsv tests/fixtures/reduce/svm_folds.tsv
Step 4 (`combined`, issue 21: `evaluate --features a.h5,b.h5`): writes svm_features_b.h5, a second
  set for the same clips (8-d, its own genre signal; rows in another order, 2 ids of svm_features.h5
  missing, 1 extra id, 1 more failed row), and runs the same scikit-learn protocol on the
  concatenation [a | b] of the rows ok in both (folds of svm_folds.tsv; each set's columns
  standardised on the training side by the one StandardScaler, as ours does). Writes
  svm_reference_combined.tsv: kernel, fold, C, gamma, accuracy (read by tests/test_evaluate.sh with
  no Python).
Step 3 (`reference`): reads the features and svm_folds.tsv and runs scikit-learn, independently of
  our code: per outer fold StandardScaler fitted on the training side, GridSearchCV(SVC(tol=1e-3,
  cache_size=200, shrinking=True), cv=PredefinedSplit(inner folds of folds.tsv)), refit, predict the
  test fold. Writes tests/fixtures/reduce/svm_reference.json: per kernel, per fold, the chosen C (and
  gamma), the test accuracy and the grid's mean inner accuracies.
    /usr/bin/python3 tests/reference/svm_reference.py features tests/fixtures/reduce
    /usr/bin/python3 tests/reference/svm_reference.py reference tests/fixtures/reduce
    /usr/bin/python3 tests/reference/svm_reference.py combined tests/fixtures/reduce
"""
import sys, os, json, csv
import numpy as np, h5py
GRIDS = {"rbf": {"C": [0.1, 1, 10, 100], "gamma": [0.01, 0.05, 0.2]},
         "linear": {"C": [0.001, 0.01, 0.1, 1]}}

def fixed(strings):
    b = [s.encode() for s in strings]
    return np.array(b, dtype=h5py.string_dtype("utf-8", max(1, max(len(s) for s in b))))

def features(out):
    rng = np.random.default_rng(11)
    d, G, A, K = 16, 4, 36, 5
    genre_means = rng.normal(0, 1.0, size=(G, d))
    ids, artists, genres, X, status = [], [], [], [], []
    for a in range(A):
        g = a % G
        off = rng.normal(0, 0.9, size=d)
        for k in range(K):
            ids.append(f"a{a:02d}_t{k}"); artists.append(f"artist {a:02d}"); genres.append(["rock", "jazz", "pop", "metal"][g])
            X.append(genre_means[g] + off + rng.normal(0, 1.1, size=d) + 5.0); status.append(0)
    perm = rng.permutation(len(ids))
    ids, artists, genres = [ids[i] for i in perm], [artists[i] for i in perm], [genres[i] for i in perm]
    X = np.array(X)[perm].astype(np.float32)
    for j in (17, 101):  # failed rows
        X[j] = np.nan; status[j] = 1
    with h5py.File(os.path.join(out, "svm_features.h5"), "w") as f:
        f["ids"] = fixed(ids); f["artist"] = fixed(artists); f["genre"] = fixed(genres)
        f["features"] = X; f["n_segments"] = np.full(len(ids), 10, np.int32)
        f["status"] = np.array(status, np.int8)
        f["errors"] = fixed(["" if s == 0 else "too short" for s in status])

def reference(out):
    with h5py.File(os.path.join(out, "svm_features.h5")) as f:
        ids = [s.decode() for s in f["ids"][:]]
        X = f["features"][:].astype(np.float64); y = np.array([s.decode() for s in f["genre"][:]])
    res = sklearn_cv(out, ids, X, y)
    with open(os.path.join(out, "svm_reference.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps({k: [(f["C"], f["gamma"], round(f["accuracy"], 4)) for f in v["per_fold"]] for k, v in res.items()}))

def combined(out):
    rng = np.random.default_rng(12)
    with h5py.File(os.path.join(out, "svm_features.h5")) as f:
        ids = [s.decode() for s in f["ids"][:]]; status = f["status"][:]
        XA = f["features"][:].astype(np.float64); y = np.array([s.decode() for s in f["genre"][:]])
    gm = rng.normal(0, 1.0, size=(4, 8))
    g = {"rock": 0, "jazz": 1, "pop": 2, "metal": 3}
    XB = np.array([gm[g[v]] + rng.normal(0, 1.6, size=8) - 3.0 for v in y], np.float32)
    keep = [i for i in range(len(ids)) if i not in (3, 50)]  # two ids missing from b
    bid, bx, bst = [ids[i] for i in keep] + ["extra_clip"], list(XB[keep]) + [np.zeros(8, np.float32)], [0] * (len(keep) + 1)
    perm = rng.permutation(len(bid))
    bid, bx, bst = [bid[i] for i in perm], np.array([bx[i] for i in perm], np.float32), np.array([bst[i] for i in perm], np.int8)
    fail = bid.index(ids[7]); bx[fail] = np.nan; bst[fail] = 1  # ok in a, failed in b
    with h5py.File(os.path.join(out, "svm_features_b.h5"), "w") as f:
        f["ids"] = fixed(bid); f["features"] = bx; f["n_segments"] = np.full(len(bid), 10, np.int32)
        f["status"] = bst; f["errors"] = fixed(["" if s == 0 else "too short" for s in bst])
    brow = {v: r for r, v in enumerate(bid)}
    both = [i for i in range(len(ids)) if status[i] == 0 and ids[i] in brow and bst[brow[ids[i]]] == 0]
    X = np.concatenate([XA[both], bx[[brow[ids[i]] for i in both]].astype(np.float64)], 1)
    res = sklearn_cv(out, [ids[i] for i in both], X, y[both])
    with open(os.path.join(out, "svm_reference_combined.tsv"), "w") as fh:
        fh.write("kernel\tfold\tC\tgamma\taccuracy\n")
        for k, v in res.items():
            for f in v["per_fold"]:
                fh.write("%s\t%d\t%.10g\t%s\t%.10g\n" % (k, f["fold"], f["C"], "-" if f["gamma"] is None else "%.10g" % f["gamma"], f["accuracy"]))
    print("rows in both:", len(both), {k: [(f["C"], f["gamma"], round(f["accuracy"], 4)) for f in v["per_fold"]] for k, v in res.items()})

def sklearn_cv(out, ids, X, y):
    """per outer fold of svm_folds.tsv (rows whose id is in ids): StandardScaler on the training side,
    GridSearchCV over the predefined inner folds, refit, test accuracy"""
    from sklearn.svm import SVC
    from sklearn.preprocessing import StandardScaler
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    row = {i: r for r, i in enumerate(ids)}
    with open(os.path.join(out, "svm_folds.tsv")) as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["id"] in row]
    K = max(int(r["fold"]) for r in rows)
    sel = np.array([row[r["id"]] for r in rows])
    X, y = X[sel], y[sel]
    fold = np.array([int(r["fold"]) - 1 for r in rows])
    inner = np.array([[int(r[f"inner_{q+1}"]) - 1 for q in range(K)] for r in rows])
    res = {}
    for kernel, grid in GRIDS.items():
        folds = []
        for q in range(K):
            tr, te = fold != q, fold == q
            sc = StandardScaler().fit(X[tr])
            Xtr, Xte = sc.transform(X[tr]), sc.transform(X[te])
            gs = GridSearchCV(SVC(kernel=kernel, tol=1e-3, cache_size=200, shrinking=True), grid,
                              cv=PredefinedSplit(inner[tr, q]), scoring="accuracy", refit=True)
            gs.fit(Xtr, y[tr])
            acc = float((gs.predict(Xte) == y[te]).mean())
            folds.append({"fold": q + 1, "C": gs.best_params_["C"], "gamma": gs.best_params_.get("gamma"),
                          "accuracy": acc, "grid_inner_accuracy": [float(v) for v in gs.cv_results_["mean_test_score"]]})
        accs = [f["accuracy"] for f in folds]
        res[kernel] = {"grid": grid, "per_fold": folds, "accuracy_mean": float(np.mean(accs))}
    return res

if __name__ == "__main__":
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/reduce"
    {"features": features, "reference": reference, "combined": combined}[sys.argv[1]](out)
