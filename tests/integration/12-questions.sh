#!/usr/bin/env bash
# 12-questions: the project's own labelled questions (knowledge/examples/10-own.jsonl,
# or the file given as $1) through `faqbot ask --now NOW --json`, one process
# per question.  Every case must be fully right: intent; platform and
# validation date for display_delay; state for state; and, when the file
# gives them, `dates` and `status` (domain.md: what is judged).
. "$(dirname "$0")/../lib.sh"
FILE=${1:-$ROOT/knowledge/examples/10-own.jsonl}
[ -x "$FAQBOT" ] || die "$FAQBOT is not built (run make)"
[ -f "$FILE" ] || die "no question file $FILE"

/usr/bin/python3 - "$FAQBOT" "$FILE" <<'PY'
import json, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
faqbot, path = sys.argv[1], sys.argv[2]
cases = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
if not cases:
    sys.exit("no case in " + path)

def run(c):
    p = subprocess.run([faqbot, "ask", "--now", c["now"], "--json", c["question"]],
                       capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        return c, None, "exit %d: %s" % (p.returncode, p.stderr.strip())
    try:
        return c, json.loads(p.stdout), None
    except ValueError as e:
        return c, None, "not JSON (%s): %r" % (e, p.stdout[:200])

def problems(c, got):
    bad = []
    if got.get("intent") != c["intent"]:
        bad.append("intent %s, expected %s" % (got.get("intent"), c["intent"]))
        return bad
    conf = got.get("confidence")
    if not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
        bad.append("confidence %r is not a number in 0..1" % (conf,))
    slots = got.get("slots") or {}
    if c["intent"] == "display_delay":
        for k in ("platform", "validation_date"):
            if slots.get(k) != c.get(k):
                bad.append("%s %s, expected %s" % (k, slots.get(k), c.get(k)))
        if "dates" in c and got.get("dates") != c["dates"]:
            bad.append("dates %s, expected %s" % (got.get("dates"), c["dates"]))
        if "status" in c and got.get("status") != c["status"]:
            bad.append("status %s, expected %s" % (got.get("status"), c["status"]))
    if c["intent"] == "state" and slots.get("state") != c.get("state"):
        bad.append("state %s, expected %s" % (slots.get("state"), c.get("state")))
    if not (got.get("answer") or "").strip():
        bad.append("empty answer")
    return bad

with ThreadPoolExecutor(max_workers=8) as ex:
    results = list(ex.map(run, cases))
failures = 0
for c, got, err in results:
    bad = [err] if err else problems(c, got)
    if bad:
        failures += 1
        print("FAIL %s (now %s): %s\n     %s" % (c.get("id"), c["now"], c["question"].replace("\n", " / "), "; ".join(bad)))
print("%d/%d questions fully right (%s)" % (len(cases) - failures, len(cases), path))
sys.exit(1 if failures else 0)
PY
