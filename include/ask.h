/* ask.h - the answer engine in one call: question + today -> reply.
 * Used by the command line, the IRC and the Matrix transports alike. */
#ifndef FAQBOT_ASK_H
#define FAQBOT_ASK_H

#include <stddef.h>
#include "intent.h"
#include "rules.h"

struct kb;

#define ASK_MAX_ANSWER 4096

struct reply {
	struct query q;
	int has_dates;
	struct stage_dates dates;
	enum status status;
	int auto_answer; /* would be answered unasked in an auto_answer channel */
	char text[ASK_MAX_ANSWER]; /* French plain text, may hold '\n' */
	size_t len;
};

/* Analyses and answers.  Always fills out (an empty or unusable question
 * gets the help answer); returns 0, or -1 only on a programming error. */
int ask_question(const struct kb *kb, const char *question, size_t len,
		 struct date today, struct reply *out);

/* 1 for an intent the bot may answer unasked: in scope, not a greeting
 * or thanks. */
int ask_auto_intent(enum intent in);
/* 1 when r is sure enough to be answered unasked: ask_auto_intent, at or
 * above threshold (< 0: intents.ini's auto_answer probability). */
int ask_auto_answer(const struct kb *kb, const struct reply *r, double threshold);

/* The second half of ask_question: stage dates, status and French text
 * for an already analysed (or completed, conv.h) question q. */
int ask_render(const struct kb *kb, const struct query *q, struct date today,
	       struct reply *out);

/* The `faqbot ask --json` object of domain.md, as a malloc'd string. */
char *ask_json(const struct reply *r);

#endif
