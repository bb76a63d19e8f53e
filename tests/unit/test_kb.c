/* test_kb.c - the knowledge loader: the bundled knowledge/ loads with the
 * values of domain.md, and broken copies (in a temporary directory) are
 * refused whole with the right "file:line: ..." message.
 * Run from the repository root (tests/run.sh does), or set
 * FAQBOT_KNOWLEDGE to the knowledge directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cal.h"
#include "kb.h"
#include "rules.h"

static const char *const files[] = {
	"calendar.ini", "stages.ini", "answers.ini", "lexicon.ini", "intents.ini", "model.bin",
};

static const char *kb_src(void)
{
	const char *d = getenv("FAQBOT_KNOWLEDGE");
	return d && *d ? d : "knowledge";
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

static void put_file(const char *dir, const char *name, const char *data, size_t len,
		     const char *mode)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_str(const char *dir, const char *name, const char *s)
{
	put_file(dir, name, s, strlen(s), "wb");
}

static void append_str(const char *dir, const char *name, const char *s)
{
	put_file(dir, name, s, strlen(s), "ab");
}

static int count_lines(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *p = slurp(path, NULL);
	int n = 0;
	for (char *c = p; *c; c++)
		n += *c == '\n';
	free(p);
	return n;
}

/* A fresh copy of the bundled knowledge in a temporary directory. */
static int setup_copy(void **state)
{
	/* mkdtemp wants the name to end in six capital X */
	char *dir = strdup("/tmp/faqbot-kb.123456");
	assert_non_null(dir);
	memset(dir + strlen(dir) - 6, 'X', 6);
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char src[512];
		size_t len;
		snprintf(src, sizeof src, "%s/%s", kb_src(), files[i]);
		char *p = slurp(src, &len);
		put_file(dir, files[i], p, len, "wb");
		free(p);
	}
	*state = dir;
	return 0;
}

static int teardown_copy(void **state)
{
	char *dir = *state;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[512];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		remove(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
	return 0;
}

/* Loads dir, which must fail with an error starting "dir/file:line: " and
 * containing `what`. */
static void expect_error(const char *dir, const char *file, int line, const char *what)
{
	char err[1024] = "";
	struct kb *kb = kb_load(dir, err, sizeof err);
	if (kb)
		kb_free(kb);
	assert_null(kb);
	char prefix[600];
	if (line > 0)
		snprintf(prefix, sizeof prefix, "%s/%s:%d: ", dir, file, line);
	else
		snprintf(prefix, sizeof prefix, "%s/%s: ", dir, file);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, what)) {
		print_error("got: %s\nwanted prefix: %s and: %s\n", err, prefix, what);
		fail();
	}
}

static const char good_stages[] =
	"[regional]\n"                         /* 1 */
	"delay = 1\n"                          /* 2 */
	"unit = calendar\n"                    /* 3 */
	"source = le lendemain\n"              /* 4 */
	"[rco_export]\n"                       /* 5 */
	"delay = 0\nunit = calendar\nsource = le soir\n" /* 6-8 */
	"[rco_visible]\n"                      /* 9 */
	"delay = 2\nunit = working\nsource = 48h\n"     /* 10-12 */
	"[ft_min]\n"                           /* 13 */
	"delay = 2\nunit = working\nsource = 2 a 7\n"   /* 14-16 */
	"[ft_max]\n"                           /* 17 */
	"delay = 7\nunit = working\nsource = 2 a 7\n";  /* 18-20 */

static void test_real_knowledge(void **state)
{
	(void)state;
	char err[1024] = "";
	struct kb *kb = kb_load(kb_src(), err, sizeof err);
	if (!kb)
		print_error("%s\n", err);
	assert_non_null(kb);
	assert_string_equal(kb_dir(kb), kb_src());
	assert_non_null(kb_lexicon(kb));
	assert_non_null(kb_intents(kb));
	assert_non_null(kb_answers(kb));

	/* delays of domain.md, "Conventions" */
	struct delays want;
	rules_delays_default(&want);
	const struct delays *d = kb_delays(kb);
	assert_int_equal(d->regional.n, want.regional.n);
	assert_int_equal(d->regional.unit, want.regional.unit);
	assert_int_equal(d->rco_export.n, want.rco_export.n);
	assert_int_equal(d->rco_visible.n, want.rco_visible.n);
	assert_int_equal(d->rco_visible.unit, DU_WORKING);
	assert_int_equal(d->ft_min.n, want.ft_min.n);
	assert_int_equal(d->ft_max.n, want.ft_max.n);
	assert_int_equal(d->ft_max.unit, DU_WORKING);

	/* the 11 French public holidays of domain.md, for several years */
	struct cal_rules def;
	cal_rules_default(&def);
	const struct cal_rules *c = kb_cal(kb);
	assert_int_equal(c->nfixed, 8);
	assert_int_equal(c->neaster, 3);
	for (int y = 2020; y <= 2035; y++) {
		struct date dt = { y, 1, 1 };
		for (int i = 0; i < 366 && dt.y == y; i++, dt = date_add_days(dt, 1))
			assert_int_equal(cal_is_holiday(c, dt), cal_is_holiday(&def, dt));
	}
	kb_free(kb);
	kb_free(NULL);
}

static void test_closures_sorted(void **state)
{
	const char *dir = *state;
	append_str(dir, "calendar.ini", "2027-12-24 = fermeture\n2026-12-24 = fermeture\n");
	char err[1024];
	struct kb *kb = kb_load(dir, err, sizeof err);
	assert_non_null(kb);
	const struct cal_rules *c = kb_cal(kb);
	assert_int_equal(c->nclosure, 2);
	assert_true(c->closure[0] < c->closure[1]);
	assert_true(cal_is_holiday(c, (struct date){ 2026, 12, 24 }));
	assert_false(cal_is_workday(c, (struct date){ 2027, 12, 24 }));
	kb_free(kb);
}

static void test_bad_unit(void **state)
{
	const char *dir = *state;
	char s[sizeof good_stages + 16];
	strcpy(s, good_stages);
	char *u = strstr(s, "unit = working"); /* line 11 */
	memcpy(u, "unit = wrkdays", 14);
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 11, "unit `wrkdays` is unknown");
}

static void test_good_stages_file(void **state)
{
	const char *dir = *state;
	write_str(dir, "stages.ini", good_stages);
	char err[1024];
	struct kb *kb = kb_load(dir, err, sizeof err);
	assert_non_null(kb);
	kb_free(kb);
}

static void test_missing_key(void **state)
{
	const char *dir = *state;
	char s[sizeof good_stages];
	strcpy(s, good_stages);
	/* drop "source = 48h" of [rco_visible] (line 9) */
	char *p = strstr(s, "source = 48h\n");
	memmove(p, p + 13, strlen(p + 13) + 1);
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 9, "stage [rco_visible] has no `source`");
}

static void test_missing_stage(void **state)
{
	const char *dir = *state;
	char s[sizeof good_stages];
	strcpy(s, good_stages);
	*strstr(s, "[ft_max]") = '\0'; /* 16 lines left */
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 16, "missing stage [ft_max]");
}

static void test_unknown_key(void **state)
{
	const char *dir = *state;
	char s[sizeof good_stages + 32];
	strcpy(s, good_stages);
	strcat(s, "colour = red\n"); /* line 21 */
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 21, "unknown key `colour` in [ft_max]");
}

static void test_bad_number(void **state)
{
	const char *dir = *state;
	char s[sizeof good_stages];
	strcpy(s, good_stages);
	memcpy(strstr(s, "delay = 7"), "delay = x", 9); /* line 18 */
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 18, "not a whole number");
}

static void test_duplicates(void **state)
{
	const char *dir = *state;
	char s[sizeof good_stages + 32];
	strcpy(s, good_stages);
	strcat(s, "delay = 8\n"); /* line 21 */
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 21, "set twice");

	strcpy(s, good_stages);
	strcat(s, "[regional]\n"); /* line 21 */
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 21, "appears twice");
}

static void test_min_after_max(void **state)
{
	const char *dir = *state;
	char s[sizeof good_stages];
	strcpy(s, good_stages);
	memcpy(strstr(s, "delay = 7"), "delay = 1", 9);
	write_str(dir, "stages.ini", s);
	expect_error(dir, "stages.ini", 20, "ft_min (2) is larger than ft_max (1)");
}

static void test_huge_line(void **state)
{
	const char *dir = *state;
	int n = count_lines(dir, "answers.ini");
	size_t big = 1u << 20;
	char *p = malloc(big + 16);
	assert_non_null(p);
	memcpy(p, "x = ", 4);
	memset(p + 4, 'a', big);
	memcpy(p + 4 + big, "\n", 2);
	put_file(dir, "answers.ini", p, big + 5, "ab");
	expect_error(dir, "answers.ini", n + 1, "line longer than 4096 bytes");
	/* over the size cap: the first over-long line is named ... */
	for (int i = 0; i < 10; i++)
		put_file(dir, "answers.ini", p, big + 5, "ab");
	expect_error(dir, "answers.ini", n + 1, "line longer than 4096 bytes");
	/* ... else the size */
	memset(p, '#', 99);
	p[99] = '\n';
	for (int i = 0; i < 50000; i++)
		put_file(dir, "calendar.ini", p, 100, "ab");
	free(p);
	expect_error(dir, "calendar.ini", 0, "over the limit of 4194304 bytes (4 MiB)");
}

/* Every knowledge file is read by textfile.c: a NUL byte, a FIFO, a
 * device and a directory are refused with the file's name, at once (a
 * FIFO with no writer blocked fopen for ever; /dev/zero was read until
 * killed; the lexicon and intents reader cut a line at a NUL and loaded
 * the rest). */
static void on_alarm(int sig)
{
	static const char m[] = "kb_load blocked or looped for 20 s on a file that is not text\n";
	(void)sig;
	(void)!write(2, m, sizeof m - 1);
	_exit(1);
}

static void test_not_text(void **state)
{
	const char *dir = *state;
	signal(SIGALRM, on_alarm);
	alarm(20);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[512], *p;
		size_t len;
		if (!strcmp(files[i], "model.bin"))
			continue; /* binary: lmodel.c checks it (test_feat.c) */
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		p = slurp(path, &len);
		/* a NUL byte at the end of line 2 */
		char *nl = strchr(strchr(p, '\n') + 1, '\n');
		assert_non_null(nl);
		char *q = malloc(len + 2);
		assert_non_null(q);
		size_t pre = (size_t)(nl - p);
		memcpy(q, p, pre);
		q[pre] = '\0';
		memcpy(q + pre + 1, nl, len - pre);
		put_file(dir, files[i], q, len + 1, "wb");
		free(q);
		expect_error(dir, files[i], 2, "NUL byte");

		assert_int_equal(unlink(path), 0);
		assert_int_equal(mkfifo(path, 0600), 0);
		expect_error(dir, files[i], 0, "is a FIFO (named pipe), not a regular file");
		assert_int_equal(unlink(path), 0);
		assert_int_equal(symlink("/dev/zero", path), 0);
		expect_error(dir, files[i], 0, "is a character device, not a regular file");
		assert_int_equal(unlink(path), 0);
		assert_int_equal(mkdir(path, 0700), 0);
		expect_error(dir, files[i], 0, "is a directory, not a regular file");
		assert_int_equal(rmdir(path), 0);
		put_file(dir, files[i], p, len, "wb");
		free(p);
	}
	char err[1024];
	struct kb *kb = kb_load(dir, err, sizeof err);
	if (!kb)
		fail_msg("the restored copy does not load: %s", err);
	kb_free(kb);
	alarm(0);
}

static void test_bad_dates(void **state)
{
	const char *dir = *state;
	int n = count_lines(dir, "calendar.ini");
	append_str(dir, "calendar.ini", "2026-02-30 = fermeture\n");
	expect_error(dir, "calendar.ini", n + 1, "`2026-02-30` is not a date");

	write_str(dir, "calendar.ini", "[fixed]\n01-01 = Jour de l'an\n13-01 = x\n[easter]\n");
	expect_error(dir, "calendar.ini", 3, "`13-01` is not a day of the year");

	write_str(dir, "calendar.ini", "[fixed]\n01-01 = a\n01-01 = b\n[easter]\n");
	expect_error(dir, "calendar.ini", 3, "listed twice");

	write_str(dir, "calendar.ini", "[fixed]\n[easter]\neaster = 1\n");
	expect_error(dir, "calendar.ini", 3, "not a number of days after Easter");

	write_str(dir, "calendar.ini", "[fixed]\n05-01 = Fête du travail\n");
	expect_error(dir, "calendar.ini", 2, "missing section [easter]");

	write_str(dir, "calendar.ini", "[fixed]\n05-01 =\n[easter]\n");
	expect_error(dir, "calendar.ini", 2, "has no name");

	write_str(dir, "calendar.ini", "[holidays]\n");
	expect_error(dir, "calendar.ini", 1, "unknown section [holidays]");
}

static void test_syntax(void **state)
{
	const char *dir = *state;
	write_str(dir, "calendar.ini", "[fixed]\n05-01 Fête du travail\n");
	expect_error(dir, "calendar.ini", 2, "expected `key = value`");

	write_str(dir, "calendar.ini", "05-01 = Fête du travail\n");
	expect_error(dir, "calendar.ini", 1, "before any [section]");

	write_str(dir, "calendar.ini", "# x\n\n  indented = 1\n");
	expect_error(dir, "calendar.ini", 3, "indented line continues no value");

	write_str(dir, "calendar.ini", "[fixed\n");
	expect_error(dir, "calendar.ini", 1, "must end with `]`");

	write_str(dir, "calendar.ini", "[fixed]\n05-01 = F\xC3\n");
	expect_error(dir, "calendar.ini", 2, "invalid UTF-8");

	put_file(dir, "calendar.ini", "[fixed]\n05-01 = a\0b\n", 19, "wb");
	expect_error(dir, "calendar.ini", 2, "NUL byte");
}

static void test_answers_errors(void **state)
{
	const char *dir = *state;
	int n = count_lines(dir, "answers.ini");
	append_str(dir, "answers.ini", "[thanks]\n");
	expect_error(dir, "answers.ini", n + 1, "section [thanks] appears twice");
}

static void test_answers_placeholder(void **state)
{
	const char *dir = *state;
	int n = count_lines(dir, "answers.ini");
	append_str(dir, "answers.ini", "[Non sense]\n");
	expect_error(dir, "answers.ini", n + 1, "unknown section [Non sense]");
}

static void test_answers_bad_key(void **state)
{
	const char *dir = *state;
	/* [thanks] text is used without a validation date: {ft_max} is refused */
	char path[512];
	snprintf(path, sizeof path, "%s/answers.ini", dir);
	char *p = slurp(path, NULL);
	char *t = strstr(p, "[thanks]\ntext = ");
	assert_non_null(t);
	int line = 2;
	for (char *c = p; c < t; c++)
		line += *c == '\n';
	const char *rep = "[thanks]\ntext = merci {ft_max}";
	size_t cut = strcspn(t + 16, "\n");
	size_t len = strlen(p);
	char *q = malloc(len + 64);
	assert_non_null(q);
	size_t pre = (size_t)(t - p);
	memcpy(q, p, pre);
	strcpy(q + pre, rep);
	strcat(q, t + 16 + cut);
	write_str(dir, "answers.ini", q);
	expect_error(dir, "answers.ini", line, "cannot use `{ft_max}`");
	free(q);
	free(p);
}

static void test_answers_missing(void **state)
{
	const char *dir = *state;
	write_str(dir, "answers.ini", "[thanks]\ntext = Merci\n");
	expect_error(dir, "answers.ini", 2, "missing `kairos` in [platforms]");
	/* a section that lacks a key is reported at its own line */
	write_str(dir, "answers.ini", "# x\n[state]\nSAIS = a\nDIFF = b\nARCH = c\n[thanks]\n");
	expect_error(dir, "answers.ini", 2, "missing `none` in [state]");
}

static void test_missing_file(void **state)
{
	const char *dir = *state;
	char p[512];
	snprintf(p, sizeof p, "%s/stages.ini", dir);
	unlink(p);
	expect_error(dir, "stages.ini", 0, "cannot open");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_copy, teardown_copy)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_knowledge),
		T(test_closures_sorted),
		T(test_good_stages_file),
		T(test_bad_unit),
		T(test_missing_key),
		T(test_missing_stage),
		T(test_unknown_key),
		T(test_bad_number),
		T(test_duplicates),
		T(test_min_after_max),
		T(test_huge_line),
		T(test_not_text),
		T(test_bad_dates),
		T(test_syntax),
		T(test_answers_errors),
		T(test_answers_placeholder),
		T(test_answers_bad_key),
		T(test_answers_missing),
		T(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
