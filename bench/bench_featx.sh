#!/bin/bash
# bench_featx.sh DECODE_BENCH ARTISTNET TEST_FEATX_CHECK SHARED_DIR [N] - `artistnet extract` end to end on N 30-s MP3 clips (44.1 kHz, so
# resampling is included), against the decode-only throughput of the same files measured in the same
# run (bench_featx_decode: libsndfile alone, and decode + soxr resampling), and 2 ranks vs 1 rank.
# Targets (issue 6): end to end >= 0.8x decode-only; >= 1.85x on 2 ranks. Uses the authors' model
# when ../shared has it (else a random model of the same shape: same cost). Prints the job's
# per-stage timers. Noisy on a shared 2-core machine: the load average is printed with the figures.
set -eu
DEC=$1
A=$2
CHECK=$3
SHARED=$4
N=${5:-32}
MPIEXEC=${MPIEXEC:-mpiexec}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
per=$(( (N + 3) / 4 ))
$A synth --out "$T/c" --artists 4 --songs $per --seconds 30 --sr 44100 --format mp3 --quiet
KERAS=$SHARED/data/authors-model/model_siamese_10000.h5
if [ -f "$KERAS" ]; then $A import-keras --weights "$KERAS" --out "$T/model.h5" > /dev/null
else "$CHECK" model "$T/model.h5" 1 > /dev/null 2>&1; fi
L=$T/c/tracks.tsv
n=$(( $(wc -l < "$L") - 1 ))
echo "bench_featx: $n clips of 30 s MP3 at 44.1 kHz; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$DEC" "$L" 2 > "$T/dec.txt"
dec=$(awk '/^decode_tracks_per_s/ {print $2}' "$T/dec.txt")
decrs=$(awk '/^decode_resample_tracks_per_s/ {print $2}' "$T/dec.txt")
$A extract --model "$T/model.h5" --list "$L" --out "$T/f1.h5" 2> /dev/null | tee "$T/e1.txt"
$MPIEXEC --oversubscribe -n 2 $A extract --model "$T/model.h5" --list "$L" --out "$T/f2.h5" 2> /dev/null | tee "$T/e2.txt"
e1=$(awk '/tracks\/s/ {for (i = 1; i <= NF; i++) if ($i == "tracks/s,") print $(i-1)}' "$T/e1.txt")
e2=$(awk '/tracks\/s/ {for (i = 1; i <= NF; i++) if ($i == "tracks/s,") print $(i-1)}' "$T/e2.txt")
echo "bench_featx: decode-only (libsndfile)        $dec tracks/s"
echo "bench_featx: decode + resample (soxr HQ)     $decrs tracks/s"
echo "bench_featx: extract end to end, 1 rank      $e1 tracks/s"
echo "bench_featx: extract end to end, 2 ranks     $e2 tracks/s"
awk -v e1="$e1" -v e2="$e2" -v d="$dec" -v dr="$decrs" 'BEGIN {
    printf "bench_featx: ratio end-to-end / decode-only       %.2f  (target >= 0.80)\n", e1 / d;
    printf "bench_featx: ratio end-to-end / decode+resample   %.2f\n", e1 / dr;
    printf "bench_featx: speed-up 2 ranks / 1 rank            %.2f  (target >= 1.85)\n", e2 / e1 }'
echo "bench_featx: load average after $(cut -d' ' -f1-3 /proc/loadavg)"
