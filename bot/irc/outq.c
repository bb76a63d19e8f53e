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

static void node_free(struct outq *q, struct oline *l)
{
	if (q->nspare < OUTQ_SPARE) {
		l->next = q->spare;
		q->spare = l;
		q->nspare++;
	} else {
		free(l);
	}
}

static struct oline *node_new(struct outq *q)
{
	struct oline *l = q->spare;
	if (l) {
		q->spare = l->next;
		q->nspare--;
		return l;
	}
	return malloc(sizeof *l);
}

static int throttled(const struct outq *q)
{
	return q->lim.rate > 0;
}

static double burst(const struct outq *q)
{
	return q->lim.burst < 1 ? 1.0 : (double)q->lim.burst;
}

static void refill(struct outq *q, int64_t now)
{
	if (now > q->refill_ms) {
		q->tokens += (double)(now - q->refill_ms) * q->lim.rate / 1000.0;
		if (q->tokens > burst(q))
			q->tokens = burst(q);
	}
	q->refill_ms = now;
}

static void clear_lines(struct outq *q)
{
	if (q->cur >= 0) {
		int i = q->cur;
		do {
			struct ouser *u = &q->u[i];
			int next = u->next;
			for (struct oline *l = u->head, *nl; l; l = nl) {
				nl = l->next;
				node_free(q, l);
			}
			u->head = u->tail = NULL;
			u->n = 0;
			q->free_slots[q->nfree++] = i;
			i = next;
		} while (i != q->cur);
	}
	q->cur = -1;
	q->last = -1;
	q->lines = 0;
	q->bytes = 0;
}

static void fc_reset(struct outq *q)
{
	q->fc_unacked = q->fc_since = 0;
	q->fc_head = q->fc_n = 0;
}

struct outq *outq_new(const struct outq_limits *lim, int64_t now)
{
	struct outq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->lim = *lim;
	for (int i = 0; i < OUTQ_USERS; i++)
		q->free_slots[i] = OUTQ_USERS - 1 - i;
	q->nfree = OUTQ_USERS;
	q->cur = q->last = -1;
	q->tokens = burst(q);
	q->refill_ms = now;
	return q;
}

void outq_free(struct outq *q)
{
	if (!q)
		return;
	clear_lines(q);
	for (struct oline *l = q->spare, *nl; l; l = nl) {
		nl = l->next;
		free(l);
	}
	free(q);
}

void outq_set_limits(struct outq *q, const struct outq_limits *lim, int64_t now)
{
	/* The time since the last refill earned tokens at the old rate: count
	 * it now, so the new rate and burst start from a settled bucket. */
	if (throttled(q))
		refill(q, now);
	else
		q->refill_ms = now;
	int was = throttled(q);
	q->lim = *lim;
	if (throttled(q) && !was)
		q->tokens = burst(q);
	if (q->tokens > burst(q))
		q->tokens = burst(q);
}

void outq_reset(struct outq *q, int64_t now)
{
	clear_lines(q);
	fc_reset(q);
	q->tokens = burst(q);
	q->refill_ms = now;
}

int outq_lines(const struct outq *q)
{
	return q->lines;
}

size_t outq_bytes(const struct outq *q)
{
	return q->bytes;
}

/* The slot of user among those with lines, or -1. */
static int find(const struct outq *q, uint64_t user)
{
	if (q->last >= 0 && q->u[q->last].n > 0 && q->u[q->last].key == user)
		return q->last;
	if (q->cur < 0)
		return -1;
	int i = q->cur;
	do {
		if (q->u[i].key == user)
			return i;
		i = q->u[i].next;
	} while (i != q->cur);
	return -1;
}

int outq_user_lines(const struct outq *q, uint64_t user)
{
	int i = find(q, user);
	return i < 0 ? 0 : q->u[i].n;
}

int outq_room(const struct outq *q, uint64_t user, int nlines, size_t bytes)
{
	if (user == OUTQ_SELF)
		return q->lines + nlines <= q->lim.total_lines + OUTQ_SELF_EXTRA;
	int i = find(q, user);
	if (i < 0 && q->nfree == 0)
		return 0;
	if ((i < 0 ? 0 : q->u[i].n) + nlines > q->lim.user_lines)
		return 0;
	return q->lines + nlines <= q->lim.total_lines && q->bytes + bytes <= q->lim.total_bytes;
}

int outq_put(struct outq *q, uint64_t user, const char *line, size_t len)
{
	if (len == 0 || len > OUTQ_LINE_MAX || !outq_room(q, user, 1, len))
		return -1;
	struct oline *l = node_new(q);
	if (!l)
		return -1;
	l->next = NULL;
	l->len = len;
	memcpy(l->text, line, len);
	int i = find(q, user);
	if (i < 0) {
		if (q->nfree == 0) { /* OUTQ_SELF when every slot is taken */
			node_free(q, l);
			return -1;
		}
		i = q->free_slots[--q->nfree];
		struct ouser *u = &q->u[i];
		u->key = user;
		u->head = u->tail = NULL;
		u->n = 0;
		if (q->cur < 0) {
			u->prev = u->next = i;
			q->cur = i;
		} else {
			/* Just behind the user whose turn it is: served after
			 * one line of each user already waiting. */
			int p = q->u[q->cur].prev;
			u->prev = p;
			u->next = q->cur;
			q->u[p].next = i;
			q->u[q->cur].prev = i;
		}
	}
	struct ouser *u = &q->u[i];
	if (u->tail)
		u->tail->next = l;
	else
		u->head = l;
	u->tail = l;
	u->n++;
	q->last = i;
	q->lines++;
	q->bytes += len;
	return 0;
}

const char *outq_head(struct outq *q, size_t *len)
{
	if (q->cur < 0)
		return NULL;
	struct oline *l = q->u[q->cur].head;
	*len = l->len;
	return l->text;
}

void outq_pop(struct outq *q)
{
	if (q->cur < 0)
		return;
	int i = q->cur;
	struct ouser *u = &q->u[i];
	struct oline *l = u->head;
	u->head = l->next;
	if (!u->head)
		u->tail = NULL;
	u->n--;
	q->lines--;
	q->bytes -= l->len;
	node_free(q, l);
	if (u->n > 0) {
		q->cur = u->next;
		return;
	}
	/* The user has nothing more: leaves the ring, the turn passes on. */
	q->free_slots[q->nfree++] = i;
	if (q->last == i)
		q->last = -1;
	if (u->next == i) {
		q->cur = -1;
		return;
	}
	q->u[u->prev].next = u->next;
	q->u[u->next].prev = u->prev;
	q->cur = u->next;
}

int outq_window_open(const struct outq *q, size_t len)
{
	return q->fc_unacked + len <= OUTQ_WINDOW;
}

int outq_may_send(struct outq *q, size_t len, int64_t now)
{
	if (!outq_window_open(q, len))
		return 0;
	if (!throttled(q))
		return 1;
	refill(q, now);
	return q->tokens >= 1.0;
}

int outq_sent(struct outq *q, size_t len)
{
	if (throttled(q))
		q->tokens -= 1.0;
	q->fc_unacked += len;
	q->fc_since += len;
	return q->fc_since >= OUTQ_WINDOW / 2 && q->fc_n < OUTQ_PINGS;
}

int outq_ping(struct outq *q, int64_t now, int force, unsigned *seq)
{
	if (q->fc_since == 0 || q->fc_n == OUTQ_PINGS)
		return 0;
	if (!force && q->fc_since < OUTQ_WINDOW / 2)
		return 0;
	struct fc_ping *p = &q->fc[(q->fc_head + q->fc_n) % OUTQ_PINGS];
	p->seq = ++q->fc_seq;
	p->bytes = q->fc_since;
	p->at = now;
	q->fc_n++;
	q->fc_since = 0;
	*seq = p->seq;
	return 1;
}

int outq_pong(struct outq *q, unsigned seq)
{
	int k = 0;
	while (k < q->fc_n && q->fc[(q->fc_head + k) % OUTQ_PINGS].seq != seq)
		k++;
	if (k == q->fc_n)
		return 0; /* not ours, or from before a window reset */
	for (int i = 0; i <= k; i++) {
		struct fc_ping *p = &q->fc[q->fc_head];
		q->fc_unacked = q->fc_unacked > p->bytes ? q->fc_unacked - p->bytes : 0;
		q->fc_head = (q->fc_head + 1) % OUTQ_PINGS;
		q->fc_n--;
	}
	return 1;
}

int outq_window_expired(struct outq *q, int64_t now)
{
	if (!q->fc_n || now - q->fc[q->fc_head].at < OUTQ_WINDOW_TIMEOUT_MS)
		return 0;
	fc_reset(q);
	return 1;
}

int64_t outq_deadline(struct outq *q, int64_t now)
{
	size_t len;
	if (!outq_head(q, &len))
		return -1;
	if (!outq_window_open(q, len)) {
		/* Reopened by a PONG (an event), else by the timeout; with no
		 * PING out the caller must send one now. */
		return q->fc_n ? q->fc[q->fc_head].at + OUTQ_WINDOW_TIMEOUT_MS : now;
	}
	if (!throttled(q))
		return now;
	refill(q, now);
	if (q->tokens >= 1.0)
		return now;
	/* The first whole millisecond at which the bucket holds a token. */
	double ms = (1.0 - q->tokens) * 1000.0 / q->lim.rate;
	int64_t wait = (int64_t)ms;
	if ((double)wait < ms)
		wait++;
	return now + (wait > 0 ? wait : 1);
}
