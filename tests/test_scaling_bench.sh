#!/usr/bin/env bash
# test_scaling_bench.sh - bench/scaling.sh itself, at its tiny size on 1 and 2 ranks: it exits 0,
# prints the table (a row per job and rank count, with speed-up, ceiling and the stage that grew),
# writes scaling.tsv, summary.txt and evaluate-fits.{1,2}.tsv (and the 1-rank one replayed at 2 ranks), and finds every
# output identical at ranks 1 and 2; evaluate's
# 2-rank row has its own numeric ceiling (2 x `evaluate --bench-group mid` units); then, with
# an artistnet wrapper that trains with another seed at 2 ranks, reports the model checksum as
# differing at ranks 2 and exits 1. (~30 s on 2 cores.)
set -uo pipefail
: "${ARTISTNET:?}" "${ARTISTNET_SRC:?}"
export MPIRUN=${MPIEXEC:-mpirun}
T=$(mktemp -d /tmp/an_scaling_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
S=$ARTISTNET_SRC/bench/scaling.sh

bash "$S" --preset tiny --ranks 1,2 --oversubscribe --bind none --out "$T/o" --work "$T/w" > "$T/out" 2>&1
rc=$?
expect "exit 0 (got $rc)" test $rc = 0
for job in mel train-b128 extract evaluate; do
  for n in 1 2; do
    expect "table row $job $n" grep -Eq "^$job +$n +[0-9.]+ " "$T/out"
  done
done
expect "2-rank rows have speed-up, ceiling and a grown stage" \
  grep -Eq '^mel +2 +[0-9.]+ +[0-9.]+ +[0-9.]+ tracks/s +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+  [a-z]' "$T/out"
expect "evaluate's 2-rank row has its own numeric ceiling and eff/ceil" \
  grep -Eq '^evaluate +2 +[0-9.]+ +[0-9.]+ +([0-9.]+|-) fits/s +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+  ' "$T/out"
expect "scaling.tsv: evaluate's ceiling at 2 ranks is a number" \
  awk -F'\t' '$1 == "evaluate" && $2 == 2 { found = 1; ok = $9 ~ /^[0-9]+\.[0-9]+$/ } END { exit !(found && ok) }' "$T/o/scaling.tsv"
expect "log.txt: evaluate's ceiling from bench-group units" grep -Eq '^\[ *[0-9.]+ s\] ceiling evaluate at 2: lone share job' "$T/o/log.txt"
expect "log.txt: the unit's command" grep -q -- '^=== ceiling evaluate at 2: .*evaluate .*--bench-group mid --quiet' "$T/o/log.txt"
for what in "mels.h5 /mel /status /n_segments" "train --batch 128 model checksum" "features.h5 /features /status" "evaluate predictions.tsv"; do
  expect "check $what identical" grep -qF "check $what: identical at ranks 1 2" "$T/out"
done
expect "scaling.tsv: header + 8 rows" test "$(wc -l < "$T/o/scaling.tsv")" = 9
expect "summary.txt has the table" grep -q '^train-b128 ' "$T/o/summary.txt"
expect "evaluate's fits.tsv kept for 1 and 2 ranks" test -s "$T/o/evaluate-fits.1.tsv" -a -s "$T/o/evaluate-fits.2.tsv"
expect "log.txt keeps train's per-step line" grep -q '^train: per step' "$T/o/log.txt"
expect "evaluate's schedule at 2 ranks: the 1-rank fits replayed, beside the real efficiency" \
  grep -Eq '^evaluate-schedule +2 ranks: the replay fills [0-9]\.[0-9]{3} of the ranks; the real run [0-9]+\.[0-9]{3} \(speed-up / N\)$' "$T/o/summary.txt"
expect "evaluate at 2 ranks with and without speculative final fits: seconds of both, the same predictions" \
  grep -Eq '^evaluate-speculate +2 ranks: grid \+ final fits [0-9.]+ s with speculative final fits \(the default\), [0-9.]+ s without; predictions identical$' "$T/o/summary.txt"
expect "log.txt: the replay's command" grep -q -- '^=== evaluate-replay.2: .*evaluate .*--bench-replay .*evaluate-fits.1.tsv' "$T/o/log.txt"
expect "scratch removed" test -z "$(ls -A "$T/w")"

# a rank count that changes the model must be caught
cat > "$T/wrap.sh" <<EOW
#!/bin/bash
if [ "\$1" = train ] && [ "\${OMPI_COMM_WORLD_SIZE:-1}" = 2 ]; then exec "$ARTISTNET" "\$@" --seed 2; fi
exec "$ARTISTNET" "\$@"
EOW
chmod +x "$T/wrap.sh"
ARTISTNET=$T/wrap.sh bash "$S" --preset tiny --ranks 1,2 --oversubscribe --bind none --jobs train --no-ceiling --out "$T/o2" --work "$T/w2" > "$T/out2" 2>&1
rc=$?
expect "a differing model: exit 1 (got $rc)" test $rc = 1
expect "a differing model: NO at ranks 2" grep -qF "check train --batch 128 model checksum: NO: differs at ranks 2" "$T/out2"

echo "test_scaling_bench: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "--- output:"; cat "$T/out"; echo "--- output (differing model):"; cat "$T/out2"; exit 1; }
