/* inifile.c - the INI reader of the knowledge files and of config.ini:
 * every error carries its line number, and the bytes come from textfile.c
 * (see inifile.h). */
#include "inifile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "textfile.h"

struct ini {
	const char *path;
	unsigned flags;
	ini_cb cb;
	void *u;
	char *err;
	size_t errlen;
	struct textfile tf;
	int lineno;
	char section[INI_MAX_NAME];
	int section_line;
	char key[INI_MAX_NAME];
	int key_line; /* 0 when no value is pending */
	char value[INI_MAX_VALUE + 1];
	size_t vlen;
	char *seen[INI_MAX_SECTIONS];
	int nseen;
};

static int fail(struct ini *in, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ini *in, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errmsg_vat(in->err, in->errlen, in->path, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* Calls the callback; its error gets the location of line. */
static int emit(struct ini *in, int line, enum ini_ev ev, const char *key, char *value)
{
	char msg[1024];
	msg[0] = '\0';
	if (in->cb(in->u, ev, line, ev == INI_EOF ? NULL : in->section, key, value, msg,
		   sizeof msg) < 0)
		return fail(in, line, "%s", msg);
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* INI_INLINE_COMMENTS: cuts s at a `;` that follows a space or a tab. */
static void cut_comment(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == ';' && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static int flush_value(struct ini *in)
{
	int line = in->key_line;
	if (!line)
		return 0;
	in->key_line = 0;
	in->value[in->vlen] = '\0';
	return emit(in, line, INI_KEY, in->key, in->value);
}

static int end_section(struct ini *in)
{
	if (!in->section_line)
		return 0;
	return emit(in, in->section_line, INI_SECTION_END, NULL, NULL);
}

static int section_line(struct ini *in, char *s)
{
	size_t n = strlen(s);
	char *close = strchr(s, ']');
	if (close && close[1]) {
		close[1] = '\0';
		return fail(in, in->lineno, "text after the `]` of a section header; write the "
			    "header alone on its line, as in %.80s", s);
	}
	if (!close)
		return fail(in, in->lineno, "a section header must end with `]`; close it, "
			    "as in %.80s]", s);
	s[n - 1] = '\0';
	char *name = trim(s + 1);
	if (!*name || strlen(name) >= sizeof in->section)
		return fail(in, in->lineno, "empty or over-long section name (at most %d bytes); "
			    "write a short name between the brackets", INI_MAX_NAME - 1);
	if (end_section(in) < 0)
		return -1;
	if (in->flags & INI_UNIQUE_SECTIONS) {
		for (int i = 0; i < in->nseen; i++)
			if (!strcmp(in->seen[i], name))
				return fail(in, in->lineno, "section [%s] appears twice; merge the two", name);
		if (in->nseen >= INI_MAX_SECTIONS || !(in->seen[in->nseen] = strdup(name)))
			return fail(in, in->lineno, "too many sections (limit %d)", INI_MAX_SECTIONS);
		in->nseen++;
	}
	strcpy(in->section, name);
	in->section_line = in->lineno;
	return emit(in, in->lineno, INI_SECTION, NULL, NULL);
}

static int parse_line(struct ini *in, char *raw)
{
	char *s;
	int indented = (raw[0] == ' ' || raw[0] == '\t');
	int cont = in->flags & INI_CONTINUATION;

	if (in->flags & INI_INLINE_COMMENTS)
		cut_comment(raw);
	s = trim(raw);
	if (*s == '#' || *s == ';')
		return 0;
	if (cont && indented && *s && in->key_line) {
		size_t n = strlen(s);
		if (in->vlen + 1 + n > INI_MAX_VALUE)
			return fail(in, in->lineno, "the value of `%s` is longer than %d bytes; shorten it",
				    in->key, INI_MAX_VALUE);
		in->value[in->vlen++] = '\n';
		memcpy(in->value + in->vlen, s, n);
		in->vlen += n;
		return 0;
	}
	if (flush_value(in) < 0)
		return -1;
	if (!*s)
		return 0;
	if (cont && indented)
		return fail(in, in->lineno,
			    "indented line continues no value; remove the leading spaces, or put "
			    "it right under a `key = value` line");
	if (*s == '[')
		return section_line(in, s);
	char *eq = strchr(s, '=');
	if (!eq && !(in->flags & INI_BARE_LINES))
		return fail(in, in->lineno, "expected `key = value`, a [section] or a # comment");
	if (!in->section_line) {
		if (eq)
			*eq = '\0';
		return fail(in, in->lineno, "`%s` is outside any [section], since it comes before any [section]; put it under one", trim(s));
	}
	if (!eq)
		return emit(in, in->lineno, INI_KEY, NULL, s);
	*eq = '\0';
	char *key = trim(s), *value = trim(eq + 1);
	if ((!*key && !(in->flags & INI_BARE_LINES)) || strlen(key) >= sizeof in->key)
		return fail(in, in->lineno, "empty or over-long key before `=` (at most %d "
			    "bytes); write `key = value`", INI_MAX_NAME - 1);
	if (!cont)
		return emit(in, in->lineno, INI_KEY, key, value);
	strcpy(in->key, key);
	in->vlen = strlen(value);
	memcpy(in->value, value, in->vlen);
	in->key_line = in->lineno;
	return 0;
}

int inifile_read(const char *path, size_t max_line, unsigned flags, ini_cb cb,
	     void *u, char *err, size_t errlen)
{
	struct ini *in = calloc(1, sizeof *in);
	char *line;
	int rc = -1;

	if (!in) {
		return errmsg_at(err, errlen, path, 0, "out of memory");
	}
	*in = (struct ini){ .path = path, .flags = flags, .cb = cb, .u = u, .err = err,
			    .errlen = errlen };
	if (textfile_read(&in->tf, path, max_line, err, errlen) < 0)
		goto out;
	while ((line = textfile_line(&in->tf))) {
		in->lineno = in->tf.lineno;
		if (parse_line(in, line) < 0)
			goto out;
	}
	if (flush_value(in) < 0 || end_section(in) < 0 ||
	    emit(in, in->lineno > 0 ? in->lineno : 1, INI_EOF, NULL, NULL) < 0)
		goto out;
	rc = 0;
out:
	textfile_free(&in->tf);
	for (int i = 0; i < in->nseen; i++)
		free(in->seen[i]);
	free(in);
	return rc;
}
