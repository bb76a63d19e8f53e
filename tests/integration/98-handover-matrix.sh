#!/usr/bin/env bash
# Hand-over to a person on Matrix (issue 14), on a real Synapse: with
# escalate_to = the staff room's id in [matrix.NAME], a question the bot
# refuses is answered « je transmets … (n° N) » in the asker's room, and
# posted in the staff room with who asked and a matrix.to link to the
# question's event.  The first reaction on that post (any key) takes it:
# the staff room is told who did, and the asker gets a reply to their
# question saying who takes it; a second reaction says nothing more.  A
# question the bot answers is not handed over; « !pris N » typed in the
# staff room also works; a reaction on the post in another room, or on
# another message of the bot's, takes nothing.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"
PY=/usr/bin/python3

synapse_start
matrix_users
STAFF=$(as bob room staff --invite "$BOT_ID") || die "staff room"
as carol join staff
as alice room lobby --invite "$BOT_ID" >/dev/null || die "lobby room"
as carol join lobby
bot_config "$SYN_URL" "escalate_to = $STAFF"
bot_start
check "the bot joins the lobby" as alice wait-join lobby "$BOT_ID"
check "the bot joins the staff room" as bob wait-join staff "$BOT_ID"

as alice ask lobby cake --prefix "faqbot: " --text "quelle est la recette de la tarte aux pommes ?"
check "the refused question is answered « je transmets » with its number" \
	as alice expect lobby cake "$BOT_ID" --settle 0 --body-has "Je transmets votre question à l'équipe (n° 1)"
as alice ask lobby diff --prefix "faqbot: " --text "que veut dire l'état DIFF ?"
check "an answered question is not handed over" \
	as alice expect lobby diff "$BOT_ID" --settle 0 --body-lacks "Je transmets"
as alice ask lobby soup --prefix "faqbot: " --text "comment faire une soupe au potiron ?"
check "a second refused question gets n° 2" \
	as alice expect lobby soup "$BOT_ID" --settle 0 --body-has "(n° 2)"

STATE_FILE=$STATE SYN_URL=$SYN_URL BOT_ID=$BOT_ID $PY - <<'PYEOF' || { grep -v "batch:" "$WORK/bot.$BOT_N.log" | tail -n 30 >&2; die "hand-over"; }
import json, os, sys, time, urllib.parse, urllib.request
st = json.load(open(os.environ["STATE_FILE"]))
hs, bot = os.environ["SYN_URL"], os.environ["BOT_ID"]
lobby, staff = st["rooms"]["lobby"], st["rooms"]["staff"]
ok = 0
def tok(u):
    return st["users"][u + "/main"]["access_token"]
def call(method, path, user, body=None):
    req = urllib.request.Request(hs + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + tok(user), "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=30))
def msgs(room, user):
    return call("GET", "/_matrix/client/v3/rooms/%s/messages?dir=f&limit=200" % urllib.parse.quote(room), user)["chunk"]
def bot_says(room, user, text, n=1, timeout=20):
    end = time.monotonic() + timeout
    while True:
        got = [e for e in msgs(room, user) if e["sender"] == bot and e["type"] == "m.room.message"
               and text in e["content"].get("body", "")]
        if len(got) >= n or time.monotonic() > end:
            return got
        time.sleep(0.3)
def check(what, cond):
    global ok
    if not cond:
        sys.exit("FAIL " + what)
    ok += 1
    print("ok   " + what, file=sys.stderr)
txn = [0]
def react(user, room, eid, key):
    txn[0] += 1
    call("PUT", "/_matrix/client/v3/rooms/%s/send/m.reaction/t%d-%d" % (urllib.parse.quote(room), time.time_ns(), txn[0]), user,
         {"m.relates_to": {"rel_type": "m.annotation", "event_id": eid, "key": key}})
def send(user, room, body):
    txn[0] += 1
    return call("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/m%d-%d" % (urllib.parse.quote(room), time.time_ns(), txn[0]), user,
                {"msgtype": "m.text", "body": body})["event_id"]

q1 = [e for e in msgs(lobby, "alice") if e["sender"] != bot and "tarte" in e["content"].get("body", "")][0]["event_id"]
posts = bot_says(staff, "bob", "Question n° 1 ")
check("the staff room gets the post of question 1", len(posts) == 1)
body = posts[0]["content"]["body"]
check("the post says who asked and the question (%s)" % body, "@alice:localhost" in body and "tarte aux pommes" in body)
link = "https://matrix.to/#/%s/%s" % (lobby, q1)
check("the post links the question's event (%s)" % link, link in body)
check("the post says how to take it", "réagissez à ce message" in body)
check("the post is not a reply to anything in the staff room", "m.relates_to" not in posts[0]["content"])
lobby_answers = [e for e in msgs(lobby, "alice") if e["sender"] == bot]
# a reaction on another of the bot's messages (its answer in the lobby) takes nothing
react("carol", lobby, lobby_answers[0]["event_id"], "\U0001F44D")
react("carol", staff, posts[0]["event_id"], "\U0001F44D")
taken = bot_says(staff, "bob", "Question n° 1 prise par @carol:localhost")
check("the first reaction takes question 1 (the staff room is told)", len(taken) == 1)
told = bot_says(lobby, "alice", "@carol:localhost prend votre question (n° 1)")
check("the asker is told who took it", len(told) == 1)
rel = (told[0]["content"].get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id")
check("... as a reply to their question", rel == q1)
react("bob", staff, posts[0]["event_id"], "\U0001F389")
time.sleep(2)
check("a second reaction says nothing more",
      len(bot_says(staff, "bob", "prise par", timeout=0)) == 1 and len(bot_says(lobby, "alice", "prend votre question", timeout=0)) == 1)
# « !pris 2 » typed in the staff room
send("bob", staff, "!pris 2")
check("« !pris 2 » in the staff room takes question 2", len(bot_says(staff, "bob", "Question n° 2 prise par @bob:localhost")) == 1)
check("... and the asker is told", len(bot_says(lobby, "alice", "@bob:localhost prend votre question (n° 2)")) == 1)
check("the answered DIFF question was never posted", not bot_says(staff, "bob", "DIFF", timeout=0))
print("ok   %d checks" % ok, file=sys.stderr)
PYEOF
check "hand-over on Matrix: post, link, claim by reaction, !pris" true
CHECKS_DONE=1
log "98-handover-matrix: $CHECKS_OK checks passed"
