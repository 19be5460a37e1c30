#!/usr/bin/env bash
# test_reliability_disk.sh - a full disk, made real with small tmpfs mounts (mount -t tmpfs, as
# root). For `mel` and `extract` on 2 ranks, each run under a 120-s timeout (a hang fails):
#   1. the output does not fit at all: exit 1 at once, the message names the file and says how
#      much space it needs; no half-made file is left, so --resume after freeing space starts afresh
#      and gives the file of an uninterrupted run;
#   2. mel: the disk fills up during the run (the first part stopped by SIGTERM, then a filler file
#      leaves ~1.2 MB, then --resume): exit 1, the message names the file and says the file system
#      is full; every row marked done equals the uninterrupted run's, the rest is pending; after the
#      filler is removed, --resume completes it bitwise identical to an uninterrupted run;
#   3. extract: the disk fills up during the run (1 rank stopped by SIGSTOP after 2 rounds, then a
#      filler takes every free byte): the run still completes identically, as the store reserves
#      the whole file when it creates it.
# Usage: test_reliability_disk.sh TEST_FEATX_CHECK
set -uo pipefail
: "${ARTISTNET:?}" "${MPIEXEC:?}" "${PYTHON3:?}" "${ARTISTNET_SRC:?}"
CHECK=${1:?usage: test_reliability_disk.sh test_featx_check}
T=$(mktemp -d /tmp/an_disk_test.XXXXXX)
D="$T/disk"
mkdir -p "$D"
cleanup() { mountpoint -q "$D" && umount "$D"; rm -rf "$T"; }
trap cleanup EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() { local what=$1; shift; if "$@" >"$T/expect.log" 2>&1; then ok; else bad "$what"; cat "$T/expect.log" >&2; fi; }
mpi() { local np=$1; shift; timeout 120 $MPIEXEC --oversubscribe -n "$np" "$ARTISTNET" "$@"; }
rows() { "$PYTHON3" "$ARTISTNET_SRC/tests/reliability_rows.py" "$@"; }
disk() { # SIZE: a fresh tmpfs of SIZE at $D
  mountpoint -q "$D" && umount "$D"
  mount -t tmpfs -o "size=$1" tmpfs "$D" || { echo "cannot mount a tmpfs at $D (needs root)"; echo "test_reliability_disk: 0 passed, 1 failed"; exit 1; }
}
free_kb() { df -k --output=avail "$D" | tail -1 | tr -d ' '; }
fill() { # KB: leave KB kilobytes free
  local n=$(( $(free_kb) - $1 ))
  [ $n -gt 0 ] && fallocate -l "${n}k" "$D/filler"
  echo "filled: $(free_kb) kB free"
}

no_room() { # JOB SMALL BIG OUT PATTERN "JOB ARGS" COMPARE...: case 1 for one job on a tmpfs of SMALL,
  # then --resume on a tmpfs of BIG; COMPARE... (with its arguments) must say the result is the reference
  local job=$1 small=$2 big=$3 out=$4 pattern=$5 cmd=$6 log="$T/$1-noroom.log" rc
  shift 6
  disk "$small"
  mpi 2 $cmd --out "$out" 2>"$log"; rc=$?
  expect "$job, no room: exit 1 (got $rc)" test $rc = 1
  expect "$job, no room: message names the file and the space" grep -q "$pattern" "$log"
  expect "$job, no room: no half-made file left" test ! -e "$out"
  grep -m1 artistnet "$log"
  disk "$big"
  mpi 2 $cmd --out "$out" --resume; expect "$job: --resume after freeing space exits 0" test $? = 0
  expect "$job: --resume after freeing space == uninterrupted" "$@"
}

"$ARTISTNET" synth --out "$T/c" --artists 4 --songs 5 --seconds 30 --quiet || { echo "synth failed"; exit 1; }
{ printf 'path\tid\tartist\n'; for r in 0 1 2 3 4; do
    tail -n +2 "$T/c/tracks.tsv" | awk -F'\t' -v r="$r" -v c="$T/c" '{print c"/"$1"\t"$2"_r"r"\t"$3}'; done; } >"$T/list.tsv"
"$CHECK" model "$T/model.h5" 11 >/dev/null || { echo "model failed"; exit 1; }

# ---- mel: 100 tracks x 1 segment = a 6.6 MB /mel
M="mel --list $T/list.tsv --segments 1 --round 8 --quiet"
mpi 2 $M --out "$T/mref.h5"; expect "mel: reference run exits 0" test $? = 0

# 1. does not fit: clear error at once, nothing left behind; --resume after freeing space
no_room mel 3m 12m "$D/m.h5" "$D/m.h5: mel: not enough space: the file needs .* MB more" "$M" \
  "$PYTHON3" "$ARTISTNET_SRC/tests/mel_h5.py" same "$T/mref.h5" "$D/m.h5"

# 2. the disk fills up during the run
disk 12m
ARTISTNET_MEL_TEST_SIGNAL=TERM:3 mpi 2 $M --out "$D/m.h5" 2>/dev/null; rc=$?
expect "mel: first part stopped by SIGTERM (exit 3, got $rc)" test $rc = 3
read -r done0 pending0 < <(rows "$T/mref.h5" "$D/m.h5")
fill 1200
mpi 2 $M --out "$D/m.h5" --resume 2>"$T/e2.log"; rc=$?
expect "mel, disk full mid-run: exit 1 (got $rc)" test $rc = 1
expect "mel, disk full mid-run: message names the file, says it is full" grep -q "$D/m.h5: .*H5Dwrite.*the file system is full" "$T/e2.log"
grep -m1 artistnet "$T/e2.log"
read -r done1 pending1 < <(rows "$T/mref.h5" "$D/m.h5"); rc=$?
echo "mel: done/pending rows: $done0/$pending0 after SIGTERM, $done1/$pending1 after the full disk"
expect "mel, disk full: rows marked done == uninterrupted run's" test $rc = 0
expect "mel, disk full: earlier rows kept, more written, some pending ($done0 -> $done1, $pending1 pending)" \
  test "${done0:-0}" -gt 0 -a "${done1:-0}" -gt "${done0:-0}" -a "${pending1:-0}" -gt 0
rm -f "$D/filler"
mpi 2 $M --out "$D/m.h5" --resume; expect "mel: --resume after freeing space exits 0" test $? = 0
expect "mel: resumed == uninterrupted (bitwise)" "$PYTHON3" "$ARTISTNET_SRC/tests/mel_h5.py" same "$T/mref.h5" "$D/m.h5"

# ---- extract: 100 tracks, features + segment features (~1.1 MB)
E="extract --model $T/model.h5 --list $T/list.tsv --segments 10 --segment-features --round 8 --quiet"
mpi 2 $E --out "$T/fref.h5"; expect "extract: reference run exits 0" test $? = 0

# 1. does not fit
no_room extract 512k 4m "$D/f.h5" "$D/f.h5: .*not enough space: the file needs .* MB more" "$E" \
  "$CHECK" same "$T/fref.h5" "$D/f.h5"

# 3. the disk fills up during the run: the file was reserved at creation
disk 4m
ARTISTNET_FAULT_AFTER_ROUNDS=2:19 timeout 120 "$ARTISTNET" $E --out "$D/f.h5" &
pid=$!
apid=""
for _ in $(seq 600); do
  apid=$(pgrep -P $pid | head -1)
  grep -q '^[0-9]* ([^)]*) T' "/proc/${apid:-0}/stat" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
expect "extract: stopped after 2 rounds" grep -q '^[0-9]* ([^)]*) T' "/proc/${apid:-0}/stat"
fill 0
kill -CONT "${apid:-0}"
wait $pid; rc=$?
expect "extract, disk full mid-run: completes (exit $rc)" test $rc = 0
expect "extract, disk full mid-run: == uninterrupted" "$CHECK" same "$T/fref.h5" "$D/f.h5"

echo "test_reliability_disk: $pass passed, $fail failed"
[ $fail = 0 ]
