/* store_account.c: tenants, users, sessions, API tokens and the audit log.
 * Changes go through the account connection (one at a time, any thread);
 * reads use the pool. Sessions and tokens are only ever kept as hashes. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define HOUR_NS (INT64_C(3600) * 1000000000)

static bool text_ok(const char *s, size_t max)
{
	if (!s || !*s)
		return false;
	size_t n = strlen(s);
	if (n > max || core_utf8_invalid(s, n) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return false;
	return true;
}

static bool hash_ok(const char *h)
{
	if (!h || strlen(h) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!core_is_digit(h[i]) && !(h[i] >= 'a' && h[i] <= 'f') &&
		    !(h[i] >= 'A' && h[i] <= 'F'))
			return false;
	return true;
}

/* Runs statement st (bound by the caller, on the account connection) to the
 * end; *rowid gets the new row's id (may be NULL). Unlocks the mutex. */
static int acct_finish(store *s, sqlite3_stmt *st, int64_t *rowid, bool need_change,
		       const char *what, core_err *err)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		rc = store_i_dberr(s->acct.db, rc, err, what);
	else if (need_change && sqlite3_changes(s->acct.db) == 0)
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "%s does not exist", what);
	else
		rc = 0;
	if (!rc && rowid)
		*rowid = sqlite3_last_insert_rowid(s->acct.db);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->acct_mu);
	return rc;
}

/* Locks the account connection and gives statement i; unlocked on failure. */
static int acct_stmt(store *s, int i, sqlite3_stmt **st, core_err *err)
{
	pthread_mutex_lock(&s->acct_mu);
	int rc = store_i_stmt(s->acct.db, s->acct.q, i, st, err);
	if (rc)
		pthread_mutex_unlock(&s->acct_mu);
	return rc;
}

/* Runs a read-only list statement i with ?1 = tenant and writes
 * {"<key>":[row...]} with row written by fn. */
static int list_rows(store *s, int i, int64_t tenant, const char *head,
		     void (*fn)(store_jw *w, sqlite3_stmt *st), core_buf *out, core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	store_jw w = {out, 0};
	sqlite3_stmt *st = NULL;
	size_t start = out->len;
	int rc, n = 0;

	if ((rc = store_i_stmt(r->db, r->q, i, &st, err)))
		goto out;
	sqlite3_bind_int64(st, 1, tenant);
	store_jw_raw(&w, head, strlen(head));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			store_jw_lit(&w, ",");
		fn(&w, st);
	}
	store_jw_lit(&w, "]}");
	if (rc != SQLITE_DONE)
		rc = store_i_dberr(r->db, rc, err, "list");
	else
		rc = w.rc ? core_err_set(err, w.rc, SIZE_MAX, "list too big") : 0;
out:
	if (st)
		sqlite3_reset(st);
	store_i_reader_put(s, r);
	if (rc && out->len > start) {
		out->len = start;
		out->data[start] = 0;
	}
	return rc;
}

/* ---- tenants ---- */

int store_tenant_create(store *s, const char *name, uint32_t *id, core_err *err)
{
	sqlite3_stmt *st;
	int64_t rowid = 0;
	int rc;

	if (!text_ok(name, 64))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad tenant name");
	if ((rc = acct_stmt(s, STORE_Q_TENANT_CREATE, &st, err)))
		return rc;
	store_i_bind_str(st, 1, name);
	sqlite3_bind_int64(st, 2, core_time_now());
	rc = acct_finish(s, st, &rowid, false, "tenant", err);
	if (rc == STORE_ECONFLICT)
		core_err_set(err, rc, SIZE_MAX, "tenant \"%.64s\" exists", name);
	if (!rc && id)
		*id = (uint32_t)rowid;
	return rc;
}

static void tenant_row(store_jw *w, sqlite3_stmt *st)
{
	store_jw_lit(w, "{\"id\":");
	store_jw_i64(w, sqlite3_column_int64(st, 0));
	store_jw_lit(w, ",\"name\":");
	store_jw_col(w, st, 1);
	store_jw_lit(w, ",\"created\":");
	store_jw_time(w, sqlite3_column_int64(st, 2));
	store_jw_lit(w, "}");
}

int store_tenant_list(store *s, uint32_t tenant, core_buf *out, core_err *err)
{
	return list_rows(s, STORE_Q_TENANT_LIST, tenant, "{\"tenants\":[", tenant_row, out, err);
}

/* ---- users ---- */

int store_user_create(store *s, uint32_t tenant, const char *name, const char *pass_hash,
		      store_role role, int64_t *id, core_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!text_ok(name, 63) || !text_ok(pass_hash, 127))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad user name or password hash");
	if (role < STORE_ROLE_VIEWER || role > STORE_ROLE_ADMIN)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad role %d", (int)role);
	if ((rc = acct_stmt(s, STORE_Q_USER_CREATE, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	store_i_bind_str(st, 2, name);
	store_i_bind_str(st, 3, pass_hash);
	sqlite3_bind_int(st, 4, (int)role);
	sqlite3_bind_int64(st, 5, core_time_now());
	rc = acct_finish(s, st, id, false, "user", err);
	if (rc == STORE_ECONFLICT)
		core_err_set(err, rc, SIZE_MAX, "user \"%.63s\" exists", name);
	else if (rc == STORE_ENOTFOUND)
		core_err_set(err, rc, SIZE_MAX, "tenant %u does not exist", tenant);
	return rc;
}

static int user_get(store *s, int q, const char *name, int64_t id, store_user *u,
		    core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	sqlite3_stmt *st = NULL;
	int rc;

	memset(u, 0, sizeof *u);
	if ((rc = store_i_stmt(r->db, r->q, q, &st, err)))
		goto out;
	if (name)
		store_i_bind_str(st, 1, name);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		u->id = sqlite3_column_int64(st, 0);
		u->tenant = (uint32_t)sqlite3_column_int64(st, 1);
		u->role = (store_role)sqlite3_column_int(st, 2);
		u->disabled = sqlite3_column_int(st, 3) != 0;
		snprintf(u->name, sizeof u->name, "%s", (const char *)sqlite3_column_text(st, 4));
		snprintf(u->pass_hash, sizeof u->pass_hash, "%s",
			 (const char *)sqlite3_column_text(st, 5));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "user does not exist");
	} else {
		rc = store_i_dberr(r->db, rc, err, "user");
	}
out:
	if (st)
		sqlite3_reset(st);
	store_i_reader_put(s, r);
	return rc;
}

int store_user_get(store *s, const char *name, store_user *u, core_err *err)
{
	if (!name)
		return core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "user does not exist");
	return user_get(s, STORE_Q_USER_BY_NAME, name, 0, u, err);
}

int store_user_get_id(store *s, int64_t id, store_user *u, core_err *err)
{
	return user_get(s, STORE_Q_USER_BY_ID, NULL, id, u, err);
}

static void user_row(store_jw *w, sqlite3_stmt *st)
{
	static const char *const roles[] = {"?", "viewer", "analyst", "admin"};
	int role = sqlite3_column_int(st, 3);
	store_jw_lit(w, "{\"id\":");
	store_jw_i64(w, sqlite3_column_int64(st, 0));
	store_jw_lit(w, ",\"tenant\":");
	store_jw_i64(w, sqlite3_column_int64(st, 1));
	store_jw_lit(w, ",\"name\":");
	store_jw_col(w, st, 2);
	store_jw_lit(w, ",\"role\":");
	store_jw_cstr(w, roles[role >= 1 && role <= 3 ? role : 0]);
	store_jw_lit(w, ",\"disabled\":");
	if (sqlite3_column_int(st, 4))
		store_jw_lit(w, "true");
	else
		store_jw_lit(w, "false");
	store_jw_lit(w, ",\"created\":");
	store_jw_time(w, sqlite3_column_int64(st, 5));
	store_jw_lit(w, "}");
}

int store_user_list(store *s, uint32_t tenant, core_buf *out, core_err *err)
{
	return list_rows(s, STORE_Q_USER_LIST, tenant, "{\"users\":[", user_row, out, err);
}

int store_user_update(store *s, uint32_t tenant, int64_t id, const char *pass_hash, int role,
		      int disabled, core_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((pass_hash && !text_ok(pass_hash, 127)) || role < 0 || role > STORE_ROLE_ADMIN ||
	    disabled > 1)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad user change");
	if ((rc = acct_stmt(s, STORE_Q_USER_UPDATE, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, tenant);
	store_i_bind_str(st, 3, pass_hash);
	sqlite3_bind_int(st, 4, role);
	sqlite3_bind_int(st, 5, disabled < 0 ? -1 : disabled);
	return acct_finish(s, st, NULL, true, "user", err);
}

int store_user_count(store *s, uint64_t *n, core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_USER_COUNT, &st, err)))
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = store_i_dberr(r->db, rc, err, "users");
	}
	sqlite3_reset(st);
out:
	store_i_reader_put(s, r);
	return rc;
}

/* ---- sessions ---- */

int store_session_create(store *s, const char *hash, int64_t user, int64_t expires_ns,
			 const char *csrf, core_err *err)
{
	sqlite3_stmt *st;
	int64_t now = core_time_now();
	int rc;

	if (!hash_ok(hash) || !text_ok(csrf, 64))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad session hash or csrf token");
	if ((rc = acct_stmt(s, STORE_Q_SESSION_SWEEP, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, now);
	if ((rc = acct_finish(s, st, NULL, false, "session", err)))
		return rc;
	if ((rc = acct_stmt(s, STORE_Q_SESSION_CREATE, &st, err)))
		return rc;
	store_i_bind_str(st, 1, hash);
	sqlite3_bind_int64(st, 2, user);
	store_i_bind_str(st, 3, csrf);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, expires_ns);
	return acct_finish(s, st, NULL, false, "session", err);
}

int store_session_get(store *s, const char *hash, int64_t now_ns, int64_t *user, char csrf[65],
		      core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	sqlite3_stmt *st = NULL;
	int rc;

	if (!hash_ok(hash)) {
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "no such session");
		goto out;
	}
	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_SESSION_GET, &st, err)))
		goto out;
	store_i_bind_str(st, 1, hash);
	sqlite3_bind_int64(st, 2, now_ns);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*user = sqlite3_column_int64(st, 0);
		snprintf(csrf, 65, "%s", (const char *)sqlite3_column_text(st, 1));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "no such session");
	} else {
		rc = store_i_dberr(r->db, rc, err, "session");
	}
	sqlite3_reset(st);
out:
	store_i_reader_put(s, r);
	return rc;
}

int store_session_delete(store *s, const char *hash, core_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!hash_ok(hash))
		return core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "no such session");
	if ((rc = acct_stmt(s, STORE_Q_SESSION_DELETE, &st, err)))
		return rc;
	store_i_bind_str(st, 1, hash);
	return acct_finish(s, st, NULL, true, "session", err);
}

/* ---- tokens ---- */

int store_token_create(store *s, int64_t user, const char *name, const char *hash,
		       int64_t expires_ns, int64_t *id, core_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!hash_ok(hash) || !text_ok(name, 128))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad token name or hash");
	if ((rc = acct_stmt(s, STORE_Q_TOKEN_CREATE, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, user);
	store_i_bind_str(st, 2, name);
	store_i_bind_str(st, 3, hash);
	sqlite3_bind_int64(st, 4, core_time_now());
	sqlite3_bind_int64(st, 5, expires_ns > 0 ? expires_ns : 0);
	rc = acct_finish(s, st, id, false, "token", err);
	if (rc == STORE_ENOTFOUND)
		core_err_set(err, rc, SIZE_MAX, "user %lld does not exist", (long long)user);
	return rc;
}

int store_token_get(store *s, const char *hash, int64_t now_ns, int64_t *user, core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	sqlite3_stmt *st = NULL;
	int64_t id = 0, last = 0;
	int rc;

	if (!hash_ok(hash)) {
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "no such token");
		goto out;
	}
	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_TOKEN_GET, &st, err)))
		goto out;
	store_i_bind_str(st, 1, hash);
	sqlite3_bind_int64(st, 2, now_ns);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		*user = sqlite3_column_int64(st, 1);
		last = sqlite3_column_int64(st, 2);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "no such token");
	} else {
		rc = store_i_dberr(r->db, rc, err, "token");
	}
	sqlite3_reset(st);
out:
	store_i_reader_put(s, r);
	/* last_used to the minute is enough: one write per token per minute */
	if (!rc && now_ns - last > HOUR_NS / 60 &&
	    acct_stmt(s, STORE_Q_TOKEN_TOUCH, &st, NULL) == 0) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now_ns);
		acct_finish(s, st, NULL, false, "token", NULL);
	}
	return rc;
}

static void token_row(store_jw *w, sqlite3_stmt *st)
{
	store_jw_lit(w, "{\"id\":");
	store_jw_i64(w, sqlite3_column_int64(st, 0));
	store_jw_lit(w, ",\"user\":");
	store_jw_i64(w, sqlite3_column_int64(st, 1));
	store_jw_lit(w, ",\"name\":");
	store_jw_col(w, st, 2);
	store_jw_lit(w, ",\"created\":");
	store_jw_time(w, sqlite3_column_int64(st, 3));
	store_jw_lit(w, ",\"expires\":");
	store_jw_time(w, sqlite3_column_int64(st, 4));
	store_jw_lit(w, ",\"last_used\":");
	store_jw_time(w, sqlite3_column_int64(st, 5));
	store_jw_lit(w, "}");
}

int store_token_list(store *s, uint32_t tenant, core_buf *out, core_err *err)
{
	return list_rows(s, STORE_Q_TOKEN_LIST, tenant, "{\"tokens\":[", token_row, out, err);
}

int store_token_revoke(store *s, uint32_t tenant, int64_t id, core_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = acct_stmt(s, STORE_Q_TOKEN_REVOKE, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, tenant);
	return acct_finish(s, st, NULL, true, "token", err);
}

/* ---- audit ---- */

int store_audit(store *s, uint32_t tenant, int64_t user, const char *action, const char *object,
		const char *detail_json, core_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!text_ok(action, 64) || (object && strlen(object) > 1024))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad audit action or object");
	if (detail_json && (strlen(detail_json) > 65536 || !store_i_json_valid(detail_json, 0)))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "audit detail is not JSON");
	if ((rc = acct_stmt(s, STORE_Q_AUDIT_ADD, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, core_time_now());
	sqlite3_bind_int64(st, 2, tenant);
	sqlite3_bind_int64(st, 3, user);
	store_i_bind_str(st, 4, action);
	store_i_bind_str(st, 5, object);
	store_i_bind_str(st, 6, detail_json);
	return acct_finish(s, st, NULL, false, "audit", err);
}

static void audit_row(store_jw *w, sqlite3_stmt *st)
{
	store_jw_lit(w, "{\"id\":");
	store_jw_i64(w, sqlite3_column_int64(st, 0));
	store_jw_lit(w, ",\"ts\":");
	store_jw_time(w, sqlite3_column_int64(st, 1));
	store_jw_lit(w, ",\"tenant\":");
	store_jw_i64(w, sqlite3_column_int64(st, 2));
	store_jw_lit(w, ",\"user\":");
	store_jw_i64(w, sqlite3_column_int64(st, 3));
	store_jw_lit(w, ",\"action\":");
	store_jw_col(w, st, 4);
	store_jw_lit(w, ",\"object\":");
	store_jw_col(w, st, 5);
	store_jw_lit(w, ",\"detail\":");
	store_jw_coljson(w, st, 6, "null");
	store_jw_lit(w, "}");
}

int store_audit_list(store *s, uint32_t tenant, const char *cursor, unsigned limit, core_buf *out,
		     core_err *err)
{
	store_reader *r;
	store_jw w = {out, 0};
	sqlite3_stmt *st = NULL;
	int64_t before = INT64_MAX, last = 0;
	unsigned n = 0;
	size_t start = out->len;
	int rc;

	limit = store_i_limit(limit);
	if (cursor && (core_parse_i64(cursor, strlen(cursor), &before) || before <= 0))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "malformed cursor \"%.64s\"", cursor);
	r = store_i_reader_get(s);
	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_AUDIT_LIST, &st, err)))
		goto out;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int64(st, 3, (int64_t)limit + 1);
	store_jw_lit(&w, "{\"audit\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < limit) {
		if (n++)
			store_jw_lit(&w, ",");
		audit_row(&w, st);
		last = sqlite3_column_int64(st, 0);
	}
	bool more = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = store_i_dberr(r->db, rc, err, "audit");
		goto out;
	}
	store_jw_lit(&w, "],\"next_cursor\":");
	if (more) {
		char cur[24];
		int cn = snprintf(cur, sizeof cur, "%lld", (long long)last);
		store_jw_str(&w, cur, (size_t)cn);
	} else {
		store_jw_lit(&w, "null");
	}
	store_jw_lit(&w, "}");
	rc = w.rc ? core_err_set(err, w.rc, SIZE_MAX, "audit: result too big") : 0;
out:
	if (st)
		sqlite3_reset(st);
	store_i_reader_put(s, r);
	if (rc && out->len > start) {
		out->len = start;
		out->data[start] = 0;
	}
	return rc;
}
