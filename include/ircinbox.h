/* ircinbox.h - questions an IRC network holds while its answers cannot
 * leave (the flow-control window is closed, the socket is full), oldest
 * first, without I/O.  A question is kept as the fields it was parsed
 * into (account, source, target, text), never re-printed as a line to be
 * parsed again.  The whole is capped in count and bytes; the buffer grows
 * by doubling up to the cap and is given back once it empties, so a burst
 * does not pin memory. */
#ifndef FAQBOT_IRCINBOX_H
#define FAQBOT_IRCINBOX_H

#include <stddef.h>

struct ircinbox;

struct ircinbox_msg {
	const char *account; /* services account, or NULL */
	const char *source;  /* "nick!user@host" */
	const char *target;  /* channel or our nick */
	const char *text;
};

/* At most max_msgs questions and max_bytes bytes of them.  NULL when out
 * of memory. */
struct ircinbox *ircinbox_new(int max_msgs, size_t max_bytes);
void ircinbox_free(struct ircinbox *ib); /* accepts NULL */

/* Copies m's strings in.  0, or -1 when full (count or bytes), when a
 * question is over 64 KiB, or out of memory. */
int ircinbox_put(struct ircinbox *ib, const struct ircinbox_msg *m);
/* Questions held. */
int ircinbox_count(const struct ircinbox *ib);
/* Moves the oldest question out: its strings are copied into buf[0..cap)
 * and m points into buf.  1 when one was taken, 0 when none waits, -1
 * when it did not fit in cap (it is dropped). */
int ircinbox_take(struct ircinbox *ib, char *buf, size_t cap, struct ircinbox_msg *m);
/* Drops every question (a new connection). */
void ircinbox_clear(struct ircinbox *ib);

#endif
