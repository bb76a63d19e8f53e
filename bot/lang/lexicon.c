/* lexicon.c - the vocabulary (lexicon.h): an arena of canonical words in
 * an open-addressing hash table, rewrite rules chained from their first
 * word, and for spelling correction a symmetric-delete index (SymSpell):
 * every known word is filed under itself and under what deleting one
 * letter (from 8 letters, one or two) leaves, so a typo finds its
 * candidates by looking up its own deletions instead of comparing itself
 * with every word.  Filled once by the knowledge loader, then read-only. */

#include "lexicon.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEX_MAX_ENTRIES (1u << 20) /* distinct words a lexicon may hold */
#define LEX_MAX_ARENA (16u << 20)  /* bytes of word text */
#define LEX_WORD_MAX 255          /* longest word or rule text accepted */
#define FUZZ_MIN 5                /* shorter tokens are never corrected */
#define FUZZ_MAX LEXICON_CORRECT_MAX
#define FUZZ_SEEN 128             /* candidates remembered per token */
#define SQUEEZE_RUNS 6            /* doubled-letter runs tried (2^6 forms) */

#define LEX_KNOWN 1u
#define LEX_KEEP 2u

#define ISLOW(c) ((c) >= 'a' && (c) <= 'z')

struct lent {
	uint32_t off;   /* NUL-terminated text in the arena */
	uint32_t hash;
	uint16_t len;
	uint8_t flags;  /* LEX_KNOWN, LEX_KEEP */
	int32_t rule;   /* first rewrite rule starting with this word, or -1 */
	uint32_t rank;  /* order of lexicon_add_word: the earlier wins a typo tie */
};

struct lexicon {
	char *arena;
	size_t asz, acap;
	struct lent *ent;
	uint32_t nent, entcap;
	uint32_t *tab; /* open addressing: entry index + 1, 0 = empty */
	uint32_t tabmask;
	struct lexicon_rule *rules;
	uint32_t nrules, rulecap;
	uint32_t nwords;
	/* deletion index (SymSpell): key of a word with 0, 1 or (8+ letters)
	 * 2 letters deleted -> list of words; built by lexicon_seal in one
	 * block (dslot table, then the postings pword / pnext) */
	struct dslot *dtab;
	uint32_t dmask;
	uint32_t *pword, *pnext;
};

/* A key (dkey) and its list of words; head = posting index + 1, 0 = empty.
 * Two strings may share a key: the list is then the union of both, and
 * every candidate is checked by lexicon_edit_distance anyway. */
struct dslot {
	uint32_t key;
	uint32_t head;
};

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint32_t hash32(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

/* Deletion keys: a polynomial hash (P[i+1] = P[i] * DEL_B + s[i], mod 2^64)
 * gives the hash of s with one or two letters deleted in O(1) from the
 * prefix hashes, instead of rehashing the whole string for each of the
 * l(l-1)/2 deletions of a long word; dkey mixes in the length and keeps
 * the well-mixed high half of a multiplicative hash. */
#define DEL_B 0x100000001b3ull
/* keys of one string: itself, FUZZ_MAX 1-deletions, FUZZ_MAX*(FUZZ_MAX-1)/2 2-deletions */
#define DEL_MAX_KEYS (1 + FUZZ_MAX + FUZZ_MAX * (FUZZ_MAX - 1) / 2)

static uint32_t dkey(uint64_t h, unsigned n)
{
	return (uint32_t)(((h + n) * 0x9e3779b97f4a7c15ull) >> 32);
}

/* Writes into key[] the key of s (n <= FUZZ_MAX) and of every string made
 * by deleting one letter, and two letters when `two`; returns how many.
 * A deletion that gives the same string as the previous position
 * ("session": either s of "ss") is skipped; other repeats may remain
 * (callers tolerate them). */
static unsigned deletions(const char *s, unsigned n, int two, uint32_t key[DEL_MAX_KEYS])
{
	uint64_t P[FUZZ_MAX + 1], W[FUZZ_MAX + 1];
	unsigned k = 0;

	P[0] = 0;
	W[0] = 1;
	for (unsigned i = 0; i < n; i++) {
		P[i + 1] = P[i] * DEL_B + (unsigned char)s[i];
		W[i + 1] = W[i] * DEL_B;
	}
	key[k++] = dkey(P[n], n);
	for (unsigned p = 0; p < n; p++) {
		if (p > 0 && s[p] == s[p - 1])
			continue; /* same string as deleting p - 1 */
		key[k++] = dkey(P[n] + (P[p] - P[p + 1]) * W[n - 1 - p], n - 1);
		if (!two)
			continue;
		for (unsigned q = p + 1; q < n; q++) {
			if (q > p + 1 && s[q] == s[q - 1])
				continue;
			/* s[0..p) s[p+1..q) s[q+1..n) */
			uint64_t mid = P[q] - P[p + 1] * W[q - p - 1];
			uint64_t suf = P[n] - P[q + 1] * W[n - 1 - q];

			key[k++] = dkey(P[p] * W[n - 2 - p] + mid * W[n - 1 - q] + suf, n - 2);
		}
	}
	return k;
}

static int32_t lex_find(const struct lexicon *lx, const char *s, size_t len, uint32_t h)
{
	if (!lx || !lx->tab)
		return -1;
	for (uint32_t p = h & lx->tabmask;; p = (p + 1) & lx->tabmask) {
		uint32_t e = lx->tab[p];
		const struct lent *en;

		if (!e)
			return -1;
		en = &lx->ent[e - 1];
		if (en->hash == h && en->len == len && !memcmp(lx->arena + en->off, s, len))
			return (int32_t)(e - 1);
	}
}

static int lex_grow_tab(struct lexicon *lx)
{
	uint32_t size = lx->tab ? (lx->tabmask + 1) * 2 : 256;
	uint32_t *t = calloc(size, sizeof *t);

	if (!t)
		return -1;
	for (uint32_t i = 0; i < lx->nent; i++) {
		uint32_t p = lx->ent[i].hash & (size - 1);

		while (t[p])
			p = (p + 1) & (size - 1);
		t[p] = i + 1;
	}
	free(lx->tab);
	lx->tab = t;
	lx->tabmask = size - 1;
	return 0;
}

/* Finds or adds the entry for a folded word; -1 when out of memory/cap. */
static int32_t lex_intern(struct lexicon *lx, const char *s, size_t len)
{
	uint32_t h = hash32(fnv(FNV_OFF, s, len));
	int32_t e = lex_find(lx, s, len, h);
	struct lent *en;

	if (e >= 0)
		return e;
	if (lx->nent >= LEX_MAX_ENTRIES || lx->asz + len + 1 > LEX_MAX_ARENA)
		return -1;
	if (!lx->tab || (lx->nent + 1) * 2 > lx->tabmask + 1)
		if (lex_grow_tab(lx) < 0)
			return -1;
	if (lx->nent == lx->entcap) {
		uint32_t nc = lx->entcap ? lx->entcap * 2 : 256;
		struct lent *ne = realloc(lx->ent, nc * sizeof *ne);

		if (!ne)
			return -1;
		lx->ent = ne;
		lx->entcap = nc;
	}
	if (lx->asz + len + 1 > lx->acap) {
		size_t nc = lx->acap ? lx->acap * 2 : 4096;
		char *na;

		while (nc < lx->asz + len + 1)
			nc *= 2;
		na = realloc(lx->arena, nc);
		if (!na)
			return -1;
		lx->arena = na;
		lx->acap = nc;
	}
	en = &lx->ent[lx->nent];
	en->off = (uint32_t)lx->asz;
	en->hash = h;
	en->len = (uint16_t)len;
	en->flags = 0;
	en->rule = -1;
	en->rank = 0;
	memcpy(lx->arena + lx->asz, s, len);
	lx->arena[lx->asz + len] = '\0';
	lx->asz += len + 1;
	{
		uint32_t p = h & lx->tabmask;

		while (lx->tab[p])
			p = (p + 1) & lx->tabmask;
		lx->tab[p] = lx->nent + 1;
	}
	return (int32_t)lx->nent++;
}

struct lexicon *lexicon_new(void)
{
	return calloc(1, sizeof(struct lexicon));
}

static void lex_free_index(struct lexicon *lx)
{
	free(lx->dtab); /* one block with pword and pnext */
	lx->dtab = NULL;
	lx->pword = lx->pnext = NULL;
	lx->dmask = 0;
}

void lexicon_free(struct lexicon *lx)
{
	if (!lx)
		return;
	lex_free_index(lx);
	free(lx->arena);
	free(lx->ent);
	free(lx->tab);
	free(lx->rules);
	free(lx);
}

static void seterr(char *err, size_t errlen, const char *fmt, const char *a)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a);
}

/* Canonical tokens of a lexicon text: folded and tokenised exactly as
 * questions are, so "aujourd'hui" or "Qu'est-ce" in lexicon.ini match
 * what norm_text produces.  Returns the token count, -1 when invalid. */
static int lex_tokens(const char *text, char *buf, size_t bufsz, struct fold_token *tok, int max)
{
	char f[LEX_WORD_MAX + 1];
	size_t len = strlen(text), n;
	int bad;
	struct fold_tokens o = { buf, bufsz, 0, tok, max, 0, 0 };

	if (len > LEX_WORD_MAX)
		return -1;
	n = fold_text(text, len, f, sizeof f, &bad);
	if (bad)
		return -1;
	fold_tokenise(f, n, &o);
	return o.overflow ? -1 : o.n;
}

/* One folded word for add_word / add_keep / has_word; -1 when the text
 * is not exactly one letters-only token. */
static int lex_one_word(const char *word, char *buf, size_t bufsz, unsigned *len)
{
	struct fold_token t[2];

	if (!word)
		return -1;
	/* most of lexicon.ini and intents.ini is plain lowercase ASCII, which
	 * folds and tokenises to itself: skip the Unicode pipeline */
	{
		size_t n = 0;

		while (ISLOW(word[n]) && n <= LEX_WORD_MAX)
			n++;
		if (!word[n] && n > 0 && n <= LEX_WORD_MAX && n + 1 <= bufsz) {
			memcpy(buf, word, n + 1);
			*len = (unsigned)n;
			return 0;
		}
	}
	if (lex_tokens(word, buf, bufsz, t, 2) != 1 || !ISLOW(t[0].s[0]))
		return -1;
	memmove(buf, t[0].s, t[0].len + 1);
	*len = t[0].len;
	return 0;
}

int lexicon_add_rewrite(struct lexicon *lx, const char *from, const char *to,
			char *err, size_t errlen)
{
	char fb[2 * LEX_WORD_MAX + 2], tb[2 * LEX_WORD_MAX + 2];
	struct fold_token ft[LEXICON_RULE_MAX + 1], tt[LEXICON_RULE_MAX + 1];
	int nf, nt;
	int32_t first;
	struct lexicon_rule r;

	if (!lx || !from || !to) {
		seterr(err, errlen, "%s", "rewrite rule: missing argument");
		return -1;
	}
	nf = lex_tokens(from, fb, sizeof fb, ft, LEXICON_RULE_MAX + 1);
	nt = lex_tokens(to, tb, sizeof tb, tt, LEXICON_RULE_MAX + 1);
	if (nf < 0 || nt < 0) {
		seterr(err, errlen, "rewrite rule \"%s\": invalid UTF-8 or text too long", from);
		return -1;
	}
	if (nf == 0) {
		seterr(err, errlen, "rewrite rule \"%s\": nothing to rewrite (the left side has no word)", from);
		return -1;
	}
	if (nf > LEXICON_RULE_MAX || nt > LEXICON_RULE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "rewrite rule \"%s\": at most %d words on each side", from, LEXICON_RULE_MAX);
		return -1;
	}
	memset(&r, 0, sizeof r);
	r.nfrom = (uint8_t)nf;
	r.nto = (uint8_t)nt;
	for (int i = 0; i < nf; i++) {
		int32_t e = lex_intern(lx, ft[i].s, ft[i].len);

		if (e < 0)
			goto nomem;
		r.from[i] = (uint32_t)e;
	}
	for (int i = 0; i < nt; i++) {
		int32_t e = lex_intern(lx, tt[i].s, tt[i].len);

		if (e < 0)
			goto nomem;
		r.to[i] = (uint32_t)e;
		r.tofl[i] = (uint8_t)(tt[i].flags & (FOLD_TOK_NUM | FOLD_TOK_DATE));
	}
	first = (int32_t)r.from[0];
	for (int32_t q = lx->ent[first].rule; q >= 0; q = lx->rules[q].next) {
		const struct lexicon_rule *o = &lx->rules[q];

		if (o->nfrom == r.nfrom && !memcmp(o->from, r.from, nf * sizeof r.from[0])) {
			seterr(err, errlen, "rewrite rule \"%s\": defined twice; keep one", from);
			return -1;
		}
	}
	if (lx->nrules == lx->rulecap) {
		uint32_t nc = lx->rulecap ? lx->rulecap * 2 : 64;
		struct lexicon_rule *nr;

		if (nc > LEX_MAX_ENTRIES)
			goto nomem;
		nr = realloc(lx->rules, nc * sizeof *nr);
		if (!nr)
			goto nomem;
		lx->rules = nr;
		lx->rulecap = nc;
	}
	/* keep each word's list longest first: the longest match wins */
	{
		int32_t *link = &lx->ent[first].rule;

		while (*link >= 0 && lx->rules[*link].nfrom >= r.nfrom)
			link = &lx->rules[*link].next;
		r.next = *link;
		lx->rules[lx->nrules] = r;
		*link = (int32_t)lx->nrules++;
	}
	return 0;
nomem:
	seterr(err, errlen, "rewrite rule \"%s\": out of memory or lexicon full", from);
	return -1;
}

static int lex_add_flag(struct lexicon *lx, const char *word, unsigned flag)
{
	char b[LEX_WORD_MAX + 2];
	unsigned len;
	int32_t e;

	if (!lx || lex_one_word(word, b, sizeof b, &len) < 0)
		return -1;
	e = lex_intern(lx, b, len);
	if (e < 0)
		return -1;
	if (flag == LEX_KNOWN && !(lx->ent[e].flags & LEX_KNOWN))
		lx->ent[e].rank = lx->nwords++;
	lx->ent[e].flags |= (uint8_t)flag;
	return 0;
}

int lexicon_add_word(struct lexicon *lx, const char *word)
{
	return lex_add_flag(lx, word, LEX_KNOWN);
}

int lexicon_add_keep(struct lexicon *lx, const char *word)
{
	return lex_add_flag(lx, word, LEX_KEEP);
}

int lexicon_has_word(const struct lexicon *lx, const char *word)
{
	char b[LEX_WORD_MAX + 2];
	unsigned len;
	int32_t e;

	if (!lx || lex_one_word(word, b, sizeof b, &len) < 0)
		return 0;
	e = lex_find(lx, b, len, hash32(fnv(FNV_OFF, b, len)));
	return e >= 0 && (lx->ent[e].flags & LEX_KNOWN);
}

int lexicon_ini_line(struct lexicon *lx, const char *section, const char *key, char *val,
		     char *err, size_t errlen)
{
	char e[256], *save = NULL;

	if (!val) {
		if (!strcmp(section, "rewrite") || !strcmp(section, "words") || !strcmp(section, "keep"))
			return 0;
		seterr(err, errlen, "unknown section [%s]; use [rewrite], [words] or [keep]", section);
		return -1;
	}
	if (!strcmp(section, "rewrite")) {
		if (!key) {
			seterr(err, errlen, "\"%s\" is no rule; write: from words = to words", val);
			return -1;
		}
		if (lexicon_add_rewrite(lx, key, val, e, sizeof e) < 0) {
			seterr(err, errlen, "%s", e);
			return -1;
		}
		return 0;
	}
	if (key) {
		seterr(err, errlen, "[%s] lists words separated by spaces, without '='", section);
		return -1;
	}
	for (char *w = strtok_r(val, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		int r = !strcmp(section, "keep") ? lexicon_add_keep(lx, w) : lexicon_add_word(lx, w);

		if (r < 0) {
			seterr(err, errlen, "\"%s\" is not one word of letters; fix it", w);
			return -1;
		}
	}
	return 0;
}

static int fuzzy_target(const struct lent *en)
{
	return (en->flags & LEX_KNOWN) && en->len >= FUZZ_MIN && en->len <= FUZZ_MAX;
}

static void dindex_add(struct lexicon *lx, uint32_t key, uint32_t word, uint32_t *np)
{
	uint32_t p = key & lx->dmask;

	while (lx->dtab[p].head && lx->dtab[p].key != key)
		p = (p + 1) & lx->dmask;
	/* the same word may reach the same string twice ("abab": delete 0,1
	 * or 2,3); its postings are consecutive */
	if (lx->dtab[p].head && lx->pword[lx->dtab[p].head - 1] == word)
		return;
	lx->dtab[p].key = key;
	lx->pword[*np] = word;
	lx->pnext[*np] = lx->dtab[p].head;
	lx->dtab[p].head = ++*np;
}

void lexicon_seal(struct lexicon *lx)
{
	size_t total = 0, size = 16;
	uint32_t np = 0, key[DEL_MAX_KEYS];

	if (!lx)
		return;
	lex_free_index(lx);
	for (uint32_t i = 0; i < lx->nent; i++) {
		size_t l = lx->ent[i].len;

		if (fuzzy_target(&lx->ent[i]))
			total += 1 + l + (l >= 8 ? l * (l - 1) / 2 : 0);
	}
	if (total == 0 || total > LEX_MAX_ENTRIES * 8u)
		return;
	/* at most `total` distinct keys: the table stays under 3/4 full */
	while (size * 3 < total * 4)
		size *= 2;
	lx->dtab = calloc(1, size * sizeof *lx->dtab + 2 * total * sizeof *lx->pword);
	if (!lx->dtab)
		return;
	lx->pword = (uint32_t *)(lx->dtab + size);
	lx->pnext = lx->pword + total;
	lx->dmask = (uint32_t)size - 1;
	/* total counts every deletion, so np never passes it */
	for (uint32_t i = 0; i < lx->nent; i++) {
		const struct lent *en = &lx->ent[i];
		unsigned nk;

		if (!fuzzy_target(en))
			continue;
		nk = deletions(lx->arena + en->off, en->len, en->len >= 8, key);
		for (unsigned k = 0; k < nk; k++)
			dindex_add(lx, key[k], i, &np);
	}
}

/* ------------------------------------------------------- edit distance */

int lexicon_edit_distance(const char *a, size_t la, const char *b, size_t lb, int max)
{
	int stack[3][FUZZ_MAX * 2 + 1];
	int *heap = NULL, *r0, *r1, *r2, *tmp, prevmin = 0, d;

	if (max < 0)
		max = 0;
	if ((la > lb ? la - lb : lb - la) > (size_t)max)
		return max + 1;
	if (la < lb) {
		const char *ts = a;
		size_t tl = la;

		a = b, la = lb, b = ts, lb = tl;
	}
	if (lb == 0)
		return (int)la;
	if (lb + 1 <= FUZZ_MAX * 2 + 1) {
		r0 = stack[0], r1 = stack[1], r2 = stack[2];
	} else {
		heap = malloc(3 * (lb + 1) * sizeof *heap);
		if (!heap)
			return max + 1;
		r0 = heap, r1 = heap + lb + 1, r2 = heap + 2 * (lb + 1);
	}
	for (size_t j = 0; j <= lb; j++)
		r1[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int rowmin = (int)i;

		r2[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int v = r1[j - 1] + (a[i - 1] != b[j - 1]);

			if (r1[j] + 1 < v)
				v = r1[j] + 1;
			if (r2[j - 1] + 1 < v)
				v = r2[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    r0[j - 2] + 1 < v)
				v = r0[j - 2] + 1;
			r2[j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		/* a transposition may skip one row: give up only when two rows
		 * in a row are out of reach */
		if (rowmin > max && (i == 1 || prevmin >= max)) {
			free(heap);
			return max + 1;
		}
		prevmin = rowmin;
		tmp = r0, r0 = r1, r1 = r2, r2 = tmp;
	}
	d = r1[lb];
	free(heap);
	return d > max ? max + 1 : d;
}

/* --------------------------------------------------- spelling correction */

/* Doubled letters: each run of 2+ equal letters becomes 2 or 1 letters
 * ("sesssion" -> session, "visiiible" -> visible, "kaiross" -> kairos);
 * the first form that is a known or kept word wins.  -1 when none. */
static int32_t squeeze(const struct lexicon *lx, const char *s, unsigned len)
{
	unsigned rs[SQUEEZE_RUNS], rl[SQUEEZE_RUNS];
	int nr = 0, triple = 0;
	char b[FUZZ_MAX + 1];

	for (unsigned i = 0; i + 1 < len;) {
		unsigned j = i + 1;

		while (j < len && s[j] == s[i])
			j++;
		if (j - i >= 2) {
			if (nr == SQUEEZE_RUNS)
				return -1;
			rs[nr] = i;
			rl[nr++] = j - i;
			triple |= j - i >= 3;
		}
		i = j;
	}
	if (!nr)
		return -1;
	for (unsigned mask = triple ? 0 : 1; mask < (1u << nr); mask++) {
		unsigned bl = 0, i = 0;
		int32_t e;

		for (int r = 0; r < nr; r++) {
			memcpy(b + bl, s + i, rs[r] - i);
			bl += rs[r] - i;
			b[bl++] = s[rs[r]];
			if (!(mask >> r & 1))
				b[bl++] = s[rs[r]];
			i = rs[r] + rl[r];
		}
		memcpy(b + bl, s + i, len - i);
		bl += len - i;
		e = lex_find(lx, b, bl, hash32(fnv(FNV_OFF, b, bl)));
		if (e >= 0 && (lx->ent[e].flags & (LEX_KNOWN | LEX_KEEP)))
			return e;
	}
	return -1;
}

struct fuzz {
	const struct lexicon *lx;
	const char *s;
	unsigned len;
	int maxd;
	int32_t best;
	int bestd;
	int32_t seen[FUZZ_SEEN];
	int nseen;
};

static void fuzz_probe(struct fuzz *z, uint32_t key)
{
	const struct lexicon *lx = z->lx;
	uint32_t p = key & lx->dmask;

	while (lx->dtab[p].head && lx->dtab[p].key != key)
		p = (p + 1) & lx->dmask;
	for (uint32_t q = lx->dtab[p].head; q; q = lx->pnext[q - 1]) {
		int32_t e = (int32_t)lx->pword[q - 1];
		const struct lent *en = &lx->ent[e];
		int k, d;

		for (k = 0; k < z->nseen && z->seen[k] != e; k++)
			;
		if (k < z->nseen)
			continue;
		if (z->nseen < FUZZ_SEEN)
			z->seen[z->nseen++] = e;
		d = lexicon_edit_distance(z->s, z->len, lx->arena + en->off, en->len, z->maxd);
		if (d > z->maxd)
			continue;
		if (z->best >= 0 && d == z->bestd) {
			/* tie: a typo rarely hits the first letter, then the word
			 * added first (the more frequent one) wins */
			const struct lent *b = &lx->ent[z->best];
			int fs = lx->arena[en->off] == z->s[0], fb = lx->arena[b->off] == z->s[0];

			if (fs < fb || (fs == fb && en->rank > b->rank))
				continue;
		} else if (z->best >= 0 && d > z->bestd) {
			continue;
		}
		z->best = e;
		z->bestd = d;
	}
}

/* The known word nearest to s (1 edit, 2 from 8 letters); -1 when none. */
static int32_t fuzzy(const struct lexicon *lx, const char *s, unsigned len)
{
	struct fuzz z;
	uint32_t key[DEL_MAX_KEYS];
	unsigned nk;

	if (!lx->dtab || len > FUZZ_MAX)
		return -1;
	z.lx = lx, z.s = s, z.len = len, z.maxd = len >= 8 ? 2 : 1;
	z.best = -1, z.bestd = 99, z.nseen = 0;
	nk = deletions(s, len, z.maxd >= 2, key);
	for (unsigned k = 0; k < nk; k++)
		fuzz_probe(&z, key[k]);
	return z.best;
}

int32_t lexicon_correct(const struct lexicon *lx, const char *s, unsigned len)
{
	int32_t e;

	if (!lx || len < LEXICON_CORRECT_MIN || len > FUZZ_MAX)
		return -1;
	e = squeeze(lx, s, len);
	if (e < 0 && len >= FUZZ_MIN)
		e = fuzzy(lx, s, len);
	return e;
}

/* ------------------------------------------- what norm_text reads */

int lexicon_empty(const struct lexicon *lx)
{
	return !lx || !lx->tab;
}

int32_t lexicon_find(const struct lexicon *lx, const char *s, size_t len)
{
	return lex_find(lx, s, len, hash32(fnv(FNV_OFF, s, len)));
}

const char *lexicon_text(const struct lexicon *lx, int32_t e, unsigned *len)
{
	*len = lx->ent[e].len;
	return lx->arena + lx->ent[e].off;
}

const struct lexicon_rule *lexicon_rule_at(const struct lexicon *lx, const struct fold_token *tok,
					   const int32_t *ent, int n, int i)
{
	if (ent[i] < 0)
		return NULL;
	for (int32_t q = lx->ent[ent[i]].rule; q >= 0; q = lx->rules[q].next) {
		const struct lexicon_rule *r = &lx->rules[q];
		int k;

		if (i + r->nfrom > n)
			continue;
		for (k = 1; k < r->nfrom; k++)
			if (ent[i + k] != (int32_t)r->from[k] || tok[i + k].sent != tok[i].sent)
				break;
		if (k == r->nfrom)
			return r;
	}
	return NULL;
}
