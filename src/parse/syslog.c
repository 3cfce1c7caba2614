/* syslog.c: the "syslog" format. One framed record in RFC 5424 or RFC 3164
 * form, including the variants real senders and rsyslog write (ISO timestamps,
 * no PRI, no hostname, no tag, a year after the day), becomes an event with the
 * ECS log.syslog.*, host.name, process.* and message fields. The message is then
 * parsed as JSON when it is an object, else handed to linux.c (program fields). */
#include <string.h>

#include "parse/linux_int.h"

#define SL_TAG_MAX 128 /* longest RFC 3164 tag accepted (the RFCs say 32 / 48) */
#define SL_PID_MAX 32  /* longest "[pid]" content accepted */
#define NS_PER_S 1000000000LL

typedef struct sl_span {
	const char *p;
	size_t n;
} sl_span;

/* The header of one record: slices of the record, nothing copied. */
typedef struct sl_hdr {
	int pri;       /* 0..191, or -1 when absent */
	int version;   /* RFC 5424 VERSION; 0 for RFC 3164 */
	int64_t ts;    /* CORE_TS_NONE when absent */
	sl_span ts_text, host, app, procid, msgid, sd, msg;
	bool has_tag;  /* RFC 3164: a "prog:" or "prog[pid]" tag was found */
} sl_hdr;

static const char *const facility_names[24] = {
	"kern",     "user",   "mail",    "daemon",   "auth",   "syslog",  "lpr",
	"news",     "uucp",   "cron",    "authpriv", "ftp",    "ntp",     "security",
	"console",  "solaris-cron", "local0", "local1", "local2", "local3", "local4",
	"local5",   "local6", "local7"};

static const char *const severity_names[8] = {"emerg",  "alert", "crit", "err",
					      "warning", "notice", "info", "debug"};

static const char month_abbr[12][3] = {{'J', 'a', 'n'}, {'F', 'e', 'b'}, {'M', 'a', 'r'},
				       {'A', 'p', 'r'}, {'M', 'a', 'y'}, {'J', 'u', 'n'},
				       {'J', 'u', 'l'}, {'A', 'u', 'g'}, {'S', 'e', 'p'},
				       {'O', 'c', 't'}, {'N', 'o', 'v'}, {'D', 'e', 'c'}};

static sl_span span(const char *p, size_t n)
{
	return (sl_span){.p = p, .n = n};
}

static int parse_err(core_err *err, size_t off, const char *what)
{
	core_err_set(err, CORE_EPARSE, off, "%s", what);
	return CORE_EPARSE;
}

/* ---- PRI ---------------------------------------------------------------- */

/* "<PRI>" at r[0] (r[1] is a digit). *pos receives the index after '>'. */
static int sl_pri(const char *r, size_t n, size_t *pos, int *pri, core_err *err)
{
	size_t i = 1;
	int v = 0;

	while (i < n && i <= 3 && core_is_digit(r[i]))
		v = v * 10 + (r[i++] - '0');
	if (i >= n || r[i] != '>')
		return parse_err(err, i, "invalid PRI: expected 1 to 3 digits and '>'");
	if (v > 191) {
		core_err_set(err, CORE_EPARSE, 1, "invalid PRI %d: expected 0 to 191", v);
		return CORE_EPARSE;
	}
	*pri = v;
	*pos = i + 1;
	return 0;
}

/* ---- timestamps ------------------------------------------------------------ */

static int month_index(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (s[0] == month_abbr[i][0] && s[1] == month_abbr[i][1] && s[2] == month_abbr[i][2])
			return i + 1;
	return 0;
}

/* "YYYY-MM-DD" at s: an RFC 3339 timestamp is expected. */
static bool iso_start(const char *s, size_t n)
{
	return n >= 10 && core_is_digit(s[0]) && core_is_digit(s[1]) && core_is_digit(s[2]) &&
	       core_is_digit(s[3]) && s[4] == '-' && core_is_digit(s[5]) && core_is_digit(s[6]) &&
	       s[7] == '-' && core_is_digit(s[8]) && core_is_digit(s[9]);
}

/* "Mmm d" or "Mmm  d" at s: an RFC 3164 timestamp is expected. */
static bool bsd_start(const char *s, size_t n)
{
	return n >= 6 && s[3] == ' ' && (core_is_digit(s[4]) || s[4] == ' ') && month_index(s);
}

static int64_t two_digits(const char *s)
{
	if (!core_is_digit(s[0]) || !core_is_digit(s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The "Mmm dd yyyy hh:mm:ss" variant (Cisco and some appliances): 0 with *ns
 * and *used set, 1 when s is not that variant, or CORE_EPARSE. */
static int bsd_with_year(const char *s, size_t n, int64_t *ns, size_t *used)
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t i = 4;
	int64_t day = 0, y = 0;

	if (s[i] == ' ')
		i++;
	while (i < n && i < 7 && core_is_digit(s[i]))
		day = day * 10 + (s[i++] - '0');
	if (i + 14 > n || s[i] != ' ' || s[i + 5] != ' ')
		return 1;
	for (size_t k = i + 1; k < i + 5; k++) {
		if (!core_is_digit(s[k]))
			return 1;
		y = y * 10 + (s[k] - '0');
	}
	if (!lx_iso_year_ok(s + i + 1, 4))
		return CORE_EPARSE;
	i += 6;
	int mo = month_index(s);
	int64_t h = two_digits(s + i), mi = two_digits(s + i + 3), sec = two_digits(s + i + 6);
	if (s[i + 2] != ':' || s[i + 5] != ':' || h < 0 || mi < 0 || sec < 0 || h > 23 ||
	    mi > 59 || sec > 60 || day < 1 || day > mdays[mo - 1] + (mo == 2 && leap_year(y)))
		return CORE_EPARSE;
	i += 8;
	*ns = ((core_days_from_civil(y, (unsigned)mo, (unsigned)day) * 24 + h) * 60 + mi) * 60 *
		      NS_PER_S + sec * NS_PER_S;
	if (i + 1 < n && s[i] == '.' && core_is_digit(s[i + 1])) {
		int64_t scale = NS_PER_S;
		for (i++; i < n && core_is_digit(s[i]); i++) {
			if (scale > 1) {
				scale /= 10;
				*ns += (s[i] - '0') * scale;
			}
		}
	}
	*used = i;
	return 0;
}

/* The timestamp at r[*pos], if any: 1 (found, *pos moved past it), 0 (none)
 * or CORE_EPARSE when the text starts like a timestamp but is not one. */
static int sl_time(const char *r, size_t n, size_t *pos, int64_t ref, sl_hdr *h, core_err *err)
{
	const char *s = r + *pos;
	size_t m = n - *pos, used = 0;
	int64_t ns = 0;

	if (iso_start(s, m)) {
		if (!lx_iso_year_ok(s, m) || core_time_iso(s, m, &ns, &used) != 0)
			return parse_err(err, *pos, "invalid timestamp: expected an RFC 3339 date-time");
	} else if (bsd_start(s, m)) {
		int rc = bsd_with_year(s, m, &ns, &used);
		if (rc == 1)
			rc = core_time_bsd(s, m, ref, &ns, &used);
		if (rc != 0)
			return parse_err(err, *pos, "invalid timestamp: expected 'Mmm dd hh:mm:ss'");
	} else {
		return 0;
	}
	h->ts = ns;
	h->ts_text = span(s, used);
	*pos += used;
	return 1;
}

/* ---- RFC 3164 ---------------------------------------------------------------- */

/* Whether the first token after the timestamp is the tag (no hostname): it
 * ends with ':' ("su:", "sshd[42]:") or holds a '[' after its first byte. */
static bool token_is_tag(const char *t, size_t n)
{
	return n > 0 && (t[n - 1] == ':' || (n > 1 && memchr(t + 1, '[', n - 1)));
}

/* The tag at r[*pos]: "prog:", "prog[pid]:" or "prog[pid]". Sets h->app,
 * h->procid and moves *pos to the message (one space skipped). Leaves
 * everything unchanged when there is no tag. */
static void sl_tag(const char *r, size_t n, size_t *pos, sl_hdr *h)
{
	size_t i = *pos, j = i, lim = n - i > SL_TAG_MAX ? i + SL_TAG_MAX : n;

	while (j < lim && r[j] != ':' && r[j] != '[' && r[j] != ' ')
		j++;
	if (j == i || j >= lim || r[j] == ' ')
		return;
	size_t k = j + 1;
	if (r[j] == '[') {
		while (k < n && k - j <= SL_PID_MAX && r[k] != ']')
			k++;
		if (k >= n || r[k] != ']')
			return;
		h->procid = span(r + j + 1, k - j - 1);
		k++;
		if (k < n && r[k] == ':')
			k++;
		else if (k < n && r[k] != ' ')
			return;
	}
	h->app = span(r + i, j - i);
	h->has_tag = true;
	if (k < n && r[k] == ' ')
		k++;
	*pos = k;
}

static int sl_3164(const char *r, size_t n, size_t i, int64_t ref, sl_hdr *h, core_err *err)
{
	int rc = sl_time(r, n, &i, ref, h, err);

	if (rc < 0)
		return rc;
	if (rc > 0) {
		if (i < n && r[i] != ' ')
			return parse_err(err, i, "expected ' ' after the timestamp");
		while (i < n && r[i] == ' ')
			i++;
		size_t j = i;
		while (j < n && r[j] != ' ')
			j++;
		if (j > i && !token_is_tag(r + i, j - i)) {
			h->host = span(r + i, j - i);
			for (i = j; i < n && r[i] == ' '; i++)
				;
		}
	}
	sl_tag(r, n, &i, h);
	h->msg = span(r + i, n - i);
	return 0;
}

/* ---- RFC 5424 ------------------------------------------------------------------ */

/* "<PRI>" is followed by "V " or "VV " (VERSION, no leading zero). */
static bool is_5424(const char *r, size_t n, size_t i)
{
	if (i >= n || r[i] < '1' || r[i] > '9')
		return false;
	if (i + 1 < n && r[i + 1] == ' ')
		return true;
	return i + 2 < n && core_is_digit(r[i + 1]) && r[i + 2] == ' ';
}

/* One header field at r[*pos] up to a space; NILVALUE gives an empty span. */
static int sl_field(const char *r, size_t n, size_t *pos, sl_span *out, core_err *err,
		    const char *what)
{
	size_t i = *pos, j = i;

	while (j < n && r[j] != ' ')
		j++;
	if (j == i) {
		core_err_set(err, CORE_EPARSE, i, "expected %s", what);
		return CORE_EPARSE;
	}
	*out = (j - i == 1 && r[i] == '-') ? span(NULL, 0) : span(r + i, j - i);
	*pos = j < n ? j + 1 : j;
	return 0;
}

/* SD-NAME: printable US-ASCII except '=', ' ', ']' and '"'. */
static bool sd_name_char(unsigned char c)
{
	return c > 32 && c < 127 && c != '=' && c != ']' && c != '"';
}

/* The field of the child of parent whose key is k, or -1. */
static int find_child(const core_event *ev, uint32_t parent, const char *k, size_t kn)
{
	for (uint32_t i = parent + 1; i < ev->n; i++) {
		const core_field *f = &ev->f[i];
		if (f->parent == parent && f->key_len == kn && memcmp(f->key, k, kn) == 0)
			return (int)i;
	}
	return -1;
}

/* Adds param=value (the raw value between the quotes) under the element obj:
 * the value is unescaped (\" \\ \]) into the arena only when it has a
 * backslash; a repeated parameter keeps its last value. */
static int sd_param(core_event *ev, uint32_t obj, sl_span name, sl_span v, bool esc)
{
	const char *s = v.p;
	size_t len = v.n;

	if (esc) {
		char *d = core_arena_alloc(ev->arena, v.n ? v.n : 1);
		if (!d)
			return CORE_ENOMEM;
		len = 0;
		for (size_t i = 0; i < v.n; i++) {
			if (v.p[i] == '\\' && i + 1 < v.n &&
			    (v.p[i + 1] == '"' || v.p[i + 1] == '\\' || v.p[i + 1] == ']'))
				i++;
			d[len++] = v.p[i];
		}
		s = d;
	}
	int i = find_child(ev, obj, name.p, name.n);
	if (i >= 0) {
		ev->f[i].type = CORE_T_STR;
		ev->f[i].u.s = s;
		ev->f[i].len = (uint32_t)len;
		return 0;
	}
	i = core_event_add_str(ev, obj, name.p, name.n, s, len);
	return i < 0 ? i : 0;
}

/* The object of SD-ID id under root (log.syslog.structured_data), created on
 * first use; a repeated SD-ID reuses its object. */
static int sd_element(core_event *ev, int *root, sl_span id)
{
	if (*root < 0) {
		*root = core_event_set_object(ev, "log.syslog.structured_data");
		if (*root < 0)
			return *root;
	}
	int i = find_child(ev, (uint32_t)*root, id.p, id.n);
	if (i >= 0 && ev->f[i].type == CORE_T_OBJECT)
		return i;
	return core_event_add_object(ev, (uint32_t)*root, id.p, id.n);
}

/* One "name=\"value\"" at r[*pos]; adds it under obj when ev is not NULL. */
static int sd_one_param(const char *r, size_t n, size_t *pos, core_event *ev, int obj,
			core_err *err)
{
	size_t i = *pos, q;
	bool esc = false;

	while (i < n && sd_name_char((unsigned char)r[i]))
		i++;
	sl_span name = span(r + *pos, i - *pos);
	if (name.n == 0)
		return parse_err(err, i, "expected an SD-PARAM name");
	if (i >= n || r[i] != '=')
		return parse_err(err, i, "expected '=' after the SD-PARAM name");
	if (++i >= n || r[i] != '"')
		return parse_err(err, i, "expected '\"' to open the SD-PARAM value");
	for (q = i++; i < n && r[i] != '"'; i++) {
		if (r[i] == '\\' && i + 1 < n) {
			esc = true;
			i++;
		}
	}
	if (i >= n)
		return parse_err(err, q, "unterminated SD-PARAM value: expected '\"'");
	*pos = i + 1;
	if (!ev)
		return 0;
	return sd_param(ev, (uint32_t)obj, name, span(r + q + 1, i - q - 1), esc);
}

/* STRUCTURED-DATA at r[*pos] (a '['): validates it and, when ev is not NULL,
 * adds log.syslog.structured_data.<SD-ID>.<param> string fields. */
static int sl_sd(const char *r, size_t n, size_t *pos, core_event *ev, core_err *err)
{
	size_t i = *pos;
	int root = -1, obj = -1, rc;

	while (i < n && r[i] == '[') {
		size_t s = ++i;
		while (i < n && sd_name_char((unsigned char)r[i]))
			i++;
		if (i == s)
			return parse_err(err, i, "expected an SD-ID after '['");
		if (ev && (obj = sd_element(ev, &root, span(r + s, i - s))) < 0)
			return obj;
		for (;;) {
			if (i >= n)
				return parse_err(err, i, "unterminated SD-ELEMENT: expected ']'");
			if (r[i] == ']') {
				i++;
				break;
			}
			if (r[i] != ' ')
				return parse_err(err, i, "expected ' ' or ']' in the SD-ELEMENT");
			while (i < n && r[i] == ' ')
				i++;
			if (i < n && r[i] == ']')
				continue;
			if ((rc = sd_one_param(r, n, &i, ev, obj, err)) != 0)
				return rc;
		}
	}
	*pos = i;
	return 0;
}

static int sl_5424(const char *r, size_t n, size_t i, sl_hdr *h, core_err *err)
{
	sl_span f = {0};
	size_t used = 0;
	int rc;

	h->version = r[i] - '0';
	if (r[i + 1] != ' ')
		h->version = h->version * 10 + (r[++i] - '0');
	i += 2;
	if ((rc = sl_field(r, n, &i, &f, err, "TIMESTAMP")) != 0)
		return rc;
	if (f.n) {
		if (!lx_iso_year_ok(f.p, f.n) || core_time_iso(f.p, f.n, &h->ts, &used) != 0 ||
		    used != f.n)
			return parse_err(err, (size_t)(f.p - r),
					 "invalid TIMESTAMP: expected an RFC 3339 date-time or '-'");
		h->ts_text = f;
	}
	if ((rc = sl_field(r, n, &i, &h->host, err, "HOSTNAME")) != 0 ||
	    (rc = sl_field(r, n, &i, &h->app, err, "APP-NAME")) != 0 ||
	    (rc = sl_field(r, n, &i, &h->procid, err, "PROCID")) != 0 ||
	    (rc = sl_field(r, n, &i, &h->msgid, err, "MSGID")) != 0)
		return rc;
	size_t sd0 = i;
	if (i < n && r[i] == '-' && (i + 1 == n || r[i + 1] == ' ')) {
		i++;
	} else if (i < n && r[i] == '[') {
		if ((rc = sl_sd(r, n, &i, NULL, err)) != 0)
			return rc;
		h->sd = span(r + sd0, i - sd0);
	} else {
		return parse_err(err, i, "expected STRUCTURED-DATA ('-' or '[')");
	}
	if (i < n) {
		if (r[i] != ' ')
			return parse_err(err, i, "expected ' ' after STRUCTURED-DATA");
		i++;
		if (n - i >= 3 && (unsigned char)r[i] == 0xEF && (unsigned char)r[i + 1] == 0xBB &&
		    (unsigned char)r[i + 2] == 0xBF)
			i += 3;
		h->msg = span(r + i, n - i);
	}
	return 0;
}

/* ---- header ------------------------------------------------------------------------ */

static int sl_header(const char *r, size_t n, int64_t ref, sl_hdr *h, core_err *err)
{
	size_t i = 0;

	memset(h, 0, sizeof *h);
	h->pri = -1;
	h->ts = CORE_TS_NONE;
	if (n >= 2 && r[0] == '<' && core_is_digit(r[1])) {
		int rc = sl_pri(r, n, &i, &h->pri, err);
		if (rc)
			return rc;
		if (is_5424(r, n, i))
			return sl_5424(r, n, i, h, err);
	}
	return sl_3164(r, n, i, ref, h, err);
}

/* ---- event ------------------------------------------------------------------------- */

#define SL_TRY(expr)                          \
	do {                                  \
		int r_ = (expr);              \
		if (r_ < 0) {                 \
			rc = r_;              \
			goto out;             \
		}                             \
	} while (0)

/* A message that is one JSON object ("prog: {...}"). */
static bool json_body(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

/* Parses the JSON body into a "json" object; on a syntax error the partial
 * fields are dropped and only message stays. */
static int sl_json(parse_ctx *cx, core_event *ev, sl_span m)
{
	uint32_t mark = ev->n;
	int obj = core_event_set_object(ev, "json");

	if (obj < 0)
		return obj;
	int rc = parse_json_into(cx, ev, (uint32_t)obj, m.p, m.n);
	if (rc == CORE_ENOMEM || rc == CORE_ETOOBIG)
		return rc;
	if (rc < 0) {
		ev->n = mark;
		ev->index = NULL;
		cx->err.code = 0;
		cx->err.msg[0] = '\0';
	}
	return 0;
}

static int sl_pid(core_event *ev, sl_span pid)
{
	int64_t v;

	if (!pid.n)
		return 0;
	if (core_parse_i64(pid.p, pid.n, &v) == 0 && v >= 0)
		return core_event_set_int(ev, "process.pid", v);
	return core_event_set_str(ev, "log.syslog.procid", pid.p, pid.n);
}

static int sl_build(parse_ctx *cx, core_event *ev, const char *r, const sl_hdr *h)
{
	int rc = 0;

	if (h->ts != CORE_TS_NONE) {
		ev->ts = h->ts;
		ev->ts_orig = h->ts_text.p;
		ev->ts_orig_len = (uint32_t)h->ts_text.n;
	}
	if (h->pri >= 0) {
		int fac = h->pri >> 3, sev = h->pri & 7;
		SL_TRY(core_event_set_int(ev, "log.syslog.priority", h->pri));
		SL_TRY(core_event_set_int(ev, "log.syslog.facility.code", fac));
		SL_TRY(core_event_set_str(ev, "log.syslog.facility.name", facility_names[fac],
					  strlen(facility_names[fac])));
		SL_TRY(core_event_set_int(ev, "log.syslog.severity.code", sev));
		SL_TRY(core_event_set_str(ev, "log.syslog.severity.name", severity_names[sev],
					  strlen(severity_names[sev])));
	}
	if (h->version) {
		SL_TRY(core_event_set_int(ev, "log.syslog.version", h->version));
		if (h->app.n)
			SL_TRY(core_event_set_str(ev, "log.syslog.appname", h->app.p, h->app.n));
		if (h->msgid.n)
			SL_TRY(core_event_set_str(ev, "log.syslog.msgid", h->msgid.p, h->msgid.n));
		if (h->sd.n) {
			size_t i = (size_t)(h->sd.p - r);
			SL_TRY(sl_sd(r, i + h->sd.n, &i, ev, &cx->err));
		}
	}
	if (h->host.n)
		SL_TRY(core_event_set_str(ev, "host.name", h->host.p, h->host.n));
	if (h->app.n)
		SL_TRY(core_event_set_str(ev, "process.name", h->app.p, h->app.n));
	SL_TRY(sl_pid(ev, h->procid));
	if (h->msg.n) {
		SL_TRY(core_event_set_str(ev, "message", h->msg.p, h->msg.n));
		if (json_body(h->msg.p, h->msg.n))
			rc = sl_json(cx, ev, h->msg);
		else
			rc = parse_linux_message(cx, ev, h->app.p, h->app.n, h->msg.p, h->msg.n);
	}
out:
	return rc;
}

static int sl_parse(parse_ctx *cx, const char *rec, size_t n)
{
	sl_hdr h;
	core_event *ev;
	int rc;

	while (n > 0 && (rec[n - 1] == '\n' || rec[n - 1] == '\r' || rec[n - 1] == '\0'))
		n--;
	rc = sl_header(rec, n, cx->ref_time, &h, &cx->err);
	if (rc)
		return rc;
	ev = parse_ctx_event(cx, rec, n);
	if (!ev)
		return CORE_ENOMEM;
	rc = sl_build(cx, ev, rec, &h);
	if (rc < 0) {
		if (!cx->err.code)
			core_err_set(&cx->err, rc, 0, "cannot add the syslog fields: %s",
				     core_strerror(rc));
		parse_ctx_drop(cx);
	}
	return rc < 0 ? rc : 0;
}

/* ---- probe ---------------------------------------------------------------------------- */

static bool starts_with(sl_span s, const char *lit, size_t n)
{
	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* 95: RFC 5424; 90: PRI and a timestamp; 70/50: PRI and a tag / nothing
 * else; 75/70: no PRI but a BSD/ISO timestamp, a host and a tag; 40: a
 * timestamp and a host or tag; 20: a timestamp only, or no PRI and an ISO
 * time with a space instead of 'T' (application logs); 10: a broken PRI
 * header. CEF/LEEF carried in syslog get at most 50 so that their own format
 * wins. */
static int sl_probe(const char *rec, size_t n)
{
	sl_hdr h;
	int score;

	if (n == 0 || !(rec[0] == '<' || core_is_digit(rec[0]) || (rec[0] >= 'A' && rec[0] <= 'S')))
		return 0;
	if (sl_header(rec, n, 0, &h, NULL) != 0)
		return rec[0] == '<' ? 10 : 0;
	if (h.version)
		score = 95;
	else if (h.pri >= 0)
		score = h.ts != CORE_TS_NONE ? 90 : h.has_tag ? 70 : 50;
	else if (h.ts == CORE_TS_NONE)
		score = 0;
	else if (h.host.n && h.has_tag)
		score = core_is_digit(h.ts_text.p[0]) ? 70 : 75;
	else if (h.host.n || h.has_tag)
		score = 40;
	else
		score = 20;
	if (score > 20 && h.pri < 0 && core_is_digit(h.ts_text.p[0]) && h.ts_text.p[10] != 'T')
		score = 20; /* "2026-11-27 10:00:00,123 INFO ...": an application log */
	if (score > 50 && (starts_with(h.msg, "CEF:", 4) || starts_with(h.msg, "LEEF:", 5) ||
			   (h.app.n == 3 && memcmp(h.app.p, "CEF", 3) == 0) ||
			   (h.app.n == 4 && memcmp(h.app.p, "LEEF", 4) == 0)))
		score = 50;
	return score;
}

const parse_format parse_fmt_syslog = {
	.name = "syslog",
	.summary = "syslog RFC 5424 and RFC 3164 (rsyslog, journald, BSD variants) with "
		   "sshd, sudo, su, PAM, shadow, cron, systemd, netfilter and Sysmon fields",
	.framing = PARSE_FRAME_SYSLOG,
	.probe = sl_probe,
	.parse = sl_parse,
};
