/* ircinbox.c - the held questions of ircinbox.h: one byte FIFO of
 * entries "len (2 bytes LE) flags (1 byte) account\0source\0target\0text\0"
 * (flags bit 0: an account is present).  No I/O, no clock. */
#include "ircinbox.h"

#include <stdlib.h>
#include <string.h>

#define HDR 3
#define HAS_ACCOUNT 1
/* The first allocation; released when the FIFO empties above KEEP. */
#define QMIN 4096
#define KEEP (64 * 1024)
#define ENTRY_MAX 0xffff

struct ircinbox {
	char *buf;
	size_t cap, off, end;
	size_t max_bytes;
	int n, max_msgs;
};

struct ircinbox *ircinbox_new(int max_msgs, size_t max_bytes)
{
	struct ircinbox *q = calloc(1, sizeof *q);
	if (q) {
		q->max_msgs = max_msgs;
		q->max_bytes = max_bytes;
	}
	return q;
}

void ircinbox_free(struct ircinbox *q)
{
	if (q)
		free(q->buf);
	free(q);
}

int ircinbox_count(const struct ircinbox *q)
{
	return q->n;
}

void ircinbox_clear(struct ircinbox *q)
{
	q->off = q->end = 0;
	q->n = 0;
	if (q->cap > KEEP) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
}

/* Room for need more bytes at the end: compacts, or grows by doubling up
 * to max_bytes.  0, or -1 when full. */
static int room(struct ircinbox *q, size_t need)
{
	if (q->end + need <= q->cap)
		return 0;
	size_t live = q->end - q->off;
	/* Compact when that frees a quarter at least (or at the cap), else
	 * grow: either way each byte moves O(1) times on average. */
	if (live + need <= q->cap && (q->off >= q->cap / 4 || q->cap >= q->max_bytes)) {
		memmove(q->buf, q->buf + q->off, live);
		q->off = 0;
		q->end = live;
		return 0;
	}
	size_t nc = q->cap ? q->cap * 2 : QMIN;
	while (nc < live + need && nc < q->max_bytes)
		nc *= 2;
	if (nc > q->max_bytes)
		nc = q->max_bytes;
	if (live + need > nc)
		return -1;
	/* Compact, then realloc: a big buffer is remapped in place (mremap)
	 * instead of held twice while copied, which set the peak memory of
	 * a burst. */
	if (q->off && live)
		memmove(q->buf, q->buf + q->off, live);
	q->off = 0;
	q->end = live;
	char *nb = realloc(q->buf, nc);
	if (!nb)
		return -1;
	q->buf = nb;
	q->cap = nc;
	return 0;
}

static size_t put_str(char *at, const char *s)
{
	size_t l = strlen(s) + 1;
	memcpy(at, s, l);
	return l;
}

int ircinbox_put(struct ircinbox *q, const struct ircinbox_msg *m)
{
	const char *account = m->account ? m->account : "";
	size_t len = strlen(account) + strlen(m->source) + strlen(m->target) + strlen(m->text) + 4;
	if (len > ENTRY_MAX || q->n >= q->max_msgs || room(q, HDR + len) != 0)
		return -1;
	unsigned char *h = (unsigned char *)q->buf + q->end;
	h[0] = (unsigned char)(len & 0xff);
	h[1] = (unsigned char)(len >> 8);
	h[2] = m->account ? HAS_ACCOUNT : 0;
	char *p = q->buf + q->end + HDR;
	p += put_str(p, account);
	p += put_str(p, m->source);
	p += put_str(p, m->target);
	put_str(p, m->text);
	q->end += HDR + len;
	q->n++;
	return 0;
}

int ircinbox_take(struct ircinbox *q, char *buf, size_t cap, struct ircinbox_msg *m)
{
	if (q->n == 0)
		return 0;
	const unsigned char *h = (const unsigned char *)q->buf + q->off;
	size_t len = (size_t)h[0] | (size_t)h[1] << 8;
	int has_account = h[2] & HAS_ACCOUNT;
	int fits = len <= cap;
	if (fits)
		memcpy(buf, q->buf + q->off + HDR, len);
	q->off += HDR + len;
	if (--q->n == 0)
		ircinbox_clear(q);
	if (!fits)
		return -1;
	m->account = has_account ? buf : NULL;
	m->source = buf + strlen(buf) + 1;
	m->target = m->source + strlen(m->source) + 1;
	m->text = m->target + strlen(m->target) + 1;
	return 1;
}
