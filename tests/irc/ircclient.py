"""tests/irc/ircclient.py - a small IRC client for the integration tests
(Python 3 standard library only, run with /usr/bin/python3).

It connects (plain or TLS, optionally with a client certificate), registers
(optionally with CAP negotiation and SASL PLAIN/EXTERNAL), joins, sends,
and waits for lines matching a predicate with a timeout.  A reader thread
answers PING and records every line, sent and received, with a monotonic
time stamp, so a failing check can show what really came.  It does not
interpret what the bot says; the test scripts do that.

As a program: `ircclient.py caps HOST PORT` prints the capabilities the
server offers (used to see that services are linked);
`ircclient.py sasl HOST PORT MECH USER PASS [CERT KEY] [--tls CA]` prints
the SASL numeric (903/904) a fresh client gets;
`ircclient.py account HOST PORT NAME PASS [CA CERT KEY]` registers a
NickServ account (and, over TLS, its client certificate for EXTERNAL).
"""

import base64
import os
import re
import socket
import ssl
import sys
import threading
import time


class Timeout(Exception):
	pass


class Msg:
	"""One IRC line.  raw: the bytes without CR LF; the rest parsed from
	their UTF-8 decoding (invalid bytes replaced, see .utf8_ok)."""

	__slots__ = ("raw", "t", "out", "tags", "prefix", "nick", "command",
	             "params", "utf8_ok")

	def __init__(self, raw, t, out=False):
		self.raw = raw
		self.t = t
		self.out = out
		try:
			text = raw.decode("utf-8")
			self.utf8_ok = True
		except UnicodeDecodeError:
			text = raw.decode("utf-8", "replace")
			self.utf8_ok = False
		self.tags = {}
		self.prefix = None
		self.nick = None
		rest = text
		if rest.startswith("@"):
			tags, _, rest = rest.partition(" ")
			for kv in tags[1:].split(";"):
				k, _, v = kv.partition("=")
				self.tags[k] = v
		if rest.startswith(":"):
			self.prefix, _, rest = rest[1:].partition(" ")
			self.nick = self.prefix.split("!", 1)[0]
		rest = rest.lstrip(" ")
		params = []
		while rest:
			if rest.startswith(":"):
				params.append(rest[1:])
				break
			p, _, rest = rest.partition(" ")
			params.append(p)
			rest = rest.lstrip(" ")
		self.command = params.pop(0).upper() if params else ""
		self.params = params

	@property
	def text(self):
		return self.params[-1] if self.params else ""

	@property
	def target(self):
		return self.params[0] if self.params else ""

	def wire_len(self):
		"""Bytes of the line as the server relayed it, CR LF included,
		message tags excluded (they have their own limit, IRCv3)."""
		raw = self.raw
		if raw.startswith(b"@"):
			raw = raw.split(b" ", 1)[1] if b" " in raw else b""
		return len(raw) + 2

	def __repr__(self):
		return ("-> " if self.out else "<- ") + self.raw.decode("utf-8", "replace")


def irc_lower(s):
	return s.lower().replace("[", "{").replace("]", "}").replace("\\", "|").replace("~", "^")


class Client:
	def __init__(self, host, port, nick, tls=False, ca=None, cert=None, key=None,
	             user=None, realname="faqbot test client", log=None, verify=True):
		self.host, self.port, self.nick = host, port, nick
		self.tls, self.ca, self.cert, self.key, self.verify = tls, ca, cert, key, verify
		self.user = user or "tester"
		self.realname = realname
		self.lines = []  # every Msg, in and out
		self.caps = set()  # offered by the server
		self.acked = set()
		self.closed = False
		self.close_reason = None
		self.sock = None
		self._cv = threading.Condition()
		self._wlock = threading.Lock()
		self._log = open(log, "a", encoding="utf-8", errors="replace") if log else None
		self._t0 = time.monotonic()

	# -- transport ----------------------------------------------------------
	def connect(self, timeout=10):
		s = socket.create_connection((self.host, self.port), timeout=timeout)
		s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		if self.tls:
			ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
			if self.verify:
				ctx.load_verify_locations(self.ca)
			else:
				ctx.check_hostname = False
				ctx.verify_mode = ssl.CERT_NONE
			if self.cert:
				ctx.load_cert_chain(self.cert, self.key)
			s = ctx.wrap_socket(s, server_hostname="localhost")
		s.settimeout(None)
		self.sock = s
		threading.Thread(target=self._reader, daemon=True).start()
		return self

	def _record(self, m):
		with self._cv:
			self.lines.append(m)
			self._cv.notify_all()
		if self._log:
			self._log.write("%9.3f %s %s\n" % (m.t - self._t0, self.nick, repr(m)))
			self._log.flush()

	def _reader(self):
		buf = b""
		try:
			while True:
				data = self.sock.recv(65536)
				if not data:
					self.close_reason = "server closed the connection"
					break
				buf += data
				while b"\n" in buf:
					raw, buf = buf.split(b"\n", 1)
					raw = raw.rstrip(b"\r")
					if not raw:
						continue
					m = Msg(raw, time.monotonic())
					if m.command == "PING":
						self.send("PONG :" + m.text)
					self._record(m)
		except OSError as e:
			self.close_reason = "socket error: %s" % e
		with self._cv:
			self.closed = True
			self._cv.notify_all()

	def send(self, line):
		"""Sends one line (str or bytes); CR/LF inside is a test bug."""
		b = line.encode("utf-8") if isinstance(line, str) else line
		if b"\r" in b or b"\n" in b:
			raise ValueError("CR/LF inside a line: %r" % b)
		self._record(Msg(b, time.monotonic(), out=True))
		with self._wlock:
			self.sock.sendall(b + b"\r\n")

	def send_many(self, lines):
		"""Sends many lines in one write (a flood)."""
		bs = [(l.encode("utf-8") if isinstance(l, str) else l) for l in lines]
		now = time.monotonic()
		for b in bs:
			self._record(Msg(b, now, out=True))
		with self._wlock:
			self.sock.sendall(b"".join(b + b"\r\n" for b in bs))

	def close(self, quit_msg="bye"):
		try:
			if not self.closed:
				self.send("QUIT :" + quit_msg)
				self.wait(lambda m: m.command == "ERROR", 2, quiet=True)
		except (OSError, Timeout):
			pass
		try:
			self.sock.close()
		except OSError:
			pass

	# -- waiting ------------------------------------------------------------
	def mark(self):
		"""An index into lines: wait/collect from here on."""
		with self._cv:
			return len(self.lines)

	def wait(self, pred, timeout, since=0, what=None, quiet=False):
		"""First received Msg at index >= since with pred(m) true; raises
		Timeout (with the recent lines) when none comes in time."""
		end = time.monotonic() + timeout
		i = since
		with self._cv:
			while True:
				while i < len(self.lines):
					m = self.lines[i]
					i += 1
					if not m.out and pred(m):
						return m
				left = end - time.monotonic()
				if left <= 0 or self.closed:
					break
				self._cv.wait(left)
		if quiet:
			raise Timeout(what or "timeout")
		got = [repr(m) for m in self.lines[since:]][-15:]
		why = " (connection closed: %s)" % self.close_reason if self.closed else ""
		raise Timeout("%s: expected %s within %.1fs%s; last lines since then:\n    %s" % (
			self.nick, what or "a matching line", timeout, why,
			"\n    ".join(got) if got else "(nothing)"))

	def collect(self, pred, duration, since=0):
		"""Every received Msg matching pred from since during duration s."""
		end = time.monotonic() + duration
		with self._cv:
			while time.monotonic() < end and not self.closed:
				self._cv.wait(end - time.monotonic())
			return [m for m in self.lines[since:] if not m.out and pred(m)]

	def received(self, pred, since=0):
		with self._cv:
			return [m for m in self.lines[since:] if not m.out and pred(m)]

	# -- IRC ----------------------------------------------------------------
	def register(self, caps=(), sasl=None, timeout=10, password=None):
		"""Registers; caps: capabilities to request if offered; sasl:
		("PLAIN", user, pass) or ("EXTERNAL",).  Returns the SASL numeric
		("903", "904", ...) or None.  Raises Timeout if no 001 comes."""
		start = self.mark()
		want_cap = bool(caps) or sasl is not None
		if password:
			self.send("PASS " + password)
		if want_cap:
			self.send("CAP LS 302")
		self.send("NICK " + self.nick)
		self.send("USER %s 0 * :%s" % (self.user, self.realname))
		sasl_result = None
		if want_cap:
			i = start
			while True:
				m = self.wait(lambda m: m.command == "CAP" and len(m.params) >= 3
				              and m.params[1] == "LS", timeout, since=i, what="CAP LS")
				i = self.lines.index(m) + 1
				for c in m.text.split():
					self.caps.add(c.split("=", 1)[0])
				if not (len(m.params) >= 4 and m.params[2] == "*"):
					break
			req = [c for c in caps if c in self.caps]
			if sasl is not None:
				req.append("sasl")
			if req:
				self.send("CAP REQ :" + " ".join(req))
				m = self.wait(lambda m: m.command == "CAP" and len(m.params) >= 3
				              and m.params[1] in ("ACK", "NAK"), timeout, since=i, what="CAP ACK/NAK")
				if m.params[1] == "ACK":
					self.acked.update(m.text.split())
			if sasl is not None and "sasl" in self.acked:
				sasl_result = self._sasl(sasl, timeout)
			self.send("CAP END")
		self.wait(lambda m: m.command == "001" or m.command == "433" or m.command == "ERROR",
		          timeout, since=start, what="001 (registration)")
		m = self.received(lambda m: m.command in ("001", "433", "ERROR"), since=start)[0]
		if m.command != "001":
			raise Timeout("%s: registration refused: %r" % (self.nick, m))
		self.nick = m.params[0]
		return sasl_result

	def _sasl(self, sasl, timeout):
		mech = sasl[0]
		i = self.mark()
		self.send("AUTHENTICATE " + mech)
		self.wait(lambda m: m.command == "AUTHENTICATE" or m.command in ("904", "908"),
		          timeout, since=i, what="AUTHENTICATE +")
		if mech == "PLAIN":
			payload = ("%s\0%s\0%s" % (sasl[1], sasl[1], sasl[2])).encode()
		else:
			payload = b""
		enc = base64.b64encode(payload).decode() if payload else "+"
		for k in range(0, len(enc), 400):
			self.send("AUTHENTICATE " + enc[k:k + 400])
		if len(enc) % 400 == 0 and payload:
			self.send("AUTHENTICATE +")
		m = self.wait(lambda m: m.command in ("903", "904", "905", "906", "907"),
		              timeout, since=i, what="SASL result (903/904)")
		return m.command

	def join(self, chan, key=None, timeout=10):
		i = self.mark()
		self.send("JOIN %s%s" % (chan, " " + key if key else ""))
		self.wait(lambda m: m.command == "366" and irc_lower(m.params[1]) == irc_lower(chan),
		          timeout, since=i, what="end of NAMES for " + chan)

	def privmsg(self, target, text):
		self.send("PRIVMSG %s :%s" % (target, text))

	def names(self, chan, timeout=10):
		i = self.mark()
		self.send("NAMES " + chan)
		self.wait(lambda m: m.command == "366", timeout, since=i, what="NAMES")
		out = []
		for m in self.received(lambda m: m.command == "353", since=i):
			out += [n.lstrip("@+%&~") for n in m.text.split()]
		return out


def _main(argv):
	if len(argv) >= 4 and argv[1] == "caps":
		c = Client(argv[2], int(argv[3]), "capprobe%d" % os.getpid())
		c.connect(3)
		c.send("CAP LS 302")
		m = c.wait(lambda m: m.command == "CAP", 3, what="CAP LS")
		print(m.text)
		c.sock.close()
		return 0
	if len(argv) >= 7 and argv[1] == "sasl":
		args = argv[2:]
		ca = None
		if "--tls" in args:
			k = args.index("--tls")
			ca = args[k + 1]
			del args[k:k + 2]
		host, port, mech, user, pw = args[:5]
		cert = args[5] if len(args) > 5 else None
		key = args[6] if len(args) > 6 else None
		c = Client(host, int(port), "sasl%d" % os.getpid(), tls=ca is not None, ca=ca, cert=cert, key=key)
		c.connect(5)
		r = c.register(sasl=(mech, user, pw) if mech == "PLAIN" else ("EXTERNAL",))
		print(r)
		c.close()
		return 0
	if len(argv) >= 6 and argv[1] == "account":
		# account HOST PORT NAME PASS [CA CERT KEY]: registers a NickServ
		# account NAME; with a CA (TLS port) and a client certificate, also
		# adds that certificate for EXTERNAL (CERT ADD while using it).
		host, port, name, pw = argv[2], int(argv[3]), argv[4], argv[5]
		tls = len(argv) >= 9
		c = Client(host, port, name, tls=tls, ca=argv[6] if tls else None,
		           cert=argv[7] if tls else None, key=argv[8] if tls else None)
		c.connect(5)
		c.register()
		ns = lambda m: m.command == "NOTICE" and (m.nick or "").lower() == "nickserv"
		i = c.mark()
		c.privmsg("NickServ", "REGISTER %s" % pw)
		m = c.wait(lambda m: ns(m) and "registered" in m.text.lower(), 5, since=i,
		           what="NickServ REGISTER confirmation")
		print(m.text)
		if tls:
			i = c.mark()
			c.privmsg("NickServ", "CERT ADD")
			m = c.wait(lambda m: ns(m) and "added" in m.text.lower(), 5, since=i,
			           what="NickServ CERT ADD confirmation")
			print(m.text)
		c.close()
		return 0
	print(__doc__, file=sys.stderr)
	return 2


if __name__ == "__main__":
	sys.exit(_main(sys.argv))
