/* datex.h - French date expressions -> a calendar date, relative to today.
 *
 * Works on the canonical tokens of norm.h (lowercase, no accents, number
 * words already digits).  Covers every row of the table in domain.md
 * ("hier", "vendredi dernier", "lundi prochain", "il y a 3 jours",
 * "le 1er", "12 novembre", "le 12/11", "12.11.2026", ...). */
#ifndef FAQBOT_DATEX_H
#define FAQBOT_DATEX_H

#include "date.h"
#include "norm.h"

struct datex {
	struct date date;
	int tok_start, tok_end; /* tokens [tok_start, tok_end) that gave it */
};

/* Finds the date expressions in nt, in order, at most max of them.
 * Returns how many were found (0 when none). */
int datex_find_all(const struct norm_text *nt, struct date today,
		   struct datex *out, int max);

/* Parses a date given on the command line or a config: "YYYY-MM-DD",
 * optionally followed by "THH:MM" (the time is checked, then ignored).
 * 0 on success, -1 when malformed. */
int datex_parse_now(const char *s, struct date *out);

#endif
