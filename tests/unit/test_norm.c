/* test_norm.c - unit tests of the normalisation pipeline, bot/lang/norm.c
 * with fold.c under it: Unicode folding, invalid UTF-8, truncation, the
 * tokenising conventions datex.c relies on, rewrite rules, typo and
 * doubled-letter fixes as norm_text applies them, and number words
 * (lexicon.c's own API: test_lexicon.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "lexicon.h"
#include "norm.h"

static struct norm_text nt; /* 30 KiB: static, not on the test's stack */

static const char *fold(const char *s)
{
	static char out[1024];

	fold_text(s, strlen(s), out, sizeof out, NULL);
	return out;
}

/* Tokens joined by spaces, for one readable assertion per case. */
static const char *joined(void)
{
	static char b[8192];
	size_t n = 0;

	b[0] = '\0';
	for (int i = 0; i < nt.ntok && n + nt.tok[i].len + 2 < sizeof b; i++) {
		if (i)
			b[n++] = ' ';
		memcpy(b + n, nt.tok[i].s, nt.tok[i].len);
		n += nt.tok[i].len;
		b[n] = '\0';
		assert_int_equal(strlen(nt.tok[i].s), nt.tok[i].len);
	}
	return b;
}

static const char *toks(const struct lexicon *lx, const char *s)
{
	norm_text(lx, s, strlen(s), &nt);
	return joined();
}

static int find_tok(const char *s)
{
	for (int i = 0; i < nt.ntok; i++)
		if (!strcmp(nt.tok[i].s, s))
			return i;
	fail_msg("token \"%s\" missing in \"%s\"", s, joined());
	return -1;
}

/* A lexicon like the one kb.c builds from knowledge/lexicon.ini. */
static struct lexicon *test_lexicon(void)
{
	static const char *words[] = {
		"session", "visible", "kairos", "affichage", "afficher",
		"formation", "validation", "diffusion", "archivee", "export",
		"plateforme", "apparait", "toujours", "statut", "catalogue",
		"valide", "validee", NULL,
	};
	static const char *rules[][2] = {
		{"kan", "quand"}, {"qd", "quand"}, {"ds", "dans"},
		{"pk", "pourquoi"}, {"pq", "pourquoi"}, {"koi", "quoi"},
		{"jsuis", "je suis"}, {"ya", "il y a"},
		{"sa veut dire", "ca veut dire"}, {"c koi", "c est quoi"},
		{"euh", ""},
	};
	struct lexicon *lx = lexicon_new();
	char err[256];

	assert_non_null(lx);
	for (int i = 0; words[i]; i++)
		assert_int_equal(lexicon_add_word(lx, words[i]), 0);
	assert_int_equal(lexicon_add_keep(lx, "vite"), 0);
	assert_int_equal(lexicon_add_keep(lx, "visiter"), 0);
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		assert_int_equal(lexicon_add_rewrite(lx, rules[i][0], rules[i][1], err, sizeof err), 0);
	lexicon_seal(lx);
	return lx;
}

/* ------------------------------------------------------------- folding */

static void test_fold_case_accents(void **st)
{
	(void)st;
	assert_string_equal(fold("ÉTÉ Déjà Où ça Noël ÎLE âge Ça"), "ete deja ou ca noel ile age ca");
	assert_string_equal(fold("Validée VALIDÉE"), "validee validee");
	/* decomposed input (e + combining acute) folds the same */
	assert_string_equal(fold("valide\xcc\x81\x65"), "validee");
}

static void test_fold_ligatures(void **st)
{
	(void)st;
	assert_string_equal(fold("Œuvre cœur Æther ex æquo Straße ẞ"), "oeuvre coeur aether ex aequo strasse ss");
	assert_string_equal(fold("ﬁn ﬂux"), "fin flux");
}

static void test_fold_apostrophes(void **st)
{
	static const char *apos[] = {"\xe2\x80\x99", "\xe2\x80\x98", "\xca\xbc", "\xc2\xb4",
				     "`", "\xe2\x80\xb2", "'", "\xef\xbc\x87"};
	char in[64];

	(void)st;
	for (size_t i = 0; i < sizeof apos / sizeof apos[0]; i++) {
		snprintf(in, sizeof in, "L%sexport", apos[i]);
		assert_string_equal(fold(in), "l'export");
	}
}

static void test_fold_dashes(void **st)
{
	static const char *dash[] = {"\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x91", "\xe2\x88\x92",
				     "\xe2\x80\x90", "-", "\xef\xbc\x8d"};
	char in[64];

	(void)st;
	for (size_t i = 0; i < sizeof dash / sizeof dash[0]; i++) {
		snprintf(in, sizeof in, "apr\xc3\xa8s%sdemain", dash[i]);
		assert_string_equal(fold(in), "apres-demain");
	}
}

static void test_fold_quotes_spaces(void **st)
{
	(void)st;
	assert_string_equal(fold("\xc2\xab\xc2\xa0session\xc2\xa0\xc2\xbb"), "session");
	assert_string_equal(fold("le \xe2\x80\x9c" "DIFF\xe2\x80\x9d \"SAIS\""), "le diff sais");
	assert_string_equal(fold("quand\xc2\xa0?"), "quand ?");
	assert_string_equal(fold("quand\xe2\x80\xaf?"), "quand ?");
	assert_string_equal(fold("  a\t\tb \r\n c\x01" "d\x7f  "), "a b cd");
	assert_string_equal(fold(""), "");
	assert_string_equal(fold(" \t\n "), "");
}

static void test_fold_invisible(void **st)
{
	static const char *mark[] = {"\xe2\x80\x8b", "\xe2\x80\x8c", "\xe2\x80\x8d", "\xe2\x80\x8e",
				     "\xe2\x80\x8f", "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac",
				     "\xe2\x80\xad", "\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x81\xa7",
				     "\xe2\x81\xa8", "\xe2\x81\xa9", "\xef\xbb\xbf", "\xc2\xad"};
	char in[64];

	(void)st;
	for (size_t i = 0; i < sizeof mark / sizeof mark[0]; i++) {
		snprintf(in, sizeof in, "%sses%ssion%s", mark[i], mark[i], mark[i]);
		assert_string_equal(fold(in), "session");
	}
}

static void test_fold_nfkc_emoji(void **st)
{
	(void)st;
	/* fullwidth letters, circled digits and superscripts via NFKC */
	assert_string_equal(fold("\xef\xbc\xab\xef\xbc\xa1\xef\xbc\xa9\xef\xbc\xb2\xef\xbc\xaf\xef\xbc\xb3"), "kairos");
	assert_string_equal(fold("\xe2\x91\xa0\xe2\x91\xa1 x\xc2\xb2"), "12 x2");
	assert_string_equal(fold("\xe2\x80\xa6"), "...");
	/* emoji pass through, and are word boundaries only */
	assert_string_equal(fold("merci\xf0\x9f\x91\x8d !"), "merci\xf0\x9f\x91\x8d !");
	assert_string_equal(toks(NULL, "merci\xf0\x9f\x91\x8d\xf0\x9f\x98\x80 beaucoup"), "merci beaucoup");
	assert_int_equal(nt.invalid_utf8, 0);
	/* other scripts survive the fold (Greek lowercased, Hangul recomposed) */
	assert_string_equal(fold("\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1"), "\xcf\x89\xce\xbc\xce\xb5\xce\xb3\xce\xb1");
	assert_string_equal(fold("\xed\x95\x9c"), "\xed\x95\x9c");
}

static void test_fold_invalid_utf8(void **st)
{
	static const struct { const char *in, *out; } c[] = {
		{"ma\xc3 session", "ma session"},         /* truncated 2-byte */
		{"ma session\xe2\x82", "ma session"},     /* truncated at the end */
		{"ma\xc0\xafsession", "ma session"},      /* overlong '/' */
		{"ma\xe0\x80\xafsession", "ma session"},  /* 3-byte overlong */
		{"ma\x80session", "ma session"},          /* lone continuation */
		{"ma\xbf\xbfsession", "ma session"},
		{"ma\xed\xa0\x80session", "ma session"},  /* surrogate D800 */
		{"ma\xf4\x90\x80\x80session", "ma session"}, /* above U+10FFFF */
		{"ma\xf8\x88\x80\x80\x80session", "ma session"}, /* 5-byte form */
		{"ma\xff\xfesession", "ma session"},
		{"valid\xe9" "e le 3", "validee le 3"}, /* Latin-1 French letter */
		{"d\xe9j\xe0", "deja"},
	};
	char out[256];
	int bad;

	(void)st;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		bad = 0;
		fold_text(c[i].in, strlen(c[i].in), out, sizeof out, &bad);
		assert_string_equal(out, c[i].out);
		assert_int_equal(bad, 1);
	}
	fold_text("d\xc3\xa9j\xc3\xa0", 7, out, sizeof out, &bad);
	assert_string_equal(out, "deja");
	assert_int_equal(bad, 0);
	/* U+FFFD itself is valid: a word boundary, not an error */
	fold_text("a\xef\xbf\xbd" "b", 5, out, sizeof out, &bad);
	assert_string_equal(out, "a b");
	assert_int_equal(bad, 0);
	fold_text("ok", 2, out, sizeof out, NULL); /* invalid may be NULL */
	assert_string_equal(out, "ok");

	norm_text(NULL, "quand\xc3 visible \xed\xa0\x80?", 19, &nt);
	assert_int_equal(nt.invalid_utf8, 1);
	assert_string_equal(joined(), "quand visible");
}

static void test_fold_bounds(void **st)
{
	char out[8];
	char *in;

	(void)st;
	memset(out, 'Z', sizeof out);
	assert_int_equal(fold_text("abcdef", 6, out, 1, NULL), 0);
	assert_string_equal(out, "");
	assert_int_equal(out[1], 'Z');
	/* a character that does not fit is left out whole */
	memset(out, 'Z', sizeof out);
	assert_int_equal(fold_text("ab\xf0\x9f\x91\x8d", 6, out, 5, NULL), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(out[5], 'Z');
	assert_int_equal(fold_text("\xc5\x93\xc5\x93\xc5\x93", 6, out, 6, NULL), 4);
	assert_string_equal(out, "oeoe");
	/* never reads past len: an exact-size heap block without NUL */
	in = malloc(3);
	assert_non_null(in);
	memcpy(in, "ab\xc3", 3);
	assert_int_equal(fold_text(in, 3, out, sizeof out, NULL), 2);
	assert_string_equal(out, "ab");
	memcpy(in, "x\xc3\xa9", 3);
	assert_int_equal(fold_text(in, 2, out, sizeof out, NULL), 1);
	free(in);
	assert_int_equal(fold_text(NULL, 0, out, sizeof out, NULL), 0);
}

static void test_truncate_1mib(void **st)
{
	size_t n = 1u << 20;
	char *in = malloc(n); /* no NUL: norm_text must stop at len */
	char out[64];
	int bad;

	(void)st;
	assert_non_null(in);
	for (size_t i = 0; i < n; i++)
		in[i] = "session "[i % 8];
	norm_text(NULL, in, n, &nt);
	assert_int_equal(nt.truncated, 1);
	assert_int_equal(nt.invalid_utf8, 0);
	assert_int_equal(nt.ntok, NORM_MAX_INPUT / 8);
	assert_true(nt.tok[nt.ntok - 1].orig < NORM_MAX_INPUT);

	/* 2-byte characters straddling the limit: cut on a boundary, so no
	 * invalid UTF-8 is invented */
	in[0] = 'x';
	for (size_t i = 1; i + 1 < n; i += 2)
		in[i] = '\xc3', in[i + 1] = '\xa9';
	norm_text(NULL, in, n, &nt);
	assert_int_equal(nt.truncated, 1);
	assert_int_equal(nt.invalid_utf8, 0);
	assert_int_equal(nt.ntok, 1);
	assert_int_equal(nt.tok[0].len, 1 + (NORM_MAX_INPUT - 1) / 2);

	/* 4-byte emoji: output of the fold far longer than the buffer */
	for (size_t i = 0; i + 4 <= n; i += 4)
		memcpy(in + i, "\xf0\x9f\x91\x8d", 4);
	norm_text(NULL, in, n, &nt);
	assert_int_equal(nt.truncated, 1);
	assert_int_equal(nt.invalid_utf8, 0);
	assert_int_equal(nt.ntok, 0);
	assert_int_equal(fold_text(in, n, out, sizeof out, &bad), 60);
	assert_int_equal(bad, 0);

	/* tokens beyond NORM_MAX_TOKENS are dropped, not overrun */
	for (size_t i = 0; i < n; i++)
		in[i] = "a "[i % 2];
	norm_text(NULL, in, n, &nt);
	assert_int_equal(nt.ntok, NORM_MAX_TOKENS);
	free(in);

	norm_text(NULL, NULL, 0, &nt);
	assert_int_equal(nt.ntok, 0);
	norm_text(NULL, "", 0, &nt);
	assert_int_equal(nt.ntok, 0);
	assert_int_equal(nt.truncated, 0);
}

/* ------------------------------------------------------------ tokenise */

static void test_tok_elision(void **st)
{
	(void)st;
	assert_string_equal(toks(NULL, "l'export qu'il j'ai d\xe2\x80\x99" "abord c'est"),
			    "l export qu il j ai d abord c est");
	assert_string_equal(toks(NULL, "Aujourd'hui, aujourd hui et AUJOURDHUI aujourd\xe2\x80\x99hui"),
			    "aujourdhui aujourdhui et aujourdhui aujourdhui");
	/* not across a sentence end */
	assert_string_equal(toks(NULL, "aujourd. hui"), "aujourd hui");
}

/* "jviens": the elided je glued to its verb is split; words starting with
 * j and a vowel, known words and the lexicon's own rules are left alone. */
static void test_glued_je(void **st)
{
	struct lexicon *lx = test_lexicon();
	(void)st;
	assert_string_equal(toks(lx, "jviens de la voir"), "je viens de la voir");
	assert_string_equal(toks(lx, "JCROIS qu'elle est visible"), "je crois qu elle est visible");
	assert_string_equal(toks(lx, "jsuis perdu"), "je suis perdu");
	assert_string_equal(toks(lx, "jamais jour juste jai"), "jamais jour juste jai");
	assert_string_equal(toks(lx, "jp j jk"), "jp j jk");
	assert_string_equal(toks(NULL, "jviens"), "jviens");
	lexicon_free(lx);
}

static void test_tok_hyphen(void **st)
{
	(void)st;
	assert_string_equal(toks(NULL, "après-demain"), "apres demain");
	assert_string_equal(toks(NULL, "Sera-t-elle visible ? est-ce"), "sera t elle visible est ce");
	assert_string_equal(toks(NULL, "a - b -c"), "a b c");
}

static void test_tok_dates(void **st)
{
	static const char *dates[] = {"12/11/2026", "5-02", "24.12.2026", "2026-12-30", "12/11", "12/11/26", "1.5"};
	char in[64];

	(void)st;
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		snprintf(in, sizeof in, "le %s.", dates[i]);
		norm_text(NULL, in, strlen(in), &nt);
		assert_int_equal(nt.ntok, 2);
		assert_string_equal(nt.tok[1].s, dates[i]);
		assert_int_equal(nt.tok[1].flags, FOLD_TOK_DATE);
		assert_int_equal(nt.tok[1].orig, 3);
		assert_int_equal(nt.tok[1].sent, 0);
	}
	/* a separator not followed by a digit is no part of the date */
	assert_string_equal(toks(NULL, "le 12/ 11- 3."), "le 12 11 3");
	assert_int_equal(nt.tok[1].flags, FOLD_TOK_NUM);
	assert_string_equal(toks(NULL, "12/11/2026a"), "12/11/2026 a");
}

static void test_tok_numbers_suffix(void **st)
{
	(void)st;
	assert_string_equal(toks(NULL, "le 1er, à 14h30 ou 48h, le 3ème, 14:30"), "le 1er a 14h30 ou 48h le 3eme 14:30");
	assert_int_equal(nt.tok[find_tok("1er")].flags, 0);
	assert_int_equal(nt.tok[find_tok("14h30")].flags, 0);
	assert_int_equal(nt.tok[find_tok("48h")].flags, 0);
	assert_int_equal(nt.tok[find_tok("14:30")].sent, 0);
	assert_string_equal(toks(NULL, "12 2026 007"), "12 2026 007");
	for (int i = 0; i < nt.ntok; i++)
		assert_int_equal(nt.tok[i].flags, FOLD_TOK_NUM);
	/* letters then digits split */
	assert_string_equal(toks(NULL, "le12 rco2"), "le 12 rco 2");
	assert_string_equal(toks(NULL, "a,b(c)[d]{e}/f@g#h+i=j*k%l&m"), "a b c d e f g h i j k l m");
}

static void test_tok_sentences(void **st)
{
	static const unsigned want[] = {0, 1, 2, 3, 4, 5, 6, 7, 7, 7};

	(void)st;
	assert_string_equal(toks(NULL, "?! a. b! c? d; e: f\ng ...?! h 24.12.2026 1.5"),
			    "a b c d e f g h 24.12.2026 1.5");
	assert_int_equal(nt.ntok, 10);
	for (int i = 0; i < nt.ntok; i++)
		assert_int_equal(nt.tok[i].sent, want[i]);
	toks(NULL, "a\r\nb\xe2\x80\xa8" "c");
	assert_int_equal(nt.tok[1].sent, 1);
	assert_int_equal(nt.tok[2].sent, 2);
}

static void test_tok_upper_orig(void **st)
{
	(void)st;
	toks(NULL, "Le statut SAIS, DIFF ou RCO ? A ÉTÉ Kairos ＲＣＯ X");
	assert_int_equal(nt.tok[find_tok("sais")].flags, FOLD_TOK_UPPER);
	assert_int_equal(nt.tok[find_tok("diff")].flags, FOLD_TOK_UPPER);
	assert_int_equal(nt.tok[find_tok("rco")].flags, FOLD_TOK_UPPER);
	assert_int_equal(nt.tok[find_tok("ete")].flags, FOLD_TOK_UPPER);
	assert_int_equal(nt.tok[find_tok("le")].flags, 0);
	assert_int_equal(nt.tok[find_tok("kairos")].flags, 0);
	assert_int_equal(nt.tok[find_tok("a")].flags, 0); /* one letter */
	assert_int_equal(nt.tok[find_tok("x")].flags, 0);
	assert_int_equal(nt.tok[nt.ntok - 2].flags, FOLD_TOK_UPPER); /* fullwidth RCO */
	/* orig: byte offsets in the input, past multi-byte characters */
	toks(NULL, "« Été » à Noël");
	assert_int_equal(nt.tok[0].orig, 3);
	assert_int_equal(nt.tok[1].orig, 12);
	assert_int_equal(nt.tok[2].orig, 15);
}

/* ------------------------------------------------------------- lexicon */

static void test_rewrite(void **st)
{
	struct lexicon *lx = test_lexicon();

	(void)st;
	assert_string_equal(toks(lx, "kan sera visible ma session"), "quand sera visible ma session");
	assert_int_equal(nt.tok[0].flags, FOLD_TOK_FIXED);
	assert_int_equal(nt.tok[1].flags, 0);
	assert_string_equal(toks(lx, "qd ds pk pq koi"), "quand dans pourquoi pourquoi quoi");
	assert_string_equal(toks(lx, "jsuis perdu"), "je suis perdu");
	assert_int_equal(nt.tok[1].orig, 0);
	assert_string_equal(toks(lx, "ya un souci"), "il y a un souci");
	/* multi-token, and the longest match first: "c koi" before "koi" */
	assert_string_equal(toks(lx, "sa veut dire koi DIFF"), "ca veut dire quoi diff");
	assert_string_equal(toks(lx, "c koi"), "c est quoi");
	assert_string_equal(toks(lx, "sa veut pas"), "sa veut pas");
	/* a multi-token rule does not cross a sentence end */
	assert_string_equal(toks(lx, "sa veut. dire"), "sa veut dire");
	/* deletion */
	assert_string_equal(toks(lx, "euh kan euh"), "quand");
	assert_int_equal(nt.tok[0].orig, 4);
	/* SMS capitals: KAN keeps its FOLD_TOK_UPPER */
	toks(lx, "KAN");
	assert_int_equal(nt.tok[0].flags, FOLD_TOK_FIXED | FOLD_TOK_UPPER);
	/* expansion past NORM_MAX_TOKENS is cut, not overrun */
	{
		static char many[3 * NORM_MAX_TOKENS + 1];

		for (int i = 0; i < NORM_MAX_TOKENS; i++)
			memcpy(many + 3 * i, "ya ", 3);
		norm_text(lx, many, strlen(many), &nt);
		assert_int_equal(nt.ntok, NORM_MAX_TOKENS);
		assert_string_equal(nt.tok[NORM_MAX_TOKENS - 1].s, "ya"); /* whole rules only */
	}
	lexicon_free(lx);
	/* the output is not rewritten again, so rules cannot loop */
	lx = lexicon_new();
	assert_int_equal(lexicon_add_rewrite(lx, "aa", "bb", NULL, 0), 0);
	assert_int_equal(lexicon_add_rewrite(lx, "bb", "aa", NULL, 0), 0);
	lexicon_seal(lx);
	assert_string_equal(toks(lx, "aa bb aa"), "bb aa bb");
	lexicon_free(lx);
}

static void test_rewrite_errors(void **st)
{
	struct lexicon *lx = lexicon_new();
	char err[256];

	(void)st;
	err[0] = '\0';
	assert_int_equal(lexicon_add_rewrite(lx, "", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "nothing to rewrite"));
	assert_int_equal(lexicon_add_rewrite(lx, " ,;", "x", err, sizeof err), -1);
	assert_int_equal(lexicon_add_rewrite(lx, "a b c d e f g h i", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "at most 8"));
	assert_int_equal(lexicon_add_rewrite(lx, "x", "a b c d e f g h i", err, sizeof err), -1);
	assert_int_equal(lexicon_add_rewrite(lx, "a\xff", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "invalid UTF-8"));
	assert_int_equal(lexicon_add_rewrite(lx, NULL, "x", err, sizeof err), -1);
	assert_int_equal(lexicon_add_rewrite(lx, "x", NULL, NULL, 0), -1);
	assert_int_equal(lexicon_add_rewrite(NULL, "x", "y", err, sizeof err), -1);
	assert_int_equal(lexicon_add_rewrite(lx, "a b c d e f g h", "a b c d e f g h", err, sizeof err), 0);
	/* not folded: folded like a question, so it matches what people type */
	assert_int_equal(lexicon_add_rewrite(lx, "Qu\xe2\x80\x99" "EST-CE", "qu est ce que", err, sizeof err), 0);
	assert_int_equal(lexicon_add_rewrite(lx, "qu'est ce", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(lexicon_add_rewrite(lx, "Aujourd'hui", "auj", err, sizeof err), 0);
	lexicon_seal(lx);
	assert_string_equal(toks(lx, "qu'est-ce aujourd hui"), "qu est ce que auj");
	lexicon_free(lx);
	lexicon_free(NULL);
}

static void test_typos(void **st)
{
	struct lexicon *lx = test_lexicon();

	(void)st;
	assert_string_equal(toks(lx, "visble sesion formaton kairso"), "visible session formation kairos");
	for (int i = 0; i < nt.ntok; i++)
		assert_int_equal(nt.tok[i].flags, FOLD_TOK_FIXED);
	/* 2 edits from 8 letters, not below */
	assert_string_equal(toks(lx, "difusiom plattforme validaton afichaje"),
			    "diffusion plateforme validation affichage");
	assert_string_equal(toks(lx, "sesxon"), "sesxon");
	/* 4 letters or fewer, numbers and dates are never corrected */
	assert_string_equal(toks(lx, "sesi kair 12345 12/11/2026"), "sesi kair 12345 12/11/2026");
	assert_int_equal(nt.tok[0].flags, 0);
	/* known words and keep-words stay as written */
	assert_string_equal(toks(lx, "valide validee vite visiter session"), "valide validee vite visiter session");
	for (int i = 0; i < nt.ntok; i++)
		assert_int_equal(nt.tok[i].flags, 0);
	/* number words are not "corrected" into vocabulary */
	assert_string_equal(toks(lx, "quinze"), "15");
	lexicon_free(lx);
}

static void test_doubled_letters(void **st)
{
	struct lexicon *lx = test_lexicon();

	(void)st;
	assert_string_equal(toks(lx, "visiiible sesssion kaiross KAIIIROOOS toujourrrs"),
			    "visible session kairos kairos toujours");
	for (int i = 0; i < nt.ntok; i++)
		assert_true(nt.tok[i].flags & FOLD_TOK_FIXED);
	assert_int_equal(nt.tok[3].flags, FOLD_TOK_FIXED | FOLD_TOK_UPPER);
	/* squeezing that gives no known word leaves the token alone */
	assert_string_equal(toks(lx, "bzzzzzt"), "bzzzzzt");
	/* keep-words are targets too: "viiiite" -> "vite" */
	assert_string_equal(toks(lx, "viiiite"), "vite");
	lexicon_free(lx);
}

/* ------------------------------------------------------- number words */

static void test_numbers_2_31(void **st)
{
	static const char *w[] = {
		NULL, NULL, "deux", "trois", "quatre", "cinq", "six", "sept", "huit",
		"neuf", "dix", "onze", "douze", "treize", "quatorze", "quinze",
		"seize", "dix-sept", "dix-huit", "dix-neuf", "vingt", "vingt et un",
		"vingt-deux", "vingt-trois", "vingt-quatre", "vingt-cinq",
		"vingt-six", "vingt-sept", "vingt-huit", "vingt-neuf", "trente",
		"trente et un",
	};
	char in[64], want[16];
	struct lexicon *lx = test_lexicon();

	(void)st;
	for (int v = 2; v <= 31; v++) {
		for (int with = 0; with < 2; with++) {
			snprintf(in, sizeof in, "il y a %s jours", w[v]);
			norm_text(with ? lx : NULL, in, strlen(in), &nt);
			snprintf(want, sizeof want, "%d", v);
			assert_int_equal(nt.ntok, 5);
			assert_string_equal(nt.tok[3].s, want);
			assert_int_equal(nt.tok[3].flags, FOLD_TOK_NUM | FOLD_TOK_NUMWORD);
			assert_int_equal(nt.tok[3].orig, 7);
			assert_string_equal(nt.tok[4].s, "jours");
		}
	}
	lexicon_free(lx);
}

static void test_numbers_beyond(void **st)
{
	(void)st;
	assert_string_equal(toks(NULL, "vingt deux, dix sept, trente-cinq, quarante et un"), "22 17 35 41");
	assert_string_equal(toks(NULL, "cinquante-neuf soixante soixante dix soixante-et-onze"), "59 60 70 71");
	assert_string_equal(toks(NULL, "soixante-dix-sept soixante douze quatre-vingts quatre vingt un"), "77 72 80 81");
	assert_string_equal(toks(NULL, "quatre-vingt-dix quatre vingt onze quatre-vingt-dix-neuf"), "90 91 99");
	assert_string_equal(toks(NULL, "QUINZE jours, Vingt-Et-Une sessions"), "15 jours 21 sessions");
	/* articles stay words; "vingt et" without a unit is 20 then "et" */
	assert_string_equal(toks(NULL, "un jour, une semaine, vingt et plus"), "un jour une semaine 20 et plus");
	assert_int_equal(nt.tok[0].flags, 0);
	/* "sept" after a day number is the month (datex) */
	assert_string_equal(toks(NULL, "le 12 sept et le 1er sept, sept jours"), "le 12 sept et le 1er sept 7 jours");
	/* a number phrase does not cross a sentence end */
	assert_string_equal(toks(NULL, "vingt. deux"), "20 2");
	assert_int_equal(nt.tok[1].sent, 1);
	/* digits: FOLD_TOK_NUM only */
	toks(NULL, "3 jours");
	assert_int_equal(nt.tok[0].flags, FOLD_TOK_NUM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_case_accents),
		cmocka_unit_test(test_fold_ligatures),
		cmocka_unit_test(test_fold_apostrophes),
		cmocka_unit_test(test_fold_dashes),
		cmocka_unit_test(test_fold_quotes_spaces),
		cmocka_unit_test(test_fold_invisible),
		cmocka_unit_test(test_fold_nfkc_emoji),
		cmocka_unit_test(test_fold_invalid_utf8),
		cmocka_unit_test(test_fold_bounds),
		cmocka_unit_test(test_truncate_1mib),
		cmocka_unit_test(test_tok_elision),
		cmocka_unit_test(test_tok_hyphen),
		cmocka_unit_test(test_tok_dates),
		cmocka_unit_test(test_tok_numbers_suffix),
		cmocka_unit_test(test_tok_sentences),
		cmocka_unit_test(test_tok_upper_orig),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rewrite_errors),
		cmocka_unit_test(test_typos),
		cmocka_unit_test(test_doubled_letters),
		cmocka_unit_test(test_numbers_2_31),
		cmocka_unit_test(test_numbers_beyond),
		cmocka_unit_test(test_glued_je),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
