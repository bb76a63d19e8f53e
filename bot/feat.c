/* feat.c - hashed features of one normalised question (feat.h).
 * Every feature is a string hashed with FNV-1a under its group's seed; the
 * strings are never built whole: hashes are extended byte by byte. */
#include "feat.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "norm.h"

const struct feat_settings feat_default = {
	.dim_bits = 16,
	.char_min = 2, .char_max = 5,
	.w_char = 0.7f, .w_word = 1.0f, .w_bigram = 0.5f, .w_extra = 1.5f,
};

enum { G_CHAR, G_WORD, G_BIGRAM, G_EXTRA, G__COUNT };

#define FNV_OFF 2166136261u
#define FNV_MUL 16777619u
/* the canonical text of one question: at most NORM_MAX_TOKENS tokens */
#define FEAT_TEXT_MAX 2048

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * FNV_MUL;
	return h;
}

uint32_t feat_hash(const char *s, size_t n)
{
	return fnv(fnv(FNV_OFF, "x:", 2), s, n);
}

/* The word a token stands for: numbers by their kind, so that any day or
 * date looks the same to the model. */
static const char *tok_word(const struct token *t, unsigned *len)
{
	if (t->flags & TOK_DATE) {
		*len = 5;
		return "#date";
	}
	if (t->flags & TOK_NUM) {
		if (t->len >= 5) {
			*len = 3;
			return "#id";
		}
		*len = 4;
		return "#num";
	}
	*len = t->len;
	return t->s;
}

struct acc {
	int n, cap;
	uint32_t *idx;
	float *val;
	int group_start[G__COUNT + 1];
	uint32_t mask;
};

static void add(struct acc *a, uint32_t h)
{
	if (a->n < a->cap) {
		a->idx[a->n] = h & a->mask;
		a->val[a->n] = 1.0f;
		a->n++;
	}
}

static void sort_group(uint32_t *idx, float *val, int n)
{
	/* insertion sort is enough for a few hundred entries, and stable */
	for (int i = 1; i < n; i++) {
		uint32_t k = idx[i];
		float v = val[i];
		int j = i - 1;
		while (j >= 0 && idx[j] > k) {
			idx[j + 1] = idx[j];
			val[j + 1] = val[j];
			j--;
		}
		idx[j + 1] = k;
		val[j + 1] = v;
	}
}

/* Sums duplicates inside [from, a->n), then L2-normalises and scales. */
static void close_group(struct acc *a, int from, float weight)
{
	int n = a->n - from, w = 0;
	uint32_t *idx = a->idx + from;
	float *val = a->val + from;
	double ss = 0;

	sort_group(idx, val, n);
	for (int i = 0; i < n; i++) {
		if (w > 0 && idx[w - 1] == idx[i]) {
			val[w - 1] += val[i];
			continue;
		}
		idx[w] = idx[i];
		val[w] = val[i];
		w++;
	}
	for (int i = 0; i < w; i++) {
		/* sublinear counts: a repeated word is not ten times the topic */
		val[i] = 1.0f + logf(val[i]);
		ss += (double)val[i] * val[i];
	}
	float k = ss > 0 ? (float)(weight / sqrt(ss)) : 0.0f;
	for (int i = 0; i < w; i++)
		val[i] *= k;
	a->n = from + w;
}

/* Merges the groups (each sorted) into one sorted vector, summing
 * collisions between groups. */
static void merge_groups(struct acc *a, struct featvec *out)
{
	int pos[G__COUNT];
	for (int g = 0; g < G__COUNT; g++)
		pos[g] = a->group_start[g];
	out->n = 0;
	for (;;) {
		int best = -1;
		for (int g = 0; g < G__COUNT; g++)
			if (pos[g] < a->group_start[g + 1] &&
			    (best < 0 || a->idx[pos[g]] < a->idx[pos[best]]))
				best = g;
		if (best < 0)
			break;
		uint32_t k = a->idx[pos[best]];
		float v = a->val[pos[best]++];
		if (out->n > 0 && out->idx[out->n - 1] == k) {
			out->val[out->n - 1] += v;
		} else if (out->n < FEAT_MAX) {
			out->idx[out->n] = k;
			out->val[out->n] = v;
			out->n++;
		}
	}
}

void feat_extract(const struct feat_settings *fs, const struct ntext *nt,
		  const uint32_t *extra, int nextra, struct featvec *out)
{
	uint32_t idx[FEAT_MAX];
	float val[FEAT_MAX];
	char text[FEAT_TEXT_MAX];
	size_t tl = 0;
	struct acc a = {.idx = idx, .val = val, .cap = FEAT_MAX,
			.mask = (fs->dim_bits >= 32 ? 0xffffffffu : (1u << fs->dim_bits) - 1)};

	/* the canonical text, one space between words, " | " between
	 * sentences, a space at both ends */
	text[tl++] = ' ';
	for (int i = 0; i < nt->ntok; i++) {
		unsigned wl;
		const char *w = tok_word(&nt->tok[i], &wl);
		if (i > 0 && nt->tok[i].sent != nt->tok[i - 1].sent && tl + 2 < sizeof text) {
			text[tl++] = '|';
			text[tl++] = ' ';
		}
		if (tl + wl + 1 >= sizeof text)
			break;
		memcpy(text + tl, w, wl);
		tl += wl;
		text[tl++] = ' ';
	}

	/* character n-grams; the budget keeps room for the other groups */
	int char_cap = FEAT_MAX - FEAT_MAX_EXTRA - NORM_MAX_TOKENS;
	a.group_start[G_CHAR] = 0;
	for (size_t i = 0; i < tl && a.n < char_cap; i++) {
		if (text[i] == ' ' && i + 1 < tl && text[i + 1] == ' ')
			continue;
		uint32_t h = fnv(FNV_OFF, "c:", 2);
		for (unsigned n = 1; n <= fs->char_max && i + n <= tl; n++) {
			h = (h ^ (unsigned char)text[i + n - 1]) * FNV_MUL;
			if (n >= fs->char_min)
				add(&a, h);
		}
	}
	close_group(&a, a.group_start[G_CHAR], fs->w_char);

	a.group_start[G_WORD] = a.n;
	for (int i = 0; i < nt->ntok && a.n < FEAT_MAX - FEAT_MAX_EXTRA - NORM_MAX_TOKENS / 2; i++) {
		unsigned wl;
		const char *w = tok_word(&nt->tok[i], &wl);
		add(&a, fnv(fnv(FNV_OFF, "w:", 2), w, wl));
	}
	close_group(&a, a.group_start[G_WORD], fs->w_word);

	a.group_start[G_BIGRAM] = a.n;
	for (int i = 0; i < nt->ntok && a.n < FEAT_MAX - FEAT_MAX_EXTRA; i++) {
		unsigned l1, l2;
		const char *w1 = i > 0 && nt->tok[i - 1].sent == nt->tok[i].sent
			? tok_word(&nt->tok[i - 1], &l1) : (l1 = 1, "^");
		const char *w2 = tok_word(&nt->tok[i], &l2);
		uint32_t h = fnv(fnv(FNV_OFF, "b:", 2), w1, l1);
		h = fnv(fnv(h, " ", 1), w2, l2);
		add(&a, h);
	}
	close_group(&a, a.group_start[G_BIGRAM], fs->w_bigram);

	a.group_start[G_EXTRA] = a.n;
	if (nextra > FEAT_MAX_EXTRA)
		nextra = FEAT_MAX_EXTRA;
	for (int i = 0; i < nextra && a.n < FEAT_MAX; i++)
		add(&a, extra[i]);
	close_group(&a, a.group_start[G_EXTRA], fs->w_extra);
	a.group_start[G__COUNT] = a.n;

	merge_groups(&a, out);
}

int feat_settings_string(const struct feat_settings *fs, char *buf, size_t n)
{
	return snprintf(buf, n, "features v1 dim=%u char=%u-%u w=%g,%g,%g,%g",
			fs->dim_bits, fs->char_min, fs->char_max, (double)fs->w_char,
			(double)fs->w_word, (double)fs->w_bigram, (double)fs->w_extra);
}
