/* fake_http.c - a fake of bot/http.c for fuzzing only (see fake.h): no
 * libcurl, no socket.  http_start records the request (after the
 * target's checks on what is sent); the target answers it later with
 * fake_http_answer, which calls the client's callback the way http.c's
 * check_done does: detached first (the callback may start and cancel
 * requests), body NUL-terminated, owned here and freed after the
 * callback.  Same contract as http.h: ids > 0, at most HTTP_MAX_ACTIVE in
 * flight, cancel of an unknown id is a no-op, http_free drops every
 * request without a callback. */
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "http.h"

struct http {
	struct loop *lp;
};

struct freq {
	struct http *h;
	long id;
	char *method, *url, *body;
	size_t max_body;
	int bearer;
	http_cb cb;
	void *arg;
};

static struct freq reqs[HTTP_MAX_ACTIVE];
static size_t nreqs;
static long next_id = 1;
static int fail_next;

int (*fake_http_check)(const char *method, const char *url, const char *body, size_t body_len,
		       const char *bearer);

struct http *http_new(struct loop *lp)
{
	struct http *h = calloc(1, sizeof *h);
	if (h)
		h->lp = lp;
	return h;
}

static void req_free(struct freq *r)
{
	free(r->method);
	free(r->url);
	free(r->body);
}

static void req_drop(size_t i)
{
	req_free(&reqs[i]);
	memmove(&reqs[i], &reqs[i + 1], (nreqs - i - 1) * sizeof reqs[0]);
	nreqs--;
}

void http_free(struct http *h)
{
	size_t i = 0;
	if (!h)
		return;
	while (i < nreqs)
		if (reqs[i].h == h)
			req_drop(i);
		else
			i++;
	free(h);
}

long http_start(struct http *h, const struct http_req *rq, http_cb cb, void *arg)
{
	struct freq *r;
	if (!h || !rq || !rq->method || !rq->url || !cb)
		abort(); /* a caller bug, not an input */
	if (fake_http_check && fake_http_check(rq->method, rq->url, rq->body, rq->body_len, rq->bearer))
		abort();
	if (fail_next > 0) {
		fail_next--;
		return -1;
	}
	if (nreqs >= HTTP_MAX_ACTIVE)
		return -1;
	r = &reqs[nreqs];
	memset(r, 0, sizeof *r);
	r->method = strdup(rq->method);
	r->url = strdup(rq->url);
	if (rq->body && (r->body = malloc(rq->body_len + 1))) {
		memcpy(r->body, rq->body, rq->body_len);
		r->body[rq->body_len] = 0;
	}
	if (!r->method || !r->url || (rq->body && !r->body)) {
		req_free(r);
		return -1;
	}
	r->h = h;
	r->id = next_id++;
	r->max_body = rq->max_body;
	r->bearer = rq->bearer != NULL;
	r->cb = cb;
	r->arg = arg;
	nreqs++;
	return r->id;
}

void http_cancel(struct http *h, long id)
{
	size_t i;
	for (i = 0; i < nreqs; i++)
		if (reqs[i].id == id && reqs[i].h == h) {
			req_drop(i);
			return;
		}
}

size_t http_active(const struct http *h)
{
	size_t i, k = 0;
	for (i = 0; i < nreqs; i++)
		k += reqs[i].h == h;
	return k;
}

size_t fake_http_list(struct fake_req *out, size_t max)
{
	size_t i;
	for (i = 0; i < nreqs && i < max; i++) {
		out[i].id = reqs[i].id;
		out[i].method = reqs[i].method;
		out[i].url = reqs[i].url;
		out[i].body = reqs[i].body;
		out[i].max_body = reqs[i].max_body;
		out[i].bearer = reqs[i].bearer;
	}
	return nreqs;
}

int fake_http_answer(long id, long status, const char *error, const char *body, size_t len,
		     long retry_after_ms)
{
	struct http_resp resp;
	struct freq r;
	size_t i;
	char *buf;
	for (i = 0; i < nreqs && reqs[i].id != id; i++)
		;
	if (i == nreqs)
		return -1;
	r = reqs[i];
	memmove(&reqs[i], &reqs[i + 1], (nreqs - i - 1) * sizeof reqs[0]);
	nreqs--;
	memset(&resp, 0, sizeof resp);
	resp.id = id;
	resp.status = status;
	resp.error = status ? NULL : (error ? error : "fake transfer failure");
	if (len > r.max_body) {
		/* http.c aborts the transfer at the cap */
		len = r.max_body;
		resp.status = 0;
		resp.error = "response body over the size cap";
		resp.too_big = 1;
	}
	buf = malloc(len + 1);
	if (!buf)
		abort();
	if (len)
		memcpy(buf, body, len);
	buf[len] = 0;
	resp.body = buf;
	resp.len = len;
	resp.retry_after_ms = retry_after_ms;
	r.cb(r.arg, &resp);
	free(buf);
	req_free(&r);
	return 0;
}

void fake_http_fail_next(int k)
{
	fail_next = k;
}
