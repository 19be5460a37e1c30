#!/usr/bin/python3
"""train_compare.py - compares the weights of two model.h5 files (or checkpoints) written by
`artistnet train`: every float dataset under /conv1../conv5, /dense, /norm (and /optimizer with
--optimizer). Prints the worst element: max abs difference relative to max(RMS of the tensor, 1e-3) (conv biases
stay near 0 because batch norm cancels them, so their own RMS is no scale).

usage: train_compare.py A.h5 B.h5 [--tol REL] [--bitwise] [--optimizer] [--attr NAME ...]
  --tol REL   fail when max |a - b| / rms(a) of any tensor exceeds REL
  --bitwise   fail unless every tensor is bitwise equal (and the checksum attributes match)
  --attr N    also print root attribute N of both files (e.g. valid_song_accuracy)
exit status 0 when within tolerance, 1 otherwise.
"""
import argparse
import sys

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--tol", type=float, default=None)
ap.add_argument("--bitwise", action="store_true")
ap.add_argument("--optimizer", action="store_true")
ap.add_argument("--attr", action="append", default=[])
args = ap.parse_args()

groups = ["conv1", "conv2", "conv3", "conv4", "conv5", "dense", "norm"] + (["optimizer"] if args.optimizer else [])
worst, worst_name, n_diff, n_total = 0.0, "", 0, 0
with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
    for g in groups:
        if g not in fa and g not in fb:
            continue
        for name in fa[g]:
            x = np.asarray(fa[g][name], dtype=np.float64)
            y = np.asarray(fb[g][name], dtype=np.float64)
            if x.shape != y.shape:
                print(f"{g}/{name}: shapes differ {x.shape} vs {y.shape}")
                sys.exit(1)
            n_total += x.size
            n_diff += int(np.count_nonzero(x != y))
            rms = max(float(np.sqrt(np.mean(x * x))), 1e-3)  # conv biases are ~0 (BN cancels them)
            d = float(np.max(np.abs(x - y))) / rms if x.size else 0.0
            if d > worst:
                worst, worst_name = d, f"{g}/{name}"
    for name in args.attr:
        print(f"{name}: {fa.attrs.get(name)} vs {fb.attrs.get(name)}")
    ca, cb = fa.attrs.get("checksum"), fb.attrs.get("checksum")
print(f"compare {args.a} {args.b}: {n_diff}/{n_total} values differ; worst max|a-b|/rms {worst:.3g}"
      f"{' in ' + worst_name if worst_name else ''}; checksums {ca!r} {cb!r}")
ok = True
if args.bitwise and (n_diff or ca != cb):
    ok = False
if args.tol is not None and worst > args.tol:
    ok = False
print("ok" if ok else "FAILED")
sys.exit(0 if ok else 1)
