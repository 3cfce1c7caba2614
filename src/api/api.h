/* api.h: the HTTPS server: REST API /api/v1, /metrics, and (later) the web
 * console, on libmicrohttpd with GnuTLS.
 *
 * Security (docs/API.md): HTTPS by default (the user's certificate, or a
 * self-signed one generated at first start under DIR/tls/); users with
 * argon2id passwords (libsodium); sessions in HttpOnly, Secure, SameSite=Strict
 * cookies with a CSRF token required on every state change; API tokens
 * ("Authorization: Bearer hisn_...") stored hashed; roles viewer < analyst <
 * admin; every request scoped to the caller's tenant; login rate limiting per
 * address and per user; request body and header size limits; every change
 * written to the audit log. Errors have one shape:
 *   {"error": {"code": "not_found", "message": "alert 42 does not exist", "status": 404}}
 *
 * The API does not know the pipeline: ingest, rules and metrics go through the
 * hooks the server gives. */
#ifndef HISN_API_H
#define HISN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

typedef struct api api;

/* Who is calling (after authentication). */
typedef struct api_caller {
	int64_t user;        /* user id */
	uint32_t tenant;     /* the user's tenant */
	store_role role;
	const char *name;    /* user name (valid during the request) */
	const char *peer;    /* remote address (valid during the request) */
} api_caller;

typedef struct api_hooks {
	/* POST /api/v1/ingest: body is JSON lines or one JSON array of events (ctype
	 * is the request's Content-Type, may be NULL). Returns the number of events
	 * accepted (>= 0) once they are durable (stored), or a negative code with
	 * err (CORE_EPARSE: bad JSON, with the byte offset; CORE_ETOOBIG; a store
	 * failure). Called on an HTTP thread; may block. */
	int (*ingest)(void *ud, const api_caller *who, const char *body, size_t n,
		      const char *ctype, core_err *err);
	/* GET /metrics: Prometheus text format appended to out. */
	int (*metrics)(void *ud, core_buf *out);
	/* GET /api/v1/health: a JSON object appended to out. */
	int (*health)(void *ud, core_buf *out);
	/* GET /api/v1/rules: {"rules":[{"id","title","level","status","author",
	 * "tags","logsource","enabled","kind","path"}...]} */
	int (*rules_list)(void *ud, core_buf *out);
	/* GET /api/v1/rules/{id}: one rule object as above plus "yaml". STORE_ENOTFOUND. */
	int (*rule_get)(void *ud, const char *id, core_buf *out, core_err *err);
	/* PATCH /api/v1/rules/{id} {"enabled": bool} (admin). */
	int (*rule_set_enabled)(void *ud, const char *id, bool enabled, core_err *err);
	/* POST /api/v1/rules/validate (analyst): YAML body checked, nothing kept;
	 * appends {"valid":bool,"rules":[ids],"errors":[{"line","column","message"}]}. */
	int (*rules_validate)(void *ud, const char *yaml, size_t n, core_buf *out);
	/* POST /api/v1/rules (admin): YAML body validated, saved, rules reloaded;
	 * appends the same object as validate. CORE_EINVAL when invalid (nothing kept). */
	int (*rules_upload)(void *ud, const char *yaml, size_t n, core_buf *out, core_err *err);
	void *ud;
} api_hooks;

typedef struct api_options {
	const char *host;         /* bind address ("0.0.0.0", "::", "127.0.0.1") */
	const char *port;         /* "0" picks a free one (see api_port) */
	bool plain_http;          /* no TLS (only behind a TLS proxy; tests of HTTP itself) */
	const char *cert_file, *key_file; /* PEM; NULL: DIR/tls/server.{crt,key}, generated if absent */
	const char *data_dir;     /* where tls/ lives */
	const char *web_root;     /* static files of the web console, or NULL */
	size_t max_body;          /* bytes; 0: 16 MiB (ingest), other bodies 1 MiB */
	unsigned threads;         /* 0: 4. Every connection has its own thread (at most
				   * 256); threads bounds the argon2id password checks
				   * running at once (64 MiB each) and, times max_body,
				   * the request bodies held in memory at once */
	int64_t session_ttl_ns;   /* 0: 12 hours */
	bool metrics_public;      /* GET /metrics without authentication (default false) */
	store *store;             /* borrowed; outlives the api */
	api_hooks hooks;
} api_options;

/* Starts listening. Returns 0 with *out (owned by the caller: api_stop), or a
 * negative code with err ("https://0.0.0.0:8443: bind: address in use"). */
int api_start(const api_options *opt, api **out, core_err *err);
int api_port(const api *a);
/* Stops accepting, finishes requests in progress, frees everything. */
void api_stop(api *a);

/* First-start bootstrap, used by the server: creates
 * user name with role admin in the default tenant with a password hashed with
 * argon2id. When password is NULL a random one is generated and written to
 * pass_out (cap bytes). STORE_ECONFLICT when the name exists. */
int api_bootstrap_admin(store *s, const char *name, const char *password, char *pass_out,
			size_t cap, core_err *err);

/* `hisn user add`: creates user name (1..63 letters, digits, '.', '_', '-',
 * '@') with role (STORE_ROLE_*) in tenant (1: the default) with password
 * (borrowed, 12..256 bytes) hashed with argon2id; audited as done by `via`
 * ("cli"). Returns 0 with *id, STORE_ECONFLICT when the name exists, or a
 * negative code with err. */
int api_user_add(store *s, const char *name, int role, uint32_t tenant, const char *password,
		 const char *via, int64_t *id, core_err *err);

/* `hisn token create`: a new API token for the user called name, valid for
 * days days (1..3650), labelled label (borrowed). The token (shown once,
 * only its hash is stored) is written to out (cap >= 64 bytes). */
int api_token_issue(store *s, const char *name, const char *label, unsigned days, char *out,
		    size_t cap, core_err *err);

#endif
