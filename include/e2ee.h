/* e2ee.h - Matrix end-to-end encryption with libolm: the Olm account and
 * its keys, device-key verification and pinning, Olm (to-device) and
 * Megolm (room) encryption and decryption, room-key sharing, cross-signing.
 * Pure request/response functions: each builds a request body or consumes
 * a response body (JSON text); the Matrix client (mxnet.c) does the HTTP.
 * All state is in the SQLite state file (e2ee_store.h); every change is
 * committed before a function returns, so a SIGKILL loses nothing.
 * Algorithms: m.olm.v1.curve25519-aes-sha2, m.megolm.v1.aes-sha2 (spec,
 * client-server API, "End-to-End Encryption"). */
#ifndef FAQBOT_E2EE_H
#define FAQBOT_E2EE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct e2ee;
struct sqlite3;

#define E2EE_OLM "m.olm.v1.curve25519-aes-sha2"
#define E2EE_MEGOLM "m.megolm.v1.aes-sha2"
/* Caps: devices per user, users per call, ciphertext size. */
#define E2EE_MAX_DEVICES 64
#define E2EE_MAX_USERS 512
#define E2EE_MAX_CIPHERTEXT (256u << 10)

/* The pickle key: config_value when non-empty, else the environment's
 * FAQBOT_PICKLE_KEY when non-empty, else NULL (there is no default:
 * encryption must then be refused at start-up). */
const char *e2ee_pickle_key(const char *config_value);

/* Opens the crypto state of (user_id, device_id) in db: creates the
 * tables, then unpickles the stored account, or creates and stores a new
 * one.  NULL with err filled when pickle_key is NULL/empty, or when it
 * does not open the stored account ("... OLM_BAD_ACCOUNT_KEY ...", and
 * nothing in the file was changed). */
struct e2ee *e2ee_open(struct sqlite3 *db, const char *user_id, const char *device_id,
		       const char *pickle_key, char *err, size_t errlen);
void e2ee_free(struct e2ee *e); /* accepts NULL */

/* Our identity keys (unpadded base64). */
const char *e2ee_curve25519(const struct e2ee *e);
const char *e2ee_ed25519(const struct e2ee *e);

/* ---- keys upload: POST /_matrix/client/v3/keys/upload ---- */

/* Signed device keys object ({user_id, device_id, algorithms, keys,
 * signatures}), as uploaded and as others see it in /keys/query. */
cJSON *e2ee_device_keys(struct e2ee *e);

/* The /keys/upload body, or NULL when nothing needs uploading (err "").
 * otk_count: the server's signed_curve25519 count (/sync
 * device_one_time_keys_count or the last upload answer), -1 when unknown;
 * keys are generated up to half of libolm's maximum (50).
 * fallback_unused: 1 when /sync device_unused_fallback_key_types holds
 * signed_curve25519, 0 when it does not (the fallback key was used: it is
 * rotated), -1 when unknown.  The device keys go in until an upload
 * succeeded.  The account, with the new keys, is pickled and committed
 * before this returns ("pickle before upload"): a crash after the upload
 * cannot leave keys on the server that the bot lost.  Calling it again
 * after a failed upload returns the same unpublished keys. */
char *e2ee_keys_upload_body(struct e2ee *e, long otk_count, int fallback_unused, int64_t now_ms,
			    char *err, size_t errlen);
/* After the upload answered 200: marks the keys published, pickles the
 * account again.  Returns the server's signed_curve25519 count from the
 * answer, or -1. */
long e2ee_keys_upload_done(struct e2ee *e, const char *response, size_t len);

/* ---- devices: /keys/query, device_lists ---- */

/* Verifies a device keys object as /keys/query returns it: user_id and
 * device_id match, curve25519 and ed25519 keys present, and its own
 * ed25519 signature over the canonical JSON (without signatures and
 * unsigned) is valid.  1 valid, 0 not (err says why). */
int e2ee_device_verify(const cJSON *device_keys, const char *user_id, const char *device_id,
		       char *err, size_t errlen);

/* Starts tracking users (room members of encrypted rooms): a user not yet
 * tracked is marked outdated.  users: a cJSON array of strings. */
int e2ee_users_track(struct e2ee *e, const cJSON *users);
/* /sync device_lists.changed (tracked users become outdated) and .left
 * (forgotten, with their devices); either may be NULL.  Also for the
 * /keys/changes answer after a restart. */
int e2ee_users_changed(struct e2ee *e, const cJSON *changed, const cJSON *left);
/* The /keys/query body for outdated users ({"device_keys":{"@u":[]}}), or
 * NULL when none is outdated. */
char *e2ee_keys_query_body(struct e2ee *e);
/* Takes a /keys/query answer: each device's self-signature is verified
 * and its keys pinned; a device whose ed25519 key changed since pinned is
 * refused (kept as it was); devices missing from the answer are dropped;
 * the users are up to date.  Returns the devices accepted, or -1. */
int e2ee_keys_query_done(struct e2ee *e, const char *response, size_t len, char *err, size_t errlen);

/* ---- receiving ---- */

/* Decrypts a to-device m.room.encrypted event (the whole event object:
 * sender, type, content) sent with Olm.  Pre-key messages (type 0) try
 * the stored sessions with that sender key first
 * (olm_matches_inbound_session_from), else make a new inbound session;
 * the one-time key is removed only after a successful decryption.  The
 * sender_key must be a pinned device of the event's sender (checked
 * first, nothing used up otherwise), and the plaintext must name
 * the event's sender, us as recipient with our ed25519 key, and that
 * device's pinned ed25519 key.
 * An m.room_key payload (Megolm) is stored here, never replacing a
 * stored session that starts at an earlier or equal index: the caller may
 * then retry the events held for that room (payload content.room_id).
 * Returns the decrypted payload ({type, content, sender, ...}; the caller
 * frees it) or NULL with err. */
cJSON *e2ee_olm_decrypt(struct e2ee *e, const cJSON *event, char *err, size_t errlen);

enum e2ee_status {
	E2EE_OK = 0,
	E2EE_FAIL = -1,        /* malformed, bad MAC, wrong room, store error */
	E2EE_NO_SESSION = -2,  /* the room key has not arrived: hold the event */
	E2EE_UNKNOWN_INDEX = -3, /* we hold the session from a later index only */
	E2EE_REPLAY = -4,      /* message index seen with another event id */
	E2EE_UNKNOWN_DEVICE = -5, /* the key is not a pinned device of the
				   * stated sender (Olm: nothing was used up;
				   * query the sender's devices and retry) */
	E2EE_WEDGED = -6,      /* Olm from a pinned device that no session of
				* ours decrypts: repair (new session, m.dummy) */
};
/* The same, with *status: E2EE_OK, E2EE_UNKNOWN_DEVICE (checked before
 * anything is decrypted: the sender_key is not a device of the event's
 * sender pinned from /keys/query), E2EE_WEDGED or E2EE_FAIL (also a room
 * key refused: the room is not joined, see e2ee_set_room_filter). */
cJSON *e2ee_olm_decrypt_st(struct e2ee *e, const cJSON *event, int *status, char *err, size_t errlen);

/* ---- bounded state ---- */
/* Inbound Megolm sessions kept per sending user (the least recently used
 * go past it). */
#define E2EE_MAX_INBOUND_PER_USER 256
/* Retention, from the last use: inbound Megolm sessions and the replay
 * table 30 days; Olm sessions 90 days, and at most 16 per peer device;
 * our room-key requests 1 day. */
#define E2EE_KEEP_INBOUND_MS (30LL * 86400 * 1000)
#define E2EE_KEEP_SEEN_MS (30LL * 86400 * 1000)
#define E2EE_KEEP_OLM_MS (90LL * 86400 * 1000)
#define E2EE_KEEP_OLM_PER_PEER 16
#define E2EE_KEEP_KEYREQ_MS (86400LL * 1000)
/* Users who share no room with the bot, and their pinned devices: one
 * never seen in a room of ours (queried only because it sent a to-device
 * message) 1 day after its last query; one no longer seen in a room of
 * ours (e2ee_users_track) for 90 days.  A user who leaves our last shared
 * room goes at once (e2ee_users_changed, device_lists.left). */
#define E2EE_KEEP_STRANGER_MS (86400LL * 1000)
#define E2EE_KEEP_MEMBER_MS (90LL * 86400 * 1000)
/* A room key (m.room_key) is stored only when fn(arg, room_id) returns
 * non-zero; NULL (the default): any room. */
typedef int (*e2ee_room_fn)(void *arg, const char *room_id);
void e2ee_set_room_filter(struct e2ee *e, e2ee_room_fn fn, void *arg);
/* 1 when user_id is tracked and its device list outdated, 0 not, -1. */
int e2ee_user_outdated(struct e2ee *e, const char *user_id);
/* Marks user_id's devices outdated (tracked from now on): the next
 * e2ee_keys_query_body asks for them.  0 / -1. */
int e2ee_user_refresh(struct e2ee *e, const char *user_id);
struct e2ee_store_pruned;
/* Deletes what is past the retention above, at wall-clock now (ms). */
int e2ee_prune(struct e2ee *e, int64_t now_ms, struct e2ee_store_pruned *out);
/* Decrypts a Megolm room event (object with event_id, sender, content) of
 * room_id.  Returns the payload ({type, content, room_id}) and *status =
 * E2EE_OK, or NULL with *status and err. */
cJSON *e2ee_megolm_decrypt(struct e2ee *e, const char *room_id, const cJSON *event, int *status,
			   char *err, size_t errlen);

/* ---- sending ---- */

/* The /keys/claim body ({"one_time_keys":{"@u":{"DEV":"signed_curve25519"}}})
 * for pinned devices of users (a cJSON array) with no Olm session yet,
 * our own device excepted; NULL when none is missing. */
char *e2ee_keys_claim_body(struct e2ee *e, const cJSON *users);
/* Takes the /keys/claim answer: each claimed key's signature is checked
 * against the pinned ed25519 key of its device, then an outbound Olm
 * session is made and stored.  Returns sessions made, or -1. */
int e2ee_keys_claim_done(struct e2ee *e, const char *response, size_t len);
/* Olm-encrypts {type, content} for one pinned device with a session: the
 * m.room.encrypted content (caller frees), or NULL. */
cJSON *e2ee_olm_encrypt(struct e2ee *e, const char *user_id, const char *device_id,
			const char *type, const cJSON *content);

/* Drops room_id's outbound session (a member left): the next share makes
 * a new one. */
int e2ee_room_rotate(struct e2ee *e, const char *room_id);
/* The spec's defaults for m.room.encryption's rotation_period_msgs and
 * rotation_period_ms, used when a room gives none (or 0). */
#define E2EE_ROT_MSGS_DEFAULT 100
#define E2EE_ROT_MS_DEFAULT (7 * 24 * 3600 * 1000LL)
/* Makes the room's outbound Megolm session when there is none or it is
 * past rotation_msgs messages or rotation_ms milliseconds (the room's
 * m.room.encryption settings; <= 0: the spec's defaults 100 and one
 * week), then returns the /sendToDevice body ({"messages":{"@u":{"DEV":
 * content}}}) carrying it as m.room_key over Olm to every pinned device of
 * users with an Olm session that has not received it yet; NULL when none
 * needs it.  session_id (E2EE key length 96) receives the session id. */
char *e2ee_room_key_share_body(struct e2ee *e, const char *room_id, const cJSON *users,
			       long rotation_msgs, int64_t rotation_ms, int64_t now_ms,
			       char *session_id, size_t session_len);
/* After that /sendToDevice answered 200: those devices hold the session. */
int e2ee_room_key_share_done(struct e2ee *e, const char *session_id, const char *body);
/* Megolm-encrypts {type, content} for room_id with its current session
 * (share it first): the m.room.encrypted content as JSON text (caller
 * frees), m.relates_to copied in the clear as the spec says; NULL when the
 * room has no outbound session, or when a transaction is open on the
 * database (the ratchet's advance is committed before this returns). */
char *e2ee_megolm_encrypt(struct e2ee *e, const char *room_id, const char *type,
			  const cJSON *content);

/* ---- Olm repair and room-key requests ---- */

/* The device id of user_id whose curve25519 key is curve: 1 / 0 / -1. */
int e2ee_device_for_key(struct e2ee *e, const char *user_id, const char *curve, char *device_id,
			size_t len);
/* Unwedging (spec: an Olm message no session decrypts): the /keys/claim
 * body for that one pinned device, even though a session exists; after
 * e2ee_keys_claim_done the new session is the most recent, so
 * e2ee_olm_encrypt(..., "m.dummy", {}) goes over it.  NULL: not pinned. */
char *e2ee_unwedge_claim_body(struct e2ee *e, const char *user_id, const char *device_id);
/* A Megolm session we lack (its events are held): the m.room_key_request
 * content to send to sender_user's devices, recorded; NULL when asked
 * less than E2EE_KEYREQ_AGAIN_MS ago (or on error).  request_id filled. */
#define E2EE_KEYREQ_AGAIN_MS (3600 * 1000LL)
cJSON *e2ee_key_request(struct e2ee *e, const char *room_id, const char *sender_user,
			const char *sender_key, const char *session_id, int64_t now_ms,
			char *request_id, size_t idlen);
/* The session came (m.room_key or an m.forwarded_room_key we asked for):
 * the request_cancellation content, to send to *user's devices, and the
 * request forgotten; NULL when none was pending. */
cJSON *e2ee_key_request_cancel(struct e2ee *e, const char *session_id, char *user, size_t ulen);
/* An m.room_key_request to-device event (plain): for one of our own room
 * sessions, from a pinned device that received it from us, the
 * /sendToDevice body of an Olm m.forwarded_room_key exported at the index
 * that device got; NULL with err otherwise (refused, no Olm session).
 * An m.forwarded_room_key received over Olm is stored only when we asked
 * that user for that session and it is the forwarding device's own
 * session (e2ee_olm_decrypt).
 * At most E2EE_KEYREQ_PER_MIN requests of one requesting device are looked
 * at a minute, from at most E2EE_KEYREQ_DEVICES devices at once; the first
 * one past that gets an err saying so, the next ones in that minute an
 * empty err: drop them without a log line. */
#define E2EE_KEYREQ_PER_MIN 10
#define E2EE_KEYREQ_DEVICES 64
char *e2ee_key_request_answer(struct e2ee *e, const cJSON *event, char *err, size_t errlen);

/* ---- cross-signing (olm_pk_signing) ---- */

/* Makes master and self-signing keys once (their seeds stored encrypted
 * with the pickle key) and returns the body of POST
 * /keys/device_signing/upload without "auth" (the caller adds the
 * m.login.password auth).  The master key is also signed by our device. */
char *e2ee_xsign_upload_body(struct e2ee *e, char *err, size_t errlen);
/* The body of POST /keys/signatures/upload: our device keys signed by
 * the self-signing key.  NULL before e2ee_xsign_upload_body. */
char *e2ee_xsign_signatures_body(struct e2ee *e, char *err, size_t errlen);

#endif
