/* irccfg.c - an IRC network's own copy of its [irc.NAME] section, so the
 * caller (run.c, a reload) may free the config it loaded at once.  The
 * copy is one block: a first pass measures the strings and lists, the
 * second lays them out behind the struct, and one free releases it all
 * (after wiping it: the block holds the SASL password). */
#include <stdlib.h>
#include <string.h>

#include "ircnet_int.h"

/* Where the copy is laid out; with base NULL it only counts. */
struct lay {
	char *base;
	size_t used;
};

static void *take(struct lay *l, size_t len, size_t align)
{
	l->used = (l->used + align - 1) / align * align;
	void *p = l->base ? l->base + l->used : NULL;
	l->used += len;
	return p;
}

static char *str(struct lay *l, const char *s)
{
	if (!s)
		return NULL;
	size_t len = strlen(s) + 1;
	char *d = take(l, len, 1);
	if (d)
		memcpy(d, s, len);
	return d;
}

static struct strlist list(struct lay *l, const struct strlist *s)
{
	struct strlist d = { take(l, s->n * sizeof *d.v, sizeof(void *)), s->n };
	for (size_t i = 0; i < s->n; i++) {
		char *v = str(l, s->v[i]);
		if (d.v)
			d.v[i] = v;
	}
	if (!d.v)
		d.n = 0;
	return d;
}

/* Copies what s points to into l; fills d when l has a base. */
static void lay_out(struct lay *l, struct irc_config *d, const struct irc_config *s)
{
	struct irc_config c = *s;
	c.name = str(l, s->name);
	c.server = str(l, s->server);
	c.tls_ca_file = str(l, s->tls_ca_file);
	c.nick = str(l, s->nick);
	c.alt_nicks = list(l, &s->alt_nicks);
	c.username = str(l, s->username);
	c.realname = str(l, s->realname);
	c.channels = take(l, s->nchannels * sizeof *c.channels, sizeof(void *));
	for (size_t i = 0; i < s->nchannels; i++) {
		char *name = str(l, s->channels[i].name), *key = str(l, s->channels[i].key);
		if (c.channels)
			c.channels[i] = (struct irc_channel){ name, key };
	}
	c.sasl_username = str(l, s->sasl_username);
	c.sasl_password = str(l, s->sasl_password);
	c.client_cert = str(l, s->client_cert);
	c.client_key = str(l, s->client_key);
	c.policy.admins = list(l, &s->policy.admins);
	c.policy.auto_answer = list(l, &s->policy.auto_answer);
	c.policy.ignore = list(l, &s->policy.ignore);
	c.policy.escalate_to = str(l, s->policy.escalate_to);
	c.quit_message = str(l, s->quit_message);
	if (l->base)
		*d = c;
}

struct irccfg *irccfg_dup(const struct irc_config *c)
{
	struct lay l = { NULL, sizeof(struct irccfg) };
	lay_out(&l, NULL, c);
	struct irccfg *b = calloc(1, l.used);
	if (!b)
		return NULL;
	b->size = l.used;
	l = (struct lay){ (char *)b, sizeof *b };
	lay_out(&l, &b->c, c);
	return b;
}

void irccfg_free(struct irccfg *b)
{
	if (!b)
		return;
	volatile unsigned char *p = (volatile unsigned char *)b;
	for (size_t i = 0; i < b->size; i++)
		p[i] = 0;
	free(b);
}
