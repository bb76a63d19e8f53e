/* clock.c - wall clock, time zone and today's date. */
#include "clock.h"

#include <stdlib.h>

int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_set_tz(const char *tz)
{
	/* The process has one time zone; the bot is its only user. */
	if (tz && *tz)
		setenv("TZ", tz, 1);
	tzset();
}

struct date clock_today(time_t t)
{
	struct tm tm;
	struct date d = { 1970, 1, 1 };
	if (!t)
		t = time(NULL);
	if (localtime_r(&t, &tm)) {
		d.y = tm.tm_year + 1900;
		d.m = tm.tm_mon + 1;
		d.d = tm.tm_mday;
	}
	return d;
}
