/* corr.h: Sigma correlation rules (specification v2.1) over a stream of rule
 * matches: event_count, value_count, temporal, temporal_ordered, value_sum,
 * value_avg and value_percentile, with group-by (and aliases), sliding
 * timespan windows and correlations of correlations.
 *
 * The detection engine says which rules an event matched; the caller feeds
 * each (rule, event) pair whose rule is referenced by a correlation
 * (corr_wants) to corr_feed, which updates the state of every correlation
 * that references the rule and calls emit for each correlation whose
 * condition becomes true. A correlation result is itself fed to the
 * correlations that reference that correlation.
 *
 * Memory is bounded: every window, group and distinct value is counted
 * against corr_options.max_bytes; when a new group would go over it, the
 * least recently updated group of that correlation (then of any) is evicted,
 * and evictions are counted (corr_stats) so the user can see them.
 *
 * Not thread-safe: one corr_state per stream.
 *
 * Semantics (docs/RULES.md, "Correlations", says the same at length):
 * - Groups: the key is the text of every group-by field (strings as they
 *   are, integers in decimal, floats %.15g (%.17g
 *   when 15 digits do not read back), booleans true/false; each value
 *   cut at 1024 bytes). An alias in group-by reads, in the events of each
 *   referenced rule, the field the alias names for that rule (matched by the
 *   rule's name, id or the reference as written); a rule the alias does not
 *   list reads the alias name itself. A match lacking a group-by field (or
 *   whose field is null, an array or an object) is not counted in any group
 *   (corr_stats.ungrouped), as SIEM "by" clauses do; so is a value_* match
 *   without its condition.field (value_sum/value_avg: a number, or a string
 *   that is one).
 * - Windows: an event at time t and one at t + timespan are in one window;
 *   t + timespan + 1 ns is not. Events without a time (CORE_TS_NONE) take
 *   the latest time fed so far (0 before any).
 * - When results are emitted (no flood: one result per completed window):
 *   * lower bounds only (gt/gte, possibly with neq) and temporal types
 *     without a condition: sliding window; the first match that makes the
 *     condition true emits one result and the group starts again empty.
 *   * an upper bound (lt/lte), eq, or only neq: the count could still
 *     change, so the window (first event of the group + timespan) is judged
 *     when it closes: at the group's first match after it, when the group has
 *     been idle for a timespan (swept while feeding), or at corr_flush. One
 *     result per closed window that satisfies the condition.
 *   * value_percentile: per match, the percentage of the group's window
 *     events whose field has this match's value (0..100, the condition's
 *     threshold is that percentage: `lte: 1` = a value seen in at most 1% of
 *     the group's events); one result per value while the value stays in the
 *     window.
 * - result.count/value per type: event_count: events; value_count: distinct
 *   values (the combination of every condition.field); temporal: referenced
 *   rules seen in the window; temporal_ordered: the longest prefix of the
 *   rules seen in order (an ordered chain A <= B <= C by time, equal times
 *   in feeding order); value_sum / value_avg: sum or mean of the field;
 *   value_percentile: the percentage above.
 * - Out of order: per group, a match older than the group's newest time minus
 *   the timespan is late (not counted, corr_stats.late); a match inside the
 *   window is placed by its time. Feed inputs roughly in time order (hunt
 *   over several files: oldest file first) for exact results.
 * - Bounds: value_count and value_percentile track at most 65,536 distinct
 *   values per group; past that, value_count counts every further new value
 *   once (an upper bound) and value_percentile does not judge them. A window
 *   that cannot grow under max_bytes (once every other group is evicted)
 *   forgets its oldest entries, and a new distinct value that does not fit
 *   is not counted (both corr_stats.dropped). Value identity is a 64-bit
 *   hash of the text. Groups idle for longer than their timespan are dropped
 *   (judged first when their window is a closing one) as matches of their
 *   correlation are fed. A correlation tracks its first 64 rules.
 * - Correlations of correlations: a result is fed as a match of its
 *   correlation rule at result.last_ts; its fields are its group-by values
 *   (by group-by name), then the fields of the event that completed it (a
 *   result of a closed or swept window has no such event). Chains are
 *   followed 8 levels deep (a cycle stops there). */
#ifndef HISN_CORR_H
#define HISN_CORR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "rules/rules.h"

typedef struct corr_state corr_state;

typedef struct corr_options {
	size_t max_bytes; /* bound on all correlation state (0: 64 MiB) */
} corr_options;

/* How a rule field is read from an event: engine_field (the logsource renames
 * of the event apply). Returns the field or NULL when absent. */
typedef const core_field *(*corr_lookup_fn)(void *ud, const core_event *ev, const char *field);

typedef struct corr_result {
	uint32_t rule;            /* index in set->rules of the correlation */
	int64_t first_ts, last_ts; /* first and last event of the window (UTC ns) */
	uint64_t count;           /* events (event_count, value_*), distinct values
				   * (value_count), referenced rules seen (temporal*) */
	double value;             /* value_sum / value_avg / value_percentile: the
				   * aggregate; value_count: the distinct count;
				   * other types: count */
	const char *const *group_fields; /* group-by names as written ... */
	const char *const *group_values; /* ... and the group's values (text) */
	size_t ngroup;                   /* both valid during the callback only */
} corr_result;

/* Called for every correlation result; a non-zero return stops corr_feed,
 * which returns it. */
typedef int (*corr_emit_fn)(void *ud, const corr_result *r);

/* A new state for the correlations of set (borrowed; loaded and linked; must
 * outlive the state). opt may be NULL. Returns a state owned by the caller
 * (free with corr_free), or NULL when out of memory. */
corr_state *corr_new(const rules_set *set, const corr_options *opt);
void corr_free(corr_state *c);

/* Number of correlation rules the state evaluates. */
size_t corr_count(const corr_state *c);
/* Whether rule (index in set->rules) is referenced by a correlation. */
bool corr_wants(const corr_state *c, uint32_t rule);

/* Feeds one match of rule for ev (borrowed for the call). The event's time is
 * ev->ts (events without a time use the latest time seen). lookup reads
 * group-by and value fields (NULL: core_event_get_path). Returns 0, the
 * non-zero value an emit returned, or CORE_ENOMEM. */
int corr_feed(corr_state *c, uint32_t rule, const core_event *ev, corr_lookup_fn lookup, void *lud,
	      corr_emit_fn emit, void *eud);

typedef struct corr_stats {
	uint64_t fed;        /* matches fed */
	uint64_t results;    /* results emitted */
	uint64_t evictions;  /* groups dropped to stay under max_bytes */
	uint64_t expired;    /* groups dropped because their window passed */
	size_t groups;       /* groups alive now */
	size_t bytes, bytes_peak; /* state memory now and at most */
	uint64_t late;       /* matches older than their group's window */
	uint64_t ungrouped;  /* matches without a group-by or value field */
	uint64_t dropped;    /* matches or window entries the bound left out */
} corr_stats;
void corr_get_stats(const corr_state *c, corr_stats *out);

/* End of input: judges every window still open (conditions with an upper
 * bound, eq or neq emit here when their last window satisfies them), emits
 * through emit like corr_feed (cascading into correlations of correlations),
 * and empties the state (it can be fed again). Returns 0, a non-zero emit
 * return, or CORE_ENOMEM. */
int corr_flush(corr_state *c, corr_emit_fn emit, void *eud);

#endif
