/* kb.h - the knowledge base: everything the support team edits, loaded
 * from a directory (knowledge/) into one immutable object.
 *
 *   calendar.ini  holiday rules and extra closure days      -> struct cal_rules
 *   stages.ini    stages, delays (unit + source sentence)   -> struct delays
 *   lexicon.ini   shortcuts, SMS spellings, vocabulary      -> struct lexicon
 *   intents.ini   intents: vocabulary, weights, examples    -> struct intent_model
 *   answers.ini   French answer templates                   -> struct answers
 *
 * A reload builds a new kb and swaps it in; a broken file is refused whole
 * with "file:line: what is wrong, and how to fix it". */
#ifndef FAQBOT_KB_H
#define FAQBOT_KB_H

#include <stddef.h>
#include "cal.h"
#include "rules.h"

struct kb;
struct lexicon;
struct intent_model;
struct answers;

/* Loads every file of dir.  NULL on error, with the message in err. */
struct kb *kb_load(const char *dir, char *err, size_t errlen);
void kb_free(struct kb *kb); /* accepts NULL */
/* kb_load without knowledge/model.bin (training attaches a model itself,
 * through kb_intents_mut and intent_model_attach). */
struct kb *kb_load_untrained(const char *dir, char *err, size_t errlen);
struct intent_model *kb_intents_mut(struct kb *kb);

const char *kb_dir(const struct kb *kb);
const struct cal_rules *kb_cal(const struct kb *kb);
const struct delays *kb_delays(const struct kb *kb);
const struct lexicon *kb_lexicon(const struct kb *kb);
const struct intent_model *kb_intents(const struct kb *kb);
const struct answers *kb_answers(const struct kb *kb);

#endif
