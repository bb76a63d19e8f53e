/* mxjson.c - pure helpers of the Matrix client (see mxjson.h): bounded
 * JSON parsing, a type-checked walk over /sync, the reply content and its
 * HTML, transaction ids, backoff.  Every value read from the homeserver is
 * type-checked: a field of the wrong type reads as absent.  No I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "strlist.h"
#include "utf8.h"
#include "mxjson.h"

/* Checks depth and node count on the raw text (strings skipped), so the
 * recursive cJSON parser never goes deep and never builds a huge tree. */
static int precheck(const char *s, size_t len, char *err, size_t errlen)
{
	size_t i, nodes = 1;
	int depth = 0, instr = 0;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (instr) {
			if (c == '\\')
				i++;
			else if (c == '"')
				instr = 0;
			continue;
		}
		switch (c) {
		case '"':
			instr = 1;
			break;
		case '{':
		case '[':
			if (++depth > MX_JSON_MAX_DEPTH) {
				snprintf(err, errlen, "JSON nested deeper than %d", MX_JSON_MAX_DEPTH);
				return -1;
			}
			nodes++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ',':
			nodes++;
			break;
		default:
			break;
		}
		if (nodes > MX_JSON_MAX_NODES) {
			snprintf(err, errlen, "JSON with more than %d values", MX_JSON_MAX_NODES);
			return -1;
		}
	}
	return 0;
}

cJSON *mxjson_json_parse(const char *s, size_t len, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *j;
	if (!s || !len) {
		snprintf(err, errlen, "empty body");
		return NULL;
	}
	if (precheck(s, len, err, errlen) < 0)
		return NULL;
	j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j) {
		const char *at = cJSON_GetErrorPtr();
		/* cJSON_GetErrorPtr is per-process; only an offset is printed. */
		if (at && at >= s && at <= s + len)
			snprintf(err, errlen, "malformed JSON near byte %zu of %zu",
				 (size_t)(at - s), len);
		else
			snprintf(err, errlen, "malformed JSON (%zu bytes)", len);
	}
	return j;
}

const char *mxjson_str(const cJSON *obj, const char *key)
{
	const cJSON *v;
	if (!cJSON_IsObject(obj))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* The member key of obj, or NULL when obj is no object. */
static const cJSON *member(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const cJSON *mxjson_obj(const cJSON *obj, const char *key)
{
	const cJSON *v = member(obj, key);
	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *mxjson_arr(const cJSON *obj, const char *key)
{
	const cJSON *v = member(obj, key);
	return cJSON_IsArray(v) ? v : NULL;
}

int64_t mxjson_int(const cJSON *obj, const char *key, int64_t dflt)
{
	const cJSON *v;
	if (!cJSON_IsObject(obj))
		return dflt;
	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	/* Doubles outside the int64 range (or NaN) would be undefined to cast. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18))
		return dflt;
	return (int64_t)v->valuedouble;
}


int mxjson_event_parse(const cJSON *j, struct mxjson_event *ev)
{
	const cJSON *rel, *uns;
	memset(ev, 0, sizeof *ev);
	if (!cJSON_IsObject(j))
		return -1;
	ev->type = mxjson_str(j, "type");
	ev->event_id = mxjson_str(j, "event_id");
	ev->sender = mxjson_str(j, "sender");
	if (!ev->type || !ev->event_id || !ev->sender)
		return -1;
	ev->state_key = mxjson_str(j, "state_key");
	ev->ts = mxjson_int(j, "origin_server_ts", 0);
	ev->content = mxjson_obj(j, "content");
	uns = mxjson_obj(j, "unsigned");
	ev->redacted = uns && cJSON_GetObjectItemCaseSensitive(uns, "redacted_because") != NULL;
	ev->msgtype = mxjson_str(ev->content, "msgtype");
	ev->body = mxjson_str(ev->content, "body");
	rel = mxjson_obj(ev->content, "m.relates_to");
	ev->rel_type = mxjson_str(rel, "rel_type");
	ev->rel_event_id = mxjson_str(rel, "event_id");
	ev->reply_to = mxjson_str(mxjson_obj(rel, "m.in_reply_to"), "event_id");
	ev->membership = mxjson_str(ev->content, "membership");
	ev->prev_membership = mxjson_str(mxjson_obj(uns, "prev_content"), "membership");
	ev->is_direct = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev->content, "is_direct"));
	return 0;
}

int mxjson_mentions_user(const cJSON *content, const char *user_id)
{
	const cJSON *ids = mxjson_arr(mxjson_obj(content, "m.mentions"), "user_ids"), *it;
	if (!ids || !user_id)
		return 0;
	cJSON_ArrayForEach(it, ids)
		if (cJSON_IsString(it) && it->valuestring && !strcmp(it->valuestring, user_id))
			return 1;
	return 0;
}

static void walk_events(const cJSON *arr, const char *room_id, int is_state,
			const struct mxjson_sync_visitor *v, struct mxjson_sync_stats *st)
{
	const cJSON *it;
	if (!arr)
		return;
	cJSON_ArrayForEach(it, arr) {
		struct mxjson_event ev;
		if (mxjson_event_parse(it, &ev) < 0) {
			st->skipped++;
			continue;
		}
		st->events++;
		if (v->event)
			v->event(v->arg, room_id, &ev, is_state);
	}
}

/* The inviter is the sender of our own m.room.member in invite_state. */
static void walk_invite(const char *room_id, const cJSON *room, const char *self,
			const struct mxjson_sync_visitor *v, struct mxjson_sync_stats *st)
{
	const cJSON *evs = mxjson_arr(mxjson_obj(room, "invite_state"), "events"), *it;
	const char *inviter = NULL;
	int direct = 0;
	if (evs)
		cJSON_ArrayForEach(it, evs) {
			const char *type = mxjson_str(it, "type"), *sk = mxjson_str(it, "state_key");
			const cJSON *c = mxjson_obj(it, "content");
			if (!type || !sk) {
				st->skipped++;
				continue;
			}
			if (!strcmp(type, "m.room.member") && self && !strcmp(sk, self) &&
			    (mxjson_str(c, "membership") && !strcmp(mxjson_str(c, "membership"), "invite"))) {
				inviter = mxjson_str(it, "sender");
				direct = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "is_direct"));
			}
		}
	if (v->invite)
		v->invite(v->arg, room_id, inviter, direct);
}

const char *mxjson_sync_walk(const cJSON *root, const char *self,
			 const struct mxjson_sync_visitor *v, struct mxjson_sync_stats *st)
{
	const char *nb = mxjson_str(root, "next_batch");
	const cJSON *rooms, *sect, *room;
	struct mxjson_sync_stats dummy;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof *st);
	if (!nb || !*nb)
		return NULL;
	rooms = mxjson_obj(root, "rooms");
	if (!rooms) {
		if (cJSON_GetObjectItemCaseSensitive(root, "rooms"))
			st->skipped++;
		return nb;
	}
	if ((sect = mxjson_obj(rooms, "invite")))
		cJSON_ArrayForEach(room, sect) {
			if (!room->string || !cJSON_IsObject(room)) {
				st->skipped++;
				continue;
			}
			st->rooms++;
			walk_invite(room->string, room, self, v, st);
		}
	if ((sect = mxjson_obj(rooms, "join")))
		cJSON_ArrayForEach(room, sect) {
			const cJSON *tl, *sum, *lim;
			struct mxjson_room_info ri;
			if (!room->string || !cJSON_IsObject(room)) {
				st->skipped++;
				continue;
			}
			st->rooms++;
			tl = mxjson_obj(room, "timeline");
			sum = mxjson_obj(room, "summary");
			ri.joined_members = mxjson_int(sum, "m.joined_member_count", -1);
			ri.invited_members = mxjson_int(sum, "m.invited_member_count", -1);
			/* Anything but an explicit false may hide a gap: treat it as
			 * limited (a needless /messages costs less than a lost
			 * question). */
			lim = tl ? cJSON_GetObjectItemCaseSensitive(tl, "limited") : NULL;
			ri.limited = lim && !cJSON_IsFalse(lim);
			ri.prev_batch = mxjson_str(tl, "prev_batch");
			ri.timeline = mxjson_arr(tl, "events");
			if (v->room)
				v->room(v->arg, room->string, &ri);
			walk_events(mxjson_arr(mxjson_obj(room, "state"), "events"), room->string, 1, v, st);
			walk_events(mxjson_arr(tl, "events"), room->string, 0, v, st);
		}
	if ((sect = mxjson_obj(rooms, "leave")))
		cJSON_ArrayForEach(room, sect) {
			if (!room->string) {
				st->skipped++;
				continue;
			}
			st->rooms++;
			if (v->leave)
				v->leave(v->arg, room->string);
		}
	return nb;
}

long mxjson_html_escape(const char *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	if (!outlen)
		return -1;
	for (i = 0; i < len; i++) {
		const char *rep = NULL;
		char one[2] = { in[i], 0 };
		size_t rl;
		switch (in[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\n': rep = "<br>"; break;
		case '\r': rep = ""; break;
		default: rep = one; break;
		}
		rl = strlen(rep);
		if (in[i] == 0)
			rl = 0; /* an embedded NUL ends nothing and adds nothing */
		if (o + rl + 1 > outlen) {
			out[0] = 0;
			return -1;
		}
		memcpy(out + o, rep, rl);
		o += rl;
	}
	out[o] = 0;
	return (long)o;
}

int mxjson_txn_id(const char *event_id, char out[MX_TXN_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	if (!event_id || !EVP_Digest(event_id, strlen(event_id), md, &n, EVP_sha256(), NULL) || n != 32)
		return -1;
	memcpy(out, "fb.", 3);
	for (i = 0; i < n; i++) {
		out[3 + 2 * i] = hex[md[i] >> 4];
		out[4 + 2 * i] = hex[md[i] & 15];
	}
	out[3 + 2 * n] = 0;
	return 0;
}

char *mxjson_reply_json(const struct mxjson_reply *r)
{
	cJSON *c = NULL, *rel, *irt, *men, *ids;
	char *html = NULL, *body = NULL, *s = NULL;
	size_t hcap;
	if (!r || !r->text)
		return NULL;
	hcap = r->len * 6 + 1; /* &quot; is the longest expansion */
	if (!(html = malloc(hcap)) || mxjson_html_escape(r->text, r->len, html, hcap) < 0)
		goto out;
	if (!(body = malloc(r->len + 1)))
		goto out;
	memcpy(body, r->text, r->len);
	body[r->len] = 0;
	if (!(c = cJSON_CreateObject()))
		goto out;
	cJSON_AddStringToObject(c, "msgtype", "m.notice");
	cJSON_AddStringToObject(c, "body", body);
	cJSON_AddStringToObject(c, "format", "org.matrix.custom.html");
	cJSON_AddStringToObject(c, "formatted_body", html);
	if (r->question_id) {
		rel = cJSON_AddObjectToObject(c, "m.relates_to");
		if (!rel)
			goto fail;
		if (r->thread_root) {
			/* A reply inside the thread: thread-aware clients show it in
			 * the thread as a reply to the question itself;
			 * is_falling_back false because m.in_reply_to is the real
			 * target, not a fallback (spec, "Threading", "Fallback for
			 * unthreaded clients"). */
			cJSON_AddStringToObject(rel, "rel_type", "m.thread");
			cJSON_AddStringToObject(rel, "event_id", r->thread_root);
			cJSON_AddBoolToObject(rel, "is_falling_back", 0);
		}
		irt = cJSON_AddObjectToObject(rel, "m.in_reply_to");
		if (!irt)
			goto fail;
		cJSON_AddStringToObject(irt, "event_id", r->question_id);
	}
	men = cJSON_AddObjectToObject(c, "m.mentions");
	if (!men || !(ids = cJSON_AddArrayToObject(men, "user_ids")))
		goto fail;
	if (r->asker)
		cJSON_AddItemToArray(ids, cJSON_CreateString(r->asker));
	s = cJSON_PrintUnformatted(c);
fail:
	cJSON_Delete(c);
out:
	free(html);
	free(body);
	return s;
}

int64_t mxjson_backoff_ms(unsigned attempt, int64_t cap_ms, uint32_t rnd)
{
	int64_t d = 1000;
	if (cap_ms < 250)
		cap_ms = 250;
	while (attempt-- > 0 && d < cap_ms)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	/* "Equal jitter": half fixed, half random, so that many clients
	 * restarted together spread out but none retries at once. */
	d = d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
	return d < 250 ? 250 : d;
}

int64_t mxjson_retry_after_ms(const cJSON *errbody, long header_ms)
{
	int64_t ms = header_ms >= 0 ? header_ms : mxjson_int(errbody, "retry_after_ms", 1000);
	if (ms < 100)
		ms = 100;
	if (ms > 600000)
		ms = 600000;
	return ms;
}

int mxjson_url_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (o + (plain ? 1 : 3) + 1 > outlen) {
			if (outlen)
				out[0] = 0;
			return -1;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o + 1 > outlen)
		return -1;
	out[o] = 0;
	return 0;
}

int mxjson_inviter_allowed(const struct strlist *allowed, const char *user_id)
{
	const char *server;
	size_t i;
	if (!allowed || !user_id || user_id[0] != '@' || !(server = strchr(user_id, ':')))
		return 0;
	for (i = 0; i < allowed->n; i++) {
		const char *a = allowed->v[i];
		if (!a || !*a)
			continue;
		if (a[0] == ':' ? !strcmp(server, a) : !strcmp(user_id, a))
			return 1;
	}
	return 0;
}

const char *mxjson_question_text(const char *body, const char *self, int *mentioned)
{
	const char *p = body;
	size_t sl;
	if (!p)
		return "";
	/* Reply fallback: "> <@alice:b> ..." lines, then an empty line. */
	if (p[0] == '>') {
		const char *cur = p;
		while (*cur == '>') {
			const char *nl = strchr(cur, '\n');
			if (!nl) {
				cur = NULL;
				break;
			}
			cur = nl + 1;
		}
		if (cur && *cur == '\n')
			p = cur + 1;
	}
	if (self && (sl = strlen(self)) > 0 && !strncmp(p, self, sl)) {
		const char *cur = p + sl;
		if (*cur == ':' || *cur == ',')
			cur++;
		if (*cur == ' ' || *cur == 0) {
			while (*cur == ' ')
				cur++;
			p = cur;
			if (mentioned)
				*mentioned = 1;
		}
	}
	return p;
}

/* ---- end-to-end encryption helpers ---- */

cJSON *mxjson_joined_members(const cJSON *resp)
{
	const cJSON *joined = mxjson_obj(resp, "joined"), *it;
	cJSON *out;
	int n = 0;
	if (!joined || !(out = cJSON_CreateArray()))
		return NULL;
	cJSON_ArrayForEach(it, joined) {
		cJSON *s;
		if (!it->string || it->string[0] != '@' || n >= MX_MAX_MEMBERS)
			continue;
		if (!(s = cJSON_CreateString(it->string))) {
			cJSON_Delete(out);
			return NULL;
		}
		cJSON_AddItemToArray(out, s);
		n++;
	}
	return out;
}

long mxjson_otk_count(const cJSON *sync)
{
	const cJSON *o = mxjson_obj(sync, "device_one_time_keys_count");
	if (!o)
		return -1;
	return (long)mxjson_int(o, "signed_curve25519", 0);
}

int mxjson_fallback_unused(const cJSON *sync)
{
	const cJSON *a = mxjson_arr(sync, "device_unused_fallback_key_types"), *it;
	if (!a)
		return -1;
	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, "signed_curve25519"))
			return 1;
	return 0;
}

int mxjson_room_encryption(const cJSON *content, int64_t *msgs, int64_t *ms)
{
	const char *alg = mxjson_str(content, "algorithm");
	*msgs = *ms = 0;
	if (!alg || strcmp(alg, "m.megolm.v1.aes-sha2"))
		return 0;
	*msgs = mxjson_int(content, "rotation_period_msgs", 0);
	*ms = mxjson_int(content, "rotation_period_ms", 0);
	if (*msgs < 0)
		*msgs = 0;
	if (*ms < 0)
		*ms = 0;
	return 1;
}

cJSON *mxjson_event_json(const struct mxjson_event *ev)
{
	cJSON *o;
	if (!ev->content || !(o = cJSON_CreateObject()))
		return NULL;
	if (!cJSON_AddStringToObject(o, "type", ev->type) ||
	    !cJSON_AddStringToObject(o, "event_id", ev->event_id) ||
	    !cJSON_AddStringToObject(o, "sender", ev->sender) ||
	    !cJSON_AddNumberToObject(o, "origin_server_ts", (double)ev->ts) ||
	    !cJSON_AddItemToObject(o, "content", cJSON_Duplicate(ev->content, 1))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *mxjson_decrypted_event(const struct mxjson_event *outer, const cJSON *payload)
{
	const char *type = mxjson_str(payload, "type");
	const cJSON *pc = mxjson_obj(payload, "content"), *rel;
	cJSON *o, *c;
	if (!type || !pc || !(o = cJSON_CreateObject()))
		return NULL;
	c = cJSON_Duplicate(pc, 1);
	if (!c || !cJSON_AddStringToObject(o, "type", type) ||
	    !cJSON_AddStringToObject(o, "event_id", outer->event_id) ||
	    !cJSON_AddStringToObject(o, "sender", outer->sender) ||
	    !cJSON_AddNumberToObject(o, "origin_server_ts", (double)outer->ts)) {
		cJSON_Delete(c);
		cJSON_Delete(o);
		return NULL;
	}
	rel = mxjson_obj(outer->content, "m.relates_to");
	if (rel && !cJSON_GetObjectItemCaseSensitive(c, "m.relates_to"))
		cJSON_AddItemToObject(c, "m.relates_to", cJSON_Duplicate(rel, 1));
	cJSON_AddItemToObject(o, "content", c);
	return o;
}
