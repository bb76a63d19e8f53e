/* intent.h - what a question is about (intent + confidence) and its slots
 * (platform, state, validation date).  Scoring data comes from the
 * knowledge files; see kb.h.  Never reads the clock: today is an argument. */
#ifndef FAQBOT_INTENT_H
#define FAQBOT_INTENT_H

#include <stddef.h>
#include "cal.h"
#include "rules.h"

enum intent {
	IN_OUT_OF_SCOPE = 0,
	IN_DISPLAY_DELAY,
	IN_DEFINITION,
	IN_STAGES,
	IN_STATE,
	IN_SESSION_NUMBER,
	IN_GREEN_NOT_IN_KAIROS,
	IN_VALIDATION_PROCESS,
	IN_GREETING,
	IN_THANKS,
	IN_HELP,
	IN__COUNT
};

enum state_slot { STS_NONE = 0, STS_SAIS, STS_DIFF, STS_ARCH };

/* "display_delay", ...; intent_from_name returns -1 when unknown. */
const char *intent_name(enum intent in);
int intent_from_name(const char *s);
const char *state_name(enum state_slot st); /* "SAIS"...; NULL for none */

struct query {
	enum intent intent;
	double confidence; /* 0..1 */
	enum platform platform;
	enum state_slot state;   /* the first state named (the JSON slot) */
	enum state_slot also[2]; /* the other states named, in order ("SAIS ou DIFF ?") */
	int has_date;
	struct date validation;
};

struct intent_model;
struct lexicon;

/* Reads DIR/lexicon.ini (rewrite rules, vocabulary, keep-words -> lx via
 * lexicon_add_*) and DIR/intents.ini.  NULL on error with "path:line: what
 * is wrong, and how to fix it" in err.  Does not seal lx (the caller does). */
struct intent_model *intent_model_load(const char *dir, struct lexicon *lx,
				       char *err, size_t errlen);
void intent_model_free(struct intent_model *m); /* accepts NULL */

/* Analyses one question: intent + confidence + platform, state, validation
 * date.  No allocation.  lx must be sealed (it may be NULL). */
void intent_analyse(const struct intent_model *m, const struct lexicon *lx,
		    const char *text, size_t len, struct date today,
		    struct query *q);

/* intent_analyse, also giving each intent's raw score (-INFINITY for the
 * intents that were not possible): for tests and for tuning intents.ini. */
void intent_analyse_scores(const struct intent_model *m, const struct lexicon *lx,
			   const char *text, size_t len, struct date today,
			   struct query *q, double scores[IN__COUNT]);

/* Confidence at or above which a question is answered without being
 * addressed (channel auto_answer). */
double intent_auto_threshold(const struct intent_model *m);

/* Runs every example of intents.ini through intent_analyse; returns the
 * number that do not give their intent, with the first "path:line: example
 * ... gives X, expected Y" in err.  `faqbot check` calls it. */
int intent_model_check(const struct intent_model *m, const struct lexicon *lx,
		       char *err, size_t errlen);

#endif
