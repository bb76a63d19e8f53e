/* ircnet_int.h - what the files of one IRC network's client share, as
 * curl's urldata.h: struct ircnet and the few helpers ircnet.c lends to
 * the registration (ircreg.c), the questions and answers (ircmsg.c) and
 * the socket adapter (ircsock.c).  Nothing outside bot/irc/ includes it:
 * the rest of faqbot sees ircnet.h only. */
#ifndef FAQBOT_IRCNET_INT_H
#define FAQBOT_IRCNET_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chat.h"
#include "config.h"
#include "irc.h"
#include "ircnet.h"

#define IRCNET_NICK_MAX 64
#define IRCNET_USER_MAX 64
#define IRCNET_HOST_MAX 256
#define IRCNET_CAPREQ_MAX 256
#define IRCNET_REJOIN_SLOTS 16

enum ircnet_state {
	ST_IDLE,        /* created, not connected yet */
	ST_CONNECTING,  /* io->open done, waiting for ircnet_connected */
	ST_REGISTERING, /* CAP / SASL / NICK until 001 */
	ST_REGISTERED,
	ST_WAITING,     /* closed, reconnect at reconnect_at */
	ST_QUITTING,    /* QUIT sent, waiting for the close */
	ST_DONE
};

/* IRCv3 capabilities the client asks for (ircreg.c). */
enum {
	CAP_SASL = 1, CAP_MTAGS = 2, CAP_STIME = 4, CAP_ACCOUNT = 8, CAP_MPREFIX = 16
};

struct ircnet_rejoin {
	char chan[64];
	int64_t at;
};

struct ircinbox;

/* A network's copy of its [irc.NAME] section, in one allocation
 * (irccfg.c): the strings and lists live in the same block. */
struct irccfg {
	struct irccfg *next; /* retired copies */
	size_t size;         /* of the whole block, wiped when freed */
	struct irc_config c;
};

struct ircnet {
	/* The network's own copy of its section (ircnet_new, a reload):
	 * the caller may free what it passed at once.  A copy replaced by a
	 * reload waits in retired until no handler can still read it. */
	const struct irc_config *cfg;
	struct irccfg *box, *retired;
	char name[64];           /* cfg->name, for the logs */
	struct chat_sink sink;   /* where messages go up (chat.h) */
	const struct ircnet_io *io;
	void *io_arg;

	enum ircnet_state st;
	int64_t last_rx;      /* last byte from the server */
	int ping_sent;        /* lag PING out since last_rx */
	int64_t reconnect_at;
	int failures;         /* connections in a row that did not reach 001 */
	uint64_t rng;

	/* registration (ircreg.c) */
	int cap_busy;         /* CAP negotiation open: CAP END still owed */
	int sasl_busy;
	int sasl_offered;
	unsigned caps;        /* enabled */
	int caps_requested, caps_acked;
	char capreq[IRCNET_CAPREQ_MAX];
	int nick_tries;

	/* who we are, for the 512-byte split */
	char nick[IRCNET_NICK_MAX];
	char user[IRCNET_USER_MAX];
	char host[IRCNET_HOST_MAX];

	/* what waits to be sent for users: throttle, window, fairness */
	struct outq *oq;
	unsigned long dropped;
	/* Questions held while the window is closed, as their parsed fields
	 * (ircinbox.h): the lines the server sends behind them, the PONG
	 * included, must still be read. */
	struct ircinbox *inbox;
	unsigned long held_dropped;

	struct ircnet_rejoin rejoin[IRCNET_REJOIN_SLOTS];

	int skipping;         /* dropping the tail of an over-long line */
	char line[IRC_READ_MAX + 1];
	struct chat_reply out;
};

typedef void (*ircnet_handler)(struct ircnet *n, struct irc_msg *m);

/* ---- lent by ircnet.c ---- */
int64_t ircnet_now(struct ircnet *n);
/* xorshift64*: jitter and nick digits only, never security. */
uint32_t ircnet_rnd(struct ircnet *n);
/* Sends one line now, past the queue (registration, PONG, QUIT, PINGs). */
int ircnet_send_raw(struct ircnet *n, const char *line, size_t len);
/* The same for lines made of our own constants and config values only. */
int ircnet_sendf(struct ircnet *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queues a line for the user key (OUTQ_SELF: the bot's own), or sends it
 * at once when nothing waits and the queue allows; 0, or -1 refused. */
int ircnet_enqueue(struct ircnet *n, uint64_t key, const char *line, size_t len);
void ircnet_set_nick(struct ircnet *n, const char *nick);
/* Takes user and host from "nick!user@host". */
void ircnet_learn_mask(struct ircnet *n, const char *mask);
/* JOINs every configured channel (after 001). */
void ircnet_join_all(struct ircnet *n);

/* ---- the config copy: irccfg.c ---- */
/* A deep copy of c in one block; NULL when out of memory. */
struct irccfg *irccfg_dup(const struct irc_config *c);
void irccfg_free(struct irccfg *b); /* accepts NULL; wipes the secrets */

/* ---- registration: ircreg.c ---- */
/* The connection is up: CAP LS 302, NICK, USER. */
void ircreg_begin(struct ircnet *n);
void ircreg_cap(struct ircnet *n, struct irc_msg *m);
void ircreg_authenticate(struct ircnet *n, struct irc_msg *m);
void ircreg_loggedin(struct ircnet *n, struct irc_msg *m);  /* 900 */
void ircreg_sasl_ok(struct ircnet *n, struct irc_msg *m);   /* 903 */
void ircreg_sasl_fail(struct ircnet *n, struct irc_msg *m); /* 902, 904-908 */
void ircreg_nick_err(struct ircnet *n, struct irc_msg *m);  /* 432 433 436 437 */
void ircreg_welcome(struct ircnet *n, struct irc_msg *m);   /* 001 */

/* ---- questions and answers: ircmsg.c ---- */
void ircmsg_privmsg(struct ircnet *n, struct irc_msg *m);
/* Holds a PRIVMSG in the inbox, as its parsed fields. */
void ircmsg_hold(struct ircnet *n, const struct irc_msg *m);
/* Takes the oldest held question and handles it; 0 when none. */
int ircmsg_handle_held(struct ircnet *n);

static inline const char *ircnet_name(const struct ircnet *n)
{
	return n->name;
}

static inline int ircnet_connected_now(const struct ircnet *n)
{
	return n->st == ST_REGISTERING || n->st == ST_REGISTERED;
}

/* Copies len bytes of src, truncated to cap - 1, NUL-terminated. */
static inline void ircnet_copy(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* "CMD p0 [:]p1" through irc_build, which refuses CR/LF and spaces in
 * middle params: the way every user-derived value is sent. */
static inline int ircnet_build(char *out, const char *cmd, int np, const char *p0, const char *p1)
{
	const char *p[2] = { p0, p1 };
	return irc_build(out, IRC_LINE_MAX - 2, cmd, np, p);
}

static inline const char *ircnet_last_param(const struct irc_msg *m)
{
	return m->nparams ? m->params[m->nparams - 1] : "";
}

#endif
