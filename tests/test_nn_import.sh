#!/usr/bin/env bash
# test_nn_import.sh - `artistnet import-keras` on the authors' model ($ARTISTNET_AUTHORS_MODEL,
# data/authors-model/model_siamese_10000.h5): exit 0 and a feature-extractor model.h5 that h5py reads
# (n_classes 0, no dense, authors' norm constants, the Keras tensors copied unchanged); bad inputs
# exit 2 naming the file and the dataset: a non-Keras HDF5 file, a layer of another shape, a
# truncated file, a missing file; usage errors exit 2; --help exits 0.
set -u
keras="$ARTISTNET_AUTHORS_MODEL"
tmp=$(mktemp -d /tmp/test_nn_import.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
ok() { echo "ok: $1"; pass=$((pass+1)); }
bad() { echo "FAIL: $1"; fail=$((fail+1)); }
expect2() { # name, grep pattern, command...
  local name=$1 pat=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc = 2 ] && grep -qF -- "$pat" "$tmp/err"; then ok "$name -> exit 2: $(head -c 300 "$tmp/err")"
  else bad "$name: rc $rc, stderr: $(cat "$tmp/err")"; fi
}

"$ARTISTNET" import-keras --help >/dev/null && ok "--help exits 0" || bad "--help exits 0"
expect2 "no --weights" "weights" "$ARTISTNET" import-keras --out "$tmp/x.h5"
expect2 "missing file" "$tmp/nope.h5" "$ARTISTNET" import-keras --weights "$tmp/nope.h5" --out "$tmp/x.h5"
expect2 "non-Keras HDF5" "nn_reference.h5: not a Keras model file" \
  "$ARTISTNET" import-keras --weights "$ARTISTNET_FIXTURES/nn/nn_reference.h5" --out "$tmp/x.h5"
if [ ! -r "$keras" ]; then
  bad "the authors' model $keras is missing (kept in data/authors-model/)"
else
  if "$ARTISTNET" import-keras --weights "$keras" --out "$tmp/authors.h5" >"$tmp/out" 2>"$tmp/err"; then
    ok "import-keras exits 0: $(cat "$tmp/out")"
  else bad "import-keras: $(cat "$tmp/err")"; fi
  if "$PYTHON3" - "$tmp/authors.h5" "$keras" <<'PY'
import sys, h5py, numpy as np
a, k = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")["model_weights"]
assert a.attrs["n_classes"] == 0 and "dense" not in a and "artists" not in a
assert a["norm/mean"][()] == np.float32(0.22620339) and a["norm/std"][()] == np.float32(0.25794547)
assert abs(a.attrs["bn_epsilon"] - 1e-3) < 1e-9
for l in range(1, 6):
    assert np.array_equal(a[f"conv{l}/kernel"][()], k[f"conv1d_{l}/conv1d_{l}/kernel:0"][()])
    assert np.array_equal(a[f"conv{l}/bias"][()], k[f"conv1d_{l}/conv1d_{l}/bias:0"][()])
    for n in ("gamma", "beta", "moving_mean", "moving_variance"):
        assert np.array_equal(a[f"conv{l}/{n}"][()], k[f"batch_normalization_{l}/batch_normalization_{l}/{n}:0"][()])
src = a.attrs["source"]
assert "keras import" in (src.decode() if isinstance(src, bytes) else src)
PY
  then ok "authors.h5: C = 0, norm constants, tensors copied unchanged"; else bad "authors.h5 contents"; fi
  cp "$keras" "$tmp/shape.h5"; chmod u+w "$tmp/shape.h5"
  "$PYTHON3" -c "
import h5py, numpy as np, sys
g = h5py.File(sys.argv[1], 'a')['model_weights/conv1d_3/conv1d_3']
del g['kernel:0']; g['kernel:0'] = np.zeros((4, 128, 64), np.float32)" "$tmp/shape.h5"
  expect2 "conv1d_3 of another shape" "shape.h5: dataset model_weights/conv1d_3/conv1d_3/kernel:0 has shape (4, 128, 64), expected (4, 128, 128)" \
    "$ARTISTNET" import-keras --weights "$tmp/shape.h5" --out "$tmp/x.h5"
  head -c 1500000 "$keras" >"$tmp/trunc.h5"
  expect2 "truncated Keras file" "trunc.h5" "$ARTISTNET" import-keras --weights "$tmp/trunc.h5" --out "$tmp/x.h5"
fi
echo "test_nn_import: $pass passed, $fail failed"
[ $fail = 0 ]
