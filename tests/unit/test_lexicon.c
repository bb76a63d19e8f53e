/* test_lexicon.c - unit tests of bot/lang/lexicon.c through its own API:
 * entries and their canonical text, rewrite rules as norm_text finds
 * them, spelling correction (doubled letters, the symmetric-delete index
 * checked against a brute-force search) and the edit distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexicon.h"

static const char *text_of(const struct lexicon *lx, int32_t e)
{
	unsigned len;
	const char *s;

	assert_true(e >= 0);
	s = lexicon_text(lx, e, &len);
	assert_int_equal(strlen(s), len);
	return s;
}

static int32_t find(const struct lexicon *lx, const char *s)
{
	return lexicon_find(lx, s, strlen(s));
}

static int32_t correct(const struct lexicon *lx, const char *s)
{
	return lexicon_correct(lx, s, (unsigned)strlen(s));
}

static void test_new_free_empty(void **st)
{
	struct lexicon *lx = lexicon_new();

	(void)st;
	lexicon_free(NULL);
	assert_non_null(lx);
	assert_int_equal(lexicon_empty(NULL), 1);
	assert_int_equal(lexicon_empty(lx), 1);
	assert_int_equal(find(lx, "session"), -1);
	assert_int_equal(find(NULL, "session"), -1);
	assert_int_equal(correct(NULL, "sesion"), -1);
	lexicon_seal(lx); /* nothing to index */
	assert_int_equal(correct(lx, "sesion"), -1);
	assert_int_equal(lexicon_add_word(lx, "session"), 0);
	assert_int_equal(lexicon_empty(lx), 0);
	lexicon_free(lx);
}

/* Every entry is canonical text: added as people write it, found as
 * norm_text's tokens are written. */
static void test_entries(void **st)
{
	struct lexicon *lx = lexicon_new();
	char err[256];
	int32_t e;

	(void)st;
	assert_int_equal(lexicon_add_word(lx, "Sessi\xc3\xb3n"), 0);
	e = find(lx, "session");
	assert_string_equal(text_of(lx, e), "session");
	assert_int_equal(lexicon_add_word(lx, "SESSION"), 0); /* the same entry */
	assert_int_equal(find(lx, "session"), e);
	assert_int_equal(find(lx, "sessio"), -1);
	assert_int_equal(lexicon_find(lx, "sessions", 7), e); /* only len bytes are read */
	/* rule words and keep-words are entries, but no known words */
	assert_int_equal(lexicon_add_rewrite(lx, "kan", "quand", err, sizeof err), 0);
	assert_int_equal(lexicon_add_keep(lx, "vite"), 0);
	assert_true(find(lx, "kan") >= 0);
	assert_true(find(lx, "quand") >= 0);
	assert_true(find(lx, "vite") >= 0);
	assert_int_equal(lexicon_has_word(lx, "quand"), 0);
	assert_int_equal(lexicon_has_word(lx, "vite"), 0);
	assert_int_equal(lexicon_has_word(lx, "Session"), 1);
	/* a word folded to something else than one word of letters is refused */
	assert_int_equal(lexicon_add_word(lx, "l'export"), -1);
	assert_int_equal(lexicon_add_keep(lx, "12"), -1);
	assert_int_equal(lexicon_add_keep(NULL, "vite"), -1);
	lexicon_free(lx);
}

static void test_words(void **st)
{
	struct lexicon *lx = lexicon_new();

	(void)st;
	assert_int_equal(lexicon_has_word(lx, "session"), 0);
	assert_int_equal(lexicon_add_word(lx, "Sessión"), 0);
	assert_int_equal(lexicon_has_word(lx, "session"), 1);
	assert_int_equal(lexicon_has_word(lx, "SESSION"), 1);
	assert_int_equal(lexicon_add_word(lx, "deux mots"), -1);
	assert_int_equal(lexicon_add_word(lx, ""), -1);
	assert_int_equal(lexicon_add_word(lx, "12"), -1);
	assert_int_equal(lexicon_add_word(lx, NULL), -1);
	assert_int_equal(lexicon_add_keep(lx, "vite"), 0);
	assert_int_equal(lexicon_has_word(lx, "vite"), 0);
	assert_int_equal(lexicon_has_word(NULL, "vite"), 0);
	lexicon_seal(lx);
	lexicon_seal(lx); /* twice is harmless */
	assert_string_equal(text_of(lx, correct(lx, "sesion")), "session");
	lexicon_free(lx);
}

/* lexicon.ini's lines as the INI reader hands them over. */
static void test_ini_line(void **st)
{
	struct lexicon *lx = lexicon_new();
	char err[512], line[64];

	(void)st;
	assert_int_equal(lexicon_ini_line(lx, "rewrite", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(lexicon_ini_line(lx, "words", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(lexicon_ini_line(lx, "keep", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(lexicon_ini_line(lx, "mots", NULL, NULL, err, sizeof err), -1);
	assert_string_equal(err, "unknown section [mots]; use [rewrite], [words] or [keep]");
	strcpy(line, "quand");
	assert_int_equal(lexicon_ini_line(lx, "rewrite", "kan", line, err, sizeof err), 0);
	assert_true(find(lx, "kan") >= 0);
	strcpy(line, "kan quand");
	assert_int_equal(lexicon_ini_line(lx, "rewrite", NULL, line, err, sizeof err), -1);
	assert_string_equal(err, "\"kan quand\" is no rule; write: from words = to words");
	strcpy(line, "x");
	assert_int_equal(lexicon_ini_line(lx, "rewrite", "kan", line, err, sizeof err), -1);
	assert_string_equal(err, "rewrite rule \"kan\": defined twice; keep one");
	strcpy(line, "session, Visible\tkairos");
	assert_int_equal(lexicon_ini_line(lx, "words", NULL, line, err, sizeof err), 0);
	assert_int_equal(lexicon_has_word(lx, "visible"), 1);
	assert_int_equal(lexicon_has_word(lx, "kairos"), 1);
	strcpy(line, "vite");
	assert_int_equal(lexicon_ini_line(lx, "keep", NULL, line, err, sizeof err), 0);
	assert_true(find(lx, "vite") >= 0);
	assert_int_equal(lexicon_has_word(lx, "vite"), 0);
	strcpy(line, "session 12");
	assert_int_equal(lexicon_ini_line(lx, "words", NULL, line, err, sizeof err), -1);
	assert_string_equal(err, "\"12\" is not one word of letters; fix it");
	strcpy(line, "b");
	assert_int_equal(lexicon_ini_line(lx, "keep", "a", line, err, sizeof err), -1);
	assert_string_equal(err, "[keep] lists words separated by spaces, without '='");
	lexicon_free(lx);
}

/* Tokens of words w[] in sentences sent[], with their entry ids. */
static int mktoks(const struct lexicon *lx, const char *const *w, const unsigned *sent,
		  struct fold_token *tok, int32_t *ent)
{
	int n = 0;

	for (; w[n]; n++) {
		tok[n] = (struct fold_token){ w[n], (unsigned)strlen(w[n]), 0, 0, sent ? sent[n] : 0 };
		ent[n] = find(lx, w[n]);
	}
	return n;
}

static void test_rule_at(void **st)
{
	static const char *const words[] = {"c", "koi", "c", "koi", "euh", "dans", "vingtaine", NULL};
	static const unsigned sent[] = {0, 0, 0, 1, 1, 1, 1};
	struct lexicon *lx = lexicon_new();
	struct fold_token tok[8];
	int32_t ent[8];
	const struct lexicon_rule *r;
	char err[256];
	int n;

	(void)st;
	assert_int_equal(lexicon_add_rewrite(lx, "koi", "quoi", err, sizeof err), 0);
	assert_int_equal(lexicon_add_rewrite(lx, "c koi", "c est quoi", err, sizeof err), 0);
	assert_int_equal(lexicon_add_rewrite(lx, "euh", "", err, sizeof err), 0);
	assert_int_equal(lexicon_add_rewrite(lx, "vingtaine", "20", err, sizeof err), 0);
	assert_int_equal(lexicon_add_rewrite(lx, "ds 2 j", "dans 2 jours", err, sizeof err), 0);
	lexicon_seal(lx);
	n = mktoks(lx, words, sent, tok, ent);
	/* the longest rule wins, added after the shorter one */
	r = lexicon_rule_at(lx, tok, ent, n, 0);
	assert_non_null(r);
	assert_int_equal(r->nfrom, 2);
	assert_int_equal(r->nto, 3);
	assert_string_equal(text_of(lx, (int32_t)r->to[1]), "est");
	assert_int_equal(r->tofl[2], 0);
	/* not across a sentence end: "c" | "koi" gives no rule at "c" */
	assert_null(lexicon_rule_at(lx, tok, ent, n, 2));
	r = lexicon_rule_at(lx, tok, ent, n, 3);
	assert_non_null(r);
	assert_int_equal(r->nfrom, 1);
	assert_string_equal(text_of(lx, (int32_t)r->to[0]), "quoi");
	/* nor past the last token */
	assert_null(lexicon_rule_at(lx, tok, ent, 1, 0));
	/* a deletion, and number tokens flagged for datex */
	r = lexicon_rule_at(lx, tok, ent, n, 4);
	assert_non_null(r);
	assert_int_equal(r->nto, 0);
	r = lexicon_rule_at(lx, tok, ent, n, 6);
	assert_non_null(r);
	assert_int_equal(r->tofl[0], FOLD_TOK_NUM);
	/* "dans" is an entry (a right side), but no rule starts with it */
	assert_true(ent[5] >= 0);
	assert_null(lexicon_rule_at(lx, tok, ent, n, 5));
	/* an unknown token starts no rule */
	ent[5] = -1;
	assert_null(lexicon_rule_at(lx, tok, ent, n, 5));
	lexicon_free(lx);
}

static void test_correct_squeeze(void **st)
{
	struct lexicon *lx = lexicon_new();

	(void)st;
	assert_int_equal(lexicon_add_word(lx, "session"), 0);
	assert_int_equal(lexicon_add_word(lx, "kairos"), 0);
	assert_int_equal(lexicon_add_keep(lx, "vite"), 0);
	/* doubled letters need no index: before lexicon_seal too */
	assert_string_equal(text_of(lx, correct(lx, "sesssion")), "session");
	assert_string_equal(text_of(lx, correct(lx, "kaiiiross")), "kairos");
	assert_string_equal(text_of(lx, correct(lx, "viiite")), "vite"); /* keep-words too */
	assert_int_equal(correct(lx, "sesion"), -1); /* the index is not built yet */
	lexicon_seal(lx);
	assert_string_equal(text_of(lx, correct(lx, "sesion")), "session");
	/* more than 6 doubled runs: not tried */
	assert_int_equal(correct(lx, "aabbccddeeffgg"), -1);
	assert_int_equal(correct(lx, "bzzzt"), -1);
	lexicon_free(lx);
}

static void test_correct_fuzzy(void **st)
{
	struct lexicon *lx = lexicon_new();
	char longw[40];

	(void)st;
	assert_int_equal(lexicon_add_word(lx, "visible"), 0);
	assert_int_equal(lexicon_add_word(lx, "plateforme"), 0);
	assert_int_equal(lexicon_add_word(lx, "mardi"), 0);
	assert_int_equal(lexicon_add_word(lx, "sesi"), 0);
	assert_int_equal(lexicon_add_keep(lx, "visiter"), 0);
	lexicon_seal(lx);
	assert_string_equal(text_of(lx, correct(lx, "visbile")), "visible"); /* transposition */
	assert_string_equal(text_of(lx, correct(lx, "platfome")), "plateforme"); /* 2 edits from 8 */
	assert_int_equal(correct(lx, "visbl"), -1);     /* 2 edits below 8 letters */
	/* keep-words are no correction target; short words never corrected */
	assert_int_equal(correct(lx, "visitor"), -1);
	assert_int_equal(correct(lx, "ses"), -1);
	assert_int_equal(correct(lx, "sesx"), -1);
	assert_int_equal(correct(lx, "mard"), -1); /* "mardi" is 1 edit away, but 4 letters */
	assert_int_equal(correct(lx, "se"), -1);
	memset(longw, 'a', 33);
	longw[33] = '\0';
	assert_int_equal(correct(lx, longw), -1);
	lexicon_free(lx);
}

static void test_typo_ties(void **st)
{
	struct lexicon *lx = lexicon_new();

	(void)st;
	/* "mardo" is one edit from both: the word added first wins */
	assert_int_equal(lexicon_add_word(lx, "mardi"), 0);
	assert_int_equal(lexicon_add_word(lx, "mardx"), 0);
	/* "parle" vs "barle"/"parla": the same first letter wins first */
	assert_int_equal(lexicon_add_word(lx, "barles"), 0);
	assert_int_equal(lexicon_add_word(lx, "parles"), 0);
	/* a nearer word beats a farther one added earlier */
	assert_int_equal(lexicon_add_word(lx, "abcdefgh"), 0);
	assert_int_equal(lexicon_add_word(lx, "abcdefgz"), 0);
	lexicon_seal(lx);
	assert_string_equal(text_of(lx, correct(lx, "mardo")), "mardi");
	assert_string_equal(text_of(lx, correct(lx, "carles")), "barles"); /* neither starts with c: first added */
	assert_string_equal(text_of(lx, correct(lx, "parlez")), "parles");
	assert_string_equal(text_of(lx, correct(lx, "barlez")), "barles");
	assert_string_equal(text_of(lx, correct(lx, "abcdefgzz")), "abcdefgz");
	assert_string_equal(text_of(lx, correct(lx, "abcdeggz")), "abcdefgz");
	lexicon_free(lx);
}

static unsigned rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

/* One random edit of s (letters a-h): substitution, deletion or insertion. */
static void edit_once(char *s, unsigned *seed)
{
	size_t len = strlen(s), p = rnd(seed) % len;

	switch (rnd(seed) % 3) {
	case 0:
		s[p] = (char)('a' + rnd(seed) % 8);
		break;
	case 1:
		memmove(s + p, s + p + 1, len - p);
		break;
	default:
		memmove(s + p + 1, s + p, len - p + 1);
		s[p] = (char)('a' + rnd(seed) % 8);
		break;
	}
}

/* The symmetric-delete index finds what comparing the typo with every
 * word finds: the same (smallest) distance, on a few thousand random
 * words and typos (1 edit, or 2 from 9 letters) with no doubled letter
 * (so no squeezing). */
static void test_correct_vs_brute_force(void **st)
{
	enum { NW = 3000, NT = 600 };
	static char words[NW][16];
	struct lexicon *lx = lexicon_new();
	unsigned seed = 12;
	int found = 0, found2 = 0;

	(void)st;
	for (int i = 0; i < NW; i++) {
		int len = 5 + (int)(rnd(&seed) % 9);

		for (int k = 0; k < len; k++) {
			do
				words[i][k] = (char)('a' + rnd(&seed) % 8);
			while (k > 0 && words[i][k] == words[i][k - 1]);
		}
		words[i][len] = '\0';
		assert_int_equal(lexicon_add_word(lx, words[i]), 0);
	}
	lexicon_seal(lx);
	for (int t = 0; t < NT; t++) {
		char typo[24];
		const char *w = words[rnd(&seed) % NW];
		int best = 99, maxd, d, doubled = 0;
		size_t len = strlen(w);
		int32_t e;

		memcpy(typo, w, len + 1);
		edit_once(typo, &seed);
		if (len >= 9 && rnd(&seed) % 2)
			edit_once(typo, &seed);
		len = strlen(typo);
		for (size_t k = 1; k < len; k++)
			doubled |= typo[k] == typo[k - 1];
		if (doubled || len < 5 || find(lx, typo) >= 0)
			continue;
		maxd = len >= 8 ? 2 : 1;
		for (int i = 0; i < NW; i++) {
			d = lexicon_edit_distance(typo, len, words[i], strlen(words[i]), maxd);
			if (d < best)
				best = d;
		}
		e = correct(lx, typo);
		if (best > maxd) {
			assert_int_equal(e, -1);
		} else {
			const char *c = text_of(lx, e);

			assert_int_equal(lexicon_edit_distance(typo, len, c, strlen(c), maxd), best);
			found++;
			found2 += best == 2;
		}
	}
	/* enough cases of each kind were checked */
	assert_true(found > NT / 4);
	assert_true(found2 > 10);
	lexicon_free(lx);
}

static void test_edit_distance(void **st)
{
	char a[200], b[200];

	(void)st;
	assert_int_equal(lexicon_edit_distance("kitten", 6, "sitting", 7, 5), 3);
	assert_int_equal(lexicon_edit_distance("kitten", 6, "sitting", 7, 2), 3); /* max + 1 */
	assert_int_equal(lexicon_edit_distance("session", 7, "sesion", 6, 1), 1);
	assert_int_equal(lexicon_edit_distance("kairos", 6, "kaiors", 6, 1), 1); /* transposition */
	assert_int_equal(lexicon_edit_distance("ab", 2, "ba", 2, 3), 1);
	assert_int_equal(lexicon_edit_distance("abc", 3, "abc", 3, 0), 0);
	assert_int_equal(lexicon_edit_distance("", 0, "abc", 3, 3), 3);
	assert_int_equal(lexicon_edit_distance("abc", 3, "", 0, 1), 2);
	assert_int_equal(lexicon_edit_distance("a", 1, "abcdef", 6, 2), 3);
	assert_int_equal(lexicon_edit_distance("abcdef", 6, "badcfe", 6, 3), 3);
	assert_int_equal(lexicon_edit_distance("abcdef", 6, "ghijkl", 6, 1), 2);
	assert_int_equal(lexicon_edit_distance("abc", 3, "abd", 3, -1), 1);
	/* only len bytes are read */
	assert_int_equal(lexicon_edit_distance("abcX", 3, "abcY", 3, 1), 0);
	/* long strings (heap rows) */
	memset(a, 'a', sizeof a);
	memcpy(b, a, sizeof b);
	b[100] = 'b';
	b[150] = 'c';
	assert_int_equal(lexicon_edit_distance(a, sizeof a, b, sizeof b, 5), 2);
	assert_int_equal(lexicon_edit_distance(a, sizeof a, b, sizeof b - 1, 5), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free_empty),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_ini_line),
		cmocka_unit_test(test_rule_at),
		cmocka_unit_test(test_correct_squeeze),
		cmocka_unit_test(test_correct_fuzzy),
		cmocka_unit_test(test_typo_ties),
		cmocka_unit_test(test_correct_vs_brute_force),
		cmocka_unit_test(test_edit_distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
