/* fuzz_question.c - the whole question pipeline (normalisation, date
 * expressions, intent and slots, rules, answer, JSON) on arbitrary bytes.
 * The first two bytes choose "today" so dates near year ends are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ask.h"
#include "kb.h"

static struct kb *kb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reply r;
	char err[512];
	if (!kb && !(kb = kb_load("knowledge", err, sizeof err)))
		abort(); /* run from the repository root */
	struct date today = { 2026, 11, 26 };
	if (size >= 2) {
		long base = date_to_days((struct date){ 2000, 1, 1 });
		today = date_from_days(base + (data[0] | data[1] << 8) * 3 % 40000);
		data += 2;
		size -= 2;
	}
	ask_question(kb, (const char *)data, size, today, &r);
	if (r.len >= sizeof r.text || strlen(r.text) != r.len)
		abort();
	char *js = ask_json(&r);
	if (!js)
		abort();
	free(js);
	return 0;
}
