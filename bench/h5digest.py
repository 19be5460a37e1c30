#!/usr/bin/env python3
"""h5digest.py - a digest of the raw bytes of HDF5 datasets, for bitwise comparisons across runs.

usage: h5digest.py FILE DATASET [DATASET...]
prints one line per dataset: "DATASET shape=(..) dtype=.. sha256=HEX"; exit 1 when a dataset is
missing. Two datasets with the same line hold the same bytes (rows are read in blocks of about
256 MB, so an 8-GB /mel fits in memory). Used by bench/scaling.sh (h5py; python3-h5py on Debian).
"""
import hashlib
import sys

import h5py
import numpy as np


def digest(dset):
    h = hashlib.sha256()
    if dset.shape == ():
        h.update(np.ascontiguousarray(dset[()]).tobytes())
        return h.hexdigest()
    row = int(np.prod(dset.shape[1:], dtype=np.int64)) * dset.dtype.itemsize
    step = max(1, (256 << 20) // max(row, 1))
    for i in range(0, dset.shape[0], step):
        h.update(np.ascontiguousarray(dset[i:i + step]).tobytes())
    return h.hexdigest()


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    rc = 0
    with h5py.File(argv[1], "r") as f:
        for name in argv[2:]:
            if name not in f:
                print(f"{name} MISSING")
                rc = 1
                continue
            d = f[name]
            print(f"{name} shape={d.shape} dtype={d.dtype.str} sha256={digest(d)}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
