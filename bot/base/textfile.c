/* textfile.c - the safe reader of textfile.h.  stat() first, so that a
 * device is never even opened; then open(O_NONBLOCK), so that a FIFO put
 * in place between the two cannot block; then fstat() on what was opened
 * and read at most TEXTFILE_MAX_SIZE + 1 bytes, so that neither a huge
 * file nor one growing meanwhile makes the read endless.  A file over the
 * cap is refused naming its first over-long line when it has one (a 10 MB
 * line is the usual way to get there), else its size.  The checks that need a line
 * number (NUL, UTF-8, length) are one pass over the bytes. */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utf8.h"
#include "errmsg.h"


/* What a file that is not regular is, for the error message. */
static const char *kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO (named pipe)";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

static int check_stat(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		errmsg_set(err, errlen, "%s: is %s, not a regular file; put a plain UTF-8 "
		       "text file there (a symbolic link to one is fine)", path,
		       kind(st->st_mode));
		return -1;
	}
	return 0;
}

/* Reads fd to its end into a new buffer, but at most TEXTFILE_MAX_SIZE + 1
 * bytes: *over is set when there was more than TEXTFILE_MAX_SIZE.  hint is
 * the size fstat gave (the file may have changed since).  -1 with err. */
static int slurp(int fd, const char *path, size_t hint, char **out, size_t *outlen,
		 int *over, char *err, size_t errlen)
{
	const size_t lim = (size_t)TEXTFILE_MAX_SIZE + 1;
	size_t cap = (hint < lim ? hint : lim) + 1, len = 0;
	char *buf = malloc(cap), *nb;

	if (!buf)
		goto oom;
	while (len < lim) {
		ssize_t r;
		if (len + 1 == cap) {
			cap = cap * 2 > lim + 1 ? lim + 1 : cap * 2;
			if (!(nb = realloc(buf, cap)))
				goto oom;
			buf = nb;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			errmsg_set(err, errlen, "%s: read error: %s", path, strerror(errno));
			free(buf);
			return -1;
		}
		len += (size_t)r;
	}
	*over = len > (size_t)TEXTFILE_MAX_SIZE;
	if (*over)
		len = TEXTFILE_MAX_SIZE;
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
oom:
	free(buf);
	errmsg_set(err, errlen, "%s: out of memory", path);
	return -1;
}

/* In a file cut at the size cap: the number of the first line longer than
 * max_line (the likely reason the file is so big), or 0. */
static int long_line(const char *s, size_t n, size_t max_line)
{
	int line = 1;
	const char *p = s, *end = s + n, *nl;

	if (!max_line)
		return 0;
	for (; p < end; p = nl + 1, line++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)((nl ? nl : end) - p) > max_line)
			return line;
		if (!nl)
			break;
	}
	return 0;
}

/* One pass: NUL bytes, UTF-8 and line lengths, with line numbers. */
static int check_text(const char *path, const char *s, size_t n, size_t max_line,
		      char *err, size_t errlen)
{
	int line = 1;
	size_t start = 0, i = 0;

	while (i <= n) {
		if (i == n || s[i] == '\n') {
			size_t ll = i - start;
			if (ll && s[i - 1] == '\r')
				ll--;
			if (max_line && ll > max_line) {
				errmsg_set(err, errlen, "%s:%d: line longer than %zu bytes; shorten "
				       "it, or split it over several lines", path, line, max_line);
				return -1;
			}
			if (i == n)
				break;
			line++;
			start = ++i;
			continue;
		}
		if (s[i] == '\0') {
			errmsg_set(err, errlen, "%s:%d: NUL byte at column %zu; a text file holds "
			       "none: remove it, or save the file again as UTF-8 text", path,
			       line, i - start + 1);
			return -1;
		}
		if ((unsigned char)s[i] & 0x80) {
			size_t k = utf8_seq(s + i, n - i);
			if (!k) {
				errmsg_set(err, errlen, "%s:%d: invalid UTF-8 (byte 0x%02X at column "
				       "%zu); save the file with the UTF-8 encoding", path, line,
				       (unsigned char)s[i], i - start + 1);
				return -1;
			}
			i += k;
			continue;
		}
		i++;
	}
	return 0;
}

int textfile_read(struct textfile *tf, const char *path, size_t max_line,
		  char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, over = 0;

	memset(tf, 0, sizeof *tf);
	if (stat(path, &st) < 0) {
		errmsg_set(err, errlen, "%s: cannot open: %s; check the name and that the "
		       "file exists", path, strerror(errno));
		return -1;
	}
	if (check_stat(path, &st, err, errlen) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0) {
		errmsg_set(err, errlen, "%s: cannot open: %s; check the file's permissions",
		       path, strerror(errno));
		return -1;
	}
	/* What was opened, which may not be what stat() saw. */
	if (fstat(fd, &st) < 0) {
		errmsg_set(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_stat(path, &st, err, errlen) < 0 ||
	    slurp(fd, path, (size_t)st.st_size, &buf, &len, &over, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if (over) {
		int l = long_line(buf, len, max_line);
		if (l)
			errmsg_set(err, errlen, "%s:%d: line longer than %zu bytes; shorten it, or "
			       "split it over several lines", path, l, max_line);
		else
			errmsg_set(err, errlen, "%s: over the limit of %u bytes (4 MiB) for a text "
			       "file; shorten it", path, TEXTFILE_MAX_SIZE);
		free(buf);
		return -1;
	}
	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) {
		memmove(buf, buf + 3, len - 3 + 1);
		len -= 3;
	}
	if (check_text(path, buf, len, max_line, err, errlen) < 0) {
		free(buf);
		return -1;
	}
	tf->data = buf;
	tf->len = len;
	return 0;
}

char *textfile_line(struct textfile *tf)
{
	char *s, *nl;
	size_t n;

	if (!tf->data || tf->pos >= tf->len)
		return NULL;
	s = tf->data + tf->pos;
	nl = memchr(s, '\n', tf->len - tf->pos);
	n = nl ? (size_t)(nl - s) : tf->len - tf->pos;
	tf->pos += n + (nl ? 1 : 0);
	s[n] = '\0';
	if (n && s[n - 1] == '\r')
		s[n - 1] = '\0';
	tf->lineno++;
	return s;
}

void textfile_free(struct textfile *tf)
{
	if (!tf)
		return;
	free(tf->data);
	memset(tf, 0, sizeof *tf);
}
