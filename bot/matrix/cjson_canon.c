/* cjson_canon.c - Matrix canonical JSON from a cJSON tree, and a checked
 * parse that refuses what cJSON would otherwise round silently (floats,
 * integers past 2^53-1).  Does no signing (e2ee.c) and no I/O.  The rules
 * are the spec's appendix "Canonical JSON"; the reference used by the
 * tests is python3-canonicaljson (tests/e2ee/canon.py). */
#include "canonjson.h"
#include "utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cbuf {
	char *p;
	size_t len, cap;
	int bad; /* sticky: too long or out of memory */
};

static void cb_put(struct cbuf *b, const char *s, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n + 1 > CANONJSON_MAX_LEN) {
		b->bad = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->bad = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void cb_c(struct cbuf *b, char c) { cb_put(b, &c, 1); }

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int put_string(struct cbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	cb_c(b, '"');
	while (*s) {
		unsigned c = *s;
		if (c >= 0x80) {
			size_t n = utf8_seq((const char *)s, strnlen((const char *)s, 4));
			if (!n)
				return -1;
			cb_put(b, (const char *)s, n);
			s += n;
			continue;
		}
		switch (c) {
		case '"': cb_put(b, "\\\"", 2); break;
		case '\\': cb_put(b, "\\\\", 2); break;
		case '\b': cb_put(b, "\\b", 2); break;
		case '\f': cb_put(b, "\\f", 2); break;
		case '\n': cb_put(b, "\\n", 2); break;
		case '\r': cb_put(b, "\\r", 2); break;
		case '\t': cb_put(b, "\\t", 2); break;
		default:
			if (c < 0x20) {
				/* lower-case hex, as the spec's grammar and Python's json do */
				char e[8];
				snprintf(e, sizeof e, "\\u%04x", c);
				cb_put(b, e, 6);
			} else {
				cb_c(b, (char)c);
			}
		}
		s++;
	}
	cb_c(b, '"');
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	/* strcmp compares as unsigned char: UTF-8 byte order = code point order */
	return strcmp(x->string, y->string);
}

static int put_value(struct cbuf *b, const cJSON *j, int depth, int signable)
{
	if (depth > CANONJSON_MAX_DEPTH)
		return -1;
	switch (j->type & 0xff) {
	case cJSON_NULL: cb_put(b, "null", 4); return 0;
	case cJSON_True: cb_put(b, "true", 4); return 0;
	case cJSON_False: cb_put(b, "false", 5); return 0;
	case cJSON_String:
		return j->valuestring ? put_string(b, j->valuestring) : -1;
	case cJSON_Number: {
		double d = j->valuedouble;
		if (!isfinite(d) || d != floor(d) || fabs(d) > (double)CANONJSON_MAX_INT)
			return -1;
		char num[32];
		int n = snprintf(num, sizeof num, "%lld", (long long)d);
		cb_put(b, num, (size_t)n);
		return 0;
	}
	case cJSON_Array: {
		cb_c(b, '[');
		int first = 1;
		for (const cJSON *c = j->child; c; c = c->next) {
			if (!first)
				cb_c(b, ',');
			first = 0;
			if (put_value(b, c, depth + 1, 0) < 0)
				return -1;
		}
		cb_c(b, ']');
		return 0;
	}
	case cJSON_Object: {
		size_t n = 0, k = 0;
		for (const cJSON *c = j->child; c; c = c->next)
			n++;
		const cJSON **v = NULL;
		if (n && !(v = malloc(n * sizeof *v)))
			return -1;
		for (const cJSON *c = j->child; c; c = c->next) {
			if (!c->string) {
				free(v);
				return -1;
			}
			if (signable && (!strcmp(c->string, "signatures") || !strcmp(c->string, "unsigned")))
				continue;
			v[k++] = c;
		}
		if (k > 1)
			qsort(v, k, sizeof *v, cmp_keys);
		int rc = 0;
		cb_c(b, '{');
		for (size_t i = 0; i < k && rc == 0; i++) {
			/* a duplicate key means two readers may see two documents */
			if (i && !strcmp(v[i - 1]->string, v[i]->string)) {
				rc = -1;
				break;
			}
			if (i)
				cb_c(b, ',');
			if (put_string(b, v[i]->string) < 0) {
				rc = -1;
				break;
			}
			cb_c(b, ':');
			rc = put_value(b, v[i], depth + 1, 0);
		}
		cb_c(b, '}');
		free(v);
		return rc;
	}
	default:
		return -1; /* cJSON_Raw, cJSON_Invalid: unknown text */
	}
}

char *canonjson_print(const cJSON *j, int signable)
{
	if (!j)
		return NULL;
	struct cbuf b = {0};
	if (put_value(&b, j, 0, signable) < 0 || b.bad || !b.p) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* The pre-scan: cJSON turns 1.5 and 1e300 into doubles and
 * 12345678901234567890 into a rounded one without a word, so numbers are
 * checked on the text first. */
static int prescan(const char *s, size_t len, char *err, size_t errlen)
{
	int depth = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\') {
					if (i + 5 < len && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4)) {
						seterr(err, errlen, "\\u0000 in a string at byte %zu is not supported", i);
						return -1;
					}
					i++;
				} else if (s[i] == '\0') {
					seterr(err, errlen, "NUL byte in a string at byte %zu", i);
					return -1;
				}
			}
			continue;
		}
		if (c == '[' || c == '{') {
			if (++depth > CANONJSON_MAX_DEPTH) {
				seterr(err, errlen, "JSON nested deeper than %d", CANONJSON_MAX_DEPTH);
				return -1;
			}
		} else if (c == ']' || c == '}') {
			depth--;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t st = i, nd = 0;
			int neg = c == '-';
			if (neg)
				i++;
			uint64_t v = 0;
			for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
				if (nd < 17)
					v = v * 10 + (uint64_t)(s[i] - '0');
			}
			if (i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
				seterr(err, errlen, "float not allowed in canonical JSON at byte %zu", st);
				return -1;
			}
			if (nd == 0) {
				seterr(err, errlen, "malformed number at byte %zu", st);
				return -1;
			}
			if (nd > 16 || v > (uint64_t)CANONJSON_MAX_INT) {
				seterr(err, errlen, "integer out of the canonical JSON range at byte %zu", st);
				return -1;
			}
			i--;
		}
	}
	return 0;
}

cJSON *canonjson_parse(const char *s, size_t len, char *err, size_t errlen)
{
	if (!s) {
		seterr(err, errlen, "no JSON");
		return NULL;
	}
	if (prescan(s, len, err, errlen) < 0)
		return NULL;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j) {
		seterr(err, errlen, "malformed JSON near byte %zu", end ? (size_t)(end - s) : (size_t)0);
		return NULL;
	}
	/* trailing garbage other than whitespace is an error */
	for (const char *p = end; p && p < s + len && *p; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			seterr(err, errlen, "trailing data after JSON at byte %zu", (size_t)(p - s));
			cJSON_Delete(j);
			return NULL;
		}
	}
	return j;
}

char *canonjson_encode(const char *s, size_t len, char *err, size_t errlen)
{
	cJSON *j = canonjson_parse(s, len, err, errlen);
	if (!j)
		return NULL;
	char *out = canonjson_print(j, 0);
	cJSON_Delete(j);
	if (!out)
		seterr(err, errlen, "not representable as canonical JSON (invalid UTF-8, duplicate key or too long)");
	return out;
}
