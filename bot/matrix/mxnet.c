/* mxnet.c - the Matrix client-server API for one [matrix.NAME] account:
 * start, stop, free and a reload's new settings, plus the small helpers
 * every part uses (requests, timers, errors).  The parts share mx_int.h:
 * mx_session.c (login, whoami, tokens), mx_sync.c (the /sync long-poll,
 * gaps from /messages, invites, joins, the batch's events), mx_send.c (the
 * answers, from the store, exactly once), mx_crypto.c and mx_decrypt.c
 * (end-to-end encryption, driving e2ee.c).  Exactly once: an
 * answer is stored as pending with its transaction id in the same
 * transaction that saves the batch's next_batch, and only the store feeds
 * the sender; a restart re-sends pending answers with the same txn id.
 * Not here: deciding or wording answers (bot.c), JSON details (mxjson.c),
 * HTTP (http.c), the cryptography itself (e2ee.c). */
#include "mx_int.h"
#include "clock.h"

/* ---- small helpers ---- */

uint32_t mxnet_rnd(struct mxnet *n)
{
	/* xorshift32: jitter only, no security use. */
	uint32_t x = n->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return n->rng = x ? x : 0x9e3779b9u;
}

/* ---- the I/O seam: the loop and http.c unless mxnet_start_io got
 * another (tests, the fuzz target) ---- */

static long io_http_start(void *arg, const struct http_req *rq, http_cb cb, void *cb_arg)
{
	struct mxnet *n = arg;
	return http_start(n->http, rq, cb, cb_arg);
}

static void io_http_cancel(void *arg, long id)
{
	struct mxnet *n = arg;
	if (n->http)
		http_cancel(n->http, id);
}

static long io_timer_add(void *arg, int64_t ms, loop_timer_cb cb, void *cb_arg)
{
	struct mxnet *n = arg;
	return loop_timer_add(n->lp, ms, cb, cb_arg);
}

static void io_timer_cancel(void *arg, long id)
{
	struct mxnet *n = arg;
	loop_timer_cancel(n->lp, id);
}

static int64_t io_now_ms(void *arg)
{
	struct mxnet *n = arg;
	return loop_now_ms(n->lp);
}

static int64_t io_wall_ms(void *arg)
{
	(void)arg;
	return clock_wall_ms();
}

static const struct mxnet_io loop_io = {
	io_http_start, io_http_cancel, io_timer_add, io_timer_cancel, io_now_ms, io_wall_ms,
};

int64_t mxnet_now(struct mxnet *n)
{
	return n->io->now_ms(n->io_arg);
}

int64_t mxnet_wall_ms(struct mxnet *n)
{
	return n->io->wall_ms(n->io_arg);
}

void mxnet_http_cancel(struct mxnet *n, long id)
{
	if (id > 0)
		n->io->http_cancel(n->io_arg, id);
}

/* base + "/_matrix/client/v3" + path (+ "?" query).  malloc'd. */
static char *url(const struct mxnet *n, const char *path, const char *query)
{
	size_t len = strlen(n->base) + strlen(path) + (query ? strlen(query) : 0) + 32;
	char *u = malloc(len);
	if (u)
		snprintf(u, len, "%s/_matrix/client/v3%s%s%s", n->base, path,
			 query ? "?" : "", query ? query : "");
	return u;
}

long mxnet_request(struct mxnet *n, const char *method, const char *path, const char *query,
		    const char *body, size_t max_body, long timeout_ms, int auth,
		    http_cb cb, void *arg)
{
	struct http_req rq;
	char *u = url(n, path, query);
	long id;
	if (!u)
		return -1;
	memset(&rq, 0, sizeof rq);
	rq.method = method;
	rq.url = u;
	rq.bearer = auth && n->acct.access_token[0] ? n->acct.access_token : NULL;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.max_body = max_body;
	rq.timeout_ms = timeout_ms;
	id = n->io->http_start(n->io_arg, &rq, cb, arg);
	free(u);
	return id;
}

/* ---- jobs: a request, its timer, its retries ---- */

static void job_timer_cb(struct loop *lp, void *arg)
{
	struct mx_job *job = arg;
	(void)lp;
	job->timer = 0;
	if (job->run)
		job->run(job->n);
}

void mx_job_after(struct mx_job *job, int64_t ms, void (*run)(struct mxnet *n))
{
	struct mxnet *n = job->n;
	if (job->timer > 0)
		n->io->timer_cancel(n->io_arg, job->timer);
	job->run = run;
	job->timer = n->io->timer_add(n->io_arg, ms < 0 ? 0 : ms, job_timer_cb, job);
	if (job->timer < 0)
		job->timer = 0;
}

int64_t mxnet_backoff_ms(struct mxnet *n, unsigned step)
{
	return mxjson_backoff_ms(step, (int64_t)n->cfg->reconnect_max * 1000, mxnet_rnd(n));
}

void mx_job_backoff(struct mx_job *job, void (*run)(struct mxnet *n), const char *what,
		    const char *why)
{
	struct mxnet *n = job->n;
	int64_t ms = mxnet_backoff_ms(n, job->fails++);
	log_warn("matrix.%s: %s failed (%s); retrying in %.1f s", n->name, what, why, ms / 1000.0);
	mx_job_after(job, ms, run);
}

void mx_job_retry(struct mx_job *job, const struct mx_answer *a, void (*run)(struct mxnet *n),
		  const char *what)
{
	if (!a->limited) {
		mx_job_backoff(job, run, what, a->why);
		return;
	}
	log_warn("matrix.%s: %s rate-limited; retrying in %.1f s", job->n->name, what,
		 a->retry_ms / 1000.0);
	mx_job_after(job, a->retry_ms, run);
}

int mx_job_request(struct mx_job *job, const char *method, const char *path, const char *query,
		   const char *body, size_t max_body, long timeout_ms, int auth,
		   void (*run)(struct mxnet *n), http_cb cb)
{
	job->req = mxnet_request(job->n, method, path, query, body, max_body, timeout_ms, auth, cb,
				 job->n);
	if (job->req > 0)
		return 0;
	job->req = 0;
	mx_job_backoff(job, run, path, "cannot start the request");
	return -1;
}

int mx_job_defer(struct mx_job *job, struct mx_answer *a, void (*run)(struct mxnet *n),
		 const char *what)
{
	if (a->v == MX_TOKEN_LOST) {
		mx_answer_free(a);
		mx_session_lost(job->n);
		return 1;
	}
	if (!a->limited)
		return 0;
	mx_job_retry(job, a, run, what);
	mx_answer_free(a);
	return 1;
}

void mx_job_cancel(struct mx_job *job)
{
	struct mxnet *n = job->n;
	mxnet_http_cancel(n, job->req);
	job->req = 0;
	if (job->timer > 0)
		n->io->timer_cancel(n->io_arg, job->timer);
	job->timer = 0;
}

/* The one reading of a homeserver's answer.  The server's message is
 * logged truncated (it never echoes secrets). */
void mx_answer_take(struct mxnet *n, const struct http_resp *r, struct mx_answer *a)
{
	const char *code;
	(void)n;
	memset(a, 0, sizeof *a);
	a->j = r->len ? mxjson_json_parse(r->body, r->len, a->err, sizeof a->err) : NULL;
	code = mxjson_str(a->j, "errcode");
	if (!r->status)
		snprintf(a->why, sizeof a->why, "%s", r->error ? r->error : "transfer failed");
	else
		snprintf(a->why, sizeof a->why, "HTTP %ld %s%s%.200s", r->status, code ? code : "",
			 mxjson_str(a->j, "error") ? ": " : "",
			 mxjson_str(a->j, "error") ? mxjson_str(a->j, "error") : "");
	if (r->status == 200) {
		a->v = MX_OK;
	} else if (r->status == 401 && code && !strcmp(code, "M_UNKNOWN_TOKEN")) {
		a->v = MX_TOKEN_LOST;
	} else if (r->status == 429) {
		a->v = MX_RETRY;
		a->limited = 1;
		a->retry_ms = mxjson_retry_after_ms(a->j, r->retry_after_ms);
	} else if (r->status >= 400 && r->status < 500 && r->status != 408) {
		a->v = MX_FATAL;
	} else {
		a->v = MX_RETRY;
	}
}

void mx_answer_free(struct mx_answer *a)
{
	cJSON_Delete(a->j);
	a->j = NULL;
}

/* ---- the network ---- */

static void str_wipe_free(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

static void cfg_free(struct matrix_config *c)
{
	free(c->name);
	free(c->homeserver);
	free(c->user);
	str_wipe_free(c->password);
	str_wipe_free(c->access_token);
	str_wipe_free(c->pickle_key);
	free(c->device_name);
	strlist_free(&c->policy.admins);
	strlist_free(&c->policy.auto_answer);
	strlist_free(&c->policy.ignore);
	free(c->policy.escalate_to);
	strlist_free(&c->allowed_inviters);
	memset(c, 0, sizeof *c);
}

static int dup_opt(char **d, const char *s)
{
	*d = NULL;
	return s && !(*d = strdup(s)) ? -1 : 0;
}

/* A private copy of what the network reads, so that a reload can free
 * the config it came from. */
static int cfg_copy(struct matrix_config *d, const struct matrix_config *s)
{
	memset(d, 0, sizeof *d);
	d->line = s->line;
	d->e2ee = s->e2ee;
	d->sync_timeout = s->sync_timeout > 0 ? s->sync_timeout : 30;
	d->reconnect_max = s->reconnect_max > 0 ? s->reconnect_max : 300;
	d->allow_plaintext_password = s->allow_plaintext_password;
	d->policy.user_rate = s->policy.user_rate;
	d->policy.user_burst = s->policy.user_burst;
	if (dup_opt(&d->name, s->name ? s->name : "matrix") < 0 ||
	    dup_opt(&d->homeserver, s->homeserver) < 0 || dup_opt(&d->user, s->user) < 0 ||
	    dup_opt(&d->password, s->password) < 0 || dup_opt(&d->access_token, s->access_token) < 0 ||
	    dup_opt(&d->device_name, s->device_name ? s->device_name : "faqbot") < 0 ||
	    dup_opt(&d->pickle_key, s->pickle_key) < 0 ||
	    dup_opt(&d->policy.escalate_to, s->policy.escalate_to) < 0 ||
	    strlist_copy(&d->policy.admins, &s->policy.admins) < 0 ||
	    strlist_copy(&d->policy.auto_answer, &s->policy.auto_answer) < 0 ||
	    strlist_copy(&d->policy.ignore, &s->policy.ignore) < 0 ||
	    strlist_copy(&d->allowed_inviters, &s->allowed_inviters) < 0) {
		cfg_free(d);
		return -1;
	}
	return 0;
}

/* Retention: answer records 30 days (MX_PRUNE_AGE_MS), the
 * crypto state as e2ee.h says; at start-up, then every hour. */
void mxnet_prune_state(struct mxnet *n)
{
	long pruned = store_answer_prune(n->st, mxnet_wall_ms(n) - MX_PRUNE_AGE_MS);
	if (pruned > 0)
		log_info("matrix.%s: %ld old answer record(s) pruned", n->name, pruned);
	if (n->e2) {
		struct e2ee_store_pruned p;
		if (e2ee_prune(n->e2, mxnet_wall_ms(n), &p) < 0)
			log_warn("matrix.%s: pruning the crypto state failed (state file error)", n->name);
		else if (p.inbound || p.seen || p.olm || p.shared || p.keyreq || p.users)
			log_info("matrix.%s: crypto state pruned: %ld room key(s), %ld replay record(s), "
				 "%ld Olm session(s), %ld share record(s), %ld key request(s), "
				 "%ld device(s) of %ld user(s) sharing no room", n->name,
				 p.inbound, p.seen, p.olm, p.shared, p.keyreq, p.devices, p.users);
	}
	if (!n->stopped)
		mx_job_after(&n->prune, MX_PRUNE_EVERY_MS, mxnet_prune_state);
}

/* lp: the loop of the default I/O (io NULL), else NULL. */
static struct mxnet *start(struct loop *lp, const struct matrix_config *cfg,
			   const struct chat_sink *sink, const char *state_path,
			   const struct mxnet_io *io, void *io_arg)
{
	struct mxnet *n;
	char err[512];
	size_t len;
	if (!cfg || !sink || !sink->on_msg || !cfg->homeserver || !cfg->user)
		return NULL;
	if (!(n = calloc(1, sizeof *n)))
		return NULL;
	n->lp = lp;
	n->io = io ? io : &loop_io;
	n->io_arg = io ? io_arg : n;
	n->main.n = n->send_job.n = n->join.n = n->decline.n = n->cr.n = n;
	n->cfg_job.n = n->prune.n = n;
	n->sink = *sink;
	if (cfg_copy(&n->cfgcopy, cfg) < 0) {
		free(n);
		return NULL;
	}
	n->cfg = &n->cfgcopy;
	n->name = n->cfgcopy.name;
	snprintf(n->td_net, sizeof n->td_net, "%s/to-device", n->name);
	n->max_age_s = 600;
	n->rng = (uint32_t)mxnet_wall_ms(n) ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)n;
	if (!(n->st = store_open(state_path, err, sizeof err))) {
		log_error("matrix.%s: %s", n->name, err);
		cfg_free(&n->cfgcopy);
		free(n);
		return NULL;
	}
	/* Crypto state must outlive a power cut on its own (keys pickled
	 * before they are uploaded); plain replies do not need an fsync per
	 * commit (store.h, store_set_durable). */
	if (cfg->e2ee && store_set_durable(n->st, 1) < 0)
		goto fail;
	if (!(n->base = strdup(cfg->homeserver)))
		goto fail;
	len = strlen(n->base);
	while (len > 0 && n->base[len - 1] == '/')
		n->base[--len] = 0;
	if (!io && !(n->http = http_new(lp))) {
		log_error("matrix.%s: cannot start libcurl", n->name);
		goto fail;
	}
	if (store_sync_get(n->st, n->name, n->since, sizeof n->since) == 1)
		n->have_since = 1;
	n->otk_count = -1;
	n->fb_unused = -1;
	n->uw_cur = -1;
	if (cfg->e2ee && mx_crypto_start_check(n) < 0) {
		/* A missing or wrong pickle key: nothing in the state file is
		 * written; the caller decides (run.c: faqbot stops at start-up,
		 * a reload only leaves this network out). */
		log_error("matrix.%s: not started: end-to-end encryption cannot open its state "
			  "(see above)", n->name);
		goto fail;
	}
	mxnet_prune_state(n);
	{
		long pending = store_pending_count(n->st, n->name);
		log_info("matrix.%s: starting on %s (%s, %ld answer(s) pending)", n->name, n->base,
			 n->have_since ? "resuming the stored sync" : "first start: the backlog is skipped",
			 pending < 0 ? 0 : pending);
	}
	if (!cfg->allowed_inviters.n)
		log_info("matrix.%s: allowed_inviters is empty: invites will be declined", n->name);
	mx_session_start(n);
	return n;
fail:
	mxnet_free(n);
	return NULL;
}

struct mxnet *mxnet_start(struct loop *lp, const struct matrix_config *cfg,
			  const struct chat_sink *sink, const char *state_path)
{
	return lp ? start(lp, cfg, sink, state_path, NULL, NULL) : NULL;
}

struct mxnet *mxnet_start_io(const struct matrix_config *cfg, const struct chat_sink *sink,
			     const char *state_path, const struct mxnet_io *io, void *io_arg)
{
	if (!io || !io->http_start || !io->http_cancel || !io->timer_add || !io->timer_cancel ||
	    !io->now_ms || !io->wall_ms)
		return NULL;
	return start(NULL, cfg, sink, state_path, io, io_arg);
}

void mxnet_set_max_answer_age(struct mxnet *n, int seconds)
{
	if (n && seconds >= 0)
		n->max_age_s = seconds;
}

void mxnet_stop(struct mxnet *n)
{
	size_t i;
	if (!n || n->stopped)
		return;
	n->stopped = 1;
	mx_job_cancel(&n->main);
	mx_job_cancel(&n->send_job);
	mx_job_cancel(&n->join);
	mx_job_cancel(&n->decline);
	mx_job_cancel(&n->cfg_job);
	mx_job_cancel(&n->prune);
	for (i = 0; i < n->nq; i++) {
		mxnet_http_cancel(n, n->q[i].req);
		n->q[i].req = 0;
	}
	n->send_inflight = 0;
	mx_crypto_cancel(n);
	log_info("matrix.%s: stopped (%zu answer(s) waiting in the store)", n->name, n->nq);
}

void mxnet_free(struct mxnet *n)
{
	size_t i;
	if (!n)
		return;
	mxnet_stop(n);
	http_free(n->http);
	mx_sync_batch_free(n);
	for (i = 0; i < n->nq; i++)
		free(n->q[i].p.content);
	for (i = 0; i < n->ndeclines; i++)
		free(n->declines[i]);
	for (i = 0; i < MX_MEMBER_CACHE; i++)
		cJSON_Delete(n->mem[i].users);
	mx_decrypt_tdq_free(n);
	e2ee_free(n->e2);
	store_free(n->st);
	free(n->base);
	memset(&n->acct, 0, sizeof n->acct);
	cfg_free(&n->cfgcopy);
	if (n->has_newcfg)
		cfg_free(&n->newcfg);
	free(n);
}

/* Swaps the new settings in from a timer, never from inside bot_handle:
 * a "!reload" typed in a room runs while this network still reads its
 * policy. */
static void apply_config(struct mxnet *n)
{
	struct matrix_config *c = &n->newcfg;
	if (!n->has_newcfg)
		return;
	strlist_free(&n->cfgcopy.policy.admins);
	strlist_free(&n->cfgcopy.policy.auto_answer);
	strlist_free(&n->cfgcopy.policy.ignore);
	free(n->cfgcopy.policy.escalate_to);
	strlist_free(&n->cfgcopy.allowed_inviters);
	n->cfgcopy.policy = c->policy;
	n->cfgcopy.allowed_inviters = c->allowed_inviters;
	n->cfgcopy.sync_timeout = c->sync_timeout;
	n->cfgcopy.reconnect_max = c->reconnect_max;
	memset(&c->policy, 0, sizeof c->policy);
	memset(&c->allowed_inviters, 0, sizeof c->allowed_inviters);
	cfg_free(c);
	n->has_newcfg = 0;
	log_info("matrix.%s: new settings applied", n->name);
}

int mxnet_set_config(struct mxnet *n, const struct matrix_config *cfg)
{
	if (!n || !cfg)
		return -1;
	if (strcmp(cfg->homeserver, n->cfgcopy.homeserver) || strcmp(cfg->user, n->cfgcopy.user))
		log_warn("matrix.%s: homeserver or user changed: restart faqbot to apply it", n->name);
	if (n->has_newcfg)
		cfg_free(&n->newcfg);
	n->has_newcfg = 0;
	if (cfg_copy(&n->newcfg, cfg) < 0)
		return -1;
	n->has_newcfg = 1;
	mx_job_after(&n->cfg_job, 0, apply_config);
	return 0;
}

/* ---- fuzzing only (tests/fuzz/fuzz_mxhandle.c) ----
 * Not in faqbot: tests/fuzz/run.sh alone builds bot/ with -DFAQBOT_FUZZ.
 * The target drives a real network through mxnet_start and the real
 * response callbacks, over fake HTTP and loop layers; after every
 * response it asks here what the network holds (requests, timers) and
 * whether its own books agree, so that a lost request or timer (a network
 * that silently stops syncing, joining or sending) is a finding too. */
#ifdef FAQBOT_FUZZ
static void fuzz_id(long id, long *v, size_t *k, size_t max)
{
	if (id > 0 && *k < max)
		v[(*k)++] = id;
}

int mxnet_fuzz_check(const struct mxnet *n, struct mxnet_fuzz *f, char *why, size_t len)
{
	const struct mx_job *jobs[] = { &n->main, &n->join, &n->decline, &n->cr, &n->send_job,
					&n->cfg_job, &n->prune };
	size_t i, inflight = 0;
	memset(f, 0, sizeof *f);
	for (i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
		fuzz_id(jobs[i]->req, f->reqs, &f->nreqs, MXNET_FUZZ_MAX_IDS);
		fuzz_id(jobs[i]->timer, f->timers, &f->ntimers, 8);
	}
	for (i = 0; i < n->nq; i++) {
		fuzz_id(n->q[i].req, f->reqs, &f->nreqs, MXNET_FUZZ_MAX_IDS);
		inflight += n->q[i].req > 0;
	}
	if (n->nq > MX_SENDQ_MAX || n->ngaps > MX_MAX_GAPS || n->cur_gap > n->ngaps ||
	    n->ndeclines > MX_MAX_DECLINES || n->nkeyed > MX_KEYED_ROOMS)
		snprintf(why, len, "a table is past its cap");
	else if (inflight != n->send_inflight)
		snprintf(why, len, "send_inflight %u but %zu sends in flight", n->send_inflight, inflight);
	else if ((n->cr.req > 0) != (n->cr_op != CR_NONE))
		snprintf(why, len, "crypto request %ld with op %d", n->cr.req, (int)n->cr_op);
	else if (n->share_body && n->cr_op != CR_SHARE)
		snprintf(why, len, "a room-key share body kept with no share in flight");
	else if (n->td_body && n->cr_op != CR_TODEVICE)
		snprintf(why, len, "a to-device body kept with no send in flight");
	else if (n->ntdq > MX_TDQ_MAX)
		snprintf(why, len, "the to-device queue is past its cap");
	else if (!n->stopped && n->acct.access_token[0] && n->main.req <= 0 && n->main.timer <= 0)
		snprintf(why, len, "nothing in flight or armed for /sync: the network is stuck");
	else if (!n->stopped && n->batch && n->main.req <= 0 && n->main.timer <= 0)
		snprintf(why, len, "a batch held with no /messages or retry pending");
	else
		return 0;
	return -1;
}
#endif
