#!/bin/bash
# test_featx_resume.sh - an interrupted `artistnet extract` continued with --resume gives exactly the
# file of an uninterrupted run (rows bitwise, /errors too), whatever the rank counts before and after:
#   * SIGKILL of the single rank after 3 written rounds -> part-way file -> --resume on 2 ranks;
#   * SIGKILL of rank 1 of 2 after 2 rounds (mpirun tears the job down) -> --resume on 3 ranks;
#   * SIGTERM on both ranks after 2 rounds -> exit 3 (finish the group in hand, write, stop)
#     -> --resume on 1 rank; --resume of a finished file changes nothing.
# The signals are raised by the job itself at a chosen round (ARTISTNET_FAULT_AFTER_ROUNDS, see
# jobs/extract.c), so the part-way state is deterministic rather than a race against a timer.
set -u
CHECK=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
run() { "$@" || { echo "FAILED: $*" >&2; fail=1; }; }
MPI="$MPIEXEC --oversubscribe -x ARTISTNET_FAULT_AFTER_ROUNDS"

run "$ARTISTNET" synth --out "$T/a" --artists 8 --songs 4 --seconds 6 --quiet
{ head -1 "$T/a/tracks.tsv"; tail -n +2 "$T/a/tracks.tsv" | sed 's|^|a/|'; echo -e "missing.wav\tmissing\ta9\tgenre00\thappy"; } > "$T/list.tsv"
run "$CHECK" model "$T/model.h5" 11
O="--model $T/model.h5 --list $T/list.tsv --segments 3 --batch 6 --round 4 --segment-features --quiet"
run "$ARTISTNET" extract $O --out "$T/ref.h5"

# 1. hard kill of a 1-rank run, resume on 2 ranks
ARTISTNET_FAULT_AFTER_ROUNDS=3:9 "$ARTISTNET" extract $O --out "$T/k1.h5"
rc=$?; [ $rc = 137 ] || { echo "FAILED: killed run exited $rc, expected 137" >&2; fail=1; }
run "$CHECK" pending "$T/k1.h5"
run $MPIEXEC --oversubscribe -n 2 "$ARTISTNET" extract $O --out "$T/k1.h5" --resume
run "$CHECK" same "$T/ref.h5" "$T/k1.h5"

# 2. rank 1 of 2 killed, resume on 3 ranks
ARTISTNET_FAULT_AFTER_ROUNDS=2:9:1 $MPI -n 2 "$ARTISTNET" extract $O --out "$T/k2.h5" > "$T/k2.log" 2>&1
rc=$?; [ $rc != 0 ] || { echo "FAILED: run with a killed rank exited 0" >&2; fail=1; }
run "$CHECK" pending "$T/k2.h5"
run $MPIEXEC --oversubscribe -n 3 "$ARTISTNET" extract $O --out "$T/k2.h5" --resume
run "$CHECK" same "$T/ref.h5" "$T/k2.h5"

# 3. SIGTERM on 2 ranks -> exit 3 -> resume on 1 rank; then a resume with nothing left to do
ARTISTNET_FAULT_AFTER_ROUNDS=2:15 $MPI -n 2 "$ARTISTNET" extract $O --out "$T/t.h5" --prefetch 2 > "$T/t.log" 2>&1
rc=$?; [ $rc = 3 ] || { echo "FAILED: SIGTERM run exited $rc, expected 3" >&2; cat "$T/t.log" >&2; fail=1; }
grep -q -- "--resume" "$T/t.log" || { echo "FAILED: no resume hint in the message" >&2; cat "$T/t.log" >&2; fail=1; }
run "$CHECK" pending "$T/t.h5"
run "$ARTISTNET" extract $O --out "$T/t.h5" --resume
run "$CHECK" same "$T/ref.h5" "$T/t.h5"
run "$ARTISTNET" extract $O --out "$T/t.h5" --resume
run "$CHECK" same "$T/ref.h5" "$T/t.h5"
echo "test_featx_resume: $([ $fail = 0 ] && echo 'all passed' || echo FAILED)"
exit $fail
