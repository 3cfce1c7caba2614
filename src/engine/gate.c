/* gate.c: the prefilter. For every instance, a gate: a set of atoms at least
 * one of which holds in every event the rule matches, derived from the
 * condition tree (an OR joins its sides' atoms, an AND keeps the cheaper
 * side, a NOT gives no gate). Atoms are "this literal occurs in this field"
 * (found by one Vectorscan pass over the event's fields) or "this field equals
 * this text" (found by a hash lookup). Instances without a gate are evaluated
 * for every event of their sources.
 *
 * The gate only has to be a superset: literals are matched without case and
 * equality texts are compared in a canonical form (lowercase, integers in
 * decimal), which the exact comparison of value.c then narrows down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"
#include "engine/gate.h"

typedef struct gatom {
	bool eq;
	core_name field;
	const char *text; /* lowercased / canonical */
	uint32_t len;
} gatom;

typedef struct gset {
	bool top;      /* no gate: anything may match */
	double score;  /* estimated cost of the candidates it lets through */
	gatom *a;
	uint32_t n;
} gset;

static const gset TOP = {.top = true};

static gset g_union(eng_gatebuild *g, gset x, gset y)
{
	if (x.top || y.top)
		return TOP;
	gset r = {.score = x.score + y.score, .n = x.n + y.n};
	r.a = core_arena_alloc(g->tmp, ((size_t)r.n + 1) * sizeof *r.a);
	if (!r.a) {
		g->oom = true;
		return TOP;
	}
	if (x.n)
		memcpy(r.a, x.a, x.n * sizeof *r.a);
	if (y.n)
		memcpy(r.a + x.n, y.a, y.n * sizeof *r.a);
	return r;
}

static gset g_best(gset x, gset y)
{
	if (x.top)
		return y;
	if (y.top)
		return x;
	return y.score < x.score ? y : x;
}

/* A gate of up to two clauses that must both hold (a conjunction of
 * disjunctions): "EventID is 4663 AND ObjectName ends with .AAA" lets far
 * fewer events through than either alone. */
typedef struct gcnf {
	bool top;
	uint32_t n; /* clauses, 1 or 2 unless top */
	gset c[2];
} gcnf;

static const gcnf CNF_TOP = {.top = true};

static gcnf cnf_one(gset x)
{
	if (x.top)
		return CNF_TOP;
	return (gcnf){.n = 1, .c = {x}};
}

/* x AND y: the two most selective clauses of both. */
static gcnf cnf_and(gcnf x, gcnf y)
{
	gset all[4];
	uint32_t n = 0;
	for (uint32_t i = 0; !x.top && i < x.n && i < 2; i++)
		all[n++] = x.c[i];
	for (uint32_t i = 0; !y.top && i < y.n && i < 2; i++)
		all[n++] = y.c[i];
	if (n == 0)
		return CNF_TOP;
	for (uint32_t i = 0; i < n; i++) /* sort by score (n <= 4) */
		for (uint32_t j = i + 1; j < n; j++)
			if (all[j].score < all[i].score) {
				gset t = all[i];
				all[i] = all[j];
				all[j] = t;
			}
	gcnf r = {.n = n < 2 ? n : 2};
	r.c[0] = all[0];
	if (r.n == 2)
		r.c[1] = all[1];
	return r;
}

static gset cnf_best(gcnf x)
{
	if (x.top)
		return TOP;
	return x.n == 2 && x.c[1].score < x.c[0].score ? x.c[1] : x.c[0];
}

/* x OR y: one clause, the union of the best clause of each side. */
static gcnf cnf_or(eng_gatebuild *g, gcnf x, gcnf y)
{
	if (x.top || y.top)
		return CNF_TOP;
	return cnf_one(g_union(g, cnf_best(x), cnf_best(y)));
}

static gset g_one(eng_gatebuild *g, bool eq, core_name field, const char *text, uint32_t len)
{
	/* estimated chance that the atom holds in an event: an exact value is
	 * rare; a literal is rarer the longer it is */
	static const double p_lit[] = {1, 1, .25, .12, .06, .03, .02, .012, .008, .005, .003};
	gset r = {.n = 1, .score = eq ? 0.002 : len < 11 ? p_lit[len] : 0.002};
	r.a = core_arena_alloc(g->tmp, sizeof *r.a);
	char *t = core_arena_alloc(g->tmp, (size_t)len + 1);
	if (!r.a || !t) {
		g->oom = true;
		return TOP;
	}
	memcpy(t, text, len);
	t[len] = 0;
	r.a[0] = (gatom){.eq = eq, .field = field, .text = t, .len = len};
	return r;
}

/* The longest run of literal characters of a normalized pattern, unescaped
 * and lowercased, into buf (v->len bytes). */
static uint32_t longest_run(const rules_value *v, char *buf, uint32_t *start)
{
	uint32_t best = 0, bstart = 0, cur = 0, cstart = 0, k = 0;
	for (uint32_t i = 0; i < v->len; i++) {
		char c = v->s[i];
		if (c == '*' || c == '?') {
			cur = 0;
			continue;
		}
		if (c == '\\' && i + 1 < v->len)
			c = v->s[++i];
		if (cur == 0)
			cstart = k;
		buf[k++] = c;
		cur++;
		if (cur > best) {
			best = cur;
			bstart = cstart;
		}
	}
	*start = bstart;
	return best;
}

static bool optional_next(const char *re, uint32_t n, uint32_t i)
{
	return i + 1 < n && (re[i + 1] == '?' || re[i + 1] == '*' || re[i + 1] == '{');
}

/* A literal every match of regular expression re[0..n) contains, read
 * conservatively from its top level (runs of plain characters outside
 * groups and classes, without the characters a '?', '*' or '{' makes
 * optional), into buf; its length, 0 if none. A top-level alternation has
 * no single literal: 0. */
static uint32_t re_literal(const char *re, uint32_t n, char *buf)
{
	uint32_t best = 0, bstart = 0, cur = 0, k = 0, depth = 0;
	/* (?x) makes spaces and '#' comments not literal: no literal then */
	for (uint32_t i = 0; i + 2 < n; i++) {
		if (re[i] != '(' || re[i + 1] != '?')
			continue;
		for (uint32_t j = i + 2; j < n && re[j] != ')' && re[j] != ':'; j++)
			if (re[j] == 'x')
				return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		char c = re[i];
		if (depth) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '|')
			return 0;
		if (c == '(' || c == '[' || c == '.' || c == '^' || c == '$' || c == '*' || c == '?' ||
		    c == '+' || c == '{' || c == ')') {
			cur = 0;
			if (c == '(')
				depth++;
			else if (c == '[') {
				i++; /* skip the class; a ']' first in it is literal */
				if (i < n && re[i] == '^')
					i++;
				if (i < n && re[i] == ']')
					i++;
				while (i < n && re[i] != ']')
					i += re[i] == '\\' ? 2 : 1;
			} else if (c == '{') {
				while (i < n && re[i] != '}')
					i++;
			}
			continue;
		}
		if (c == '\\') {
			if (i + 1 >= n)
				return 0;
			c = re[++i];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
				cur = 0; /* \d, \w, \x41, \1...: not one plain character */
				continue;
			}
		}
		if (optional_next(re, n, i)) {
			cur = 0;
			continue;
		}
		if (cur == 0)
			k = bstart + best; /* start a new run after the best one */
		buf[k++] = c;
		cur++;
		if (cur > best) {
			bstart = k - cur;
			best = cur;
		}
	}
	memmove(buf, buf + bstart, best);
	return best;
}

static gset gate_value(eng_gatebuild *g, const rules_item *it, const rules_value *v, core_name field)
{
	char num[32];
	bool kw = field == ENG_KW_NAME;
	if (kw && (v->type == RULES_V_INT || v->type == RULES_V_FLOAT)) {
		/* a number keyword is searched as written (value.c) */
		if (v->len < 2 || v->len >= sizeof num)
			return TOP;
		eng_fold(num, v->s, v->len);
		return g_one(g, false, field, num, v->len);
	}
	if (v->type == RULES_V_INT && it->op == RULES_OP_EQ) {
		int k = snprintf(num, sizeof num, "%lld", (long long)v->i);
		return g_one(g, true, field, num, (uint32_t)k);
	}
	if (v->type == RULES_V_RE) {
		char *rb = core_arena_alloc(g->tmp, (size_t)v->len + 1);
		if (!rb) {
			g->oom = true;
			return TOP;
		}
		uint32_t n = re_literal(v->s, v->len, rb);
		if (n < 3)
			return TOP;
		eng_fold(rb, rb, n);
		return g_one(g, false, field, rb, n);
	}
	if (v->type != RULES_V_STR)
		return TOP;
	char *buf = core_arena_alloc(g->tmp, (size_t)v->len + 48);
	if (!buf) {
		g->oom = true;
		return TOP;
	}
	if (!kw && it->op == RULES_OP_EQ && !(v->flags & RULES_VF_GLOB)) {
		uint32_t st, n = longest_run(v, buf, &st); /* the whole text: no wildcard */
		char *canon = core_arena_alloc(g->tmp, (size_t)n + 48);
		if (!canon) {
			g->oom = true;
			return TOP;
		}
		size_t cn = eng_canon(buf, n, canon);
		return g_one(g, true, field, canon, (uint32_t)cn);
	}
	uint32_t st, n = longest_run(v, buf, &st);
	if (n < 2)
		return TOP; /* one byte would hit nearly every event */
	eng_fold(buf + st, buf + st, n);
	return g_one(g, false, field, buf + st, n);
}

/* The union of the gates of values [k, end) of it, built in one array
 * (pairwise unions would copy quadratically for rules with long lists). */
static gset gate_values(eng_gatebuild *g, const rules_item *it, uint32_t k, uint32_t end, core_name field)
{
	gset r = {.score = 0, .n = 0};
	r.a = core_arena_alloc(g->tmp, ((size_t)(end - k) + 1) * sizeof *r.a);
	if (!r.a) {
		g->oom = true;
		return TOP;
	}
	for (; k < end; k++) {
		gset v = gate_value(g, it, &it->values[k], field);
		if (v.top)
			return TOP;
		r.a[r.n++] = v.a[0];
		r.score += v.score;
	}
	return r;
}

static gset gate_item(eng_gatebuild *g, const eng_item *ei, const core_name *names)
{
	const rules_item *it = ei->it;
	core_name field = it->field ? names[ei->slot] : ENG_KW_NAME;

	if (!field || it->neq || it->timepart || it->nvalues == 0)
		return TOP;
	if (it->op != RULES_OP_EQ && it->op != RULES_OP_CONTAINS && it->op != RULES_OP_STARTSWITH &&
	    it->op != RULES_OP_ENDSWITH && it->op != RULES_OP_RE)
		return TOP;
	if (!it->all)
		return gate_values(g, it, 0, it->nvalues, field);
	gset best = TOP;
	for (uint32_t k = 0; k < it->nvalues;) {
		uint32_t grp = it->values[k].group, end = k;
		while (end < it->nvalues && it->values[end].group == grp)
			end++;
		best = g_best(best, gate_values(g, it, k, end, field));
		k = end;
	}
	return best;
}

static gcnf gate_search(eng_gatebuild *g, const eng_prog *p, uint32_t s, const core_name *names)
{
	const rules_search *sr = &p->r->searches[s];
	uint32_t k = p->search_item[s];
	gcnf r = {.n = 1, .c = {{.score = 0}}};

	for (uint32_t a = 0; a < sr->nalts; a++) {
		gcnf alt = CNF_TOP;
		for (uint32_t i = 0; i < sr->alts[a].nitems; i++, k++)
			alt = cnf_and(alt, cnf_one(gate_item(g, &p->items[k], names)));
		if (sr->nalts == 1)
			return alt; /* one map: keep both clauses */
		r = cnf_or(g, r, alt);
	}
	return r;
}

static gcnf gate_cond(eng_gatebuild *g, const eng_prog *p, const rules_cond *c, const core_name *names)
{
	gcnf r;
	switch (c->op) {
	case RULES_COND_REF:
		return gate_search(g, p, c->search, names);
	case RULES_COND_AND:
		return cnf_and(gate_cond(g, p, c->a, names), gate_cond(g, p, c->b, names));
	case RULES_COND_OR:
		return cnf_or(g, gate_cond(g, p, c->a, names), gate_cond(g, p, c->b, names));
	case RULES_COND_ANY_OF:
		r = (gcnf){.n = 1, .c = {{.score = 0}}};
		for (uint32_t i = 0; i < c->nsearches && !r.top; i++)
			r = cnf_or(g, r, gate_search(g, p, c->searches[i], names));
		return r;
	case RULES_COND_ALL_OF:
		r = CNF_TOP;
		for (uint32_t i = 0; i < c->nsearches; i++)
			r = cnf_and(r, gate_search(g, p, c->searches[i], names));
		return r;
	default:
		return CNF_TOP;
	}
}

/* ---- interning atoms ---------------------------------------------------------- */
static int slot_of(eng_gatebuild *g, core_name name, uint32_t *slot)
{
	uint32_t key = name;
	int rc = eng_smap_put(&g->slotmap, key, "", 0, g->nslots, slot);
	if (rc)
		return rc;
	if (*slot == g->nslots) {
		if (core_grow((void **)&g->slots, &g->capslots, g->nslots, sizeof *g->slots, 64))
			return CORE_ENOMEM;
		g->slots[g->nslots++] = name;
	}
	return 0;
}

static int atom_of(eng_gatebuild *g, const gatom *a, uint32_t *atom)
{
	uint32_t slot, id, lit = UINT32_MAX;
	int rc = slot_of(g, a->field, &slot);
	if (rc)
		return rc;
	const char *text = core_arena_strndup(g->e->arena, a->text, a->len);
	if (!text)
		return CORE_ENOMEM;
	if (a->eq) {
		rc = eng_smap_put(&g->eqmap, slot, text, a->len, g->natoms, &id);
	} else {
		bool kw = a->field == ENG_KW_NAME;
		if ((rc = eng_smap_put(&g->litmap, kw, text, a->len, g->nlits, &lit)) != 0)
			return rc;
		if (lit == g->nlits) {
			if (core_grow((void **)&g->lits, &g->caplits, g->nlits, sizeof *g->lits, 256))
				return CORE_ENOMEM;
			g->lits[g->nlits++] = (eng_litb){.text = text, .len = a->len, .kw = kw};
		}
		rc = eng_smap_put(&g->scanmap, slot, text, a->len, g->natoms, &id);
		if (rc == 0 && id == g->natoms)
			g->lits[lit].natoms++;
	}
	if (rc)
		return rc;
	if (id == g->natoms) {
		if (core_grow((void **)&g->atoms, &g->capatoms, g->natoms, sizeof *g->atoms, 256))
			return CORE_ENOMEM;
		g->atoms[g->natoms++] = (eng_atomb){.slot = slot, .eq = a->eq, .lit = lit};
	}
	*atom = id;
	return 0;
}

int eng_gate_begin(eng_gatebuild *g, engine *e)
{
	memset(g, 0, sizeof *g);
	g->e = e;
	g->tmp = core_arena_new(1 << 16, 0);
	return g->tmp ? 0 : CORE_ENOMEM;
}

int eng_gate_inst(eng_gatebuild *g, uint32_t i)
{
	engine *e = g->e;
	eng_inst *in = &e->insts[i];
	const eng_prog *p = &e->progs[in->prog];
	gcnf r = {.n = 1, .c = {{.score = 0}}};

	if (e->opt.no_prefilter)
		r = CNF_TOP;
	for (uint32_t c = 0; c < p->r->nconds && !r.top; c++)
		r = p->r->nconds == 1 ? gate_cond(g, p, p->r->conds[c], in->names)
				      : cnf_or(g, r, gate_cond(g, p, p->r->conds[c], in->names));
	if (g->oom)
		return CORE_ENOMEM;
	bool empty = !r.top && (r.c[0].n == 0 || (r.n == 2 && r.c[1].n == 0));
	if (r.top || empty) {
		core_arena_reset(g->tmp);
		in->need = 0;
		return eng_pair_add(g, UINT32_MAX, i, 0);
	}
	in->need = (uint8_t)((1u << r.n) - 1);
	for (uint32_t c = 0; c < r.n; c++)
		for (uint32_t k = 0; k < r.c[c].n; k++) {
			uint32_t atom;
			int rc = atom_of(g, &r.c[c].a[k], &atom);
			if (rc == 0)
				rc = eng_pair_add(g, atom, i, c);
			if (rc)
				return rc;
		}
	core_arena_reset(g->tmp);
	return 0;
}

void eng_gate_end(eng_gatebuild *g)
{
	core_arena_free(g->tmp);
	free(g->slotmap.t);
	free(g->litmap.t);
	free(g->scanmap.t);
	free(g->eqmap.t); /* moved into the engine by finish when it succeeded */
	free(g->slots);
	free(g->lits);
	free(g->atoms);
	free(g->pairs);
}

/* ---- maps ------------------------------------------------------------------------ */
uint64_t eng_hash(uint32_t tag, const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)tag * 0xFF51AFD7ED558CCDull);
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001B3ull;
	}
	h ^= h >> 29;
	return h ? h : 1;
}

static int smap_grow(eng_smap *m)
{
	uint32_t cap = m->t ? (m->mask + 1) * 2 : 256;
	eng_eq *t = calloc(cap, sizeof *t);
	if (!t)
		return CORE_ENOMEM;
	for (uint32_t i = 0; m->t && i <= m->mask; i++) {
		if (!m->t[i].hash)
			continue;
		uint32_t j = (uint32_t)m->t[i].hash & (cap - 1);
		while (t[j].hash)
			j = (j + 1) & (cap - 1);
		t[j] = m->t[i];
	}
	free(m->t);
	m->t = t;
	m->mask = cap - 1;
	return 0;
}

int eng_smap_put(eng_smap *m, uint32_t tag, const char *s, uint32_t n, uint32_t val, uint32_t *out)
{
	if (!m->t || (m->n + 1) * 2 > m->mask + 1) {
		if (smap_grow(m))
			return CORE_ENOMEM;
	}
	uint64_t h = eng_hash(tag, s, n);
	uint32_t j = (uint32_t)h & m->mask;
	for (; m->t[j].hash; j = (j + 1) & m->mask) {
		const eng_eq *q = &m->t[j];
		if (q->hash == h && q->slot == tag && q->len == n && memcmp(q->text, s, n) == 0) {
			*out = q->atom;
			return 0;
		}
	}
	m->t[j] = (eng_eq){.slot = tag, .atom = val, .hash = h, .text = s, .len = n};
	m->n++;
	*out = val;
	return 0;
}

int eng_pair_add(eng_gatebuild *g, uint32_t atom, uint32_t inst, uint32_t clause)
{
	if (core_grow((void **)&g->pairs, &g->cappairs, g->npairs, sizeof *g->pairs, 1024))
		return CORE_ENOMEM;
	g->pairs[g->npairs++] = (eng_pair){.atom = atom, .inst = inst, .clause = clause};
	return 0;
}

/* ---- moving the result into the engine ------------------------------------------------- */
static void *dup_arr(engine *e, const void *p, size_t n, size_t elem)
{
	void *d = core_arena_alloc(e->arena, n * elem + 1);
	if (d && n)
		memcpy(d, p, n * elem);
	return d;
}

static int atoms_csr(eng_gatebuild *g)
{
	engine *e = g->e;
	size_t ngated = 0;

	e->natoms = g->natoms;
	e->atoms = core_arena_alloc(e->arena, ((size_t)g->natoms + 1) * sizeof *e->atoms);
	if (!e->atoms)
		return CORE_ENOMEM;
	memset(e->atoms, 0, ((size_t)g->natoms + 1) * sizeof *e->atoms);
	for (size_t k = 0; k < g->npairs; k++)
		if (g->pairs[k].atom != UINT32_MAX) {
			e->atoms[g->pairs[k].atom].n++;
			ngated++;
		}
	e->atom_inst = core_arena_alloc(e->arena, (ngated + 1) * sizeof *e->atom_inst);
	if (!e->atom_inst)
		return CORE_ENOMEM;
	uint32_t off = 0;
	for (uint32_t a = 0; a < g->natoms; a++) {
		e->atoms[a].slot = g->atoms[a].slot;
		e->atoms[a].first = off;
		off += e->atoms[a].n;
		e->atoms[a].n = 0;
	}
	for (size_t k = 0; k < g->npairs; k++) {
		const eng_pair *pr = &g->pairs[k];
		if (pr->atom == UINT32_MAX)
			continue;
		eng_atom *a = &e->atoms[pr->atom];
		uint32_t entry = pr->inst << 1 | pr->clause; /* instance and clause */
		/* an instance may name the same atom twice in a clause: keep it once */
		if (a->n && e->atom_inst[a->first + a->n - 1] == entry)
			continue;
		e->atom_inst[a->first + a->n++] = entry;
	}
	return 0;
}

static int lits_db(eng_gatebuild *g)
{
	engine *e = g->e;
	int rc = CORE_ENOMEM;

	e->nlits = g->nlits;
	e->lits = core_arena_alloc(e->arena, ((size_t)g->nlits + 1) * sizeof *e->lits);
	e->lit_atoms = core_arena_alloc(e->arena, ((size_t)g->natoms + 1) * sizeof *e->lit_atoms);
	if (!e->lits || !e->lit_atoms)
		goto out;
	uint32_t off = 0;
	for (uint32_t l = 0; l < g->nlits; l++) {
		e->lits[l] = (eng_lit){.len = g->lits[l].len, .first = off, .n = 0};
		off += g->lits[l].natoms;
	}
	for (uint32_t a = 0; a < g->natoms; a++)
		if (!g->atoms[a].eq) {
			eng_lit *l = &e->lits[g->atoms[a].lit];
			e->lit_atoms[l->first + l->n++] = a;
		}
	rc = 0;
out:
	return rc;
}

/* ---- literal databases, one per distinct literal set ------------------------------------ */
typedef struct dbset {
	uint32_t *ids; /* sorted literal ids (malloc) */
	uint32_t n;
	hs_database_t *db;
	int rc;
} dbset;

typedef struct dbcache {
	eng_gatebuild *g;
	dbset *sets;
	size_t nsets, cap;
	uint32_t *src_set; /* per source: field set, keyword set (UINT32_MAX: none) */
} dbcache;

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The index of the set ids[0..n) (sorted here) among the sets so far, added
 * when new; UINT32_MAX for an empty set. */
static int set_of(dbcache *c, uint32_t *ids, uint32_t n, uint32_t *out)
{
	*out = UINT32_MAX;
	if (n == 0)
		return 0;
	qsort(ids, n, sizeof *ids, cmp_u32);
	for (size_t d = 0; d < c->nsets; d++)
		if (c->sets[d].n == n && memcmp(c->sets[d].ids, ids, n * sizeof *ids) == 0) {
			*out = (uint32_t)d;
			return 0;
		}
	if (core_grow((void **)&c->sets, &c->cap, c->nsets, sizeof *c->sets, 16))
		return CORE_ENOMEM;
	uint32_t *copy = malloc(n * sizeof *ids);
	if (!copy)
		return CORE_ENOMEM;
	memcpy(copy, ids, n * sizeof *ids);
	c->sets[c->nsets] = (dbset){.ids = copy, .n = n};
	*out = (uint32_t)c->nsets++;
	return 0;
}

/* The literal sets of source s (field literals and keyword literals) from
 * its instances' atoms. */
static int source_sets(dbcache *c, uint32_t s, const uint32_t *insts, uint32_t ninsts, const uint32_t *first,
		       const uint32_t *cnt, uint32_t *stamp, uint32_t *buf)
{
	eng_gatebuild *g = c->g;
	uint32_t n[2] = {0, 0};
	uint32_t *ids[2] = {buf, buf + g->nlits};
	for (uint32_t k = 0; k < ninsts; k++) {
		uint32_t i = insts[k];
		for (uint32_t p = first[i]; p < first[i] + cnt[i]; p++) {
			uint32_t a = g->pairs[p].atom;
			if (a == UINT32_MAX || g->atoms[a].eq)
				continue;
			uint32_t l = g->atoms[a].lit;
			if (stamp[l] == s + 1)
				continue;
			stamp[l] = s + 1;
			bool kw = g->lits[l].kw;
			ids[kw][n[kw]++] = l;
		}
	}
	int rc = set_of(c, ids[0], n[0], &c->src_set[2 * s]);
	return rc ? rc : set_of(c, ids[1], n[1], &c->src_set[2 * s + 1]);
}

static void compile_set(void *ctx, size_t i)
{
	dbcache *c = ctx;
	dbset *d = &c->sets[i];
	const eng_litb *lits = c->g->lits;
	const char **expr = malloc(d->n * sizeof *expr);
	unsigned *flags = malloc(d->n * sizeof *flags);
	size_t *lens = malloc(d->n * sizeof *lens);
	hs_compile_error_t *cerr = NULL;

	d->rc = CORE_ENOMEM;
	if (expr && flags && lens) {
		for (uint32_t k = 0; k < d->n; k++) {
			expr[k] = lits[d->ids[k]].text;
			flags[k] = HS_FLAG_CASELESS;
			lens[k] = lits[d->ids[k]].len;
		}
		d->rc = 0;
		if (hs_compile_lit_multi(expr, flags, d->ids, lens, d->n, HS_MODE_BLOCK, NULL, &d->db, &cerr) !=
		    HS_SUCCESS) {
			hs_free_compile_error(cerr);
			d->db = NULL;
			d->rc = CORE_EINVAL;
		}
	}
	free(expr);
	free(flags);
	free(lens);
}

/* Every source's databases: the distinct sets first, then their compilation
 * in parallel, then the scratch space for each (serial). */
static int all_source_dbs(eng_gatebuild *g, uint32_t *const *insts_of_src, const uint32_t *nis,
			  const uint32_t *first, const uint32_t *cnt)
{
	engine *e = g->e;
	dbcache c = {.g = g};
	uint32_t *stamp = calloc((size_t)g->nlits + 1, sizeof *stamp);
	uint32_t *buf = malloc(((size_t)g->nlits * 2 + 1) * sizeof *buf);
	int rc = CORE_ENOMEM;

	c.src_set = malloc(((size_t)e->nsources * 2 + 1) * sizeof *c.src_set);
	if (!stamp || !buf || !c.src_set)
		goto out;
	rc = 0;
	for (uint32_t s = 0; s < e->nsources && rc == 0; s++)
		rc = source_sets(&c, s, insts_of_src[s], nis[s], first, cnt, stamp, buf);
	if (rc || (rc = eng_parallel(c.nsets, compile_set, &c)) != 0)
		goto out;
	e->dbs = calloc(c.nsets + 1, sizeof *e->dbs);
	if (!e->dbs) {
		rc = CORE_ENOMEM;
		goto out;
	}
	for (size_t d = 0; d < c.nsets; d++) {
		if (c.sets[d].db)
			e->dbs[e->ndbs++] = c.sets[d].db; /* owned by the engine from here */
		if (c.sets[d].rc && !rc)
			rc = c.sets[d].rc;
		else if (!rc && hs_alloc_scratch(c.sets[d].db, &e->hs_proto) != HS_SUCCESS)
			rc = CORE_ENOMEM;
	}
	for (uint32_t s = 0; s < e->nsources && rc == 0; s++) {
		uint32_t f = c.src_set[2 * s], k = c.src_set[2 * s + 1];
		e->sources[s].db = f == UINT32_MAX ? NULL : c.sets[f].db;
		e->sources[s].kwdb = k == UINT32_MAX ? NULL : c.sets[k].db;
	}
out:
	for (size_t d = 0; d < c.nsets; d++)
		free(c.sets[d].ids);
	free(c.sets);
	free(c.src_set);
	free(stamp);
	free(buf);
	return rc;
}

/* Per source: the slots to read and the instances without a gate. */
static int source_lists(eng_gatebuild *g, uint32_t *const *insts_of_src, const uint32_t *nis)
{
	engine *e = g->e;
	uint32_t *first = calloc((size_t)e->ninsts + 1, sizeof *first);
	uint32_t *cnt = calloc((size_t)e->ninsts + 1, sizeof *cnt);
	uint32_t *stamp = calloc((size_t)g->nslots * 2 + 1, sizeof *stamp);
	uint32_t *tmp = malloc(((size_t)g->nslots * 2 + (size_t)e->ninsts + 1) * sizeof *tmp);
	int rc = CORE_ENOMEM;

	if (!first || !cnt || !stamp || !tmp)
		goto out;
	for (size_t k = g->npairs; k-- > 0;) { /* pairs are in instance order */
		first[g->pairs[k].inst] = (uint32_t)k;
		cnt[g->pairs[k].inst]++;
	}
	for (uint32_t s = 0; s < e->nsources; s++) {
		eng_source *src = &e->sources[s];
		uint32_t nscan = 0, neq = 0, nal = 0, base = g->nslots * 2;
		uint32_t *scan = tmp, *eqs = tmp + g->nslots;
		for (uint32_t k = 0; k < nis[s]; k++) {
			uint32_t i = insts_of_src[s][k];
			for (uint32_t p = first[i]; p < first[i] + cnt[i]; p++) {
				uint32_t a = g->pairs[p].atom;
				if (a == UINT32_MAX) {
					tmp[base + nal++] = i;
					continue;
				}
				uint32_t sl = g->atoms[a].slot, key = sl * 2 + g->atoms[a].eq;
				if (g->slots[sl] == ENG_KW_NAME) {
					src->keywords = true;
					continue;
				}
				if (stamp[key] == s + 1)
					continue;
				stamp[key] = s + 1;
				if (g->atoms[a].eq)
					eqs[neq++] = sl;
				else
					scan[nscan++] = sl;
			}
		}
		src->scan_slots = dup_arr(e, scan, nscan, sizeof *scan);
		src->eq_slots = dup_arr(e, eqs, neq, sizeof *eqs);
		src->always = dup_arr(e, tmp + base, nal, sizeof *tmp);
		src->insts = dup_arr(e, insts_of_src[s], nis[s], sizeof(uint32_t));
		if (!src->scan_slots || !src->eq_slots || !src->always || !src->insts)
			goto out;
		src->nscan = nscan;
		src->neq = neq;
		src->nalways = nal;
		src->ninsts = nis[s];
	}
	if ((rc = all_source_dbs(g, insts_of_src, nis, first, cnt)) != 0)
		goto out;
	rc = CORE_ENOMEM;
	for (uint32_t i = 0; i < e->ninsts; i++) {
		bool top = cnt[i] && g->pairs[first[i]].atom == UINT32_MAX;
		e->info.always += top;
		e->info.gated += !top;
	}
	rc = 0;
out:
	free(first);
	free(cnt);
	free(stamp);
	free(tmp);
	return rc;
}

int eng_gate_finish(eng_gatebuild *g, uint32_t *const *insts_of_src, const uint32_t *n)
{
	engine *e = g->e;
	int rc;

	e->nslots = g->nslots;
	e->slots = dup_arr(e, g->slots, g->nslots, sizeof *g->slots);
	if (!e->slots)
		return CORE_ENOMEM;
	e->kw_slot = UINT32_MAX;
	for (uint32_t sl = 0; sl < g->nslots; sl++)
		if (g->slots[sl] == ENG_KW_NAME)
			e->kw_slot = sl;
	if ((rc = atoms_csr(g)) != 0 || (rc = lits_db(g)) != 0 || (rc = source_lists(g, insts_of_src, n)) != 0)
		return rc;
	e->info.literals = g->nlits;
	for (uint32_t l = 0; l < g->nlits && !e->fold_scan; l++)
		e->fold_scan = eng_has_high(g->lits[l].text, g->lits[l].len);
	e->eq = g->eqmap.t;
	e->eq_mask = g->eqmap.mask;
	g->eqmap.t = NULL;
	for (uint32_t j = 0; e->eq && j <= e->eq_mask; j++)
		if (e->eq[j].hash && e->eq[j].len > e->eq_maxlen)
			e->eq_maxlen = e->eq[j].len;
	return 0;
}
