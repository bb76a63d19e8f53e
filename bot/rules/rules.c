/* rules.c - stage dates from a validation date, and the status of a
 * display-delay question against today (domain.md, "Conventions").
 * The delays are data (struct delays, filled from the knowledge files);
 * this file knows only the shape of the stages.  No text for users here. */
#include <string.h>

#include "rules.h"

void rules_delays_default(struct delays *d)
{
	/* Regional site: the day after validation (domain.md, stage 5). */
	d->regional.n = 1;
	d->regional.unit = DU_CALENDAR;
	/* RCO export: the evening of the validation (stage 6). */
	d->rco_export.n = 0;
	d->rco_export.unit = DU_CALENDAR;
	/* RCO visible: 48 h after export, counted in working days (stage 7). */
	d->rco_visible.n = 2;
	d->rco_visible.unit = DU_WORKING;
	/* France Travail: 2 to 7 days in total, counted in working days
	 * (stages 8-9 and the project's convention). */
	d->ft_min.n = 2;
	d->ft_min.unit = DU_WORKING;
	d->ft_max.n = 7;
	d->ft_max.unit = DU_WORKING;
}

struct date rules_apply(const struct cal_rules *cal, struct date v, struct delay dl)
{
	if (dl.unit == DU_WORKING)
		return cal_add_workdays(cal, v, dl.n);
	return date_add_days(v, dl.n);
}

void rules_dates(const struct cal_rules *cal, const struct delays *dl,
		 struct date v, struct stage_dates *out)
{
	out->validation = v;
	out->regional = rules_apply(cal, v, dl->regional);
	out->rco_export = rules_apply(cal, v, dl->rco_export);
	out->rco_visible = rules_apply(cal, v, dl->rco_visible);
	out->ft_min = rules_apply(cal, v, dl->ft_min);
	out->ft_max = rules_apply(cal, v, dl->ft_max);
}

void rules_window(const struct stage_dates *sd, enum platform pf,
		  struct date *open, struct date *close)
{
	/* Windows of domain.md ("Status"): regional [V+1, V+1], RCO
	 * [V+2wd, V+2wd], everything else the France Travail window. */
	switch (pf) {
	case PF_REGIONAL:
		*open = *close = sd->regional;
		break;
	case PF_RCO:
		*open = *close = sd->rco_visible;
		break;
	default:
		*open = sd->ft_min;
		*close = sd->ft_max;
		break;
	}
}

enum status rules_status(const struct stage_dates *sd, enum platform pf,
			 struct date today)
{
	struct date open, close;
	rules_window(sd, pf, &open, &close);
	if (date_cmp(today, open) < 0)
		return ST_EARLY;
	if (date_cmp(today, close) > 0)
		return ST_OVERDUE;
	return ST_WITHIN;
}

const char *rules_status_name(enum status st)
{
	switch (st) {
	case ST_EARLY:
		return "early";
	case ST_WITHIN:
		return "within";
	case ST_OVERDUE:
		return "overdue";
	default:
		return NULL;
	}
}
