#!/bin/bash
# test_featx_mpi.sh - `artistnet extract` / `export` on a mixed good/bad list:
#   * 1, 2 and 3 ranks -> bitwise identical /features, /segment_features, /status, /n_segments,
#     /errors (DCNN with a random model, and the log-mel baseline);
#   * every row equals the module-API recomputation (extract_track_segments + nn_forward_features
#     on the clip alone; failed rows: status 1, the API's message, NaN);
#   * --from-mels on a mels.h5 of the same segments gives bitwise the same features, and on the
#     mels.h5 of `artistnet mel` the same features within 1e-5;
#   * export: LIBSVM (labels -> sorted integers + .labels map) and TSV read back to the same floats,
#     failed rows skipped; h5py read-back of the features.h5 schema and attributes;
#   * bad usage / bad input -> exit 2.
set -u
CHECK=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
run() { "$@" || { echo "FAILED: $*" >&2; fail=1; }; }
expect() { # expect CODE cmd...: exit status must be CODE
    local want=$1; shift
    "$@" > "$T/out.txt" 2>&1; local got=$?
    if [ $got != $want ]; then echo "FAILED (exit $got, want $want): $*" >&2; cat "$T/out.txt" >&2; fail=1; fi
}
X="$ARTISTNET extract"

# corpus: 22,050 Hz WAV, 44,100 Hz MP3 (resampled), a 1-s clip (too short), a missing file, text as .wav
run "$ARTISTNET" synth --out "$T/a" --artists 3 --songs 2 --seconds 5 --genres 2 --quiet
run "$ARTISTNET" synth --out "$T/b" --artists 2 --songs 1 --seconds 4 --sr 44100 --format mp3 --artist-offset 10 --quiet
run "$ARTISTNET" synth --out "$T/c" --artists 1 --songs 1 --seconds 1 --artist-offset 20 --quiet
echo "this is not audio" > "$T/text.wav"
{
    head -1 "$T/a/tracks.tsv"
    tail -n +2 "$T/a/tracks.tsv" | head -3 | sed 's|^|a/|'
    echo -e "missing.wav\tmissing\ta9\tgenre00\thappy"
    tail -n +2 "$T/b/tracks.tsv" | sed 's|^|b/|'
    echo -e "text.wav\ttext\ta9\tgenre01\tsad"
    tail -n +2 "$T/a/tracks.tsv" | tail -3 | sed 's|^|a/|'
    tail -n +2 "$T/c/tracks.tsv" | sed 's|^|c/|'
} > "$T/mixed.tsv"
run "$CHECK" model "$T/model.h5" 7
run "$CHECK" batch "$T/model.h5"

O="--segments 2 --batch 8 --segment-features --quiet"
for np in 1 2 3; do
    run $MPIEXEC --oversubscribe -n $np $X --model "$T/model.h5" --list "$T/mixed.tsv" --out "$T/d$np.h5" $O
    run $MPIEXEC --oversubscribe -n $np $X --baseline --list "$T/mixed.tsv" --out "$T/b$np.h5" $O
done
for np in 2 3; do
    run "$CHECK" same "$T/d1.h5" "$T/d$np.h5"
    run "$CHECK" same "$T/b1.h5" "$T/b$np.h5"
done
# the decode prefetch threads (extract/prefetch.h) on, deeper, several of them (tracks finish out of
# order: taken in order), and on 2 ranks: the same bits
run $X --model "$T/model.h5" --list "$T/mixed.tsv" --out "$T/p1.h5" $O --prefetch 1 --decode-threads 1
run $X --model "$T/model.h5" --list "$T/mixed.tsv" --out "$T/p4.h5" $O --prefetch 2 --decode-threads 4
run $MPIEXEC --oversubscribe -n 2 $X --model "$T/model.h5" --list "$T/mixed.tsv" --out "$T/p2.h5" $O --prefetch 3 --decode-threads 2
run $X --baseline --list "$T/mixed.tsv" --out "$T/pb.h5" $O --prefetch 2 --decode-threads 3
run "$CHECK" same "$T/d1.h5" "$T/p1.h5"
run "$CHECK" same "$T/d1.h5" "$T/p4.h5"
run "$CHECK" same "$T/d1.h5" "$T/p2.h5"
run "$CHECK" same "$T/b1.h5" "$T/pb.h5"
run "$CHECK" api "$T/d1.h5" "$T/mixed.tsv" "$T/model.h5" 2 1e-5
run "$CHECK" api "$T/b1.h5" "$T/mixed.tsv" - 2 1e-6

# --from-mels: the same segments from a mels.h5 -> the same bits (messages of failed rows differ)
run "$CHECK" mels "$T/mixed.tsv" "$T/mels.h5" 2
run $MPIEXEC --oversubscribe -n 2 $X --model "$T/model.h5" --list "$T/mixed.tsv" --from-mels "$T/mels.h5" --out "$T/m2.h5" $O
run "$CHECK" same "$T/d1.h5" "$T/m2.h5" noerrors

# --from-mels on the mel job's own mels.h5 (its FFTW plan may differ by an ulp: compare within 1e-5)
if "$ARTISTNET" mel --help > /dev/null 2>&1; then
    run $MPIEXEC --oversubscribe -n 2 "$ARTISTNET" mel --list "$T/mixed.tsv" --out "$T/melj.h5" --segments 2 --quiet
    run $MPIEXEC --oversubscribe -n 3 $X --model "$T/model.h5" --list "$T/mixed.tsv" --from-mels "$T/melj.h5" --out "$T/mj.h5" $O
    run "$CHECK" api "$T/mj.h5" "$T/mixed.tsv" "$T/model.h5" 2 1e-5
fi

# export
run "$ARTISTNET" export --features "$T/d1.h5" --format libsvm --label-column genre --out "$T/d.svm"
run "$ARTISTNET" export --features "$T/d2.h5" --format tsv --out "$T/d.tsv"
run "$PYTHON3" - "$T" <<'PY'
import sys, h5py, numpy as np
T = sys.argv[1]
f = h5py.File(T + "/d1.h5", "r")
bad = []
def check(c, msg):
    if not c: bad.append(msg); print("FAILED:", msg, file=sys.stderr)
N = 11
# schema
want = {"ids": None, "artist": None, "genre": None, "mood": None, "features": (np.float32, (N, 256)),
        "segment_features": (np.float32, (N, 2, 256)), "n_segments": (np.int32, (N,)), "status": (np.int8, (N,)),
        "errors": None}
check(sorted(f.keys()) == sorted(want), "datasets %s" % sorted(f.keys()))
for k, v in want.items():
    if v: check(f[k].dtype == v[0] and f[k].shape == v[1], "%s: %s %s" % (k, f[k].dtype, f[k].shape))
    else: check(f[k].shape == (N,) and f[k].dtype.kind == "S", "%s: %s %s" % (k, f[k].dtype, f[k].shape))
a = f.attrs
for k in ("feature_kind", "model", "model_checksum", "version", "ranks", "command_line", "segments", "batch", "list_hash",
          "sr", "n_fft", "hop", "n_mels", "segment_frames", "fmin", "fmax", "spectrum", "mel_scale", "mel_norm",
          "log_compression", "norm_mean", "norm_std", "columns"):
    check(k in a, "attribute %s missing" % k)
check(a["feature_kind"] == b"dcnn" and a["ranks"] == 1 and a["segments"] == 2 and a["sr"] == 22050, "attribute values")
check(a["model_checksum"].startswith(b"fnv1a64:"), "model_checksum")
check(a["columns"] == b"artist\tgenre\tmood", "columns %r" % a["columns"])
check(h5py.File(T + "/b1.h5", "r").attrs["feature_kind"] == b"logmel-baseline", "baseline feature_kind")
check(h5py.File(T + "/d3.h5", "r").attrs["ranks"] == 3, "ranks attribute")
ids = [x.decode() for x in f["ids"][()]]
st, ns, err, X = f["status"][()], f["n_segments"][()], f["errors"][()], f["features"][()]
failed = {"missing", "text", ids[-1]}
for i, id_ in enumerate(ids):
    if id_ in failed:
        check(st[i] == 1 and ns[i] == 0 and err[i] != b"" and np.isnan(X[i]).all(), "failed row %s" % id_)
    else:
        check(st[i] == 0 and ns[i] >= 1 and err[i] == b"" and np.isfinite(X[i]).all(), "ok row %s: %s" % (id_, err[i]))
check(b"too short" in err[ids.index(ids[-1])], "too-short message: %r" % err[-1])
ok = st == 0
# LIBSVM round trip
genre = [x.decode() for x in f["genre"][()]]
names = sorted({genre[i] for i in range(N) if ok[i]})
lab = [l.split("\t") for l in open(T + "/d.svm.labels").read().splitlines()]
check(lab == [[str(i), n] for i, n in enumerate(names)], "label map %s" % lab)
rows = open(T + "/d.svm").read().splitlines()
check(len(rows) == ok.sum(), "libsvm rows %d, ok rows %d" % (len(rows), ok.sum()))
for line, i in zip(rows, np.flatnonzero(ok)):
    parts = line.split()
    x = np.zeros(256, np.float32)
    for p in parts[1:]:
        k, v = p.split(":"); x[int(k) - 1] = np.float32(v)
    check(int(parts[0]) == names.index(genre[i]), "libsvm label row %d" % i)
    check(np.array_equal(x, X[i]), "libsvm values row %d" % i)
# TSV round trip
lines = open(T + "/d.tsv").read().splitlines()
head = lines[0].split("\t")
check(head[:4] == ["id", "artist", "genre", "mood"] and head[4] == "f1" and len(head) == 260, "tsv header %s" % head[:6])
check(len(lines) - 1 == ok.sum(), "tsv rows")
for line, i in zip(lines[1:], np.flatnonzero(ok)):
    c = line.split("\t")
    check(c[0] == ids[i] and c[2] == genre[i], "tsv ids/columns row %d" % i)
    check(np.array_equal(np.array(c[4:], dtype=np.float32), X[i]), "tsv values row %d" % i)
print("h5py/export read-back: %d problems" % len(bad))
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] || fail=1

# bad usage / bad input -> 2
expect 2 $X --list "$T/mixed.tsv" --out "$T/x.h5"
expect 2 $X --baseline --model "$T/model.h5" --list "$T/mixed.tsv" --out "$T/x.h5"
expect 2 $X --baseline --list "$T/nolist.tsv" --out "$T/x.h5"
expect 2 $X --model "$T/mixed.tsv" --list "$T/mixed.tsv" --out "$T/x.h5"
expect 2 $X --model "$T/model.h5" --list "$T/mixed.tsv" --from-mels "$T/mels.h5" --segments 3 --out "$T/x.h5"
expect 2 $X --model "$T/model.h5" --list "$T/mixed.tsv" --out "$T/d1.h5" --resume --segments 3 --quiet
expect 2 $X --baseline --list "$T/a/tracks.tsv" --from-mels "$T/mels.h5" --segments 2 --out "$T/x.h5"
expect 2 "$ARTISTNET" export --features "$T/d1.h5" --format xml --out "$T/x.txt"
expect 2 "$ARTISTNET" export --features "$T/d1.h5" --label-column nope --out "$T/x.txt"
expect 2 "$ARTISTNET" export --features "$T/mixed.tsv" --out "$T/x.txt"
echo "test_featx_mpi: $([ $fail = 0 ] && echo 'all passed' || echo FAILED)"
exit $fail
