/* test_mxjson.c - the pure parts of the Matrix client (mxjson.c): /sync
 * handling with hostile input (wrong types, missing fields, huge strings,
 * deep nesting, random corruption) never crashes and never trusts a bad
 * field; HTML escaping; transaction ids; the reply's JSON shape; backoff
 * and Retry-After bounds; URL escaping; the invite policy; the E2EE
 * helpers (members, key counts, m.room.encryption, decrypted events); and
 * mxnet_start refusing e2ee without a pickle key by returning NULL (the
 * process goes on: a reload that adds such a network must not kill it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bot.h"
#include "config.h"
#include "kb.h"
#include "loop.h"
#include "mxnet.h"
#include "mxjson.h"

#define SELF "@faqbot:localhost"

/* What a walk reported, for the assertions. */
struct seen {
	int invites, leaves, rooms, events, messages;
	char inviter[64];
	int invite_direct;
	int limited;
	const char *prev_batch;
	int64_t joined;
	char last_body[64];
};

static void v_invite(void *arg, const char *room, const char *inviter, int direct)
{
	struct seen *s = arg;
	(void)room;
	s->invites++;
	snprintf(s->inviter, sizeof s->inviter, "%s", inviter ? inviter : "(null)");
	s->invite_direct = direct;
}

static void v_leave(void *arg, const char *room)
{
	struct seen *s = arg;
	assert_non_null(room);
	s->leaves++;
}

static void v_room(void *arg, const char *room, const struct mxjson_room_info *ri)
{
	struct seen *s = arg;
	assert_non_null(room);
	/* The first joined room's view; later rooms do not overwrite it. */
	if (s->rooms++)
		return;
	s->limited = ri->limited;
	s->prev_batch = ri->prev_batch;
	s->joined = ri->joined_members;
}

static void v_event(void *arg, const char *room, const struct mxjson_event *ev, int is_state)
{
	struct seen *s = arg;
	(void)is_state;
	assert_non_null(room);
	/* What the walk promises: these three are strings. */
	assert_non_null(ev->type);
	assert_non_null(ev->event_id);
	assert_non_null(ev->sender);
	s->events++;
	if (!strcmp(ev->type, "m.room.message") && ev->body) {
		s->messages++;
		snprintf(s->last_body, sizeof s->last_body, "%s", ev->body);
	}
}

static const char *walk(const char *json, struct seen *s, struct mxjson_sync_stats *st, cJSON **keep)
{
	char err[128];
	struct mxjson_sync_visitor v = { s, v_invite, v_leave, v_room, v_event };
	cJSON *j = mxjson_json_parse(json, strlen(json), err, sizeof err);
	const char *nb;
	memset(s, 0, sizeof *s);
	if (!j)
		return NULL;
	nb = mxjson_sync_walk(j, SELF, &v, st);
	*keep = j;
	return nb;
}

static void test_sync_good(void **state)
{
	static const char *json =
		"{\"next_batch\":\"s10_2\",\"rooms\":{"
		"\"join\":{\"!r:localhost\":{\"summary\":{\"m.joined_member_count\":2},"
		"\"timeline\":{\"limited\":true,\"prev_batch\":\"t9\",\"events\":["
		"{\"type\":\"m.room.message\",\"event_id\":\"$1\",\"sender\":\"@a:localhost\","
		"\"origin_server_ts\":1700000000000,\"content\":{\"msgtype\":\"m.text\","
		"\"body\":\"faqbot: quand ?\",\"m.mentions\":{\"user_ids\":[\"" SELF "\"]},"
		"\"m.relates_to\":{\"rel_type\":\"m.thread\",\"event_id\":\"$root\"}}}]}}},"
		"\"invite\":{\"!i:localhost\":{\"invite_state\":{\"events\":["
		"{\"type\":\"m.room.member\",\"state_key\":\"" SELF "\",\"sender\":\"@b:localhost\","
		"\"content\":{\"membership\":\"invite\",\"is_direct\":true}}]}}},"
		"\"leave\":{\"!l:localhost\":{}}}}";
	struct seen s;
	struct mxjson_sync_stats st;
	cJSON *j = NULL;
	(void)state;
	assert_string_equal(walk(json, &s, &st, &j), "s10_2");
	assert_int_equal(s.invites, 1);
	assert_string_equal(s.inviter, "@b:localhost");
	assert_int_equal(s.invite_direct, 1);
	assert_int_equal(s.leaves, 1);
	assert_int_equal(s.rooms, 1);
	assert_int_equal(s.limited, 1);
	assert_string_equal(s.prev_batch, "t9");
	assert_int_equal(s.joined, 2);
	assert_int_equal(s.messages, 1);
	assert_string_equal(s.last_body, "faqbot: quand ?");
	assert_int_equal(st.skipped, 0);
	/* The event's fields as the client reads them. */
	{
		const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rooms"), "join"),
					    "!r:localhost"), "timeline"), "events"), 0);
		struct mxjson_event e;
		assert_int_equal(mxjson_event_parse(ev, &e), 0);
		assert_string_equal(e.msgtype, "m.text");
		assert_string_equal(e.rel_type, "m.thread");
		assert_string_equal(e.rel_event_id, "$root");
		assert_int_equal(e.ts, 1700000000000LL);
		assert_int_equal(mxjson_mentions_user(e.content, SELF), 1);
		assert_int_equal(mxjson_mentions_user(e.content, "@other:localhost"), 0);
	}
	cJSON_Delete(j);
}

/* The payloads of tests/matrix/hostile_proxy.py, and more. */
static void test_sync_hostile_shapes(void **state)
{
	static const char *rejected[] = {
		"[]", "null", "42", "\"s1\"", "{}", "{\"next_batch\":12345,\"rooms\":[]}",
		"{\"next_batch\":null}", "{\"next_batch\":\"\"}", "{\"next_batch\":[\"s\"]}",
	};
	static const char *types =
		"{\"next_batch\":\"s2\",\"rooms\":{\"join\":{\"!a:localhost\":{"
		"\"timeline\":{\"limited\":\"maybe\",\"prev_batch\":42,\"events\":[1,null,\"event\",[],"
		"{\"type\":5,\"content\":[]},"
		"{\"type\":\"m.room.message\",\"sender\":null,\"event_id\":7,\"content\":{\"body\":{}}},"
		"{\"type\":\"m.room.message\",\"sender\":\"@x:localhost\",\"event_id\":\"$bad1\","
		"\"origin_server_ts\":\"now\",\"content\":{\"msgtype\":\"m.text\",\"body\":[\"faqbot: q\"],"
		"\"m.relates_to\":\"yes\",\"m.mentions\":{\"user_ids\":\"all\"}}},"
		"{\"type\":\"m.room.member\",\"state_key\":3,\"content\":{\"membership\":[\"join\"]}},"
		"{\"type\":\"m.room.message\",\"sender\":\"@x:localhost\",\"event_id\":\"$bad2\","
		"\"content\":{\"msgtype\":\"m.text\",\"body\":\"faqbot: \\u0000 nul inside\"}}]},"
		"\"state\":{\"events\":\"none\"},\"unread_notifications\":[],\"summary\":[]},"
		"\"!b:localhost\":5,\"!c:localhost\":{\"timeline\":[]}},"
		"\"invite\":{\"!weird:localhost\":{\"invite_state\":{\"events\":[{\"type\":null}]}},"
		"\"!w2:localhost\":[]},\"leave\":[]},"
		"\"account_data\":{\"events\":{\"not\":\"a list\"}},"
		"\"to_device\":{\"events\":[{\"type\":1,\"content\":null}]},"
		"\"device_one_time_keys_count\":{\"signed_curve25519\":\"lots\"}}";
	struct seen s;
	struct mxjson_sync_stats st;
	cJSON *j = NULL;
	size_t i;
	(void)state;
	for (i = 0; i < sizeof rejected / sizeof *rejected; i++) {
		assert_null(walk(rejected[i], &s, &st, &j));
		assert_int_equal(s.events + s.rooms + s.invites, 0);
		cJSON_Delete(j);
		j = NULL;
	}
	assert_string_equal(walk(types, &s, &st, &j), "s2");
	/* "maybe" is not false: the gap is assumed (and prev_batch 42 ignored). */
	assert_int_equal(s.limited, 1);
	assert_null(s.prev_batch);
	assert_int_equal(s.joined, -1);
	assert_int_equal(s.rooms, 2); /* "!b": 5 is no room */
	/* Only the events with string type/event_id/sender get through. */
	assert_int_equal(s.events, 2);
	/* $bad1's body is an array: not a message body; $bad2's is cut at NUL. */
	assert_int_equal(s.messages, 1);
	assert_string_equal(s.last_body, "faqbot: ");
	assert_true(st.skipped >= 8);
	/* An invite whose inviter cannot be read is reported without one. */
	assert_int_equal(s.invites, 1);
	assert_string_equal(s.inviter, "(null)");
	cJSON_Delete(j);
}

static void test_json_limits(void **state)
{
	char err[128];
	size_t n = 200000, i;
	char *deep = malloc(2 * n + 1), *wide, *big;
	cJSON *j;
	(void)state;
	/* 200,000 levels: refused before cJSON recurses. */
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = 0;
	assert_null(mxjson_json_parse(deep, 2 * n, err, sizeof err));
	assert_non_null(strstr(err, "deeper"));
	/* Brackets inside strings are not nesting. */
	{
		const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[\"}";
		j = mxjson_json_parse(s, strlen(s), err, sizeof err);
		assert_non_null(j);
		cJSON_Delete(j);
	}
	/* Exactly at the depth cap is fine, one more is not. */
	memset(deep, '[', MX_JSON_MAX_DEPTH);
	memset(deep + MX_JSON_MAX_DEPTH, ']', MX_JSON_MAX_DEPTH);
	assert_non_null(j = mxjson_json_parse(deep, 2 * MX_JSON_MAX_DEPTH, err, sizeof err));
	cJSON_Delete(j);
	memset(deep, '[', MX_JSON_MAX_DEPTH + 1);
	memset(deep + MX_JSON_MAX_DEPTH + 1, ']', MX_JSON_MAX_DEPTH + 1);
	assert_null(mxjson_json_parse(deep, 2 * MX_JSON_MAX_DEPTH + 2, err, sizeof err));
	free(deep);
	/* Millions of tiny values: refused before a huge tree is built. */
	n = 2 * MX_JSON_MAX_NODES + 8;
	wide = malloc(n + 3);
	wide[0] = '[';
	for (i = 1; i < n; i += 2) {
		wide[i] = '0';
		wide[i + 1] = ',';
	}
	wide[n - 1] = '0';
	wide[n] = ']';
	wide[n + 1] = 0;
	assert_null(mxjson_json_parse(wide, n + 1, err, sizeof err));
	assert_non_null(strstr(err, "values"));
	free(wide);
	/* A huge string is fine (the body cap bounds it), and read whole. */
	n = 4u << 20;
	big = malloc(n + 64);
	i = (size_t)sprintf(big, "{\"next_batch\":\"x\",\"pad\":\"");
	memset(big + i, 'A', n);
	strcpy(big + i + n, "\"}");
	assert_non_null(j = mxjson_json_parse(big, strlen(big), err, sizeof err));
	assert_int_equal(strlen(mxjson_str(j, "pad")), n);
	cJSON_Delete(j);
	/* Malformed, truncated, garbage, HTML, empty. */
	assert_null(mxjson_json_parse(big, 1000, err, sizeof err)); /* truncated */
	assert_non_null(strstr(err, "malformed"));
	free(big);
	{
		char garbage[256 * 4];
		for (i = 0; i < sizeof garbage; i++)
			garbage[i] = (char)(i & 255);
		assert_null(mxjson_json_parse(garbage, sizeof garbage, err, sizeof err));
	}
	assert_null(mxjson_json_parse("<html><body>502</body></html>", 29, err, sizeof err));
	assert_null(mxjson_json_parse("", 0, err, sizeof err));
	assert_null(mxjson_json_parse(NULL, 0, err, sizeof err));
}

/* Random corruption of a valid /sync body: whatever parses is walked;
 * nothing may crash or leak (run under ASan by make test). */
static void test_sync_fuzz(void **state)
{
	static const char *base =
		"{\"next_batch\":\"s1\",\"rooms\":{\"join\":{\"!r:l\":{\"summary\":{\"m.joined_member_count\":3},"
		"\"timeline\":{\"limited\":false,\"events\":[{\"type\":\"m.room.message\",\"event_id\":\"$1\","
		"\"sender\":\"@a:l\",\"origin_server_ts\":5,\"unsigned\":{\"redacted_because\":{}},"
		"\"content\":{\"msgtype\":\"m.text\",\"body\":\"q\",\"m.mentions\":{\"user_ids\":[1,\"x\"]}}},"
		"{\"type\":\"m.room.member\",\"event_id\":\"$2\",\"sender\":\"@a:l\",\"state_key\":\"@a:l\","
		"\"content\":{\"membership\":\"join\"},\"unsigned\":{\"prev_content\":{\"membership\":\"invite\"}}}]}}},"
		"\"invite\":{\"!i:l\":{\"invite_state\":{\"events\":[{\"type\":\"m.room.member\","
		"\"state_key\":\"" SELF "\",\"sender\":\"@b:l\",\"content\":{\"membership\":\"invite\"}}]}}}}}";
	static const char alphabet[] = "{}[]\":,0123456789tfn\\ ae";
	size_t len = strlen(base);
	char *buf = malloc(len + 1);
	unsigned seed = 12345;
	int parsed = 0, r;
	(void)state;
	for (r = 0; r < 20000; r++) {
		struct seen s;
		struct mxjson_sync_stats st;
		cJSON *j = NULL;
		int k, muts = 1 + (int)(rand_r(&seed) % 4);
		memcpy(buf, base, len + 1);
		for (k = 0; k < muts; k++)
			buf[rand_r(&seed) % len] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
		walk(buf, &s, &st, &j);
		if (j) {
			const cJSON *ev;
			parsed++;
			ev = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
				cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rooms"), "join"), "!r:l"),
				"timeline"), "events"), 0);
			{
				struct mxjson_event e;
				if (mxjson_event_parse(ev, &e) == 0)
					(void)mxjson_mentions_user(e.content, SELF);
			}
		}
		cJSON_Delete(j);
	}
	assert_true(parsed > 1000); /* the corpus exercised the walk, not just the parser */
	free(buf);
}

static void test_event_parse_types(void **state)
{
	struct mxjson_event e;
	cJSON *j;
	(void)state;
	assert_int_equal(mxjson_event_parse(NULL, &e), -1);
	j = cJSON_Parse("{\"type\":\"m.room.message\",\"event_id\":\"$e\",\"sender\":\"@s:l\","
			"\"origin_server_ts\":1e300,\"content\":{\"msgtype\":7,\"body\":\"b\","
			"\"m.relates_to\":{\"rel_type\":[],\"event_id\":{}},\"is_direct\":\"yes\"}}");
	assert_int_equal(mxjson_event_parse(j, &e), 0);
	assert_int_equal(e.ts, 0); /* out of range: read as absent, no UB */
	assert_null(e.msgtype);
	assert_string_equal(e.body, "b");
	assert_null(e.rel_type);
	assert_null(e.rel_event_id);
	assert_int_equal(e.is_direct, 0);
	assert_int_equal(e.redacted, 0);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"type\":\"m.room.message\",\"event_id\":\"$e\"}");
	assert_int_equal(mxjson_event_parse(j, &e), -1);
	cJSON_Delete(j);
	assert_int_equal(mxjson_int(NULL, "x", 7), 7);
	assert_null(mxjson_str(NULL, "x"));
	assert_null(mxjson_obj(NULL, "x"));
	assert_null(mxjson_arr(NULL, "x"));
}

static void test_joined_members(void **state)
{
	cJSON *j, *u;
	char big[64 * 1024];
	size_t o = 0;
	int i;
	(void)state;
	assert_null(mxjson_joined_members(NULL));
	j = cJSON_Parse("{\"joined\":[1,2]}");
	assert_null(mxjson_joined_members(j));
	cJSON_Delete(j);
	j = cJSON_Parse("{\"joined\":{\"@a:x\":{\"display_name\":\"A\"},\"bad\":{},\"@b:x\":7}}");
	u = mxjson_joined_members(j);
	assert_non_null(u);
	assert_int_equal(cJSON_GetArraySize(u), 2);
	assert_string_equal(cJSON_GetArrayItem(u, 0)->valuestring, "@a:x");
	assert_string_equal(cJSON_GetArrayItem(u, 1)->valuestring, "@b:x");
	cJSON_Delete(u);
	cJSON_Delete(j);
	/* Capped. */
	o += (size_t)snprintf(big + o, sizeof big - o, "{\"joined\":{");
	for (i = 0; i < MX_MAX_MEMBERS + 50; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "%s\"@u%d:x\":{}", i ? "," : "", i);
	snprintf(big + o, sizeof big - o, "}}");
	j = cJSON_Parse(big);
	u = mxjson_joined_members(j);
	assert_int_equal(cJSON_GetArraySize(u), MX_MAX_MEMBERS);
	cJSON_Delete(u);
	cJSON_Delete(j);
}

static void test_key_counts(void **state)
{
	static const struct { const char *json; long otk; int fb; } t[] = {
		{ "{}", -1, -1 },
		{ "{\"device_one_time_keys_count\":{}}", 0, -1 },
		{ "{\"device_one_time_keys_count\":{\"signed_curve25519\":17}}", 17, -1 },
		{ "{\"device_one_time_keys_count\":{\"signed_curve25519\":\"17\"}}", 0, -1 },
		{ "{\"device_one_time_keys_count\":[]}", -1, -1 },
		{ "{\"device_unused_fallback_key_types\":[]}", -1, 0 },
		{ "{\"device_unused_fallback_key_types\":[\"signed_curve25519\"]}", -1, 1 },
		{ "{\"device_unused_fallback_key_types\":[7,\"other\"]}", -1, 0 },
		{ "{\"device_unused_fallback_key_types\":\"signed_curve25519\"}", -1, -1 },
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof t / sizeof *t; i++) {
		cJSON *j = cJSON_Parse(t[i].json);
		assert_int_equal(mxjson_otk_count(j), t[i].otk);
		assert_int_equal(mxjson_fallback_unused(j), t[i].fb);
		cJSON_Delete(j);
	}
}

static void test_room_encryption(void **state)
{
	int64_t m, ms;
	cJSON *j;
	(void)state;
	j = cJSON_Parse("{\"algorithm\":\"m.megolm.v1.aes-sha2\",\"rotation_period_msgs\":10,"
			"\"rotation_period_ms\":3600000}");
	assert_int_equal(mxjson_room_encryption(j, &m, &ms), 1);
	assert_int_equal(m, 10);
	assert_int_equal(ms, 3600000);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"algorithm\":\"m.megolm.v1.aes-sha2\",\"rotation_period_msgs\":-4,"
			"\"rotation_period_ms\":\"x\"}");
	assert_int_equal(mxjson_room_encryption(j, &m, &ms), 1);
	assert_int_equal(m, 0);
	assert_int_equal(ms, 0);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"algorithm\":\"m.olm.v1.curve25519-aes-sha2\"}");
	assert_int_equal(mxjson_room_encryption(j, &m, &ms), 0);
	cJSON_Delete(j);
	assert_int_equal(mxjson_room_encryption(NULL, &m, &ms), 0);
}

static void test_decrypted_event(void **state)
{
	cJSON *outer, *pl, *d, *held;
	struct mxjson_event ev, m;
	(void)state;
	outer = cJSON_Parse("{\"type\":\"m.room.encrypted\",\"event_id\":\"$e\",\"sender\":\"@a:x\","
			    "\"origin_server_ts\":1700000000000,\"content\":{\"algorithm\":"
			    "\"m.megolm.v1.aes-sha2\",\"ciphertext\":\"AwgA\",\"m.relates_to\":"
			    "{\"rel_type\":\"m.thread\",\"event_id\":\"$root\"}}}");
	assert_int_equal(mxjson_event_parse(outer, &ev), 0);
	/* What the store holds and e2ee_megolm_decrypt reads. */
	held = mxjson_event_json(&ev);
	assert_non_null(held);
	assert_string_equal(mxjson_str(held, "event_id"), "$e");
	assert_true(mxjson_int(held, "origin_server_ts", 0) == 1700000000000LL);
	assert_string_equal(mxjson_str(mxjson_obj(held, "content"), "ciphertext"), "AwgA");
	cJSON_Delete(held);
	/* The relation in the clear part is kept when the payload has none. */
	pl = cJSON_Parse("{\"type\":\"m.room.message\",\"room_id\":\"!r\",\"content\":"
			 "{\"msgtype\":\"m.text\",\"body\":\"quand ?\"}}");
	d = mxjson_decrypted_event(&ev, pl);
	assert_non_null(d);
	assert_int_equal(mxjson_event_parse(d, &m), 0);
	assert_string_equal(m.type, "m.room.message");
	assert_string_equal(m.event_id, "$e");
	assert_string_equal(m.sender, "@a:x");
	assert_string_equal(m.body, "quand ?");
	assert_string_equal(m.rel_type, "m.thread");
	assert_string_equal(m.rel_event_id, "$root");
	assert_true(m.ts == 1700000000000LL);
	cJSON_Delete(d);
	cJSON_Delete(pl);
	/* The payload's own relation wins. */
	pl = cJSON_Parse("{\"type\":\"m.room.message\",\"content\":{\"msgtype\":\"m.text\","
			 "\"body\":\"b\",\"m.relates_to\":{\"rel_type\":\"m.replace\",\"event_id\":\"$o\"}}}");
	d = mxjson_decrypted_event(&ev, pl);
	assert_int_equal(mxjson_event_parse(d, &m), 0);
	assert_string_equal(m.rel_type, "m.replace");
	cJSON_Delete(d);
	cJSON_Delete(pl);
	/* Payloads of the wrong shape give nothing. */
	pl = cJSON_Parse("{\"type\":7,\"content\":{}}");
	assert_null(mxjson_decrypted_event(&ev, pl));
	cJSON_Delete(pl);
	pl = cJSON_Parse("{\"type\":\"m.room.message\",\"content\":\"x\"}");
	assert_null(mxjson_decrypted_event(&ev, pl));
	cJSON_Delete(pl);
	assert_null(mxjson_decrypted_event(&ev, NULL));
	cJSON_Delete(outer);
}

static void test_html_escape(void **state)
{
	char out[256], tiny[6];
	const char *in = "<script>alert(1)</script> & \"Kairos\" 'x'\nligne 2";
	(void)state;
	assert_true(mxjson_html_escape(in, strlen(in), out, sizeof out) > 0);
	assert_string_equal(out, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Kairos&quot; "
				 "&#39;x&#39;<br>ligne 2");
	assert_null(strchr(out, '<') == out ? out : NULL);
	assert_int_equal(mxjson_html_escape("a<b", 3, tiny, sizeof tiny), -1);
	assert_string_equal(tiny, "");
	assert_int_equal(mxjson_html_escape("abcde", 5, tiny, sizeof tiny), 5);
	assert_int_equal(mxjson_html_escape("é", strlen("é"), out, sizeof out), (long)strlen("é"));
	assert_int_equal(mxjson_html_escape("", 0, out, 0), -1);
}

static void test_txn_id(void **state)
{
	char a[MX_TXN_LEN], b[MX_TXN_LEN];
	(void)state;
	assert_int_equal(mxjson_txn_id("$abc:localhost", a), 0);
	/* sha256("$abc:localhost"), from Python's hashlib. */
	assert_string_equal(a, "fb.16a454ff9e2149c6ef7654ab019dee1a2eaad5cf51bb9ae65b8d5fa50b785da8");
	assert_int_equal(strlen(a), MX_TXN_LEN - 1);
	assert_int_equal(mxjson_txn_id("$abc:localhost", b), 0);
	assert_string_equal(a, b);
	assert_int_equal(mxjson_txn_id("$abd:localhost", b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(mxjson_txn_id(NULL, b), -1);
}

static void test_reply_json(void **state)
{
	const char *text = "Votre session <b>validée</b> & \"visible\"\nle 3 décembre.";
	struct mxjson_reply r = { text, strlen(text), "$q:l", NULL, "@alice:l" };
	char *s;
	cJSON *j, *rel;
	(void)state;
	assert_non_null(s = mxjson_reply_json(&r));
	assert_non_null(j = cJSON_Parse(s));
	assert_string_equal(mxjson_str(j, "msgtype"), "m.notice");
	assert_string_equal(mxjson_str(j, "body"), text);
	assert_string_equal(mxjson_str(j, "format"), "org.matrix.custom.html");
	assert_string_equal(mxjson_str(j, "formatted_body"),
			    "Votre session &lt;b&gt;validée&lt;/b&gt; &amp; &quot;visible&quot;"
			    "<br>le 3 décembre.");
	rel = (cJSON *)mxjson_obj(j, "m.relates_to");
	assert_non_null(rel);
	assert_string_equal(mxjson_str(mxjson_obj(rel, "m.in_reply_to"), "event_id"), "$q:l");
	assert_null(mxjson_str(rel, "rel_type"));
	assert_string_equal(cJSON_GetArrayItem(mxjson_arr(mxjson_obj(j, "m.mentions"), "user_ids"), 0)->valuestring,
			    "@alice:l");
	assert_int_equal(cJSON_GetArraySize(mxjson_arr(mxjson_obj(j, "m.mentions"), "user_ids")), 1);
	cJSON_Delete(j);
	free(s);
	/* In a thread: m.thread to the root, reply to the question. */
	r.thread_root = "$root:l";
	assert_non_null(s = mxjson_reply_json(&r));
	assert_non_null(j = cJSON_Parse(s));
	rel = (cJSON *)mxjson_obj(j, "m.relates_to");
	assert_string_equal(mxjson_str(rel, "rel_type"), "m.thread");
	assert_string_equal(mxjson_str(rel, "event_id"), "$root:l");
	assert_string_equal(mxjson_str(mxjson_obj(rel, "m.in_reply_to"), "event_id"), "$q:l");
	assert_true(cJSON_IsBool(cJSON_GetObjectItem(rel, "is_falling_back")));
	cJSON_Delete(j);
	free(s);
	/* No asker: nobody mentioned; no question: not a reply (a hand-over
	 * post). */
	r.asker = NULL;
	r.question_id = NULL;
	assert_non_null(s = mxjson_reply_json(&r));
	assert_non_null(j = cJSON_Parse(s));
	assert_null(mxjson_obj(j, "m.relates_to"));
	assert_int_equal(cJSON_GetArraySize(mxjson_obj(mxjson_obj(j, "m.mentions"), "user_ids")), 0);
	cJSON_Delete(j);
	free(s);
	r.text = NULL;
	assert_null(mxjson_reply_json(&r));
	assert_null(mxjson_reply_json(NULL));
}

static void test_backoff_bounds(void **state)
{
	unsigned a;
	uint32_t rnds[] = { 0, 1, 499, 12345, 0x7fffffffu, 0xffffffffu };
	(void)state;
	for (a = 0; a < 64; a++)
		for (size_t k = 0; k < sizeof rnds / sizeof *rnds; k++) {
			int64_t cap = 300000, d = mxjson_backoff_ms(a, cap, rnds[k]);
			int64_t env = a >= 20 ? cap : (1000LL << a) < cap ? (1000LL << a) : cap;
			assert_true(d >= 250);
			assert_true(d <= env);
			assert_true(d >= env / 2);
		}
	/* The first retry comes within a second; a tiny cap is respected. */
	assert_true(mxjson_backoff_ms(0, 300000, 77) <= 1000);
	assert_true(mxjson_backoff_ms(10, 3000, 0xffffffffu) <= 3000);
	assert_true(mxjson_backoff_ms(10, 0, 5) == 250);
	/* Jitter: different draws give different delays. */
	assert_int_not_equal(mxjson_backoff_ms(5, 300000, 1), mxjson_backoff_ms(5, 300000, 9999));
}

static void test_retry_after(void **state)
{
	cJSON *j = cJSON_Parse("{\"errcode\":\"M_LIMIT_EXCEEDED\",\"retry_after_ms\":2500}");
	cJSON *bad = cJSON_Parse("{\"retry_after_ms\":\"soon\"}");
	cJSON *huge = cJSON_Parse("{\"retry_after_ms\":1e40}");
	(void)state;
	assert_int_equal(mxjson_retry_after_ms(j, -1), 2500);
	assert_int_equal(mxjson_retry_after_ms(j, 4000), 4000); /* the header wins */
	assert_int_equal(mxjson_retry_after_ms(bad, -1), 1000);
	assert_int_equal(mxjson_retry_after_ms(NULL, -1), 1000);
	assert_int_equal(mxjson_retry_after_ms(huge, -1), 1000);
	assert_int_equal(mxjson_retry_after_ms(NULL, 0), 100);
	assert_int_equal(mxjson_retry_after_ms(NULL, 86400000), 600000);
	cJSON_Delete(j);
	cJSON_Delete(bad);
	cJSON_Delete(huge);
}

static void test_url_escape(void **state)
{
	char out[64], small[8];
	(void)state;
	assert_int_equal(mxjson_url_escape("!abc:example.org", out, sizeof out), 0);
	assert_string_equal(out, "%21abc%3Aexample.org");
	assert_int_equal(mxjson_url_escape("fb.0a-_~", out, sizeof out), 0);
	assert_string_equal(out, "fb.0a-_~");
	assert_int_equal(mxjson_url_escape("a/b?c#d&e é", out, sizeof out), 0);
	assert_string_equal(out, "a%2Fb%3Fc%23d%26e%20%C3%A9");
	assert_int_equal(mxjson_url_escape("!!!", small, sizeof small), -1);
	assert_int_equal(mxjson_url_escape("abcdefg", small, sizeof small), 0);
	assert_int_equal(mxjson_url_escape("abcdefgh", small, sizeof small), -1);
}

static void test_inviter_policy(void **state)
{
	char *items[] = { ":localhost", "@boss:example.org" };
	struct strlist l = { items, 2 }, empty = { NULL, 0 };
	(void)state;
	assert_int_equal(mxjson_inviter_allowed(&l, "@alice:localhost"), 1);
	assert_int_equal(mxjson_inviter_allowed(&l, "@boss:example.org"), 1);
	assert_int_equal(mxjson_inviter_allowed(&l, "@eve:example.org"), 0);
	assert_int_equal(mxjson_inviter_allowed(&l, "@eve:evillocalhost"), 0);
	assert_int_equal(mxjson_inviter_allowed(&l, "@eve:localhost.evil"), 0);
	assert_int_equal(mxjson_inviter_allowed(&l, "localhost"), 0);
	assert_int_equal(mxjson_inviter_allowed(&l, NULL), 0);
	/* Empty: nobody. */
	assert_int_equal(mxjson_inviter_allowed(&empty, "@alice:localhost"), 0);
}

static void test_question_text(void **state)
{
	int m = 0;
	(void)state;
	assert_string_equal(mxjson_question_text("> <@a:l> old\n> more\n\nnew question", SELF, &m), "new question");
	assert_int_equal(m, 0);
	assert_string_equal(mxjson_question_text(SELF ": quand ?", SELF, &m), "quand ?");
	assert_int_equal(m, 1);
	m = 0;
	assert_string_equal(mxjson_question_text(SELF "x quand", SELF, &m), SELF "x quand");
	assert_int_equal(m, 0);
	assert_string_equal(mxjson_question_text("> unterminated", SELF, &m), "> unterminated");
	assert_string_equal(mxjson_question_text(NULL, SELF, &m), "");
}

/* e2ee = yes without a pickle key: NULL, logged, nothing written, and
 * this process still runs (it used to exit(1)); a plain network on the
 * same loop and state file starts. */
static void test_start_refused_without_pickle_key(void **state)
{
	char err[256] = "", dir[] = "/tmp/test_matrix.XXXXXX", path[128];
	struct bot_config bc;
	struct matrix_config mc;
	struct kb *kb = kb_load("knowledge", err, sizeof err);
	struct bot *b;
	struct loop *lp = loop_new();
	struct mxnet *n;
	(void)state;
	if (!kb)
		fail_msg("kb_load: %s", err);
	assert_non_null(lp);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/state.db", dir);
	memset(&bc, 0, sizeof bc);
	assert_non_null(b = bot_new(&bc, kb));
	struct chat_sink sink = { bot_on_msg, b };
	memset(&mc, 0, sizeof mc);
	mc.name = "t";
	mc.homeserver = "http://127.0.0.1:9";
	mc.user = "@faqbot:localhost";
	mc.password = "not-used-here";
	mc.e2ee = 1;
	unsetenv("FAQBOT_PICKLE_KEY");
	assert_null(mxnet_start(lp, &mc, &sink, path));
	mc.e2ee = 0;
	n = mxnet_start(lp, &mc, &sink, path);
	assert_non_null(n);
	mxnet_free(n);
	bot_free(b);
	loop_free(lp);
	unlink(path);
	snprintf(path, sizeof path, "%s/state.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/state.db-shm", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_good),
		cmocka_unit_test(test_sync_hostile_shapes),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_sync_fuzz),
		cmocka_unit_test(test_event_parse_types),
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_joined_members),
		cmocka_unit_test(test_key_counts),
		cmocka_unit_test(test_room_encryption),
		cmocka_unit_test(test_decrypted_event),
		cmocka_unit_test(test_txn_id),
		cmocka_unit_test(test_reply_json),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test(test_inviter_policy),
		cmocka_unit_test(test_question_text),
		cmocka_unit_test(test_start_refused_without_pickle_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
