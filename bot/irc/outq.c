/* outq.c - the IRC output queue of outq.h: a token bucket, the PING/PONG
 * window, and one FIFO of lines per user served round-robin (a ring of
 * user slots; a new user joins just behind the one whose turn it is, so
 * it waits for one line of each user already waiting, no more).  No I/O
 * and no clock: ircnet.c sends, and passes the time in. */
#include "outq.h"

#include <stdlib.h>
#include <string.h>

/* One line waiting, CR LF included.  Every node has room for 512
 * bytes, so nodes are recycled through a free list instead of going back
 * to malloc per line (a burst of 100,000 lines a second would otherwise
 * fragment the heap for good). */
#define OUTQ_LINE_MAX 512
struct oline {
	struct oline *next;
	size_t len;
	char text[OUTQ_LINE_MAX];
};
/* Free nodes kept for reuse, at most (256 x 528 bytes). */
#define OUTQ_SPARE 256

struct ouser {
	uint64_t key;
	struct oline *head, *tail;
	int n;
	int prev, next; /* the ring of users with lines (slot indexes) */
};

struct fc_ping {
	unsigned seq;
	size_t bytes;   /* counted bytes sent before it, since the previous one */
	int64_t at;     /* when it was sent */
};

struct outq {
	struct outq_limits lim;
	double tokens;
	int64_t refill_ms;

	struct ouser u[OUTQ_USERS];
	int free_slots[OUTQ_USERS]; /* a stack of unused slot indexes */
	int nfree;
	int cur;                    /* slot whose turn it is; -1: no line */
	int last;                   /* slot last looked up (an answer's lines
				     * come one after the other) */
	int lines;
	size_t bytes;
	struct oline *spare;        /* free nodes, OUTQ_SPARE at most */
	int nspare;

	/* the window: counted bytes not yet confirmed by a PONG, bytes since
	 * the last window PING, the PINGs outstanding */
	size_t fc_unacked, fc_since;
	unsigned fc_seq;
	int fc_head, fc_n;
	struct fc_ping fc[OUTQ_PINGS];
};

/* The bot's own lines (JOINs) past the queue's limits, at most: enough for
 * every configured channel, and still a bound. */
#define OUTQ_SELF_EXTRA 256

static void node_free(struct outq *oq, struct oline *l)
{
	if (oq->nspare < OUTQ_SPARE) {
		l->next = oq->spare;
		oq->spare = l;
		oq->nspare++;
	} else {
		free(l);
	}
}

static struct oline *node_new(struct outq *oq)
{
	struct oline *l = oq->spare;
	if (l) {
		oq->spare = l->next;
		oq->nspare--;
		return l;
	}
	return malloc(sizeof *l);
}

static int throttled(const struct outq *oq)
{
	return oq->lim.rate > 0;
}

static double burst(const struct outq *oq)
{
	return oq->lim.burst < 1 ? 1.0 : (double)oq->lim.burst;
}

static void refill(struct outq *oq, int64_t now)
{
	if (now > oq->refill_ms) {
		oq->tokens += (double)(now - oq->refill_ms) * oq->lim.rate / 1000.0;
		if (oq->tokens > burst(oq))
			oq->tokens = burst(oq);
	}
	oq->refill_ms = now;
}

static void clear_lines(struct outq *oq)
{
	if (oq->cur >= 0) {
		int i = oq->cur;
		do {
			struct ouser *u = &oq->u[i];
			int next = u->next;
			for (struct oline *l = u->head, *nl; l; l = nl) {
				nl = l->next;
				node_free(oq, l);
			}
			u->head = u->tail = NULL;
			u->n = 0;
			oq->free_slots[oq->nfree++] = i;
			i = next;
		} while (i != oq->cur);
	}
	oq->cur = -1;
	oq->last = -1;
	oq->lines = 0;
	oq->bytes = 0;
}

static void fc_reset(struct outq *oq)
{
	oq->fc_unacked = oq->fc_since = 0;
	oq->fc_head = oq->fc_n = 0;
}

struct outq *outq_new(const struct outq_limits *lim, int64_t now)
{
	struct outq *oq = calloc(1, sizeof *oq);
	if (!oq)
		return NULL;
	oq->lim = *lim;
	for (int i = 0; i < OUTQ_USERS; i++)
		oq->free_slots[i] = OUTQ_USERS - 1 - i;
	oq->nfree = OUTQ_USERS;
	oq->cur = oq->last = -1;
	oq->tokens = burst(oq);
	oq->refill_ms = now;
	return oq;
}

void outq_free(struct outq *oq)
{
	if (!oq)
		return;
	clear_lines(oq);
	for (struct oline *l = oq->spare, *nl; l; l = nl) {
		nl = l->next;
		free(l);
	}
	free(oq);
}

void outq_set_limits(struct outq *oq, const struct outq_limits *lim, int64_t now)
{
	/* The time since the last refill earned tokens at the old rate: count
	 * it now, so the new rate and burst start from a settled bucket. */
	if (throttled(oq))
		refill(oq, now);
	else
		oq->refill_ms = now;
	int was = throttled(oq);
	oq->lim = *lim;
	if (throttled(oq) && !was)
		oq->tokens = burst(oq);
	if (oq->tokens > burst(oq))
		oq->tokens = burst(oq);
}

void outq_reset(struct outq *oq, int64_t now)
{
	clear_lines(oq);
	fc_reset(oq);
	oq->tokens = burst(oq);
	oq->refill_ms = now;
}

int outq_lines(const struct outq *oq)
{
	return oq->lines;
}

size_t outq_bytes(const struct outq *oq)
{
	return oq->bytes;
}

/* The slot of user among those with lines, or -1. */
static int find(const struct outq *oq, uint64_t user)
{
	if (oq->last >= 0 && oq->u[oq->last].n > 0 && oq->u[oq->last].key == user)
		return oq->last;
	if (oq->cur < 0)
		return -1;
	int i = oq->cur;
	do {
		if (oq->u[i].key == user)
			return i;
		i = oq->u[i].next;
	} while (i != oq->cur);
	return -1;
}

int outq_user_lines(const struct outq *oq, uint64_t user)
{
	int i = find(oq, user);
	return i < 0 ? 0 : oq->u[i].n;
}

int outq_room(const struct outq *oq, uint64_t user, int nlines, size_t bytes)
{
	if (user == OUTQ_SELF)
		return oq->lines + nlines <= oq->lim.total_lines + OUTQ_SELF_EXTRA;
	int i = find(oq, user);
	if (i < 0 && oq->nfree == 0)
		return 0;
	if ((i < 0 ? 0 : oq->u[i].n) + nlines > oq->lim.user_lines)
		return 0;
	return oq->lines + nlines <= oq->lim.total_lines && oq->bytes + bytes <= oq->lim.total_bytes;
}

int outq_put(struct outq *oq, uint64_t user, const char *line, size_t len)
{
	if (len == 0 || len > OUTQ_LINE_MAX || !outq_room(oq, user, 1, len))
		return -1;
	struct oline *l = node_new(oq);
	if (!l)
		return -1;
	l->next = NULL;
	l->len = len;
	memcpy(l->text, line, len);
	int i = find(oq, user);
	if (i < 0) {
		if (oq->nfree == 0) { /* OUTQ_SELF when every slot is taken */
			node_free(oq, l);
			return -1;
		}
		i = oq->free_slots[--oq->nfree];
		struct ouser *u = &oq->u[i];
		u->key = user;
		u->head = u->tail = NULL;
		u->n = 0;
		if (oq->cur < 0) {
			u->prev = u->next = i;
			oq->cur = i;
		} else {
			/* Just behind the user whose turn it is: served after
			 * one line of each user already waiting. */
			int p = oq->u[oq->cur].prev;
			u->prev = p;
			u->next = oq->cur;
			oq->u[p].next = i;
			oq->u[oq->cur].prev = i;
		}
	}
	struct ouser *u = &oq->u[i];
	if (u->tail)
		u->tail->next = l;
	else
		u->head = l;
	u->tail = l;
	u->n++;
	oq->last = i;
	oq->lines++;
	oq->bytes += len;
	return 0;
}

const char *outq_head(struct outq *oq, size_t *len)
{
	if (oq->cur < 0)
		return NULL;
	struct oline *l = oq->u[oq->cur].head;
	*len = l->len;
	return l->text;
}

void outq_pop(struct outq *oq)
{
	if (oq->cur < 0)
		return;
	int i = oq->cur;
	struct ouser *u = &oq->u[i];
	struct oline *l = u->head;
	u->head = l->next;
	if (!u->head)
		u->tail = NULL;
	u->n--;
	oq->lines--;
	oq->bytes -= l->len;
	node_free(oq, l);
	if (u->n > 0) {
		oq->cur = u->next;
		return;
	}
	/* The user has nothing more: leaves the ring, the turn passes on. */
	oq->free_slots[oq->nfree++] = i;
	if (oq->last == i)
		oq->last = -1;
	if (u->next == i) {
		oq->cur = -1;
		return;
	}
	oq->u[u->prev].next = u->next;
	oq->u[u->next].prev = u->prev;
	oq->cur = u->next;
}

int outq_window_open(const struct outq *oq, size_t len)
{
	return oq->fc_unacked + len <= OUTQ_WINDOW;
}

int outq_may_send(struct outq *oq, size_t len, int64_t now)
{
	if (!outq_window_open(oq, len))
		return 0;
	if (!throttled(oq))
		return 1;
	refill(oq, now);
	return oq->tokens >= 1.0;
}

int outq_sent(struct outq *oq, size_t len)
{
	if (throttled(oq))
		oq->tokens -= 1.0;
	oq->fc_unacked += len;
	oq->fc_since += len;
	return oq->fc_since >= OUTQ_WINDOW / 2 && oq->fc_n < OUTQ_PINGS;
}

int outq_ping(struct outq *oq, int64_t now, int force, unsigned *seq)
{
	if (oq->fc_since == 0 || oq->fc_n == OUTQ_PINGS)
		return 0;
	if (!force && oq->fc_since < OUTQ_WINDOW / 2)
		return 0;
	struct fc_ping *p = &oq->fc[(oq->fc_head + oq->fc_n) % OUTQ_PINGS];
	p->seq = ++oq->fc_seq;
	p->bytes = oq->fc_since;
	p->at = now;
	oq->fc_n++;
	oq->fc_since = 0;
	*seq = p->seq;
	return 1;
}

int outq_pong(struct outq *oq, unsigned seq)
{
	int k = 0;
	while (k < oq->fc_n && oq->fc[(oq->fc_head + k) % OUTQ_PINGS].seq != seq)
		k++;
	if (k == oq->fc_n)
		return 0; /* not ours, or from before a window reset */
	for (int i = 0; i <= k; i++) {
		struct fc_ping *p = &oq->fc[oq->fc_head];
		oq->fc_unacked = oq->fc_unacked > p->bytes ? oq->fc_unacked - p->bytes : 0;
		oq->fc_head = (oq->fc_head + 1) % OUTQ_PINGS;
		oq->fc_n--;
	}
	return 1;
}

int outq_window_expired(struct outq *oq, int64_t now)
{
	if (!oq->fc_n || now - oq->fc[oq->fc_head].at < OUTQ_WINDOW_TIMEOUT_MS)
		return 0;
	fc_reset(oq);
	return 1;
}

int64_t outq_deadline(struct outq *oq, int64_t now)
{
	size_t len;
	if (!outq_head(oq, &len))
		return -1;
	if (!outq_window_open(oq, len)) {
		/* Reopened by a PONG (an event), else by the timeout; with no
		 * PING out the caller must send one now. */
		return oq->fc_n ? oq->fc[oq->fc_head].at + OUTQ_WINDOW_TIMEOUT_MS : now;
	}
	if (!throttled(oq))
		return now;
	refill(oq, now);
	if (oq->tokens >= 1.0)
		return now;
	/* The first whole millisecond at which the bucket holds a token. */
	double ms = (1.0 - oq->tokens) * 1000.0 / oq->lim.rate;
	int64_t wait = (int64_t)ms;
	if ((double)wait < ms)
		wait++;
	return now + (wait > 0 ? wait : 1);
}
