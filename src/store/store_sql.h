/* store_sql.h: every SQL text of the SQLite backend, in one place: the main
 * database's ordered migrations, the partition schema and the statements
 * prepared once per connection (indexed by the STORE_Q_* enum). */
#ifndef HISN_STORE_SQL_H
#define HISN_STORE_SQL_H

/* ---- main database: ordered migrations (never edit one that shipped; add) ---- */
/* Migration 1: accounts, alerts, rule state, audit, the partition catalog. */
#define STORE_MIG1                                                                              \
	"CREATE TABLE tenants(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"               \
	" created INTEGER NOT NULL);"                                                           \
	"INSERT INTO tenants(id, name, created) VALUES(1, 'default', 0);"                       \
	"CREATE TABLE users(id INTEGER PRIMARY KEY,"                                            \
	" tenant INTEGER NOT NULL REFERENCES tenants(id), name TEXT NOT NULL UNIQUE,"           \
	" pass_hash TEXT NOT NULL, role INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0," \
	" created INTEGER NOT NULL);"                                                           \
	"CREATE INDEX users_tenant ON users(tenant);"                                           \
	"CREATE TABLE sessions(hash TEXT PRIMARY KEY,"                                          \
	" user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, csrf TEXT NOT NULL,"    \
	" created INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"                   \
	"CREATE TABLE tokens(id INTEGER PRIMARY KEY,"                                           \
	" user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,"    \
	" hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, expires INTEGER NOT NULL,"      \
	" last_used INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0);"           \
	"CREATE TABLE alerts(id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL,"                  \
	" rule_id TEXT NOT NULL, rule_title TEXT, level TEXT NOT NULL, level_n INTEGER NOT NULL,"\
	" tags TEXT, author TEXT, kind TEXT, first_seen INTEGER NOT NULL,"                     \
	" last_seen INTEGER NOT NULL, count INTEGER NOT NULL, n_ids INTEGER NOT NULL,"          \
	" event_ids TEXT NOT NULL, host TEXT, user TEXT, src_ip TEXT, dst_ip TEXT,"             \
	" group_json TEXT, detail_json TEXT, status TEXT NOT NULL, close_reason TEXT,"         \
	" assignee TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"                  \
	"CREATE INDEX alerts_last ON alerts(last_seen);"                                        \
	"CREATE INDEX alerts_group ON alerts(tenant, rule_id, host, last_seen)"                 \
	" WHERE status = 'new';"                                                                \
	"CREATE TABLE rule_state(rule_id TEXT PRIMARY KEY, enabled INTEGER NOT NULL,"          \
	" updated INTEGER NOT NULL) WITHOUT ROWID;"                                             \
	"CREATE TABLE audit(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, tenant INTEGER NOT NULL,"\
	" user INTEGER NOT NULL, action TEXT NOT NULL, object TEXT, detail TEXT);"             \
	"CREATE TABLE partitions(day INTEGER PRIMARY KEY, created INTEGER NOT NULL,"           \
	" rows INTEGER NOT NULL DEFAULT 0, min_ts INTEGER, max_ts INTEGER, min_rcv INTEGER);"

/* Migration 2: lookups that grew hot (session expiry sweep, audit per tenant). */
#define STORE_MIG2                                                   \
	"CREATE INDEX sessions_expires ON sessions(expires);"        \
	"CREATE INDEX audit_tenant ON audit(tenant, id);"            \
	"CREATE INDEX tokens_user ON tokens(user);"

/* ---- one events partition (DIR/events/YYYYMMDD.db) ------------------------- */
/* Partition versions: 1 the first; 2 the raw record may be stored compact (a
 * BLOB: where the message is in the json column, and the header; see
 * raw_compact in store_write.c). A hisn that knows only version 1 refuses a
 * version 2 file rather than misread it. Files keep the version they were
 * created with (a version 1 partition is still written in version 1 form). */
#define STORE_PART_VERSION 2
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)
#define STORE_PART_PAGE 16384
/* Writer connection to a partition: 32 MiB of page cache (64 MiB cost 32 MB
 * of the server's RSS for no measurable speed: the pages of an append-only
 * table are cold once written); the WAL is checkpointed by the checkpoint
 * thread (store_ckpt.c), whose WAL hook replaces this automatic checkpoint
 * (kept for the other connections that write: retention, reconciliation). */
#define STORE_PART_WRITER_PRAGMAS "PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=8192;"
/* Only event time has a B-tree index: random (field, ts) indexes cost a
 * page write per event and per index at every commit (measured: 5x slower
 * ingest). The key fields are instead tokens of the FTS5 index's second
 * column: one write-friendly, rowid-ordered structure serves both the full
 * text and the key filters ("h" + 16 hex digits of a hash of the host name,
 * then exact comparison on the column). The FTS5 index is contentless (the
 * text is in raw/json already); blocks summarises event time per 4096
 * rowids, so that a descending-rowid walk of the matches can skip the blocks
 * outside the time range and stop once no older block can hold a newer
 * event. */
#define STORE_PART_SCHEMA                                                                   \
	"CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL,"   \
	" ts INTEGER NOT NULL, received INTEGER NOT NULL, input TEXT, format TEXT, host TEXT," \
	" user TEXT, src_ip TEXT, dst_ip TEXT, action TEXT, outcome TEXT, program TEXT,"       \
	" code TEXT, raw TEXT, json TEXT NOT NULL);"                                           \
	"CREATE INDEX IF NOT EXISTS ev_ts ON events(ts);"                                      \
	"CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(message, keys, content='',"        \
	" columnsize=0);"                                                                      \
	"INSERT INTO fts(fts, rank) VALUES('automerge', 16);"                                  \
	"INSERT INTO fts(fts, rank) VALUES('crisismerge', 64);"                                \
	"INSERT INTO fts(fts, rank) VALUES('pgsz', 4000);"                                     \
	"CREATE TABLE IF NOT EXISTS blocks(b INTEGER PRIMARY KEY, min_ts INTEGER NOT NULL,"   \
	" max_ts INTEGER NOT NULL, min_rcv INTEGER NOT NULL);"

#define STORE_SQL_EV_INSERT                                                                 \
	"INSERT INTO events(tenant, ts, received, input, format, host, user, src_ip, dst_ip,"  \
	" action, outcome, program, code, raw, json)"                                          \
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
#define STORE_SQL_FTS_INSERT "INSERT INTO fts(rowid, message, keys) VALUES(?1, ?2, ?3)"
#define STORE_SQL_BLOCK_UPSERT                                                      \
	"INSERT INTO blocks(b, min_ts, max_ts, min_rcv) VALUES(?1, ?2, ?3, ?4)"       \
	" ON CONFLICT(b) DO UPDATE SET min_ts = min(min_ts, excluded.min_ts),"        \
	" max_ts = max(max_ts, excluded.max_ts), min_rcv = min(min_rcv, excluded.min_rcv)"
#define STORE_SQL_PART_STATS \
	"SELECT (SELECT max(rowid) FROM events), min(min_ts), max(max_ts), min(min_rcv) FROM blocks"
#define STORE_SQL_EV_GET                                                            \
	"SELECT tenant, ts, received, input, format, raw, json FROM events"           \
	" WHERE rowid = ?1 AND (?2 = 0 OR tenant = ?2)"
#define STORE_SQL_BLOCKS "SELECT b, min_ts, max_ts FROM blocks ORDER BY b"

/* ---- main database statements, prepared once per connection ----------------- */
enum {
	STORE_Q_CAT_UPSERT,
	STORE_Q_CAT_LIST,
	STORE_Q_CAT_RANGE,
	STORE_Q_CAT_HAS,
	STORE_Q_CAT_DELETE,
	STORE_Q_CAT_FIX,
	STORE_Q_ALERT_FIND,
	STORE_Q_ALERT_GROW,
	STORE_Q_ALERT_INSERT,
	STORE_Q_ALERT_GET,
	STORE_Q_ALERT_LIST,
	STORE_Q_ALERT_UPDATE,
	STORE_Q_ALERT_COUNT,
	STORE_Q_RULE_SET,
	STORE_Q_RULE_DISABLED,
	STORE_Q_TENANT_CREATE,
	STORE_Q_TENANT_LIST,
	STORE_Q_USER_CREATE,
	STORE_Q_USER_BY_NAME,
	STORE_Q_USER_BY_ID,
	STORE_Q_USER_LIST,
	STORE_Q_USER_UPDATE,
	STORE_Q_USER_COUNT,
	STORE_Q_SESSION_CREATE,
	STORE_Q_SESSION_SWEEP,
	STORE_Q_SESSION_GET,
	STORE_Q_SESSION_DELETE,
	STORE_Q_TOKEN_CREATE,
	STORE_Q_TOKEN_GET,
	STORE_Q_TOKEN_TOUCH,
	STORE_Q_TOKEN_LIST,
	STORE_Q_TOKEN_REVOKE,
	STORE_Q_AUDIT_ADD,
	STORE_Q_AUDIT_LIST,
	STORE_Q_N
};

#define STORE_ALERT_COLS                                                                  \
	"id, tenant, rule_id, rule_title, level, tags, author, kind, first_seen, last_seen," \
	" count, event_ids, host, user, src_ip, dst_ip, group_json, detail_json, status,"   \
	" close_reason, assignee, created, updated"

static const char *const store_sql_q[STORE_Q_N] = {
	[STORE_Q_CAT_UPSERT] =
		"INSERT INTO partitions(day, created, rows, min_ts, max_ts, min_rcv)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(day) DO UPDATE SET"
		" rows = max(rows, excluded.rows), min_ts = min(coalesce(min_ts, excluded.min_ts),"
		" excluded.min_ts), max_ts = max(coalesce(max_ts, excluded.max_ts), excluded.max_ts),"
		" min_rcv = min(coalesce(min_rcv, excluded.min_rcv), excluded.min_rcv)",
	[STORE_Q_CAT_LIST] =
		"SELECT day, rows, min_rcv FROM partitions ORDER BY day",
	[STORE_Q_CAT_RANGE] =
		"SELECT day, max_ts FROM partitions WHERE rows > 0 AND max_ts >= ?1 AND min_ts < ?2"
		" ORDER BY max_ts DESC, day DESC",
	[STORE_Q_CAT_HAS] = "SELECT 1 FROM partitions WHERE day = ?1",
	[STORE_Q_CAT_DELETE] = "DELETE FROM partitions WHERE day = ?1",
	[STORE_Q_CAT_FIX] =
		"INSERT INTO partitions(day, created, rows, min_ts, max_ts, min_rcv)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(day) DO UPDATE SET"
		" rows = excluded.rows, min_ts = excluded.min_ts, max_ts = excluded.max_ts,"
		" min_rcv = excluded.min_rcv",
	[STORE_Q_ALERT_FIND] =
		"SELECT id, n_ids, event_ids, first_seen, last_seen FROM alerts"
		" WHERE tenant = ?1 AND rule_id = ?2 AND host IS ?3 AND status = 'new'"
		" AND last_seen BETWEEN ?4 AND ?5 ORDER BY last_seen DESC LIMIT 1",
	[STORE_Q_ALERT_GROW] =
		"UPDATE alerts SET count = count + 1, first_seen = min(first_seen, ?2),"
		" last_seen = max(last_seen, ?2), n_ids = ?3, event_ids = ?4, updated = ?5"
		" WHERE id = ?1",
	[STORE_Q_ALERT_INSERT] =
		"INSERT INTO alerts(tenant, rule_id, rule_title, level, level_n, tags, author, kind,"
		" first_seen, last_seen, count, n_ids, event_ids, host, user, src_ip, dst_ip,"
		" group_json, detail_json, status, created, updated) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
		" ?7, ?8, ?9, ?9, 1, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 'new', ?18, ?18)",
	[STORE_Q_ALERT_GET] =
		"SELECT " STORE_ALERT_COLS " FROM alerts WHERE id = ?1 AND (?2 = 0 OR tenant = ?2)",
	[STORE_Q_ALERT_LIST] =
		"SELECT " STORE_ALERT_COLS " FROM alerts WHERE (?1 = 0 OR tenant = ?1)"
		" AND (?2 IS NULL OR status = ?2) AND level_n >= ?3 AND (?4 IS NULL OR rule_id = ?4)"
		" AND (?5 IS NULL OR host = ?5) AND (?6 IS NULL OR assignee = ?6)"
		" AND last_seen >= ?7 AND last_seen < ?8 AND (last_seen < ?9 OR id < ?10)"
		" ORDER BY last_seen DESC, id DESC LIMIT ?11",
	[STORE_Q_ALERT_UPDATE] =
		"UPDATE alerts SET status = coalesce(?3, status),"
		" close_reason = CASE WHEN ?3 IS NULL THEN close_reason WHEN ?3 = 'closed' THEN ?4"
		" ELSE NULL END,"
		" assignee = CASE WHEN ?5 IS NULL THEN assignee WHEN ?5 = '' THEN NULL ELSE ?5 END,"
		" updated = ?6 WHERE id = ?1 AND (?2 = 0 OR tenant = ?2)",
	[STORE_Q_ALERT_COUNT] = "SELECT count(*) FROM alerts",
	[STORE_Q_RULE_SET] =
		"INSERT INTO rule_state(rule_id, enabled, updated) VALUES(?1, ?2, ?3)"
		" ON CONFLICT(rule_id) DO UPDATE SET enabled = excluded.enabled,"
		" updated = excluded.updated",
	[STORE_Q_RULE_DISABLED] = "SELECT rule_id FROM rule_state WHERE enabled = 0 ORDER BY rule_id",
	[STORE_Q_TENANT_CREATE] = "INSERT INTO tenants(name, created) VALUES(?1, ?2)",
	[STORE_Q_TENANT_LIST] =
		"SELECT id, name, created FROM tenants WHERE ?1 = 0 OR id = ?1 ORDER BY id",
	[STORE_Q_USER_CREATE] =
		"INSERT INTO users(tenant, name, pass_hash, role, created) VALUES(?1, ?2, ?3, ?4, ?5)",
	[STORE_Q_USER_BY_NAME] =
		"SELECT id, tenant, role, disabled, name, pass_hash FROM users WHERE name = ?1",
	[STORE_Q_USER_BY_ID] =
		"SELECT id, tenant, role, disabled, name, pass_hash FROM users WHERE id = ?1",
	[STORE_Q_USER_LIST] =
		"SELECT id, tenant, name, role, disabled, created FROM users"
		" WHERE ?1 = 0 OR tenant = ?1 ORDER BY id",
	[STORE_Q_USER_UPDATE] =
		"UPDATE users SET pass_hash = coalesce(?3, pass_hash),"
		" role = CASE WHEN ?4 = 0 THEN role ELSE ?4 END,"
		" disabled = CASE WHEN ?5 < 0 THEN disabled ELSE ?5 END"
		" WHERE id = ?1 AND (?2 = 0 OR tenant = ?2)",
	[STORE_Q_USER_COUNT] = "SELECT count(*) FROM users",
	[STORE_Q_SESSION_CREATE] =
		"INSERT INTO sessions(hash, user, csrf, created, expires) VALUES(?1, ?2, ?3, ?4, ?5)",
	[STORE_Q_SESSION_SWEEP] = "DELETE FROM sessions WHERE expires <= ?1",
	[STORE_Q_SESSION_GET] = "SELECT user, csrf FROM sessions WHERE hash = ?1 AND expires > ?2",
	[STORE_Q_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = ?1",
	[STORE_Q_TOKEN_CREATE] =
		"INSERT INTO tokens(user, name, hash, created, expires) VALUES(?1, ?2, ?3, ?4, ?5)",
	[STORE_Q_TOKEN_GET] =
		"SELECT id, user, last_used FROM tokens WHERE hash = ?1 AND revoked = 0"
		" AND (expires = 0 OR expires > ?2)",
	[STORE_Q_TOKEN_TOUCH] = "UPDATE tokens SET last_used = ?2 WHERE id = ?1",
	[STORE_Q_TOKEN_LIST] =
		"SELECT t.id, t.user, t.name, t.created, t.expires, t.last_used FROM tokens t"
		" JOIN users u ON u.id = t.user WHERE t.revoked = 0 AND (?1 = 0 OR u.tenant = ?1)"
		" ORDER BY t.id",
	[STORE_Q_TOKEN_REVOKE] =
		"UPDATE tokens SET revoked = 1 WHERE id = ?1 AND revoked = 0 AND user IN"
		" (SELECT id FROM users WHERE ?2 = 0 OR tenant = ?2)",
	[STORE_Q_AUDIT_ADD] =
		"INSERT INTO audit(ts, tenant, user, action, object, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[STORE_Q_AUDIT_LIST] =
		"SELECT id, ts, tenant, user, action, object, detail FROM audit"
		" WHERE (?1 = 0 OR tenant = ?1) AND id < ?2 ORDER BY id DESC LIMIT ?3",
};

#endif
