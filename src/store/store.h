/* store.h: durable storage behind one interface.
 *
 * Everything hisn keeps lives here: events (raw and normalized, full-text
 * searchable), alerts, rule state, tenants, users, sessions, API tokens and
 * the audit log. The embedded default is SQLite under the data directory
 * (store_sqlite.c); a PostgreSQL backend can implement the same functions
 * without the pipeline or the API changing.
 *
 * Layout of the SQLite backend (docs/ARCHITECTURE.md, "store"):
 *   DIR/hisn.db                main database: tenants, users, sessions, tokens,
 *                              alerts, rule state, audit log, the partition
 *                              catalog and the schema version (ordered
 *                              migrations, applied at open)
 *   DIR/events/YYYYMMDD.db     one events partition per day of receive time
 *                              (table + event-time index + one FTS5 index of
 *                              the message and of the key fields as tokens);
 *                              retention drops whole files, oldest first
 * Event ids are (day << 36) | rowid in the day's partition: positive, unique,
 * increasing in insertion order (an event is never written to a partition
 * older than the newest one), below 2^53 (exact as JSON numbers). Times in
 * the JSON output are RFC 3339 strings in UTC ("2026-11-27T10:00:00.123Z"),
 * null when unset (0) for alerts, tokens and accounts. docs/STORAGE.md.
 * Every database runs in WAL mode; a crash loses at most the transaction in
 * progress, never a committed one.
 *
 * Threads: one writer thread calls the write functions (store_begin ..
 * store_commit); any number of threads may call the read and account
 * functions at once (each uses its own pooled connection). All SQL uses bound
 * parameters only.
 *
 * Tenants: every stored object belongs to one tenant (tenant 1, "default",
 * exists from the first open). Every read takes the caller's tenant and never
 * returns another tenant's objects; tenant 0 in a query means "all tenants" and
 * is only passed by the server for admins of the default tenant.
 *
 * Errors: 0 / negative CORE_E* code with err filled; STORE_ENOTFOUND when the
 * object does not exist in the caller's tenant, STORE_ECONFLICT on a unique
 * name already taken. */
#ifndef HISN_STORE_H
#define HISN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

enum {
	STORE_ENOTFOUND = -20,
	STORE_ECONFLICT = -21,
};

typedef struct store store;

typedef struct store_options {
	const char *dir;          /* data directory, created 0700 if absent (borrowed) */
	uint64_t retain_days;     /* drop partitions older than this; 0: keep all */
	uint64_t retain_bytes;    /* drop oldest partitions while the total is above; 0: no bound */
	unsigned readers;         /* pooled read connections; 0: 4 */
} store_options;

/* Opens (creating and migrating as needed) the store. Returns 0 with *out
 * (owned by the caller, free with store_close) or a negative code with err
 * ("DIR/hisn.db: schema version 9 is newer than this hisn (5)", say). */
int store_open(const store_options *opt, store **out, core_err *err);
/* Closes every connection; a transaction left open is rolled back. */
void store_close(store *s);
/* The schema version of the main database after migration. */
int store_schema_version(const store *s);

/* ---- writing (the writer thread only) ---------------------------------- */

/* One event to store. Every pointer is borrowed for the call. */
typedef struct store_event {
	uint32_t tenant;
	int64_t ts;             /* event time (ns since 1970 UTC); CORE_TS_NONE: received is used */
	int64_t received;       /* receive time (ns); picks the partition */
	const char *input;      /* input name ("syslog-tcp", "relp", "http", "import") */
	const char *format;     /* parser name ("syslog", "json"...) or NULL */
	const char *raw; size_t raw_len;       /* the record as received, or NULL */
	const char *json; size_t json_len;     /* the normalized event (core_event_to_json) */
	const char *message; size_t message_len; /* full-text searched text (message, or the raw record) */
	/* key fields, indexed for search; NULL when the event has none */
	const char *host, *user, *src_ip, *dst_ip, *action, *outcome, *program, *code;
} store_event;

/* One alert to store. Every pointer is borrowed for the call. */
typedef struct store_alert {
	uint32_t tenant;
	const char *rule_id;     /* the Sigma rule's id (or its name/title when it has none) */
	const char *rule_title;
	const char *level;       /* informational, low, medium, high, critical */
	const char *tags_json;   /* JSON array of the rule's tags ("attack.t1110"...) or NULL */
	const char *author;      /* the rule author (DRL 1.1 requires showing it), or NULL */
	const char *kind;        /* "rule" or "correlation" */
	int64_t ts;              /* time of the (last) matching event */
	const int64_t *event_ids; size_t n_events; /* matching stored events */
	const char *host, *user, *src_ip, *dst_ip; /* key fields of the event, or NULL */
	const char *group_json;  /* correlation: {"field": "value"...} of the group-by, or NULL */
	const char *detail_json; /* key fields of the event as a JSON object, or NULL */
} store_alert;

/* Starts a write transaction (BEGIN IMMEDIATE on every database touched). */
int store_begin(store *s, core_err *err);
/* Adds n events inside the transaction; ids[i] (caller's array of n) gets the
 * id of ev[i]. Ids are positive, unique over all partitions and increase in
 * insertion order. */
int store_add_events(store *s, const store_event *ev, size_t n, int64_t *ids, core_err *err);
/* Adds an alert inside the transaction, or groups it: when an alert of the
 * same tenant, rule and host is still "new" and its last_seen is within
 * group_window_ns of a->ts, that alert's count grows by one, its last_seen
 * moves and the event ids are appended (at most 100 kept, the count stays
 * exact). *id gets the alert's id; *grouped tells which happened (may be NULL). */
int store_add_alert(store *s, const store_alert *a, int64_t group_window_ns, int64_t *id,
		    bool *grouped, core_err *err);
/* Commits everything since store_begin. On failure everything is rolled back. */
int store_commit(store *s, core_err *err);
int store_rollback(store *s);

/* Applies retention (age, then size): drops whole partitions. *dropped (may be
 * NULL) gets how many. Writer thread, outside a transaction. */
int store_retain(store *s, unsigned *dropped, core_err *err);

/* ---- reading -------------------------------------------------------------
 * Results are written as JSON into out (appended), so that the API can send
 * them as they are. */

typedef struct store_filter {
	const char *field;  /* "host", "user", "src_ip", "dst_ip", "action", "outcome",
			     * "program", "code", "input" (indexed), or any dotted path of
			     * the normalized event ("process.command_line"), matched exactly */
	const char *value;
} store_filter;

typedef struct store_event_query {
	uint32_t tenant;           /* 0: all tenants */
	int64_t from, to;          /* event time range [from, to) in ns; 0: open */
	const char *text;          /* FTS5 full-text query on the message, or NULL */
	const store_filter *filters; size_t n_filters; /* ANDed */
	const char *cursor;        /* next_cursor of the previous page, or NULL */
	unsigned limit;            /* page size; 0: 100; capped at 1000 */
} store_event_query;

/* Newest first. Appends {"events":[{"id":..,"ts":"RFC 3339","received":..,
 * "tenant":..,"input":..,"format":..,"raw":..,"event":{normalized}}...],
 * "next_cursor":"..."|null} to out. A malformed cursor or FTS query is
 * CORE_EINVAL with a message for the user. */
int store_search_events(store *s, const store_event_query *q, core_buf *out, core_err *err);
/* Appends one event object (as in the search) or STORE_ENOTFOUND. */
int store_get_event(store *s, uint32_t tenant, int64_t id, core_buf *out, core_err *err);

typedef struct store_alert_query {
	uint32_t tenant;          /* 0: all */
	const char *status;       /* "new", "acknowledged", "closed" or NULL */
	const char *level;        /* minimum level or NULL */
	const char *rule_id, *host, *assignee; /* exact, or NULL */
	int64_t from, to;         /* last_seen range, 0: open */
	const char *cursor;
	unsigned limit;           /* 0: 100, capped at 1000 */
} store_alert_query;

/* Newest (last_seen) first: {"alerts":[{"id","tenant","rule_id","rule_title",
 * "level","tags":[..],"author","kind","first_seen","last_seen","count",
 * "event_ids":[..],"host","user","src_ip","dst_ip","group":{..}|null,
 * "detail":{..}|null,"status","close_reason","assignee","created","updated"}],
 * "next_cursor":..} */
int store_list_alerts(store *s, const store_alert_query *q, core_buf *out, core_err *err);
int store_get_alert(store *s, uint32_t tenant, int64_t id, core_buf *out, core_err *err);

/* Changes an alert's status and/or assignee (NULL: unchanged; assignee "" clears).
 * status "closed" requires a reason (CORE_EINVAL otherwise). */
int store_update_alert(store *s, uint32_t tenant, int64_t id, const char *status,
		       const char *close_reason, const char *assignee, core_err *err);

/* Counts for /metrics and the health endpoint. */
typedef struct store_stats {
	uint64_t events, alerts, partitions, bytes;
	int64_t oldest_received; /* ns, 0 when empty */
} store_stats;
int store_get_stats(store *s, store_stats *st, core_err *err);

/* ---- rule state (global, not per tenant) ---------------------------------- */
int store_rule_set_enabled(store *s, const char *rule_id, bool enabled, core_err *err);
/* Calls fn for every rule explicitly disabled. */
int store_rules_disabled(store *s, void (*fn)(void *ud, const char *rule_id), void *ud,
			 core_err *err);

/* ---- tenants, users, sessions, tokens, audit -------------------------------- */

typedef enum store_role { STORE_ROLE_VIEWER = 1, STORE_ROLE_ANALYST = 2, STORE_ROLE_ADMIN = 3 } store_role;

typedef struct store_user {
	int64_t id;
	uint32_t tenant;
	store_role role;
	bool disabled;
	char name[64];
	char pass_hash[128];  /* libsodium crypto_pwhash_str (argon2id) */
} store_user;

int store_tenant_create(store *s, const char *name, uint32_t *id, core_err *err);
/* {"tenants":[{"id","name","created"}]}; tenant 0: all, else only that one. */
int store_tenant_list(store *s, uint32_t tenant, core_buf *out, core_err *err);

int store_user_create(store *s, uint32_t tenant, const char *name, const char *pass_hash,
		      store_role role, int64_t *id, core_err *err);
/* By name (names are unique over all tenants: they log in with it). */
int store_user_get(store *s, const char *name, store_user *u, core_err *err);
int store_user_get_id(store *s, int64_t id, store_user *u, core_err *err);
/* {"users":[{"id","tenant","name","role","disabled","created"}]} (never the hash). */
int store_user_list(store *s, uint32_t tenant, core_buf *out, core_err *err);
/* Any of pass_hash (NULL: unchanged), role (0: unchanged), disabled (-1: unchanged). */
int store_user_update(store *s, uint32_t tenant, int64_t id, const char *pass_hash, int role,
		      int disabled, core_err *err);
int store_user_count(store *s, uint64_t *n, core_err *err);

/* Sessions and tokens are kept only as hashes (hash: 64 hex chars, the caller
 * hashes the secret with libsodium's generic hash). */
int store_session_create(store *s, const char *hash, int64_t user, int64_t expires_ns,
			 const char *csrf, core_err *err);
/* *user and csrf (65 bytes) of a live session, STORE_ENOTFOUND when absent or
 * expired. */
int store_session_get(store *s, const char *hash, int64_t now_ns, int64_t *user, char csrf[65],
		      core_err *err);
int store_session_delete(store *s, const char *hash, core_err *err);

int store_token_create(store *s, int64_t user, const char *name, const char *hash,
		       int64_t expires_ns, int64_t *id, core_err *err);
/* The token's user, STORE_ENOTFOUND when absent, revoked or expired. */
int store_token_get(store *s, const char *hash, int64_t now_ns, int64_t *user, core_err *err);
/* {"tokens":[{"id","user","name","created","expires","last_used"}]} of the tenant's users. */
int store_token_list(store *s, uint32_t tenant, core_buf *out, core_err *err);
int store_token_revoke(store *s, uint32_t tenant, int64_t id, core_err *err);

/* Audit log of every change: who (user id, 0 for the system), what
 * ("alert.update", "user.create"...), the object ("alert:42"), a JSON detail. */
int store_audit(store *s, uint32_t tenant, int64_t user, const char *action, const char *object,
		const char *detail_json, core_err *err);
/* {"audit":[{"id","ts","tenant","user","action","object","detail"}],"next_cursor"} newest first. */
int store_audit_list(store *s, uint32_t tenant, const char *cursor, unsigned limit, core_buf *out,
		     core_err *err);

#endif
