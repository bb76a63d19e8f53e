/* mxnet.h - one Matrix account ([matrix.NAME]) on the loop: login (or a
 * configured access token), the /sync long-poll with its gaps filled from
 * /messages, invites, and replies sent exactly once through the state
 * store (store.h).  Messages go up through a chat sink (chat.h), which
 * decides and writes the answer; this module sends it as an m.notice replying to the question,
 * Megolm-encrypted in encrypted rooms when [matrix.NAME] e2ee = yes. */
#ifndef FAQBOT_MXNET_H
#define FAQBOT_MXNET_H

#include <stdint.h>

#include "http.h"
#include "loop.h"

struct chat_sink;
struct matrix_config;
struct mxnet;

/* What a network does to the world (as ircnet_io): mxnet_start wires it
 * to http.c and the loop; mxnet_start_io takes another, so tests and the
 * fuzz target drive the real client with requests they answer and timers
 * they fire themselves.  arg is mxnet_start_io's io_arg. */
struct mxnet_io {
	/* Starts a request; its answer comes later, through cb(cb_arg, r),
	 * never from inside http_start.  The id (> 0), or -1. */
	long (*http_start)(void *arg, const struct http_req *rq, http_cb cb, void *cb_arg);
	/* Drops a request in flight without its callback; unknown id: no-op. */
	void (*http_cancel)(void *arg, long id);
	/* A one-shot timer: cb(lp, cb_arg) after ms (lp may be NULL); the
	 * id (> 0), or -1. */
	long (*timer_add)(void *arg, int64_t ms, loop_timer_cb cb, void *cb_arg);
	void (*timer_cancel)(void *arg, long id);
	/* Monotonic milliseconds (retries, rate limits, caches). */
	int64_t (*now_ms)(void *arg);
	/* Unix time in milliseconds (message ages, records, pruning). */
	int64_t (*wall_ms)(void *arg);
};

/* Starts the network: opens the state file state_path (SQLite, shared by
 * all networks; created 0600), then logs in and syncs in the background,
 * retrying with backoff for ever.  cfg and *sink are copied; the sink's arg
 * must outlive the network.  NULL (the reason logged) when the state file
 * cannot be opened, memory runs out, or, with e2ee on, the
 * pickle key is missing or does not open the stored Olm account (then
 * nothing in the state file is written).  Never exits the process. */
struct mxnet *mxnet_start(struct loop *lp, const struct matrix_config *cfg,
			  const struct chat_sink *sink, const char *state_path);
/* mxnet_start on another I/O (tests, fuzzing): the same network, every
 * request and timer through io (all six members set, else NULL).  io and
 * io_arg must outlive the network. */
struct mxnet *mxnet_start_io(const struct matrix_config *cfg, const struct chat_sink *sink,
			     const char *state_path, const struct mxnet_io *io, void *io_arg);
/* [bot] max_answer_age: after a restart, questions older than this many
 * seconds are not answered.  Default 600. */
void mxnet_set_max_answer_age(struct mxnet *n, int seconds);
/* After a reload: takes admins, auto_answer, ignore, rate limits,
 * allowed_inviters and timeouts from cfg (copied now, applied from a 0 ms
 * timer, so it is safe inside bot_handle's "!reload").  A changed homeserver
 * or user is logged and needs a restart.  0 / -1 (out of memory). */
int mxnet_set_config(struct mxnet *n, const struct matrix_config *cfg);
/* Stops at once: every request in flight is aborted.  Nothing is lost:
 * answers not yet acknowledged stay pending in the store and are re-sent,
 * with the same transaction id, at the next start. */
void mxnet_stop(struct mxnet *n);
/* Accepts NULL; stops first.  Not from inside this network's own
 * callbacks (a "!reload" that removes it): stop it there and free it from
 * a timer. */
void mxnet_free(struct mxnet *n);

#ifdef FAQBOT_FUZZ
/* Fuzzing only (tests/fuzz/fuzz_mxhandle.c; built with -DFAQBOT_FUZZ by
 * tests/fuzz/run.sh, never in faqbot): what the network holds, and -1
 * with why filled when its own books disagree (mxnet.c). */
#include <stddef.h>
#define MXNET_FUZZ_MAX_IDS 300
struct mxnet_fuzz {
	long reqs[MXNET_FUZZ_MAX_IDS]; /* HTTP requests it waits for */
	size_t nreqs;
	long timers[8];                /* loop timers it holds */
	size_t ntimers;
};
int mxnet_fuzz_check(const struct mxnet *n, struct mxnet_fuzz *f, char *why, size_t len);
#endif

#endif
