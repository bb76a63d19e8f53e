/* test_ircinbox.c - the questions an IRC network holds while its answers
 * wait for the send window (ircinbox.h), without I/O: oldest first, each
 * as the fields it was parsed into (an absent account stays absent, an
 * empty one stays empty), the caps in count and bytes, a wrap-around of
 * the buffer, and a question too big for the caller's buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ircinbox.h"

static void put(struct ircinbox *q, const char *account, const char *source, const char *text)
{
	struct ircinbox_msg m = { account, source, "faqbot", text };
	assert_int_equal(ircinbox_put(q, &m), 0);
}

static void take(struct ircinbox *q, const char *account, const char *source, const char *text)
{
	char buf[1024];
	struct ircinbox_msg m;
	assert_int_equal(ircinbox_take(q, buf, sizeof buf, &m), 1);
	if (account)
		assert_string_equal(m.account, account);
	else
		assert_null(m.account);
	assert_string_equal(m.source, source);
	assert_string_equal(m.target, "faqbot");
	assert_string_equal(m.text, text);
}

static void test_new_free(void **state)
{
	(void)state;
	ircinbox_free(NULL);
	struct ircinbox *q = ircinbox_new(4, 4096);
	assert_non_null(q);
	assert_int_equal(ircinbox_count(q), 0);
	char buf[16];
	struct ircinbox_msg m;
	assert_int_equal(ircinbox_take(q, buf, sizeof buf, &m), 0);
	put(q, NULL, "a!u@h", "left behind"); /* freed with the inbox */
	ircinbox_free(q);
}

static void test_fields_in_order(void **state)
{
	(void)state;
	struct ircinbox *q = ircinbox_new(16, 4096);
	put(q, "alice", "alice!a@h", "quand sera visible ma session ?");
	put(q, NULL, "bob!b@h", ":: text @that=looks :like a line\r");
	put(q, "", "carol!c@h", "");
	assert_int_equal(ircinbox_count(q), 3);
	take(q, "alice", "alice!a@h", "quand sera visible ma session ?");
	take(q, NULL, "bob!b@h", ":: text @that=looks :like a line\r");
	take(q, "", "carol!c@h", "");
	assert_int_equal(ircinbox_count(q), 0);
	ircinbox_free(q);
}

static void test_caps(void **state)
{
	(void)state;
	struct ircinbox *q = ircinbox_new(3, 4096);
	struct ircinbox_msg m = { NULL, "a!u@h", "faqbot", "q" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(ircinbox_put(q, &m), 0);
	assert_int_equal(ircinbox_put(q, &m), -1); /* count */
	ircinbox_clear(q);
	assert_int_equal(ircinbox_count(q), 0);
	ircinbox_free(q);

	/* bytes: 10 + 7 + 4 + 1 (NULs) + 3 (header) = 25 per entry in 64 */
	q = ircinbox_new(100, 64);
	char text[11] = "0123456789";
	struct ircinbox_msg b = { NULL, "a!u@h", "faqbot", text };
	assert_int_equal(ircinbox_put(q, &b), 0);
	assert_int_equal(ircinbox_put(q, &b), 0);
	assert_int_equal(ircinbox_put(q, &b), -1);
	/* room comes back as questions leave, the buffer compacts */
	char buf[64], first[52] = "00"; /* text[0] of each entry put */
	for (int round = 0; round < 50; round++) {
		struct ircinbox_msg o;
		assert_int_equal(ircinbox_take(q, buf, sizeof buf, &o), 1);
		assert_int_equal(o.text[0], first[round]); /* a copy, in order */
		assert_string_equal(o.text + 1, "123456789");
		text[0] = first[round + 2] = (char)('a' + round % 26);
		assert_int_equal(ircinbox_put(q, &b), 0);
		assert_int_equal(ircinbox_count(q), 2);
	}
	ircinbox_free(q);

	/* one question over 64 KiB is refused, the inbox goes on */
	q = ircinbox_new(10, 1 << 20);
	char *big = malloc(70000);
	memset(big, 'x', 69999);
	big[69999] = 0;
	struct ircinbox_msg h = { NULL, "a!u@h", "faqbot", big };
	assert_int_equal(ircinbox_put(q, &h), -1);
	free(big);
	put(q, NULL, "a!u@h", "after");
	take(q, NULL, "a!u@h", "after");
	ircinbox_free(q);
}

static void test_take_too_small(void **state)
{
	(void)state;
	struct ircinbox *q = ircinbox_new(4, 4096);
	put(q, "acct", "a!u@h", "a question longer than the buffer");
	put(q, NULL, "b!u@h", "next");
	char buf[8];
	struct ircinbox_msg m;
	assert_int_equal(ircinbox_take(q, buf, sizeof buf, &m), -1);
	assert_int_equal(ircinbox_count(q), 1); /* dropped, the next follows */
	take(q, NULL, "b!u@h", "next");
	ircinbox_free(q);
}

/* A burst grows the buffer, an empty inbox gives it back, and it grows
 * again: 5,000 questions in 1 MiB, all out in order. */
static void test_burst(void **state)
{
	(void)state;
	struct ircinbox *q = ircinbox_new(16384, 1 << 20);
	char text[64], src[32];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 5000; i++) {
			snprintf(text, sizeof text, "question %d", i);
			snprintf(src, sizeof src, "u%d!u@h", i);
			put(q, i % 2 ? "acct" : NULL, src, text);
		}
		assert_int_equal(ircinbox_count(q), 5000);
		for (int i = 0; i < 5000; i++) {
			snprintf(text, sizeof text, "question %d", i);
			snprintf(src, sizeof src, "u%d!u@h", i);
			take(q, i % 2 ? "acct" : NULL, src, text);
		}
	}
	ircinbox_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_fields_in_order),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_take_too_small),
		cmocka_unit_test(test_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
