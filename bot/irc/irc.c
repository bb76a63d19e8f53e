/* irc.c - the IRC message layer without I/O: parse (in place, no
 * allocation), serialise, CTCP, sanitise user-derived text, split a
 * reply at the real line limit, hostmask matching.  It keeps no state
 * and knows nothing of sockets, timers or the bot (see ircnet.c). */
#include "irc.h"
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* Unescapes an IRCv3 tag value in place (message-tags spec): "\:" -> ';',
 * "\s" -> ' ', "\\" -> '\', "\r" -> CR, "\n" -> LF, '\' + any other char
 * -> that char, a lone trailing '\' is dropped.  Char by char, so
 * "\\n" is a backslash and an 'n', never a LF. */
static void tag_unescape(char *v)
{
	char *w = v;
	for (const char *r = v; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case ':': *w++ = ';'; break;
		case 's': *w++ = ' '; break;
		case 'r': *w++ = '\r'; break;
		case 'n': *w++ = '\n'; break;
		case '\0': r--; break; /* trailing backslash: dropped */
		default: *w++ = *r; break;
		}
	}
	*w = '\0';
}

static void add_tag(struct irc_msg *m, char *key, char *value)
{
	if (!*key)
		return;
	tag_unescape(value);
	/* Duplicates: the last one wins (message-tags spec). */
	for (int i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0) {
			m->tags[i].value = value;
			return;
		}
	if (m->ntags < IRC_MAX_TAGS)
		m->tags[m->ntags++] = (struct irc_tag){ key, value };
}

static void parse_tags(char *p, struct irc_msg *m)
{
	while (p) {
		char *next = strchr(p, ';');
		if (next)
			*next++ = '\0';
		char *eq = strchr(p, '=');
		if (eq)
			*eq++ = '\0';
		add_tag(m, p, eq ? eq : p + strlen(p));
		p = next;
	}
}

/*
 * Worked example:
 *   "@time=2024-01-02T03:04:05Z;account=alice :alice!a@h PRIVMSG #c :hi there\r\n"
 * gives
 *   tags    = { time: "2024-01-02T03:04:05Z", account: "alice" }
 *   source  = "alice!a@h"
 *   command = "PRIVMSG"
 *   params  = { "#c", "hi there" }
 * Atoms are separated by one or more spaces (RFC 1459, as the ircdocs
 * parser-tests expect); a tab is not a space.
 */
int irc_parse(char *line, size_t len, struct irc_msg *m)
{
	m->ntags = 0;
	m->nparams = 0;
	m->source = NULL;
	m->command = NULL;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || memchr(line, '\0', len))
		return -1;
	line[len] = '\0';
	char *p = line;
	if (*p == '@') {
		char *sp = strchr(p, ' ');
		if (!sp || (size_t)(sp - p) + 1 > IRC_TAGS_MAX)
			return -1;
		*sp = '\0';
		parse_tags(p + 1, m);
		p = sp + 1;
	}
	while (*p == ' ')
		p++;
	/* RFC 1459: 510 bytes before CR LF for the rest of the line. */
	if (strlen(p) > IRC_LINE_MAX - 2)
		return -1;
	if (*p == ':') {
		char *sp = strchr(p, ' ');
		if (!sp || sp == p + 1)
			return -1;
		*sp = '\0';
		m->source = p + 1;
		p = sp + 1;
		while (*p == ' ')
			p++;
	}
	if (!*p)
		return -1;
	m->command = p;
	p = strchr(p, ' ');
	while (p) {
		*p++ = '\0';
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (m->nparams == IRC_MAX_PARAMS)
			return -1;
		if (*p == ':') {
			m->params[m->nparams++] = p + 1;
			break;
		}
		m->params[m->nparams++] = p;
		p = strchr(p, ' ');
	}
	return 0;
}

const char *irc_tag(const struct irc_msg *m, const char *key)
{
	for (int i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0)
			return m->tags[i].value;
	return NULL;
}

/* A capped writer: once it overflows, everything after is refused. */
struct out {
	char *buf;
	size_t cap, len;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err || o->len + n + 1 > o->cap) {
		o->err = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void tag_escape(struct out *o, const char *v)
{
	for (; *v; v++) {
		switch (*v) {
		case ';': put(o, "\\:", 2); break;
		case ' ': put(o, "\\s", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\n': put(o, "\\n", 2); break;
		default: put(o, v, 1); break;
		}
	}
}

static int has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

int irc_join(const struct irc_msg *m, char *out, size_t cap)
{
	struct out o = { out, cap, 0, 0 };
	if (!m->command || !*m->command || strpbrk(m->command, " \r\n") || m->command[0] == ':')
		return -1;
	if (m->ntags > 0) {
		put(&o, "@", 1);
		for (int i = 0; i < m->ntags; i++) {
			const char *k = m->tags[i].key, *v = m->tags[i].value;
			if (!*k || strpbrk(k, " ;=\r\n"))
				return -1;
			if (i)
				put(&o, ";", 1);
			puts_(&o, k);
			if (v && *v) {
				put(&o, "=", 1);
				tag_escape(&o, v);
			}
		}
		put(&o, " ", 1);
	}
	if (m->source) {
		if (!*m->source || strpbrk(m->source, " \r\n"))
			return -1;
		put(&o, ":", 1);
		puts_(&o, m->source);
		put(&o, " ", 1);
	}
	puts_(&o, m->command);
	for (int i = 0; i < m->nparams; i++) {
		const char *p = m->params[i];
		if (has_crlf(p))
			return -1;
		int needs_colon = !*p || strchr(p, ' ') || p[0] == ':';
		if (needs_colon && i != m->nparams - 1)
			return -1;
		put(&o, needs_colon ? " :" : " ", needs_colon ? 2 : 1);
		puts_(&o, p);
	}
	if (o.err)
		return -1;
	out[o.len] = '\0';
	return (int)o.len;
}

int irc_build(char *out, size_t cap, const char *cmd, int nparams, const char *const *params)
{
	struct irc_msg m;
	if (nparams < 0 || nparams > IRC_MAX_PARAMS)
		return -1;
	m.ntags = 0;
	m.source = NULL;
	m.command = cmd;
	m.nparams = nparams;
	for (int i = 0; i < nparams; i++)
		m.params[i] = params[i];
	return irc_join(&m, out, cap);
}

void irc_userhost_split(const char *src, struct irc_userhost *u)
{
	memset(u, 0, sizeof *u);
	size_t n = strcspn(src, "!@");
	u->nick = src;
	u->nick_len = n;
	const char *p = src + n;
	if (*p == '!') {
		p++;
		u->user = p;
		u->user_len = strcspn(p, "@");
		p += u->user_len;
	}
	if (*p == '@') {
		u->host = p + 1;
		u->host_len = strlen(p + 1);
	}
}

int irc_source_nick(const char *src, char *buf, size_t cap)
{
	size_t n = strcspn(src, "!@");
	if (n + 1 > cap)
		return -1;
	memcpy(buf, src, n);
	buf[n] = '\0';
	return 0;
}

/* RFC 1459 casemapping: {}|^ are the lower case of []\~. */
static unsigned char fold(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c + 32);
	switch (c) {
	case '[': return '{';
	case ']': return '}';
	case '\\': return '|';
	case '~': return '^';
	default: return c;
	}
}

int irc_nick_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (fold((unsigned char)*a) != fold((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* Iterative glob with one backtrack point per '*': linear in practice,
 * never recursive, so a hostile mask cannot blow the stack. */
int irc_mask_match(const char *mask, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*mask == '*') {
			star = ++mask;
			resume = s;
		} else if (*mask && (*mask == '?' || fold((unsigned char)*mask) == fold((unsigned char)*s))) {
			mask++;
			s++;
		} else if (star) {
			mask = star;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*mask == '*')
		mask++;
	return *mask == '\0';
}

int irc_hostname_valid(const char *h)
{
	size_t label = 0;
	int dots = 0;
	char prev = '.';
	if (!*h || strlen(h) > 255)
		return 0;
	for (const char *p = h; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (label == 0 || prev == '-')
				return 0;
			dots++;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		           || c == '-') {
			if (c == '-' && label == 0)
				return 0;
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
		prev = c;
	}
	if (prev == '-')
		return 0;
	return dots > 0;
}

/* mIRC formatting codes are harmless and users' text may carry them:
 * bold, colour, hex colour, reset, monospace, reverse, italic, strike,
 * underline. */
static int is_format_code(unsigned char c)
{
	return c == 0x02 || c == 0x03 || c == 0x04 || c == 0x0F || c == 0x11 || c == 0x16
	       || c == 0x1D || c == 0x1E || c == 0x1F;
}

size_t irc_sanitize(char *s, size_t len)
{
	unsigned char *u = (unsigned char *)s;
	size_t r = 0, w = 0;
	while (r < len) {
		unsigned char c = u[r];
		if (c < 0x20 || c == 0x7F) {
			/* CR, LF, NUL would end or cut the line; \x01 would turn
			 * a reply into CTCP. */
			u[w++] = (c == '\t' || is_format_code(c)) ? c : ' ';
			r++;
			continue;
		}
		size_t n = utf8_seq((const char *)u + r, len - r);
		if (!n) {
			u[w++] = '?';
			r++;
			continue;
		}
		memmove(u + w, u + r, n);
		w += n;
		r += n;
	}
	u[w] = '\0';
	return w;
}

size_t irc_text_room(size_t prefix_len, const char *cmd, const char *target)
{
	/* ":" prefix " " cmd " " target " :" text "\r\n" */
	size_t fixed = 1 + prefix_len + 1 + strlen(cmd) + 1 + strlen(target) + 2 + 2;
	return fixed >= IRC_LINE_MAX ? 0 : IRC_LINE_MAX - fixed;
}

size_t irc_split_next(const char *text, size_t len, size_t room)
{
	if (len <= room)
		return len;
	if (room == 0)
		return 0;
	/* text[room] is the first byte that does not fit: a space there
	 * means the whole room is one clean chunk. */
	for (size_t i = room; i > 0; i--)
		if (text[i] == ' ') {
			/* Trim spaces before the break too. */
			size_t j = i;
			while (j > 0 && text[j - 1] == ' ')
				j--;
			if (j > 0)
				return j;
			break;
		}
	/* One word longer than the room: cut at a UTF-8 boundary (the room
	 * itself when it holds nothing but continuation bytes). */
	size_t n = utf8_cut(text, len, room);
	return n > 0 ? n : room;
}

int irc_ctcp_parse(const char *text, struct irc_ctcp *c)
{
	if (text[0] != '\x01')
		return 0;
	const char *p = text + 1;
	size_t body = strcspn(p, "\x01");
	size_t cmd = strcspn(p, " \x01");
	c->cmd = p;
	c->cmd_len = cmd;
	if (cmd < body) {
		c->arg = p + cmd + 1;
		c->arg_len = body - cmd - 1;
	} else {
		c->arg = p + cmd;
		c->arg_len = 0;
	}
	return 1;
}

static int slice_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncmp(s, word, n) == 0;
}

/* A CTCP PING argument is echoed back, so it is capped and sanitised. */
#define CTCP_ARG_MAX 64

int irc_ctcp_reply(const struct irc_ctcp *c, const char *target, const char *version,
                   char *out, size_t cap)
{
	char text[CTCP_ARG_MAX + 64];
	if (slice_is(c->cmd, c->cmd_len, "VERSION")) {
		size_t n = strlen(version);
		if (n > CTCP_ARG_MAX)
			n = CTCP_ARG_MAX;
		memcpy(text, "\x01VERSION faqbot ", 16);
		memcpy(text + 16, version, n);
		n = 16 + irc_sanitize(text + 16, n);
		text[n++] = '\x01';
		text[n] = '\0';
	} else if (slice_is(c->cmd, c->cmd_len, "PING")) {
		size_t n = c->arg_len > CTCP_ARG_MAX ? CTCP_ARG_MAX : c->arg_len;
		memcpy(text, "\x01PING ", 6);
		memcpy(text + 6, c->arg, n);
		n = 6 + irc_sanitize(text + 6, n);
		text[n++] = '\x01';
		text[n] = '\0';
	} else {
		return -1;
	}
	const char *params[2] = { target, text };
	return irc_build(out, cap, "NOTICE", 2, params);
}
