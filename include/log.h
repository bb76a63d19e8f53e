/* log.h - timestamped, levelled log lines on stderr.
 * Takes only strings and numbers: nothing here knows struct config, so a
 * config secret cannot be printed by accident.  Protocol lines go through
 * log_proto, which redacts credentials (AUTHENTICATE, PASS, IDENTIFY...). */
#ifndef FAQBOT_LOG_H
#define FAQBOT_LOG_H

#include <stddef.h>

/* LOGL_ (not LOG_) so that <syslog.h> never clashes. */
enum log_level { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* The level is process-wide (the one global of the logger).  Default INFO;
 * FAQBOT_LOG=debug|info|warn|error overrides the config (see log_init). */
void log_set_level(enum log_level lv);
enum log_level log_get_level(void);
/* "error", "warn"/"warning", "info", "debug" (any case) -> level; -1 when
 * unknown. */
int log_level_from_name(const char *s);
/* Sets the level from cfg_level (may be NULL), then from the environment
 * variable FAQBOT_LOG when set and valid (it wins). */
void log_init(const char *cfg_level);
/* 1 when lines of level lv are written (to skip costly formatting). */
int log_enabled(enum log_level lv);

/* Under journald: 1 when JOURNAL_STREAM ("dev:ino") names the stream of
 * stderr, so lines are written "<6>message" (sd-daemon.h priorities:
 * error 3, warn 4, info 6, debug 7) with no timestamp of their own.
 * log_init calls it; call it again after redirecting stderr. */
int log_journal_detect(void);

/* "2026-11-20T14:03:07.123Z INFO  " + message + "\n" on stderr.  The
 * message is truncated at 2048 bytes; CR/LF/control bytes in it are
 * written as '?' so one call is always one line. */
void log_msg(enum log_level lv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

/* Copies one protocol line (IRC, without CR LF) into out, with any
 * credential replaced by "<redacted>":
 *   "AUTHENTICATE dGVzdA=="         -> "AUTHENTICATE <redacted>"
 *     (but "AUTHENTICATE PLAIN", "+" and "*" are kept: they hold no secret)
 *   "PASS hunter2"                  -> "PASS <redacted>"
 *   "OPER name pw"                  -> "OPER name <redacted>"
 *   "PRIVMSG NickServ :IDENTIFY pw" -> "PRIVMSG NickServ :IDENTIFY <redacted>"
 * (also with IRCv3 tags and a :prefix in front).  Always NUL-terminates;
 * returns the length written. */
size_t log_redact(const char *line, size_t len, char *out, size_t outlen);

/* Logs at DEBUG "[net] >> line" (dir ">>" sent, "<<" received), redacted
 * as above.  Cheap when DEBUG is off. */
void log_proto(const char *net, const char *dir, const char *line, size_t len);

#endif
