/* mx_send.c - sending answers: the store is the queue and memory holds a
 * capped window of it; each answer goes out with its stored transaction
 * id (a re-send is deduplicated by the homeserver), several in parallel,
 * pausing on 429 and backing off on errors.  Answers for an encrypted
 * room wait until mx_crypto.c has shared the room key and encrypted them
 * in memory (the path: mx_int.h, "An answer's way out"). */
#include "mx_int.h"

/* ---- sending answers from the store ---- */

void mx_send_remove(struct mxnet *n, struct sendq *q)
{
	size_t i = (size_t)(q - n->q);
	free(q->p.content);
	memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof *q);
	n->nq--;
}

struct sendq *mx_send_find(struct mxnet *n, long req, const char *event_id)
{
	struct sendq *q, *end = n->q + n->nq;
	for (q = n->q; q < end; q++)
		if (event_id ? !strcmp(q->p.event_id, event_id) : q->req == req)
			return q;
	return NULL;
}

static void on_send(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct sendq *q = mx_send_find(n, r->id, NULL);
	struct mx_answer a;
	int64_t ms;
	n->send_inflight--;
	if (!q)
		return;
	q->req = 0;
	mx_answer_take(n, r, &a);
	switch (a.v) {
	case MX_OK: {
		const char *eid = mxjson_str(a.j, "event_id");
		if (store_answer_set_state(n->st, n->name, q->p.event_id, STORE_SENT, eid) < 0)
			log_error("matrix.%s: answer to %s sent but not marked; it will be re-sent "
				  "with the same txn id (deduplicated)", n->name, q->p.event_id);
		log_info("matrix.%s: answered %s in %s (%s)", n->name, q->p.event_id, q->p.room_id,
			 eid ? eid : "no event id");
		mx_send_remove(n, q);
		break;
	}
	case MX_TOKEN_LOST:
		mx_answer_free(&a);
		mx_session_lost(n);
		return;
	case MX_FATAL:
		log_warn("matrix.%s: answer to %s in %s refused (%s); not retried", n->name,
			 q->p.event_id, q->p.room_id, a.why);
		store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
		mx_send_remove(n, q);
		break;
	case MX_RETRY:
		if (a.limited) {
			/* the whole sender pauses: one line per pause, not per
			 * answer caught in it */
			int64_t until = mxnet_now(n) + a.retry_ms;
			if (until > n->pause_until) {
				if (n->pause_until < mxnet_now(n))
					log_info("matrix.%s: sending rate-limited (429); waiting %.1f s",
						 n->name, a.retry_ms / 1000.0);
				n->pause_until = until;
			}
			break;
		}
		ms = mxnet_backoff_ms(n, q->attempts++);
		q->not_before = mxnet_now(n) + ms;
		log_warn("matrix.%s: sending the answer to %s failed (%s); retrying in %.1f s", n->name,
			 q->p.event_id, a.why, ms / 1000.0);
		break;
	}
	mx_answer_free(&a);
	mx_send_kick(n);
}

/* Returns 1 when q was removed from the queue. */
static int send_one(struct mxnet *n, struct sendq *q)
{
	char rid[800], txn[256], path[1200];
	if (mxjson_url_escape(q->p.room_id, rid, sizeof rid) < 0 ||
	    mxjson_url_escape(q->p.txn_id, txn, sizeof txn) < 0) {
		store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
		mx_send_remove(n, q);
		return 1;
	}
	/* An encrypted answer keeps its ciphertext in memory: every retry
	 * of this run sends the same bytes under the same txn id. */
	snprintf(path, sizeof path, "/rooms/%s/send/%s/%s", rid,
		 q->p.encrypted ? "m.room.encrypted" : "m.room.message", txn);
	q->req = mxnet_request(n, "PUT", path, NULL, q->p.content, MX_SMALL_MAX_BODY, 30000, 1, on_send, n);
	if (q->req <= 0) {
		q->req = 0;
		q->not_before = mxnet_now(n) + 1000;
		return 0;
	}
	n->send_inflight++;
	return 0;
}

/* One pass over the window: load, send what may go, arm the wake-up, and
 * let the crypto requests go on (which may encrypt answers: another
 * pass then sends them). */
static void send_pass(struct mxnet *n)
{
	int64_t now, wake = INT64_MAX;
	size_t i;
	if (n->stopped || !n->acct.access_token[0] || !n->acct.user_id[0])
		return;
	/* The store is the queue; memory holds a capped window of it.  At the
	 * cap, newer answers simply wait in the store (loaded as older ones
	 * are acknowledged), so nothing is dropped. */
	if (n->nq < MX_SENDQ_MAX) {
		struct store_pending tmp[32];
		int k = MX_SENDQ_MAX - (int)n->nq, got, j;
		if (k > 32)
			k = 32;
		got = store_pending_list(n->st, n->name, n->last_seq, tmp, k);
		for (j = 0; j < got; j++) {
			struct sendq *q = &n->q[n->nq++];
			memset(q, 0, sizeof *q);
			q->p = tmp[j];
			if (tmp[j].seq > n->last_seq)
				n->last_seq = tmp[j].seq;
		}
	}
	now = mxnet_now(n);
	if (now < n->pause_until) {
		wake = n->pause_until;
	} else {
		for (i = 0; i < n->nq && n->send_inflight < MX_SEND_PARALLEL; i++) {
			struct sendq *q = &n->q[i];
			if (q->req > 0)
				continue;
			if (!q->p.encrypted && mx_crypto_needed(n, q)) {
				if (!n->e2) {
					log_warn("matrix.%s: %s is encrypted and e2ee is off: the answer to "
						 "%s is not sent (set e2ee = yes)", n->name, q->p.room_id,
						 q->p.event_id);
					store_answer_set_state(n->st, n->name, q->p.event_id, STORE_FAILED, NULL);
					mx_send_remove(n, q);
					i--;
				}
				continue; /* mx_crypto_kick encrypts it and kicks the sender */
			}
			if (q->not_before > now) {
				if (q->not_before < wake)
					wake = q->not_before;
				continue;
			}
			if (send_one(n, q))
				i--; /* removed: the next one moved here (wraps, then ++) */
		}
	}
	if (wake != INT64_MAX)
		mx_job_after(&n->send_job, wake - now, mx_send_kick);
	else if (n->nq == MX_SENDQ_MAX && !n->send_inflight)
		mx_job_after(&n->send_job, 1000, mx_send_kick);
	mx_crypto_kick(n);
}

void mx_send_kick(struct mxnet *n)
{
	/* Called again from inside a pass (mx_crypto_kick encrypted answers,
	 * or a request finished at once): one more pass, not a recursion. */
	if (n->send_busy) {
		n->send_again = 1;
		return;
	}
	n->send_busy = 1;
	do {
		n->send_again = 0;
		send_pass(n);
	} while (n->send_again && !n->stopped);
	n->send_busy = 0;
}
