/* record.h - the questions kept for the knowledge team ([bot]
 * record_questions = yes, off by default): in the state file (SQLite,
 * table questions, migrated as store component "record"), one row per
 * question the bot handled: time, network, room (NULL in private), intent
 * (best guess), confidence, whether it was missed (refused, or answered
 * below the auto-answer confidence) or marked wrong (IRC "!faux"), the
 * Matrix question event and the last thumbs up / down on its answer.  The text is kept
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
		    const char *event, const char *asker, const char *text, size_t len,
		    const char *intent, double confidence, int missed);
/* A reaction on the bot's answer answer_event (Matrix): good 1 thumbs up,
 * 0 thumbs down (the answer is then marked wrong, keeping its question when
 * still in memory).  Found through store.c's answers table (question event
 * -> reply_id).  1 recorded, 0 no such answer, -1 error. */
int record_reaction(struct record *r, const char *net, const char *answer_event, int good);
/* "!faux": marks asker's last answer on net, if given less than
 * RECORD_WRONG_WINDOW s before t, as wrong (keeping its question).
 * 1 marked, 0 none to mark, -1 error. */
int record_wrong(struct record *r, time_t t, const char *net, const char *asker);
/* Writes are queued (the Matrix client may hold the file's write lock
 * while the bot handles a message): without a kick function they are
 * written at once (waiting up to 5 s for the lock); with one, fn(arg) is
 * called when the first write is queued, and the caller runs record_flush
 * from its loop soon after.  record_flush: 0 when all is written, the
 * number still waiting when another connection holds the lock (try again
 * later), -1 when they failed (logged, dropped). */
void record_set_kick(struct record *r, void (*fn)(void *arg), void *arg);
int record_flush(struct record *r);
size_t record_pending(const struct record *r);
/* Deletes the rows older than the kept days; the number deleted, or -1. */
int record_purge_old(struct record *r, time_t now);

/* The keyed hash of an asker, 64 hex digits + NUL (tests, report). */
int record_asker_hash(struct record *r, const char *net, const char *asker, char out[65]);

/* `faqbot report -c CONFIG [--since 30d] [--format text|csv|html|jsonl]
 * [--purge]`, argv[0] = "report".  Exit status. */
int report_main(int argc, char **argv);

#endif
