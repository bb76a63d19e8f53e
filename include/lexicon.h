/* lexicon.h - the vocabulary of knowledge/lexicon.ini and intents.ini:
 * rewrite rules (SMS spellings and shortcuts, "kan" -> "quand", multi-word
 * rules too), known words for spelling correction, and words never to
 * correct.  Every entry is canonical text (fold.h), so it matches a
 * question's tokens byte for byte.  The knowledge loader fills it and
 * seals it; norm_text (norm.h) reads it, never changes it. */
#ifndef FAQBOT_LEXICON_H
#define FAQBOT_LEXICON_H

#include <stddef.h>
#include <stdint.h>

#include "fold.h"

/* tokens on either side of a rewrite rule */
#define LEXICON_RULE_MAX 8
/* lexicon_correct leaves shorter and longer words alone (the longer ones
 * are no word, and bound its work) */
#define LEXICON_CORRECT_MIN 3
#define LEXICON_CORRECT_MAX 32

struct lexicon;

/* A rewrite rule, read-only: entry ids (lexicon_text gives their text). */
struct lexicon_rule {
	uint32_t from[LEXICON_RULE_MAX], to[LEXICON_RULE_MAX];
	uint8_t tofl[LEXICON_RULE_MAX]; /* FOLD_TOK_NUM / FOLD_TOK_DATE of the `to` tokens */
	uint8_t nfrom, nto;
	int32_t next;                   /* next rule with the same first word (longer first), or -1 */
};

struct lexicon *lexicon_new(void);
void lexicon_free(struct lexicon *lx); /* accepts NULL */
/* Rewrite rule: the token sequence `from` (space-separated, folded like a
 * question) becomes `to` (zero or more space-separated tokens).  Returns
 * 0, or -1 with a message in err when the rule is malformed. */
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
/* One line of knowledge/lexicon.ini as an INI reader hands it over: a
 * section header (key and val NULL), "from = to" under [rewrite] (key
 * NULL when the line has no '='), or under [words] and [keep] a list of
 * words separated by spaces or commas (key NULL; val is cut up in place).
 * Returns 0, or -1 with what is wrong and how to fix it in err (the
 * caller adds file:line). */
int lexicon_ini_line(struct lexicon *lx, const char *section, const char *key, char *val,
		     char *err, size_t errlen);
/* Call once after the last add: builds the index of lexicon_correct. */
void lexicon_seal(struct lexicon *lx);
int lexicon_has_word(const struct lexicon *lx, const char *word);

/* 1 when lx is NULL or holds no entry at all (norm_text then skips every
 * lexicon step). */
int lexicon_empty(const struct lexicon *lx);
/* Entry id of the canonical text s[0..len) (a word of a rule, a known or
 * a kept word), or -1. */
int32_t lexicon_find(const struct lexicon *lx, const char *s, size_t len);
/* Text of entry e, NUL-terminated; its length in *len. */
const char *lexicon_text(const struct lexicon *lx, int32_t e, unsigned *len);
/* The longest rule whose `from` side is tok[i..] (all in tok[i]'s
 * sentence), ent[] being the entry id of each of the n tokens; or NULL. */
const struct lexicon_rule *lexicon_rule_at(const struct lexicon *lx, const struct fold_token *tok,
					   const int32_t *ent, int n, int i);
/* Spelling correction of a word s[0..len) of letters that is no entry:
 * doubled letters squeezed when that gives a known or kept word
 * ("sesssion" -> session), else, from 5 letters, the nearest known word
 * (1 edit, 2 from 8 letters; ties as lexicon_add_word says).  Entry id,
 * or -1 when none (always outside LEXICON_CORRECT_MIN..MAX letters).
 * Needs lexicon_seal for the nearest-word part. */
int32_t lexicon_correct(const struct lexicon *lx, const char *s, unsigned len);

/* Damerau-Levenshtein distance, stopping early above max (returns max+1). */
int lexicon_edit_distance(const char *a, size_t la, const char *b, size_t lb, int max);

#endif
