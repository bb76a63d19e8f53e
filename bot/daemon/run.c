/* run.c - `faqbot run -c config.ini [-k knowledge]`: loads the config and
 * the knowledge, starts every configured network on one loop, reloads on
 * SIGHUP or an admin's !reload (a broken reload is refused and the old
 * knowledge keeps serving), and on SIGTERM/SIGINT sends QUIT everywhere
 * and exits 0 once the networks are closed, or after 3 s.
 * Every network, IRC or Matrix, is started, reconfigured, stopped and
 * freed through its transport's operations (transport.h) by one code
 * path; the protocols themselves live in irc/ and matrix/. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "config.h"
#include "kb.h"
#include "log.h"
#include "loop.h"
#include "run.h"
#include "sdnotify.h"
#include "transport.h"
#ifndef FAQBOT_NO_MATRIX
#include "intent.h"
#include "record.h"
#endif

/* The IRC-only build (Makefile: build/faqbot-irc, what `faqbot run` execs
 * for a config without [matrix.*]) compiles the Matrix networks out, so
 * libcurl, libolm and SQLite are not even loaded: 8 MiB less resident. */
#ifdef FAQBOT_NO_MATRIX
#define RUN_HAS_MATRIX 0
#else
#define RUN_HAS_MATRIX 1
#endif

#define RUN_STOP_MS 3000      /* SIGTERM: longest wait for QUITs to flush */
#define RUN_POLL_MS 50        /* how often the stop checks the networks */
#define RUN_REAP_MS 1000      /* how often stopping networks are looked at */

/* One network: [KIND.NAME] of the config, and its transport.  h is NULL
 * when it could not start on a reload (it is tried again at the next). */
struct run_net {
	const struct transport_ops *ops;
	void *h;
	char *name;            /* NAME, ours */
};

struct run {
	struct loop *lp;
	const char *cfg_path;
	const char *kdir;      /* -k override, or NULL */
	struct config *cfg;
	struct bot *bot;
	struct chat_sink sink;  /* bot_on_msg on bot: the transports' way up */
	struct run_net *nets;  /* the config's networks, IRC first (run_wanted) */
	size_t nnets;
	struct run_net *retiring; /* removed by a reload, stopping */
	size_t nretiring;
	int reaping;           /* the reap timer is armed */
	int stopping;
	int64_t stop_deadline;
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

/* ---- the networks, through their transport's operations ---- */

/* The one place that knows which sections are which transport's. */
struct run_want {
	const struct transport_ops *ops;
	const void *section;
	const char *name;
};

/* The networks config c asks for, IRC first, in the file's order; NULL
 * when out of memory. */
static struct run_want *run_wanted(const struct config *c, size_t *n)
{
	struct run_want *w = calloc(c->nirc + c->nmatrix + 1, sizeof *w);
	size_t i, k = 0;

	if (!w)
		return NULL;
	for (i = 0; i < c->nirc; i++)
		w[k++] = (struct run_want){ &ircnet_ops, &c->irc[i], c->irc[i].name };
#ifndef FAQBOT_NO_MATRIX
	for (i = 0; i < c->nmatrix; i++)
		w[k++] = (struct run_want){ &mxnet_ops, &c->matrix[i], c->matrix[i].name };
#endif
	*n = k;
	return w;
}

static void run_net_free(struct run_net *e)
{
	if (e->h)
		e->ops->free(e->h);
	free(e->name);
	e->h = NULL;
	e->name = NULL;
}

static int all_done(const struct run *r)
{
	size_t i;
	for (i = 0; i < r->nnets; i++)
		if (r->nets[i].h && !r->nets[i].ops->stopped(r->nets[i].h))
			return 0;
	for (i = 0; i < r->nretiring; i++)
		if (!r->retiring[i].ops->stopped(r->retiring[i].h))
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
	sdnotify_stopping();
	log_info("%s: quitting every network", signo == SIGINT ? "SIGINT" : "SIGTERM");
	/* IRC sends QUIT and waits for it to be written; Matrix stops at
	 * once (unacknowledged answers stay in the store). */
	for (i = 0; i < r->nnets; i++)
		if (r->nets[i].h)
			r->nets[i].ops->quit(r->nets[i].h, NULL);
	for (i = 0; i < r->nretiring; i++)
		r->retiring[i].ops->quit(r->retiring[i].h, NULL);
	r->stop_deadline = loop_now_ms(lp) + RUN_STOP_MS;
	stop_check(lp, r);
}

/* Frees the networks a reload removed once they are stopped: from a
 * timer, never inside a handler (a "!reload" may come from the removed
 * network itself). */
static void reap_timer(struct loop *lp, void *arg)
{
	struct run *r = arg;
	size_t i, j = 0;

	for (i = 0; i < r->nretiring; i++) {
		if (r->retiring[i].ops->stopped(r->retiring[i].h))
			run_net_free(&r->retiring[i]);
		else
			r->retiring[j++] = r->retiring[i];
	}
	r->nretiring = j;
	r->reaping = r->nretiring > 0;
	if (r->reaping)
		loop_timer_add(lp, RUN_REAP_MS, reap_timer, r);
}

/* Start-up: a network that cannot start (a Matrix state file, a pickle
 * key; out of memory) is a configuration to fix now, so faqbot stops
 * after logging why (style.md: die() at start-up only).  0 / -1. */
static int start_all(struct run *r)
{
	struct run_want *w;
	size_t i, n;

	if (!(w = run_wanted(r->cfg, &n)) ||
	    !(r->nets = calloc(n ? n : 1, sizeof *r->nets))) {
		log_error("out of memory; faqbot stops");
		free(w);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct run_net *e = &r->nets[i];
		e->ops = w[i].ops;
		if ((e->name = strdup(w[i].name)) &&
		    (e->h = e->ops->start(r->lp, w[i].section, &r->cfg->bot, &r->sink))) {
			r->nnets++;
			continue;
		}
		log_error("%s.%s: cannot start (see above); faqbot stops", e->ops->kind, w[i].name);
		free(e->name);
		free(w);
		return -1;
	}
	free(w);
	return 0;
}

#ifndef FAQBOT_NO_MATRIX
/* ---- the record of questions (record.c) ---- */

static int record_hook(void *arg, const struct chat_msg *m, const char *text, size_t text_len,
		       const struct query *an, int missed)
{
	struct run *r = arg;
	const char *who = m->account && *m->account ? m->account : m->sender;
	time_t now = m->now ? m->now : time(NULL);

	if (!r->rec)
		return 0;
	return record_question(r->rec, now, m->network, m->is_private ? NULL : m->room,
			       m->event_id, who, text, text_len, intent_name(an->intent), an->confidence,
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

/* Applies a freshly loaded config: networks with the same kind and name
 * get the new settings (each transport copies them), removed ones stop
 * and are freed once stopped, new ones start.  Takes nc. */
static int apply_config(struct run *r, struct config *nc)
{
	struct run_net *nn = NULL, *ret;
	struct run_want *w;
	size_t i, j, n;

	if (!(w = run_wanted(nc, &n)) || !(nn = calloc(n ? n : 1, sizeof *nn)) ||
	    !(ret = realloc(r->retiring, (r->nretiring + r->nnets + 1) * sizeof *ret))) {
		free(w);
		free(nn);
		config_free(nc);
		return -1;
	}
	r->retiring = ret;
	for (i = 0; i < r->nnets; i++) {
		struct run_net *e = &r->nets[i];
		for (j = 0; j < n; j++)
			if (!nn[j].ops && w[j].ops == e->ops && !strcmp(w[j].name, e->name))
				break;
		if (j < n) {
			if (e->h && e->ops->apply(e->h, w[j].section, &nc->bot) < 0)
				log_error("reload: %s.%s keeps its old settings (out of memory)",
					  e->ops->kind, e->name);
			nn[j] = *e;
		} else if (e->h) {
			log_info("reload: network %s.%s removed: stopping it", e->ops->kind, e->name);
			e->ops->quit(e->h, NULL);
			r->retiring[r->nretiring++] = *e;
		} else {
			free(e->name);
		}
	}
	/* A new network that cannot start is left out (logged); the others,
	 * and the rest of the reload, go on.  The next reload tries again. */
	for (j = 0; j < n; j++) {
		if (nn[j].h)
			continue;
		if (!nn[j].ops) {
			nn[j].ops = w[j].ops;
			nn[j].name = strdup(w[j].name);
		}
		if (r->stopping || !nn[j].name)
			continue;
		log_info("reload: new network %s.%s: starting", w[j].ops->kind, w[j].name);
		if (!(nn[j].h = w[j].ops->start(r->lp, w[j].section, &nc->bot, &r->sink)))
			log_error("reload: %s.%s cannot start (see above); the other networks go on",
				  w[j].ops->kind, w[j].name);
	}
	free(w);
	free(r->nets);
	r->nets = nn;
	r->nnets = n;
	/* Every transport copied its settings: the old config can go now. */
	config_free(r->cfg);
	r->cfg = nc;
	if (r->nretiring && !r->reaping) {
		r->reaping = 1;
		loop_timer_add(r->lp, 0, reap_timer, r);
	}
	return 0;
}

/* systemd's STATUS=: the IRC networks registered, those still connecting,
 * the Matrix accounts started. */
static void run_status(const struct run *r, char *buf, size_t len)
{
	size_t i, pos = 0, up = 0, nirc = 0, nmx = 0;
	int n;
#define ADD(...) do { n = snprintf(buf + pos, len - pos, __VA_ARGS__); \
		if (n > 0) pos += (size_t)n < len - pos ? (size_t)n : len - pos - 1; } while (0)
#define IS_IRC(e) ((e)->ops == &ircnet_ops)
#define READY(e) ((e)->h && (e)->ops->ready((e)->h))
	buf[0] = 0;
	for (i = 0; i < r->nnets; i++) {
		nirc += IS_IRC(&r->nets[i]);
		up += IS_IRC(&r->nets[i]) && READY(&r->nets[i]);
	}
	ADD("connected %zu/%zu IRC", up, nirc);
	up = 0;
	for (i = 0; i < r->nnets; i++)
		if (IS_IRC(&r->nets[i]) && READY(&r->nets[i]))
			ADD("%s irc.%s", up++ ? "," : ":", r->nets[i].name);
	for (i = 0; i < r->nnets; i++)
		if (IS_IRC(&r->nets[i]) && !READY(&r->nets[i]))
			ADD(" (irc.%s connecting)", r->nets[i].name);
	ADD("; Matrix %zu account(s)", r->nnets - nirc);
	for (i = 0; i < r->nnets; i++)
		if (!IS_IRC(&r->nets[i]))
			ADD("%s matrix.%s", nmx++ ? "," : ":", r->nets[i].name);
#undef READY
#undef IS_IRC
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
		sdnotify_ready(st);
	} else {
		sdnotify_status(st);
	}
	if (r->wd_ms) {
		if (now - r->wd_last >= r->wd_ms) {
			sdnotify_watchdog();
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

	sdnotify_reloading();
	rc = do_reload_now(arg, msg, msglen);
	run_status(r, st, sizeof st);
	sdnotify_ready(st);
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
	int opt, rc = 1;

	memset(&r, 0, sizeof r);
	optind = 1;
	opterr = 0;
	while ((opt = getopt(argc, argv, "c:k:h")) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'c':
			r.cfg_path = optarg;
			break;
		case 'k':
			r.kdir = optarg;
			break;
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
	    loop_signal(r.lp, SIGHUP, on_hup, &r) < 0) {
		fprintf(stderr, "faqbot: cannot set up the event loop\n");
		bot_free(r.bot);
		config_free(r.cfg);
		loop_free(r.lp);
		return 1;
	}
	record_setup(&r, &r.cfg->bot);
	log_info("faqbot starting: config %s, knowledge %s, %zu IRC network(s), %zu Matrix "
		 "account(s)", r.cfg_path, kb_dir_for(&r, r.cfg), r.cfg->nirc, r.cfg->nmatrix);
	if (start_all(&r) == 0) {
		r.wd_ms = sdnotify_watchdog_interval_ms();
		notify_tick(r.lp, &r);
		loop_run(r.lp);
		rc = 0;
	}

	for (i = 0; i < r.nnets; i++)
		run_net_free(&r.nets[i]);
	for (i = 0; i < r.nretiring; i++)
		run_net_free(&r.retiring[i]);
	free(r.nets);
	free(r.retiring);
	bot_free(r.bot);
#ifndef FAQBOT_NO_MATRIX
	record_close(r.rec);
	free(r.rec_path);
#endif
	config_free(r.cfg);
	loop_free(r.lp);
	if (rc == 0)
		log_info("faqbot stopped");
	return rc;
}
