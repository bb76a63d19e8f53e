/* test_ircnet.c - the IRC client state machine, fed raw server lines.
 * Two seams stand in for the rest of the world: the fake transport below
 * (the socket and the loop's clock) and a chat sink (the way up to the
 * bot, chat.h) that records what went up and answers with canned
 * replies.  Everything between them (ircnet, ircreg, ircmsg, ircinbox,
 * outq, irc.c) is the production code; no knowledge/ is loaded.  Real
 * servers (ngircd, InspIRCd + Anope) and the real bot are exercised by
 * the integration tests in tests/integration/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "chat.h"
#include "config.h"
#include "irc.h"
#include "ircnet.h"
#include "utf8.h"

#define MAX_SENT 4096

/* ---- the fake transport: records what would go on the socket ---- */
struct fake {
	int64_t now;
	int64_t armed;
	int opens, open_fail;
	int closes, close_flush;
	size_t pending;
	char *sent[MAX_SENT];
	int nsent, cursor;
	struct ircnet *n;
};

static int f_open(struct ircnet *n, void *arg)
{
	(void)n;
	struct fake *f = arg;
	f->opens++;
	return f->open_fail ? -1 : 0;
}

static int f_send(struct ircnet *n, void *arg, const char *data, size_t len)
{
	(void)n;
	struct fake *f = arg;
	/* one call = one line with CR LF, never more than 512 bytes */
	assert_true(len >= 2 && len <= IRC_LINE_MAX);
	assert_memory_equal(data + len - 2, "\r\n", 2);
	assert_null(memchr(data, '\r', len - 2));
	assert_null(memchr(data, '\n', len - 2));
	assert_null(memchr(data, '\0', len));
	assert_true(f->nsent < MAX_SENT);
	f->sent[f->nsent] = strndup(data, len - 2);
	f->nsent++;
	return 0;
}

static size_t f_pending(struct ircnet *n, void *arg)
{
	(void)n;
	return ((struct fake *)arg)->pending;
}

static void f_close(struct ircnet *n, void *arg, int flush, const char *reason)
{
	struct fake *f = arg;
	f->closes++;
	f->close_flush = flush;
	/* as net_close does: on_close right away; a flushing shutdown
	 * reports later (the test calls ircnet_closed) */
	if (!flush)
		ircnet_closed(n, reason);
}

static int64_t f_now(struct ircnet *n, void *arg)
{
	(void)n;
	return ((struct fake *)arg)->now;
}

static void f_arm(struct ircnet *n, void *arg, int64_t at)
{
	(void)n;
	((struct fake *)arg)->armed = at;
}

static const struct ircnet_io fake_io = { f_open, f_send, f_pending, f_close, f_now, f_arm, NULL };

/* ---- the chat sink: what the bot would be, canned ----
 * ircnet hands every message up through a struct chat_sink (chat.h) and
 * sends down whatever reply comes back; that seam is what these tests
 * drive.  This sink records each message as it went up and answers with
 * canned replies, by rules as small as the tests need:
 *   - a question is answered in private, in an auto_answer channel, when
 *     it starts with "<own_name>:" / "<own_name>," or with "!faq"; one
 *     about "étapes" gets STAGES (10 paragraphs), any other ANSWER;
 *   - "!status" and "!reload" answer an admin (policy->admins holds the
 *     account), and refuse anyone else;
 *   - per user_id: policy->user_burst questions, then user_rate a minute,
 *     and SINK_MINOR_BURST CTCPs or refusals, then SINK_MINOR_PER_MIN a
 *     minute; past either, one "Doucement" notice, then silence. */
#define SINK_MINOR_BURST 3
#define SINK_MINOR_PER_MIN 2
#define SINK_USERS 1024
#define MAX_UP 4096

static const char ANSWER[] =
	"Une session validée devient visible sur les sites partenaires après la publication du "
	"catalogue : compte deux jours ouvrés pour Kairos, puis le délai propre à chaque site. "
	"Si elle n'apparaît toujours pas passé ce délai, vérifie son état dans l'outil de gestion "
	"et signale-la avec son numéro.";
static const char *const STAGES[] = {
	"1. La session est saisie dans l'outil de gestion, à l'état brouillon.",
	"2. Le responsable la valide : elle passe à l'état validé.",
	"3. Le catalogue est publié chaque nuit avec les sessions validées la veille.",
	"4. Kairos reçoit le catalogue et l'affiche sous deux jours ouvrés, parfois plus vite "
	"quand la file d'attente est vide, et ce délai compte les jours fériés comme des "
	"dimanches, si bien qu'une session validée un vendredi veille de pont n'apparaît "
	"que le mercredi suivant, ce qui surprend souvent les organismes qui découvrent le "
	"circuit et appellent le support dès le lundi matin pour savoir où elle est passée.",
	"5. Les autres sites partenaires lisent Kairos à leur propre rythme.",
	"6. L'état ARCH signifie que la session est archivée : elle ne sera plus diffusée.",
	"7. Une modification après validation repart pour un tour de publication.",
	"8. Une session annulée disparaît des sites à la publication suivante.",
	"9. En cas de doute, le numéro de session suffit au support pour retrouver son état.",
	"En résumé : validée aujourd'hui, visible sur Kairos dans deux jours ouvrés.",
};

/* One message as it went up. */
struct up {
	enum chat_event event;
	char network[64], sender[64], account[128], user_id[400], own_name[64], room[128];
	char text[IRC_READ_MAX + 1];
	int has_account, has_room, is_private, auto_answer;
	int64_t now_ms;
};

struct allowance {
	char id[400];
	int asked, asked_notice; /* questions; the allowance a notice was sent at */
	int minor, minor_notice;
	int64_t first_ms;
};

struct sink {
	struct up *up;
	int nup;
	struct allowance users[SINK_USERS];
	int nusers;
	void (*reload)(void *arg);
	void *reload_arg;
};

static void keep(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static struct allowance *allowance_of(struct sink *s, const struct chat_msg *m)
{
	const char *id = m->user_id ? m->user_id : m->sender;
	for (int i = 0; i < s->nusers; i++)
		if (!strcmp(s->users[i].id, id))
			return &s->users[i];
	assert_true(s->nusers < SINK_USERS);
	struct allowance *a = &s->users[s->nusers++];
	keep(a->id, sizeof a->id, id);
	a->first_ms = m->now_ms;
	a->asked_notice = a->minor_notice = -1;
	return a;
}

static void reply(struct chat_reply *out, enum chat_kind kind, const char *text)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	keep(out->text, sizeof out->text, text);
	out->len = strlen(out->text);
}

/* 1 when one more is allowed (and counts it); else 0 with the one notice
 * in out, or -1 when the notice was sent already. */
static int spend(int *used, int *noticed, int burst, int per_min, int64_t elapsed_ms,
		 struct chat_reply *out)
{
	int allowed = burst + (int)((int64_t)per_min * elapsed_ms / 60000);
	if (*used < allowed) {
		(*used)++;
		return 1;
	}
	if (*noticed == allowed)
		return -1;
	*noticed = allowed;
	reply(out, CHAT_LIMITED, "Doucement : trop de messages, réessaie dans une minute.");
	return 0;
}

static int is_admin(const struct chat_msg *m)
{
	return m->account && strlist_has(&m->policy->admins, m->account);
}

static int addressed(const struct chat_msg *m)
{
	size_t k = strlen(m->own_name);
	if (m->is_private || m->auto_answer || !strncmp(m->text, "!faq", 4))
		return 1;
	return !strncasecmp(m->text, m->own_name, k) && (m->text[k] == ':' || m->text[k] == ',');
}

static int sink_on_msg(void *arg, const struct chat_msg *m, struct chat_reply *out)
{
	struct sink *s = arg;
	assert_true(s->nup < MAX_UP);
	struct up *u = &s->up[s->nup++];
	u->event = m->event;
	keep(u->network, sizeof u->network, m->network);
	keep(u->sender, sizeof u->sender, m->sender);
	keep(u->account, sizeof u->account, m->account);
	keep(u->user_id, sizeof u->user_id, m->user_id);
	keep(u->own_name, sizeof u->own_name, m->own_name);
	keep(u->room, sizeof u->room, m->room);
	u->has_account = m->account != NULL;
	u->has_room = m->room != NULL;
	u->is_private = m->is_private;
	u->auto_answer = m->auto_answer;
	u->now_ms = m->now_ms;
	if (m->event == CHAT_TEXT) {
		assert_non_null(m->text);
		assert_int_equal(strlen(m->text), m->len);
		keep(u->text, sizeof u->text, m->text);
	}
	struct allowance *a = allowance_of(s, m);
	int64_t elapsed = m->now_ms - a->first_ms;
	if (m->event == CHAT_MINOR)
		return spend(&a->minor, &a->minor_notice, SINK_MINOR_BURST, SINK_MINOR_PER_MIN, elapsed, out);
	if (!strncmp(m->text, "!status", 7) || !strncmp(m->text, "!reload", 7)) {
		if (!is_admin(m)) {
			int r = spend(&a->minor, &a->minor_notice, SINK_MINOR_BURST, SINK_MINOR_PER_MIN,
				      elapsed, out);
			if (r > 0)
				reply(out, CHAT_REFUSED, "Désolé, cette commande est réservée aux administrateurs.");
			return r >= 0;
		}
		if (m->text[1] == 'r') {
			if (s->reload)
				s->reload(s->reload_arg);
			reply(out, CHAT_ADMIN, "Rechargement effectué : configuration et connaissances.");
		} else {
			reply(out, CHAT_ADMIN, "Statut : tout va bien.");
		}
		return 1;
	}
	if (!addressed(m))
		return 0;
	int r = spend(&a->asked, &a->asked_notice, m->policy->user_burst, m->policy->user_rate,
		      elapsed, out);
	if (r <= 0)
		return r == 0;
	if (strstr(m->text, "tapes")) { /* étapes, etapes */
		char text[CHAT_REPLY_MAX] = "";
		for (size_t i = 0; i < sizeof STAGES / sizeof *STAGES; i++) {
			strcat(text, STAGES[i]);
			strcat(text, "\n");
		}
		reply(out, CHAT_ANSWER, text);
	} else {
		reply(out, CHAT_ANSWER, ANSWER);
	}
	return 1;
}

/* ---- fixture ---- */
static char *alt[] = { "faqbot_", "faqbot__" };
static char *auto_chans[] = { "#auto" };
static char *admins[] = { "root-account" };
static struct irc_channel chans[] = { { "#support", NULL }, { "#priv", "s3cret" } };

struct fx {
	struct fake f;
	struct irc_config cfg;
	struct sink sink;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);
	assert_non_null(x);
	x->sink.up = calloc(MAX_UP, sizeof *x->sink.up);
	assert_non_null(x->sink.up);
	struct irc_config *c = &x->cfg;
	c->name = "testnet";
	c->server = "irc.test";
	c->port = 6697;
	c->tls = 1;
	c->nick = "faqbot";
	c->alt_nicks = (struct strlist){ alt, 2 };
	c->username = "faq";
	c->realname = "FAQ bot";
	c->channels = chans;
	c->nchannels = 2;
	c->sasl_mechanism = SASL_NONE;
	c->policy.admins = (struct strlist){ admins, 1 };
	c->policy.auto_answer = (struct strlist){ auto_chans, 1 };
	c->policy.user_rate = 1000;
	c->policy.user_burst = 1000;
	c->throttle_burst = 4;
	c->throttle_rate = 0; /* lifted unless a test sets it */
	c->lag_timeout = 240;
	c->reconnect_max = 300;
	c->quit_message = "au revoir";
	x->f.now = 1000000;
	x->f.armed = -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	ircnet_free(x->f.n);
	free(x->sink.up);
	for (int i = 0; i < x->f.nsent; i++)
		free(x->f.sent[i]);
	free(x);
	return 0;
}

static void start(struct fx *x)
{
	int opens = x->f.opens;
	struct chat_sink sink = { sink_on_msg, &x->sink };
	x->f.n = ircnet_new(&x->cfg, &sink, &fake_io, &x->f);
	assert_non_null(x->f.n);
	assert_int_equal(ircnet_connect(x->f.n), 0);
	assert_int_equal(x->f.opens, opens + 1);
	ircnet_connected(x->f.n);
}

/* One line from the server (CR LF added). */
static void srv(struct fx *x, const char *line)
{
	static char buf[2 * IRC_READ_MAX];
	int len = snprintf(buf, sizeof buf, "%s\r\n", line);
	assert_true(len > 0 && (size_t)len < sizeof buf);
	assert_int_equal(ircnet_feed(x->f.n, buf, (size_t)len), (size_t)len);
}

static const char *next(struct fx *x)
{
	if (x->f.cursor >= x->f.nsent)
		return NULL;
	return x->f.sent[x->f.cursor++];
}

static void expect(struct fx *x, const char *want)
{
	const char *got = next(x);
	if (!got || strcmp(got, want) != 0)
		fail_msg("expected \"%s\", sent \"%s\"", want, got ? got : "(nothing)");
}

static void expect_prefix(struct fx *x, const char *want)
{
	const char *got = next(x);
	if (!got || strncmp(got, want, strlen(want)) != 0)
		fail_msg("expected \"%s...\", sent \"%s\"", want, got ? got : "(nothing)");
}

static void expect_nothing(struct fx *x)
{
	const char *got = next(x);
	if (got)
		fail_msg("expected nothing, sent \"%s\"", got);
}

static void skip_all(struct fx *x)
{
	x->f.cursor = x->f.nsent;
}

/* Plays the server for the flow-control window: answers every
 * "PING :fb<n>" sent since the cursor, returns how many other lines were
 * sent (the cursor moves past all of them). */
static int answer_pings(struct fx *x)
{
	int others = 0;
	char pong[64];
	const char *l;
	while ((l = next(x))) {
		if (strncmp(l, "PING :fb", 8) == 0) {
			snprintf(pong, sizeof pong, ":irc.test PONG irc.test :%s", l + 6);
			srv(x, pong);
		} else {
			others++;
		}
	}
	return others;
}

static void advance(struct fx *x, int64_t ms)
{
	x->f.now += ms;
	ircnet_tick(x->f.n);
}

/* Registers without SASL and checks the joins. */
static void register_plain(struct fx *x)
{
	start(x);
	expect(x, "CAP LS 302");
	expect(x, "NICK faqbot");
	expect(x, "USER faq 0 * :FAQ bot");
	srv(x, ":irc.test CAP * LS :multi-prefix away-notify");
	expect(x, "CAP REQ :multi-prefix");
	srv(x, ":irc.test CAP * ACK :multi-prefix");
	expect(x, "CAP END");
	srv(x, ":irc.test 001 faqbot :Welcome to the Test IRC Network faqbot!~faq@127.0.0.1");
	assert_true(ircnet_registered(x->f.n));
	expect(x, "JOIN #support");
	expect(x, "JOIN #priv s3cret");
	expect_nothing(x);
}

static void test_cap_without_sasl(void **state)
{
	struct fx *x = *state;
	start(x);
	expect(x, "CAP LS 302");
	expect(x, "NICK faqbot");
	expect(x, "USER faq 0 * :FAQ bot");
	/* LS over two lines; sasl offered but not configured: not requested */
	srv(x, ":irc.test CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL server-time");
	expect_nothing(x);
	srv(x, ":irc.test CAP * LS :account-tag message-tags chghost");
	expect(x, "CAP REQ :multi-prefix server-time account-tag message-tags");
	srv(x, ":irc.test CAP faqbot ACK :multi-prefix server-time account-tag message-tags");
	expect(x, "CAP END");
	srv(x, ":irc.test 001 faqbot :Welcome");
	/* the host is unknown: asked for, for the 512-byte split */
	expect(x, "USERHOST faqbot");
	expect(x, "JOIN #support");
	expect(x, "JOIN #priv s3cret");
	expect_nothing(x);
}

static void test_server_without_cap(void **state)
{
	struct fx *x = *state;
	start(x);
	skip_all(x);
	srv(x, ":old.server 421 * CAP :Unknown command");
	srv(x, ":old.server 001 faqbot :Welcome faqbot!faq@h");
	assert_true(ircnet_registered(x->f.n));
	expect(x, "JOIN #support");
}

/* Reference base64 from OpenSSL, to check our encoder independently. */
static void b64(const unsigned char *raw, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, raw, (int)len);
}

static void test_sasl_plain(void **state)
{
	struct fx *x = *state;
	x->cfg.sasl_mechanism = SASL_PLAIN;
	x->cfg.sasl_username = "faqbot";
	x->cfg.sasl_password = "secret";
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :sasl=PLAIN,EXTERNAL account-tag");
	expect(x, "CAP REQ :sasl account-tag");
	srv(x, ":irc.test CAP * ACK :sasl account-tag");
	expect(x, "AUTHENTICATE PLAIN");
	srv(x, "AUTHENTICATE +");
	expect(x, "AUTHENTICATE ZmFxYm90AGZhcWJvdABzZWNyZXQ=");
	expect_nothing(x);
	srv(x, ":irc.test 900 faqbot faqbot!faq@host.test faqbot :You are now logged in as faqbot");
	srv(x, ":irc.test 903 faqbot :SASL authentication successful");
	expect(x, "CAP END");
	srv(x, ":irc.test 001 faqbot :Welcome");
	/* the host came with 900: no USERHOST needed */
	expect(x, "JOIN #support");
}

/* AUTHENTICATE payloads go in 400-byte chunks, and a payload whose last
 * chunk is exactly 400 bytes ends with "AUTHENTICATE +" (IRCv3 sasl). */
static void sasl_chunks(struct fx *x, size_t passlen, int want_chunks, int want_plus)
{
	char *pass = malloc(passlen + 1);
	for (size_t i = 0; i < passlen; i++)
		pass[i] = (char)('a' + i % 26);
	pass[passlen] = '\0';
	x->cfg.sasl_mechanism = SASL_PLAIN;
	x->cfg.sasl_username = "u";
	x->cfg.sasl_password = pass;
	start(x);
	srv(x, ":irc.test CAP * LS :sasl");
	srv(x, ":irc.test CAP * ACK :sasl");
	skip_all(x);
	srv(x, "AUTHENTICATE +");
	char joined[2048] = "";
	for (int i = 0; i < want_chunks; i++) {
		const char *l = next(x);
		assert_non_null(l);
		assert_memory_equal(l, "AUTHENTICATE ", 13);
		size_t cl = strlen(l + 13);
		assert_true(cl == 400 || (i == want_chunks - 1 && cl < 400));
		strcat(joined, l + 13);
	}
	if (want_plus)
		expect(x, "AUTHENTICATE +");
	expect_nothing(x);
	unsigned char raw[1024];
	size_t rl = 0;
	memcpy(raw, "u\0u\0", 4);
	rl = 4;
	memcpy(raw + rl, pass, passlen);
	rl += passlen;
	char ref[2048];
	b64(raw, rl, ref);
	assert_string_equal(joined, ref);
	srv(x, ":irc.test 903 * :ok");
	expect(x, "CAP END");
	free(pass);
}

static void test_sasl_chunk_exact_400(void **state)
{
	sasl_chunks(*state, 300 - 4, 1, 1); /* 300 raw bytes = 400 base64 */
}

static void test_sasl_chunk_800(void **state)
{
	sasl_chunks(*state, 600 - 4, 2, 1);
}

static void test_sasl_chunk_401(void **state)
{
	sasl_chunks(*state, 301 - 4, 2, 0);
}

static void test_sasl_short(void **state)
{
	sasl_chunks(*state, 10, 1, 0);
}

static void test_sasl_904(void **state)
{
	struct fx *x = *state;
	x->cfg.sasl_mechanism = SASL_PLAIN;
	x->cfg.sasl_username = "faqbot";
	x->cfg.sasl_password = "wrong";
	start(x);
	srv(x, ":irc.test CAP * LS :sasl");
	srv(x, ":irc.test CAP * ACK :sasl");
	srv(x, "AUTHENTICATE +");
	skip_all(x);
	srv(x, ":irc.test 904 faqbot :SASL authentication failed");
	/* no retry loop: registration ends without an account */
	expect(x, "CAP END");
	expect_nothing(x);
	srv(x, "AUTHENTICATE +"); /* a confused server does not restart it */
	srv(x, ":irc.test 904 faqbot :SASL authentication failed");
	expect_nothing(x);
	srv(x, ":irc.test 001 faqbot :Welcome faqbot!faq@h");
	assert_true(ircnet_registered(x->f.n));
	expect(x, "JOIN #support");
}

static void test_sasl_external_and_not_offered(void **state)
{
	struct fx *x = *state;
	x->cfg.sasl_mechanism = SASL_EXTERNAL;
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :sasl=EXTERNAL");
	expect(x, "CAP REQ :sasl");
	srv(x, ":irc.test CAP * ACK :sasl");
	expect(x, "AUTHENTICATE EXTERNAL");
	srv(x, "AUTHENTICATE +");
	expect(x, "AUTHENTICATE +");
	srv(x, ":irc.test 903 * :ok");
	expect(x, "CAP END");
	ircnet_free(x->f.n);

	/* ngircd: no sasl cap at all -> no AUTHENTICATE, CAP END */
	start(x);
	skip_all(x);
	srv(x, ":ngircd.test CAP * LS :multi-prefix");
	expect(x, "CAP REQ :multi-prefix");
	srv(x, ":ngircd.test CAP * ACK :multi-prefix");
	expect(x, "CAP END");
	expect_nothing(x);
}

static void test_nick_in_use(void **state)
{
	struct fx *x = *state;
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :multi-prefix");
	srv(x, ":irc.test 433 * faqbot :Nickname is already in use");
	expect(x, "CAP REQ :multi-prefix");
	expect(x, "NICK faqbot_");
	srv(x, ":irc.test 433 * faqbot_ :Nickname is already in use");
	expect(x, "NICK faqbot__");
	srv(x, ":irc.test 432 * faqbot__ :Erroneous nickname");
	expect(x, "NICK faqbot1");
	srv(x, ":irc.test 433 * faqbot1 :Nickname is already in use");
	expect(x, "NICK faqbot2");
	srv(x, ":irc.test CAP * ACK :multi-prefix");
	expect(x, "CAP END");
	srv(x, ":irc.test 001 faqbot2 :Welcome faqbot2!faq@h");
	assert_string_equal(ircnet_nick(x->f.n), "faqbot2");
	skip_all(x);
	/* addressed by the nick we got */
	x->f.now += 10000;
	srv(x, ":alice!a@h PRIVMSG #support :faqbot2: quand sera visible ma session ?");
	expect_prefix(x, "PRIVMSG #support :alice: ");
	/* endless collisions end in a reconnect, not a loop */
	ircnet_free(x->f.n);
	start(x);
	skip_all(x);
	for (int i = 0; i < 40 && x->f.closes == 0; i++)
		srv(x, ":irc.test 433 * x :Nickname is already in use");
	assert_int_equal(x->f.closes, 1);
	assert_false(ircnet_registered(x->f.n));
	assert_true(x->f.armed > x->f.now);
}

static void test_ping_pong_and_lag(void **state)
{
	struct fx *x = *state;
	x->cfg.throttle_rate = 1;
	register_plain(x);
	srv(x, "PING :irc.test");
	expect(x, "PONG irc.test");
	srv(x, "PING :two words");
	expect(x, "PONG :two words");
	/* silence for lag_timeout/2: we ping */
	assert_int_equal(x->f.armed, x->f.now + 120000);
	advance(x, 120000);
	expect(x, "PING :faqbot-lag");
	advance(x, 60000);
	expect_nothing(x);
	/* an answer resets the clock */
	srv(x, ":irc.test PONG irc.test :faqbot-lag");
	advance(x, 119000);
	expect_nothing(x);
	assert_int_equal(x->f.closes, 0);
	advance(x, 1000);
	expect(x, "PING :faqbot-lag");
	/* nothing at all for lag_timeout: reconnect */
	advance(x, 120000);
	assert_int_equal(x->f.closes, 1);
	assert_false(ircnet_registered(x->f.n));
	int64_t wait = x->f.armed - x->f.now;
	assert_true(wait >= IRCNET_BACKOFF_MIN_MS / 2 && wait <= IRCNET_BACKOFF_MIN_MS);
	advance(x, wait);
	assert_int_equal(x->f.opens, 2);
}

static void test_channel_lines(void **state)
{
	struct fx *x = *state;
	register_plain(x);
	const char *q = "quand sera visible ma session ?";
	char line[600];
	/* addressed: answered, the reply starts with the asker's nick */
	snprintf(line, sizeof line, ":alice!a@h PRIVMSG #support :faqbot: %s", q);
	srv(x, line);
	expect_prefix(x, "PRIVMSG #support :alice: ");
	skip_all(x);
	snprintf(line, sizeof line, ":bob!b@h PRIVMSG #support :FaqBot, %s", q);
	srv(x, line);
	expect_prefix(x, "PRIVMSG #support :bob: ");
	skip_all(x);
	/* command prefix */
	srv(x, ":carol!c@h PRIVMSG #support :!faq quand sera visible ma session ?");
	expect_prefix(x, "PRIVMSG #support :carol: ");
	skip_all(x);
	/* not addressed, in a channel without auto_answer: went up as such,
	 * and the sink's silence sends nothing */
	snprintf(line, sizeof line, ":dave!d@h PRIVMSG #support :%s", q);
	srv(x, line);
	struct up *u = &x->sink.up[x->sink.nup - 1];
	assert_int_equal(u->event, CHAT_TEXT);
	assert_string_equal(u->network, "testnet");
	assert_string_equal(u->sender, "dave");
	assert_string_equal(u->user_id, "h:d@h");
	assert_string_equal(u->own_name, "faqbot");
	assert_string_equal(u->room, "#support");
	assert_string_equal(u->text, q);
	assert_false(u->is_private);
	assert_false(u->auto_answer);
	assert_false(u->has_account);
	srv(x, ":dave!d@h PRIVMSG #support :bonjour tout le monde");
	expect_nothing(x);
	srv(x, ":dave!d@h PRIVMSG #auto :bonjour tout le monde");
	assert_true(x->sink.up[x->sink.nup - 1].auto_answer);
	skip_all(x);
	/* private: answered to the nick, without a nick prefix */
	snprintf(line, sizeof line, ":erin!e@h PRIVMSG faqbot :%s", q);
	srv(x, line);
	const char *got = next(x);
	assert_non_null(got);
	assert_memory_equal(got, "PRIVMSG erin :", 14);
	assert_true(strncmp(got + 14, "erin: ", 6) != 0);
	skip_all(x);
	u = &x->sink.up[x->sink.nup - 1];
	assert_true(u->is_private);
	assert_false(u->has_room);
	/* NOTICEs and our own lines are never answered: they do not go up */
	int nup = x->sink.nup;
	snprintf(line, sizeof line, ":erin!e@h NOTICE faqbot :%s", q);
	srv(x, line);
	snprintf(line, sizeof line, ":faqbot!faq@h PRIVMSG #support :faqbot: %s", q);
	srv(x, line);
	snprintf(line, sizeof line, ":FAQBOT!faq@h PRIVMSG faqbot :%s", q);
	srv(x, line);
	/* from a server, not a user */
	snprintf(line, sizeof line, ":irc.test PRIVMSG faqbot :%s", q);
	srv(x, line);
	expect_nothing(x);
	assert_int_equal(x->sink.nup, nup);
	/* CTCP VERSION and PING, answered by NOTICE; ACTION ignored */
	srv(x, ":alice!a@h PRIVMSG faqbot :\x01VERSION\x01");
	expect_prefix(x, "NOTICE alice :\x01VERSION faqbot ");
	srv(x, ":alice!a@h PRIVMSG #support :\x01PING 1234\x01");
	expect(x, "NOTICE alice :\x01PING 1234\x01");
	assert_int_equal(x->sink.up[x->sink.nup - 1].event, CHAT_MINOR);
	srv(x, ":alice!a@h PRIVMSG #support :\x01" "ACTION faqbot: quand sera visible ma session ?\x01");
	expect_nothing(x);
}

/* The longest answer of the knowledge (the stages, 10 paragraphs) arrives
 * whole (IRCNET_ANSWER_LINES), and with the longest nick, a long channel
 * and a host not learned yet, every line stays within 512 bytes once the
 * server prepends ":nick!user@host " (irc.h: IRC_GUESS_*). */
static void test_long_answer_whole(void **state)
{
	struct fx *x = *state;
	static struct irc_channel longchan[] = {
		{ "#longreplies-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL } };
	const char *nick = "uxxxxxxxxxxxxxxxxxxxxxxxxxxxxz"; /* 30: NICKLEN */
	x->cfg.nick = "faqbotxxxxxxxxxxxxxxxxxxxxxxxx"; /* 30 */
	x->cfg.channels = longchan;
	x->cfg.nchannels = 1;
	start(x);
	skip_all(x);
	/* 001 without a nick!user@host: the split must assume the longest */
	srv(x, ":irc.test 001 faqbotxxxxxxxxxxxxxxxxxxxxxxxx :Welcome");
	skip_all(x);
	char line[600];
	snprintf(line, sizeof line, ":%s!u@h PRIVMSG %s :%s: quelles sont les étapes de la "
	         "diffusion d'une formation ?", nick, longchan[0].name, x->cfg.nick);
	srv(x, line);
	size_t prefix = 1 + strlen(x->cfg.nick) + 1 + IRC_GUESS_USER_LEN + 1 + IRC_GUESS_HOST_LEN + 1;
	int n = 0, resume = 0;
	for (const char *got; (got = next(x)); n++) {
		char want[128];
		snprintf(want, sizeof want, "PRIVMSG %s :", longchan[0].name);
		assert_memory_equal(got, want, strlen(want));
		if (n == 0)
			assert_memory_equal(got + strlen(want), nick, strlen(nick));
		assert_true(prefix + strlen(got) + 2 <= IRC_LINE_MAX);
		assert_true(utf8_valid(got, strlen(got)));
		if (strstr(got, "En résumé"))
			resume = 1;
	}
	assert_true(n >= 10);
	assert_true(n <= IRCNET_ANSWER_LINES);
	assert_true(resume); /* the last paragraph made it */
}

/* Whatever a user puts in a line, every line the bot sends stays one
 * line (f_send checks CR, LF, NUL and the 512-byte limit). */
static void test_hostile_input(void **state)
{
	struct fx *x = *state;
	register_plain(x);
	srv(x, ":a!b@c PRIVMSG faqbot :\xff\xfe quand \xc3 sera visible ma session ?");
	srv(x, ":a!b@c PRIVMSG faqbot :\x01PING \xff\x01");
	/* malformed or over-long lines are skipped, the client goes on */
	srv(x, ":x");
	srv(x, "@tag");
	srv(x, "");
	char big[IRC_READ_MAX + 100];
	memset(big, 'A', sizeof big);
	memcpy(big, "PING :", 6);
	big[sizeof big - 1] = '\0';
	srv(x, big);
	/* bigger than IRC_READ_MAX without a newline: consumed and skipped */
	char huge[IRC_READ_MAX + 10];
	memset(huge, 'B', sizeof huge);
	assert_int_equal(ircnet_feed(x->f.n, huge, sizeof huge), sizeof huge);
	assert_int_equal(ircnet_feed(x->f.n, "BBB tail of it\r\n", 16), 16);
	/* a partial line stays with the transport until it is complete */
	assert_int_equal(ircnet_feed(x->f.n, "PING :a", 7), 0);
	skip_all(x);
	assert_int_equal(ircnet_feed(x->f.n, "PING :abc\n", 10), 10);
	expect(x, "PONG abc");
	assert_true(ircnet_registered(x->f.n));
	/* a server that closes mid-line */
	assert_int_equal(ircnet_feed(x->f.n, ":a!b@c PRIV", 11), 0);
	ircnet_closed(x->f.n, "connection reset by peer");
	assert_false(ircnet_registered(x->f.n));
	assert_true(x->f.armed > 0);
}

static void test_throttle(void **state)
{
	struct fx *x = *state;
	x->cfg.throttle_rate = 1;
	x->cfg.throttle_burst = 4;
	x->cfg.lag_timeout = 100000; /* the drain below is a long silence */
	register_plain(x); /* 2 JOINs used 2 tokens */
	x->f.now += 60000;   /* bucket full again (4) */
	skip_all(x);
	char line[200];
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof line, ":user%d!u@h PRIVMSG faqbot :quand sera visible ma session ?", i);
		srv(x, line);
	}
	int burst = x->f.nsent - x->f.cursor;
	assert_int_equal(burst, 4);
	skip_all(x);
	/* PONG bypasses the queue */
	srv(x, "PING :x");
	expect(x, "PONG x");
	/* then one line per second */
	assert_true(x->f.armed > x->f.now && x->f.armed <= x->f.now + 1001);
	advance(x, 1001);
	assert_int_equal(x->f.nsent - x->f.cursor, 1);
	skip_all(x);
	advance(x, 500);
	assert_int_equal(x->f.nsent - x->f.cursor, 0);
	advance(x, 501);
	assert_int_equal(x->f.nsent - x->f.cursor, 1);
	skip_all(x);
	/* drain what is left of the ten */
	for (int i = 0; i < 20; i++) {
		advance(x, 1000);
		answer_pings(x);
	}
	/* 300 nicks on one user@host are one user (issue 10): their share
	 * of the queue, IRCNET_USER_LINES, waits; the first ones, whole */
	for (int i = 0; i < 300; i++) {
		snprintf(line, sizeof line, ":flood%d!u@h PRIVMSG faqbot :quand sera visible ma session ?", i);
		srv(x, line);
	}
	int drained = answer_pings(x);
	for (int i = 0; i < 2000; i++) {
		advance(x, 1000);
		drained += answer_pings(x);
	}
	assert_int_equal(drained, 4 + IRCNET_USER_LINES); /* the burst went at once */
	assert_memory_equal(x->f.sent[x->f.nsent - 1], "PRIVMSG flood23 :", 17);
	/* 300 users, one line each: the queue holds IRCNET_QUEUE_MAX */
	for (int i = 0; i < 300; i++) {
		snprintf(line, sizeof line, ":flood%d!u@h%d PRIVMSG faqbot :quand sera visible ma session ?", i, i);
		srv(x, line);
	}
	drained = answer_pings(x);
	for (int i = 0; i < 2000; i++) {
		advance(x, 1000);
		drained += answer_pings(x);
	}
	assert_int_equal(drained, 4 + IRCNET_QUEUE_MAX);
}

static void test_unthrottled_backpressure(void **state)
{
	struct fx *x = *state;
	register_plain(x);
	/* socket buffer full: lines wait in our queue, retried shortly */
	x->f.pending = 1 << 20;
	srv(x, ":a!b@c PRIVMSG faqbot :quand sera visible ma session ?");
	expect_nothing(x);
	assert_true(x->f.armed > 0 && x->f.armed <= x->f.now + 100);
	x->f.pending = 0;
	advance(x, 50);
	expect_prefix(x, "PRIVMSG a :");
}

static void test_kick_rejoin_and_reconnect(void **state)
{
	struct fx *x = *state;
	x->cfg.reconnect_max = 4;
	register_plain(x);
	srv(x, ":faqbot!~faq@127.0.0.1 JOIN #priv");
	srv(x, ":op!o@h KICK #priv faqbot :out");
	expect_nothing(x);
	advance(x, IRCNET_REJOIN_MS - 1);
	expect_nothing(x);
	advance(x, 1);
	expect(x, "JOIN #priv s3cret");
	srv(x, ":faqbot!~faq@127.0.0.1 JOIN #priv");
	advance(x, 100000);
	skip_all(x);
	/* someone else kicked: nothing */
	srv(x, ":op!o@h KICK #priv alice :out");
	advance(x, IRCNET_REJOIN_MS);
	expect_nothing(x);
	/* connection lost: backoff grows, capped at reconnect_max */
	ircnet_closed(x->f.n, "connection reset by peer");
	x->f.open_fail = 1;
	int64_t prev = 0;
	for (int i = 0; i < 8; i++) {
		int64_t wait = x->f.armed - x->f.now;
		assert_true(wait > 0 && wait <= 4000);
		if (i < 2)
			assert_true(wait >= prev / 2);
		prev = wait;
		advance(x, wait);
	}
	assert_int_equal(x->f.opens, 1 + 8);
	x->f.open_fail = 0;
	advance(x, x->f.armed - x->f.now);
	assert_int_equal(x->f.opens, 10);
	ircnet_connected(x->f.n);
	expect(x, "CAP LS 302");
	skip_all(x);
	srv(x, ":irc.test 001 faqbot :Welcome faqbot!faq@h");
	expect(x, "JOIN #support");
	expect(x, "JOIN #priv s3cret");
}

static void test_quit(void **state)
{
	struct fx *x = *state;
	register_plain(x);
	ircnet_quit(x->f.n, NULL);
	expect(x, "QUIT :au revoir");
	assert_int_equal(x->f.closes, 1);
	assert_int_equal(x->f.close_flush, 1);
	assert_false(ircnet_done(x->f.n));
	ircnet_closed(x->f.n, "closed");
	assert_true(ircnet_done(x->f.n));
	assert_int_equal(x->f.armed, -1);
	assert_int_equal(x->f.opens, 1);
	/* a quit message with a line break cannot inject a command */
	ircnet_free(x->f.n);
	register_plain(x);
	ircnet_quit(x->f.n, "bye\r\nPRIVMSG #x :pwned");
	expect(x, "QUIT :bye  PRIVMSG #x :pwned");
	ircnet_free(NULL);
}

static void test_admin_needs_account_tag(void **state)
{
	struct fx *x = *state;
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :account-tag");
	srv(x, ":irc.test CAP * ACK :account-tag");
	srv(x, ":irc.test 001 faqbot :Welcome faqbot!faq@h");
	skip_all(x);
	srv(x, "@account=root-account :mallory!m@h PRIVMSG faqbot :!status");
	const char *admin = next(x);
	assert_non_null(admin);
	srv(x, "@account=someone-else :root!m@h PRIVMSG faqbot :!status");
	const char *refused = next(x);
	assert_non_null(refused);
	/* same command, different answer: rights come from the account tag,
	 * never from the nick */
	assert_string_not_equal(admin + 17, refused + 14);
	struct sink *k = &x->sink;
	assert_int_equal(k->nup, 2);
	assert_string_equal(k->up[0].account, "root-account");
	assert_string_equal(k->up[0].sender, "mallory");
	assert_string_equal(k->up[1].account, "someone-else");
	assert_string_equal(k->up[1].user_id, "a:someone-else");
	/* without the account-tag capability a tag is not trusted */
	ircnet_free(x->f.n);
	register_plain(x);
	srv(x, "@account=root-account :mallory!m@h PRIVMSG faqbot :!status");
	assert_false(k->up[k->nup - 1].has_account);
	assert_string_equal(k->up[k->nup - 1].user_id, "h:m@h");
}

/* ---- fairness and per-user limits (issue 10) ---- */

/* Lines sent from the cursor on that start with prefix. */
static int count_prefix(struct fx *x, const char *prefix)
{
	int n = 0;
	for (int i = x->f.cursor; i < x->f.nsent; i++)
		if (strncmp(x->f.sent[i], prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

/* Under the default throttle, one user asking for the 10-line stages
 * answer six times and flooding CTCP and !status does not hold another
 * user's answer: it goes out within two lines (the old single queue put
 * it behind about 60 lines, a minute at 1 line/s). */
static void test_fair_between_users(void **state)
{
	struct fx *x = *state;
	x->cfg.throttle_rate = 1;
	x->cfg.throttle_burst = 4;
	x->cfg.lag_timeout = 100000;
	register_plain(x);
	x->f.now += 60000;
	skip_all(x);
	for (int i = 0; i < 6; i++)
		srv(x, ":mallory!m@evil PRIVMSG faqbot :!faq quelles sont les étapes de diffusion ?");
	for (int i = 0; i < 50; i++) {
		srv(x, ":mallory!m@evil PRIVMSG faqbot :\001PING 12345\001");
		srv(x, ":mallory!m@evil PRIVMSG faqbot :!status");
	}
	int first = x->f.nsent - x->f.cursor;
	assert_int_equal(first, 4); /* the burst, all mallory's */
	skip_all(x);
	srv(x, ":alice!a@good PRIVMSG faqbot :que veut dire l'état ARCH ?");
	int before = -1;
	for (int i = 0; i < 4 && before < 0; i++) {
		advance(x, 1000);
		for (int k = x->f.cursor; k < x->f.nsent; k++)
			if (strncmp(x->f.sent[k], "PRIVMSG alice :", 15) == 0) {
				before = k - x->f.cursor;
				break;
			}
	}
	if (before < 0 || before > 1)
		fail_msg("alice's answer came after %d of mallory's lines (at most 1 expected)", before);
	/* mallory's share: the burst, then IRCNET_USER_LINES waiting at
	 * most (two stages answers), whatever was asked */
	skip_all(x);
	for (int i = 0; i < 200; i++) {
		advance(x, 1000);
		answer_pings(x);
	}
	x->f.cursor = 0;
	int ctcp = count_prefix(x, "NOTICE mallory :\001PING");
	int all = count_prefix(x, "NOTICE mallory :") + count_prefix(x, "PRIVMSG mallory :");
	assert_true(ctcp <= SINK_MINOR_BURST);
	assert_true(all <= 4 + IRCNET_USER_LINES);
}

/* The CTCP limit: SINK_MINOR_BURST replies, one notice, then silence;
 * SINK_MINOR_PER_MIN more a minute later. */
static void test_ctcp_limited(void **state)
{
	struct fx *x = *state;
	x->cfg.policy.user_rate = 6;
	x->cfg.policy.user_burst = 5;
	register_plain(x);
	for (int i = 0; i < 20; i++)
		srv(x, ":pinger!p@h PRIVMSG faqbot :\001PING 1\001");
	for (int i = 0; i < SINK_MINOR_BURST; i++)
		expect(x, "NOTICE pinger :\001PING 1\001");
	expect_prefix(x, "NOTICE pinger :Doucement");
	expect_nothing(x);
	/* another user is not limited by pinger */
	srv(x, ":other!o@elsewhere PRIVMSG faqbot :\001VERSION\001");
	expect_prefix(x, "NOTICE other :\001VERSION");
	x->f.now += 60000;
	for (int i = 0; i < 20; i++)
		srv(x, ":pinger!p@h PRIVMSG faqbot :\001PING 2\001");
	for (int i = 0; i < SINK_MINOR_PER_MIN; i++)
		expect(x, "NOTICE pinger :\001PING 2\001");
	expect_prefix(x, "NOTICE pinger :Doucement");
	expect_nothing(x);
}

/* Refusals of admin commands: the same small limit (bot.c, so Matrix
 * has it too). */
static void test_refusals_limited(void **state)
{
	struct fx *x = *state;
	register_plain(x);
	for (int i = 0; i < 30; i++)
		srv(x, ":nosy!n@h PRIVMSG faqbot :!status");
	for (int i = 0; i < SINK_MINOR_BURST; i++)
		expect_prefix(x, "PRIVMSG nosy :Désolé");
	expect_prefix(x, "NOTICE nosy :Doucement");
	expect_nothing(x);
}

/* The question limit is keyed by user@host (else the account), not by
 * the nick: a nick change keeps the bucket. */
static void test_rate_key_not_nick(void **state)
{
	struct fx *x = *state;
	x->cfg.policy.user_rate = 6;
	x->cfg.policy.user_burst = 2;
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :account-tag");
	srv(x, ":irc.test CAP * ACK :account-tag");
	srv(x, ":irc.test 001 faqbot :Welcome faqbot!faq@h");
	skip_all(x);
	const char *q = "PRIVMSG faqbot :que veut dire l'état ARCH ?";
	char line[256];
	const char *nicks[] = { "bob", "bob_", "bob__" };
	for (int i = 0; i < 3; i++) {
		snprintf(line, sizeof line, ":%s!b@home %s", nicks[i], q);
		srv(x, line);
	}
	expect_prefix(x, "PRIVMSG bob :");
	expect_prefix(x, "PRIVMSG bob_ :");
	expect_prefix(x, "NOTICE bob__ :Doucement");
	expect_nothing(x);
	/* the same nick from another host is someone else */
	snprintf(line, sizeof line, ":bob!x@elsewhere %s", q);
	srv(x, line);
	expect_prefix(x, "PRIVMSG bob :");
	/* with an account, the account counts, whatever the host */
	for (int i = 0; i < 3; i++) {
		snprintf(line, sizeof line, "@account=carol :c%d!c@host%d %s", i, i, q);
		srv(x, line);
	}
	expect_prefix(x, "PRIVMSG c0 :");
	expect_prefix(x, "PRIVMSG c1 :");
	expect_prefix(x, "NOTICE c2 :Doucement");
	expect_nothing(x);
	/* what ircnet gave as the key of the limits */
	struct up *u = x->sink.up;
	assert_int_equal(x->sink.nup, 7);
	for (int i = 0; i < 3; i++)
		assert_string_equal(u[i].user_id, "h:b@home");
	assert_string_equal(u[3].user_id, "h:x@elsewhere");
	for (int i = 4; i < 7; i++)
		assert_string_equal(u[i].user_id, "a:carol");
}

/* An admin's !reload swaps the config from inside the sink's callback,
 * and run.c frees the configs it loaded at once (the network keeps its
 * own copy): nothing may read them afterwards (issue 10: the network name
 * was read after the free; ASan runs this test). */
struct reload_fx {
	struct fx *x;
	struct irc_config cfg2;
	char *oldname;
	int calls;
};

static void reload_hook(void *arg)
{
	struct reload_fx *r = arg;
	r->cfg2 = r->x->cfg;
	r->cfg2.name = strdup("testnet");
	r->cfg2.quit_message = strdup("à bientôt");
	assert_int_equal(ircnet_set_config(r->x->f.n, &r->cfg2), 0);
	/* what run.c's apply_config does with the configs, old and new */
	memset(r->oldname, 'Z', strlen(r->oldname));
	free(r->oldname);
	r->oldname = NULL;
	free(r->cfg2.name);
	free(r->cfg2.quit_message);
	r->cfg2.name = r->cfg2.quit_message = NULL;
	r->calls++;
}

static void test_admin_reload_frees_old_config(void **state)
{
	struct fx *x = *state;
	struct reload_fx r = { .x = x };
	r.oldname = strdup("testnet");
	x->cfg.name = r.oldname;
	x->sink.reload = reload_hook;
	x->sink.reload_arg = &r;
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :account-tag");
	srv(x, ":irc.test CAP * ACK :account-tag");
	srv(x, ":irc.test 001 faqbot :Welcome faqbot!faq@h");
	skip_all(x);
	srv(x, "@account=root-account :boss!b@h PRIVMSG faqbot :!reload");
	assert_int_equal(r.calls, 1);
	expect_prefix(x, "PRIVMSG boss :Rechargement effectué");
	assert_string_equal(ircnet_nick(x->f.n), "faqbot");
	srv(x, ":alice!a@h PRIVMSG faqbot :que veut dire l'état ARCH ?");
	expect_prefix(x, "PRIVMSG alice :");
	assert_string_equal(x->sink.up[x->sink.nup - 1].network, "testnet");
	/* the new settings were copied: the quit message freed above */
	ircnet_quit(x->f.n, NULL);
	expect(x, "QUIT :à bientôt");
	ircnet_free(x->f.n);
	x->f.n = NULL;
}

/* ircnet_new copies its config: every string and list of the section
 * is scribbled over and freed once the client exists (what run.c does
 * with a config after a reload), and the client still registers with
 * the SASL credentials, falls back to the alternate nick, joins with the
 * key, honours auto_answer and admins, and quits with its message (ASan
 * catches any read of the freed config). */
static char *dup_scribble(char **keep, int *n, const char *s)
{
	char *d = strdup(s);
	keep[(*n)++] = d;
	return d;
}

static void test_config_copied(void **state)
{
	struct fx *x = *state;
	char *heap[32];
	int nheap = 0;
	char *alts[1], *autos[1], *adms[1];
	struct irc_channel ch[1];
	struct irc_config *c = &x->cfg;
	c->name = dup_scribble(heap, &nheap, "testnet");
	c->server = dup_scribble(heap, &nheap, "irc.test");
	c->nick = dup_scribble(heap, &nheap, "faqbot");
	alts[0] = dup_scribble(heap, &nheap, "faqbot_");
	c->alt_nicks = (struct strlist){ alts, 1 };
	c->username = dup_scribble(heap, &nheap, "faq");
	c->realname = dup_scribble(heap, &nheap, "FAQ bot");
	ch[0].name = dup_scribble(heap, &nheap, "#priv");
	ch[0].key = dup_scribble(heap, &nheap, "s3cret");
	c->channels = ch;
	c->nchannels = 1;
	c->sasl_mechanism = SASL_PLAIN;
	c->sasl_username = dup_scribble(heap, &nheap, "faqbot");
	c->sasl_password = dup_scribble(heap, &nheap, "secret");
	c->tls = 1;
	autos[0] = dup_scribble(heap, &nheap, "#priv");
	adms[0] = dup_scribble(heap, &nheap, "root-account");
	c->policy.auto_answer = (struct strlist){ autos, 1 };
	c->policy.admins = (struct strlist){ adms, 1 };
	c->quit_message = dup_scribble(heap, &nheap, "au revoir");
	start(x);
	for (int i = 0; i < nheap; i++) {
		memset(heap[i], 'Z', strlen(heap[i]));
		free(heap[i]);
	}
	memset(c, 0, sizeof *c);
	memset(ch, 0, sizeof ch);
	alts[0] = autos[0] = adms[0] = NULL;
	expect(x, "CAP LS 302");
	expect(x, "NICK faqbot");
	expect(x, "USER faq 0 * :FAQ bot");
	srv(x, ":irc.test 433 * faqbot :Nickname is already in use");
	expect(x, "NICK faqbot_");
	srv(x, ":irc.test CAP * LS :sasl=PLAIN account-tag");
	expect(x, "CAP REQ :sasl account-tag");
	srv(x, ":irc.test CAP * ACK :sasl account-tag");
	expect(x, "AUTHENTICATE PLAIN");
	srv(x, "AUTHENTICATE +");
	expect(x, "AUTHENTICATE ZmFxYm90AGZhcWJvdABzZWNyZXQ=");
	srv(x, ":irc.test 903 faqbot_ :SASL authentication successful");
	expect(x, "CAP END");
	srv(x, ":irc.test 001 faqbot_ :Welcome faqbot_!faq@h");
	expect(x, "JOIN #priv s3cret");
	srv(x, ":dave!d@h PRIVMSG #priv :quand sera visible ma session ?");
	assert_true(x->sink.up[x->sink.nup - 1].auto_answer);
	assert_string_equal(x->sink.up[x->sink.nup - 1].network, "testnet");
	expect_prefix(x, "PRIVMSG #priv :dave: ");
	srv(x, "@account=root-account :boss!b@h PRIVMSG faqbot_ :!status");
	expect_prefix(x, "PRIVMSG boss :Statut");
	ircnet_quit(x->f.n, NULL);
	expect(x, "QUIT :au revoir");
}

/* ---- flow control (IRCNET_WINDOW) ---- */

/* Bytes (with CR LF) of the counted lines sent after index from: what
 * the server has not confirmed when the PONG to the PING at from-1 came. */
static size_t counted_since(struct fx *x, int from)
{
	size_t b = 0;
	for (int i = from; i < x->f.nsent; i++)
		if (strncmp(x->f.sent[i], "PING ", 5) != 0)
			b += strlen(x->f.sent[i]) + 2;
	return b;
}

/* Feeds n private questions, one per user, in one read. */
static void flood(struct fx *x, int n, const char *who)
{
	static char buf[256 * 1024];
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		int k = snprintf(buf + len, sizeof buf - len,
		                 ":%s%d!u@h PRIVMSG faqbot :quand sera visible ma session ?\r\n", who, i);
		assert_true(k > 0 && (size_t)k < sizeof buf - len);
		len += (size_t)k;
	}
	assert_int_equal(ircnet_feed(x->f.n, buf, len), len);
}

/* Which user the k-th answer (first line "PRIVMSG userN :...") went to,
 * counting only first lines: answers[] gets the user numbers in order. */
static int answers_in_order(struct fx *x, int from, const char *who, int *next_user)
{
	char want[64];
	int got = 0;
	for (int i = from; i < x->f.nsent; i++) {
		snprintf(want, sizeof want, "PRIVMSG %s%d :", who, *next_user);
		if (strncmp(x->f.sent[i], want, strlen(want)) == 0) {
			(*next_user)++;
			got++;
		}
	}
	return got;
}

static void test_flow_window(void **state)
{
	struct fx *x = *state;
	register_plain(x);
	int from = x->f.nsent;
	flood(x, 200, "u");
	/* the window stops the answers, and a PING asks the server to
	 * confirm what it has */
	assert_true(counted_since(x, from) <= IRCNET_WINDOW);
	assert_true(counted_since(x, from) > IRCNET_WINDOW - IRC_LINE_MAX);
	int pings = 0, users = 0;
	for (int i = from; i < x->f.nsent; i++)
		pings += strncmp(x->f.sent[i], "PING :fb", 8) == 0;
	assert_true(pings >= 1);
	answers_in_order(x, from, "u", &users);
	assert_true(users > 10 && users < 200);
	/* nothing more until a PONG, only the PONG deadline is armed */
	int before = x->f.nsent;
	advance(x, 100);
	assert_int_equal(x->f.nsent, before);
	assert_true(x->f.armed > x->f.now && x->f.armed <= x->f.now + IRCNET_WINDOW_TIMEOUT_MS);
	/* a PONG that is not ours changes nothing */
	srv(x, ":irc.test PONG irc.test :fb999");
	srv(x, ":irc.test PONG irc.test :faqbot-lag");
	assert_int_equal(x->f.nsent, before);
	/* each PONG confirms what was sent before its PING and lets the next
	 * window out; the server never holds more than the window unread */
	x->f.cursor = from;
	int rounds = 0, confirmed = from;
	while (users < 200 && rounds++ < 100) {
		const char *l;
		int last_ping = -1;
		while ((l = next(x)))
			if (strncmp(l, "PING :fb", 8) == 0)
				last_ping = x->f.cursor - 1;
		assert_true(last_ping >= 0);
		assert_true(counted_since(x, confirmed) <= IRCNET_WINDOW);
		char pong[64];
		snprintf(pong, sizeof pong, ":irc.test PONG irc.test :%s", x->f.sent[last_ping] + 6);
		int mark = x->f.nsent;
		confirmed = last_ping + 1;
		srv(x, pong);
		assert_true(x->f.nsent > mark);
		answers_in_order(x, mark, "u", &users);
	}
	/* every question answered, in order, none dropped */
	assert_int_equal(users, 200);
}

static void test_flow_missing_pong(void **state)
{
	struct fx *x = *state;
	x->cfg.lag_timeout = 100000; /* this test is a long silence */
	register_plain(x);
	int from = x->f.nsent, users = 0;
	flood(x, 200, "v");
	answers_in_order(x, from, "v", &users);
	assert_true(users < 200);
	/* the server never answers the PINGs: the window reopens after
	 * IRCNET_WINDOW_TIMEOUT_MS, so the bot is slowed, never wedged */
	int before = x->f.nsent;
	advance(x, IRCNET_WINDOW_TIMEOUT_MS - 1);
	assert_int_equal(x->f.nsent, before);
	int ticks = 0;
	while (users < 200 && ticks++ < 100) {
		int mark = x->f.nsent;
		advance(x, x->f.armed - x->f.now);
		assert_true(x->f.nsent > mark);
		answers_in_order(x, mark, "v", &users);
	}
	assert_int_equal(users, 200);
	assert_true(ticks < 100);
	/* a late PONG for a PING from before the reset changes nothing */
	srv(x, ":irc.test PONG irc.test :fb1");
	/* and the lag check is still the one that reconnects on silence */
	assert_int_equal(x->f.closes, 0);
}

static void test_flow_later_pong_confirms_earlier(void **state)
{
	struct fx *x = *state;
	register_plain(x);
	int from = x->f.nsent;
	flood(x, 200, "w");
	/* two PINGs out (one at half the window, one when it closed) */
	int last = -1, pings = 0;
	for (int i = from; i < x->f.nsent; i++)
		if (strncmp(x->f.sent[i], "PING :fb", 8) == 0) {
			last = i;
			pings++;
		}
	assert_int_equal(pings, 2);
	/* the first PONG went missing: the second confirms both */
	char pong[64];
	snprintf(pong, sizeof pong, ":irc.test PONG irc.test :%s", x->f.sent[last] + 6);
	int mark = x->f.nsent;
	srv(x, pong);
	/* a whole window again */
	assert_true(counted_since(x, mark) > IRCNET_WINDOW - IRC_LINE_MAX);
	assert_true(counted_since(x, mark) <= IRCNET_WINDOW);
}

static void test_flow_held_question_keeps_account(void **state)
{
	struct fx *x = *state;
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :account-tag");
	srv(x, ":irc.test CAP * ACK :account-tag");
	srv(x, ":irc.test 001 faqbot :Welcome faqbot!faq@h");
	flood(x, 200, "y");
	/* held while the window is closed: the account tag is kept, the
	 * nick is not what gives rights */
	srv(x, "@time=2026-01-01T00:00:00.000Z;account=root-account :root!m@h PRIVMSG faqbot :!status");
	srv(x, "@account=someone-else :mallory!m@h PRIVMSG faqbot :!status");
	const char *root = NULL, *mallory = NULL;
	for (int rounds = 0; rounds < 100 && !(root && mallory); rounds++) {
		const char *l;
		while ((l = next(x))) {
			if (strncmp(l, "PING :fb", 8) == 0) {
				char pong[64];
				snprintf(pong, sizeof pong, ":irc.test PONG irc.test :%s", l + 6);
				srv(x, pong);
			} else if (strncmp(l, "PRIVMSG root :", 14) == 0 && !root) {
				root = l + 14;
			} else if (strncmp(l, "NOTICE mallory :", 16) == 0 || strncmp(l, "PRIVMSG mallory :", 17) == 0) {
				mallory = strchr(l, ':') + 1;
			}
		}
	}
	assert_non_null(root);
	assert_non_null(mallory);
	assert_non_null(strstr(mallory, "réservée aux administrateurs"));
	assert_null(strstr(root, "réservée aux administrateurs"));
}

/* A question held while the window is closed goes up later with the
 * fields it was parsed into, never re-printed as a line and parsed again:
 * an account tag holding escapes ("\\s" is a space, "\\:" a ';') and a
 * text that looks like IRC syntax arrive as they came. */
static void test_flow_held_fields_as_parsed(void **state)
{
	struct fx *x = *state;
	start(x);
	skip_all(x);
	srv(x, ":irc.test CAP * LS :account-tag");
	srv(x, ":irc.test CAP * ACK :account-tag");
	srv(x, ":irc.test 001 faqbot :Welcome faqbot!faq@h");
	flood(x, 200, "z");
	int nup = x->sink.nup;
	assert_true(nup < 200); /* the rest waits: the window is closed */
	srv(x, "@account=ad\\smin\\:x;time=2026-01-01T00:00:00.000Z :rob!r@h PRIVMSG faqbot "
	    ":: quand sera visible @tag=1 :ma session ?");
	int found = -1;
	for (int rounds = 0; rounds < 100 && found < 0; rounds++) {
		answer_pings(x);
		for (int i = nup; i < x->sink.nup; i++)
			if (!strcmp(x->sink.up[i].sender, "rob"))
				found = i;
	}
	assert_true(found >= 0);
	struct up *u = &x->sink.up[found];
	assert_true(u->has_account);
	assert_string_equal(u->account, "ad min;x");
	assert_string_equal(u->user_id, "a:ad min;x");
	assert_string_equal(u->text, ": quand sera visible @tag=1 :ma session ?");
	assert_true(u->is_private);
	/* every question of the flood went up once, in order */
	int next_user = 0;
	for (int i = 0; i < x->sink.nup; i++) {
		char want[16];
		snprintf(want, sizeof want, "z%d", next_user);
		if (!strcmp(x->sink.up[i].sender, want))
			next_user++;
	}
	assert_int_equal(next_user, 200);
}

/* Issue 3: a 10-line answer throttled (burst 4, then 1 line/s) with a
 * config reload in the middle: every line still leaves at the throttle
 * rate, each from a tick at the armed time (no read needed). */
static void test_throttle_reload_midway(void **state)
{
	struct fx *x = *state;
	x->cfg.throttle_rate = 1;
	x->cfg.throttle_burst = 4;
	x->cfg.lag_timeout = 100000;
	register_plain(x);
	x->f.now += 60000;
	skip_all(x);
	srv(x, ":alice!a@h PRIVMSG #support :faqbot: les etapes de diffusion svp");
	int got = x->f.nsent - x->f.cursor;
	assert_int_equal(got, 4);
	skip_all(x);
	advance(x, x->f.armed - x->f.now);
	assert_int_equal(x->f.nsent - x->f.cursor, 1);
	skip_all(x);
	got += 1;
	/* reload: a fresh copy of the config, same throttle */
	struct irc_config c2 = x->cfg;
	ircnet_set_config(x->f.n, &c2);
	assert_true(x->f.armed > x->f.now && x->f.armed <= x->f.now + 1001);
	for (int i = 0; i < 20 && got < 10; i++) {
		int64_t at = x->f.armed;
		assert_true(at > 0);
		assert_true(at - x->f.now <= 1001);
		x->f.now = at;
		ircnet_tick(x->f.n);
		got += answer_pings(x);
	}
	assert_int_equal(got, 10);
	assert_memory_equal(x->f.sent[x->f.nsent - 1], "PRIVMSG #support :", 18);
	/* a reload that lifts the throttle sends what waits at once */
	x->cfg.throttle_rate = 1;
	x->f.now += 60000;
	srv(x, ":alice!a@h PRIVMSG #support :faqbot: les etapes de diffusion svp");
	skip_all(x);
	struct irc_config c3 = c2;
	c3.throttle_rate = 0;
	ircnet_set_config(x->f.n, &c3);
	/* from the loop, not from inside set_config (a reload runs inside a
	 * handler): the tick is armed for now */
	assert_int_equal(x->f.armed, x->f.now);
	ircnet_tick(x->f.n);
	assert_int_equal(answer_pings(x), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cap_without_sasl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_without_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_chunk_exact_400, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_chunk_800, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_chunk_401, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_904, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_external_and_not_offered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nick_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_pong_and_lag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_answer_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unthrottled_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_reload_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_rejoin_and_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_needs_account_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fair_between_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctcp_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_key_not_nick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_reload_frees_old_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_missing_pong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_later_pong_confirms_earlier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_held_question_keeps_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_held_fields_as_parsed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
