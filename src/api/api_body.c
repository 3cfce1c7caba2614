/* api_body.c: the JSON bodies of the endpoints, read with yyjson (no
 * extensions: no comments, no trailing commas, no NaN) into fixed-size
 * structs. Unknown keys, repeated keys, wrong types, strings holding NUL
 * and over-long strings are errors with a message naming the field; malformed
 * JSON reports its byte offset. Pure functions, fuzzed by fuzz/fuzz_api.c. */
#include <string.h>

#include <yyjson.h>

#include "api/api_int.h"

enum { F_STR, F_BOOL, F_INT };

typedef struct body_field {
	const char *key;
	int type;
	bool required;
	void *dst;     /* char[cap], bool or int64_t */
	size_t cap;
	bool *seen;    /* may be NULL */
} body_field;

static int body_read(const char *body, size_t n, yyjson_doc **doc, core_err *err)
{
	yyjson_read_err re;

	*doc = NULL;
	if (n == 0)
		return core_err_set(err, CORE_EPARSE, 0, "empty body: a JSON object expected");
	*doc = yyjson_read_opts((char *)(uintptr_t)body, n, YYJSON_READ_NOFLAG, NULL, &re);
	if (!*doc)
		return core_err_set(err, CORE_EPARSE, re.pos, "malformed JSON at byte %zu: %s", re.pos,
				    re.msg ? re.msg : "error");
	if (!yyjson_is_obj(yyjson_doc_get_root(*doc))) {
		yyjson_doc_free(*doc);
		*doc = NULL;
		return core_err_set(err, CORE_EPARSE, 0, "the body must be a JSON object");
	}
	return 0;
}

static int field_set(const body_field *f, yyjson_val *v, core_err *err)
{
	if (f->type == F_STR) {
		size_t len = yyjson_get_len(v);
		const char *s = yyjson_get_str(v);
		if (!yyjson_is_str(v))
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "\"%s\" must be a string", f->key);
		if (len >= f->cap)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "\"%s\" is longer than %zu bytes",
					    f->key, f->cap - 1);
		if (memchr(s, '\0', len))
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "\"%s\" holds a NUL character",
					    f->key);
		memcpy(f->dst, s, len);
		((char *)f->dst)[len] = '\0';
	} else if (f->type == F_BOOL) {
		if (!yyjson_is_bool(v))
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "\"%s\" must be true or false",
					    f->key);
		*(bool *)f->dst = yyjson_get_bool(v);
	} else {
		if (!yyjson_is_int(v) || (yyjson_is_uint(v) && yyjson_get_uint(v) > INT64_MAX))
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "\"%s\" must be an integer", f->key);
		*(int64_t *)f->dst = yyjson_get_sint(v);
	}
	return 0;
}

/* Reads body as an object whose keys are among spec[0..n). */
static int body_fields(const char *body, size_t len, const body_field *spec, size_t n,
		       core_err *err)
{
	bool seen[8] = {false};
	yyjson_doc *doc = NULL;
	yyjson_val *k, *v;
	yyjson_obj_iter it;
	int rc = body_read(body, len, &doc, err);

	if (rc)
		return rc;
	yyjson_obj_iter_init(yyjson_doc_get_root(doc), &it);
	while ((k = yyjson_obj_iter_next(&it))) {
		size_t i;
		v = yyjson_obj_iter_get_val(k);
		for (i = 0; i < n; i++)
			if (yyjson_equals_str(k, spec[i].key))
				break;
		if (i == n) {
			rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown field \"%.40s\"",
					  yyjson_get_str(k));
			goto out;
		}
		if (seen[i]) {
			rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "field \"%s\" given twice", spec[i].key);
			goto out;
		}
		seen[i] = true;
		if (spec[i].seen)
			*spec[i].seen = true;
		rc = field_set(&spec[i], v, err);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (spec[i].required && !seen[i]) {
			rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "missing field \"%s\"", spec[i].key);
			goto out;
		}
out:
	yyjson_doc_free(doc);
	return rc;
}

#define NFIELDS(a) (sizeof(a) / sizeof(a)[0])

int api_body_login(const char *body, size_t n, api_login_req *r, core_err *err)
{
	memset(r, 0, sizeof *r);
	const body_field spec[] = {
		{"username", F_STR, true, r->username, sizeof r->username, NULL},
		{"password", F_STR, true, r->password, sizeof r->password, NULL},
	};
	return body_fields(body, n, spec, NFIELDS(spec), err);
}

int api_body_alert_patch(const char *body, size_t n, api_alert_patch *r, core_err *err)
{
	bool has_status = false;
	int rc;

	memset(r, 0, sizeof *r);
	const body_field spec[] = {
		{"status", F_STR, false, r->status, sizeof r->status, &has_status},
		{"close_reason", F_STR, false, r->close_reason, sizeof r->close_reason, &r->has_reason},
		{"assignee", F_STR, false, r->assignee, sizeof r->assignee, &r->has_assignee},
	};
	rc = body_fields(body, n, spec, NFIELDS(spec), err);
	if (rc)
		return rc;
	if (!has_status && !r->has_assignee)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "nothing to change: give status or assignee");
	if (has_status && strcmp(r->status, "new") != 0 && strcmp(r->status, "acknowledged") != 0 &&
	    strcmp(r->status, "closed") != 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "status must be new, acknowledged or closed");
	if (has_status && strcmp(r->status, "closed") == 0 && r->close_reason[0] == '\0')
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "closing an alert needs a close_reason");
	if (r->has_reason && strcmp(r->status, "closed") != 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "close_reason is only for status closed");
	if (r->assignee[0] && !api_name_ok(r->assignee))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "assignee is not a valid user name");
	return 0;
}

int api_body_rule_patch(const char *body, size_t n, bool *enabled, core_err *err)
{
	const body_field spec[] = {{"enabled", F_BOOL, true, enabled, 0, NULL}};

	*enabled = false;
	return body_fields(body, n, spec, NFIELDS(spec), err);
}

int api_body_token_create(const char *body, size_t n, api_token_req *r, core_err *err)
{
	int rc;

	memset(r, 0, sizeof *r);
	r->expires_days = 90;
	const body_field spec[] = {
		{"name", F_STR, true, r->name, sizeof r->name, NULL},
		{"expires_days", F_INT, false, &r->expires_days, 0, NULL},
	};
	rc = body_fields(body, n, spec, NFIELDS(spec), err);
	if (rc)
		return rc;
	if (!api_name_ok(r->name))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "name: 1..63 letters, digits, '.', '_', '-' or '@'");
	if (r->expires_days < 1 || r->expires_days > 3650)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "expires_days must be 1..3650");
	return 0;
}

static int check_password(const char *pw, core_err *err)
{
	size_t n = strlen(pw);

	if (n < API_PASS_MIN || n > API_PASS_MAX)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "password must be %d..%d bytes",
				    API_PASS_MIN, API_PASS_MAX);
	return 0;
}

static int user_body(const char *body, size_t n, api_user_req *r, bool create, core_err *err)
{
	char role[16] = "";
	bool has_role = false, has_pw = false, has_dis = false, dis = false;
	int rc;

	memset(r, 0, sizeof *r);
	r->disabled = -1;
	const body_field cspec[] = {
		{"name", F_STR, true, r->name, sizeof r->name, NULL},
		{"password", F_STR, true, r->password, sizeof r->password, &has_pw},
		{"role", F_STR, true, role, sizeof role, &has_role},
	};
	const body_field pspec[] = {
		{"password", F_STR, false, r->password, sizeof r->password, &has_pw},
		{"role", F_STR, false, role, sizeof role, &has_role},
		{"disabled", F_BOOL, false, &dis, 0, &has_dis},
	};
	rc = create ? body_fields(body, n, cspec, NFIELDS(cspec), err)
		    : body_fields(body, n, pspec, NFIELDS(pspec), err);
	if (rc)
		return rc;
	if (create && !api_name_ok(r->name))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "name: 1..63 letters, digits, '.', '_', '-' or '@'");
	if (has_pw && (rc = check_password(r->password, err)) != 0)
		return rc;
	if (has_role && (r->role = api_role_parse(role)) == 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "role must be viewer, analyst or admin");
	if (has_dis)
		r->disabled = dis ? 1 : 0;
	if (!create && !has_pw && !has_role && !has_dis)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "nothing to change: give password, role or disabled");
	return 0;
}

int api_body_user_create(const char *body, size_t n, api_user_req *r, core_err *err)
{
	return user_body(body, n, r, true, err);
}

int api_body_user_patch(const char *body, size_t n, api_user_req *r, core_err *err)
{
	return user_body(body, n, r, false, err);
}

int api_body_tenant_create(const char *body, size_t n, char name[API_NAME_MAX], core_err *err)
{
	const body_field spec[] = {{"name", F_STR, true, name, API_NAME_MAX, NULL}};
	int rc;

	name[0] = '\0';
	rc = body_fields(body, n, spec, NFIELDS(spec), err);
	if (rc == 0 && !api_name_ok(name))
		rc = core_err_set(err, CORE_EINVAL, SIZE_MAX,
				  "name: 1..63 letters, digits, '.', '_', '-' or '@'");
	return rc;
}
