/* test_config.c - config.ini loading (through inifile.c): every key, the
 * defaults, each error with its path:line, inline comments, long lines,
 * files that are not text, the permission warning, and secret masking in
 * config_dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <cmocka.h>

#include "config.h"

static char dir[] = "/tmp/faqbot-cfgtest.XXXXXX";
static char path[256];
static char err[1024];

static void write_cfg(const char *text, int mode)
{
	FILE *f;
	remove(path); /* a FIFO or a link left by test_not_text */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

static struct config *load(const char *text)
{
	write_cfg(text, 0600);
	return config_load(path, err, sizeof err);
}

/* Loads text, expects failure whose message starts with path:line: and
 * contains want. */
static void expect_error(const char *text, int line, const char *want)
{
	char prefix[300];
	struct config *c = load(text);
	if (c) {
		config_free(c);
		fail_msg("loaded although it should fail with: %s", want);
	}
	snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, want))
		fail_msg("error \"%s\" does not start with \"%s\" or lacks \"%s\"", err,
			 prefix, want);
}

static const char full[] =
	"; a comment\n"
	"# another\n"
	"[bot]\n"
	"knowledge = kb\n"
	"state = /var/lib/faqbot/state.db\n"
	"command_prefix = ?\n"
	"log_level = debug\n"
	"timezone = America/Montreal\n"
	"ignore = otherbot, ChanServ\n"
	"max_answer_age = 120\n"
	"auto_answer_confidence = 0.9\n"
	"user_rate = 10\n"
	"user_burst = 5\n"
	"\n"
	"[irc.libera]\n"
	"  server = irc.libera.chat   ; inline comment\n"
	"  port = 7000\n"
	"  tls = yes\n"
	"  tls_ca_file = ca.pem\n"
	"  nick = faqbot\n"
	"  alt_nicks = faqbot_, faqbot__\n"
	"  username = fb\n"
	"  realname = FAQ bot\n"
	"  channels = #a, #b secretkey\n"
	"  channels = &c\n"
	"  sasl_mechanism = PLAIN\n"
	"  sasl_username = fbacct\n"
	"  sasl_password = hunter2pass\n"
	"  client_cert = /etc/fb.pem\n"
	"  client_key = fb.key\n"
	"  admins = alice, bob\n"
	"  auto_answer = #a\n"
	"  ignore = limnoria\n"
	"  user_rate = 3\n"
	"  user_burst = 2\n"
	"  throttle_burst = 8\n"
	"  throttle_rate = 2.5\n"
	"  lag_timeout = 120\n"
	"  reconnect_max = 60\n"
	"  quit_message = au revoir\n"
	"  allow_plaintext_password = no\n"
	"[matrix.home]\n"
	"homeserver = https://matrix.example.org\n"
	"user = @faqbot:example.org\n"
	"password = matrixpass\n"
	"access_token = syt_token_value\n"
	"device_name = FAQ\n"
	"admins = @alice:example.org\n"
	"allowed_inviters = @alice:example.org, :example.org\n"
	"auto_answer = !room:example.org, #support:example.org\n"
	"ignore = @other:example.org\n"
	"user_rate = 4\n"
	"user_burst = 1\n"
	"e2ee = yes\n"
	"pickle_key = picklesecret\n"
	"sync_timeout = 20\n"
	"reconnect_max = 90\n"
	"allow_plaintext_password = no\n";

static void test_every_key(void **state)
{
	char kb[300], ca[300], key[300];
	struct config *c;
	(void)state;
	c = load(full);
	if (!c)
		fail_msg("%s", err);
	snprintf(kb, sizeof kb, "%s/kb", dir);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	snprintf(key, sizeof key, "%s/fb.key", dir);
	assert_string_equal(c->bot.knowledge, kb); /* relative to the file */
	assert_string_equal(c->bot.state, "/var/lib/faqbot/state.db");
	assert_string_equal(c->bot.command_prefix, "?");
	assert_string_equal(c->bot.log_level, "debug");
	assert_string_equal(c->bot.timezone, "America/Montreal");
	assert_int_equal(c->bot.ignore.n, 2);
	assert_string_equal(c->bot.ignore.v[1], "ChanServ");
	assert_int_equal(c->bot.max_answer_age, 120);
	assert_true(c->bot.auto_answer_confidence > 0.89 && c->bot.auto_answer_confidence < 0.91);
	assert_int_equal(c->bot.user_rate, 10);
	assert_int_equal(c->bot.user_burst, 5);

	assert_int_equal(c->nirc, 1);
	const struct irc_config *ic = &c->irc[0];
	assert_string_equal(ic->name, "libera");
	assert_int_equal(ic->line, 15);
	assert_string_equal(ic->server, "irc.libera.chat");
	assert_int_equal(ic->port, 7000);
	assert_int_equal(ic->tls, 1);
	assert_string_equal(ic->tls_ca_file, ca);
	assert_string_equal(ic->nick, "faqbot");
	assert_int_equal(ic->alt_nicks.n, 2);
	assert_string_equal(ic->alt_nicks.v[1], "faqbot__");
	assert_string_equal(ic->username, "fb");
	assert_string_equal(ic->realname, "FAQ bot");
	assert_int_equal(ic->nchannels, 3);
	assert_string_equal(ic->channels[0].name, "#a");
	assert_null(ic->channels[0].key);
	assert_string_equal(ic->channels[1].name, "#b");
	assert_string_equal(ic->channels[1].key, "secretkey");
	assert_string_equal(ic->channels[2].name, "&c");
	assert_int_equal(ic->sasl_mechanism, SASL_PLAIN);
	assert_string_equal(ic->sasl_username, "fbacct");
	assert_string_equal(ic->sasl_password, "hunter2pass");
	assert_string_equal(ic->client_cert, "/etc/fb.pem");
	assert_string_equal(ic->client_key, key);
	assert_true(strlist_has(&ic->policy.admins, "ALICE"));
	assert_false(strlist_has(&ic->policy.admins, "carol"));
	assert_true(strlist_has(&ic->policy.auto_answer, "#a"));
	/* [bot] ignore is merged into each network's */
	assert_true(strlist_has(&ic->policy.ignore, "limnoria"));
	assert_true(strlist_has(&ic->policy.ignore, "otherbot"));
	assert_int_equal(ic->policy.user_rate, 3);
	assert_int_equal(ic->policy.user_burst, 2);
	assert_int_equal(ic->throttle_burst, 8);
	assert_true(ic->throttle_rate == 2.5);
	assert_int_equal(ic->lag_timeout, 120);
	assert_int_equal(ic->reconnect_max, 60);
	assert_string_equal(ic->quit_message, "au revoir");
	assert_int_equal(ic->allow_plaintext_password, 0);

	assert_int_equal(c->nmatrix, 1);
	const struct matrix_config *mc = &c->matrix[0];
	assert_string_equal(mc->name, "home");
	assert_string_equal(mc->homeserver, "https://matrix.example.org");
	assert_string_equal(mc->user, "@faqbot:example.org");
	assert_string_equal(mc->password, "matrixpass");
	assert_string_equal(mc->access_token, "syt_token_value");
	assert_string_equal(mc->device_name, "FAQ");
	assert_true(strlist_has(&mc->policy.admins, "@alice:example.org"));
	assert_int_equal(mc->allowed_inviters.n, 2);
	assert_string_equal(mc->allowed_inviters.v[1], ":example.org");
	assert_int_equal(mc->policy.auto_answer.n, 2);
	assert_true(strlist_has(&mc->policy.ignore, "@other:example.org"));
	assert_true(strlist_has(&mc->policy.ignore, "otherbot"));
	assert_int_equal(mc->policy.user_rate, 4);
	assert_int_equal(mc->policy.user_burst, 1);
	assert_int_equal(mc->e2ee, 1);
	assert_string_equal(mc->pickle_key, "picklesecret");
	assert_int_equal(mc->sync_timeout, 20);
	assert_int_equal(mc->reconnect_max, 90);
	config_free(c);
}

static void test_defaults(void **state)
{
	struct config *c;
	char kb[300];
	(void)state;
	c = load("[irc.a]\nserver = irc.example.org\nnick = fb\n"
		 "[irc.b]\nserver = 127.0.0.1\nnick = fb2\ntls = no\n"
		 "[matrix.m]\nhomeserver = https://hs\nuser = @fb:hs\naccess_token = t\n");
	if (!c)
		fail_msg("%s", err);
	snprintf(kb, sizeof kb, "%s/knowledge", dir);
	assert_string_equal(c->bot.knowledge, kb);
	assert_string_equal(c->bot.command_prefix, "!");
	assert_string_equal(c->bot.log_level, "info");
	assert_string_equal(c->bot.timezone, "Europe/Paris");
	assert_int_equal(c->bot.max_answer_age, 600);
	assert_true(c->bot.auto_answer_confidence < 0);
	assert_int_equal(c->bot.ignore.n, 0);
	const struct irc_config *a = &c->irc[0], *b = &c->irc[1];
	assert_int_equal(a->tls, 1);
	assert_int_equal(a->port, 6697);
	assert_int_equal(b->tls, 0);
	assert_int_equal(b->port, 6667);
	assert_string_equal(a->username, "fb");
	assert_string_equal(a->realname, "faqbot");
	assert_string_equal(a->sasl_username, "fb");
	assert_null(a->sasl_password);
	assert_null(a->tls_ca_file);
	assert_int_equal(a->sasl_mechanism, SASL_NONE);
	assert_int_equal(a->nchannels, 0);
	assert_int_equal(a->policy.auto_answer.n, 0); /* off by default */
	assert_int_equal(a->throttle_burst, 4);
	assert_true(a->throttle_rate == 1.0);
	assert_int_equal(a->policy.user_rate, 6);
	assert_int_equal(a->policy.user_burst, 5);
	assert_int_equal(a->lag_timeout, 240);
	assert_int_equal(a->reconnect_max, 300);
	assert_string_equal(a->quit_message, "faqbot s'arrête");
	const struct matrix_config *m = &c->matrix[0];
	assert_string_equal(m->device_name, "faqbot");
	assert_int_equal(m->e2ee, 0);
	assert_int_equal(m->sync_timeout, 30);
	assert_null(m->password);
	config_free(c);
	config_free(NULL);
}

/* Where a knowledge directory that does not load came from. */
static void test_knowledge_error(void **state)
{
	static const char lerr[] = "X/lexicon.ini: cannot open: No such file or directory";
	struct config *c;
	char out[1024], want[1024];
	(void)state;

	c = load("[bot]\n; comment\n\nknowledge = kb\n");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->bot.knowledge_line, 4);
	config_knowledge_error(c, c->bot.knowledge, lerr, out, sizeof out);
	snprintf(want, sizeof want, "%s:4: knowledge = kb (relative to the config's "
		 "folder: %s/kb): %s; set an absolute path", path, dir, lerr);
	assert_string_equal(out, want);
	/* -k DIR on the command line: the config is not the source. */
	config_knowledge_error(c, "/elsewhere", lerr, out, sizeof out);
	assert_string_equal(out, lerr);
	config_knowledge_error(c, c->bot.knowledge, lerr, out, 20);
	assert_int_equal(strlen(out), 19);
	config_free(c);

	c = load("[bot]\nknowledge = /srv/kb\n");
	assert_non_null(c);
	config_knowledge_error(c, c->bot.knowledge, lerr, out, sizeof out);
	snprintf(want, sizeof want, "%s:2: knowledge = /srv/kb: %s", path, lerr);
	assert_string_equal(out, want);
	config_free(c);

	c = load("[bot]\nlog_level = info\n");
	assert_non_null(c);
	assert_int_equal(c->bot.knowledge_line, 0);
	config_knowledge_error(c, c->bot.knowledge, lerr, out, sizeof out);
	snprintf(want, sizeof want, "%s: knowledge is not set in [bot], so it is the "
		 "folder \"knowledge\" beside the config (%s/knowledge): %s", path, dir, lerr);
	if (strncmp(out, want, strlen(want)))
		fail_msg("\"%s\" does not start with \"%s\"", out, want);
	config_free(c);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[bot]\n[irc]\n", 2, "unknown section [irc]");
	expect_error("[bots]\n", 1, "unknown section [bots]");
	expect_error("[bot]\nknowlege = x\n", 2, "unknown key 'knowlege' in [bot]");
	expect_error("[irc.a]\nserver = s\nnick = n\nport = 70000\n", 4, "port");
	expect_error("[irc.a]\nserver = s\nnick = n\nport = abc\n", 4, "not a whole number");
	expect_error("[irc.a]\nserver = s\nnick = n\ntls = maybe\n", 4, "tls: 'maybe' is not a yes/no");
	expect_error("[irc.a]\nserver = s\nnick = n\n\n[irc.a]\n", 5,
		     "defined twice (first on line 1)");
	expect_error("[bot]\n\n[irc.x]\nnick = n\n", 3, "has no server");
	expect_error("[irc.x]\nserver = s\n", 1, "has no nick");
	expect_error("[matrix.m]\nuser = @a:b\npassword = p\n", 1, "has no homeserver");
	expect_error("[matrix.m]\nhomeserver = https://h\npassword = p\n", 1, "has no user");
	expect_error("[matrix.m]\nhomeserver = https://h\nuser = @a:h\n", 1,
		     "needs password or access_token");
	expect_error("[matrix.m]\nhomeserver = http://h\nuser = @a:h\npassword = p\n", 1,
		     "allow_plaintext_password");
	expect_error("[irc.x]\nserver = s\nnick = n\ntls = no\nsasl_mechanism = PLAIN\n"
		     "sasl_password = p\n", 1, "without TLS");
	expect_error("[irc.x]\nserver = s\nnick = n\nsasl_mechanism = PLAIN\n", 1,
		     "needs sasl_password");
	expect_error("[irc.x]\nserver = s\nnick = n\nsasl_mechanism = SCRAM\n", 4,
		     "use none, PLAIN or EXTERNAL");
	expect_error("[irc.x]\nserver = s\nnick = n\nsasl_mechanism = EXTERNAL\n", 1,
		     "needs client_cert");
	expect_error("nick = n\n", 1, "`nick` is outside any [section]");
	expect_error("[bot]\nthis line has no equals sign\n", 2, "expected `key = value`");
	expect_error("[bot]\n= x\n", 2, "empty or over-long key before `=`");
	expect_error("[bot\n", 1, "a section header must end with `]`; close it, as in [bot]");
	expect_error("[bot] x\n", 1, "text after the `]` of a section header; write the "
		     "header alone on its line, as in [bot]");
	expect_error("[]\n", 1, "empty or over-long section name");
	expect_error("[irc.x]\nserver = s\nserver = t\n", 3, "set twice");
	expect_error("[bot]\n[bot]\n", 2, "[bot] appears twice");
	expect_error("[bot]\nlog_level = loud\n", 2, "log_level");
	expect_error("[bot]\ntimezone = Europe/Pari\n", 2, "not a known time zone");
	expect_error("[bot]\nauto_answer_confidence = 1.5\n", 2, "from 0 to 1");
	expect_error("[irc.bad name]\n", 1, "network name");
	expect_error("[irc.x]\nserver = s\nnick = n\nchannels = nochan\n", 4, "not a channel");
	expect_error("[matrix.m]\nhomeserver = https://h\nuser = @a:h\npassword = p\n"
		     "e2ee = yes\n", 1, "pickle_key");
	/* Plain text passwords are allowed when asked for explicitly. */
	struct config *c = load("[irc.x]\nserver = s\nnick = n\ntls = no\nsasl_mechanism = PLAIN\n"
				"sasl_password = p\nallow_plaintext_password = yes\n");
	assert_non_null(c);
	config_free(c);
	assert_null(config_load("/nonexistent/faqbot.ini", err, sizeof err));
	if (strncmp(err, "/nonexistent/faqbot.ini: cannot open: No such file", 50))
		fail_msg("missing file: \"%s\"", err);
}

/* inih's rule, kept: a `;` after a blank starts a comment, on any line;
 * one right after text belongs to the value. */
static void test_inline_comments(void **state)
{
	struct config *c;
	(void)state;
	c = load("[irc.x] ; the main network\n"
		 "  server = irc.example.org ;\tcomment\n"
		 "\tnick = n\t; comment\n"
		 "realname = a;b\n"
		 "quit_message = ; only a comment\n"
		 "channels = #a, #b key ; #c\n");
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->irc[0].server, "irc.example.org");
	assert_string_equal(c->irc[0].nick, "n");
	assert_string_equal(c->irc[0].realname, "a;b");
	assert_string_equal(c->irc[0].quit_message, "faqbot s'arrête"); /* empty: default */
	assert_int_equal(c->irc[0].nchannels, 2);
	assert_string_equal(c->irc[0].channels[1].key, "key");
	config_free(c);
	/* a comment before the `=` leaves no `=` */
	expect_error("[bot]\nlog_level ; = debug\n", 2, "expected `key = value`");
}

static void test_pickle_env(void **state)
{
	struct config *c;
	(void)state;
	setenv("FAQBOT_PICKLE_KEY", "from-env", 1);
	c = load("[matrix.m]\nhomeserver = https://h\nuser = @a:h\npassword = p\ne2ee = yes\n");
	unsetenv("FAQBOT_PICKLE_KEY");
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->matrix[0].pickle_key, "from-env");
	config_free(c);
}

/* A long list line is read whole; so is a long value of another kind. */
static void test_long_list(void **state)
{
	char text[8192];
	size_t n;
	int i;
	struct config *c;
	(void)state;
	n = (size_t)snprintf(text, sizeof text, "[irc.x]\nserver = s\nnick = n\nchannels = ");
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s#channel-number-%02d",
				      i ? ", " : "", i);
	snprintf(text + n, sizeof text - n, "\nquit_message = bye\n");
	c = load(text);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->irc[0].nchannels, 60);
	assert_string_equal(c->irc[0].channels[59].name, "#channel-number-59");
	assert_string_equal(c->irc[0].quit_message, "bye");
	config_free(c);
	memset(text, 'a', 400);
	memcpy(text, "[bot]\nstate = /", 15);
	strcpy(text + 400, "\n");
	if (!(c = load(text)))
		fail_msg("a 386-byte state path: %s", err);
	assert_int_equal(strlen(c->bot.state), 386);
	config_free(c);
}

static void test_dump_masks_secrets(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct config *c;
	(void)state;
	c = load(full);
	assert_non_null(c);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_dump(c, f), 0);
	fclose(f);
	assert_null(strstr(buf, "hunter2pass"));
	assert_null(strstr(buf, "matrixpass"));
	assert_null(strstr(buf, "syt_token_value"));
	assert_null(strstr(buf, "picklesecret"));
	assert_null(strstr(buf, "secretkey"));
	assert_non_null(strstr(buf, "sasl_password = <hidden>"));
	assert_non_null(strstr(buf, "[irc.libera]"));
	assert_non_null(strstr(buf, "server = irc.libera.chat"));
	assert_non_null(strstr(buf, "channels = #a, #b <hidden>, &c"));
	free(buf);
	config_free(c);
}

/* Runs config_load with stderr captured into out. */
static struct config *load_capture(const char *text, int mode, char *out, size_t outlen)
{
	char logp[300];
	int saved, fd;
	ssize_t n;
	struct config *c;
	snprintf(logp, sizeof logp, "%s/stderr.txt", dir);
	write_cfg(text, mode);
	fflush(stderr);
	saved = dup(2);
	fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	c = config_load(path, err, sizeof err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fd = open(logp, O_RDONLY);
	n = read(fd, out, outlen - 1);
	close(fd);
	out[n > 0 ? n : 0] = 0;
	return c;
}

static void test_permission_warning(void **state)
{
	char out[4096];
	struct config *c;
	(void)state;
	c = load_capture(full, 0644, out, sizeof out);
	assert_non_null(c);
	config_free(c);
	assert_non_null(strstr(out, "chmod 600"));
	assert_null(strstr(out, "hunter2pass")); /* never the secret itself */
	c = load_capture(full, 0600, out, sizeof out);
	assert_non_null(c);
	config_free(c);
	assert_null(strstr(out, "chmod 600"));
	/* No secret in the file: no warning even when world-readable. */
	c = load_capture("[irc.a]\nserver = s\nnick = n\n", 0644, out, sizeof out);
	assert_non_null(c);
	config_free(c);
	assert_null(strstr(out, "chmod"));
}

static void test_example_config_loads(void **state)
{
	struct config *c;
	(void)state;
	/* The shipped example must always load (tests run from the root). */
	c = config_load("config.example.ini", err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->nirc, 1);
	config_free(c);
}

/* Numbers out of their range are refused at load, so `faqbot check`
 * catches them: throttle_rate = 1e-300 passed and made ircnet.c's wait
 * before the next line 1e303 ms, a float-to-integer overflow (UBSan
 * float-cast-overflow, now in the Makefile's SAN flags). */
static void test_ranges(void **state)
{
	static const char irc[] = "[irc.a]\nserver = s\nnick = n\n";
	char text[512];
	struct config *c;
	static const char *const bad_rates[] = {
		"1e-300", "0.001", "-1", "1e-400", "nan", "inf", "1e7", "0x", "",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
		snprintf(text, sizeof text, "%sthrottle_rate = %s\n", irc, bad_rates[i]);
		expect_error(text, 4, "throttle_rate: ");
		if (!strstr(err, "neither 0 (off) nor a number from 0.01 to 1000000"))
			fail_msg("%s: no range in \"%s\"", bad_rates[i], err);
	}
	/* 0 lifts the throttle; the bounds themselves are fine */
	static const char *const good_rates[] = { "0", "0.0", "0.01", "2.5", "1000000" };
	for (size_t i = 0; i < sizeof good_rates / sizeof good_rates[0]; i++) {
		snprintf(text, sizeof text, "%sthrottle_rate = %s\n", irc, good_rates[i]);
		if (!(c = load(text)))
			fail_msg("throttle_rate = %s: %s", good_rates[i], err);
		config_free(c);
	}
	/* every other number has its range too */
	expect_error("[bot]\nuser_burst = 0\n", 2, "user_burst: '0' is not a whole number from 1 to 100000");
	expect_error("[bot]\nuser_rate = 99999999999999999999\n", 2, "user_rate: ");
	expect_error("[bot]\nmax_answer_age = -1\n", 2, "max_answer_age: ");
	expect_error("[bot]\nauto_answer_confidence = nan\n", 2, "from 0 to 1");
	expect_error("[irc.a]\nserver = s\nnick = n\nthrottle_burst = 0\n", 4, "throttle_burst: ");
	expect_error("[irc.a]\nserver = s\nnick = n\nlag_timeout = 5\n", 4, "lag_timeout: ");
	expect_error("[irc.a]\nserver = s\nnick = n\nreconnect_max = 86401\n", 4, "reconnect_max: ");
	expect_error("[irc.a]\nserver = s\nnick = n\nport = 0\n", 4, "port: ");
	expect_error("[matrix.m]\nhomeserver = https://h\nuser = @a:h\npassword = p\n"
		     "sync_timeout = 3601\n", 5, "sync_timeout: ");
}

/* Strings the bot keeps in fixed buffers are refused at load when too
 * long: a 32-byte command_prefix passed `check`, then `run` failed with
 * "out of memory" (bot.c's prefix[32]). */
static void test_string_lengths(void **state)
{
	char text[1024], v[100];
	struct config *c;
	(void)state;
	memset(v, 'x', sizeof v);
	snprintf(text, sizeof text, "[bot]\ncommand_prefix = %.32s\n", v);
	expect_error(text, 2, "command_prefix is 32 bytes long, more than the 16 allowed; shorten it");
	snprintf(text, sizeof text, "[bot]\ncommand_prefix = %.17s\n", v);
	expect_error(text, 2, "command_prefix is 17 bytes long");
	snprintf(text, sizeof text, "[bot]\ncommand_prefix = %.16s\n", v);
	if (!(c = load(text)))
		fail_msg("a 16-byte prefix: %s", err);
	assert_int_equal(strlen(c->bot.command_prefix), 16);
	config_free(c);

	snprintf(text, sizeof text, "[irc.a]\nserver = s\nnick = %.64s\n", v);
	expect_error(text, 3, "nick is 64 bytes long, more than the 63 allowed");
	snprintf(text, sizeof text, "[irc.a]\nserver = s\nnick = n\nalt_nicks = n_, %.64s\n", v);
	expect_error(text, 4, "alt_nicks: 'xxxxxxxxxxxxxxxxxxxx...' is longer than 63 bytes");
	snprintf(text, sizeof text, "[irc.a]\nserver = s\nnick = n\nusername = %.64s\n", v);
	expect_error(text, 4, "username is 64 bytes long");
	snprintf(text, sizeof text, "[irc.a]\nserver = s\nnick = n\nchannels = #ok, #%.63s key\n", v);
	expect_error(text, 4, "channels: '#xxxxxxxxxxxxxxxxxxx...' is longer than 63 bytes");
	snprintf(text, sizeof text, "[irc.a]\nserver = s\nnick = %.63s\nalt_nicks = %.63s\n"
		 "channels = #%.62s\n", v, v, v);
	if (!(c = load(text)))
		fail_msg("the longest nick and channel: %s", err);
	config_free(c);
	/* secrets and ids in fixed buffers of ircreg.c (SASL) and store.h */
	char *big = malloc(3000), *t = malloc(4000);
	assert_non_null(big);
	assert_non_null(t);
	memset(big, 'p', 2999);
	big[2999] = '\0';
	snprintf(t, 4000, "[irc.a]\nserver = s\nnick = n\nsasl_mechanism = PLAIN\n"
		 "sasl_password = %.256s\n", big);
	expect_error(t, 5, "sasl_password is 256 bytes long, more than the 255 allowed");
	assert_null(strstr(err, "pppppppp")); /* never the secret */
	snprintf(t, 4000, "[irc.a]\nserver = s\nnick = n\nsasl_mechanism = PLAIN\n"
		 "sasl_password = %.255s\nsasl_username = %.255s\n", big, big);
	if (!(c = load(t)))
		fail_msg("a 255-byte SASL password and account: %s", err);
	config_free(c);
	snprintf(t, 4000, "[matrix.m]\nhomeserver = https://h\nuser = @a:h\n"
		 "access_token = %.1024s\n", big);
	expect_error(t, 4, "access_token is 1024 bytes long, more than the 1023 allowed");
	assert_null(strstr(err, "pppppppp"));
	snprintf(t, 4000, "[matrix.m]\nhomeserver = https://h\nuser = @%.255s\npassword = x\n",
		 big);
	expect_error(t, 3, "user is 256 bytes long, more than the 255 allowed");
	snprintf(t, 4000, "[matrix.m]\nhomeserver = https://%.504s\n", big);
	expect_error(t, 2, "homeserver is 512 bytes long, more than the 511 allowed");
	free(big);
	free(t);
}

/* The config is read by textfile.c too: a reload must not hang on a FIFO
 * nor read /dev/zero for ever, and a NUL byte is an error with its line. */
static void on_alarm(int sig)
{
	static const char m[] = "config_load blocked or looped for 10 s\n";
	(void)sig;
	(void)!write(2, m, sizeof m - 1);
	_exit(1);
}

static void test_not_text(void **state)
{
	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(10);
	remove(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	char want[512];
	assert_null(config_load(path, err, sizeof err));
	snprintf(want, sizeof want, "%s: is a FIFO (named pipe), not a regular file; put a "
		 "plain UTF-8 text file there", path);
	if (strncmp(err, want, strlen(want)))
		fail_msg("\"%s\" does not start with \"%s\"", err, want);
	remove(path);
	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_null(config_load(path, err, sizeof err));
	assert_non_null(strstr(err, "is a character device, not a regular file"));
	remove(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(config_load(path, err, sizeof err));
	snprintf(want, sizeof want, "%s: is a directory, not a regular file", path);
	if (strncmp(err, want, strlen(want)))
		fail_msg("\"%s\" does not start with \"%s\"", err, want);
	rmdir(path);
	{
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fwrite("[bot]\nuser_rate = 6\0 7\n", 1, 24, f);
		fclose(f);
	}
	assert_null(config_load(path, err, sizeof err));
	snprintf(want, sizeof want, "%s:2: NUL byte at column 14", path);
	if (strncmp(err, want, strlen(want)))
		fail_msg("\"%s\" does not start with \"%s\"", err, want);
	remove(path);
	alarm(0);
}

/* SECURITY.md's config limit: a line of up to 65,536 bytes, whatever it
 * holds (a long list, usually). */
static void test_line_limits(void **state)
{
	size_t cap = 70000, n;
	char *text = malloc(cap);
	struct config *c;
	int i;
	(void)state;
	assert_non_null(text);
	/* 100-byte items, within the 1024 items of a list */
	n = (size_t)snprintf(text, cap, "[bot]\nignore = ");
	for (i = 0; n < 65400; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s%094d", i ? ", " : "", i);
	snprintf(text + n, cap - n, "\n");
	assert_true(n - 6 > 65400 && n - 6 <= 65536);
	if (!(c = load(text)))
		fail_msg("a %zu-byte list line: %s", n - 6, err);
	assert_int_equal(c->bot.ignore.n, (size_t)i);
	config_free(c);
	n = (size_t)snprintf(text, cap, "[bot]\nignore = ");
	while (n < 65600)
		n += (size_t)snprintf(text + n, cap - n, "%094d, ", 7);
	snprintf(text + n, cap - n, "\n");
	expect_error(text, 2, "line longer than 65536 bytes; shorten it, or split it over "
		     "several lines");
	/* a value of another kind: the same limit */
	memset(text, 'a', 66000);
	memcpy(text, "[bot]\nstate = ", 14);
	strcpy(text + 6 + 65536, "\n");
	if (!(c = load(text)))
		fail_msg("a 65536-byte line: %s", err);
	assert_int_equal(strlen(c->bot.state), 65536 - 8 + strlen(dir) + 1);
	config_free(c);
	memset(text, 'a', 66000);
	memcpy(text, "[bot]\nstate = ", 14);
	strcpy(text + 6 + 65537, "\n");
	expect_error(text, 2, "line longer than 65536 bytes");
	/* so is a [section] header: once a crash with inih (fuzz_config) */
	memset(text, 'x', 66000);
	text[0] = '[';
	strcpy(text + 65537, "]\n");
	expect_error(text, 1, "line longer than 65536 bytes");
	free(text);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/config.ini", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[300];
	(void)state;
	unlink(path);
	snprintf(p, sizeof p, "%s/stderr.txt", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_knowledge_error),
		cmocka_unit_test(test_pickle_env),
		cmocka_unit_test(test_long_list),
		cmocka_unit_test(test_dump_masks_secrets),
		cmocka_unit_test(test_permission_warning),
		cmocka_unit_test(test_example_config_loads),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_string_lengths),
		cmocka_unit_test(test_not_text),
		cmocka_unit_test(test_line_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
