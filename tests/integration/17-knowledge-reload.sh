#!/usr/bin/env bash
# 17-knowledge-reload.sh - a `kill -HUP` reload that meets a knowledge
# file that is not text keeps the old knowledge and the bot keeps
# answering on IRC (ngircd): a NUL byte in lexicon.ini (it used to be cut
# there and loaded), intents.ini as a FIFO with no writer (the reload
# blocked the whole bot for ever), stages.ini as a symbolic link to
# /dev/zero (read until memory ran out), answers.ini as a directory and
# calendar.ini over 4 MiB, and the config itself as a FIFO.  Each refusal
# is logged with the file's name; after each one the old answer is still
# given within seconds, and a good reload at the end still takes effect.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs ngircd python3

ngircd_start ng
log "ngircd on $ng_PORT"

cp -r "$ROOT/knowledge" "$WORK/kb"
MARK_OLD="Base d'origine vérifiée."
MARK_NEW="Base rechargée vérifiée."
/usr/bin/python3 - "$WORK/kb/answers.ini" "$MARK_OLD" <<'PY'
import re, sys
p, mark = sys.argv[1], sys.argv[2]
t = open(p, encoding="utf-8").read()
n = re.sub(r"(\[definition\]\ntext = )", r"\g<1>" + mark + " ", t, count=1)
assert n != t, "no [definition] text line in answers.ini"
open(p, "w", encoding="utf-8").write(n)
PY

cat >"$WORK/bot.ini" <<INI
[bot]
knowledge = $WORK/kb
state = $WORK/faqbot.db

[irc.local]
server = 127.0.0.1
port = $ng_PORT
tls = no
nick = faqbot
user_rate = 1000
user_burst = 1000
throttle_burst = 20
throttle_rate = 20
INI
bot_start "$WORK/bot.ini"

export IRC_PORT=$ng_PORT KB_DIR=$WORK/kb MARK_OLD MARK_NEW BOT_PID BOT_LOG WORK ROOT CFG=$WORK/bot.ini
$PY - <<'PYEOF' || { tail -n 30 "$BOT_LOG" | sed 's/^/bot | /' >&2; die "reloads with files that are not text"; }
import os, re, signal, sys, time
E = os.environ
sys.path.insert(0, os.path.join(E["ROOT"], "tests", "irc"))
from ircclient import Client, Timeout

KB, BOT = E["KB_DIR"], "faqbot"
Q = "c'est quoi le délai d'affichage ?"

def log(s):
	sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), s))

def fail(s):
	log("FAIL: " + s)
	sys.exit(1)

def bot_log():
	return open(E["BOT_LOG"], encoding="utf-8", errors="replace").read()

c = Client("127.0.0.1", int(E["IRC_PORT"]), "asker", log=os.path.join(E["WORK"], "clients.log")).connect()
c.register()

def ask(what, timeout=10):
	"""The bot's private answer to Q, all its lines joined."""
	i = c.mark()
	c.privmsg(BOT, Q)
	try:
		c.wait(lambda m: m.command == "PRIVMSG" and m.nick == BOT, timeout, since=i,
		       what="the answer " + what)
	except Timeout as e:
		fail(str(e))
	time.sleep(0.5)
	return " ".join(m.text for m in c.received(lambda m: m.command == "PRIVMSG" and m.nick == BOT, since=i))

# the bot is registered once it answers (up to 30 s under ASan)
end = time.monotonic() + 30
while True:
	i = c.mark()
	c.privmsg(BOT, Q)
	try:
		c.wait(lambda m: m.command == "PRIVMSG" and m.nick == BOT, 2, since=i, quiet=True)
		break
	except Timeout:
		if time.monotonic() > end:
			fail("the bot never answered; is it connected?")
time.sleep(0.5)
a = ask("before any reload")
if E["MARK_OLD"] not in a:
	fail("the first answer lacks %r: %r" % (E["MARK_OLD"], a))
log("ok   the bot answers from the copied knowledge")

def hup_refused(name, fname, want):
	n0 = len(bot_log())
	t0 = time.monotonic()
	os.kill(int(E["BOT_PID"]), signal.SIGHUP)
	rx = re.compile(r"reload refused.*" + re.escape(os.path.join(KB, fname)) + r".*" + re.escape(want))
	while not rx.search(bot_log()[n0:]):
		if time.monotonic() - t0 > 10:
			fail("%s: no log line 'reload refused ... %s ... %s' within 10 s; log since the HUP:\n%s"
			     % (name, fname, want, bot_log()[n0:][-2000:]))
		time.sleep(0.1)
	log("ok   %s: the reload is refused, naming %s" % (name, fname))
	a = ask("after the refused reload (%s)" % name)
	if E["MARK_OLD"] not in a:
		fail("%s: the old knowledge no longer answers: %r" % (name, a))
	log("ok   %s: the old knowledge still answers (%.1f s after the HUP)" % (name, time.monotonic() - t0))

def path(f):
	return os.path.join(KB, f)

def aside(f):
	os.rename(path(f), path(f) + ".good")

def back(f):
	if os.path.isdir(path(f)):
		os.rmdir(path(f))
	else:
		os.unlink(path(f))
	os.rename(path(f) + ".good", path(f))

# a NUL byte in the middle of line 3 of lexicon.ini
aside("lexicon.ini")
lines = open(path("lexicon.ini") + ".good", "rb").read().split(b"\n")
lines[2] = lines[2] + b"\0 la suite"
open(path("lexicon.ini"), "wb").write(b"\n".join(lines))
hup_refused("NUL byte in lexicon.ini", "lexicon.ini", ":3: NUL byte")
back("lexicon.ini")

aside("intents.ini")
os.mkfifo(path("intents.ini"))
hup_refused("intents.ini is a FIFO", "intents.ini", "is a FIFO (named pipe), not a regular file")
back("intents.ini")

aside("stages.ini")
os.symlink("/dev/zero", path("stages.ini"))
hup_refused("stages.ini links to /dev/zero", "stages.ini", "is a character device, not a regular file")
back("stages.ini")

aside("answers.ini")
os.mkdir(path("answers.ini"))
hup_refused("answers.ini is a directory", "answers.ini", "is a directory, not a regular file")
back("answers.ini")

aside("calendar.ini")
with open(path("calendar.ini"), "w", encoding="utf-8") as f:
	f.write(open(path("calendar.ini") + ".good", encoding="utf-8").read())
	f.write(("# " + "x" * 1000 + "\n") * 5000)
hup_refused("calendar.ini over 4 MiB", "calendar.ini", "over the limit of 4194304 bytes")
back("calendar.ini")

# the config itself, read by the same reader
cfg = E["CFG"]
os.rename(cfg, cfg + ".good")
os.mkfifo(cfg)
KB_SAVE, KB = KB, os.path.dirname(cfg)
hup_refused("the config is a FIFO", "bot.ini", "is a FIFO (named pipe), not a regular file")
KB = KB_SAVE
os.unlink(cfg)
os.rename(cfg + ".good", cfg)

# a good reload still takes effect
t = open(path("answers.ini"), encoding="utf-8").read()
open(path("answers.ini"), "w", encoding="utf-8").write(t.replace(E["MARK_OLD"], E["MARK_NEW"]))
n0 = len(bot_log())
os.kill(int(E["BOT_PID"]), signal.SIGHUP)
end = time.monotonic() + 10
while "reloaded" not in bot_log()[n0:]:
	if time.monotonic() > end:
		fail("the good reload was not logged within 10 s")
	time.sleep(0.1)
a = ask("after the good reload")
if E["MARK_NEW"] not in a:
	fail("the good reload did not take effect: %r" % a)
log("ok   a good reload afterwards takes effect")
c.close()
PYEOF
check "the bot is still running" kill -0 "$BOT_PID"
if grep -nE 'AddressSanitizer|runtime error|Segmentation' "$BOT_LOG"; then die "sanitizer or crash report in the bot log"; fi
log "17-knowledge-reload: all checks passed"
