/* transport.h - what run.c knows of a transport (irc/, matrix/): one
 * const table of operations each, as curl has one handler per protocol.
 * run.c starts, reconfigures, stops and frees every network through it,
 * by one code path whatever the kind; messages go up through the chat
 * sink (chat.h), never through this table. */
#ifndef FAQBOT_TRANSPORT_H
#define FAQBOT_TRANSPORT_H

struct loop;
struct bot_config;
struct chat_sink;

struct transport_ops {
	const char *kind; /* "irc", "matrix": the config section's prefix */
	/* Starts the network of config section (a struct irc_config or
	 * struct matrix_config), with the [bot] settings it uses (state
	 * file, max_answer_age).  Copies what it keeps of both: the caller
	 * may free them after.  NULL, the reason logged, when it cannot. */
	void *(*start)(struct loop *lp, const void *section, const struct bot_config *bot,
		       const struct chat_sink *sink);
	/* A reload: the same-named section's new settings, copied now (the
	 * caller may free them after).  Safe from inside the handler that
	 * asked (an admin's !reload): the old settings stay readable until
	 * the loop runs again, and what the change sets off (IRC: lines the
	 * new throttle lets out; Matrix: the whole change) happens from the
	 * loop.  0 / -1 (out of memory: the old settings stay). */
	int (*apply)(void *net, const void *section, const struct bot_config *bot);
	/* Starts a clean stop (IRC: QUIT with message, or the configured
	 * one); stopped() says when it is over and free() may come. */
	void (*quit)(void *net, const char *message);
	int (*stopped)(const void *net);
	/* Accepts NULL.  Not from inside the network's own callbacks. */
	void (*free)(void *net);
	/* 1 when registered / logged in and syncing (systemd STATUS); the
	 * Matrix table says 1 for a started account (mxnet.h tells no
	 * login state, and STATUS lists every Matrix account started). */
	int (*ready)(const void *net);
};

extern const struct transport_ops ircnet_ops; /* irc/ircsock.c */
extern const struct transport_ops mxnet_ops;  /* matrix/mxops.c (not in faqbot-irc) */

#endif
