#!/bin/bash
# scale.sh OUT [scaling.sh options] - bench/scaling.sh on the many-core device machine with the
# bundled runtime (../shared/device/: env.sh unpacks it). Copy it beside the bundle with
# bench/scaling.sh as bench_scaling.sh (the bundle's own scaling.sh is another script) and
# h5digest.py (bench/device/README.md). Sets ARTISTNET and MPIRUN to the bundle's wrappers and
# H5CHECK to its h5check (used when python3 there has no h5py), then runs it with --out OUT.
set -u
OUT=${1:?usage: scale.sh OUT [scaling.sh options]}
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/env.sh" || exit 1
export ARTISTNET=$ANRT_DIR/bin/artistnet MPIRUN=$ANRT_DIR/bin/mpirun
export H5CHECK="$ANRT_DIR/bin/mpirun -n 1 --bind-to none $ANRT_DIR/bin/h5check"
exec bash "$HERE/bench_scaling.sh" --out "$OUT" "$@"
