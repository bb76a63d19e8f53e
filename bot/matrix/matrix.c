/* matrix.c - the Matrix client-server API for one [matrix.NAME] account:
 * session (password login on a device id chosen and stored before the
 * first login, or a configured token checked with whoami), the /sync
 * long-poll, limited timelines completed from /messages before a batch is
 * handled, invites from allowed users, and replies.  Exactly once: an
 * answer is stored as pending with its transaction id in the same
 * transaction that saves the batch's next_batch, and only the store feeds
 * the sender; a restart re-sends pending answers with the same txn id.
 * With e2ee on (issue 5) it also drives the crypto core (e2ee.c): key
 * uploads, cross-signing, device tracking, to-device decryption, Megolm
 * decryption with events held until their key arrives, and room-key
 * sharing before each encrypted answer, which is stored encrypted.
 * Not here: deciding or wording answers (bot.c), JSON details (mxjson.c),
 * HTTP (http.c), the cryptography itself (e2ee.c). */
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
#include "matrix.h"
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
 * their own small budget per sender (issue 10):
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

static const char msg_cmd_limited[] =
	"Trop de commandes d'un coup : je ne réponds plus aux commandes pendant quelques instants.";

/* The one crypto request in flight (they run one after another). */
enum crypto_op {
	CR_NONE, CR_UPLOAD, CR_XSIGN, CR_XSIGN_SIGS, CR_CHANGES,
	CR_MEMBERS, CR_QUERY, CR_CLAIM, CR_SHARE, CR_UNWEDGE, CR_TODEVICE
};

/* Issue 10, finding 11: to-device messages waiting to go (key requests and
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
	struct store_pending p;
	long req;          /* http id while in flight, else 0 */
	int enc;           /* 0 not looked at, 1 plain room (looked at again
			    * before each send), 2 encrypted room */
	unsigned attempts;
	int64_t not_before;
};

struct mxnet {
	struct loop *lp;
	const struct matrix_config *cfg; /* = &cfgcopy */
	struct matrix_config cfgcopy;    /* owned: a reload frees the original */
	struct matrix_config newcfg;     /* from mxnet_set_config, applied later */
	int has_newcfg;
	long cfg_timer;
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
	long req;               /* login / whoami / sync / messages request */
	long timer;             /* retry timer of the above */
	unsigned fails;         /* consecutive failures (backoff) */
	char since[1024];
	int have_since;
	char *filter_q;         /* URL-escaped /sync filter */
	char *filter_first_q;   /* the same, timeline limit 1 (first start) */
	char *msg_filter_q;     /* URL-escaped /messages filter */

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
	long send_timer;
	unsigned send_inflight;

	/* joins and declines */
	long join_req, join_timer;
	char join_room[256];    /* the room being joined (one at a time) */
	unsigned join_fails;
	char *declines[MX_MAX_DECLINES];
	size_t ndeclines;
	long decline_req;

	/* end-to-end encryption (issue 5); e2 is NULL when off */
	struct e2ee *e2;
	char e2_owner[512];     /* user|device e2 was opened for */
	long cr_req, cr_timer;
	enum crypto_op cr_op;
	unsigned cr_fails;
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
	long prune_timer;

	struct chat_reply out;     /* big: kept off the stack */
};

static void session_start(struct mxnet *n);
static int crypto_start_check(struct mxnet *n);
static void sync_start(struct mxnet *n);
static void kick_sender(struct mxnet *n);
static void kick_joins(struct mxnet *n);
static void kick_declines(struct mxnet *n);
static void gap_next(struct mxnet *n);
static void batch_free(struct mxnet *n);
static void crypto_kick(struct mxnet *n);
static void crypto_cancel(struct mxnet *n);
static int crypto_open(struct mxnet *n);
static void crypto_batch_pre(struct mxnet *n);
static void crypto_batch_post(struct mxnet *n);
static void crypto_counts(struct mxnet *n);
static int q_needs_crypto(struct mxnet *n, struct sendq *q);
static int room_joined_cb(void *arg, const char *room_id);
static void prune_state(struct mxnet *n);
static void tdq_free(struct mxnet *n);

/* ---- small helpers ---- */

static uint32_t rnd(struct mxnet *n)
{
	/* xorshift32: jitter only, no security use. */
	uint32_t x = n->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return n->rng = x ? x : 0x9e3779b9u;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timer(struct mxnet *n, long *id, int64_t ms, loop_timer_cb cb)
{
	if (*id > 0)
		loop_timer_cancel(n->lp, *id);
	*id = loop_timer_add(n->lp, ms < 0 ? 0 : ms, cb, n);
	if (*id < 0)
		*id = 0;
}

static void clear_timer(struct mxnet *n, long *id)
{
	if (*id > 0)
		loop_timer_cancel(n->lp, *id);
	*id = 0;
}

/* base + "/_matrix/client/v3" + path (+ "?" query).  malloc'd. */
static char *url(const struct mxnet *n, const char *path, const char *query)
{
	size_t len = strlen(n->base) + strlen(path) + (query ? strlen(query) : 0) + 32;
	char *u = malloc(len);
	if (u)
		snprintf(u, len, "%s/_matrix/client/v3%s%s%s", n->base, path,
			 query ? "?" : "", query ? query : "");
	return u;
}

static long request(struct mxnet *n, const char *method, const char *path, const char *query,
		    const char *body, size_t max_body, long timeout_ms, int auth,
		    http_cb cb, void *arg)
{
	struct http_req rq;
	char *u = url(n, path, query);
	long id;
	if (!u)
		return -1;
	memset(&rq, 0, sizeof rq);
	rq.method = method;
	rq.url = u;
	rq.bearer = auth && n->acct.access_token[0] ? n->acct.access_token : NULL;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.max_body = max_body;
	rq.timeout_ms = timeout_ms;
	id = http_start(n->http, &rq, cb, arg);
	free(u);
	return id;
}

/* The homeserver's error, for logs: "403 M_FORBIDDEN: Invalid password"
 * (the server's message is logged truncated; it never echoes secrets). */
static void describe(const struct http_resp *r, const cJSON *j, char *buf, size_t len)
{
	if (!r->status) {
		snprintf(buf, len, "%s", r->error ? r->error : "transfer failed");
		return;
	}
	snprintf(buf, len, "HTTP %ld %s%s%.200s", r->status,
		 mx_str(j, "errcode") ? mx_str(j, "errcode") : "",
		 mx_str(j, "error") ? ": " : "", mx_str(j, "error") ? mx_str(j, "error") : "");
}

static cJSON *parse_small(const struct http_resp *r)
{
	char err[128];
	return r->len ? mx_json_parse(r->body, r->len, err, sizeof err) : NULL;
}

static int is_errcode(const cJSON *j, const char *code)
{
	const char *c = mx_str(j, "errcode");
	return c && !strcmp(c, code);
}

/* ---- session: login / whoami ---- */

static void retry_session(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	(void)lp;
	n->timer = 0;
	session_start(n);
}

static void backoff(struct mxnet *n, loop_timer_cb cb, const char *what, const char *why)
{
	int64_t ms = mx_backoff_ms(n->fails, (int64_t)n->cfg->reconnect_max * 1000, rnd(n));
	n->fails++;
	log_warn("matrix.%s: %s failed (%s); retrying in %.1f s", n->name, what, why, ms / 1000.0);
	set_timer(n, &n->timer, ms, cb);
}

/* After the homeserver refused the token (M_UNKNOWN_TOKEN): forget it and
 * log in again on the same device, or wait for a new configured token. */
static void session_lost(struct mxnet *n)
{
	size_t i;
	log_warn("matrix.%s: the access token was refused (M_UNKNOWN_TOKEN)%s", n->name,
		 n->cfg->password ? "; logging in again on the same device" :
		 "; set a new access_token in the config");
	if (n->req > 0)
		http_cancel(n->http, n->req);
	n->req = 0;
	for (i = 0; i < n->nq; i++)
		if (n->q[i].req > 0) {
			http_cancel(n->http, n->q[i].req);
			n->q[i].req = 0;
		}
	n->send_inflight = 0;
	crypto_cancel(n);
	n->acct.access_token[0] = 0;
	if (store_account_set(n->st, n->name, &n->acct) < 0)
		log_error("matrix.%s: cannot save the account", n->name);
	batch_free(n);
	set_timer(n, &n->timer, n->cfg->password ? 0 : mx_backoff_ms(n->fails++,
		  (int64_t)n->cfg->reconnect_max * 1000, rnd(n)), retry_session);
}

static void set_localpart(struct mxnet *n)
{
	const char *u = n->acct.user_id, *colon = strchr(u, ':');
	size_t len = colon ? (size_t)(colon - u) : strlen(u);
	if (*u == '@') {
		u++;
		len = len ? len - 1 : 0;
	}
	snprintf(n->localpart, sizeof n->localpart, "%.*s", (int)len, u);
}

static void session_ready(struct mxnet *n)
{
	set_localpart(n);
	n->fails = 0;
	log_info("matrix.%s: session ready: %s, device %s", n->name, n->acct.user_id, n->acct.device_id);
	if (n->cfg->e2ee && crypto_open(n) < 0) {
		log_error("matrix.%s: end-to-end encryption cannot start; this network stops", n->name);
		mxnet_stop(n);
		return;
	}
	sync_start(n);
	kick_sender(n);
	kick_joins(n);
}

/* An access token goes into an HTTP header as it is: printable ASCII
 * without spaces only (a CR LF in it would add headers of the server's
 * choosing to every request). */
static int token_ok(const char *t, size_t max)
{
	size_t i;
	for (i = 0; t[i]; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
			return 0;
	return i > 0 && i < max;
}

static void on_login(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	cJSON *j = parse_small(r);
	char why[320];
	const char *uid = mx_str(j, "user_id"), *tok = mx_str(j, "access_token"),
		   *dev = mx_str(j, "device_id");
	n->req = 0;
	if (r->status == 200 && uid && tok && dev && token_ok(tok, sizeof n->acct.access_token) &&
	    strlen(uid) < sizeof n->acct.user_id && dev[0] && strlen(dev) < sizeof n->acct.device_id) {
		snprintf(n->acct.user_id, sizeof n->acct.user_id, "%s", uid);
		snprintf(n->acct.device_id, sizeof n->acct.device_id, "%s", dev);
		snprintf(n->acct.access_token, sizeof n->acct.access_token, "%s", tok);
		snprintf(n->acct.homeserver, sizeof n->acct.homeserver, "%s", n->base);
		cJSON_Delete(j);
		if (store_account_set(n->st, n->name, &n->acct) < 0) {
			backoff(n, retry_session, "saving the login", "state file error");
			return;
		}
		session_ready(n);
		return;
	}
	if (r->status == 429) {
		int64_t ms = mx_retry_after_ms(j, r->retry_after_ms);
		log_warn("matrix.%s: login rate-limited; retrying in %.1f s", n->name, ms / 1000.0);
		set_timer(n, &n->timer, ms, retry_session);
	} else {
		describe(r, j, why, sizeof why);
		if (r->status == 403)
			log_error("matrix.%s: login refused for %s: check user and password", n->name,
				  n->cfg->user);
		backoff(n, retry_session, "login", why);
	}
	cJSON_Delete(j);
}

static void login(struct mxnet *n)
{
	cJSON *b = cJSON_CreateObject(), *id;
	char *body;
	if (!b)
		goto oom;
	cJSON_AddStringToObject(b, "type", "m.login.password");
	id = cJSON_AddObjectToObject(b, "identifier");
	cJSON_AddStringToObject(id, "type", "m.id.user");
	cJSON_AddStringToObject(id, "user", n->cfg->user);
	cJSON_AddStringToObject(b, "password", n->cfg->password);
	/* Our own device id, stored before this first login: a crash before
	 * the answer is saved still logs in on the same device next time. */
	cJSON_AddStringToObject(b, "device_id", n->acct.device_id);
	cJSON_AddStringToObject(b, "initial_device_display_name",
				n->cfg->device_name ? n->cfg->device_name : "faqbot");
	body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	if (!body)
		goto oom;
	log_info("matrix.%s: logging in to %s as %s (device %s)", n->name, n->base, n->cfg->user,
		 n->acct.device_id);
	n->req = request(n, "POST", "/login", NULL, body, MX_SMALL_MAX_BODY, 30000, 0, on_login, n);
	/* The body held the password: wipe it before freeing. */
	memset(body, 0, strlen(body));
	free(body);
	if (n->req > 0)
		return;
oom:
	backoff(n, retry_session, "login", "cannot start the request");
}

static void on_whoami(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	cJSON *j = parse_small(r);
	char why[320];
	const char *uid = mx_str(j, "user_id"), *dev = mx_str(j, "device_id");
	n->req = 0;
	if (r->status == 200 && uid && strlen(uid) < sizeof n->acct.user_id &&
	    (!dev || strlen(dev) < sizeof n->acct.device_id)) {
		snprintf(n->acct.user_id, sizeof n->acct.user_id, "%s", uid);
		snprintf(n->acct.device_id, sizeof n->acct.device_id, "%s", dev ? dev : "");
		snprintf(n->acct.homeserver, sizeof n->acct.homeserver, "%s", n->base);
		cJSON_Delete(j);
		if (!dev)
			log_warn("matrix.%s: whoami gave no device_id (homeserver too old?)", n->name);
		if (store_account_set(n->st, n->name, &n->acct) < 0) {
			backoff(n, retry_session, "saving the account", "state file error");
			return;
		}
		session_ready(n);
		return;
	}
	if (r->status == 429) {
		set_timer(n, &n->timer, mx_retry_after_ms(j, r->retry_after_ms), retry_session);
	} else {
		describe(r, j, why, sizeof why);
		if (r->status == 401)
			log_error("matrix.%s: the configured access_token is refused by %s", n->name, n->base);
		backoff(n, retry_session, "whoami", why);
	}
	cJSON_Delete(j);
}

static void new_device_id(struct mxnet *n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned char raw[10];
	FILE *f = fopen("/dev/urandom", "rb");
	size_t i, got = f ? fread(raw, 1, sizeof raw, f) : 0;
	if (f)
		fclose(f);
	for (i = got; i < sizeof raw; i++)
		raw[i] = (unsigned char)rnd(n);
	memcpy(n->acct.device_id, "FAQBOT", 6);
	for (i = 0; i < sizeof raw; i++)
		n->acct.device_id[6 + i] = abc[raw[i] % 26];
	n->acct.device_id[6 + sizeof raw] = 0;
}

/* "@bot:example.org" matches itself and the localpart "bot". */
static int user_matches(const char *cfg_user, const char *user_id)
{
	size_t k = strlen(cfg_user);
	if (!strcmp(cfg_user, user_id))
		return 1;
	return cfg_user[0] != '@' && user_id[0] == '@' && !strncmp(user_id + 1, cfg_user, k) &&
	       user_id[k + 1] == ':';
}

static void session_start(struct mxnet *n)
{
	struct store_account a;
	int found;
	if (n->stopped)
		return;
	found = store_account_get(n->st, n->name, &a);
	if (found < 0) {
		backoff(n, retry_session, "reading the account", "state file error");
		return;
	}
	/* A stored session belongs to this homeserver and this user only. */
	if (found && (strcmp(a.homeserver, n->base) || !user_matches(n->cfg->user, a.user_id))) {
		log_info("matrix.%s: the stored session is for %s on %s; starting a new one", n->name,
			 a.user_id, a.homeserver);
		found = 0;
		memset(&a, 0, sizeof a);
	}
	n->acct = a;
	if (n->cfg->access_token) {
		if (found && a.access_token[0] && !strcmp(a.access_token, n->cfg->access_token) &&
		    a.user_id[0]) {
			session_ready(n);
			return;
		}
		snprintf(n->acct.access_token, sizeof n->acct.access_token, "%s", n->cfg->access_token);
		n->req = request(n, "GET", "/account/whoami", NULL, NULL, MX_SMALL_MAX_BODY, 30000, 1,
				 on_whoami, n);
		if (n->req <= 0)
			backoff(n, retry_session, "whoami", "cannot start the request");
		return;
	}
	if (found && a.access_token[0] && a.user_id[0]) {
		session_ready(n);
		return;
	}
	if (!n->acct.device_id[0]) {
		new_device_id(n);
		snprintf(n->acct.homeserver, sizeof n->acct.homeserver, "%s", n->base);
		snprintf(n->acct.user_id, sizeof n->acct.user_id, "%s", n->cfg->user);
		if (store_account_set(n->st, n->name, &n->acct) < 0) {
			backoff(n, retry_session, "saving the device id", "state file error");
			return;
		}
	}
	login(n);
}

/* ---- /sync ---- */

static char *escaped_filter(int timeline_limit)
{
	char json[1024], *out;
	size_t cap;
	/* Only what the bot needs; m.room.encrypted and the top-level
	 * to_device / device_lists / one-time key counts pass for E2EE. */
	snprintf(json, sizeof json,
		 "{\"presence\":{\"types\":[]},\"account_data\":{\"types\":[]},"
		 "\"room\":{\"account_data\":{\"types\":[]},\"ephemeral\":{\"types\":[]},"
		 "\"state\":{\"lazy_load_members\":true,\"types\":[\"m.room.member\","
		 "\"m.room.encryption\",\"m.room.name\"]},"
		 "\"timeline\":{\"limit\":%d,\"lazy_load_members\":true,"
		 "\"types\":[\"m.room.message\",\"m.room.member\",\"m.room.encrypted\","
		 "\"m.room.encryption\",\"m.reaction\"]}}}", timeline_limit);
	cap = strlen(json) * 3 + 1;
	if (!(out = malloc(cap)) || mx_url_escape(json, out, cap) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void retry_sync(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	(void)lp;
	n->timer = 0;
	sync_start(n);
}

static void batch_free(struct mxnet *n)
{
	int i;
	for (i = 0; i < n->ngaps; i++) {
		free(n->gaps[i].room_id);
		free(n->gaps[i].from);
		cJSON_Delete(n->gaps[i].events);
	}
	memset(n->gaps, 0, sizeof n->gaps);
	n->ngaps = n->cur_gap = 0;
	n->gap_events = 0;
	cJSON_Delete(n->batch);
	n->batch = NULL;
	free(n->batch_next);
	n->batch_next = NULL;
}

/* Pass 1: which joined rooms have a gap to fill. */
static void p1_room(void *arg, const char *room_id, const struct mx_room_info *ri)
{
	struct mxnet *n = arg;
	struct gap *g;
	if (!ri->limited || n->initial)
		return;
	if (!ri->prev_batch) {
		log_warn("matrix.%s: %s: limited timeline without prev_batch; "
			 "the gap cannot be filled", n->name, room_id);
		return;
	}
	if (n->ngaps >= MX_MAX_GAPS) {
		log_warn("matrix.%s: more than %d rooms with gaps in one batch; %s not filled",
			 n->name, MX_MAX_GAPS, room_id);
		return;
	}
	g = &n->gaps[n->ngaps];
	if (!(g->room_id = strdup(room_id)) || !(g->from = strdup(ri->prev_batch)) ||
	    !(g->events = cJSON_CreateArray())) {
		free(g->room_id);
		free(g->from);
		memset(g, 0, sizeof *g);
		return;
	}
	n->ngaps++;
}

/* ---- pass 2: the batch's events, inside one transaction ---- */

static int room_save(struct mxnet *n)
{
	return store_room_set(n->st, n->name, n->room_id, &n->room);
}

static void p2_invite(void *arg, const char *room_id, const char *inviter, int is_direct)
{
	struct mxnet *n = arg;
	struct store_room r;
	if (!inviter) {
		log_warn("matrix.%s: invite to %s without a readable inviter; ignored", n->name, room_id);
		return;
	}
	if (strlen(room_id) > 255) {
		/* The spec's limit, and the store's: a longer id would be read
		 * back cut (store_room_list), joined under the wrong id, and
		 * stay "joining" for ever, joined again after every answer. */
		log_warn("matrix.%s: invite to a room id longer than 255 bytes (%.40s...); ignored",
			 n->name, room_id);
		return;
	}
	if (!mx_inviter_allowed(&n->cfg->allowed_inviters, inviter)) {
		log_warn("matrix.%s: declining the invite to %s from %s: not in allowed_inviters%s",
			 n->name, room_id, inviter,
			 n->cfg->allowed_inviters.n ? "" : " (empty: nobody may invite)");
		if (n->ndeclines < MX_MAX_DECLINES) {
			if ((n->declines[n->ndeclines] = strdup(room_id)))
				n->ndeclines++;
		} else
			log_warn("matrix.%s: decline queue full; invite to %s left pending", n->name, room_id);
		return;
	}
	if (store_room_get(n->st, n->name, room_id, &r) < 0)
		return;
	log_info("matrix.%s: invited to %s by %s%s: joining", n->name, room_id, inviter,
		 is_direct ? " (direct chat)" : "");
	r.joined = STORE_JOINING;
	r.is_direct = r.is_direct || is_direct;
	store_room_set(n->st, n->name, room_id, &r);
}

static void p2_leave(void *arg, const char *room_id)
{
	struct mxnet *n = arg;
	struct store_room r;
	if (store_room_get(n->st, n->name, room_id, &r) == 1 && r.joined != STORE_LEFT) {
		log_info("matrix.%s: left %s", n->name, room_id);
		r.joined = STORE_LEFT;
		store_room_set(n->st, n->name, room_id, &r);
	}
}

static void handle_message(struct mxnet *n, const struct mx_event *ev);
static void handle_reaction(struct mxnet *n, const struct mx_event *ev);

static int is_own_join(const struct mxnet *n, const struct mx_event *ev)
{
	return !strcmp(ev->type, "m.room.member") && ev->state_key &&
	       !strcmp(ev->state_key, n->acct.user_id) && ev->membership &&
	       !strcmp(ev->membership, "join") &&
	       !(ev->prev_membership && !strcmp(ev->prev_membership, "join"));
}

static void p2_event(void *arg, const char *room_id, const struct mx_event *ev, int is_state);

/* Our own join (not a profile change) among these events? */
static int own_join_in(const struct mxnet *n, const cJSON *events)
{
	const cJSON *it;
	if (!events)
		return 0;
	cJSON_ArrayForEach(it, events) {
		struct mx_event ev;
		if (mx_event_parse(it, &ev) == 0 && is_own_join(n, &ev))
			return 1;
	}
	return 0;
}

static void p2_room(void *arg, const char *room_id, const struct mx_room_info *ri)
{
	struct mxnet *n = arg;
	const cJSON *gap = NULL, *it;
	int i;
	n->room_id = room_id;
	if (store_room_get(n->st, n->name, room_id, &n->room) < 0)
		memset(&n->room, 0, sizeof n->room);
	n->room.joined = STORE_JOINED;
	if (ri->joined_members >= 0 && ri->joined_members < 1000000000)
		n->room.members = (int)ri->joined_members;
	room_save(n);
	for (i = 0; i < n->ngaps; i++)
		if (!strcmp(n->gaps[i].room_id, room_id))
			gap = n->gaps[i].events;
	/* Joined in this batch: what came before our join is the room's
	 * history, not questions to us. */
	n->before_join = own_join_in(n, gap) || own_join_in(n, ri->timeline);
	if (!gap)
		return;
	log_debug("matrix.%s: %s: %d events from the gap", n->name, room_id, cJSON_GetArraySize(gap));
	cJSON_ArrayForEach(it, gap) {
		struct mx_event ev;
		if (mx_event_parse(it, &ev) == 0)
			p2_event(n, room_id, &ev, 0);
	}
}

static void encrypted_event(struct mxnet *n, const struct mx_event *ev);
static void other_member(struct mxnet *n, const char *room_id, const struct mx_event *ev, int is_state);

static void p2_event(void *arg, const char *room_id, const struct mx_event *ev, int is_state)
{
	struct mxnet *n = arg;
	if (!n->room_id || strcmp(room_id, n->room_id))
		return;
	if (!strcmp(ev->type, "m.room.encryption")) {
		int64_t msgs, ms;
		/* Once on, encryption stays on (spec): a later event naming
		 * another algorithm does not turn it off. */
		if (mx_room_encryption(ev->content, &msgs, &ms) &&
		    (!n->room.encrypted || msgs != n->room.rot_msgs || ms != n->room.rot_ms)) {
			n->room.encrypted = 1;
			n->room.rot_msgs = msgs;
			n->room.rot_ms = ms;
			room_save(n);
			log_info("matrix.%s: %s is encrypted (Megolm; a new session after %lld "
				 "messages%s or %lld s%s)", n->name, room_id,
				 (long long)(msgs > 0 ? msgs : E2EE_ROT_MSGS_DEFAULT),
				 msgs > 0 ? "" : " (default)",
				 (long long)(ms > 0 ? ms : E2EE_ROT_MS_DEFAULT) / 1000,
				 ms > 0 ? "" : " (default)");
		}
		return;
	}
	if (!strcmp(ev->type, "m.room.member") && ev->state_key &&
	    strcmp(ev->state_key, n->acct.user_id)) {
		other_member(n, room_id, ev, is_state);
		return;
	}
	if (!strcmp(ev->type, "m.room.member")) {
		if (is_state || !ev->state_key || strcmp(ev->state_key, n->acct.user_id) || !ev->membership)
			return;
		if (is_own_join(n, ev)) {
			n->before_join = 0;
		} else if (!strcmp(ev->membership, "leave") || !strcmp(ev->membership, "ban")) {
			n->room.joined = STORE_LEFT;
			room_save(n);
		}
		return;
	}
	if (is_state)
		return;
	if (!strcmp(ev->type, "m.room.encrypted")) {
		if (n->e2)
			encrypted_event(n, ev);
		else
			log_debug("matrix.%s: %s: encrypted event %s skipped (e2ee is off)", n->name,
				  room_id, ev->event_id);
		return;
	}
	if (!strcmp(ev->type, "m.room.message"))
		handle_message(n, ev);
	else if (!strcmp(ev->type, "m.reaction"))
		handle_reaction(n, ev);
}

/* The store key of a hand-over post is MX_HANDOVER + the question's
 * event id: a reaction on the post finds the question by it. */
#define MX_HANDOVER "ho:"

/* Queues one more message of the bot's (a hand-over post, the word to
 * the asker that a person took their question) through the store, like
 * an answer: sent once, encrypted when the room is.  Keyed by tag + the
 * event that caused it, so a replay queues nothing twice.  A reply to
 * reply_to when set. */
static void post(struct mxnet *n, const char *tag, const char *cause, const char *room,
		 const char *text, size_t len, const char *reply_to, const char *asker)
{
	struct mx_reply rp;
	char key[256], txn[MX_TXN_LEN], *content;
	int k = snprintf(key, sizeof key, "%s%s", tag, cause);

	if (k < 0 || (size_t)k >= sizeof key || !room[0] || strlen(room) > 255)
		return;
	memset(&rp, 0, sizeof rp);
	rp.text = text;
	rp.len = len;
	rp.question_id = reply_to;
	rp.asker = asker;
	if (mx_txn_id(key, txn) < 0 || !(content = mx_reply_json(&rp))) {
		log_error("matrix.%s: cannot build the message for %s", n->name, key);
		return;
	}
	if (store_answer_add(n->st, n->name, key, room, txn, content, wall_ms()) == 0)
		n->answers_added++;
	free(content);
}

/* A 👍 / 👎 (m.annotation) on one of the bot's answers: recorded by bot.c
 * when [bot] record_questions is on (record.c); nothing is sent. */
static void handle_reaction(struct mxnet *n, const struct mx_event *ev)
{
	struct chat_msg m;
	char qid[256];

	if (!strcmp(ev->sender, n->acct.user_id) || n->initial || n->before_join ||
	    ev->redacted || !ev->rel_type || strcmp(ev->rel_type, "m.annotation") ||
	    !ev->rel_event_id || strlen(ev->rel_event_id) > 255)
		return;
	memset(&m, 0, sizeof m);
	m.network = n->name;
	m.kind = "matrix";
	m.sender = ev->sender;
	m.account = ev->sender;
	m.own_name = n->localpart;
	m.policy = &n->cfg->policy;
	m.room = n->room_id;
	m.event_id = ev->event_id;
	m.now = (time_t)(wall_ms() / 1000);
	m.now_ms = loop_now_ms(n->lp);
	m.event = CHAT_REACTION;
	m.rel_event = ev->rel_event_id;
	m.key = mx_str(mx_obj(ev->content, "m.relates_to"), "key");
	if (n->cfg->policy.escalate_to && !strcmp(n->room_id, n->cfg->policy.escalate_to) &&
	    store_answer_by_reply(n->st, n->name, ev->rel_event_id, qid, sizeof qid) == 1 &&
	    !strncmp(qid, MX_HANDOVER, sizeof MX_HANDOVER - 1)) {
		/* Any reaction on a hand-over post takes the question. */
		m.event = CHAT_CLAIM;
		m.rel_event = qid + sizeof MX_HANDOVER - 1;
		if (n->sink.on_msg(n->sink.arg, &m, &n->out) > 0) {
			post(n, "tk:", ev->event_id, n->room_id, n->out.text, n->out.len, NULL, NULL);
			if (n->out.extra_target[0])
				post(n, "ta:", ev->event_id, n->out.extra_target, n->out.extra_text,
				     strlen(n->out.extra_text), m.rel_event, NULL);
		}
		return;
	}
	if (n->sink.on_msg(n->sink.arg, &m, &n->out) > 0)
		log_info("matrix.%s: feedback on the answer %s recorded", n->name, ev->rel_event_id);
}

/* Takes one non-answer send from user's budget: 1 send, 2 send the
 * "too many" notice instead, 0 say nothing. */
static int cmd_take(struct mxnet *n, const char *user, int64_t now)
{
	struct cmdbudget *b = NULL, *old = &n->cmdb[0];
	int i;
	for (i = 0; i < MX_CMD_SLOTS && !b; i++) {
		if (!strcmp(n->cmdb[i].user, user))
			b = &n->cmdb[i];
		else if (n->cmdb[i].at < old->at)
			old = &n->cmdb[i];
	}
	if (!b) {
		b = old; /* a free slot has at = 0: the oldest */
		snprintf(b->user, sizeof b->user, "%s", user);
		b->at = now;
		b->tokens = MX_CMD_BURST;
		b->noticed = 0;
	}
	while (b->tokens < MX_CMD_BURST && now - b->at >= MX_CMD_REFILL_MS) {
		b->tokens++;
		b->at += MX_CMD_REFILL_MS;
	}
	if (b->tokens >= MX_CMD_BURST)
		b->at = now;
	if (b->tokens > 0) {
		b->tokens--;
		b->noticed = 0;
		return 1;
	}
	if (!b->noticed) {
		b->noticed = 1;
		return 2;
	}
	return 0;
}

static void handle_message(struct mxnet *n, const struct mx_event *ev)
{
	struct chat_msg m;
	struct mx_reply rp;
	const char *text;
	char txn[MX_TXN_LEN], *content;
	int mentioned = 0, known;
	int64_t now = wall_ms();
	size_t blen;

	if (!strcmp(ev->sender, n->acct.user_id) || n->initial)
		return;
	if (n->before_join)
		return;
	if (ev->redacted || !ev->body || !ev->msgtype || strcmp(ev->msgtype, "m.text"))
		return; /* notices (other bots), emotes, files, redacted */
	if (ev->rel_type && !strcmp(ev->rel_type, "m.replace"))
		return; /* an edit: the original was handled */
	if (now - ev->ts > (int64_t)n->max_age_s * 1000) {
		log_debug("matrix.%s: %s: %s is older than %d s; not answered", n->name,
			  n->room_id, ev->event_id, n->max_age_s);
		return;
	}
	blen = strlen(ev->body);
	if (blen > MX_MAX_BODY_TEXT || !mx_utf8_valid(ev->body, blen) ||
	    strlen(ev->event_id) > 255 || strlen(n->room_id) > 255)
		return;
	known = store_answer_known(n->st, n->name, ev->event_id);
	if (known != 0)
		return; /* answered (or being answered) already, or a store error */
	text = mx_question_text(ev->body, n->acct.user_id, &mentioned);
	mentioned |= mx_mentions_user(ev->content, n->acct.user_id);
	/* A reply to one of the bot's messages is addressed to it (and, with
	 * the room and the sender, continues that asker's conversation). */
	if (!mentioned && ev->reply_to && strlen(ev->reply_to) < 256 &&
	    store_answer_by_reply(n->st, n->name, ev->reply_to, NULL, 0) == 1)
		mentioned = 1;
	memset(&m, 0, sizeof m);
	m.network = n->name;
	m.sender = ev->sender;
	/* Admin rights in an encrypted room only for a message decrypted
	 * from a pinned device of its sender (issue 10): a plain event there
	 * may come from the homeserver itself. */
	m.account = n->room.encrypted && !n->dec_verified ? NULL : ev->sender;
	if (!m.account)
		log_debug("matrix.%s: %s: %s from %s is not encrypted in an encrypted room: no admin "
			  "rights", n->name, n->room_id, ev->event_id, ev->sender);
	/* the conversation key (conv.h): a thread is a conversation of its own */
	m.room = n->room_id;
	m.thread = ev->rel_type && !strcmp(ev->rel_type, "m.thread") ? ev->rel_event_id : NULL;
	m.text = text;
	m.len = strlen(text);
	/* Direct chat: invited as one, or only the bot and one person. */
	m.is_private = n->room.is_direct || n->room.members == 2;
	m.mentioned = mentioned;
	m.own_name = n->localpart;
	m.auto_answer = strlist_has(&n->cfg->policy.auto_answer, n->room_id);
	m.policy = &n->cfg->policy;
	m.now_ms = loop_now_ms(n->lp);
	m.now = (time_t)(now / 1000);
	m.room = n->room_id;
	m.event_id = ev->event_id;
	if (!n->sink.on_msg(n->sink.arg, &m, &n->out))
		return;
	if (n->out.kind == CHAT_REFUSED || n->out.kind == CHAT_ADMIN) {
		int t = cmd_take(n, ev->sender, m.now_ms);
		if (!t) {
			log_debug("matrix.%s: %s: nothing sent for %s from %s: past the command budget",
				  n->name, n->room_id, ev->event_id, ev->sender);
			return;
		}
		if (t == 2) {
			log_info("matrix.%s: %s sends commands too fast: one notice, then silence",
				 n->name, ev->sender);
			n->out.len = sizeof msg_cmd_limited - 1;
			memcpy(n->out.text, msg_cmd_limited, sizeof msg_cmd_limited);
		}
	}
	memset(&rp, 0, sizeof rp);
	rp.text = n->out.text;
	rp.len = n->out.len;
	rp.question_id = ev->event_id;
	rp.thread_root = ev->rel_type && !strcmp(ev->rel_type, "m.thread") ? ev->rel_event_id : NULL;
	rp.asker = ev->sender;
	if (mx_txn_id(ev->event_id, txn) < 0 || !(content = mx_reply_json(&rp))) {
		log_error("matrix.%s: cannot build the reply to %s", n->name, ev->event_id);
		return;
	}
	if (store_answer_add(n->st, n->name, ev->event_id, n->room_id, txn, content, now) == 0) {
		n->answers_added++;
		log_debug("matrix.%s: %s: answer to %s from %s queued (txn %s)", n->name, n->room_id,
			  ev->event_id, ev->sender, txn);
	}
	free(content);
	/* Hand-over (escalate_to): the post for the people, or, after
	 * « !pris N », the word to the asker. */
	if (n->out.extra_target[0])
		post(n, n->out.kind == CHAT_ANSWER ? MX_HANDOVER : "x:", ev->event_id,
		     n->out.extra_target, n->out.extra_text, strlen(n->out.extra_text), NULL, NULL);
}

static void batch_commit(struct mxnet *n)
{
	struct mx_sync_visitor v = { n, p2_invite, p2_leave, p2_room, p2_event };
	struct mx_sync_stats st;
	int64_t t0 = loop_now_ms(n->lp);
	n->answers_added = 0;
	n->room_id = NULL;
	if (store_begin(n->st) < 0) {
		backoff(n, retry_sync, "storing the batch", "state file error");
		batch_free(n);
		return;
	}
	/* To-device messages first: a room key that came with the batch
	 * decrypts the batch's own events (spec, "Decrypting events"). */
	crypto_batch_pre(n);
	mx_sync_walk(n->batch, n->acct.user_id, &v, &st);
	n->room_id = NULL;
	crypto_batch_post(n);
	n->room_id = NULL;
	if (store_sync_set(n->st, n->name, n->batch_next) < 0 || store_commit(n->st) < 0) {
		store_rollback(n->st);
		backoff(n, retry_sync, "storing the batch", "state file error");
		batch_free(n);
		return;
	}
	if (st.skipped)
		log_warn("matrix.%s: /sync held %u item(s) of the wrong shape; skipped", n->name,
			 st.skipped);
	if (n->initial)
		log_info("matrix.%s: first sync: %u room(s); earlier messages are not answered",
			 n->name, st.rooms);
	else if (st.events || n->answers_added)
		log_debug("matrix.%s: batch: %u room(s), %u event(s), %d answer(s), %lld ms", n->name,
			  st.rooms, st.events, n->answers_added, (long long)(loop_now_ms(n->lp) - t0));
	snprintf(n->since, sizeof n->since, "%s", n->batch_next);
	n->have_since = 1;
	n->fails = 0;
	crypto_counts(n);
	n->synced_once = 1;
	batch_free(n);
	if (n->answers_added)
		kick_sender(n);
	kick_joins(n);
	kick_declines(n);
	crypto_kick(n);
	sync_start(n);
}

/* ---- gaps: /messages back from prev_batch to the previous since ---- */

static void retry_gap(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	(void)lp;
	n->timer = 0;
	gap_next(n);
}

static void on_messages(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct gap *g = &n->gaps[n->cur_gap];
	char err[160];
	cJSON *j = NULL, *chunk, *it, *next;
	const char *end;
	int64_t oldest = INT64_MAX, now = wall_ms();
	int got = 0;
	n->req = 0;
	if (r->status == 200)
		j = mx_json_parse(r->body, r->len, err, sizeof err);
	else
		j = parse_small(r);
	if (r->status == 401 && is_errcode(j, "M_UNKNOWN_TOKEN")) {
		cJSON_Delete(j);
		session_lost(n);
		return;
	}
	if (r->status == 429) {
		set_timer(n, &n->timer, mx_retry_after_ms(j, r->retry_after_ms), retry_gap);
		cJSON_Delete(j);
		return;
	}
	if (r->status != 200 || !j || !(chunk = (cJSON *)mx_arr(j, "chunk"))) {
		char why[320];
		describe(r, j, why, sizeof why);
		if (r->status == 200)
			snprintf(why, sizeof why, "bad /messages response: %s", j ? "no chunk" : err);
		cJSON_Delete(j);
		if (++g->tries >= MX_GAP_MAX_TRIES) {
			log_error("matrix.%s: %s: gap not filled after %d tries (%s); questions in it "
				  "may go unanswered", n->name, g->room_id, g->tries, why);
			g->done = 1;
			n->cur_gap++;
			gap_next(n);
			return;
		}
		{
			int64_t ms = mx_backoff_ms(g->tries, (int64_t)n->cfg->reconnect_max * 1000, rnd(n));
			log_warn("matrix.%s: /messages for %s failed (%s); retrying in %.1f s", n->name,
				 g->room_id, why, ms / 1000.0);
			set_timer(n, &n->timer, ms, retry_gap);
		}
		return;
	}
	g->tries = 0;
	g->pages++;
	/* Newest first: each event moved to the front keeps g->events oldest
	 * first across pages. */
	for (it = chunk->child; it; it = next) {
		int64_t ts = mx_int(it, "origin_server_ts", 0);
		next = it->next;
		if (n->gap_events >= MX_GAP_MAX_EVENTS)
			break;
		if (ts < oldest)
			oldest = ts;
		cJSON_DetachItemViaPointer(chunk, it);
		cJSON_InsertItemInArray(g->events, 0, it);
		n->gap_events++;
		got++;
	}
	end = mx_str(j, "end");
	if (!got || !end || n->gap_events >= MX_GAP_MAX_EVENTS || g->pages >= MX_GAP_MAX_PAGES ||
	    now - oldest > (int64_t)n->max_age_s * 1000) {
		if (n->gap_events >= MX_GAP_MAX_EVENTS || (got && end && g->pages >= MX_GAP_MAX_PAGES &&
							   now - oldest <= (int64_t)n->max_age_s * 1000))
			log_warn("matrix.%s: %s: gap longer than the %d events kept; older ones skipped",
				 n->name, g->room_id, MX_GAP_MAX_EVENTS);
		g->done = 1;
		n->cur_gap++;
	} else {
		free(g->from);
		g->from = strdup(end);
		if (!g->from) {
			g->done = 1;
			n->cur_gap++;
		}
	}
	cJSON_Delete(j);
	gap_next(n);
}

static void gap_next(struct mxnet *n)
{
	struct gap *g;
	char rid[800], from[3200], to[3200], path[1000], query[8192];
	if (n->stopped)
		return;
	if (n->cur_gap >= n->ngaps) {
		batch_commit(n);
		return;
	}
	g = &n->gaps[n->cur_gap];
	if (mx_url_escape(g->room_id, rid, sizeof rid) < 0 || mx_url_escape(g->from, from, sizeof from) < 0 ||
	    mx_url_escape(n->since, to, sizeof to) < 0) {
		log_warn("matrix.%s: gap token or room id too long; gap in %s not filled", n->name,
			 g->room_id);
		n->cur_gap++;
		gap_next(n);
		return;
	}
	snprintf(path, sizeof path, "/rooms/%s/messages", rid);
	snprintf(query, sizeof query, "dir=b&limit=100&from=%s&to=%s&filter=%s", from, to,
		 n->msg_filter_q);
	n->req = request(n, "GET", path, query, NULL, MX_MESSAGES_MAX_BODY, 60000, 1, on_messages, n);
	if (n->req <= 0) {
		n->req = 0;
		set_timer(n, &n->timer, 1000, retry_gap);
	}
}

static void on_sync(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	char err[160], why[320];
	cJSON *j = NULL;
	const char *nb;
	n->req = 0;
	if (r->status == 200) {
		struct mx_sync_visitor v = { n, NULL, NULL, p1_room, NULL };
		j = mx_json_parse(r->body, r->len, err, sizeof err);
		if (!j) {
			log_warn("matrix.%s: /sync response unusable (%s, %zu bytes); skipped", n->name,
				 err, r->len);
			backoff(n, retry_sync, "/sync", "unusable response");
			return;
		}
		n->initial = !n->have_since;
		n->batch = j;
		n->batch_sent_ms = n->sync_sent_ms;
		nb = mx_sync_walk(j, n->acct.user_id, &v, NULL);
		if (!nb || strlen(nb) >= sizeof n->since || !(n->batch_next = strdup(nb))) {
			log_warn("matrix.%s: /sync response without a usable next_batch; skipped", n->name);
			batch_free(n);
			backoff(n, retry_sync, "/sync", "no next_batch");
			return;
		}
		if (n->ngaps)
			log_info("matrix.%s: %d room(s) with a limited timeline; fetching the gap(s)",
				 n->name, n->ngaps);
		n->cur_gap = 0;
		gap_next(n);
		return;
	}
	j = parse_small(r);
	if (r->status == 401 && is_errcode(j, "M_UNKNOWN_TOKEN")) {
		cJSON_Delete(j);
		session_lost(n);
		return;
	}
	if (r->status == 429) {
		int64_t ms = mx_retry_after_ms(j, r->retry_after_ms);
		log_warn("matrix.%s: /sync rate-limited; retrying in %.1f s", n->name, ms / 1000.0);
		set_timer(n, &n->timer, ms, retry_sync);
	} else {
		describe(r, j, why, sizeof why);
		backoff(n, retry_sync, "/sync", why);
	}
	cJSON_Delete(j);
}

static void sync_start(struct mxnet *n)
{
	char query[4096], since[3200];
	int first = !n->have_since;
	if (n->stopped || n->req > 0)
		return;
	if (n->have_since && mx_url_escape(n->since, since, sizeof since) < 0)
		n->have_since = 0;
	/* The first sync of a run returns at once, even when resuming: the
	 * key upload and cross-signing wait for it (one-time key counts),
	 * and must not wait for a message to end a 30 s long-poll. */
	snprintf(query, sizeof query, "timeout=%d&filter=%s%s%s",
		 first || !n->synced_once ? 0 : n->cfg->sync_timeout * 1000,
		 first ? n->filter_first_q : n->filter_q,
		 n->have_since ? "&since=" : "", n->have_since ? since : "");
	n->sync_sent_ms = loop_now_ms(n->lp);
	n->req = request(n, "GET", "/sync", query, NULL, MX_SYNC_MAX_BODY,
			 (long)n->cfg->sync_timeout * 1000 + 30000, 1, on_sync, n);
	if (n->req <= 0) {
		n->req = 0;
		backoff(n, retry_sync, "/sync", "cannot start the request");
	}
}

/* ---- sending answers from the store ---- */

static void send_timer_cb(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	(void)lp;
	n->send_timer = 0;
	kick_sender(n);
}

static void q_remove(struct mxnet *n, struct sendq *q)
{
	size_t i = (size_t)(q - n->q);
	free(q->p.content);
	memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof *q);
	n->nq--;
}

static struct sendq *q_find(struct mxnet *n, long req)
{
	size_t i;
	for (i = 0; i < n->nq; i++)
		if (n->q[i].req == req)
			return &n->q[i];
	return NULL;
}

static void on_send(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct sendq *q = q_find(n, r->id);
	cJSON *j = parse_small(r);
	char why[320];
	n->send_inflight--;
	if (!q) {
		cJSON_Delete(j);
		return;
	}
	q->req = 0;
	if (r->status == 200) {
		const char *eid = mx_str(j, "event_id");
		if (store_answer_set_state(n->st, n->name, q->p.event_id, STORE_SENT, eid) < 0)
			log_error("matrix.%s: answer to %s sent but not marked; it will be re-sent "
				  "with the same txn id (deduplicated)", n->name, q->p.event_id);
		log_info("matrix.%s: answered %s in %s (%s)", n->name, q->p.event_id, q->p.room_id,
			 eid ? eid : "no event id");
		q_remove(n, q);
	} else if (r->status == 401 && is_errcode(j, "M_UNKNOWN_TOKEN")) {
		cJSON_Delete(j);
		session_lost(n);
		return;
	} else if (r->status == 429) {
		int64_t ms = mx_retry_after_ms(j, r->retry_after_ms);
		int64_t until = loop_now_ms(n->lp) + ms;
		if (until > n->pause_until) {
			/* One line per pause, not per answer caught in it. */
			if (n->pause_until < loop_now_ms(n->lp))
				log_info("matrix.%s: sending rate-limited (429); waiting %.1f s", n->name,
					 ms / 1000.0);
			n->pause_until = until;
		}
	} else if (r->status >= 400 && r->status < 500) {
		describe(r, j, why, sizeof why);
		log_warn("matrix.%s: answer to %s in %s refused (%s); not retried", n->name,
			 q->p.event_id, q->p.room_id, why);
		store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
		q_remove(n, q);
	} else {
		int64_t ms = mx_backoff_ms(q->attempts++, (int64_t)n->cfg->reconnect_max * 1000, rnd(n));
		describe(r, j, why, sizeof why);
		q->not_before = loop_now_ms(n->lp) + ms;
		log_warn("matrix.%s: sending the answer to %s failed (%s); retrying in %.1f s", n->name,
			 q->p.event_id, why, ms / 1000.0);
	}
	cJSON_Delete(j);
	kick_sender(n);
}

/* Returns 1 when q was removed from the queue. */
static int send_one(struct mxnet *n, struct sendq *q)
{
	char rid[800], txn[256], path[1200];
	if (mx_url_escape(q->p.room_id, rid, sizeof rid) < 0 ||
	    mx_url_escape(q->p.txn_id, txn, sizeof txn) < 0) {
		store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
		q_remove(n, q);
		return 1;
	}
	/* An encrypted answer is sent as stored: the same ciphertext under
	 * the same txn id, however often it is re-sent. */
	snprintf(path, sizeof path, "/rooms/%s/send/%s/%s", rid,
		 q->p.encrypted ? "m.room.encrypted" : "m.room.message", txn);
	q->req = request(n, "PUT", path, NULL, q->p.content, MX_SMALL_MAX_BODY, 30000, 1, on_send, n);
	if (q->req <= 0) {
		q->req = 0;
		q->not_before = loop_now_ms(n->lp) + 1000;
		return 0;
	}
	n->send_inflight++;
	return 0;
}

static void kick_sender(struct mxnet *n)
{
	int64_t now, wake = INT64_MAX;
	size_t i;
	if (n->stopped || !n->acct.access_token[0] || !n->acct.user_id[0])
		return;
	/* The store is the queue; memory holds a capped window of it.  At the
	 * cap, newer answers simply wait in the store (loaded as older ones
	 * are acknowledged), so nothing is dropped. */
	if (n->nq < MX_SENDQ_MAX) {
		struct store_pending tmp[32];
		int k = MX_SENDQ_MAX - (int)n->nq, got, j;
		if (k > 32)
			k = 32;
		got = store_pending_list(n->st, n->name, n->last_seq, tmp, k);
		for (j = 0; j < got; j++) {
			struct sendq *q = &n->q[n->nq++];
			memset(q, 0, sizeof *q);
			q->p = tmp[j];
			if (tmp[j].seq > n->last_seq)
				n->last_seq = tmp[j].seq;
		}
	}
	now = loop_now_ms(n->lp);
	if (now < n->pause_until) {
		wake = n->pause_until;
	} else {
		for (i = 0; i < n->nq && n->send_inflight < MX_SEND_PARALLEL; i++) {
			struct sendq *q = &n->q[i];
			if (q->req > 0)
				continue;
			if (!q->p.encrypted && q_needs_crypto(n, q)) {
				if (!n->e2) {
					log_warn("matrix.%s: %s is encrypted and e2ee is off: the answer to "
						 "%s is not sent (set e2ee = yes)", n->name, q->p.room_id,
						 q->p.event_id);
					store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
					q_remove(n, q);
					i--;
				}
				continue; /* crypto_kick encrypts it, then it comes back here */
			}
			if (q->not_before > now) {
				if (q->not_before < wake)
					wake = q->not_before;
				continue;
			}
			if (send_one(n, q))
				i--; /* removed: the next one moved here (wraps, then ++) */
		}
	}
	if (wake != INT64_MAX)
		set_timer(n, &n->send_timer, wake - now, send_timer_cb);
	else if (n->nq == MX_SENDQ_MAX && !n->send_inflight)
		set_timer(n, &n->send_timer, 1000, send_timer_cb);
	crypto_kick(n);
}

/* ---- joins (from the store) and declines (best effort) ---- */

static void join_timer_cb(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	(void)lp;
	n->join_timer = 0;
	kick_joins(n);
}

static void on_join(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	cJSON *j = parse_small(r);
	char why[320];
	struct store_room rm;
	n->join_req = 0;
	if (store_room_get(n->st, n->name, n->join_room, &rm) < 0)
		memset(&rm, 0, sizeof rm);
	if (r->status == 200) {
		log_info("matrix.%s: joined %s", n->name, n->join_room);
		rm.joined = STORE_JOINED;
		store_room_set(n->st, n->name, n->join_room, &rm);
		n->join_fails = 0;
		kick_joins(n);
	} else if (r->status == 429) {
		set_timer(n, &n->join_timer, mx_retry_after_ms(j, r->retry_after_ms), join_timer_cb);
	} else if (r->status == 401 && is_errcode(j, "M_UNKNOWN_TOKEN")) {
		/* Our token, not the room, was refused: the room stays
		 * "joining" and is joined after the new login (session_ready
		 * kicks the joins); marking it left would lose the invite. */
		cJSON_Delete(j);
		session_lost(n);
		return;
	} else if (r->status >= 400 && r->status < 500 && r->status != 408) {
		describe(r, j, why, sizeof why);
		log_warn("matrix.%s: cannot join %s (%s)", n->name, n->join_room, why);
		rm.joined = STORE_LEFT;
		store_room_set(n->st, n->name, n->join_room, &rm);
		kick_joins(n);
	} else {
		describe(r, j, why, sizeof why);
		log_warn("matrix.%s: joining %s failed (%s); will retry", n->name, n->join_room, why);
		set_timer(n, &n->join_timer,
			  mx_backoff_ms(n->join_fails++, (int64_t)n->cfg->reconnect_max * 1000, rnd(n)),
			  join_timer_cb);
	}
	cJSON_Delete(j);
}

static void kick_joins(struct mxnet *n)
{
	char ids[1][256], rid[800], path[900];
	if (n->stopped || n->join_req > 0 || n->join_timer > 0 || !n->acct.access_token[0])
		return;
	if (store_room_list(n->st, n->name, STORE_JOINING, ids, 1) != 1)
		return;
	if (mx_url_escape(ids[0], rid, sizeof rid) < 0)
		return;
	snprintf(path, sizeof path, "/join/%s", rid);
	n->join_req = request(n, "POST", path, NULL, "{}", MX_SMALL_MAX_BODY, 30000, 1, on_join, n);
	/* Only one join at a time: the room id fits in one buffer. */
	snprintf(n->join_room, sizeof n->join_room, "%s", ids[0]);
	if (n->join_req <= 0) {
		n->join_req = 0;
		set_timer(n, &n->join_timer, 5000, join_timer_cb);
	}
}

static void on_decline(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	n->decline_req = 0;
	if (r->status != 200)
		log_warn("matrix.%s: declining an invite failed (%s %ld)", n->name,
			 r->error ? r->error : "HTTP", r->status);
	kick_declines(n);
}

static void kick_declines(struct mxnet *n)
{
	char rid[800], path[900], *room;
	if (n->stopped || n->decline_req > 0 || !n->ndeclines || !n->acct.access_token[0])
		return;
	room = n->declines[--n->ndeclines];
	if (mx_url_escape(room, rid, sizeof rid) == 0) {
		snprintf(path, sizeof path, "/rooms/%s/leave", rid);
		n->decline_req = request(n, "POST", path, NULL, "{}", MX_SMALL_MAX_BODY, 30000, 1,
					 on_decline, n);
		if (n->decline_req < 0)
			n->decline_req = 0;
	}
	free(room);
}

/* ---- the network ---- */

static void list_free(struct strlist *l)
{
	size_t i;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_copy(struct strlist *d, const struct strlist *s)
{
	size_t i;
	d->n = 0;
	if (!s->n) {
		d->v = NULL;
		return 0;
	}
	if (!(d->v = calloc(s->n, sizeof *d->v)))
		return -1;
	for (i = 0; i < s->n; i++) {
		if (!(d->v[i] = strdup(s->v[i] ? s->v[i] : "")))
			return -1;
		d->n++;
	}
	return 0;
}

static void str_wipe_free(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

static void cfg_free(struct matrix_config *c)
{
	free(c->name);
	free(c->homeserver);
	free(c->user);
	str_wipe_free(c->password);
	str_wipe_free(c->access_token);
	str_wipe_free(c->pickle_key);
	free(c->device_name);
	list_free(&c->policy.admins);
	list_free(&c->policy.auto_answer);
	list_free(&c->policy.ignore);
	free(c->policy.escalate_to);
	list_free(&c->allowed_inviters);
	memset(c, 0, sizeof *c);
}

static int dup_opt(char **d, const char *s)
{
	*d = NULL;
	return s && !(*d = strdup(s)) ? -1 : 0;
}

/* A private copy of what the network reads, so that a reload can free
 * the config it came from. */
static int cfg_copy(struct matrix_config *d, const struct matrix_config *s)
{
	memset(d, 0, sizeof *d);
	d->line = s->line;
	d->e2ee = s->e2ee;
	d->sync_timeout = s->sync_timeout > 0 ? s->sync_timeout : 30;
	d->reconnect_max = s->reconnect_max > 0 ? s->reconnect_max : 300;
	d->allow_plaintext_password = s->allow_plaintext_password;
	d->policy.user_rate = s->policy.user_rate;
	d->policy.user_burst = s->policy.user_burst;
	if (dup_opt(&d->name, s->name ? s->name : "matrix") < 0 ||
	    dup_opt(&d->homeserver, s->homeserver) < 0 || dup_opt(&d->user, s->user) < 0 ||
	    dup_opt(&d->password, s->password) < 0 || dup_opt(&d->access_token, s->access_token) < 0 ||
	    dup_opt(&d->device_name, s->device_name ? s->device_name : "faqbot") < 0 ||
	    dup_opt(&d->pickle_key, s->pickle_key) < 0 ||
	    dup_opt(&d->policy.escalate_to, s->policy.escalate_to) < 0 ||
	    list_copy(&d->policy.admins, &s->policy.admins) < 0 ||
	    list_copy(&d->policy.auto_answer, &s->policy.auto_answer) < 0 ||
	    list_copy(&d->policy.ignore, &s->policy.ignore) < 0 ||
	    list_copy(&d->allowed_inviters, &s->allowed_inviters) < 0) {
		cfg_free(d);
		return -1;
	}
	return 0;
}

static void prune_timer_cb(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	(void)lp;
	n->prune_timer = 0;
	prune_state(n);
}

/* Retention (issue 10): answer records 30 days (MX_PRUNE_AGE_MS), the
 * crypto state as e2ee.h says; at start-up, then every hour. */
static void prune_state(struct mxnet *n)
{
	long pruned = store_answer_prune(n->st, wall_ms() - MX_PRUNE_AGE_MS);
	if (pruned > 0)
		log_info("matrix.%s: %ld old answer record(s) pruned", n->name, pruned);
	if (n->e2) {
		struct e2ee_store_pruned p;
		if (e2ee_prune(n->e2, wall_ms(), &p) < 0)
			log_warn("matrix.%s: pruning the crypto state failed (state file error)", n->name);
		else if (p.inbound || p.seen || p.olm || p.shared || p.keyreq)
			log_info("matrix.%s: crypto state pruned: %ld room key(s), %ld replay record(s), "
				 "%ld Olm session(s), %ld share record(s), %ld key request(s)", n->name,
				 p.inbound, p.seen, p.olm, p.shared, p.keyreq);
	}
	if (!n->stopped)
		set_timer(n, &n->prune_timer, MX_PRUNE_EVERY_MS, prune_timer_cb);
}

struct mxnet *mxnet_start(struct loop *lp, const struct matrix_config *cfg,
			  const struct chat_sink *sink, const char *state_path)
{
	struct mxnet *n;
	char err[512], mf[512];
	size_t len;
	if (!lp || !cfg || !sink || !sink->on_msg || !cfg->homeserver || !cfg->user)
		return NULL;
	if (!(n = calloc(1, sizeof *n)))
		return NULL;
	n->lp = lp;
	n->sink = *sink;
	if (cfg_copy(&n->cfgcopy, cfg) < 0) {
		free(n);
		return NULL;
	}
	n->cfg = &n->cfgcopy;
	n->name = n->cfgcopy.name;
	snprintf(n->td_net, sizeof n->td_net, "%s/to-device", n->name);
	n->max_age_s = 600;
	n->rng = (uint32_t)wall_ms() ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)n;
	if (!(n->st = store_open(state_path, err, sizeof err))) {
		log_error("matrix.%s: %s", n->name, err);
		cfg_free(&n->cfgcopy);
		free(n);
		return NULL;
	}
	/* Crypto state must outlive a power cut on its own (keys pickled
	 * before they are uploaded); plain replies do not need an fsync per
	 * commit (store.h, store_set_durable). */
	if (cfg->e2ee && store_set_durable(n->st, 1) < 0)
		goto fail;
	if (!(n->base = strdup(cfg->homeserver)))
		goto fail;
	len = strlen(n->base);
	while (len > 0 && n->base[len - 1] == '/')
		n->base[--len] = 0;
	snprintf(mf, sizeof mf, "{\"lazy_load_members\":true,\"types\":[\"m.room.message\","
		 "\"m.room.member\",\"m.room.encrypted\"]}");
	n->msg_filter_q = malloc(strlen(mf) * 3 + 1);
	if (!(n->filter_q = escaped_filter(MX_TIMELINE_LIMIT)) || !(n->filter_first_q = escaped_filter(1)) ||
	    !n->msg_filter_q || mx_url_escape(mf, n->msg_filter_q, strlen(mf) * 3 + 1) < 0)
		goto fail;
	if (!(n->http = http_new(lp))) {
		log_error("matrix.%s: cannot start libcurl", n->name);
		goto fail;
	}
	if (store_sync_get(n->st, n->name, n->since, sizeof n->since) == 1)
		n->have_since = 1;
	n->otk_count = -1;
	n->fb_unused = -1;
	n->uw_cur = -1;
	if (cfg->e2ee && crypto_start_check(n) < 0) {
		/* A missing or wrong pickle key: nothing in the state file is
		 * written; the caller decides (run.c: faqbot stops at start-up,
		 * a reload only leaves this network out). */
		log_error("matrix.%s: not started: end-to-end encryption cannot open its state "
			  "(see above)", n->name);
		goto fail;
	}
	prune_state(n);
	{
		long pending = store_pending_count(n->st, n->name);
		log_info("matrix.%s: starting on %s (%s, %ld answer(s) pending)", n->name, n->base,
			 n->have_since ? "resuming the stored sync" : "first start: the backlog is skipped",
			 pending < 0 ? 0 : pending);
	}
	if (!cfg->allowed_inviters.n)
		log_info("matrix.%s: allowed_inviters is empty: invites will be declined", n->name);
	session_start(n);
	return n;
fail:
	mxnet_free(n);
	return NULL;
}

void mxnet_set_max_answer_age(struct mxnet *n, int seconds)
{
	if (n && seconds >= 0)
		n->max_age_s = seconds;
}

void mxnet_stop(struct mxnet *n)
{
	size_t i;
	if (!n || n->stopped)
		return;
	n->stopped = 1;
	clear_timer(n, &n->timer);
	clear_timer(n, &n->send_timer);
	clear_timer(n, &n->join_timer);
	clear_timer(n, &n->cfg_timer);
	clear_timer(n, &n->prune_timer);
	if (n->http) {
		if (n->req > 0)
			http_cancel(n->http, n->req);
		if (n->join_req > 0)
			http_cancel(n->http, n->join_req);
		if (n->decline_req > 0)
			http_cancel(n->http, n->decline_req);
		for (i = 0; i < n->nq; i++)
			if (n->q[i].req > 0) {
				http_cancel(n->http, n->q[i].req);
				n->q[i].req = 0;
			}
	}
	n->req = n->join_req = n->decline_req = 0;
	n->send_inflight = 0;
	crypto_cancel(n);
	log_info("matrix.%s: stopped (%zu answer(s) waiting in the store)", n->name, n->nq);
}

void mxnet_free(struct mxnet *n)
{
	size_t i;
	if (!n)
		return;
	mxnet_stop(n);
	http_free(n->http);
	batch_free(n);
	for (i = 0; i < n->nq; i++)
		free(n->q[i].p.content);
	for (i = 0; i < n->ndeclines; i++)
		free(n->declines[i]);
	for (i = 0; i < MX_MEMBER_CACHE; i++)
		cJSON_Delete(n->mem[i].users);
	tdq_free(n);
	e2ee_free(n->e2);
	store_free(n->st);
	free(n->base);
	free(n->filter_q);
	free(n->filter_first_q);
	free(n->msg_filter_q);
	memset(&n->acct, 0, sizeof n->acct);
	cfg_free(&n->cfgcopy);
	if (n->has_newcfg)
		cfg_free(&n->newcfg);
	free(n);
}

/* Swaps the new settings in from a timer, never from inside bot_handle:
 * a "!reload" typed in a room runs while this network still reads its
 * policy. */
static void apply_config(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	struct matrix_config *c = &n->newcfg;
	(void)lp;
	n->cfg_timer = 0;
	if (!n->has_newcfg)
		return;
	list_free(&n->cfgcopy.policy.admins);
	list_free(&n->cfgcopy.policy.auto_answer);
	list_free(&n->cfgcopy.policy.ignore);
	list_free(&n->cfgcopy.allowed_inviters);
	n->cfgcopy.policy = c->policy;
	n->cfgcopy.allowed_inviters = c->allowed_inviters;
	n->cfgcopy.sync_timeout = c->sync_timeout;
	n->cfgcopy.reconnect_max = c->reconnect_max;
	memset(&c->policy, 0, sizeof c->policy);
	memset(&c->allowed_inviters, 0, sizeof c->allowed_inviters);
	cfg_free(c);
	n->has_newcfg = 0;
	log_info("matrix.%s: new settings applied", n->name);
}

int mxnet_set_config(struct mxnet *n, const struct matrix_config *cfg)
{
	if (!n || !cfg)
		return -1;
	if (strcmp(cfg->homeserver, n->cfgcopy.homeserver) || strcmp(cfg->user, n->cfgcopy.user))
		log_warn("matrix.%s: homeserver or user changed: restart faqbot to apply it", n->name);
	if (n->has_newcfg)
		cfg_free(&n->newcfg);
	n->has_newcfg = 0;
	if (cfg_copy(&n->newcfg, cfg) < 0)
		return -1;
	n->has_newcfg = 1;
	set_timer(n, &n->cfg_timer, 0, apply_config);
	return 0;
}

/* ---- end-to-end encryption (issue 5): driving e2ee.c ----
 * One crypto request at a time, chosen by crypto_kick in this order: key
 * upload (after a /sync told the counts), cross-signing (once), the
 * device-list catch-up, then the room-key sharing that the oldest
 * encrypted answer waits for (members, /keys/query, /keys/claim,
 * /sendToDevice), after which the answer is encrypted and stored
 * encrypted, and the ordinary sender sends it. */

/* Opens the crypto state at start-up when the store already holds this
 * account's device, so that a wrong pickle key is found before anything
 * is written.  -1: faqbot must stop (logged). */
static int crypto_start_check(struct mxnet *n)
{
	struct store_account a;
	if (!e2ee_pickle_key(n->cfg->pickle_key)) {
		log_error("matrix.%s: e2ee = yes needs a pickle key: set pickle_key in [matrix.%s] or "
			  "FAQBOT_PICKLE_KEY in the environment (there is no default key)", n->name, n->name);
		return -1;
	}
	if (store_account_get(n->st, n->name, &a) != 1 || !a.user_id[0] || !a.device_id[0] ||
	    strcmp(a.homeserver, n->base) || !user_matches(n->cfg->user, a.user_id))
		return 0; /* no device yet: opened (and created) after login */
	n->acct = a;
	if (crypto_open(n) < 0) {
		memset(&n->acct, 0, sizeof n->acct);
		return -1;
	}
	memset(&n->acct, 0, sizeof n->acct);
	return 0;
}

static int crypto_open(struct mxnet *n)
{
	char err[512], owner[512], v[256];
	if (!n->acct.device_id[0]) {
		/* whoami without a device_id (an old homeserver): keys belong
		 * to a device, and uploading them for "" makes no sense. */
		log_error("matrix.%s: end-to-end encryption needs a device id, and the homeserver "
			  "gave none for this access token", n->name);
		return -1;
	}
	snprintf(owner, sizeof owner, "%s|%s", n->acct.user_id, n->acct.device_id);
	if (n->e2 && !strcmp(owner, n->e2_owner))
		return 0;
	e2ee_free(n->e2);
	n->e2 = e2ee_open(store_db(n->st), n->acct.user_id, n->acct.device_id,
			  e2ee_pickle_key(n->cfg->pickle_key), err, sizeof err);
	if (!n->e2) {
		log_error("matrix.%s: %s", n->name, err);
		return -1;
	}
	snprintf(n->e2_owner, sizeof n->e2_owner, "%s", owner);
	e2ee_set_room_filter(n->e2, room_joined_cb, n);
	/* to-device messages held by an earlier run: queried for again */
	n->td_waiting = store_held_count(n->st, n->td_net) > 0;
	log_info("matrix.%s: end-to-end encryption on for device %s (curve25519 %s, ed25519 %s)",
		 n->name, n->acct.device_id, e2ee_curve25519(n->e2), e2ee_ed25519(n->e2));
	/* Cross-signed: the device it was done for (a new device after a
	 * re-login is cross-signed again; "done" from older versions too). */
	n->xsign_done = store_kv_get(n->st, n->name, "xsign", v, sizeof v) == 1 &&
			!strcmp(v, n->acct.device_id);
	/* Device lists known up to devtoken; a newer sync token means they
	 * were not followed meanwhile (e2ee was off): catch up with
	 * /keys/changes.  Normally both are saved in the same transaction. */
	n->changes_pending = store_kv_get(n->st, n->name, "devlists", n->devtoken, sizeof n->devtoken) == 1 &&
			  n->have_since && strcmp(n->devtoken, n->since);
	n->upload_check = 1;
	return 0;
}

static void crypto_cancel(struct mxnet *n)
{
	if (n->cr_req > 0 && n->http)
		http_cancel(n->http, n->cr_req);
	n->cr_req = 0;
	n->cr_op = CR_NONE;
	clear_timer(n, &n->cr_timer);
	free(n->share_body);
	n->share_body = NULL;
	free(n->td_body);
	n->td_body = NULL;
	n->uw_cur = -1;
	n->prep_queried = n->prep_claimed = 0;
}

static void crypto_timer_cb(struct loop *lp, void *arg)
{
	struct mxnet *n = arg;
	(void)lp;
	n->cr_timer = 0;
	crypto_kick(n);
}

static void crypto_backoff(struct mxnet *n, const char *what, const char *why)
{
	int64_t ms = mx_backoff_ms(n->cr_fails++, (int64_t)n->cfg->reconnect_max * 1000, rnd(n));
	log_warn("matrix.%s: %s failed (%s); retrying in %.1f s", n->name, what, why, ms / 1000.0);
	set_timer(n, &n->cr_timer, ms, crypto_timer_cb);
}

static void on_crypto(void *arg, const struct http_resp *r);

static void crypto_request(struct mxnet *n, enum crypto_op op, const char *method, const char *path,
			   const char *query, const char *body)
{
	n->cr_op = op;
	n->cr_req = request(n, method, path, query, body, MX_SMALL_MAX_BODY, 60000, 1, on_crypto, n);
	if (n->cr_req <= 0) {
		n->cr_req = 0;
		n->cr_op = CR_NONE;
		/* A share that never left: the retry makes a new body, and
		 * would otherwise overwrite (leak) this one. */
		free(n->share_body);
		n->share_body = NULL;
		crypto_backoff(n, "a crypto request", "cannot start the request");
	}
}

/* ---- the batch: to-device messages, device lists, held events ---- */

static void keyed_add(struct mxnet *n, const char *room_id)
{
	int i;
	for (i = 0; i < n->nkeyed; i++)
		if (!strcmp(n->keyed[i], room_id))
			return;
	if (n->nkeyed >= MX_KEYED_ROOMS || strlen(room_id) >= sizeof n->keyed[0]) {
		n->keyed_all = 1;
		return;
	}
	snprintf(n->keyed[n->nkeyed++], sizeof n->keyed[0], "%s", room_id);
}

/* Queues a /sendToDevice (body {"messages":...}); crypto_kick sends it. */
static void tdq_add(struct mxnet *n, const char *type, char *body, const char *what)
{
	if (!body)
		return;
	if (n->ntdq >= MX_TDQ_MAX) {
		log_warn("matrix.%s: %d to-device messages wait already: %s not sent", n->name, MX_TDQ_MAX, what);
		free(body);
		return;
	}
	n->tdq[n->ntdq].type = strdup(type);
	n->tdq[n->ntdq].body = body;
	snprintf(n->tdq[n->ntdq].what, sizeof n->tdq[0].what, "%s", what);
	if (!n->tdq[n->ntdq].type) {
		free(body);
		return;
	}
	n->ntdq++;
}

static void tdq_free(struct mxnet *n)
{
	int i;
	for (i = 0; i < n->ntdq; i++) {
		free(n->tdq[i].type);
		free(n->tdq[i].body);
	}
	n->ntdq = 0;
	free(n->td_body);
	n->td_body = NULL;
}

/* {"messages":{user:{device:content}}} (content taken). */
static char *td_body(const char *user, const char *device, cJSON *content)
{
	cJSON *b = cJSON_CreateObject();
	char *out;
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(b, "messages"), user), device,
			      content);
	out = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return out;
}

/* The session came: cancel our request for it, if any. */
static void keyreq_cancel(struct mxnet *n, const char *session_id)
{
	char user[256];
	cJSON *c = e2ee_key_request_cancel(n->e2, session_id, user, sizeof user);
	if (c)
		tdq_add(n, "m.room_key_request", td_body(user, "*", c), "a key request cancellation");
}

/* An Olm message from a pinned device that no session decrypts: a new
 * session and an m.dummy over it (spec, "Recovering from undecryptable
 * messages"), at most once an hour per device. */
static void unwedge_add(struct mxnet *n, const char *user, const cJSON *it)
{
	const char *skey = mx_str(mx_obj(it, "content"), "sender_key");
	char dev[128];
	int i, slot = -1;
	int64_t now = loop_now_ms(n->lp);
	if (!skey || strlen(user) >= sizeof n->uw[0].user ||
	    e2ee_device_for_key(n->e2, user, skey, dev, sizeof dev) != 1)
		return;
	for (i = 0; i < MX_UNWEDGE_MAX; i++) {
		struct unwedge *u = &n->uw[i];
		if (!strcmp(u->user, user) && !strcmp(u->device, dev)) {
			if (u->pending || now - u->at < MX_UNWEDGE_AGAIN_MS)
				return;
			slot = i;
			break;
		}
		if (!u->pending && (slot < 0 || u->at < n->uw[slot].at))
			slot = i;
	}
	if (slot < 0) {
		log_warn("matrix.%s: %d Olm repairs wait already; %s of %s not repaired now", n->name,
			 MX_UNWEDGE_MAX, dev, user);
		return;
	}
	snprintf(n->uw[slot].user, sizeof n->uw[slot].user, "%s", user);
	snprintf(n->uw[slot].device, sizeof n->uw[slot].device, "%s", dev);
	n->uw[slot].at = now;
	n->uw[slot].pending = 1;
	log_info("matrix.%s: the Olm session with %s of %s is broken: making a new one", n->name, dev, user);
}

/* An unencrypted m.room_key_request: answered for our own sessions to
 * devices that received them (e2ee_key_request_answer decides). */
static void key_request_in(struct mxnet *n, const cJSON *it, const char *sender)
{
	const cJSON *c = mx_obj(it, "content");
	const char *action = mx_str(c, "action");
	char err[256] = "", *body;
	if (!action || strcmp(action, "request"))
		return; /* cancellations: nothing is queued long enough to withdraw */
	if (!(body = e2ee_key_request_answer(n->e2, it, err, sizeof err))) {
		log_info("matrix.%s: room-key request from %s not answered: %s", n->name, sender, err);
		return;
	}
	log_info("matrix.%s: room-key request from %s (device %s) answered", n->name, sender,
		 mx_str(c, "requesting_device_id") ? mx_str(c, "requesting_device_id") : "?");
	tdq_add(n, "m.room.encrypted", body, "a forwarded room key");
}

/* Holds a to-device message whose sender key is not (yet) a pinned device
 * of its sender, and asks for the sender's devices (issue 10). */
static void td_hold(struct mxnet *n, const cJSON *it, const char *sender, const char *why)
{
	char *text = cJSON_PrintUnformatted(it), id[256], dropped[256];
	const cJSON *c = mx_obj(it, "content");
	const char *skey = mx_str(c, "sender_key");
	const cJSON *ct = mx_obj(c, "ciphertext");
	const char *body = ct && ct->child ? mx_str(ct->child, "body") : NULL;
	int rc, k;
	struct store_held *h = malloc(sizeof *h * MX_TD_HELD_SENDER);
	/* one sender cannot push the others' messages out */
	k = h ? store_held_list(n->st, n->td_net, sender, h, MX_TD_HELD_SENDER) : -1;
	for (rc = 0; rc < k; rc++)
		free(h[rc].event);
	free(h);
	if (k < 0 || k >= MX_TD_HELD_SENDER) {
		free(text);
		log_warn("matrix.%s: to-device message from %s dropped: %d of its messages already wait "
			 "for its devices (%s)", n->name, sender, MX_TD_HELD_SENDER, why);
		if (k >= 0)
			n->td_waiting = 1;
		return;
	}
	/* no event id on to-device messages: the key and the ciphertext's
	 * start name it (the ratchet key and counter make it unique) */
	snprintf(id, sizeof id, "td:%.60s:%.120s", skey ? skey : "", body ? body : "");
	rc = text && strlen(sender) < 256 ? store_held_add(n->st, n->td_net, sender, id, text, wall_ms(),
							   MX_TD_HELD_MAX, dropped, sizeof dropped) : -1;
	free(text);
	if (rc < 0) {
		log_warn("matrix.%s: to-device message from %s cannot be held (%s)", n->name, sender, why);
		return;
	}
	if (rc == 1)
		log_warn("matrix.%s: %d to-device messages already wait for their senders' devices: "
			 "the oldest is dropped", n->name, MX_TD_HELD_MAX);
	if (e2ee_user_refresh(n->e2, sender) < 0)
		log_warn("matrix.%s: cannot mark the devices of %s for a query", n->name, sender);
	log_info("matrix.%s: to-device message from %s held until its devices are queried: %s",
		 n->name, sender, why);
	n->td_waiting = 1;
}

/* Decrypts and takes one to-device message.  held: it comes from the held
 * table (an unknown device is then left to the caller).  Returns the
 * e2ee status. */
static int to_device_one(struct mxnet *n, const cJSON *it, int held)
{
	const char *type = mx_str(it, "type"), *sender = mx_str(it, "sender"), *ptype, *room;
	char err[256] = "";
	int st = E2EE_FAIL;
	cJSON *pl;
	if (!type || !sender)
		return E2EE_FAIL;
	if (strcmp(type, "m.room.encrypted")) {
		if (!strcmp(type, "m.room_key") || !strcmp(type, "m.forwarded_room_key"))
			log_warn("matrix.%s: unencrypted %s from %s ignored (room keys are taken only "
				 "over Olm)", n->name, type, sender);
		else if (!strcmp(type, "m.room_key_request") && strcmp(sender, n->acct.user_id))
			key_request_in(n, it, sender);
		return E2EE_FAIL;
	}
	if (!(pl = e2ee_olm_decrypt_st(n->e2, it, &st, err, sizeof err))) {
		if (st == E2EE_UNKNOWN_DEVICE) {
			if (!held)
				td_hold(n, it, sender, err);
			return st;
		}
		if (st == E2EE_WEDGED)
			unwedge_add(n, sender, it);
		log_warn("matrix.%s: to-device message from %s not decrypted: %s", n->name, sender, err);
		return st;
	}
	ptype = mx_str(pl, "type");
	room = mx_str(mx_obj(pl, "content"), "room_id");
	if (ptype && (!strcmp(ptype, "m.room_key") || !strcmp(ptype, "m.forwarded_room_key")) && room) {
		const char *sid = mx_str(mx_obj(pl, "content"), "session_id");
		log_info("matrix.%s: %s for %s from %s (session %.12s)", n->name,
			 ptype[2] == 'f' ? "forwarded room key" : "room key", room, sender, sid ? sid : "?");
		keyed_add(n, room);
		if (sid)
			keyreq_cancel(n, sid);
	} else {
		log_debug("matrix.%s: to-device %s from %s", n->name, ptype ? ptype : "?", sender);
	}
	cJSON_Delete(pl);
	return E2EE_OK;
}

static void to_device(struct mxnet *n, const cJSON *it)
{
	to_device_one(n, it, 0);
}

/* Room keys are stored only for rooms the bot is in or joining, or that
 * this batch shows it in (issue 10). */
static int room_joined_cb(void *arg, const char *room_id)
{
	struct mxnet *n = arg;
	struct store_room r;
	if (store_room_get(n->st, n->name, room_id, &r) == 1 && r.joined != STORE_LEFT)
		return 1;
	return n->batch && mx_obj(mx_obj(mx_obj(n->batch, "rooms"), "join"), room_id) != NULL;
}

static void crypto_batch_pre(struct mxnet *n)
{
	const cJSON *dl, *it;
	n->nkeyed = n->keyed_all = 0;
	if (!n->e2)
		return;
	dl = mx_obj(n->batch, "device_lists");
	if (dl && e2ee_users_changed(n->e2, mx_arr(dl, "changed"), mx_arr(dl, "left")) < 0)
		log_warn("matrix.%s: device list changes not recorded (state file error)", n->name);
	cJSON_ArrayForEach(it, mx_arr(mx_obj(n->batch, "to_device"), "events"))
		to_device(n, it);
}

/* Decrypts evj (the event as mx_event_json makes it) of n->room_id and
 * handles the plaintext as any message.  NO_SESSION: held when hold is
 * set.  Returns the e2ee status. */
static int decrypt_handle(struct mxnet *n, const cJSON *evj, const struct mx_event *ev, int hold)
{
	char err[256] = "", dropped[256];
	int st = E2EE_FAIL;
	cJSON *pl = e2ee_megolm_decrypt(n->e2, n->room_id, evj, &st, err, sizeof err);
	if (pl) {
		cJSON *dec = mx_decrypted_event(ev, pl);
		struct mx_event m;
		if (dec && mx_event_parse(dec, &m) == 0 && !strcmp(m.type, "m.room.message")) {
			n->dec_verified = 1;
			handle_message(n, &m);
			n->dec_verified = 0;
		}
		cJSON_Delete(dec);
		cJSON_Delete(pl);
		return E2EE_OK;
	}
	if (st == E2EE_NO_SESSION && hold) {
		char *text = cJSON_PrintUnformatted(evj);
		int rc = text ? store_held_add(n->st, n->name, n->room_id, ev->event_id, text,
					       wall_ms(), MX_HELD_MAX, dropped, sizeof dropped) : -1;
		free(text);
		if (rc < 0)
			log_warn("matrix.%s: %s: %s cannot be held for its key (state file error)",
				 n->name, n->room_id, ev->event_id);
		else
			log_info("matrix.%s: %s: %s waits for its room key (held)", n->name, n->room_id,
				 ev->event_id);
		if (rc == 1)
			log_warn("matrix.%s: %d events already wait for their keys: the oldest, %s, "
				 "is dropped", n->name, MX_HELD_MAX, dropped);
		if (rc >= 0) {
			/* ask the sender's devices for it (m.room_key_request),
			 * once an hour per session */
			char reqid[64];
			const char *sid = mx_str(ev->content, "session_id");
			cJSON *req = e2ee_key_request(n->e2, n->room_id, ev->sender,
						      mx_str(ev->content, "sender_key"), sid, wall_ms(),
						      reqid, sizeof reqid);
			if (req) {
				log_info("matrix.%s: %s: asking %s's devices for room key %.12s (request %s)",
					 n->name, n->room_id, ev->sender, sid, reqid);
				tdq_add(n, "m.room_key_request", td_body(ev->sender, "*", req), "a room-key request");
			}
		}
	} else if (st == E2EE_UNKNOWN_DEVICE) {
		log_warn("matrix.%s: %s: %s from %s dropped: %s", n->name, n->room_id, ev->event_id,
			 ev->sender, err);
	} else if (st != E2EE_NO_SESSION) {
		log_warn("matrix.%s: %s: %s not decrypted: %s", n->name, n->room_id, ev->event_id, err);
	}
	return st;
}

static void encrypted_event(struct mxnet *n, const struct mx_event *ev)
{
	cJSON *evj;
	if (!strcmp(ev->sender, n->acct.user_id) || n->initial || n->before_join)
		return;
	if (!n->room.encrypted) {
		/* An encrypted event proves the room is: never answer it in clear. */
		n->room.encrypted = 1;
		room_save(n);
	}
	if (wall_ms() - ev->ts > (int64_t)n->max_age_s * 1000 ||
	    store_answer_known(n->st, n->name, ev->event_id) != 0 || strlen(ev->event_id) > 255)
		return;
	if (!(evj = mx_event_json(ev)))
		return;
	decrypt_handle(n, evj, ev, 1);
	cJSON_Delete(evj);
}

static void members_drop(struct mxnet *n, const char *room_id)
{
	int i;
	for (i = 0; i < MX_MEMBER_CACHE; i++)
		if (n->mem[i].users && !strcmp(n->mem[i].room, room_id)) {
			cJSON_Delete(n->mem[i].users);
			memset(&n->mem[i], 0, sizeof n->mem[i]);
		}
}

static const cJSON *members_get(struct mxnet *n, const char *room_id)
{
	int i;
	for (i = 0; i < MX_MEMBER_CACHE; i++)
		if (n->mem[i].users && !strcmp(n->mem[i].room, room_id)) {
			if (loop_now_ms(n->lp) - n->mem[i].at < MX_MEMBER_TTL_MS)
				return n->mem[i].users;
			members_drop(n, room_id);
			return NULL;
		}
	return NULL;
}

static void members_set(struct mxnet *n, const char *room_id, cJSON *users)
{
	int i, slot = 0;
	members_drop(n, room_id);
	for (i = 0; i < MX_MEMBER_CACHE; i++) {
		if (!n->mem[i].users) {
			slot = i;
			break;
		}
		if (n->mem[i].at < n->mem[slot].at)
			slot = i;
	}
	cJSON_Delete(n->mem[slot].users);
	snprintf(n->mem[slot].room, sizeof n->mem[slot].room, "%s", room_id);
	n->mem[slot].users = users;
	n->mem[slot].at = loop_now_ms(n->lp);
}

/* Another user's membership changed: the member list is re-read before
 * the next encrypted answer; a member who left must not read what comes
 * next, so the room's Megolm session is replaced (spec, "Rotating
 * sessions"). */
static void other_member(struct mxnet *n, const char *room_id, const struct mx_event *ev, int is_state)
{
	members_drop(n, room_id);
	if (!n->e2 || !ev->membership || !n->room.encrypted)
		return;
	if (!strcmp(ev->membership, "join")) {
		cJSON *u = cJSON_CreateArray();
		if (u && cJSON_AddItemToArray(u, cJSON_CreateString(ev->state_key)))
			e2ee_users_track(n->e2, u);
		cJSON_Delete(u);
	} else if (!is_state && !n->initial &&
		   (!strcmp(ev->membership, "leave") || !strcmp(ev->membership, "ban"))) {
		if (e2ee_room_rotate(n->e2, room_id) == 0)
			log_info("matrix.%s: %s left %s: its Megolm session is replaced", n->name,
				 ev->state_key, room_id);
	}
}

/* Events held in room (n->room_id set by the caller) whose key came. */
static void retry_held_room(struct mxnet *n, const char *room)
{
	struct store_held *h = malloc(sizeof *h * MX_HELD_RETRY);
	char rid[256];
	int k, i, answered = 0;
	if (!h)
		return;
	k = store_held_list(n->st, n->name, room, h, MX_HELD_RETRY);
	for (i = 0; i < k; i++) {
		char err[160];
		cJSON *j = mx_json_parse(h[i].event, strlen(h[i].event), err, sizeof err);
		struct mx_event ev;
		int st = E2EE_FAIL;
		snprintf(rid, sizeof rid, "%s", h[i].room_id);
		n->room_id = rid;
		if (store_room_get(n->st, n->name, rid, &n->room) < 0)
			memset(&n->room, 0, sizeof n->room);
		n->before_join = 0;
		if (j && mx_event_parse(j, &ev) == 0)
			st = decrypt_handle(n, j, &ev, 0);
		if (st != E2EE_NO_SESSION) {
			store_held_del(n->st, h[i].id);
			answered += st == E2EE_OK;
		}
		cJSON_Delete(j);
		free(h[i].event);
	}
	if (answered)
		log_info("matrix.%s: %d held event(s) decrypted after their key came", n->name, answered);
	n->room_id = NULL;
	free(h);
}

static void crypto_batch_post(struct mxnet *n)
{
	int i;
	if (!n->e2)
		return;
	if (n->keyed_all)
		retry_held_room(n, NULL);
	else
		for (i = 0; i < n->nkeyed; i++)
			retry_held_room(n, n->keyed[i]);
	if (!n->changes_pending && store_kv_set(n->st, n->name, "devlists", n->batch_next) == 0)
		snprintf(n->devtoken, sizeof n->devtoken, "%s", n->batch_next);
}

/* After a /keys/query: the to-device messages held for their senders'
 * devices (issue 10).  A sender whose devices are now known: taken (a
 * room key then releases the events held for it); still unknown although
 * the list was just read: dropped and logged; still outdated (the query
 * did not cover them): kept for the next query. */
static void td_retry(struct mxnet *n)
{
	struct store_held *h;
	int k, i, left = 0, answers0 = n->answers_added;
	if (!n->e2 || !(h = malloc(sizeof *h * MX_TD_RETRY)))
		return;
	if (store_begin(n->st) < 0) {
		free(h);
		return;
	}
	n->nkeyed = n->keyed_all = 0;
	n->answers_added = 0;
	k = store_held_list(n->st, n->td_net, NULL, h, MX_TD_RETRY);
	for (i = 0; i < k; i++) {
		char err[160];
		cJSON *j = mx_json_parse(h[i].event, strlen(h[i].event), err, sizeof err);
		int st = j ? to_device_one(n, j, 1) : E2EE_FAIL;
		if (st == E2EE_UNKNOWN_DEVICE && e2ee_user_outdated(n->e2, h[i].room_id) == 1) {
			left++;
		} else {
			if (st == E2EE_UNKNOWN_DEVICE)
				log_warn("matrix.%s: to-device message from %s dropped: its sender key is "
					 "not a device %s lists", n->name, h[i].room_id, h[i].room_id);
			store_held_del(n->st, h[i].id);
		}
		cJSON_Delete(j);
		free(h[i].event);
	}
	free(h);
	if (n->keyed_all)
		retry_held_room(n, NULL);
	else
		for (i = 0; i < n->nkeyed; i++)
			retry_held_room(n, n->keyed[i]);
	n->nkeyed = n->keyed_all = 0;
	if (store_commit(n->st) < 0) {
		store_rollback(n->st);
		n->answers_added = answers0;
		return;
	}
	n->td_waiting = left > 0 || k == MX_TD_RETRY;
	if (n->answers_added)
		kick_sender(n);
	n->answers_added += answers0;
}

/* After a batch: the key counts it gave, unless the sync left before our
 * last upload was acknowledged (its counts would be stale and make us
 * upload keys the server already has). */
static void crypto_counts(struct mxnet *n)
{
	long c;
	int f;
	if (!n->e2 || n->batch_sent_ms < n->upload_done_ms)
		return;
	c = mx_otk_count(n->batch);
	f = mx_fallback_unused(n->batch);
	if (c >= 0)
		n->otk_count = c;
	if (f >= 0)
		n->fb_unused = f;
	n->upload_check = 1;
}

/* ---- answers waiting for encryption ---- */

static int q_needs_crypto(struct mxnet *n, struct sendq *q)
{
	/* Only "encrypted" is remembered (it never turns off): a room that
	 * was plain when the answer was queued may have turned encrypted
	 * since (an m.room.encryption in a later batch, while a failed send
	 * waited for its retry), and the answer must not then go out in
	 * clear. */
	if (q->enc != 2) {
		struct store_room r;
		q->enc = store_room_get(n->st, n->name, q->p.room_id, &r) == 1 && r.encrypted ? 2 : 1;
	}
	return q->enc == 2;
}

static struct sendq *q_by_event(struct mxnet *n, const char *event_id)
{
	size_t i;
	for (i = 0; i < n->nq; i++)
		if (!strcmp(n->q[i].p.event_id, event_id))
			return &n->q[i];
	return NULL;
}

/* The room key is shared: encrypt the answer and store the ciphertext in
 * the transaction that also keeps the Megolm ratchet's advance, so a
 * re-send after a crash sends these very bytes (see store.h). */
static int prep_finish(struct mxnet *n, struct sendq *q)
{
	char err[160];
	cJSON *c = mx_json_parse(q->p.content, strlen(q->p.content), err, sizeof err);
	char *ct = NULL;
	if (!c || store_begin(n->st) < 0) {
		cJSON_Delete(c);
		return -1;
	}
	ct = e2ee_megolm_encrypt(n->e2, q->p.room_id, "m.room.message", c);
	cJSON_Delete(c);
	if (!ct || store_answer_encrypted(n->st, n->name, q->p.event_id, ct) < 0 ||
	    store_commit(n->st) < 0) {
		store_rollback(n->st);
		free(ct);
		return -1;
	}
	free(q->p.content);
	q->p.content = ct;
	q->p.encrypted = 1;
	log_debug("matrix.%s: answer to %s encrypted", n->name, q->p.event_id);
	return 0;
}

static char *txn_for_share(struct mxnet *n)
{
	char *t = malloc(96);
	if (t)
		snprintf(t, 96, "fbk.%lld.%lu.%08x", (long long)wall_ms(), ++n->share_seq, rnd(n));
	return t;
}

static int count_devices(const char *body)
{
	cJSON *j = cJSON_Parse(body), *u;
	int k = 0;
	cJSON_ArrayForEach(u, mx_obj(j, "messages"))
		k += cJSON_GetArraySize(u);
	cJSON_Delete(j);
	return k;
}

/* One step for the oldest answer that waits for encryption.  1 when it was
 * encrypted right away (try the next), 0 otherwise. */
static int prep_step(struct mxnet *n)
{
	struct sendq *q = n->prep_event[0] ? q_by_event(n, n->prep_event) : NULL;
	const cJSON *users;
	struct store_room room;
	char *body, rid[800], path[1000];
	size_t i;
	if (!q || q->p.encrypted || q->req > 0) {
		n->prep_event[0] = 0;
		q = NULL;
		for (i = 0; i < n->nq && !q; i++)
			if (!n->q[i].p.encrypted && !n->q[i].req && q_needs_crypto(n, &n->q[i]))
				q = &n->q[i];
		if (!q)
			return 0;
		snprintf(n->prep_event, sizeof n->prep_event, "%s", q->p.event_id);
		snprintf(n->prep_room, sizeof n->prep_room, "%s", q->p.room_id);
		n->prep_queried = n->prep_claimed = 0;
	}
	if (!(users = members_get(n, n->prep_room))) {
		if (mx_url_escape(n->prep_room, rid, sizeof rid) < 0)
			return 0;
		snprintf(path, sizeof path, "/rooms/%s/joined_members", rid);
		crypto_request(n, CR_MEMBERS, "GET", path, NULL, NULL);
		return 0;
	}
	if (e2ee_users_track(n->e2, users) < 0)
		log_warn("matrix.%s: cannot record the members of %s to track", n->name, n->prep_room);
	if (!n->prep_queried && (body = e2ee_keys_query_body(n->e2))) {
		n->prep_queried = 1;
		crypto_request(n, CR_QUERY, "POST", "/keys/query", NULL, body);
		free(body);
		return 0;
	}
	if (!n->prep_claimed && (body = e2ee_keys_claim_body(n->e2, users))) {
		n->prep_claimed = 1;
		crypto_request(n, CR_CLAIM, "POST", "/keys/claim", NULL, body);
		free(body);
		return 0;
	}
	if (store_room_get(n->st, n->name, n->prep_room, &room) < 0)
		memset(&room, 0, sizeof room);
	body = e2ee_room_key_share_body(n->e2, n->prep_room, users, (long)room.rot_msgs, room.rot_ms,
					wall_ms(), n->share_sid, sizeof n->share_sid);
	if (body) {
		char *txn = txn_for_share(n), tq[200];
		if (!txn || mx_url_escape(txn, tq, sizeof tq) < 0) {
			free(txn);
			free(body);
			return 0;
		}
		snprintf(path, sizeof path, "/sendToDevice/m.room.encrypted/%s", tq);
		free(txn);
		n->share_body = body;
		crypto_request(n, CR_SHARE, "PUT", path, NULL, body);
		return 0;
	}
	if (prep_finish(n, q) < 0) {
		crypto_backoff(n, "encrypting an answer", "no outbound session or state file error");
		return 0;
	}
	n->prep_event[0] = 0;
	/* Sent by kick_sender from a timer: no recursion through it. */
	set_timer(n, &n->send_timer, 0, send_timer_cb);
	return 1;
}

static void xsign_start(struct mxnet *n, int with_auth, const char *session)
{
	char err[256] = "", *body = e2ee_xsign_upload_body(n->e2, err, sizeof err), *full;
	cJSON *b;
	if (!body) {
		log_warn("matrix.%s: cross-signing keys not made (%s); not cross-signed", n->name, err);
		n->xsign_done = 1;
		return;
	}
	if (!with_auth) {
		crypto_request(n, CR_XSIGN, "POST", "/keys/device_signing/upload", NULL, body);
		free(body);
		return;
	}
	/* Interactive auth (spec, "User-interactive authentication"):
	 * m.login.password with the account's password. */
	b = cJSON_Parse(body);
	free(body);
	if (b) {
		cJSON *auth = cJSON_AddObjectToObject(b, "auth"), *id;
		cJSON_AddStringToObject(auth, "type", "m.login.password");
		id = cJSON_AddObjectToObject(auth, "identifier");
		cJSON_AddStringToObject(id, "type", "m.id.user");
		cJSON_AddStringToObject(id, "user", n->acct.user_id);
		cJSON_AddStringToObject(auth, "password", n->cfg->password);
		if (session)
			cJSON_AddStringToObject(auth, "session", session);
	}
	full = b ? cJSON_PrintUnformatted(b) : NULL;
	if (b) {
		cJSON *pw = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "auth"),
							     "password");
		if (cJSON_IsString(pw))
			memset(pw->valuestring, 0, strlen(pw->valuestring));
	}
	cJSON_Delete(b);
	if (!full) {
		n->xsign_done = 1;
		return;
	}
	n->xsign_auth = 1;
	crypto_request(n, CR_XSIGN, "POST", "/keys/device_signing/upload", NULL, full);
	memset(full, 0, strlen(full));
	free(full);
}

static void crypto_kick(struct mxnet *n)
{
	char err[256];
	int i;
	if (!n->e2 || n->stopped || n->cr_req > 0 || n->cr_timer > 0 || !n->acct.access_token[0] ||
	    !n->acct.user_id[0])
		return;
	if (n->synced_once && n->upload_check) {
		char *body;
		err[0] = 0;
		n->upload_check = 0;
		body = e2ee_keys_upload_body(n->e2, n->otk_count, n->fb_unused, wall_ms(), err, sizeof err);
		if (body) {
			crypto_request(n, CR_UPLOAD, "POST", "/keys/upload", NULL, body);
			free(body);
			return;
		}
		if (err[0])
			log_warn("matrix.%s: keys not uploaded: %s", n->name, err);
		else
			n->keys_ok = 1;
	}
	if (n->keys_ok && !n->xsign_done) {
		if (!n->cfg->password) {
			log_info("matrix.%s: cross-signing skipped: uploading cross-signing keys needs "
				 "the account password (interactive auth), and only an access_token is "
				 "configured; clients that require cross-signed devices will not send "
				 "keys to this bot", n->name);
			n->xsign_done = 1;
		} else {
			n->xsign_auth = 0;
			xsign_start(n, 0, NULL);
			if (n->cr_req > 0)
				return;
		}
	}
	if (n->changes_pending && n->have_since) {
		char from[3200], to[3200], query[6500];
		snprintf(n->changes_to, sizeof n->changes_to, "%s", n->since);
		if (mx_url_escape(n->devtoken, from, sizeof from) == 0 &&
		    mx_url_escape(n->changes_to, to, sizeof to) == 0) {
			snprintf(query, sizeof query, "from=%s&to=%s", from, to);
			crypto_request(n, CR_CHANGES, "GET", "/keys/changes", query, NULL);
			return;
		}
		n->changes_pending = 0;
	}
	for (i = 0; i < MX_UNWEDGE_MAX; i++) {
		char *body;
		if (!n->uw[i].pending)
			continue;
		n->uw[i].pending = 0;
		if (!(body = e2ee_unwedge_claim_body(n->e2, n->uw[i].user, n->uw[i].device)))
			continue;
		n->uw_cur = i;
		crypto_request(n, CR_UNWEDGE, "POST", "/keys/claim", NULL, body);
		free(body);
		if (n->cr_req > 0)
			return;
		n->uw_cur = -1;
	}
	if (n->ntdq) {
		char *txn = txn_for_share(n), tq[200], path[400];
		struct tdmsg m = n->tdq[0];
		memmove(&n->tdq[0], &n->tdq[1], (size_t)(n->ntdq - 1) * sizeof n->tdq[0]);
		n->ntdq--;
		if (txn && mx_url_escape(txn, tq, sizeof tq) == 0) {
			snprintf(path, sizeof path, "/sendToDevice/%s/%s", m.type, tq);
			n->td_body = m.body;
			m.body = NULL;
			log_debug("matrix.%s: sending %s", n->name, m.what);
			crypto_request(n, CR_TODEVICE, "PUT", path, NULL, n->td_body);
			if (n->cr_req <= 0) {
				free(n->td_body);
				n->td_body = NULL;
			}
		}
		free(txn);
		free(m.type);
		free(m.body);
		if (n->cr_req > 0 || n->cr_timer > 0)
			return;
	}
	if (n->td_waiting) {
		char *body = e2ee_keys_query_body(n->e2);
		if (body) {
			n->td_query = 1;
			crypto_request(n, CR_QUERY, "POST", "/keys/query", NULL, body);
			free(body);
			if (n->cr_req > 0)
				return;
			n->td_query = 0;
		} else {
			td_retry(n); /* nobody outdated: decide now */
		}
	}
	while (n->cr_req <= 0 && n->cr_timer <= 0 && prep_step(n))
		;
}

static void on_crypto(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	enum crypto_op op = n->cr_op;
	cJSON *j = parse_small(r);
	char why[320], err[256] = "";
	struct sendq *q;
	n->cr_req = 0;
	n->cr_op = CR_NONE;
	if (r->status == 401 && is_errcode(j, "M_UNKNOWN_TOKEN")) {
		cJSON_Delete(j);
		session_lost(n);
		return;
	}
	if (r->status == 429) {
		set_timer(n, &n->cr_timer, mx_retry_after_ms(j, r->retry_after_ms), crypto_timer_cb);
		if (op == CR_UPLOAD)
			n->upload_check = 1;
		if (op == CR_QUERY && !n->td_query)
			n->prep_queried = 0;
		n->td_query = 0;
		if (op == CR_CLAIM)
			n->prep_claimed = 0;
		if (op == CR_SHARE) {
			free(n->share_body);
			n->share_body = NULL;
		}
		if (op == CR_TODEVICE) {
			/* rate-limited: this one is not retried (a key request
			 * is made again for the next held event after an hour) */
			log_warn("matrix.%s: a to-device message was rate-limited and dropped", n->name);
			free(n->td_body);
			n->td_body = NULL;
		}
		if (op == CR_UNWEDGE && n->uw_cur >= 0)
			n->uw[n->uw_cur].pending = 1; /* claimed again after the pause */
		n->uw_cur = -1;
		cJSON_Delete(j);
		return;
	}
	describe(r, j, why, sizeof why);
	switch (op) {
	case CR_UPLOAD:
		if (r->status == 200) {
			long c = e2ee_keys_upload_done(n->e2, r->body, r->len);
			n->upload_done_ms = loop_now_ms(n->lp);
			if (c >= 0)
				n->otk_count = c;
			n->fb_unused = 1;
			n->cr_fails = 0;
			/* The first upload of a run is worth a line; top-ups are not. */
			if (n->keys_ok)
				log_debug("matrix.%s: one-time keys topped up (%ld on the server)", n->name, c);
			else
				log_info("matrix.%s: keys uploaded (%ld one-time keys on the server)", n->name, c);
			n->keys_ok = 1;
		} else {
			n->upload_check = 1; /* the same unpublished keys go again */
			crypto_backoff(n, "/keys/upload", why);
		}
		break;
	case CR_XSIGN:
		if (r->status == 200) {
			char *b = e2ee_xsign_signatures_body(n->e2, err, sizeof err);
			if (b) {
				crypto_request(n, CR_XSIGN_SIGS, "POST", "/keys/signatures/upload", NULL, b);
				free(b);
			} else {
				log_warn("matrix.%s: cross-signing: %s", n->name, err);
				n->xsign_done = 1;
			}
		} else if (r->status == 401 && !n->xsign_auth && mx_str(j, "session")) {
			xsign_start(n, 1, mx_str(j, "session"));
		} else if (r->status == 401 && !n->xsign_auth && mx_arr(j, "flows")) {
			xsign_start(n, 1, NULL);
		} else {
			log_warn("matrix.%s: cross-signing keys refused (%s); the device stays "
				 "uncross-signed until a restart", n->name, why);
			n->xsign_done = 1;
		}
		break;
	case CR_XSIGN_SIGS:
		n->xsign_done = 1;
		if (r->status == 200 && !(mx_obj(j, "failures") && mx_obj(j, "failures")->child)) {
			store_kv_set(n->st, n->name, "xsign", n->acct.device_id);
			log_info("matrix.%s: device %s cross-signed (master and self-signing keys "
				 "uploaded)", n->name, n->acct.device_id);
		} else {
			log_warn("matrix.%s: the device signature was refused (%s)", n->name,
				 r->status == 200 ? "failures in the answer" : why);
		}
		break;
	case CR_CHANGES:
		if (r->status == 200) {
			if (e2ee_users_changed(n->e2, mx_arr(j, "changed"), mx_arr(j, "left")) == 0 &&
			    store_kv_set(n->st, n->name, "devlists", n->changes_to) == 0) {
				log_info("matrix.%s: device lists caught up with /keys/changes", n->name);
				n->changes_pending = 0;
			}
		} else if (r->status >= 400 && r->status < 500) {
			log_warn("matrix.%s: /keys/changes refused (%s); device lists are refreshed as "
				 "rooms need them", n->name, why);
			n->changes_pending = 0;
		} else {
			crypto_backoff(n, "/keys/changes", why);
		}
		break;
	case CR_MEMBERS:
		if (r->status == 200) {
			cJSON *u = mx_joined_members(j);
			if (u)
				members_set(n, n->prep_room, u);
			else
				crypto_backoff(n, "reading the room's members", "bad answer");
		} else if (r->status == 403 || r->status == 404) {
			log_warn("matrix.%s: members of %s not readable (%s): the answer to %s is not "
				 "sent", n->name, n->prep_room, why, n->prep_event);
			if ((q = q_by_event(n, n->prep_event))) {
				store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
				q_remove(n, q);
			}
			n->prep_event[0] = 0;
		} else {
			crypto_backoff(n, "reading the room's members", why);
		}
		break;
	case CR_QUERY:
		if (r->status == 200) {
			int k = e2ee_keys_query_done(n->e2, r->body, r->len, err, sizeof err);
			if (k < 0 || err[0])
				log_warn("matrix.%s: /keys/query: %s", n->name, err[0] ? err : "unusable answer");
			log_debug("matrix.%s: /keys/query: %d device(s) verified and pinned", n->name, k);
			n->td_query = 0;
			if (n->td_waiting)
				td_retry(n);
		} else {
			if (!n->td_query)
				n->prep_queried = 0;
			n->td_query = 0;
			crypto_backoff(n, "/keys/query", why);
		}
		break;
	case CR_CLAIM:
		if (r->status == 200) {
			int k = e2ee_keys_claim_done(n->e2, r->body, r->len);
			log_debug("matrix.%s: /keys/claim: %d Olm session(s) made", n->name, k);
		} else {
			n->prep_claimed = 0;
			crypto_backoff(n, "/keys/claim", why);
		}
		break;
	case CR_SHARE:
		if (r->status == 200 && n->share_body) {
			if (e2ee_room_key_share_done(n->e2, n->share_sid, n->share_body) == 0)
				log_info("matrix.%s: room key of %s sent to %d device(s)", n->name,
					 n->prep_room, count_devices(n->share_body));
			n->cr_fails = 0;
		} else {
			crypto_backoff(n, "sharing the room key", why);
		}
		free(n->share_body);
		n->share_body = NULL;
		break;
	case CR_UNWEDGE:
		if (r->status == 200 && n->uw_cur >= 0) {
			struct unwedge *u = &n->uw[n->uw_cur];
			cJSON *empty = cJSON_CreateObject(), *c = NULL;
			if (empty && e2ee_keys_claim_done(n->e2, r->body, r->len) > 0)
				c = e2ee_olm_encrypt(n->e2, u->user, u->device, "m.dummy", empty);
			cJSON_Delete(empty);
			if (c) {
				log_info("matrix.%s: new Olm session with %s of %s: m.dummy goes over it",
					 n->name, u->device, u->user);
				tdq_add(n, "m.room.encrypted", td_body(u->user, u->device, c), "m.dummy");
			} else {
				log_warn("matrix.%s: no one-time key claimed for %s of %s: the Olm session "
					 "is not repaired", n->name, u->device, u->user);
			}
		} else if (r->status != 200) {
			log_warn("matrix.%s: repairing an Olm session: /keys/claim failed (%s)", n->name, why);
		}
		n->uw_cur = -1;
		break;
	case CR_TODEVICE:
		if (r->status != 200)
			log_warn("matrix.%s: a to-device message was not sent (%s)", n->name, why);
		free(n->td_body);
		n->td_body = NULL;
		break;
	case CR_NONE:
		break;
	}
	cJSON_Delete(j);
	crypto_kick(n);
}

/* ---- fuzzing only (tests/fuzz/fuzz_mxhandle.c) ----
 * Not in faqbot: tests/fuzz/run.sh alone builds bot/ with -DFAQBOT_FUZZ.
 * The target drives a real network through mxnet_start and the real
 * response callbacks, over fake HTTP and loop layers; after every
 * response it asks here what the network holds (requests, timers) and
 * whether its own books agree, so that a lost request or timer (a network
 * that silently stops syncing, joining or sending) is a finding too. */
#ifdef FAQBOT_FUZZ
static void fuzz_id(long id, long *v, size_t *k, size_t max)
{
	if (id > 0 && *k < max)
		v[(*k)++] = id;
}

int mxnet_fuzz_check(const struct mxnet *n, struct mxnet_fuzz *f, char *why, size_t len)
{
	size_t i, inflight = 0;
	memset(f, 0, sizeof *f);
	fuzz_id(n->req, f->reqs, &f->nreqs, MXNET_FUZZ_MAX_IDS);
	fuzz_id(n->join_req, f->reqs, &f->nreqs, MXNET_FUZZ_MAX_IDS);
	fuzz_id(n->decline_req, f->reqs, &f->nreqs, MXNET_FUZZ_MAX_IDS);
	fuzz_id(n->cr_req, f->reqs, &f->nreqs, MXNET_FUZZ_MAX_IDS);
	for (i = 0; i < n->nq; i++) {
		fuzz_id(n->q[i].req, f->reqs, &f->nreqs, MXNET_FUZZ_MAX_IDS);
		inflight += n->q[i].req > 0;
	}
	fuzz_id(n->timer, f->timers, &f->ntimers, 8);
	fuzz_id(n->send_timer, f->timers, &f->ntimers, 8);
	fuzz_id(n->join_timer, f->timers, &f->ntimers, 8);
	fuzz_id(n->cfg_timer, f->timers, &f->ntimers, 8);
	fuzz_id(n->cr_timer, f->timers, &f->ntimers, 8);
	fuzz_id(n->prune_timer, f->timers, &f->ntimers, 8);
	if (n->nq > MX_SENDQ_MAX || n->ngaps > MX_MAX_GAPS || n->cur_gap > n->ngaps ||
	    n->ndeclines > MX_MAX_DECLINES || n->nkeyed > MX_KEYED_ROOMS)
		snprintf(why, len, "a table is past its cap");
	else if (inflight != n->send_inflight)
		snprintf(why, len, "send_inflight %u but %zu sends in flight", n->send_inflight, inflight);
	else if ((n->cr_req > 0) != (n->cr_op != CR_NONE))
		snprintf(why, len, "crypto request %ld with op %d", n->cr_req, (int)n->cr_op);
	else if (n->share_body && n->cr_op != CR_SHARE)
		snprintf(why, len, "a room-key share body kept with no share in flight");
	else if (n->td_body && n->cr_op != CR_TODEVICE)
		snprintf(why, len, "a to-device body kept with no send in flight");
	else if (n->ntdq > MX_TDQ_MAX)
		snprintf(why, len, "the to-device queue is past its cap");
	else if (!n->stopped && n->acct.access_token[0] && n->req <= 0 && n->timer <= 0)
		snprintf(why, len, "nothing in flight or armed for /sync: the network is stuck");
	else if (!n->stopped && n->batch && n->req <= 0 && n->timer <= 0)
		snprintf(why, len, "a batch held with no /messages or retry pending");
	else
		return 0;
	return -1;
}
#endif
