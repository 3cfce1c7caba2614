/* api.c: the HTTP(S) server on libmicrohttpd: start and stop, the route
 * table, the life of a request (target parsing, routing, authentication,
 * role, CSRF and tenant checks, body limits, dispatch) and the answers with
 * their security headers.
 *
 * Threads: one thread per connection (MHD_USE_THREAD_PER_CONNECTION) with at
 * most API_CONN_MAX connections. Handlers block (argon2id verification, the
 * ingest hook waiting for durability, SQLite reads): with a small pool one
 * slow request stalls every connection of its thread; here it only stalls its
 * own. What costs memory is bounded apart: password hashes by a semaphore of
 * `threads`, request bodies held at once by a byte budget. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api/api_int.h"

#define API_CONN_MAX 256
#define API_CONN_TIMEOUT 30 /* seconds without traffic */

static const api_route routes[] = {
	{"GET", "/api/v1/health", 0, API_R_PUBLIC | API_R_OPTAUTH, api_h_health},
	{"POST", "/api/v1/auth/login", 0, API_R_PUBLIC | API_R_JSON, api_h_login},
	{"POST", "/api/v1/auth/logout", STORE_ROLE_VIEWER, 0, api_h_logout},
	{"GET", "/api/v1/auth/me", STORE_ROLE_VIEWER, 0, api_h_me},
	{"GET", "/api/v1/tokens", STORE_ROLE_VIEWER, 0, api_h_tokens_list},
	{"POST", "/api/v1/tokens", STORE_ROLE_VIEWER, API_R_JSON | API_R_SESSION, api_h_tokens_create},
	{"DELETE", "/api/v1/tokens/{id}", STORE_ROLE_VIEWER, 0, api_h_tokens_revoke},
	{"GET", "/api/v1/events", STORE_ROLE_VIEWER, 0, api_h_events},
	{"GET", "/api/v1/events/{id}", STORE_ROLE_VIEWER, 0, api_h_event},
	{"GET", "/api/v1/alerts", STORE_ROLE_VIEWER, 0, api_h_alerts},
	{"GET", "/api/v1/alerts/{id}", STORE_ROLE_VIEWER, 0, api_h_alert},
	{"PATCH", "/api/v1/alerts/{id}", STORE_ROLE_ANALYST, API_R_JSON, api_h_alert_patch},
	{"GET", "/api/v1/rules", STORE_ROLE_VIEWER, 0, api_h_rules},
	{"POST", "/api/v1/rules", STORE_ROLE_ADMIN, API_R_YAML | API_R_DEFTENANT, api_h_rules_upload},
	{"POST", "/api/v1/rules/validate", STORE_ROLE_ANALYST, API_R_YAML, api_h_rules_validate},
	{"GET", "/api/v1/rules/{id}", STORE_ROLE_VIEWER, 0, api_h_rule},
	{"PATCH", "/api/v1/rules/{id}", STORE_ROLE_ADMIN, API_R_JSON | API_R_DEFTENANT, api_h_rule_patch},
	{"POST", "/api/v1/ingest", STORE_ROLE_ANALYST, API_R_INGEST, api_h_ingest},
	{"GET", "/api/v1/users", STORE_ROLE_ADMIN, 0, api_h_users},
	{"POST", "/api/v1/users", STORE_ROLE_ADMIN, API_R_JSON, api_h_user_create},
	{"PATCH", "/api/v1/users/{id}", STORE_ROLE_ADMIN, API_R_JSON, api_h_user_patch},
	{"GET", "/api/v1/tenants", STORE_ROLE_VIEWER, 0, api_h_tenants},
	{"POST", "/api/v1/tenants", STORE_ROLE_ADMIN, API_R_JSON | API_R_DEFTENANT, api_h_tenant_create},
	{"GET", "/api/v1/audit", STORE_ROLE_ADMIN, 0, api_h_audit},
	{"GET", "/metrics", STORE_ROLE_VIEWER, 0, api_h_metrics},
};

const api_route *api_routes(size_t *n)
{
	*n = sizeof routes / sizeof *routes;
	return routes;
}

void api_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "hisn api: %s\n", line);
}

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	fprintf(stderr, "hisn api: %s\n", line);
}

/* ---- answers -------------------------------------------------------------- */

static const char *status_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 429: return "too_many_requests";
	case 503: return "unavailable";
	}
	return "internal";
}

void api_fail(api_req *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->out.len = 0;
	r->status = status;
	r->ctype = "application/json";
	if (core_buf_printf(&r->out, "{\"error\":{\"code\":\"%s\",\"message\":", status_code(status)) ||
	    api_json_str(&r->out, msg, strlen(msg)) ||
	    core_buf_printf(&r->out, ",\"status\":%d}}", status))
		r->out.len = 0;
}

void api_fail_code(api_req *r, int code, const core_err *err)
{
	const char *m = err && err->msg[0] ? err->msg : core_strerror(code);

	switch (code) {
	case STORE_ENOTFOUND:
		api_fail(r, 404, "%s", m);
		break;
	case STORE_ECONFLICT:
		api_fail(r, 409, "%s", m);
		break;
	case CORE_EINVAL:
	case CORE_EPARSE:
		api_fail(r, 400, "%s", m);
		break;
	case CORE_ETOOBIG:
		api_fail(r, 413, "%s", m);
		break;
	default:
		api_log("%s %s: %s", r->method, r->path ? r->path : "?", m);
		api_fail(r, 500, "internal error (see the server log)");
	}
}

const char *api_header(api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, name);
}

void api_secure_headers(const api *a, struct MHD_Response *resp, bool api_answer)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; frame-ancestors 'none'; object-src 'none'; "
				"base-uri 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (a->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	MHD_add_response_header(resp, "Cache-Control", api_answer ? "no-store" : "no-cache");
}

static enum MHD_Result respond(api_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->status == 0)
		api_fail(r, 500, "internal error: no answer");
	if (r->out.len) {
		resp = MHD_create_response_from_buffer_with_free_callback(r->out.len, r->out.data, free);
		if (resp)
			core_buf_init(&r->out, API_OUT_MAX); /* handed to MHD */
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)(uintptr_t)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
	api_secure_headers(r->a, resp, true);
	if (r->cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", r->cookie);
	if (r->extra_name[0])
		MHD_add_response_header(resp, r->extra_name, r->extra_val);
	ret = MHD_queue_response(r->con, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- request state -------------------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	api *a = cls;
	api_req *r = calloc(1, sizeof *r);
	const union MHD_ConnectionInfo *ci;

	if (!r)
		return NULL;
	r->a = a;
	r->con = con;
	r->ar = core_arena_new(4096, 256u << 10);
	core_buf_init(&r->body, API_SMALL_BODY);
	core_buf_init(&r->out, API_OUT_MAX);
	if (!r->ar) {
		free(r);
		return NULL;
	}
	r->path = core_arena_strndup(r->ar, uri, strnlen(uri, 65536));
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(r->peer, sizeof r->peer, "unknown");
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->peer,
				  sizeof r->peer);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  r->peer, sizeof r->peer);
	}
	return r;
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	api *a = cls;
	api_req *r = *con_cls;

	(void)con;
	(void)toe;
	if (!r)
		return;
	if (r->accounted) {
		pthread_mutex_lock(&a->mem_mu);
		a->mem_used -= r->accounted;
		pthread_mutex_unlock(&a->mem_mu);
	}
	if (r->body.data)
		sodium_memzero(r->body.data, r->body.cap); /* may hold a password */
	core_buf_free(&r->body);
	core_buf_free(&r->out);
	core_arena_free(r->ar);
	sodium_memzero(r->csrf, sizeof r->csrf);
	free(r);
	*con_cls = NULL;
}

/* ---- routing -------------------------------------------------------------- */

/* Does path match pattern? *param gets the {id} segment (in the arena). */
static bool path_match(api_req *r, const char *pattern, const char *path, const char **param)
{
	const char *brace = strstr(pattern, "{id}");

	if (!brace)
		return strcmp(pattern, path) == 0;
	size_t pre = (size_t)(brace - pattern), post = strlen(brace + 4);
	size_t n = strlen(path);
	if (n <= pre + post || strncmp(path, pattern, pre) != 0 ||
	    strcmp(path + n - post, brace + 4) != 0)
		return false;
	size_t seg = n - pre - post;
	if (memchr(path + pre, '/', seg))
		return false;
	*param = core_arena_strndup(r->ar, path + pre, seg);
	return *param != NULL;
}

/* Finds the route; 404 or 405 (with Allow) when none. */
static bool route(api_req *r)
{
	char allow[64] = "";
	size_t o = 0;

	for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
		const char *param = NULL;
		if (!path_match(r, routes[i].path, r->path, &param))
			continue;
		if (strcmp(routes[i].method, r->method) == 0) {
			r->rt = &routes[i];
			r->param = param;
			return true;
		}
		int w = snprintf(allow + o, sizeof allow - o, "%s%s", o ? ", " : "", routes[i].method);
		if (w > 0 && (size_t)w < sizeof allow - o)
			o += (size_t)w;
	}
	if (o) {
		snprintf(r->extra_name, sizeof r->extra_name, "Allow");
		snprintf(r->extra_val, sizeof r->extra_val, "%s", allow);
		api_fail(r, 405, "method %s is not allowed on %s", r->method, r->path);
	} else {
		api_fail(r, 404, "no such endpoint: %s", r->path);
	}
	return false;
}

static bool ctype_in(const char *ct, const char *const *set)
{
	size_t n;

	if (!ct)
		return false;
	n = strcspn(ct, "; \t");
	for (; *set; set++)
		if (strlen(*set) == n && strncasecmp(ct, *set, n) == 0)
			return true;
	return false;
}

static const char *const json_types[] = {"application/json", NULL};
static const char *const yaml_types[] = {"application/yaml", "application/x-yaml", "text/yaml",
					 "text/x-yaml", "text/plain", NULL};
static const char *const ingest_types[] = {"application/json", "application/x-ndjson",
					   "application/ndjson", "application/jsonl",
					   "application/x-jsonlines", "application/jsonlines",
					   "text/plain", NULL};

/* Role, default tenant, session-only, CSRF and ?tenant= checks. */
static bool authorize(api_req *r)
{
	const api_route *rt = r->rt;
	bool write = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
	bool root_admin = r->who.role == STORE_ROLE_ADMIN && r->who.tenant == 1;
	core_err err = {0};
	uint32_t t;

	if ((int)r->who.role < rt->min_role) {
		api_fail(r, 403, "%s needs the %s role", rt->path, api_role_name(rt->min_role));
		return false;
	}
	if ((rt->flags & API_R_DEFTENANT) && !root_admin) {
		api_fail(r, 403, "only administrators of the default tenant may do this");
		return false;
	}
	if ((rt->flags & API_R_SESSION) && r->auth != API_AUTH_SESSION) {
		api_fail(r, 403, "this needs a login session, not an API token");
		return false;
	}
	if (write && r->auth == API_AUTH_SESSION) {
		const char *tok = api_header(r, "X-CSRF-Token");
		if (!tok || strlen(tok) != 64 || sodium_memcmp(tok, r->csrf, 64) != 0) {
			api_fail(r, 403, "missing or wrong X-CSRF-Token header");
			return false;
		}
	}
	if (api_tenant_param(r->kv, r->nkv, &r->tenant_given, &t, &err) != 0) {
		api_fail(r, 400, "%s", err.msg);
		return false;
	}
	r->tenant = r->who.tenant;
	if (r->tenant_given) {
		if (!root_admin && t != r->who.tenant) {
			api_fail(r, 403, "only administrators of the default tenant may choose a tenant");
			return false;
		}
		r->tenant = t;
	}
	return true;
}

bool api_write_tenant(api_req *r)
{
	if (r->tenant == 0) {
		api_fail(r, 400, "choose one tenant (?tenant=N) for a change");
		return false;
	}
	return true;
}

/* Everything decided from the request line and headers. Returns true when the
 * request goes on to its body; false when r holds an answer. */
static bool begin(api_req *r)
{
	core_err err = {0};
	const char *query = NULL, *cl;
	size_t qlen = 0;
	bool creds;

	if (!r->path || api_target_parse(r->path, r->ar, &r->path, &query, &qlen, &err) != 0 ||
	    (query && api_query_parse(query, qlen, r->ar, r->kv, API_MAX_PARAMS, &r->nkv, &err) != 0)) {
		api_fail(r, 400, "%s", r->path ? err.msg : "request target too long");
		return false;
	}
	if (strncmp(r->path, "/api/", 5) != 0 && strcmp(r->path, "/metrics") != 0 && r->a->web_real[0])
		return false; /* static: answered by the caller */
	if (!route(r))
		return false;
	creds = api_header(r, "Authorization") || api_header(r, "Cookie");
	bool public = (r->rt->flags & API_R_PUBLIC) ||
		      (r->rt->fn == api_h_metrics && r->a->opt.metrics_public);
	if (!public || ((r->rt->flags & API_R_OPTAUTH) && creds)) {
		if (!api_authenticate(r)) {
			if (public)
				r->auth = API_AUTH_NONE; /* health: the short answer */
			else {
				snprintf(r->extra_name, sizeof r->extra_name, "WWW-Authenticate");
				snprintf(r->extra_val, sizeof r->extra_val, "Bearer realm=\"hisn\"");
				api_fail(r, 401, "authentication required: log in or send a bearer token");
				return false;
			}
		} else if (!authorize(r)) {
			return false;
		}
	}
	unsigned f = r->rt->flags;
	const char *ct = api_header(r, "Content-Type");
	if (((f & API_R_JSON) && !ctype_in(ct, json_types)) ||
	    ((f & API_R_YAML) && !ctype_in(ct, yaml_types)) ||
	    ((f & API_R_INGEST) && !ctype_in(ct, ingest_types))) {
		api_fail(r, 415, "Content-Type %.60s is not accepted here", ct ? ct : "(none)");
		return false;
	}
	r->body_limit = (f & API_R_INGEST) ? r->a->ingest_max : API_SMALL_BODY;
	r->body.max = r->body_limit;
	cl = api_header(r, "Content-Length");
	uint64_t len;
	if (cl && (core_parse_u64(cl, strlen(cl), &len) != 0 || len > r->body_limit)) {
		api_fail(r, 413, "the body is over %zu bytes", r->body_limit);
		return false;
	}
	return true;
}

/* Appends a body chunk, within the request's limit and the global budget. */
static void body_chunk(api_req *r, const char *data, size_t n)
{
	api *a = r->a;

	if (r->too_big || r->status)
		return;
	if (n > r->body_limit - r->body.len) {
		r->too_big = true;
		return;
	}
	pthread_mutex_lock(&a->mem_mu);
	bool ok = a->mem_used + n <= a->mem_max;
	if (ok)
		a->mem_used += n;
	pthread_mutex_unlock(&a->mem_mu);
	if (!ok) {
		snprintf(r->extra_name, sizeof r->extra_name, "Retry-After");
		snprintf(r->extra_val, sizeof r->extra_val, "5");
		api_fail(r, 503, "the server is busy receiving other bodies; retry later");
		return;
	}
	r->accounted += n;
	if (core_buf_add(&r->body, data, n) != 0)
		r->too_big = true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	api_req *r = *con_cls;

	(void)cls;
	(void)url;
	(void)version;
	if (!r)
		return MHD_NO; /* out of memory at the start of the request */
	if (!r->method) {
		r->method = method;
		if (!begin(r)) {
			r->early = true;
			if (!r->rt && !r->status && api_static_serve(r))
				return MHD_YES;
			return respond(r);
		}
		return MHD_YES;
	}
	if (r->early)
		return MHD_YES;
	if (*upload_size) {
		body_chunk(r, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		api_fail(r, 413, "the body is over %zu bytes", r->body_limit);
	else if (!r->status)
		r->rt->fn(r);
	return respond(r);
}

/* ---- start and stop ---------------------------------------------------------- */

static int listen_socket(const api_options *o, int *fd_out, int *family, int *port,
			 core_err *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	const char *scheme = o->plain_http ? "http" : "https";
	int fd = -1, one = 1, zero = 0, rc, gai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	gai = getaddrinfo(o->host, o->port, &hints, &res);
	if (gai != 0) {
		rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s://%s:%s: %s", scheme, o->host, o->port,
				  gai_strerror(gai));
		goto out;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s://%s:%s: socket: %s", scheme, o->host,
				  o->port, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s://%s:%s: bind: %s", scheme, o->host,
				  o->port, strerror(errno));
		goto out;
	}
	*family = res->ai_family;
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	return rc;
}

static int start_daemon(api *a, int fd, int family, core_err *err)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[4] = {{MHD_OPTION_END, 0, NULL}};

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (a->tls) {
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, a->cert_pem};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, a->key_pem};
		tls[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						 "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
	}
	/* the logger first: MHD logs with its own until it is set */
	a->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, a,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, a,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_MAX,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(API_CONN_MAX / 2),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10),
				MHD_OPTION_ARRAY, tls,
				MHD_OPTION_END);
	if (!a->d)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s://%s:%d: the HTTP server did not start",
				    a->tls ? "https" : "http", a->opt.host, a->port);
	return 0;
}

int api_start(const api_options *opt, api **out, core_err *err)
{
	api *a = NULL;
	int rc, fd = -1, family = AF_INET;

	*out = NULL;
	if (!opt || !opt->store || !opt->host || !opt->port)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "api: store, host and port are required");
	if (sodium_init() < 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "api: libsodium did not initialize");
	a = calloc(1, sizeof *a);
	if (!a)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "api: out of memory");
	a->opt = *opt;
	a->tls = !opt->plain_http;
	a->ingest_max = opt->max_body ? opt->max_body : API_DEFAULT_INGEST;
	a->session_ttl = opt->session_ttl_ns > 0 ? opt->session_ttl_ns : 12 * 3600 * INT64_C(1000000000);
	if (a->opt.threads == 0)
		a->opt.threads = 4;
	a->mem_max = a->ingest_max * a->opt.threads;
	if (a->mem_max < ((size_t)64 << 20))
		a->mem_max = (size_t)64 << 20;
	pthread_mutex_init(&a->mem_mu, NULL);
	rc = api_auth_init(a, err);
	if (rc)
		goto out;
	if (a->tls && (rc = api_tls_load(a, err)) != 0)
		goto out;
	if (opt->web_root && !realpath(opt->web_root, a->web_real)) {
		rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "web root %s: %s", opt->web_root,
				  strerror(errno));
		goto out;
	}
	rc = listen_socket(opt, &fd, &family, &a->port, err);
	if (rc)
		goto out;
	rc = start_daemon(a, fd, family, err);
	fd = -1; /* MHD owns the socket from here */
	if (rc)
		goto out;
	*out = a;
	a = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (a)
		api_stop(a);
	return rc;
}

int api_port(const api *a)
{
	return a ? a->port : 0;
}

void api_stop(api *a)
{
	if (!a)
		return;
	if (a->d)
		MHD_stop_daemon(a->d);
	api_auth_fini(a);
	pthread_mutex_destroy(&a->mem_mu);
	if (a->key_pem) {
		sodium_memzero(a->key_pem, strlen(a->key_pem));
		free(a->key_pem);
	}
	free(a->cert_pem);
	free(a);
}
