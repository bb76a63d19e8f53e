/* test_answers.c - French answers: dates as people read them, template
 * checks, the composition of display-delay answers (platform + status),
 * caps and UTF-8-safe cuts; then the bundled answers.ini against domain.md
 * (status texts, working days, the overdue advice, lengths). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "ask.h"
#include "kb.h"

static const char *kb_src(void)
{
	const char *d = getenv("FAQBOT_KNOWLEDGE");
	return d && *d ? d : "knowledge";
}

static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int k = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
			: (*p & 0xF8) == 0xF0 ? 3 : -1;
		if (k < 0)
			return 0;
		for (int j = 1; j <= k; j++)
			if ((p[j] & 0xC0) != 0x80)
				return 0;
		p += k + 1;
	}
	return 1;
}

static void test_format_date(void **state)
{
	(void)state;
	char b[48];
	static const struct { struct date d; const char *want; } cases[] = {
		{ { 2026, 11, 24 }, "mardi 24 novembre 2026" },
		{ { 2026, 12, 1 }, "mardi 1er décembre 2026" },
		{ { 2025, 12, 1 }, "lundi 1er décembre 2025" },
		{ { 2027, 8, 15 }, "dimanche 15 août 2027" },
		{ { 2028, 2, 29 }, "mardi 29 février 2028" },
		{ { 2027, 1, 2 }, "samedi 2 janvier 2027" },
		{ { 2026, 5, 13 }, "mercredi 13 mai 2026" },
		{ { 2026, 7, 31 }, "vendredi 31 juillet 2026" },
		{ { 2026, 6, 11 }, "jeudi 11 juin 2026" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = answers_format_date(cases[i].d, b, sizeof b);
		assert_string_equal(b, cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
	}
	/* never more than the buffer */
	char small[8];
	size_t n = answers_format_date((struct date){ 2026, 11, 24 }, small, sizeof small);
	assert_int_equal(n, 7);
	assert_string_equal(small, "mardi 2");
	/* a cut never splits "û" */
	char b16[16];
	n = answers_format_date((struct date){ 2027, 8, 15 }, b16, sizeof b16);
	assert_string_equal(b16, "dimanche 15 ao");
	assert_int_equal(n, 14);
	assert_int_equal(answers_format_date((struct date){ 2027, 2, 30 }, b16, sizeof b16), 0);
	assert_string_equal(b16, "");
	assert_int_equal(answers_format_date((struct date){ 9999, 12, 31 }, b, sizeof b),
			 strlen("vendredi 31 décembre 9999"));
	assert_string_equal(b, "vendredi 31 décembre 9999");
}

/* A complete set of short templates, to test composition exactly. */
static struct answers *toy(void)
{
	static const char *const t[][3] = {
		{ "platforms", "kairos", "Kairos" },
		{ "platforms", "aude", "Aude" },
		{ "platforms", "france_travail", "FT" },
		{ "platforms", "rco", "RCO" },
		{ "platforms", "regional", "REG" },
		{ "platforms", "none", "tout" },
		{ "display_delay", "regional", "R {regional}." },
		{ "display_delay", "rco", "C {rco_visible}." },
		{ "display_delay", "france_travail", "F {platform} {ft_min}..{ft_max}." },
		{ "display_delay", "early", "E {open}" },
		{ "display_delay", "within", "W {close}" },
		{ "display_delay", "overdue", "O {close}" },
		{ "display_delay", "no_date", "N {d_ft_min}-{d_ft_max} {platform}" },
		{ "display_delay", "regional_today", "Rt {validation} {regional}." },
		{ "display_delay", "rco_today", "Ct {validation} {rco_visible}." },
		{ "display_delay", "france_travail_today", "Ft {validation} {platform} {ft_min}..{ft_max}." },
		{ "display_delay", "regional_future", "Rf {validation} {regional}." },
		{ "display_delay", "rco_future", "Cf {validation} {rco_visible}." },
		{ "display_delay", "france_travail_future", "Ff {validation} {platform} {ft_max}." },
		{ "display_delay", "early_future", "Ef {open}" },
		{ "state", "SAIS", "s" },
		{ "state", "DIFF", "d" },
		{ "state", "ARCH", "a" },
		{ "state", "none", "n" },
		{ "definition", "text", "def" },
		{ "stages", "text", "1.\n2." },
		{ "session_number", "text", "num" },
		{ "session_number", "dated", "num {validation}" },
		{ "green_not_in_kairos", "text", "vert" },
		{ "validation_process", "text", "val" },
		{ "greeting", "text", "bonjour" },
		{ "thanks", "text", "merci {today}" },
		{ "help", "text", "aide" },
		{ "out_of_scope", "text", "oos" },
	};
	struct answers *a = answers_new();
	assert_non_null(a);
	char err[1024];
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = answers_set(a, t[i][0], t[i][1], t[i][2], err, sizeof err);
		if (rc)
			print_error("%s\n", err);
		assert_int_equal(rc, 0);
		/* a second value for the same key is refused */
		assert_int_equal(answers_set(a, t[i][0], t[i][1], t[i][2], err, sizeof err), -1);
	}
	assert_int_equal(answers_check(a, NULL, err, sizeof err), 0);
	return a;
}

static void test_set_errors(void **state)
{
	(void)state;
	struct answers *a = answers_new();
	char err[1024];
	assert_int_equal(answers_set(a, "No pe", "text", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown section [No pe]"));
	/* a lower-case name is the answer of an intent of knowledge/ */
	assert_int_equal(answers_set(a, "contact", "other", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown key `other` in [contact]"));
	assert_int_equal(answers_set(a, "state", "FOO", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown key `FOO` in [state]; expected one of: SAIS, DIFF, ARCH, none"));
	assert_int_equal(answers_set(a, "greeting", "text", "", err, sizeof err), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(answers_set(a, "greeting", "text", "a {nope} b", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown placeholder `{nope}`"));
	assert_int_equal(answers_set(a, "greeting", "text", "a {today", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown placeholder"));
	assert_int_equal(answers_set(a, "greeting", "text", "le {validation}", err, sizeof err), -1);
	assert_non_null(strstr(err, "without a validation date"));
	assert_int_equal(answers_set(a, "display_delay", "no_date", "{ft_max}", err, sizeof err), -1);
	assert_int_equal(answers_set(a, "greeting", "dated", "{close}", err, sizeof err), -1);
	assert_non_null(strstr(err, "window"));
	assert_int_equal(answers_set(a, "platforms", "kairos", "{today}", err, sizeof err), -1);
	char *big = malloc(ANSWER_MAX_TEMPLATE + 2);
	memset(big, 'a', ANSWER_MAX_TEMPLATE + 1);
	big[ANSWER_MAX_TEMPLATE + 1] = '\0';
	assert_int_equal(answers_set(a, "greeting", "text", big, err, sizeof err), -1);
	assert_non_null(strstr(err, "limit"));
	free(big);
	/* nothing above was stored: greeting is still missing */
	assert_int_equal(answers_check(a, "greeting", err, sizeof err), -1);
	assert_non_null(strstr(err, "missing `text` in [greeting]"));
	assert_int_equal(answers_set(a, "greeting", "text", "salut {today}", err, sizeof err), 0);
	assert_int_equal(answers_check(a, "greeting", err, sizeof err), 0);
	assert_int_equal(answers_set(a, "greeting", "text", "re", err, sizeof err), -1);
	assert_non_null(strstr(err, "set twice"));
	assert_int_equal(answers_check(a, NULL, err, sizeof err), -1);
	assert_true(answers_known_section("display_delay"));
	assert_true(answers_known_section("green_not_in_kairos"));
	assert_false(answers_known_section("Greetings!"));
	assert_true(answers_known_section("contact")); /* an intent of knowledge/ */
	answers_free(a);
	answers_free(NULL);
}

static struct stage_dates dates_2026_11_20(void)
{
	/* domain.md's example: V = Friday 20 November 2026 */
	struct stage_dates sd = {
		{ 2026, 11, 20 }, { 2026, 11, 21 }, { 2026, 11, 20 },
		{ 2026, 11, 24 }, { 2026, 11, 24 }, { 2026, 12, 1 },
	};
	return sd;
}

/* The answer on `today` for a validation on Friday 20 November 2026. */
static const char *render_on(const struct answers *a, enum intent in, enum platform pf,
			     enum state_slot st, int dated, enum status status, struct date today)
{
	static char out[ASK_MAX_ANSWER];
	struct delays dl;
	rules_delays_default(&dl);
	struct query q = { .intent = in, .confidence = 0.9, .platform = pf, .state = st,
			   .has_date = dated, .validation = { 2026, 11, 20 } };
	struct stage_dates sd = dates_2026_11_20();
	size_t n = answers_render(a, &dl, &q, dated ? &sd : NULL, status, today, out, sizeof out);
	assert_int_equal(n, strlen(out));
	return out;
}

static const char *render(const struct answers *a, enum intent in, enum platform pf,
			  enum state_slot st, int dated, enum status status)
{
	return render_on(a, in, pf, st, dated, status, (struct date){ 2026, 11, 26 });
}

static const struct date on_v = { 2026, 11, 20 }, before_v = { 2026, 11, 19 },
			 long_before_v = { 2026, 10, 1 };

/* The platform text follows the tense of the validation: past, today,
 * future (a hypothetical "si elle est validée demain"). */
static void test_tense(void **state)
{
	(void)state;
	struct answers *a = toy();
	/* today: the `_today` text, the usual status text */
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_KAIROS, 0, 1, ST_EARLY, on_v),
			    "Ft vendredi 20 novembre 2026 Kairos mardi 24 novembre 2026.."
			    "mardi 1er décembre 2026. E mardi 24 novembre 2026");
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_REGIONAL, 0, 1, ST_EARLY, on_v),
			    "Rt vendredi 20 novembre 2026 samedi 21 novembre 2026. "
			    "E samedi 21 novembre 2026");
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_RCO, 0, 1, ST_EARLY, on_v),
			    "Ct vendredi 20 novembre 2026 mardi 24 novembre 2026. "
			    "E mardi 24 novembre 2026");
	/* future: the `_future` text and `early_future` */
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_AUDE, 0, 1, ST_EARLY, before_v),
			    "Ff vendredi 20 novembre 2026 Aude mardi 1er décembre 2026. "
			    "Ef mardi 24 novembre 2026");
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_REGIONAL, 0, 1, ST_EARLY,
				      long_before_v),
			    "Rf vendredi 20 novembre 2026 samedi 21 novembre 2026. "
			    "Ef samedi 21 novembre 2026");
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_RCO, 0, 1, ST_EARLY, before_v),
			    "Cf vendredi 20 novembre 2026 mardi 24 novembre 2026. "
			    "Ef mardi 24 novembre 2026");
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_NONE, 0, 1, ST_EARLY, before_v),
			    "Ff vendredi 20 novembre 2026 tout mardi 1er décembre 2026. "
			    "Ef mardi 24 novembre 2026");
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_FRANCE_TRAVAIL, 0, 1, ST_EARLY,
				      before_v),
			    "Ff vendredi 20 novembre 2026 FT mardi 1er décembre 2026. "
			    "Ef mardi 24 novembre 2026");
	/* past, the day after: unchanged */
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_RCO, 0, 1, ST_EARLY,
				      (struct date){ 2026, 11, 21 }),
			    "C mardi 24 novembre 2026. E mardi 24 novembre 2026");
	/* no date: the tense does not matter */
	assert_string_equal(render_on(a, IN_DISPLAY_DELAY, PF_KAIROS, 0, 0, ST_NONE, before_v),
			    "N 2-7 Kairos");
	answers_free(a);

	/* the new keys are required, and checked like the others */
	a = answers_new();
	char err[1024];
	assert_int_equal(answers_set(a, "display_delay", "early_future", "x {nope}", err,
				     sizeof err), -1);
	assert_non_null(strstr(err, "unknown placeholder `{nope}`"));
	assert_int_equal(answers_set(a, "display_delay", "rco_future", "x {open} {ft_max}", err,
				     sizeof err), 0);
	assert_int_equal(answers_set(a, "display_delay", "france_travail_later", "x", err,
				     sizeof err), -1);
	assert_non_null(strstr(err, "france_travail_today"));
	assert_non_null(strstr(err, "early_future"));
	assert_int_equal(answers_check(a, "display_delay", err, sizeof err), -1);
	answers_free(a);
}

static void test_compose(void **state)
{
	(void)state;
	struct answers *a = toy();
	assert_string_equal(render(a, IN_DISPLAY_DELAY, PF_KAIROS, 0, 1, ST_WITHIN),
			    "F Kairos mardi 24 novembre 2026..mardi 1er décembre 2026. "
			    "W mardi 1er décembre 2026");
	assert_string_equal(render(a, IN_DISPLAY_DELAY, PF_NONE, 0, 1, ST_EARLY),
			    "F tout mardi 24 novembre 2026..mardi 1er décembre 2026. "
			    "E mardi 24 novembre 2026");
	assert_string_equal(render(a, IN_DISPLAY_DELAY, PF_AUDE, 0, 1, ST_OVERDUE),
			    "F Aude mardi 24 novembre 2026..mardi 1er décembre 2026. "
			    "O mardi 1er décembre 2026");
	/* the window follows the platform (domain.md, "Status") */
	assert_string_equal(render(a, IN_DISPLAY_DELAY, PF_REGIONAL, 0, 1, ST_OVERDUE),
			    "R samedi 21 novembre 2026. O samedi 21 novembre 2026");
	assert_string_equal(render(a, IN_DISPLAY_DELAY, PF_RCO, 0, 1, ST_EARLY),
			    "C mardi 24 novembre 2026. E mardi 24 novembre 2026");
	assert_string_equal(render(a, IN_DISPLAY_DELAY, PF_FRANCE_TRAVAIL, 0, 0, ST_NONE),
			    "N 2-7 FT");
	assert_string_equal(render(a, IN_STATE, 0, STS_ARCH, 0, 0), "a");
	assert_string_equal(render(a, IN_STATE, 0, STS_SAIS, 0, 0), "s");
	assert_string_equal(render(a, IN_STATE, 0, STS_DIFF, 1, 0), "d");
	assert_string_equal(render(a, IN_STATE, 0, STS_NONE, 0, 0), "n");
	assert_string_equal(render(a, IN_SESSION_NUMBER, 0, 0, 0, 0), "num");
	assert_string_equal(render(a, IN_SESSION_NUMBER, 0, 0, 1, 0),
			    "num vendredi 20 novembre 2026");
	/* no `dated` template: `text` even with a date */
	assert_string_equal(render(a, IN_DEFINITION, 0, 0, 1, 0), "def");
	assert_string_equal(render(a, IN_STAGES, 0, 0, 0, 0), "1.\n2.");
	assert_string_equal(render(a, IN_THANKS, 0, 0, 0, 0), "merci jeudi 26 novembre 2026");
	assert_string_equal(render(a, IN_OUT_OF_SCOPE, 0, 0, 0, 0), "oos");
	assert_string_equal(render(a, IN_GREEN_NOT_IN_KAIROS, 0, 0, 0, 0), "vert");
	assert_string_equal(render(a, IN_VALIDATION_PROCESS, 0, 0, 0, 0), "val");
	assert_string_equal(render(a, IN_GREETING, 0, 0, 0, 0), "bonjour");
	assert_string_equal(render(a, IN_HELP, 0, 0, 0, 0), "aide");
	answers_free(a);
}

static void test_caps(void **state)
{
	(void)state;
	struct answers *a = answers_new();
	char err[1024];
	/* 3000 bytes of template expand to far more than ASK_MAX_ANSWER */
	char tpl[ANSWER_MAX_TEMPLATE + 1];
	size_t n = 0;
	while (n + 14 <= ANSWER_MAX_TEMPLATE) {
		memcpy(tpl + n, "é{validation}", 14);
		n += 14;
	}
	tpl[n] = '\0';
	assert_int_equal(answers_set(a, "session_number", "dated", tpl, err, sizeof err), 0);
	assert_int_equal(answers_set(a, "session_number", "text", "ééééé", err, sizeof err), 0);
	struct delays dl;
	rules_delays_default(&dl);
	struct query q = { .intent = IN_SESSION_NUMBER, .confidence = 1, .has_date = 1,
			   .validation = { 2026, 12, 1 } };
	struct stage_dates sd = dates_2026_11_20();
	static char out[ASK_MAX_ANSWER];
	size_t len = answers_render(a, &dl, &q, &sd, ST_NONE, (struct date){ 2026, 12, 1 },
				   out, sizeof out);
	assert_true(len <= ASK_MAX_ANSWER - 1);
	assert_true(len > ASK_MAX_ANSWER - 8);
	assert_int_equal(strlen(out), len);
	assert_true(utf8_ok(out));
	/* a tiny buffer cuts between characters, never inside one */
	q.has_date = 0;
	for (size_t sz = 1; sz < 12; sz++) {
		char small[12];
		len = answers_render(a, &dl, &q, NULL, ST_NONE, (struct date){ 2026, 12, 1 },
				    small, sz);
		assert_int_equal(len, (sz - 1) / 2 * 2);
		assert_int_equal(strlen(small), len);
		assert_true(utf8_ok(small));
	}
	assert_int_equal(answers_render(a, &dl, &q, NULL, ST_NONE, (struct date){ 2026, 12, 1 },
				       out, 0), 0);
	answers_free(a);
}

/* The bundled answers.ini says what domain.md requires. */
static void test_real_answers(void **state)
{
	(void)state;
	char err[1024];
	struct kb *kb = kb_load(kb_src(), err, sizeof err);
	if (!kb)
		print_error("%s\n", err);
	assert_non_null(kb);
	const struct answers *a = kb_answers(kb);
	const char *s;

	s = render(a, IN_DISPLAY_DELAY, PF_KAIROS, 0, 1, ST_WITHIN);
	assert_non_null(strstr(s, "Kairos"));
	assert_non_null(strstr(s, "entre le mardi 24 novembre 2026 et le mardi 1er décembre 2026"));
	assert_non_null(strstr(s, "jours ouvrés"));
	assert_non_null(strstr(s, "normal"));
	assert_non_null(strstr(s, "jusqu'au mardi 1er décembre 2026"));

	s = render(a, IN_DISPLAY_DELAY, PF_AUDE, 0, 1, ST_EARLY);
	assert_non_null(strstr(s, "Aude Formation"));
	assert_non_null(strstr(s, "Validée le vendredi 20 novembre 2026"));
	assert_non_null(strstr(s, "pas encore"));
	assert_non_null(strstr(s, "pas attendue avant le mardi 24 novembre 2026"));

	/* validated today: "aujourd'hui", and the date, on every platform */
	for (int pf = 0; pf < PF__COUNT; pf++) {
		s = render_on(a, IN_DISPLAY_DELAY, (enum platform)pf, 0, 1, ST_EARLY, on_v);
		assert_non_null(strstr(s, "Validée aujourd'hui (vendredi 20 novembre 2026)"));
		assert_non_null(strstr(s, "pas attendue avant le"));
		assert_null(strstr(s, "Validée le"));
	}
	/* a validation still to come: a hypothesis, never the past tense, and
	 * no "too early, expected from" against a validation not yet made */
	for (int pf = 0; pf < PF__COUNT; pf++) {
		s = render_on(a, IN_DISPLAY_DELAY, (enum platform)pf, 0, 1, ST_EARLY, before_v);
		assert_true(!strncmp(s, "Si la session est validée le vendredi 20 novembre 2026, ", 56) ||
			    !strncmp(s, "Si la formation est validée le vendredi 20 novembre 2026, ", 58));
		assert_null(strstr(s, "Validée"));
		assert_null(strstr(s, "trop tôt"));
		assert_null(strstr(s, "attendue avant"));
		assert_non_null(strstr(s, "avant sa validation"));
	}
	s = render_on(a, IN_DISPLAY_DELAY, PF_KAIROS, 0, 1, ST_EARLY, before_v);
	assert_non_null(strstr(s, "devrait apparaître dans Kairos entre le mardi 24 novembre 2026 "
				  "et le mardi 1er décembre 2026 (délai compté en jours ouvrés)"));
	s = render_on(a, IN_DISPLAY_DELAY, PF_REGIONAL, 0, 1, ST_EARLY, before_v);
	assert_non_null(strstr(s, "sera affichée sur le site régional le samedi 21 novembre 2026"));
	s = render_on(a, IN_DISPLAY_DELAY, PF_RCO, 0, 1, ST_EARLY, before_v);
	assert_non_null(strstr(s, "site RCO"));
	assert_non_null(strstr(s, "à partir du mardi 24 novembre 2026"));
	assert_non_null(strstr(s, "jours ouvrés"));

	s = render(a, IN_DISPLAY_DELAY, PF_NONE, 0, 1, ST_OVERDUE);
	assert_non_null(strstr(s, "dépassé"));
	assert_non_null(strstr(s, "DIFF"));
	assert_non_null(strstr(s, "Ofeli"));
	assert_non_null(strstr(s, "vert"));
	assert_non_null(strstr(s, "équipe Offre d'Emfor"));
	assert_non_null(strstr(s, "pas de la FAQ"));

	s = render(a, IN_DISPLAY_DELAY, PF_REGIONAL, 0, 1, ST_WITHIN);
	assert_non_null(strstr(s, "site régional"));
	assert_non_null(strstr(s, "samedi 21 novembre 2026"));

	s = render(a, IN_DISPLAY_DELAY, PF_RCO, 0, 1, ST_EARLY);
	assert_non_null(strstr(s, "RCO"));
	assert_non_null(strstr(s, "mardi 24 novembre 2026"));
	assert_non_null(strstr(s, "jours ouvrés"));

	s = render(a, IN_DISPLAY_DELAY, PF_KAIROS, 0, 0, ST_NONE);
	assert_non_null(strstr(s, "2 à 7 jours ouvrés"));
	assert_non_null(strstr(s, "date de validation"));

	s = render(a, IN_STATE, 0, STS_ARCH, 0, 0);
	assert_non_null(strstr(s, "ARCH"));
	assert_non_null(strstr(s, "plus publiée"));
	assert_non_null(strstr(render(a, IN_STATE, 0, STS_SAIS, 0, 0), "saisie"));
	assert_non_null(strstr(render(a, IN_STATE, 0, STS_DIFF, 0, 0), "diffusé"));
	s = render(a, IN_STATE, 0, STS_NONE, 0, 0);
	assert_non_null(strstr(s, "SAIS"));
	assert_non_null(strstr(s, "ARCH"));
	assert_non_null(strstr(render(a, IN_OUT_OF_SCOPE, 0, 0, 0, 0), "ne sais pas"));
	assert_non_null(strstr(render(a, IN_GREEN_NOT_IN_KAIROS, 0, 0, 0, 0),
			       "enregistrée et envoyée"));
	assert_non_null(strstr(render(a, IN_SESSION_NUMBER, 0, 0, 0, 0), "Ofeli"));
	assert_non_null(strstr(render(a, IN_DEFINITION, 0, 0, 0, 0), "validation"));
	assert_non_null(strstr(render(a, IN_VALIDATION_PROCESS, 0, 0, 0, 0), "relecture"));
	s = render(a, IN_STAGES, 0, 0, 0, 0);
	assert_non_null(strstr(s, "\n8. "));
	assert_non_null(strstr(s, "le lendemain"));

	/* about 400 bytes at most, the list of stages excepted (issue 2), for
	 * a validation in the past, today and tomorrow */
	static const struct date days[] = { { 2026, 11, 26 }, { 2026, 11, 20 }, { 2026, 11, 19 } };
	for (int in = 0; in < IN__COUNT; in++)
		for (int pf = 0; pf < PF__COUNT; pf++)
			for (int st = 0; st <= ST_OVERDUE; st++)
				for (int k = 0; k < 6; k++) {
					int dated = k % 2;
					s = render_on(a, (enum intent)in, (enum platform)pf,
						      (enum state_slot)(st % 4), dated,
						      (enum status)st, days[k / 2]);
					assert_true(utf8_ok(s));
					assert_true(strlen(s) > 0);
					if (in != IN_STAGES && strlen(s) > 450) {
						print_error("%zu bytes: %s\n", strlen(s), s);
						fail();
					}
				}
	kb_free(kb);
}

/* ask_question + ask_json on the real knowledge: the contract of domain.md
 * whatever the intent engine decides. */
static void test_ask_contract(void **state)
{
	(void)state;
	char err[1024];
	struct kb *kb = kb_load(kb_src(), err, sizeof err);
	assert_non_null(kb);
	static struct reply r;
	assert_int_equal(ask_question(kb, "   \n", 4, (struct date){ 2026, 11, 26 }, &r), 0);
	assert_int_equal(r.q.intent, IN_HELP);
	assert_int_equal(r.has_dates, 0);
	assert_int_equal(r.status, ST_NONE);
	assert_int_equal(r.len, strlen(r.text));
	char *js = ask_json(&r);
	assert_non_null(js);
	assert_non_null(strstr(js, "\"intent\":\"help\""));
	assert_non_null(strstr(js, "\"dates\":{}"));
	assert_non_null(strstr(js, "\"status\":null"));
	assert_non_null(strstr(js, "\"platform\":null"));
	assert_non_null(strstr(js, "\"validation_date\":null"));
	free(js);

	const char *q = "Ma session a été validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?";
	assert_int_equal(ask_question(kb, q, strlen(q), (struct date){ 2026, 11, 26 }, &r), 0);
	assert_int_equal(r.len, strlen(r.text));
	if (r.q.intent == IN_DISPLAY_DELAY && r.has_dates) {
		assert_int_not_equal(r.status, ST_NONE);
		js = ask_json(&r);
		assert_non_null(strstr(js, "\"france_travail_max\":\"2026-12-01\""));
		assert_null(strstr(js, "\"status\":null"));
		free(js);
	}
	/* a validation after today: the same JSON, a hypothetical answer */
	q = "Si elle est validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?";
	assert_int_equal(ask_question(kb, q, strlen(q), (struct date){ 2026, 11, 18 }, &r), 0);
	if (r.q.intent == IN_DISPLAY_DELAY && r.has_dates) {
		assert_int_equal(r.status, ST_EARLY);
		assert_non_null(strstr(r.text, "Si la session est validée le vendredi 20 novembre 2026"));
		assert_null(strstr(r.text, "Validée"));
		js = ask_json(&r);
		assert_non_null(strstr(js, "\"status\":\"early\""));
		assert_non_null(strstr(js, "\"validation_date\":\"2026-11-20\""));
		free(js);
	}
	/* a date past year 9000 gives no stage dates (they would pass 9999) */
	q = "Ma session a été validée le 20/11/9999, quand sera-t-elle visible dans Kairos ?";
	assert_int_equal(ask_question(kb, q, strlen(q), (struct date){ 9999, 11, 26 }, &r), 0);
	assert_int_equal(r.has_dates, 0);
	assert_int_equal(r.q.has_date, 0);
	assert_int_equal(r.status, ST_NONE);
	js = ask_json(&r);
	assert_non_null(strstr(js, "\"validation_date\":null"));
	free(js);
	/* several states named: each explained, in the question's order; the
	 * JSON slot is the first */
	q = "SAIS ou DIFF, quelle différence ?";
	assert_int_equal(ask_question(kb, q, strlen(q), (struct date){ 2026, 11, 26 }, &r), 0);
	assert_int_equal(r.q.intent, IN_STATE);
	assert_int_equal(r.q.state, STS_SAIS);
	assert_int_equal(r.q.also[0], STS_DIFF);
	assert_int_equal(r.q.also[1], STS_NONE);
	{
		const char *sais = strstr(r.text, "SAIS ("), *diff = strstr(r.text, "DIFF (");
		assert_non_null(sais);
		assert_non_null(diff);
		assert_true(sais < diff);
		assert_null(strstr(r.text, "ARCH ("));
	}
	js = ask_json(&r);
	assert_non_null(strstr(js, "\"state\":\"SAIS\""));
	free(js);
	q = "DIFF, ARCH, SAIS c'est quoi ?";
	assert_int_equal(ask_question(kb, q, strlen(q), (struct date){ 2026, 11, 26 }, &r), 0);
	assert_int_equal(r.q.state, STS_DIFF);
	assert_int_equal(r.q.also[0], STS_ARCH);
	assert_int_equal(r.q.also[1], STS_SAIS);
	assert_non_null(strstr(r.text, "SAIS ("));
	q = "que veut dire ARCH ?";
	assert_int_equal(ask_question(kb, q, strlen(q), (struct date){ 2026, 11, 26 }, &r), 0);
	assert_int_equal(r.q.also[0], STS_NONE);
	assert_null(strstr(r.text, "DIFF ("));
	assert_int_equal(ask_question(kb, NULL, 0, (struct date){ 2026, 11, 26 }, &r), 0);
	assert_int_equal(ask_question(kb, NULL, 3, (struct date){ 2026, 11, 26 }, &r), -1);
	kb_free(kb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_date),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_tense),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_real_answers),
		cmocka_unit_test(test_ask_contract),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
