/* api_admin.c: administration endpoints: users, tenants and the audit log.
 * Users and the audit log are an administrator's, scoped to the effective
 * tenant; tenants are created by administrators of the default tenant. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <yyjson.h>

#include "api/api_int.h"

int api_tenant_exists(api_req *r, uint32_t t)
{
	core_buf b;
	core_err err = {0};
	int rc, found = 0;

	core_buf_init(&b, 1u << 20);
	rc = store_tenant_list(r->a->opt.store, t, &b, &err);
	if (rc) {
		api_fail_code(r, rc, &err);
		found = -1;
	} else {
		yyjson_doc *doc = yyjson_read(b.data, b.len, 0);
		yyjson_val *arr = yyjson_obj_get(yyjson_doc_get_root(doc), "tenants"), *v;
		yyjson_arr_iter it;
		yyjson_arr_iter_init(arr, &it);
		while ((v = yyjson_arr_iter_next(&it)))
			if (yyjson_get_sint(yyjson_obj_get(v, "id")) == (int64_t)t)
				found = 1;
		yyjson_doc_free(doc);
	}
	core_buf_free(&b);
	return found;
}

void api_h_users(api_req *r)
{
	core_err err = {0};
	int rc = store_user_list(r->a->opt.store, r->tenant, &r->out, &err);

	if (rc)
		api_fail_code(r, rc, &err);
	else
		r->status = 200;
}

static int user_json(core_buf *out, int64_t id, uint32_t tenant, const char *name, int role,
		     int disabled)
{
	int rc = core_buf_printf(out, "{\"id\":%lld,\"tenant\":%u,\"name\":", (long long)id, tenant);

	rc = rc ? rc : api_json_str(out, name, strlen(name));
	rc = rc ? rc : core_buf_printf(out, ",\"role\":\"%s\"", api_role_name(role));
	if (!rc && disabled >= 0)
		rc = core_buf_printf(out, ",\"disabled\":%s", disabled ? "true" : "false");
	return rc ? rc : core_buf_addc(out, '}');
}

void api_h_user_create(api_req *r)
{
	api_user_req q;
	core_err err = {0};
	core_buf d;
	char hash[128] = "", obj[40];
	int64_t id = 0;
	int rc;

	if (!api_write_tenant(r))
		return;
	rc = api_body_user_create(r->body.data, r->body.len, &q, &err);
	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		goto out;
	}
	rc = api_tenant_exists(r, r->tenant);
	if (rc <= 0) {
		if (rc == 0)
			api_fail(r, 404, "tenant %u does not exist", r->tenant);
		goto out;
	}
	if (api_pw_hash(r->a, q.password, hash) != 0) {
		api_fail(r, 500, "password hashing failed");
		goto out;
	}
	rc = store_user_create(r->a->opt.store, r->tenant, q.name, hash, (store_role)q.role, &id, &err);
	if (rc) {
		if (rc == STORE_ECONFLICT)
			api_fail(r, 409, "user %s already exists", q.name);
		else
			api_fail_code(r, rc, &err);
		goto out;
	}
	snprintf(obj, sizeof obj, "user:%lld", (long long)id);
	core_buf_init(&d, 1024);
	if (user_json(&d, id, r->tenant, q.name, q.role, -1) == 0)
		api_audit(r, r->tenant, "user.create", obj, d.data);
	core_buf_free(&d);
	r->status = 201;
	if (user_json(&r->out, id, r->tenant, q.name, q.role, 0) != 0)
		api_fail(r, 500, "out of memory");
out:
	sodium_memzero(&q, sizeof q);
	sodium_memzero(hash, sizeof hash);
}

static int patch_detail(core_buf *d, const api_user_req *q)
{
	const char *sep = "";
	int rc = core_buf_addc(d, '{');

	if (!rc && q->password[0]) {
		rc = core_buf_printf(d, "\"password\":\"changed\"");
		sep = ",";
	}
	if (!rc && q->role) {
		rc = core_buf_printf(d, "%s\"role\":\"%s\"", sep, api_role_name(q->role));
		sep = ",";
	}
	if (!rc && q->disabled >= 0)
		rc = core_buf_printf(d, "%s\"disabled\":%s", sep, q->disabled ? "true" : "false");
	return rc ? rc : core_buf_addc(d, '}');
}

void api_h_user_patch(api_req *r)
{
	api_user_req q;
	store_user u;
	core_err err = {0};
	core_buf d;
	char hash[128] = "", obj[40];
	int64_t id;
	int rc;

	memset(&q, 0, sizeof q);
	if (api_parse_id(r->param, &id) != 0) {
		api_fail(r, 404, "user %.40s does not exist", r->param);
		goto out;
	}
	if (!api_write_tenant(r))
		goto out;
	rc = api_body_user_patch(r->body.data, r->body.len, &q, &err);
	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		goto out;
	}
	if (id == r->who.user && ((q.role && q.role != STORE_ROLE_ADMIN) || q.disabled == 1)) {
		api_fail(r, 409, "you cannot demote or disable yourself");
		goto out;
	}
	if (q.password[0] && api_pw_hash(r->a, q.password, hash) != 0) {
		api_fail(r, 500, "password hashing failed");
		goto out;
	}
	rc = store_user_update(r->a->opt.store, r->tenant, id, hash[0] ? hash : NULL, q.role, q.disabled,
			       &err);
	if (rc == 0)
		rc = store_user_get_id(r->a->opt.store, id, &u, &err);
	if (rc) {
		if (rc == STORE_ENOTFOUND)
			api_fail(r, 404, "user %lld does not exist", (long long)id);
		else
			api_fail_code(r, rc, &err);
		goto out;
	}
	snprintf(obj, sizeof obj, "user:%lld", (long long)id);
	core_buf_init(&d, 1024);
	if (patch_detail(&d, &q) == 0)
		api_audit(r, r->tenant, "user.update", obj, d.data);
	core_buf_free(&d);
	r->status = 200;
	if (user_json(&r->out, u.id, u.tenant, u.name, (int)u.role, u.disabled ? 1 : 0) != 0)
		api_fail(r, 500, "out of memory");
	sodium_memzero(&u, sizeof u);
out:
	sodium_memzero(&q, sizeof q);
	sodium_memzero(hash, sizeof hash);
}

void api_h_tenants(api_req *r)
{
	core_err err = {0};
	bool root = r->who.role == STORE_ROLE_ADMIN && r->who.tenant == 1;
	/* the default tenant's administrators see every tenant, others their own */
	uint32_t t = root ? (r->tenant_given ? r->tenant : 0) : r->who.tenant;
	int rc = store_tenant_list(r->a->opt.store, t, &r->out, &err);

	if (rc)
		api_fail_code(r, rc, &err);
	else
		r->status = 200;
}

void api_h_tenant_create(api_req *r)
{
	char name[API_NAME_MAX], obj[40];
	core_err err = {0};
	core_buf d;
	uint32_t id = 0;
	int rc = api_body_tenant_create(r->body.data, r->body.len, name, &err);

	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		return;
	}
	rc = store_tenant_create(r->a->opt.store, name, &id, &err);
	if (rc) {
		if (rc == STORE_ECONFLICT)
			api_fail(r, 409, "tenant %s already exists", name);
		else
			api_fail_code(r, rc, &err);
		return;
	}
	snprintf(obj, sizeof obj, "tenant:%u", id);
	core_buf_init(&d, 256);
	if (core_buf_printf(&d, "{\"name\":\"%s\"}", name) == 0)
		api_audit(r, 1, "tenant.create", obj, d.data);
	core_buf_free(&d);
	r->status = 201;
	if (core_buf_printf(&r->out, "{\"id\":%u,\"name\":\"%s\"}", id, name) != 0)
		api_fail(r, 500, "out of memory");
}

void api_h_audit(api_req *r)
{
	const char *cursor;
	unsigned limit;
	core_err err = {0};
	int rc = api_page_params_parse(r->kv, r->nkv, &cursor, &limit, &err);

	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		return;
	}
	rc = store_audit_list(r->a->opt.store, r->tenant, cursor, limit, &r->out, &err);
	if (rc)
		api_fail_code(r, rc, &err);
	else
		r->status = 200;
}
