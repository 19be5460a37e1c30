#!/bin/sh
# extractFeatures.sh /path/to/scratch/folder /path/to/featureExtractionListFile.txt [extra options]
# MIREX train/test tasks: features of every listed audio file (one path per line) into the scratch
# folder. Model: $ARTISTNET_MODEL (a model.h5, or "baseline" for the log-mel mean/std baseline), else
# the authors' pretrained model (data/authors-model, or $ARTISTNET_AUTHORS_WEIGHTS) imported into the
# scratch folder on first use. $ARTISTNET_LDA: an lda.h5 to apply before the SVM.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 /path/to/scratch/folder /path/to/featureExtractionListFile.txt" >&2; exit 2; }
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
scratch=$1 list=$2
shift 2
mkdir -p "$scratch"
model=${ARTISTNET_MODEL:-}
if [ -z "$model" ]; then
    model=$scratch/authors.h5
    if [ ! -f "$model" ]; then
        "$bin" import-keras --quiet --weights "${ARTISTNET_AUTHORS_WEIGHTS:-$repo/data/authors-model/model_siamese_10000.h5}" \
            --out "$model.tmp" && mv "$model.tmp" "$model"
    fi
fi
if [ "$model" = baseline ]; then set -- --baseline "$@"; else set -- --model "$model" "$@"; fi
if [ -n "${ARTISTNET_LDA:-}" ]; then set -- --lda "$ARTISTNET_LDA" "$@"; fi
run mirex extract --scratch "$scratch" --list "$list" "$@"
