/* server.h: `hisn server`, the daemon that ties the modules together.
 *
 * Data path (docs/ARCHITECTURE.md, "server"):
 *   net (syslog UDP/TCP/TLS, RELP) and api (POST /api/v1/ingest)
 *     -> the input queue (bounded by records and bytes; full = backpressure)
 *     -> parse+detect workers, one per core (parse_stream, engine_match,
 *        corr_feed under one lock; every event serialized for storage)
 *     -> the store queue (bounded)
 *     -> one storage writer (batched transactions; alerts grouped by the
 *        store; HTTP ingest answered after its commit)
 * The detector (rules, logsource map, engine, correlation state) is built
 * once and swapped whole on SIGHUP; a batch holds a reference to the
 * detector it was matched with.
 *
 * Configuration: a flat YAML mapping (-c FILE) whose every key is also a flag
 * (`--KEY VALUE`); flags win over the file. docs/SERVER.md lists the keys. */
#ifndef HISN_SERVER_H
#define HISN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct server_strs {
	char **v; /* malloc-owned strings */
	size_t n, cap;
} server_strs;

typedef struct server_config {
	char *file;            /* the -c file, or NULL (malloc-owned, like every string here) */
	char *data;            /* data directory */
	server_strs syslog;    /* udp://, tcp://, tls:// URLs */
	server_strs relp;      /* HOST:PORT (relp:// optional) */
	char *http;            /* https://HOST:PORT (http:// only for a TLS proxy in front) */
	server_strs rules;     /* rule files or folders; empty: the project's default rules */
	server_strs logsources;/* extra logsource maps */
	char *placeholders;    /* expand values, or NULL */
	char *tls_cert, *tls_key, *tls_ca;  /* syslog TLS and RELP TLS; HTTPS uses them too when set */
	bool tls_client_cert;  /* require client certificates on tls:// */
	bool relp_tls;
	unsigned workers;      /* parse+detect threads; 0: one per core */
	unsigned queue;        /* input queue capacity in records */
	uint64_t queue_bytes;  /* input queue capacity in bytes */
	uint64_t retain_days, retain_bytes;
	int64_t alert_window_ns; /* repeated alerts of one rule on one host are grouped within it */
	uint64_t corr_memory;  /* bytes of correlation state */
	uint64_t max_record;   /* bytes of one syslog record */
	bool metrics_public;   /* /metrics without credentials */
	char *web_root;        /* web console files, or NULL */
	char *admin;           /* name of the first admin (created at first start) */
	unsigned tenant;       /* tenant of the network inputs */
	bool quiet;            /* only warnings and errors on stderr */
} server_config;

/* Defaults (docs/SERVER.md). Free with server_config_free. */
void server_config_init(server_config *c);
void server_config_free(server_config *c);
/* Reads a YAML config file into c (keys as in server_config_set). Errors name
 * FILE:LINE:COL. */
int server_config_file(server_config *c, const char *path, core_err *err);
/* Sets one key from text, as a flag gives it ("syslog", "udp://0.0.0.0:514").
 * List keys append (and accept comma-separated values); CORE_EINVAL with a
 * message for an unknown key or a bad value. */
int server_config_set(server_config *c, const char *key, const char *value, core_err *err);
/* Empties a list key (a list given on the command line replaces the file's). */
void server_config_reset(server_config *c, const char *key);
/* Whether key takes no value (a boolean flag given alone: --tls-client-cert). */
bool server_config_is_bool(const char *key);
/* Lists the keys with their help text. */
void server_config_keys(void (*fn)(void *ud, const char *key, const char *help), void *ud);

/* Checks everything start-up would check (URLs, files, certificates, rules
 * load) without binding or writing; prints a summary to stderr. Returns 0 or
 * CLI-style exit status 3 with messages on stderr. */
int server_check(const server_config *c);

/* Runs the server in the foreground until SIGTERM or SIGINT (SIGHUP reloads
 * rules and config). Logs to stderr. Returns an exit status (0 clean). */
int server_run(server_config *c);

#endif
