/* ircmsg.c - a user's PRIVMSG on one IRC network: who asks (the identity
 * the per-user limits and the fair queue count), up through the chat sink
 * (chat.h), and the reply down as lines that fit 512 bytes with the
 * server's prefix, charged to the asker in the output queue (outq.h).
 * Questions that must wait for the send window are held as
 * their parsed fields (ircinbox.h) and handled from them later. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ircinbox.h"
#include "ircnet_int.h"
#include "log.h"
#include "outq.h"

#ifndef FAQBOT_VERSION
#define FAQBOT_VERSION "0"
#endif

/* The identity of a user for the limits: "a:ACCOUNT", "h:user@host" or
 * "n:nick", at most this long. */
#define IDENT_MAX 320
#define NICK_MAX IRCNET_NICK_MAX


/* strlen(":nick!user@host") minus the ':', as the server prepends it to
 * what we send; the longest plausible parts until we know them. */
static size_t prefix_len(const struct ircnet *n)
{
	size_t u = n->user[0] ? strlen(n->user) : IRC_GUESS_USER_LEN;
	size_t h = n->host[0] ? strlen(n->host) : IRC_GUESS_HOST_LEN;
	return strlen(n->nick) + 1 + u + 1 + h;
}

static int is_channel(const char *target)
{
	return (target[0] && strchr("#&+!", target[0])) || ((target[0] == '@' || target[0] == '%') && target[1]);
}

/* A user's identity for the per-user limits and the fair queue (issue
 * 10): the services account when the server tags it (and we asked for
 * the tag), else user@host from the source, else the nick; a nick change
 * keeps it.  The prefixes keep an account from passing for a host. */
static void identity(const char *source, const char *nick, const char *account, char *out, size_t cap)
{
	struct irc_userhost u;
	if (account && *account) {
		snprintf(out, cap, "a:%s", account);
		return;
	}
	irc_userhost_split(source, &u);
	if (u.user_len || u.host_len)
		snprintf(out, cap, "h:%.*s@%.*s", (int)u.user_len, u.user, (int)u.host_len, u.host);
	else
		snprintf(out, cap, "n:%s", nick);
}

/* The fair queue's key for an identity (FNV-1a, RFC 1459 case-folded like
 * nicks; never OUTQ_SELF). */
static uint64_t ident_key(const char *id)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = id; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 'A' && c <= '^')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 1099511628211ULL;
	}
	return h == OUTQ_SELF ? 1 : h;
}

/* Sends a bot answer: paragraphs split on '\n', each sanitised and split
 * at the room left by the server's prefix; in a channel the first line
 * starts with "nick: ".  Every line is charged to the asker
 * (key) and the answer is queued whole or not at all. */
static void send_answer(struct ircnet *n, uint64_t key, const char *asker, const char *chan,
                        struct chat_reply *o)
{
	const char *cmd = o->kind == CHAT_LIMITED ? "NOTICE" : "PRIVMSG";
	const char *target = chan && o->kind != CHAT_LIMITED ? chan : asker;
	size_t room = irc_text_room(prefix_len(n), cmd, target);
	size_t textlen = o->len < sizeof o->text ? o->len : sizeof o->text - 1;
	int lines = 0, first = 1;
	char *p = o->text, *end = o->text + textlen;
	char out[IRCNET_ANSWER_LINES][IRC_LINE_MAX];
	size_t outlen[IRCNET_ANSWER_LINES], bytes = 0;
	*end = '\0';
	while (p < end && lines < IRCNET_ANSWER_LINES + 1) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *pe = nl ? nl : end;
		size_t pl = irc_sanitize(p, (size_t)(pe - p));
		char *cur = p;
		while (pl > 0) {
			while (pl > 0 && *cur == ' ') {
				cur++;
				pl--;
			}
			if (!pl)
				break;
			if (lines == IRCNET_ANSWER_LINES) {
				log_warn("[%s] answer to %s cut after %d lines", ircnet_name(n), asker, lines);
				lines++;
				break;
			}
			char text[IRC_LINE_MAX];
			size_t used = 0;
			if (first && target == chan)
				used = (size_t)snprintf(text, sizeof text, "%.*s: ", NICK_MAX, asker);
			if (room < used + 16) {
				log_error("[%s] no room to answer in %s", ircnet_name(n), target);
				return;
			}
			size_t k = irc_split_next(cur, pl, room - used);
			memcpy(text + used, cur, k);
			text[used + k] = '\0';
			int len = ircnet_build(out[lines], cmd, 2, target, text);
			if (len >= 0) {
				outlen[lines] = (size_t)len;
				bytes += (size_t)len + 2;
				lines++;
			}
			first = 0;
			cur += k;
			pl -= k;
		}
		p = pe + 1;
	}
	if (lines > IRCNET_ANSWER_LINES)
		lines = IRCNET_ANSWER_LINES;
	if (lines == 0)
		return;
	if (!outq_room(n->oq, key, lines, bytes)) {
		if (n->dropped++ % 100 == 0)
			log_warn("[%s] %s has %d lines waiting already: a %d-line answer dropped (%lu dropped "
			         "so far)", ircnet_name(n), asker, outq_user_lines(n->oq, key), lines, n->dropped);
		return;
	}
	for (int i = 0; i < lines; i++)
		ircnet_enqueue(n, key, out[i], outlen[i]);
}

/* Only trust account from the server's account-tag when we asked for
 * it: admin rights come from the account, never from the nick. */
static const char *account_of(const struct ircnet *n, const struct irc_msg *m)
{
	return (n->caps & CAP_ACCOUNT) ? irc_tag(m, "account") : NULL;
}

/* One PRIVMSG from source to target, parsed (or held, ircinbox.h).  text
 * is ours to rewrite (n->line). */
static void question(struct ircnet *n, const char *source, const char *target, char *text,
		     const char *account)
{
	char nick[NICK_MAX], id[IDENT_MAX];
	if (irc_source_nick(source, nick, sizeof nick) != 0 || !nick[0] || strchr(nick, '.'))
		return; /* a server, not a user */
	if (irc_nick_eq(nick, n->nick))
		return; /* our own line (echo): never answer ourselves */
	int priv = !is_channel(target);
	identity(source, nick, account, id, sizeof id);
	uint64_t key = ident_key(id);
	struct chat_msg bm = {
		.network = ircnet_name(n),
		.sender = nick,
		.account = account,
		.user_id = id,
		.is_private = priv,
		.mentioned = 0,
		.own_name = n->nick,
		.auto_answer = !priv && strlist_has(&n->cfg->policy.auto_answer, target),
		.policy = &n->cfg->policy,
		.now_ms = ircnet_now(n),
		.now = 0,
		.room = priv ? NULL : target,
	};
	struct irc_ctcp c;
	if (irc_ctcp_parse(text, &c)) {
		char line[IRC_LINE_MAX];
		int len = irc_ctcp_reply(&c, nick, FAQBOT_VERSION, line, IRC_LINE_MAX - 2);
		if (len < 0)
			return;
		/* A CTCP reply is charged to the asker too: a small bucket of
		 * its own, then one notice, then silence. */
		bm.event = CHAT_MINOR;
		int r = n->sink.on_msg(n->sink.arg, &bm, &n->out);
		if (r > 0)
			log_info("[%s] CTCP %.*s from %s", ircnet_name(n), (int)c.cmd_len < 20 ? (int)c.cmd_len : 20,
			         c.cmd, nick);
		if (r > 0)
			ircnet_enqueue(n, key, line, (size_t)len);
		else if (r == 0)
			send_answer(n, key, nick, NULL, &n->out);
		return;
	}
	bm.len = irc_sanitize(text, strlen(text));
	bm.text = text;
	if (!n->sink.on_msg(n->sink.arg, &bm, &n->out))
		return;
	log_debug("[%s] answering %s%s%s (kind %d, %zu bytes)", ircnet_name(n), nick, priv ? "" : " in ",
	          priv ? "" : target, (int)n->out.kind, n->out.len);
	send_answer(n, key, nick, priv ? NULL : target, &n->out);
	if (n->out.extra_target[0]) { /* hand-over (chat.h: extra_target): one more line, as is */
		char to[sizeof n->out.extra_target];
		memcpy(to, n->out.extra_target, sizeof to);
		n->out.len = strlen(n->out.extra_text);
		memcpy(n->out.text, n->out.extra_text, n->out.len + 1);
		n->out.extra_target[0] = 0;
		send_answer(n, key, to, NULL, &n->out);
	}
}

void ircmsg_privmsg(struct ircnet *n, struct irc_msg *m)
{
	if (m->nparams < 2 || !m->source)
		return;
	/* params point into n->line, our own buffer: safe to rewrite. */
	question(n, m->source, m->params[0], (char *)m->params[1], account_of(n, m));
}

void ircmsg_hold(struct ircnet *n, const struct irc_msg *m)
{
	char nick[NICK_MAX];
	if (m->nparams < 2 || !m->source || irc_source_nick(m->source, nick, sizeof nick) != 0)
		return;
	struct ircinbox_msg h = { account_of(n, m), m->source, m->params[0], m->params[1] };
	if (ircinbox_put(n->inbox, &h) == 0)
		return;
	if (n->held_dropped++ % 100 == 0)
		log_warn("[%s] %d questions already wait for the send window: dropped one from %s "
		         "(%lu dropped so far)", ircnet_name(n), ircinbox_count(n->inbox), nick,
		         n->held_dropped);
}

int ircmsg_handle_held(struct ircnet *n)
{
	struct ircinbox_msg h;
	int r = ircinbox_take(n->inbox, n->line, sizeof n->line, &h);
	if (r > 0)
		question(n, h.source, h.target, (char *)h.text, h.account);
	return r != 0;
}
