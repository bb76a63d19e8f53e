/* main.c - the `faqbot` command line: ask, console, check, run.
 * Parses options, finds the knowledge directory, fixes the time zone
 * (Europe/Paris, domain.md) and today's date, then hands over to the
 * engine (ask.c) or to the networks (run.c).  `ask` and `console` never
 * initialise libcurl or OpenSSL, so one `faqbot ask` stays cheap.  Built
 * with -DFAQBOT_NET_EXEC='"build/faqbot-net"', it does not even link them
 * (loading libcurl, OpenSSL and libolm costs more than answering): `run`
 * then executes a networked build of this same file instead: the one
 * without Matrix (FAQBOT_IRC_EXEC, no libcurl, libolm or SQLite loaded)
 * when the config has no [matrix.*] section, else FAQBOT_NET_EXEC. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ask.h"
#include "clock.h"
#include "config.h"
#include "conv.h"
#include "datex.h"
#include "intent.h"
#include "kb.h"
#include "norm.h"
#include "run.h"
#include "utf8.h"

#ifndef FAQBOT_VERSION
#define FAQBOT_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2

#ifdef FAQBOT_KNOWLEDGE_DIR
#define INSTALLED 1
#else
#define INSTALLED 0
#endif

/* Europe/Paris since 1996, for machines without tzdata. */
#define PARIS_POSIX_TZ "CET-1CEST,M3.5.0,M10.5.0/3"

static const char usage_text[] =
	"Usage: faqbot [-k DIR] COMMAND [OPTIONS]\n"
	"\n"
	"Answers French questions about when a training session becomes visible\n"
	"on the regional site, RCO, Aude Formation and Kairos.\n"
	"\n"
	"Commands:\n"
	"  ask [--now DATE] [--json] QUESTION...\n"
	"        answer one question (its words are joined by spaces) and exit;\n"
	"        --json prints the machine-readable object of domain.md\n"
	"  console [--now DATE] [--json] [--script]\n"
	"        questions and answers in the terminal (`make run`); when standard\n"
	"        input is not a terminal, reads one question per line and prints\n"
	"        each answer followed by an empty line.  The console is one\n"
	"        conversation: a follow-up (\"et pour RCO ?\", \"validée le 12\")\n"
	"        completes the last question; an empty line forgets it, and so do\n"
	"        10 minutes without a question.  --json prints, for each non-empty\n"
	"        line, one line holding the ask --json object of the completed\n"
	"        question plus \"followup\": true|false.  --script: a line\n"
	"        \"#now YYYY-MM-DDTHH:MM\" sets the clock (date and time) and\n"
	"        prints nothing, so a script can let a conversation time out\n"
	"  check [-c CONFIG]\n"
	"        validate the knowledge (and the config file when given); exit 1\n"
	"        with file:line on the first error\n"
	"  run -c CONFIG\n"
	"        connect to the IRC and Matrix networks of CONFIG and answer there\n"
	"  train [--cv N] [--loso] [--eval FILE.jsonl]\n"
	"        learn the intent model from the knowledge's examples/NAME.jsonl and\n"
	"        write model.bin; --cv/--loso/--eval measure instead of writing\n"
	"  report -c CONFIG [--since DAYS] [--format text|csv|html|jsonl] [--purge]\n"
	"        what the bot recorded ([bot] record_questions = yes): questions\n"
	"        per day and intent, missed ones grouped, answers marked wrong;\n"
	"        --since 30d (default), jsonl: knowledge examples; --purge: delete all\n"
	"\n"
	"Options:\n"
	"  -k, --knowledge DIR  knowledge directory (default: ./knowledge when it\n"
	"                       exists, else the knowledge/ beside the executable)\n"
	"  --now DATE           today's date, YYYY-MM-DD or YYYY-MM-DDTHH:MM\n"
	"                       (default: the local date in Europe/Paris, or in\n"
	"                       the time zone named by FAQBOT_TZ)\n"
	"  --json               (ask) print JSON instead of the French text\n"
	"  -h, --help           this help\n"
	"  -V, --version        the version\n"
	"\n"
	"Limits: a question is read up to its first 4096 bytes (NORM_MAX_INPUT);\n"
	"a longer question or console line is read whole, answered on those bytes,\n"
	"and a note says so on standard error.  Invalid UTF-8 is replaced.\n"
	"\n"
	"Exit status: 0 success, 1 error (knowledge, config), 2 usage error.\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "faqbot: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry `faqbot --help`.\n");
}

/* After getopt returned '?': names the option it did not know. */
/* getopt's ':' (a value missing) or '?' (an unknown option): the error,
 * and the exit status. */
static int bad_option(int c, char **argv)
{
	char opt[3] = { '-', (char)optopt, '\0' };
	if (c == ':')
		usage_error("option `%s` needs a value", argv[optind - 1]);
	else
		usage_error("unknown option `%s`", optopt > 0 && optopt < 128 ? opt : argv[optind - 1]);
	return EXIT_USAGE;
}

/* The time zone of the dates (domain.md, "Time zone"). */
static void set_timezone(void)
{
	const char *tz = getenv("FAQBOT_TZ");
	if (!tz || !*tz) {
		struct stat st;
		tz = stat("/usr/share/zoneinfo/Europe/Paris", &st) == 0 ? "Europe/Paris"
									 : PARIS_POSIX_TZ;
	}
	clock_set_tz(tz);
}

static int is_dir_with_kb(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	if (snprintf(p, sizeof p, "%s/stages.ini", dir) >= (int)sizeof p)
		return 0;
	return stat(p, &st) == 0;
}

/* An installed build (make install): FAQBOT_KNOWLEDGE_DIR, fixed at build
 * time.  Otherwise ./knowledge, else <directory of the executable>/knowledge,
 * so that ./faqbot works from anywhere in the checkout.  Writes into buf. */
static const char *default_knowledge(char *buf, size_t n)
{
#ifdef FAQBOT_KNOWLEDGE_DIR
	(void)buf;
	(void)n;
	return FAQBOT_KNOWLEDGE_DIR;
#endif
	if (is_dir_with_kb("knowledge"))
		return "knowledge";
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(buf, n, "%s/knowledge", exe) < (int)n && is_dir_with_kb(buf))
				return buf;
		}
	}
	return "knowledge"; /* the loader then names what is missing */
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static struct kb *load_kb(const char *dir)
{
	char err[1024];
	struct kb *kb = kb_load(dir, err, sizeof err);
	if (!kb)
		fprintf(stderr, "faqbot: %s\n", err);
	return kb;
}

/* Answers one question on stdout; notes about the input on stderr. */
static int answer_one(const struct kb *kb, const char *text, size_t len, size_t full_len,
		      struct date today, int json, struct reply *r)
{
	if (full_len > len)
		fprintf(stderr, "faqbot: note: the question is %zu bytes long; only its first "
			"%zu bytes were read (limit %d)\n", full_len, len, NORM_MAX_INPUT);
	if (!utf8_valid(text, len))
		fprintf(stderr, "faqbot: note: invalid UTF-8 in the question was replaced\n");
	ask_question(kb, text, len, today, r);
	if (json) {
		char *js = ask_json(r);
		if (!js) {
			fprintf(stderr, "faqbot: out of memory\n");
			return 1;
		}
		printf("%s\n", js);
		free(js);
	} else {
		printf("%s\n", r->text);
	}
	return 0;
}

enum { OPT_NOW = 256, OPT_JSON, OPT_SCRIPT };

/* Common parsing of ask/console options; 0, or an exit status. */
struct cmd_opts {
	const char *kdir;
	const char *config;
	int has_now;
	struct date now;
	int now_min; /* --now's time of day, minutes (0 when not given) */
	int json;
	int script;  /* console: "#now" lines set the clock */
};

/* "HH:MM" after "YYYY-MM-DDT" (datex_parse_now checked it): minutes. */
static int now_minutes(const char *s)
{
	int h = 0, m = 0;
	if (strlen(s) > 11 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
	    sscanf(s + 11, "%2d:%2d", &h, &m) == 2)
		return h * 60 + m;
	return 0;
}

/* What a command's options may hold besides -k and -h. */
enum { CMD_JSON = 1, CMD_SCRIPT = 2, CMD_NOW = 4 };

static int parse_cmd(int argc, char **argv, const char *shortopts, unsigned allow,
		     struct cmd_opts *o)
{
	static const struct option longopts[] = {
		{ "now", required_argument, NULL, OPT_NOW },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "script", no_argument, NULL, OPT_SCRIPT },
		{ "knowledge", required_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, li = -1;
	optind = 0; /* glibc: restart the scan on this argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, &li)) != -1) {
		switch (c) {
		case 'k':
			o->kdir = optarg;
			break;
		case 'c':
			if (!strchr(shortopts, 'c'))
				goto bad;
			o->config = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case OPT_NOW:
			if (!(allow & CMD_NOW))
				goto bad;
			if (datex_parse_now(optarg, &o->now) < 0) {
				usage_error("malformed --now `%s`; write YYYY-MM-DD or "
					    "YYYY-MM-DDTHH:MM, e.g. --now 2026-11-26", optarg);
				return EXIT_USAGE;
			}
			o->has_now = 1;
			o->now_min = now_minutes(optarg);
			break;
		case OPT_JSON:
			if (!(allow & CMD_JSON))
				goto bad;
			o->json = 1;
			break;
		case OPT_SCRIPT:
			if (!(allow & CMD_SCRIPT))
				goto bad;
			o->script = 1;
			break;
		default:
			return bad_option(c, argv);
		}
		li = -1;
	}
	return 0;
bad:
	if (li < 0)
		return bad_option('?', argv);
	fprintf(stderr, "faqbot: option `--%s` does not apply to `%s`\nTry `faqbot --help`.\n",
		longopts[li].name, argv[0]);
	return EXIT_USAGE;
}

static int cmd_ask(const struct cmd_opts *opts, int argc, char **argv)
{
	struct cmd_opts o = *opts;
	int rc = 0;
	/* join the words; the question may come as one argument or many */
	size_t total = 0;
	for (int i = optind; i < argc; i++)
		total += strlen(argv[i]) + 1;
	char *question = malloc(total + 1);
	if (!question) {
		fprintf(stderr, "faqbot: out of memory\n");
		return 1;
	}
	size_t len = 0;
	for (int i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (len)
			question[len++] = ' ';
		memcpy(question + len, argv[i], n);
		len += n;
	}
	question[len] = '\0';
	if (blank(question, len)) {
		free(question);
		usage_error("%s", "empty question; write it after `ask`, e.g. "
			    "faqbot ask \"quand sera visible ma session ?\"");
		return EXIT_USAGE;
	}
	char buf[PATH_MAX];
	struct kb *kb = load_kb(o.kdir ? o.kdir : default_knowledge(buf, sizeof buf));
	if (!kb) {
		free(question);
		return 1;
	}
	static struct reply r; /* 4 KiB of text: not on the stack */
	rc = answer_one(kb, question, utf8_cut(question, len, NORM_MAX_INPUT), len,
			o.has_now ? o.now : clock_today(0), o.json, &r);
	kb_free(kb);
	free(question);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "faqbot: cannot write the answer: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}

/* Reads one line of any length: keeps its first cap bytes in buf and
 * counts the rest.  Returns 1 with len and full set, or 0 at end of input. */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len, size_t *full)
{
	size_t n = 0, total = 0;
	int c;
	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (n < cap)
			buf[n++] = (char)c;
		total++;
	}
	if (c == EOF && total == 0)
		return 0;
	if (n && buf[n - 1] == '\r' && total == n) {
		n--;
		total--;
	}
	*len = utf8_cut(buf, n, cap);
	*full = total;
	return 1;
}

/* The console's clock in ms: from --now and "#now" lines when given (a
 * script's time), else the monotonic clock. */
static int64_t console_ms(const struct cmd_opts *o)
{
	if (o->has_now)
		return ((int64_t)date_to_days(o->now) * 1440 + o->now_min) * 60000;
	return clock_mono_ms();
}

/* "#now YYYY-MM-DD[THH:MM]" (console --script): 1 when line is one (the
 * clock is then set), 0 otherwise, -1 when malformed. */
static int script_now(char *line, size_t len, struct cmd_opts *o)
{
	if (len < 5 || memcmp(line, "#now ", 5))
		return 0;
	line[len] = '\0';
	const char *v = line + 5;
	while (*v == ' ')
		v++;
	if (datex_parse_now(v, &o->now) < 0)
		return -1;
	o->has_now = 1;
	o->now_min = now_minutes(v);
	return 1;
}

/* Prints the ask --json object with "followup" added. */
static int print_json_turn(const struct reply *r, int followup)
{
	char *js = ask_json(r);
	size_t n;
	if (!js || !(n = strlen(js)) || js[n - 1] != '}') {
		free(js);
		fprintf(stderr, "faqbot: out of memory\n");
		return 1;
	}
	printf("%.*s,\"followup\":%s}\n", (int)(n - 1), js, followup ? "true" : "false");
	free(js);
	return 0;
}

static int cmd_console(const struct cmd_opts *opts, int argc, char **argv)
{
	struct cmd_opts o = *opts;
	int rc = 0;
	char buf[PATH_MAX];
	struct kb *kb = load_kb(o.kdir ? o.kdir : default_knowledge(buf, sizeof buf));
	if (!kb)
		return 1;
	/* one conversation: the console's single asker */
	struct conv_table *conv = conv_new(4, (int64_t)CONV_TIMEOUT_DEFAULT_S * 1000);
	const struct conv_key ck = { "console", NULL, NULL, "console" };
	if (!conv) {
		kb_free(kb);
		fprintf(stderr, "faqbot: out of memory\n");
		return 1;
	}
	int tty = isatty(STDIN_FILENO);
	if (tty)
		printf("Bonjour ! Je réponds aux questions sur l'affichage des sessions de "
		       "formation (site régional, RCO, Aude Formation, Kairos).\n"
		       "Posez votre question, puis Entrée ; une ligne vide pour changer de "
		       "sujet, Ctrl-D pour quitter.\n\n");
	static char line[NORM_MAX_INPUT + 1];
	static struct reply r;
	size_t len, full;
	unsigned long lineno = 0;
	rc = 0;
	for (;;) {
		if (tty) {
			fputs("> ", stdout);
			fflush(stdout);
		}
		if (!read_line(stdin, line, NORM_MAX_INPUT, &len, &full))
			break;
		lineno++;
		if (blank(line, len) && full == len) {
			conv_forget(conv, &ck); /* an empty line: a new subject */
			continue;
		}
		if (o.script) {
			int sn = script_now(line, len, &o);
			if (sn < 0) {
				fprintf(stderr, "faqbot: stdin:%lu: malformed `#now` line; write "
					"#now YYYY-MM-DDTHH:MM\n", lineno);
				rc = EXIT_USAGE;
				break;
			}
			if (sn > 0)
				continue;
		}
		struct date today = o.has_now ? o.now : clock_today(0);
		int followup = 0;
		if (full > len)
			fprintf(stderr, "faqbot: note: the question is %zu bytes long; only its "
				"first %zu bytes were read (limit %d)\n", full, len, NORM_MAX_INPUT);
		if (!utf8_valid(line, len))
			fprintf(stderr, "faqbot: note: invalid UTF-8 in the question was replaced\n");
		conv_ask(conv, kb, &ck, line, len, today, console_ms(&o), &r, &followup);
		if (o.json) {
			if ((rc = print_json_turn(&r, followup)) != 0)
				break;
		} else {
			printf("%s\n\n", r.text);
		}
		fflush(stdout);
	}
	if (tty)
		printf("\nAu revoir !\n");
	conv_free(conv);
	kb_free(kb);
	if (fflush(stdout) != 0 || ferror(stdout))
		return 1;
	return rc;
}

static int cmd_check(const struct cmd_opts *opts, int argc, char **argv)
{
	struct cmd_opts o = *opts;
	int rc = 0;
	char err[1024];
	struct config *cfg = NULL;
	if (o.config) {
		if (!(cfg = config_load(o.config, err, sizeof err))) {
			fprintf(stderr, "faqbot: %s\n", err);
			return 1;
		}
		printf("config OK: %s\n", o.config);
		/* config.example.ini: check -c shows the effective settings
		 * (secrets written as <hidden>) */
		if (config_dump(cfg, stdout) < 0) {
			fprintf(stderr, "faqbot: cannot write the settings: %s\n",
				strerror(errno));
			config_free(cfg);
			return 1;
		}
		/* the config names the knowledge the bot will run with (an
		 * installed build's default is its own, unless the key is set) */
		if (!o.kdir && cfg->bot.knowledge && (cfg->bot.knowledge_line || !INSTALLED))
			o.kdir = cfg->bot.knowledge;
	}
	char buf[PATH_MAX];
	const char *dir = o.kdir ? o.kdir : default_knowledge(buf, sizeof buf);
	struct kb *kb = kb_load(dir, err, sizeof err);
	if (!kb) {
		/* say where the path came from when the config set it */
		char why[2048];
		config_knowledge_error(cfg, dir, err, why, sizeof why);
		fprintf(stderr, "faqbot: %s\n", why);
		config_free(cfg);
		return 1;
	}
	if (intent_model_check(kb_intents(kb), err, sizeof err)) {
		fprintf(stderr, "faqbot: %s\n", err);
		rc = 1;
	} else {
		printf("knowledge OK: %s\n", dir);
	}
	kb_free(kb);
	config_free(cfg);
	return rc;
}

#ifndef FAQBOT_TRAIN_EXEC
#define FAQBOT_TRAIN_EXEC "faqbot-train"
#endif

/* The path of a helper program: $env when set, else rel taken relative
 * to the directory of this executable.  NULL when it does not fit. */
static const char *helper_path(const char *env_name, const char *rel, char *buf, size_t n)
{
	const char *env = getenv(env_name);
	char exe[PATH_MAX];
	ssize_t len;
	char *slash;

	if (env && *env)
		return env;
	if (rel[0] == '/')
		return rel;
	len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0)
		return rel;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if (snprintf(buf, n, "%s/%s", slash ? exe : ".", rel) >= (int)n)
		return NULL;
	return buf;
}

/* Runs the helper program rel (see helper_path; env names the variable
 * that overrides it) with argv; returns only on failure. */
static int exec_helper(const char *cmd, const char *env, const char *rel, char **argv)
{
	char buf[PATH_MAX];
	const char *p = helper_path(env, rel, buf, sizeof buf);

	if (!p) {
		fprintf(stderr, "faqbot: %s: the path of %s is too long\n", cmd, rel);
		return 1;
	}
	fflush(NULL);
	execv(p, argv);
	fprintf(stderr, "faqbot: %s: cannot start %s: %s (build it with `make`, or name it "
		"in %s)\n", cmd, p, strerror(errno), env);
	return 1;
}

/* `faqbot [-k DIR] train ...`: training links liblinear (and with it
 * libstdc++ and BLAS), which `ask` must not load: a program of its own
 * does it, with the same command line. */
static int exec_train(int argc, char **argv, const char *kdir)
{
	char kbuf[PATH_MAX];
	char **v;

	if (kdir)
		return exec_helper("train", "FAQBOT_TRAIN", FAQBOT_TRAIN_EXEC, argv);
	/* the knowledge `ask` would use, unless -k names one */
	if (!(v = calloc((size_t)argc + 3, sizeof *v))) {
		fprintf(stderr, "faqbot: out of memory\n");
		return 1;
	}
	v[0] = argv[0];
	v[1] = (char *)"-k";
	v[2] = (char *)default_knowledge(kbuf, sizeof kbuf);
	for (int i = 1; i < argc; i++)
		v[i + 2] = argv[i];
	int rc = exec_helper("train", "FAQBOT_TRAIN", FAQBOT_TRAIN_EXEC, v);
	free(v);
	return rc;
}

#ifdef FAQBOT_NET_EXEC
#ifndef FAQBOT_IRC_EXEC
#define FAQBOT_IRC_EXEC FAQBOT_NET_EXEC
#endif

/* 1 when the config named by run's -c has no [matrix.*] section, so the
 * IRC-only build serves it.  A config that does not load goes to the full
 * build, which reports the error itself. */
static int irc_only(int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 1; i < argc && !path; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "-c", 2) && argv[i][2])
			path = argv[i] + 2;
	}
	if (!path)
		return 0;
	char err[512];
	struct config *cfg = config_load(path, err, sizeof err);
	/* the record of questions needs SQLite: the full build */
	int yes = cfg && cfg->nmatrix == 0 && !cfg->bot.record_questions;
	config_free(cfg);
	return yes;
}

/* `faqbot [-k DIR] run ...`: the same command line, run by a networked
 * build (it parses -k and the run options itself).  run_argc/run_argv:
 * the words from "run" on. */
static int exec_net(char **argv, int run_argc, char **run_argv)
{
	/* report reads the state file (SQLite): the full build */
	const char *rel = strcmp(run_argv[0], "report") && irc_only(run_argc, run_argv)
				  ? FAQBOT_IRC_EXEC : FAQBOT_NET_EXEC;
	return exec_helper(run_argv[0], "FAQBOT_NET", rel, argv);
}
#else
/* `faqbot -k DIR run ...` passes -k on to run_main. */
static int cmd_run(int argc, char **argv, const char *kdir)
{
#ifdef FAQBOT_KNOWLEDGE_DIR
	run_set_default_knowledge(FAQBOT_KNOWLEDGE_DIR);
#endif
	if (!kdir)
		return run_main(argc, argv);
	char **v = calloc((size_t)argc + 3, sizeof *v);
	if (!v) {
		fprintf(stderr, "faqbot: out of memory\n");
		return 1;
	}
	v[0] = argv[0];
	v[1] = (char *)"-k";
	v[2] = (char *)kdir;
	for (int i = 1; i < argc; i++)
		v[i + 2] = argv[i];
	int rc = run_main(argc + 2, v);
	free(v);
	return rc;
}
#endif

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "knowledge", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kdir = NULL;
	int c;
	set_timezone();
	opterr = 0;
	/* "+": stop at the command; its own options are parsed after it */
	while ((c = getopt_long(argc, argv, "+:k:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			kdir = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("faqbot %s\n", FAQBOT_VERSION);
			return 0;
		default:
			return bad_option(c, argv);
		}
	}
	if (optind >= argc) {
		usage_error("%s", "no command given (ask, console, check, train, run or report)");
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	int n = argc - optind;
	char **v = argv + optind;
	/* The commands that share parse_cmd's options. */
	static const struct {
		const char *name, *shortopts;
		unsigned allow;
		const char *no_args; /* the error for an argument; NULL: allowed */
		int (*run)(const struct cmd_opts *, int, char **);
	} cmds[] = {
		{ "ask", ":k:h", CMD_JSON | CMD_NOW, NULL, cmd_ask },
		{ "console", ":k:h", CMD_JSON | CMD_SCRIPT | CMD_NOW,
		  "console takes no question (`%s`); use `faqbot ask`", cmd_console },
		{ "check", ":k:c:h", 0, "unexpected argument `%s`", cmd_check },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmd, cmds[i].name))
			continue;
		struct cmd_opts o = { .kdir = kdir };
		int rc = parse_cmd(n, v, cmds[i].shortopts, cmds[i].allow, &o);
		if (rc)
			return rc < 0 ? 0 : rc;
		if (cmds[i].no_args && optind < n) {
			usage_error(cmds[i].no_args, v[optind]);
			return EXIT_USAGE;
		}
		return cmds[i].run(&o, n, v);
	}
	if (!strcmp(cmd, "train"))
		return exec_train(argc, argv, kdir);
	if (!strcmp(cmd, "run"))
#ifdef FAQBOT_NET_EXEC
		return exec_net(argv, n, v);
#else
		return cmd_run(n, v, kdir);
#endif
	if (!strcmp(cmd, "report"))
#ifdef FAQBOT_NET_EXEC
		return exec_net(argv, n, v);
#else
		return run_report(n, v);
#endif
	if (!strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	usage_error("unknown command `%s`; the commands are ask, console, check, train, run and report", cmd);
	return EXIT_USAGE;
}
