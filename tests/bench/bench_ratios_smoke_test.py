#!/usr/bin/env python3
"""Runs `scripts/bench-ratios --smoke` and checks that it produced every row: requests answered
without errors (req/s above zero) and, for every row measured against a baseline, a ratio.
No performance figure is asserted: a smoke run on a shared machine measures nothing.

    bench_ratios_smoke_test.py --bin build/taskman --json out.json
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The rows of the benchmark, spelled out here so that a row dropped from the driver fails the test.
BASELINES = ["hello-16", "proxy-16", "proxy-64"]
TARGETS = ["split-16", "serve-16", "serve-64", "cache-16", "create-64", "off-16", "on-16", "idle-16"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--json", required=True)
    o = ap.parse_args()
    if os.path.exists(o.json):
        os.remove(o.json)
    cmd = [os.path.join(ROOT, "scripts", "bench-ratios"), "--smoke", "--bin", o.bin, "--json", o.json]
    print("running: " + " ".join(cmd), flush=True)
    rc = subprocess.run(cmd).returncode
    failures = []
    if rc != 0:
        failures.append("bench-ratios exited with %d" % rc)
    if not os.path.exists(o.json):
        failures.append("bench-ratios wrote no JSON to " + o.json)
        return report(failures)
    with open(o.json) as f:
        doc = json.load(f)
    if not doc.get("smoke"):
        failures.append("the JSON does not say it is a smoke run")
    rows = {r["id"]: r for r in doc.get("rows", [])}
    for rid in BASELINES + TARGETS:
        r = rows.get(rid)
        if r is None:
            failures.append("%s: missing" % rid)
            continue
        if r.get("problem"):
            failures.append("%s: %s" % (rid, r["problem"]))
        if not (r.get("rps") or 0) > 0:
            failures.append("%s: no requests answered (req/s %r)" % (rid, r.get("rps")))
        if r.get("errors"):
            failures.append("%s: %r errors" % (rid, r.get("errors")))
        if rid in TARGETS and not (r.get("ratio") or 0) > 0:
            failures.append("%s: no ratio to its baseline %r" % (rid, r.get("baseline")))
    return report(failures)


def report(failures):
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    if not failures:
        print("every row ran and has a ratio")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
