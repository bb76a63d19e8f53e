/* test_utf8.c - the one UTF-8 validator (utf8.h): strict UTF-8 (no
 * overlong forms, no surrogates, nothing above U+10FFFF, nothing cut
 * short), the decoded code points, the prefix, and cutting a text to a
 * byte budget without splitting a character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

static void test_valid(void **state)
{
	const char *ok = "déjà vu €𝄞";
	(void)state;
	assert_int_equal(utf8_valid(ok, strlen(ok)), 1);
	assert_int_equal(utf8_valid("", 0), 1);
	assert_int_equal(utf8_valid("a\0b", 3), 1); /* NUL is the caller's to refuse */
	assert_int_equal(utf8_valid("\xc0\xaf", 2), 0);         /* overlong */
	assert_int_equal(utf8_valid("\xe0\x80\xaf", 3), 0);     /* overlong, 3 bytes */
	assert_int_equal(utf8_valid("\xed\xa0\x80", 3), 0);     /* surrogate */
	assert_int_equal(utf8_valid("\xe2\x82", 2), 0);         /* cut short */
	assert_int_equal(utf8_valid("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
	assert_int_equal(utf8_valid("\xf4\x8f\xbf\xbf", 4), 1); /* U+10FFFF */
	assert_int_equal(utf8_valid("\xff", 1), 0);
	assert_int_equal(utf8_valid("\x80", 1), 0);             /* lone continuation */
}

static void test_decode_seq_prefix(void **state)
{
	int32_t cp = -1;
	(void)state;
	assert_int_equal(utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(utf8_decode("é", 2, &cp), 2);
	assert_int_equal(cp, 0xE9);
	assert_int_equal(utf8_decode("€", 3, &cp), 3);
	assert_int_equal(cp, 0x20AC);
	assert_int_equal(utf8_decode("𝄞", 4, &cp), 4);
	assert_int_equal(cp, 0x1D11E);
	cp = -1;
	assert_int_equal(utf8_decode("€", 2, &cp), 0); /* n cuts it short */
	assert_int_equal(cp, -1);                      /* untouched */
	assert_int_equal(utf8_decode("x", 0, &cp), 0);
	assert_int_equal(utf8_seq("\xed\xa0\x80", 3), 0);
	assert_int_equal(utf8_prefix("abé\xffz", 6), 4);
	assert_int_equal(utf8_prefix("abé", 4), 4);
}

static void test_cut(void **state)
{
	const char *s = "aé€"; /* 1 + 2 + 3 bytes */
	(void)state;
	assert_int_equal(utf8_cut(s, 6, 10), 6); /* fits */
	assert_int_equal(utf8_cut(s, 6, 6), 6);
	assert_int_equal(utf8_cut(s, 6, 5), 3);  /* not inside € */
	assert_int_equal(utf8_cut(s, 6, 4), 3);
	assert_int_equal(utf8_cut(s, 6, 3), 3);
	assert_int_equal(utf8_cut(s, 6, 2), 1);  /* not inside é */
	assert_int_equal(utf8_cut(s, 6, 0), 0);
	assert_int_equal(utf8_cut("\x80\x80\x80", 3, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_decode_seq_prefix),
		cmocka_unit_test(test_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
