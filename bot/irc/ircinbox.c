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
	struct ircinbox *ib = calloc(1, sizeof *ib);
	if (ib) {
		ib->max_msgs = max_msgs;
		ib->max_bytes = max_bytes;
	}
	return ib;
}

void ircinbox_free(struct ircinbox *ib)
{
	if (ib)
		free(ib->buf);
	free(ib);
}

int ircinbox_count(const struct ircinbox *ib)
{
	return ib->n;
}

void ircinbox_clear(struct ircinbox *ib)
{
	ib->off = ib->end = 0;
	ib->n = 0;
	if (ib->cap > KEEP) {
		free(ib->buf);
		ib->buf = NULL;
		ib->cap = 0;
	}
}

/* Room for need more bytes at the end: compacts, or grows by doubling up
 * to max_bytes.  0, or -1 when full. */
static int room(struct ircinbox *ib, size_t need)
{
	if (ib->end + need <= ib->cap)
		return 0;
	size_t live = ib->end - ib->off;
	/* Compact when that frees a quarter at least (or at the cap), else
	 * grow: either way each byte moves O(1) times on average. */
	if (live + need <= ib->cap && (ib->off >= ib->cap / 4 || ib->cap >= ib->max_bytes)) {
		memmove(ib->buf, ib->buf + ib->off, live);
		ib->off = 0;
		ib->end = live;
		return 0;
	}
	size_t nc = ib->cap ? ib->cap * 2 : QMIN;
	while (nc < live + need && nc < ib->max_bytes)
		nc *= 2;
	if (nc > ib->max_bytes)
		nc = ib->max_bytes;
	if (live + need > nc)
		return -1;
	/* Compact, then realloc: a big buffer is remapped in place (mremap)
	 * instead of held twice while copied, which set the peak memory of
	 * a burst. */
	if (ib->off && live)
		memmove(ib->buf, ib->buf + ib->off, live);
	ib->off = 0;
	ib->end = live;
	char *nb = realloc(ib->buf, nc);
	if (!nb)
		return -1;
	ib->buf = nb;
	ib->cap = nc;
	return 0;
}

static size_t put_str(char *at, const char *s)
{
	size_t l = strlen(s) + 1;
	memcpy(at, s, l);
	return l;
}

int ircinbox_put(struct ircinbox *ib, const struct ircinbox_msg *m)
{
	const char *account = m->account ? m->account : "";
	size_t len = strlen(account) + strlen(m->source) + strlen(m->target) + strlen(m->text) + 4;
	if (len > ENTRY_MAX || ib->n >= ib->max_msgs || room(ib, HDR + len) != 0)
		return -1;
	unsigned char *h = (unsigned char *)ib->buf + ib->end;
	h[0] = (unsigned char)(len & 0xff);
	h[1] = (unsigned char)(len >> 8);
	h[2] = m->account ? HAS_ACCOUNT : 0;
	char *p = ib->buf + ib->end + HDR;
	p += put_str(p, account);
	p += put_str(p, m->source);
	p += put_str(p, m->target);
	put_str(p, m->text);
	ib->end += HDR + len;
	ib->n++;
	return 0;
}

int ircinbox_take(struct ircinbox *ib, char *buf, size_t cap, struct ircinbox_msg *m)
{
	if (ib->n == 0)
		return 0;
	const unsigned char *h = (const unsigned char *)ib->buf + ib->off;
	size_t len = (size_t)h[0] | (size_t)h[1] << 8;
	int has_account = h[2] & HAS_ACCOUNT;
	int fits = len <= cap;
	if (fits)
		memcpy(buf, ib->buf + ib->off + HDR, len);
	ib->off += HDR + len;
	if (--ib->n == 0)
		ircinbox_clear(ib);
	if (!fits)
		return -1;
	m->account = has_account ? buf : NULL;
	m->source = buf + strlen(buf) + 1;
	m->target = m->source + strlen(m->source) + 1;
	m->text = m->target + strlen(m->target) + 1;
	return 1;
}
