/* fuzz_ircline.c - the I/O-free IRC message layer (irc.c) on one
 * arbitrary line: irc_parse, then irc_join of what was parsed (the result
 * must parse again and hold no CR / LF / NUL), CTCP parsing and replies,
 * irc_sanitize (no control bytes, valid UTF-8 out) and the reply splitter
 * (chunks within the room, never cutting a UTF-8 sequence). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "irc.h"
#include "utf8.h"

static void check_line(const char *s, size_t len)
{
	if (memchr(s, '\r', len) || memchr(s, '\n', len) || memchr(s, '\0', len))
		abort();
}

/* A command as RFC 1459 2.3.1 writes it: letters, or three digits. */
static int command_ok(const char *c)
{
	size_t n = strlen(c), i, alpha = 0, digit = 0;
	for (i = 0; i < n; i++) {
		if ((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= 'a' && c[i] <= 'z'))
			alpha++;
		else if (c[i] >= '0' && c[i] <= '9')
			digit++;
	}
	return n > 0 && (alpha == n || (digit == 3 && n == 3));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[IRC_READ_MAX + 2], out[IRC_READ_MAX + 2], again[IRC_READ_MAX + 2];
	static struct irc_msg m, m2;
	if (size > IRC_READ_MAX)
		return 0;

	memcpy(line, data, size);
	line[size] = '\0';
	if (irc_parse(line, size, &m) == 0) {
		if (!m.command || m.nparams < 0 || m.nparams > IRC_MAX_PARAMS ||
		    m.ntags < 0 || m.ntags > IRC_MAX_TAGS)
			abort();
		int n = irc_join(&m, out, sizeof out);
		if (n >= 0) {
			if ((size_t)n >= sizeof out || strlen(out) != (size_t)n)
				abort();
			check_line(out, (size_t)n);
			memcpy(again, out, (size_t)n + 1);
			/* what we write, we read back: same command and param count
			 * (for a real command: irc_parse accepts " @x" as command
			 * "@x", which irc_join writes back as a tag section) */
			if (n > 0 && command_ok(m.command) && irc_parse(again, (size_t)n, &m2) == 0 &&
			    (strcmp(m2.command, m.command) != 0 || m2.nparams != m.nparams))
				abort();
		}
		if (m.source) {
			struct irc_userhost uh;
			char nick[64];
			irc_userhost_split(m.source, &uh);
			irc_source_nick(m.source, nick, sizeof nick);
			irc_mask_match("*!*@*.example", m.source);
		}
		if (m.nparams > 0) {
			const char *text = m.params[m.nparams - 1];
			struct irc_ctcp c;
			if (irc_ctcp_parse(text, &c)) {
				int r = irc_ctcp_reply(&c, m.source ? m.source : "x", "faqbot 0.1.0", out, sizeof out);
				if (r >= 0) {
					if ((size_t)r > IRC_LINE_MAX - 2)
						abort();
					check_line(out, (size_t)r);
				}
			}
		}
	}

	/* sanitise the raw bytes, then split them as a reply would be */
	memcpy(line, data, size);
	size_t sl = irc_sanitize(line, size);
	if (sl > size || line[sl] != '\0')
		abort();
	check_line(line, sl);
	for (size_t i = 0; i < sl; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t' &&
		    !strchr("\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f", line[i]))
			abort();
	if (!utf8_valid(line, sl))
		abort();
	size_t room = 4 + (size ? data[0] : 0) % 400;
	const char *p = line;
	size_t left = sl;
	while (left > 0) {
		size_t k = irc_split_next(p, left, room);
		if (k == 0 || k > left || k > room)
			abort();
		if (!utf8_valid(p, k))
			abort();
		p += k;
		left -= k;
		while (left > 0 && *p == ' ') {
			p++;
			left--;
		}
	}
	return 0;
}
