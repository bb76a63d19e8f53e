/* fake.h - the API of fake_io.c: an I/O for the Matrix client
 * (struct mxnet_io, mxnet.h) given to mxnet_start_io by the fuzz target
 * and the Matrix state-machine unit tests, which #include fake_io.c.
 * Nothing is swapped at link time: the client's own code runs, only its
 * I/O is this.  A virtual clock fires timers only when told; HTTP records
 * each request and answers it only when the caller hands it a response,
 * through the same callback the real client gets.  The integration
 * suites run the real I/O against a real Synapse. */
#ifndef FAQBOT_FUZZ_FAKE_H
#define FAQBOT_FUZZ_FAKE_H

#include <stddef.h>
#include <stdint.h>

struct mxnet_io;
/* The I/O to give mxnet_start_io (its io_arg is unused: NULL). */
extern const struct mxnet_io fake_mxnet_io;
/* Non-zero: wall-clock ms = fake_wall_ms + the virtual clock; 0: real. */
extern int64_t fake_wall_ms;
/* Drops every timer and request in flight without callbacks. */
void fake_io_reset(void);

/* ---- loop ---- */
/* Moves the virtual clock forward by ms (never back). */
void fake_loop_advance(int64_t ms);
/* Fires every timer due now, earliest first, including those the
 * callbacks add for now.  -1 when more than max fire in a row (a timer
 * that re-arms itself at 0 ms for ever). */
int fake_loop_run_due(int max);
/* 1 when timer id is armed. */
int fake_loop_armed(long id);
/* Armed timers (ids into ids, up to max); returns how many are armed. */
size_t fake_loop_timers(long *ids, size_t max);

/* ---- http ---- */
struct fake_req {
	long id;
	const char *method, *url, *body; /* body NULL: none */
	size_t max_body;
	int bearer;                      /* an access token was sent */
};
/* Requests in flight, oldest first (pointers valid until the next call
 * into the fake). */
size_t fake_http_list(struct fake_req *out, size_t max);
/* Answers request id through its callback: status (0: transfer failed,
 * with error), body[0..len) copied into a buffer of exactly len + 1
 * bytes, retry_after_ms from a Retry-After header or -1.  -1 when id is
 * not in flight. */
int fake_http_answer(long id, long status, const char *error, const char *body, size_t len,
		     long retry_after_ms);
/* The next k calls of http_start fail (-1), as when HTTP_MAX_ACTIVE is
 * reached or memory runs out. */
void fake_http_fail_next(int k);
/* Called for every request started; a non-zero return aborts (the target
 * checks what the client sends). */
extern int (*fake_http_check)(const char *method, const char *url, const char *body,
			      size_t body_len, const char *bearer);

#endif
