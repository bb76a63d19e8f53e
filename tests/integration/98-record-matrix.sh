#!/usr/bin/env bash
# Feedback on Matrix (issue 14): with [bot] record_questions = yes, on a
# real Synapse, a 👎 reaction (m.reaction, m.annotation) on one of the bot's
# answers marks it wrong, keeping its question, and a 👍 (with a skin tone)
# is recorded as approval; another emoji, or a reaction on a message that
# is not the bot's answer, records nothing.  `faqbot report` lists the
# answer marked wrong with its question; the room and the question's event
# are kept, the asker only as a keyed hash.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"
PY=/usr/bin/python3

synapse_start
matrix_users
bot_config "$SYN_URL" ""
sed -i 's/^\[bot\]$/[bot]\nrecord_questions = yes/' "$BOT_CFG"
bot_start

as alice room lobby --invite "$BOT_ID" >/dev/null
as bob join lobby
check "the bot joins" as alice wait-join lobby "$BOT_ID"
as alice ask lobby diff --prefix "faqbot: " --text "que veut dire l'état DIFF ?"
as alice expect lobby diff "$BOT_ID" --settle 0 >/dev/null
as bob ask lobby sais --prefix "faqbot: " --text "c'est quoi l'état SAIS ?"
as bob expect lobby sais "$BOT_ID" --settle 0 >/dev/null
as alice ask lobby cake --prefix "faqbot: " --text "quelle est la recette de la tarte aux pommes ?"
as alice expect lobby cake "$BOT_ID" --settle 0 >/dev/null

STATE_FILE=$STATE SYN_URL=$SYN_URL BOT_ID=$BOT_ID $PY - <<'PYEOF' || die "reactions"
import json, os, sys, time, urllib.parse, urllib.request
st = json.load(open(os.environ["STATE_FILE"]))
hs, bot = os.environ["SYN_URL"], os.environ["BOT_ID"]
rid = st["rooms"]["lobby"]
def tok(u):
    return st["users"][u + "/main"]["access_token"]
def call(method, path, user, body=None):
    req = urllib.request.Request(hs + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + tok(user), "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=30))
msgs = call("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=100" % urllib.parse.quote(rid), "alice")["chunk"]
by_id = {e["event_id"]: e for e in msgs}
answers = {}
for e in msgs:
    if e["sender"] == bot and e["type"] == "m.room.message":
        q = e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        if q in by_id:
            answers[by_id[q]["content"]["body"]] = e["event_id"]
def answer_to(text):
    for body, eid in answers.items():
        if text in body:
            return eid
    sys.exit("FAIL no answer of the bot to %r among %r" % (text, list(answers)))
txn = [0]
def react(user, eid, key):
    txn[0] += 1
    call("PUT", "/_matrix/client/v3/rooms/%s/send/m.reaction/t%d-%d" % (urllib.parse.quote(rid), time.time_ns(), txn[0]), user,
         {"m.relates_to": {"rel_type": "m.annotation", "event_id": eid, "key": key}})
question_ev = [e["event_id"] for e in msgs if e["sender"] != bot and "DIFF" in e["content"].get("body", "")][0]
react("alice", answer_to("DIFF"), "\U0001F44E")              # thumbs down
react("bob", answer_to("SAIS"), "\U0001F44D\U0001F3FD")      # thumbs up, skin tone
react("bob", answer_to("tarte"), "\U0001F389")               # party popper: nothing
react("bob", question_ev, "\U0001F44E")                      # on a question, not an answer: nothing
print("ok   reactions sent", file=sys.stderr)
PYEOF
wait_log "feedback on the answer" 20 || { grep -v "batch:" "$WORK/bot.$BOT_N.log" | tail -n 20 >&2; die "the bot logs no recorded reaction"; }
check "the bot logs a recorded reaction" true
sleep 1
DB=$WORK/faqbot.db
q() { $PY -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in db.execute(sys.argv[2])))' "$DB" "$1"; }
check "👎 marks the DIFF answer wrong, with its question (got $(q 'SELECT wrong, feedback, text FROM questions WHERE intent <> "out_of_scope"'))" \
	test "$(q "SELECT count(*) FROM questions WHERE wrong = 1 AND feedback = -1 AND text LIKE '%DIFF%'")" = 1
check "👍🏽 is recorded on the SAIS answer, which keeps no text" \
	test "$(q "SELECT count(*) FROM questions WHERE feedback = 1 AND wrong = 0 AND text IS NULL")" = 1
check "another emoji, or a reaction on a question, records nothing" \
	test "$(q "SELECT count(*) FROM questions WHERE feedback <> 0")" = 2
check "the question's event and the room are kept" \
	test "$(q "SELECT count(*) FROM questions WHERE event LIKE '\$%' AND room LIKE '!%'")" = 3
check "no Matrix id in clear in the asker column" \
	test "$(q "SELECT count(*) FROM questions WHERE asker LIKE '%@%' OR asker LIKE '%alice%'")" = 0
"$ROOT/faqbot" report -c "$BOT_CFG" >"$WORK/report.txt" || die "faqbot report"
cat "$WORK/report.txt" >&2
check "the report lists the answer marked wrong with its question" \
	grep -A2 "^Answers marked wrong" "$WORK/report.txt" | grep -q "que veut dire l'état DIFF"
check "the report counts the thumbs up" grep -q "1 answer(s) approved" "$WORK/report.txt"
CHECKS_DONE=1
log "98-record-matrix: $CHECKS_OK checks passed"
