/* api_data.c: the endpoints over the data: health, metrics, events, alerts,
 * rules (through the server's hooks) and ingest. Every store call gets the
 * caller's effective tenant (r->tenant). */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

static void done(api_req *r, int rc, const core_err *err)
{
	if (rc < 0)
		api_fail_code(r, rc, err);
	else if (!r->status)
		r->status = 200;
}

static bool hook_ok(api_req *r, bool fn)
{
	if (fn)
		return true;
	api_fail(r, 503, "%s is not available in this server", r->rt->path);
	return false;
}

void api_h_health(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;
	int rc;

	if (r->auth != API_AUTH_NONE && h->health) {
		rc = h->health(h->ud, &r->out);
		done(r, rc, NULL);
		return;
	}
	r->status = 200;
	if (core_buf_printf(&r->out, "{\"status\":\"ok\"}") != 0)
		api_fail(r, 500, "out of memory");
}

void api_h_metrics(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;

	if (!hook_ok(r, h->metrics != NULL))
		return;
	int rc = h->metrics(h->ud, &r->out);
	done(r, rc, NULL);
	if (rc >= 0)
		r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

void api_h_events(api_req *r)
{
	api_events_params p;
	core_err err = {0};
	int rc = api_events_params_parse(r->kv, r->nkv, &p, &err);

	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		return;
	}
	p.q.tenant = r->tenant;
	rc = store_search_events(r->a->opt.store, &p.q, &r->out, &err);
	done(r, rc, &err);
}

/* The {id} of the path as a positive integer, or a 404. */
static bool path_id(api_req *r, const char *what, int64_t *id)
{
	if (api_parse_id(r->param, id) == 0)
		return true;
	api_fail(r, 404, "%s %.40s does not exist", what, r->param);
	return false;
}

void api_h_event(api_req *r)
{
	core_err err = {0};
	int64_t id;

	if (!path_id(r, "event", &id))
		return;
	int rc = store_get_event(r->a->opt.store, r->tenant, id, &r->out, &err);
	if (rc == STORE_ENOTFOUND)
		api_fail(r, 404, "event %lld does not exist", (long long)id);
	else
		done(r, rc, &err);
}

void api_h_alerts(api_req *r)
{
	store_alert_query q;
	core_err err = {0};
	int rc = api_alerts_params_parse(r->kv, r->nkv, &q, &err);

	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		return;
	}
	q.tenant = r->tenant;
	rc = store_list_alerts(r->a->opt.store, &q, &r->out, &err);
	done(r, rc, &err);
}

void api_h_alert(api_req *r)
{
	core_err err = {0};
	int64_t id;

	if (!path_id(r, "alert", &id))
		return;
	int rc = store_get_alert(r->a->opt.store, r->tenant, id, &r->out, &err);
	if (rc == STORE_ENOTFOUND)
		api_fail(r, 404, "alert %lld does not exist", (long long)id);
	else
		done(r, rc, &err);
}

/* {"status":..,"assignee":..} of a change, for the audit log. */
static int patch_detail(core_buf *d, const api_alert_patch *p)
{
	int rc = core_buf_addc(d, '{');
	const char *sep = "";

	if (!rc && p->status[0]) {
		rc = core_buf_printf(d, "\"status\":\"%s\"", p->status);
		sep = ",";
	}
	if (!rc && p->has_reason) {
		rc = core_buf_printf(d, "%s\"close_reason\":", sep);
		rc = rc ? rc : api_json_str(d, p->close_reason, strlen(p->close_reason));
		sep = ",";
	}
	if (!rc && p->has_assignee) {
		rc = core_buf_printf(d, "%s\"assignee\":", sep);
		rc = rc ? rc : api_json_str(d, p->assignee, strlen(p->assignee));
	}
	return rc ? rc : core_buf_addc(d, '}');
}

void api_h_alert_patch(api_req *r)
{
	api_alert_patch p;
	core_err err = {0};
	core_buf d;
	char obj[40];
	int64_t id;
	int rc;

	if (!path_id(r, "alert", &id) || !api_write_tenant(r))
		return;
	rc = api_body_alert_patch(r->body.data, r->body.len, &p, &err);
	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		return;
	}
	rc = store_update_alert(r->a->opt.store, r->tenant, id, p.status[0] ? p.status : NULL,
				p.has_reason ? p.close_reason : NULL,
				p.has_assignee ? p.assignee : NULL, &err);
	if (rc) {
		if (rc == STORE_ENOTFOUND)
			api_fail(r, 404, "alert %lld does not exist", (long long)id);
		else
			api_fail_code(r, rc, &err);
		return;
	}
	snprintf(obj, sizeof obj, "alert:%lld", (long long)id);
	core_buf_init(&d, 4096);
	api_audit(r, r->tenant, "alert.update", obj, patch_detail(&d, &p) == 0 ? d.data : NULL);
	core_buf_free(&d);
	rc = store_get_alert(r->a->opt.store, r->tenant, id, &r->out, &err);
	done(r, rc, &err);
}

void api_h_rules(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;

	if (!hook_ok(r, h->rules_list != NULL))
		return;
	done(r, h->rules_list(h->ud, &r->out), NULL);
}

void api_h_rule(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;
	core_err err = {0};

	if (!hook_ok(r, h->rule_get != NULL))
		return;
	done(r, h->rule_get(h->ud, r->param, &r->out, &err), &err);
}

void api_h_rule_patch(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;
	core_err err = {0};
	char obj[300];
	bool enabled;
	int rc;

	if (!hook_ok(r, h->rule_set_enabled != NULL))
		return;
	rc = api_body_rule_patch(r->body.data, r->body.len, &enabled, &err);
	if (rc) {
		api_fail(r, 400, "%s", err.msg);
		return;
	}
	rc = h->rule_set_enabled(h->ud, r->param, enabled, &err);
	if (rc) {
		api_fail_code(r, rc, &err);
		return;
	}
	snprintf(obj, sizeof obj, "rule:%.280s", r->param);
	api_audit(r, r->who.tenant, enabled ? "rule.enable" : "rule.disable", obj, NULL);
	r->status = 200;
	if (core_buf_add(&r->out, "{\"id\":", 6) || api_json_str(&r->out, r->param, strlen(r->param)) ||
	    core_buf_printf(&r->out, ",\"enabled\":%s}", enabled ? "true" : "false"))
		api_fail(r, 500, "out of memory");
}

void api_h_rules_validate(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;

	if (!hook_ok(r, h->rules_validate != NULL))
		return;
	done(r, h->rules_validate(h->ud, r->body.data ? r->body.data : "", r->body.len, &r->out), NULL);
}

void api_h_rules_upload(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;
	core_buf res;
	core_err err = {0};
	int rc;

	if (!hook_ok(r, h->rules_upload != NULL))
		return;
	core_buf_init(&res, API_OUT_MAX);
	rc = h->rules_upload(h->ud, r->body.data ? r->body.data : "", r->body.len, &res, &err);
	if (rc == CORE_EINVAL) {
		/* the error object, with the validation result beside it */
		api_fail(r, 400, "%s", err.msg[0] ? err.msg : "the rules are not valid");
		if (r->out.len > 2 && res.len) {
			r->out.len--; /* the closing brace */
			if (core_buf_add(&r->out, ",\"result\":", 10) || core_buf_add(&r->out, res.data, res.len) ||
			    core_buf_addc(&r->out, '}'))
				api_fail(r, 400, "%s", err.msg);
		}
	} else if (rc < 0) {
		api_fail_code(r, rc, &err);
	} else {
		api_audit(r, r->who.tenant, "rules.upload", "rules",
			  res.len && res.len < 65536 ? res.data : NULL);
		r->status = 201;
		if (core_buf_add(&r->out, res.data ? res.data : "{}", res.len ? res.len : 2) != 0)
			api_fail(r, 500, "out of memory");
	}
	core_buf_free(&res);
}

void api_h_ingest(api_req *r)
{
	const api_hooks *h = &r->a->opt.hooks;
	core_err err = {0};
	api_caller who;

	if (!hook_ok(r, h->ingest != NULL) || !api_write_tenant(r))
		return;
	/* a tenant chosen with ?tenant= must exist: events stored under a free
	 * id would be shown to the tenant created next with that id */
	if (r->tenant_given) {
		int ex = api_tenant_exists(r, r->tenant);
		if (ex <= 0) {
			if (ex == 0)
				api_fail(r, 404, "tenant %u does not exist", r->tenant);
			return;
		}
	}
	if (r->body.len == 0) {
		api_fail(r, 400, "empty body: JSON lines or a JSON array of events expected");
		return;
	}
	who = r->who;
	who.tenant = r->tenant;
	int n = h->ingest(h->ud, &who, r->body.data, r->body.len, api_header(r, "Content-Type"), &err);
	if (n < 0) {
		api_fail_code(r, n, &err);
		return;
	}
	r->status = 200;
	if (core_buf_printf(&r->out, "{\"accepted\":%d}", n) != 0)
		api_fail(r, 500, "out of memory");
}
