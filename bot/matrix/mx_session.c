/* mx_session.c - the Matrix session: a password login on a device id
 * chosen and stored before the first login, or a configured token checked
 * with whoami; a token the homeserver refuses (M_UNKNOWN_TOKEN) is
 * forgotten and the login made again.  Not here: what runs once the
 * session is ready (mx_sync.c, mx_send.c, mx_crypto.c). */
#include "mx_int.h"

/* After the homeserver refused the token (M_UNKNOWN_TOKEN): forget it and
 * log in again on the same device, or wait for a new configured token. */
void mx_session_lost(struct mxnet *n)
{
	size_t i;
	log_warn("matrix.%s: the access token was refused (M_UNKNOWN_TOKEN)%s", n->name,
		 n->cfg->password ? "; logging in again on the same device" :
		 "; set a new access_token in the config");
	mxnet_http_cancel(n, n->main.req);
	n->main.req = 0;
	for (i = 0; i < n->nq; i++)
		if (n->q[i].req > 0) {
			mxnet_http_cancel(n, n->q[i].req);
			n->q[i].req = 0;
		}
	n->send_inflight = 0;
	mx_crypto_cancel(n);
	n->acct.access_token[0] = 0;
	if (store_account_set(n->st, n->name, &n->acct) < 0)
		log_error("matrix.%s: cannot save the account", n->name);
	mx_sync_batch_free(n);
	mx_job_after(&n->main, n->cfg->password ? 0 : mxnet_backoff_ms(n, n->main.fails++),
		     mx_session_start);
}

static void set_localpart(struct mxnet *n)
{
	const char *u = n->acct.user_id, *colon = strchr(u, ':');
	size_t len = colon ? (size_t)(colon - u) : strlen(u);
	if (*u == '@') {
		u++;
		len = len ? len - 1 : 0;
	}
	snprintf(n->localpart, sizeof n->localpart, "%.*s", (int)len, u);
}

static void session_ready(struct mxnet *n)
{
	set_localpart(n);
	n->main.fails = 0;
	log_info("matrix.%s: session ready: %s, device %s", n->name, n->acct.user_id, n->acct.device_id);
	if (n->cfg->e2ee && mx_crypto_open(n) < 0) {
		log_error("matrix.%s: end-to-end encryption cannot start; this network stops", n->name);
		mxnet_stop(n);
		return;
	}
	mx_sync_start(n);
	mx_send_kick(n);
	mx_sync_kick_joins(n);
}

/* The account n->acct (filled from /login or /whoami) on this
 * homeserver: saved, then the session starts; what names the step for
 * the log when the state file refuses it (retried from the login). */
static void account_save(struct mxnet *n, const char *what)
{
	snprintf(n->acct.homeserver, sizeof n->acct.homeserver, "%s", n->base);
	if (store_account_set(n->st, n->name, &n->acct) < 0) {
		mx_job_backoff(&n->main, mx_session_start, what, "state file error");
		return;
	}
	session_ready(n);
}

/* An access token goes into an HTTP header as it is: printable ASCII
 * without spaces only (a CR LF in it would add headers of the server's
 * choosing to every request). */
static int token_ok(const char *t, size_t max)
{
	size_t i;
	for (i = 0; t[i]; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
			return 0;
	return i > 0 && i < max;
}

static void on_login(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct mx_answer a;
	const char *uid, *tok, *dev;
	mx_answer_take(n, r, &a);
	uid = mxjson_str(a.j, "user_id");
	tok = mxjson_str(a.j, "access_token");
	dev = mxjson_str(a.j, "device_id");
	n->main.req = 0;
	if (a.v == MX_OK && uid && tok && dev && token_ok(tok, sizeof n->acct.access_token) &&
	    strlen(uid) < sizeof n->acct.user_id && dev[0] && strlen(dev) < sizeof n->acct.device_id) {
		snprintf(n->acct.user_id, sizeof n->acct.user_id, "%s", uid);
		snprintf(n->acct.device_id, sizeof n->acct.device_id, "%s", dev);
		snprintf(n->acct.access_token, sizeof n->acct.access_token, "%s", tok);
		mx_answer_free(&a);
		account_save(n, "saving the login");
		return;
	}
	/* every failure is retried: a refused password may be fixed on the
	 * server side (and is logged as such) */
	if (r->status == 403)
		log_error("matrix.%s: login refused for %s: check user and password", n->name,
			  n->cfg->user);
	mx_job_retry(&n->main, &a, mx_session_start, "login");
	mx_answer_free(&a);
}

static void login(struct mxnet *n)
{
	cJSON *b = cJSON_CreateObject(), *id;
	char *body;
	if (!b)
		goto oom;
	cJSON_AddStringToObject(b, "type", "m.login.password");
	id = cJSON_AddObjectToObject(b, "identifier");
	cJSON_AddStringToObject(id, "type", "m.id.user");
	cJSON_AddStringToObject(id, "user", n->cfg->user);
	cJSON_AddStringToObject(b, "password", n->cfg->password);
	/* Our own device id, stored before this first login: a crash before
	 * the answer is saved still logs in on the same device next time. */
	cJSON_AddStringToObject(b, "device_id", n->acct.device_id);
	cJSON_AddStringToObject(b, "initial_device_display_name",
				n->cfg->device_name ? n->cfg->device_name : "faqbot");
	body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	if (!body)
		goto oom;
	log_info("matrix.%s: logging in to %s as %s (device %s)", n->name, n->base, n->cfg->user,
		 n->acct.device_id);
	mx_job_request(&n->main, "POST", "/login", NULL, body, MX_SMALL_MAX_BODY, 30000, 0,
		       mx_session_start, on_login);
	/* The body held the password: wipe it before freeing. */
	memset(body, 0, strlen(body));
	free(body);
	return;
oom:
	mx_job_backoff(&n->main, mx_session_start, "login", "cannot start the request");
}

static void on_whoami(void *arg, const struct http_resp *r)
{
	struct mxnet *n = arg;
	struct mx_answer a;
	const char *uid, *dev;
	mx_answer_take(n, r, &a);
	uid = mxjson_str(a.j, "user_id");
	dev = mxjson_str(a.j, "device_id");
	n->main.req = 0;
	if (a.v == MX_OK && uid && strlen(uid) < sizeof n->acct.user_id &&
	    (!dev || strlen(dev) < sizeof n->acct.device_id)) {
		snprintf(n->acct.user_id, sizeof n->acct.user_id, "%s", uid);
		snprintf(n->acct.device_id, sizeof n->acct.device_id, "%s", dev ? dev : "");
		mx_answer_free(&a);
		if (!dev)
			log_warn("matrix.%s: whoami gave no device_id (homeserver too old?)", n->name);
		account_save(n, "saving the account");
		return;
	}
	if (r->status == 401)
		log_error("matrix.%s: the configured access_token is refused by %s", n->name, n->base);
	mx_job_retry(&n->main, &a, mx_session_start, "whoami");
	mx_answer_free(&a);
}

static void new_device_id(struct mxnet *n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned char raw[10];
	FILE *f = fopen("/dev/urandom", "rb");
	size_t i, got = f ? fread(raw, 1, sizeof raw, f) : 0;
	if (f)
		fclose(f);
	for (i = got; i < sizeof raw; i++)
		raw[i] = (unsigned char)mxnet_rnd(n);
	memcpy(n->acct.device_id, "FAQBOT", 6);
	for (i = 0; i < sizeof raw; i++)
		n->acct.device_id[6 + i] = abc[raw[i] % 26];
	n->acct.device_id[6 + sizeof raw] = 0;
}

/* "@bot:example.org" matches itself and the localpart "bot". */
int mx_session_user_matches(const char *cfg_user, const char *user_id)
{
	size_t k = strlen(cfg_user);
	if (!strcmp(cfg_user, user_id))
		return 1;
	return cfg_user[0] != '@' && user_id[0] == '@' && !strncmp(user_id + 1, cfg_user, k) &&
	       user_id[k + 1] == ':';
}

void mx_session_start(struct mxnet *n)
{
	struct store_account a;
	int found;
	if (n->stopped)
		return;
	found = store_account_get(n->st, n->name, &a);
	if (found < 0) {
		mx_job_backoff(&n->main, mx_session_start, "reading the account", "state file error");
		return;
	}
	/* A stored session belongs to this homeserver and this user only. */
	if (found && (strcmp(a.homeserver, n->base) || !mx_session_user_matches(n->cfg->user, a.user_id))) {
		log_info("matrix.%s: the stored session is for %s on %s; starting a new one", n->name,
			 a.user_id, a.homeserver);
		found = 0;
		memset(&a, 0, sizeof a);
	}
	n->acct = a;
	if (n->cfg->access_token) {
		if (found && a.access_token[0] && !strcmp(a.access_token, n->cfg->access_token) &&
		    a.user_id[0]) {
			session_ready(n);
			return;
		}
		snprintf(n->acct.access_token, sizeof n->acct.access_token, "%s", n->cfg->access_token);
		mx_job_request(&n->main, "GET", "/account/whoami", NULL, NULL, MX_SMALL_MAX_BODY, 30000,
			       1, mx_session_start, on_whoami);
		return;
	}
	if (found && a.access_token[0] && a.user_id[0]) {
		session_ready(n);
		return;
	}
	if (!n->acct.device_id[0]) {
		new_device_id(n);
		snprintf(n->acct.homeserver, sizeof n->acct.homeserver, "%s", n->base);
		snprintf(n->acct.user_id, sizeof n->acct.user_id, "%s", n->cfg->user);
		if (store_account_set(n->st, n->name, &n->acct) < 0) {
			mx_job_backoff(&n->main, mx_session_start, "saving the device id", "state file error");
			return;
		}
	}
	login(n);
}
