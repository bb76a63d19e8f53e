/* fake_io.c - an I/O for the Matrix client (struct mxnet_io, mxnet.h)
 * with nothing real behind it, for the fuzz target and the unit tests that
 * #include it (tests/fuzz/fuzz_mxhandle.c, tests/unit/test_mxnet.c;
 * API in fake.h): a virtual clock whose timers fire only when the caller
 * says (fake_loop_run_due), and HTTP requests recorded, then answered by
 * the caller (fake_http_answer) through the client's real callback, the
 * way http.c's check_done does: detached first (the callback may start
 * and cancel requests), body NUL-terminated, owned here and freed after
 * the callback.  Same contracts as loop.h and http.h: ids > 0, one-shot
 * timers, cancel of an unknown id is a no-op, at most HTTP_MAX_ACTIVE
 * requests in flight.  Wall-clock time is real unless fake_wall_ms is
 * set.  One fake per process (static tables). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake.h"
#include "http.h"
#include "loop.h"
#include "mxnet.h"

#define FAKE_MAX_TIMERS 4096

struct ftimer {
	long id;
	int64_t when;
	unsigned long seq;
	loop_timer_cb cb;
	void *arg;
};

static struct ftimer fk_timers[FAKE_MAX_TIMERS];
static size_t fk_ntimers;
static long fk_next_timer = 1;
static unsigned long fk_next_seq;
/* Never reset: bot.c's rate limiter sees one clock across inputs. */
static int64_t fk_now = 1000000;

static long fake_timer_add(void *io_arg, int64_t ms, loop_timer_cb cb, void *arg)
{
	struct ftimer *t;
	if (fk_ntimers >= FAKE_MAX_TIMERS || !cb)
		return -1;
	t = &fk_timers[fk_ntimers++];
	t->id = fk_next_timer++;
	if (fk_next_timer <= 0)
		fk_next_timer = 1;
	t->when = fk_now + (ms < 0 ? 0 : ms);
	t->seq = fk_next_seq++;
	t->cb = cb;
	t->arg = arg;
	return t->id;
}

static void fake_timer_cancel(void *io_arg, long id)
{
	size_t i;
	for (i = 0; i < fk_ntimers; i++)
		if (fk_timers[i].id == id) {
			fk_timers[i] = fk_timers[--fk_ntimers];
			return;
		}
}

static int64_t fake_now_ms(void *io_arg)
{
	return fk_now;
}

void fake_loop_advance(int64_t ms)
{
	if (ms > 0)
		fk_now += ms;
}

int fake_loop_run_due(int max)
{
	int fired = 0;
	for (;;) {
		size_t i, best = fk_ntimers;
		struct ftimer t;
		for (i = 0; i < fk_ntimers; i++)
			if (fk_timers[i].when <= fk_now &&
			    (best == fk_ntimers || fk_timers[i].when < fk_timers[best].when ||
			     (fk_timers[i].when == fk_timers[best].when && fk_timers[i].seq < fk_timers[best].seq)))
				best = i;
		if (best == fk_ntimers)
			return 0;
		if (fired++ >= max)
			return -1;
		t = fk_timers[best];
		fk_timers[best] = fk_timers[--fk_ntimers];
		t.cb(NULL, t.arg);
	}
}

int fake_loop_armed(long id)
{
	size_t i;
	for (i = 0; i < fk_ntimers; i++)
		if (fk_timers[i].id == id)
			return 1;
	return 0;
}

size_t fake_loop_timers(long *ids, size_t max)
{
	size_t i;
	for (i = 0; i < fk_ntimers && i < max; i++)
		ids[i] = fk_timers[i].id;
	return fk_ntimers;
}

struct freq {
	long id;
	char *method, *url, *body;
	size_t max_body;
	int bearer;
	http_cb cb;
	void *arg;
};

static struct freq fk_reqs[HTTP_MAX_ACTIVE];
static size_t fk_nreqs;
static long fk_next_req = 1;
static int fk_fail_next;

int (*fake_http_check)(const char *method, const char *url, const char *body, size_t body_len,
		       const char *bearer);

static void req_free(struct freq *r)
{
	free(r->method);
	free(r->url);
	free(r->body);
}

static void req_drop(size_t i)
{
	req_free(&fk_reqs[i]);
	memmove(&fk_reqs[i], &fk_reqs[i + 1], (fk_nreqs - i - 1) * sizeof fk_reqs[0]);
	fk_nreqs--;
}

static long fake_http_start(void *io_arg, const struct http_req *rq, http_cb cb, void *arg)
{
	struct freq *r;
	if (!rq || !rq->method || !rq->url || !cb)
		abort(); /* a caller bug, not an input */
	if (fake_http_check && fake_http_check(rq->method, rq->url, rq->body, rq->body_len, rq->bearer))
		abort();
	if (fk_fail_next > 0) {
		fk_fail_next--;
		return -1;
	}
	if (fk_nreqs >= HTTP_MAX_ACTIVE)
		return -1;
	r = &fk_reqs[fk_nreqs];
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
	r->id = fk_next_req++;
	r->max_body = rq->max_body;
	r->bearer = rq->bearer != NULL;
	r->cb = cb;
	r->arg = arg;
	fk_nreqs++;
	return r->id;
}

static void fake_http_cancel(void *io_arg, long id)
{
	size_t i;
	for (i = 0; i < fk_nreqs; i++)
		if (fk_reqs[i].id == id) {
			req_drop(i);
			return;
		}
}

size_t fake_http_list(struct fake_req *out, size_t max)
{
	size_t i;
	for (i = 0; i < fk_nreqs && i < max; i++) {
		out[i].id = fk_reqs[i].id;
		out[i].method = fk_reqs[i].method;
		out[i].url = fk_reqs[i].url;
		out[i].body = fk_reqs[i].body;
		out[i].max_body = fk_reqs[i].max_body;
		out[i].bearer = fk_reqs[i].bearer;
	}
	return fk_nreqs;
}

int fake_http_answer(long id, long status, const char *error, const char *body, size_t len,
		     long retry_after_ms)
{
	struct http_resp resp;
	struct freq r;
	size_t i;
	char *buf;
	for (i = 0; i < fk_nreqs && fk_reqs[i].id != id; i++)
		;
	if (i == fk_nreqs)
		return -1;
	r = fk_reqs[i];
	memmove(&fk_reqs[i], &fk_reqs[i + 1], (fk_nreqs - i - 1) * sizeof fk_reqs[0]);
	fk_nreqs--;
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
	fk_fail_next = k;
}

int64_t fake_wall_ms;

static int64_t fake_io_wall_ms(void *io_arg)
{
	struct timespec ts;
	(void)io_arg;
	if (fake_wall_ms)
		return fake_wall_ms + fk_now;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drops every timer and request (between runs). */
void fake_io_reset(void)
{
	while (fk_nreqs)
		req_drop(0);
	fk_ntimers = 0;
	fk_fail_next = 0;
}

const struct mxnet_io fake_mxnet_io = {
	fake_http_start, fake_http_cancel, fake_timer_add, fake_timer_cancel, fake_now_ms,
	fake_io_wall_ms,
};
