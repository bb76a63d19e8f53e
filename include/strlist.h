/* strlist.h - a list of strings (config lists: admins, channels, ignored
 * nicks, allowed inviters).  Each item is its own allocation; the list
 * holds at most STRLIST_MAX items, which no hand-written setting reaches.
 *
 *     struct strlist l = { NULL, 0 };
 *     if (strlist_add(&l, "alice", 5) < 0) ...   // full or out of memory
 *     strlist_has(&l, "ALICE");                  // 1
 *     strlist_free(&l);
 */
#ifndef FAQBOT_STRLIST_H
#define FAQBOT_STRLIST_H

#include <stddef.h>

#define STRLIST_MAX 1024

struct strlist {
	char **v;
	size_t n;
};

/* 1 when s is in l (ASCII case-insensitive: IRC nicks, accounts); 0 when
 * l or s is NULL. */
int strlist_has(const struct strlist *l, const char *s);
/* Appends a copy of s[0..n).  -1 when l already holds STRLIST_MAX items or
 * memory runs out (l is then unchanged). */
int strlist_add(struct strlist *l, const char *s, size_t n);
/* Appends the items of src that dst does not hold yet.  -1 as strlist_add
 * (dst keeps what was added so far). */
int strlist_merge(struct strlist *dst, const struct strlist *src);
/* dst becomes a copy of src (dst's old items are freed only on success).
 * 0, or -1 out of memory with dst unchanged. */
int strlist_copy(struct strlist *dst, const struct strlist *src);
/* Frees the items and empties l. */
void strlist_free(struct strlist *l);

#endif
