/* fold.c - canonical text (fold.h): Unicode folded character by character
 * with utf8proc plus a table of what typing habits need (phone apostrophes,
 * NBSP, ligatures), then the tokeniser whose conventions datex.c and
 * intent.c rely on.  UTF-8 is decoded by utf8.c; invalid bytes never stop
 * the fold.  Nothing is allocated. */

#include "fold.h"

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#include "utf8.h"

#define ISLOW(c) ((c) >= 'a' && (c) <= 'z')
#define ISDIG(c) ((c) >= '0' && (c) <= '9')

/* Case class of the source character of each folded byte, packed with its
 * input offset (< 2^14: fold_tokens reads no further) for FOLD_TOK_UPPER and
 * token.orig. */
enum { CLS_NONE = 0, CLS_UPPER = 1, CLS_LOWER = 2 };
#define META(orig, cls) ((uint16_t)(((orig) & 0x3fffu) | ((unsigned)(cls) << 14)))
#define META_ORIG(m) ((m) & 0x3fffu)
#define META_CLS(m) ((m) >> 14)

struct sink {
	char *out;
	uint16_t *meta; /* may be NULL */
	size_t n, cap;  /* cap excludes the final NUL */
	int pend;       /* ' ' or '\n' waiting for the next visible character */
	int keepnl;     /* newlines survive (they end sentences) */
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
		l = utf8_decode(in + i, len - i, &cp);
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

size_t fold_text(const char *in, size_t len, char *out, size_t outsz, int *invalid)
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

static int push_token(struct fold_tokens *o, const char *s, unsigned len, unsigned flags,
		      unsigned orig, unsigned sent)
{
	struct fold_token *t;

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

/* fold_tokenise, with meta (may be NULL) giving each folded byte's source
 * offset and case class. */
static void tokenise(const char *f, const uint16_t *meta, size_t n, struct fold_tokens *o)
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
				fl = FOLD_TOK_DATE;
			} else if (i + 1 < n && f[i] == ':' && ISDIG(f[i + 1])) {
				for (i++; i < n && ISDIG(f[i]); i++) /* "14:30", a time */
					;
			} else if (i < n && ISLOW(f[i])) {
				while (i < n && (ISLOW(f[i]) || ISDIG(f[i]))) /* 1er 14h30 48h */
					i++;
			} else {
				fl = FOLD_TOK_NUM;
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
				fl |= FOLD_TOK_UPPER;
		}
		if (brk) {
			sent++;
			brk = 0;
		}
		/* "aujourd'hui" and "aujourd hui" are one word */
		if (i - s == 3 && !memcmp(f + s, "hui", 3) && o->n > 0) {
			struct fold_token *p = &o->tok[o->n - 1];

			if (p->sent == sent && p->len == 7 && !memcmp(p->s, "aujourd", 7) &&
			    o->used + 3 <= o->cap) {
				memcpy(o->buf + o->used - 1, "hui", 4);
				o->used += 3;
				p->len = 10;
				p->flags &= fl | ~(unsigned)FOLD_TOK_UPPER;
				continue;
			}
		}
		if (push_token(o, f + s, (unsigned)(i - s), fl,
			       meta ? META_ORIG(meta[s]) : (unsigned)s, sent) < 0)
			return;
	}
}

void fold_tokenise(const char *f, size_t n, struct fold_tokens *o)
{
	tokenise(f, NULL, n, o);
}

int fold_tokens(const char *in, size_t len, struct fold_tokens *o)
{
	char f[FOLD_MAX_TEXT];
	uint16_t meta[FOLD_MAX_TEXT];
	struct sink k = {0};
	int bad;

	if (!in || !o->cap)
		return 0;
	if (len > META_ORIG(~0u)) /* offsets must fit META's 14 bits */
		len = META_ORIG(~0u);
	k.out = f;
	k.meta = meta;
	k.cap = (o->cap < sizeof f ? o->cap : sizeof f) - 1;
	k.keepnl = 1;
	bad = fold_run(&k, in, len);
	tokenise(f, meta, k.n, o);
	return bad;
}
