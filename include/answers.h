/* answers.h - French answer text from the templates of knowledge/answers.ini.
 *
 * A template is plain French text with placeholders ({validation},
 * {ft_max}, {platform}, {d_ft_max}, ...) filled from the query, the stage
 * dates, the status and today's date.  The templates are checked when
 * they are loaded (known sections, keys and placeholders; date
 * placeholders only where a validation date is known), so rendering never
 * fails: it only writes into a capped buffer.  Nothing here parses files
 * (kb.c reads answers.ini and calls answers_set) or reads the clock. */
#ifndef FAQBOT_ANSWERS_H
#define FAQBOT_ANSWERS_H

#include <stddef.h>
#include "cal.h"
#include "intent.h"
#include "rules.h"

struct answers;

/* A template is at most this long (bytes, before placeholders). */
#define ANSWER_MAX_TEMPLATE 3000

struct answers *answers_new(void);
void answers_free(struct answers *a); /* accepts NULL */

/* Sets the template [section] key = value.  Returns 0, or -1 with a
 * message in err ("unknown key `x` in [state]; expected one of ...") when
 * the section or key is unknown, the key was already set, the value is
 * empty or too long, or a placeholder is unknown or not allowed there. */
int answers_set(struct answers *a, const char *section, const char *key,
		const char *value, char *err, size_t errlen);
/* 1 when section is one answers.ini may hold: the fixed ones, or the name
 * of an intent defined in knowledge/ (lower case, digits, _). */
int answers_known_section(const char *section);
/* 1 when intent has an answer (a built-in one, or its own section). */
int answers_has(const struct answers *a, const char *intent);
/* 0, or -1 naming the first required "[section] key" that is missing:
 * only in section when it is not NULL (at the end of that section), in
 * every section otherwise (after the last answers_set). */
int answers_check(const struct answers *a, const char *section, char *err, size_t errlen);

/* Writes the French answer for q into out (NUL-terminated, never more
 * than outsz - 1 bytes, cut on a UTF-8 boundary) and returns its length.
 * sd is NULL when no validation date is known; st is the status (only
 * meaningful for display_delay with a date); dl gives the delay numbers
 * of the {d_...} placeholders. */
size_t answers_render(const struct answers *a, const struct delays *dl,
		     const struct query *q, const struct stage_dates *sd,
		     enum status st, struct date today, char *out, size_t outsz);

/* "mardi 24 novembre 2026", "lundi 1er décembre 2026".  buf must hold 40
 * bytes; returns the length written. */
size_t answers_format_date(struct date dt, char *buf, size_t bufsz);

#endif
