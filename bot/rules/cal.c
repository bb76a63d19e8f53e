/* cal.c - French public holidays and working-day arithmetic.
 *
 * Pure integer arithmetic on struct date (date.c): no clock, no file,
 * no allocation.  The holiday list is data (struct cal_rules, filled from
 * knowledge/calendar.ini); this file only knows how to evaluate it. */
#include <stdlib.h>
#include <string.h>

#include "cal.h"

/* Gregorian Easter by Oudin's algorithm (1940), as given in the
 * Explanatory Supplement to the Astronomical Almanac.  The unit tests check
 * it against a table made with the Meeus/Jones/Butcher method. */
struct date cal_easter(int year)
{
	int g = year % 19;
	int c = year / 100;
	int h = (c - c / 4 - (8 * c + 13) / 25 + 19 * g + 15) % 30;
	int i = h - (h / 28) * (1 - (h / 28) * (29 / (h + 1)) * ((21 - g) / 11));
	int j = (year + year / 4 + i + 2 - c + c / 4) % 7;
	int l = i - j;
	struct date e;
	e.y = year;
	e.m = 3 + (l + 40) / 44;
	e.d = l + 28 - 31 * (e.m / 4);
	return e;
}

void cal_rules_default(struct cal_rules *r)
{
	/* French public holidays (domain.md, "Conventions": working day). */
	static const int fixed[][2] = {
		{1, 1}, {5, 1}, {5, 8}, {7, 14}, {8, 15}, {11, 1}, {11, 11}, {12, 25},
	};
	/* Easter Monday, Ascension Thursday, Whit Monday. */
	static const int easter[] = {1, 39, 50};
	memset(r, 0, sizeof *r);
	for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
		r->fixed[k].m = fixed[k][0];
		r->fixed[k].d = fixed[k][1];
	}
	r->nfixed = (int)(sizeof fixed / sizeof fixed[0]);
	for (size_t k = 0; k < sizeof easter / sizeof easter[0]; k++)
		r->easter_offset[k] = easter[k];
	r->neaster = (int)(sizeof easter / sizeof easter[0]);
	r->closure = NULL;
	r->nclosure = 0;
}

static int easter_relative(const struct cal_rules *r, long days, int year)
{
	long e = date_to_days(cal_easter(year));
	for (int k = 0; k < r->neaster && k < CAL_MAX_EASTER; k++)
		if (days - e == r->easter_offset[k])
			return 1;
	return 0;
}

static int is_holiday_days(const struct cal_rules *r, struct date dt, long days)
{
	for (int k = 0; k < r->nfixed && k < CAL_MAX_FIXED; k++)
		if (r->fixed[k].m == dt.m && r->fixed[k].d == dt.d)
			return 1;
	if (r->neaster > 0) {
		if (easter_relative(r, days, dt.y))
			return 1;
		/* An offset may reach across a year end (Easter is 22 Mar - 25 Apr):
		 * only then is a neighbouring year's Easter worth computing. */
		int far_pos = 0, far_neg = 0;
		for (int k = 0; k < r->neaster && k < CAL_MAX_EASTER; k++) {
			if (r->easter_offset[k] > 250)
				far_pos = 1;
			if (r->easter_offset[k] < -80)
				far_neg = 1;
		}
		if (far_pos && dt.y > 1 && easter_relative(r, days, dt.y - 1))
			return 1;
		if (far_neg && dt.y < 9999 && easter_relative(r, days, dt.y + 1))
			return 1;
	}
	int lo = 0, hi = r->nclosure - 1;
	while (r->closure && lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (r->closure[mid] == days)
			return 1;
		if (r->closure[mid] < days)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

int cal_is_holiday(const struct cal_rules *r, struct date dt)
{
	return is_holiday_days(r, dt, date_to_days(dt));
}

static int is_workday_days(const struct cal_rules *r, long days)
{
	long w = (days + 3) % 7;
	if (w < 0)
		w += 7;
	if (w >= 5)
		return 0;
	return !is_holiday_days(r, date_from_days(days), days);
}

int cal_is_workday(const struct cal_rules *r, struct date dt)
{
	return is_workday_days(r, date_to_days(dt));
}

struct date cal_add_workdays(const struct cal_rules *r, struct date dt, int n)
{
	long days = date_to_days(dt);
	int step = n < 0 ? -1 : 1;
	int left = n < 0 ? -n : n;
	/* "V + n wd": the n-th working day strictly after V (domain.md). */
	while (left > 0) {
		days += step;
		if (is_workday_days(r, days))
			left--;
	}
	return date_from_days(days);
}
