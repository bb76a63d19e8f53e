/* config.c - reads config.ini with inifile.c (the reader of the knowledge
 * files too) into the open struct config of config.h: one table of the
 * keys of every section type, defaults filled in after parsing, then
 * cross-key checks.
 * Every error names "path:line" and says how to fix it.  It opens no
 * connection and never logs a secret value; config_dump writes secrets
 * as "<hidden>". */
#include <ctype.h>
#include <errno.h>
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
#include "inifile.h"
#include "log.h"

#define CFG_MAX_LINE 65536     /* bytes in one line (SECURITY.md): a long list */
#define CFG_MAX_LIST STRLIST_MAX /* items in one list setting */
#define CFG_MAX_NETS 64        /* networks of each kind */

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

/* The section types, which index struct key's off. */
enum sec { SEC_BOT, SEC_IRC, SEC_MATRIX };

/* off: where the value goes in struct bot_config, irc_config and
 * matrix_config, or NO when the key is not one of that section.
 * min/max: the range of a K_INT or K_DOUBLE; for K_STR, K_SECRET, K_PATH
 * and K_LIST, max > 0 is the longest value (or list item) in bytes, where
 * the bot keeps it in a fixed buffer. */
struct key {
	const char *name;
	enum ktype t;
	size_t off[3];
	double min, max;
	unsigned flags;
};
#define NO ((size_t)-1)

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
/* ircreg.c's SASL PLAIN payload (1024 bytes) holds the account name
 * twice and the password; store.h keeps the Matrix session in
 * homeserver[512], user_id[256] and access_token[1024]. */
#define CFG_MAX_SASL 255
#define CFG_MAX_HOMESERVER 511
#define CFG_MAX_MXID 255
#define CFG_MAX_TOKEN 1023

#define B(f) offsetof(struct bot_config, f)
#define I(f) offsetof(struct irc_config, f)
#define M(f) offsetof(struct matrix_config, f)
#define KEY(name, t, b, i, m, lo, hi) { name, t, { b, i, m }, lo, hi, 0 }

/* Every key of every section, once: a key two sections share has one
 * type and one range.  In the order config_dump writes them. */
static const struct key keys[] = {
	KEY("knowledge", K_PATH, B(knowledge), NO, NO, 0, 0),
	KEY("state", K_PATH, B(state), NO, NO, 0, 0),
	KEY("command_prefix", K_STR, B(command_prefix), NO, NO, 0, CFG_MAX_PREFIX),
	KEY("log_level", K_LOGLEVEL, B(log_level), NO, NO, 0, 0),
	KEY("timezone", K_STR, B(timezone), NO, NO, 0, 0),
	KEY("server", K_STR, NO, I(server), NO, 0, 0),
	KEY("port", K_INT, NO, I(port), NO, 1, 65535),
	KEY("tls", K_BOOL, NO, I(tls), NO, 0, 0),
	KEY("tls_ca_file", K_PATH, NO, I(tls_ca_file), NO, 0, 0),
	KEY("nick", K_STR, NO, I(nick), NO, 0, CFG_MAX_NICK),
	KEY("alt_nicks", K_LIST, NO, I(alt_nicks), NO, 0, CFG_MAX_NICK),
	KEY("username", K_STR, NO, I(username), NO, 0, CFG_MAX_NICK),
	KEY("realname", K_STR, NO, I(realname), NO, 0, 0),
	KEY("channels", K_CHANNELS, NO, I(channels), NO, 0, 0),
	KEY("sasl_mechanism", K_SASL, NO, I(sasl_mechanism), NO, 0, 0),
	KEY("sasl_username", K_STR, NO, I(sasl_username), NO, 0, CFG_MAX_SASL),
	KEY("sasl_password", K_SECRET, NO, I(sasl_password), NO, 0, CFG_MAX_SASL),
	KEY("client_cert", K_PATH, NO, I(client_cert), NO, 0, 0),
	KEY("client_key", K_PATH, NO, I(client_key), NO, 0, 0),
	KEY("homeserver", K_STR, NO, NO, M(homeserver), 0, CFG_MAX_HOMESERVER),
	KEY("user", K_STR, NO, NO, M(user), 0, CFG_MAX_MXID),
	KEY("password", K_SECRET, NO, NO, M(password), 0, 0),
	KEY("access_token", K_SECRET, NO, NO, M(access_token), 0, CFG_MAX_TOKEN),
	KEY("device_name", K_STR, NO, NO, M(device_name), 0, 0),
	KEY("admins", K_LIST, NO, I(policy.admins), M(policy.admins), 0, 0),
	KEY("allowed_inviters", K_LIST, NO, NO, M(allowed_inviters), 0, 0),
	KEY("auto_answer", K_LIST, NO, I(policy.auto_answer), M(policy.auto_answer), 0, 0),
	KEY("ignore", K_LIST, B(ignore), I(policy.ignore), M(policy.ignore), 0, 0),
	KEY("max_answer_age", K_INT, B(max_answer_age), NO, NO, 0, 7 * 86400),
	KEY("auto_answer_confidence", K_DOUBLE, B(auto_answer_confidence), NO, NO, 0, 1),
	KEY("user_rate", K_INT, B(user_rate), I(policy.user_rate), M(policy.user_rate), 0, 100000),
	KEY("user_burst", K_INT, B(user_burst), I(policy.user_burst), M(policy.user_burst), 1,
	    100000),
	KEY("record_questions", K_BOOL, B(record_questions), NO, NO, 0, 0),
	KEY("record_days", K_INT, B(record_days), NO, NO, 1, 3650),
	KEY("conversation_timeout", K_INT, B(conversation_timeout), NO, NO, 0, 86400),
	KEY("escalate_to", K_STR, NO, I(policy.escalate_to), M(policy.escalate_to), 0, 0),
	KEY("throttle_burst", K_INT, NO, I(throttle_burst), NO, 1, 100000),
	{ "throttle_rate", K_DOUBLE, { NO, I(throttle_rate), NO }, 0.01, 1000000, KF_ZERO_OFF },
	KEY("lag_timeout", K_INT, NO, I(lag_timeout), NO, 10, 86400),
	KEY("e2ee", K_BOOL, NO, NO, M(e2ee), 0, 0),
	KEY("pickle_key", K_SECRET, NO, NO, M(pickle_key), 0, 0),
	KEY("sync_timeout", K_INT, NO, NO, M(sync_timeout), 1, 3600),
	KEY("reconnect_max", K_INT, NO, I(reconnect_max), M(reconnect_max), 1, 86400),
	KEY("quit_message", K_STR, NO, I(quit_message), NO, 0, 0),
	KEY("allow_plaintext_password", K_BOOL, NO, I(allow_plaintext_password),
	    M(allow_plaintext_password), 0, 0),
};
#define NKEYS (sizeof keys / sizeof keys[0])

struct parse {
	const char *path;
	char *dir;            /* directory of path, for relative paths */
	struct config *c;
	int line;             /* line of the event inifile.c hands over */
	enum sec sec;
	void *base;           /* struct being filled */
	const char *secname;  /* "bot", "irc.libera", ... */
	int set_line[NKEYS];  /* where each key of this section was set */
	int bot_line;         /* line of [bot], 0 if none */
	int secret_seen;
	char *msg;            /* while inifile.c reads: its callback's error buffer */
	size_t msglen;
	char *err;            /* config_load's */
	size_t errlen;
	int failed;
};

static int fail(struct parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets the error and returns -1; the first error is the one to fix first.
 * While inifile.c reads, line is that of its event, and the message goes
 * bare to its callback, for inifile.c puts "path:line: " before it; the
 * checks after reading name their own line. */
static int fail(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	if (p->failed)
		return -1;
	p->failed = 1;
	va_start(ap, fmt);
	if (p->msg)
		vsnprintf(p->msg, p->msglen, fmt, ap);
	else
		errmsg_vat(p->err, p->errlen, p->path, line, fmt, ap);
	va_end(ap);
	return -1;
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
	char *field = (char *)p->base + k->off[p->sec];
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

/* A new [irc.NAME] (name, owned) seen on line: -1 is "not set". */
static void irc_init(struct irc_config *ic, char *name, int line)
{
	memset(ic, 0, sizeof *ic);
	ic->name = name;
	ic->line = line;
	ic->port = -1;
	ic->tls = -1;
	ic->policy.user_rate = -1;
	ic->policy.user_burst = -1;
	ic->throttle_burst = -1;
	ic->throttle_rate = -1;
	ic->lag_timeout = -1;
	ic->reconnect_max = -1;
}

static void matrix_init(struct matrix_config *mc, char *name, int line)
{
	memset(mc, 0, sizeof *mc);
	mc->name = name;
	mc->line = line;
	mc->policy.user_rate = -1;
	mc->policy.user_burst = -1;
	mc->sync_timeout = -1;
	mc->reconnect_max = -1;
}

/* "[sec]" seen on p->line: switch the section being filled. */
static void begin_section(struct parse *p, const char *sec)
{
	struct config *c = p->c;
	char *name;
	void *v;
	size_t i;

	memset(p->set_line, 0, sizeof p->set_line);
	if (!strcmp(sec, "bot")) {
		if (p->bot_line) {
			fail(p, p->line, "[bot] appears twice (first on line %d); merge them",
			     p->bot_line);
			return;
		}
		p->bot_line = p->line;
		p->sec = SEC_BOT;
		p->base = &c->bot;
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
		name = strdup(nm);
		v = !name ? NULL : irc ? realloc(c->irc, (c->nirc + 1) * sizeof *c->irc)
				       : realloc(c->matrix, (c->nmatrix + 1) * sizeof *c->matrix);
		if (!v) {
			free(name);
			goto oom;
		}
		if (irc) {
			c->irc = v;
			irc_init(&c->irc[c->nirc], name, p->line);
			p->base = &c->irc[c->nirc++];
		} else {
			c->matrix = v;
			matrix_init(&c->matrix[c->nmatrix], name, p->line);
			p->base = &c->matrix[c->nmatrix++];
		}
		p->sec = irc ? SEC_IRC : SEC_MATRIX;
		p->secname = name;
		return;
	}
	fail(p, p->line, "unknown section [%s]; the sections are [bot], [irc.NAME] "
	     "and [matrix.NAME]", sec);
	return;
oom:
	fail(p, p->line, "out of memory");
}

/* The key name of section type sec, with its index in keys, or NULL. */
static const struct key *find_key(enum sec sec, const char *name, int *ki)
{
	size_t i;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].off[sec] != NO && !strcmp(keys[i].name, name)) {
			*ki = (int)i;
			return &keys[i];
		}
	return NULL;
}

/* "name = value" seen on p->line, in the section begin_section set up. */
static void set_key(struct parse *p, const char *name, const char *value)
{
	const struct key *k;
	int ki;

	if (!(k = find_key(p->sec, name, &ki))) {
		fail(p, p->line, "unknown key '%s' in [%s%s]; config.example.ini lists "
		     "the keys of each section", name,
		     p->sec == SEC_IRC ? "irc." : p->sec == SEC_MATRIX ? "matrix." : "",
		     p->secname);
		return;
	}
	if (set_value(p, k, ki, value) < 0)
		fail(p, p->line, "out of memory");
}

/* inifile.c's callback: sections and keys, each with its line.  Comments,
 * blank lines, the syntax and the bytes themselves are inifile.c's. */
static int on_ini(void *u, enum ini_ev ev, int line, const char *section,
		  const char *key, char *value, char *err, size_t errlen)
{
	struct parse *p = u;

	p->line = line;
	p->msg = err;
	p->msglen = errlen;
	if (ev == INI_SECTION)
		begin_section(p, section);
	else if (ev == INI_KEY)
		set_key(p, key, value);
	p->msg = NULL;
	return p->failed ? -1 : 0;
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
		ic->throttle_burst = 4; /* Sopel's defaults */
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
	struct parse p = { .path = path, .err = err, .errlen = errlen };
	struct config *c;
	struct stat st;
	size_t i;

	if (errlen)
		err[0] = 0;
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
	/* textfile.c, under inifile.c, refuses a FIFO, a device or a huge
	 * file rather than wait on it: a reload reads the config inside the
	 * running bot. */
	if (inifile_read(path, CFG_MAX_LINE, INI_INLINE_COMMENTS, on_ini, &p, err, errlen) < 0)
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
	free(p.dir);
	return c;
oom:
	if (!p.failed)
		snprintf(err, errlen, "%s: out of memory", path);
bad:
	free(p.dir);
	config_free(c);
	return NULL;
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

/* Frees what the keys of section type sec point to in base, so that a
 * key added to the table is freed with no more code. */
static void free_fields(enum sec sec, void *base)
{
	size_t i, j;

	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		void *field;
		if (k->off[sec] == NO)
			continue;
		field = (char *)base + k->off[sec];
		switch (k->t) {
		case K_SECRET:
			secret_free(*(char **)field);
			break;
		case K_STR:
		case K_PATH:
		case K_LOGLEVEL:
			free(*(char **)field);
			break;
		case K_LIST:
			strlist_free(field);
			break;
		case K_CHANNELS: {
			struct irc_config *ic = base;
			for (j = 0; j < ic->nchannels; j++) {
				free(ic->channels[j].name);
				secret_free(ic->channels[j].key);
			}
			free(ic->channels);
			break;
		}
		case K_BOOL:
		case K_INT:
		case K_DOUBLE:
		case K_SASL:
			break;
		}
	}
}

void config_free(struct config *c)
{
	size_t i;
	if (!c)
		return;
	free(c->path);
	free(c->bot.knowledge_value);
	free_fields(SEC_BOT, &c->bot);
	for (i = 0; i < c->nirc; i++) {
		free(c->irc[i].name);
		free_fields(SEC_IRC, &c->irc[i]);
	}
	free(c->irc);
	for (i = 0; i < c->nmatrix; i++) {
		free(c->matrix[i].name);
		free_fields(SEC_MATRIX, &c->matrix[i]);
	}
	free(c->matrix);
	free(c);
}

/* ---- dump ---- */

static void dump_value(FILE *f, const struct key *k, enum sec sec, const void *base)
{
	const char *field = (const char *)base + k->off[sec];
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

static void dump_section(FILE *f, const char *head, enum sec sec, const void *base)
{
	size_t i;
	fprintf(f, "[%s]\n", head);
	for (i = 0; i < NKEYS; i++)
		if (keys[i].off[sec] != NO)
			dump_value(f, &keys[i], sec, base);
	fputc('\n', f);
}

int config_dump(const struct config *c, FILE *f)
{
	char head[160];
	size_t i;

	fprintf(f, "; effective configuration of %s (secrets hidden)\n", c->path);
	dump_section(f, "bot", SEC_BOT, &c->bot);
	for (i = 0; i < c->nirc; i++) {
		snprintf(head, sizeof head, "irc.%s", c->irc[i].name);
		dump_section(f, head, SEC_IRC, &c->irc[i]);
	}
	for (i = 0; i < c->nmatrix; i++) {
		snprintf(head, sizeof head, "matrix.%s", c->matrix[i].name);
		dump_section(f, head, SEC_MATRIX, &c->matrix[i]);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
