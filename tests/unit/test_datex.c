/* test_datex.c - French date expressions (domain.md, "French date
 * expressions"): every row of the table with several "today" values,
 * month and year boundaries, the generalisations a real parser needs and
 * the traps that must not give a date.  Expected dates were worked out by
 * hand and checked with Python's datetime, not with bot/datex.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "datex.h"
#include "norm.h"

static struct norm_text nt; /* 60 KiB: kept off the stack */

/* Canonical tokens by hand, split on spaces, flagged as norm.h says:
 * all digits -> FOLD_TOK_NUM, digits with / . - inside -> FOLD_TOK_DATE.  A leading
 * '#' marks a number that came from words ("#7" for "sept"). */
static void mk(const char *text)
{
	memset(&nt, 0, sizeof nt);
	size_t n = strlen(text);
	assert_true(n < sizeof nt.buf);
	memcpy(nt.buf, text, n + 1);
	char *p = nt.buf;
	while (*p) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		struct fold_token *t = &nt.tok[nt.ntok++];
		if (*p == '#') {
			t->flags = FOLD_TOK_NUM | FOLD_TOK_NUMWORD;
			*p++ = '\0';
		}
		t->s = p;
		t->orig = (unsigned)(p - nt.buf);
		while (*p && *p != ' ')
			p++;
		t->len = (unsigned)(p - t->s);
		int digits = 0, seps = 0, other = 0;
		for (unsigned k = 0; k < t->len; k++) {
			char c = t->s[k];
			if (c >= '0' && c <= '9')
				digits++;
			else if (c == '/' || c == '.' || c == '-')
				seps++;
			else
				other++;
		}
		if (digits && !seps && !other)
			t->flags |= FOLD_TOK_NUM;
		if (digits && seps && !other)
			t->flags |= FOLD_TOK_DATE;
	}
}

static struct date P(const char *iso)
{
	struct date dt = {0, 0, 0};
	assert_int_equal(date_parse_iso(iso, &dt), 0);
	return dt;
}

/* The first expression of text, today being `today`, is `want` (NULL: no
 * expression at all). */
static void expect(const char *today, const char *text, const char *want)
{
	struct datex x[8];
	mk(text);
	int n = datex_find_all(&nt, P(today), x, 8);
	char got[11] = "(none)";
	if (n > 0)
		date_format_iso(x[0].date, got);
	if (!want ? n != 0 : (n == 0 || strcmp(got, want) != 0)) {
		print_error("today %s, \"%s\": got %s (%d found), want %s\n", today, text, got,
			    n, want ? want : "(none)");
		fail();
	}
}

struct row {
	const char *today, *text, *want;
};

static void run_rows(const struct row *r, size_t n)
{
	for (size_t k = 0; k < n; k++)
		expect(r[k].today, r[k].text, r[k].want);
}
#define RUN(rows) run_rows(rows, sizeof rows / sizeof rows[0])

/* Row: aujourd'hui, ce matin, ce soir -> T */
static void test_today(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2026-11-12", "validee aujourdhui", "2026-11-12"},
		{"2027-01-01", "session validee ce matin", "2027-01-01"},
		{"2026-12-31", "elle devrait etre validee ce soir", "2026-12-31"},
		{"2026-03-01", "validee cet apres midi", "2026-03-01"},
		{"2028-02-29", "validee aujourdhui meme", "2028-02-29"},
		{"2026-11-12", "validee today", "2026-11-12"},
		{"2026-11-12", "a ce jour elle n apparait pas", NULL},
	};
	RUN(rows);
}

/* Row: vient d'être validée, je viens de la faire valider, tout juste validée -> T */
static void test_just_validated(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2026-11-12", "elle vient d etre validee", "2026-11-12"},
		{"2027-01-01", "je viens de la faire valider", "2027-01-01"},
		{"2026-03-01", "la fiche est tout juste validee", "2026-03-01"},
		{"2026-03-01", "elle est validee tout juste", "2026-03-01"},
		{"2026-12-31", "la session vient juste d etre validee par emfor", "2026-12-31"},
		{"2026-12-31", "nous venons de faire valider la session", "2026-12-31"},
		{"2026-11-12", "validee a l instant", "2026-11-12"},
		/* A request is not a validation. */
		{"2026-11-12", "je viens de demander la validation", NULL},
		{"2026-11-12", "je viens de demander a emfor de valider", NULL},
		{"2026-11-12", "elle vient de kairos", NULL},
		{"2026-11-12", "tout juste", NULL},
	};
	RUN(rows);
}

/* Row: hier / avant-hier -> T-1 / T-2; demain / après-demain -> T+1 / T+2 */
static void test_relative_days(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2026-11-12", "validee hier", "2026-11-11"},
		{"2027-01-01", "validee hier", "2026-12-31"},
		{"2026-03-01", "validee hier", "2026-02-28"},
		{"2028-03-01", "validee hier", "2028-02-29"},
		{"2027-01-01", "validee avant hier", "2026-12-30"},
		{"2026-03-01", "avant hier", "2026-02-27"},
		{"2026-11-12", "validee avant hier par l equipe offre", "2026-11-10"},
		{"2026-11-12", "validee hier soir", "2026-11-11"},
		{"2026-11-12", "hier matin", "2026-11-11"},
		{"2026-11-12", "hier apres midi", "2026-11-11"},
		{"2026-12-31", "validee demain", "2027-01-01"},
		{"2026-12-31", "apres demain", "2027-01-02"},
		{"2028-02-28", "demain", "2028-02-29"},
		{"2028-02-28", "apres demain", "2028-03-01"},
		{"2027-09-20", "si la session est validee apres demain", "2027-09-22"},
		{"2026-11-12", "validee yesterday", "2026-11-11"},
		{"2026-11-12", "demain matin", "2026-11-13"},
	};
	RUN(rows);
}

/* Row: lundi, mardi dernier, vendredi passé -> latest strictly before T;
 * lundi prochain -> first strictly after T. */
static void test_weekdays(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2026-11-12", "validee lundi", "2026-11-09"},
		{"2026-11-12", "validee jeudi", "2026-11-05"}, /* today is Thursday */
		{"2026-11-12", "validee ce jeudi", "2026-11-12"},
		{"2026-11-12", "validee ce lundi", "2026-11-09"},
		{"2026-11-12", "validee le lundi dernier", "2026-11-09"},
		{"2026-11-12", "d ici lundi", "2026-11-16"},
		/* Habits and ranges are no date. */
		{"2026-11-12", "emfor valide le lundi", NULL},
		{"2026-11-12", "du lundi au vendredi", NULL},
		{"2026-11-12", "samedi et dimanche comptent ils", NULL},
		{"2026-11-12", "validee lundi ou mardi", NULL},
		{"2026-11-12", "chaque lundi", NULL},
		{"2027-01-01", "vendredi passe", "2026-12-25"},
		{"2027-01-01", "validee lundi dernier", "2026-12-28"},
		{"2027-01-01", "mardi dernier", "2026-12-29"},
		{"2026-03-01", "dimanche dernier", "2026-02-22"},
		{"2026-03-01", "validee vendredi", "2026-02-27"},
		{"2028-03-01", "lundi derniere", "2028-02-28"},
		{"2026-11-16", "lundi dernier", "2026-11-09"},
		{"2026-11-16", "lundi prochain", "2026-11-23"},
		{"2026-12-31", "lundi prochain", "2027-01-04"},
		{"2026-12-31", "vendredi prochain", "2027-01-01"},
		{"2026-12-31", "jeudi prochain", "2027-01-07"},
		{"2027-05-05", "la validation est prevue lundi prochain", "2027-05-10"},
		{"2026-11-12", "mardi qui vient", "2026-11-17"},
		{"2026-11-12", "vendredi matin", "2026-11-06"},
		{"2026-11-12", "mardi soir", "2026-11-10"},
		/* Calendar weeks, Monday to Sunday. */
		{"2026-11-12", "mardi de la semaine derniere", "2026-11-03"},
		{"2026-11-12", "vendredi de la semaine passee", "2026-11-06"},
		{"2026-11-12", "lundi de cette semaine", "2026-11-09"},
		{"2026-11-12", "lundi de la semaine prochaine", "2026-11-16"},
		/* Abbreviations count only with a date or a modifier. */
		{"2026-11-12", "ven dernier", "2026-11-06"},
		{"2026-11-12", "jeu 12/11", "2026-11-12"},
		{"2026-11-12", "un jeu de la mer", NULL},
	};
	RUN(rows);
}

/* Row: il y a 3 jours, il y a trois jours, il y a une semaine -> calendar days */
static void test_ago(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2027-01-01", "validee il y a 3 jours", "2026-12-29"},
		{"2026-03-01", "il y a #3 jours", "2026-02-26"},
		{"2028-03-01", "il y a 3 jours", "2028-02-27"},
		{"2027-05-18", "il y a une semaine", "2027-05-11"},
		{"2027-01-01", "il y a 1 semaine", "2026-12-25"},
		{"2026-11-12", "il y a un jour", "2026-11-11"},
		{"2026-11-12", "il y a 10 jours", "2026-11-02"},
		{"2026-11-12", "il y a #2 semaines", "2026-10-29"},
		{"2026-11-12", "il y a #15 jours", "2026-10-28"},
		{"2026-03-31", "il y a un mois", "2026-02-28"},
		{"2026-11-12", "il y a environ une semaine", "2026-11-05"},
		{"2026-11-12", "il y a deja 3 jours", "2026-11-09"},
		{"2026-11-12", "il y a 3j", "2026-11-09"},
		{"2026-11-12", "y a 3 jours", "2026-11-09"},
		{"2026-11-12", "ca fait une semaine", "2026-11-05"},
		{"2026-11-12", "cela fait 4 jours", "2026-11-08"},
		{"2026-11-12", "validee depuis 5 jours", "2026-11-07"},
		{"2026-12-30", "dans 2 jours", "2027-01-01"},
		{"2026-12-30", "dans une semaine", "2027-01-06"},
		{"2026-11-12", "il y a 2 jours ouvres", NULL},
		{"2026-11-12", "il y a plus de 3 jours", NULL},
		{"2026-11-12", "il y a quelques jours", NULL},
		{"2026-11-12", "il n y a pas de date", NULL},
		{"2026-11-12", "dans kairos", NULL},
		{"2026-11-12", "dans 2 a 7 jours", NULL},
		/* "N jours que ...": ça fait N jours (red team round 2) */
		{"2026-11-12", "3 jours que c est validee", "2026-11-09"},
		{"2026-11-12", "une semaine qu elle est validee", "2026-11-05"},
		{"2026-11-12", "#2 semaines que j attends", "2026-10-29"},
		{"2026-11-12", "ca fait bientot 4 jours", "2026-11-08"},
		{"2026-11-12", "voila 5 jours que rien", "2026-11-07"},
		{"2026-11-12", "il faut 2 a 7 jours que", NULL},
		{"2026-11-12", "entre 3 jours que", NULL},
		{"2026-11-12", "3 jours pour que ce soit visible", NULL},
		{"2026-11-12", "compter 3 jours", NULL},
	};
	RUN(rows);
}

/* A day that states today ("on est mardi", "nous sommes le 9",
 * "aujourd'hui c'est jeudi") is not a date of the event; "aujourd'hui
 * mardi" right after a validation verb still is today. */
static void test_today_statement(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2026-11-17", "on est mardi validee vendredi", "2026-11-13"},
		{"2026-11-17", "nous sommes mardi et validee lundi", "2026-11-16"},
		{"2026-11-17", "on est le 17 validee le 12", "2026-11-12"},
		{"2026-11-17", "on est deja le 17/11 validee hier", "2026-11-16"},
		{"2026-11-17", "aujourdhui c est mardi validee jeudi", "2026-11-12"},
		{"2026-11-17", "aujourd hui on est mardi validee jeudi", "2026-11-12"},
		{"2026-11-17", "aujourdhui mardi validee jeudi", "2026-11-12"},
		{"2026-11-17", "on est mardi", NULL},
		{"2026-11-17", "nous sommes le 17", NULL},
		{"2026-11-17", "validee aujourdhui on est mardi", "2026-11-17"},
		{"2026-11-17", "validee aujourdhui mardi", "2026-11-17"},
		{"2026-11-17", "on est passe en diff hier", "2026-11-16"},
		{"2026-11-17", "on est valides depuis lundi", "2026-11-16"},
		{"2026-11-17", "aujourdhui", "2026-11-17"},
	};
	RUN(rows);
	struct datex x[4];
	char buf[11];
	/* "hier c'était validé, aujourd'hui vendredi": the verb has its date */
	mk("hier c etait validee aujourdhui vendredi");
	assert_int_equal(datex_find_all(&nt, P("2026-11-20"), x, 4), 1);
	date_format_iso(x[0].date, buf);
	assert_string_equal(buf, "2026-11-19");
}

/* Row: le 12, le 1er -> that day in the month that puts it closest to T */
static void test_day_of_month(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2026-10-06", "validee le 1er", "2026-10-01"},
		{"2026-10-30", "validee le 1er", "2026-11-01"},
		{"2027-07-16", "session validee le 12", "2027-07-12"},
		{"2026-12-30", "le 2", "2027-01-02"},
		{"2027-01-02", "le 30", "2026-12-30"},
		{"2026-03-01", "le 31", "2026-01-31"}, /* no 31 February */
		{"2026-04-29", "le 31", "2026-03-31"},
		{"2026-11-16", "le 1er", "2026-11-01"}, /* 15 days either way: the past */
		{"2026-11-12", "le #12", "2026-11-12"},
		{"2026-11-12", "depuis le 5", "2026-11-05"},
		{"2026-11-12", "le 12 du mois dernier", "2026-10-12"},
		{"2026-11-12", "le 20 de ce mois", "2026-11-20"},
		{"2026-03-20", "le 30 du mois dernier", NULL},
		{"2026-11-12", "le 32", NULL},
		{"2026-11-12", "le 0", NULL},
		/* A bare number needs "le". */
		{"2026-11-12", "validee 12", NULL},
	};
	RUN(rows);
}

/* Row: 12 novembre, le 12/11, 12-11 -> that day in the closest year */
static void test_day_month(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2026-11-12", "12 novembre", "2026-11-12"},
		{"2026-06-01", "validee le 12 novembre", "2026-11-12"},
		{"2026-05-01", "12 novembre", "2025-11-12"},
		{"2026-01-02", "session validee le 30 decembre", "2025-12-30"},
		{"2026-01-05", "le 31/12", "2025-12-31"},
		{"2026-12-28", "le 2/1", "2027-01-02"},
		{"2026-11-12", "le 12/11", "2026-11-12"},
		{"2026-11-12", "12-11", "2026-11-12"},
		{"2027-02-10", "depuis le 5-02", "2027-02-05"},
		{"2027-06-14", "validation le 08/06", "2027-06-08"},
		{"2026-02-16", "le #12 fevrier", "2026-02-12"},
		{"2026-05-04", "le 30 avril", "2026-04-30"},
		{"2027-01-10", "le 29/02", "2028-02-29"},
		{"2026-11-12", "le 12.11", "2026-11-12"},
		{"2026-11-12", "le 12 novembre dernier", "2025-11-12"},
		{"2026-11-13", "le 12 novembre dernier", "2026-11-12"},
		{"2026-11-12", "le 12 novembre prochain", "2027-11-12"},
	};
	RUN(rows);
}

/* Row: 12/11/2026, 12/11/26, 2026-11-12, 12.11.2026 -> that date */
static void test_full_dates(void **state)
{
	(void)state;
	static const char *const todays[] = {"2026-11-12", "2027-12-31", "2025-01-01"};
	static const char *const texts[] = {
		"12/11/2026", "le 12/11/26", "2026-11-12", "le 12.11.2026", "12-11-2026",
		"12 novembre 2026", "le 12 nov 2026", "jeudi 12 novembre 2026",
		"le jeudi 12/11/2026",
	};
	for (size_t a = 0; a < sizeof todays / sizeof todays[0]; a++)
		for (size_t b = 0; b < sizeof texts / sizeof texts[0]; b++)
			expect(todays[a], texts[b], "2026-11-12");
	static const struct row rows[] = {
		{"2027-08-16", "validee le 10/08/27", "2027-08-10"},
		{"2027-12-30", "validation emfor le 27/12/2027", "2027-12-27"},
		{"2026-12-28", "le 24.12.2026", "2026-12-24"},
		{"2027-01-04", "validee le 2026-12-30", "2026-12-30"},
		{"2026-08-17", "validee le 12/08/2026.", "2026-08-12"},
		{"2026-11-12", "1/2/2027", "2027-02-01"},
		{"2026-11-12", "validee le 12 11 2026", "2026-11-12"},
		{"2026-11-12", "validee le 31 11 2026", NULL},
	};
	RUN(rows);
}

/* Beyond the table: month abbreviations, 1er / premier, weekday + date. */
static void test_generalisations(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2027-10-21", "validee le 15 octobre 2027", "2027-10-15"},
		{"2026-11-20", "le 1er decembre", "2026-12-01"},
		{"2026-11-20", "le premier decembre", "2026-12-01"},
		{"2026-10-14", "lundi 12 octobre", "2026-10-12"},
		{"2026-11-20", "jeudi 12/11", "2026-11-12"},
		{"2026-11-20", "lundi le 16", "2026-11-16"},
		{"2026-12-10", "lundi 7", "2026-12-07"},
		/* The weekday chooses among the closest months: 2026-07-13 is Monday. */
		{"2026-08-01", "lundi 13", "2026-07-13"},
		{"2027-01-10", "le 3 janv", "2027-01-03"},
		{"2027-01-10", "le 3 jan", "2027-01-03"},
		{"2027-02-10", "le 3 fev", "2027-02-03"},
		{"2027-02-10", "le 3 fevr", "2027-02-03"},
		{"2027-03-10", "le 3 mars", "2027-03-03"},
		{"2027-04-10", "le 4 avr", "2027-04-04"},
		{"2027-05-10", "le 1er mai", "2027-05-01"},
		{"2027-06-10", "5 juin", "2027-06-05"},
		{"2027-07-10", "5 juil", "2027-07-05"},
		{"2027-07-10", "5 juillet", "2027-07-05"},
		{"2027-08-10", "5 aout", "2027-08-05"},
		{"2027-09-10", "6 sept", "2027-09-06"},
		{"2027-09-10", "6 #7", "2027-09-06"}, /* "sept" read as a number word */
		{"2027-09-10", "6 sep 2027", "2027-09-06"},
		{"2027-10-10", "8 oct", "2027-10-08"},
		{"2027-11-10", "9 nov", "2027-11-09"},
		{"2027-12-10", "10 dec", "2027-12-10"},
		{"2027-12-10", "le 10 dec 27", "2027-12-10"},
		/* "le 3 mai 15 sessions": 15 is no year near 2027. */
		{"2027-05-10", "le 3 mai 15 sessions", "2027-05-03"},
		/* "le premier" alone: the 1st, when it qualifies no noun */
		{"2027-03-04", "validee le premier elle n est pas la", "2027-03-01"},
		{"2027-03-04", "valide le premier", "2027-03-01"},
		{"2026-11-12", "depuis le premier et toujours rien", "2026-11-01"},
		{"2026-11-25", "c etait le premier", "2026-12-01"},
		{"2026-11-12", "le premier du mois", "2026-11-01"},
		{"2026-11-12", "le premier du mois dernier", "2026-10-01"},
	};
	RUN(rows);
	/* "le premier" as an adjective is no date */
	static const char *const none[] = {
		"le premier jour de formation", "le premier stagiaire arrive",
		"le premier de la liste", "le premier trimestre", "premier",
	};
	for (size_t k = 0; k < sizeof none / sizeof none[0]; k++)
		expect("2026-11-12", none[k], NULL);
}

/* Times, durations, years, impossible dates: never a date. */
static void test_traps(void **state)
{
	(void)state;
	static const char *const none[] = {
		"la semaine derniere", "la semaine passee", "le mois dernier",
		"vers 14h30", "a 9h", "a 9 h", "le 14 h", "rdv a 14.30", "a 9.30",
		"12 jours", "2 a 7 jours", "de 2-7 jours", "le delai est de 2 a 7 jours",
		"en 2026", "le 2026", "2026", "48h", "sous 48 h", "sous 48 heures",
		"31/02", "le 31/02/2026", "le 31/04", "29/02/2027", "13/13/2026",
		"le 3.5 jours", "version 2.1", "1/2 journee", "le 03 80 54 14 14",
		"fin octobre", "debut novembre", "novembre 2026", "en mars",
		"le 12/11/2026/1", "le 123/11", "le 1/2/345", "12/11/1492",
		"mardi gras", "", "le", "il y a",
	};
	for (size_t k = 0; k < sizeof none / sizeof none[0]; k++) {
		/* "mardi gras" is a weekday word: it does name a day. */
		if (strcmp(none[k], "mardi gras") == 0) {
			expect("2026-11-12", none[k], "2026-11-10");
			continue;
		}
		expect("2026-11-12", none[k], NULL);
	}
}

/* All expressions, in order, with their token spans. */
static void test_find_all(void **state)
{
	(void)state;
	struct datex x[4];
	char buf[11];
	mk("elle a ete validee le 12/11 par emfor");
	assert_int_equal(datex_find_all(&nt, P("2026-11-20"), x, 4), 1);
	assert_int_equal(x[0].tok_start, 4);
	assert_int_equal(x[0].tok_end, 6);
	mk("validee vendredi passe ou il y a 3 jours");
	assert_int_equal(datex_find_all(&nt, P("2026-11-12"), x, 4), 2);
	date_format_iso(x[0].date, buf);
	assert_string_equal(buf, "2026-11-06");
	assert_int_equal(x[0].tok_start, 1);
	assert_int_equal(x[0].tok_end, 3);
	date_format_iso(x[1].date, buf);
	assert_string_equal(buf, "2026-11-09");
	assert_int_equal(x[1].tok_start, 4);
	assert_int_equal(x[1].tok_end, 9);
	mk("hier ou avant hier ou aujourdhui ou demain");
	assert_int_equal(datex_find_all(&nt, P("2026-11-12"), x, 4), 4);
	assert_int_equal(x[1].tok_start, 2);
	assert_int_equal(x[1].tok_end, 4);
	date_format_iso(x[1].date, buf);
	assert_string_equal(buf, "2026-11-10");
	date_format_iso(x[3].date, buf);
	assert_string_equal(buf, "2026-11-13");
	/* The cap is respected; max <= 0 finds nothing. */
	assert_int_equal(datex_find_all(&nt, P("2026-11-12"), x, 2), 2);
	assert_int_equal(datex_find_all(&nt, P("2026-11-12"), x, 0), 0);
	mk("ce lundi matin");
	assert_int_equal(datex_find_all(&nt, P("2026-11-12"), x, 4), 1);
	assert_int_equal(x[0].tok_start, 0);
	assert_int_equal(x[0].tok_end, 3);
}

/* Raw French through norm_text (no lexicon: folding, tokens and number
 * words still happen), as the engine will see it. */
static void expect_raw(const char *today, const char *text, const char *want)
{
	struct datex x[8];
	norm_text(NULL, text, strlen(text), &nt);
	int n = datex_find_all(&nt, P(today), x, 8);
	char got[11] = "(none)";
	if (n > 0)
		date_format_iso(x[0].date, got);
	if (!want ? n != 0 : (n == 0 || strcmp(got, want) != 0)) {
		print_error("today %s, raw \"%s\": got %s (%d found), want %s\n", today, text,
			    got, n, want ? want : "(none)");
		fail();
	}
}

static void test_through_norm(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"2027-12-24", "Validée aujourd\u2019hui, quand ma session sera-t-elle dans Kairos ?", "2027-12-24"},
		{"2027-12-24", "Validée AUJOURD'HUI", "2027-12-24"},
		{"2026-05-13", "Session validée ce matin, elle sera sur le site régional quand ?", "2026-05-13"},
		{"2026-11-12", "Elle vient d'être validée par Emfor", "2026-11-12"},
		{"2026-11-12", "Je viens de la faire valider.", "2026-11-12"},
		{"2026-11-12", "Tout juste validée !", "2026-11-12"},
		{"2026-11-12", "Validée avant-hier par l'équipe Offre", "2026-11-10"},
		{"2027-09-20", "Si la session est validée après-demain ?", "2027-09-22"},
		{"2027-11-02", "validée vendredi passé, quand dans kairos ?", "2027-10-29"},
		{"2027-05-05", "La validation est prévue lundi prochain.", "2027-05-10"},
		{"2027-05-18", "validée il y a une semaine", "2027-05-11"},
		{"2026-06-03", "validée il y a deux jours", "2026-06-01"},
		{"2026-11-12", "validée il y a trois jours", "2026-11-09"},
		{"2026-11-12", "validée il y a quinze jours", "2026-10-28"},
		{"2026-11-12", "validée il y a deux semaines", "2026-10-29"},
		{"2026-10-06", "La session a été validée le 1er, elle sera affichée quand ?", "2026-10-01"},
		/* a date followed by "et" / "à" after "le" is still a date */
		{"2026-11-26", "validée le 12/11 et pas encore sur Aude", "2026-11-12"},
		{"2026-11-26", "validée le 12/11 à 10h", "2026-11-12"},
		{"2026-02-16", "Session validée le douze février", "2026-02-12"},
		{"2026-11-20", "validée le vingt-deux octobre", "2026-10-22"},
		{"2027-01-10", "validée le trente et un décembre", "2026-12-31"},
		{"2027-10-21", "Validée le 15 octobre 2027", "2027-10-15"},
		{"2026-11-20", "validée le 1er déc.", "2026-12-01"},
		{"2026-09-20", "validée le 12 sept. 2026", "2026-09-12"},
		{"2026-09-20", "validée le douze sept", "2026-09-12"},
		{"2026-09-20", "validée le 12 Septembre", "2026-09-12"},
		{"2027-02-10", "La fiche est validée depuis le 5-02 mais rien", "2027-02-05"},
		{"2026-12-28", "Session validée le 24.12.2026, quand ?", "2026-12-24"},
		{"2027-08-16", "Ma formation a été validée le 10/08/27, quand ?", "2027-08-10"},
		{"2026-08-17", "Ma fiche a été validée le 12/08/2026. Quand ?", "2026-08-12"},
		{"2027-01-04", "Formation validée le 2026-12-30 : pas encore dans Aude", "2026-12-30"},
		{"2026-11-20", "Validée Jeudi 12/11, toujours rien", "2026-11-12"},
		{"2026-10-14", "validée lundi 12 octobre", "2026-10-12"},
		{"2026-11-12", "validée hier soir vers 18h", "2026-11-11"},
		{"2026-11-12", "ce lundi", "2026-11-09"},
		{"2026-12-30", "dans 2 jours", "2027-01-01"},
		/* Traps. */
		{"2026-11-12", "Quel est le délai ? 2 à 7 jours ?", NULL},
		{"2026-11-12", "Rendez-vous à 14h30 ou à 9h", NULL},
		{"2026-11-12", "sous 48h, ou 48 heures ?", NULL},
		{"2026-11-12", "Combien de jours ouvrés en 2026 ?", NULL},
		{"2026-11-12", "la semaine dernière", NULL},
		{"2026-11-12", "validée le 31/02", NULL},
		{"2026-11-12", "douze jours", NULL},
	};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
		expect_raw(rows[k].today, rows[k].text, rows[k].want);
}

static void test_parse_now(void **state)
{
	(void)state;
	struct date d = {0, 0, 0};
	char buf[11];
	assert_int_equal(datex_parse_now("2026-11-20", &d), 0);
	date_format_iso(d, buf);
	assert_string_equal(buf, "2026-11-20");
	assert_int_equal(datex_parse_now("2028-02-29T23:59", &d), 0);
	date_format_iso(d, buf);
	assert_string_equal(buf, "2028-02-29");
	assert_int_equal(datex_parse_now("2026-11-20T08:05:59", &d), 0);
	static const char *const bad[] = {
		"2026-11-31", "2027-02-29", "2026-1-20", "20261120", "2026-11-20T24:00",
		"2026-11-20T12:60", "2026-11-20T1200", "2026-11-20T", "2026-11-20x",
		"2026-11-20T12:00Z", "", "hier", "2026/11/20",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		d.y = 1;
		assert_int_equal(datex_parse_now(bad[k], &d), -1);
		assert_int_equal(d.y, 1); /* untouched on error */
	}
	assert_int_equal(datex_parse_now(NULL, &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_today),
		cmocka_unit_test(test_just_validated),
		cmocka_unit_test(test_relative_days),
		cmocka_unit_test(test_weekdays),
		cmocka_unit_test(test_ago),
		cmocka_unit_test(test_today_statement),
		cmocka_unit_test(test_day_of_month),
		cmocka_unit_test(test_day_month),
		cmocka_unit_test(test_full_dates),
		cmocka_unit_test(test_generalisations),
		cmocka_unit_test(test_traps),
		cmocka_unit_test(test_find_all),
		cmocka_unit_test(test_through_norm),
		cmocka_unit_test(test_parse_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
