#!/usr/bin/env bash
# A reload that changes the networks themselves, on ngircd (run.c's one
# config-apply path through the transports' ops, issue 12): with
# [irc.one] and [irc.two] running, a SIGHUP with a config where irc.one
# has new settings (auto_answer on, another quit message), irc.two is
# gone and [irc.three] is new: irc.two QUITs, irc.three joins, irc.one
# stays connected and answers an unaddressed question at once (its
# settings were taken, not its connection).  Then SIGTERM: the remaining
# networks QUIT with their current quit message and faqbot exits 0.
# Under ASan: the reload freed the old config at once, which the
# networks must no longer read.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs ngircd python3

ngircd_start ng
log "ngircd on $ng_PORT"

section() { # NAME NICK [extra lines]
	printf '\n[irc.%s]\nserver = 127.0.0.1\nport = %s\ntls = no\nnick = %s\nchannels = #reload\n' \
		"$1" "$ng_PORT" "$2"
	printf 'throttle_rate = 0\nuser_rate = 100\nuser_burst = 100\n%s\n' "${3:-}"
}
head_ini() {
	printf '[bot]\nknowledge = %s\nstate = %s\ncommand_prefix = !\n' "$ROOT/knowledge" "$WORK/faqbot.db"
}
{ head_ini; section one rbot1 "quit_message = one v1"; section two rbot2 "quit_message = two v1"; } >"$WORK/bot.ini"
{ head_ini; section one rbot1 "$(printf 'quit_message = one v2\nauto_answer = #reload')"
  section three rbot3 "quit_message = three v2"; } >"$WORK/bot2.ini"

# The binary bot_start would pick (tests/irc/servers.sh).
BIN=${FAQBOT_RUN:-$FAQBOT}
[ -z "${FAQBOT_RUN:-}" ] && [ -x "$ROOT/build/faqbot-asan" ] && [ ! "$ROOT/build/faqbot-asan" -ot "$FAQBOT" ] &&
	BIN=$ROOT/build/faqbot-asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
chmod 600 "$WORK/bot.ini" "$WORK/bot2.ini"
BOT_LOG=$WORK/bot.log
: >"$BOT_LOG"
log "faqbot: $BIN"

# The watcher joins first, so it sees every JOIN and QUIT; it starts the
# bot itself (and kills it on a failure).
export IRC_PORT=$ng_PORT WORK ROOT BIN
$PY - <<'PYEOF' || { tail -n 40 "$BOT_LOG" | sed 's/^/bot | /' >&2; die "network changes on reload"; }
import os, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests/irc"))
from ircclient import Client

def log(s):
	print("[%s] %s" % (time.strftime("%H:%M:%S"), s), file=sys.stderr, flush=True)

bot = None

def fail(s):
	log("FAIL: " + s)
	if bot and bot.poll() is None:
		bot.kill()
	sys.exit(1)

def on_error(t, v, tb):
	fail("%s: %s" % (t.__name__, v))
sys.excepthook = on_error

port = int(os.environ["IRC_PORT"])
w = Client("127.0.0.1", port, "watcher").connect()
w.register()
w.join("#reload")
start = w.mark()
# bot_start, from here: the shell's helper cannot run inside Python
out = open(os.path.join(os.environ["WORK"], "bot.log"), "ab")
bot = subprocess.Popen([os.environ["BIN"], "run", "-c", os.path.join(os.environ["WORK"], "bot.ini")],
                       stdout=out, stderr=out)

def joined(nick, since):
	return w.wait(lambda m: m.command == "JOIN" and m.nick == nick, 20, since=since,
	              what="%s joining #reload" % nick)

joined("rbot1", start)
joined("rbot2", start)
log("ok   irc.one and irc.two joined")
q = "quand sera visible ma session validée hier sur Kairos ?"
mk = w.mark()
w.privmsg("#reload", q)
if w.collect(lambda m: m.command == "PRIVMSG" and m.nick in ("rbot1", "rbot2"), 1.5, since=mk):
	fail("an unaddressed question was answered before auto_answer was set")
log("ok   no auto_answer yet: an unaddressed question gets no answer")

os.replace(os.path.join(os.environ["WORK"], "bot2.ini"), os.path.join(os.environ["WORK"], "bot.ini"))
os.chmod(os.path.join(os.environ["WORK"], "bot.ini"), 0o600)
mk = w.mark()
bot.send_signal(signal.SIGHUP)
m = w.wait(lambda m: m.command == "QUIT" and m.nick == "rbot2", 10, since=mk,
           what="irc.two (removed) quitting")
if "two v1" not in m.text: # ngircd quotes it
	fail("irc.two quit with %r, not its quit message" % m.text)
log("ok   irc.two, removed, quits with its own message (%r)" % m.text)
joined("rbot3", mk)
log("ok   irc.three, new, joins")
if w.received(lambda m: m.command == "QUIT" and m.nick == "rbot1", since=mk):
	fail("irc.one, kept, was disconnected by the reload")
mk = w.mark()
w.privmsg("#reload", q)
a = w.wait(lambda m: m.command == "PRIVMSG" and m.nick == "rbot1", 10, since=mk,
           what="irc.one answering with auto_answer now on")
log("ok   irc.one took its new settings: it answers an unaddressed question (%r...)" % a.text[:40])

mk = w.mark()
bot.send_signal(signal.SIGTERM)
for nick, msg in (("rbot1", "one v2"), ("rbot3", "three v2")):
	m = w.wait(lambda m, nick=nick: m.command == "QUIT" and m.nick == nick, 10, since=mk,
	           what="%s quitting on SIGTERM" % nick)
	if msg not in m.text:
		fail("%s quit with %r, not %r (the reloaded setting)" % (nick, m.text, msg))
log("ok   SIGTERM: every network quits with its current quit message")
try:
	rc = bot.wait(10)
except subprocess.TimeoutExpired:
	fail("faqbot did not exit within 10 s of SIGTERM")
if rc != 0:
	fail("faqbot exited %d after SIGTERM" % rc)
log("ok   faqbot exits 0")
w.close()
PYEOF
if grep -nE 'AddressSanitizer|LeakSanitizer|runtime error|Segmentation' "$BOT_LOG"; then die "sanitizer or crash report in the bot log"; fi
log "24-irc-reload-networks: all checks passed"
