/* strlist.c - the string lists of the configuration. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strlist.h"

int strlist_has(const struct strlist *l, const char *s)
{
	size_t i;
	if (!l || !s)
		return 0;
	for (i = 0; i < l->n; i++)
		if (!strcasecmp(l->v[i], s))
			return 1;
	return 0;
}

int strlist_add(struct strlist *l, const char *s, size_t n)
{
	char **nv;
	char *dup;
	if (l->n >= STRLIST_MAX || !(dup = strndup(s, n)))
		return -1;
	nv = realloc(l->v, (l->n + 1) * sizeof *nv);
	if (!nv) {
		free(dup);
		return -1;
	}
	l->v = nv;
	l->v[l->n++] = dup;
	return 0;
}

int strlist_merge(struct strlist *dst, const struct strlist *src)
{
	size_t i;
	for (i = 0; i < src->n; i++)
		if (!strlist_has(dst, src->v[i]) &&
		    strlist_add(dst, src->v[i], strlen(src->v[i])) < 0)
			return -1;
	return 0;
}

int strlist_copy(struct strlist *dst, const struct strlist *src)
{
	struct strlist l = { NULL, 0 };
	size_t i;
	for (i = 0; i < src->n; i++)
		if (strlist_add(&l, src->v[i], strlen(src->v[i])) < 0) {
			strlist_free(&l);
			return -1;
		}
	strlist_free(dst);
	*dst = l;
	return 0;
}

void strlist_free(struct strlist *l)
{
	size_t i;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
