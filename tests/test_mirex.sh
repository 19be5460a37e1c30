#!/bin/bash
# test_mirex.sh - the MIREX train/test calling convention end to end through the wrappers in mirex/
# (extractFeatures.sh, Train.sh, Classify.sh -> artistnet mirex extract|train|classify), on a small
# synthetic genre task (8 artists x 6 songs x 6 s, 4 genres; songs 0-2 train, 3-5 test) with the
# authors' pretrained model imported into the scratch folder by the wrapper:
#  1. the three wrappers run at 2 ranks; a missing file in the extraction and test lists is recorded
#     as failed, not fatal, and gets the majority class (named on stderr);
#  2. output format: one line per test path, in the test list's order, path<TAB>label, every label a
#     training class; the scratch folder holds the documented files;
#  3. accuracy on genre above chance (0.25) by a margin: >= 11/24 (P < 2% by chance);
#  4. 1 rank (extract, train, classify all at 1 rank in a second scratch folder) -> identical output
#     and identical svm.model / train_grid.tsv;
#  5. --lda: applied by train and classify; features of two models in one scratch folder -> exit 2;
#  6. bad input -> exit 2 with file:line: a malformed training list (3 fields on line 3), a line
#     without a label, a train before any extract, classify before train; bad action -> exit 2.
set -u
A=${ARTISTNET:?}; SRC=${ARTISTNET_SRC:?}; M=$SRC/mirex
export ARTISTNET=$A ARTISTNET_MPI_FLAGS=--oversubscribe MPIEXEC=${MPIEXEC:-mpiexec}
unset ARTISTNET_MODEL ARTISTNET_LDA
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
finish() { echo "mirex_e2e: $pass passed, $fail failed"; [ $fail -eq 0 ]; exit $?; }

$A synth --out $T/corpus --artists 8 --songs 6 --genres 4 --seconds 6 --quiet || { bad "synth failed"; finish; }
C=$T/corpus
tail -n +2 $C/tracks.tsv | awk -F'\t' -v C=$C '{print C "/" $1}' > $T/extract.txt
tail -n +2 $C/tracks.tsv | awk -F'\t' -v C=$C '$1 ~ /_s0[012]\./ {print C "/" $1 "\t" $4}' > $T/train.txt
tail -n +2 $C/tracks.tsv | awk -F'\t' -v C=$C '$1 ~ /_s0[345]\./ {print C "/" $1 "\t" $4}' > $T/truth.txt
# the missing file sits in the middle of the extraction and test lists
sed -i "10a $C/missing/nothere.wav" $T/extract.txt
cut -f1 $T/truth.txt | sed "5a $C/missing/nothere.wav" > $T/test.txt
check "[ \$(wc -l < $T/extract.txt) -eq 49 ] && [ \$(wc -l < $T/train.txt) -eq 24 ] && [ \$(wc -l < $T/test.txt) -eq 25 ]" "lists"

# 1. the wrappers, 2 ranks
S=$T/scratch
ARTISTNET_RANKS=2 $M/extractFeatures.sh $S $T/extract.txt --quiet 2> $T/x.err; check "[ $? -eq 0 ]" "extractFeatures.sh failed: $(cat $T/x.err)"
check "grep -q 'failed: $C/missing/nothere.wav' $T/x.err" "extract does not name the missing file"
ARTISTNET_RANKS=2 $M/Train.sh $S $T/train.txt > $T/t.out 2> $T/t.err; check "[ $? -eq 0 ]" "Train.sh failed: $(cat $T/t.err)"
ARTISTNET_RANKS=2 $M/Classify.sh $S $T/test.txt $T/out.txt > $T/c.out 2> $T/c.err; check "[ $? -eq 0 ]" "Classify.sh failed: $(cat $T/c.err)"
check "grep -q 'nothere.wav: extraction failed, majority class' $T/c.err" "classify does not report the file without features"
check "grep -q '24 predicted, 1 without features' $T/c.out" "classify summary: $(cat $T/c.out)"
cat $T/t.out $T/c.out

# 2. format and scratch folder
check "[ -f $T/out.txt ] && [ \$(wc -l < $T/out.txt) -eq 25 ]" "output has $(wc -l < $T/out.txt 2>/dev/null) lines, want 25"
check "cmp -s <(cut -f1 $T/out.txt) $T/test.txt" "output paths differ from the test list (order or content)"
check "awk -F'\t' 'NF != 2 || \$2 == \"\" {exit 1}' $T/out.txt" "a line is not path<TAB>label"
check "awk -F'\t' 'NR==FNR {k[\$2]=1; next} !(\$2 in k) {exit 1}' $T/train.txt $T/out.txt" "a predicted label is not a training class"
for f in extract.tsv authors.h5 svm.model svm_model.h5 train_grid.tsv train_rows.tsv; do
  check "[ -s $S/$f ]" "scratch folder lacks $f"
done
check "[ \$(ls $S/features-*.h5 | wc -l) -eq 1 ] && [ \$(ls $S/extract-*.tsv | wc -l) -eq 1 ]" "features / extraction list files"
check "[ \$(awk -F'\t' '\$4 == 1' $S/train_grid.tsv | wc -l) -eq 1 ]" "train_grid.tsv: one chosen cell"

# 3. accuracy above chance
correct=$(awk -F'\t' 'NR==FNR {t[$1]=$2; next} ($1 in t) && t[$1] == $2 {c++} END {print c+0}' $T/truth.txt $T/out.txt)
echo "genre accuracy: $correct/24 (chance 6/24)"
check "[ $correct -ge 11 ]" "genre accuracy $correct/24 < 11/24"

# 4. one rank: identical
S1=$T/scratch1
ARTISTNET_RANKS=1 $M/extractFeatures.sh $S1 $T/extract.txt --quiet 2>/dev/null && ARTISTNET_RANKS=1 $M/Train.sh $S1 $T/train.txt --quiet &&
  ARTISTNET_RANKS=1 $M/Classify.sh $S1 $T/test.txt $T/out1.txt --quiet 2>/dev/null
check "[ $? -eq 0 ]" "1-rank run failed"
check "cmp -s $T/out.txt $T/out1.txt" "1 rank and 2 ranks predict differently"
check "cmp -s $S/svm.model $S1/svm.model && cmp -s $S/train_grid.tsv $S1/train_grid.tsv" "1 rank and 2 ranks fit different models"

# 4b. an interrupted extraction resumes: killed (SIGKILL) after its first round of 2 groups, then
#     extractFeatures.sh ... --resume -> the same predictions and SVM as the uninterrupted 1-rank run
SR=$T/scratch_resume
RX="--quiet --round 2"
ARTISTNET_FAULT_AFTER_ROUNDS=1:9 ARTISTNET_MODEL=$S1/authors.h5 ARTISTNET_RANKS=1 $M/extractFeatures.sh $SR $T/extract.txt $RX >/dev/null 2>&1
check "[ $? -ne 0 ] && [ ! -e $SR/extract.tsv ] && [ -s $SR/features-*.h5 ]" "the killed extraction: no manifest line, a features file"
ARTISTNET_MODEL=$S1/authors.h5 ARTISTNET_RANKS=1 $M/extractFeatures.sh $SR $T/extract.txt --round 2 --resume 2>$T/r.err >$T/r.out &&
  ARTISTNET_RANKS=1 $M/Train.sh $SR $T/train.txt --quiet && ARTISTNET_RANKS=1 $M/Classify.sh $SR $T/test.txt $T/outr.txt --quiet 2>/dev/null
check "[ $? -eq 0 ]" "resumed extraction, train, classify: $(cat $T/r.err)"
check "cmp -s $T/out1.txt $T/outr.txt && cmp -s $S1/svm.model $SR/svm.model" "resumed extraction predicts differently from an uninterrupted one"
check "cat $T/r.out $T/r.err | grep -q 'tracks processed .* (resumed) of 49'" "the second run did not resume: $(cat $T/r.out $T/r.err | grep processed)"
# --resume on a finished extraction keeps it; on the same list with other options it is refused
ARTISTNET_MODEL=$S1/authors.h5 ARTISTNET_RANKS=1 $M/extractFeatures.sh $SR $T/extract.txt $RX --resume >/dev/null 2>&1
check "[ $? -eq 0 ]" "--resume of a finished extraction"
ARTISTNET_MODEL=$S1/authors.h5 ARTISTNET_RANKS=1 $M/extractFeatures.sh $SR $T/extract.txt $RX --resume --segments 3 >/dev/null 2>$T/e5; rc=$?
check "[ $rc -eq 2 ] && grep -q 'cannot resume' $T/e5" "--resume with other --segments: exit $rc, $(cat $T/e5)"

# 5. --lda (ARTISTNET_LDA): an LDA fitted on artist labels (features of the corpus' tracks.tsv) is
#    copied into the scratch folder, applied by train (recorded in svm_model.h5) and classify
$A extract --model $S/authors.h5 --list $C/tracks.tsv --out $T/f.h5 --quiet && $A lda --features $T/f.h5 --out $T/lda.h5 --label-column artist --quiet
check "[ $? -eq 0 ]" "extract + lda for the LDA variant failed"
SL=$T/scratch_lda
ARTISTNET_MODEL=$S/authors.h5 ARTISTNET_LDA=$T/lda.h5 $M/extractFeatures.sh $SL $T/extract.txt --quiet 2>/dev/null &&
  $M/Train.sh $SL $T/train.txt > $T/tl.out && $M/Classify.sh $SL $T/test.txt $T/outl.txt --quiet 2>/dev/null
check "[ $? -eq 0 ] && grep -q '7-d (LDA)' $T/tl.out && cmp -s <(cut -f1 $T/outl.txt) $T/test.txt" "LDA variant: $(cat $T/tl.out)"
# features of another model in the same scratch folder are refused
ARTISTNET_MODEL=baseline $M/extractFeatures.sh $SL $T/test.txt --quiet 2>/dev/null
$M/Train.sh $SL $T/train.txt > /dev/null 2> $T/e0; rc=$?
check "[ $rc -eq 2 ] && grep -q 'extract.tsv:3: features of another model' $T/e0" "mixed models: exit $rc, $(head -1 $T/e0)"

# 6. bad input
sed '3s/$/\textra/' $T/train.txt > $T/bad_train.txt
ARTISTNET_RANKS=2 $M/Train.sh $S $T/bad_train.txt > /dev/null 2> $T/e1; rc=$?
check "[ $rc -eq 2 ] && grep -q 'bad_train.txt:3' $T/e1" "malformed train list: exit $rc, $(cat $T/e1)"
cut -f1 $T/train.txt > $T/nolabel.txt
$A mirex train --scratch $S --list $T/nolabel.txt > /dev/null 2> $T/e2; rc=$?
check "[ $rc -eq 2 ] && grep -q 'nolabel.txt:1: a training list needs path<TAB>label' $T/e2" "train list without labels: exit $rc, $(cat $T/e2)"
$A mirex train --scratch $T/empty --list $T/train.txt > /dev/null 2> $T/e3; rc=$?
check "[ $rc -eq 2 ] && grep -q 'extract.tsv' $T/e3" "train before extract: exit $rc, $(cat $T/e3)"
mkdir -p $T/only; cp $S/extract.tsv $T/only/
$A mirex classify --scratch $T/only --list $T/test.txt --out $T/o.txt > /dev/null 2> $T/e4; rc=$?
check "[ $rc -eq 2 ] && grep -q 'svm_model.h5' $T/e4" "classify before train: exit $rc, $(cat $T/e4)"
$A mirex frobnicate > /dev/null 2>&1; check "[ $? -eq 2 ]" "unknown action"
$A mirex train --help > /dev/null; check "[ $? -eq 0 ]" "mirex train --help"
finish
