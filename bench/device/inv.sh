#!/bin/bash
# inv.sh OUT - rank invariance of train (model + validation/test figures), extract, lda, evaluate at
# 1..MAXRANKS ranks, with the CPU's own OpenBLAS kernels and with OPENBLAS_CORETYPE=Haswell.
set -u
OUT=${1:?out}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/env.sh" || exit 1
AN=$ANRT_DIR/bin/artistnet; MPIRUN=$ANRT_DIR/bin/mpirun; H5C=$ANRT_DIR/libexec/h5check
ATTR="$HERE/h5attr"
NPROC=$(env -u OMP_NUM_THREADS nproc)
MAXRANKS=${MAXRANKS:-16}; [ "$MAXRANKS" -gt "$NPROC" ] && MAXRANKS=$NPROC
RANKS=${RANKS:-"1 2 3 4 8 16"}
W=${WORK:-/dev/shm/inv}; rm -rf "$W"; mkdir -p "$W"
S=$OUT/inv.txt; : > "$S"
say() { echo "$*" | tee -a "$S"; }
say "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1); nproc $NPROC; flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_tile)$' | tr '\n' ' ')"
t0=$SECONDS
"$AN" synth --out "$W/c" --artists ${ARTISTS:-24} --songs ${SONGS:-8} --seconds ${SECS:-15} --seed 3 --quiet || exit 1
"$MPIRUN" -n "$MAXRANKS" --bind-to none "$AN" mel --list "$W/c/tracks.tsv" --out "$W/m.h5" --prefetch 0 --quiet || exit 1
say "corpus + mel: $((SECONDS - t0)) s"
lib() { LD_LIBRARY_PATH=$ANRT_DIR/lib "$@"; }
dig() { "$MPIRUN" -n 1 "$H5C" "$@" 2>/dev/null | awk '{print $2 "=" $NF}' | sed 's/^[^:]*://' | tr '\n' ' '; }
res() { grep -v -e '"timing"' -e '"command_line"' -e '"ranks"' "$1/results.json" | sed -e 's/"path": "[^"]*"//g' | md5sum | cut -c1-12; }
for K in native Haswell; do
  if [ $K = Haswell ]; then export OPENBLAS_CORETYPE=Haswell; else unset OPENBLAS_CORETYPE; fi
  say "== kernels: $("$AN" --version 2>&1 | sed -n 's/.*OpenBLAS kernels: *//p') (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
  for n in $RANKS; do
    [ "$n" -gt "$MAXRANKS" ] && continue
    t=$SECONDS
    "$MPIRUN" -n $n --bind-to none "$AN" train --mels "$W/m.h5" --out "$W/t_${K}_$n.h5" --epochs ${EPOCHS:-3} --batch 64 --micro-batch 8 --seed 5 --quiet >/dev/null 2>"$W/err" || { say "train $n FAILED: $(tail -2 "$W/err")"; continue; }
    tr=$(lib "$ATTR" "$W/t_${K}_$n.h5" checksum valid_loss valid_accuracy valid_song_accuracy test_loss test_song_accuracy)
    "$MPIRUN" -n $n --bind-to none "$AN" extract --model "$W/t_${K}_1.h5" --list "$W/c/tracks.tsv" --out "$W/x_${K}_$n.h5" --prefetch 0 --quiet 2>"$W/err" || say "extract $n FAILED: $(tail -2 "$W/err")"
    xf=$(dig "$W/x_${K}_$n.h5" /features /status)
    "$MPIRUN" -n $n --bind-to none "$AN" lda --features "$W/x_${K}_1.h5" --out "$W/l_${K}_$n.h5" --label-column artist --dim 10 --quiet 2>"$W/err" || say "lda $n FAILED: $(tail -2 "$W/err")"
    ld=$(dig "$W/l_${K}_$n.h5" /mean /components /eigenvalues)
    "$MPIRUN" -n $n --bind-to none "$AN" evaluate --features "$W/x_${K}_1.h5" --lda "$W/l_${K}_1.h5" --label-column genre --out "$W/e_${K}_$n" --quiet 2>"$W/err" || say "evaluate $n FAILED: $(tail -2 "$W/err")"
    ev="results=$(res "$W/e_${K}_$n") predictions=$(md5sum < "$W/e_${K}_$n/predictions.tsv" | cut -c1-12)"
    echo "$tr" > "$W/tr_${K}_$n"; echo "$xf" > "$W/xf_${K}_$n"; echo "$ld" > "$W/ld_${K}_$n"; echo "$ev" > "$W/ev_${K}_$n"
    same=""
    for q in tr xf ld ev; do cmp -s "$W/${q}_${K}_$n" "$W/${q}_${K}_1" && same="$same $q=same" || same="$same $q=DIFFERS"; done
    say "$K $n ranks ($((SECONDS - t)) s):$same"
    [ "$n" = 1 ] && { say "  train: $tr"; say "  extract: $xf"; say "  lda: $ld"; say "  evaluate: $ev"; }
    cmp -s "$W/tr_${K}_$n" "$W/tr_${K}_1" || say "  train: $tr"
  done
done
say "total $SECONDS s"
rm -rf "$W"
