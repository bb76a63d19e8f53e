/* http.c - libcurl's multi socket interface on the poll loop (the pattern
 * of curl's docs/examples/ephiperfifo.c): curl tells us which sockets to
 * watch and when to wake it; we feed events back with
 * curl_multi_socket_action and hand finished transfers to callbacks.
 * Bodies are collected in a buffer capped per request.  Connections are
 * HTTP/1.1 keep-alive, kept in the multi handle's cache and reused by
 * every request; finished easy handles are reset and reused too (a few
 * kept idle).  Does not retry,
 * parse JSON or log request details: that is the caller's business. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "buf.h"
#include "loop.h"

struct xfer {
	struct http *h;
	long id;
	CURL *e;
	struct curl_slist *hdrs;
	char *reqbody;
	struct buf body; /* the response, capped at max_body */
	int too_big;
	long retry_after_ms;
	http_cb cb;
	void *arg;
	struct xfer *prev, *next;
	char errbuf[CURL_ERROR_SIZE];
};

/* Idle easy handles kept for reuse: enough for the sends of a burst. */
#define HTTP_IDLE_HANDLES 8
/* Connections to one host: the /sync long-poll, the parallel sends, a
 * crypto request, a join; more requests wait in curl for a free one. */
#define HTTP_HOST_CONNS 24

struct http {
	struct loop *lp;
	CURLM *multi;
	CURL *idle[HTTP_IDLE_HANDLES];
	size_t nidle;
	long timer_id;     /* loop timer for curl's timeout; 0: none */
	long next_id;
	size_t nactive;
	struct xfer *head;
	int in_check;
};

static void check_done(struct http *h);

static void on_fd(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct http *h = arg;
	int flags = 0, running;
	(void)lp;
	if (ev & LOOP_READ)
		flags |= CURL_CSELECT_IN;
	if (ev & LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	if (ev & LOOP_ERROR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	check_done(h);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct http *h = userp;
	unsigned ev = 0;
	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		loop_unwatch(h->lp, s);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= LOOP_WRITE;
	if (loop_watch(h->lp, s, ev, on_fd, h) < 0)
		log_error("http: cannot watch socket %d", (int)s);
	return 0;
}

static void on_timer(struct loop *lp, void *arg)
{
	struct http *h = arg;
	int running;
	(void)lp;
	h->timer_id = 0;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http *h = userp;
	(void)m;
	if (h->timer_id > 0) {
		loop_timer_cancel(h->lp, h->timer_id);
		h->timer_id = 0;
	}
	/* Never call socket_action from here (re-entrancy): a 0 ms timer runs
	 * it on the next loop pass instead. */
	if (timeout_ms >= 0) {
		h->timer_id = loop_timer_add(h->lp, timeout_ms, on_timer, h);
		if (h->timer_id < 0) {
			h->timer_id = 0;
			log_error("http: cannot add a timer");
			return -1;
		}
	}
	return 0;
}

struct http *http_new(struct loop *lp)
{
	struct http *h;
	/* Reference-counted by libcurl; matched by http_free.  Only a Matrix
	 * network starts it, so an IRC-only bot never initialises curl. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	h = calloc(1, sizeof *h);
	if (!h || !(h->multi = curl_multi_init())) {
		free(h);
		curl_global_cleanup();
		return NULL;
	}
	h->lp = lp;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* HTTP/1.1 keep-alive, one request per connection at a time (no
	 * pipelining: a slow send must not hold the ones behind it); the
	 * cache keeps the connections of a burst open for the next one
	 * (curl's default shrinks it with the number of transfers). */
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HTTP_HOST_CONNS);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_HOST_CONNS);
	return h;
}

static CURL *handle_get(struct http *h)
{
	if (h->nidle) {
		CURL *e = h->idle[--h->nidle];
		curl_easy_reset(e);
		return e;
	}
	return curl_easy_init();
}

/* Back to the idle list (its options are reset when taken again), or
 * freed when the list is full. */
static void handle_put(struct http *h, CURL *e)
{
	if (h->nidle < HTTP_IDLE_HANDLES)
		h->idle[h->nidle++] = e;
	else
		curl_easy_cleanup(e);
}

/* Takes x out of the active list and the multi handle. */
static void xfer_detach(struct http *h, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		h->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	curl_multi_remove_handle(h->multi, x->e);
	h->nactive--;
}

/* Frees a detached x, keeping its easy handle for reuse. */
static void xfer_release(struct http *h, struct xfer *x)
{
	handle_put(h, x->e);
	curl_slist_free_all(x->hdrs);
	free(x->reqbody);
	buf_free(&x->body);
	free(x);
}

static void xfer_free(struct http *h, struct xfer *x)
{
	xfer_detach(h, x);
	xfer_release(h, x);
}

void http_free(struct http *h)
{
	if (!h)
		return;
	while (h->head)
		xfer_free(h, h->head);
	while (h->nidle)
		curl_easy_cleanup(h->idle[--h->nidle]);
	if (h->timer_id > 0)
		loop_timer_cancel(h->lp, h->timer_id);
	curl_multi_cleanup(h->multi);
	free(h);
	curl_global_cleanup();
}

static size_t write_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t k = sz * n;
	if (buf_add(&x->body, p, k) < 0) {
		/* Returning less than k aborts the transfer: nothing more of a
		 * hostile body is read. */
		if (x->body.err == BUF_TOO_BIG)
			x->too_big = 1;
		return 0;
	}
	return k;
}

/* "Retry-After: 120" or an HTTP date -> milliseconds. */
static size_t header_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t k = sz * n;
	static const char name[] = "retry-after:";
	if (k > sizeof name - 1 && k < 256 && !strncasecmp(p, name, sizeof name - 1)) {
		char v[256];
		size_t i = sizeof name - 1, j = 0;
		while (i < k && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < k && p[i] != '\r' && p[i] != '\n' && j < sizeof v - 1)
			v[j++] = p[i++];
		v[j] = 0;
		if (j && isdigit((unsigned char)v[0])) {
			long s = strtol(v, NULL, 10);
			x->retry_after_ms = s > 86400 ? 86400000L : s * 1000L;
		} else if (j) {
			time_t t = curl_getdate(v, NULL);
			time_t now = time(NULL);
			if (t > 0)
				x->retry_after_ms = t > now ? (long)(t - now) * 1000L : 0;
		}
	}
	return k;
}

long http_start(struct http *h, const struct http_req *rq, http_cb cb, void *arg)
{
	struct xfer *x;
	if (!h || !rq || !rq->url || !cb || h->nactive >= HTTP_MAX_ACTIVE)
		return -1;
	if (!(x = calloc(1, sizeof *x)))
		return -1;
	if (!(x->e = handle_get(h))) {
		free(x);
		return -1;
	}
	x->h = h;
	x->id = ++h->next_id;
	buf_init(&x->body, rq->max_body);
	x->retry_after_ms = -1;
	x->cb = cb;
	x->arg = arg;
	x->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (rq->bearer) {
		/* Built on the heap only long enough for curl to copy it. */
		size_t n = strlen(rq->bearer) + 32;
		char *a = malloc(n);
		struct curl_slist *t = NULL;
		if (a) {
			snprintf(a, n, "Authorization: Bearer %s", rq->bearer);
			t = curl_slist_append(x->hdrs, a);
			memset(a, 0, n);
			free(a);
		}
		if (!t)
			goto fail;
		x->hdrs = t;
	}
	if (rq->body) {
		struct curl_slist *t = curl_slist_append(x->hdrs, "Content-Type: application/json");
		if (!t || !(x->reqbody = malloc(rq->body_len + 1)))
			goto fail;
		x->hdrs = t;
		memcpy(x->reqbody, rq->body, rq->body_len);
		x->reqbody[rq->body_len] = 0;
		curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, x->reqbody);
		curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	curl_easy_setopt(x->e, CURLOPT_URL, rq->url);
	curl_easy_setopt(x->e, CURLOPT_CUSTOMREQUEST, rq->method);
	if (!strcmp(rq->method, "GET"))
		curl_easy_setopt(x->e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
	/* curl's default since 7.50.2, said here because a reply must not
	 * wait for Nagle's delayed ACK. */
	curl_easy_setopt(x->e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(x->e, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	curl_easy_setopt(x->e, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 60000L);
	/* A body announced bigger than the cap is refused before it comes. */
	curl_easy_setopt(x->e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_body);
	curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->e, CURLOPT_USERAGENT, "faqbot");
	x->next = h->head;
	if (h->head)
		h->head->prev = x;
	h->head = x;
	h->nactive++;
	if (curl_multi_add_handle(h->multi, x->e) != CURLM_OK) {
		xfer_free(h, x);
		return -1;
	}
	return x->id;
fail:
	curl_slist_free_all(x->hdrs);
	handle_put(h, x->e);
	free(x->reqbody);
	free(x);
	return -1;
}

void http_cancel(struct http *h, long id)
{
	struct xfer *x;
	if (!h)
		return;
	for (x = h->head; x; x = x->next)
		if (x->id == id) {
			xfer_free(h, x);
			return;
		}
}

size_t http_active(const struct http *h)
{
	return h ? h->nactive : 0;
}

static void check_done(struct http *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct xfer *x;
		char *priv = NULL;
		struct http_resp r;
		http_cb cb;
		void *arg;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (!(x = (struct xfer *)priv))
			continue;
		memset(&r, 0, sizeof r);
		r.id = x->id;
		if (m->data.result == CURLE_OK) {
			curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &r.status);
		} else {
			r.status = 0;
			if (x->too_big || m->data.result == CURLE_FILESIZE_EXCEEDED) {
				x->too_big = 1;
				r.error = "response body over the size cap";
			} else {
				r.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result);
			}
		}
		r.too_big = x->too_big;
		r.body = x->body.p ? x->body.p : (char *)"";
		r.len = x->body.len;
		r.retry_after_ms = x->retry_after_ms;
		cb = x->cb;
		arg = x->arg;
		/* Detach before the callback so that it may start new requests
		 * (and cancel others) freely; free after. */
		xfer_detach(h, x);
		cb(arg, &r);
		xfer_release(h, x);
	}
}
