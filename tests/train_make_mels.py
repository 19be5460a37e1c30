#!/usr/bin/python3
"""train_make_mels.py - a small mels.h5 (schema of DESIGN.md "Files") with artist structure, for the
`train` tests when the audio front end is not wanted: each artist has a spectral envelope and a
rhythm (a pulse period); a song is its artist's pattern with a song-specific transposition/gain
and noise, so segments of one artist look alike but no two are equal. Deterministic for a seed.

usage: train_make_mels.py OUT.h5 [--artists 20] [--songs 20] [--segments 3] [--failed 2] [--seed 1]
       [--split]   (adds a /split column: the first songs train, then valid, then test, 15/3/2-like)
"""
import argparse

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--artists", type=int, default=20)
ap.add_argument("--songs", type=int, default=20)
ap.add_argument("--segments", type=int, default=3)
ap.add_argument("--failed", type=int, default=2)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--noise", type=float, default=0.25)
ap.add_argument("--split", action="store_true")
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
B, T, K = 128, 129, a.segments
N = a.artists * a.songs
mel = np.zeros((N, K, B, T), np.float32)
nseg = np.zeros(N, np.int32)
status = np.zeros(N, np.int8)
ids, artists, splits, errors = [], [], [], []
bands = np.arange(B)[:, None]
frames = np.arange(T)[None, :]
for ai in range(a.artists):
    centre = rng.uniform(10, 118, size=3)
    width = rng.uniform(4, 16, size=3)
    env = sum(np.exp(-0.5 * ((bands - c) / w) ** 2) for c, w in zip(centre, width))
    period = rng.integers(6, 24)
    for si in range(a.songs):
        r = ai * a.songs + si
        ids.append(f"a{ai:03d}/s{si:03d}")
        artists.append(f"artist_{ai:03d}")
        splits.append("train" if si < a.songs * 0.75 else ("valid" if si < a.songs * 0.9 else "test"))
        shift = rng.integers(-3, 4)
        gain = rng.uniform(0.7, 1.3)
        phase = rng.integers(0, period)
        pulse = 0.5 + 0.5 * (((frames + phase) % period) < period // 3)
        song = gain * np.roll(env, shift, axis=0) * pulse
        for k in range(K):
            x = song + a.noise * rng.standard_normal((B, T))
            mel[r, k] = np.log10(1 + 10 * np.maximum(x, 0))
        nseg[r] = K
        errors.append("")
for i in range(min(a.failed, N)):  # failed rows: status 1, no segments
    r = (i * 7919) % N
    status[r] = 1
    nseg[r] = 0
    mel[r] = 0
    errors[r] = "too short"


def strings(f, name, vals):
    w = max(1, max(len(v.encode()) for v in vals))
    tid = h5py.h5t.C_S1.copy()  # fixed-length UTF-8, as the mel job writes them
    tid.set_size(w)
    tid.set_cset(h5py.h5t.CSET_UTF8)
    space = h5py.h5s.create_simple((len(vals),))
    ds = h5py.h5d.create(f.id, name.encode(), tid, space)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([v.encode() for v in vals], dtype=f"S{w}"), mtype=tid)


with h5py.File(a.out, "w") as f:
    strings(f, "ids", ids)
    strings(f, "artist", artists)
    if a.split:
        strings(f, "split", splits)
    f.create_dataset("mel", data=mel, chunks=(1, K, B, T))
    f.create_dataset("n_segments", data=nseg)
    f.create_dataset("status", data=status)
    strings(f, "errors", errors)
print(f"{a.out}: {N} rows, {a.artists} artists, {K} segments per row, {a.failed} failed")
