/* test_irc.c - irc.c beyond the shared vectors: parser edge cases and
 * limits, serialising, sanitising, the 512-byte split (prefix included,
 * UTF-8 intact, no word lost), CTCP, nick comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irc.h"
#include "utf8.h"

static int parse(char *buf, const char *s, struct irc_msg *m)
{
	size_t len = strlen(s);
	memcpy(buf, s, len + 1);
	return irc_parse(buf, len, m);
}

static void test_parse_privmsg_with_tags(void **state)
{
	(void)state;
	char buf[1024];
	struct irc_msg m;
	assert_int_equal(parse(buf, "@time=2024-01-02T03:04:05Z;account=alice :alice!a@h PRIVMSG #c :hi there\r\n", &m), 0);
	assert_string_equal(irc_tag(&m, "account"), "alice");
	assert_string_equal(irc_tag(&m, "time"), "2024-01-02T03:04:05Z");
	assert_null(irc_tag(&m, "msgid"));
	assert_string_equal(m.source, "alice!a@h");
	assert_string_equal(m.command, "PRIVMSG");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "#c");
	assert_string_equal(m.params[1], "hi there");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static char buf[IRC_READ_MAX * 2];
	struct irc_msg m;
	assert_int_equal(parse(buf, "", &m), -1);
	assert_int_equal(parse(buf, "\r\n", &m), -1);
	assert_int_equal(parse(buf, "   ", &m), -1);
	assert_int_equal(parse(buf, ":src", &m), -1);
	assert_int_equal(parse(buf, ":src ", &m), -1);
	assert_int_equal(parse(buf, ": PRIVMSG x", &m), -1);
	assert_int_equal(parse(buf, "@a=b", &m), -1);
	assert_int_equal(parse(buf, "@a=b ", &m), -1);
	/* a NUL byte inside the line */
	memcpy(buf, "PING a\0b", 8);
	assert_int_equal(irc_parse(buf, 8, &m), -1);
	/* body over 510 bytes */
	memset(buf, 'a', 600);
	memcpy(buf, "PING :", 6);
	buf[511] = '\0';
	assert_int_equal(irc_parse(buf, 511, &m), -1);
	buf[510] = '\0';
	assert_int_equal(irc_parse(buf, 510, &m), 0);
	/* tags over 8191 bytes */
	memset(buf, 'x', sizeof buf);
	buf[0] = '@';
	buf[1] = 'k';
	buf[2] = '=';
	memcpy(buf + 8191, " PING", 6);
	assert_int_equal(irc_parse(buf, strlen(buf), &m), -1);
	memcpy(buf + 8190, " PING", 6);
	assert_int_equal(irc_parse(buf, strlen(buf), &m), 0);
	assert_string_equal(m.command, "PING");
	/* more than IRC_MAX_PARAMS params */
	char many[600] = "CMD";
	for (int i = 0; i < IRC_MAX_PARAMS + 1; i++)
		strcat(many, " p");
	assert_int_equal(parse(buf, many, &m), -1);
}

static void test_parse_invalid_utf8_and_bare_lf(void **state)
{
	(void)state;
	char buf[256];
	struct irc_msg m;
	assert_int_equal(parse(buf, ":a!b@c PRIVMSG #x :\xff\xfe\xc3 \xe2\x82\n", &m), 0);
	assert_int_equal(m.nparams, 2);
	assert_false(utf8_valid(m.params[1], strlen(m.params[1])));
	char *t = (char *)m.params[1];
	size_t n = irc_sanitize(t, strlen(t));
	assert_true(utf8_valid(t, n));
	assert_string_equal(t, "??? ??");
}

static void test_parse_many_tags_and_dup(void **state)
{
	(void)state;
	char in[4096] = "@";
	for (int i = 0; i < IRC_MAX_TAGS + 10; i++) {
		char t[32];
		snprintf(t, sizeof t, "t%d=%d;", i, i);
		strcat(in, t);
	}
	strcat(in, "t0=last PING x");
	char buf[4096];
	struct irc_msg m;
	assert_int_equal(parse(buf, in, &m), 0);
	assert_int_equal(m.ntags, IRC_MAX_TAGS);
	assert_string_equal(irc_tag(&m, "t0"), "last");
	assert_string_equal(m.command, "PING");
}

static void test_join_refuses_injection(void **state)
{
	(void)state;
	char out[IRC_LINE_MAX];
	const char *p1[] = { "#c", "hello\r\nQUIT :pwned" };
	assert_int_equal(irc_build(out, sizeof out, "PRIVMSG", 2, p1), -1);
	const char *p2[] = { "#c x", "hello" };
	assert_int_equal(irc_build(out, sizeof out, "PRIVMSG", 2, p2), -1);
	const char *p3[] = { ":c", "hello" };
	assert_int_equal(irc_build(out, sizeof out, "PRIVMSG", 2, p3), -1);
	const char *p4[] = { "", "hello" };
	assert_int_equal(irc_build(out, sizeof out, "PRIVMSG", 2, p4), -1);
	const char *p5[] = { "#c", "hello world" };
	assert_int_equal(irc_build(out, sizeof out, "PRIVMSG", 2, p5), 23);
	assert_string_equal(out, "PRIVMSG #c :hello world");
	assert_int_equal(irc_build(out, 10, "PRIVMSG", 2, p5), -1);
	assert_int_equal(irc_build(out, 23, "PRIVMSG", 2, p5), -1); /* no room for the NUL */
	assert_int_equal(irc_build(out, 24, "PRIVMSG", 2, p5), 23);
}

static void test_sanitize(void **state)
{
	(void)state;
	char s[64];
	memcpy(s, "a\rb\nc\0d\x01" "e\tf\x02g\x7fh", 15);
	size_t n = irc_sanitize(s, 15);
	assert_int_equal(n, 15);
	assert_memory_equal(s, "a b c d e\tf\x02g h", 15);
	assert_null(memchr(s, '\r', n));
	assert_null(memchr(s, '\n', n));
	/* valid multibyte text is kept as is */
	strcpy(s, "déjà vu — ok 👍");
	n = strlen(s);
	assert_int_equal(irc_sanitize(s, n), n);
	assert_string_equal(s, "déjà vu — ok 👍");
	/* overlong and surrogate encodings are invalid */
	assert_false(utf8_valid("\xc0\xaf", 2));
	assert_false(utf8_valid("\xed\xa0\x80", 3));
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4));
	assert_true(utf8_valid("\xf4\x8f\xbf\xbf", 4));
}

/* Non-space bytes of s, in order: what must survive any split. */
static void squeeze(const char *s, char *out)
{
	for (; *s; s++)
		if (*s != ' ')
			*out++ = *s;
	*out = '\0';
}

/* Splits text the way ircnet does and checks every rule of issue 3:
 * each line fits 512 bytes with the server's prefix, is valid UTF-8, and
 * nothing is lost.  Returns the number of cuts that were not at a space. */
static int check_split(const char *text, const char *prefix, const char *target)
{
	size_t room = irc_text_room(strlen(prefix), "PRIVMSG", target);
	assert_true(room > 16);
	size_t len = strlen(text);
	const char *p = text;
	static char rebuilt[8192];
	rebuilt[0] = '\0';
	int lines = 0, hard = 0;
	while (len > 0) {
		while (len && *p == ' ') {
			p++;
			len--;
		}
		if (!len)
			break;
		size_t k = irc_split_next(p, len, room);
		assert_true(k > 0 && k <= room);
		if (k < len && p[k] != ' ')
			hard++;
		char chunk[IRC_LINE_MAX];
		memcpy(chunk, p, k);
		chunk[k] = '\0';
		assert_true(utf8_valid(chunk, k));
		char line[IRC_LINE_MAX + 1];
		const char *par[] = { target, chunk };
		int ll = irc_build(line, sizeof line, "PRIVMSG", 2, par);
		assert_true(ll > 0);
		/* what the recipients get: ":prefix " + line + CR LF */
		assert_true(1 + strlen(prefix) + 1 + (size_t)ll + 2 <= IRC_LINE_MAX);
		strcat(rebuilt, chunk);
		strcat(rebuilt, " ");
		p += k;
		len -= k;
		lines++;
	}
	assert_true(lines >= 1);
	static char a[8192], b[8192];
	squeeze(text, a);
	squeeze(rebuilt, b);
	assert_string_equal(a, b);
	return hard;
}

static void test_split_words(void **state)
{
	(void)state;
	char text[4096] = "";
	for (int i = 0; i < 150; i++)
		strcat(text, i % 7 == 0 ? "délai  " : "session visible ");
	assert_int_equal(check_split(text, "faqbot!~faqbot@some.very.long.host.name.example.org", "#support-étudiants"), 0);
	assert_int_equal(check_split("court", "faqbot!u@h", "#c"), 0);
	/* the chunks are on word boundaries: no chunk ends inside a word */
	size_t room = irc_text_room(20, "PRIVMSG", "#c");
	size_t k = irc_split_next(text, strlen(text), room);
	assert_true(k <= room);
	assert_true(text[k] == ' ');
	assert_true(text[k - 1] != ' ');
}

static void test_split_long_utf8_word(void **state)
{
	(void)state;
	/* One 1,200-byte word of 2- and 3-byte characters and an emoji:
	 * hard cuts, never inside a sequence. */
	char text[4096] = "début ";
	for (int i = 0; i < 120; i++)
		strcat(text, "é€👍");
	strcat(text, " fin");
	assert_true(check_split(text, "faqbot!~faqbot@h", "#c") >= 2);
	for (size_t room = 4; room < 40; room++) {
		size_t k = irc_split_next(text + 6, strlen(text + 6), room);
		assert_true(k > 0 && k <= room);
		assert_true(utf8_valid(text + 6, k));
	}
}

static void test_text_room(void **state)
{
	(void)state;
	/* ":n!u@h PRIVMSG #c :" = 19 + CR LF = 21 */
	assert_int_equal(irc_text_room(5, "PRIVMSG", "#c"), 512 - 21);
	char big[600];
	memset(big, 'x', 599);
	big[599] = '\0';
	assert_int_equal(irc_text_room(5, "PRIVMSG", big), 0);
}

static void test_ctcp(void **state)
{
	(void)state;
	struct irc_ctcp c;
	char out[IRC_LINE_MAX];
	assert_false(irc_ctcp_parse("hello", &c));
	assert_true(irc_ctcp_parse("\x01VERSION\x01", &c));
	assert_int_equal(c.cmd_len, 7);
	assert_int_equal(c.arg_len, 0);
	assert_true(irc_ctcp_reply(&c, "alice", "1.2", out, sizeof out) > 0);
	assert_string_equal(out, "NOTICE alice :\x01VERSION faqbot 1.2\x01");
	assert_true(irc_ctcp_parse("\x01PING 12345 678\x01", &c));
	assert_true(irc_ctcp_reply(&c, "alice", "1.2", out, sizeof out) > 0);
	assert_string_equal(out, "NOTICE alice :\x01PING 12345 678\x01");
	/* no closing \x01, as some clients send */
	assert_true(irc_ctcp_parse("\x01PING 42", &c));
	assert_true(irc_ctcp_reply(&c, "bob", "1", out, sizeof out) > 0);
	assert_string_equal(out, "NOTICE bob :\x01PING 42\x01");
	/* a huge PING argument is capped, not echoed whole */
	char big[400] = "\x01PING ";
	memset(big + 6, 'z', 300);
	big[306] = '\x01';
	big[307] = '\0';
	assert_true(irc_ctcp_parse(big, &c));
	int n = irc_ctcp_reply(&c, "bob", "1", out, sizeof out);
	assert_true(n > 0 && n < 100);
	/* other CTCPs (ACTION, DCC...) are not answered */
	assert_true(irc_ctcp_parse("\x01" "ACTION waves\x01", &c));
	assert_int_equal(irc_ctcp_reply(&c, "bob", "1", out, sizeof out), -1);
	assert_true(irc_ctcp_parse("\x01" "DCC SEND x\x01", &c));
	assert_int_equal(irc_ctcp_reply(&c, "bob", "1", out, sizeof out), -1);
}

static void test_nick_and_mask(void **state)
{
	(void)state;
	assert_true(irc_nick_eq("FaqBot[1]", "faqbot{1}"));
	assert_true(irc_nick_eq("a\\b~", "A|B^"));
	assert_false(irc_nick_eq("faqbot", "faqbot1"));
	assert_true(irc_mask_match("*!*@*.example.org", "Bob!~b@irc.EXAMPLE.org"));
	assert_false(irc_mask_match("*!*@*.example.org", "bob!b@example.org"));
	/* a pathological mask ends quickly (no exponential backtracking) */
	char mask[200], s[400];
	for (int i = 0; i < 99; i++)
		mask[i * 2] = '*', mask[i * 2 + 1] = 'a';
	mask[198] = 'b';
	mask[199] = '\0';
	memset(s, 'a', 399);
	s[399] = '\0';
	assert_false(irc_mask_match(mask, s));
	char nick[8];
	assert_int_equal(irc_source_nick("alice!a@h", nick, sizeof nick), 0);
	assert_string_equal(nick, "alice");
	assert_int_equal(irc_source_nick("averyveryverylongnick!a@h", nick, sizeof nick), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_privmsg_with_tags),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_invalid_utf8_and_bare_lf),
		cmocka_unit_test(test_parse_many_tags_and_dup),
		cmocka_unit_test(test_join_refuses_injection),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_split_long_utf8_word),
		cmocka_unit_test(test_text_room),
		cmocka_unit_test(test_ctcp),
		cmocka_unit_test(test_nick_and_mask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
