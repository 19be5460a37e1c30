#!/usr/bin/env bash
# mel_mpi.sh - `artistnet mel` on the same list of 30-s clips at 1 and 2 ranks; prints both rates
# and the speed-up (target >= 1.85x on 2 ranks). Times are the job's own (from its summary line:
# list load to file close), best of REPS runs each, interleaved. Env: TRACKS (default 48), REPS (2).
set -euo pipefail
: "${ARTISTNET:?}" "${MPIEXEC:?}"
TRACKS=${TRACKS:-48}; REPS=${REPS:-2}
T=$(mktemp -d /tmp/an_bench_mel.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$ARTISTNET" synth --out "$T/c" --artists $((TRACKS / 4)) --songs 4 --seconds 30 --quiet
run() { # np -> seconds
  "$MPIEXEC" --oversubscribe -n "$1" "$ARTISTNET" mel --list "$T/c/tracks.tsv" --out "$T/m$1.h5" 2>&1 \
    | sed -n 's/.*this run \([0-9]*\) tracks in \([0-9.]*\) s.*/\2/p'
}
run 1 >/dev/null # warm the page cache
b1=1e9; b2=1e9
for r in $(seq "$REPS"); do
  t1=$(run 1); t2=$(run 2)
  b1=$(awk -v a="$b1" -v b="$t1" 'BEGIN{print (b<a)?b:a}')
  b2=$(awk -v a="$b2" -v b="$t2" 'BEGIN{print (b<a)?b:a}')
done
awk -v n="$TRACKS" -v a="$b1" -v b="$b2" 'BEGIN{
  printf "bench_mel_mpi: %d clips of 30 s\n  1 rank:  %.2f s, %.1f tracks/s, %.0fx realtime\n  2 ranks: %.2f s, %.1f tracks/s, %.0fx realtime\n  speed-up 2 ranks vs 1: %.2fx (target >= 1.85x)\n",
    n, a, n/a, 30*n/a, b, n/b, 30*n/b, a/b }'
