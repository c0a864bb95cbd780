#!/usr/bin/python3
"""eval-text.py - how well text normalization reads written forms: ours
against espeak-ng's and flite's own, on the cases of tests/data/normalize.tsv.

usage: scripts/eval-text.py [--table FILE] [--tool PATH] [--cases]
  --table   the table of cases (default tests/data/normalize.tsv): class,
            input, expected reading, and "todo" for known weaknesses
  --tool    our normalizer as a filter (default build/tests/tool_normalize;
            make eval-text builds it)
  --cases   also list every case some system reads wrongly

The row "(held out)" scores only the cases after the table's "# Held out"
comment, written blind after the rules.

Each system is judged on the phonemes it produces for the raw input against
the phonemes of the expected reading, spoken by the same system:
  ours       espeak-ng IPA of our normalized text  vs  espeak-ng IPA of the expected text
  espeak-ng  espeak-ng IPA of the raw input        vs  espeak-ng IPA of the expected text
  flite      flite's phones of the raw input       vs  flite's phones of the expected text
so a system is never blamed for its own pronunciation of a word, only for
reading the written form differently.  Stress marks, pauses and word
boundaries are ignored.  "right" is the share of cases whose phonemes match
exactly; "PER" the phoneme error rate (edit distance / reference length,
over all cases of the row).  Cases marked todo count like the others.
Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import os
import subprocess
import sys
from collections import OrderedDict

ESPEAK = ["espeak-ng", "-q", "--ipa", "-v", "en-us", "--stdin"]


def read_table(path):
    cases = []
    held = False  # after the "# Held out" comment: cases written blind
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("# Held out"):
                held = True
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) not in (3, 4):
                sys.exit("%s:%d: expected class TAB input TAB expected [TAB todo]" % (path, ln))
            cases.append({"cls": fields[0], "input": fields[1], "expected": fields[2],
                          "todo": len(fields) == 4 and fields[3] == "todo", "held": held})
    return cases


def normalize_all(tool, texts):
    out = subprocess.run([tool], input="\n".join(texts) + "\n", capture_output=True,
                         text=True, check=True).stdout.split("\n")
    if len(out) < len(texts):
        sys.exit("eval-text: %s gave %d lines for %d inputs" % (tool, len(out), len(texts)))
    return out[:len(texts)]


_cache = {}


def espeak_phones(text):
    """espeak-ng's IPA as a list of code points, without stress or spaces."""
    key = ("espeak", text)
    if key not in _cache:
        ipa = subprocess.run(ESPEAK, input=text, capture_output=True, text=True).stdout
        _cache[key] = [c for c in ipa if not c.isspace() and c not in "ˈˌ"]
    return _cache[key]


def flite_phones(text):
    """flite's phones (-ps), without the pauses."""
    key = ("flite", text)
    if key not in _cache:
        ps = subprocess.run(["flite", "-t", text, "-ps", "-o", "none"], capture_output=True,
                            text=True).stdout
        _cache[key] = [p for p in ps.split() if p != "pau"]
    return _cache[key]


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


class Score:
    def __init__(self):
        self.n = self.right = self.errors = self.length = 0

    def add(self, hyp, ref):
        self.n += 1
        self.right += hyp == ref
        self.errors += edit_distance(hyp, ref)
        self.length += max(len(ref), 1)

    def cell(self):
        if not self.n:
            return "%13s" % "-"
        return "%5.1f %% %5.1f" % (100.0 * self.right / self.n, 100.0 * self.errors / self.length)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", default="tests/data/normalize.tsv")
    ap.add_argument("--tool", default="build/tests/tool_normalize")
    ap.add_argument("--cases", action="store_true")
    args = ap.parse_args()
    if not os.access(args.tool, os.X_OK):
        sys.exit("eval-text: %s is missing (make build/tests/tool_normalize)" % args.tool)
    cases = read_table(args.table)
    ours_text = normalize_all(args.tool, [c["input"] for c in cases])
    systems = ("ours", "espeak-ng", "flite")
    by_class = OrderedDict()
    total = {s: Score() for s in systems}
    held = {s: Score() for s in systems}
    wrong = []
    for c, ours in zip(cases, ours_text):
        ref_e = espeak_phones(c["expected"])
        ref_f = flite_phones(c["expected"])
        hyp = {"ours": (espeak_phones(ours), ref_e),
               "espeak-ng": (espeak_phones(c["input"]), ref_e),
               "flite": (flite_phones(c["input"]), ref_f)}
        row = by_class.setdefault(c["cls"], {s: Score() for s in systems})
        bad = []
        for s in systems:
            row[s].add(*hyp[s])
            total[s].add(*hyp[s])
            if c["held"]:
                held[s].add(*hyp[s])
            if hyp[s][0] != hyp[s][1]:
                bad.append(s)
        if bad:
            wrong.append((c, ours, bad))
    print("Text normalization: phonemes of each system's reading of the raw input against")
    print("those of the expected reading (%s, %d cases; right = exact match, PER = phoneme"
          % (args.table, len(cases)))
    print("error rate, both in %)")
    print()
    print("%-14s %5s   %13s   %13s   %13s" % ("class", "cases", "ours", "espeak-ng", "flite"))
    print("%-14s %5s   %13s   %13s   %13s" % ("", "", "right   PER", "right   PER",
                                              "right   PER"))
    for cls, row in by_class.items():
        print("%-14s %5d   %s   %s   %s" % (cls, row["ours"].n, row["ours"].cell(),
                                          row["espeak-ng"].cell(), row["flite"].cell()))
    print("%-14s %5d   %s   %s   %s" % ("all", total["ours"].n, total["ours"].cell(),
                                      total["espeak-ng"].cell(), total["flite"].cell()))
    if held["ours"].n:
        print("%-14s %5d   %s   %s   %s" % ("(held out)", held["ours"].n, held["ours"].cell(),
                                          held["espeak-ng"].cell(), held["flite"].cell()))
    n_todo = sum(c["todo"] for c in cases)
    print()
    print("%d of the cases are known weaknesses of ours (marked todo in the table)." % n_todo)
    if args.cases:
        print()
        for c, ours, bad in wrong:
            print("%-12s %-40s wrong: %s%s" % (c["cls"], c["input"], ", ".join(bad),
                                              "  (todo)" if c["todo"] else ""))
            if "ours" in bad:
                print("%12s ours: %s" % ("", ours))
                print("%12s want: %s" % ("", c["expected"]))


if __name__ == "__main__":
    main()
