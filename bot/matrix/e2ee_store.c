/* e2ee_store.c - SQL for the crypto tables (see e2ee_store.h).  It stores
 * and returns rows; deciding what to keep (the key index rule, pinning) is
 * e2ee.c's job.  Statements are prepared per call: these paths run per
 * encrypted message at most, far from the answer engine's hot path. */
#include "e2ee_store.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS e2ee_account(owner TEXT PRIMARY KEY, pickle TEXT NOT NULL,"
	" device_uploaded INTEGER NOT NULL DEFAULT 0, fb_rotated_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS e2ee_olm(owner TEXT, peer_key TEXT, session_id TEXT,"
	" pickle TEXT NOT NULL, used_ms INTEGER NOT NULL, PRIMARY KEY(owner, peer_key, session_id));"
	"CREATE TABLE IF NOT EXISTS e2ee_inbound(owner TEXT, room_id TEXT, sender_key TEXT,"
	" session_id TEXT, pickle TEXT NOT NULL, first_index INTEGER NOT NULL, sender_ed25519 TEXT,"
	" sender_user TEXT NOT NULL DEFAULT '', used_ms INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(owner, room_id, sender_key, session_id));"
	"CREATE TABLE IF NOT EXISTS e2ee_seen(owner TEXT, session_id TEXT, idx INTEGER,"
	" event_id TEXT NOT NULL, seen_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(owner, session_id, idx));"
	"CREATE TABLE IF NOT EXISTS e2ee_outbound(owner TEXT, room_id TEXT, session_id TEXT NOT NULL,"
	" pickle TEXT NOT NULL, created_ms INTEGER NOT NULL, msgs INTEGER NOT NULL,"
	" PRIMARY KEY(owner, room_id));"
	"CREATE TABLE IF NOT EXISTS e2ee_shared(owner TEXT, session_id TEXT, user_id TEXT,"
	" device_id TEXT, PRIMARY KEY(owner, session_id, user_id, device_id));"
	"CREATE TABLE IF NOT EXISTS e2ee_device(owner TEXT, user_id TEXT, device_id TEXT,"
	" curve25519 TEXT NOT NULL, ed25519 TEXT NOT NULL, PRIMARY KEY(owner, user_id, device_id));"
	"CREATE INDEX IF NOT EXISTS e2ee_device_curve ON e2ee_device(owner, curve25519);"
	"CREATE TABLE IF NOT EXISTS e2ee_user(owner TEXT, user_id TEXT, outdated INTEGER NOT NULL,"
	" PRIMARY KEY(owner, user_id));"
	"CREATE TABLE IF NOT EXISTS e2ee_xsign(owner TEXT PRIMARY KEY, master TEXT NOT NULL,"
	" self TEXT NOT NULL);";

/* Columns added after the first release (who sent an inbound
 * session and when it was last used, when an index was seen), for files
 * whose tables CREATE TABLE IF NOT EXISTS left as they were.  0 / -1. */
static int add_column(sqlite3 *db, const char *table, const char *col, const char *decl)
{
	/* rows from before: as if last used now, so an upgrade prunes
	 * nothing at once (the retention counts from the upgrade) */
	int64_t now = (int64_t)time(NULL) * 1000;
	char sql[256];
	sqlite3_stmt *st = NULL;
	int found = 0;
	snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 1);
		if (name && !strcmp((const char *)name, col))
			found = 1;
	}
	sqlite3_finalize(st);
	if (found)
		return 0;
	snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, col, decl);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	/* only the times (*_ms): chain_index stays -1, "shared before it was
	 * recorded", not a time taken for an index */
	if (strstr(decl, "INTEGER") && strstr(col, "_ms")) {
		snprintf(sql, sizeof sql, "UPDATE %s SET %s = %lld", table, col, (long long)now);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	return 0;
}

int e2ee_store_init(sqlite3 *db)
{
	if (!db)
		return -1;
	if (e2ee_store_begin(db) < 0)
		return -1;
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    add_column(db, "e2ee_inbound", "sender_user", "TEXT NOT NULL DEFAULT ''") < 0 ||
	    add_column(db, "e2ee_inbound", "used_ms", "INTEGER NOT NULL DEFAULT 0") < 0 ||
	    add_column(db, "e2ee_seen", "seen_ms", "INTEGER NOT NULL DEFAULT 0") < 0 ||
	    add_column(db, "e2ee_shared", "chain_index", "INTEGER NOT NULL DEFAULT -1") < 0 ||
	    /* when the user was last seen in a room of ours / last queried */
	    add_column(db, "e2ee_user", "member_ms", "INTEGER NOT NULL DEFAULT 0") < 0 ||
	    add_column(db, "e2ee_user", "queried_ms", "INTEGER NOT NULL DEFAULT 0") < 0 ||
	    sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS e2ee_inbound_user ON e2ee_inbound(owner, sender_user, used_ms);"
			 "CREATE TABLE IF NOT EXISTS e2ee_keyreq(owner TEXT, request_id TEXT, room_id TEXT NOT NULL,"
			 " session_id TEXT NOT NULL, sender_user TEXT NOT NULL, sent INTEGER NOT NULL,"
			 " created_ms INTEGER NOT NULL, PRIMARY KEY(owner, request_id));"
			 /* a chain index is 32-bit: a bigger one is a time an older
			  * upgrade wrote there */
			 "UPDATE e2ee_shared SET chain_index = -1 WHERE chain_index > 4294967295;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		e2ee_store_rollback(db);
		return -1;
	}
	return e2ee_store_commit(db);
}

int e2ee_store_begin(sqlite3 *db)
{
	return sqlite3_exec(db, "SAVEPOINT e2ee", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int e2ee_store_commit(sqlite3 *db)
{
	return sqlite3_exec(db, "RELEASE e2ee", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void e2ee_store_rollback(sqlite3 *db)
{
	sqlite3_exec(db, "ROLLBACK TO e2ee", NULL, NULL, NULL);
	sqlite3_exec(db, "RELEASE e2ee", NULL, NULL, NULL);
}

/* Prepares sql and binds the arguments fmt names: 's' text, 'i' int64. */
static sqlite3_stmt *prep(sqlite3 *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = SQLITE_OK;
	for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
		if (fmt[i] == 's')
			rc = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static int done(sqlite3_stmt *st)
{
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static char *coldup(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	return strdup(t ? (const char *)t : "");
}

static void colcpy(sqlite3_stmt *st, int c, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

/* Steps a query expected to give at most one row: 1 row (st kept for the
 * caller to read and finalize), 0 none, -1 error (st finalized). */
static int one(sqlite3_stmt *st)
{
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int e2ee_store_account_get(sqlite3 *db, const char *owner, struct e2ee_store_account *a)
{
	sqlite3_stmt *st = prep(db, "SELECT pickle, device_uploaded, fb_rotated_ms FROM e2ee_account"
				" WHERE owner = ?", "s", owner);
	int rc = one(st);
	if (rc != 1)
		return rc;
	a->pickle = coldup(st, 0);
	a->device_uploaded = sqlite3_column_int(st, 1);
	a->fb_rotated_ms = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	return a->pickle ? 1 : -1;
}

int e2ee_store_account_put(sqlite3 *db, const char *owner, const char *pickle,
			   int device_uploaded, int64_t fb_rotated_ms)
{
	return done(prep(db, "INSERT OR REPLACE INTO e2ee_account VALUES(?, ?, ?, ?)", "ssii",
			 owner, pickle, (int64_t)device_uploaded, fb_rotated_ms));
}

int e2ee_store_olm_list(sqlite3 *db, const char *owner, const char *peer_key, char **pickles, int max)
{
	sqlite3_stmt *st = prep(db, "SELECT pickle FROM e2ee_olm WHERE owner = ? AND peer_key = ?"
				" ORDER BY used_ms DESC, rowid DESC LIMIT ?", "ssi", owner, peer_key, (int64_t)max);
	if (!st)
		return -1;
	int n = 0, rc;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(pickles[n] = coldup(st, 0)))
			break;
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

int e2ee_store_olm_put(sqlite3 *db, const char *owner, const char *peer_key,
		       const char *session_id, const char *pickle, int64_t used_ms)
{
	return done(prep(db, "INSERT OR REPLACE INTO e2ee_olm VALUES(?, ?, ?, ?, ?)", "ssssi",
			 owner, peer_key, session_id, pickle, used_ms));
}

int e2ee_store_olm_trim(sqlite3 *db, const char *owner, const char *peer_key, int keep)
{
	return done(prep(db, "DELETE FROM e2ee_olm WHERE owner = ?1 AND peer_key = ?2 AND rowid NOT IN"
			 " (SELECT rowid FROM e2ee_olm WHERE owner = ?1 AND peer_key = ?2"
			 " ORDER BY used_ms DESC, rowid DESC LIMIT ?3)", "ssi", owner, peer_key, (int64_t)keep));
}

int e2ee_store_inbound_get(sqlite3 *db, const char *owner, const char *room_id,
			   const char *sender_key, const char *session_id, struct e2ee_store_inbound *in)
{
	/* No sender_key (deprecated in Megolm events since spec v1.3): the
	 * session id alone, the session's own public key, names it. */
	sqlite3_stmt *st = prep(db, "SELECT pickle, first_index, sender_ed25519, sender_key"
				" FROM e2ee_inbound WHERE owner = ?1 AND room_id = ?2"
				" AND (?3 IS NULL OR sender_key = ?3) AND session_id = ?4"
				" ORDER BY first_index LIMIT 1",
				"ssss", owner, room_id, sender_key, session_id);
	int rc = one(st);
	if (rc != 1)
		return rc;
	in->pickle = coldup(st, 0);
	in->first_index = (uint32_t)sqlite3_column_int64(st, 1);
	colcpy(st, 2, in->sender_ed25519, sizeof in->sender_ed25519);
	colcpy(st, 3, in->sender_key, sizeof in->sender_key);
	sqlite3_finalize(st);
	return in->pickle ? 1 : -1;
}

int e2ee_store_inbound_put(sqlite3 *db, const char *owner, const char *room_id,
			   const char *sender_key, const char *session_id, const char *pickle,
			   uint32_t first_index, const char *sender_ed25519, const char *sender_user,
			   int64_t now_ms)
{
	return done(prep(db, "INSERT OR REPLACE INTO e2ee_inbound(owner, room_id, sender_key, session_id,"
			 " pickle, first_index, sender_ed25519, sender_user, used_ms)"
			 " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", "sssssissi",
			 owner, room_id, sender_key, session_id, pickle, (int64_t)first_index,
			 sender_ed25519 ? sender_ed25519 : "", sender_user ? sender_user : "", now_ms));
}

int e2ee_store_inbound_used(sqlite3 *db, const char *owner, const char *session_id, int64_t now_ms)
{
	return done(prep(db, "UPDATE e2ee_inbound SET used_ms = ? WHERE owner = ? AND session_id = ?",
			 "iss", now_ms, owner, session_id));
}

long e2ee_store_inbound_quota(sqlite3 *db, const char *owner, const char *sender_user, int max)
{
	if (done(prep(db, "DELETE FROM e2ee_inbound WHERE rowid IN (SELECT rowid FROM e2ee_inbound"
		      " WHERE owner = ? AND sender_user = ? ORDER BY used_ms DESC, rowid DESC"
		      " LIMIT -1 OFFSET ?)", "ssi", owner, sender_user, (int64_t)max)) < 0)
		return -1;
	return (long)sqlite3_changes(db);
}

long e2ee_store_inbound_count(sqlite3 *db, const char *owner, const char *sender_user)
{
	sqlite3_stmt *st = prep(db, "SELECT count(*) FROM e2ee_inbound WHERE owner = ?"
				" AND (?2 IS NULL OR sender_user = ?2)", "ss", owner, sender_user);
	int rc = one(st);
	if (rc != 1)
		return rc;
	long n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* One DELETE, its changed rows added to *n.  0 / -1. */
static int del_count(sqlite3 *db, sqlite3_stmt *st, long *n)
{
	if (done(st) < 0)
		return -1;
	*n += (long)sqlite3_changes(db);
	return 0;
}

int e2ee_store_prune(sqlite3 *db, const char *owner, const struct e2ee_store_prune *p,
		     struct e2ee_store_pruned *out)
{
	memset(out, 0, sizeof *out);
	/* our own sessions (sender_key = our key) go with the outbound ones:
	 * the bot never needs to read its old answers */
	if (del_count(db, prep(db, "DELETE FROM e2ee_inbound WHERE owner = ? AND used_ms < ?", "si",
			       owner, p->inbound_before_ms), &out->inbound) < 0 ||
	    del_count(db, prep(db, "DELETE FROM e2ee_seen WHERE owner = ? AND (seen_ms < ? OR session_id"
			       " NOT IN (SELECT session_id FROM e2ee_inbound WHERE owner = ?1))", "si",
			       owner, p->seen_before_ms), &out->seen) < 0 ||
	    del_count(db, prep(db, "DELETE FROM e2ee_olm WHERE owner = ? AND used_ms < ?", "si",
			       owner, p->olm_before_ms), &out->olm) < 0 ||
	    /* beyond the most recent olm_per_peer of each peer key */
	    del_count(db, prep(db, "DELETE FROM e2ee_olm WHERE owner = ?1 AND rowid IN (SELECT o.rowid"
			       " FROM e2ee_olm o WHERE o.owner = ?1 AND (SELECT count(*) FROM e2ee_olm p"
			       " WHERE p.owner = ?1 AND p.peer_key = o.peer_key AND (p.used_ms > o.used_ms"
			       " OR (p.used_ms = o.used_ms AND p.rowid > o.rowid))) >= ?2)", "si",
			       owner, (int64_t)p->olm_per_peer), &out->olm) < 0 ||
	    del_count(db, prep(db, "DELETE FROM e2ee_shared WHERE owner = ?1 AND session_id NOT IN"
			       " (SELECT session_id FROM e2ee_outbound WHERE owner = ?1)"
			       " AND session_id NOT IN (SELECT session_id FROM e2ee_inbound WHERE owner = ?1)",
			       "s", owner), &out->shared) < 0 ||
	    del_count(db, prep(db, "DELETE FROM e2ee_keyreq WHERE owner = ? AND created_ms < ?", "si",
			       owner, p->keyreq_before_ms), &out->keyreq) < 0)
		return -1;
	/* users who share no room with us: never seen in one (queried for a
	 * to-device message) and not queried since stranger_before_ms, or not
	 * seen in one since member_before_ms; their pinned devices go too */
	static const char gone[] = " FROM e2ee_user WHERE owner = ?1 AND user_id != ?2 AND"
				   " ((member_ms = 0 AND queried_ms < ?3) OR (member_ms > 0 AND member_ms < ?4))";
	char sql[512];
	snprintf(sql, sizeof sql, "DELETE FROM e2ee_device WHERE owner = ?1 AND user_id IN (SELECT user_id%s)", gone);
	if (del_count(db, prep(db, sql, "ssii", owner, p->keep_user ? p->keep_user : "",
			       p->stranger_before_ms, p->member_before_ms), &out->devices) < 0)
		return -1;
	snprintf(sql, sizeof sql, "DELETE%s", gone);
	if (del_count(db, prep(db, sql, "ssii", owner, p->keep_user ? p->keep_user : "",
			       p->stranger_before_ms, p->member_before_ms), &out->users) < 0)
		return -1;
	return 0;
}

int e2ee_store_seen(sqlite3 *db, const char *owner, const char *session_id, uint32_t index,
		    const char *event_id, int64_t now_ms)
{
	sqlite3_stmt *st = prep(db, "SELECT event_id FROM e2ee_seen WHERE owner = ? AND session_id = ?"
				" AND idx = ?", "ssi", owner, session_id, (int64_t)index);
	int rc = one(st);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		int same = t && !strcmp((const char *)t, event_id);
		sqlite3_finalize(st);
		return same ? 0 : 1;
	}
	return done(prep(db, "INSERT INTO e2ee_seen(owner, session_id, idx, event_id, seen_ms)"
			 " VALUES(?, ?, ?, ?, ?)", "ssisi", owner, session_id, (int64_t)index, event_id, now_ms));
}

int e2ee_store_outbound_get(sqlite3 *db, const char *owner, const char *room_id,
			    struct e2ee_store_outbound *out)
{
	sqlite3_stmt *st = prep(db, "SELECT pickle, session_id, created_ms, msgs FROM e2ee_outbound"
				" WHERE owner = ? AND room_id = ?", "ss", owner, room_id);
	int rc = one(st);
	if (rc != 1)
		return rc;
	out->pickle = coldup(st, 0);
	colcpy(st, 1, out->session_id, sizeof out->session_id);
	out->created_ms = sqlite3_column_int64(st, 2);
	out->msgs = (long)sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);
	return out->pickle ? 1 : -1;
}

int e2ee_store_outbound_put(sqlite3 *db, const char *owner, const char *room_id,
			    const char *session_id, const char *pickle, int64_t created_ms, long msgs)
{
	return done(prep(db, "INSERT OR REPLACE INTO e2ee_outbound VALUES(?, ?, ?, ?, ?, ?)", "ssssii",
			 owner, room_id, session_id, pickle, created_ms, (int64_t)msgs));
}

int e2ee_store_outbound_del(sqlite3 *db, const char *owner, const char *room_id)
{
	return done(prep(db, "DELETE FROM e2ee_outbound WHERE owner = ? AND room_id = ?", "ss",
			 owner, room_id));
}

int e2ee_store_shared_has(sqlite3 *db, const char *owner, const char *session_id,
			  const char *user_id, const char *device_id)
{
	sqlite3_stmt *st = prep(db, "SELECT 1 FROM e2ee_shared WHERE owner = ? AND session_id = ?"
				" AND user_id = ? AND device_id = ?", "ssss", owner, session_id, user_id, device_id);
	int rc = one(st);
	if (rc == 1)
		sqlite3_finalize(st);
	return rc;
}

int e2ee_store_shared_add(sqlite3 *db, const char *owner, const char *session_id,
			  const char *user_id, const char *device_id, int64_t chain_index)
{
	return done(prep(db, "INSERT OR IGNORE INTO e2ee_shared(owner, session_id, user_id, device_id,"
			 " chain_index) VALUES(?, ?, ?, ?, ?)", "ssssi",
			 owner, session_id, user_id, device_id, chain_index));
}

int64_t e2ee_store_shared_index(sqlite3 *db, const char *owner, const char *session_id,
				const char *user_id, const char *device_id)
{
	sqlite3_stmt *st = prep(db, "SELECT chain_index FROM e2ee_shared WHERE owner = ? AND session_id = ?"
				" AND user_id = ? AND device_id = ?", "ssss", owner, session_id, user_id, device_id);
	int rc = one(st);
	if (rc != 1)
		return rc == 0 ? -2 : -3;
	int64_t i = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return i;
}

int e2ee_store_keyreq_put(sqlite3 *db, const char *owner, const char *request_id, const char *room_id,
			  const char *session_id, const char *sender_user, int64_t now_ms)
{
	return done(prep(db, "INSERT OR REPLACE INTO e2ee_keyreq(owner, request_id, room_id, session_id,"
			 " sender_user, sent, created_ms) VALUES(?, ?, ?, ?, ?, 1, ?)", "sssssi",
			 owner, request_id, room_id, session_id, sender_user, now_ms));
}

int e2ee_store_keyreq_get(sqlite3 *db, const char *owner, const char *session_id,
			  struct e2ee_store_keyreq *r)
{
	sqlite3_stmt *st = prep(db, "SELECT request_id, room_id, sender_user, created_ms FROM e2ee_keyreq"
				" WHERE owner = ? AND session_id = ? ORDER BY created_ms DESC LIMIT 1", "ss",
				owner, session_id);
	int rc = one(st);
	if (rc != 1)
		return rc;
	colcpy(st, 0, r->request_id, sizeof r->request_id);
	colcpy(st, 1, r->room_id, sizeof r->room_id);
	colcpy(st, 2, r->sender_user, sizeof r->sender_user);
	r->created_ms = sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);
	return 1;
}

int e2ee_store_keyreq_del(sqlite3 *db, const char *owner, const char *session_id)
{
	return done(prep(db, "DELETE FROM e2ee_keyreq WHERE owner = ? AND session_id = ?", "ss", owner, session_id));
}

static void dev_read(sqlite3_stmt *st, struct e2ee_store_device *d)
{
	colcpy(st, 0, d->user_id, sizeof d->user_id);
	colcpy(st, 1, d->device_id, sizeof d->device_id);
	colcpy(st, 2, d->curve25519, sizeof d->curve25519);
	colcpy(st, 3, d->ed25519, sizeof d->ed25519);
}

/* The columns dev_read reads; the WHERE clause follows. */
#define DEV_SELECT "SELECT user_id, device_id, curve25519, ed25519 FROM e2ee_device"

/* The one device st (DEV_SELECT ...) finds, into d: 1 / 0 / -1. */
static int dev_one(sqlite3_stmt *st, struct e2ee_store_device *d)
{
	int rc = one(st);
	if (rc == 1) {
		dev_read(st, d);
		sqlite3_finalize(st);
	}
	return rc;
}

int e2ee_store_device_get(sqlite3 *db, const char *owner, const char *user_id,
			  const char *device_id, struct e2ee_store_device *d)
{
	return dev_one(prep(db, DEV_SELECT " WHERE owner = ? AND user_id = ? AND device_id = ?", "sss",
			    owner, user_id, device_id), d);
}

int e2ee_store_device_by_curve(sqlite3 *db, const char *owner, const char *key,
			       struct e2ee_store_device *d)
{
	return dev_one(prep(db, DEV_SELECT " WHERE owner = ? AND curve25519 = ? LIMIT 1", "ss", owner, key), d);
}

int e2ee_store_device_of(sqlite3 *db, const char *owner, const char *user_id, const char *key,
			 struct e2ee_store_device *d)
{
	return dev_one(prep(db, DEV_SELECT " WHERE owner = ? AND user_id = ? AND curve25519 = ? LIMIT 1",
			    "sss", owner, user_id, key), d);
}

int e2ee_store_device_list(sqlite3 *db, const char *owner, const char *user_id,
			   struct e2ee_store_device *out, int max)
{
	sqlite3_stmt *st = prep(db, DEV_SELECT " WHERE owner = ? AND user_id = ? ORDER BY device_id LIMIT ?",
				"ssi", owner, user_id, (int64_t)max);
	if (!st)
		return -1;
	int n = 0;
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		dev_read(st, &out[n++]);
	sqlite3_finalize(st);
	return n;
}

int e2ee_store_device_put(sqlite3 *db, const char *owner, const struct e2ee_store_device *d)
{
	return done(prep(db, "INSERT OR REPLACE INTO e2ee_device VALUES(?, ?, ?, ?, ?)", "sssss", owner,
			 d->user_id, d->device_id, d->curve25519, d->ed25519));
}

int e2ee_store_device_del(sqlite3 *db, const char *owner, const char *user_id, const char *device_id)
{
	return done(prep(db, "DELETE FROM e2ee_device WHERE owner = ? AND user_id = ? AND device_id = ?",
			 "sss", owner, user_id, device_id));
}

int e2ee_store_device_del_user(sqlite3 *db, const char *owner, const char *user_id)
{
	return done(prep(db, "DELETE FROM e2ee_device WHERE owner = ? AND user_id = ?", "ss", owner, user_id));
}

int e2ee_store_user_mark(sqlite3 *db, const char *owner, const char *user_id, int force, int64_t now_ms)
{
	return done(prep(db, force ? "INSERT INTO e2ee_user(owner, user_id, outdated, member_ms, queried_ms)"
				     " VALUES(?, ?, 1, 0, ?) ON CONFLICT(owner, user_id) DO UPDATE"
				     " SET outdated = 1, queried_ms = excluded.queried_ms"
				   : "INSERT OR IGNORE INTO e2ee_user(owner, user_id, outdated, member_ms, queried_ms)"
				     " VALUES(?, ?, 1, 0, ?)", "ssi", owner, user_id, now_ms));
}

int e2ee_store_user_member(sqlite3 *db, const char *owner, const char *user_id, int64_t now_ms)
{
	return done(prep(db, "UPDATE e2ee_user SET member_ms = ? WHERE owner = ? AND user_id = ?", "iss",
			 now_ms, owner, user_id));
}

int e2ee_store_user_done(sqlite3 *db, const char *owner, const char *user_id)
{
	return done(prep(db, "UPDATE e2ee_user SET outdated = 0 WHERE owner = ? AND user_id = ?", "ss",
			 owner, user_id));
}

int e2ee_store_user_del(sqlite3 *db, const char *owner, const char *user_id)
{
	return done(prep(db, "DELETE FROM e2ee_user WHERE owner = ? AND user_id = ?", "ss", owner, user_id));
}

int e2ee_store_user_tracked(sqlite3 *db, const char *owner, const char *user_id)
{
	sqlite3_stmt *st = prep(db, "SELECT 1 FROM e2ee_user WHERE owner = ? AND user_id = ?", "ss",
				owner, user_id);
	int rc = one(st);
	if (rc == 1)
		sqlite3_finalize(st);
	return rc;
}

int e2ee_store_user_is_outdated(sqlite3 *db, const char *owner, const char *user_id)
{
	sqlite3_stmt *st = prep(db, "SELECT outdated FROM e2ee_user WHERE owner = ? AND user_id = ?", "ss",
				owner, user_id);
	int rc = one(st);
	if (rc == 1) {
		rc = sqlite3_column_int(st, 0) ? 1 : 0;
		sqlite3_finalize(st);
	}
	return rc;
}

int e2ee_store_user_outdated(sqlite3 *db, const char *owner, char (*ids)[E2EE_ID_LEN], int max)
{
	sqlite3_stmt *st = prep(db, "SELECT user_id FROM e2ee_user WHERE owner = ? AND outdated = 1"
				" ORDER BY user_id LIMIT ?", "si", owner, (int64_t)max);
	if (!st)
		return -1;
	int n = 0;
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		colcpy(st, 0, ids[n++], E2EE_ID_LEN);
	sqlite3_finalize(st);
	return n;
}

int e2ee_store_xsign_get(sqlite3 *db, const char *owner, char **master, char **self_)
{
	sqlite3_stmt *st = prep(db, "SELECT master, self FROM e2ee_xsign WHERE owner = ?", "s", owner);
	int rc = one(st);
	if (rc != 1)
		return rc;
	*master = coldup(st, 0);
	*self_ = coldup(st, 1);
	sqlite3_finalize(st);
	if (!*master || !*self_) {
		free(*master);
		free(*self_);
		return -1;
	}
	return 1;
}

int e2ee_store_xsign_put(sqlite3 *db, const char *owner, const char *master, const char *self_)
{
	return done(prep(db, "INSERT OR REPLACE INTO e2ee_xsign VALUES(?, ?, ?)", "sss", owner, master, self_));
}
