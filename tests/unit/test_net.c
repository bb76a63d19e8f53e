/* test_net.c - the client connection of net.h against real peers on
 * 127.0.0.1: plain TCP echo, a hostile peer that never ends its line, the
 * write-queue cap, a refused connection, and TLS with a test certificate
 * made here by the openssl command (trusted through ca_file: verified;
 * not trusted: a clear error; wrong name: refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <openssl/ssl.h>

#include "loop.h"
#include "net.h"

static char dir[] = "/tmp/faqbot-nettest.XXXXXX";
static char cert[300], key[300];

/* A listening socket on 127.0.0.1; returns its fd and sets *port. */
static int listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Peer behaviours, run in a child process (blocking code is fine there). */
enum peer { P_ECHO, P_FLOOD, P_TLS_ECHO, P_LINES, P_SILENT, P_TLS_ALERT };
#define NLINES 50

static pid_t start_peer(int lfd, enum peer kind)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[4096];
		int c = accept(lfd, NULL, NULL);
		ssize_t n;
		if (c < 0)
			_exit(1);
		if (kind == P_ECHO) {
			while ((n = read(c, buf, sizeof buf)) > 0)
				if (write(c, buf, (size_t)n) != n)
					break;
		} else if (kind == P_LINES) {
			/* NLINES questions in one write; "done" once every
			 * answer line is back. */
			char q[NLINES * 16];
			size_t ql = 0, lines = 0;
			for (int i = 0; i < NLINES; i++)
				ql += (size_t)snprintf(q + ql, sizeof q - ql, "q %d\r\n", i);
			if (write(c, q, ql) != (ssize_t)ql)
				_exit(3);
			while (lines < NLINES && (n = read(c, buf, sizeof buf)) > 0)
				for (ssize_t i = 0; i < n; i++)
					lines += buf[i] == '\n';
			if (write(c, "done\r\n", 6) != 6)
				_exit(4);
			while (read(c, buf, sizeof buf) > 0)
				;
		} else if (kind == P_SILENT) {
			/* A plain IRC port: reads a ClientHello, says nothing. */
			while (read(c, buf, sizeof buf) > 0)
				;
		} else if (kind == P_TLS_ALERT) {
			/* A TLS port seen by a plain client: a fatal alert. */
			static const char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46 };
			if (write(c, alert, sizeof alert) < 0)
				_exit(5);
			while (read(c, buf, sizeof buf) > 0)
				;
		} else if (kind == P_FLOOD) {
			memset(buf, 'A', sizeof buf); /* no line end, ever */
			for (int i = 0; i < 256; i++)
				if (write(c, buf, sizeof buf) < 0)
					break;
		} else {
			SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
			SSL *s;
			if (!ctx || SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
			    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
				_exit(2);
			s = SSL_new(ctx);
			SSL_set_fd(s, c);
			if (SSL_accept(s) == 1) {
				int r;
				while ((r = SSL_read(s, buf, sizeof buf)) > 0)
					if (SSL_write(s, buf, r) != r)
						break;
			}
			SSL_free(s);
			SSL_CTX_free(ctx);
		}
		close(c);
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

struct cl {
	int connected, closed;
	char got[256];
	size_t glen;
	char reason[512];
	const char *send_on_connect;
	int consume_nothing;
	int shutdown_after_echo;
};

static void cl_connect(struct net *c, void *arg)
{
	struct cl *s = arg;
	s->connected = 1;
	if (s->send_on_connect)
		assert_int_equal(net_send(c, s->send_on_connect, strlen(s->send_on_connect)), 0);
}

static size_t cl_data(struct net *c, const char *d, size_t len, void *arg)
{
	struct cl *s = arg;
	const char *nl;
	if (s->consume_nothing)
		return 0;
	nl = memchr(d, '\n', len);
	if (!nl)
		return 0;
	size_t n = (size_t)(nl - d) + 1;
	if (s->glen + n < sizeof s->got) {
		memcpy(s->got + s->glen, d, n);
		s->glen += n;
		s->got[s->glen] = 0;
	}
	if (s->shutdown_after_echo)
		net_shutdown(c, "done");
	return n;
}

static struct loop *g_lp;

/* P_LINES client: answers every "q N" line with one net_send; records
 * TCP_NODELAY and the write calls that carried the answers. */
struct lines_cl {
	int nodelay, answered;
	unsigned long writes;
	char reason[256];
};

static void lc_connect(struct net *c, void *arg)
{
	struct lines_cl *s = arg;
	int v = 0;
	socklen_t vl = sizeof v;
	assert_int_equal(getsockopt(net_fd(c), IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
	s->nodelay = v;
}

static size_t lc_data(struct net *c, const char *d, size_t len, void *arg)
{
	struct lines_cl *s = arg;
	size_t off = 0;
	const char *nl;
	while ((nl = memchr(d + off, '\n', len - off))) {
		if (strncmp(d + off, "done", 4) == 0) {
			s->writes = net_writes(c);
			net_close(c, "done");
			return len;
		}
		char a[32];
		int al = snprintf(a, sizeof a, "a %.*s", (int)(nl - (d + off)) - 1, d + off + 2);
		assert_int_equal(net_send(c, a, (size_t)al), 0);
		s->answered++;
		off = (size_t)(nl - d) + 1;
	}
	return off;
}

static void lc_close(struct net *c, const char *reason, void *arg)
{
	struct lines_cl *s = arg;
	snprintf(s->reason, sizeof s->reason, "%s", reason);
	net_free(c);
	loop_stop(g_lp);
}

static void cl_close(struct net *c, const char *reason, void *arg)
{
	struct cl *s = arg;
	s->closed++;
	snprintf(s->reason, sizeof s->reason, "%s", reason);
	net_free(c); /* allowed inside on_close */
}

static void cl_close_stop(struct net *c, const char *reason, void *arg)
{
	cl_close(c, reason, arg);
}

static void stopper(struct net *c, const char *reason, void *arg)
{
	cl_close_stop(c, reason, arg);
	loop_stop(g_lp);
}

static void timeout_stop(struct loop *lp, void *arg)
{
	(void)arg;
	loop_stop(lp);
}

static const struct net_callbacks cbs = { cl_connect, cl_data, stopper };

static struct cl run_client(struct net_opts *o, struct cl init, int *immediate_fail,
			    char *err, size_t errlen)
{
	struct cl s = init;
	struct loop *lp = loop_new();
	struct net *c;
	g_lp = lp;
	c = net_connect(lp, o, &cbs, &s, err, errlen);
	*immediate_fail = c == NULL;
	if (c) {
		loop_timer_add(lp, 5000, timeout_stop, NULL);
		loop_run(lp);
	}
	loop_free(lp);
	return s;
}

static void test_plain_echo(void **state)
{
	int port, lfd = listen_any(&port), imm;
	pid_t pid = start_peer(lfd, P_ECHO);
	char err[256];
	struct net_opts o = { .host = "127.0.0.1", .port = port, .tls = 0 };
	struct cl init = { .send_on_connect = "PING :hello\r\n", .shutdown_after_echo = 1 };
	(void)state;
	struct cl s = run_client(&o, init, &imm, err, sizeof err);
	close(lfd);
	reap(pid);
	assert_false(imm);
	assert_int_equal(s.connected, 1);
	assert_string_equal(s.got, "PING :hello\r\n");
	assert_int_equal(s.closed, 1);
	assert_string_equal(s.reason, "done");
}

/* TCP_NODELAY is set (an answer leaves at once), and the answers to the
 * lines of one read leave in one write call, not one per line. */
static void test_nodelay_and_coalescing(void **state)
{
	int port, lfd = listen_any(&port);
	pid_t pid = start_peer(lfd, P_LINES);
	char err[256];
	struct net_opts o = { .host = "127.0.0.1", .port = port, .tls = 0 };
	static const struct net_callbacks lcbs = { lc_connect, lc_data, lc_close };
	struct lines_cl s = { 0 };
	struct loop *lp = loop_new();
	(void)state;
	g_lp = lp;
	struct net *c = net_connect(lp, &o, &lcbs, &s, err, sizeof err);
	assert_non_null(c);
	loop_timer_add(lp, 5000, timeout_stop, NULL);
	loop_run(lp);
	loop_free(lp);
	close(lfd);
	reap(pid);
	assert_string_equal(s.reason, "done");
	assert_int_equal(s.nodelay, 1);
	assert_int_equal(s.answered, NLINES);
	/* One read holds the NLINES lines (one write of 400 bytes on
	 * loopback); allow a split read, never one call per line. */
	assert_true(s.writes >= 1);
	assert_true(s.writes <= 3);
}

static void test_hostile_flood(void **state)
{
	int port, lfd = listen_any(&port), imm;
	pid_t pid = start_peer(lfd, P_FLOOD);
	char err[256];
	struct net_opts o = { .host = "127.0.0.1", .port = port, .rbuf_max = 4096 };
	struct cl init = { .consume_nothing = 1 };
	(void)state;
	struct cl s = run_client(&o, init, &imm, err, sizeof err);
	close(lfd);
	reap(pid);
	assert_int_equal(s.closed, 1);
	assert_non_null(strstr(s.reason, "read buffer full"));
}

static void test_queue_cap_and_refused(void **state)
{
	int port, lfd = listen_any(&port), imm;
	char err[256], big[1000];
	struct loop *lp = loop_new();
	struct cl s = { 0 };
	struct net_opts o = { .host = "127.0.0.1", .port = port, .wq_max = 1024 };
	struct net *c;
	(void)state;
	g_lp = lp;
	c = net_connect(lp, &o, &cbs, &s, err, sizeof err);
	assert_non_null(c);
	memset(big, 'x', sizeof big);
	assert_int_equal(net_send(c, big, sizeof big), 0);
	assert_int_equal(net_send(c, big, 100), -1); /* over the cap: refused */
	assert_int_equal(net_queued(c), sizeof big);
	assert_false(net_is_connected(c));
	net_free(c);
	loop_free(lp);
	close(lfd); /* nothing listens on port now */
	struct cl r = run_client(&o, s, &imm, err, sizeof err);
	if (imm)
		assert_non_null(strstr(err, "cannot connect to 127.0.0.1"));
	else
		assert_non_null(strstr(r.reason, "cannot connect to 127.0.0.1"));
	net_free(NULL);
}

static void test_tls(void **state)
{
	char err[512];
	int port, lfd, imm;
	pid_t pid;
	(void)state;

	/* Trusted through ca_file, name checked: works. */
	lfd = listen_any(&port);
	pid = start_peer(lfd, P_TLS_ECHO);
	struct net_opts o = { .host = "localhost", .port = port, .tls = 1, .ca_file = cert };
	struct cl init = { .send_on_connect = "hello tls\n", .shutdown_after_echo = 1 };
	struct cl s = run_client(&o, init, &imm, err, sizeof err);
	close(lfd);
	reap(pid);
	if (imm)
		fail_msg("%s", err);
	assert_int_equal(s.connected, 1);
	assert_string_equal(s.got, "hello tls\n");
	assert_string_equal(s.reason, "done");

	/* Not trusted (system CAs only): refused with a clear message. */
	lfd = listen_any(&port);
	pid = start_peer(lfd, P_TLS_ECHO);
	o.port = port;
	o.ca_file = NULL;
	s = run_client(&o, init, &imm, err, sizeof err);
	close(lfd);
	reap(pid);
	assert_false(imm);
	assert_int_equal(s.connected, 0);
	if (!strstr(s.reason, "certificate verify failed: self-signed certificate, for "
			      "host localhost") || !strstr(s.reason, "tls_ca_file"))
		fail_msg("reason: %s", s.reason);

	/* Trusted, but the name does not match (cert is for "localhost"). */
	lfd = listen_any(&port);
	pid = start_peer(lfd, P_TLS_ECHO);
	o.port = port;
	o.host = "127.0.0.1";
	o.ca_file = cert;
	s = run_client(&o, init, &imm, err, sizeof err);
	close(lfd);
	reap(pid);
	assert_int_equal(s.connected, 0);
	if (!strstr(s.reason, "certificate verify failed") || !strstr(s.reason, "mismatch"))
		fail_msg("reason: %s", s.reason);

	/* A bad ca_file is an immediate, named error. */
	o.ca_file = "/nonexistent/ca.pem";
	s = run_client(&o, init, &imm, err, sizeof err);
	assert_true(imm);
	assert_non_null(strstr(err, "tls_ca_file /nonexistent/ca.pem"));
}

/* Issue 3: tls = yes against a plain port fails within the handshake
 * timeout with a hint; a plain client answered with TLS gets one too. */
static void test_tls_port_mismatch(void **state)
{
	char err[512];
	int port, lfd, imm;
	pid_t pid;
	(void)state;

	lfd = listen_any(&port);
	pid = start_peer(lfd, P_SILENT);
	struct net_opts o = { .host = "localhost", .port = port, .tls = 1, .ca_file = cert,
			      .connect_timeout_ms = 1000 };
	struct cl init = { .send_on_connect = "hello\n" };
	struct cl s = run_client(&o, init, &imm, err, sizeof err);
	close(lfd);
	reap(pid);
	assert_false(imm);
	assert_int_equal(s.connected, 0);
	if (!strstr(s.reason, "TLS handshake with localhost:") ||
	    !strstr(s.reason, "is this a TLS port? check `port` and `tls`"))
		fail_msg("reason: %s", s.reason);

	lfd = listen_any(&port);
	pid = start_peer(lfd, P_TLS_ALERT);
	struct net_opts p = { .host = "127.0.0.1", .port = port, .tls = 0 };
	s = run_client(&p, init, &imm, err, sizeof err);
	close(lfd);
	reap(pid);
	assert_false(imm);
	if (!strstr(s.reason, "answered with TLS") || !strstr(s.reason, "is this a TLS port?"))
		fail_msg("reason: %s", s.reason);
}

static int setup(void **state)
{
	char cmd[1024];
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
		 "-subj /CN=localhost -addext subjectAltName=DNS:localhost "
		 "-keyout %s -out %s >/dev/null 2>&1", key, cert);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_echo),
		cmocka_unit_test(test_nodelay_and_coalescing),
		cmocka_unit_test(test_hostile_flood),
		cmocka_unit_test(test_queue_cap_and_refused),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_port_mismatch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
