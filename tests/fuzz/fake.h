/* fake.h - the fuzz-only stand-ins for bot/loop.c and bot/http.c
 * (tests/fuzz/fake_loop.c, tests/fuzz/fake_http.c), linked instead of
 * them into the targets whose NAME.fakes lists "loop http" (run.sh).
 * They are fakes for fuzzing, not for tests: the test suite runs against
 * real servers.  The loop has a virtual clock and fires timers only when
 * told; HTTP records each request and answers it only when the target
 * hands it a response, through the same callback the real client gets. */
#ifndef FAQBOT_FUZZ_FAKE_H
#define FAQBOT_FUZZ_FAKE_H

#include <stddef.h>
#include <stdint.h>

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
