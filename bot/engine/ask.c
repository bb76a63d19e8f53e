/* ask.c - the answer engine in one call: intent and slots (intent.c), stage
 * dates and status (rules.c), French text (answers.c); and the JSON object
 * of `faqbot ask --json` (domain.md, "The machine-readable answer").
 * No I/O and no clock: today is an argument.  ask_question allocates
 * nothing; ask_json does (cJSON). */
#include "ask.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "answers.h"
#include "kb.h"

#define ASK_MIN_YEAR 1583
#define ASK_MAX_YEAR 9000

static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

int ask_question(const struct kb *kb, const char *question, size_t len,
		 struct date today, struct reply *out)
{
	if (!kb || !out || (!question && len))
		return -1;
	memset(&out->q, 0, sizeof out->q);
	out->has_dates = 0;
	out->status = ST_NONE;
	if (!question || blank(question, len)) {
		/* nothing asked: say what the bot can do (ask.h contract) */
		out->q.intent = IN_HELP;
		snprintf(out->q.name, sizeof out->q.name, "%s", intent_name(IN_HELP));
	} else {
		intent_analyse(kb_intents(kb), kb_lexicon(kb), question, len, today, &out->q);
	}
	return ask_render(kb, &out->q, today, out);
}

int ask_render(const struct kb *kb, const struct query *q, struct date today,
	       struct reply *out)
{
	if (!kb || !q || !out)
		return -1;
	if (q != &out->q)
		out->q = *q;
	out->has_dates = 0;
	out->status = ST_NONE;
	/* cal_easter covers 1583..9999; a validation date outside ASK_MIN_YEAR..
	 * ASK_MAX_YEAR is nonsense for this bot and would push the stage dates
	 * past year 9999: treated as no date. */
	const struct date *v = &out->q.validation;
	if (out->q.has_date && date_valid(v->y, v->m, v->d) &&
	    v->y >= ASK_MIN_YEAR && v->y <= ASK_MAX_YEAR) {
		rules_dates(kb_cal(kb), kb_delays(kb), out->q.validation, &out->dates);
		out->has_dates = 1;
	} else {
		out->q.has_date = 0;
	}
	/* status only for a display-delay question with a date (domain.md) */
	if (out->q.intent == IN_DISPLAY_DELAY && out->has_dates)
		out->status = rules_status(&out->dates, out->q.platform, today);
	out->len = answers_render(kb_answers(kb), kb_delays(kb), &out->q,
				 out->has_dates ? &out->dates : NULL, out->status, today,
				 out->text, sizeof out->text);
	out->auto_answer = ask_auto_answer(kb, out, -1);
	return 0;
}

int ask_auto_intent(enum intent in)
{
	return in != IN_OUT_OF_SCOPE && in != IN_GREETING && in != IN_THANKS;
}

int ask_auto_answer(const struct kb *kb, const struct reply *r, double threshold)
{
	if (threshold < 0)
		threshold = intent_auto_threshold(kb_intents(kb));
	return ask_auto_intent(r->q.intent) && r->q.confidence >= threshold;
}

/* Adds "key": "YYYY-MM-DD". */
static int add_date(cJSON *obj, const char *key, struct date d)
{
	char iso[11];
	date_format_iso(d, iso);
	return cJSON_AddStringToObject(obj, key, iso) ? 0 : -1;
}

/* Adds "key": s, or "key": null when s is NULL. */
static int add_str_or_null(cJSON *obj, const char *key, const char *s)
{
	return (s ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key))
		? 0 : -1;
}

char *ask_json(const struct reply *r)
{
	cJSON *o = cJSON_CreateObject(), *slots = NULL, *dates = NULL;
	char *s = NULL;
	if (!o)
		return NULL;
	const char *in = intent_query_name(&r->q);
	/* three decimals: a score, not a measurement */
	double conf = round(r->q.confidence * 1000.0) / 1000.0;
	if (!(conf >= 0.0))
		conf = 0.0;
	if (conf > 1.0)
		conf = 1.0;
	if (add_str_or_null(o, "intent", in ? in : "out_of_scope") < 0 ||
	    !cJSON_AddNumberToObject(o, "confidence", conf) ||
	    !(slots = cJSON_AddObjectToObject(o, "slots")) ||
	    add_str_or_null(slots, "platform", platform_name(r->q.platform)) < 0 ||
	    add_str_or_null(slots, "state", intent_state_name(r->q.state)) < 0)
		goto out;
	if (r->q.has_date ? add_date(slots, "validation_date", r->q.validation) < 0
			  : !cJSON_AddNullToObject(slots, "validation_date"))
		goto out;
	if (!(dates = cJSON_AddObjectToObject(o, "dates")))
		goto out;
	if (r->has_dates) {
		const struct stage_dates *d = &r->dates;
		if (add_date(dates, "validation", d->validation) < 0 ||
		    add_date(dates, "regional", d->regional) < 0 ||
		    add_date(dates, "rco_export", d->rco_export) < 0 ||
		    add_date(dates, "rco_visible", d->rco_visible) < 0 ||
		    add_date(dates, "france_travail_min", d->ft_min) < 0 ||
		    add_date(dates, "france_travail_max", d->ft_max) < 0)
			goto out;
	}
	if (add_str_or_null(o, "status", rules_status_name(r->status)) < 0)
		goto out;
	/* r->text is NUL-terminated at r->len by ask_question */
	if (!cJSON_AddStringToObject(o, "answer", r->text) ||
	    !cJSON_AddBoolToObject(o, "auto_answer", r->auto_answer))
		goto out;
	s = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return s;
}
