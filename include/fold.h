/* fold.h - canonical text: Unicode folded with utf8proc (NFKC, case fold,
 * accents stripped, ligatures oe/ae, curly apostrophes and dashes made
 * ASCII, control and bidi characters dropped), then cut into tokens.
 * Questions and lexicon entries go through the same two steps, so they
 * compare byte for byte.  No vocabulary here (lexicon.h), no rewriting
 * or number words (norm.h); nothing is allocated. */
#ifndef FAQBOT_FOLD_H
#define FAQBOT_FOLD_H

#include <stddef.h>

/* Folded bytes fold_tokens writes at most (a question's 4096 input bytes
 * may triple: "ﬃ" is three letters). */
#define FOLD_MAX_TEXT (4096 * 3)

enum tok_flags {
	FOLD_TOK_NUM = 1u << 0,     /* all digits ("12", or a number word turned into digits) */
	FOLD_TOK_NUMWORD = 1u << 1, /* came from number words ("douze"); set by norm_text */
	FOLD_TOK_DATE = 1u << 2,    /* digits with / . or - inside ("12/11/2026", "5-02") */
	FOLD_TOK_FIXED = 1u << 3,   /* rewritten by a shortcut rule or a typo fix; set by norm_text */
	FOLD_TOK_UPPER = 1u << 4,   /* was written in capitals in the input ("SAIS") */
};

struct fold_token {
	const char *s; /* NUL-terminated, in the caller's buffer */
	unsigned len;
	unsigned flags;
	unsigned orig;   /* byte offset of the token in the original input */
	unsigned sent;   /* sentence index: incremented at . ! ? ; : and newlines
			  * (once per run, never inside "12.11.2026" or "14:30") */
};

/* Where the tokens go: the caller sets buf, cap (>= 1), tok and max, and
 * used, n and overflow to 0. */
struct fold_tokens {
	char *buf;          /* token text, each NUL-terminated */
	size_t cap, used;
	struct fold_token *tok;
	int max, n;
	int overflow;       /* more tokens than max, or text beyond buf: the rest is left out */
};

/* Unicode fold only (no tokenising): writes a NUL-terminated string into
 * out (outsz >= 1) and returns its length; a character that does not fit
 * is left out whole.  Sets *invalid (may be NULL) when invalid UTF-8 was
 * replaced: by a space, except a lone Latin-1 byte of a French accented
 * lowercase letter ("valid\xe9e" -> "validee").  Line breaks become
 * spaces. */
size_t fold_text(const char *in, size_t len, char *out, size_t outsz, int *invalid);

/* Cuts already folded text f[0..n) into tokens, e.g.
 * "qu'il sera-t-elle visible le 12/11, 14h30 aujourd'hui ?" ->
 * qu | il | sera | t | elle | visible | le | 12/11 (FOLD_TOK_DATE) | 14h30 |
 * aujourdhui.  Tokens: lowercase ASCII letters, or digits ("12",
 * FOLD_TOK_NUM), or digits joined by / . - (FOLD_TOK_DATE), or digits then
 * letters/digits ("1er", "14h30"), or "14:30".  Elisions and hyphens
 * split, except "aujourdhui", one token however written.  orig is the
 * offset in f; FOLD_TOK_UPPER is never set (f has no case left). */
void fold_tokenise(const char *f, size_t n, struct fold_tokens *o);

/* A question: fold_text (at most FOLD_MAX_TEXT folded bytes, line breaks
 * kept as sentence ends), then fold_tokenise with orig the offset in in
 * and FOLD_TOK_UPPER on tokens of 2+ letters all in capitals.  Reads at most
 * the first 16383 bytes of in.  Returns 1 when invalid UTF-8 was
 * replaced, else 0. */
int fold_tokens(const char *in, size_t len, struct fold_tokens *o);

#endif
