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
	enum state_slot state;
	int has_date;
	struct date validation;
};

#endif
