/* mx_int.h - private to bot/matrix/mxnet.c and mx_*.c: the one struct
 * mxnet they share (one Matrix account on the loop) and the functions they
 * call across files.  Each file's functions carry its name: mxnet_ the
 * network itself and its small helpers (mxnet.c), mx_session_ login and
 * tokens, mx_sync_ the long-poll, gaps, invites and the batch's events,
 * mx_send_ the answers from the store, mx_crypto_ the crypto requests and
 * the encryption of answers, mx_decrypt_ the batch's crypto (to-device
 * messages, decryption, held events, members).  Nothing outside
 * bot/matrix includes this; the public face is mxnet.h. */
#ifndef FAQBOT_MX_INT_H
#define FAQBOT_MX_INT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "chat.h"
#include "config.h"
#include "e2ee.h"
#include "e2ee_store.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "mxnet.h"
#include "mxjson.h"
#include "store.h"

#define MX_SENDQ_MAX 256        /* answers held in memory; the rest wait in the store */
#define MX_SEND_PARALLEL 16     /* PUTs in flight, any rooms, several per room
				 * (each reply relates to its own question, so
				 * their order does not matter): Synapse takes
				 * ~40 ms per send but runs them side by side */
#define MX_MAX_GAPS 64          /* limited rooms filled per batch */
#define MX_GAP_MAX_PAGES 20     /* /messages pages per gap */
#define MX_GAP_MAX_EVENTS 5000  /* gap events held per batch */
#define MX_GAP_MAX_TRIES 5      /* failed /messages before a gap is given up */
#define MX_MAX_DECLINES 16      /* invite refusals queued */
#define MX_MAX_BODY_TEXT 8192   /* longer messages are not questions */
#ifndef MX_TIMELINE_LIMIT
#define MX_TIMELINE_LIMIT 100   /* events per room per /sync (-D for gap tests) */
#endif
#define MX_PRUNE_AGE_MS (30LL * 86400 * 1000) /* sent answers kept 30 days */
#define MX_HELD_MAX 1000        /* encrypted events waiting for their room key */
#define MX_HELD_RETRY 64        /* held events retried per room and batch */
#define MX_KEYED_ROOMS 32       /* rooms given a room key in one batch (more: retry all) */
#define MX_MEMBER_CACHE 32      /* encrypted rooms whose member list is kept */
#define MX_MEMBER_TTL_MS (10 * 60 * 1000) /* re-read even without a member event */
#define MX_TD_HELD_MAX 256      /* to-device messages waiting for their sender's devices */
#define MX_TD_RETRY 64          /* of them tried after each /keys/query */
#define MX_TD_HELD_SENDER 16    /* of them from one sender */
#define MX_PRUNE_EVERY_MS (3600 * 1000LL) /* answers and crypto state pruned hourly */
/* Sends that are not answers (refusals, !status/!reload results) have
 * their own small budget per sender:
 * MX_CMD_BURST at once, then one every MX_CMD_REFILL_MS; past it one
 * notice, then silence until the budget refills.  Answers are limited by
 * bot.c (user_rate/user_burst), one send each. */
#define MX_CMD_SLOTS 256
#define MX_CMD_BURST 3
#define MX_CMD_REFILL_MS 20000

struct cmdbudget {
	char user[256];
	int64_t at;        /* loop ms of the last refill */
	int tokens;
	int noticed;       /* the "too many" notice went out */
};


/* The one crypto request in flight (they run one after another). */
enum crypto_op {
	CR_NONE, CR_UPLOAD, CR_XSIGN, CR_XSIGN_SIGS, CR_CHANGES,
	CR_MEMBERS, CR_QUERY, CR_CLAIM, CR_SHARE, CR_UNWEDGE, CR_TODEVICE
};

/* To-device messages waiting to go (key requests and
 * their cancellations, forwarded keys, m.dummy), and Olm sessions to
 * repair. */
#define MX_TDQ_MAX 32
#define MX_UNWEDGE_MAX 16
#define MX_UNWEDGE_AGAIN_MS (3600 * 1000LL) /* one repair a device an hour */
struct tdmsg {
	char *type;        /* event type of the /sendToDevice */
	char *body;        /* {"messages":...} */
	char what[96];     /* for the log */
};
struct unwedge {
	char user[256];
	char device[128];
	int64_t at;        /* loop ms of the last repair */
	int pending;
};

struct members {
	char room[256];
	cJSON *users;      /* array of user ids */
	int64_t at;        /* loop ms when read */
};

struct gap {
	char *room_id;
	char *from;        /* next /messages token */
	cJSON *events;     /* oldest first */
	int pages, tries;
	int done;
};

struct sendq {
	struct store_pending p;  /* p.encrypted: p.content is the ciphertext
				  * (encrypted in memory by mx_crypto.c) */
	long req;          /* http id while in flight, else 0 */
	int enc;           /* 0 not looked at, 1 plain room (looked at again
			    * before each send), 2 encrypted room */
	unsigned attempts;
	int64_t not_before;
};

struct mxnet;

/* One job: a request of one kind, its retry timer and its failure count.
 * Every request and timer of a network is one of these, and every answer
 * goes through one classifier (mx_answer_take), so 429, M_UNKNOWN_TOKEN
 * and the backoff are handled in one place (mxnet.c). */
struct mx_job {
	struct mxnet *n;
	long req;                     /* http id in flight, else 0 */
	long timer;                   /* timer armed, else 0 */
	unsigned fails;               /* consecutive failures: the backoff's step */
	void (*run)(struct mxnet *n); /* what the timer runs */
};

/* What an answer means for the request that got it. */
enum mx_verdict {
	MX_OK,          /* 200 */
	MX_RETRY,       /* 429 (limited), 5xx, 408, transfer failed: try again */
	MX_TOKEN_LOST,  /* 401 M_UNKNOWN_TOKEN: log in again (mx_session_lost) */
	MX_FATAL        /* another 4xx: trying again will not help */
};

struct mx_answer {
	enum mx_verdict v;
	int limited;        /* 429 */
	int64_t retry_ms;   /* limited: the wait the server asks for */
	cJSON *j;           /* the body when it is JSON, else NULL */
	char err[160];      /* why j is NULL */
	char why[320];      /* "HTTP 403 M_FORBIDDEN: ...", for logs */
};

struct mxnet {
	struct loop *lp;        /* the default I/O's loop; NULL with mxnet_start_io */
	const struct mxnet_io *io; /* every request and timer goes through it */
	void *io_arg;
	const struct matrix_config *cfg; /* = &cfgcopy */
	struct matrix_config cfgcopy;    /* owned: a reload frees the original */
	struct matrix_config newcfg;     /* from mxnet_set_config, applied later */
	int has_newcfg;
	struct mx_job cfg_job;   /* applies newcfg (a timer only) */
	struct chat_sink sink;   /* where messages go up (chat.h) */
	struct store *st;
	struct http *http;
	char *base;             /* homeserver URL without a trailing '/' */
	const char *name;       /* cfg->name, for logs and store keys */
	struct store_account acct;
	char localpart[256];
	int max_age_s;
	int stopped;
	uint32_t rng;

	/* session and sync */
	struct mx_job main;     /* login / whoami / sync / messages, one at a time */
	char since[1024];
	int have_since;
	char filter_q[1536];    /* URL-escaped /sync filter ("" until the first sync) */
	char filter_first_q[1536]; /* the same, timeline limit 1 (first start) */
	char msg_filter_q[512]; /* URL-escaped /messages filter */

	/* the batch being handled */
	cJSON *batch;
	char *batch_next;
	struct gap gaps[MX_MAX_GAPS];
	int ngaps, cur_gap;
	size_t gap_events;
	int initial;            /* first sync ever: the backlog is skipped */

	/* pass 2 state (one room at a time) */
	const char *room_id;
	struct store_room room;
	int before_join;        /* our join is later in this batch: skip until it */
	int answers_added;

	/* sending */
	struct sendq q[MX_SENDQ_MAX];
	size_t nq;
	int64_t last_seq;
	int64_t pause_until;    /* 429 on a send: nothing goes out before */
	struct mx_job send_job; /* the sender's wake-up (the sends are q[].req) */
	unsigned send_inflight;
	int send_busy;          /* inside mx_send_kick */
	int send_again;         /* kicked meanwhile: one more pass */

	/* joins and declines */
	struct mx_job join;
	char join_room[256];    /* the room being joined (one at a time) */
	char *declines[MX_MAX_DECLINES];
	size_t ndeclines;
	struct mx_job decline;

	/* end-to-end encryption; e2 is NULL when off */
	struct e2ee *e2;
	char e2_owner[512];     /* user|device e2 was opened for */
	struct mx_job cr;
	enum crypto_op cr_op;
	long otk_count;         /* server's signed_curve25519 count, -1 unknown */
	int fb_unused;          /* device_unused_fallback_key_types, -1 unknown */
	int upload_check;       /* counts changed: see whether keys need uploading */
	int synced_once;        /* a batch was handled in this run */
	int keys_ok;            /* our device keys are on the server */
	int xsign_done;         /* cross-signed, skipped or given up in this run */
	int xsign_auth;         /* the upload was retried with the password */
	int changes_pending;       /* /keys/changes from devtoken still to do */
	char devtoken[1024];    /* sync token up to which device lists are known */
	char changes_to[1024];
	int64_t sync_sent_ms, batch_sent_ms, upload_done_ms;
	char prep_event[256];   /* the answer whose room key is being shared */
	char prep_room[256];
	int prep_queried, prep_claimed;
	char *share_body;       /* the /sendToDevice body in flight */
	char share_sid[96];     /* E2EE_KEY_LEN (e2ee_store.h) */
	struct members mem[MX_MEMBER_CACHE];
	char keyed[MX_KEYED_ROOMS][256];
	int nkeyed, keyed_all;
	unsigned long share_seq;
	int td_waiting;         /* to-device messages held for a /keys/query */
	int td_query;           /* the /keys/query in flight is for them */
	char td_net[300];       /* store key of the held to-device messages */
	int dec_verified;       /* handle_message: decrypted from a pinned device */
	struct cmdbudget cmdb[MX_CMD_SLOTS];
	struct tdmsg tdq[MX_TDQ_MAX];
	int ntdq;
	struct unwedge uw[MX_UNWEDGE_MAX];
	int uw_cur;             /* the repair in flight (CR_UNWEDGE), -1 none */
	char *td_body;          /* the to-device body in flight (CR_TODEVICE) */
	struct mx_job prune;

	struct chat_reply out;     /* big: kept off the stack */
};

/* mxnet.c: helpers shared by every file */
uint32_t mxnet_rnd(struct mxnet *n);           /* jitter, no security use */
int64_t mxnet_now(struct mxnet *n);            /* monotonic ms (n->io) */
int64_t mxnet_wall_ms(struct mxnet *n);        /* Unix ms (n->io) */
void mxnet_http_cancel(struct mxnet *n, long id); /* id <= 0: nothing */
/* (Re)arms *id to call cb(n) in ms; 0 in *id when it cannot. */
/* A client-server API request: base + "/_matrix/client/v3" + path
 * (+ "?" query), with the access token when auth.  The http id, or -1. */
long mxnet_request(struct mxnet *n, const char *method, const char *path, const char *query,
		   const char *body, size_t max_body, long timeout_ms, int auth,
		   http_cb cb, void *arg);

/* The job's request (mxnet_request; cb gets n): 0, or -1 when it cannot
 * start, and then the job backs off (run(n) later). */
int mx_job_request(struct mx_job *job, const char *method, const char *path, const char *query,
		   const char *body, size_t max_body, long timeout_ms, int auth,
		   void (*run)(struct mxnet *n), http_cb cb);
/* run(n) in ms (replaces the job's timer). */
void mx_job_after(struct mx_job *job, int64_t ms, void (*run)(struct mxnet *n));
/* run(n) after the backoff of job->fails (then one more), logged with
 * what failed and why. */
void mx_job_backoff(struct mx_job *job, void (*run)(struct mxnet *n), const char *what,
		    const char *why);
/* After an MX_RETRY answer: the server's wait when limited, else the
 * backoff. */
void mx_job_retry(struct mx_job *job, const struct mx_answer *a, void (*run)(struct mxnet *n),
		  const char *what);
/* The answers every job takes alike: M_UNKNOWN_TOKEN (mx_session_lost)
 * and 429 (run(n) after the server's wait).  1 when a was one of them
 * (a is then freed), 0 when the caller goes on with it. */
int mx_job_defer(struct mx_job *job, struct mx_answer *a, void (*run)(struct mxnet *n),
		 const char *what);
/* Drops the request in flight and the timer. */
void mx_job_cancel(struct mx_job *job);
/* The classifier: a filled (frees nothing; mx_answer_free after). */
void mx_answer_take(struct mxnet *n, const struct http_resp *r, struct mx_answer *a);
void mx_answer_free(struct mx_answer *a);
/* The backoff for the step-th failure in a row. */
int64_t mxnet_backoff_ms(struct mxnet *n, unsigned step);
void mxnet_prune_state(struct mxnet *n);

/* mx_session.c */
void mx_session_start(struct mxnet *n);
/* M_UNKNOWN_TOKEN: everything in flight is dropped, then a new login. */
void mx_session_lost(struct mxnet *n);
int mx_session_user_matches(const char *cfg_user, const char *user_id);

/* mx_sync.c */
void mx_sync_start(struct mxnet *n);
void mx_sync_batch_free(struct mxnet *n);
int mx_sync_room_save(struct mxnet *n);
void mx_sync_handle_message(struct mxnet *n, const struct mxjson_event *ev);
void mx_sync_kick_joins(struct mxnet *n);
void mx_sync_kick_declines(struct mxnet *n);

/* mx_send.c
 *
 * An answer's way out (the same for a hand-over post):
 *  1. mx_sync_handle_message: the chat sink (bot.c) fills n->out;
 *     mxjson_reply_json makes the content JSON (the one serialisation of the
 *     answer's content) and store_answer_add writes it, pending, with its
 *     txn id, in the batch's transaction (the one write of the answer).
 *  2. After the commit, mx_send_kick loads it into n->q
 *     (store_pending_list, the one read).
 *  3. Plain room: sent (PUT .../send/m.room.message/TXN).
 *     Encrypted room: it waits, plaintext in memory, while mx_crypto_kick
 *     shares the room key (members, /keys/query, /keys/claim,
 *     /sendToDevice, one request at a time); then prep_finish encrypts it
 *     in memory (e2ee_megolm_encrypt: the Megolm payload and the
 *     m.room.encrypted content are the two other JSON texts, and the
 *     ratchet's advance is committed before the ciphertext exists) and
 *     mx_crypto_kick kicks the sender, which PUTs it to
 *     .../send/m.room.encrypted/TXN in the same call: no timer between.
 *  4. 200: store_answer_set_state(SENT).  A retry in this run sends the
 *     same ciphertext; after a restart the pending plaintext is encrypted
 *     again and sent under the same txn id, which the homeserver
 *     deduplicates.  Rows an older version stored encrypted are sent as
 *     stored. */
void mx_send_kick(struct mxnet *n);
void mx_send_remove(struct mxnet *n, struct sendq *q);
/* The queued answer whose question is event_id, or when event_id is NULL
 * whose request in flight is req; NULL when none. */
struct sendq *mx_send_find(struct mxnet *n, long req, const char *event_id);

/* mx_crypto.c */
int mx_crypto_start_check(struct mxnet *n);
int mx_crypto_open(struct mxnet *n);
void mx_crypto_cancel(struct mxnet *n);
void mx_crypto_kick(struct mxnet *n);
int mx_crypto_needed(struct mxnet *n, struct sendq *q);

/* mx_decrypt.c */
void mx_decrypt_batch_pre(struct mxnet *n);
void mx_decrypt_batch_post(struct mxnet *n);
void mx_decrypt_counts(struct mxnet *n);
void mx_decrypt_event(struct mxnet *n, const struct mxjson_event *ev);
void mx_decrypt_other_member(struct mxnet *n, const char *room_id, const struct mxjson_event *ev,
			     int is_state);
int mx_decrypt_room_joined(void *arg, const char *room_id);
void mx_decrypt_td_retry(struct mxnet *n);
void mx_decrypt_tdq_add(struct mxnet *n, const char *type, char *body, const char *what);
void mx_decrypt_tdq_free(struct mxnet *n);
char *mx_decrypt_td_body(const char *user, const char *device, cJSON *content);
const cJSON *mx_decrypt_members_get(struct mxnet *n, const char *room_id);
void mx_decrypt_members_set(struct mxnet *n, const char *room_id, cJSON *users);

#endif
