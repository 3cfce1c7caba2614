/* test_engine.c: the prefilter never changes what matches. Builds two engines
 * from the whole SigmaHQ corpus in ../shared/data (rules, emerging threats,
 * threat hunting) and the shipped logsource map, one with the prefilter and
 * one that evaluates every routed rule exactly, then matches the same events
 * with both: every SigmaHQ regression JSON and the first events of the
 * OTRF bench-200k file. The match lists must be identical event by event, and
 * the regression events must produce matches at all (so that the comparison
 * is not between two empty results). Also checks engine facts a user relies
 * on: every rule compiles, Vectorscan takes most regular expressions. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "engine/engine.h"
#include "io/io.h"
#include "parse/parse.h"

#define DEFAULT_FILE "../data/logsources.yml"
#define BENCH_EVENTS 3000u

typedef struct cmp {
	const engine *fast, *slow;
	engine_scratch *sf, *ss;
	uint64_t events, matches, diffs, limit;
	const char *name;
} cmp;

static int on_batch(void *ud, core_event *ev, size_t n)
{
	cmp *c = ud;
	for (size_t i = 0; i < n && c->events < c->limit; i++) {
		const uint32_t *a, *b;
		int na = engine_match(c->fast, c->sf, &ev[i], &a);
		int nb = engine_match(c->slow, c->ss, &ev[i], &b);
		c->events++;
		if (na < 0 || nb < 0 || na != nb || memcmp(a, b, (size_t)na * sizeof *a) != 0) {
			if (c->diffs++ < 5)
				printf("# %s: event at offset %llu: %d matches with the prefilter, %d without\n",
				       c->name, (unsigned long long)ev[i].offset, na, nb);
			continue;
		}
		c->matches += (uint64_t)na;
	}
	return 0;
}

static void on_error(void *ud, const core_err *e)
{
	(void)ud, (void)e;
}

/* Parses every member of path into fn(ud, ...) until *done reaches limit. */
static void feed_file(const char *path, parse_batch_fn fn, void *ud, const uint64_t *done, uint64_t limit)
{
	core_err err;
	const char *member;
	io_input *in = io_open(path, &err);
	while (in && io_next(in, &member, &err) == 1 && *done < limit) {
		parse_options o = {.on_batch = fn, .on_error = on_error, .ud = ud};
		parse_stream *ps = parse_stream_new(&o, &err);
		char buf[65536];
		ssize_t got;
		while (ps && *done < limit && (got = io_read(in, buf, sizeof buf, &err)) > 0)
			parse_stream_feed(ps, buf, (size_t)got);
		if (ps)
			parse_stream_finish(ps);
		parse_stream_free(ps);
	}
	io_close(in);
}

static void run_file(cmp *c, const char *path, uint64_t limit)
{
	c->name = path;
	c->limit = c->events + limit;
	feed_file(path, on_batch, c, &c->events, c->limit);
}

/* Every *.json under dir (the regression events). */
static void walk(cmp *c, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d || depth > 12) {
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			walk(c, path, depth + 1);
		else if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
			run_file(c, path, 1000);
	}
	closedir(d);
}

/* ---- one engine, several threads ------------------------------------------- */
#define MT_EVENTS 1500u

typedef struct mt {
	const engine *e;
	engine_scratch *s;
	const char *path;
	uint64_t sum, events; /* a checksum of (event number, matched rule) pairs */
} mt;

static int mt_batch(void *ud, core_event *ev, size_t n)
{
	mt *m = ud;
	for (size_t i = 0; i < n && m->events < MT_EVENTS; i++) {
		const uint32_t *r;
		int k = engine_match(m->e, m->s, &ev[i], &r);
		for (int j = 0; j < k; j++)
			m->sum += (m->events + 1) * 2654435761u ^ r[j];
		m->events++;
	}
	return 0;
}

static void *mt_run(void *arg)
{
	mt *m = arg;
	feed_file(m->path, mt_batch, m, &m->events, MT_EVENTS);
	return NULL;
}

/* The same events matched by one thread, then by two threads at once that
 * share the engine: every thread must get the same matches. */
static bool threads_agree(const engine *e, const char *shared)
{
	char path[1024];
	mt one = {.e = e, .path = path}, two[2] = {{.e = e, .path = path}, {.e = e, .path = path}};
	pthread_t th[2];
	bool ok;

	snprintf(path, sizeof path, "%s/otrf/bench-200k.jsonl.gz", shared);
	one.s = engine_scratch_new(e);
	two[0].s = engine_scratch_new(e);
	two[1].s = engine_scratch_new(e);
	if (!one.s || !two[0].s || !two[1].s)
		return false;
	mt_run(&one);
	for (int t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, mt_run, &two[t]);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	ok = one.events == MT_EVENTS && one.sum != 0 && two[0].sum == one.sum && two[1].sum == one.sum &&
	     two[0].events == MT_EVENTS && two[1].events == MT_EVENTS;
	if (!ok)
		printf("# one thread: %llu events, sum %llx; two: %llx, %llx\n", (unsigned long long)one.events,
		       (unsigned long long)one.sum, (unsigned long long)two[0].sum, (unsigned long long)two[1].sum);
	engine_scratch_free(one.s);
	engine_scratch_free(two[0].s);
	engine_scratch_free(two[1].s);
	return ok;
}

int main(void)
{
	const char *shared = getenv("HISN_SHARED");
	char path[3][1024];
	core_err err;
	const char *ls_file = DEFAULT_FILE;
	rules_ls_map *ls = NULL;
	engine *fast = NULL, *slow = NULL;
	engine_options slow_opt = {.no_prefilter = true, .no_hyperscan_re = true};

	if (!shared)
		shared = "../../shared/data";
	rules_set *set = rules_set_new(NULL);
	static const char *const sub[3] = {"rules", "rules-emerging-threats", "rules-threat-hunting"};
	for (int i = 0; i < 3; i++) {
		snprintf(path[i], sizeof path[i], "%s/sigma/rules/%s", shared, sub[i]);
		rules_load_path(set, path[i]);
	}
	rules_set_link(set);
	TAP_OK(set->nloaded[RULES_KIND_RULE] > 3000, "SigmaHQ corpus loaded (%zu rules)",
	       set->nloaded[RULES_KIND_RULE]);
	TAP_OK(rules_ls_load(&ls_file, 1, &ls, &err) == 0, "default logsource map loads");
	if (!ls)
		return tap_done();
	TAP_OK(engine_build(set, ls, NULL, &fast, &err) == 0, "engine with the prefilter builds");
	TAP_OK(engine_build(set, ls, &slow_opt, &slow, &err) == 0,
	       "engine without prefilter (PCRE2 for every regular expression) builds");
	if (!fast || !slow)
		return tap_done();
	engine_info fi, si;
	engine_get_info(fast, &fi);
	engine_get_info(slow, &si);
	TAP_OK(fi.failed == 0 && si.failed == 0, "every rule compiles (%zu, %zu left out)", fi.failed, si.failed);
	TAP_OK(fi.re_hs > fi.re_pcre && fi.re_hs + fi.re_pcre == si.re_pcre,
	       "Vectorscan compiles most regular expressions (%zu of %zu)", fi.re_hs, fi.re_hs + fi.re_pcre);
	TAP_OK(fi.gated > 20 * fi.always, "nearly every rule has a prefilter gate (%zu gated, %zu always)",
	       fi.gated, fi.always);

	cmp c = {.fast = fast, .slow = slow, .sf = engine_scratch_new(fast), .ss = engine_scratch_new(slow)};
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/sigma/regression", shared);
	walk(&c, dir, 0);
	TAP_OK(c.events >= 100 && c.diffs == 0, "regression events: same matches with and without the prefilter "
	       "(%llu events, %llu differ)", (unsigned long long)c.events, (unsigned long long)c.diffs);
	TAP_OK(c.matches >= 100, "regression events match (%llu matches)", (unsigned long long)c.matches);
	uint64_t before = c.events, mbefore = c.matches;
	c.diffs = 0;
	snprintf(dir, sizeof dir, "%s/otrf/bench-200k.jsonl.gz", shared);
	run_file(&c, dir, BENCH_EVENTS);
	TAP_OK(c.events - before == BENCH_EVENTS && c.diffs == 0,
	       "bench-200k: same matches with and without the prefilter (%llu events, %llu matches, %llu differ)",
	       (unsigned long long)(c.events - before), (unsigned long long)(c.matches - mbefore),
	       (unsigned long long)c.diffs);
	engine_stats st;
	engine_scratch_stats(c.sf, &st);
	engine_stats st2;
	engine_scratch_stats(c.ss, &st2);
	TAP_OK(st.candidates * 10 < st2.candidates, "the prefilter evaluates far fewer rules (%llu vs %llu)",
	       (unsigned long long)st.candidates, (unsigned long long)st2.candidates);
	TAP_OK(threads_agree(fast, shared), "two threads sharing the engine (a scratch each) match what one "
	       "thread matches");
	engine_scratch_free(c.sf);
	engine_scratch_free(c.ss);
	engine_free(fast);
	engine_free(slow);
	rules_ls_free(ls);
	rules_set_free(set);
	return tap_done();
}
