#!/usr/bin/env bash
# The record of questions ([bot] record_questions) and `faqbot report`, on
# InspIRCd: missed questions (out of scope) are kept with their text, the
# asker only as a keyed hash (no nick anywhere in the file); an answered
# question keeps no text until its asker says « !faux » (or « faqbot:
# faux ») within 10 minutes, which marks it wrong (someone else's « !faux »
# marks nothing); a refused question may be marked wrong too.  The report (run through ./faqbot, which execs the full
# build) groups similar missed questions, most frequent first, lists the
# wrong answer with its question, and comes as text, CSV, JSON lines in the
# knowledge's example format, and one self-contained HTML page that
# headless Chromium renders with a chart (not a blank screenshot).  Rows
# older than record_days go at start-up; --purge deletes everything; with
# the key absent (the default) nothing is recorded.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs inspircd python3 chromium python3-pil fonts-dejavu-core

inspircd_start in
log "inspircd on $in_PORT"

mkconf() { # file state record(yes/no/"") nick
	{
		printf '[bot]\nknowledge = %s/knowledge\nstate = %s\n' "$ROOT" "$2"
		[ -n "$3" ] && printf 'record_questions = %s\nrecord_days = 30\n' "$3"
		printf '[irc.local]\nserver = 127.0.0.1\nport = %s\ntls = no\nnick = %s\n' "$in_FAST_PORT" "$4"
		printf 'channels = #faq\nuser_rate = 0\n'
	} >"$1"
	chmod 600 "$1"
}
mkconf "$WORK/rec.ini" "$WORK/rec.db" yes recbot
mkconf "$WORK/off.ini" "$WORK/off.db" "" offbot
bot_start "$WORK/rec.ini" "$WORK/rec.log"
REC_PID=$BOT_PID
bot_start "$WORK/off.ini" "$WORK/off.log"
OFF_PID=$BOT_PID

ROOT=$ROOT PORT=$in_FAST_PORT $PY - <<'PYEOF' || { tail -n 30 "$WORK/rec.log" >&2; die "the IRC session"; }
import os, sys, time
sys.path.insert(0, os.environ["ROOT"] + "/tests/irc")
from ircclient import Client
port = int(os.environ["PORT"])
cl = {}
for nick in ("alice", "bob", "carol", "dave"):
    c = Client("127.0.0.1", port, nick).connect(); c.register(); c.join("#faq"); cl[nick] = c
end = time.monotonic() + 20
while not {"recbot", "offbot"} <= set(cl["alice"].names("#faq")):
    if time.monotonic() > end:
        sys.exit("FAIL the bots never joined #faq")
    time.sleep(0.2)

def ask(nick, text, want=None, bot="recbot", silent=False):
    c = cl[nick]; i = c.mark()
    c.privmsg("#faq", text)
    if silent:
        got = c.collect(lambda m: m.command == "PRIVMSG" and m.nick == bot and
                        m.text.startswith(nick + ":"), 2.0, since=i)
        if got:
            sys.exit("FAIL %r got an answer: %r" % (text, got[0].text))
        return None
    m = c.wait(lambda m: m.command == "PRIVMSG" and m.nick == bot and m.text.startswith(nick + ":"),
               15, since=i, what="%s's answer to %r" % (bot, text))
    if want and want not in m.text:
        sys.exit("FAIL %r: want %r in %r" % (text, want, m.text))
    return m.text

ask("alice", "recbot: quelle est la recette de la tarte aux pommes ?")
ask("bob", "recbot: la recette de la tarte aux pommes ?")
ask("alice", "recbot: comment réserver un billet de train ?")
ask("carol", "recbot, je cherche la recette de la tarte aux pommes")
ask("alice", "recbot: que veut dire l'état DIFF ?")
ask("bob", "!faux", want="noté")      # bob's refused question: marked wrong too
ask("dave", "!faux", silent=True)      # dave asked nothing: nothing to mark
ask("bob", "recbot: merci beaucoup")    # answered, not marked: no text kept
ask("carol", "recbot: bonjour")
ask("alice", "!faux", want="noté")     # alice's DIFF answer, within 10 minutes
ask("carol", "recbot: faux", want="noté")  # carol's greeting: marked wrong too
ask("alice", "offbot: quelle est la recette de la tarte aux pommes ?", bot="offbot")
ask("alice", "!faux", bot="offbot", silent=True)  # no record, no !faux: silence
print("ok   the IRC session", file=sys.stderr)
PYEOF
check "the recording bot still runs" kill -0 "$REC_PID"

# ---- what is in the file ----
DB=$WORK/rec.db
q() { $PY -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); rows=list(db.execute(sys.argv[2])); db.commit(); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in rows))' "$DB" "$1"; }
check "7 questions recorded for recbot (got $(q 'SELECT count(*) FROM questions'))" test "$(q 'SELECT count(*) FROM questions')" = 7
check "4 missed questions, with their text" test "$(q 'SELECT count(*) FROM questions WHERE missed = 1 AND text IS NOT NULL')" = 4
check "the answered, unmarked thanks is counted but keeps no text" \
	test "$(q "SELECT count(*), count(text) FROM questions WHERE intent = 'thanks'")" = "1|0"
check "carol's greeting, marked wrong by « recbot: faux », keeps its question" \
	test "$(q "SELECT text FROM questions WHERE intent = 'greeting' AND wrong = 1")" = "bonjour"
check "the DIFF answer is marked wrong with its question" \
	test "$(q "SELECT text FROM questions WHERE wrong = 1 AND intent = 'definition' OR wrong = 1 AND intent = 'state'")" = "que veut dire l'état DIFF ?"
check "the room is kept, the asker only as a 64-hex keyed hash" \
	test "$(q "SELECT count(*) FROM questions WHERE room = '#faq' AND length(asker) = 64 AND asker NOT LIKE '%alice%'")" = 7
check "alice and bob ask with different hashes" \
	test "$(q 'SELECT count(DISTINCT asker) FROM questions')" = 3
check "a 32-byte random key is kept in the file" test "$(q 'SELECT length(key) FROM record_key')" = 32
$PY - "$DB" <<'PYEOF' || die "a nick is written in the state file"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("PRAGMA wal_checkpoint(TRUNCATE)"); db.close()
data = open(sys.argv[1], "rb").read()
for nick in (b"alice", b"bob", b"carol"):
    if nick in data:
        sys.exit("FAIL %r is in %s" % (nick, sys.argv[1]))
PYEOF
check "no nick in clear in the state file" true
check "recording is off by default: offbot's state has no recorded question" \
	bash -c "! $PY -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute(\"SELECT 1 FROM questions\")' '$WORK/off.db' 2>/dev/null"

# ---- the report, through ./faqbot (execs build/faqbot-net: SQLite) ----
R=("$ROOT/faqbot" report -c "$WORK/rec.ini")
"${R[@]}" >"$WORK/report.txt" 2>"$WORK/report.err" || { cat "$WORK/report.err" >&2; die "faqbot report"; }
cat "$WORK/report.txt" >&2
check "report: 7 questions, 4 missed" grep -q "^7 question(s): 4 missed, 3 answer(s) marked wrong" "$WORK/report.txt"
first=$(sed -n '/^Missed questions/{n;p}' "$WORK/report.txt")
check "report: the tarte aux pommes group comes first, 3 questions ($first)" \
	grep -q "^ *3x .*tarte aux pommes" <<<"$first"
check "report: the train question is its own group" grep -q "^ *1x .*billet de train" "$WORK/report.txt"
check "report: the wrong answer with its question" \
	grep -A3 "^Answers marked wrong" "$WORK/report.txt" | grep -q "que veut dire l'état DIFF"
check "report: questions per intent" grep -q "^  out_of_scope *4" "$WORK/report.txt"
"${R[@]}" --format csv >"$WORK/report.csv" || die "report --format csv"
$PY - "$WORK/report.csv" <<'PYEOF' || die "the CSV report"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
kinds = [r["kind"] for r in rows]
assert kinds.count("missed") == 2 and kinds.count("wrong") == 3, kinds
assert sum(int(r["count"]) for r in rows if r["kind"] == "day") == 7, rows
m = [r for r in rows if r["kind"] == "missed"]
assert m[0]["count"] == "3" and "tarte" in m[0]["question"], m[0]
print("ok   CSV: days, groups and wrong answers", file=sys.stderr)
PYEOF
"${R[@]}" --since 30d --format jsonl >"$WORK/report.jsonl" || die "report --format jsonl"
$PY - "$WORK/report.jsonl" <<'PYEOF' || { cat "$WORK/report.jsonl" >&2; die "the JSONL report"; }
import datetime, json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
today = datetime.date.today().isoformat()
for o in lines:
    assert set(o) == {"question", "intent", "now"}, o
    assert o["intent"] is None or isinstance(o["intent"], str), o
    datetime.date.fromisoformat(o["now"])
qs = [o["question"] for o in lines]
assert "que veut dire l'état DIFF ?" in qs, qs
assert any("billet de train" in q for q in qs), qs
assert all(o["intent"] is None for o in lines if "tarte" in o["question"]), lines
assert len(qs) == len(set(qs)), qs
print("ok   JSONL: %d examples in the knowledge's format" % len(lines), file=sys.stderr)
PYEOF
check "report --format jsonl: 6 lines (4 missed, 2 more marked wrong)" test "$(wc -l <"$WORK/report.jsonl")" = 6

"${R[@]}" --format html >"$WORK/report.html" || die "report --format html"
check "html: one page with an inline SVG chart" grep -q "<svg xmlns=" "$WORK/report.html"
check "html: no script, nothing loaded from elsewhere" \
	bash -c "! grep -Eiq '<script|src=|href=|@import|url\\(' '$WORK/report.html'"
check "html: the chart has bars" grep -q "<rect " "$WORK/report.html"
mkdir -p "$WORK/chromium"
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium" \
	--window-size=1000,800 --screenshot="$WORK/report.png" "file://$WORK/report.html" \
	>"$WORK/chromium.log" 2>&1 || { tail -n 20 "$WORK/chromium.log" >&2; die "headless chromium"; }
$PY - "$WORK/report.png" <<'PYEOF' || die "the HTML report renders blank"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
px = im.load(); w, h = im.size
colored = dark = 0
for y in range(0, h, 2):
    for x in range(0, w, 2):
        r, g, b = px[x, y]
        if max(r, g, b) - min(r, g, b) > 60:
            colored += 1      # the chart's bars and legend
        elif r + g + b < 300:
            dark += 1         # text
print("screenshot %dx%d: %d coloured, %d dark sampled pixels" % (w, h, colored, dark), file=sys.stderr)
assert colored > 200, "no chart: %d coloured pixels" % colored
assert dark > 200, "no text: %d dark pixels" % dark
print("ok   chromium renders the report with its chart and text", file=sys.stderr)
PYEOF

# ---- record_days: old rows go at start-up; the key stays ----
kill "$REC_PID"; for i in $(seq 50); do kill -0 "$REC_PID" 2>/dev/null || break; sleep 0.1; done
now=$(date +%s)
q "INSERT INTO questions (t, net, asker, intent, confidence, missed, text) VALUES ($((now - 40*86400)), 'local', 'x', 'out_of_scope', 0, 1, 'vieille question')" >/dev/null
q "INSERT INTO questions (t, net, asker, intent, confidence, missed, text) VALUES ($((now - 20*86400)), 'local', 'x', 'out_of_scope', 0, 1, 'question récente')" >/dev/null
key1=$(q 'SELECT hex(key) FROM record_key')
bot_start "$WORK/rec.ini" "$WORK/rec2.log"
for i in $(seq 50); do grep -q "record: 1 question" "$WORK/rec2.log" && break; sleep 0.1; done
check "a question older than record_days (30) is deleted at start-up" \
	test "$(q "SELECT count(*) FROM questions WHERE text = 'vieille question'")" = 0
check "a younger one stays" test "$(q "SELECT count(*) FROM questions WHERE text = 'question récente'")" = 1
check "the asker key survives a restart" test "$(q 'SELECT hex(key) FROM record_key')" = "$key1"
kill "$BOT_PID"; for i in $(seq 50); do kill -0 "$BOT_PID" 2>/dev/null || break; sleep 0.1; done

# ---- --purge ----
"${R[@]}" --purge >"$WORK/purge.txt" || die "report --purge"
check "--purge deletes every question" test "$(q 'SELECT count(*) FROM questions')" = 0
check "--purge deletes the asker key" test "$(q 'SELECT count(*) FROM record_key')" = 0
$PY - "$DB" <<'PYEOF' || die "a purged question is still in the file"
import sys
for suffix in ("", "-wal"):
    try:
        data = open(sys.argv[1] + suffix, "rb").read()
    except FileNotFoundError:
        continue
    for s in ("tarte aux pommes", "billet de train", "DIFF ?"):
        if s.encode() in data:
            sys.exit("FAIL %r is still in %s%s" % (s, sys.argv[1], suffix))
PYEOF
check "purged questions are not left in the file's free pages" true
"${R[@]}" >"$WORK/report2.txt" || die "report after --purge"
check "the report after --purge is empty" grep -q "^0 question(s)" "$WORK/report2.txt"
out=$("$ROOT/faqbot" report -c "$WORK/rec.ini" --format pdf 2>&1) && die "--format pdf accepted"
check "a bad --format is refused with the choices" grep -q "text, csv, html or jsonl" <<<"$out"
log "98-record: $CHECKS_OK checks passed"
