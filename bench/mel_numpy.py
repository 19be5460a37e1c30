#!/usr/bin/python3
"""mel_numpy.py - the numpy peer of bench/bench_mel.c: the authors' librosa-default log-mel of a 30-s
clip (reflect pad, periodic Hann 1024, hop 512, |rfft|, Slaney mel 128, log10(1 + 10 M)), written
lean (float32 strided frames, numpy rfft, one float32 mel matrix product; the filterbank built once,
outside the timed loop). Prints "numpy_ms_per_clip <ms>", then the time of the float64 golden-file
generator tests/reference/mel_reference.py as "reference_ms_per_clip <ms>". CPU time, one core
(run with OPENBLAS_NUM_THREADS=1, as CTest does).
usage: mel_numpy.py [clips]"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import mel_reference  # noqa: E402
from mel_reference import mel_filterbank  # noqa: E402

N_FFT, HOP = 1024, 512


def log_mel(y, fb, window):
    y = np.pad(y, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(y) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(y, (n_frames, N_FFT), (HOP * y.itemsize, y.itemsize))
    spec = np.abs(np.fft.rfft(frames * window, axis=1)).astype(np.float32).T
    return np.log10(1 + 10 * np.dot(fb, spec))


def main():
    clips = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rng = np.random.default_rng(1)
    y = (0.3 * rng.standard_normal(30 * 22050)).astype(np.float32)
    fb = mel_filterbank().astype(np.float32)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    log_mel(y, fb, window)  # warm up
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()  # CPU time, like bench_mel.c (the machine is shared)
        for _ in range(clips):
            log_mel(y, fb, window)
        best = min(best, (time.process_time() - t0) / clips)
    print("numpy_ms_per_clip %.3f" % (1e3 * best))
    # the golden-file generator itself (float64 throughout), for reference
    fb64 = mel_filterbank()
    t0 = time.process_time()
    for _ in range(max(1, clips // 4)):
        mel_reference.log_mel(y, fb64)
    print("reference_ms_per_clip %.3f" % (1e3 * (time.process_time() - t0) / max(1, clips // 4)))


if __name__ == "__main__":
    main()
