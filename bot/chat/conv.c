/* conv.c - conversations (conv.h): which messages are follow-ups, how they
 * are completed from the asker's last question, and a bounded table of
 * conversations (fixed-size entries, chained hash + LRU list, idle ones
 * forgotten after the timeout).
 *
 * A follow-up is told by its words alone: the message is normalised
 * (norm.h), its date expressions found (datex.h), then every token must be
 * filler, a follow-up marker, or part of a platform or state name; platform
 * and state names the lists below do not know are recognised by asking the
 * engine about a window of 1 to 3 tokens.  No confidence threshold is used,
 * so the verdict does not move when the classifier is retrained. */
#include "conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answers.h"
#include "datex.h"
#include "kb.h"
#include "rules.h"

#define CONV_MAX_DATES 8
#define CONV_WINDOW 3       /* tokens tried together for a platform name */
#define CONV_MAX_WINDOWS 12 /* engine calls per message, at most */
#define CONV_MAX_UNKNOWN 2  /* words outside the lists worth a look */

/* ---- the words of a follow-up ---- */

/* Words that carry no topic: articles, prepositions, pronouns, auxiliaries,
 * the record's names, the validation verb, question words and chat filler.
 * Folded as norm_text writes them (no accents, SMS spellings rewritten).
 * Sorted for bsearch. */
static const char *const filler[] = {
	"a", "accord", "action", "actions", "admettons", "ah", "ai", "alors",
	"apparemment", "apres", "as", "au", "aura", "auraient", "aurais",
	"aurait", "aussi", "autre", "aux", "avaient", "avait", "avec", "avez",
	"avons", "bah", "ben", "bien", "bon", "bonjour", "bonsoir", "c", "ca",
	"cas", "ce", "cela", "cest", "cet", "cette", "chez", "chose",
	"collegue", "combien", "confirme", "correction", "cote", "coucou",
	"crois", "d", "dac", "daccord", "dans", "dapres", "date", "de",
	"deja", "depuis", "des", "dire", "disais", "disait", "disons", "dit",
	"donc", "donne", "donnerait", "dossier", "du", "effectuee", "elle",
	"elles", "en", "encore", "enfin", "ensuite", "environ", "equipe",
	"erreur", "est", "et", "etait", "ete", "etre", "eu", "euh",
	"exactement", "exemple", "fait", "faite", "fiche", "fiches",
	"formateur", "formation", "formations", "formatrice", "hein", "hello",
	"hmm", "hum", "hypothese", "idem", "il", "ils", "imaginons",
	"indique", "intervenue", "j", "je", "jour", "juste", "l", "la", "le",
	"les", "leur", "lieu", "lui", "m", "ma", "mais", "me", "meme", "mes",
	"mettons", "moi", "mon", "n", "ne", "niveau", "non", "normalement",
	"nos", "notre", "nous", "obtenue", "of", "offre", "oh", "ok", "okay",
	"oki", "on", "ont", "organisme", "organismes", "ou", "oui", "par",
	"parait", "pardon", "pareil", "passe", "passee", "pense", "plait",
	"please", "pls", "plus", "plutot", "pour", "precis", "precisement",
	"puis", "qu", "quand", "que", "question", "qui", "quoi", "re",
	"rebonjour", "s", "sa", "salut", "sauf", "se", "selon", "semble",
	"sera", "serait", "seront", "ses", "session", "sessions", "si",
	"signale", "sinon", "son", "sont", "stp", "suis", "supposons", "sur",
	"svp", "t", "ta", "te", "tes", "ton", "trompe", "trompee", "tu", "un",
	"une", "validation", "valide", "validee", "validees", "valider",
	"valides", "vers", "veux", "visiblement", "voila", "vos", "votre",
	"voulais", "vous", "y",
};

/* Platform and state names, in part or whole ("site régional", "réseau des
 * Carif-Oref", "en cours de saisie").  Sorted. */
static const char *const slotword[] = {
	"appli", "application", "arch", "archive", "archivee", "aude", "base",
	"bases", "carif", "cariforef", "cours", "diff", "diffuse", "diffusee",
	"emfor", "emploi", "etat", "france", "francetravail", "ft",
	"intercarif", "intercariforef", "kairos", "national", "nationale",
	"oref", "pe", "plateforme", "pole", "portail", "rco", "regional",
	"regionale", "reseau", "sais", "saisie", "site", "sites", "statut",
	"travail",
};

/* Words a follow-up may start with before its marker ("ok et pour RCO"). */
static const char *const opener[] = {
	"ah", "alors", "bon", "d", "daccord", "accord", "euh", "merci", "oh", "ok",
	"okay", "oki", "oui", "non", "parfait", "super", "top", "tres", "bien",
	"thx", "thanks", "cool", "nickel", "genial", "beaucoup", "entendu", "compris",
	"sinon", /* "sinon" alone changes the subject: not a marker */
};

/* A follow-up's first word ("et pour Kairos ?", "pareil pour RCO"). */
static const char *const markers[] = {
	"aussi", "et", "idem", "meme", "pareil", "plus", "puis",
};

/* The names of the record (domain.md: fiche, formation, session, action). */
static int record_word(const char *w)
{
	return !strcmp(w, "session") || !strcmp(w, "formation") || !strcmp(w, "fiche") ||
	       !strcmp(w, "action") || !strcmp(w, "sessions") || !strcmp(w, "formations");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int in_sorted(const char *const *list, size_t n, const char *w)
{
	return bsearch(&w, list, n, sizeof *list, cmp_str) != NULL;
}

static int in_list(const char *const *list, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], w))
			return 1;
	return 0;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Asks the engine whether tokens [i, j) name a platform or a state. */
static int names_slot(const struct kb *kb, const struct norm_text *nt, int i, int j,
		      struct date today)
{
	char buf[256];
	size_t n = 0;
	struct query q;
	for (int k = i; k < j; k++) {
		size_t l = nt->tok[k].len;
		if (n + l + 2 > sizeof buf)
			return 0;
		if (n)
			buf[n++] = ' ';
		memcpy(buf + n, nt->tok[k].s, l);
		n += l;
	}
	buf[n] = 0;
	intent_analyse(kb_intents(kb), kb_lexicon(kb), buf, n, today, &q);
	return q.platform != PF_NONE || q.state != STS_NONE;
}

void conv_shape(const struct kb *kb, const char *text, size_t len, struct date today,
		const struct query *alone, struct norm_text *nt, struct conv_shape *sh)
{
	norm_text(kb_lexicon(kb), text, len, nt);
	conv_shape_nt(kb, nt, today, alone, sh);
}

void conv_shape_nt(const struct kb *kb, const struct norm_text *nt, struct date today,
		   const struct query *alone, struct conv_shape *sh)
{
	unsigned char mark[NORM_MAX_TOKENS];
	struct datex dx[CONV_MAX_DATES];
	int nd, i, windows = 0;

	memset(sh, 0, sizeof *sh);
	if (nt->ntok <= 0)
		return;
	memset(mark, 0, (size_t)nt->ntok);
	nd = datex_find_all(nt, today, dx, CONV_MAX_DATES);
	for (i = 0; i < nd; i++) {
		for (int k = dx[i].tok_start; k < dx[i].tok_end && k < nt->ntok; k++)
			if (k >= 0)
				mark[k] = 1;
		sh->has_date = 1;
		sh->date = dx[i].date;
	}
	for (i = 0; i < nt->ntok; i++)
		if (!mark[i])
			mark[i] = in_sorted(filler, NELEM(filler), nt->tok[i].s) ? 2
				  : in_sorted(slotword, NELEM(slotword), nt->tok[i].s) ? 4 : 0;
	/* the marker: the first word after an opener */
	for (i = 0; i < nt->ntok && in_list(opener, NELEM(opener), nt->tok[i].s); i++)
		;
	if (i < nt->ntok && in_list(markers, NELEM(markers), nt->tok[i].s)) {
		sh->marker = 1;
		/* "ok merci, et pour RCO ?": the thanks before a marker are filler */
		for (int k = 0; k < i; k++)
			if (!mark[k])
				mark[k] = 2;
	}
	/* the same session ("elle", "cette session") or another one ("une
	 * autre session", "une formation") */
	for (i = 0; i < nt->ntok; i++) {
		const char *w = nt->tok[i].s, *nx = i + 1 < nt->ntok ? nt->tok[i + 1].s : "";
		if (!strcmp(w, "elle") || !strcmp(w, "celle") ||
		    ((!strcmp(w, "cette") || !strcmp(w, "meme")) && record_word(nx)))
			sh->anaphora = 1;
		if (!strcmp(w, "autre") || !strcmp(w, "autres") ||
		    ((!strcmp(w, "une") || !strcmp(w, "un")) && record_word(nx)))
			sh->new_record = 1;
	}
	/* "et regional ?": the adjective alone names the platform for a
	 * follow-up even where the engine wants "site régional" */
	for (i = 0; i < nt->ntok && !sh->platform; i++)
		sh->platform = !strcmp(nt->tok[i].s, "regional") || !strcmp(nt->tok[i].s, "regionale")
			       ? PF_REGIONAL
			       : !strcmp(nt->tok[i].s, "national") || !strcmp(nt->tok[i].s, "nationale")
			       ? PF_RCO : PF_NONE;
	/* a state code however typed ("et sais"): the engine may take the
	 * lowercase word for the verb; in a talk about states it is the code */
	for (i = 0; i < nt->ntok && !sh->state; i++)
		sh->state = !strcmp(nt->tok[i].s, "sais") ? STS_SAIS :
			    !strcmp(nt->tok[i].s, "diff") ? STS_DIFF :
			    !strcmp(nt->tok[i].s, "arch") ? STS_ARCH : STS_NONE;
	/* words left: a platform or state name the lists do not know?  Asked
	 * only about one or two words: more is a sentence with a topic */
	int left = 0, named = 0;
	for (i = 0; i < nt->ntok; i++) {
		left += !mark[i];
		named |= mark[i] == 4;
	}
	/* nor when the engine found no platform or state in the whole
	 * message, or the lists already found the name it found */
	if (alone && (named || (alone->platform == PF_NONE && alone->state == STS_NONE)))
		left += CONV_MAX_UNKNOWN + 1;
	if (left > CONV_MAX_UNKNOWN) {
		for (i = 0; i < nt->ntok; i++)
			sh->topical += !mark[i];
		sh->slot_only = sh->topical == 0;
		return;
	}
	for (i = 0; i < nt->ntok; i++) {
		if (mark[i])
			continue;
		for (int w = 1; w <= CONV_WINDOW && i + w <= nt->ntok; w++) {
			if (mark[i + w - 1] == 1)
				break;
			/* a name does not end on filler ("visible ma session") */
			if (mark[i + w - 1] == 2)
				continue;
			if (++windows > CONV_MAX_WINDOWS)
				break;
			if (names_slot(kb, nt, i, i + w, today)) {
				/* only when token i is part of the name: "remboursement
				 * sur kairos" names Kairos without "remboursement" */
				if (w > 1 && names_slot(kb, nt, i + 1, i + w, today))
					break;
				for (int k = i; k < i + w; k++)
					if (!mark[k])
						mark[k] = 3;
				break;
			}
		}
		if (!mark[i])
			sh->topical++;
	}
	sh->slot_only = sh->topical == 0;
}

/* ---- completing a question ---- */

static int content_intent(int in)
{
	return in >= IN_DISPLAY_DELAY && in <= IN_VALIDATION_PROCESS;
}

void conv_complete(const struct conv_last *prev, int asked, const struct conv_shape *sh,
		   const struct query *alone, struct conv_result *out)
{
	struct query *q = &out->q;
	int has_pf = alone->platform != PF_NONE, has_st = alone->state != STS_NONE;
	enum state_slot st = alone->state;
	enum platform pf = alone->platform;
	int has_dt = alone->has_date || sh->has_date;
	struct date dt = alone->has_date ? alone->validation : sh->date;

	memset(out, 0, sizeof *out);
	*q = *alone;
	if (!prev)
		return;
	if (prev->intent == IN_OUT_OF_SCOPE) {
		/* a fragment: slots said alone before ("validée hier", "kairos ?") */
		if (!has_pf && sh->platform != PF_NONE && sh->slot_only) {
			has_pf = 1;
			pf = (enum platform)sh->platform;
		}
		if (sh->slot_only && (has_pf || has_dt) && (has_dt || prev->has_date)) {
			q->intent = IN_DISPLAY_DELAY; /* together they ask when it shows */
		} else if (alone->intent != IN_DISPLAY_DELAY || sh->new_record) {
			return;
		}
		if (!has_pf && prev->platform != PF_NONE) {
			q->platform = (enum platform)prev->platform;
			out->took_platform = 1;
		} else if (has_pf) {
			q->platform = pf;
		}
		if (!has_dt && prev->has_date) {
			q->has_date = 1;
			q->validation = prev->validation;
			out->took_date = 1;
		} else if (has_dt) {
			q->has_date = 1;
			q->validation = dt;
		}
		out->followup = out->took_platform || out->took_date || alone->intent != q->intent;
		return;
	}
	if (!content_intent(prev->intent))
		return;
	if (!has_pf && sh->platform != PF_NONE && sh->slot_only) {
		has_pf = 1;
		pf = (enum platform)sh->platform;
	}
	if (!has_st && sh->state != STS_NONE && prev->intent == IN_STATE) {
		has_st = 1;
		st = (enum state_slot)sh->state;
	}
	if (sh->slot_only && (has_pf || has_st || has_dt)) {
		/* A slot alone: what it says replaces what it changes. */
		int in = prev->intent;
		if (has_dt)
			in = IN_DISPLAY_DELAY; /* a date asks when it shows */
		else if (has_pf && (in == IN_DEFINITION || in == IN_STAGES ||
				    in == IN_VALIDATION_PROCESS))
			in = IN_DISPLAY_DELAY;
		else if (has_st && !has_pf && in != IN_STATE)
			return; /* "et DIFF ?" after another subject: a question alone */
		q->intent = (enum intent)in;
		out->took_intent = in == prev->intent;
		if (prev->confidence > q->confidence || (int)alone->intent != in)
			q->confidence = prev->confidence;
		if (has_pf) {
			q->platform = pf;
		} else {
			q->platform = (enum platform)prev->platform;
			out->took_platform = q->platform != PF_NONE;
		}
		if (has_st) {
			q->state = st;
		} else if (in == IN_STATE) {
			q->state = (enum state_slot)prev->state;
			q->also[0] = q->also[1] = STS_NONE;
			out->took_state = q->state != STS_NONE;
		}
		if (has_dt) {
			q->has_date = 1;
			q->validation = dt;
			out->answers_ask = asked;
		} else if (prev->has_date && in == IN_DISPLAY_DELAY && !sh->new_record) {
			q->has_date = 1;
			q->validation = prev->validation;
			out->took_date = 1;
		} else {
			q->has_date = 0;
		}
		/* "c'est quoi l'état ARCH ?" after DIFF asks anew: a follow-up when
		 * it took something, says it continues, or answers the ask */
		out->followup = out->took_platform || out->took_date || out->took_state ||
				(int)alone->intent != in || sh->marker || out->answers_ask;
		return;
	}
	if ((sh->marker || sh->anaphora) && !sh->new_record && content_intent(alone->intent) &&
	    (int)alone->intent == (int)prev->intent) {
		/* "et sur RCO, ça prend combien de temps ?", "quand sera-t-elle sur
		 * RCO ?": a question of the same kind that says it continues, or
		 * speaks of the same session: what it leaves out is kept. */
		if (!has_pf && prev->platform != PF_NONE) {
			q->platform = (enum platform)prev->platform;
			out->took_platform = 1;
		}
		if (!has_dt && prev->has_date && alone->intent == IN_DISPLAY_DELAY) {
			q->has_date = 1;
			q->validation = prev->validation;
			out->took_date = 1;
		}
		out->followup = out->took_platform || out->took_date;
		return;
	}
	if (asked && has_dt && !has_pf && alone->intent == IN_DISPLAY_DELAY &&
	    prev->platform != PF_NONE) {
		/* the date the bot asked for, with the question asked again */
		q->platform = (enum platform)prev->platform;
		out->took_platform = 1;
		out->answers_ask = 1;
		out->followup = 1;
	}
}

/* ---- the table ---- */

struct conv_entry {
	char key[CONV_KEY_MAX];
	uint32_t hnext;        /* bucket chain: index + 1, 0 = end */
	uint32_t older, newer; /* LRU list: index + 1, 0 = none */
	int64_t last_ms;       /* last message of the conversation */
	int64_t asked_ms;      /* when the bot asked for the date; valid if asked */
	struct conv_last last;
	unsigned char used, asked;
};

struct conv_table {
	struct conv_entry *e;
	uint32_t *bucket;      /* index + 1 of the chain's first entry */
	uint32_t cap, nbucket, count, hiwater, freelist;
	uint32_t oldest, newest; /* LRU ends: index + 1 */
	uint64_t seed;
	int64_t timeout_ms;
	struct norm_text nt;       /* scratch for conv_shape */
	struct reply tmp;
};

struct conv_table *conv_new(unsigned cap, int64_t timeout_ms)
{
	struct conv_table *t;
	if (!cap)
		cap = CONV_CAP_DEFAULT;
	if (cap > (1u << 24))
		return NULL;
	if (!(t = calloc(1, sizeof *t)))
		return NULL;
	t->cap = cap;
	t->nbucket = 16;
	while (t->nbucket < cap)
		t->nbucket <<= 1;
	/* calloc: pages of entries never used are never touched */
	t->e = calloc(cap, sizeof *t->e);
	t->bucket = calloc(t->nbucket, sizeof *t->bucket);
	if (!t->e || !t->bucket) {
		conv_free(t);
		return NULL;
	}
	t->seed = (uint64_t)(uintptr_t)t ^ ((uint64_t)time(NULL) << 20) ^ 0x9e3779b97f4a7c15ULL;
	t->timeout_ms = timeout_ms;
	return t;
}

void conv_free(struct conv_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t->bucket);
	free(t);
}

void conv_set_timeout(struct conv_table *t, int64_t timeout_ms)
{
	if (t)
		t->timeout_ms = timeout_ms;
}

unsigned conv_count(const struct conv_table *t)
{
	return t ? t->count : 0;
}

static uint64_t hash_key(const struct conv_table *t, const char *s)
{
	uint64_t h = 1469598103934665603ULL ^ t->seed;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (h >> 29);
}

/* network \x1f room \x1f thread \x1f user; -1 when too long. */
static int make_key(const struct conv_key *k, int with_thread, char out[CONV_KEY_MAX])
{
	int n = snprintf(out, CONV_KEY_MAX, "%s\x1f%s\x1f%s\x1f%s",
			 k->network ? k->network : "", k->room ? k->room : "",
			 with_thread && k->thread ? k->thread : "", k->user ? k->user : "");
	return n < 0 || n >= CONV_KEY_MAX ? -1 : 0;
}

static void lru_unlink(struct conv_table *t, uint32_t i)
{
	struct conv_entry *e = &t->e[i];
	if (e->older)
		t->e[e->older - 1].newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		t->e[e->newer - 1].older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = 0;
}

static void lru_push(struct conv_table *t, uint32_t i)
{
	struct conv_entry *e = &t->e[i];
	e->older = t->newest;
	e->newer = 0;
	if (t->newest)
		t->e[t->newest - 1].newer = i + 1;
	else
		t->oldest = i + 1;
	t->newest = i + 1;
}

static void drop(struct conv_table *t, uint32_t i)
{
	struct conv_entry *e = &t->e[i];
	uint32_t *p = &t->bucket[hash_key(t, e->key) & (t->nbucket - 1)];
	while (*p && *p != i + 1)
		p = &t->e[*p - 1].hnext;
	if (*p)
		*p = e->hnext;
	lru_unlink(t, i);
	memset(e, 0, sizeof *e);
	e->hnext = t->freelist;
	t->freelist = i + 1;
	t->count--;
}

static int expired(const struct conv_table *t, const struct conv_entry *e, int64_t now_ms)
{
	return now_ms - e->last_ms > t->timeout_ms;
}

/* Forgets the idle conversations at the old end of the list. */
static void purge(struct conv_table *t, int64_t now_ms)
{
	int n = 0;
	while (t->oldest && n++ < 64 && expired(t, &t->e[t->oldest - 1], now_ms))
		drop(t, t->oldest - 1);
}

/* The live entry for key, or NULL (an expired one is dropped). */
static struct conv_entry *find(struct conv_table *t, const char *key, int64_t now_ms)
{
	uint32_t i = t->bucket[hash_key(t, key) & (t->nbucket - 1)];
	while (i) {
		struct conv_entry *e = &t->e[i - 1];
		if (!strcmp(e->key, key)) {
			if (expired(t, e, now_ms)) {
				drop(t, i - 1);
				return NULL;
			}
			return e;
		}
		i = e->hnext;
	}
	return NULL;
}

static struct conv_entry *insert(struct conv_table *t, const char *key, int64_t now_ms)
{
	uint32_t i, *b;
	struct conv_entry *e;
	if (t->count >= t->cap && t->oldest)
		drop(t, t->oldest - 1); /* full: the least recently used goes */
	if (t->freelist) {
		i = t->freelist - 1;
		t->freelist = t->e[i].hnext;
	} else if (t->hiwater < t->cap) {
		i = t->hiwater++;
	} else {
		return NULL;
	}
	e = &t->e[i];
	memset(e, 0, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", key);
	e->used = 1;
	e->last_ms = now_ms;
	b = &t->bucket[hash_key(t, key) & (t->nbucket - 1)];
	e->hnext = *b;
	*b = i + 1;
	lru_push(t, i);
	t->count++;
	return e;
}

static void touch(struct conv_table *t, struct conv_entry *e, int64_t now_ms)
{
	uint32_t i = (uint32_t)(e - t->e);
	e->last_ms = now_ms;
	lru_unlink(t, i);
	lru_push(t, i);
}

void conv_forget(struct conv_table *t, const struct conv_key *k)
{
	char key[CONV_KEY_MAX];
	if (!t || make_key(k, 1, key) < 0)
		return;
	struct conv_entry *e = find(t, key, INT64_MIN / 4);
	if (e)
		drop(t, (uint32_t)(e - t->e));
}

/* ---- one turn ---- */

static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static const char *platform_label(enum platform pf)
{
	switch (pf) {
	case PF_KAIROS: return "Kairos";
	case PF_AUDE: return "Aude Formation";
	case PF_FRANCE_TRAVAIL: return "France Travail";
	case PF_RCO: return "RCO";
	case PF_REGIONAL: return "le site régional";
	default: return NULL;
	}
}

/* "Pour Kairos, avec une validation le mardi 24 novembre : " before the
 * answer, when it rests on slots the message did not give. */
static void add_assumption(struct reply *r, struct date today)
{
	char pre[160], day[48];
	const char *pf = platform_label(r->q.platform);
	int n;
	if (r->q.has_date) {
		size_t dl = answers_format_date(r->q.validation, day, sizeof day);
		if (r->q.validation.y == today.y && dl > 5)
			day[dl - 5] = 0; /* the year goes without saying */
	}
	if (pf && r->q.has_date)
		n = snprintf(pre, sizeof pre, "Pour %s, avec une validation le %s : ", pf, day);
	else if (pf)
		n = snprintf(pre, sizeof pre, "Pour %s : ", pf);
	else if (r->q.has_date)
		n = snprintf(pre, sizeof pre, "Avec une validation le %s : ", day);
	else
		return;
	if (n <= 0 || (size_t)n >= sizeof pre)
		return;
	size_t keep = r->len;
	if ((size_t)n + keep >= sizeof r->text) {
		keep = sizeof r->text - 1 - (size_t)n;
		while (keep > 0 && ((unsigned char)r->text[keep] & 0xC0) == 0x80)
			keep--;
	}
	memmove(r->text + n, r->text, keep);
	memcpy(r->text, pre, (size_t)n);
	r->len = (size_t)n + keep;
	r->text[r->len] = 0;
}

/* fragment: q is out of scope but the message was only slots ("validée
 * hier"): kept, unless a real question is, so the next message can
 * complete it. */
static void remember(struct conv_table *t, struct conv_entry *e, const char *key,
		     const struct query *q, int64_t now_ms, int fragment)
{
	if (!content_intent(q->intent) &&
	    !(fragment && (!e || e->last.intent == IN_OUT_OF_SCOPE))) {
		if (e)
			touch(t, e, now_ms); /* chatter keeps it alive, changes nothing */
		return;
	}
	if (!e && !(e = insert(t, key, now_ms)))
		return;
	touch(t, e, now_ms);
	e->last.intent = (unsigned char)q->intent;
	e->last.platform = (unsigned char)q->platform;
	e->last.state = (unsigned char)q->state;
	e->last.has_date = (unsigned char)(q->has_date != 0);
	e->last.validation = q->validation;
	e->last.confidence = (float)q->confidence;
	/* display_delay and definition without a date end by asking for it */
	e->asked = !q->has_date && (q->intent == IN_DISPLAY_DELAY || q->intent == IN_DEFINITION);
	e->asked_ms = now_ms;
}

int conv_ask(struct conv_table *t, const struct kb *kb, const struct conv_key *k,
	     const char *text, size_t len, struct date today, int64_t now_ms,
	     struct reply *out, int *followup)
{
	char key[CONV_KEY_MAX], parent[CONV_KEY_MAX];
	struct conv_entry *e = NULL, *pe = NULL;
	struct conv_last prev;
	struct conv_shape sh;
	struct conv_result res;
	struct query alone, kept;
	int have = 0, asked = 0, promoted, r;

	if (followup)
		*followup = 0;
	if (!t || t->timeout_ms <= 0 || !k || make_key(k, 1, key) < 0 || !text || blank(text, len))
		return ask_question(kb, text, len, today, out);
	purge(t, now_ms);
	if ((e = find(t, key, now_ms))) {
		prev = e->last;
		asked = e->asked;
		have = 1;
	} else if (k->thread && make_key(k, 0, parent) == 0 && (pe = find(t, parent, now_ms))) {
		/* a thread opened on the conversation continues it */
		prev = pe->last;
		asked = pe->asked;
		have = 1;
		touch(t, pe, now_ms);
	}
	intent_analyse_nt(kb_intents(kb), kb_lexicon(kb), text, len, today, &alone, &t->nt);
	memset(&sh, 0, sizeof sh);
	if (have || (alone.intent == IN_OUT_OF_SCOPE && (alone.platform != PF_NONE || alone.has_date)))
		conv_shape_nt(kb, &t->nt, today, &alone, &sh);
	if (have) {
		conv_complete(&prev, asked && now_ms - (e ? e->asked_ms : pe->asked_ms) <=
				  t->timeout_ms, &sh, &alone, &res);
	} else {
		memset(&res, 0, sizeof res);
		res.q = alone;
	}
	/* "ma session a été validée vendredi", said alone: a validation date
	 * is told to learn when the session shows, so it gets the delays from
	 * that date; it stays a fragment for the next message ("et sur
	 * Kairos ?" takes the date) */
	promoted = res.q.intent == IN_OUT_OF_SCOPE && sh.slot_only && !sh.marker && res.q.has_date;
	if (promoted)
		res.q.intent = IN_DISPLAY_DELAY;
	if ((r = ask_render(kb, &res.q, today, out)) < 0)
		return r;
	if (res.followup && (res.took_date || (res.took_platform && !res.answers_ask)))
		add_assumption(out, today);
	if (followup)
		*followup = res.followup;
	/* the rendered question: an out-of-range date was dropped by ask_render */
	kept = out->q;
	if (promoted && kept.intent == IN_DISPLAY_DELAY)
		kept.intent = IN_OUT_OF_SCOPE;
	remember(t, e, key, &kept, now_ms,
		 sh.slot_only && kept.intent == IN_OUT_OF_SCOPE &&
		 (kept.platform != PF_NONE || kept.has_date));
	return 0;
}

int conv_date_reply(struct conv_table *t, const struct kb *kb, const struct conv_key *k,
		    const char *text, size_t len, struct date today, int64_t now_ms)
{
	char key[CONV_KEY_MAX];
	struct conv_entry *e;
	struct conv_shape sh;

	if (!t || t->timeout_ms <= 0 || !k || !text || make_key(k, 1, key) < 0)
		return 0;
	if (!(e = find(t, key, now_ms)) || !e->asked || now_ms - e->asked_ms > CONV_DATE_REPLY_MS ||
	    now_ms < e->asked_ms)
		return 0;
	conv_shape(kb, text, len, today, NULL, &t->nt, &sh);
	return sh.slot_only && sh.has_date;
}
