/* store_search.c: event search over the day partitions, newest event time
 * first. Phase 1 collects the (ts, id) keys of the page (plus one, to know
 * whether a next page exists) partition by partition, in order of their
 * newest event, stopping once no remaining partition can hold a newer key;
 * phase 2 reads the page's rows by id and writes them as JSON.
 *
 * Per partition: full text and the key-field filters (host, user, src_ip,
 * dst_ip, program, code: tokens of the FTS5 index) walk the FTS5 matches by
 * descending rowid over the runs of 4096-row blocks whose time span meets
 * the range, and stop once the page is full and no older block can hold a
 * newer event; every condition is then checked exactly on the row. Without
 * either, the event-time index is read newest first, other columns and
 * JSON paths (json_extract on the normalized event) checked on each row,
 * bounded by the time range and the page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define MAX_FILTERS 16
#define MAX_PATH 256
#define MAX_TEXT 2048

typedef struct skey {
	int64_t ts, id;
} skey;

/* The best keys so far, sorted descending, at most cap. */
typedef struct topn {
	skey *k;
	size_t n, cap;
} topn;

static bool key_gt(int64_t ts, int64_t id, const skey *b)
{
	return ts > b->ts || (ts == b->ts && id > b->id);
}

static void topn_add(topn *t, int64_t ts, int64_t id)
{
	if (t->n == t->cap && !key_gt(ts, id, &t->k[t->n - 1]))
		return;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (key_gt(ts, id, &t->k[mid]))
			hi = mid;
		else
			lo = mid + 1;
	}
	size_t move = (t->n == t->cap ? t->n - 1 : t->n) - lo;
	memmove(&t->k[lo + 1], &t->k[lo], move * sizeof *t->k);
	t->k[lo] = (skey){ts, id};
	if (t->n < t->cap)
		t->n++;
}

/* True when no key with event time <= ts can enter t any more. */
static bool topn_closed(const topn *t, int64_t ts)
{
	return t->n == t->cap && ts < t->k[t->n - 1].ts;
}

typedef struct plan {
	const store_event_query *q;
	int64_t from, to;  /* effective [from, to) */
	int64_t cts, cid;  /* cursor key, cts = INT64_MAX when none */
	const char *text;
	char paths[MAX_FILTERS][MAX_PATH + 2 * MAX_FILTERS + 8];
	bool is_path[MAX_FILTERS];
	core_buf where;    /* residual conditions on e, shared by both strategies */
	core_buf match;    /* FTS5 query: the user's text and the key tokens, or empty */
	topn top;
} plan;

/* Columns of the events table a filter may name (the first STORE_NKEYS are
 * also FTS5 tokens, the others are only compared while scanning). */
static const char *const plain_cols[] = {"action", "outcome", "input", "format"};

/* Adds the filter on a column: exact comparison, and the key's token to the
 * FTS5 query when it has one. 1: it was a column, 0: not a column. */
static int add_column(plan *pl, const store_filter *f, size_t i, int *rc)
{
	const char *col = NULL;
	char tok[18];

	for (unsigned k = 0; k < STORE_NKEYS && !col; k++) {
		if (strcmp(f->field, store_i_key_names[k]) == 0) {
			col = store_i_key_names[k];
			store_i_key_token(k, f->value, strlen(f->value), tok);
			*rc = core_buf_printf(&pl->match, "%s%s", pl->match.len ? " AND " : "", tok);
		}
	}
	for (size_t k = 0; k < sizeof plain_cols / sizeof *plain_cols && !col; k++)
		if (strcmp(f->field, plain_cols[k]) == 0)
			col = plain_cols[k];
	if (!col)
		return 0;
	if (!*rc)
		*rc = core_buf_printf(&pl->where, " AND e.%s = ?%zu", col, 10 + i);
	return 1;
}

/* $."a"."b" of the dotted path p, or CORE_EINVAL. */
static int json_path(const char *p, char *out, size_t cap, core_err *err)
{
	size_t n = strlen(p), o = 0;

	if (n == 0 || n > MAX_PATH || p[0] == '.' || p[n - 1] == '.')
		goto bad;
	o = (size_t)snprintf(out, cap, "$.\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == '"' || c == '\\' || (c == '.' && p[i + 1] == '.'))
			goto bad;
		if (o + 4 >= cap)
			goto bad;
		if (c == '.') {
			memcpy(out + o, "\".\"", 3);
			o += 3;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = 0;
	return 0;
bad:
	return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad field name \"%.64s\"", p);
}

static int plan_make(plan *pl, const store_event_query *q, core_err *err)
{
	int rc;

	pl->q = q;
	pl->from = q->from ? q->from : INT64_MIN;
	pl->to = q->to ? q->to : INT64_MAX;
	pl->cts = INT64_MAX;
	pl->cid = INT64_MAX;
	if (q->cursor) {
		if ((rc = store_i_cursor_parse(q->cursor, &pl->cts, &pl->cid, err)))
			return rc;
		if (pl->cts < INT64_MAX && pl->cts + 1 < pl->to)
			pl->to = pl->cts + 1;
	}
	pl->text = q->text && *q->text ? q->text : NULL;
	if (pl->text && strlen(pl->text) > MAX_TEXT)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "text query over %d bytes", MAX_TEXT);
	if (q->n_filters > MAX_FILTERS)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "more than %d filters", MAX_FILTERS);
	rc = core_buf_printf(&pl->where, "e.ts >= ?1 AND e.ts < ?2 AND (e.ts < ?3 OR e.rowid < ?4)"
					 " AND (?5 = 0 OR e.tenant = ?5)");
	if (!rc && pl->text)
		rc = core_buf_printf(&pl->match, "(%s)", pl->text);
	for (size_t i = 0; i < q->n_filters && !rc; i++) {
		const store_filter *f = &q->filters[i];
		if (!f->field || !f->value)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "filter without field or value");
		if (add_column(pl, f, i, &rc))
			continue;
		if ((rc = json_path(f->field, pl->paths[i], sizeof pl->paths[i], err)))
			return rc;
		pl->is_path[i] = true;
		rc = core_buf_printf(&pl->where,
				     " AND CAST(json_extract(e.json, ?%zu) AS TEXT) = ?%zu", 30 + i,
				     10 + i);
	}
	if (rc)
		return core_err_set(err, rc, SIZE_MAX, "search: out of memory");
	return 0;
}

/* Binds the parameters common to every partition's statement. */
static void plan_bind(const plan *pl, sqlite3_stmt *st, int64_t day)
{
	int64_t cday = pl->cid >> STORE_ID_SHIFT;
	int64_t lb = pl->cid == INT64_MAX || day < cday ? INT64_MAX
		     : day > cday			? 0
							: (pl->cid & STORE_ROWID_MAX);
	sqlite3_bind_int64(st, 1, pl->from);
	sqlite3_bind_int64(st, 2, pl->to);
	sqlite3_bind_int64(st, 3, pl->cts);
	sqlite3_bind_int64(st, 4, lb);
	sqlite3_bind_int64(st, 5, pl->q->tenant);
	if (pl->match.len)
		sqlite3_bind_text(st, 6, pl->match.data, (int)pl->match.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)pl->top.cap);
	for (size_t i = 0; i < pl->q->n_filters; i++) {
		sqlite3_bind_text(st, (int)(10 + i), pl->q->filters[i].value, -1, SQLITE_STATIC);
		if (pl->is_path[i])
			sqlite3_bind_text(st, (int)(30 + i), pl->paths[i], -1, SQLITE_STATIC);
	}
}

static int step_err(sqlite3 *db, int rc, const plan *pl, core_err *err)
{
	if (pl->text && (rc & 0xff) == SQLITE_ERROR)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "text query: %s", sqlite3_errmsg(db));
	return store_i_dberr(db, rc, err, "search");
}

/* Indexed or scanned search of one partition. */
/* head, the plan's WHERE text, then tail: prepared into *st (the caller
 * finalizes it and frees sql) and bound for day. */
static int prepare_where(plan *pl, sqlite3 *db, int64_t day, const char *head, const char *tail,
			 core_buf *sql, sqlite3_stmt **st, core_err *err)
{
	int rc;
	if ((rc = core_buf_printf(sql, "%s%s%s", head, pl->where.data, tail)))
		return core_err_set(err, rc, SIZE_MAX, "search: out of memory");
	if ((rc = sqlite3_prepare_v2(db, sql->data, (int)sql->len, st, NULL)) != SQLITE_OK)
		return store_i_dberr(db, rc, err, "search");
	plan_bind(pl, *st, day);
	return 0;
}

static int search_plain(plan *pl, sqlite3 *db, int64_t day, core_err *err)
{
	sqlite3_stmt *st = NULL;
	core_buf sql;
	int rc;

	core_buf_init(&sql, 1 << 16);
	if ((rc = prepare_where(pl, db, day, "SELECT e.ts, e.rowid FROM events e WHERE ",
				    " ORDER BY e.ts DESC, e.rowid DESC LIMIT ?9", &sql, &st, err)))
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		topn_add(&pl->top, sqlite3_column_int64(st, 0),
			 (day << STORE_ID_SHIFT) | sqlite3_column_int64(st, 1));
	rc = rc == SQLITE_DONE ? 0 : step_err(db, rc, pl, err);
out:
	sqlite3_finalize(st);
	core_buf_free(&sql);
	return rc;
}

typedef struct block {
	int64_t b, min_ts, max_ts, pmax; /* pmax: the newest event time up to this block */
} block;

static int load_blocks(sqlite3 *db, block **out, size_t *n, core_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(db, STORE_SQL_BLOCKS, -1, &st, NULL)) != SQLITE_OK)
		return store_i_dberr(db, rc, err, "search");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (core_grow((void **)out, &cap, *n, sizeof **out, 64)) {
			rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "search: out of memory");
			goto out;
		}
		block *b = &(*out)[(*n)++];
		b->b = sqlite3_column_int64(st, 0);
		b->min_ts = sqlite3_column_int64(st, 1);
		b->max_ts = sqlite3_column_int64(st, 2);
		b->pmax = *n > 1 && b[-1].pmax > b->max_ts ? b[-1].pmax : b->max_ts;
	}
	rc = rc == SQLITE_DONE ? 0 : store_i_dberr(db, rc, err, "search");
out:
	sqlite3_finalize(st);
	return rc;
}

/* Feeds the matches of one run of blocks [lo, hi] into the page, newest rowid
 * first. *stop when no older block can add to the page. */
static int fts_run(plan *pl, sqlite3_stmt *st, int64_t day, const block *bl, size_t lo,
		   size_t hi, bool *stop)
{
	size_t j = hi;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 7, bl[lo].b << STORE_BLOCK_SHIFT);
	sqlite3_bind_int64(st, 8, ((bl[hi].b + 1) << STORE_BLOCK_SHIFT) - 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rowid = sqlite3_column_int64(st, 1);
		while (j > lo && bl[j].b > rowid >> STORE_BLOCK_SHIFT)
			j--;
		if (topn_closed(&pl->top, bl[j].pmax)) {
			*stop = true;
			break;
		}
		topn_add(&pl->top, sqlite3_column_int64(st, 0), (day << STORE_ID_SHIFT) | rowid);
	}
	return rc;
}

static int search_fts(plan *pl, sqlite3 *db, int64_t day, core_err *err)
{
	sqlite3_stmt *st = NULL;
	block *bl = NULL;
	size_t nb = 0;
	core_buf sql;
	bool stop = false;
	int rc;

	core_buf_init(&sql, 1 << 16);
	if ((rc = load_blocks(db, &bl, &nb, err)))
		goto out;
	if ((rc = prepare_where(pl, db, day, "SELECT e.ts, e.rowid FROM fts CROSS JOIN events e"
				    " ON e.rowid = fts.rowid WHERE fts MATCH ?6 AND fts.rowid BETWEEN ?7 AND ?8 AND ",
				    " ORDER BY fts.rowid DESC", &sql, &st, err)))
		goto out;
	rc = SQLITE_DONE;
	for (size_t i = nb; i-- > 0 && !stop;) {
		if (bl[i].max_ts < pl->from || bl[i].min_ts >= pl->to)
			continue;
		size_t hi = i;
		while (i > 0 && bl[i - 1].max_ts >= pl->from && bl[i - 1].min_ts < pl->to)
			i--;
		if (topn_closed(&pl->top, bl[hi].pmax))
			break;
		rc = fts_run(pl, st, day, bl, i, hi, &stop);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			break;
	}
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : step_err(db, rc, pl, err);
out:
	sqlite3_finalize(st);
	free(bl);
	core_buf_free(&sql);
	return rc;
}

typedef struct cand {
	int64_t day, max_ts;
} cand;

/* Partitions whose event time span meets the range, newest first. */
static int candidates(store_reader *r, const plan *pl, cand **out, size_t *n, core_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_CAT_RANGE, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, pl->from);
	sqlite3_bind_int64(st, 2, pl->to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (core_grow((void **)out, &cap, *n, sizeof **out, 16)) {
			sqlite3_reset(st);
			return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "search: out of memory");
		}
		(*out)[(*n)++] = (cand){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_i_dberr(r->db, rc, err, "catalog");
}

/* An RFC 3339 string (1970-01-01T00:00:00Z included). */
static void time_str(store_jw *w, int64_t ns)
{
	char t[40];
	size_t n = core_time_format(ns, t);
	store_jw_lit(w, "\"");
	store_jw_raw(w, t, n);
	store_jw_lit(w, "\"");
}

/* One event object from a row of STORE_SQL_EV_GET. */
static void event_json(store_jw *w, int64_t id, sqlite3_stmt *g)
{
	store_jw_lit(w, "{\"id\":");
	store_jw_i64(w, id);
	store_jw_lit(w, ",\"ts\":");
	time_str(w, sqlite3_column_int64(g, 1));
	store_jw_lit(w, ",\"received\":");
	time_str(w, sqlite3_column_int64(g, 2));
	store_jw_lit(w, ",\"tenant\":");
	store_jw_i64(w, sqlite3_column_int64(g, 0));
	store_jw_lit(w, ",\"input\":");
	store_jw_col(w, g, 3);
	store_jw_lit(w, ",\"format\":");
	store_jw_col(w, g, 4);
	store_jw_lit(w, ",\"raw\":");
	if (sqlite3_column_type(g, 5) == SQLITE_BLOB) { /* the compact form */
		core_buf b;
		core_buf_init(&b, 0);
		int rc = store_i_raw_join(g, 5, 6, &b);
		if (rc == CORE_ENOMEM && w->rc == 0)
			w->rc = rc;
		store_jw_str(w, rc == 0 ? (b.data ? b.data : "") : NULL, b.len);
		core_buf_free(&b);
	} else {
		store_jw_col(w, g, 5);
	}
	store_jw_lit(w, ",\"event\":");
	store_jw_coljson(w, g, 6, "{}");
	store_jw_lit(w, "}");
}

/* Appends event id to w when it exists in the tenant; *found says whether. */
static int fetch_event(store *s, store_reader *r, uint32_t tenant, int64_t id, store_jw *w,
		       bool *found, core_err *err)
{
	store_rpart *p;
	int rc;

	*found = false;
	if (id <= 0 || (id >> STORE_ID_SHIFT) > STORE_DAY_MAX)
		return 0;
	if ((rc = store_i_rpart(s, r, id >> STORE_ID_SHIFT, &p, err)))
		return rc == STORE_ENOTFOUND ? 0 : rc; /* dropped meanwhile */
	sqlite3_reset(p->get);
	sqlite3_bind_int64(p->get, 1, id & STORE_ROWID_MAX);
	sqlite3_bind_int64(p->get, 2, tenant);
	rc = sqlite3_step(p->get);
	if (rc == SQLITE_ROW) {
		event_json(w, id, p->get);
		*found = true;
	}
	sqlite3_reset(p->get);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_i_dberr(p->db, rc, err, "event");
	return w->rc ? core_err_set(err, w->rc, SIZE_MAX, "result too big") : 0;
}

static int collect(store *s, store_reader *r, plan *pl, core_err *err)
{
	cand *c = NULL;
	size_t n = 0;
	int rc;

	if ((rc = candidates(r, pl, &c, &n, err)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		store_rpart *p;
		if (topn_closed(&pl->top, c[i].max_ts))
			break;
		if ((rc = store_i_rpart(s, r, c[i].day, &p, err))) {
			if (rc == STORE_ENOTFOUND) { /* dropped by retention meanwhile */
				rc = 0;
				continue;
			}
			break;
		}
		rc = pl->match.len ? search_fts(pl, p->db, c[i].day, err)
				   : search_plain(pl, p->db, c[i].day, err);
		if (rc)
			break;
	}
	free(c);
	return rc;
}

int store_search_events(store *s, const store_event_query *q, core_buf *out, core_err *err)
{
	plan pl;
	store_reader *r = NULL;
	store_jw w = {out, 0};
	unsigned limit = store_i_limit(q->limit);
	size_t start = out->len;
	int rc;

	memset(&pl, 0, sizeof pl);
	core_buf_init(&pl.where, 1 << 16);
	core_buf_init(&pl.match, 1 << 16);
	if ((rc = plan_make(&pl, q, err)))
		goto out;
	pl.top.cap = limit + 1;
	if (!(pl.top.k = malloc(pl.top.cap * sizeof *pl.top.k))) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "search: out of memory");
		goto out;
	}
	r = store_i_reader_get(s);
	if ((rc = collect(s, r, &pl, err)))
		goto out;
	store_jw_lit(&w, "{\"events\":[");
	size_t shown = 0;
	for (size_t i = 0; i < pl.top.n && i < limit && !rc; i++) {
		bool found;
		size_t mark = out->len;
		if (shown)
			store_jw_lit(&w, ",");
		rc = fetch_event(s, r, q->tenant, pl.top.k[i].id, &w, &found, err);
		if (!rc && !found)
			out->len = mark; /* its partition went away */
		shown += found;
	}
	if (rc)
		goto out;
	store_jw_lit(&w, "],\"next_cursor\":");
	if (pl.top.n > limit) {
		char cur[48];
		int cn = snprintf(cur, sizeof cur, "%lld:%lld", (long long)pl.top.k[limit - 1].ts,
				  (long long)pl.top.k[limit - 1].id);
		store_jw_str(&w, cur, (size_t)cn);
	} else {
		store_jw_lit(&w, "null");
	}
	store_jw_lit(&w, "}");
	if (w.rc)
		rc = core_err_set(err, w.rc, SIZE_MAX, "search: result too big");
out:
	if (r)
		store_i_reader_put(s, r);
	if (rc && out->len > start) {
		out->len = start;
		if (out->data)
			out->data[start] = 0;
	}
	free(pl.top.k);
	core_buf_free(&pl.where);
	core_buf_free(&pl.match);
	return rc;
}

int store_get_event(store *s, uint32_t tenant, int64_t id, core_buf *out, core_err *err)
{
	store_reader *r;
	store_jw w = {out, 0};
	bool found = false;
	int rc;

	if (id <= 0 || (id & STORE_ROWID_MAX) == 0)
		return core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "event %lld does not exist",
				    (long long)id);
	r = store_i_reader_get(s);
	rc = fetch_event(s, r, tenant, id, &w, &found, err);
	store_i_reader_put(s, r);
	if (!rc && !found)
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "event %lld does not exist",
				  (long long)id);
	return rc;
}
