/* test_mxnet.c - the Matrix client's state machine (mxnet.c and
 * mx_*.c over store.c) driven through its I/O seam: mxnet_start_io on
 * fake_io.c (tests/fuzz), whose requests the tests answer as a homeserver
 * would and whose timers fire on a virtual clock.  No knowledge/, no bot:
 * a chat sink that answers every message with canned text.  Covers login,
 * the first and later /sync, an invite and its join, a question and its
 * answer sent once with the same transaction id on a retry, 429 with
 * retry_after_ms, M_UNKNOWN_TOKEN and the new login on the same device, a
 * gap filled from /messages, a stop with requests in flight, and an answer
 * in an encrypted room: written to the store once, encrypted once per run
 * and sent once under its stored txn id across restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "chat.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "mxnet.h"

#include "../fuzz/fake_io.c"

#define HS "https://hs.test"
#define API HS "/_matrix/client/v3"
#define BOT "@bot:hs.test"
#define ALICE "@alice:hs.test"
#define ROOM "!r:hs.test"
#define ROOM_Q "%21r%3Ahs.test"
#define T0 1700000000000LL /* wall clock of the tests (fake_wall_ms) */

/* The chat sink: every text message gets the same answer. */
struct sink_seen {
	int calls;
	char last_text[256];
	char last_room[256];
};
static struct sink_seen seen;

static int canned_on_msg(void *arg, const struct chat_msg *m, struct chat_reply *out)
{
	(void)arg;
	if (m->event != CHAT_TEXT)
		return 0;
	seen.calls++;
	snprintf(seen.last_text, sizeof seen.last_text, "%.*s", (int)m->len, m->text);
	snprintf(seen.last_room, sizeof seen.last_room, "%s", m->room ? m->room : "");
	memset(out, 0, sizeof *out);
	out->kind = CHAT_ANSWER;
	out->len = (size_t)snprintf(out->text, sizeof out->text, "Réponse en boîte.");
	return 1;
}

struct fx {
	char dir[64], path[128];
	struct matrix_config mc;
	char *inviters[1];
	struct mxnet *n;
};

static const struct chat_sink seen_sink = { canned_on_msg, NULL };

static int setup(void **state)
{
	static struct fx f;
	static const struct chat_sink sink = { canned_on_msg, NULL };
	memset(&f, 0, sizeof f);
	memset(&seen, 0, sizeof seen);
	snprintf(f.dir, sizeof f.dir, "/tmp/test_matrix_sm.XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	snprintf(f.path, sizeof f.path, "%s/state.db", f.dir);
	f.mc.name = "t";
	f.mc.homeserver = HS;
	f.mc.user = BOT;
	f.mc.password = "secret-pw";
	f.mc.sync_timeout = 30;
	f.mc.reconnect_max = 60;
	f.inviters[0] = ALICE;
	f.mc.allowed_inviters.v = f.inviters;
	f.mc.allowed_inviters.n = 1;
	fake_wall_ms = T0 - 1000000; /* + the virtual clock (starts at 1e6) */
	log_set_level(getenv("MX_SM_LOG") ? LOGL_DEBUG : LOGL_ERROR);
	f.n = mxnet_start_io(&f.mc, &sink, f.path, &fake_mxnet_io, NULL);
	if (!f.n)
		return -1;
	*state = &f;
	return 0;
}

/* The same with end-to-end encryption on (a real e2ee.c over libolm). */
static int setup_e2ee(void **state)
{
	struct fx *f;
	setup(state);
	f = *state;
	mxnet_free(f->n);
	f->mc.e2ee = 1;
	f->mc.pickle_key = "test-pickle-key-0123456789";
	f->n = mxnet_start_io(&f->mc, &seen_sink, f->path, &fake_mxnet_io, NULL);
	return f->n ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[160];
	mxnet_free(f->n);
	fake_io_reset();
	unlink(f->path);
	snprintf(p, sizeof p, "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	return 0;
}

/* ---- the fake homeserver ---- */

static struct fake_req rq[HTTP_MAX_ACTIVE];

static size_t nreq(void)
{
	return fake_http_list(rq, HTTP_MAX_ACTIVE);
}

/* The request in flight whose method is method and whose URL contains
 * part; NULL when none. */
static const struct fake_req *find(const char *method, const char *part)
{
	size_t i, k = nreq();
	for (i = 0; i < k; i++)
		if (!strcmp(rq[i].method, method) && strstr(rq[i].url, part))
			return &rq[i];
	return NULL;
}

static const struct fake_req *need(const char *method, const char *part)
{
	const struct fake_req *r = find(method, part);
	if (!r)
		fail_msg("no %s request for %s in flight (%zu in flight)", method, part, nreq());
	return r;
}

static void answer(const struct fake_req *r, long status, const char *body, long retry_after)
{
	assert_int_equal(fake_http_answer(r->id, status, NULL, body, strlen(body), retry_after), 0);
}

/* Moves the clock on by ms and fires what is due. */
static void tick(int64_t ms)
{
	fake_loop_advance(ms);
	assert_int_equal(fake_loop_run_due(1000), 0);
}

static void login(void)
{
	const struct fake_req *r = need("POST", API "/login");
	assert_non_null(strstr(r->body, "\"password\":\"secret-pw\""));
	answer(r, 200, "{\"user_id\":\"" BOT "\",\"access_token\":\"tok1\",\"device_id\":\"DEV1\"}", -1);
}

/* A /sync answer: next_batch and the rooms object. */
static void sync_answer(const char *next, const char *rooms)
{
	char body[4096];
	snprintf(body, sizeof body, "{\"next_batch\":\"%s\",\"rooms\":%s}", next, rooms);
	answer(need("GET", API "/sync?"), 200, body, -1);
}

static const char *timeline(const char *limited_prev, const char *events, char *buf, size_t len)
{
	if (limited_prev)
		snprintf(buf, len, "{\"join\":{\"" ROOM "\":{\"timeline\":{\"limited\":true,"
			 "\"prev_batch\":\"%s\",\"events\":[%s]}}}}", limited_prev, events);
	else
		snprintf(buf, len, "{\"join\":{\"" ROOM "\":{\"timeline\":{\"events\":[%s]}}}}", events);
	return buf;
}

static const char *message(const char *event_id, const char *body, char *buf, size_t len)
{
	snprintf(buf, len, "{\"type\":\"m.room.message\",\"event_id\":\"%s\",\"sender\":\"" ALICE "\","
		 "\"origin_server_ts\":%lld,\"content\":{\"msgtype\":\"m.text\",\"body\":\"%s\"}}",
		 event_id, (long long)fake_mxnet_io.wall_ms(NULL), body);
	return buf;
}

/* Login, the first sync (its backlog skipped): the network is up and
 * long-polling from "s1". */
static void up(void)
{
	login();
	sync_answer("s1", "{}");
	need("GET", "since=s1");
}

/* ---- the tests ---- */

static void test_invite_join_answer_once(void **state)
{
	char tl[2048], ev[512], url[512];
	const struct fake_req *r;
	(void)state;
	login();
	/* the first sync asks for no long-poll (timeout=0) */
	assert_non_null(strstr(need("GET", API "/sync?")->url, "timeout=0"));
	sync_answer("s1", "{\"invite\":{\"" ROOM "\":{\"invite_state\":{\"events\":["
		    "{\"type\":\"m.room.member\",\"state_key\":\"" BOT "\",\"sender\":\"" ALICE "\","
		    "\"content\":{\"membership\":\"invite\"}}]}}}}");
	answer(need("POST", API "/join/" ROOM_Q), 200, "{\"room_id\":\"" ROOM "\"}", -1);
	assert_null(find("POST", "/join/"));
	sync_answer("s2", timeline(NULL, message("$q1", "bot: quand est-ce visible ?", ev, sizeof ev),
				   tl, sizeof tl));
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.last_room, ROOM);
	/* the answer, as an m.notice replying to $q1 */
	r = need("PUT", API "/rooms/" ROOM_Q "/send/m.room.message/");
	assert_non_null(strstr(r->body, "R\xc3\xa9ponse en bo\xc3\xaete."));
	assert_non_null(strstr(r->body, "$q1"));
	snprintf(url, sizeof url, "%s", r->url);
	/* a server error: sent again later, under the same transaction id */
	answer(r, 502, "", -1);
	assert_null(find("PUT", "/send/"));
	tick(120000);
	r = need("PUT", "/send/");
	assert_string_equal(r->url, url);
	answer(r, 200, "{\"event_id\":\"$a1\"}", -1);
	/* the same question again in the next batch: not answered twice */
	sync_answer("s3", timeline(NULL, ev, tl, sizeof tl));
	tick(600000);
	assert_null(find("PUT", "/send/"));
	assert_int_equal(seen.calls, 1);
	need("GET", "since=s3");
}

static void test_invite_refused(void **state)
{
	(void)state;
	login();
	sync_answer("s1", "{\"invite\":{\"!x:hs.test\":{\"invite_state\":{\"events\":["
		    "{\"type\":\"m.room.member\",\"state_key\":\"" BOT "\",\"sender\":\"@mallory:hs.test\","
		    "\"content\":{\"membership\":\"invite\"}}]}}}}");
	assert_null(find("POST", "/join/"));
	need("POST", API "/rooms/%21x%3Ahs.test/leave");
}

static void test_rate_limited_sync(void **state)
{
	(void)state;
	up();
	answer(need("GET", "since=s1"), 429,
	       "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"retry_after_ms\":5000}", -1);
	assert_null(find("GET", "/sync"));
	tick(4999);
	assert_null(find("GET", "/sync"));
	tick(1);
	need("GET", "since=s1");
}

static void test_rate_limited_send_header(void **state)
{
	char tl[2048], ev[512];
	(void)state;
	up();
	sync_answer("s2", timeline(NULL, message("$q2", "bot: question", ev, sizeof ev), tl, sizeof tl));
	/* a Retry-After header (7 s) and no body */
	answer(need("PUT", "/send/"), 429, "", 7000);
	tick(6999);
	assert_null(find("PUT", "/send/"));
	tick(1);
	need("PUT", "/send/");
}

static void test_unknown_token_relogin(void **state)
{
	const struct fake_req *r;
	(void)state;
	up();
	answer(need("GET", "since=s1"), 401,
	       "{\"errcode\":\"M_UNKNOWN_TOKEN\",\"error\":\"Invalid access token\"}", -1);
	tick(0);
	/* a new login on the same device, nothing else in flight */
	r = need("POST", API "/login");
	assert_non_null(strstr(r->body, "\"device_id\":\"DEV1\""));
	assert_int_equal(nreq(), 1);
	assert_int_equal(r->bearer, 0);
	answer(r, 200, "{\"user_id\":\"" BOT "\",\"access_token\":\"tok2\",\"device_id\":\"DEV1\"}", -1);
	/* the sync goes on from where it was */
	r = need("GET", "since=s1");
	assert_int_equal(r->bearer, 1);
}

static void test_gap_filled(void **state)
{
	char tl[2048], ev[512], body[1024];
	const struct fake_req *r;
	(void)state;
	up();
	/* a limited timeline: the question is in the gap, not in the batch */
	sync_answer("s2", timeline("p1", "", tl, sizeof tl));
	r = need("GET", API "/rooms/" ROOM_Q "/messages?");
	assert_non_null(strstr(r->url, "dir=b"));
	assert_non_null(strstr(r->url, "from=p1"));
	assert_non_null(strstr(r->url, "to=s1"));
	/* the next sync waits until the batch is complete */
	assert_null(find("GET", "/sync"));
	snprintf(body, sizeof body, "{\"chunk\":[%s],\"start\":\"p1\"}",
		 message("$gap1", "bot: dans le trou ?", ev, sizeof ev));
	answer(r, 200, body, -1);
	assert_int_equal(seen.calls, 1);
	assert_non_null(strstr(seen.last_text, "dans le trou ?"));
	need("PUT", "/send/");
	need("GET", "since=s2");
}

static void test_stop_in_flight(void **state)
{
	struct fx *f = *state;
	char tl[2048], ev[512];
	long ids[8];
	up();
	sync_answer("s2", timeline(NULL, message("$q3", "bot: encore", ev, sizeof ev), tl, sizeof tl));
	need("PUT", "/send/");
	need("GET", "/sync");
	assert_true(nreq() >= 2);
	mxnet_stop(f->n);
	/* every request dropped, every timer cancelled */
	assert_int_equal(nreq(), 0);
	assert_int_equal(fake_loop_timers(ids, 8), 0);
	tick(3600000);
	assert_int_equal(nreq(), 0);
}

static void test_restart_resends_same_txn(void **state)
{
	struct fx *f = *state;
	static const struct chat_sink sink = { canned_on_msg, NULL };
	char tl[2048], ev[512], url[512];
	const struct fake_req *r;
	up();
	sync_answer("s2", timeline(NULL, message("$q4", "bot: et alors", ev, sizeof ev), tl, sizeof tl));
	r = need("PUT", "/send/");
	snprintf(url, sizeof url, "%s", r->url);
	/* stopped before the answer was acknowledged: pending in the store */
	mxnet_free(f->n);
	assert_int_equal(nreq(), 0);
	f->n = mxnet_start_io(&f->mc, &sink, f->path, &fake_mxnet_io, NULL);
	assert_non_null(f->n);
	/* the stored session: no login, and the answer goes again as it was */
	assert_null(find("POST", "/login"));
	r = need("PUT", "/send/");
	assert_string_equal(r->url, url);
	need("GET", "since=s2");
	assert_int_equal(seen.calls, 1);
}

/* ---- an encrypted room ---- */

#define ENC_ROOM "{\"join\":{\"" ROOM "\":{\"state\":{\"events\":[{\"type\":\"m.room.encryption\"," \
	"\"event_id\":\"$enc\",\"sender\":\"" ALICE "\",\"state_key\":\"\",\"origin_server_ts\":1," \
	"\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\"}}]}}}}"

/* Answers the crypto requests in flight, without moving the clock, until
 * none is left: the keys are taken, cross-signing is refused, Alice is
 * the room's other member and has no device (so the room key is shared
 * with nobody and the answer is encrypted at once). */
static void serve_crypto(void)
{
	const struct fake_req *r;
	int k;
	for (k = 0; k < 20; k++) {
		if ((r = find("POST", "/keys/upload")))
			answer(r, 200, "{\"one_time_key_counts\":{\"signed_curve25519\":50}}", -1);
		else if ((r = find("POST", "/keys/device_signing/upload")))
			answer(r, 403, "{\"errcode\":\"M_FORBIDDEN\"}", -1);
		else if ((r = find("GET", "/joined_members")))
			answer(r, 200, "{\"joined\":{\"" BOT "\":{},\"" ALICE "\":{}}}", -1);
		else if ((r = find("POST", "/keys/query")))
			answer(r, 200, "{\"device_keys\":{\"" ALICE "\":{}}}", -1);
		else if ((r = find("POST", "/keys/claim")))
			answer(r, 200, "{\"one_time_keys\":{}}", -1);
		else if ((r = find("PUT", "/sendToDevice/")))
			answer(r, 200, "{}", -1);
		else
			return;
	}
	fail_msg("the crypto requests do not end");
}

/* The answers table as the bot's own connection writes it: a second
 * connection to the same file, whose triggers count every write. */
static sqlite3 *writes_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE t_writes(what TEXT);"
		"CREATE TRIGGER t_ins AFTER INSERT ON answers BEGIN INSERT INTO t_writes VALUES('insert'); END;"
		"CREATE TRIGGER t_content AFTER UPDATE OF content, encrypted ON answers"
		" BEGIN INSERT INTO t_writes VALUES('content'); END;"
		"CREATE TRIGGER t_state AFTER UPDATE OF state ON answers"
		" BEGIN INSERT INTO t_writes VALUES('state'); END;", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static long writes(sqlite3 *db, const char *what)
{
	sqlite3_stmt *st;
	long k = -1;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t_writes WHERE what=?1", -1, &st,
					    NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		k = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return k;
}

/* The stored answer to event_id: its txn id, its state, and whether its
 * content is the plaintext that was written. */
static void stored(sqlite3 *db, const char *event_id, char *txn, size_t len, int *state, int *plain)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT txn_id, state, content, encrypted FROM answers"
					    " WHERE event_id=?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(txn, len, "%s", (const char *)sqlite3_column_text(st, 0));
	*state = sqlite3_column_int(st, 1);
	*plain = !sqlite3_column_int(st, 3) &&
		 strstr((const char *)sqlite3_column_text(st, 2), "R\xc3\xa9ponse en bo\xc3\xaete.") != NULL;
	sqlite3_finalize(st);
}

static void restart(struct fx *f)
{
	mxnet_free(f->n);
	assert_int_equal(nreq(), 0);
	f->n = mxnet_start_io(&f->mc, &seen_sink, f->path, &fake_mxnet_io, NULL);
	assert_non_null(f->n);
	assert_null(find("POST", "/login"));
}

static void test_encrypted_answer_one_store_pass(void **state)
{
	struct fx *f = *state;
	char tl[2048], ev[512], url[512], body[4096], txn[128], want[600];
	const struct fake_req *r;
	int st, plain;
	sqlite3 *db = writes_open(f->path);
	login();
	sync_answer("s1", ENC_ROOM);
	serve_crypto();
	/* the question; stopped while the room key is being shared, before
	 * anything was sent */
	sync_answer("s2", timeline(NULL, message("$e1", "bot: chiffré ?", ev, sizeof ev), tl, sizeof tl));
	assert_int_equal(seen.calls, 1);
	need("GET", "/joined_members");
	assert_null(find("PUT", "/send/"));
	assert_int_equal(writes(db, "insert"), 1);
	stored(db, "$e1", txn, sizeof txn, &st, &plain);
	assert_int_equal(st, 0);
	assert_true(plain);
	snprintf(want, sizeof want, "%s%s", API "/rooms/" ROOM_Q "/send/m.room.encrypted/", txn);

	/* restart between the store and the send: shared, encrypted, sent
	 * under the stored txn id, with no timer between */
	restart(f);
	serve_crypto();
	r = need("PUT", "/send/m.room.encrypted/");
	assert_string_equal(r->url, want);
	assert_non_null(strstr(r->body, "\"ciphertext\""));
	assert_null(strstr(r->body, "R\xc3\xa9ponse"));
	/* m.relates_to stays in the clear */
	assert_non_null(strstr(r->body, "$e1"));
	snprintf(url, sizeof url, "%s", r->url);
	snprintf(body, sizeof body, "%s", r->body);
	assert_null(find("PUT", "/send/m.room.message/"));

	/* a server error: the same ciphertext again under the same txn id */
	answer(r, 502, "", -1);
	assert_null(find("PUT", "/send/"));
	tick(120000);
	serve_crypto();
	r = need("PUT", "/send/");
	assert_string_equal(r->url, url);
	assert_string_equal(r->body, body);

	/* restart between the send and its 200: sent again under the same
	 * txn id (the homeserver deduplicates), then marked sent */
	restart(f);
	serve_crypto();
	r = need("PUT", "/send/");
	assert_string_equal(r->url, url);
	answer(r, 200, "{\"event_id\":\"$ea1\"}", -1);
	tick(600000);
	serve_crypto();
	assert_null(find("PUT", "/send/"));
	assert_int_equal(seen.calls, 1);

	/* one write of the answer, never rewritten; one of its state */
	stored(db, "$e1", txn, sizeof txn, &st, &plain);
	assert_int_equal(st, 1);
	assert_true(plain);
	assert_int_equal(writes(db, "insert"), 1);
	assert_int_equal(writes(db, "content"), 0);
	assert_int_equal(writes(db, "state"), 1);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_invite_join_answer_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited_send_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_token_relogin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_filled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_resends_same_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_answer_one_store_pass, setup_e2ee, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
