/* kb.c - loads knowledge/ into one immutable struct kb: the lexicon and
 * intent model (through intent.c), the holiday calendar, the stage delays
 * and the French answer templates.  Any error refuses the whole directory
 * with "file:line: what is wrong, and how to fix it"; nothing is ever
 * half-loaded (the reader is inifile.c). */
#include "kb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "intent.h"
#include "errmsg.h"
#include "inifile.h"
#include "lexicon.h"
#include "textfile.h"

/* A physical line is at most this long: the knowledge is hand-written
 * text, and a longer line is a mistake (or an attack), never truncated. */
#define KB_MAX_LINE 4096
#define KB_MAX_CLOSURES 4096
#define KB_MAX_DELAY 366

struct kb {
	char *dir;
	struct lexicon *lx;
	struct intent_model *im;
	struct cal_rules cal;
	struct delays delays;
	struct answers *ans;
};

/* Strict integer: optional sign, digits only, within [lo, hi]. */
static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	if (!*s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* ---- calendar.ini ----
 *   [fixed]     MM-DD = name          public holidays on a fixed day
 *   [easter]    OFFSET = name         days after Easter Sunday (1 = Monday)
 *   [closures]  YYYY-MM-DD = reason   extra closure days
 * (domain.md, "Working day") */

struct cal_load {
	struct cal_rules *r;
	long *closure;
	int nclosure, capclosure;
	int have_fixed, have_easter;
};

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static int cal_cb(void *u, enum ini_ev ev, int line, const char *section,
		  const char *key, char *value, char *err, size_t errlen)
{
	struct cal_load *c = u;
	struct cal_rules *r = c->r;
	if (ev == INI_SECTION) {
		if (!strcmp(section, "fixed"))
			c->have_fixed = 1;
		else if (!strcmp(section, "easter"))
			c->have_easter = 1;
		else if (strcmp(section, "closures"))
			return errmsg_set(err, errlen, "unknown section [%s]; calendar.ini holds [fixed], "
				 "[easter] and [closures]", section);
		return 0;
	}
	if (ev == INI_SECTION_END)
		return 0;
	if (ev == INI_EOF) {
		if (!c->have_fixed || !c->have_easter)
			return errmsg_set(err, errlen, "missing section [%s]; the French public holidays "
				 "of domain.md must be listed", c->have_fixed ? "easter" : "fixed");
		return 0;
	}
	if (!*value)
		return errmsg_set(err, errlen, "`%s` has no name; write `%s = <name or reason>`", key, key);
	if (!strcmp(section, "fixed")) {
		int m, d;
		char tail;
		if (strlen(key) != 5 || sscanf(key, "%2d-%2d%c", &m, &d, &tail) != 2 ||
		    key[2] != '-' || !date_valid(2024, m, d))
			return errmsg_set(err, errlen, "`%s` is not a day of the year; write MM-DD, e.g. "
				 "07-14 = Fête nationale", key);
		for (int i = 0; i < r->nfixed; i++)
			if (r->fixed[i].m == m && r->fixed[i].d == d)
				return errmsg_set(err, errlen, "%s is listed twice; keep one line", key);
		if (r->nfixed >= CAL_MAX_FIXED)
			return errmsg_set(err, errlen, "more than %d fixed holidays", CAL_MAX_FIXED);
		r->fixed[r->nfixed].m = m;
		r->fixed[r->nfixed].d = d;
		r->nfixed++;
	} else if (!strcmp(section, "easter")) {
		int off;
		if (parse_int(key, -100, 100, &off) < 0)
			return errmsg_set(err, errlen, "`%s` is not a number of days after Easter Sunday "
				 "between -100 and 100; e.g. 1 = Lundi de Pâques", key);
		for (int i = 0; i < r->neaster; i++)
			if (r->easter_offset[i] == off)
				return errmsg_set(err, errlen, "Easter + %d is listed twice; keep one line", off);
		if (r->neaster >= CAL_MAX_EASTER)
			return errmsg_set(err, errlen, "more than %d Easter holidays", CAL_MAX_EASTER);
		r->easter_offset[r->neaster++] = off;
	} else {
		struct date dt;
		if (date_parse_iso(key, &dt) < 0)
			return errmsg_set(err, errlen, "`%s` is not a date; write YYYY-MM-DD = reason, e.g. "
				 "2026-12-24 = Fermeture de fin d'année", key);
		long day = date_to_days(dt);
		for (int i = 0; i < c->nclosure; i++)
			if (c->closure[i] == day)
				return errmsg_set(err, errlen, "%s is listed twice; keep one line", key);
		if (c->nclosure >= KB_MAX_CLOSURES)
			return errmsg_set(err, errlen, "more than %d closure days", KB_MAX_CLOSURES);
		if (c->nclosure == c->capclosure) {
			int cap = c->capclosure ? c->capclosure * 2 : 16;
			long *p = realloc(c->closure, (size_t)cap * sizeof *p);
			if (!p)
				return errmsg_set(err, errlen, "out of memory");
			c->closure = p;
			c->capclosure = cap;
		}
		c->closure[c->nclosure++] = day;
	}
	return 0;
}

/* ---- stages.ini ----
 *   [regional] / [rco_export] / [rco_visible] / [ft_min] / [ft_max]
 *   delay = N, unit = working | calendar, source = the FAQ's sentence */

static const char *const stage_names[5] = {
	"regional", "rco_export", "rco_visible", "ft_min", "ft_max",
};

struct stage_load {
	struct delays *d;
	int cur;        /* stage of the current section */
	unsigned have;  /* bit per stage */
	unsigned keys;  /* bits: 1 delay, 2 unit, 4 source */
};

static struct delay *stage_delay(struct delays *d, int i)
{
	struct delay *all[5] = { &d->regional, &d->rco_export, &d->rco_visible,
				 &d->ft_min, &d->ft_max };
	return all[i];
}

static int stage_cb(void *u, enum ini_ev ev, int line, const char *section,
		    const char *key, char *value, char *err, size_t errlen)
{
	struct stage_load *s = u;
	if (ev == INI_SECTION) {
		s->cur = -1;
		for (int i = 0; i < 5; i++)
			if (!strcmp(section, stage_names[i]))
				s->cur = i;
		if (s->cur < 0)
			return errmsg_set(err, errlen, "unknown stage [%s]; stages.ini holds [regional], "
				 "[rco_export], [rco_visible], [ft_min] and [ft_max]", section);
		s->keys = 0;
		s->have |= 1u << s->cur;
		return 0;
	}
	if (ev == INI_SECTION_END) {
		static const char *const kn[3] = { "delay", "unit", "source" };
		for (int k = 0; k < 3; k++)
			if (!(s->keys & 1u << k))
				return errmsg_set(err, errlen, "stage [%s] has no `%s`; add `%s = ...` (delay = a "
					 "number of days, unit = working or calendar, source = the sentence "
					 "of the FAQ it comes from)", section, kn[k], kn[k]);
		return 0;
	}
	if (ev == INI_EOF) {
		for (int i = 0; i < 5; i++)
			if (!(s->have & 1u << i))
				return errmsg_set(err, errlen, "missing stage [%s]; the five computed stages "
					 "regional, rco_export, rco_visible, ft_min, ft_max are required",
					 stage_names[i]);
		const struct delay *lo = &s->d->ft_min, *hi = &s->d->ft_max;
		if (lo->unit == hi->unit && lo->n > hi->n)
			return errmsg_set(err, errlen, "ft_min (%d) is larger than ft_max (%d): the France "
				 "Travail window would close before it opens", lo->n, hi->n);
		return 0;
	}
	struct delay *dl = stage_delay(s->d, s->cur);
	unsigned bit;
	if (!strcmp(key, "delay"))
		bit = 1;
	else if (!strcmp(key, "unit"))
		bit = 2;
	else if (!strcmp(key, "source"))
		bit = 4;
	else {
		return errmsg_set(err, errlen, "unknown key `%s` in [%s]; a stage has delay, unit and source",
			 key, section);
	}
	if (s->keys & bit)
		return errmsg_set(err, errlen, "`%s` is set twice in [%s]; keep one", key, section);
	s->keys |= bit;
	if (bit == 1 && parse_int(value, 0, KB_MAX_DELAY, &dl->n) < 0)
		return errmsg_set(err, errlen, "delay `%s` is not a whole number of days between 0 and %d",
			 value, KB_MAX_DELAY);
	if (bit == 2) {
		if (!strcmp(value, "working"))
			dl->unit = DU_WORKING;
		else if (!strcmp(value, "calendar"))
			dl->unit = DU_CALENDAR;
		else {
			return errmsg_set(err, errlen, "unit `%s` is unknown; write `working` (jours ouvrés) "
				 "or `calendar` (jours calendaires)", value);
		}
	}
	if (bit == 4 && !*value)
		return errmsg_set(err, errlen, "`source` is empty; quote the sentence of the FAQ this "
			 "delay comes from");
	return 0;
}

/* ---- answers.ini: sections and keys are the schema of answers.c ---- */

static int answers_cb(void *u, enum ini_ev ev, int line, const char *section,
		      const char *key, char *value, char *err, size_t errlen)
{
	struct answers *a = u;
	if (ev == INI_SECTION) {
		if (!answers_known_section(section))
			return errmsg_set(err, errlen, "unknown section [%s]; answers.ini holds [platforms], "
				 "[display_delay], [state] and one section per other intent "
				 "(definition, stages, ...)", section);
		return 0;
	}
	if (ev == INI_SECTION_END)
		return answers_check(a, section, err, errlen);
	if (ev == INI_EOF)
		return answers_check(a, NULL, err, errlen);
	return answers_set(a, section, key, value, err, errlen);
}

/* ---- the kb ---- */

void kb_free(struct kb *kb)
{
	if (!kb)
		return;
	intent_model_free(kb->im);
	lexicon_free(kb->lx);
	answers_free(kb->ans);
	free(kb->cal.closure);
	free(kb->dir);
	free(kb);
}

static char *join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, file);
	return p;
}

static int load_file(const char *dir, const char *file, ini_cb cb, void *u,
		     char *err, size_t errlen)
{
	char *path = join(dir, file);
	if (!path)
		return errmsg_set(err, errlen, "out of memory");
	int rc = inifile_read(path, KB_MAX_LINE, INI_CONTINUATION | INI_UNIQUE_SECTIONS, cb, u, err, errlen);
	free(path);
	return rc;
}

static struct kb *load(const char *dir, int untrained, char *err, size_t errlen)
{
	struct kb *kb = calloc(1, sizeof *kb);
	if (!kb || !(kb->dir = strdup(dir)) || !(kb->lx = lexicon_new()) ||
	    !(kb->ans = answers_new())) {
		snprintf(err, errlen, "%s: out of memory", dir);
		kb_free(kb);
		return NULL;
	}
	if (!(kb->im = untrained ? intent_model_load_untrained(dir, kb->lx, err, errlen)
				 : intent_model_load(dir, kb->lx, err, errlen)))
		goto fail;
	lexicon_seal(kb->lx);

	struct cal_load cl = { .r = &kb->cal };
	int rc = load_file(dir, "calendar.ini", cal_cb, &cl, err, errlen);
	if (cl.nclosure)
		qsort(cl.closure, (size_t)cl.nclosure, sizeof *cl.closure, cmp_long);
	kb->cal.closure = cl.closure;
	kb->cal.nclosure = cl.nclosure;
	if (rc < 0)
		goto fail;

	struct stage_load sl = { .d = &kb->delays, .cur = -1 };
	if (load_file(dir, "stages.ini", stage_cb, &sl, err, errlen) < 0)
		goto fail;
	if (load_file(dir, "answers.ini", answers_cb, kb->ans, err, errlen) < 0)
		goto fail;
	/* every intent the model may give needs an answer */
	for (int in = IN__COUNT; in < intent_model_count(kb->im); in++) {
		const char *name = intent_model_name(kb->im, in);
		if (!answers_has(kb->ans, name)) {
			snprintf(err, errlen, "%s/answers.ini: no answer for the intent \"%s\" of "
				 "the examples; add a section [%s] with text = <French answer>",
				 dir, name, name);
			goto fail;
		}
	}
	return kb;
fail:
	kb_free(kb);
	return NULL;
}

struct kb *kb_load(const char *dir, char *err, size_t errlen)
{
	return load(dir, 0, err, errlen);
}

struct kb *kb_load_untrained(const char *dir, char *err, size_t errlen)
{
	return load(dir, 1, err, errlen);
}

struct intent_model *kb_intents_mut(struct kb *kb) { return kb->im; }
const char *kb_dir(const struct kb *kb) { return kb->dir; }
const struct cal_rules *kb_cal(const struct kb *kb) { return &kb->cal; }
const struct delays *kb_delays(const struct kb *kb) { return &kb->delays; }
const struct lexicon *kb_lexicon(const struct kb *kb) { return kb->lx; }
const struct intent_model *kb_intents(const struct kb *kb) { return kb->im; }
const struct answers *kb_answers(const struct kb *kb) { return kb->ans; }
