/* buf.c - the capped growable buffer (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* The first allocation: small, since most buffers stay small. */
#define BUF_FIRST 256

void buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->err = 0;
}

int buf_add(struct buf *b, const void *s, size_t n)
{
	if (b->err)
		return b->err;
	if (n > b->max - b->len)
		return b->err = BUF_TOO_BIG;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : BUF_FIRST;
		char *np;
		while (nc < b->len + n + 1)
			nc *= 2;
		if (nc > b->max + 1)
			nc = b->max + 1;
		if (!(np = realloc(b->p, nc)))
			return b->err = BUF_NOMEM;
		b->p = np;
		b->cap = nc;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
	if (b->p)
		b->p[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = '\0';
}

char *buf_steal(struct buf *b)
{
	char *p;
	if (b->err) {
		buf_free(b);
		return NULL;
	}
	p = b->p ? b->p : strdup("");
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}
