"""tests/bench/soak_common.py - shared by the soak drivers (soak_irc.py,
soak_matrix.py): the questions of knowledge/examples/10-own.jsonl with the
answer `faqbot ask` gives to each (same binary, same knowledge, same day),
the steady-rate schedule, and the check of an ordered answer stream
against the questions asked (lost, doubled, wrong).  No network here.
"""

import json
import random
import subprocess
import sys
import time


def log(s):
	sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), s))
	sys.stderr.flush()


def squash(s):
	"""Answer text without any white space: the IRC split drops the blank
	at each cut, and Matrix keeps paragraphs as new lines."""
	return "".join(s.split())


def load_questions(path, faqbot, one_line=False):
	"""[(id, question, answer)] for every line of the JSONL file; answer is
	what `faqbot ask` says (TZ Europe/Paris, as the bot runs).  one_line:
	line breaks inside a question become blanks (IRC has no multi-line
	message; a person pastes it on one line)."""
	out = []
	with open(path, encoding="utf-8") as f:
		for line in f:
			line = line.strip()
			if not line:
				continue
			q = json.loads(line)
			if one_line:
				q["question"] = " ".join(q["question"].split())
			r = subprocess.run([faqbot, "ask", q["question"]], capture_output=True, timeout=10,
			                   env={"TZ": "Europe/Paris", "PATH": "/usr/bin:/bin"})
			ans = r.stdout.decode("utf-8").strip()
			if r.returncode != 0 or not ans:
				raise SystemExit("faqbot ask %r: exit %d, %s" % (q["question"], r.returncode,
				                                                 r.stderr.decode()[-300:]))
			out.append((q["id"], q["question"], ans))
	return out


class Schedule:
	"""Question k of a stream leaves at start + offset + k / rate; the
	questions are drawn from the list by a seeded generator, so a run can
	be repeated exactly."""

	def __init__(self, questions, rate, seconds, offset, seed):
		self.qs = questions
		self.period = 1.0 / rate
		self.n = max(1, int(seconds * rate))
		self.offset = offset
		self.rng = random.Random(seed)

	def items(self):
		for k in range(self.n):
			yield k, self.offset + k * self.period, self.qs[self.rng.randrange(len(self.qs))]


def match_stream(asked, units, nlines=None, cap=8, max_join=12):
	"""asked: the questions of one ordered stream, [(qid, answer)], in the
	order sent.  units: the bot's replies in that stream, in the order
	received: strings, where an answer may span several consecutive units
	(IRC lines of a private message) or be one unit (a channel answer
	gathered from its nick-prefixed first line); nlines[k]: the IRC lines
	unit k took (default 1).  An answer cut by the bot after exactly cap
	lines (IRCNET_ANSWER_LINES, a documented cap) counts as answered, and
	as cut.  The bot handles a stream's questions in order, so its
	answers come in that order: walk both, each question takes the units
	that spell its answer.  Returns (answered, lost, doubled, errors, cut,
	problems)."""
	want = [squash(a) for _, a in asked]
	u = [squash(x) for x in units]
	nl = nlines or [1] * len(u)
	i = j = 0
	answered = lost = doubled = errors = cut = 0
	problems = []

	def spans(j, target):
		"""(units from j that spell target, 1 if cut at cap lines), or (0, 0)."""
		acc, lines, at_cap = "", 0, 0
		for k in range(j, min(len(u), j + max_join)):
			acc += u[k]
			lines += nl[k]
			if acc == target:
				return k - j + 1, 0
			if not target.startswith(acc):
				break
			if lines == cap:
				at_cap = k - j + 1
		return (at_cap, 1) if at_cap else (0, 0)

	while j < len(u):
		if i < len(want):
			k, c = spans(j, want[i])
			if k:
				answered += 1
				cut += c
				i += 1
				j += k
				continue
		if i > 0:
			k, c = spans(j, want[i - 1])
			if k:
				doubled += 1
				problems.append("answer to %s repeated" % asked[i - 1][0])
				j += k
				continue
		# A later question's answer: the ones between were lost.
		found = 0
		for d in range(1, 20):
			if i + d >= len(want):
				break
			k, c = spans(j, want[i + d])
			if k:
				for q in asked[i:i + d]:
					problems.append("no answer to %s" % q[0])
				lost += d
				i += d
				found = 1
				break
		if found:
			continue
		errors += 1
		problems.append("unexpected reply %r (waiting for the answer to %s)" % (
			units[j][:120], asked[i][0] if i < len(asked) else "nothing"))
		j += 1
	for q in asked[i:]:
		problems.append("no answer to %s" % q[0])
	lost += len(asked) - i
	return answered, lost, doubled, errors, cut, problems


def self_test():
	"""match_stream must see a lost, a doubled and a wrong answer."""
	asked = [("a", "x y"), ("b", "z"), ("c", "w"), ("d", "v")]
	assert match_stream(asked, ["x", "y", "z", "w", "v"])[:4] == (4, 0, 0, 0)
	assert match_stream(asked, ["x y", "w", "v"])[:4] == (3, 1, 0, 0)
	assert match_stream(asked, ["x y", "z", "z", "w", "v"])[:4] == (4, 0, 1, 0)
	assert match_stream(asked, ["x y", "z", "w", "?", "v"])[:4] == (4, 0, 0, 1)
	assert match_stream(asked, ["x y", "z"])[:4] == (2, 2, 0, 0)
	assert match_stream([("a", "x y z"), ("b", "w")], ["x", "y", "w"], cap=2)[:5] == (2, 0, 0, 0, 1)
	assert match_stream([("a", "x y z"), ("b", "w")], ["x y", "w"], nlines=[2, 1], cap=2)[:5] == (2, 0, 0, 0, 1)
	assert match_stream([("a", "x y z"), ("b", "w")], ["x", "y", "z", "w"], cap=2)[:5] == (2, 0, 0, 0, 0)


self_test()
