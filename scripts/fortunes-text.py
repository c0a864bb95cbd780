#!/usr/bin/python3
"""fortunes-text.py - sentences for a voice's corpus from fortune(6) files.

usage: scripts/fortunes-text.py [options] LANG FILE... > sentences.txt

Reads fortune files (entries separated by lines of '%', e.g. Debian's
fortunes-cs in /usr/share/games/fortunes/cs/) and prints one "ID|sentence"
line per usable sentence, ids LANG_00001, LANG_00002, ... in a stable order
(the files as given, then their sentences in order; duplicates dropped).

A sentence is kept when it is between --min-chars and --max-chars long, has
no digits (the teacher and espeak-ng read numbers their own ways, which
would teach the model two readings), and every character is a letter of
--alphabet, a space or ordinary punctuation.  Attribution lines ("-- Name")
and lines of dialogue markup are dropped.

  --alphabet CHARS   letters allowed besides a-z and A-Z (default: Czech)
  --min-chars N      (default 12)
  --max-chars N      (default 150)
"""
import re
import sys

CZECH = "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ"


def entries(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        cur = []
        for line in f:
            line = line.rstrip("\n")
            if line.strip() == "%":
                if cur:
                    yield cur
                cur = []
            else:
                cur.append(line)
        if cur:
            yield cur


def main(argv):
    alphabet, minc, maxc, args = CZECH, 12, 150, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__)
            return 0
        if a in ("--alphabet", "--min-chars", "--max-chars") and i + 1 < len(argv):
            v = argv[i + 1]
            if a == "--alphabet":
                alphabet = v
            elif a == "--min-chars":
                minc = int(v)
            else:
                maxc = int(v)
            i += 2
            continue
        args.append(a)
        i += 1
    if len(args) < 2:
        print("usage: fortunes-text.py [options] LANG FILE...", file=sys.stderr)
        return 1
    lang, files = args[0], args[1:]
    ok = re.compile("^[a-zA-Z" + re.escape(alphabet) + r" ,.;:!?'\"()\-–—„“”‚‘’…]+$")
    split = re.compile(r"(?<=[.!?…])[\"”“]?\s+(?=[\"„“]?[A-Z" + re.escape(alphabet) + "])")
    seen, n = set(), 0
    for path in files:
        for e in entries(path):
            lines = [l for l in e if not re.match(r"^\s*(--|—|–)\s", l) and l.strip()]
            text = " ".join(l.strip() for l in lines)
            text = re.sub(r"\s+", " ", text).strip()
            for s in split.split(text):
                s = s.strip().strip("\"„“”")
                s = s.strip()
                if not (minc <= len(s) <= maxc) or not ok.match(s):
                    continue
                if s[-1] not in ".!?…":
                    continue
                if sum(c.isalpha() for c in s) < 0.7 * len(s):
                    continue
                key = s.lower()
                if key in seen:
                    continue
                seen.add(key)
                n += 1
                print("%s_%05d|%s" % (lang, n, s))
    print("fortunes-text: %d sentences" % n, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
