/* canonjson.c - Matrix canonical JSON from a cJSON tree, and a checked
 * parse that refuses what cJSON would otherwise round silently (floats,
 * integers past 2^53-1).  Does no signing (e2ee.c) and no I/O.  The rules
 * are the spec's appendix "Canonical JSON"; the reference used by the
 * tests is python3-canonicaljson (tests/e2ee/canon.py). */
#include "canonjson.h"
#include "buf.h"
#include "errmsg.h"
#include "utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>




static int put_string(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_addc(b, '"');
	while (*s) {
		unsigned c = *s;
		if (c >= 0x80) {
			size_t n = utf8_seq((const char *)s, strnlen((const char *)s, 4));
			if (!n)
				return -1;
			buf_add(b, (const char *)s, n);
			s += n;
			continue;
		}
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default:
			if (c < 0x20) {
				/* lower-case hex, as the spec's grammar and Python's json do */
				char e[8];
				snprintf(e, sizeof e, "\\u%04x", c);
				buf_add(b, e, 6);
			} else {
				buf_addc(b, (char)c);
			}
		}
		s++;
	}
	buf_addc(b, '"');
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	/* strcmp compares as unsigned char: UTF-8 byte order = code point order */
	return strcmp(x->string, y->string);
}

static int put_value(struct buf *b, const cJSON *j, int depth, int signable)
{
	if (depth > CANONJSON_MAX_DEPTH)
		return -1;
	switch (j->type & 0xff) {
	case cJSON_NULL: buf_add(b, "null", 4); return 0;
	case cJSON_True: buf_add(b, "true", 4); return 0;
	case cJSON_False: buf_add(b, "false", 5); return 0;
	case cJSON_String:
		return j->valuestring ? put_string(b, j->valuestring) : -1;
	case cJSON_Number: {
		double d = j->valuedouble;
		if (!isfinite(d) || d != floor(d) || fabs(d) > (double)CANONJSON_MAX_INT)
			return -1;
		char num[32];
		int n = snprintf(num, sizeof num, "%lld", (long long)d);
		buf_add(b, num, (size_t)n);
		return 0;
	}
	case cJSON_Array: {
		buf_addc(b, '[');
		int first = 1;
		for (const cJSON *c = j->child; c; c = c->next) {
			if (!first)
				buf_addc(b, ',');
			first = 0;
			if (put_value(b, c, depth + 1, 0) < 0)
				return -1;
		}
		buf_addc(b, ']');
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
		buf_addc(b, '{');
		for (size_t i = 0; i < k && rc == 0; i++) {
			/* a duplicate key means two readers may see two documents */
			if (i && !strcmp(v[i - 1]->string, v[i]->string)) {
				rc = -1;
				break;
			}
			if (i)
				buf_addc(b, ',');
			if (put_string(b, v[i]->string) < 0) {
				rc = -1;
				break;
			}
			buf_addc(b, ':');
			rc = put_value(b, v[i], depth + 1, 0);
		}
		buf_addc(b, '}');
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
	struct buf b;
	buf_init(&b, CANONJSON_MAX_LEN - 1);
	if (put_value(&b, j, 0, signable) < 0 || b.err || !b.p) {
		buf_free(&b);
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
						errmsg_set(err, errlen, "\\u0000 in a string at byte %zu is not supported", i);
						return -1;
					}
					i++;
				} else if (s[i] == '\0') {
					errmsg_set(err, errlen, "NUL byte in a string at byte %zu", i);
					return -1;
				}
			}
			continue;
		}
		if (c == '[' || c == '{') {
			if (++depth > CANONJSON_MAX_DEPTH) {
				errmsg_set(err, errlen, "JSON nested deeper than %d", CANONJSON_MAX_DEPTH);
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
				errmsg_set(err, errlen, "float not allowed in canonical JSON at byte %zu", st);
				return -1;
			}
			if (nd == 0) {
				errmsg_set(err, errlen, "malformed number at byte %zu", st);
				return -1;
			}
			if (nd > 16 || v > (uint64_t)CANONJSON_MAX_INT) {
				errmsg_set(err, errlen, "integer out of the canonical JSON range at byte %zu", st);
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
		errmsg_set(err, errlen, "no JSON");
		return NULL;
	}
	if (prescan(s, len, err, errlen) < 0)
		return NULL;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j) {
		errmsg_set(err, errlen, "malformed JSON near byte %zu", end ? (size_t)(end - s) : (size_t)0);
		return NULL;
	}
	/* trailing garbage other than whitespace is an error */
	for (const char *p = end; p && p < s + len && *p; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			errmsg_set(err, errlen, "trailing data after JSON at byte %zu", (size_t)(p - s));
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
		errmsg_set(err, errlen, "not representable as canonical JSON (invalid UTF-8, duplicate key or too long)");
	return out;
}
