/* fuzz_canonjson.c - the canonical JSON serialiser (canonjson.c) in a
 * round trip against cJSON's own parser: whatever canonjson_parse accepts
 * and canonjson_print writes must parse back with cJSON to an equal tree
 * with object keys in byte order, and print again to the very same bytes
 * (canonical text is a fixed point), also through canonjson_encode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"

static void keys_sorted(const cJSON *j)
{
	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		if (cJSON_IsObject(j) && c->next && strcmp(c->string, c->next->string) >= 0)
			abort();
		keys_sorted(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	cJSON *j = canonjson_parse((const char *)data, size, err, sizeof err);
	if (!j) {
		if (!err[0])
			abort();
		return 0;
	}
	char *a = canonjson_print(j, 0);
	if (a) {
		cJSON *k = cJSON_ParseWithLength(a, strlen(a));
		if (!k || !cJSON_Compare(j, k, 1))
			abort();
		keys_sorted(k);
		char *b = canonjson_print(k, 0);
		if (!b || strcmp(a, b) != 0)
			abort();
		char *c = canonjson_encode(a, strlen(a), err, sizeof err);
		if (!c || strcmp(a, c) != 0)
			abort();
		free(b);
		free(c);
		cJSON_Delete(k);
		free(a);
	}
	char *s = canonjson_print(j, 1);
	free(s);
	cJSON_Delete(j);
	return 0;
}
