/* cal.h - French public holidays and working-day arithmetic.
 *
 * Pure functions: nothing here reads the clock or the filesystem.  The
 * holiday rules come from the knowledge files (knowledge/calendar.ini) and
 * are passed in as a struct cal_rules. */
#ifndef FAQBOT_CAL_H
#define FAQBOT_CAL_H

#include "date.h"

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
