/* engine_int.h: the compiled form shared by the files of the engine module
 * (private). build.c makes it, match.c and value.c read it.
 *
 * Vocabulary:
 *   prog      one compiled rule or filter: its items in a flat order
 *             (search by search, alternative by alternative), each with its
 *             regular expressions and prepared literals.
 *   instance  a prog with every field name resolved for a group of sources
 *             that rename the rule's fields the same way (most rules have one
 *             instance; process_creation rules have one more for 4688).
 *   slot      an event field the prefilter reads (an interned name).
 *   atom      "literal L occurs in slot S" (scan) or "slot S equals text T"
 *             (hash); an instance's gate is a set of atoms of which at least
 *             one holds whenever the rule can match. */
#ifndef HISN_ENGINE_INT_H
#define HISN_ENGINE_INT_H

#include <hs/hs.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/engine.h"

/* A regular expression of one value: Vectorscan database, or PCRE2 code. */
typedef struct eng_re {
	hs_database_t *hs; /* owned; NULL when pcre is used */
	pcre2_code *pcre;  /* owned; JIT-compiled when possible */
} eng_re;

/* Per value, what build prepared for the exact comparison. */
typedef struct eng_val {
	const char *lit;  /* STR without wildcards: the unescaped bytes (lowercased
			   * unless cased), engine-owned; NULL for globs */
	uint32_t lit_len;
	const char *pat;  /* STR globs, not cased, with bytes >= 0x80: the pattern
			   * folded (engine-owned); NULL otherwise */
	eng_re *re;       /* RE values */
} eng_val;

typedef struct eng_item {
	const rules_item *it; /* borrowed from the set */
	eng_val *vals;        /* per value (it->nvalues) */
	uint32_t slot;        /* index of the item's field in an instance's names;
			       * fieldref values take the next nvalues slots */
} eng_item;

typedef struct eng_prog {
	const rules_rule *r;  /* borrowed */
	uint32_t rule;        /* index in set->rules */
	eng_item *items;      /* flat, in search/alternative order */
	uint32_t nitems;
	uint32_t *search_item; /* first flat item of each search (nsearches + 1) */
	uint32_t nnames;      /* names an instance resolves */
	uint32_t *filters;    /* progs of the filters that apply (AND NOT) */
	uint32_t nfilters;
	bool failed;          /* a regular expression did not compile: left out */
} eng_prog;

typedef struct eng_inst {
	uint32_t prog;        /* index in engine.progs */
	core_name *names;     /* nnames resolved event field names (0: keywords) */
	uint32_t *sources;    /* the sources this instance serves */
	uint32_t nsources;
	core_name **fnames;   /* per filter of the prog: its names for these sources */
	uint8_t need;         /* clause bits that must all hit: 1 or 3 (0: no gate) */
} eng_inst;

/* An atom: for scans, the literal's slot; instances gated on it (CSR). */
typedef struct eng_atom {
	uint32_t slot;
	uint32_t first, n;    /* into engine.atom_inst */
} eng_atom;

/* A distinct scan literal: the atoms (one per slot using it) in CSR. */
typedef struct eng_lit {
	uint32_t len;
	uint32_t first, n;    /* into engine.lit_atoms */
} eng_lit;

/* Equality atom hash entry. */
typedef struct eng_eq {
	uint32_t slot, atom;
	uint64_t hash;
	const char *text;     /* canonical text, engine-owned */
	uint32_t len;
} eng_eq;

typedef struct eng_source {
	uint32_t *scan_slots; /* slots this source's instances scan */
	uint32_t nscan;
	uint32_t *eq_slots;   /* slots with equality atoms */
	uint32_t neq;
	uint32_t *always;     /* instances without a gate */
	uint32_t nalways;
	uint32_t *insts;      /* every instance (no_prefilter) */
	uint32_t ninsts;
	bool keywords;        /* some instance is gated on keyword literals */
	hs_database_t *db;    /* its field literals (vectored; in engine.dbs), or NULL */
	hs_database_t *kwdb;  /* its keyword literals, or NULL */
} eng_source;

/* The slot name of keyword atoms: literals searched in every string and
 * number of the event (no interned name is this large). */
#define ENG_KW_NAME UINT32_MAX

struct engine {
	const rules_set *set;
	const rules_ls_map *ls;
	engine_options opt;
	core_arena *arena;    /* owns every array below unless said otherwise */
	eng_prog *progs;      /* rules, then filters */
	uint32_t nprogs;
	eng_inst *insts;
	uint32_t ninsts;
	eng_source *sources;  /* per logsource source */
	uint32_t nsources;
	size_t words;         /* routing bitset words */
	core_name *slots;     /* slot -> event field name */
	uint32_t nslots;
	eng_atom *atoms;
	uint32_t natoms;
	uint32_t *atom_inst;  /* per atom: instance << 1 | clause */
	eng_lit *lits;
	uint32_t nlits;
	uint32_t *lit_atoms;
	hs_database_t **dbs;   /* the literal databases (malloc-owned, each owned) */
	uint32_t ndbs;
	uint32_t kw_slot;      /* the slot of ENG_KW_NAME, or UINT32_MAX */
	bool fold_scan;        /* some literal has bytes >= 0x80: fold scanned text */
	eng_eq *eq;           /* open-addressing table, eq_mask + 1 entries */
	uint32_t eq_mask;
	uint32_t eq_maxlen;   /* longest equality text */
	hs_scratch_t *hs_proto; /* owned; cloned per engine_scratch */
	bool *silent;         /* per set rule */
	uint32_t max_names;   /* most names of any instance */
	engine_info info;
	uint32_t *failed_rule; /* malloc-owned */
	const char **failed_why;
	size_t nfailed, capfailed;
};

typedef struct eng_seg {
	uint32_t start, end, slot;
	bool num; /* text lives in numbuf (moves when it grows) */
} eng_seg;

struct engine_scratch {
	const engine *e;
	hs_scratch_t *hs;     /* owned */
	pcre2_match_data *md; /* owned */
	pcre2_match_context *mctx; /* owned */
	uint64_t *bits;       /* routing bitset */
	uint32_t *srcs;       /* routed sources of the current event */
	uint32_t nsrcs;
	uint32_t gen;         /* current event's stamp */
	uint32_t *inst_stamp, *atom_stamp, *rule_stamp;
	uint32_t *slot_stamp; /* per slot: its equality lookup is done for this event */
	uint32_t *mask_stamp; /* per instance: mask is valid for this event */
	uint8_t *mask;        /* per instance: clauses of its gate hit so far */
	uint8_t *memo;        /* per search of the prog being evaluated */
	char *eqbuf;          /* canonical text of an equality lookup */
	uint32_t *cand;       /* candidate instances */
	uint32_t ncand;
	uint32_t *out;        /* matched rules */
	uint32_t nout;
	eng_seg *segs;        /* scan segments */
	uint32_t nsegs, capsegs;
	const char **vec;     /* scan vector */
	unsigned int *veclen;
	char *numbuf;         /* text of numbers scanned, 32 bytes per segment */
	/* lowercased copies of long field texts, for this event (lc_gen) */
	struct eng_lc {
		const char *src;
		const char *low; /* in lcarena */
		uint32_t len;
	} lc[16];
	uint32_t nlc, lc_gen;
	core_arena *lcarena;  /* owned; reset per event */
	core_buf catbuf;      /* the segments of one scan, end to end */
	bool timing;
	engine_stats st;
	uint32_t re_errors;
};

/* Hash of (tag, s[0..n)) for the equality table; never 0. */
uint64_t eng_hash(uint32_t tag, const char *s, size_t n);

/* ---- value.c: the exact semantics ---------------------------------------- */
/* The text of a scalar field (numbers formatted, booleans true/false) in
 * buf[32] when it is not a string. false for null, objects and arrays. */
bool eng_scalar_text(const core_field *f, char buf[32], const char **s, size_t *n);
/* Whether item k of prog p holds for ev with names (an instance's). */
bool eng_item_eval(const engine *e, engine_scratch *s, const eng_prog *p, const eng_item *ei,
		   const core_name *names, const core_event *ev);
/* Folds s[0..n) to lowercase into d (n bytes; d may be s): ASCII letters,
 * and the letters of U+0080..U+07FF whose lowercase has the same length
 * (Latin-1, Latin Extended-A, Greek, Cyrillic, Armenian). */
void eng_fold(char *d, const char *s, size_t n);
/* Whether s[0..n) has a byte >= 0x80. */
bool eng_has_high(const char *s, size_t n);
/* Canonical text of an equality value into buf (at least n + 32 bytes):
 * decimal when the text is a number with an integral value, else the text
 * lowercased. Returns its length. */
size_t eng_canon(const char *s, size_t n, char *buf);
/* The same for a scalar field (numbers, booleans); false for others. */
bool eng_canon_field(const core_field *f, char *buf, size_t cap, size_t *len);

/* ---- regex (value.c) ----------------------------------------------------- */
/* Compiles regular expression v into r (filled; its databases owned by r):
 * with Vectorscan when use_hs and it accepts it, else PCRE2 (JIT when it
 * can). Thread-safe (touches nothing shared). Returns 0, or CORE_EPARSE
 * with the reason in why. */
int eng_re_compile(bool use_hs, const rules_value *v, uint8_t re_flags, eng_re *r, char *why, size_t whylen);
/* Runs fn(ctx, i) for i in [0, n) on up to the machine's cores (threads
 * take indexes from a shared counter). Returns 0 or CORE_ENOMEM. */
int eng_parallel(size_t n, void (*fn)(void *ctx, size_t i), void *ctx);
void eng_re_free(eng_re *r);

#endif
