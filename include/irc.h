/* irc.h - the I/O-free IRC message layer: parse a server line into tags,
 * source, command and params (in place, no allocation), serialise one,
 * CTCP, sanitising, splitting a reply at the 512-byte line limit, and
 * hostmask matching.  It does no I/O and keeps no state: the client
 * state machine lives in ircnet.c. */
#ifndef FAQBOT_IRC_H
#define FAQBOT_IRC_H

#include <stddef.h>

/* RFC 1459 2.3: a line is at most 512 bytes including CR LF. */
#define IRC_LINE_MAX 512
/* IRCv3 message-tags: the tag section is at most 8191 bytes including
 * the leading '@' and the trailing space. */
#define IRC_TAGS_MAX 8191
/* Biggest raw line accepted from a server (tags + body). */
#define IRC_READ_MAX (IRC_TAGS_MAX + IRC_LINE_MAX)
/* RFC 2812 allows 15 params; a little slack for servers that send more. */
#define IRC_MAX_PARAMS 32
#define IRC_MAX_TAGS 64
/* Guess of the longest user and host a server shows for us before we
 * have learned the real ones (USERLEN 10 + '~', HOSTLEN 63 + 1). */
#define IRC_GUESS_USER_LEN 12
#define IRC_GUESS_HOST_LEN 64

struct irc_tag {
	const char *key;
	const char *value; /* unescaped; "" when the tag has no value */
};

/* A parsed line: every pointer points into the caller's buffer. */
struct irc_msg {
	struct irc_tag tags[IRC_MAX_TAGS];
	int ntags;
	const char *source; /* without the ':'; NULL when absent */
	const char *command;
	const char *params[IRC_MAX_PARAMS];
	int nparams;
};

/* Parses line[0..len) in place (NUL-terminates the atoms, unescapes tag
 * values) into m; a trailing CR LF is ignored.  line must have room for
 * len + 1 bytes.  Duplicate tags: the last one wins.  Tags past
 * IRC_MAX_TAGS are dropped.  Returns 0, or -1 for a malformed line
 * (empty, no command, a NUL byte, tags over IRC_TAGS_MAX, body over
 * 510 bytes, more than IRC_MAX_PARAMS params); m is then unspecified.
 * Invalid UTF-8 is not an error here: atoms are bytes. */
int irc_parse(char *line, size_t len, struct irc_msg *m);

/* Value of tag key, or NULL when absent. */
const char *irc_tag(const struct irc_msg *m, const char *key);

/* Serialises m (without CR LF) into out[cap].  The last param gets a ':'
 * only when it needs one (empty, has a space, starts with ':'); a tag
 * with an empty value is written without '='.  Returns the length, or -1
 * when it does not fit or m cannot be written (a middle param empty, with
 * a space or starting with ':'; CR or LF in a param; no command). */
int irc_join(const struct irc_msg *m, char *out, size_t cap);

/* Convenience: "CMD p1 p2 :last" for up to IRC_MAX_PARAMS params, with
 * the rules of irc_join.  Returns the length or -1. */
int irc_build(char *out, size_t cap, const char *cmd, int nparams, const char *const *params);

/* nick!user@host split into slices of src; missing parts have length 0. */
struct irc_userhost {
	const char *nick, *user, *host;
	size_t nick_len, user_len, host_len;
};
void irc_userhost_split(const char *src, struct irc_userhost *out);

/* Copies the nick part of a source into buf[cap]; 0, or -1 if too long. */
int irc_source_nick(const char *src, char *buf, size_t cap);

/* RFC 1459 case-insensitive comparison ([]\~ are the lower case of {}|^):
 * 1 when equal, else 0. */
int irc_nick_eq(const char *a, const char *b);

/* Hostmask match with '*' and '?' (no other metacharacters), RFC 1459
 * case-insensitive: 1 on match, else 0. */
int irc_mask_match(const char *mask, const char *s);

/* 1 when host is a syntactically valid host name (letters, digits, '-'
 * not at a label's ends, at least one '.'), else 0. */
int irc_hostname_valid(const char *host);

/* Makes s[0..len) safe to put in a line: CR, LF, NUL, \x01 and the other
 * C0 controls but TAB and the mIRC formatting codes become a space;
 * invalid UTF-8 bytes become '?'.  Rewrites in place, writes a NUL at the
 * new end (s needs len + 1 bytes) and returns the new length (<= len). */
size_t irc_sanitize(char *s, size_t len);

/* Bytes of text that fit in one ":prefix CMD target :text\r\n" line of
 * IRC_LINE_MAX bytes, where prefix_len is strlen("nick!user@host") as
 * the server will prepend it.  0 when nothing fits. */
size_t irc_text_room(size_t prefix_len, const char *cmd, const char *target);

/* Length of the next chunk of text[0..len) that fits in room bytes: the
 * whole rest if it fits, else up to the last space within room (the
 * space is not part of the chunk), else a hard cut that never falls
 * inside a UTF-8 sequence.  The caller skips the spaces that follow the
 * chunk.  Returns > 0 when len > 0 and room >= 4. */
size_t irc_split_next(const char *text, size_t len, size_t room);

/* CTCP request in a PRIVMSG text: "\x01CMD arg\x01" (closing \x01
 * optional, as many clients omit it).  Slices point into text. */
struct irc_ctcp {
	const char *cmd, *arg;
	size_t cmd_len, arg_len;
};
/* 1 when text is a CTCP message (and fills c), else 0. */
int irc_ctcp_parse(const char *text, struct irc_ctcp *c);

/* Builds the NOTICE that answers a CTCP VERSION ("faqbot <version>") or
 * PING (echoes a sanitised, capped argument) to target.  Returns the
 * line's length, or -1 when the request is not one the bot answers or
 * does not fit. */
int irc_ctcp_reply(const struct irc_ctcp *c, const char *target, const char *version,
                   char *out, size_t cap);

#endif
