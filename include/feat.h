/* feat.h - what the learned intent model sees of a question: hashed,
 * weighted features computed from norm.c's canonical tokens.
 *
 * Groups (each L2-normalised on its own, then scaled by its weight, so
 * that 250 character n-grams do not drown 10 concepts):
 *   char   character n-grams of the canonical text, inside and across
 *          word boundaries (" quand sera" -> " qu", "qua", ...);
 *   word   canonical words;
 *   bigram pairs of consecutive words of one sentence;
 *   extra  indicators given by the caller: intents.ini's concepts matched
 *          in the question, @date, @platform, @idnum, and the shape of the
 *          message (its length in words, how many words no concept
 *          explains).
 * Numbers are replaced by their kind (a day, a date, an identifier) so
 * that "le 12" and "le 24" look the same.  Deterministic; allocates
 * nothing; reads no file and no clock. */
#ifndef FAQBOT_FEAT_H
#define FAQBOT_FEAT_H

#include <stddef.h>
#include <stdint.h>

struct norm_text;

/* Bound on the features of one question (the question itself is bounded
 * by NORM_MAX_INPUT; the rest is dropped, deterministically). */
#define FEAT_MAX 2048
#define FEAT_MAX_EXTRA 128

/* The settings are part of the model: training records them and the
 * answering side refuses a model made with others. */
struct feat_settings {
	unsigned dim_bits;   /* hashed space: 2^dim_bits features */
	unsigned char_min, char_max; /* character n-gram lengths */
	float w_char, w_word, w_bigram, w_extra; /* group weights */
};

extern const struct feat_settings feat_default;

struct featvec {
	int n;
	uint32_t idx[FEAT_MAX]; /* < 2^dim_bits; unique within a group, but two
				 * groups may share an index (the model sums
				 * them): feat_sort merges them */
	float val[FEAT_MAX];
};

/* Hash of a feature name (for the caller's extras, e.g. "c:when"). */
uint32_t feat_hash(const char *s, size_t n);

/* Computes the features of nt plus the caller's extra indicator hashes
 * (at most FEAT_MAX_EXTRA are used). */
void feat_extract(const struct feat_settings *fs, const struct norm_text *nt,
		  const uint32_t *extra, int nextra, struct featvec *out);

/* Sorts by index and sums the entries of one index (what liblinear
 * wants; a dot product needs neither). */
void feat_sort(struct featvec *fv, unsigned dim_bits);

/* "dim=16 char=2-5 w=1,1,0.5,1": written into the model, compared on load. */
int feat_settings_string(const struct feat_settings *fs, char *buf, size_t n);

#endif
