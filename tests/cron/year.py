#!/usr/bin/env python3
"""The scheduler through a whole year, minute by minute, against an independent expectation.

Runs the C program (tests/cron/year.c: a libjobs store with a fake clock, one enabled job per
cron schedule, jobs_scheduler_tick at every minute of 2027 UTC) and computes, here, the minutes
at which each job must run: every UTC minute of the year is converted to local time with
Python's zoneinfo and matched with the expression parser of oracle.py, applying the
daylight-saving rules of docs/schedules.md directly (a skipped local minute that matches runs
once, at the first instant after the gap; the second occurrence of a repeated local time runs
only when the hour field starts with '*'). No next-run search is involved on this side.

Each expected run must appear exactly once, none twice, none missing, none extra, each at the
tick of its own minute (slot == tick). Any difference fails with the job, the expression, the
zone and the minute, in UTC and local time.

Usage: year.py YEAR_PROGRAM
"""
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle import Spec  # noqa: E402  (the documented grammar, parsed without lib/cron.c)

START = 1798761600  # 2027-01-01T00:00:00Z: the jobs are enabled here
END = 1830297600    # 2028-01-01T00:00:00Z: the last tick
ZONES = ["Europe/Berlin", "America/New_York"]
EXPRS = ["30 2 * * *", "0 * * * *", "*/15 * * * *", "*/15 1-3 * * *"]
MINUTE = dt.timedelta(minutes=1)


def expected(specs, tz):
    """{expression: [UTC minute, ...]} for the minutes in (START, END]."""
    out = {e: [] for e in specs}
    prev = dt.datetime.fromtimestamp(START, tz).replace(tzinfo=None)
    for u in range(START + 60, END + 1, 60):
        cur = dt.datetime.fromtimestamp(u, tz)
        naive = cur.replace(tzinfo=None, fold=0)
        skipped = []
        x = prev + MINUTE
        while x < naive:  # a forward change: these local minutes never happen
            skipped.append(x)
            x += MINUTE
        for e, spec in specs.items():
            runs = spec.match(naive) and not (cur.fold and not spec.hour_star)
            if not runs and any(spec.match(s) for s in skipped):
                runs = True
            if runs:
                out[e].append(u)
        prev = naive
    return out


def describe(u, tz):
    return "%s UTC = %s" % (dt.datetime.fromtimestamp(u, dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
                             dt.datetime.fromtimestamp(u, tz).strftime("%Y-%m-%d %H:%M %Z"))


def main():
    program = sys.argv[1]
    pairs = [(e, z) for z in ZONES for e in EXPRS]
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        args = [program, os.path.join(d, "store"), str(START), str(END)]
        for e, z in pairs:
            args += [e, z]
        res = subprocess.run(args, capture_output=True, text=True)
    if res.returncode != 0:
        print("year program failed (%d): %s" % (res.returncode, res.stderr))
        return 1
    t1 = time.time()
    got = {i: [] for i in range(len(pairs))}
    bad = 0
    for line in res.stdout.split("\n"):
        if not line:
            continue
        i, slot, tick = (int(x) for x in line.split())
        if slot != tick:
            e, z = pairs[i]
            print("FAIL %r in %s: slot %s delivered late, at the tick of %s"
                  % (e, z, describe(slot, zoneinfo.ZoneInfo(z)), describe(tick, zoneinfo.ZoneInfo(z))))
            bad += 1
        got[i].append(slot)
    want = {}
    for z in ZONES:
        tz = zoneinfo.ZoneInfo(z)
        for e, runs in expected({e: Spec(e) for e in EXPRS}, tz).items():
            want[(e, z)] = runs
    t2 = time.time()
    total = 0
    for i, (e, z) in enumerate(pairs):
        tz = zoneinfo.ZoneInfo(z)
        w, g = want[(e, z)], got[i]
        total += len(w)
        seen = {}
        for u in g:
            seen[u] = seen.get(u, 0) + 1
        twice = sorted(u for u, n in seen.items() if n > 1)
        missing = sorted(set(w) - set(g))
        extra = sorted(set(g) - set(w))
        for kind, lst in (("ran twice", twice), ("missing", missing), ("unexpected", extra)):
            for u in lst[:10]:
                print("FAIL %r in %s: %s: %s" % (e, z, kind, describe(u, tz)))
            if len(lst) > 10:
                print("FAIL %r in %s: ... %d more %s" % (e, z, len(lst) - 10, kind))
            bad += len(lst)
        print("%-16s %-18s %6d runs expected, %6d delivered" % (e, z, len(w), len(g)))
    print("year: %d jobs, %d expected runs, %d ticks; libjobs %.1f s, expectation %.1f s"
          % (len(pairs), total, (END - START) // 60, t1 - t0, t2 - t1))
    if bad:
        print("%d differences" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
