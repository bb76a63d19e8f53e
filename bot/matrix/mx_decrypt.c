/* mx_decrypt.c - end-to-end encryption, what comes in with a
 * batch: to-device messages (room keys over Olm, key requests), device
 * list changes, Megolm decryption of room events, events held until their
 * key arrives, to-device messages held until their sender's devices are
 * known, and the member lists of encrypted rooms. */
#include "mx_int.h"

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
void mx_decrypt_tdq_add(struct mxnet *n, const char *type, char *body, const char *what)
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

void mx_decrypt_tdq_free(struct mxnet *n)
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
char *mx_decrypt_td_body(const char *user, const char *device, cJSON *content)
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
		mx_decrypt_tdq_add(n, "m.room_key_request", mx_decrypt_td_body(user, "*", c), "a key request cancellation");
}

/* An Olm message from a pinned device that no session decrypts: a new
 * session and an m.dummy over it (spec, "Recovering from undecryptable
 * messages"), at most once an hour per device. */
static void unwedge_add(struct mxnet *n, const char *user, const cJSON *it)
{
	const char *skey = mxjson_str(mxjson_obj(it, "content"), "sender_key");
	char dev[128];
	int i, slot = -1;
	int64_t now = mxnet_now(n);
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
	const cJSON *c = mxjson_obj(it, "content");
	const char *action = mxjson_str(c, "action");
	char err[256] = "", *body;
	if (!action || strcmp(action, "request"))
		return; /* cancellations: nothing is queued long enough to withdraw */
	if (!(body = e2ee_key_request_answer(n->e2, it, err, sizeof err))) {
		if (err[0]) /* empty: over its limit, logged once already */
			log_info("matrix.%s: room-key request from %s not answered: %s", n->name, sender, err);
		return;
	}
	log_info("matrix.%s: room-key request from %s (device %s) answered", n->name, sender,
		 mxjson_str(c, "requesting_device_id") ? mxjson_str(c, "requesting_device_id") : "?");
	mx_decrypt_tdq_add(n, "m.room.encrypted", body, "a forwarded room key");
}

/* Holds a to-device message whose sender key is not (yet) a pinned device
 * of its sender, and asks for the sender's devices. */
static void td_hold(struct mxnet *n, const cJSON *it, const char *sender, const char *why)
{
	char *text = cJSON_PrintUnformatted(it), id[256], dropped[256];
	const cJSON *c = mxjson_obj(it, "content");
	const char *skey = mxjson_str(c, "sender_key");
	const cJSON *ct = mxjson_obj(c, "ciphertext");
	const char *body = ct && ct->child ? mxjson_str(ct->child, "body") : NULL;
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
	rc = text && strlen(sender) < 256 ? store_held_add(n->st, n->td_net, sender, id, text, mxnet_wall_ms(n),
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
	const char *type = mxjson_str(it, "type"), *sender = mxjson_str(it, "sender"), *ptype, *room;
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
	ptype = mxjson_str(pl, "type");
	room = mxjson_str(mxjson_obj(pl, "content"), "room_id");
	if (ptype && (!strcmp(ptype, "m.room_key") || !strcmp(ptype, "m.forwarded_room_key")) && room) {
		const char *sid = mxjson_str(mxjson_obj(pl, "content"), "session_id");
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
 * this batch shows it in. */
int mx_decrypt_room_joined(void *arg, const char *room_id)
{
	struct mxnet *n = arg;
	struct store_room r;
	if (store_room_get(n->st, n->name, room_id, &r) == 1 && r.joined != STORE_LEFT)
		return 1;
	return n->batch && mxjson_obj(mxjson_obj(mxjson_obj(n->batch, "rooms"), "join"), room_id) != NULL;
}

void mx_decrypt_batch_pre(struct mxnet *n)
{
	const cJSON *dl, *it;
	n->nkeyed = n->keyed_all = 0;
	if (!n->e2)
		return;
	dl = mxjson_obj(n->batch, "device_lists");
	if (dl && e2ee_users_changed(n->e2, mxjson_arr(dl, "changed"), mxjson_arr(dl, "left")) < 0)
		log_warn("matrix.%s: device list changes not recorded (state file error)", n->name);
	cJSON_ArrayForEach(it, mxjson_arr(mxjson_obj(n->batch, "to_device"), "events"))
		to_device(n, it);
}

/* Decrypts evj (the event as mxjson_event_json makes it) of n->room_id and
 * handles the plaintext as any message.  NO_SESSION: held when hold is
 * set.  Returns the e2ee status. */
static int decrypt_handle(struct mxnet *n, const cJSON *evj, const struct mxjson_event *ev, int hold)
{
	char err[256] = "", dropped[256];
	int st = E2EE_FAIL;
	cJSON *pl = e2ee_megolm_decrypt(n->e2, n->room_id, evj, &st, err, sizeof err);
	if (pl) {
		cJSON *dec = mxjson_decrypted_event(ev, pl);
		struct mxjson_event m;
		if (dec && mxjson_event_parse(dec, &m) == 0 && !strcmp(m.type, "m.room.message")) {
			n->dec_verified = 1;
			mx_sync_handle_message(n, &m);
			n->dec_verified = 0;
		}
		cJSON_Delete(dec);
		cJSON_Delete(pl);
		return E2EE_OK;
	}
	if (st == E2EE_NO_SESSION && hold) {
		char *text = cJSON_PrintUnformatted(evj);
		int rc = text ? store_held_add(n->st, n->name, n->room_id, ev->event_id, text,
					       mxnet_wall_ms(n), MX_HELD_MAX, dropped, sizeof dropped) : -1;
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
			const char *sid = mxjson_str(ev->content, "session_id");
			cJSON *req = e2ee_key_request(n->e2, n->room_id, ev->sender,
						      mxjson_str(ev->content, "sender_key"), sid, mxnet_wall_ms(n),
						      reqid, sizeof reqid);
			if (req) {
				log_info("matrix.%s: %s: asking %s's devices for room key %.12s (request %s)",
					 n->name, n->room_id, ev->sender, sid, reqid);
				mx_decrypt_tdq_add(n, "m.room_key_request", mx_decrypt_td_body(ev->sender, "*", req), "a room-key request");
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

void mx_decrypt_event(struct mxnet *n, const struct mxjson_event *ev)
{
	cJSON *evj;
	if (!strcmp(ev->sender, n->acct.user_id) || n->initial || n->before_join)
		return;
	if (!n->room.encrypted) {
		/* An encrypted event proves the room is: never answer it in clear. */
		n->room.encrypted = 1;
		mx_sync_room_save(n);
	}
	if (mxnet_wall_ms(n) - ev->ts > (int64_t)n->max_age_s * 1000 ||
	    store_answer_known(n->st, n->name, ev->event_id) != 0 || strlen(ev->event_id) > 255)
		return;
	if (!(evj = mxjson_event_json(ev)))
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

const cJSON *mx_decrypt_members_get(struct mxnet *n, const char *room_id)
{
	int i;
	for (i = 0; i < MX_MEMBER_CACHE; i++)
		if (n->mem[i].users && !strcmp(n->mem[i].room, room_id)) {
			if (mxnet_now(n) - n->mem[i].at < MX_MEMBER_TTL_MS)
				return n->mem[i].users;
			members_drop(n, room_id);
			return NULL;
		}
	return NULL;
}

void mx_decrypt_members_set(struct mxnet *n, const char *room_id, cJSON *users)
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
	n->mem[slot].at = mxnet_now(n);
}

/* Another user's membership changed: the member list is re-read before
 * the next encrypted answer; a member who left must not read what comes
 * next, so the room's Megolm session is replaced (spec, "Rotating
 * sessions"). */
void mx_decrypt_other_member(struct mxnet *n, const char *room_id, const struct mxjson_event *ev, int is_state)
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
		cJSON *j = mxjson_json_parse(h[i].event, strlen(h[i].event), err, sizeof err);
		struct mxjson_event ev;
		int st = E2EE_FAIL;
		snprintf(rid, sizeof rid, "%s", h[i].room_id);
		n->room_id = rid;
		if (store_room_get(n->st, n->name, rid, &n->room) < 0)
			memset(&n->room, 0, sizeof n->room);
		n->before_join = 0;
		if (j && mxjson_event_parse(j, &ev) == 0)
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

void mx_decrypt_batch_post(struct mxnet *n)
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
 * devices.  A sender whose devices are now known: taken (a
 * room key then releases the events held for it); still unknown although
 * the list was just read: dropped and logged; still outdated (the query
 * did not cover them): kept for the next query. */
void mx_decrypt_td_retry(struct mxnet *n)
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
		cJSON *j = mxjson_json_parse(h[i].event, strlen(h[i].event), err, sizeof err);
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
		mx_send_kick(n);
	n->answers_added += answers0;
}

/* After a batch: the key counts it gave, unless the sync left before our
 * last upload was acknowledged (its counts would be stale and make us
 * upload keys the server already has). */
void mx_decrypt_counts(struct mxnet *n)
{
	long c;
	int f;
	if (!n->e2 || n->batch_sent_ms < n->upload_done_ms)
		return;
	c = mxjson_otk_count(n->batch);
	f = mxjson_fallback_unused(n->batch);
	if (c >= 0)
		n->otk_count = c;
	if (f >= 0)
		n->fb_unused = f;
	n->upload_check = 1;
}
