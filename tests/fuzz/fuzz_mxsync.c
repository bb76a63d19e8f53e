/* fuzz_mxsync.c - a hostile /sync response through the pure half of the
 * Matrix client (mxjson.c): the capped JSON parse, the walk into rooms,
 * invites and events, the question text of each message, and the reply
 * built for it, whose HTML must hold nothing the sender wrote unescaped
 * and whose body must survive a JSON round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mxjson.h"

static const char *self = "@faqbot:example.org";
static char *allowed_v[] = { "@admin:example.org", ":trusted.org" };
static const struct strlist allowed = { allowed_v, 2 };

static void touch(const char *s)
{
	/* every borrowed string must be a readable C string */
	if (s && strlen(s) > (8u << 20))
		abort();
}

static void on_invite(void *arg, const char *room_id, const char *inviter, int is_direct)
{
	(void)arg; (void)is_direct;
	touch(room_id);
	touch(inviter);
	if (inviter)
		mxjson_inviter_allowed(&allowed, inviter);
}

static void on_leave(void *arg, const char *room_id) { (void)arg; touch(room_id); }

static void on_room(void *arg, const char *room_id, const struct mxjson_room_info *ri)
{
	(void)arg;
	touch(room_id);
	touch(ri->prev_batch);
}

static void check_reply(const char *text, const char *event_id, const char *thread, const char *asker)
{
	size_t len = strlen(text);
	struct mxjson_reply r = { text, len, event_id, thread, asker };
	char *js = mxjson_reply_json(&r);
	if (!js)
		return; /* invalid UTF-8 may be refused by cJSON's printer */
	cJSON *j = cJSON_Parse(js);
	if (!j)
		abort(); /* we must emit JSON we can read back */
	const char *body = mxjson_str(j, "body");
	const char *html = mxjson_str(j, "formatted_body");
	if (!body || !html || strcmp(body, text) != 0)
		abort();
	/* the only markup is our own <br> */
	for (const char *p = html; (p = strchr(p, '<')); p++)
		if (strncmp(p, "<br>", 4) != 0)
			abort();
	if (strchr(html, '>') && !strstr(html, "<br>"))
		abort();
	cJSON_Delete(j);
	free(js);
}

static void on_event(void *arg, const char *room_id, const struct mxjson_event *ev, int is_state)
{
	(void)arg; (void)is_state;
	touch(room_id);
	touch(ev->type); touch(ev->event_id); touch(ev->sender); touch(ev->state_key);
	touch(ev->msgtype); touch(ev->body); touch(ev->rel_type); touch(ev->rel_event_id);
	touch(ev->membership);
	if (ev->content)
		mxjson_mentions_user(ev->content, self);
	if (ev->body) {
		int mentioned = 0;
		const char *q = mxjson_question_text(ev->body, self, &mentioned);
		if (!q || q < ev->body || q > ev->body + strlen(ev->body))
			abort();
		check_reply(q, ev->event_id, ev->rel_event_id, ev->sender);
		char txn[MX_TXN_LEN];
		if (mxjson_txn_id(ev->event_id, txn) == 0 && strlen(txn) != MX_TXN_LEN - 1)
			abort();
		char url[512];
		mxjson_url_escape(ev->event_id, url, sizeof url);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	cJSON *root = mxjson_json_parse((const char *)data, size, err, sizeof err);
	if (!root) {
		if (!err[0])
			abort();
		return 0;
	}
	struct mxjson_sync_visitor v = { NULL, on_invite, on_leave, on_room, on_event };
	struct mxjson_sync_stats st = { 0 };
	const char *next = mxjson_sync_walk(root, self, &v, &st);
	touch(next);
	mxjson_retry_after_ms(root, -1);
	cJSON_Delete(root);
	return 0;
}
