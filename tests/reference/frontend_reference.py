#!/usr/bin/python3
"""frontend_reference.py - golden features of the authors' front end on 44.1 and 48 kHz stereo audio
(issue 21), for tests/test_frontend_reference.sh: what the authors' code computed, librosa.load(path,
sr=22050) as it was in 2017-2018 (< 0.10), i.e. float32 samples, mono = mean of the channels,
resampy.resample(..., filter='kaiser_best'), then their log-mel and net:

  * audio: four stereo PCM-16 clips, two at 44,100 Hz and two at 48,000 Hz (3.5 s and 7 s), each
    channel the INTEGER-ONLY formula of featx_reference.clip_pcm with its own clip number (triangle
    chords, whose harmonics alias all over the band, plus hashed white noise: content up to
    Nyquist), so tests/test_featx_check.c (`gen-rs`) regenerates them bit for bit (FNV-1a of the
    interleaved PCM checked) and no audio is committed;
  * resampling: python3-resampy 0.4.2 (Debian), kaiser_best, float64;
  * log-mel: mel_reference.log_mel; segments: at most K = 2 (featx_reference.segment_starts);
  * net: the authors' Keras model by nn_reference.keras_numpy_features (float64 numpy, Keras
    semantics), cross-checked against keras_torch_features (PyTorch); clip feature = segment mean.

Writes tests/fixtures/frontend/frontend_golden.h5: attrs magic "artistnet-frontend-reference",
version 1, segments, resampler "resampy 0.4.2 kaiser_best"; /ids (4,) S; /sr int32 (4,) input rate;
/pcm_fnv int64 (4,); /n_samples int64 (4,) resampled length; /n_segments int32 (4,);
/dcnn_features float32 (4, 256).
Run once with Debian's python3 (numpy, h5py, torch, resampy): /usr/bin/python3 tests/reference/frontend_reference.py

`--corpus LIST.tsv FEAT.h5 [FEAT.h5 ...] [--limit N]` checks features.h5 files of real recordings
instead (issue 21's target; not a test: audio is not committed): the reference clip features (the
authors' loading: python3-soundfile float32, channel mean, resampy kaiser_best, at most 10 segments
spread as extract/segment.c does) of up to N clips of the list (evenly spaced, default all), and the
cosine of each file's row of the same id; prints per file the worst, the percentiles and the clips
below 0.999.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from featx_reference import KERAS, K, SEG, clip_pcm, fnv1a64, segment_starts  # noqa: E402
from mel_reference import log_mel, mel_filterbank  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "frontend", "frontend_golden.h5")
# id, input rate, formula clip of the left and right channel, seconds (test_featx_check.c rs_clips)
CLIPS = [("s44a", 44100, 0, 1, 3.5), ("s44b", 44100, 2, 3, 7.0),
         ("s48a", 48000, 4, 5, 3.5), ("s48b", 48000, 6, 7, 7.0)]


def stereo_pcm(left, right, n):
    return np.stack([clip_pcm(left, n), clip_pcm(right, n)], 1)  # (n, 2) interleaved


def main():
    import h5py
    import resampy
    from nn_reference import keras_numpy_features, keras_torch_features

    fb = mel_filterbank()
    ids, srs, fnv, nsamp, nseg, feats = [], [], [], [], [], []
    worst = 0.0
    for name, sr, left, right, secs in CLIPS:
        pcm = stereo_pcm(left, right, int(secs * sr))
        ids.append(name)
        srs.append(sr)
        fnv.append(np.array(fnv1a64(pcm.tobytes()), dtype=np.uint64).view(np.int64))
        x = pcm.astype(np.float32) / np.float32(32768.0)  # libsndfile PCM_16 -> float
        mono = x.mean(1, dtype=np.float32)  # librosa.to_mono
        y = resampy.resample(mono.astype(np.float64), sr, 22050, filter="kaiser_best")
        nsamp.append(len(y))
        m = log_mel(y, fb)
        starts = segment_starts(m.shape[1], K)
        segs = np.stack([m[:, s:s + SEG] for s in starts])
        nseg.append(len(starts))
        f, eps = keras_numpy_features(KERAS, segs)
        ft = keras_torch_features(KERAS, segs.astype(np.float32), eps)
        worst = max(worst, float(np.abs(f - ft).max() / np.abs(f).max()))
        feats.append(f.astype(np.float64).mean(0))
        print("%s: %d Hz -> %d samples, %d segments" % (name, sr, len(y), len(starts)))
    print("keras numpy vs torch: worst relative difference %.3g" % worst)
    assert worst < 1e-4
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT, "w") as f:
        f.attrs["magic"] = np.bytes_("artistnet-frontend-reference")
        f.attrs["version"] = np.int64(1)
        f.attrs["segments"] = np.int64(K)
        f.attrs["resampler"] = np.bytes_("resampy %s kaiser_best" % resampy.__version__)
        f["ids"] = np.array([s.encode() for s in ids], dtype=h5py.string_dtype("utf-8", 8))
        f["sr"] = np.array(srs, dtype=np.int32)
        f["pcm_fnv"] = np.array(fnv, dtype=np.int64)
        f["n_samples"] = np.array(nsamp, dtype=np.int64)
        f["n_segments"] = np.array(nseg, dtype=np.int32)
        f["dcnn_features"] = np.array(feats, dtype=np.float32)
    print("wrote", OUT)


def corpus(argv):
    import h5py
    import resampy
    import soundfile
    from nn_reference import keras_torch_features

    limit = None
    if "--limit" in argv:
        i = argv.index("--limit")
        limit = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    lst, feats = argv[0], argv[1:]
    rows = [l.rstrip("\n").split("\t") for l in open(lst, encoding="utf-8") if l.strip() and not l.startswith("#")]
    head, rows = rows[0], rows[1:]
    cp, ci = head.index("path"), head.index("id") if "id" in head else head.index("path")
    if limit and limit < len(rows):
        rows = [rows[i * len(rows) // limit] for i in range(limit)]
    files = []
    for p in feats:
        f = h5py.File(p, "r")
        files.append((p, {s.decode(): r for r, s in enumerate(f["ids"][:])}, f["features"][:], f["status"][:],
                      f.attrs.get("resampler", b"?")))
    fb = mel_filterbank()
    cos = [[] for _ in files]
    rates = {}
    for n, row in enumerate(rows):
        path = os.path.join(os.path.dirname(os.path.abspath(lst)), row[cp])
        x, sr = soundfile.read(path, dtype="float32", always_2d=True)
        rates[sr] = rates.get(sr, 0) + 1
        mono = x.mean(1, dtype=np.float32)
        y = resampy.resample(mono.astype(np.float64), sr, 22050, filter="kaiser_best") if sr != 22050 else mono.astype(np.float64)
        m = log_mel(y, fb)
        starts = segment_starts(m.shape[1], 10)
        if not starts:
            continue
        segs = np.stack([m[:, s:s + SEG] for s in starts]).astype(np.float32)
        ref = keras_torch_features(KERAS, segs, 1e-3).astype(np.float64).mean(0)
        for k, (p, idx, F, st, rs) in enumerate(files):
            r = idx.get(row[ci])
            if r is None or st[r] != 0:
                continue
            v = F[r].astype(np.float64)
            cos[k].append((float(v @ ref / np.linalg.norm(v) / np.linalg.norm(ref)), row[ci]))
        if (n + 1) % 50 == 0:
            print("  %d/%d clips" % (n + 1, len(rows)), file=sys.stderr)
    print("%d clips, input rates %s" % (len(rows), rates))
    for (p, _, _, _, rs), c in zip(files, cos):
        v = np.array([a for a, _ in c])
        below = sorted(c)[:5]
        print("%s (resampler %s): %d clips, cosine worst %.6f, 1%% %.6f, median %.6f; below 0.999: %d%s" % (
            p, rs.decode() if isinstance(rs, bytes) else rs, len(v), v.min(), np.percentile(v, 1), np.median(v),
            int((v < 0.999).sum()), "; worst: " + ", ".join("%s %.4f" % (i, a) for a, i in below)))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--corpus":
        corpus(sys.argv[2:])
    else:
        main()
