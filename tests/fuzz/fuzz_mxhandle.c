/* fuzz_mxhandle.c - the stateful half of the Matrix client (mxnet.c, mx_*.c over
 * store.c, e2ee.c, bot.c) driven by a hostile homeserver: a real network
 * started with mxnet_start (e2ee on), whose HTTP requests are answered
 * with fuzzed bodies through the real response callbacks and whose
 * timers fire on a virtual clock: the I/O seam (mxnet_start_io) on
 * fake_io.c.  A peer device
 * (@peer:hs.test, libolm) holds a real Olm session to the bot and a
 * Megolm session of the encrypted room, so that fuzzed plaintexts reach
 * what comes after decryption.
 *
 * Once, at start-up, a "golden" state file is built by a scripted run:
 * login, first sync, key upload, cross-signing, then an encrypted answer
 * (members, /keys/query, /keys/claim, room-key share, send).  Each input
 * starts from a copy of it (restored in /dev/shm), so inputs do not leak
 * state into each other, and runs up to 64 steps separated by NUL bytes;
 * a step is one letter and its body:
 *   S M C P J L A   answer the oldest request in flight of that kind with
 *                   200 and the body: /sync, /messages, crypto (/keys/...,
 *                   /joined_members, /sendToDevice), send, join, leave
 *                   (invite declined), login or whoami
 *   E               an error: body[0] is the kind as above (a letter, or
 *                   any byte modulo 7), body[1] the status: '0'..'8' for
 *                   401, 429, 403, 404, 400, 500, 502, 0 (transfer failed),
 *                   408; the rest is the body
 *   N               the oldest request other than /sync gets the answer a
 *                   good homeserver gives (lets inputs walk the crypto
 *                   dance)
 *   O               an Olm to-device message from the peer: the body is a
 *                   JSON object merged over a valid m.room_key plaintext
 *                   ("outer" merged over the event), or raw plaintext
 *   G               a Megolm event of !enc:hs.test from the peer, built
 *                   the same way over an m.room.message plaintext
 *                   (O and G wait for the next /sync answer and go in it)
 *   T               the clock moves 2^(body[0] % 22) ms on; due timers fire
 *   R               restart: the network is freed and started again on
 *                   the same state file; body[0] bit 0: a configured
 *                   access token instead of the password, bit 1: e2ee off
 *   X               a reload (mxnet_set_config) with other settings
 *   F               the next 1-3 HTTP requests (from now on) cannot start
 *   Y               max_answer_age 600 s (inputs start with no age limit:
 *                   the seeds' timestamps are fixed)
 * After every step the client's books are checked against the fakes
 * (mxnet_fuzz_check): every request and timer it waits for exists, none
 * it forgot, a /sync always in flight or armed.  Every request it sends
 * is checked: URL escaped, access token without control bytes, a JSON
 * body, device keys with a device id, never a plaintext answer into a
 * room the store knows is encrypted, never a join asked again right
 * after its answer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <olm/olm.h>
#include <olm/outbound_group_session.h>
#include <sqlite3.h>

#include "bot.h"
#include "canonjson.h"
#include "config.h"
#include "e2ee.h"
#include "fake.h"
#include "http.h"
#include "kb.h"
#include "log.h"
#include "loop.h"
#include "mxnet.h"
#include "mxjson.h"

#include "fake_io.c" /* the I/O the network runs on (mxnet_start_io) */

#define HS "https://hs.test"
#define API HS "/_matrix/client/v3/"
#define BOT "@faqbot:hs.test"
#define PEER "@peer:hs.test"
#define PEERDEV "PEERDEV"
#define ENC "!enc:hs.test"
#define MAX_STEPS 64

static char *admins_v[] = { "@admin:hs.test" };
static char *auto_v[] = { "!auto:hs.test" };
static char *ignore_v[] = { "@otherbot:hs.test" };
static char *inviters_v[] = { "@admin:hs.test", ":trusted.test" };
static char *inviters2_v[] = { "@peer:hs.test" };

static struct matrix_config cfg = {
	.name = "fuzz", .homeserver = HS "/", .user = BOT, .password = "fuzz-password",
	.device_name = "faqbot fuzz",
	.policy = { .admins = { admins_v, 1 }, .auto_answer = { auto_v, 1 },
		    .ignore = { ignore_v, 1 }, .user_rate = 6, .user_burst = 3 },
	.allowed_inviters = { inviters_v, 2 },
	.e2ee = 1, .pickle_key = "fuzz pickle key 0123456789", .sync_timeout = 30,
	.reconnect_max = 300,
};

static struct bot *bot;
static struct mxnet *net;
static char dir[256], golden_path[300], iter_path[300];
static unsigned char *golden;
static size_t golden_len;
static sqlite3 *peek;            /* read-only view of the state file */

/* The bot's device, as its /keys/upload showed it. */
static char our_curve[128], our_ed[128], our_dev[128];
static cJSON *our_device_keys;

/* The peer: a libolm account, an Olm session to the bot and a Megolm
 * outbound session, pickled once and restored for every input. */
static OlmAccount *peer;
static char peer_curve[128], peer_ed[128], peer_sid[128], peer_skey[512];
static char *peer_acct_pickle, *peer_sess_pickle, *peer_ogs_pickle;
static OlmSession *psess;
static OlmOutboundGroupSession *pgs;
static const char pkey[] = "peer pickle key";

static cJSON *stash_td, *stash_room; /* O and G events for the next /sync */
static unsigned seq;
static uint32_t prng_state;

_Noreturn static void die(const char *what)
{
	fprintf(stderr, "fuzz_mxhandle: %s\n", what);
	abort();
}

static void prng(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n--) {
		uint32_t x = prng_state;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		prng_state = x;
		*p++ = (unsigned char)(x >> 7);
	}
}

static int64_t wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- what the client sends ---- */

static int url_ok(const char *u)
{
	const char *p;
	if (strncmp(u, API, strlen(API)))
		return 0;
	for (p = u + strlen(API); *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '%') {
			if (!strchr("0123456789ABCDEFabcdef", p[1] ? p[1] : 'x') ||
			    !strchr("0123456789ABCDEFabcdef", p[2] ? p[2] : 'x'))
				return 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-._~/?&=", c)))
			return 0;
	}
	return 1;
}

/* The room id of ".../rooms/ID/send/..." unescaped into out. */
static int send_room(const char *u, char *out, size_t len)
{
	const char *p = strstr(u, "/rooms/"), *e;
	size_t k = 0;
	if (!p)
		return -1;
	p += 7;
	if (!(e = strchr(p, '/')))
		return -1;
	for (; p < e && k + 1 < len; p++) {
		if (*p == '%' && p + 2 < e) {
			char h[3] = { p[1], p[2], 0 };
			out[k++] = (char)strtol(h, NULL, 16);
			p += 2;
		} else {
			out[k++] = *p;
		}
	}
	out[k] = 0;
	return 0;
}

static int room_encrypted(const char *room)
{
	sqlite3_stmt *st;
	int enc = 0;
	if (!peek || sqlite3_prepare_v2(peek, "SELECT encrypted FROM rooms WHERE net='fuzz' AND room_id=?1",
					-1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		enc = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return enc;
}

static int check_request(const char *method, const char *url, const char *body, size_t body_len,
			 const char *bearer)
{
	const char *p;
	char room[512];
	if (!url_ok(url)) {
		fprintf(stderr, "fuzz_mxhandle: bad URL: %s\n", url);
		return 1;
	}
	if (!strstr(url, "/login")) {
		if (!bearer || !*bearer)
			return fprintf(stderr, "fuzz_mxhandle: no access token: %s\n", url), 1;
		for (p = bearer; *p; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return fprintf(stderr, "fuzz_mxhandle: a control byte in the access token\n"), 1;
	}
	if (!strcmp(method, "GET") != !body)
		return fprintf(stderr, "fuzz_mxhandle: %s %s with%s a body\n", method, url, body ? "" : "out"), 1;
	if (body) {
		cJSON *j;
		if (strlen(body) != body_len)
			return fprintf(stderr, "fuzz_mxhandle: body length wrong\n"), 1;
		if (!(j = cJSON_ParseWithLength(body, body_len)))
			return fprintf(stderr, "fuzz_mxhandle: a body that is not JSON: %s\n", url), 1;
		if (strstr(url, "/keys/upload") && cJSON_GetObjectItem(j, "device_keys")) {
			const char *d = mxjson_str(mxjson_obj(j, "device_keys"), "device_id");
			if (!d || !*d) {
				cJSON_Delete(j);
				return fprintf(stderr, "fuzz_mxhandle: device keys uploaded without a device id\n"), 1;
			}
		}
		cJSON_Delete(j);
	}
	if (strstr(url, "/send/m.room.message/") && send_room(url, room, sizeof room) == 0 &&
	    room_encrypted(room))
		return fprintf(stderr, "fuzz_mxhandle: a plaintext answer sent to %s, encrypted\n", room), 1;
	return 0;
}

/* ---- answering ---- */

/* S M C P J L A: the kind of request a URL is. */
static char kind_of(const char *url)
{
	if (strstr(url, "/sync?"))
		return 'S';
	if (strstr(url, "/messages?"))
		return 'M';
	if (strstr(url, "/keys/") || strstr(url, "/joined_members") || strstr(url, "/sendToDevice/"))
		return 'C';
	if (strstr(url, "/send/"))
		return 'P';
	if (strstr(url, "/join/"))
		return 'J';
	if (strstr(url, "/leave"))
		return 'L';
	if (strstr(url, "/login") || strstr(url, "/account/whoami"))
		return 'A';
	return '?';
}

static struct fake_req reqbuf[HTTP_MAX_ACTIVE];

static const struct fake_req *oldest(char kind, int not_sync)
{
	size_t i, n = fake_http_list(reqbuf, HTTP_MAX_ACTIVE);
	for (i = 0; i < n && i < HTTP_MAX_ACTIVE; i++) {
		char k = kind_of(reqbuf[i].url);
		if ((kind && k == kind) || (!kind && (!not_sync || k != 'S')))
			return &reqbuf[i];
	}
	return NULL;
}

/* A join answered for good (200, or refused): the URL, to check that the
 * client does not ask for the very same join right after. */
static char joined_url[2048];

static void answer(long id, long status, const char *body, size_t len)
{
	size_t i, n = fake_http_list(reqbuf, HTTP_MAX_ACTIVE);
	joined_url[0] = 0;
	for (i = 0; i < n; i++)
		if (reqbuf[i].id == id && kind_of(reqbuf[i].url) == 'J' &&
		    (status == 200 || (status >= 400 && status < 500 && status != 408 && status != 429)))
			snprintf(joined_url, sizeof joined_url, "%s", reqbuf[i].url);
	fake_http_answer(id, status, status ? NULL : "fuzz: connection reset", body, len,
			 status == 429 ? 1500 : -1);
	n = fake_http_list(reqbuf, HTTP_MAX_ACTIVE);
	for (i = 0; joined_url[0] && i < n; i++)
		if (!strcmp(reqbuf[i].url, joined_url))
			die("the join just answered is asked for again at once (a join loop)");
}

static void answer_json(long id, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	if (!s)
		die("out of memory");
	answer(id, 200, s, strlen(s));
	free(s);
	cJSON_Delete(j);
}

/* Signs obj (canonical JSON, without signatures and unsigned) as the peer. */
static void peer_sign(cJSON *obj)
{
	char *text = canonjson_print(obj, 1), sig[256];
	size_t n;
	cJSON *sigs;
	if (!text)
		die("canonjson_print");
	n = olm_account_sign(peer, text, strlen(text), sig, sizeof sig - 1);
	free(text);
	if (n == olm_error())
		die("olm_account_sign");
	sig[n] = 0;
	sigs = cJSON_AddObjectToObject(cJSON_AddObjectToObject(obj, "signatures"), PEER);
	cJSON_AddStringToObject(sigs, "ed25519:" PEERDEV, sig);
}

static cJSON *peer_device_keys(void)
{
	cJSON *o = cJSON_CreateObject(), *alg, *keys;
	cJSON_AddStringToObject(o, "user_id", PEER);
	cJSON_AddStringToObject(o, "device_id", PEERDEV);
	alg = cJSON_AddArrayToObject(o, "algorithms");
	cJSON_AddItemToArray(alg, cJSON_CreateString(E2EE_OLM));
	cJSON_AddItemToArray(alg, cJSON_CreateString(E2EE_MEGOLM));
	keys = cJSON_AddObjectToObject(o, "keys");
	cJSON_AddStringToObject(keys, "curve25519:" PEERDEV, peer_curve);
	cJSON_AddStringToObject(keys, "ed25519:" PEERDEV, peer_ed);
	peer_sign(o);
	return o;
}

/* A fresh one-time key of the peer, signed, as /keys/claim returns it. */
static cJSON *peer_claim_answer(void)
{
	size_t rl = olm_account_generate_one_time_keys_random_length(peer, 1), n;
	unsigned char *rb = malloc(rl ? rl : 1);
	char buf[1024], id[160];
	cJSON *keys, *k, *o, *ans;
	prng(rb, rl);
	if (olm_account_generate_one_time_keys(peer, 1, rb, rl) == olm_error())
		die("peer otk");
	free(rb);
	n = olm_account_one_time_keys(peer, buf, sizeof buf - 1);
	if (n == olm_error())
		die("peer otk list");
	buf[n] = 0;
	olm_account_mark_keys_as_published(peer);
	keys = cJSON_Parse(buf);
	k = cJSON_GetObjectItem(keys, "curve25519") ? cJSON_GetObjectItem(keys, "curve25519")->child : NULL;
	if (!cJSON_IsString(k))
		die("peer otk json");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "key", k->valuestring);
	peer_sign(o);
	snprintf(id, sizeof id, "signed_curve25519:%s", k->string);
	ans = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
		cJSON_AddObjectToObject(ans, "one_time_keys"), PEER), PEERDEV), id, o);
	cJSON_Delete(keys);
	return ans;
}

/* What a good homeserver answers to r (not a /sync). */
static void answer_good(const struct fake_req *r)
{
	const char *u = r->url;
	cJSON *j = cJSON_CreateObject();
	if (strstr(u, "/login")) {
		cJSON *b = cJSON_Parse(r->body);
		const cJSON *d = cJSON_GetObjectItem(b, "device_id");
		cJSON_AddStringToObject(j, "user_id", BOT);
		cJSON_AddStringToObject(j, "access_token", "syt_fuzz_token_2");
		cJSON_AddStringToObject(j, "device_id", cJSON_IsString(d) ? d->valuestring : "NEWDEV");
		cJSON_Delete(b);
	} else if (strstr(u, "/account/whoami")) {
		cJSON_AddStringToObject(j, "user_id", BOT);
		cJSON_AddStringToObject(j, "device_id", our_dev);
	} else if (strstr(u, "/keys/upload")) {
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(j, "one_time_key_counts"), "signed_curve25519", 50);
	} else if (strstr(u, "/keys/query")) {
		cJSON *dk = cJSON_AddObjectToObject(j, "device_keys");
		cJSON_AddItemToObject(cJSON_AddObjectToObject(dk, PEER), PEERDEV, peer_device_keys());
		if (our_device_keys)
			cJSON_AddItemToObject(cJSON_AddObjectToObject(dk, BOT), our_dev,
					      cJSON_Duplicate(our_device_keys, 1));
	} else if (strstr(u, "/keys/claim")) {
		cJSON_Delete(j);
		j = peer_claim_answer();
	} else if (strstr(u, "/keys/changes")) {
		cJSON_AddArrayToObject(j, "changed");
		cJSON_AddArrayToObject(j, "left");
	} else if (strstr(u, "/keys/signatures/upload")) {
		cJSON_AddObjectToObject(j, "failures");
	} else if (strstr(u, "/joined_members")) {
		cJSON *m = cJSON_AddObjectToObject(j, "joined");
		cJSON_AddObjectToObject(m, BOT);
		cJSON_AddObjectToObject(m, PEER);
	} else if (strstr(u, "/send/")) {
		char id[32];
		snprintf(id, sizeof id, "$reply%u", ++seq);
		cJSON_AddStringToObject(j, "event_id", id);
	} else if (strstr(u, "/join/")) {
		cJSON_AddStringToObject(j, "room_id", "!joined:hs.test");
	} else if (strstr(u, "/messages?")) {
		cJSON_AddArrayToObject(j, "chunk");
	}
	answer_json(r->id, j);
}

/* ---- the peer's encrypted events ---- */

/* dst[k] = src[k] for each k, one level down into objects on both sides. */
static void merge(cJSON *dst, const cJSON *src)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, src) {
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, it->string);
		if (!it->string)
			continue;
		if (cJSON_IsObject(d) && cJSON_IsObject(it)) {
			const cJSON *s2;
			cJSON_ArrayForEach(s2, it) {
				if (!s2->string)
					continue;
				cJSON_DeleteItemFromObjectCaseSensitive(d, s2->string);
				cJSON_AddItemToObject(d, s2->string, cJSON_Duplicate(s2, 1));
			}
		} else {
			cJSON_DeleteItemFromObjectCaseSensitive(dst, it->string);
			cJSON_AddItemToObject(dst, it->string, cJSON_Duplicate(it, 1));
		}
	}
}

/* The plaintext: base with the body's overrides, or the body itself when
 * it is not a JSON object.  *outer: the body's "outer" object. */
static char *plaintext(cJSON *base, const char *body, size_t len, cJSON **outer)
{
	cJSON *o = len ? cJSON_ParseWithLength(body, len) : NULL;
	char *s;
	*outer = NULL;
	if (len && !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		cJSON_Delete(base);
		s = malloc(len + 1);
		memcpy(s, body, len);
		s[len] = 0;
		return s;
	}
	if (o) {
		*outer = cJSON_DetachItemFromObjectCaseSensitive(o, "outer");
		merge(base, o);
		cJSON_Delete(o);
	}
	s = cJSON_PrintUnformatted(base);
	cJSON_Delete(base);
	return s;
}

static void step_olm(const char *body, size_t len)
{
	cJSON *pl = cJSON_CreateObject(), *c, *outer, *ev, *ct;
	char *plain, *msg;
	size_t mt, rl, ml;
	unsigned char *rb;
	cJSON_AddStringToObject(pl, "type", "m.room_key");
	c = cJSON_AddObjectToObject(pl, "content");
	cJSON_AddStringToObject(c, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(c, "room_id", ENC);
	cJSON_AddStringToObject(c, "session_id", peer_sid);
	cJSON_AddStringToObject(c, "session_key", peer_skey);
	cJSON_AddStringToObject(pl, "sender", PEER);
	cJSON_AddStringToObject(pl, "sender_device", PEERDEV);
	cJSON_AddStringToObject(pl, "recipient", BOT);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pl, "recipient_keys"), "ed25519", our_ed);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pl, "keys"), "ed25519", peer_ed);
	if (!(plain = plaintext(pl, body, len, &outer)))
		die("plaintext");
	mt = olm_encrypt_message_type(psess);
	rl = olm_encrypt_random_length(psess);
	ml = olm_encrypt_message_length(psess, strlen(plain));
	rb = malloc(rl ? rl : 1);
	msg = malloc(ml + 1);
	prng(rb, rl);
	if (olm_encrypt(psess, plain, strlen(plain), rb, rl, msg, ml) == olm_error())
		die("olm_encrypt");
	msg[ml] = 0;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "m.room.encrypted");
	cJSON_AddStringToObject(ev, "sender", PEER);
	c = cJSON_AddObjectToObject(ev, "content");
	cJSON_AddStringToObject(c, "algorithm", E2EE_OLM);
	cJSON_AddStringToObject(c, "sender_key", peer_curve);
	ct = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "ciphertext"), our_curve);
	cJSON_AddNumberToObject(ct, "type", (double)mt);
	cJSON_AddStringToObject(ct, "body", msg);
	if (outer)
		merge(ev, outer);
	cJSON_AddItemToArray(stash_td, ev);
	cJSON_Delete(outer);
	free(rb);
	free(msg);
	free(plain);
}

static void step_megolm(const char *body, size_t len)
{
	cJSON *pl = cJSON_CreateObject(), *c, *outer, *ev, *room, *wrap;
	char *plain, *msg, id[32];
	size_t ml;
	cJSON_AddStringToObject(pl, "type", "m.room.message");
	cJSON_AddStringToObject(pl, "room_id", ENC);
	c = cJSON_AddObjectToObject(pl, "content");
	cJSON_AddStringToObject(c, "msgtype", "m.text");
	cJSON_AddStringToObject(c, "body", "quand sera visible ma session kairos ?");
	if (!(plain = plaintext(pl, body, len, &outer)))
		die("plaintext");
	ml = olm_group_encrypt_message_length(pgs, strlen(plain));
	msg = malloc(ml + 1);
	if (olm_group_encrypt(pgs, (uint8_t *)plain, strlen(plain), (uint8_t *)msg, ml) == olm_error())
		die("olm_group_encrypt");
	msg[ml] = 0;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "m.room.encrypted");
	snprintf(id, sizeof id, "$megolm%u", ++seq);
	cJSON_AddStringToObject(ev, "event_id", id);
	cJSON_AddStringToObject(ev, "sender", PEER);
	cJSON_AddNumberToObject(ev, "origin_server_ts", (double)wall_now());
	c = cJSON_AddObjectToObject(ev, "content");
	cJSON_AddStringToObject(c, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(c, "sender_key", peer_curve);
	cJSON_AddStringToObject(c, "session_id", peer_sid);
	cJSON_AddStringToObject(c, "ciphertext", msg);
	cJSON_AddStringToObject(c, "device_id", PEERDEV);
	if (outer)
		merge(ev, outer);
	/* outer.room_id: the room it is delivered in */
	room = cJSON_DetachItemFromObjectCaseSensitive(ev, "room_id");
	wrap = cJSON_CreateObject();
	cJSON_AddStringToObject(wrap, "room", cJSON_IsString(room) ? room->valuestring : ENC);
	cJSON_AddItemToObject(wrap, "event", ev);
	cJSON_AddItemToArray(stash_room, wrap);
	cJSON_Delete(room);
	cJSON_Delete(outer);
	free(msg);
	free(plain);
}

static cJSON *obj_at(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsObject(v)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, k);
		v = cJSON_AddObjectToObject(o, k);
	}
	return v;
}

static cJSON *arr_at(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsArray(v)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, k);
		v = cJSON_AddArrayToObject(o, k);
	}
	return v;
}

/* Answers the /sync in flight with body, the stashed O and G events added
 * when it is a JSON object. */
static void answer_sync(long id, const char *body, size_t len)
{
	cJSON *j, *it;
	if (!cJSON_GetArraySize(stash_td) && !cJSON_GetArraySize(stash_room)) {
		answer(id, 200, body, len);
		return;
	}
	j = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		answer(id, 200, body, len);
		return;
	}
	while ((it = cJSON_DetachItemFromArray(stash_td, 0)))
		cJSON_AddItemToArray(arr_at(obj_at(j, "to_device"), "events"), it);
	while ((it = cJSON_DetachItemFromArray(stash_room, 0))) {
		const char *room = cJSON_GetObjectItem(it, "room")->valuestring;
		cJSON *r = obj_at(obj_at(obj_at(j, "rooms"), "join"), room);
		cJSON_AddItemToArray(arr_at(obj_at(r, "timeline"), "events"),
				     cJSON_DetachItemFromObject(it, "event"));
		cJSON_Delete(it);
	}
	answer_json(id, j);
}

/* ---- the network ---- */

static void check_books(const char *when)
{
	struct mxnet_fuzz f;
	char why[256] = "";
	long timers[64];
	size_t i, k, n, nt;
	if (!net)
		return;
	if (mxnet_fuzz_check(net, &f, why, sizeof why) < 0) {
		fprintf(stderr, "fuzz_mxhandle: after %s: %s\n", when, why);
		abort();
	}
	n = fake_http_list(reqbuf, HTTP_MAX_ACTIVE);
	for (i = 0; i < f.nreqs; i++) {
		for (k = i + 1; k < f.nreqs; k++)
			if (f.reqs[i] == f.reqs[k])
				die("one request id held twice");
		for (k = 0; k < n && reqbuf[k].id != f.reqs[i]; k++)
			;
		if (k == n) {
			fprintf(stderr, "fuzz_mxhandle: after %s: waits for request %ld, not in flight\n",
				when, f.reqs[i]);
			abort();
		}
	}
	if (n != f.nreqs) {
		fprintf(stderr, "fuzz_mxhandle: after %s: %zu requests in flight, %zu known to the client\n",
			when, n, f.nreqs);
		for (i = 0; i < n; i++)
			fprintf(stderr, "  %ld %s %s\n", reqbuf[i].id, reqbuf[i].method, reqbuf[i].url);
		abort();
	}
	nt = fake_loop_timers(timers, 64);
	for (i = 0; i < f.ntimers; i++)
		if (!fake_loop_armed(f.timers[i])) {
			fprintf(stderr, "fuzz_mxhandle: after %s: timer %ld held, not armed\n", when, f.timers[i]);
			abort();
		}
	if (nt != f.ntimers) {
		fprintf(stderr, "fuzz_mxhandle: after %s: %zu timers armed, %zu held\n", when, nt, f.ntimers);
		abort();
	}
}

static void run_due(const char *when)
{
	if (fake_loop_run_due(10000) < 0) {
		fprintf(stderr, "fuzz_mxhandle: after %s: timers re-arm at once for ever\n", when);
		abort();
	}
}

static void peek_open(const char *path)
{
	if (sqlite3_open_v2(path, &peek, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(peek);
		peek = NULL;
	}
}

static void peek_close(void)
{
	sqlite3_close(peek);
	peek = NULL;
}

static struct mxnet *start(const char *path, int mode)
{
	struct matrix_config c = cfg;
	struct mxnet *n;
	if (mode & 1) {
		/* a configured access token instead of the password: whoami */
		c.password = NULL;
		c.access_token = "syt_configured_token";
	}
	/* e2ee off for a while: device lists are caught up later */
	c.e2ee = !(mode & 2);
	static struct chat_sink sink;
	sink.on_msg = bot_on_msg;
	sink.arg = bot;
	n = mxnet_start_io(&c, &sink, path, &fake_mxnet_io, NULL);
	if (!n)
		die("mxnet_start refused the state file");
	/* the seeds' timestamps are fixed: no age limit unless Y */
	mxnet_set_max_answer_age(n, 2000000000);
	return n;
}

static void remove_state(const char *path)
{
	char p[700];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

/* ---- the golden state ---- */

static const struct fake_req *need(char kind, const char *url_part)
{
	size_t i, n = fake_http_list(reqbuf, HTTP_MAX_ACTIVE);
	for (i = 0; i < n; i++)
		if (kind_of(reqbuf[i].url) == kind && (!url_part || strstr(reqbuf[i].url, url_part)))
			return &reqbuf[i];
	fprintf(stderr, "fuzz_mxhandle: golden run: no %c %s request; in flight:\n", kind,
		url_part ? url_part : "");
	for (i = 0; i < n; i++)
		fprintf(stderr, "  %s %s\n", reqbuf[i].method, reqbuf[i].url);
	abort();
}

static void golden_sync(const char *text)
{
	answer(need('S', NULL)->id, 200, text, strlen(text));
	run_due("golden sync");
	check_books("golden sync");
}

static void golden_good(char kind, const char *url_part)
{
	answer_good(need(kind, url_part));
	run_due("golden answer");
	check_books("golden answer");
}

/* o[k], a string, or the golden run stops: the client changed. */
static const char *need_str(const cJSON *o, const char *k)
{
	const char *v = mxjson_str(o, k);
	if (!v) {
		fprintf(stderr, "fuzz_mxhandle: golden run: no string %s\n", k);
		abort();
	}
	return v;
}

/* Our device keys and one one-time key from the /keys/upload body. */
static void take_upload(const struct fake_req *r)
{
	cJSON *b = cJSON_Parse(r->body), *dk, *otk;
	const cJSON *k;
	char kc[160], ke[160];
	size_t rl;
	unsigned char *rb;
	if (!b || !(dk = cJSON_GetObjectItem(b, "device_keys")) || !(otk = cJSON_GetObjectItem(b, "one_time_keys")))
		die("golden: /keys/upload body");
	snprintf(our_dev, sizeof our_dev, "%s", need_str(dk, "device_id"));
	snprintf(kc, sizeof kc, "curve25519:%s", our_dev);
	snprintf(ke, sizeof ke, "ed25519:%s", our_dev);
	snprintf(our_curve, sizeof our_curve, "%s", need_str(mxjson_obj(dk, "keys"), kc));
	snprintf(our_ed, sizeof our_ed, "%s", need_str(mxjson_obj(dk, "keys"), ke));
	our_device_keys = cJSON_Duplicate(dk, 1);
	k = cJSON_GetObjectItem(otk->child, "key");
	if (!cJSON_IsString(k))
		die("golden: no one-time key");
	/* the peer's Olm session to the bot, on that one-time key */
	psess = olm_session(malloc(olm_session_size()));
	rl = olm_create_outbound_session_random_length(psess);
	rb = malloc(rl ? rl : 1);
	prng(rb, rl);
	if (olm_create_outbound_session(psess, peer, our_curve, strlen(our_curve), k->valuestring,
					strlen(k->valuestring), rb, rl) == olm_error())
		die("golden: peer outbound session");
	free(rb);
	rl = olm_pickle_session_length(psess);
	peer_sess_pickle = malloc(rl + 1);
	olm_pickle_session(psess, pkey, strlen(pkey), peer_sess_pickle, rl);
	peer_sess_pickle[rl] = 0;
	cJSON_Delete(b);
}

static void peer_init(void)
{
	size_t rl = olm_create_account_random_length(peer = olm_account(malloc(olm_account_size()))), n;
	unsigned char *rb = malloc(rl);
	char ids[512];
	cJSON *j;
	prng(rb, rl);
	if (olm_create_account(peer, rb, rl) == olm_error())
		die("peer account");
	free(rb);
	n = olm_account_identity_keys(peer, ids, sizeof ids - 1);
	ids[n] = 0;
	j = cJSON_Parse(ids);
	snprintf(peer_curve, sizeof peer_curve, "%s", need_str(j, "curve25519"));
	snprintf(peer_ed, sizeof peer_ed, "%s", need_str(j, "ed25519"));
	cJSON_Delete(j);
	/* the Megolm session of !enc:hs.test, its key at index 0 */
	pgs = olm_outbound_group_session(malloc(olm_outbound_group_session_size()));
	rl = olm_init_outbound_group_session_random_length(pgs);
	rb = malloc(rl);
	prng(rb, rl);
	if (olm_init_outbound_group_session(pgs, rb, rl) == olm_error())
		die("peer megolm");
	free(rb);
	n = olm_outbound_group_session_id(pgs, (uint8_t *)peer_sid, sizeof peer_sid - 1);
	peer_sid[n] = 0;
	n = olm_outbound_group_session_key(pgs, (uint8_t *)peer_skey, sizeof peer_skey - 1);
	peer_skey[n] = 0;
	rl = olm_pickle_outbound_group_session_length(pgs);
	peer_ogs_pickle = malloc(rl + 1);
	olm_pickle_outbound_group_session(pgs, pkey, strlen(pkey), peer_ogs_pickle, rl);
	peer_ogs_pickle[rl] = 0;
}

static char *pickle_account(void)
{
	size_t n = olm_pickle_account_length(peer);
	char *p = malloc(n + 1);
	if (!p || olm_pickle_account(peer, pkey, strlen(pkey), p, n) == olm_error())
		die("peer account pickle");
	p[n] = 0;
	return p;
}

/* State directories left by runs that crashed (abort skips atexit). */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char path[512], f[600];
	if (!d)
		return;
	while ((e = readdir(d))) {
		long pid;
		if (strncmp(e->d_name, "faqbot-fuzz-mx.", 15) || (pid = atol(e->d_name + 15)) <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "%s/%s", base, e->d_name);
		snprintf(f, sizeof f, "%s/golden.db", path);
		remove_state(f);
		snprintf(f, sizeof f, "%s/state.db", path);
		remove_state(f);
		rmdir(path);
	}
	closedir(d);
}

static void cleanup(void)
{
	remove_state(iter_path);
	remove_state(golden_path);
	rmdir(dir);
}

static void build_golden(void)
{
	char text[4096];
	const struct fake_req *r;
	int64_t now = wall_now();
	FILE *f;
	long sz;
	net = start(golden_path, 0);
	peek_open(golden_path);
	check_books("start");
	/* login on the device id the client chose */
	golden_good('A', "/login");
	/* first sync: an encrypted direct chat with the peer, a plain room */
	snprintf(text, sizeof text,
		 "{\"next_batch\":\"s1\",\"device_one_time_keys_count\":{\"signed_curve25519\":0},"
		 "\"rooms\":{\"join\":{\"" ENC "\":{\"summary\":{\"m.joined_member_count\":2},"
		 "\"state\":{\"events\":[{\"type\":\"m.room.encryption\",\"state_key\":\"\",\"event_id\":\"$s1\","
		 "\"sender\":\"" PEER "\",\"content\":{\"algorithm\":\"" E2EE_MEGOLM "\"}},"
		 "{\"type\":\"m.room.member\",\"state_key\":\"" BOT "\",\"event_id\":\"$s2\",\"sender\":\"" BOT "\","
		 "\"content\":{\"membership\":\"join\"}},"
		 "{\"type\":\"m.room.member\",\"state_key\":\"" PEER "\",\"event_id\":\"$s3\",\"sender\":\"" PEER "\","
		 "\"content\":{\"membership\":\"join\"}}]},\"timeline\":{\"events\":[]}},"
		 "\"!plain:hs.test\":{\"summary\":{\"m.joined_member_count\":5},\"timeline\":{\"events\":[]}}}}}");
	golden_sync(text);
	/* keys, then cross-signing (the answer needs the password: 401 first) */
	r = need('C', "/keys/upload");
	take_upload(r);
	golden_good('C', "/keys/upload");
	r = need('C', "/keys/device_signing/upload");
	{
		const char *ia = "{\"session\":\"uia1\",\"flows\":[{\"stages\":[\"m.login.password\"]}],\"params\":{}}";
		answer(r->id, 401, ia, strlen(ia));
		run_due("golden xsign 401");
	}
	golden_good('C', "/keys/device_signing/upload");
	golden_good('C', "/keys/signatures/upload");
	/* a question in the encrypted room: the whole room-key dance */
	snprintf(text, sizeof text,
		 "{\"next_batch\":\"s2\",\"device_one_time_keys_count\":{\"signed_curve25519\":50},"
		 "\"device_unused_fallback_key_types\":[\"signed_curve25519\"],"
		 "\"rooms\":{\"join\":{\"" ENC "\":{\"timeline\":{\"events\":[{\"type\":\"m.room.message\","
		 "\"event_id\":\"$q1\",\"sender\":\"" PEER "\",\"origin_server_ts\":%lld,\"content\":"
		 "{\"msgtype\":\"m.text\",\"body\":\"quand sera visible ma session kairos ?\"}}]}}}}}",
		 (long long)now);
	golden_sync(text);
	golden_good('C', "/joined_members");
	golden_good('C', "/keys/query");
	golden_good('C', "/keys/claim");
	golden_good('C', "/sendToDevice/");
	golden_good('P', "/send/m.room.encrypted/");
	if (fake_http_list(reqbuf, HTTP_MAX_ACTIVE) != 1 || kind_of(reqbuf[0].url) != 'S')
		die("golden run: something besides /sync in flight at the end");
	/* the peer's one-time keys as they are now, for every input */
	peer_acct_pickle = pickle_account();
	peek_close();
	mxnet_free(net);
	net = NULL;
	if (!(f = fopen(golden_path, "rb")) || fseek(f, 0, SEEK_END) || (sz = ftell(f)) <= 0)
		die("golden state file");
	rewind(f);
	golden = malloc((size_t)sz);
	if (fread(golden, 1, (size_t)sz, f) != (size_t)sz)
		die("golden read");
	golden_len = (size_t)sz;
	fclose(f);
	{
		char wal[320];
		struct stat st;
		snprintf(wal, sizeof wal, "%s-wal", golden_path);
		if (stat(wal, &st) == 0 && st.st_size > 0)
			die("golden state left a WAL file");
	}
}

static void init(void)
{
	char err[512];
	struct kb *kb = kb_load("knowledge", err, sizeof err);
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!kb)
		die("run from the repository root: knowledge/ is needed");
	struct bot_config bc = {
		.knowledge = "knowledge", .command_prefix = "!", .log_level = "error",
		.timezone = "Europe/Paris", .auto_answer_confidence = -1,
		.user_rate = 6, .user_burst = 3,
	};
	if (!(bot = bot_new(&bc, kb)))
		die("bot_new");
	log_set_level(getenv("FUZZ_MX_LOG") ? LOGL_DEBUG : LOGL_ERROR);
	remove_stale(base);
	snprintf(dir, sizeof dir, "%s/faqbot-fuzz-mx.%d", base, (int)getpid());
	if (mkdir(dir, 0700) < 0)
		die("mkdir");
	snprintf(golden_path, sizeof golden_path, "%s/golden.db", dir);
	snprintf(iter_path, sizeof iter_path, "%s/state.db", dir);
	atexit(cleanup);
	fake_http_check = check_request;
	prng_state = 0x12345678;
	peer_init();
	stash_td = cJSON_CreateArray();
	stash_room = cJSON_CreateArray();
	build_golden();
}

static void restore(void)
{
	int fd;
	size_t rl;
	remove_state(iter_path);
	fd = open(iter_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, golden, golden_len) != (ssize_t)golden_len || close(fd) < 0)
		die("cannot write the state file");
	if (psess) {
		olm_clear_session(psess);
		free(psess);
	}
	psess = olm_session(malloc(olm_session_size()));
	rl = strlen(peer_sess_pickle);
	{
		char *p = strdup(peer_sess_pickle);
		if (olm_unpickle_session(psess, pkey, strlen(pkey), p, rl) == olm_error())
			die("peer session unpickle");
		free(p);
	}
	{
		char *p = strdup(peer_acct_pickle);
		olm_clear_account(peer);
		peer = olm_account(peer);
		if (olm_unpickle_account(peer, pkey, strlen(pkey), p, strlen(p)) == olm_error())
			die("peer account unpickle");
		free(p);
	}
	olm_clear_outbound_group_session(pgs);
	pgs = olm_outbound_group_session(pgs);
	{
		char *p = strdup(peer_ogs_pickle);
		if (olm_unpickle_outbound_group_session(pgs, pkey, strlen(pkey), p, strlen(p)) == olm_error())
			die("peer megolm unpickle");
		free(p);
	}
	prng_state = 0x9e3779b9u;
	seq = 0;
	fake_http_fail_next(0);
}

static const long statuses[] = { 401, 429, 403, 404, 400, 500, 502, 0, 408 };

static void step(char op, const char *b, size_t len)
{
	const struct fake_req *r;
	static const char kinds[] = "SMCPJLA";
	switch (op) {
	case 'S':
		if ((r = oldest('S', 0)))
			answer_sync(r->id, b, len);
		break;
	case 'M': case 'C': case 'P': case 'J': case 'L': case 'A':
		if ((r = oldest(op, 0)))
			answer(r->id, 200, b, len);
		break;
	case 'E':
		if (len >= 2 && (r = oldest(strchr(kinds, b[0]) ? b[0] : kinds[(unsigned char)b[0] % 7], 0)))
			answer(r->id, statuses[(unsigned char)(b[1] - '0') % 9], b + 2, len - 2);
		break;
	case 'N':
		if ((r = oldest(0, 1)))
			answer_good(r);
		break;
	case 'O':
		step_olm(b, len);
		break;
	case 'G':
		step_megolm(b, len);
		break;
	case 'T':
		fake_loop_advance((int64_t)1 << (len ? (unsigned char)b[0] % 22 : 10));
		break;
	case 'R':
		peek_close();
		mxnet_free(net);
		net = start(iter_path, len ? b[0] : 0);
		peek_open(iter_path);
		break;
	case 'X': {
		struct matrix_config c2 = cfg;
		c2.allowed_inviters.v = inviters2_v;
		c2.allowed_inviters.n = len ? (unsigned char)b[0] % 2 : 1;
		c2.policy.auto_answer.n = 0;
		c2.sync_timeout = 5;
		if (mxnet_set_config(net, &c2) < 0)
			die("mxnet_set_config");
		break;
	}
	case 'F':
		fake_http_fail_next(1 + (len ? (unsigned char)b[0] % 3 : 0));
		break;
	case 'Y':
		mxnet_set_max_answer_age(net, 600);
		break;
	}
	run_due("a step");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ops[] = "SMCPJLAENOGTRXFY";
	const char *p = (const char *)data, *end = p + size;
	int steps = 0;
	char when[32];
	if (!bot)
		init();
	/* an hour between inputs: the rate limiter forgets the last one */
	fake_loop_advance(3600 * 1000);
	restore();
	net = start(iter_path, 0);
	peek_open(iter_path);
	check_books("start");
	while (p < end && steps < MAX_STEPS) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		size_t len = (size_t)((z ? z : end) - p);
		if (len) {
			char op = strchr(ops, *p) && *p ? *p : ops[(unsigned char)*p % 16];
			step(op, p + 1, len - 1);
			snprintf(when, sizeof when, "step %d (%c)", steps, op);
			check_books(when);
			steps++;
		}
		p += len + 1;
	}
	/* O and G events not delivered yet go with one more /sync */
	if ((cJSON_GetArraySize(stash_td) || cJSON_GetArraySize(stash_room)) && (net && oldest('S', 0))) {
		char nb[32];
		snprintf(nb, sizeof nb, "{\"next_batch\":\"fz%u\"}", ++seq);
		answer_sync(oldest('S', 0)->id, nb, strlen(nb));
		run_due("the last sync");
		check_books("the last sync");
	}
	while (cJSON_GetArraySize(stash_td))
		cJSON_DeleteItemFromArray(stash_td, 0);
	while (cJSON_GetArraySize(stash_room))
		cJSON_DeleteItemFromArray(stash_room, 0);
	peek_close();
	mxnet_free(net);
	net = NULL;
	return 0;
}
