/* test_log.c - credential redaction of protocol lines, level names, and
 * that one log call is one line whatever bytes the message holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "log.h"

static void check(const char *in, const char *want)
{
	char out[512];
	size_t n = log_redact(in, strlen(in), out, sizeof out);
	assert_int_equal(n, strlen(out));
	if (strcmp(out, want))
		fail_msg("redact(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

static void test_redact(void **state)
{
	(void)state;
	check("AUTHENTICATE dGVzdAB0ZXN0AGh1bnRlcjI=", "AUTHENTICATE <redacted>");
	check("AUTHENTICATE PLAIN", "AUTHENTICATE PLAIN");
	check("AUTHENTICATE +", "AUTHENTICATE +");
	check("AUTHENTICATE *", "AUTHENTICATE *");
	check("PASS hunter2", "PASS <redacted>");
	check("pass :hunter2 with spaces", "pass <redacted>");
	check("OPER admin s3cret", "OPER admin <redacted>");
	check("JOIN #secret chankey", "JOIN #secret <redacted>");
	check("JOIN #a,#b k1,k2", "JOIN #a,#b <redacted>");
	check("JOIN #open", "JOIN #open");
	check(":faqbot!u@h JOIN #secret", ":faqbot!u@h JOIN #secret");
	check("PRIVMSG NickServ :IDENTIFY faqbot s3cret", "PRIVMSG NickServ :IDENTIFY <redacted>");
	check("@label=1 :me!u@h PRIVMSG nickserv :identify s3cret",
	      "@label=1 :me!u@h PRIVMSG nickserv :identify <redacted>");
	check("PRIVMSG #chan :IDENTIFY is a word", "PRIVMSG #chan :IDENTIFY is a word");
	check("PRIVMSG #chan :bonjour", "PRIVMSG #chan :bonjour");
	check(":server 001 faqbot :Welcome", ":server 001 faqbot :Welcome");
	check("", "");
	/* Truncation keeps the output terminated and never leaks the tail. */
	char small[12];
	log_redact("PASS hunter2", 12, small, sizeof small);
	assert_null(strstr(small, "hunter2"));
}

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(log_level_from_name("DEBUG"), LOGL_DEBUG);
	assert_int_equal(log_level_from_name("warning"), LOGL_WARN);
	assert_int_equal(log_level_from_name("loud"), -1);
	assert_int_equal(log_level_from_name(NULL), -1);
	setenv("FAQBOT_LOG", "error", 1);
	log_init("debug");
	assert_int_equal(log_get_level(), LOGL_ERROR); /* the environment wins */
	unsetenv("FAQBOT_LOG");
	log_init("debug");
	assert_true(log_enabled(LOGL_DEBUG));
	log_set_level(LOGL_INFO);
	assert_false(log_enabled(LOGL_DEBUG));
}

static void test_one_line(void **state)
{
	char path[] = "/tmp/faqbot-logtest.XXXXXX", buf[4096];
	int fd = mkstemp(path), saved;
	ssize_t n;
	int lines = 0;
	(void)state;
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	log_set_level(LOGL_DEBUG);
	log_info("forged\nline\r\x01 end");
	log_proto("libera", ">>", "AUTHENTICATE c2VjcmV0", 21);
	log_debug("%s", "x");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 3);
	assert_non_null(strstr(buf, "INFO  forged?line?? end"));
	assert_non_null(strstr(buf, "[libera] >> AUTHENTICATE <redacted>"));
	assert_null(strstr(buf, "c2VjcmV0"));
	log_set_level(LOGL_INFO);
}

/* Logs two lines (info, error) with stderr sent to a file; JOURNAL_STREAM
 * names that file (match = 1) or another one; returns what was written. */
static void journal_lines(int match, char *buf, size_t len)
{
	char path[] = "/tmp/faqbot-logtest.XXXXXX", js[64];
	int fd = mkstemp(path), saved;
	struct stat st;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (match ? 0 : 1));
	setenv("JOURNAL_STREAM", js, 1);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	log_init(NULL);
	log_info("ready on %d network(s)", 2);
	log_error("broken\nline");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	log_journal_detect();
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	buf[n] = 0;
}

static void test_journald(void **state)
{
	char buf[1024];
	(void)state;
	journal_lines(1, buf, sizeof buf);
	/* sd-daemon.h prefixes, no timestamp, no level word, one line each */
	assert_string_equal(buf, "<6>ready on 2 network(s)\n<3>broken?line\n");
	/* JOURNAL_STREAM of another stream (e.g. inherited): plain lines */
	journal_lines(0, buf, sizeof buf);
	assert_null(strstr(buf, "<6>"));
	assert_non_null(strstr(buf, "Z INFO  ready on 2 network(s)\n"));
	assert_non_null(strstr(buf, "Z ERROR broken?line\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_journald),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
