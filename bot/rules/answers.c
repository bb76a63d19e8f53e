/* answers.c - French answers from the templates of knowledge/answers.ini.
 *
 * Templates are compiled once, when loaded, into literal runs and
 * placeholder slots, so that rendering is a copy loop with no allocation
 * and no failure.  This module does not read files (kb.c does), decide
 * the intent (intent.c) or compute dates (rules.c). */
#include "answers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Placeholders.  The first group needs a validation date (stage dates of
 * domain.md, "Conventions"); the second is always available. */
enum ph {
	PH_VALIDATION, PH_REGIONAL, PH_RCO_EXPORT, PH_RCO_VISIBLE, PH_FT_MIN,
	PH_FT_MAX, PH_OPEN, PH_CLOSE,
	PH__DATED, /* the ones below need no date */
	PH_PLATFORM = PH__DATED, PH_TODAY, PH_D_REGIONAL, PH_D_RCO_EXPORT,
	PH_D_RCO_VISIBLE, PH_D_FT_MIN, PH_D_FT_MAX,
	PH__COUNT
};

static const char *const ph_names[PH__COUNT] = {
	"validation", "regional", "rco_export", "rco_visible", "ft_min",
	"ft_max", "open", "close",
	"platform", "today", "d_regional", "d_rco_export", "d_rco_visible",
	"d_ft_min", "d_ft_max",
};

/* What a template may use: the date placeholders need a validation date,
 * {open}/{close} also need a platform window (display_delay only). */
enum allow { AL_NODATE, AL_DATED, AL_WINDOW, AL_LABEL };

/* Every template answers.ini may hold: [section] key.  The table is the
 * schema: unknown sections or keys are refused, required ones checked. */
struct slot {
	const char *section, *key;
	enum allow allow;
	int required;
};

enum {
	SL_PF_KAIROS, SL_PF_AUDE, SL_PF_FT, SL_PF_RCO, SL_PF_REGIONAL, SL_PF_NONE,
	SL_DD_REGIONAL, SL_DD_RCO, SL_DD_FT, SL_DD_EARLY, SL_DD_WITHIN,
	SL_DD_OVERDUE, SL_DD_NODATE,
	SL_DD_REGIONAL_TODAY, SL_DD_RCO_TODAY, SL_DD_FT_TODAY,
	SL_DD_REGIONAL_FUTURE, SL_DD_RCO_FUTURE, SL_DD_FT_FUTURE, SL_DD_EARLY_FUTURE,
	SL_ST_SAIS, SL_ST_DIFF, SL_ST_ARCH, SL_ST_NONE,
	SL_SIMPLE /* then text, dated for each simple intent, in simple_intents order */
};

/* answers_render picks regional, rco, france_travail as base + 0, 1, 2 */
_Static_assert(SL_DD_RCO == SL_DD_REGIONAL + 1 && SL_DD_FT == SL_DD_REGIONAL + 2 &&
	       SL_DD_RCO_TODAY == SL_DD_REGIONAL_TODAY + 1 &&
	       SL_DD_FT_TODAY == SL_DD_REGIONAL_TODAY + 2 &&
	       SL_DD_RCO_FUTURE == SL_DD_REGIONAL_FUTURE + 1 &&
	       SL_DD_FT_FUTURE == SL_DD_REGIONAL_FUTURE + 2, "display_delay slot order");

static const enum intent simple_intents[] = {
	IN_DEFINITION, IN_STAGES, IN_SESSION_NUMBER, IN_GREEN_NOT_IN_KAIROS,
	IN_VALIDATION_PROCESS, IN_GREETING, IN_THANKS, IN_HELP, IN_OUT_OF_SCOPE,
};
#define NSIMPLE (int)(sizeof simple_intents / sizeof simple_intents[0])
#define NSLOTS (SL_SIMPLE + 2 * NSIMPLE)

static const struct slot fixed_slots[SL_SIMPLE] = {
	{ "platforms", "kairos", AL_LABEL, 1 },
	{ "platforms", "aude", AL_LABEL, 1 },
	{ "platforms", "france_travail", AL_LABEL, 1 },
	{ "platforms", "rco", AL_LABEL, 1 },
	{ "platforms", "regional", AL_LABEL, 1 },
	{ "platforms", "none", AL_LABEL, 1 },
	{ "display_delay", "regional", AL_WINDOW, 1 },
	{ "display_delay", "rco", AL_WINDOW, 1 },
	{ "display_delay", "france_travail", AL_WINDOW, 1 },
	{ "display_delay", "early", AL_WINDOW, 1 },
	{ "display_delay", "within", AL_WINDOW, 1 },
	{ "display_delay", "overdue", AL_WINDOW, 1 },
	{ "display_delay", "no_date", AL_NODATE, 1 },
	/* the same answers when the validation is today, or still to come
	 * (a hypothetical question: "si elle est validée demain") */
	{ "display_delay", "regional_today", AL_WINDOW, 1 },
	{ "display_delay", "rco_today", AL_WINDOW, 1 },
	{ "display_delay", "france_travail_today", AL_WINDOW, 1 },
	{ "display_delay", "regional_future", AL_WINDOW, 1 },
	{ "display_delay", "rco_future", AL_WINDOW, 1 },
	{ "display_delay", "france_travail_future", AL_WINDOW, 1 },
	{ "display_delay", "early_future", AL_WINDOW, 1 },
	{ "state", "SAIS", AL_NODATE, 1 },
	{ "state", "DIFF", AL_NODATE, 1 },
	{ "state", "ARCH", AL_NODATE, 1 },
	{ "state", "none", AL_NODATE, 1 },
};

static struct slot slot_at(int i)
{
	if (i < SL_SIMPLE)
		return fixed_slots[i];
	int k = (i - SL_SIMPLE) / 2;
	int dated = (i - SL_SIMPLE) % 2;
	struct slot s = { intent_name(simple_intents[k]), dated ? "dated" : "text",
			  dated ? AL_DATED : AL_NODATE, !dated };
	return s;
}

/* A compiled template: runs of literal text and placeholders. */
struct seg {
	unsigned off, len; /* literal text[off, off+len) */
	int ph;            /* placeholder after the literal, or -1 */
};

struct tpl {
	char *text;
	struct seg *seg;
	int nseg;
	int set; /* 1 once set */
};

/* The answer of an intent defined only in knowledge/ ("contact"): a
 * section of its own with `text` (and optionally `dated`). */
#define ANSWER_MAX_EXTRA 32
struct extra {
	char name[INTENT_NAME_MAX];
	struct tpl text, dated;
};

struct answers {
	struct tpl t[NSLOTS];
	struct extra x[ANSWER_MAX_EXTRA];
	int nx;
};

struct answers *answers_new(void)
{
	return calloc(1, sizeof(struct answers));
}

void answers_free(struct answers *a)
{
	if (!a)
		return;
	for (int i = 0; i < NSLOTS; i++) {
		free(a->t[i].text);
		free(a->t[i].seg);
	}
	for (int i = 0; i < a->nx; i++) {
		free(a->x[i].text.text);
		free(a->x[i].text.seg);
		free(a->x[i].dated.text);
		free(a->x[i].dated.seg);
	}
	free(a);
}

static int compile(struct tpl *t, const char *value, enum allow allow,
		   char *err, size_t errlen);

static int fixed_section(const char *section)
{
	for (int i = 0; i < NSLOTS; i++)
		if (!strcmp(slot_at(i).section, section))
			return 1;
	return 0;
}

/* A name an intent of knowledge/ may have: lower case, digits, _. */
static int intent_like(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= INTENT_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int answers_known_section(const char *section)
{
	return fixed_section(section) || intent_like(section);
}

static struct extra *find_extra(const struct answers *a, const char *name)
{
	for (int i = 0; i < a->nx; i++)
		if (!strcmp(a->x[i].name, name))
			return (struct extra *)&a->x[i];
	return NULL;
}

int answers_has(const struct answers *a, const char *intent)
{
	if (find_extra(a, intent))
		return 1;
	int in = intent_from_name(intent);
	return in >= 0;
}

static int extra_set(struct answers *a, const char *section, const char *key,
		     const char *value, char *err, size_t errlen)
{
	struct extra *x = find_extra(a, section);
	if (strcmp(key, "text") && strcmp(key, "dated")) {
		snprintf(err, errlen, "unknown key `%s` in [%s]; an intent's answer has `text` "
			 "(and optionally `dated`, used when a validation date is known)", key, section);
		return -1;
	}
	if (!x) {
		if (a->nx == ANSWER_MAX_EXTRA) {
			snprintf(err, errlen, "more than %d intents of your own; merge some",
				 ANSWER_MAX_EXTRA);
			return -1;
		}
		x = &a->x[a->nx++];
		snprintf(x->name, sizeof x->name, "%s", section);
	}
	struct tpl *t = !strcmp(key, "text") ? &x->text : &x->dated;
	if (t->set) {
		snprintf(err, errlen, "`%s` is set twice in [%s]; keep only one", key, section);
		return -1;
	}
	if (!*value || strlen(value) > ANSWER_MAX_TEMPLATE) {
		snprintf(err, errlen, "`%s` in [%s] must hold 1 to %d bytes of French text", key,
			 section, ANSWER_MAX_TEMPLATE);
		return -1;
	}
	return compile(t, value, t == &x->text ? AL_NODATE : AL_DATED, err, errlen);
}

static void keys_of(const char *section, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < NSLOTS; i++) {
		struct slot s = slot_at(i);
		if (strcmp(s.section, section))
			continue;
		int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", s.key);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
	}
}

/* Splits "Le {validation} ..." into segments; checks every placeholder. */
static int compile(struct tpl *t, const char *value, enum allow allow,
		   char *err, size_t errlen)
{
	size_t len = strlen(value);
	/* at most one segment per '{' plus the tail */
	int cap = 1;
	for (const char *p = value; *p; p++)
		cap += *p == '{';
	struct seg *seg = calloc((size_t)cap, sizeof *seg);
	char *text = strdup(value);
	if (!seg || !text) {
		free(seg);
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int n = 0;
	size_t start = 0, i = 0;
	while (i < len) {
		if (value[i] != '{') {
			i++;
			continue;
		}
		const char *close = strchr(value + i, '}');
		size_t nlen = close ? (size_t)(close - value) - i - 1 : 0;
		int ph = -1;
		for (int k = 0; close && k < PH__COUNT; k++)
			if (strlen(ph_names[k]) == nlen && !memcmp(ph_names[k], value + i + 1, nlen))
				ph = k;
		const char *why = NULL;
		if (ph < 0)
			why = "unknown placeholder";
		else if (allow == AL_LABEL)
			why = "a platform name takes no placeholder";
		else if (allow == AL_NODATE && ph < PH__DATED)
			why = "this template is used without a validation date, so it cannot use";
		else if (allow == AL_DATED && (ph == PH_OPEN || ph == PH_CLOSE))
			why = "only [display_delay] templates have a window; use {ft_min}/{ft_max} instead of";
		if (why) {
			int shown = (int)(close && nlen < 40 ? nlen + 2 : 12);
			snprintf(err, errlen, "%s `%.*s`; placeholders are written {name} with name one of "
				 "validation, regional, rco_export, rco_visible, ft_min, ft_max, open, close "
				 "(these need a validation date), platform, today, d_regional, d_rco_export, "
				 "d_rco_visible, d_ft_min, d_ft_max", why, shown, value + i);
			free(seg);
			free(text);
			return -1;
		}
		seg[n].off = (unsigned)start;
		seg[n].len = (unsigned)(i - start);
		seg[n].ph = ph;
		n++;
		i += nlen + 2;
		start = i;
	}
	seg[n].off = (unsigned)start;
	seg[n].len = (unsigned)(len - start);
	seg[n].ph = -1;
	n++;
	t->text = text;
	t->seg = seg;
	t->nseg = n;
	t->set = 1;
	return 0;
}

int answers_set(struct answers *a, const char *section, const char *key,
		const char *value, char *err, size_t errlen)
{
	int found_section = 0;
	if (!fixed_section(section) && intent_like(section))
		return extra_set(a, section, key, value, err, errlen);
	for (int i = 0; i < NSLOTS; i++) {
		struct slot s = slot_at(i);
		if (strcmp(s.section, section))
			continue;
		found_section = 1;
		if (strcmp(s.key, key))
			continue;
		if (a->t[i].set) {
			snprintf(err, errlen, "`%s` is set twice in [%s]; keep only one", key, section);
			return -1;
		}
		size_t len = strlen(value);
		if (len == 0) {
			snprintf(err, errlen, "`%s` in [%s] is empty; write the French text after `=`",
				 key, section);
			return -1;
		}
		if (len > ANSWER_MAX_TEMPLATE) {
			snprintf(err, errlen, "`%s` in [%s] is %zu bytes long; the limit is %d, shorten it",
				 key, section, len, ANSWER_MAX_TEMPLATE);
			return -1;
		}
		return compile(&a->t[i], value, s.allow, err, errlen);
	}
	char keys[512];
	if (!found_section) {
		snprintf(err, errlen, "unknown section [%s]; answers.ini holds [platforms], "
			 "[display_delay], [state] and one section per other intent", section);
		return -1;
	}
	keys_of(section, keys, sizeof keys);
	snprintf(err, errlen, "unknown key `%s` in [%s]; expected one of: %s", key, section, keys);
	return -1;
}

int answers_check(const struct answers *a, const char *section, char *err, size_t errlen)
{
	const struct extra *x = section ? find_extra(a, section) : NULL;
	if (x && !x->text.set) {
		snprintf(err, errlen, "missing `text` in [%s]; add `text = <French text>` to it",
			 section);
		return -1;
	}
	for (int i = 0; !section && i < a->nx; i++)
		if (!a->x[i].text.set) {
			snprintf(err, errlen, "missing `text` in [%s]; add `text = <French text>` to it",
				 a->x[i].name);
			return -1;
		}
	for (int i = 0; i < NSLOTS; i++) {
		struct slot s = slot_at(i);
		if (section && strcmp(section, s.section))
			continue;
		if (s.required && !a->t[i].set) {
			snprintf(err, errlen, "missing `%s` in [%s]; add `%s = <French text>` to it",
				 s.key, s.section, s.key);
			return -1;
		}
	}
	return 0;
}

/* ---- rendering ---- */

static const char *const weekdays[7] = {
	"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
};
static const char *const months[12] = {
	"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
	"août", "septembre", "octobre", "novembre", "décembre",
};

size_t answers_format_date(struct date dt, char *buf, size_t bufsz)
{
	if (!bufsz)
		return 0;
	if (!date_valid(dt.y, dt.m, dt.d)) {
		buf[0] = '\0';
		return 0;
	}
	/* Built by hand, not snprintf: this runs for every dated answer.
	 * French writes the first of the month as an ordinal: "1er". */
	char tmp[64];
	size_t n = 0;
	const char *wd = weekdays[date_weekday(dt)], *mo = months[dt.m - 1];
	size_t lw = strlen(wd), lm = strlen(mo);
	memcpy(tmp, wd, lw);
	n = lw;
	tmp[n++] = ' ';
	if (dt.d >= 10)
		tmp[n++] = (char)('0' + dt.d / 10);
	tmp[n++] = (char)('0' + dt.d % 10);
	if (dt.d == 1) {
		tmp[n++] = 'e';
		tmp[n++] = 'r';
	}
	tmp[n++] = ' ';
	memcpy(tmp + n, mo, lm);
	n += lm;
	tmp[n++] = ' ';
	char yr[8];
	int k = 0;
	for (int y = dt.y; y > 0 && k < 8; y /= 10) /* date_valid: 1..9999 */
		yr[k++] = (char)('0' + y % 10);
	while (k > 0)
		tmp[n++] = yr[--k];
	if (n > bufsz - 1) {
		/* cut before a whole character ("août", "décembre") */
		n = bufsz - 1;
		while (n > 0 && ((unsigned char)tmp[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

struct out {
	char *p;
	size_t n, cap; /* cap excludes the NUL */
	int full;
};

/* Appends, or cuts at the last UTF-8 boundary that fits. */
static void put(struct out *o, const char *s, size_t len)
{
	if (o->full)
		return;
	if (len > o->cap - o->n) {
		len = o->cap - o->n;
		/* back off over continuation bytes, then drop the lead byte */
		size_t k = len;
		while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
		len = k;
		o->full = 1;
	}
	memcpy(o->p + o->n, s, len);
	o->n += len;
}

struct ctx {
	const struct answers *a;
	const struct delays *dl;
	const struct query *q;
	const struct stage_dates *sd;
	struct date today, open, close;
	int has_window;
};

static void put_date(struct out *o, struct date d)
{
	char b[48];
	size_t n = answers_format_date(d, b, sizeof b);
	put(o, b, n);
}

static void put_int(struct out *o, int v)
{
	char b[16];
	int n = snprintf(b, sizeof b, "%d", v);
	put(o, b, (size_t)(n > 0 ? n : 0));
}

static void put_tpl(struct out *o, const struct ctx *c, int slot);

static int state_tpl(enum state_slot st)
{
	return st == STS_SAIS ? SL_ST_SAIS : st == STS_DIFF ? SL_ST_DIFF
		: st == STS_ARCH ? SL_ST_ARCH : SL_ST_NONE;
}

static void put_ph(struct out *o, const struct ctx *c, int ph)
{
	const struct stage_dates *sd = c->sd;
	/* dated placeholders are only reachable with sd (checked at load) */
	if (ph < PH__DATED && !sd)
		return;
	switch (ph) {
	case PH_VALIDATION: put_date(o, sd->validation); break;
	case PH_REGIONAL: put_date(o, sd->regional); break;
	case PH_RCO_EXPORT: put_date(o, sd->rco_export); break;
	case PH_RCO_VISIBLE: put_date(o, sd->rco_visible); break;
	case PH_FT_MIN: put_date(o, sd->ft_min); break;
	case PH_FT_MAX: put_date(o, sd->ft_max); break;
	case PH_OPEN: if (c->has_window) put_date(o, c->open); break;
	case PH_CLOSE: if (c->has_window) put_date(o, c->close); break;
	case PH_TODAY: put_date(o, c->today); break;
	case PH_D_REGIONAL: put_int(o, c->dl->regional.n); break;
	case PH_D_RCO_EXPORT: put_int(o, c->dl->rco_export.n); break;
	case PH_D_RCO_VISIBLE: put_int(o, c->dl->rco_visible.n); break;
	case PH_D_FT_MIN: put_int(o, c->dl->ft_min.n); break;
	case PH_D_FT_MAX: put_int(o, c->dl->ft_max.n); break;
	case PH_PLATFORM: {
		static const int pf_slot[PF__COUNT] = {
			[PF_NONE] = SL_PF_NONE, [PF_KAIROS] = SL_PF_KAIROS,
			[PF_AUDE] = SL_PF_AUDE, [PF_FRANCE_TRAVAIL] = SL_PF_FT,
			[PF_RCO] = SL_PF_RCO, [PF_REGIONAL] = SL_PF_REGIONAL,
		};
		unsigned pf = (unsigned)c->q->platform;
		put_tpl(o, c, pf_slot[pf < PF__COUNT ? pf : PF_NONE]);
		break;
	}
	default: break;
	}
}

static void put_tpl_t(struct out *o, const struct ctx *c, const struct tpl *t)
{
	for (int i = 0; i < t->nseg; i++) {
		put(o, t->text + t->seg[i].off, t->seg[i].len);
		if (t->seg[i].ph >= 0)
			put_ph(o, c, t->seg[i].ph);
	}
}

static void put_tpl(struct out *o, const struct ctx *c, int slot)
{
	put_tpl_t(o, c, &c->a->t[slot]);
}

static int simple_slot(enum intent in, int dated)
{
	for (int k = 0; k < NSIMPLE; k++)
		if (simple_intents[k] == in)
			return SL_SIMPLE + 2 * k + dated;
	return SL_SIMPLE + 2 * (NSIMPLE - 1); /* out_of_scope text */
}

size_t answers_render(const struct answers *a, const struct delays *dl,
		     const struct query *q, const struct stage_dates *sd,
		     enum status st, struct date today, char *out, size_t outsz)
{
	if (!outsz)
		return 0;
	struct out o = { out, 0, outsz - 1, 0 };
	struct ctx c = { a, dl, q, sd, today, { 0, 0, 0 }, { 0, 0, 0 }, 0 };

	switch (q->intent) {
	case IN_DISPLAY_DELAY:
		if (!sd) {
			put_tpl(&o, &c, SL_DD_NODATE);
			break;
		}
		/* the window of the platform asked (domain.md, "Status") */
		rules_window(sd, q->platform, &c.open, &c.close);
		c.has_window = 1;
		/* The tense follows the validation date: past ("Validée le"),
		 * today, or future (a hypothetical validation, written
		 * "Si la session est validée le ..."). */
		int when = date_cmp(sd->validation, today);
		int base = when < 0 ? SL_DD_REGIONAL : when == 0 ? SL_DD_REGIONAL_TODAY
			: SL_DD_REGIONAL_FUTURE;
		/* regional, rco, france_travail follow each other in every group */
		put_tpl(&o, &c, base + (q->platform == PF_REGIONAL ? 0 : q->platform == PF_RCO ? 1 : 2));
		if (st == ST_EARLY || st == ST_WITHIN || st == ST_OVERDUE) {
			put(&o, " ", 1);
			put_tpl(&o, &c, st == ST_EARLY ? (when > 0 ? SL_DD_EARLY_FUTURE : SL_DD_EARLY)
					: st == ST_WITHIN ? SL_DD_WITHIN : SL_DD_OVERDUE);
		}
		break;
	case IN_STATE:
		/* Every state the question names ("SAIS ou DIFF, quelle
		 * différence ?"), in its order. */
		put_tpl(&o, &c, state_tpl(q->state));
		for (int i = 0; i < 2 && q->state != STS_NONE && q->also[i] != STS_NONE; i++) {
			put(&o, " ", 1);
			put_tpl(&o, &c, state_tpl(q->also[i]));
		}
		break;
	default: {
		if ((int)q->intent >= IN__COUNT) {
			const struct extra *x = find_extra(a, q->name);
			if (!x) {
				put_tpl(&o, &c, simple_slot(IN_OUT_OF_SCOPE, 0));
				break;
			}
			put_tpl_t(&o, &c, sd && x->dated.set ? &x->dated : &x->text);
			break;
		}
		int dated = simple_slot(q->intent, 1);
		if (sd && a->t[dated].set)
			put_tpl(&o, &c, dated);
		else
			put_tpl(&o, &c, simple_slot(q->intent, 0));
		break;
	}
	}
	out[o.n] = '\0';
	return o.n;
}
