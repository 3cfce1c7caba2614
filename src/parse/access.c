/* access.c: web server access logs in the NCSA common and combined formats
 * (nginx and Apache defaults), with an optional leading virtual host, IPv6
 * clients, \" and \xHH escapes, junk request lines (TLS probes) and extra
 * fields after the user agent. ECS fields carry the W3C names Sigma's web
 * rules use (cs-method, cs-uri-query, ...) as aliases. */
#include <string.h>

#include "parse/parse_int.h"

typedef struct span {
	size_t off, len; /* in the record */
} span;

typedef struct access_rec {
	span vhost, client, ident, user, time, request, status, bytes, referer, ua, extra;
	bool has_vhost, has_referer, has_ua;
	int64_t ns;
} access_rec;

static size_t skip_spaces(const char *r, size_t n, size_t i)
{
	while (i < n && r[i] == ' ')
		i++;
	return i;
}

static size_t token_end(const char *r, size_t n, size_t i)
{
	while (i < n && r[i] != ' ')
		i++;
	return i;
}

/* A quoted string at r[*ip] ("..." with \" and \\ escapes): its inside. */
static int quoted(const char *r, size_t n, size_t *ip, span *s, const char *what, core_err *e)
{
	size_t i = *ip;

	if (i >= n || r[i] != '"')
		return core_err_set(e, CORE_EPARSE, i, "expected the quoted %s", what);
	for (size_t j = i + 1; j < n; j++) {
		if (r[j] == '\\') {
			j++;
		} else if (r[j] == '"') {
			s->off = i + 1;
			s->len = j - i - 1;
			*ip = j + 1;
			return 0;
		}
	}
	return core_err_set(e, CORE_EPARSE, i, "unterminated quoted %s", what);
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!core_is_digit(s[i]))
			return false;
	return n > 0;
}

static bool is_dash(const char *r, span s)
{
	return s.len == 0 || (s.len == 1 && r[s.off] == '-');
}

/* "CLIENT IDENT USER [" or "VHOST CLIENT IDENT USER [". */
static int parse_prefix(const char *r, size_t n, access_rec *a, size_t *ip, core_err *e)
{
	span t[4];
	int k = 0;
	size_t i = 0;

	while (i < n && r[i] != '[') {
		if (k == 4)
			return core_err_set(e, CORE_EPARSE, i, "expected '[' and the time after the user field");
		size_t s = i;
		i = token_end(r, n, i);
		t[k++] = (span){s, i - s};
		i = skip_spaces(r, n, i);
	}
	if (i >= n || k < 3)
		return core_err_set(e, CORE_EPARSE, i, "expected 'CLIENT IDENT USER [time]'");
	int b = k - 3;
	a->has_vhost = b == 1;
	if (b)
		a->vhost = t[0];
	a->client = t[b];
	a->ident = t[b + 1];
	a->user = t[b + 2];
	*ip = i;
	return 0;
}

static int parse_time(const char *r, size_t n, access_rec *a, size_t *ip, core_err *e)
{
	size_t i = *ip + 1, used = 0;
	const char *c = memchr(r + i, ']', n - i);

	if (!c || core_time_clf(r + i, (size_t)(c - r) - i, &a->ns, &used) != 0 ||
	    used != (size_t)(c - r) - i)
		return core_err_set(e, CORE_EPARSE, i, "expected a [dd/Mon/yyyy:hh:mm:ss +zzzz] time");
	a->time = (span){i, used};
	*ip = (size_t)(c - r) + 1;
	return 0;
}

/* STATUS BYTES: digits or '-'. */
static int parse_numbers(const char *r, size_t n, access_rec *a, size_t *ip, core_err *e)
{
	size_t i = skip_spaces(r, n, *ip), s = i;

	i = token_end(r, n, i);
	a->status = (span){s, i - s};
	if (!(i - s == 3 && all_digits(r + s, 3)) && !is_dash(r, a->status))
		return core_err_set(e, CORE_EPARSE, s, "expected a 3-digit HTTP status");
	s = i = skip_spaces(r, n, i);
	i = token_end(r, n, i);
	a->bytes = (span){s, i - s};
	if ((i - s > 18 || !all_digits(r + s, i - s)) && !(i - s == 1 && r[s] == '-'))
		return core_err_set(e, CORE_EPARSE, s, "expected the response size (digits or '-')");
	*ip = i;
	return 0;
}

/* Parses a whole line into a (offsets only). */
static int parse_line(const char *r, size_t n, access_rec *a, core_err *e)
{
	size_t i = 0;
	int rc;

	memset(a, 0, sizeof *a);
	if ((rc = parse_prefix(r, n, a, &i, e)) || (rc = parse_time(r, n, a, &i, e)))
		return rc;
	if (i >= n || r[i] != ' ')
		return core_err_set(e, CORE_EPARSE, i, "expected a space and the quoted request");
	i = skip_spaces(r, n, i);
	if ((rc = quoted(r, n, &i, &a->request, "request line", e)) ||
	    (rc = parse_numbers(r, n, a, &i, e)))
		return rc;
	i = skip_spaces(r, n, i);
	if (i < n && r[i] == '"') { /* combined: referrer and user agent */
		if ((rc = quoted(r, n, &i, &a->referer, "referrer", e)))
			return rc;
		a->has_referer = true;
		i = skip_spaces(r, n, i);
		if (i < n && r[i] == '"') {
			if ((rc = quoted(r, n, &i, &a->ua, "user agent", e)))
				return rc;
			a->has_ua = true;
			i = skip_spaces(r, n, i);
		}
	}
	size_t z = n;
	while (z > i && (r[z - 1] == ' ' || r[z - 1] == '\t'))
		z--;
	a->extra = (span){i, z - i};
	return 0;
}

/* ---- event --------------------------------------------------------------------- */

static int hexval(char c)
{
	if (core_is_digit(c))
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The span with \" \\ and \xHH undone: borrowed from r when there is no
 * backslash, else copied into the arena. */
static const char *unescape(core_arena *ar, const char *r, span s, size_t *len)
{
	const char *p = r + s.off;

	*len = s.len;
	if (!memchr(p, '\\', s.len))
		return p;
	char *d = core_arena_alloc(ar, s.len + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (p[i] != '\\' || i + 1 >= s.len) {
			d[o++] = p[i];
		} else if (p[i + 1] == 'x' && i + 3 < s.len && hexval(p[i + 2]) >= 0 &&
			   hexval(p[i + 3]) >= 0) {
			d[o++] = (char)(hexval(p[i + 2]) << 4 | hexval(p[i + 3]));
			i += 3;
		} else if (p[i + 1] == '"' || p[i + 1] == '\\') {
			d[o++] = p[++i];
		} else {
			d[o++] = p[i];
		}
	}
	d[o] = '\0';
	*len = o;
	return d;
}

/* Sets path to s (borrowed) and gives it the Sigma alias (may be NULL). */
static int set_aliased(core_event *ev, const char *path, const char *alias, const char *s, size_t n)
{
	int i = core_event_set_str(ev, path, s, n);

	if (i >= 0 && alias)
		i = core_event_set_alias(ev, (uint32_t)i, core_intern(alias, strlen(alias)));
	return i < 0 ? i : 0;
}

static int set_int_aliased(core_event *ev, const char *path, const char *alias, const char *s, size_t n)
{
	int64_t v;

	if (core_parse_i64(s, n, &v) != 0)
		return 0;
	int i = core_event_set_int(ev, path, v);
	if (i >= 0)
		i = core_event_set_alias(ev, (uint32_t)i, core_intern(alias, strlen(alias)));
	return i < 0 ? i : 0;
}

static bool method_like(const char *s, size_t n)
{
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-' ||
		      s[i] == '_'))
			return false;
	return true;
}

/* "METHOD URI [HTTP/x.y]"; anything else is kept whole as access.request. */
static int set_request(core_event *ev, const char *r, span rq)
{
	size_t n;
	const char *q = unescape(ev->arena, r, rq, &n);

	if (!q)
		return CORE_ENOMEM;
	if (is_dash(r, rq))
		return 0;
	const char *sp = memchr(q, ' ', n), *last = memrchr(q, ' ', n);
	if (!sp || !method_like(q, (size_t)(sp - q)))
		return set_aliased(ev, "access.request", NULL, r + rq.off, rq.len);
	size_t us = (size_t)(sp - q) + 1, ue = n;
	int rc = set_aliased(ev, "http.request.method", "cs-method", q, (size_t)(sp - q));
	if (rc == 0 && last != sp && n - (size_t)(last - q) > 5 && memcmp(last + 1, "HTTP/", 5) == 0) {
		ue = (size_t)(last - q);
		rc = set_aliased(ev, "http.version", NULL, last + 6, n - (size_t)(last - q) - 6);
	}
	const char *u = q + us, *qm = memchr(u, '?', ue - us);
	size_t plen = qm ? (size_t)(qm - u) : ue - us;
	if (rc == 0)
		rc = set_aliased(ev, "url.original", NULL, u, ue - us);
	if (rc == 0)
		rc = set_aliased(ev, "url.path", "cs-uri-stem", u, plen);
	if (rc == 0 && qm)
		rc = set_aliased(ev, "url.query", "cs-uri-query", qm + 1, ue - us - plen - 1);
	return rc;
}

/* An IPv4 or IPv6 address (roughly); else the client is a host name. */
static bool ip_like(const char *s, size_t n)
{
	bool colon = memchr(s, ':', n) != NULL;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(core_is_digit(c) || c == '.' || c == ':' || (colon && hexval(c) >= 0) ||
		      (colon && c == '%')))
			return false;
	}
	return n > 0;
}

static int set_quoted(core_event *ev, const char *r, span s, const char *path, const char *alias)
{
	size_t n;

	if (is_dash(r, s))
		return 0;
	const char *v = unescape(ev->arena, r, s, &n);
	return v ? set_aliased(ev, path, alias, v, n) : CORE_ENOMEM;
}

static int build(core_event *ev, const char *r, const access_rec *a)
{
	const char *c = r + a->client.off;
	bool ip = ip_like(c, a->client.len);
	int rc = set_aliased(ev, ip ? "source.ip" : "source.domain", "c-ip", c, a->client.len);

	if (rc == 0 && !is_dash(r, a->ident))
		rc = set_aliased(ev, "access.ident", NULL, r + a->ident.off, a->ident.len);
	if (rc == 0 && !is_dash(r, a->user))
		rc = set_aliased(ev, "user.name", "cs-username", r + a->user.off, a->user.len);
	if (rc == 0)
		rc = set_request(ev, r, a->request);
	if (rc == 0)
		rc = set_int_aliased(ev, "http.response.status_code", "sc-status", r + a->status.off,
				     a->status.len);
	if (rc == 0)
		rc = set_int_aliased(ev, "http.response.body.bytes", "sc-bytes", r + a->bytes.off,
				     a->bytes.len);
	if (rc == 0 && a->has_referer)
		rc = set_quoted(ev, r, a->referer, "http.request.referrer", "cs-referer");
	if (rc == 0 && a->has_ua)
		rc = set_quoted(ev, r, a->ua, "user_agent.original", "cs-user-agent");
	if (rc == 0 && a->extra.len)
		rc = set_aliased(ev, "access.extra", NULL, r + a->extra.off, a->extra.len);
	if (rc == 0 && a->has_vhost) {
		const char *v = r + a->vhost.off, *colon = memrchr(v, ':', a->vhost.len);
		size_t dl = a->vhost.len;
		if (colon && all_digits(colon + 1, a->vhost.len - (size_t)(colon - v) - 1) &&
		    (!memchr(v, ':', (size_t)(colon - v)) || colon[-1] == ']'))
			dl = (size_t)(colon - v); /* "host:port" or "[v6]:port" */
		rc = set_aliased(ev, "access.vhost", NULL, v, a->vhost.len);
		if (rc == 0)
			rc = set_aliased(ev, "url.domain", "cs-host", v, dl);
	}
	return rc;
}

static int access_parse(parse_ctx *cx, const char *rec, size_t n)
{
	access_rec a;
	int rc = parse_line(rec, n, &a, &cx->err);

	if (rc)
		return rc;
	core_event *ev = parse_ctx_event(cx, rec, n);
	if (!ev)
		return CORE_ENOMEM;
	ev->ts = a.ns;
	ev->ts_orig = rec + a.time.off;
	ev->ts_orig_len = (uint32_t)a.time.len;
	rc = build(ev, rec, &a);
	if (rc)
		core_err_set(&cx->err, rc, 0, "access log event: %s", core_strerror(rc));
	return rc;
}

/* 90 for a line that parses; 0 otherwise. */
static int access_probe(const char *rec, size_t n)
{
	access_rec a;
	core_err e;

	return parse_line(rec, n, &a, &e) == 0 ? 90 : 0;
}

const parse_format parse_fmt_access = {
	.name = "access",
	.summary = "web server access logs: NCSA common and combined (nginx, Apache)",
	.framing = PARSE_FRAME_LINE,
	.probe = access_probe,
	.parse = access_parse,
};
