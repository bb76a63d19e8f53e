/* test_shared_irc_vectors.c - runs the ircdocs parser-tests (CC0, see
 * ../shared/irc-parser-tests/SOURCE.txt) against irc.c: msg-split,
 * msg-join, userhost-split, mask-match, validate-hostname.  Every vector
 * must pass; a missing directory or file is a failure.  The directory is
 * ${FAQBOT_SHARED:-../shared}/irc-parser-tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "irc.h"

/* ---- a tiny read-only view of a libyaml document ---- */

static yaml_node_t *node(yaml_document_t *d, int id)
{
	return id ? yaml_document_get_node(d, id) : NULL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML "null", "~" or an empty plain scalar. */
static int is_null(yaml_node_t *n)
{
	if (!n)
		return 1;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *s = scalar(n);
	return !*s || strcmp(s, "null") == 0 || strcmp(s, "~") == 0;
}

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(node(d, p->key));
		if (k && strcmp(k, key) == 0)
			return node(d, p->value);
	}
	return NULL;
}

static int seq_len(yaml_node_t *n)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_at(yaml_document_t *d, yaml_node_t *n, int i)
{
	return node(d, n->data.sequence.items.start[i]);
}

static void load(const char *file, yaml_document_t *doc)
{
	const char *base = getenv("FAQBOT_SHARED");
	char path[1024];
	snprintf(path, sizeof path, "%s/irc-parser-tests/%s", base && *base ? base : "../shared", file);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: the ircdocs parser-tests must be there", path);
	yaml_parser_t p;
	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_file(&p, f);
	if (!yaml_parser_load(&p, doc))
		fail_msg("%s: YAML error: %s", path, p.problem ? p.problem : "?");
	yaml_parser_delete(&p);
	fclose(f);
}

static yaml_node_t *tests_of(yaml_document_t *d)
{
	yaml_node_t *t = get(d, yaml_document_get_root_node(d), "tests");
	assert_non_null(t);
	assert_int_equal(t->type, YAML_SEQUENCE_NODE);
	assert_true(seq_len(t) > 0);
	return t;
}

/* Compares a parsed message with an "atoms" mapping: tags, source, verb,
 * params (absent keys are null / empty). */
static void check_atoms(yaml_document_t *d, yaml_node_t *atoms, const struct irc_msg *m,
                        const char *what)
{
	yaml_node_t *tags = get(d, atoms, "tags");
	int ntags = tags && tags->type == YAML_MAPPING_NODE
	                ? (int)(tags->data.mapping.pairs.top - tags->data.mapping.pairs.start)
	                : 0;
	if (m->ntags != ntags)
		fail_msg("%s: %d tags, expected %d", what, m->ntags, ntags);
	for (int i = 0; i < ntags; i++) {
		yaml_node_pair_t *p = tags->data.mapping.pairs.start + i;
		const char *k = scalar(node(d, p->key));
		yaml_node_t *vn = node(d, p->value);
		const char *want = is_null(vn) && vn && vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
		                       ? ""
		                       : scalar(vn);
		const char *got = irc_tag(m, k);
		if (!got || strcmp(got, want) != 0)
			fail_msg("%s: tag %s = \"%s\", expected \"%s\"", what, k, got ? got : "(none)", want);
	}
	yaml_node_t *src = get(d, atoms, "source");
	if (is_null(src)) {
		if (m->source)
			fail_msg("%s: source \"%s\", expected none", what, m->source);
	} else if (!m->source || strcmp(m->source, scalar(src)) != 0) {
		fail_msg("%s: source \"%s\", expected \"%s\"", what, m->source ? m->source : "(none)",
		         scalar(src));
	}
	const char *verb = scalar(get(d, atoms, "verb"));
	assert_non_null(verb);
	if (!m->command || strcmp(m->command, verb) != 0)
		fail_msg("%s: verb \"%s\", expected \"%s\"", what, m->command ? m->command : "(none)", verb);
	yaml_node_t *params = get(d, atoms, "params");
	int np = seq_len(params);
	if (m->nparams != np)
		fail_msg("%s: %d params, expected %d", what, m->nparams, np);
	for (int i = 0; i < np; i++) {
		const char *want = scalar(seq_at(d, params, i));
		if (strcmp(m->params[i], want) != 0)
			fail_msg("%s: param %d \"%s\", expected \"%s\"", what, i, m->params[i], want);
	}
}

static void test_msg_split(void **state)
{
	(void)state;
	yaml_document_t d;
	load("msg-split.yaml", &d);
	yaml_node_t *t = tests_of(&d);
	int n = seq_len(t);
	for (int i = 0; i < n; i++) {
		yaml_node_t *c = seq_at(&d, t, i);
		const char *input = scalar(get(&d, c, "input"));
		assert_non_null(input);
		char buf[IRC_READ_MAX + 1];
		size_t len = strlen(input);
		assert_true(len < sizeof buf);
		memcpy(buf, input, len + 1);
		struct irc_msg m;
		if (irc_parse(buf, len, &m) != 0)
			fail_msg("msg-split \"%s\": rejected", input);
		check_atoms(&d, get(&d, c, "atoms"), &m, input);
	}
	printf("msg-split: %d vectors passed\n", n);
	yaml_document_delete(&d);
}

static void test_msg_join(void **state)
{
	(void)state;
	yaml_document_t d;
	load("msg-join.yaml", &d);
	yaml_node_t *t = tests_of(&d);
	int n = seq_len(t);
	for (int i = 0; i < n; i++) {
		yaml_node_t *c = seq_at(&d, t, i);
		const char *desc = scalar(get(&d, c, "desc"));
		yaml_node_t *atoms = get(&d, c, "atoms");
		struct irc_msg m = { 0 };
		yaml_node_t *tags = get(&d, atoms, "tags");
		if (tags && tags->type == YAML_MAPPING_NODE)
			for (yaml_node_pair_t *p = tags->data.mapping.pairs.start; p < tags->data.mapping.pairs.top; p++) {
				assert_true(m.ntags < IRC_MAX_TAGS);
				const char *v = scalar(node(&d, p->value));
				m.tags[m.ntags++] = (struct irc_tag){ scalar(node(&d, p->key)), v ? v : "" };
			}
		yaml_node_t *src = get(&d, atoms, "source");
		m.source = is_null(src) ? NULL : scalar(src);
		m.command = scalar(get(&d, atoms, "verb"));
		yaml_node_t *params = get(&d, atoms, "params");
		for (int j = 0; j < seq_len(params); j++)
			m.params[m.nparams++] = scalar(seq_at(&d, params, j));
		char out[IRC_READ_MAX + 1];
		int len = irc_join(&m, out, sizeof out);
		if (len < 0)
			fail_msg("msg-join \"%s\": irc_join refused", desc);
		/* "matches" lists every acceptable serialisation: ours must be
		 * one of them... */
		yaml_node_t *matches = get(&d, c, "matches");
		assert_true(seq_len(matches) > 0);
		int found = 0;
		for (int j = 0; j < seq_len(matches); j++)
			if (strcmp(scalar(seq_at(&d, matches, j)), out) == 0)
				found = 1;
		if (!found)
			fail_msg("msg-join \"%s\": \"%s\" is not in matches", desc, out);
		/* ...and must parse back to the same atoms. */
		struct irc_msg back;
		if (irc_parse(out, (size_t)len, &back) != 0)
			fail_msg("msg-join \"%s\": output does not parse back", desc);
		check_atoms(&d, atoms, &back, desc);
	}
	printf("msg-join: %d vectors passed\n", n);
	yaml_document_delete(&d);
}

static void check_slice(const char *what, const char *p, size_t n, const char *want)
{
	if (!want)
		want = "";
	if (strlen(want) != n || (n && strncmp(p, want, n) != 0))
		fail_msg("userhost-split %s: \"%.*s\", expected \"%s\"", what, (int)n, p ? p : "", want);
}

static void test_userhost_split(void **state)
{
	(void)state;
	yaml_document_t d;
	load("userhost-split.yaml", &d);
	yaml_node_t *t = tests_of(&d);
	int n = seq_len(t);
	for (int i = 0; i < n; i++) {
		yaml_node_t *c = seq_at(&d, t, i);
		const char *src = scalar(get(&d, c, "source"));
		yaml_node_t *atoms = get(&d, c, "atoms");
		struct irc_userhost u;
		irc_userhost_split(src, &u);
		check_slice("nick", u.nick, u.nick_len, scalar(get(&d, atoms, "nick")));
		check_slice("user", u.user, u.user_len, scalar(get(&d, atoms, "user")));
		check_slice("host", u.host, u.host_len, scalar(get(&d, atoms, "host")));
	}
	printf("userhost-split: %d vectors passed\n", n);
	yaml_document_delete(&d);
}

static void test_mask_match(void **state)
{
	(void)state;
	yaml_document_t d;
	load("mask-match.yaml", &d);
	yaml_node_t *t = tests_of(&d);
	int n = seq_len(t), checks = 0;
	for (int i = 0; i < n; i++) {
		yaml_node_t *c = seq_at(&d, t, i);
		const char *mask = scalar(get(&d, c, "mask"));
		yaml_node_t *yes = get(&d, c, "matches"), *no = get(&d, c, "fails");
		for (int j = 0; j < seq_len(yes); j++, checks++)
			if (!irc_mask_match(mask, scalar(seq_at(&d, yes, j))))
				fail_msg("mask %s should match %s", mask, scalar(seq_at(&d, yes, j)));
		for (int j = 0; j < seq_len(no); j++, checks++)
			if (irc_mask_match(mask, scalar(seq_at(&d, no, j))))
				fail_msg("mask %s should not match %s", mask, scalar(seq_at(&d, no, j)));
	}
	assert_true(checks > 0);
	printf("mask-match: %d masks, %d checks passed\n", n, checks);
	yaml_document_delete(&d);
}

static void test_validate_hostname(void **state)
{
	(void)state;
	yaml_document_t d;
	load("validate-hostname.yaml", &d);
	yaml_node_t *t = tests_of(&d);
	int n = seq_len(t);
	for (int i = 0; i < n; i++) {
		yaml_node_t *c = seq_at(&d, t, i);
		const char *host = scalar(get(&d, c, "host"));
		const char *valid = scalar(get(&d, c, "valid"));
		assert_non_null(host);
		assert_non_null(valid);
		int want = strcmp(valid, "true") == 0;
		if (irc_hostname_valid(host) != want)
			fail_msg("validate-hostname \"%s\": expected %s", host, valid);
	}
	printf("validate-hostname: %d vectors passed\n", n);
	yaml_document_delete(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_split),
		cmocka_unit_test(test_msg_join),
		cmocka_unit_test(test_userhost_split),
		cmocka_unit_test(test_mask_match),
		cmocka_unit_test(test_validate_hostname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
