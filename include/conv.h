/* conv.h - conversations: a follow-up ("et pour Kairos ?", "validée le 12",
 * "et si elle avait été validée vendredi ?", "et DIFF ?") completes the
 * asker's last question, and a bare date answers the bot's own "give me
 * the validation date".
 *
 * One conversation per asker: network + channel/room (+ Matrix thread) +
 * user.  It keeps the last completed question (intent, platform, state,
 * validation date), whether the bot asked for the date and when, and
 * nothing of the text.  Entries have a fixed size; the table holds at most
 * `cap` of them (the least recently used is dropped) and an entry idle
 * longer than the timeout is forgotten.  Memory only, no I/O, no clock:
 * every call takes the caller's time in milliseconds.
 *
 * Whether a message is a follow-up depends on its own words, never on the
 * classifier's confidence: after removing date expressions (datex.h),
 * platform and state names, filler and follow-up markers ("et", "et pour",
 * "si elle avait été validée", "pareil", ...), nothing topical remains. */
#ifndef FAQBOT_CONV_H
#define FAQBOT_CONV_H

#include <stddef.h>
#include <stdint.h>
#include "ask.h"
#include "cal.h"
#include "intent.h"
#include "norm.h"

struct kb;
struct conv_table;

#define CONV_CAP_DEFAULT 16384        /* conversations kept at most */
#define CONV_TIMEOUT_DEFAULT_S 600    /* [bot] conversation_timeout */
#define CONV_DATE_REPLY_MS 120000     /* a bare date answers the bot's ask */
#define CONV_KEY_MAX 320              /* bytes of network+room+thread+user */

/* Who is talking, where.  room NULL: a private message (direct chat on
 * Matrix passes its room).  thread: a Matrix thread root, else NULL. */
struct conv_key {
	const char *network, *room, *thread, *user;
};

/* The remembered question of a conversation. */
struct conv_last {
	unsigned char intent, platform, state, has_date;
	float confidence;
	struct date validation;
};

/* What a message is made of (conv_shape). */
struct conv_shape {
	int slot_only;   /* only dates, platform/state names, filler, markers */
	int marker;      /* starts like a follow-up: "et ...", "pareil", ... */
	int topical;     /* tokens left that are none of those */
	int anaphora;    /* speaks of the session in question ("elle") */
	int new_record;  /* speaks of another one ("une autre session") */
	int state;       /* a state code written alone (enum state_slot) */
	int platform;    /* "regional", "national" alone (enum platform) */
	int has_date;    /* a date expression was found ... */
	struct date date;/* ... the last one */
};

/* The question completed from the conversation. */
struct conv_result {
	struct query q;      /* what is answered */
	int followup;        /* took its intent or a slot from earlier */
	int took_intent, took_platform, took_date, took_state;
	int answers_ask;     /* gave the date the bot had asked for */
};

/* cap 0: CONV_CAP_DEFAULT.  timeout_ms <= 0: conversations disabled
 * (every message stands alone).  NULL when out of memory. */
struct conv_table *conv_new(unsigned cap, int64_t timeout_ms);
void conv_free(struct conv_table *t); /* accepts NULL */
void conv_set_timeout(struct conv_table *t, int64_t timeout_ms);
unsigned conv_count(const struct conv_table *t); /* live or not yet purged */

/* Classifies the words of text (nt: scratch space for the tokens).  alone:
 * the engine's analysis of text, or NULL; when given, words outside the
 * lists are only tried as platform or state names if the engine found one
 * the lists did not. */
void conv_shape(const struct kb *kb, const char *text, size_t len, struct date today,
		const struct query *alone, struct norm_text *nt, struct conv_shape *sh);
/* conv_shape of a text already normalised into nt (intent_analyse_nt). */
void conv_shape_nt(const struct kb *kb, const struct norm_text *nt, struct date today,
		   const struct query *alone, struct conv_shape *sh);

/* Pure: completes alone (the message analysed on its own) from prev (NULL:
 * no conversation); asked: the bot had asked prev's asker for the date. */
void conv_complete(const struct conv_last *prev, int asked, const struct conv_shape *sh,
		   const struct query *alone, struct conv_result *out);

/* The whole turn: looks the conversation up, analyses text, completes it,
 * renders the answer into out (with "Pour Kairos, avec une validation le
 * mardi 24 novembre : " in front when it assumed slots the message did not
 * give) and remembers the question.  *followup (may be NULL) is set.
 * A NULL table, a disabled one or a key too long: stateless (ask_question).
 * Returns 0, or -1 like ask_question. */
int conv_ask(struct conv_table *t, const struct kb *kb, const struct conv_key *k,
	     const char *text, size_t len, struct date today, int64_t now_ms,
	     struct reply *out, int *followup);

/* 1 when the asker's conversation is waiting for the validation date the
 * bot asked for less than CONV_DATE_REPLY_MS ago and text is a bare reply
 * carrying a date: in a channel it then counts as addressed to the bot. */
int conv_date_reply(struct conv_table *t, const struct kb *kb, const struct conv_key *k,
		    const char *text, size_t len, struct date today, int64_t now_ms);

/* Forgets the asker's conversation (console: an empty line). */
void conv_forget(struct conv_table *t, const struct conv_key *k);

#endif
