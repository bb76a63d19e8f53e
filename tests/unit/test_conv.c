/* test_conv.c - conversations (conv.h) with the real engine and the
 * knowledge/ of the checkout: follow-ups completed from the asker's last
 * question, two users of one channel kept apart, the timeout, the cap
 * (least recently used dropped), a Matrix thread continuing the room's
 * conversation, the 2-minute bare-date reply, what a message is made of
 * (conv_shape), and the same through bot_handle in a channel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ask.h"
#include "bot.h"
#include "config.h"
#include "conv.h"
#include "kb.h"

#define TIMEOUT_MS (600 * 1000)

static struct kb *kb;
static const struct date today = { 2026, 11, 26 }; /* a Thursday */
static struct reply rep;

static int group_setup(void **state)
{
	char err[512];
	(void)state;
	kb = kb_load("knowledge", err, sizeof err);
	if (!kb)
		fprintf(stderr, "knowledge: %s\n", err);
	return kb ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	kb_free(kb);
	return 0;
}

/* One turn; returns followup. */
static int turn(struct conv_table *t, const char *room, const char *thread, const char *user,
		const char *text, int64_t now_ms)
{
	struct conv_key k = { "net", room, thread, user };
	int fu = -1;
	assert_int_equal(conv_ask(t, kb, &k, text, strlen(text), today, now_ms, &rep, &fu), 0);
	assert_true(fu == 0 || fu == 1);
	return fu;
}

static void date_is(struct date d, int y, int m, int dd)
{
	assert_int_equal(d.y, y);
	assert_int_equal(d.m, m);
	assert_int_equal(d.d, dd);
}

static void test_two_users_one_channel(void **state)
{
	(void)state;
	struct conv_table *t = conv_new(0, TIMEOUT_MS);
	assert_non_null(t);
	assert_int_equal(turn(t, "#of", NULL, "alice", "quand sera visible ma session dans kairos ?", 1000), 0);
	assert_int_equal(turn(t, "#of", NULL, "bob", "validée hier, visible quand sur RCO ?", 2000), 0);
	/* alice's date completes alice's question, not bob's */
	assert_int_equal(turn(t, "#of", NULL, "alice", "validée le 12 novembre", 3000), 1);
	assert_int_equal(rep.q.intent, IN_DISPLAY_DELAY);
	assert_int_equal(rep.q.platform, PF_KAIROS);
	assert_true(rep.q.has_date);
	date_is(rep.q.validation, 2026, 11, 12);
	/* bob's platform switch keeps bob's date */
	assert_int_equal(turn(t, "#of", NULL, "bob", "et sur aude ?", 4000), 1);
	assert_int_equal(rep.q.platform, PF_AUDE);
	date_is(rep.q.validation, 2026, 11, 25);
	/* the answer says what it assumed */
	assert_non_null(strstr(rep.text, "Pour Aude Formation, avec une validation le mercredi 25 novembre : "));
	/* the same nick in another channel is another conversation (where the
	 * bare platform is kept as a fragment of a question to come) */
	assert_int_equal(turn(t, "#autre", NULL, "alice", "et sur RCO ?", 5000), 0);
	assert_false(rep.q.has_date); /* nothing of alice's #of question */
	assert_int_equal(conv_count(t), 3);
	conv_free(t);
}

static void test_timeout(void **state)
{
	(void)state;
	struct conv_table *t = conv_new(0, TIMEOUT_MS);
	int64_t t0 = 50000;
	turn(t, "#of", NULL, "alice", "ma session validée hier, quand sera-t-elle dans Kairos ?", t0);
	/* exactly at the timeout: still alive, and the turn refreshes it */
	assert_int_equal(turn(t, "#of", NULL, "alice", "et sur RCO ?", t0 + TIMEOUT_MS), 1);
	assert_int_equal(rep.q.platform, PF_RCO);
	/* one ms past the timeout after the last turn: forgotten */
	assert_int_equal(turn(t, "#of", NULL, "alice", "et pour aude ?", t0 + 2 * TIMEOUT_MS + 1), 0);
	assert_false(rep.q.has_date);
	assert_int_equal(conv_count(t), 1); /* only the new fragment ("aude") */
	/* timeout 0: conversations off (nothing looked up, nothing kept) */
	conv_set_timeout(t, 0);
	turn(t, "#of", NULL, "bob", "quand sera visible ma session dans kairos ?", t0);
	assert_int_equal(turn(t, "#of", NULL, "bob", "validée le 12", t0 + 1), 0);
	assert_int_equal(conv_count(t), 1);
	conv_free(t);
}

static void test_cap_drops_oldest(void **state)
{
	(void)state;
	struct conv_table *t = conv_new(4, TIMEOUT_MS);
	char user[16];
	for (int i = 0; i < 5; i++) {
		snprintf(user, sizeof user, "u%d", i);
		turn(t, "#of", NULL, user, "ma session validée hier, quand sera-t-elle dans Kairos ?", 1000 + i);
		assert_true(conv_count(t) <= 4);
	}
	assert_int_equal(conv_count(t), 4);
	/* u0 was the least recently used: dropped (its bare "et sur RCO ?" is
	 * kept as a fragment, which drops u1, now the oldest) */
	assert_int_equal(turn(t, "#of", NULL, "u0", "et sur RCO ?", 2000), 0);
	assert_int_equal(conv_count(t), 4);
	/* u2 is used: u3 becomes the oldest, and goes for u1's fragment */
	assert_int_equal(turn(t, "#of", NULL, "u2", "et sur RCO ?", 2001), 1);
	assert_int_equal(turn(t, "#of", NULL, "u1", "et sur RCO ?", 2002), 0);
	assert_int_equal(turn(t, "#of", NULL, "u4", "et pour aude ?", 2003), 1);
	assert_int_equal(turn(t, "#of", NULL, "u3", "et pour aude ?", 2004), 0);
	conv_free(t);
}

static void test_thread_continues_room(void **state)
{
	(void)state;
	struct conv_table *t = conv_new(0, TIMEOUT_MS);
	turn(t, "!room:hs", NULL, "@a:hs", "ma session validée hier, quand sera-t-elle dans Kairos ?", 1000);
	assert_int_equal(turn(t, "!room:hs", "$root", "@a:hs", "et sur RCO ?", 2000), 1);
	assert_int_equal(rep.q.platform, PF_RCO);
	/* the thread now has its own: the room's is not changed by it */
	assert_int_equal(turn(t, "!room:hs", "$root", "@a:hs", "et si elle avait été validée vendredi ?", 3000), 1);
	assert_int_equal(rep.q.platform, PF_RCO);
	date_is(rep.q.validation, 2026, 11, 20);
	assert_int_equal(turn(t, "!room:hs", NULL, "@a:hs", "et pour aude ?", 4000), 1);
	date_is(rep.q.validation, 2026, 11, 25);
	/* another user in the thread starts nothing from @a's */
	assert_int_equal(turn(t, "!room:hs", "$root", "@b:hs", "et sur RCO ?", 5000), 0);
	conv_free(t);
}

static void test_date_reply_window(void **state)
{
	(void)state;
	struct conv_table *t = conv_new(0, TIMEOUT_MS);
	struct conv_key a = { "net", "#of", NULL, "alice" }, b = { "net", "#of", NULL, "bob" };
	const char *d = "validée le 12 novembre", *chat = "on mange à midi ?";
	turn(t, "#of", NULL, "alice", "quand sera visible ma session dans kairos ?", 1000);
	assert_true(conv_date_reply(t, kb, &a, d, strlen(d), today, 1000 + CONV_DATE_REPLY_MS));
	assert_false(conv_date_reply(t, kb, &a, d, strlen(d), today, 1001 + CONV_DATE_REPLY_MS));
	assert_false(conv_date_reply(t, kb, &b, d, strlen(d), today, 2000));
	assert_false(conv_date_reply(t, kb, &a, chat, strlen(chat), today, 2000));
	/* once answered with a date, nothing is asked any more */
	turn(t, "#of", NULL, "alice", d, 3000);
	assert_false(conv_date_reply(t, kb, &a, d, strlen(d), today, 4000));
	conv_free(t);
}

static void test_shape(void **state)
{
	(void)state;
	static struct norm_text nt;
	struct conv_shape sh;
	static const char *const slot_only[] = {
		"et si elle avait été validée vendredi ?", "et pour Kairos ?", "et sur RCO ?",
		"et le site régional ?", "validée le 12", "mardi", "le 3/11", "hier",
		"elle a été validée mardi", "et DIFF ?", "pareil pour le réseau des Carif-Oref",
		"ET POUR KAIROS ???", "et pr aude", "ok merci, et pour RCO ?", "et regional ?",
	};
	static const char *const topical[] = {
		"et pour le financement ?", "quand sera visible ma session sur RCO ?",
		"on mange à midi ?", "et pour le remboursement sur kairos ?",
	};
	for (size_t i = 0; i < sizeof slot_only / sizeof *slot_only; i++) {
		conv_shape(kb, slot_only[i], strlen(slot_only[i]), today, NULL, &nt, &sh);
		if (!sh.slot_only)
			fail_msg("%s: not seen as a bare follow-up", slot_only[i]);
	}
	for (size_t i = 0; i < sizeof topical / sizeof *topical; i++) {
		conv_shape(kb, topical[i], strlen(topical[i]), today, NULL, &nt, &sh);
		if (sh.slot_only)
			fail_msg("%s: seen as a bare follow-up", topical[i]);
	}
	conv_shape(kb, "et si elle avait été validée vendredi ?", 39, today, NULL, &nt, &sh);
	assert_true(sh.marker && sh.has_date);
	date_is(sh.date, 2026, 11, 20);
}

static void test_off_topic_and_new_question(void **state)
{
	(void)state;
	struct conv_table *t = conv_new(0, TIMEOUT_MS);
	turn(t, NULL, NULL, "alice", "ma session validée hier, quand sera-t-elle dans Kairos ?", 1000);
	assert_int_equal(turn(t, NULL, NULL, "alice", "et pour le financement ?", 2000), 0);
	assert_int_equal(rep.q.intent, IN_OUT_OF_SCOPE);
	/* the off-topic turn did not end the conversation */
	assert_int_equal(turn(t, NULL, NULL, "alice", "et sur RCO ?", 3000), 1);
	/* a full new question inherits nothing */
	assert_int_equal(turn(t, NULL, NULL, "alice", "quand sera visible une session sur le site régional ?", 4000), 0);
	assert_false(rep.q.has_date);
	/* "elle": the same session, its date kept; "une session": another */
	turn(t, NULL, NULL, "alice", "validée hier, quand dans Kairos ?", 4010);
	assert_int_equal(turn(t, NULL, NULL, "alice", "quand sera-t-elle visible sur RCO ?", 4020), 1);
	assert_true(rep.q.has_date);
	assert_int_equal(turn(t, NULL, NULL, "alice", "quand sera visible une session sur Aude ?", 4030), 0);
	assert_false(rep.q.has_date);
	/* a question in pieces: a bare date first, then the platform */
	turn(t, NULL, NULL, "frag", "bonjour, ma session a été validée hier", 4040);
	assert_int_equal(turn(t, NULL, NULL, "frag", "dans kairos", 4041), 1);
	assert_int_equal(rep.q.intent, IN_DISPLAY_DELAY);
	assert_int_equal(rep.q.platform, PF_KAIROS);
	date_is(rep.q.validation, 2026, 11, 25);
	/* a validation date said alone is answered with the delays from it
	 * (not refused), and still completed by the next message */
	assert_int_equal(turn(t, NULL, NULL, "stmt", "ma session a été validée lundi", 4042), 0);
	assert_int_equal(rep.q.intent, IN_DISPLAY_DELAY);
	assert_true(rep.q.has_date);
	assert_int_equal(turn(t, NULL, NULL, "stmt", "visible quand sur Kairos ?", 4043), 1);
	assert_int_equal(rep.q.platform, PF_KAIROS);
	assert_true(rep.q.has_date);
	/* ... but "et si c'était lundi" alone presupposes a question: refused */
	assert_int_equal(turn(t, NULL, NULL, "hyp", "et si c t lundi", 4044), 0);
	assert_int_equal(rep.q.intent, IN_OUT_OF_SCOPE);
	/* reported speech does not stop a date reply from completing */
	turn(t, NULL, NULL, "said", "quand sera visible la formation dans Aude ?", 4045);
	assert_int_equal(turn(t, NULL, NULL, "said", "Validée lundi, d'après lui.", 4046), 1);
	assert_int_equal(rep.q.platform, PF_AUDE);
	assert_true(rep.q.has_date);
	/* "régional" alone names the platform in a follow-up */
	assert_int_equal(turn(t, NULL, NULL, "alice", "et regional ?", 4050), 1);
	assert_int_equal(rep.q.platform, PF_REGIONAL);
	/* a question about a state after another: asked anew */
	assert_int_equal(turn(t, NULL, NULL, "alice", "c'est quoi DIFF ?", 4100), 0);
	assert_int_equal(turn(t, NULL, NULL, "alice", "c'est quoi l'état ARCH ?", 4200), 0);
	assert_int_equal(rep.q.state, STS_ARCH);
	assert_int_equal(turn(t, NULL, NULL, "alice", "et SAIS ?", 4300), 1);
	assert_int_equal(rep.q.state, STS_SAIS);
	/* a key too long for an entry: answered, but stateless */
	char big[CONV_KEY_MAX + 10];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	turn(t, NULL, NULL, big, "quand sera visible ma session dans kairos ?", 5000);
	assert_int_equal(turn(t, NULL, NULL, big, "validée hier", 6000), 0);
	/* forgotten on demand */
	struct conv_key k = { "net", NULL, NULL, "alice" };
	conv_forget(t, &k);
	assert_int_equal(turn(t, NULL, NULL, "alice", "et pour aude ?", 7000), 0);
	conv_free(t);
}

/* Through bot_handle in a channel: the bare date reply counts as addressed
 * for two minutes, for the asker only; a follow-up is otherwise addressed
 * like any question. */
static void test_bot_channel(void **state)
{
	(void)state;
	char err[512];
	struct bot_config cfg = { .command_prefix = "!", .timezone = "Europe/Paris",
				  .auto_answer_confidence = -1, .conversation_timeout = 600 };
	struct chat_policy pol = { .user_rate = 0 };
	struct kb *k2 = kb_load("knowledge", err, sizeof err);
	assert_non_null(k2);
	struct bot *b = bot_new(&cfg, k2);
	assert_non_null(b);
	static struct chat_reply out;
	struct chat_msg m = { .network = "n", .room = "#of", .own_name = "faqbot",
			     .policy = &pol, .now = 1795000000 };
#define SAY(who, txt, ms) (m.sender = (who), m.text = (txt), m.len = strlen(txt), \
			   m.now_ms = (ms), bot_handle(b, &m, &out))
	assert_int_equal(SAY("alice", "faqbot: quand sera visible ma session dans kairos ?", 1000), 1);
	assert_int_equal(SAY("bob", "validée hier", 2000), 0);        /* not asked */
	assert_int_equal(SAY("alice", "on mange où ?", 3000), 0);      /* not a date */
	assert_int_equal(SAY("alice", "validée hier", 4000), 1);       /* the answer */
	assert_int_equal(bot_last_query(b)->platform, PF_KAIROS);
	assert_true(bot_last_query(b)->has_date);
	/* the date came: a second bare date is chatter again */
	assert_int_equal(SAY("alice", "mardi", 5000), 0);
	/* an addressed follow-up is completed */
	assert_int_equal(SAY("alice", "faqbot: et sur RCO ?", 6000), 1);
	assert_int_equal(bot_last_query(b)->platform, PF_RCO);
	assert_true(bot_last_query(b)->has_date);
	/* after two minutes the bare reply is not taken */
	assert_int_equal(SAY("carol", "faqbot: quand sera visible ma session dans aude ?", 10000), 1);
	assert_int_equal(SAY("carol", "validée hier", 10000 + CONV_DATE_REPLY_MS + 1), 0);
#undef SAY
	bot_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_users_one_channel),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cap_drops_oldest),
		cmocka_unit_test(test_thread_continues_room),
		cmocka_unit_test(test_date_reply_window),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_off_topic_and_new_question),
		cmocka_unit_test(test_bot_channel),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
