#!/usr/bin/python3
"""tests/bench/soak_matrix.py - the Matrix half of the soak (tests/bench/40-soak.sh):
users already logged in and joined by tests/matrix/client.py (its state
file gives their tokens and the room ids) ask questions at a steady rate
for a set time, each in turn in the rooms listed for them ("faqbot: ..."
in a group room, the bare question in a direct chat), then wait (bounded)
for the last answers.  Each room's history is read forward with /messages
from a token taken before the first question (no /sync gaps), and every
reply of the bot is matched to its question by m.in_reply_to: per
question id, exactly one answer, with the text `faqbot ask` gives.
Prints one JSON object.  Not here: Synapse, the bot, room set-up.

  soak_matrix.py --state STATE --hs URL --bot @faqbot:localhost
      --faqbot BIN --questions JSONL --plan "alice=soak,dm-alice bob=soak"
      [--direct dm-alice,dm-bob] [--rate Q/S per user] [--seconds S] [--drain S]
"""

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.parse

import aiohttp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from soak_common import Schedule, load_questions, log, squash  # noqa: E402


class User:
	def __init__(self, name, creds, rooms):
		self.name = name
		self.user_id = creds["user_id"]
		self.token = creds["access_token"]
		self.rooms = rooms  # [(name, room_id)]
		self.txn = 0


class Soak:
	def __init__(self, a, http):
		self.a = a
		self.http = http
		self.asked = {}      # event id -> (qid, answer, room, user)
		self.replies = {}    # question event id -> [(body, reply ts)]
		self.q_ts = {}       # question event id -> origin_server_ts
		self.errors = []

	def url(self, path, **q):
		u = self.a.hs + "/_matrix/client/v3" + path
		return u + ("?" + urllib.parse.urlencode(q) if q else "")

	async def call(self, user, method, path, body=None, **q):
		"""One request; 429 waits as told and retries (same transaction id
		for a send), a network error retries after a second; bounded."""
		hdr = {"Authorization": "Bearer " + user.token}
		last = "429 each time"
		for attempt in range(30):
			try:
				async with self.http.request(method, self.url(path, **q), json=body, headers=hdr,
				                             timeout=aiohttp.ClientTimeout(total=60)) as r:
					data = await r.json(content_type=None)
					if r.status == 200:
						return data
					if r.status == 429:
						await asyncio.sleep((data or {}).get("retry_after_ms", 500) / 1000)
						continue
					if r.status >= 500:
						await asyncio.sleep(1)
						continue
					raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data))
			except (aiohttp.ClientError, asyncio.TimeoutError) as e:
				last = e
				await asyncio.sleep(1)
		raise RuntimeError("%s %s: gave up after 30 tries (%s)" % (method, path, last))

	async def send(self, user, rid, text):
		user.txn += 1
		txn = "soak-%d-%s-%d" % (os.getpid(), user.name, user.txn)
		d = await self.call(user, "PUT", "/rooms/%s/send/m.room.message/%s" % (urllib.parse.quote(rid), txn),
		                    {"msgtype": "m.text", "body": text})
		return d["event_id"]

	async def start_token(self, user):
		f = json.dumps({"room": {"timeline": {"limit": 1}}, "presence": {"types": []},
		                "account_data": {"types": []}})
		d = await self.call(user, "GET", "/sync", filter=f, timeout="0")
		return d["next_batch"]

	async def read(self, user, rid, tok):
		"""Every event of rid after tok, forward; returns the new token."""
		for _ in range(1000):
			d = await self.call(user, "GET", "/rooms/%s/messages" % urllib.parse.quote(rid),
			                    dir="f", limit="1000", **{"from": tok})
			chunk = d.get("chunk") or []
			for ev in chunk:
				self.event(ev)
			if not chunk or not d.get("end"):
				return tok if not d.get("end") else d["end"]
			tok = d["end"]
		return tok

	def event(self, ev):
		"""Records question time stamps and every reply of the bot by the
		event it answers; which of them are ours is decided at the end (a
		reply may be read before its question's send has returned)."""
		if ev.get("type") != "m.room.message":
			return
		c = ev.get("content") or {}
		if ev.get("sender") != self.a.bot:
			self.q_ts[ev.get("event_id")] = ev.get("origin_server_ts", 0)
			return
		qid = ((c.get("m.relates_to") or {}).get("m.in_reply_to") or {}).get("event_id")
		self.replies.setdefault(qid, []).append((c.get("body") or "", ev.get("origin_server_ts", 0),
		                                         ev.get("event_id")))

	def answered(self):
		return sum(1 for e in self.asked if self.replies.get(e))


async def run(a):
	qs = load_questions(a.questions, a.faqbot)
	st = json.load(open(a.state))
	direct = set(filter(None, a.direct.split(",")))
	users = []
	for spec in a.plan.split():
		name, _, rooms = spec.partition("=")
		creds = st["users"]["%s/main" % name]
		users.append(User(name, creds, [(r, st["rooms"][r]) for r in rooms.split(",")]))
	async with aiohttp.ClientSession() as http:
		s = Soak(a, http)
		# Each room read once, by the first user listed in it.
		readers, tokens = {}, {}
		for u in users:
			for rname, rid in u.rooms:
				if rid not in readers:
					readers[rid] = u
					tokens[rid] = await s.start_token(u)
		t0 = time.monotonic()

		async def asker(idx, u):
			sch = Schedule(qs, a.rate, a.seconds, idx / (a.rate * len(users)), seed=2000 + idx)
			for k, at, (qid, q, ans) in sch.items():
				delay = t0 + at - time.monotonic()
				if delay > 0:
					await asyncio.sleep(delay)
				rname, rid = u.rooms[k % len(u.rooms)]
				text = q if rname in direct else "%s: %s" % (a.bot_name, q)
				try:
					eid = await s.send(u, rid, text)
				except RuntimeError as e:
					s.errors.append("%s: send failed: %s" % (u.name, e))
					continue
				s.asked[eid] = (qid, ans, rname, u.name)

		async def poll(until):
			while time.monotonic() < until():
				for rid, u in readers.items():
					tokens[rid] = await s.read(u, rid, tokens[rid])
				await asyncio.sleep(1)

		sending = asyncio.gather(*(asker(i, u) for i, u in enumerate(users)))
		done = {"v": False}
		poller = asyncio.ensure_future(poll(lambda: float("inf") if not done["v"] else 0))
		await sending
		t_sent = time.monotonic() - t0
		done["v"] = True
		await poller
		# Drain: until every question has a reply, bounded, then a settle
		# so that a doubled reply coming late is seen too.
		dend = time.monotonic() + a.drain
		while True:
			for rid, u in readers.items():
				tokens[rid] = await s.read(u, rid, tokens[rid])
			if s.answered() == len(s.asked) or time.monotonic() > dend:
				break
			await asyncio.sleep(1)
		await asyncio.sleep(3)
		for rid, u in readers.items():
			tokens[rid] = await s.read(u, rid, tokens[rid])
		t_done = time.monotonic() - t0

	problems = list(s.errors)
	lost = doubled = wrong = 0
	lat = []
	for eid, (qid, ans, rname, uname) in s.asked.items():
		r = s.replies.get(eid, [])
		if not r:
			lost += 1
			problems.append("%s in %s: no answer to %s (%s)" % (uname, rname, qid, eid))
			continue
		if len(r) > 1:
			doubled += 1
			problems.append("%s in %s: %d answers to %s (%s)" % (uname, rname, len(r), qid, eid))
		body = squash(r[0][0])
		if body != squash(ans):
			wrong += 1
			problems.append("%s in %s: answer to %s is %r, `faqbot ask` says %r" % (
				uname, rname, qid, r[0][0][:100], ans[:100]))
		if eid in s.q_ts:
			lat.append(r[0][1] - s.q_ts[eid])
	strays = [(r[2], r[0][:120]) for q, rs in s.replies.items() if q not in s.asked for r in rs]
	for e, body in strays[:5]:
		problems.append("a reply of the bot to no question asked: %s %r" % (e, body))
	lat.sort()
	pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * (len(lat) - 1)))] if lat else None
	out = {"sent": len(s.asked), "answered": s.answered(), "lost": lost, "doubled": doubled,
	       "errors": len(s.errors) + wrong + len(strays), "wrong": wrong, "strays": len(strays),
	       "latency_ms": {"p50": pct(50), "p99": pct(99), "max": lat[-1] if lat else None},
	       "send_seconds": round(t_sent, 1), "done_seconds": round(t_done, 1),
	       "problems": problems[:30]}
	print(json.dumps(out))
	log("soak_matrix: %d sent, %d answered, %d lost, %d doubled, %d errors" % (
		out["sent"], out["answered"], lost, doubled, out["errors"]))


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--state", required=True)
	ap.add_argument("--hs", required=True)
	ap.add_argument("--bot", required=True)
	ap.add_argument("--bot-name", default="faqbot")
	ap.add_argument("--faqbot", required=True)
	ap.add_argument("--questions", required=True)
	ap.add_argument("--plan", required=True)
	ap.add_argument("--direct", default="")
	ap.add_argument("--rate", type=float, default=1.0)
	ap.add_argument("--seconds", type=float, default=600)
	ap.add_argument("--drain", type=float, default=60)
	a = ap.parse_args()
	asyncio.run(run(a))
	return 0


if __name__ == "__main__":
	sys.exit(main())
