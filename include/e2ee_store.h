/* e2ee_store.h - the crypto tables in the bot's SQLite state file (the
 * handle comes from store_db(), store.h): the Olm account, Olm sessions,
 * Megolm inbound/outbound sessions, the (session, index) -> event id
 * table for replay protection, pinned device keys, tracked users and the
 * cross-signing seeds.  Every pickle is already encrypted with the pickle
 * key by libolm; this module only stores rows.  Rows are per "owner"
 * (our "user_id|device_id"), so several Matrix accounts share a file.
 * Writes go through e2ee_store_begin/commit, which are SAVEPOINTs: they
 * nest inside a transaction the caller (store_begin) already holds. */
#ifndef FAQBOT_E2EE_STORE_H
#define FAQBOT_E2EE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct sqlite3;

/* Creates the tables (CREATE TABLE IF NOT EXISTS).  0 / -1. */
int e2ee_store_init(struct sqlite3 *db);

/* SAVEPOINT e2ee / RELEASE e2ee / ROLLBACK TO + RELEASE.  0 / -1. */
int e2ee_store_begin(struct sqlite3 *db);
int e2ee_store_commit(struct sqlite3 *db);
void e2ee_store_rollback(struct sqlite3 *db);

/* Key strings (base64 curve25519/ed25519 keys are 43 chars, session ids
 * 43 too) fit in E2EE_KEY_LEN; user and device ids in E2EE_ID_LEN. */
#define E2EE_KEY_LEN 96
#define E2EE_ID_LEN 256

/* ---- the account ---- */
struct e2ee_store_account {
	char *pickle;           /* malloc'd; the caller frees it */
	int device_uploaded;    /* device keys acknowledged by /keys/upload */
	int64_t fb_rotated_ms;  /* when the fallback key last changed, 0 none */
};
/* 1 found, 0 none, -1 error. */
int e2ee_store_account_get(struct sqlite3 *db, const char *owner, struct e2ee_store_account *a);
int e2ee_store_account_put(struct sqlite3 *db, const char *owner, const char *pickle,
			   int device_uploaded, int64_t fb_rotated_ms);

/* ---- Olm sessions, per peer curve25519 key ---- */
/* Up to max pickles (malloc'd, the caller frees each) of sessions with
 * peer_key, most recently used first.  Returns how many, or -1. */
int e2ee_store_olm_list(struct sqlite3 *db, const char *owner, const char *peer_key,
			char **pickles, int max);
int e2ee_store_olm_put(struct sqlite3 *db, const char *owner, const char *peer_key,
		       const char *session_id, const char *pickle, int64_t used_ms);

/* Keeps the keep most recently used sessions with peer_key.  0 / -1. */
int e2ee_store_olm_trim(struct sqlite3 *db, const char *owner, const char *peer_key, int keep);

/* ---- Megolm inbound sessions ---- */
struct e2ee_store_inbound {
	char *pickle;      /* malloc'd */
	uint32_t first_index;
	char sender_ed25519[E2EE_KEY_LEN]; /* the key claimed in the Olm payload */
	char sender_key[E2EE_KEY_LEN];     /* the Curve25519 key it came over */
};
/* sender_key NULL: any sender (the session id alone). */
int e2ee_store_inbound_get(struct sqlite3 *db, const char *owner, const char *room_id,
			   const char *sender_key, const char *session_id, struct e2ee_store_inbound *in);
/* sender_user: the pinned owner of sender_key (for the per-sender quota);
 * now_ms: received, counts as last used. */
int e2ee_store_inbound_put(struct sqlite3 *db, const char *owner, const char *room_id,
			   const char *sender_key, const char *session_id, const char *pickle,
			   uint32_t first_index, const char *sender_ed25519, const char *sender_user,
			   int64_t now_ms);
/* A message was decrypted with session_id at now_ms.  0 / -1. */
int e2ee_store_inbound_used(struct sqlite3 *db, const char *owner, const char *session_id, int64_t now_ms);
/* Keeps the max most recently used sessions of sender_user, deleting the
 * rest.  Returns rows deleted, or -1. */
long e2ee_store_inbound_quota(struct sqlite3 *db, const char *owner, const char *sender_user, int max);
/* Inbound sessions of sender_user (NULL: all).  Count or -1. */
long e2ee_store_inbound_count(struct sqlite3 *db, const char *owner, const char *sender_user);

/* Retention: what e2ee_store_prune deletes. */
struct e2ee_store_prune {
	int64_t inbound_before_ms; /* inbound sessions last used before */
	int64_t seen_before_ms;    /* (session, index) rows seen before; and those of deleted sessions */
	int64_t olm_before_ms;     /* Olm sessions last used before */
	int olm_per_peer;          /* and beyond the most recent olm_per_peer per peer key */
	int64_t keyreq_before_ms;  /* room-key requests made before */
	/* tracked users and their pinned devices: never seen in a room of
	 * ours and last queried before stranger_before_ms, or last seen in one
	 * before member_before_ms; keep_user (ourselves) never */
	int64_t stranger_before_ms;
	int64_t member_before_ms;
	const char *keep_user;
};
struct e2ee_store_pruned {
	long inbound, seen, olm, shared, keyreq;
	long users, devices; /* users (and their devices) who share no room with us */
};
int e2ee_store_prune(struct sqlite3 *db, const char *owner, const struct e2ee_store_prune *p,
		     struct e2ee_store_pruned *out);

/* Replay protection: records (session_id, index) -> event_id.  0 when new
 * or the same event seen again (a sync may repeat it), 1 when that index
 * was seen with another event id (a replay), -1 on error. */
int e2ee_store_seen(struct sqlite3 *db, const char *owner, const char *session_id,
		    uint32_t index, const char *event_id, int64_t now_ms);

/* ---- Megolm outbound session per room ---- */
struct e2ee_store_outbound {
	char *pickle;      /* malloc'd */
	char session_id[E2EE_KEY_LEN];
	int64_t created_ms;
	long msgs;         /* messages encrypted with it */
};
int e2ee_store_outbound_get(struct sqlite3 *db, const char *owner, const char *room_id,
			    struct e2ee_store_outbound *out);
int e2ee_store_outbound_put(struct sqlite3 *db, const char *owner, const char *room_id,
			    const char *session_id, const char *pickle, int64_t created_ms, long msgs);
int e2ee_store_outbound_del(struct sqlite3 *db, const char *owner, const char *room_id);
/* Which devices already hold an outbound session: 1 / 0 / -1. */
int e2ee_store_shared_has(struct sqlite3 *db, const char *owner, const char *session_id,
			  const char *user_id, const char *device_id);
/* chain_index: the message index the device got the session at. */
int e2ee_store_shared_add(struct sqlite3 *db, const char *owner, const char *session_id,
			  const char *user_id, const char *device_id, int64_t chain_index);
/* That index (-1: shared before it was recorded), -2 not shared with that
 * device, -3 error. */
int64_t e2ee_store_shared_index(struct sqlite3 *db, const char *owner, const char *session_id,
				const char *user_id, const char *device_id);

/* ---- our m.room_key_request's, one per missing session ---- */
struct e2ee_store_keyreq {
	char request_id[E2EE_KEY_LEN];
	char room_id[E2EE_ID_LEN];
	char sender_user[E2EE_ID_LEN];
	int64_t created_ms;
};
int e2ee_store_keyreq_put(struct sqlite3 *db, const char *owner, const char *request_id, const char *room_id,
			  const char *session_id, const char *sender_user, int64_t now_ms);
/* 1 / 0 / -1 */
int e2ee_store_keyreq_get(struct sqlite3 *db, const char *owner, const char *session_id,
			  struct e2ee_store_keyreq *r);
int e2ee_store_keyreq_del(struct sqlite3 *db, const char *owner, const char *session_id);

/* ---- devices: keys pinned from verified /keys/query answers ---- */
struct e2ee_store_device {
	char user_id[E2EE_ID_LEN];
	char device_id[E2EE_ID_LEN];
	char curve25519[E2EE_KEY_LEN];
	char ed25519[E2EE_KEY_LEN];
};
int e2ee_store_device_get(struct sqlite3 *db, const char *owner, const char *user_id,
			  const char *device_id, struct e2ee_store_device *d);
/* The device whose curve25519 key is key: 1 / 0 / -1. */
int e2ee_store_device_by_curve(struct sqlite3 *db, const char *owner, const char *key,
			       struct e2ee_store_device *d);
/* The device of user_id whose curve25519 key is key: 1 / 0 / -1. */
int e2ee_store_device_of(struct sqlite3 *db, const char *owner, const char *user_id, const char *key,
			 struct e2ee_store_device *d);
/* Up to max devices of user_id; how many, or -1. */
int e2ee_store_device_list(struct sqlite3 *db, const char *owner, const char *user_id,
			   struct e2ee_store_device *out, int max);
int e2ee_store_device_put(struct sqlite3 *db, const char *owner, const struct e2ee_store_device *d);
int e2ee_store_device_del(struct sqlite3 *db, const char *owner, const char *user_id,
			  const char *device_id);
int e2ee_store_device_del_user(struct sqlite3 *db, const char *owner, const char *user_id);

/* ---- tracked users (device lists) ---- */
/* Adds user_id as outdated, queried at now_ms; an existing row is kept
 * unless force (then marked outdated, queried now). */
int e2ee_store_user_mark(struct sqlite3 *db, const char *owner, const char *user_id, int force,
			 int64_t now_ms);
/* user_id (tracked) was seen in a room of ours at now_ms.  0 / -1. */
int e2ee_store_user_member(struct sqlite3 *db, const char *owner, const char *user_id, int64_t now_ms);
int e2ee_store_user_done(struct sqlite3 *db, const char *owner, const char *user_id);
int e2ee_store_user_del(struct sqlite3 *db, const char *owner, const char *user_id);
/* 1 tracked, 0 not, -1 error. */
int e2ee_store_user_tracked(struct sqlite3 *db, const char *owner, const char *user_id);
/* 1 tracked and outdated, 0 up to date or not tracked, -1 error. */
int e2ee_store_user_is_outdated(struct sqlite3 *db, const char *owner, const char *user_id);
/* Up to max outdated users (each E2EE_ID_LEN bytes in ids); how many or -1. */
int e2ee_store_user_outdated(struct sqlite3 *db, const char *owner, char (*ids)[E2EE_ID_LEN], int max);

/* ---- cross-signing seeds (pickled, see e2ee.c) ---- */
/* master and self_ are malloc'd on 1; 0 none; -1 error. */
int e2ee_store_xsign_get(struct sqlite3 *db, const char *owner, char **master, char **self_);
int e2ee_store_xsign_put(struct sqlite3 *db, const char *owner, const char *master, const char *self_);

#endif
