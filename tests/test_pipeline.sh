#!/usr/bin/env bash
# test_pipeline.sh - `artistnet pipeline` end to end on a tiny synthetic corpus (label e2e):
#  * a run stopped after each stage boundary (mel, train, extract-train, extract-task, lda) and run
#    again skips exactly the finished stages and ends with the same results as one uninterrupted run;
#  * a run killed (SIGKILL) in the middle of training continues on the rerun (train --resume) and ends
#    with the same model and results;
#  * 8 oversubscribed ranks give the same model, features and results as 1 rank;
#  * usage errors: unknown --stage, missing label column -> exit 2 naming the problem.
set -u
A=${ARTISTNET:?}; MPI=${MPIEXEC:-mpirun}
T=$(mktemp -d /tmp/artistnet-pipetest.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { echo "ok: $1"; pass=$((pass+1)); }
bad() { echo "FAIL: $1"; fail=$((fail+1)); }
"$A" synth --out "$T/src" --artists 6 --songs 5 --seconds 7 --seed 5 --quiet || exit 1
"$A" synth --out "$T/task" --artists 6 --songs 4 --seconds 7 --seed 5 --artist-offset 50 --quiet || exit 1
args=(--train-list "$T/src/tracks.tsv" --task-list "$T/task/tracks.tsv" --label-column genre,mood
      --epochs 4 --batch 16 --segments 2 --folds 2 --quiet)
run() { local np=$1 out=$2; shift 2; "$MPI" --oversubscribe -n "$np" "$A" pipeline "${args[@]}" --out "$out" "$@"; }
norm() { grep -v -e '"timing"' -e '"command_line"' "$1" | sed -e 's/"path": "[^"]*"//g' -e 's/"fnv1a64": "[^"]*"//g'; }
checksum() { h5dump -a /checksum "$1" 2>/dev/null | grep -o 'fnv1a64:[0-9a-f]*'; }
# same(REF, DIR, what): model checksum, features and every results.json equal
same() {
  local r=$1 d=$2 what=$3 n=0 f g
  [ -n "$(checksum "$r/model.h5")" ] && [ "$(checksum "$r/model.h5")" = "$(checksum "$d/model.h5")" ] \
    || { bad "$what: model differs"; return; }
  for f in task_features.h5 task_baseline.h5 train_features.h5; do
    h5diff -d 0 "$r/$f" "$d/$f" /features >/dev/null || { bad "$what: $f /features differ"; return; }
  done
  for f in "$r"/eval/*/*/results.json; do
    g=$d/${f#"$r"/}
    [ -f "$g" ] && diff <(norm "$f") <(norm "$g") >/dev/null || { bad "$what: ${f#"$r"/} differs"; return; }
    n=$((n+1))
  done
  [ $n = 6 ] && ok "$what: same model, features and $n results.json" || bad "$what: $n results files"
}

run 1 "$T/ref" || { echo "FAIL: reference run"; exit 1; }
[ "$(cut -f2 "$T/ref/pipeline.tsv" | grep -c ran)" = 6 ] && ok "reference run ran six stages" || bad "pipeline.tsv: $(cat "$T/ref/pipeline.tsv")"

stages=(mel train extract-train extract-task lda)
for i in "${!stages[@]}"; do
  d=$T/stop$i
  for s in "${stages[@]:0:$((i+1))}"; do run 1 "$d" --stage "$s" || bad "stage $s alone"; done
  run 1 "$d" || bad "rerun after ${stages[$i]}"
  skipped=$(awk -F'\t' '$2=="skipped"{print $1}' "$d/pipeline.tsv" | tr '\n' ' ')
  [ "$skipped" = "${stages[*]:0:$((i+1))} " ] && ok "rerun after ${stages[$i]} skipped: $skipped" \
    || bad "rerun after ${stages[$i]} skipped '$skipped'"
  same "$T/ref" "$d" "stop after ${stages[$i]}"
done

# a stage that cannot start without its inputs
run 1 "$T/fresh" --stage lda 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "needs stage extract-train" "$T/err" && ok "lda alone on a fresh folder: exit 2, names extract-train" \
  || bad "lda alone: rc $rc: $(cat "$T/err")"

# SIGKILL during training, then rerun: the train stage's hook kills both ranks right after global
# step 7 (a few epochs in, checkpoints written; no sleep standing for "by now it is training")
d=$T/killed
ARTISTNET_TRAIN_TEST_SIGNAL=KILL:7 run 2 "$d" --epochs 40 --patience 1000 >/dev/null 2>&1
rc=$?
[ $rc != 0 ] && [ -f "$d/model.h5.ckpt" ] && ok "killed (exit $rc) with a checkpoint" || bad "kill in training: exit $rc, checkpoint $(ls "$d"/model.h5.ckpt 2>&1)"
grep -q "^train [0-9a-f]* started" "$d/pipeline.state" && ! grep -q "^train [0-9a-f]* done" "$d/pipeline.state" \
  && ok "killed while training" || bad "kill did not land in training: $(cat "$d/pipeline.state" 2>/dev/null)"
run 2 "$d" --epochs 40 --patience 1000 || bad "rerun after kill"
run 2 "$T/k_ref" --epochs 40 --patience 1000 || bad "uninterrupted 40-epoch run"
same "$T/k_ref" "$d" "killed in training + rerun"

# 8 oversubscribed ranks == 1 rank
run 8 "$T/np8" || bad "8 ranks"
same "$T/ref" "$T/np8" "8 ranks vs 1 rank"

run 1 "$T/x" --stage bogus 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "unknown --stage 'bogus'" "$T/err" && ok "unknown stage: exit 2" || bad "unknown stage: rc $rc"
"$MPI" -n 1 "$A" pipeline --train-list "$T/src/tracks.tsv" --task-list "$T/task/tracks.tsv" --label-column colour --out "$T/y" 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "no column 'colour'" "$T/err" && ok "missing label column: exit 2" || bad "missing label column: rc $rc: $(cat "$T/err")"
echo "test_pipeline: $pass passed, $fail failed"
[ $fail = 0 ]
