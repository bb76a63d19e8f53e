/* record.c - the questions kept for the knowledge team (see record.h).
 * Its own connection to the state file, through store.c (creation mode
 * 0600, WAL, versioned migrations); its own table and queries. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "log.h"
#include "record.h"
#include "store.h"

#define RING 256    /* answers remembered for "!faux" (their text stays in memory) */
#define MAX_OPS 4096 /* writes waiting for the file; more are dropped (logged) */

/* A write, queued: the Matrix client writes a whole /sync batch in one
 * transaction on its own connection, and bot_handle (hence this module)
 * runs inside it; a second connection cannot write until it commits, so
 * every write waits here and record_flush (from a loop timer, right
 * after) does them in one transaction. */
enum op_kind { OP_INSERT, OP_MARK };
struct op {
	enum op_kind kind;
	long long seq;        /* OP_INSERT: its number, for the ring and marks */
	long long id;         /* OP_MARK: the row; 0: the row of insert target */
	long long target;
	time_t t;
	char *net, *room, *event, *intent, *text;
	char asker[65];
	double conf;
	int missed;
	int feedback;         /* OP_MARK: -1 wrong, +1 approved */
};

struct last_answer {
	char asker[65];
	long long id;         /* its row, 0 while its insert waits */
	long long seq;
	time_t t;
	char *text;
};

struct record {
	struct store *st;
	sqlite3 *db;
	int days;
	unsigned char key[32];
	struct last_answer ring[RING];
	size_t next;
	struct op *ops;
	size_t nops;
	long long seq;
	void (*kick)(void *);
	void *kick_arg;
};

static const char *const steps[] = {
	"CREATE TABLE questions (id INTEGER PRIMARY KEY AUTOINCREMENT, t INTEGER NOT NULL,"
	" net TEXT NOT NULL, room TEXT, asker TEXT NOT NULL, intent TEXT NOT NULL,"
	" confidence REAL NOT NULL, missed INTEGER NOT NULL, wrong INTEGER NOT NULL DEFAULT 0,"
	" text TEXT, event TEXT, feedback INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX questions_t ON questions(t);"
	"CREATE TABLE record_key (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL);",
};

static int load_key(struct record *r, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, have = 0;

	if (sqlite3_prepare_v2(r->db, "SELECT key FROM record_key WHERE id = 1", -1, &st, NULL))
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == (int)sizeof r->key) {
		memcpy(r->key, sqlite3_column_blob(st, 0), sizeof r->key);
		have = 1;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (have)
		return 0;
	if (RAND_bytes(r->key, sizeof r->key) != 1) {
		snprintf(err, errlen, "record: no random bytes for the asker key");
		return -1;
	}
	if (sqlite3_prepare_v2(r->db, "INSERT OR IGNORE INTO record_key (id, key) VALUES (1, ?)",
			       -1, &st, NULL) ||
	    sqlite3_bind_blob(st, 1, r->key, sizeof r->key, SQLITE_STATIC) ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	/* Another process may have won the race: read back the stored key. */
	if (sqlite3_prepare_v2(r->db, "SELECT key FROM record_key WHERE id = 1", -1, &st, NULL) ||
	    sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != (int)sizeof r->key)
		goto out;
	memcpy(r->key, sqlite3_column_blob(st, 0), sizeof r->key);
	rc = 0;
out:
	if (rc)
		snprintf(err, errlen, "record: cannot read or store the asker key: %s",
			 sqlite3_errmsg(r->db));
	sqlite3_finalize(st);
	return rc;
}

struct record *record_open(const char *path, int days, char *err, size_t errlen)
{
	struct record *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "record: out of memory");
		return NULL;
	}
	if (!(r->st = store_open(path, err, errlen)))
		goto fail;
	r->db = store_db(r->st);
	if (store_migrate(r->st, "record", steps, (int)(sizeof steps / sizeof *steps), err,
			  errlen) < 0 ||
	    load_key(r, err, errlen) < 0)
		goto fail;
	record_set_days(r, days);
	return r;
fail:
	record_close(r);
	return NULL;
}

static void op_free(struct op *o)
{
	free(o->net);
	free(o->room);
	free(o->event);
	free(o->intent);
	free(o->text);
}

void record_close(struct record *r)
{
	size_t i;
	if (!r)
		return;
	if (r->nops && r->db) {
		sqlite3_busy_timeout(r->db, 2000);
		record_flush(r);
	}
	for (i = 0; i < r->nops; i++)
		op_free(&r->ops[i]);
	free(r->ops);
	for (i = 0; i < RING; i++)
		free(r->ring[i].text);
	store_free(r->st);
	OPENSSL_cleanse(r->key, sizeof r->key);
	free(r);
}

void record_set_days(struct record *r, int days)
{
	r->days = days > 0 ? days : 90;
}

void record_set_kick(struct record *r, void (*fn)(void *arg), void *arg)
{
	r->kick = fn;
	r->kick_arg = arg;
	/* writes are queued from now on: never wait for another connection */
	sqlite3_busy_timeout(r->db, fn ? 0 : 5000);
}

size_t record_pending(const struct record *r)
{
	return r ? r->nops : 0;
}

int record_asker_hash(struct record *r, const char *net, const char *asker, char out[65])
{
	unsigned char msg[1024], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0, i;
	const char *p;

	/* network NUL lowercased id: the same person under another case of
	 * their nick is the same asker (IRC nicks are case-insensitive) */
	for (p = net ? net : ""; *p && n < sizeof msg - 1; p++)
		msg[n++] = (unsigned char)*p;
	msg[n++] = 0;
	for (p = asker ? asker : ""; *p && n < sizeof msg; p++)
		msg[n++] = (unsigned char)tolower((unsigned char)*p);
	if (!HMAC(EVP_sha256(), r->key, sizeof r->key, msg, n, md, &mdlen) || mdlen != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Queues o (taking its strings); flushes at once when nobody schedules
 * it (tests, report), else asks for a flush. */
static int enqueue(struct record *r, struct op *o)
{
	struct op *nv;
	if (r->nops >= MAX_OPS || !(nv = realloc(r->ops, (r->nops + 1) * sizeof *nv))) {
		log_warn("record: %zu writes waiting for %s; one dropped", r->nops, "the state file");
		op_free(o);
		return -1;
	}
	r->ops = nv;
	r->ops[r->nops++] = *o;
	if (!r->kick)
		return record_flush(r) < 0 ? -1 : 0;
	if (r->nops == 1)
		r->kick(r->kick_arg);
	return 0;
}

static int run_op(struct record *r, struct op *o)
{
	sqlite3_stmt *st = NULL;
	int bad;

	if (o->kind == OP_INSERT) {
		bad = sqlite3_prepare_v2(r->db, "INSERT INTO questions (t, net, room, asker, intent,"
					 " confidence, missed, text, event) VALUES (?, ?, ?, ?, ?, ?, ?,"
					 " ?, ?)", -1, &st, NULL) ||
		      sqlite3_bind_int64(st, 1, (sqlite3_int64)o->t) ||
		      sqlite3_bind_text(st, 2, o->net, -1, SQLITE_STATIC) ||
		      sqlite3_bind_text(st, 3, o->room, -1, SQLITE_STATIC) ||
		      sqlite3_bind_text(st, 4, o->asker, -1, SQLITE_STATIC) ||
		      sqlite3_bind_text(st, 5, o->intent, -1, SQLITE_STATIC) ||
		      sqlite3_bind_double(st, 6, o->conf) ||
		      sqlite3_bind_int(st, 7, o->missed) ||
		      sqlite3_bind_text(st, 8, o->text, -1, SQLITE_STATIC) ||
		      sqlite3_bind_text(st, 9, o->event, -1, SQLITE_STATIC) ||
		      sqlite3_step(st) != SQLITE_DONE;
		if (!bad) {
			long long id = (long long)sqlite3_last_insert_rowid(r->db);
			size_t i;
			for (i = 0; i < RING; i++)
				if (r->ring[i].seq == o->seq && !r->ring[i].id)
					r->ring[i].id = id;
			for (i = 0; i < r->nops; i++)
				if (r->ops[i].kind == OP_MARK && !r->ops[i].id &&
				    r->ops[i].target == o->seq)
					r->ops[i].id = id;
		}
	} else {
		/* the question stays with an answer marked wrong; the last
		 * feedback wins */
		bad = sqlite3_prepare_v2(r->db, "UPDATE questions SET feedback = ?, wrong = ?,"
					 " text = CASE WHEN ? THEN coalesce(text, ?) ELSE text END"
					 " WHERE id = ?", -1, &st, NULL) ||
		      sqlite3_bind_int(st, 1, o->feedback) ||
		      sqlite3_bind_int(st, 2, o->feedback < 0) ||
		      sqlite3_bind_int(st, 3, o->feedback < 0) ||
		      sqlite3_bind_text(st, 4, o->text, -1, SQLITE_STATIC) ||
		      sqlite3_bind_int64(st, 5, o->id) ||
		      sqlite3_step(st) != SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return bad ? -1 : 0;
}

int record_flush(struct record *r)
{
	size_t i;
	int rc;

	if (!r || !r->nops)
		return 0;
	rc = sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return (int)r->nops; /* another writer: later */
	if (rc != SQLITE_OK)
		goto fail;
	for (i = 0; i < r->nops; i++)
		if (run_op(r, &r->ops[i]) < 0)
			goto fail;
	if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < r->nops; i++)
		op_free(&r->ops[i]);
	r->nops = 0;
	return 0;
fail:
	log_warn("record: cannot write %zu recorded question(s) or mark(s): %s; they are "
		 "dropped", r->nops, sqlite3_errmsg(r->db));
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < RING; i++)
		if (!r->ring[i].id && r->ring[i].seq) {
			free(r->ring[i].text);
			memset(&r->ring[i], 0, sizeof r->ring[i]);
		}
	for (i = 0; i < r->nops; i++)
		op_free(&r->ops[i]);
	r->nops = 0;
	return -1;
}

static char *dup_or_null(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

int record_question(struct record *r, time_t t, const char *net, const char *room,
		    const char *event, const char *asker, const char *text, size_t len,
		    const char *intent, double confidence, int missed)
{
	struct op o;

	if (!r)
		return -1;
	memset(&o, 0, sizeof o);
	if (record_asker_hash(r, net, asker, o.asker) < 0)
		return -1;
	o.kind = OP_INSERT;
	o.seq = ++r->seq;
	o.t = t;
	o.net = strdup(net ? net : "");
	o.room = room ? strdup(room) : NULL;
	o.event = event ? strdup(event) : NULL;
	o.intent = strdup(intent ? intent : "out_of_scope");
	o.conf = confidence;
	o.missed = missed ? 1 : 0;
	o.text = missed ? dup_or_null(text ? text : "", len) : NULL;
	if (!o.net || !o.intent || (room && !o.room) || (event && !o.event) ||
	    (missed && !o.text)) {
		op_free(&o);
		return -1;
	}
	/* Remember the answer for "!faux" (its text is written only then). */
	if (!missed) {
		struct last_answer *a = &r->ring[r->next++ % RING];
		free(a->text);
		memcpy(a->asker, o.asker, sizeof o.asker);
		a->id = 0;
		a->seq = o.seq;
		a->t = t;
		a->text = strndup(text ? text : "", len);
	}
	return enqueue(r, &o);
}

static int mark(struct record *r, long long id, long long target, int feedback, const char *text)
{
	struct op o;
	memset(&o, 0, sizeof o);
	o.kind = OP_MARK;
	o.id = id;
	o.target = target;
	o.feedback = feedback;
	if (text && !(o.text = strdup(text)))
		return -1;
	return enqueue(r, &o) < 0 ? -1 : 1;
}

int record_wrong(struct record *r, time_t t, const char *net, const char *asker)
{
	sqlite3_stmt *st = NULL;
	char h[65];
	long long id = 0, seq = 0;
	time_t best = 0;
	const char *text = NULL;
	size_t i;

	if (!r || record_asker_hash(r, net, asker, h) < 0)
		return -1;
	/* The newest question of this asker in the last 10 minutes: an
	 * answer (in memory, with its text), a missed question waiting to be
	 * written, or one in the table. */
#define FRESH(tt) ((tt) <= t && t - (tt) <= RECORD_WRONG_WINDOW && (tt) >= best)
	for (i = 0; i < RING; i++) {
		struct last_answer *a = &r->ring[i];
		if (a->seq && a->text && !strcmp(a->asker, h) && FRESH(a->t)) {
			best = a->t;
			id = a->id;
			seq = a->seq;
			text = a->text;
		}
	}
	for (i = 0; i < r->nops; i++) {
		struct op *o = &r->ops[i];
		if (o->kind == OP_INSERT && o->missed && !strcmp(o->asker, h) &&
		    !strcmp(o->net, net ? net : "") && FRESH(o->t)) {
			best = o->t;
			id = 0;
			seq = o->seq;
			text = NULL;
		}
	}
	if (sqlite3_prepare_v2(r->db, "SELECT id, t FROM questions WHERE asker = ? AND net = ? AND"
			       " t >= ? AND missed = 1 ORDER BY t DESC, id DESC LIMIT 1", -1, &st,
			       NULL) ||
	    sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, net ? net : "", -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)(t - RECORD_WRONG_WINDOW))) {
		log_warn("record: cannot look for the answer to mark: %s", sqlite3_errmsg(r->db));
		sqlite3_finalize(st);
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		time_t tt = (time_t)sqlite3_column_int64(st, 1);
		if (FRESH(tt) && tt > best) {
			best = tt;
			id = sqlite3_column_int64(st, 0);
			seq = 0;
			text = NULL; /* a missed question: its text is stored already */
		}
	}
#undef FRESH
	sqlite3_finalize(st);
	if (!id && !seq)
		return 0;
	return mark(r, id, id ? 0 : seq, -1, text);
}

int record_reaction(struct record *r, const char *net, const char *answer_event, int good)
{
	sqlite3_stmt *st = NULL;
	long long id = 0;
	const char *text = NULL;

	if (!r || !answer_event)
		return -1;
	/* store.c's answers table links the question's event to the answer's
	 * (reply_id) for 30 days */
	if (sqlite3_prepare_v2(r->db, "SELECT q.id FROM questions q JOIN answers a ON a.net = q.net"
			       " AND a.event_id = q.event WHERE q.net = ? AND a.reply_id = ?"
			       " ORDER BY q.id DESC LIMIT 1", -1, &st, NULL) ||
	    sqlite3_bind_text(st, 1, net ? net : "", -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, answer_event, -1, SQLITE_STATIC)) {
		log_warn("record: cannot look for the answer reacted to: %s", sqlite3_errmsg(r->db));
		sqlite3_finalize(st);
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (!id)
		return 0;
	for (size_t i = 0; i < RING; i++)
		if (r->ring[i].id == id)
			text = r->ring[i].text;
	return mark(r, id, 0, good ? 1 : -1, good ? NULL : text);
}

int record_purge_old(struct record *r, time_t now)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (!r)
		return -1;
	record_flush(r);
	if (!sqlite3_prepare_v2(r->db, "DELETE FROM questions WHERE t < ?", -1, &st, NULL) &&
	    !sqlite3_bind_int64(st, 1, (sqlite3_int64)(now - (time_t)r->days * 86400)) &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(r->db);
	else
		log_warn("record: cannot delete old questions: %s", sqlite3_errmsg(r->db));
	sqlite3_finalize(st);
	for (size_t i = 0; i < RING; i++)
		if (r->ring[i].text && r->ring[i].id && r->ring[i].t < now - RECORD_WRONG_WINDOW) {
			free(r->ring[i].text);
			memset(&r->ring[i], 0, sizeof r->ring[i]);
		}
	return rc;
}
