/* net.c - a non-blocking client connection on the loop (net.h): connect
 * to each resolved address in turn, optional TLS through OpenSSL with
 * certificate and host-name verification, a capped read buffer handed to
 * on_data, and a capped write queue.  OpenSSL is loaded (dlopen) and
 * touched only when a TLS connection is made (one SSL_CTX per connection,
 * freed with it): a bot on plain IRC does not map libssl and libcrypto at
 * all (1.7 MiB of its 5 MiB resident).
 * Name resolution uses getaddrinfo and blocks (see net.h). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "log.h"
#include "loop.h"
#include "net.h"

/* ---- OpenSSL, loaded on the first TLS connection ----
 * Every OpenSSL function this file calls goes through the table below,
 * filled from the library named by the headers we compiled against (the
 * macros SSL_CTX_set_mode, SSL_set_tlsext_host_name, ... expand to the
 * _ctrl functions in it).  The table is process-wide state, written once:
 * a library is loaded once per process. */
#define NET_STR2(x) #x
#define NET_STR(x) NET_STR2(x)
#define NET_LIBSSL "libssl.so." NET_STR(OPENSSL_VERSION_MAJOR)

#define NET_OSSL(X) \
	X(ERR_clear_error) X(ERR_error_string_n) X(ERR_get_error) X(ERR_peek_error) \
	X(SSL_CTX_check_private_key) X(SSL_CTX_ctrl) X(SSL_CTX_free) \
	X(SSL_CTX_load_verify_locations) X(SSL_CTX_new) X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_set_verify) X(SSL_CTX_use_PrivateKey_file) \
	X(SSL_CTX_use_certificate_chain_file) X(SSL_connect) X(SSL_ctrl) X(SSL_free) \
	X(SSL_get0_param) X(SSL_get_error) X(SSL_get_verify_result) X(SSL_new) X(SSL_read) \
	X(SSL_set1_host) X(SSL_set_fd) X(SSL_shutdown) X(SSL_write) X(TLS_client_method) \
	X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_verify_cert_error_string)

static struct {
	int loaded;
#define NET_OSSL_FIELD(f) __typeof__(&f) f;
	NET_OSSL(NET_OSSL_FIELD)
#undef NET_OSSL_FIELD
} ossl;

/* 0 once OpenSSL is loaded; -1 with err filled. */
static int ossl_load(char *err, size_t errlen)
{
	void *h;
	if (ossl.loaded)
		return 0;
	if (!(h = dlopen(NET_LIBSSL, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(err, errlen, "cannot load OpenSSL for TLS (%s): %s; install the "
			 "libssl3 package", NET_LIBSSL, dlerror());
		return -1;
	}
	/* dlsym on libssl's handle also finds libcrypto's functions (ERR_,
	 * X509_): it searches the library's dependencies too. */
#define NET_OSSL_SYM(f) \
	if (!(*(void **)&ossl.f = dlsym(h, #f))) { \
		snprintf(err, errlen, "cannot use OpenSSL (%s): %s is missing", NET_LIBSSL, #f); \
		dlclose(h); \
		return -1; \
	}
	NET_OSSL(NET_OSSL_SYM)
#undef NET_OSSL_SYM
	ossl.loaded = 1; /* never closed: SSL objects may outlive any one net */
	return 0;
}

/* From here on, every OpenSSL call goes through the table. */
#define ERR_clear_error (ossl.ERR_clear_error)
#define ERR_error_string_n (ossl.ERR_error_string_n)
#define ERR_get_error (ossl.ERR_get_error)
#define ERR_peek_error (ossl.ERR_peek_error)
#define SSL_CTX_check_private_key (ossl.SSL_CTX_check_private_key)
#define SSL_CTX_ctrl (ossl.SSL_CTX_ctrl)
#define SSL_CTX_free (ossl.SSL_CTX_free)
#define SSL_CTX_load_verify_locations (ossl.SSL_CTX_load_verify_locations)
#define SSL_CTX_new (ossl.SSL_CTX_new)
#define SSL_CTX_set_default_verify_paths (ossl.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_verify (ossl.SSL_CTX_set_verify)
#define SSL_CTX_use_PrivateKey_file (ossl.SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_use_certificate_chain_file (ossl.SSL_CTX_use_certificate_chain_file)
#define SSL_connect (ossl.SSL_connect)
#define SSL_ctrl (ossl.SSL_ctrl)
#define SSL_free (ossl.SSL_free)
#define SSL_get0_param (ossl.SSL_get0_param)
#define SSL_get_error (ossl.SSL_get_error)
#define SSL_get_verify_result (ossl.SSL_get_verify_result)
#define SSL_new (ossl.SSL_new)
#define SSL_read (ossl.SSL_read)
#define SSL_set1_host (ossl.SSL_set1_host)
#define SSL_set_fd (ossl.SSL_set_fd)
#define SSL_shutdown (ossl.SSL_shutdown)
#define SSL_write (ossl.SSL_write)
#define TLS_client_method (ossl.TLS_client_method)
#define X509_VERIFY_PARAM_set1_ip_asc (ossl.X509_VERIFY_PARAM_set1_ip_asc)
#define X509_verify_cert_error_string (ossl.X509_verify_cert_error_string)

enum nstate { NS_CONNECTING, NS_HANDSHAKE, NS_OPEN, NS_SHUTDOWN, NS_CLOSED };

struct net {
	struct loop *lp;
	struct net_callbacks cb;
	void *arg;
	enum nstate st;
	int fd;
	char host[256];
	int port;
	int tls;
	struct addrinfo *ai, *ai_next;
	char last_err[160];     /* why the previous address failed */
	SSL_CTX *ctx;
	SSL *ssl;
	int ssl_read_wants_write, ssl_write_wants_read;
	char *rbuf;
	size_t rlen, rmax;
	struct buf wq;   /* write queue, capped at wq_max; sent up to woff */
	size_t woff;
	int timeout_ms;
	int hs_ms;              /* TLS handshake timeout (NET_HANDSHAKE_MS at most) */
	long timer;
	char close_reason[768];
	int in_cb;              /* depth of calls into the user's callbacks */
	int free_pending;       /* net_free was called inside a callback */
	int quiet;              /* inside net_connect: no on_close yet */
	int batching;           /* inside on_data: net_send only queues */
	unsigned long writes;   /* send(2) / SSL_write calls (net_writes) */
};

static void on_fd(struct loop *lp, int fd, unsigned ev, void *arg);
static void try_next_address(struct net *c);

static void cancel_timer(struct net *c)
{
	if (c->timer > 0)
		loop_timer_cancel(c->lp, c->timer);
	c->timer = 0;
}

static void release(struct net *c)
{
	cancel_timer(c);
	if (c->fd >= 0) {
		loop_unwatch(c->lp, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
}

/* Ends the connection; on_close runs once unless the user is freeing. */
static void finish(struct net *c, const char *reason)
{
	if (c->st == NS_CLOSED)
		return;
	c->st = NS_CLOSED;
	release(c);
	if (c->quiet) {
		snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
		return;
	}
	if (c->free_pending || !c->cb.on_close)
		return;
	c->in_cb++;
	c->cb.on_close(c, reason, c->arg);
	c->in_cb--;
}

static void really_free(struct net *c)
{
	release(c);
	if (c->ai)
		freeaddrinfo(c->ai);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	free(c->rbuf);
	buf_free(&c->wq);
	free(c);
}

/* After an entry from the loop: honour a net_free made inside a callback. */
static void leave(struct net *c)
{
	if (--c->in_cb == 0 && c->free_pending)
		really_free(c);
}

static void update_watch(struct net *c)
{
	unsigned ev = 0;
	if (c->fd < 0)
		return;
	switch (c->st) {
	case NS_CONNECTING:
		ev = LOOP_WRITE;
		break;
	case NS_HANDSHAKE:
		ev = c->ssl_read_wants_write ? LOOP_WRITE : LOOP_READ;
		break;
	case NS_OPEN:
	case NS_SHUTDOWN:
		ev = LOOP_READ;
		/* In SHUTDOWN the writable event is what finishes the close. */
		if (c->wq.len > c->woff || c->ssl_read_wants_write || c->st == NS_SHUTDOWN)
			ev |= LOOP_WRITE;
		break;
	case NS_CLOSED:
		return;
	}
	if (loop_watch(c->lp, c->fd, ev, on_fd, c) < 0)
		finish(c, "too many open connections");
}

/* The OpenSSL error queue as one readable phrase. */
static void ssl_errstr(char *buf, size_t len)
{
	unsigned long e = ERR_get_error(), last = e;
	while (e) {
		last = e;
		e = ERR_get_error();
	}
	if (last)
		ERR_error_string_n(last, buf, len);
	else
		snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
}

#define NET_TLS_HINT ": is this a TLS port? check `port` and `tls`"
/* TLS handshake, at most (a plain-text port never answers it). */
#define NET_HANDSHAKE_MS 10000

static void tls_fail(struct net *c, const char *what)
{
	char e[200], reason[sizeof c->close_reason];
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;

	if (vr != X509_V_OK) {
		ERR_clear_error();
		snprintf(reason, sizeof reason, "certificate verify failed: %s, for host "
			 "%s - set tls_ca_file to the CA that signed the server's "
			 "certificate, or check the server name",
			 X509_verify_cert_error_string(vr), c->host);
	} else {
		ssl_errstr(e, sizeof e);
		/* A plain-text port answers a ClientHello with an IRC line or
		 * a close: say what to check, not only OpenSSL's words. */
		snprintf(reason, sizeof reason, "TLS %s with %s:%d failed: %s%s", what,
			 c->host, c->port, e, c->st == NS_HANDSHAKE ? NET_TLS_HINT : "");
	}
	finish(c, reason);
}

static int tls_setup_ctx(struct net *c, const struct net_opts *o, char *err, size_t errlen)
{
	char e[200];

	if (ossl_load(err, errlen) < 0)
		return -1;
	/* OpenSSL >= 1.1 initialises itself on this first call: nothing of
	 * it is set up in a process that never makes a TLS connection. */
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		ssl_errstr(e, sizeof e);
		snprintf(err, errlen, "cannot set up TLS: %s", e);
		return -1;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (o->ca_file) {
		if (SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1) {
			ssl_errstr(e, sizeof e);
			snprintf(err, errlen, "tls_ca_file %s: cannot load it (%s); it must "
				 "be a PEM file of CA certificates", o->ca_file, e);
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		ssl_errstr(e, sizeof e);
		snprintf(err, errlen, "cannot load the system CA store (%s); install "
			 "ca-certificates or set tls_ca_file", e);
		return -1;
	}
	if (o->client_cert) {
		const char *key = o->client_key ? o->client_key : o->client_cert;
		if (SSL_CTX_use_certificate_chain_file(c->ctx, o->client_cert) != 1) {
			ssl_errstr(e, sizeof e);
			snprintf(err, errlen, "client_cert %s: cannot load it (%s); it "
				 "must be a PEM certificate", o->client_cert, e);
			return -1;
		}
		if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c->ctx) != 1) {
			ssl_errstr(e, sizeof e);
			snprintf(err, errlen, "client_key %s: cannot load it or it does not "
				 "match client_cert (%s)", key, e);
			return -1;
		}
	}
	return 0;
}

static void on_timeout(struct loop *lp, void *arg);

static void tls_start(struct net *c)
{
	unsigned char buf[sizeof(struct in6_addr)];
	int is_ip = inet_pton(AF_INET, c->host, buf) == 1 ||
		    inet_pton(AF_INET6, c->host, buf) == 1;

	ERR_clear_error();
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_fail(c, "setup");
		return;
	}
	if (is_ip) {
		/* No SNI for an address (RFC 6066); check it against the SANs. */
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, c->host) != 1) {
			tls_fail(c, "setup");
			return;
		}
	} else if (SSL_set_tlsext_host_name(c->ssl, c->host) != 1 ||
		   SSL_set1_host(c->ssl, c->host) != 1) {
		tls_fail(c, "setup");
		return;
	}
	c->st = NS_HANDSHAKE;
	cancel_timer(c);
	c->hs_ms = c->timeout_ms < NET_HANDSHAKE_MS ? c->timeout_ms : NET_HANDSHAKE_MS;
	c->timer = loop_timer_add(c->lp, c->hs_ms, on_timeout, c);
}

static void on_timeout(struct loop *lp, void *arg)
{
	struct net *c = arg;
	char reason[sizeof c->close_reason];
	(void)lp;
	c->timer = 0;
	c->in_cb++;
	if (c->st == NS_SHUTDOWN) {
		finish(c, c->close_reason);
	} else if (c->st == NS_HANDSHAKE) {
		snprintf(reason, sizeof reason, "TLS handshake with %s:%d failed (no answer "
			 "within %d s)" NET_TLS_HINT, c->host, c->port, (c->hs_ms + 999) / 1000);
		finish(c, reason);
	} else if (c->st == NS_CONNECTING) {
		snprintf(reason, sizeof reason, "connection to %s:%d timed out after "
			 "%d s", c->host, c->port, c->timeout_ms / 1000);
		finish(c, reason);
	}
	leave(c);
}

static void connected(struct net *c)
{
	cancel_timer(c);
	c->st = NS_OPEN;
	update_watch(c);
	if (c->cb.on_connect) {
		c->cb.on_connect(c, c->arg);
	}
}

static void do_handshake(struct net *c)
{
	int r, e;
	ERR_clear_error();
	r = SSL_connect(c->ssl);
	if (r == 1) {
		c->ssl_read_wants_write = 0;
		connected(c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->ssl_read_wants_write = e == SSL_ERROR_WANT_WRITE;
		update_watch(c);
		return;
	}
	tls_fail(c, "handshake");
}

/* Writes queued bytes until the socket would block. */
static void do_flush(struct net *c)
{
	while (c->wq.len > c->woff && c->st != NS_CLOSED) {
		size_t n = c->wq.len - c->woff;
		ssize_t w;
		if (c->ssl) {
			int r, e;
			ERR_clear_error();
			r = SSL_write(c->ssl, c->wq.p + c->woff, n > 65536 ? 65536 : (int)n);
			c->writes++;
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE)
					break;
				if (e == SSL_ERROR_WANT_READ) {
					c->ssl_write_wants_read = 1;
					break;
				}
				tls_fail(c, "write");
				return;
			}
			c->ssl_write_wants_read = 0;
			w = r;
		} else {
			w = send(c->fd, c->wq.p + c->woff, n, MSG_NOSIGNAL);
			c->writes++;
			if (w < 0) {
				char reason[768];
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					break;
				snprintf(reason, sizeof reason, "write to %s:%d failed: %s",
					 c->host, c->port, strerror(errno));
				finish(c, reason);
				return;
			}
		}
		c->woff += (size_t)w;
	}
	if (c->woff == c->wq.len) {
		c->woff = 0;
		buf_reset(&c->wq);
	}
	if (c->st == NS_SHUTDOWN && c->wq.len == 0) {
		if (c->ssl)
			SSL_shutdown(c->ssl); /* best effort close_notify */
		finish(c, c->close_reason);
		return;
	}
	update_watch(c);
}

/* The peer may delay its next small write (Nagle) until we ACK; a
 * delayed ACK would hold it up to 40 ms.  Linux clears QUICKACK by
 * itself, so it is set again after every read. */
static void quickack(struct net *c)
{
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* One non-blocking send(2) of the whole plain-TCP queue; errors are left
 * for the loop's next writable event (do_flush reports them). */
static void write_now(struct net *c)
{
	ssize_t w = send(c->fd, c->wq.p + c->woff, c->wq.len - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT);
	c->writes++;
	if (w > 0)
		c->woff += (size_t)w;
	if (c->woff == c->wq.len) {
		c->woff = 0;
		buf_reset(&c->wq);
	}
}

/* Reads what is available and hands it to on_data.  Returns -1 when the
 * connection ended. */
static int do_read(struct net *c)
{
	for (int rounds = 0; rounds < 64 && c->st != NS_CLOSED; rounds++) {
		ssize_t n;
		size_t room = c->rmax - c->rlen;
		char reason[768];

		if (room == 0) {
			finish(c, "read buffer full: the peer sent more than the buffer "
			       "holds without the consumer taking it");
			return -1;
		}
		if (c->ssl) {
			int r, e;
			ERR_clear_error();
			r = SSL_read(c->ssl, c->rbuf + c->rlen, room > 65536 ? 65536 : (int)room);
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ) {
					/* A read that wanted a write and now waits
					 * for data must stop asking for writable
					 * events, or the loop spins. */
					if (c->ssl_read_wants_write) {
						c->ssl_read_wants_write = 0;
						update_watch(c);
					}
					return 0;
				}
				if (e == SSL_ERROR_WANT_WRITE) {
					c->ssl_read_wants_write = 1;
					update_watch(c);
					return 0;
				}
				if (e == SSL_ERROR_ZERO_RETURN ||
				    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
					snprintf(reason, sizeof reason, "connection closed by "
						 "%s:%d", c->host, c->port);
					finish(c, reason);
					return -1;
				}
				tls_fail(c, "read");
				return -1;
			}
			c->ssl_read_wants_write = 0;
			n = r;
		} else {
			n = recv(c->fd, c->rbuf + c->rlen, room, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return 0;
				snprintf(reason, sizeof reason, "read from %s:%d failed: %s",
					 c->host, c->port, strerror(errno));
				finish(c, reason);
				return -1;
			}
			if (n == 0) {
				snprintf(reason, sizeof reason, "connection closed by %s:%d",
					 c->host, c->port);
				finish(c, reason);
				return -1;
			}
		}
		if (!c->ssl)
			quickack(c);
		/* A TLS record (alert 0x15 or handshake 0x16, version 3.x) on
		 * a plain connection: the port speaks TLS. */
		if (!c->ssl && c->rlen == 0 && n >= 2 && (c->rbuf[0] == 0x15 || c->rbuf[0] == 0x16) &&
		    c->rbuf[1] == 0x03) {
			snprintf(reason, sizeof reason, "%s:%d answered with TLS on a plain "
				 "connection: is this a TLS port? check `port` and `tls`",
				 c->host, c->port);
			finish(c, reason);
			return -1;
		}
		c->rlen += (size_t)n;
		if (c->cb.on_data) {
			size_t used;
			/* Every answer to this chunk goes out in one send(2)
			 * after it, not one segment per line. */
			c->batching = 1;
			used = c->cb.on_data(c, c->rbuf, c->rlen, c->arg);
			c->batching = 0;
			if (c->st == NS_CLOSED || c->free_pending)
				return -1;
			if (c->wq.len > c->woff && !c->ssl)
				write_now(c);
			if (used > c->rlen)
				used = c->rlen;
			memmove(c->rbuf, c->rbuf + used, c->rlen - used);
			c->rlen -= used;
		} else {
			c->rlen = 0;
		}
		/* A plain socket with a short read is drained; TLS may still
		 * hold decrypted bytes, so it loops until WANT_READ. */
		if (!c->ssl && (size_t)n < room)
			return 0;
	}
	return 0;
}

static void on_fd(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct net *c = arg;
	(void)lp;
	(void)fd;
	c->in_cb++;
	switch (c->st) {
	case NS_CONNECTING: {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			snprintf(c->last_err, sizeof c->last_err, "%s", strerror(soerr));
			loop_unwatch(c->lp, c->fd);
			close(c->fd);
			c->fd = -1;
			try_next_address(c);
			break;
		}
		if (c->tls) {
			tls_start(c);
			if (c->st == NS_HANDSHAKE)
				do_handshake(c);
		} else {
			connected(c);
		}
		break;
	}
	case NS_HANDSHAKE:
		do_handshake(c);
		break;
	case NS_OPEN:
	case NS_SHUTDOWN:
		if (ev & (LOOP_READ | LOOP_ERROR) || c->ssl_read_wants_write)
			if (do_read(c) < 0)
				break;
		if (c->st != NS_CLOSED && !c->free_pending &&
		    (ev & LOOP_WRITE || c->ssl_write_wants_read || c->wq.len > c->woff ||
		     c->st == NS_SHUTDOWN))
			do_flush(c);
		break;
	case NS_CLOSED:
		break;
	}
	leave(c);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Starts a connect to the next address; finishes with the last error
 * when none is left. */
static void try_next_address(struct net *c)
{
	while (c->ai_next) {
		struct addrinfo *a = c->ai_next;
		int one = 1;
		c->ai_next = a->ai_next;
		c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (c->fd < 0) {
			snprintf(c->last_err, sizeof c->last_err, "%s", strerror(errno));
			continue;
		}
		set_nonblock(c->fd);
		/* Answers are single short lines: send them at once. */
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			snprintf(c->last_err, sizeof c->last_err, "%s", strerror(errno));
			close(c->fd);
			c->fd = -1;
			continue;
		}
		c->st = NS_CONNECTING;
		update_watch(c);
		return;
	}
	{
		char reason[sizeof c->close_reason];
		snprintf(reason, sizeof reason, "cannot connect to %s:%d: %s", c->host,
			 c->port, c->last_err[0] ? c->last_err : "no address");
		finish(c, reason);
	}
}

struct net *net_connect(struct loop *lp, const struct net_opts *o,
			const struct net_callbacks *cb, void *arg,
			char *err, size_t errlen)
{
	struct addrinfo hints;
	char port[16];
	struct net *c;
	int r;

	if (!lp || !o || !o->host || !cb || o->port <= 0 || o->port > 65535) {
		snprintf(err, errlen, "net_connect: bad arguments");
		return NULL;
	}
	if (strlen(o->host) >= sizeof c->host) {
		snprintf(err, errlen, "host name too long");
		return NULL;
	}
	if (!(c = calloc(1, sizeof *c))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->lp = lp;
	c->cb = *cb;
	c->arg = arg;
	c->fd = -1;
	c->st = NS_CONNECTING;
	snprintf(c->host, sizeof c->host, "%s", o->host);
	c->port = o->port;
	c->tls = o->tls;
	c->rmax = o->rbuf_max ? o->rbuf_max : NET_RBUF_DEFAULT;
	buf_init(&c->wq, o->wq_max ? o->wq_max : NET_WQ_DEFAULT);
	c->timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 30000;
	if (!(c->rbuf = malloc(c->rmax))) {
		snprintf(err, errlen, "out of memory");
		goto bad;
	}
	if (c->tls && tls_setup_ctx(c, o, err, errlen) < 0)
		goto bad;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof port, "%d", o->port);
	r = getaddrinfo(o->host, port, &hints, &c->ai);
	if (r != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", o->host,
			 r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		goto bad;
	}
	c->ai_next = c->ai;
	c->timer = loop_timer_add(lp, c->timeout_ms, on_timeout, c);
	/* A connect failing at once must not call on_close before the caller
	 * even holds c: defer that to the loop with the watcher's error. */
	c->quiet = 1;
	try_next_address(c);
	c->quiet = 0;
	if (c->st == NS_CLOSED) {
		snprintf(err, errlen, "%s", c->close_reason[0] ? c->close_reason :
			 "cannot connect");
		goto bad;
	}
	return c;
bad:
	c->free_pending = 0;
	really_free(c);
	return NULL;
}

int net_send(struct net *c, const void *data, size_t len)
{
	if (!c || (c->st != NS_OPEN && c->st != NS_CONNECTING && c->st != NS_HANDSHAKE))
		return -1;
	if (c->wq.len - c->woff + len > c->wq.max)
		return -1;
	/* The bytes already written go when room is needed, not at each
	 * partial write. */
	if (c->woff && (c->wq.len + len + 1 > c->wq.cap || c->wq.len + len > c->wq.max)) {
		buf_consume(&c->wq, c->woff);
		c->woff = 0;
	}
	if (buf_add(&c->wq, data, len) < 0) {
		c->wq.err = 0; /* nothing was queued; the next send may fit */
		return -1;
	}
	if (c->st == NS_OPEN && !c->batching) {
		/* Write at once when possible: the latency of an answer is one
		 * send(2), not one more poll round.  Errors surface through the
		 * loop, so on_close never runs inside net_send.  Inside on_data
		 * the bytes wait for the end of the chunk (do_read). */
		if (!c->ssl)
			write_now(c);
		update_watch(c);
	}
	return 0;
}

size_t net_queued(const struct net *c)
{
	return c ? c->wq.len - c->woff : 0;
}

int net_is_connected(const struct net *c)
{
	return c && c->st == NS_OPEN;
}

int net_fd(const struct net *c)
{
	return c ? c->fd : -1;
}

unsigned long net_writes(const struct net *c)
{
	return c ? c->writes : 0;
}

void net_shutdown(struct net *c, const char *reason)
{
	if (!c || c->st == NS_CLOSED || c->st == NS_SHUTDOWN)
		return;
	snprintf(c->close_reason, sizeof c->close_reason, "%s",
		 reason ? reason : "closed");
	if (c->st != NS_OPEN) {
		net_close(c, c->close_reason);
		return;
	}
	c->st = NS_SHUTDOWN;
	cancel_timer(c);
	c->timer = loop_timer_add(c->lp, 2000, on_timeout, c);
	update_watch(c); /* the next writable event flushes and finishes */
}

void net_close(struct net *c, const char *reason)
{
	char r[sizeof c->close_reason];
	if (!c || c->st == NS_CLOSED)
		return;
	snprintf(r, sizeof r, "%s", reason ? reason : "closed");
	c->in_cb++;
	finish(c, r);
	leave(c);
}

void net_free(struct net *c)
{
	if (!c)
		return;
	if (c->in_cb > 0) {
		/* Inside one of our callbacks: stop everything now, free when
		 * the callback returns to us. */
		c->free_pending = 1;
		c->st = NS_CLOSED;
		release(c);
		return;
	}
	really_free(c);
}
