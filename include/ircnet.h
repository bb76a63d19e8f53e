/* ircnet.h - one IRC network's client state machine: registration with
 * IRCv3 CAP and SASL (PLAIN, EXTERNAL), nick fallback, joins and rejoins,
 * PING/PONG and the lag check, reconnect with backoff and jitter, and
 * PRIVMSG -> the chat sink (chat.h) -> reply lines, queued in a fair output queue
 * (outq.h: throttle, flow-control window, round-robin between users).
 * The protocol logic talks to the world through struct ircnet_io, so it
 * runs without sockets in tests; ircnet_start (ircsock.c) wires it to
 * net.h and the loop's timers, and ircnet_ops (transport.h) is how run.c
 * drives it.  The files of bot/irc/ share ircnet_int.h. */
#ifndef FAQBOT_IRCNET_H
#define FAQBOT_IRCNET_H

#include <stddef.h>
#include <stdint.h>

#include "outq.h"

struct loop;
struct chat_sink;
struct irc_config;
struct ircnet;

/* Lines waiting in the outgoing queue (outq.h), at most, while the
 * throttle is on (at 1 line/s an older answer would come minutes late),
 * and at most IRCNET_USER_LINES of them for one user: two answers of the
 * longest kind (the stages, 10 lines).  Lines leave round-robin between
 * users, so a user's answer waits behind at most one line of each other
 * user with lines waiting. */
#define IRCNET_QUEUE_MAX 128
#define IRCNET_USER_LINES 20
/* With the throttle lifted (throttle_rate = 0) the queue only waits for
 * the flow-control window below, which drains in milliseconds: it holds
 * up to this many lines and bytes (a burst of questions answered at
 * once, from one asker as much as from many). */
#define IRCNET_QUEUE_FAST_MAX 16384
#define IRCNET_QUEUE_BYTES (4 * 1024 * 1024)
/* While lines wait for the window, questions wait unanswered (a third of
 * an answer's size) in an inbox of IRCNET_QUEUE_FAST_MAX lines and this
 * many bytes at most; beyond, new questions are dropped with a log line. */
#define IRCNET_INBOX_BYTES (2 * 1024 * 1024)
/* Flow control: see OUTQ_WINDOW in outq.h (a PING every half window, its
 * PONG confirms what the server has read). Registration, PONG, QUIT and
 * the lag PING are not counted. */
#define IRCNET_WINDOW OUTQ_WINDOW
#define IRCNET_WINDOW_TIMEOUT_MS OUTQ_WINDOW_TIMEOUT_MS
/* Lines one answer may take; the rest is cut with a log line.  The
 * longest answer of the knowledge, the stages (knowledge/answers.ini),
 * is 10 paragraphs of one line each; a paragraph longer than the room a
 * long nick, host and channel leave takes two.  16 keeps that margin
 * and still stops a broken knowledge edit from flooding a channel. */
#define IRCNET_ANSWER_LINES 16
/* Delay before rejoining a channel after a KICK. */
#define IRCNET_REJOIN_MS 10000
/* First reconnect delay; doubled per failure up to reconnect_max. */
#define IRCNET_BACKOFF_MIN_MS 1000

/* Production (ircsock.c): connects to cfg->server, on the loop, with
 * net.h.  Starts connecting at once (a failure to connect is retried with
 * backoff, so this returns NULL only when out of memory).  cfg and *sink
 * are copied; the sink's arg must outlive the client.  run.c drives it
 * through ircnet_ops (transport.h). */
struct ircnet *ircnet_start(struct loop *lp, const struct irc_config *cfg,
			    const struct chat_sink *sink);
/* Sends "QUIT :msg" (cfg->quit_message when msg is NULL), then closes once
 * it is written; no reconnect after this. */
void ircnet_quit(struct ircnet *n, const char *msg);
void ircnet_free(struct ircnet *n); /* accepts NULL; closes silently */

/* 1 once the client is stopped (after ircnet_quit, the connection is
 * closed), else 0. */
int ircnet_done(const struct ircnet *n);
/* 1 while registered (after 001, until the connection closes). */
int ircnet_registered(const struct ircnet *n);
/* The nick the server knows us by now. */
const char *ircnet_nick(const struct ircnet *n);
/* Swaps in a reloaded config, copied (the caller may free cfg at once):
 * policy and throttle apply now, server, nick and channels at the next
 * connection.  Safe from inside the sink's callback (an admin's !reload):
 * the old copy is freed from the loop.  0, or -1 when out of memory (the
 * old settings stay). */
int ircnet_set_config(struct ircnet *n, const struct irc_config *cfg);

/* ---- the transport seam (production: net.h + loop.h; tests: a fake) ----
 * The transport calls ircnet_connected / ircnet_feed / ircnet_closed when
 * its connection gets there, and ircnet_tick at (or after) the time last
 * given to arm(). */
struct ircnet_io {
	/* Starts connecting; 0, or -1 on an immediate failure (a reconnect
	 * is then scheduled). */
	int (*open)(struct ircnet *n, void *arg);
	/* Queues bytes on the connection; 0 or -1. */
	int (*send)(struct ircnet *n, void *arg, const char *data, size_t len);
	/* Bytes handed to send() and not yet written to the socket. */
	size_t (*pending)(struct ircnet *n, void *arg);
	/* Closes: flush=1 after the queued bytes are written (QUIT).  The
	 * transport then calls ircnet_closed (possibly from inside close). */
	void (*close)(struct ircnet *n, void *arg, int flush, const char *reason);
	/* Monotonic milliseconds. */
	int64_t (*now)(struct ircnet *n, void *arg);
	/* Asks for ircnet_tick at time at_ms (replaces any earlier request;
	 * at_ms < 0: no tick needed). */
	void (*arm)(struct ircnet *n, void *arg, int64_t at_ms);
	/* Optional: ircnet_free is freeing the client; the transport lets go
	 * of what it holds for it (connection, timer, arg). */
	void (*release)(struct ircnet *n, void *arg);
};

/* A client on a custom transport (ircnet_start uses it with net.h).  Does
 * not connect until ircnet_connect.  cfg and *sink are copied.  NULL when
 * out of memory. */
struct ircnet *ircnet_new(const struct irc_config *cfg, const struct chat_sink *sink,
                          const struct ircnet_io *io, void *arg);
/* Opens the first connection (io->open).  0, or -1 when it failed at once
 * (a reconnect is scheduled). */
int ircnet_connect(struct ircnet *n);
/* The connection is up (TLS verified): starts registration. */
void ircnet_connected(struct ircnet *n);
/* Received bytes: handles every complete line, returns how many bytes
 * were consumed (an incomplete last line stays with the transport; a
 * line over IRC_READ_MAX is skipped with a log line). */
size_t ircnet_feed(struct ircnet *n, const char *data, size_t len);
/* The connection is gone (reason for the log): schedules a reconnect
 * unless quitting. */
void ircnet_closed(struct ircnet *n, const char *reason);
/* Runs what is due: throttle queue, lag check, reconnect, rejoin. */
void ircnet_tick(struct ircnet *n);

#endif
