/* fuzz_ircnet.c - the IRC client state machine (ircnet.c, ircreg.c,
 * ircmsg.c, ircinbox.c, outq.c over irc.c, with the real bot.c behind the
 * chat sink) fed arbitrary server bytes through its transport seam.
 * Byte 0 picks the SASL mechanism and whether the connection drops and
 * comes back half-way; byte 1 the chunk size.  Every line the client
 * sends is checked: one line, CR LF terminated, at most 512 bytes, no
 * CR / LF / NUL inside (anything else aborts: a protocol injection). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "config.h"
#include "irc.h"
#include "ircnet.h"
#include "kb.h"
#include "log.h"

struct fake {
	int64_t now, armed;
	size_t sent;
};

static int f_open(struct ircnet *n, void *arg) { (void)n; (void)arg; return 0; }

static int f_send(struct ircnet *n, void *arg, const char *d, size_t len)
{
	(void)n;
	struct fake *f = arg;
	if (len < 2 || len > IRC_LINE_MAX || memcmp(d + len - 2, "\r\n", 2) != 0 ||
	    memchr(d, '\r', len - 2) || memchr(d, '\n', len - 2) || memchr(d, '\0', len))
		abort();
	f->sent++;
	return 0;
}

static size_t f_pending(struct ircnet *n, void *arg) { (void)n; (void)arg; return 0; }

static void f_close(struct ircnet *n, void *arg, int flush, const char *reason)
{
	(void)arg;
	if (!flush)
		ircnet_closed(n, reason);
}

static int64_t f_now(struct ircnet *n, void *arg) { (void)n; return ((struct fake *)arg)->now; }
static void f_arm(struct ircnet *n, void *arg, int64_t at) { (void)n; ((struct fake *)arg)->armed = at; }

static const struct ircnet_io io = { f_open, f_send, f_pending, f_close, f_now, f_arm, NULL };

static char *alt[] = { "faqbot_", "faqbot__" };
static char *auto_chans[] = { "#auto" };
static char *admins[] = { "root-account" };
static struct irc_channel chans[] = { { "#support", NULL }, { "#priv", "s3cret" } };
static struct bot *bot;

static void init(void)
{
	char err[512];
	struct kb *kb = kb_load("knowledge", err, sizeof err);
	if (!kb)
		abort(); /* run from the repository root */
	struct bot_config bc = {
		.knowledge = "knowledge", .command_prefix = "!", .log_level = "error",
		.timezone = "Europe/Paris", .auto_answer_confidence = -1,
		.user_rate = 6, .user_burst = 3,
	};
	bot = bot_new(&bc, kb);
	if (!bot)
		abort();
	log_set_level(LOGL_ERROR);
}

/* Hands data to the client as a socket reader would: what it does not
 * consume stays buffered (capped like net.c's read buffer). */
static void feed(struct ircnet *n, struct fake *f, const uint8_t *d, size_t len, size_t chunk)
{
	static char buf[2 * IRC_READ_MAX + 64];
	size_t have = 0;
	while (len > 0) {
		size_t k = len < chunk ? len : chunk;
		if (k > sizeof buf - have)
			k = sizeof buf - have;
		memcpy(buf + have, d, k);
		have += k;
		d += k;
		len -= k;
		size_t used = ircnet_feed(n, buf, have);
		if (used > have)
			abort();
		memmove(buf, buf + used, have - used);
		have -= used;
		if (have == sizeof buf)
			have = 0; /* the transport drops a line that never ends */
		f->now += 700;
		if (f->armed >= 0 && f->armed <= f->now)
			ircnet_tick(n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!bot)
		init();
	if (size < 2)
		return 0;
	uint8_t mode = data[0];
	size_t chunk = 1 + data[1] % 64 * 8;
	data += 2;
	size -= 2;

	struct irc_config c = {
		.name = "fuzz", .server = "irc.test", .port = 6697, .tls = 1,
		.nick = "faqbot", .alt_nicks = { alt, 2 }, .username = "faq",
		.realname = "FAQ bot", .channels = chans, .nchannels = 2,
		.sasl_mechanism = (enum sasl_mech)(mode % 3),
		.sasl_username = "faqbot", .sasl_password = "hunter2",
		.policy = { .admins = { admins, 1 }, .auto_answer = { auto_chans, 1 },
			    .user_rate = 6, .user_burst = 3 },
		.throttle_burst = 4, .throttle_rate = mode & 8 ? 0 : 1,
		.lag_timeout = 240, .reconnect_max = 300, .quit_message = "au revoir",
	};
	struct fake f = { .now = 1000000, .armed = -1 };
	struct chat_sink sink = { bot_on_msg, bot };
	struct ircnet *n = ircnet_new(&c, &sink, &io, &f);
	if (!n)
		abort();
	ircnet_connect(n);
	ircnet_connected(n);
	size_t half = mode & 4 ? size / 2 : size;
	feed(n, &f, data, half, chunk);
	if (mode & 4) {
		ircnet_closed(n, "fuzz: connection lost");
		f.now += 400000; /* past the capped backoff */
		ircnet_tick(n);
		ircnet_connected(n);
		feed(n, &f, data + half, size - half, chunk);
	}
	for (int i = 0; i < 4; i++) {
		f.now += 60000;
		ircnet_tick(n);
	}
	if (mode & 16) {
		ircnet_quit(n, NULL);
		ircnet_closed(n, "fuzz: quit");
	}
	ircnet_free(n);
	return 0;
}
