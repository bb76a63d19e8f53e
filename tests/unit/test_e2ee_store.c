/* test_e2ee_store.c - every function of e2ee_store.h on a real state file
 * (store_open in a temp dir, then store_db): the schema created and kept
 * across reopen, the upgrade of a first-release file (columns added, old
 * rows neither pruned at once nor given a chain index they never had, and
 * a file an older upgrade gave one repaired),
 * SAVEPOINTs nested in the store's transaction, the account, Olm sessions
 * (order, trim), inbound Megolm sessions (sender key optional, the
 * per-sender quota, last use), the replay table, retention (each kind at
 * its boundary, the other owner untouched), the outbound session and its
 * rotation, the shared-with table and its chain index, key requests,
 * pinned devices, tracked users, the cross-signing seeds, rows kept apart
 * per owner, and a corrupt or read-only file (-1, no crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "e2ee_store.h"
#include "store.h"

static char dir[64];
static char path[128];
static struct store *st;
static sqlite3 *db;

#define ME "@bot:example.org|BOTDEV"
#define OTHER "@bot2:example.org|DEV2"
#define ROOM "!room:example.org"
#define K1 "curveAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define K2 "curveBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define S1 "sessAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define S2 "sessBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define S3 "sessCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"

static struct store *open_ok(void)
{
	char err[256] = "";
	struct store *s = store_open(path, err, sizeof err);
	if (!s)
		fail_msg("store_open: %s", err);
	return s;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_e2ee_store.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/state.db", dir);
	char err[256];
	if (!(st = store_open(path, err, sizeof err)))
		return -1;
	db = store_db(st);
	return e2ee_store_init(db);
}

static int teardown(void **state)
{
	char cmd[160];
	(void)state;
	store_free(st);
	st = NULL;
	db = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void reopen(void)
{
	store_free(st);
	st = open_ok();
	db = store_db(st);
	assert_int_equal(e2ee_store_init(db), 0);
}

static long count_rows(const char *sql)
{
	sqlite3_stmt *s = NULL;
	long n = -1;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* ---- schema ---- */

static void test_init_and_reopen(void **state)
{
	(void)state;
	assert_int_equal(e2ee_store_init(NULL), -1);
	/* every table is there, and init is idempotent */
	const char *tables[] = { "e2ee_account", "e2ee_olm", "e2ee_inbound", "e2ee_seen", "e2ee_outbound",
				 "e2ee_shared", "e2ee_device", "e2ee_user", "e2ee_xsign", "e2ee_keyreq" };
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
		char q[160];
		snprintf(q, sizeof q, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
			 tables[i]);
		assert_int_equal(count_rows(q), 1);
	}
	assert_int_equal(e2ee_store_init(db), 0);
	assert_int_equal(e2ee_store_account_put(db, ME, "pickle-1", 1, 1234), 0);
	reopen();
	struct e2ee_store_account a = { 0 };
	assert_int_equal(e2ee_store_account_get(db, ME, &a), 1);
	assert_string_equal(a.pickle, "pickle-1");
	free(a.pickle);
	/* the file stays private with the crypto tables in it */
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

/* A file from the first release: e2ee_inbound without sender_user and
 * used_ms, e2ee_seen without seen_ms, e2ee_shared without chain_index. */
static void test_upgrade_first_release(void **state)
{
	(void)state;
	store_free(st);
	unlink(path);
	st = open_ok();
	db = store_db(st);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE e2ee_inbound(owner TEXT, room_id TEXT, sender_key TEXT, session_id TEXT,"
		" pickle TEXT NOT NULL, first_index INTEGER NOT NULL, sender_ed25519 TEXT,"
		" PRIMARY KEY(owner, room_id, sender_key, session_id));"
		"CREATE TABLE e2ee_seen(owner TEXT, session_id TEXT, idx INTEGER, event_id TEXT NOT NULL,"
		" PRIMARY KEY(owner, session_id, idx));"
		"CREATE TABLE e2ee_shared(owner TEXT, session_id TEXT, user_id TEXT, device_id TEXT,"
		" PRIMARY KEY(owner, session_id, user_id, device_id));"
		"INSERT INTO e2ee_inbound VALUES('" ME "', '" ROOM "', '" K1 "', '" S1 "', 'old', 3, 'ed');"
		"INSERT INTO e2ee_seen VALUES('" ME "', '" S1 "', 5, '$ev5');"
		"INSERT INTO e2ee_shared VALUES('" ME "', '" S1 "', '@u:x', 'D');",
		NULL, NULL, NULL), SQLITE_OK);
	int64_t now = (int64_t)time(NULL) * 1000;
	assert_int_equal(e2ee_store_init(db), 0);
	reopen(); /* and a second init finds the columns there */
	struct e2ee_store_inbound in = { 0 };
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, K1, S1, &in), 1);
	assert_string_equal(in.pickle, "old");
	assert_int_equal(in.first_index, 3);
	free(in.pickle);
	/* the sender is unknown: no user's quota counts it */
	assert_int_equal(e2ee_store_inbound_count(db, ME, ""), 1);
	/* the replay table still answers */
	assert_int_equal(e2ee_store_seen(db, ME, S1, 5, "$ev5", now), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S1, 5, "$other", now), 1);
	/* shared before the index was recorded: -1, not a made-up index */
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D"), -1);
	/* a file that an older upgrade gave such an index (a time in ms) is
	 * repaired at the next start; a real index is left alone */
	assert_int_equal(sqlite3_exec(db, "UPDATE e2ee_shared SET chain_index = 1765000000000", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(e2ee_store_shared_add(db, ME, S1, "@u:x", "D2", 4294967295LL), 0);
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D"), 1765000000000LL);
	reopen();
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D"), -1);
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D2"), 4294967295LL);
	/* old rows count as used at the upgrade: a retention of a day deletes nothing */
	struct e2ee_store_prune p = { .inbound_before_ms = now - 86400000, .seen_before_ms = now - 86400000,
				      .olm_before_ms = now - 86400000, .olm_per_peer = 5,
				      .keyreq_before_ms = now - 86400000 };
	struct e2ee_store_pruned out;
	assert_int_equal(e2ee_store_prune(db, ME, &p, &out), 0);
	assert_int_equal(out.inbound, 0);
	assert_int_equal(out.seen, 0);
	assert_int_equal(out.shared, 0);
	assert_int_equal(e2ee_store_inbound_count(db, ME, NULL), 1);
}

/* ---- savepoints ---- */

static void test_savepoints(void **state)
{
	struct e2ee_store_account a = { 0 };
	(void)state;
	assert_int_equal(e2ee_store_begin(db), 0);
	assert_int_equal(e2ee_store_account_put(db, ME, "rolled-back", 0, 0), 0);
	e2ee_store_rollback(db);
	assert_int_equal(e2ee_store_account_get(db, ME, &a), 0);

	assert_int_equal(e2ee_store_begin(db), 0);
	assert_int_equal(e2ee_store_account_put(db, ME, "kept", 0, 0), 0);
	assert_int_equal(e2ee_store_commit(db), 0);
	assert_int_equal(e2ee_store_commit(db), -1); /* nothing to release */

	/* nested in the store's transaction: the outer rollback wins */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(e2ee_store_begin(db), 0);
	assert_int_equal(e2ee_store_account_put(db, ME, "inner", 0, 0), 0);
	assert_int_equal(e2ee_store_commit(db), 0);
	store_rollback(st);
	reopen();
	assert_int_equal(e2ee_store_account_get(db, ME, &a), 1);
	assert_string_equal(a.pickle, "kept");
	free(a.pickle);
}

/* ---- the account and the cross-signing seeds ---- */

static void test_account_xsign(void **state)
{
	struct e2ee_store_account a = { 0 };
	char *m = NULL, *s = NULL;
	(void)state;
	assert_int_equal(e2ee_store_account_get(db, ME, &a), 0);
	assert_int_equal(e2ee_store_account_put(db, ME, "p1", 0, 0), 0);
	assert_int_equal(e2ee_store_account_put(db, ME, "p2", 1, 1700000000123LL), 0);
	assert_int_equal(e2ee_store_account_get(db, ME, &a), 1);
	assert_string_equal(a.pickle, "p2");
	assert_int_equal(a.device_uploaded, 1);
	assert_int_equal(a.fb_rotated_ms, 1700000000123LL);
	free(a.pickle);
	assert_int_equal(e2ee_store_account_get(db, OTHER, &a), 0);

	assert_int_equal(e2ee_store_xsign_get(db, ME, &m, &s), 0);
	assert_int_equal(e2ee_store_xsign_put(db, ME, "master-1", "self-1"), 0);
	assert_int_equal(e2ee_store_xsign_put(db, ME, "master-2", "self-2"), 0);
	assert_int_equal(e2ee_store_xsign_get(db, ME, &m, &s), 1);
	assert_string_equal(m, "master-2");
	assert_string_equal(s, "self-2");
	free(m);
	free(s);
	assert_int_equal(e2ee_store_xsign_get(db, OTHER, &m, &s), 0);
}

/* ---- Olm sessions ---- */

static void test_olm(void **state)
{
	char *p[8] = { 0 };
	(void)state;
	assert_int_equal(e2ee_store_olm_list(db, ME, K1, p, 8), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, S1, "olm-1", 100), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, S2, "olm-2", 300), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, S3, "olm-3", 200), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K2, S1, "olm-k2", 999), 0);
	assert_int_equal(e2ee_store_olm_put(db, OTHER, K1, S1, "olm-other", 999), 0);
	/* most recently used first; only this peer's, only this owner's */
	assert_int_equal(e2ee_store_olm_list(db, ME, K1, p, 8), 3);
	assert_string_equal(p[0], "olm-2");
	assert_string_equal(p[1], "olm-3");
	assert_string_equal(p[2], "olm-1");
	for (int i = 0; i < 3; i++)
		free(p[i]);
	/* max is honoured */
	assert_int_equal(e2ee_store_olm_list(db, ME, K1, p, 1), 1);
	assert_string_equal(p[0], "olm-2");
	free(p[0]);
	/* put again: the same session updated (used later, new pickle) */
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, S1, "olm-1b", 400), 0);
	assert_int_equal(e2ee_store_olm_list(db, ME, K1, p, 8), 3);
	assert_string_equal(p[0], "olm-1b");
	for (int i = 0; i < 3; i++)
		free(p[i]);
	/* trim keeps the two most recent of K1 only */
	assert_int_equal(e2ee_store_olm_trim(db, ME, K1, 2), 0);
	assert_int_equal(e2ee_store_olm_list(db, ME, K1, p, 8), 2);
	assert_string_equal(p[0], "olm-1b");
	assert_string_equal(p[1], "olm-2");
	free(p[0]);
	free(p[1]);
	assert_int_equal(e2ee_store_olm_list(db, ME, K2, p, 8), 1);
	free(p[0]);
	assert_int_equal(e2ee_store_olm_list(db, OTHER, K1, p, 8), 1);
	free(p[0]);
}

/* ---- inbound Megolm sessions ---- */

static void test_inbound(void **state)
{
	struct e2ee_store_inbound in = { 0 };
	(void)state;
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, K1, S1, &in), 0);
	assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K1, S1, "in-1", 7, "edK1", "@alice:x", 1000), 0);
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, K1, S1, &in), 1);
	assert_string_equal(in.pickle, "in-1");
	assert_int_equal(in.first_index, 7);
	assert_string_equal(in.sender_ed25519, "edK1");
	assert_string_equal(in.sender_key, K1);
	free(in.pickle);
	/* no sender key (deprecated in events): the session id alone */
	memset(&in, 0, sizeof in);
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, NULL, S1, &in), 1);
	assert_string_equal(in.sender_key, K1);
	free(in.pickle);
	/* another sender key, room or owner: not found */
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, K2, S1, &in), 0);
	assert_int_equal(e2ee_store_inbound_get(db, ME, "!other:x", K1, S1, &in), 0);
	assert_int_equal(e2ee_store_inbound_get(db, OTHER, ROOM, K1, S1, &in), 0);
	/* the same id from two sender keys, NULL key: the lower first index */
	assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K2, S1, "in-1-k2", 2, NULL, NULL, 1000), 0);
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, NULL, S1, &in), 1);
	assert_string_equal(in.pickle, "in-1-k2");
	assert_string_equal(in.sender_ed25519, ""); /* NULL stored as "" */
	free(in.pickle);
	/* a huge first index survives the round trip */
	assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K1, S3, "in-3", UINT32_MAX, "e", "@bob:x", 1), 0);
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, K1, S3, &in), 1);
	assert_int_equal(in.first_index, UINT32_MAX);
	free(in.pickle);

	assert_int_equal(e2ee_store_inbound_count(db, ME, NULL), 3);
	assert_int_equal(e2ee_store_inbound_count(db, ME, "@alice:x"), 1);
	assert_int_equal(e2ee_store_inbound_count(db, ME, "@bob:x"), 1);
	assert_int_equal(e2ee_store_inbound_count(db, ME, ""), 1);
	assert_int_equal(e2ee_store_inbound_count(db, OTHER, NULL), 0);
	assert_int_equal(e2ee_store_inbound_used(db, ME, S1, 5000), 0);
	assert_int_equal(count_rows("SELECT count(*) FROM e2ee_inbound WHERE session_id = '" S1 "'"
				    " AND used_ms = 5000"), 2);
}

static void test_inbound_quota(void **state)
{
	char sid[64], pk[32];
	(void)state;
	/* mallory floods 10 sessions; alice has 2; another owner's mallory 3 */
	for (int i = 0; i < 10; i++) {
		snprintf(sid, sizeof sid, "mal%02d", i);
		snprintf(pk, sizeof pk, "p%d", i);
		assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K2, sid, pk, 0, "e", "@mallory:x",
							1000 + i), 0);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(sid, sizeof sid, "oth%02d", i);
		assert_int_equal(e2ee_store_inbound_put(db, OTHER, ROOM, K2, sid, "p", 0, "e", "@mallory:x",
							1), 0);
	}
	assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K1, S1, "a1", 0, "e", "@alice:x", 1), 0);
	assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K1, S2, "a2", 0, "e", "@alice:x", 2), 0);
	/* an old one used recently is kept over newer unused ones */
	assert_int_equal(e2ee_store_inbound_used(db, ME, "mal00", 99999), 0);
	assert_int_equal(e2ee_store_inbound_quota(db, ME, "@mallory:x", 4), 6);
	assert_int_equal(e2ee_store_inbound_count(db, ME, "@mallory:x"), 4);
	struct e2ee_store_inbound in = { 0 };
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, NULL, "mal00", &in), 1);
	free(in.pickle);
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, NULL, "mal09", &in), 1);
	free(in.pickle);
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, NULL, "mal01", &in), 0);
	/* nobody else lost anything */
	assert_int_equal(e2ee_store_inbound_count(db, ME, "@alice:x"), 2);
	assert_int_equal(e2ee_store_inbound_count(db, OTHER, "@mallory:x"), 3);
	/* within quota: nothing deleted */
	assert_int_equal(e2ee_store_inbound_quota(db, ME, "@mallory:x", 4), 0);
	assert_int_equal(e2ee_store_inbound_quota(db, ME, "@alice:x", 10), 0);
}

/* ---- replay protection ---- */

static void test_seen(void **state)
{
	(void)state;
	assert_int_equal(e2ee_store_seen(db, ME, S1, 0, "$a", 10), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S1, 0, "$a", 20), 0); /* the same event again */
	assert_int_equal(e2ee_store_seen(db, ME, S1, 0, "$b", 30), 1); /* replayed index */
	assert_int_equal(e2ee_store_seen(db, ME, S1, 1, "$b", 30), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S2, 0, "$b", 30), 0); /* another session */
	assert_int_equal(e2ee_store_seen(db, OTHER, S1, 0, "$b", 30), 0); /* another owner */
	assert_int_equal(e2ee_store_seen(db, ME, S1, UINT32_MAX, "$z", 30), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S1, UINT32_MAX, "$y", 30), 1);
	/* still a replay after reopen */
	reopen();
	assert_int_equal(e2ee_store_seen(db, ME, S1, 0, "$b", 40), 1);
	assert_int_equal(e2ee_store_seen(db, ME, S1, 0, "$a", 40), 0);
}

/* ---- retention ---- */

static void test_prune(void **state)
{
	struct e2ee_store_pruned out;
	(void)state;
	/* inbound: S1 used at 100 (old), S2 at 1000 (kept); same for OTHER */
	assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K1, S1, "i1", 0, "e", "@a:x", 100), 0);
	assert_int_equal(e2ee_store_inbound_put(db, ME, ROOM, K1, S2, "i2", 0, "e", "@a:x", 1000), 0);
	assert_int_equal(e2ee_store_inbound_put(db, OTHER, ROOM, K1, S1, "o1", 0, "e", "@a:x", 100), 0);
	/* seen: S2 idx 0 old, idx 1 recent; S1's row goes with S1 */
	assert_int_equal(e2ee_store_seen(db, ME, S2, 0, "$0", 100), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S2, 1, "$1", 1000), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S1, 0, "$s1", 1000), 0);
	assert_int_equal(e2ee_store_seen(db, OTHER, S1, 0, "$o", 100), 0);
	/* olm: K1 has 4 (one old), K2 has 1 */
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, "o-a", "a", 100), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, "o-b", "b", 1001), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, "o-c", "c", 1002), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, "o-d", "d", 1003), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K2, "o-e", "e", 1000), 0);
	assert_int_equal(e2ee_store_olm_put(db, OTHER, K1, "o-x", "x", 100), 0);
	/* shared: one for the live outbound S3, one for S2 (inbound), one for a gone session */
	assert_int_equal(e2ee_store_outbound_put(db, ME, ROOM, S3, "out", 0, 0), 0);
	assert_int_equal(e2ee_store_shared_add(db, ME, S3, "@u:x", "D", 0), 0);
	assert_int_equal(e2ee_store_shared_add(db, ME, S2, "@u:x", "D", 0), 0);
	assert_int_equal(e2ee_store_shared_add(db, ME, "gone", "@u:x", "D", 0), 0);
	assert_int_equal(e2ee_store_shared_add(db, OTHER, "gone", "@u:x", "D", 0), 0);
	/* key requests */
	assert_int_equal(e2ee_store_keyreq_put(db, ME, "r-old", ROOM, "sx", "@a:x", 100), 0);
	assert_int_equal(e2ee_store_keyreq_put(db, ME, "r-new", ROOM, "sy", "@a:x", 1000), 0);
	assert_int_equal(e2ee_store_keyreq_put(db, OTHER, "r-o", ROOM, "sx", "@a:x", 100), 0);

	struct e2ee_store_prune p = { .inbound_before_ms = 1000, .seen_before_ms = 1000, .olm_before_ms = 1000,
				      .olm_per_peer = 2, .keyreq_before_ms = 1000 };
	assert_int_equal(e2ee_store_prune(db, ME, &p, &out), 0);
	assert_int_equal(out.inbound, 1);   /* S1 (before 1000, strictly) */
	assert_int_equal(out.seen, 2);      /* S2 idx 0 (old), S1's (session gone) */
	assert_int_equal(out.olm, 2);       /* o-a (old), then o-b (third of K1) */
	assert_int_equal(out.shared, 1);    /* "gone" */
	assert_int_equal(out.keyreq, 1);    /* r-old */

	struct e2ee_store_inbound in = { 0 };
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, K1, S1, &in), 0);
	assert_int_equal(e2ee_store_inbound_get(db, ME, ROOM, K1, S2, &in), 1);
	free(in.pickle);
	assert_int_equal(e2ee_store_seen(db, ME, S2, 1, "$1", 2000), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S2, 1, "$x", 2000), 1); /* kept: still a replay */
	char *pk[8];
	assert_int_equal(e2ee_store_olm_list(db, ME, K1, pk, 8), 2);
	assert_string_equal(pk[0], "d");
	assert_string_equal(pk[1], "c");
	free(pk[0]);
	free(pk[1]);
	assert_int_equal(e2ee_store_olm_list(db, ME, K2, pk, 8), 1);
	free(pk[0]);
	assert_int_equal(e2ee_store_shared_has(db, ME, S3, "@u:x", "D"), 1);
	assert_int_equal(e2ee_store_shared_has(db, ME, S2, "@u:x", "D"), 1);
	assert_int_equal(e2ee_store_shared_has(db, ME, "gone", "@u:x", "D"), 0);
	struct e2ee_store_keyreq r;
	assert_int_equal(e2ee_store_keyreq_get(db, ME, "sx", &r), 0);
	assert_int_equal(e2ee_store_keyreq_get(db, ME, "sy", &r), 1);

	/* the other owner's rows are all there */
	assert_int_equal(e2ee_store_inbound_count(db, OTHER, NULL), 1);
	assert_int_equal(count_rows("SELECT count(*) FROM e2ee_seen WHERE owner = '" OTHER "'"), 1);
	assert_int_equal(e2ee_store_olm_list(db, OTHER, K1, pk, 8), 1);
	free(pk[0]);
	assert_int_equal(e2ee_store_shared_has(db, OTHER, "gone", "@u:x", "D"), 1);
	assert_int_equal(e2ee_store_keyreq_get(db, OTHER, "sx", &r), 1);

	/* again: nothing more */
	assert_int_equal(e2ee_store_prune(db, ME, &p, &out), 0);
	assert_int_equal(out.inbound + out.seen + out.olm + out.shared + out.keyreq, 0);
}

/* ---- the outbound session, rotation, who has it ---- */

static void test_outbound_rotation(void **state)
{
	struct e2ee_store_outbound o = { 0 };
	(void)state;
	assert_int_equal(e2ee_store_outbound_get(db, ME, ROOM, &o), 0);
	assert_int_equal(e2ee_store_outbound_put(db, ME, ROOM, S1, "out-1", 5000, 0), 0);
	assert_int_equal(e2ee_store_outbound_put(db, ME, ROOM, S1, "out-1b", 5000, 3), 0);
	assert_int_equal(e2ee_store_outbound_get(db, ME, ROOM, &o), 1);
	assert_string_equal(o.pickle, "out-1b");
	assert_string_equal(o.session_id, S1);
	assert_int_equal(o.created_ms, 5000);
	assert_int_equal(o.msgs, 3);
	free(o.pickle);
	assert_int_equal(e2ee_store_outbound_get(db, ME, "!other:x", &o), 0);
	assert_int_equal(e2ee_store_outbound_get(db, OTHER, ROOM, &o), 0);

	/* shared with two devices, at their chain index */
	assert_int_equal(e2ee_store_shared_has(db, ME, S1, "@u:x", "D1"), 0);
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D1"), -2);
	assert_int_equal(e2ee_store_shared_add(db, ME, S1, "@u:x", "D1", 0), 0);
	assert_int_equal(e2ee_store_shared_add(db, ME, S1, "@u:x", "D2", 3), 0);
	/* added again (a retry): the first index stays */
	assert_int_equal(e2ee_store_shared_add(db, ME, S1, "@u:x", "D2", 9), 0);
	assert_int_equal(e2ee_store_shared_has(db, ME, S1, "@u:x", "D1"), 1);
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D1"), 0);
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D2"), 3);
	assert_int_equal(e2ee_store_shared_has(db, ME, S1, "@v:x", "D1"), 0);
	assert_int_equal(e2ee_store_shared_has(db, OTHER, S1, "@u:x", "D1"), 0);

	/* rotation: a new session replaces the room's; nobody has it yet */
	assert_int_equal(e2ee_store_outbound_put(db, ME, ROOM, S2, "out-2", 9000, 0), 0);
	assert_int_equal(e2ee_store_outbound_get(db, ME, ROOM, &o), 1);
	assert_string_equal(o.session_id, S2);
	assert_int_equal(o.msgs, 0);
	free(o.pickle);
	assert_int_equal(count_rows("SELECT count(*) FROM e2ee_outbound"), 1);
	assert_int_equal(e2ee_store_shared_has(db, ME, S2, "@u:x", "D1"), 0);
	/* the old session's rows go at the next prune */
	struct e2ee_store_prune p = { .olm_per_peer = 10 };
	struct e2ee_store_pruned out;
	assert_int_equal(e2ee_store_prune(db, ME, &p, &out), 0);
	assert_int_equal(out.shared, 2);
	assert_int_equal(e2ee_store_shared_index(db, ME, S1, "@u:x", "D2"), -2);

	/* deleted (membership changed): the next answer makes a new one */
	assert_int_equal(e2ee_store_outbound_del(db, ME, ROOM), 0);
	assert_int_equal(e2ee_store_outbound_get(db, ME, ROOM, &o), 0);
	assert_int_equal(e2ee_store_outbound_del(db, ME, ROOM), 0);
}

/* ---- key requests ---- */

static void test_keyreq(void **state)
{
	struct e2ee_store_keyreq r;
	(void)state;
	assert_int_equal(e2ee_store_keyreq_get(db, ME, S1, &r), 0);
	assert_int_equal(e2ee_store_keyreq_put(db, ME, "req-1", ROOM, S1, "@alice:x", 100), 0);
	assert_int_equal(e2ee_store_keyreq_put(db, ME, "req-2", ROOM, S1, "@alice:x", 200), 0);
	assert_int_equal(e2ee_store_keyreq_put(db, ME, "req-3", ROOM, S2, "@bob:x", 300), 0);
	/* the latest request for that session */
	assert_int_equal(e2ee_store_keyreq_get(db, ME, S1, &r), 1);
	assert_string_equal(r.request_id, "req-2");
	assert_string_equal(r.room_id, ROOM);
	assert_string_equal(r.sender_user, "@alice:x");
	assert_int_equal(r.created_ms, 200);
	assert_int_equal(e2ee_store_keyreq_get(db, OTHER, S1, &r), 0);
	/* the key came: every request for it goes, not the others */
	assert_int_equal(e2ee_store_keyreq_del(db, ME, S1), 0);
	assert_int_equal(e2ee_store_keyreq_get(db, ME, S1, &r), 0);
	assert_int_equal(e2ee_store_keyreq_get(db, ME, S2, &r), 1);
	assert_string_equal(r.request_id, "req-3");
}

/* ---- pinned devices ---- */

static struct e2ee_store_device dev(const char *user, const char *id, const char *curve, const char *ed)
{
	struct e2ee_store_device d;
	memset(&d, 0, sizeof d);
	snprintf(d.user_id, sizeof d.user_id, "%s", user);
	snprintf(d.device_id, sizeof d.device_id, "%s", id);
	snprintf(d.curve25519, sizeof d.curve25519, "%s", curve);
	snprintf(d.ed25519, sizeof d.ed25519, "%s", ed);
	return d;
}

static void test_devices(void **state)
{
	struct e2ee_store_device d, list[4];
	(void)state;
	assert_int_equal(e2ee_store_device_get(db, ME, "@alice:x", "A1", &d), 0);
	assert_int_equal(e2ee_store_device_by_curve(db, ME, K1, &d), 0);
	d = dev("@alice:x", "A2", K2, "edA2");
	assert_int_equal(e2ee_store_device_put(db, ME, &d), 0);
	d = dev("@alice:x", "A1", K1, "edA1");
	assert_int_equal(e2ee_store_device_put(db, ME, &d), 0);
	d = dev("@bob:x", "B1", "curveBob", "edB1");
	assert_int_equal(e2ee_store_device_put(db, ME, &d), 0);
	d = dev("@alice:x", "A9", "curveOther", "edO");
	assert_int_equal(e2ee_store_device_put(db, OTHER, &d), 0);

	memset(&d, 0, sizeof d);
	assert_int_equal(e2ee_store_device_get(db, ME, "@alice:x", "A1", &d), 1);
	assert_string_equal(d.user_id, "@alice:x");
	assert_string_equal(d.device_id, "A1");
	assert_string_equal(d.curve25519, K1);
	assert_string_equal(d.ed25519, "edA1");
	/* by key, and by key for a given user (a key claimed by someone else: no) */
	assert_int_equal(e2ee_store_device_by_curve(db, ME, K2, &d), 1);
	assert_string_equal(d.device_id, "A2");
	assert_int_equal(e2ee_store_device_of(db, ME, "@alice:x", K2, &d), 1);
	assert_string_equal(d.device_id, "A2");
	assert_int_equal(e2ee_store_device_of(db, ME, "@bob:x", K2, &d), 0);
	assert_int_equal(e2ee_store_device_by_curve(db, ME, "curveOther", &d), 0); /* OTHER's */
	/* the list: sorted by device id, max honoured */
	assert_int_equal(e2ee_store_device_list(db, ME, "@alice:x", list, 4), 2);
	assert_string_equal(list[0].device_id, "A1");
	assert_string_equal(list[1].device_id, "A2");
	assert_int_equal(e2ee_store_device_list(db, ME, "@alice:x", list, 1), 1);
	assert_string_equal(list[0].device_id, "A1");
	assert_int_equal(e2ee_store_device_list(db, ME, "@nobody:x", list, 4), 0);
	/* put again replaces the pin (e2ee.c decides whether it may) */
	d = dev("@alice:x", "A1", "curveNew", "edNew");
	assert_int_equal(e2ee_store_device_put(db, ME, &d), 0);
	assert_int_equal(e2ee_store_device_get(db, ME, "@alice:x", "A1", &d), 1);
	assert_string_equal(d.curve25519, "curveNew");
	assert_int_equal(e2ee_store_device_by_curve(db, ME, K1, &d), 0);
	/* deleted: one device, then the user's */
	assert_int_equal(e2ee_store_device_del(db, ME, "@alice:x", "A2"), 0);
	assert_int_equal(e2ee_store_device_get(db, ME, "@alice:x", "A2", &d), 0);
	assert_int_equal(e2ee_store_device_list(db, ME, "@alice:x", list, 4), 1);
	assert_int_equal(e2ee_store_device_del_user(db, ME, "@alice:x"), 0);
	assert_int_equal(e2ee_store_device_list(db, ME, "@alice:x", list, 4), 0);
	assert_int_equal(e2ee_store_device_get(db, ME, "@bob:x", "B1", &d), 1);
	assert_int_equal(e2ee_store_device_list(db, OTHER, "@alice:x", list, 4), 1);
	/* ids as long as the buffers allow come back whole */
	char longid[E2EE_ID_LEN];
	memset(longid, 'u', sizeof longid - 1);
	longid[sizeof longid - 1] = 0;
	d = dev(longid, "L", "curveL", "edL");
	assert_int_equal(e2ee_store_device_put(db, ME, &d), 0);
	assert_int_equal(e2ee_store_device_by_curve(db, ME, "curveL", &d), 1);
	assert_string_equal(d.user_id, longid);
}

/* ---- tracked users ---- */

static void test_users(void **state)
{
	char ids[4][E2EE_ID_LEN];
	(void)state;
	assert_int_equal(e2ee_store_user_tracked(db, ME, "@a:x"), 0);
	assert_int_equal(e2ee_store_user_is_outdated(db, ME, "@a:x"), 0);
	assert_int_equal(e2ee_store_user_mark(db, ME, "@c:x", 0), 0);
	assert_int_equal(e2ee_store_user_mark(db, ME, "@a:x", 0), 0);
	assert_int_equal(e2ee_store_user_mark(db, ME, "@b:x", 0), 0);
	assert_int_equal(e2ee_store_user_mark(db, OTHER, "@z:x", 0), 0);
	assert_int_equal(e2ee_store_user_tracked(db, ME, "@a:x"), 1);
	assert_int_equal(e2ee_store_user_is_outdated(db, ME, "@a:x"), 1);
	assert_int_equal(e2ee_store_user_outdated(db, ME, ids, 4), 3);
	assert_string_equal(ids[0], "@a:x");
	assert_string_equal(ids[1], "@b:x");
	assert_string_equal(ids[2], "@c:x");
	assert_int_equal(e2ee_store_user_outdated(db, ME, ids, 2), 2);
	/* queried: up to date; marking again without force keeps it so */
	assert_int_equal(e2ee_store_user_done(db, ME, "@a:x"), 0);
	assert_int_equal(e2ee_store_user_is_outdated(db, ME, "@a:x"), 0);
	assert_int_equal(e2ee_store_user_tracked(db, ME, "@a:x"), 1);
	assert_int_equal(e2ee_store_user_mark(db, ME, "@a:x", 0), 0);
	assert_int_equal(e2ee_store_user_is_outdated(db, ME, "@a:x"), 0);
	/* a device list change (force): outdated again */
	assert_int_equal(e2ee_store_user_mark(db, ME, "@a:x", 1), 0);
	assert_int_equal(e2ee_store_user_is_outdated(db, ME, "@a:x"), 1);
	assert_int_equal(e2ee_store_user_done(db, ME, "@b:x"), 0);
	assert_int_equal(e2ee_store_user_outdated(db, ME, ids, 4), 2);
	assert_string_equal(ids[0], "@a:x");
	assert_string_equal(ids[1], "@c:x");
	/* left every shared room: untracked */
	assert_int_equal(e2ee_store_user_del(db, ME, "@a:x"), 0);
	assert_int_equal(e2ee_store_user_tracked(db, ME, "@a:x"), 0);
	assert_int_equal(e2ee_store_user_is_outdated(db, ME, "@a:x"), 0);
	assert_int_equal(e2ee_store_user_outdated(db, OTHER, ids, 4), 1);
	assert_string_equal(ids[0], "@z:x");
}

/* ---- a broken file ---- */

/* Every function on db answers its error value, and nothing crashes. */
static void all_fail(sqlite3 *bad, int writes_only)
{
	struct e2ee_store_account a = { 0 };
	struct e2ee_store_inbound in = { 0 };
	struct e2ee_store_outbound o = { 0 };
	struct e2ee_store_keyreq r;
	struct e2ee_store_device d = dev("@a:x", "D", "c", "e"), list[2];
	struct e2ee_store_prune p = { .olm_per_peer = 1 };
	struct e2ee_store_pruned out;
	char *pk[2], *m = NULL, *s = NULL, ids[2][E2EE_ID_LEN];

	assert_int_equal(e2ee_store_account_put(bad, ME, "p", 0, 0), -1);
	assert_int_equal(e2ee_store_olm_put(bad, ME, K1, S1, "p", 1), -1);
	assert_int_equal(e2ee_store_olm_trim(bad, ME, K1, 0), -1);
	assert_int_equal(e2ee_store_inbound_put(bad, ME, ROOM, K1, S2, "p", 0, "e", "@a:x", 1), -1);
	assert_int_equal(e2ee_store_inbound_used(bad, ME, S1, 1), -1);
	assert_int_equal(e2ee_store_inbound_quota(bad, ME, "@a:x", 0), -1);
	assert_int_equal(e2ee_store_prune(bad, ME, &p, &out), -1);
	assert_int_equal(e2ee_store_seen(bad, ME, S1, 99, "$new", 1), -1);
	assert_int_equal(e2ee_store_outbound_put(bad, ME, ROOM, S1, "p", 1, 1), -1);
	assert_int_equal(e2ee_store_outbound_del(bad, ME, ROOM), -1);
	assert_int_equal(e2ee_store_shared_add(bad, ME, S1, "@a:x", "D", 0), -1);
	assert_int_equal(e2ee_store_keyreq_put(bad, ME, "r", ROOM, S1, "@a:x", 1), -1);
	assert_int_equal(e2ee_store_keyreq_del(bad, ME, S1), -1);
	assert_int_equal(e2ee_store_device_put(bad, ME, &d), -1);
	assert_int_equal(e2ee_store_device_del(bad, ME, "@a:x", "D"), -1);
	assert_int_equal(e2ee_store_device_del_user(bad, ME, "@a:x"), -1);
	assert_int_equal(e2ee_store_user_mark(bad, ME, "@a:x", 1), -1);
	assert_int_equal(e2ee_store_user_done(bad, ME, "@a:x"), -1);
	assert_int_equal(e2ee_store_user_del(bad, ME, "@a:x"), -1);
	assert_int_equal(e2ee_store_xsign_put(bad, ME, "m", "s"), -1);
	if (writes_only)
		return;
	assert_int_equal(e2ee_store_init(bad), -1);
	assert_int_equal(e2ee_store_account_get(bad, ME, &a), -1);
	assert_int_equal(e2ee_store_olm_list(bad, ME, K1, pk, 2), -1);
	assert_int_equal(e2ee_store_inbound_get(bad, ME, ROOM, NULL, S1, &in), -1);
	assert_int_equal(e2ee_store_inbound_count(bad, ME, NULL), -1);
	assert_int_equal(e2ee_store_outbound_get(bad, ME, ROOM, &o), -1);
	assert_int_equal(e2ee_store_shared_has(bad, ME, S1, "@a:x", "D"), -1);
	assert_int_equal(e2ee_store_shared_index(bad, ME, S1, "@a:x", "D"), -3);
	assert_int_equal(e2ee_store_keyreq_get(bad, ME, S1, &r), -1);
	assert_int_equal(e2ee_store_device_get(bad, ME, "@a:x", "D", &d), -1);
	assert_int_equal(e2ee_store_device_by_curve(bad, ME, "c", &d), -1);
	assert_int_equal(e2ee_store_device_of(bad, ME, "@a:x", "c", &d), -1);
	assert_int_equal(e2ee_store_device_list(bad, ME, "@a:x", list, 2), -1);
	assert_int_equal(e2ee_store_user_tracked(bad, ME, "@a:x"), -1);
	assert_int_equal(e2ee_store_user_is_outdated(bad, ME, "@a:x"), -1);
	assert_int_equal(e2ee_store_user_outdated(bad, ME, ids, 2), -1);
	assert_int_equal(e2ee_store_xsign_get(bad, ME, &m, &s), -1);
	assert_null(m);
	assert_null(s);
}

static void test_corrupt_file(void **state)
{
	char bad_path[160];
	sqlite3 *bad = NULL;
	(void)state;
	snprintf(bad_path, sizeof bad_path, "%s/corrupt.db", dir);
	FILE *f = fopen(bad_path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 8192; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	assert_int_equal(sqlite3_open_v2(bad_path, &bad, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	all_fail(bad, 0);
	/* and the savepoints say so too */
	assert_int_equal(e2ee_store_commit(bad), -1);
	e2ee_store_rollback(bad);
	sqlite3_close(bad);
	/* the store refuses it with the path named */
	char err[256] = "";
	struct store *s = store_open(bad_path, err, sizeof err);
	assert_null(s);
	assert_non_null(strstr(err, bad_path));
}

static void test_read_only(void **state)
{
	sqlite3 *ro = NULL;
	struct e2ee_store_account a = { 0 };
	(void)state;
	assert_int_equal(e2ee_store_account_put(db, ME, "ro-pickle", 1, 0), 0);
	assert_int_equal(e2ee_store_seen(db, ME, S1, 0, "$a", 1), 0);
	assert_int_equal(e2ee_store_olm_put(db, ME, K1, S1, "p", 1), 0);
	assert_int_equal(e2ee_store_user_mark(db, ME, "@a:x", 1), 0);
	store_free(st);
	st = NULL;
	db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &ro, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	/* reads work, writes fail cleanly and change nothing */
	assert_int_equal(e2ee_store_account_get(ro, ME, &a), 1);
	assert_string_equal(a.pickle, "ro-pickle");
	free(a.pickle);
	all_fail(ro, 1);
	/* a replayed index is still reported: the check reads first */
	assert_int_equal(e2ee_store_seen(ro, ME, S1, 0, "$other", 2), 1);
	assert_int_equal(e2ee_store_seen(ro, ME, S1, 0, "$a", 2), 0);
	assert_int_equal(e2ee_store_account_get(ro, ME, &a), 1);
	assert_string_equal(a.pickle, "ro-pickle");
	free(a.pickle);
	assert_int_equal(e2ee_store_user_is_outdated(ro, ME, "@a:x"), 1);
	sqlite3_close(ro);
	st = open_ok();
	db = store_db(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_first_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_xsign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_olm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbound_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyreq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
