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
static const char *tok_word(const struct fold_token *t, unsigned *len)
{
	if (t->flags & FOLD_TOK_DATE) {
		*len = 5;
		return "#date";
	}
	if (t->flags & FOLD_TOK_NUM) {
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

/* The vector being filled (out's arrays), group after group. */
struct acc {
	int n, cap;
	uint32_t *idx;
	float *val;
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

/* LSD radix sort of (idx, val) pairs by idx, 8 bits a pass: a question
 * has a few hundred features, and an insertion sort of them cost more
 * than everything else the engine does. */
static void sort_group(uint32_t *idx, float *val, int n, unsigned bits)
{
	uint32_t ti[FEAT_MAX];
	float tv[FEAT_MAX];
	uint32_t *si = idx, *di = ti;
	float *sv = val, *dv = tv;

	for (unsigned shift = 0; shift < bits; shift += 8) {
		int count[257] = {0};
		for (int i = 0; i < n; i++)
			count[((si[i] >> shift) & 255) + 1]++;
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (int i = 0; i < n; i++) {
			int at = count[(si[i] >> shift) & 255]++;
			di[at] = si[i];
			dv[at] = sv[i];
		}
		uint32_t *t = si; si = di; di = t;
		float *u = sv; sv = dv; dv = u;
	}
	if (si != idx) {
		memcpy(idx, si, (size_t)n * sizeof *idx);
		memcpy(val, sv, (size_t)n * sizeof *val);
	}
}

/* Sums duplicates inside [from, a->n) (first occurrence order, through a
 * small open-addressing table), then L2-normalises and scales. */
static void close_group(struct acc *a, int from, float weight)
{
	int n = a->n - from, w = 0;
	uint32_t *idx = a->idx + from;
	float *val = a->val + from;
	uint16_t tab[2 * FEAT_MAX];
	unsigned size = 64;
	double ss = 0;

	while (size < 2u * (unsigned)n)
		size <<= 1;
	memset(tab, 0xff, size * sizeof tab[0]);
	for (int i = 0; i < n; i++) {
		unsigned h = (idx[i] * 2654435761u) >> 7 & (size - 1);
		while (tab[h] != 0xffff && idx[tab[h]] != idx[i])
			h = (h + 1) & (size - 1);
		if (tab[h] != 0xffff) {
			val[tab[h]] += val[i];
			continue;
		}
		tab[h] = (uint16_t)w;
		idx[w] = idx[i];
		val[w] = val[i];
		w++;
	}
	for (int i = 0; i < w; i++) {
		/* sublinear counts: a repeated word is not ten times the topic */
		if (val[i] > 1.0f)
			val[i] = 1.0f + logf(val[i]);
		ss += (double)val[i] * val[i];
	}
	float k = ss > 0 ? (float)(weight / sqrt(ss)) : 0.0f;
	for (int i = 0; i < w; i++)
		val[i] *= k;
	a->n = from + w;
}

void feat_sort(struct featvec *fv, unsigned dim_bits)
{
	int w = 0;
	sort_group(fv->idx, fv->val, fv->n, dim_bits);
	for (int i = 0; i < fv->n; i++) {
		if (w > 0 && fv->idx[w - 1] == fv->idx[i]) {
			fv->val[w - 1] += fv->val[i];
		} else {
			fv->idx[w] = fv->idx[i];
			fv->val[w] = fv->val[i];
			w++;
		}
	}
	fv->n = w;
}

void feat_extract(const struct feat_settings *fs, const struct norm_text *nt,
		  const uint32_t *extra, int nextra, struct featvec *out)
{
	char text[FEAT_TEXT_MAX];
	size_t tl = 0;
	int from;
	struct acc a = {.idx = out->idx, .val = out->val, .cap = FEAT_MAX,
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
	close_group(&a, 0, fs->w_char);

	from = a.n;
	for (int i = 0; i < nt->ntok && a.n < FEAT_MAX - FEAT_MAX_EXTRA - NORM_MAX_TOKENS / 2; i++) {
		unsigned wl;
		const char *w = tok_word(&nt->tok[i], &wl);
		add(&a, fnv(fnv(FNV_OFF, "w:", 2), w, wl));
	}
	close_group(&a, from, fs->w_word);

	from = a.n;
	for (int i = 0; i < nt->ntok && a.n < FEAT_MAX - FEAT_MAX_EXTRA; i++) {
		unsigned l1, l2;
		const char *w1 = i > 0 && nt->tok[i - 1].sent == nt->tok[i].sent
			? tok_word(&nt->tok[i - 1], &l1) : (l1 = 1, "^");
		const char *w2 = tok_word(&nt->tok[i], &l2);
		uint32_t h = fnv(fnv(FNV_OFF, "b:", 2), w1, l1);
		h = fnv(fnv(h, " ", 1), w2, l2);
		add(&a, h);
	}
	close_group(&a, from, fs->w_bigram);

	from = a.n;
	if (nextra > FEAT_MAX_EXTRA)
		nextra = FEAT_MAX_EXTRA;
	for (int i = 0; i < nextra && a.n < FEAT_MAX; i++)
		add(&a, extra[i]);
	close_group(&a, from, fs->w_extra);
	out->n = a.n;
}

int feat_settings_string(const struct feat_settings *fs, char *buf, size_t n)
{
	return snprintf(buf, n, "features v1 dim=%u char=%u-%u w=%g,%g,%g,%g",
			fs->dim_bits, fs->char_min, fs->char_max, (double)fs->w_char,
			(double)fs->w_word, (double)fs->w_bigram, (double)fs->w_extra);
}
