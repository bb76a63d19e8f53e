#!/usr/bin/env bash
# 17-dialogues: scripted conversations (tests/data/dialogues.jsonl, or the
# file given as $1) through `faqbot console --json --script`, the contract of
# domain.md: one JSON line per non-empty input line, describing the question
# as completed from the conversation, with "followup".
#
# File format, one dialogue a line:
#   {"id": "dlg-001", "now": "2026-11-26T10:00", "voice": "sms",
#    "turns": [{"say": "quand sera visible ma session dans kairos ?",
#               "intent": "display_delay", "platform": "kairos", "state": null,
#               "validation_date": null, "followup": false},
#              {"say": "validée le 12", "at": "2026-11-26T10:03", ...}]}
# "now" is the clock at the first turn; a turn's optional "at" moves the
# clock (a turn after the conversation timeout of 10 minutes starts afresh).
# "intent" may be a list: any of them is right (a turn whose standalone
# reading is the classifier's business, e.g. a bare slot after a timeout).
# The driver writes an empty line before each dialogue (the console forgets
# the conversation) and "#now TIME" lines for the clock (--script).
#
# Every turn is judged as domain.md says: intent; platform, validation date,
# dates and status for display_delay; state for state; and followup, always.
# Dates and status are computed here by an implementation of domain.md's
# calendar written apart from bot/ (14-holdout's).  Prints every failure and
# the score; fails below DIALOGUE_MIN percent of turns fully right.
. "$(dirname "$0")/../lib.sh"
FILE=${1:-$ROOT/tests/data/dialogues.jsonl}
MIN=${DIALOGUE_MIN:-97.0}
[ -x "$FAQBOT" ] || die "$FAQBOT is not built (run make)"
[ -f "$FILE" ] || die "no dialogue file $FILE"

/usr/bin/python3 - "$FAQBOT" "$FILE" "$MIN" <<'PY'
import datetime as dt, json, subprocess, sys
from collections import Counter
faqbot, path, minimum = sys.argv[1], sys.argv[2], float(sys.argv[3])
dialogues = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
if not dialogues:
    sys.exit("no dialogue in " + path)

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

def add_wd(v, n):
    d = v
    while n:
        d += dt.timedelta(1)
        if d.weekday() < 5 and d not in holidays(d.year):
            n -= 1
    return d

def expected_dates(v):
    v = dt.date.fromisoformat(v)
    return {"validation": v.isoformat(), "regional": (v + dt.timedelta(1)).isoformat(),
            "rco_export": v.isoformat(), "rco_visible": add_wd(v, 2).isoformat(),
            "france_travail_min": add_wd(v, 2).isoformat(), "france_travail_max": add_wd(v, 7).isoformat()}

def expected_status(today, platform, dates):
    lo, hi = {"regional": ("regional", "regional"), "rco": ("rco_visible", "rco_visible")}.get(
        platform, ("france_travail_min", "france_travail_max"))
    return "early" if today < dates[lo] else "overdue" if today > dates[hi] else "within"

# one console for the whole file: an empty line between dialogues
lines, turns = [], []
for d in dialogues:
    lines += ["", "#now " + d["now"]]
    clock = d["now"]
    for t in d["turns"]:
        if t.get("at"):
            lines.append("#now " + t["at"])
            clock = t["at"]
        if "\n" in t["say"] or not t["say"].strip():
            sys.exit("%s: a turn must be one non-empty line" % d["id"])
        lines.append(t["say"])
        turns.append((d, t, clock[:10]))
p = subprocess.run([faqbot, "console", "--json", "--script"], input="\n".join(lines) + "\n",
                   capture_output=True, text=True, timeout=300)
if p.returncode != 0:
    sys.exit("console exited %d: %s" % (p.returncode, p.stderr[-2000:]))
out = [l for l in p.stdout.split("\n") if l.strip()]
if len(out) != len(turns):
    sys.exit("console printed %d lines for %d turns" % (len(out), len(turns)))

def problems(t, today, got):
    bad = []
    want_in = t["intent"] if isinstance(t["intent"], list) else [t["intent"]]
    if got.get("followup") is not t["followup"]:
        bad.append("followup %s, expected %s" % (got.get("followup"), t["followup"]))
    if got.get("intent") not in want_in:
        return bad + ["intent %s, expected %s" % (got.get("intent"), "|".join(want_in))]
    slots = got.get("slots") or {}
    if got["intent"] == "display_delay" and len(want_in) == 1:
        sb = []
        for k in ("platform", "validation_date"):
            if slots.get(k) != t.get(k):
                sb.append("%s %s, expected %s" % (k, slots.get(k), t.get(k)))
        want = expected_dates(t["validation_date"]) if t.get("validation_date") else {}
        want_status = expected_status(today, t.get("platform"), want) if want else None
        if not sb and got.get("dates") != want:
            sb.append("dates %s, expected %s" % (got.get("dates"), want))
        if not sb and got.get("status") != want_status:
            sb.append("status %s, expected %s" % (got.get("status"), want_status))
        bad += sb
    if got["intent"] == "state" and len(want_in) == 1 and slots.get("state") != t.get("state"):
        bad.append("state %s, expected %s" % (slots.get("state"), t.get("state")))
    if not (got.get("answer") or "").strip():
        bad.append("empty answer")
    return bad

right, by_voice, voice_ok = 0, Counter(), Counter()
fu_total, fu_right = 0, 0
for (d, t, today), line in zip(turns, out):
    try:
        got = json.loads(line)
    except ValueError as e:
        print("FAIL %s: not JSON (%s): %r" % (d["id"], e, line[:200]))
        continue
    bad = problems(t, today, got)
    by_voice[d.get("voice", "?")] += 1
    fu_total += 1
    if got.get("followup") is t["followup"]:
        fu_right += 1
    if bad:
        print("FAIL %s turn %d (%s): %s\n     %s" % (d["id"], d["turns"].index(t) + 1, today,
              t["say"], "; ".join(bad)))
    else:
        right += 1
        voice_ok[d.get("voice", "?")] += 1
print("turns fully right per voice:")
for v in sorted(by_voice):
    print("  %-10s %3d/%3d" % (v, voice_ok[v], by_voice[v]))
n = len(turns)
acc = 100.0 * right / n
print("followup right on %d/%d turns" % (fu_right, fu_total))
print("%d dialogues, %d/%d turns fully right: %.1f%% (minimum %.1f%%)" % (len(dialogues), right, n, acc, minimum))
sys.exit(0 if acc >= minimum else 1)
PY
