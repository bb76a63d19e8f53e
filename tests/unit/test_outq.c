/* test_outq.c - the IRC output queue without I/O (outq.h): round-robin
 * between users, the per-user share, the throttle, the PING/PONG window,
 * and the deadline that must never wait for a timer when an event (or
 * nothing) is due (issue 10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "outq.h"

static const struct outq_limits fast = { 0, 4, 16384, 16384, 4 << 20 };
static const struct outq_limits slow = { 1.0, 4, 5, 12, 1 << 20 };

static void put(struct outq *q, uint64_t user, const char *text)
{
	char line[600];
	int n = snprintf(line, sizeof line, "%s\r\n", text);
	assert_int_equal(outq_put(q, user, line, (size_t)n), 0);
}

/* Pops the head and checks it is want. */
static void take(struct outq *q, const char *want)
{
	size_t len;
	const char *l = outq_head(q, &len);
	if (!l)
		fail_msg("expected \"%s\", the queue is empty", want);
	if (len != strlen(want) + 2 || memcmp(l, want, len - 2) != 0)
		fail_msg("expected \"%s\", got \"%.*s\"", want, (int)len - 2, l);
	outq_pop(q);
}

static void test_new_free(void **state)
{
	(void)state;
	outq_free(NULL);
	struct outq *q = outq_new(&fast, 0);
	assert_non_null(q);
	size_t len;
	assert_null(outq_head(q, &len));
	assert_int_equal(outq_deadline(q, 5), -1);
	put(q, 7, "left behind");
	outq_free(q); /* frees the waiting lines (ASan checks) */
}

/* A flooder with many lines and a user who arrives later: the later one
 * waits behind one line of the flooder, not behind all of them. */
static void test_round_robin(void **state)
{
	(void)state;
	struct outq *q = outq_new(&fast, 0);
	char l[32];
	for (int i = 0; i < 10; i++) {
		snprintf(l, sizeof l, "flood %d", i);
		put(q, 1, l);
	}
	take(q, "flood 0");
	put(q, 2, "answer a1");
	put(q, 2, "answer a2");
	put(q, OUTQ_SELF, "JOIN #x");
	take(q, "flood 1");
	take(q, "answer a1");
	take(q, "JOIN #x");
	take(q, "flood 2");
	take(q, "answer a2");
	take(q, "flood 3");
	take(q, "flood 4");
	assert_int_equal(outq_lines(q), 5);
	assert_int_equal(outq_user_lines(q, 1), 5);
	assert_int_equal(outq_user_lines(q, 2), 0);
	/* the third user comes in behind the one whose turn it is */
	put(q, 3, "third");
	take(q, "flood 5");
	take(q, "third");
	take(q, "flood 6");
	outq_free(q);
}

/* Each user has a share (user_lines); the bot's own lines do not count
 * against it; the whole queue has a cap. */
static void test_shares(void **state)
{
	(void)state;
	struct outq *q = outq_new(&slow, 0);
	char l[32];
	for (int i = 0; i < 5; i++) {
		snprintf(l, sizeof l, "u1 %d", i);
		put(q, 1, l);
	}
	assert_int_equal(outq_put(q, 1, "u1 5\r\n", 6), -1);
	assert_false(outq_room(q, 1, 1, 6));
	assert_true(outq_room(q, 2, 5, 30));
	assert_false(outq_room(q, 2, 6, 36)); /* an answer goes whole or not */
	for (int i = 0; i < 5; i++) {
		snprintf(l, sizeof l, "u2 %d", i);
		put(q, 2, l);
	}
	put(q, 3, "u3 0");
	put(q, 3, "u3 1");
	assert_int_equal(outq_lines(q), 12);
	assert_int_equal(outq_put(q, 4, "u4\r\n", 4), -1); /* total cap */
	put(q, OUTQ_SELF, "JOIN #a");               /* own lines still go */
	assert_int_equal(outq_lines(q), 13);
	assert_int_equal(outq_bytes(q), 5 * 6 + 5 * 6 + 2 * 6 + 9);
	/* refused: empty, over 512 bytes */
	char big[600];
	memset(big, 'x', sizeof big);
	assert_int_equal(outq_put(q, 5, big, 0), -1);
	assert_int_equal(outq_put(q, 5, big, 513), -1);
	outq_reset(q, 0);
	assert_int_equal(outq_lines(q), 0);
	assert_int_equal(outq_bytes(q), 0);
	assert_int_equal(outq_user_lines(q, 1), 0);
	put(q, 1, "after reset");
	take(q, "after reset");
	outq_free(q);
}

/* Many users: the slots are reused as users come and go. */
static void test_many_users(void **state)
{
	(void)state;
	struct outq_limits lim = fast;
	struct outq *q = outq_new(&lim, 0);
	char l[32];
	for (int round = 0; round < 3; round++) {
		for (int u = 0; u < OUTQ_USERS; u++) {
			snprintf(l, sizeof l, "u%d", u);
			put(q, 100 + (uint64_t)u, l);
		}
		assert_int_equal(outq_put(q, 99999, "one more\r\n", 10), -1); /* no slot */
		for (int u = 0; u < OUTQ_USERS; u++) {
			snprintf(l, sizeof l, "u%d", u);
			take(q, l);
		}
		assert_int_equal(outq_lines(q), 0);
	}
	outq_free(q);
}

static void test_throttle(void **state)
{
	(void)state;
	struct outq *q = outq_new(&slow, 1000);
	for (int i = 0; i < 4; i++) {
		assert_true(outq_may_send(q, 10, 1000));
		outq_sent(q, 10);
	}
	assert_false(outq_may_send(q, 10, 1000));
	put(q, 1, "waiting");
	/* one token a second: due at 2000, not before */
	assert_int_equal(outq_deadline(q, 1000), 2000);
	assert_false(outq_may_send(q, 10, 1999));
	assert_true(outq_may_send(q, 10, 2000));
	assert_int_equal(outq_deadline(q, 2000), 2000);
	outq_sent(q, 10);
	/* a reload to a faster rate: the time already waited counts at the
	 * old rate, the new one applies from now */
	struct outq_limits faster = slow;
	faster.rate = 4;
	outq_set_limits(q, &faster, 2500); /* half a token earned */
	assert_int_equal(outq_deadline(q, 2500), 2625);
	/* the throttle lifted: due now */
	outq_set_limits(q, &fast, 2500);
	assert_int_equal(outq_deadline(q, 2500), 2500);
	/* turned on again: a full bucket */
	outq_set_limits(q, &slow, 2600);
	assert_true(outq_may_send(q, 10, 2600));
	outq_free(q);
}

/* The window: a PING every half window, its PONG confirms what it
 * covers; blocked, the deadline is the PONG's timeout, never a guess. */
static void test_window(void **state)
{
	(void)state;
	struct outq *q = outq_new(&fast, 0);
	unsigned seq = 0, first = 0, last = 0;
	size_t line = 500;
	int sent = 0, pings = 0;
	while (outq_may_send(q, line, 0)) {
		if (outq_sent(q, line)) {
			assert_true(outq_ping(q, 0, 0, &seq));
			if (!pings++)
				first = seq;
		}
		sent++;
	}
	assert_int_equal(sent, OUTQ_WINDOW / 500);
	assert_int_equal(pings, 1);
	assert_false(outq_window_open(q, line));
	char big[512];
	memset(big, 'x', line - 2);
	big[line - 2] = '\0';
	put(q, 1, big);
	/* the remainder since the PING needs one too: forced */
	assert_false(outq_ping(q, 0, 0, &seq));
	assert_true(outq_ping(q, 0, 1, &last));
	assert_false(outq_ping(q, 0, 1, &seq)); /* nothing since */
	/* blocked: the first PING's timeout, unless a PONG comes first */
	assert_int_equal(outq_deadline(q, 50), OUTQ_WINDOW_TIMEOUT_MS);
	assert_true(first != last);
	assert_false(outq_pong(q, 12345));        /* not ours */
	assert_true(outq_pong(q, last));          /* confirms both */
	assert_true(outq_window_open(q, OUTQ_WINDOW));
	assert_int_equal(outq_deadline(q, 60), 60);
	/* a PONG that never comes: the window reopens after the timeout */
	while (outq_may_send(q, line, 100))
		if (outq_sent(q, line))
			outq_ping(q, 100, 0, &seq);
	assert_false(outq_window_expired(q, 100 + OUTQ_WINDOW_TIMEOUT_MS - 1));
	assert_true(outq_window_expired(q, 100 + OUTQ_WINDOW_TIMEOUT_MS));
	assert_true(outq_window_open(q, OUTQ_WINDOW));
	/* at most OUTQ_PINGS outstanding */
	int n = 0;
	for (int i = 0; i < 10; i++) {
		outq_sent(q, 10);
		n += outq_ping(q, 0, 1, &seq);
	}
	assert_int_equal(n, OUTQ_PINGS);
	outq_free(q);
}

/* Issue 10: whenever a line waits and nothing stops it, the deadline is
 * now; when the window blocks it with no PING out, also now (the caller
 * must send one).  Never a later time standing in for an event. */
static void test_deadline_never_late(void **state)
{
	(void)state;
	struct outq *q = outq_new(&fast, 0);
	unsigned seq;
	for (int64_t t = 0; t < 2000; t += 7) {
		put(q, (uint64_t)(t % 5) + 1, "a line of an answer, some bytes long");
		size_t len;
		outq_head(q, &len);
		int64_t d = outq_deadline(q, t);
		if (outq_may_send(q, len, t)) {
			assert_int_equal(d, t);
			outq_pop(q);
			if (outq_sent(q, len))
				outq_ping(q, t, 0, &seq);
		} else if (outq_ping(q, t, 1, &seq)) {
			/* blocked with bytes not covered: a PING goes now */
			assert_int_equal(d, t);
		} else {
			assert_true(d > t && d <= t + OUTQ_WINDOW_TIMEOUT_MS);
			assert_true(outq_pong(q, seq));
		}
	}
	outq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_many_users),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_deadline_never_late),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
