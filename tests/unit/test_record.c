/* test_record.c - the record of questions (record.c): the asker is stored
 * only as a keyed hash (same person -> same hash, case-insensitive; another
 * install's key -> another hash), missed questions keep their text and
 * answered ones do not, "!faux" marks only the asker's own last answer and
 * only within 10 minutes, and rows older than record_days are purged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "record.h"

static char dir[] = "/tmp/faqbot-rectest.XXXXXX";
static char path[300], path2[300];

static long long one(const char *p, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	long long v = -1;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static void test_hash(void **state)
{
	char err[512], a[65], b[65], c[65], d[65], e[65];
	struct record *r = record_open(path, 90, err, sizeof err), *r2;
	(void)state;
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(record_asker_hash(r, "libera", "Alice", a), 0);
	assert_int_equal(record_asker_hash(r, "libera", "alice", b), 0);
	assert_int_equal(record_asker_hash(r, "oftc", "alice", c), 0);
	assert_int_equal(strlen(a), 64);
	assert_string_equal(a, b);     /* IRC nicks: one person whatever the case */
	assert_string_not_equal(a, c); /* another network, another asker */
	assert_null(strstr(a, "alice"));
	record_close(r);
	/* The key is kept: the same install gives the same hash again... */
	r = record_open(path, 90, err, sizeof err);
	assert_non_null(r);
	assert_int_equal(record_asker_hash(r, "libera", "alice", d), 0);
	assert_string_equal(a, d);
	record_close(r);
	/* ...and another install (its own random key) another one. */
	r2 = record_open(path2, 90, err, sizeof err);
	assert_non_null(r2);
	assert_int_equal(record_asker_hash(r2, "libera", "alice", e), 0);
	assert_string_not_equal(a, e);
	record_close(r2);
}

static void test_text_and_wrong(void **state)
{
	char err[512];
	struct record *r = record_open(path, 90, err, sizeof err);
	time_t t = 1800000000;
	(void)state;
	assert_non_null(r);
	assert_int_equal(record_question(r, t, "n", "#c", NULL, "alice", "la tarte ?", 10,
					 "out_of_scope", 0.1, 1), 0);
	assert_int_equal(record_question(r, t + 1, "n", "#c", NULL, "bob", "état DIFF ?", 12, "state",
					 0.97, 0), 0);
	assert_int_equal(one(path, "SELECT count(text) FROM questions WHERE missed = 1"), 1);
	assert_int_equal(one(path, "SELECT count(text) FROM questions WHERE missed = 0"), 0);
	/* carol asked nothing: nothing to mark */
	assert_int_equal(record_wrong(r, t + 5, "n", "carol"), 0);
	/* bob on another network is another asker */
	assert_int_equal(record_wrong(r, t + 5, "other", "bob"), 0);
	/* bob after 10 minutes: too late */
	assert_int_equal(record_wrong(r, t + 1 + RECORD_WRONG_WINDOW + 1, "n", "bob"), 0);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE wrong = 1"), 0);
	/* bob in time (any case of his nick): marked, with its question */
	assert_int_equal(record_wrong(r, t + 60, "n", "BOB"), 1);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE wrong = 1 AND text = "
			      "'état DIFF ?' AND intent = 'state'"), 1);
	/* alice's refused question may be marked too */
	assert_int_equal(record_wrong(r, t + 60, "n", "alice"), 1);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE wrong = 1"), 2);
	record_close(r);
}

static void test_purge(void **state)
{
	char err[512];
	struct record *r = record_open(path, 30, err, sizeof err);
	time_t now = 1900000000;
	(void)state;
	assert_non_null(r);
	assert_int_equal(record_question(r, now - 31 * 86400, "n", NULL, NULL, "a", "vieux", 5,
					 "out_of_scope", 0, 1), 0);
	assert_int_equal(record_question(r, now - 29 * 86400, "n", NULL, NULL, "a", "jeune", 5,
					 "out_of_scope", 0, 1), 0);
	long long before = one(path, "SELECT count(*) FROM questions");
	assert_true(record_purge_old(r, now) >= 1);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE text = 'vieux'"), 0);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE text = 'jeune'"), 1);
	assert_true(one(path, "SELECT count(*) FROM questions") < before);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE room IS NULL"), 1);
	record_close(r);
}

static int kicks;
static void kick(void *arg)
{
	(void)arg;
	kicks++;
}

/* The Matrix client writes a batch in one transaction on its own
 * connection, and the bot records from inside it: the record must not
 * wait for the lock (it would stall the bot, then fail), but queue. */
static void test_queued_while_locked(void **state)
{
	char err[512];
	struct record *r = record_open(path, 90, err, sizeof err);
	sqlite3 *other;
	time_t t = 1800000000;
	(void)state;
	assert_non_null(r);
	record_set_kick(r, kick, NULL);
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	kicks = 0;
	assert_int_equal(record_question(r, t, "q", "#c", NULL, "eve", "réponse ?", 10, "state",
					 0.9, 0), 0);
	assert_int_equal(record_question(r, t, "q", "#c", NULL, "zoe", "gâteau ?", 9,
					 "out_of_scope", 0.1, 1), 0);
	assert_int_equal(kicks, 1);              /* one flush asked for */
	assert_int_equal(record_pending(r), 2);
	/* "!faux" on answers whose rows are not written yet */
	assert_int_equal(record_wrong(r, t + 5, "q", "eve"), 1);
	assert_int_equal(record_wrong(r, t + 5, "q", "zoe"), 1);
	assert_int_equal(record_flush(r), 4);    /* still locked: later */
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(record_flush(r), 0);
	assert_int_equal(record_pending(r), 0);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE net = 'q' AND wrong = 1 "
			      "AND text = 'réponse ?' AND missed = 0"), 1);
	assert_int_equal(one(path, "SELECT count(*) FROM questions WHERE net = 'q' AND wrong = 1 "
			      "AND text = 'gâteau ?' AND missed = 1"), 1);
	record_close(r);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/a.db", dir);
	snprintf(path2, sizeof path2, "%s/b.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_text_and_wrong),
		cmocka_unit_test(test_purge),
		cmocka_unit_test(test_queued_while_locked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
