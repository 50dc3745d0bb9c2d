#!/usr/bin/python3
"""compare.py - runs `pippa tokenize MODEL TEXT --parse-special --no-bos --json` for every
string and compares the ids with the reference ids; prints FAIL lines for mismatches and the
number of matches. Exit status 1 on any mismatch.

usage: compare.py PIPPA MODEL.gguf strings.json ref.json
"""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def run(pippa, model, s):
    p = subprocess.run([pippa, "tokenize", model, s, "--parse-special", "--no-bos", "--json"],
                       capture_output=True)
    if p.returncode != 0:
        return None, p.stderr.decode("utf-8", "replace").strip()
    return json.loads(p.stdout)["ids"], ""


def main():
    pippa, model, sfile, rfile = sys.argv[1:5]
    strings = json.load(open(sfile, encoding="utf-8"))
    ref = json.load(open(rfile, encoding="utf-8"))
    assert len(strings) == len(ref)
    with ThreadPoolExecutor(max_workers=4) as ex:
        got = list(ex.map(lambda s: run(pippa, model, s), strings))
    bad = 0
    for i, (s, want, (ids, err)) in enumerate(zip(strings, ref, got)):
        if ids != want:
            bad += 1
            if bad <= 20:
                print(f"FAIL string {i} {s[:60]!r}: {err or ''}\n  pippa {ids}\n  ref   {want}")
    print(f"{len(strings) - bad}/{len(strings)} strings give identical ids")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
