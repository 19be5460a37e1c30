#!/usr/bin/env bash
# test_reliability_memory.sh - `extract` keeps its memory bounded, whatever the length of the list:
# on 2 ranks, default options (10 segments, batch 64), a 1,000-track list and a 100-track list of
# 4-s clips, each rank measured with /usr/bin/time -v (maximum resident set size).
#   * every rank of the 1,000-track run stays under BOUND_MB (64 MB; measured ~36 MB);
#   * the 1,000-track run's peak is within GROWTH_MB (4 MB) of the 100-track run's (measured +0.3 MB):
#     memory does not grow with the list (per-row tables of a few bytes only).
# Not registered in a sanitizer build (ASan's shadow memory and quarantine are not ours).
set -uo pipefail
: "${ARTISTNET:?}" "${MPIEXEC:?}" "${ARTISTNET_SRC:?}"
CHECK=${1:?usage: test_reliability_memory.sh test_featx_check}
BOUND_MB=${BOUND_MB:-64}
GROWTH_MB=${GROWTH_MB:-4}
T=$(mktemp -d /tmp/an_mem_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
[ -x /usr/bin/time ] || { echo "no /usr/bin/time (scripts/setup installs the package 'time')"; echo "test_reliability_memory: 0 passed, 1 failed"; exit 1; }

"$ARTISTNET" synth --out "$T/c" --artists 5 --songs 4 --seconds 4 --quiet || { echo "synth failed"; exit 1; }
"$CHECK" model "$T/model.h5" 11 >/dev/null || { echo "model failed"; exit 1; }
list() { # N OUT: the 20 clips repeated under distinct ids
  { printf 'path\tid\tartist\n'; for r in $(seq 0 $(($1 / 20 - 1))); do
      tail -n +2 "$T/c/tracks.tsv" | awk -F'\t' -v r="$r" '{print "c/"$1"\t"$2"_r"r"\t"$3}'; done; } >"$2"
}
# peak RSS (kB) of each rank of `extract` on list N, one line per rank
peak() {
  local n=$1
  list "$n" "$T/l$n.tsv"
  local t0=$SECONDS
  timeout 300 $MPIEXEC --oversubscribe -n 2 bash -c '/usr/bin/time -v -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$T/time$n" \
    "$ARTISTNET" extract --model "$T/model.h5" --list "$T/l$n.tsv" --out "$T/f$n.h5" --quiet
  local rc=$?
  expect "extract of $n tracks exits 0 (got $rc)" test $rc = 0
  echo "extract, $n tracks, 2 ranks: $((SECONDS - t0)) s" >&2
  for r in 0 1; do
    awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time$n.$r" 2>/dev/null || echo 0
  done
}
p100=($(peak 100))
p1000=($(peak 1000))
max() { local m=0; for v in "$@"; do [ "${v:-0}" -gt $m ] && m=$v; done; echo $m; }
m100=$(max "${p100[@]}"); m1000=$(max "${p1000[@]}")
echo "peak RSS per rank (kB): 100 tracks ${p100[*]}, 1000 tracks ${p1000[*]}"
awk -v a="$m1000" -v b="$m100" -v c="$BOUND_MB" 'BEGIN { printf "extract: max RSS %.1f MB per rank on 1,000 tracks (bound %d MB), %.1f MB on 100 tracks\n", a / 1024, c, b / 1024 }'
expect "both ranks measured" test "${#p1000[@]}" = 2 -a "${p1000[1]:-0}" -gt 0 -a "${p100[1]:-0}" -gt 0
expect "1,000 tracks: max RSS $m1000 kB per rank < $BOUND_MB MB" test "$m1000" -lt $((BOUND_MB * 1024))
expect "1,000 vs 100 tracks: growth $((m1000 - m100)) kB < $GROWTH_MB MB" test $((m1000 - m100)) -lt $((GROWTH_MB * 1024))

echo "test_reliability_memory: $pass passed, $fail failed"
[ $fail = 0 ]
