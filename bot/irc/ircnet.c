/* ircnet.c - one IRC network's client: the connection's life (connect,
 * reconnect with capped exponential backoff and jitter, QUIT), PING/PONG
 * and the lag check, joins and rejoins, and the dispatch of every server
 * line to its handler: registration in ircreg.c, users' PRIVMSGs in
 * ircmsg.c.  What it sends for users waits in outq.c (the throttle, the
 * PING/PONG window, round-robin between users); questions that
 * must wait for the window, in ircinbox.c.
 * It never touches a socket: everything goes through struct ircnet_io
 * (ircsock.c in production, a recorder in the tests). */
#include "ircnet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "irc.h"
#include "ircinbox.h"
#include "ircnet_int.h"
#include "log.h"
#include "outq.h"

/* Write backpressure: keep lines in our queue while the socket has this
 * much unsent, and look again shortly. */
#define PENDING_MAX (64 * 1024)
#define PENDING_RETRY_MS 20
#define REJOIN_MAX IRCNET_REJOIN_SLOTS
#define NICK_MAX IRCNET_NICK_MAX


int64_t ircnet_now(struct ircnet *n)
{
	return n->io->now(n, n->io_arg);
}

uint32_t ircnet_rnd(struct ircnet *n)
{
	uint64_t x = n->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	n->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}


/* ---- sending ---- */

/* Sends one line now (no throttle): registration, PONG, QUIT, lag PING. */
int ircnet_send_raw(struct ircnet *n, const char *line, size_t len)
{
	char buf[IRC_LINE_MAX];
	if (len > IRC_LINE_MAX - 2) {
		log_error("[%s] refusing to send an over-long line (%zu bytes): %.40s", ircnet_name(n), len,
		          line);
		return -1;
	}
	log_proto(ircnet_name(n), ">>", line, len);
	memcpy(buf, line, len);
	buf[len] = '\r';
	buf[len + 1] = '\n';
	return n->io->send(n, n->io_arg, buf, len + 2);
}

/* For lines made of our own constants and config values only. */
int ircnet_sendf(struct ircnet *n, const char *fmt, ...)
{
	char buf[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof buf - 2 || strpbrk(buf, "\r\n")) {
		log_error("[%s] refusing to send a malformed line: %.40s", ircnet_name(n), buf);
		return -1;
	}
	return ircnet_send_raw(n, buf, (size_t)len);
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
	if (outq_ping(n->oq, ircnet_now(n), force, &seq))
		ircnet_sendf(n, "PING :fb%u", seq);
}

static int may_send(struct ircnet *n, size_t len)
{
	if (n->io->pending && n->io->pending(n, n->io_arg) > PENDING_MAX)
		return 0;
	return outq_may_send(n->oq, len, ircnet_now(n));
}

/* A queued line of len bytes (CR LF included) went out. */
static void sent(struct ircnet *n, size_t len)
{
	if (outq_sent(n->oq, len))
		fc_ping(n, 0);
}

/* Sends what the queue holds while throttle and window allow, then
 * answers held questions while nothing waits to be sent. */
static void flush(struct ircnet *n)
{
	size_t len;
	const char *text;
	for (;;) {
		while (ircnet_connected_now(n) && (text = outq_head(n->oq, &len)) != NULL) {
			if (!may_send(n, len))
				break;
			log_proto(ircnet_name(n), ">>", text, len - 2u);
			n->io->send(n, n->io_arg, text, len);
			outq_pop(n->oq);
			sent(n, len);
		}
		if (outq_lines(n->oq) > 0 || ircinbox_count(n->inbox) == 0 || !ircnet_connected_now(n))
			break;
		ircmsg_handle_held(n);
	}
	/* Blocked by the window: make sure a PING covers what is out, or
	 * nothing would ever reopen it. */
	if (ircnet_connected_now(n) && (text = outq_head(n->oq, &len)) != NULL && !outq_window_open(n->oq, len))
		fc_ping(n, 1);
}

/* While the window is closed (waiting for a PONG), the answers to the
 * next held questions are made ready, up to a window's worth: called from
 * the tick, after the transport has written what the last read let out,
 * so the bot's work overlaps the server's instead of following it. */
static void prepare(struct ircnet *n)
{
	while (ircinbox_count(n->inbox) > 0 && outq_lines(n->oq) > 0 && ircnet_connected_now(n) &&
	       outq_bytes(n->oq) < IRCNET_WINDOW)
		ircmsg_handle_held(n);
}

/* Queues a line (an answer, a JOIN) for the user key (OUTQ_SELF: the
 * bot's own).  Sent at once when the bucket has a token and nothing waits
 * before it.  0, or -1 when the user's share of the queue is full. */
int ircnet_enqueue(struct ircnet *n, uint64_t key, const char *line, size_t len)
{
	char buf[IRC_LINE_MAX];
	if (len > IRC_LINE_MAX - 2)
		return -1;
	if (outq_lines(n->oq) == 0 && ircnet_connected_now(n) && may_send(n, len + 2)) {
		if (ircnet_send_raw(n, line, len) == 0)
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
		         "%lu dropped so far)", ircnet_name(n), line, outq_lines(n->oq),
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
	if (!ircnet_connected_now(n))
		return -1;
	if (lag_ms(n)) {
		if (!n->ping_sent)
			EARLIEST(n->last_rx + lag_ms(n) / 2);
		EARLIEST(n->last_rx + lag_ms(n));
	}
	if (outq_lines(n->oq) > 0) {
		int64_t t = ircnet_now(n);
		if (n->io->pending && n->io->pending(n, n->io_arg) > PENDING_MAX)
			EARLIEST(t + PENDING_RETRY_MS);
		else
			EARLIEST(outq_deadline(n->oq, t));
		if (ircinbox_count(n->inbox) > 0 && outq_bytes(n->oq) < IRCNET_WINDOW)
			EARLIEST(t); /* prepare() */
	} else if (ircinbox_count(n->inbox) > 0) {
		EARLIEST(ircnet_now(n)); /* held questions and nothing to wait for */
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
	int64_t delay = base / 2 + (int64_t)(ircnet_rnd(n) % (uint32_t)(base / 2 + 1));
	n->st = ST_WAITING;
	n->reconnect_at = ircnet_now(n) + delay;
	log_info("[%s] reconnecting in %.1f s (attempt %d, backoff cap %lld s)", ircnet_name(n),
	         (double)delay / 1000.0, n->failures, (long long)(cap / 1000));
}

static void do_open(struct ircnet *n)
{
	n->st = ST_CONNECTING;
	log_info("[%s] connecting to %s:%d (%s)", ircnet_name(n), n->cfg->server, n->cfg->port,
	         n->cfg->tls ? "TLS" : "plain TCP");
	if (n->io->open(n, n->io_arg) != 0) {
		if (n->st == ST_CONNECTING) {
			n->failures++;
			schedule_reconnect(n);
		}
	}
}

void ircnet_set_nick(struct ircnet *n, const char *nick)
{
	ircnet_copy(n->nick, sizeof n->nick, nick, strlen(nick));
}

void ircnet_learn_mask(struct ircnet *n, const char *mask)
{
	struct irc_userhost u;
	irc_userhost_split(mask, &u);
	if (u.user_len)
		ircnet_copy(n->user, sizeof n->user, u.user, u.user_len);
	if (u.host_len)
		ircnet_copy(n->host, sizeof n->host, u.host, u.host_len);
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
	int len = key && *key ? ircnet_build(line, "JOIN", 2, chan, key) : ircnet_build(line, "JOIN", 1, chan, NULL);
	if (len < 0) {
		log_error("[%s] cannot join \"%s\": not a valid channel name or key", ircnet_name(n), chan);
		return;
	}
	ircnet_enqueue(n, OUTQ_SELF, line, (size_t)len);
}

void ircnet_join_all(struct ircnet *n)
{
	for (size_t i = 0; i < n->cfg->nchannels; i++)
		join(n, n->cfg->channels[i].name, n->cfg->channels[i].key);
}

/* ---- incoming commands ---- */

static void h_ping(struct ircnet *n, struct irc_msg *m)
{
	char line[IRC_LINE_MAX];
	int len = ircnet_build(line, "PONG", 1, m->nparams ? m->params[0] : "", NULL);
	if (len >= 0)
		ircnet_send_raw(n, line, (size_t)len);
}

/* "PONG server :fb<seq>" confirms every counted byte sent before that
 * window PING (the server handles a client's lines in order); an earlier
 * PING whose PONG went missing is confirmed with it. */
static void h_pong(struct ircnet *n, struct irc_msg *m)
{
	const char *tok = ircnet_last_param(m);
	if (strncmp(tok, "fb", 2) != 0 || tok[2] < '0' || tok[2] > '9') {
		log_debug("[%s] PONG: server alive", ircnet_name(n));
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
	log_warn("[%s] server says ERROR: %s", ircnet_name(n), ircnet_last_param(m));
}

static void h_nick(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams >= 1 && is_me(n, m->source)) {
		log_info("[%s] now known as %s", ircnet_name(n), m->params[0]);
		ircnet_set_nick(n, m->params[0]);
	}
}

static void h_join(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams < 1 || !is_me(n, m->source))
		return;
	ircnet_learn_mask(n, m->source);
	log_info("[%s] joined %s", ircnet_name(n), m->params[0]);
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
	log_warn("[%s] kicked from %s by %s (%s)%s", ircnet_name(n), chan, by,
	         m->nparams >= 3 ? m->params[2] : "", slot >= 0 ? ": rejoining in 10 s" : "");
	if (slot >= 0) {
		ircnet_copy(n->rejoin[slot].chan, sizeof n->rejoin[slot].chan, chan, strlen(chan));
		n->rejoin[slot].at = ircnet_now(n) + IRCNET_REJOIN_MS;
	}
}

static void h_join_fail(struct ircnet *n, struct irc_msg *m)
{
	log_warn("[%s] cannot join %s: %s (%s)", ircnet_name(n), m->nparams >= 2 ? m->params[1] : "?",
	         ircnet_last_param(m), m->command);
}

static void h_fatal(struct ircnet *n, struct irc_msg *m) /* 464 465 */
{
	log_error("[%s] server refuses us (%s): %s", ircnet_name(n), m->command, ircnet_last_param(m));
}

static void h_host(struct ircnet *n, struct irc_msg *m) /* 396 */
{
	if (m->nparams >= 2)
		ircnet_copy(n->host, sizeof n->host, m->params[1], strlen(m->params[1]));
}

static void h_userhost(struct ircnet *n, struct irc_msg *m) /* 302 "nick*=+user@host" */
{
	char buf[IRC_LINE_MAX];
	const char *list = ircnet_last_param(m);
	ircnet_copy(buf, sizeof buf, list, strlen(list));
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
		ircnet_copy(n->user, sizeof n->user, uh, (size_t)(at - uh));
		ircnet_copy(n->host, sizeof n->host, at + 1, strlen(at + 1));
	}
}

/* Every server command the client reads, and who handles it: this
 * file, the registration (ircreg_*) or the users' messages (ircmsg_*). */
struct ircnet_cmd {
	const char *cmd;
	ircnet_handler fn;
};

static const struct ircnet_cmd handlers[] = {
	/* PRIVMSG first: it is the hot path. */
	{ "PRIVMSG", ircmsg_privmsg },
	{ "PING", h_ping },
	{ "PONG", h_pong },
	{ "JOIN", h_join },
	{ "KICK", h_kick },
	{ "NICK", h_nick },
	{ "CAP", ircreg_cap },
	{ "AUTHENTICATE", ircreg_authenticate },
	{ "ERROR", h_error },
	{ "001", ircreg_welcome },
	{ "302", h_userhost },
	{ "396", h_host },
	{ "403", h_join_fail },
	{ "405", h_join_fail },
	{ "432", ircreg_nick_err },
	{ "433", ircreg_nick_err },
	{ "436", ircreg_nick_err },
	{ "437", ircreg_nick_err },
	{ "464", h_fatal },
	{ "465", h_fatal },
	{ "471", h_join_fail },
	{ "473", h_join_fail },
	{ "474", h_join_fail },
	{ "475", h_join_fail },
	{ "477", h_join_fail },
	{ "900", ircreg_loggedin },
	{ "902", ircreg_sasl_fail },
	{ "903", ircreg_sasl_ok },
	{ "904", ircreg_sasl_fail },
	{ "905", ircreg_sasl_fail },
	{ "906", ircreg_sasl_fail },
	{ "907", ircreg_sasl_fail },
	{ "908", ircreg_sasl_fail },
};

/* Whether a question must wait in the inbox: with the throttle lifted,
 * while lines wait to be sent (window closed, socket full) or older
 * questions wait.  With the throttle on, questions are handled at once
 * so the per-user limit sees them when they arrive; the per-user share of
 * the fair queue bounds what waits. */
static int must_hold(const struct ircnet *n)
{
	return !throttled(n) && n->st == ST_REGISTERED && (outq_lines(n->oq) > 0 || ircinbox_count(n->inbox) > 0);
}

static void handle_line(struct ircnet *n, size_t len)
{
	while (len > 0 && n->line[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* blank lines are allowed noise */
	log_proto(ircnet_name(n), "<<", n->line, len);
	struct irc_msg m;
	if (irc_parse(n->line, len, &m) != 0) {
		log_warn("[%s] malformed line from server skipped (%zu bytes)", ircnet_name(n), len);
		return;
	}
	if (must_hold(n) && strcmp(m.command, "PRIVMSG") == 0) {
		ircmsg_hold(n, &m);
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

/* Frees the configs replaced by reloads: from the loop (a tick, a read),
 * never under a handler that may still read one. */
static void drop_retired(struct ircnet *n)
{
	while (n->retired) {
		struct irccfg *b = n->retired;
		n->retired = b->next;
		irccfg_free(b);
	}
}


struct ircnet *ircnet_new(const struct irc_config *cfg, const struct chat_sink *sink,
                          const struct ircnet_io *io, void *arg)
{
	struct ircnet *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->sink = *sink;
	n->io = io;
	n->io_arg = arg;
	snprintf(n->name, sizeof n->name, "%s", cfg->name ? cfg->name : "irc");
	struct outq_limits lim;
	limits(cfg, &lim);
	/* the clock starts at ircnet_connected */
	if (!(n->box = irccfg_dup(cfg)) || !(n->oq = outq_new(&lim, 0)) ||
	    !(n->inbox = ircinbox_new(IRCNET_QUEUE_FAST_MAX, IRCNET_INBOX_BYTES))) {
		irccfg_free(n->box);
		outq_free(n->oq);
		free(n);
		return NULL;
	}
	n->cfg = &n->box->c;
	n->st = ST_IDLE;
	n->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)(uintptr_t)n ^ 0x9E3779B97F4A7C15ULL;
	ircnet_set_nick(n, cfg->nick);
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
	n->last_rx = ircnet_now(n);
	n->ping_sent = 0;
	n->user[0] = n->host[0] = '\0';
	outq_reset(n->oq, n->last_rx);
	ircinbox_clear(n->inbox);
	n->skipping = 0;
	memset(n->rejoin, 0, sizeof n->rejoin);
	ircnet_set_nick(n, c->nick);
	log_info("[%s] connected to %s:%d, registering as %s", ircnet_name(n), c->server, c->port, c->nick);
	ircreg_begin(n);
	rearm(n);
}

size_t ircnet_feed(struct ircnet *n, const char *data, size_t len)
{
	size_t off = 0;
	drop_retired(n);
	if (len && ircnet_connected_now(n)) {
		n->last_rx = ircnet_now(n);
		n->ping_sent = 0;
	}
	while (off < len && ircnet_connected_now(n)) {
		const char *nl = memchr(data + off, '\n', len - off);
		if (!nl) {
			if (len - off > IRC_READ_MAX) {
				log_warn("[%s] over-long line from server (over %d bytes) skipped", ircnet_name(n),
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
			log_warn("[%s] over-long line from server (%zu bytes) skipped", ircnet_name(n), ll);
		} else {
			memcpy(n->line, data + off, ll);
			n->line[ll] = '\0';
			handle_line(n, ll);
		}
		off += ll + 1;
	}
	if (ircnet_connected_now(n))
		flush(n);
	else
		off = len; /* closed while handling: the rest is for a dead connection */
	rearm(n);
	return off;
}

void ircnet_closed(struct ircnet *n, const char *reason)
{
	enum ircnet_state was = n->st;
	if (was == ST_DONE || was == ST_WAITING || was == ST_IDLE)
		return;
	if (outq_lines(n->oq) || ircinbox_count(n->inbox))
		log_info("[%s] %d queued lines and %d held questions dropped with the connection",
		         ircnet_name(n), outq_lines(n->oq), ircinbox_count(n->inbox));
	outq_reset(n->oq, ircnet_now(n));
	ircinbox_clear(n->inbox);
	n->cap_busy = n->sasl_busy = 0;
	if (was == ST_QUITTING) {
		log_info("[%s] disconnected after QUIT", ircnet_name(n));
		n->st = ST_DONE;
	} else {
		log_warn("[%s] connection to %s:%d lost: %s", ircnet_name(n), n->cfg->server, n->cfg->port,
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
	int64_t t = ircnet_now(n);
	drop_retired(n);
	if (n->st == ST_WAITING && t >= n->reconnect_at) {
		do_open(n);
	} else if (ircnet_connected_now(n)) {
		int64_t lag = lag_ms(n);
		if (lag && t - n->last_rx >= lag) {
			char why[96];
			snprintf(why, sizeof why, "no data from the server for %lld s (lag_timeout)",
			         (long long)((t - n->last_rx) / 1000));
			log_warn("[%s] %s: reconnecting", ircnet_name(n), why);
			n->io->close(n, n->io_arg, 0, why);
		} else {
			if (outq_window_expired(n->oq, t))
				log_warn("[%s] no PONG to the flow-control PING within %d s: reopening the send window",
				         ircnet_name(n), IRCNET_WINDOW_TIMEOUT_MS / 1000);
			if (lag && !n->ping_sent && t - n->last_rx >= lag / 2) {
				n->ping_sent = 1;
				ircnet_sendf(n, "PING :faqbot-lag");
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
	if (ircnet_connected_now(n)) {
		char text[IRC_LINE_MAX];
		const char *m = msg ? msg : n->cfg->quit_message ? n->cfg->quit_message : "faqbot s'arrête";
		size_t len = strlen(m);
		if (len > 300)
			len = 300;
		memcpy(text, m, len);
		len = irc_sanitize(text, len);
		char line[IRC_LINE_MAX];
		int ll = ircnet_build(line, "QUIT", 1, text, NULL);
		if (ll >= 0)
			ircnet_send_raw(n, line, (size_t)ll);
		log_info("[%s] quitting: %s", ircnet_name(n), text);
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

int ircnet_set_config(struct ircnet *n, const struct irc_config *cfg)
{
	struct irccfg *box = irccfg_dup(cfg);
	if (!box) {
		log_error("[%s] reload: out of memory, the old settings stay", ircnet_name(n));
		return -1;
	}
	/* The old copy may be read by the handler that asked for this reload
	 * (an admin's !reload: the policy of the message being answered). */
	n->box->next = n->retired;
	n->retired = n->box;
	n->box = box;
	n->cfg = &box->c;
	/* outq counts the time since the last refill at the old rate, so the
	 * new rate and burst start from a settled bucket and the queued
	 * lines keep a deadline (a reload mid-answer). */
	struct outq_limits lim;
	limits(cfg, &lim);
	outq_set_limits(n->oq, &lim, ircnet_now(n));
	/* No flush here: a reload runs inside the sink's callback (an admin's
	 * !reload on this or another network), and flushing would answer
	 * held questions, another !reload among them, under it.  The tick,
	 * armed for now when lines may go, does it from the loop. */
	rearm(n);
	return 0;
}

void ircnet_free(struct ircnet *n)
{
	if (!n)
		return;
	if (n->io->release)
		n->io->release(n, n->io_arg);
	outq_free(n->oq);
	ircinbox_free(n->inbox);
	drop_retired(n);
	irccfg_free(n->box);
	free(n);
}
