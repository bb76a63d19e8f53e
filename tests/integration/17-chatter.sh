#!/usr/bin/env bash
# 17-chatter: in an auto_answer channel the bot speaks unasked only on a
# question it is sure of.  tests/data/chatter.txt holds 458 lines of
# ordinary channel talk written blind (colleagues, lunch, meetings, other
# tools, and a third that use the domain's words but ask the bot nothing:
# "j'ai validé 12 sessions ce matin", "réunion RCO jeudi").  It is not in
# knowledge/examples.  Each line goes through `faqbot ask --json`; the
# quality floor is the issue's: at most 1 line in 300 answered unasked.
# The other way round, the share of the project's real questions that
# would be answered unasked is printed (the rest wait to be addressed).
source "$(dirname "$0")/../lib.sh"
[ -x "$FAQBOT" ] || die "$FAQBOT is not built (make faqbot)"
/usr/bin/python3 - "$FAQBOT" "$ROOT/tests/data/chatter.txt" "$ROOT/tests/data/holdout5.jsonl" <<'PY'
import json, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
faqbot, chatter, questions = sys.argv[1:4]
lines = [l.strip() for l in open(chatter, encoding="utf-8") if l.strip()]
def auto(text):
    out = subprocess.run([faqbot, "ask", "--now", "2026-11-20", "--json", text],
                         capture_output=True, text=True, check=True).stdout
    o = json.loads(out)
    if not isinstance(o.get("auto_answer"), bool):
        sys.exit("no auto_answer boolean in: " + out)
    return o["auto_answer"], o["intent"], o["confidence"]
with ThreadPoolExecutor(4) as ex:
    res = list(ex.map(auto, lines))
spoke = [(l, r) for l, r in zip(lines, res) if r[0]]
for l, r in spoke:
    print("would speak unasked: [%s %.2f] %s" % (r[1], r[2], l))
allowed = len(lines) // 300
print("chatter: %d / %d lines would be answered unasked (at most %d allowed)" % (len(spoke), len(lines), allowed))
qs = [json.loads(l) for l in open(questions, encoding="utf-8") if l.strip()]
real = [q["question"] for q in qs if q["intent"] not in ("out_of_scope", "greeting", "thanks")]
with ThreadPoolExecutor(4) as ex:
    r2 = list(ex.map(auto, real))
n = sum(1 for r in r2 if r[0])
print("real questions of holdout5 answered unasked: %d / %d (the others are answered when addressed)" % (n, len(real)))
if len(lines) < 300:
    sys.exit("the chatter set must hold at least 300 lines")
if len(spoke) > allowed:
    sys.exit("FAIL: the bot would speak unasked on %d chatter lines" % len(spoke))
if n < len(real) // 2:
    sys.exit("FAIL: fewer than half of the real questions would be answered unasked")
PY
