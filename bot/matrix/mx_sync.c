/* mx_sync.c - the /sync long-poll: a batch is walked twice (mxjson.c's
 * mxjson_sync_walk), first for the rooms whose limited timeline leaves a gap,
 * filled from /messages, then for its events, handled inside one store
 * transaction that also saves next_batch: invites (from allowed users
 * only), joins and leaves, messages and reactions passed up to the chat
 * sink, answers stored as pending for mx_send.c.  Joins and invite
 * refusals go out from here too. */
#include "mx_int.h"
#include "utf8.h"

/* Sends that are not answers (refusals, !status/!reload results) have
 * their own small budget per sender (MX_CMD_*, mx_int.h). */
static const char msg_cmd_limited[] =
	"Trop de commandes d'un coup : je ne réponds plus aux commandes pendant quelques instants.";

static void gap_next(struct mxnet *n);

/* ---- /sync ---- */

static int sync_filter(int timeline_limit, char *out, size_t cap)
{
	char json[1024];
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
	return mxjson_url_escape(json, out, cap);
}

/* Fills the filters of n: 0, or -1 when one does not fit its buffer. */
static int filters_make(struct mxnet *n)
{
	if (sync_filter(MX_TIMELINE_LIMIT, n->filter_q, sizeof n->filter_q) < 0 ||
	    sync_filter(1, n->filter_first_q, sizeof n->filter_first_q) < 0)
		return -1;
	return mxjson_url_escape("{\"lazy_load_members\":true,\"types\":[\"m.room.message\","
			     "\"m.room.member\",\"m.room.encrypted\"]}", n->msg_filter_q,
			     sizeof n->msg_filter_q);
}

void mx_sync_batch_free(struct mxnet *n)
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
static void p1_room(void *arg, const char *room_id, const struct mxjson_room_info *ri)
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

int mx_sync_room_save(struct mxnet *n)
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
	if (!mxjson_inviter_allowed(&n->cfg->allowed_inviters, inviter)) {
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

static void handle_reaction(struct mxnet *n, const struct mxjson_event *ev);

static int is_own_join(const struct mxnet *n, const struct mxjson_event *ev)
{
	return !strcmp(ev->type, "m.room.member") && ev->state_key &&
	       !strcmp(ev->state_key, n->acct.user_id) && ev->membership &&
	       !strcmp(ev->membership, "join") &&
	       !(ev->prev_membership && !strcmp(ev->prev_membership, "join"));
}

static void p2_event(void *arg, const char *room_id, const struct mxjson_event *ev, int is_state);

/* Our own join (not a profile change) among these events? */
static int own_join_in(const struct mxnet *n, const cJSON *events)
{
	const cJSON *it;
	if (!events)
		return 0;
	cJSON_ArrayForEach(it, events) {
		struct mxjson_event ev;
		if (mxjson_event_parse(it, &ev) == 0 && is_own_join(n, &ev))
			return 1;
	}
	return 0;
}

static void p2_room(void *arg, const char *room_id, const struct mxjson_room_info *ri)
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
	mx_sync_room_save(n);
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
		struct mxjson_event ev;
		if (mxjson_event_parse(it, &ev) == 0)
			p2_event(n, room_id, &ev, 0);
	}
}

static void p2_event(void *arg, const char *room_id, const struct mxjson_event *ev, int is_state)
{
	struct mxnet *n = arg;
	if (!n->room_id || strcmp(room_id, n->room_id))
		return;
	if (!strcmp(ev->type, "m.room.encryption")) {
		int64_t msgs, ms;
		/* Once on, encryption stays on (spec): a later event naming
		 * another algorithm does not turn it off. */
		if (mxjson_room_encryption(ev->content, &msgs, &ms) &&
		    (!n->room.encrypted || msgs != n->room.rot_msgs || ms != n->room.rot_ms)) {
			n->room.encrypted = 1;
			n->room.rot_msgs = msgs;
			n->room.rot_ms = ms;
			mx_sync_room_save(n);
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
		mx_decrypt_other_member(n, room_id, ev, is_state);
		return;
	}
	if (!strcmp(ev->type, "m.room.member")) {
		if (is_state || !ev->state_key || strcmp(ev->state_key, n->acct.user_id) || !ev->membership)
			return;
		if (is_own_join(n, ev)) {
			n->before_join = 0;
		} else if (!strcmp(ev->membership, "leave") || !strcmp(ev->membership, "ban")) {
			n->room.joined = STORE_LEFT;
			mx_sync_room_save(n);
		}
		return;
	}
	if (is_state)
		return;
	if (!strcmp(ev->type, "m.room.encrypted")) {
		if (n->e2)
			mx_decrypt_event(n, ev);
		else
			log_debug("matrix.%s: %s: encrypted event %s skipped (e2ee is off)", n->name,
				  room_id, ev->event_id);
		return;
	}
	if (!strcmp(ev->type, "m.room.message"))
		mx_sync_handle_message(n, ev);
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
	struct mxjson_reply rp;
	char key[256], txn[MX_TXN_LEN], *content;
	int k = snprintf(key, sizeof key, "%s%s", tag, cause);

	if (k < 0 || (size_t)k >= sizeof key || !room[0] || strlen(room) > 255)
		return;
	memset(&rp, 0, sizeof rp);
	rp.text = text;
	rp.len = len;
	rp.question_id = reply_to;
	rp.asker = asker;
	if (mxjson_txn_id(key, txn) < 0 || !(content = mxjson_reply_json(&rp))) {
		log_error("matrix.%s: cannot build the message for %s", n->name, key);
		return;
	}
	if (store_answer_add(n->st, n->name, key, room, txn, content, mxnet_wall_ms(n)) == 0)
		n->answers_added++;
	free(content);
}

/* A 👍 / 👎 (m.annotation) on one of the bot's answers: recorded by bot.c
 * when [bot] record_questions is on (record.c); nothing is sent. */
static void handle_reaction(struct mxnet *n, const struct mxjson_event *ev)
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
	m.now = (time_t)(mxnet_wall_ms(n) / 1000);
	m.now_ms = mxnet_now(n);
	m.event = CHAT_REACTION;
	m.rel_event = ev->rel_event_id;
	m.key = mxjson_str(mxjson_obj(ev->content, "m.relates_to"), "key");
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

void mx_sync_handle_message(struct mxnet *n, const struct mxjson_event *ev)
{
	struct chat_msg m;
	struct mxjson_reply rp;
	const char *text;
	char txn[MX_TXN_LEN], *content;
	int mentioned = 0, known;
	int64_t now = mxnet_wall_ms(n);
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
	if (blen > MX_MAX_BODY_TEXT || !utf8_valid(ev->body, blen) ||
	    strlen(ev->event_id) > 255 || strlen(n->room_id) > 255)
		return;
	known = store_answer_known(n->st, n->name, ev->event_id);
	if (known != 0)
		return; /* answered (or being answered) already, or a store error */
	text = mxjson_question_text(ev->body, n->acct.user_id, &mentioned);
	mentioned |= mxjson_mentions_user(ev->content, n->acct.user_id);
	/* A reply to one of the bot's messages is addressed to it (and, with
	 * the room and the sender, continues that asker's conversation). */
	if (!mentioned && ev->reply_to && strlen(ev->reply_to) < 256 &&
	    store_answer_by_reply(n->st, n->name, ev->reply_to, NULL, 0) == 1)
		mentioned = 1;
	memset(&m, 0, sizeof m);
	m.network = n->name;
	m.sender = ev->sender;
	/* Admin rights in an encrypted room only for a message decrypted
	 * from a pinned device of its sender: a plain event there
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
	m.now_ms = mxnet_now(n);
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
	if (mxjson_txn_id(ev->event_id, txn) < 0 || !(content = mxjson_reply_json(&rp))) {
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
	struct mxjson_sync_visitor v = { n, p2_invite, p2_leave, p2_room, p2_event };
	struct mxjson_sync_stats st;
	int64_t t0 = mxnet_now(n);
	n->answers_added = 0;
	n->room_id = NULL;
	if (store_begin(n->st) < 0) {
		mx_job_backoff(&n->main, mx_sync_start, "storing the batch", "state file error");
		mx_sync_batch_free(n);
		return;
	}
	/* To-device messages first: a room key that came with the batch
	 * decrypts the batch's own events (spec, "Decrypting events"). */
	mx_decrypt_batch_pre(n);
	mxjson_sync_walk(n->batch, n->acct.user_id, &v, &st);
	n->room_id = NULL;
	mx_decrypt_batch_post(n);
	n->room_id = NULL;
	if (store_sync_set(n->st, n->name, n->batch_next) < 0 || store_commit(n->st) < 0) {
		store_rollback(n->st);
		mx_job_backoff(&n->main, mx_sync_start, "storing the batch", "state file error");
		mx_sync_batch_free(n);
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
			  st.rooms, st.events, n->answers_added, (long long)(mxnet_now(n) - t0));
	snprintf(n->since, sizeof n->since, "%s", n->batch_next);
	n->have_since = 1;
	n->main.fails = 0;
	mx_decrypt_counts(n);
	n->synced_once = 1;
	mx_sync_batch_free(n);
	if (n->answers_added)
		mx_send_kick(n);
	mx_sync_kick_joins(n);
	mx_sync_kick_declines(n);
	mx_crypto_kick(n);
	mx_sync_start(n);
}

/* ---- gaps: /messages back from prev_batch to the previous since ---- */

static void on_messages(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct gap *g = &n->gaps[n->cur_gap];
	struct mx_answer a;
	cJSON *chunk = NULL, *it, *next;
	const char *end;
	int64_t oldest = INT64_MAX, now = mxnet_wall_ms(n);
	int got = 0;
	n->main.req = 0;
	mx_answer_take(n, r, &a);
	if (mx_job_defer(&n->main, &a, gap_next, "/messages"))
		return;
	if (a.v != MX_OK || !a.j || !(chunk = (cJSON *)mxjson_arr(a.j, "chunk"))) {
		int64_t ms;
		if (a.v == MX_OK)
			snprintf(a.why, sizeof a.why, "bad /messages response: %s",
				 a.j ? "no chunk" : a.err);
		if (++g->tries >= MX_GAP_MAX_TRIES) {
			log_error("matrix.%s: %s: gap not filled after %d tries (%s); questions in it "
				  "may go unanswered", n->name, g->room_id, g->tries, a.why);
			mx_answer_free(&a);
			g->done = 1;
			n->cur_gap++;
			gap_next(n);
			return;
		}
		/* the gap's own count: a gap that fails does not slow /sync */
		ms = mxnet_backoff_ms(n, (unsigned)g->tries);
		log_warn("matrix.%s: /messages for %s failed (%s); retrying in %.1f s", n->name,
			 g->room_id, a.why, ms / 1000.0);
		mx_job_after(&n->main, ms, gap_next);
		mx_answer_free(&a);
		return;
	}
	g->tries = 0;
	g->pages++;
	/* Newest first: each event moved to the front keeps g->events oldest
	 * first across pages. */
	for (it = chunk->child; it; it = next) {
		int64_t ts = mxjson_int(it, "origin_server_ts", 0);
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
	end = mxjson_str(a.j, "end");
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
	mx_answer_free(&a);
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
	if (mxjson_url_escape(g->room_id, rid, sizeof rid) < 0 || mxjson_url_escape(g->from, from, sizeof from) < 0 ||
	    mxjson_url_escape(n->since, to, sizeof to) < 0) {
		log_warn("matrix.%s: gap token or room id too long; gap in %s not filled", n->name,
			 g->room_id);
		n->cur_gap++;
		gap_next(n);
		return;
	}
	snprintf(path, sizeof path, "/rooms/%s/messages", rid);
	snprintf(query, sizeof query, "dir=b&limit=100&from=%s&to=%s&filter=%s", from, to,
		 n->msg_filter_q);
	mx_job_request(&n->main, "GET", path, query, NULL, MX_MESSAGES_MAX_BODY, 60000, 1, gap_next,
		       on_messages);
}

static void on_sync(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct mx_answer a;
	n->main.req = 0;
	if (r->status == 200) {
		struct mxjson_sync_visitor v = { n, NULL, NULL, p1_room, NULL };
		char err[160];
		const char *nb;
		cJSON *j = mxjson_json_parse(r->body, r->len, err, sizeof err);
		if (!j) {
			log_warn("matrix.%s: /sync response unusable (%s, %zu bytes); skipped", n->name,
				 err, r->len);
			mx_job_backoff(&n->main, mx_sync_start, "/sync", "unusable response");
			return;
		}
		n->initial = !n->have_since;
		n->batch = j;
		n->batch_sent_ms = n->sync_sent_ms;
		nb = mxjson_sync_walk(j, n->acct.user_id, &v, NULL);
		if (!nb || strlen(nb) >= sizeof n->since || !(n->batch_next = strdup(nb))) {
			log_warn("matrix.%s: /sync response without a usable next_batch; skipped", n->name);
			mx_sync_batch_free(n);
			mx_job_backoff(&n->main, mx_sync_start, "/sync", "no next_batch");
			return;
		}
		if (n->ngaps)
			log_info("matrix.%s: %d room(s) with a limited timeline; fetching the gap(s)",
				 n->name, n->ngaps);
		n->cur_gap = 0;
		gap_next(n);
		return;
	}
	mx_answer_take(n, r, &a);
	if (!mx_job_defer(&n->main, &a, mx_sync_start, "/sync")) {
		mx_job_backoff(&n->main, mx_sync_start, "/sync", a.why);
		mx_answer_free(&a);
	}
}

void mx_sync_start(struct mxnet *n)
{
	char query[5000], since[3200];
	int first = !n->have_since;
	if (n->stopped || n->main.req > 0)
		return;
	if (!n->filter_q[0] && filters_make(n) < 0) {
		log_error("matrix.%s: the /sync filter does not fit its buffer", n->name);
		return;
	}
	if (n->have_since && mxjson_url_escape(n->since, since, sizeof since) < 0)
		n->have_since = 0;
	/* The first sync of a run returns at once, even when resuming: the
	 * key upload and cross-signing wait for it (one-time key counts),
	 * and must not wait for a message to end a 30 s long-poll. */
	snprintf(query, sizeof query, "timeout=%d&filter=%s%s%s",
		 first || !n->synced_once ? 0 : n->cfg->sync_timeout * 1000,
		 first ? n->filter_first_q : n->filter_q,
		 n->have_since ? "&since=" : "", n->have_since ? since : "");
	n->sync_sent_ms = mxnet_now(n);
	mx_job_request(&n->main, "GET", "/sync", query, NULL, MX_SYNC_MAX_BODY,
		       (long)n->cfg->sync_timeout * 1000 + 30000, 1, mx_sync_start, on_sync);
}

/* ---- joins (from the store) and declines (best effort) ---- */

static void on_join(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct mx_answer a;
	struct store_room rm;
	n->join.req = 0;
	mx_answer_take(n, r, &a);
	/* M_UNKNOWN_TOKEN: our token, not the room, was refused: the room
	 * stays "joining" and is joined after the new login (session_ready
	 * kicks the joins); marking it left would lose the invite. */
	if (mx_job_defer(&n->join, &a, mx_sync_kick_joins, "joining a room"))
		return;
	if (store_room_get(n->st, n->name, n->join_room, &rm) < 0)
		memset(&rm, 0, sizeof rm);
	switch (a.v) {
	case MX_OK:
		log_info("matrix.%s: joined %s", n->name, n->join_room);
		rm.joined = STORE_JOINED;
		store_room_set(n->st, n->name, n->join_room, &rm);
		n->join.fails = 0;
		mx_sync_kick_joins(n);
		break;
	case MX_FATAL:
		log_warn("matrix.%s: cannot join %s (%s)", n->name, n->join_room, a.why);
		rm.joined = STORE_LEFT;
		store_room_set(n->st, n->name, n->join_room, &rm);
		mx_sync_kick_joins(n);
		break;
	case MX_RETRY:
	case MX_TOKEN_LOST: { /* (taken by mx_job_defer) */
		char what[300];
		snprintf(what, sizeof what, "joining %s", n->join_room);
		mx_job_backoff(&n->join, mx_sync_kick_joins, what, a.why);
		break;
	}
	}
	mx_answer_free(&a);
}

void mx_sync_kick_joins(struct mxnet *n)
{
	char ids[1][256], rid[800], path[900];
	if (n->stopped || n->join.req > 0 || n->join.timer > 0 || !n->acct.access_token[0])
		return;
	if (store_room_list(n->st, n->name, STORE_JOINING, ids, 1) != 1)
		return;
	if (mxjson_url_escape(ids[0], rid, sizeof rid) < 0)
		return;
	snprintf(path, sizeof path, "/join/%s", rid);
	/* Only one join at a time: the room id fits in one buffer. */
	snprintf(n->join_room, sizeof n->join_room, "%s", ids[0]);
	mx_job_request(&n->join, "POST", path, NULL, "{}", MX_SMALL_MAX_BODY, 30000, 1,
		       mx_sync_kick_joins, on_join);
}

static void on_decline(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	n->decline.req = 0;
	if (r->status != 200)
		log_warn("matrix.%s: declining an invite failed (%s %ld)", n->name,
			 r->error ? r->error : "HTTP", r->status);
	mx_sync_kick_declines(n);
}

/* Best effort: a refusal that fails is logged, not retried. */
void mx_sync_kick_declines(struct mxnet *n)
{
	char rid[800], path[900], *room;
	if (n->stopped || n->decline.req > 0 || !n->ndeclines || !n->acct.access_token[0])
		return;
	room = n->declines[--n->ndeclines];
	if (mxjson_url_escape(room, rid, sizeof rid) == 0) {
		snprintf(path, sizeof path, "/rooms/%s/leave", rid);
		n->decline.req = mxnet_request(n, "POST", path, NULL, "{}", MX_SMALL_MAX_BODY, 30000, 1,
					       on_decline, n);
		if (n->decline.req < 0)
			n->decline.req = 0;
	}
	free(room);
}
