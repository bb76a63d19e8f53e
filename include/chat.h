/* chat.h - what a transport and the bot say to each other, and nothing
 * more: a message goes up as a struct chat_msg through the callback the
 * transport was given (struct chat_sink), the reply comes down as text in
 * a struct chat_reply.  Transports (irc/, matrix/) include this and
 * config.h, never the language, the rules or the bot itself, so they can
 * be driven and tested with any sink. */
#ifndef FAQBOT_CHAT_H
#define FAQBOT_CHAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct chat_policy;

enum chat_event {
	CHAT_TEXT = 0,  /* a message: question, command, follow-up */
	CHAT_MINOR,     /* a CTCP request: may the transport reply? */
	CHAT_REACTION,  /* a reaction (key) on the bot's message rel_event */
	CHAT_CLAIM      /* a reaction on the hand-over post of the question
			 * rel_event (escalate_to): the sender takes it */
};

/* One incoming message, as the transport saw it.  Strings are borrowed
 * for the duration of the call. */
struct chat_msg {
	enum chat_event event;
	const char *network;  /* config NAME; part of the rate-limit key */
	const char *kind;     /* "irc" or "matrix", for the logs; NULL: told
			       * from the sender (a Matrix id "@u:server") */
	const char *sender;   /* IRC nick / Matrix user id */
	const char *account;  /* services account / Matrix user id; NULL
			       * when unknown.  Admin rights come from this,
			       * never from the nick. */
	const char *user_id;  /* who the per-user limits count: on IRC the
			       * account, else user@host (a nick change
			       * keeps the bucket); NULL: sender */
	const char *thread;   /* Matrix thread root event id, or NULL; with
			       * network, room and sender, the key of the
			       * asker's conversation (conv.h) */
	const char *text;     /* UTF-8, no CR/LF/NUL needed to be valid */
	size_t len;
	int is_private;       /* private message / direct chat */
	int mentioned;        /* transport-level mention (m.mentions, or a
			       * reply to one of the bot's answers) */
	const char *own_name; /* bot's current nick / Matrix display name */
	int auto_answer;      /* this channel/room is in policy->auto_answer */
	const struct chat_policy *policy; /* admins, ignore, user rate */
	int64_t now_ms;       /* monotonic ms (loop_now_ms), rate limiter */
	time_t now;           /* wall clock for "today"; 0: time(NULL) */
	const char *room;     /* channel / room id (the record, the
			       * conversation); NULL in an IRC private message */
	const char *event_id; /* Matrix: this event's id (the record); NULL on IRC */
	const char *rel_event;/* CHAT_REACTION, CHAT_CLAIM: the event reacted to */
	const char *key;      /* CHAT_REACTION: the reaction's key */
};

enum chat_kind {
	CHAT_NONE = 0,  /* say nothing */
	CHAT_ANSWER,    /* an answer from the engine */
	CHAT_LIMITED,   /* the one notice when a user exceeds the rate */
	CHAT_REFUSED,   /* admin command from a non-admin (private only) */
	CHAT_ADMIN      /* result of !reload / !status */
};

#define CHAT_REPLY_MAX 4096 /* bytes of text, NUL included */
#define CHAT_EXTRA_MAX 600

/* What the transport sends.  text goes to where the message came from
 * (the transport adds the asker's nick or a reply relation); extra_text,
 * when extra_target is set, is a second message, sent as is to that
 * channel or room (the hand-over to a person, escalate_to). */
struct chat_reply {
	enum chat_kind kind;
	size_t len;
	char text[CHAT_REPLY_MAX]; /* French; may hold '\n' between lines */
	char extra_target[256];    /* "" when none */
	char extra_text[CHAT_EXTRA_MAX];
};

/* The one way up.  For CHAT_TEXT: 1 when out holds something to send,
 * 0 when the message is ignored.  For CHAT_MINOR: 1 send the transport's
 * own reply, 0 send out instead (the one "slow down" notice), -1 send
 * nothing.  For CHAT_REACTION and CHAT_CLAIM: 1 when taken (out may then
 * hold a reply for the asker in extra_*), 0 not. */
typedef int (*chat_on_msg_fn)(void *arg, const struct chat_msg *m, struct chat_reply *out);

struct chat_sink {
	chat_on_msg_fn on_msg;
	void *arg;
};

#endif
