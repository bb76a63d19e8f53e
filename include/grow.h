/* grow.h - the one way an array of items grows: doubling from 16, never
 * past a hard cap (git's ALLOC_GROW, with the cap every list of the bot
 * needs: a hostile peer must not make one grow without bound).
 *
 *     struct timer *heap = NULL; size_t n = 0, cap = 0;
 *     if (grow_array(&heap, &cap, n + 1, sizeof *heap, MAX_TIMERS) < 0)
 *             return -1;          // full, or out of memory
 *     heap[n++] = t;
 */
#ifndef FAQBOT_GROW_H
#define FAQBOT_GROW_H

#include <stddef.h>

/* Makes room for at least need items in the array *pv points to (pv is the
 * address of a T *), of capacity *cap items of elem bytes.  0; or -1 when
 * need > max or memory runs out, with the array and *cap unchanged. */
int grow_array(void *pv, size_t *cap, size_t need, size_t elem, size_t max);

#endif
