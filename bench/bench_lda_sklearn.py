#!/usr/bin/python3
"""bench_lda_sklearn.py - the peer for bench_lda: scikit-learn LinearDiscriminantAnalysis(solver='eigen',
shrinkage=s) on N x d float data with C classes (same shape and class layout as bench_lda.c), one BLAS
thread (set OPENBLAS_NUM_THREADS=1 / OMP_NUM_THREADS=1 before starting). Generation is not timed.
Prints "sklearn_seconds T". Usage: bench_lda_sklearn.py N d C [shrinkage]"""
import sys, time
import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
N, d, C = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
rng = np.random.default_rng(1)
centres = rng.uniform(-1, 1, size=(C, d)).astype(np.float32)
y = np.arange(N) % C
X = centres[y] + (rng.random((N, d), dtype=np.float32) - 0.5) * (1 + np.arange(d, dtype=np.float32) / d)
t0 = time.perf_counter()
lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=s).fit(X, y)
t = time.perf_counter() - t0
print(f"sklearn_seconds {t:.4f} N {N} d {d} C {C}")
