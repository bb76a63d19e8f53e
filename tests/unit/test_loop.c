/* test_loop.c - the poll loop: timer order, cancellation from inside a
 * callback, fd readiness with a pipe, watcher removal during dispatch,
 * signal delivery through the self-pipe, and loop_free(NULL). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "loop.h"

struct rec {
	int order[16];
	int n;
	long cancel_id;
};

/* A timer argument: the shared record and this timer's tag. */
struct targ {
	struct rec *r;
	int tag;
};

static void tcb(struct loop *lp, void *arg)
{
	struct targ *t = arg;
	t->r->order[t->r->n++] = t->tag;
	if (t->tag == 99)
		loop_stop(lp);
}

static void test_timer_order(void **state)
{
	struct loop *lp = loop_new();
	struct rec r = { .n = 0 };
	struct targ a = { &r, 3 }, b = { &r, 1 }, c = { &r, 2 }, d = { &r, 4 },
		    stop = { &r, 99 };
	(void)state;
	assert_non_null(lp);
	assert_true(loop_timer_add(lp, 30, tcb, &a) > 0);
	assert_true(loop_timer_add(lp, 10, tcb, &b) > 0);
	assert_true(loop_timer_add(lp, 20, tcb, &c) > 0);
	assert_true(loop_timer_add(lp, 30, tcb, &d) > 0); /* same deadline: after a */
	assert_true(loop_timer_add(lp, 40, tcb, &stop) > 0);
	int64_t t0 = loop_now_ms(lp);
	assert_int_equal(loop_run(lp), 0);
	assert_true(loop_now_ms(lp) - t0 >= 40);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.order[0], 1);
	assert_int_equal(r.order[1], 2);
	assert_int_equal(r.order[2], 3);
	assert_int_equal(r.order[3], 4);
	assert_int_equal(r.order[4], 99);
	loop_free(lp);
}

/* Every id returned by loop_timer_add names its own timer, even when the
 * new timer sifts up the heap past earlier ones: cancelling the id of a
 * short timer added last must cancel that one, not a long one. */
static void test_timer_ids_distinct(void **state)
{
	struct loop *lp = loop_new();
	struct rec r = { .n = 0 };
	struct targ longt[6], shortt = { &r, 7 }, stop = { &r, 99 };
	long ids[6];
	(void)state;
	assert_non_null(lp);
	for (int i = 0; i < 6; i++) {
		longt[i] = (struct targ){ &r, 10 + i };
		ids[i] = loop_timer_add(lp, 20 + 5 * i, tcb, &longt[i]);
		assert_true(ids[i] > 0);
	}
	long sid = loop_timer_add(lp, 1, tcb, &shortt); /* sifts to the top */
	assert_true(sid > 0);
	for (int i = 0; i < 6; i++)
		assert_true(sid != ids[i]);
	loop_timer_cancel(lp, sid);
	assert_true(loop_timer_add(lp, 60, tcb, &stop) > 0);
	assert_int_equal(loop_run(lp), 0);
	/* the six long timers all fired, the cancelled short one did not */
	assert_int_equal(r.n, 7);
	for (int i = 0; i < 6; i++)
		assert_int_equal(r.order[i], 10 + i);
	assert_int_equal(r.order[6], 99);
	loop_free(lp);
}

static void canceller(struct loop *lp, void *arg)
{
	struct targ *t = arg;
	t->r->order[t->r->n++] = t->tag;
	loop_timer_cancel(lp, t->r->cancel_id); /* due in the same pass */
	loop_timer_cancel(lp, 123456);          /* unknown: no-op */
}

static void test_cancel_during_dispatch(void **state)
{
	struct loop *lp = loop_new();
	struct rec r = { .n = 0 };
	struct targ a = { &r, 1 }, b = { &r, 2 }, stop = { &r, 99 };
	(void)state;
	assert_true(loop_timer_add(lp, 5, canceller, &a) > 0);
	r.cancel_id = loop_timer_add(lp, 5, tcb, &b);
	assert_true(r.cancel_id > 0);
	usleep(10000); /* both due when the loop first looks */
	assert_true(loop_timer_add(lp, 20, tcb, &stop) > 0);
	loop_run(lp);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.order[0], 1);
	assert_int_equal(r.order[1], 99);
	loop_free(lp);
}

/* A callback that re-arms a 0 ms timer must not starve the loop. */
static int rearm_count;
static void rearm(struct loop *lp, void *arg)
{
	(void)arg;
	if (++rearm_count < 1000)
		loop_timer_add(lp, 0, rearm, NULL);
	else
		loop_stop(lp);
}

static void test_rearm_zero(void **state)
{
	struct loop *lp = loop_new();
	(void)state;
	rearm_count = 0;
	loop_timer_add(lp, 0, rearm, NULL);
	loop_run(lp);
	assert_int_equal(rearm_count, 1000);
	loop_free(lp);
}

struct fdrec {
	int pipe_a[2], pipe_b[2];
	int reads_a, reads_b;
	char got[16];
};

static void on_a(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct fdrec *f = arg;
	ssize_t n;
	assert_true(ev & LOOP_READ);
	n = read(fd, f->got, sizeof f->got - 1);
	assert_true(n > 0);
	f->got[n] = 0;
	f->reads_a++;
	/* Removing another ready watcher during dispatch: it must not run. */
	loop_unwatch(lp, f->pipe_b[0]);
	loop_unwatch(lp, fd);
	loop_stop(lp);
}

static void on_b(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct fdrec *f = arg;
	char c;
	(void)lp;
	(void)ev;
	f->reads_b++;
	assert_true(read(fd, &c, 1) >= 0);
	loop_unwatch(lp, f->pipe_a[0]);
	loop_unwatch(lp, fd);
	loop_stop(lp);
}

static void test_fd_ready(void **state)
{
	struct loop *lp = loop_new();
	struct fdrec f = { .reads_a = 0 };
	(void)state;
	assert_int_equal(pipe(f.pipe_a), 0);
	assert_int_equal(pipe(f.pipe_b), 0);
	assert_int_equal(loop_watch(lp, f.pipe_a[0], LOOP_READ, on_a, &f), 0);
	assert_int_equal(loop_watch(lp, f.pipe_b[0], LOOP_READ, on_b, &f), 0);
	assert_int_equal(write(f.pipe_a[1], "hello", 5), 5);
	assert_int_equal(write(f.pipe_b[1], "x", 1), 1);
	loop_run(lp);
	/* Exactly one of the two ran: the first unwatched the other. */
	assert_int_equal(f.reads_a + f.reads_b, 1);
	if (f.reads_a)
		assert_string_equal(f.got, "hello");
	assert_int_equal(loop_watch(lp, -1, LOOP_READ, on_a, &f), -1);
	close(f.pipe_a[0]);
	close(f.pipe_a[1]);
	close(f.pipe_b[0]);
	close(f.pipe_b[1]);
	loop_free(lp);
}

static void writable(struct loop *lp, int fd, unsigned ev, void *arg)
{
	int *hits = arg;
	(void)fd;
	if (ev & LOOP_WRITE)
		++*hits;
	loop_stop(lp);
}

static void test_fd_write_and_hup(void **state)
{
	struct loop *lp = loop_new();
	int p[2], hits = 0;
	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_watch(lp, p[1], LOOP_WRITE, writable, &hits), 0);
	loop_run(lp);
	assert_int_equal(hits, 1);
	loop_unwatch(lp, p[1]);
	close(p[1]);
	/* Writer gone: the reader is told (READ|ERROR, or READ with EOF). */
	hits = 0;
	assert_int_equal(loop_watch(lp, p[0], LOOP_READ, writable, &hits), 0);
	loop_run(lp);
	assert_int_equal(hits, 0);
	loop_unwatch(lp, p[0]);
	close(p[0]);
	loop_free(lp);
}

static int got_signal;
static void on_sig(struct loop *lp, int signo, void *arg)
{
	(void)arg;
	got_signal = signo;
	loop_stop(lp);
}

static void too_late(struct loop *lp, void *arg)
{
	(void)arg;
	loop_stop(lp);
}

static void raise_hup(struct loop *lp, void *arg)
{
	(void)lp;
	(void)arg;
	raise(SIGHUP);
}

static void test_signal(void **state)
{
	struct loop *lp = loop_new();
	(void)state;
	got_signal = 0;
	assert_int_equal(loop_signal(lp, SIGHUP, on_sig, NULL), 0);
	assert_int_equal(loop_signal(lp, SIGTERM, on_sig, NULL), 0);
	loop_timer_add(lp, 5, raise_hup, NULL);
	loop_timer_add(lp, 2000, too_late, NULL);
	loop_run(lp);
	assert_int_equal(got_signal, SIGHUP);
	/* The callback runs in the loop, so a signal while idle works too. */
	got_signal = 0;
	raise(SIGTERM);
	loop_run(lp);
	assert_int_equal(got_signal, SIGTERM);
	/* SIGPIPE is ignored: writing to a closed pipe returns EPIPE. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(write(p[1], "x", 1), -1);
	close(p[1]);
	loop_free(lp);
}

static void test_free_null(void **state)
{
	(void)state;
	loop_free(NULL);
	loop_timer_cancel(NULL, 1);
	loop_unwatch(NULL, 0);
	assert_int_equal(loop_timer_add(NULL, 1, too_late, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_ids_distinct),
		cmocka_unit_test(test_cancel_during_dispatch),
		cmocka_unit_test(test_rearm_zero),
		cmocka_unit_test(test_fd_ready),
		cmocka_unit_test(test_fd_write_and_hup),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_free_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
