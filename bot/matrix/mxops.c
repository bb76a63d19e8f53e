/* mxops.c - the Matrix transport's operations for run.c (transport.h):
 * a thin table over mxnet.h, so run.c starts, reconfigures, stops and
 * frees a Matrix account exactly as it does an IRC network.  Only the
 * full build references it (the IRC-only faqbot-irc links no Matrix
 * code: Makefile, run-irc.o). */
#include "config.h"
#include "mxnet.h"
#include "transport.h"

static void *ops_start(struct loop *lp, const void *section, const struct bot_config *bot,
		       const struct chat_sink *sink)
{
	struct mxnet *n = mxnet_start(lp, section, sink, bot->state);
	if (n)
		mxnet_set_max_answer_age(n, bot->max_answer_age);
	return n;
}

static int ops_apply(void *net, const void *section, const struct bot_config *bot)
{
	if (mxnet_set_config(net, section) < 0)
		return -1;
	mxnet_set_max_answer_age(net, bot->max_answer_age);
	return 0;
}

/* Matrix stops at once: answers not yet acknowledged stay in the store
 * and are re-sent at the next start, so there is nothing to say. */
static void ops_quit(void *net, const char *message)
{
	(void)message;
	mxnet_stop(net);
}

static int ops_stopped(const void *net)
{
	(void)net;
	return 1;
}

static void ops_free(void *net)
{
	mxnet_free(net);
}

/* mxnet.h tells no login state: a started account counts (systemd
 * STATUS lists every Matrix account started, as before). */
static int ops_ready(const void *net)
{
	return net != NULL;
}

const struct transport_ops mxnet_ops = {
	.kind = "matrix", .start = ops_start, .apply = ops_apply, .quit = ops_quit,
	.stopped = ops_stopped, .free = ops_free, .ready = ops_ready,
};
