/* examples.c - reads knowledge/examples/NAME.jsonl (examples.h). */
#include "examples.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

/* Reads a whole regular file of at most max bytes, refusing FIFOs,
 * devices and NUL bytes.  Returns a NUL-terminated malloc'd buffer. */
static char *slurp(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file; replace it with a text file", path);
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: %lld bytes, more than the limit of %zu; split it",
			 path, (long long)st.st_size, max);
		goto fail;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	if (memchr(buf, '\0', got)) {
		size_t at = (size_t)((char *)memchr(buf, '\0', got) - buf);
		int line = 1;
		for (size_t i = 0; i < at; i++)
			line += buf[i] == '\n';
		snprintf(err, errlen, "%s:%d: a NUL byte; the file must be UTF-8 text", path, line);
		free(buf);
		return NULL;
	}
	*len = got;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

static int push(struct examples *ex, struct example *e)
{
	if (ex->n == ex->cap) {
		int cap = ex->cap ? ex->cap * 2 : 256;
		struct example *v = realloc(ex->v, (size_t)cap * sizeof *v);
		if (!v)
			return -1;
		ex->v = v;
		ex->cap = cap;
	}
	ex->v[ex->n++] = *e;
	return 0;
}

/* "key": string-or-null into dst; 1 when present, 0 when absent, -1 bad */
static int opt_str(const cJSON *o, const char *key, char *dst, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	if (cJSON_IsNull(v)) {
		dst[0] = '\0';
		return 1;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
		return -1;
	memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
	return 1;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int parse_line(const char *path, int lineno, const char *text, int set,
		      struct examples *ex, char *err, size_t errlen)
{
	struct example e;
	char buf[16];
	const char *why = NULL;
	cJSON *o = cJSON_Parse(text);

	memset(&e, 0, sizeof e);
	e.set = set;
	e.line = lineno;
	if (!o || !cJSON_IsObject(o)) {
		why = "not a JSON object; write {\"question\": \"…\", \"intent\": \"…\"}";
		goto bad;
	}
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "question");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "intent");
	if (!cJSON_IsString(q) || !q->valuestring[0]) {
		why = "no \"question\" string; add the question as the user wrote it";
		goto bad;
	}
	if (!cJSON_IsString(in) || strlen(in->valuestring) >= EXAMPLES_NAME ||
	    !valid_name(in->valuestring)) {
		why = "\"intent\" must be an intent name (lower case letters, digits and _, "
		      "at most 31), e.g. \"display_delay\"";
		goto bad;
	}
	memcpy(e.intent, in->valuestring, strlen(in->valuestring) + 1);
	if ((e.has_platform = opt_str(o, "platform", e.platform, sizeof e.platform)) < 0 ||
	    (e.has_state = opt_str(o, "state", e.state, sizeof e.state)) < 0) {
		why = "\"platform\" and \"state\" must be strings or null";
		goto bad;
	}
	if ((e.has_now = opt_str(o, "now", buf, sizeof buf)) < 0 ||
	    (e.has_now && (!buf[0] || date_parse_iso(buf, &e.now) < 0))) {
		why = "\"now\" must be a date written YYYY-MM-DD";
		goto bad;
	}
	if ((e.has_vdate = opt_str(o, "validation_date", buf, sizeof buf)) < 0 ||
	    (e.has_vdate && buf[0] && date_parse_iso(buf, &e.vdate) < 0)) {
		why = "\"validation_date\" must be a date written YYYY-MM-DD, or null";
		goto bad;
	}
	e.vdate_null = e.has_vdate && !buf[0];
	if (!(e.question = strdup(q->valuestring)) || push(ex, &e) < 0) {
		free(e.question);
		why = "out of memory";
		goto bad;
	}
	cJSON_Delete(o);
	return 0;
bad:
	snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
	cJSON_Delete(o);
	return -1;
}

int examples_load_file(const char *path, struct examples *ex, char *err, size_t errlen)
{
	size_t len;
	char *buf, *p;
	int lineno = 0, rc = 0;

	if (ex->nfiles >= EXAMPLES_MAX_FILES) {
		snprintf(err, errlen, "%s: more than %d example files; merge some", path,
			 EXAMPLES_MAX_FILES);
		return -1;
	}
	if (!(buf = slurp(path, EXAMPLES_MAX_FILE, &len, err, errlen)))
		return -1;
	if (!(ex->files[ex->nfiles] = strdup(path))) {
		free(buf);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int set = ex->nfiles++;
	for (p = buf; *p && rc == 0;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		char *s = p;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s && *s != '#')
			rc = parse_line(path, lineno, s, set, ex, err, errlen);
		if (!nl)
			break;
		p = nl + 1;
	}
	free(buf);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of DIR/examples/NAME.jsonl into names (malloc'd). */
static int list_files(const char *dir, char **names, int max, char *err, size_t errlen)
{
	char path[4096];
	int n = 0;
	snprintf(path, sizeof path, "%s/%s", dir, EXAMPLES_DIR);
	DIR *d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "%s: %s; the examples of each intent live there "
			 "(one JSON object a line, in .jsonl files)", path, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl") || de->d_name[0] == '.')
			continue;
		if (n == max) {
			snprintf(err, errlen, "%s: more than %d example files; merge some", path, max);
			goto fail;
		}
		if (!(names[n] = strdup(de->d_name))) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, by_name);
	return n;
fail:
	closedir(d);
	while (n > 0)
		free(names[--n]);
	return -1;
}

int examples_load(const char *dir, struct examples *ex, char *err, size_t errlen)
{
	char *names[EXAMPLES_MAX_FILES];
	int n = list_files(dir, names, EXAMPLES_MAX_FILES, err, errlen), rc = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s/%s", dir, EXAMPLES_DIR, names[i]);
		if (rc == 0)
			rc = examples_load_file(path, ex, err, errlen);
		free(names[i]);
	}
	if (rc == 0 && ex->n == 0) {
		snprintf(err, errlen, "%s/%s: no example; add at least one .jsonl file", dir,
			 EXAMPLES_DIR);
		rc = -1;
	}
	return rc;
}

void examples_free(struct examples *ex)
{
	for (int i = 0; i < ex->n; i++)
		free(ex->v[i].question);
	for (int i = 0; i < ex->nfiles; i++)
		free(ex->files[i]);
	free(ex->v);
	memset(ex, 0, sizeof *ex);
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static int hash_file(uint64_t *h, const char *path, const char *label, char *err, size_t errlen)
{
	size_t len;
	char *buf = slurp(path, EXAMPLES_MAX_FILE, &len, err, errlen);
	if (!buf)
		return -1;
	uint64_t l = len;
	*h = fnv64(*h, label, strlen(label) + 1);
	*h = fnv64(*h, &l, sizeof l);
	*h = fnv64(*h, buf, len);
	free(buf);
	return 0;
}

int examples_hash(const char *dir, const char *settings, char out[17], char *err, size_t errlen)
{
	char *names[EXAMPLES_MAX_FILES], path[4096];
	uint64_t h = 14695981039346656037ull;
	int n = list_files(dir, names, EXAMPLES_MAX_FILES, err, errlen), rc = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s/%s", dir, EXAMPLES_DIR, names[i]);
		if (rc == 0)
			rc = hash_file(&h, path, names[i], err, errlen);
		free(names[i]);
	}
	static const char *const shaping[] = {"intents.ini", "lexicon.ini"};
	for (int i = 0; i < 2 && rc == 0; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, shaping[i]);
		rc = hash_file(&h, path, shaping[i], err, errlen);
	}
	h = fnv64(h, settings, strlen(settings) + 1);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	return rc;
}
