/* intent.h - what a question is about (intent + confidence) and its slots
 * (platform, state, validation date).  The slots come from the concepts of
 * knowledge/intents.ini and datex.c; the intent from the learned model
 * (knowledge/model.bin, lmodel.h) over the features of feat.h.
 * Never reads the clock: today is an argument. */
#ifndef FAQBOT_INTENT_H
#define FAQBOT_INTENT_H

#include <stddef.h>
#include "date.h"
#include "platform.h"

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
	IN__COUNT /* intents defined only in knowledge/ come after, from the model */
};

#define INTENT_NAME_MAX 32

enum state_slot { STS_NONE = 0, STS_SAIS, STS_DIFF, STS_ARCH };

/* "display_delay", ...; intent_from_name returns -1 when unknown. */
const char *intent_name(enum intent in);
int intent_from_name(const char *s);
const char *intent_state_name(enum state_slot st); /* "SAIS"...; NULL for none */

struct query {
	enum intent intent;      /* >= IN__COUNT: an intent defined in knowledge/ only */
	char name[INTENT_NAME_MAX]; /* the name of an intent >= IN__COUNT ("contact") */
	double confidence; /* 0..1 */
	enum platform platform;
	enum state_slot state;   /* the first state named (the JSON slot) */
	enum state_slot also[2]; /* the other states named, in order ("SAIS ou DIFF ?") */
	int has_date;
	struct date validation;
};

struct intent_model;
struct lexicon;
struct norm_text;
struct lmodel;
struct featvec;
struct feat_settings;

/* Reads DIR/lexicon.ini (rewrite rules, vocabulary, keep-words -> lx via
 * lexicon_add_*), DIR/intents.ini and DIR/model.bin.  NULL on error with
 * "path:line: what is wrong, and how to fix it" in err.  Does not seal lx
 * (the caller does). */
struct intent_model *intent_model_load(const char *dir, struct lexicon *lx,
				       char *err, size_t errlen);
/* The same without model.bin (training): every question is then
 * out_of_scope until intent_model_attach. */
struct intent_model *intent_model_load_untrained(const char *dir, struct lexicon *lx,
						 char *err, size_t errlen);
/* Takes lm (freed with m, or at the next attach).  -1 with err when the
 * model cannot serve (no out_of_scope class). */
int intent_model_attach(struct intent_model *m, struct lmodel *lm, char *err, size_t errlen);
void intent_model_free(struct intent_model *m); /* accepts NULL */

/* The name of q's intent: a built-in one by its id (a conversation may
 * change the id of an analysed query), one of knowledge/ by q->name. */
const char *intent_query_name(const struct query *q);

/* The name of intent id in (built-in or defined in knowledge/). */
const char *intent_model_name(const struct intent_model *m, int in);
/* IN__COUNT + the intents defined in knowledge/ only. */
int intent_model_count(const struct intent_model *m);

/* The features the model sees of a question (fs NULL: the model's). */
void intent_features(const struct intent_model *m, const struct lexicon *lx,
		     const struct feat_settings *fs, const char *text, size_t len,
		     struct date today, struct featvec *out);

/* Analyses one question: intent + confidence + platform, state, validation
 * date.  No allocation.  lx must be sealed (it may be NULL). */
void intent_analyse(const struct intent_model *m, const struct lexicon *lx,
		    const char *text, size_t len, struct date today,
		    struct query *q);

/* intent_analyse, leaving the normalised text in *nt for the caller (the
 * conversation reads the same tokens instead of normalising twice). */
void intent_analyse_nt(const struct intent_model *m, const struct lexicon *lx,
		       const char *text, size_t len, struct date today,
		       struct query *q, struct norm_text *nt);

/* intent_analyse, also giving each built-in intent's probability. */
void intent_analyse_scores(const struct intent_model *m, const struct lexicon *lx,
			   const char *text, size_t len, struct date today,
			   struct query *q, double scores[IN__COUNT]);

/* Confidence at or above which a question is answered without being
 * addressed (channel auto_answer). */
double intent_auto_threshold(const struct intent_model *m);
/* Overrides intents.ini's threshold (faqbot train's measurements). */
void intent_model_set_threshold(struct intent_model *m, double t);

/* 0 when model.bin was trained from the knowledge as it is now (the
 * examples, intents.ini, lexicon.ini); else 1 with the fix ("run faqbot
 * train") in err.  `faqbot check` calls it. */
int intent_model_check(const struct intent_model *m, char *err, size_t errlen);

#endif
