/* fuzz_datex.c - normalisation and date expressions alone (norm.c,
 * datex.c, cal.c) with the real lexicon: the tokens must be consistent
 * and every date found a real calendar date from real tokens.  Bytes 0-1
 * choose "today" (any day of 2000-2109, so year ends and leap days are
 * reached). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datex.h"
#include "kb.h"
#include "norm.h"

static struct kb *kb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct norm_text nt;
	char err[512];
	if (!kb && !(kb = kb_load("knowledge", err, sizeof err)))
		abort(); /* run from the repository root */
	struct date today = { 2026, 11, 26 };
	if (size >= 2) {
		long base = date_to_days((struct date){ 2000, 1, 1 });
		today = date_from_days(base + (data[0] | data[1] << 8) % 40000);
		data += 2;
		size -= 2;
	}
	norm_text(kb_lexicon(kb), (const char *)data, size, &nt);
	if (nt.ntok < 0 || nt.ntok > NORM_MAX_TOKENS)
		abort();
	for (int i = 0; i < nt.ntok; i++) {
		const struct fold_token *t = &nt.tok[i];
		if (t->s < nt.buf || t->s + t->len >= nt.buf + sizeof nt.buf ||
		    strlen(t->s) != t->len || t->len == 0)
			abort();
	}
	struct datex dx[16];
	int n = datex_find_all(&nt, today, dx, 16);
	if (n < 0 || n > 16)
		abort();
	for (int i = 0; i < n; i++) {
		struct date d = dx[i].date;
		if (dx[i].tok_start < 0 || dx[i].tok_start >= dx[i].tok_end || dx[i].tok_end > nt.ntok)
			abort();
		if (!date_valid(d.y, d.m, d.d))
			abort();
		/* a real day: the round trip through day numbers keeps it */
		struct date back = date_from_days(date_to_days(d));
		if (back.y != d.y || back.m != d.m || back.d != d.d)
			abort();
	}
	return 0;
}
