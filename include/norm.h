/* norm.h - French text as people type it -> canonical tokens.
 *
 * Pipeline (norm_text): invalid UTF-8 replaced, Unicode folded with
 * utf8proc (NFKC, case fold, accents stripped, ligatures oe/ae, curly
 * apostrophes and dashes made ASCII, control and bidi characters dropped),
 * split into tokens, then SMS spellings and shortcuts rewritten
 * ("kan" -> "quand", "pk" -> "pourquoi", multi-word rules too), small typos
 * corrected against the lexicon's vocabulary (edit distance), doubled
 * letters squeezed when that gives a known word, and French number words
 * turned into digits ("vingt et un" -> "21").
 * It knows no intent and reads no file: the lexicon is built by the
 * knowledge loader from knowledge/lexicon.ini. */
#ifndef FAQBOT_NORM_H
#define FAQBOT_NORM_H

#include <stddef.h>

/* Only the first NORM_MAX_INPUT bytes of a message are read (a chat
 * question is far shorter; the rest is ignored, never an error). */
#define NORM_MAX_INPUT 4096
#define NORM_MAX_TOKENS 512

enum tok_flags {
	TOK_NUM = 1u << 0,     /* all digits ("12", or a number word turned into digits) */
	TOK_NUMWORD = 1u << 1, /* came from number words ("douze") */
	TOK_DATE = 1u << 2,    /* digits with / . or - inside ("12/11/2026", "5-02") */
	TOK_FIXED = 1u << 3,   /* rewritten by a shortcut rule or a typo fix */
	TOK_UPPER = 1u << 4,   /* was written in capitals in the input ("SAIS") */
};

struct token {
	const char *s; /* NUL-terminated, points into struct ntext.buf */
	unsigned len;
	unsigned flags;
	unsigned orig;   /* byte offset of the token in the original input */
	unsigned sent;   /* sentence index: incremented at . ! ? ; : and newlines
			  * (once per run, never inside "12.11.2026" or "14:30") */
};

struct ntext {
	char buf[NORM_MAX_INPUT * 3];
	struct token tok[NORM_MAX_TOKENS];
	int ntok;
	int truncated;   /* input longer than NORM_MAX_INPUT */
	int invalid_utf8; /* some bytes were invalid UTF-8 and were replaced */
};

struct lexicon;

struct lexicon *lexicon_new(void);
void lexicon_free(struct lexicon *lx); /* accepts NULL */
/* Rewrite rule: the token sequence `from` (space-separated, already in
 * folded form) becomes `to` (zero or more space-separated tokens).
 * Returns 0, or -1 with a message in err when the rule is malformed. */
int lexicon_add_rewrite(struct lexicon *lx, const char *from, const char *to,
			char *err, size_t errlen);
/* A known word: a target for typo correction.  Words of 4 letters or fewer
 * are only matched exactly; longer ones tolerate 1 edit (2 from 8 letters).
 * When two words are equally near a typo, the one sharing its first letter
 * wins, then the one added first: add the more frequent words first.
 * The text is folded like a question; -1 unless it is one word of letters. */
int lexicon_add_word(struct lexicon *lx, const char *word);
/* A word that must never be "corrected" (valid French words that sit one
 * edit away from vocabulary, e.g. "vite" vs "visite"). */
int lexicon_add_keep(struct lexicon *lx, const char *word);
/* Call once after the last add: sorts and indexes. */
void lexicon_seal(struct lexicon *lx);
int lexicon_has_word(const struct lexicon *lx, const char *word);

/* Unicode fold only (no tokenising): writes a NUL-terminated string into
 * out (outsz >= 1) and returns its length; a character that does not fit
 * is left out whole.  Sets *invalid (may be NULL) when invalid UTF-8 was
 * replaced: by a space, except a lone Latin-1 byte of a French accented
 * lowercase letter ("valid\xe9e" -> "validee"). */
size_t norm_fold(const char *in, size_t len, char *out, size_t outsz, int *invalid);

/* Full pipeline.  lx may be NULL (then no rewrite, no typo fix).
 * Tokens: lowercase ASCII letters, or digits ("12", TOK_NUM), or digits
 * joined by / . - (TOK_DATE), or digits then letters/digits ("1er",
 * "14h30"), or "14:30".  Elisions and hyphens split ("l'export" -> l export,
 * "sera-t-elle" -> sera t elle) except "aujourdhui", one token however
 * written.  Number words 2..99 become one digit token TOK_NUM|TOK_NUMWORD
 * ("vingt et un" -> 21); "un"/"une" alone stay words, and "sept" right
 * after a day number stays "sept" (the month: "le 12 sept").
 * Needs lexicon_seal for typo correction; allocates nothing. */
void norm_text(const struct lexicon *lx, const char *in, size_t len, struct ntext *out);

/* Damerau-Levenshtein distance, stopping early above max (returns max+1). */
int norm_edit_distance(const char *a, size_t la, const char *b, size_t lb, int max);

#endif
