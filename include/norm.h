/* norm.h - French text as people type it -> canonical tokens.
 *
 * Pipeline (norm_text): the question folded and cut into tokens (fold.h),
 * then the lexicon's rewrite rules applied (SMS spellings and shortcuts,
 * "kan" -> "quand", "pk" -> "pourquoi"), "jviens" split into "je viens",
 * small typos and doubled letters corrected against the lexicon's
 * vocabulary (lexicon.h), and French number words turned into digits
 * ("vingt et un" -> "21").
 * It knows no intent and reads no file: the lexicon is built by the
 * knowledge loader from knowledge/lexicon.ini. */
#ifndef FAQBOT_NORM_H
#define FAQBOT_NORM_H

#include <stddef.h>

#include "fold.h"

/* Only the first NORM_MAX_INPUT bytes of a message are read (a chat
 * question is far shorter; the rest is ignored, never an error). */
#define NORM_MAX_INPUT 4096
#define NORM_MAX_TOKENS 512

struct norm_text {
	char buf[NORM_MAX_INPUT * 3];
	struct fold_token tok[NORM_MAX_TOKENS];
	int ntok;
	int truncated;   /* input longer than NORM_MAX_INPUT */
	int invalid_utf8; /* some bytes were invalid UTF-8 and were replaced */
};

struct lexicon;

/* Full pipeline.  lx may be NULL (then no rewrite, no typo fix).
 * Tokens as fold_tokenise says ("l'export" -> l export, "sera-t-elle" ->
 * sera t elle, "aujourd'hui" -> aujourdhui).  Number words 2..99 become
 * one digit token FOLD_TOK_NUM|FOLD_TOK_NUMWORD ("vingt et un" -> 21); "un"/"une"
 * alone stay words, and "sept" right after a day number stays "sept"
 * (the month: "le 12 sept").  A token rewritten by a rule or a typo fix
 * has FOLD_TOK_FIXED.  Needs lexicon_seal for typo correction; allocates
 * nothing. */
void norm_text(const struct lexicon *lx, const char *in, size_t len, struct norm_text *out);

#endif
