# env.sh - shared by the MIREX wrappers (sourced, not run): finds the artistnet binary and builds
# the mpirun command line. Environment:
#   ARTISTNET          artistnet binary (default: <repo>/build/artistnet)
#   ARTISTNET_RANKS    MPI ranks (default 2)
#   MPIEXEC            mpirun / mpiexec (default: mpirun); ARTISTNET_MPI_FLAGS extra flags (e.g. --oversubscribe)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin=${ARTISTNET:-$repo/build/artistnet}
if [ ! -x "$bin" ]; then
    echo "$(basename "$0"): no artistnet binary at $bin (build the repo, or set ARTISTNET)" >&2
    exit 2
fi
run() {
    # shellcheck disable=SC2086
    "${MPIEXEC:-mpirun}" ${ARTISTNET_MPI_FLAGS:-} -n "${ARTISTNET_RANKS:-2}" "$bin" "$@"
}
