/* json.c: JSON records (JSON lines, concatenated documents, arrays of events).
 * yyjson parses the record with the batch arena as its allocator, so strings
 * stay in that arena and are borrowed by the fields without a copy. Windows
 * events are recognised and normalized by winevent.c; other objects get their
 * timestamp from the usual keys. */
#include <stdio.h>
#include <string.h>
#include <yyjson.h>

#include "parse/parse_int.h"

#define MAX_DEPTH 64

static int add_value(parse_ctx *cx, core_event *ev, uint32_t parent, const char *k, size_t kn,
		     yyjson_val *v, int depth);

static int add_children(parse_ctx *cx, core_event *ev, uint32_t idx, yyjson_val *v, int depth)
{
	int rc = 0;

	if (yyjson_is_obj(v)) {
		yyjson_obj_iter it = yyjson_obj_iter_with(v);
		yyjson_val *key;
		while (rc == 0 && (key = yyjson_obj_iter_next(&it)))
			rc = add_value(cx, ev, idx, yyjson_get_str(key), yyjson_get_len(key),
				       yyjson_obj_iter_get_val(key), depth + 1);
	} else {
		yyjson_arr_iter it = yyjson_arr_iter_with(v);
		yyjson_val *e;
		while (rc == 0 && (e = yyjson_arr_iter_next(&it)))
			rc = add_value(cx, ev, idx, NULL, 0, e, depth + 1);
	}
	return rc;
}

/* Adds v (and its children) as a field under parent. Containers deeper than
 * MAX_DEPTH are kept as their JSON text. */
static int add_value(parse_ctx *cx, core_event *ev, uint32_t parent, const char *k, size_t kn,
		     yyjson_val *v, int depth)
{
	int idx;

	switch (yyjson_get_type(v)) {
	case YYJSON_TYPE_STR:
		idx = core_event_add_str(ev, parent, k, kn, yyjson_get_str(v), yyjson_get_len(v));
		break;
	case YYJSON_TYPE_NUM:
		if (yyjson_is_sint(v) || (yyjson_is_uint(v) && yyjson_get_uint(v) <= INT64_MAX)) {
			idx = core_event_add_int(ev, parent, k, kn, yyjson_get_sint(v));
		} else if (yyjson_is_uint(v)) {
			char tmp[24];
			int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)yyjson_get_uint(v));
			idx = core_event_add_strcopy(ev, parent, k, kn, tmp, (size_t)len);
		} else {
			idx = core_event_add_float(ev, parent, k, kn, yyjson_get_real(v));
		}
		break;
	case YYJSON_TYPE_BOOL:
		idx = core_event_add_bool(ev, parent, k, kn, yyjson_get_bool(v));
		break;
	case YYJSON_TYPE_NULL:
		idx = core_event_add_null(ev, parent, k, kn);
		break;
	case YYJSON_TYPE_ARR:
	case YYJSON_TYPE_OBJ:
		if (depth >= MAX_DEPTH) {
			size_t len;
			yyjson_alc alc;
			core_arena_yyjson(ev->arena, &alc);
			char *s = yyjson_val_write_opts(v, 0, &alc, &len, NULL);
			idx = s ? core_event_add_str(ev, parent, k, kn, s, len) : CORE_ENOMEM;
			break;
		}
		idx = yyjson_is_obj(v) ? core_event_add_object(ev, parent, k, kn)
				       : core_event_add_array(ev, parent, k, kn);
		if (idx >= 0)
			idx = add_children(cx, ev, (uint32_t)idx, v, depth) < 0 ? CORE_ENOMEM : idx;
		break;
	default:
		idx = core_event_add_null(ev, parent, k, kn);
	}
	if (idx < 0)
		return core_err_set(&cx->err, idx, 0, "cannot store field: %s", core_strerror(idx));
	return 0;
}

/* Parses s[0..n) with yyjson into the batch arena. NULL with cx->err set.
 * With in_place, yyjson unescapes strings inside the record itself instead of
 * copying the record first: only for a whole record (the stream keeps spare
 * bytes after its data, and the bytes after the record are restored), and
 * only when the raw record need not be kept intact. */
static yyjson_doc *read_doc(parse_ctx *cx, const char *s, size_t n, bool in_place)
{
	yyjson_alc alc;
	yyjson_read_err rerr;
	yyjson_read_flag fl = YYJSON_READ_ALLOW_INVALID_UNICODE;
	char *w = (char *)s, save[YYJSON_PADDING_SIZE];

	core_arena_yyjson(cx->batch->arena, &alc);
	if (in_place) {
		memcpy(save, w + n, sizeof save);
		memset(w + n, 0, sizeof save);
		fl |= YYJSON_READ_INSITU;
	}
	yyjson_doc *doc = yyjson_read_opts(w, n, fl, &alc, &rerr);
	if (in_place)
		memcpy(w + n, save, sizeof save);

	if (!doc) {
		int code = rerr.code == YYJSON_READ_ERROR_MEMORY_ALLOCATION ? CORE_ENOMEM : CORE_EPARSE;
		core_err_set(&cx->err, code, rerr.pos, "invalid JSON: %s", rerr.msg ? rerr.msg : "error");
	}
	return doc;
}

int parse_json_into(parse_ctx *cx, core_event *ev, uint32_t parent, const char *s, size_t n)
{
	yyjson_doc *doc = read_doc(cx, s, n, false);

	if (!doc)
		return cx->err.code;
	yyjson_val *root = yyjson_doc_get_root(doc);
	if (!yyjson_is_obj(root))
		return core_err_set(&cx->err, CORE_EPARSE, 0, "expected a JSON object");
	return add_children(cx, ev, parent, root, 0);
}

static const char *const time_keys[] = {"@timestamp", "timestamp", "time", "ts", "eventTime",
					 "TimeGenerated", "EventTime", "datetime", "date"};

/* The event time of a generic JSON object from the first usual key that holds
 * an ISO 8601 text or epoch seconds/milliseconds. */
static void generic_time(core_event *ev)
{
	for (size_t i = 0; i < sizeof time_keys / sizeof time_keys[0]; i++) {
		core_name nm = core_intern_find(time_keys[i], strlen(time_keys[i]));
		const core_field *f = nm ? core_event_get(ev, nm) : NULL;
		int64_t ns;
		size_t used;
		if (!f || f->parent != CORE_NO_PARENT)
			continue;
		if (f->type == CORE_T_STR &&
		    ((core_time_iso(f->u.s, f->len, &ns, &used) == 0 && used == f->len) ||
		     (core_time_epoch(f->u.s, f->len, &ns, &used) == 0 && used == f->len))) {
			ev->ts = ns;
			ev->ts_orig = f->u.s;
			ev->ts_orig_len = f->len;
			return;
		}
		if (f->type == CORE_T_INT && f->u.i > 0) {
			char tmp[24];
			int len = snprintf(tmp, sizeof tmp, "%lld", (long long)f->u.i);
			if (core_time_epoch(tmp, (size_t)len, &ns, NULL) == 0) {
				ev->ts = ns;
				return;
			}
		}
	}
}

/* Azure Monitor's Syslog table keeps the message in SyslogMessage: a Sysmon
 * for Linux XML event there gets its Sigma names and time. 1 if it was one. */
static int syslog_message(parse_ctx *cx, core_event *ev)
{
	const core_field *m = core_event_get_lit(ev, "SyslogMessage");

	if (!m || m->type != CORE_T_STR || m->parent != CORE_NO_PARENT || m->len < 7 ||
	    memcmp(m->u.s, "<Event", 6) != 0)
		return 0;
	return parse_linux_sysmon_xml(cx, ev, m->u.s, m->len);
}

/* journald writes a MESSAGE that is not valid UTF-8 as an array of byte
 * values: the bytes as a string in the arena, or NULL if it is not one. */
static const char *journal_bytes(core_event *ev, const core_field *arr, size_t *len)
{
	uint32_t idx = core_event_idx(ev, arr), n = 0;
	char *s = core_arena_alloc(ev->arena, (size_t)arr->len + 1);

	if (!s)
		return NULL;
	for (uint32_t i = idx + 1; i < ev->n && n < arr->len; i++) {
		if (ev->f[i].parent != idx)
			continue;
		if (ev->f[i].type != CORE_T_INT || ev->f[i].u.i < 0 || ev->f[i].u.i > 255)
			return NULL;
		s[n++] = (char)ev->f[i].u.i;
	}
	*len = n;
	return s;
}

/* `journalctl -o json` records: the ECS fields, the time (microseconds in
 * __REALTIME_TIMESTAMP) and the program-specific fields of the message, as for
 * syslog. 1 if it was one. */
static int journald(parse_ctx *cx, core_event *ev)
{
	const core_field *rt = core_event_get_lit(ev, "__REALTIME_TIMESTAMP"),
			 *msg = core_event_get_lit(ev, "MESSAGE"),
			 *id = core_event_get_lit(ev, "SYSLOG_IDENTIFIER"),
			 *host = core_event_get_lit(ev, "_HOSTNAME"), *pid = core_event_get_lit(ev, "_PID");
	int64_t ns, v;

	if (!rt || rt->type != CORE_T_STR || !msg)
		return 0;
	if (core_time_epoch(rt->u.s, rt->len, &ns, NULL) == 0) {
		ev->ts = ns;
		ev->ts_orig = rt->u.s;
		ev->ts_orig_len = rt->len;
	}
	/* Copies of the views: the setters below may move the field array. */
	const char *m = msg->u.s, *prog = id && id->type == CORE_T_STR ? id->u.s : NULL;
	size_t mlen = msg->len, plen = prog ? id->len : 0;
	if (msg->type == CORE_T_ARRAY && !(m = journal_bytes(ev, msg, &mlen)))
		return 1; /* not a byte array: nothing more to say */
	if (msg->type != CORE_T_STR && msg->type != CORE_T_ARRAY)
		return 1;
	const char *h = host && host->type == CORE_T_STR ? host->u.s : NULL;
	size_t hlen = h ? host->len : 0;
	bool has_pid = pid && pid->type == CORE_T_STR && core_parse_i64(pid->u.s, pid->len, &v) == 0;
	if ((core_event_set_str(ev, "message", m, mlen) < 0) ||
	    (h && core_event_set_str(ev, "host.name", h, hlen) < 0) ||
	    (prog && core_event_set_str(ev, "process.name", prog, plen) < 0) ||
	    (has_pid && core_event_set_int(ev, "process.pid", v) < 0))
		return core_err_set(&cx->err, CORE_ENOMEM, 0, "out of memory");
	int rc = prog ? parse_linux_message(cx, ev, prog, plen, m, mlen) : 0;
	return rc < 0 ? rc : 1;
}

static int one_object(parse_ctx *cx, const char *rec, size_t n, yyjson_val *obj)
{
	core_event *ev = parse_ctx_event(cx, rec, n);

	if (!ev)
		return CORE_ENOMEM;
	int rc = add_children(cx, ev, CORE_NO_PARENT, obj, 0);
	if (rc)
		return rc;
	rc = parse_winevent_normalize(cx, ev);
	if (rc < 0)
		return rc;
	if (rc == 0)
		rc = syslog_message(cx, ev);
	if (rc == 0)
		rc = journald(cx, ev);
	if (rc < 0)
		return rc;
	if (rc == 0)
		generic_time(ev);
	return 0;
}

static int json_parse(parse_ctx *cx, const char *rec, size_t n)
{
	yyjson_doc *doc = read_doc(cx, rec, n, !cx->keep_raw);

	if (!doc)
		return cx->err.code;
	yyjson_val *root = yyjson_doc_get_root(doc);
	if (yyjson_is_obj(root))
		return one_object(cx, rec, n, root);
	if (!yyjson_is_arr(root))
		return core_err_set(&cx->err, CORE_EPARSE, 0, "expected a JSON object or an array of objects");
	yyjson_arr_iter it = yyjson_arr_iter_with(root);
	yyjson_val *e;
	while ((e = yyjson_arr_iter_next(&it))) {
		if (!yyjson_is_obj(e))
			return core_err_set(&cx->err, CORE_EPARSE, 0, "array element is not a JSON object");
		int rc = one_object(cx, rec, n, e);
		if (rc)
			return rc;
	}
	return 0;
}

static int json_probe(const char *rec, size_t n)
{
	size_t i = 0;
	while (i < n && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	return i < n && (rec[i] == '{' || rec[i] == '[') ? 90 : 0;
}

const parse_format parse_fmt_json = {
	.name = "json",
	.summary = "JSON lines or concatenated documents; Windows events (evtx_dump, NXLog) normalized",
	.framing = PARSE_FRAME_JSON,
	.probe = json_probe,
	.parse = json_parse,
};
