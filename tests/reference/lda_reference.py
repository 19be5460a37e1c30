#!/usr/bin/python3
"""lda_reference.py - golden files for the LDA tests (reduce/reduce_lda.h conventions).

Writes tests/fixtures/reduce/lda_features.h5 (a features.h5 with many classes: N=1500 rows,
d=24, 60 artists of very different sizes incl. a single-row class, 12 failed rows with NaN features
and status 1) and tests/fixtures/reduce/lda_reference.h5 with, for shrinkage s in {0, 1e-4}:
/s<tag>/eigenvalues (D), /s<tag>/components (d, D), /mean (d), computed independently:
  - s = 0:    scikit-learn LinearDiscriminantAnalysis(solver='eigen') (scalings_, eigenvalues from
              scipy.linalg.eigh(Sb, Sw) with sklearn's own covariance_ as Sw);
  - s = 1e-4: scipy.linalg.eigh(Sb, (1-s) Sw + s tr(Sw)/d I) with Sw, Sb from numpy (priors = class
              frequencies, biased covariances). (sklearn's float shrinkage also shrinks St, hence Sb,
              so it is not the same estimator; its s = 0 case is checked instead.)
Sign convention as in C: each eigenvector's largest-|.| entry positive. Run once; commit outputs:
    /usr/bin/python3 tests/reference/lda_reference.py tests/fixtures/reduce
"""
import sys, os
import numpy as np, h5py, scipy.linalg
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/reduce"
rng = np.random.default_rng(7)
N, d, C, D = 1500, 24, 60, 10
sizes = rng.integers(4, 45, size=C).astype(float)
sizes[5] = 1  # a class with one row
sizes = np.maximum(1, np.round(sizes / sizes.sum() * (N - 12))).astype(int)
sizes[0] += (N - 12) - sizes.sum()
y = np.repeat(np.arange(C), sizes)
centres = rng.normal(0, 1.0, size=(C, d)) * np.linspace(2.0, 0.2, d)
mix = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
X = (centres[y] + rng.normal(size=(len(y), d)) * np.linspace(0.5, 1.5, d)) @ mix + 3.0
perm = rng.permutation(len(y))
X, y = X[perm].astype(np.float32), y[perm]
# 12 failed rows: NaN features, status 1, a label that would otherwise be a new class
Xf = np.full((12, d), np.nan, np.float32)
X_all = np.vstack([X[:700], Xf[:6], X[700:], Xf[6:]])
names = np.array([f"artist_{c:03d}" for c in range(C)] + ["failed_artist"])
y_all = np.concatenate([y[:700], np.full(6, C), y[700:], np.full(6, C)])
status = np.where(y_all == C, 1, 0).astype(np.int8)

def fixed(strings):
    b = [s.encode() for s in strings]
    t = h5py.string_dtype("utf-8", max(len(s) for s in b))
    return np.array(b, dtype=t)

os.makedirs(out, exist_ok=True)
with h5py.File(os.path.join(out, "lda_features.h5"), "w") as f:
    f["ids"] = fixed([f"clip{i:05d}" for i in range(len(y_all))])
    f["artist"] = fixed(names[y_all])
    f["features"] = X_all
    f["n_segments"] = np.full(len(y_all), 10, np.int32)
    f["status"] = status
    f["errors"] = fixed(["" if s == 0 else "decode failed" for s in status] )

Xd, yd = X.astype(np.float64), y
def signfix(V):
    idx = np.argmax(np.abs(V), axis=0)
    return V * np.sign(V[idx, np.arange(V.shape[1])])

def scatter(Xd, yd):
    Nn = len(yd); mu = Xd.mean(0)
    Sw = np.zeros((d, d)); Sb = np.zeros((d, d))
    for c in np.unique(yd):
        Xc = Xd[yd == c]; mc = Xc.mean(0)
        Sw += (Xc - mc).T @ (Xc - mc)
        Sb += len(Xc) * np.outer(mc - mu, mc - mu)
    return Sw / Nn, Sb / Nn, mu

Sw, Sb, mu = scatter(Xd, yd)
with h5py.File(os.path.join(out, "lda_reference.h5"), "w") as f:
    f["mean"] = mu
    # s = 0: scikit-learn
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=None).fit(Xd, yd)
    w = scipy.linalg.eigh(Sb, lda.covariance_, eigvals_only=True)[::-1][:D]
    V = signfix(lda.scalings_[:, :D])
    assert np.allclose(lda.covariance_, Sw, atol=1e-10), "sklearn Sw differs from numpy's"
    f["s0/eigenvalues"] = w; f["s0/components"] = V
    # s = 1e-4: scipy eigh on the shrunk Sw
    s = 1e-4
    Sws = (1 - s) * Sw + s * np.trace(Sw) / d * np.eye(d)
    w2, V2 = scipy.linalg.eigh(Sb, Sws)
    f["s1e-4/eigenvalues"] = w2[::-1][:D]; f["s1e-4/components"] = signfix(V2[:, ::-1][:, :D])
    f.attrs["dim"] = D
    f.attrs["n_classes"] = len(np.unique(yd))
print("wrote", out, "classes", len(np.unique(yd)), "eigenvalues s=0:", np.round(w[:4], 4))
