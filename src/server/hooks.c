/* hooks.c: what the API asks of the server: ingest (answered once the events
 * are stored), the rules (list, show, enable/disable, validate, upload), and
 * metrics and health (metrics.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_int.h"

static int ingest(void *ud, const api_caller *who, const char *body, size_t n, const char *ctype,
		  core_err *err)
{
	srv *s = ud;
	srv_wait w = {.done = false};
	srv_rec *r;
	int rc;

	(void)ctype;
	if (pthread_mutex_init(&w.mu, NULL) != 0 || pthread_cond_init(&w.cv, NULL) != 0)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	if ((r = srv_rec_new(body, n, SRV_JSON, SRV_INPUT_HTTP, who->tenant, core_time_now())) == NULL) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		goto out;
	}
	r->wait = &w;
	if (srv_queue_put(&s->in, r) != 0) {
		free(r);
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "the server is shutting down");
		goto out;
	}
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	if (w.rc) {
		*err = w.err;
		rc = w.rc;
		if (!err->msg[0])
			core_err_set(err, rc, SIZE_MAX, "%s", core_strerror(rc));
		goto out;
	}
	atomic_fetch_add(&s->received[SRV_INPUT_HTTP], w.accepted);
	rc = w.accepted > INT32_MAX ? INT32_MAX : (int)w.accepted;
out:
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

static const char *rule_key(const rules_rule *r)
{
	return r->id ? r->id : r->name ? r->name : r->title ? r->title : "";
}

static int str_member(core_buf *b, const char *name, const char *v)
{
	int rc = core_buf_printf(b, "\"%s\":", name);
	return rc ? rc : v ? core_json_str(b, v, strlen(v)) : core_buf_add(b, "null", 4);
}

static int rule_json(core_buf *b, const srv_det *d, size_t i)
{
	static const char *const kinds[] = {"rule", "correlation", "filter"};
	const rules_rule *r = &d->set->rules[i];
	int rc = core_buf_addc(b, '{');
	rc = rc ? rc : str_member(b, "id", rule_key(r));
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "title", r->title);
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "level", rules_level_name((rules_level)r->level));
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "status", rules_status_name((rules_status)r->status));
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "author", r->author);
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "kind", kinds[r->kind < 3 ? r->kind : 0]);
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "path", r->file);
	rc = rc ? rc : core_buf_add(b, ",\"tags\":[", 9);
	for (uint32_t k = 0; rc == 0 && k < r->tags.n; k++) {
		rc = k ? core_buf_addc(b, ',') : 0;
		rc = rc ? rc : core_json_str(b, r->tags.v[k], strlen(r->tags.v[k]));
	}
	rc = rc ? rc : core_buf_add(b, "],\"logsource\":{", 15);
	rc = rc ? rc : str_member(b, "category", r->logsource.category);
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "product", r->logsource.product);
	rc = rc ? rc : core_buf_addc(b, ',');
	rc = rc ? rc : str_member(b, "service", r->logsource.service);
	rc = rc ? rc : core_buf_printf(b, "},\"enabled\":%s,\"matches\":%llu}",
				       atomic_load(&d->enabled[i]) ? "true" : "false",
				       (unsigned long long)atomic_load(&d->matches[i]));
	return rc;
}

static int rules_list(void *ud, core_buf *out)
{
	srv_det *d = srv_det_acquire(ud);
	int rc = core_buf_add(out, "{\"rules\":[", 10);
	for (size_t i = 0, k = 0; rc == 0 && i < d->set->nrules; i++, k++) {
		rc = k ? core_buf_addc(out, ',') : 0;
		rc = rc ? rc : rule_json(out, d, i);
	}
	rc = rc ? rc : core_buf_add(out, "]}", 2);
	srv_det_release(d);
	return rc;
}

static long find_rule(const srv_det *d, const char *id)
{
	for (size_t i = 0; i < d->set->nrules; i++)
		if (strcmp(rule_key(&d->set->rules[i]), id) == 0)
			return (long)i;
	return -1;
}

/* Appends the whole file (at most 1 MiB) as a JSON string. */
static int file_json(core_buf *b, const char *path)
{
	core_buf t;
	char chunk[8192];
	size_t n;
	int rc = 0;
	FILE *f = fopen(path, "rb");

	if (!f)
		return core_buf_add(b, "null", 4);
	core_buf_init(&t, 1u << 20);
	while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rc = core_buf_add(&t, chunk, n);
	fclose(f);
	rc = rc ? core_buf_add(b, "null", 4) : core_json_str(b, t.data, t.len);
	core_buf_free(&t);
	return rc;
}

static int rule_get(void *ud, const char *id, core_buf *out, core_err *err)
{
	srv_det *d = srv_det_acquire(ud);
	long i = find_rule(d, id);
	int rc;

	if (i < 0) {
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "no rule '%s'", id);
		goto out;
	}
	rc = rule_json(out, d, (size_t)i);
	if (rc == 0) {
		out->len--; /* reopen the object for "yaml" */
		rc = core_buf_add(out, ",\"yaml\":", 8);
		rc = rc ? rc : file_json(out, d->set->rules[i].path ? d->set->rules[i].path : d->set->rules[i].file);
		rc = rc ? rc : core_buf_addc(out, '}');
	}
out:
	srv_det_release(d);
	return rc;
}

static int rule_set_enabled(void *ud, const char *id, bool enabled, core_err *err)
{
	srv *s = ud;
	srv_det *d = srv_det_acquire(s);
	long i = find_rule(d, id);
	int rc = 0;

	if (i < 0)
		rc = core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "no rule '%s'", id);
	else if ((rc = store_rule_set_enabled(s->st, id, enabled, err)) == 0)
		atomic_store(&d->enabled[i], enabled ? 1 : 0);
	srv_det_release(d);
	return rc;
}

/* Loads yaml into a fresh set and describes the result; *valid and the set
 * (caller frees) are returned. */
static int check_yaml(srv *s, const char *yaml, size_t n, core_buf *out, bool *valid, rules_set **setp)
{
	rules_set *set = rules_set_new(NULL);
	int rc, first = 1;

	*setp = set;
	if (!set)
		return CORE_ENOMEM;
	(void)s;
	rules_load_string(set, yaml, n, "upload.yml");
	*valid = set->nfailed == 0 && set->nloaded[0] + set->nloaded[1] + set->nloaded[2] > 0;
	rc = core_buf_printf(out, "{\"valid\":%s,\"rules\":[", *valid ? "true" : "false");
	for (size_t i = 0; rc == 0 && i < set->nrules; i++) {
		const char *id = rule_key(&set->rules[i]);
		rc = i ? core_buf_addc(out, ',') : 0;
		rc = rc ? rc : core_json_str(out, id, strlen(id));
	}
	rc = rc ? rc : core_buf_add(out, "],\"errors\":[", 12);
	for (size_t i = 0; rc == 0 && i < set->nmsgs; i++) {
		const rules_msg *m = &set->msgs[i];
		if (m->severity != RULES_SEV_ERROR)
			continue;
		rc = first ? 0 : core_buf_addc(out, ',');
		first = 0;
		rc = rc ? rc : core_buf_printf(out, "{\"line\":%u,\"column\":%u,\"message\":", m->line, m->col);
		rc = rc ? rc : core_json_str(out, m->reason, strlen(m->reason));
		rc = rc ? rc : core_buf_addc(out, '}');
	}
	if (rc == 0 && !*valid && first)
		rc = core_buf_add(out, "{\"line\":0,\"column\":0,\"message\":\"no rule in the document\"}", 57);
	return rc ? rc : core_buf_add(out, "]}", 2);
}

static int rules_validate(void *ud, const char *yaml, size_t n, core_buf *out)
{
	rules_set *set;
	bool valid;
	int rc = check_yaml(ud, yaml, n, out, &valid, &set);
	rules_set_free(set);
	return rc;
}

/* A file name from a rule id: [A-Za-z0-9._-] kept, others as '_'. */
static void safe_name(const char *id, char *buf, size_t cap)
{
	size_t k = 0;
	for (; *id && k + 5 < cap && k < 80; id++)
		buf[k++] = ((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
			    (*id >= '0' && *id <= '9') || *id == '-' || *id == '_') ? *id : '_';
	if (k == 0)
		buf[k++] = 'r';
	buf[k] = '\0';
}

static int write_file(const char *path, const char *data, size_t n, core_err *err)
{
	char tmp[4400];
	int fd, rc = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < n && rc == 0;) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", tmp, strerror(errno));
		else
			off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", tmp, strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

static int rules_upload(void *ud, const char *yaml, size_t n, core_buf *out, core_err *err)
{
	srv *s = ud;
	rules_set *set;
	bool valid;
	char dir[4096], name[96], path[4300];
	int rc = check_yaml(s, yaml, n, out, &valid, &set);

	if (rc)
		goto out;
	if (!valid) {
		rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "the rules do not load; nothing was kept");
		goto out;
	}
	snprintf(dir, sizeof dir, "%s/rules", s->cfg->data);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", dir, strerror(errno));
		goto out;
	}
	safe_name(rule_key(&set->rules[0]), name, sizeof name);
	snprintf(path, sizeof path, "%s/%s.yml", dir, name);
	if ((rc = write_file(path, yaml, n, err)) != 0)
		goto out;
	if ((rc = srv_det_reload(s, err)) != 0) {
		unlink(path);
		srv_det_reload(s, &(core_err){0});
		goto out;
	}
	srv_log(s, false, "rules: %s uploaded; rules reloaded", path);
out:
	rules_set_free(set);
	return rc;
}

static int metrics(void *ud, core_buf *out)
{
	return srv_metrics(ud, out);
}

static int health(void *ud, core_buf *out)
{
	return srv_health(ud, out);
}

void srv_api_hooks(srv *s, api_hooks *h)
{
	*h = (api_hooks){.ingest = ingest, .metrics = metrics, .health = health, .rules_list = rules_list,
			 .rule_get = rule_get, .rule_set_enabled = rule_set_enabled,
			 .rules_validate = rules_validate, .rules_upload = rules_upload, .ud = s};
}
