/* mxjson.h - the pure parts of the Matrix client: JSON checked before and
 * after cJSON parses it (size, depth, types), /sync walked into typed
 * callbacks, the reply content, HTML escaping, transaction ids, backoff,
 * URL escaping, invite policy.  No I/O, no clock, no globals: everything
 * here is tested with hostile inputs in tests/unit/test_mxjson.c. */
#ifndef FAQBOT_MXJSON_H
#define FAQBOT_MXJSON_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct strlist;

/* Response body caps (http.h aborts a transfer past them). */
#define MX_SYNC_MAX_BODY (8u << 20)
#define MX_MESSAGES_MAX_BODY (4u << 20)
#define MX_SMALL_MAX_BODY (256u << 10)
/* Parsed JSON limits: checked on the raw text before cJSON sees it, so a
 * hostile body can neither recurse deep nor blow memory up in nodes. */
#define MX_JSON_MAX_DEPTH 64
#define MX_JSON_MAX_NODES 250000

/* "fb." + 64 hex digits + NUL */
#define MX_TXN_LEN 68

/* Parses s[0..len) when it is at most MX_JSON_MAX_DEPTH deep and holds at
 * most MX_JSON_MAX_NODES values.  NULL with err filled ("JSON nested
 * deeper than 64", "malformed JSON near byte 12", ...). */
cJSON *mxjson_json_parse(const char *s, size_t len, char *err, size_t errlen);

/* Typed getters: NULL / dflt when the key is absent or of another type. */
const char *mxjson_str(const cJSON *obj, const char *key);
const cJSON *mxjson_obj(const cJSON *obj, const char *key);
const cJSON *mxjson_arr(const cJSON *obj, const char *key);
int64_t mxjson_int(const cJSON *obj, const char *key, int64_t dflt);

/* One room event, fields borrowed from the cJSON tree.  A field of the
 * wrong type reads as absent. */
struct mxjson_event {
	const char *type, *event_id, *sender;
	const char *state_key;   /* NULL: not a state event */
	int64_t ts;              /* origin_server_ts (ms), 0 when absent */
	const cJSON *content;    /* an object, or NULL */
	int redacted;            /* unsigned.redacted_because present */
	/* m.room.message */
	const char *msgtype, *body;
	const char *rel_type;    /* m.relates_to.rel_type: m.thread, m.replace */
	const char *rel_event_id;/* m.relates_to.event_id (thread root) */
	const char *reply_to;    /* m.relates_to.m.in_reply_to.event_id */
	/* m.room.member */
	const char *membership;
	const char *prev_membership; /* unsigned.prev_content.membership */
	int is_direct;
};

/* Fills ev from j.  0, or -1 when j is not an object with string type,
 * event_id and sender (such an event is skipped). */
int mxjson_event_parse(const cJSON *j, struct mxjson_event *ev);
/* 1 when content["m.mentions"].user_ids (an array) holds user_id. */
int mxjson_mentions_user(const cJSON *content, const char *user_id);

struct mxjson_room_info {
	int64_t joined_members;  /* summary m.joined_member_count, -1: absent */
	int64_t invited_members; /* summary m.invited_member_count, -1 */
	int limited;             /* timeline.limited (anything but false) */
	const char *prev_batch;  /* timeline.prev_batch, NULL when absent */
	const cJSON *timeline;   /* timeline.events (an array), or NULL */
};

/* What mxjson_sync_walk reports, in document order per room: room, then its
 * state events (is_state 1), then its timeline (is_state 0).  Any of the
 * callbacks may be NULL. */
struct mxjson_sync_visitor {
	void *arg;
	void (*invite)(void *arg, const char *room_id, const char *inviter, int is_direct);
	void (*leave)(void *arg, const char *room_id);
	void (*room)(void *arg, const char *room_id, const struct mxjson_room_info *ri);
	void (*event)(void *arg, const char *room_id, const struct mxjson_event *ev, int is_state);
};

struct mxjson_sync_stats {
	unsigned rooms, events, skipped; /* skipped: items of a wrong shape */
};

/* Walks a /sync response for user self.  Returns next_batch (borrowed), or
 * NULL when root is not an object with a string next_batch: the whole
 * batch is then rejected and nothing is reported.  Items of the wrong
 * type anywhere are skipped and counted, never trusted. */
const char *mxjson_sync_walk(const cJSON *root, const char *self,
			 const struct mxjson_sync_visitor *v, struct mxjson_sync_stats *st);

/* HTML-escapes & < > " ' of in[0..len) into out (NUL-terminated), and
 * writes '\n' as "<br>".  Returns the length, or -1 when outlen is too
 * small (out is then "").  "a<b & 'c'" -> "a&lt;b &amp; &#39;c&#39;" */
long mxjson_html_escape(const char *in, size_t len, char *out, size_t outlen);

/* "fb." + hex SHA-256 of event_id: the same question always gets the same
 * transaction id, so a re-send after a crash is deduplicated by the
 * homeserver.  0, or -1 when hashing fails. */
int mxjson_txn_id(const char *event_id, char out[MX_TXN_LEN]);

/* The content of the reply to a question, as JSON (malloc'd): m.notice,
 * plain body, HTML formatted_body (all escaped), m.relates_to with
 * m.in_reply_to (and m.thread when thread_root is set), m.mentions. */
struct mxjson_reply {
	const char *text;        /* the answer (plain, may hold '\n') */
	size_t len;
	const char *question_id; /* event answered; NULL: not a reply */
	const char *thread_root; /* NULL: not in a thread */
	const char *asker;       /* user id mentioned; NULL: nobody */
};
char *mxjson_reply_json(const struct mxjson_reply *r);

/* Delay before retry number attempt (0 = first retry): exponential from
 * 1 s, doubled each time, capped at cap_ms, with jitter: a value in
 * [d/2, d] chosen by rnd.  Always within [250, max(cap_ms, 250)]. */
int64_t mxjson_backoff_ms(unsigned attempt, int64_t cap_ms, uint32_t rnd);
/* How long a 429 asks to wait: the Retry-After header (header_ms >= 0)
 * or the body's retry_after_ms, else 1 s; clamped to [100 ms, 10 min]. */
int64_t mxjson_retry_after_ms(const cJSON *errbody, long header_ms);

/* Percent-encodes everything but unreserved characters (RFC 3986), for
 * path parts and query values.  0, or -1 when out is too small. */
int mxjson_url_escape(const char *in, char *out, size_t outlen);

/* 1 when user_id may make the bot join: listed exactly, or its server
 * part equals a ":server" entry.  An empty list allows nobody. */
int mxjson_inviter_allowed(const struct strlist *allowed, const char *user_id);

/* The text to answer from a message body: drops a leading reply fallback
 * ("> <@a:b> quoted" lines then a blank line) and a leading full user id
 * of the bot ("@faqbot:example.org: q", which sets *mentioned).  Returns a
 * pointer into body. */
const char *mxjson_question_text(const char *body, const char *self, int *mentioned);

/* ---- end-to-end encryption helpers, pure ---- */

/* Members listed per joined_members answer, at most this many. */
#define MX_MAX_MEMBERS 512

/* /rooms/{id}/joined_members answer -> a new array of user ids (strings
 * only, at most MX_MAX_MEMBERS), NULL when it has no "joined" object.
 * {"joined":{"@a:x":{},"@b:x":{}}} -> ["@a:x","@b:x"] */
cJSON *mxjson_joined_members(const cJSON *resp);

/* The /sync's device_one_time_keys_count.signed_curve25519: the count,
 * 0 when the object is there without it, -1 when there is no object. */
long mxjson_otk_count(const cJSON *sync);
/* The /sync's device_unused_fallback_key_types: 1 holds
 * signed_curve25519, 0 an array without it (the fallback key was used),
 * -1 absent. */
int mxjson_fallback_unused(const cJSON *sync);

/* An m.room.encryption content: 1 when its algorithm is Megolm, with the
 * rotation settings (0 when absent or not positive integers) in *msgs and
 * *ms; 0 for another algorithm or a malformed content. */
int mxjson_room_encryption(const cJSON *content, int64_t *msgs, int64_t *ms);

/* The event the crypto code decrypts and the store holds:
 * {type, event_id, sender, origin_server_ts, content} copied from ev.
 * NULL when ev has no content. */
cJSON *mxjson_event_json(const struct mxjson_event *ev);

/* The plaintext event of an m.room.encrypted one: event_id, sender and
 * origin_server_ts of the outer event, type and content of the decrypted
 * payload ({type, content, room_id}); the outer content's m.relates_to
 * is copied into the content when the payload has none (the spec keeps
 * relations in the clear part).  NULL when the payload has no string type
 * or object content. */
cJSON *mxjson_decrypted_event(const struct mxjson_event *outer, const cJSON *payload);

#endif
