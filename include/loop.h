/* loop.h - the single-threaded poll(2) event loop: fd watchers, timers,
 * signals (self-pipe).  libcurl's multi interface plugs in through its
 * socket and timer callbacks (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION),
 * mapped onto loop_watch / loop_timer_add.  Nothing here knows IRC or
 * Matrix. */
#ifndef FAQBOT_LOOP_H
#define FAQBOT_LOOP_H

#include <stdint.h>

struct loop;

enum { LOOP_READ = 1, LOOP_WRITE = 2, LOOP_ERROR = 4 };

typedef void (*loop_fd_cb)(struct loop *lp, int fd, unsigned events, void *arg);
typedef void (*loop_timer_cb)(struct loop *lp, void *arg);
typedef void (*loop_signal_cb)(struct loop *lp, int signo, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *lp); /* accepts NULL */

/* Adds fd or changes its events/callback.  0, or -1 on error. */
int loop_watch(struct loop *lp, int fd, unsigned events, loop_fd_cb cb, void *arg);
void loop_unwatch(struct loop *lp, int fd);

/* One-shot timer after ms milliseconds; returns an id > 0, or -1. */
long loop_timer_add(struct loop *lp, int64_t ms, loop_timer_cb cb, void *arg);
void loop_timer_cancel(struct loop *lp, long id); /* unknown id: no-op */

/* Monotonic milliseconds. */
int64_t loop_now_ms(struct loop *lp);

/* Runs cb in the loop (not in the handler) when signo arrives. */
int loop_signal(struct loop *lp, int signo, loop_signal_cb cb, void *arg);

/* Runs until loop_stop; returns 0. */
int loop_run(struct loop *lp);
void loop_stop(struct loop *lp);

#endif
