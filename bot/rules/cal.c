/* cal.c - calendar dates, French public holidays and working-day arithmetic.
 *
 * Pure integer arithmetic on proleptic Gregorian dates: no clock, no file,
 * no allocation.  The holiday list is data (struct cal_rules, filled from
 * knowledge/calendar.ini); this file only knows how to evaluate it. */
#include <stdlib.h>
#include <string.h>

#include "cal.h"

int date_days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m < 1 || m > 12)
		return 0;
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

int date_valid(int y, int m, int d)
{
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= date_days_in_month(y, m);
}

/* Days from civil: the era-based method (400-year cycles of 146097 days)
 * described by H. Hinnant, "chrono-Compatible Low-Level Date Algorithms".
 * Example: 1970-01-01 -> 0, 2000-03-01 -> 11017. */
long date_to_days(struct date dt)
{
	long y = dt.y - (dt.m <= 2);
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long mp = (dt.m + 9) % 12; /* March = 0 ... February = 11 */
	long doy = (153 * mp + 2) / 5 + dt.d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct date date_from_days(long days)
{
	long z = days + 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	struct date dt;
	dt.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	dt.m = (int)(mp < 10 ? mp + 3 : mp - 9);
	dt.y = (int)(yoe + era * 400 + (dt.m <= 2));
	return dt;
}

int date_weekday(struct date dt)
{
	/* 1970-01-01 was a Thursday (3 when Monday is 0). */
	long w = (date_to_days(dt) + 3) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

int date_cmp(struct date a, struct date b)
{
	if (a.y != b.y)
		return a.y < b.y ? -1 : 1;
	if (a.m != b.m)
		return a.m < b.m ? -1 : 1;
	if (a.d != b.d)
		return a.d < b.d ? -1 : 1;
	return 0;
}

struct date date_add_days(struct date dt, int n)
{
	return date_from_days(date_to_days(dt) + n);
}

static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int date_parse_iso(const char *s, struct date *out)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
	if (y < 0 || m < 0 || d < 0 || !date_valid(y, m, d))
		return -1;
	out->y = y;
	out->m = m;
	out->d = d;
	return 0;
}

void date_format_iso(struct date dt, char buf[11])
{
	int y = dt.y, m = dt.m, d = dt.d;
	if (y < 0 || y > 9999)
		y = 0;
	buf[0] = (char)('0' + y / 1000);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10 % 10);
	buf[6] = (char)('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + d / 10 % 10);
	buf[9] = (char)('0' + d % 10);
	buf[10] = '\0';
}

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
