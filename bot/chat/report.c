/* report.c - `faqbot report`: what the bot recorded for the knowledge team
 * (record.c): questions per day and per intent, the missed questions
 * grouped by similarity (token Jaccard on the folded text, most frequent
 * first), the answers marked wrong; as text, CSV, one self-contained HTML
 * page (inline SVG chart, no script) or JSON lines in the knowledge's
 * example format.  --purge deletes every recorded question and the asker
 * key.  Reads the state file named by the config's [bot] state. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "clock.h"
#include "config.h"
#include "fold.h"
#include "grow.h"
#include "norm.h"
#include "record.h"
#include "store.h"

#define MAX_TOKS 64
/* Recorded questions read at most (record_days of a busy bot is far less). */
#define REPORT_MAX_ROWS ((size_t)1 << 24)
#define SIMILAR 0.5 /* Jaccard of two questions' word sets to group them */

struct row {
	time_t t;
	char day[11];
	char *net, *room, *intent, *text;
	double conf;
	int missed, wrong, feedback;
	char *toks[MAX_TOKS];
	int ntok;
	int group; /* index of its group's first row, -1: none */
	int count; /* questions in its group (on the group's first row) */
};

struct data {
	struct row *rows;
	size_t n;
	char **days, **intents; /* distinct, sorted */
	size_t ndays, nintents;
	int *cells;             /* ndays x nintents counts */
	int *order;             /* groups of missed questions, most frequent first */
	size_t ngroups;
	char since_day[11], today[11];
	int since_days;
};

static const char usage[] =
	"usage: faqbot report -c CONFIG [--since DAYS] [--format text|csv|html|jsonl]\n"
	"       faqbot report -c CONFIG --purge\n";

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d) {
		fprintf(stderr, "faqbot: out of memory\n");
		exit(1);
	}
	return d;
}

static void local_day(time_t t, char out[11])
{
	date_format_iso(clock_today(t), out);
}

/* The words of a question: folded (case, accents), letters and digits,
 * two bytes or more. */
static void tokenize(struct row *r)
{
	char buf[NORM_MAX_INPUT * 3];
	size_t n = fold_text(r->text, strlen(r->text), buf, sizeof buf, NULL), i = 0;
	while (i < n && r->ntok < MAX_TOKS) {
		while (i < n && !isalnum((unsigned char)buf[i]))
			i++;
		size_t s = i;
		while (i < n && isalnum((unsigned char)buf[i]))
			i++;
		if (i - s < 2)
			continue;
		char *w = strndup(buf + s, i - s);
		int dup = 0;
		for (int k = 0; k < r->ntok && w; k++)
			dup |= !strcmp(r->toks[k], w);
		if (!w || dup)
			free(w);
		else
			r->toks[r->ntok++] = w;
	}
}

static double jaccard(const struct row *a, const struct row *b)
{
	int inter = 0;
	if (!a->ntok && !b->ntok)
		return !strcmp(a->text, b->text);
	for (int i = 0; i < a->ntok; i++)
		for (int j = 0; j < b->ntok; j++)
			if (!strcmp(a->toks[i], b->toks[j])) {
				inter++;
				break;
			}
	return (double)inter / (a->ntok + b->ntok - inter);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t add_distinct(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return i;
	char **nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv) {
		fprintf(stderr, "faqbot: out of memory\n");
		exit(1);
	}
	*v = nv;
	nv[*n] = xstrdup(s);
	return (*n)++;
}

static size_t find(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return i;
	return 0;
}

static const struct data *sort_data;
static int cmp_group(const void *a, const void *b)
{
	const struct row *x = &sort_data->rows[*(const int *)a], *y = &sort_data->rows[*(const int *)b];
	if (x->count != y->count)
		return y->count - x->count;
	return x->t > y->t ? -1 : x->t < y->t;
}

static int load(sqlite3 *db, time_t since, struct data *d)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	if (sqlite3_prepare_v2(db, "SELECT t, net, room, intent, confidence, missed, wrong, text, feedback"
			       " FROM questions WHERE t >= ? ORDER BY t, id", -1, &st, NULL))
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (grow_array(&d->rows, &cap, d->n + 1, sizeof *d->rows, REPORT_MAX_ROWS) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
		struct row *r = &d->rows[d->n++];
		memset(r, 0, sizeof *r);
		r->t = (time_t)sqlite3_column_int64(st, 0);
		local_day(r->t, r->day);
		r->net = xstrdup((const char *)sqlite3_column_text(st, 1));
		r->room = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL
			  : xstrdup((const char *)sqlite3_column_text(st, 2));
		r->intent = xstrdup((const char *)sqlite3_column_text(st, 3));
		r->conf = sqlite3_column_double(st, 4);
		r->missed = sqlite3_column_int(st, 5);
		r->wrong = sqlite3_column_int(st, 6);
		r->text = sqlite3_column_type(st, 7) == SQLITE_NULL ? NULL
			  : xstrdup((const char *)sqlite3_column_text(st, 7));
		r->feedback = sqlite3_column_int(st, 8);
		r->group = -1;
	}
	sqlite3_finalize(st);

	for (size_t i = 0; i < d->n; i++) {
		add_distinct(&d->days, &d->ndays, d->rows[i].day);
		add_distinct(&d->intents, &d->nintents, d->rows[i].intent);
	}
	qsort(d->days, d->ndays, sizeof *d->days, cmp_str);
	qsort(d->intents, d->nintents, sizeof *d->intents, cmp_str);
	d->cells = calloc(d->ndays * d->nintents + 1, sizeof *d->cells);
	d->order = calloc(d->n + 1, sizeof *d->order);
	if (!d->cells || !d->order)
		return -1;
	for (size_t i = 0; i < d->n; i++)
		d->cells[find(d->days, d->ndays, d->rows[i].day) * d->nintents +
			 find(d->intents, d->nintents, d->rows[i].intent)]++;
	/* Greedy grouping of the missed questions: each joins the first
	 * group whose first question is similar enough. */
	for (size_t i = 0; i < d->n; i++) {
		struct row *r = &d->rows[i];
		if (!r->missed || !r->text)
			continue;
		tokenize(r);
		for (size_t g = 0; g < d->ngroups; g++) {
			struct row *h = &d->rows[d->order[g]];
			if (jaccard(r, h) >= SIMILAR) {
				r->group = d->order[g];
				h->count++;
				break;
			}
		}
		if (r->group < 0) {
			r->group = (int)i;
			r->count = 1;
			d->order[d->ngroups++] = (int)i;
		}
	}
	sort_data = d;
	qsort(d->order, d->ngroups, sizeof *d->order, cmp_group);
	return 0;
}

static void free_data(struct data *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct row *r = &d->rows[i];
		free(r->net);
		free(r->room);
		free(r->intent);
		free(r->text);
		for (int k = 0; k < r->ntok; k++)
			free(r->toks[k]);
	}
	for (size_t i = 0; i < d->ndays; i++)
		free(d->days[i]);
	for (size_t i = 0; i < d->nintents; i++)
		free(d->intents[i]);
	free(d->days);
	free(d->intents);
	free(d->rows);
	free(d->cells);
	free(d->order);
}

static int approved(const struct data *d)
{
	int n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->rows[i].feedback > 0;
	return n;
}

static int totals(const struct data *d, int *missed, int *wrong)
{
	*missed = *wrong = 0;
	for (size_t i = 0; i < d->n; i++) {
		*missed += d->rows[i].missed;
		*wrong += d->rows[i].wrong;
	}
	return (int)d->n;
}

static const char *where(const struct row *r, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s", r->net, r->room ? r->room : "(private)");
	return buf;
}

/* ---- text ---- */

/* The questions of day i, of intent j (cells is days x intents). */
static int day_total(const struct data *d, size_t i)
{
	int tot = 0;
	for (size_t j = 0; j < d->nintents; j++)
		tot += d->cells[i * d->nintents + j];
	return tot;
}

static int intent_total(const struct data *d, size_t j)
{
	int tot = 0;
	for (size_t i = 0; i < d->ndays; i++)
		tot += d->cells[i * d->nintents + j];
	return tot;
}

static void out_text(const struct data *d, FILE *f)
{
	int missed, wrong, n = totals(d, &missed, &wrong);
	char w[512];

	fprintf(f, "faqbot report, %s to %s (%d days)\n", d->since_day, d->today, d->since_days);
	fprintf(f, "%d question(s): %d missed, %d answer(s) marked wrong\n", n, missed, wrong);
	fprintf(f, "%d answer(s) approved (thumbs up on Matrix)\n", approved(d));
	fprintf(f, "\nQuestions per day:\n");
	for (size_t i = 0; i < d->ndays; i++) {
		int tot = day_total(d, i);
		fprintf(f, "  %s  %3d ", d->days[i], tot);
		const char *sep = " ";
		for (size_t j = 0; j < d->nintents; j++)
			if (d->cells[i * d->nintents + j]) {
				fprintf(f, "%s%s %d", sep, d->intents[j],
					d->cells[i * d->nintents + j]);
				sep = ", ";
			}
		fputc('\n', f);
	}
	fprintf(f, "\nQuestions per intent:\n");
	for (size_t j = 0; j < d->nintents; j++) {
		int tot = intent_total(d, j);
		fprintf(f, "  %-24s %d\n", d->intents[j], tot);
	}
	fprintf(f, "\nMissed questions, grouped by similarity (most frequent first):\n");
	if (!d->ngroups)
		fprintf(f, "  (none)\n");
	for (size_t g = 0; g < d->ngroups; g++) {
		const struct row *h = &d->rows[d->order[g]];
		fprintf(f, "  %3dx  « %s »  (best guess %s, %.2f)\n", h->count, h->text, h->intent,
			h->conf);
		for (size_t i = 0; i < d->n; i++)
			if (d->rows[i].group == d->order[g] && &d->rows[i] != h)
				fprintf(f, "        « %s »\n", d->rows[i].text);
	}
	fprintf(f, "\nAnswers marked wrong:\n");
	if (!wrong)
		fprintf(f, "  (none)\n");
	for (size_t i = 0; i < d->n; i++) {
		const struct row *r = &d->rows[i];
		if (r->wrong)
			fprintf(f, "  %s  %s  %s %.2f  « %s »\n", r->day, where(r, w, sizeof w),
				r->intent, r->conf, r->text ? r->text : "");
	}
}

/* ---- CSV (RFC 4180) ---- */

static void csv_field(FILE *f, const char *s, int last)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputs(last ? "\"\r\n" : "\",", f);
}

/* A "missed" or "wrong" line: one recorded question (count: how often). */
static void csv_row(FILE *f, const char *kind, const struct row *r, int count)
{
	char num[64];
	fprintf(f, "%s,%s,", kind, r->day);
	csv_field(f, r->net, 0);
	csv_field(f, r->room, 0);
	csv_field(f, r->intent, 0);
	snprintf(num, sizeof num, "%.2f", r->conf);
	csv_field(f, num, 0);
	snprintf(num, sizeof num, "%d", count);
	csv_field(f, num, 0);
	csv_field(f, r->text, 1);
}

static void out_csv(const struct data *d, FILE *f)
{
	fputs("kind,date,network,room,intent,confidence,count,question\r\n", f);
	for (size_t i = 0; i < d->ndays; i++)
		for (size_t j = 0; j < d->nintents; j++) {
			int c = d->cells[i * d->nintents + j];
			if (!c)
				continue;
			fprintf(f, "day,%s,,,%s,,%d,\r\n", d->days[i], d->intents[j], c);
		}
	for (size_t g = 0; g < d->ngroups; g++) {
		const struct row *h = &d->rows[d->order[g]];
		csv_row(f, "missed", h, h->count);
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct row *r = &d->rows[i];
		if (!r->wrong)
			continue;
		csv_row(f, "wrong", r, 1);
	}
}

/* ---- JSON lines: the knowledge's example format ---- */

static int json_line(FILE *f, const char *question, const char *intent, const char *day)
{
	cJSON *o = cJSON_CreateObject();
	char *s;
	if (!o || !cJSON_AddStringToObject(o, "question", question) ||
	    !(intent ? cJSON_AddStringToObject(o, "intent", intent) : cJSON_AddNullToObject(o, "intent")) ||
	    !cJSON_AddStringToObject(o, "now", day) || !(s = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		return -1;
	}
	fprintf(f, "%s\n", s);
	cJSON_free(s);
	cJSON_Delete(o);
	return 0;
}

/* Each distinct missed question (intent: the best guess, null when out of
 * scope), then each answer marked wrong (intent null: to be labelled). */
static int out_jsonl(const struct data *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct row *r = &d->rows[i];
		int seen = 0;
		if (!r->text || (!r->missed && !r->wrong))
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = d->rows[k].text && (d->rows[k].missed || d->rows[k].wrong) &&
			       !strcmp(d->rows[k].text, r->text);
		if (seen)
			continue;
		if (json_line(f, r->text, r->wrong || !strcmp(r->intent, "out_of_scope") ? NULL
			      : r->intent, r->day) < 0)
			return -1;
	}
	return 0;
}

/* ---- HTML: one page, inline SVG, no script ---- */

static void html_esc(FILE *f, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
}

static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
};

static void out_html(const struct data *d, FILE *f)
{
	int missed, wrong, n = totals(d, &missed, &wrong), max = 1;
	const int bw = 28, left = 50, top = 20, ch = 240;
	int width = left + (int)(d->ndays ? d->ndays : 1) * bw + 20;
	char w[512];

	if (width < 400)
		width = 400;
	for (size_t i = 0; i < d->ndays; i++) {
		int tot = day_total(d, i);
		if (tot > max)
			max = tot;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\n"
	      "<title>faqbot : rapport</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;color:#222;background:#fff}\n"
	      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\n"
	      ".n{text-align:right}\n</style></head><body>\n", f);
	fprintf(f, "<h1>faqbot : rapport du %s au %s</h1>\n", d->since_day, d->today);
	fprintf(f, "<p>%d question(s), %d manquée(s), %d réponse(s) signalée(s) fausse(s), "
		"%d approuvée(s).</p>\n", n, missed, wrong, approved(d));
	fprintf(f, "<h2>Questions par jour et par intention</h2>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"role=\"img\" aria-label=\"questions par jour\">\n", width, top + ch + 90);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", left,
		top + ch, width - 10, top + ch);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", left, top,
		left, top + ch);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%d</text>\n",
		left - 4, top + 8, max);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">0</text>\n",
		left - 4, top + ch);
	for (size_t i = 0; i < d->ndays; i++) {
		int x = left + 4 + (int)i * bw, y = top + ch;
		for (size_t j = 0; j < d->nintents; j++) {
			int c = d->cells[i * d->nintents + j];
			if (!c)
				continue;
			int h = c * ch / max;
			y -= h;
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
				"<title>%s %s : %d</title></rect>\n", x, y, bw - 6, h,
				palette[j % (sizeof palette / sizeof *palette)], d->days[i],
				d->intents[j], c);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" transform=\"rotate(-60 %d %d)\" "
			"text-anchor=\"end\">%s</text>\n", x + 10, top + ch + 12, x + 10,
			top + ch + 12, d->days[i] + 5);
	}
	fputs("</svg>\n<p>", f);
	for (size_t j = 0; j < d->nintents; j++) {
		fprintf(f, "<span style=\"display:inline-block;width:1em;height:1em;background:%s\">"
			"</span> ", palette[j % (sizeof palette / sizeof *palette)]);
		html_esc(f, d->intents[j]);
		fputs(" &nbsp; ", f);
	}
	fputs("</p>\n<h2>Questions manquées, regroupées (les plus fréquentes d'abord)</h2>\n"
	      "<table><tr><th>Nombre</th><th>Question</th><th>Intention devinée</th>"
	      "<th>Confiance</th><th>Questions voisines</th></tr>\n", f);
	for (size_t g = 0; g < d->ngroups; g++) {
		const struct row *h = &d->rows[d->order[g]];
		fprintf(f, "<tr><td class=\"n\">%d</td><td>", h->count);
		html_esc(f, h->text);
		fputs("</td><td>", f);
		html_esc(f, h->intent);
		fprintf(f, "</td><td class=\"n\">%.2f</td><td>", h->conf);
		for (size_t i = 0; i < d->n; i++)
			if (d->rows[i].group == d->order[g] && &d->rows[i] != h) {
				html_esc(f, d->rows[i].text);
				fputs("<br>", f);
			}
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<h2>Réponses signalées fausses</h2>\n<table><tr><th>Jour</th>"
	      "<th>Où</th><th>Intention</th><th>Question</th></tr>\n", f);
	for (size_t i = 0; i < d->n; i++) {
		const struct row *r = &d->rows[i];
		if (!r->wrong)
			continue;
		fprintf(f, "<tr><td>%s</td><td>", r->day);
		html_esc(f, where(r, w, sizeof w));
		fputs("</td><td>", f);
		html_esc(f, r->intent);
		fputs("</td><td>", f);
		html_esc(f, r->text);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n</body></html>\n", f);
}

/* ---- the command ---- */

static int purge(const char *path)
{
	char err[1024];
	struct store *st = store_open(path, err, sizeof err);
	sqlite3 *db;
	int rc = 0;
	if (!st) {
		fprintf(stderr, "faqbot: %s\n", err);
		return 1;
	}
	db = store_db(st);
	if (store_version(st, "record") > 0) {
		int n;
		if (sqlite3_exec(db, "DELETE FROM questions; DELETE FROM record_key;", NULL, NULL, NULL)) {
			fprintf(stderr, "faqbot: %s: cannot delete the recorded questions: %s\n", path,
				sqlite3_errmsg(db));
			store_free(st);
			return 1;
		}
		n = sqlite3_changes(db);
		(void)n;
		/* Scrub the freed pages and the write-ahead log too. */
		if (sqlite3_exec(db, "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL))
			fprintf(stderr, "faqbot: note: %s: the file was not compacted (%s); the "
				"deleted rows are gone but may linger in free pages\n", path,
				sqlite3_errmsg(db));
	}
	printf("recorded questions deleted from %s\n", path);
	store_free(st);
	return rc;
}

int report_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "purge", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "knowledge", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgp = NULL, *format = "text";
	int since = 30, do_purge = 0, c, rc = 1;
	char err[1024], *end;
	struct config *cfg;
	struct data d;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfgp = optarg;
			break;
		case 'k':
			break; /* the knowledge plays no part in a report */
		case 's':
			errno = 0;
			since = (int)strtol(optarg, &end, 10);
			if (errno || end == optarg || (*end && strcmp(end, "d")) || since < 1 ||
			    since > 3650) {
				fprintf(stderr, "faqbot report: --since `%s`: write a number of days "
					"from 1 to 3650, e.g. --since 30d\n", optarg);
				return 2;
			}
			break;
		case 'f':
			format = optarg;
			if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "html") &&
			    strcmp(format, "jsonl")) {
				fprintf(stderr, "faqbot report: --format `%s`: write text, csv, html "
					"or jsonl\n", optarg);
				return 2;
			}
			break;
		case 'p':
			do_purge = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "faqbot report: unknown option or missing value\n%s", usage);
			return 2;
		}
	}
	if (!cfgp || optind < argc) {
		fprintf(stderr, "faqbot report: %s\n%s", cfgp ? "unexpected argument"
			: "-c CONFIG is required", usage);
		return 2;
	}
	if (!(cfg = config_load(cfgp, err, sizeof err))) {
		fprintf(stderr, "faqbot: %s\n", err);
		return 1;
	}
	clock_set_tz(cfg->bot.timezone);
	if (access(cfg->bot.state, F_OK) != 0) {
		fprintf(stderr, "faqbot: %s: no state file, so nothing recorded (%s: [bot] "
			"record_questions = %s)\n", cfg->bot.state, cfgp,
			cfg->bot.record_questions ? "yes, but the bot has not run yet" : "no");
		config_free(cfg);
		return do_purge ? 0 : 1;
	}
	if (do_purge) {
		rc = purge(cfg->bot.state);
		config_free(cfg);
		return rc;
	}
	struct record *rec = record_open(cfg->bot.state, cfg->bot.record_days, err, sizeof err);
	if (!rec) {
		fprintf(stderr, "faqbot: %s\n", err);
		config_free(cfg);
		return 1;
	}
	struct store *st = store_open(cfg->bot.state, err, sizeof err);
	memset(&d, 0, sizeof d);
	time_t now = time(NULL), from = now - (time_t)since * 86400;
	d.since_days = since;
	local_day(from, d.since_day);
	local_day(now, d.today);
	if (!st || load(store_db(st), from, &d) < 0) {
		fprintf(stderr, "faqbot: %s: cannot read the recorded questions%s%s\n",
			cfg->bot.state, st ? ": " : "", st ? sqlite3_errmsg(store_db(st)) : err);
	} else {
		if (!cfg->bot.record_questions)
			fprintf(stderr, "faqbot: note: %s: [bot] record_questions is off; this is "
				"what was recorded before\n", cfgp);
		if (!strcmp(format, "csv"))
			out_csv(&d, stdout);
		else if (!strcmp(format, "html"))
			out_html(&d, stdout);
		else if (!strcmp(format, "jsonl"))
			out_jsonl(&d, stdout);
		else
			out_text(&d, stdout);
		rc = fflush(stdout) != 0 || ferror(stdout);
		if (rc)
			fprintf(stderr, "faqbot: cannot write the report: %s\n", strerror(errno));
	}
	free_data(&d);
	store_free(st);
	record_close(rec);
	config_free(cfg);
	return rc;
}
