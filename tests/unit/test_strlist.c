/* test_strlist.c - the string lists of the base layer: add (copies, the
 * STRLIST_MAX cap), has (ASCII case-insensitive, NULL-safe), merge (no
 * duplicate), copy (an independent copy; the old items freed), free.
 * Also utf8_cut, the one "cut on a UTF-8 boundary" of the bot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "strlist.h"
#include "utf8.h"

static void test_add_has(void **state)
{
	struct strlist l = { NULL, 0 };
	char word[8] = "alicexx";
	(void)state;
	assert_int_equal(strlist_add(&l, word, 5), 0);
	word[0] = 'X'; /* the list holds its own copy */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "alice");
	assert_true(strlist_has(&l, "ALICE"));
	assert_false(strlist_has(&l, "alic"));
	assert_false(strlist_has(&l, NULL));
	assert_false(strlist_has(NULL, "alice"));
	strlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	strlist_free(&l); /* twice is harmless */
}

static void test_cap(void **state)
{
	struct strlist l = { NULL, 0 };
	(void)state;
	for (int i = 0; i < STRLIST_MAX; i++)
		assert_int_equal(strlist_add(&l, "x", 1), 0);
	assert_int_equal(strlist_add(&l, "y", 1), -1);
	assert_int_equal(l.n, STRLIST_MAX);
	strlist_free(&l);
}

static void test_merge_copy(void **state)
{
	struct strlist a = { NULL, 0 }, b = { NULL, 0 };
	(void)state;
	assert_int_equal(strlist_add(&a, "bot1", 4), 0);
	assert_int_equal(strlist_add(&b, "BOT1", 4), 0);
	assert_int_equal(strlist_add(&b, "bot2", 4), 0);
	assert_int_equal(strlist_merge(&a, &b), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.v[0], "bot1");
	assert_string_equal(a.v[1], "bot2");

	assert_int_equal(strlist_copy(&b, &a), 0); /* b's old items freed */
	assert_int_equal(b.n, 2);
	assert_ptr_not_equal(b.v[0], a.v[0]);
	assert_string_equal(b.v[1], "bot2");
	strlist_free(&a);
	assert_true(strlist_has(&b, "bot1"));
	strlist_free(&b);
}

static void test_utf8_cut(void **state)
{
	const char *s = "d\xc3\xa9j\xc3\xa0"; /* "déjà": 6 bytes */
	(void)state;
	assert_int_equal(utf8_cut(s, 6, 10), 6);
	assert_int_equal(utf8_cut(s, 6, 6), 6);
	assert_int_equal(utf8_cut(s, 6, 5), 4); /* not inside "à" */
	assert_int_equal(utf8_cut(s, 6, 2), 1); /* not inside "é" */
	assert_int_equal(utf8_cut(s, 6, 1), 1);
	assert_int_equal(utf8_cut("\x80\x80\x80", 3, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_has),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_merge_copy),
		cmocka_unit_test(test_utf8_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
