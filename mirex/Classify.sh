#!/bin/sh
# Classify.sh /path/to/scratch/folder /path/to/testListFile.txt /path/to/outputListFile.txt
# MIREX train/test tasks: writes path<TAB>predicted label for every listed file, in the list's order.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 /path/to/scratch/folder /path/to/testListFile.txt /path/to/outputListFile.txt" >&2; exit 2; }
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
scratch=$1 list=$2 out=$3
shift 3
run mirex classify --scratch "$scratch" --list "$list" --out "$out" "$@"
