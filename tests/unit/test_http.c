/* test_http.c - http.c through the real loop against a real HTTP/1.1
 * server started here (127.0.0.1, an ephemeral port, one thread per
 * connection): a 200 with a JSON body and the request's headers as the
 * server saw them, a POST body, 404 and 429 (Retry-After in seconds, as a
 * date, capped, absent), the body cap (exactly at it, announced over it,
 * chunked over it), a server closing mid-response, a refused connection,
 * a timeout, cancel and free with requests in flight, a callback starting
 * and cancelling requests (also one whose result is already queued), a
 * redirect handed back unfollowed, many requests at once over several
 * connections, HTTP_MAX_ACTIVE, and no access token in the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "http.h"
#include "log.h"
#include "loop.h"

/* ---- the server ---- */

static struct {
	int lfd;
	int port;
	pthread_t acc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nconn, peak, conns_total;
	volatile int stopping;
	/* the last request, as received */
	char method[16];
	char path[256];
	char auth[512];   /* its Authorization header, "" when none */
	char ctype[128];
	char body[4096];
	int nreq;
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void sendall(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void sendstr(int fd, const char *s)
{
	sendall(fd, s, strlen(s));
}

/* Until the client closes the connection (or the server stops, or 15 s):
 * a request that never gets an answer. */
static void hold(int fd)
{
	for (int i = 0; i < 300 && !srv.stopping; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c[512];
		if (poll(&p, 1, 50) > 0 && recv(fd, c, sizeof c, 0) <= 0)
			return;
	}
}

static void header_val(const char *hdrs, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	out[0] = 0;
	for (const char *l = hdrs; l && *l; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL) {
		if (!strncasecmp(l, name, nl) && l[nl] == ':') {
			const char *v = l + nl + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return;
		}
	}
}

/* One request on fd: 1 served (keep the connection), 0 close it. */
static int serve_one(int fd)
{
	char req[8192];
	size_t n = 0;
	req[0] = 0;
	char *end = NULL;
	while (!(end = strstr(req, "\r\n\r\n"))) {
		if (n >= sizeof req - 1)
			return 0;
		ssize_t k = recv(fd, req + n, sizeof req - 1 - n, 0);
		if (k <= 0)
			return 0;
		n += (size_t)k;
		req[n] = 0;
	}
	*end = 0;
	char method[16] = "", path[256] = "", clen[32], auth[512], ctype[128];
	if (sscanf(req, "%15s %255s", method, path) != 2)
		return 0;
	const char *hdrs = strstr(req, "\r\n") ? strstr(req, "\r\n") + 2 : "";
	header_val(hdrs, "Content-Length", clen, sizeof clen);
	header_val(hdrs, "Authorization", auth, sizeof auth);
	header_val(hdrs, "Content-Type", ctype, sizeof ctype);
	size_t want = (size_t)atol(clen), have = n - (size_t)(end + 4 - req);
	char body[4096];
	if (want >= sizeof body)
		return 0;
	memcpy(body, end + 4, have);
	while (have < want) {
		ssize_t k = recv(fd, body + have, want - have, 0);
		if (k <= 0)
			return 0;
		have += (size_t)k;
	}
	body[want] = 0;
	pthread_mutex_lock(&srv.mu);
	snprintf(srv.method, sizeof srv.method, "%s", method);
	snprintf(srv.path, sizeof srv.path, "%s", path);
	snprintf(srv.auth, sizeof srv.auth, "%s", auth);
	snprintf(srv.ctype, sizeof srv.ctype, "%s", ctype);
	snprintf(srv.body, sizeof srv.body, "%s", body);
	srv.nreq++;
	pthread_mutex_unlock(&srv.mu);

	char out[1024];
	if (!strncmp(path, "/json", 5)) {
		/* "/json?i=N" answers {"i":N}; "/json/slow" waits 30 ms first */
		const char *q = strstr(path, "i=");
		char b[64];
		if (strstr(path, "slow"))
			usleep(30000);
		snprintf(b, sizeof b, "{\"ok\":true,\"i\":%d}", q ? atoi(q + 2) : -1);
		snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s", strlen(b), b);
		sendstr(fd, out);
	} else if (!strcmp(path, "/echo")) {
		snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", want);
		sendstr(fd, out);
		sendall(fd, body, want);
	} else if (!strcmp(path, "/empty")) {
		sendstr(fd, "HTTP/1.1 204 No Content\r\n\r\n");
	} else if (!strncmp(path, "/404", 4)) {
		sendstr(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 25\r\n\r\n{\"errcode\":\"M_NOT_FOUND\"}");
	} else if (!strcmp(path, "/429")) {
		sendstr(fd, "HTTP/1.1 429 Too Many Requests\r\nretry-after:   7\r\nContent-Length: 2\r\n\r\n{}");
	} else if (!strcmp(path, "/429-none")) {
		sendstr(fd, "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\n{}");
	} else if (!strcmp(path, "/429-huge")) {
		sendstr(fd, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 99999999\r\nContent-Length: 2\r\n\r\n{}");
	} else if (!strcmp(path, "/429-date")) {
		char d[64];
		time_t t = time(NULL) + 120;
		struct tm tm;
		strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
		snprintf(out, sizeof out, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: %s\r\n"
			 "Content-Length: 2\r\n\r\n{}", d);
		sendstr(fd, out);
	} else if (!strncmp(path, "/len/", 5)) {
		/* "/len/N": a body of exactly N bytes, Content-Length announced */
		long k = atol(path + 5);
		snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\n\r\n", k);
		sendstr(fd, out);
		for (long i = 0; i < k; i++)
			sendall(fd, "x", 1);
	} else if (!strncmp(path, "/chunked/", 9)) {
		/* "/chunked/N": N bytes in 1 KiB chunks, no length announced */
		long k = atol(path + 9);
		char chunk[1024];
		memset(chunk, 'y', sizeof chunk);
		sendstr(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		while (k > 0) {
			long c = k < 1024 ? k : 1024;
			snprintf(out, sizeof out, "%lx\r\n", c);
			sendstr(fd, out);
			sendall(fd, chunk, (size_t)c);
			sendstr(fd, "\r\n");
			k -= c;
		}
		sendstr(fd, "0\r\n\r\n");
	} else if (!strcmp(path, "/redirect")) {
		snprintf(out, sizeof out, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/json?i=9\r\n"
			 "Content-Length: 0\r\n\r\n", srv.port);
		sendstr(fd, out);
	} else if (!strcmp(path, "/close")) {
		/* promises 100 bytes, sends 10, hangs up */
		sendstr(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
		return 0;
	} else if (!strcmp(path, "/hang")) {
		hold(fd);
		return 0;
	} else {
		sendstr(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
	}
	return 1;
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct timeval tv = { .tv_sec = 15 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (!srv.stopping && serve_one(fd))
		;
	close(fd);
	pthread_mutex_lock(&srv.mu);
	srv.nconn--;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	return NULL;
}

static void *accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(srv.lfd, NULL, NULL);
		pthread_t t;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		pthread_mutex_lock(&srv.mu);
		srv.nconn++;
		srv.conns_total++;
		if (srv.nconn > srv.peak)
			srv.peak = srv.nconn;
		pthread_mutex_unlock(&srv.mu);
		if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd) != 0) {
			close(fd);
			pthread_mutex_lock(&srv.mu);
			srv.nconn--;
			pthread_mutex_unlock(&srv.mu);
			continue;
		}
		pthread_detach(t);
	}
}

static int srv_start(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(srv.lfd, 128) < 0 || getsockname(srv.lfd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	srv.port = ntohs(a.sin_port);
	return pthread_create(&srv.acc, NULL, accept_main, NULL) == 0 ? 0 : -1;
}

static int srv_stop(void **state)
{
	struct timespec ts;
	(void)state;
	srv.stopping = 1;
	shutdown(srv.lfd, SHUT_RDWR);
	pthread_join(srv.acc, NULL);
	close(srv.lfd);
	/* every connection thread gone before the process ends (LeakSanitizer) */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&srv.mu);
	while (srv.nconn > 0 && pthread_cond_timedwait(&srv.cv, &srv.mu, &ts) == 0)
		;
	int left = srv.nconn;
	pthread_mutex_unlock(&srv.mu);
	usleep(20000); /* the threads return after their last unlock */
	return left == 0 ? 0 : -1;
}

/* ---- the client side ---- */

#define MAXR 80

struct got {
	int calls;
	struct http_resp r;   /* copied; body copied into body */
	char body[4096];
	char error[512];
	int stop_after;       /* stop the loop after this many responses of all */
};

static struct fx {
	struct loop *lp;
	struct http *h;
	int responses;        /* all callbacks, every request */
	int want;             /* loop_stop when responses reaches it */
	int timed_out;        /* the watchdog fired */
	long watchdog;
} fx;

static void watchdog_cb(struct loop *lp, void *arg)
{
	(void)arg;
	fx.timed_out = 1;
	fx.watchdog = 0;
	loop_stop(lp);
}

/* Runs the loop until want responses in all (or a 10 s watchdog). */
static void run_until(int want)
{
	fx.want = want;
	if (fx.responses >= want)
		return;
	fx.watchdog = loop_timer_add(fx.lp, 10000, watchdog_cb, NULL);
	loop_run(fx.lp);
	if (fx.watchdog > 0)
		loop_timer_cancel(fx.lp, fx.watchdog);
	fx.watchdog = 0;
	assert_false(fx.timed_out);
	assert_int_equal(fx.responses, want);
}

/* Runs the loop for ms milliseconds whatever happens. */
static void stop_cb(struct loop *lp, void *arg)
{
	(void)arg;
	loop_stop(lp);
}
static void run_for(int64_t ms)
{
	fx.want = 1 << 30;
	loop_timer_add(fx.lp, ms, stop_cb, NULL);
	loop_run(fx.lp);
}

static void note(int done)
{
	fx.responses++;
	if (done && fx.responses >= fx.want)
		loop_stop(fx.lp);
}

static void got_cb(void *arg, const struct http_resp *r)
{
	struct got *g = arg;
	g->calls++;
	g->r = *r;
	snprintf(g->body, sizeof g->body, "%s", r->body ? r->body : "(null)");
	snprintf(g->error, sizeof g->error, "%s", r->error ? r->error : "");
	g->r.body = NULL;
	g->r.error = r->error ? g->error : NULL;
	/* the body is always a NUL-terminated string of len bytes */
	assert_non_null(r->body);
	assert_int_equal(strlen(r->body), r->len);
	note(1);
}

static char url_buf[MAXR][256];
static const char *url(int slot, const char *path)
{
	snprintf(url_buf[slot], sizeof url_buf[slot], "http://127.0.0.1:%d%s", srv.port, path);
	return url_buf[slot];
}

static long get(struct got *g, const char *path, size_t max_body, long timeout_ms, const char *bearer)
{
	static int slot;
	struct http_req rq = { .method = "GET", .url = url(slot++ % MAXR, path), .bearer = bearer,
			       .max_body = max_body, .timeout_ms = timeout_ms };
	return http_start(fx.h, &rq, got_cb, g);
}

static int srv_get(int *field)
{
	pthread_mutex_lock(&srv.mu);
	int v = *field;
	pthread_mutex_unlock(&srv.mu);
	return v;
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof fx);
	/* the connections of the test before are gone (its http_free) */
	for (int i = 0; i < 200 && srv_get(&srv.nconn) > 0; i++)
		usleep(10000);
	pthread_mutex_lock(&srv.mu);
	srv.nreq = 0;
	srv.peak = srv.nconn;
	srv.auth[0] = srv.path[0] = srv.method[0] = srv.body[0] = 0;
	pthread_mutex_unlock(&srv.mu);
	if (!(fx.lp = loop_new()) || !(fx.h = http_new(fx.lp)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	http_free(fx.h);
	loop_free(fx.lp);
	return 0;
}

/* ---- the tests ---- */

static void test_ok_json(void **state)
{
	struct got g = { 0 };
	(void)state;
	int conns0 = srv_get(&srv.conns_total);
	long id = get(&g, "/json?i=42", 4096, 0, "tok-json");
	assert_true(id > 0);
	assert_int_equal(http_active(fx.h), 1);
	run_until(1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.r.id, id);
	assert_int_equal(g.r.status, 200);
	assert_null(g.r.error);
	assert_int_equal(g.r.too_big, 0);
	assert_int_equal(g.r.retry_after_ms, -1);
	assert_string_equal(g.body, "{\"ok\":true,\"i\":42}");
	assert_int_equal(g.r.len, strlen("{\"ok\":true,\"i\":42}"));
	assert_int_equal(http_active(fx.h), 0);
	/* what the server got: the method, the path with its query, the token */
	assert_string_equal(srv.method, "GET");
	assert_string_equal(srv.path, "/json?i=42");
	assert_string_equal(srv.auth, "Bearer tok-json");

	/* no bearer: no Authorization header at all; a 204: body "" */
	struct got e = { 0 };
	assert_true(get(&e, "/empty", 4096, 0, NULL) > id);
	run_until(2);
	assert_int_equal(e.r.status, 204);
	assert_null(e.r.error);
	assert_string_equal(e.body, "");
	assert_int_equal(e.r.len, 0);
	assert_string_equal(srv.auth, "");
	/* the second used the first one's connection (keep-alive) */
	assert_int_equal(srv_get(&srv.nreq), 2);
	assert_int_equal(srv_get(&srv.conns_total) - conns0, 1);
}

static void test_post_body(void **state)
{
	struct got g = { 0 };
	/* the body is copied by http_start: the caller's buffer may go */
	char *b = strdup("{\"msgtype\":\"m.text\",\"body\":\"bonjour\"}");
	struct http_req rq = { .method = "PUT", .url = url(0, "/echo"), .body = b,
			       .body_len = strlen(b), .max_body = 4096 };
	(void)state;
	assert_true(http_start(fx.h, &rq, got_cb, &g) > 0);
	memset(b, 'Z', strlen(b));
	free(b);
	run_until(1);
	assert_int_equal(g.r.status, 200);
	assert_string_equal(g.body, "{\"msgtype\":\"m.text\",\"body\":\"bonjour\"}");
	assert_string_equal(srv.method, "PUT");
	assert_string_equal(srv.ctype, "application/json");
	assert_string_equal(srv.body, "{\"msgtype\":\"m.text\",\"body\":\"bonjour\"}");

	/* body_len counts, not the NUL: a body cut short is sent cut short */
	struct got p = { 0 };
	struct http_req rq2 = { .method = "POST", .url = url(1, "/echo"), .body = "{}garbage",
				.body_len = 2, .max_body = 4096 };
	assert_true(http_start(fx.h, &rq2, got_cb, &p) > 0);
	run_until(2);
	assert_string_equal(srv.method, "POST");
	assert_string_equal(p.body, "{}");
}

static void test_404_429(void **state)
{
	struct got nf = { 0 }, ra = { 0 }, none = { 0 }, huge = { 0 }, date = { 0 };
	(void)state;
	assert_true(get(&nf, "/404", 4096, 0, "t") > 0);
	assert_true(get(&ra, "/429", 4096, 0, "t") > 0);
	assert_true(get(&none, "/429-none", 4096, 0, "t") > 0);
	assert_true(get(&huge, "/429-huge", 4096, 0, "t") > 0);
	assert_true(get(&date, "/429-date", 4096, 0, "t") > 0);
	run_until(5);
	/* an HTTP error is not a transfer error: status set, error NULL */
	assert_int_equal(nf.r.status, 404);
	assert_null(nf.r.error);
	assert_string_equal(nf.body, "{\"errcode\":\"M_NOT_FOUND\"}");
	assert_int_equal(nf.r.retry_after_ms, -1);
	assert_int_equal(ra.r.status, 429);
	assert_null(ra.r.error);
	assert_int_equal(ra.r.retry_after_ms, 7000); /* lower case, spaces */
	assert_int_equal(none.r.status, 429);
	assert_int_equal(none.r.retry_after_ms, -1);
	assert_int_equal(huge.r.retry_after_ms, 86400000L); /* capped at a day */
	assert_int_equal(date.r.status, 429);
	assert_in_range(date.r.retry_after_ms, 100000, 121000);
}

static void test_body_cap(void **state)
{
	struct got at = { 0 }, over = { 0 }, chunk_at = { 0 }, chunk_over = { 0 }, flood = { 0 };
	(void)state;
	assert_true(get(&at, "/len/16", 16, 0, NULL) > 0);
	assert_true(get(&over, "/len/17", 16, 0, NULL) > 0);
	assert_true(get(&chunk_at, "/chunked/2048", 2048, 0, NULL) > 0);
	assert_true(get(&chunk_over, "/chunked/2049", 2048, 0, NULL) > 0);
	assert_true(get(&flood, "/chunked/4000000", 4096, 0, NULL) > 0);
	run_until(5);
	/* exactly the cap: accepted */
	assert_int_equal(at.r.status, 200);
	assert_int_equal(at.r.too_big, 0);
	assert_int_equal(at.r.len, 16);
	assert_int_equal(chunk_at.r.status, 200);
	assert_int_equal(chunk_at.r.too_big, 0);
	assert_int_equal(chunk_at.r.len, 2048);
	/* one byte over, announced or not: refused, no status */
	assert_int_equal(over.r.status, 0);
	assert_int_equal(over.r.too_big, 1);
	assert_string_equal(over.error, "response body over the size cap");
	assert_int_equal(chunk_over.r.status, 0);
	assert_int_equal(chunk_over.r.too_big, 1);
	assert_string_equal(chunk_over.error, "response body over the size cap");
	assert_true(chunk_over.r.len <= 2048);
	/* a flood: aborted early, never more than the cap kept */
	assert_int_equal(flood.r.too_big, 1);
	assert_true(flood.r.len <= 4096);
	assert_int_equal(http_active(fx.h), 0);
}

static void test_server_closes(void **state)
{
	struct got g = { 0 }, after = { 0 };
	(void)state;
	assert_true(get(&g, "/close", 4096, 0, "t") > 0);
	run_until(1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.r.status, 0);
	assert_non_null(g.r.error);
	assert_true(g.error[0] != 0);
	assert_int_equal(g.r.too_big, 0);
	/* the next request works (a new connection) */
	assert_true(get(&after, "/json?i=1", 4096, 0, "t") > 0);
	run_until(2);
	assert_int_equal(after.r.status, 200);
}

static void test_refused(void **state)
{
	struct got g = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	char u[64];
	(void)state;
	/* a port nobody listens on: bound, read, closed */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	snprintf(u, sizeof u, "http://127.0.0.1:%d/json", ntohs(a.sin_port));
	struct http_req rq = { .method = "GET", .url = u, .max_body = 100 };
	assert_true(http_start(fx.h, &rq, got_cb, &g) > 0);
	run_until(1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.r.status, 0);
	assert_true(g.error[0] != 0);
	/* and a scheme other than http(s) is refused by curl */
	struct got f = { 0 };
	struct http_req rq2 = { .method = "GET", .url = "file:///etc/passwd", .max_body = 100000 };
	assert_true(http_start(fx.h, &rq2, got_cb, &f) > 0);
	run_until(2);
	assert_int_equal(f.r.status, 0);
	assert_non_null(f.r.error);
	assert_int_equal(f.r.len, 0);
}

static void test_timeout(void **state)
{
	struct got g = { 0 };
	(void)state;
	int64_t t0 = loop_now_ms(fx.lp);
	assert_true(get(&g, "/hang", 4096, 300, "t") > 0);
	run_until(1);
	int64_t dt = loop_now_ms(fx.lp) - t0;
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.r.status, 0);
	assert_non_null(strstr(g.error, "timed out"));
	assert_in_range(dt, 250, 5000);
	assert_int_equal(http_active(fx.h), 0);
}

static void test_cancel(void **state)
{
	struct got hung = { 0 }, ok = { 0 };
	(void)state;
	long id = get(&hung, "/hang", 4096, 0, "t");
	assert_true(id > 0);
	assert_true(get(&ok, "/json?i=5", 4096, 0, "t") > 0);
	assert_int_equal(http_active(fx.h), 2);
	http_cancel(fx.h, id + 1000); /* unknown: nothing */
	http_cancel(NULL, id);
	assert_int_equal(http_active(fx.h), 2);
	run_until(1);
	assert_int_equal(ok.calls, 1);
	assert_int_equal(http_active(fx.h), 1);
	http_cancel(fx.h, id);
	assert_int_equal(http_active(fx.h), 0);
	http_cancel(fx.h, id); /* twice: nothing */
	/* the cancelled one never calls back, even given time */
	run_for(200);
	assert_int_equal(hung.calls, 0);
	assert_int_equal(fx.responses, 1);
}

/* A callback that cancels a request in flight and starts another. */
struct chain {
	long victim;
	struct got next;
	struct got victim_got;
	int calls;
};
static void chain_cb(void *arg, const struct http_resp *r)
{
	struct chain *c = arg;
	c->calls++;
	assert_int_equal(r->status, 200);
	/* its own id is no longer active: cancelling it is a no-op */
	http_cancel(fx.h, r->id);
	http_cancel(fx.h, c->victim);
	assert_true(get(&c->next, "/json?i=2", 4096, 0, NULL) > 0);
	note(0);
}

static void test_callback_starts_and_cancels(void **state)
{
	struct chain c = { 0 };
	struct http_req rq = { .method = "GET", .url = url(0, "/json/slow?i=1"), .max_body = 4096 };
	(void)state;
	c.victim = get(&c.victim_got, "/hang", 4096, 0, NULL);
	assert_true(c.victim > 0);
	assert_true(http_start(fx.h, &rq, chain_cb, &c) > 0);
	run_until(2);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.next.calls, 1);
	assert_int_equal(c.next.r.status, 200);
	assert_string_equal(c.next.body, "{\"ok\":true,\"i\":2}");
	assert_int_equal(c.victim_got.calls, 0);
	assert_int_equal(http_active(fx.h), 0);
}

/* Two requests that fail in the same pass of curl (a scheme it refuses):
 * the first callback cancels the other, whose result is already queued. */
struct pair {
	long id[2];
	int calls[2];
};
static void pair_cb(void *arg, const struct http_resp *r)
{
	struct pair *p = arg;
	int me = r->id == p->id[1];
	p->calls[me]++;
	http_cancel(fx.h, p->id[!me]);
	note(1);
}

static void test_cancel_finished_in_callback(void **state)
{
	struct pair p;
	struct http_req rq = { .method = "GET", .url = "gopher://127.0.0.1/", .max_body = 100 };
	memset(&p, 0, sizeof p);
	(void)state;
	p.id[0] = http_start(fx.h, &rq, pair_cb, &p);
	p.id[1] = http_start(fx.h, &rq, pair_cb, &p);
	assert_true(p.id[0] > 0 && p.id[1] > 0);
	run_until(1);
	run_for(100);
	/* one callback in all, and no use of the cancelled one (ASan) */
	assert_int_equal(p.calls[0] + p.calls[1], 1);
	assert_int_equal(fx.responses, 1);
	assert_int_equal(http_active(fx.h), 0);
}

/* A redirect is handed back, never followed (the token would go along). */
static void test_redirect_not_followed(void **state)
{
	struct got g = { 0 };
	(void)state;
	assert_true(get(&g, "/redirect", 4096, 0, "tok-redirect") > 0);
	run_until(1);
	assert_int_equal(g.r.status, 302);
	assert_null(g.r.error);
	run_for(100);
	assert_int_equal(srv_get(&srv.nreq), 1);
	assert_string_equal(srv.path, "/redirect");
}

static struct got many[MAXR];
static void test_many_concurrent(void **state)
{
	const int n = 60;
	char p[64];
	(void)state;
	memset(many, 0, sizeof many);
	long ids[MAXR];
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof p, "/json/slow?i=%d", i);
		ids[i] = get(&many[i], p, 4096, 0, "tok");
		assert_true(ids[i] > 0);
		for (int j = 0; j < i; j++)
			assert_true(ids[j] != ids[i]);
	}
	assert_int_equal(http_active(fx.h), (size_t)n);
	int64_t t0 = loop_now_ms(fx.lp);
	run_until(n);
	int64_t dt = loop_now_ms(fx.lp) - t0;
	for (int i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof want, "{\"ok\":true,\"i\":%d}", i);
		assert_int_equal(many[i].calls, 1);
		assert_int_equal(many[i].r.id, ids[i]);
		assert_int_equal(many[i].r.status, 200);
		assert_string_equal(many[i].body, want);
	}
	/* in parallel over several connections: 60 x 30 ms in series is 1.8 s */
	assert_true(srv_get(&srv.peak) > 1);
	assert_true(dt < 1750);
	assert_int_equal(http_active(fx.h), 0);
}

static struct got held[HTTP_MAX_ACTIVE + 1];
static void test_max_active_and_free_in_flight(void **state)
{
	(void)state;
	for (int i = 0; i < HTTP_MAX_ACTIVE; i++)
		assert_true(get(&held[i], "/hang", 4096, 0, "t") > 0);
	assert_int_equal(http_active(fx.h), HTTP_MAX_ACTIVE);
	assert_int_equal(get(&held[HTTP_MAX_ACTIVE], "/json", 4096, 0, "t"), -1);
	run_for(100); /* connected and waiting */
	assert_true(srv_get(&srv.nconn) > 0);
	/* bad arguments are refused, never crash */
	struct http_req rq = { .method = "GET", .url = NULL, .max_body = 10 };
	assert_int_equal(http_start(fx.h, &rq, got_cb, &held[0]), -1);
	assert_int_equal(http_start(NULL, &rq, got_cb, &held[0]), -1);
	assert_int_equal(http_start(fx.h, NULL, got_cb, &held[0]), -1);
	assert_int_equal(http_active(NULL), 0);
	/* teardown's http_free aborts all 64: no callback (got_cb would count) */
	http_free(fx.h);
	fx.h = NULL;
	run_for(50);
	assert_int_equal(fx.responses, 0);
	http_free(NULL);
}

/* The access token is sent but never written to the log, whatever
 * happens to the request (stderr captured into a file at DEBUG). */
static void test_token_not_logged(void **state)
{
	static const char tok[] = "syt_SECRETtoken_9f8e7d6c5b4a";
	struct got a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 }, f = { 0 };
	char tmpl[] = "/tmp/test_http_log.XXXXXX";
	(void)state;
	int lfd = mkstemp(tmpl);
	assert_true(lfd >= 0);
	unlink(tmpl);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(lfd, 2) == 2);
	enum log_level old = log_get_level();
	log_set_level(LOGL_DEBUG);
	log_info("capture works");

	assert_true(get(&a, "/json?i=1", 4096, 0, tok) > 0);
	assert_true(get(&b, "/close", 4096, 0, tok) > 0);
	assert_true(get(&c, "/hang", 4096, 200, tok) > 0);
	assert_true(get(&d, "/len/5000", 100, 0, tok) > 0);
	assert_true(get(&e, "/404?access_token=syt_SECRETtoken_9f8e7d6c5b4a", 4096, 0, tok) > 0);
	long cancelled = get(&f, "/hang", 4096, 0, tok);
	http_cancel(fx.h, cancelled);
	run_until(5);

	log_set_level(old);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char buf[65536];
	ssize_t n = pread(lfd, buf, sizeof buf - 1, 0);
	close(lfd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "capture works"));
	assert_null(strstr(buf, "SECRETtoken"));
	assert_null(strstr(buf, "Bearer"));
	assert_null(strstr(buf, "Authorization"));
	/* the token did reach the server, and no error text carries it */
	assert_string_equal(srv.auth, "Bearer syt_SECRETtoken_9f8e7d6c5b4a");
	assert_int_equal(a.r.status, 200);
	assert_null(strstr(b.error, "SECRET"));
	assert_null(strstr(c.error, "SECRET"));
	assert_null(strstr(d.error, "SECRET"));
	assert_int_equal(e.r.status, 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_404_429, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_starts_and_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_finished_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_active_and_free_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_not_logged, setup, teardown),
	};
	return cmocka_run_group_tests(tests, srv_start, srv_stop);
}
