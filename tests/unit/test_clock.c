/* test_clock.c - the base clock: the local date of an instant in the time
 * zone clock_set_tz set (the day changes at local midnight, not at UTC
 * midnight), and a wall clock in milliseconds that agrees with time(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clock.h"

static void test_today_in_tz(void **state)
{
	/* 2027-05-17T22:30:00Z is already the 18th in Paris (UTC+2). */
	time_t t = 1810593000;
	struct date d;
	(void)state;
	clock_set_tz("UTC0");
	d = clock_today(t);
	assert_int_equal(d.y, 2027);
	assert_int_equal(d.m, 5);
	assert_int_equal(d.d, 17);
	clock_set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	d = clock_today(t);
	assert_int_equal(d.d, 18);
	/* NULL or "" keeps the zone */
	clock_set_tz(NULL);
	assert_int_equal(clock_today(t).d, 18);
	clock_set_tz("");
	assert_string_equal(getenv("TZ"), "CET-1CEST,M3.5.0,M10.5.0/3");
}

static void test_wall_ms(void **state)
{
	int64_t a, b;
	time_t t;
	struct date d0, d1;
	(void)state;
	t = time(NULL);
	a = clock_wall_ms();
	b = clock_wall_ms();
	assert_true(b >= a);
	assert_true(a / 1000 >= (int64_t)t && a / 1000 <= (int64_t)t + 2);
	d0 = clock_today(t);
	d1 = clock_today(0); /* 0: now */
	assert_true(date_to_days(d1) - date_to_days(d0) <= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_today_in_tz),
		cmocka_unit_test(test_wall_ms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
