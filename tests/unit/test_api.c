/* test_api.c: the HTTPS API against a real store in a temporary directory,
 * with real clients: curl for HTTPS (the generated self-signed certificate is
 * verified with --cacert) and raw sockets for malformed HTTP on a plain_http
 * instance. Covers: 401 on every protected route, login, cookie flags, CSRF,
 * bearer tokens (create, use, revoke), roles (viewer, analyst), tenant
 * isolation of events, alerts, users, tokens and audit, login rate limiting,
 * body limits, malformed JSON, 404/405/415, search parameters reaching the
 * store, the ingest, metrics and rules hooks, the audit log, security
 * headers, static files, the certificate reused after a restart, and the
 * route table against docs/openapi.yaml. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "../tap.h"
#include "api/api.h"
#include "api/api_int.h"

#define SEC 1000000000LL
#define T0 ((int64_t)1790000000 * SEC)

static char dir[64], url[64], tmpf[128];
static store *st;
static api *srv;
static int64_t ev_t1, ev_t2, al_t1, al_t2;

/* ---- fake hooks --------------------------------------------------------- */
static struct {
	int calls;
	uint32_t tenant;
	char body[256];
	size_t n;
	char ctype[64];
	char rule[64];
	int enabled;
} hk;

static int h_ingest(void *ud, const api_caller *who, const char *body, size_t n, const char *ctype,
		    core_err *err)
{
	int lines = 0;

	(void)ud;
	hk.calls++;
	hk.tenant = who->tenant;
	hk.n = n;
	snprintf(hk.body, sizeof hk.body, "%.*s", (int)(n < 255 ? n : 255), body);
	snprintf(hk.ctype, sizeof hk.ctype, "%s", ctype ? ctype : "");
	if (body[0] != '{')
		return core_err_set(err, CORE_EPARSE, 0, "malformed JSON at byte 0");
	for (size_t i = 0; i < n; i++)
		lines += body[i] == '\n';
	return lines;
}

static int h_metrics(void *ud, core_buf *out)
{
	(void)ud;
	return core_buf_printf(out, "# TYPE hisn_events_total counter\nhisn_events_total 42\n");
}

static int h_health(void *ud, core_buf *out)
{
	(void)ud;
	return core_buf_printf(out, "{\"status\":\"ok\",\"store\":\"fine\"}");
}

static int h_rules(void *ud, core_buf *out)
{
	(void)ud;
	return core_buf_printf(out, "{\"rules\":[{\"id\":\"r1\",\"title\":\"Rule one\"}]}");
}

static int h_rule_get(void *ud, const char *id, core_buf *out, core_err *err)
{
	(void)ud;
	if (strcmp(id, "r1") != 0)
		return core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "rule %s does not exist", id);
	return core_buf_printf(out, "{\"id\":\"r1\",\"yaml\":\"title: Rule one\"}");
}

static int h_rule_set(void *ud, const char *id, bool enabled, core_err *err)
{
	(void)ud;
	(void)err;
	snprintf(hk.rule, sizeof hk.rule, "%s", id);
	hk.enabled = enabled;
	return 0;
}

static int h_validate(void *ud, const char *yaml, size_t n, core_buf *out)
{
	(void)ud;
	bool ok = n >= 6 && memcmp(yaml, "title:", 6) == 0;
	return core_buf_printf(out, "{\"valid\":%s,\"rules\":[],\"errors\":[]}", ok ? "true" : "false");
}

static int h_upload(void *ud, const char *yaml, size_t n, core_buf *out, core_err *err)
{
	int rc = h_validate(ud, yaml, n, out);
	if (rc == 0 && strstr(out->data, "false"))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "the rules are not valid");
	return rc;
}

/* ---- an HTTP client: curl ------------------------------------------------ */
typedef struct resp {
	int status;
	char hdr[8192];
	char body[1 << 16];
} resp;

/* Runs curl with argv (NULL-terminated); its stdout into out. */
static int run(char *const argv[], char *out, size_t cap)
{
	int p[2], status = -1;
	size_t n = 0;
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t k = read(p[0], out + n, cap - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n == cap - 1)
			break;
	}
	out[n] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void read_file(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(out, 1, cap - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
}

/* method path [body] with headers (NULL-terminated "Name: value" list).
 * body "@file" sends a file. */
static resp *req(const char *method, const char *path, const char *body, ...)
{
	static resp r;
	char *argv[64], full[512], hfile[160], bfile[160], code[32], data[256];
	const char *h;
	va_list ap;
	int a = 0;

	memset(&r, 0, sizeof r);
	snprintf(full, sizeof full, "%s%s", url, path);
	snprintf(hfile, sizeof hfile, "%s/h.txt", dir);
	snprintf(bfile, sizeof bfile, "%s/b.txt", dir);
	argv[a++] = "curl";
	argv[a++] = "-sk";
	argv[a++] = "--max-time";
	argv[a++] = "60";
	argv[a++] = "-X";
	argv[a++] = (char *)method;
	argv[a++] = "-D";
	argv[a++] = hfile;
	argv[a++] = "-o";
	argv[a++] = bfile;
	argv[a++] = "-w";
	argv[a++] = "%{http_code}";
	va_start(ap, body);
	while ((h = va_arg(ap, const char *)) && a < 56) {
		argv[a++] = "-H";
		argv[a++] = (char *)h;
	}
	va_end(ap);
	if (body) {
		snprintf(data, sizeof data, "%s", body);
		argv[a++] = "--data-binary";
		argv[a++] = body[0] == '@' ? data : (char *)body;
	}
	argv[a++] = full;
	argv[a] = NULL;
	unlink(hfile);
	unlink(bfile);
	run(argv, code, sizeof code);
	r.status = (int)strtol(code, NULL, 10);
	read_file(hfile, r.hdr, sizeof r.hdr);
	read_file(bfile, r.body, sizeof r.body);
	return &r;
}

static bool has_header(const resp *r, const char *name, const char *value_part)
{
	const char *p = r->hdr;
	size_t nl = strlen(name);

	while ((p = strcasestr(p, name))) {
		if ((p == r->hdr || p[-1] == '\n') && p[nl] == ':') {
			const char *eol = strchr(p, '\n');
			size_t len = eol ? (size_t)(eol - p) : strlen(p);
			char line[1024];
			snprintf(line, sizeof line, "%.*s", (int)len, p);
			if (!value_part || strstr(line, value_part))
				return true;
		}
		p += nl;
	}
	return false;
}

static int64_t body_id(const char *b)
{
	const char *p = strstr(b, "\"id\":");
	return p ? strtoll(p + 5, NULL, 10) : 0;
}

/* A logged-in session: cookie header and CSRF header. */
typedef struct sess {
	char cookie[128], csrf[128], setcookie[512];
} sess;

static int login(sess *s, const char *user, const char *pw)
{
	char body[256];
	resp *r;

	snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
	r = req("POST", "/api/v1/auth/login", body, "Content-Type: application/json", NULL);
	memset(s, 0, sizeof *s);
	const char *c = strcasestr(r->hdr, "Set-Cookie: hisn_session=");
	const char *t = strstr(r->body, "\"csrf_token\":\"");
	if (c) {
		const char *v = c + 12, *e = strchr(v, ';');
		const char *eol = strchr(c, '\r');
		snprintf(s->cookie, sizeof s->cookie, "Cookie: %.*s", e ? (int)(e - v) : 0, v);
		snprintf(s->setcookie, sizeof s->setcookie, "%.*s", eol ? (int)(eol - c) : 200, c);
	}
	if (t)
		snprintf(s->csrf, sizeof s->csrf, "X-CSRF-Token: %.64s", t + 14);
	return r->status;
}

static char *token_hdr(const char *body, char out[128])
{
	const char *t = strstr(body, "\"token\":\"");
	snprintf(out, 128, "Authorization: Bearer %.48s", t ? t + 9 : "none");
	return out;
}

/* ---- fixtures ------------------------------------------------------------- */
static int64_t add_event(uint32_t tenant, const char *host, const char *msg, int64_t ts)
{
	char json[256];
	int64_t id = 0;
	core_err err;
	snprintf(json, sizeof json,
		 "{\"host\":{\"name\":\"%s\"},\"message\":\"%s\",\"process\":{\"name\":\"sshd\"}}", host,
		 msg);
	store_event e = {.tenant = tenant, .ts = ts, .received = ts, .input = "test", .format = "json",
			 .raw = msg, .raw_len = strlen(msg), .json = json, .json_len = strlen(json),
			 .message = msg, .message_len = strlen(msg), .host = host, .user = "alice",
			 .program = "sshd"};
	if (store_add_events(st, &e, 1, &id, &err) != 0)
		printf("# add_event: %s\n", err.msg);
	return id;
}

static int64_t add_alert(uint32_t tenant, const char *host, int64_t ev)
{
	int64_t id = 0;
	core_err err;
	store_alert a = {.tenant = tenant, .rule_id = "r1", .rule_title = "Rule one", .level = "high",
			 .kind = "rule", .ts = T0, .event_ids = &ev, .n_events = 1, .host = host};
	if (store_add_alert(st, &a, 0, &id, NULL, &err) != 0)
		printf("# add_alert: %s\n", err.msg);
	return id;
}

static void fixtures(void)
{
	core_err err;
	uint32_t t2 = 0;
	int64_t uid;
	char hash[128];

	TAP_OK(store_tenant_create(st, "acme", &t2, &err) == 0 && t2 == 2, "tenant acme is 2");
	TAP_OK(api_bootstrap_admin(st, "admin", "admin-password-1", NULL, 0, &err) == 0,
	       "bootstrap admin with a given password");
	TAP_OK(api_bootstrap_admin(st, "admin", "admin-password-1", NULL, 0, &err) == STORE_ECONFLICT,
	       "bootstrap twice: conflict");
	const struct {
		uint32_t t;
		const char *name;
		store_role role;
	} users[] = {{1, "viewer1", STORE_ROLE_VIEWER}, {1, "analyst1", STORE_ROLE_ANALYST},
		     {2, "acme_admin", STORE_ROLE_ADMIN}, {2, "acme_analyst", STORE_ROLE_ANALYST}};
	for (size_t i = 0; i < 4; i++) {
		api_pw_hash(NULL, "password-1234", hash);
		store_user_create(st, users[i].t, users[i].name, hash, users[i].role, &uid, &err);
	}
	TAP_OK(store_begin(st, &err) == 0, "begin");
	ev_t1 = add_event(1, "web1", "failed password for alice", T0);
	add_event(1, "db1", "accepted password for bob", T0 + SEC);
	ev_t2 = add_event(2, "acmehost", "acme secret event", T0 + 2 * SEC);
	al_t1 = add_alert(1, "web1", ev_t1);
	al_t2 = add_alert(2, "acmehost", ev_t2);
	TAP_OK(store_commit(st, &err) == 0 && ev_t1 > 0 && ev_t2 > 0 && al_t1 > 0 && al_t2 > 0,
	       "events and alerts of two tenants stored");
}

static api_options opts(bool plain)
{
	api_options o = {.host = "127.0.0.1", .port = "0", .plain_http = plain, .data_dir = dir,
			 .max_body = 64 << 10, .threads = 2, .store = st};
	o.hooks = (api_hooks){.ingest = h_ingest, .metrics = h_metrics, .health = h_health,
			      .rules_list = h_rules, .rule_get = h_rule_get, .rule_set_enabled = h_rule_set,
			      .rules_validate = h_validate, .rules_upload = h_upload};
	return o;
}

static void fingerprint(char out[130])
{
	char path[128], pem[8192];
	unsigned char fp[64];
	size_t fl = sizeof fp;
	gnutls_x509_crt_t c;
	snprintf(path, sizeof path, "%s/tls/server.crt", dir);
	read_file(path, pem, sizeof pem);
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
	out[0] = '\0';
	if (gnutls_x509_crt_init(&c) < 0)
		return;
	if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_get_fingerprint(c, GNUTLS_DIG_SHA256, fp, &fl) >= 0)
		for (size_t i = 0; i < fl; i++)
			snprintf(out + 2 * i, 3, "%02x", fp[i]);
	gnutls_x509_crt_deinit(c);
}

/* ---- tests ------------------------------------------------------------------ */

static void t_tls(void)
{
	char path[128], ca[160], full[128], code[32];
	struct stat sb;

	snprintf(path, sizeof path, "%s/tls/server.key", dir);
	TAP_OK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "server.key generated, mode 0600");
	snprintf(ca, sizeof ca, "%s/tls/server.crt", dir);
	snprintf(full, sizeof full, "https://127.0.0.1:%d/api/v1/health", api_port(srv));
	char *argv[] = {"curl", "-s", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", full, NULL};
	TAP_OK(run(argv, code, sizeof code) == 0 && strcmp(code, "200") == 0,
	       "the served certificate verifies for 127.0.0.1 against server.crt");
	snprintf(full, sizeof full, "https://localhost:%d/api/v1/health", api_port(srv));
	char *argv2[] = {"curl", "-s", "--cacert", ca, "--resolve", "", "-o", "/dev/null", "-w",
			 "%{http_code}", full, NULL};
	char res[64];
	snprintf(res, sizeof res, "localhost:%d:127.0.0.1", api_port(srv));
	argv2[5] = res;
	TAP_OK(run(argv2, code, sizeof code) == 0 && strcmp(code, "200") == 0,
	       "and for localhost");
}

static void t_public(void)
{
	resp *r = req("GET", "/api/v1/health", NULL, NULL);
	TAP_OK(r->status == 200 && strcmp(r->body, "{\"status\":\"ok\"}") == 0,
	       "health without auth: only status ok (%s)", r->body);
	TAP_OK(has_header(r, "Content-Security-Policy", "frame-ancestors 'none'") &&
		       has_header(r, "X-Content-Type-Options", "nosniff") &&
		       has_header(r, "Referrer-Policy", "no-referrer") &&
		       has_header(r, "Strict-Transport-Security", "max-age=") &&
		       has_header(r, "Cache-Control", "no-store"),
	       "security headers on an answer");
	r = req("GET", "/api/v1/nope", NULL, NULL);
	TAP_OK(r->status == 404 && strstr(r->body, "\"code\":\"not_found\"") &&
		       strstr(r->body, "\"status\":404") && has_header(r, "X-Content-Type-Options", NULL),
	       "unknown route: 404 with the error object and headers");
	r = req("DELETE", "/api/v1/events", NULL, NULL);
	TAP_OK(r->status == 405 && has_header(r, "Allow", "GET") &&
		       strstr(r->body, "method_not_allowed"),
	       "wrong method: 405 with Allow");
	r = req("GET", "/metrics", NULL, NULL);
	TAP_OK(r->status == 401, "metrics need authentication by default");
}

/* Every route but the public ones answers 401 without credentials, and with
 * wrong ones. */
static void t_unauth(void)
{
	size_t n, bad = 0, bad2 = 0;
	const api_route *rt = api_routes(&n);
	char path[128];

	for (size_t i = 0; i < n; i++) {
		if (rt[i].flags & API_R_PUBLIC)
			continue;
		const char *b = strstr(rt[i].path, "{id}");
		snprintf(path, sizeof path, "%.*s%s%s", b ? (int)(b - rt[i].path) : (int)strlen(rt[i].path),
			 rt[i].path, b ? "1" : "", b ? b + 4 : "");
		bool body = strcmp(rt[i].method, "GET") != 0;
		resp *r = req(rt[i].method, path, body ? "{}" : NULL, "Content-Type: application/json",
			      NULL);
		if (r->status != 401 || !strstr(r->body, "\"unauthorized\"")) {
			bad++;
			printf("# %s %s: %d\n", rt[i].method, path, r->status);
		}
		r = req(rt[i].method, path, body ? "{}" : NULL, "Content-Type: application/json",
			"Authorization: Bearer hisn_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			"Cookie: hisn_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
		if (r->status != 401)
			bad2++;
	}
	TAP_OK(bad == 0, "401 on all %zu protected routes without credentials", n - 2);
	TAP_OK(bad2 == 0, "401 with a made-up token and cookie");
	resp *r = req("GET", "/api/v1/auth/me", NULL,
		      "Cookie: hisn_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
	TAP_OK(r->status == 401 && has_header(r, "WWW-Authenticate", "Bearer"), "a made-up cookie: 401");
}

static void t_login(sess *admin)
{
	resp *r = req("POST", "/api/v1/auth/login", "{\"username\":\"admin\",\"password\":\"wrong-one-1234\"}",
		      "Content-Type: application/json", NULL);
	TAP_OK(r->status == 401 && strstr(r->body, "invalid user name or password") &&
		       !has_header(r, "Set-Cookie", NULL),
	       "wrong password: 401, no cookie");
	r = req("POST", "/api/v1/auth/login", "{\"username\":\"nobody\",\"password\":\"wrong-one-1234\"}",
		"Content-Type: application/json", NULL);
	TAP_OK(r->status == 401 && strstr(r->body, "invalid user name or password"),
	       "unknown user: the same answer");
	TAP_OK(login(admin, "admin", "admin-password-1") == 200, "admin logs in");
	TAP_OK(strstr(admin->setcookie, "HttpOnly") && strstr(admin->setcookie, "Secure") &&
		       strstr(admin->setcookie, "SameSite=Strict") && strstr(admin->setcookie, "Path=/"),
	       "session cookie flags: %s", admin->setcookie);
	TAP_OK(strlen(admin->csrf) == 14 + 64, "a CSRF token in the login answer");
	r = req("GET", "/api/v1/auth/me", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"user\":\"admin\"") &&
		       strstr(r->body, "\"role\":\"admin\"") && strstr(r->body, "\"tenant\":1"),
	       "me with the cookie: %s", r->body);
	r = req("POST", "/api/v1/auth/login", "{\"username\":\"admin\",", "Content-Type: application/json",
		NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "malformed JSON at byte"),
	       "malformed JSON: 400 with the offset: %s", r->body);
	r = req("POST", "/api/v1/auth/login", "{\"username\":\"a\",\"password\":\"b\",\"x\":1}",
		"Content-Type: application/json", NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "unknown field"), "unknown field: 400");
	r = req("POST", "/api/v1/auth/login", "{\"username\":\"admin\",\"password\":\"x\"}",
		"Content-Type: text/plain", NULL);
	TAP_OK(r->status == 415 && strstr(r->body, "unsupported_media_type"), "text/plain login: 415");
	char pw[32];
	core_err err;
	sess s2;
	TAP_OK(api_bootstrap_admin(st, "admin2", NULL, pw, sizeof pw, &err) == 0 && strlen(pw) == 20,
	       "bootstrap with a generated 20-character password");
	TAP_OK(login(&s2, "admin2", pw) == 200, "which logs in");
}

static void t_csrf_tokens(sess *admin, char tok[128])
{
	resp *r = req("POST", "/api/v1/tenants", "{\"name\":\"other\"}", "Content-Type: application/json",
		      admin->cookie, NULL);
	TAP_OK(r->status == 403 && strstr(r->body, "CSRF"), "cookie without X-CSRF-Token: 403");
	r = req("POST", "/api/v1/tenants", "{\"name\":\"other\"}", "Content-Type: application/json",
		admin->cookie, "X-CSRF-Token: 0000000000000000000000000000000000000000000000000000000000000000",
		NULL);
	TAP_OK(r->status == 403, "wrong X-CSRF-Token: 403");
	r = req("POST", "/api/v1/tenants", "{\"name\":\"other\"}", "Content-Type: application/json",
		admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 201 && strstr(r->body, "\"name\":\"other\""), "with it: 201 %s", r->body);
	r = req("POST", "/api/v1/tenants", "{\"name\":\"other\"}", "Content-Type: application/json",
		admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 409 && strstr(r->body, "conflict"), "same tenant again: 409");

	r = req("POST", "/api/v1/tokens", "{\"name\":\"ci\",\"expires_days\":7}",
		"Content-Type: application/json", admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 201 && strstr(r->body, "\"token\":\"hisn_"), "token created: %s", r->body);
	token_hdr(r->body, tok);
	char tmp[128];
	r = req("POST", "/api/v1/tokens", "{\"name\":\"x\"}", "Content-Type: application/json",
		admin->cookie, admin->csrf, NULL);
	token_hdr(r->body, tmp);
	int64_t id2 = body_id(r->body);
	r = req("GET", "/api/v1/auth/me", NULL, tok, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"auth\":\"token\""), "bearer token works");
	r = req("POST", "/api/v1/tenants", "{\"name\":\"third\"}", "Content-Type: application/json", tok,
		NULL);
	TAP_OK(r->status == 201, "a bearer token needs no CSRF header");
	r = req("POST", "/api/v1/tokens", "{\"name\":\"y\"}", "Content-Type: application/json", tok, NULL);
	TAP_OK(r->status == 403, "tokens are not created with a token");
	r = req("GET", "/api/v1/tokens", NULL, tok, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"ci\"") && !strstr(r->body, "hisn_"),
	       "token list without secrets");
	char path[64];
	snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)id2);
	r = req("DELETE", path, NULL, admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 200, "token revoked");
	r = req("GET", "/api/v1/auth/me", NULL, tmp, NULL);
	TAP_OK(r->status == 401, "revoked token: 401");
}

static void t_roles(sess *admin)
{
	sess v, an;
	size_t n, bad = 0;
	const api_route *rt = api_routes(&n);
	char path[128];

	TAP_OK(login(&v, "viewer1", "password-1234") == 200, "viewer logs in");
	for (size_t i = 0; i < n; i++) {
		if (rt[i].min_role <= STORE_ROLE_VIEWER)
			continue;
		const char *b = strstr(rt[i].path, "{id}");
		snprintf(path, sizeof path, "%.*s%s%s", b ? (int)(b - rt[i].path) : (int)strlen(rt[i].path),
			 rt[i].path, b ? "1" : "", b ? b + 4 : "");
		resp *r = req(rt[i].method, path, strcmp(rt[i].method, "GET") ? "{}" : NULL,
			      "Content-Type: application/json", v.cookie, v.csrf, NULL);
		if (r->status != 403) {
			bad++;
			printf("# viewer %s %s: %d\n", rt[i].method, path, r->status);
		}
	}
	TAP_OK(bad == 0, "viewer: 403 on every route above the viewer role");
	resp *r = req("GET", "/api/v1/alerts", NULL, v.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"alerts\""), "viewer reads alerts");

	TAP_OK(login(&an, "analyst1", "password-1234") == 200, "analyst logs in");
	snprintf(path, sizeof path, "/api/v1/alerts/%lld", (long long)al_t1);
	r = req("PATCH", path, "{\"status\":\"closed\"}", "Content-Type: application/json", an.cookie,
		an.csrf, NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "close_reason"), "closing needs a reason");
	r = req("PATCH", path, "{\"status\":\"acknowledged\",\"assignee\":\"analyst1\"}",
		"Content-Type: application/json", an.cookie, an.csrf, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"acknowledged\"") && strstr(r->body, "analyst1"),
	       "analyst updates an alert: %s", r->body);
	r = req("GET", "/api/v1/users", NULL, an.cookie, NULL);
	TAP_OK(r->status == 403, "analyst cannot list users");
	r = req("POST", "/api/v1/users", "{\"name\":\"x1\",\"password\":\"password-1234\",\"role\":\"admin\"}",
		"Content-Type: application/json", an.cookie, an.csrf, NULL);
	TAP_OK(r->status == 403, "analyst cannot create users");
	r = req("POST", "/api/v1/rules/validate", "title: x\n", "Content-Type: application/yaml",
		an.cookie, an.csrf, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"valid\":true"), "analyst validates rules");

	/* admin: users, rules */
	r = req("POST", "/api/v1/users", "{\"name\":\"newbie\",\"password\":\"short\",\"role\":\"viewer\"}",
		"Content-Type: application/json", admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "password"), "short password refused");
	r = req("POST", "/api/v1/users",
		"{\"name\":\"newbie\",\"password\":\"password-5678\",\"role\":\"viewer\"}",
		"Content-Type: application/json", admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 201 && strstr(r->body, "\"name\":\"newbie\""), "admin creates a user");
	int64_t uid = body_id(r->body);
	sess nb;
	TAP_OK(login(&nb, "newbie", "password-5678") == 200, "the new user logs in");
	snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)uid);
	r = req("PATCH", path, "{\"disabled\":true}", "Content-Type: application/json", admin->cookie,
		admin->csrf, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"disabled\":true"), "admin disables the user");
	r = req("GET", "/api/v1/auth/me", NULL, nb.cookie, NULL);
	TAP_OK(r->status == 401, "the disabled user's session no longer works");
	r = req("PATCH", "/api/v1/rules/r1", "{\"enabled\":false}", "Content-Type: application/json",
		admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 200 && strcmp(hk.rule, "r1") == 0 && hk.enabled == 0,
	       "admin disables a rule through the hook");
	r = req("GET", "/api/v1/rules/r1", NULL, v.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "yaml"), "rule through the hook");
	r = req("GET", "/api/v1/rules/zz", NULL, v.cookie, NULL);
	TAP_OK(r->status == 404, "unknown rule: 404");
	r = req("POST", "/api/v1/rules", "nope: 1\n", "Content-Type: application/yaml", admin->cookie,
		admin->csrf, NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "\"result\":{\"valid\":false"),
	       "invalid upload: 400 with the validation result");
}

static void t_tenants(sess *admin)
{
	sess acme;
	char path[128], tok[128];
	resp *r;

	TAP_OK(login(&acme, "acme_admin", "password-1234") == 200, "tenant 2 admin logs in");
	r = req("GET", "/api/v1/events", NULL, acme.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "acmehost") && !strstr(r->body, "web1") &&
		       !strstr(r->body, "db1"),
	       "tenant 2 sees only its events");
	snprintf(path, sizeof path, "/api/v1/events/%lld", (long long)ev_t1);
	r = req("GET", path, NULL, acme.cookie, NULL);
	TAP_OK(r->status == 404, "tenant 2 cannot get a tenant 1 event");
	r = req("GET", "/api/v1/alerts", NULL, acme.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "acmehost") && !strstr(r->body, "web1"),
	       "tenant 2 sees only its alerts");
	snprintf(path, sizeof path, "/api/v1/alerts/%lld", (long long)al_t1);
	r = req("GET", path, NULL, acme.cookie, NULL);
	TAP_OK(r->status == 404, "tenant 2 cannot get a tenant 1 alert");
	r = req("PATCH", path, "{\"assignee\":\"acme_admin\"}", "Content-Type: application/json",
		acme.cookie, acme.csrf, NULL);
	TAP_OK(r->status == 404, "nor change it");
	r = req("GET", "/api/v1/users", NULL, acme.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "acme_analyst") && !strstr(r->body, "viewer1") &&
		       !strstr(r->body, "\"name\":\"admin\""),
	       "tenant 2 sees only its users");
	r = req("POST", "/api/v1/tokens", "{\"name\":\"acmetok\"}", "Content-Type: application/json",
		acme.cookie, acme.csrf, NULL);
	token_hdr(r->body, tok);
	r = req("GET", "/api/v1/tokens", NULL, acme.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "acmetok") && !strstr(r->body, "\"ci\""),
	       "tenant 2 sees only its tokens");
	r = req("GET", "/api/v1/audit", NULL, acme.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "token.create") && !strstr(r->body, "tenant.create") &&
		       !strstr(r->body, "alert:"),
	       "tenant 2 sees only its audit entries");
	r = req("GET", "/api/v1/events?tenant=1", NULL, acme.cookie, NULL);
	TAP_OK(r->status == 403, "tenant 2 admin cannot pick tenant 1");
	r = req("PATCH", "/api/v1/rules/r1", "{\"enabled\":true}", "Content-Type: application/json",
		acme.cookie, acme.csrf, NULL);
	TAP_OK(r->status == 403, "rules are global: only default-tenant admins change them");
	r = req("POST", "/api/v1/tenants", "{\"name\":\"evil\"}", "Content-Type: application/json",
		acme.cookie, acme.csrf, NULL);
	TAP_OK(r->status == 403, "tenant 2 admin cannot create tenants");
	r = req("GET", "/api/v1/tenants", NULL, acme.cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "acme") && !strstr(r->body, "default"),
	       "tenant 2 sees only its tenant");
	r = req("GET", "/api/v1/events?tenant=2", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "acmehost") && !strstr(r->body, "web1"),
	       "default-tenant admin picks tenant 2");
	r = req("GET", "/api/v1/events", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "web1") && !strstr(r->body, "acmehost"),
	       "default-tenant admin without ?tenant sees tenant 1");
	r = req("POST", "/api/v1/ingest", "{\"a\":1}\n", "Content-Type: application/x-ndjson", tok, NULL);
	TAP_OK(r->status == 200 && hk.tenant == 2, "ingest with a tenant 2 token goes to tenant 2");
}

static void t_events(sess *admin)
{
	resp *r = req("GET", "/api/v1/events?host=web1", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "web1") && !strstr(r->body, "db1"),
	       "host filter reaches the store");
	r = req("GET", "/api/v1/events?q=accepted", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "db1") && !strstr(r->body, "web1"),
	       "full-text query reaches the store");
	char p[160];
	snprintf(p, sizeof p, "/api/v1/events?from=%lld&to=%lld", (long long)((T0 + SEC) / 1000000),
		 (long long)((T0 + 2 * SEC) / 1000000));
	r = req("GET", p, NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "db1") && !strstr(r->body, "web1"),
	       "from/to in epoch ms reach the store");
	r = req("GET", "/api/v1/events?from=2026-13-01", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "bad time"), "bad time: 400");
	r = req("GET", "/api/v1/events?hots=web1", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "unknown parameter"), "unknown parameter: 400");
	r = req("GET", "/api/v1/events?field.host.name=db1", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "db1") && !strstr(r->body, "web1"),
	       "field.<path> filter reaches the store");
	r = req("GET", "/api/v1/events?limit=1", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"next_cursor\":\""), "limit=1 gives a cursor");
	r = req("GET", "/api/v1/alerts?level=critical", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 200 && !strstr(r->body, "web1"), "alert level filter reaches the store");
	r = req("GET", "/api/v1/alerts?status=bogus", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 400, "bad alert status: 400");
}

static void t_ingest_metrics(sess *admin, const char *tok)
{
	char big[128];
	resp *r;

	hk.calls = 0;
	r = req("POST", "/api/v1/ingest", "{\"m\":1}\n{\"m\":2}\n", "Content-Type: application/x-ndjson",
		tok, NULL);
	TAP_OK(r->status == 200 && strcmp(r->body, "{\"accepted\":2}") == 0 && hk.calls == 1 &&
		       strcmp(hk.body, "{\"m\":1}\n{\"m\":2}\n") == 0 && hk.tenant == 1 &&
		       strcmp(hk.ctype, "application/x-ndjson") == 0,
	       "ingest hook called with the body and the tenant: %s", r->body);
	r = req("POST", "/api/v1/ingest?tenant=2", "{\"m\":1}\n", "Content-Type: application/x-ndjson",
		admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 200 && hk.tenant == 2, "default-tenant admin ingests into tenant 2");
	hk.calls = 0;
	r = req("POST", "/api/v1/ingest?tenant=4000", "{\"m\":1}\n", "Content-Type: application/x-ndjson",
		admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 404 && hk.calls == 0 && strstr(r->body, "tenant 4000 does not exist"),
	       "ingest into a tenant that does not exist: 404, the hook not called");
	r = req("POST", "/api/v1/ingest", "nope\n", "Content-Type: application/x-ndjson", tok, NULL);
	TAP_OK(r->status == 400 && strstr(r->body, "malformed JSON at byte 0"), "hook parse error: 400");
	/* 64 KiB + 1 */
	snprintf(big, sizeof big, "%s/big.json", dir);
	FILE *f = fopen(big, "wb");
	for (int i = 0; f && i < (64 << 10) + 1; i++)
		fputc(i % 64 == 63 ? '\n' : 'x', f);
	if (f)
		fclose(f);
	char at[160];
	snprintf(at, sizeof at, "@%s", big);
	hk.calls = 0;
	r = req("POST", "/api/v1/ingest", at, "Content-Type: application/x-ndjson", tok, NULL);
	TAP_OK(r->status == 413 && strstr(r->body, "payload_too_large") && hk.calls == 0,
	       "ingest over max_body: 413, hook not called");
	r = req("POST", "/api/v1/ingest", at, "Content-Type: application/x-ndjson", tok,
		"Transfer-Encoding: chunked", NULL);
	TAP_OK(r->status == 413 && hk.calls == 0, "chunked ingest over max_body: 413");
	r = req("GET", "/metrics", NULL, tok, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "hisn_events_total 42") &&
		       has_header(r, "Content-Type", "text/plain; version=0.0.4"),
	       "metrics hook output served");
	r = req("GET", "/api/v1/health", NULL, tok, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "\"store\":\"fine\""), "detailed health with auth");
}

static void t_audit(sess *admin)
{
	resp *r = req("GET", "/api/v1/audit?limit=1000", NULL, admin->cookie, NULL);
	const char *acts[] = {"auth.login", "auth.login_failed", "tenant.create", "token.create",
			      "token.revoke", "alert.update", "user.create", "user.update", "rule.disable"};
	bool all = r->status == 200;
	for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
		if (!strstr(r->body, acts[i])) {
			all = false;
			printf("# missing %s\n", acts[i]);
		}
	TAP_OK(all, "audit entries written for every change");
	r = req("GET", "/api/v1/audit?bogus=1", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 400, "audit: unknown parameter 400");
}

static void t_logout(sess *admin)
{
	resp *r = req("POST", "/api/v1/auth/logout", NULL, admin->cookie, admin->csrf, NULL);
	TAP_OK(r->status == 200 && has_header(r, "Set-Cookie", "Max-Age=0"), "logout clears the cookie");
	r = req("GET", "/api/v1/auth/me", NULL, admin->cookie, NULL);
	TAP_OK(r->status == 401, "the session is gone after logout");
}

static void t_ratelimit(void)
{
	resp *r = NULL;
	int i;
	sess s;

	for (i = 0; i < API_RL_MAX_USER; i++)
		r = req("POST", "/api/v1/auth/login", "{\"username\":\"viewer1\",\"password\":\"bad-password-1\"}",
			"Content-Type: application/json", NULL);
	r = req("POST", "/api/v1/auth/login", "{\"username\":\"viewer1\",\"password\":\"password-1234\"}",
		"Content-Type: application/json", NULL);
	TAP_OK(r->status == 429 && has_header(r, "Retry-After", NULL) && strstr(r->body, "too_many_requests"),
	       "after %d failures the user is locked out, even with the right password", API_RL_MAX_USER);
	TAP_OK(login(&s, "analyst1", "password-1234") == 200, "another user still logs in");
	for (i = 0; i < API_RL_MAX_IP; i++) {
		char body[128];
		snprintf(body, sizeof body, "{\"username\":\"u%d\",\"password\":\"bad-password-1\"}", i);
		req("POST", "/api/v1/auth/login", body, "Content-Type: application/json", NULL);
	}
	TAP_OK(login(&s, "analyst1", "password-1234") == 429, "after %d failures the address is locked out",
	       API_RL_MAX_IP);
}

static void t_static(void)
{
	char web[128], p[200], outside[128];
	snprintf(web, sizeof web, "%s/web", dir);
	mkdir(web, 0700);
	snprintf(p, sizeof p, "%s/index.html", web);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs("<html>hisn</html>", f);
		fclose(f);
	}
	snprintf(p, sizeof p, "%s/app.js", web);
	f = fopen(p, "w");
	if (f) {
		fputs("console.log(1)", f);
		fclose(f);
	}
	snprintf(outside, sizeof outside, "%s/secret.txt", dir);
	f = fopen(outside, "w");
	if (f) {
		fputs("TOPSECRET", f);
		fclose(f);
	}
	snprintf(p, sizeof p, "%s/leak.txt", web);
	if (symlink(outside, p) != 0)
		printf("# symlink failed\n");
	api_options o = opts(false);
	o.web_root = web;
	o.metrics_public = true;
	api *w = NULL;
	core_err err;
	TAP_OK(api_start(&o, &w, &err) == 0, "server with a web root");
	char saved[64];
	snprintf(saved, sizeof saved, "%s", url);
	snprintf(url, sizeof url, "https://127.0.0.1:%d", api_port(w));
	resp *r = req("GET", "/", NULL, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "hisn") && has_header(r, "Content-Type", "text/html") &&
		       has_header(r, "Content-Security-Policy", "default-src 'self'"),
	       "index.html served at / with headers");
	r = req("GET", "/app.js", NULL, NULL);
	TAP_OK(r->status == 200 && has_header(r, "Content-Type", "text/javascript"), "JS content type");
	r = req("GET", "/leak.txt", NULL, NULL);
	TAP_OK(r->status == 404 && !strstr(r->body, "TOPSECRET"), "symlink out of the root: 404");
	r = req("GET", "/%2e%2e/secret.txt", NULL, NULL);
	TAP_OK(r->status == 400 && !strstr(r->body, "TOPSECRET"), "encoded .. : 400");
	r = req("POST", "/app.js", "x", NULL);
	TAP_OK(r->status == 405, "POST on a static file: 405");
	r = req("GET", "/metrics", NULL, NULL);
	TAP_OK(r->status == 200 && strstr(r->body, "hisn_events_total"), "metrics_public: no auth needed");
	api_stop(w);
	snprintf(url, sizeof url, "%s", saved);
}

/* ---- raw HTTP on a plain_http instance ---------------------------------------------- */
static int raw(int port, const char *request, size_t n, char *out, size_t cap)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	struct timeval tv = {10, 0};

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, request + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	for (;;) {
		ssize_t k = recv(fd, out + got, cap - 1 - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
		if (got == cap - 1)
			break;
	}
	out[got] = '\0';
	close(fd);
	return (int)got;
}

static void t_raw(void)
{
	api_options o = opts(true);
	api *p = NULL;
	core_err err;
	char out[8192];

	TAP_OK(api_start(&o, &p, &err) == 0, "plain HTTP instance");
	int port = api_port(p);
	const char *q1 = "GET /api/v1/events?x=%zz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	raw(port, q1, strlen(q1), out, sizeof out);
	TAP_OK(strstr(out, " 400 ") && strstr(out, "percent escape"), "bad percent escape: 400");
	const char *q2 = "GET /api/v1/../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	raw(port, q2, strlen(q2), out, sizeof out);
	TAP_OK(strstr(out, " 400 "), "raw .. in the path: 400");
	const char *q3 = "POST /api/v1/auth/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
			 "Content-Length: 100000000\r\nConnection: close\r\n\r\n{";
	raw(port, q3, strlen(q3), out, sizeof out);
	TAP_OK(strstr(out, " 413 ") && strstr(out, "payload_too_large"),
	       "declared 100 MB login body: 413 before reading it");
	TAP_OK(!strstr(out, "Strict-Transport-Security"), "no HSTS over plain HTTP");
	static char huge[80000];
	int n = snprintf(huge, sizeof huge, "GET /api/v1/health HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(huge + n, 'a', 70000);
	n += 70000;
	n += snprintf(huge + n, sizeof huge - (size_t)n, "\r\nConnection: close\r\n\r\n");
	int got = raw(port, huge, (size_t)n, out, sizeof out);
	TAP_OK(got <= 0 || strstr(out, " 431 ") || strstr(out, " 413 ") || strstr(out, " 400 "),
	       "a 70 KB header is refused: %.20s", out);
	const char *q4 = "GET /api/v1/health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	raw(port, q4, strlen(q4), out, sizeof out);
	TAP_OK(strstr(out, " 200 ") && strstr(out, "{\"status\":\"ok\"}"), "still serving afterwards");
	api_stop(p);
}

/* Every route of the table is in docs/openapi.yaml with its method. */
static void t_openapi(void)
{
	static char doc[1 << 18];
	size_t n, missing = 0;
	const api_route *rt = api_routes(&n);
	read_file("../docs/openapi.yaml", doc, sizeof doc);
	for (size_t i = 0; i < n; i++) {
		char key[160], m[16];
		snprintf(key, sizeof key, "\n  %s:\n", rt[i].path);
		const char *p = strstr(doc, key);
		size_t k;
		for (k = 0; rt[i].method[k] && k < sizeof m - 1; k++)
			m[k] = (char)(rt[i].method[k] | 0x20);
		m[k] = '\0';
		char mk[32];
		snprintf(mk, sizeof mk, "\n    %s:", m);
		const char *next = p ? strstr(p + strlen(key), "\n  /") : NULL;
		const char *hit = p ? strstr(p, mk) : NULL;
		if (!p || !hit || (next && hit > next)) {
			missing++;
			printf("# not in openapi.yaml: %s %s\n", rt[i].method, rt[i].path);
		}
	}
	TAP_OK(n > 20 && missing == 0, "every route (%zu) is in docs/openapi.yaml", n);
}

int main(void)
{
	core_err err;
	char fp1[130], fp2[130], tok[128];
	sess admin;

	snprintf(dir, sizeof dir, "/tmp/hisn_api_XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(tmpf, sizeof tmpf, "%s/tmp", dir);
	store_options so = {.dir = dir};
	TAP_OK(store_open(&so, &st, &err) == 0, "store opened");
	if (!st)
		return tap_done();
	fixtures();
	api_options o = opts(false);
	int rc = api_start(&o, &srv, &err);
	TAP_OK(rc == 0 && api_port(srv) > 0, "HTTPS server on a free port (%s)", rc ? err.msg : "");
	if (rc)
		return tap_done();
	snprintf(url, sizeof url, "https://127.0.0.1:%d", api_port(srv));
	fingerprint(fp1);
	TAP_OK(strlen(fp1) == 64, "a certificate was generated");

	t_tls();
	t_public();
	t_unauth();
	t_login(&admin);
	t_csrf_tokens(&admin, tok);
	t_roles(&admin);
	t_tenants(&admin);
	t_events(&admin);
	t_ingest_metrics(&admin, tok);
	t_audit(&admin);
	t_logout(&admin);
	t_static();
	t_raw();
	t_openapi();
	t_ratelimit();

	api_stop(srv);
	srv = NULL;
	TAP_OK(api_start(&o, &srv, &err) == 0, "restarted");
	fingerprint(fp2);
	TAP_OK(strlen(fp2) == 64 && strcmp(fp1, fp2) == 0, "the same certificate after a restart");
	snprintf(url, sizeof url, "https://127.0.0.1:%d", api_port(srv));
	char ca[160], full[128], code[32];
	snprintf(ca, sizeof ca, "%s/tls/server.crt", dir);
	snprintf(full, sizeof full, "%s/api/v1/health", url);
	char *argv[] = {"curl", "-s", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", full, NULL};
	TAP_OK(run(argv, code, sizeof code) == 0 && strcmp(code, "200") == 0,
	       "the restarted server serves the same certificate");
	api_stop(srv);
	store_close(st);
	char *rm[] = {"rm", "-rf", dir, NULL};
	run(rm, code, sizeof code);
	return tap_done();
}
