"""reliability_rows.py - the rows an interrupted or failed run marked done are those of an
uninterrupted run (tests/test_reliability_disk.sh).

    reliability_rows.py REF.h5 PART.h5   print "DONE PENDING"; exit 1 unless every dataset of
                                         PART with one row per track equals REF (bitwise) on the
                                         rows whose /status is not -1 (pending)
"""
import sys

import h5py
import numpy as np


def main(ref_path, part_path):
    with h5py.File(ref_path, "r") as ref, h5py.File(part_path, "r") as part:
        status = part["status"][()]
        done = status != -1
        bad = []
        for name, d in part.items():
            if not isinstance(d, h5py.Dataset) or d.shape[:1] != status.shape:
                continue
            a, b = ref[name][()][done], d[()][done]
            if a.dtype.kind == "f":
                a, b = a.view(np.uint8), b.view(np.uint8)
            if a.shape != b.shape or not np.array_equal(a, b):
                bad.append(name)
        print(int(done.sum()), int((~done).sum()))
        if bad:
            print(f"{part_path}: rows marked done differ from {ref_path} in /{', /'.join(bad)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
