/* ircnet.c - one IRC network's client: registration (CAP LS 302, SASL
 * PLAIN/EXTERNAL, NICK/USER, nick fallback), joins and rejoins, PING/PONG
 * and the lag check, reconnect with capped exponential backoff and
 * jitter, and PRIVMSG -> the chat sink (chat.h) -> reply lines that fit 512 bytes
 * with the server's prefix.  What it sends for users waits in outq.c (the
 * throttle, the PING/PONG window, round-robin between users), each line
 * charged to the user it answers (issue 10).
 * It never touches a socket: everything goes through struct ircnet_io
 * (net.h + the loop's timer in production, a recorder in the tests). */
#include "ircnet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "config.h"
#include "irc.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "outq.h"

#ifndef FAQBOT_VERSION
#define FAQBOT_VERSION "0"
#endif

#define NICK_MAX 64
#define USER_MAX 64
#define HOST_MAX 256
#define CAPREQ_MAX 256
#define REJOIN_MAX 16
/* Nick attempts during one registration before giving up and
 * reconnecting (alt_nicks first, then nick + digits). */
#define NICK_TRIES_EXTRA 20
/* Write backpressure: keep lines in our queue while the socket has this
 * much unsent, and look again shortly. */
#define PENDING_MAX (64 * 1024)
#define PENDING_RETRY_MS 20
/* SASL (IRCv3 sasl-3.1): AUTHENTICATE payloads in 400-byte chunks. */
#define SASL_CHUNK 400
#define SASL_RAW_MAX 1024

enum state {
	ST_IDLE,        /* created, not connected yet */
	ST_CONNECTING,  /* io->open done, waiting for ircnet_connected */
	ST_REGISTERING, /* CAP / SASL / NICK until 001 */
	ST_REGISTERED,
	ST_WAITING,     /* closed, reconnect at reconnect_at */
	ST_QUITTING,    /* QUIT sent, waiting for the close */
	ST_DONE
};

enum {
	CAP_SASL = 1, CAP_MTAGS = 2, CAP_STIME = 4, CAP_ACCOUNT = 8, CAP_MPREFIX = 16
};

static const struct {
	const char *name;
	unsigned bit;
} wanted_caps[] = {
	{ "sasl", CAP_SASL },
	{ "message-tags", CAP_MTAGS },
	{ "server-time", CAP_STIME },
	{ "account-tag", CAP_ACCOUNT },
	{ "multi-prefix", CAP_MPREFIX },
};

/* A held question in the inbox's byte FIFO: QHDR bytes (its length, 2
 * bytes little-endian, and a spare byte), then the line. */
#define QHDR 3
/* The FIFO's first allocation; it doubles up to IRCNET_INBOX_BYTES and is
 * released when it empties above QKEEP, so a burst does not pin memory. */
#define QMIN 4096
#define QKEEP (64 * 1024)
/* The identity of a user for the limits: "a:ACCOUNT", "h:user@host" or
 * "n:nick", at most this long. */
#define IDENT_MAX 320

/* Lines in one growable byte array, oldest first (see QHDR). */
struct fifo {
	char *buf;
	size_t cap, off, end;
	int n;
};

struct rejoin {
	char chan[64];
	int64_t at;
};

struct ircnet {
	const struct irc_config *cfg;
	/* The section's NAME, copied: a reload frees the config it came
	 * from while a handler still reads it (issue 10, !reload). */
	char name[64];
	struct chat_sink sink;   /* where messages go up (chat.h) */
	const struct ircnet_io *io;
	void *io_arg;

	/* production transport (ircnet_start) */
	struct loop *lp;
	struct net *conn;
	long timer;
	int64_t timer_at;

	enum state st;
	int64_t last_rx;      /* last byte from the server */
	int ping_sent;        /* lag PING out since last_rx */
	int64_t reconnect_at;
	int failures;         /* connections in a row that did not reach 001 */
	uint64_t rng;

	/* registration */
	int cap_busy;         /* CAP negotiation open: CAP END still owed */
	int sasl_busy;
	int sasl_offered;
	unsigned caps;        /* enabled */
	int caps_requested, caps_acked;
	char capreq[CAPREQ_MAX];
	int nick_tries;

	/* who we are, for the 512-byte split */
	char nick[NICK_MAX];
	char user[USER_MAX];
	char host[HOST_MAX];

	/* what waits to be sent for users: throttle, window, fairness */
	struct outq *oq;
	unsigned long dropped;
	/* Questions held while the window is closed, in the compact form
	 * "[@account=A ]:nick PRIVMSG target :text" (held_line): a question
	 * is a third of its answer's size, and the lines the server sends
	 * behind them, the PONG included, must still be read. */
	struct fifo inbox;
	unsigned long held_dropped;

	struct rejoin rejoin[REJOIN_MAX];

	int skipping;         /* dropping the tail of an over-long line */
	char line[IRC_READ_MAX + 1];
	struct chat_reply out;
};

static const char *netname(const struct ircnet *n)
{
	return n->name;
}

static int64_t now_ms(struct ircnet *n)
{
	return n->io->now(n, n->io_arg);
}

static int connected(const struct ircnet *n)
{
	return n->st == ST_REGISTERING || n->st == ST_REGISTERED;
}

/* xorshift64*: jitter and nick digits only, never security. */
static uint32_t rnd(struct ircnet *n)
{
	uint64_t x = n->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	n->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static void copy(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ---- sending ---- */

/* Sends one line now (no throttle): registration, PONG, QUIT, lag PING. */
static int send_raw(struct ircnet *n, const char *line, size_t len)
{
	char buf[IRC_LINE_MAX];
	if (len > IRC_LINE_MAX - 2) {
		log_error("[%s] refusing to send an over-long line (%zu bytes): %.40s", netname(n), len,
		          line);
		return -1;
	}
	log_proto(netname(n), ">>", line, len);
	memcpy(buf, line, len);
	buf[len] = '\r';
	buf[len + 1] = '\n';
	return n->io->send(n, n->io_arg, buf, len + 2);
}

/* For lines made of our own constants and config values only. */
static int sendf(struct ircnet *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sendf(struct ircnet *n, const char *fmt, ...)
{
	char buf[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof buf - 2 || strpbrk(buf, "\r\n")) {
		log_error("[%s] refusing to send a malformed line: %.40s", netname(n), buf);
		return -1;
	}
	return send_raw(n, buf, (size_t)len);
}

/* "CMD p1 ... :last" through irc_build, which refuses CR/LF and spaces
 * in middle params: the way every user-derived value is sent. */
static int build(char *out, const char *cmd, int np, const char *p0, const char *p1)
{
	const char *p[2] = { p0, p1 };
	return irc_build(out, IRC_LINE_MAX - 2, cmd, np, p);
}

static int throttled(const struct ircnet *n)
{
	return n->cfg->throttle_rate > 0;
}

/* The queue's limits for cfg: with the throttle on, a user may have
 * IRCNET_USER_LINES waiting; with it lifted the queue only waits for the
 * window, and one asker's burst (the benchmark) may fill it. */
static void limits(const struct irc_config *c, struct outq_limits *l)
{
	int fast = !(c->throttle_rate > 0);
	l->rate = fast ? 0 : c->throttle_rate;
	l->burst = c->throttle_burst;
	l->user_lines = fast ? IRCNET_QUEUE_FAST_MAX : IRCNET_USER_LINES;
	l->total_lines = fast ? IRCNET_QUEUE_FAST_MAX : IRCNET_QUEUE_MAX;
	l->total_bytes = IRCNET_QUEUE_BYTES;
}

/* Sends "PING :fb<seq>" when outq asks for one (force: the window is
 * blocked, so even a small remainder needs its PING). */
static void fc_ping(struct ircnet *n, int force)
{
	unsigned seq;
	if (outq_ping(n->oq, now_ms(n), force, &seq))
		sendf(n, "PING :fb%u", seq);
}

static int may_send(struct ircnet *n, size_t len)
{
	if (n->io->pending && n->io->pending(n, n->io_arg) > PENDING_MAX)
		return 0;
	return outq_may_send(n->oq, len, now_ms(n));
}

/* A queued line of len bytes (CR LF included) went out. */
static void sent(struct ircnet *n, size_t len)
{
	if (outq_sent(n->oq, len))
		fc_ping(n, 0);
}

/* Length (CR LF included for the send queue) of the entry at off. */
static size_t fifo_len(const struct fifo *f, size_t off)
{
	const unsigned char *h = (const unsigned char *)f->buf + off;
	return (size_t)h[0] | (size_t)h[1] << 8;
}

static void fifo_clear(struct fifo *f)
{
	f->off = f->end = 0;
	f->n = 0;
	if (f->cap > QKEEP) {
		free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
}

static void fifo_pop(struct fifo *f)
{
	f->off += QHDR + fifo_len(f, f->off);
	if (--f->n == 0)
		fifo_clear(f);
}

/* Room for need more bytes at the end, the whole at most max bytes:
 * compacts, or grows by doubling.  0, or -1 when full. */
static int fifo_room(struct fifo *f, size_t need, size_t max)
{
	if (f->end + need <= f->cap)
		return 0;
	size_t live = f->end - f->off;
	/* Compact when that frees a quarter at least (or at the cap), else
	 * grow: either way each byte moves O(1) times on average. */
	if (live + need <= f->cap && (f->off >= f->cap / 4 || f->cap >= max)) {
		memmove(f->buf, f->buf + f->off, live);
		f->off = 0;
		f->end = live;
		return 0;
	}
	size_t nc = f->cap ? f->cap * 2 : QMIN;
	while (nc < live + need && nc < max)
		nc *= 2;
	if (nc > max)
		nc = max;
	if (live + need > nc)
		return -1;
	/* Compact, then realloc: a big buffer is remapped in place (mremap)
	 * instead of held twice while copied, which set the peak memory of
	 * a burst. */
	if (f->off && live)
		memmove(f->buf, f->buf + f->off, live);
	f->off = 0;
	f->end = live;
	char *nb = realloc(f->buf, nc);
	if (!nb)
		return -1;
	f->buf = nb;
	f->cap = nc;
	return 0;
}

/* Appends text after fifo_room made room. */
static void fifo_put(struct fifo *f, const char *text, size_t len)
{
	unsigned char *h = (unsigned char *)f->buf + f->end;
	h[0] = (unsigned char)(len & 0xff);
	h[1] = (unsigned char)(len >> 8);
	h[2] = 0;
	memcpy(f->buf + f->end + QHDR, text, len);
	f->end += QHDR + len;
	f->n++;
}

static void handle_line(struct ircnet *n, size_t len, int held);

/* Takes the next held question into n->line and handles it. */
static void handle_held(struct ircnet *n)
{
	size_t len = fifo_len(&n->inbox, n->inbox.off);
	memcpy(n->line, n->inbox.buf + n->inbox.off + QHDR, len);
	n->line[len] = '\0';
	fifo_pop(&n->inbox);
	handle_line(n, len, 1);
}

/* Sends what the queue holds while throttle and window allow, then
 * answers held questions while nothing waits to be sent. */
static void flush(struct ircnet *n)
{
	size_t len;
	const char *text;
	for (;;) {
		while (connected(n) && (text = outq_head(n->oq, &len)) != NULL) {
			if (!may_send(n, len))
				break;
			log_proto(netname(n), ">>", text, len - 2u);
			n->io->send(n, n->io_arg, text, len);
			outq_pop(n->oq);
			sent(n, len);
		}
		if (outq_lines(n->oq) > 0 || n->inbox.n == 0 || !connected(n))
			break;
		handle_held(n);
	}
	/* Blocked by the window: make sure a PING covers what is out, or
	 * nothing would ever reopen it. */
	if (connected(n) && (text = outq_head(n->oq, &len)) != NULL && !outq_window_open(n->oq, len))
		fc_ping(n, 1);
}

/* While the window is closed (waiting for a PONG), the answers to the
 * next held questions are made ready, up to a window's worth: called from
 * the tick, after the transport has written what the last read let out,
 * so the bot's work overlaps the server's instead of following it. */
static void prepare(struct ircnet *n)
{
	while (n->inbox.n > 0 && outq_lines(n->oq) > 0 && connected(n) &&
	       outq_bytes(n->oq) < IRCNET_WINDOW)
		handle_held(n);
}

/* Queues a line (an answer, a JOIN) for the user key (OUTQ_SELF: the
 * bot's own).  Sent at once when the bucket has a token and nothing waits
 * before it.  0, or -1 when the user's share of the queue is full. */
static int enqueue(struct ircnet *n, uint64_t key, const char *line, size_t len)
{
	char buf[IRC_LINE_MAX];
	if (len > IRC_LINE_MAX - 2)
		return -1;
	if (outq_lines(n->oq) == 0 && connected(n) && may_send(n, len + 2)) {
		if (send_raw(n, line, len) == 0)
			sent(n, len + 2);
		return 0;
	}
	memcpy(buf, line, len);
	buf[len] = '\r';
	buf[len + 1] = '\n';
	if (outq_put(n->oq, key, buf, len + 2) == 0)
		return 0;
	/* One log line for the first drop and every 100th: a flood must not
	 * flood the log too. */
	if (n->dropped++ % 100 == 0)
		log_warn("[%s] send queue: no room for %.60s (%d lines wait, %d of them for this user; "
		         "%lu dropped so far)", netname(n), line, outq_lines(n->oq),
		         outq_user_lines(n->oq, key), n->dropped);
	return -1;
}

/* ---- timing ---- */

static int64_t lag_ms(const struct ircnet *n)
{
	return n->cfg->lag_timeout > 0 ? (int64_t)n->cfg->lag_timeout * 1000 : 0;
}

/* Earliest time something is due, or -1. */
static int64_t next_deadline(struct ircnet *n)
{
	int64_t at = -1;
#define EARLIEST(t) do { int64_t t_ = (t); if (at < 0 || t_ < at) at = t_; } while (0)
	if (n->st == ST_WAITING)
		return n->reconnect_at;
	if (!connected(n))
		return -1;
	if (lag_ms(n)) {
		if (!n->ping_sent)
			EARLIEST(n->last_rx + lag_ms(n) / 2);
		EARLIEST(n->last_rx + lag_ms(n));
	}
	if (outq_lines(n->oq) > 0) {
		int64_t t = now_ms(n);
		if (n->io->pending && n->io->pending(n, n->io_arg) > PENDING_MAX)
			EARLIEST(t + PENDING_RETRY_MS);
		else
			EARLIEST(outq_deadline(n->oq, t));
		if (n->inbox.n > 0 && outq_bytes(n->oq) < IRCNET_WINDOW)
			EARLIEST(t); /* prepare() */
	} else if (n->inbox.n > 0) {
		EARLIEST(now_ms(n)); /* held questions and nothing to wait for */
	}
	for (int i = 0; i < REJOIN_MAX; i++)
		if (n->rejoin[i].chan[0])
			EARLIEST(n->rejoin[i].at);
#undef EARLIEST
	return at;
}

static void rearm(struct ircnet *n)
{
	n->io->arm(n, n->io_arg, next_deadline(n));
}

static void schedule_reconnect(struct ircnet *n)
{
	int64_t cap = (n->cfg->reconnect_max > 0 ? (int64_t)n->cfg->reconnect_max : 300) * 1000;
	int64_t base = IRCNET_BACKOFF_MIN_MS;
	for (int i = 1; i < n->failures && base < cap; i++)
		base *= 2;
	if (base > cap)
		base = cap;
	/* Jitter in [base/2, base]: networks restarting do not see every
	 * client come back in the same second, and the cap still holds. */
	int64_t delay = base / 2 + (int64_t)(rnd(n) % (uint32_t)(base / 2 + 1));
	n->st = ST_WAITING;
	n->reconnect_at = now_ms(n) + delay;
	log_info("[%s] reconnecting in %.1f s (attempt %d, backoff cap %lld s)", netname(n),
	         (double)delay / 1000.0, n->failures, (long long)(cap / 1000));
}

static void do_open(struct ircnet *n)
{
	n->st = ST_CONNECTING;
	log_info("[%s] connecting to %s:%d (%s)", netname(n), n->cfg->server, n->cfg->port,
	         n->cfg->tls ? "TLS" : "plain TCP");
	if (n->io->open(n, n->io_arg) != 0) {
		if (n->st == ST_CONNECTING) {
			n->failures++;
			schedule_reconnect(n);
		}
	}
}

/* ---- registration ---- */

static void cap_end(struct ircnet *n)
{
	if (!n->cap_busy)
		return;
	n->cap_busy = 0;
	sendf(n, "CAP END");
}

static const char *mech_name(enum sasl_mech m)
{
	return m == SASL_PLAIN ? "PLAIN" : m == SASL_EXTERNAL ? "EXTERNAL" : "none";
}

static size_t base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* IRCv3 sasl-3.1: the base64 payload goes in 400-byte AUTHENTICATE
 * chunks; when the last chunk is exactly 400 bytes (or the payload is
 * empty), an "AUTHENTICATE +" ends it. */
static void sasl_send_payload(struct ircnet *n, const unsigned char *raw, size_t len)
{
	char b64[(SASL_RAW_MAX + 2) / 3 * 4 + 1];
	size_t blen = base64(raw, len, b64);
	size_t off = 0;
	while (off < blen) {
		size_t k = blen - off > SASL_CHUNK ? SASL_CHUNK : blen - off;
		sendf(n, "AUTHENTICATE %.*s", (int)k, b64 + off);
		off += k;
	}
	if (blen % SASL_CHUNK == 0)
		sendf(n, "AUTHENTICATE +");
}

static void sasl_start(struct ircnet *n)
{
	const struct irc_config *c = n->cfg;
	if (c->sasl_mechanism == SASL_PLAIN && !c->tls && !c->allow_plaintext_password) {
		log_error("[%s] SASL PLAIN over plain TCP would send the password in clear: not "
		          "authenticating (set tls = yes, or allow_plaintext_password = yes)",
		          netname(n));
		cap_end(n);
		return;
	}
	n->sasl_busy = 1;
	log_info("[%s] SASL %s: authenticating as %s", netname(n), mech_name(c->sasl_mechanism),
	         c->sasl_username ? c->sasl_username : c->nick);
	sendf(n, "AUTHENTICATE %s", mech_name(c->sasl_mechanism));
}

static void sasl_continue(struct ircnet *n)
{
	const struct irc_config *c = n->cfg;
	if (c->sasl_mechanism == SASL_EXTERNAL) {
		/* The certificate is the credential: an empty payload. */
		sasl_send_payload(n, NULL, 0);
		return;
	}
	/* PLAIN (RFC 4616): authzid NUL authcid NUL password. */
	const char *user = c->sasl_username ? c->sasl_username : c->nick;
	const char *pass = c->sasl_password ? c->sasl_password : "";
	size_t ul = strlen(user), pl = strlen(pass);
	unsigned char raw[SASL_RAW_MAX];
	if (2 * ul + pl + 2 > sizeof raw) {
		log_error("[%s] SASL PLAIN: sasl_username/sasl_password too long; aborting SASL",
		          netname(n));
		sendf(n, "AUTHENTICATE *");
		return;
	}
	memcpy(raw, user, ul);
	raw[ul] = 0;
	memcpy(raw + ul + 1, user, ul);
	raw[2 * ul + 1] = 0;
	memcpy(raw + 2 * ul + 2, pass, pl);
	sasl_send_payload(n, raw, 2 * ul + 2 + pl);
	memset(raw, 0, sizeof raw);
}

static void set_nick(struct ircnet *n, const char *nick)
{
	copy(n->nick, sizeof n->nick, nick, strlen(nick));
}

static void learn_mask(struct ircnet *n, const char *mask)
{
	struct irc_userhost u;
	irc_userhost_split(mask, &u);
	if (u.user_len)
		copy(n->user, sizeof n->user, u.user, u.user_len);
	if (u.host_len)
		copy(n->host, sizeof n->host, u.host, u.host_len);
}

/* strlen(":nick!user@host") minus the ':', as the server prepends it to
 * what we send; the longest plausible parts until we know them. */
static size_t prefix_len(const struct ircnet *n)
{
	size_t u = n->user[0] ? strlen(n->user) : IRC_GUESS_USER_LEN;
	size_t h = n->host[0] ? strlen(n->host) : IRC_GUESS_HOST_LEN;
	return strlen(n->nick) + 1 + u + 1 + h;
}

static int is_me(const struct ircnet *n, const char *source)
{
	char nick[NICK_MAX];
	return source && irc_source_nick(source, nick, sizeof nick) == 0 && irc_nick_eq(nick, n->nick);
}

static const char *channel_key(const struct ircnet *n, const char *chan)
{
	for (size_t i = 0; i < n->cfg->nchannels; i++)
		if (irc_nick_eq(n->cfg->channels[i].name, chan))
			return n->cfg->channels[i].key;
	return NULL;
}

static int in_config(const struct ircnet *n, const char *chan)
{
	for (size_t i = 0; i < n->cfg->nchannels; i++)
		if (irc_nick_eq(n->cfg->channels[i].name, chan))
			return 1;
	return 0;
}

static void join(struct ircnet *n, const char *chan, const char *key)
{
	char line[IRC_LINE_MAX];
	int len = key && *key ? build(line, "JOIN", 2, chan, key) : build(line, "JOIN", 1, chan, NULL);
	if (len < 0) {
		log_error("[%s] cannot join \"%s\": not a valid channel name or key", netname(n), chan);
		return;
	}
	enqueue(n, OUTQ_SELF, line, (size_t)len);
}

/* ---- incoming commands ---- */

typedef void (*handler)(struct ircnet *n, struct irc_msg *m);

static const char *last_param(const struct irc_msg *m)
{
	return m->nparams ? m->params[m->nparams - 1] : "";
}

static void h_ping(struct ircnet *n, struct irc_msg *m)
{
	char line[IRC_LINE_MAX];
	int len = build(line, "PONG", 1, m->nparams ? m->params[0] : "", NULL);
	if (len >= 0)
		send_raw(n, line, (size_t)len);
}

/* "PONG server :fb<seq>" confirms every counted byte sent before that
 * window PING (the server handles a client's lines in order); an earlier
 * PING whose PONG went missing is confirmed with it. */
static void h_pong(struct ircnet *n, struct irc_msg *m)
{
	const char *tok = last_param(m);
	if (strncmp(tok, "fb", 2) != 0 || tok[2] < '0' || tok[2] > '9') {
		log_debug("[%s] PONG: server alive", netname(n));
		return;
	}
	char *end;
	unsigned long seq = strtoul(tok + 2, &end, 10);
	if (*end || seq > 0xffffffffUL)
		return;
	outq_pong(n->oq, (unsigned)seq); /* not ours, or from before a reset: ignored */
}

static void h_error(struct ircnet *n, struct irc_msg *m)
{
	log_warn("[%s] server says ERROR: %s", netname(n), last_param(m));
}

static void h_cap(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams < 3)
		return;
	const char *sub = m->params[1];
	/* CAP LS 302 may span lines: "CAP * LS * :a b" then "CAP * LS :c". */
	int more = m->nparams >= 4 && strcmp(m->params[2], "*") == 0;
	const char *list = last_param(m);
	char buf[IRC_LINE_MAX];
	copy(buf, sizeof buf, list, strlen(list));
	if (strcmp(sub, "LS") == 0 && n->cap_busy) {
		for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *val = strchr(tok, '=');
			if (val)
				*val++ = '\0';
			for (size_t i = 0; i < sizeof wanted_caps / sizeof *wanted_caps; i++) {
				if (strcmp(tok, wanted_caps[i].name) != 0)
					continue;
				if (wanted_caps[i].bit == CAP_SASL) {
					if (n->cfg->sasl_mechanism == SASL_NONE)
						break;
					n->sasl_offered = 1;
					if (val && !strstr(val, mech_name(n->cfg->sasl_mechanism))) {
						log_error("[%s] server offers SASL mechanisms %s, not %s: not authenticating",
						          netname(n), val, mech_name(n->cfg->sasl_mechanism));
						break;
					}
				}
				size_t have = strlen(n->capreq), k = strlen(tok);
				if (have + k + 2 < sizeof n->capreq) {
					if (have)
						n->capreq[have++] = ' ';
					memcpy(n->capreq + have, tok, k + 1);
					n->caps_requested++;
				}
			}
		}
		if (more)
			return;
		if (n->cfg->sasl_mechanism != SASL_NONE && !n->sasl_offered)
			log_error("[%s] SASL %s is configured but the server does not offer SASL: continuing "
			          "without an account (are services linked?)",
			          netname(n), mech_name(n->cfg->sasl_mechanism));
		if (n->caps_requested) {
			log_info("[%s] requesting capabilities: %s", netname(n), n->capreq);
			sendf(n, "CAP REQ :%s", n->capreq);
		} else {
			cap_end(n);
		}
	} else if (strcmp(sub, "ACK") == 0) {
		for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			int off = tok[0] == '-';
			for (size_t i = 0; i < sizeof wanted_caps / sizeof *wanted_caps; i++)
				if (strcmp(tok + off, wanted_caps[i].name) == 0) {
					if (off)
						n->caps &= ~wanted_caps[i].bit;
					else
						n->caps |= wanted_caps[i].bit;
				}
			n->caps_acked++;
		}
		log_info("[%s] capabilities enabled: %s", netname(n), list);
		if (!n->cap_busy || n->sasl_busy || n->caps_acked < n->caps_requested)
			return;
		if ((n->caps & CAP_SASL) && n->cfg->sasl_mechanism != SASL_NONE)
			sasl_start(n);
		else
			cap_end(n);
	} else if (strcmp(sub, "NAK") == 0) {
		log_warn("[%s] server refused capabilities: %s", netname(n), list);
		if (n->cap_busy && !n->sasl_busy)
			cap_end(n);
	} else if (strcmp(sub, "NEW") == 0 || strcmp(sub, "DEL") == 0) {
		log_info("[%s] server capabilities %s: %s", netname(n), strcmp(sub, "NEW") == 0 ? "added" : "removed", list);
		if (strcmp(sub, "DEL") == 0)
			for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
				for (size_t i = 0; i < sizeof wanted_caps / sizeof *wanted_caps; i++)
					if (strcmp(tok, wanted_caps[i].name) == 0)
						n->caps &= ~wanted_caps[i].bit;
	}
}

static void h_authenticate(struct ircnet *n, struct irc_msg *m)
{
	if (n->sasl_busy && m->nparams >= 1 && strcmp(m->params[0], "+") == 0)
		sasl_continue(n);
}

static void h_loggedin(struct ircnet *n, struct irc_msg *m) /* 900 */
{
	if (m->nparams >= 3) {
		learn_mask(n, m->params[1]);
		log_info("[%s] logged in to services as account %s", netname(n), m->params[2]);
	}
}

static void h_sasl_ok(struct ircnet *n, struct irc_msg *m) /* 903 */
{
	(void)m;
	log_info("[%s] SASL %s authentication succeeded", netname(n), mech_name(n->cfg->sasl_mechanism));
	n->sasl_busy = 0;
	cap_end(n);
}

/* 902, 904, 905, 906, 907, 908: the exchange is over without success.
 * Registration goes on without an account (no retry in this connection,
 * so a wrong password never loops). */
static void h_sasl_fail(struct ircnet *n, struct irc_msg *m)
{
	const char *c = m->command;
	if (strcmp(c, "908") == 0) {
		log_error("[%s] server supports SASL mechanisms %s only", netname(n),
		          m->nparams >= 2 ? m->params[1] : "?");
		return;
	}
	if (strcmp(c, "907") == 0) {
		log_info("[%s] SASL: already authenticated", netname(n));
	} else {
		const char *hint = strcmp(c, "904") == 0
		                       ? (n->cfg->sasl_mechanism == SASL_EXTERNAL
		                              ? "is the client certificate registered with services (NickServ CERT ADD)?"
		                              : "check sasl_username and sasl_password")
		                   : strcmp(c, "905") == 0 ? "the credentials are too long"
		                   : strcmp(c, "902") == 0 ? "the nick is locked by services"
		                                           : "the exchange was aborted";
		log_error("[%s] SASL %s authentication failed (%s: %s): %s; continuing without an "
		          "account",
		          netname(n), mech_name(n->cfg->sasl_mechanism), c, last_param(m), hint);
	}
	if (n->sasl_busy || n->cap_busy) {
		n->sasl_busy = 0;
		cap_end(n);
	}
}

static void h_welcome(struct ircnet *n, struct irc_msg *m) /* 001 */
{
	n->st = ST_REGISTERED;
	n->cap_busy = 0;
	n->sasl_busy = 0;
	n->failures = 0;
	if (m->nparams >= 1)
		set_nick(n, m->params[0]);
	/* Many servers end 001 with our full nick!user@host. */
	const char *text = last_param(m);
	const char *w = strrchr(text, ' ');
	w = w ? w + 1 : text;
	if (strchr(w, '!') && strchr(w, '@'))
		learn_mask(n, w);
	log_info("[%s] registered as %s on %s", netname(n), n->nick, m->source ? m->source : "?");
	if (!n->host[0])
		sendf(n, "USERHOST %s", n->nick);
	for (size_t i = 0; i < n->cfg->nchannels; i++)
		join(n, n->cfg->channels[i].name, n->cfg->channels[i].key);
}

static void next_nick(struct ircnet *n, char *out, size_t cap)
{
	const struct strlist *alt = &n->cfg->alt_nicks;
	int i = n->nick_tries - 1;
	if ((size_t)i < alt->n) {
		snprintf(out, cap, "%s", alt->v[i]);
		return;
	}
	int k = i - (int)alt->n + 1;
	/* nick1..nick9 first, then random digits so that two bots with the
	 * same config do not keep colliding. */
	if (k <= 9)
		snprintf(out, cap, "%.30s%d", n->cfg->nick, k);
	else
		snprintf(out, cap, "%.30s%u", n->cfg->nick, 10 + rnd(n) % 9990);
}

static void h_nick_err(struct ircnet *n, struct irc_msg *m) /* 432 433 436 437 */
{
	if (n->st != ST_REGISTERING) {
		log_warn("[%s] nick change refused (%s): %s", netname(n), m->command, last_param(m));
		return;
	}
	const char *bad = m->nparams >= 2 ? m->params[1] : n->nick;
	n->nick_tries++;
	if (n->nick_tries > (int)n->cfg->alt_nicks.n + NICK_TRIES_EXTRA) {
		log_error("[%s] no usable nick after %d attempts: reconnecting later", netname(n),
		          n->nick_tries);
		n->io->close(n, n->io_arg, 0, "no usable nick");
		return;
	}
	char nick[NICK_MAX];
	next_nick(n, nick, sizeof nick);
	log_warn("[%s] nick %s refused (%s %s), trying %s", netname(n), bad, m->command,
	         strcmp(m->command, "433") == 0 ? "in use" : strcmp(m->command, "432") == 0 ? "erroneous" : "unavailable",
	         nick);
	char line[IRC_LINE_MAX];
	int len = build(line, "NICK", 1, nick, NULL);
	if (len < 0) {
		log_error("[%s] alternative nick \"%s\" is not sendable", netname(n), nick);
		return;
	}
	set_nick(n, nick);
	send_raw(n, line, (size_t)len);
}

static void h_nick(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams >= 1 && is_me(n, m->source)) {
		log_info("[%s] now known as %s", netname(n), m->params[0]);
		set_nick(n, m->params[0]);
	}
}

static void h_join(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams < 1 || !is_me(n, m->source))
		return;
	learn_mask(n, m->source);
	log_info("[%s] joined %s", netname(n), m->params[0]);
	for (int i = 0; i < REJOIN_MAX; i++)
		if (irc_nick_eq(n->rejoin[i].chan, m->params[0]))
			n->rejoin[i].chan[0] = '\0';
}

static void h_kick(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams < 2 || !irc_nick_eq(m->params[1], n->nick))
		return;
	const char *chan = m->params[0];
	char by[NICK_MAX] = "?";
	if (m->source)
		irc_source_nick(m->source, by, sizeof by);
	int slot = -1;
	for (int i = 0; i < REJOIN_MAX; i++)
		if (!n->rejoin[i].chan[0] || irc_nick_eq(n->rejoin[i].chan, chan)) {
			slot = i;
			break;
		}
	if (!in_config(n, chan))
		slot = -1; /* only configured channels are rejoined */
	log_warn("[%s] kicked from %s by %s (%s)%s", netname(n), chan, by,
	         m->nparams >= 3 ? m->params[2] : "", slot >= 0 ? ": rejoining in 10 s" : "");
	if (slot >= 0) {
		copy(n->rejoin[slot].chan, sizeof n->rejoin[slot].chan, chan, strlen(chan));
		n->rejoin[slot].at = now_ms(n) + IRCNET_REJOIN_MS;
	}
}

static void h_join_fail(struct ircnet *n, struct irc_msg *m)
{
	log_warn("[%s] cannot join %s: %s (%s)", netname(n), m->nparams >= 2 ? m->params[1] : "?",
	         last_param(m), m->command);
}

static void h_fatal(struct ircnet *n, struct irc_msg *m) /* 464 465 */
{
	log_error("[%s] server refuses us (%s): %s", netname(n), m->command, last_param(m));
}

static void h_host(struct ircnet *n, struct irc_msg *m) /* 396 */
{
	if (m->nparams >= 2)
		copy(n->host, sizeof n->host, m->params[1], strlen(m->params[1]));
}

static void h_userhost(struct ircnet *n, struct irc_msg *m) /* 302 "nick*=+user@host" */
{
	char buf[IRC_LINE_MAX];
	const char *list = last_param(m);
	copy(buf, sizeof buf, list, strlen(list));
	for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (eq > tok && eq[-1] == '*')
			eq[-1] = '\0';
		if (!irc_nick_eq(tok, n->nick))
			continue;
		char *uh = eq + 1;
		if (*uh == '+' || *uh == '-')
			uh++;
		char *at = strchr(uh, '@');
		if (!at)
			continue;
		copy(n->user, sizeof n->user, uh, (size_t)(at - uh));
		copy(n->host, sizeof n->host, at + 1, strlen(at + 1));
	}
}

static int is_channel(const char *target)
{
	return (target[0] && strchr("#&+!", target[0])) || ((target[0] == '@' || target[0] == '%') && target[1]);
}

/* A user's identity for the per-user limits and the fair queue (issue
 * 10): the services account when the server tags it (and we asked for
 * the tag), else user@host from the source, else the nick; a nick change
 * keeps it.  The prefixes keep an account from passing for a host. */
static void identity(const char *source, const char *nick, const char *account, char *out, size_t cap)
{
	struct irc_userhost u;
	if (account && *account) {
		snprintf(out, cap, "a:%s", account);
		return;
	}
	irc_userhost_split(source, &u);
	if (u.user_len || u.host_len)
		snprintf(out, cap, "h:%.*s@%.*s", (int)u.user_len, u.user, (int)u.host_len, u.host);
	else
		snprintf(out, cap, "n:%s", nick);
}

/* The fair queue's key for an identity (FNV-1a, RFC 1459 case-folded like
 * nicks; never OUTQ_SELF). */
static uint64_t ident_key(const char *id)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = id; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 'A' && c <= '^')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 1099511628211ULL;
	}
	return h == OUTQ_SELF ? 1 : h;
}

/* Sends a bot answer: paragraphs split on '\n', each sanitised and split
 * at the room left by the server's prefix; in a channel the first line
 * starts with "nick: " (issue 3).  Every line is charged to the asker
 * (key) and the answer is queued whole or not at all (issue 10). */
static void send_answer(struct ircnet *n, uint64_t key, const char *asker, const char *chan,
                        struct chat_reply *o)
{
	const char *cmd = o->kind == CHAT_LIMITED ? "NOTICE" : "PRIVMSG";
	const char *target = chan && o->kind != CHAT_LIMITED ? chan : asker;
	size_t room = irc_text_room(prefix_len(n), cmd, target);
	size_t textlen = o->len < sizeof o->text ? o->len : sizeof o->text - 1;
	int lines = 0, first = 1;
	char *p = o->text, *end = o->text + textlen;
	char out[IRCNET_ANSWER_LINES][IRC_LINE_MAX];
	size_t outlen[IRCNET_ANSWER_LINES], bytes = 0;
	*end = '\0';
	while (p < end && lines < IRCNET_ANSWER_LINES + 1) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *pe = nl ? nl : end;
		size_t pl = irc_sanitize(p, (size_t)(pe - p));
		char *q = p;
		while (pl > 0) {
			while (pl > 0 && *q == ' ') {
				q++;
				pl--;
			}
			if (!pl)
				break;
			if (lines == IRCNET_ANSWER_LINES) {
				log_warn("[%s] answer to %s cut after %d lines", netname(n), asker, lines);
				lines++;
				break;
			}
			char text[IRC_LINE_MAX];
			size_t used = 0;
			if (first && target == chan)
				used = (size_t)snprintf(text, sizeof text, "%.*s: ", NICK_MAX, asker);
			if (room < used + 16) {
				log_error("[%s] no room to answer in %s", netname(n), target);
				return;
			}
			size_t k = irc_split_next(q, pl, room - used);
			memcpy(text + used, q, k);
			text[used + k] = '\0';
			int len = build(out[lines], cmd, 2, target, text);
			if (len >= 0) {
				outlen[lines] = (size_t)len;
				bytes += (size_t)len + 2;
				lines++;
			}
			first = 0;
			q += k;
			pl -= k;
		}
		p = pe + 1;
	}
	if (lines > IRCNET_ANSWER_LINES)
		lines = IRCNET_ANSWER_LINES;
	if (lines == 0)
		return;
	if (!outq_room(n->oq, key, lines, bytes)) {
		if (n->dropped++ % 100 == 0)
			log_warn("[%s] %s has %d lines waiting already: a %d-line answer dropped (%lu dropped "
			         "so far)", netname(n), asker, outq_user_lines(n->oq, key), lines, n->dropped);
		return;
	}
	for (int i = 0; i < lines; i++)
		enqueue(n, key, out[i], outlen[i]);
}

static void h_privmsg(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams < 2 || !m->source)
		return;
	char nick[NICK_MAX], id[IDENT_MAX];
	if (irc_source_nick(m->source, nick, sizeof nick) != 0 || !nick[0] || strchr(nick, '.'))
		return; /* a server, not a user */
	if (irc_nick_eq(nick, n->nick))
		return; /* our own line (echo): never answer ourselves */
	const char *target = m->params[0];
	/* params point into n->line, our own buffer: safe to rewrite. */
	char *text = (char *)m->params[1];
	int priv = !is_channel(target);
	/* Only trust account from the server's account-tag when we asked for
	 * it: admin rights come from the account, never from the nick. */
	const char *account = (n->caps & CAP_ACCOUNT) ? irc_tag(m, "account") : NULL;
	identity(m->source, nick, account, id, sizeof id);
	uint64_t key = ident_key(id);
	struct chat_msg bm = {
		.network = netname(n),
		.sender = nick,
		.account = account,
		.user_id = id,
		.is_private = priv,
		.mentioned = 0,
		.own_name = n->nick,
		.auto_answer = !priv && strlist_has(&n->cfg->policy.auto_answer, target),
		.policy = &n->cfg->policy,
		.now_ms = now_ms(n),
		.now = 0,
		.room = priv ? NULL : target,
	};
	struct irc_ctcp c;
	if (irc_ctcp_parse(text, &c)) {
		char line[IRC_LINE_MAX];
		int len = irc_ctcp_reply(&c, nick, FAQBOT_VERSION, line, IRC_LINE_MAX - 2);
		if (len < 0)
			return;
		/* A CTCP reply is charged to the asker too: a small bucket of
		 * its own, then one notice, then silence (issue 10). */
		bm.event = CHAT_MINOR;
		int r = n->sink.on_msg(n->sink.arg, &bm, &n->out);
		if (r > 0)
			log_info("[%s] CTCP %.*s from %s", netname(n), (int)c.cmd_len < 20 ? (int)c.cmd_len : 20,
			         c.cmd, nick);
		if (r > 0)
			enqueue(n, key, line, (size_t)len);
		else if (r == 0)
			send_answer(n, key, nick, NULL, &n->out);
		return;
	}
	bm.len = irc_sanitize(text, strlen(text));
	bm.text = text;
	if (!n->sink.on_msg(n->sink.arg, &bm, &n->out))
		return;
	log_debug("[%s] answering %s%s%s (kind %d, %zu bytes)", netname(n), nick, priv ? "" : " in ",
	          priv ? "" : target, (int)n->out.kind, n->out.len);
	send_answer(n, key, nick, priv ? NULL : target, &n->out);
	if (n->out.extra_target[0]) { /* hand-over (bot.h): one more line, as is */
		char to[sizeof n->out.extra_target];
		memcpy(to, n->out.extra_target, sizeof to);
		n->out.len = strlen(n->out.extra_text);
		memcpy(n->out.text, n->out.extra_text, n->out.len + 1);
		n->out.extra_target[0] = 0;
		send_answer(n, key, to, NULL, &n->out);
	}
}

static const struct {
	const char *cmd;
	handler fn;
} handlers[] = {
	/* PRIVMSG first: it is the hot path. */
	{ "PRIVMSG", h_privmsg },
	{ "PING", h_ping },
	{ "PONG", h_pong },
	{ "JOIN", h_join },
	{ "KICK", h_kick },
	{ "NICK", h_nick },
	{ "CAP", h_cap },
	{ "AUTHENTICATE", h_authenticate },
	{ "ERROR", h_error },
	{ "001", h_welcome },
	{ "302", h_userhost },
	{ "396", h_host },
	{ "403", h_join_fail },
	{ "405", h_join_fail },
	{ "432", h_nick_err },
	{ "433", h_nick_err },
	{ "436", h_nick_err },
	{ "437", h_nick_err },
	{ "464", h_fatal },
	{ "465", h_fatal },
	{ "471", h_join_fail },
	{ "473", h_join_fail },
	{ "474", h_join_fail },
	{ "475", h_join_fail },
	{ "477", h_join_fail },
	{ "900", h_loggedin },
	{ "902", h_sasl_fail },
	{ "903", h_sasl_ok },
	{ "904", h_sasl_fail },
	{ "905", h_sasl_fail },
	{ "906", h_sasl_fail },
	{ "907", h_sasl_fail },
	{ "908", h_sasl_fail },
};

/* Whether a question must wait in the inbox: with the throttle lifted,
 * while lines wait to be sent (window closed, socket full) or older
 * questions wait.  With the throttle on, questions are handled at once
 * so the per-user limit sees them when they arrive; the per-user share of
 * the fair queue bounds what waits. */
static int must_hold(const struct ircnet *n)
{
	return !throttled(n) && n->st == ST_REGISTERED && (outq_lines(n->oq) > 0 || n->inbox.n > 0);
}

/* Keeps a PRIVMSG for later as "[@account=A ]:nick!user@host PRIVMSG
 * target :text": what h_privmsg reads of it, without the other tags. */
static void hold(struct ircnet *n, const struct irc_msg *m)
{
	char buf[IRC_READ_MAX + 1], nick[NICK_MAX];
	if (m->nparams < 2 || !m->source || irc_source_nick(m->source, nick, sizeof nick) != 0)
		return;
	const char *account = (n->caps & CAP_ACCOUNT) ? irc_tag(m, "account") : NULL;
	if (account && (!*account || strpbrk(account, " ;\\")))
		account = NULL; /* cannot be re-read: handled without rights */
	int len = snprintf(buf, sizeof buf, "%s%s%s:%s PRIVMSG %s :%s", account ? "@account=" : "",
	                   account ? account : "", account ? " " : "", m->source, m->params[0], m->params[1]);
	if (len < 0 || (size_t)len >= sizeof buf || strpbrk(buf, "\r\n")) /* tag values are unescaped */
		return;
	if (n->inbox.n >= IRCNET_QUEUE_FAST_MAX ||
	    fifo_room(&n->inbox, QHDR + (size_t)len, IRCNET_INBOX_BYTES) != 0) {
		if (n->held_dropped++ % 100 == 0)
			log_warn("[%s] %d questions already wait for the send window: dropped one from %s "
			         "(%lu dropped so far)", netname(n), n->inbox.n, nick, n->held_dropped);
		return;
	}
	fifo_put(&n->inbox, buf, (size_t)len);
}

static void handle_line(struct ircnet *n, size_t len, int held)
{
	while (len > 0 && n->line[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* blank lines are allowed noise */
	if (!held)
		log_proto(netname(n), "<<", n->line, len);
	struct irc_msg m;
	if (irc_parse(n->line, len, &m) != 0) {
		log_warn("[%s] malformed line from server skipped (%zu bytes)", netname(n), len);
		return;
	}
	if (!held && must_hold(n) && strcmp(m.command, "PRIVMSG") == 0) {
		hold(n, &m);
		return;
	}
	for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
		if (strcmp(handlers[i].cmd, m.command) == 0) {
			handlers[i].fn(n, &m);
			return;
		}
	/* Anything else (unknown numerics included) is ignored. */
}

/* ---- public: the transport seam ---- */

struct ircnet *ircnet_new(const struct irc_config *cfg, const struct chat_sink *sink,
                          const struct ircnet_io *io, void *arg)
{
	struct ircnet *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->cfg = cfg;
	n->sink = *sink;
	n->io = io;
	n->io_arg = arg;
	snprintf(n->name, sizeof n->name, "%s", cfg->name ? cfg->name : "irc");
	struct outq_limits lim;
	limits(cfg, &lim);
	if (!(n->oq = outq_new(&lim, 0))) { /* the clock starts at ircnet_connected */
		free(n);
		return NULL;
	}
	n->st = ST_IDLE;
	n->timer_at = -1;
	n->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)(uintptr_t)n ^ 0x9E3779B97F4A7C15ULL;
	set_nick(n, cfg->nick);
	return n;
}

int ircnet_connect(struct ircnet *n)
{
	if (n->st != ST_IDLE)
		return -1;
	do_open(n);
	rearm(n);
	return n->st == ST_WAITING ? -1 : 0;
}

void ircnet_connected(struct ircnet *n)
{
	if (n->st != ST_CONNECTING)
		return;
	const struct irc_config *c = n->cfg;
	n->st = ST_REGISTERING;
	n->last_rx = now_ms(n);
	n->ping_sent = 0;
	n->cap_busy = 1;
	n->sasl_busy = 0;
	n->sasl_offered = 0;
	n->caps = 0;
	n->caps_requested = n->caps_acked = 0;
	n->capreq[0] = '\0';
	n->nick_tries = 0;
	n->user[0] = n->host[0] = '\0';
	outq_reset(n->oq, n->last_rx);
	fifo_clear(&n->inbox);
	n->skipping = 0;
	memset(n->rejoin, 0, sizeof n->rejoin);
	set_nick(n, c->nick);
	log_info("[%s] connected to %s:%d, registering as %s", netname(n), c->server, c->port, c->nick);
	/* CAP LS 302 first: the server holds registration until CAP END, so
	 * NICK/USER can follow at once (a server without CAP just ignores
	 * it and registers us). */
	sendf(n, "CAP LS 302");
	char line[IRC_LINE_MAX];
	int len = build(line, "NICK", 1, c->nick, NULL);
	if (len >= 0)
		send_raw(n, line, (size_t)len);
	const char *user = c->username ? c->username : c->nick;
	const char *p[4] = { user, "0", "*", c->realname ? c->realname : "faqbot" };
	len = irc_build(line, IRC_LINE_MAX - 2, "USER", 4, p);
	if (len >= 0)
		send_raw(n, line, (size_t)len);
	else
		log_error("[%s] username/realname cannot be sent (spaces or control characters?)", netname(n));
	rearm(n);
}

size_t ircnet_feed(struct ircnet *n, const char *data, size_t len)
{
	size_t off = 0;
	if (len && connected(n)) {
		n->last_rx = now_ms(n);
		n->ping_sent = 0;
	}
	while (off < len && connected(n)) {
		const char *nl = memchr(data + off, '\n', len - off);
		if (!nl) {
			if (len - off > IRC_READ_MAX) {
				log_warn("[%s] over-long line from server (over %d bytes) skipped", netname(n),
				         IRC_READ_MAX);
				n->skipping = 1;
				off = len;
			}
			break;
		}
		size_t ll = (size_t)(nl - (data + off));
		if (n->skipping) {
			n->skipping = 0;
		} else if (ll > IRC_READ_MAX) {
			log_warn("[%s] over-long line from server (%zu bytes) skipped", netname(n), ll);
		} else {
			memcpy(n->line, data + off, ll);
			n->line[ll] = '\0';
			handle_line(n, ll, 0);
		}
		off += ll + 1;
	}
	if (connected(n))
		flush(n);
	else
		off = len; /* closed while handling: the rest is for a dead connection */
	rearm(n);
	return off;
}

void ircnet_closed(struct ircnet *n, const char *reason)
{
	enum state was = n->st;
	if (was == ST_DONE || was == ST_WAITING || was == ST_IDLE)
		return;
	if (outq_lines(n->oq) || n->inbox.n)
		log_info("[%s] %d queued lines and %d held questions dropped with the connection",
		         netname(n), outq_lines(n->oq), n->inbox.n);
	outq_reset(n->oq, now_ms(n));
	fifo_clear(&n->inbox);
	n->cap_busy = n->sasl_busy = 0;
	if (was == ST_QUITTING) {
		log_info("[%s] disconnected after QUIT", netname(n));
		n->st = ST_DONE;
	} else {
		log_warn("[%s] connection to %s:%d lost: %s", netname(n), n->cfg->server, n->cfg->port,
		         reason ? reason : "closed");
		if (was != ST_REGISTERED)
			n->failures++;
		else
			n->failures = 1;
		schedule_reconnect(n);
	}
	rearm(n);
}

void ircnet_tick(struct ircnet *n)
{
	int64_t t = now_ms(n);
	if (n->st == ST_WAITING && t >= n->reconnect_at) {
		do_open(n);
	} else if (connected(n)) {
		int64_t lag = lag_ms(n);
		if (lag && t - n->last_rx >= lag) {
			char why[96];
			snprintf(why, sizeof why, "no data from the server for %lld s (lag_timeout)",
			         (long long)((t - n->last_rx) / 1000));
			log_warn("[%s] %s: reconnecting", netname(n), why);
			n->io->close(n, n->io_arg, 0, why);
		} else {
			if (outq_window_expired(n->oq, t))
				log_warn("[%s] no PONG to the flow-control PING within %d s: reopening the send window",
				         netname(n), IRCNET_WINDOW_TIMEOUT_MS / 1000);
			if (lag && !n->ping_sent && t - n->last_rx >= lag / 2) {
				n->ping_sent = 1;
				sendf(n, "PING :faqbot-lag");
			}
			for (int i = 0; i < REJOIN_MAX && n->st == ST_REGISTERED; i++)
				if (n->rejoin[i].chan[0] && t >= n->rejoin[i].at) {
					n->rejoin[i].at = t + 6 * IRCNET_REJOIN_MS; /* until the JOIN echo */
					join(n, n->rejoin[i].chan, channel_key(n, n->rejoin[i].chan));
				}
			flush(n);
			prepare(n);
		}
	}
	rearm(n);
}

void ircnet_quit(struct ircnet *n, const char *msg)
{
	if (!n)
		return;
	if (connected(n)) {
		char text[IRC_LINE_MAX];
		const char *m = msg ? msg : n->cfg->quit_message ? n->cfg->quit_message : "faqbot s'arrête";
		size_t len = strlen(m);
		if (len > 300)
			len = 300;
		memcpy(text, m, len);
		len = irc_sanitize(text, len);
		char line[IRC_LINE_MAX];
		int ll = build(line, "QUIT", 1, text, NULL);
		if (ll >= 0)
			send_raw(n, line, (size_t)ll);
		log_info("[%s] quitting: %s", netname(n), text);
		n->st = ST_QUITTING;
		n->io->close(n, n->io_arg, 1, "quit");
	} else if (n->st == ST_CONNECTING) {
		n->st = ST_QUITTING;
		n->io->close(n, n->io_arg, 0, "quit");
	} else if (n->st != ST_QUITTING) {
		n->st = ST_DONE;
	}
	rearm(n);
}

int ircnet_done(const struct ircnet *n)
{
	return n->st == ST_DONE;
}

int ircnet_registered(const struct ircnet *n)
{
	return n->st == ST_REGISTERED;
}

const char *ircnet_nick(const struct ircnet *n)
{
	return n->nick;
}

void ircnet_set_config(struct ircnet *n, const struct irc_config *cfg)
{
	/* outq counts the time since the last refill at the old rate, so the
	 * new rate and burst start from a settled bucket and the queued
	 * lines keep a deadline (issue 3: a reload mid-answer). */
	struct outq_limits lim;
	n->cfg = cfg;
	limits(cfg, &lim);
	outq_set_limits(n->oq, &lim, now_ms(n));
	/* No flush here: a reload runs inside bot_handle (an admin's
	 * !reload on this or another network), and flushing would answer
	 * held questions, another !reload among them, under it.  The tick,
	 * armed for now when lines may go, does it from the loop. */
	rearm(n);
}

/* ---- production transport: net.h and the loop's timer ---- */

static void net_on_connect(struct net *c, void *arg)
{
	(void)c;
	ircnet_connected(arg);
}

static size_t net_on_data(struct net *c, const char *data, size_t len, void *arg)
{
	(void)c;
	return ircnet_feed(arg, data, len);
}

static void net_on_close(struct net *c, const char *reason, void *arg)
{
	struct ircnet *n = arg;
	char why[1024];
	/* net.c's hint names the settings; say which section holds them. */
	if (reason && strstr(reason, "check `port` and `tls`")) {
		snprintf(why, sizeof why, "%s in [irc.%s]", reason, netname(n));
		reason = why;
	}
	net_free(c);
	if (n->conn == c)
		n->conn = NULL;
	ircnet_closed(n, reason);
}

static const struct net_callbacks net_cbs = { net_on_connect, net_on_data, net_on_close };

static int io_open(struct ircnet *n, void *arg)
{
	(void)arg;
	const struct irc_config *c = n->cfg;
	struct net_opts o = {
		.host = c->server,
		.port = c->port,
		.tls = c->tls,
		.ca_file = c->tls_ca_file,
		.client_cert = c->client_cert,
		.client_key = c->client_key,
	};
	char err[256] = "";
	n->conn = net_connect(n->lp, &o, &net_cbs, n, err, sizeof err);
	if (!n->conn) {
		log_error("[%s] cannot connect to %s:%d: %s", netname(n), c->server, c->port, err);
		return -1;
	}
	return 0;
}

static int io_send(struct ircnet *n, void *arg, const char *data, size_t len)
{
	(void)arg;
	if (!n->conn)
		return -1;
	if (net_send(n->conn, data, len) != 0) {
		log_warn("[%s] write queue full or connection closed: %zu bytes not sent", netname(n), len);
		return -1;
	}
	return 0;
}

static size_t io_pending(struct ircnet *n, void *arg)
{
	(void)arg;
	return n->conn ? net_queued(n->conn) : 0;
}

static void io_close(struct ircnet *n, void *arg, int flush_first, const char *reason)
{
	(void)arg;
	if (!n->conn)
		return;
	if (flush_first)
		net_shutdown(n->conn, reason);
	else
		net_close(n->conn, reason);
}

static int64_t io_now(struct ircnet *n, void *arg)
{
	(void)arg;
	return loop_now_ms(n->lp);
}

#define IO_TIMER_LATE_MS 1000

static void on_timer(struct loop *lp, void *arg)
{
	(void)lp;
	struct ircnet *n = arg;
	n->timer = 0;
	n->timer_at = -1;
	ircnet_tick(n);
}

/* One loop timer per network.  A later deadline keeps the armed (earlier)
 * timer: the tick then re-arms, so the hot path does not cancel and add a
 * timer for every line received. */
static void io_arm(struct ircnet *n, void *arg, int64_t at)
{
	(void)arg;
	if (at < 0) {
		if (n->timer > 0)
			loop_timer_cancel(n->lp, n->timer);
		n->timer = 0;
		n->timer_at = -1;
		return;
	}
	/* The armed timer is kept only while it is still to come or just
	 * due: one already late by IO_TIMER_LATE_MS has been lost (cancelled
	 * or dropped under us), and keeping it would leave the queue with no
	 * tick until the next read (issue 3: answers stalled for 40 s). */
	if (n->timer > 0 && n->timer_at <= at && n->timer_at + IO_TIMER_LATE_MS > loop_now_ms(n->lp))
		return;
	if (n->timer > 0)
		loop_timer_cancel(n->lp, n->timer);
	int64_t delay = at - loop_now_ms(n->lp);
	n->timer = loop_timer_add(n->lp, delay > 0 ? delay : 0, on_timer, n);
	n->timer_at = n->timer > 0 ? at : -1;
	if (n->timer <= 0)
		log_error("[%s] cannot add a loop timer", netname(n));
}

static const struct ircnet_io net_io = { io_open, io_send, io_pending, io_close, io_now, io_arm };

struct ircnet *ircnet_start(struct loop *lp, const struct irc_config *cfg,
			    const struct chat_sink *sink)
{
	struct ircnet *n = ircnet_new(cfg, sink, &net_io, NULL);
	if (!n)
		return NULL;
	n->lp = lp;
	ircnet_connect(n);
	return n;
}

void ircnet_free(struct ircnet *n)
{
	if (!n)
		return;
	if (n->lp) {
		if (n->timer > 0)
			loop_timer_cancel(n->lp, n->timer);
		net_free(n->conn);
	}
	outq_free(n->oq);
	free(n->inbox.buf);
	free(n);
}
