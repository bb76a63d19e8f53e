/* utf8.c - UTF-8 validation on utf8proc_iterate, which refuses overlong
 * forms, surrogates and code points above U+10FFFF.  ASCII is checked
 * without a call, since nearly all the text the bot reads is ASCII. */
#include "utf8.h"

#include <utf8proc.h>

size_t utf8_seq(const char *s, size_t n)
{
	int32_t cp;

	return utf8_decode(s, n, &cp);
}

size_t utf8_prefix(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k;
		if (!((unsigned char)s[i] & 0x80)) {
			i++;
			continue;
		}
		if (!(k = utf8_seq(s + i, n - i)))
			return i;
		i += k;
	}
	return n;
}

int utf8_valid(const char *s, size_t n)
{
	return utf8_prefix(s, n) == n;
}

size_t utf8_decode(const char *s, size_t n, int32_t *cp)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t r;

	if (!n)
		return 0;
	if (!((unsigned char)s[0] & 0x80)) {
		*cp = (unsigned char)s[0];
		return 1;
	}
	r = utf8proc_iterate((const utf8proc_uint8_t *)s,
			     (utf8proc_ssize_t)(n < 4 ? n : 4), &c);
	if (r <= 0)
		return 0;
	*cp = c;
	return (size_t)r;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t k = max;

	if (len <= max)
		return len;
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return k;
}
