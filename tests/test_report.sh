#!/usr/bin/env bash
# test_report.sh - `artistnet report` end to end.
#  A. A real tiny run: two synthetic corpora (`synth`), two broken tracks added to the task list
#     (not audio; too short), `pipeline` at 2 ranks (mel, train 2 epochs, extract, lda, evaluate of
#     genre and mood) -> report. Then:
#     - libxml2 parses the page as HTML without a single complaint, and as XML; every embedded SVG
#       chart parses as XML;
#     - no external references: no http:/https:, src= and url( only data:, no @import, <script>,
#       <link>, links only to #anchors;
#     - headless Chromium renders it: the screenshot is non-blank (share of non-background pixels,
#       colour count) and the page text (--dump-dom) holds every section heading, every accuracy of
#       every results.json (per fold, mean ± std, 3 decimals) and the id and error text of every
#       failed row of every .h5 file (test_report_text.py).
#  B. A generated run folder (test_report_fixture.py features; real `lda` and `evaluate`) with a
#     per-rank count attribute and failure texts that need escaping (< & " and UTF-8): valid page,
#     "Per-rank load" chart, all texts present.
#  C. Missing pieces: an empty folder and a partial one (broken results.json) give "Not available"
#     notes and exit 0; a missing --run exits 2; an unwritable --out fails; 2 ranks write the same page.
# usage: test_report.sh [KEEP_DIR]   (KEEP_DIR: keep the run folders, pages and screenshot there)
set -u
fail=0 pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
# check CONDITION MESSAGE: both single-quoted, evaluated here (the condition first, so $? in it is the
# status of the command before `check`; the message only on failure)
check() { if eval "$1"; then ok; else bad "$(eval "echo \"$2\"")"; fi; }
finish() {
  echo "test_report: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit $?
}

: "${ARTISTNET:?}" "${ARTISTNET_SRC:?}" "${PYTHON3:=/usr/bin/python3}" "${MPIEXEC:=mpiexec}"
if [ $# -ge 1 ]; then work=$1; rm -rf "$work"; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
work=$(cd "$work" && pwd)
T=$ARTISTNET_SRC/tests

# validate PAGE NAME MIN_CHARTS: well-formed HTML and XML, SVG charts, no external references
validate() {
  local page=$1 name=$2 min=$3
  xmllint --html --noout "$page" >"$work/$name.xmllint-html.txt" 2>&1
  check '[ ! -s "$work/$name.xmllint-html.txt" ]' "$name: xmllint --html complains: \$(head -5 \"$work/$name.xmllint-html.txt\")"
  xmllint --noout "$page" >"$work/$name.xmllint-xml.txt" 2>&1
  check '[ $? = 0 ]' "$name: not well-formed XML: \$(head -5 \"$work/$name.xmllint-xml.txt\")"
  "$PYTHON3" - "$page" "$work/$name-charts" "$min" <<'EOF' >"$work/$name.svgs.txt" 2>&1
import base64, os, re, subprocess, sys
page = open(sys.argv[1], encoding="utf-8").read()
os.makedirs(sys.argv[2], exist_ok=True)
imgs = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]*)"', page)
bad = 0
for i, b in enumerate(imgs):
    p = "%s/chart%02d.svg" % (sys.argv[2], i)
    open(p, "wb").write(base64.b64decode(b))
    r = subprocess.run(["xmllint", "--noout", p], capture_output=True, text=True)
    if r.returncode or r.stderr:
        print("chart %d not well-formed: %s" % (i, r.stderr[:300]))
        bad += 1
print("%d charts" % len(imgs))
sys.exit(1 if bad or len(imgs) < int(sys.argv[3]) else 0)
EOF
  check '[ $? = 0 ]' "$name: embedded SVG charts (want >= $min, all well-formed): \$(tail -3 \"$work/$name.svgs.txt\")"
  check '! grep -Eiq "https?:" "$page"' "$name: http(s): in the page"
  check '! grep -Eiq "<script|@import|<link|<iframe|<object|<embed" "$page"' "$name: script/import/link/iframe in the page"
  check '! grep -Eio "src=\"[^\"]{0,12}" "$page" | grep -v "src=\"data:" | grep -q .' "$name: src= other than data:"
  # the long data: src first, never right before "/>" (libxml2 2.9.14's HTML parser misreads that "/" on
  # its 4,000-byte input boundary: report/page.c figure())
  check '! grep -Eo "<img [a-z]+=" "$page" | grep -v "<img src=" | grep -q .' "$name: an <img> whose first attribute is not src"
  check '! grep -Eio "url\([^)]{0,8}" "$page" | grep -v "url(data:" | grep -q .' "$name: url( other than data:"
  check '! grep -Eio "href=\"[^\"]{0,2}" "$page" | grep -v "href=\"#" | grep -q .' "$name: href= other than #anchor"
}

chrome() {
  local profile rc
  profile=$(mktemp -d)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions --user-data-dir="$profile" "$@" 2>"$work/chromium.err"
  rc=$?
  rm -rf "$profile"
  return $rc
}

headings=(--heading "At a glance" --heading "Training curves" --heading "Per-epoch log" --heading "Stage times and throughput"
  --heading "Task: genre" --heading "Task: mood" --heading "Accuracy per fold" --heading "Confusion matrices (all folds)"
  --heading "F1 per class (all folds)" --heading "LDA projection of the task clips" --heading "Failures" --heading "Run details")

# ---- A. a real tiny pipeline run ----
A=$work/a
mkdir -p "$A"
"$ARTISTNET" synth --out "$A/src" --artists 8 --songs 4 --seconds 6 --quiet &&
  "$ARTISTNET" synth --out "$A/task" --artists 12 --songs 3 --seconds 6 --genres 3 --artist-offset 100 --quiet &&
  "$ARTISTNET" synth --out "$A/short" --artists 1 --songs 1 --seconds 1 --artist-offset 900 --quiet
check '[ $? = 0 ]' 'synth failed'
printf 'this is not audio\n' >"$A/task/broken <&>.wav"
cp "$A/short/a0900/a0900_s00.wav" "$A/task/short.wav"
g=$(sed -n 2p "$A/task/tracks.tsv" | cut -f4) m=$(sed -n 2p "$A/task/tracks.tsv" | cut -f5)
printf 'broken <&>.wav\tbroken <&> \xc3\xa9\ta0998\t%s\t%s\nshort.wav\tshort-one\ta0999\t%s\t%s\n' "$g" "$m" "$g" "$m" >>"$A/task/tracks.tsv"
"$MPIEXEC" --oversubscribe -n 2 "$ARTISTNET" pipeline --train-list "$A/src/tracks.tsv" --task-list "$A/task/tracks.tsv" \
  --label-column genre,mood --out "$A/run" --epochs 2 --segments 2 >"$A/pipeline.out" 2>&1
check '[ $? = 0 ]' 'pipeline failed: $(tail -5 "$A/pipeline.out")'
"$ARTISTNET" report --run "$A/run" --out "$A/report.html" --title "Report test <&> run" >"$A/report.out" 2>&1
check '[ $? = 0 ] && [ -s "$A/report.html" ]' 'report exit status / empty output: $(cat "$A/report.out")'
validate "$A/report.html" a 12
check 'grep -q "Report test &lt;&amp;&gt; run" "$A/report.html"' 'title not escaped'

if command -v chromium >/dev/null; then
  chrome --screenshot="$work/report.png" --window-size=1200,3000 "file://$A/report.html" >/dev/null
  check '[ -s "$work/report.png" ]' 'no screenshot: $(tail -3 "$work/chromium.err")'
  if [ -s "$work/report.png" ]; then
    stats=$("$PYTHON3" "$T/test_report_png.py" stats "$work/report.png")
    check '[ $? = 0 ]' 'screenshot looks blank: $stats (width height ink-share colours)'
    echo "screenshot: $stats (width height ink-share colours)"
  fi
  chrome --dump-dom "file://$A/report.html" >"$A/dom.html"
  check '[ -s "$A/dom.html" ]' 'chromium --dump-dom gave nothing: $(tail -3 "$work/chromium.err")'
  "$PYTHON3" "$T/test_report_text.py" "$A/dom.html" "$A/run" "${headings[@]}" --heading "Report test <&> run" --failures \
    --min-figures 24 >"$A/text.txt" 2>&1
  check '[ $? = 0 ]' 'page text (Chromium): $(tail -6 "$A/text.txt")'
  head -1 "$A/text.txt"
else
  bad "chromium not installed (scripts/setup installs it)"
fi

# ---- B. generated run folder: per-rank counts, escaping ----
B=$work/b
mkdir -p "$B/run/eval/genre" "$B/run/eval/mood"
"$PYTHON3" "$T/test_report_fixture.py" "$B/run"
check '[ $? = 0 ]' 'fixture generator failed'
"$ARTISTNET" lda --features "$B/run/train_features.h5" --out "$B/run/lda.h5" --quiet || bad "lda failed"
for l in genre mood; do
  "$ARTISTNET" evaluate --features "$B/run/task_features.h5" --label-column $l --out "$B/run/eval/$l/dcnn" --quiet || bad "evaluate $l"
  "$ARTISTNET" evaluate --features "$B/run/task_features.h5" --lda "$B/run/lda.h5" --label-column $l \
    --out "$B/run/eval/$l/dcnn-lda" --quiet || bad "evaluate $l lda"
  "$ARTISTNET" evaluate --features "$B/run/task_baseline.h5" --label-column $l --out "$B/run/eval/$l/logmel-baseline" \
    --quiet || bad "evaluate $l baseline"
done
"$ARTISTNET" report --run "$B/run" --out "$B/report.html" --quiet
check '[ $? = 0 ]' 'report of the generated run failed'
validate "$B/report.html" b 13
"$PYTHON3" "$T/test_report_text.py" "$B/report.html" "$B/run" "${headings[@]}" --heading "Per-rank load" --failures \
  --min-figures 24 --text 'cannot decode <broken.ogg>: "unexpected end of file" & more' --text "task/Bj$(printf '\xc3\xb6')rk <demo>.ogg" \
  --text "imbalance (max / mean) = 1.025" >"$B/text.txt" 2>&1
check '[ $? = 0 ]' 'page text (generated run): $(tail -6 "$B/text.txt")'

# ---- C. missing pieces, exit codes, ranks ----
mkdir -p "$work/empty" "$work/partial/eval/genre/dcnn"
"$ARTISTNET" report --run "$work/empty" --quiet
check '[ $? = 0 ] && grep -q "Not available" "$work/empty/report.html"' 'empty run folder: no report or no Not-available note'
validate "$work/empty/report.html" empty 0
cp "$B/run/pipeline.tsv" "$B/run/curves.tsv" "$B/run/mels.h5" "$work/partial/"
printf '{"accuracy_mean": 0.5,' >"$work/partial/eval/genre/dcnn/results.json"
"$ARTISTNET" report --run "$work/partial" --out "$work/partial.html" --quiet
check '[ $? = 0 ]' 'partial run folder: report failed'
validate "$work/partial.html" partial 3
check 'grep -q "Problems reading the run folder" "$work/partial.html"' 'broken results.json not reported'
"$ARTISTNET" report --run "$work/nonexistent" --quiet 2>/dev/null
check '[ $? = 2 ]' 'missing --run should exit 2'
"$ARTISTNET" report --run "$B/run" --out "$work/nodir/x.html" --quiet 2>/dev/null
check '[ $? != 0 ]' 'unwritable --out should fail'
"$MPIEXEC" --oversubscribe -n 2 "$ARTISTNET" report --run "$B/run" --out "$work/r2.html" --quiet
check '[ $? = 0 ]' 'report at 2 ranks failed'
check 'diff <(grep -v "report written" "$B/report.html") <(grep -v "report written" "$work/r2.html") >/dev/null' '2-rank page differs'
finish
