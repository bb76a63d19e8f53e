/* loadclient.c - the IRC benchmark's client and its floor (tests/bench/20-irc.sh).
 * One plain-TCP connection, one thread, poll(2).  Modes:
 *   seq   HOST PORT NICK CHAN BOT N QUESTION TIMEOUT: N questions one after
 *         the other ("BOT: QUESTION" in CHAN); latency of each answer (the
 *         first line from BOT that starts with NICK), p50/p95/p99.
 *   burst HOST PORT NICK CHAN BOT N QUESTION TIMEOUT: N questions in one
 *         write; answers/s from the first question sent to the last answer,
 *         and how many were lost.
 *   echo  HOST PORT NICK CHAN SECONDS: the floor, a bot that answers
 *         "NICK: x" with "asker: x" at once and does nothing else.
 * Prints one "key=value" result line on stdout.  Bounded: every wait has a
 * timeout.  Not a general IRC client: only what the benchmark needs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_MAX (1 << 20)
#define LINE_MAX_IRC 8192

struct conn {
	int fd;
	char *rbuf;
	size_t rlen;
	char *wbuf; /* pending output */
	size_t wlen, wcap, woff;
	const char *nick, *chan, *bot;
	int registered, joined, bot_here;
};

struct msg {
	char *nick;    /* prefix nick or "" */
	char *command;
	char *target;  /* first parameter or "" */
	char *text;    /* last parameter or "" */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "loadclient: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void out_add(struct conn *c, const char *s, size_t n)
{
	if (c->wlen + n > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 65536;
		while (cap < c->wlen + n)
			cap *= 2;
		c->wbuf = realloc(c->wbuf, cap);
		if (!c->wbuf)
			die("out of memory");
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, s, n);
	c->wlen += n;
}

static void out_fmt(struct conn *c, const char *fmt, ...)
{
	char line[LINE_MAX_IRC];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 2)
		die("line too long");
	line[n++] = '\r';
	line[n++] = '\n';
	out_add(c, line, (size_t)n);
}

/* Writes what it can; 0, or -1 when the connection is gone. */
static int flush_some(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t w = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		c->woff += (size_t)w;
	}
	c->woff = c->wlen = 0;
	return 0;
}

/* Parses one line in place (":nick!u@h CMD target :text"). */
static void parse(char *line, struct msg *m)
{
	char *p = line;
	m->nick = m->command = m->target = m->text = "";
	if (*p == '@') {
		p = strchr(p, ' ');
		if (!p)
			return;
		while (*p == ' ')
			p++;
	}
	if (*p == ':') {
		m->nick = ++p;
		p = strchr(p, ' ');
		if (!p)
			return;
		*p++ = 0;
		char *bang = strchr(m->nick, '!');
		if (bang)
			*bang = 0;
		while (*p == ' ')
			p++;
	}
	m->command = p;
	p = strchr(p, ' ');
	if (!p)
		return;
	*p++ = 0;
	int first = 1;
	while (*p) {
		while (*p == ' ')
			p++;
		if (*p == ':') {
			m->text = p + 1;
			if (first)
				m->target = m->text;
			return;
		}
		char *sp = strchr(p, ' ');
		if (first) {
			m->target = p;
			first = 0;
		}
		m->text = p;
		if (!sp)
			return;
		*sp = 0;
		p = sp + 1;
	}
}

static int addressed_to(const char *text, const char *nick)
{
	size_t n = strlen(nick);
	return strncasecmp(text, nick, n) == 0 && (text[n] == ':' || text[n] == ',' || text[n] == ' ');
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		die("cannot resolve %s", host);
	int fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("cannot connect to %s:%s: %s", host, port, strerror(errno));
	freeaddrinfo(ai);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

typedef void (*line_cb)(struct conn *c, struct msg *m, int64_t t, void *arg);

/* Handles PING, registration, the join and NAMES; passes every line on. */
static void on_line(struct conn *c, char *line, int64_t t, line_cb cb, void *arg)
{
	struct msg m;
	parse(line, &m);
	if (strcmp(m.command, "PING") == 0) {
		out_fmt(c, "PONG :%s", m.text);
		return;
	}
	if (strcmp(m.command, "001") == 0) {
		c->registered = 1;
		out_fmt(c, "JOIN %s", c->chan);
	} else if (strcmp(m.command, "433") == 0 && !c->registered) {
		die("nick %s is in use", c->nick);
	} else if (strcmp(m.command, "366") == 0) {
		c->joined = 1;
	} else if (strcmp(m.command, "353") == 0 && c->bot) {
		char *save = NULL;
		for (char *n = strtok_r(m.text, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
			n += strspn(n, "@+%&~");
			if (strcasecmp(n, c->bot) == 0)
				c->bot_here = 1;
		}
	} else if (strcmp(m.command, "ERROR") == 0) {
		die("server closed the link: %s", m.text);
	}
	if (cb)
		cb(c, &m, t, arg);
}

/* Reads and dispatches; -1 on EOF. */
static int read_some(struct conn *c, line_cb cb, void *arg)
{
	for (;;) {
		if (c->rlen == RBUF_MAX)
			die("line over %d bytes", RBUF_MAX);
		ssize_t r = read(c->fd, c->rbuf + c->rlen, RBUF_MAX - c->rlen);
		if (r == 0)
			return -1;
		if (r < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		int64_t t = now_ns();
		/* ACK at once: InspIRCd does not disable Nagle, so a delayed ACK
		 * here would hold its next small write for 40 ms and measure
		 * that instead of the bot. */
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
		c->rlen += (size_t)r;
		size_t start = 0;
		for (size_t i = 0; i < c->rlen; i++) {
			if (c->rbuf[i] != '\n')
				continue;
			size_t e = i;
			if (e > start && c->rbuf[e - 1] == '\r')
				e--;
			c->rbuf[e] = 0;
			if (e > start)
				on_line(c, c->rbuf + start, t, cb, arg);
			start = i + 1;
		}
		memmove(c->rbuf, c->rbuf + start, c->rlen - start);
		c->rlen -= start;
	}
}

/* One poll round of at most ms milliseconds. */
static void pump(struct conn *c, int ms, line_cb cb, void *arg)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | (c->wlen > c->woff ? POLLOUT : 0) };
	int r = poll(&p, 1, ms);
	if (r < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	if (r > 0 && (p.revents & POLLOUT) && flush_some(c) < 0)
		die("write: connection lost");
	if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && read_some(c, cb, arg) < 0)
		die("connection closed by the server");
	if (c->wlen > c->woff && flush_some(c) < 0)
		die("write: connection lost");
}

static void start(struct conn *c, const char *host, const char *port, int timeout_s)
{
	c->fd = connect_to(host, port);
	c->rbuf = malloc(RBUF_MAX);
	if (!c->rbuf)
		die("out of memory");
	out_fmt(c, "NICK %s", c->nick);
	out_fmt(c, "USER %s 0 * :faqbot benchmark", c->nick);
	int64_t end = now_ns() + (int64_t)timeout_s * 1000000000;
	while (!c->joined) {
		if (now_ns() > end)
			die("not registered and joined to %s after %ds", c->chan, timeout_s);
		pump(c, 100, NULL, NULL);
	}
	/* Wait for the bot in the channel (NAMES every 200 ms). */
	while (c->bot && !c->bot_here) {
		if (now_ns() > end)
			die("%s is not in %s after %ds", c->bot, c->chan, timeout_s);
		out_fmt(c, "NAMES %s", c->chan);
		int64_t t = now_ns() + 200000000;
		while (now_ns() < t && !c->bot_here)
			pump(c, 50, NULL, NULL);
	}
}

/* ---- echo: the floor ---- */

static void echo_cb(struct conn *c, struct msg *m, int64_t t, void *arg)
{
	(void)t;
	(void)arg;
	if (strcmp(m->command, "PRIVMSG") != 0 || strcasecmp(m->target, c->chan) != 0)
		return;
	if (!addressed_to(m->text, c->nick))
		return;
	const char *q = m->text + strlen(c->nick) + 1;
	while (*q == ' ')
		q++;
	out_fmt(c, "PRIVMSG %s :%s: %s", c->chan, m->nick, q);
}

/* ---- seq and burst ---- */

struct load {
	int64_t *lat;   /* seq: ns per answer */
	int64_t sent_at, first_sent, last_answer;
	long answered, want;
	/* burst: the longest silence between two answers, and how many
	 * answers were still to come after it (issue 10: a 1 s stall held
	 * the last few answers of a burst) */
	int64_t max_gap;
	long gap_after;
};

static void load_cb(struct conn *c, struct msg *m, int64_t t, void *arg)
{
	struct load *L = arg;
	if (strcmp(m->command, "PRIVMSG") != 0 || strcasecmp(m->nick, c->bot) != 0 ||
	    strcasecmp(m->target, c->chan) != 0 || !addressed_to(m->text, c->nick))
		return;
	if (L->lat && L->answered < L->want)
		L->lat[L->answered] = t - L->sent_at;
	if (L->last_answer && t - L->last_answer > L->max_gap) {
		L->max_gap = t - L->last_answer;
		L->gap_after = L->answered;
	}
	L->answered++;
	L->last_answer = t;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double pct(const int64_t *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

/* seq: n questions one after the other; prints p50/p95/p99 when report. */
static void run_seq(struct conn *c, long n, const char *q, int timeout, int report)
{
	struct load L = { .want = n };
	L.lat = calloc((size_t)n, sizeof *L.lat);
	if (!L.lat)
		die("out of memory");
	long lost = 0, got = 0;
	int64_t end = now_ns() + (int64_t)timeout * 1000000000;
	for (long i = 0; i < n && now_ns() < end; i++) {
		long before = L.answered;
		L.sent_at = now_ns();
		out_fmt(c, "PRIVMSG %s :%s: %s", c->chan, c->bot, q);
		flush_some(c);
		int64_t qend = L.sent_at + 5000000000LL;
		while (L.answered == before && now_ns() < qend)
			pump(c, 50, load_cb, &L);
		if (L.answered == before) {
			lost++;
			if (L.answered < L.want)
				L.lat[L.answered] = 5000000000LL; /* counted as 5 s */
			L.answered++;
		}
		got = i + 1;
	}
	if (report) {
		if (got == 0)
			die("no answer at all");
		qsort(L.lat, (size_t)got, sizeof *L.lat, cmp64);
		double sum = 0;
		for (long i = 0; i < got; i++)
			sum += (double)L.lat[i] / 1000.0;
		printf("mode=seq n=%ld lost=%ld p50_us=%.0f p95_us=%.0f p99_us=%.0f mean_us=%.0f\n", got,
		       lost + (n - got), pct(L.lat, got, 0.50), pct(L.lat, got, 0.95), pct(L.lat, got, 0.99),
		       sum / (double)got);
	}
	free(L.lat);
}

/* burst: n questions in one write; answers/s until the last answer. */
static void run_burst(struct conn *c, long n, const char *q, int timeout)
{
	struct load L = { .want = n };
	L.first_sent = now_ns();
	for (long i = 0; i < n; i++)
		out_fmt(c, "PRIVMSG %s :%s: %s", c->chan, c->bot, q);
	int64_t end = L.first_sent + (int64_t)timeout * 1000000000;
	int64_t quiet = 5000000000LL;
	while (L.answered < n && now_ns() < end) {
		pump(c, 50, load_cb, &L);
		int64_t ref = L.last_answer ? L.last_answer : L.first_sent;
		if (c->wlen == c->woff && now_ns() - ref > quiet)
			break;
	}
	double secs = L.last_answer ? (double)(L.last_answer - L.first_sent) / 1e9 : 0;
	printf("mode=burst n=%ld answered=%ld lost=%ld secs=%.3f rate=%.0f max_gap_ms=%.1f after_gap=%ld\n",
	       n, L.answered, n - L.answered > 0 ? n - L.answered : 0, secs,
	       secs > 0 ? (double)L.answered / secs : 0, (double)L.max_gap / 1e6,
	       L.max_gap ? L.answered - L.gap_after : 0);
}

int main(int argc, char **argv)
{
	if (argc < 7)
		die("usage: loadclient bench HOST PORT NICK CHAN BOT SEQ-N BURST-N QUESTION TIMEOUT |"
		    " seq|burst HOST PORT NICK CHAN BOT N QUESTION TIMEOUT | echo HOST PORT NICK CHAN SECONDS");
	struct conn c = { .fd = -1 };
	const char *mode = argv[1];
	c.nick = argv[4];
	c.chan = argv[5];
	if (strcmp(mode, "echo") == 0) {
		int secs = atoi(argv[6]);
		start(&c, argv[2], argv[3], 10);
		fprintf(stderr, "echo: ready\n");
		int64_t end = now_ns() + (int64_t)secs * 1000000000;
		while (now_ns() < end)
			pump(&c, 200, echo_cb, NULL);
		return 0;
	}
	int bench = strcmp(mode, "bench") == 0;
	if (argc < (bench ? 11 : 10))
		die("bench needs HOST PORT NICK CHAN BOT SEQ-N BURST-N QUESTION TIMEOUT; "
		    "seq/burst need HOST PORT NICK CHAN BOT N QUESTION TIMEOUT");
	c.bot = argv[6];
	long n = atol(argv[7]), m = bench ? atol(argv[8]) : 0;
	const char *q = argv[bench ? 9 : 8];
	int timeout = atoi(argv[bench ? 10 : 9]);
	if (n <= 0 || n > 1000000 || m < 0 || m > 1000000 || timeout <= 0)
		die("bad N or TIMEOUT");
	start(&c, argv[2], argv[3], timeout);
	if (bench) {
		run_seq(&c, n < 20 ? n : 20, q, timeout, 0); /* warm-up */
		run_seq(&c, n, q, timeout, 1);
		fflush(stdout);
		if (m)
			run_burst(&c, m, q, timeout);
	} else if (strcmp(mode, "seq") == 0) {
		run_seq(&c, n, q, timeout, 1);
	} else if (strcmp(mode, "burst") == 0) {
		run_burst(&c, n, q, timeout);
	} else {
		die("unknown mode %s", mode);
	}
	out_fmt(&c, "QUIT :done");
	flush_some(&c);
	close(c.fd);
	free(c.rbuf);
	free(c.wbuf);
	return 0;
}
