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

#define RING 256 /* answers remembered for "!faux" (their text stays in memory) */

struct last_answer {
	char asker[65];
	long long id;
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
};

static const char *const steps[] = {
	"CREATE TABLE questions (id INTEGER PRIMARY KEY AUTOINCREMENT, t INTEGER NOT NULL,"
	" net TEXT NOT NULL, room TEXT, asker TEXT NOT NULL, intent TEXT NOT NULL,"
	" confidence REAL NOT NULL, missed INTEGER NOT NULL, wrong INTEGER NOT NULL DEFAULT 0,"
	" text TEXT);"
	"CREATE INDEX questions_t ON questions(t);"
	"CREATE TABLE record_key (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL);",
};

static int load_key(struct record *r, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	int rc = -1, have = 0;

	if (sqlite3_prepare_v2(r->db, "SELECT key FROM record_key WHERE id = 1", -1, &q, NULL))
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == (int)sizeof r->key) {
		memcpy(r->key, sqlite3_column_blob(q, 0), sizeof r->key);
		have = 1;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (have)
		return 0;
	if (RAND_bytes(r->key, sizeof r->key) != 1) {
		snprintf(err, errlen, "record: no random bytes for the asker key");
		return -1;
	}
	if (sqlite3_prepare_v2(r->db, "INSERT OR IGNORE INTO record_key (id, key) VALUES (1, ?)",
			       -1, &q, NULL) ||
	    sqlite3_bind_blob(q, 1, r->key, sizeof r->key, SQLITE_STATIC) ||
	    sqlite3_step(q) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(q);
	q = NULL;
	/* Another process may have won the race: read back the stored key. */
	if (sqlite3_prepare_v2(r->db, "SELECT key FROM record_key WHERE id = 1", -1, &q, NULL) ||
	    sqlite3_step(q) != SQLITE_ROW || sqlite3_column_bytes(q, 0) != (int)sizeof r->key)
		goto out;
	memcpy(r->key, sqlite3_column_blob(q, 0), sizeof r->key);
	rc = 0;
out:
	if (rc)
		snprintf(err, errlen, "record: cannot read or store the asker key: %s",
			 sqlite3_errmsg(r->db));
	sqlite3_finalize(q);
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

void record_close(struct record *r)
{
	size_t i;
	if (!r)
		return;
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

int record_question(struct record *r, time_t t, const char *net, const char *room,
		    const char *asker, const char *text, size_t len, const char *intent,
		    double confidence, int missed)
{
	sqlite3_stmt *q = NULL;
	char h[65];
	int rc = -1;

	if (!r || record_asker_hash(r, net, asker, h) < 0)
		return -1;
	if (sqlite3_prepare_v2(r->db, "INSERT INTO questions (t, net, room, asker, intent,"
			       " confidence, missed, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &q,
			       NULL) ||
	    sqlite3_bind_int64(q, 1, (sqlite3_int64)t) ||
	    sqlite3_bind_text(q, 2, net ? net : "", -1, SQLITE_STATIC) ||
	    (room ? sqlite3_bind_text(q, 3, room, -1, SQLITE_STATIC) : sqlite3_bind_null(q, 3)) ||
	    sqlite3_bind_text(q, 4, h, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(q, 5, intent ? intent : "out_of_scope", -1, SQLITE_STATIC) ||
	    sqlite3_bind_double(q, 6, confidence) ||
	    sqlite3_bind_int(q, 7, missed ? 1 : 0) ||
	    (missed ? sqlite3_bind_text(q, 8, text, (int)len, SQLITE_STATIC)
		    : sqlite3_bind_null(q, 8)) ||
	    sqlite3_step(q) != SQLITE_DONE) {
		log_warn("record: cannot record a question: %s", sqlite3_errmsg(r->db));
		goto out;
	}
	rc = 0;
	/* Remember the answer for "!faux" (its text is written only then). */
	if (!missed) {
		struct last_answer *a = &r->ring[r->next++ % RING];
		free(a->text);
		memcpy(a->asker, h, sizeof h);
		a->id = (long long)sqlite3_last_insert_rowid(r->db);
		a->t = t;
		a->text = strndup(text ? text : "", len);
	}
out:
	sqlite3_finalize(q);
	return rc;
}

int record_wrong(struct record *r, time_t t, const char *net, const char *asker)
{
	sqlite3_stmt *q = NULL;
	char h[65];
	long long id = 0;
	const char *text = NULL;
	int rc = -1;
	size_t i;

	if (!r || record_asker_hash(r, net, asker, h) < 0)
		return -1;
	/* The newest answer to this asker in the last 10 minutes: in memory
	 * for answers (with their text), else a missed one in the table. */
	for (i = 0; i < RING; i++) {
		struct last_answer *a = &r->ring[i];
		if (a->id > id && !strcmp(a->asker, h) && t - a->t <= RECORD_WRONG_WINDOW &&
		    a->t <= t) {
			id = a->id;
			text = a->text;
		}
	}
	if (sqlite3_prepare_v2(r->db, "SELECT id FROM questions WHERE asker = ? AND net = ? AND"
			       " t >= ? AND id > ? AND missed = 1 ORDER BY id DESC LIMIT 1", -1, &q, NULL) ||
	    sqlite3_bind_text(q, 1, h, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(q, 2, net ? net : "", -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(q, 3, (sqlite3_int64)(t - RECORD_WRONG_WINDOW)) ||
	    sqlite3_bind_int64(q, 4, id))
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW) {
		id = sqlite3_column_int64(q, 0);
		text = NULL; /* a missed question: its text is stored already */
	}
	sqlite3_finalize(q);
	q = NULL;
	if (!id)
		return 0;
	if (sqlite3_prepare_v2(r->db, "UPDATE questions SET wrong = 1, text = coalesce(?, text)"
			       " WHERE id = ?", -1, &q, NULL) ||
	    (text ? sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC) : sqlite3_bind_null(q, 1)) ||
	    sqlite3_bind_int64(q, 2, id) || sqlite3_step(q) != SQLITE_DONE)
		goto out;
	rc = sqlite3_changes(r->db) > 0;
out:
	if (rc < 0)
		log_warn("record: cannot mark an answer wrong: %s", sqlite3_errmsg(r->db));
	sqlite3_finalize(q);
	return rc;
}

int record_purge_old(struct record *r, time_t now)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;
	if (!r)
		return -1;
	if (!sqlite3_prepare_v2(r->db, "DELETE FROM questions WHERE t < ?", -1, &q, NULL) &&
	    !sqlite3_bind_int64(q, 1, (sqlite3_int64)(now - (time_t)r->days * 86400)) &&
	    sqlite3_step(q) == SQLITE_DONE)
		rc = sqlite3_changes(r->db);
	else
		log_warn("record: cannot delete old questions: %s", sqlite3_errmsg(r->db));
	sqlite3_finalize(q);
	for (size_t i = 0; i < RING; i++)
		if (r->ring[i].text && r->ring[i].t < now - RECORD_WRONG_WINDOW) {
			free(r->ring[i].text);
			r->ring[i].text = NULL;
			r->ring[i].id = 0;
		}
	return rc;
}
