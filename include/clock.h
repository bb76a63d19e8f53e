/* clock.h - the bot's one reading of the wall clock and of "today".
 *
 * Language and rules never read the clock: the programs (main.c, the
 * daemon, the report) ask here and hand the date down. */
#ifndef FAQBOT_CLOCK_H
#define FAQBOT_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "date.h"

/* Milliseconds since the epoch (CLOCK_REALTIME): timestamps that leave
 * the process (Matrix events, stored sessions). */
int64_t clock_wall_ms(void);

/* Milliseconds of CLOCK_MONOTONIC: delays, timers, rate limits. */
int64_t clock_mono_ms(void);

/* Sets the process's time zone (the dates are local: domain.md, "Time
 * zone").  NULL or "" keeps TZ as it is; tzset() runs in both cases. */
void clock_set_tz(const char *tz);

/* The local date of t in the process's time zone (t == 0: now);
 * 1970-01-01 when the C library cannot convert it. */
struct date clock_today(time_t t);

#endif
