/* test_bot_limits.c - bot.c's per-user limits as any transport sees them
 * (issue 10): refusals of admin commands and bot_minor_take have a small
 * bucket of their own, then one notice, then silence (Matrix has no CTCP
 * but gets the refusal limit from here); the key is user_id when the
 * transport gives one (IRC: account, else user@host), so a nick change
 * keeps the bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bot.h"
#include "config.h"
#include "kb.h"

struct fx {
	struct bot *b;
	struct chat_policy pol;
	char *admins[1];
	struct chat_reply out;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[512];
	struct kb *kb = kb_load("knowledge", err, sizeof err);
	if (!kb)
		fail_msg("knowledge: %s", err);
	struct bot_config cfg = { .command_prefix = "!", .timezone = "Europe/Paris",
				  .auto_answer_confidence = -1 };
	f->admins[0] = "@admin:server";
	f->pol.admins.v = f->admins;
	f->pol.admins.n = 1;
	f->pol.user_rate = 6;
	f->pol.user_burst = 5;
	f->b = bot_new(&cfg, kb);
	assert_non_null(f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	bot_free(f->b);
	free(f);
	return 0;
}

static int say(struct fx *f, const char *sender, const char *user_id, const char *text, int64_t now)
{
	struct chat_msg m = {
		.network = "local", .kind = "matrix", .sender = sender, .account = sender,
		.user_id = user_id, .text = text, .len = strlen(text), .is_private = 1,
		.own_name = "faqbot", .policy = &f->pol, .now_ms = now, .now = 1767225600,
	};
	return bot_handle(f->b, &m, &f->out);
}

/* 20 "!status" in a direct chat from a non-admin: 3 refusals, one notice,
 * then nothing (they gave 20 sends). */
static void test_refusals_limited(void **state)
{
	struct fx *f = *state;
	int refused = 0, limited = 0, silent = 0;
	for (int i = 0; i < 20; i++) {
		if (!say(f, "@nosy:server", NULL, "!status", 1000))
			silent++;
		else if (f->out.kind == CHAT_REFUSED)
			refused++;
		else if (f->out.kind == CHAT_LIMITED)
			limited++;
	}
	assert_int_equal(refused, BOT_MINOR_BURST);
	assert_int_equal(limited, 1);
	assert_int_equal(silent, 20 - BOT_MINOR_BURST - 1);
	/* questions have their own bucket: still answered */
	assert_int_equal(say(f, "@nosy:server", NULL, "que veut dire l'état ARCH ?", 1000), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	/* a minute later, BOT_MINOR_PER_MIN more */
	refused = 0;
	for (int i = 0; i < 10; i++)
		if (say(f, "@nosy:server", NULL, "!status", 61000) && f->out.kind == CHAT_REFUSED)
			refused++;
	assert_int_equal(refused, BOT_MINOR_PER_MIN);
	/* the admin is never limited */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(say(f, "@admin:server", NULL, "!status", 61000), 1);
		assert_int_equal(f->out.kind, CHAT_ADMIN);
	}
}

static void test_minor_take(void **state)
{
	struct fx *f = *state;
	struct chat_msg m = { .network = "n", .sender = "pinger", .user_id = "h:p@host",
			     .policy = &f->pol, .now_ms = 5000 };
	for (int i = 0; i < BOT_MINOR_BURST; i++)
		assert_int_equal(bot_minor_take(f->b, &m, &f->out), 1);
	assert_int_equal(bot_minor_take(f->b, &m, &f->out), 0);
	assert_int_equal(f->out.kind, CHAT_LIMITED);
	assert_true(f->out.len > 0);
	assert_int_equal(bot_minor_take(f->b, &m, &f->out), -1);
	/* another nick, same user_id: the same bucket */
	m.sender = "pinger2";
	assert_int_equal(bot_minor_take(f->b, &m, &f->out), -1);
	/* limits lifted (user_rate = 0): always */
	f->pol.user_rate = 0;
	assert_int_equal(bot_minor_take(f->b, &m, &f->out), 1);
}

/* The question bucket follows user_id, not the nick. */
static void test_key_is_user_id(void **state)
{
	struct fx *f = *state;
	f->pol.user_burst = 2;
	const char *q = "que veut dire l'état ARCH ?";
	assert_int_equal(say(f, "bob", "h:b@home", q, 1000), 1);
	assert_int_equal(say(f, "bob_", "h:b@home", q, 1000), 1);
	assert_int_equal(say(f, "bob__", "h:b@home", q, 1000), 1);
	assert_int_equal(f->out.kind, CHAT_LIMITED);
	assert_int_equal(say(f, "bob", "h:b@elsewhere", q, 1000), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refusals_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minor_take, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_is_user_id, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
