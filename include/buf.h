/* buf.h - a growable byte buffer with a hard length cap (curl's dynbuf is
 * the model).  The content is always NUL-terminated (the NUL is not
 * counted in len nor in max).  A failed add is sticky: later adds fail
 * with the same code, so a writer may add many pieces and check once.
 *
 *     struct buf b;
 *     buf_init(&b, 1 << 20);
 *     buf_add(&b, "abc", 3);
 *     if (b.err) ...                // BUF_TOO_BIG or BUF_NOMEM
 *     use(b.p, b.len);              // b.p is NULL while nothing was added
 *     buf_free(&b);
 */
#ifndef FAQBOT_BUF_H
#define FAQBOT_BUF_H

#include <stddef.h>

#define BUF_TOO_BIG (-1) /* the add would pass max: nothing of it added */
#define BUF_NOMEM (-2)

struct buf {
	char *p;
	size_t len, cap; /* cap counts the NUL */
	size_t max;      /* len never passes it */
	int err;         /* 0, or the first failure (sticky) */
};

void buf_init(struct buf *b, size_t max);
/* Appends s[0..n).  0, or b->err. */
int buf_add(struct buf *b, const void *s, size_t n);
int buf_addc(struct buf *b, char c);
/* Drops the first n bytes (n <= len), keeping the memory: a queue that
 * is written at the front and appended at the back. */
void buf_consume(struct buf *b, size_t n);
/* Empties b and clears err, keeping the memory. */
void buf_reset(struct buf *b);
/* The content (NUL-terminated, "" when empty), which the caller now owns
 * and frees; b is left empty.  NULL when out of memory or b->err. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
