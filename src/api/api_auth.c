/* api_auth.c: authentication. Passwords (argon2id), login with rate limiting
 * per address and per user name, sessions in a cookie with a CSRF token, API
 * tokens, and the first administrator. Secrets (session cookies, tokens) are
 * 32 random bytes in base64url; only their generic hash is stored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <yyjson.h>

#include "api/api_int.h"

#define NS_PER_S INT64_C(1000000000)
#define RL_PROBE 8

/* ---- rate limiter ------------------------------------------------------------ */

static uint64_t rl_hash(const api_rl *rl, const char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)key, strlen(key), rl->hkey);
	memcpy(&v, h, sizeof v);
	return v ? v : 1;
}

/* The slot of key, or NULL. Caller holds the mutex. */
static api_rl_slot *rl_find(api_rl *rl, uint64_t h)
{
	for (unsigned i = 0; i < RL_PROBE; i++) {
		api_rl_slot *s = &rl->slot[(h + i) % API_RL_SLOTS];
		if (s->key == h)
			return s;
	}
	return NULL;
}

int64_t api_rl_blocked(api_rl *rl, const char *key, uint32_t max, int64_t now)
{
	uint64_t h = rl_hash(rl, key);
	int64_t wait = 0;

	pthread_mutex_lock(&rl->mu);
	api_rl_slot *s = rl_find(rl, h);
	if (s && s->fails >= max && now - s->start < API_RL_WINDOW_NS)
		wait = (s->start + API_RL_WINDOW_NS - now) / NS_PER_S + 1;
	pthread_mutex_unlock(&rl->mu);
	return wait;
}

void api_rl_fail(api_rl *rl, const char *key, int64_t now)
{
	uint64_t h = rl_hash(rl, key);

	pthread_mutex_lock(&rl->mu);
	api_rl_slot *s = rl_find(rl, h);
	if (!s) {
		/* a free or expired slot, else the oldest: memory stays bounded */
		for (unsigned i = 0; i < RL_PROBE; i++) {
			api_rl_slot *c = &rl->slot[(h + i) % API_RL_SLOTS];
			if (c->key == 0 || now - c->start >= API_RL_WINDOW_NS) {
				s = c;
				break;
			}
			if (!s || c->start < s->start)
				s = c;
		}
		*s = (api_rl_slot){.key = h, .start = now, .fails = 0};
	}
	if (now - s->start >= API_RL_WINDOW_NS) {
		s->start = now;
		s->fails = 0;
	}
	if (s->fails < UINT32_MAX)
		s->fails++;
	pthread_mutex_unlock(&rl->mu);
}

void api_rl_reset(api_rl *rl, const char *key)
{
	uint64_t h = rl_hash(rl, key);

	pthread_mutex_lock(&rl->mu);
	api_rl_slot *s = rl_find(rl, h);
	if (s)
		*s = (api_rl_slot){0};
	pthread_mutex_unlock(&rl->mu);
}

/* ---- passwords and secrets ------------------------------------------------------ */

int api_pw_hash(api *a, const char *pw, char out[128])
{
	int rc;

	if (a && a->pw_sem_ok)
		while (sem_wait(&a->pw_sem) != 0 && errno == EINTR)
			;
	rc = crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				   crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13);
	if (a && a->pw_sem_ok)
		sem_post(&a->pw_sem);
	return rc == 0 ? 0 : CORE_ENOMEM;
}

static bool pw_verify(api *a, const char *hash, const char *pw)
{
	int rc;

	while (sem_wait(&a->pw_sem) != 0 && errno == EINTR)
		;
	rc = crypto_pwhash_str_verify(hash, pw, strlen(pw));
	sem_post(&a->pw_sem);
	return rc == 0;
}

void api_secret_hash(const char *secret, size_t n, char hex[65])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof h, (const unsigned char *)secret, n, NULL, 0);
	sodium_bin2hex(hex, 65, h, sizeof h);
}

/* 32 random bytes as base64url without padding (API_SECRET_LEN chars). */
static void new_secret(char out[API_SECRET_LEN + 1])
{
	unsigned char b[32];

	randombytes_buf(b, sizeof b);
	sodium_bin2base64(out, API_SECRET_LEN + 1, b, sizeof b,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b, sizeof b);
}

int api_auth_init(api *a, core_err *err)
{
	char pw[API_SECRET_LEN + 1];

	pthread_mutex_init(&a->rl.mu, NULL);
	randombytes_buf(a->rl.hkey, sizeof a->rl.hkey);
	if (sem_init(&a->pw_sem, 0, a->opt.threads) != 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "api: semaphore: %s", strerror(errno));
	a->pw_sem_ok = true;
	/* verified when the user does not exist, so that both cost the same */
	new_secret(pw);
	if (api_pw_hash(NULL, pw, a->dummy_hash) != 0)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "api: password hashing failed");
	return 0;
}

void api_auth_fini(api *a)
{
	if (a->pw_sem_ok)
		sem_destroy(&a->pw_sem);
	a->pw_sem_ok = false;
	pthread_mutex_destroy(&a->rl.mu);
}

/* ---- authentication of a request --------------------------------------------- */

static bool load_caller(api_req *r, int64_t uid)
{
	store_user u;
	core_err err = {0};
	int rc = store_user_get_id(r->a->opt.store, uid, &u, &err);

	if (rc != 0) {
		if (rc != STORE_ENOTFOUND)
			api_log("authentication: %s", err.msg);
		return false;
	}
	sodium_memzero(u.pass_hash, sizeof u.pass_hash);
	if (u.disabled)
		return false;
	snprintf(r->name, sizeof r->name, "%s", u.name);
	r->who = (api_caller){.user = u.id, .tenant = u.tenant, .role = u.role, .name = r->name,
			      .peer = r->peer};
	return true;
}

bool api_authenticate(api_req *r)
{
	const char *h = api_header(r, "Authorization"), *v;
	int64_t uid = 0, now = core_time_now();
	char hash[65];
	size_t n;
	core_err err = {0};
	int rc;

	r->auth = API_AUTH_NONE;
	if (h) {
		if (api_bearer_get(h, strlen(h), &v, &n) != 0)
			return false;
		api_secret_hash(v, n, hash);
		rc = store_token_get(r->a->opt.store, hash, now, &uid, &err);
		if (rc != 0 || !load_caller(r, uid))
			return false;
		r->auth = API_AUTH_TOKEN;
		return true;
	}
	h = api_header(r, "Cookie");
	if (!h || api_cookie_get(h, strlen(h), API_COOKIE, &v, &n) != 0 || !api_secret_shape(v, n))
		return false;
	api_secret_hash(v, n, hash);
	rc = store_session_get(r->a->opt.store, hash, now, &uid, r->csrf, &err);
	if (rc != 0 || !load_caller(r, uid))
		return false;
	memcpy(r->sess_hash, hash, sizeof hash);
	r->auth = API_AUTH_SESSION;
	return true;
}

/* ---- endpoints ---------------------------------------------------------------- */

static int caller_json(api_req *r, const char *user, int64_t id, int role, uint32_t tenant,
		       const char *csrf, const char *auth)
{
	int rc = core_buf_add(&r->out, "{\"user\":", 8);

	rc = rc ? rc : api_json_str(&r->out, user, strlen(user));
	rc = rc ? rc : core_buf_printf(&r->out, ",\"user_id\":%lld,\"role\":\"%s\",\"tenant\":%u",
				       (long long)id, api_role_name(role), tenant);
	if (!rc && auth)
		rc = core_buf_printf(&r->out, ",\"auth\":\"%s\"", auth);
	if (!rc && csrf)
		rc = core_buf_printf(&r->out, ",\"csrf_token\":\"%s\"", csrf);
	return rc ? rc : core_buf_addc(&r->out, '}');
}

static void login_failed(api_req *r, const char *ipkey, const char *userkey, const store_user *u,
			 bool found)
{
	core_buf d;
	int64_t now = core_time_now();

	api_rl_fail(&r->a->rl, ipkey, now);
	api_rl_fail(&r->a->rl, userkey, now);
	core_buf_init(&d, 4096);
	if (core_buf_add(&d, "{\"name\":", 8) == 0 && api_json_str(&d, userkey + 5, strlen(userkey + 5)) == 0 &&
	    core_buf_add(&d, ",\"peer\":", 8) == 0 && api_json_str(&d, r->peer, strlen(r->peer)) == 0 &&
	    core_buf_addc(&d, '}') == 0) {
		core_err err = {0};
		if (store_audit(r->a->opt.store, found ? u->tenant : 1, found ? u->id : 0,
				"auth.login_failed", "auth", d.data, &err) != 0)
			api_log("audit: %s", err.msg);
	}
	core_buf_free(&d);
	api_fail(r, 401, "invalid user name or password");
}

static bool rate_limited(api_req *r, const char *ipkey, const char *userkey)
{
	int64_t now = core_time_now();
	int64_t w1 = api_rl_blocked(&r->a->rl, ipkey, API_RL_MAX_IP, now);
	int64_t w2 = api_rl_blocked(&r->a->rl, userkey, API_RL_MAX_USER, now);
	int64_t w = w1 > w2 ? w1 : w2;

	if (w == 0)
		return false;
	snprintf(r->extra_name, sizeof r->extra_name, "Retry-After");
	snprintf(r->extra_val, sizeof r->extra_val, "%lld", (long long)w);
	api_fail(r, 429, "too many failed logins; retry in %lld s", (long long)w);
	return true;
}

static int open_session(api_req *r, const store_user *u, char csrf[65], core_err *err)
{
	char secret[API_SECRET_LEN + 1], hash[65];
	unsigned char c[32];
	int64_t ttl = r->a->session_ttl;
	int rc;

	new_secret(secret);
	api_secret_hash(secret, API_SECRET_LEN, hash);
	randombytes_buf(c, sizeof c);
	sodium_bin2hex(csrf, 65, c, sizeof c);
	rc = store_session_create(r->a->opt.store, hash, u->id, core_time_now() + ttl, csrf, err);
	if (rc == 0)
		snprintf(r->cookie, sizeof r->cookie,
			 API_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", secret,
			 (long long)(ttl / NS_PER_S), r->a->tls ? "; Secure" : "");
	sodium_memzero(secret, sizeof secret);
	return rc;
}

void api_h_login(api_req *r)
{
	api_login_req q;
	store_user u;
	char ipkey[80], userkey[80], csrf[65];
	core_err err = {0};
	bool found, ok;
	int rc;

	rc = api_body_login(r->body.data, r->body.len, &q, &err);
	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		goto out;
	}
	snprintf(ipkey, sizeof ipkey, "ip:%s", r->peer);
	snprintf(userkey, sizeof userkey, "user:%s", q.username);
	if (rate_limited(r, ipkey, userkey))
		goto out;
	rc = store_user_get(r->a->opt.store, q.username, &u, &err);
	if (rc != 0 && rc != STORE_ENOTFOUND) {
		api_fail_code(r, rc, &err);
		goto out;
	}
	found = rc == 0;
	/* the same work whether the user exists or not */
	ok = pw_verify(r->a, found ? u.pass_hash : r->a->dummy_hash, q.password);
	if (!found || !ok || u.disabled) {
		login_failed(r, ipkey, userkey, &u, found);
		goto out;
	}
	api_rl_reset(&r->a->rl, userkey);
	rc = open_session(r, &u, csrf, &err);
	if (rc) {
		api_fail_code(r, rc, &err);
		goto out;
	}
	r->who = (api_caller){.user = u.id, .tenant = u.tenant, .role = u.role};
	api_audit(r, u.tenant, "auth.login", "auth", NULL);
	r->status = 200;
	r->ctype = "application/json";
	if (caller_json(r, u.name, u.id, (int)u.role, u.tenant, csrf, "session") != 0)
		api_fail(r, 500, "out of memory");
out:
	sodium_memzero(&q, sizeof q);
	sodium_memzero(&u, sizeof u);
}

void api_h_logout(api_req *r)
{
	core_err err = {0};

	if (r->auth == API_AUTH_SESSION) {
		int rc = store_session_delete(r->a->opt.store, r->sess_hash, &err);
		if (rc != 0 && rc != STORE_ENOTFOUND) {
			api_fail_code(r, rc, &err);
			return;
		}
		api_audit(r, r->who.tenant, "auth.logout", "auth", NULL);
	}
	snprintf(r->cookie, sizeof r->cookie,
		 API_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
		 r->a->tls ? "; Secure" : "");
	r->status = 200;
	if (core_buf_printf(&r->out, "{\"status\":\"ok\"}") != 0)
		api_fail(r, 500, "out of memory");
}

void api_h_me(api_req *r)
{
	r->status = 200;
	if (caller_json(r, r->name, r->who.user, (int)r->who.role, r->who.tenant,
			r->auth == API_AUTH_SESSION ? r->csrf : NULL,
			r->auth == API_AUTH_SESSION ? "session" : "token") != 0)
		api_fail(r, 500, "out of memory");
}

/* Copies the tokens of the caller only from a store listing. */
static int own_tokens(api_req *r, const core_buf *all, int64_t only_id, bool *found)
{
	yyjson_doc *doc = yyjson_read(all->data, all->len, 0);
	yyjson_val *arr = yyjson_obj_get(yyjson_doc_get_root(doc), "tokens"), *t;
	yyjson_arr_iter it;
	bool first = true;
	int rc = doc && yyjson_is_arr(arr) ? 0 : CORE_EIO;

	*found = false;
	if (!rc)
		rc = core_buf_add(&r->out, "{\"tokens\":[", 11);
	yyjson_arr_iter_init(arr, &it);
	while (!rc && (t = yyjson_arr_iter_next(&it))) {
		if (yyjson_get_sint(yyjson_obj_get(t, "user")) != r->who.user)
			continue;
		if (only_id && yyjson_get_sint(yyjson_obj_get(t, "id")) == only_id)
			*found = true;
		size_t len = 0;
		char *s = yyjson_val_write(t, 0, &len);
		rc = s ? 0 : CORE_ENOMEM;
		if (!rc && !first)
			rc = core_buf_addc(&r->out, ',');
		if (!rc)
			rc = core_buf_add(&r->out, s, len);
		free(s);
		first = false;
	}
	if (!rc)
		rc = core_buf_add(&r->out, "]}", 2);
	yyjson_doc_free(doc);
	return rc;
}

void api_h_tokens_list(api_req *r)
{
	core_buf all;
	core_err err = {0};
	bool found;
	int rc;

	if (r->who.role == STORE_ROLE_ADMIN) {
		rc = store_token_list(r->a->opt.store, r->tenant, &r->out, &err);
		if (rc)
			api_fail_code(r, rc, &err);
		else
			r->status = 200;
		return;
	}
	core_buf_init(&all, API_OUT_MAX);
	rc = store_token_list(r->a->opt.store, r->tenant, &all, &err);
	if (rc == 0)
		rc = own_tokens(r, &all, 0, &found);
	if (rc)
		api_fail_code(r, rc, &err);
	else
		r->status = 200;
	core_buf_free(&all);
}

void api_h_tokens_create(api_req *r)
{
	api_token_req q;
	char secret[sizeof API_TOKEN_PREFIX + API_SECRET_LEN], hash[65], obj[40], ts[40];
	core_err err = {0};
	int64_t id = 0, expires;
	int rc;

	rc = api_body_token_create(r->body.data, r->body.len, &q, &err);
	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		return;
	}
	memcpy(secret, API_TOKEN_PREFIX, sizeof API_TOKEN_PREFIX - 1);
	new_secret(secret + sizeof API_TOKEN_PREFIX - 1);
	api_secret_hash(secret, strlen(secret), hash);
	expires = core_time_now() + q.expires_days * 86400 * NS_PER_S;
	rc = store_token_create(r->a->opt.store, r->who.user, q.name, hash, expires, &id, &err);
	if (rc) {
		api_fail_code(r, rc, &err);
		goto out;
	}
	snprintf(obj, sizeof obj, "token:%lld", (long long)id);
	api_audit(r, r->who.tenant, "token.create", obj, NULL);
	core_time_format(expires, ts);
	r->status = 201;
	if (core_buf_printf(&r->out, "{\"id\":%lld,\"name\":\"%s\",\"token\":\"%s\",\"expires\":\"%s\"}",
			    (long long)id, q.name, secret, ts) != 0)
		api_fail(r, 500, "out of memory");
out:
	sodium_memzero(secret, sizeof secret);
}

void api_h_tokens_revoke(api_req *r)
{
	core_err err = {0};
	char obj[40];
	int64_t id;
	int rc;

	if (api_parse_id(r->param, &id) != 0) {
		api_fail(r, 404, "token %.40s does not exist", r->param);
		return;
	}
	if (!api_write_tenant(r))
		return;
	if (r->who.role != STORE_ROLE_ADMIN) {
		core_buf all;
		bool found = false;
		core_buf_init(&all, API_OUT_MAX);
		rc = store_token_list(r->a->opt.store, r->tenant, &all, &err);
		if (rc == 0)
			rc = own_tokens(r, &all, id, &found);
		core_buf_free(&all);
		r->out.len = 0;
		if (rc || !found) {
			if (rc)
				api_fail_code(r, rc, &err);
			else
				api_fail(r, 404, "token %lld does not exist", (long long)id);
			return;
		}
	}
	rc = store_token_revoke(r->a->opt.store, r->tenant, id, &err);
	if (rc) {
		api_fail_code(r, rc, &err);
		return;
	}
	snprintf(obj, sizeof obj, "token:%lld", (long long)id);
	api_audit(r, r->tenant, "token.revoke", obj, NULL);
	r->status = 200;
	if (core_buf_printf(&r->out, "{\"id\":%lld,\"revoked\":true}", (long long)id) != 0)
		api_fail(r, 500, "out of memory");
}

void api_audit(api_req *r, uint32_t tenant, const char *action, const char *object,
	       const char *detail_json)
{
	core_err err = {0};

	if (store_audit(r->a->opt.store, tenant, r->who.user, action, object, detail_json, &err) != 0)
		api_log("audit %s %s: %s", action, object, err.msg);
}

/* ---- the first administrator ------------------------------------------------------- */

static const char pw_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

int api_user_add(store *s, const char *name, int role, uint32_t tenant, const char *password,
		 const char *via, int64_t *id, core_err *err)
{
	char hash[128], obj[40], detail[96];
	core_err aerr = {0};
	int rc;

	if (sodium_init() < 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "libsodium did not initialize");
	if (!s || !name || !api_name_ok(name))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "user name: 1..63 letters, digits, '.', '_', '-' or '@'");
	if (role < STORE_ROLE_VIEWER || role > STORE_ROLE_ADMIN)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "role: admin, analyst or viewer");
	if (!password || strlen(password) < API_PASS_MIN || strlen(password) > API_PASS_MAX)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "password must be %d..%d bytes",
				    API_PASS_MIN, API_PASS_MAX);
	rc = api_pw_hash(NULL, password, hash);
	if (rc) {
		core_err_set(err, rc, SIZE_MAX, "password hashing failed");
		goto out;
	}
	rc = store_user_create(s, tenant, name, hash, (store_role)role, id, err);
	if (rc)
		goto out;
	snprintf(obj, sizeof obj, "user:%lld", (long long)*id);
	snprintf(detail, sizeof detail, "{\"role\":\"%s\",\"via\":\"%s\"}",
		 role == STORE_ROLE_ADMIN ? "admin" : role == STORE_ROLE_ANALYST ? "analyst" : "viewer",
		 via && strlen(via) < 16 ? via : "cli");
	if (store_audit(s, tenant, 0, "user.create", obj, detail, &aerr) != 0)
		api_log("audit user.create: %s", aerr.msg);
out:
	sodium_memzero(hash, sizeof hash);
	return rc;
}

int api_bootstrap_admin(store *s, const char *name, const char *password, char *pass_out,
			size_t cap, core_err *err)
{
	char gen[21];
	const char *pw = password;
	int64_t id = 0;
	int rc;

	if (sodium_init() < 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "libsodium did not initialize");
	if (!pw) {
		if (!pass_out || cap < sizeof gen)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "no room for the generated password");
		for (size_t i = 0; i < sizeof gen - 1; i++)
			gen[i] = pw_alphabet[randombytes_uniform(sizeof pw_alphabet - 1)];
		gen[sizeof gen - 1] = '\0';
		pw = gen;
	}
	rc = api_user_add(s, name, STORE_ROLE_ADMIN, 1, pw, "bootstrap", &id, err);
	if (rc == 0 && !password)
		memcpy(pass_out, gen, sizeof gen);
	sodium_memzero(gen, sizeof gen);
	return rc;
}

int api_token_issue(store *s, const char *name, const char *label, unsigned days, char *out,
		    size_t cap, core_err *err)
{
	char secret[sizeof API_TOKEN_PREFIX + API_SECRET_LEN], hash[65], obj[40];
	store_user u;
	core_err aerr = {0};
	int64_t id = 0;
	int rc;

	if (sodium_init() < 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "libsodium did not initialize");
	if (cap < sizeof secret)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "no room for the token");
	if (days < 1 || days > 3650)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "days: 1..3650");
	if (!label || !label[0] || strlen(label) > 63)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "token name: 1..63 bytes");
	if ((rc = store_user_get(s, name, &u, err)) != 0)
		return rc;
	if (u.disabled)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "user '%s' is disabled", name);
	memcpy(secret, API_TOKEN_PREFIX, sizeof API_TOKEN_PREFIX - 1);
	new_secret(secret + sizeof API_TOKEN_PREFIX - 1);
	api_secret_hash(secret, strlen(secret), hash);
	rc = store_token_create(s, u.id, label, hash, core_time_now() + (int64_t)days * 86400 * NS_PER_S, &id,
				err);
	if (rc == 0) {
		snprintf(obj, sizeof obj, "token:%lld", (long long)id);
		if (store_audit(s, u.tenant, u.id, "token.create", obj, "{\"via\":\"cli\"}", &aerr) != 0)
			api_log("audit token.create: %s", aerr.msg);
		memcpy(out, secret, sizeof secret);
	}
	sodium_memzero(secret, sizeof secret);
	return rc;
}
