/* test_corr.c: the Sigma correlation engine over synthetic matches: brute
 * force then success (event_count feeding temporal_ordered), password
 * spraying (value_count), ordered and unordered chains, window edges,
 * value_sum / value_avg / value_percentile, aliases, closing windows (upper
 * bounds, eq), out-of-order and untimed events, missing group-by fields,
 * eviction under a tiny memory bound, emit stopping a feed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "corr/corr.h"

#define SEC 1000000000LL
#define MIN (60 * SEC)
#define T0 ((int64_t)1790000000 * SEC)

typedef struct got {
	uint32_t rule;
	uint64_t count;
	double value;
	int64_t first_ts, last_ts;
	char group[256];
} got;

static got res[256];
static size_t nres, per_rule[64];
static int stop_after = -1;

static rules_set *set;
static corr_state *cs;
static core_arena *arena;

static int on_result(void *ud, const corr_result *r)
{
	(void)ud;
	if (r->rule < 64)
		per_rule[r->rule]++;
	if (nres < sizeof res / sizeof *res) {
		got *g = &res[nres];
		size_t o = 0;
		g->rule = r->rule;
		g->count = r->count;
		g->value = r->value;
		g->first_ts = r->first_ts;
		g->last_ts = r->last_ts;
		g->group[0] = 0;
		for (size_t i = 0; i < r->ngroup && o < sizeof g->group; i++) {
			int w = snprintf(g->group + o, sizeof g->group - o, "%s%s=%s", i ? "," : "",
					 r->group_fields[i], r->group_values[i]);
			if (w < 0)
				break;
			o += (size_t)w;
		}
	}
	nres++;
	if (stop_after >= 0 && nres >= (size_t)stop_after)
		return 42;
	return 0;
}

static const char base_rules[] =
	"title: Failed login\nname: failed_login\nlogsource: {product: linux}\n"
	"detection: {sel: {event.outcome: failure}, condition: sel}\n---\n"
	"title: Successful login\nname: successful_login\nlogsource: {product: linux}\n"
	"detection: {sel: {event.outcome: success}, condition: sel}\n---\n"
	"title: A\nname: rule_a\nlogsource: {product: linux}\ndetection: {sel: {x: a}, condition: sel}\n---\n"
	"title: B\nname: rule_b\nlogsource: {product: linux}\ndetection: {sel: {x: b}, condition: sel}\n---\n"
	"title: C\nname: rule_c\nlogsource: {product: linux}\ndetection: {sel: {x: c}, condition: sel}\n---\n";

/* Loads base_rules plus extra (correlations) and makes a state. */
static bool setup(const char *extra, size_t max_bytes)
{
	char text[8192];
	corr_free(cs);
	rules_set_free(set);
	cs = NULL;
	nres = 0;
	memset(per_rule, 0, sizeof per_rule);
	stop_after = -1;
	snprintf(text, sizeof text, "%s%s", base_rules, extra);
	set = rules_set_new(NULL);
	if (!set || rules_load_string(set, text, strlen(text), "corr.yml") != 0 || set->nfailed) {
		for (size_t i = 0; set && i < set->nmsgs; i++)
			printf("# %s:%u: %s\n", set->msgs[i].file, set->msgs[i].line, set->msgs[i].reason);
		return false;
	}
	rules_set_link(set);
	corr_options o = {.max_bytes = max_bytes};
	cs = corr_new(set, &o);
	return cs != NULL;
}

static uint32_t rule_of(const char *name)
{
	for (size_t i = 0; i < set->nrules; i++)
		if (set->rules[i].name && strcmp(set->rules[i].name, name) == 0)
			return (uint32_t)i;
	return UINT32_MAX;
}

/* Feeds one match of rule name at ts with fields "key=value" ("key=#123":
 * integer, "key=%1.5": float), NULL-terminated. Returns corr_feed's return. */
static int feed(const char *name, int64_t ts, ...)
{
	core_event ev;
	va_list ap;
	core_arena_reset(arena);
	core_event_init(&ev, arena);
	ev.ts = ts;
	va_start(ap, ts);
	for (const char *kv; (kv = va_arg(ap, const char *)) != NULL;) {
		const char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		size_t kl = (size_t)(eq - kv);
		if (eq[1] == '#')
			core_event_add_int(&ev, CORE_NO_PARENT, kv, kl, strtoll(eq + 2, NULL, 10));
		else if (eq[1] == '%')
			core_event_add_float(&ev, CORE_NO_PARENT, kv, kl, strtod(eq + 2, NULL));
		else
			core_event_add_strcopy(&ev, CORE_NO_PARENT, kv, kl, eq + 1, strlen(eq + 1));
	}
	va_end(ap);
	core_event_index(&ev);
	return corr_feed(cs, rule_of(name), &ev, NULL, NULL, on_result, NULL);
}

static size_t count_of(const char *name)
{
	uint32_t r = rule_of(name);
	return r < 64 ? per_rule[r] : 0;
}

static const got *last_of(const char *name)
{
	uint32_t r = rule_of(name);
	for (size_t i = nres < 256 ? nres : 256; i-- > 0;)
		if (res[i].rule == r)
			return &res[i];
	return NULL;
}

/* ---- brute force then success ------------------------------------------------------ */
static const char brute[] =
	"title: Many failed\nname: many_failed\ncorrelation:\n  type: event_count\n"
	"  rules: [failed_login]\n  group-by: [user.name]\n  timespan: 5m\n  condition: {gte: 5}\n---\n"
	"title: Brute force success\nname: brute_success\nlevel: high\ncorrelation:\n"
	"  type: temporal_ordered\n  rules: [many_failed, successful_login]\n  group-by: [user.name]\n"
	"  timespan: 10m\n";

static void test_brute(void)
{
	TAP_OK(setup(brute, 0), "brute: rules load");
	TAP_OK(corr_count(cs) == 2, "brute: two correlations");
	TAP_OK(corr_wants(cs, rule_of("failed_login")) && corr_wants(cs, rule_of("successful_login")) &&
		       corr_wants(cs, rule_of("many_failed")) && !corr_wants(cs, rule_of("rule_a")),
	       "brute: corr_wants");
	for (int i = 0; i < 4; i++)
		feed("failed_login", T0 + i * 30 * SEC, "user.name=alice", "source.ip=10.0.0.9", NULL);
	feed("failed_login", T0, "user.name=bob", NULL);
	TAP_OK(nres == 0, "brute: 4 failures: nothing (%zu)", nres);
	feed("failed_login", T0 + 2 * MIN, "user.name=alice", NULL);
	const got *g = last_of("many_failed");
	TAP_OK(nres == 1 && g && g->count == 5 && strcmp(g->group, "user.name=alice") == 0 &&
		       g->first_ts == T0 && g->last_ts == T0 + 2 * MIN,
	       "brute: 5th failure: one event_count result (count %llu, %s)",
	       g ? (unsigned long long)g->count : 0ull, g ? g->group : "-");
	feed("failed_login", T0 + 3 * MIN, "user.name=alice", NULL);
	TAP_OK(count_of("many_failed") == 1, "brute: 6th failure: no second result (group reset)");
	feed("successful_login", T0 + 4 * MIN, "user.name=bob", NULL);
	TAP_OK(count_of("brute_success") == 0, "brute: success of another user: nothing");
	feed("successful_login", T0 + 4 * MIN, "user.name=alice", NULL);
	g = last_of("brute_success");
	TAP_OK(count_of("brute_success") == 1 && g && g->count == 2 &&
		       strcmp(g->group, "user.name=alice") == 0 && g->first_ts == T0 + 2 * MIN,
	       "brute: success after the failures: temporal_ordered result (%s)", g ? g->group : "-");
	for (int i = 0; i < 3; i++)
		feed("failed_login", T0 + (5 + i) * MIN, "user.name=alice", NULL);
	TAP_OK(count_of("many_failed") == 1, "brute: 4 more (with the 6th): nothing yet");
	feed("failed_login", T0 + 8 * MIN, "user.name=alice", NULL);
	TAP_OK(count_of("many_failed") == 2, "brute: 5 more failures after a result: a second result");
	corr_stats st;
	corr_get_stats(cs, &st);
	TAP_OK(st.fed == 13 && st.results == nres && st.bytes <= st.bytes_peak && st.groups >= 1,
	       "brute: stats fed %llu results %llu groups %zu", (unsigned long long)st.fed,
	       (unsigned long long)st.results, st.groups);
}

/* A success before the failures does not complete the ordered chain. */
static void test_brute_order(void)
{
	TAP_OK(setup(brute, 0), "brute order: load");
	feed("successful_login", T0, "user.name=carol", NULL);
	for (int i = 1; i <= 5; i++)
		feed("failed_login", T0 + i * SEC, "user.name=carol", NULL);
	TAP_OK(count_of("many_failed") == 1 && count_of("brute_success") == 0,
	       "brute order: success then failures: event_count only");
}

/* ---- password spraying --------------------------------------------------------------- */
static void test_spray(void)
{
	static const char spray[] =
		"title: Spray\nname: spray\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n"
		"  group-by: [source.ip]\n  timespan: 10m\n  condition: {field: user.name, gte: 4}\n";
	TAP_OK(setup(spray, 0), "spray: load");
	const char *users[] = {"u1", "u2", "u2", "u1", "u3", "u3"};
	char kv[64];
	for (int i = 0; i < 6; i++) {
		snprintf(kv, sizeof kv, "user.name=%s", users[i]);
		feed("failed_login", T0 + i * SEC, "source.ip=192.0.2.7", kv, NULL);
	}
	feed("failed_login", T0 + 7 * SEC, "source.ip=192.0.2.8", "user.name=u4", NULL);
	TAP_OK(nres == 0, "spray: 3 distinct users from one address: nothing");
	feed("failed_login", T0 + 8 * SEC, "source.ip=192.0.2.7", NULL);
	corr_stats st;
	corr_get_stats(cs, &st);
	TAP_OK(nres == 0 && st.ungrouped == 1, "spray: a failure without user.name is not a value");
	feed("failed_login", T0 + 9 * SEC, "source.ip=192.0.2.7", "user.name=u4", NULL);
	const got *g = last_of("spray");
	TAP_OK(nres == 1 && g && g->count == 4 && g->value == 4 && strcmp(g->group, "source.ip=192.0.2.7") == 0,
	       "spray: 4th distinct user: one result (%s)", g ? g->group : "-");
	/* the old users expire: 10 minutes later only new ones count */
	feed("failed_login", T0 + 11 * MIN, "source.ip=192.0.2.8", "user.name=u1", NULL);
	feed("failed_login", T0 + 11 * MIN, "source.ip=192.0.2.8", "user.name=u2", NULL);
	feed("failed_login", T0 + 11 * MIN, "source.ip=192.0.2.8", "user.name=u3", NULL);
	TAP_OK(nres == 1, "spray: u4 from .8 expired: 3 distinct only");
}

/* ---- ordered and unordered chains ------------------------------------------------------- */
static const char chains[] =
	"title: ABC ordered\nname: abc_ordered\ncorrelation:\n  type: temporal_ordered\n"
	"  rules: [rule_a, rule_b, rule_c]\n  group-by: [host]\n  timespan: 5m\n---\n"
	"title: ABC any order\nname: abc_any\ncorrelation:\n  type: temporal\n"
	"  rules: [rule_a, rule_b, rule_c]\n  group-by: [host]\n  timespan: 5m\n";

static void test_chains(void)
{
	TAP_OK(setup(chains, 0), "chains: load");
	feed("rule_a", T0, "host=h1", NULL);
	feed("rule_b", T0 + SEC, "host=h1", NULL);
	TAP_OK(nres == 0, "chains: A B: nothing yet");
	feed("rule_c", T0 + 2 * SEC, "host=h1", NULL);
	const got *g = last_of("abc_ordered");
	TAP_OK(count_of("abc_ordered") == 1 && count_of("abc_any") == 1 && g && g->count == 3 &&
		       g->first_ts == T0 && g->last_ts == T0 + 2 * SEC,
	       "chains: A B C: ordered and unordered results");
	feed("rule_c", T0 + 3 * SEC, "host=h2", NULL);
	feed("rule_b", T0 + 4 * SEC, "host=h2", NULL);
	feed("rule_a", T0 + 5 * SEC, "host=h2", NULL);
	TAP_OK(count_of("abc_ordered") == 1 && count_of("abc_any") == 2, "chains: C B A: unordered only");
	feed("rule_a", T0 + 6 * SEC, "host=h3", NULL);
	feed("rule_c", T0 + 7 * SEC, "host=h3", NULL);
	feed("rule_b", T0 + 8 * SEC, "host=h3", NULL);
	TAP_OK(count_of("abc_ordered") == 1 && count_of("abc_any") == 3, "chains: A C B: not ordered");
	feed("rule_c", T0 + 9 * SEC, "host=h3", NULL);
	TAP_OK(count_of("abc_ordered") == 2, "chains: A C B C: A B C in order within it");
	/* the chain must fit in the timespan */
	feed("rule_a", T0, "host=h4", NULL);
	feed("rule_b", T0 + 4 * MIN, "host=h4", NULL);
	feed("rule_c", T0 + 5 * MIN + SEC, "host=h4", NULL);
	TAP_OK(count_of("abc_ordered") == 2 && count_of("abc_any") == 3, "chains: A..C over 5m: nothing");
	feed("rule_a", T0 + 5 * MIN + 2 * SEC, "host=h4", NULL);
	feed("rule_c", T0 + 5 * MIN + 3 * SEC, "host=h4", NULL);
	TAP_OK(count_of("abc_ordered") == 2 && count_of("abc_any") == 4,
	       "chains: B, A, C within 5m: unordered only (A after B)");
	feed("rule_b", T0 + 6 * MIN, "host=h5", NULL);
	feed("rule_a", T0 + 6 * MIN + SEC, "host=h5", NULL);
	feed("rule_b", T0 + 6 * MIN + 2 * SEC, "host=h5", NULL);
	feed("rule_c", T0 + 6 * MIN + 3 * SEC, "host=h5", NULL);
	TAP_OK(count_of("abc_ordered") == 3, "chains: B A B C: ordered (the second B)");
}

/* temporal with a condition: any 2 of the 3 rules */
static void test_temporal_cond(void)
{
	static const char two_of[] =
		"title: Two of ABC\nname: two_of\ncorrelation:\n  type: temporal\n"
		"  rules: [rule_a, rule_b, rule_c]\n  group-by: [host]\n  timespan: 5m\n  condition: {gte: 2}\n";
	TAP_OK(setup(two_of, 0), "temporal gte 2: load");
	feed("rule_c", T0, "host=q", NULL);
	feed("rule_c", T0 + SEC, "host=q", NULL);
	TAP_OK(nres == 0, "temporal gte 2: one rule twice: nothing");
	feed("rule_a", T0 + 2 * SEC, "host=q", NULL);
	const got *g = last_of("two_of");
	TAP_OK(nres == 1 && g && g->count == 2 && g->first_ts == T0 + SEC, "temporal gte 2: C and A: result");
}

/* ---- window edges ------------------------------------------------------------------------ */
static void test_edges(void)
{
	static const char two[] =
		"title: Two\nname: two\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n"
		"  group-by: [host]\n  timespan: 5m\n  condition: {gte: 2}\n---\n"
		"title: AB\nname: ab\ncorrelation:\n  type: temporal_ordered\n  rules: [rule_a, rule_b]\n"
		"  group-by: [host]\n  timespan: 1m\n";
	TAP_OK(setup(two, 0), "edges: load");
	feed("rule_a", T0, "host=e1", NULL);
	feed("rule_a", T0 + 5 * MIN, "host=e1", NULL);
	TAP_OK(count_of("two") == 1, "edges: second event exactly at timespan: counted");
	feed("rule_a", T0, "host=e2", NULL);
	feed("rule_a", T0 + 5 * MIN + 1, "host=e2", NULL);
	TAP_OK(count_of("two") == 1, "edges: one ns over the timespan: not counted");
	feed("rule_a", T0 + 10 * MIN, "host=e3", NULL);
	feed("rule_b", T0 + 11 * MIN, "host=e3", NULL);
	feed("rule_a", T0 + 20 * MIN, "host=e4", NULL);
	feed("rule_b", T0 + 21 * MIN + 1, "host=e4", NULL);
	TAP_OK(count_of("ab") == 1, "edges: ordered pair at exactly 1m fires, 1m + 1ns does not");
}

/* ---- value_sum, value_avg, value_percentile ----------------------------------------------- */
static void test_values(void)
{
	static const char vals[] =
		"title: Exfil\nname: exfil\ncorrelation:\n  type: value_sum\n  rules: [rule_a]\n"
		"  group-by: [user]\n  timespan: 1h\n  condition: {field: bytes, gt: 1000}\n---\n"
		"title: Avg\nname: avg\ncorrelation:\n  type: value_avg\n  rules: [rule_b]\n"
		"  group-by: [user]\n  timespan: 1h\n  condition: {field: bytes, gt: 500}\n---\n"
		"title: Rare\nname: rare\ncorrelation:\n  type: value_percentile\n  rules: [rule_c]\n"
		"  group-by: [host]\n  timespan: 24h\n  condition: {field: Image, lte: 10}\n";
	TAP_OK(setup(vals, 0), "values: load");
	feed("rule_a", T0, "user=u", "bytes=#400", NULL);
	feed("rule_a", T0 + SEC, "user=u", "bytes=400", NULL);
	feed("rule_a", T0 + 2 * SEC, "user=u", "bytes=lots", NULL);
	TAP_OK(count_of("exfil") == 0, "value_sum: 800: nothing (a non-number is ignored)");
	feed("rule_a", T0 + 3 * SEC, "user=u", "bytes=#300", NULL);
	const got *g = last_of("exfil");
	TAP_OK(g && g->value == 1100 && g->count == 3, "value_sum: 1100 > 1000: result (value %g)",
	       g ? g->value : -1);
	feed("rule_a", T0 + 2 * 3600 * SEC, "user=u", "bytes=#900", NULL);
	feed("rule_a", T0 + 3 * 3600 * SEC + 1, "user=u", "bytes=#900", NULL);
	TAP_OK(count_of("exfil") == 1, "value_sum: 900 and 900 an hour apart: nothing");
	feed("rule_b", T0, "user=v", "bytes=#100", NULL);
	TAP_OK(count_of("avg") == 0, "value_avg: 100: nothing");
	feed("rule_b", T0 + SEC, "user=v", "bytes=#1000", NULL);
	g = last_of("avg");
	TAP_OK(g && g->value == 550 && g->count == 2, "value_avg: mean 550 > 500: result (%g)", g ? g->value : -1);
	for (int i = 0; i < 20; i++)
		feed("rule_c", T0 + i * SEC, "host=w1", "Image=C:\\Windows\\svchost.exe", NULL);
	TAP_OK(count_of("rare") == 0, "value_percentile: a common value: nothing");
	feed("rule_c", T0 + 30 * SEC, "host=w1", "Image=C:\\Temp\\evil.exe", NULL);
	g = last_of("rare");
	TAP_OK(count_of("rare") == 1 && g && g->value > 4.7 && g->value < 4.8 && g->count == 21,
	       "value_percentile: 1 in 21 (4.76%%) <= 10: result (%g)", g ? g->value : -1);
	feed("rule_c", T0 + 31 * SEC, "host=w1", "Image=C:\\Temp\\evil.exe", NULL);
	TAP_OK(count_of("rare") == 1, "value_percentile: the same value again: no second result");
	feed("rule_c", T0 + 32 * SEC, "host=w1", "Image=C:\\Temp\\other.exe", NULL);
	TAP_OK(count_of("rare") == 2, "value_percentile: another rare value: a result");
}

/* ---- aliases --------------------------------------------------------------------------------- */
static void test_aliases(void)
{
	static const char al[] =
		"title: Internal error\nname: internal_error\nlogsource: {product: web}\n"
		"detection: {sel: {http.response.status_code: 500}, condition: sel}\n---\n"
		"title: New connection\nname: new_network_connection\nlogsource: {product: web}\n"
		"detection: {sel: {event.category: network}, condition: sel}\n---\n"
		"title: Error then connection\nname: err_conn\ncorrelation:\n  type: temporal\n"
		"  rules: [internal_error, new_network_connection]\n  group-by: [internal_ip, remote_ip]\n"
		"  timespan: 10s\n  aliases:\n    internal_ip:\n      internal_error: destination.ip\n"
		"      new_network_connection: source.ip\n    remote_ip:\n      internal_error: source.ip\n"
		"      new_network_connection: destination.ip\n";
	TAP_OK(setup(al, 0), "aliases: load");
	feed("internal_error", T0, "source.ip=203.0.113.5", "destination.ip=10.1.1.1", NULL);
	feed("new_network_connection", T0 + SEC, "source.ip=203.0.113.5", "destination.ip=10.1.1.1", NULL);
	TAP_OK(nres == 0, "aliases: same fields, not the aliased ones: nothing");
	feed("new_network_connection", T0 + 2 * SEC, "source.ip=10.1.1.1", "destination.ip=203.0.113.5", NULL);
	const got *g = last_of("err_conn");
	TAP_OK(nres == 1 && g && strcmp(g->group, "internal_ip=10.1.1.1,remote_ip=203.0.113.5") == 0,
	       "aliases: reversed addresses: result (%s)", g ? g->group : "-");
}

/* ---- closing windows: upper bounds and eq ----------------------------------------------- */
static void test_closing(void)
{
	static const char cl[] =
		"title: Few\nname: few\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n"
		"  group-by: [host]\n  timespan: 5m\n  condition: {gt: 1, lte: 3}\n---\n"
		"title: Exactly\nname: exactly\ncorrelation:\n  type: event_count\n  rules: [rule_b]\n"
		"  group-by: [host]\n  timespan: 5m\n  condition: {eq: 2}\n";
	TAP_OK(setup(cl, 0), "closing: load");
	for (int i = 0; i < 2; i++)
		feed("rule_a", T0 + i * SEC, "host=c1", NULL);
	for (int i = 0; i < 5; i++)
		feed("rule_a", T0 + i * SEC, "host=c2", NULL);
	feed("rule_a", T0 + 10 * SEC, "host=c3", NULL);
	TAP_OK(nres == 0, "closing: nothing while the windows are open");
	feed("rule_a", T0 + 6 * MIN, "host=c1", NULL);
	const got *g = last_of("few");
	TAP_OK(nres == 1 && g && g->count == 2 && strcmp(g->group, "host=c1") == 0 && g->last_ts == T0 + SEC,
	       "closing: c1's window closed by its next event: 2 in (1, 3] (%s)", g ? g->group : "-");
	feed("rule_b", T0, "host=d1", NULL);
	feed("rule_b", T0 + SEC, "host=d1", NULL);
	feed("rule_b", T0, "host=d2", NULL);
	TAP_OK(corr_flush(cs, on_result, NULL) == 0, "closing: flush");
	TAP_OK(count_of("few") == 1 && count_of("exactly") == 1 && strcmp(last_of("exactly")->group, "host=d1") == 0,
	       "closing: flush judges the open windows: eq 2 for d1 only, c2 (5) and c3 (1) not");
	corr_stats st;
	corr_get_stats(cs, &st);
	TAP_OK(st.groups == 0, "closing: the state is empty after flush");
	/* idle groups are swept (and judged) while other matches are fed */
	feed("rule_b", T0, "host=s1", NULL);
	feed("rule_b", T0 + SEC, "host=s1", NULL);
	feed("rule_b", T0 + 20 * MIN, "host=s2", NULL);
	corr_get_stats(cs, &st);
	TAP_OK(count_of("exactly") == 2 && st.expired >= 1, "closing: an idle window is judged when swept");
}

/* ---- correlation of a correlation with a closing inner ------------------------------ */
static void test_chain_of_chains(void)
{
	static const char cc[] =
		"title: Burst\nname: burst\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n"
		"  group-by: [host, user]\n  timespan: 1m\n  condition: {gte: 2}\n---\n"
		"title: Bursts\nname: bursts\ncorrelation:\n  type: event_count\n  rules: [burst]\n"
		"  group-by: [host]\n  timespan: 1h\n  condition: {gte: 3}\n---\n"
		"title: Bursts then C\nname: bursts_c\ncorrelation:\n  type: temporal_ordered\n"
		"  rules: [bursts, rule_c]\n  group-by: [host]\n  timespan: 1h\n";
	TAP_OK(setup(cc, 0), "chain of chains: load");
	const char *users[] = {"user=x", "user=y", "user=z"};
	for (int u = 0; u < 3; u++)
		for (int i = 0; i < 2; i++)
			feed("rule_a", T0 + u * MIN + i * SEC, "host=k", users[u], NULL);
	const got *g = last_of("bursts");
	TAP_OK(count_of("burst") == 3 && count_of("bursts") == 1 && g && strcmp(g->group, "host=k") == 0,
	       "chain of chains: three bursts by three users: one result of the outer (%s)", g ? g->group : "-");
	feed("rule_c", T0 + 10 * MIN, "host=k", NULL);
	TAP_OK(count_of("bursts_c") == 1, "chain of chains: three levels");
}

/* ---- out of order and untimed ------------------------------------------------------------------ */
static void test_time(void)
{
	static const char three[] =
		"title: Three\nname: three\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n"
		"  group-by: [host]\n  timespan: 5m\n  condition: {gte: 3}\n";
	TAP_OK(setup(three, 0), "time: load");
	feed("rule_a", T0, "host=t1", NULL);
	feed("rule_a", CORE_TS_NONE, "host=t1", NULL);
	feed("rule_a", CORE_TS_NONE, "host=t1", NULL);
	const got *g = last_of("three");
	TAP_OK(nres == 1 && g && g->last_ts == T0, "time: events without time take the latest time seen");
	feed("rule_a", T0 + 10 * MIN, "host=t2", NULL);
	feed("rule_a", T0, "host=t2", NULL);
	feed("rule_a", T0 + SEC, "host=t2", NULL);
	corr_stats st;
	corr_get_stats(cs, &st);
	TAP_OK(nres == 1 && st.late == 2, "time: events older than the window are late (%llu)",
	       (unsigned long long)st.late);
	feed("rule_a", T0 + 10 * MIN - SEC, "host=t2", NULL);
	feed("rule_a", T0 + 8 * MIN, "host=t2", NULL);
	g = last_of("three");
	TAP_OK(nres == 2 && g && g->first_ts == T0 + 8 * MIN && g->last_ts == T0 + 10 * MIN,
	       "time: out of order inside the window: counted, first/last by time");
	/* numbers as group values */
	feed("rule_a", T0 + 20 * MIN, "host=%0.1", NULL);
	feed("rule_a", T0 + 20 * MIN, "host=%0.1", NULL);
	feed("rule_a", T0 + 20 * MIN, "host=#-7", NULL);
	feed("rule_a", T0 + 20 * MIN, "host=-7", NULL);
	feed("rule_a", T0 + 20 * MIN, "host=%0.1", NULL);
	feed("rule_a", T0 + 20 * MIN, "host=#-7", NULL);
	TAP_OK(nres == 4 && strcmp(res[2].group, "host=0.1") == 0 && strcmp(res[3].group, "host=-7") == 0,
	       "time: floats and integers group by their text (0.1, and -7 as integer or string)");
	nres = 2;
	/* no group-by field: not grouped */
	feed("rule_a", T0, "other=1", NULL);
	corr_get_stats(cs, &st);
	TAP_OK(st.ungrouped == 1 && nres == 2, "time: missing group-by field: ungrouped");
}

/* ---- memory bound ---------------------------------------------------------------------------- */
static void test_bound(void)
{
	static const char many[] =
		"title: Many\nname: many\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n"
		"  group-by: [user]\n  timespan: 1h\n  condition: {gte: 1000000}\n---\n"
		"title: Distinct\nname: distinct\ncorrelation:\n  type: value_count\n  rules: [rule_b]\n"
		"  group-by: [host]\n  timespan: 1h\n  condition: {field: user, gte: 1000000}\n";
	TAP_OK(setup(many, 8192), "bound: load with max_bytes 8 KiB");
	char kv[64];
	corr_stats st;
	bool ok = true;
	for (int i = 0; i < 2000; i++) {
		snprintf(kv, sizeof kv, "user=user%d", i);
		ok = ok && feed("rule_a", T0 + i * SEC / 10, kv, NULL) == 0;
	}
	corr_get_stats(cs, &st);
	TAP_OK(ok && st.evictions > 1500 && st.bytes <= 8192 && st.bytes_peak <= 8192 && st.groups < 100,
	       "bound: 2000 groups under 8 KiB: evictions %llu, groups %zu, peak %zu",
	       (unsigned long long)st.evictions, st.groups, st.bytes_peak);
	for (int i = 0; i < 5000; i++)
		ok = ok && feed("rule_a", T0 + 300 * SEC + i, "user=one", NULL) == 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(kv, sizeof kv, "user=u%d", i);
		ok = ok && feed("rule_b", T0 + 300 * SEC + i, "host=h", kv, NULL) == 0;
	}
	corr_get_stats(cs, &st);
	TAP_OK(ok && st.dropped > 0 && st.bytes <= 8192 && nres == 0,
	       "bound: one big window under 8 KiB: oldest entries dropped (%llu), no result",
	       (unsigned long long)st.dropped);
	TAP_OK(corr_flush(cs, on_result, NULL) == 0, "bound: flush");
}

/* ---- random matches under small bounds: every type, chained ------------------ */
static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static void test_random(size_t max_bytes)
{
	static const char all[] =
		"title: EC\nname: ec\ncorrelation:\n  type: event_count\n  rules: [rule_a, rule_b]\n"
		"  group-by: [host]\n  timespan: 1m\n  condition: {gte: 3}\n---\n"
		"title: VC\nname: vc\ncorrelation:\n  type: value_count\n  rules: [rule_a]\n"
		"  group-by: [host]\n  timespan: 2m\n  condition: {field: user, gte: 4}\n---\n"
		"title: VCR\nname: vcr\ncorrelation:\n  type: value_count\n  rules: [rule_b]\n"
		"  group-by: [user]\n  timespan: 1m\n  condition: {field: host, gt: 1, lt: 4}\n---\n"
		"title: T\nname: t\ncorrelation:\n  type: temporal\n  rules: [rule_a, rule_b, rule_c]\n"
		"  group-by: [host]\n  timespan: 30s\n---\n"
		"title: TO\nname: to\ncorrelation:\n  type: temporal_ordered\n  rules: [ec, rule_c, vc]\n"
		"  group-by: [host]\n  timespan: 5m\n---\n"
		"title: S\nname: s\ncorrelation:\n  type: value_sum\n  rules: [rule_c]\n"
		"  group-by: [host, user]\n  timespan: 1m\n  condition: {field: bytes, gte: 5000}\n---\n"
		"title: AV\nname: av\ncorrelation:\n  type: value_avg\n  rules: [rule_c]\n"
		"  group-by: [user]\n  timespan: 1m\n  condition: {field: bytes, lte: 100}\n---\n"
		"title: P\nname: p\ncorrelation:\n  type: value_percentile\n  rules: [rule_a, rule_b]\n"
		"  group-by: [host]\n  timespan: 10m\n  condition: {field: user, lte: 10}\n---\n"
		"title: Outer\nname: outer\ncorrelation:\n  type: event_count\n  rules: [to, t, ec, s]\n"
		"  timespan: 1h\n  condition: {gte: 2, lte: 1000000}\n";
	static const char *const rules_abc[] = {"rule_a", "rule_b", "rule_c"};
	TAP_OK(setup(all, max_bytes), "random (max_bytes %zu): load", max_bytes);
	rng = 88172645463325252ull;
	corr_stats st;
	bool ok = true, bounded = true;
	int64_t t = T0;
	for (int i = 0; i < 30000 && ok; i++) {
		char host[32], user[32], bytes[32];
		t += (int64_t)rnd(2 * SEC);
		int64_t ts = t;
		uint64_t r = rnd(100);
		if (r < 3)
			ts = CORE_TS_NONE;
		else if (r < 8)
			ts = t - (int64_t)rnd(10 * MIN);
		snprintf(host, sizeof host, "host=h%llu", (unsigned long long)rnd(40));
		snprintf(user, sizeof user, "user=u%llu", (unsigned long long)rnd(300));
		snprintf(bytes, sizeof bytes, "bytes=#%llu", (unsigned long long)rnd(3000));
		const char *rule = rules_abc[rnd(3)], *u = rnd(50) ? user : "x=1";
		ok = feed(rule, ts, host, u, bytes, NULL) == 0;
		corr_get_stats(cs, &st);
		bounded = bounded && st.bytes <= max_bytes;
	}
	TAP_OK(ok && bounded, "random (max_bytes %zu): 30000 matches, bytes within the bound", max_bytes);
	TAP_OK(corr_flush(cs, on_result, NULL) == 0, "random (max_bytes %zu): flush", max_bytes);
	corr_get_stats(cs, &st);
	printf("# results %llu evictions %llu expired %llu late %llu ungrouped %llu dropped %llu peak %zu\n",
	       (unsigned long long)st.results, (unsigned long long)st.evictions,
	       (unsigned long long)st.expired, (unsigned long long)st.late,
	       (unsigned long long)st.ungrouped, (unsigned long long)st.dropped, st.bytes_peak);
	printf("# per correlation: ec %zu vc %zu vcr %zu t %zu to %zu s %zu av %zu p %zu outer %zu\n",
	       count_of("ec"), count_of("vc"), count_of("vcr"), count_of("t"), count_of("to"),
	       count_of("s"), count_of("av"), count_of("p"), count_of("outer"));
	bool levels = max_bytes < 65536 || (count_of("to") > 0 && count_of("p") > 0);
	TAP_OK(st.results > 0 && levels && count_of("outer") > 0 && st.groups == 0,
	       "random (max_bytes %zu): results at every level (%llu, outer %zu)", max_bytes,
	       (unsigned long long)st.results, count_of("outer"));
}

/* past 65,536 distinct values a group only counts new ones */
static void test_distinct_cap(void)
{
	static const char vc[] =
		"title: Wide\nname: wide\ncorrelation:\n  type: value_count\n  rules: [rule_a]\n"
		"  timespan: 1h\n  condition: {field: user, gte: 70000}\n";
	TAP_OK(setup(vc, 0), "distinct cap: load");
	char kv[64];
	for (int i = 0; i < 69999; i++) {
		snprintf(kv, sizeof kv, "user=v%d", i);
		feed("rule_a", T0 + i, kv, NULL);
	}
	feed("rule_a", T0 + 70000, "user=v1", NULL);
	TAP_OK(nres == 0, "distinct cap: 69,999 distinct values (and a repeat): nothing");
	feed("rule_a", T0 + 70001, "user=v70000", NULL);
	const got *g = last_of("wide");
	corr_stats st;
	corr_get_stats(cs, &st);
	TAP_OK(nres == 1 && g && g->count == 70000 && strcmp(g->group, "") == 0 && st.groups == 0,
	       "distinct cap: the 70,000th distinct value fires (count %llu, no group-by)",
	       g ? (unsigned long long)g->count : 0ull);
}

/* ---- emit stops a feed ------------------------------------------------------------------------ */
static void test_stop(void)
{
	TAP_OK(setup(brute, 0), "stop: load");
	stop_after = 1;
	int rc = 0;
	for (int i = 0; i < 5 && rc == 0; i++)
		rc = feed("failed_login", T0 + i * SEC, "user.name=dave", NULL);
	TAP_OK(rc == 42 && nres == 1, "stop: emit's non-zero return is returned (%d)", rc);
	TAP_OK(corr_feed(NULL, 0, NULL, NULL, NULL, NULL, NULL) == CORE_EINVAL, "stop: NULL state");
}

int main(void)
{
	arena = core_arena_new(4096, 0);
	if (!arena)
		return 1;
	test_brute();
	test_brute_order();
	test_spray();
	test_chains();
	test_temporal_cond();
	test_edges();
	test_values();
	test_aliases();
	test_closing();
	test_chain_of_chains();
	test_time();
	test_bound();
	test_distinct_cap();
	test_random(1u << 20);
	test_random(16384);
	test_stop();
	corr_free(cs);
	rules_set_free(set);
	core_arena_free(arena);
	return tap_done();
}
