/* config.c - reads config.ini with libinih into the open struct config of
 * config.h: one key table per section type, defaults filled in after
 * parsing, then cross-key checks.  Every error names "path:line" and says
 * how to fix it.  It opens no connection and never logs a secret value;
 * config_dump writes secrets as "<hidden>". */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "errmsg.h"
#include "log.h"
#include "textfile.h"

#define CFG_MAX_LINE 65536     /* bytes in one source line */
#define CFG_MAX_LIST STRLIST_MAX /* items in one list setting */
#define CFG_MAX_NETS 64        /* networks of each kind */
#define CFG_MAX_KEYS 48

enum ktype {
	K_STR,      /* char * */
	K_SECRET,   /* char *, never logged nor dumped */
	K_PATH,     /* char *, relative to the config file's directory */
	K_BOOL,     /* int 0/1 */
	K_INT,      /* int within [min, max] */
	K_DOUBLE,   /* double within [min, max] */
	K_LIST,     /* struct strlist; the key may repeat to continue it */
	K_CHANNELS, /* struct irc_config channels; may repeat */
	K_SASL,     /* enum sasl_mech */
	K_LOGLEVEL, /* char *, checked */
};

/* min/max: the range of a K_INT or K_DOUBLE; for K_STR, K_SECRET,
 * K_PATH and K_LIST, max > 0 is the longest value (or list item) in
 * bytes, where the bot keeps it in a fixed buffer. */
struct key {
	const char *name;
	enum ktype t;
	size_t off;
	double min, max;
	unsigned flags;
};

/* K_DOUBLE: 0 is allowed too, meaning "off" (throttle_rate = 0): a tiny
 * positive rate such as 1e-300 would make the wait before the next line
 * 1e303 ms, which overflows its conversion to an integer. */
#define KF_ZERO_OFF 1u

/* In fixed buffers: bot.c's command prefix (32 bytes), ircnet.c's nick
 * (NICK_MAX 64) and channel names (64).  A longer value would pass
 * `check` and then fail, or be cut, at run time. */
#define CFG_MAX_PREFIX 16
#define CFG_MAX_NICK 63
#define CFG_MAX_CHANNEL 63

#define KB(n, t, f, lo, hi) { n, t, offsetof(struct bot_config, f), lo, hi, 0 }
static const struct key bot_keys[] = {
	KB("knowledge", K_PATH, knowledge, 0, 0),
	KB("state", K_PATH, state, 0, 0),
	KB("command_prefix", K_STR, command_prefix, 0, CFG_MAX_PREFIX),
	KB("log_level", K_LOGLEVEL, log_level, 0, 0),
	KB("timezone", K_STR, timezone, 0, 0),
	KB("ignore", K_LIST, ignore, 0, 0),
	KB("max_answer_age", K_INT, max_answer_age, 0, 7 * 86400),
	KB("auto_answer_confidence", K_DOUBLE, auto_answer_confidence, 0, 1),
	KB("user_rate", K_INT, user_rate, 0, 100000),
	KB("user_burst", K_INT, user_burst, 1, 100000),
	KB("record_questions", K_BOOL, record_questions, 0, 0),
	KB("record_days", K_INT, record_days, 1, 3650),
	KB("conversation_timeout", K_INT, conversation_timeout, 0, 86400),
	{ NULL, K_STR, 0, 0, 0, 0 }
};

#define KI(n, t, f, lo, hi) { n, t, offsetof(struct irc_config, f), lo, hi, 0 }
static const struct key irc_keys[] = {
	KI("server", K_STR, server, 0, 0),
	KI("port", K_INT, port, 1, 65535),
	KI("tls", K_BOOL, tls, 0, 0),
	KI("tls_ca_file", K_PATH, tls_ca_file, 0, 0),
	KI("nick", K_STR, nick, 0, CFG_MAX_NICK),
	KI("alt_nicks", K_LIST, alt_nicks, 0, CFG_MAX_NICK),
	KI("username", K_STR, username, 0, CFG_MAX_NICK),
	KI("realname", K_STR, realname, 0, 0),
	KI("channels", K_CHANNELS, channels, 0, 0),
	KI("sasl_mechanism", K_SASL, sasl_mechanism, 0, 0),
	KI("sasl_username", K_STR, sasl_username, 0, 0),
	KI("sasl_password", K_SECRET, sasl_password, 0, 0),
	KI("client_cert", K_PATH, client_cert, 0, 0),
	KI("client_key", K_PATH, client_key, 0, 0),
	KI("admins", K_LIST, policy.admins, 0, 0),
	KI("auto_answer", K_LIST, policy.auto_answer, 0, 0),
	KI("ignore", K_LIST, policy.ignore, 0, 0),
	KI("user_rate", K_INT, policy.user_rate, 0, 100000),
	KI("user_burst", K_INT, policy.user_burst, 1, 100000),
	KI("escalate_to", K_STR, policy.escalate_to, 0, 0),
	KI("throttle_burst", K_INT, throttle_burst, 1, 100000),
	{ "throttle_rate", K_DOUBLE, offsetof(struct irc_config, throttle_rate), 0.01, 1000000,
	  KF_ZERO_OFF },
	KI("lag_timeout", K_INT, lag_timeout, 10, 86400),
	KI("reconnect_max", K_INT, reconnect_max, 1, 86400),
	KI("quit_message", K_STR, quit_message, 0, 0),
	KI("allow_plaintext_password", K_BOOL, allow_plaintext_password, 0, 0),
	{ NULL, K_STR, 0, 0, 0, 0 }
};

#define KM(n, t, f, lo, hi) { n, t, offsetof(struct matrix_config, f), lo, hi, 0 }
static const struct key matrix_keys[] = {
	KM("homeserver", K_STR, homeserver, 0, 0),
	KM("user", K_STR, user, 0, 0),
	KM("password", K_SECRET, password, 0, 0),
	KM("access_token", K_SECRET, access_token, 0, 0),
	KM("device_name", K_STR, device_name, 0, 0),
	KM("admins", K_LIST, policy.admins, 0, 0),
	KM("allowed_inviters", K_LIST, allowed_inviters, 0, 0),
	KM("auto_answer", K_LIST, policy.auto_answer, 0, 0),
	KM("ignore", K_LIST, policy.ignore, 0, 0),
	KM("user_rate", K_INT, policy.user_rate, 0, 100000),
	KM("user_burst", K_INT, policy.user_burst, 1, 100000),
	KM("escalate_to", K_STR, policy.escalate_to, 0, 0),
	KM("e2ee", K_BOOL, e2ee, 0, 0),
	KM("pickle_key", K_SECRET, pickle_key, 0, 0),
	KM("sync_timeout", K_INT, sync_timeout, 1, 3600),
	KM("reconnect_max", K_INT, reconnect_max, 1, 86400),
	KM("allow_plaintext_password", K_BOOL, allow_plaintext_password, 0, 0),
	{ NULL, K_STR, 0, 0, 0, 0 }
};

enum sec { SEC_NONE, SEC_BOT, SEC_IRC, SEC_MATRIX, SEC_SKIP };

struct parse {
	const char *path;
	char *dir;            /* directory of path, for relative paths */
	struct config *c;
	int line;             /* source line being handed to inih */
	enum sec sec;
	void *base;           /* struct being filled */
	const struct key *keys;
	const char *secname;  /* "bot", "irc.libera", ... */
	int set_line[CFG_MAX_KEYS]; /* where each key of this section was set */
	int bot_line;         /* line of [bot], 0 if none */
	int secret_seen;
	char *err;
	size_t errlen;
	int failed;
	struct textfile tf;   /* the whole file, read by textfile.c */
	char *pend;           /* rest of a long list line still to hand out */
	char pend_key[128];
};

static void fail(struct parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	if (p->failed)
		return; /* the first error is the one to fix first */
	p->failed = 1;
	va_start(ap, fmt);
	errmsg_vat(p->err, p->errlen, p->path, line, fmt, ap);
	va_end(ap);
}

/* ---- lists ---- */

/* Calls fn for each trimmed, non-empty comma-separated item of v. */
static int each_item(const char *v, int (*fn)(void *, const char *, size_t), void *arg)
{
	while (*v) {
		const char *e = strchr(v, ','), *s = v, *t;
		if (!e)
			e = v + strlen(v);
		while (s < e && isspace((unsigned char)*s))
			s++;
		t = e;
		while (t > s && isspace((unsigned char)t[-1]))
			t--;
		if (t > s && fn(arg, s, (size_t)(t - s)) < 0)
			return -1;
		v = *e ? e + 1 : e;
	}
	return 0;
}

static int add_item(void *arg, const char *s, size_t n)
{
	return strlist_add(arg, s, n);
}

struct chan_ctx {
	struct irc_config *ic;
	struct parse *p;
};

static int add_channel(void *arg, const char *s, size_t n)
{
	struct chan_ctx *cc = arg;
	struct irc_config *ic = cc->ic;
	struct irc_channel *nc;
	const char *sp = memchr(s, ' ', n);
	size_t nl = sp ? (size_t)(sp - s) : n;

	if (!strchr("#&+!", s[0]) || nl < 2) {
		fail(cc->p, cc->p->line, "channels: '%.*s' is not a channel; write "
		     "\"#name\" or \"#name key\", separated by commas", (int)n, s);
		return -1;
	}
	if (nl > CFG_MAX_CHANNEL) {
		fail(cc->p, cc->p->line, "channels: '%.*s...' is longer than %d bytes; "
		     "use a shorter channel name", 20, s, CFG_MAX_CHANNEL);
		return -1;
	}
	if (ic->nchannels >= CFG_MAX_LIST)
		return -1;
	nc = realloc(ic->channels, (ic->nchannels + 1) * sizeof *nc);
	if (!nc)
		return -1;
	ic->channels = nc;
	nc = &ic->channels[ic->nchannels];
	nc->name = strndup(s, nl);
	nc->key = NULL;
	if (sp) {
		const char *k = sp;
		while (k < s + n && *k == ' ')
			k++;
		if (k < s + n)
			nc->key = strndup(k, (size_t)(s + n - k));
	}
	ic->nchannels++;
	if (!nc->name) {
		free(nc->key);
		ic->nchannels--;
		return -1;
	}
	if (nc->key)
		cc->p->secret_seen = 1;
	return 0;
}

/* ---- values ---- */

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;
	for (i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static char *resolve_path(const struct parse *p, const char *v)
{
	char *r;
	size_t n;
	if (v[0] == '/' || !p->dir || !strcmp(p->dir, "."))
		return strdup(v);
	n = strlen(p->dir) + strlen(v) + 2;
	if (!(r = malloc(n)))
		return NULL;
	snprintf(r, n, "%s/%s", p->dir, v);
	return r;
}

static int set_value(struct parse *p, const struct key *k, int ki, const char *v)
{
	char *field = (char *)p->base + k->off;
	int line = p->line;

	if (k->t != K_LIST && k->t != K_CHANNELS && p->set_line[ki]) {
		fail(p, line, "%s is set twice in [%s] (also on line %d); keep one",
		     k->name, p->secname, p->set_line[ki]);
		return -1;
	}
	p->set_line[ki] = line;
	switch (k->t) {
	case K_SECRET:
		if (*v)
			p->secret_seen = 1;
		/* fall through */
	case K_STR:
	case K_LOGLEVEL:
	case K_PATH: {
		char **s = (char **)(void *)field;
		if (p->sec == SEC_BOT && !strcmp(k->name, "timezone") && *v &&
		    v[0] != ':' && strcmp(v, "UTC")) {
			/* tzset() silently falls back to UTC on a misspelt name,
			 * which would shift "today" near midnight. */
			char zf[512];
			snprintf(zf, sizeof zf, "/usr/share/zoneinfo/%s", v);
			if (strstr(v, "..") || access(zf, R_OK) != 0) {
				fail(p, line, "timezone: '%s' is not a known time zone (no "
				     "%s); use e.g. Europe/Paris", v, zf);
				return -1;
			}
		}
		if (k->max > 0 && strlen(v) > (size_t)k->max) {
			fail(p, line, "%s is %zu bytes long, more than the %.0f allowed; "
			     "shorten it", k->name, strlen(v), k->max);
			return -1;
		}
		if (k->t == K_LOGLEVEL && log_level_from_name(v) < 0) {
			fail(p, line, "log_level: '%s' is not a level; use error, warn, "
			     "info or debug", v);
			return -1;
		}
		free(*s);
		*s = k->t == K_PATH && *v ? resolve_path(p, v) : strdup(v);
		if (p->sec == SEC_BOT && !strcmp(k->name, "knowledge") && *v) {
			/* kept as written, to say where a bad path came from */
			struct bot_config *b = &p->c->bot;
			free(b->knowledge_value);
			if (!(b->knowledge_value = strdup(v)))
				return -1;
			b->knowledge_line = line;
		}
		return *s ? 0 : -1;
	}
	case K_BOOL:
		if (parse_bool(v, (int *)(void *)field) < 0) {
			fail(p, line, "%s: '%s' is not a yes/no value; write yes or no",
			     k->name, v);
			return -1;
		}
		return 0;
	case K_INT: {
		char *end;
		long x;
		errno = 0;
		x = strtol(v, &end, 10);
		if (!*v || *end || errno || x < (long)k->min || x > (long)k->max) {
			fail(p, line, "%s: '%s' is not a whole number from %.0f to %.0f",
			     k->name, v, k->min, k->max);
			return -1;
		}
		*(int *)(void *)field = (int)x;
		return 0;
	}
	case K_DOUBLE: {
		char *end;
		double x;
		errno = 0;
		x = strtod(v, &end);
		if (!*v || *end || errno ||
		    !((x >= k->min && x <= k->max) || (x == 0 && (k->flags & KF_ZERO_OFF)))) {
			if (k->flags & KF_ZERO_OFF)
				fail(p, line, "%s: '%s' is neither 0 (off) nor a number from "
				     "%.10g to %.10g (use a dot for decimals)", k->name, v,
				     k->min, k->max);
			else
				fail(p, line, "%s: '%s' is not a number from %.10g to %.10g "
				     "(use a dot for decimals)", k->name, v, k->min, k->max);
			return -1;
		}
		*(double *)(void *)field = x;
		return 0;
	}
	case K_LIST: {
		struct strlist *l = (struct strlist *)(void *)field;
		size_t i;
		if (each_item(v, add_item, field) < 0) {
			fail(p, line, "%s: too many items (at most %d) or out of memory",
			     k->name, CFG_MAX_LIST);
			return -1;
		}
		for (i = 0; k->max > 0 && i < l->n; i++)
			if (strlen(l->v[i]) > (size_t)k->max) {
				fail(p, line, "%s: '%.20s...' is longer than %.0f bytes; "
				     "shorten it", k->name, l->v[i], k->max);
				return -1;
			}
		return 0;
	}
	case K_CHANNELS: {
		struct chan_ctx cc = { p->base, p };
		if (each_item(v, add_channel, &cc) < 0) {
			fail(p, line, "channels: too many channels or out of memory");
			return -1;
		}
		return 0;
	}
	case K_SASL: {
		enum sasl_mech *m = (enum sasl_mech *)(void *)field;
		if (!strcasecmp(v, "none") || !*v)
			*m = SASL_NONE;
		else if (!strcasecmp(v, "PLAIN"))
			*m = SASL_PLAIN;
		else if (!strcasecmp(v, "EXTERNAL"))
			*m = SASL_EXTERNAL;
		else {
			fail(p, line, "sasl_mechanism: '%s' is not supported; use none, "
			     "PLAIN or EXTERNAL", v);
			return -1;
		}
		return 0;
	}
	}
	return -1;
}

/* ---- sections ---- */

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

static void irc_init(struct irc_config *ic)
{
	memset(ic, 0, sizeof *ic);
	ic->port = -1;
	ic->tls = -1;
	ic->policy.user_rate = -1;
	ic->policy.user_burst = -1;
	ic->throttle_burst = -1;
	ic->throttle_rate = -1;
	ic->lag_timeout = -1;
	ic->reconnect_max = -1;
}

static void matrix_init(struct matrix_config *mc)
{
	memset(mc, 0, sizeof *mc);
	mc->policy.user_rate = -1;
	mc->policy.user_burst = -1;
	mc->sync_timeout = -1;
	mc->reconnect_max = -1;
}

/* "[name]" seen on p->line: switch the section being filled. */
static void begin_section(struct parse *p, const char *name, size_t n)
{
	struct config *c = p->c;
	char sec[256];
	size_t i;

	memset(p->set_line, 0, sizeof p->set_line);
	p->sec = SEC_SKIP;
	p->keys = NULL;
	if (n >= sizeof sec) {
		fail(p, p->line, "section name too long");
		return;
	}
	memcpy(sec, name, n);
	sec[n] = 0;
	if (!strcmp(sec, "bot")) {
		if (p->bot_line) {
			fail(p, p->line, "[bot] appears twice (first on line %d); merge them",
			     p->bot_line);
			return;
		}
		p->bot_line = p->line;
		p->sec = SEC_BOT;
		p->base = &c->bot;
		p->keys = bot_keys;
		p->secname = "bot";
		return;
	}
	if (!strncmp(sec, "irc.", 4) || !strncmp(sec, "matrix.", 7)) {
		int irc = sec[0] == 'i';
		const char *nm = sec + (irc ? 4 : 7);
		if (!valid_name(nm)) {
			fail(p, p->line, "[%s]: the network name must be letters, digits, "
			     "'-' or '_', e.g. [%s.libera]", sec, irc ? "irc" : "matrix");
			return;
		}
		for (i = 0; i < c->nirc + c->nmatrix; i++) {
			int is_irc = i < c->nirc;
			const char *other = is_irc ? c->irc[i].name : c->matrix[i - c->nirc].name;
			int oline = is_irc ? c->irc[i].line : c->matrix[i - c->nirc].line;
			if (is_irc == irc && !strcmp(other, nm)) {
				fail(p, p->line, "network [%s] is defined twice (first on line "
				     "%d); give each network its own name", sec, oline);
				return;
			}
		}
		if ((irc ? c->nirc : c->nmatrix) >= CFG_MAX_NETS) {
			fail(p, p->line, "too many networks (at most %d of each kind)",
			     CFG_MAX_NETS);
			return;
		}
		if (irc) {
			struct irc_config *v = realloc(c->irc, (c->nirc + 1) * sizeof *v);
			if (!v)
				goto oom;
			c->irc = v;
			irc_init(&v[c->nirc]);
			if (!(v[c->nirc].name = strdup(nm)))
				goto oom;
			v[c->nirc].line = p->line;
			p->base = &v[c->nirc];
			p->secname = v[c->nirc].name;
			c->nirc++;
			p->sec = SEC_IRC;
			p->keys = irc_keys;
		} else {
			struct matrix_config *v = realloc(c->matrix, (c->nmatrix + 1) * sizeof *v);
			if (!v)
				goto oom;
			c->matrix = v;
			matrix_init(&v[c->nmatrix]);
			if (!(v[c->nmatrix].name = strdup(nm)))
				goto oom;
			v[c->nmatrix].line = p->line;
			p->base = &v[c->nmatrix];
			p->secname = v[c->nmatrix].name;
			c->nmatrix++;
			p->sec = SEC_MATRIX;
			p->keys = matrix_keys;
		}
		return;
	}
	fail(p, p->line, "unknown section [%s]; the sections are [bot], [irc.NAME] "
	     "and [matrix.NAME]", sec);
	return;
oom:
	fail(p, p->line, "out of memory");
}

static const struct key *find_key(const struct key *keys, const char *name, int *ki)
{
	int i;
	for (i = 0; keys && keys[i].name; i++)
		if (!strcmp(keys[i].name, name)) {
			*ki = i;
			return &keys[i];
		}
	return NULL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const struct key *k;
	int ki;

	(void)section; /* the reader tracks sections with their line numbers */
	if (p->failed)
		return 1;
	if (p->sec == SEC_NONE) {
		fail(p, p->line, "'%s' is outside any section; put it under [bot], "
		     "[irc.NAME] or [matrix.NAME]", name);
		return 1;
	}
	if (p->sec == SEC_SKIP)
		return 1;
	if (!(k = find_key(p->keys, name, &ki))) {
		fail(p, p->line, "unknown key '%s' in [%s%s]; config.example.ini lists "
		     "the keys of each section", name,
		     p->sec == SEC_IRC ? "irc." : p->sec == SEC_MATRIX ? "matrix." : "",
		     p->secname);
		return 1;
	}
	set_value(p, k, ki, value);
	return 1;
}

/* ---- the line reader handed to inih ---- */

static int is_list_key(const struct key *keys, const char *name, size_t n)
{
	int i;
	for (i = 0; keys && keys[i].name; i++)
		if (strlen(keys[i].name) == n && !strncmp(keys[i].name, name, n))
			return keys[i].t == K_LIST || keys[i].t == K_CHANNELS;
	return 0;
}

/* Hands out "key = item, item" pieces of a long list line that fit the
 * reader's buffer; the list keys accumulate, so the result is the same. */
static char *emit_pending(struct parse *p, char *str, int num)
{
	size_t kl = strlen(p->pend_key), used;
	char *s = p->pend, *cut = NULL, *q;

	used = (size_t)snprintf(str, (size_t)num, "%s = ", p->pend_key);
	for (q = s; *q; q++) {
		if (*q == ',') {
			if ((size_t)(q - s) + used + 2 > (size_t)num)
				break;
			cut = q;
		}
	}
	if (!*q && (size_t)(q - s) + used + 2 <= (size_t)num)
		cut = q;
	if (!cut) {
		fail(p, p->line, "an item of %s is longer than %d bytes",
		     p->pend_key, num - (int)kl - 5);
		p->pend = NULL;
		str[0] = '\n';
		str[1] = 0;
		return str;
	}
	memcpy(str + used, s, (size_t)(cut - s));
	str[used + (size_t)(cut - s)] = '\n';
	str[used + (size_t)(cut - s) + 1] = 0;
	p->pend = *cut ? cut + 1 : NULL;
	return str;
}

static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *s, *e;

	if (num < 64)
		return NULL;
	if (p->pend)
		return emit_pending(p, str, num);
	/* textfile.c has refused NUL bytes, invalid UTF-8 and lines over
	 * CFG_MAX_LINE, and removed the '\n' and a '\r' before it. */
	if (!(s = textfile_line(&p->tf)))
		return NULL;
	p->line = p->tf.lineno;
	/* Leading blanks are dropped: an indented key is a key, never inih's
	 * continuation of the previous value. */
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	if (!*s || *s == ';' || *s == '#')
		return strcpy(str, "\n");
	if (*s == '[') {
		char *r = strchr(s, ']');
		if (!r) {
			fail(p, p->line, "section header without ']'; write [irc.NAME]");
			return strcpy(str, "\n");
		}
		begin_section(p, s + 1, (size_t)(r - s - 1));
	} else if (!strchr(s, '=')) {
		fail(p, p->line, "expected 'key = value' or '[section]'");
		return strcpy(str, "\n");
	}
	if (e - s + 2 <= num) {
		memcpy(str, s, (size_t)(e - s));
		str[e - s] = '\n';
		str[e - s + 1] = 0;
		return str;
	}
	/* Longer than inih's line buffer: only list values can be split. */
	{
		char *eq = strchr(s, '='), *k = s, *ke = eq, *v;
		/* A long "[section]" line has no '=' (found by fuzz_config). */
		if (*s == '[' || !eq) {
			fail(p, p->line, "line longer than %d bytes; shorten the value",
			     num - 2);
			return strcpy(str, "\n");
		}
		v = eq + 1;
		while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		while (*v == ' ' || *v == '\t')
			v++;
		if (!is_list_key(p->keys, k, (size_t)(ke - k)) ||
		    (size_t)(ke - k) >= sizeof p->pend_key) {
			fail(p, p->line, "line longer than %d bytes; shorten the value",
			     num - 2);
			return strcpy(str, "\n");
		}
		memcpy(p->pend_key, k, (size_t)(ke - k));
		p->pend_key[ke - k] = 0;
		p->pend = v;
		return emit_pending(p, str, num);
	}
}

/* ---- defaults and checks ---- */

static int dup_default(char **s, const char *def)
{
	if (*s && **s)
		return 0;
	free(*s);
	*s = def ? strdup(def) : NULL;
	return def && !*s ? -1 : 0;
}

/* An empty value means "not set". */
static void empty_is_unset(char **s)
{
	if (*s && !**s) {
		free(*s);
		*s = NULL;
	}
}

static int finish_policy(struct parse *p, struct chat_policy *pol)
{
	const struct bot_config *b = &p->c->bot;
	if (pol->user_rate < 0)
		pol->user_rate = b->user_rate;
	if (pol->user_burst < 0)
		pol->user_burst = b->user_burst;
	return strlist_merge(&pol->ignore, &b->ignore);
}

static int finish_bot(struct parse *p)
{
	struct bot_config *b = &p->c->bot;
	char *def;

	if (!b->knowledge || !*b->knowledge) {
		if (!(def = resolve_path(p, "knowledge")))
			return -1;
		free(b->knowledge);
		b->knowledge = def;
	}
	if (!b->state || !*b->state) {
		if (!(def = resolve_path(p, "faqbot.db")))
			return -1;
		free(b->state);
		b->state = def;
	}
	if (dup_default(&b->command_prefix, "!") < 0 ||
	    dup_default(&b->log_level, "info") < 0 ||
	    dup_default(&b->timezone, "Europe/Paris") < 0)
		return -1;
	if (strchr(b->command_prefix, ' ')) {
		fail(p, p->bot_line, "command_prefix must not hold a space; use e.g. \"!\"");
		return -1;
	}
	return 0;
}

static int finish_irc(struct parse *p, struct irc_config *ic)
{
	if (!ic->server || !*ic->server) {
		fail(p, ic->line, "[irc.%s] has no server; add e.g. "
		     "\"server = irc.libera.chat\"", ic->name);
		return -1;
	}
	if (!ic->nick || !*ic->nick) {
		fail(p, ic->line, "[irc.%s] has no nick; add e.g. \"nick = faqbot\"",
		     ic->name);
		return -1;
	}
	if (strpbrk(ic->nick, " ,*?!@:#")) {
		fail(p, ic->line, "[irc.%s]: nick '%s' holds a character IRC forbids",
		     ic->name, ic->nick);
		return -1;
	}
	if (ic->tls < 0)
		ic->tls = 1; /* TLS unless "tls = no" is written */
	if (ic->port < 0)
		ic->port = ic->tls ? 6697 : 6667;
	empty_is_unset(&ic->tls_ca_file);
	empty_is_unset(&ic->client_cert);
	empty_is_unset(&ic->client_key);
	empty_is_unset(&ic->sasl_password);
	if (dup_default(&ic->username, ic->nick) < 0 ||
	    dup_default(&ic->realname, "faqbot") < 0 ||
	    dup_default(&ic->sasl_username, ic->nick) < 0 ||
	    dup_default(&ic->quit_message, "faqbot s'arrête") < 0)
		return -1;
	if (ic->throttle_burst < 0)
		ic->throttle_burst = 4; /* Sopel's defaults (issue 3) */
	if (ic->throttle_rate < 0)
		ic->throttle_rate = 1;
	if (ic->lag_timeout < 0)
		ic->lag_timeout = 240;
	if (ic->reconnect_max < 0)
		ic->reconnect_max = 300;
	if (ic->sasl_mechanism == SASL_PLAIN && !ic->sasl_password) {
		fail(p, ic->line, "[irc.%s]: sasl_mechanism = PLAIN needs sasl_password",
		     ic->name);
		return -1;
	}
	if (ic->sasl_mechanism == SASL_EXTERNAL && !ic->client_cert) {
		fail(p, ic->line, "[irc.%s]: sasl_mechanism = EXTERNAL needs client_cert "
		     "(and client_key unless the key is in the same file)", ic->name);
		return -1;
	}
	if (ic->client_key && !ic->client_cert) {
		fail(p, ic->line, "[irc.%s]: client_key without client_cert; set both",
		     ic->name);
		return -1;
	}
	if (ic->client_cert && !ic->tls) {
		fail(p, ic->line, "[irc.%s]: a client certificate needs TLS; remove "
		     "\"tls = no\"", ic->name);
		return -1;
	}
	if (ic->sasl_password && !ic->tls && !ic->allow_plaintext_password) {
		fail(p, ic->line, "[irc.%s]: sasl_password would be sent without TLS; "
		     "remove \"tls = no\", or write \"allow_plaintext_password = yes\" "
		     "if the network is trusted", ic->name);
		return -1;
	}
	if (ic->allow_plaintext_password < 0)
		ic->allow_plaintext_password = 0;
	return finish_policy(p, &ic->policy);
}

static int finish_matrix(struct parse *p, struct matrix_config *mc)
{
	int https;
	if (!mc->homeserver || !*mc->homeserver) {
		fail(p, mc->line, "[matrix.%s] has no homeserver; add e.g. "
		     "\"homeserver = https://matrix.example.org\"", mc->name);
		return -1;
	}
	https = !strncasecmp(mc->homeserver, "https://", 8);
	if (!https && strncasecmp(mc->homeserver, "http://", 7)) {
		fail(p, mc->line, "[matrix.%s]: homeserver must start with https:// "
		     "(or http://)", mc->name);
		return -1;
	}
	if (!mc->user || !*mc->user) {
		fail(p, mc->line, "[matrix.%s] has no user; add e.g. "
		     "\"user = @faqbot:example.org\"", mc->name);
		return -1;
	}
	empty_is_unset(&mc->password);
	empty_is_unset(&mc->access_token);
	empty_is_unset(&mc->pickle_key);
	if (!mc->password && !mc->access_token) {
		fail(p, mc->line, "[matrix.%s] needs password or access_token", mc->name);
		return -1;
	}
	if (!https && !mc->allow_plaintext_password) {
		fail(p, mc->line, "[matrix.%s]: the %s would be sent without TLS (http://); "
		     "use https://, or write \"allow_plaintext_password = yes\" for a "
		     "homeserver on this machine", mc->name,
		     mc->password ? "password" : "access token");
		return -1;
	}
	if (!mc->pickle_key) {
		const char *env = getenv("FAQBOT_PICKLE_KEY");
		if (env && *env && !(mc->pickle_key = strdup(env)))
			return -1;
	}
	if (mc->e2ee && !mc->pickle_key) {
		fail(p, mc->line, "[matrix.%s]: e2ee = yes needs pickle_key (or the "
		     "environment variable FAQBOT_PICKLE_KEY)", mc->name);
		return -1;
	}
	if (dup_default(&mc->device_name, "faqbot") < 0)
		return -1;
	if (mc->sync_timeout < 0)
		mc->sync_timeout = 30;
	if (mc->reconnect_max < 0)
		mc->reconnect_max = 300;
	return finish_policy(p, &mc->policy);
}

static char *dir_of(const char *path)
{
	const char *sl = strrchr(path, '/');
	if (!sl)
		return strdup(".");
	if (sl == path)
		return strdup("/");
	return strndup(path, (size_t)(sl - path));
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	struct parse p;
	struct config *c;
	struct stat st;
	size_t i;
	int r;

	memset(&p, 0, sizeof p);
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	if (errlen)
		err[0] = 0;
	/* A FIFO, a device or a huge file is refused, never waited on: a
	 * reload reads the config inside the running bot. */
	if (textfile_read(&p.tf, path, CFG_MAX_LINE, err, errlen) < 0)
		return NULL;
	c = calloc(1, sizeof *c);
	p.dir = dir_of(path);
	if (!c || !p.dir || !(c->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto bad;
	}
	c->bot.max_answer_age = 600;
	c->bot.record_days = 90;
	c->bot.auto_answer_confidence = -1;
	c->bot.user_rate = 6;
	c->bot.user_burst = 5; /* a 4th quick question is normal use */
	c->bot.conversation_timeout = 600;
	p.c = c;
	r = ini_parse_stream(reader, &p, handler, &p);
	if (!p.failed && r != 0)
		fail(&p, p.line, "cannot parse this line; write 'key = value' or "
		     "'[section]'");
	if (p.failed)
		goto bad;
	if (finish_bot(&p) < 0)
		goto oom;
	for (i = 0; i < c->nirc; i++)
		if (finish_irc(&p, &c->irc[i]) < 0)
			goto oom;
	for (i = 0; i < c->nmatrix; i++)
		if (finish_matrix(&p, &c->matrix[i]) < 0)
			goto oom;
	if (p.secret_seen && stat(path, &st) == 0 && (st.st_mode & 077))
		log_warn("%s holds a password, key or token and is readable by other "
			 "users; run: chmod 600 %s", path, path);
	textfile_free(&p.tf);
	free(p.dir);
	return c;
oom:
	if (!p.failed)
		snprintf(err, errlen, "%s: out of memory", path);
bad:
	textfile_free(&p.tf);
	free(p.dir);
	config_free(c);
	return NULL;
}

static void policy_free(struct chat_policy *pol)
{
	strlist_free(&pol->admins);
	strlist_free(&pol->auto_answer);
	strlist_free(&pol->ignore);
	free(pol->escalate_to);
}

/* Overwrites a secret before freeing it, so it does not linger. */
static void secret_free(char *s)
{
	if (s) {
		volatile char *v = s;
		while (*v)
			*v++ = 0;
		free(s);
	}
}

void config_free(struct config *c)
{
	size_t i, j;
	if (!c)
		return;
	free(c->path);
	free(c->bot.knowledge);
	free(c->bot.knowledge_value);
	free(c->bot.state);
	free(c->bot.command_prefix);
	free(c->bot.log_level);
	free(c->bot.timezone);
	strlist_free(&c->bot.ignore);
	for (i = 0; i < c->nirc; i++) {
		struct irc_config *ic = &c->irc[i];
		free(ic->name);
		free(ic->server);
		free(ic->tls_ca_file);
		free(ic->nick);
		strlist_free(&ic->alt_nicks);
		free(ic->username);
		free(ic->realname);
		for (j = 0; j < ic->nchannels; j++) {
			free(ic->channels[j].name);
			secret_free(ic->channels[j].key);
		}
		free(ic->channels);
		free(ic->sasl_username);
		secret_free(ic->sasl_password);
		free(ic->client_cert);
		free(ic->client_key);
		policy_free(&ic->policy);
		free(ic->quit_message);
	}
	free(c->irc);
	for (i = 0; i < c->nmatrix; i++) {
		struct matrix_config *mc = &c->matrix[i];
		free(mc->name);
		free(mc->homeserver);
		free(mc->user);
		secret_free(mc->password);
		secret_free(mc->access_token);
		free(mc->device_name);
		policy_free(&mc->policy);
		strlist_free(&mc->allowed_inviters);
		secret_free(mc->pickle_key);
	}
	free(c->matrix);
	free(c);
}

/* ---- dump ---- */

static void dump_value(FILE *f, const struct key *k, const void *base)
{
	const char *field = (const char *)base + k->off;
	size_t i;

	fprintf(f, "%s = ", k->name);
	switch (k->t) {
	case K_SECRET: {
		const char *s = *(char *const *)(const void *)field;
		fputs(s && *s ? "<hidden>" : "", f);
		break;
	}
	case K_STR:
	case K_PATH:
	case K_LOGLEVEL: {
		const char *s = *(char *const *)(const void *)field;
		fputs(s ? s : "", f);
		break;
	}
	case K_BOOL:
		fputs(*(const int *)(const void *)field > 0 ? "yes" : "no", f);
		break;
	case K_INT:
		fprintf(f, "%d", *(const int *)(const void *)field);
		break;
	case K_DOUBLE: {
		double d = *(const double *)(const void *)field;
		if (d >= 0)
			fprintf(f, "%g", d);
		break;
	}
	case K_LIST: {
		const struct strlist *l = (const struct strlist *)(const void *)field;
		for (i = 0; i < l->n; i++)
			fprintf(f, "%s%s", i ? ", " : "", l->v[i]);
		break;
	}
	case K_CHANNELS: {
		const struct irc_config *ic = base;
		for (i = 0; i < ic->nchannels; i++)
			fprintf(f, "%s%s%s", i ? ", " : "", ic->channels[i].name,
				ic->channels[i].key ? " <hidden>" : "");
		break;
	}
	case K_SASL: {
		enum sasl_mech m = *(const enum sasl_mech *)(const void *)field;
		fputs(m == SASL_PLAIN ? "PLAIN" : m == SASL_EXTERNAL ? "EXTERNAL" : "none", f);
		break;
	}
	}
	fputc('\n', f);
}

void config_knowledge_error(const struct config *c, const char *dir,
			    const char *err, char *out, size_t outlen)
{
	const struct bot_config *b;

	if (!outlen)
		return;
	if (!c || !dir || !c->bot.knowledge || strcmp(dir, c->bot.knowledge)) {
		snprintf(out, outlen, "%s", err);
		return;
	}
	b = &c->bot;
	if (!b->knowledge_line)
		snprintf(out, outlen, "%s: knowledge is not set in [bot], so it is the "
			 "folder \"knowledge\" beside the config (%s): %s; set knowledge = "
			 "/absolute/path in [bot]", c->path, b->knowledge, err);
	else if (b->knowledge_value && b->knowledge_value[0] != '/')
		snprintf(out, outlen, "%s:%d: knowledge = %s (relative to the config's "
			 "folder: %s): %s; set an absolute path", c->path, b->knowledge_line,
			 b->knowledge_value, b->knowledge, err);
	else
		snprintf(out, outlen, "%s:%d: knowledge = %s: %s", c->path,
			 b->knowledge_line, b->knowledge_value ? b->knowledge_value
							       : b->knowledge, err);
}

static void dump_section(FILE *f, const char *head, const struct key *keys,
			 const void *base)
{
	int i;
	fprintf(f, "[%s]\n", head);
	for (i = 0; keys[i].name; i++)
		dump_value(f, &keys[i], base);
	fputc('\n', f);
}

int config_dump(const struct config *c, FILE *f)
{
	char head[160];
	size_t i;

	fprintf(f, "; effective configuration of %s (secrets hidden)\n", c->path);
	dump_section(f, "bot", bot_keys, &c->bot);
	for (i = 0; i < c->nirc; i++) {
		snprintf(head, sizeof head, "irc.%s", c->irc[i].name);
		dump_section(f, head, irc_keys, &c->irc[i]);
	}
	for (i = 0; i < c->nmatrix; i++) {
		snprintf(head, sizeof head, "matrix.%s", c->matrix[i].name);
		dump_section(f, head, matrix_keys, &c->matrix[i]);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
