/* norm.c - French text as people type it -> canonical tokens (norm.h).
 * Folds Unicode with utf8proc, tokenises with the conventions datex.c and
 * intent.c rely on, then applies the lexicon's rewrite rules, doubled-letter
 * and typo fixes, and turns French number words into digits.
 * It reads no file and knows no intent: kb.c fills the lexicon from
 * knowledge/lexicon.ini.  norm_text allocates nothing. */

#include "norm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define RULE_MAX 8                /* tokens on either side of a rewrite rule */
#define LEX_MAX_ENTRIES (1u << 20) /* distinct words a lexicon may hold */
#define LEX_MAX_ARENA (16u << 20)  /* bytes of word text */
#define LEX_WORD_MAX 255          /* longest word or rule text accepted */
#define FUZZ_MIN 5                /* shorter tokens are never corrected */
#define FUZZ_MAX 32               /* longer tokens are no word: left alone */
#define FUZZ_SEEN 128             /* candidates remembered per token */
#define SQUEEZE_RUNS 6            /* doubled-letter runs tried (2^6 forms) */

#define LEX_KNOWN 1u
#define LEX_KEEP 2u

#define ISLOW(c) ((c) >= 'a' && (c) <= 'z')
#define ISDIG(c) ((c) >= '0' && (c) <= '9')

/* ---------------------------------------------------------------- fold */

/* Case class of the source character of each folded byte, packed with its
 * input offset (< NORM_MAX_INPUT < 2^14) for TOK_UPPER and token.orig. */
enum { CLS_NONE = 0, CLS_UPPER = 1, CLS_LOWER = 2 };
#define META(orig, cls) ((uint16_t)(((orig) & 0x3fffu) | ((unsigned)(cls) << 14)))
#define META_ORIG(m) ((m) & 0x3fffu)
#define META_CLS(m) ((m) >> 14)

struct sink {
	char *out;
	uint16_t *meta; /* may be NULL */
	size_t n, cap;  /* cap excludes the final NUL */
	int pend;       /* ' ' or '\n' waiting for the next visible character */
	int keepnl;     /* newlines survive (they end sentences in norm_text) */
	int full;
};

static void put_space(struct sink *k, int nl)
{
	if (nl && k->keepnl)
		k->pend = '\n';
	else if (!k->pend)
		k->pend = ' ';
}

/* Writes the n bytes of one character (after a pending space), or nothing
 * at all when it does not fit: the output never ends in half a character. */
static void put_bytes(struct sink *k, const char *b, size_t n, unsigned orig, int cls)
{
	int sp = k->pend && k->n;

	if (k->full)
		return;
	if (k->n + n + (size_t)sp > k->cap) {
		k->full = 1;
		return;
	}
	if (sp) {
		if (k->meta)
			k->meta[k->n] = META(orig, CLS_NONE);
		k->out[k->n++] = (char)k->pend;
	}
	k->pend = 0;
	for (size_t i = 0; i < n; i++) {
		if (k->meta)
			k->meta[k->n] = META(orig, cls);
		k->out[k->n++] = b[i];
	}
}

/* cls is the case of the source character (CLS_NONE: take the ASCII one). */
static void put_ascii(struct sink *k, unsigned char c, unsigned orig, int cls)
{
	char ch;

	if (c >= 'A' && c <= 'Z') {
		ch = (char)(c + 32);
		put_bytes(k, &ch, 1, orig, cls ? cls : CLS_UPPER);
		return;
	}
	if (ISLOW(c)) {
		ch = (char)c;
		put_bytes(k, &ch, 1, orig, cls ? cls : CLS_LOWER);
		return;
	}
	switch (c) {
	case '\n':
		put_space(k, 1);
		return;
	case ' ': case '\t': case '\r': case '\v': case '\f': case '"':
		put_space(k, 0);
		return;
	case '`':
		c = '\'';
		break;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f)
		return; /* control characters carry nothing */
	ch = (char)c;
	put_bytes(k, &ch, 1, orig, CLS_NONE);
}

/* What typing habits need beyond NFKC + case fold + accent stripping.
 * Returns 1 and sets *rep ("" = drop, " " = space, "\n" = line break)
 * when cp is handled here, 0 when utf8proc decides. */
static int special_cp(int32_t cp, const char **rep)
{
	switch (cp) {
	/* apostrophes of every keyboard and phone */
	case 0x2019: case 0x2018: case 0x201B: case 0x02BC: case 0x02BB:
	case 0x00B4: case 0x2032: case 0x02B9: case 0xFF07:
		*rep = "'";
		return 1;
	/* dashes and minus signs */
	case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
	case 0x2015: case 0x2212: case 0x2043: case 0xFE58: case 0xFE63:
	case 0xFF0D:
		*rep = "-";
		return 1;
	/* guillemets and other quotes: word boundaries only */
	case 0x00AB: case 0x00BB: case 0x201C: case 0x201D: case 0x201E:
	case 0x201F: case 0x2039: case 0x203A: case 0xFF02: case 0x2033:
	case 0xFFFD:
		*rep = " ";
		return 1;
	/* spaces: NBSP and narrow NBSP are what French typography puts before
	 * "?" and ":" */
	case 0x00A0: case 0x202F: case 0x205F: case 0x3000: case 0x1680:
		*rep = " ";
		return 1;
	case 0x0085: case 0x2028: case 0x2029:
		*rep = "\n";
		return 1;
	/* invisible: zero-width, bidi controls, BOM, soft hyphen */
	case 0x00AD: case 0x180E: case 0xFEFF:
		*rep = "";
		return 1;
	/* ligatures and letters without a decomposition */
	case 0x0153: case 0x0152:
		*rep = "oe";
		return 1;
	case 0x00E6: case 0x00C6:
		*rep = "ae";
		return 1;
	case 0x00DF: case 0x1E9E:
		*rep = "ss";
		return 1;
	case 0x00F8: case 0x00D8:
		*rep = "o";
		return 1;
	case 0x0142: case 0x0141:
		*rep = "l";
		return 1;
	case 0x0111: case 0x0110: case 0x00F0: case 0x00D0:
		*rep = "d";
		return 1;
	case 0x00FE: case 0x00DE:
		*rep = "th";
		return 1;
	default:
		break;
	}
	if ((cp >= 0x2000 && cp <= 0x200A)) {
		*rep = " ";
		return 1;
	}
	if ((cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2060 && cp <= 0x2069)) {
		*rep = "";
		return 1;
	}
	return 0;
}

static int cp_class(int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);

	if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT)
		return CLS_UPPER;
	if (c == UTF8PROC_CATEGORY_LL)
		return CLS_LOWER;
	return CLS_NONE;
}

static void put_rep(struct sink *k, const char *rep, unsigned orig, int cls)
{
	if (!*rep)
		return;
	if (rep[0] == ' ' || rep[0] == '\n') {
		put_space(k, rep[0] == '\n');
		return;
	}
	if (rep[1]) /* "oe", "ss": lowercase letters, written whole or not at all */
		put_bytes(k, rep, strlen(rep), orig, cls ? cls : CLS_LOWER);
	else
		put_ascii(k, (unsigned char)*rep, orig, cls);
}

/* One non-ASCII code point: special table, else utf8proc (compatibility
 * decomposition, case fold, marks stripped, default-ignorables dropped),
 * recomposed so that what is left (Hangul, ...) is NFKC again. */
static void put_cp(struct sink *k, int32_t cp, unsigned orig)
{
	const char *rep;
	int cls = cp_class(cp);
	utf8proc_int32_t d[32];
	int bc = 0;
	utf8proc_ssize_t nd;
	int nonascii = 0;

	size_t n0 = k->n;

	if (special_cp(cp, &rep)) {
		put_rep(k, rep, orig, cls);
		return;
	}
	nd = utf8proc_decompose_char(cp, d, 32, UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
				     UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE, &bc);
	if (nd < 0 || nd > 32)
		return;
	for (utf8proc_ssize_t i = 0; i < nd; i++)
		nonascii += d[i] >= 0x80;
	if (nonascii && nd > 1) {
		nd = utf8proc_normalize_utf32(d, nd, UTF8PROC_COMPOSE);
		if (nd < 0)
			return;
	}
	for (utf8proc_ssize_t i = 0; i < nd; i++) {
		int32_t c = d[i];
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t ne;

		if (c < 0x80) {
			put_ascii(k, (unsigned char)c, orig, ISLOW(c) || (c >= 'A' && c <= 'Z') ? cls : CLS_NONE);
			continue;
		}
		if (special_cp(c, &rep)) {
			put_rep(k, rep, orig, cls);
			continue;
		}
		switch (utf8proc_category(c)) {
		case UTF8PROC_CATEGORY_ZS:
			put_space(k, 0);
			continue;
		case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
			put_space(k, 1);
			continue;
		case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF:
			continue;
		case UTF8PROC_CATEGORY_PD:
			put_ascii(k, '-', orig, CLS_NONE);
			continue;
		case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
			put_space(k, 0);
			continue;
		default:
			break;
		}
		ne = utf8proc_encode_char(c, enc);
		if (ne > 0)
			put_bytes(k, (const char *)enc, (size_t)ne, orig, cls);
	}
	/* "ﬁ" -> "fi" is one character: none of it when it did not all fit */
	if (k->full)
		k->n = n0;
}

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF).  Returns the sequence length, 0 when s[0] starts none. */
static size_t utf8_dec(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned c = s[0];
	size_t l;
	int32_t v, min;

	if (c < 0x80) {
		*cp = (int32_t)c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		l = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		l = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		l = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (l > n)
		return 0;
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return l;
}

/* A Latin-1 byte for a lowercase French accented letter (a-grave ...
 * u-diaeresis): what an old terminal sends for "validee" with accents. */
static int latin1_french(unsigned char c)
{
	switch (c) {
	case 0xE0: case 0xE2: case 0xE4: case 0xE7: case 0xE8: case 0xE9:
	case 0xEA: case 0xEB: case 0xEE: case 0xEF: case 0xF4: case 0xF6:
	case 0xF9: case 0xFB: case 0xFC:
		return 1;
	default:
		return 0;
	}
}

/* Folds in[0..len) into the sink; returns 1 when invalid UTF-8 was met.
 * An invalid byte becomes a space, except a lone Latin-1 French letter
 * (no continuation byte after it), read as such so the word survives:
 * "valid\xe9e" -> "validee". */
static int fold_run(struct sink *k, const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	int bad = 0;
	size_t i = 0;

	while (i < len && !k->full) {
		int32_t cp;
		size_t l;

		if ((ISLOW(s[i]) || ISDIG(s[i])) && !k->pend && k->n < k->cap) {
			/* the common case, without the checks of put_bytes */
			if (k->meta)
				k->meta[k->n] = META(i, ISLOW(s[i]) ? CLS_LOWER : CLS_NONE);
			k->out[k->n++] = (char)s[i++];
			continue;
		}
		if (s[i] < 0x80) {
			put_ascii(k, s[i], (unsigned)i, CLS_NONE);
			i++;
			continue;
		}
		l = utf8_dec(s + i, len - i, &cp);
		if (l) {
			put_cp(k, cp, (unsigned)i);
			i += l;
			continue;
		}
		bad = 1;
		if (latin1_french(s[i]) && (i + 1 == len || (s[i + 1] & 0xC0) != 0x80))
			put_cp(k, s[i], (unsigned)i);
		else
			put_space(k, 0);
		i++;
	}
	return bad;
}

size_t norm_fold(const char *in, size_t len, char *out, size_t outsz, int *invalid)
{
	struct sink k = {0};
	int bad;

	if (invalid)
		*invalid = 0;
	if (!out || outsz == 0)
		return 0;
	k.out = out;
	k.cap = outsz - 1;
	bad = in ? fold_run(&k, in, len) : 0;
	out[k.n] = '\0';
	if (invalid)
		*invalid = bad;
	return k.n;
}

/* ------------------------------------------------------------ tokenise */

struct tokout {
	char *buf;
	size_t cap, used;
	struct token *tok;
	int max, n;
	int overflow; /* more tokens than max, or text beyond buf */
};

static int push_token(struct tokout *o, const char *s, unsigned len, unsigned flags,
		      unsigned orig, unsigned sent)
{
	struct token *t;

	if (o->n >= o->max || o->used + len + 1 > o->cap) {
		o->overflow = 1;
		return -1;
	}
	t = &o->tok[o->n++];
	memcpy(o->buf + o->used, s, len);
	o->buf[o->used + len] = '\0';
	t->s = o->buf + o->used;
	t->len = len;
	t->flags = flags;
	t->orig = orig;
	t->sent = sent;
	o->used += len + 1;
	return 0;
}

/* Splits folded text into tokens, e.g.
 * "qu'il sera-t-elle visible le 12/11, 14h30 aujourd'hui ?" ->
 * qu | il | sera | t | elle | visible | le | 12/11 (DATE) | 14h30 |
 * aujourdhui.  meta may be NULL (orig is then the folded offset). */
static void tokenise(const char *f, const uint16_t *meta, size_t n, struct tokout *o)
{
	size_t i = 0;
	unsigned sent = 0;
	int brk = 0;

	while (i < n) {
		unsigned char c = (unsigned char)f[i];
		size_t s = i;
		unsigned fl = 0, up = 0, low = 0;

		if (ISDIG(c)) {
			int date = 0;

			while (i < n && ISDIG(f[i]))
				i++;
			/* "12/11/2026", "5-02", "24.12.2026": one token for datex */
			while (i + 1 < n && (f[i] == '/' || f[i] == '.' || f[i] == '-') &&
			       ISDIG(f[i + 1])) {
				date = 1;
				for (i++; i < n && ISDIG(f[i]); i++)
					;
			}
			if (date) {
				fl = TOK_DATE;
			} else if (i + 1 < n && f[i] == ':' && ISDIG(f[i + 1])) {
				for (i++; i < n && ISDIG(f[i]); i++) /* "14:30", a time */
					;
			} else if (i < n && ISLOW(f[i])) {
				while (i < n && (ISLOW(f[i]) || ISDIG(f[i]))) /* 1er 14h30 48h */
					i++;
			} else {
				fl = TOK_NUM;
			}
		} else if (ISLOW(c)) {
			while (i < n && ISLOW(f[i]))
				i++;
		} else {
			if (c == '.' || c == '!' || c == '?' || c == ';' || c == ':' || c == '\n')
				brk = o->n > 0;
			i++;
			continue;
		}
		if (meta) {
			for (size_t j = s; j < i; j++) {
				unsigned cl = META_CLS(meta[j]);
				up += cl == CLS_UPPER;
				low += cl == CLS_LOWER;
			}
			if (low == 0 && up >= 2)
				fl |= TOK_UPPER;
		}
		if (brk) {
			sent++;
			brk = 0;
		}
		/* "aujourd'hui" and "aujourd hui" are one word */
		if (i - s == 3 && !memcmp(f + s, "hui", 3) && o->n > 0) {
			struct token *p = &o->tok[o->n - 1];

			if (p->sent == sent && p->len == 7 && !memcmp(p->s, "aujourd", 7) &&
			    o->used + 3 <= o->cap) {
				memcpy(o->buf + o->used - 1, "hui", 4);
				o->used += 3;
				p->len = 10;
				p->flags &= fl | ~(unsigned)TOK_UPPER;
				continue;
			}
		}
		if (push_token(o, f + s, (unsigned)(i - s), fl,
			       meta ? META_ORIG(meta[s]) : (unsigned)s, sent) < 0)
			return;
	}
}

/* ------------------------------------------------------------- lexicon */

struct lent {
	uint32_t off;   /* NUL-terminated text in the arena */
	uint32_t hash;
	uint16_t len;
	uint8_t flags;  /* LEX_KNOWN, LEX_KEEP */
	int32_t rule;   /* first rewrite rule starting with this word, or -1 */
	uint32_t rank;  /* order of lexicon_add_word: the earlier wins a typo tie */
};

struct rule {
	uint32_t from[RULE_MAX], to[RULE_MAX]; /* entry indices */
	uint8_t tofl[RULE_MAX];                /* TOK_NUM / TOK_DATE of `to` tokens */
	uint8_t nfrom, nto;
	int32_t next;                          /* same first word; longer first */
};

struct lexicon {
	char *arena;
	size_t asz, acap;
	struct lent *ent;
	uint32_t nent, entcap;
	uint32_t *tab; /* open addressing: entry index + 1, 0 = empty */
	uint32_t tabmask;
	struct rule *rules;
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
 * every candidate is checked by norm_edit_distance anyway. */
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
static int lex_tokens(const char *text, char *buf, size_t bufsz, struct token *tok, int max)
{
	char f[LEX_WORD_MAX + 1];
	size_t len = strlen(text), n;
	int bad;
	struct tokout o = { buf, bufsz, 0, tok, max, 0, 0 };

	if (len > LEX_WORD_MAX)
		return -1;
	n = norm_fold(text, len, f, sizeof f, &bad);
	if (bad)
		return -1;
	tokenise(f, NULL, n, &o);
	return o.overflow ? -1 : o.n;
}

/* One folded word for add_word / add_keep / has_word; -1 when the text
 * is not exactly one letters-only token. */
static int lex_one_word(const char *word, char *buf, size_t bufsz, unsigned *len)
{
	struct token t[2];

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
	struct token ft[RULE_MAX + 1], tt[RULE_MAX + 1];
	int nf, nt;
	int32_t first;
	struct rule r;

	if (!lx || !from || !to) {
		seterr(err, errlen, "%s", "rewrite rule: missing argument");
		return -1;
	}
	nf = lex_tokens(from, fb, sizeof fb, ft, RULE_MAX + 1);
	nt = lex_tokens(to, tb, sizeof tb, tt, RULE_MAX + 1);
	if (nf < 0 || nt < 0) {
		seterr(err, errlen, "rewrite rule \"%s\": invalid UTF-8 or text too long", from);
		return -1;
	}
	if (nf == 0) {
		seterr(err, errlen, "rewrite rule \"%s\": nothing to rewrite (the left side has no word)", from);
		return -1;
	}
	if (nf > RULE_MAX || nt > RULE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "rewrite rule \"%s\": at most %d words on each side", from, RULE_MAX);
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
		r.tofl[i] = (uint8_t)(tt[i].flags & (TOK_NUM | TOK_DATE));
	}
	first = (int32_t)r.from[0];
	for (int32_t q = lx->ent[first].rule; q >= 0; q = lx->rules[q].next) {
		const struct rule *o = &lx->rules[q];

		if (o->nfrom == r.nfrom && !memcmp(o->from, r.from, nf * sizeof r.from[0])) {
			seterr(err, errlen, "rewrite rule \"%s\": defined twice; keep one", from);
			return -1;
		}
	}
	if (lx->nrules == lx->rulecap) {
		uint32_t nc = lx->rulecap ? lx->rulecap * 2 : 64;
		struct rule *nr;

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

int norm_edit_distance(const char *a, size_t la, const char *b, size_t lb, int max)
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

/* ------------------------------------------------------------ pipeline */

struct pipe {
	struct ntext *nt;
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

static const struct rule *rule_match(const struct lexicon *lx, const struct pipe *p, int i)
{
	const struct ntext *nt = p->nt;

	if (p->ent[i] < 0)
		return NULL;
	for (int32_t q = lx->ent[p->ent[i]].rule; q >= 0; q = lx->rules[q].next) {
		const struct rule *r = &lx->rules[q];
		int k;

		if (i + r->nfrom > nt->ntok)
			continue;
		for (k = 1; k < r->nfrom; k++)
			if (p->ent[i + k] != (int32_t)r->from[k] ||
			    nt->tok[i + k].sent != nt->tok[i].sent)
				break;
		if (k == r->nfrom)
			return r;
	}
	return NULL;
}

/* One left-to-right pass, longest rule first; output is not rewritten
 * again, so rules cannot loop. */
static void pipe_rewrite(const struct lexicon *lx, struct pipe *p)
{
	struct ntext *nt = p->nt;
	struct token out[NORM_MAX_TOKENS];
	int32_t oent[NORM_MAX_TOKENS];
	int m = 0, i = 0;

	/* a rule may lengthen the text: what no longer fits is dropped */
	while (i < nt->ntok && m < NORM_MAX_TOKENS) {
		const struct rule *r = rule_match(lx, p, i);
		size_t need = 0;

		if (r)
			for (int k = 0; k < r->nto; k++)
				need += lx->ent[r->to[k]].len + 1;
		if (!r || m + r->nto > NORM_MAX_TOKENS || p->used + need > sizeof nt->buf) {
			out[m] = nt->tok[i];
			oent[m++] = p->ent[i++];
			continue;
		}
		for (int k = 0; k < r->nto; k++) {
			const struct lent *en = &lx->ent[r->to[k]];
			struct token *t = &out[m];

			t->s = pipe_str(p, lx->arena + en->off, en->len);
			t->len = en->len;
			t->flags = TOK_FIXED | r->tofl[k] | (nt->tok[i].flags & TOK_UPPER);
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
	struct ntext *nt = p->nt;

	for (int i = 0; i < nt->ntok && nt->ntok < NORM_MAX_TOKENS; i++) {
		struct token *t = &nt->tok[i];
		const char *je, *rest;

		if (p->ent[i] >= 0 || t->flags & (TOK_NUM | TOK_DATE | TOK_FIXED) || t->len < 4 ||
		    t->s[0] != 'j' || !ISLOW(t->s[1]) || strchr("aeiouyh", t->s[1]))
			continue;
		if (!(je = pipe_str(p, "je", 2)) || !(rest = pipe_str(p, t->s + 1, t->len - 1)))
			return;
		memmove(&nt->tok[i + 1], &nt->tok[i], (size_t)(nt->ntok - i) * sizeof nt->tok[0]);
		memmove(&p->ent[i + 1], &p->ent[i], (size_t)(nt->ntok - i) * sizeof p->ent[0]);
		nt->ntok++;
		nt->tok[i].s = je;
		nt->tok[i].len = 2;
		p->ent[i] = lex_find(lx, je, 2, hash32(fnv(FNV_OFF, je, 2)));
		nt->tok[i + 1].s = rest;
		nt->tok[i + 1].len--;
		p->ent[i + 1] = lex_find(lx, rest, nt->tok[i + 1].len,
					 hash32(fnv(FNV_OFF, rest, nt->tok[i + 1].len)));
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

static int tokval(const struct token *t)
{
	if (t->flags & (TOK_NUM | TOK_DATE) || !ISLOW(t->s[0]))
		return -1;
	return numword(t->s, t->len);
}

/* Number phrase starting at token i: returns the tokens it spans (0 when
 * none) and its value, e.g. "quatre vingt dix sept" -> 4 tokens, 97.
 * Hyphenated forms arrive split ("vingt-deux" -> vingt deux) and join
 * back here.  Every token must be in the same sentence. */
static int parse_number(const struct token *t, int n, int i, int *val)
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
	struct ntext *nt = p->nt;
	int w = 0, i = 0;

	while (i < nt->ntok) {
		int val = 0, k = parse_number(nt->tok, nt->ntok, i, &val);
		char d[12];
		const char *s;

		/* "le 12 sept": the month, not 7 (datex reads it) */
		if (k == 1 && val == 7 && w > 0 && ISDIG(nt->tok[w - 1].s[0]) &&
		    !(nt->tok[w - 1].flags & TOK_DATE))
			k = 0;
		if (k > 0) {
			snprintf(d, sizeof d, "%d", val);
			s = pipe_str(p, d, strlen(d));
			if (s) {
				nt->tok[w] = nt->tok[i];
				nt->tok[w].s = s;
				nt->tok[w].len = (unsigned)strlen(d);
				nt->tok[w].flags = TOK_NUM | TOK_NUMWORD;
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
		d = norm_edit_distance(z->s, z->len, lx->arena + en->off, en->len, z->maxd);
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

static void pipe_typos(const struct lexicon *lx, struct pipe *p)
{
	struct ntext *nt = p->nt;

	for (int i = 0; i < nt->ntok; i++) {
		struct token *t = &nt->tok[i];
		int32_t e = -1;
		const struct lent *en;
		const char *s;

		/* known words, rule words, numbers, dates and number words stay */
		if (p->ent[i] >= 0 || t->flags & (TOK_NUM | TOK_DATE | TOK_FIXED) ||
		    !ISLOW(t->s[0]) || t->len < 3 || t->len > FUZZ_MAX ||
		    numword(t->s, t->len) >= 0)
			continue;
		e = squeeze(lx, t->s, t->len);
		if (e < 0 && t->len >= FUZZ_MIN)
			e = fuzzy(lx, t->s, t->len);
		if (e < 0)
			continue;
		en = &lx->ent[e];
		s = pipe_str(p, lx->arena + en->off, en->len);
		if (!s)
			continue;
		t->s = s;
		t->len = en->len;
		t->flags |= TOK_FIXED;
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

void norm_text(const struct lexicon *lx, const char *in, size_t len, struct ntext *out)
{
	char f[sizeof out->buf];
	uint16_t meta[sizeof out->buf];
	struct sink k = {0};
	struct tokout o;
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
	o.buf = out->buf;
	o.cap = sizeof out->buf;
	o.used = 0;
	o.tok = out->tok;
	o.max = NORM_MAX_TOKENS;
	o.n = 0;
	o.overflow = 0;
	if (one_word(in, cut)) {
		/* one lowercase ASCII word (what the intent loader passes, term
		 * by term) folds and tokenises to itself */
		push_token(&o, in, (unsigned)cut, 0, 0, 0);
	} else {
		k.out = f;
		k.meta = meta;
		k.cap = sizeof f - 1;
		k.keepnl = 1;
		out->invalid_utf8 = fold_run(&k, in, cut);
		tokenise(f, meta, k.n, &o);
	}
	out->ntok = o.n;

	p.nt = out;
	p.used = o.used;
	if (lx && lx->tab) {
		for (int i = 0; i < out->ntok; i++)
			p.ent[i] = lex_find(lx, out->tok[i].s, out->tok[i].len,
					    hash32(fnv(FNV_OFF, out->tok[i].s, out->tok[i].len)));
		if (lx->nrules)
			pipe_rewrite(lx, &p);
		pipe_elision(lx, &p);
		pipe_typos(lx, &p);
	} else {
		for (int i = 0; i < out->ntok; i++)
			p.ent[i] = -1;
	}
	pipe_numbers(&p);
}
