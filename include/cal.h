/* cal.h - calendar dates, French public holidays and working-day arithmetic.
 *
 * Pure functions: nothing here reads the clock or the filesystem.  The
 * holiday rules come from the knowledge files (knowledge/calendar.ini) and
 * are passed in as a struct cal_rules. */
#ifndef FAQBOT_CAL_H
#define FAQBOT_CAL_H

/* A local calendar date (Europe/Paris).  Small value type: left open. */
struct date {
	int y, m, d; /* year, month 1-12, day 1-31 */
};

/* 1 when y-m-d is a real Gregorian date (years 1..9999), 0 otherwise. */
int date_valid(int y, int m, int d);
/* Days since 1970-01-01 (negative before).  Requires a valid date. */
long date_to_days(struct date dt);
struct date date_from_days(long days);
/* 0 = Monday ... 6 = Sunday */
int date_weekday(struct date dt);
int date_cmp(struct date a, struct date b); /* <0, 0, >0 */
struct date date_add_days(struct date dt, int n);
int date_days_in_month(int y, int m);
/* "YYYY-MM-DD" (exactly).  0 on success, -1 on malformed or invalid date. */
int date_parse_iso(const char *s, struct date *out);
/* Writes "YYYY-MM-DD" and a NUL: buf must hold 11 bytes. */
void date_format_iso(struct date dt, char buf[11]);

/* Easter Sunday (Gregorian computus, any year 1583..9999). */
struct date cal_easter(int year);

#define CAL_MAX_FIXED 32
#define CAL_MAX_EASTER 16

/* Holiday rules.  Filled by the knowledge loader; cal_rules_default()
 * gives the French list of domain.md for tests. */
struct cal_rules {
	struct { int m, d; } fixed[CAL_MAX_FIXED]; /* e.g. {1,1}, {5,1} */
	int nfixed;
	int easter_offset[CAL_MAX_EASTER]; /* days after Easter: 1, 39, 50 */
	int neaster;
	long *closure; /* extra closure days as date_to_days(), sorted ascending */
	int nclosure;  /* closure is owned by whoever filled it */
};

/* The 11 French public holidays of domain.md, no extra closure day. */
void cal_rules_default(struct cal_rules *r);
/* 1 when dt is a public holiday or an extra closure day. */
int cal_is_holiday(const struct cal_rules *r, struct date dt);
/* 1 when dt is Monday-Friday and not a holiday. */
int cal_is_workday(const struct cal_rules *r, struct date dt);
/* The n-th working day strictly after dt ("V + n wd" of domain.md).
 * n == 0 returns dt unchanged; n < 0 counts backwards. */
struct date cal_add_workdays(const struct cal_rules *r, struct date dt, int n);

#endif
