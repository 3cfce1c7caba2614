/* store_alerts.c: reading and triaging alerts (list newest first with a
 * cursor, get, status / assignee changes) and the global rule state. Reads
 * use the pool; changes use the account connection, serialised by its mutex
 * and by SQLite's write lock against the writer thread. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

/* One alert object from a row of STORE_ALERT_COLS. */
static void alert_json(store_jw *w, sqlite3_stmt *st)
{
	static const char *const keys[] = {
		"{\"id\":",	     ",\"tenant\":",   ",\"rule_id\":",	   ",\"rule_title\":",
		",\"level\":",	     ",\"tags\":",     ",\"author\":",	   ",\"kind\":",
		",\"first_seen\":", ",\"last_seen\":", ",\"count\":",	   ",\"event_ids\":",
		",\"host\":",	     ",\"user\":",     ",\"src_ip\":",	   ",\"dst_ip\":",
		",\"group\":",	     ",\"detail\":",   ",\"status\":",	   ",\"close_reason\":",
		",\"assignee\":",    ",\"created\":",  ",\"updated\":"};
	for (int i = 0; i < 23; i++) {
		store_jw_raw(w, keys[i], strlen(keys[i]));
		switch (i) {
		case 0: case 1: case 10:
			store_jw_i64(w, sqlite3_column_int64(st, i));
			break;
		case 8: case 9: case 21: case 22:
			store_jw_time(w, sqlite3_column_int64(st, i));
			break;
		case 5:
		case 11:
			store_jw_coljson(w, st, i, "[]");
			break;
		case 16:
		case 17:
			store_jw_coljson(w, st, i, "null");
			break;
		default:
			store_jw_col(w, st, i);
		}
	}
	store_jw_lit(w, "}");
}

static int valid_status(const char *st)
{
	return st && (!strcmp(st, "new") || !strcmp(st, "acknowledged") || !strcmp(st, "closed"));
}

static void cursor_out(store_jw *w, int64_t a, int64_t b)
{
	char cur[48];
	int n = snprintf(cur, sizeof cur, "%lld:%lld", (long long)a, (long long)b);
	store_jw_str(w, cur, (size_t)n);
}

static int alert_bind(sqlite3_stmt *st, const store_alert_query *q, unsigned limit, core_err *err)
{
	int64_t cls = INT64_MAX, cid = INT64_MAX, to = q->to ? q->to : INT64_MAX;
	int lvl = 0, rc;

	if (q->status && !valid_status(q->status))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown status \"%.40s\"", q->status);
	if (q->level && (lvl = store_i_level(q->level)) < 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown level \"%.40s\"", q->level);
	if (q->cursor && (rc = store_i_cursor_parse(q->cursor, &cls, &cid, err)))
		return rc;
	if (cls < INT64_MAX && cls + 1 < to)
		to = cls + 1;
	sqlite3_bind_int64(st, 1, q->tenant);
	store_i_bind_str(st, 2, q->status);
	sqlite3_bind_int(st, 3, lvl);
	store_i_bind_str(st, 4, q->rule_id);
	store_i_bind_str(st, 5, q->host);
	store_i_bind_str(st, 6, q->assignee);
	sqlite3_bind_int64(st, 7, q->from ? q->from : INT64_MIN);
	sqlite3_bind_int64(st, 8, to);
	sqlite3_bind_int64(st, 9, cls);
	sqlite3_bind_int64(st, 10, cid);
	sqlite3_bind_int64(st, 11, (int64_t)limit + 1);
	return 0;
}

int store_list_alerts(store *s, const store_alert_query *q, core_buf *out, core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	store_jw w = {out, 0};
	sqlite3_stmt *st = NULL;
	unsigned limit = store_i_limit(q->limit), n = 0;
	int64_t last_ts = 0, last_id = 0;
	size_t start = out->len;
	int rc;

	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_ALERT_LIST, &st, err)) ||
	    (rc = alert_bind(st, q, limit, err)))
		goto out;
	store_jw_lit(&w, "{\"alerts\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < limit) {
		if (n++)
			store_jw_lit(&w, ",");
		alert_json(&w, st);
		last_ts = sqlite3_column_int64(st, 9);
		last_id = sqlite3_column_int64(st, 0);
	}
	bool more = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = store_i_dberr(r->db, rc, err, "alerts");
		goto out;
	}
	store_jw_lit(&w, "],\"next_cursor\":");
	if (more)
		cursor_out(&w, last_ts, last_id);
	else
		store_jw_lit(&w, "null");
	store_jw_lit(&w, "}");
	rc = w.rc ? core_err_set(err, w.rc, SIZE_MAX, "alerts: result too big") : 0;
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

int store_get_alert(store *s, uint32_t tenant, int64_t id, core_buf *out, core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	store_jw w = {out, 0};
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_ALERT_GET, &st, err)))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, tenant);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		alert_json(&w, st);
		rc = w.rc ? core_err_set(err, w.rc, SIZE_MAX, "alert: too big") : 0;
	} else if (rc == SQLITE_DONE) {
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "alert %lld does not exist",
				  (long long)id);
	} else {
		rc = store_i_dberr(r->db, rc, err, "alert");
	}
out:
	if (st)
		sqlite3_reset(st);
	store_i_reader_put(s, r);
	return rc;
}

int store_update_alert(store *s, uint32_t tenant, int64_t id, const char *status,
		       const char *close_reason, const char *assignee, core_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (status && !valid_status(status))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown status \"%.40s\"", status);
	if (status && !strcmp(status, "closed") && (!close_reason || !*close_reason))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "closing an alert needs a reason");
	if ((close_reason && strlen(close_reason) > 4096) || (assignee && strlen(assignee) > 256))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "reason or assignee too long");
	pthread_mutex_lock(&s->acct_mu);
	if ((rc = store_i_stmt(s->acct.db, s->acct.q, STORE_Q_ALERT_UPDATE, &st, err)))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, tenant);
	store_i_bind_str(st, 3, status);
	store_i_bind_str(st, 4, close_reason);
	store_i_bind_str(st, 5, assignee);
	sqlite3_bind_int64(st, 6, core_time_now());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		rc = store_i_dberr(s->acct.db, rc, err, "alert");
	else if (sqlite3_changes(s->acct.db) == 0)
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "alert %lld does not exist",
				  (long long)id);
	else
		rc = 0;
out:
	if (st)
		sqlite3_reset(st);
	pthread_mutex_unlock(&s->acct_mu);
	return rc;
}

/* ---- rule state ---------------------------------------------------------- */

int store_rule_set_enabled(store *s, const char *rule_id, bool enabled, core_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!rule_id || !*rule_id || strlen(rule_id) > 1024)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad rule id");
	pthread_mutex_lock(&s->acct_mu);
	if ((rc = store_i_stmt(s->acct.db, s->acct.q, STORE_Q_RULE_SET, &st, err)))
		goto out;
	store_i_bind_str(st, 1, rule_id);
	sqlite3_bind_int(st, 2, enabled);
	sqlite3_bind_int64(st, 3, core_time_now());
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : store_i_dberr(s->acct.db, rc, err, "rule state");
out:
	if (st)
		sqlite3_reset(st);
	pthread_mutex_unlock(&s->acct_mu);
	return rc;
}

int store_rules_disabled(store *s, void (*fn)(void *ud, const char *rule_id), void *ud,
			 core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_RULE_DISABLED, &st, err)))
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ud, (const char *)sqlite3_column_text(st, 0));
	rc = rc == SQLITE_DONE ? 0 : store_i_dberr(r->db, rc, err, "rule state");
out:
	if (st)
		sqlite3_reset(st);
	store_i_reader_put(s, r);
	return rc;
}
