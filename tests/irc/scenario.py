"""tests/irc/scenario.py - the checks of the IRC integration tests, run by
tests/integration/2N-irc-*.sh once the servers and the bot are up:
`scenario.py PHASE` with the setting in environment variables (IRC_PORT,
BOT_NICK, BOT_PID, BOT_LOG, FAQBOT, WORK...).  Each check prints
"ok   NAME" or "FAIL NAME: expected ..., got ..." and the phase exits 1 at
the first failure.  What the bot should say comes from `faqbot ask` on the
same question, so the checks follow the knowledge base, not a copy of it.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ircclient import Client, Timeout, irc_lower  # noqa: E402

ENV = os.environ
HOST = "127.0.0.1"
LOGDIR = ENV.get("WORK", "/tmp")
CHECKS = 0


class Fail(Exception):
	pass


def log(s):
	sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), s))
	sys.stderr.flush()


def ok(name):
	global CHECKS
	CHECKS += 1
	log("ok   " + name)


def check(name, cond, detail=""):
	if not cond:
		raise Fail("%s: %s" % (name, detail))
	ok(name)


_users = [0]


def client(nick, port=None, **kw):
	"""A test client.  Each gets a user name of its own ("tN"): the bot's
	per-user limits count user@host (issue 10), and every client here
	comes from 127.0.0.1."""
	if not kw.get("user"):
		_users[0] += 1
		kw["user"] = "t%d" % _users[0]
	c = Client(HOST, int(port or ENV["IRC_PORT"]), nick,
	           log=os.path.join(LOGDIR, "clients.log"), **kw)
	return c.connect()


def clients(specs):
	"""Connects and registers several clients at once (InspIRCd completes
	registrations on a one-second tick, so in parallel it costs one)."""
	sasl = [kw.pop("sasl", None) for _, kw in specs]
	out = [client(n, **kw) for n, kw in specs]
	errs = []

	def reg(c, sa):
		try:
			r = c.register(caps=("message-tags", "server-time", "multi-prefix"), sasl=sa)
			if sa and r != "903":
				errs.append("SASL %s for %s: %s" % (sa[0], c.nick, r))
		except Exception as e:  # reported below
			errs.append(e)
	ts = [threading.Thread(target=reg, args=(c, sa)) for c, sa in zip(out, sasl)]
	for t in ts:
		t.start()
	for t in ts:
		t.join()
	if errs:
		raise Fail("test client registration: %s" % errs[0])
	return out


def squash(s):
	return re.sub(r"\s+", "", s)


_answers = {}


def expected(question):
	"""The answer `faqbot ask` gives (same knowledge, same day)."""
	if question not in _answers:
		r = subprocess.run([ENV["FAQBOT"], "ask", question], capture_output=True,
		                   timeout=10, env=dict(ENV, TZ="Europe/Paris"))
		if r.returncode != 0 or not r.stdout.strip():
			raise Fail("faqbot ask %r: exit %d, stderr %s" % (question, r.returncode,
			                                                    r.stderr.decode()[-300:]))
		_answers[question] = r.stdout.decode("utf-8").strip()
	return _answers[question]


def is_bot(m, nick):
	return m.nick is not None and irc_lower(m.nick) == irc_lower(nick)


def strip_nick(text, asker):
	for sep in (": ", ", ", " "):
		if text.startswith(asker + sep):
			return text[len(asker) + len(sep):]
	return text


def bot_says(c, bot, target, since):
	"""PRIVMSG lines from the bot to target (a channel, or c itself)."""
	t = irc_lower(target)
	return c.received(lambda m: m.command == "PRIVMSG" and is_bot(m, bot)
	                  and irc_lower(m.target) == t, since=since)


def await_answer(name, c, bot, target, asker, question, since, timeout=15, prefixed=True):
	"""Waits until the bot's lines to target after since hold the whole
	answer to question; checks the nick prefix, the 512-byte limit, UTF-8
	and that nothing is lost.  Returns the lines."""
	want = squash(expected(question))
	end = time.monotonic() + timeout
	lines = []
	while True:
		lines = bot_says(c, bot, target, since)
		got = squash("".join(strip_nick(m.text, asker) for m in lines))
		if len(got) >= len(want) or time.monotonic() > end or c.closed:
			break
		time.sleep(0.05)
	shown = "\n    ".join(repr(m) for m in lines) or "(nothing)"
	if not lines:
		raise Fail("%s: expected the bot (%s) to answer %s in %s within %ds; got nothing. "
		           "Last lines:\n    %s" % (name, bot, asker, target, timeout,
		                                    "\n    ".join(repr(m) for m in c.lines[since:][-10:])))
	if prefixed:
		check(name + ": reply starts with the asker's nick", lines[0].text.startswith(asker),
		      "expected %r..., got %r" % (asker, lines[0].text[:60]))
	check(name + ": the whole answer of `faqbot ask` arrived", got == want,
	      "expected (spaces ignored)\n    %r\n  got lines\n    %s" % (expected(question), shown))
	for m in lines:
		if m.wire_len() > 512 or not m.utf8_ok:
			raise Fail("%s: line of %d bytes (limit 512 with CR LF), utf-8 %s: %r" % (
				name, m.wire_len(), "valid" if m.utf8_ok else "BROKEN", m.raw))
	ok("%s: %d line(s), each within 512 bytes and valid UTF-8" % (name, len(lines)))
	return lines


def wait_bot_in(c, chan, nick_prefix="faqbot", timeout=15):
	"""Polls NAMES until a nick starting with nick_prefix is in chan."""
	end = time.monotonic() + timeout
	while True:
		for n in c.names(chan):
			if irc_lower(n).startswith(nick_prefix):
				return n
		if time.monotonic() > end:
			raise Fail("the bot is not in %s after %ds (NAMES: %s); bot log tail:\n%s" % (
				chan, timeout, c.names(chan), bot_log_tail()))
		time.sleep(0.2)


def bot_log_tail(n=25):
	try:
		with open(ENV["BOT_LOG"], encoding="utf-8", errors="replace") as f:
			return "".join("    | " + l for l in f.readlines()[-n:])
	except OSError as e:
		return "    (no bot log: %s)" % e


def bot_log():
	with open(ENV["BOT_LOG"], encoding="utf-8", errors="replace") as f:
		return f.read()


def wait_log(name, regex, since_len=0, timeout=10):
	end = time.monotonic() + timeout
	rx = re.compile(regex, re.I | re.M)
	while True:
		text = bot_log()[since_len:]
		m = rx.search(text)
		if m:
			ok("%s (log: %s)" % (name, m.group(0).strip()[:120]))
			return m
		if time.monotonic() > end:
			raise Fail("%s: expected a bot log line matching /%s/ within %ds; log tail:\n%s" % (
				name, regex, timeout, bot_log_tail()))
		time.sleep(0.1)


def bot_alive():
	try:
		os.kill(int(ENV["BOT_PID"]), 0)
		return True
	except OSError:
		return False


def nothing_from_bot(name, c, bot, target, since, asker):
	lines = [m for m in bot_says(c, bot, target, since) if m.text.startswith(asker)]
	check(name, not lines, "expected no reply to %s, got:\n    %s" % (
		asker, "\n    ".join(repr(m) for m in lines)))


# -- the flood: one user sends FLOOD_N questions at once ---------------------

FLOOD_N = 200
FLOOD_Q = "!delai quand sera visible ma session sur Kairos ?"


def flood_start(port, chan, nick="mallory"):
	m = clients([(nick, {"port": port})])[0]
	m.join(chan)
	t0 = time.monotonic()
	since = m.mark()
	m.send_many(["PRIVMSG %s :%s (%d)" % (chan, FLOOD_Q, i) for i in range(FLOOD_N)])
	return m, since, t0


def flood_check(m, since, t0, bot, chan, other, settle=3.0):
	"""Per-user limit: answers <= burst + rate * elapsed (+1 notice), at
	least one answer, the bot still connected (it answers another user)."""
	burst = int(ENV.get("USER_BURST", "3"))
	rate = float(ENV.get("USER_RATE", "6"))
	time.sleep(settle)
	elapsed = time.monotonic() - t0
	# Lines addressed to mallory: each answer may take several lines, so
	# count answers as lines that start with the nick.
	lines = [x for x in bot_says(m, bot, chan, since) if x.text.startswith(m.nick)]
	n = len(lines)
	bound = burst + int(rate * elapsed / 60.0) + 1 + 1
	check("flood: the bot answered the flooder at least once", n >= 1,
	      "expected >= 1 answer to %d questions, got none; bot log:\n%s" % (FLOOD_N, bot_log_tail()))
	check("flood: per-user limit holds (%d answers to %d questions in %.1fs, bound %d)" % (
		n, FLOOD_N, elapsed, bound), n <= bound,
	      "expected at most %d (user_burst %d + user_rate %g/min), got %d:\n    %s" % (
		bound, burst, rate, n, "\n    ".join(repr(x) for x in lines[:20])))
	check("flood: the bot was not disconnected", not bot_quit_seen(m, bot, since) and bot_alive(),
	      "the bot left (QUIT) or died:\n%s" % bot_log_tail())
	return n


def bot_quit_seen(c, bot, since):
	return bool(c.received(lambda x: x.command == "QUIT" and is_bot(x, bot), since=since))


# -- phases ----------------------------------------------------------------

def phase_ngircd():
	"""20-irc-ngircd: channel and private answers, addressing, silence,
	auto_answer, a long reply, a flood, then the server killed and
	restarted with the nick taken: back within the backoff bound."""
	port = ENV["IRC_PORT"]
	bot = ENV.get("BOT_NICK", "faqbot")
	chan, auto, longc, floodc = "#faq", "#auto", ENV["LONG_CHAN"], "#flood"
	names = ["alice", "bob", "carol", "dave", "erin", "watcher"]
	longnick = "u" + "x" * 28 + "z"  # 30: NICKLEN, the longest prefix
	cs = clients([(n, {}) for n in names] + [(longnick, {})])
	alice, bob, carol, dave, erin, watcher, lng = cs
	for c in (alice, bob, carol, erin, watcher):
		c.join(chan)
	for c in (alice, watcher):
		c.join(auto)
	lng.join(longc)
	t = time.monotonic()
	found = wait_bot_in(watcher, chan, bot)
	check("the bot joined %s as %s" % (chan, bot), irc_lower(found) == irc_lower(bot),
	      "expected nick %s, got %s" % (bot, found))
	wait_bot_in(watcher, auto, bot)
	wait_bot_in(lng, longc, bot)
	ok("the bot is in %s, %s and %s (%.1fs)" % (chan, auto, longc, time.monotonic() - t))

	# The flood runs on its own channel while the other checks go on.
	flooder, fsince, ft0 = flood_start(port, floodc)

	# Unaddressed chatter and an unaddressed in-scope question, then an
	# addressed one from someone else: the bot handles lines in order, so
	# once the last is answered the first two were not.
	q_in_scope = "quand sera visible ma session sur Kairos ?"
	s = watcher.mark()
	carol.privmsg(chan, "salut tout le monde, il fait beau aujourd'hui")
	carol.privmsg(chan, q_in_scope)
	q1 = "quand sera visible ma session validée hier sur Kairos ?"
	alice.privmsg(chan, "%s: %s" % (bot, q1))
	await_answer("addressed with 'nick: ...'", watcher, bot, chan, "alice", q1, s)
	time.sleep(0.5)
	nothing_from_bot("unaddressed chatter and question in %s get no answer" % chan,
	                 watcher, bot, chan, s, "carol")

	s = watcher.mark()
	q2 = "c'est quoi le délai d'affichage ?"
	bob.privmsg(chan, "%s, %s" % (bot, q2))
	await_answer("addressed with 'nick, ...'", watcher, bot, chan, "bob", q2, s)

	s = watcher.mark()
	q3 = "quand sera visible ma session validée le 12/11 sur le site RCO ?"
	carol.privmsg(chan, "!delai " + q3)
	await_answer("command prefix '!delai ...'", watcher, bot, chan, "carol", q3, s)

	s = dave.mark()
	q4 = "que veut dire l'état ARCH ?"
	dave.privmsg(bot, q4)
	await_answer("private message", dave, bot, "dave", "dave", q4, s, prefixed=False)

	s = watcher.mark()
	alice.privmsg(auto, q_in_scope)
	await_answer("auto_answer channel: unaddressed in-scope question answered",
	             watcher, bot, auto, "alice", q_in_scope, s)
	s = watcher.mark()
	alice.privmsg(auto, "quelqu'un a vu le match hier soir ?")
	alice.privmsg(chan, "%s: %s" % (bot, "merci"))
	watcher.wait(lambda m: m.command == "PRIVMSG" and is_bot(m, bot) and m.target == chan,
	             15, since=s, what="the bot's answer to 'merci'")
	time.sleep(0.5)
	nothing_from_bot("auto_answer channel: chatter gets no answer", watcher, bot, auto, s, "alice")

	# A long reply: the longest nick and a long channel name make the
	# prefix long, so the dated answer must be split.
	s = lng.mark()
	q5 = "Ma session a été validée le 02/01/2026 et elle n'est toujours pas visible chez France Travail, est-ce normal ?"
	lng.privmsg(longc, "%s: %s" % (bot, q5))
	lines = await_answer("long reply", lng, bot, longc, longnick, q5, s, timeout=20)
	paras = [p for p in expected(q5).split("\n") if p.strip()]
	check("long reply: split into more lines than paragraphs (%d > %d)" % (len(lines), len(paras)),
	      len(lines) > len(paras), "expected the answer (%d bytes) to need splitting: %r" % (
		len(expected(q5).encode()), [m.raw for m in lines]))

	flood_check(flooder, fsince, ft0, bot, floodc, watcher, settle=0.5)
	s = erin.mark()
	q7 = "où trouver le numéro de session ?"
	erin.privmsg(chan, "%s: %s" % (bot, q7))
	await_answer("after the flood the bot still answers others", erin, bot, chan, "erin", q7, s)
	for c in cs + [flooder]:
		c.sock.close()


def restart_server(cmd, pidfile):
	"""SIGKILLs the server, starts it again with the same command line;
	returns (new Popen, time it listened)."""
	old = int(open(pidfile).read())
	os.kill(old, signal.SIGKILL)
	time.sleep(0.3)
	p = subprocess.Popen(["bash", "-c", "ulimit -c 0; exec " + cmd], cwd=os.path.dirname(pidfile),
	                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	with open(pidfile, "w") as f:
		f.write(str(p.pid))
	port = int(ENV["IRC_PORT"])
	end = time.monotonic() + 10
	while time.monotonic() < end:
		try:
			socket.create_connection((HOST, port), 0.2).close()
			return p, time.monotonic()
		except OSError:
			time.sleep(0.02)
	raise Fail("the server did not come back on %d" % port)


def phase_restart():
	"""The server is killed and restarted; a squatter takes the bot's
	nick first; the bot must come back under an alternate nick, rejoin
	(with the channel key), and answer, within its backoff bound."""
	bot = ENV.get("BOT_NICK", "faqbot")
	rmax = float(ENV["RECONNECT_MAX"])
	p, t_up = restart_server(ENV["SERVER_CMD"], ENV["SERVER_PIDFILE"])
	squat, frank = clients([(bot, {}), ("frank", {})])
	check("the squatter holds the nick %s" % bot, irc_lower(squat.nick) == irc_lower(bot),
	      "the squatter got %s" % squat.nick)
	# The keyed channel exists again, with its key, before the bot comes.
	squat.join(ENV["KEY_CHAN"])
	squat.send("MODE %s +k %s" % (ENV["KEY_CHAN"], ENV["CHAN_KEY"]))
	frank.join("#faq")
	# Bound: the pending backoff step (at most reconnect_max, plus 50%
	# jitter) and registration.
	bound = rmax * 1.5 + 3
	try:
		j = frank.wait(lambda m: m.command == "JOIN" and (m.nick or "").lower().startswith(bot)
		               and irc_lower(m.target) == "#faq", bound + 2, what="the bot rejoining #faq")
	except Timeout as e:
		raise Fail("restart: %s\nbot log:\n%s" % (e, bot_log_tail()))
	dt = j.t - t_up
	check("restart: the bot is back %.1fs after the server (bound %.1fs: reconnect_max %g)" % (
		dt, bound, rmax), dt <= bound, "took %.1fs" % dt)
	newnick = j.nick
	check("nick collision: the bot took an alternate nick (%s)" % newnick,
	      irc_lower(newnick) != irc_lower(bot), "expected a nick other than %s" % bot)
	alts = [a.strip() for a in ENV.get("ALT_NICKS", "").split(",") if a.strip()]
	check("nick collision: the alternate is the first of alt_nicks", irc_lower(newnick) == irc_lower(alts[0]),
	      "expected %s, got %s" % (alts[0], newnick))
	k = ENV["KEY_CHAN"]
	try:
		squat.wait(lambda m: m.command == "JOIN" and is_bot(m, newnick) and irc_lower(m.target) == k,
		           10, what="the bot joining %s with its key" % k)
	except Timeout as e:
		raise Fail("rejoin with key: %s\nbot log:\n%s" % (e, bot_log_tail()))
	ok("the bot rejoined the keyed channel %s" % k)
	s = frank.mark()
	q = "quand sera visible ma session validée aujourd'hui ?"
	frank.privmsg("#faq", "%s: %s" % (newnick, q))
	await_answer("after the restart the bot answers as %s" % newnick, frank, newnick, "#faq", "frank", q, s)
	squat.sock.close()
	frank.sock.close()


def whois_account(c, nick, timeout=10):
	"""The services account of nick from WHOIS (330), None when not
	logged in; raises Fail when the nick is not on the server."""
	i = c.mark()
	c.send("WHOIS " + nick)
	c.wait(lambda m: m.command in ("318", "401"), timeout, since=i, what="end of WHOIS " + nick)
	if c.received(lambda m: m.command == "401", since=i):
		raise Fail("WHOIS %s: no such nick" % nick)
	acc = c.received(lambda m: m.command == "330", since=i)
	return acc[0].params[2] if acc else None


def nick_absent(c, nick):
	i = c.mark()
	c.send("WHOIS " + nick)
	c.wait(lambda m: m.command in ("318", "401"), 10, since=i, what="end of WHOIS " + nick)
	return bool(c.received(lambda m: m.command == "401", since=i))


def log_of(var):
	with open(ENV[var], encoding="utf-8", errors="replace") as f:
		return f.read()


def alive(var):
	try:
		os.kill(int(ENV[var]), 0)
		return True
	except OSError:
		return False


def wait_log_of(name, var, regex, timeout=10):
	end = time.monotonic() + timeout
	rx = re.compile(regex, re.I | re.M)
	while True:
		m = rx.search(log_of(var))
		if m:
			ok("%s (log: %s)" % (name, m.group(0).strip()[:140]))
			return m
		if time.monotonic() > end:
			raise Fail("%s: expected a log line matching /%s/ in %s within %ds; it holds:\n%s" % (
				name, regex, ENV[var], timeout, "".join("    | " + l for l in log_of(var).splitlines(True)[-15:])))
		time.sleep(0.1)


def private_reply(c, bot, text, timeout=10):
	i = c.mark()
	c.privmsg(bot, text)
	try:
		c.wait(lambda m: m.command in ("PRIVMSG", "NOTICE") and is_bot(m, bot), timeout, since=i,
		       what="a private reply from %s to %r" % (bot, text))
	except Timeout as e:
		raise Fail(str(e))
	time.sleep(0.5)
	return [m for m in c.received(lambda m: m.command in ("PRIVMSG", "NOTICE") and is_bot(m, bot), since=i)]


def phase_sasl():
	"""21-irc-inspircd-sasl: see the test script's header."""
	bot = "faqbot"
	tls = dict(tls=True, ca=ENV["CA"])
	# One asker per few questions: each user may ask user_burst at once.
	boss, watcher, asker, r1, r2 = clients([
		("boss", dict(tls, port=ENV["IRC_PORT"], sasl=("PLAIN", "boss", "bosspass123"))),
		("watcher", dict(tls, port=ENV["IRC_PORT"])),
		("asker", {"port": ENV["PLAIN_PORT"]}),
		("reload1", {"port": ENV["PLAIN_PORT"]}),
		("reload2", {"port": ENV["PLAIN_PORT"]})])
	for c in (watcher, asker, r1, r2):
		c.join("#faq")
	wait_bot_in(watcher, "#faq", bot, timeout=20)
	ok("bot A connected over TLS verified with tls_ca_file and joined #faq")
	acc = whois_account(watcher, bot)
	check("bot A is logged in with SASL PLAIN as botacct", acc == "botacct",
	      "expected WHOIS account botacct, got %r; bot log:\n%s" % (acc, bot_log_tail()))

	# SASL EXTERNAL (bot D) with the certificate added to extacct.
	wait_bot_in(watcher, "#faq", "extbot", timeout=15)
	acc = whois_account(watcher, "extbot")
	check("bot D is logged in with SASL EXTERNAL as extacct", acc == "extacct",
	      "expected WHOIS account extacct, got %r; log:\n%s" % (acc, log_of("EXT_LOG")[-1500:]))

	# SASL EXTERNAL with a certificate no account knows (bot E): the
	# failure and what to do are logged; it connects without an account.
	wait_log_of("SASL EXTERNAL with an unknown certificate: logged, with the NickServ hint",
	            "EXTBAD_LOG", r"^.*SASL EXTERNAL authentication failed.*CERT ADD.*$", timeout=15)
	wait_bot_in(watcher, "#faq", "extnobody", timeout=15)
	acc = whois_account(watcher, "extnobody")
	check("SASL EXTERNAL failure: connected, not logged in", acc is None, "logged in as %r" % acc)
	check("SASL EXTERNAL failure: the bot did not crash", alive("EXTBAD_PID"),
	      "it exited; log:\n" + log_of("EXTBAD_LOG")[-1500:])

	# Untrusted certificate (bot B): a clear log line, no connection.
	wait_log_of("untrusted server certificate: clear error in the log", "BADTLS_LOG",
	            r"^.*(certificate|verif).*$", timeout=10)
	check("untrusted server certificate: no connection (badtls is not on the server)",
	      nick_absent(watcher, "badtls"), "badtls is registered on the server")
	check("untrusted server certificate: the bot is still running (it retries)", alive("BADTLS_PID"),
	      "it exited; log:\n" + log_of("BADTLS_LOG")[-1500:])

	# Wrong SASL password (bot C): a clear log line, no crash.
	wait_log_of("SASL PLAIN with a wrong password: logged", "BADPASS_LOG",
	            r"^.*sasl.*(fail|904|refus|wrong|invalid|denied|rejected).*$", timeout=10)
	time.sleep(0.5)
	check("SASL failure: the bot did not crash", alive("BADPASS_PID"),
	      "it exited; log:\n" + log_of("BADPASS_LOG")[-1500:])
	if not nick_absent(watcher, "badpass"):
		acc = whois_account(watcher, "badpass")
		check("SASL failure: badpass is not logged in", acc is None, "logged in as %r" % acc)

	# A question over TLS (and one from the plain port).
	s = watcher.mark()
	q = "quand sera visible ma session validée avant-hier sur Aude ?"
	asker.privmsg("#faq", "%s: %s" % (bot, q))
	await_answer("answer in a channel over TLS + SASL", watcher, bot, "#faq", "asker", q, s)

	# Admin commands: by account, never by nick.
	st = private_reply(boss, bot, "!status")
	st_text = " ".join(m.text for m in st)
	check("!status from the admin account answers: %r" % st_text[:100], bool(st) and
	      re.search(r"\d", st_text) is not None,
	      "expected a status with figures, got %r" % st_text)
	boss.close()
	time.sleep(0.3)
	fake = clients([("boss", dict(tls, port=ENV["IRC_PORT"]))])[0]
	check("impostor has the nick boss without the account", fake.nick == "boss" and whois_account(fake, "boss") is None,
	      "nick %s" % fake.nick)
	rf = private_reply(fake, bot, "!status")
	rf_text = " ".join(m.text for m in rf)
	check("!status from the nick boss without the account is refused: %r" % rf_text[:100], rf_text != st_text and
	      not re.search(r"\d+\s*(question|message|réponse)", rf_text, re.I),
	      "admin got %r, impostor got %r" % (st_text, rf_text))
	fake.join("#faq")
	s = watcher.mark()
	fake.privmsg("#faq", "!status")
	asker.privmsg("#faq", "%s: merci" % bot)
	watcher.wait(lambda m: m.command == "PRIVMSG" and is_bot(m, bot) and m.text.startswith("asker"),
	             15, since=s, what="the answer to asker's 'merci'")
	time.sleep(0.3)
	nothing_from_bot("!status in a channel from a non-admin: no reply", watcher, bot, "#faq", s, "boss")

	# The flood from a flood-exempt client; the bot is in the default class.
	flooder, fsince, ft0 = flood_start(ENV["FAST_PORT"], "#flood")
	flood_check(flooder, fsince, ft0, bot, "#flood", watcher, settle=4)
	flooder.sock.close()

	# SIGHUP: a good reload takes effect; a broken one is refused.
	kdir = ENV["KNOWLEDGE"]
	ans = os.path.join(kdir, "answers.ini")
	text = open(ans, encoding="utf-8").read()
	marker = "Rechargement vérifié."
	new = re.sub(r"(\[definition\]\ntext = )", r"\g<1>" + marker + " ", text, count=1)
	check("test setup: the definition answer can be marked", new != text, "no [definition] text line")
	open(ans, "w", encoding="utf-8").write(new)
	n0 = len(bot_log())
	os.kill(int(ENV["BOT_PID"]), signal.SIGHUP)
	wait_log("SIGHUP: reload logged", r"^.*reload.*$", n0)
	qd = "c'est quoi le délai d'affichage ?"
	s = watcher.mark()
	r1.privmsg("#faq", "%s: %s" % (bot, qd))
	m = watcher.wait(lambda m: m.command == "PRIVMSG" and is_bot(m, bot) and m.text.startswith("reload1"),
	                 15, since=s, what="the answer after the reload")
	check("SIGHUP: the reloaded knowledge answers", marker in m.text,
	      "expected %r in %r" % (marker, m.text))
	os.rename(ans, ans + ".away")
	n0 = len(bot_log())
	os.kill(int(ENV["BOT_PID"]), signal.SIGHUP)
	wait_log("SIGHUP with a broken knowledge directory: refused with a clear log line",
	         r"^.*(refus|fail|error|keep|invalid|cannot|could not|missing).*$", n0)
	time.sleep(0.3)
	s = watcher.mark()
	r2.privmsg("#faq", "%s: %s" % (bot, qd))
	m = watcher.wait(lambda m: m.command == "PRIVMSG" and is_bot(m, bot) and m.text.startswith("reload2"),
	                 15, since=s, what="the answer after the broken reload")
	check("SIGHUP broken: the old knowledge keeps serving", marker in m.text and bot_alive(),
	      "expected %r in %r" % (marker, m.text))
	os.rename(ans + ".away", ans)

	# SIGTERM: QUIT with the configured message, then exit (the script
	# checks the status).
	s = watcher.mark()
	t = time.monotonic()
	os.kill(int(ENV["BOT_PID"]), signal.SIGTERM)
	try:
		q = watcher.wait(lambda m: m.command == "QUIT" and is_bot(m, bot), 5, since=s, what="the bot's QUIT")
	except Timeout as e:
		raise Fail("SIGTERM: %s\n%s" % (e, bot_log_tail()))
	check("SIGTERM: QUIT with the quit message seen by another client", "au revoir de faqbot" in q.text,
	      "expected 'au revoir de faqbot' in %r" % q.text)
	while bot_alive() and time.monotonic() - t < 5:
		time.sleep(0.05)
	check("SIGTERM: the bot exited within 3 s (%.1fs)" % (time.monotonic() - t),
	      time.monotonic() - t <= 3.2, "still running")
	for c in (watcher, asker, fake, r1, r2):
		c.sock.close()


def phase_stages():
	"""The longest answer of the knowledge (the stages, one line each)
	arrives whole.  Run last: the bot's nick may be an alternate by now."""
	bot = ENV.get("BOT_NICK_NOW", ENV.get("BOT_NICK", "faqbot"))
	c = clients([("stagesasker", {})])[0]
	c.join("#faq")
	bot = wait_bot_in(c, "#faq", ENV.get("BOT_NICK", "faqbot"))
	s = c.mark()
	q = "quelles sont les étapes de la diffusion d'une formation ?"
	c.privmsg("#faq", "%s: %s" % (bot, q))
	n = len([l for l in expected(q).split("\n") if l.strip()])
	await_answer("multi-line answer (stages, %d lines)" % n, c, bot, "#faq", "stagesasker", q, s,
	             timeout=8 + n)
	c.sock.close()


def phase_fairness():
	"""22-irc-fairness: see the test script's header."""
	bot = ENV.get("BOT_NICK", "faqbot")
	limit = float(ENV.get("FAIR_LIMIT_S", "5"))
	# Each with a user name of its own: the limits count user@host.
	mallory, alice, boss, watcher = clients([
		("mallory", {"port": ENV["FAST_PORT"], "user": "mallory"}),
		("alice", {"user": "alice"}),
		("boss", {"sasl": ("PLAIN", "boss", "bosspass123"), "user": "boss"}),
		("watcher", {"user": "watcher"})])
	for c in (alice, watcher):
		c.join("#faq")
	wait_bot_in(watcher, "#faq", bot, timeout=20)
	acc = whois_account(watcher, "boss")
	check("boss is logged in to services as boss", acc == "boss", "WHOIS account %r" % acc)

	# The flood, in one write: six questions whose answer is the 10-line
	# stages, 150 CTCP PINGs and 150 !status (refused: not an admin).
	stages = "!faq quelles sont les étapes de diffusion ?"
	flood = ["PRIVMSG %s :%s" % (bot, stages)] * 6
	for i in range(150):
		flood.append("PRIVMSG %s :\x01PING %d\x01" % (bot, i))
		flood.append("PRIVMSG %s :!status" % bot)
	ms = mallory.mark()
	mallory.send_many(flood)
	# Until the bot has started answering mallory, so alice comes after.
	try:
		mallory.wait(lambda m: is_bot(m, bot) and m.command in ("PRIVMSG", "NOTICE"), 15, since=ms,
		             what="the bot's first reply to the flood")
	except Timeout as e:
		raise Fail("flood: %s\n%s" % (e, bot_log_tail()))
	time.sleep(1.0)
	q = "que veut dire l'état ARCH ?"
	s = alice.mark()
	t0 = time.monotonic()
	alice.privmsg(bot, q)
	lines = await_answer("alice's question during the flood", alice, bot, "alice", "alice", q, s,
	                     timeout=limit + 30, prefixed=False)
	dt = lines[-1].t - t0
	got = mallory.received(lambda m: is_bot(m, bot) and m.command in ("PRIVMSG", "NOTICE"), since=ms)
	check("alice's whole answer came within %gs of her question during the flood (%.1fs; %d lines "
	      "to mallory by then)" % (limit, dt, len([m for m in got if m.t <= lines[-1].t])), dt <= limit,
	      "took %.1fs: the flooder's replies held it" % dt)

	# !reload from the admin account, in private: answered, and the bot
	# goes on (issue 10: the reload freed the config the handler read).
	n0 = len(bot_log())
	s = boss.mark()
	boss.privmsg(bot, "!reload")
	try:
		m = boss.wait(lambda m: is_bot(m, bot) and m.command == "PRIVMSG", limit + 20, since=s,
		              what="the answer to !reload")
	except Timeout as e:
		raise Fail("!reload: %s\nbot log:\n%s" % (e, bot_log_tail()))
	check("!reload from the admin account: done (%r)" % m.text[:60], m.text.startswith("Rechargement effectué"),
	      "got %r" % m.text)
	wait_log("!reload logged with the account and the network", r"^.*admin boss \(irc\.in\) asked for a reload: done.*$", n0)
	s = watcher.mark()
	q2 = "quand sera visible ma session validée hier sur Kairos ?"
	alice.privmsg("#faq", "%s: %s" % (bot, q2))
	await_answer("after !reload the bot still answers", watcher, bot, "#faq", "alice", q2, s,
	             timeout=limit + 30)
	check("the bot is still running", bot_alive(), "it exited:\n" + bot_log_tail())
	got = mallory.received(lambda m: is_bot(m, bot) and m.command in ("PRIVMSG", "NOTICE"), since=ms)
	ctcp = [m for m in got if m.command == "NOTICE" and m.text.startswith("\x01PING")]
	refused = [m for m in got if m.command == "PRIVMSG" and m.text.startswith("Désolé")]
	check("the flooder got %d lines in %.0fs: at most 1 line/s, %d CTCP replies and %d refusals "
	      "(at most 3 each)" % (len(got), time.monotonic() - t0, len(ctcp), len(refused)),
	      len(ctcp) <= 3 and len(refused) <= 3 and len(got) <= 4 + time.monotonic() - t0 + 2,
	      "lines: %s" % [m.text[:30] for m in got])
	for c in (mallory, alice, boss, watcher):
		c.sock.close()


PHASES = {"fairness": phase_fairness, "stages": phase_stages, "ngircd": phase_ngircd, "restart": phase_restart, "sasl": phase_sasl}

if __name__ == "__main__":
	t0 = time.monotonic()
	try:
		PHASES[sys.argv[1]]()
	except (Fail, Timeout) as e:
		log("FAIL %s" % e)
		sys.exit(1)
	log("phase %s: %d checks passed in %.1fs" % (sys.argv[1], CHECKS, time.monotonic() - t0))
