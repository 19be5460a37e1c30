#!/bin/bash
# tta.sh OUT - issue 19 on 16 cores: (a) batch sweep 32/128/512/1024 x 30 epochs on the demo's source
# corpus (256 artists x 4 songs), linear lr scaling + warm-up (defaults) and without scaling; (b) time
# to validation song accuracy TARGET for (ranks, batch) pairs (bench/time_to_accuracy.sh).
set -u
OUT=${1:?out}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/env.sh" || exit 1
AN=$ANRT_DIR/bin/artistnet; MPIRUN=$ANRT_DIR/bin/mpirun
NP=$(env -u OMP_NUM_THREADS nproc); J=$((NP / 4))
W=${WORK:-/dev/shm/tta}; rm -rf "$W"; mkdir -p "$W"
S=$OUT/tta.txt; : > "$S"
say() { echo "$*" | tee -a "$S"; }
EPOCHS=${EPOCHS:-30}; TARGET=${TARGET:-0.6}
say "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1); nproc $NP; $("$AN" --version 2>&1 | grep kernels)"
t0=$SECONDS
"$MPIRUN" ${OVERSUB:-} -n "$NP" --bind-to none "$AN" synth --out "$W/src" --artists ${ARTISTS:-256} --songs ${SONGS:-4} --seconds ${SECS:-30} --seed 1 --quiet || exit 1
"$MPIRUN" ${OVERSUB:-} -n "$NP" --bind-to none "$AN" mel --list "$W/src/tracks.tsv" --out "$W/mels.h5" --prefetch 0 --quiet || exit 1
say "corpus + mel: $((SECONDS - t0)) s"
sweep() { # name batch [train options]: 4 ranks, 30 epochs, --log
  local name=$1 b=$2; shift 2
  timeout ${STEP_CAP:-240} "$MPIRUN" ${OVERSUB:-} -n 4 --bind-to none "$AN" train --mels "$W/mels.h5" --out "$W/$name.h5" --batch "$b" \
    --epochs "$EPOCHS" --seed 1 --log "$OUT/sweep_$name.tsv" --quiet "$@" >"$W/$name.out" 2>&1
  echo "rc $?" >> "$W/$name.out"
}
report() {
  for f in "$@"; do
    awk -F'\t' -v n="$f" 'NR > 1 { if ($8 > b) { b = $8; e = $1 } s += $9; last = $1 }
      END { printf "%-22s best valid song acc %.4f (epoch %d of %d), %.1f s of epochs\n", n, b, e, last, s }' "$OUT/sweep_$f.tsv" | tee -a "$S"
  done
}
t=$SECONDS
sweep b32 32 & sweep b128 128 & sweep b512 512 & sweep b1024 1024 & wait
say "sweep (linear scaling, warm-up auto) $((SECONDS - t)) s"
report b32 b128 b512 b1024
t=$SECONDS
sweep b512_none 512 --lr-scaling none & sweep b1024_none 1024 --lr-scaling none & sweep b1024_sqrt 1024 --lr-scaling sqrt &
sweep b1024_w6 1024 --warmup-epochs 6 & wait
say "sweep (other schedules) $((SECONDS - t)) s"
report b512_none b1024_none b1024_sqrt b1024_w6
t=$SECONDS
say "time to valid song accuracy $TARGET (ranks:batch, each alone on the machine, --bind-to core):"
ARTISTNET=$AN MPIEXEC="$MPIRUN ${OVERSUB:-}" MPIFLAGS="${TTA_BIND:---bind-to core}" timeout ${TTA_CAP:-200} bash "$HERE/time_to_accuracy.sh" "$W/mels.h5" "$W/tta" "$TARGET" \
  "${PAIRS:-2:32 4:64 8:128 16:256 16:512 16:1024}" --epochs "$EPOCHS" --seed 1 | tee -a "$S"
mkdir -p "$OUT/tta"; cp "$W"/tta/curves_*.tsv "$OUT/tta/" 2>/dev/null
say "tta $((SECONDS - t)) s; total $SECONDS s"
rm -rf "$W"
