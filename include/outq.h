/* outq.h - one IRC connection's output queue, without I/O: the token-
 * bucket throttle, the PING/PONG flow-control window, and fairness between
 * the users the lines are sent for.  Lines wait in one FIFO per
 * user (keyed by the caller: services account, else user@host) and leave
 * round-robin, one line per user in turn, so an asker waits behind at most
 * one line of each other user with lines waiting, whatever one of them
 * queued; a user may have only so many lines waiting.  ircnet.c puts lines
 * in, asks whether the head may go, sends it and reports it; it also sends
 * the window PINGs this object asks for and reports their PONGs.  Time is
 * the caller's monotonic milliseconds. */
#ifndef FAQBOT_OUTQ_H
#define FAQBOT_OUTQ_H

#include <stddef.h>
#include <stdint.h>

struct outq;

/* The key of the bot's own lines (JOINs): never refused for a per-user
 * share, served in turn like one more user. */
#define OUTQ_SELF 0

/* Flow control: bytes of queued lines sent that the server has not yet
 * confirmed processing, at most.  A "PING :fb<seq>" follows every
 * OUTQ_WINDOW / 2 bytes and its PONG confirms everything sent before it.
 * A server reads a client's socket in chunks (InspIRCd: <performance
 * netbuffersize>, 10 KiB by default, 64 KiB at most) and may not read
 * again until new data arrives; a bot that keeps more than that unread in
 * the server's socket stalls on TCP zero-window probes (~200 ms each) or
 * meets "RecvQ exceeded". */
#define OUTQ_WINDOW (16 * 1024)
/* A window PING unanswered this long reopens the window (the caller logs
 * it): a server or bouncer that drops PINGs slows the bot, never wedges
 * it. */
#define OUTQ_WINDOW_TIMEOUT_MS 10000
/* Window PINGs outstanding at most (each covers OUTQ_WINDOW / 2). */
#define OUTQ_PINGS 4
/* Users with lines waiting at once, at most (a line for one more is
 * refused, with a log line by the caller). */
#define OUTQ_USERS 512

struct outq_limits {
	double rate;        /* lines/s after the burst; 0: no throttle */
	int burst;          /* lines sent at once (< 1 counts as 1) */
	int user_lines;     /* lines one user (not OUTQ_SELF) may have waiting */
	int total_lines;    /* lines waiting at most, all users */
	size_t total_bytes; /* bytes waiting at most, all users */
};

/* NULL when out of memory.  now: the clock, for the throttle. */
struct outq *outq_new(const struct outq_limits *lim, int64_t now);
void outq_free(struct outq *oq); /* accepts NULL */

/* New limits (a reload): the time since the last refill is counted at the
 * old rate first, a throttle turned on starts with a full bucket, and the
 * bucket never holds more than the new burst.  Lines already waiting
 * stay, even over the new per-user share. */
void outq_set_limits(struct outq *oq, const struct outq_limits *lim, int64_t now);

/* A new connection: drops every line, closes no window (all reset), and
 * fills the bucket. */
void outq_reset(struct outq *oq, int64_t now);

/* Lines waiting (all users) and their bytes. */
int outq_lines(const struct outq *oq);
size_t outq_bytes(const struct outq *oq);
/* Lines waiting for user. */
int outq_user_lines(const struct outq *oq, uint64_t user);
/* 1 when nlines more lines of user would be accepted now (an answer is
 * queued whole or not at all), else 0. */
int outq_room(const struct outq *oq, uint64_t user, int nlines, size_t bytes);

/* Queues line[0..len) (the caller's line with its CR LF) for user.
 * 0, or -1 when refused: the user's share or the queue is full, a line
 * over 512 bytes, out of memory. */
int outq_put(struct outq *oq, uint64_t user, const char *line, size_t len);

/* The line to send next (round-robin between users), or NULL when none
 * waits; *len gets its length.  The pointer is valid until the next
 * outq_pop, outq_put or outq_reset. */
const char *outq_head(struct outq *oq, size_t *len);
/* Removes the line outq_head returned and moves the turn to the next
 * user. */
void outq_pop(struct outq *oq);

/* 1 when a line of len bytes may go now: the window has room and, with a
 * throttle, the bucket holds a token.  Refills the bucket. */
int outq_may_send(struct outq *oq, size_t len, int64_t now);
/* A line of len bytes went out (queued or sent at once): takes a token and
 * counts it in the window.  Returns 1 when a window PING is due now
 * (outq_ping). */
int outq_sent(struct outq *oq, size_t len);

/* Window PING: 1 when one should be sent now, with *seq the number to put
 * in "PING :fb<seq>" (the PING is then counted as sent at now), else 0:
 * nothing sent since the last one, or OUTQ_PINGS are out.  force: also
 * when fewer than OUTQ_WINDOW / 2 bytes were sent since the last one (the
 * window is blocked and nothing else would reopen it). */
int outq_ping(struct outq *oq, int64_t now, int force, unsigned *seq);
/* "PONG :fb<seq>": confirms the bytes that PING covered and those of the
 * PINGs before it.  1 when seq was one of ours, else 0. */
int outq_pong(struct outq *oq, unsigned seq);
/* 1 when the oldest window PING is unanswered for OUTQ_WINDOW_TIMEOUT_MS:
 * the window is then reopened (the caller logs it). */
int outq_window_expired(struct outq *oq, int64_t now);
/* 1 when the window has room for len more bytes. */
int outq_window_open(const struct outq *oq, size_t len);

/* When the head line may go: now when it may, the time the bucket earns
 * its token, the window timeout while the window is blocked, or -1 when
 * no line waits.  Never later than the first moment outq_may_send would
 * say yes without a PONG (a deadline that waits for a timer
 * instead of an event). */
int64_t outq_deadline(struct outq *oq, int64_t now);

#endif
