#!/bin/bash
# test_lda_job.sh - `artistnet lda` end to end at 1, 2, 3 ranks on the committed fixture; lda.h5 read
# back with h5py: schema (/mean, /components, /eigenvalues, attributes), values vs the scikit-learn
# golden file, and bitwise the same /mean, /components and /eigenvalues for every rank count (exact
# sums over fixed row groups, reduce/reduce_lda.h). Also --help.
set -u
A=${ARTISTNET:?}; F=${ARTISTNET_FIXTURES:?}/reduce; PY=${PYTHON3:-/usr/bin/python3}; MPI=${MPIEXEC:-mpiexec}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
$A lda --help | grep -q -- "--shrinkage" || { echo "FAIL: --help" >&2; fail=1; }
for np in 1 2 3; do
  $MPI --oversubscribe -n $np $A lda --features $F/lda_features.h5 --label-column artist --dim 10 --shrinkage 0 \
    --out $T/lda$np.h5 || { echo "FAIL: lda on $np ranks" >&2; fail=1; }
done
$PY - $T $F/lda_reference.h5 <<'PYEOF' || fail=1
import h5py, numpy as np, sys
t, ref = sys.argv[1], h5py.File(sys.argv[2])
bad = 0
base = None
for n in (1, 2, 3):
    with h5py.File(f"{t}/lda{n}.h5") as f:
        a = dict(f.attrs)
        shapes = (f["mean"].shape, f["components"].shape, f["eigenvalues"].shape)
        ok = shapes == ((24,), (24, 10), (10,)) and a["n_classes"] == 60 and a["n_rows"] == 1488 \
             and a["shrinkage"] == 0 and a["label_column"] == "artist"
        de = np.abs(f["eigenvalues"][:] - ref["s0/eigenvalues"][:]).max()
        dc = np.abs(f["components"][:] - ref["s0/components"][:]).max()
        comp = f["components"][:]
        allv = np.concatenate([f["mean"][:].ravel(), comp.ravel(), f["eigenvalues"][:].ravel()])
        dr = 0 if base is None else np.abs(comp - base[1]).max()
        same = base is None or allv.tobytes() == base[0].tobytes()
        base = (allv, comp) if base is None else base
        print(f"{n} rank(s): schema {'ok' if ok else 'BAD'} {shapes}, |eig - sklearn| {de:.2g}, |comp - sklearn| {dc:.2g}, |comp - 1 rank| {dr:.2g}, bitwise as 1 rank: {same}", file=sys.stderr)
        bad += (not ok) or de > 1e-9 or dc > 1e-7 or not same or not np.isfinite(comp).all()
sys.exit(1 if bad else 0)
PYEOF
echo "test_lda_job: $([ $fail -eq 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit $fail
