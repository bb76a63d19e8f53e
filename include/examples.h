/* examples.h - the labelled questions of knowledge/examples/NAME.jsonl, the
 * data the intent model is trained on.  One JSON object a line:
 *   {"question": "…", "intent": "display_delay"}
 * and optionally what the answer must hold, checked by `faqbot check` and
 * the tests: "now" (YYYY-MM-DD, the day the question is asked),
 * "platform", "state", "validation_date" (null when absent).  Other keys
 * ("id", notes) are ignored.  Blank lines and lines starting with # are
 * skipped.  Files are read in name order, lines in file order, so
 * training sees the same examples in the same order every time. */
#ifndef FAQBOT_EXAMPLES_H
#define FAQBOT_EXAMPLES_H

#include <stddef.h>

#include "date.h"

#define EXAMPLES_DIR "examples"
#define EXAMPLES_MAX_FILE (8u << 20) /* bytes per file */
#define EXAMPLES_MAX_FILES 64
#define EXAMPLES_NAME 32           /* intent name, NUL included */

struct example {
	char *question;
	char intent[EXAMPLES_NAME];
	int set;                 /* index of its file in examples.files */
	int line;
	/* optional expectations; has_* is 0 when the key is absent */
	int has_now, has_platform, has_state, has_vdate;
	struct date now, vdate;  /* vdate valid when has_vdate == 1 and vdate_null == 0 */
	int vdate_null;
	char platform[24], state[8]; /* "" for null */
};

struct examples {
	struct example *v;
	int n, cap;
	char *files[EXAMPLES_MAX_FILES]; /* paths, in reading order */
	int nfiles;
};

/* Reads every DIR/examples/NAME.jsonl.  0, or -1 with
 * "path:line: what is wrong, and how to fix it" in err. */
int examples_load(const char *dir, struct examples *ex, char *err, size_t errlen);
void examples_free(struct examples *ex);

/* Appends the examples of one file (tests and cross-validation tools). */
int examples_load_file(const char *path, struct examples *ex, char *err, size_t errlen);

/* The hash a model records: every example file (name and bytes), the
 * knowledge files that shape the features (intents.ini, lexicon.ini) and
 * the feature settings string.  16 hex digits into out[17]. */
int examples_hash(const char *dir, const char *settings, char out[17],
		  char *err, size_t errlen);

#endif
