#!/usr/bin/env python3
"""corpus.py - the training corpus from Debian packages, cleaned and split (docs/QAT.md).

Sources (both public domain; docs/QAT.md names the packages and their licences):
  * King James Version, package bible-kjv-text, printed by `bible` (package bible-kjv).
  * World English Bible with Deuterocanon, package sword-text-web, printed by `diatheke`.

One document per chapter, one verse per line (poetry lines joined), documents separated by a
blank line. Curly quotes become straight ones; runs of spaces collapse. A chapter is held out
when crc32("book|chapter") % 20 == 0, with book names made the same in both translations, so
the held-out part never has a parallel translation in the training part (about 5 %).

usage: corpus.py OUTDIR     writes OUTDIR/train.txt, OUTDIR/heldout.txt and prints counts
"""

import os
import re
import subprocess
import sys
import zlib

ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}


def norm_book(b):
    b = b.strip()
    first, _, rest = b.partition(" ")
    if first in ROMAN and rest:
        b = ROMAN[first] + " " + rest
    if b == "Revelation of John":
        b = "Revelation"
    return b


def clean(s):
    s = s.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    s = s.replace("\u00a0", " ")
    return re.sub(r"\s+", " ", s).strip()


def run(cmd):
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("corpus.py: '%s' is not installed (tools/train/setup.sh installs it)" % cmd[0])
    except subprocess.CalledProcessError as e:
        sys.exit("corpus.py: %s failed: %s" % (" ".join(cmd), e.stderr.strip()[:200]))


def kjv():
    """[(book, chapter, [verses])] from `bible`: 'Genesis 1' headings, '  N text' verses."""
    out, cur = [], None
    for line in run(["bible", "-l0", "gen1:1-rev22:21"]).splitlines():
        m = re.match(r"^\s+\d+ (.*)$", line)
        if m and cur:
            cur[2].append(clean(m.group(1)))
            continue
        m = re.match(r"^(\S.*) (\d+)$", line)
        if m:
            cur = (norm_book(m.group(1)), int(m.group(2)), [])
            out.append(cur)
    return out


def web():
    """Same from diatheke's plain output: 'Book C:V: text', poetry continues on later lines."""
    text = run(["diatheke", "-b", "engWEB2015eb", "-f", "plain", "-k", "Genesis 1:1-Revelation 22:21"])
    out, cur, key = [], None, None
    for line in text.splitlines():
        if line.startswith("(engWEB2015eb)"):
            break
        m = re.match(r"^\s*(\S[^:]{0,40}?) (\d+):(\d+): ?(.*)$", line)
        if m:
            k = (norm_book(m.group(1)), int(m.group(2)))
            if k != key:
                key = k
                cur = (k[0], k[1], [])
                out.append(cur)
            cur[2].append(clean(m.group(4)))
        elif cur and line.strip():
            cur[2][-1] = clean(cur[2][-1] + " " + line)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    parts = {"train": [], "heldout": []}
    stats = {}
    for name, chapters in (("kjv", kjv()), ("web", web())):
        if len(chapters) < 1000:
            sys.exit("corpus.py: %s gave only %d chapters; is the package complete?" % (name, len(chapters)))
        for book, ch, verses in chapters:
            verses = [v for v in verses if v]
            if not verses:
                continue
            held = zlib.crc32(("%s|%d" % (book, ch)).encode()) % 20 == 0
            parts["heldout" if held else "train"].append("\n".join(verses))
        stats[name] = len(chapters)
    for part, docs in parts.items():
        path = os.path.join(outdir, part + ".txt")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("\n\n".join(docs) + "\n")
        os.replace(path + ".tmp", path)
        words = sum(len(d.split()) for d in docs)
        print("%s: %d chapters, %d words -> %s" % (part, len(docs), words, path))
    print("sources: " + ", ".join("%s %d chapters" % kv for kv in stats.items()))


if __name__ == "__main__":
    main()
