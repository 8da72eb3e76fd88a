#!/usr/bin/env python3
"""An independent oracle for libjobs' cron schedules.

Generates random valid cron expressions x zones x start instants (2000-2037), plus cases around
every daylight-saving transition of the zones in 2026-2028, asks the C driver (tests/cron/
driver.c, libjobs' lib/cron.c with ICU's time-zone data) for the next runs, and computes the same
runs here with Python's own cron parser and a straightforward matcher that walks UTC minutes and
converts each to local time with zoneinfo (the system's tzdata). Every difference is printed
with its case; the exit status is 1 if there is any.

The rules the matcher implements are those of docs/schedules.md:
  - a UTC minute runs when its local time matches the expression;
  - the second occurrence of a repeated local time (fold=1 after a backward change) runs only
    when the hour field starts with '*';
  - at the first instant after a forward change, a match on any skipped local minute runs once.
To stay fast it skips whole local days (and hours) that cannot match, and only where the UTC
offset is the same at both ends of the skip; anywhere else it walks minute by minute.

Usage: oracle.py DRIVER [--seed N] [--cases N]
"""
import argparse
import datetime as dt
import random
import subprocess
import sys
import time
import zoneinfo

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Sao_Paulo"]
BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@hourly": "0 * * * *"}
MINUTE = dt.timedelta(minutes=1)


# ---- parsing (written from the documented grammar, not from lib/cron.c) ----------------------

def value(field, text):
    text = text.lower()
    if field == 3 and text in MONTHS:
        return MONTHS.index(text) + 1
    if field == 4 and text in WDAYS:
        return WDAYS.index(text)
    return int(text)


def parse_field(field, text):
    lo, hi = BOUNDS[field]
    out = set()
    for item in text.split(","):
        step, stepped = 1, "/" in item
        if stepped:
            item, s = item.split("/")
            step = int(s)
        if item == "*":
            a, b = lo, (6 if field == 4 else hi)
        elif "-" in item:
            a, b = (value(field, x) for x in item.split("-"))
        else:
            a = value(field, item)
            b = max(a, 6 if field == 4 else hi) if stepped else a
        for v in range(a, b + 1, step):
            out.add(0 if field == 4 and v == 7 else v)
    return out


class Spec:
    def __init__(self, expr):
        e = expr.strip()
        e = MACROS.get(e.lower(), e)
        f = e.split()
        assert len(f) == 5, expr
        self.sets = [parse_field(i, f[i]) for i in range(5)]
        self.hour_star = f[1].startswith("*")
        self.mday_star = f[2].startswith("*")
        self.wday_star = f[4].startswith("*")

    def day(self, d):
        """d: a date. Vixie cron: either day field starting with '*' means both must match."""
        if d.month not in self.sets[3]:
            return False
        md = d.day in self.sets[2]
        wd = (d.isoweekday() % 7) in self.sets[4]
        if self.mday_star or self.wday_star:
            return md and wd
        return md or wd

    def match(self, t):
        return (t.minute in self.sets[0] and t.hour in self.sets[1] and self.day(t.date()))

    def feasible(self):
        if self.mday_star or not self.wday_star:
            return True
        dim = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return any(d <= dim[m - 1] for m in self.sets[3] for d in self.sets[2])


# ---- the matcher -------------------------------------------------------------------------------

def local(u, tz):
    return dt.datetime.fromtimestamp(u, tz)


def naive(x):
    return x.replace(tzinfo=None, fold=0)


def next_run(spec, tz, t):
    u = (t // 60) * 60 + 60
    prev = local(u - 60, tz)
    while True:
        cur = local(u, tz)
        pn, cn = naive(prev), naive(cur)
        if cn - pn > MINUTE:  # a forward change: local minutes were skipped
            x = pn + MINUTE
            while x < cn:
                if spec.match(x):
                    return u
                x += MINUTE
        if spec.match(cn) and not (cur.fold and not spec.hour_star):
            return u
        # Skip what cannot match, when the offset is the same at both ends.
        target = None
        if not spec.day(cn.date()):
            target = dt.datetime.combine(cn.date() + dt.timedelta(days=1), dt.time())
        elif cn.hour not in spec.sets[1]:
            target = cn.replace(minute=0) + dt.timedelta(hours=1)
        if target is not None:
            c = u + int((target - cn).total_seconds())
            lc = local(c, tz)
            if naive(lc) == target and lc.utcoffset() == cur.utcoffset() and c > u:
                prev = local(c - 60, tz)
                u = c
                continue
        prev = cur
        u += 60


# ---- cases -------------------------------------------------------------------------------------

def rand_values(rng, field, k):
    lo, hi = BOUNDS[field]
    if field == 1 and rng.random() < 0.6:
        hi = 5  # hours around the daylight-saving changes
    return sorted(rng.sample(range(lo, hi + 1), k))


def name_or_number(rng, field, v):
    if field == 3 and rng.random() < 0.3:
        n = MONTHS[v - 1]
    elif field == 4 and v <= 6 and rng.random() < 0.3:
        n = WDAYS[v]
    else:
        return str(v)
    return rng.choice([n, n.upper(), n.capitalize()])


def rand_field(rng, field, star_p):
    lo, hi = BOUNDS[field]
    r = rng.random()
    if r < star_p:
        return "*"
    r = rng.random()
    if r < 0.2:
        return "*/%d" % rng.choice([k for k in (2, 3, 5, 7, 10, 15, 20, 30, 45) if k <= hi])
    if r < 0.45:
        return name_or_number(rng, field, rand_values(rng, field, 1)[0])
    if r < 0.65:
        return ",".join(name_or_number(rng, field, v)
                        for v in rand_values(rng, field, rng.randint(2, 4)))
    a, b = rand_values(rng, field, 2)
    s = "%s-%s" % (name_or_number(rng, field, a), name_or_number(rng, field, b))
    if r < 0.85:
        return s
    if r < 0.93:
        return s + "/%d" % rng.randint(1, 4)
    return "%d/%d" % (a, rng.randint(2, min(12, hi)))


def rand_expr(rng):
    if rng.random() < 0.04:
        m = rng.choice(list(MACROS))
        return rng.choice([m, m.upper()])
    while True:
        f = [rand_field(rng, 0, 0.1), rand_field(rng, 1, 0.35), rand_field(rng, 2, 0.7),
             rand_field(rng, 3, 0.8), rand_field(rng, 4, 0.7)]
        e = " ".join(f)
        if Spec(e).feasible():
            return e


def transitions(tz, y0, y1):
    """Every instant in [y0, y1) where the zone's UTC offset changes, to the minute."""
    out = []
    a = int(dt.datetime(y0, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    end = int(dt.datetime(y1, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    step = 3600 * 6
    off = local(a, tz).utcoffset()
    while a < end:
        b = a + step
        ob = local(b, tz).utcoffset()
        if ob != off:
            lo, hi = a, b
            while hi - lo > 60:
                mid = (lo + hi) // 120 * 60
                if local(mid, tz).utcoffset() == off:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
            off = ob
        a = b
    return out


FIXED = ["30 2 * * *", "0 * * * *", "*/15 * * * *", "*/15 1-3 * * *", "0 2 * * *",
         "30 * * * *", "45 1,2 * * *", "*/7 * * * *", "0,30 */2 * * *", "59 23 * * *",
         "0 0 * * *", "15 0-4 * * *"]


def make_cases(rng, n_random):
    cases = []
    lo = int(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    hi = int(dt.datetime(2038, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    for _ in range(n_random):
        cases.append((rand_expr(rng), rng.choice(ZONES), rng.randrange(lo, hi), 3))
    for z in ZONES:
        tz = zoneinfo.ZoneInfo(z)
        for tr in transitions(tz, 2026, 2029):
            for e in FIXED:
                cases.append((e, z, tr - 3 * 3600 - rng.randrange(0, 3600), 8))
            for _ in range(20):
                cases.append((rand_expr(rng), z, tr - rng.randrange(0, 6 * 3600), 6))
    return cases


def fmt(u, tz):
    x = local(u, tz)
    return "%d (%s %s)" % (u, x.strftime("%Y-%m-%d %H:%M"), x.tzname())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--cases", type=int, default=10000)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.time()
    cases = make_cases(rng, args.cases)
    text = "".join("%s\t%s\t%d\t%d\n" % c for c in cases)
    res = subprocess.run([args.driver], input=text, capture_output=True, text=True, check=True)
    lines = res.stdout.splitlines()
    if len(lines) != len(cases):
        print("driver answered %d lines for %d cases" % (len(lines), len(cases)))
        return 1
    t1 = time.time()
    bad = 0
    runs = 0
    for (expr, zone, start, count), line in zip(cases, lines):
        tz = zoneinfo.ZoneInfo(zone)
        spec = Spec(expr)
        want = []
        t = start
        for _ in range(count):
            t = next_run(spec, tz, t)
            want.append(t)
        runs += count
        got = line.split()
        if got != [str(w) for w in want]:
            bad += 1
            if bad <= 20:
                print("DIFF %r tz=%s start=%s" % (expr, zone, fmt(start, tz)))
                print("   libjobs: %s" % line)
                print("   oracle:  %s" % ", ".join(fmt(w, tz) for w in want))
                gl = [int(g) for g in got if g.isdigit()]
                print("   libjobs: %s" % ", ".join(fmt(g, tz) for g in gl))
    t2 = time.time()
    print("cron oracle: %d cases, %d runs compared, %d differ (driver %.1f s, oracle %.1f s)"
          % (len(cases), runs, bad, t1 - t0, t2 - t1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
