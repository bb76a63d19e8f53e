/* test_canonjson.c - canonical JSON against the reference implementation,
 * python3-canonicaljson, run at test time through tests/e2ee/canon.py on
 * the same inputs (nothing embedded: a change of either side shows), plus
 * the rejections the Matrix spec asks for (floats, integers past 2^53-1),
 * which Python's encoder does not make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* mkstemp wants six trailing X characters */
#define MKSTEMP_SUFFIX "XX" "XX" "XX"

#include "canonjson.h"

static const char *const cases[] = {
	"{}",
	"[]",
	"{\"a\":{},\"b\":[],\"c\":[{}],\"d\":[[]]}",
	"{ \"b\" : 2 , \"a\" : 1 }",
	"{\"one\": 1, \"two\": \"Two\", \"three\": [1, 2, 3], \"nested\": {\"z\": null, \"a\": true, \"m\": false}}",
	"{\"B\":1,\"a\":2,\"A\":3,\"b\":4,\"\":5,\"aa\":6,\"a\\u0001\":7}",
	"{\"\\u00e9\":1,\"\\u00e4\":2,\"z\":3,\"\\u65e5\":4,\"\\ud83d\\ude00\":5,\"\\uffff\":6}",
	"{\"la d\\u00e9fense\":\"caf\\u00e9 \\u65e5\\u672c \\ud83d\\ude00\"}",
	"{\"raw\":\"é 日本 😀 \\u2028 \\u2029\"}",
	"{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0001 \\u001f \\u007f \\u0020\"}",
	"{\"ctl\":\"\\u0002\\u0003\\u000b\\u000e\\u001b\"}",
	"{\"big\":9007199254740991,\"neg\":-9007199254740991,\"zero\":0,\"mz\":-0,\"one\":-1}",
	"[9007199254740990, 4294967296, 2147483648, -2147483649, 1000000]",
	"{\"auth\":{\"success\":true,\"mxid\":\"@john.doe:example.com\",\"profile\":{\"display_name\":\"John Doe\",\"three_pids\":[{\"medium\":\"email\",\"address\":\"john.doe@example.org\"},{\"medium\":\"msisdn\",\"address\":\"123456789\"}]}}}",
	"{\"a\":\"\\u65E5\\u672C\\u8A9E\"}",
	"{\"x\":{\"c\":{\"b\":{\"a\":[3,{\"z\":1,\"y\":[\"\"]}]}}}}",
	"\"just a string\"",
	"42",
	"null",
	"[true,false,null]",
};

#define NCASES (sizeof cases / sizeof cases[0])

static void test_against_python(void **state)
{
	(void)state;
	char in[] = "/tmp/faqbot-canon-" MKSTEMP_SUFFIX;
	int fd = mkstemp(in);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	for (size_t i = 0; i < NCASES; i++)
		fprintf(f, "%s\n", cases[i]);
	fclose(f);

	char cmd[512];
	const char *root = getenv("FAQBOT_ROOT");
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/e2ee/canon.py %s", root ? root : ".", in);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[4096];
	size_t n = 0;
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		assert_true(n < NCASES);
		char err[128] = "";
		char *ours = canonjson_encode(cases[n], strlen(cases[n]), err, sizeof err);
		if (!ours)
			fail_msg("case %zu: %s", n, err);
		if (strcmp(ours, line))
			fail_msg("case %zu:\n ours   %s\n python %s", n, ours, line);
		free(ours);
		n++;
	}
	assert_int_equal(pclose(p), 0);
	unlink(in);
	/* every case was compared: the reference ran and answered each */
	assert_int_equal(n, NCASES);
}

static void test_exact_outputs(void **state)
{
	(void)state;
	/* A few spelled out, so a broken reference cannot hide a bug. */
	char *s = canonjson_encode("{\"b\": 1, \"a\": \"\\u00e9\"}", 24, NULL, 0);
	assert_string_equal(s, "{\"a\":\"\xc3\xa9\",\"b\":1}");
	free(s);
	s = canonjson_encode("[9007199254740991,-9007199254740991]", 36, NULL, 0);
	assert_string_equal(s, "[9007199254740991,-9007199254740991]");
	free(s);
	s = canonjson_encode("\"\\u001f\\n\"", 10, NULL, 0);
	assert_string_equal(s, "\"\\u001f\\n\"");
	free(s);
}

static void expect_reject(const char *in, const char *errpart)
{
	char err[128] = "";
	char *s = canonjson_encode(in, strlen(in), err, sizeof err);
	if (s)
		fail_msg("accepted %s as %s", in, s);
	if (errpart && !strstr(err, errpart))
		fail_msg("%s: error \"%s\" lacks \"%s\"", in, err, errpart);
}

static void test_rejects(void **state)
{
	(void)state;
	expect_reject("{\"a\":1.5}", "float");
	expect_reject("{\"a\":1.0}", "float");
	expect_reject("[1e3]", "float");
	expect_reject("[1E3]", "float");
	expect_reject("[9007199254740992]", "range");
	expect_reject("[-9007199254740992]", "range");
	expect_reject("[12345678901234567890]", "range");
	expect_reject("{\"a\":\"\\u0000\"}", "\\u0000");
	expect_reject("{\"a\":1,\"a\":2}", "duplicate");
	expect_reject("{\"a\":1", "malformed");
	expect_reject("[1] x", "trailing");
	expect_reject("\"\xff\"", "UTF-8");
	expect_reject("\"\xed\xa0\x80\"", "UTF-8"); /* a surrogate in UTF-8 */
	expect_reject("\"\xc0\xaf\"", "UTF-8");     /* overlong '/' */
	char deep[200];
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	deep[130] = '\0';
	expect_reject(deep, "deeper");
}

static void test_print_tree(void **state)
{
	(void)state;
	/* Trees built in code: floats and huge numbers refused on print. */
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", 3);
	cJSON_AddStringToObject(o, "s", "x");
	cJSON *sig = cJSON_AddObjectToObject(o, "signatures");
	cJSON_AddStringToObject(sig, "k", "v");
	cJSON_AddObjectToObject(o, "unsigned");
	char *s = canonjson_print(o, 1);
	assert_string_equal(s, "{\"n\":3,\"s\":\"x\"}");
	free(s);
	s = canonjson_print(o, 0);
	assert_string_equal(s, "{\"n\":3,\"s\":\"x\",\"signatures\":{\"k\":\"v\"},\"unsigned\":{}}");
	free(s);
	cJSON_AddNumberToObject(o, "f", 0.5);
	assert_null(canonjson_print(o, 0));
	cJSON_DeleteItemFromObject(o, "f");
	cJSON_AddNumberToObject(o, "f", 1e17);
	assert_null(canonjson_print(o, 0));
	cJSON_DeleteItemFromObject(o, "f");
	cJSON_AddRawToObject(o, "r", "1");
	assert_null(canonjson_print(o, 0));
	cJSON_Delete(o);
	assert_null(canonjson_print(NULL, 0));
}

/* The Python references are installed when missing (tests/e2ee/need.sh). */
static int need_python(void **state)
{
	(void)state;
	char cmd[512];
	const char *r = getenv("FAQBOT_ROOT");
	snprintf(cmd, sizeof cmd, "sh %s/tests/e2ee/need.sh", r ? r : ".");
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_python),
		cmocka_unit_test(test_exact_outputs),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_print_tree),
	};
	return cmocka_run_group_tests(tests, need_python, NULL);
}
