/* test_store.c: the SQLite store on real files under /tmp: open and
 * migrations (reopen keeps data, a newer schema is refused), events over four
 * day partitions checked against an in-memory model (time range, every key
 * filter, JSON paths, full text, cursor pages with no gap or duplicate, the
 * limit cap, tenants), alert grouping and triage, accounts, sessions, tokens,
 * audit, retention by age and size, a child killed before its commit, reads
 * from two threads during writes, malformed cursors and FTS queries. */
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yyjson.h>

#include "../tap.h"
#include "store/store.h"

#define SEC INT64_C(1000000000)
#define DAY (86400 * SEC)
#define N_EV 1500

static char root[64];
static int64_t today0; /* start of the current UTC day, ns */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static store *open_dir(const char *sub, uint64_t days, uint64_t bytes, core_err *err)
{
	char dir[128];
	store *s = NULL;
	snprintf(dir, sizeof dir, "%s/%s", root, sub);
	store_options o = {.dir = dir, .retain_days = days, .retain_bytes = bytes, .readers = 3};
	if (store_open(&o, &s, err))
		return NULL;
	return s;
}

/* ---- the model ---- */
typedef struct mev {
	int64_t id, ts, rcv;
	uint32_t tenant;
	char host[16], user[16], src[20], dst[20], action[8], outcome[8], prog[8], code[8];
	char msg[128], json[512];
	int pid;
} mev;

static mev M[N_EV + 400];
static size_t nm;

static void make_event(mev *m, size_t i, int64_t rcv, uint32_t tenant)
{
	static const char *const progs[] = {"sshd", "sudo", "cron"};
	size_t perm = (i * 7919) % N_EV;
	m->rcv = rcv;
	m->ts = i % 97 == 5 ? rcv : today0 - 3 * DAY + (int64_t)(perm / 2) * 300 * SEC;
	m->tenant = tenant;
	snprintf(m->host, sizeof m->host, "web%zu", i % 5);
	snprintf(m->user, sizeof m->user, "u%zu", i % 7);
	snprintf(m->src, sizeof m->src, "10.0.%zu.%zu", i % 3, i % 11);
	snprintf(m->dst, sizeof m->dst, "192.168.1.%zu", i % 4);
	snprintf(m->action, sizeof m->action, "%s", i % 2 ? "login" : "logout");
	snprintf(m->outcome, sizeof m->outcome, "%s", i % 3 ? "success" : "failure");
	snprintf(m->prog, sizeof m->prog, "%s", progs[i % 3]);
	snprintf(m->code, sizeof m->code, "%d", 4624 + (int)(i % 2));
	m->pid = 1000 + (int)(i % 50);
	if (i == 777)
		snprintf(m->msg, sizeof m->msg, "kernel panic imminent on web%zu", i % 5);
	else if (i % 3 == 0)
		snprintf(m->msg, sizeof m->msg, "Failed password for %s from %s port 22 ssh2", m->user,
			 m->src);
	else if (i % 3 == 1)
		snprintf(m->msg, sizeof m->msg, "Accepted publickey for %s from %s", m->user, m->src);
	else
		snprintf(m->msg, sizeof m->msg, "session opened for user %s by \"q\\uote\"", m->user);
	snprintf(m->json, sizeof m->json,
		 "{\"host\":{\"name\":\"%s\"},\"user\":{\"name\":\"%s\"},\"process\":{\"name\":\"%s\","
		 "\"pid\":%d},\"seq\":%zu}",
		 m->host, m->user, m->prog, m->pid, i);
}

static store_event to_store(const mev *m)
{
	return (store_event){.tenant = m->tenant, .ts = m->ts == m->rcv ? CORE_TS_NONE : m->ts,
			     .received = m->rcv, .input = "syslog-tcp", .format = "syslog",
			     .raw = m->msg, .raw_len = strlen(m->msg), .json = m->json,
			     .json_len = strlen(m->json), .message = m->msg,
			     .message_len = strlen(m->msg), .host = m->host, .user = m->user,
			     .src_ip = m->src, .dst_ip = m->dst, .action = m->action,
			     .outcome = m->outcome, .program = m->prog, .code = m->code};
}

/* Inserts M[from..to) in batches of 100; false on any failure. */
static bool insert_range(store *s, size_t from, size_t to)
{
	core_err err;
	store_event ev[100];
	int64_t ids[100];
	for (size_t i = from; i < to;) {
		size_t n = 0, base = i;
		while (i < to && n < 100)
			ev[n++] = to_store(&M[i++]);
		if (store_begin(s, &err) || store_add_events(s, ev, n, ids, &err) ||
		    store_commit(s, &err)) {
			printf("# insert: %s\n", err.msg);
			return false;
		}
		for (size_t k = 0; k < n; k++)
			M[base + k].id = ids[k];
	}
	return true;
}

typedef bool (*pred)(const mev *m, const void *arg);

static int cmp_desc(const void *a, const void *b)
{
	const mev *x = *(const mev *const *)a, *y = *(const mev *const *)b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? 1 : -1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* Expected ids, newest first, of the model events of tenant (0: all) in
 * [from, to) matching p. */
static size_t expect(uint32_t tenant, int64_t from, int64_t to, pred p, const void *arg,
		     int64_t *out)
{
	static const mev *sel[N_EV + 400];
	size_t n = 0;
	for (size_t i = 0; i < nm; i++) {
		const mev *m = &M[i];
		if ((tenant && m->tenant != tenant) || (from && m->ts < from) || (to && m->ts >= to))
			continue;
		if (p && !p(m, arg))
			continue;
		sel[n++] = m;
	}
	qsort(sel, n, sizeof *sel, cmp_desc);
	for (size_t i = 0; i < n; i++)
		out[i] = sel[i]->id;
	return n;
}

/* Runs q page by page (limit per page); ids in *out. Returns pages, -1 on error. */
static int search_all(store *s, store_event_query q, int64_t *out, size_t *n, char *msg)
{
	core_buf b;
	core_err err;
	char cur[64] = "";
	int pages = 0;

	*n = 0;
	core_buf_init(&b, 0);
	for (;;) {
		q.cursor = *cur ? cur : NULL;
		b.len = 0;
		if (store_search_events(s, &q, &b, &err)) {
			if (msg)
				snprintf(msg, 200, "%s", err.msg);
			core_buf_free(&b);
			return -1;
		}
		pages++;
		yyjson_doc *d = yyjson_read(b.data, b.len, 0);
		if (!d) {
			core_buf_free(&b);
			return -1;
		}
		yyjson_val *r = yyjson_doc_get_root(d), *e;
		size_t idx, max;
		yyjson_arr_foreach(yyjson_obj_get(r, "events"), idx, max, e)
		{
			if (*n < N_EV + 400)
				out[(*n)++] = yyjson_get_sint(yyjson_obj_get(e, "id"));
		}
		yyjson_val *c = yyjson_obj_get(r, "next_cursor");
		bool more = yyjson_is_str(c);
		if (more)
			snprintf(cur, sizeof cur, "%s", yyjson_get_str(c));
		yyjson_doc_free(d);
		if (!more || pages > 2000)
			break;
	}
	core_buf_free(&b);
	return pages;
}

static bool same(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
	if (na != nb) {
		printf("# got %zu ids, expected %zu\n", na, nb);
		return false;
	}
	for (size_t i = 0; i < na; i++)
		if (a[i] != b[i]) {
			printf("# at %zu: got %lld, expected %lld\n", i, (long long)a[i],
			       (long long)b[i]);
			return false;
		}
	return true;
}

static int64_t got[N_EV + 400], want[N_EV + 400];

/* Checks one query against the model, paging by `limit`. */
static void check_query(store *s, const char *what, store_event_query q, pred p, const void *arg)
{
	size_t ng, nw = expect(q.tenant, q.from, q.to, p, arg, want);
	int pages = search_all(s, q, got, &ng, NULL);
	TAP_OK(pages > 0 && same(got, ng, want, nw), "%s: %zu events in %d pages", what, nw, pages);
}

static bool p_field(const mev *m, const void *arg)
{
	const store_filter *f = arg;
	const char *v = !strcmp(f->field, "host")      ? m->host
			: !strcmp(f->field, "user")    ? m->user
			: !strcmp(f->field, "src_ip")  ? m->src
			: !strcmp(f->field, "dst_ip")  ? m->dst
			: !strcmp(f->field, "action")  ? m->action
			: !strcmp(f->field, "outcome") ? m->outcome
			: !strcmp(f->field, "program") ? m->prog
			: !strcmp(f->field, "code")    ? m->code
			: !strcmp(f->field, "input")   ? "syslog-tcp"
			: !strcmp(f->field, "process.name") ? m->prog
							    : NULL;
	char pid[16];
	if (!strcmp(f->field, "process.pid")) {
		snprintf(pid, sizeof pid, "%d", m->pid);
		v = pid;
	}
	return v && !strcmp(v, f->value);
}

static bool p_word(const mev *m, const void *arg)
{
	return strstr(m->msg, arg) != NULL;
}

static bool p_word_host(const mev *m, const void *arg)
{
	return strstr(m->msg, "Accepted") && !strcmp(m->host, arg);
}

static void test_events(store *s)
{
	int64_t from = today0 - 2 * DAY, to = today0 - DAY;
	store_event_query q = {.tenant = 1, .limit = 37};

	check_query(s, "all of tenant 1", q, NULL, NULL);
	q.from = from;
	q.to = to;
	check_query(s, "time range", q, NULL, NULL);
	static const char *const fields[][2] = {
		{"host", "web3"},     {"user", "u4"},	     {"src_ip", "10.0.1.7"},
		{"dst_ip", "192.168.1.2"}, {"action", "login"}, {"outcome", "failure"},
		{"program", "sudo"},  {"code", "4625"},	     {"input", "syslog-tcp"},
		{"process.name", "cron"},  {"process.pid", "1017"}};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		store_filter f = {fields[i][0], fields[i][1]};
		char what[64];
		q.filters = &f;
		q.n_filters = 1;
		snprintf(what, sizeof what, "filter %s=%s + range", f.field, f.value);
		check_query(s, what, q, p_field, &f);
	}
	q.filters = NULL;
	q.n_filters = 0;
	q.text = "Accepted";
	check_query(s, "full text word + range", q, p_word, "Accepted");
	q.from = q.to = 0;
	q.text = "\"kernel panic\"";
	check_query(s, "full text phrase, all time", q, p_word, "kernel panic");
	q.text = "Accepted";
	q.limit = 1000;
	check_query(s, "full text word, all time", q, p_word, "Accepted");
	store_filter fh = {"host", "web2"};
	q.filters = &fh;
	q.n_filters = 1;
	q.limit = 9;
	check_query(s, "full text + host filter", q, p_word_host, "web2");

	/* two filters and tenant 0 (all) */
	store_filter two[2] = {{"host", "web1"}, {"action", "logout"}};
	store_event_query q2 = {.tenant = 0, .filters = two, .n_filters = 2, .limit = 5};
	size_t ng;
	size_t nw = expect(0, 0, 0, p_field, &two[0], want);
	size_t k = 0;
	for (size_t i = 0; i < nw; i++) {
		for (size_t j = 0; j < nm; j++)
			if (M[j].id == want[i] && !strcmp(M[j].action, "logout"))
				want[k++] = want[i];
	}
	int pages = search_all(s, q2, got, &ng, NULL);
	TAP_OK(pages > 0 && same(got, ng, want, k), "two filters, all tenants: %zu events", k);

	/* the limit cap: 1000 at most, with a cursor to go on */
	core_buf b;
	core_err err;
	core_buf_init(&b, 0);
	store_event_query qc = {.tenant = 1, .limit = 5000};
	int rc = store_search_events(s, &qc, &b, &err);
	yyjson_doc *d = rc ? NULL : yyjson_read(b.data, b.len, 0);
	yyjson_val *r = yyjson_doc_get_root(d);
	TAP_OK(d && yyjson_arr_size(yyjson_obj_get(r, "events")) == 1000 &&
		       yyjson_is_str(yyjson_obj_get(r, "next_cursor")),
	       "limit 5000 is capped at 1000 with a next cursor");
	yyjson_doc_free(d);

	/* get: fields as stored, escaped, other tenant refused */
	const mev *m = &M[2];
	b.len = 0;
	rc = store_get_event(s, 1, m->id, &b, &err);
	d = rc ? NULL : yyjson_read(b.data, b.len, 0);
	r = yyjson_doc_get_root(d);
	TAP_OK(d && yyjson_get_sint(yyjson_obj_get(r, "id")) == m->id &&
		       !strcmp(yyjson_get_str(yyjson_obj_get(r, "raw")) ?: "", m->msg) &&
		       !strcmp(yyjson_get_str(yyjson_obj_get(r, "input")) ?: "", "syslog-tcp") &&
		       yyjson_get_sint(yyjson_ptr_get(r, "/event/seq")) == 2,
	       "get event: raw with quotes and backslash round-trips, event inserted as is");
	yyjson_doc_free(d);
	b.len = 0;
	TAP_OK(store_get_event(s, 2, m->id, &b, &err) == STORE_ENOTFOUND && b.len == 0,
	       "get event of tenant 1 as tenant 2: not found");
	TAP_OK(store_get_event(s, 1, m->id + 100000, &b, &err) == STORE_ENOTFOUND &&
		       store_get_event(s, 1, (int64_t)12345 << 36 | 1, &b, &err) == STORE_ENOTFOUND,
	       "get of a missing id or partition: not found");
	core_buf_free(&b);
}

static bool p_tenant2(const mev *m, const void *arg)
{
	(void)arg;
	return m->tenant == 2;
}

static void test_ids_and_tenants(store *s)
{
	bool inc = true, uniq = true;
	for (size_t i = 1; i < nm; i++)
		if (M[i].id <= M[i - 1].id)
			inc = false;
	TAP_OK(inc && M[0].id > 0, "ids are positive and increase over %zu events", nm);
	for (size_t i = 0; i < nm && uniq; i++)
		for (size_t j = i + 1; j < nm; j++)
			if (M[i].id == M[j].id)
				uniq = false;
	TAP_OK(uniq, "ids are unique");
	TAP_OK((M[0].id >> 36) == (today0 - 3 * DAY) / DAY && (M[nm - 1].id >> 36) == today0 / DAY,
	       "ids carry the receive day of their partition");

	store_event_query q = {.tenant = 2, .limit = 50};
	size_t ng, nw = expect(2, 0, 0, NULL, NULL, want);
	int pages = search_all(s, q, got, &ng, NULL);
	TAP_OK(pages > 0 && nw > 0 && same(got, ng, want, nw), "tenant 2 sees its %zu events", nw);
	q.tenant = 1;
	pages = search_all(s, q, got, &ng, NULL);
	bool leak = false;
	for (size_t i = 0; i < ng; i++)
		for (size_t j = 0; j < nm; j++)
			if (M[j].id == got[i] && p_tenant2(&M[j], NULL))
				leak = true;
	TAP_OK(pages > 0 && !leak && ng == nm - nw, "tenant 1 never sees tenant 2's events");
}

static void test_bad_queries(store *s)
{
	static const char *const bad_cursors[] = {"abc", "1:", ":5", "1:2:3", "99999999999999999999:1",
						  "5:-1", ""};
	core_buf b;
	core_err err;
	core_buf_init(&b, 0);
	bool all = true;
	for (size_t i = 0; i < sizeof bad_cursors / sizeof *bad_cursors; i++) {
		store_event_query q = {.tenant = 1, .cursor = bad_cursors[i]};
		if (store_search_events(s, &q, &b, &err) != CORE_EINVAL || b.len)
			all = false;
	}
	TAP_OK(all && strstr(err.msg, "cursor"), "malformed cursors refused: %s", err.msg);
	static const char *const bad_fts[] = {"\"unterminated", "AND", "foo:bar", "(a OR", "NEAR("};
	all = true;
	for (size_t i = 0; i < sizeof bad_fts / sizeof *bad_fts; i++) {
		store_event_query q = {.tenant = 1, .text = bad_fts[i]};
		if (store_search_events(s, &q, &b, &err) != CORE_EINVAL || b.len) {
			printf("# %s accepted\n", bad_fts[i]);
			all = false;
		}
	}
	TAP_OK(all && strstr(err.msg, "text query"), "malformed FTS queries refused: %s", err.msg);
	store_filter f = {"a..b", "x"};
	store_event_query q = {.tenant = 1, .filters = &f, .n_filters = 1};
	TAP_OK(store_search_events(s, &q, &b, &err) == CORE_EINVAL, "bad field path refused: %s",
	       err.msg);
	f = (store_filter){"x\"); DROP TABLE events; --", "1"};
	TAP_OK(store_search_events(s, &q, &b, &err) == CORE_EINVAL, "quote in a field path refused");
	f = (store_filter){"host", "web1' OR 1=1 --"};
	b.len = 0;
	TAP_OK(store_search_events(s, &q, &b, &err) == 0 && strstr(b.data, "\"events\":[]"),
	       "an injection attempt in a value is only a value");
	core_buf_free(&b);
}

/* ---- alerts ---- */
static int64_t add_alert(store *s, uint32_t tenant, const char *rule, const char *host, int64_t ts,
			 const int64_t *ids, size_t n, bool *grouped)
{
	core_err err;
	int64_t id = 0;
	store_alert a = {.tenant = tenant, .rule_id = rule, .rule_title = "Brute \"force\"",
			 .level = "high", .tags_json = "[\"attack.t1110\"]", .author = "me",
			 .kind = "rule", .ts = ts, .event_ids = ids, .n_events = n, .host = host,
			 .user = "root", .detail_json = "{\"user\":\"root\"}"};
	if (store_begin(s, &err) || store_add_alert(s, &a, 600 * SEC, &id, grouped, &err) ||
	    store_commit(s, &err)) {
		printf("# alert: %s\n", err.msg);
		return -1;
	}
	return id;
}

static yyjson_doc *get_alert(store *s, uint32_t tenant, int64_t id)
{
	core_buf b;
	core_err err;
	core_buf_init(&b, 0);
	yyjson_doc *d = store_get_alert(s, tenant, id, &b, &err) ? NULL : yyjson_read(b.data, b.len, 0);
	core_buf_free(&b);
	return d;
}

static void test_alerts(store *s)
{
	int64_t t = today0 - 3600 * SEC, ids[150];
	bool g1 = true, g2 = false;
	for (int i = 0; i < 150; i++)
		ids[i] = 1000 + i;
	int64_t a1 = add_alert(s, 1, "r1", "web1", t, ids, 1, &g1);
	bool grew = true;
	for (int i = 1; i < 130; i++) {
		int64_t id = add_alert(s, 1, "r1", "web1", t + i * SEC, ids + (i % 150), 1, &g2);
		if (id != a1 || !g2)
			grew = false;
	}
	TAP_OK(a1 > 0 && !g1 && grew, "same rule+host within the window grows one alert");
	yyjson_doc *d = get_alert(s, 1, a1);
	yyjson_val *r = yyjson_doc_get_root(d);
	TAP_OK(d && yyjson_get_sint(yyjson_obj_get(r, "count")) == 130 &&
		       yyjson_arr_size(yyjson_obj_get(r, "event_ids")) == 100 &&
		       yyjson_get_sint(yyjson_arr_get(yyjson_obj_get(r, "event_ids"), 99)) == 1099 &&
		       !strcmp(yyjson_get_str(yyjson_obj_get(r, "rule_title")) ?: "", "Brute \"force\"") &&
		       !strcmp(yyjson_get_str(yyjson_arr_get(yyjson_obj_get(r, "tags"), 0)) ?: "",
			       "attack.t1110") &&
		       !strcmp(yyjson_get_str(yyjson_ptr_get(r, "/detail/user")) ?: "", "root"),
	       "count exact (130), 100 event ids kept, tags and detail as JSON");
	yyjson_doc_free(d);

	int64_t a2 = add_alert(s, 1, "r1", "web1", t + 129 * SEC + 601 * SEC, ids, 1, &g2);
	TAP_OK(a2 > a1 && !g2, "outside the window: a new alert");
	int64_t a3 = add_alert(s, 1, "r1", "web2", t + 130 * SEC, ids, 1, &g2);
	TAP_OK(a3 > a2 && !g2, "another host: a new alert");
	int64_t a4 = add_alert(s, 1, "r1", NULL, t, ids, 1, &g2);
	int64_t a5 = add_alert(s, 1, "r1", NULL, t + SEC, ids, 1, &g2);
	TAP_OK(a4 > a3 && a5 == a4 && g2, "no host groups with no host");

	core_err err;
	TAP_OK(store_update_alert(s, 1, a2, "closed", NULL, NULL, &err) == CORE_EINVAL,
	       "closing without a reason refused: %s", err.msg);
	TAP_OK(store_update_alert(s, 1, a2, "done", NULL, NULL, &err) == CORE_EINVAL,
	       "unknown status refused");
	TAP_OK(store_update_alert(s, 2, a2, "acknowledged", NULL, "bob", &err) == STORE_ENOTFOUND,
	       "tenant 2 cannot update tenant 1's alert");
	TAP_OK(store_update_alert(s, 1, a2, "acknowledged", NULL, "bob", &err) == 0,
	       "acknowledge with assignee");
	int64_t a6 = add_alert(s, 1, "r1", "web1", t + 129 * SEC + 602 * SEC, ids, 1, &g2);
	TAP_OK(a6 > a2 && !g2, "an acknowledged alert does not group");
	TAP_OK(store_update_alert(s, 1, a2, "closed", "false positive", NULL, &err) == 0,
	       "close with a reason");
	d = get_alert(s, 1, a2);
	r = yyjson_doc_get_root(d);
	TAP_OK(d && !strcmp(yyjson_get_str(yyjson_obj_get(r, "status")) ?: "", "closed") &&
		       !strcmp(yyjson_get_str(yyjson_obj_get(r, "close_reason")) ?: "",
			       "false positive") &&
		       !strcmp(yyjson_get_str(yyjson_obj_get(r, "assignee")) ?: "", "bob"),
	       "status, reason and assignee kept");
	yyjson_doc_free(d);
	TAP_OK(store_update_alert(s, 1, a2, NULL, NULL, "", &err) == 0, "clear the assignee");
	d = get_alert(s, 1, a2);
	TAP_OK(d && yyjson_is_null(yyjson_obj_get(yyjson_doc_get_root(d), "assignee")), "assignee cleared");
	yyjson_doc_free(d);

	int64_t b1 = add_alert(s, 2, "r1", "web1", t, ids, 1, &g2);
	TAP_OK(b1 > 0 && b1 != a1 && !g2, "tenant 2's alert never groups with tenant 1's");
	TAP_OK(get_alert(s, 2, a1) == NULL, "tenant 2 cannot read tenant 1's alert");

	/* listing: filters, tenant scoping, cursor pages */
	core_buf b;
	core_buf_init(&b, 0);
	store_alert_query q = {.tenant = 1, .limit = 2};
	char cur[64] = "";
	int64_t seen[32];
	size_t ns = 0;
	for (int page = 0; page < 10; page++) {
		q.cursor = *cur ? cur : NULL;
		b.len = 0;
		if (store_list_alerts(s, &q, &b, &err))
			break;
		d = yyjson_read(b.data, b.len, 0);
		yyjson_val *e, *arr = yyjson_obj_get(yyjson_doc_get_root(d), "alerts");
		size_t i, max;
		yyjson_arr_foreach(arr, i, max, e) if (ns < 32) seen[ns++] =
			yyjson_get_sint(yyjson_obj_get(e, "id"));
		yyjson_val *c = yyjson_obj_get(yyjson_doc_get_root(d), "next_cursor");
		bool more = yyjson_is_str(c);
		if (more)
			snprintf(cur, sizeof cur, "%s", yyjson_get_str(c));
		yyjson_doc_free(d);
		if (!more)
			break;
	}
	/* last_seen: a6 (t+731s) > a2 (t+730) > a3 (t+130) > a1 (t+129) > a4 (t+1) */
	int64_t exp[] = {a6, a2, a3, a1, a4};
	TAP_OK(same(seen, ns, exp, 5), "tenant 1's alerts newest first over pages of 2");
	q = (store_alert_query){.tenant = 1, .status = "closed"};
	b.len = 0;
	TAP_OK(store_list_alerts(s, &q, &b, &err) == 0 && strstr(b.data, "false positive") &&
		       !strstr(b.data, "\"status\":\"new\""),
	       "status filter");
	q = (store_alert_query){.tenant = 2};
	b.len = 0;
	TAP_OK(store_list_alerts(s, &q, &b, &err) == 0 && strstr(b.data, "\"tenant\":2") &&
		       !strstr(b.data, "\"tenant\":1"),
	       "tenant 2 lists only its alerts");
	q = (store_alert_query){.tenant = 0, .level = "critical"};
	b.len = 0;
	TAP_OK(store_list_alerts(s, &q, &b, &err) == 0 && strstr(b.data, "\"alerts\":[]"),
	       "minimum level critical: none");
	q.level = "severe";
	TAP_OK(store_list_alerts(s, &q, &b, &err) == CORE_EINVAL, "unknown level refused");
	q = (store_alert_query){.tenant = 0, .cursor = "x:1"};
	TAP_OK(store_list_alerts(s, &q, &b, &err) == CORE_EINVAL, "malformed alert cursor refused");
	core_buf_free(&b);

	store_alert bad = {.tenant = 1, .rule_id = "r", .level = "high", .tags_json = "[\"x\""};
	int64_t id;
	store_begin(s, &err);
	TAP_OK(store_add_alert(s, &bad, 0, &id, NULL, &err) == CORE_EINVAL,
	       "alert with malformed tags JSON refused");
	store_rollback(s);
}

/* ---- accounts ---- */
static void rule_cb(void *ud, const char *id)
{
	char *acc = ud;
	size_t n = strlen(acc);
	snprintf(acc + n, 128 - n, "%s;", id);
}

static void test_accounts(store *s)
{
	core_err err;
	core_buf b;
	uint32_t t2 = 0, t3;
	int64_t u1, u2, tok1, tok2;
	store_user u;
	char h1[65], h2[65], h3[65], csrf[65];
	memset(h1, 'a', 64);
	memset(h2, 'b', 64);
	memset(h3, 'c', 64);
	h1[64] = h2[64] = h3[64] = 0;
	core_buf_init(&b, 0);

	TAP_OK(store_tenant_create(s, "acme", &t3, &err) == STORE_ECONFLICT, "tenant name taken: %s",
	       err.msg);
	(void)t2;
	TAP_OK(store_user_create(s, 1, "alice", "$argon2id$v=19$x", STORE_ROLE_ADMIN, &u1, &err) == 0 &&
		       store_user_create(s, 2, "bob", "$argon2id$v=19$y", STORE_ROLE_VIEWER, &u2, &err) == 0,
	       "users created");
	TAP_OK(store_user_create(s, 2, "alice", "h", STORE_ROLE_VIEWER, &u2, &err) == STORE_ECONFLICT,
	       "user names unique over all tenants");
	TAP_OK(store_user_create(s, 99, "carol", "h", STORE_ROLE_VIEWER, &u2, &err) == STORE_ENOTFOUND,
	       "user in a missing tenant: not found (%s)", err.msg);
	store_user_get(s, "bob", &u, &err);
	u2 = u.id;
	TAP_OK(store_user_get(s, "alice", &u, &err) == 0 && u.id == u1 && u.tenant == 1 &&
		       u.role == STORE_ROLE_ADMIN && !u.disabled && !strcmp(u.pass_hash, "$argon2id$v=19$x"),
	       "get user by name");
	TAP_OK(store_user_get_id(s, u2, &u, &err) == 0 && !strcmp(u.name, "bob") && u.tenant == 2,
	       "get user by id");
	TAP_OK(store_user_get(s, "nobody", &u, &err) == STORE_ENOTFOUND, "missing user");
	TAP_OK(store_user_update(s, 1, u2, NULL, STORE_ROLE_ADMIN, -1, &err) == STORE_ENOTFOUND,
	       "tenant 1 cannot update tenant 2's user");
	TAP_OK(store_user_update(s, 2, u2, "newhash", STORE_ROLE_ANALYST, 1, &err) == 0 &&
		       store_user_get_id(s, u2, &u, &err) == 0 && u.role == STORE_ROLE_ANALYST &&
		       u.disabled && !strcmp(u.pass_hash, "newhash"),
	       "update hash, role, disabled");
	TAP_OK(store_user_update(s, 2, u2, NULL, 0, 0, &err) == 0 &&
		       store_user_get_id(s, u2, &u, &err) == 0 && u.role == STORE_ROLE_ANALYST &&
		       !u.disabled && !strcmp(u.pass_hash, "newhash"),
	       "unchanged fields stay");
	b.len = 0;
	TAP_OK(store_user_list(s, 2, &b, &err) == 0 && strstr(b.data, "\"bob\"") &&
		       !strstr(b.data, "alice") && !strstr(b.data, "newhash"),
	       "tenant 2 lists its users, never a hash");
	uint64_t nu = 0;
	TAP_OK(store_user_count(s, &nu, &err) == 0 && nu == 2, "user count");
	b.len = 0;
	TAP_OK(store_tenant_list(s, 0, &b, &err) == 0 && strstr(b.data, "\"default\"") &&
		       strstr(b.data, "\"acme\""),
	       "tenant list");

	/* sessions */
	int64_t now = core_time_now(), who = 0;
	TAP_OK(store_session_create(s, h1, u1, now + 3600 * SEC, "csrf-1", &err) == 0 &&
		       store_session_create(s, h2, u2, now + 10 * SEC, "csrf-2", &err) == 0,
	       "sessions created");
	TAP_OK(store_session_get(s, h1, now, &who, csrf, &err) == 0 && who == u1 &&
		       !strcmp(csrf, "csrf-1"),
	       "live session found with its csrf");
	TAP_OK(store_session_get(s, h2, now + 11 * SEC, &who, csrf, &err) == STORE_ENOTFOUND,
	       "expired session not found");
	TAP_OK(store_session_create(s, "short", u1, now, "c", &err) == CORE_EINVAL,
	       "a session hash must be 64 hex chars");
	TAP_OK(store_session_delete(s, h1, &err) == 0 &&
		       store_session_get(s, h1, now, &who, csrf, &err) == STORE_ENOTFOUND,
	       "deleted session gone");

	/* tokens */
	TAP_OK(store_token_create(s, u1, "ci", h1, 0, &tok1, &err) == 0 &&
		       store_token_create(s, u2, "bot", h2, now + 60 * SEC, &tok2, &err) == 0,
	       "tokens created");
	TAP_OK(store_token_create(s, u1, "dup", h1, 0, &tok1, &err) == STORE_ECONFLICT,
	       "token hash unique");
	TAP_OK(store_token_get(s, h1, now, &who, &err) == 0 && who == u1, "token finds its user");
	TAP_OK(store_token_get(s, h2, now + 61 * SEC, &who, &err) == STORE_ENOTFOUND,
	       "expired token refused");
	TAP_OK(store_token_get(s, h3, now, &who, &err) == STORE_ENOTFOUND, "unknown token refused");
	b.len = 0;
	TAP_OK(store_token_list(s, 2, &b, &err) == 0 && strstr(b.data, "\"bot\"") &&
		       !strstr(b.data, "\"ci\"") && !strstr(b.data, "bbbbbbbb"),
	       "tenant 2 lists its tokens only, never the hash");
	b.len = 0;
	TAP_OK(store_token_list(s, 1, &b, &err) == 0 && strstr(b.data, "\"last_used\":\"20"),
	       "last_used recorded on use");
	TAP_OK(store_token_revoke(s, 2, tok1, &err) == STORE_ENOTFOUND,
	       "tenant 2 cannot revoke tenant 1's token");
	TAP_OK(store_token_revoke(s, 1, tok1, &err) == 0 &&
		       store_token_get(s, h1, now, &who, &err) == STORE_ENOTFOUND,
	       "revoked token refused");

	/* audit */
	TAP_OK(store_audit(s, 1, u1, "user.create", "user:1", "{\"name\":\"al\\\"ice\"}", &err) == 0 &&
		       store_audit(s, 2, u2, "alert.update", "alert:7", NULL, &err) == 0 &&
		       store_audit(s, 1, 0, "rules.reload", NULL, NULL, &err) == 0,
	       "audit entries written");
	TAP_OK(store_audit(s, 1, 0, "x", NULL, "{bad", &err) == CORE_EINVAL, "audit detail must be JSON");
	b.len = 0;
	TAP_OK(store_audit_list(s, 2, NULL, 0, &b, &err) == 0 && strstr(b.data, "alert.update") &&
		       !strstr(b.data, "user.create"),
	       "tenant 2 sees only its audit");
	b.len = 0;
	int rc = store_audit_list(s, 1, NULL, 1, &b, &err);
	yyjson_doc *d = rc ? NULL : yyjson_read(b.data, b.len, 0);
	yyjson_val *r = yyjson_doc_get_root(d);
	const char *c = yyjson_get_str(yyjson_obj_get(r, "next_cursor"));
	TAP_OK(d && strstr(b.data, "rules.reload") && c, "audit newest first, one per page");
	core_buf b2;
	core_buf_init(&b2, 0);
	rc = c ? store_audit_list(s, 1, c, 1, &b2, &err) : -1;
	yyjson_doc *d2 = rc ? NULL : yyjson_read(b2.data, b2.len, 0);
	TAP_OK(d2 && strstr(b2.data, "user.create") && strstr(b2.data, "\"next_cursor\":null") &&
		       !strcmp(yyjson_get_str(yyjson_ptr_get(yyjson_doc_get_root(d2),
							     "/audit/0/detail/name")) ?: "", "al\"ice"),
	       "audit page 2 continues, detail kept as JSON");
	yyjson_doc_free(d);
	yyjson_doc_free(d2);
	core_buf_free(&b2);

	/* rule state */
	char acc[128] = "";
	TAP_OK(store_rule_set_enabled(s, "r-a", false, &err) == 0 &&
		       store_rule_set_enabled(s, "r-b", false, &err) == 0 &&
		       store_rule_set_enabled(s, "r-a", true, &err) == 0 &&
		       store_rules_disabled(s, rule_cb, acc, &err) == 0 && !strcmp(acc, "r-b;"),
	       "rule state: only r-b disabled (%s)", acc);
	core_buf_free(&b);
}

/* ---- concurrency ---- */
typedef struct rd_arg {
	store *s;
	atomic_bool *stop;
	atomic_int searches;
	int errors, shrink;
} rd_arg;

static void *reader(void *p)
{
	rd_arg *a = p;
	core_buf b;
	core_err err;
	size_t last = 0;
	core_buf_init(&b, 0);
	while (!atomic_load(a->stop) || a->searches < 5) {
		store_event_query q = {.tenant = 1, .text = (a->searches & 1) ? "Failed" : NULL,
				       .from = (a->searches & 1) ? 0 : today0, .limit = 1000};
		b.len = 0;
		if (store_search_events(a->s, &q, &b, &err)) {
			a->errors++;
			continue;
		}
		yyjson_doc *d = yyjson_read(b.data, b.len, 0);
		if (!d) {
			a->errors++;
			continue;
		}
		size_t n = yyjson_arr_size(yyjson_obj_get(yyjson_doc_get_root(d), "events"));
		yyjson_doc_free(d);
		store_stats st;
		if (store_get_stats(a->s, &st, &err))
			a->errors++;
		if (!(a->searches & 1)) {
			if (n < last)
				a->shrink++;
			last = n;
		}
		a->searches++;
	}
	core_buf_free(&b);
	return NULL;
}

static void test_concurrent(store *s)
{
	atomic_bool stop = false;
	rd_arg a[2] = {{s, &stop, 0, 0, 0}, {s, &stop, 0, 0, 0}};
	pthread_t th[2];
	size_t start = nm;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, &a[i]);
	for (size_t i = 0; i < 300; i++)
		make_event(&M[nm + i], i, today0 + (int64_t)(nm + i) * SEC, 1);
	bool ok = true;
	for (size_t i = 0; i < 300; i += 10) {
		/* interleave: wait (bounded) for a search of each reader between batches */
		int s0 = atomic_load(&a[0].searches), s1 = atomic_load(&a[1].searches);
		for (int w = 0; w < 5000 && (atomic_load(&a[0].searches) == s0 ||
					     atomic_load(&a[1].searches) == s1); w++)
			usleep(1000);
		ok = ok && insert_range(s, start + i, start + i + 10);
	}
	nm += 300;
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	TAP_OK(ok && a[0].errors + a[1].errors == 0 && a[0].shrink + a[1].shrink == 0,
	       "2 reader threads during 30 write batches: %d + %d searches, no error",
	       atomic_load(&a[0].searches), atomic_load(&a[1].searches));
}

/* ---- crash safety ---- */
static void test_crash(void)
{
	core_err err;
	pid_t pid = fork();
	if (pid == 0) {
		store *s = open_dir("crash", 0, 0, &err);
		store_event ev[50];
		int64_t ids[50];
		if (!s)
			_exit(2);
		for (int b = 0; b < 3; b++) {
			for (int i = 0; i < 50; i++) {
				make_event(&M[i], (size_t)(b * 50 + i), today0 + b * SEC, 1);
				ev[i] = to_store(&M[i]);
			}
			if (store_begin(s, &err) || store_add_events(s, ev, 50, ids, &err))
				_exit(3);
			if (b < 2 && store_commit(s, &err))
				_exit(4);
		}
		_exit(0); /* the third batch is never committed */
	}
	int status = 0;
	waitpid(pid, &status, 0);
	store *s = open_dir("crash", 0, 0, &err);
	store_stats st = {0};
	core_buf b;
	core_buf_init(&b, 0);
	store_event_query q = {.tenant = 0, .limit = 1000};
	int rc = s ? store_search_events(s, &q, &b, &err) : -1;
	yyjson_doc *d = rc ? NULL : yyjson_read(b.data, b.len, 0);
	size_t n = yyjson_arr_size(yyjson_obj_get(yyjson_doc_get_root(d), "events"));
	TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && s && store_get_stats(s, &st, &err) == 0 &&
		       st.events == 100 && n == 100,
	       "child exits before its third commit: the 2 committed batches (%zu events) are there", n);
	yyjson_doc_free(d);
	/* the next id continues after the committed ones */
	store_event ev = to_store(&M[0]);
	int64_t id = 0;
	TAP_OK(s && store_begin(s, &err) == 0 && store_add_events(s, &ev, 1, &id, &err) == 0 &&
		       store_commit(s, &err) == 0 && (id & ((INT64_C(1) << 36) - 1)) == 101,
	       "the next event gets rowid 101");
	core_buf_free(&b);
	store_close(s);
}

/* ---- retention ---- */
static void test_retention(void)
{
	core_err err;
	char path[256];
	store *s = open_dir("ret", 7, 0, &err);
	int64_t days[] = {-10, -9, -5, 0};
	static mev mm[20];
	for (int d = 0; d < 4 && s; d++) {
		store_event ev[20];
		int64_t ids[20];
		for (int i = 0; i < 20; i++) {
			make_event(&mm[i], (size_t)i, today0 + days[d] * DAY + i * SEC, 1);
			mm[i].ts = today0 + days[d] * DAY + i * SEC;
			ev[i] = to_store(&mm[i]);
			ev[i].ts = mm[i].ts;
		}
		store_begin(s, &err);
		store_add_events(s, ev, 20, ids, &err);
		store_commit(s, &err);
	}
	store_stats st;
	unsigned dropped = 0;
	TAP_OK(s && store_get_stats(s, &st, &err) == 0 && st.partitions == 4 && st.events == 80 &&
		       st.bytes > 0 && st.oldest_received == today0 - 10 * DAY,
	       "4 partitions, 80 events, oldest received known");
	TAP_OK(s && store_retain(s, &dropped, &err) == 0 && dropped == 2, "age 7 days: 2 dropped");
	char t[40];
	core_time_format(today0 - 10 * DAY, t);
	snprintf(path, sizeof path, "%s/ret/events/%.4s%.2s%.2s.db", root, t, t + 5, t + 8);
	TAP_OK(access(path, F_OK) != 0, "the oldest file is gone");
	core_buf b;
	core_buf_init(&b, 0);
	store_event_query q = {.tenant = 1, .limit = 1000};
	size_t ng;
	int pages = search_all(s, q, got, &ng, NULL);
	TAP_OK(s && store_get_stats(s, &st, &err) == 0 && st.partitions == 2 && st.events == 40 &&
		       pages == 1 && ng == 40 && st.oldest_received == today0 - 5 * DAY,
	       "catalog and search no longer see them");
	store_close(s);
	s = open_dir("ret", 0, 1, &err);
	TAP_OK(s && store_retain(s, &dropped, &err) == 0 && dropped == 1 &&
		       store_get_stats(s, &st, &err) == 0 && st.partitions == 1 && st.events == 20,
	       "size bound: all but the partition being written dropped");
	core_buf_free(&b);
	store_close(s);
}

/* ---- open, migrations ---- */
static void test_open(void)
{
	core_err err;
	char path[256];
	store *s = open_dir("mig", 0, 0, &err);
	TAP_OK(s && store_schema_version(s) == 2, "created with schema version 2");
	uint32_t t = 0;
	TAP_OK(s && store_tenant_create(s, "keep", &t, &err) == 0 && t == 2, "data written");
	store_close(s);
	s = open_dir("mig", 0, 0, &err);
	core_buf b;
	core_buf_init(&b, 0);
	TAP_OK(s && store_tenant_list(s, 0, &b, &err) == 0 && strstr(b.data, "\"keep\""),
	       "reopen keeps data");
	store_close(s);
	core_buf_free(&b);
	sqlite3 *db;
	snprintf(path, sizeof path, "%s/mig/hisn.db", root);
	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA user_version=9", NULL, NULL, NULL);
	sqlite3_close(db);
	s = open_dir("mig", 0, 0, &err);
	TAP_OK(!s && err.code == CORE_ENOTSUP && strstr(err.msg, "schema version 9 is newer"),
	       "a newer schema is refused: %s", err.msg);
	snprintf(path, sizeof path, "%s/mig/nodir/x", root);
	store_options o = {.dir = path};
	TAP_OK(store_open(&o, &s, &err) == CORE_EIO, "missing parent directory: %s", err.msg);
}

int main(void)
{
	core_err err;
	snprintf(root, sizeof root, "/tmp/hisn-store-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	today0 = core_time_now() / DAY * DAY;
	test_open();

	store *s = open_dir("main", 0, 0, &err);
	TAP_OK(s != NULL, "open main store");
	if (!s)
		return tap_done();
	uint32_t t2 = 0;
	TAP_OK(store_tenant_create(s, "acme", &t2, &err) == 0 && t2 == 2, "tenant 2 created");
	/* four receive days, in order; tenant 2 every 10th event */
	for (size_t i = 0; i < N_EV; i++)
		make_event(&M[i], i, today0 - (int64_t)(3 - i * 4 / N_EV) * DAY + (int64_t)i * SEC,
			   i % 10 == 3 ? 2 : 1);
	nm = N_EV;
	TAP_OK(insert_range(s, 0, N_EV), "%d events over 4 days inserted", N_EV);
	test_ids_and_tenants(s);
	test_events(s);
	test_bad_queries(s);
	store_close(s);
	s = open_dir("main", 0, 0, &err);
	TAP_OK(s != NULL, "reopen main store");
	if (s) {
		store_event_query q = {.tenant = 0, .limit = 100};
		size_t ng, nw = expect(0, 0, 0, NULL, NULL, want);
		TAP_OK(search_all(s, q, got, &ng, NULL) > 0 && same(got, ng, want, nw),
		       "after reopen: all %zu events, same order", nw);
		test_concurrent(s);
		q.limit = 77;
		nw = expect(0, 0, 0, NULL, NULL, want);
		TAP_OK(search_all(s, q, got, &ng, NULL) > 0 && same(got, ng, want, nw),
		       "after concurrent writes: %zu events, exact", nw);
		test_alerts(s);
		test_accounts(s);
		store_close(s);
	}
	test_crash();
	test_retention();
	rm_rf(root);
	return tap_done();
}
