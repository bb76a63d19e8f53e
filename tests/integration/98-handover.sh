#!/usr/bin/env bash
# Hand-over to a person on IRC (InspIRCd): with escalate_to = #support, a
# question the bot refuses (out of scope), or whose date is overdue, is
# answered « je transmets … (n° N) » and posted to #support with who asked
# and where; « !pris N » in #support takes it (the channel is told, and
# the asker, in their channel or privately, is told who took it); a second
# « !pris N » is told who has it; an unknown N is said so; « !pris » outside
# #support does nothing; a question the bot answers is not handed over,
# and without escalate_to nothing is.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs inspircd python3

inspircd_start in
cat >"$WORK/ho.ini" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $WORK/ho.db
[irc.local]
server = 127.0.0.1
port = $in_FAST_PORT
tls = no
nick = hobot
channels = #faq, #support
escalate_to = #support
user_rate = 0
INI
bot_start "$WORK/ho.ini" "$WORK/ho.log"
ROOT=$ROOT PORT=$in_FAST_PORT $PY - <<'PYEOF' || { tail -n 30 "$WORK/ho.log" >&2; die "hand-over"; }
import os, re, sys, time
sys.path.insert(0, os.environ["ROOT"] + "/tests/irc")
from ircclient import Client
port = int(os.environ["PORT"])
cl = {}
for nick, chans in (("alice", ["#faq"]), ("carol", []), ("bob", ["#support"]), ("dave", ["#support", "#faq"])):
    c = Client("127.0.0.1", port, nick).connect(); c.register()
    for ch in chans:
        c.join(ch)
    cl[nick] = c
end = time.monotonic() + 20
while "hobot" not in cl["bob"].names("#support"):
    if time.monotonic() > end:
        sys.exit("FAIL hobot never joined #support")
    time.sleep(0.2)
def ok(s): print("ok   " + s, file=sys.stderr)
def said(c, i, pred, what, t=15):
    return c.wait(lambda m: m.command == "PRIVMSG" and m.nick == "hobot" and pred(m), t, since=i, what=what)
def quiet(c, i, pred, what, t=2.0):
    got = c.collect(lambda m: m.command == "PRIVMSG" and m.nick == "hobot" and pred(m), t, since=i)
    if got:
        sys.exit("FAIL %s: got %r" % (what, got[0].text))

a, b, d, cw = cl["alice"], cl["bob"], cl["dave"], cl["carol"]
ia, ib = a.mark(), b.mark()
a.privmsg("#faq", "hobot: quelle est la recette de la tarte aux pommes ?")
said(a, ia, lambda m: m.target == "#faq" and "Je transmets votre question" in m.text and "n° 1" in m.text,
     "alice told her question is passed on (n° 1)")
m = said(b, ib, lambda m: m.target == "#support" and "n° 1" in m.text, "the question in #support")
if not ("alice" in m.text and "#faq" in m.text and "tarte aux pommes" in m.text and "!pris 1" in m.text):
    sys.exit("FAIL #support is not told who, where, what and how: %r" % m.text)
ok("refused question handed over: %s" % m.text)

ib = b.mark()
a.privmsg("#faq", "hobot: ma session validée le 02/01/2026 n'est toujours pas dans Kairos")
said(b, ib, lambda m: m.target == "#support" and "n° 2" in m.text and "02/01/2026" in m.text,
     "the overdue question in #support")
ok("overdue question handed over")

ic, ib = cw.mark(), b.mark()
cw.privmsg("hobot", "comment réserver un billet de train ?")
said(cw, ic, lambda m: m.target == "carol" and "n° 3" in m.text, "carol told, privately")
m = said(b, ib, lambda m: m.target == "#support" and "n° 3" in m.text, "carol's question in #support")
if "en privé" not in m.text:
    sys.exit("FAIL a private question is not said to be private: %r" % m.text)
ok("private question handed over")

ia, ib = a.mark(), b.mark()
a.privmsg("#faq", "hobot: que veut dire l'état DIFF ?")
said(a, ia, lambda m: m.target == "#faq" and "DIFF" in m.text, "the DIFF answer")
quiet(b, ib, lambda m: m.target == "#support", "an answered question is not handed over")
ok("an answered question stays")

ia, ib, idd = a.mark(), b.mark(), d.mark()
d.privmsg("#faq", "!pris 1")
b.privmsg("#support", "!pris 1")
said(b, ib, lambda m: m.target == "#support" and m.text == "bob: Question n° 1 prise par bob.", "bob takes 1")
said(a, ia, lambda m: m.target == "#faq" and m.text == "alice: bob prend votre question (n° 1) et vous répond.",
     "alice told who took it")
ok("!pris 1: #support and alice told")
quiet(d, idd, lambda m: m.target == "#faq" and "pris" in m.text, "« !pris » outside #support does nothing", 0.5)
idd = d.mark()
d.privmsg("#support", "!pris 1")
said(d, idd, lambda m: m.target == "#support" and "déjà prise par bob" in m.text, "1 already taken")
d.privmsg("#support", "!pris 99")
said(d, idd, lambda m: m.target == "#support" and "Pas de question n° 99" in m.text, "no 99")
ic = cw.mark()
d.privmsg("#support", "!pris 3")
said(cw, ic, lambda m: m.target == "carol" and m.text == "dave prend votre question (n° 3) et vous répond.",
     "carol told privately who took it")
ok("!pris: taken, unknown, private asker")
PYEOF
check "the bot still runs" kill -0 "$BOT_PID"

# Without escalate_to: nothing is handed over (the old behaviour).
kill "$BOT_PID"; for i in $(seq 50); do kill -0 "$BOT_PID" 2>/dev/null || break; sleep 0.1; done
sed -i '/^escalate_to/d' "$WORK/ho.ini"
bot_start "$WORK/ho.ini" "$WORK/ho2.log"
ROOT=$ROOT PORT=$in_FAST_PORT $PY - <<'PYEOF' || die "without escalate_to"
import os, sys, time
sys.path.insert(0, os.environ["ROOT"] + "/tests/irc")
from ircclient import Client
port = int(os.environ["PORT"])
a = Client("127.0.0.1", port, "alice2").connect(); a.register(); a.join("#faq")
b = Client("127.0.0.1", port, "bob2").connect(); b.register(); b.join("#support")
end = time.monotonic() + 20
while "hobot" not in b.names("#support"):
    if time.monotonic() > end:
        sys.exit("FAIL hobot never joined")
    time.sleep(0.2)
ia, ib = a.mark(), b.mark()
a.privmsg("#faq", "hobot: quelle est la recette de la tarte aux pommes ?")
m = a.wait(lambda m: m.command == "PRIVMSG" and m.nick == "hobot" and m.target == "#faq", 15, since=ia)
if "transmets" in m.text:
    sys.exit("FAIL handed over without escalate_to: %r" % m.text)
got = b.collect(lambda m: m.command == "PRIVMSG" and m.nick == "hobot", 1.5, since=ib)
if got:
    sys.exit("FAIL #support got %r without escalate_to" % got[0].text)
print("ok   without escalate_to nothing is handed over", file=sys.stderr)
PYEOF
log "98-handover: all checks passed"
