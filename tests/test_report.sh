#!/usr/bin/env bash
# test_report.sh - `artistnet report` end to end: builds a small run folder (fake features written by
# test_report_fixture.py, then the real `lda` and `evaluate` jobs), renders the report and checks
#  - libxml2 parses it as HTML without a single complaint, and as XML; every embedded SVG chart
#    parses as XML too;
#  - no external references: no http:/https:, no src= other than data:, no url( other than data:,
#    no @import, no <script>, links only to #anchors;
#  - headless Chromium renders it: the screenshot is non-blank (share of non-background pixels,
#    colour count), the page text (--dump-dom) holds every section title and every accuracy of
#    every results.json (per fold, mean, std) as printed with 3 decimals, and the escaped failure
#    messages;
#  - missing pieces: an empty folder and a folder with only pipeline.tsv give "Not available"
#    notes and exit 0; a missing --run is exit 2; at 2 ranks the report is the same.
# usage: test_report.sh [KEEP_DIR]   (KEEP_DIR: keep the run folder and screenshot there)
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

: "${ARTISTNET:?}" "${ARTISTNET_SRC:?}" "${PYTHON3:=/usr/bin/python3}"
if [ $# -ge 1 ]; then work=$1; rm -rf "$work"; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
run=$work/run
mkdir -p "$run/eval/genre" "$run/eval/mood"

# ---- the run folder ----
"$PYTHON3" "$ARTISTNET_SRC/tests/test_report_fixture.py" "$run" || { bad "fixture generator failed"; finish; }
"$ARTISTNET" lda --features "$run/train_features.h5" --out "$run/lda.h5" --dim 7 --quiet || bad "lda failed"
for l in genre mood; do
  "$ARTISTNET" evaluate --features "$run/task_features.h5" --label-column $l --out "$run/eval/$l/dcnn" --quiet || bad "evaluate $l dcnn"
  "$ARTISTNET" evaluate --features "$run/task_features.h5" --lda "$run/lda.h5" --label-column $l --out "$run/eval/$l/dcnn-lda" --quiet ||
    bad "evaluate $l dcnn-lda"
  "$ARTISTNET" evaluate --features "$run/task_baseline.h5" --label-column $l --out "$run/eval/$l/logmel-baseline" --quiet ||
    bad "evaluate $l baseline"
done

html=$work/report.html
"$ARTISTNET" report --run "$run" --out "$html" --title "Report test <&> run" >"$work/report.out" 2>&1
check '[ $? = 0 ] && [ -s "$html" ]' 'report exit status / empty output: $(cat "$work/report.out")'

# ---- well-formed HTML and XML ----
xmllint --html --noout "$html" >"$work/xmllint.html.txt" 2>&1
check '[ ! -s "$work/xmllint.html.txt" ]' 'xmllint --html complains: $(head -5 "$work/xmllint.html.txt")'
check 'xmllint --noout "$html" 2>"$work/xmllint.xml.txt"' 'not well-formed XML: $(head -5 "$work/xmllint.xml.txt")'
# every chart: a data:image/svg+xml;base64 image that is well-formed XML
"$PYTHON3" - "$html" "$work" <<'EOF' >"$work/svgs.txt" 2>&1
import base64, re, sys, subprocess
html = open(sys.argv[1], encoding="utf-8").read()
imgs = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]*)"', html)
bad = 0
for i, b in enumerate(imgs):
    svg = base64.b64decode(b)
    p = "%s/chart%02d.svg" % (sys.argv[2], i)
    open(p, "wb").write(svg)
    r = subprocess.run(["xmllint", "--noout", p], capture_output=True, text=True)
    if r.returncode or r.stderr:
        print("chart %d not well-formed: %s" % (i, r.stderr[:300])); bad += 1
print("charts", len(imgs))
sys.exit(1 if bad or len(imgs) < 12 else 0)
EOF
check '[ $? = 0 ]' 'embedded SVG charts: $(tail -3 "$work/svgs.txt")'

# ---- no external references ----
check '! grep -Eiq "https?:" "$html"' 'http(s): in the page'
check '! grep -Eiq "<script|@import|<link|<iframe|<object|<embed" "$html"' 'script/import/link/iframe in the page'
check '! grep -Eio "src=\"[^\"]{0,12}" "$html" | grep -v "src=\"data:" | grep -q .' 'src= other than data:'
check '! grep -Eio "url\([^)]{0,8}" "$html" | grep -v "url(data:" | grep -q .' 'url( other than data:'
check '! grep -Eio "href=\"[^\"]{0,2}" "$html" | grep -v "href=\"#" | grep -q .' 'href= other than #anchor'
check 'grep -q "Report test &lt;&amp;&gt; run" "$html"' 'title not escaped'

# ---- a real browser ----
if ! command -v chromium >/dev/null; then
  bad "chromium not installed (scripts/setup installs it)"
  finish
fi
chrome() {
  local profile
  profile=$(mktemp -d)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions --user-data-dir="$profile" "$@" 2>"$work/chromium.err"
  local rc=$?
  rm -rf "$profile"
  return $rc
}
shot=$work/report.png
chrome --screenshot="$shot" --window-size=1200,3000 "file://$html" >/dev/null
check '[ -s "$shot" ]' 'no screenshot: $(tail -3 "$work/chromium.err")'
if [ -s "$shot" ]; then
  stats=$("$PYTHON3" "$ARTISTNET_SRC/tests/test_report_png.py" stats "$shot")
  check '[ $? = 0 ]' 'screenshot looks blank: $stats (width height ink-share colours)'
  echo "screenshot: $stats (width height ink-share colours)"
fi
chrome --dump-dom "file://$html" >"$work/dom.html"
check '[ -s "$work/dom.html" ]' 'chromium --dump-dom gave nothing: $(tail -3 "$work/chromium.err")'
"$PYTHON3" - "$work/dom.html" "$run" <<'EOF' >"$work/dom.txt" 2>&1
import glob, html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<style.*?</style>", "", dom)))
text = re.sub(r"\s+", " ", text)
missing = []
heads = [html.unescape(re.sub(r"<[^>]+>", "", h)).strip() for h in re.findall(r"(?s)<h[123][^>]*>(.*?)</h[123]>", dom)]
for t in ["At a glance", "Training curves", "Stage times and throughput", "Task: genre", "Task: mood", "Accuracy per fold",
          "Confusion matrices (all folds)", "F1 per class (all folds)", "LDA projection of the task clips", "Failures",
          "Run details", "Per-rank load", "Per-epoch log", "Report test <&> run"]:
    if t not in heads:
        missing.append("heading " + t)
for t in ['cannot decode <broken.ogg>: "unexpected end of file" & more', "task/Bj\u00f6rk <demo>.ogg"]:
    if t not in text:
        missing.append(t)
n = 0
for p in sorted(glob.glob(sys.argv[2] + "/eval/*/*/results.json")):
    r = json.load(open(p))
    want = ["%.3f" % f["accuracy"] for f in r["per_fold"]]
    want.append("%.3f \u00b1 %.3f" % (r["accuracy_mean"], r["accuracy_std"]))
    for w in want:
        n += 1
        if w not in text:
            missing.append("%s (%s)" % (w, p))
print("checked %d accuracy figures" % n)
for m in missing:
    print("missing from the page text:", m)
sys.exit(1 if missing or n < 20 else 0)
EOF
check '[ $? = 0 ]' 'page text: $(tail -5 "$work/dom.txt")'

# ---- missing pieces ----
mkdir -p "$work/empty" "$work/partial"
"$ARTISTNET" report --run "$work/empty" --quiet
check '[ $? = 0 ] && grep -q "Not available" "$work/empty/report.html"' 'empty run folder: no report or no Not-available note'
check 'xmllint --html --noout "$work/empty/report.html" 2>&1 | grep -q . ; [ $? != 0 ]' 'empty-folder report not clean HTML'
cp "$run/pipeline.tsv" "$run/curves.tsv" "$work/partial/"
printf 'not json' >"$work/partial/bad.json"
mkdir -p "$work/partial/eval/genre/dcnn" && printf '{"accuracy_mean": 0.5,' >"$work/partial/eval/genre/dcnn/results.json"
cp "$run/mels.h5" "$work/partial/"
"$ARTISTNET" report --run "$work/partial" --out "$work/partial.html" --quiet
check '[ $? = 0 ] && xmllint --noout "$work/partial.html"' 'partial run folder'
check 'grep -q "Problems reading the run folder" "$work/partial.html"' 'broken results.json not reported'
"$ARTISTNET" report --run "$work/nonexistent" --quiet 2>/dev/null
check '[ $? = 2 ]' 'missing --run should exit 2'
"$ARTISTNET" report --run "$run" --out "$work/nodir/x.html" --quiet 2>/dev/null
check '[ $? != 0 ]' 'unwritable --out should fail'

# ---- 2 ranks: rank 0 writes the same page ----
if [ -n "${MPIEXEC:-}" ]; then
  "$MPIEXEC" --oversubscribe -n 2 "$ARTISTNET" report --run "$run" --out "$work/r2.html" --title "Report test <&> run" --quiet
  check '[ $? = 0 ]' 'report at 2 ranks'
  check 'diff <(grep -v "report written" "$html") <(grep -v "report written" "$work/r2.html") >/dev/null' '2-rank page differs'
fi
finish
