/* rules.h - the diffusion stages: dates computed from a validation date,
 * and the status of a display-delay question (domain.md, "Conventions").
 * Delays come from the knowledge files; nothing here is hard-coded but the
 * shape of the stages. */
#ifndef FAQBOT_RULES_H
#define FAQBOT_RULES_H

#include "cal.h"
#include "platform.h"

enum status { ST_NONE = 0, ST_EARLY, ST_WITHIN, ST_OVERDUE };

enum delay_unit { DU_CALENDAR = 0, DU_WORKING };

struct delay {
	int n;
	enum delay_unit unit;
};

/* One delay per computed stage, counted from the validation date V. */
struct delays {
	struct delay regional;    /* V + 1 calendar day   (stage 5) */
	struct delay rco_export;  /* V (evening)           (stage 6) */
	struct delay rco_visible; /* V + 2 wd              (stage 7) */
	struct delay ft_min;      /* V + 2 wd              (stages 8-9) */
	struct delay ft_max;      /* V + 7 wd              (stages 8-9) */
};

struct stage_dates {
	struct date validation, regional, rco_export, rco_visible, ft_min, ft_max;
};

/* The values of domain.md, for tests. */
void rules_delays_default(struct delays *d);
/* Applies one delay to a date. */
struct date rules_apply(const struct cal_rules *cal, struct date v, struct delay dl);
void rules_dates(const struct cal_rules *cal, const struct delays *dl,
		 struct date v, struct stage_dates *out);
/* The window of the platform asked about (PF_NONE, Kairos, Aude and France
 * Travail share the France Travail window) and today's place in it. */
void rules_window(const struct stage_dates *sd, enum platform pf,
		  struct date *open, struct date *close);
enum status rules_status(const struct stage_dates *sd, enum platform pf,
			 struct date today);

/* "early", "within", "overdue"; NULL for ST_NONE. */
const char *rules_status_name(enum status st);

#endif
