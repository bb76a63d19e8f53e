/* test_e2ee.c - the E2EE core against real libolm peers: a second device
 * made with this module (bot <-> peer in one process), and python3-olm
 * (tests/e2ee/peer.py) in both directions; signatures checked by
 * python3-signedjson (tests/e2ee/verify_signed.py); pickles, the wrong
 * key, replays and the room-key index rule.  SQLite in memory: the same
 * engine as the state file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

/* mkstemp wants six trailing X characters */
#define MKSTEMP_SUFFIX "XX" "XX" "XX"
#include <sqlite3.h>
#include <olm/olm.h>
#include <olm/outbound_group_session.h>
#include <olm/inbound_group_session.h>

#include "canonjson.h"
#include "e2ee.h"
#include "e2ee_store.h"

#define BOT "@faqbot:localhost"
#define PEER "@alice:localhost"
#define KEY "test pickle key"

struct fx {
	sqlite3 *db;
	struct e2ee *bot, *peer;
};

static const char *root(void)
{
	const char *r = getenv("FAQBOT_ROOT");
	return r ? r : ".";
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	char err[256];
	f->bot = e2ee_open(f->db, BOT, "BOTDEV", KEY, err, sizeof err);
	if (!f->bot)
		fail_msg("%s", err);
	f->peer = e2ee_open(f->db, PEER, "ALICEDEV", "another key", err, sizeof err);
	if (!f->peer)
		fail_msg("%s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	e2ee_free(f->bot);
	e2ee_free(f->peer);
	sqlite3_close(f->db);
	free(f);
	return 0;
}

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/faqbot-e2ee-" MKSTEMP_SUFFIX);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Runs cmd, returns its stdout (malloc'd) and exit status. */
static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += r;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	*status = pclose(p);
	return buf;
}

/* python3-signedjson says whether signer's key_id/pub signed obj. */
static int py_verify(const cJSON *obj, const char *signer, const char *key_id, const char *pub)
{
	char *txt = cJSON_PrintUnformatted(obj);
	char *path = write_tmp(txt);
	free(txt);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/e2ee/verify_signed.py %s '%s' '%s' '%s'",
		 root(), path, signer, key_id, pub);
	int st;
	char *out = run(cmd, &st);
	int ok = st == 0 && !strncmp(out, "ok", 2);
	free(out);
	unlink(path);
	return ok;
}

/* peer learns owner's device as from /keys/query. */
static void pin(struct e2ee *learner, struct e2ee *owner, const char *user, const char *dev)
{
	cJSON *dk = e2ee_device_keys(owner);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "device_keys"), user), dev, dk);
	char *s = cJSON_PrintUnformatted(r);
	char err[256];
	assert_int_equal(e2ee_keys_query_done(learner, s, strlen(s), err, sizeof err), 1);
	free(s);
	cJSON_Delete(r);
}

/* claimer gets an Olm session to owner using a key from owner's upload. */
static void claim(struct e2ee *claimer, struct e2ee *owner, const char *user, const char *dev)
{
	char err[256];
	char *body = e2ee_keys_upload_body(owner, -1, -1, 1000, err, sizeof err);
	if (!body) {
		/* already uploaded: ask for more keys than the server holds */
		body = e2ee_keys_upload_body(owner, 0, 1, 1000, err, sizeof err);
	}
	assert_non_null(body);
	cJSON *b = cJSON_Parse(body);
	cJSON *otks = cJSON_GetObjectItem(b, "one_time_keys");
	assert_non_null(otks);
	cJSON *one = cJSON_DetachItemViaPointer(otks, otks->child);
	cJSON *r = cJSON_CreateObject();
	cJSON *d = cJSON_AddObjectToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "one_time_keys"), user), dev);
	cJSON_AddItemToObject(d, one->string, one);
	char *s = cJSON_PrintUnformatted(r);
	assert_true(e2ee_keys_upload_done(owner, "{\"one_time_key_counts\":{\"signed_curve25519\":50}}", 48) == 50);
	cJSON *users = cJSON_CreateStringArray(&user, 1);
	char *cb = e2ee_keys_claim_body(claimer, users);
	assert_non_null(cb);
	assert_non_null(strstr(cb, dev));
	free(cb);
	assert_int_equal(e2ee_keys_claim_done(claimer, s, strlen(s)), 1);
	cb = e2ee_keys_claim_body(claimer, users);
	assert_null(cb); /* the session exists now */
	cJSON_Delete(users);
	free(s);
	free(body);
	cJSON_Delete(b);
	cJSON_Delete(r);
}

static cJSON *to_device_event(const char *sender, cJSON *content)
{
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "m.room.encrypted");
	cJSON_AddStringToObject(ev, "sender", sender);
	cJSON_AddItemToObject(ev, "content", content);
	return ev;
}

static void test_pickle_key_required(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	char err[256] = "";
	assert_null(e2ee_open(db, BOT, "D", NULL, err, sizeof err));
	assert_non_null(strstr(err, "FAQBOT_PICKLE_KEY"));
	assert_null(e2ee_open(db, BOT, "D", "", err, sizeof err));
	unsetenv("FAQBOT_PICKLE_KEY");
	assert_null(e2ee_pickle_key(NULL));
	assert_null(e2ee_pickle_key(""));
	setenv("FAQBOT_PICKLE_KEY", "from-env", 1);
	assert_string_equal(e2ee_pickle_key(""), "from-env");
	assert_string_equal(e2ee_pickle_key("from-config"), "from-config");
	unsetenv("FAQBOT_PICKLE_KEY");
	e2ee_free(NULL);
	sqlite3_close(db);
}

static char *account_row(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(pickle || device_uploaded, ',') FROM e2ee_account", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s;
}

static void test_account_pickle_and_wrong_key(void **state)
{
	struct fx *f = *state;
	char curve[128], ed[128], err[256] = "";
	snprintf(curve, sizeof curve, "%s", e2ee_curve25519(f->bot));
	snprintf(ed, sizeof ed, "%s", e2ee_ed25519(f->bot));
	assert_int_equal(strlen(curve), 43);
	e2ee_free(f->bot);
	f->bot = e2ee_open(f->db, BOT, "BOTDEV", KEY, err, sizeof err);
	assert_non_null(f->bot);
	assert_string_equal(e2ee_curve25519(f->bot), curve);
	assert_string_equal(e2ee_ed25519(f->bot), ed);
	char *before = account_row(f->db);
	int changes = sqlite3_total_changes(f->db);
	assert_null(e2ee_open(f->db, BOT, "BOTDEV", "wrong key", err, sizeof err));
	assert_non_null(strstr(err, "OLM_BAD_ACCOUNT_KEY"));
	assert_non_null(strstr(err, "nothing was changed"));
	char *after = account_row(f->db);
	assert_string_equal(before, after);
	assert_int_equal(sqlite3_total_changes(f->db), changes);
	free(before);
	free(after);
}

static void test_device_keys_signed(void **state)
{
	struct fx *f = *state;
	cJSON *dk = e2ee_device_keys(f->bot);
	assert_non_null(dk);
	char err[256];
	assert_int_equal(e2ee_device_verify(dk, BOT, "BOTDEV", err, sizeof err), 1);
	assert_int_equal(e2ee_device_verify(dk, BOT, "OTHER", err, sizeof err), 0);
	assert_int_equal(py_verify(dk, BOT, "ed25519:BOTDEV", e2ee_ed25519(f->bot)), 1);
	/* the python check can fail: another key, or a changed document */
	assert_int_equal(py_verify(dk, BOT, "ed25519:BOTDEV", e2ee_ed25519(f->peer)), 0);
	cJSON_AddStringToObject(dk, "extra", "x");
	assert_int_equal(e2ee_device_verify(dk, BOT, "BOTDEV", err, sizeof err), 0);
	assert_int_equal(py_verify(dk, BOT, "ed25519:BOTDEV", e2ee_ed25519(f->bot)), 0);
	/* unsigned is not covered by the signature */
	cJSON_DeleteItemFromObject(dk, "extra");
	cJSON_AddObjectToObject(dk, "unsigned");
	assert_int_equal(e2ee_device_verify(dk, BOT, "BOTDEV", err, sizeof err), 1);
	cJSON_Delete(dk);
}

static int count_members(const cJSON *o)
{
	int n = 0;
	for (const cJSON *c = o ? o->child : NULL; c; c = c->next)
		n++;
	return n;
}

static void test_keys_upload(void **state)
{
	struct fx *f = *state;
	char err[256];
	char *body = e2ee_keys_upload_body(f->bot, 0, -1, 1000, err, sizeof err);
	assert_non_null(body);
	cJSON *b = canonjson_parse(body, strlen(body), err, sizeof err);
	assert_non_null(b);
	cJSON *otk = cJSON_GetObjectItem(b, "one_time_keys");
	assert_int_equal(count_members(otk), 50);
	assert_int_equal(count_members(cJSON_GetObjectItem(b, "fallback_keys")), 1);
	assert_non_null(cJSON_GetObjectItem(b, "device_keys"));
	/* one-time and fallback keys are signed: python3-signedjson agrees */
	assert_int_equal(py_verify(otk->child, BOT, "ed25519:BOTDEV", e2ee_ed25519(f->bot)), 1);
	cJSON *fb = cJSON_GetObjectItem(b, "fallback_keys")->child;
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(fb, "fallback")));
	assert_int_equal(py_verify(fb, BOT, "ed25519:BOTDEV", e2ee_ed25519(f->bot)), 1);
	/* pickle before upload: a restart (before the answer) offers the same keys */
	e2ee_free(f->bot);
	f->bot = e2ee_open(f->db, BOT, "BOTDEV", KEY, err, sizeof err);
	char *again = e2ee_keys_upload_body(f->bot, 0, -1, 2000, err, sizeof err);
	assert_string_equal(body, again);
	free(again);
	assert_int_equal(e2ee_keys_upload_done(f->bot, "{\"one_time_key_counts\":{\"signed_curve25519\":50}}", 48), 50);
	/* after success (and a restart): nothing more to upload */
	e2ee_free(f->bot);
	f->bot = e2ee_open(f->db, BOT, "BOTDEV", KEY, err, sizeof err);
	assert_null(e2ee_keys_upload_body(f->bot, 50, 1, 3000, err, sizeof err));
	assert_string_equal(err, "");
	/* 5 used: 5 new, no device keys again */
	char *top = e2ee_keys_upload_body(f->bot, 45, 1, 4000, err, sizeof err);
	cJSON *t = cJSON_Parse(top);
	assert_int_equal(count_members(cJSON_GetObjectItem(t, "one_time_keys")), 5);
	assert_null(cJSON_GetObjectItem(t, "device_keys"));
	assert_null(cJSON_GetObjectItem(t, "fallback_keys"));
	cJSON_Delete(t);
	free(top);
	e2ee_keys_upload_done(f->bot, NULL, 0);
	/* the fallback key was used: a new one, different from the first */
	top = e2ee_keys_upload_body(f->bot, 50, 0, 5000, err, sizeof err);
	t = cJSON_Parse(top);
	cJSON *nfb = cJSON_GetObjectItem(t, "fallback_keys");
	assert_int_equal(count_members(nfb), 1);
	assert_string_not_equal(cJSON_GetObjectItem(nfb->child, "key")->valuestring,
				cJSON_GetObjectItem(fb, "key")->valuestring);
	/* not rotated again while the new one waits for its upload */
	char *top2 = e2ee_keys_upload_body(f->bot, 50, 0, 6000, err, sizeof err);
	assert_string_equal(top, top2);
	free(top2);
	cJSON_Delete(t);
	free(top);
	cJSON_Delete(b);
	free(body);
}

static void test_olm_roundtrip(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	pin(f->peer, f->bot, BOT, "BOTDEV");
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	claim(f->peer, f->bot, BOT, "BOTDEV");
	cJSON *content = cJSON_CreateObject();
	cJSON_AddStringToObject(content, "body", "quand sera visible ma session ?");
	cJSON *c = e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.test", content);
	assert_non_null(c);
	cJSON *ev = to_device_event(PEER, c);
	/* checks: the event sender must match the plaintext sender */
	cJSON_ReplaceItemInObject(ev, "sender", cJSON_CreateString("@mallory:localhost"));
	assert_null(e2ee_olm_decrypt(f->bot, ev, err, sizeof err));
	assert_non_null(strstr(err, "sender"));
	cJSON_ReplaceItemInObject(ev, "sender", cJSON_CreateString(PEER));
	cJSON *pl = e2ee_olm_decrypt(f->bot, ev, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(pl, "content"), "body")->valuestring,
			    "quand sera visible ma session ?");
	cJSON_Delete(pl);
	/* the same pre-key message again: the one-time key is gone and the
	 * message key used, so it does not decrypt a second time */
	assert_null(e2ee_olm_decrypt(f->bot, ev, err, sizeof err));
	cJSON_Delete(ev);
	/* and back: the bot answers over the session the peer made */
	for (int i = 0; i < 3; i++) {
		c = e2ee_olm_encrypt(f->bot, PEER, "ALICEDEV", "m.test", content);
		assert_non_null(c);
		ev = to_device_event(BOT, c);
		pl = e2ee_olm_decrypt(f->peer, ev, err, sizeof err);
		if (!pl)
			fail_msg("%s", err);
		cJSON_Delete(pl);
		cJSON_Delete(ev);
	}
	/* a session survives a restart (pickle round trip) */
	e2ee_free(f->bot);
	f->bot = e2ee_open(f->db, BOT, "BOTDEV", KEY, err, sizeof err);
	c = e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.test", content);
	ev = to_device_event(PEER, c);
	pl = e2ee_olm_decrypt(f->bot, ev, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	/* pinned: a device that shows a new ed25519 key is refused */
	cJSON *dk = e2ee_device_keys(f->bot); /* signed by the bot: right signature, wrong key */
	cJSON *keys = cJSON_GetObjectItem(dk, "keys");
	cJSON_ReplaceItemInObject(keys, "ed25519:BOTDEV", cJSON_CreateString(e2ee_ed25519(f->peer)));
	cJSON *r = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "device_keys"), BOT), "BOTDEV", dk);
	char *s = cJSON_PrintUnformatted(r);
	assert_int_equal(e2ee_keys_query_done(f->peer, s, strlen(s), err, sizeof err), 0);
	free(s);
	cJSON_Delete(r);
	cJSON_Delete(content);
}

static cJSON *room_event(const char *event_id, const char *sender, const char *content)
{
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "event_id", event_id);
	cJSON_AddStringToObject(ev, "sender", sender);
	cJSON_AddItemToObject(ev, "content", cJSON_Parse(content));
	return ev;
}

static void test_megolm_roundtrip_and_replay(void **state)
{
	struct fx *f = *state;
	char err[256] = "", sid[96];
	int st;
	pin(f->peer, f->bot, BOT, "BOTDEV");
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	cJSON *users = cJSON_CreateArray();
	cJSON_AddItemToArray(users, cJSON_CreateString(PEER));
	cJSON_AddItemToArray(users, cJSON_CreateString(BOT));
	/* the bot claims the peer's key, then shares its room session */
	char *cb = e2ee_keys_claim_body(f->bot, users);
	assert_non_null(cb);
	free(cb);
	claim(f->bot, f->peer, PEER, "ALICEDEV");
	char *share = e2ee_room_key_share_body(f->bot, "!room:localhost", users, 3, 0, 1000, sid, sizeof sid);
	assert_non_null(share);
	cJSON *sb = cJSON_Parse(share);
	cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(sb, "messages"), PEER), "ALICEDEV");
	assert_non_null(c);
	cJSON *ev = to_device_event(BOT, cJSON_Duplicate(c, 1));
	cJSON *pl = e2ee_olm_decrypt(f->peer, ev, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	assert_string_equal(cJSON_GetObjectItem(pl, "type")->valuestring, "m.room_key");
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	assert_int_equal(e2ee_room_key_share_done(f->bot, sid, share), 0);
	free(share);
	cJSON_Delete(sb);
	/* shared: nothing more to send until a device or a rotation appears */
	assert_null(e2ee_room_key_share_body(f->bot, "!room:localhost", users, 3, 0, 1000, sid, sizeof sid));

	cJSON *content = cJSON_Parse("{\"msgtype\":\"m.notice\",\"body\":\"Votre session sera visible le 12.\","
				     "\"m.relates_to\":{\"m.in_reply_to\":{\"event_id\":\"$q\"}}}");
	char *enc = e2ee_megolm_encrypt(f->bot, "!room:localhost", "m.room.message", content);
	assert_non_null(enc);
	cJSON *ej = cJSON_Parse(enc);
	/* the relation stays in the clear */
	assert_non_null(cJSON_GetObjectItem(ej, "m.relates_to"));
	assert_null(strstr(enc, "Votre session"));
	cJSON_Delete(ej);
	ev = room_event("$e1", BOT, enc);
	pl = e2ee_megolm_decrypt(f->peer, "!room:localhost", ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	assert_int_equal(st, E2EE_OK);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(pl, "content"), "body")->valuestring,
			    "Votre session sera visible le 12.");
	cJSON_Delete(pl);
	/* the same event again (a repeated sync) is fine */
	pl = e2ee_megolm_decrypt(f->peer, "!room:localhost", ev, &st, err, sizeof err);
	assert_non_null(pl);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	/* the same ciphertext under another event id is a replay */
	ev = room_event("$e2", BOT, enc);
	assert_null(e2ee_megolm_decrypt(f->peer, "!room:localhost", ev, &st, err, sizeof err));
	assert_int_equal(st, E2EE_REPLAY);
	cJSON_Delete(ev);
	/* in another room: refused (no session there) */
	ev = room_event("$e3", BOT, enc);
	assert_null(e2ee_megolm_decrypt(f->peer, "!other:localhost", ev, &st, err, sizeof err));
	assert_int_equal(st, E2EE_NO_SESSION);
	cJSON_Delete(ev);
	/* without sender_key and device_id (deprecated since spec v1.3, as
	 * newer clients send it): found by the session id, same answer */
	{
		cJSON *bare = cJSON_Parse(enc);
		cJSON_DeleteItemFromObject(bare, "sender_key");
		cJSON_DeleteItemFromObject(bare, "device_id");
		char *benc = cJSON_PrintUnformatted(bare);
		cJSON_Delete(bare);
		ev = room_event("$e1", BOT, benc);
		pl = e2ee_megolm_decrypt(f->peer, "!room:localhost", ev, &st, err, sizeof err);
		if (!pl)
			fail_msg("%s", err);
		assert_int_equal(st, E2EE_OK);
		cJSON_Delete(pl);
		cJSON_Delete(ev);
		/* ...and replay protection still holds */
		ev = room_event("$e4", BOT, benc);
		assert_null(e2ee_megolm_decrypt(f->peer, "!room:localhost", ev, &st, err, sizeof err));
		assert_int_equal(st, E2EE_REPLAY);
		cJSON_Delete(ev);
		free(benc);
	}
	/* the bot can read its own message (its inbound copy) */
	ev = room_event("$e1", BOT, enc);
	pl = e2ee_megolm_decrypt(f->bot, "!room:localhost", ev, &st, err, sizeof err);
	assert_non_null(pl);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	free(enc);
	/* rotation after 3 messages: a new session id, shared again */
	free(e2ee_megolm_encrypt(f->bot, "!room:localhost", "m.room.message", content));
	free(e2ee_megolm_encrypt(f->bot, "!room:localhost", "m.room.message", content));
	char sid2[96];
	share = e2ee_room_key_share_body(f->bot, "!room:localhost", users, 3, 0, 2000, sid2, sizeof sid2);
	assert_non_null(share);
	assert_string_not_equal(sid, sid2);
	free(share);
	/* and by age */
	share = e2ee_room_key_share_body(f->bot, "!room:localhost", users, 3, 500, 3000, sid, sizeof sid);
	assert_non_null(share);
	assert_string_not_equal(sid, sid2);
	free(share);
	/* a member left: rotated at once */
	assert_int_equal(e2ee_room_rotate(f->bot, "!room:localhost"), 0);
	assert_null(e2ee_megolm_encrypt(f->bot, "!room:localhost", "m.room.message", content));
	cJSON_Delete(content);
	cJSON_Delete(users);
}

/* Exports the key of an outbound group session at its current index. */
static char *og_key(OlmOutboundGroupSession *s)
{
	size_t n = olm_outbound_group_session_key_length(s);
	char *k = malloc(n + 1);
	olm_outbound_group_session_key(s, (uint8_t *)k, n);
	k[n] = '\0';
	return k;
}

static char *og_encrypt(OlmOutboundGroupSession *s, const char *room)
{
	char plain[256];
	snprintf(plain, sizeof plain, "{\"type\":\"m.room.message\",\"room_id\":\"%s\",\"content\":{\"body\":\"x\"}}", room);
	size_t n = olm_group_encrypt_message_length(s, strlen(plain));
	char *m = malloc(n + 1);
	olm_group_encrypt(s, (uint8_t *)plain, strlen(plain), (uint8_t *)m, n);
	m[n] = '\0';
	return m;
}

static void send_room_key(struct fx *f, const char *sid, const char *key)
{
	char err[256];
	cJSON *rk = cJSON_CreateObject();
	cJSON_AddStringToObject(rk, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(rk, "room_id", "!r:localhost");
	cJSON_AddStringToObject(rk, "session_id", sid);
	cJSON_AddStringToObject(rk, "session_key", key);
	cJSON *c = e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.room_key", rk);
	assert_non_null(c);
	cJSON *ev = to_device_event(PEER, c);
	cJSON *pl = e2ee_olm_decrypt(f->bot, ev, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	cJSON_Delete(rk);
}

static void test_room_key_index_rule(void **state)
{
	struct fx *f = *state;
	char err[256];
	int st;
	pin(f->peer, f->bot, BOT, "BOTDEV");
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	claim(f->peer, f->bot, BOT, "BOTDEV");
	OlmOutboundGroupSession *s = olm_outbound_group_session(malloc(olm_outbound_group_session_size()));
	uint8_t rnd[128];
	memset(rnd, 7, sizeof rnd);
	assert_true(olm_init_outbound_group_session(s, rnd, olm_init_outbound_group_session_random_length(s)) != olm_error());
	char sid[64];
	size_t n = olm_outbound_group_session_id(s, (uint8_t *)sid, sizeof sid);
	sid[n] = '\0';
	char *k0 = og_key(s);
	char *m0 = og_encrypt(s, "!r:localhost");
	char *m1 = og_encrypt(s, "!r:localhost");
	char *k2 = og_key(s);
	/* the key from index 2 arrives first: message 1 cannot be read */
	send_room_key(f, sid, k2);
	char content[4096];
	snprintf(content, sizeof content, "{\"algorithm\":\"%s\",\"sender_key\":\"%s\",\"session_id\":\"%s\",\"ciphertext\":\"%s\",\"device_id\":\"ALICEDEV\"}",
		 E2EE_MEGOLM, e2ee_curve25519(f->peer), sid, m1);
	cJSON *ev = room_event("$m1", PEER, content);
	assert_null(e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err));
	assert_int_equal(st, E2EE_UNKNOWN_INDEX);
	/* the earlier key replaces it; a later copy never replaces that */
	send_room_key(f, sid, k0);
	send_room_key(f, sid, k2);
	cJSON *pl = e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	snprintf(content, sizeof content, "{\"algorithm\":\"%s\",\"sender_key\":\"%s\",\"session_id\":\"%s\",\"ciphertext\":\"%s\"}",
		 E2EE_MEGOLM, e2ee_curve25519(f->peer), sid, m0);
	ev = room_event("$m0", PEER, content);
	pl = e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err);
	assert_non_null(pl);
	cJSON_Delete(pl);
	/* sent by someone else than the pinned owner of the sender key */
	cJSON_ReplaceItemInObject(ev, "sender", cJSON_CreateString("@mallory:localhost"));
	cJSON_ReplaceItemInObject(ev, "event_id", cJSON_CreateString("$m0b"));
	assert_null(e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err));
	cJSON_Delete(ev);
	free(k0);
	free(k2);
	free(m0);
	free(m1);
	olm_clear_outbound_group_session(s);
	free(s);
}

static void test_cross_signing(void **state)
{
	struct fx *f = *state;
	char err[256];
	assert_null(e2ee_xsign_signatures_body(f->bot, err, sizeof err));
	char *up = e2ee_xsign_upload_body(f->bot, err, sizeof err);
	assert_non_null(up);
	char *up2 = e2ee_xsign_upload_body(f->bot, err, sizeof err);
	assert_string_equal(up, up2); /* made once, then read back */
	free(up2);
	cJSON *u = cJSON_Parse(up);
	cJSON *mk = cJSON_GetObjectItem(u, "master_key"), *sk = cJSON_GetObjectItem(u, "self_signing_key");
	const char *mpub = cJSON_GetObjectItem(mk, "keys")->child->valuestring;
	const char *spub = cJSON_GetObjectItem(sk, "keys")->child->valuestring;
	char kid[96];
	snprintf(kid, sizeof kid, "ed25519:%s", mpub);
	assert_int_equal(py_verify(sk, BOT, kid, mpub), 1);
	char *sg = e2ee_xsign_signatures_body(f->bot, err, sizeof err);
	assert_non_null(sg);
	cJSON *s = cJSON_Parse(sg);
	cJSON *dk = cJSON_GetObjectItem(cJSON_GetObjectItem(s, BOT), "BOTDEV");
	snprintf(kid, sizeof kid, "ed25519:%s", spub);
	assert_int_equal(py_verify(dk, BOT, kid, spub), 1);
	cJSON *msig = cJSON_GetObjectItem(cJSON_GetObjectItem(s, BOT), mpub);
	assert_int_equal(py_verify(msig, BOT, "ed25519:BOTDEV", e2ee_ed25519(f->bot)), 1);
	/* a restart reads the same keys (seeds pickled with the pickle key) */
	e2ee_free(f->bot);
	f->bot = e2ee_open(f->db, BOT, "BOTDEV", KEY, err, sizeof err);
	up2 = e2ee_xsign_upload_body(f->bot, err, sizeof err);
	assert_string_equal(up, up2);
	free(up2);
	cJSON_Delete(s);
	free(sg);
	cJSON_Delete(u);
	free(up);
}

/* python3-olm as the peer, both directions, Olm and Megolm. */
static void test_python_olm_peer(void **state)
{
	struct fx *f = *state;
	char err[256], cmd[2048], statef[] = "/tmp/faqbot-peer-" MKSTEMP_SUFFIX, sid[96];
	int fd = mkstemp(statef), st;
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/e2ee/peer.py init %s '@bob:localhost' BOBDEV", root(), statef);
	char *out = run(cmd, &st);
	assert_int_equal(st, 0);
	cJSON *o = cJSON_Parse(out);
	free(out);
	char *q = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "query"));
	char *c = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "claim"));
	assert_int_equal(e2ee_keys_query_done(f->bot, q, strlen(q), err, sizeof err), 1);
	assert_int_equal(e2ee_keys_claim_done(f->bot, c, strlen(c)), 1);
	free(q);
	free(c);
	cJSON_Delete(o);
	/* we share a room key with python, and encrypt a message in the room */
	const char *bob = "@bob:localhost";
	cJSON *users = cJSON_CreateStringArray(&bob, 1);
	char *share = e2ee_room_key_share_body(f->bot, "!py:localhost", users, 0, 0, 1000, sid, sizeof sid);
	assert_non_null(share);
	cJSON *content = cJSON_Parse("{\"msgtype\":\"m.notice\",\"body\":\"réponse chiffrée\"}");
	char *enc = e2ee_megolm_encrypt(f->bot, "!py:localhost", "m.room.message", content);
	cJSON *sb = cJSON_Parse(share);
	cJSON *ev = to_device_event(BOT, cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(sb, "messages"), bob), "BOBDEV"), 1));
	cJSON *encj = cJSON_Parse(enc);
	cJSON_AddStringToObject(ev, "megolm", cJSON_GetObjectItem(encj, "ciphertext")->valuestring);
	char *evs = cJSON_PrintUnformatted(ev);
	char *path = write_tmp(evs);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/e2ee/peer.py reply %s '%s' '%s' '%s' %s", root(), statef,
		 BOT, e2ee_curve25519(f->bot), e2ee_ed25519(f->bot), path);
	out = run(cmd, &st);
	if (st != 0)
		fail_msg("peer.py reply failed: %s", out);
	o = cJSON_Parse(out);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "got"), "type")->valuestring, "m.room_key");
	cJSON *mp = cJSON_GetObjectItem(o, "megolm_plain");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(mp, "content"), "body")->valuestring, "réponse chiffrée");
	assert_string_equal(cJSON_GetObjectItem(mp, "room_id")->valuestring, "!py:localhost");
	/* python's Olm reply decrypts here */
	cJSON *pl = e2ee_olm_decrypt(f->bot, cJSON_GetObjectItem(o, "event"), err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(pl, "content"), "text")->valuestring, "réponse du pair");
	cJSON_Delete(pl);
	cJSON_Delete(o);
	free(out);
	unlink(path);
	unlink(statef);
	free(evs);
	cJSON_Delete(ev);
	cJSON_Delete(encj);
	cJSON_Delete(sb);
	free(enc);
	free(share);
	cJSON_Delete(content);
	cJSON_Delete(users);
}

static void test_device_lists(void **state)
{
	struct fx *f = *state;
	char err[256];
	assert_null(e2ee_keys_query_body(f->bot));
	cJSON *u = cJSON_Parse("[\"@alice:localhost\",\"@carol:localhost\"]");
	assert_int_equal(e2ee_users_track(f->bot, u), 0);
	char *q = e2ee_keys_query_body(f->bot);
	assert_non_null(q);
	assert_non_null(strstr(q, "@carol:localhost"));
	free(q);
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	const char *carol = "{\"device_keys\":{\"@carol:localhost\":{}}}";
	assert_int_equal(e2ee_keys_query_done(f->bot, carol, strlen(carol), err, sizeof err), 0);
	assert_null(e2ee_keys_query_body(f->bot));
	cJSON *ch = cJSON_Parse("[\"@alice:localhost\",\"@untracked:localhost\"]");
	cJSON *left = cJSON_Parse("[\"@carol:localhost\"]");
	assert_int_equal(e2ee_users_changed(f->bot, ch, left), 0);
	q = e2ee_keys_query_body(f->bot);
	assert_string_equal(q, "{\"device_keys\":{\"@alice:localhost\":[]}}");
	free(q);
	cJSON_Delete(u);
	cJSON_Delete(ch);
	cJSON_Delete(left);
}

/* ---- issue 10: encrypted messages only from pinned devices; bounded state ---- */

static long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

#define BOT_INBOUND "SELECT count(*) FROM e2ee_inbound WHERE owner = '" BOT "|BOTDEV'"

/* An m.room_key from the peer to the bot for room, as a to-device event;
 * sid/key from a fresh outbound session (its id into sid_out). */
static cJSON *room_key_event(struct fx *f, const char *room, char *sid_out, OlmOutboundGroupSession **keep)
{
	OlmOutboundGroupSession *s = olm_outbound_group_session(malloc(olm_outbound_group_session_size()));
	uint8_t r[512];
	static unsigned seed;
	memset(r, (int)(++seed & 0xff), sizeof r);
	r[0] = (uint8_t)(seed >> 8);
	assert_true(olm_init_outbound_group_session(s, r, olm_init_outbound_group_session_random_length(s)) != olm_error());
	size_t n = olm_outbound_group_session_id(s, (uint8_t *)sid_out, 64);
	sid_out[n] = '\0';
	char *k = og_key(s);
	cJSON *rk = cJSON_CreateObject();
	cJSON_AddStringToObject(rk, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(rk, "room_id", room);
	cJSON_AddStringToObject(rk, "session_id", sid_out);
	cJSON_AddStringToObject(rk, "session_key", k);
	cJSON *c = e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.room_key", rk);
	assert_non_null(c);
	cJSON_Delete(rk);
	free(k);
	if (keep) {
		*keep = s;
	} else {
		olm_clear_outbound_group_session(s);
		free(s);
	}
	return to_device_event(PEER, c);
}

/* Finding 4: an Olm message from a device the bot never pinned is not
 * taken (nothing is used up: once the device is pinned, the same message
 * decrypts); a Megolm session whose device is no longer listed is refused. */
static void test_unknown_device_refused(void **state)
{
	struct fx *f = *state;
	char err[256] = "", sid[64], content[4096];
	int st = 0;
	pin(f->peer, f->bot, BOT, "BOTDEV");
	claim(f->peer, f->bot, BOT, "BOTDEV");
	/* the bot has not seen alice's device in a /keys/query */
	OlmOutboundGroupSession *gs;
	cJSON *ev = room_key_event(f, "!r:localhost", sid, &gs);
	assert_null(e2ee_olm_decrypt(f->bot, ev, err, sizeof err));
	assert_non_null(strstr(err, "not a pinned device"));
	assert_int_equal(count(f->db, BOT_INBOUND), 0);
	assert_null(e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err));
	assert_int_equal(st, E2EE_UNKNOWN_DEVICE);
	/* after the query the same (held) message is taken */
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	cJSON *pl = e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	assert_int_equal(st, E2EE_OK);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	assert_int_equal(count(f->db, BOT_INBOUND), 1);
	/* a room message under that session decrypts, credited to alice */
	char *m0 = og_encrypt(gs, "!r:localhost");
	snprintf(content, sizeof content, "{\"algorithm\":\"%s\",\"sender_key\":\"%s\",\"session_id\":\"%s\",\"ciphertext\":\"%s\"}",
		 E2EE_MEGOLM, e2ee_curve25519(f->peer), sid, m0);
	ev = room_event("$a0", PEER, content);
	pl = e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("%s", err);
	cJSON_Delete(pl);
	/* stated as from another user: refused */
	cJSON_ReplaceItemInObject(ev, "sender", cJSON_CreateString("@mallory:localhost"));
	cJSON_ReplaceItemInObject(ev, "event_id", cJSON_CreateString("$a0m"));
	assert_null(e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err));
	assert_int_equal(st, E2EE_UNKNOWN_DEVICE);
	cJSON_Delete(ev);
	/* alice's device is no longer listed: its sessions are not trusted */
	const char *none = "{\"device_keys\":{\"" PEER "\":{}}}";
	assert_int_equal(e2ee_keys_query_done(f->bot, none, strlen(none), err, sizeof err), 0);
	free(m0);
	m0 = og_encrypt(gs, "!r:localhost");
	snprintf(content, sizeof content, "{\"algorithm\":\"%s\",\"sender_key\":\"%s\",\"session_id\":\"%s\",\"ciphertext\":\"%s\"}",
		 E2EE_MEGOLM, e2ee_curve25519(f->peer), sid, m0);
	ev = room_event("$a1", PEER, content);
	assert_null(e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err));
	assert_int_equal(st, E2EE_UNKNOWN_DEVICE);
	cJSON_Delete(ev);
	free(m0);
	olm_clear_outbound_group_session(gs);
	free(gs);
}

static int only_joined(void *arg, const char *room)
{
	(void)arg;
	return !strcmp(room, "!r:localhost");
}

/* Finding 5: room keys only for joined rooms, a quota per sender, and the
 * retention of e2ee_prune. */
static void test_bounded_state(void **state)
{
	struct fx *f = *state;
	char err[256] = "", sid[64];
	int st = 0;
	pin(f->peer, f->bot, BOT, "BOTDEV");
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	claim(f->peer, f->bot, BOT, "BOTDEV");
	e2ee_set_room_filter(f->bot, only_joined, NULL);
	for (int i = 0; i < 20; i++) {
		char room[64];
		snprintf(room, sizeof room, "!junk%d:evil", i);
		cJSON *ev = room_key_event(f, room, sid, NULL);
		assert_null(e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err));
		assert_non_null(strstr(err, "not joined"));
		cJSON_Delete(ev);
	}
	assert_int_equal(count(f->db, BOT_INBOUND), 0);
	/* the Olm session still advanced: the next message decrypts */
	for (int i = 0; i < E2EE_MAX_INBOUND_PER_USER + 10; i++) {
		cJSON *ev = room_key_event(f, "!r:localhost", sid, NULL);
		cJSON *pl = e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err);
		if (!pl)
			fail_msg("key %d: %s", i, err);
		cJSON_Delete(pl);
		cJSON_Delete(ev);
	}
	assert_int_equal(count(f->db, BOT_INBOUND), E2EE_MAX_INBOUND_PER_USER);
	/* the newest is kept */
	char q[512];
	snprintf(q, sizeof q, BOT_INBOUND " AND session_id = '%s'", sid);
	assert_int_equal(count(f->db, q), 1);
	/* replay rows, Olm sessions: made directly */
	const char *owner = BOT "|BOTDEV";
	int64_t now = (int64_t)time(NULL) * 1000;
	for (int i = 0; i < 30; i++) {
		char s[32];
		snprintf(s, sizeof s, "sess%d", i);
		assert_int_equal(e2ee_store_olm_put(f->db, owner, "PEERKEY", s, "pickle", now - i * 1000), 0);
		assert_int_equal(e2ee_store_seen(f->db, owner, sid, (uint32_t)i, s, now - 40LL * 86400 * 1000), 0);
	}
	assert_int_equal(e2ee_store_olm_put(f->db, owner, "OLDPEER", "old", "pickle", now - 91LL * 86400 * 1000), 0);
	struct e2ee_store_pruned p;
	assert_int_equal(e2ee_prune(f->bot, now, &p), 0);
	/* 16 sessions a peer, none unused for 90 days; replay rows 30 days */
	assert_int_equal(count(f->db, "SELECT count(*) FROM e2ee_olm WHERE peer_key = 'PEERKEY'"), E2EE_KEEP_OLM_PER_PEER);
	assert_int_equal(count(f->db, "SELECT count(*) FROM e2ee_olm WHERE peer_key = 'OLDPEER'"), 0);
	assert_int_equal(count(f->db, "SELECT count(*) FROM e2ee_olm WHERE peer_key = 'PEERKEY' AND session_id = 'sess0'"), 1);
	assert_int_equal(count(f->db, "SELECT count(*) FROM e2ee_seen"), 0);
	/* room keys used in the last 30 days stay; older go */
	assert_int_equal(count(f->db, BOT_INBOUND), E2EE_MAX_INBOUND_PER_USER);
	assert_int_equal(e2ee_prune(f->bot, now + 400LL * 86400 * 1000, &p), 0);
	assert_int_equal(count(f->db, BOT_INBOUND), 0);
	assert_true(p.inbound >= E2EE_MAX_INBOUND_PER_USER);
}

/* Finding 11: a lost Olm session is repaired (new session, m.dummy); a
 * missing room key is asked for and a forwarded key taken only when asked;
 * requests for the bot's own sessions answered only to devices that
 * received them. */
static void test_repair_and_key_requests(void **state)
{
	struct fx *f = *state;
	char err[256] = "", rid[64], user[256], sid[64], bsid[96];
	int st = 0;
	pin(f->peer, f->bot, BOT, "BOTDEV");
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	claim(f->peer, f->bot, BOT, "BOTDEV");
	cJSON *content = cJSON_Parse("{\"n\":1}");
	cJSON *ev = to_device_event(PEER, e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.test", content));
	cJSON *pl = e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err);
	assert_non_null(pl);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	/* the bot loses its Olm sessions: the peer's next message is wedged */
	assert_int_equal(sqlite3_exec(f->db, "DELETE FROM e2ee_olm WHERE owner = '" BOT "|BOTDEV'", NULL, NULL, NULL), SQLITE_OK);
	ev = to_device_event(PEER, e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.test", content));
	assert_null(e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err));
	assert_int_equal(st, E2EE_WEDGED);
	char dev[64];
	assert_int_equal(e2ee_device_for_key(f->bot, PEER, e2ee_curve25519(f->peer), dev, sizeof dev), 1);
	assert_string_equal(dev, "ALICEDEV");
	cJSON_Delete(ev);
	/* repair: claim a one-time key of that device, send m.dummy over it */
	char *cb = e2ee_unwedge_claim_body(f->bot, PEER, "ALICEDEV");
	assert_non_null(cb);
	assert_non_null(strstr(cb, "ALICEDEV"));
	free(cb);
	claim(f->bot, f->peer, PEER, "ALICEDEV");
	cJSON *empty = cJSON_CreateObject();
	ev = to_device_event(BOT, e2ee_olm_encrypt(f->bot, PEER, "ALICEDEV", "m.dummy", empty));
	pl = e2ee_olm_decrypt_st(f->peer, ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("the peer cannot read m.dummy: %s", err);
	assert_string_equal(cJSON_GetObjectItem(pl, "type")->valuestring, "m.dummy");
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	/* the peer now writes over the new session: the bot reads it */
	ev = to_device_event(PEER, e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.test", content));
	pl = e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("after the repair: %s", err);
	cJSON_Delete(pl);
	cJSON_Delete(ev);

	/* a missing room key: asked once (not again within the hour) */
	OlmOutboundGroupSession *gs = olm_outbound_group_session(malloc(olm_outbound_group_session_size()));
	uint8_t r[512];
	memset(r, 42, sizeof r);
	assert_true(olm_init_outbound_group_session(gs, r, olm_init_outbound_group_session_random_length(gs)) != olm_error());
	size_t n = olm_outbound_group_session_id(gs, (uint8_t *)sid, sizeof sid);
	sid[n] = '\0';
	int64_t now = (int64_t)time(NULL) * 1000;
	cJSON *req = e2ee_key_request(f->bot, "!r:localhost", PEER, e2ee_curve25519(f->peer), sid, now, rid, sizeof rid);
	assert_non_null(req);
	assert_string_equal(cJSON_GetObjectItem(req, "action")->valuestring, "request");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "body"), "session_id")->valuestring, sid);
	cJSON_Delete(req);
	assert_null(e2ee_key_request(f->bot, "!r:localhost", PEER, NULL, sid, now + 1000, rid, sizeof rid));
	/* the peer forwards its session (exported at index 0) */
	char *k0 = og_key(gs);
	OlmInboundGroupSession *ig = olm_inbound_group_session(malloc(olm_inbound_group_session_size()));
	assert_true(olm_init_inbound_group_session(ig, (uint8_t *)k0, strlen(k0)) != olm_error());
	size_t xl = olm_export_inbound_group_session_length(ig);
	char *xk = malloc(xl + 1);
	assert_true(olm_export_inbound_group_session(ig, (uint8_t *)xk, xl, 0) != olm_error());
	xk[xl] = '\0';
	cJSON *fk = cJSON_CreateObject();
	cJSON_AddStringToObject(fk, "algorithm", E2EE_MEGOLM);
	cJSON_AddStringToObject(fk, "room_id", "!r:localhost");
	cJSON_AddStringToObject(fk, "sender_key", e2ee_curve25519(f->peer));
	cJSON_AddStringToObject(fk, "sender_claimed_ed25519_key", e2ee_ed25519(f->peer));
	cJSON_AddStringToObject(fk, "session_id", sid);
	cJSON_AddStringToObject(fk, "session_key", xk);
	cJSON_AddArrayToObject(fk, "forwarding_curve25519_key_chain");
	/* for a room the request was not about: refused */
	cJSON_ReplaceItemInObject(fk, "room_id", cJSON_CreateString("!other:localhost"));
	ev = to_device_event(PEER, e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.forwarded_room_key", fk));
	assert_null(e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err));
	assert_non_null(strstr(err, "did not ask"));
	cJSON_Delete(ev);
	cJSON_ReplaceItemInObject(fk, "room_id", cJSON_CreateString("!r:localhost"));
	ev = to_device_event(PEER, e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.forwarded_room_key", fk));
	pl = e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("forwarded key: %s", err);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	char *m0 = og_encrypt(gs, "!r:localhost"), c2[4096];
	snprintf(c2, sizeof c2, "{\"algorithm\":\"%s\",\"sender_key\":\"%s\",\"session_id\":\"%s\",\"ciphertext\":\"%s\"}",
		 E2EE_MEGOLM, e2ee_curve25519(f->peer), sid, m0);
	ev = room_event("$fk", PEER, c2);
	pl = e2ee_megolm_decrypt(f->bot, "!r:localhost", ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("with the forwarded key: %s", err);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	cJSON *cancel = e2ee_key_request_cancel(f->bot, sid, user, sizeof user);
	assert_non_null(cancel);
	assert_string_equal(user, PEER);
	assert_string_equal(cJSON_GetObjectItem(cancel, "action")->valuestring, "request_cancellation");
	cJSON_Delete(cancel);
	assert_null(e2ee_key_request_cancel(f->bot, sid, user, sizeof user));
	/* a forwarded key nobody asked for is not stored */
	long before = count(f->db, BOT_INBOUND);
	ev = to_device_event(PEER, e2ee_olm_encrypt(f->peer, BOT, "BOTDEV", "m.forwarded_room_key", fk));
	/* (sid now stored: same index, kept; the refusal is that it was not asked) */
	assert_null(e2ee_olm_decrypt_st(f->bot, ev, &st, err, sizeof err));
	assert_int_equal(count(f->db, BOT_INBOUND), before);
	cJSON_Delete(ev);

	/* requests for the bot's own session: only from a recipient device */
	cJSON *users = cJSON_CreateArray();
	cJSON_AddItemToArray(users, cJSON_CreateString(PEER));
	char *share = e2ee_room_key_share_body(f->bot, "!b:localhost", users, 0, 0, now, bsid, sizeof bsid);
	assert_non_null(share);
	assert_int_equal(e2ee_room_key_share_done(f->bot, bsid, share), 0);
	free(share);
	char rq[1024];
	snprintf(rq, sizeof rq, "{\"sender\":\"%s\",\"type\":\"m.room_key_request\",\"content\":{\"action\":\"request\","
		 "\"requesting_device_id\":\"%%s\",\"request_id\":\"x\",\"body\":{\"algorithm\":\"%s\","
		 "\"room_id\":\"!b:localhost\",\"session_id\":\"%s\"}}}", PEER, E2EE_MEGOLM, bsid);
	char rq2[1200];
	snprintf(rq2, sizeof rq2, rq, "ALICEDEV");
	cJSON *rqe = cJSON_Parse(rq2);
	char *ans = e2ee_key_request_answer(f->bot, rqe, err, sizeof err);
	if (!ans)
		fail_msg("answer: %s", err);
	cJSON *aj = cJSON_Parse(ans);
	cJSON *enc = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(aj, "messages"), PEER), "ALICEDEV");
	ev = to_device_event(BOT, cJSON_Duplicate(enc, 1));
	/* (the peer, built from this module, takes it only once it asked) */
	req = e2ee_key_request(f->peer, "!b:localhost", BOT, NULL, bsid, now, rid, sizeof rid);
	assert_non_null(req);
	cJSON_Delete(req);
	pl = e2ee_olm_decrypt_st(f->peer, ev, &st, err, sizeof err);
	if (!pl)
		fail_msg("the peer cannot take the forwarded key: %s", err);
	assert_string_equal(cJSON_GetObjectItem(pl, "type")->valuestring, "m.forwarded_room_key");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(pl, "content"), "session_id")->valuestring, bsid);
	cJSON_Delete(pl);
	cJSON_Delete(ev);
	cJSON_Delete(aj);
	free(ans);
	cJSON_Delete(rqe);
	/* another device of alice, pinned but never a recipient: refused */
	struct e2ee *tab = e2ee_open(f->db, PEER, "TABLET", "k3", err, sizeof err);
	assert_non_null(tab);
	pin(f->bot, tab, PEER, "TABLET");
	snprintf(rq2, sizeof rq2, rq, "TABLET");
	rqe = cJSON_Parse(rq2);
	assert_null(e2ee_key_request_answer(f->bot, rqe, err, sizeof err));
	assert_non_null(strstr(err, "never received"));
	cJSON_Delete(rqe);
	e2ee_free(tab);
	cJSON_Delete(users);
	cJSON_Delete(fk);
	free(m0);
	free(xk);
	free(k0);
	olm_clear_inbound_group_session(ig);
	free(ig);
	olm_clear_outbound_group_session(gs);
	free(gs);
	cJSON_Delete(empty);
	cJSON_Delete(content);
}

/* Issue 10: device records of users who share no room with the bot are
 * pruned: a stranger (queried only for a to-device message) a day after
 * its last query, a member not seen in a room of ours for 90 days; the
 * bot's own user never. */
static void test_strangers_pruned(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct e2ee *eve = e2ee_open(f->db, "@eve:evil", "EVEDEV", "k4", err, sizeof err);
	assert_non_null(eve);
	cJSON *members = cJSON_CreateArray();
	cJSON_AddItemToArray(members, cJSON_CreateString(PEER));
	assert_int_equal(e2ee_users_track(f->bot, members), 0);
	assert_int_equal(e2ee_user_refresh(f->bot, "@eve:evil"), 0);
	assert_int_equal(e2ee_user_refresh(f->bot, BOT), 0);
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	pin(f->bot, eve, "@eve:evil", "EVEDEV");
	pin(f->bot, f->bot, BOT, "BOTDEV");
#define BOT_DEVICES(u) "SELECT count(*) FROM e2ee_device WHERE owner = '" BOT "|BOTDEV' AND user_id = '" u "'"
#define BOT_USERS(u) "SELECT count(*) FROM e2ee_user WHERE owner = '" BOT "|BOTDEV' AND user_id = '" u "'"
	assert_int_equal(count(f->db, BOT_DEVICES("@eve:evil")), 1);
	int64_t now = (int64_t)time(NULL) * 1000;
	struct e2ee_store_pruned p;
	assert_int_equal(e2ee_prune(f->bot, now + 3600 * 1000, &p), 0);
	assert_int_equal(p.users, 0);
	assert_int_equal(count(f->db, BOT_DEVICES("@eve:evil")), 1);
	/* a day and a bit later: the stranger is gone, the member stays */
	assert_int_equal(e2ee_prune(f->bot, now + 25LL * 3600 * 1000, &p), 0);
	assert_int_equal(p.devices, 1);
	assert_int_equal(p.users, 1);
	assert_int_equal(count(f->db, BOT_DEVICES("@eve:evil")), 0);
	assert_int_equal(count(f->db, BOT_USERS("@eve:evil")), 0);
	assert_int_equal(count(f->db, BOT_DEVICES(PEER)), 1);
	assert_int_equal(count(f->db, BOT_DEVICES(BOT)), 1);
	/* a stranger who joins a room of ours is a member from then on */
	assert_int_equal(e2ee_user_refresh(f->bot, "@eve:evil"), 0);
	cJSON_AddItemToArray(members, cJSON_CreateString("@eve:evil"));
	assert_int_equal(e2ee_users_track(f->bot, members), 0);
	pin(f->bot, eve, "@eve:evil", "EVEDEV");
	assert_int_equal(e2ee_prune(f->bot, now + 25LL * 3600 * 1000, &p), 0);
	assert_int_equal(count(f->db, BOT_DEVICES("@eve:evil")), 1);
	/* members unseen for 90 days go too; the bot's own user never */
	assert_int_equal(e2ee_prune(f->bot, now + 91LL * 86400 * 1000, &p), 0);
	assert_int_equal(count(f->db, BOT_DEVICES(PEER)), 0);
	assert_int_equal(count(f->db, BOT_DEVICES("@eve:evil")), 0);
	assert_int_equal(count(f->db, BOT_USERS(PEER)), 0);
	assert_int_equal(count(f->db, BOT_DEVICES(BOT)), 1);
	cJSON_Delete(members);
	e2ee_free(eve);
}

/* Issue 10: incoming m.room_key_request's are looked at at most
 * E2EE_KEYREQ_PER_MIN a minute per requesting device; the first one past
 * that is reported, the rest dropped silently; another device is counted
 * apart. */
static void test_key_request_limit(void **state)
{
	struct fx *f = *state;
	char err[256] = "", bsid[96], rq[1024], rq2[1200];
	pin(f->bot, f->peer, PEER, "ALICEDEV");
	claim(f->bot, f->peer, PEER, "ALICEDEV");
	cJSON *users = cJSON_CreateArray();
	cJSON_AddItemToArray(users, cJSON_CreateString(PEER));
	int64_t now = (int64_t)time(NULL) * 1000;
	char *share = e2ee_room_key_share_body(f->bot, "!b:localhost", users, 0, 0, now, bsid, sizeof bsid);
	assert_non_null(share);
	assert_int_equal(e2ee_room_key_share_done(f->bot, bsid, share), 0);
	free(share);
	snprintf(rq, sizeof rq, "{\"sender\":\"%s\",\"type\":\"m.room_key_request\",\"content\":{\"action\":\"request\","
		 "\"requesting_device_id\":\"%%s\",\"request_id\":\"x\",\"body\":{\"algorithm\":\"%s\","
		 "\"room_id\":\"!b:localhost\",\"session_id\":\"%s\"}}}", PEER, E2EE_MEGOLM, bsid);
	snprintf(rq2, sizeof rq2, rq, "ALICEDEV");
	cJSON *rqe = cJSON_Parse(rq2);
	for (int i = 0; i < E2EE_KEYREQ_PER_MIN; i++) {
		char *ans = e2ee_key_request_answer(f->bot, rqe, err, sizeof err);
		if (!ans)
			fail_msg("request %d: %s", i, err);
		free(ans);
	}
	assert_null(e2ee_key_request_answer(f->bot, rqe, err, sizeof err));
	assert_non_null(strstr(err, "a minute from device ALICEDEV"));
	for (int i = 0; i < 100; i++) {
		strcpy(err, "x");
		assert_null(e2ee_key_request_answer(f->bot, rqe, err, sizeof err));
		assert_string_equal(err, "");
	}
	cJSON_Delete(rqe);
	/* another device of hers is looked at (and refused: never a recipient) */
	snprintf(rq2, sizeof rq2, rq, "TABLET");
	rqe = cJSON_Parse(rq2);
	assert_null(e2ee_key_request_answer(f->bot, rqe, err, sizeof err));
	assert_non_null(strstr(err, "never received"));
	cJSON_Delete(rqe);
	/* many made-up devices: past E2EE_KEYREQ_DEVICES, reported once */
	int reported = 0, silent = 0;
	for (int i = 0; i < E2EE_KEYREQ_DEVICES + 20; i++) {
		char dev[32];
		snprintf(dev, sizeof dev, "FAKE%d", i);
		snprintf(rq2, sizeof rq2, rq, dev);
		rqe = cJSON_Parse(rq2);
		assert_null(e2ee_key_request_answer(f->bot, rqe, err, sizeof err));
		if (strstr(err, "over 64 devices"))
			reported++;
		else if (!err[0])
			silent++;
		cJSON_Delete(rqe);
	}
	assert_int_equal(reported, 1);
	assert_true(silent >= 18);
	cJSON_Delete(users);
}

/* The Python references are installed when missing (tests/e2ee/need.sh). */
static int need_python(void **state)
{
	(void)state;
	char cmd[512];
	const char *r = getenv("FAQBOT_ROOT");
	snprintf(cmd, sizeof cmd, "sh %s/tests/e2ee/need.sh", r ? r : ".");
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pickle_key_required),
		cmocka_unit_test_setup_teardown(test_account_pickle_and_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_keys_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_olm_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_megolm_roundtrip_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_key_index_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cross_signing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python_olm_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_device_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repair_and_key_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strangers_pruned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_request_limit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, need_python, NULL);
}
