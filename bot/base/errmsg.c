/* errmsg.c - the error-text formatters (see errmsg.h). */
#include "errmsg.h"

#include <stdio.h>

int errmsg_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int errmsg_vat(char *err, size_t errlen, const char *path, int line, const char *fmt,
	       va_list ap)
{
	int n;

	if (!err || !errlen)
		return -1;
	n = line > 0 ? snprintf(err, errlen, "%s:%d: ", path, line)
		     : snprintf(err, errlen, "%s: ", path);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	return -1;
}

int errmsg_at(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errmsg_vat(err, errlen, path, line, fmt, ap);
	va_end(ap);
	return -1;
}
