#!/bin/bash
# bench_lda.sh - LDA fit, ours (1 and 2 ranks) vs scikit-learn (one core), same run, same shapes.
# Usage: bench_lda.sh BENCH_LDA_BINARY [N d C]   (default 1000000 256 5000; targets: >= 5x on 1 rank,
# >= 1.8x on 2 ranks... relative to scikit-learn on one core). Prints the ratios.
set -eu
B=$1; N=${2:-1000000}; D=${3:-256}; C=${4:-5000}
PY=${PYTHON3:-/usr/bin/python3}; MPI=${MPIEXEC:-mpiexec}
HERE=$(cd "$(dirname "$0")" && pwd)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
sk=$($PY "$HERE/bench_lda_sklearn.py" $N $D $C 1e-4 | awk '/sklearn_seconds/{print $2}')
o1=$($MPI --oversubscribe -n 1 $B $N $D $C 100 1e-4 | awk '/ours_seconds/{print $2}')
o2=$($MPI --oversubscribe -n 2 $B $N $D $C 100 1e-4 | awk '/ours_seconds/{print $2}')
awk -v sk=$sk -v o1=$o1 -v o2=$o2 -v n=$N -v d=$D -v c=$C 'BEGIN{
  printf "bench_lda: N=%d d=%d C=%d: scikit-learn %.2f s (1 core); ours %.2f s (1 rank), %.2f s (2 ranks)\n", n, d, c, sk, o1, o2;
  printf "bench_lda: speed-up vs scikit-learn: %.1fx on 1 rank (target 5x), %.1fx on 2 ranks; 1->2 rank efficiency %.0f%%\n", sk/o1, sk/o2, 100*o1/(2*o2)}'
