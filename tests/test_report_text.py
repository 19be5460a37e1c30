#!/usr/bin/env python3
"""test_report_text.py - checks the text of a rendered report page (Chromium's --dump-dom output, or
the HTML file itself) against its run folder:
  - every --heading H is the text of an <h1>/<h2>/<h3>;
  - every accuracy of every RUN/eval/<label>/<set>/results.json appears as the report prints it:
    each fold's accuracy with 3 decimals and "mean ± std";
  - with --failures: the id and the error text of every row with status != 0 in RUN/*.h5;
  - every --text T appears.
Prints what is missing and exits 1 if anything is.

usage: test_report_text.py PAGE RUN [--heading H]... [--text T]... [--failures] [--min-figures N]
"""
import argparse
import glob
import html
import json
import re
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("run")
    ap.add_argument("--heading", action="append", default=[])
    ap.add_argument("--text", action="append", default=[])
    ap.add_argument("--failures", action="store_true")
    ap.add_argument("--min-figures", type=int, default=1)
    a = ap.parse_args()

    dom = open(a.page, encoding="utf-8").read()
    dom = re.sub(r"(?s)<style.*?</style>", "", dom)
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))
    heads = {re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", h))).strip()
             for h in re.findall(r"(?s)<h[123][^>]*>(.*?)</h[123]>", dom)}
    missing = ["heading '%s'" % h for h in a.heading if h not in heads]
    missing += ["text '%s'" % t for t in a.text if re.sub(r"\s+", " ", t) not in text]

    figures = 0
    for p in sorted(glob.glob(a.run + "/eval/*/*/results.json")):
        r = json.load(open(p))
        want = ["%.3f" % f["accuracy"] for f in r["per_fold"]]
        want.append("%.3f \u00b1 %.3f" % (r["accuracy_mean"], r["accuracy_std"]))
        for w in want:
            figures += 1
            if w not in text:
                missing.append("'%s' (%s)" % (w, p))
    if figures < a.min_figures:
        missing.append("only %d accuracy figures in %s/eval (want >= %d)" % (figures, a.run, a.min_figures))

    failures = 0
    if a.failures:
        for p in sorted(glob.glob(a.run + "/*.h5")):
            with h5py.File(p, "r") as f:
                if "status" not in f:
                    continue
                st = f["status"][:]
                bad = np.nonzero(st != 0)[0]
                for i in bad:
                    failures += 1
                    for name in ("ids", "errors"):
                        if name in f:
                            v = f[name][i]
                            v = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                            v = re.sub(r"\s+", " ", v).strip()
                            if v and v not in text:
                                missing.append("%s[%d] '%s' (%s)" % (name, i, v, p))
        if failures == 0:
            missing.append("--failures: no failed rows in %s/*.h5 to check" % a.run)

    print("checked %d headings, %d accuracy figures, %d failed rows, %d texts" % (len(a.heading), figures, failures,
                                                                                  len(a.text)))
    for m in missing:
        print("missing from the page:", m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
