/* corr_int.h: types and helpers shared by the files of the correlation module
 * (private; nothing here is part of the module's interface).
 *
 * corr.c: the state, compiled correlations, feeding, emission and flush.
 * corr_group.c: groups (hash per correlation, LRU lists, memory accounting,
 * eviction), the time-sorted ring of window entries and the value maps.
 * corr_eval.c: the per-type aggregate update and the condition. */
#ifndef HISN_CORR_INT_H
#define HISN_CORR_INT_H

#include "corr/corr.h"

#define CORR_MAX_DEPTH 8         /* correlation-of-correlation levels followed */
#define CORR_MAX_DISTINCT 65536u /* distinct values tracked per group */
#define CORR_MAX_VALUE 1024u     /* bytes of one group-by or value text kept */
#define CORR_SWEEP 4             /* idle groups examined per fed match */

/* One entry of a sliding window: when, and the value (hash or number). */
typedef struct corr_entry {
	int64_t ts;
	union {
		uint64_t h; /* value_count / value_percentile: value hash, 0 untracked */
		double v;   /* value_sum / value_avg */
	} u;
} corr_entry;

/* Open-addressing map value hash -> occurrences in the window. */
typedef struct corr_vslot {
	uint64_t h;      /* 0: empty */
	uint32_t count;
	uint32_t emitted; /* value_percentile: a result was emitted for it */
} corr_vslot;

typedef struct corr_vmap {
	corr_vslot *slot;
	size_t cap, n; /* cap is 0 or a power of two */
} corr_vmap;

typedef struct corr_group corr_group;
struct corr_group {
	corr_group *hnext;         /* hash chain of its correlation */
	corr_group *lprev, *lnext; /* its correlation's LRU list (head: newest) */
	corr_group *gprev, *gnext; /* the state's LRU list */
	uint64_t hash;
	uint32_t corr;             /* index in corr_state.cc */
	uint32_t keylen;
	int64_t first, newest;     /* window bounds (n > 0) */
	uint64_t n;                /* events in the window */
	uint64_t overflow;         /* value_count: distinct values past the cap */
	double sum;
	corr_entry *ring;          /* sliding windows: entries sorted by ts */
	size_t rcap, rhead;
	corr_vmap vals;
	int64_t *tpos;             /* temporal: last[nrefs]; ordered: start[nrefs],
				    * end[nrefs]; CORE_TS_NONE when unset */
	size_t bytes;              /* accounted for this group */
	char *key;                 /* keylen bytes: per value u32 length, text, NUL */
};

/* A correlation rule compiled for evaluation. */
typedef struct corr_cc {
	uint32_t rule;                 /* index in set->rules */
	const rules_correlation *rc;   /* borrowed from the set */
	uint8_t type;                  /* rules_corr_type */
	uint8_t mode;                  /* CORR_MODE_* */
	uint32_t ngb, nval, npos;      /* group-by names, value fields, refs */
	const char **gbf;              /* [npos * ngb]: field read per ref */
	const char **valf;             /* [npos * nval] */
	corr_group **bucket;           /* hash of groups */
	size_t nbucket, ngroups;
	corr_group *lru_head, *lru_tail;
} corr_cc;

enum {
	CORR_MODE_RISING = 0, /* lower bounds only: sliding window, emit, reset */
	CORR_MODE_CLOSING,    /* an upper bound, eq or neq only: evaluated when
			       * the window (first event + timespan) closes */
	CORR_MODE_PERVALUE,   /* value_percentile: each event's value, once per
			       * value while it stays in the window */
};

/* Which correlations a rule feeds: correlation k, referenced at the
 * positions of mask (bit i: refs[i]; positions past 63 are not tracked). */
typedef struct corr_use {
	uint32_t corr;
	uint64_t mask;
} corr_use;

struct corr_state {
	const rules_set *set;
	size_t max_bytes;
	corr_cc *cc;
	size_t ncc;
	uint32_t *use_start; /* [set->nrules + 1] into use */
	corr_use *use;
	corr_group *ghead, *gtail; /* every group, most recently updated first */
	int64_t now;               /* latest event time seen (0 before any) */
	corr_stats st;
	core_buf key;              /* scratch: the group key being built */
};

/* ---- corr_group.c ----------------------------------------------------------- */
/* Accounts n more bytes (evicting least recently updated groups other than
 * keep, of correlation k first) or returns CORE_ENOMEM when the bound cannot
 * be met. */
int corr_room(corr_state *c, size_t n, uint32_t k, const corr_group *keep);
void corr_unaccount(corr_state *c, size_t n);
/* The group of correlation k with key c->key (hash h); created when missing.
 * Returns 0 with *out, CORE_ENOMEM (malloc) or CORE_ETOOBIG (the bound
 * cannot hold a new group). Marks the group most recently updated. */
int corr_group_get(corr_state *c, uint32_t k, uint64_t h, corr_group **out);
/* Frees g and unlinks it from every list. */
void corr_group_drop(corr_state *c, corr_group *g);
/* Empties g's window (the group stays). */
void corr_group_clear(corr_state *c, corr_group *g);
/* Sliding windows: inserts e in time order (growing the ring within the
 * bound; when it cannot grow, the oldest entry is dropped first). */
int corr_ring_push(corr_state *c, corr_group *g, corr_entry e);
/* The oldest entry (g->n > 0) and its removal. */
const corr_entry *corr_ring_front(const corr_group *g);
void corr_ring_pop(corr_group *g);
/* Value maps: the slot of h (inserting it with count 0 when missing and
 * there is room: NULL when over CORR_MAX_DISTINCT or the memory bound). */
corr_vslot *corr_vmap_get(corr_state *c, corr_group *g, uint64_t h, bool insert);
void corr_vmap_del(corr_vmap *m, uint64_t h);

uint64_t corr_hash(const void *p, size_t n, uint64_t seed);

/* ---- corr_eval.c ------------------------------------------------------------ */
/* What one match brings to a group. */
typedef struct corr_in {
	int64_t ts;
	uint64_t pos;   /* positions (bits) of the referenced rule */
	uint64_t vhash; /* value_count / value_percentile (0: untracked) */
	double num;     /* value_sum / value_avg */
} corr_in;

/* Whether x satisfies the condition of cc (bounds ANDed; temporal types
 * without a condition: every referenced rule). */
bool corr_cond(const corr_cc *cc, double x);
/* Adds the match to g (window already checked: not late). Returns 0 or
 * CORE_ENOMEM. */
int corr_add(corr_state *c, corr_cc *cc, corr_group *g, const corr_in *in);
/* Drops entries older than g->newest - timespan (sliding modes). */
void corr_expire(corr_state *c, corr_cc *cc, corr_group *g);
/* The aggregate of g for the condition (count, value, first_ts) into r;
 * for value_percentile, h is the value evaluated. */
void corr_aggregate(const corr_cc *cc, corr_group *g, uint64_t h, corr_result *r);

/* a is older than b by more than span (no overflow). */
static inline bool corr_older(int64_t a, int64_t b, int64_t span)
{
	return a < b && (uint64_t)b - (uint64_t)a > (uint64_t)span;
}

#endif
