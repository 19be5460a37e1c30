#!/usr/bin/env bash
# test_nn_h5py.sh - model.h5 as users see it: h5py ($PYTHON3) reads the names, shapes, dtypes and
# attributes written by nn_save (test_nn_io --write); a model with a wrong format_version or a
# layer of another shape is refused by nn_load with exit 2 and a message naming file and dataset.
# usage: test_nn_h5py.sh PATH/TO/test_nn_io
set -u
io=$1
tmp=$(mktemp -d /tmp/test_nn_h5py.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
ok() { echo "ok: $1"; pass=$((pass+1)); }
bad() { echo "FAIL: $1"; fail=$((fail+1)); }

"$io" --write "$tmp/model.h5" && ok "write model.h5" || bad "write model.h5"
if "$PYTHON3" - "$tmp/model.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
a = f.attrs
expect = {"format_version": 1, "n_classes": 3, "feature_dim": 256, "sr": 22050, "n_fft": 1024, "hop": 512,
          "n_mels": 128, "segment_frames": 129, "fmin": 0.0, "fmax": 11025.0, "step": 1}
for k, v in expect.items():
    assert a[k] == v, (k, a[k], v)
def s(x): return x.decode() if isinstance(x, bytes) else x
assert s(a["format"]) == "artistnet-dcnn"
assert s(a["log_compression"]) == "log10(1+10*M)" and s(a["spectrum"]) == "magnitude"
assert s(a["mel_scale"]) == "slaney" and s(a["mel_norm"]) == "slaney"
assert s(a["checksum"]).startswith("fnv1a64:") and len(s(a["checksum"])) == 24
assert abs(a["bn_epsilon"] - 1e-3) < 1e-9 and abs(a["bn_momentum"] - 0.99) < 1e-12
shapes = {1: (4, 128, 128), 2: (4, 128, 128), 3: (4, 128, 128), 4: (2, 128, 128), 5: (1, 128, 256)}
for l, shp in shapes.items():
    g = f[f"conv{l}"]
    assert g["kernel"].shape == shp and g["kernel"].dtype == np.float32, (l, g["kernel"].shape)
    for n in ("bias", "gamma", "beta", "moving_mean", "moving_variance"):
        assert g[n].shape == (shp[2],), (l, n)
assert f["dense/kernel"].shape == (256, 3) and f["dense/bias"].shape == (3,)
assert f["norm/mean"][()] == np.float32(0.25) and f["norm/std"][()] == np.float32(0.5)
names = [x.decode("utf-8") for x in f["artists"][()]]
assert names == ["Björk", "Sigur Rós", "AC/DC"], names
assert f["artists"].id.get_type().get_cset() == h5py.h5t.CSET_UTF8
n_params = sum(f[f"conv{l}/{n}"].size for l in range(1, 6) for n in ("kernel", "bias", "gamma", "beta")) \
    + f["dense/kernel"].size + f["dense/bias"].size
assert f["optimizer/momentum"].shape == (n_params,), (f["optimizer/momentum"].shape, n_params)
assert f["optimizer"].attrs["step"] == 1
print("h5py: names, shapes, dtypes, attributes as documented")
PY
then ok "h5py reads model.h5 as documented"; else bad "h5py reads model.h5 as documented"; fi

# a newer format version is refused
cp "$tmp/model.h5" "$tmp/v2.h5"
"$PYTHON3" -c "import h5py,sys; h5py.File(sys.argv[1],'a').attrs['format_version']=2" "$tmp/v2.h5"
"$io" --load "$tmp/v2.h5" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "v2.h5: model format_version 2" "$tmp/err" && ok "format_version 2 -> exit 2: $(cat "$tmp/err")" \
  || bad "format_version 2 -> exit 2 (rc $rc: $(cat "$tmp/err"))"

# a layer of another shape is refused, naming the dataset
cp "$tmp/model.h5" "$tmp/shape.h5"
"$PYTHON3" -c "
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'a'); del f['conv2/kernel']; f['conv2/kernel'] = np.zeros((3, 128, 128), np.float32)" "$tmp/shape.h5"
"$io" --load "$tmp/shape.h5" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "shape.h5: dataset /conv2/kernel has shape (3, 128, 128), expected (4, 128, 128)" "$tmp/err" \
  && ok "wrong conv2 shape -> exit 2: $(cat "$tmp/err")" || bad "wrong conv2 shape -> exit 2 (rc $rc: $(cat "$tmp/err"))"

# edited weights no longer match the checksum
cp "$tmp/model.h5" "$tmp/edit.h5"
"$PYTHON3" -c "import h5py,sys; f=h5py.File(sys.argv[1],'a'); f['conv1/bias'][0] = 5.0" "$tmp/edit.h5"
"$io" --load "$tmp/edit.h5" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "checksum" "$tmp/err" && ok "edited weights -> checksum error" || bad "edited weights -> checksum error (rc $rc)"

echo "test_nn_h5py: $pass passed, $fail failed"
[ $fail = 0 ]
