/* api_int.h: what the files of src/api share: the server and request
 * structures, the route table, the pure parsers of request parts (query
 * strings, cookies, the Authorization header, the JSON bodies of each endpoint;
 * fuzzed by fuzz/fuzz_api.c), the login rate limiter and the handlers. */
#ifndef HISN_API_INT_H
#define HISN_API_INT_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "core/core.h"

struct MHD_Daemon;
struct MHD_Connection;

#define API_SMALL_BODY ((size_t)1 << 20)    /* every body but ingest */
#define API_DEFAULT_INGEST ((size_t)16 << 20)
#define API_OUT_MAX ((size_t)256 << 20)     /* a response body */
#define API_MAX_PARAMS 32                   /* query parameters */
#define API_MAX_FILTERS 16                  /* event search filters */
#define API_NAME_MAX 64                     /* user, tenant and token names (with the NUL) */
#define API_PASS_MIN 12
#define API_PASS_MAX 256
#define API_SECRET_LEN 43                   /* base64url of 32 bytes, no padding */
#define API_TOKEN_PREFIX "hisn_"
#define API_COOKIE "hisn_session"

/* ---- pure parsers (api_parse.c) ------------------------------------------ */

/* One decoded query parameter: key and value NUL-terminated, in the arena
 * given to api_query_parse. */
typedef struct api_kv {
	const char *key, *val;
	size_t klen, vlen;
} api_kv;

/* Splits and percent-decodes the query string qs[0..n) ("a=1&b=%20x", '+' is
 * a space) into kv (caller's array of cap). Decoded text is copied into ar
 * (borrowed). A parameter given twice, %00, bad escapes, invalid UTF-8 or more
 * than cap parameters are CORE_EINVAL with a message. */
int api_query_parse(const char *qs, size_t n, core_arena *ar, api_kv *kv, size_t cap, size_t *nkv,
		    core_err *err);
/* The value of parameter key, or NULL. */
const char *api_kv_get(const api_kv *kv, size_t n, const char *key);

/* A time parameter: RFC 3339 or epoch milliseconds (digits only). */
int api_parse_time(const char *s, int64_t *ns, core_err *err);
/* A positive decimal id (1..INT64_MAX). */
int api_parse_id(const char *s, int64_t *id);

/* GET /events parameters. Pointers in q and filters borrow the kv strings. */
typedef struct api_events_params {
	store_event_query q;
	store_filter filters[API_MAX_FILTERS];
} api_events_params;
int api_events_params_parse(const api_kv *kv, size_t n, api_events_params *p, core_err *err);
/* GET /alerts parameters (borrowing the kv strings). */
int api_alerts_params_parse(const api_kv *kv, size_t n, store_alert_query *q, core_err *err);
/* GET /audit (and other pages): cursor and limit; every other key but
 * "tenant" is an error. */
int api_page_params_parse(const api_kv *kv, size_t n, const char **cursor, unsigned *limit,
			  core_err *err);
/* The "tenant" parameter: *present false when absent; "all" or "0" is 0. */
int api_tenant_param(const api_kv *kv, size_t n, bool *present, uint32_t *tenant, core_err *err);

/* The value of cookie name in a Cookie header h[0..n): *val points into h
 * (borrowed), *vlen its length. Returns 0, or STORE_ENOTFOUND when absent. */
int api_cookie_get(const char *h, size_t n, const char *name, const char **val, size_t *vlen);
/* The secret of "Bearer hisn_..." in an Authorization header: *tok points into
 * h. CORE_EINVAL when the scheme or the token's shape is wrong. */
int api_bearer_get(const char *h, size_t n, const char **tok, size_t *tlen);
/* True when s[0..n) is API_SECRET_LEN base64url characters. */
bool api_secret_shape(const char *s, size_t n);

/* JSON bodies. Each reads body[0..n) (yyjson, no extensions), rejects
 * unknown or repeated keys and wrong types with a message for the user
 * (byte offset for malformed JSON), and copies strings into the struct. */
typedef struct api_login_req {
	char username[API_NAME_MAX];
	char password[API_PASS_MAX + 1];
} api_login_req;
int api_body_login(const char *body, size_t n, api_login_req *r, core_err *err);

typedef struct api_alert_patch {
	char status[16];       /* "" when absent */
	char close_reason[512];
	char assignee[API_NAME_MAX];
	bool has_reason, has_assignee;
} api_alert_patch;
int api_body_alert_patch(const char *body, size_t n, api_alert_patch *r, core_err *err);

int api_body_rule_patch(const char *body, size_t n, bool *enabled, core_err *err);

typedef struct api_token_req {
	char name[API_NAME_MAX];
	int64_t expires_days;  /* 1..3650, default 90 */
} api_token_req;
int api_body_token_create(const char *body, size_t n, api_token_req *r, core_err *err);

typedef struct api_user_req {
	char name[API_NAME_MAX];
	char password[API_PASS_MAX + 1]; /* "" when absent (PATCH) */
	int role;                        /* 0 when absent (PATCH) */
	int disabled;                    /* -1 when absent */
} api_user_req;
int api_body_user_create(const char *body, size_t n, api_user_req *r, core_err *err);
int api_body_user_patch(const char *body, size_t n, api_user_req *r, core_err *err);
int api_body_tenant_create(const char *body, size_t n, char name[API_NAME_MAX], core_err *err);

/* "viewer" / "analyst" / "admin" -> role, 0 when unknown. */
int api_role_parse(const char *s);
const char *api_role_name(int role);
/* A user or tenant name: 1..63 of [A-Za-z0-9._@-], starting alphanumeric. */
bool api_name_ok(const char *s);

/* Splits the request target uri into a path (percent-decoded into ar) and the
 * raw query (pointing into uri, may be NULL). Rejects NUL, "..", "." or empty
 * segments, backslashes and invalid UTF-8 (CORE_EINVAL). */
int api_target_parse(const char *uri, core_arena *ar, char **path, const char **query,
		     size_t *qlen, core_err *err);

/* Appends s[0..n) as a JSON string (quoted, escaped) to out. */
int api_json_str(core_buf *out, const char *s, size_t n);

/* ---- login rate limiting (api_auth.c) --------------------------------- */
#define API_RL_SLOTS 4096
#define API_RL_MAX_USER 5   /* failures per user name and window */
#define API_RL_MAX_IP 20    /* failures per address and window (NAT, proxies) */
#define API_RL_WINDOW_NS (15 * 60 * INT64_C(1000000000))

typedef struct api_rl_slot {
	uint64_t key;    /* keyed hash of "ip:..." or "user:..."; 0: free */
	int64_t start;   /* first failure of the window */
	uint32_t fails;
} api_rl_slot;

typedef struct api_rl {
	pthread_mutex_t mu;
	unsigned char hkey[16]; /* siphash key: slots cannot be aimed at */
	api_rl_slot slot[API_RL_SLOTS];
} api_rl;

/* Seconds until key may try again (0: now), after max failures. */
int64_t api_rl_blocked(api_rl *rl, const char *key, uint32_t max, int64_t now);
void api_rl_fail(api_rl *rl, const char *key, int64_t now);
void api_rl_reset(api_rl *rl, const char *key);

/* ---- the server ------------------------------------------------------------- */
struct api {
	api_options opt;          /* copy; strings borrowed from the caller */
	struct MHD_Daemon *d;
	int port;
	bool tls;
	char *cert_pem, *key_pem; /* owned */
	size_t ingest_max;
	int64_t session_ttl;
	char dummy_hash[128];     /* verified when the user does not exist */
	sem_t pw_sem;             /* bounds concurrent argon2 runs */
	bool pw_sem_ok;
	pthread_mutex_t mem_mu;   /* request bodies in memory, all connections */
	size_t mem_used, mem_max;
	api_rl rl;
	char web_real[4096];      /* realpath of web_root, "" when none */
};

typedef enum api_auth_kind { API_AUTH_NONE, API_AUTH_SESSION, API_AUTH_TOKEN } api_auth_kind;

typedef struct api_req api_req;
typedef void (*api_handler)(api_req *r);

enum {
	API_R_PUBLIC = 1u << 0,    /* no authentication */
	API_R_OPTAUTH = 1u << 1,   /* authentication used when present */
	API_R_JSON = 1u << 2,      /* JSON body (application/json) */
	API_R_YAML = 1u << 3,      /* YAML body */
	API_R_INGEST = 1u << 4,    /* ingest body (max_body) */
	API_R_DEFTENANT = 1u << 5, /* admins of the default tenant only */
	API_R_SESSION = 1u << 6,   /* a session, not a token */
};

typedef struct api_route {
	const char *method;
	const char *path;  /* "/api/v1/alerts/{id}": {id} is one segment */
	int min_role;      /* 0 with API_R_PUBLIC */
	unsigned flags;
	api_handler fn;
} api_route;

/* The route table (for the dispatcher and for tests comparing it with
 * docs/openapi.yaml). */
const api_route *api_routes(size_t *n);

struct api_req {
	api *a;
	struct MHD_Connection *con;
	const char *method;
	const api_route *rt;
	core_arena *ar;           /* owned: path, query, parameters */
	char *path;
	api_kv kv[API_MAX_PARAMS];
	size_t nkv;
	const char *param;        /* {id} of the route, in ar */
	core_buf body;            /* request body (owned) */
	size_t body_limit, accounted;
	bool too_big, early;      /* early: answered before the body */
	/* the caller */
	api_auth_kind auth;
	api_caller who;
	char name[API_NAME_MAX];
	char peer[64];
	char sess_hash[65], csrf[65];
	uint32_t tenant;          /* effective tenant (?tenant=), 0: all */
	bool tenant_given;
	/* the answer */
	int status;
	core_buf out;             /* owned until handed to MHD */
	const char *ctype;
	char cookie[256];         /* Set-Cookie, "" when none */
	char extra_name[32], extra_val[128]; /* one more header (Allow, Retry-After) */
};

/* Sets an error answer {"error":{...}} with a printf message. */
void api_fail(api_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets the error answer of a store or hook code (404, 409, 400, 413, 500). */
void api_fail_code(api_req *r, int code, const core_err *err);
/* True when r->who may act on r->tenant for a write (tenant 0 is refused). */
bool api_write_tenant(api_req *r);
/* Does tenant t exist? 1 yes, 0 no, -1 on a store failure (r answered). */
int api_tenant_exists(api_req *r, uint32_t t);
/* A header of the request (borrowed from MHD) or NULL. */
const char *api_header(api_req *r, const char *name);
/* Writes an audit entry for the caller (failures are logged, not fatal). */
void api_audit(api_req *r, uint32_t tenant, const char *action, const char *object,
	       const char *detail_json);
void api_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* api_auth.c */
int api_auth_init(api *a, core_err *err);
void api_auth_fini(api *a);
/* Authenticates r from its Authorization header or session cookie. Returns
 * true with r->who filled, or false when no credentials or invalid ones. */
bool api_authenticate(api_req *r);
/* Hex of the generic hash of a secret (hex: 65 bytes). */
void api_secret_hash(const char *secret, size_t n, char hex[65]);
void api_h_login(api_req *r);
void api_h_logout(api_req *r);
void api_h_me(api_req *r);
void api_h_tokens_list(api_req *r);
void api_h_tokens_create(api_req *r);
void api_h_tokens_revoke(api_req *r);
/* argon2id hash of pw into out (128), bounded by the api's semaphore when a is
 * not NULL. */
int api_pw_hash(api *a, const char *pw, char out[128]);

/* api_data.c */
void api_h_health(api_req *r);
void api_h_metrics(api_req *r);
void api_h_events(api_req *r);
void api_h_event(api_req *r);
void api_h_alerts(api_req *r);
void api_h_alert(api_req *r);
void api_h_alert_patch(api_req *r);
void api_h_rules(api_req *r);
void api_h_rule(api_req *r);
void api_h_rule_patch(api_req *r);
void api_h_rules_validate(api_req *r);
void api_h_rules_upload(api_req *r);
void api_h_ingest(api_req *r);

/* api_admin.c */
void api_h_users(api_req *r);
void api_h_user_create(api_req *r);
void api_h_user_patch(api_req *r);
void api_h_tenants(api_req *r);
void api_h_tenant_create(api_req *r);
void api_h_audit(api_req *r);

/* api_tls.c: loads the certificate and key (PEM, owned by a), generating a
 * self-signed pair under DIR/tls/ when none is given and none exists. */
int api_tls_load(api *a, core_err *err);
/* Generates a self-signed ECDSA P-256 certificate (2 years) for the DNS name
 * hostname, localhost, 127.0.0.1, ::1 and bind_ip (when it is one address, may
 * be NULL) into the PEM strings (malloc'd, owned by the caller). */
int api_tls_generate(const char *hostname, const char *bind_ip, char **cert_pem, char **key_pem,
		     core_err *err);

/* api_static.c: answers GET/HEAD of a file under web_root. Returns true when
 * a response was queued. */
bool api_static_serve(api_req *r);
/* Content-Type of a file name. */
const char *api_mime_type(const char *path);
/* Adds the security headers to an MHD response. */
struct MHD_Response;
void api_secure_headers(const api *a, struct MHD_Response *resp, bool api_answer);

#endif
