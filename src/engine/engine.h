/* engine.h: the compiled Sigma detection engine.
 *
 * engine_build turns a loaded, linked rules_set and a compiled logsource map
 * into an immutable engine: rules grouped by the logsource sources they apply
 * to, field names resolved per source (renames), a literal prefilter per
 * source (Vectorscan) and compiled regular expressions (Vectorscan, or
 * PCRE2-JIT where Vectorscan cannot compile the pattern). The engine is never
 * changed after engine_build, so any number of threads may match with it at
 * once, each with its own engine_scratch. Reloading rules means building a new
 * engine and swapping the pointer once no thread uses the old one.
 *
 * Per event: route (rules_ls_route: which sources the event belongs to), scan
 * (one prefilter pass per source over the fields its rules read: which
 * literals occur where), confirm (only the rules whose required literals
 * occur, plus the few rules that have none, are evaluated with the exact
 * semantics), filter (meta filters of a matching rule, AND NOT).
 *
 * Exact semantics (docs/RULES.md): case-insensitive for ASCII letters unless
 * `cased`; `*` and `?` wildcards; a field whose value is an array matches when
 * one element does; `null` matches an absent or null field; integer values
 * compare with integer fields and with strings that are decimal integers;
 * keyword items search every string and number of the event (contains). */
#ifndef HISN_ENGINE_H
#define HISN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "rules/rules.h"

typedef struct engine engine;
typedef struct engine_scratch engine_scratch;

typedef struct engine_options {
	bool no_prefilter; /* evaluate every routed rule (to test the prefilter) */
	bool no_hyperscan_re; /* regular expressions always with PCRE2 (tests) */
} engine_options;

/* Builds an engine from set (loaded and linked with rules_set_link) and ls
 * (compiled). Both are borrowed and must outlive the engine. opt may be NULL.
 * Rules that cannot be compiled (a regular expression neither Vectorscan nor
 * PCRE2 accepts, say) are left out and counted in engine_info.failed, with
 * their messages available from engine_failure. Returns 0 with *out (owned by
 * the caller, free with engine_free), or a negative code with err. */
int engine_build(const rules_set *set, const rules_ls_map *ls, const engine_options *opt,
		 engine **out, core_err *err);
void engine_free(engine *e);

typedef struct engine_info {
	size_t rules;       /* detection rules compiled (RULES_KIND_RULE) */
	size_t unrouted;    /* rules whose logsource no source of the map gives */
	size_t failed;      /* rules left out (see engine_failure) */
	size_t instances;   /* (rule, field renaming) pairs compiled */
	size_t gated;       /* instances with a prefilter gate */
	size_t always;      /* instances evaluated for every event of their sources */
	size_t literals;    /* distinct prefilter literals over all sources */
	size_t re_hs;       /* regular expressions compiled by Vectorscan */
	size_t re_pcre;     /* ... and by PCRE2 (Vectorscan refused them) */
	size_t filters;     /* meta filters applied */
} engine_info;
void engine_get_info(const engine *e, engine_info *out);

/* The i-th rule left out by engine_build (i < info.failed): its index in
 * set->rules and a reason (owned by e). Returns false past the end. */
bool engine_failure(const engine *e, size_t i, uint32_t *rule, const char **reason);

/* Whether matches of rule (index in set->rules) are for correlations only: the
 * rule is referenced by correlation rules and none of them says
 * `generate: true`. Such matches are not shown as alerts. */
bool engine_rule_silent(const engine *e, uint32_t rule);

/* Per-thread working memory for matching. Returns a scratch owned by the
 * caller (free with engine_scratch_free), or NULL when out of memory. A
 * scratch belongs to the engine it was made for. */
engine_scratch *engine_scratch_new(const engine *e);
void engine_scratch_free(engine_scratch *s);

/* Matches one event. ev must be indexed (core_event_index; events made by
 * the parsers are). Returns the number of detection rules that match (after
 * meta filters) and points *rules at their indexes in set->rules, ascending,
 * valid until the next call with s; or a negative code (CORE_ENOMEM). */
int engine_match(const engine *e, engine_scratch *s, const core_event *ev, const uint32_t **rules);

/* The event field a rule field reads for ev, as the last engine_match with s
 * resolved it (the renames of the sources ev was routed to apply), or NULL
 * when ev has no such field. For correlation group-by fields and output. */
const core_field *engine_field(const engine *e, engine_scratch *s, const core_event *ev,
			       const char *field);

/* Counters of one scratch (cumulative). Stage times are measured only after
 * engine_scratch_timing(s, true) (two clock reads per stage and event). */
typedef struct engine_stats {
	uint64_t events;     /* events given to engine_match */
	uint64_t routed;     /* events that belonged to at least one source */
	uint64_t scans;      /* prefilter passes */
	uint64_t scan_bytes; /* bytes scanned */
	uint64_t candidates; /* rule instances evaluated exactly */
	uint64_t matches;    /* rule matches returned */
	uint64_t ns_route, ns_scan, ns_confirm;
} engine_stats;
void engine_scratch_stats(const engine_scratch *s, engine_stats *out);
void engine_scratch_timing(engine_scratch *s, bool on);

#endif
