/* test_textfile.c - the safe text-file reader: lines (LF, CRLF, a last
 * line without newline, a BOM), and each refusal with its message: NUL
 * byte, invalid UTF-8, over-long line, over-size file, FIFO (no writer:
 * must not block), a symbolic link to /dev/zero, a directory, a missing
 * file.  Also the UTF-8 validator of utf8.c it relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "textfile.h"
#include "utf8.h"

static char dir[] = "/tmp/faqbot-textfile.XXXXXX";
static char path[300];
static char err[1024];

static void put(const char *data, size_t len)
{
	FILE *f;
	remove(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Reads path expecting failure with "path:" + where + " " + what inside. */
static void expect_error(const char *where, const char *what)
{
	struct textfile tf;
	char want[600];
	int r = textfile_read(&tf, path, 64, err, sizeof err);
	if (r == 0) {
		textfile_free(&tf);
		fail_msg("read although it should fail with: %s", what);
	}
	assert_null(tf.data);
	snprintf(want, sizeof want, "%s:%s %s", path, where, what);
	if (strncmp(err, want, strlen(want)))
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
	textfile_free(&tf); /* harmless after a failure */
}

static void expect_lines(const char *data, size_t len, const char *const *want, int n)
{
	struct textfile tf;
	char *l;
	int i = 0;
	put(data, len);
	if (textfile_read(&tf, path, 64, err, sizeof err) < 0)
		fail_msg("%s", err);
	while ((l = textfile_line(&tf))) {
		assert_true(i < n);
		assert_string_equal(l, want[i]);
		assert_int_equal(tf.lineno, i + 1);
		i++;
	}
	assert_int_equal(i, n);
	assert_null(textfile_line(&tf));
	textfile_free(&tf);
}

static void test_lines(void **state)
{
	static const char *const three[] = { "a = 1", "", "é = ü" };
	static const char *const crlf[] = { "[s]", "k = v", "last" };
	static const char *const one[] = { "only" };
	static const char *const cr_inside[] = { "a\rb", "c" };
	(void)state;
	expect_lines("a = 1\n\n\xC3\xA9 = \xC3\xBC\n", 14, three, 3);
	/* CRLF, and a missing final newline */
	expect_lines("[s]\r\nk = v\r\nlast", 16, crlf, 3);
	expect_lines("\xEF\xBB\xBFonly\n", 8, one, 1); /* BOM dropped */
	expect_lines("only", 4, one, 1);
	expect_lines("a\rb\nc\r\n", 7, cr_inside, 2);
	expect_lines("", 0, NULL, 0);
	/* exactly max_line bytes (64) passes, CR not counted */
	{
		char buf[80];
		static const char *const l64[1] = { NULL };
		const char *w[1];
		memset(buf, 'x', 64);
		memcpy(buf + 64, "\r\n", 2);
		buf[66] = 0;
		w[0] = strndup(buf, 64);
		(void)l64;
		expect_lines(buf, 66, w, 1);
		free((void *)w[0]);
	}
}

static void test_nul(void **state)
{
	(void)state;
	put("[a]\nk = v\0w\n", 12);
	expect_error("2:", "NUL byte at column 6;");
	put("\0", 1);
	expect_error("1:", "NUL byte at column 1;");
	/* at the very end, after the last newline */
	put("a\nb\n\0", 5);
	expect_error("3:", "NUL byte");
}

static void test_utf8(void **state)
{
	(void)state;
	put("ok\nF\xC3\n", 6); /* cut sequence */
	expect_error("2:", "invalid UTF-8 (byte 0xC3 at column 2)");
	put("\xC0\xAF\n", 3); /* overlong '/' */
	expect_error("1:", "invalid UTF-8");
	put("x\xED\xA0\x80\n", 5); /* surrogate */
	expect_error("1:", "invalid UTF-8 (byte 0xED at column 2)");
	put("\xF4\x90\x80\x80", 4); /* above U+10FFFF */
	expect_error("1:", "invalid UTF-8");
	put("\xFF", 1);
	expect_error("1:", "invalid UTF-8");
	put("\xEF\xBB\xBF\xEF\xBB\xBF", 6); /* a BOM after the first is text */
	struct textfile tf;
	assert_int_equal(textfile_read(&tf, path, 0, err, sizeof err), 0);
	assert_string_equal(textfile_line(&tf), "\xEF\xBB\xBF");
	textfile_free(&tf);
}

static void test_long_line(void **state)
{
	char buf[200];
	(void)state;
	memset(buf, 'x', sizeof buf);
	memcpy(buf, "a\nb\n", 4);
	buf[150] = '\n';
	put(buf, sizeof buf);
	expect_error("3:", "line longer than 64 bytes;");
	/* a last line without newline is measured too */
	put(buf + 151, 49);
	struct textfile tf;
	assert_int_equal(textfile_read(&tf, path, 64, err, sizeof err), 0);
	textfile_free(&tf);
	put(buf + 4, 146);
	expect_error("1:", "line longer than 64 bytes");
}

static void test_size_cap(void **state)
{
	struct textfile tf;
	char *big = malloc(TEXTFILE_MAX_SIZE + 1);
	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i <= TEXTFILE_MAX_SIZE; i++)
		big[i] = (i % 32 == 31) ? '\n' : 'a';
	put(big, TEXTFILE_MAX_SIZE); /* exactly the cap: read */
	assert_int_equal(textfile_read(&tf, path, 64, err, sizeof err), 0);
	assert_int_equal(tf.len, TEXTFILE_MAX_SIZE);
	textfile_free(&tf);
	put(big, TEXTFILE_MAX_SIZE + 1);
	expect_error("", "over the limit of 4194304 bytes (4 MiB) for a text file; shorten it");
	/* over the cap because of a long line: that line is named */
	memset(big + 3 * 32, 'b', 1000);
	put(big, TEXTFILE_MAX_SIZE + 1);
	free(big);
	expect_error("4:", "line longer than 64 bytes");
}

static void on_alarm(int sig)
{
	(void)sig;
	/* A blocked open() or an endless read() of the old code ends here. */
	static const char m[] = "textfile_read blocked or looped for 5 s\n";
	(void)!write(2, m, sizeof m - 1);
	_exit(1);
}

static void test_not_regular(void **state)
{
	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(5);
	remove(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_error("", "is a FIFO (named pipe), not a regular file;");
	remove(path);
	assert_int_equal(symlink("/dev/zero", path), 0);
	expect_error("", "is a character device, not a regular file;");
	remove(path);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_error("", "is a directory, not a regular file;");
	assert_int_equal(rmdir(path), 0);
	expect_error("", "cannot open: No such file or directory;");
	/* a symbolic link to a regular file is fine */
	{
		char target[320];
		struct textfile tf;
		snprintf(target, sizeof target, "%s/target", dir);
		FILE *f = fopen(target, "w");
		assert_non_null(f);
		fputs("x = 1\n", f);
		fclose(f);
		assert_int_equal(symlink(target, path), 0);
		assert_int_equal(textfile_read(&tf, path, 64, err, sizeof err), 0);
		assert_string_equal(textfile_line(&tf), "x = 1");
		textfile_free(&tf);
		remove(path);
		remove(target);
	}
	alarm(0);
}

static void test_utf8_validator(void **state)
{
	(void)state;
	assert_int_equal(utf8_valid("", 0), 1);
	assert_int_equal(utf8_valid("abc", 3), 1);
	assert_int_equal(utf8_valid("a\0b", 3), 1); /* NUL is the caller's business */
	assert_int_equal(utf8_valid("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14), 1);
	assert_int_equal(utf8_valid("\xF4\x8F\xBF\xBF", 4), 1);  /* U+10FFFF */
	assert_int_equal(utf8_valid("\xED\x9F\xBF", 3), 1);      /* U+D7FF */
	assert_int_equal(utf8_valid("\xEE\x80\x80", 3), 1);      /* U+E000 */
	assert_int_equal(utf8_valid("\xC3", 1), 0);
	assert_int_equal(utf8_valid("\xC3\xA9", 1), 0);          /* cut by n */
	assert_int_equal(utf8_valid("\x80", 1), 0);
	assert_int_equal(utf8_valid("\xC0\x80", 2), 0);          /* overlong NUL */
	assert_int_equal(utf8_valid("\xC1\xBF", 2), 0);
	assert_int_equal(utf8_valid("\xE0\x9F\xBF", 3), 0);      /* overlong */
	assert_int_equal(utf8_valid("\xF0\x8F\xBF\xBF", 4), 0);  /* overlong */
	assert_int_equal(utf8_valid("\xED\xA0\x80", 3), 0);      /* U+D800 */
	assert_int_equal(utf8_valid("\xED\xBF\xBF", 3), 0);      /* U+DFFF */
	assert_int_equal(utf8_valid("\xF4\x90\x80\x80", 4), 0);  /* U+110000 */
	assert_int_equal(utf8_valid("\xF5\x80\x80\x80", 4), 0);
	assert_int_equal(utf8_valid("\xFE", 1), 0);
	assert_int_equal(utf8_valid("\xE2\x82", 2), 0);
	assert_int_equal(utf8_valid("\xE2\x28\xA1", 3), 0);
	assert_int_equal(utf8_prefix("ab\xC3\xA9\xFF" "c", 6), 4);
	assert_int_equal(utf8_seq("\xE2\x82\xAC!", 4), 3);
	assert_int_equal(utf8_seq("\xE2\x82\xAC", 2), 0);
	assert_int_equal(utf8_seq("x", 0), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/file.ini", dir);
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
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_utf8_validator),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
