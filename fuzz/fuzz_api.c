/* fuzz_api.c: libFuzzer target for the request parsers of the API (pure
 * functions of src/api/api_parse.c and api_body.c). The first byte picks the
 * parser; the rest is the input, copied to an exact-size NUL-terminated
 * buffer so that reads past the end are caught: query strings and the
 * events, alerts, page and tenant parameters built from them, the request
 * target, Cookie and Authorization headers, time values, and the JSON body
 * of every endpoint. Invariants checked: errors carry a message, decoded
 * parameters are NUL-terminated with the length given, JSON-escaped output
 * parses back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yyjson.h>

#include "api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const core_err *err)
{
	if (rc != 0 && err->msg[0] == '\0')
		abort();
}

static void query(const char *s, size_t n)
{
	core_arena *ar = core_arena_new(1024, 64u << 10);
	api_kv kv[API_MAX_PARAMS];
	size_t nkv = 0;
	core_err err = {0};

	if (!ar)
		return;
	int rc = api_query_parse(s, n, ar, kv, API_MAX_PARAMS, &nkv, &err);
	check_err(rc, &err);
	if (rc == 0) {
		api_events_params ep;
		store_alert_query aq;
		const char *cursor;
		unsigned limit;
		bool present;
		uint32_t t;
		for (size_t i = 0; i < nkv; i++)
			if (strlen(kv[i].key) != kv[i].klen || strlen(kv[i].val) != kv[i].vlen)
				abort();
		check_err(api_events_params_parse(kv, nkv, &ep, &err), &err);
		if (ep.q.n_filters > API_MAX_FILTERS)
			abort();
		check_err(api_alerts_params_parse(kv, nkv, &aq, &err), &err);
		check_err(api_page_params_parse(kv, nkv, &cursor, &limit, &err), &err);
		check_err(api_tenant_param(kv, nkv, &present, &t, &err), &err);
	}
	core_arena_free(ar);
}

static void target(const char *s)
{
	core_arena *ar = core_arena_new(1024, 64u << 10);
	char *path = NULL;
	const char *q = NULL;
	size_t qlen = 0;
	core_err err = {0};

	if (!ar)
		return;
	int rc = api_target_parse(s, ar, &path, &q, &qlen, &err);
	check_err(rc, &err);
	if (rc == 0 && (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./")))
		abort();
	core_arena_free(ar);
}

static void escape(const char *s, size_t n)
{
	core_buf b;
	core_buf_init(&b, 1u << 24);
	if (api_json_str(&b, s, n) == 0) {
		yyjson_doc *d = yyjson_read(b.data, b.len, YYJSON_READ_ALLOW_INVALID_UNICODE);
		if (!d || yyjson_get_len(yyjson_doc_get_root(d)) != n ||
		    memcmp(yyjson_get_str(yyjson_doc_get_root(d)), s, n) != 0)
			abort();
		yyjson_doc_free(d);
	}
	core_buf_free(&b);
}

static void body(unsigned which, const char *s, size_t n)
{
	core_err err = {0};
	int rc = 0;

	switch (which) {
	case 0: {
		api_login_req r;
		rc = api_body_login(s, n, &r, &err);
		break;
	}
	case 1: {
		api_alert_patch r;
		rc = api_body_alert_patch(s, n, &r, &err);
		break;
	}
	case 2: {
		bool en;
		rc = api_body_rule_patch(s, n, &en, &err);
		break;
	}
	case 3: {
		api_token_req r;
		rc = api_body_token_create(s, n, &r, &err);
		break;
	}
	case 4: {
		api_user_req r;
		rc = api_body_user_create(s, n, &r, &err);
		if (rc == 0 && (!api_name_ok(r.name) || r.role == 0))
			abort();
		break;
	}
	case 5: {
		api_user_req r;
		rc = api_body_user_patch(s, n, &r, &err);
		break;
	}
	default: {
		char name[API_NAME_MAX];
		rc = api_body_tenant_create(s, n, name, &err);
		if (rc == 0 && !api_name_ok(name))
			abort();
	}
	}
	check_err(rc, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t n = size - 1;
	char *s = malloc(n + 1);
	const char *v;
	size_t vl;
	int64_t ns;
	core_err err = {0};

	if (!s)
		return 0;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] % 8) {
	case 0:
		query(s, n);
		break;
	case 1:
		target(s);
		break;
	case 2:
		if (api_cookie_get(s, n, API_COOKIE, &v, &vl) == 0 && (v < s || v + vl > s + n))
			abort();
		break;
	case 3:
		if (api_bearer_get(s, n, &v, &vl) == 0 && !api_secret_shape(v + 5, vl - 5))
			abort();
		break;
	case 4:
		check_err(api_parse_time(s, &ns, &err), &err);
		break;
	case 5:
		escape(s, n);
		break;
	default:
		body(data[0] / 8 % 7, s, n);
	}
	free(s);
	return 0;
}
