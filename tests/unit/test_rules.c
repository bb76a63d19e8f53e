/* test_rules.c - stage dates, windows and status (domain.md, "Conventions").
 * The table below is copied from the `dates` and `status` fields of
 * ../shared/spec/questions-dev.jsonl, which an implementation written apart
 * from this project computed: an independent oracle. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "rules.h"

static struct date D(int y, int m, int d)
{
	struct date dt = {y, m, d};
	return dt;
}

static struct date P(const char *iso)
{
	struct date dt = {0, 0, 0};
	assert_int_equal(date_parse_iso(iso, &dt), 0);
	return dt;
}

static void assert_date_is(struct date got, const char *iso)
{
	char buf[11];
	date_format_iso(got, buf);
	assert_string_equal(buf, iso);
}

static const struct {
	const char *id, *now, *platform, *validation, *regional, *rco_export,
		*rco_visible, *ft_min, *ft_max, *status;
} dev[] = {
	/* id, now, platform, validation, regional, rco_export, rco_visible,
	 * france_travail_min, france_travail_max, status */
	{"dev-001", "2027-05-18", "aude", "2027-05-11", "2027-05-12", "2027-05-11", "2027-05-13", "2027-05-13", "2027-05-21", "within"},
	{"dev-003", "2027-08-16", "kairos", "2027-08-10", "2027-08-11", "2027-08-10", "2027-08-12", "2027-08-12", "2027-08-19", "within"},
	{"dev-009", "2026-06-03", "regional", "2026-06-01", "2026-06-02", "2026-06-01", "2026-06-03", "2026-06-03", "2026-06-10", "overdue"},
	{"dev-011", "2027-10-21", "kairos", "2027-10-15", "2027-10-16", "2027-10-15", "2027-10-19", "2027-10-19", "2027-10-26", "within"},
	{"dev-014", "2026-10-06", "aude", "2026-10-01", "2026-10-02", "2026-10-01", "2026-10-05", "2026-10-05", "2026-10-12", "within"},
	{"dev-015", "2027-12-30", "kairos", "2027-12-27", "2027-12-28", "2027-12-27", "2027-12-29", "2027-12-29", "2028-01-05", "within"},
	{"dev-025", "2027-09-20", "", "2027-09-22", "2027-09-23", "2027-09-22", "2027-09-24", "2027-09-24", "2027-10-01", "early"},
	{"dev-026", "2026-11-12", "kairos", "2026-11-10", "2026-11-11", "2026-11-10", "2026-11-13", "2026-11-13", "2026-11-20", "early"},
	{"dev-027", "2026-04-08", "kairos", "2026-04-03", "2026-04-04", "2026-04-03", "2026-04-08", "2026-04-08", "2026-04-15", "within"},
	{"dev-030", "2026-02-16", "france_travail", "2026-02-12", "2026-02-13", "2026-02-12", "2026-02-16", "2026-02-16", "2026-02-23", "within"},
	{"dev-040", "2027-03-31", "kairos", "2027-03-25", "2027-03-26", "2027-03-25", "2027-03-30", "2027-03-30", "2027-04-06", "within"},
	{"dev-048", "2026-07-15", "kairos", "2026-07-13", "2026-07-14", "2026-07-13", "2026-07-16", "2026-07-16", "2026-07-23", "early"},
	{"dev-054", "2027-05-05", "kairos", "2027-05-10", "2027-05-11", "2027-05-10", "2027-05-12", "2027-05-12", "2027-05-20", "early"},
	{"dev-057", "2027-07-16", "rco", "2027-07-12", "2027-07-13", "2027-07-12", "2027-07-15", "2027-07-15", "2027-07-22", "overdue"},
	{"dev-063", "2027-06-14", "kairos", "2027-06-08", "2027-06-09", "2027-06-08", "2027-06-10", "2027-06-10", "2027-06-17", "within"},
	{"dev-066", "2026-12-23", "kairos", "2026-12-24", "2026-12-25", "2026-12-24", "2026-12-29", "2026-12-29", "2027-01-06", "early"},
	{"dev-067", "2026-03-10", "kairos", "2026-03-09", "2026-03-10", "2026-03-09", "2026-03-11", "2026-03-11", "2026-03-18", "early"},
	{"dev-070", "2026-01-02", "aude", "2025-12-30", "2025-12-31", "2025-12-30", "2026-01-02", "2026-01-02", "2026-01-09", "within"},
	{"dev-072", "2027-02-10", "aude", "2027-02-05", "2027-02-06", "2027-02-05", "2027-02-09", "2027-02-09", "2027-02-16", "within"},
	{"dev-076", "2026-05-04", "france_travail", "2026-04-30", "2026-05-01", "2026-04-30", "2026-05-05", "2026-05-05", "2026-05-13", "early"},
	{"dev-078", "2026-04-07", "france_travail", "2026-04-01", "2026-04-02", "2026-04-01", "2026-04-03", "2026-04-03", "2026-04-13", "within"},
	{"dev-080", "2026-05-13", "regional", "2026-05-13", "2026-05-14", "2026-05-13", "2026-05-18", "2026-05-18", "2026-05-26", "early"},
	{"dev-081", "2026-08-17", "aude", "2026-08-12", "2026-08-13", "2026-08-12", "2026-08-14", "2026-08-14", "2026-08-21", "within"},
	{"dev-082", "2026-11-02", "", "2026-10-29", "2026-10-30", "2026-10-29", "2026-11-02", "2026-11-02", "2026-11-09", "within"},
	{"dev-084", "2026-01-05", "aude", "2025-12-31", "2026-01-01", "2025-12-31", "2026-01-05", "2026-01-05", "2026-01-12", "within"},
	{"dev-086", "2027-12-24", "kairos", "2027-12-24", "2027-12-25", "2027-12-24", "2027-12-28", "2027-12-28", "2028-01-04", "early"},
	{"dev-093", "2026-05-22", "rco", "2026-05-19", "2026-05-20", "2026-05-19", "2026-05-21", "2026-05-21", "2026-05-29", "overdue"},
	{"dev-097", "2026-12-28", "france_travail", "2026-12-24", "2026-12-25", "2026-12-24", "2026-12-29", "2026-12-29", "2027-01-06", "early"},
	{"dev-098", "2027-11-02", "kairos", "2027-10-29", "2027-10-30", "2027-10-29", "2027-11-03", "2027-11-03", "2027-11-10", "early"},
	{"dev-101", "2027-01-04", "aude", "2026-12-30", "2026-12-31", "2026-12-30", "2027-01-04", "2027-01-04", "2027-01-11", "within"},
	{"dev-109", "2026-09-09", "rco", "2026-09-09", "2026-09-10", "2026-09-09", "2026-09-11", "2026-09-11", "2026-09-18", "early"},
	{"dev-110", "2026-10-16", "kairos", "2026-10-13", "2026-10-14", "2026-10-13", "2026-10-15", "2026-10-15", "2026-10-22", "within"},
};

static void test_dev_oracle(void **state)
{
	(void)state;
	struct cal_rules cal;
	struct delays dl;
	cal_rules_default(&cal);
	rules_delays_default(&dl);
	for (size_t k = 0; k < sizeof dev / sizeof dev[0]; k++) {
		struct stage_dates sd;
		rules_dates(&cal, &dl, P(dev[k].validation), &sd);
		print_message("%s\n", dev[k].id);
		assert_date_is(sd.validation, dev[k].validation);
		assert_date_is(sd.regional, dev[k].regional);
		assert_date_is(sd.rco_export, dev[k].rco_export);
		assert_date_is(sd.rco_visible, dev[k].rco_visible);
		assert_date_is(sd.ft_min, dev[k].ft_min);
		assert_date_is(sd.ft_max, dev[k].ft_max);
		enum platform pf = platform_from_name(dev[k].platform);
		assert_string_equal(rules_status_name(rules_status(&sd, pf, P(dev[k].now))),
				    dev[k].status);
	}
}

static void test_named_cases(void **state)
{
	(void)state;
	struct cal_rules cal;
	struct delays dl;
	struct stage_dates sd;
	cal_rules_default(&cal);
	rules_delays_default(&dl);
	/* dev-026: validated Tue 10 Nov 2026; 11 Nov is a holiday. */
	rules_dates(&cal, &dl, D(2026, 11, 10), &sd);
	assert_date_is(sd.rco_visible, "2026-11-13");
	assert_date_is(sd.ft_max, "2026-11-20");
	assert_int_equal(rules_status(&sd, PF_KAIROS, D(2026, 11, 12)), ST_EARLY);
	/* dev-098: validated Fri 29 Oct 2027; Mon 1 Nov is a holiday. */
	rules_dates(&cal, &dl, D(2027, 10, 29), &sd);
	assert_date_is(sd.regional, "2027-10-30");
	assert_date_is(sd.ft_min, "2027-11-03");
	assert_int_equal(rules_status(&sd, PF_KAIROS, D(2027, 11, 2)), ST_EARLY);
	/* dev-009: regional the day after, overdue two days later. */
	rules_dates(&cal, &dl, D(2026, 6, 1), &sd);
	assert_int_equal(rules_status(&sd, PF_REGIONAL, D(2026, 6, 3)), ST_OVERDUE);
	assert_int_equal(rules_status(&sd, PF_REGIONAL, D(2026, 6, 2)), ST_WITHIN);
	assert_int_equal(rules_status(&sd, PF_REGIONAL, D(2026, 6, 1)), ST_EARLY);
	assert_int_equal(rules_status(&sd, PF_NONE, D(2026, 6, 3)), ST_WITHIN);
	/* dev-015: year end, 27 Dec 2027 + 7 wd over 1 Jan. */
	rules_dates(&cal, &dl, D(2027, 12, 27), &sd);
	assert_date_is(sd.ft_max, "2028-01-05");
	/* The regional day is calendar: a Saturday counts. */
	rules_dates(&cal, &dl, D(2026, 11, 20), &sd);
	assert_date_is(sd.regional, "2026-11-21");
	assert_date_is(sd.rco_export, "2026-11-20");
	assert_date_is(sd.rco_visible, "2026-11-24");
	assert_date_is(sd.ft_max, "2026-12-01");
}

static void test_windows(void **state)
{
	(void)state;
	struct cal_rules cal;
	struct delays dl;
	struct stage_dates sd;
	struct date o, c;
	cal_rules_default(&cal);
	rules_delays_default(&dl);
	rules_dates(&cal, &dl, D(2026, 11, 20), &sd);
	rules_window(&sd, PF_REGIONAL, &o, &c);
	assert_date_is(o, "2026-11-21");
	assert_date_is(c, "2026-11-21");
	rules_window(&sd, PF_RCO, &o, &c);
	assert_date_is(o, "2026-11-24");
	assert_date_is(c, "2026-11-24");
	static const enum platform ft[] = {PF_NONE, PF_KAIROS, PF_AUDE, PF_FRANCE_TRAVAIL};
	for (size_t k = 0; k < sizeof ft / sizeof ft[0]; k++) {
		rules_window(&sd, ft[k], &o, &c);
		assert_date_is(o, "2026-11-24");
		assert_date_is(c, "2026-12-01");
		assert_int_equal(rules_status(&sd, ft[k], D(2026, 11, 23)), ST_EARLY);
		assert_int_equal(rules_status(&sd, ft[k], D(2026, 11, 24)), ST_WITHIN);
		assert_int_equal(rules_status(&sd, ft[k], D(2026, 12, 1)), ST_WITHIN);
		assert_int_equal(rules_status(&sd, ft[k], D(2026, 12, 2)), ST_OVERDUE);
	}
	assert_int_equal(rules_status(&sd, PF_RCO, D(2026, 11, 24)), ST_WITHIN);
	assert_int_equal(rules_status(&sd, PF_RCO, D(2026, 11, 25)), ST_OVERDUE);
}

static void test_delays_are_data(void **state)
{
	(void)state;
	struct cal_rules cal;
	struct delays dl;
	struct stage_dates sd;
	cal_rules_default(&cal);
	rules_delays_default(&dl);
	assert_int_equal(dl.regional.n, 1);
	assert_int_equal(dl.regional.unit, DU_CALENDAR);
	assert_int_equal(dl.rco_export.n, 0);
	assert_int_equal(dl.rco_visible.n, 2);
	assert_int_equal(dl.rco_visible.unit, DU_WORKING);
	assert_int_equal(dl.ft_min.n, 2);
	assert_int_equal(dl.ft_max.n, 7);
	assert_int_equal(dl.ft_max.unit, DU_WORKING);
	/* Changed delays change the dates: 7 calendar days, 3 working days. */
	dl.ft_max.unit = DU_CALENDAR;
	dl.rco_visible.n = 3;
	rules_dates(&cal, &dl, D(2026, 11, 20), &sd);
	assert_date_is(sd.ft_max, "2026-11-27");
	assert_date_is(sd.rco_visible, "2026-11-25");
	struct delay back = {-2, DU_WORKING};
	assert_date_is(rules_apply(&cal, D(2026, 11, 23), back), "2026-11-19");
}

static void test_names(void **state)
{
	(void)state;
	static const char *names[] = {"kairos", "aude", "france_travail", "rco", "regional"};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		enum platform pf = platform_from_name(names[k]);
		assert_int_not_equal(pf, PF_NONE);
		assert_string_equal(platform_name(pf), names[k]);
	}
	assert_int_equal(platform_from_name("KAIROS"), PF_NONE);
	assert_int_equal(platform_from_name(""), PF_NONE);
	assert_int_equal(platform_from_name(NULL), PF_NONE);
	assert_null(platform_name(PF_NONE));
	assert_null(platform_name(PF__COUNT));
	assert_string_equal(rules_status_name(ST_EARLY), "early");
	assert_string_equal(rules_status_name(ST_WITHIN), "within");
	assert_string_equal(rules_status_name(ST_OVERDUE), "overdue");
	assert_null(rules_status_name(ST_NONE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dev_oracle),
		cmocka_unit_test(test_named_cases),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_delays_are_data),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
