/* test_buf.c - the capped growable buffer: appends keep a NUL after the
 * content, growth is clamped to the cap, an add over the cap adds nothing
 * and the failure is sticky, consume (a queue), reset and steal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_add(void **state)
{
	struct buf b;
	char big[1000];
	(void)state;
	buf_init(&b, 10000);
	assert_null(b.p);
	assert_int_equal(buf_add(&b, "abc", 3), 0);
	assert_int_equal(buf_addc(&b, 'd'), 0);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.p, "abcd");
	memset(big, 'x', sizeof big);
	for (int i = 0; i < 9; i++)
		assert_int_equal(buf_add(&b, big, sizeof big), 0);
	assert_int_equal(b.len, 9004);
	assert_int_equal(b.p[b.len], '\0');
	assert_true(b.cap <= 10001); /* growth clamped to the cap */
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void test_cap_sticky(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 5);
	assert_int_equal(buf_add(&b, "12345", 5), 0); /* exactly the cap */
	assert_string_equal(b.p, "12345");
	assert_int_equal(buf_add(&b, "6", 1), BUF_TOO_BIG);
	assert_int_equal(b.len, 5); /* nothing of it added */
	assert_int_equal(b.err, BUF_TOO_BIG);
	buf_reset(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(buf_add(&b, "abcdef", 6), BUF_TOO_BIG);
	assert_int_equal(buf_add(&b, "a", 1), BUF_TOO_BIG); /* sticky */
	assert_int_equal(b.len, 0);
	assert_null(buf_steal(&b)); /* a failed buffer gives nothing */
	assert_null(b.p);
	buf_free(&b);
}

static void test_consume_steal(void **state)
{
	struct buf b;
	char *s;
	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_add(&b, "hello world", 11), 0);
	buf_consume(&b, 6);
	assert_string_equal(b.p, "world");
	assert_int_equal(b.len, 5);
	buf_consume(&b, 99);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	assert_int_equal(buf_add(&b, "again", 5), 0);
	s = buf_steal(&b);
	assert_string_equal(s, "again");
	assert_null(b.p);
	free(s);
	s = buf_steal(&b); /* empty: "" */
	assert_string_equal(s, "");
	free(s);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_cap_sticky),
		cmocka_unit_test(test_consume_steal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
