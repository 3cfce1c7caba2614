/* api_parse.c: pure parsers of the parts of a request that are not JSON
 * bodies: the request target (path and query), query parameters of the
 * search endpoints, the Cookie and Authorization headers, names and roles.
 * They touch no socket and no store, so that fuzz/fuzz_api.c drives them. */
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into a new arena string; plus: '+' is a space. */
static int pct_decode(const char *s, size_t n, bool plus, core_arena *ar, char **out,
		      size_t *olen, core_err *err)
{
	char *d = core_arena_alloc(ar, n + 1);
	size_t o = 0;

	if (!d)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "request target too large");
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return core_err_set(err, CORE_EINVAL, i, "bad percent escape at byte %zu", i);
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c == 0)
			return core_err_set(err, CORE_EINVAL, i, "NUL byte in the request target");
		d[o++] = (char)c;
	}
	d[o] = '\0';
	if (core_utf8_invalid(d, o) != o)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "invalid UTF-8 in the request target");
	*out = d;
	*olen = o;
	return 0;
}

int api_query_parse(const char *qs, size_t n, core_arena *ar, api_kv *kv, size_t cap, size_t *nkv,
		    core_err *err)
{
	size_t i = 0, k = 0;

	*nkv = 0;
	while (i < n) {
		size_t j = i, eq = SIZE_MAX;
		while (j < n && qs[j] != '&') {
			if (qs[j] == '=' && eq == SIZE_MAX)
				eq = j;
			j++;
		}
		if (j > i) {
			size_t kend = eq == SIZE_MAX ? j : eq;
			char *key, *val;
			size_t kl, vl;
			int rc;
			if (k == cap)
				return core_err_set(err, CORE_EINVAL, i, "more than %zu query parameters",
						    cap);
			rc = pct_decode(qs + i, kend - i, true, ar, &key, &kl, err);
			if (rc)
				return rc;
			if (kl == 0)
				return core_err_set(err, CORE_EINVAL, i, "empty query parameter name");
			rc = pct_decode(eq == SIZE_MAX ? "" : qs + eq + 1, eq == SIZE_MAX ? 0 : j - eq - 1,
					true, ar, &val, &vl, err);
			if (rc)
				return rc;
			for (size_t m = 0; m < k; m++)
				if (kv[m].klen == kl && memcmp(kv[m].key, key, kl) == 0)
					return core_err_set(err, CORE_EINVAL, i,
							    "query parameter \"%.40s\" given twice", key);
			kv[k++] = (api_kv){.key = key, .val = val, .klen = kl, .vlen = vl};
		}
		i = j + 1;
	}
	*nkv = k;
	return 0;
}

const char *api_kv_get(const api_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].val;
	return NULL;
}

int api_parse_time(const char *s, int64_t *ns, core_err *err)
{
	size_t n = strlen(s), used = 0;
	bool digits = n > 0 && n <= 15;

	for (size_t i = 0; digits && i < n; i++)
		digits = core_is_digit((unsigned char)s[i]);
	if (digits) {
		int64_t ms;
		if (core_parse_i64(s, n, &ms) == 0 && ms <= INT64_MAX / 1000000) {
			*ns = ms * 1000000;
			return 0;
		}
	} else if (core_time_iso(s, n, ns, &used) == 0 && used == n) {
		return 0;
	}
	return core_err_set(err, CORE_EINVAL, SIZE_MAX,
			    "bad time \"%.40s\": RFC 3339 or epoch milliseconds expected", s);
}

int api_parse_id(const char *s, int64_t *id)
{
	size_t n = strlen(s);

	if (n == 0 || n > 19 || !core_is_digit((unsigned char)s[0]))
		return CORE_EINVAL;
	if (core_parse_i64(s, n, id) != 0 || *id <= 0)
		return CORE_EINVAL;
	return 0;
}

static int parse_limit(const char *s, unsigned *limit, core_err *err)
{
	int64_t v;

	if (core_parse_i64(s, strlen(s), &v) != 0 || v < 1 || v > 1000)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "limit must be 1..1000");
	*limit = (unsigned)v;
	return 0;
}

/* Checks a value used as a bound SQL parameter: length and no control bytes. */
static int check_value(const api_kv *kv, size_t max, core_err *err)
{
	if (kv->vlen == 0 || kv->vlen > max)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "parameter \"%.40s\" must be 1..%zu bytes",
				    kv->key, max);
	for (size_t i = 0; i < kv->vlen; i++)
		if ((unsigned char)kv->val[i] < 0x20)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX,
					    "control character in parameter \"%.40s\"", kv->key);
	return 0;
}

static bool path_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || core_is_digit(c) ||
			  c == '_' || c == '-' || c == '@' || (c == '.' && s[i + 1] != '.');
		if (!ok)
			return false;
	}
	return true;
}

static const char *const event_fields[] = {"host", "user", "src_ip", "dst_ip",
					   "action", "outcome", "program", "code"};

static int events_filter(const api_kv *kv, api_events_params *p, bool *used, core_err *err)
{
	const char *field = NULL;

	for (size_t f = 0; f < sizeof event_fields / sizeof *event_fields; f++)
		if (strcmp(kv->key, event_fields[f]) == 0)
			field = event_fields[f];
	if (!field && strncmp(kv->key, "field.", 6) == 0) {
		if (!path_ok(kv->key + 6, kv->klen - 6))
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "bad field path \"%.60s\"",
					    kv->key + 6);
		field = kv->key + 6;
	}
	*used = field != NULL;
	if (!field)
		return 0;
	if (p->q.n_filters == API_MAX_FILTERS)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "more than %d filters", API_MAX_FILTERS);
	int rc = check_value(kv, 1024, err);
	if (rc)
		return rc;
	p->filters[p->q.n_filters++] = (store_filter){.field = field, .value = kv->val};
	return 0;
}

int api_events_params_parse(const api_kv *kv, size_t n, api_events_params *p, core_err *err)
{
	memset(p, 0, sizeof *p);
	p->q.filters = p->filters;
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i].key;
		bool used = false;
		int rc = 0;
		if (strcmp(k, "from") == 0)
			rc = api_parse_time(kv[i].val, &p->q.from, err);
		else if (strcmp(k, "to") == 0)
			rc = api_parse_time(kv[i].val, &p->q.to, err);
		else if (strcmp(k, "q") == 0) {
			rc = check_value(&kv[i], 4096, err);
			p->q.text = kv[i].val;
		} else if (strcmp(k, "cursor") == 0) {
			rc = check_value(&kv[i], 256, err);
			p->q.cursor = kv[i].val;
		} else if (strcmp(k, "limit") == 0)
			rc = parse_limit(kv[i].val, &p->q.limit, err);
		else if (strcmp(k, "tenant") != 0) {
			rc = events_filter(&kv[i], p, &used, err);
			if (rc == 0 && !used)
				rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown parameter \"%.40s\"",
						  k);
		}
		if (rc)
			return rc;
	}
	if (p->q.from && p->q.to && p->q.to <= p->q.from)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "\"to\" must be after \"from\"");
	return 0;
}

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

static const char *const statuses[] = {"new", "acknowledged", "closed"};
static const char *const levels[] = {"informational", "low", "medium", "high", "critical"};

int api_alerts_params_parse(const api_kv *kv, size_t n, store_alert_query *q, core_err *err)
{
	memset(q, 0, sizeof *q);
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;
		int rc = 0;
		if (strcmp(k, "status") == 0) {
			if (!one_of(v, statuses, 3))
				rc = core_err_set(err, CORE_EINVAL, SIZE_MAX,
						  "status must be new, acknowledged or closed");
			q->status = v;
		} else if (strcmp(k, "level") == 0) {
			if (!one_of(v, levels, 5))
				rc = core_err_set(err, CORE_EINVAL, SIZE_MAX,
						  "level must be informational, low, medium, high or critical");
			q->level = v;
		} else if (strcmp(k, "rule_id") == 0 || strcmp(k, "host") == 0 ||
			   strcmp(k, "assignee") == 0) {
			rc = check_value(&kv[i], 1024, err);
			*(k[0] == 'r' ? &q->rule_id : k[0] == 'h' ? &q->host : &q->assignee) = v;
		} else if (strcmp(k, "from") == 0) {
			rc = api_parse_time(v, &q->from, err);
		} else if (strcmp(k, "to") == 0) {
			rc = api_parse_time(v, &q->to, err);
		} else if (strcmp(k, "cursor") == 0) {
			rc = check_value(&kv[i], 256, err);
			q->cursor = v;
		} else if (strcmp(k, "limit") == 0) {
			rc = parse_limit(v, &q->limit, err);
		} else if (strcmp(k, "tenant") != 0) {
			rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown parameter \"%.40s\"", k);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int api_page_params_parse(const api_kv *kv, size_t n, const char **cursor, unsigned *limit,
			  core_err *err)
{
	*cursor = NULL;
	*limit = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = 0;
		if (strcmp(kv[i].key, "cursor") == 0) {
			rc = check_value(&kv[i], 256, err);
			*cursor = kv[i].val;
		} else if (strcmp(kv[i].key, "limit") == 0) {
			rc = parse_limit(kv[i].val, limit, err);
		} else if (strcmp(kv[i].key, "tenant") != 0) {
			rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown parameter \"%.40s\"",
					  kv[i].key);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int api_tenant_param(const api_kv *kv, size_t n, bool *present, uint32_t *tenant, core_err *err)
{
	const char *v = api_kv_get(kv, n, "tenant");
	int64_t id;

	*present = v != NULL;
	*tenant = 0;
	if (!v || strcmp(v, "all") == 0 || strcmp(v, "0") == 0)
		return 0;
	if (api_parse_id(v, &id) != 0 || id > UINT32_MAX)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "tenant must be a tenant id or \"all\"");
	*tenant = (uint32_t)id;
	return 0;
}

int api_cookie_get(const char *h, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t nl = strlen(name), i = 0;

	while (i < n) {
		while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == ';'))
			i++;
		size_t ks = i;
		while (i < n && h[i] != '=' && h[i] != ';')
			i++;
		size_t ke = i;
		while (ke > ks && (h[ke - 1] == ' ' || h[ke - 1] == '\t'))
			ke--;
		if (i < n && h[i] == '=') {
			size_t vs = ++i;
			while (i < n && h[i] != ';')
				i++;
			size_t ve = i;
			while (ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t'))
				ve--;
			if (ve - vs >= 2 && h[vs] == '"' && h[ve - 1] == '"') {
				vs++;
				ve--;
			}
			if (ke - ks == nl && memcmp(h + ks, name, nl) == 0) {
				*val = h + vs;
				*vlen = ve - vs;
				return 0;
			}
		}
	}
	return STORE_ENOTFOUND;
}

bool api_secret_shape(const char *s, size_t n)
{
	if (n != API_SECRET_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || core_is_digit(c) || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

int api_bearer_get(const char *h, size_t n, const char **tok, size_t *tlen)
{
	size_t pl = sizeof API_TOKEN_PREFIX - 1;

	if (n < 7 || strncasecmp(h, "Bearer ", 7) != 0)
		return CORE_EINVAL;
	h += 7;
	n -= 7;
	while (n && *h == ' ') {
		h++;
		n--;
	}
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n != pl + API_SECRET_LEN || memcmp(h, API_TOKEN_PREFIX, pl) != 0 ||
	    !api_secret_shape(h + pl, n - pl))
		return CORE_EINVAL;
	*tok = h;
	*tlen = n;
	return 0;
}

int api_role_parse(const char *s)
{
	if (strcmp(s, "viewer") == 0)
		return STORE_ROLE_VIEWER;
	if (strcmp(s, "analyst") == 0)
		return STORE_ROLE_ANALYST;
	if (strcmp(s, "admin") == 0)
		return STORE_ROLE_ADMIN;
	return 0;
}

const char *api_role_name(int role)
{
	switch (role) {
	case STORE_ROLE_VIEWER:
		return "viewer";
	case STORE_ROLE_ANALYST:
		return "analyst";
	case STORE_ROLE_ADMIN:
		return "admin";
	}
	return "none";
}

bool api_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= API_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || core_is_digit(c);
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '@')))
			return false;
	}
	return true;
}

int api_target_parse(const char *uri, core_arena *ar, char **path, const char **query,
		     size_t *qlen, core_err *err)
{
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri), dlen;
	const char *hash = strchr(uri, '#');
	int rc;

	if (hash)
		return core_err_set(err, CORE_EINVAL, (size_t)(hash - uri), "fragment in the request target");
	if (plen == 0 || uri[0] != '/')
		return core_err_set(err, CORE_EINVAL, 0, "the request target must start with /");
	rc = pct_decode(uri, plen, false, ar, path, &dlen, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < dlen; i++) {
		if ((*path)[i] == '\\' || (unsigned char)(*path)[i] < 0x20)
			return core_err_set(err, CORE_EINVAL, i, "bad character in the path");
		if ((*path)[i] != '/')
			continue;
		/* the segment after this slash */
		const char *seg = *path + i + 1;
		size_t sl = strcspn(seg, "/");
		if ((sl == 0 && i + 1 < dlen) || (sl == 1 && seg[0] == '.') ||
		    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return core_err_set(err, CORE_EINVAL, i, "empty, \".\" or \"..\" path segment");
	}
	*query = q ? q + 1 : NULL;
	*qlen = q ? strlen(q + 1) : 0;
	return 0;
}

int api_json_str(core_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int rc = core_buf_addc(out, '"');

	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			rc = core_buf_add(out, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			rc = core_buf_add(out, e, 6);
		} else {
			rc = core_buf_addc(out, (char)c);
		}
	}
	return rc ? rc : core_buf_addc(out, '"');
}
