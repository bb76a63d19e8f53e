/* run.c - `faqbot run -c config.ini [-k knowledge]`: loads the config and
 * the knowledge, starts every configured network on one loop, reloads on
 * SIGHUP or an admin's !reload (a broken reload is refused and the old
 * knowledge keeps serving), and on SIGTERM/SIGINT sends QUIT everywhere
 * and exits 0 once the networks are closed, or after 3 s.
 * The protocols themselves live in ircnet.c (and matrix.c). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "config.h"
#include "ircnet.h"
#include "matrix.h"
#include "kb.h"
#include "log.h"
#include "loop.h"
#include "run.h"
#include "sdnotify.h"
#ifndef FAQBOT_NO_MATRIX
#include "intent.h"
#include "record.h"
#endif

/* The IRC-only build (Makefile: build/faqbot-irc, what `faqbot run` execs
 * for a config without [matrix.*]) compiles the Matrix networks out, so
 * libcurl, libolm and SQLite are not even loaded: 8 MiB less resident. */
#ifdef FAQBOT_NO_MATRIX
#define RUN_HAS_MATRIX 0
#define mxnet_stop(m) ((void)(m))
#define mxnet_free(m) ((void)(m))
#else
#define RUN_HAS_MATRIX 1
#endif

#define RUN_STOP_MS 3000      /* SIGTERM: longest wait for QUITs to flush */
#define RUN_POLL_MS 50        /* how often the stop checks the networks */
#define RUN_MAX_RETIRED 64    /* configs kept for networks being removed */

struct run {
	struct loop *lp;
	const char *cfg_path;
	const char *kdir;      /* -k override, or NULL */
	struct config *cfg;
	struct bot *bot;
	struct chat_sink sink;  /* bot_on_msg on bot: the transports' way up */
	struct ircnet **irc;   /* parallel to cfg->irc when not retiring */
	size_t nirc;
	struct ircnet *retiring[64]; /* removed by a reload, quitting */
	size_t nretiring;
	struct config *retired[RUN_MAX_RETIRED]; /* still used by retiring */
	size_t nretired;
	int stopping;
	int64_t stop_deadline;
	struct mxnet **mx;     /* Matrix (matrix.c): parallel to cfg->matrix */
	size_t nmx;
	int64_t wd_ms;         /* systemd watchdog interval, 0: off */
	int64_t wd_last;
	struct record *rec;    /* [bot] record_questions (record.c), or NULL */
	char *rec_path;
	long rec_timer;
};

static const char usage[] =
	"usage: faqbot run -c CONFIG [-k KNOWLEDGE_DIR]\n";

int run_report(int argc, char **argv)
{
#ifdef FAQBOT_NO_MATRIX
	(void)argc;
	(void)argv;
	fprintf(stderr, "faqbot report: this is the IRC-only build, without SQLite; run "
		"`faqbot report`, which picks the full build\n");
	return 1;
#else
	return report_main(argc, argv);
#endif
}

/* An installed build's knowledge (share/faqbot), used when neither -k nor
 * a knowledge key in the config names one; NULL in the checkout's build. */
static const char *default_kdir;

void run_set_default_knowledge(const char *dir)
{
	default_kdir = dir;
}

static const char *kb_dir_for(const struct run *r, const struct config *c)
{
	if (r->kdir)
		return r->kdir;
	if (default_kdir && !c->bot.knowledge_line)
		return default_kdir;
	return c->bot.knowledge;
}

static int all_done(const struct run *r)
{
	size_t i;
	for (i = 0; i < r->nirc; i++)
		if (r->irc[i] && !ircnet_done(r->irc[i]))
			return 0;
	for (i = 0; i < r->nretiring; i++)
		if (!ircnet_done(r->retiring[i]))
			return 0;
	return 1;
}

static void stop_check(struct loop *lp, void *arg)
{
	struct run *r = arg;
	if (all_done(r) || loop_now_ms(lp) >= r->stop_deadline) {
		if (!all_done(r))
			log_warn("stop: networks still open after %d s; exiting anyway",
				 RUN_STOP_MS / 1000);
		loop_stop(lp);
		return;
	}
	loop_timer_add(lp, RUN_POLL_MS, stop_check, r);
}

static void on_stop_signal(struct loop *lp, int signo, void *arg)
{
	struct run *r = arg;
	size_t i;

	if (r->stopping) {
		log_warn("second %s: exiting now", signo == SIGINT ? "SIGINT" : "SIGTERM");
		loop_stop(lp);
		return;
	}
	r->stopping = 1;
	sdn_stopping();
	log_info("%s: quitting every network", signo == SIGINT ? "SIGINT" : "SIGTERM");
	for (i = 0; i < r->nirc; i++)
		if (r->irc[i])
			ircnet_quit(r->irc[i], NULL);
	for (i = 0; i < r->nretiring; i++)
		ircnet_quit(r->retiring[i], NULL);
	/* Matrix stops at once: unacknowledged answers stay in the store. */
	for (i = 0; i < r->nmx; i++)
		mxnet_stop(r->mx[i]);
	r->stop_deadline = loop_now_ms(lp) + RUN_STOP_MS;
	stop_check(lp, r);
}

/* Frees retiring networks that are done, and the configs they used once
 * none is left. */
static void reap_retiring(struct run *r)
{
	size_t i, j = 0;
	for (i = 0; i < r->nretiring; i++) {
		if (ircnet_done(r->retiring[i]))
			ircnet_free(r->retiring[i]);
		else
			r->retiring[j++] = r->retiring[i];
	}
	r->nretiring = j;
	if (!r->nretiring) {
		for (i = 0; i < r->nretired; i++)
			config_free(r->retired[i]);
		r->nretired = 0;
	}
}

static void reap_timer(struct loop *lp, void *arg)
{
	struct run *r = arg;
	reap_retiring(r);
	if (r->nretiring)
		loop_timer_add(lp, 1000, reap_timer, r);
}

static const struct irc_config *find_irc(const struct config *c, const char *name)
{
	size_t i;
	for (i = 0; i < c->nirc; i++)
		if (!strcmp(c->irc[i].name, name))
			return &c->irc[i];
	return NULL;
}

#ifndef FAQBOT_NO_MATRIX
/* ---- Matrix networks (matrix.c) ---- */

/* Start-up: a Matrix network that cannot start (state file, pickle key)
 * is a configuration to fix now, so faqbot exits 1 after logging why
 * (style.md: die() at start-up only), before the loop runs. */
static void matrix_start_all(struct run *r)
{
	size_t i;
	if (!(r->mx = calloc(r->cfg->nmatrix ? r->cfg->nmatrix : 1, sizeof *r->mx))) {
		log_error("matrix: out of memory; faqbot stops");
		exit(1);
	}
	r->nmx = r->cfg->nmatrix;
	for (i = 0; i < r->nmx; i++) {
		r->mx[i] = mxnet_start(r->lp, &r->cfg->matrix[i], &r->sink, r->cfg->bot.state);
		if (r->mx[i]) {
			mxnet_set_max_answer_age(r->mx[i], r->cfg->bot.max_answer_age);
			continue;
		}
		log_error("matrix.%s: cannot start (see above); faqbot stops",
			  r->cfg->matrix[i].name);
		while (i > 0)
			mxnet_free(r->mx[--i]);
		free(r->mx);
		r->mx = NULL;
		r->nmx = 0;
		exit(1);
	}
}

static void matrix_free_cb(struct loop *lp, void *arg)
{
	(void)lp;
	mxnet_free(arg);
}

/* Reload: same-named networks take the new settings (matrix.c copies
 * them), removed ones stop now and are freed from a timer (a "!reload"
 * may come from inside the removed network), new ones start. */
static void matrix_apply(struct run *r, struct config *nc)
{
	struct mxnet **nmx = calloc(nc->nmatrix ? nc->nmatrix : 1, sizeof *nmx);
	size_t i, j;
	if (!nmx)
		return;
	for (i = 0; i < r->nmx; i++) {
		for (j = 0; j < nc->nmatrix; j++)
			if (!strcmp(nc->matrix[j].name, r->cfg->matrix[i].name))
				break;
		if (j < nc->nmatrix && r->mx[i]) {
			nmx[j] = r->mx[i];
			mxnet_set_config(nmx[j], &nc->matrix[j]);
			mxnet_set_max_answer_age(nmx[j], nc->bot.max_answer_age);
		} else if (r->mx[i]) {
			log_info("reload: network matrix.%s removed: stopping it", r->cfg->matrix[i].name);
			mxnet_stop(r->mx[i]);
			loop_timer_add(r->lp, 0, matrix_free_cb, r->mx[i]);
		}
	}
	/* A new network that cannot start is left out (logged); the others,
	 * and the rest of the reload, go on.  The next reload tries again. */
	for (j = 0; j < nc->nmatrix; j++) {
		if (nmx[j] || r->stopping)
			continue;
		if ((nmx[j] = mxnet_start(r->lp, &nc->matrix[j], &r->sink, nc->bot.state)))
			mxnet_set_max_answer_age(nmx[j], nc->bot.max_answer_age);
		else
			log_error("reload: matrix.%s cannot start (see above); the other networks "
				  "go on", nc->matrix[j].name);
	}
	free(r->mx);
	r->mx = nmx;
	r->nmx = nc->nmatrix;
}

#else
/* IRC-only build: run_main and do_reload refuse a config with Matrix
 * networks before these are reached. */
static void matrix_start_all(struct run *r)
{
	(void)r;
}

static void matrix_apply(struct run *r, struct config *nc)
{
	(void)r;
	(void)nc;
}
#endif

#ifndef FAQBOT_NO_MATRIX
/* ---- the record of questions (record.c) ---- */

static int record_hook(void *arg, const struct chat_msg *m, const char *q, size_t qlen,
		       const struct query *an, int missed)
{
	struct run *r = arg;
	const char *who = m->account && *m->account ? m->account : m->sender;
	time_t now = m->now ? m->now : time(NULL);

	if (!r->rec)
		return 0;
	return record_question(r->rec, now, m->network, m->is_private ? NULL : m->room,
			       m->event_id, who, q, qlen, intent_name(an->intent), an->confidence,
			       missed);
}

static int feedback_hook(void *arg, const struct chat_msg *m, const char *answer_event, int good)
{
	struct run *r = arg;
	const char *who = m->account && *m->account ? m->account : m->sender;
	time_t now = m->now ? m->now : time(NULL);

	if (!r->rec)
		return 0;
	if (!answer_event)
		return record_wrong(r->rec, now, m->network, who);
	return record_reaction(r->rec, m->network, answer_event, good);
}

/* Writes the queued record rows once the Matrix batch that queued them
 * has committed (record.h); again in 100 ms while another writer holds
 * the file. */
static void record_flush_cb(struct loop *lp, void *arg)
{
	struct run *r = arg;
	if (r->rec && record_flush(r->rec) > 0)
		loop_timer_add(lp, 100, record_flush_cb, r);
}

static void record_kick(void *arg)
{
	struct run *r = arg;
	loop_timer_add(r->lp, 0, record_flush_cb, r);
}

static void record_daily(struct loop *lp, void *arg)
{
	struct run *r = arg;
	int n = record_purge_old(r->rec, time(NULL));
	if (n > 0)
		log_info("record: %d question(s) older than the kept days deleted", n);
	r->rec_timer = loop_timer_add(lp, 86400 * 1000LL, record_daily, r);
}

/* Opens, re-opens (another state file) or closes the record as bc says. */
static void record_setup(struct run *r, const struct bot_config *bc)
{
	char err[1024];

	if (r->rec && (!bc->record_questions || strcmp(r->rec_path, bc->state))) {
		loop_timer_cancel(r->lp, r->rec_timer);
		record_close(r->rec);
		r->rec = NULL;
		free(r->rec_path);
		r->rec_path = NULL;
		log_info("record: questions are no longer recorded in this file");
	}
	if (bc->record_questions && !r->rec) {
		if (!(r->rec = record_open(bc->state, bc->record_days, err, sizeof err)) ||
		    !(r->rec_path = strdup(bc->state))) {
			log_error("record: %s; questions are not recorded", r->rec ? "out of memory" : err);
			record_close(r->rec);
			r->rec = NULL;
			return;
		}
		log_info("record: questions the bot misses are kept %d days in %s",
			 bc->record_days, bc->state);
		record_set_kick(r->rec, record_kick, r);
		if (r->lp)
			record_daily(r->lp, r);
	}
	if (r->rec)
		record_set_days(r->rec, bc->record_days);
	bot_set_record_hook(r->bot, r->rec ? record_hook : NULL, r->rec ? feedback_hook : NULL, r);
}
#else
static void record_setup(struct run *r, const struct bot_config *bc)
{
	(void)r;
	if (bc->record_questions)
		log_warn("record_questions = yes needs the full build (with SQLite): start "
			 "faqbot with `faqbot run`, which picks it; questions are not recorded");
}
#endif

/* Applies a freshly loaded config: networks with the same name get the
 * new settings, new ones start, removed ones quit.  Takes nc. */
static int apply_config(struct run *r, struct config *nc)
{
	struct config *old = r->cfg;
	struct ircnet **nirc;
	size_t i, removed = 0;

	for (i = 0; i < old->nirc; i++)
		if (!find_irc(nc, old->irc[i].name))
			removed++;
	if (removed && (r->nretired >= RUN_MAX_RETIRED ||
			r->nretiring + removed > sizeof r->retiring / sizeof r->retiring[0])) {
		log_error("reload: too many networks being removed at once; restart "
			  "faqbot instead");
		config_free(nc);
		return -1;
	}
	if (!(nirc = calloc(nc->nirc ? nc->nirc : 1, sizeof *nirc))) {
		config_free(nc);
		return -1;
	}
	for (i = 0; i < old->nirc; i++) {
		const struct irc_config *ic = find_irc(nc, old->irc[i].name);
		if (ic) {
			nirc[ic - nc->irc] = r->irc[i];
			if (r->irc[i])
				ircnet_set_config(r->irc[i], ic);
		} else if (r->irc[i]) {
			log_info("reload: network irc.%s removed: quitting it", old->irc[i].name);
			ircnet_quit(r->irc[i], NULL);
			r->retiring[r->nretiring++] = r->irc[i];
		}
	}
	for (i = 0; i < nc->nirc; i++)
		if (!nirc[i] && !r->stopping) {
			log_info("reload: new network irc.%s: connecting", nc->irc[i].name);
			nirc[i] = ircnet_start(r->lp, &nc->irc[i], &r->sink);
		}
	free(r->irc);
	r->irc = nirc;
	r->nirc = nc->nirc;
	matrix_apply(r, nc);
	r->cfg = nc;
	if (removed) {
		r->retired[r->nretired++] = old; /* the quitting networks use it */
		loop_timer_add(r->lp, 1000, reap_timer, r);
	} else {
		config_free(old);
	}
	return 0;
}

/* systemd's STATUS=: the IRC networks registered, those still connecting,
 * the Matrix accounts started. */
static void run_status(const struct run *r, char *buf, size_t len)
{
	size_t i, pos = 0, up = 0;
	int n;
#define ADD(...) do { n = snprintf(buf + pos, len - pos, __VA_ARGS__); \
		if (n > 0) pos += (size_t)n < len - pos ? (size_t)n : len - pos - 1; } while (0)
	buf[0] = 0;
	for (i = 0; i < r->nirc; i++)
		up += r->irc[i] && ircnet_registered(r->irc[i]);
	ADD("connected %zu/%zu IRC", up, r->nirc);
	up = 0;
	for (i = 0; i < r->nirc; i++)
		if (r->irc[i] && ircnet_registered(r->irc[i]))
			ADD("%s irc.%s", up++ ? "," : ":", r->cfg->irc[i].name);
	for (i = 0; i < r->nirc; i++)
		if (!r->irc[i] || !ircnet_registered(r->irc[i]))
			ADD(" (irc.%s connecting)", r->cfg->irc[i].name);
	ADD("; Matrix %zu account(s)", r->nmx);
	for (i = 0; i < r->nmx; i++)
		ADD("%s matrix.%s", i ? "," : ":", r->cfg->matrix[i].name);
#undef ADD
}

/* Once a second (and at the watchdog's pace): READY=1 on the first run
 * of the loop, then STATUS= when the networks change, and WATCHDOG=1,
 * sent from the loop so that a stuck loop stops petting it. */
static void notify_tick(struct loop *lp, void *arg)
{
	struct run *r = arg;
	static int ready;
	char st[512];
	int64_t now = loop_now_ms(lp), next = 1000;

	if (r->stopping)
		return;
	run_status(r, st, sizeof st);
	if (!ready) {
		ready = 1;
		sdn_ready(st);
	} else {
		sdn_status(st);
	}
	if (r->wd_ms) {
		if (now - r->wd_last >= r->wd_ms) {
			sdn_watchdog();
			r->wd_last = now;
		}
		if (r->wd_ms < next)
			next = r->wd_ms;
	}
	loop_timer_add(lp, next, notify_tick, r);
}

static int do_reload_now(void *arg, char *msg, size_t msglen);

/* systemd sees the reload (RELOADING=1, then READY=1), whatever its end. */
static int do_reload(void *arg, char *msg, size_t msglen)
{
	struct run *r = arg;
	char st[512];
	int rc;

	sdn_reloading();
	rc = do_reload_now(arg, msg, msglen);
	run_status(r, st, sizeof st);
	sdn_ready(st);
	return rc;
}

/* SIGHUP and !reload: everything is loaded first; nothing changes unless
 * both the config and the knowledge load. */
static int do_reload_now(void *arg, char *msg, size_t msglen)
{
	struct run *r = arg;
	struct config *nc;
	struct kb *kb;
	char err[1024];

	if (!(nc = config_load(r->cfg_path, err, sizeof err))) {
		log_error("reload refused, the running config and knowledge stay: %s", err);
		snprintf(msg, msglen, "%s", err);
		return -1;
	}
	if (!RUN_HAS_MATRIX && nc->nmatrix) {
		log_error("reload refused, the running config and knowledge stay: %s now has a "
			  "[matrix.%s] section and this process was started for IRC only (without "
			  "the Matrix libraries): restart faqbot to add Matrix networks",
			  r->cfg_path, nc->matrix[0].name);
		snprintf(msg, msglen, "Matrix networks need a restart of faqbot");
		config_free(nc);
		return -1;
	}
	if (!(kb = kb_load(kb_dir_for(r, nc), err, sizeof err))) {
		char why[1536];
		config_knowledge_error(nc, kb_dir_for(r, nc), err, why, sizeof why);
		log_error("reload refused, the running config and knowledge stay: %s", why);
		snprintf(msg, msglen, "%s", why);
		config_free(nc);
		return -1;
	}
	if (bot_set_config(r->bot, &nc->bot) < 0) {
		log_error("reload refused: cannot apply the [bot] settings");
		snprintf(msg, msglen, "cannot apply the [bot] settings");
		kb_free(kb);
		config_free(nc);
		return -1;
	}
	bot_set_kb(r->bot, kb);
	log_init(nc->bot.log_level);
	record_setup(r, &nc->bot);
	if (apply_config(r, nc) < 0) {
		snprintf(msg, msglen, "the networks could not be updated");
		return -1;
	}
	log_info("reloaded %s and knowledge %s", r->cfg_path, kb_dir_for(r, r->cfg));
	return 0;
}

static void on_hup(struct loop *lp, int signo, void *arg)
{
	char msg[1024];
	(void)lp;
	(void)signo;
	log_info("SIGHUP: reloading");
	do_reload(arg, msg, sizeof msg);
}

int run_main(int argc, char **argv)
{
	struct run r;
	char err[1024];
	struct kb *kb;
	size_t i;
	int opt;

	memset(&r, 0, sizeof r);
	optind = 1;
	opterr = 0;
	while ((opt = getopt(argc, argv, "c:k:h")) != -1) {
		switch (opt) {
		case 'c':
			r.cfg_path = optarg;
			break;
		case 'k':
			r.kdir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "faqbot run: unknown option or missing value\n%s", usage);
			return 2;
		}
	}
	if (!r.cfg_path || optind < argc) {
		fprintf(stderr, "faqbot run: %s\n%s", r.cfg_path ? "unexpected argument"
			: "-c CONFIG is required", usage);
		return 2;
	}
	log_init(NULL);
	if (!(r.cfg = config_load(r.cfg_path, err, sizeof err))) {
		fprintf(stderr, "faqbot: %s\n", err);
		return 1;
	}
	log_init(r.cfg->bot.log_level);
	if (!r.cfg->nirc && !r.cfg->nmatrix) {
		fprintf(stderr, "faqbot: %s: no network to join; add an [irc.NAME] or "
			"[matrix.NAME] section (see config.example.ini)\n", r.cfg_path);
		config_free(r.cfg);
		return 1;
	}
	if (!RUN_HAS_MATRIX && r.cfg->nmatrix) {
		fprintf(stderr, "faqbot: %s: [matrix.%s]: this faqbot is the IRC-only build; start "
			"it with `faqbot run`, which picks the build with Matrix\n", r.cfg_path,
			r.cfg->matrix[0].name);
		config_free(r.cfg);
		return 1;
	}
	if (!(kb = kb_load(kb_dir_for(&r, r.cfg), err, sizeof err))) {
		char why[1536];
		config_knowledge_error(r.cfg, kb_dir_for(&r, r.cfg), err, why, sizeof why);
		fprintf(stderr, "faqbot: %s\n", why);
		config_free(r.cfg);
		return 1;
	}
	if (!(r.bot = bot_new(&r.cfg->bot, kb))) {
		fprintf(stderr, "faqbot: cannot start the bot (out of memory)\n");
		kb_free(kb);
		config_free(r.cfg);
		return 1;
	}
	bot_set_reload_hook(r.bot, do_reload, &r);
	r.sink.on_msg = bot_on_msg;
	r.sink.arg = r.bot;
	if (!(r.lp = loop_new()) ||
	    loop_signal(r.lp, SIGTERM, on_stop_signal, &r) < 0 ||
	    loop_signal(r.lp, SIGINT, on_stop_signal, &r) < 0 ||
	    loop_signal(r.lp, SIGHUP, on_hup, &r) < 0 ||
	    !(r.irc = calloc(r.cfg->nirc ? r.cfg->nirc : 1, sizeof *r.irc))) {
		fprintf(stderr, "faqbot: cannot set up the event loop\n");
		bot_free(r.bot);
		config_free(r.cfg);
		loop_free(r.lp);
		return 1;
	}
	r.nirc = r.cfg->nirc;
	record_setup(&r, &r.cfg->bot);
	log_info("faqbot starting: config %s, knowledge %s, %zu IRC network(s), %zu Matrix "
		 "account(s)", r.cfg_path, kb_dir_for(&r, r.cfg), r.cfg->nirc, r.cfg->nmatrix);
	for (i = 0; i < r.cfg->nirc; i++) {
		r.irc[i] = ircnet_start(r.lp, &r.cfg->irc[i], &r.sink);
		if (!r.irc[i])
			log_error("irc.%s: cannot start (out of memory)", r.cfg->irc[i].name);
	}
	matrix_start_all(&r);
	r.wd_ms = sdn_watchdog_interval_ms();
	notify_tick(r.lp, &r);

	loop_run(r.lp);

	for (i = 0; i < r.nirc; i++)
		ircnet_free(r.irc[i]);
	for (i = 0; i < r.nretiring; i++)
		ircnet_free(r.retiring[i]);
	for (i = 0; i < r.nretired; i++)
		config_free(r.retired[i]);
	for (i = 0; i < r.nmx; i++)
		mxnet_free(r.mx[i]);
	free(r.mx);
	free(r.irc);
	bot_free(r.bot);
#ifndef FAQBOT_NO_MATRIX
	record_close(r.rec);
	free(r.rec_path);
#endif
	config_free(r.cfg);
	loop_free(r.lp);
	log_info("faqbot stopped");
	return 0;
}
