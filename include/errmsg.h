/* errmsg.h - the bot's one error type: a caller-supplied text buffer
 * (char *err, size_t errlen) that a failing function fills with what is
 * wrong and how to fix it, "path:line: ..." when a file is at fault.
 * Both formatters do nothing when err is NULL or errlen is 0, and return
 * -1 so that a failing path may end in `return errmsg_set(...)`. */
#ifndef FAQBOT_ERRMSG_H
#define FAQBOT_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>

int errmsg_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "path:line: message"; "path: message" when line <= 0. */
int errmsg_at(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int errmsg_vat(char *err, size_t errlen, const char *path, int line, const char *fmt,
	       va_list ap) __attribute__((format(printf, 5, 0)));

#endif
