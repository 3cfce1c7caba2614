/* kv.c: key=value formats. CEF (ArcSight Common Event Format, optionally after
 * a syslog header): the seven header fields with \| escapes and the extension,
 * whose values run to the next " key=", mapped to cef.* and common ECS fields.
 * logfmt: key=value / key="quoted" / bare flags as top-level fields. A key that
 * repeats becomes an array of its values, so the JSON has no duplicate keys. */
#include <string.h>

#include "parse/parse_int.h"

#define NS 1000000000LL

/* ---- shared: adding fields without duplicate keys ---------------------------- */

typedef struct dedup {
	uint32_t *slot; /* field index + 1, keyed by name */
	uint32_t mask;
} dedup;

static int dedup_init(dedup *d, core_arena *a, size_t n)
{
	uint32_t cap = 16;

	while (cap < 2 * n && cap < (1u << 28))
		cap *= 2;
	d->slot = core_arena_alloc(a, (size_t)cap * sizeof *d->slot);
	if (!d->slot)
		return CORE_ENOMEM;
	memset(d->slot, 0, (size_t)cap * sizeof *d->slot);
	d->mask = cap - 1;
	return 0;
}

/* Adds k=v (a string, or true when v is NULL) under parent, whose name is
 * pname; a repeated key turns the first field into an array of all values.
 * Returns the index of the field holding the value or a negative code. */
static int add_kv(core_event *ev, dedup *d, uint32_t parent, core_name pname, const char *k,
		  size_t kl, const char *v, size_t vl)
{
	core_name name = parent == CORE_NO_PARENT ? core_intern(k, kl) : core_intern_child(pname, k, kl);
	uint32_t *slot = NULL;

	if (name) {
		for (uint32_t s = (name * 2654435761u) & d->mask;; s = (s + 1) & d->mask) {
			if (!d->slot[s] || ev->f[d->slot[s] - 1].name == name) {
				slot = &d->slot[s];
				break;
			}
		}
	}
	if (slot && *slot) {
		uint32_t j = *slot - 1;
		if (ev->f[j].type != CORE_T_ARRAY) {
			core_field old = ev->f[j];
			ev->f[j].type = CORE_T_ARRAY;
			ev->f[j].len = 0;
			int c = old.type == CORE_T_BOOL ? core_event_add_bool(ev, j, NULL, 0, old.u.b)
							: core_event_add_str(ev, j, NULL, 0, old.u.s, old.len);
			if (c < 0)
				return c;
		}
		parent = j;
		k = NULL;
		kl = 0;
	}
	int i = v ? core_event_add_str(ev, parent, k, kl, v, vl) : core_event_add_bool(ev, parent, k, kl, true);
	if (i >= 0 && slot && !*slot)
		*slot = (uint32_t)i + 1;
	return i;
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || core_is_digit(c) || c == '_' ||
	       c == '.' || c == '-' || c == '[' || c == ']';
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!core_is_digit(s[i]))
			return false;
	return n > 0;
}

/* A timestamp value: ISO 8601, or epoch seconds / milliseconds (10+ digits). */
static bool any_time(const char *s, size_t n, int64_t *ns)
{
	size_t used = 0, d = 0;

	if (core_time_iso(s, n, ns, &used) == 0 && used == n)
		return true;
	while (d < n && core_is_digit(s[d]))
		d++;
	return d >= 10 && core_time_epoch(s, n, ns, &used) == 0 && used == n;
}

/* ---- syslog header before CEF -------------------------------------------------- */

/* "<PRI>" then an RFC 3164, RFC 5424 or ISO time and a host name, in r[0..n). */
static void syslog_prefix(const parse_ctx *cx, const char *r, size_t n, int64_t *ts,
			  const char **host, size_t *hl)
{
	size_t i = 0, used = 0;

	*host = NULL;
	if (i < n && r[i] == '<') {
		const char *c = memchr(r, '>', n < 6 ? n : 6);
		if (c)
			i = (size_t)(c - r) + 1;
	}
	if (i + 2 < n && core_is_digit(r[i]) && r[i + 1] == ' ')
		i += 2; /* RFC 5424 version */
	if (core_time_iso(r + i, n - i, ts, &used) != 0 &&
	    core_time_bsd(r + i, n - i, cx->ref_time, ts, &used) != 0) {
		*ts = CORE_TS_NONE;
		return;
	}
	i += used;
	while (i < n && r[i] == ' ')
		i++;
	size_t s = i;
	while (i < n && r[i] != ' ')
		i++;
	if (i > s && i < n) { /* a host name is followed by more */
		*host = r + s;
		*hl = i - s;
	}
}

/* ---- CEF ------------------------------------------------------------------------------ */

/* Offset of "CEF:N|" at the start of r or after a space, or n. */
static size_t cef_start(const char *r, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++) {
		const char *p = memchr(r + i, 'C', n - i);
		if (!p)
			break;
		i = (size_t)(p - r);
		if ((i == 0 || r[i - 1] == ' ') && n - i >= 6 && memcmp(p, "CEF:", 4) == 0) {
			size_t j = i + 4;
			while (j < n && j < i + 8 && core_is_digit(r[j]))
				j++;
			if (j > i + 4 && j < n && r[j] == '|')
				return i;
		}
	}
	return n;
}

/* Undoes CEF escapes: header (\| \\) or extension (\= \\ \n \r \|). The result
 * is borrowed from s when there is nothing to undo. */
static const char *cef_unescape(core_arena *a, const char *s, size_t n, bool ext, size_t *len)
{
	*len = n;
	if (!memchr(s, '\\', n))
		return s;
	char *d = core_arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = i + 1 < n && s[i] == '\\' ? s[i + 1] : 0;
		if (c == '\\' || c == '|' || (ext && c == '=')) {
			d[o++] = c;
			i++;
		} else if (ext && (c == 'n' || c == 'r')) {
			d[o++] = c == 'n' ? '\n' : '\r';
			i++;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = '\0';
	*len = o;
	return d;
}

/* Length of a key followed by '=' at r[i], or 0. */
static size_t key_at(const char *r, size_t n, size_t i)
{
	size_t s = i;

	while (i < n && word_char(r[i]))
		i++;
	return i > s && i < n && r[i] == '=' ? i - s : 0;
}

static const struct {
	const char *key, *path;
	bool num;
} cef_ecs[] = {
	{"src", "source.ip", false},        {"dst", "destination.ip", false},
	{"spt", "source.port", true},        {"dpt", "destination.port", true},
	{"suser", "source.user.name", false}, {"duser", "destination.user.name", false},
	{"shost", "source.domain", false},  {"dhost", "destination.domain", false},
	{"smac", "source.mac", false},      {"dmac", "destination.mac", false},
	{"act", "event.action", false},     {"msg", "message", false},
	{"proto", "network.transport", false}, {"app", "network.protocol", false},
	{"request", "url.original", false}, {"requestMethod", "http.request.method", false},
	{"requestClientApplication", "user_agent.original", false},
	{"fname", "file.name", false},      {"filePath", "file.path", false},
	{"fileHash", "file.hash", false},   {"dvchost", "observer.hostname", false},
	{"dvc", "observer.ip", false},      {"sproc", "process.name", false},
	{"spid", "process.pid", true},
};

#define CEF_NECS (sizeof cef_ecs / sizeof cef_ecs[0])

/* The ECS field for extension key k (first occurrence only). */
static int cef_map(core_event *ev, const char *k, size_t kl, const char *v, size_t vl, uint32_t *done)
{
	for (size_t m = 0; m < CEF_NECS; m++) {
		if (strlen(cef_ecs[m].key) != kl || memcmp(cef_ecs[m].key, k, kl) != 0)
			continue;
		if (*done & (1u << m))
			return 0;
		*done |= 1u << m;
		int64_t x;
		int rc = 0;
		if (!cef_ecs[m].num)
			rc = core_event_set_str(ev, cef_ecs[m].path, v, vl);
		else if (core_parse_i64(v, vl, &x) == 0)
			rc = core_event_set_int(ev, cef_ecs[m].path, x);
		return rc < 0 ? rc : 0;
	}
	return 0;
}

/* "MMM dd [yyyy ]HH:mm:ss[.SSS][ UTC|GMT|Z|+hh:mm]" (the CEF date formats). */
static bool cef_date(const parse_ctx *cx, const char *s, size_t n, int64_t *ns)
{
	char b[40];
	size_t used = 0, i = 7;
	int64_t y = 0, ref = cx->ref_time;

	if (n < 15 || n > 38)
		return false;
	memcpy(b, s, 7); /* "Mmm dd " */
	if (n >= 20 && all_digits(s + 7, 4) && s[11] == ' ') {
		if (core_parse_i64(s + 7, 4, &y) != 0 || y < 1970 || y > 2200)
			return false; /* keeps the nanoseconds in range */
		ref = (core_days_from_civil(y, 12, 31) * 86400) * NS;
		i = 12;
	}
	memcpy(b + 7, s + i, n - i);
	if (core_time_bsd(b, 7 + n - i, ref, ns, &used) != 0)
		return false;
	size_t z = used + 1; /* zone after a space */
	size_t len = 7 + n - i;
	if (used == len)
		return true;
	if (b[used] != ' ')
		return false;
	if ((len - z == 3 && (memcmp(b + z, "UTC", 3) == 0 || memcmp(b + z, "GMT", 3) == 0)) ||
	    (len - z == 1 && b[z] == 'Z'))
		return true;
	if (len - z >= 5 && (b[z] == '+' || b[z] == '-')) {
		int64_t oh = 0, om = 0;
		size_t m = b[z + 3] == ':' ? z + 4 : z + 3;
		if (core_parse_i64(b + z + 1, 2, &oh) || m + 2 != len || core_parse_i64(b + m, 2, &om))
			return false;
		*ns -= (b[z] == '-' ? -1 : 1) * (oh * 3600 + om * 60) * NS;
		return true;
	}
	return false;
}

typedef struct cef_rec {
	size_t start;       /* of "CEF:" */
	size_t f[8][2];     /* version, vendor, product, device version, id, name, severity, ext */
} cef_rec;

/* Splits the header at unescaped '|'. */
static int cef_split(const char *r, size_t n, cef_rec *c, core_err *e)
{
	size_t i = c->start + 4, s = i;
	int k = 0;

	for (; i < n && k < 7; i++) {
		if (r[i] == '\\') {
			i++;
		} else if (r[i] == '|') {
			c->f[k][0] = s;
			c->f[k++][1] = i - s;
			s = i + 1;
		}
	}
	if (k == 6 && s <= n) { /* no '|' after the severity: no extension */
		c->f[k][0] = s;
		c->f[k++][1] = n - s;
		s = n;
	}
	if (k < 7)
		return core_err_set(e, CORE_EPARSE, i > n ? n : i,
				    "expected 7 '|'-separated CEF header fields, found %d", k);
	c->f[7][0] = s;
	c->f[7][1] = n - s;
	return 0;
}

static int cef_header(core_event *ev, const char *r, const cef_rec *c)
{
	static const char *const paths[7] = {"cef.version", "cef.device.vendor", "cef.device.product",
					     "cef.device.version", "cef.device.event_class_id",
					     "cef.name", "cef.severity"};
	for (int k = 0; k < 7; k++) {
		size_t len;
		const char *v = cef_unescape(ev->arena, r + c->f[k][0], c->f[k][1], false, &len);
		if (!v)
			return CORE_ENOMEM;
		int rc = core_event_set_str(ev, paths[k], v, len);
		if (rc < 0)
			return rc;
	}
	int64_t sev;
	if (core_parse_i64(r + c->f[6][0], c->f[6][1], &sev) == 0) {
		int rc = core_event_set_int(ev, "event.severity", sev);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The extension r[i..n): key=value pairs, each value up to the next " key=". */
static int cef_extension(parse_ctx *cx, core_event *ev, const char *r, size_t i, size_t n,
			 const char **rt, size_t *rtl)
{
	dedup d;
	uint32_t done = 0;

	while (i < n && r[i] == ' ')
		i++;
	if (i >= n)
		return 0; /* no extension: no empty object either */
	int obj = core_event_set_object(ev, "cef.extensions");
	size_t pairs = 1;

	for (size_t j = i; j < n; j++)
		pairs += r[j] == '=';
	int rc = obj < 0 ? obj : dedup_init(&d, ev->arena, pairs);

	for (; rc >= 0;) {
		while (i < n && r[i] == ' ')
			i++;
		if (i >= n)
			break;
		size_t kl = key_at(r, n, i), k = i;
		if (!kl)
			return core_err_set(&cx->err, CORE_EPARSE, i, "expected key=value in the CEF extension");
		size_t j = i + kl + 1, vs = j;
		while (j < n && !(r[j] == ' ' && key_at(r, n, j + 1)))
			j += r[j] == '\\' ? 2 : 1;
		if (j > n)
			j = n;
		i = j;
		while (j > vs && r[j - 1] == ' ')
			j--;
		size_t vl;
		const char *v = cef_unescape(ev->arena, r + vs, j - vs, true, &vl);
		if (!v)
			return CORE_ENOMEM;
		rc = add_kv(ev, &d, (uint32_t)obj, ev->f[obj].name, r + k, kl, v, vl);
		if (rc >= 0)
			rc = cef_map(ev, r + k, kl, v, vl, &done);
		if (kl == 2 && memcmp(r + k, "rt", 2) == 0 && !*rt) {
			*rt = v;
			*rtl = vl;
		}
	}
	return rc < 0 ? rc : 0;
}

/* The time: rt (epoch ms, ISO or a CEF date), else the syslog header's. */
static int cef_time(parse_ctx *cx, core_event *ev, const char *rt, size_t rtl, const char *r,
		    size_t start)
{
	int64_t ts;
	const char *host = NULL;
	size_t hl = 0;

	if (rt && (any_time(rt, rtl, &ts) || cef_date(cx, rt, rtl, &ts))) {
		ev->ts = ts;
		ev->ts_orig = rt;
		ev->ts_orig_len = (uint32_t)rtl;
	}
	if (start == 0)
		return 0;
	syslog_prefix(cx, r, start, &ts, &host, &hl);
	if (ev->ts == CORE_TS_NONE && ts != CORE_TS_NONE)
		ev->ts = ts;
	int rc = 0;
	if (host && !core_event_get_path(ev, "observer.hostname"))
		rc = core_event_set_str(ev, "observer.hostname", host, hl);
	return rc < 0 ? rc : 0;
}

static int cef_parse(parse_ctx *cx, const char *rec, size_t n)
{
	cef_rec c = {.start = cef_start(rec, n)};
	const char *rt = NULL;
	size_t rtl = 0;

	if (c.start == n)
		return core_err_set(&cx->err, CORE_EPARSE, 0, "expected 'CEF:N|' (a CEF record)");
	int rc = cef_split(rec, n, &c, &cx->err);
	if (rc)
		return rc;
	if (!all_digits(rec + c.f[0][0], c.f[0][1]))
		return core_err_set(&cx->err, CORE_EPARSE, c.start + 4, "expected the CEF version number");
	core_event *ev = parse_ctx_event(cx, rec, n);
	if (!ev)
		return CORE_ENOMEM;
	rc = cef_header(ev, rec, &c);
	if (rc == 0)
		rc = cef_extension(cx, ev, rec, c.f[7][0], n, &rt, &rtl);
	if (rc == 0)
		rc = cef_time(cx, ev, rt, rtl, rec, c.start);
	if (rc && rc != CORE_EPARSE)
		core_err_set(&cx->err, rc, 0, "CEF event: %s", core_strerror(rc));
	return rc;
}

/* 95 for "CEF:N|" at the start, 90 after a prefix such as a syslog header. */
static int cef_probe(const char *rec, size_t n)
{
	cef_rec c = {.start = cef_start(rec, n)};
	core_err e;

	if (c.start == n || cef_split(rec, n, &c, &e) != 0)
		return 0;
	/* After a syslog header CEF must still win over the syslog probe (90). */
	return c.start == 0 ? 95 : 92;
}

const parse_format parse_fmt_cef = {
	.name = "cef",
	.summary = "ArcSight Common Event Format, also after a syslog header",
	.framing = PARSE_FRAME_LINE,
	.probe = cef_probe,
	.parse = cef_parse,
};

/* ---- logfmt ------------------------------------------------------------------------ */

typedef struct lf_tok {
	size_t k, kl, v, vl; /* offsets; vl == SIZE_MAX for a bare key */
	bool quoted, escaped;
} lf_tok;

/* The next token at r[*ip]: 1 when one was read, 0 at the end, or an error. */
static int lf_next(const char *r, size_t n, size_t *ip, lf_tok *t, core_err *e)
{
	size_t i = *ip;

	while (i < n && (r[i] == ' ' || r[i] == '\t'))
		i++;
	if (i >= n)
		return 0;
	*t = (lf_tok){.k = i, .vl = SIZE_MAX};
	while (i < n && r[i] != ' ' && r[i] != '\t' && r[i] != '=' && r[i] != '"')
		i++;
	t->kl = i - t->k;
	if (i < n && r[i] == '"')
		return core_err_set(e, CORE_EPARSE, i, "unexpected '\"' in a logfmt key");
	if (t->kl == 0)
		return core_err_set(e, CORE_EPARSE, i, "expected a key before '='");
	if (i < n && r[i] == '=') {
		i++;
		t->v = i;
		if (i < n && r[i] == '"') {
			t->quoted = true;
			t->v = ++i;
			while (i < n && r[i] != '"') {
				if (r[i] == '\\') {
					t->escaped = true;
					i++;
				}
				i++;
			}
			if (i >= n)
				return core_err_set(e, CORE_EPARSE, t->v - 1, "unterminated quoted value");
			t->vl = i++ - t->v;
		} else {
			while (i < n && r[i] != ' ' && r[i] != '\t')
				i++;
			t->vl = i - t->v;
		}
	}
	*ip = i;
	return 1;
}

/* Undoes \" \\ \n \r \t in a quoted value (other escapes are kept). */
static const char *lf_unescape(core_arena *a, const char *s, size_t n, size_t *len)
{
	char *d = core_arena_alloc(a, n + 1);

	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = i + 1 < n && s[i] == '\\' ? s[i + 1] : 0;
		if (c == '"' || c == '\\')
			d[o++] = c;
		else if (c == 'n' || c == 'r' || c == 't')
			d[o++] = c == 'n' ? '\n' : c == 'r' ? '\r' : '\t';
		else
			c = 0, d[o++] = s[i];
		i += c != 0;
	}
	d[o] = '\0';
	*len = o;
	return d;
}

/* time/ts/timestamp into ev->ts, level into log.level. */
static int lf_special(core_event *ev, const char *k, size_t kl, const char *v, size_t vl)
{
	int64_t ts;
	int rc = 0;

	if (((kl == 4 && memcmp(k, "time", 4) == 0) || (kl == 2 && memcmp(k, "ts", 2) == 0) ||
	     (kl == 9 && memcmp(k, "timestamp", 9) == 0)) &&
	    ev->ts == CORE_TS_NONE && v && any_time(v, vl, &ts)) {
		ev->ts = ts;
		ev->ts_orig = v;
		ev->ts_orig_len = (uint32_t)vl;
	} else if (kl == 5 && memcmp(k, "level", 5) == 0 && v &&
		   !core_event_get_path(ev, "log.level")) {
		rc = core_event_set_str(ev, "log.level", v, vl);
	}
	return rc < 0 ? rc : 0;
}

/* msg also answers to "message" unless the line has a message of its own. */
static int lf_message_alias(core_event *ev)
{
	core_name msg = core_intern("msg", 3), message = core_intern("message", 7);
	int64_t m = -1;

	for (uint32_t i = 0; i < ev->n; i++) {
		if (ev->f[i].name == message)
			return 0;
		if (ev->f[i].name == msg && ev->f[i].parent == CORE_NO_PARENT && m < 0)
			m = i;
	}
	return m < 0 || !message ? 0 : core_event_set_alias(ev, (uint32_t)m, message);
}

static int logfmt_parse(parse_ctx *cx, const char *rec, size_t n)
{
	size_t i = 0;
	lf_tok t;
	int rc;
	dedup d;

	size_t ntok = 0;

	while ((rc = lf_next(rec, n, &i, &t, &cx->err)) == 1) /* validate first */
		ntok++;
	if (rc < 0)
		return rc;
	core_event *ev = parse_ctx_event(cx, rec, n);
	if (!ev)
		return CORE_ENOMEM;
	rc = dedup_init(&d, ev->arena, ntok);
	for (i = 0; rc == 0 && lf_next(rec, n, &i, &t, &cx->err) == 1;) {
		const char *v = t.vl == SIZE_MAX ? NULL : rec + t.v;
		size_t vl = t.vl == SIZE_MAX ? 0 : t.vl;
		if (v && t.escaped && !(v = lf_unescape(ev->arena, v, vl, &vl)))
			rc = CORE_ENOMEM;
		int idx = rc ? rc : add_kv(ev, &d, CORE_NO_PARENT, 0, rec + t.k, t.kl, v, vl);
		rc = idx < 0 ? idx : lf_special(ev, rec + t.k, t.kl, v, vl);
	}
	if (rc == 0)
		rc = lf_message_alias(ev);
	if (rc)
		core_err_set(&cx->err, rc, 0, "logfmt event: %s", core_strerror(rc));
	return rc;
}

/* 60 for a line of at least two key=value pairs (and as many pairs as other
 * words) that is not JSON, syslog, auditd or CEF. */
static int logfmt_probe(const char *rec, size_t n)
{
	size_t i = 0, pairs = 0, words = 0, used;
	lf_tok t;
	core_err e;
	int64_t ts;
	int rc;

	if (n == 0 || rec[0] == '{' || rec[0] == '[' || rec[0] == '<' ||
	    core_time_bsd(rec, n, 0, &ts, &used) == 0 || cef_start(rec, n) < n ||
	    memmem(rec, n, "msg=audit(", 10) || memmem(rec, n, " audit(", 7))
		return 0;
	while ((rc = lf_next(rec, n, &i, &t, &e)) == 1) {
		if (t.vl != SIZE_MAX)
			pairs++;
		else
			words++;
	}
	return rc == 0 && pairs >= 2 && pairs >= words ? 60 : 0;
}

const parse_format parse_fmt_logfmt = {
	.name = "logfmt",
	.summary = "logfmt key=value lines (Go, Heroku, Grafana style)",
	.framing = PARSE_FRAME_LINE,
	.probe = logfmt_probe,
	.parse = logfmt_parse,
};
