/* test_store.c - the SQLite state store: file mode, schema versions and
 * migrations, accounts, sync token, rooms, the exactly-once bookkeeping
 * across reopen (also for answers stored encrypted), events held for their
 * room key (capped, oldest dropped), small values, a version-1 file
 * migrated, the durability setting, and crash safety (a child SIGKILLed
 * mid-write, for real, with the default synchronous=NORMAL). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	/* mkdtemp's template: six capital X after the prefix. */
	snprintf(dir, sizeof dir, "/tmp/test_store.");
	memset(dir + strlen(dir), 'X', 6);
	dir[strlen("/tmp/test_store.") + 6] = 0;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/state.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_ok(void)
{
	char err[256] = "";
	struct store *s = store_open(path, err, sizeof err);
	if (!s)
		fail_msg("store_open: %s", err);
	return s;
}

static void test_free_null(void **state)
{
	(void)state;
	store_free(NULL);
	assert_null(store_db(NULL));
}

static void test_mode_0600(void **state)
{
	struct stat st;
	struct store *s;
	char wal[160];
	(void)state;
	umask(022);
	s = open_ok();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The WAL file SQLite makes takes the database's mode. */
	assert_int_equal(store_sync_set(s, "n", "tok"), 0);
	snprintf(wal, sizeof wal, "%s-wal", path);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0);
	store_free(s);
	/* A file made readable by others is tightened at the next open. */
	assert_int_equal(chmod(path, 0644), 0);
	s = open_ok();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	store_free(s);
}

static void test_schema_versions(void **state)
{
	static const char *const steps[] = {
		"CREATE TABLE olm_account (id INTEGER PRIMARY KEY, pickle TEXT)",
		"ALTER TABLE olm_account ADD COLUMN created INTEGER",
	};
	char err[256];
	struct store *s;
	char *msg = NULL;
	(void)state;
	s = open_ok();
	assert_int_equal(store_version(s, "core"), 3);
	assert_int_equal(store_version(s, "e2ee"), 0);
	assert_int_equal(store_migrate(s, "e2ee", steps, 1, err, sizeof err), 0);
	assert_int_equal(store_version(s, "e2ee"), 1);
	/* Later: one more step runs, the first is not run again. */
	assert_int_equal(store_migrate(s, "e2ee", steps, 2, err, sizeof err), 0);
	assert_int_equal(store_version(s, "e2ee"), 2);
	assert_int_equal(store_migrate(s, "e2ee", steps, 2, err, sizeof err), 0);
	assert_int_equal(sqlite3_exec(store_db(s), "INSERT INTO olm_account(pickle,created) VALUES('p',1)",
				      NULL, NULL, &msg), SQLITE_OK);
	/* A failing step rolls back: version unchanged, no half table. */
	{
		static const char *const bad[] = { "CREATE TABLE x1 (a)", "CREATE TABLE (" };
		assert_int_equal(store_migrate(s, "bad", bad, 2, err, sizeof err), -1);
		assert_non_null(strstr(err, "bad schema step 2"));
		assert_int_equal(store_version(s, "bad"), 0);
		assert_int_not_equal(sqlite3_exec(store_db(s), "SELECT * FROM x1", NULL, NULL, NULL), SQLITE_OK);
	}
	/* A file from a newer faqbot is refused with a clear message. */
	assert_int_equal(sqlite3_exec(store_db(s), "UPDATE schema_versions SET version=99"
				      " WHERE component='core'", NULL, NULL, NULL), SQLITE_OK);
	store_free(s);
	assert_null(store_open(path, err, sizeof err));
	assert_non_null(strstr(err, "newer faqbot"));
	assert_non_null(strstr(err, path));
}

static void test_not_sqlite(void **state)
{
	char err[256];
	FILE *f = fopen(path, "w");
	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database file at all. ", f);
	fclose(f);
	assert_null(store_open(path, err, sizeof err));
	assert_non_null(strstr(err, path));
	assert_null(store_open("", err, sizeof err));
	assert_null(store_open("/nonexistent-dir/x/state.db", err, sizeof err));
	assert_non_null(strstr(err, "cannot open"));
}

static void test_account(void **state)
{
	struct store_account a, b;
	struct store *s;
	(void)state;
	s = open_ok();
	assert_int_equal(store_account_get(s, "hs", &b), 0);
	memset(&a, 0, sizeof a);
	strcpy(a.homeserver, "https://m.example.org");
	strcpy(a.user_id, "@faqbot:example.org");
	strcpy(a.device_id, "FAQBOTABCDEFGHIJ");
	strcpy(a.access_token, "syt_secret");
	assert_int_equal(store_account_set(s, "hs", &a), 0);
	strcpy(a.access_token, "syt_other");
	assert_int_equal(store_account_set(s, "hs2", &a), 0);
	store_free(s);
	s = open_ok();
	assert_int_equal(store_account_get(s, "hs", &b), 1);
	assert_string_equal(b.device_id, "FAQBOTABCDEFGHIJ");
	assert_string_equal(b.access_token, "syt_secret");
	assert_string_equal(b.user_id, "@faqbot:example.org");
	/* Forgetting the token keeps the device. */
	b.access_token[0] = 0;
	assert_int_equal(store_account_set(s, "hs", &b), 0);
	assert_int_equal(store_account_get(s, "hs", &a), 1);
	assert_string_equal(a.access_token, "");
	assert_string_equal(a.device_id, "FAQBOTABCDEFGHIJ");
	assert_int_equal(store_account_get(s, "hs2", &a), 1);
	assert_string_equal(a.access_token, "syt_other");
	store_free(s);
}

static void test_sync_token_tx(void **state)
{
	char buf[64], small[4];
	struct store *s;
	(void)state;
	s = open_ok();
	assert_int_equal(store_sync_get(s, "n", buf, sizeof buf), 0);
	assert_int_equal(store_sync_set(s, "n", "s1_2_3"), 0);
	assert_int_equal(store_sync_get(s, "n", buf, sizeof buf), 1);
	assert_string_equal(buf, "s1_2_3");
	assert_int_equal(store_sync_get(s, "n", small, sizeof small), -1);
	/* A batch rolled back leaves neither its token nor its answers. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_begin(s), -1); /* no nesting */
	assert_int_equal(store_answer_add(s, "n", "$q1", "!r", "fb.1", "{}", 1), 0);
	assert_int_equal(store_sync_set(s, "n", "s9"), 0);
	store_rollback(s);
	assert_int_equal(store_sync_get(s, "n", buf, sizeof buf), 1);
	assert_string_equal(buf, "s1_2_3");
	assert_int_equal(store_answer_known(s, "n", "$q1"), 0);
	/* Committed: both. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_answer_add(s, "n", "$q1", "!r", "fb.1", "{}", 1), 0);
	assert_int_equal(store_sync_set(s, "n", "s9"), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_commit(s), -1);
	store_free(s);
	s = open_ok();
	assert_int_equal(store_sync_get(s, "n", buf, sizeof buf), 1);
	assert_string_equal(buf, "s9");
	assert_int_equal(store_answer_known(s, "n", "$q1"), 1);
	assert_int_equal(store_answer_known(s, "other", "$q1"), 0);
	/* An open transaction is rolled back by store_free. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_sync_set(s, "n", "lost"), 0);
	store_free(s);
	s = open_ok();
	assert_int_equal(store_sync_get(s, "n", buf, sizeof buf), 1);
	assert_string_equal(buf, "s9");
	store_free(s);
}

static void test_rooms(void **state)
{
	struct store_room r = { STORE_JOINING, 1, 2, 0, 0, 0 }, g;
	char ids[4][256];
	struct store *s;
	(void)state;
	s = open_ok();
	assert_int_equal(store_room_get(s, "n", "!a:x", &g), 0);
	assert_int_equal(store_room_set(s, "n", "!a:x", &r), 0);
	r.joined = STORE_JOINED;
	assert_int_equal(store_room_set(s, "n", "!b:x", &r), 0);
	assert_int_equal(store_room_list(s, "n", STORE_JOINING, ids, 4), 1);
	assert_string_equal(ids[0], "!a:x");
	assert_int_equal(store_room_get(s, "n", "!a:x", &g), 1);
	assert_int_equal(g.joined, STORE_JOINING);
	assert_int_equal(g.is_direct, 1);
	assert_int_equal(g.members, 2);
	g.joined = STORE_JOINED;
	g.members = 5;
	assert_int_equal(store_room_set(s, "n", "!a:x", &g), 0);
	assert_int_equal(store_room_list(s, "n", STORE_JOINING, ids, 4), 0);
	assert_int_equal(store_room_list(s, "n", STORE_JOINED, ids, 4), 2);
	assert_int_equal(store_room_list(s, "n", STORE_JOINED, ids, 1), 1);
	assert_int_equal(g.encrypted, 0);
	/* m.room.encryption settings survive a reopen. */
	g.encrypted = 1;
	g.rot_msgs = 5;
	g.rot_ms = 604800000LL * 10;
	assert_int_equal(store_room_set(s, "n", "!a:x", &g), 0);
	store_free(s);
	s = open_ok();
	assert_int_equal(store_room_get(s, "n", "!a:x", &g), 1);
	assert_int_equal(g.encrypted, 1);
	assert_int_equal(g.rot_msgs, 5);
	assert_true(g.rot_ms == 604800000LL * 10);
	assert_int_equal(g.members, 5);
	store_free(s);
}

/* Answers are stored in clear (the sender encrypts at each send), but a
 * pending row of a version that stored the ciphertext is read back marked
 * encrypted, to be re-sent as it is with its txn id. */
static void test_answer_encrypted_legacy(void **state)
{
	struct store_pending p[2];
	struct store *s;
	(void)state;
	s = open_ok();
	assert_int_equal(store_answer_add(s, "n", "$q", "!r", "fb.q", "{\"body\":\"clair\"}", 1), 0);
	assert_int_equal(store_answer_add(s, "n", "$old", "!r", "fb.o", "{}", 2), 0);
	assert_int_equal(sqlite3_exec(store_db(s),
				      "UPDATE answers SET content='{\"ciphertext\":\"A\"}', encrypted=1"
				      " WHERE event_id='$old'", NULL, NULL, NULL), SQLITE_OK);
	store_free(s);
	s = open_ok();
	assert_int_equal(store_pending_list(s, "n", 0, p, 2), 2);
	assert_int_equal(p[0].encrypted, 0);
	assert_string_equal(p[0].content, "{\"body\":\"clair\"}");
	assert_int_equal(p[1].encrypted, 1);
	assert_string_equal(p[1].txn_id, "fb.o");
	assert_string_equal(p[1].content, "{\"ciphertext\":\"A\"}");
	free(p[0].content);
	free(p[1].content);
	store_free(s);
}

static void test_held(void **state)
{
	struct store_held h[8];
	char dropped[64], ev[32], id[16];
	struct store *s;
	int i, n;
	(void)state;
	s = open_ok();
	assert_int_equal(store_held_count(s, "n"), 0);
	assert_int_equal(store_held_list(s, "n", NULL, h, 8), 0);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof id, "$e%d", i);
		snprintf(ev, sizeof ev, "{\"n\":%d}", i);
		assert_int_equal(store_held_add(s, "n", i == 1 ? "!b" : "!a", id, ev, 10 + i, 3,
						dropped, sizeof dropped), 0);
	}
	/* The same event again (a sync may repeat it): not held twice. */
	assert_int_equal(store_held_add(s, "n", "!a", "$e0", "{}", 20, 3, dropped, sizeof dropped), 0);
	assert_int_equal(store_held_count(s, "n"), 3);
	/* Another network has its own queue. */
	assert_int_equal(store_held_add(s, "m", "!a", "$x", "{}", 20, 3, NULL, 0), 0);
	assert_int_equal(store_held_count(s, "n"), 3);
	/* At the cap the oldest is dropped and named. */
	assert_int_equal(store_held_add(s, "n", "!a", "$e3", "{\"n\":3}", 30, 3, dropped, sizeof dropped), 1);
	assert_string_equal(dropped, "$e0");
	assert_int_equal(store_held_count(s, "n"), 3);
	n = store_held_list(s, "n", "!a", h, 8);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].event, "{\"n\":2}");
	assert_string_equal(h[1].event, "{\"n\":3}");
	assert_string_equal(h[0].room_id, "!a");
	assert_int_equal(store_held_del(s, h[0].id), 0);
	for (i = 0; i < n; i++)
		free(h[i].event);
	store_free(s);
	/* Held events survive a restart. */
	s = open_ok();
	n = store_held_list(s, "n", NULL, h, 1);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].room_id, "!b");
	free(h[0].event);
	assert_int_equal(store_held_count(s, "n"), 2);
	assert_int_equal(store_held_add(s, "n", "!a", "$z", "{}", 1, 0, NULL, 0), -1);
	store_free(s);
}

static void test_kv(void **state)
{
	char buf[8];
	struct store *s;
	(void)state;
	s = open_ok();
	assert_int_equal(store_kv_get(s, "n", "xsign", buf, sizeof buf), 0);
	assert_int_equal(store_kv_set(s, "n", "xsign", "done"), 0);
	assert_int_equal(store_kv_set(s, "n", "devlists", "s72_1"), 0);
	assert_int_equal(store_kv_set(s, "n", "devlists", "s73_2"), 0);
	assert_int_equal(store_kv_get(s, "n", "xsign", buf, sizeof buf), 1);
	assert_string_equal(buf, "done");
	assert_int_equal(store_kv_get(s, "n", "devlists", buf, sizeof buf), 1);
	assert_string_equal(buf, "s73_2");
	assert_int_equal(store_kv_get(s, "m", "xsign", buf, sizeof buf), 0);
	assert_int_equal(store_kv_set(s, "n", "long", "0123456789"), 0);
	assert_int_equal(store_kv_get(s, "n", "long", buf, sizeof buf), -1);
	store_free(s);
}

/* A state file of faqbot's first release (core version 1) is migrated:
 * its rooms and pending answers keep their values, the new columns get
 * the defaults (not encrypted). */
static void test_migrate_v1(void **state)
{
	static const char *const v1 =
		"CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL);"
		"INSERT INTO schema_versions VALUES('core',1);"
		"CREATE TABLE accounts (net TEXT PRIMARY KEY, homeserver TEXT NOT NULL,"
		" user_id TEXT NOT NULL, device_id TEXT NOT NULL, access_token TEXT NOT NULL);"
		"CREATE TABLE sync (net TEXT PRIMARY KEY, next_batch TEXT NOT NULL);"
		"CREATE TABLE rooms (net TEXT NOT NULL, room_id TEXT NOT NULL,"
		" joined INTEGER NOT NULL, is_direct INTEGER NOT NULL, members INTEGER NOT NULL,"
		" PRIMARY KEY (net, room_id));"
		"CREATE TABLE answers (seq INTEGER PRIMARY KEY AUTOINCREMENT, net TEXT NOT NULL,"
		" event_id TEXT NOT NULL, room_id TEXT NOT NULL, txn_id TEXT NOT NULL,"
		" state INTEGER NOT NULL, content TEXT NOT NULL, reply_id TEXT,"
		" created INTEGER NOT NULL, UNIQUE (net, event_id));"
		"CREATE INDEX answers_pending ON answers (net, state, seq);"
		"INSERT INTO rooms VALUES('n','!r',1,1,2);"
		"INSERT INTO answers(net,event_id,room_id,txn_id,state,content,created)"
		" VALUES('n','$q','!r','fb.q',0,'{}',5);";
	struct store_pending p[1];
	struct store_room r;
	struct store *s;
	sqlite3 *db;
	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = open_ok();
	assert_int_equal(store_version(s, "core"), 3);
	assert_int_equal(store_room_get(s, "n", "!r", &r), 1);
	assert_int_equal(r.is_direct, 1);
	assert_int_equal(r.encrypted, 0);
	assert_int_equal(store_pending_list(s, "n", 0, p, 1), 1);
	assert_int_equal(p[0].encrypted, 0);
	assert_string_equal(p[0].txn_id, "fb.q");
	free(p[0].content);
	store_free(s);
}

static void test_exactly_once_bookkeeping(void **state)
{
	struct store_pending p[8];
	struct store *s;
	int n;
	(void)state;
	s = open_ok();
	assert_int_equal(store_answer_add(s, "n", "$a", "!r", "fb.a", "{\"body\":\"A\"}", 1000), 0);
	assert_int_equal(store_answer_add(s, "n", "$b", "!r", "fb.b", "{\"body\":\"B\"}", 1001), 0);
	assert_int_equal(store_answer_add(s, "n", "$c", "!s", "fb.c", "{\"body\":\"C\"}", 1002), 0);
	/* The same question again changes nothing (not its content either). */
	assert_int_equal(store_answer_add(s, "n", "$a", "!r", "fb.x", "{\"body\":\"X\"}", 1003), 0);
	assert_int_equal(store_answer_set_state(s, "n", "$b", STORE_SENT, "$reply_b"), 0);
	assert_int_equal(store_answer_set_state(s, "n", "$c", STORE_FAILED, NULL), 0);
	store_free(s);

	/* After a restart: $a is pending with the same txn and content. */
	s = open_ok();
	assert_int_equal(store_pending_count(s, "n"), 1);
	n = store_pending_list(s, "n", 0, p, 8);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].event_id, "$a");
	assert_string_equal(p[0].txn_id, "fb.a");
	assert_string_equal(p[0].room_id, "!r");
	assert_string_equal(p[0].content, "{\"body\":\"A\"}");
	assert_int_equal(store_pending_list(s, "n", p[0].seq, p + 1, 7), 0);
	free(p[0].content);
	for (const char *const *e = (const char *const[]){ "$a", "$b", "$c", NULL }; *e; e++)
		assert_int_equal(store_answer_known(s, "n", *e), 1);
	assert_int_equal(store_answer_known(s, "n", "$d"), 0);
	/* Pending ones come oldest first, and after_seq pages through them. */
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "$p%d", i);
		assert_int_equal(store_answer_add(s, "n", id, "!r", id, "{}", 2000 + i), 0);
	}
	n = store_pending_list(s, "n", 0, p, 3);
	assert_int_equal(n, 3);
	assert_string_equal(p[0].event_id, "$a");
	assert_string_equal(p[1].event_id, "$p0");
	int64_t last = p[2].seq;
	for (int i = 0; i < n; i++)
		free(p[i].content);
	n = store_pending_list(s, "n", last, p, 8);
	assert_int_equal(n, 3);
	assert_string_equal(p[0].event_id, "$p2");
	for (int i = 0; i < n; i++)
		free(p[i].content);
	/* Pruning removes old finished records only, never pending ones. */
	assert_int_equal(store_answer_prune(s, 1500), 2);
	assert_int_equal(store_answer_known(s, "n", "$a"), 1);
	assert_int_equal(store_answer_known(s, "n", "$b"), 0);
	assert_int_equal(store_pending_count(s, "n"), 6);
	store_free(s);
}

static int pragma_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int v = -999;
	assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* WAL + synchronous=NORMAL (1) by default, FULL (2) on request, and a
 * small page cache (store.h, store_set_durable). */
static void test_durability(void **state)
{
	struct store *s = open_ok();
	(void)state;
	assert_int_equal(store_set_durable(NULL, 1), -1);
	assert_int_equal(pragma_int(s, "PRAGMA synchronous"), 1);
	assert_int_equal(pragma_int(s, "PRAGMA cache_size"), -256);
	assert_int_equal(store_set_durable(s, 1), 0);
	assert_int_equal(pragma_int(s, "PRAGMA synchronous"), 2);
	assert_int_equal(store_set_durable(s, 0), 0);
	assert_int_equal(pragma_int(s, "PRAGMA synchronous"), 1);
	store_free(s);
}

/* A child commits batches (token i + answer i in one transaction) as fast
 * as it can and is SIGKILLed at a random moment; the parent then finds a
 * state where the token and the answers agree: nothing committed is lost
 * and nothing half-written appears. */
static void test_crash_safety(void **state)
{
	unsigned seed = (unsigned)time(NULL);
	(void)state;
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char err[256], tok[32], id[32];
			struct store *s = store_open(path, err, sizeof err);
			int start = 0;
			if (!s)
				_exit(2);
			if (store_sync_get(s, "n", tok, sizeof tok) == 1)
				start = atoi(tok);
			for (int i = start + 1;; i++) {
				snprintf(tok, sizeof tok, "%d", i);
				snprintf(id, sizeof id, "$e%d", i);
				if (store_begin(s) < 0 ||
				    store_answer_add(s, "n", id, "!r", id, "{}", i) < 0 ||
				    store_sync_set(s, "n", tok) < 0 || store_commit(s) < 0)
					_exit(3);
				if (i == start + 3) {
					/* Tell the parent a few commits are in. */
					FILE *f;
					char flag[160];
					snprintf(flag, sizeof flag, "%s/ready", dir);
					if ((f = fopen(flag, "w")))
						fclose(f);
				}
			}
		}
		{
			char flag[160], tok[32], id[32];
			struct stat st;
			int status, n, i;
			struct store *s;
			snprintf(flag, sizeof flag, "%s/ready", dir);
			for (i = 0; i < 5000 && stat(flag, &st) != 0; i++)
				usleep(1000);
			usleep((useconds_t)(rand_r(&seed) % 20000));
			kill(pid, SIGKILL);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFSIGNALED(status));
			unlink(flag);
			s = open_ok();
			assert_int_equal(store_sync_get(s, "n", tok, sizeof tok), 1);
			n = atoi(tok);
			assert_true(n >= 3 * (round + 1));
			for (i = 1; i <= n; i++) {
				snprintf(id, sizeof id, "$e%d", i);
				assert_int_equal(store_answer_known(s, "n", id), 1);
			}
			snprintf(id, sizeof id, "$e%d", n + 1);
			assert_int_equal(store_answer_known(s, "n", id), 0);
			assert_int_equal(store_pending_count(s, "n"), n);
			store_free(s);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_null),
		cmocka_unit_test_setup_teardown(test_mode_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_sqlite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_token_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rooms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_once_bookkeeping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_encrypted_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
