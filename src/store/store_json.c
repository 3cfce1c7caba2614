/* store_json.c: JSON output of the store. Every string read from a database
 * is untrusted: it is escaped here, and bytes that are not valid UTF-8 become
 * U+FFFD so that the output is always valid JSON. Also the cursor and limit
 * rules shared by every paginated list. */
#include <stdio.h>
#include <string.h>
#include <yyjson.h>

#include "store/store_int.h"

void store_jw_raw(store_jw *w, const char *s, size_t n)
{
	if (w->rc == 0)
		w->rc = core_buf_add(w->b, s, n);
}

/* Escapes the valid UTF-8 text s[0..n). */
static void esc_valid(store_jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		store_jw_raw(w, s + run, i - run);
		run = i + 1;
		char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		switch (c) {
		case '"': store_jw_lit(w, "\\\""); break;
		case '\\': store_jw_lit(w, "\\\\"); break;
		case '\n': store_jw_lit(w, "\\n"); break;
		case '\r': store_jw_lit(w, "\\r"); break;
		case '\t': store_jw_lit(w, "\\t"); break;
		default: store_jw_raw(w, e, sizeof e); break;
		}
	}
	store_jw_raw(w, s + run, n - run);
}

void store_jw_str(store_jw *w, const char *s, size_t n)
{
	if (!s) {
		store_jw_lit(w, "null");
		return;
	}
	store_jw_lit(w, "\"");
	while (n) {
		size_t ok = core_utf8_invalid(s, n);
		esc_valid(w, s, ok);
		if (ok == n)
			break;
		store_jw_lit(w, "\\ufffd");
		s += ok + 1;
		n -= ok + 1;
	}
	store_jw_lit(w, "\"");
}

void store_jw_cstr(store_jw *w, const char *s)
{
	store_jw_str(w, s, s ? strlen(s) : 0);
}

void store_jw_i64(store_jw *w, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%lld", (long long)v);
	if (n > 0)
		store_jw_raw(w, t, (size_t)n);
}

void store_jw_time(store_jw *w, int64_t ns)
{
	char t[40];
	if (ns == 0) {
		store_jw_lit(w, "null");
		return;
	}
	size_t n = core_time_format(ns, t);
	store_jw_lit(w, "\"");
	store_jw_raw(w, t, n);
	store_jw_lit(w, "\"");
}

void store_jw_col(store_jw *w, sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	if (!s) {
		store_jw_lit(w, "null");
		return;
	}
	store_jw_str(w, s, (size_t)sqlite3_column_bytes(st, i));
}

int store_i_raw_join(sqlite3_stmt *st, int raw_col, int json_col, core_buf *buf)
{
	const unsigned char *p = sqlite3_column_blob(st, raw_col);
	size_t n = (size_t)sqlite3_column_bytes(st, raw_col);
	const char *json = (const char *)sqlite3_column_text(st, json_col);
	size_t jn = (size_t)sqlite3_column_bytes(st, json_col);
	uint32_t off = 0, len = 0;

	if (!p || n < 8 || !json)
		return CORE_EINVAL;
	for (int i = 0; i < 4; i++) {
		off |= (uint32_t)p[i] << (8 * i);
		len |= (uint32_t)p[4 + i] << (8 * i);
	}
	if (off > jn || len > jn - off)
		return CORE_EINVAL;
	if (core_buf_add(buf, p + 8, n - 8) || core_buf_add(buf, json + off, len))
		return CORE_ENOMEM;
	return 0;
}

void store_jw_coljson(store_jw *w, sqlite3_stmt *st, int i, const char *dflt)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	if (!s || !sqlite3_column_bytes(st, i)) {
		store_jw_raw(w, dflt, strlen(dflt));
		return;
	}
	store_jw_raw(w, s, (size_t)sqlite3_column_bytes(st, i));
}

int store_i_cursor_parse(const char *c, int64_t *a, int64_t *b, core_err *err)
{
	size_t n = strlen(c);
	const char *colon = memchr(c, ':', n);

	if (n > 64 || !colon || core_parse_i64(c, (size_t)(colon - c), a) ||
	    core_parse_i64(colon + 1, n - (size_t)(colon - c) - 1, b) || *b <= 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "malformed cursor \"%.64s\"", c);
	return 0;
}

unsigned store_i_limit(unsigned limit)
{
	if (limit == 0)
		return STORE_LIMIT_DEF;
	return limit > STORE_LIMIT_MAX ? STORE_LIMIT_MAX : limit;
}

bool store_i_json_valid(const char *s, char kind)
{
	yyjson_doc *d = yyjson_read(s, strlen(s), 0);
	if (!d)
		return false;
	yyjson_val *root = yyjson_doc_get_root(d);
	bool ok = kind == 0 || (kind == '[' && yyjson_is_arr(root)) ||
		  (kind == '{' && yyjson_is_obj(root));
	yyjson_doc_free(d);
	return ok;
}
