#!/usr/bin/env bash
# mel_mpi.sh - the distributed `mel` job end to end: a small synthetic corpus with unreadable,
# missing and too-short files mixed in; runs at 1, 2 and 3 ranks give bitwise identical /mel and
# the same /status, /errors, /n_segments (tests/mel_h5.py same); the schema read back with h5py;
# SIGKILL part-way then --resume == clean run; SIGTERM -> exit 3, then --resume == clean run;
# malformed list -> exit 2 with file:line; --resume against another list -> exit 2.
set -uo pipefail
: "${ARTISTNET:?}" "${MPIEXEC:?}" "${PYTHON3:?}" "${ARTISTNET_SRC:?}"
T=$(mktemp -d /tmp/an_mel_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
h5() { "$PYTHON3" "$ARTISTNET_SRC/tests/mel_h5.py" "$@" >"$T/py.log" 2>&1 || { cat "$T/py.log" >&2; return 1; }; }
mel() { local np=$1; shift; $MPIEXEC --oversubscribe -n "$np" "$ARTISTNET" mel --quiet "$@"; }

"$ARTISTNET" synth --out "$T/c" --artists 4 --songs 4 --seconds 6.5 --quiet || { echo "synth failed"; exit 1; }
"$ARTISTNET" synth --out "$T/short" --artists 1 --songs 1 --seconds 1 --quiet || { echo "synth failed"; exit 1; }
printf 'not audio' >"$T/c/garbage.wav"
L="$T/c/list.tsv"
{
  head -n 9 "$T/c/tracks.tsv"
  printf 'missing file.wav\tmissing\tnobody\tg\tm\n'
  printf 'garbage.wav\tgarbage\tnobody\tg\tm\n'
  printf '../short/a0000/a0000_s00.wav\tshort\tnobody\tg\tm\n'
  tail -n +10 "$T/c/tracks.tsv"
} >"$L"
K=3
mel 1 --list "$L" --out "$T/m1.h5" --segments $K --round 4; expect "1 rank exits 0" test $? = 0
expect "schema (h5py)" h5 schema "$T/m1.h5" "$L" $K
for np in 2 3; do
  mel $np --list "$L" --out "$T/m$np.h5" --segments $K --round 4 --chunk 1; expect "$np ranks exit 0" test $? = 0
  expect "$np ranks == 1 rank" h5 same "$T/m1.h5" "$T/m$np.h5"
done
# the decode prefetch thread (1 and 2 ranks) and a flush after every round: the same file
mel 1 --list "$L" --out "$T/p1.h5" --segments $K --round 4 --prefetch 2 --sync-every 0; expect "prefetch run exits 0" test $? = 0
expect "1 rank with prefetch == without" h5 same "$T/m1.h5" "$T/p1.h5"
mel 2 --list "$L" --out "$T/p2.h5" --segments $K --round 4 --chunk 1 --prefetch 1; expect "2 ranks prefetch exits 0" test $? = 0
expect "2 ranks with prefetch == 1 rank" h5 same "$T/m1.h5" "$T/p2.h5"
# rank 0 answering the queue in a thread (--queue-thread, MPI_THREAD_MULTIPLE): the same file
mel 3 --list "$L" --out "$T/q3.h5" --segments $K --round 4 --chunk 1 --queue-thread; expect "3 ranks queue thread exits 0" test $? = 0
expect "3 ranks with the queue thread == 1 rank" h5 same "$T/m1.h5" "$T/q3.h5"
# exactly three failures, with their messages
"$PYTHON3" - "$T/m1.h5" >"$T/st.txt" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
print(" ".join(str(int(x)) for x in f["status"][()]))
for e in f["errors"][()]:
    if e: print(e.decode())
PY
expect "status: three failed rows" grep -qx '0 0 0 0 0 0 0 0 1 1 1 0 0 0 0 0 0 0 0' "$T/st.txt"
expect "missing file message" grep -q 'missing file.wav' "$T/st.txt"
expect "too short message" grep -q 'too short' "$T/st.txt"
# a message longer than 256 bytes is kept whole in /errors of mels.h5 and features.h5 (issue 23)
long=$(printf 'x%.0s' $(seq 300))
printf 'path\tid\n%s/missing.wav\tlong\n' "$long" >"$T/long.tsv"
mel 1 --list "$T/long.tsv" --out "$T/long.h5"; expect "long path: mel exits 0" test $? = 0
"$ARTISTNET" extract --baseline --quiet --list "$T/long.tsv" --out "$T/longf.h5"; expect "long path: extract exits 0" test $? = 0
for f in long.h5 longf.h5; do
  expect "$f: the whole message in /errors" "$PYTHON3" -c "import h5py,sys; e=h5py.File(sys.argv[1],'r')['errors'][0].decode(); sys.exit(0 if len(e) > 300 and '/missing.wav: cannot open' in e else 1)" "$T/$f"
done

# SIGKILL in round 3 (rounds 1-2 on disk), then --resume at another rank count
for np in 1 2; do
  ARTISTNET_MEL_TEST_SIGNAL=KILL:3 mel $np --list "$L" --out "$T/k$np.h5" --segments $K --round 4 --prefetch $((np - 1)) >/dev/null 2>&1
  rc=$?; expect "SIGKILL run ($np ranks) did not finish (exit $rc)" test $rc != 0
  "$PYTHON3" -c "import h5py,sys; s=h5py.File(sys.argv[1],'r')['status'][()]; sys.exit(0 if (s==-1).sum()>0 and (s!=-1).sum()>=8 else 1)" "$T/k$np.h5"
  expect "killed file readable, rounds 1-2 done, rest pending ($np ranks)" test $? = 0
  mel $((np + 1)) --list "$L" --out "$T/k$np.h5" --segments $K --round 4 --resume; expect "resume after SIGKILL exits 0" test $? = 0
  expect "resume after SIGKILL ($np ranks) == clean run" h5 same "$T/m1.h5" "$T/k$np.h5"
done
# SIGTERM: finish the tracks in hand, write, exit 3; --resume completes
ARTISTNET_MEL_TEST_SIGNAL=TERM:2 $MPIEXEC --oversubscribe -n 2 "$ARTISTNET" mel --list "$L" --out "$T/t.h5" --segments $K --round 4 --prefetch 1 --queue-thread 2>"$T/term.log"
rc=$?; expect "SIGTERM exits 3 (got $rc)" test $rc = 3
expect "SIGTERM message" grep -q 'run again with --resume' "$T/term.log"
mel 3 --list "$L" --out "$T/t.h5" --segments $K --round 4 --resume; expect "resume after SIGTERM exits 0" test $? = 0
expect "resume after SIGTERM == clean run" h5 same "$T/m1.h5" "$T/t.h5"
# resume of a complete file does nothing and keeps it equal
mel 2 --list "$L" --out "$T/t.h5" --segments $K --resume; expect "resume of a finished file" test $? = 0
expect "finished file unchanged" h5 same "$T/m1.h5" "$T/t.h5"

# bad input
printf 'path\tid\nx.wav\ta\ny.wav\ta\n' >"$T/dup.tsv"
mel 2 --list "$T/dup.tsv" --out "$T/d.h5" 2>"$T/err.log"; rc=$?
expect "duplicate id exits 2 (got $rc)" test $rc = 2
expect "duplicate id message names file and lines" grep -q "dup.tsv:3: duplicate id 'a' (also on line 2)" "$T/err.log"
printf 'path\tmel\nx.wav\ta\n' >"$T/clash.tsv"
mel 1 --list "$T/clash.tsv" --out "$T/d.h5" 2>"$T/err.log"; rc=$?
expect "reserved column exits 2" test $rc = 2
expect "reserved column message" grep -q "column 'mel' would clash" "$T/err.log"
head -n 5 "$L" >"$T/c/other.tsv"
mel 1 --list "$T/c/other.tsv" --out "$T/m1.h5" --segments $K --resume 2>"$T/err.log"; rc=$?
expect "resume with another list exits 2 (got $rc)" test $rc = 2
expect "resume mismatch message" grep -q "cannot resume: it was made from another list" "$T/err.log"
mel 1 --list "$L" --out "$T/m1.h5" --segments 2 --resume 2>"$T/err.log"; rc=$?
expect "resume with other --segments exits 2" test $rc = 2
mel 1 --list "$T/nope.tsv" --out "$T/d.h5" 2>"$T/err.log"; rc=$?
expect "missing list exits 2" test $rc = 2
"$ARTISTNET" mel --help >"$T/help.txt"; expect "--help" grep -q -- '--segments N' "$T/help.txt"

echo "mel_mpi: $pass passed, $fail failed"
test $fail = 0
