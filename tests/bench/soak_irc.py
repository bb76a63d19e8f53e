"""tests/bench/soak_irc.py - the IRC half of the soak (tests/bench/40-soak.sh):
N clients (tests/irc/ircclient.py) in one channel with the bot ask
questions at a steady rate for a set time, alternately in the channel
("faqbot: ...") and in a private message, then wait (bounded) for the
last answers.  Each client's channel answers and private answers are two
ordered streams checked against what `faqbot ask` says (soak_common),
so a lost, doubled or wrong answer is counted per question.  Prints one
JSON object.  Not here: the servers and the bot (40-soak.sh starts them).

  soak_irc.py HOST PORT --faqbot BIN --questions JSONL [--bot NICK]
      [--chan C] [--clients N] [--rate Q/S per client] [--seconds S]
      [--drain S] [--log FILE]
"""

import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "irc"))
sys.path.insert(0, HERE)
from ircclient import Client, irc_lower  # noqa: E402
from soak_common import Schedule, load_questions, log, match_stream  # noqa: E402


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("host")
	ap.add_argument("port", type=int)
	ap.add_argument("--faqbot", required=True)
	ap.add_argument("--questions", required=True)
	ap.add_argument("--bot", default="faqbot")
	ap.add_argument("--chan", default="#soak")
	ap.add_argument("--clients", type=int, default=4)
	ap.add_argument("--rate", type=float, default=2.0)
	ap.add_argument("--seconds", type=float, default=600)
	ap.add_argument("--drain", type=float, default=60)
	ap.add_argument("--log")
	ap.add_argument("--start-file", help="written once every client is in and the bot is seen")
	a = ap.parse_args()

	qs = load_questions(a.questions, a.faqbot, one_line=True)
	nicks = ["soak%d" % (k + 1) for k in range(a.clients)]
	cs = []
	for n in nicks:
		c = Client(a.host, a.port, n, log=a.log)
		c.connect()
		cs.append(c)
	for c in cs:
		c.register(timeout=20)
		c.join(a.chan)
	end = time.monotonic() + 30
	while a.bot not in cs[0].names(a.chan):
		if time.monotonic() > end:
			raise SystemExit("soak_irc: %s is not in %s after 30s" % (a.bot, a.chan))
		time.sleep(0.2)
	if a.start_file:
		open(a.start_file, "w").close()

	bot = irc_lower(a.bot)
	sent = {n: {"chan": [], "pm": []} for n in nicks}
	marks = [c.mark() for c in cs]
	t0 = time.monotonic()
	send_errors = []

	def asker(idx):
		c, n = cs[idx], nicks[idx]
		sch = Schedule(qs, a.rate, a.seconds, idx / (a.rate * len(cs)), seed=1000 + idx)
		for k, at, (qid, q, ans) in sch.items():
			delay = t0 + at - time.monotonic()
			if delay > 0:
				time.sleep(delay)
			if c.closed:
				send_errors.append("%s: connection closed (%s)" % (n, c.close_reason))
				return
			where = "chan" if k % 2 == 0 else "pm"
			try:
				if where == "chan":
					c.privmsg(a.chan, "%s: %s" % (a.bot, q))
				else:
					c.privmsg(a.bot, q)
			except Exception as e:  # a harness error: counted, never hidden
				send_errors.append("%s: %s" % (n, e))
				return
			sent[n][where].append((qid, ans))

	ths = [threading.Thread(target=asker, args=(k,)) for k in range(len(cs))]
	for t in ths:
		t.start()
	for t in ths:
		t.join()
	t_sent = time.monotonic() - t0

	def streams(idx):
		"""The bot's replies to client idx: channel answers (one unit per
		answer: a line starting with "nick: " opens it, lines without a
		nick prefix continue the answer opened last) and private lines."""
		c, me = cs[idx], nicks[idx]
		chan, chan_lines, pm, notices = [], [], [], []
		owner = None
		for m in c.received(lambda m: m.nick is not None and irc_lower(m.nick) == bot, since=marks[idx]):
			if m.command == "NOTICE":
				notices.append("NOTICE from the bot: %r" % m.text[:120])
				continue
			if m.wire_len() > 512 or not m.utf8_ok:
				notices.append("line of %d bytes (limit 512), UTF-8 %s: %r" % (
					m.wire_len(), "valid" if m.utf8_ok else "BROKEN", m.raw[:80]))
			if m.command != "PRIVMSG":
				continue
			if irc_lower(m.target) == irc_lower(a.chan):
				head, sep, rest = m.text.partition(": ")
				if sep and head in nicks:
					owner = head
					if owner == me:
						chan.append(rest)
						chan_lines.append(1)
				elif owner == me and chan:
					chan[-1] += " " + m.text
					chan_lines[-1] += 1
			elif irc_lower(m.target) == irc_lower(me):
				pm.append(m.text)
		return chan, chan_lines, pm, notices

	def tally():
		out = []
		for idx, n in enumerate(nicks):
			chan, chan_lines, pm, notices = streams(idx)
			rc = match_stream(sent[n]["chan"], chan, chan_lines, max_join=1)
			rp = match_stream(sent[n]["pm"], pm)
			out.append((n, rc, rp, notices))
		return out

	# Drain: until every question has its answer, bounded; then a short
	# settle so that a doubled answer coming late is seen too.
	dend = time.monotonic() + a.drain
	while True:
		res = tally()
		pending = sum(r[1][1] + r[2][1] for r in res)
		if pending == 0 or time.monotonic() > dend or any(c.closed for c in cs):
			break
		time.sleep(0.5)
	time.sleep(2)
	res = tally()
	t_done = time.monotonic() - t0

	total = {"sent": 0, "answered": 0, "lost": 0, "doubled": 0, "errors": len(send_errors), "cut": 0}
	problems = list(send_errors)
	per = {}
	for n, rc, rp, notices in res:
		s = len(sent[n]["chan"]) + len(sent[n]["pm"])
		per[n] = {"sent": s, "answered": rc[0] + rp[0], "lost": rc[1] + rp[1],
		          "doubled": rc[2] + rp[2], "errors": rc[3] + rp[3] + len(notices), "cut": rc[4] + rp[4]}
		for k in ("sent", "answered", "lost", "doubled", "errors", "cut"):
			total[k] += per[n][k]
		problems += ["%s channel: %s" % (n, p) for p in rc[5][:5]]
		problems += ["%s private: %s" % (n, p) for p in rp[5][:5]]
		problems += ["%s: %s" % (n, t) for t in notices[:3]]
	for c, n in zip(cs, nicks):
		if c.closed:
			total["errors"] += 1
			problems.append("%s: disconnected: %s" % (n, c.close_reason))
	total["send_seconds"] = round(t_sent, 1)
	total["done_seconds"] = round(t_done, 1)
	total["per_client"] = per
	total["problems"] = problems[:30]
	for c in cs:
		c.close()
	print(json.dumps(total))
	log("soak_irc: %d sent, %d answered, %d lost, %d doubled, %d errors" % (
		total["sent"], total["answered"], total["lost"], total["doubled"], total["errors"]))
	return 0


if __name__ == "__main__":
	sys.exit(main())
