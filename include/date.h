/* date.h - a local calendar date (Europe/Paris) and its arithmetic.
 *
 * Pure functions: nothing here reads the clock or the filesystem. */
#ifndef FAQBOT_DATE_H
#define FAQBOT_DATE_H

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

#endif
