#!/bin/bash
# test_evaluate.sh - end-to-end checks of `artistnet evaluate` (and `lda` feeding it):
#  1. vs scikit-learn (tests/fixtures/reduce/svm_reference.json, same folds via --folds-file, same grid):
#     same chosen C/gamma per fold, same test accuracies and inner grid accuracies (1e-9), rbf + linear;
#  2. the seeded folds reproduce the committed folds.tsv; no artist on both sides of any outer or
#     inner split;
#  3. 1, 2, 3 ranks -> identical results.json (timing line removed), predictions.tsv, folds.tsv (the
#     final fits overlap the grid, drawn from the queue by whichever rank: any rank count gives the same);
#  4. --lda lda.h5 runs end to end; results.json names the LDA input and dimension; the summary has
#     the grid line, the stage table and the grid's balance line;
#  5. bad input -> exit 2 with a clear message: label column missing, empty labels, a class with
#     fewer rows than folds, all-NaN features, missing file, bad --grid / --kernel;
#  6. combined sets (issue 21), no Python: --features a.h5,b.h5 (b: rows in another order, ids missing,
#     an extra id, a failed row) matches rows by id and gives scikit-learn's per-fold C, gamma and
#     accuracy (1e-9) on the concatenation (tests/fixtures/reduce/svm_reference_combined.tsv), rbf and
#     linear, 1 and 2 ranks; --lda lda.h5, projects the first set only; a wrong --lda count or an LDA
#     given to a set of another dimension exits 2;
#  7. SIGTERM mid-grid on 2 ranks: exit 3 within seconds, a message to run it again, no results.json;
#  8. --bench-group (bench/scaling.sh's evaluate ceiling unit): mid on 1 and 2 ranks exits 0, prints
#     the bench line with the group's n_C x n_inner fits, writes nothing (not even into a given --out);
#     out-of-range and malformed values exit 2 naming the option and the range;
#  9. fits.tsv (every fit: rank, start, set-up and fit seconds, counts): one row per item, and the
#     counts give results.json's inner grid accuracies and test accuracies (1e-9: the JSON's 10 digits); --bench-replay of it on 1 and 3 ranks
#     exits 0 with the replay line (the same winners: a replay takes the recorded counts) and writes
#     only its own fits.tsv; --queue-thread off (on is the default) gives the same results; a truncated file, another grid's
#     file, a malformed row and --bench-group with it exit 2 naming the file (and line);
# 10. --speculate off gives the same results; a replay with one slow grid fit in fold 3: its final fit
#     runs speculatively on an idle rank, wins, and ends before that grid fit does;
# 11. a node's available memory (faked) holds 1 or 2 of 3 ranks' workspaces: that many run the grid,
#     a warning says so, the results are 1 rank's.
set -u
A=${ARTISTNET:?}; F=${ARTISTNET_FIXTURES:?}/reduce; PY=${PYTHON3:-/usr/bin/python3}; MPI=${MPIEXEC:-mpiexec}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
RBF="C=0.1,1,10,100;g=0.01,0.05,0.2"; LIN="C=0.001,0.01,0.1,1"

# 1. scikit-learn reference
for kern in rbf linear; do
  grid=$RBF; [ $kern = linear ] && grid=$LIN
  if $A evaluate --features $F/svm_features.h5 --label-column genre --folds-file $F/svm_folds.tsv \
       --kernel $kern --grid "$grid" --out $T/sk_$kern --quiet; then ok; else bad "evaluate $kern failed"; continue; fi
  if $PY - "$T/sk_$kern/results.json" "$F/svm_reference.json" $kern <<'PYEOF'
import json, sys
ours, ref, k = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))[sys.argv[3]], sys.argv[3]
bad = 0
for a, b in zip(ours["per_fold"], ref["per_fold"]):
    same = a["C"] == b["C"] and (k == "linear" or a["gamma"] == b["gamma"]) and abs(a["accuracy"] - b["accuracy"]) < 1e-9
    worst = max(abs(x - y) for x, y in zip(a["grid_inner_accuracy"], b["grid_inner_accuracy"]))
    print(f"{k} fold {a['fold']}: ours C={a['C']} g={a['gamma']} acc={a['accuracy']:.6f} | sklearn C={b['C']} g={b['gamma']} acc={b['accuracy']:.6f} | worst inner-score diff {worst:.2g}", file=sys.stderr)
    bad += (not same) or worst > 1e-9
sys.exit(1 if bad or len(ours["per_fold"]) != len(ref["per_fold"]) else 0)
PYEOF
  then ok; else bad "$kern differs from scikit-learn"; fi
done

# 2. seeded folds: reproduce the committed folds; artist filter on outer and inner splits
$A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid "$RBF" --out $T/run --quiet || bad "seeded run failed"
mv $T/run $T/r1
if cmp -s $T/r1/folds.tsv $F/svm_folds.tsv; then ok; else bad "seeded folds.tsv differs from the committed svm_folds.tsv"; fi
if $PY - "$T/r1/folds.tsv" <<'PYEOF'
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
K = max(int(r["fold"]) for r in rows)
def crossing(key, rs):
    seen = collections.defaultdict(set)
    for r in rs: seen[r["artist"]].add(key(r))
    return sum(len(v) > 1 for v in seen.values())
bad = crossing(lambda r: r["fold"], rows)
for q in range(1, K + 1):
    bad += crossing(lambda r: r[f"inner_{q}"], [r for r in rows if int(r["fold"]) != q])
labels = collections.Counter((r["label"], r["fold"]) for r in rows)
print("artists crossing a split:", bad, "| class x fold counts:", dict(sorted(labels.items())), file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
then ok; else bad "an artist is on both sides of a split"; fi

# 3. 1/2/3 ranks identical
for np in 2 3; do
  $MPI --oversubscribe -n $np $A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid "$RBF" --out $T/run --quiet \
    || bad "run on $np ranks failed"
  mv $T/run $T/r$np
  if diff <(grep -v '"timing"' $T/r1/results.json) <(grep -v '"timing"' $T/r$np/results.json) >/dev/null &&
     cmp -s $T/r1/predictions.tsv $T/r$np/predictions.tsv && cmp -s $T/r1/folds.tsv $T/r$np/folds.tsv; then ok
  else bad "results on $np ranks differ from 1 rank"; diff <(grep -v '"timing"' $T/r1/results.json) <(grep -v '"timing"' $T/r$np/results.json) | head >&2; fi
done

# 4. LDA (fitted on the artists) then SVM on genre
if $MPI --oversubscribe -n 2 $A lda --features $F/svm_features.h5 --label-column artist --out $T/lda.h5 --quiet &&
   $MPI --oversubscribe -n 2 $A evaluate --features $F/svm_features.h5 --lda $T/lda.h5 --label-column genre --kernel linear \
     --grid "$LIN" --out $T/withlda > $T/withlda.txt; then
  if grep -q '"dim": 16' $T/withlda/results.json && grep -q "(LDA)" $T/withlda.txt; then ok; else bad "--lda not recorded"; fi
  # the summary: the grid line, then the stage table (rank-seconds summed over ranks) and the balance line
  if grep -q "^grid [0-9.]* s, final fits [0-9.]* s on 2 ranks; wrote" $T/withlda.txt &&
     grep -q "^evaluate: time per stage, summed over ranks" $T/withlda.txt && grep -q "^  grid: fits " $T/withlda.txt &&
     grep -q "^  final: fits " $T/withlda.txt &&
     grep -q "^evaluate: grid busy per rank (kernel set-up + fits) min / mean / max .*; grid fits per rank" $T/withlda.txt
  then ok; else bad "summary: grid line, stage table or balance line missing"; cat $T/withlda.txt >&2; fi
else bad "lda + evaluate --lda failed"; fi

# 5. bad input -> exit 2 and a message
$PY - "$T" "$F/svm_features.h5" <<'PYEOF'
import h5py, numpy as np, sys, shutil
t, src = sys.argv[1], sys.argv[2]
def variant(name, edit):
    shutil.copy(src, f"{t}/{name}.h5")
    with h5py.File(f"{t}/{name}.h5", "a") as f: edit(f)
def few(f):  # one 'metal' row relabelled 'folk': a class with 1 member
    g = f["genre"][:]; g[0] = b"folk"; del f["genre"]; f["genre"] = g
def empty(f):
    g = f["genre"][:]; g[5] = b""; del f["genre"]; f["genre"] = g
def nan(f):
    f["features"][...] = np.nan
variant("few", few); variant("empty", empty); variant("nan", nan)
PYEOF
expect2() { # name, message pattern, command...
  local name=$1 pat=$2; shift 2
  "$@" > $T/out.txt 2> $T/err.txt; local rc=$?
  if [ $rc -eq 2 ] && grep -q -- "$pat" $T/err.txt; then ok; echo "ok: $name -> $(grep artistnet $T/err.txt)" >&2
  else bad "$name: exit $rc, stderr: $(cat $T/err.txt)"; fi
}
E="$A evaluate --out $T/badout --quiet"
expect2 "label column missing" "no column /mood" $E --features $F/svm_features.h5 --label-column mood
expect2 "empty label" "has no label" $E --features $T/empty.h5 --label-column genre
expect2 "class smaller than folds" "class 'folk'.*fewer than the 3 folds" $E --features $T/few.h5 --label-column genre
expect2 "all-NaN features" "non-finite" $E --features $T/nan.h5 --label-column genre
expect2 "missing file" "cannot open" $E --features $T/nope.h5
expect2 "bad grid" "grid" $E --features $F/svm_features.h5 --grid "C=abc"
expect2 "bad kernel" "kernel" $E --features $F/svm_features.h5 --kernel poly
expect2 "lda: label column missing" "no column /singer" $A lda --features $F/svm_features.h5 --label-column singer --out $T/x.h5
expect2 "lda: all-NaN features" "non-finite" $MPI --oversubscribe -n 2 $A lda --features $T/nan.h5 --out $T/x.h5

# 6. combined feature sets against scikit-learn (no Python: the reference is a TSV)
B=$F/svm_features_b.h5
for kern in rbf linear; do
  grid=$RBF; [ $kern = linear ] && grid=$LIN
  for np in 1 2; do
    if ! $MPI --oversubscribe -n $np $A evaluate --features $F/svm_features.h5,$B --label-column genre --folds-file $F/svm_folds.tsv \
         --kernel $kern --grid "$grid" --out $T/comb_${kern}_$np --quiet; then bad "combined $kern on $np ranks failed"; continue; fi
    # results.json per_fold -> "fold C gamma accuracy" lines (gamma "-" for the linear kernel)
    sed -n 's/.*"fold": \([0-9]*\), "n_train": [0-9]*, "n_test": [0-9]*, "accuracy": \([^,]*\), "C": \([^,]*\), "gamma": \([^,]*\),.*/\1 \3 \4 \2/p' \
      $T/comb_${kern}_$np/results.json | sed 's/ null / - /' > $T/ours.txt
    awk -F'\t' -v k=$kern 'NR > 1 && $1 == k { print $2, $3, $4, $5 }' $F/svm_reference_combined.tsv > $T/ref.txt
    if [ -s $T/ours.txt ] && awk 'NR == FNR { c[$1] = $2; g[$1] = $3; a[$1] = $4; n++; next }
           { m++; d = a[$1] - $4; if (d < 0) d = -d; bad += !($1 in c) || c[$1] != $2 || g[$1] != $3 || d > 1e-9 }
           END { exit (bad || n != m) }' $T/ours.txt $T/ref.txt; then ok
    else bad "combined $kern ($np ranks) differs from scikit-learn: ours $(tr '\n' ';' < $T/ours.txt) ref $(tr '\n' ';' < $T/ref.txt)"; fi
  done
  echo "ok: combined $kern = scikit-learn: $(tr '\n' ';' < $T/ours.txt)" >&2
done
if grep -q '"used": 175, "skipped_status": 2, "skipped_not_in_every_set": 3' $T/comb_rbf_1/results.json &&
   grep -q '"dim": 8, "lda": null' $T/comb_rbf_1/results.json; then ok; else bad "combined: rows or feature_sets not recorded"; fi
if [ -f $T/lda.h5 ] && $A evaluate --features $F/svm_features.h5,$B --lda $T/lda.h5, --label-column genre --kernel linear \
     --grid "$LIN" --out $T/comb_lda > $T/comb_lda.txt; then
  if grep -q '"path": "[^"]*svm_features.h5", "fnv1a64": "[0-9a-f]*", "dim": 16, "lda": {"path": "[^"]*lda.h5"' $T/comb_lda/results.json &&
     grep -q '"dim": 8, "lda": null' $T/comb_lda/results.json && grep -q "24-d (LDA)" $T/comb_lda.txt; then ok
  else bad "combined + --lda lda.h5, not recorded"; fi
else bad "combined + --lda lda.h5, failed"; fi
expect2 "one --lda for two sets" "1 entry for 2 feature sets" $E --features $F/svm_features.h5,$B --lda $T/lda.h5
expect2 "LDA on a set of another dimension" "LDA input dimension 16, .*svm_features_b.h5 has 8" $E --features $F/svm_features.h5,$B --lda ,$T/lda.h5
expect2 "missing second set" "nope.h5" $E --features $F/svm_features.h5,$T/nope.h5

# 7. SIGTERM mid-grid (as Slurm sends it at the time limit) on 2 ranks: the fits in hand end, every
# rank leaves the queue (pending per-fold sums completed), exit 3 within seconds with a message that
# says to run it again (evaluate has no --resume), nothing written; a run into the same --out works
if $PY ${ARTISTNET_SRC:?}/bench/bench_svm.py data $T/big.h5 1800 100 10; then
  GS=$(awk 'BEGIN{printf "%.10g,%.10g,%.10g,%.10g,%.10g", 0.0001, 0.001, 0.003, 0.01, 0.03}')
  $MPI --oversubscribe -n 2 $A evaluate --features $T/big.h5 --label-column genre --kernel rbf \
    --grid "C=0.1,1,10,100,1000,3000,10000;g=$GS" --folds 3 --out $T/intr >$T/intr.out 2>$T/intr.err &
  pid=$!
  for _ in $(seq 600); do grep -q "grid search: [1-9]" $T/intr.err && break; sleep 0.05; done
  t0=$(date +%s.%N)
  kill -TERM $(pgrep -P $pid) 2>/dev/null
  wait $pid; st=$?
  dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "evaluate SIGTERM mid-grid: exit $st after $dt s; $(tr '\r' '\n' < $T/intr.err | grep 'grid search' | tail -n 1)"
  if [ $st -eq 3 ] && awk -v d="$dt" 'BEGIN { exit !(d < 15) }'; then ok; else bad "SIGTERM mid-grid: exit $st after $dt s (want 3, < 15 s)"; fi
  if grep -q "interrupted before it finished; run it again" $T/intr.err && ! grep -q -- "--resume" $T/intr.err; then ok
  else bad "SIGTERM: message"; tail -n 3 $T/intr.err >&2; fi
  if [ ! -e $T/intr/results.json ]; then ok; else bad "SIGTERM: results.json written by an interrupted run"; fi
  if $A evaluate --features $T/big.h5 --label-column genre --kernel rbf --grid "C=1;g=0.01" --folds 3 --out $T/intr --quiet &&
     [ -s $T/intr/results.json ]; then ok; else bad "a run after the interrupted one"; fi
else bad "bench_svm.py data"; fi

# 8. --bench-group: the RBF grid's 3 folds x 3 gammas -> mid = group 4 (fold 2, gamma 0.05), 4 C x 3 inner = 12 fits
for np in 1 2; do
  rm -rf $T/bench
  if $MPI --oversubscribe -n $np $A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid "$RBF" \
       --bench-group mid --out $T/bench > $T/bench.txt 2> $T/bench.err; then ok; else bad "--bench-group mid on $np ranks failed: $(cat $T/bench.err)"; fi
  if grep -q "^evaluate: bench group 4 (outer fold 2, gamma 0.05): 12 fits in [0-9.]* s on $np ranks\{0,1\}, .*; nothing written$" $T/bench.txt &&
     grep -q "^evaluate: time per stage, summed over ranks" $T/bench.txt; then ok
  else bad "--bench-group mid on $np ranks: bench line or stage table"; cat $T/bench.txt >&2; fi
  if [ ! -e $T/bench ]; then ok; else bad "--bench-group on $np ranks wrote $T/bench: $(ls $T/bench)"; fi
done
if $A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid "$RBF" --bench-group 8 --quiet > $T/bench.txt &&
   [ ! -s $T/bench.txt ]; then ok; else bad "--bench-group 8 --quiet: not silent or failed"; fi
EB="$A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid $RBF --quiet"
expect2 "bench group out of range" "bench-group 9 is out of range: mid or 0..8 (3 outer folds x 3 gammas)" $EB --bench-group 9
expect2 "bench group malformed" "bench-group 'x2': expected mid or a group number in \[0, folds x gammas)" $EB --bench-group x2
expect2 "bench group negative" "bench-group '-1': expected mid" $EB --bench-group -1
expect2 "no --out without --bench-group" "out is required" $A evaluate --features $F/svm_features.h5 --quiet

# 9. fits.tsv and --bench-replay (4 C x 3 gamma x 3 inner x 3 folds = 108 grid fits + 3 final fits)
EV="$A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid $RBF --quiet"
rm -rf $T/fits
if $MPI --oversubscribe -n 2 $EV --out $T/fits --queue-thread off && [ -s $T/fits/fits.tsv ]; then ok; else bad "2 ranks with --queue-thread off: no fits.tsv"; fi
if diff <(grep -v '"timing"\|command_line' $T/r1/results.json) <(grep -v '"timing"\|command_line' $T/fits/results.json) > /dev/null &&
   cmp -s $T/r1/predictions.tsv $T/fits/predictions.tsv; then ok; else bad "--queue-thread off changed the results"; fi
if $PY - $T/fits/fits.tsv $T/fits/results.json <<'PYEOF'; then ok; else bad "fits.tsv does not add up to results.json"; fi
import csv, json, sys
rows = list(csv.DictReader((l for l in open(sys.argv[1]) if not l.startswith("#")), delimiter="\t"))
res = json.load(open(sys.argv[2]))
Cs, gs = res["grid"]["C"], res["grid"]["gamma"]
assert sorted(int(r["item"]) for r in rows) == list(range(111)), "items"
assert {r["rank"] for r in rows} <= {"0", "1"} and all(float(r["fit_s"]) >= 0 for r in rows), "ranks, seconds"
for f, pf in enumerate(res["per_fold"]):
    acc = [0.0] * (len(Cs) * len(gs))
    for r in rows:
        if r["kind"] == "grid" and int(r["fold"]) == f + 1:
            cell = Cs.index(min(Cs, key=lambda c: abs(c - float(r["C"])))) * len(gs) + gs.index(min(gs, key=lambda g: abs(g - float(r["gamma"]))))
            acc[cell] += int(r["correct"]) / int(r["evaluated"]) / 3
    assert all(abs(a - b) < 1e-9 for a, b in zip(acc, pf["grid_inner_accuracy"])), (f, acc, pf["grid_inner_accuracy"])
    fin = [r for r in rows if r["kind"] == "final" and int(r["fold"]) == f + 1]
    assert len(fin) == 1 and abs(int(fin[0]["correct"]) / int(fin[0]["evaluated"]) - pf["accuracy"]) < 1e-9, ("final", f)
    assert abs(float(fin[0]["C"]) - pf["C"]) < 1e-9 * pf["C"], ("final C", f)
PYEOF
for np in 1 3; do
  rm -rf $T/rp
  if $MPI --oversubscribe -n $np $A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid "$RBF" \
       --bench-replay $T/fits/fits.tsv --out $T/rp > $T/rp.txt 2> $T/rp.err &&
     grep -q "^evaluate: replay of $T/fits/fits.tsv (recorded on 2 ranks: 111 fits, .*) on $np ranks\{0,1\}: grid [0-9.]* s + final tail [0-9.]* s = [0-9.]* s; recorded work / (ranks x wall) [0-9.]*$" $T/rp.txt &&
     grep -q "^evaluate: grid busy per rank" $T/rp.txt && [ "$(ls $T/rp)" = fits.tsv ] && [ "$(grep -c '^[0-9]' $T/rp/fits.tsv)" = 111 ]
  then ok; else bad "--bench-replay on $np ranks"; cat $T/rp.txt $T/rp.err >&2; ls $T/rp >&2; fi
done
head -n 50 $T/fits/fits.tsv > $T/short.tsv
expect2 "replay of a truncated fits.tsv" "short.tsv: 48 fits, a run of this grid and folds has 111" $EV --bench-replay $T/short.tsv
expect2 "replay of another grid's fits.tsv" "fits.tsv:3: item 0 is not this run's grid fit" \
  $A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid "C=0.5,1,10,100;g=0.01,0.05,0.2" --quiet --bench-replay $T/fits/fits.tsv
awk -F'\t' -v OFS='\t' 'NR == 4 { $8 = "x" } { print }' $T/fits/fits.tsv > $T/badnum.tsv
expect2 "replay of a malformed row" "badnum.tsv:4: rank, seconds" $EV --bench-replay $T/badnum.tsv
expect2 "replay and bench group" "bench-group and --bench-replay exclude each other" $EV --bench-replay $T/fits/fits.tsv --bench-group mid
expect2 "replay of a missing file" "nope.tsv: No such file" $EV --bench-replay $T/nope.tsv
expect2 "--queue-thread neither on nor off" "queue-thread must be on or off, got 'yes'" $EV --out $T/qt --queue-thread yes

# 10. speculative final fits (--speculate, on by default: section 3 ran with it): off gives the same
#     results; a replay of section 9's run in which one grid fit of fold 3 (its worst cell's last inner
#     fold) lasts 2 s and every other fit 0.01 s: the ranks left idle run fold 3's leading cell's final
#     fit before that grid fit ends, it is the winner, and it stands as the fold's final fit
if $MPI --oversubscribe -n 3 $EV --out $T/nospec --speculate off &&
   diff <(grep -v '"timing"\|command_line' $T/r1/results.json) <(grep -v '"timing"\|command_line' $T/nospec/results.json) > /dev/null &&
   cmp -s $T/r1/predictions.tsv $T/nospec/predictions.tsv; then ok; else bad "--speculate off changed the results"; fi
slow=$($PY - $T/fits/fits.tsv $T/slow.tsv <<'PYEOF'
import csv, sys
lines = open(sys.argv[1]).read().splitlines()
head = [l for l in lines if l.startswith("#")]
rows = list(csv.DictReader([l for l in lines if not l.startswith("#")], delimiter="\t"))
cells = {}
for r in rows:
    if r["kind"] == "grid" and r["fold"] == "3":
        cells.setdefault((r["gamma"], r["C"]), []).append(r)
worst = min(cells, key=lambda k: sum(int(r["correct"]) / int(r["evaluated"]) for r in cells[k]))
long_fit = max(cells[worst], key=lambda r: int(r["inner"]))
for r in rows:
    r["setup_fold_s"] = r["setup_rows_s"] = "0"
    r["fit_s"] = "2.0" if r is long_fit else "0.01" if r["kind"] == "grid" else "0.3"
with open(sys.argv[2], "w") as f:
    f.write("\n".join(head) + "\n")
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), delimiter="\t", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
print(long_fit["item"])
PYEOF
)
rm -rf $T/sp
if [ -n "$slow" ] && $MPI --oversubscribe -n 3 $A evaluate --features $F/svm_features.h5 --label-column genre --seed 3 --grid "$RBF" \
     --bench-replay $T/slow.tsv --out $T/sp > $T/sp.txt 2> $T/sp.err &&
   grep -q "^evaluate: final fits: [0-9]* run as drawn, [1-9][0-9]* speculative of which [1-9][0-9]* won" $T/sp.txt &&
   $PY - $T/sp/fits.tsv "$slow" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader((l for l in open(sys.argv[1]) if not l.startswith("#")), delimiter="\t"))
end = lambda r: sum(float(r[k]) for k in ("start_s", "setup_fold_s", "setup_rows_s", "fit_s"))
slow = [r for r in rows if r["item"] == sys.argv[2]][0]
final3 = [r for r in rows if r["kind"] == "final" and r["fold"] == "3"]
assert len(final3) == 1 and len(rows) == 111, (len(final3), len(rows))
print(f"fold 3's final fit on rank {final3[0]['rank']} ended at {end(final3[0]):.2f} s, its slow grid fit (item {sys.argv[2]}, rank {slow['rank']}) at {end(slow):.2f} s", file=sys.stderr)
sys.exit(0 if end(final3[0]) < end(slow) else 1)
PYEOF
then ok; else bad "speculative final fit of fold 3 in a replay with a slow grid fit"; cat $T/sp.txt $T/sp.err >&2; fi
expect2 "--speculate neither on nor off" "speculate must be on or off, got 'yes'" $EV --out $T/qt --speculate yes

# 11. a node whose available memory holds fewer ranks' workspaces than it runs (the test hook fakes
#     MemAvailable): the grid runs on that many (1, then 2, of 3), the others wait, a warning says so,
#     and the results are those of 1 rank
for want in 1 2; do
  mb=0.000001
  if [ $want = 2 ]; then # 2.6 workspaces at 80%: room for 2
    mb=$(grep -o "workspace is [0-9.e+-]* MB" $T/mem1.err | awk '{printf "%.6f", $3 * 2.6 / 0.8}')
  fi
  rm -rf $T/mem
  if ARTISTNET_TEST_MEM_AVAILABLE_MB=$mb $MPI --oversubscribe -n 3 $A evaluate --features $F/svm_features.h5 --label-column genre \
       --seed 3 --grid "$RBF" --out $T/mem > $T/mem$want.out 2> $T/mem$want.err &&
     grep -q "^evaluate: warning: the SVM grid ran on $want of the 3 ranks: a rank's workspace is [0-9.e+-]* MB" $T/mem$want.err &&
     grep -q "grid fits per rank 0 \.\." $T/mem$want.out &&
     diff <(grep -v '"timing"\|command_line' $T/r1/results.json) <(grep -v '"timing"\|command_line' $T/mem/results.json) > /dev/null &&
     cmp -s $T/r1/predictions.tsv $T/mem/predictions.tsv
  then ok; else bad "memory for $want of 3 ranks' workspaces"; cat $T/mem$want.out $T/mem$want.err >&2; fi
done

echo "test_evaluate: $pass passed, $fail failed"
[ $fail -eq 0 ]
