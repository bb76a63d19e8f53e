/* loop.c - the single-threaded poll(2) event loop of loop.h: fd watchers
 * (a table that grows up to a cap), one-shot timers (a binary min-heap
 * ordered by deadline then creation), signals through a self-pipe, and a
 * monotonic clock.  Callbacks may add or remove watchers and timers while
 * the loop dispatches.  Knows nothing of IRC, Matrix or libcurl. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "grow.h"
#include "log.h"
#include "loop.h"

#define LOOP_MAX_FDS 4096
#define LOOP_MAX_TIMERS 65536
#define LOOP_NSIG 65

struct watcher {
	int fd;           /* -1: free slot (removed) */
	unsigned events;
	loop_fd_cb cb;
	void *arg;
	unsigned long gen; /* tells a re-added fd from the one polled */
};

struct timer {
	int64_t when;
	unsigned long seq;
	long id;
	loop_timer_cb cb;
	void *arg;
};

struct sigslot {
	loop_signal_cb cb;
	void *arg;
	struct sigaction old;
	int set;
};

struct loop {
	struct watcher *w;
	size_t nw, capw;
	struct pollfd *pfd;
	size_t *pfd_w;            /* pfd[i] belongs to w[pfd_w[i]] ... */
	unsigned long *pfd_gen;   /* ... with this generation */
	size_t cappfd;
	unsigned long gen;
	int dispatching;
	int dirty;                /* some w slot is free: compact after dispatch */

	struct timer *heap;
	size_t nt, capt;
	unsigned long tseq;
	long next_id;

	int sigpipe[2];
	struct sigslot sig[LOOP_NSIG];
	int stop;
};

/* The write end of the self-pipe of the loop that owns the signal handlers.
 * Global because a signal handler has no other way to reach it. */
static volatile sig_atomic_t sig_wfd = -1;

static void sig_handler(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	if (sig_wfd >= 0) {
		ssize_t r = write(sig_wfd, &b, 1); /* full pipe: drop, fine */
		(void)r;
	}
	errno = saved;
}

int64_t loop_now_ms(struct loop *lp)
{
	(void)lp;
	return clock_mono_ms();
}

static int set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

static void sig_readable(struct loop *lp, int fd, unsigned ev, void *arg);

struct loop *loop_new(void)
{
	struct loop *lp = calloc(1, sizeof *lp);
	if (!lp)
		return NULL;
	lp->sigpipe[0] = lp->sigpipe[1] = -1;
	lp->next_id = 1;
	if (pipe(lp->sigpipe) < 0 || set_nonblock_cloexec(lp->sigpipe[0]) < 0 ||
	    set_nonblock_cloexec(lp->sigpipe[1]) < 0 ||
	    loop_watch(lp, lp->sigpipe[0], LOOP_READ, sig_readable, NULL) < 0) {
		loop_free(lp);
		return NULL;
	}
	/* A peer closing a socket must be an error return, not a death. */
	signal(SIGPIPE, SIG_IGN);
	return lp;
}

void loop_free(struct loop *lp)
{
	int i;
	if (!lp)
		return;
	for (i = 1; i < LOOP_NSIG; i++)
		if (lp->sig[i].set)
			sigaction(i, &lp->sig[i].old, NULL);
	if (sig_wfd == lp->sigpipe[1])
		sig_wfd = -1;
	if (lp->sigpipe[0] >= 0)
		close(lp->sigpipe[0]);
	if (lp->sigpipe[1] >= 0)
		close(lp->sigpipe[1]);
	free(lp->w);
	free(lp->pfd);
	free(lp->pfd_w);
	free(lp->pfd_gen);
	free(lp->heap);
	free(lp);
}

/* ---- fd watchers ---- */

/* Drops the slots of removed watchers (never while dispatching: the
 * dispatch loop holds indexes into lp->w). */
static void compact_watchers(struct loop *lp)
{
	size_t i, j = 0;
	if (!lp->dirty)
		return;
	for (i = 0; i < lp->nw; i++)
		if (lp->w[i].fd >= 0)
			lp->w[j++] = lp->w[i];
	lp->nw = j;
	lp->dirty = 0;
}

static struct watcher *find_watcher(struct loop *lp, int fd)
{
	size_t i;
	for (i = 0; i < lp->nw; i++)
		if (lp->w[i].fd == fd)
			return &lp->w[i];
	return NULL;
}

int loop_watch(struct loop *lp, int fd, unsigned events, loop_fd_cb cb, void *arg)
{
	struct watcher *w;

	if (!lp || fd < 0 || !cb)
		return -1;
	w = find_watcher(lp, fd);
	if (w) {
		w->events = events;
		w->cb = cb;
		w->arg = arg;
		return 0;
	}
	/* Reuse freed slots before refusing. */
	if (lp->nw >= LOOP_MAX_FDS && !lp->dispatching)
		compact_watchers(lp);
	if (grow_array(&lp->w, &lp->capw, lp->nw + 1, sizeof *lp->w, LOOP_MAX_FDS) < 0) {
		if (lp->nw >= LOOP_MAX_FDS)
			log_error("loop: more than %d watched descriptors", LOOP_MAX_FDS);
		return -1;
	}
	w = &lp->w[lp->nw++];
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->arg = arg;
	w->gen = ++lp->gen;
	return 0;
}

void loop_unwatch(struct loop *lp, int fd)
{
	struct watcher *w;
	if (!lp || fd < 0 || !(w = find_watcher(lp, fd)))
		return;
	w->fd = -1;
	w->cb = NULL;
	lp->dirty = 1;
}

/* ---- timers: min-heap on (when, seq) ---- */

static int tless(const struct timer *a, const struct timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_up(struct timer *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct timer t;
		if (!tless(&h[i], &h[p]))
			break;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void heap_down(struct timer *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct timer t;
		if (l < n && tless(&h[l], &h[m]))
			m = l;
		if (r < n && tless(&h[r], &h[m]))
			m = r;
		if (m == i)
			break;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_remove(struct loop *lp, size_t i)
{
	lp->nt--;
	if (i == lp->nt)
		return;
	lp->heap[i] = lp->heap[lp->nt];
	heap_down(lp->heap, lp->nt, i);
	heap_up(lp->heap, i);
}

long loop_timer_add(struct loop *lp, int64_t ms, loop_timer_cb cb, void *arg)
{
	struct timer *t;

	if (!lp || !cb)
		return -1;
	if (ms < 0)
		ms = 0;
	if (grow_array(&lp->heap, &lp->capt, lp->nt + 1, sizeof *lp->heap, LOOP_MAX_TIMERS) < 0) {
		if (lp->nt >= LOOP_MAX_TIMERS)
			log_error("loop: more than %d timers", LOOP_MAX_TIMERS);
		return -1;
	}
	t = &lp->heap[lp->nt];
	t->when = loop_now_ms(lp) + ms;
	t->seq = ++lp->tseq;
	t->id = lp->next_id++;
	if (lp->next_id <= 0) /* wrapped after 2^63 timers: start over */
		lp->next_id = 1;
	t->cb = cb;
	t->arg = arg;
	/* Read the id before heap_up: it moves the new timer, and t would then
	 * point at another timer (whose id a caller would later cancel). */
	long id = t->id;
	heap_up(lp->heap, lp->nt++);
	return id;
}

void loop_timer_cancel(struct loop *lp, long id)
{
	size_t i;
	if (!lp || id <= 0)
		return;
	for (i = 0; i < lp->nt; i++)
		if (lp->heap[i].id == id) {
			heap_remove(lp, i);
			return;
		}
}

/* ---- signals ---- */

int loop_signal(struct loop *lp, int signo, loop_signal_cb cb, void *arg)
{
	struct sigaction sa;

	if (!lp || signo <= 0 || signo >= LOOP_NSIG || !cb)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sig_wfd = lp->sigpipe[1];
	if (sigaction(signo, &sa, lp->sig[signo].set ? NULL : &lp->sig[signo].old) < 0)
		return -1;
	lp->sig[signo].cb = cb;
	lp->sig[signo].arg = arg;
	lp->sig[signo].set = 1;
	return 0;
}

static void sig_readable(struct loop *lp, int fd, unsigned ev, void *arg)
{
	unsigned char buf[64];
	ssize_t n, i;
	(void)ev;
	(void)arg;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (i = 0; i < n; i++) {
			int s = buf[i];
			if (s > 0 && s < LOOP_NSIG && lp->sig[s].cb)
				lp->sig[s].cb(lp, s, lp->sig[s].arg);
		}
}

/* ---- the loop ---- */

static int build_pollfds(struct loop *lp)
{
	size_t i, n = 0;

	compact_watchers(lp);
	if (lp->cappfd < lp->nw) {
		size_t nc = lp->capw;
		struct pollfd *p = realloc(lp->pfd, nc * sizeof *p);
		if (!p)
			return -1;
		lp->pfd = p;
		size_t *pw = realloc(lp->pfd_w, nc * sizeof *pw);
		if (!pw)
			return -1;
		lp->pfd_w = pw;
		unsigned long *pg = realloc(lp->pfd_gen, nc * sizeof *pg);
		if (!pg)
			return -1;
		lp->pfd_gen = pg;
		lp->cappfd = nc;
	}
	for (i = 0; i < lp->nw; i++) {
		struct watcher *w = &lp->w[i];
		lp->pfd[n].fd = w->fd;
		lp->pfd[n].events = (short)((w->events & LOOP_READ ? POLLIN : 0) |
					    (w->events & LOOP_WRITE ? POLLOUT : 0));
		lp->pfd[n].revents = 0;
		lp->pfd_w[n] = i;
		lp->pfd_gen[n] = w->gen;
		n++;
	}
	return (int)n;
}

static void run_timers(struct loop *lp)
{
	int64_t now = loop_now_ms(lp);
	/* Timers added by these callbacks wait for the next pass, so a
	 * callback re-arming a 0 ms timer cannot starve the fds. */
	unsigned long last = lp->tseq;

	while (lp->nt > 0 && !lp->stop) {
		struct timer t = lp->heap[0];
		if (t.when > now || t.seq > last)
			break;
		heap_remove(lp, 0);
		t.cb(lp, t.arg);
	}
}

static int poll_timeout(struct loop *lp)
{
	int64_t d;
	if (lp->nt == 0)
		return -1;
	d = lp->heap[0].when - loop_now_ms(lp);
	if (d < 0)
		return 0;
	return d > 60000 ? 60000 : (int)d;
}

int loop_run(struct loop *lp)
{
	lp->stop = 0;
	while (!lp->stop) {
		int n = build_pollfds(lp), r, i;
		if (n < 0) {
			log_error("loop: out of memory");
			return -1;
		}
		r = poll(lp->pfd, (nfds_t)n, poll_timeout(lp));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_error("loop: poll: %s", strerror(errno));
			return -1;
		}
		lp->dispatching = 1;
		for (i = 0; r > 0 && i < n && !lp->stop; i++) {
			short re = lp->pfd[i].revents;
			struct watcher *w;
			unsigned ev = 0;
			if (!re)
				continue;
			w = &lp->w[lp->pfd_w[i]];
			/* Removed (or removed and re-added) since the poll. */
			if (w->fd < 0 || w->gen != lp->pfd_gen[i])
				continue;
			if (re & POLLIN)
				ev |= LOOP_READ;
			if (re & POLLOUT)
				ev |= LOOP_WRITE;
			if (re & (POLLERR | POLLHUP | POLLNVAL))
				/* Let the handler's read/write see the error. */
				ev |= LOOP_ERROR | (w->events & (LOOP_READ | LOOP_WRITE));
			w->cb(lp, w->fd, ev, w->arg);
			w = &lp->w[lp->pfd_w[i]]; /* the table may have moved */
			if ((re & POLLNVAL) && w->fd >= 0 && w->gen == lp->pfd_gen[i]) {
				/* Closed without loop_unwatch: would spin. */
				log_warn("loop: fd %d was closed while watched; unwatched", w->fd);
				w->fd = -1;
				w->cb = NULL;
				lp->dirty = 1;
			}
		}
		if (!lp->stop)
			run_timers(lp);
		lp->dispatching = 0;
	}
	return 0;
}

void loop_stop(struct loop *lp)
{
	if (lp)
		lp->stop = 1;
}
