/* config.c: the server's configuration: defaults, a flat YAML file and flags.
 * Every key of the file is also a flag; docs/SERVER.md lists them. */
#include <errno.h>
#include <stdarg.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

typedef enum { K_STR, K_LIST, K_BOOL, K_UINT, K_SIZE, K_DURATION } key_type;

typedef struct key_def {
	const char *name;
	key_type type;
	size_t off;
	const char *help;
} key_def;

#define OFF(f) offsetof(server_config, f)
static const key_def keys[] = {
	{"data", K_STR, OFF(data), "data directory (databases, certificates, uploaded rules)"},
	{"syslog", K_LIST, OFF(syslog), "syslog listeners: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT"},
	{"relp", K_LIST, OFF(relp), "RELP listeners: HOST:PORT"},
	{"http", K_STR, OFF(http), "HTTPS API and console: https://HOST:PORT"},
	{"rules", K_LIST, OFF(rules), "Sigma rule files or folders (default: the project's own rules)"},
	{"logsources", K_LIST, OFF(logsources), "extra logsource maps (docs/LOGSOURCES.md)"},
	{"placeholders", K_STR, OFF(placeholders), "values of %placeholders% (expand modifier)"},
	{"tls-cert", K_STR, OFF(tls_cert), "PEM certificate for tls:// syslog, RELP over TLS and HTTPS"},
	{"tls-key", K_STR, OFF(tls_key), "PEM private key of tls-cert"},
	{"tls-ca", K_STR, OFF(tls_ca), "PEM CA bundle that client certificates must chain to"},
	{"tls-client-cert", K_BOOL, OFF(tls_client_cert), "require client certificates on tls://"},
	{"relp-tls", K_BOOL, OFF(relp_tls), "RELP listeners use TLS"},
	{"workers", K_UINT, OFF(workers), "parse+detect threads (0: one per core)"},
	{"queue", K_UINT, OFF(queue), "input queue capacity in records"},
	{"queue-bytes", K_SIZE, OFF(queue_bytes), "input queue capacity in bytes (64M)"},
	{"retain-days", K_UINT, OFF(retain_days), "drop events older than this many days (0: keep)"},
	{"retain-size", K_SIZE, OFF(retain_bytes), "drop the oldest events above this size (20G; 0: no bound)"},
	{"alert-window", K_DURATION, OFF(alert_window_ns), "group repeated alerts of a rule on a host (10m)"},
	{"corr-memory", K_SIZE, OFF(corr_memory), "bound on correlation state (64M)"},
	{"max-record", K_SIZE, OFF(max_record), "longest syslog record (256K)"},
	{"metrics-public", K_BOOL, OFF(metrics_public), "serve /metrics without credentials"},
	{"web-root", K_STR, OFF(web_root), "folder of the web console"},
	{"admin", K_STR, OFF(admin), "name of the admin created at first start"},
	{"tenant", K_UINT, OFF(tenant), "tenant id of events from the network inputs"},
	{"quiet", K_BOOL, OFF(quiet), "log only warnings and errors"},
};
#undef OFF

static const key_def *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

bool server_config_is_bool(const char *key)
{
	const key_def *k = find_key(key);
	return k && k->type == K_BOOL;
}

void server_config_keys(void (*fn)(void *ud, const char *key, const char *help), void *ud)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		fn(ud, keys[i].name, keys[i].help);
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static int strs_add(server_strs *l, const char *s, size_t n)
{
	char *d;
	if (core_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v, 4) != 0)
		return CORE_ENOMEM;
	if ((d = malloc(n + 1)) == NULL)
		return CORE_ENOMEM;
	memcpy(d, s, n);
	d[n] = '\0';
	l->v[l->n++] = d;
	return 0;
}

static void strs_free(server_strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (server_strs){0};
}

void server_config_init(server_config *c)
{
	*c = (server_config){0};
	c->data = dup_str("hisn-data");
	c->http = dup_str("https://0.0.0.0:8443");
	c->admin = dup_str("admin");
	strs_add(&c->syslog, "udp://0.0.0.0:5514", 18);
	strs_add(&c->syslog, "tcp://0.0.0.0:5514", 18);
	strs_add(&c->relp, "0.0.0.0:2514", 12);
	c->queue = 65536;
	c->queue_bytes = 64u << 20;
	c->retain_days = 30;
	c->retain_bytes = 20ull << 30;
	c->alert_window_ns = 600ll * 1000000000ll;
	c->corr_memory = 64u << 20;
	c->max_record = 256u << 10;
	c->tenant = 1;
}

void server_config_free(server_config *c)
{
	char **strs[] = {&c->file, &c->data, &c->http, &c->placeholders, &c->tls_cert, &c->tls_key,
			 &c->tls_ca, &c->web_root, &c->admin};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	strs_free(&c->syslog);
	strs_free(&c->relp);
	strs_free(&c->rules);
	strs_free(&c->logsources);
}

/* "64M", "20G", "1024", "512K" -> bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t mul = 1, v;
	if (n > 0 && strchr("kKmMgGtT", s[n - 1])) {
		switch (s[n - 1]) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		default: mul = 1ull << 40; break;
		}
		n--;
	}
	if (n == 0 || core_parse_u64(s, n, &v) != 0 || v > UINT64_MAX / mul)
		return CORE_EINVAL;
	*out = v * mul;
	return 0;
}

/* "30s", "10m", "2h", "1d" (a bare number is seconds) -> ns. */
static int parse_duration(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	int64_t mul = 1000000000ll, v;
	if (n > 0 && strchr("smhd", s[n - 1])) {
		mul = s[n - 1] == 's' ? 1000000000ll : s[n - 1] == 'm' ? 60000000000ll
		      : s[n - 1] == 'h' ? 3600000000000ll : 86400000000000ll;
		n--;
	}
	if (n == 0 || core_parse_i64(s, n, &v) != 0 || v < 0 || v > INT64_MAX / mul)
		return CORE_EINVAL;
	*out = v * mul;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return CORE_EINVAL;
}

static int set_list(server_strs *l, const char *v)
{
	for (const char *p = v;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n && strs_add(l, p, n) != 0)
			return CORE_ENOMEM;
		if (!e)
			return 0;
		p = e + 1;
	}
}

static int set_key(server_config *c, const key_def *k, const char *value, core_err *err)
{
	void *f = (char *)c + k->off;
	uint64_t u;
	int rc = 0;

	switch (k->type) {
	case K_STR: {
		char **s = f, *d = dup_str(value);
		if (!d)
			return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		free(*s);
		*s = d[0] ? d : (free(d), NULL);
		return 0;
	}
	case K_LIST:
		return set_list(f, value);
	case K_BOOL:
		rc = parse_bool(value, f);
		break;
	case K_UINT:
		rc = core_parse_u64(value, strlen(value), &u);
		if (rc == 0 && u > UINT32_MAX)
			rc = CORE_EINVAL;
		if (rc == 0 && k->off == offsetof(server_config, retain_days))
			*(uint64_t *)f = u;
		else if (rc == 0)
			*(unsigned *)f = (unsigned)u;
		break;
	case K_SIZE:
		rc = parse_size(value, f);
		break;
	case K_DURATION:
		rc = parse_duration(value, f);
		break;
	}
	if (rc)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: invalid value '%s'", k->name, value);
	return 0;
}

int server_config_set(server_config *c, const char *key, const char *value, core_err *err)
{
	const key_def *k = find_key(key);
	if (!k)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown setting '%s'", key);
	return set_key(c, k, value, err);
}

void server_config_reset(server_config *c, const char *key)
{
	const key_def *k = find_key(key);
	if (k && k->type == K_LIST)
		strs_free((server_strs *)((char *)c + k->off));
}

/* ---- the YAML file ----------------------------------------------------------------------- */
static int node_fail(const char *path, struct fy_node *n, core_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int node_fail(const char *path, struct fy_node *n, core_err *err, const char *fmt, ...)
{
	const struct fy_mark *m = NULL;
	char msg[160];
	va_list ap;

	if (n && fy_node_get_type(n) == FYNT_SCALAR)
		m = fy_token_start_mark(fy_node_get_scalar_token(n));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!m)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: %s", path, msg);
	return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s:%d:%d: %s", path, m->line + 1, m->column + 1, msg);
}

static int scalar(struct fy_node *n, char *buf, size_t cap)
{
	size_t len;
	const char *s;
	if (!n || fy_node_get_type(n) != FYNT_SCALAR || (s = fy_node_get_scalar(n, &len)) == NULL ||
	    len >= cap || memchr(s, '\0', len))
		return CORE_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int file_pair(server_config *c, const char *path, struct fy_node *kn, struct fy_node *vn,
		     core_err *err)
{
	char key[64], val[4096];
	const key_def *k;
	int rc;

	if (scalar(kn, key, sizeof key) != 0)
		return node_fail(path, kn, err, "%s", "a setting name must be a short text");
	if ((k = find_key(key)) == NULL)
		return node_fail(path, kn, err, "unknown setting '%s' (hisn server --help lists them)", key);
	if (vn && fy_node_get_type(vn) == FYNT_SEQUENCE) {
		if (k->type != K_LIST)
			return node_fail(path, vn, err, "'%s' takes one value, not a list", key);
		void *it = NULL;
		for (struct fy_node *e; (e = fy_node_sequence_iterate(vn, &it)) != NULL;) {
			if (scalar(e, val, sizeof val) != 0)
				return node_fail(path, e, err, "%s", "a list item must be a text");
			if ((rc = strs_add((server_strs *)((char *)c + k->off), val, strlen(val))) != 0)
				return core_err_set(err, rc, SIZE_MAX, "out of memory");
		}
		return 0;
	}
	if (scalar(vn, val, sizeof val) != 0)
		return node_fail(path, vn ? vn : kn, err, "'%s' needs a value", key);
	if ((rc = set_key(c, k, val, err)) != 0)
		return node_fail(path, vn, err, "%.150s", err->msg);
	return 0;
}

/* A list key given in the file replaces the default list (flags append to it). */
static void clear_default_list(server_config *c, struct fy_node *root)
{
	void *it = NULL;
	char key[64];
	for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(root, &it)) != NULL;) {
		const key_def *k;
		if (scalar(fy_node_pair_key(p), key, sizeof key) == 0 && (k = find_key(key)) &&
		    k->type == K_LIST)
			strs_free((server_strs *)((char *)c + k->off));
	}
}

static void quiet(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag, (void)user, (void)buf, (void)len;
}

/* Reads the whole file (at most 1 MiB) into b. */
static int read_file(const char *path, core_buf *b, core_err *err)
{
	char chunk[8192];
	size_t n;
	int rc = 0;
	FILE *f = fopen(path, "rb");

	if (!f)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
	while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (core_buf_add(b, chunk, n) != 0)
			rc = core_err_set(err, CORE_ETOOBIG, SIZE_MAX, "%s: larger than 1 MiB", path);
	if (rc == 0 && ferror(f))
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
	fclose(f);
	return rc;
}

/* The parser's first error as FILE:LINE:COL: message. */
static int yaml_error(const char *path, struct fy_diag *diag, core_err *err)
{
	struct fy_diag_error *e;
	void *it = NULL;
	while ((e = fy_diag_errors_iterate(diag, &it)) != NULL && e->type != FYET_ERROR)
		;
	if (!e)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: not valid YAML", path);
	return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s:%d:%d: YAML: %.120s", path, e->line + 1,
			    e->column + 1, e->msg ? e->msg : "syntax error");
}

int server_config_file(server_config *c, const char *path, core_err *err)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag = NULL;
	struct fy_document *d = NULL;
	struct fy_node *root;
	core_buf text;
	void *it = NULL;
	size_t bad;
	int rc;

	core_buf_init(&text, 1u << 20);
	if ((rc = read_file(path, &text, err)) != 0)
		goto out;
	if ((bad = core_utf8_invalid(text.data ? text.data : "", text.len)) < text.len) {
		rc = core_err_set(err, CORE_EINVAL, bad, "%s: byte %zu: invalid UTF-8", path, bad);
		goto out;
	}
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL, dcfg.output_fn = quiet, dcfg.colorize = false;
	if ((diag = fy_diag_create(&dcfg)) == NULL) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		goto out;
	}
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
	if ((d = fy_document_build_from_string(&cfg, text.data ? text.data : "", text.len)) == NULL) {
		rc = yaml_error(path, diag, err);
		goto out;
	}
	root = fy_document_root(d);
	if (root && fy_node_get_type(root) != FYNT_MAPPING) {
		rc = node_fail(path, root, err, "%s", "expected a mapping of settings (key: value)");
		goto out;
	}
	if (root)
		clear_default_list(c, root);
	for (struct fy_node_pair *p; root && (p = fy_node_mapping_iterate(root, &it)) != NULL;)
		if ((rc = file_pair(c, path, fy_node_pair_key(p), fy_node_pair_value(p), err)) != 0)
			goto out;
	free(c->file);
	if ((c->file = dup_str(path)) == NULL)
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
out:
	fy_document_destroy(d);
	if (diag)
		fy_diag_destroy(diag);
	core_buf_free(&text);
	return rc;
}
