/* test_feat.c - the features of the learned model (feat.c through
 * intent_features, with the real knowledge/): the same text gives the
 * same features; accents, case, SMS spellings and small typos fold to the
 * canonical words' features; any day number looks the same; vectors are
 * sorted, unique, in range, and bounded for any input.  And the model file
 * (lmodel.c): built in memory, written, mapped again, same answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feat.h"
#include "intent.h"
#include "kb.h"
#include "lmodel.h"
#include "norm.h"

static struct kb *kb;
static const struct date T = {2026, 11, 20};

static int setup(void **state)
{
	char err[512];
	(void)state;
	kb = kb_load("knowledge", err, sizeof err);
	if (!kb)
		fail_msg("knowledge: %s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kb_free(kb);
	return 0;
}

static void feats(const char *text, struct featvec *fv)
{
	intent_features(kb_intents(kb), kb_lexicon(kb), NULL, text, strlen(text), T, fv);
	feat_sort(fv, feat_default.dim_bits);
}

static int same(const struct featvec *a, const struct featvec *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (a->idx[i] != b->idx[i] || fabsf(a->val[i] - b->val[i]) > 1e-6f)
			return 0;
	return 1;
}

static void assert_same(const char *x, const char *y)
{
	static struct featvec a, b;
	feats(x, &a);
	feats(y, &b);
	if (!same(&a, &b))
		fail_msg("\"%s\" and \"%s\" give different features (%d / %d)", x, y, a.n, b.n);
}

static void assert_differ(const char *x, const char *y)
{
	static struct featvec a, b;
	feats(x, &a);
	feats(y, &b);
	if (same(&a, &b))
		fail_msg("\"%s\" and \"%s\" give the same features", x, y);
}

static void test_deterministic(void **state)
{
	static struct featvec a, b;
	(void)state;
	feats("Quand ma session sera-t-elle visible dans Kairos ?", &a);
	feats("Quand ma session sera-t-elle visible dans Kairos ?", &b);
	assert_true(a.n > 50);
	assert_true(same(&a, &b));
	/* sorted, unique, inside the hashed space, finite */
	uint32_t dim = 1u << feat_default.dim_bits;
	for (int i = 0; i < a.n; i++) {
		assert_true(a.idx[i] < dim);
		assert_true(isfinite(a.val[i]));
		if (i)
			assert_true(a.idx[i - 1] < a.idx[i]);
	}
}

static void test_folding(void **state)
{
	(void)state;
	/* accents, case, curly apostrophes, spacing */
	assert_same("Quand sera-t-elle visible dans Kairos ?", "quand sera t elle VISIBLE dans kairos ?");
	assert_same("délai d'affichage", "delai d\xe2\x80\x99" "affichage");
	assert_same("validée   hier", "validee hier");
	/* SMS spellings and small typos go to the canonical words */
	assert_same("kan sera visible ds kairos ?", "quand sera visible dans kairos ?");
	assert_same("quand sera visibel dans kairos ?", "quand sera visible dans kairos ?");
	/* any day is a day: the model learns "le N", not "le 12" */
	assert_same("validée le 12", "validée le 24");
	/* but a quoted identifier is not a day, and words matter */
	assert_differ("validée le 12", "validée le 12345678");
	assert_differ("quand dans kairos ?", "quand dans aude ?");
	/* a question mark is a feature (asked or stated) */
	assert_differ("elle est dans kairos", "elle est dans kairos ?");
}

static void test_bounded(void **state)
{
	static struct featvec a;
	static char big[20000];
	(void)state;
	for (size_t i = 0; i + 1 < sizeof big; i++)
		big[i] = "abcdefgh ijklm nopqrs tuvwxyz 0123456789 "[i % 41];
	feats(big, &a);
	assert_true(a.n > 0 && a.n <= FEAT_MAX);
	feats("", &a);
	assert_int_equal(a.n > 0, 1); /* the shape features are always there */
	feats("\xff\xfe\x00", &a);
	assert_true(a.n <= FEAT_MAX);
}

static void test_model_roundtrip(void **state)
{
	char err[512], path[] = "/tmp/test_feat.XXXXXX";
	(void)state;
	struct feat_settings fs = feat_default;
	fs.dim_bits = 10;
	size_t dim = (size_t)1 << fs.dim_bits;
	float *w = calloc(dim * 3, sizeof *w), bias[3] = {0.5f, -1.0f, 0.25f};
	assert_non_null(w);
	for (size_t i = 0; i < dim * 3; i++)
		w[i] = (float)((int)(i * 7919 % 201) - 100) / 50.0f;
	const char *names[3] = {"out_of_scope", "display_delay", "contact"};
	struct lmodel *m = lmodel_build(&fs, "0123456789abcdef", 42, 3, names, bias, w, err, sizeof err);
	if (!m)
		fail_msg("%s", err);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lmodel_save(m, path, err, sizeof err), 0);
	struct lmodel *r = lmodel_load(path, err, sizeof err);
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(lmodel_nclass(r), 3);
	assert_string_equal(lmodel_class(r, 2), "contact");
	assert_string_equal(lmodel_hash(r), "0123456789abcdef");
	assert_int_equal(lmodel_nexamples(r), 42);
	assert_int_equal(lmodel_feat(r)->dim_bits, 10);
	struct featvec x = {.n = 3, .idx = {1, 100, 1000}, .val = {0.5f, 0.25f, 1.0f}};
	double p1[3], p2[3];
	lmodel_predict(m, &x, p1);
	lmodel_predict(r, &x, p2);
	for (int k = 0; k < 3; k++)
		assert_true(fabs(p1[k] - p2[k]) < 1e-12);
	assert_true(fabs(p1[0] + p1[1] + p1[2] - 1.0) < 1e-9);
	lmodel_free(r);

	/* a damaged file is refused with the fix */
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fputs("NOTAMODL", f);
	fclose(f);
	assert_null(lmodel_load(path, err, sizeof err));
	assert_non_null(strstr(err, "faqbot train"));
	assert_int_equal(truncate(path, 100), 0);
	assert_null(lmodel_load(path, err, sizeof err));
	assert_non_null(strstr(err, "too short"));
	unlink(path);
	assert_null(lmodel_load(path, err, sizeof err));
	assert_non_null(strstr(err, "faqbot train"));
	lmodel_free(m);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_model_roundtrip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
