#!/usr/bin/python3
"""featx_reference.py - golden features for `artistnet extract` (jobs/extract.c), decode -> log-mel ->
normalise -> DCNN -> mean over segments, and the log-mel baseline, computed independently of the C code:

  * audio: three mono 22,050 Hz PCM-16 clips (3 s, 6 s, 9 s) from an INTEGER-ONLY formula (triangle
    chords with a decaying envelope plus hashed noise), so tests/test_featx_check.c regenerates them
    bit for bit without committing audio (`test_featx_check gen DIR`); the FNV-1a hash of each clip's
    PCM is stored and checked;
  * log-mel: mel_reference.log_mel (numpy float64 re-derivation of librosa's stft + Slaney mel);
  * segments: at most K = 2 per clip (the 3-s clip has 1 block, the 6-s clip 2 consecutive blocks, the
    9-s clip 3 blocks of which 2 are kept, spread: starts 0 and 259) - DESIGN.md "Segments";
  * net: the authors' Keras model (../shared/data/authors-model/model_siamese_10000.h5) evaluated by
    nn_reference.keras_numpy_features (independent channels-last float64 numpy forward with Keras
    semantics), cross-checked against nn_reference.keras_torch_features (PyTorch);
  * baseline: per band mean and population standard deviation over the kept segments' frames.

Writes tests/fixtures/featx/featx_golden.h5 (small; fixed-length strings so C reads them):
  attrs magic "artistnet-featx-reference", version 1, segments, sr;
  /ids (3,) S; /pcm_fnv int64 (3,) (FNV-1a 64 of the little-endian int16 samples, as int64 bits);
  /n_segments int32 (3,); /dcnn_features float32 (3, 256); /dcnn_segment_features float32 (3, 2, 256)
  (NaN beyond n_segments); /baseline_features, /baseline_segment_features likewise.
Run once with Debian's python3 (numpy, h5py, torch):  /usr/bin/python3 tests/reference/featx_reference.py
`--audio DIR` only writes the WAV files and list.tsv (numpy only), for looking at the clips.
"""
import os
import struct
import sys
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mel_reference import log_mel, mel_filterbank  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "featx", "featx_golden.h5")
KERAS = os.path.join(HERE, "..", "..", "..", "shared", "data", "authors-model", "model_siamese_10000.h5")
SR, SEG, K = 22050, 129, 2
CLIPS = [("c1", 3.0), ("c2", 6.0), ("c3", 9.0)]
PERIODS = [200, 178, 168, 150, 134, 126, 112, 100, 89, 84, 75, 67]  # samples (~110..330 Hz)
M32 = 0xFFFFFFFF


def clip_pcm(clip, n):
    """Integer-only formula; test_featx_check.c gen_clip() is the same code in C."""
    i = np.arange(n, dtype=np.int64)
    step = i // 11025  # a new chord every half second
    amp = 6000
    total = np.zeros(n, dtype=np.int64)
    for v in range(3):
        p = np.array(PERIODS, dtype=np.int64)[(step * 7 + clip * 3 + v * 4) % 12]
        ph = (i * (v + 1)) % p  # voice v at v+1 times the base frequency
        up = 4 * amp * ph // p
        total += np.where(2 * ph < p, up - amp, 3 * amp - up)
    env = 256 - (i % 11025) * 192 // 11025  # 256 -> 64 over each note
    u = (total + 3 * amp) * env // 256
    h = (i * 2654435761 + clip * 40503) & M32
    h ^= h >> 15
    h = (h * 2246822519) & M32
    h ^= h >> 13
    noise = (h >> 20) - 2048
    s = u - (3 * amp * env) // 256 + noise
    assert s.min() >= -32768 and s.max() <= 32767
    return s.astype("<i2")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def write_audio(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "list.tsv"), "w") as f:
        f.write("path\tid\tgenre\n")
        for c, (name, secs) in enumerate(CLIPS):
            pcm = clip_pcm(c, int(secs * SR))
            with wave.open(os.path.join(d, name + ".wav"), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(SR)
                w.writeframes(pcm.tobytes())
            f.write("%s.wav\t%s\tg%d\n" % (name, name, c % 2))


def segment_starts(n_frames, k):  # extract/segment.c
    nb = n_frames // SEG
    if nb <= k:
        return [i * SEG for i in range(nb)]
    span = n_frames - SEG
    return [span // 2] if k == 1 else [i * span // (k - 1) for i in range(k)]


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--audio":
        write_audio(sys.argv[2])
        return
    import h5py
    from nn_reference import keras_numpy_features, keras_torch_features

    fb = mel_filterbank()
    n = len(CLIPS)
    ids, fnv, nseg = [], [], []
    df = np.full((n, 256), np.nan, np.float32)
    dsf = np.full((n, K, 256), np.nan, np.float32)
    bf = np.full((n, 256), np.nan, np.float32)
    bsf = np.full((n, K, 256), np.nan, np.float32)
    worst = 0.0
    for c, (name, secs) in enumerate(CLIPS):
        pcm = clip_pcm(c, int(secs * SR))
        ids.append(name)
        fnv.append(np.array(fnv1a64(pcm.tobytes()), dtype=np.uint64).view(np.int64))
        x = pcm.astype(np.float64) / 32768.0  # libsndfile's PCM_16 -> float scaling
        m = log_mel(x, fb)  # (128, frames) float64
        starts = segment_starts(m.shape[1], K)
        segs = np.stack([m[:, s:s + SEG] for s in starts])  # (n_seg, 128, 129)
        nseg.append(len(starts))
        f, eps = keras_numpy_features(KERAS, segs)  # float64 forward, float32 out
        ft = keras_torch_features(KERAS, segs.astype(np.float32), eps)
        worst = max(worst, float(np.abs(f - ft).max() / np.abs(f).max()))
        dsf[c, :len(starts)] = f
        df[c] = f.astype(np.float64).mean(0)
        for k, s in enumerate(segs):
            bsf[c, k, :128], bsf[c, k, 128:] = s.mean(1), s.std(1)
        allf = np.concatenate(list(segs), axis=1)  # (128, n_seg * 129)
        bf[c, :128], bf[c, 128:] = allf.mean(1), allf.std(1)
    print("keras numpy vs torch: worst relative difference %.3g" % worst)
    assert worst < 1e-4
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT, "w") as f:
        f.attrs["magic"] = np.bytes_("artistnet-featx-reference")
        f.attrs["version"] = np.int64(1)
        f.attrs["segments"] = np.int64(K)
        f.attrs["sr"] = np.int64(SR)
        f["ids"] = np.array([s.encode() for s in ids], dtype=h5py.string_dtype("utf-8", 8))
        f["pcm_fnv"] = np.array(fnv, dtype=np.int64)
        f["n_segments"] = np.array(nseg, dtype=np.int32)
        f["dcnn_features"] = df
        f["dcnn_segment_features"] = dsf
        f["baseline_features"] = bf
        f["baseline_segment_features"] = bsf
    print("wrote", OUT, "n_segments", nseg)


if __name__ == "__main__":
    main()
