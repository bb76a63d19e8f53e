/* ircreg.c - registering with an IRC server: CAP LS 302 negotiation,
 * SASL (PLAIN, EXTERNAL; IRCv3 sasl-3.1) and the nick fallback when ours
 * is taken, until 001.  The connection, the queue and the other commands
 * are ircnet.c's; this file only answers the registration's lines. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ircnet_int.h"
#include "log.h"

/* Nick attempts during one registration before giving up and
 * reconnecting (alt_nicks first, then nick + digits). */
#define NICK_TRIES_EXTRA 20
/* SASL (IRCv3 sasl-3.1): AUTHENTICATE payloads in 400-byte chunks. */
#define SASL_CHUNK 400
#define SASL_RAW_MAX 1024

/* The capabilities asked for when offered, and their bits in n->caps. */
static const struct {
	const char *name;
	unsigned bit;
} wanted_caps[] = {
	{ "sasl", CAP_SASL },
	{ "message-tags", CAP_MTAGS },
	{ "server-time", CAP_STIME },
	{ "account-tag", CAP_ACCOUNT },
	{ "multi-prefix", CAP_MPREFIX },
};

void ircreg_begin(struct ircnet *n)
{
	const struct irc_config *c = n->cfg;
	n->cap_busy = 1;
	n->sasl_busy = 0;
	n->sasl_offered = 0;
	n->caps = 0;
	n->caps_requested = n->caps_acked = 0;
	n->capreq[0] = '\0';
	n->nick_tries = 0;
	/* CAP LS 302 first: the server holds registration until CAP END, so
	 * NICK/USER can follow at once (a server without CAP just ignores
	 * it and registers us). */
	ircnet_sendf(n, "CAP LS 302");
	char line[IRC_LINE_MAX];
	int len = ircnet_build(line, "NICK", 1, c->nick, NULL);
	if (len >= 0)
		ircnet_send_raw(n, line, (size_t)len);
	const char *user = c->username ? c->username : c->nick;
	const char *p[4] = { user, "0", "*", c->realname ? c->realname : "faqbot" };
	len = irc_build(line, IRC_LINE_MAX - 2, "USER", 4, p);
	if (len >= 0)
		ircnet_send_raw(n, line, (size_t)len);
	else
		log_error("[%s] username/realname cannot be sent (spaces or control characters?)", ircnet_name(n));
}

static void cap_end(struct ircnet *n)
{
	if (!n->cap_busy)
		return;
	n->cap_busy = 0;
	ircnet_sendf(n, "CAP END");
}

static const char *mech_name(enum sasl_mech m)
{
	return m == SASL_PLAIN ? "PLAIN" : m == SASL_EXTERNAL ? "EXTERNAL" : "none";
}

static size_t base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* IRCv3 sasl-3.1: the base64 payload goes in 400-byte AUTHENTICATE
 * chunks; when the last chunk is exactly 400 bytes (or the payload is
 * empty), an "AUTHENTICATE +" ends it. */
static void sasl_send_payload(struct ircnet *n, const unsigned char *raw, size_t len)
{
	char b64[(SASL_RAW_MAX + 2) / 3 * 4 + 1];
	size_t blen = base64(raw, len, b64);
	size_t off = 0;
	while (off < blen) {
		size_t k = blen - off > SASL_CHUNK ? SASL_CHUNK : blen - off;
		ircnet_sendf(n, "AUTHENTICATE %.*s", (int)k, b64 + off);
		off += k;
	}
	if (blen % SASL_CHUNK == 0)
		ircnet_sendf(n, "AUTHENTICATE +");
}

static void sasl_start(struct ircnet *n)
{
	const struct irc_config *c = n->cfg;
	if (c->sasl_mechanism == SASL_PLAIN && !c->tls && !c->allow_plaintext_password) {
		log_error("[%s] SASL PLAIN over plain TCP would send the password in clear: not "
		          "authenticating (set tls = yes, or allow_plaintext_password = yes)",
		          ircnet_name(n));
		cap_end(n);
		return;
	}
	n->sasl_busy = 1;
	log_info("[%s] SASL %s: authenticating as %s", ircnet_name(n), mech_name(c->sasl_mechanism),
	         c->sasl_username ? c->sasl_username : c->nick);
	ircnet_sendf(n, "AUTHENTICATE %s", mech_name(c->sasl_mechanism));
}

static void sasl_continue(struct ircnet *n)
{
	const struct irc_config *c = n->cfg;
	if (c->sasl_mechanism == SASL_EXTERNAL) {
		/* The certificate is the credential: an empty payload. */
		sasl_send_payload(n, NULL, 0);
		return;
	}
	/* PLAIN (RFC 4616): authzid NUL authcid NUL password. */
	const char *user = c->sasl_username ? c->sasl_username : c->nick;
	const char *pass = c->sasl_password ? c->sasl_password : "";
	size_t ul = strlen(user), pl = strlen(pass);
	unsigned char raw[SASL_RAW_MAX];
	if (2 * ul + pl + 2 > sizeof raw) {
		log_error("[%s] SASL PLAIN: sasl_username/sasl_password too long; aborting SASL",
		          ircnet_name(n));
		ircnet_sendf(n, "AUTHENTICATE *");
		return;
	}
	memcpy(raw, user, ul);
	raw[ul] = 0;
	memcpy(raw + ul + 1, user, ul);
	raw[2 * ul + 1] = 0;
	memcpy(raw + 2 * ul + 2, pass, pl);
	sasl_send_payload(n, raw, 2 * ul + 2 + pl);
	memset(raw, 0, sizeof raw);
}
void ircreg_cap(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams < 3)
		return;
	const char *sub = m->params[1];
	/* CAP LS 302 may span lines: "CAP * LS * :a b" then "CAP * LS :c". */
	int more = m->nparams >= 4 && strcmp(m->params[2], "*") == 0;
	const char *list = ircnet_last_param(m);
	char buf[IRC_LINE_MAX];
	ircnet_copy(buf, sizeof buf, list, strlen(list));
	if (strcmp(sub, "LS") == 0 && n->cap_busy) {
		for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *val = strchr(tok, '=');
			if (val)
				*val++ = '\0';
			for (size_t i = 0; i < sizeof wanted_caps / sizeof *wanted_caps; i++) {
				if (strcmp(tok, wanted_caps[i].name) != 0)
					continue;
				if (wanted_caps[i].bit == CAP_SASL) {
					if (n->cfg->sasl_mechanism == SASL_NONE)
						break;
					n->sasl_offered = 1;
					if (val && !strstr(val, mech_name(n->cfg->sasl_mechanism))) {
						log_error("[%s] server offers SASL mechanisms %s, not %s: not authenticating",
						          ircnet_name(n), val, mech_name(n->cfg->sasl_mechanism));
						break;
					}
				}
				size_t have = strlen(n->capreq), k = strlen(tok);
				if (have + k + 2 < sizeof n->capreq) {
					if (have)
						n->capreq[have++] = ' ';
					memcpy(n->capreq + have, tok, k + 1);
					n->caps_requested++;
				}
			}
		}
		if (more)
			return;
		if (n->cfg->sasl_mechanism != SASL_NONE && !n->sasl_offered)
			log_error("[%s] SASL %s is configured but the server does not offer SASL: continuing "
			          "without an account (are services linked?)",
			          ircnet_name(n), mech_name(n->cfg->sasl_mechanism));
		if (n->caps_requested) {
			log_info("[%s] requesting capabilities: %s", ircnet_name(n), n->capreq);
			ircnet_sendf(n, "CAP REQ :%s", n->capreq);
		} else {
			cap_end(n);
		}
	} else if (strcmp(sub, "ACK") == 0) {
		for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			int off = tok[0] == '-';
			for (size_t i = 0; i < sizeof wanted_caps / sizeof *wanted_caps; i++)
				if (strcmp(tok + off, wanted_caps[i].name) == 0) {
					if (off)
						n->caps &= ~wanted_caps[i].bit;
					else
						n->caps |= wanted_caps[i].bit;
				}
			n->caps_acked++;
		}
		log_info("[%s] capabilities enabled: %s", ircnet_name(n), list);
		if (!n->cap_busy || n->sasl_busy || n->caps_acked < n->caps_requested)
			return;
		if ((n->caps & CAP_SASL) && n->cfg->sasl_mechanism != SASL_NONE)
			sasl_start(n);
		else
			cap_end(n);
	} else if (strcmp(sub, "NAK") == 0) {
		log_warn("[%s] server refused capabilities: %s", ircnet_name(n), list);
		if (n->cap_busy && !n->sasl_busy)
			cap_end(n);
	} else if (strcmp(sub, "NEW") == 0 || strcmp(sub, "DEL") == 0) {
		log_info("[%s] server capabilities %s: %s", ircnet_name(n), strcmp(sub, "NEW") == 0 ? "added" : "removed", list);
		if (strcmp(sub, "DEL") == 0)
			for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
				for (size_t i = 0; i < sizeof wanted_caps / sizeof *wanted_caps; i++)
					if (strcmp(tok, wanted_caps[i].name) == 0)
						n->caps &= ~wanted_caps[i].bit;
	}
}

void ircreg_authenticate(struct ircnet *n, struct irc_msg *m)
{
	if (n->sasl_busy && m->nparams >= 1 && strcmp(m->params[0], "+") == 0)
		sasl_continue(n);
}

void ircreg_loggedin(struct ircnet *n, struct irc_msg *m) /* 900 */
{
	if (m->nparams >= 3) {
		ircnet_learn_mask(n, m->params[1]);
		log_info("[%s] logged in to services as account %s", ircnet_name(n), m->params[2]);
	}
}

void ircreg_sasl_ok(struct ircnet *n, struct irc_msg *m) /* 903 */
{
	(void)m;
	log_info("[%s] SASL %s authentication succeeded", ircnet_name(n), mech_name(n->cfg->sasl_mechanism));
	n->sasl_busy = 0;
	cap_end(n);
}

/* 902, 904, 905, 906, 907, 908: the exchange is over without success.
 * Registration goes on without an account (no retry in this connection,
 * so a wrong password never loops). */
void ircreg_sasl_fail(struct ircnet *n, struct irc_msg *m)
{
	const char *c = m->command;
	if (strcmp(c, "908") == 0) {
		log_error("[%s] server supports SASL mechanisms %s only", ircnet_name(n),
		          m->nparams >= 2 ? m->params[1] : "?");
		return;
	}
	if (strcmp(c, "907") == 0) {
		log_info("[%s] SASL: already authenticated", ircnet_name(n));
	} else {
		const char *hint = strcmp(c, "904") == 0
		                       ? (n->cfg->sasl_mechanism == SASL_EXTERNAL
		                              ? "is the client certificate registered with services (NickServ CERT ADD)?"
		                              : "check sasl_username and sasl_password")
		                   : strcmp(c, "905") == 0 ? "the credentials are too long"
		                   : strcmp(c, "902") == 0 ? "the nick is locked by services"
		                                           : "the exchange was aborted";
		log_error("[%s] SASL %s authentication failed (%s: %s): %s; continuing without an "
		          "account",
		          ircnet_name(n), mech_name(n->cfg->sasl_mechanism), c, ircnet_last_param(m), hint);
	}
	if (n->sasl_busy || n->cap_busy) {
		n->sasl_busy = 0;
		cap_end(n);
	}
}

void ircreg_welcome(struct ircnet *n, struct irc_msg *m) /* 001 */
{
	n->st = ST_REGISTERED;
	n->cap_busy = 0;
	n->sasl_busy = 0;
	n->failures = 0;
	if (m->nparams >= 1)
		ircnet_set_nick(n, m->params[0]);
	/* Many servers end 001 with our full nick!user@host. */
	const char *text = ircnet_last_param(m);
	const char *w = strrchr(text, ' ');
	w = w ? w + 1 : text;
	if (strchr(w, '!') && strchr(w, '@'))
		ircnet_learn_mask(n, w);
	log_info("[%s] registered as %s on %s", ircnet_name(n), n->nick, m->source ? m->source : "?");
	if (!n->host[0])
		ircnet_sendf(n, "USERHOST %s", n->nick);
	ircnet_join_all(n);
}

static void next_nick(struct ircnet *n, char *out, size_t cap)
{
	const struct strlist *alt = &n->cfg->alt_nicks;
	int i = n->nick_tries - 1;
	if ((size_t)i < alt->n) {
		snprintf(out, cap, "%s", alt->v[i]);
		return;
	}
	int k = i - (int)alt->n + 1;
	/* nick1..nick9 first, then random digits so that two bots with the
	 * same config do not keep colliding. */
	if (k <= 9)
		snprintf(out, cap, "%.30s%d", n->cfg->nick, k);
	else
		snprintf(out, cap, "%.30s%u", n->cfg->nick, 10 + ircnet_rnd(n) % 9990);
}

void ircreg_nick_err(struct ircnet *n, struct irc_msg *m) /* 432 433 436 437 */
{
	if (n->st != ST_REGISTERING) {
		log_warn("[%s] nick change refused (%s): %s", ircnet_name(n), m->command, ircnet_last_param(m));
		return;
	}
	const char *bad = m->nparams >= 2 ? m->params[1] : n->nick;
	n->nick_tries++;
	if (n->nick_tries > (int)n->cfg->alt_nicks.n + NICK_TRIES_EXTRA) {
		log_error("[%s] no usable nick after %d attempts: reconnecting later", ircnet_name(n),
		          n->nick_tries);
		n->io->close(n, n->io_arg, 0, "no usable nick");
		return;
	}
	char nick[IRCNET_NICK_MAX];
	next_nick(n, nick, sizeof nick);
	log_warn("[%s] nick %s refused (%s %s), trying %s", ircnet_name(n), bad, m->command,
	         strcmp(m->command, "433") == 0 ? "in use" : strcmp(m->command, "432") == 0 ? "erroneous" : "unavailable",
	         nick);
	char line[IRC_LINE_MAX];
	int len = ircnet_build(line, "NICK", 1, nick, NULL);
	if (len < 0) {
		log_error("[%s] alternative nick \"%s\" is not sendable", ircnet_name(n), nick);
		return;
	}
	ircnet_set_nick(n, nick);
	ircnet_send_raw(n, line, (size_t)len);
}

