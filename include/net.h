/* net.h - one non-blocking client connection on the loop: TCP, optionally
 * TLS (OpenSSL), with a capped read buffer and a capped write queue.
 * OpenSSL is initialised lazily, only when the first TLS connection is
 * made, so a bot on plain IRC does not pay for it.  Knows nothing of IRC:
 * it moves bytes. */
#ifndef FAQBOT_NET_H
#define FAQBOT_NET_H

#include <stddef.h>

struct loop;
struct net;

#define NET_RBUF_DEFAULT 16384     /* read buffer cap */
#define NET_WQ_DEFAULT (256 * 1024) /* write queue cap */

struct net_opts {
	const char *host;        /* name or address; also TLS SNI + check */
	int port;
	int tls;                 /* 1: TLS with verification, 0: plain TCP */
	const char *ca_file;     /* PEM CA bundle; NULL: system CA paths */
	const char *client_cert; /* PEM, for SASL EXTERNAL; NULL: none */
	const char *client_key;  /* PEM; NULL: the key is in client_cert */
	size_t rbuf_max;         /* 0: NET_RBUF_DEFAULT */
	size_t wq_max;           /* 0: NET_WQ_DEFAULT */
	int connect_timeout_ms;  /* TCP + TLS handshake; 0: 30000 */
};

struct net_callbacks {
	/* TCP connected and, with TLS, handshake done and peer verified. */
	void (*on_connect)(struct net *c, void *arg);
	/* Bytes received: data holds everything not consumed so far plus the
	 * new bytes.  Returns how many bytes (from the front) it consumed;
	 * the rest stays for the next call.  When len reached the read
	 * buffer's cap and nothing is consumed, the connection is closed
	 * ("read buffer full"): a consumer that wants to skip an over-long
	 * line must consume it.  So a hostile peer never grows memory. */
	size_t (*on_data)(struct net *c, const char *data, size_t len, void *arg);
	/* Called exactly once, when the connection is over for any reason
	 * (connect failure, TLS error, peer closed, write queue overflow,
	 * net_close).  reason is a readable English sentence, e.g.
	 * "certificate verify failed: self-signed certificate, for host
	 * irc.example.org - set tls_ca_file".  After it, no callback runs
	 * again; the caller still calls net_free (it may do so inside
	 * on_close or any other callback). */
	void (*on_close)(struct net *c, const char *reason, void *arg);
};

/* Starts connecting.  Name resolution (getaddrinfo) blocks: acceptable for
 * the host named in the config at (re)connect time, and documented here
 * for that reason.  Every address is tried in turn.  NULL with err filled
 * on an immediate error (no address, bad certificate file, ...); later
 * errors arrive through on_close. */
struct net *net_connect(struct loop *lp, const struct net_opts *o,
			const struct net_callbacks *cb, void *arg,
			char *err, size_t errlen);

/* Queues bytes for sending.  0, or -1 when the connection is closed or the
 * write queue would exceed its cap (nothing is queued then). */
int net_send(struct net *c, const void *data, size_t len);
/* Bytes queued and not yet written to the socket. */
size_t net_queued(const struct net *c);
/* 1 once on_connect ran and until the connection closes. */
int net_is_connected(const struct net *c);
/* The socket, or -1 (for tests and status: TCP_NODELAY is set on it). */
int net_fd(const struct net *c);
/* send(2) / SSL_write calls made so far.  Bytes queued by net_send from
 * inside on_data leave in one call after on_data returns (one TCP segment
 * for every answer to a read, not one per line), so a test can check the
 * coalescing. */
unsigned long net_writes(const struct net *c);

/* Closes after the queued bytes are written (or after 2 s), then calls
 * on_close(reason).  For QUIT. */
void net_shutdown(struct net *c, const char *reason);
/* Closes now, then calls on_close(reason) (unless already closed). */
void net_close(struct net *c, const char *reason);
/* Closes silently (no on_close) and frees.  Accepts NULL.  Safe inside
 * this connection's own callbacks (the free is deferred until they
 * return). */
void net_free(struct net *c);

#endif
