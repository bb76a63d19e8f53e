/* ircsock.c - the production transport of an IRC network: ircnet's I/O
 * seam (struct ircnet_io) on a net.h connection and one loop timer, and
 * the transport operations run.c drives every network through
 * (ircnet_ops, transport.h).  The protocol itself never touches a socket
 * (ircnet.c); the tests drive it through a fake of this seam. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ircnet_int.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "transport.h"

/* One network's connection and timer. */
struct ircsock {
	struct loop *lp;
	struct net *conn;
	long timer;
	int64_t timer_at;
	struct ircnet *n;
};


static void net_on_connect(struct net *c, void *arg)
{
	(void)c;
	ircnet_connected(((struct ircsock *)arg)->n);
}

static size_t net_on_data(struct net *c, const char *data, size_t len, void *arg)
{
	(void)c;
	return ircnet_feed(((struct ircsock *)arg)->n, data, len);
}

static void net_on_close(struct net *c, const char *reason, void *arg)
{
	struct ircsock *s = arg;
	struct ircnet *n = s->n;
	char why[1024];
	/* net.c's hint names the settings; say which section holds them. */
	if (reason && strstr(reason, "check `port` and `tls`")) {
		snprintf(why, sizeof why, "%s in [irc.%s]", reason, ircnet_name(n));
		reason = why;
	}
	net_free(c);
	if (s->conn == c)
		s->conn = NULL;
	ircnet_closed(n, reason);
}

static const struct net_callbacks net_cbs = { net_on_connect, net_on_data, net_on_close };

static int io_open(struct ircnet *n, void *arg)
{
	struct ircsock *s = arg;
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
	s->conn = net_connect(s->lp, &o, &net_cbs, s, err, sizeof err);
	if (!s->conn) {
		log_error("[%s] cannot connect to %s:%d: %s", ircnet_name(n), c->server, c->port, err);
		return -1;
	}
	return 0;
}

static int io_send(struct ircnet *n, void *arg, const char *data, size_t len)
{
	struct ircsock *s = arg;
	if (!s->conn)
		return -1;
	if (net_send(s->conn, data, len) != 0) {
		log_warn("[%s] write queue full or connection closed: %zu bytes not sent", ircnet_name(n), len);
		return -1;
	}
	return 0;
}

static size_t io_pending(struct ircnet *n, void *arg)
{
	struct ircsock *s = arg;
	(void)n;
	return s->conn ? net_queued(s->conn) : 0;
}

static void io_close(struct ircnet *n, void *arg, int flush_first, const char *reason)
{
	struct ircsock *s = arg;
	(void)n;
	if (!s->conn)
		return;
	if (flush_first)
		net_shutdown(s->conn, reason);
	else
		net_close(s->conn, reason);
}

static int64_t io_now(struct ircnet *n, void *arg)
{
	(void)n;
	return loop_now_ms(((struct ircsock *)arg)->lp);
}

#define IO_TIMER_LATE_MS 1000

static void on_timer(struct loop *lp, void *arg)
{
	(void)lp;
	struct ircsock *s = arg;
	s->timer = 0;
	s->timer_at = -1;
	ircnet_tick(s->n);
}

/* One loop timer per network.  A later deadline keeps the armed (earlier)
 * timer: the tick then re-arms, so the hot path does not cancel and add a
 * timer for every line received. */
static void io_arm(struct ircnet *n, void *arg, int64_t at)
{
	struct ircsock *s = arg;
	if (at < 0) {
		if (s->timer > 0)
			loop_timer_cancel(s->lp, s->timer);
		s->timer = 0;
		s->timer_at = -1;
		return;
	}
	/* The armed timer is kept only while it is still to come or just
	 * due: one already late by IO_TIMER_LATE_MS has been lost (cancelled
	 * or dropped under us), and keeping it would leave the queue with no
	 * tick until the next read (answers stalled for 40 s). */
	if (s->timer > 0 && s->timer_at <= at && s->timer_at + IO_TIMER_LATE_MS > loop_now_ms(s->lp))
		return;
	if (s->timer > 0)
		loop_timer_cancel(s->lp, s->timer);
	int64_t delay = at - loop_now_ms(s->lp);
	s->timer = loop_timer_add(s->lp, delay > 0 ? delay : 0, on_timer, s);
	s->timer_at = s->timer > 0 ? at : -1;
	if (s->timer <= 0)
		log_error("[%s] cannot add a loop timer", ircnet_name(n));
}

/* From ircnet_free: the timer and the connection go with the network. */
static void io_release(struct ircnet *n, void *arg)
{
	struct ircsock *s = arg;
	(void)n;
	if (s->timer > 0)
		loop_timer_cancel(s->lp, s->timer);
	net_free(s->conn);
	free(s);
}

static const struct ircnet_io net_io = {
	io_open, io_send, io_pending, io_close, io_now, io_arm, io_release
};

struct ircnet *ircnet_start(struct loop *lp, const struct irc_config *cfg,
			    const struct chat_sink *sink)
{
	struct ircsock *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->lp = lp;
	s->timer_at = -1;
	if (!(s->n = ircnet_new(cfg, sink, &net_io, s))) {
		free(s);
		return NULL;
	}
	ircnet_connect(s->n);
	return s->n;
}

/* ---- the transport operations (transport.h) ---- */

static void *ops_start(struct loop *lp, const void *section, const struct bot_config *bot,
		       const struct chat_sink *sink)
{
	const struct irc_config *c = section;
	(void)bot;
	struct ircnet *n = ircnet_start(lp, c, sink);
	if (!n)
		log_error("irc.%s: cannot start (out of memory)", c->name);
	return n;
}

static int ops_apply(void *net, const void *section, const struct bot_config *bot)
{
	(void)bot;
	return ircnet_set_config(net, section);
}

static void ops_quit(void *net, const char *message)
{
	ircnet_quit(net, message);
}

static int ops_stopped(const void *net)
{
	return ircnet_done(net);
}

static void ops_free(void *net)
{
	ircnet_free(net);
}

static int ops_ready(const void *net)
{
	return ircnet_registered(net);
}

const struct transport_ops ircnet_ops = {
	.kind = "irc", .start = ops_start, .apply = ops_apply, .quit = ops_quit,
	.stopped = ops_stopped, .free = ops_free, .ready = ops_ready,
};
