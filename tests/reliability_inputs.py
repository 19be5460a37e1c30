"""reliability_inputs.py - the job-level bad-input corpus of tests/test_reliability_inputs.sh
(Python standard library only; the synth clips DIR/c/* are made by `artistnet synth` first).

    reliability_inputs.py make DIR     write the corpus into DIR and DIR/list.tsv; columns:
                                       path, id, expect (ok | fail | any), reason
    reliability_inputs.py check LIST OUT.h5
                                       every row's /status matches `expect`, a failed row's
                                       /errors names its file, ok rows are finite, the 1-hour
                                       clip has K segments; prints one line per row
"""
import math
import os
import random
import struct
import sys
import wave


def tone_wav(path, rate, channels, seconds, hz=440, silent=False):
    """16-bit: one second of an integer-Hz tone (or silence), repeated"""
    amp = 0 if silent else 12000
    one = b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * hz * i / rate))) * channels for i in range(rate))
    n = int(rate * seconds) * 2 * channels
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        while n > 0:
            w.writeframes(one[:n])
            n -= len(one)


def long_wav(path, rate, seconds):
    """mono 16-bit: a repeated 1-s pattern (fast to write for an hour)"""
    sec = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 50 * i / rate))) for i in range(rate))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        for _ in range(seconds):
            w.writeframes(sec)


def flip_bits(src, dst, seed):
    data = bytearray(open(src, "rb").read())
    rng = random.Random(seed)
    for _ in range(max(8, len(data) // 1000)):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    for _ in range(4):  # and the header
        i = rng.randrange(min(64, len(data)))
        data[i] ^= 1 << rng.randrange(8)
    open(dst, "wb").write(bytes(data))


def make(d):
    rows = []  # (path, expect, reason)
    c = os.path.join(d, "c")
    clips = sorted(os.path.join(r, f) for r, _, fs in os.walk(c) for f in fs if f[-4:] in (".wav", "flac", ".ogg", ".mp3"))
    byext = {}
    for p in clips:
        byext.setdefault(os.path.splitext(p)[1], p)

    def add(name, expect, reason):
        rows.append((name, expect, reason))

    for ext, p in sorted(byext.items()):
        add(os.path.relpath(p, d), "ok", f"a good {ext[1:]} clip")
    tone_wav(os.path.join(d, "mono.wav"), 22050, 1, 5)
    add("mono.wav", "ok", "1 channel")
    tone_wav(os.path.join(d, "ch8.wav"), 44100, 8, 5)
    add("ch8.wav", "ok", "8 channels")
    tone_wav(os.path.join(d, "rate192k.wav"), 192000, 2, 3.5)
    add("rate192k.wav", "ok", "192 kHz")
    tone_wav(os.path.join(d, "rate768k.wav"), 768000, 1, 3.5)
    add("rate768k.wav", "ok", "768 kHz (the highest rate taken)")
    tone_wav(os.path.join(d, "silence.wav"), 44100, 2, 5, silent=True)
    add("silence.wav", "ok", "digital silence")
    os.makedirs(os.path.join(d, "a dir with spaces"), exist_ok=True)
    utf = os.path.join("a dir with spaces", "naïve ünïcödé 日本語 #1.wav")
    tone_wav(os.path.join(d, utf), 22050, 2, 5)
    add(utf, "ok", "spaces and UTF-8 in the path")
    for ext, to in ((".flac", "flac_named.wav"), (".ogg", "ogg_named.mp3"), (".wav", "wav_named.flac")):
        if ext in byext:
            open(os.path.join(d, to), "wb").write(open(byext[ext], "rb").read())
            add(to, "ok", f"{ext[1:]} content, wrong extension")
    long_wav(os.path.join(d, "hour.wav"), 1000, 3600)
    add("hour.wav", "ok", "1 hour (segments spread over it)")
    long_wav(os.path.join(d, "too_long.wav"), 1000, 3601)
    add("too_long.wav", "fail", "1 hour + 1 s (over the limit)")
    tone_wav(os.path.join(d, "rate1M.wav"), 1000000, 1, 1)
    add("rate1M.wav", "fail", "1 MHz sample rate")
    tone_wav(os.path.join(d, "rate_low.wav"), 800, 1, 5)
    add("rate_low.wav", "fail", "800 Hz sample rate")
    for i, (ext, p) in enumerate(sorted(byext.items())):
        name = f"flipped{ext}"
        flip_bits(p, os.path.join(d, name), 11 + i)
        add(name, "any", "bit flips (0.1% of bytes + header)")
        data = open(p, "rb").read()
        name = f"truncated{ext}"
        open(os.path.join(d, name), "wb").write(data[: len(data) // 2])
        add(name, "any" if ext == ".ogg" else "fail", "cut in half")
        name = f"empty{ext}"
        open(os.path.join(d, name), "wb").close()
        add(name, "fail", "empty file")
    open(os.path.join(d, "text.wav"), "w").write("not audio\n")
    add("text.wav", "fail", "text named .wav")
    os.symlink("loop_b.wav", os.path.join(d, "loop_a.wav"))
    os.symlink("loop_a.wav", os.path.join(d, "loop_b.wav"))
    add("loop_a.wav", "fail", "symlink loop")
    os.symlink("nowhere.wav", os.path.join(d, "dangling.wav"))
    add("dangling.wav", "fail", "dangling symlink")
    os.makedirs(os.path.join(d, "dir.wav"), exist_ok=True)
    add("dir.wav", "fail", "a directory")
    add("missing.wav", "fail", "no such file")
    with open(os.path.join(d, "list.tsv"), "w", encoding="utf-8") as f:
        f.write("path\tid\texpect\treason\n")
        for i, (p, e, r) in enumerate(rows):
            f.write(f"{p}\tr{i:02d}\t{e}\t{r}\n")
    print(f"{len(rows)} inputs in {d}/list.tsv")


def check(listpath, h5path):
    import h5py
    import numpy as np

    rows = [l.rstrip("\n").split("\t") for l in open(listpath, encoding="utf-8")][1:]
    bad = 0
    with h5py.File(h5path, "r") as f:
        status = f["status"][()]
        errors = [e.decode("utf-8", "replace") for e in f["errors"][()]]
        nseg = f["n_segments"][()]
        data = f["mel"] if "mel" in f else f["features"]
        for i, (path, _, expect, reason) in enumerate(rows):
            st = int(status[i])
            okay = {"ok": st == 0, "fail": st == 1, "any": st in (0, 1)}[expect]
            if st == 1 and os.path.basename(path) not in errors[i]:
                okay = False
            if st == 0:
                x = data[i][: max(1, int(nseg[i]))] if "mel" in f else data[i]
                if not np.all(np.isfinite(x)):
                    okay = False
            if path == "hour.wav" and st == 0 and int(nseg[i]) != int(f.attrs.get("segments", nseg[i])):
                okay = False
            what = "ok" if st == 0 else f"failed: {errors[i]}"
            print(f"  {'   ' if okay else 'BAD'} {reason:38s} {what[:110]}")
            bad += not okay
    print(f"{h5path}: {len(rows) - bad} of {len(rows)} inputs as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
