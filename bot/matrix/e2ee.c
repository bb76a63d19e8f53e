/* e2ee.c - Olm/Megolm with libolm 3.2 for the Matrix client: account and
 * keys, device verification and pinning, to-device Olm, room Megolm, room
 * key sharing, cross-signing.  No HTTP (mxnet.c sends the bodies built
 * here) and no SQL (e2ee_store.c).  Rules follow the client-server spec,
 * "End-to-End Encryption" module; each check says which rule it is. */
#include "e2ee.h"
#include "clock.h"
#include "errmsg.h"

#include "canonjson.h"
#include "e2ee_store.h"

#include <errno.h>
#include <olm/olm.h>
#include <olm/inbound_group_session.h>
#include <olm/outbound_group_session.h>
#include <olm/pk.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Olm sessions tried per peer key when decrypting (most recent first). */
#define MAX_PEER_SESSIONS 16
/* Forget the previous fallback key an hour after rotating it: messages
 * already sent with it have arrived by then. */
#define FALLBACK_GRACE_MS (3600 * 1000LL)

struct e2ee {
	sqlite3 *db;
	OlmAccount *acct;
	OlmUtility *util;
	char user[E2EE_ID_LEN];
	char device[E2EE_ID_LEN];
	char owner[2 * E2EE_ID_LEN + 2];
	char curve[E2EE_KEY_LEN];
	char ed[E2EE_KEY_LEN];
	char *key;   /* pickle key */
	size_t keylen;
	int device_uploaded;
	int64_t fb_rotated_ms;
	e2ee_room_fn room_ok;  /* may a room key for this room be stored? */
	char share_sid[E2EE_KEY_LEN]; /* the last share body built: session */
	int64_t share_index;          /* and the index it carries */
	void *room_arg;
	/* incoming m.room_key_request's per requesting device, this minute */
	struct keyreq_in {
		char user[E2EE_ID_LEN];
		char device[E2EE_ID_LEN];
		int64_t since; /* window start, monotonic ms */
		int n;         /* requests in it; 0: a free slot */
	} kr_in[E2EE_KEYREQ_DEVICES];
	int kr_full;           /* the table was found full at kr_full_since */
	int64_t kr_full_since; /* (monotonic ms): logged once a minute */
};


static int rnd(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static const char *gstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *gobj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsObject(v) ? v : NULL;
}

/* ---- libolm objects: allocation and pickles ---- */

#define OLM_TYPE(name, T, size, ctor, clear, plen, pick, unpick)                         \
	static T *name##_new(void)                                                        \
	{                                                                                 \
		void *m = malloc(size());                                                 \
		return m ? ctor(m) : NULL;                                                \
	}                                                                                 \
	static void name##_free(T *o)                                                     \
	{                                                                                 \
		if (o) {                                                                  \
			clear(o);                                                         \
			free(o);                                                          \
		}                                                                         \
	}                                                                                 \
	static char *name##_pickle(const struct e2ee *e, T *o)                            \
	{                                                                                 \
		size_t n = plen(o);                                                       \
		char *p = malloc(n + 1);                                                  \
		if (!p)                                                                   \
			return NULL;                                                      \
		if (pick(o, e->key, e->keylen, p, n) == olm_error()) {                    \
			free(p);                                                          \
			return NULL;                                                      \
		}                                                                         \
		p[n] = '\0';                                                              \
		return p;                                                                 \
	}                                                                                 \
	static T *name##_unpickle(const struct e2ee *e, const char *s)                    \
	{                                                                                 \
		T *o = name##_new();                                                      \
		char *c = strdup(s);                                                      \
		if (!o || !c || unpick(o, e->key, e->keylen, c, strlen(c)) == olm_error()) { \
			name##_free(o);                                                   \
			o = NULL;                                                         \
		}                                                                         \
		free(c);                                                                  \
		return o;                                                                 \
	}

OLM_TYPE(sess, OlmSession, olm_session_size, olm_session, olm_clear_session,
	 olm_pickle_session_length, olm_pickle_session, olm_unpickle_session)
OLM_TYPE(igs, OlmInboundGroupSession, olm_inbound_group_session_size, olm_inbound_group_session,
	 olm_clear_inbound_group_session, olm_pickle_inbound_group_session_length,
	 olm_pickle_inbound_group_session, olm_unpickle_inbound_group_session)
OLM_TYPE(ogs, OlmOutboundGroupSession, olm_outbound_group_session_size, olm_outbound_group_session,
	 olm_clear_outbound_group_session, olm_pickle_outbound_group_session_length,
	 olm_pickle_outbound_group_session, olm_unpickle_outbound_group_session)

static OlmAccount *acct_new(void)
{
	void *m = malloc(olm_account_size());
	return m ? olm_account(m) : NULL;
}

static void acct_free(OlmAccount *a)
{
	if (a) {
		olm_clear_account(a);
		free(a);
	}
}

static char *acct_pickle(const struct e2ee *e)
{
	size_t n = olm_pickle_account_length(e->acct);
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	if (olm_pickle_account(e->acct, e->key, e->keylen, p, n) == olm_error()) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

/* Stores the account as it is in memory (inside the caller's savepoint). */
static int acct_store(struct e2ee *e)
{
	char *p = acct_pickle(e);
	if (!p)
		return -1;
	int rc = e2ee_store_account_put(e->db, e->owner, p, e->device_uploaded, e->fb_rotated_ms);
	free(p);
	return rc;
}

static int acct_save(struct e2ee *e)
{
	if (e2ee_store_begin(e->db) < 0)
		return -1;
	if (acct_store(e) < 0) {
		e2ee_store_rollback(e->db);
		return -1;
	}
	return e2ee_store_commit(e->db);
}

static int forwarded_import(struct e2ee *e, const char *skey, const char *ed, const char *sender,
			    const cJSON *c, char *err, size_t errlen);

static int sess_id(OlmSession *s, char *out, size_t len)
{
	size_t n = olm_session_id_length(s);
	if (n + 1 > len || olm_session_id(s, out, n) == olm_error())
		return -1;
	out[n] = '\0';
	return 0;
}

static int sess_store(struct e2ee *e, const char *peer_key, OlmSession *s)
{
	char id[E2EE_KEY_LEN];
	char *p = sess_pickle(e, s);
	int rc = -1;
	if (p && sess_id(s, id, sizeof id) == 0)
		rc = e2ee_store_olm_put(e->db, e->owner, peer_key, id, p, clock_wall_ms());
	free(p);
	return rc;
}

/* ---- signing ---- */

/* Adds signatures[signer][key_id] = sig to obj, keeping other signatures. */
static int add_sig(cJSON *obj, const char *signer, const char *key_id, const char *sig)
{
	cJSON *sigs = cJSON_GetObjectItemCaseSensitive(obj, "signatures");
	if (!cJSON_IsObject(sigs)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "signatures");
		if (!(sigs = cJSON_AddObjectToObject(obj, "signatures")))
			return -1;
	}
	cJSON *mine = cJSON_GetObjectItemCaseSensitive(sigs, signer);
	if (!cJSON_IsObject(mine)) {
		cJSON_DeleteItemFromObjectCaseSensitive(sigs, signer);
		if (!(mine = cJSON_AddObjectToObject(sigs, signer)))
			return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(mine, key_id);
	return cJSON_AddStringToObject(mine, key_id, sig) ? 0 : -1;
}

/* Signs obj with the device's ed25519 key (spec "Signing JSON"). */
static int sign_device(struct e2ee *e, cJSON *obj)
{
	char *c = canonjson_print(obj, 1);
	if (!c)
		return -1;
	size_t n = olm_account_signature_length(e->acct);
	char sig[128], kid[E2EE_ID_LEN + 16];
	int rc = -1;
	if (n < sizeof sig && olm_account_sign(e->acct, c, strlen(c), sig, n) != olm_error()) {
		sig[n] = '\0';
		snprintf(kid, sizeof kid, "ed25519:%s", e->device);
		rc = add_sig(obj, e->user, kid, sig);
	}
	free(c);
	return rc;
}

/* 1 when signatures[signer][key_id] is a valid signature by the ed25519
 * public key pub over obj's canonical JSON, else 0. */
static int verify_sig(OlmUtility *u, const cJSON *obj, const char *signer, const char *key_id,
		      const char *pub)
{
	const char *sig = gstr(gobj(gobj(obj, "signatures"), signer), key_id);
	if (!sig || !pub)
		return 0;
	char *c = canonjson_print(obj, 1);
	if (!c)
		return 0;
	char *sigc = strdup(sig);
	int ok = sigc && olm_ed25519_verify(u, pub, strlen(pub), c, strlen(c), sigc, strlen(sigc)) != olm_error();
	free(sigc);
	free(c);
	return ok;
}

/* ---- open / free ---- */

const char *e2ee_pickle_key(const char *config_value)
{
	if (config_value && *config_value)
		return config_value;
	const char *env = getenv("FAQBOT_PICKLE_KEY");
	return env && *env ? env : NULL;
}

void e2ee_free(struct e2ee *e)
{
	if (!e)
		return;
	acct_free(e->acct);
	if (e->util) {
		olm_clear_utility(e->util);
		free(e->util);
	}
	if (e->key) {
		memset(e->key, 0, e->keylen);
		free(e->key);
	}
	free(e);
}

static int read_identity(struct e2ee *e)
{
	size_t n = olm_account_identity_keys_length(e->acct);
	char *buf = malloc(n + 1);
	if (!buf || olm_account_identity_keys(e->acct, buf, n) == olm_error()) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	cJSON *j = cJSON_Parse(buf);
	free(buf);
	const char *c = gstr(j, "curve25519"), *d = gstr(j, "ed25519");
	int rc = -1;
	if (c && d) {
		snprintf(e->curve, sizeof e->curve, "%s", c);
		snprintf(e->ed, sizeof e->ed, "%s", d);
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}

struct e2ee *e2ee_open(sqlite3 *db, const char *user_id, const char *device_id,
		       const char *pickle_key, char *err, size_t errlen)
{
	if (!pickle_key || !*pickle_key) {
		errmsg_set(err, errlen, "e2ee: no pickle key: set pickle_key in the [matrix] section or "
				    "FAQBOT_PICKLE_KEY in the environment (there is no default)");
		return NULL;
	}
	if (!db || !user_id || !device_id || strlen(user_id) >= E2EE_ID_LEN ||
	    strlen(device_id) >= E2EE_ID_LEN) {
		errmsg_set(err, errlen, "e2ee: no state file, user id or device id");
		return NULL;
	}
	struct e2ee *e = calloc(1, sizeof *e);
	if (!e) {
		errmsg_set(err, errlen, "e2ee: out of memory");
		return NULL;
	}
	e->db = db;
	snprintf(e->user, sizeof e->user, "%s", user_id);
	snprintf(e->device, sizeof e->device, "%s", device_id);
	snprintf(e->owner, sizeof e->owner, "%s|%s", user_id, device_id);
	e->keylen = strlen(pickle_key);
	e->key = malloc(e->keylen);
	void *um = malloc(olm_utility_size());
	e->util = um ? olm_utility(um) : NULL;
	e->acct = acct_new();
	if (!e->key || !e->util || !e->acct) {
		errmsg_set(err, errlen, "e2ee: out of memory");
		goto fail;
	}
	memcpy(e->key, pickle_key, e->keylen);
	/* The account row is read before anything is written, so a wrong key
	 * leaves the file exactly as it was. */
	struct e2ee_store_account a = {0};
	int found = e2ee_store_account_get(db, e->owner, &a);
	if (found < 0) {
		/* the tables may not exist yet */
		if (e2ee_store_init(db) < 0 || (found = e2ee_store_account_get(db, e->owner, &a)) < 0) {
			errmsg_set(err, errlen, "e2ee: cannot read the crypto tables: %s", sqlite3_errmsg(db));
			goto fail;
		}
	}
	if (found == 1) {
		size_t r = olm_unpickle_account(e->acct, e->key, e->keylen, a.pickle, strlen(a.pickle));
		free(a.pickle);
		if (r == olm_error()) {
			enum OlmErrorCode c = olm_account_last_error_code(e->acct);
			if (c == OLM_BAD_ACCOUNT_KEY)
				errmsg_set(err, errlen, "e2ee: the pickle key does not open the stored Olm account of "
						    "%s (OLM_BAD_ACCOUNT_KEY): use the key it was created with; "
						    "nothing was changed", e->owner);
			else
				errmsg_set(err, errlen, "e2ee: the stored Olm account of %s is unreadable (%s); "
						    "nothing was changed", e->owner, olm_account_last_error(e->acct));
			goto fail;
		}
		e->device_uploaded = a.device_uploaded;
		e->fb_rotated_ms = a.fb_rotated_ms;
	} else {
		size_t rl = olm_create_account_random_length(e->acct);
		unsigned char *rb = malloc(rl);
		int ok = rb && rnd(rb, rl) == 0 && olm_create_account(e->acct, rb, rl) != olm_error();
		if (rb) {
			memset(rb, 0, rl);
			free(rb);
		}
		if (!ok || e2ee_store_init(db) < 0 || acct_save(e) < 0) {
			errmsg_set(err, errlen, "e2ee: cannot create and store the Olm account: %s", sqlite3_errmsg(db));
			goto fail;
		}
	}
	if (e2ee_store_init(db) < 0 || read_identity(e) < 0) {
		errmsg_set(err, errlen, "e2ee: cannot prepare the crypto tables: %s", sqlite3_errmsg(db));
		goto fail;
	}
	return e;
fail:
	e2ee_free(e);
	return NULL;
}

const char *e2ee_curve25519(const struct e2ee *e) { return e->curve; }
const char *e2ee_ed25519(const struct e2ee *e) { return e->ed; }

/* ---- device keys and /keys/upload ---- */

cJSON *e2ee_device_keys(struct e2ee *e)
{
	cJSON *o = cJSON_CreateObject();
	char kc[E2EE_ID_LEN + 16], ke[E2EE_ID_LEN + 16];
	snprintf(kc, sizeof kc, "curve25519:%s", e->device);
	snprintf(ke, sizeof ke, "ed25519:%s", e->device);
	cJSON_AddStringToObject(o, "user_id", e->user);
	cJSON_AddStringToObject(o, "device_id", e->device);
	cJSON *alg = cJSON_AddArrayToObject(o, "algorithms");
	cJSON_AddItemToArray(alg, cJSON_CreateString(E2EE_OLM));
	cJSON_AddItemToArray(alg, cJSON_CreateString(E2EE_MEGOLM));
	cJSON *keys = cJSON_AddObjectToObject(o, "keys");
	cJSON_AddStringToObject(keys, kc, e->curve);
	cJSON_AddStringToObject(keys, ke, e->ed);
	if (sign_device(e, o) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* {"curve25519":{"id":"key"...}} from one of libolm's key listings. */
static cJSON *olm_keys_json(struct e2ee *e, int fallback)
{
	size_t n = fallback ? olm_account_unpublished_fallback_key_length(e->acct)
			    : olm_account_one_time_keys_length(e->acct);
	char *buf = malloc(n + 1);
	if (!buf)
		return NULL;
	size_t r = fallback ? olm_account_unpublished_fallback_key(e->acct, buf, n)
			    : olm_account_one_time_keys(e->acct, buf, n);
	cJSON *j = NULL;
	if (r != olm_error()) {
		buf[r] = '\0';
		j = cJSON_Parse(buf);
	}
	free(buf);
	return j;
}

static int has_fallback(struct e2ee *e)
{
	size_t n = olm_account_fallback_key_length(e->acct);
	char *buf = malloc(n + 1);
	if (!buf)
		return -1;
	size_t r = olm_account_fallback_key(e->acct, buf, n);
	int has = 0;
	if (r != olm_error()) {
		buf[r] = '\0';
		cJSON *j = cJSON_Parse(buf);
		const cJSON *c = gobj(j, "curve25519");
		has = c && c->child;
		cJSON_Delete(j);
	}
	free(buf);
	return has;
}

/* Moves {"curve25519":{id:key}} into dst as signed_curve25519:id objects. */
static int add_signed_keys(struct e2ee *e, cJSON *dst, const cJSON *src, int fallback)
{
	int n = 0;
	for (const cJSON *k = gobj(src, "curve25519") ? gobj(src, "curve25519")->child : NULL; k; k = k->next) {
		if (!cJSON_IsString(k))
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "key", k->valuestring);
		if (fallback)
			cJSON_AddTrueToObject(o, "fallback");
		char id[128];
		snprintf(id, sizeof id, "signed_curve25519:%s", k->string);
		if (sign_device(e, o) < 0) {
			cJSON_Delete(o);
			return -1;
		}
		cJSON_AddItemToObject(dst, id, o);
		n++;
	}
	return n;
}

static int gen_random(OlmAccount *a, size_t rl, size_t (*fn)(OlmAccount *, void *, size_t))
{
	unsigned char *rb = malloc(rl ? rl : 1);
	int ok = rb && rnd(rb, rl) == 0 && fn(a, rb, rl) != olm_error();
	if (rb) {
		memset(rb, 0, rl);
		free(rb);
	}
	return ok ? 0 : -1;
}

/* Adds the signed KEYS to BODY under NAME when there are any; returns how
 * many, or -1 when signing failed. */
static int add_key_set(struct e2ee *e, cJSON *body, const char *name, cJSON *keys, int fallback)
{
	cJSON *o = cJSON_CreateObject();
	int n = add_signed_keys(e, o, keys, fallback);
	if (n > 0)
		cJSON_AddItemToObject(body, name, o);
	else
		cJSON_Delete(o);
	return n;
}

static size_t gen_fallback(OlmAccount *a, void *r, size_t n) { return olm_account_generate_fallback_key(a, r, n); }

char *e2ee_keys_upload_body(struct e2ee *e, long otk_count, int fallback_unused, int64_t now,
			    char *err, size_t errlen)
{
	errmsg_set(err, errlen, "%s", "");
	long target = (long)olm_account_max_number_of_one_time_keys(e->acct) / 2;
	cJSON *otks = olm_keys_json(e, 0);
	long unpublished = 0;
	for (const cJSON *k = gobj(otks, "curve25519") ? gobj(otks, "curve25519")->child : NULL; k; k = k->next)
		unpublished++;
	long need = target - (otk_count > 0 ? otk_count : 0) - unpublished;
	int changed = 0;
	if (need > 0) {
		size_t rl = olm_account_generate_one_time_keys_random_length(e->acct, (size_t)need);
		unsigned char *rb = malloc(rl ? rl : 1);
		int ok = rb && rnd(rb, rl) == 0 &&
			 olm_account_generate_one_time_keys(e->acct, (size_t)need, rb, rl) != olm_error();
		free(rb);
		if (!ok) {
			cJSON_Delete(otks);
			errmsg_set(err, errlen, "e2ee: one-time key generation failed");
			return NULL;
		}
		cJSON_Delete(otks);
		otks = olm_keys_json(e, 0);
		changed = 1;
	}
	cJSON *fb = olm_keys_json(e, 1);
	int fb_pending = gobj(fb, "curve25519") && gobj(fb, "curve25519")->child;
	/* Rotate when the server says ours was used, or when there is none;
	 * never while a new one awaits upload (or the unpublished one would
	 * push the published one out of libolm's two slots). */
	if (!fb_pending && (fallback_unused == 0 || has_fallback(e) == 0)) {
		if (gen_random(e->acct, olm_account_generate_fallback_key_random_length(e->acct), gen_fallback) < 0) {
			cJSON_Delete(otks);
			cJSON_Delete(fb);
			errmsg_set(err, errlen, "e2ee: fallback key generation failed");
			return NULL;
		}
		e->fb_rotated_ms = now;
		cJSON_Delete(fb);
		fb = olm_keys_json(e, 1);
		changed = 1;
	} else if (e->fb_rotated_ms && now - e->fb_rotated_ms > FALLBACK_GRACE_MS && !fb_pending) {
		olm_account_forget_old_fallback_key(e->acct);
		e->fb_rotated_ms = 0;
		changed = 1;
	}
	cJSON *body = cJSON_CreateObject();
	int items = 0;
	if (!e->device_uploaded) {
		cJSON *dk = e2ee_device_keys(e);
		if (dk) {
			cJSON_AddItemToObject(body, "device_keys", dk);
			items++;
		}
	}
	int no = add_key_set(e, body, "one_time_keys", otks, 0);
	int nf = add_key_set(e, body, "fallback_keys", fb, 1);
	items += (no > 0) + (nf > 0);
	cJSON_Delete(otks);
	cJSON_Delete(fb);
	char *out = NULL;
	if (no < 0 || nf < 0) {
		errmsg_set(err, errlen, "e2ee: signing keys failed");
	} else if ((changed || items) && acct_save(e) < 0) {
		/* pickle before upload: without it, no upload */
		errmsg_set(err, errlen, "e2ee: cannot store the account: %s", sqlite3_errmsg(e->db));
	} else if (items) {
		out = canonjson_print(body, 0);
	}
	cJSON_Delete(body);
	return out;
}

long e2ee_keys_upload_done(struct e2ee *e, const char *response, size_t len)
{
	olm_account_mark_keys_as_published(e->acct);
	e->device_uploaded = 1;
	if (acct_save(e) < 0)
		return -1;
	cJSON *j = response ? cJSON_ParseWithLength(response, len) : NULL;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(gobj(j, "one_time_key_counts"), "signed_curve25519");
	/* The homeserver's count is a JSON number: anything outside 0..1e9
	 * (or NaN) is nonsense, and casting it would be undefined. */
	long n = cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble <= 1e9 ? (long)c->valuedouble : 0;
	cJSON_Delete(j);
	return n;
}

/* ---- devices ---- */

int e2ee_device_verify(const cJSON *dk, const char *user_id, const char *device_id, char *err,
		       size_t errlen)
{
	const char *u = gstr(dk, "user_id"), *d = gstr(dk, "device_id");
	if (!u || !d || strcmp(u, user_id) || strcmp(d, device_id)) {
		/* spec: a device answered under another name is ignored */
		errmsg_set(err, errlen, "device %s of %s: user_id/device_id do not match", device_id, user_id);
		return 0;
	}
	char kid[E2EE_ID_LEN + 16];
	snprintf(kid, sizeof kid, "curve25519:%s", device_id);
	const char *curve = gstr(gobj(dk, "keys"), kid);
	snprintf(kid, sizeof kid, "ed25519:%s", device_id);
	const char *ed = gstr(gobj(dk, "keys"), kid);
	if (!curve || !ed || strlen(curve) >= E2EE_KEY_LEN || strlen(ed) >= E2EE_KEY_LEN) {
		errmsg_set(err, errlen, "device %s of %s: no curve25519/ed25519 key", device_id, user_id);
		return 0;
	}
	void *m = malloc(olm_utility_size());
	if (!m)
		return 0;
	OlmUtility *u8 = olm_utility(m);
	int ok = verify_sig(u8, dk, user_id, kid, ed);
	olm_clear_utility(u8);
	free(m);
	if (!ok)
		errmsg_set(err, errlen, "device %s of %s: bad self-signature", device_id, user_id);
	return ok;
}

int e2ee_users_track(struct e2ee *e, const cJSON *users)
{
	if (e2ee_store_begin(e->db) < 0)
		return -1;
	int n = 0;
	int64_t now = clock_wall_ms();
	/* members of a room of ours: seen now (see e2ee_prune) */
	for (const cJSON *u = cJSON_IsArray(users) ? users->child : NULL; u && n < E2EE_MAX_USERS; u = u->next, n++)
		if (cJSON_IsString(u) && (e2ee_store_user_mark(e->db, e->owner, u->valuestring, 0, now) < 0 ||
					  e2ee_store_user_member(e->db, e->owner, u->valuestring, now) < 0)) {
			e2ee_store_rollback(e->db);
			return -1;
		}
	return e2ee_store_commit(e->db);
}

int e2ee_users_changed(struct e2ee *e, const cJSON *changed, const cJSON *left)
{
	if (e2ee_store_begin(e->db) < 0)
		return -1;
	int rc = 0;
	for (const cJSON *u = cJSON_IsArray(changed) ? changed->child : NULL; u && !rc; u = u->next) {
		if (!cJSON_IsString(u))
			continue;
		int t = e2ee_store_user_tracked(e->db, e->owner, u->valuestring);
		if (t < 0 || (t == 1 && e2ee_store_user_mark(e->db, e->owner, u->valuestring, 1, clock_wall_ms()) < 0))
			rc = -1;
	}
	for (const cJSON *u = cJSON_IsArray(left) ? left->child : NULL; u && !rc; u = u->next) {
		if (!cJSON_IsString(u))
			continue;
		if (e2ee_store_user_del(e->db, e->owner, u->valuestring) < 0 ||
		    e2ee_store_device_del_user(e->db, e->owner, u->valuestring) < 0)
			rc = -1;
	}
	if (rc) {
		e2ee_store_rollback(e->db);
		return -1;
	}
	return e2ee_store_commit(e->db);
}

char *e2ee_keys_query_body(struct e2ee *e)
{
	char (*ids)[E2EE_ID_LEN] = malloc(sizeof *ids * 128);
	if (!ids)
		return NULL;
	int n = e2ee_store_user_outdated(e->db, e->owner, ids, 128);
	char *out = NULL;
	if (n > 0) {
		cJSON *b = cJSON_CreateObject();
		cJSON *dk = cJSON_AddObjectToObject(b, "device_keys");
		for (int i = 0; i < n; i++)
			cJSON_AddItemToObject(dk, ids[i], cJSON_CreateArray());
		out = cJSON_PrintUnformatted(b);
		cJSON_Delete(b);
	}
	free(ids);
	return out;
}

int e2ee_keys_query_done(struct e2ee *e, const char *response, size_t len, char *err, size_t errlen)
{
	errmsg_set(err, errlen, "%s", "");
	cJSON *j = canonjson_parse(response, len, err, errlen);
	if (!j)
		return -1;
	const cJSON *dks = gobj(j, "device_keys");
	if (!dks || e2ee_store_begin(e->db) < 0) {
		cJSON_Delete(j);
		errmsg_set(err, errlen, "keys/query: no device_keys");
		return -1;
	}
	int accepted = 0, rc = 0;
	for (const cJSON *u = dks->child; u && !rc; u = u->next) {
		if (!cJSON_IsObject(u))
			continue;
		/* Drop the devices the answer no longer lists. */
		struct e2ee_store_device *old = malloc(sizeof *old * E2EE_MAX_DEVICES);
		int nold = old ? e2ee_store_device_list(e->db, e->owner, u->string, old, E2EE_MAX_DEVICES) : -1;
		for (int i = 0; i < nold; i++)
			if (!cJSON_GetObjectItemCaseSensitive(u, old[i].device_id))
				rc |= e2ee_store_device_del(e->db, e->owner, u->string, old[i].device_id);
		free(old);
		int nd = 0;
		for (const cJSON *d = u->child; d && !rc && nd < E2EE_MAX_DEVICES; d = d->next, nd++) {
			char why[256];
			if (!e2ee_device_verify(d, u->string, d->string, why, sizeof why)) {
				errmsg_set(err, errlen, "%s", why);
				continue;
			}
			struct e2ee_store_device nd_ = {0}, pinned;
			char kid[E2EE_ID_LEN + 16];
			snprintf(nd_.user_id, sizeof nd_.user_id, "%s", u->string);
			snprintf(nd_.device_id, sizeof nd_.device_id, "%s", d->string);
			snprintf(kid, sizeof kid, "curve25519:%s", d->string);
			snprintf(nd_.curve25519, sizeof nd_.curve25519, "%s", gstr(gobj(d, "keys"), kid));
			snprintf(kid, sizeof kid, "ed25519:%s", d->string);
			snprintf(nd_.ed25519, sizeof nd_.ed25519, "%s", gstr(gobj(d, "keys"), kid));
			int got = e2ee_store_device_get(e->db, e->owner, u->string, d->string, &pinned);
			if (got < 0) {
				rc = -1;
				break;
			}
			if (got == 1 && strcmp(pinned.ed25519, nd_.ed25519)) {
				/* pinned: a device id never changes its signing key */
				errmsg_set(err, errlen, "device %s of %s changed its ed25519 key: refused", d->string, u->string);
				continue;
			}
			if (e2ee_store_device_put(e->db, e->owner, &nd_) < 0)
				rc = -1;
			else
				accepted++;
		}
		if (!rc && e2ee_store_user_done(e->db, e->owner, u->string) < 0)
			rc = -1;
	}
	cJSON_Delete(j);
	if (rc) {
		e2ee_store_rollback(e->db);
		errmsg_set(err, errlen, "keys/query: store error: %s", sqlite3_errmsg(e->db));
		return -1;
	}
	return e2ee_store_commit(e->db) < 0 ? -1 : accepted;
}

void e2ee_set_room_filter(struct e2ee *e, e2ee_room_fn fn, void *arg)
{
	e->room_ok = fn;
	e->room_arg = arg;
}

int e2ee_user_outdated(struct e2ee *e, const char *user_id)
{
	return e2ee_store_user_is_outdated(e->db, e->owner, user_id);
}

int e2ee_user_refresh(struct e2ee *e, const char *user_id)
{
	return e2ee_store_user_mark(e->db, e->owner, user_id, 1, clock_wall_ms());
}

int e2ee_prune(struct e2ee *e, int64_t now, struct e2ee_store_pruned *out)
{
	struct e2ee_store_prune p = {
		.inbound_before_ms = now - E2EE_KEEP_INBOUND_MS,
		.seen_before_ms = now - E2EE_KEEP_SEEN_MS,
		.olm_before_ms = now - E2EE_KEEP_OLM_MS,
		.olm_per_peer = E2EE_KEEP_OLM_PER_PEER,
		.keyreq_before_ms = now - E2EE_KEEP_KEYREQ_MS,
		.stranger_before_ms = now - E2EE_KEEP_STRANGER_MS,
		.member_before_ms = now - E2EE_KEEP_MEMBER_MS,
		.keep_user = e->user,
	};
	if (e2ee_store_begin(e->db) < 0)
		return -1;
	if (e2ee_store_prune(e->db, e->owner, &p, out) < 0) {
		e2ee_store_rollback(e->db);
		return -1;
	}
	return e2ee_store_commit(e->db);
}

/* ---- receiving ---- */

/* Stores the inbound Megolm session of room made from session_key (an
 * m.room_key's, or an m.forwarded_room_key's when forwarded) sent by the
 * device sender_key / sender_ed of sender_user, unless the bot is not in
 * room or one that starts at the same or an earlier index is stored
 * (spec: a later-starting copy is worth less).  0 stored or kept, 1
 * refused (err), -1 store error. */
static int inbound_add(struct e2ee *e, int forwarded, const char *room, const char *sender_key,
		       const char *sid, const char *session_key, const char *sender_ed,
		       const char *sender_user, char *err, size_t errlen)
{
	const char *what = forwarded ? "m.forwarded_room_key" : "m.room_key";
	/* Bounded state: keys only for rooms the bot is in. */
	if (e->room_ok && !e->room_ok(e->room_arg, room)) {
		errmsg_set(err, errlen, "%s for %.80s, a room the bot has not joined: not stored", what, room);
		return 1;
	}
	OlmInboundGroupSession *s = igs_new();
	char *k = strdup(session_key);
	size_t kl = k ? strlen(k) : 0;
	int rc = 1;
	if (!s || !k ||
	    (forwarded ? olm_import_inbound_group_session(s, (uint8_t *)k, kl)
		       : olm_init_inbound_group_session(s, (uint8_t *)k, kl)) == olm_error()) {
		errmsg_set(err, errlen, "%s: bad session key", what);
		goto out;
	}
	char id[E2EE_KEY_LEN];
	size_t n = olm_inbound_group_session_id_length(s);
	if (n + 1 > sizeof id || olm_inbound_group_session_id(s, (uint8_t *)id, n) == olm_error() ||
	    (id[n] = '\0', strcmp(id, sid))) {
		errmsg_set(err, errlen, "%s: session_id does not match the key", what);
		goto out;
	}
	uint32_t first = olm_inbound_group_session_first_known_index(s);
	struct e2ee_store_inbound old = {0};
	int got = e2ee_store_inbound_get(e->db, e->owner, room, sender_key, sid, &old);
	free(old.pickle);
	if (got < 0 || (got == 1 && old.first_index <= first)) {
		rc = got < 0 ? -1 : 0; /* 0: keep the one we have */
		goto out;
	}
	char *p = igs_pickle(e, s);
	/* per-sender quota: the sender's least recently used sessions go */
	rc = p && e2ee_store_inbound_put(e->db, e->owner, room, sender_key, sid, p, first, sender_ed,
					 sender_user, clock_wall_ms()) == 0 &&
	     e2ee_store_inbound_quota(e->db, e->owner, sender_user, E2EE_MAX_INBOUND_PER_USER) >= 0 ? 0 : -1;
	free(p);
out:
	free(k);
	igs_free(s);
	return rc;
}

/* Returns 0 stored (or an older copy kept), 1 refused (err says why; the
 * Olm message itself was fine), -1 store error. */
static int room_key_import(struct e2ee *e, const char *sender_key, const char *sender_ed,
			   const char *sender_user, const cJSON *content, char *err, size_t errlen)
{
	const char *alg = gstr(content, "algorithm"), *room = gstr(content, "room_id");
	const char *sid = gstr(content, "session_id"), *skey = gstr(content, "session_key");
	if (!alg || strcmp(alg, E2EE_MEGOLM) || !room || !sid || !skey) {
		errmsg_set(err, errlen, "m.room_key: not a Megolm key");
		return 1;
	}
	if (strlen(room) > 255 || strlen(sid) >= E2EE_KEY_LEN) {
		errmsg_set(err, errlen, "m.room_key: room or session id too long");
		return 1;
	}
	return inbound_add(e, 0, room, sender_key, sid, skey, sender_ed, sender_user, err, errlen);
}

/* Tries one Olm decryption; plaintext malloc'd on success. */
static char *olm_try(OlmSession *s, size_t type, const char *body)
{
	size_t len = strlen(body);
	char *c = strdup(body);
	if (!c)
		return NULL;
	size_t max = olm_decrypt_max_plaintext_length(s, type, c, len);
	if (max == olm_error()) {
		free(c);
		return NULL;
	}
	memcpy(c, body, len);
	char *p = malloc(max + 1);
	size_t n = p ? olm_decrypt(s, type, c, len, p, max) : olm_error();
	free(c);
	if (n == olm_error()) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

cJSON *e2ee_olm_decrypt(struct e2ee *e, const cJSON *event, char *err, size_t errlen)
{
	int st;
	return e2ee_olm_decrypt_st(e, event, &st, err, errlen);
}

cJSON *e2ee_olm_decrypt_st(struct e2ee *e, const cJSON *event, int *status, char *err, size_t errlen)
{
	*status = E2EE_FAIL;
	const char *sender = gstr(event, "sender");
	const cJSON *content = gobj(event, "content");
	const char *alg = gstr(content, "algorithm"), *skey = gstr(content, "sender_key");
	const cJSON *mine = gobj(gobj(content, "ciphertext"), e->curve);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(mine, "type");
	const char *body = gstr(mine, "body");
	if (!sender || !alg || strcmp(alg, E2EE_OLM) || !skey || strlen(skey) >= E2EE_KEY_LEN ||
	    !cJSON_IsNumber(type) || !body) {
		errmsg_set(err, errlen, "olm: not an Olm message for this device");
		return NULL;
	}
	if (strlen(body) > E2EE_MAX_CIPHERTEXT) {
		errmsg_set(err, errlen, "olm: ciphertext too long");
		return NULL;
	}
	size_t mtype = type->valueint == 0 ? OLM_MESSAGE_TYPE_PRE_KEY : OLM_MESSAGE_TYPE_MESSAGE;
	if (type->valueint != 0 && type->valueint != 1) {
		errmsg_set(err, errlen, "olm: unknown message type");
		return NULL;
	}
	/* Only from a device of the stated sender that we pinned
	 * (TOFU from a verified /keys/query).  Checked before decrypting, so
	 * nothing is used up: the caller holds the event, asks the server
	 * for the sender's devices, and tries again. */
	struct e2ee_store_device dev;
	int known = e2ee_store_device_of(e->db, e->owner, sender, skey, &dev);
	if (known < 0) {
		errmsg_set(err, errlen, "olm: store error");
		return NULL;
	}
	if (known == 0) {
		*status = E2EE_UNKNOWN_DEVICE;
		errmsg_set(err, errlen, "olm: sender key %.12s... is not a pinned device of %s", skey, sender);
		return NULL;
	}
	char *pk[MAX_PEER_SESSIONS];
	int np = e2ee_store_olm_list(e->db, e->owner, skey, pk, MAX_PEER_SESSIONS);
	OlmSession *use = NULL;
	char *plain = NULL;
	int fresh = 0;
	for (int i = 0; i < np; i++) {
		OlmSession *s = use || plain ? NULL : sess_unpickle(e, pk[i]);
		free(pk[i]);
		if (!s)
			continue;
		if (mtype == OLM_MESSAGE_TYPE_PRE_KEY) {
			char *c = strdup(body);
			int m = c && olm_matches_inbound_session_from(s, skey, strlen(skey), c, strlen(c)) == 1;
			free(c);
			if (m && (plain = olm_try(s, mtype, body))) {
				use = s;
				continue;
			}
		} else if ((plain = olm_try(s, mtype, body))) {
			use = s;
			continue;
		}
		sess_free(s);
	}
	if (!use && mtype == OLM_MESSAGE_TYPE_PRE_KEY) {
		OlmSession *s = sess_new();
		char *c = strdup(body);
		if (s && c && olm_create_inbound_session_from(s, e->acct, skey, strlen(skey), c, strlen(c)) != olm_error() &&
		    (plain = olm_try(s, mtype, body))) {
			use = s;
			fresh = 1;
		} else {
			sess_free(s);
		}
		free(c);
	}
	if (!use) {
		/* a known device whose session we lost (or never had): the
		 * caller may repair it (new session, m.dummy) */
		*status = E2EE_WEDGED;
		errmsg_set(err, errlen, "olm: cannot decrypt (no matching session)");
		return NULL;
	}
	cJSON *pl = cJSON_Parse(plain);
	free(plain);
	cJSON *ret = NULL;
	/* Spec: sender, recipient and recipient_keys must be ours/theirs, and
	 * keys.ed25519 must be the sending device's pinned key when known. */
	const char *psender = gstr(pl, "sender"), *prec = gstr(pl, "recipient");
	const char *prk = gstr(gobj(pl, "recipient_keys"), "ed25519");
	const char *pked = gstr(gobj(pl, "keys"), "ed25519");
	const char *ptype = gstr(pl, "type");
	if (!pl || !ptype || !gobj(pl, "content")) {
		errmsg_set(err, errlen, "olm: malformed plaintext");
	} else if (!psender || strcmp(psender, sender)) {
		errmsg_set(err, errlen, "olm: plaintext sender does not match the event sender");
	} else if (!prec || strcmp(prec, e->user) || !prk || strcmp(prk, e->ed)) {
		errmsg_set(err, errlen, "olm: not addressed to this device");
	} else if (!pked || strcmp(dev.user_id, sender) || strcmp(dev.ed25519, pked)) {
		errmsg_set(err, errlen, "olm: sender device keys do not match the pinned ones");
	} else if (e2ee_store_begin(e->db) == 0) {
		int rc = 0, refused = 0;
		/* one-time key removed only now, after a successful decryption */
		if (fresh && (olm_remove_one_time_keys(e->acct, use) == olm_error() || acct_store(e) < 0))
			rc = -1;
		if (!rc && sess_store(e, skey, use) < 0)
			rc = -1;
		/* a new inbound session (a pre-key message, possibly on our
		 * fallback key): a device keeps at most 16 */
		if (!rc && fresh && e2ee_store_olm_trim(e->db, e->owner, skey, E2EE_KEEP_OLM_PER_PEER) < 0)
			rc = -1;
		if (!rc && !strcmp(ptype, "m.room_key")) {
			int k = room_key_import(e, skey, pked, sender, gobj(pl, "content"), err, errlen);
			if (k < 0)
				rc = -1;
			refused = k > 0;
		} else if (!rc && !strcmp(ptype, "m.forwarded_room_key")) {
			int k = forwarded_import(e, skey, pked, sender, gobj(pl, "content"), err, errlen);
			if (k < 0)
				rc = -1;
			refused = k > 0;
		}
		if (rc) {
			e2ee_store_rollback(e->db);
			if (!err || !*err)
				errmsg_set(err, errlen, "olm: store error");
		} else if (e2ee_store_commit(e->db) == 0 && !refused) {
			/* (a refused room key: the session advanced, the key not kept) */
			*status = E2EE_OK;
			ret = pl;
			pl = NULL;
		}
	}
	cJSON_Delete(pl);
	sess_free(use);
	return ret;
}

cJSON *e2ee_megolm_decrypt(struct e2ee *e, const char *room_id, const cJSON *event, int *status,
			   char *err, size_t errlen)
{
	*status = E2EE_FAIL;
	const cJSON *content = gobj(event, "content");
	const char *alg = gstr(content, "algorithm"), *skey = gstr(content, "sender_key");
	const char *sid = gstr(content, "session_id"), *ct = gstr(content, "ciphertext");
	const char *evid = gstr(event, "event_id"), *sender = gstr(event, "sender");
	/* sender_key and device_id are deprecated (spec v1.3): optional */
	if (!alg || strcmp(alg, E2EE_MEGOLM) || !sid || !ct || !evid || !sender) {
		errmsg_set(err, errlen, "megolm: not a Megolm event");
		return NULL;
	}
	if (strlen(ct) > E2EE_MAX_CIPHERTEXT) {
		errmsg_set(err, errlen, "megolm: ciphertext too long");
		return NULL;
	}
	struct e2ee_store_inbound in = {0};
	int got = e2ee_store_inbound_get(e->db, e->owner, room_id, skey, sid, &in);
	if (got != 1) {
		if (got == 0)
			*status = E2EE_NO_SESSION;
		errmsg_set(err, errlen, got == 0 ? "megolm: room key not received yet" : "megolm: store error");
		return NULL;
	}
	if (!skey)
		skey = in.sender_key;
	char in_ed[E2EE_KEY_LEN];
	snprintf(in_ed, sizeof in_ed, "%s", in.sender_ed25519);
	OlmInboundGroupSession *s = igs_unpickle(e, in.pickle);
	free(in.pickle);
	if (!s) {
		errmsg_set(err, errlen, "megolm: stored session unreadable");
		return NULL;
	}
	size_t len = strlen(ct);
	char *c = strdup(ct);
	cJSON *pl = NULL, *ret = NULL;
	size_t max = c ? olm_group_decrypt_max_plaintext_length(s, (uint8_t *)c, len) : olm_error();
	uint32_t idx = 0;
	char *p = NULL;
	size_t n = olm_error();
	if (max != olm_error() && (p = malloc(max + 1))) {
		memcpy(c, ct, len);
		n = olm_group_decrypt(s, (uint8_t *)c, len, (uint8_t *)p, max, &idx);
	}
	if (n == olm_error()) {
		if (olm_inbound_group_session_last_error_code(s) == OLM_UNKNOWN_MESSAGE_INDEX) {
			*status = E2EE_UNKNOWN_INDEX;
			errmsg_set(err, errlen, "megolm: message index before our copy of the session");
		} else {
			errmsg_set(err, errlen, "megolm: cannot decrypt (%s)", olm_inbound_group_session_last_error(s));
		}
		goto out;
	}
	p[n] = '\0';
	pl = cJSON_Parse(p);
	const char *proom = gstr(pl, "room_id");
	/* The session must have come from a device of the stated
	 * sender that is pinned (our own device for our own messages), with
	 * the ed25519 key its m.room_key claimed. */
	struct e2ee_store_device dev;
	int own = !strcmp(sender, e->user) && !strcmp(skey, e->curve);
	int known = own ? 1 : e2ee_store_device_of(e->db, e->owner, sender, skey, &dev);
	if (!pl || !gstr(pl, "type") || !gobj(pl, "content")) {
		errmsg_set(err, errlen, "megolm: malformed plaintext");
	} else if (!proom || strcmp(proom, room_id)) {
		/* spec: a payload for another room is a replay across rooms */
		errmsg_set(err, errlen, "megolm: payload for another room");
	} else if (known < 0) {
		errmsg_set(err, errlen, "megolm: store error");
	} else if (known == 0 || (!own && in_ed[0] && strcmp(dev.ed25519, in_ed))) {
		*status = E2EE_UNKNOWN_DEVICE;
		errmsg_set(err, errlen, "megolm: session not from a pinned device of %s", sender);
	} else {
		int64_t now = clock_wall_ms();
		int seen = e2ee_store_seen(e->db, e->owner, sid, idx, evid, now);
		if (seen == 0 && e2ee_store_inbound_used(e->db, e->owner, sid, now) < 0)
			seen = -1;
		if (seen == 1) {
			*status = E2EE_REPLAY;
			errmsg_set(err, errlen, "megolm: message index %u already used by another event: replay",
			       (unsigned)idx);
		} else if (seen == 0) {
			*status = E2EE_OK;
			ret = pl;
			pl = NULL;
		} else {
			errmsg_set(err, errlen, "megolm: store error");
		}
	}
out:
	cJSON_Delete(pl);
	free(p);
	free(c);
	igs_free(s);
	return ret;
}

/* ---- sending ---- */

static OlmSession *session_for(struct e2ee *e, const char *curve)
{
	char *pk[1];
	if (e2ee_store_olm_list(e->db, e->owner, curve, pk, 1) != 1)
		return NULL;
	OlmSession *s = sess_unpickle(e, pk[0]);
	free(pk[0]);
	return s;
}

/* Calls ITEM for each device of the users listed in USERS (at most
 * E2EE_MAX_USERS of them) but the bot's own; what it returns (NULL skips the
 * device) goes into DST as user → device → item.  Returns how many went in,
 * -1 when out of memory. */
typedef cJSON *peer_item_fn(struct e2ee *e, const struct e2ee_store_device *d, void *ctx);

static int per_peer_device(struct e2ee *e, const cJSON *users, cJSON *dst, peer_item_fn *item, void *ctx)
{
	struct e2ee_store_device *d = malloc(sizeof *d * E2EE_MAX_DEVICES);
	if (!d)
		return -1;
	int total = 0, nu = 0;
	for (const cJSON *u = cJSON_IsArray(users) ? users->child : NULL; u && nu < E2EE_MAX_USERS; u = u->next, nu++) {
		if (!cJSON_IsString(u))
			continue;
		int n = e2ee_store_device_list(e->db, e->owner, u->valuestring, d, E2EE_MAX_DEVICES);
		cJSON *uo = NULL;
		for (int i = 0; i < n; i++) {
			if (!strcmp(d[i].user_id, e->user) && !strcmp(d[i].device_id, e->device))
				continue;
			cJSON *c = item(e, &d[i], ctx);
			if (!c)
				continue;
			if (!uo)
				uo = cJSON_AddObjectToObject(dst, u->valuestring);
			cJSON_AddItemToObject(uo, d[i].device_id, c);
			total++;
		}
	}
	free(d);
	return total;
}

/* A one-time key is claimed for each device the bot has no Olm session with. */
static cJSON *claim_item(struct e2ee *e, const struct e2ee_store_device *d, void *ctx)
{
	char *pk[1];
	int have = e2ee_store_olm_list(e->db, e->owner, d->curve25519, pk, 1);
	if (have == 1)
		free(pk[0]);
	return have == 0 ? cJSON_CreateString("signed_curve25519") : NULL;
}

char *e2ee_keys_claim_body(struct e2ee *e, const cJSON *users)
{
	cJSON *b = cJSON_CreateObject();
	cJSON *otk = cJSON_AddObjectToObject(b, "one_time_keys");
	int total = per_peer_device(e, users, otk, claim_item, NULL);
	char *out = total > 0 ? cJSON_PrintUnformatted(b) : NULL;
	cJSON_Delete(b);
	return out;
}

int e2ee_keys_claim_done(struct e2ee *e, const char *response, size_t len)
{
	cJSON *j = canonjson_parse(response, len, NULL, 0);
	const cJSON *otk = gobj(j, "one_time_keys");
	if (!otk) {
		cJSON_Delete(j);
		return -1;
	}
	int made = 0;
	for (const cJSON *u = otk->child; u; u = u->next) {
		for (const cJSON *d = cJSON_IsObject(u) ? u->child : NULL; d; d = d->next) {
			struct e2ee_store_device dev;
			if (!cJSON_IsObject(d) || e2ee_store_device_get(e->db, e->owner, u->string, d->string, &dev) != 1)
				continue;
			for (const cJSON *k = d->child; k; k = k->next) {
				const char *key = gstr(k, "key");
				char kid[E2EE_ID_LEN + 16];
				snprintf(kid, sizeof kid, "ed25519:%s", d->string);
				if (strncmp(k->string, "signed_curve25519:", 18) || !key ||
				    !verify_sig(e->util, k, u->string, kid, dev.ed25519))
					continue; /* spec: only a key signed by the device */
				OlmSession *s = sess_new();
				size_t rl = s ? olm_create_outbound_session_random_length(s) : 0;
				unsigned char *rb = malloc(rl ? rl : 1);
				int ok = s && rb && rnd(rb, rl) == 0 &&
					 olm_create_outbound_session(s, e->acct, dev.curve25519, strlen(dev.curve25519),
								     key, strlen(key), rb, rl) != olm_error();
				free(rb);
				if (ok && e2ee_store_begin(e->db) == 0) {
					if (sess_store(e, dev.curve25519, s) == 0 && e2ee_store_commit(e->db) == 0)
						made++;
					else
						e2ee_store_rollback(e->db);
				}
				sess_free(s);
				break;
			}
		}
	}
	cJSON_Delete(j);
	return made;
}

/* Olm-encrypts for a pinned device and stores the advanced session, inside
 * the caller's savepoint. */
static cJSON *olm_encrypt_dev(struct e2ee *e, const struct e2ee_store_device *d, const char *type,
			      const cJSON *content)
{
	OlmSession *s = session_for(e, d->curve25519);
	if (!s)
		return NULL;
	cJSON *pl = cJSON_CreateObject();
	cJSON_AddStringToObject(pl, "type", type);
	cJSON_AddItemToObject(pl, "content", cJSON_Duplicate(content, 1));
	cJSON_AddStringToObject(pl, "sender", e->user);
	cJSON_AddStringToObject(pl, "sender_device", e->device);
	cJSON_AddStringToObject(pl, "recipient", d->user_id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pl, "recipient_keys"), "ed25519", d->ed25519);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pl, "keys"), "ed25519", e->ed);
	char *plain = canonjson_print(pl, 0);
	cJSON_Delete(pl);
	cJSON *ret = NULL;
	size_t mt = olm_encrypt_message_type(s);
	size_t rl = olm_encrypt_random_length(s);
	size_t ml = plain ? olm_encrypt_message_length(s, strlen(plain)) : 0;
	unsigned char *rb = malloc(rl ? rl : 1);
	char *msg = malloc(ml + 1);
	if (plain && rb && msg && rnd(rb, rl) == 0 &&
	    olm_encrypt(s, plain, strlen(plain), rb, rl, msg, ml) != olm_error() &&
	    sess_store(e, d->curve25519, s) == 0) {
		msg[ml] = '\0';
		ret = cJSON_CreateObject();
		cJSON_AddStringToObject(ret, "algorithm", E2EE_OLM);
		cJSON_AddStringToObject(ret, "sender_key", e->curve);
		cJSON *one = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ret, "ciphertext"), d->curve25519);
		cJSON_AddNumberToObject(one, "type", (double)mt);
		cJSON_AddStringToObject(one, "body", msg);
	}
	free(rb);
	free(msg);
	free(plain);
	sess_free(s);
	return ret;
}

cJSON *e2ee_olm_encrypt(struct e2ee *e, const char *user_id, const char *device_id, const char *type,
			const cJSON *content)
{
	struct e2ee_store_device d;
	if (e2ee_store_device_get(e->db, e->owner, user_id, device_id, &d) != 1)
		return NULL;
	if (e2ee_store_begin(e->db) < 0)
		return NULL;
	cJSON *r = olm_encrypt_dev(e, &d, type, content);
	if (!r || e2ee_store_commit(e->db) < 0) {
		e2ee_store_rollback(e->db);
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

int e2ee_room_rotate(struct e2ee *e, const char *room_id)
{
	return e2ee_store_outbound_del(e->db, e->owner, room_id);
}

/* Makes and stores a new outbound session for room (and our own inbound
 * copy, so the bot can read its own messages). */
static int outbound_new(struct e2ee *e, const char *room_id, int64_t now, struct e2ee_store_outbound *o)
{
	OlmOutboundGroupSession *s = ogs_new();
	size_t rl = s ? olm_init_outbound_group_session_random_length(s) : 0;
	unsigned char *rb = malloc(rl ? rl : 1);
	int rc = -1;
	char *p = NULL, *ip = NULL, *key = NULL;
	OlmInboundGroupSession *in = NULL;
	if (!s || !rb || rnd(rb, rl) < 0 || olm_init_outbound_group_session(s, rb, rl) == olm_error())
		goto out;
	size_t n = olm_outbound_group_session_id_length(s);
	if (n + 1 > sizeof o->session_id ||
	    olm_outbound_group_session_id(s, (uint8_t *)o->session_id, n) == olm_error())
		goto out;
	o->session_id[n] = '\0';
	size_t kl = olm_outbound_group_session_key_length(s);
	key = malloc(kl + 1);
	in = igs_new();
	if (!key || !in || olm_outbound_group_session_key(s, (uint8_t *)key, kl) == olm_error() ||
	    olm_init_inbound_group_session(in, (uint8_t *)key, kl) == olm_error())
		goto out;
	p = ogs_pickle(e, s);
	ip = igs_pickle(e, in);
	if (!p || !ip || e2ee_store_begin(e->db) < 0)
		goto out;
	if (e2ee_store_outbound_put(e->db, e->owner, room_id, o->session_id, p, now, 0) < 0 ||
	    e2ee_store_inbound_put(e->db, e->owner, room_id, e->curve, o->session_id, ip, 0, e->ed,
				   e->user, now) < 0) {
		e2ee_store_rollback(e->db);
		goto out;
	}
	rc = e2ee_store_commit(e->db);
	o->pickle = p;
	p = NULL;
	o->created_ms = now;
	o->msgs = 0;
out:
	if (key) {
		memset(key, 0, kl);
		free(key);
	}
	free(rb);
	free(p);
	free(ip);
	igs_free(in);
	ogs_free(s);
	return rc;
}
/* The room key goes, Olm-encrypted, to each device that has not had this
 * session yet and has an Olm session (else a key is claimed first). */
struct share_ctx {
	const char *session_id;
	const cJSON *room_key;
};

static cJSON *share_item(struct e2ee *e, const struct e2ee_store_device *d, void *ctx)
{
	const struct share_ctx *sc = ctx;
	if (e2ee_store_shared_has(e->db, e->owner, sc->session_id, d->user_id, d->device_id) != 0)
		return NULL;
	return olm_encrypt_dev(e, d, "m.room_key", sc->room_key);
}


char *e2ee_room_key_share_body(struct e2ee *e, const char *room_id, const cJSON *users, long rot_msgs,
			       int64_t rot_ms, int64_t now, char *session_id, size_t session_len)
{
	if (rot_msgs <= 0)
		rot_msgs = E2EE_ROT_MSGS_DEFAULT;
	if (rot_ms <= 0)
		rot_ms = E2EE_ROT_MS_DEFAULT;
	struct e2ee_store_outbound o = {0};
	int got = e2ee_store_outbound_get(e->db, e->owner, room_id, &o);
	if (got < 0)
		return NULL;
	if (got == 0 || o.msgs >= rot_msgs || now - o.created_ms >= rot_ms) {
		free(o.pickle);
		o.pickle = NULL;
		if (outbound_new(e, room_id, now, &o) < 0)
			return NULL;
	}
	snprintf(session_id, session_len, "%s", o.session_id);
	OlmOutboundGroupSession *s = ogs_unpickle(e, o.pickle);
	free(o.pickle);
	if (!s)
		return NULL;
	size_t kl = olm_outbound_group_session_key_length(s);
	char *key = malloc(kl + 1);
	uint32_t idx = olm_outbound_group_session_message_index(s);
	if (!key || olm_outbound_group_session_key(s, (uint8_t *)key, kl) == olm_error()) {
		free(key);
		ogs_free(s);
		return NULL;
	}
	key[kl] = '\0';
	ogs_free(s);
	cJSON *rk = cJSON_CreateObject();
	cJSON_AddStringToObject(rk, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(rk, "room_id", room_id);
	cJSON_AddStringToObject(rk, "session_id", o.session_id);
	cJSON_AddStringToObject(rk, "session_key", key);
	cJSON_AddNumberToObject(rk, "chain_index", idx);
	snprintf(e->share_sid, sizeof e->share_sid, "%s", o.session_id);
	e->share_index = idx;
	memset(key, 0, kl);
	free(key);
	cJSON *b = cJSON_CreateObject();
	cJSON *msgs = cJSON_AddObjectToObject(b, "messages");
	struct share_ctx sc = { o.session_id, rk };
	int fail = e2ee_store_begin(e->db) < 0;
	int total = fail ? 0 : per_peer_device(e, users, msgs, share_item, &sc);
	cJSON_Delete(rk);
	char *out = NULL;
	if (!fail) {
		if (total > 0 && e2ee_store_commit(e->db) == 0)
			out = cJSON_PrintUnformatted(b);
		else if (total)
			e2ee_store_rollback(e->db);
		else
			e2ee_store_commit(e->db);
	}
	cJSON_Delete(b);
	return out;
}

int e2ee_room_key_share_done(struct e2ee *e, const char *session_id, const char *body)
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *m = gobj(j, "messages");
	if (!m || e2ee_store_begin(e->db) < 0) {
		cJSON_Delete(j);
		return -1;
	}
	int rc = 0;
	for (const cJSON *u = m->child; u && !rc; u = u->next)
		for (const cJSON *d = u->child; d && !rc; d = d->next)
			rc = e2ee_store_shared_add(e->db, e->owner, session_id, u->string, d->string,
						   strcmp(session_id, e->share_sid) ? -1 : e->share_index);
	cJSON_Delete(j);
	if (rc) {
		e2ee_store_rollback(e->db);
		return -1;
	}
	return e2ee_store_commit(e->db);
}

char *e2ee_megolm_encrypt(struct e2ee *e, const char *room_id, const char *type, const cJSON *content)
{
	struct e2ee_store_outbound o = {0};
	/* Inside an open transaction the ratchet's advance would be committed
	 * only with it, maybe after the ciphertext has left (or never): the
	 * index could then be used again. */
	if (!sqlite3_get_autocommit(e->db) || e2ee_store_outbound_get(e->db, e->owner, room_id, &o) != 1)
		return NULL;
	OlmOutboundGroupSession *s = ogs_unpickle(e, o.pickle);
	free(o.pickle);
	if (!s)
		return NULL;
	cJSON *pl = cJSON_CreateObject();
	cJSON_AddStringToObject(pl, "type", type);
	cJSON_AddItemToObject(pl, "content", cJSON_Duplicate(content, 1));
	cJSON_AddStringToObject(pl, "room_id", room_id);
	char *plain = canonjson_print(pl, 0);
	cJSON_Delete(pl);
	char *out = NULL, *msg = NULL, *p = NULL;
	size_t ml = plain ? olm_group_encrypt_message_length(s, strlen(plain)) : 0;
	if (!plain || !(msg = malloc(ml + 1)) ||
	    olm_group_encrypt(s, (uint8_t *)plain, strlen(plain), (uint8_t *)msg, ml) == olm_error())
		goto out;
	msg[ml] = '\0';
	/* the advanced ratchet is stored before the ciphertext leaves */
	if (!(p = ogs_pickle(e, s)) || e2ee_store_begin(e->db) < 0)
		goto out;
	if (e2ee_store_outbound_put(e->db, e->owner, room_id, o.session_id, p, o.created_ms, o.msgs + 1) < 0 ||
	    e2ee_store_commit(e->db) < 0) {
		e2ee_store_rollback(e->db);
		goto out;
	}
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(c, "sender_key", e->curve);
	cJSON_AddStringToObject(c, "ciphertext", msg);
	cJSON_AddStringToObject(c, "session_id", o.session_id);
	cJSON_AddStringToObject(c, "device_id", e->device);
	/* spec: m.relates_to stays in the clear so servers can aggregate */
	const cJSON *rel = cJSON_GetObjectItemCaseSensitive(content, "m.relates_to");
	if (cJSON_IsObject(rel))
		cJSON_AddItemToObject(c, "m.relates_to", cJSON_Duplicate(rel, 1));
	out = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
out:
	free(p);
	free(msg);
	free(plain);
	ogs_free(s);
	return out;
}

/* ---- Olm repair and room-key requests ---- */

int e2ee_device_for_key(struct e2ee *e, const char *user_id, const char *curve, char *device_id,
			size_t len)
{
	struct e2ee_store_device d;
	int rc = e2ee_store_device_of(e->db, e->owner, user_id, curve, &d);
	if (rc == 1)
		snprintf(device_id, len, "%s", d.device_id);
	return rc;
}

char *e2ee_unwedge_claim_body(struct e2ee *e, const char *user_id, const char *device_id)
{
	struct e2ee_store_device d;
	if (e2ee_store_device_get(e->db, e->owner, user_id, device_id, &d) != 1)
		return NULL;
	cJSON *b = cJSON_CreateObject();
	cJSON *u = cJSON_AddObjectToObject(cJSON_AddObjectToObject(b, "one_time_keys"), user_id);
	cJSON_AddStringToObject(u, device_id, "signed_curve25519");
	char *out = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return out;
}

cJSON *e2ee_key_request(struct e2ee *e, const char *room_id, const char *sender_user,
			const char *sender_key, const char *session_id, int64_t now, char *request_id,
			size_t idlen)
{
	struct e2ee_store_keyreq old;
	unsigned char r[12];
	char id[64];
	if (!room_id || !sender_user || !session_id || strlen(session_id) >= E2EE_KEY_LEN ||
	    strlen(room_id) >= E2EE_ID_LEN || strlen(sender_user) >= E2EE_ID_LEN)
		return NULL;
	int got = e2ee_store_keyreq_get(e->db, e->owner, session_id, &old);
	if (got < 0 || (got == 1 && now - old.created_ms < E2EE_KEYREQ_AGAIN_MS))
		return NULL; /* asked already, recently */
	if (rnd(r, sizeof r) < 0)
		return NULL;
	snprintf(id, sizeof id, "fbkr");
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(id + 4 + 2 * i, sizeof id - 4 - 2 * i, "%02x", r[i]);
	if (e2ee_store_keyreq_del(e->db, e->owner, session_id) < 0 ||
	    e2ee_store_keyreq_put(e->db, e->owner, id, room_id, session_id, sender_user, now) < 0)
		return NULL;
	snprintf(request_id, idlen, "%s", id);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "action", "request");
	cJSON *body = cJSON_AddObjectToObject(c, "body");
	cJSON_AddStringToObject(body, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(body, "room_id", room_id);
	/* deprecated (spec v1.3) but still required by some clients (nio) */
	if (sender_key)
		cJSON_AddStringToObject(body, "sender_key", sender_key);
	cJSON_AddStringToObject(body, "session_id", session_id);
	cJSON_AddStringToObject(c, "request_id", id);
	cJSON_AddStringToObject(c, "requesting_device_id", e->device);
	return c;
}

cJSON *e2ee_key_request_cancel(struct e2ee *e, const char *session_id, char *user, size_t ulen)
{
	struct e2ee_store_keyreq r;
	if (!session_id || e2ee_store_keyreq_get(e->db, e->owner, session_id, &r) != 1)
		return NULL;
	if (e2ee_store_keyreq_del(e->db, e->owner, session_id) < 0)
		return NULL;
	snprintf(user, ulen, "%s", r.sender_user);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "action", "request_cancellation");
	cJSON_AddStringToObject(c, "request_id", r.request_id);
	cJSON_AddStringToObject(c, "requesting_device_id", e->device);
	return c;
}

/* An m.forwarded_room_key over Olm from skey (a pinned device of sender,
 * ed25519 ed): taken only when we asked for that session, from that user,
 * and the session is the forwarding device's own (sender_key = skey,
 * sender_claimed_ed25519_key = its pinned key, no forwarding chain): a
 * key relayed by a third device could not be tied to a pinned sender.
 * 0 stored, 1 refused (err), -1 store error. */
static int forwarded_import(struct e2ee *e, const char *skey, const char *ed, const char *sender,
			    const cJSON *c, char *err, size_t errlen)
{
	const char *alg = gstr(c, "algorithm"), *room = gstr(c, "room_id"), *sid = gstr(c, "session_id");
	const char *key = gstr(c, "session_key"), *osk = gstr(c, "sender_key");
	const char *oed = gstr(c, "sender_claimed_ed25519_key");
	const cJSON *chain = cJSON_GetObjectItemCaseSensitive(c, "forwarding_curve25519_key_chain");
	struct e2ee_store_keyreq r;
	if (!alg || strcmp(alg, E2EE_MEGOLM) || !room || !sid || !key || strlen(sid) >= E2EE_KEY_LEN) {
		errmsg_set(err, errlen, "m.forwarded_room_key: not a Megolm key");
		return 1;
	}
	int got = e2ee_store_keyreq_get(e->db, e->owner, sid, &r);
	if (got < 0)
		return -1;
	if (got == 0 || strcmp(r.sender_user, sender) || strcmp(r.room_id, room)) {
		errmsg_set(err, errlen, "m.forwarded_room_key for session %.12s we did not ask %s for: not stored",
		       sid, sender);
		return 1;
	}
	if (!osk || strcmp(osk, skey) || !oed || strcmp(oed, ed) ||
	    (cJSON_IsArray(chain) && cJSON_GetArraySize(chain) > 0)) {
		errmsg_set(err, errlen, "m.forwarded_room_key: not the forwarding device's own session: not stored");
		return 1;
	}
	return inbound_add(e, 1, room, skey, sid, key, ed, sender, err, errlen);
}

/* Bounded work per requesting device: 1 when this request may
 * be looked at; 0 when dropped, err set for the first drop of the minute
 * and empty for the rest. */
static int keyreq_admit(struct e2ee *e, const char *user, const char *dev, char *err, size_t errlen)
{
	int64_t now = clock_mono_ms();
	struct keyreq_in *k = NULL, *fr = NULL;
	if (err && errlen)
		err[0] = '\0';
	for (int i = 0; i < E2EE_KEYREQ_DEVICES && !k; i++) {
		struct keyreq_in *s = &e->kr_in[i];
		if (s->n && now - s->since < 60000 && !strcmp(s->user, user) && !strcmp(s->device, dev))
			k = s;
		else if (!fr && (!s->n || now - s->since >= 60000))
			fr = s;
	}
	if (!k && !fr) {
		if (!(e->kr_full && now - e->kr_full_since < 60000)) {
			e->kr_full = 1;
			e->kr_full_since = now;
			errmsg_set(err, errlen, "room-key requests from over %d devices this minute: dropped "
			       "(and the others this minute, silently)", E2EE_KEYREQ_DEVICES);
		}
		return 0;
	}
	if (!k) {
		k = fr;
		snprintf(k->user, sizeof k->user, "%s", user);
		snprintf(k->device, sizeof k->device, "%s", dev);
		k->since = now;
		k->n = 0;
	}
	if (++k->n <= E2EE_KEYREQ_PER_MIN)
		return 1;
	if (k->n == E2EE_KEYREQ_PER_MIN + 1)
		errmsg_set(err, errlen, "over %d room-key requests a minute from device %.80s of %.80s: dropped "
		       "(and its others this minute, silently)", E2EE_KEYREQ_PER_MIN, dev, user);
	else
		k->n = E2EE_KEYREQ_PER_MIN + 2; /* no overflow */
	return 0;
}

char *e2ee_key_request_answer(struct e2ee *e, const cJSON *event, char *err, size_t errlen)
{
	const char *sender = gstr(event, "sender");
	const cJSON *c = gobj(event, "content");
	const cJSON *body = gobj(c, "body");
	const char *action = gstr(c, "action"), *dev = gstr(c, "requesting_device_id");
	const char *room = gstr(body, "room_id"), *sid = gstr(body, "session_id");
	const char *alg = gstr(body, "algorithm");
	if (!sender || !action || strcmp(action, "request") || !dev || !room || !sid || !alg ||
	    strcmp(alg, E2EE_MEGOLM) || strlen(sid) >= E2EE_KEY_LEN) {
		errmsg_set(err, errlen, "not a Megolm key request");
		return NULL;
	}
	if (strlen(sender) >= E2EE_ID_LEN || strlen(dev) >= E2EE_ID_LEN) {
		errmsg_set(err, errlen, "key request: over-long user or device id");
		return NULL;
	}
	if (!keyreq_admit(e, sender, dev, err, errlen))
		return NULL;
	struct e2ee_store_inbound in = {0};
	if (e2ee_store_inbound_get(e->db, e->owner, room, e->curve, sid, &in) != 1) {
		errmsg_set(err, errlen, "session %.12s is not one of ours in %.80s", sid, room);
		return NULL;
	}
	/* only a device that received the session from us, from the index it
	 * got then: a request gives nothing it did not already have */
	int64_t idx = e2ee_store_shared_index(e->db, e->owner, sid, sender, dev);
	struct e2ee_store_device d;
	char *out = NULL, *exp = NULL;
	OlmInboundGroupSession *s = NULL;
	if (idx < -1 || e2ee_store_device_get(e->db, e->owner, sender, dev, &d) != 1) {
		errmsg_set(err, errlen, "device %s of %s never received session %.12s: refused", dev, sender, sid);
		goto out;
	}
	if (idx < 0)
		idx = in.first_index; /* shared before the index was kept */
	s = igs_unpickle(e, in.pickle);
	size_t n = s ? olm_export_inbound_group_session_length(s) : 0;
	if (!s || !(exp = malloc(n + 1)) ||
	    olm_export_inbound_group_session(s, (uint8_t *)exp, n, (uint32_t)idx) == olm_error()) {
		errmsg_set(err, errlen, "cannot export session %.12s", sid);
		goto out;
	}
	exp[n] = '\0';
	cJSON *fk = cJSON_CreateObject();
	cJSON_AddStringToObject(fk, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(fk, "room_id", room);
	cJSON_AddStringToObject(fk, "sender_key", e->curve);
	cJSON_AddStringToObject(fk, "sender_claimed_ed25519_key", e->ed);
	cJSON_AddStringToObject(fk, "session_id", sid);
	cJSON_AddStringToObject(fk, "session_key", exp);
	cJSON_AddArrayToObject(fk, "forwarding_curve25519_key_chain");
	cJSON *enc = e2ee_olm_encrypt(e, sender, dev, "m.forwarded_room_key", fk);
	memset(exp, 0, n);
	cJSON_Delete(fk);
	if (!enc) {
		errmsg_set(err, errlen, "no Olm session with device %s of %s", dev, sender);
		goto out;
	}
	cJSON *b = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(b, "messages"), sender), dev, enc);
	out = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
out:
	free(exp);
	free(in.pickle);
	igs_free(s);
	return out;
}

/* ---- cross-signing ---- */

/* A 32-byte seed is kept encrypted by storing it as the private key of an
 * olm_pk_decryption object, whose pickle libolm encrypts with our key:
 * libolm has no other public "encrypt with the pickle key" call. */
static char *seed_pickle(struct e2ee *e, const unsigned char *seed)
{
	void *m = malloc(olm_pk_decryption_size());
	if (!m)
		return NULL;
	OlmPkDecryption *d = olm_pk_decryption(m);
	char pub[64];
	char *p = NULL;
	if (olm_pk_key_from_private(d, pub, sizeof pub, seed, olm_pk_private_key_length()) != olm_error()) {
		size_t n = olm_pickle_pk_decryption_length(d);
		p = malloc(n + 1);
		if (p && olm_pickle_pk_decryption(d, e->key, e->keylen, p, n) != olm_error()) {
			p[n] = '\0';
		} else {
			free(p);
			p = NULL;
		}
	}
	olm_clear_pk_decryption(d);
	free(m);
	return p;
}

static int seed_unpickle(struct e2ee *e, const char *pickled, unsigned char *seed)
{
	void *m = malloc(olm_pk_decryption_size());
	char *c = strdup(pickled);
	if (!m || !c) {
		free(m);
		free(c);
		return -1;
	}
	OlmPkDecryption *d = olm_pk_decryption(m);
	char pub[64];
	int rc = -1;
	if (olm_unpickle_pk_decryption(d, e->key, e->keylen, c, strlen(c), pub, sizeof pub) != olm_error() &&
	    olm_pk_get_private_key(d, seed, olm_pk_private_key_length()) != olm_error())
		rc = 0;
	olm_clear_pk_decryption(d);
	free(m);
	free(c);
	return rc;
}

struct xkeys {
	OlmPkSigning *master, *self_;
	char mpub[64], spub[64];
};

static OlmPkSigning *signer_from(const unsigned char *seed, char *pub, size_t publen)
{
	void *m = malloc(olm_pk_signing_size());
	if (!m)
		return NULL;
	OlmPkSigning *s = olm_pk_signing(m);
	size_t pl = olm_pk_signing_public_key_length();
	if (pl + 1 > publen || olm_pk_signing_key_from_seed(s, pub, pl, seed, olm_pk_signing_seed_length()) == olm_error()) {
		olm_clear_pk_signing(s);
		free(m);
		return NULL;
	}
	pub[pl] = '\0';
	return s;
}

static void xkeys_free(struct xkeys *x)
{
	if (x->master) {
		olm_clear_pk_signing(x->master);
		free(x->master);
	}
	if (x->self_) {
		olm_clear_pk_signing(x->self_);
		free(x->self_);
	}
}

/* Loads the cross-signing keys, making and storing them when create. */
static int xkeys_load(struct e2ee *e, struct xkeys *x, int create)
{
	memset(x, 0, sizeof *x);
	unsigned char ms[32], ss[32];
	char *mp = NULL, *sp = NULL;
	int got = e2ee_store_xsign_get(e->db, e->owner, &mp, &sp);
	int rc = -1;
	if (olm_pk_signing_seed_length() != sizeof ms || olm_pk_private_key_length() != sizeof ms)
		return -1;
	if (got == 1) {
		if (seed_unpickle(e, mp, ms) < 0 || seed_unpickle(e, sp, ss) < 0)
			goto out;
	} else if (got == 0 && create) {
		if (rnd(ms, sizeof ms) < 0 || rnd(ss, sizeof ss) < 0)
			goto out;
		mp = seed_pickle(e, ms);
		sp = seed_pickle(e, ss);
		if (!mp || !sp || e2ee_store_begin(e->db) < 0)
			goto out;
		if (e2ee_store_xsign_put(e->db, e->owner, mp, sp) < 0 || e2ee_store_commit(e->db) < 0) {
			e2ee_store_rollback(e->db);
			goto out;
		}
	} else {
		goto out;
	}
	x->master = signer_from(ms, x->mpub, sizeof x->mpub);
	x->self_ = signer_from(ss, x->spub, sizeof x->spub);
	rc = x->master && x->self_ ? 0 : -1;
out:
	memset(ms, 0, sizeof ms);
	memset(ss, 0, sizeof ss);
	free(mp);
	free(sp);
	if (rc)
		xkeys_free(x);
	return rc;
}

static int pk_sign_json(OlmPkSigning *s, const char *pub, const char *user, cJSON *obj)
{
	char *c = canonjson_print(obj, 1);
	char sig[128], kid[80];
	size_t n = olm_pk_signature_length();
	int rc = -1;
	if (c && n < sizeof sig && olm_pk_sign(s, (uint8_t *)c, strlen(c), (uint8_t *)sig, n) != olm_error()) {
		sig[n] = '\0';
		snprintf(kid, sizeof kid, "ed25519:%s", pub);
		rc = add_sig(obj, user, kid, sig);
	}
	free(c);
	return rc;
}

static cJSON *xkey_json(const char *user, const char *usage, const char *pub)
{
	cJSON *o = cJSON_CreateObject();
	char kid[80];
	snprintf(kid, sizeof kid, "ed25519:%s", pub);
	cJSON_AddStringToObject(o, "user_id", user);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "usage"), cJSON_CreateString(usage));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "keys"), kid, pub);
	return o;
}

/* The two cross-signing request bodies: the keys are loaded (or made, for
 * the upload), BUILD signs what it returns, and the body is canonical JSON. */
typedef cJSON *xsign_build_fn(struct e2ee *e, const struct xkeys *x);

static char *xsign_body(struct e2ee *e, int create, xsign_build_fn *build,
			const char *what, char *err, size_t errlen)
{
	struct xkeys x;
	if (xkeys_load(e, &x, create) < 0) {
		errmsg_set(err, errlen, create ? "e2ee: cannot make or read the cross-signing keys"
					       : "e2ee: no cross-signing keys yet");
		return NULL;
	}
	cJSON *b = build(e, &x);
	char *out = b ? canonjson_print(b, 0) : NULL;
	if (!out)
		errmsg_set(err, errlen, "e2ee: signing for %s failed", what);
	cJSON_Delete(b);
	xkeys_free(&x);
	return out;
}

/* The master and self-signing keys, the latter signed by the former. */
static cJSON *xsign_upload_build(struct e2ee *e, const struct xkeys *x)
{
	cJSON *b = cJSON_CreateObject();
	cJSON *sk = xkey_json(e->user, "self_signing", x->spub);
	cJSON_AddItemToObject(b, "master_key", xkey_json(e->user, "master", x->mpub));
	cJSON_AddItemToObject(b, "self_signing_key", sk);
	if (pk_sign_json(x->master, x->mpub, e->user, sk) < 0) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

/* The bot's device signed by the self-signing key and the master key signed
 * by the device; only the new signatures go up, the server merges them. */
static cJSON *xsign_signatures_build(struct e2ee *e, const struct xkeys *x)
{
	cJSON *dk = e2ee_device_keys(e);
	cJSON *mk = xkey_json(e->user, "master", x->mpub);
	if (!dk || !mk)
		goto fail;
	cJSON_DeleteItemFromObjectCaseSensitive(dk, "signatures");
	if (pk_sign_json(x->self_, x->spub, e->user, dk) < 0 || sign_device(e, mk) < 0)
		goto fail;
	cJSON *b = cJSON_CreateObject();
	cJSON *mine = cJSON_AddObjectToObject(b, e->user);
	cJSON_AddItemToObject(mine, e->device, dk);
	cJSON_AddItemToObject(mine, x->mpub, mk);
	return b;
fail:
	cJSON_Delete(dk);
	cJSON_Delete(mk);
	return NULL;
}

char *e2ee_xsign_upload_body(struct e2ee *e, char *err, size_t errlen)
{
	return xsign_body(e, 1, xsign_upload_build, "/keys/device_signing/upload", err, errlen);
}

char *e2ee_xsign_signatures_body(struct e2ee *e, char *err, size_t errlen)
{
	return xsign_body(e, 0, xsign_signatures_build, "/keys/signatures/upload", err, errlen);
}
