/* datex.c - French date expressions in canonical tokens -> calendar dates.
 *
 * One left-to-right pass over the tokens of norm.h, no allocation: at each
 * token the matchers below are tried; a match yields a date and a token span
 * and the scan resumes after it.  Semantics follow domain.md ("French date
 * expressions").  Vague phrases ("la semaine dernière", "fin octobre") and
 * non-dates (times "14h30", durations "2 à 7 jours", a year alone) give
 * nothing: guessing a validation date is worse than asking for it. */
#include <string.h>

#include "datex.h"

/* Token text equals a string literal. */
#define IS(t, lit) ((t)->len == sizeof(lit) - 1 && memcmp((t)->s, lit, sizeof(lit) - 1) == 0)

static const struct fold_token no_token = {"", 0, 0, 0, 0};

static const struct fold_token *tk(const struct norm_text *nt, int i)
{
	if (i < 0 || i >= nt->ntok)
		return &no_token;
	return &nt->tok[i];
}

static int starts(const struct fold_token *t, const char *p)
{
	size_t n = strlen(p);
	return t->len >= n && memcmp(t->s, p, n) == 0;
}

/* All digits, at most maxlen of them: the value, else -1. */
static int num_of(const struct fold_token *t, unsigned maxlen)
{
	if (t->len == 0 || t->len > maxlen)
		return -1;
	int v = 0;
	for (unsigned k = 0; k < t->len; k++) {
		if (t->s[k] < '0' || t->s[k] > '9')
			return -1;
		v = v * 10 + (t->s[k] - '0');
	}
	return v;
}

/* A day of month written "12", "1er" (norm.c keeps "1er" whole). */
static int day_of(const struct fold_token *t)
{
	if (IS(t, "1er") || IS(t, "1e") || IS(t, "1ere"))
		return 1;
	int v = num_of(t, 2);
	return v >= 1 && v <= 31 ? v : -1;
}

static int weekday_of(const struct fold_token *t, int *abbrev)
{
	static const char *const full[7] = {
		"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
	};
	static const char *const shrt[7] = {"lun", "mar", "mer", "jeu", "ven", "sam", "dim"};
	if (t->len < 3 || t->len > 8)
		return -1;
	for (int k = 0; k < 7; k++) {
		if (t->len == strlen(full[k]) && memcmp(t->s, full[k], t->len) == 0) {
			*abbrev = 0;
			return k;
		}
		if (t->len == 3 && memcmp(t->s, shrt[k], 3) == 0) {
			*abbrev = 1;
			return k;
		}
	}
	return -1;
}

/* Month names and their usual abbreviations (a trailing dot is punctuation
 * to norm.c).  "sept" is turned into the number 7 by norm.c's number words:
 * the caller handles that case. */
static int month_of(const struct fold_token *t)
{
	static const struct {
		const char *s;
		int m;
	} names[] = {
		{"janvier", 1}, {"janv", 1}, {"jan", 1}, {"fevrier", 2}, {"fevr", 2},
		{"fev", 2}, {"mars", 3}, {"avril", 4}, {"avr", 4}, {"mai", 5},
		{"juin", 6}, {"juillet", 7}, {"juil", 7}, {"aout", 8},
		{"septembre", 9}, {"sept", 9}, {"sep", 9}, {"octobre", 10}, {"oct", 10},
		{"novembre", 11}, {"nov", 11}, {"decembre", 12}, {"dec", 12},
	};
	if (t->len < 3 || t->len > 9)
		return 0;
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if (t->len == strlen(names[k].s) && memcmp(t->s, names[k].s, t->len) == 0)
			return names[k].m;
	return 0;
}

static int month_at(const struct fold_token *t)
{
	int m = month_of(t);
	if (m)
		return m;
	/* "12 sept" -> "12" "7" once norm.c has read "sept" as a number word. */
	if ((t->flags & FOLD_TOK_NUMWORD) && IS(t, "7"))
		return 9;
	return 0;
}

/* Words after a number that make it a quantity or a time, not a day. */
static int is_unit(const struct fold_token *t)
{
	static const char *const units[] = {
		"jour", "jours", "j", "journee", "journees", "semaine", "semaines",
		"sem", "mois", "an", "ans", "annee", "annees", "h", "heure", "heures",
		"hr", "hrs", "min", "mn", "minute", "minutes", "sec", "seconde",
		"secondes", "e", "eme", "ieme", "fois", "ouvres", "ouvrables", "ouvre",
		"ouvrable", "jo", "jours-ouvres", "pourcent", "euros", "eur",
	};
	for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
		if (t->len == strlen(units[k]) && memcmp(t->s, units[k], t->len) == 0)
			return 1;
	return 0;
}

static int is_past_word(const struct fold_token *t)
{
	return IS(t, "dernier") || IS(t, "derniere") || IS(t, "passe") || IS(t, "passee");
}

static int is_next_word(const struct fold_token *t)
{
	return IS(t, "prochain") || IS(t, "prochaine");
}

/* Ranks a candidate: closest to today first, then (on a tie) the past, as a
 * validation date is more often past; a weekday hint ("jeudi 12/11") first
 * prefers candidates that fall on that weekday. */
struct best {
	long days, dist;
	int miss, found;
};

static void consider(struct best *b, struct date c, long today, int wd)
{
	if (!date_valid(c.y, c.m, c.d))
		return;
	long d = date_to_days(c);
	long dist = d > today ? d - today : today - d;
	int miss = wd >= 0 && date_weekday(c) != wd;
	if (b->found) {
		if (miss != b->miss) {
			if (miss > b->miss)
				return;
		} else if (dist > b->dist || (dist == b->dist && d > b->days)) {
			return;
		}
	}
	b->days = d;
	b->dist = dist;
	b->miss = miss;
	b->found = 1;
}

/* "le 12": that day in the month that puts it closest to today. */
static int closest_in_month(struct date today, int day, int wd, struct date *out)
{
	struct best b = {0, 0, 0, 0};
	long td = date_to_days(today);
	/* Two months each way: "le 31" on 1 March is 31 January. */
	for (int k = -2; k <= 2; k++) {
		struct date c = {today.y, today.m + k, day};
		if (c.m < 1) {
			c.m += 12;
			c.y--;
		} else if (c.m > 12) {
			c.m -= 12;
			c.y++;
		}
		consider(&b, c, td, wd);
	}
	if (!b.found)
		return -1;
	*out = date_from_days(b.days);
	return 0;
}

/* "12 novembre", "12/11": that day in the year that puts it closest.
 * past > 0: the latest strictly before today ("le 12 novembre dernier");
 * past < 0: the first strictly after ("le 12 novembre prochain"). */
static int closest_in_year(struct date today, int m, int d, int wd, int past,
			   struct date *out)
{
	struct best b = {0, 0, 0, 0};
	long td = date_to_days(today);
	int span = (m == 2 && d == 29) ? 8 : 1; /* 29 Feb: leap years only */
	if (m < 1 || m > 12 || d < 1 || d > date_days_in_month(2000, m))
		return -1;
	for (int y = today.y - span; y <= today.y + span; y++) {
		struct date c = {y, m, d};
		if (!date_valid(y, m, d))
			continue;
		long cd = date_to_days(c);
		if ((past > 0 && cd >= td) || (past < 0 && cd <= td))
			continue;
		consider(&b, c, td, wd);
	}
	if (!b.found)
		return -1;
	*out = date_from_days(b.days);
	return 0;
}

static struct date weekday_before(struct date today, int wd, int inclusive)
{
	int delta = (date_weekday(today) - wd + 7) % 7;
	if (delta == 0 && !inclusive)
		delta = 7;
	return date_add_days(today, -delta);
}

static struct date weekday_after(struct date today, int wd)
{
	int delta = (wd - date_weekday(today) + 7) % 7;
	return date_add_days(today, delta == 0 ? 7 : delta);
}

static struct date add_months(struct date dt, int n)
{
	int m0 = dt.y * 12 + (dt.m - 1) + n;
	struct date r = {m0 / 12, m0 % 12 + 1, dt.d};
	int dim = date_days_in_month(r.y, r.m);
	if (r.d > dim)
		r.d = dim;
	return r;
}

/* Absorbs a part of the day after a day word ("hier soir", "lundi matin"). */
static int skip_daypart(const struct norm_text *nt, int j)
{
	const struct fold_token *t = tk(nt, j);
	if (IS(t, "matin") || IS(t, "soir") || IS(t, "midi") || IS(t, "aprem"))
		return j + 1;
	if (IS(t, "apres") && IS(tk(nt, j + 1), "midi"))
		return j + 2;
	if (IS(t, "en") && IS(tk(nt, j + 1), "fin") && IS(tk(nt, j + 2), "de") &&
	    (IS(tk(nt, j + 3), "journee") || IS(tk(nt, j + 3), "matinee")))
		return j + 4;
	return j;
}

/* Numeric date in one token: "12/11/2026", "12/11/26", "2026-11-12",
 * "12.11.2026", "12/11", "5-02" (day first, as in France).  prev/next are
 * the neighbouring tokens, used to refuse durations and times. */
static int numeric_date(const struct fold_token *t, const struct fold_token *prev,
			const struct fold_token *next, struct date today, int wd,
			struct date *out)
{
	int part[3], plen[3], np = 0, cur = 0, len = 0;
	char sep = 0;
	for (unsigned k = 0; k <= t->len; k++) {
		char c = k < t->len ? t->s[k] : '\0';
		if (c >= '0' && c <= '9') {
			if (++len > 4)
				return -1;
			cur = cur * 10 + (c - '0');
			continue;
		}
		if (c != '\0' && c != '/' && c != '.' && c != '-')
			return -1;
		if (len == 0 && c == '\0' && sep == '.' && np > 1)
			break; /* "12.11.2026." : the full stop of the sentence */
		if (len == 0 || np == 3)
			return -1;
		part[np] = cur;
		plen[np++] = len;
		cur = len = 0;
		if (c != '\0')
			sep = c;
	}
	if (np == 3) {
		int y, m, d;
		if (plen[0] == 4) { /* ISO order */
			y = part[0], m = part[1], d = part[2];
			if (plen[1] > 2 || plen[2] > 2)
				return -1;
		} else {
			d = part[0], m = part[1], y = part[2];
			if (plen[0] > 2 || plen[1] > 2)
				return -1;
			if (plen[2] == 2)
				y += 2000; /* "12/11/26" */
			else if (plen[2] != 4)
				return -1;
		}
		if (y < 1900 || y > 2200 || !date_valid(y, m, d))
			return -1;
		out->y = y, out->m = m, out->d = d;
		return 0;
	}
	if (np != 2 || plen[0] > 2 || plen[1] > 2)
		return -1;
	/* "2-7 jours", "1/2 journée": a range or a fraction, not a date.
	 * After "le", "du", "depuis" or a weekday it is a date whatever
	 * follows ("le 12/11 et pas encore", "le 12/11 à 10h"). */
	int ab0;
	int anchored = IS(prev, "le") || IS(prev, "du") || IS(prev, "depuis") ||
		       weekday_of(prev, &ab0) >= 0;
	if (is_unit(next) || (!anchored && (IS(next, "a") || IS(next, "et"))))
		return -1;
	/* "à 9.30": a time.  A dotted pair is a date only after "le", "du",
	 * "depuis" or a weekday, as decimals ("3.5") are common. */
	if (IS(prev, "a") || IS(prev, "vers"))
		return -1;
	int ab;
	if (sep == '.' && !IS(prev, "le") && !IS(prev, "du") && !IS(prev, "depuis") &&
	    weekday_of(prev, &ab) < 0)
		return -1;
	return closest_in_year(today, part[1], part[0], wd, 0, out);
}

/* "le premier" with no month is the 1st only when it qualifies nothing:
 * right after a validation word ("validée le premier"), or followed by
 * the end of the sentence, "du mois (dernier)", or a word that cannot be its noun
 * ("le premier, elle n'est pas...").  "le premier jour", "le premier
 * stagiaire" are not dates. */
static int premier_alone(const struct norm_text *nt, int j)
{
	static const char *const follow[] = {
		"elle", "elles", "il", "ils", "on", "je", "j", "nous", "vous", "et", "mais",
		"ou", "donc", "dans", "sur", "chez", "pas", "toujours", "rien", "ca", "c",
		"cela", "par", "alors", "sauf", "or", "puis", "depuis", "ni",
	};
	const struct fold_token *before = tk(nt, j - 2), *nx = tk(nt, j + 1);
	if (before->len >= 5 && !memcmp(before->s, "valid", 5))
		return 1;
	if (nx->len == 0 || nx->sent != tk(nt, j)->sent)
		return 1;
	if ((IS(nx, "du") || IS(nx, "de")) && (IS(tk(nt, j + 2), "mois") || IS(tk(nt, j + 3), "mois")))
		return 1;
	for (size_t k = 0; k < sizeof follow / sizeof follow[0]; k++)
		if (nx->len == strlen(follow[k]) && !memcmp(nx->s, follow[k], nx->len))
			return 1;
	return 0;
}

/* A day expression starting at token j: "12 novembre [2026] [dernier]",
 * "1er déc", "premier mai", "12/11/2026", or a bare day "12" when allow_bare
 * (after "le" or a weekday).  Returns the end index, 0 when nothing. */
static int day_expr(const struct norm_text *nt, int j, struct date today, int wd,
		    int allow_bare, struct date *out)
{
	const struct fold_token *t = tk(nt, j);
	if (t->flags & FOLD_TOK_DATE || memchr(t->s, '/', t->len) || memchr(t->s, '-', t->len) ||
	    memchr(t->s, '.', t->len)) {
		if (numeric_date(t, tk(nt, j - 1), tk(nt, j + 1), today, wd, out) < 0)
			return 0;
		return j + 1;
	}
	int d = day_of(t);
	int premier = IS(t, "premier");
	if (d < 0 && !premier)
		return 0;
	if (premier)
		d = 1;
	int m = month_at(tk(nt, j + 1));
	if (m) {
		int k = j + 2;
		const struct fold_token *yt = tk(nt, k);
		int y = num_of(yt, 4);
		if (yt->len == 4 && y >= 1900 && y <= 2200) {
			if (!date_valid(y, m, d))
				return 0;
			out->y = y, out->m = m, out->d = d;
			return k + 1;
		}
		/* Two-digit year ("12 nov 26"), only near today's year: "le 3 mai
		 * 15 sessions" must not become 2015. */
		if (yt->len == 2 && y >= 0 && y >= today.y % 100 - 5 && y <= today.y % 100 + 5 &&
		    !is_unit(tk(nt, k + 1))) {
			y += today.y - today.y % 100;
			if (!date_valid(y, m, d))
				return 0;
			out->y = y, out->m = m, out->d = d;
			return k + 1;
		}
		int past = is_past_word(yt) ? 1 : is_next_word(yt) ? -1 : 0;
		if (closest_in_year(today, m, d, wd, past, out) < 0)
			return 0;
		return past ? k + 1 : k;
	}
	const struct fold_token *nx = tk(nt, j + 1);
	/* "12 11 2026": spaces instead of slashes, only with a full year. */
	int m2 = num_of(nx, 2), y2 = num_of(tk(nt, j + 2), 4);
	if (!premier && m2 >= 1 && m2 <= 12 && tk(nt, j + 2)->len == 4 && y2 >= 1900 &&
	    y2 <= 2200) {
		if (!date_valid(y2, m2, d))
			return 0;
		out->y = y2, out->m = m2, out->d = d;
		return j + 3;
	}
	if (!allow_bare || (premier && !premier_alone(nt, j)))
		return 0;
	/* "le 12 jours", "le 14 h", "le 03 80 ..." (a phone number). */
	if (is_unit(nx) || num_of(nx, 4) >= 0 || nx->flags & FOLD_TOK_NUM)
		return 0;
	/* "le 12 du mois dernier", "le 12 de ce mois". */
	if ((IS(nx, "du") || IS(nx, "de")) && (IS(tk(nt, j + 2), "mois") ||
					      (IS(tk(nt, j + 2), "ce") && IS(tk(nt, j + 3), "mois")))) {
		int k = IS(tk(nt, j + 2), "mois") ? j + 3 : j + 4;
		int shift = is_past_word(tk(nt, k)) ? -1 : is_next_word(tk(nt, k)) ? 1 : 0;
		struct date c = add_months((struct date){today.y, today.m, 1}, shift);
		if (!date_valid(c.y, c.m, d))
			return 0;
		out->y = c.y, out->m = c.m, out->d = d;
		return shift ? k + 1 : k;
	}
	if (closest_in_month(today, d, wd, out) < 0)
		return 0;
	return j + 1;
}

/* Weekday at i: "lundi", "mardi dernier", "vendredi passé", "lundi
 * prochain", "ce lundi", "lundi 12 octobre", "jeudi 12/11", "mardi de la
 * semaine dernière".  prev_ce: the word before was "ce". */
static int weekday_expr(const struct norm_text *nt, int i, int wd, int abbrev,
			const struct fold_token *prev, const struct fold_token *prev2,
			struct date today, struct date *out)
{
	int j = i + 1;
	int k = IS(tk(nt, j), "le") ? j + 1 : j;
	int end = day_expr(nt, k, today, wd, 1, out);
	if (end)
		return skip_daypart(nt, end);
	const struct fold_token *t = tk(nt, j);
	if (is_past_word(t)) {
		*out = weekday_before(today, wd, 0);
		return skip_daypart(nt, j + 1);
	}
	if (is_next_word(t) || (IS(t, "qui") && IS(tk(nt, j + 1), "vient"))) {
		*out = weekday_after(today, wd);
		return skip_daypart(nt, IS(t, "qui") ? j + 2 : j + 1);
	}
	/* "de la semaine dernière / prochaine", "de cette semaine": that day
	 * in the calendar week (Monday to Sunday) named. */
	if (IS(t, "de")) {
		int week = 2, e = 0;
		if (IS(tk(nt, j + 1), "la") && IS(tk(nt, j + 2), "semaine")) {
			if (is_past_word(tk(nt, j + 3)))
				week = -1;
			else if (is_next_word(tk(nt, j + 3)))
				week = 1;
			e = j + 4;
		} else if (IS(tk(nt, j + 1), "cette") && IS(tk(nt, j + 2), "semaine")) {
			week = 0;
			e = j + 3;
		}
		if (week != 2) {
			struct date mon = date_add_days(today, -date_weekday(today));
			*out = date_add_days(mon, week * 7 + wd);
			return e;
		}
	}
	if (abbrev)
		return 0; /* "mer", "jeu" alone are words, not days */
	/* Habits and ranges name no day: "le samedi", "chaque lundi", "du
	 * lundi au vendredi", "samedi et dimanche", "lundi ou mardi". */
	int ab;
	if (IS(prev, "le") || IS(prev, "chaque") || IS(prev, "au") || IS(prev, "les"))
		return 0;
	if ((IS(t, "au") || IS(t, "a") || IS(t, "et") || IS(t, "ou")) &&
	    weekday_of(tk(nt, j + 1), &ab) >= 0)
		return 0;
	if ((IS(prev, "et") || IS(prev, "ou")) && weekday_of(prev2, &ab) >= 0)
		return 0;
	/* "d'ici lundi": a day to come. */
	if (IS(prev, "ici")) {
		*out = weekday_after(today, wd);
		return skip_daypart(nt, j);
	}
	/* Bare "lundi": the latest Monday strictly before today (domain.md);
	 * "ce lundi" allows today itself. */
	*out = weekday_before(today, wd, IS(prev, "ce"));
	return skip_daypart(nt, j);
}

/* Duration after a trigger: "[environ] 3 jours", "une semaine", "2 mois",
 * "3j".  Returns the end index and sets *days or *months; 0 when none. */
static int duration(const struct norm_text *nt, int k, long *days, int *months)
{
	for (int f = 0; f < 3; f++) {
		const struct fold_token *t = tk(nt, k);
		if (IS(t, "environ") || IS(t, "deja") || IS(t, "presque") || IS(t, "bien") ||
		    IS(t, "maintenant") || IS(t, "seulement") || IS(t, "que") || IS(t, "bientot"))
			k++;
		else if (IS(t, "a") && IS(tk(nt, k + 1), "peu") && IS(tk(nt, k + 2), "pres"))
			k += 3;
		else
			break;
	}
	const struct fold_token *q = tk(nt, k);
	int n = -1;
	const char *unit = NULL;
	unsigned ulen = 0;
	int end = k + 2;
	if (IS(q, "un") || IS(q, "une")) {
		n = 1;
	} else {
		unsigned p = 0;
		n = 0;
		while (p < q->len && p < 4 && q->s[p] >= '0' && q->s[p] <= '9')
			n = n * 10 + (q->s[p++] - '0');
		if (p == 0 || (p < q->len && (q->s[p] < 'a' || q->s[p] > 'z')))
			return 0;
		if (p < q->len) { /* "3j", "3jours", "2sem" */
			unit = q->s + p;
			ulen = q->len - p;
			end = k + 1;
		}
	}
	struct fold_token u = *tk(nt, k + 1);
	if (unit) {
		u.s = unit;
		u.len = ulen;
	}
	/* Working days need the calendar and "il y a 2 jours ouvrés" is
	 * rare: refuse rather than count calendar days. */
	const struct fold_token *after = tk(nt, end);
	if (IS(after, "ouvres") || IS(after, "ouvrables") || IS(after, "ouvre") ||
	    IS(after, "ouvrable"))
		return 0;
	if (n > 3660)
		return 0;
	*days = 0;
	*months = 0;
	if (IS(&u, "jour") || IS(&u, "jours") || IS(&u, "j"))
		*days = n;
	else if (IS(&u, "semaine") || IS(&u, "semaines") || IS(&u, "sem"))
		*days = 7L * n;
	else if ((IS(&u, "mois")) && n <= 120)
		*months = n;
	else
		return 0;
	return end;
}

/* "il y a 3 jours", "ça fait une semaine", "depuis 10 jours", "dans 2
 * jours": today minus (or plus) calendar days (domain.md). */
static int duration_expr(const struct norm_text *nt, int i, struct date today, struct date *out)
{
	const struct fold_token *t = tk(nt, i);
	int k = 0, sign = -1;
	if (IS(t, "il") && IS(tk(nt, i + 1), "y") && IS(tk(nt, i + 2), "a"))
		k = i + 3;
	else if (IS(t, "y") && IS(tk(nt, i + 1), "a"))
		k = i + 2;
	else if (IS(t, "ya") || IS(t, "voila") || IS(t, "depuis"))
		k = i + 1;
	else if ((IS(t, "ca") || IS(t, "cela")) && IS(tk(nt, i + 1), "fait"))
		k = i + 2;
	else if (IS(t, "dans"))
		k = i + 1, sign = 1;
	else
		k = i; /* "3 jours que c'est validé": checked below */
	long days;
	int months;
	int end = duration(nt, k, &days, &months);
	if (!end)
		return 0;
	if (k == i) {
		/* A bare duration is a date only as "N jours que / qu'..." ("3
		 * jours que c'est validé" = "ça fait 3 jours que"), not inside a
		 * range ("2 à 7 jours que", "entre 3 et 5 jours"). */
		const struct fold_token *p = tk(nt, i - 1);
		if (!(IS(tk(nt, end), "que") || IS(tk(nt, end), "qu")) || IS(p, "a") ||
		    IS(p, "et") || IS(p, "ou") || IS(p, "entre") || IS(p, "de") ||
		    num_of(p, 4) >= 0)
			return 0;
	}
	*out = months ? add_months(today, sign * months) : date_add_days(today, (int)(sign * days));
	return end;
}

/* The verb "valider" in a form that says it happened ("validée"),
 * not the noun "validation". */
static int is_validated(const struct fold_token *t)
{
	return IS(t, "valide") || IS(t, "validee") || IS(t, "valides") ||
	       IS(t, "validees") || IS(t, "valider") || IS(t, "diffusee");
}

/* "vient d'être validée", "je viens de la faire valider": today.  A request
 * ("je viens de demander la validation") is not a validation. */
static int just_validated(const struct norm_text *nt, int i)
{
	const struct fold_token *t = tk(nt, i);
	if (IS(t, "vient") || IS(t, "viens") || IS(t, "venons") || IS(t, "venez") ||
	    IS(t, "viennent")) {
		int de = 0;
		for (int j = i + 1; j < nt->ntok && j <= i + 7 && tk(nt, j)->sent == t->sent; j++) {
			const struct fold_token *u = tk(nt, j);
			if (IS(u, "de") || IS(u, "d"))
				de = 1;
			else if (starts(u, "demand") || starts(u, "envoy") || starts(u, "soumet") ||
				 starts(u, "soumis") || IS(u, "voir") || IS(u, "vu") ||
				 IS(u, "relecture") || starts(u, "saisi") || starts(u, "remarqu") ||
				 starts(u, "constat") || IS(u, "pas") || IS(u, "ne"))
				return 0;
			else if (is_validated(u))
				return de ? j + 1 : 0;
		}
		return 0;
	}
	if ((IS(t, "tout") && IS(tk(nt, i + 1), "juste")) || IS(t, "fraichement")) {
		int e = IS(t, "tout") ? i + 2 : i + 1;
		for (int j = e; j <= e + 3 && j < nt->ntok && tk(nt, j)->sent == t->sent; j++)
			if (is_validated(tk(nt, j)))
				return j + 1;
		for (int j = i - 1; j >= i - 3 && j >= 0 && tk(nt, j)->sent == t->sent; j--)
			if (is_validated(tk(nt, j)))
				return e;
		return 0;
	}
	if (IS(t, "a") && IS(tk(nt, i + 1), "l") && IS(tk(nt, i + 2), "instant"))
		return IS(tk(nt, i + 3), "meme") ? i + 4 : i + 3;
	return 0;
}

/* Tries every matcher at token i; floor is the first token not consumed
 * by an earlier match (a look-back for "le" / "ce" stops there).
 * Returns the end of the match, 0 when none. */
static int match_at(const struct norm_text *nt, int i, int floor, struct date today,
		    struct datex *x)
{
	const struct fold_token *t = tk(nt, i);
	const struct fold_token *prev = i > floor ? tk(nt, i - 1) : &no_token;
	int end;
	x->tok_start = i;

	if (IS(t, "aujourdhui") || IS(t, "today") || (IS(t, "aujourd") && IS(tk(nt, i + 1), "hui"))) {
		int e = IS(t, "aujourd") ? i + 2 : i + 1;
		int ab;
		x->date = today;
		if (IS(tk(nt, e), "meme"))
			e++;
		/* "aujourd'hui mardi (15)": the weekday names today itself. */
		if (weekday_of(tk(nt, e), &ab) >= 0 && !ab) {
			e++;
			if (day_of(tk(nt, e)) > 0 && !is_unit(tk(nt, e + 1)))
				e++;
		}
		return e;
	}
	if (IS(t, "ce") || IS(t, "cet") || IS(t, "cette")) {
		const struct fold_token *n1 = tk(nt, i + 1);
		/* "à ce jour" means "so far", not a date. */
		int so_far = IS(prev, "a") || IS(prev, "jusqu") || IS(prev, "jusqua");
		if (IS(n1, "matin") || IS(n1, "soir") || IS(n1, "midi") || IS(n1, "aprem") ||
		    (IS(n1, "jour") && !so_far && !IS(tk(nt, i + 2), "la") &&
		     !IS(tk(nt, i + 2), "ci"))) {
			x->date = today;
			return i + 2;
		}
		if (IS(n1, "apres") && IS(tk(nt, i + 2), "midi")) {
			x->date = today;
			return i + 3;
		}
	}
	if (IS(t, "hier") || IS(t, "yesterday")) {
		x->date = date_add_days(today, -1);
		return skip_daypart(nt, i + 1);
	}
	if (IS(t, "avant") && IS(tk(nt, i + 1), "hier")) {
		x->date = date_add_days(today, -2);
		return skip_daypart(nt, i + 2);
	}
	if (IS(t, "demain") || IS(t, "tomorrow")) {
		x->date = date_add_days(today, 1);
		return skip_daypart(nt, i + 1);
	}
	if (IS(t, "apres") && IS(tk(nt, i + 1), "demain")) {
		x->date = date_add_days(today, 2);
		return skip_daypart(nt, i + 2);
	}
	int abbrev = 0;
	int wd = weekday_of(t, &abbrev);
	if (wd >= 0) {
		const struct fold_token *prev2 = i - 1 > floor ? tk(nt, i - 2) : &no_token;
		end = weekday_expr(nt, i, wd, abbrev, prev, prev2, today, &x->date);
		if (end) {
			if (IS(prev, "ce") || IS(prev, "le"))
				x->tok_start = i - 1;
			return end;
		}
		return 0;
	}
	if ((end = duration_expr(nt, i, today, &x->date)))
		return end;
	/* A day number or a numeric date; a bare day only after "le". */
	if ((t->flags & (FOLD_TOK_NUM | FOLD_TOK_DATE)) || (t->s[0] >= '0' && t->s[0] <= '9') ||
	    IS(t, "premier")) {
		end = day_expr(nt, i, today, -1, IS(prev, "le"), &x->date);
		if (end) {
			if (IS(prev, "le"))
				x->tok_start = i - 1;
			return end;
		}
		return 0;
	}
	if ((end = just_validated(nt, i))) {
		x->date = today;
		return end;
	}
	return 0;
}

/* "on est mardi", "nous sommes le 9", "aujourd'hui (c'est) jeudi": a day that
 * states today, not the day something happened.  Returns the end of the
 * statement (its date is dropped), 0 when there is none.  "validée
 * aujourd'hui, on est mardi" keeps its "aujourd'hui": only the words from
 * "on est" are skipped.  prev_end: end of the last date found, or -1. */
static int today_statement(const struct norm_text *nt, int i, struct date today, int prev_end)
{
	int j = i, aj = 0;
	if (IS(tk(nt, i), "aujourdhui") || (IS(tk(nt, i), "aujourd") && IS(tk(nt, i + 1), "hui"))) {
		/* "validée aujourd'hui (vendredi)" is the validation date, unless
		 * that verb already has its date ("hier c'était validé,
		 * aujourd'hui vendredi"). */
		if (is_validated(tk(nt, i - 1)) && !(prev_end >= 0 && prev_end < i - 1))
			return 0;
		j = IS(tk(nt, i), "aujourdhui") ? i + 1 : i + 2;
		aj = 1;
	}
	const struct fold_token *a = tk(nt, j), *b = tk(nt, j + 1);
	int ab0;
	if ((IS(a, "on") && IS(b, "est")) || (IS(a, "nous") && IS(b, "sommes")) ||
	    (aj && IS(a, "c") && IS(b, "est")))
		j += 2;
	else if (!aj || weekday_of(a, &ab0) < 0 || ab0)
		return 0; /* "aujourd'hui vendredi" states today without a verb */
	for (int f = 0; f < 2; f++) {
		const struct fold_token *t = tk(nt, j);
		if (IS(t, "deja") || IS(t, "maintenant") || IS(t, "aujourdhui"))
			j++;
		else if (IS(t, "aujourd") && IS(tk(nt, j + 1), "hui"))
			j += 2;
	}
	/* Only a day: "on est le 9", "on est mardi 15"; "on est passé en
	 * DIFF hier" states nothing about today. */
	int ab, k = IS(tk(nt, j), "le") ? j + 1 : j;
	const struct fold_token *d = tk(nt, k);
	if (weekday_of(d, &ab) < 0 && day_of(d) < 0 && !(d->flags & FOLD_TOK_DATE) && !IS(d, "premier"))
		return 0;
	struct datex x;
	return match_at(nt, k, j, today, &x);
}

int datex_find_all(const struct norm_text *nt, struct date today, struct datex *out, int max)
{
	int n = 0, floor = 0;
	if (!nt || !out || max <= 0)
		return 0;
	for (int i = 0; i < nt->ntok && n < max;) {
		struct datex x;
		int end = today_statement(nt, i, today, n ? out[n - 1].tok_end : -1);
		if (end > i) {
			i = floor = end;
			continue;
		}
		end = match_at(nt, i, floor, today, &x);
		if (end > i) {
			x.tok_end = end;
			out[n++] = x;
			i = floor = end;
		} else {
			i++;
		}
	}
	return n;
}

int datex_parse_now(const char *s, struct date *out)
{
	char day[11];
	if (!s || !out)
		return -1;
	size_t len = strlen(s);
	if (len < 10)
		return -1;
	memcpy(day, s, 10);
	day[10] = '\0';
	struct date dt;
	if (date_parse_iso(day, &dt) < 0)
		return -1;
	if (len > 10) {
		/* "THH:MM" (or a space, and optional ":SS"): checked, then
		 * ignored, as the rules count days. */
		const char *p = s + 10;
		size_t rest = len - 10;
		if ((rest != 6 && rest != 9) || (p[0] != 'T' && p[0] != ' '))
			return -1;
		for (size_t k = 1; k < rest; k++) {
			int colon = (k == 3 || k == 6);
			if (colon ? p[k] != ':' : (p[k] < '0' || p[k] > '9'))
				return -1;
		}
		int hh = (p[1] - '0') * 10 + (p[2] - '0');
		int mm = (p[4] - '0') * 10 + (p[5] - '0');
		int ss = rest == 9 ? (p[7] - '0') * 10 + (p[8] - '0') : 0;
		if (hh > 23 || mm > 59 || ss > 59)
			return -1;
	}
	*out = dt;
	return 0;
}
