/* store_write.c: the writer thread's transaction. Events go to the partition
 * of their receive day (never an older one than the newest written, so ids
 * increase), each partition in its own BEGIN IMMEDIATE transaction opened on
 * first touch; alerts and the catalog go to the main database. Commit order:
 * partitions, then the main database (a crash in between leaves the catalog
 * behind the files, and store_open rebuilds it from them). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

void store_i_wpart_close(store_wpart *wp)
{
	sqlite3_finalize(wp->ins);
	sqlite3_finalize(wp->fts);
	sqlite3_finalize(wp->blk);
	if (wp->db && wp->in_txn)
		sqlite3_exec(wp->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close_v2(wp->db);
	memset(wp, 0, sizeof *wp);
	wp->day = -1;
	wp->blk_b = -1;
}

static void wpart_reset_agg(store_wpart *wp)
{
	wp->min_ts = wp->min_rcv = INT64_MAX;
	wp->max_ts = INT64_MIN;
	wp->blk_b = -1;
	wp->dirty = false;
}

static int wpart_open(store *s, store_wpart *wp, int64_t day, core_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_i_part_open(s, day, true, false, &wp->db, err)))
		return rc;
	wp->day = day;
	if (sqlite3_prepare_v3(wp->db, STORE_SQL_EV_INSERT, -1, SQLITE_PREPARE_PERSISTENT, &wp->ins,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(wp->db, STORE_SQL_FTS_INSERT, -1, SQLITE_PREPARE_PERSISTENT, &wp->fts,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(wp->db, STORE_SQL_BLOCK_UPSERT, -1, SQLITE_PREPARE_PERSISTENT,
			       &wp->blk, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(wp->db,
			       "SELECT max(rowid), (SELECT user_version FROM pragma_user_version)"
			       " FROM events",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = store_i_dberr(wp->db, SQLITE_ERROR, err, "partition");
		goto out;
	}
	wp->rows = sqlite3_column_int64(st, 0);
	wp->version = sqlite3_column_int(st, 1);
	store_i_ckpt_attach(s, wp);
out:
	sqlite3_finalize(st);
	if (rc)
		store_i_wpart_close(wp);
	return rc;
}

/* The partition of day, open and inside the transaction. */
static int wpart_get(store *s, int64_t day, store_wpart **out, core_err *err)
{
	store_wpart *wp = NULL, *lru = NULL;
	int rc;

	for (unsigned i = 0; i < STORE_WPARTS && !wp; i++) {
		if (s->wp[i].day == day)
			wp = &s->wp[i];
		else if (!s->wp[i].in_txn && (!lru || s->wp[i].used < lru->used))
			lru = &s->wp[i];
	}
	if (!wp) {
		if (!lru)
			return core_err_set(err, CORE_ENOMEM, SIZE_MAX,
					    "store: more than %d partitions in one transaction",
					    STORE_WPARTS);
		store_i_wpart_close(lru);
		if ((rc = wpart_open(s, lru, day, err)))
			return rc;
		wp = lru;
	}
	if (!wp->in_txn) {
		store_i_ckpt_wait(s, wp);
		if ((rc = store_i_exec(wp->db, "BEGIN IMMEDIATE", err)))
			return rc;
		wp->in_txn = true;
		wpart_reset_agg(wp);
	}
	wp->used = ++s->wtick;
	*out = wp;
	return 0;
}

static int main_txn(store *s, core_err *err)
{
	int rc;
	if (s->w_txn)
		return 0;
	if ((rc = store_i_exec(s->w.db, "BEGIN IMMEDIATE", err)))
		return rc;
	s->w_txn = true;
	return 0;
}

int store_begin(store *s, core_err *err)
{
	if (s->in_batch)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "store: transaction already open");
	s->in_batch = true;
	return 0;
}

/* Writes the pending block summary of wp. */
static int block_flush(store_wpart *wp, core_err *err)
{
	if (wp->blk_b < 0)
		return 0;
	sqlite3_stmt *st = wp->blk;
	sqlite3_bind_int64(st, 1, wp->blk_b);
	sqlite3_bind_int64(st, 2, wp->blk_min);
	sqlite3_bind_int64(st, 3, wp->blk_max);
	sqlite3_bind_int64(st, 4, wp->blk_rcv);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	wp->blk_b = -1;
	return rc == SQLITE_DONE ? 0 : store_i_dberr(wp->db, rc, err, "partition blocks");
}

static void block_note(store_wpart *wp, int64_t rowid, int64_t ts, int64_t rcv)
{
	int64_t b = rowid >> STORE_BLOCK_SHIFT;
	if (wp->blk_b != b) {
		wp->blk_b = b;
		wp->blk_min = wp->blk_max = ts;
		wp->blk_rcv = rcv;
	}
	if (ts < wp->blk_min)
		wp->blk_min = ts;
	if (ts > wp->blk_max)
		wp->blk_max = ts;
	if (rcv < wp->blk_rcv)
		wp->blk_rcv = rcv;
	if (ts < wp->min_ts)
		wp->min_ts = ts;
	if (ts > wp->max_ts)
		wp->max_ts = ts;
	if (rcv < wp->min_rcv)
		wp->min_rcv = rcv;
	wp->rows = rowid;
	wp->dirty = true;
}

/* The partition day of a receive time: never older than the newest partition
 * (ids must grow), never more than a day ahead of the clock. */
static int64_t pick_day(store *s, int64_t received, int64_t today)
{
	int64_t d = store_i_day_of(received);
	if (d > today + 1)
		d = today;
	if (d < s->cur_day)
		d = s->cur_day;
	if (d < 0)
		d = 0;
	if (d > STORE_DAY_MAX)
		d = STORE_DAY_MAX;
	s->cur_day = d;
	return d;
}

static int bind_len(sqlite3_stmt *st, int i, const char *p, size_t n)
{
	if (!p)
		return sqlite3_bind_null(st, i);
	if (n > INT_MAX)
		return SQLITE_TOOBIG;
	return sqlite3_bind_text(st, i, p, (int)n, SQLITE_STATIC);
}

const char *const store_i_key_names[STORE_NKEYS] = {"host",   "user",    "src_ip",
							 "dst_ip", "program", "code"};

void store_i_key_token(unsigned k, const char *v, size_t n, char out[18])
{
	static const char letters[STORE_NKEYS] = {'h', 'u', 's', 'd', 'p', 'c'};
	static const char hex[] = "0123456789abcdef";
	uint64_t h = 0xcbf29ce484222325u ^ k; /* FNV-1a, then a 64-bit finaliser */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)v[i]) * 0x100000001b3u;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	out[0] = letters[k];
	for (int i = 0; i < 16; i++)
		out[1 + i] = hex[(h >> (60 - 4 * i)) & 15];
	out[17] = 0;
}

/* The raw record of a syslog event is its header followed by the message, and
 * the message is also inside the normalized JSON. Then the raw column holds a
 * BLOB instead of the text: the offset and length of those bytes in the json
 * column (u32 little-endian each) and the header; readers put the record back
 * together (store_i_raw_join). The bytes are compared here, so the record read
 * back is always the one received, whatever the JSON looks like (an escaped
 * message is simply not found, and the record is stored as text). Measured:
 * 76 of ~860 bytes per syslog event, on disk and in the WAL and checkpoints. */
static size_t raw_compact(const store_event *e, unsigned char *buf, size_t cap)
{
	const char *msg = e->message, *at;
	size_t m = e->message_len, head;

	if (!e->raw || !msg || !e->json || m < STORE_RAW_MIN_JOIN || e->raw_len < m ||
	    e->raw_len - m + 8 > cap || e->json_len > UINT32_MAX ||
	    memcmp(e->raw + e->raw_len - m, msg, m) != 0 ||
	    !(at = memmem(e->json, e->json_len, msg, m)))
		return 0;
	head = e->raw_len - m;
	uint32_t off = (uint32_t)(at - e->json), len = (uint32_t)m;
	for (int i = 0; i < 4; i++) {
		buf[i] = (unsigned char)(off >> (8 * i));
		buf[4 + i] = (unsigned char)(len >> (8 * i));
	}
	memcpy(buf + 8, e->raw, head);
	return head + 8;
}

static int insert_one(store_wpart *wp, const store_event *e, int64_t rcv, int64_t *id,
		      core_err *err)
{
	unsigned char cbuf[512];
	size_t cn = 0;
	sqlite3_stmt *st = wp->ins;
	int64_t ts = e->ts == CORE_TS_NONE ? rcv : e->ts;
	int rc;

	if (wp->rows >= STORE_ROWID_MAX)
		return core_err_set(err, CORE_ETOOBIG, SIZE_MAX, "store: partition full");
	sqlite3_bind_int64(st, 1, e->tenant ? e->tenant : 1);
	sqlite3_bind_int64(st, 2, ts);
	sqlite3_bind_int64(st, 3, rcv);
	store_i_bind_str(st, 4, e->input);
	store_i_bind_str(st, 5, e->format);
	/* columns 6..13; the key fields (host, user, src_ip, dst_ip, program,
	 * code) are also FTS5 tokens. Lengths are taken once, for both. */
	const char *cols[8] = {e->host,   e->user,    e->src_ip,  e->dst_ip,
			       e->program, e->code, e->action, e->outcome};
	static const int col_param[8] = {6, 7, 8, 9, 12, 13, 10, 11};
	size_t lens[8];
	for (int k = 0; k < 8; k++) {
		lens[k] = cols[k] ? strlen(cols[k]) : 0;
		if (cols[k] && lens[k] <= INT_MAX)
			sqlite3_bind_text(st, col_param[k], cols[k], (int)lens[k], SQLITE_STATIC);
		else
			sqlite3_bind_null(st, col_param[k]);
	}
	if (wp->version >= 2 && (cn = raw_compact(e, cbuf, sizeof cbuf)) != 0)
		rc = sqlite3_bind_blob(st, 14, cbuf, (int)cn, SQLITE_STATIC);
	else
		rc = bind_len(st, 14, e->raw, e->raw_len);
	if (rc != SQLITE_OK ||
	    (rc = bind_len(st, 15, e->json ? e->json : "{}", e->json ? e->json_len : 2)) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	int64_t rowid = sqlite3_last_insert_rowid(wp->db);
	char toks[STORE_NKEYS * 18];
	size_t nt = 0;
	for (unsigned k = 0; k < STORE_NKEYS; k++) {
		if (!cols[k])
			continue;
		store_i_key_token(k, cols[k], lens[k], toks + nt);
		nt += 17;
		toks[nt++] = ' ';
	}
	if (nt || e->message_len) {
		sqlite3_bind_int64(wp->fts, 1, rowid);
		if ((rc = bind_len(wp->fts, 2, e->message, e->message_len)) != SQLITE_OK ||
		    (rc = bind_len(wp->fts, 3, toks, nt)) != SQLITE_OK)
			goto fail;
		rc = sqlite3_step(wp->fts);
		sqlite3_reset(wp->fts);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	if (wp->blk_b >= 0 && wp->blk_b != rowid >> STORE_BLOCK_SHIFT &&
	    (rc = block_flush(wp, err)))
		return rc;
	block_note(wp, rowid, ts, rcv);
	*id = (wp->day << STORE_ID_SHIFT) | rowid;
	return 0;
fail:
	if (rc == SQLITE_TOOBIG)
		return core_err_set(err, CORE_ETOOBIG, SIZE_MAX, "store: event too big");
	return store_i_dberr(wp->db, rc, err, "insert event");
}

int store_add_events(store *s, const store_event *ev, size_t n, int64_t *ids, core_err *err)
{
	store_wpart *wp = NULL;
	int64_t now = core_time_now(), today = store_i_day_of(now);
	int rc = 0;

	if (!s->in_batch)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "store: no transaction");
	for (size_t i = 0; i < n; i++) {
		int64_t rcv = ev[i].received > 0 ? ev[i].received : now;
		int64_t day = pick_day(s, rcv, today);
		if (!wp || wp->day != day) {
			if (wp && (rc = block_flush(wp, err)))
				return rc;
			if ((rc = wpart_get(s, day, &wp, err)))
				return rc;
		}
		if ((rc = insert_one(wp, &ev[i], rcv, &ids[i], err)))
			return rc;
	}
	return wp ? block_flush(wp, err) : 0;
}

static int level_num(const char *level)
{
	static const char *const names[] = {"informational", "low", "medium", "high", "critical"};
	for (int i = 0; level && i < 5; i++)
		if (strcmp(level, names[i]) == 0)
			return i;
	return -1;
}

int store_i_level(const char *level)
{
	return level_num(level);
}

/* Appends the event ids to the JSON array text old (or starts one), keeping at
 * most 100. *n counts the ids in it. The result is in b. */
static int ids_append(core_buf *b, const char *old, int64_t *n, const int64_t *ids, size_t k)
{
	int rc = 0;
	if (old && *old == '[') {
		size_t len = strlen(old);
		while (len && old[len - 1] != ']')
			len--;
		rc = core_buf_add(b, old, len ? len - 1 : 0);
	} else {
		rc = core_buf_addc(b, '[');
		*n = 0;
	}
	for (size_t i = 0; i < k && *n < 100 && !rc; i++, (*n)++)
		rc = core_buf_printf(b, "%s%lld", *n ? "," : "", (long long)ids[i]);
	return rc ? rc : core_buf_addc(b, ']');
}

static int alert_check(const store_alert *a, core_err *err)
{
	if (!a->rule_id || !*a->rule_id)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "alert: no rule id");
	if (level_num(a->level) < 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "alert: unknown level \"%.40s\"",
				    a->level ? a->level : "");
	if (a->tags_json && !store_i_json_valid(a->tags_json, '['))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "alert: tags are not a JSON array");
	if ((a->group_json && !store_i_json_valid(a->group_json, '{')) ||
	    (a->detail_json && !store_i_json_valid(a->detail_json, '{')))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "alert: group or detail is not a JSON object");
	return 0;
}

/* Grows alert st's row (from ALERT_FIND) by a. */
static int alert_grow(store *s, sqlite3_stmt *found, const store_alert *a, core_buf *b,
		      int64_t *id, core_err *err)
{
	sqlite3_stmt *st;
	int64_t n = sqlite3_column_int64(found, 1);
	int rc;

	*id = sqlite3_column_int64(found, 0);
	if ((rc = ids_append(b, (const char *)sqlite3_column_text(found, 2), &n, a->event_ids,
			     a->n_events)))
		return core_err_set(err, rc, SIZE_MAX, "alert: out of memory");
	sqlite3_reset(found);
	if ((rc = store_i_stmt(s->w.db, s->w.q, STORE_Q_ALERT_GROW, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, *id);
	sqlite3_bind_int64(st, 2, a->ts);
	sqlite3_bind_int64(st, 3, n);
	sqlite3_bind_text(st, 4, b->data, (int)b->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, core_time_now());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_i_dberr(s->w.db, rc, err, "alert");
}

static int alert_insert(store *s, const store_alert *a, core_buf *b, int64_t *id, core_err *err)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	if ((rc = ids_append(b, NULL, &n, a->event_ids, a->n_events)))
		return core_err_set(err, rc, SIZE_MAX, "alert: out of memory");
	if ((rc = store_i_stmt(s->w.db, s->w.q, STORE_Q_ALERT_INSERT, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, a->tenant ? a->tenant : 1);
	store_i_bind_str(st, 2, a->rule_id);
	store_i_bind_str(st, 3, a->rule_title);
	store_i_bind_str(st, 4, a->level);
	sqlite3_bind_int(st, 5, level_num(a->level));
	store_i_bind_str(st, 6, a->tags_json);
	store_i_bind_str(st, 7, a->author);
	store_i_bind_str(st, 8, a->kind ? a->kind : "rule");
	sqlite3_bind_int64(st, 9, a->ts);
	sqlite3_bind_int64(st, 10, n);
	sqlite3_bind_text(st, 11, b->data, (int)b->len, SQLITE_STATIC);
	store_i_bind_str(st, 12, a->host);
	store_i_bind_str(st, 13, a->user);
	store_i_bind_str(st, 14, a->src_ip);
	store_i_bind_str(st, 15, a->dst_ip);
	store_i_bind_str(st, 16, a->group_json);
	store_i_bind_str(st, 17, a->detail_json);
	sqlite3_bind_int64(st, 18, core_time_now());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_i_dberr(s->w.db, rc, err, "alert");
	*id = sqlite3_last_insert_rowid(s->w.db);
	return 0;
}

int store_add_alert(store *s, const store_alert *a, int64_t group_window_ns, int64_t *id,
		    bool *grouped, core_err *err)
{
	sqlite3_stmt *st = NULL;
	core_buf b;
	int rc;

	core_buf_init(&b, 1 << 16);
	if (grouped)
		*grouped = false;
	if (!s->in_batch)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "store: no transaction");
	if ((rc = alert_check(a, err)) || (rc = main_txn(s, err)))
		goto out;
	if (group_window_ns > 0) {
		if ((rc = store_i_stmt(s->w.db, s->w.q, STORE_Q_ALERT_FIND, &st, err)))
			goto out;
		sqlite3_bind_int64(st, 1, a->tenant ? a->tenant : 1);
		store_i_bind_str(st, 2, a->rule_id);
		store_i_bind_str(st, 3, a->host);
		sqlite3_bind_int64(st, 4, a->ts - group_window_ns);
		sqlite3_bind_int64(st, 5, a->ts + group_window_ns);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			rc = alert_grow(s, st, a, &b, id, err);
			if (!rc && grouped)
				*grouped = true;
			goto out;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			rc = store_i_dberr(s->w.db, rc, err, "alert");
			goto out;
		}
	}
	rc = alert_insert(s, a, &b, id, err);
out:
	if (st)
		sqlite3_reset(st);
	core_buf_free(&b);
	return rc;
}

/* Records the touched partitions' new bounds in the catalog. */
static int catalog_update(store *s, core_err *err)
{
	sqlite3_stmt *st;
	int rc;

	for (unsigned i = 0; i < STORE_WPARTS; i++) {
		store_wpart *wp = &s->wp[i];
		if (!wp->in_txn || !wp->dirty)
			continue;
		if ((rc = main_txn(s, err)) ||
		    (rc = store_i_stmt(s->w.db, s->w.q, STORE_Q_CAT_UPSERT, &st, err)))
			return rc;
		sqlite3_bind_int64(st, 1, wp->day);
		sqlite3_bind_int64(st, 2, core_time_now());
		sqlite3_bind_int64(st, 3, wp->rows);
		sqlite3_bind_int64(st, 4, wp->min_ts);
		sqlite3_bind_int64(st, 5, wp->max_ts);
		sqlite3_bind_int64(st, 6, wp->min_rcv);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_i_dberr(s->w.db, rc, err, "catalog");
	}
	return 0;
}

int store_commit(store *s, core_err *err)
{
	int rc;

	if (!s->in_batch)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "store: no transaction");
	if ((rc = catalog_update(s, err)))
		goto fail;
	for (unsigned i = 0; i < STORE_WPARTS; i++) {
		store_wpart *wp = &s->wp[i];
		if (!wp->in_txn)
			continue;
		if ((rc = store_i_exec(wp->db, "COMMIT", err)))
			goto fail;
		wp->in_txn = false;
	}
	if (s->w_txn) {
		if ((rc = store_i_exec(s->w.db, "COMMIT", err)))
			goto fail;
		s->w_txn = false;
	}
	s->in_batch = false;
	return 0;
fail:
	store_rollback(s);
	return rc;
}

int store_rollback(store *s)
{
	for (unsigned i = 0; i < STORE_WPARTS; i++) {
		/* the cached max rowid is stale now: reopen on next use */
		if (s->wp[i].in_txn)
			store_i_wpart_close(&s->wp[i]);
	}
	if (s->w_txn)
		sqlite3_exec(s->w.db, "ROLLBACK", NULL, NULL, NULL);
	s->w_txn = false;
	s->in_batch = false;
	return 0;
}
