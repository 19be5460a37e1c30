#!/bin/sh
# Train.sh /path/to/scratch/folder /path/to/trainListFile.txt [extra options, e.g. --kernel linear]
# MIREX train/test tasks: fits the SVM on the listed files (path<TAB>label per line) whose features
# extractFeatures.sh put in the scratch folder; the model is saved there.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 /path/to/scratch/folder /path/to/trainListFile.txt" >&2; exit 2; }
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
scratch=$1 list=$2
shift 2
run mirex train --scratch "$scratch" --list "$list" "$@"
