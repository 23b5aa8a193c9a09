#!/usr/bin/env python3
"""Accuracy and speed of `needlecheck text classify` on a public ConText set.

The reference set is the ConText test kit published with genConText by
Chapman's group (Harkema et al., J Biomed Inform 2009;42(5):839-51):
2,376 sentences from de-identified clinical reports, each with a phrase and
its negation (Affirmed/Negated), temporality (Recent/Historical/Not
particular = hypothetical) and experiencer (Patient/Other/Family member)
labels: github.com/chapmanbe/negex @ d136b972b5d214959807ad5de1881a3225541fe7,
genConText/rsAnnotations-1-120-random.txt. The repository states no licence
for that file, so it is not copied into ours: pass its path, or let the
script download it from the pinned commit.

    tests/bench/context_benchmark.py --needlecheck build/test/tools/cli/needlecheck \
        [--annotations rsAnnotations-1-120-random.txt] [--errors]

Prints per-label accuracy, precision/recall/F1 of "negated", and sentences
per second of one `needlecheck text classify --tsv` run (process start and
knowledge-base load included).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

URL = ("https://raw.githubusercontent.com/chapmanbe/negex/"
       "d136b972b5d214959807ad5de1881a3225541fe7/"
       "genConText/rsAnnotations-1-120-random.txt")

NEGATION = {"affirmed": "affirmed", "negated": "negated",
            "possible": "possible"}
TEMPORALITY = {"recent": "recent", "historical": "historical",
               "not particular": "hypothetical", "hypothetical": "hypothetical"}
EXPERIENCER = {"patient": "patient", "other": "other",
               "family member": "other"}


def load(path):
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 7:
                continue
            _, _, phrase, sentence, neg, temp, exp = parts[:7]
            rows.append((phrase, sentence.replace("\t", " "),
                         NEGATION[neg.strip().lower()],
                         TEMPORALITY[temp.strip().lower()],
                         EXPERIENCER[exp.strip().lower()]))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--needlecheck", required=True)
    ap.add_argument("--annotations")
    ap.add_argument("--knowledge_base")
    ap.add_argument("--errors", action="store_true",
                    help="print every misclassified sentence")
    args = ap.parse_args()

    path = args.annotations
    tmp = tempfile.mkdtemp(prefix="context_bench_")
    if path is None:
        path = os.path.join(tmp, "rsAnnotations-1-120-random.txt")
        urllib.request.urlretrieve(URL, path)
    rows = load(path)
    tsv = os.path.join(tmp, "input.tsv")
    with open(tsv, "w", encoding="utf-8") as f:
        for phrase, sentence, *_ in rows:
            f.write(f"{phrase}\t{sentence}\n")
    cmd = [args.needlecheck, "text", "classify", "--tsv", tsv]
    if args.knowledge_base:
        cmd += ["--knowledge_base", args.knowledge_base]
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    lines = out.stdout.splitlines()
    if len(lines) != len(rows):
        sys.exit(f"expected {len(rows)} lines, got {len(lines)}: {out.stderr}")
    got = [json.loads(l) for l in lines]

    n = len(rows)
    not_found = sum(1 for g in got if not g.get("found"))
    print(f"sentences: {n} (phrase not found: {not_found})")
    for i, (name, key) in enumerate(
            [("negation", "negation"), ("temporality", "temporality"),
             ("experiencer", "experiencer")]):
        ok = sum(1 for r, g in zip(rows, got) if r[2 + i] == g.get(key))
        print(f"{name:12s} accuracy {ok / n:.4f} ({ok}/{n})")
    tp = sum(1 for r, g in zip(rows, got)
             if r[2] == "negated" and g.get("negation") == "negated")
    fp = sum(1 for r, g in zip(rows, got)
             if r[2] != "negated" and g.get("negation") == "negated")
    fn = sum(1 for r, g in zip(rows, got)
             if r[2] == "negated" and g.get("negation") != "negated")
    p = tp / (tp + fp) if tp + fp else 0.0
    r_ = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r_ / (p + r_) if p + r_ else 0.0
    print(f"negated      precision {p:.4f} recall {r_:.4f} F1 {f1:.4f}")
    print(f"speed        {n / elapsed:.0f} sentences/s "
          f"({elapsed:.3f} s for one run, start-up included)")
    if args.errors:
        for r, g in zip(rows, got):
            want = (r[2], r[3], r[4])
            have = (g.get("negation"), g.get("temporality"),
                    g.get("experiencer"))
            if want != have:
                print(f"want {want} got {have}: [{r[0]}] {r[1][:300]}")


if __name__ == "__main__":
    main()
