#!/usr/bin/env bash
# time_to_accuracy.sh - wall time for `artistnet train` to reach a validation song accuracy, for
# (ranks, global batch) pairs on the same mels.h5: the figure a cluster user cares about (more ranks
# need larger batches: ranks beyond batch / micro-batch sit idle; larger batches need more epochs).
#
#   bench/time_to_accuracy.sh MELS OUTDIR TARGET "RANKS:BATCH ..." [train options...]
#   e.g. bench/time_to_accuracy.sh run/mels.h5 /tmp/tta 0.6 "2:32 2:128 2:512" --epochs 30
#
# Each pair trains from the same seed (the model does not depend on the rank count) with the large-
# batch schedule's defaults (lr scaled linearly from --lr-batch 32, 3 warm-up epochs above it) and
# its --log curves are watched: the job is stopped once an epoch's validation song accuracy reaches
# TARGET (or runs to its last epoch). Time to accuracy = the summed wall seconds of the epochs up to
# that one (training + batch-norm recalibration + validation; start-up and data loading excluded).
# Prints one row per pair and the speed-up over the first pair; OUTDIR keeps curves_R_B.tsv.
# env: ARTISTNET (default build/artistnet), MPIEXEC (mpirun; may carry flags), MPIFLAGS (e.g. "--bind-to core").
set -u
MELS=${1:?usage: time_to_accuracy.sh MELS OUTDIR TARGET "R:B ..." [train options]}
OUT=${2:?outdir}; TARGET=${3:?target accuracy}; PAIRS=${4:?pairs R:B}
shift 4
A=${ARTISTNET:-build/artistnet}; MPI=${MPIEXEC:-mpirun}
mkdir -p "$OUT" || exit 1
printf "%-6s %-6s %-10s %-8s %-12s %-10s %-10s %s\n" ranks batch reached epochs seconds best_song s/epoch speedup
first=""
for p in $PAIRS; do
  r=${p%%:*} b=${p##*:}
  log=$OUT/curves_${r}_$b.tsv
  rm -f "$log" "$OUT/m_${r}_$b.h5" "$OUT/m_${r}_$b.h5.ckpt"
  # shellcheck disable=SC2086
  $MPI ${MPIFLAGS:-} -n "$r" "$A" train --mels "$MELS" --out "$OUT/m_${r}_$b.h5" --batch "$b" --log "$log" --quiet "$@" \
    >"$OUT/train_${r}_$b.out" 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null; do # stop the job at the first epoch that reaches the target
    [ -f "$log" ] && awk -F'\t' -v t="$TARGET" 'NR > 1 && $8 >= t { f = 1 } END { exit !f }' "$log" && { kill $pid; break; }
    sleep 0.2
  done
  wait $pid 2>/dev/null
  row=$(awk -F'\t' -v t="$TARGET" 'NR > 1 { s += $9; n++; if ($8 > best) best = $8; if (!hit && $8 >= t) { hit = 1; he = $1; hs = s } }
    END { if (n == 0) { print "- 0 - - -"; exit }
          printf "%s %d %.1f %.3f %.2f\n", hit ? "yes" : "no", hit ? he : n, hit ? hs : s, best, s / n }' "$log" 2>/dev/null)
  read -r hit ep secs best spe <<<"$row"
  [ -z "$first" ] && [ "$hit" = yes ] && first=$secs
  sp=$([ -n "$first" ] && [ "$hit" = yes ] && awk -v a="$first" -v b="$secs" 'BEGIN { printf "%.2fx", a / b }' || echo -)
  printf "%-6s %-6s %-10s %-8s %-12s %-10s %-10s %s\n" "$r" "$b" "$hit" "$ep" "$secs" "$best" "$spe" "$sp"
done
