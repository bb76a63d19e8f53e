/* test_inifile.c - the INI reader of the knowledge files and config.ini:
 * events in order with their sections and lines, continuation lines, bare
 * lines, unique sections, inline comments, and each refusal with its
 * path:line (including textfile.c's own: NUL byte, FIFO). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inifile.h"

static char dir[] = "/tmp/faqbot-inifile.XXXXXX";
static char path[300];
static char err[1024];
static char log_[4096]; /* the events, one a line */
static char lines_[512]; /* the line of each event */

static void put(const char *data, size_t len)
{
	FILE *f;
	remove(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int record(void *u, enum ini_ev ev, int line, const char *section, const char *key,
		  char *value, char *e, size_t elen)
{
	static const char *const names[] = {"S", "K", "E", "F"};
	size_t n = strlen(log_);
	(void)u;
	snprintf(lines_ + strlen(lines_), sizeof lines_ - strlen(lines_), "%s%d ", names[ev], line);
	snprintf(log_ + n, sizeof log_ - n, "%s %s|%s|%s\n", names[ev],
		 section ? section : "-", key ? key : "-", value ? value : "-");
	if (value && !strncmp(value, "refuse", 6)) {
		snprintf(e, elen, "refused by the callback");
		return -1;
	}
	return 0;
}

static int run(const char *text, unsigned flags)
{
	log_[0] = lines_[0] = err[0] = '\0';
	put(text, strlen(text));
	return inifile_read(path, 64, flags, record, NULL, err, sizeof err);
}

static void expect_error(const char *text, unsigned flags, int line, const char *what)
{
	char loc[400];
	snprintf(loc, sizeof loc, "%s:%d: ", path, line);
	assert_int_equal(run(text, flags), -1);
	if (strncmp(err, loc, strlen(loc)) || !strstr(err, what))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err, loc, what);
}

static void test_events(void **state)
{
	(void)state;
	assert_int_equal(run("# comment\n[a]\nk = v\n; other\n\n[b]\nx=1\n", 0), 0);
	assert_string_equal(log_, "S a|-|-\nK a|k|v\nE a|-|-\nS b|-|-\nK b|x|1\nE b|-|-\nF -|-|-\n");
	/* a section's end is told at its header's line, the end at the last */
	assert_string_equal(lines_, "S2 K3 E2 S6 K7 E6 F7 ");
}

static void test_continuation(void **state)
{
	(void)state;
	assert_int_equal(run("[a]\nk = one\n  two\n\tthree\nz = 2\n", INI_CONTINUATION), 0);
	assert_string_equal(log_, "S a|-|-\nK a|k|one\ntwo\nthree\nK a|z|2\nE a|-|-\nF -|-|-\n");
	assert_string_equal(lines_, "S1 K2 K5 E1 F5 "); /* a value at its key's line */
	/* without the flag an indented line is a line of its own */
	assert_int_equal(run("[a]\nk = one\n  j = two\n", 0), 0);
	assert_string_equal(log_, "S a|-|-\nK a|k|one\nK a|j|two\nE a|-|-\nF -|-|-\n");
	expect_error("[a]\n\n  two\n", INI_CONTINUATION, 3, "continues no value");
}

static void test_bare_lines(void **state)
{
	(void)state;
	assert_int_equal(run("[w]\nbonjour merci\n= x\n", INI_BARE_LINES), 0);
	assert_string_equal(log_, "S w|-|-\nK w|-|bonjour merci\nK w||x\nE w|-|-\nF -|-|-\n");
	expect_error("[w]\nbonjour\n", 0, 2, "expected `key = value`");
	expect_error("[w]\n= x\n", 0, 2, "empty or over-long key");
}

static void test_sections(void **state)
{
	(void)state;
	assert_int_equal(run("[a]\n[a]\n", 0), 0);
	expect_error("[a]\nk = 1\n[a]\n", INI_UNIQUE_SECTIONS, 3, "section [a] appears twice");
	expect_error("k = 1\n", 0, 1, "outside any [section]");
	expect_error("[a]\n[oops\n", 0, 2, "section header must end with `]`");
	expect_error("[a]\n[b] # c\n", 0, 2, "text after the `]` of a section header");
	expect_error("[a]\n[ ]\n", 0, 2, "empty or over-long section name");
}

static void test_inline_comments(void **state)
{
	(void)state;
	assert_int_equal(run("[a] ; c\nk = v ; c\nj = x;y\t;c\nz = ;c\n  ; c\n", INI_INLINE_COMMENTS), 0);
	assert_string_equal(log_, "S a|-|-\nK a|k|v\nK a|j|x;y\nK a|z|\nE a|-|-\nF -|-|-\n");
	/* without the flag a `;` is text (French answers hold some) */
	assert_int_equal(run("[a]\nk = v ; c\n", 0), 0);
	assert_string_equal(log_, "S a|-|-\nK a|k|v ; c\nE a|-|-\nF -|-|-\n");
	expect_error("[a]\nk ; = v\n", INI_INLINE_COMMENTS, 2, "expected `key = value`");
	expect_error("[a ; c]\n", INI_INLINE_COMMENTS, 1, "section header must end with `]`");
}

static void test_callback_error(void **state)
{
	(void)state;
	expect_error("[a]\nk = 1\nj = refuse\n", 0, 3, "refused by the callback");
	/* a continued value is reported on its key's line */
	expect_error("[a]\nj = refuse\n  more\n", INI_CONTINUATION, 2, "refused by the callback");
}

static void test_textfile_refusals(void **state)
{
	(void)state;
	log_[0] = '\0';
	put("[a]\nk = v\0w\n", 12);
	assert_int_equal(inifile_read(path, 64, 0, record, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, ":2: "));
	assert_non_null(strstr(err, "NUL"));
	assert_string_equal(log_, ""); /* nothing handed out from a bad file */
	remove(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(inifile_read(path, 64, 0, record, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	remove(path);
	expect_error("[a]\nk = 0123456789012345678901234567890123456789012345678901234567890123456789\n",
		     0, 2, "longer than 64 bytes");
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/x.ini", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove(path);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_bare_lines),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_textfile_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
