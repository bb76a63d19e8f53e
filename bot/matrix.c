/* matrix.c - the Matrix client-server API for one [matrix.NAME] account:
 * session (password login on a device id chosen and stored before the
 * first login, or a configured token checked with whoami), the /sync
 * long-poll, limited timelines completed from /messages before a batch is
 * handled, invites from allowed users, and replies.  Exactly once: an
 * answer is stored as pending with its transaction id in the same
 * transaction that saves the batch's next_batch, and only the store feeds
 * the sender; a restart re-sends pending answers with the same txn id.
 * Not here: deciding or wording answers (bot.c), JSON details (mxjson.c),
 * HTTP (http.c), encryption (the E2EE issue adds it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "bot.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "matrix.h"
#include "mxjson.h"
#include "store.h"

#define MX_SENDQ_MAX 256        /* answers held in memory; the rest wait in the store */
#define MX_SEND_PARALLEL 8      /* PUTs in flight: Synapse takes ~50 ms per send,
				 * so a burst of questions needs them in parallel */
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
	struct bot *bot;
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

	struct bot_out out;     /* big: kept off the stack */
};

static void session_start(struct mxnet *n);
static void sync_start(struct mxnet *n);
static void kick_sender(struct mxnet *n);
static void kick_joins(struct mxnet *n);
static void kick_declines(struct mxnet *n);
static void gap_next(struct mxnet *n);
static void batch_free(struct mxnet *n);

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
	sync_start(n);
	kick_sender(n);
	kick_joins(n);
}

static void on_login(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	cJSON *j = parse_small(r);
	char why[320];
	const char *uid = mx_str(j, "user_id"), *tok = mx_str(j, "access_token"),
		   *dev = mx_str(j, "device_id");
	n->req = 0;
	if (r->status == 200 && uid && tok && dev && strlen(tok) < sizeof n->acct.access_token &&
	    strlen(uid) < sizeof n->acct.user_id && strlen(dev) < sizeof n->acct.device_id) {
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
	if (r->status == 200 && uid && strlen(uid) < sizeof n->acct.user_id) {
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
		 "\"m.room.encryption\"]}}}", timeline_limit);
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

static void p2_event(void *arg, const char *room_id, const struct mx_event *ev, int is_state)
{
	struct mxnet *n = arg;
	if (!n->room_id || strcmp(room_id, n->room_id))
		return;
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
		log_debug("matrix.%s: %s: encrypted event %s skipped (e2ee is off)", n->name,
			  room_id, ev->event_id);
		return;
	}
	if (!strcmp(ev->type, "m.room.message"))
		handle_message(n, ev);
}

static void handle_message(struct mxnet *n, const struct mx_event *ev)
{
	struct bot_msg m;
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
	memset(&m, 0, sizeof m);
	m.network = n->name;
	m.sender = ev->sender;
	m.account = ev->sender;
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
	if (!bot_handle(n->bot, &m, &n->out))
		return;
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
	mx_sync_walk(n->batch, n->acct.user_id, &v, &st);
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
	batch_free(n);
	if (n->answers_added)
		kick_sender(n);
	kick_joins(n);
	kick_declines(n);
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
	snprintf(query, sizeof query, "timeout=%d&filter=%s%s%s",
		 first ? 0 : n->cfg->sync_timeout * 1000,
		 first ? n->filter_first_q : n->filter_q,
		 n->have_since ? "&since=" : "", n->have_since ? since : "");
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
	snprintf(path, sizeof path, "/rooms/%s/send/m.room.message/%s", rid, txn);
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
	    list_copy(&d->policy.admins, &s->policy.admins) < 0 ||
	    list_copy(&d->policy.auto_answer, &s->policy.auto_answer) < 0 ||
	    list_copy(&d->policy.ignore, &s->policy.ignore) < 0 ||
	    list_copy(&d->allowed_inviters, &s->allowed_inviters) < 0) {
		cfg_free(d);
		return -1;
	}
	return 0;
}

struct mxnet *mxnet_start(struct loop *lp, const struct matrix_config *cfg,
			  struct bot *bot, const char *state_path)
{
	struct mxnet *n;
	char err[512], mf[512];
	size_t len;
	if (!lp || !cfg || !bot || !cfg->homeserver || !cfg->user)
		return NULL;
	if (!(n = calloc(1, sizeof *n)))
		return NULL;
	n->lp = lp;
	n->bot = bot;
	if (cfg_copy(&n->cfgcopy, cfg) < 0) {
		free(n);
		return NULL;
	}
	n->cfg = &n->cfgcopy;
	n->name = n->cfgcopy.name;
	n->max_age_s = 600;
	n->rng = (uint32_t)wall_ms() ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)n;
	if (!(n->st = store_open(state_path, err, sizeof err))) {
		log_error("matrix.%s: %s", n->name, err);
		cfg_free(&n->cfgcopy);
		free(n);
		return NULL;
	}
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
	{
		long pruned = store_answer_prune(n->st, wall_ms() - MX_PRUNE_AGE_MS);
		long pending = store_pending_count(n->st, n->name);
		if (pruned > 0)
			log_info("matrix.%s: %ld old answer record(s) pruned", n->name, pruned);
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
