/* log.c - timestamped, levelled lines on stderr, and redaction of the
 * credentials that protocol lines may carry.  Under journald (stderr is
 * the stream named by JOURNAL_STREAM) a line is "<N>message": the
 * sd-daemon.h priority prefix, and no timestamp (journald adds its own).  Takes strings only: it has
 * no access to the config, so it cannot print a configured secret.
 * The level is the one piece of global state (set once at start-up). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static enum log_level cur_level = LOGL_INFO;

static const char *const level_tag[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };
/* sd-daemon.h: SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG */
static const char *const journal_prio[] = { "<3>", "<4>", "<6>", "<7>" };
static int journal = -1; /* stderr is journald's stream; -1: not looked yet */

int log_journal_detect(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	journal = 0;
	if (js && sscanf(js, "%llu:%llu%c", &dev, &ino, &end) == 2 &&
	    fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino)
		journal = 1;
	return journal;
}

void log_set_level(enum log_level lv)
{
	if (lv >= LOGL_ERROR && lv <= LOGL_DEBUG)
		cur_level = lv;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

int log_enabled(enum log_level lv)
{
	return lv <= cur_level;
}

int log_level_from_name(const char *s)
{
	if (!s)
		return -1;
	if (!strcasecmp(s, "error"))
		return LOGL_ERROR;
	if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
		return LOGL_WARN;
	if (!strcasecmp(s, "info"))
		return LOGL_INFO;
	if (!strcasecmp(s, "debug"))
		return LOGL_DEBUG;
	return -1;
}

void log_init(const char *cfg_level)
{
	int lv = log_level_from_name(cfg_level);
	if (lv >= 0)
		cur_level = (enum log_level)lv;
	lv = log_level_from_name(getenv("FAQBOT_LOG"));
	if (lv >= 0)
		cur_level = (enum log_level)lv;
	log_journal_detect();
}

static void log_write(enum log_level lv, const char *msg, size_t len)
{
	char line[LOG_LINE_MAX + 64];
	struct timeval tv;
	struct tm tm;
	size_t n, i;

	if (journal < 0)
		log_journal_detect();
	if (journal) {
		memcpy(line, journal_prio[lv], 3);
		n = 3;
	} else {
		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = strftime(line, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, 32, ".%03dZ %s ", (int)(tv.tv_usec / 1000),
				      level_tag[lv]);
	}
	if (len > LOG_LINE_MAX)
		len = LOG_LINE_MAX;
	/* One call, one line: control bytes from peers could forge lines. */
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)msg[i];
		line[n++] = (ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : (char)ch;
	}
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void log_msg(enum log_level lv, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX + 1];
	va_list ap;
	int n;

	if (lv < LOGL_ERROR || lv > LOGL_DEBUG || lv > cur_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_write(lv, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Copies [s, s+n) into out at *pos, truncating at outlen-1. */
static void put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	if (*pos + 1 >= outlen)
		return;
	if (n > outlen - 1 - *pos)
		n = outlen - 1 - *pos;
	memcpy(out + *pos, s, n);
	*pos += n;
}

/* Next space-separated word of [p, end): returns its start, sets *wend. */
static const char *word(const char *p, const char *end, const char **wend)
{
	while (p < end && *p == ' ')
		p++;
	*wend = p;
	while (*wend < end && **wend != ' ')
		(*wend)++;
	return p;
}

static int word_is(const char *w, const char *wend, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(wend - w) == n && !strncasecmp(w, s, n);
}

size_t log_redact(const char *line, size_t len, char *out, size_t outlen)
{
	static const char red[] = "<redacted>";
	const char *p = line, *end = line + len, *w, *we, *keep;
	size_t pos = 0;

	if (!outlen)
		return 0;
	/* Skip "@tags " and ":prefix " to reach the command. */
	w = word(p, end, &we);
	if (w < end && *w == '@')
		w = word(we, end, &we);
	if (w < end && *w == ':')
		w = word(we, end, &we);
	if (word_is(w, we, "AUTHENTICATE")) {
		const char *a, *ae;
		a = word(we, end, &ae);
		/* "+" (empty), "*" (abort) and mechanism names are no secret. */
		if (a == ae || word_is(a, ae, "+") || word_is(a, ae, "*") ||
		    word_is(a, ae, "PLAIN") || word_is(a, ae, "EXTERNAL"))
			keep = end;
		else
			keep = a;
	} else if (word_is(w, we, "PASS")) {
		keep = we;
	} else if (word_is(w, we, "JOIN")) {
		/* "JOIN #a,#b key1,key2": the channel keys */
		const char *ae;
		(void)word(we, end, &ae);
		keep = ae;
	} else if (word_is(w, we, "OPER")) {
		const char *ae;
		(void)word(we, end, &ae);
		keep = ae;
	} else if (word_is(w, we, "PRIVMSG") || word_is(w, we, "NOTICE")) {
		/* "PRIVMSG NickServ :IDENTIFY [account] password" and friends */
		const char *t, *te, *c, *ce;
		t = word(we, end, &te);
		c = word(te, end, &ce);
		keep = end;
		if (te - t >= 4 && !strncasecmp(te - 4, "serv", 4) && c < end) {
			if (*c == ':')
				c++;
			if (word_is(c, ce, "IDENTIFY") || word_is(c, ce, "REGISTER") ||
			    word_is(c, ce, "GHOST") || word_is(c, ce, "RECOVER") ||
			    word_is(c, ce, "LOGIN") || word_is(c, ce, "SET"))
				keep = ce;
		}
	} else {
		keep = end;
	}
	put(out, outlen, &pos, line, (size_t)(keep - line));
	if (keep < end) {
		if (keep > line && keep[-1] != ' ')
			put(out, outlen, &pos, " ", 1);
		put(out, outlen, &pos, red, sizeof red - 1);
	}
	out[pos] = '\0';
	return pos;
}

void log_proto(const char *net, const char *dir, const char *line, size_t len)
{
	char red[1024];

	if (cur_level < LOGL_DEBUG)
		return;
	log_redact(line, len, red, sizeof red);
	log_msg(LOGL_DEBUG, "[%s] %s %s", net ? net : "-", dir ? dir : "", red);
}
