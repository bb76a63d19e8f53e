#!/usr/bin/env bash
# 14-holdout: a held-out set of questions (knowledge/examples/21-redteam1.jsonl, or the
# file given as $1) written apart from the engine's tuning sets, in other
# styles (SMS, typos, English, long mails, near-misses), through
# `faqbot ask --now NOW --json`.  Judged as domain.md says: intent; platform,
# validation date, dates and status for display_delay; state for state.
# Dates and status are computed here by an implementation of domain.md's
# calendar written apart from bot/.  Prints every failure and the accuracy
# per intent; fails when fewer than HOLDOUT_MIN percent are fully right
# (the accuracy measured when the set was written, minus 2 points: a
# regression guard, not a target).
. "$(dirname "$0")/../lib.sh"
FILE=${1:-$ROOT/knowledge/examples/21-redteam1.jsonl}
MIN=${HOLDOUT_MIN:-98.0}
[ -x "$FAQBOT" ] || die "$FAQBOT is not built (run make)"
[ -f "$FILE" ] || die "no question file $FILE"

/usr/bin/python3 - "$FAQBOT" "$FILE" "$MIN" <<'PY'
import datetime as dt, json, subprocess, sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
faqbot, path, minimum = sys.argv[1], sys.argv[2], float(sys.argv[3])
cases = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
if not cases:
    sys.exit("no case in " + path)

# domain.md, "Conventions this project adds": French public holidays, Easter
# computed for any year (anonymous Gregorian algorithm).
def easter(y):
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    return dt.date(y, month, (h + l - 7 * m + 114) % 31 + 1)

_hol = {}
def holidays(y):
    if y not in _hol:
        e = easter(y)
        _hol[y] = {dt.date(y, m, d) for m, d in ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))}
        _hol[y] |= {e + dt.timedelta(n) for n in (1, 39, 50)}
    return _hol[y]

def working(d):
    return d.weekday() < 5 and d not in holidays(d.year)

def add_wd(v, n):
    d = v
    while n:
        d += dt.timedelta(1)
        if working(d):
            n -= 1
    return d

def expected_dates(v):
    v = dt.date.fromisoformat(v)
    return {"validation": v.isoformat(), "regional": (v + dt.timedelta(1)).isoformat(),
            "rco_export": v.isoformat(), "rco_visible": add_wd(v, 2).isoformat(),
            "france_travail_min": add_wd(v, 2).isoformat(), "france_travail_max": add_wd(v, 7).isoformat()}

def expected_status(c, dates):
    t = c["now"]
    lo, hi = {"regional": ("regional", "regional"), "rco": ("rco_visible", "rco_visible")}.get(
        c.get("platform"), ("france_travail_min", "france_travail_max"))
    return "early" if t < dates[lo] else "overdue" if t > dates[hi] else "within"

def run(c):
    p = subprocess.run([faqbot, "ask", "--now", c["now"], "--json", c["question"]],
                       capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        return c, None, "exit %d: %s" % (p.returncode, p.stderr.strip()[:200])
    try:
        return c, json.loads(p.stdout), None
    except ValueError as e:
        return c, None, "not JSON (%s): %r" % (e, p.stdout[:200])

def problems(c, got):
    if got.get("intent") != c["intent"]:
        return ["intent %s, expected %s" % (got.get("intent"), c["intent"])]
    bad = []
    slots = got.get("slots") or {}
    if c["intent"] == "display_delay":
        for k in ("platform", "validation_date"):
            if slots.get(k) != c.get(k):
                bad.append("%s %s, expected %s" % (k, slots.get(k), c.get(k)))
        want = expected_dates(c["validation_date"]) if c["validation_date"] else {}
        want_status = expected_status(c, want) if want else None
        # Dates and status follow from the slots: judged only when the slots
        # are right, so one cause is reported once.
        if not bad and got.get("dates") != want:
            bad.append("dates %s, expected %s" % (got.get("dates"), want))
        if not bad and got.get("status") != want_status:
            bad.append("status %s, expected %s" % (got.get("status"), want_status))
    if c["intent"] == "state" and slots.get("state") != c.get("state"):
        bad.append("state %s, expected %s" % (slots.get("state"), c.get("state")))
    if not (got.get("answer") or "").strip():
        bad.append("empty answer")
    return bad

with ThreadPoolExecutor(max_workers=8) as ex:
    results = list(ex.map(run, cases))
total, right = Counter(), Counter()
failures = 0
for c, got, err in results:
    bad = [err] if err else problems(c, got)
    total[c["intent"]] += 1
    if bad:
        failures += 1
        print("FAIL %s (now %s, %s): %s\n     %s" % (c["id"], c["now"], c["intent"],
              c["question"].replace("\n", " / "), "; ".join(bad)))
    else:
        right[c["intent"]] += 1
print("accuracy per intent:")
for k in sorted(total, key=lambda k: -total[k]):
    print("  %-20s %3d/%3d  %5.1f%%" % (k, right[k], total[k], 100.0 * right[k] / total[k]))
n = len(cases)
acc = 100.0 * (n - failures) / n
print("%d/%d held-out questions fully right: %.1f%% (minimum %.1f%%)" % (n - failures, n, acc, minimum))
sys.exit(0 if acc >= minimum else 1)
PY
