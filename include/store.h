/* store.h - the bot's state in one SQLite file ([bot] state): per network
 * the Matrix account (user, device, access token), the /sync token, the
 * rooms, and the questions answered (txn id, state, reply content), plus
 * a simple versioned-migration mechanism that other modules (E2EE) use
 * for their own tables.  The file is created mode 0600, in WAL mode
 * (synchronous=NORMAL, or FULL on request: store_set_durable); every write
 * is in a transaction, so a SIGKILL at any point loses nothing that was
 * committed.  Never logs a token. */
#ifndef FAQBOT_STORE_H
#define FAQBOT_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct sqlite3;

/* Opens (creating it mode 0600 when missing, and tightening a wider mode)
 * and migrates the core schema.  NULL with err = "path: what is wrong"
 * (e.g. a file made by a newer faqbot). */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_free(struct store *s); /* accepts NULL; rolls back an open transaction */

/* The raw handle, for modules with their own tables (they create them
 * with store_migrate and write inside store_begin/store_commit). */
struct sqlite3 *store_db(struct store *s);

/* Brings component's tables to version nsteps by running steps[v..nsteps)
 * in one transaction, where v is the component's stored version (0 for a
 * new one).  "core" is this module's.  -1 (err filled) when a step fails
 * or the file was written by a newer version (v > nsteps). */
int store_migrate(struct store *s, const char *component, const char *const *steps,
		  int nsteps, char *err, size_t errlen);
/* The stored version of component, 0 when none. */
int store_version(struct store *s, const char *component);

/* How far this connection's commits go before returning.  0 (the default
 * of store_open): WAL with synchronous=NORMAL, no fsync per commit: a
 * commit survives the process's death (SIGKILL: it is in the WAL file),
 * and a power cut can only drop the last commits together, in order,
 * never half of one.  Enough for replies: the pending answer and the sync
 * token share one transaction, and the txn id derives from the question,
 * so a rolled-back batch is fetched again and re-sent under the same txn
 * id, which the homeserver deduplicates.  1: synchronous=FULL, an fsync
 * per commit, for state that must outlive a power cut on its own (the Olm
 * account pickled before its keys are uploaded).  0 / -1. */
int store_set_durable(struct store *s, int full);

/* Transactions (BEGIN IMMEDIATE).  Nesting is not supported.  0 / -1. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* ---- accounts: one row per [matrix.NAME] ---- */
struct store_account {
	char homeserver[512];
	char user_id[256];
	char device_id[128];
	char access_token[1024]; /* "" when none: log in again */
};
/* 1 found (a filled), 0 none, -1 error. */
int store_account_get(struct store *s, const char *net, struct store_account *a);
int store_account_set(struct store *s, const char *net, const struct store_account *a);

/* ---- the /sync token ---- */
/* 1 found (copied into buf, NUL-terminated), 0 none, -1 error or too long. */
int store_sync_get(struct store *s, const char *net, char *buf, size_t buflen);
/* Call inside the transaction that holds the batch's bookkeeping. */
int store_sync_set(struct store *s, const char *net, const char *token);

/* ---- rooms ---- */
enum { STORE_LEFT = 0, STORE_JOINED = 1, STORE_JOINING = 2 /* invite accepted, join not yet acknowledged */ };
struct store_room {
	int joined;      /* STORE_LEFT / STORE_JOINED / STORE_JOINING */
	int is_direct;   /* invited with is_direct */
	int members;     /* joined members, 0 when unknown */
	int encrypted;   /* m.room.encryption seen: answers go out encrypted */
	int64_t rot_msgs;/* its rotation_period_msgs, 0: the spec's default */
	int64_t rot_ms;  /* its rotation_period_ms, 0: the spec's default */
};
int store_room_get(struct store *s, const char *net, const char *room_id, struct store_room *r);
int store_room_set(struct store *s, const char *net, const char *room_id, const struct store_room *r);
/* Up to max room ids of net whose joined state is `joined`, into ids.
 * Returns how many, or -1. */
int store_room_list(struct store *s, const char *net, int joined, char (*ids)[256], int max);

/* ---- questions answered (exactly once) ---- */
enum store_answer_state {
	STORE_PENDING = 0, /* decided and stored, not yet acknowledged */
	STORE_SENT = 1,    /* the homeserver acknowledged (200) */
	STORE_FAILED = 2   /* refused for good (403, 400...): not retried */
};
/* 1 when the question event_id is already in the store (any state), 0 when
 * not, -1 on error.  A question in the store is never answered again. */
int store_answer_known(struct store *s, const char *net, const char *event_id);
/* Records a decided answer as pending (call inside the batch's
 * transaction, before sending).  Returns 0, or -1; inserting a known
 * event_id again is a no-op returning 0. */
int store_answer_add(struct store *s, const char *net, const char *event_id,
		     const char *room_id, const char *txn_id, const char *content,
		     int64_t now_ms);
/* The bot's own message reply_id (its event id, known once sent): 1 with
 * the key it was stored under (the question's event id) copied into
 * event_id (len bytes), 0 when reply_id is not one of the bot's, -1 on
 * error. */
int store_answer_by_reply(struct store *s, const char *net, const char *reply_id, char *event_id,
			  size_t len);
/* Sets the state (and the reply's event id when sent). */
int store_answer_set_state(struct store *s, const char *net, const char *event_id,
			   enum store_answer_state st, const char *reply_id);

/* One pending answer, as stored: re-sent with the same txn id and the
 * same content. */
struct store_pending {
	int64_t seq;        /* insertion order */
	char event_id[256];
	char room_id[256];
	char txn_id[80];
	char *content;      /* malloc'd JSON; the caller frees it */
	int encrypted;      /* content is m.room.encrypted content: rows of
	                     * versions that stored the ciphertext, re-sent
	                     * as they are; answers are now stored in clear
	                     * and encrypted at each send */
};
/* Up to max pending answers of net with seq > after_seq, oldest first,
 * into out.  Returns how many, or -1. */
int store_pending_list(struct store *s, const char *net, int64_t after_seq,
		       struct store_pending *out, int max);
/* Pending answers of net. */
long store_pending_count(struct store *s, const char *net);
/* Deletes sent/failed answers created before before_ms (bookkeeping older
 * than any question that could come back).  Returns rows deleted or -1. */
long store_answer_prune(struct store *s, int64_t before_ms);

/* ---- encrypted events held until their room key arrives ---- */
struct store_held {
	int64_t id;
	char room_id[256];
	char *event;        /* malloc'd JSON of the event; the caller frees it */
};
/* Holds event (JSON text) of room_id; holding an event_id already held is
 * a no-op.  At most max events per network: past it the oldest is dropped
 * and its event id copied into dropped.  Returns 0, 1 when one was
 * dropped, or -1. */
int store_held_add(struct store *s, const char *net, const char *room_id, const char *event_id,
		   const char *event, int64_t now_ms, int max, char *dropped, size_t droppedlen);
/* Up to max held events of net (of room_id only, unless NULL), oldest
 * first.  Returns how many, or -1. */
int store_held_list(struct store *s, const char *net, const char *room_id,
		    struct store_held *out, int max);
int store_held_del(struct store *s, int64_t id);
long store_held_count(struct store *s, const char *net);

/* ---- small per-network values (cross-signing done, tokens) ---- */
/* 1 found (NUL-terminated in buf), 0 none, -1 error or too long. */
int store_kv_get(struct store *s, const char *net, const char *key, char *buf, size_t buflen);
int store_kv_set(struct store *s, const char *net, const char *key, const char *value);

#endif
