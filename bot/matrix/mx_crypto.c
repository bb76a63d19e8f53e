/* mx_crypto.c - end-to-end encryption, the requests: opening
 * the crypto state, key upload, cross-signing, device-list catch-up, Olm
 * repairs, to-device sends, and the room-key sharing that an encrypted
 * answer waits for, after which the answer is encrypted in memory and
 * handed to the sender.  One request at a time.  The cryptography is e2ee.c's; the
 * batch's incoming crypto is mx_decrypt.c's. */
#include "mx_int.h"

/* ---- end-to-end encryption: driving e2ee.c ----
 * One crypto request at a time, chosen by crypto_kick in this order: key
 * upload (after a /sync told the counts), cross-signing (once), the
 * device-list catch-up, then the room-key sharing that the oldest
 * encrypted answer waits for (members, /keys/query, /keys/claim,
 * /sendToDevice), after which the answer is encrypted in memory and the
 * sender sends it in the same call (mx_send_kick). */

/* Opens the crypto state at start-up when the store already holds this
 * account's device, so that a wrong pickle key is found before anything
 * is written.  -1: faqbot must stop (logged). */
int mx_crypto_start_check(struct mxnet *n)
{
	struct store_account a;
	if (!e2ee_pickle_key(n->cfg->pickle_key)) {
		log_error("matrix.%s: e2ee = yes needs a pickle key: set pickle_key in [matrix.%s] or "
			  "FAQBOT_PICKLE_KEY in the environment (there is no default key)", n->name, n->name);
		return -1;
	}
	if (store_account_get(n->st, n->name, &a) != 1 || !a.user_id[0] || !a.device_id[0] ||
	    strcmp(a.homeserver, n->base) || !mx_session_user_matches(n->cfg->user, a.user_id))
		return 0; /* no device yet: opened (and created) after login */
	n->acct = a;
	if (mx_crypto_open(n) < 0) {
		memset(&n->acct, 0, sizeof n->acct);
		return -1;
	}
	memset(&n->acct, 0, sizeof n->acct);
	return 0;
}

int mx_crypto_open(struct mxnet *n)
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
	e2ee_set_room_filter(n->e2, mx_decrypt_room_joined, n);
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

void mx_crypto_cancel(struct mxnet *n)
{
	mx_job_cancel(&n->cr);
	n->cr_op = CR_NONE;
	free(n->share_body);
	n->share_body = NULL;
	free(n->td_body);
	n->td_body = NULL;
	n->uw_cur = -1;
	n->prep_queried = n->prep_claimed = 0;
}

static void crypto_backoff(struct mxnet *n, const char *what, const char *why)
{
	mx_job_backoff(&n->cr, mx_crypto_kick, what, why);
}

static void on_crypto(void *arg, const struct http_resp *r);

static void crypto_request(struct mxnet *n, enum crypto_op op, const char *method, const char *path,
			   const char *query, const char *body)
{
	n->cr_op = op;
	if (mx_job_request(&n->cr, method, path, query, body, MX_SMALL_MAX_BODY, 60000, 1,
			   mx_crypto_kick, on_crypto) < 0) {
		n->cr_op = CR_NONE;
		/* A share that never left: the retry makes a new body, and
		 * would otherwise overwrite (leak) this one. */
		free(n->share_body);
		n->share_body = NULL;
	}
}

/* ---- answers waiting for encryption ---- */

int mx_crypto_needed(struct mxnet *n, struct sendq *q)
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

/* The room key is shared: encrypt the answer in memory, once.  e2ee.c
 * commits the Megolm ratchet's advance before it returns the ciphertext,
 * so no message index is ever used twice.  The stored answer stays as it
 * was written (the plaintext and its txn id): retries in this run send
 * this ciphertext, and after a restart the answer is encrypted again and
 * sent under the same txn id, which the homeserver deduplicates like any
 * re-send. */
static int prep_finish(struct mxnet *n, struct sendq *q)
{
	char err[160];
	cJSON *c = mxjson_json_parse(q->p.content, strlen(q->p.content), err, sizeof err);
	char *ct = c ? e2ee_megolm_encrypt(n->e2, q->p.room_id, "m.room.message", c) : NULL;
	cJSON_Delete(c);
	if (!ct)
		return -1;
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
		snprintf(t, 96, "fbk.%lld.%lu.%08x", (long long)mxnet_wall_ms(n), ++n->share_seq, mxnet_rnd(n));
	return t;
}

static int count_devices(const char *body)
{
	cJSON *j = cJSON_Parse(body), *u;
	int k = 0;
	cJSON_ArrayForEach(u, mxjson_obj(j, "messages"))
		k += cJSON_GetArraySize(u);
	cJSON_Delete(j);
	return k;
}

/* One step for the oldest answer that waits for encryption.  1 when it was
 * encrypted right away (try the next), 0 otherwise. */
static int prep_step(struct mxnet *n)
{
	struct sendq *q = n->prep_event[0] ? mx_send_find(n, 0, n->prep_event) : NULL;
	const cJSON *users;
	struct store_room room;
	char *body, rid[800], path[1000];
	size_t i;
	if (!q || q->p.encrypted || q->req > 0) {
		n->prep_event[0] = 0;
		q = NULL;
		for (i = 0; i < n->nq && !q; i++)
			if (!n->q[i].p.encrypted && !n->q[i].req && mx_crypto_needed(n, &n->q[i]))
				q = &n->q[i];
		if (!q)
			return 0;
		snprintf(n->prep_event, sizeof n->prep_event, "%s", q->p.event_id);
		snprintf(n->prep_room, sizeof n->prep_room, "%s", q->p.room_id);
		n->prep_queried = n->prep_claimed = 0;
	}
	if (!(users = mx_decrypt_members_get(n, n->prep_room))) {
		if (mxjson_url_escape(n->prep_room, rid, sizeof rid) < 0)
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
					mxnet_wall_ms(n), n->share_sid, sizeof n->share_sid);
	if (body) {
		char *txn = txn_for_share(n), tq[200];
		if (!txn || mxjson_url_escape(txn, tq, sizeof tq) < 0) {
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

void mx_crypto_kick(struct mxnet *n)
{
	char err[256];
	int i, ready = 0;
	if (!n->e2 || n->stopped || n->cr.req > 0 || n->cr.timer > 0 || !n->acct.access_token[0] ||
	    !n->acct.user_id[0])
		return;
	if (n->synced_once && n->upload_check) {
		char *body;
		err[0] = 0;
		n->upload_check = 0;
		body = e2ee_keys_upload_body(n->e2, n->otk_count, n->fb_unused, mxnet_wall_ms(n), err, sizeof err);
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
			if (n->cr.req > 0)
				return;
		}
	}
	if (n->changes_pending && n->have_since) {
		char from[3200], to[3200], query[6500];
		snprintf(n->changes_to, sizeof n->changes_to, "%s", n->since);
		if (mxjson_url_escape(n->devtoken, from, sizeof from) == 0 &&
		    mxjson_url_escape(n->changes_to, to, sizeof to) == 0) {
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
		if (n->cr.req > 0)
			return;
		n->uw_cur = -1;
	}
	if (n->ntdq) {
		char *txn = txn_for_share(n), tq[200], path[400];
		struct tdmsg m = n->tdq[0];
		memmove(&n->tdq[0], &n->tdq[1], (size_t)(n->ntdq - 1) * sizeof n->tdq[0]);
		n->ntdq--;
		if (txn && mxjson_url_escape(txn, tq, sizeof tq) == 0) {
			snprintf(path, sizeof path, "/sendToDevice/%s/%s", m.type, tq);
			n->td_body = m.body;
			m.body = NULL;
			log_debug("matrix.%s: sending %s", n->name, m.what);
			crypto_request(n, CR_TODEVICE, "PUT", path, NULL, n->td_body);
			if (n->cr.req <= 0) {
				free(n->td_body);
				n->td_body = NULL;
			}
		}
		free(txn);
		free(m.type);
		free(m.body);
		if (n->cr.req > 0 || n->cr.timer > 0)
			return;
	}
	if (n->td_waiting) {
		char *body = e2ee_keys_query_body(n->e2);
		if (body) {
			n->td_query = 1;
			crypto_request(n, CR_QUERY, "POST", "/keys/query", NULL, body);
			free(body);
			if (n->cr.req > 0)
				return;
			n->td_query = 0;
		} else {
			mx_decrypt_td_retry(n); /* nobody outdated: decide now */
		}
	}
	while (n->cr.req <= 0 && n->cr.timer <= 0 && prep_step(n))
		ready = 1;
	/* The encrypted answers go now (from inside a send pass: in the
	 * next pass of that mx_send_kick). */
	if (ready)
		mx_send_kick(n);
}

/* ---- the answers to crypto requests: one handler per request kind ---- */

static void upload_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	long c;
	if (a->v != MX_OK) {
		n->upload_check = 1; /* the same unpublished keys go again */
		crypto_backoff(n, "/keys/upload", a->why);
		return;
	}
	c = e2ee_keys_upload_done(n->e2, r->body, r->len);
	n->upload_done_ms = mxnet_now(n);
	if (c >= 0)
		n->otk_count = c;
	n->fb_unused = 1;
	n->cr.fails = 0;
	/* The first upload of a run is worth a line; top-ups are not. */
	if (n->keys_ok)
		log_debug("matrix.%s: one-time keys topped up (%ld on the server)", n->name, c);
	else
		log_info("matrix.%s: keys uploaded (%ld one-time keys on the server)", n->name, c);
	n->keys_ok = 1;
}

static void xsign_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	char err[256] = "";
	if (a->v == MX_OK) {
		char *b = e2ee_xsign_signatures_body(n->e2, err, sizeof err);
		if (b) {
			crypto_request(n, CR_XSIGN_SIGS, "POST", "/keys/signatures/upload", NULL, b);
			free(b);
		} else {
			log_warn("matrix.%s: cross-signing: %s", n->name, err);
			n->xsign_done = 1;
		}
	} else if (r->status == 401 && !n->xsign_auth && mxjson_str(a->j, "session")) {
		xsign_start(n, 1, mxjson_str(a->j, "session"));
	} else if (r->status == 401 && !n->xsign_auth && mxjson_arr(a->j, "flows")) {
		xsign_start(n, 1, NULL);
	} else {
		log_warn("matrix.%s: cross-signing keys refused (%s); the device stays "
			 "uncross-signed until a restart", n->name, a->why);
		n->xsign_done = 1;
	}
}

static void xsign_sigs_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	n->xsign_done = 1;
	if (a->v == MX_OK && !(mxjson_obj(a->j, "failures") && mxjson_obj(a->j, "failures")->child)) {
		store_kv_set(n->st, n->name, "xsign", n->acct.device_id);
		log_info("matrix.%s: device %s cross-signed (master and self-signing keys "
			 "uploaded)", n->name, n->acct.device_id);
	} else {
		log_warn("matrix.%s: the device signature was refused (%s)", n->name,
			 a->v == MX_OK ? "failures in the answer" : a->why);
	}
}

static void changes_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	if (a->v == MX_OK) {
		if (e2ee_users_changed(n->e2, mxjson_arr(a->j, "changed"), mxjson_arr(a->j, "left")) == 0 &&
		    store_kv_set(n->st, n->name, "devlists", n->changes_to) == 0) {
			log_info("matrix.%s: device lists caught up with /keys/changes", n->name);
			n->changes_pending = 0;
		}
	} else if (a->v == MX_FATAL || r->status == 408) {
		log_warn("matrix.%s: /keys/changes refused (%s); device lists are refreshed as "
			 "rooms need them", n->name, a->why);
		n->changes_pending = 0;
	} else {
		crypto_backoff(n, "/keys/changes", a->why);
	}
}

static void members_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	struct sendq *q;
	if (a->v == MX_OK) {
		cJSON *u = mxjson_joined_members(a->j);
		if (u)
			mx_decrypt_members_set(n, n->prep_room, u);
		else
			crypto_backoff(n, "reading the room's members", "bad answer");
	} else if (r->status == 403 || r->status == 404) {
		log_warn("matrix.%s: members of %s not readable (%s): the answer to %s is not "
			 "sent", n->name, n->prep_room, a->why, n->prep_event);
		if ((q = mx_send_find(n, 0, n->prep_event))) {
			store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
			mx_send_remove(n, q);
		}
		n->prep_event[0] = 0;
	} else {
		crypto_backoff(n, "reading the room's members", a->why);
	}
}

static void query_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	char err[256] = "";
	if (a->v == MX_OK) {
		int k = e2ee_keys_query_done(n->e2, r->body, r->len, err, sizeof err);
		if (k < 0 || err[0])
			log_warn("matrix.%s: /keys/query: %s", n->name, err[0] ? err : "unusable answer");
		log_debug("matrix.%s: /keys/query: %d device(s) verified and pinned", n->name, k);
		n->td_query = 0;
		if (n->td_waiting)
			mx_decrypt_td_retry(n);
	} else {
		if (!n->td_query)
			n->prep_queried = 0;
		n->td_query = 0;
		crypto_backoff(n, "/keys/query", a->why);
	}
}

static void claim_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	if (a->v == MX_OK) {
		int k = e2ee_keys_claim_done(n->e2, r->body, r->len);
		log_debug("matrix.%s: /keys/claim: %d Olm session(s) made", n->name, k);
	} else {
		n->prep_claimed = 0;
		crypto_backoff(n, "/keys/claim", a->why);
	}
}

static void share_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	if (a->v == MX_OK && n->share_body) {
		if (e2ee_room_key_share_done(n->e2, n->share_sid, n->share_body) == 0)
			log_info("matrix.%s: room key of %s sent to %d device(s)", n->name,
				 n->prep_room, count_devices(n->share_body));
		n->cr.fails = 0;
	} else {
		crypto_backoff(n, "sharing the room key", a->why);
	}
	free(n->share_body);
	n->share_body = NULL;
}

static void unwedge_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	if (a->v == MX_OK && n->uw_cur >= 0) {
		struct unwedge *u = &n->uw[n->uw_cur];
		cJSON *empty = cJSON_CreateObject(), *c = NULL;
		if (empty && e2ee_keys_claim_done(n->e2, r->body, r->len) > 0)
			c = e2ee_olm_encrypt(n->e2, u->user, u->device, "m.dummy", empty);
		cJSON_Delete(empty);
		if (c) {
			log_info("matrix.%s: new Olm session with %s of %s: m.dummy goes over it",
				 n->name, u->device, u->user);
			mx_decrypt_tdq_add(n, "m.room.encrypted", mx_decrypt_td_body(u->user, u->device, c),
					   "m.dummy");
		} else {
			log_warn("matrix.%s: no one-time key claimed for %s of %s: the Olm session "
				 "is not repaired", n->name, u->device, u->user);
		}
	} else if (a->v != MX_OK) {
		log_warn("matrix.%s: repairing an Olm session: /keys/claim failed (%s)", n->name, a->why);
	}
	n->uw_cur = -1;
}

static void todevice_done(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a)
{
	if (a->v != MX_OK)
		log_warn("matrix.%s: a to-device message was not sent (%s)", n->name, a->why);
	free(n->td_body);
	n->td_body = NULL;
}

/* 429: what each request undoes so that crypto_kick makes it again after
 * the pause. */
static void upload_limited(struct mxnet *n)
{
	n->upload_check = 1;
}

static void query_limited(struct mxnet *n)
{
	if (!n->td_query)
		n->prep_queried = 0;
}

static void claim_limited(struct mxnet *n)
{
	n->prep_claimed = 0;
}

static void share_limited(struct mxnet *n)
{
	free(n->share_body);
	n->share_body = NULL;
}

static void todevice_limited(struct mxnet *n)
{
	/* not retried: a key request is made again for the next held event
	 * after an hour */
	log_warn("matrix.%s: a to-device message was rate-limited and dropped", n->name);
	free(n->td_body);
	n->td_body = NULL;
}

static void unwedge_limited(struct mxnet *n)
{
	if (n->uw_cur >= 0)
		n->uw[n->uw_cur].pending = 1; /* claimed again after the pause */
}

static const struct crypto_handler {
	void (*done)(struct mxnet *n, const struct http_resp *r, const struct mx_answer *a);
	void (*limited)(struct mxnet *n); /* NULL: nothing to undo */
} crypto_handlers[] = {
	[CR_UPLOAD] = { upload_done, upload_limited },
	[CR_XSIGN] = { xsign_done, NULL },
	[CR_XSIGN_SIGS] = { xsign_sigs_done, NULL },
	[CR_CHANGES] = { changes_done, NULL },
	[CR_MEMBERS] = { members_done, NULL },
	[CR_QUERY] = { query_done, query_limited },
	[CR_CLAIM] = { claim_done, claim_limited },
	[CR_SHARE] = { share_done, share_limited },
	[CR_UNWEDGE] = { unwedge_done, unwedge_limited },
	[CR_TODEVICE] = { todevice_done, todevice_limited },
};

static void on_crypto(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	enum crypto_op op = n->cr_op;
	const struct crypto_handler *h = op > CR_NONE && op <= CR_TODEVICE ? &crypto_handlers[op] : NULL;
	struct mx_answer a;
	int limited;
	n->cr.req = 0;
	n->cr_op = CR_NONE;
	mx_answer_take(n, r, &a);
	limited = a.limited;
	if (mx_job_defer(&n->cr, &a, mx_crypto_kick, "a crypto request")) {
		if (limited && h && h->limited)
			h->limited(n);
		if (limited) {
			n->td_query = 0;
			n->uw_cur = -1;
		}
		return;
	}
	if (h)
		h->done(n, r, &a);
	mx_answer_free(&a);
	mx_crypto_kick(n);
}
