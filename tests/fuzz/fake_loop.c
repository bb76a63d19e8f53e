/* fake_loop.c - a fake of bot/loop.c for fuzzing only (see fake.h): a
 * virtual clock and a timer table; timers fire when the target calls
 * fake_loop_run_due, never on their own.  No fd, no signal, no poll: the
 * functions for them do nothing (nothing in the targets that link this
 * one watches an fd).  Same contract as loop.h for timers: ids > 0,
 * one-shot, cancel of an unknown id is a no-op, callbacks may add and
 * cancel timers. */
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "loop.h"

#define FAKE_MAX_TIMERS 4096

struct loop {
	int stop;
};

struct ftimer {
	long id;
	int64_t when;
	unsigned long seq;
	loop_timer_cb cb;
	struct loop *lp;
	void *arg;
};

static struct ftimer timers[FAKE_MAX_TIMERS];
static size_t ntimers;
static long next_id = 1;
static unsigned long next_seq;
/* Never reset: bot.c's rate limiter sees one clock across inputs. */
static int64_t now = 1000000;

struct loop *loop_new(void) { return calloc(1, sizeof(struct loop)); }

void loop_free(struct loop *lp)
{
	size_t i = 0;
	if (!lp)
		return;
	while (i < ntimers)
		if (timers[i].lp == lp)
			timers[i] = timers[--ntimers];
		else
			i++;
	free(lp);
}

int loop_watch(struct loop *lp, int fd, unsigned events, loop_fd_cb cb, void *arg)
{
	(void)lp; (void)fd; (void)events; (void)cb; (void)arg;
	return -1;
}

void loop_unwatch(struct loop *lp, int fd) { (void)lp; (void)fd; }

long loop_timer_add(struct loop *lp, int64_t ms, loop_timer_cb cb, void *arg)
{
	struct ftimer *t;
	if (ntimers >= FAKE_MAX_TIMERS || !cb)
		return -1;
	t = &timers[ntimers++];
	t->id = next_id++;
	if (next_id <= 0)
		next_id = 1;
	t->when = now + (ms < 0 ? 0 : ms);
	t->seq = next_seq++;
	t->cb = cb;
	t->lp = lp;
	t->arg = arg;
	return t->id;
}

void loop_timer_cancel(struct loop *lp, long id)
{
	size_t i;
	(void)lp;
	for (i = 0; i < ntimers; i++)
		if (timers[i].id == id) {
			timers[i] = timers[--ntimers];
			return;
		}
}

int64_t loop_now_ms(struct loop *lp)
{
	(void)lp;
	return now;
}

int loop_signal(struct loop *lp, int signo, loop_signal_cb cb, void *arg)
{
	(void)lp; (void)signo; (void)cb; (void)arg;
	return -1;
}

int loop_run(struct loop *lp)
{
	(void)lp;
	return 0;
}

void loop_stop(struct loop *lp)
{
	if (lp)
		lp->stop = 1;
}

void fake_loop_advance(int64_t ms)
{
	if (ms > 0)
		now += ms;
}

int fake_loop_run_due(int max)
{
	int fired = 0;
	for (;;) {
		size_t i, best = ntimers;
		struct ftimer t;
		for (i = 0; i < ntimers; i++)
			if (timers[i].when <= now &&
			    (best == ntimers || timers[i].when < timers[best].when ||
			     (timers[i].when == timers[best].when && timers[i].seq < timers[best].seq)))
				best = i;
		if (best == ntimers)
			return 0;
		if (fired++ >= max)
			return -1;
		t = timers[best];
		timers[best] = timers[--ntimers];
		t.cb(t.lp, t.arg);
	}
}

int fake_loop_armed(long id)
{
	size_t i;
	for (i = 0; i < ntimers; i++)
		if (timers[i].id == id)
			return 1;
	return 0;
}

size_t fake_loop_timers(long *ids, size_t max)
{
	size_t i;
	for (i = 0; i < ntimers && i < max; i++)
		ids[i] = timers[i].id;
	return ntimers;
}
