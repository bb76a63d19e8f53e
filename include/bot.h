/* bot.h - transport-agnostic message handling, shared by IRC and Matrix:
 * whether to answer a message (private, addressed, command prefix,
 * auto_answer with high confidence), admin commands by account only,
 * a bounded per-user rate limit, and the answer text from ask_question.
 * Does no I/O: the transport delivers a struct chat_msg (chat.h) through
 * bot_on_msg and sends the struct chat_reply it fills (adding the asker's
 * nick or a mention itself). */
#ifndef FAQBOT_BOT_H
#define FAQBOT_BOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "ask.h"
#include "chat.h"
#include "config.h"

_Static_assert(CHAT_REPLY_MAX == ASK_MAX_ANSWER, "a reply holds one answer");

struct bot;
struct kb;

/* The minimum confidence for answering an unaddressed question in an
 * auto_answer channel is the knowledge's (intents.ini, intent_auto_threshold);
 * [bot] auto_answer_confidence overrides it. */
/* Users remembered by the rate limiter (least recently seen evicted). */
#define BOT_RATE_SLOTS 1024

/* Called for "!reload" by an admin: reload knowledge and config as on
 * SIGHUP.  Returns 0, or -1 with a message (English, from the loaders) in
 * msg. */
typedef int (*bot_reload_fn)(void *arg, char *msg, size_t msglen);

/* Takes ownership of kb (must not be NULL).  Copies what it needs of cfg;
 * sets the process time zone (TZ) to cfg->timezone. */
struct bot *bot_new(const struct bot_config *cfg, struct kb *kb);
void bot_free(struct bot *b); /* accepts NULL; frees the kb */

/* Applies new [bot] settings (prefix, ignore, timezone, threshold). */
int bot_set_config(struct bot *b, const struct bot_config *cfg);
/* Swaps in kb (ownership taken) and frees the old one.  kb must be a
 * fully loaded base: build it first, swap only on success. */
void bot_set_kb(struct bot *b, struct kb *kb);
/* kb_load(dir) then bot_set_kb; on failure the old kb keeps serving and
 * err holds the loader's message.  0 / -1. */
int bot_reload_kb(struct bot *b, const char *dir, char *err, size_t errlen);
const struct kb *bot_kb(const struct bot *b);
void bot_set_reload_hook(struct bot *b, bot_reload_fn fn, void *arg);

/* The record of questions (record.c, [bot] record_questions): fn is
 * called for each question answered, with missed = 1 when refused (out of
 * scope) or answered below the auto-answer confidence.  fb is called for
 * feedback: "!faux" (or "faqbot: faux") with answer_event NULL and good 0
 * (mark the sender's last answer wrong), or a Matrix reaction on the
 * bot's answer answer_event (good 1 for a thumbs up, 0 down); it returns
 * 1 when an answer was marked.  Set by run.c; NULL: nothing recorded. */
typedef int (*bot_record_fn)(void *arg, const struct chat_msg *m, const char *text, size_t text_len,
			     const struct query *an, int missed);
typedef int (*bot_feedback_fn)(void *arg, const struct chat_msg *m, const char *answer_event,
			       int good);
void bot_set_record_hook(struct bot *b, bot_record_fn fn, bot_feedback_fn fb, void *arg);
/* A reaction key (m.annotation) on answer_event, the bot's own message:
 * a thumbs up or down (any skin tone) is recorded; others are ignored.
 * Sends nothing.  1 recorded, 0 not. */
int bot_reaction(struct bot *b, const struct chat_msg *m, const char *answer_event,
		 const char *key);

/* The engine's analysis of the last question bot_handle answered (the
 * tests, the record); valid until the next call. */
const struct query *bot_last_query(const struct bot *b);

/* Decides and, when the bot should speak, fills out->text.  Returns 1
 * when out holds something to send, 0 when the message is ignored
 * (out->kind == CHAT_NONE).
 *   private            -> answer
 *   "faqbot: q", "faqbot, q", "faqbot q", "@faqbot q" (any case, at the
 *   start), or mentioned -> answer q
 *   "!delai q", "!faq q", "!aide"    -> answer; "!delai q" answers q as
 *   typed, and only when that is out of scope, help, a greeting or
 *   thanks (or q is empty) answers it as a display-delay question
 *   auto_answer channel -> answer only when the intent is in scope (not
 *   out_of_scope, greeting, thanks) and confidence >= threshold
 *   "!reload", "!status" -> only when account is in policy->admins;
 *   otherwise a polite refusal in private, nothing in a channel.
 * Never answers own_name or a sender in policy->ignore / [bot] ignore. */
int bot_handle(struct bot *b, const struct chat_msg *m, struct chat_reply *out);

/* Small replies that are not answers (a refusal of an admin command, a
 * CTCP reply sent by the transport) have a per-user bucket of their own:
 * BOT_MINOR_BURST at once, then BOT_MINOR_PER_MIN a minute, whatever the
 * question limit (150 CTCP PINGs queued 150 replies).  Lifted
 * with the question limit (user_rate = 0). */
#define BOT_MINOR_BURST 3
#define BOT_MINOR_PER_MIN 3
/* Takes one token of m's sender (keyed like bot_handle's limit).  1: send
 * the reply; 0: over the limit, send out instead (the one "slow down"
 * notice, kind CHAT_LIMITED); -1: over the limit and already told: send
 * nothing. */
int bot_minor_take(struct bot *b, const struct chat_msg *m, struct chat_reply *out);

/* The transports' one way in (chat.h's chat_on_msg_fn, arg the struct
 * bot): bot_handle, bot_minor_take, bot_reaction or bot_claim by
 * m->event. */
int bot_on_msg(void *bot, const struct chat_msg *m, struct chat_reply *out);
/* Hand-over (policy->escalate_to; IRC and Matrix): a question the bot refuses (out
 * of scope), or whose computed date is overdue, is answered with « je
 * transmets » and posted to escalate_to as ticket N (who asked, where,
 * the question) in out->extra_*.  « !pris N » said in escalate_to takes
 * it: the channel is told, and the asker (out->extra_*) is told who took
 * it.  The last BOT_TICKETS tickets are remembered, in memory only. */
#define BOT_TICKETS 64
/* Matrix: a reaction in escalate_to on the hand-over post of the question
 * m->rel_event takes it, like « !pris N »: out->text for the escalate_to
 * room, out->extra_* for the asker.  1 taken, 0 not (unknown, or taken
 * already: said once). */
int bot_claim(struct bot *b, const struct chat_msg *m, struct chat_reply *out);

/* Today's date in the configured time zone at wall-clock time now. */
struct date bot_today(const struct bot *b, time_t now);

/* Counters for !status and the logs. */
struct bot_stats {
	unsigned long messages, answered, limited, ignored;
	time_t started, kb_loaded;
};
void bot_get_stats(const struct bot *b, struct bot_stats *st);

#endif
