/* http.h - asynchronous HTTP requests on the loop through libcurl's multi
 * socket interface (CURLMOPT_SOCKETFUNCTION -> loop_watch,
 * CURLMOPT_TIMERFUNCTION -> loop_timer_add).  Every response body has a
 * cap: a transfer that goes past it is aborted.  Knows nothing of Matrix;
 * never logs a URL's query, a header or a body (they may hold secrets). */
#ifndef FAQBOT_HTTP_H
#define FAQBOT_HTTP_H

#include <stddef.h>

struct loop;
struct http;

/* Requests in flight at once on one struct http; http_start refuses more. */
#define HTTP_MAX_ACTIVE 64

struct http_resp {
	long id;             /* the request's id (as http_start returned) */
	long status;         /* HTTP status; 0 when the transfer failed */
	const char *error;   /* why the transfer failed (English); NULL on
			      * success, whatever the status */
	int too_big;         /* the body went past max_body: aborted */
	char *body;          /* NUL-terminated, owned by http, valid only
			      * during the callback; "" when empty */
	size_t len;
	long retry_after_ms; /* from a Retry-After header; -1 when absent */
};

typedef void (*http_cb)(void *arg, const struct http_resp *r);

struct http_req {
	const char *method;   /* "GET", "POST", "PUT" */
	const char *url;
	const char *bearer;   /* access token sent as Authorization; NULL: none */
	const char *body;     /* request body (JSON), copied; NULL: none */
	size_t body_len;
	size_t max_body;      /* response body cap in bytes */
	long timeout_ms;      /* whole transfer; 0: 60 s */
};

/* Initialises libcurl (curl_global_init) and a multi handle on lp.  NULL
 * when libcurl cannot start. */
struct http *http_new(struct loop *lp);
/* Aborts every request (no callback runs) and frees.  Accepts NULL.  Not
 * to be called from inside an http callback. */
void http_free(struct http *h);

/* Starts a request; cb runs exactly once, from the loop, unless the
 * request is cancelled.  Returns an id > 0, or -1 (HTTP_MAX_ACTIVE
 * reached, out of memory).  The callback may start or cancel requests. */
long http_start(struct http *h, const struct http_req *rq, http_cb cb, void *arg);
/* Aborts a request without calling its callback.  Unknown id: no-op. */
void http_cancel(struct http *h, long id);
/* Requests in flight. */
size_t http_active(const struct http *h);

#endif
