#!/bin/bash
# bench_train.sh - `artistnet train` throughput (training segments/s, steady-state epochs: segments
# cached in memory, validation excluded) on 1 and 2 ranks in the same run, printed as a speed-up
# (issue 5 target: >= 1.7x on 2 ranks), and per core against the single-process DCNN training
# benchmark (bench_nn: one call of 32 segments, 5000 classes; ours: 20 classes, so slightly lighter).
# usage: bench_train.sh BENCH_NN_BINARY [epochs]      env: ARTISTNET, ARTISTNET_SRC, PYTHON3, MPIEXEC
set -u
A=${ARTISTNET:?}
PY=${PYTHON3:-/usr/bin/python3}
MPI=${MPIEXEC:-mpiexec}
BNN=${1:-}
EPOCHS=${2:-3}
W=$(mktemp -d /tmp/bench_train.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$PY" "$ARTISTNET_SRC/tests/train_make_mels.py" "$W/mels.h5" --artists 20 --songs 20 --segments 4 >/dev/null || exit 1
rate() { # mean segments/s over epochs 2.. of a log
    awk -F'\t' 'NR > 2 { s += $10; n++ } END { printf "%.0f", n ? s / n : 0 }' "$1"
}
declare -A R
for mode in exact float; do
    for n in 1 2; do
        "$MPI" --oversubscribe -n $n "$A" train --mels "$W/mels.h5" --out "$W/m$n$mode.h5" --epochs "$EPOCHS" \
            --batch 64 --micro-batch 16 --reduce $mode --patience 0 --quiet --log "$W/$n$mode.tsv" || exit 1
        R[$n$mode]=$(rate "$W/$n$mode.tsv")
        echo "train --reduce $mode, $n rank(s): ${R[$n$mode]} segments/s"
    done
done
nn=0
if [ -n "$BNN" ] && [ -x "$BNN" ]; then
    nn=$("$BNN" 2 /nonexistent 2>/dev/null | sed -n 's/^training (batch 32, 5000 classes): ours \([0-9]*\) segments\/s.*/\1/p')
    echo "bench_nn single-process training: ${nn:-?} segments/s"
fi
for mode in exact float; do
    awk -v a="${R[1$mode]}" -v b="${R[2$mode]}" -v nn="${nn:-0}" -v m=$mode 'BEGIN {
        printf "speed-up 2 ranks / 1 rank (--reduce %s): %.2fx (target >= 1.7)\n", m, b / a
        if (nn > 0) printf "per core vs bench_nn training (--reduce %s): 1 rank %.2f, 2 ranks %.2f (target >= 0.9)\n", m, a / nn, b / 2 / nn
    }'
done
echo "(2 cores shared with other work: figures are noisy)"
