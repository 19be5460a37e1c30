#!/usr/bin/env bash
# test_reliability_fuzz.sh - runs scripts/fuzz (libFuzzer + ASan/UBSan/LSan on the list parser, the
# model.h5 / features.h5 loaders and the audio decode wrapper) for $FUZZ_SECONDS (default 40) per
# target in $ARTISTNET_SRC/build-fuzz. Fails when a target finds anything; the input is kept in
# build-fuzz/fuzz-crashes and the replay command printed.
set -uo pipefail
src=${ARTISTNET_SRC:?}
seconds=${FUZZ_SECONDS:-40}
pass=0; fail=0
if bash "$src/scripts/fuzz" --seconds "$seconds" --build-dir "$src/build-fuzz"; then
  pass=1
else
  fail=1
  echo "FAIL: scripts/fuzz found a crash, leak, UB or time-out (see above)"
fi
echo "reliability_fuzz: $pass passed, $fail failed"
[ $fail = 0 ]
