/* norm.c - the normalisation pipeline (norm.h): a question's canonical
 * tokens (fold.c), then the lexicon's rewrite rules, the glued "je",
 * spelling correction (lexicon.c) and French number words turned into
 * digits.  Every string it makes goes into the struct norm_text's own buffer:
 * norm_text allocates nothing. */

#include "norm.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lexicon.h"

#define ISLOW(c) ((c) >= 'a' && (c) <= 'z')
#define ISDIG(c) ((c) >= '0' && (c) <= '9')

_Static_assert(NORM_MAX_INPUT * 3 <= FOLD_MAX_TEXT, "fold_tokens must fill struct norm_text's buffer");

struct pipe {
	struct norm_text *nt;
	size_t used;                     /* bytes of nt->buf in use */
	int32_t ent[NORM_MAX_TOKENS];    /* lexicon entry of each token, or -1 */
};

/* Copies text into nt->buf; NULL when the buffer is full. */
static const char *pipe_str(struct pipe *p, const char *s, size_t len)
{
	char *d;

	if (p->used + len + 1 > sizeof p->nt->buf)
		return NULL;
	d = p->nt->buf + p->used;
	memcpy(d, s, len);
	d[len] = '\0';
	p->used += len + 1;
	return d;
}

/* One left-to-right pass, longest rule first; output is not rewritten
 * again, so rules cannot loop. */
static void pipe_rewrite(const struct lexicon *lx, struct pipe *p)
{
	struct norm_text *nt = p->nt;
	struct fold_token out[NORM_MAX_TOKENS];
	int32_t oent[NORM_MAX_TOKENS];
	int m = 0, i = 0;

	/* a rule may lengthen the text: what no longer fits is dropped */
	while (i < nt->ntok && m < NORM_MAX_TOKENS) {
		/* most tokens are no rule's first word: spare them the call */
		const struct lexicon_rule *r = p->ent[i] < 0 ? NULL :
			lexicon_rule_at(lx, nt->tok, p->ent, nt->ntok, i);
		size_t need = 0;
		unsigned len;

		for (int k = 0; r && k < r->nto; k++) {
			lexicon_text(lx, (int32_t)r->to[k], &len);
			need += len + 1;
		}
		if (!r || m + r->nto > NORM_MAX_TOKENS || p->used + need > sizeof nt->buf) {
			out[m] = nt->tok[i];
			oent[m++] = p->ent[i++];
			continue;
		}
		for (int k = 0; k < r->nto; k++) {
			const char *s = lexicon_text(lx, (int32_t)r->to[k], &len);
			struct fold_token *t = &out[m];

			t->s = pipe_str(p, s, len);
			t->len = len;
			t->flags = FOLD_TOK_FIXED | r->tofl[k] | (nt->tok[i].flags & FOLD_TOK_UPPER);
			t->orig = nt->tok[i].orig;
			t->sent = nt->tok[i].sent;
			oent[m++] = (int32_t)r->to[k];
		}
		i += r->nfrom;
	}
	memcpy(nt->tok, out, (size_t)m * sizeof out[0]);
	memcpy(p->ent, oent, (size_t)m * sizeof oent[0]);
	nt->ntok = m;
}

/* "jviens", "jcrois", "jpense": the elided "je" glued to its verb, as
 * people type it.  No French word starts with j and a consonant, so an
 * unknown word of that shape becomes "je" and the rest (the lexicon's own
 * rules, such as "jsuis" or "jsp", run first and win). */
static void pipe_elision(const struct lexicon *lx, struct pipe *p)
{
	struct norm_text *nt = p->nt;

	for (int i = 0; i < nt->ntok && nt->ntok < NORM_MAX_TOKENS; i++) {
		struct fold_token *t = &nt->tok[i];
		const char *je, *rest;

		if (p->ent[i] >= 0 || t->flags & (FOLD_TOK_NUM | FOLD_TOK_DATE | FOLD_TOK_FIXED) || t->len < 4 ||
		    t->s[0] != 'j' || !ISLOW(t->s[1]) || strchr("aeiouyh", t->s[1]))
			continue;
		if (!(je = pipe_str(p, "je", 2)) || !(rest = pipe_str(p, t->s + 1, t->len - 1)))
			return;
		memmove(&nt->tok[i + 1], &nt->tok[i], (size_t)(nt->ntok - i) * sizeof nt->tok[0]);
		memmove(&p->ent[i + 1], &p->ent[i], (size_t)(nt->ntok - i) * sizeof p->ent[0]);
		nt->ntok++;
		nt->tok[i].s = je;
		nt->tok[i].len = 2;
		p->ent[i] = lexicon_find(lx, je, 2);
		nt->tok[i + 1].s = rest;
		nt->tok[i + 1].len--;
		p->ent[i + 1] = lexicon_find(lx, rest, nt->tok[i + 1].len);
		i++;
	}
}

/* French number words norm_text turns into digits ("un"/"une" only inside
 * a compound: alone they are articles).  Returns the value or -1. */
static int numword(const char *s, unsigned len)
{
	static const struct { const char *w; unsigned len; int v; } tab[] = {
		{"un", 2, 1}, {"une", 3, 1}, {"deux", 4, 2}, {"trois", 5, 3},
		{"quatre", 6, 4}, {"cinq", 4, 5}, {"six", 3, 6}, {"sept", 4, 7},
		{"huit", 4, 8}, {"neuf", 4, 9}, {"dix", 3, 10}, {"onze", 4, 11},
		{"douze", 5, 12}, {"treize", 6, 13}, {"quatorze", 8, 14},
		{"quinze", 6, 15}, {"seize", 5, 16}, {"vingt", 5, 20},
		{"vingts", 6, 20}, {"trente", 6, 30}, {"quarante", 8, 40},
		{"cinquante", 9, 50}, {"soixante", 8, 60},
	};

	/* first letters of the words below: most tokens are rejected here */
	static const uint32_t first = 1u << ('u' - 'a') | 1u << ('d' - 'a') | 1u << ('t' - 'a') |
		1u << ('q' - 'a') | 1u << ('c' - 'a') | 1u << ('s' - 'a') | 1u << ('h' - 'a') |
		1u << ('n' - 'a') | 1u << ('o' - 'a') | 1u << ('v' - 'a');

	if (len < 2 || len > 9 || !ISLOW(s[0]) || !(first >> (s[0] - 'a') & 1))
		return -1;
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (tab[i].len == len && tab[i].w[0] == s[0] && !memcmp(tab[i].w, s, len))
			return tab[i].v;
	return -1;
}

static int tokval(const struct fold_token *t)
{
	if (t->flags & (FOLD_TOK_NUM | FOLD_TOK_DATE) || !ISLOW(t->s[0]))
		return -1;
	return numword(t->s, t->len);
}

/* Number phrase starting at token i: returns the tokens it spans (0 when
 * none) and its value, e.g. "quatre vingt dix sept" -> 4 tokens, 97.
 * Hyphenated forms arrive split ("vingt-deux" -> vingt deux) and join
 * back here.  Every token must be in the same sentence. */
static int parse_number(const struct fold_token *t, int n, int i, int *val)
{
	unsigned sent = t[i].sent;
	int v = tokval(&t[i]), k = 1, u, j;

#define AT(x) ((x) < n && t[x].sent == sent ? tokval(&t[x]) : -1)
	if (v < 0 || v == 1)
		return 0;
	if (v == 4 && AT(i + 1) == 20) {
		/* "quatre-vingts" (plural) ends the number: nothing follows it */
		if (t[i + 1].len == 6) {
			*val = 80;
			return 2;
		}
		v = 80;
		k = 2;
	} else if (v == 10 && AT(i + 1) >= 7 && AT(i + 1) <= 9) {
		*val = 10 + AT(i + 1);
		return 2;
	}
	if (v < 20) {
		*val = v;
		return 1;
	}
	j = i + k;
	if (v != 80 && j + 1 < n && t[j].sent == sent && t[j].len == 2 && !memcmp(t[j].s, "et", 2)) {
		u = AT(j + 1);
		if (u == 1 || (v == 60 && u == 11)) { /* vingt et un, soixante et onze */
			*val = v + u;
			return k + 2;
		}
		*val = v;
		return k;
	}
	u = AT(j);
	if ((v == 60 || v == 80) && u >= 10 && u <= 16) {
		int w = AT(j + 1);

		if (u == 10 && w >= 7 && w <= 9) {
			*val = v + 10 + w;
			return k + 2;
		}
		*val = v + u;
		return k + 1;
	}
	if (u >= 1 && u <= 9) {
		*val = v + u;
		return k + 1;
	}
	*val = v;
	return k;
#undef AT
}

static void pipe_numbers(struct pipe *p)
{
	struct norm_text *nt = p->nt;
	int w = 0, i = 0;

	while (i < nt->ntok) {
		int val = 0, k = parse_number(nt->tok, nt->ntok, i, &val);
		char d[12];
		const char *s;

		/* "le 12 sept": the month, not 7 (datex reads it) */
		if (k == 1 && val == 7 && w > 0 && ISDIG(nt->tok[w - 1].s[0]) &&
		    !(nt->tok[w - 1].flags & FOLD_TOK_DATE))
			k = 0;
		if (k > 0) {
			snprintf(d, sizeof d, "%d", val);
			s = pipe_str(p, d, strlen(d));
			if (s) {
				nt->tok[w] = nt->tok[i];
				nt->tok[w].s = s;
				nt->tok[w].len = (unsigned)strlen(d);
				nt->tok[w].flags = FOLD_TOK_NUM | FOLD_TOK_NUMWORD;
				p->ent[w++] = -1;
				i += k;
				continue;
			}
		}
		nt->tok[w] = nt->tok[i];
		p->ent[w++] = p->ent[i++];
	}
	nt->ntok = w;
}


static void pipe_typos(const struct lexicon *lx, struct pipe *p)
{
	struct norm_text *nt = p->nt;

	for (int i = 0; i < nt->ntok; i++) {
		struct fold_token *t = &nt->tok[i];
		int32_t e;
		const char *s;
		unsigned len;

		/* known words, rule words, numbers, dates and number words stay */
		if (p->ent[i] >= 0 || t->flags & (FOLD_TOK_NUM | FOLD_TOK_DATE | FOLD_TOK_FIXED) ||
		    !ISLOW(t->s[0]) || t->len < LEXICON_CORRECT_MIN || t->len > LEXICON_CORRECT_MAX ||
		    numword(t->s, t->len) >= 0)
			continue;
		if ((e = lexicon_correct(lx, t->s, t->len)) < 0)
			continue;
		s = lexicon_text(lx, e, &len);
		if (!(s = pipe_str(p, s, len)))
			continue;
		t->s = s;
		t->len = len;
		t->flags |= FOLD_TOK_FIXED;
		p->ent[i] = e;
	}
}

/* 1 when s[0..n) is a non-empty run of a-z only. */
static int one_word(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && ISLOW(s[i]))
		i++;
	return n > 0 && i == n;
}

void norm_text(const struct lexicon *lx, const char *in, size_t len, struct norm_text *out)
{
	struct fold_tokens o = { out->buf, sizeof out->buf, 0, out->tok, NORM_MAX_TOKENS, 0, 0 };
	struct pipe p;
	size_t cut = len;

	out->ntok = 0;
	out->truncated = 0;
	out->invalid_utf8 = 0;
	out->buf[0] = '\0';
	if (!in)
		return;
	if (len > NORM_MAX_INPUT) {
		/* cut before a character that would straddle the limit */
		cut = NORM_MAX_INPUT;
		for (int back = 0; back < 3 && cut > 0 &&
		     ((unsigned char)in[cut] & 0xC0) == 0x80; back++)
			cut--;
		if (((unsigned char)in[cut] & 0xC0) == 0x80)
			cut = NORM_MAX_INPUT;
		out->truncated = 1;
	}
	if (one_word(in, cut)) {
		/* one lowercase ASCII word (what the intent loader passes, term
		 * by term) folds and tokenises to itself */
		memcpy(out->buf, in, cut);
		out->buf[cut] = '\0';
		out->tok[0] = (struct fold_token){ out->buf, (unsigned)cut, 0, 0, 0 };
		o.used = cut + 1;
		o.n = 1;
	} else {
		out->invalid_utf8 = fold_tokens(in, cut, &o);
	}
	out->ntok = o.n;

	p.nt = out;
	p.used = o.used;
	if (!lexicon_empty(lx)) {
		for (int i = 0; i < out->ntok; i++)
			p.ent[i] = lexicon_find(lx, out->tok[i].s, out->tok[i].len);
		pipe_rewrite(lx, &p);
		pipe_elision(lx, &p);
		pipe_typos(lx, &p);
	} else {
		for (int i = 0; i < out->ntok; i++)
			p.ent[i] = -1;
	}
	pipe_numbers(&p);
}
