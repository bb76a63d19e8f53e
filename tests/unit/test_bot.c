/* test_bot.c - message handling shared by IRC and Matrix, with the real
 * engine and the knowledge/ of the checkout: addressing forms, command
 * prefix, auto_answer threshold, admin rights by account (never nick),
 * ignore lists, the bounded per-user rate limit, today's date in the
 * configured time zone, and a refused knowledge reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ask.h"
#include "bot.h"
#include "config.h"
#include "intent.h"
#include "kb.h"

static const char *const Q = "quand sera visible ma session validée hier sur kairos ?";

struct fx {
	struct bot *b;
	struct bot_config cfg;
	struct chat_policy pol;
	char *admins[1], *ign[1], *botign[1];
	struct chat_reply out;
	int64_t now_ms;
};

static struct kb *load_kb(void)
{
	char err[512];
	struct kb *kb = kb_load("knowledge", err, sizeof err);
	if (!kb)
		fail_msg("knowledge: %s", err);
	return kb;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->cfg.command_prefix = "!";
	f->cfg.timezone = "Europe/Paris";
	f->cfg.auto_answer_confidence = -1;
	f->botign[0] = "limnoria";
	f->cfg.ignore.v = f->botign;
	f->cfg.ignore.n = 1;
	f->admins[0] = "alice";
	f->pol.admins.v = f->admins;
	f->pol.admins.n = 1;
	f->ign[0] = "eggdrop";
	f->pol.ignore.v = f->ign;
	f->pol.ignore.n = 1;
	f->pol.user_rate = 6;
	f->pol.user_burst = 3;
	f->b = bot_new(&f->cfg, load_kb());
	assert_non_null(f->b);
	f->now_ms = 1000000;
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

/* Sends text as sender (account acct) in a channel or privately. */
static int say(struct fx *f, const char *sender, const char *acct, const char *text,
	       int priv, int auto_answer)
{
	struct chat_msg m = {
		.network = "test", .sender = sender, .account = acct, .text = text,
		.len = strlen(text), .is_private = priv, .own_name = "faqbot",
		.auto_answer = auto_answer, .policy = &f->pol, .now_ms = f->now_ms,
		.now = 1795000000,
	};
	return bot_handle(f->b, &m, &f->out);
}

/* The engine's own answer to q, for comparison. */
static const char *engine(struct fx *f, const char *q)
{
	static struct reply r;
	ask_question(bot_kb(f->b), q, strlen(q), bot_today(f->b, 1795000000), &r);
	return r.text;
}

static enum intent engine_intent(struct fx *f, const char *q)
{
	static struct reply r;
	ask_question(bot_kb(f->b), q, strlen(q), bot_today(f->b, 1795000000), &r);
	return r.q.intent;
}

static void test_private_and_addressed(void **state)
{
	struct fx *f = *state;
	static const char *const forms[] = {
		"faqbot: %s", "faqbot, %s", "faqbot %s", "FaqBot: %s", "@faqbot %s",
		"  faqbot :  %s", "faqbot:%s",
	};
	char text[256];
	size_t i;
	const char *want = engine(f, Q);

	assert_int_equal(say(f, "u0", NULL, Q, 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	assert_string_equal(f->out.text, want);
	assert_int_equal(bot_last_query(f->b)->intent, IN_DISPLAY_DELAY);
	for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		snprintf(text, sizeof text, forms[i], Q);
		f->now_ms += 60000; /* keep clear of the rate limit */
		if (say(f, "u1", NULL, text, 0, 0) != 1)
			fail_msg("not answered: \"%s\"", text);
		assert_int_equal(f->out.kind, CHAT_ANSWER);
		/* the address is stripped before the engine sees the question */
		assert_string_equal(f->out.text, want);
	}
	/* Not addressed: chatter, another name, the name later in the line. */
	assert_int_equal(say(f, "u1", NULL, Q, 0, 0), 0);
	assert_int_equal(f->out.kind, CHAT_NONE);
	snprintf(text, sizeof text, "faqbots: %s", Q);
	assert_int_equal(say(f, "u1", NULL, text, 0, 0), 0);
	snprintf(text, sizeof text, "dis faqbot, %s", Q);
	assert_int_equal(say(f, "u1", NULL, text, 0, 0), 0);
	/* A transport-level mention (Matrix m.mentions) counts as addressed. */
	struct chat_msg m = { .network = "test", .sender = "@u:hs", .text = Q, .len = strlen(Q),
			     .mentioned = 1, .own_name = "FAQ Bot", .policy = &f->pol,
			     .now_ms = f->now_ms, .now = 1795000000 };
	assert_int_equal(bot_handle(f->b, &m, &f->out), 1);
	assert_string_equal(f->out.text, want);
}

static void test_prefix_commands(void **state)
{
	struct fx *f = *state;
	char text[256];

	snprintf(text, sizeof text, "!faq %s", Q);
	assert_int_equal(say(f, "p1", NULL, text, 0, 0), 1);
	assert_string_equal(f->out.text, engine(f, Q));
	assert_int_equal(say(f, "p2", NULL, "!delai validée hier sur kairos", 0, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	assert_int_equal(bot_last_query(f->b)->intent, IN_DISPLAY_DELAY);
	assert_int_equal(say(f, "p3", NULL, "!aide", 0, 0), 1);
	assert_string_equal(f->out.text, engine(f, ""));
	assert_int_equal(say(f, "p3", NULL, "!AIDE", 0, 0), 1);
	/* Other bots' commands and the bare prefix are not ours. */
	assert_int_equal(say(f, "p4", NULL, "!weather paris", 0, 0), 0);
	assert_int_equal(say(f, "p4", NULL, "!", 0, 0), 0);
	assert_int_equal(say(f, "p4", NULL, "!faqx", 0, 0), 0);
	/* A configured prefix replaces "!". */
	f->cfg.command_prefix = "?";
	assert_int_equal(bot_set_config(f->b, &f->cfg), 0);
	assert_int_equal(say(f, "p5", NULL, "!aide", 0, 0), 0);
	assert_int_equal(say(f, "p5", NULL, "?aide", 0, 0), 1);
}

/* "!delai q" answers q as typed (a new user's "!delai c koi l'etat DIFF"
 * got the display-delay definition); the display-delay framing only when
 * q alone is empty, out of scope, help, a greeting or thanks. */
static void test_delai_as_typed(void **state)
{
	struct fx *f = *state;
	static const char diff[] = "c koi l'etat DIFF svp";
	char text[256];

	snprintf(text, sizeof text, "!faq %s", diff);
	assert_int_equal(say(f, "d1", NULL, text, 0, 0), 1);
	assert_int_equal(bot_last_query(f->b)->intent, IN_STATE);
	snprintf(text, sizeof text, "!delai %s", diff);
	assert_int_equal(say(f, "d2", NULL, text, 0, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	assert_int_equal(bot_last_query(f->b)->intent, IN_STATE);
	assert_string_equal(f->out.text, engine(f, diff));
	/* A display-delay question as typed is answered as such. */
	snprintf(text, sizeof text, "!délai %s", Q);
	assert_int_equal(say(f, "d3", NULL, text, 0, 0), 1);
	assert_string_equal(f->out.text, engine(f, Q));
	/* Nothing, a greeting, thanks: the display-delay framing. */
	assert_int_equal(say(f, "d4", NULL, "!delai", 0, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	assert_int_equal(bot_last_query(f->b)->intent, IN_DISPLAY_DELAY);
	assert_string_equal(f->out.text, engine(f, "quand sera visible ma session ? "));
	assert_int_equal(engine_intent(f, "merci"), IN_THANKS);
	assert_int_equal(say(f, "d5", NULL, "!delai merci", 0, 0), 1);
	assert_int_equal(bot_last_query(f->b)->intent, IN_DISPLAY_DELAY);
	assert_int_equal(engine_intent(f, "bonjour"), IN_GREETING);
	assert_int_equal(say(f, "d6", NULL, "!delais bonjour", 0, 0), 1);
	assert_int_equal(bot_last_query(f->b)->intent, IN_DISPLAY_DELAY);
	assert_int_equal(say(f, "d7", NULL, "!delai validée hier sur kairos", 0, 0), 1);
	assert_int_equal(bot_last_query(f->b)->intent, IN_DISPLAY_DELAY);
}

/* Log lines that name a network say which kind: "irc.NAME" or
 * "matrix.NAME" (read back from stderr, where log.c writes). */
static void test_log_names_network_kind(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/test_bot_logXXXXXX", buf[4096];
	int fd = mkstemp(path), saved = dup(2), i;
	FILE *in;
	size_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	for (i = 0; i < 4; i++)
		say(f, "mallory", NULL, Q, 1, 0); /* burst 3: the 4th is limited */
	assert_int_equal(f->out.kind, CHAT_LIMITED);
	struct chat_msg m = { .network = "local", .sender = "@eve:hs", .text = Q,
			     .len = strlen(Q), .is_private = 1, .own_name = "faqbot",
			     .policy = &f->pol, .now_ms = f->now_ms, .now = 1795000000 };
	for (i = 0; i < 4; i++)
		bot_handle(f->b, &m, &f->out);
	assert_int_equal(f->out.kind, CHAT_LIMITED);
	m.kind = "irc";
	m.sender = "trudy";
	for (i = 0; i < 4; i++)
		bot_handle(f->b, &m, &f->out);
	assert_int_equal(f->out.kind, CHAT_LIMITED);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	in = fopen(path, "r");
	assert_non_null(in);
	n = fread(buf, 1, sizeof buf - 1, in);
	buf[n] = 0;
	fclose(in);
	unlink(path);
	if (!strstr(buf, "rate limit: mallory on irc.test") ||
	    !strstr(buf, "rate limit: @eve:hs on matrix.local") ||
	    !strstr(buf, "rate limit: trudy on irc.local"))
		fail_msg("log lines without the network kind:\n%s", buf);
}

static void test_auto_answer(void **state)
{
	struct fx *f = *state;
	struct reply r;

	/* Default threshold: an unaddressed, clear question is answered in an
	 * auto_answer channel only. */
	ask_question(bot_kb(f->b), Q, strlen(Q), bot_today(f->b, 1795000000), &r);
	assert_int_equal(r.q.intent, IN_DISPLAY_DELAY);
	assert_int_equal(say(f, "a1", NULL, Q, 0, 0), 0);
	assert_int_equal(say(f, "a1", NULL, Q, 0, 1), r.q.confidence >= intent_auto_threshold(kb_intents(bot_kb(f->b))));
	/* Out of scope, greetings and thanks: never unaddressed. */
	assert_int_equal(say(f, "a2", NULL, "quelqu'un sait où on mange ce midi ?", 0, 1), 0);
	assert_int_equal(say(f, "a2", NULL, "bonjour tout le monde", 0, 1), 0);
	assert_int_equal(say(f, "a2", NULL, "merci beaucoup", 0, 1), 0);
	/* The configured threshold decides. */
	f->cfg.auto_answer_confidence = 0;
	bot_set_config(f->b, &f->cfg);
	assert_int_equal(say(f, "a3", NULL, Q, 0, 1), 1);
	f->cfg.auto_answer_confidence = 1.0;
	bot_set_config(f->b, &f->cfg);
	assert_int_equal(say(f, "a4", NULL, Q, 0, 1), r.q.confidence >= 1.0);
	/* Even with threshold 0, chatter stays unanswered. */
	f->cfg.auto_answer_confidence = 0;
	bot_set_config(f->b, &f->cfg);
	assert_int_equal(say(f, "a5", NULL, "il pleut encore aujourd'hui", 0, 1), 0);
}

static int reload_calls, reload_result;
static int fake_reload(void *arg, char *msg, size_t len)
{
	(void)arg;
	reload_calls++;
	if (reload_result < 0)
		snprintf(msg, len, "knowledge/intents.ini:3: broken");
	return reload_result;
}

static void test_admin_by_account(void **state)
{
	struct fx *f = *state;

	bot_set_reload_hook(f->b, fake_reload, NULL);
	/* Account alice (any nick) is admin. */
	assert_int_equal(say(f, "someone", "alice", "!status", 0, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ADMIN);
	assert_non_null(strstr(f->out.text, "en service depuis"));
	assert_int_equal(say(f, "x", "ALICE", "!status", 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ADMIN);
	/* Nick alice without the account: refused in private, silent in a
	 * channel. */
	assert_int_equal(say(f, "alice", NULL, "!status", 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_REFUSED);
	assert_int_equal(say(f, "alice", NULL, "!reload", 0, 0), 0);
	assert_int_equal(say(f, "alice", "mallory", "!reload", 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_REFUSED);
	assert_int_equal(reload_calls, 0);
	/* The reload hook runs for the admin; its failure is reported. */
	reload_result = 0;
	assert_int_equal(say(f, "al", "alice", "!reload", 1, 0), 1);
	assert_int_equal(reload_calls, 1);
	assert_non_null(strstr(f->out.text, "Rechargement effectué"));
	reload_result = -1;
	assert_int_equal(say(f, "al", "alice", "faqbot: !reload", 0, 0), 1);
	assert_int_equal(reload_calls, 2);
	assert_non_null(strstr(f->out.text, "refusé"));
	assert_non_null(strstr(f->out.text, "intents.ini:3"));
}

static void test_ignore(void **state)
{
	struct fx *f = *state;
	assert_int_equal(say(f, "faqbot", NULL, Q, 1, 0), 0);  /* itself */
	assert_int_equal(say(f, "FAQBOT", NULL, Q, 1, 0), 0);
	assert_int_equal(say(f, "eggdrop", NULL, Q, 1, 0), 0); /* network ignore */
	assert_int_equal(say(f, "Limnoria", NULL, Q, 1, 0), 0); /* [bot] ignore */
	assert_int_equal(say(f, "human", NULL, Q, 1, 0), 1);
}

static void test_rate_limit(void **state)
{
	struct fx *f = *state;
	int i;

	/* Burst of 3, then one notice, then silence. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(say(f, "flood", NULL, Q, 1, 0), 1);
		assert_int_equal(f->out.kind, CHAT_ANSWER);
	}
	assert_int_equal(say(f, "flood", NULL, Q, 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_LIMITED);
	for (i = 0; i < 200; i++)
		assert_int_equal(say(f, "flood", NULL, Q, 1, 0), 0);
	/* Someone else is not limited by it. */
	assert_int_equal(say(f, "calm", NULL, Q, 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	/* 6 per minute: one token back after 10 s. */
	f->now_ms += 10000;
	assert_int_equal(say(f, "flood", NULL, Q, 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	assert_int_equal(say(f, "flood", NULL, Q, 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_LIMITED);
	/* Chatter that is not for the bot costs nothing. */
	f->now_ms += 60000;
	for (i = 0; i < 50; i++)
		assert_int_equal(say(f, "chatty", NULL, "salut", 0, 0), 0);
	assert_int_equal(say(f, "chatty", NULL, Q, 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	/* The table is bounded: 20,000 users later, the first is forgotten
	 * (a fresh burst) and nothing grew. */
	for (i = 0; i < 20000; i++) {
		char nick[32];
		snprintf(nick, sizeof nick, "user%d", i);
		struct chat_msg m = { .network = "test", .sender = nick, .text = "!weather",
				     .len = 8, .is_private = 1, .own_name = "faqbot",
				     .policy = &f->pol, .now_ms = f->now_ms, .now = 1795000000 };
		bot_handle(f->b, &m, &f->out);
	}
	assert_int_equal(say(f, "flood", NULL, Q, 1, 0), 1);
	assert_int_equal(f->out.kind, CHAT_ANSWER);
	/* user_rate = 0 lifts the limit. */
	f->pol.user_rate = 0;
	for (i = 0; i < 50; i++) {
		assert_int_equal(say(f, "bench", NULL, Q, 1, 0), 1);
		assert_int_equal(f->out.kind, CHAT_ANSWER);
	}
	struct bot_stats st;
	bot_get_stats(f->b, &st);
	assert_true(st.limited >= 2);
}

static void test_today_timezone(void **state)
{
	struct fx *f = *state;
	/* 2026-01-01T23:30:00Z: already Jan 2 in Paris, still Jan 1 in
	 * Montreal. */
	time_t t = 1767310200;
	struct date d = bot_today(f->b, t);
	assert_int_equal(d.y, 2026);
	assert_int_equal(d.m, 1);
	assert_int_equal(d.d, 2);
	f->cfg.timezone = "America/Montreal";
	bot_set_config(f->b, &f->cfg);
	d = bot_today(f->b, t);
	assert_int_equal(d.d, 1);
	f->cfg.timezone = "Europe/Paris";
	bot_set_config(f->b, &f->cfg);
}

static void test_reload_kb(void **state)
{
	struct fx *f = *state;
	char err[512];
	const struct kb *before = bot_kb(f->b);

	assert_int_equal(bot_reload_kb(f->b, "/nonexistent/knowledge", err, sizeof err), -1);
	assert_ptr_equal(bot_kb(f->b), before); /* the old base keeps serving */
	assert_true(strlen(err) > 0);
	assert_int_equal(say(f, "r1", NULL, Q, 1, 0), 1);
	assert_int_equal(bot_reload_kb(f->b, "knowledge", err, sizeof err), 0);
	assert_int_equal(say(f, "r1", NULL, Q, 1, 0), 1);
	assert_string_equal(f->out.text, engine(f, Q));
	bot_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_private_and_addressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delai_as_typed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_names_network_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_by_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_today_timezone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_kb, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
