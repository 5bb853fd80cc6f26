#!/usr/bin/env python3
"""Summarise meson's testlog.json: per suite, and a closing line
'N passed, N failed' that counts TAP subtests.  A skipped kvm, lab or dkms
test counts as failed when CI is set: every CI machine can run them."""
import json
import os
import re
import sys

def main(path):
    ci = bool(os.environ.get("CI") or os.environ.get("SPTE_NO_SKIP"))
    passed = failed = skipped = 0
    per_suite = {}
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            # "project:suite / test", or "project:suite1+suite2 / test":
            # a lab test on kernel NAME is in suites lab and lab-NAME
            suites = t["name"].split(" / ")[0].split(":")[-1].split("+")
            suite = suites[-1]
            strict = any(s in ("kvm", "lab", "dkms") for s in suites)
            out = t.get("stdout") or ""
            ok = len(re.findall(r"^ok \d+(?! .*# SKIP)", out, re.M))
            skip = len(re.findall(r"^ok \d+ .*# SKIP", out, re.M))
            bad = len(re.findall(r"^not ok \d+", out, re.M))
            result = t["result"]
            if result == "SKIP" and ok + skip + bad == 0:
                skip = 1
            if result not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
                bad = 1     # crashed, timed out or bailed out
            if ci and strict and skip:
                print(f"FAIL: {t['name']}: {skip} skipped test(s) in the "
                      f"{suite} suite (not allowed under CI)")
                bad += skip
                skip = 0
            s = per_suite.setdefault(suite, [0, 0, 0])
            s[0] += ok
            s[1] += bad
            s[2] += skip
            passed += ok
            failed += bad
            skipped += skip
    for suite, (p, f_, s) in sorted(per_suite.items()):
        print(f"  {suite:8s} {p} passed, {f_} failed, {s} skipped")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
