#!/usr/bin/env python3
"""test_report_fixture.py - writes a small fake pipeline run folder for the report test (the layout
of jobs/pipeline.c: pipeline.tsv, curves.tsv, mels.h5, model.h5, train_features.h5,
task_features.h5, task_baseline.h5). lda.h5 and eval/<label>/<set>/results.json are then made by
the real `artistnet lda` and `artistnet evaluate` (see test_report.sh), so the report reads what
the jobs really write. Deterministic (fixed seed); needs numpy and h5py only.

usage: test_report_fixture.py DIR
"""
import sys

import h5py
import numpy as np


def strings(f, name, values):
    enc = [v.encode("utf-8") for v in values]
    width = max(1, max(len(v) for v in enc))
    f.create_dataset(name, data=np.array(enc, dtype="S%d" % width))


def features_file(path, ids, cols, x, status, errors, kind):
    with h5py.File(path, "w") as f:
        strings(f, "ids", ids)
        for k, v in cols.items():
            strings(f, k, v)
        f.create_dataset("features", data=x.astype(np.float32))
        f.create_dataset("n_segments", data=np.where(status == 0, 10, 0).astype(np.int32))
        f.create_dataset("status", data=status.astype(np.int8))
        strings(f, "errors", errors)
        f.attrs["feature_kind"] = kind
        f.attrs["ranks"] = 2
        f.attrs["version"] = "0.1.0"
        f.attrs["command_line"] = "artistnet extract --list task.tsv --out %s" % path


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    d = 256

    # directions that carry genre and mood; artists (training and task) sit along them
    genres, moods = ["classical", "electronic", "rock & roll"], ["calm", "happy", "sad", "tense"]
    gdir, mdir = rng.normal(0, 1, (3, d)), rng.normal(0, 1, (4, d))

    # training clips: 8 artists, 20 clips each; one failed track
    n_art, per = 8, 20
    arts = np.arange(n_art)
    art_centres = 1.1 * gdir[arts % 3] + 0.9 * mdir[(arts * 7 + 1) % 4] + rng.normal(0, 0.5, (n_art, d))
    tr_art = np.repeat(np.arange(n_art), per)
    xt = art_centres[tr_art] + rng.normal(0, 0.8, (len(tr_art), d))
    st = np.zeros(len(tr_art), np.int8)
    st[5] = 1
    xt[5] = np.nan
    ids = ["train/a%02d_s%02d.wav" % (a, i % per) for i, a in enumerate(tr_art)]
    err = ["" for _ in ids]
    err[5] = "too short: 0.8 s, need one 129-frame segment (3.0 s)"
    features_file("%s/train_features.h5" % out, ids, {"artist": ["artist %d" % a for a in tr_art]}, xt, st, err, "dcnn")

    # task clips: 12 unseen artists x 6 clips, genre (3) and mood (4) follow the artist
    n_task_art, cpa = 12, 6
    ta = np.repeat(np.arange(n_task_art), cpa)
    g = ta % 3
    m = (ta * 7 + 1) % 4
    base = rng.normal(0, 1, (len(ta), d))
    x = 0.3 * gdir[g] + 0.26 * mdir[m] + base
    xb = 0.14 * gdir[g] + 0.12 * mdir[m] + rng.normal(0, 1, (len(ta), d))  # baseline: weaker signal
    status = np.zeros(len(ta), np.int8)
    errors = ["" for _ in ta]
    status[[3, 40]] = 1
    errors[3] = "cannot decode <broken.ogg>: \"unexpected end of file\" & more"
    errors[40] = "too short: 1.2 s (Bj\u00f6rk \u2013 demo)"
    x[[3, 40]] = np.nan
    xb[[3, 40]] = np.nan
    ids = ["task/t%03d.ogg" % i for i in range(len(ta))]
    ids[40] = "task/Bj\u00f6rk <demo>.ogg"
    cols = {
        "artist": ["task artist %d" % a for a in ta],
        "genre": [genres[i] for i in g],
        "mood": [moods[i] for i in m],
    }
    features_file("%s/task_features.h5" % out, ids, cols, x, status, errors, "dcnn")
    features_file("%s/task_baseline.h5" % out, ids, cols, xb, status, errors, "logmel-baseline")

    # mels.h5: the training tracks (tiny /mel), per-rank counts as a numeric array attribute
    with h5py.File("%s/mels.h5" % out, "w") as f:
        n = len(tr_art)
        strings(f, "ids", ["train/a%02d_s%02d.wav" % (a, i % per) for i, a in enumerate(tr_art)])
        strings(f, "artist", ["artist %d" % a for a in tr_art])
        f.create_dataset("mel", data=np.zeros((n, 1, 128, 4), np.float32))
        f.create_dataset("n_segments", data=np.where(st == 0, 10, 0).astype(np.int32))
        f.create_dataset("status", data=st)
        e = ["" for _ in range(n)]
        e[5] = "too short: 0.8 s, need one 129-frame segment (3.0 s)"
        strings(f, "errors", e)
        f.attrs["ranks"] = 2
        f.attrs["tracks_per_rank"] = np.array([82, 78], np.int64)
        f.attrs["command_line"] = "artistnet mel --list train.tsv --out mels.h5"

    with h5py.File("%s/model.h5" % out, "w") as f:
        f.attrs["n_classes"] = n_art
        f.attrs["train_epochs_run"] = 12
        f.attrs["test_accuracy"] = 0.512
        f.attrs["test_song_accuracy"] = 0.6875
        f.attrs["checksum"] = "fnv1a64:0123456789abcdef"

    # curves.tsv with the train job's columns
    with open("%s/curves.tsv" % out, "w") as f:
        f.write("epoch\tstep\tlr\ttrain_loss\ttrain_acc\tvalid_loss\tvalid_acc\tvalid_song_acc\tseconds\tsegments_per_s\tbest\n")
        for ep in range(1, 13):
            tl = 2.1 * np.exp(-ep / 4) + 0.25
            vl = 2.1 * np.exp(-ep / 5) + 0.45 + 0.01 * max(0, ep - 9)
            ta_ = 1 - 0.85 * np.exp(-ep / 3.5)
            va = 0.8 - 0.7 * np.exp(-ep / 4)
            f.write("%d\t%d\t%g\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.2f\t%.1f\t%d\n" % (
                ep, ep * 50, 0.01 * (0.5 if ep > 8 else 1), tl, ta_, vl, va, min(1, va + 0.08), 4.1, 1950 + 20 * (ep % 3),
                1 if ep <= 9 else 0))

    with open("%s/pipeline.tsv" % out, "w") as f:
        f.write("stage\tstatus\tseconds\n")
        for s, t in [("mel", 12.4), ("train", 49.2), ("extract-train", 3.1), ("extract-task", 4.4), ("lda", 0.2),
                     ("evaluate", 6.8)]:
            f.write("%s\tran\t%.3f\n" % (s, t))


if __name__ == "__main__":
    main()
