/* intent.c - what a question is about.  knowledge/intents.ini names
 * concepts (synonym sets: words, prefix stems, phrases); they fill the
 * slots (platform, state, and with datex.c the validation date) and, with
 * the words and character n-grams of the question, make the features of
 * the learned model (feat.c, lmodel.c) that gives each intent a
 * probability.  The model is trained from knowledge/examples by `faqbot
 * train`.  It answers nothing (answers.c does), and reads no clock: today
 * is an argument. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datex.h"
#include "examples.h"
#include "feat.h"
#include "intent.h"
#include "lexicon.h"
#include "lmodel.h"
#include "norm.h"
#include "inifile.h"
#include "textfile.h"

#define IM_MAX_CONCEPTS 256       /* bitset width below */
#define IM_WORDS (IM_MAX_CONCEPTS / 64)
#define IM_MAX_TERMS 8192
#define IM_TERM_TOKS 8            /* tokens in one phrase */
#define IM_TOK_CONCEPTS 6         /* concepts remembered per token */
#define IM_MAX_LINE 2048
#define IM_MAX_DATES 8
#define IM_NAME_MAX 48
#define IM_INTRO_SKIP 6           /* words of a self-introduction not counted */

/* pseudo concepts, set by the analyser rather than by words */
enum { PC_DATE = 0, PC_PLATFORM, PC_IDNUM, PC__COUNT };
static const char *const pseudo_name[PC__COUNT] = {"@date", "@platform", "@idnum"};

/* A number of IM_IDNUM_DIGITS digits or more is an identifier quoted by
 * the user (a session number "14587236"), not a day, a year or a count. */
#define IM_IDNUM_DIGITS 5

struct cset {
	uint64_t w[IM_WORDS];
};

struct ttok {
	const char *s; /* into the model's string arena */
	unsigned len;
	unsigned char prefix; /* "affich*": any token starting with s */
	unsigned char upper;  /* "SAIS": the token must be written in capitals */
};

struct term {
	int concept;
	int ntok;
	struct ttok tok[IM_TERM_TOKS];
	int next; /* next term in the same hash chain, -1 */
};

struct intent_model {
	char path[512]; /* intents.ini, for check messages */
	char names[IM_MAX_CONCEPTS][IM_NAME_MAX];
	int nconcepts;
	struct term *terms;
	int nterms, termcap;
	/* open hash on a term's first token text: exact and prefix tables */
	int *hexact, *hprefix;
	unsigned hmask;
	unsigned char plen_used[64]; /* prefix lengths that exist */
	double threshold, auto_answer;
	char dir[512];                /* the knowledge directory */
	struct lmodel *lm;            /* NULL until attached */
	struct feat_settings fs;
	uint32_t chash[IM_MAX_CONCEPTS]; /* feature hash of each concept */
	int cls_intent[LMODEL_MAX_CLASS]; /* model class -> intent id */
	char dyn[LMODEL_MAX_CLASS][LMODEL_NAME]; /* intents beyond domain.md's */
	int ndyn;
	int pf_concept[PF__COUNT];   /* concept of each platform, -1 */
	int pf_rank[PF__COUNT];      /* lower wins when several are named */
	int st_concept[4];           /* concept of SAIS/DIFF/ARCH, -1 */
	int c_filler, c_valid, c_notvalid, c_neg;
	int c_intro; /* optional "intro" concept ("je suis ..."), -1 */
	char *arena;
	size_t asz, acap;
};

static const char *const intent_names[IN__COUNT] = {
	"out_of_scope", "display_delay", "definition", "stages", "state",
	"session_number", "green_not_in_kairos", "validation_process",
	"greeting", "thanks", "help",
};

const char *intent_name(enum intent in)
{
	if ((int)in < 0 || in >= IN__COUNT)
		return "out_of_scope";
	return intent_names[in];
}

int intent_from_name(const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i < IN__COUNT; i++)
		if (!strcmp(s, intent_names[i]))
			return i;
	return -1;
}

const char *intent_state_name(enum state_slot st)
{
	switch (st) {
	case STS_SAIS: return "SAIS";
	case STS_DIFF: return "DIFF";
	case STS_ARCH: return "ARCH";
	default: return NULL;
	}
}

void intent_model_set_threshold(struct intent_model *m, double t)
{
	m->threshold = t;
}

double intent_auto_threshold(const struct intent_model *m)
{
	return m ? m->auto_answer : 1.0;
}

/* ------------------------------------------------------------ helpers */

static void cs_set(struct cset *c, int i) { c->w[i >> 6] |= 1ull << (i & 63); }
static int cs_has(const struct cset *c, int i) { return (int)(c->w[i >> 6] >> (i & 63) & 1); }

static unsigned hash_str(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static const char *arena_put(struct intent_model *m, const char *s, size_t n)
{
	/* the arena never moves once terms point into it: sized at load from
	 * the file size (see intent_model_load), refused when full */
	if (m->asz + n + 1 > m->acap)
		return NULL;
	char *d = m->arena + m->asz;
	memcpy(d, s, n);
	d[n] = '\0';
	m->asz += n + 1;
	return d;
}

static int concept_find(const struct intent_model *m, const char *name)
{
	for (int i = 0; i < m->nconcepts; i++)
		if (!strcmp(m->names[i], name))
			return i;
	return -1;
}

/* ------------------------------------------------------------ loading */

struct loadctx {
	struct intent_model *m;
	struct lexicon *lx;
	const char *path;
	int line;
	char *err;
	size_t errlen;
	struct norm_text *nt; /* scratch for canonical forms */
};

static int fail(struct loadctx *c, const char *fmt, const char *a, const char *b)
{
	char msg[400];

	snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
	if (c->err && c->errlen && c->path)
		snprintf(c->err, c->errlen, "%s:%d: %s", c->path, c->line, msg);
	else if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s", msg);
	return -1;
}

/* Adds one term ("affich*", "numero de session", "SAIS") to concept ci.
 * Its words are folded and tokenised exactly as questions are, so
 * "délai d'affichage" becomes delai d affichage. */
static int add_term(struct loadctx *c, int ci, char *text)
{
	struct intent_model *m = c->m;
	struct term t;
	char *p = text, *save = NULL, *w;

	memset(&t, 0, sizeof t);
	t.concept = ci;
	t.next = -1;
	for (w = strtok_r(p, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		size_t wl = strlen(w);
		int prefix = 0, upper = 1, letters = 0;

		if (wl > 1 && w[wl - 1] == '*') {
			prefix = 1;
			w[--wl] = '\0';
		}
		for (size_t k = 0; k < wl; k++) {
			unsigned char ch = (unsigned char)w[k];
			if (ch < 0x80 && isalpha(ch)) {
				letters++;
				if (!isupper(ch))
					upper = 0;
			}
		}
		if (letters < 2)
			upper = 0;
		norm_text(NULL, w, wl, c->nt);
		if (c->nt->ntok == 0)
			return fail(c, "the term word \"%s\" has no letter or digit; remove it", w, NULL);
		for (int k = 0; k < c->nt->ntok; k++) {
			const struct fold_token *tk = &c->nt->tok[k];
			struct ttok *tt;

			if (t.ntok == IM_TERM_TOKS)
				return fail(c, "a phrase has more than 8 words (\"%s...\"); shorten it", text, NULL);
			tt = &t.tok[t.ntok++];
			if (!(tt->s = arena_put(m, tk->s, tk->len)))
				return fail(c, "%s", "too much text in the concepts", NULL);
			tt->len = tk->len;
			tt->upper = (unsigned char)upper;
			/* the star applies to the last token of the word */
			tt->prefix = (unsigned char)(prefix && k == c->nt->ntok - 1);
			if (tt->prefix && tk->len < 3)
				return fail(c, "the stem \"%s*\" is too short (3 letters at least)", tk->s, NULL);
			if (tt->prefix && tk->len >= 64)
				return fail(c, "the stem \"%s*\" is too long", tk->s, NULL);
			/* whole words feed the typo corrector's vocabulary */
			if (!tt->prefix && !upper && tk->len >= 3 && tk->s[0] >= 'a' && tk->s[0] <= 'z' &&
			    c->lx && lexicon_add_word(c->lx, tk->s) < 0)
				return fail(c, "cannot add \"%s\" to the vocabulary", tk->s, NULL);
		}
	}
	if (t.ntok == 0)
		return fail(c, "%s", "empty term (two commas in a row?); remove it", NULL);
	if (m->nterms == IM_MAX_TERMS)
		return fail(c, "%s", "more than 8192 terms; merge some concepts", NULL);
	if (m->nterms == m->termcap) {
		int nc = m->termcap ? m->termcap * 2 : 512;
		struct term *nt = realloc(m->terms, (size_t)nc * sizeof *nt);
		if (!nt)
			return fail(c, "%s", "out of memory", NULL);
		m->terms = nt;
		m->termcap = nc;
	}
	m->terms[m->nterms++] = t;
	return 0;
}

static int concept_line(struct loadctx *c, char *key, char *val)
{
	struct intent_model *m = c->m;
	int ci;
	char *t, *next;

	if (!*key || strlen(key) >= IM_NAME_MAX || key[0] == '@')
		return fail(c, "bad concept name \"%s\" (1-47 characters, not starting with @)", key, NULL);
	for (char *k = key; *k; k++)
		if (!(isalnum((unsigned char)*k) || *k == '_'))
			return fail(c, "bad concept name \"%s\": use letters, digits and _", key, NULL);
	ci = concept_find(m, key);
	if (ci < 0) {
		if (m->nconcepts == IM_MAX_CONCEPTS)
			return fail(c, "%s", "more than 256 concepts; merge some", NULL);
		ci = m->nconcepts++;
		snprintf(m->names[ci], IM_NAME_MAX, "%s", key);
	}
	if (!*val)
		return fail(c, "concept \"%s\" has no term; list words after =", key, NULL);
	/* not strtok: "a,,b" is a mistake to report, not to skip */
	for (t = val; t; t = next) {
		next = strchr(t, ',');
		if (next)
			*next++ = '\0';
		if (add_term(c, ci, trim(t)) < 0)
			return -1;
	}
	return 0;
}

static int parse_double(struct loadctx *c, const char *s, double *out, const char *what)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (end == s || *trim(end) || errno || !isfinite(*out))
		return fail(c, "%s is not a number (\"%s\"); write e.g. 2.5", what, s);
	return 0;
}

static int settings_line(struct loadctx *c, const char *key, char *val)
{
	struct intent_model *m = c->m;

	if (!strcmp(key, "threshold"))
		return parse_double(c, val, &m->threshold, "threshold");
	if (!strcmp(key, "auto_answer"))
		return parse_double(c, val, &m->auto_answer, "auto_answer");
	if (!strcmp(key, "platform_priority")) {
		char *save = NULL, *w;
		int r = 0;
		for (int i = 0; i < PF__COUNT; i++)
			m->pf_rank[i] = 100;
		for (w = strtok_r(val, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
			enum platform pf = platform_from_name(w);
			if (pf == PF_NONE)
				return fail(c, "unknown platform \"%s\"; use kairos aude france_travail rco regional", w, NULL);
			m->pf_rank[pf] = r++;
		}
		return 0;
	}
	return fail(c, "unknown setting \"%s\"; use threshold, auto_answer or platform_priority", key, NULL);
}

/* Calls fn for each section header (key and val NULL) and each line of an
 * INI file (key NULL on a line without '='), with the section. */
typedef int (*line_fn)(struct loadctx *c, const char *section, char *key, char *val);

struct ini_ctx {
	struct loadctx *c;
	line_fn fn;
};

static int ini_line(void *u, enum ini_ev ev, int line, const char *section,
		    const char *key, char *value, char *err, size_t errlen)
{
	struct ini_ctx *x = u;
	struct loadctx c = *x->c;

	if (ev != INI_SECTION && ev != INI_KEY)
		return 0;
	/* fail() writes the bare message: inifile.c puts path:line before it */
	c.path = NULL;
	c.err = err;
	c.errlen = errlen;
	return x->fn(&c, section, (char *)key, value);
}

static int read_ini(struct loadctx *c, const char *path, line_fn fn)
{
	struct ini_ctx x = { c, fn };

	c->path = path;
	c->line = 0;
	return inifile_read(path, IM_MAX_LINE, INI_BARE_LINES, ini_line, &x, c->err, c->errlen);
}

/* lexicon.ini: its sections are the lexicon's (lexicon_ini_line). */
static int lexicon_cb(struct loadctx *c, const char *section, char *key, char *val)
{
	char e[400]; /* fail() keeps as much */

	if (lexicon_ini_line(c->lx, section, key, val, e, sizeof e) < 0)
		return fail(c, "%s", e, NULL);
	return 0;
}

static int intents_cb(struct loadctx *c, const char *section, char *key, char *val)
{
	if (!val) {
		if (!strcmp(section, "settings") || !strcmp(section, "concepts"))
			return 0;
		if (!strncmp(section, "intent ", 7))
			return fail(c, "[%s]: intents are learned from examples now; move its "
				    "example lines to examples/NAME.jsonl and delete the section", section, NULL);
		return fail(c, "unknown section [%s]; use [settings] or [concepts]", section, NULL);
	}
	if (!key)
		return fail(c, "\"%s\" has no '='; write key = value", val, NULL);
	if (!strcmp(section, "settings"))
		return settings_line(c, key, val);
	return concept_line(c, key, val);
}

static int build_index(struct intent_model *m)
{
	unsigned sz = 64;

	while (sz < (unsigned)m->nterms * 4)
		sz <<= 1;
	m->hmask = sz - 1;
	m->hexact = malloc(sz * sizeof *m->hexact);
	m->hprefix = malloc(sz * sizeof *m->hprefix);
	if (!m->hexact || !m->hprefix)
		return -1;
	for (unsigned i = 0; i < sz; i++)
		m->hexact[i] = m->hprefix[i] = -1;
	/* chained through term.next; a bucket is keyed by the hash only, the
	 * match re-checks the text */
	for (int i = m->nterms - 1; i >= 0; i--) {
		struct term *t = &m->terms[i];
		unsigned h = hash_str(t->tok[0].s, t->tok[0].len) & m->hmask;
		int *tab = t->tok[0].prefix ? m->hprefix : m->hexact;

		t->next = tab[h];
		tab[h] = i;
		if (t->tok[0].prefix)
			m->plen_used[t->tok[0].len] = 1;
	}
	return 0;
}

void intent_model_free(struct intent_model *m)
{
	if (!m)
		return;
	lmodel_free(m->lm);
	free(m->terms);
	free(m->hexact);
	free(m->hprefix);
	free(m->arena);
	free(m);
}

/* stat(), not open(): a FIFO must not block here (read_ini refuses it). */
static long file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)TEXTFILE_MAX_SIZE)
		return 0;
	return (long)st.st_size;
}

static struct intent_model *load(const char *dir, struct lexicon *lx, int with_model,
				 char *err, size_t errlen)
{
	struct intent_model *m = calloc(1, sizeof *m);
	struct loadctx c;
	char lpath[512];
	static const char *const stnames[4] = {NULL, "state_SAIS", "state_DIFF", "state_ARCH"};
	static const char *const special[4] = {"filler", "valid", "notvalid", "negation"};

	if (err && errlen)
		err[0] = '\0';
	if (!m || !dir) {
		free(m);
		if (err && errlen)
			snprintf(err, errlen, "intent_model_load: out of memory or no directory");
		return NULL;
	}
	memset(&c, 0, sizeof c);
	c.m = m;
	c.lx = lx;
	c.err = err;
	c.errlen = errlen;
	snprintf(lpath, sizeof lpath, "%s/lexicon.ini", dir);
	snprintf(m->path, sizeof m->path, "%s/intents.ini", dir);
	m->threshold = 0.5;
	m->auto_answer = 0.8;
	m->fs = feat_default;
	snprintf(m->dir, sizeof m->dir, "%s", dir);
	for (int i = 0; i < PF__COUNT; i++)
		m->pf_rank[i] = i;
	for (int i = 0; i < PC__COUNT; i++)
		snprintf(m->names[m->nconcepts++], IM_NAME_MAX, "%s", pseudo_name[i]);
	m->acap = (size_t)file_size(m->path) + 4096;
	m->arena = malloc(m->acap);
	c.nt = malloc(sizeof *c.nt);
	if (!m->arena || !c.nt) {
		if (err && errlen)
			snprintf(err, errlen, "intent_model_load: out of memory");
		goto bad;
	}
	if (lx && read_ini(&c, lpath, lexicon_cb) < 0)
		goto bad;
	if (read_ini(&c, m->path, intents_cb) < 0)
		goto bad;
	c.line = 0;
	for (int p = PF_KAIROS; p < PF__COUNT; p++) {
		char nm[IM_NAME_MAX];
		snprintf(nm, sizeof nm, "platform_%s", platform_name((enum platform)p));
		if ((m->pf_concept[p] = concept_find(m, nm)) < 0) {
			fail(&c, "concept \"%s\" is missing; the platform slot needs it under [concepts]", nm, NULL);
			goto bad;
		}
	}
	m->pf_concept[PF_NONE] = -1;
	m->st_concept[0] = -1;
	for (int s = 1; s < 4; s++)
		if ((m->st_concept[s] = concept_find(m, stnames[s])) < 0) {
			fail(&c, "concept \"%s\" is missing; the state slot needs it under [concepts]", stnames[s], NULL);
			goto bad;
		}
	{
		int *dst[4] = {&m->c_filler, &m->c_valid, &m->c_notvalid, &m->c_neg};
		for (int s = 0; s < 4; s++)
			if ((*dst[s] = concept_find(m, special[s])) < 0) {
				fail(&c, "concept \"%s\" is missing; the analyser needs it under [concepts]", special[s], NULL);
				goto bad;
			}
	}
	m->c_intro = concept_find(m, "intro");
	if (build_index(m) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "intent_model_load: out of memory");
		goto bad;
	}
	for (int i = 0; i < m->nconcepts; i++) {
		char nm[IM_NAME_MAX + 2];
		int n = snprintf(nm, sizeof nm, "c:%s", m->names[i]);
		m->chash[i] = feat_hash(nm, (size_t)n);
	}
	if (with_model) {
		char mpath[600];
		struct lmodel *lm;
		snprintf(mpath, sizeof mpath, "%s/model.bin", dir);
		if (!(lm = lmodel_load(mpath, err, errlen)))
			goto bad;
		if (intent_model_attach(m, lm, err, errlen) < 0) {
			lmodel_free(lm);
			goto bad;
		}
	}
	free(c.nt);
	return m;
bad:
	free(c.nt);
	intent_model_free(m);
	return NULL;
}

struct intent_model *intent_model_load(const char *dir, struct lexicon *lx,
				       char *err, size_t errlen)
{
	return load(dir, lx, 1, err, errlen);
}

struct intent_model *intent_model_load_untrained(const char *dir, struct lexicon *lx,
						 char *err, size_t errlen)
{
	return load(dir, lx, 0, err, errlen);
}

int intent_model_attach(struct intent_model *m, struct lmodel *lm, char *err, size_t errlen)
{
	int ndyn = 0, has_oos = 0;
	int cls[LMODEL_MAX_CLASS];
	char dyn[LMODEL_MAX_CLASS][LMODEL_NAME];

	for (int k = 0; k < lmodel_nclass(lm); k++) {
		const char *nm = lmodel_class(lm, k);
		/* "chatter": channel talk that asks nothing; a class of its own
		 * for the model (it is not a near-miss question), out_of_scope
		 * for everyone else */
		int in = !strcmp(nm, "chatter") ? IN_OUT_OF_SCOPE : intent_from_name(nm);
		if (in < 0) {
			in = IN__COUNT + ndyn;
			snprintf(dyn[ndyn++], LMODEL_NAME, "%s", nm);
		}
		has_oos |= in == IN_OUT_OF_SCOPE;
		cls[k] = in;
	}
	if (!has_oos) {
		snprintf(err, errlen, "%s/model.bin: no out_of_scope class; add out_of_scope "
			 "examples to examples/NAME.jsonl and run `faqbot train`", m->dir);
		return -1;
	}
	lmodel_free(m->lm);
	m->lm = lm;
	m->fs = *lmodel_feat(lm);
	memcpy(m->cls_intent, cls, sizeof cls);
	memcpy(m->dyn, dyn, sizeof dyn);
	m->ndyn = ndyn;
	return 0;
}

const char *intent_model_name(const struct intent_model *m, int in)
{
	if (in >= IN__COUNT && m && in - IN__COUNT < m->ndyn)
		return m->dyn[in - IN__COUNT];
	return intent_name((enum intent)in);
}

const char *intent_query_name(const struct query *q)
{
	if ((int)q->intent >= IN__COUNT && q->name[0])
		return q->name;
	return intent_name(q->intent);
}

int intent_model_count(const struct intent_model *m)
{
	return IN__COUNT + (m ? m->ndyn : 0);
}

/* ----------------------------------------------------------- analysis */

struct match {
	struct cset have;
	short first[IM_MAX_CONCEPTS]; /* first token of each concept, -1 */
	unsigned char tc[NORM_MAX_TOKENS][IM_TOK_CONCEPTS];
	unsigned char ntc[NORM_MAX_TOKENS];
};

static int ttok_match(const struct ttok *tt, const struct fold_token *tk, int upper_ok)
{
	if (tt->upper && !(upper_ok && (tk->flags & FOLD_TOK_UPPER)))
		return 0;
	if (tt->prefix)
		return tk->len >= tt->len && !memcmp(tk->s, tt->s, tt->len);
	return tk->len == tt->len && !memcmp(tk->s, tt->s, tt->len);
}

static void note(struct match *mt, int concept, int from, int to)
{
	cs_set(&mt->have, concept);
	if (mt->first[concept] < 0)
		mt->first[concept] = (short)from;
	for (int k = from; k < to; k++) {
		int n = mt->ntc[k], j;
		for (j = 0; j < n && mt->tc[k][j] != concept; j++)
			;
		if (j == n && n < IM_TOK_CONCEPTS) {
			mt->tc[k][n] = (unsigned char)concept;
			mt->ntc[k] = (unsigned char)(n + 1);
		}
	}
}

static void try_chain(const struct intent_model *m, const struct norm_text *nt, int i,
		      int head, int upper_ok, struct match *mt)
{
	for (int ti = head; ti >= 0; ti = m->terms[ti].next) {
		const struct term *t = &m->terms[ti];
		int k;

		if (i + t->ntok > nt->ntok)
			continue;
		for (k = 0; k < t->ntok; k++)
			if (!ttok_match(&t->tok[k], &nt->tok[i + k], upper_ok) ||
			    (k > 0 && nt->tok[i + k].sent != nt->tok[i].sent))
				break;
		if (k == t->ntok)
			note(mt, t->concept, i, i + t->ntok);
	}
}

static void match_concepts(const struct intent_model *m, const struct norm_text *nt, struct match *mt)
{
	int up = 0, words = 0;

	/* in a message typed all in capitals, capitals mean nothing: "JE NE
	 * SAIS PAS" is not the state SAIS.  Three words in four: "DIFF, ARCH,
	 * SAIS c'est quoi ?" names states. */
	for (int i = 0; i < nt->ntok; i++)
		if (nt->tok[i].len >= 2 && !(nt->tok[i].flags & (FOLD_TOK_NUM | FOLD_TOK_DATE))) {
			words++;
			up += (nt->tok[i].flags & FOLD_TOK_UPPER) != 0;
		}
	int upper_ok = !(words >= 3 && up * 4 >= words * 3);

	memset(&mt->have, 0, sizeof mt->have);
	for (int c = 0; c < m->nconcepts; c++)
		mt->first[c] = -1;
	if (nt->ntok > 0)
		memset(mt->ntc, 0, (size_t)nt->ntok < sizeof mt->ntc ? (size_t)nt->ntok : sizeof mt->ntc);
	for (int i = 0; i < nt->ntok; i++) {
		const struct fold_token *tk = &nt->tok[i];

		try_chain(m, nt, i, m->hexact[hash_str(tk->s, tk->len) & m->hmask], upper_ok, mt);
		unsigned h = 2166136261u;
		for (unsigned l = 1; l <= tk->len && l < 64; l++) {
			h = (h ^ (unsigned char)tk->s[l - 1]) * 16777619u;
			if (m->plen_used[l])
				try_chain(m, nt, i, m->hprefix[h & m->hmask], upper_ok, mt);
		}
	}
}

/* The platform the question is about: among those named, a platform right
 * after a negation ("rien dans Kairos", "absent d'Aude") wins, then the
 * priority of [settings] (the apps before France Travail before RCO before
 * the regional site: a question names the far end of the chain it waits
 * for, e.g. "vert sur RCO mais rien dans Kairos"). */
static enum platform pick_platform(const struct intent_model *m, const struct norm_text *nt,
				   const struct match *mt)
{
	enum platform best = PF_NONE;
	int bestkey = 1 << 30;

	for (int p = PF_KAIROS; p < PF__COUNT; p++) {
		int c = m->pf_concept[p];
		if (!cs_has(&mt->have, c))
			continue;
		int neg = 0;
		for (int i = 0; i < nt->ntok && !neg; i++) {
			int isp = 0;
			for (int j = 0; j < mt->ntc[i]; j++)
				isp |= mt->tc[i][j] == c;
			if (!isp)
				continue;
			for (int k = i - 1; k >= 0 && k >= i - 5 && nt->tok[k].sent == nt->tok[i].sent; k--)
				for (int j = 0; j < mt->ntc[k]; j++)
					neg |= mt->tc[k][j] == m->c_neg;
		}
		int key = m->pf_rank[p] - (neg ? 1000 : 0);
		if (key < bestkey) {
			bestkey = key;
			best = (enum platform)p;
		}
	}
	return best;
}

/* The states named, in the order of their first mention: q->state, then
 * q->also[]. */
static void pick_states(const struct intent_model *m, const struct match *mt, struct query *q)
{
	int pos[4], n = 0;
	enum state_slot order[3];

	for (int s = 1; s < 4; s++) {
		int c = m->st_concept[s];
		if (!cs_has(&mt->have, c))
			continue;
		int i = n++;
		while (i > 0 && pos[i - 1] > mt->first[c]) {
			pos[i] = pos[i - 1];
			order[i] = order[i - 1];
			i--;
		}
		pos[i] = mt->first[c];
		order[i] = (enum state_slot)s;
	}
	q->state = n > 0 ? order[0] : STS_NONE;
	q->also[0] = n > 1 ? order[1] : STS_NONE;
	q->also[1] = n > 2 ? order[2] : STS_NONE;
}

static int tok_has(const struct match *mt, int i, int concept)
{
	for (int j = 0; j < mt->ntc[i]; j++)
		if (mt->tc[i][j] == concept)
			return 1;
	return 0;
}

/* Distance from the span [a, b) to the nearest token of concept c in the
 * same sentence, doubled, plus 1 when that token comes after the span: at
 * equal distance a date after the word wins, as French puts the date after
 * the verb ("on est mardi, validée vendredi").  A large number when there
 * is none. */
static int dist_to(const struct norm_text *nt, const struct match *mt, int a, int b, int c)
{
	int best = 1 << 20;
	unsigned sent = nt->tok[a].sent;

	for (int i = 0; i < nt->ntok; i++) {
		if (nt->tok[i].sent != sent || !tok_has(mt, i, c))
			continue;
		int d = i < a ? 2 * (a - i) : i >= b ? 2 * (i - b + 1) + 1 : 0;
		if (d < best)
			best = d;
	}
	return best;
}

/* The validation date: the expression nearest a valid* word of the same
 * sentence ("validée hier", "si Emfor valide demain"); without one, the
 * first date not tied to another event ("saisie le 3", "commence le 12"). */
static int pick_date(const struct intent_model *m, const struct norm_text *nt, const struct match *mt,
		     const struct datex *dx, int n, struct date *out)
{
	int best = -1, bestd = 1 << 30;

	for (int k = 0; k < n; k++) {
		int dv = dist_to(nt, mt, dx[k].tok_start, dx[k].tok_end, m->c_valid);
		int dn = dist_to(nt, mt, dx[k].tok_start, dx[k].tok_end, m->c_notvalid);
		int key;
		if (dn < dv && dn <= 9) /* within 4 words */
			continue;
		key = dv < (1 << 20) ? dv : (1 << 21) + k;
		if (key < bestd) {
			bestd = key;
			best = k;
		}
	}
	if (best < 0)
		return 0;
	*out = dx[best].date;
	return 1;
}

/* Content tokens outside the intent's own concepts and the filler words.
 * A self-introduction ("je suis Marie de l'AFPA", concept intro) and the
 * few words after it in its sentence are not counted: a name and an
 * organisation ask nothing, so "Bonjour, je suis X de Y" stays a greeting. */
static int count_other(const struct intent_model *m, const struct norm_text *nt,
		       const struct match *mt, const struct cset *own)
{
	int n = 0, skip = 0;
	unsigned skip_sent = 0;

	for (int i = 0; i < nt->ntok; i++) {
		int covered = 0;
		if (m->c_intro >= 0 && tok_has(mt, i, m->c_intro)) {
			skip = IM_INTRO_SKIP;
			skip_sent = nt->tok[i].sent;
			continue;
		}
		if (skip > 0 && nt->tok[i].sent == skip_sent) {
			skip--;
			continue;
		}
		skip = 0;
		for (int j = 0; j < mt->ntc[i] && !covered; j++)
			covered = mt->tc[i][j] == m->c_filler || cs_has(own, mt->tc[i][j]);
		n += !covered;
	}
	return n;
}

/* Length buckets: the shape of a message ("merci" vs a question). */
static int bucket(int n)
{
	static const int edge[] = {0, 1, 2, 3, 5, 8, 12, 20};
	int b = 0;
	while (b < (int)(sizeof edge / sizeof edge[0]) && n > edge[b])
		b++;
	return b;
}

/* Slots of q and the extra feature hashes (concepts, pseudo concepts,
 * shape); returns the number of extras. */
static int analyse_slots(const struct intent_model *m, const struct norm_text *nt,
			 const char *text, size_t len, struct date today, struct query *q,
			 uint32_t *extra)
{
	struct match mt;
	struct datex dx[IM_MAX_DATES];
	struct cset none;
	int ndx, n = 0;
	char nm[32];

	memset(q, 0, sizeof *q);
	q->intent = IN_OUT_OF_SCOPE;
	match_concepts(m, nt, &mt);
	ndx = datex_find_all(nt, today, dx, IM_MAX_DATES);
	q->has_date = ndx > 0 && pick_date(m, nt, &mt, dx, ndx, &q->validation);
	if (q->has_date)
		cs_set(&mt.have, PC_DATE);
	q->platform = pick_platform(m, nt, &mt);
	if (q->platform != PF_NONE)
		cs_set(&mt.have, PC_PLATFORM);
	pick_states(m, &mt, q);
	for (int i = 0; i < nt->ntok; i++)
		if ((nt->tok[i].flags & FOLD_TOK_NUM) && !(nt->tok[i].flags & FOLD_TOK_NUMWORD) &&
		    nt->tok[i].len >= IM_IDNUM_DIGITS) {
			cs_set(&mt.have, PC_IDNUM);
			break;
		}
	for (int c = 0; c < m->nconcepts && n < FEAT_MAX_EXTRA - 2; c++)
		if (cs_has(&mt.have, c))
			extra[n++] = m->chash[c];
	memset(&none, 0, sizeof none);
	int l = snprintf(nm, sizeof nm, "n:%d", bucket(nt->ntok));
	extra[n++] = feat_hash(nm, (size_t)l);
	l = snprintf(nm, sizeof nm, "u:%d", bucket(count_other(m, nt, &mt, &none)));
	extra[n++] = feat_hash(nm, (size_t)l);
	/* asked or stated: a question mark, and whether the message ends
	 * with one (norm.c keeps no punctuation) */
	size_t e = len;
	while (e > 0 && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\n' ||
			 text[e - 1] == '\r' || text[e - 1] == '!' || text[e - 1] == '.'))
		e--;
	if (len && memchr(text, '?', len < NORM_MAX_INPUT ? len : NORM_MAX_INPUT))
		extra[n++] = feat_hash("p:?", 3);
	if (e > 0 && text[e - 1] == '?')
		extra[n++] = feat_hash("p:?$", 4);
	return n;
}

/* In a question about the states, "sais", "diff" or "arch" typed in
 * lower case still name one ("sais ça veut dire quoi"), unless the word
 * is the verb ("je ne sais pas"). */
static void lower_state(const struct norm_text *nt, struct query *q)
{
	static const char *const w[4] = {NULL, "sais", "diff", "arch"};
	for (int i = 0; i < nt->ntok && q->state == STS_NONE; i++)
		for (int s = 1; s < 4; s++) {
			if (strcmp(nt->tok[i].s, w[s]))
				continue;
			const char *prev = i > 0 && nt->tok[i - 1].sent == nt->tok[i].sent
				? nt->tok[i - 1].s : "";
			if (s == STS_SAIS && (!strcmp(prev, "je") || !strcmp(prev, "ne") ||
					      !strcmp(prev, "j") || !strcmp(prev, "tu") ||
					      !strcmp(prev, "n") || !strcmp(prev, "pas")))
				continue;
			if (s == STS_SAIS && i + 1 < nt->ntok && (!strcmp(nt->tok[i + 1].s, "pas") ||
								    !strcmp(nt->tok[i + 1].s, "plus")))
				continue;
			q->state = (enum state_slot)s;
		}
}

static void analyse_nt(const struct intent_model *m, const struct norm_text *nt,
		       const char *text, size_t len, struct date today, struct query *q,
		       double *scores)
{
	uint32_t extra[FEAT_MAX_EXTRA];
	struct featvec fv;
	double prob[LMODEL_MAX_CLASS];
	int nextra = analyse_slots(m, nt, text, len, today, q, extra);

	if (scores)
		for (int i = 0; i < IN__COUNT; i++)
			scores[i] = 0;
	if (!m->lm) {
		snprintf(q->name, sizeof q->name, "%s", intent_name(IN_OUT_OF_SCOPE));
		return;
	}
	feat_extract(&m->fs, nt, extra, nextra, &fv);
	lmodel_predict(m->lm, &fv, prob);
	/* classes that give one intent add up (chatter and out_of_scope) */
	double pin[IN__COUNT + LMODEL_MAX_CLASS] = {0};
	int nc = lmodel_nclass(m->lm), best = IN_OUT_OF_SCOPE;
	for (int k = 0; k < nc; k++)
		pin[m->cls_intent[k]] += prob[k];
	for (int i = 0; i < IN__COUNT + m->ndyn; i++)
		if (pin[i] > pin[best])
			best = i;
	if (scores)
		for (int i = 0; i < IN__COUNT; i++)
			scores[i] = pin[i];
	int in = best;
	double conf = pin[best];
	if (in != IN_OUT_OF_SCOPE && conf < m->threshold) {
		/* honest: not sure enough of any answer */
		conf = 1.0 - conf;
		in = IN_OUT_OF_SCOPE;
	}
	q->intent = (enum intent)in;
	q->confidence = floor(conf * 100.0 + 0.5) / 100.0;
	if (in == IN_STATE)
		lower_state(nt, q);
	snprintf(q->name, sizeof q->name, "%s", intent_model_name(m, in));
}

void intent_analyse(const struct intent_model *m, const struct lexicon *lx,
		    const char *text, size_t len, struct date today, struct query *q)
{
	struct norm_text nt;

	norm_text(lx, text, len, &nt);
	analyse_nt(m, &nt, text, len, today, q, NULL);
}

void intent_analyse_nt(const struct intent_model *m, const struct lexicon *lx,
		       const char *text, size_t len, struct date today,
		       struct query *q, struct norm_text *nt)
{
	norm_text(lx, text, len, nt);
	analyse_nt(m, nt, text, len, today, q, NULL);
}

void intent_analyse_scores(const struct intent_model *m, const struct lexicon *lx,
			   const char *text, size_t len, struct date today,
			   struct query *q, double scores[IN__COUNT])
{
	struct norm_text nt;

	norm_text(lx, text, len, &nt);
	analyse_nt(m, &nt, text, len, today, q, scores);
}

void intent_features(const struct intent_model *m, const struct lexicon *lx,
		     const struct feat_settings *fs, const char *text, size_t len,
		     struct date today, struct featvec *out)
{
	struct norm_text nt;
	struct query q;
	uint32_t extra[FEAT_MAX_EXTRA];

	norm_text(lx, text, len, &nt);
	int nextra = analyse_slots(m, &nt, text, len, today, &q, extra);
	feat_extract(fs ? fs : &m->fs, &nt, extra, nextra, out);
}

int intent_model_check(const struct intent_model *m, char *err, size_t errlen)
{
	char hash[LMODEL_HASH];

	if (err && errlen)
		err[0] = '\0';
	if (!m->lm) {
		snprintf(err, errlen, "%s/model.bin: no model; run `faqbot train`", m->dir);
		return 1;
	}
	if (examples_hash(m->dir, lmodel_settings(m->lm), hash, err, errlen) < 0)
		return 1;
	if (strcmp(hash, lmodel_hash(m->lm))) {
		snprintf(err, errlen, "%s/model.bin: older than the examples, intents.ini or "
			 "lexicon.ini it was trained from; run `faqbot train` (then `faqbot check`)",
			 m->dir);
		return 1;
	}
	return 0;
}
