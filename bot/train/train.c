/* train.c - `faqbot train`: learns knowledge/model.bin from the labelled
 * questions of knowledge/examples, and measures what that is worth.
 *
 * A program of its own (faqbot-train, which `faqbot train` executes): it
 * links liblinear (Debian's liblinear, and with it libstdc++ and BLAS),
 * which answering never loads.  The classifier is liblinear's
 * L2-regularised logistic regression (solver L2R_LR, a trust-region Newton
 * method: deterministic), one class against the rest, over the hashed
 * features of feat.h computed by the same code as when answering
 * (intent_features).  Same examples, same bytes.
 *
 *   faqbot train                 train on every example, write model.bin
 *   faqbot train --cv N          N-fold stratified cross-validation
 *   faqbot train --loso          leave one example file out, for each file
 *   faqbot train --eval FILE     score FILE with the model trained on all
 *   faqbot train --chatter FILE  lines of chatter: how many would be
 *                                answered unasked (auto_answer)
 *
 * A score on the questions a model was trained on says nothing of new
 * questions: --cv and --loso are the estimates, never the fit. */
#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linear.h>

#include "ask.h"
#include "examples.h"
#include "feat.h"
#include "intent.h"
#include "kb.h"
#include "lmodel.h"
#include "rules.h"

#define DEFAULT_C 16.0
#define DEFAULT_EPS 0.001
#define DEFAULT_BALANCE 0.5

static double balance = DEFAULT_BALANCE;
/* liblinear solver: L2R_LR (shipped); --solver svm (L2R_L2LOSS_SVC, a
 * linear SVM) only to compare, in `make bench` */
static int solver = L2R_LR;

/* The day an example without "now" is asked (its slots are not judged). */
static const struct date no_now = {2026, 11, 20};

struct data {
	struct examples ex;
	int nclass;
	char names[LMODEL_MAX_CLASS][EXAMPLES_NAME];
	int *label;                   /* class of each example */
	struct feature_node **x;      /* liblinear rows, bias node included */
	struct feature_node *pool;
};

static void quiet(const char *s) { (void)s; }

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Classes are the intents named by the examples, in name order. */
static int class_of(const struct data *d, const char *name)
{
	for (int k = 0; k < d->nclass; k++)
		if (!strcmp(d->names[k], name))
			return k;
	return -1;
}

static int build(struct data *d, struct kb *kb, const struct feat_settings *fs,
		 char *err, size_t errlen)
{
	const struct intent_model *im = kb_intents(kb);
	struct featvec *fv = malloc(sizeof *fv);
	size_t total = 0, cap = 0;

	if (!fv)
		return snprintf(err, errlen, "out of memory"), -1;
	for (int i = 0; i < d->ex.n; i++) {
		if (class_of(d, d->ex.v[i].intent) >= 0)
			continue;
		if (d->nclass == LMODEL_MAX_CLASS) {
			snprintf(err, errlen, "%s:%d: more than %d intents", d->ex.files[d->ex.v[i].set],
				 d->ex.v[i].line, LMODEL_MAX_CLASS);
			free(fv);
			return -1;
		}
		snprintf(d->names[d->nclass++], EXAMPLES_NAME, "%s", d->ex.v[i].intent);
	}
	qsort(d->names, (size_t)d->nclass, sizeof d->names[0], cmp_name);
	d->label = calloc((size_t)d->ex.n, sizeof *d->label);
	d->x = calloc((size_t)d->ex.n, sizeof *d->x);
	size_t *start = calloc((size_t)d->ex.n, sizeof *start);
	if (!d->label || !d->x || !start) {
		free(fv);
		free(start);
		return snprintf(err, errlen, "out of memory"), -1;
	}
	for (int i = 0; i < d->ex.n; i++) {
		const struct example *e = &d->ex.v[i];
		d->label[i] = class_of(d, e->intent);
		intent_features(im, kb_lexicon(kb), fs, e->question, strlen(e->question),
				e->has_now ? e->now : no_now, fv);
		feat_sort(fv, fs->dim_bits);
		if (total + (size_t)fv->n + 2 > cap) {
			size_t nc = cap ? cap * 2 : 1 << 16;
			while (nc < total + (size_t)fv->n + 2)
				nc *= 2;
			struct feature_node *p = realloc(d->pool, nc * sizeof *p);
			if (!p) {
				free(fv);
				free(start);
				return snprintf(err, errlen, "out of memory"), -1;
			}
			d->pool = p;
			cap = nc;
		}
		start[i] = total;
		for (int k = 0; k < fv->n; k++) {
			d->pool[total].index = (int)fv->idx[k] + 1;
			d->pool[total++].value = fv->val[k];
		}
		d->pool[total].index = (1 << fs->dim_bits) + 1; /* the bias */
		d->pool[total++].value = 1.0;
		d->pool[total].index = -1;
		d->pool[total++].value = 0;
	}
	for (int i = 0; i < d->ex.n; i++)
		d->x[i] = d->pool + start[i];
	free(start);
	free(fv);
	return 0;
}

static void data_free(struct data *d)
{
	examples_free(&d->ex);
	free(d->label);
	free(d->x);
	free(d->pool);
}

/* Trains on the examples with use[i] set; NULL on error. */
static struct lmodel *fit(const struct data *d, const unsigned char *use,
			  const struct feat_settings *fs, double C, const char *hash,
			  char *err, size_t errlen)
{
	int n = 0, dim = 1 << fs->dim_bits;
	for (int i = 0; i < d->ex.n; i++)
		n += !use || use[i];
	struct problem prob = {.l = n, .n = dim + 1, .bias = 1.0};
	struct parameter par = {.solver_type = solver, .eps = DEFAULT_EPS, .C = C};
	prob.y = malloc((size_t)n * sizeof *prob.y);
	prob.x = malloc((size_t)n * sizeof *prob.x);
	float *w = calloc((size_t)dim * (size_t)d->nclass, sizeof *w);
	float bias[LMODEL_MAX_CLASS] = {0};
	struct lmodel *lm = NULL;
	struct model *mod = NULL;

	if (!prob.y || !prob.x || !w) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	n = 0;
	for (int i = 0; i < d->ex.n; i++)
		if (!use || use[i]) {
			prob.y[n] = d->label[i];
			prob.x[n++] = d->x[i];
		}
	/* classes weighted by the inverse square root of their size: a new
	 * intent taught with ten examples is not drowned by hundreds of
	 * out_of_scope ones, without overturning the priors */
	int count[LMODEL_MAX_CLASS] = {0}, wl[LMODEL_MAX_CLASS], nw = 0;
	double wv[LMODEL_MAX_CLASS];
	for (int i = 0; i < n; i++)
		count[(int)prob.y[i]]++;
	for (int k = 0; k < d->nclass; k++)
		if (count[k]) {
			wl[nw] = k;
			wv[nw++] = balance > 0 ? pow((double)n / (d->nclass * (double)count[k]), balance) : 1.0;
		}
	par.nr_weight = nw;
	par.weight_label = wl;
	par.weight = wv;
	const char *why = check_parameter(&prob, &par);
	if (why) {
		snprintf(err, errlen, "liblinear: %s", why);
		goto out;
	}
	set_print_string_function(quiet);
	mod = train(&prob, &par);
	int nc = get_nr_class(mod), labels[LMODEL_MAX_CLASS];
	get_labels(mod, labels);
	for (int k = 0; k < d->nclass; k++)
		bias[k] = -30.0f; /* a class absent from this fold: never chosen */
	for (int j = 0; j < nc; j++) {
		int k = labels[j];
		bias[k] = (float)get_decfun_bias(mod, j);
		for (int f = 0; f < dim; f++)
			w[(size_t)f * (size_t)d->nclass + (size_t)k] = (float)get_decfun_coef(mod, f + 1, j);
	}
	const char *names[LMODEL_MAX_CLASS];
	for (int k = 0; k < d->nclass; k++)
		names[k] = d->names[k];
	lm = lmodel_build(fs, hash, n, d->nclass, names, bias, w, err, errlen);
out:
	if (mod)
		free_and_destroy_model(&mod);
	free(prob.y);
	free(prob.x);
	free(w);
	return lm;
}

/* ---- judging, as domain.md does: intent; platform, validation date (and
 * so dates and status) for display_delay; state for state */

struct score {
	int n, right, intent_right;
	int oos, oos_answered;     /* out-of-scope questions; answered as in scope */
	int inscope, refused;      /* in-scope questions; answered out_of_scope */
	int nintent;
	int per_n[LMODEL_MAX_CLASS + 16], per_right[LMODEL_MAX_CLASS + 16];
	char per_name[LMODEL_MAX_CLASS + 16][EXAMPLES_NAME];
};

static int per_slot(struct score *s, const char *name)
{
	for (int k = 0; k < s->nintent; k++)
		if (!strcmp(s->per_name[k], name))
			return k;
	if (s->nintent == LMODEL_MAX_CLASS + 16)
		return 0;
	snprintf(s->per_name[s->nintent], EXAMPLES_NAME, "%s", name);
	return s->nintent++;
}

/* The last judged answer's auto-answer inputs (for the threshold table). */
static double last_conf;
static int last_eligible;

static int judge(const struct kb *kb, const struct example *e, struct score *s, int verbose,
		 const char *file)
{
	struct reply r;
	struct date today = e->has_now ? e->now : no_now;
	ask_question(kb, e->question, strlen(e->question), today, &r);
	const char *got = intent_query_name(&r.q);
	/* chatter is answered as out_of_scope */
	const char *want = !strcmp(e->intent, "chatter") ? "out_of_scope" : e->intent;
	int ok = !strcmp(got, want);
	last_conf = r.q.confidence;
	last_eligible = ask_auto_intent(r.q.intent);
	int dd = !strcmp(e->intent, "display_delay");
	int in_ok = ok;

	if (ok && dd && e->has_platform) {
		const char *pf = platform_name(r.q.platform);
		ok = !strcmp(pf ? pf : "", e->platform);
	}
	if (ok && dd && e->has_vdate && e->has_now) {
		if (e->vdate_null)
			ok = !r.q.has_date;
		else
			ok = r.q.has_date && !date_cmp(r.q.validation, e->vdate);
	}
	if (ok && !strcmp(e->intent, "state") && e->has_state) {
		const char *st = intent_state_name(r.q.state);
		ok = !strcmp(st ? st : "", e->state);
	}
	s->n++;
	s->right += ok;
	s->intent_right += in_ok;
	int k = per_slot(s, e->intent);
	s->per_n[k]++;
	s->per_right[k] += ok;
	if (!strcmp(want, "out_of_scope")) {
		s->oos++;
		s->oos_answered += r.q.intent != IN_OUT_OF_SCOPE;
	} else {
		s->inscope++;
		s->refused += r.q.intent == IN_OUT_OF_SCOPE;
	}
	if (!ok && verbose) {
		char vd[11] = "-";
		if (r.q.has_date)
			date_format_iso(r.q.validation, vd);
		const char *pf = platform_name(r.q.platform);
		printf("  miss %s:%d [%s -> %s %.2f pf=%s vd=%s] %s\n", file, e->line, e->intent, got,
		       r.q.confidence, pf ? pf : "-", vd, e->question);
	}
	return ok;
}

static void add_score(struct score *a, const struct score *b)
{
	a->n += b->n;
	a->right += b->right;
	a->intent_right += b->intent_right;
	a->oos += b->oos;
	a->oos_answered += b->oos_answered;
	a->inscope += b->inscope;
	a->refused += b->refused;
	for (int k = 0; k < b->nintent; k++) {
		int j = per_slot(a, b->per_name[k]);
		a->per_n[j] += b->per_n[k];
		a->per_right[j] += b->per_right[k];
	}
}

static double pct(int a, int b) { return b ? 100.0 * a / b : 0.0; }

static void print_score(const char *label, const struct score *s, int per_intent)
{
	printf("%-28s fully right %4d / %4d (%5.1f %%)  intent %5.1f %%  "
	       "out-of-scope answered %d / %d  in-scope refused %d / %d\n",
	       label, s->right, s->n, pct(s->right, s->n), pct(s->intent_right, s->n),
	       s->oos_answered, s->oos, s->refused, s->inscope);
	if (per_intent)
		for (int k = 0; k < s->nintent; k++)
			printf("    %-22s %4d / %4d (%5.1f %%)\n", s->per_name[k], s->per_right[k],
			       s->per_n[k], pct(s->per_right[k], s->per_n[k]));
}

static int attach(struct kb *kb, struct lmodel *lm, char *err, size_t errlen)
{
	if (intent_model_attach(kb_intents_mut(kb), lm, err, errlen) < 0) {
		lmodel_free(lm);
		return -1;
	}
	return 0;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* N-fold cross-validation, stratified by intent, folds drawn with a fixed
 * seed: the same folds every run. */
static int cross_validate(struct kb *kb, struct data *d, const struct feat_settings *fs,
			  double C, int folds, int verbose, char *err, size_t errlen)
{
	int n = d->ex.n;
	int *fold = malloc((size_t)n * sizeof *fold), *order = malloc((size_t)n * sizeof *order);
	unsigned char *use = malloc((size_t)n);
	struct score all = {0};
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	if (!fold || !order || !use) {
		free(fold), free(order), free(use);
		return snprintf(err, errlen, "out of memory"), -1;
	}
	/* a shuffle (xorshift, fixed seed), then round robin per intent */
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		int j = (int)(seed % (uint64_t)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int k = 0; k < d->nclass; k++) {
		int r = 0;
		for (int i = 0; i < n; i++)
			if (d->label[order[i]] == k)
				fold[order[i]] = r++ % folds;
	}
	double *conf = calloc((size_t)n, sizeof *conf);
	unsigned char *elig = calloc((size_t)n, 1), *okv = calloc((size_t)n, 1);
	if (!conf || !elig || !okv) {
		free(conf), free(elig), free(okv);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int f = 0; f < folds; f++) {
		for (int i = 0; i < n; i++)
			use[i] = fold[i] != f;
		struct lmodel *lm = fit(d, use, fs, C, "cv", err, errlen);
		if (!lm || attach(kb, lm, err, errlen) < 0) {
			free(conf), free(elig), free(okv);
			goto fail;
		}
		for (int i = 0; i < n; i++)
			if (!use[i]) {
				okv[i] = (unsigned char)judge(kb, &d->ex.v[i], &all, verbose,
							      base(d->ex.files[d->ex.v[i].set]));
				conf[i] = last_conf;
				elig[i] = (unsigned char)last_eligible;
			}
	}
	char label[64];
	snprintf(label, sizeof label, "%d-fold cross-validation", folds);
	print_score(label, &all, 1);
	/* auto_answer: unasked, the bot speaks when an eligible intent reaches
	 * the threshold.  Wrong when the question is out of scope (chatter);
	 * a real question below it is only answered when addressed. */
	printf("auto_answer threshold (cross-validated): out-of-scope lines that would be answered "
	       "unasked / real questions left to be addressed / wrong answers given unasked\n");
	static const double ts[] = {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99};
	for (size_t t = 0; t < sizeof ts / sizeof ts[0]; t++) {
		int spoke_oos = 0, noos = 0, left = 0, nreal = 0, wrong = 0;
		for (int i = 0; i < n; i++) {
			const char *in = d->ex.v[i].intent;
			int oos = !strcmp(in, "out_of_scope") || !strcmp(in, "chatter");
			int real = !oos && strcmp(in, "greeting") && strcmp(in, "thanks");
			int speaks = elig[i] && conf[i] >= ts[t];
			if (oos) {
				noos++;
				spoke_oos += speaks;
			} else if (real) {
				nreal++;
				left += !speaks;
				wrong += speaks && !okv[i];
			}
		}
		printf("    %.2f   %3d / %d   %4d / %d   %d\n", ts[t], spoke_oos, noos, left, nreal, wrong);
	}
	free(conf), free(elig), free(okv);
	free(fold), free(order), free(use);
	return 0;
fail:
	free(fold), free(order), free(use);
	return -1;
}

/* For each example file: train without it, score it. */
static int leave_one_set_out(struct kb *kb, struct data *d, const struct feat_settings *fs,
			     double C, int verbose, char *err, size_t errlen)
{
	unsigned char *use = malloc((size_t)d->ex.n);
	struct score total = {0};
	if (!use)
		return snprintf(err, errlen, "out of memory"), -1;
	for (int s = 0; s < d->ex.nfiles; s++) {
		struct score sc = {0};
		for (int i = 0; i < d->ex.n; i++)
			use[i] = d->ex.v[i].set != s;
		struct lmodel *lm = fit(d, use, fs, C, "loso", err, errlen);
		if (!lm || attach(kb, lm, err, errlen) < 0) {
			free(use);
			return -1;
		}
		for (int i = 0; i < d->ex.n; i++)
			if (!use[i])
				judge(kb, &d->ex.v[i], &sc, verbose, base(d->ex.files[s]));
		char label[64];
		snprintf(label, sizeof label, "without %s", base(d->ex.files[s]));
		print_score(label, &sc, 0);
		add_score(&total, &sc);
	}
	print_score("leave-one-set-out, all", &total, 0);
	free(use);
	return 0;
}

static int eval_file(struct kb *kb, const char *path, int verbose, char *err, size_t errlen)
{
	struct examples ex = {0};
	struct score sc = {0};
	if (examples_load_file(path, &ex, err, errlen) < 0) {
		examples_free(&ex);
		return -1;
	}
	for (int i = 0; i < ex.n; i++)
		judge(kb, &ex.v[i], &sc, verbose, base(path));
	print_score(base(path), &sc, 1);
	examples_free(&ex);
	return 0;
}

/* Chatter, one message a line: how many would be answered unasked. */
static int eval_chatter(struct kb *kb, const char *path, int verbose, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0, spoke = 0;
	if (!f)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	while (fgets(line, sizeof line, f)) {
		size_t l = strcspn(line, "\r\n");
		line[l] = '\0';
		if (!l)
			continue;
		struct reply r;
		ask_question(kb, line, l, no_now, &r);
		n++;
		if (ask_auto_answer(kb, &r, -1)) {
			spoke++;
			if (verbose)
				printf("  would speak: [%s %.3f] %s\n", intent_query_name(&r.q), r.q.confidence, line);
		}
	}
	fclose(f);
	printf("%-28s would answer unasked %d / %d lines\n", base(path), spoke, n);
	return 0;
}

static void usage(FILE *to)
{
	fputs("Usage: faqbot [-k DIR] train [--cv N] [--loso] [--eval FILE.jsonl]... "
	      "[--chatter FILE]... [-v] [--C X] [--dim BITS]\n"
	      "       [--weights CHAR,WORD,BIGRAM,EXTRA] [--balance X] [--threshold X] [--solver lr|svm]\n"
	      "Learns DIR/model.bin from DIR/examples/NAME.jsonl; the measuring options\n"
	      "print figures and write nothing (--eval and --chatter use a model trained\n"
	      "on every example).\n", to);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"knowledge", required_argument, NULL, 'k'},
		{"cv", required_argument, NULL, 'f'},
		{"loso", no_argument, NULL, 'l'},
		{"eval", required_argument, NULL, 'e'},
		{"chatter", required_argument, NULL, 't'},
		{"C", required_argument, NULL, 'C'},
		{"dim", required_argument, NULL, 'd'},
		{"balance", required_argument, NULL, 'b'},
		{"threshold", required_argument, NULL, 'T'},
		{"solver", required_argument, NULL, 'S'},
		{"weights", required_argument, NULL, 'W'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *evals[16], *chatter[16];
	int folds = 0, loso = 0, nevals = 0, nchat = 0, verbose = 0, c;
	double C = DEFAULT_C, threshold = -1;
	struct feat_settings fs = feat_default;
	char err[1024];

	/* faqbot [-k DIR] train ...: skip to the word "train" */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "train")) {
			for (int j = 1; j < i; j++)
				if ((!strcmp(argv[j], "-k") || !strcmp(argv[j], "--knowledge")) && j + 1 < i)
					dir = argv[j + 1];
				else if (!strncmp(argv[j], "--knowledge=", 12))
					dir = argv[j] + 12;
			argv += i;
			argc -= i;
			break;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': dir = optarg; break;
		case 'f': folds = atoi(optarg); break;
		case 'l': loso = 1; break;
		case 'e': if (nevals < 16) evals[nevals++] = optarg; break;
		case 't': if (nchat < 16) chatter[nchat++] = optarg; break;
		case 'C': C = atof(optarg); break;
		case 'd': fs.dim_bits = (unsigned)atoi(optarg); break;
		case 'b': balance = atof(optarg); break;
		case 'T': threshold = atof(optarg); break;
		case 'S':
			if (!strcmp(optarg, "svm")) {
				solver = L2R_L2LOSS_SVC;
			} else if (strcmp(optarg, "lr")) {
				usage(stderr);
				return 2;
			}
			break;
		case 'W':
			if (sscanf(optarg, "%g,%g,%g,%g", &fs.w_char, &fs.w_word, &fs.w_bigram,
				   &fs.w_extra) != 4) {
				usage(stderr);
				return 2;
			}
			break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || (folds && (folds < 2 || folds > 100)) || !(C > 0) ||
	    fs.dim_bits < 10 || fs.dim_bits > 22) {
		usage(stderr);
		return 2;
	}
	if (!dir)
		dir = "knowledge";
	struct kb *kb = kb_load_untrained(dir, err, sizeof err);
	if (!kb) {
		fprintf(stderr, "faqbot: %s\n", err);
		return 1;
	}
	if (threshold >= 0)
		intent_model_set_threshold(kb_intents_mut(kb), threshold);
	struct data d;
	memset(&d, 0, sizeof d);
	int rc = 1;
	clock_t t0 = clock();
	if (examples_load(dir, &d.ex, err, sizeof err) < 0 || build(&d, kb, &fs, err, sizeof err) < 0)
		goto out;
	if (folds && cross_validate(kb, &d, &fs, C, folds, verbose, err, sizeof err) < 0)
		goto out;
	if (loso && leave_one_set_out(kb, &d, &fs, C, verbose, err, sizeof err) < 0)
		goto out;
	if (nevals || nchat) {
		struct lmodel *lm = fit(&d, NULL, &fs, C, "eval", err, sizeof err);
		if (!lm || attach(kb, lm, err, sizeof err) < 0)
			goto out;
		for (int i = 0; i < nevals; i++)
			if (eval_file(kb, evals[i], verbose, err, sizeof err) < 0)
				goto out;
		for (int i = 0; i < nchat; i++)
			if (eval_chatter(kb, chatter[i], verbose, err, sizeof err) < 0)
				goto out;
	}
	if (!folds && !loso && !nevals && !nchat) {
		char hash[LMODEL_HASH], settings[128], path[4096];
		feat_settings_string(&fs, settings, sizeof settings);
		if (examples_hash(dir, settings, hash, err, sizeof err) < 0)
			goto out;
		struct lmodel *lm = fit(&d, NULL, &fs, C, hash, err, sizeof err);
		if (!lm)
			goto out;
		snprintf(path, sizeof path, "%s/model.bin", dir);
		if (lmodel_save(lm, path, err, sizeof err) < 0 || attach(kb, lm, err, sizeof err) < 0)
			goto out;
		/* what the new model still answers otherwise: the fit, not an
		 * accuracy (see --cv), but a taught question should be here */
		struct score sc = {0};
		int shown = 0;
		for (int i = 0; i < d.ex.n; i++) {
			const struct example *e = &d.ex.v[i];
			if (judge(kb, e, &sc, 0, NULL) || shown >= 20)
				continue;
			if (!shown++)
				printf("examples the model still answers otherwise (add more like them):\n");
			printf("  %s:%d: %s (%s)\n", d.ex.files[e->set], e->line, e->question, e->intent);
		}
		printf("model written: %s (%d examples, %d intents, %.1f s)\n", path, d.ex.n,
		       d.nclass, (double)(clock() - t0) / CLOCKS_PER_SEC);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "faqbot: train: %s\n", err);
	data_free(&d);
	kb_free(kb);
	return rc;
}
