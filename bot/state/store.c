/* store.c - the SQLite state file of store.h.  Created 0600 before SQLite
 * first opens it (SQLite gives its -wal and -shm files the same mode);
 * WAL + synchronous=NORMAL (FULL on request, store_set_durable), so every
 * committed transaction survives a SIGKILL, and a power cut drops at most
 * the last whole commits.  Schema per component, versioned in table
 * schema_versions.  Hot statements are prepared once.  Does not decide
 * anything: the Matrix client says what to write and when. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "errmsg.h"
#include "log.h"
#include "store.h"

enum {
	Q_ANSWER_KNOWN, Q_ANSWER_ADD, Q_ANSWER_STATE, Q_SYNC_SET, Q_SYNC_GET,
	Q_ROOM_GET, Q_ROOM_SET, Q_PENDING, NQ
};

static const char *const stmt_sql[NQ] = {
	[Q_ANSWER_KNOWN] = "SELECT 1 FROM answers WHERE net=?1 AND event_id=?2",
	[Q_ANSWER_ADD] = "INSERT OR IGNORE INTO answers(net,event_id,room_id,txn_id,state,content,created)"
			 " VALUES(?1,?2,?3,?4,0,?5,?6)",
	[Q_ANSWER_STATE] = "UPDATE answers SET state=?3, reply_id=coalesce(?4,reply_id)"
			   " WHERE net=?1 AND event_id=?2",
	[Q_SYNC_SET] = "INSERT INTO sync(net,next_batch) VALUES(?1,?2)"
		       " ON CONFLICT(net) DO UPDATE SET next_batch=excluded.next_batch",
	[Q_SYNC_GET] = "SELECT next_batch FROM sync WHERE net=?1",
	[Q_ROOM_GET] = "SELECT joined,is_direct,members,encrypted,rot_msgs,rot_ms FROM rooms"
		       " WHERE net=?1 AND room_id=?2",
	[Q_ROOM_SET] = "INSERT INTO rooms(net,room_id,joined,is_direct,members,encrypted,rot_msgs,rot_ms)"
		       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
		       " ON CONFLICT(net,room_id) DO UPDATE SET joined=excluded.joined,"
		       " is_direct=excluded.is_direct, members=excluded.members,"
		       " encrypted=excluded.encrypted, rot_msgs=excluded.rot_msgs, rot_ms=excluded.rot_ms",
	[Q_PENDING] = "SELECT seq,event_id,room_id,txn_id,content,encrypted FROM answers"
		      " WHERE net=?1 AND state=0 AND seq>?2 ORDER BY seq LIMIT ?3",
};

/* The core schema, one step per version; never edit a released step, add
 * one.  Other components (E2EE) keep their own list (store_migrate). */
static const char *const core_steps[] = {
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
	"CREATE INDEX answers_pending ON answers (net, state, seq);",
	/* 2: end-to-end encryption: the room's m.room.encryption
	 * settings, answers stored encrypted, events held until their room key
	 * arrives, and small per-network values (cross-signing done, the
	 * device-list token). */
	"ALTER TABLE rooms ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE rooms ADD COLUMN rot_msgs INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE rooms ADD COLUMN rot_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE answers ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE held (id INTEGER PRIMARY KEY AUTOINCREMENT, net TEXT NOT NULL,"
	" room_id TEXT NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL,"
	" created INTEGER NOT NULL, UNIQUE (net, event_id));"
	"CREATE INDEX held_room ON held (net, room_id, id);"
	"CREATE TABLE kv (net TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (net, key));",
	/* 3: the bot's own messages by their event id (a reply to one of its
	 * answers, a reaction on a hand-over post). */
	"CREATE INDEX answers_reply ON answers (net, reply_id);",
};

struct store {
	sqlite3 *db;
	char *path;
	int in_tx;
	sqlite3_stmt *stmt[NQ];
};

static void set_err(char *err, size_t errlen, const char *path, const char *what, const char *why)
{
	errmsg_at(err, errlen, path, 0, "%s%s%s", what, why ? ": " : "", why ? why : "");
}

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: %s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Creates the file with mode 0600 before SQLite does (SQLite would use
 * 0644 under the usual umask), and tightens an existing wider mode. */
static int secure_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		set_err(err, errlen, path, "cannot open the state file", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		if (fchmod(fd, st.st_mode & 0700) < 0) {
			set_err(err, errlen, path, "cannot make the state file private", strerror(errno));
			close(fd);
			return -1;
		}
		log_warn("store: %s was readable by others; mode set to 0600", path);
	}
	close(fd);
	return 0;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *s;
	int i;
	if (!path || !*path) {
		set_err(err, errlen, "state", "no path given", "set [bot] state");
		return NULL;
	}
	if (secure_file(path, err, errlen) < 0)
		return NULL;
	if (!(s = calloc(1, sizeof *s)) || !(s->path = strdup(path))) {
		free(s);
		set_err(err, errlen, path, "out of memory", NULL);
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		set_err(err, errlen, path, "cannot open", s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	/* Several networks open the same file: wait for each other's writes. */
	sqlite3_busy_timeout(s->db, 5000);
	/* cache_size: the hot rows of a bot's state are few; SQLite's 2 MiB
	 * default page cache only grows RSS (the OS page cache holds the
	 * file anyway).  synchronous: see store_set_durable. */
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
		    " PRAGMA cache_size=-256;") < 0 ||
	    exec(s, "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY,"
		    " version INTEGER NOT NULL)") < 0) {
		set_err(err, errlen, path, "not a usable SQLite file", sqlite3_errmsg(s->db));
		goto fail;
	}
	if (store_migrate(s, "core", core_steps, (int)(sizeof core_steps / sizeof *core_steps),
			  err, errlen) < 0)
		goto fail;
	for (i = 0; i < NQ; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) != SQLITE_OK) {
			set_err(err, errlen, path, "cannot prepare a statement", sqlite3_errmsg(s->db));
			goto fail;
		}
	return s;
fail:
	store_free(s);
	return NULL;
}

int store_set_durable(struct store *s, int full)
{
	if (!s)
		return -1;
	return exec(s, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

void store_free(struct store *s)
{
	int i;
	if (!s)
		return;
	if (s->in_tx)
		store_rollback(s);
	for (i = 0; i < NQ; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

struct sqlite3 *store_db(struct store *s)
{
	return s ? s->db : NULL;
}

int store_begin(struct store *s)
{
	if (s->in_tx) {
		log_error("store: nested transaction refused");
		return -1;
	}
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	s->in_tx = 1;
	return 0;
}

int store_commit(struct store *s)
{
	if (!s->in_tx)
		return -1;
	if (exec(s, "COMMIT") < 0) {
		store_rollback(s);
		return -1;
	}
	s->in_tx = 0;
	return 0;
}

void store_rollback(struct store *s)
{
	if (!s->in_tx)
		return;
	/* Fails harmlessly when SQLite already rolled back on an error. */
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

int store_version(struct store *s, const char *component)
{
	sqlite3_stmt *st;
	int v = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_versions WHERE component=?1",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int store_migrate(struct store *s, const char *component, const char *const *steps,
		  int nsteps, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int v, i;
	char *msg = NULL;
	if (store_begin(s) < 0) {
		set_err(err, errlen, s->path, "cannot lock the state file", sqlite3_errmsg(s->db));
		return -1;
	}
	/* Read inside the write lock: two processes never run a step twice. */
	v = store_version(s, component);
	if (v > nsteps) {
		char why[160];
		snprintf(why, sizeof why, "%s schema version %d, this faqbot knows %d",
			 component, v, nsteps);
		set_err(err, errlen, s->path, "written by a newer faqbot", why);
		store_rollback(s);
		return -1;
	}
	for (i = v; i < nsteps; i++)
		if (sqlite3_exec(s->db, steps[i], NULL, NULL, &msg) != SQLITE_OK) {
			char what[96];
			snprintf(what, sizeof what, "%s schema step %d failed", component, i + 1);
			set_err(err, errlen, s->path, what, msg ? msg : sqlite3_errmsg(s->db));
			sqlite3_free(msg);
			store_rollback(s);
			return -1;
		}
	if (v < nsteps) {
		if (sqlite3_prepare_v2(s->db, "INSERT INTO schema_versions(component,version) VALUES(?1,?2)"
				       " ON CONFLICT(component) DO UPDATE SET version=excluded.version",
				       -1, &st, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, nsteps);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (store_commit(s) < 0) {
		set_err(err, errlen, s->path, "cannot commit the schema", sqlite3_errmsg(s->db));
		return -1;
	}
	if (v < nsteps)
		log_info("store: %s schema of %s at version %d (was %d)", component, s->path, nsteps, v);
	return 0;
fail:
	set_err(err, errlen, s->path, "cannot record the schema version", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	store_rollback(s);
	return -1;
}

/* Runs a prepared write statement; -1 with the error logged. */
static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* Runs one write statement in its own transaction unless one is open. */
static int write1(struct store *s, sqlite3_stmt *st, const char *what)
{
	int own = !s->in_tx, rc;
	if (own && store_begin(s) < 0) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return -1;
	}
	rc = step_done(s, st, what);
	if (own) {
		if (rc < 0)
			store_rollback(s);
		else
			rc = store_commit(s);
	}
	return rc;
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int store_account_get(struct store *s, const char *net, struct store_account *a)
{
	sqlite3_stmt *st;
	int rc, found = 0;
	memset(a, 0, sizeof *a);
	if (sqlite3_prepare_v2(s->db, "SELECT homeserver,user_id,device_id,access_token"
			       " FROM accounts WHERE net=?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_col(st, 0, a->homeserver, sizeof a->homeserver);
		copy_col(st, 1, a->user_id, sizeof a->user_id);
		copy_col(st, 2, a->device_id, sizeof a->device_id);
		copy_col(st, 3, a->access_token, sizeof a->access_token);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = -1;
	}
	sqlite3_finalize(st);
	return found;
}

int store_account_set(struct store *s, const char *net, const struct store_account *a)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO accounts(net,homeserver,user_id,device_id,access_token)"
			       " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(net) DO UPDATE SET"
			       " homeserver=excluded.homeserver, user_id=excluded.user_id,"
			       " device_id=excluded.device_id, access_token=excluded.access_token",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->homeserver, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->device_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->access_token, -1, SQLITE_STATIC);
	{
		int rc = write1(s, st, "saving the account");
		sqlite3_finalize(st);
		return rc;
	}
}

/* Ends a one-row query of a prepared statement kept for reuse: found, or
 * -1 when the step failed (rc neither a row nor done). */
static int query_done(sqlite3_stmt *st, int rc, int found)
{
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		found = -1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return found;
}

int store_sync_get(struct store *s, const char *net, char *buf, size_t buflen)
{
	sqlite3_stmt *st = s->stmt[Q_SYNC_GET];
	int rc, found = 0;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		size_t n = t ? strlen((const char *)t) : 0;
		if (!t || n + 1 > buflen)
			found = -1;
		else {
			memcpy(buf, t, n + 1);
			found = 1;
		}
	}
	return query_done(st, rc, found);
}

int store_sync_set(struct store *s, const char *net, const char *token)
{
	sqlite3_stmt *st = s->stmt[Q_SYNC_SET];
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
	return write1(s, st, "saving the sync token");
}

int store_room_get(struct store *s, const char *net, const char *room_id, struct store_room *r)
{
	sqlite3_stmt *st = s->stmt[Q_ROOM_GET];
	int rc, found = 0;
	memset(r, 0, sizeof *r);
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, room_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->joined = sqlite3_column_int(st, 0);
		r->is_direct = sqlite3_column_int(st, 1);
		r->members = sqlite3_column_int(st, 2);
		r->encrypted = sqlite3_column_int(st, 3);
		r->rot_msgs = sqlite3_column_int64(st, 4);
		r->rot_ms = sqlite3_column_int64(st, 5);
		found = 1;
	}
	return query_done(st, rc, found);
}

int store_room_set(struct store *s, const char *net, const char *room_id, const struct store_room *r)
{
	sqlite3_stmt *st = s->stmt[Q_ROOM_SET];
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, room_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, r->joined);
	sqlite3_bind_int(st, 4, r->is_direct);
	sqlite3_bind_int(st, 5, r->members);
	sqlite3_bind_int(st, 6, r->encrypted);
	sqlite3_bind_int64(st, 7, r->rot_msgs);
	sqlite3_bind_int64(st, 8, r->rot_ms);
	return write1(s, st, "saving a room");
}

int store_room_list(struct store *s, const char *net, int joined, char (*ids)[256], int max)
{
	sqlite3_stmt *st;
	int n = 0, rc = SQLITE_DONE;
	if (sqlite3_prepare_v2(s->db, "SELECT room_id FROM rooms WHERE net=?1 AND joined=?2"
			       " ORDER BY room_id LIMIT ?3", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, joined);
	sqlite3_bind_int(st, 3, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		copy_col(st, 0, ids[n++], 256);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

int store_answer_known(struct store *s, const char *net, const char *event_id)
{
	sqlite3_stmt *st = s->stmt[Q_ANSWER_KNOWN];
	int rc;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_answer_by_reply(struct store *s, const char *net, const char *reply_id, char *event_id,
			 size_t len)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(s->db, "SELECT event_id FROM answers WHERE net=?1 AND reply_id=?2"
			       " LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reply_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && event_id)
		copy_col(st, 0, event_id, len);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_answer_add(struct store *s, const char *net, const char *event_id,
		     const char *room_id, const char *txn_id, const char *content,
		     int64_t now_ms)
{
	sqlite3_stmt *st = s->stmt[Q_ANSWER_ADD];
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, room_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, txn_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, content, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now_ms);
	return write1(s, st, "recording an answer");
}

int store_answer_set_state(struct store *s, const char *net, const char *event_id,
			   enum store_answer_state state, const char *reply_id)
{
	sqlite3_stmt *st = s->stmt[Q_ANSWER_STATE];
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)state);
	if (reply_id)
		sqlite3_bind_text(st, 4, reply_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	return write1(s, st, "updating an answer");
}

int store_pending_list(struct store *s, const char *net, int64_t after_seq,
		       struct store_pending *out, int max)
{
	sqlite3_stmt *st = s->stmt[Q_PENDING];
	int n = 0, rc = SQLITE_DONE;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after_seq);
	sqlite3_bind_int(st, 3, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_pending *p = &out[n];
		const unsigned char *c = sqlite3_column_text(st, 4);
		p->seq = sqlite3_column_int64(st, 0);
		copy_col(st, 1, p->event_id, sizeof p->event_id);
		copy_col(st, 2, p->room_id, sizeof p->room_id);
		copy_col(st, 3, p->txn_id, sizeof p->txn_id);
		p->encrypted = sqlite3_column_int(st, 5);
		if (!(p->content = strdup(c ? (const char *)c : "{}"))) {
			rc = SQLITE_NOMEM;
			break;
		}
		n++;
	}
	if (n < max && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("store: listing pending answers: %s", sqlite3_errmsg(s->db));
		while (n > 0)
			free(out[--n].content);
		n = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

long store_pending_count(struct store *s, const char *net)
{
	sqlite3_stmt *st;
	long n = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM answers WHERE net=?1 AND state=0",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

long store_answer_prune(struct store *s, int64_t before_ms)
{
	sqlite3_stmt *st;
	long n;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM answers WHERE state<>0 AND created<?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	if (write1(s, st, "pruning old answers") < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	n = (long)sqlite3_changes(s->db);
	sqlite3_finalize(st);
	return n;
}

/* ---- events held until their room key arrives ---- */

/* Prepares sql and binds net as ?1; NULL on error (logged). */
static sqlite3_stmt *prep_net(struct store *s, const char *sql, const char *net)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("store: %s", sqlite3_errmsg(s->db));
		return NULL;
	}
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	return st;
}

int store_held_add(struct store *s, const char *net, const char *room_id, const char *event_id,
		   const char *event, int64_t now_ms, int max, char *dropped, size_t droppedlen)
{
	sqlite3_stmt *st;
	int rc, n = 0;
	if (dropped && droppedlen)
		dropped[0] = 0;
	if (max < 1)
		return -1;
	if (!(st = prep_net(s, "INSERT OR IGNORE INTO held(net,room_id,event_id,event,created)"
			    " VALUES(?1,?2,?3,?4,?5)", net)))
		return -1;
	sqlite3_bind_text(st, 2, room_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms);
	rc = write1(s, st, "holding an event");
	sqlite3_finalize(st);
	if (rc < 0)
		return -1;
	/* At the cap the oldest goes (one insert drops at most one). */
	if (!(st = prep_net(s, "SELECT count(*) FROM held WHERE net=?1", net)))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (n <= max)
		return 0;
	if (!(st = prep_net(s, "SELECT id,event_id FROM held WHERE net=?1 ORDER BY id LIMIT 1", net)))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (dropped && droppedlen)
			copy_col(st, 1, dropped, droppedlen);
		sqlite3_finalize(st);
		return store_held_del(s, id) < 0 ? -1 : 1;
	}
	sqlite3_finalize(st);
	return -1;
}

int store_held_list(struct store *s, const char *net, const char *room_id,
		    struct store_held *out, int max)
{
	sqlite3_stmt *st = prep_net(s, room_id ?
				    "SELECT id,room_id,event FROM held WHERE net=?1 AND room_id=?2"
				    " ORDER BY id LIMIT ?3" :
				    "SELECT id,room_id,event FROM held WHERE net=?1 ORDER BY id LIMIT ?3", net);
	int n = 0, rc = SQLITE_DONE;
	if (!st)
		return -1;
	if (room_id)
		sqlite3_bind_text(st, 2, room_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *e = sqlite3_column_text(st, 2);
		out[n].id = sqlite3_column_int64(st, 0);
		copy_col(st, 1, out[n].room_id, sizeof out[n].room_id);
		if (!(out[n].event = strdup(e ? (const char *)e : "{}"))) {
			rc = SQLITE_NOMEM;
			break;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (n < max && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		while (n > 0)
			free(out[--n].event);
		return -1;
	}
	return n;
}

int store_held_del(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM held WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = write1(s, st, "releasing a held event");
	sqlite3_finalize(st);
	return rc;
}

long store_held_count(struct store *s, const char *net)
{
	sqlite3_stmt *st = prep_net(s, "SELECT count(*) FROM held WHERE net=?1", net);
	long n = -1;
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* ---- small per-network values ---- */

int store_kv_get(struct store *s, const char *net, const char *key, char *buf, size_t buflen)
{
	sqlite3_stmt *st = prep_net(s, "SELECT value FROM kv WHERE net=?1 AND key=?2", net);
	int rc, found = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		size_t n = t ? strlen((const char *)t) : 0;
		if (!t || n + 1 > buflen) {
			found = -1;
		} else {
			memcpy(buf, t, n + 1);
			found = 1;
		}
	} else if (rc != SQLITE_DONE) {
		found = -1;
	}
	sqlite3_finalize(st);
	return found;
}

int store_kv_set(struct store *s, const char *net, const char *key, const char *value)
{
	sqlite3_stmt *st = prep_net(s, "INSERT INTO kv(net,key,value) VALUES(?1,?2,?3)"
				    " ON CONFLICT(net,key) DO UPDATE SET value=excluded.value", net);
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	rc = write1(s, st, "saving a value");
	sqlite3_finalize(st);
	return rc;
}
