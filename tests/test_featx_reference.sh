#!/bin/bash
# test_featx_reference.sh - `artistnet extract` against the numpy/PyTorch reference
# (tests/reference/featx_reference.py -> tests/fixtures/featx/featx_golden.h5) on three generated clips
# (integer formula, regenerated bit for bit by test_featx_check gen and checked by PCM hash):
#   * issue 12 end to end: import-keras of the authors' model, extract --model authors.h5
#     --segments 2 --segment-features -> clip and segment features within 1e-4 (abs + rel; measured
#     worst 9e-6) of decode -> log-mel -> normalise -> Keras-semantics net -> mean;
#   * the log-mel baseline (extract --baseline) within 1e-6 (measured worst 6e-8);
#   * both also equal the module-API recomputation (extract_track_segments + nn_forward_features).
# Needs the authors' model (data/authors-model/, $ARTISTNET_AUTHORS_MODEL).
set -u
CHECK=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
GOLD=$ARTISTNET_FIXTURES/featx/featx_golden.h5
fail=0
run() { "$@" || { echo "FAILED: $*" >&2; fail=1; }; }

run "$CHECK" gen "$T" "$GOLD"
run "$ARTISTNET" extract --baseline --list "$T/list.tsv" --out "$T/base.h5" --segments 2 --segment-features --quiet
run "$CHECK" golden "$T/base.h5" "$GOLD" baseline 1e-6
run "$CHECK" api "$T/base.h5" "$T/list.tsv" - 2 1e-6

KERAS=$ARTISTNET_AUTHORS_MODEL
if [ ! -f "$KERAS" ]; then
    echo "FAIL: the authors' model $KERAS is missing (it is kept in data/authors-model/)"
    exit 1
fi
run "$ARTISTNET" import-keras --weights "$KERAS" --out "$T/authors.h5"
run "$ARTISTNET" extract --model "$T/authors.h5" --list "$T/list.tsv" --out "$T/dcnn.h5" --segments 2 --segment-features --quiet
run "$CHECK" golden "$T/dcnn.h5" "$GOLD" dcnn 1e-4
run "$CHECK" api "$T/dcnn.h5" "$T/list.tsv" "$T/authors.h5" 2 1e-5
# the same features through two ranks
run $MPIEXEC --oversubscribe -n 2 "$ARTISTNET" extract --model "$T/authors.h5" --list "$T/list.tsv" --out "$T/dcnn2.h5" --segments 2 --segment-features --quiet
run "$CHECK" same "$T/dcnn.h5" "$T/dcnn2.h5"
echo "test_featx_reference: $([ $fail = 0 ] && echo 'all passed' || echo FAILED)"
exit $fail
