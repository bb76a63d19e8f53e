/* test_grow.c - array growth: doubling from 16, clamped to the cap, a
 * request over the cap or an impossible size fails and leaves the array
 * as it was, the content survives a move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "grow.h"

static void test_doubling(void **state)
{
	int *v = NULL;
	size_t cap = 0;
	(void)state;
	assert_int_equal(grow_array(&v, &cap, 1, sizeof *v, 1000), 0);
	assert_non_null(v);
	assert_int_equal(cap, 16);
	for (int i = 0; i < 16; i++)
		v[i] = i;
	assert_int_equal(grow_array(&v, &cap, 16, sizeof *v, 1000), 0); /* fits */
	assert_int_equal(cap, 16);
	assert_int_equal(grow_array(&v, &cap, 17, sizeof *v, 1000), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(grow_array(&v, &cap, 100, sizeof *v, 1000), 0);
	assert_int_equal(cap, 128);
	for (int i = 0; i < 16; i++)
		assert_int_equal(v[i], i);
	free(v);
}

static void test_cap(void **state)
{
	int *v = NULL, *before;
	size_t cap = 0;
	(void)state;
	assert_int_equal(grow_array(&v, &cap, 20, sizeof *v, 40), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(grow_array(&v, &cap, 33, sizeof *v, 40), 0);
	assert_int_equal(cap, 40); /* clamped, not 64 */
	before = v;
	assert_int_equal(grow_array(&v, &cap, 41, sizeof *v, 40), -1);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 40);
	free(v);
}

static void test_impossible(void **state)
{
	char *v = NULL;
	size_t cap = 0;
	(void)state;
	/* max * elem would overflow size_t */
	assert_int_equal(grow_array(&v, &cap, 2, SIZE_MAX / 2, 4), -1);
	assert_null(v);
	assert_int_equal(cap, 0);
	assert_int_equal(grow_array(&v, &cap, 1, 0, 4), -1);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_impossible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
