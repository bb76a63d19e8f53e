/* test_cal.c - dates, Easter 1900-2100, French holidays and working-day
 * arithmetic (domain.md, "Conventions").  Expected values come from
 * tables made apart from bot/cal.c (Python's datetime and dateutil). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "cal.h"

/* Easter Sunday as month*100+day for 1900..2100, made once with the
 * Meeus/Jones/Butcher algorithm in Python and cross-checked against
 * python3-dateutil's easter(). */
static const short easter_1900_2100[201] = {
	415, 407, 330, 412, 403, 423, 415, 331, 419, 411,
	327, 416, 407, 323, 412, 404, 423, 408, 331, 420,
	404, 327, 416, 401, 420, 412, 404, 417, 408, 331,
	420, 405, 327, 416, 401, 421, 412, 328, 417, 409,
	324, 413, 405, 425, 409, 401, 421, 406, 328, 417,
	409, 325, 413, 405, 418, 410, 401, 421, 406, 329,
	417, 402, 422, 414, 329, 418, 410, 326, 414, 406,
	329, 411, 402, 422, 414, 330, 418, 410, 326, 415,
	406, 419, 411, 403, 422, 407, 330, 419, 403, 326,
	415, 331, 419, 411, 403, 416, 407, 330, 412, 404,
	423, 415, 331, 420, 411, 327, 416, 408, 323, 412,
	404, 424, 408, 331, 420, 405, 327, 416, 401, 421,
	412, 404, 417, 409, 331, 420, 405, 328, 416, 401,
	421, 413, 328, 417, 409, 325, 413, 405, 425, 410,
	401, 421, 406, 329, 417, 409, 325, 414, 405, 418,
	410, 402, 421, 406, 329, 418, 402, 422, 414, 330,
	418, 410, 326, 415, 406, 329, 411, 403, 422, 414,
	330, 419, 410, 326, 415, 407, 419, 411, 403, 423,
	407, 330, 419, 404, 326, 415, 331, 420, 411, 403,
	416, 408, 330, 412, 404, 424, 415, 331, 420, 412,
	328,
};

static struct date D(int y, int m, int d)
{
	struct date dt = {y, m, d};
	return dt;
}

static void assert_date(struct date got, int y, int m, int d)
{
	char a[11], b[11];
	date_format_iso(got, a);
	date_format_iso(D(y, m, d), b);
	assert_string_equal(a, b);
}

static void test_days_roundtrip(void **state)
{
	(void)state;
	assert_int_equal(date_to_days(D(1970, 1, 1)), 0);
	assert_int_equal(date_to_days(D(2000, 3, 1)), 11017);
	assert_int_equal(date_to_days(D(1969, 12, 31)), -1);
	assert_int_equal(date_to_days(D(1, 1, 1)), -719162);
	assert_int_equal(date_to_days(D(9999, 12, 31)), 2932896);
	/* Every day from 1899 to 2101 converts back to itself, in order. */
	long prev = date_to_days(D(1898, 12, 31));
	for (int y = 1899; y <= 2101; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= date_days_in_month(y, m); d++) {
				long n = date_to_days(D(y, m, d));
				assert_int_equal(n, prev + 1);
				assert_int_equal(date_cmp(date_from_days(n), D(y, m, d)), 0);
				prev = n;
			}
}

static void test_valid_weekday(void **state)
{
	(void)state;
	assert_true(date_valid(2024, 2, 29));
	assert_false(date_valid(2023, 2, 29));
	assert_false(date_valid(1900, 2, 29));
	assert_true(date_valid(2000, 2, 29));
	assert_false(date_valid(2026, 2, 31));
	assert_false(date_valid(2026, 4, 31));
	assert_false(date_valid(2026, 13, 1));
	assert_false(date_valid(2026, 0, 1));
	assert_false(date_valid(2026, 1, 0));
	assert_false(date_valid(0, 1, 1));
	assert_false(date_valid(10000, 1, 1));
	assert_int_equal(date_days_in_month(2026, 2), 28);
	assert_int_equal(date_days_in_month(2028, 2), 29);
	assert_int_equal(date_days_in_month(2026, 13), 0);
	assert_int_equal(date_weekday(D(1970, 1, 1)), 3);  /* Thursday */
	assert_int_equal(date_weekday(D(2026, 11, 11)), 2); /* Wednesday */
	assert_int_equal(date_weekday(D(2027, 12, 27)), 0); /* Monday */
	assert_int_equal(date_weekday(D(1900, 1, 1)), 0);  /* Monday */
	assert_int_equal(date_weekday(D(1969, 12, 28)), 6); /* Sunday */
	assert_true(date_cmp(D(2026, 1, 2), D(2026, 1, 3)) < 0);
	assert_true(date_cmp(D(2027, 1, 1), D(2026, 12, 31)) > 0);
	assert_date(date_add_days(D(2026, 12, 31), 1), 2027, 1, 1);
	assert_date(date_add_days(D(2028, 3, 1), -1), 2028, 2, 29);
	assert_date(date_add_days(D(2026, 1, 1), 365), 2027, 1, 1);
}

static void test_iso(void **state)
{
	(void)state;
	struct date dt = {0, 0, 0};
	char buf[11];
	assert_int_equal(date_parse_iso("2026-11-12", &dt), 0);
	assert_date(dt, 2026, 11, 12);
	date_format_iso(D(987, 3, 4), buf);
	assert_string_equal(buf, "0987-03-04");
	assert_int_equal(date_parse_iso("2026-02-31", &dt), -1);
	assert_int_equal(date_parse_iso("2026-1-12", &dt), -1);
	assert_int_equal(date_parse_iso("2026-11-12x", &dt), -1);
	assert_int_equal(date_parse_iso("2026/11/12", &dt), -1);
	assert_int_equal(date_parse_iso("20a6-11-12", &dt), -1);
	assert_int_equal(date_parse_iso("", &dt), -1);
	assert_int_equal(date_parse_iso(NULL, &dt), -1);
}

static void test_easter_table(void **state)
{
	(void)state;
	for (int y = 1900; y <= 2100; y++) {
		struct date e = cal_easter(y);
		assert_int_equal(e.y, y);
		assert_int_equal(e.m * 100 + e.d, easter_1900_2100[y - 1900]);
		assert_int_equal(date_weekday(e), 6);
	}
	/* Extremes of the Gregorian computus: 22 March and 25 April. */
	assert_date(cal_easter(1818), 1818, 3, 22);
	assert_date(cal_easter(2285), 2285, 3, 22);
	assert_date(cal_easter(1943), 1943, 4, 25);
	assert_date(cal_easter(2038), 2038, 4, 25);
	/* Any year: always a Sunday between 22 March and 25 April. */
	for (int y = 1583; y <= 9999; y++) {
		struct date e = cal_easter(y);
		assert_int_equal(date_weekday(e), 6);
		assert_true(e.m * 100 + e.d >= 322 && e.m * 100 + e.d <= 425);
	}
}

/* The public holidays of a year, as month*100+day, in order. */
static int holidays_of(const struct cal_rules *r, int y, int *out, int max)
{
	int n = 0;
	for (struct date dt = D(y, 1, 1); dt.y == y; dt = date_add_days(dt, 1))
		if (cal_is_holiday(r, dt) && n < max)
			out[n++] = dt.m * 100 + dt.d;
	return n;
}

static void test_holidays(void **state)
{
	(void)state;
	struct cal_rules r;
	cal_rules_default(&r);
	assert_int_equal(r.nfixed, 8);
	assert_int_equal(r.neaster, 3);
	static const struct {
		int y;
		int days[11];
	} years[] = {
		/* Easter 5 Apr 2026: Monday 6 Apr, Ascension 14 May, Whit Monday 25 May */
		{2026, {101, 406, 501, 508, 514, 525, 714, 815, 1101, 1111, 1225}},
		/* Easter 28 Mar 2027 */
		{2027, {101, 329, 501, 506, 508, 517, 714, 815, 1101, 1111, 1225}},
		/* Easter 16 Apr 2028 */
		{2028, {101, 417, 501, 508, 525, 605, 714, 815, 1101, 1111, 1225}},
		/* Easter 20 Apr 2025: Whit Monday in June */
		{2025, {101, 421, 501, 508, 529, 609, 714, 815, 1101, 1111, 1225}},
		/* Easter 1 Apr 2018: Ascension on 10 May */
		{2018, {101, 402, 501, 508, 510, 521, 714, 815, 1101, 1111, 1225}},
		/* Easter 25 Apr 2038: Ascension 3 June, Whit Monday 14 June */
		{2038, {101, 426, 501, 508, 603, 614, 714, 815, 1101, 1111, 1225}},
	};
	for (size_t k = 0; k < sizeof years / sizeof years[0]; k++) {
		int got[32];
		int n = holidays_of(&r, years[k].y, got, 32);
		assert_int_equal(n, 11);
		assert_memory_equal(got, years[k].days, sizeof years[k].days);
	}
	/* 2008: Ascension and 1 May on the same day (Easter 23 March). */
	int got[32];
	assert_int_equal(holidays_of(&r, 2008, got, 32), 10);
	assert_true(cal_is_holiday(&r, D(2008, 5, 1)));
	assert_false(cal_is_workday(&r, D(2026, 11, 11)));
	assert_false(cal_is_workday(&r, D(2026, 11, 14))); /* Saturday */
	assert_false(cal_is_workday(&r, D(2026, 11, 15))); /* Sunday */
	assert_true(cal_is_workday(&r, D(2026, 11, 12)));
	assert_false(cal_is_holiday(&r, D(2026, 11, 14)));
	assert_false(cal_is_holiday(&r, D(2026, 4, 5))); /* Easter Sunday itself */
}

static void test_closures(void **state)
{
	(void)state;
	struct cal_rules r;
	cal_rules_default(&r);
	long closure[] = {
		date_to_days(D(2026, 5, 15)), /* Friday after Ascension */
		date_to_days(D(2026, 12, 24)),
		date_to_days(D(2026, 12, 31)),
	};
	r.closure = closure;
	r.nclosure = 3;
	assert_true(cal_is_holiday(&r, D(2026, 5, 15)));
	assert_true(cal_is_holiday(&r, D(2026, 12, 24)));
	assert_true(cal_is_holiday(&r, D(2026, 12, 31)));
	assert_false(cal_is_holiday(&r, D(2026, 12, 30)));
	assert_false(cal_is_holiday(&r, D(2025, 12, 24)));
	/* Wed 13 May 2026 + 2 wd: 14 Ascension, 15 closed, 16-17 weekend. */
	assert_date(cal_add_workdays(&r, D(2026, 5, 13), 2), 2026, 5, 19);
	/* Wed 23 Dec + 2 wd: 24 closed, 25 holiday, 26-27 weekend, 28, 29. */
	assert_date(cal_add_workdays(&r, D(2026, 12, 23), 2), 2026, 12, 29);
	/* Tue 29 Dec + 3 wd: 30, (31 closed), (1 Jan), Mon 4 Jan, Tue 5 Jan. */
	assert_date(cal_add_workdays(&r, D(2026, 12, 29), 3), 2027, 1, 5);
	r.nclosure = 0;
	assert_date(cal_add_workdays(&r, D(2026, 5, 13), 2), 2026, 5, 18);
	/* A custom rule set: no Easter-based day at all, one fixed day. */
	struct cal_rules only = {0};
	only.fixed[0].m = 7;
	only.fixed[0].d = 14;
	only.nfixed = 1;
	assert_true(cal_add_workdays(&only, D(2026, 4, 3), 1).d == 6); /* Easter Monday works */
	assert_false(cal_is_workday(&only, D(2026, 7, 14)));
}

static void test_workdays(void **state)
{
	(void)state;
	struct cal_rules r;
	cal_rules_default(&r);
	/* 11 November 2026 is a Wednesday holiday. */
	assert_date(cal_add_workdays(&r, D(2026, 11, 10), 2), 2026, 11, 13);
	assert_date(cal_add_workdays(&r, D(2026, 11, 10), 1), 2026, 11, 12);
	/* Across a weekend: Fri + 1 wd = Mon. */
	assert_date(cal_add_workdays(&r, D(2026, 11, 20), 1), 2026, 11, 23);
	assert_date(cal_add_workdays(&r, D(2026, 11, 20), 2), 2026, 11, 24);
	assert_date(cal_add_workdays(&r, D(2026, 11, 20), 7), 2026, 12, 1);
	/* From a weekend day: Saturday + 1 wd = Monday. */
	assert_date(cal_add_workdays(&r, D(2026, 11, 21), 1), 2026, 11, 23);
	/* Year end: 25 Dec and 1 Jan. */
	assert_date(cal_add_workdays(&r, D(2027, 12, 27), 7), 2028, 1, 5);
	assert_date(cal_add_workdays(&r, D(2027, 12, 24), 1), 2027, 12, 27);
	assert_date(cal_add_workdays(&r, D(2026, 12, 24), 2), 2026, 12, 29);
	assert_date(cal_add_workdays(&r, D(2026, 12, 31), 1), 2027, 1, 4);
	/* Easter Monday 2027 (29 Mar) and Ascension 2027 (6 May). */
	assert_date(cal_add_workdays(&r, D(2027, 3, 26), 1), 2027, 3, 30);
	assert_date(cal_add_workdays(&r, D(2027, 5, 5), 2), 2027, 5, 10);
	/* 1 May and 8 May 2026 are Fridays. */
	assert_date(cal_add_workdays(&r, D(2026, 4, 30), 1), 2026, 5, 4);
	assert_date(cal_add_workdays(&r, D(2026, 5, 7), 2), 2026, 5, 12);
	/* 0 is the identity, even on a holiday; negative counts backwards. */
	assert_date(cal_add_workdays(&r, D(2026, 11, 11), 0), 2026, 11, 11);
	assert_date(cal_add_workdays(&r, D(2026, 11, 13), -2), 2026, 11, 10);
	assert_date(cal_add_workdays(&r, D(2028, 1, 5), -7), 2027, 12, 27);
	assert_date(cal_add_workdays(&r, D(2026, 11, 23), -1), 2026, 11, 20);
	/* Forward then backward is the identity on working days. */
	for (struct date dt = D(2026, 1, 1); dt.y < 2029; dt = date_add_days(dt, 1)) {
		if (!cal_is_workday(&r, dt))
			continue;
		for (int n = 1; n <= 8; n++) {
			struct date f = cal_add_workdays(&r, dt, n);
			assert_true(cal_is_workday(&r, f));
			assert_int_equal(date_cmp(cal_add_workdays(&r, f, -n), dt), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days_roundtrip),
		cmocka_unit_test(test_valid_weekday),
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_easter_table),
		cmocka_unit_test(test_holidays),
		cmocka_unit_test(test_closures),
		cmocka_unit_test(test_workdays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
