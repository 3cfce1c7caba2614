/* gate.h: building the prefilter (private to the engine module; gate.c). */
#ifndef HISN_ENGINE_GATE_H
#define HISN_ENGINE_GATE_H

#include "engine/engine_int.h"

/* Open addressing map (tag, bytes) -> value; its entries are eng_eq so that
 * the equality table can be handed to the engine as it is. Keys are
 * borrowed: the caller keeps them alive as long as the map. */
typedef struct eng_smap {
	eng_eq *t; /* malloc-owned */
	uint32_t mask, n;
} eng_smap;

/* The value of (tag, s[0..n)) when present, else inserts val; *out gets the
 * value either way. Returns 0 or CORE_ENOMEM. */
int eng_smap_put(eng_smap *m, uint32_t tag, const char *s, uint32_t n, uint32_t val, uint32_t *out);

typedef struct eng_litb {
	const char *text; /* engine-owned */
	uint32_t len, natoms;
	bool kw; /* a keyword literal (searched in every field) */
} eng_litb;

typedef struct eng_atomb {
	uint32_t slot, lit; /* lit: UINT32_MAX for equality atoms */
	bool eq;
} eng_atomb;

typedef struct eng_pair {
	uint32_t atom, inst; /* atom UINT32_MAX: the instance has no gate */
	uint32_t clause;     /* 0 or 1: which clause of the instance's gate */
} eng_pair;

typedef struct eng_gatebuild {
	engine *e;        /* borrowed */
	core_arena *tmp;  /* owned: per-instance gate sets */
	bool oom;
	eng_smap slotmap, litmap, scanmap, eqmap;
	core_name *slots;
	size_t capslots;
	uint32_t nslots;
	eng_litb *lits;
	size_t caplits;
	uint32_t nlits;
	eng_atomb *atoms;
	size_t capatoms;
	uint32_t natoms;
	eng_pair *pairs;
	size_t cappairs, npairs;
} eng_gatebuild;

int eng_gate_begin(eng_gatebuild *g, engine *e);
/* Derives and records the gate of instance i (call for every instance in
 * order). Returns 0 or CORE_ENOMEM. */
int eng_gate_inst(eng_gatebuild *g, uint32_t i);
/* Moves the result into the engine: slots, atoms, literals and their
 * Vectorscan database, the equality table, and per source the slots to read
 * and the instances without a gate. insts_of_src[s][0..n[s]) are the
 * instances of source s. Returns 0, CORE_ENOMEM or CORE_EINVAL (Vectorscan
 * refused the literal set). */
int eng_gate_finish(eng_gatebuild *g, uint32_t *const *insts_of_src, const uint32_t *n);
/* Records that clause (0 or 1) of instance inst's gate holds when atom does
 * (atom UINT32_MAX: the instance has no gate). */
int eng_pair_add(eng_gatebuild *g, uint32_t atom, uint32_t inst, uint32_t clause);
void eng_gate_end(eng_gatebuild *g);

#endif
