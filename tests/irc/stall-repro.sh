#!/usr/bin/env bash
# IRC over TLS (ngircd), default throttle (burst 4, 1 line/s): the ten-line
# answer to "les etapes de diffusion" arrives whole, at the throttle's pace
# and without the asker sending anything else, 20 times in a row, across a
# valid SIGHUP reload, two refused ones, and [matrix.local] dropped and
# added back (full build; its Matrix peer is a closed port, so its retry
# timers share the loop's heap with the IRC throttle timer).  Issue 3: with
# other timers in the heap, loop_timer_add returned the wrong id and the
# throttle tick was lost, holding the lines until the user spoke again.
# Not run by `make test` (about 4 minutes, and the bug showed in 1 or 2
# rounds of 20): its deterministic guard is test_loop.c's
# test_timer_ids_distinct.  Run it by hand: bash tests/irc/stall-repro.sh
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs ngircd python3 openssl

ngircd_start ng tls
log "ngircd TLS on $ng_TLS_PORT"

write_ini() {
	cat >"$WORK/bot.ini" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $WORK/faqbot.db

[irc.local]
server = 127.0.0.1
port = $ng_TLS_PORT
tls = yes
tls_ca_file = $WORK/certs/ca.pem
nick = faqbot
channels = #faq
INI
	if [ "${1:-}" = matrix ]; then
		cat >>"$WORK/bot.ini" <<INI

[matrix.local]
homeserver = http://127.0.0.1:$(free_port)
user = @faqbot:localhost
password = stall-test-pw
allow_plaintext_password = yes
INI
	fi
	chmod 600 "$WORK/bot.ini"
}
write_ini matrix
bot_start "$WORK/bot.ini"

export PORT=$ng_TLS_PORT CA=$WORK/certs/ca.pem WORK ROOT
Q="faqbot : les etapes de diffusion svp"
"$FAQBOT" ask --json "${Q#faqbot : }" >"$WORK/expected.json" || die "faqbot ask failed"
export Q
$PY - <<'PYEOF' &
import json, os, sys, time
sys.path.insert(0, os.environ["ROOT"] + "/tests/irc")
from ircclient import Client
W = os.environ["WORK"]
want = [l for l in json.load(open(W + "/expected.json"))["answer"].split("\n") if l.strip()]
want[0] = "alice: " + want[0]  # a channel answer names the asker
if len(want) < 8:
	print("FAIL: the stages answer has %d lines, expected a long one" % len(want), flush=True)
	sys.exit(1)
c = Client("127.0.0.1", int(os.environ["PORT"]), "alice", tls=True, ca=os.environ["CA"],
           log=W + "/alice.log").connect()
c.register(); c.join("#faq")
if not any(m.command == "353" and "faqbot" in m.text for m in c.lines):
	c.wait(lambda m: m.command == "JOIN" and m.nick == "faqbot", 20, what="the bot joining")
fails = 0
for i in range(20):
	open(W + "/round", "w").write(str(i))
	time.sleep(4.5)   # the bucket refills its burst of 4 at 1 line/s
	s = c.mark()
	t0 = time.monotonic()
	c.privmsg("#faq", os.environ["Q"])
	mine = lambda m: m.nick == "faqbot" and m.command == "PRIVMSG"
	# Burst 4 then 1 line/s: the last line is due after len-4 s; 4 s spare.
	end = t0 + len(want)
	while len(c.received(mine, s)) < len(want) and time.monotonic() < end:
		time.sleep(0.05)
	got = c.received(mine, s)
	ts = " ".join("%.1f" % (m.t - t0) for m in got)
	ok = [m.text for m in got] == want
	print("round %d: %d/%d lines at %s%s" % (i, len(got), len(want), ts, "" if ok else "  <- FAIL"), flush=True)
	if not ok:
		fails += 1
		# The rest comes when the user speaks again (issue 3): let it out
		# before the next round, so each round is judged alone.
		c.privmsg("#faq", "hello")
		c.collect(lambda m: False, len(want))
open(W + "/round", "w").write("done")
sys.exit(1 if fails else 0)
PYEOF
CPID=$!
track_pid $CPID
wait_round() { while [ "$(cat "$WORK/round" 2>/dev/null)" != "$1" ]; do kill -0 $CPID 2>/dev/null || break; sleep 0.2; done; }
wait_round 3; write_ini matrix; kill -HUP "$BOT_PID"; log "HUP (valid)"
wait_round 6; printf '[irc.local]\nport = nope\n' >"$WORK/bot.ini"; kill -HUP "$BOT_PID"; log "HUP (broken)"
wait_round 8; printf 'garbage\n[[\n' >"$WORK/bot.ini"; kill -HUP "$BOT_PID"; log "HUP (broken)"
wait_round 10; write_ini; kill -HUP "$BOT_PID"; log "HUP (drops [matrix.local])"
wait_round 13; write_ini matrix; kill -HUP "$BOT_PID"; log "HUP (adds [matrix.local] back)"
wait "$CPID" || { tail -n 30 "$BOT_LOG" | sed 's/^/bot | /' >&2; die "the stages answer arrived whole every time"; }
check "the bot is still running" kill -0 "$BOT_PID"
log "22-irc-tls-stall: all checks passed"
