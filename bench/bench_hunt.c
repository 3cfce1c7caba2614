/* bench_hunt.c: detection throughput on one core. Loads rules (every --rules
 * path), the logsource map (data/logsources.yml unless --logsources), builds
 * the engine, reads the input whole (decompressed) into memory, then parses
 * it and matches every event, with per-stage times (parse, route, scan,
 * confirm). Prints load and build time, events/s, candidates per event and
 * peak RSS; --counts prints matches per rule (sorted by rule index).
 *   bench_hunt [--rules PATH]... [--logsources FILE] [--no-prefilter]
 *              [--repeat N] [--counts] [--pcre] FILE
 * --pcre: every regular expression with PCRE2-JIT (to compare). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "engine/engine.h"
#include "io/io.h"
#include "parse/parse.h"
#include "slurp.h"

typedef struct run {
	const engine *e;
	engine_scratch *s;
	uint64_t *counts;
	uint64_t match_ns;
	bool timing;
} run;

static int on_batch(void *ud, core_event *ev, size_t n)
{
	run *r = ud;
	int64_t t0 = r->timing ? core_time_now() : 0;
	for (size_t i = 0; i < n; i++) {
		const uint32_t *rules;
		if (!ev[i].index)
			core_event_index(&ev[i]);
		int k = engine_match(r->e, r->s, &ev[i], &rules);
		for (int j = 0; j < k; j++)
			r->counts[rules[j]]++;
	}
	if (r->timing)
		r->match_ns += (uint64_t)(core_time_now() - t0);
	return 0;
}

static void on_error(void *ud, const core_err *e)
{
	(void)ud;
	fprintf(stderr, "bench_hunt: offset %zu: %s\n", e->offset, e->msg);
}


static double secs_since(int64_t t0)
{
	return (double)(core_time_now() - t0) / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
					     {"logsources", required_argument, NULL, 'l'},
					     {"no-prefilter", no_argument, NULL, 'n'},
					     {"repeat", required_argument, NULL, 'R'},
					     {"counts", no_argument, NULL, 'c'},
					     {"pcre", no_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	const char *rules[64], *lsfile = "data/logsources.yml";
	size_t nrules = 0;
	int repeat = 1, c;
	bool counts = false;
	engine_options eo = {0};

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r' && nrules < 64)
			rules[nrules++] = optarg;
		else if (c == 'l')
			lsfile = optarg;
		else if (c == 'n')
			eo.no_prefilter = true;
		else if (c == 'R')
			repeat = (int)strtol(optarg, NULL, 10);
		else if (c == 'c')
			counts = true;
		else if (c == 'p')
			eo.no_hyperscan_re = true;
		else
			return 2;
	}
	if (optind != argc - 1 || repeat < 1) {
		fprintf(stderr, "usage: bench_hunt [--rules PATH]... [--logsources FILE] [--no-prefilter] "
				"[--repeat N] [--counts] FILE\n");
		return 2;
	}
	core_err err;
	int64_t t0 = core_time_now();
	rules_set *set = rules_set_new(NULL);
	for (size_t i = 0; set && i < nrules; i++)
		rules_load_path(set, rules[i]);
	if (!set)
		return 1;
	rules_set_link(set);
	double t_load = secs_since(t0);
	rules_ls_map *ls = NULL;
	if (rules_ls_load(&lsfile, 1, &ls, &err)) {
		fprintf(stderr, "bench_hunt: %s\n", err.msg);
		return 1;
	}
	t0 = core_time_now();
	engine *e = NULL;
	if (engine_build(set, ls, &eo, &e, &err)) {
		fprintf(stderr, "bench_hunt: %s\n", err.msg);
		return 1;
	}
	double t_build = secs_since(t0);
	engine_info info;
	engine_get_info(e, &info);
	printf("rules: %zu loaded, %zu failed to load; load %.3f s, engine build %.3f s\n", set->nloaded[0],
	       set->nfailed, t_load, t_build);
	printf("engine: %zu rules, %zu unrouted, %zu failed, %zu instances (%zu gated, %zu always), "
	       "%zu literals, regex %zu vectorscan + %zu pcre2, %zu filters\n",
	       info.rules, info.unrouted, info.failed, info.instances, info.gated, info.always, info.literals,
	       info.re_hs, info.re_pcre, info.filters);
	size_t len = 0;
	char *data = bench_slurp("bench_hunt", argv[optind], &len);
	if (!data)
		return 1;
	run r = {.e = e, .s = engine_scratch_new(e), .counts = calloc(set->nrules + 1, sizeof(uint64_t))};
	if (!r.s || !r.counts)
		return 1;
	double best = 1e30, best_parse = 0;
	parse_stats st = {0};
	engine_stats es = {0};
	for (int k = 0; k < repeat + 1; k++) {
		/* the last pass measures stage times (clock reads cost a little) */
		r.timing = k == repeat;
		engine_scratch_timing(r.s, r.timing);
		memset(r.counts, 0, (set->nrules + 1) * sizeof *r.counts);
		engine_stats before;
		engine_scratch_stats(r.s, &before);
		r.match_ns = 0;
		parse_options o = {.format = "auto", .ref_time = 1780272000LL * 1000000000LL,
				   .on_batch = on_batch, .on_error = on_error, .ud = &r};
		parse_stream *ps = parse_stream_new(&o, &err);
		if (!ps)
			return 2;
		t0 = core_time_now();
		parse_stream_feed(ps, data, len);
		parse_stream_finish(ps);
		double secs = secs_since(t0);
		parse_stream_stats(ps, &st);
		parse_stream_free(ps);
		if (!r.timing && secs < best)
			best = secs;
		if (r.timing) {
			engine_scratch_stats(r.s, &es);
			es.events -= before.events, es.routed -= before.routed, es.scans -= before.scans;
			es.scan_bytes -= before.scan_bytes, es.candidates -= before.candidates;
			es.matches -= before.matches, es.ns_route -= before.ns_route;
			es.ns_scan -= before.ns_scan, es.ns_confirm -= before.ns_confirm;
			best_parse = secs - (double)r.match_ns / 1e9;
		}
	}
	double ev = st.events ? (double)st.events : 1;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("input %s: %zu bytes, %llu events, %llu errors\n", argv[optind], len,
	       (unsigned long long)st.events, (unsigned long long)st.errors);
	printf("best of %d: %.3f s, %.0f events/s, %.1f MB/s; %llu matches\n", repeat, best,
	       (double)st.events / best, (double)len / best / 1e6, (unsigned long long)es.matches);
	printf("per event (timed pass): parse %.0f ns, route %.0f ns, scan %.0f ns, confirm %.0f ns; "
	       "%.2f candidates, %.0f bytes scanned\n",
	       best_parse * 1e9 / ev, (double)es.ns_route / ev, (double)es.ns_scan / ev,
	       (double)es.ns_confirm / ev, (double)es.candidates / ev, (double)es.scan_bytes / ev);
	printf("peak RSS %ld MiB (input held in memory: %zu MiB)\n", ru.ru_maxrss / 1024, len >> 20);
	if (counts)
		for (size_t i = 0; i < set->nrules; i++)
			if (r.counts[i])
				printf("%llu\t%s\t%s\n", (unsigned long long)r.counts[i],
				       set->rules[i].id ? set->rules[i].id : "-", set->rules[i].title);
	engine_scratch_free(r.s);
	engine_free(e);
	rules_ls_free(ls);
	rules_set_free(set);
	free(r.counts);
	free(data);
	return 0;
}
