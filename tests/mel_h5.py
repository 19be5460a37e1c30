#!/usr/bin/env python3
"""mel_h5.py - h5py checks of mels.h5 files written by `artistnet mel`.

  mel_h5.py schema FILE LIST K     the schema of DESIGN.md: datasets, shapes, dtypes, fixed-length
                                   UTF-8 strings, list columns in list order, attributes; per-row
                                   consistency of /status, /errors, /n_segments, zero padding
  mel_h5.py same A B               /mel bitwise equal, /status, /errors, /n_segments, /ids and the
                                   list columns equal (attributes such as ranks may differ)
Prints one line per check group and exits non-zero on any failure.
"""
import sys

import h5py
import numpy as np

fails = 0


def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)


def read_list(path):
    rows = []
    header = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if header is None:
                header = fields
                continue
            rows.append(fields)
    return header, rows


def strings(d):
    check(d.dtype.kind == "S", f"{d.name} is fixed-length bytes (got {d.dtype})")
    check(h5py.check_string_dtype(d.dtype) is not None and h5py.check_string_dtype(d.dtype).encoding == "utf-8",
          f"{d.name} is UTF-8")
    return [x.decode("utf-8") for x in d[()]]


def schema(path, listpath, k):
    k = int(k)
    header, rows = read_list(listpath)
    n = len(rows)
    with h5py.File(path, "r") as f:
        cols = [c for c in header if c not in ("path", "id")]
        expect = {"ids", "mel", "n_segments", "status", "errors", *cols}
        check(set(f.keys()) == expect, f"datasets {sorted(f.keys())} == {sorted(expect)}")
        mel = f["mel"]
        check(mel.shape == (n, k, 128, 129) and mel.dtype == np.float32, f"/mel {mel.shape} {mel.dtype}")
        check(mel.chunks is None, f"/mel contiguous (chunks {mel.chunks})")
        check(f["n_segments"].shape == (n,) and f["n_segments"].dtype == np.int32, "/n_segments (N,) int32")
        check(f["status"].shape == (n,) and f["status"].dtype == np.int8, "/status (N,) int8")
        ids = strings(f["ids"])
        idcol = header.index("id") if "id" in header else header.index("path")
        check(ids == [r[idcol] for r in rows], "/ids in list order")
        for c in cols:
            check(strings(f[c]) == [r[header.index(c)] for r in rows], f"/{c} equals the list column")
        errors = strings(f["errors"])
        status = f["status"][()]
        nseg = f["n_segments"][()]
        m = mel[()]
        for i in range(n):
            if status[i] == 0:
                check(errors[i] == "" and 1 <= nseg[i] <= k, f"row {i}: ok with no error, 1..K segments")
                check(np.all(np.isfinite(m[i])) and m[i, : nseg[i]].max() > 0, f"row {i}: finite, non-zero mel")
            else:
                check(status[i] == 1 and errors[i] != "" and nseg[i] == 0, f"row {i}: failed with a message")
            check(not np.any(m[i, nseg[i]:]), f"row {i}: zeros after its {nseg[i]} segments")
        a = f.attrs
        for name, want in [("sr", 22050), ("n_fft", 1024), ("hop", 512), ("n_mels", 128), ("segment_frames", 129),
                           ("fmin", 0.0), ("fmax", 11025.0), ("segments", k)]:
            check(name in a and a[name] == want, f"attribute {name} == {want} (got {a.get(name)})")
        for name in ["spectrum", "mel_scale", "mel_norm", "log_compression", "window", "list", "list_hash",
                     "version", "command_line", "columns"]:
            check(name in a, f"attribute {name}")
        check("ranks" in a and a["ranks"] >= 1, "attribute ranks")
        check(a["columns"].decode() == "\t".join(cols), "attribute columns")
        print(f"schema {path}: {n} tracks, {int((status == 0).sum())} ok, {int((status == 1).sum())} failed")


def same(pa, pb):
    with h5py.File(pa, "r") as a, h5py.File(pb, "r") as b:
        check(set(a.keys()) == set(b.keys()), "same datasets")
        ma, mb = a["mel"][()], b["mel"][()]
        check(ma.shape == mb.shape and np.array_equal(ma.view(np.uint32), mb.view(np.uint32)), "/mel bitwise equal")
        if ma.shape == mb.shape and not np.array_equal(ma.view(np.uint32), mb.view(np.uint32)):
            bad = np.argwhere(ma.view(np.uint32) != mb.view(np.uint32))
            print(f"  {len(bad)} values differ, first at {tuple(bad[0])}: {ma[tuple(bad[0])]!r} vs {mb[tuple(bad[0])]!r}")
        for d in a.keys():
            if d != "mel":
                check(np.array_equal(a[d][()], b[d][()]), f"/{d} equal")
        print(f"same {pa} {pb}: {ma.shape[0]} tracks compared")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "schema":
        schema(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "same":
        same(*sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
    print("mel_h5:", "ok" if fails == 0 else f"{fails} failed")
    sys.exit(1 if fails else 0)
