/* csv.c: comma-separated values with a header row (RFC 4180 quoting with ""
 * escapes). The first record names the columns; the names live in the format's
 * state for the whole input. Each later record becomes one event with a field
 * per column; a time column (Event DateTime, timestamp, ...) sets the event
 * time. Line framing cannot carry a newline inside quotes: that is an error. */
#include <stdio.h>
#include <string.h>

#include "parse/parse_int.h"

#define CSV_MAX_COLS 4096

typedef struct col {
	const char *name;  /* in the state's arena */
	uint32_t len;
} col;

typedef struct state {
	core_arena *arena; /* header names */
	col *cols;
	uint32_t ncols;
	int32_t time_col;  /* -1 when none */
	bool have_header;
} state;

/* One field of a record: offsets, and whether "" escapes must be undone. */
typedef struct cfield {
	size_t off, len;
	bool quoted, escaped;
} cfield;

/* Reads the field at r[*ip]; *ip ends after its ',' (or at n). */
static int csv_field(const char *r, size_t n, size_t *ip, cfield *f, core_err *e)
{
	size_t i = *ip;

	while (i < n && (r[i] == ' ' || r[i] == '\t'))
		i++;
	*f = (cfield){0};
	if (i < n && r[i] == '"') {
		size_t s = ++i;
		for (;; i++) {
			if (i >= n)
				return core_err_set(e, CORE_EPARSE, s - 1,
						    "unterminated quoted field (a newline inside quotes is not supported)");
			if (r[i] == '"') {
				if (i + 1 < n && r[i + 1] == '"') {
					f->escaped = true;
					i++;
					continue;
				}
				break;
			}
		}
		*f = (cfield){.off = s, .len = i - s, .quoted = true, .escaped = f->escaped};
		i++;
		while (i < n && (r[i] == ' ' || r[i] == '\t'))
			i++;
		if (i < n && r[i] != ',')
			return core_err_set(e, CORE_EPARSE, i, "expected ',' after a closing quote");
	} else {
		size_t s = i;
		while (i < n && r[i] != ',')
			i++;
		size_t z = i;
		while (z > s && (r[z - 1] == ' ' || r[z - 1] == '\t'))
			z--;
		if (memchr(r + s, '"', z - s))
			return core_err_set(e, CORE_EPARSE, (size_t)((const char *)memchr(r + s, '"', z - s) - r),
					    "unexpected '\"' inside an unquoted field");
		f->off = s;
		f->len = z - s;
	}
	*ip = i < n ? i + 1 : n + 1; /* n + 1: no more fields */
	return 0;
}

/* The field's value: borrowed, or with "" undone in the arena. */
static const char *field_value(core_arena *a, const char *r, const cfield *f, size_t *len)
{
	*len = f->len;
	if (!f->escaped)
		return r + f->off;
	char *d = core_arena_alloc(a, f->len + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < f->len; i++) {
		d[o++] = r[f->off + i];
		if (r[f->off + i] == '"')
			i++;
	}
	d[o] = '\0';
	*len = o;
	return d;
}

/* ---- header ----------------------------------------------------------------------- */

static bool name_eq(const col *c, const char *lit)
{
	size_t l = strlen(lit);

	if (c->len != l)
		return false;
	for (size_t i = 0; i < l; i++) {
		char x = c->name[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x + 32);
		if (x != lit[i])
			return false;
	}
	return true;
}

/* The column holding the event time, by the best-ranked name, or -1. */
static int32_t time_column(const state *st)
{
	static const char *const names[] = {"@timestamp", "timestamp", "event datetime", "eventtime",
					    "event time", "event_time", "datetime", "time", "date",
					    "_time", "ts"};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		for (uint32_t i = 0; i < st->ncols; i++)
			if (name_eq(&st->cols[i], names[k]))
				return (int32_t)i;
	return -1;
}

/* Stores name number i (0-based): trimmed; "column_N" when empty; "name_N"
 * when an earlier column has the same name. */
static int add_name(state *st, const char *s, size_t n, uint32_t i)
{
	char buf[32];
	bool dup = false;

	for (uint32_t j = 0; j < i && n; j++)
		if (st->cols[j].len == n && memcmp(st->cols[j].name, s, n) == 0)
			dup = true;
	const char *name = NULL;
	if (!n || dup) {
		size_t bl = (size_t)snprintf(buf, sizeof buf, "_%u", i + 1);
		size_t pl = n ? n : 6;
		char *d = core_arena_alloc(st->arena, pl + bl + 1);
		if (d) {
			memcpy(d, n ? s : "column", pl);
			memcpy(d + pl, buf, bl + 1);
			n = pl + bl;
		}
		name = d;
	} else {
		name = core_arena_strndup(st->arena, s, n);
	}
	if (!name)
		return CORE_ENOMEM;
	st->cols[i] = (col){.name = name, .len = (uint32_t)n};
	return 0;
}

static int read_header(parse_ctx *cx, state *st, const char *r, size_t n)
{
	size_t i = 0, cnt = 1;
	cfield f;

	if (n >= 3 && memcmp(r, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	for (size_t j = i; j < n; j++)
		cnt += r[j] == ',';
	if (cnt > CSV_MAX_COLS)
		return core_err_set(&cx->err, CORE_ETOOBIG, 0, "more than %d columns in the header", CSV_MAX_COLS);
	if (!st->arena && !(st->arena = core_arena_new(16u << 10, 0)))
		return CORE_ENOMEM;
	st->cols = core_arena_alloc(st->arena, cnt * sizeof *st->cols);
	if (!st->cols)
		return CORE_ENOMEM;
	st->ncols = 0;
	while (i <= n) {
		int rc = csv_field(r, n, &i, &f, &cx->err);
		if (rc == 0) {
			size_t len;
			const char *v = field_value(st->arena, r, &f, &len);
			rc = v ? add_name(st, v, len, st->ncols++) : CORE_ENOMEM;
		}
		if (rc)
			return rc;
	}
	st->time_col = time_column(st);
	st->have_header = true;
	return 0;
}

/* ---- records ------------------------------------------------------------------------ */

/* An ISO 8601 time, or a date alone (midnight UTC). */
static bool csv_time(const char *v, size_t len, int64_t *ts)
{
	char day[21];
	size_t used = 0;

	if (len == 10 && v[4] == '-' && v[7] == '-') {
		memcpy(day, v, 10);
		memcpy(day + 10, "T00:00:00Z", 11);
		v = day;
		len = 20;
	}
	return core_time_iso(v, len, ts, &used) == 0 && used == len;
}

static int add_fields(parse_ctx *cx, const state *st, core_event *ev, const char *r, size_t n)
{
	size_t i = 0;
	uint32_t c = 0;
	cfield f;

	while (i <= n) {
		if (c == st->ncols)
			return core_err_set(&cx->err, CORE_EPARSE, i - 1,
					    "more fields than the %u columns of the header", st->ncols);
		int rc = csv_field(r, n, &i, &f, &cx->err);
		if (rc)
			return rc;
		size_t len;
		const char *v = field_value(ev->arena, r, &f, &len);
		if (!v)
			return CORE_ENOMEM;
		rc = core_event_add_str(ev, CORE_NO_PARENT, st->cols[c].name, st->cols[c].len, v, len);
		if (rc < 0)
			return rc;
		int64_t ts;
		if ((int32_t)c == st->time_col && csv_time(v, len, &ts)) {
			ev->ts = ts;
			ev->ts_orig = v;
			ev->ts_orig_len = (uint32_t)len;
		}
		c++;
	}
	if (c != st->ncols)
		return core_err_set(&cx->err, CORE_EPARSE, n, "%u fields where the header has %u columns", c,
				    st->ncols);
	return 0;
}

static int csv_parse(parse_ctx *cx, const char *rec, size_t n)
{
	state *st = cx->state;

	if (!st->have_header)
		return read_header(cx, st, rec, n);
	core_event *ev = parse_ctx_event(cx, rec, n);
	if (!ev)
		return CORE_ENOMEM;
	int rc = add_fields(cx, st, ev, rec, n);
	if (rc == CORE_ENOMEM)
		core_err_set(&cx->err, rc, 0, "CSV event: %s", core_strerror(rc));
	return rc;
}

static void csv_free(void *p)
{
	state *st = p;
	core_arena_free(st->arena);
}

/* 40 for a plausible header row: at least 3 names, most of them word-like
 * (start with a letter, '_' or '@'; letters, digits, spaces, _-.@()/ inside). */
static int csv_probe(const char *rec, size_t n)
{
	size_t i = 0, names = 0, words = 0;
	cfield f;
	core_err e;

	if (n >= 3 && memcmp(rec, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	if (i >= n || rec[i] == '{' || rec[i] == '[' || rec[i] == '<' || memchr(rec, '=', n) ||
	    memchr(rec, '|', n))
		return 0;
	while (i <= n) {
		if (csv_field(rec, n, &i, &f, &e) != 0)
			return 0;
		names++;
		const char *s = rec + f.off;
		bool ok = f.len > 0 && f.len <= 64 &&
			  (((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') || s[0] == '_' || s[0] == '@');
		for (size_t k = 0; ok && k < f.len; k++) {
			char c = s[k];
			ok = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || core_is_digit(c) ||
			     (c && strchr(" _-.@()/", c) != NULL);
		}
		words += ok;
	}
	return names >= 3 && words * 4 >= names * 3 ? 40 : 0;
}

const parse_format parse_fmt_csv = {
	.name = "csv",
	.summary = "comma-separated values with a header row",
	.framing = PARSE_FRAME_LINE,
	.probe = csv_probe,
	.parse = csv_parse,
	.state_size = sizeof(state),
	.state_free = csv_free,
};
