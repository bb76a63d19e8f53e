/* utf8.h - the one UTF-8 validator of the bot, on utf8proc: strict UTF-8
 * (no overlong forms, no surrogates, nothing above U+10FFFF).  NUL is a
 * valid code point here; callers that refuse NUL say so themselves. */
#ifndef FAQBOT_UTF8_H
#define FAQBOT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the valid UTF-8 sequence at s[0..n), or 0 when the
 * bytes there are not one (invalid, or cut short by n).  0 when n is 0. */
size_t utf8_seq(const char *s, size_t n);

/* Offset of the first byte of s[0..n) that does not start a valid
 * sequence, or n when all of it is valid. */
size_t utf8_prefix(const char *s, size_t n);

/* 1 when s[0..n) is valid UTF-8, else 0. */
int utf8_valid(const char *s, size_t n);

/* utf8_seq that also gives the code point: its length (1 to 4) with *cp
 * set, or 0 (*cp untouched) when s[0..n) does not start a valid one. */
size_t utf8_decode(const char *s, size_t n, int32_t *cp);

/* The length of s[0..len) cut to at most max bytes without splitting a
 * sequence: len when len <= max, else max moved back over continuation
 * bytes (0 when s[0..max] is all continuation bytes). */
size_t utf8_cut(const char *s, size_t len, size_t max);

#endif
