"""checks.py - the counters and the RESULT line shared by Python test suites (tests/run.sh adds
each suite's `RESULT name passed failed skipped` line to the totals)."""
import os
import sys


class Suite:
    def __init__(self, path):
        self.name = os.path.basename(path)
        self.passed = self.failed = self.skipped = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, detail))

    def skip(self, name, why):
        self.skipped += 1
        print("SKIP %s: %s" % (name, why))

    def finish(self):
        print("RESULT %s %d %d %d" % (self.name, self.passed, self.failed, self.skipped))
        sys.exit(1 if self.failed else 0)
