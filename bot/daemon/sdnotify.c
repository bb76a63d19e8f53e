/* sdnotify.c - systemd notifications through libsystemd (see sdnotify.h).
 * The messages hold only fixed words and network names: no secret. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "sdnotify.h"

static char last_status[512];

static void notify(const char *msg)
{
	int r = sd_notify(0, msg);
	if (r < 0)
		log_warn("systemd: cannot notify \"%.40s\": %s", msg, strerror(-r));
}

void sdnotify_ready(const char *status)
{
	char msg[600];
	if (status) {
		snprintf(last_status, sizeof last_status, "%s", status);
		snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
		notify(msg);
	} else {
		notify("READY=1");
	}
}

void sdnotify_reloading(void)
{
	struct timespec ts;
	char msg[80];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	notify(msg);
}

void sdnotify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping");
}

void sdnotify_status(const char *status)
{
	char msg[600];
	if (!status || !strcmp(status, last_status))
		return;
	snprintf(last_status, sizeof last_status, "%s", status);
	snprintf(msg, sizeof msg, "STATUS=%s", status);
	notify(msg);
}

int64_t sdnotify_watchdog_interval_ms(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || !usec)
		return 0;
	return usec / 2000 ? (int64_t)(usec / 2000) : 1;
}

void sdnotify_watchdog(void)
{
	notify("WATCHDOG=1");
}
