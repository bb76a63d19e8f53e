/* sdnotify.h - systemd's service notifications (Type=notify), through
 * libsystemd's sd_notify: readiness, reloads, stop, a status line and the
 * watchdog.  Every call is a no-op when NOTIFY_SOCKET is not set (not
 * started by systemd), so `faqbot run` behaves the same in a terminal.
 * Linked into the networked builds only (run.c); ./faqbot never loads
 * libsystemd. */
#ifndef FAQBOT_SDNOTIFY_H
#define FAQBOT_SDNOTIFY_H

#include <stdint.h>

/* "READY=1" with "STATUS=status" (status may be NULL). */
void sdnotify_ready(const char *status);
/* "RELOADING=1" with MONOTONIC_USEC=now (systemd 253+ wants it). */
void sdnotify_reloading(void);
/* "STOPPING=1". */
void sdnotify_stopping(void);
/* "STATUS=status", only when it differs from the last one sent. */
void sdnotify_status(const char *status);
/* Milliseconds between two "WATCHDOG=1" (half of WatchdogSec), 0 when the
 * watchdog is off for this process. */
int64_t sdnotify_watchdog_interval_ms(void);
void sdnotify_watchdog(void);

#endif
