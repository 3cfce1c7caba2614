/* fuzz_engine.c: libFuzzer target for the detection engine and the
 * correlation state. The input is a YAML rule stream, a line "#EVENTS", then
 * JSON events (one per line). The rules are loaded and linked, an engine is
 * built over a logsource map that routes every JSON event to `product: test`
 * (both with and without the prefilter), and every event is matched by both;
 * the results must agree (the prefilter may never change a result), and the
 * matches feed the correlations. Covers the gate builder (literal and regex
 * literal extraction), the literal databases, the exact comparisons, the
 * filters and corr. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "corr/corr.h"
#include "engine/engine.h"
#include "parse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ls_text[] = "sources:\n  test:\n    product: test\n    format: json\n";

typedef struct fz {
	const engine *fast, *slow;
	engine_scratch *sf, *ss;
	corr_state *corr;
} fz;

static const core_field *lookup(void *ud, const core_event *ev, const char *field)
{
	fz *z = ud;
	return engine_field(z->fast, z->sf, ev, field);
}

static int emit(void *ud, const corr_result *r)
{
	(void)ud;
	return r->ngroup > 64 ? 1 : 0;
}

static int on_batch(void *ud, core_event *ev, size_t n)
{
	fz *z = ud;
	for (size_t i = 0; i < n; i++) {
		const uint32_t *a, *b;
		int na = engine_match(z->fast, z->sf, &ev[i], &a);
		int nb = engine_match(z->slow, z->ss, &ev[i], &b);
		if (na != nb || (na > 0 && memcmp(a, b, (size_t)na * sizeof *a) != 0))
			__builtin_trap(); /* the prefilter changed a result */
		for (int k = 0; k < na; k++)
			if (corr_wants(z->corr, a[k]))
				corr_feed(z->corr, a[k], &ev[i], lookup, z, emit, NULL);
	}
	return 0;
}

static void on_error(void *ud, const core_err *e)
{
	(void)ud, (void)e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *sep = memmem(data, size, "\n#EVENTS\n", 9);
	size_t rlen = sep ? (size_t)(sep - text) : size;
	rules_set *set = rules_set_new(NULL);
	rules_ls_map *ls = rules_ls_new();
	engine *fast = NULL, *slow = NULL;
	engine_options so = {.no_prefilter = true, .no_hyperscan_re = true};
	fz z = {0};
	core_err err;

	if (!set || !ls)
		goto out;
	rules_load_string(set, text, rlen, "fuzz.yml");
	rules_set_link(set);
	if (rules_ls_add_string(ls, ls_text, sizeof ls_text - 1, "fuzz-ls.yml", &err) ||
	    rules_ls_compile(ls, &err))
		goto out;
	if (engine_build(set, ls, NULL, &fast, &err) || engine_build(set, ls, &so, &slow, &err))
		goto out;
	z = (fz){.fast = fast, .slow = slow, .sf = engine_scratch_new(fast), .ss = engine_scratch_new(slow),
		 .corr = corr_new(set, &(corr_options){.max_bytes = 1 << 20})};
	if (!z.sf || !z.ss || !z.corr || !sep)
		goto out;
	parse_options o = {.format = "json", .ref_time = 1780272000LL * 1000000000LL, .on_batch = on_batch,
			   .on_error = on_error, .ud = &z};
	parse_stream *ps = parse_stream_new(&o, &err);
	if (ps) {
		parse_stream_feed(ps, sep + 9, size - rlen - 9);
		parse_stream_finish(ps);
		corr_flush(z.corr, emit, NULL);
		parse_stream_free(ps);
	}
out:
	corr_free(z.corr);
	engine_scratch_free(z.sf);
	engine_scratch_free(z.ss);
	engine_free(fast);
	engine_free(slow);
	rules_ls_free(ls);
	rules_set_free(set);
	return 0;
}
