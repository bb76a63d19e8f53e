/* config.h - config.ini -> struct config (inifile.h), with defaults, checks
 * and "path:line: what is wrong, and how to fix it" errors.
 * Sections: [bot], [irc.NAME] (any number), [matrix.NAME] (any number);
 * config.example.ini documents every key with its default.  Relative file
 * paths (knowledge, state, tls_ca_file, client_cert, client_key) are
 * resolved against the directory of the config file.
 * The struct is open and read-only after loading; nothing here logs a
 * secret, and config_dump masks them. */
#ifndef FAQBOT_CONFIG_H
#define FAQBOT_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "strlist.h"

/* What a network lets the bot do and for whom; shared by IRC and Matrix,
 * read by bot.c for every message. */
struct chat_policy {
	struct strlist admins;      /* services accounts / Matrix user ids */
	struct strlist auto_answer; /* channels / room ids or aliases */
	struct strlist ignore;      /* [bot] ignore + this network's ignore */
	int user_rate;              /* questions per user per minute */
	int user_burst;             /* questions a user may ask at once */
	char *escalate_to;          /* IRC: channel the bot hands questions to; NULL */
};

struct bot_config {
	char *knowledge;      /* directory; default "knowledge" */
	char *knowledge_value; /* as written in the config; NULL: default */
	int knowledge_line;   /* line of "knowledge =", 0 when not set */
	char *state;          /* SQLite file; default "faqbot.db" */
	char *command_prefix; /* default "!" (commands !delai, !faq, !aide) */
	char *log_level;      /* error|warn|info|debug; default "info" */
	char *timezone;       /* default "Europe/Paris" (domain.md) */
	struct strlist ignore;   /* nicks / user ids of other bots */
	int max_answer_age;      /* s; Matrix catch-up after restart; 600 */
	double auto_answer_confidence; /* 0..1, or -1: intents.ini auto_answer */
	int user_rate;           /* default for the networks: 6 per minute */
	int user_burst;          /* default 5 */
	int record_questions;    /* keep missed questions for `faqbot report`; 0 */
	int record_days;         /* days they are kept; default 90 */
	int conversation_timeout; /* s a conversation lives idle; 600; 0: off */
};

enum sasl_mech { SASL_NONE = 0, SASL_PLAIN, SASL_EXTERNAL };

struct irc_channel {
	char *name; /* "#chan" */
	char *key;  /* NULL when none */
};

struct irc_config {
	char *name;          /* NAME of [irc.NAME] */
	int line;            /* line of the section header */
	char *server;        /* required */
	int port;            /* default 6697 with TLS, 6667 without */
	int tls;             /* default 1; 0 only when "tls = no" is written */
	char *tls_ca_file;   /* NULL: system CAs */
	char *nick;          /* required */
	struct strlist alt_nicks; /* tried in order when nick is in use */
	char *username;      /* default: nick */
	char *realname;      /* default "faqbot" */
	struct irc_channel *channels;
	size_t nchannels;
	enum sasl_mech sasl_mechanism; /* default none */
	char *sasl_username; /* default: nick */
	char *sasl_password; /* secret */
	char *client_cert, *client_key; /* NULL when none */
	struct chat_policy policy;
	int throttle_burst;  /* lines sent at once; default 4 */
	double throttle_rate; /* lines/s after the burst; default 1 */
	int lag_timeout;     /* s of server silence before reconnect; 240 */
	int reconnect_max;   /* s, cap of the backoff; default 300 */
	char *quit_message;  /* default "faqbot s'arrête" */
	int allow_plaintext_password; /* default 0 */
};

struct matrix_config {
	char *name;          /* NAME of [matrix.NAME] */
	int line;
	char *homeserver;    /* required, "https://matrix.example.org" */
	char *user;          /* required, "@faqbot:example.org" or localpart */
	char *password;      /* secret; password or access_token required */
	char *access_token;  /* secret */
	char *device_name;   /* default "faqbot" */
	struct chat_policy policy;
	struct strlist allowed_inviters; /* user ids or ":server" suffixes */
	int e2ee;            /* default 0 */
	char *pickle_key;    /* secret; default from env FAQBOT_PICKLE_KEY */
	int sync_timeout;    /* s, /sync long-poll; default 30 */
	int reconnect_max;   /* s, cap of the backoff; default 300 */
	int allow_plaintext_password; /* http:// with a password; default 0 */
};

struct config {
	char *path;
	struct bot_config bot;
	struct irc_config *irc;
	size_t nirc;
	struct matrix_config *matrix;
	size_t nmatrix;
};

/* Loads and checks path.  NULL on error with err = "path:line: what is
 * wrong, and how to fix it".  Logs a warning when the file holds a secret
 * and is readable by group or others. */
struct config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct config *c); /* accepts NULL */

/* For an error loading the knowledge directory dir: when dir is the one the
 * config names (c->bot.knowledge), writes into out where it came from, e.g.
 * "x.ini:5: knowledge = kb (relative to the config's folder: /tmp/kb):
 * ERR; set an absolute path"; otherwise (-k DIR, no config) copies err.
 * out is always terminated (truncated to outlen). */
void config_knowledge_error(const struct config *c, const char *dir,
			    const char *err, char *out, size_t outlen);

/* Writes the effective config (defaults filled in) as ini text, with every
 * secret written as "<hidden>".  0, or -1 on a write error. */
int config_dump(const struct config *c, FILE *f);

#endif
