#!/usr/bin/env bash
# test_reliability_rank.sh - one rank of a running 3-rank job dies, as on a node failure. The job
# pauses itself at a chosen round (its ranks raise SIGSTOP: ARTISTNET_MEL_TEST_SIGNAL=STOP:R,
# ARTISTNET_FAULT_AFTER_ROUNDS=R:19; the test pauses a rank that had no track yet), so the moment is
# the same on any machine; the test then SIGKILLs one rank's process from outside (found among
# mpirun's children by OMPI_COMM_WORLD_RANK) and lets the others go on (SIGCONT). Checked for `mel`
# (a worker, rank 1, dies in round 3) and `extract` (the master, rank 0, dies after round 2):
#   * the job fails fast: mpirun exits non-zero within 30 s of the kill (a timeout of 120 s catches
#     a hang), says which rank died (Open MPI: "process rank R ... exited on signal 9", or the peer
#     watch: "lost contact with rank R on HOST"), and leaves no rank
#     process behind (within 15 s);
#   * the file is part-way (some rows done, some pending) and readable;
#   * `--resume` on a fresh launch (another rank count) completes it bitwise identical to an
#     uninterrupted run.
# Usage: test_reliability_rank.sh TEST_FEATX_CHECK
set -uo pipefail
: "${ARTISTNET:?}" "${MPIEXEC:?}" "${PYTHON3:?}" "${ARTISTNET_SRC:?}"
CHECK=${1:?usage: test_reliability_rank.sh test_featx_check}
T=$(mktemp -d /tmp/an_rank_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() { local what=$1; shift; if "$@" >"$T/expect.log" 2>&1; then ok; else bad "$what"; cat "$T/expect.log" >&2; fi; }
mpi() { local np=$1; shift; timeout 300 $MPIEXEC --oversubscribe -n "$np" "$ARTISTNET" "$@"; }

# rows done (status 0/1) and pending (-1) of an output file
counts() {
  "$PYTHON3" -c "import h5py,sys; s=h5py.File(sys.argv[1],'r')['status'][()]; print((s!=-1).sum(), (s==-1).sum())" "$1"
}

# kill_rank NAME VICTIM NP ARGS...: run `artistnet ARGS` on NP ranks (the environment holds the
# pause hook), wait until a rank has stopped itself, pause the others, SIGKILL rank VICTIM, SIGCONT
# the others;
# check that the job fails fast and loudly and leaves nothing running.
kill_rank() {
  local name=$1 victim=$2 np=$3; shift 3
  local log="$T/$name.log"
  local xs=() v
  for v in ARTISTNET_MEL_TEST_SIGNAL ARTISTNET_FAULT_AFTER_ROUNDS; do [ -n "${!v:-}" ] && xs+=(-x "$v"); done
  timeout 120 $MPIEXEC --oversubscribe "${xs[@]}" -n "$np" "$ARTISTNET" "$@" >/dev/null 2>"$log" &
  local tpid=$! mp="" ranks="" vpid="" stopped=0 p t_end=$((SECONDS + 100))
  while [ $SECONDS -lt $t_end ] && kill -0 $tpid 2>/dev/null; do
    mp=$(pgrep -P $tpid | head -1)
    ranks=$([ -n "$mp" ] && pgrep -P "$mp")
    stopped=0
    for p in $ranks; do grep -q '^[0-9]* ([^)]*) T' "/proc/$p/stat" 2>/dev/null && stopped=$((stopped + 1)); done
    [ "$stopped" -gt 0 ] && break
    sleep 0.1
  done
  # a rank that had no track in the round is waiting for the others: pause it too
  if [ "$stopped" -gt 0 ]; then
    for p in $ranks; do kill -STOP "$p"; done
    for _ in $(seq 50); do
      stopped=0
      for p in $ranks; do grep -q '^[0-9]* ([^)]*) T' "/proc/$p/stat" 2>/dev/null && stopped=$((stopped + 1)); done
      [ "$stopped" = "$np" ] && break
      sleep 0.1
    done
  fi
  # the victim by its rank variable (read again a few times: one clean-clone ASan run found none)
  for _ in $(seq 10); do
    for p in $ranks; do
      tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$victim" && vpid=$p
    done
    [ -n "$vpid" ] && break
    sleep 0.2
  done
  if [ "$stopped" != "$np" ] || [ -z "$vpid" ]; then
    bad "$name: the $np ranks did not all pause ($stopped stopped), or rank $victim was not found among pids $ranks ($(for p in $ranks; do tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep OMPI_COMM_WORLD_RANK= | tr '\n' ' '; done))"
    kill $tpid; wait $tpid; cat "$log" >&2; return 1
  fi
  kill -KILL "$vpid"
  for p in $ranks; do [ "$p" != "$vpid" ] && kill -CONT "$p"; done
  local t0=$(date +%s%N)
  wait $tpid; local rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "$name: rank $victim (pid $vpid) killed; mpirun exited $rc after $ms ms"
  expect "$name: the job fails (exit $rc, not 0 and not the 120-s timeout)" test "$rc" != 0 -a "$rc" != 124
  expect "$name: it fails fast ($ms ms after the kill)" test "$ms" -lt 30000
  # named by Open MPI (mpirun saw the process die) or by artistnet's peer watch (a ring neighbour
  # saw its connection close; mpi/watch.h), whichever was first
  expect "$name: the dead rank is named" grep -q -e "process rank $victim .*exited on signal 9" \
    -e "lost contact with rank $victim on" "$log"
  local left="" k
  for k in $(seq 150); do # a killed process may take a moment to go (ASan's huge mappings)
    left=""
    for p in $ranks; do
      [ -e "/proc/$p" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$p/stat" 2>/dev/null && left="$left $p"
    done
    [ -z "$left" ] && break
    sleep 0.1
  done
  expect "$name: no rank process left running 15 s after mpirun ($left: $(cat /proc/${left# }/stat 2>/dev/null | cut -c1-60))" test -z "$left"
  sed 's/^/    | /' "$log" | tr '\r' '\n' | grep -v '^    | *$' | grep -v 'tracks (' | head -12
}

# the corpus: 20 clips of 30 s, listed several times under distinct ids
"$ARTISTNET" synth --out "$T/c" --artists 4 --songs 5 --seconds 30 --quiet || { echo "synth failed"; exit 1; }
list() { # N OUT: N rows
  { printf 'path\tid\tartist\n'; for r in $(seq 0 $(( ($1 + 19) / 20 - 1 ))); do
      tail -n +2 "$T/c/tracks.tsv" | awk -F'\t' -v r="$r" '{print "c/"$1"\t"$2"_r"r"\t"$3}'; done; } | head -n $(($1 + 1)) >"$2"
}
list 200 "$T/mel.tsv"
list 100 "$T/extract.tsv"
"$CHECK" model "$T/model.h5" 11 >/dev/null || { echo "model failed"; exit 1; }

# mel: a worker (rank 1 of 3) dies
M="mel --list $T/mel.tsv --segments 1 --round 24"
mpi 3 $M --out "$T/mref.h5" --quiet; expect "mel: uninterrupted run exits 0" test $? = 0
ARTISTNET_MEL_TEST_SIGNAL=STOP:3 kill_rank mel_rank1 1 3 $M --out "$T/mk.h5"
read -r done pending < <(counts "$T/mk.h5")
echo "mel: after the kill $done rows done, $pending pending"
expect "mel: part-way file ($done done, $pending pending)" test "${done:-0}" -gt 0 -a "${pending:-0}" -gt 0
mpi 2 $M --out "$T/mk.h5" --resume --quiet; expect "mel: --resume on 2 ranks exits 0" test $? = 0
expect "mel: resumed == uninterrupted (bitwise)" "$PYTHON3" "$ARTISTNET_SRC/tests/mel_h5.py" same "$T/mref.h5" "$T/mk.h5"

# extract: the master (rank 0 of 3) dies
E="extract --model $T/model.h5 --list $T/extract.tsv --segments 10 --round 12"
mpi 3 $E --out "$T/fref.h5" --quiet; expect "extract: uninterrupted run exits 0" test $? = 0
ARTISTNET_FAULT_AFTER_ROUNDS=2:19 kill_rank extract_rank0 0 3 $E --out "$T/fk.h5"
read -r done pending < <(counts "$T/fk.h5")
echo "extract: after the kill $done rows done, $pending pending"
expect "extract: part-way file ($done done, $pending pending)" test "${done:-0}" -gt 0 -a "${pending:-0}" -gt 0
mpi 2 $E --out "$T/fk.h5" --resume --quiet; expect "extract: --resume on 2 ranks exits 0" test $? = 0
expect "extract: resumed == uninterrupted (bitwise)" "$CHECK" same "$T/fref.h5" "$T/fk.h5"

echo "test_reliability_rank: $pass passed, $fail failed"
[ $fail = 0 ]
