#!/usr/bin/python3
"""svm_reference.py - golden files for the SVM evaluation tests (reduce/reduce_svm.h conventions).

Step 1 (`features`): writes tests/fixtures/reduce/svm_features.h5, a small MIREX-like task:
  180 clips, 36 artists x 5 clips, 4 genres (9 artists each), d = 16, each artist with its own offset
  (so the artist filter matters), 2 failed rows (status 1, NaN features) that must be skipped.
Step 2: run `artistnet evaluate` once to get its seeded folds:
  artistnet evaluate --features svm_features.h5 --label-column genre --out DIR --seed 3 ...
  cp DIR/folds.tsv tests/fixtures/reduce/svm_folds.tsv
Step 3 (`reference`): reads the features and svm_folds.tsv and runs scikit-learn, independently of
  our code: per outer fold StandardScaler fitted on the training side, GridSearchCV(SVC(tol=1e-3,
  cache_size=200, shrinking=True), cv=PredefinedSplit(inner folds of folds.tsv)), refit, predict the
  test fold. Writes tests/fixtures/reduce/svm_reference.json: per kernel, per fold, the chosen C (and
  gamma), the test accuracy and the grid's mean inner accuracies.
    /usr/bin/python3 tests/reference/svm_reference.py features tests/fixtures/reduce
    /usr/bin/python3 tests/reference/svm_reference.py reference tests/fixtures/reduce
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
    from sklearn.svm import SVC
    from sklearn.preprocessing import StandardScaler
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    with h5py.File(os.path.join(out, "svm_features.h5")) as f:
        ids = [s.decode() for s in f["ids"][:]]
        X = f["features"][:].astype(np.float64); y = np.array([s.decode() for s in f["genre"][:]])
    row = {i: r for r, i in enumerate(ids)}
    with open(os.path.join(out, "svm_folds.tsv")) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
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
    with open(os.path.join(out, "svm_reference.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps({k: [(f["C"], f["gamma"], round(f["accuracy"], 4)) for f in v["per_fold"]] for k, v in res.items()}))

if __name__ == "__main__":
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/reduce"
    {"features": features, "reference": reference}[sys.argv[1]](out)
