/* record.h - the questions kept for the knowledge team ([bot]
 * record_questions = yes, off by default): in the state file (SQLite,
 * table questions, migrated as store component "record"), one row per
 * question the bot handled: time, network, room (NULL in private), intent
 * (best guess), confidence, whether it was missed (refused, or answered
 * below the auto-answer confidence) or marked wrong.  The text is kept
 * only for missed questions and for answers marked wrong; the asker only
 * as HMAC-SHA256(per-install random key kept in the file, network + id),
 * never in clear.  Rows older than record_days are deleted at open and
 * by record_purge_old (daily, from run.c).  `faqbot report` reads them. */
#ifndef FAQBOT_RECORD_H
#define FAQBOT_RECORD_H

#include <stddef.h>
#include <time.h>

#define RECORD_WRONG_WINDOW 600 /* s: "!faux" marks an answer this recent */

struct record;

/* Opens (creating the tables and the key) the state file path.  NULL with
 * err = "path: what is wrong". */
struct record *record_open(const char *path, int days, char *err, size_t errlen);
void record_close(struct record *r); /* accepts NULL */
void record_set_days(struct record *r, int days);

/* One handled question.  text/len: the question as asked; stored only
 * when missed.  asker: the account, else the nick / user id (hashed).
 * 0 / -1. */
int record_question(struct record *r, time_t t, const char *net, const char *room,
		    const char *asker, const char *text, size_t len, const char *intent,
		    double confidence, int missed);
/* "!faux": marks asker's last answer on net, if given less than
 * RECORD_WRONG_WINDOW s before t, as wrong (keeping its question).
 * 1 marked, 0 none to mark, -1 error. */
int record_wrong(struct record *r, time_t t, const char *net, const char *asker);
/* Deletes the rows older than the kept days; the number deleted, or -1. */
int record_purge_old(struct record *r, time_t now);

/* The keyed hash of an asker, 64 hex digits + NUL (tests, report). */
int record_asker_hash(struct record *r, const char *net, const char *asker, char out[65]);

/* `faqbot report -c CONFIG [--since 30d] [--format text|csv|html|jsonl]
 * [--purge]`, argv[0] = "report".  Exit status. */
int report_main(int argc, char **argv);

#endif
