/* bot.c - what the bot does with one chat message, whatever the transport:
 * decide whether it is for the bot (private, addressed, command prefix,
 * auto_answer with high confidence), check admin rights by account,
 * apply a bounded per-user rate limit, and get the French answer from
 * ask_question.  No I/O: transports send what bot_handle returns.
 * The knowledge base is swapped whole on reload (style.md, "Memory"). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bot.h"
#include "clock.h"
#include "conv.h"
#include "intent.h"
#include "kb.h"
#include "log.h"

#define BOT_MAX_QUESTION 2048  /* bytes of a message given to the engine */
#define RATE_WAYS 4
#define RATE_SETS (BOT_RATE_SLOTS / RATE_WAYS)

/* One user's token bucket; 0 key = free. */
struct rate_slot {
	uint64_t key;
	double tokens;
	int64_t last_ms;   /* last refill */
	uint64_t used;     /* LRU stamp */
	int noticed;       /* the "slow down" notice was sent */
	double minor;      /* bot_minor_take's bucket, its refill, its notice */
	int64_t minor_ms;
	int minor_noticed;
};

/* A question handed over to people (escalate_to). */
struct ticket {
	unsigned n;           /* 0: free */
	char net[64];
	char asker[64];
	char where[256];      /* channel, or "" for a private message */
	char event[256];      /* Matrix: the question's event id; "" on IRC */
	char taker[64];       /* "" until someone says "!pris N" or reacts */
};

struct bot {
	struct kb *kb;
	struct ticket tickets[BOT_TICKETS];
	unsigned next_ticket;
	char prefix[32];
	size_t prefix_len;
	struct strlist ignore;
	double threshold;
	bot_reload_fn reload;
	void *reload_arg;
	bot_record_fn record;
	bot_feedback_fn feedback;
	void *record_arg;
	struct rate_slot rate[BOT_RATE_SLOTS];
	uint64_t rate_clock;
	struct bot_stats st;
	struct reply scratch; /* 4 KiB: kept off the stack and reused */
	struct conv_table *conv; /* conversations: follow-ups (conv.h) */
	char framed[BOT_MAX_QUESTION + 64]; /* ask_delai's question */
};

static const char msg_limited[] =
	"Doucement : beaucoup de questions d'affilée. Je vous réponds à "
	"nouveau dans une minute.";
static const char msg_reloaded[] =
	"Rechargement effectué : la nouvelle base est en service.";
static const char msg_wrong[] =
	"Merci, c'est noté : ma dernière réponse sera revue par l'équipe.";
static const char msg_refused[] =
	"Désolé, cette commande est réservée aux administrateurs du bot.";

/* ---- settings and knowledge ---- */

int bot_set_config(struct bot *b, const struct bot_config *cfg)
{
	struct strlist ig = { NULL, 0 };
	const char *pfx = cfg->command_prefix ? cfg->command_prefix : "!";
	size_t i;

	if (strlen(pfx) >= sizeof b->prefix)
		return -1;
	if (cfg->ignore.n) {
		if (!(ig.v = calloc(cfg->ignore.n, sizeof *ig.v)))
			return -1;
		for (i = 0; i < cfg->ignore.n; i++, ig.n++)
			if (!(ig.v[i] = strdup(cfg->ignore.v[i]))) {
				strlist_free(&ig);
				return -1;
			}
	}
	strlist_free(&b->ignore);
	b->ignore = ig;
	snprintf(b->prefix, sizeof b->prefix, "%s", pfx);
	b->prefix_len = strlen(b->prefix);
	/* < 0: the knowledge's own threshold (intents.ini auto_answer). */
	b->threshold = cfg->auto_answer_confidence;
	conv_set_timeout(b->conv, (int64_t)cfg->conversation_timeout * 1000);
	clock_set_tz(cfg->timezone);
	return 0;
}

struct bot *bot_new(const struct bot_config *cfg, struct kb *kb)
{
	struct bot *b;
	if (!cfg || !kb || !(b = calloc(1, sizeof *b)))
		return NULL;
	if (bot_set_config(b, cfg) < 0) {
		free(b);
		return NULL;
	}
	if (!(b->conv = conv_new(0, (int64_t)cfg->conversation_timeout * 1000))) {
		bot_free(b);
		return NULL;
	}
	b->kb = kb;
	b->st.started = b->st.kb_loaded = time(NULL);
	return b;
}

void bot_free(struct bot *b)
{
	if (!b)
		return;
	kb_free(b->kb);
	strlist_free(&b->ignore);
	conv_free(b->conv);
	free(b);
}

void bot_set_kb(struct bot *b, struct kb *kb)
{
	struct kb *old;
	if (!b || !kb)
		return;
	old = b->kb;
	b->kb = kb;
	b->st.kb_loaded = time(NULL);
	kb_free(old);
}

int bot_reload_kb(struct bot *b, const char *dir, char *err, size_t errlen)
{
	struct kb *kb = kb_load(dir, err, errlen);
	if (!kb)
		return -1;
	bot_set_kb(b, kb);
	return 0;
}

const struct kb *bot_kb(const struct bot *b)
{
	return b ? b->kb : NULL;
}

void bot_set_reload_hook(struct bot *b, bot_reload_fn fn, void *arg)
{
	b->reload = fn;
	b->reload_arg = arg;
}

void bot_set_record_hook(struct bot *b, bot_record_fn fn, bot_feedback_fn fb, void *arg)
{
	b->record = fn;
	b->feedback = fb;
	b->record_arg = arg;
}

static int ignored(const struct bot *b, const struct chat_msg *m);

int bot_reaction(struct bot *b, const struct chat_msg *m, const char *answer_event,
		 const char *key)
{
	/* U+1F44D / U+1F44E, then at most a skin tone (U+1F3FB..F) or a
	 * variation selector (U+FE0F) */
	static const char up[] = "\xF0\x9F\x91\x8D", down[] = "\xF0\x9F\x91\x8E";
	const char *rest;
	int good;

	if (!b->feedback || !answer_event || !key || !m->sender || ignored(b, m))
		return 0;
	if (!strncmp(key, up, 4))
		good = 1;
	else if (!strncmp(key, down, 4))
		good = 0;
	else
		return 0;
	rest = key + 4;
	if (!strncmp(rest, "\xF0\x9F\x8F", 3) && (unsigned char)rest[3] >= 0xBB &&
	    (unsigned char)rest[3] <= 0xBF)
		rest += 4;
	else if (!strcmp(rest, "\xEF\xB8\x8F"))
		rest += 3;
	if (*rest)
		return 0;
	return b->feedback(b->record_arg, m, answer_event, good) == 1;
}

void bot_get_stats(const struct bot *b, struct bot_stats *st)
{
	*st = b->st;
}

struct date bot_today(const struct bot *b, time_t now)
{
	(void)b;
	return clock_today(now);
}

/* ---- per-user rate limit: a 4-way set-associative table, LRU in each
 * set, so memory is fixed whatever the number of users ---- */

static uint64_t user_key(const char *network, const char *sender)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	const char *s;
	for (s = network ? network : ""; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (s = sender ? sender : ""; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ULL;
	return h ? h : 1;
}

/* m's slot (taken over from the least recently seen when new). */
static struct rate_slot *rate_slot(struct bot *b, const struct chat_msg *m, int burst)
{
	uint64_t key = user_key(m->network, m->user_id ? m->user_id : m->sender);
	struct rate_slot *set = &b->rate[(key % RATE_SETS) * RATE_WAYS], *s = NULL;
	int i;

	for (i = 0; i < RATE_WAYS; i++)
		if (set[i].key == key)
			return &set[i];
	s = &set[0];
	for (i = 1; i < RATE_WAYS; i++)
		if (set[i].used < s->used)
			s = &set[i];
	memset(s, 0, sizeof *s);
	s->key = key;
	s->tokens = burst;
	s->last_ms = s->minor_ms = m->now_ms;
	s->minor = BOT_MINOR_BURST;
	return s;
}

/* One token of a bucket (burst, rate a minute): 1: taken; 0: empty, send
 * the notice; -1: empty and already told: stay silent. */
static int bucket_take(double *tokens, int64_t *last, int *noticed, int64_t now, int rate,
		       int burst)
{
	if (now > *last) {
		*tokens += (double)(now - *last) * rate / 60000.0;
		if (*tokens > burst)
			*tokens = burst;
	}
	*last = now;
	if (*tokens >= 1) {
		*tokens -= 1;
		*noticed = 0;
		return 1;
	}
	if (*noticed)
		return -1;
	*noticed = 1;
	return 0;
}

/* 1: may be answered; 0: over the limit, send the notice; -1: over the
 * limit and already told: stay silent. */
static int rate_take(struct bot *b, const struct chat_msg *m)
{
	const struct chat_policy *pol = m->policy;
	int rate = pol ? pol->user_rate : 6, burst = pol ? pol->user_burst : 3;
	struct rate_slot *s;

	if (rate <= 0)
		return 1;
	if (burst < 1)
		burst = 1;
	s = rate_slot(b, m, burst);
	s->used = ++b->rate_clock;
	return bucket_take(&s->tokens, &s->last_ms, &s->noticed, m->now_ms, rate, burst);
}

static int set_text(struct chat_reply *out, enum chat_kind kind, const char *s, size_t n);
static const char *net_kind(const struct chat_msg *m);

int bot_minor_take(struct bot *b, const struct chat_msg *m, struct chat_reply *out)
{
	const struct chat_policy *pol = m->policy;
	int burst = pol ? pol->user_burst : 3, r;
	struct rate_slot *s;

	out->kind = CHAT_NONE;
	out->len = 0;
	if (pol && pol->user_rate <= 0)
		return 1;
	s = rate_slot(b, m, burst < 1 ? 1 : burst);
	s->used = ++b->rate_clock;
	r = bucket_take(&s->minor, &s->minor_ms, &s->minor_noticed, m->now_ms,
			BOT_MINOR_PER_MIN, BOT_MINOR_BURST);
	if (r == 0) {
		b->st.limited++;
		log_info("rate limit (refusals, CTCP): %s on %s.%s", m->sender, net_kind(m),
			 m->network ? m->network : "?");
		set_text(out, CHAT_LIMITED, msg_limited, sizeof msg_limited - 1);
	}
	return r;
}

/* ---- parsing the message ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* "faqbot: q", "faqbot, q", "faqbot q", "@faqbot q", any case: moves *p
 * past the address and returns 1; otherwise 0. */
static int strip_address(const char **p, const char *end, const char *name)
{
	const char *s = *p;
	size_t n;

	if (!name || !(n = strlen(name)))
		return 0;
	if (s < end && *s == '@')
		s++;
	if ((size_t)(end - s) < n || strncasecmp(s, name, n))
		return 0;
	s += n;
	if (s < end && !strchr(":, \t>", *s))
		return 0; /* "faqbots" is not "faqbot" */
	s = skip_ws(s, end);
	while (s < end && (*s == ':' || *s == ',' || *s == '>'))
		s++;
	*p = skip_ws(s, end);
	return 1;
}

/* "irc" / "matrix" for the logs: the transport's word, else told from the
 * sender (a Matrix id is "@user:server"; an IRC nick holds neither '@'
 * nor ':'). */
static const char *net_kind(const struct chat_msg *m)
{
	if (m->kind && *m->kind)
		return m->kind;
	return m->sender && m->sender[0] == '@' && strchr(m->sender, ':') ? "matrix"
									  : "irc";
}

/* "!delai TEXT": TEXT as typed first, so "!delai c koi l'etat DIFF" gets
 * the DIFF answer; the display-delay framing only when TEXT says nothing
 * the engine can answer (empty, out of scope, help, greeting, thanks). */
static int ask_delai(struct bot *b, const char *text, size_t text_len, struct date today)
{
	enum intent in;
	int n;

	if (text_len && ask_question(b->kb, text, text_len, today, &b->scratch) == 0) {
		in = b->scratch.q.intent;
		if (in != IN_OUT_OF_SCOPE && in != IN_HELP && in != IN_GREETING &&
		    in != IN_THANKS)
			return 0;
	}
	n = snprintf(b->framed, sizeof b->framed, "quand sera visible ma session ? %.*s", (int)text_len, text);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof b->framed)
		n = (int)sizeof b->framed - 1;
	return ask_question(b->kb, b->framed, (size_t)n, today, &b->scratch);
}

static int is_admin(const struct chat_msg *m)
{
	return m->account && *m->account && m->policy &&
	       strlist_has(&m->policy->admins, m->account);
}

static int set_text(struct chat_reply *out, enum chat_kind kind, const char *s, size_t n)
{
	if (n >= sizeof out->text)
		n = sizeof out->text - 1;
	memcpy(out->text, s, n);
	out->text[n] = 0;
	out->len = n;
	out->kind = kind;
	return 1;
}

static void fmt_duration(char *buf, size_t len, long s)
{
	if (s >= 86400)
		snprintf(buf, len, "%ld j %ld h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%ld h %ld min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%ld min", s / 60);
}

static int admin_command(struct bot *b, const struct chat_msg *m, int reload,
			 struct chat_reply *out)
{
	char msg[1024], up[64], when[32];
	struct tm tm;
	time_t now = m->now ? m->now : time(NULL);
	int n;

	if (reload) {
		int r;
		/* The reload frees the config the transport's strings may
		 * point into: keep what the log line needs. */
		char who[128], net[80];
		snprintf(who, sizeof who, "%s", m->account);
		snprintf(net, sizeof net, "%s.%s", net_kind(m), m->network ? m->network : "?");
		msg[0] = 0;
		if (b->reload)
			r = b->reload(b->reload_arg, msg, sizeof msg);
		else
			r = bot_reload_kb(b, kb_dir(b->kb), msg, sizeof msg);
		log_info("admin %s (%s) asked for a reload: %s", who, net, r == 0 ? "done" : msg);
		if (r == 0)
			return set_text(out, CHAT_ADMIN, msg_reloaded, sizeof msg_reloaded - 1);
		n = snprintf(out->text, sizeof out->text, "Rechargement refusé, l'ancienne "
			     "base reste en service : %s", msg);
		out->len = n < 0 ? 0 : (size_t)n < sizeof out->text ? (size_t)n
								     : sizeof out->text - 1;
		out->kind = CHAT_ADMIN;
		return 1;
	}
	fmt_duration(up, sizeof up, (long)(now - b->st.started));
	localtime_r(&b->st.kb_loaded, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
	n = snprintf(out->text, sizeof out->text, "faqbot en service depuis %s ; "
		     "%lu messages lus, %lu réponses, %lu limitations ; base %s "
		     "chargée le %s.", up, b->st.messages, b->st.answered,
		     b->st.limited, kb_dir(b->kb), when);
	out->len = n < 0 ? 0 : (size_t)n < sizeof out->text ? (size_t)n
							     : sizeof out->text - 1;
	out->kind = CHAT_ADMIN;
	return 1;
}

/* Matches "delai" / "délai" / ... as the command word [w, we). */
static int cmd_is(const char *w, const char *we, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(we - w) == n && !strncasecmp(w, name, n);
}

static int ignored(const struct bot *b, const struct chat_msg *m)
{
	if (!m->sender)
		return 1;
	if (m->own_name && !strcasecmp(m->sender, m->own_name))
		return 1;
	if (strlist_has(&b->ignore, m->sender))
		return 1;
	return m->policy && strlist_has(&m->policy->ignore, m->sender);
}

/* ---- hand-over to a person (escalate_to) ---- */

/* Copies s[0..n) into dst (cap bytes) cut on a UTF-8 boundary. */
static void copy_cut(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = 0;
}

static void escalate(struct bot *b, const struct chat_msg *m, const char *text, size_t text_len,
		     struct chat_reply *out)
{
	const char *to = m->policy->escalate_to;
	struct ticket *t;
	char question[300];
	int k;

	if (!++b->next_ticket)
		b->next_ticket = 1;
	t = &b->tickets[b->next_ticket % BOT_TICKETS];
	memset(t, 0, sizeof *t);
	t->n = b->next_ticket;
	copy_cut(t->net, sizeof t->net, m->network ? m->network : "", strlen(m->network ? m->network : ""));
	copy_cut(t->asker, sizeof t->asker, m->sender, strlen(m->sender));
	/* where the asker is told who took it: their channel, or on Matrix
	 * their room even when direct (IRC: "" for a private message) */
	if ((!m->is_private || m->event_id) && m->room)
		copy_cut(t->where, sizeof t->where, m->room, strlen(m->room));
	if (m->event_id)
		copy_cut(t->event, sizeof t->event, m->event_id, strlen(m->event_id));
	copy_cut(question, sizeof question, text, text_len);
	copy_cut(out->extra_target, sizeof out->extra_target, to, strlen(to));
	if (t->event[0] && t->where[0]) /* Matrix: a link to the question, claimed by a reaction */
		snprintf(out->extra_text, sizeof out->extra_text,
			 "Question n° %u de %s : « %s » — https://matrix.to/#/%s/%s — réagissez à ce "
			 "message (ou répondez « %spris %u ») pour la prendre.",
			 t->n, t->asker, question, t->where, t->event, b->prefix, t->n);
	else
		snprintf(out->extra_text, sizeof out->extra_text,
			 "Question n° %u de %s (%s) : « %s » — répondez « %spris %u » pour la prendre.",
			 t->n, t->asker, t->where[0] ? t->where : "en privé", question, b->prefix, t->n);
	k = snprintf(out->text + out->len, sizeof out->text - out->len,
		     "\nJe transmets votre question à l'équipe (n° %u) : une personne vous "
		     "répondra ici.", t->n);
	if (k > 0 && (size_t)k < sizeof out->text - out->len)
		out->len += (size_t)k;
	log_info("hand-over: question %u from %s on %s.%s passed to %s", t->n, m->sender,
		 net_kind(m), m->network ? m->network : "?", to);
}

/* t taken by m's sender: the escalate_to room is told (out->text), and
 * the asker (out->extra_*) is told who took it.  Returns the text's
 * length. */
static int take(struct ticket *t, const struct chat_msg *m, struct chat_reply *out)
{
	int k;

	if (t->taker[0])
		return snprintf(out->text, sizeof out->text, "La question n° %u est déjà prise par %s.",
				t->n, t->taker);
	copy_cut(t->taker, sizeof t->taker, m->sender, strlen(m->sender));
	k = snprintf(out->text, sizeof out->text, "Question n° %u prise par %s.", t->n, t->taker);
	copy_cut(out->extra_target, sizeof out->extra_target, t->where[0] ? t->where : t->asker,
		 strlen(t->where[0] ? t->where : t->asker));
	snprintf(out->extra_text, sizeof out->extra_text, "%s%s%s prend votre question (n° %u) "
		 "et vous répond.", t->where[0] ? t->asker : "", t->where[0] ? ": " : "", t->taker, t->n);
	log_info("hand-over: question %u taken by %s", t->n, t->taker);
	return k;
}

static void said(struct chat_reply *out, int k)
{
	out->len = k < 0 ? 0 : (size_t)k < sizeof out->text ? (size_t)k : sizeof out->text - 1;
	out->kind = CHAT_ADMIN;
}

/* "!pris N" in the escalate_to channel or room. */
static int take_ticket(struct bot *b, const struct chat_msg *m, const char *arg, const char *end,
		       struct chat_reply *out)
{
	char *e;
	unsigned long n = strtoul(arg, &e, 10);
	struct ticket *t = NULL;
	size_t i;
	int k;

	if (e == arg || e != end || !n) {
		k = snprintf(out->text, sizeof out->text, "Écrivez « %spris N » avec le numéro "
			     "de la question.", b->prefix);
	} else {
		for (i = 0; i < BOT_TICKETS; i++)
			if (b->tickets[i].n == n && !strcmp(b->tickets[i].net, m->network ? m->network : ""))
				t = &b->tickets[i];
		k = t ? take(t, m, out)
		      : snprintf(out->text, sizeof out->text, "Pas de question n° %lu en attente.", n);
	}
	said(out, k);
	return 1;
}

int bot_claim(struct bot *b, const struct chat_msg *m, struct chat_reply *out)
{
	size_t i;

	out->kind = CHAT_NONE;
	out->len = 0;
	out->text[0] = 0;
	out->extra_target[0] = 0;
	out->extra_text[0] = 0;
	if (!m->rel_event || !*m->rel_event || !m->sender || !m->policy || !m->policy->escalate_to ||
	    !m->room || strcasecmp(m->room, m->policy->escalate_to) ||
	    (m->own_name && !strcmp(m->sender, m->own_name)))
		return 0;
	for (i = 0; i < BOT_TICKETS; i++) {
		struct ticket *t = &b->tickets[i];
		if (t->n && !strcmp(t->event, m->rel_event) &&
		    !strcmp(t->net, m->network ? m->network : "")) {
			if (t->taker[0])
				return 0; /* a second reaction: already said who took it */
			said(out, take(t, m, out));
			return 1;
		}
	}
	return 0;
}

static int none(struct bot *b, struct chat_reply *out)
{
	b->st.ignored++;
	out->kind = CHAT_NONE;
	out->len = 0;
	out->text[0] = 0;
	return 0;
}

int bot_handle(struct bot *b, const struct chat_msg *m, struct chat_reply *out)
{
	const char *p, *end, *text = NULL;
	size_t text_len = 0;
	int addressed, auto_mode = 0, delai = 0, r;
	struct date today;
	const struct conv_key ck = { m->network, m->room, m->thread, m->sender };

	b->st.messages++;
	out->extra_target[0] = 0;
	out->extra_text[0] = 0;
	if (!m->text || ignored(b, m))
		return none(b, out);
	p = m->text;
	end = p + m->len;
	p = skip_ws(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	addressed = strip_address(&p, end, m->own_name) || m->mentioned;

	if (b->prefix_len && (size_t)(end - p) > b->prefix_len &&
	    !memcmp(p, b->prefix, b->prefix_len)) {
		const char *w = p + b->prefix_len, *we = w;
		while (we < end && *we != ' ' && *we != '\t')
			we++;
		const char *arg = skip_ws(we, end);
		if (b->feedback && cmd_is(w, we, "faux") && arg == end)
			goto wrong;
		if (cmd_is(w, we, "pris") && m->policy && m->policy->escalate_to && m->room &&
		    !m->is_private && !strcasecmp(m->room, m->policy->escalate_to))
			return rate_take(b, m) > 0 ? take_ticket(b, m, arg, end, out) : none(b, out);
		if (cmd_is(w, we, "reload") || cmd_is(w, we, "status")) {
			if (is_admin(m))
				return admin_command(b, m, cmd_is(w, we, "reload"), out);
			if (!m->is_private)
				return none(b, out);
			/* Refusals have their own small limit. */
			if ((r = bot_minor_take(b, m, out)) <= 0)
				return r == 0 ? 1 : none(b, out);
			log_info("refused %.*s from %s (account %s) on %s.%s", (int)(we - w), w,
				 m->sender, m->account ? m->account : "none", net_kind(m),
				 m->network ? m->network : "?");
			return set_text(out, CHAT_REFUSED, msg_refused, sizeof msg_refused - 1);
		}
		if (cmd_is(w, we, "delai") || cmd_is(w, we, "délai") ||
		    cmd_is(w, we, "delais") || cmd_is(w, we, "délais")) {
			text = arg;
			text_len = (size_t)(end - arg);
			delai = 1;
		} else if (cmd_is(w, we, "faq")) {
			text = arg;
			text_len = (size_t)(end - arg);
		} else if (cmd_is(w, we, "aide") || cmd_is(w, we, "help")) {
			text = "";
			text_len = 0; /* the engine answers an empty question with help */
		} else if (m->is_private || addressed) {
			text = p;
			text_len = (size_t)(end - p);
		} else {
			return none(b, out); /* another bot's command */
		}
	} else if (b->feedback && (m->is_private || addressed) && end - p == 4 &&
		   !strncasecmp(p, "faux", 4)) {
		goto wrong;
	} else if (m->is_private || addressed ||
		   conv_date_reply(b->conv, b->kb, &ck, p, (size_t)(end - p),
				   bot_today(b, m->now), m->now_ms)) {
		/* a bare date just after the bot asked this user for it counts
		 * as addressed (conv.h) */
		text = p;
		text_len = (size_t)(end - p);
	} else if (m->auto_answer) {
		text = p;
		text_len = (size_t)(end - p);
		auto_mode = 1;
	} else {
		return none(b, out);
	}
	if (text_len > BOT_MAX_QUESTION)
		text_len = BOT_MAX_QUESTION;

	today = bot_today(b, m->now);
	if (auto_mode) {
		/* Unaddressed: speak only when sure it is a question for us. */
		if (ask_question(b->kb, text, text_len, today, &b->scratch) < 0)
			return none(b, out);
		if (!ask_auto_answer(b->kb, &b->scratch, b->threshold))
			return none(b, out);
	}
	r = rate_take(b, m);
	/* Unaddressed chatter never earns a "slow down" notice in a channel. */
	if (r < 0 || (r == 0 && auto_mode))
		return none(b, out);
	if (r == 0) {
		b->st.limited++;
		log_info("rate limit: %s on %s.%s", m->sender, net_kind(m),
			 m->network ? m->network : "?");
		return set_text(out, CHAT_LIMITED, msg_limited, sizeof msg_limited - 1);
	}
	if (delai) {
		if (ask_delai(b, text, text_len, today) < 0)
			return none(b, out);
	} else if (!auto_mode && conv_ask(b->conv, b->kb, &ck, text, text_len, today, m->now_ms,
					  &b->scratch, NULL) < 0) {
		return none(b, out);
	}
	b->st.answered++;
	if (b->record) {
		/* missed: refused, or a question below the auto-answer bar */
		enum intent in = b->scratch.q.intent;
		int missed = in == IN_OUT_OF_SCOPE ||
			     (in != IN_HELP && ask_auto_intent(in) &&
			      !ask_auto_answer(b->kb, &b->scratch, b->threshold));
		b->record(b->record_arg, m, text, text_len, &b->scratch.q, missed);
	}
	set_text(out, CHAT_ANSWER, b->scratch.text, b->scratch.len);

	if (!auto_mode && m->policy && m->policy->escalate_to && *m->policy->escalate_to &&
	    m->sender && (b->scratch.q.intent == IN_OUT_OF_SCOPE || b->scratch.status == ST_OVERDUE) &&
	    !(m->room && !strcasecmp(m->room, m->policy->escalate_to)))
		escalate(b, m, text, text_len, out);
	return 1;
wrong:
	/* "!faux": only the asker's own last answer, within 10 minutes;
	 * silence when there is none (nothing to acknowledge). */
	if (rate_take(b, m) <= 0 || b->feedback(b->record_arg, m, NULL, 0) != 1)
		return none(b, out);
	log_info("an answer marked wrong on %s.%s", net_kind(m), m->network ? m->network : "?");
	return set_text(out, CHAT_ADMIN, msg_wrong, sizeof msg_wrong - 1);
}

const struct query *bot_last_query(const struct bot *b)
{
	return &b->scratch.q;
}

int bot_on_msg(void *bot, const struct chat_msg *m, struct chat_reply *out)
{
	struct bot *b = bot;

	switch (m->event) {
	case CHAT_TEXT:
		return bot_handle(b, m, out);
	case CHAT_MINOR:
		return bot_minor_take(b, m, out);
	case CHAT_REACTION:
		out->kind = CHAT_NONE;
		out->len = 0;
		out->extra_target[0] = 0;
		return bot_reaction(b, m, m->rel_event, m->key);
	case CHAT_CLAIM:
		return bot_claim(b, m, out);
	}
	return 0;
}
