/* match.c: engine_match — route, scan, confirm, filter — and the scratch. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine_int.h"

#define SEG_NUM 32u /* bytes of number text per segment */

/* ---- scratch ------------------------------------------------------------------- */
static uint32_t max_searches(const engine *e)
{
	uint32_t m = 1;
	for (uint32_t p = 0; p < e->nprogs; p++)
		if (e->progs[p].r->nsearches > m)
			m = e->progs[p].r->nsearches;
	return m;
}

engine_scratch *engine_scratch_new(const engine *e)
{
	engine_scratch *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->e = e;
	s->lcarena = core_arena_new(64 << 10, 0);
	core_buf_init(&s->catbuf, 0);
	s->bits = calloc(e->words + 1, sizeof *s->bits);
	s->srcs = calloc((size_t)e->nsources + 1, sizeof *s->srcs);
	s->inst_stamp = calloc((size_t)e->ninsts + 1, sizeof *s->inst_stamp);
	s->mask_stamp = calloc((size_t)e->ninsts + 1, sizeof *s->mask_stamp);
	s->mask = calloc((size_t)e->ninsts + 1, sizeof *s->mask);
	s->atom_stamp = calloc((size_t)e->natoms + 1, sizeof *s->atom_stamp);
	s->rule_stamp = calloc(e->set->nrules + 1, sizeof *s->rule_stamp);
	s->slot_stamp = calloc((size_t)e->nslots + 1, sizeof *s->slot_stamp);
	s->cand = calloc((size_t)e->ninsts + 1, sizeof *s->cand);
	s->out = calloc(e->set->nrules + 1, sizeof *s->out);
	s->memo = calloc(max_searches(e) + 1, sizeof *s->memo);
	s->eqbuf = malloc((size_t)e->eq_maxlen + 64);
	s->md = pcre2_match_data_create(1, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->lcarena || !s->bits || !s->srcs || !s->inst_stamp || !s->mask_stamp || !s->mask ||
	    !s->atom_stamp || !s->rule_stamp || !s->slot_stamp || !s->cand || !s->out || !s->memo ||
	    !s->eqbuf || !s->md || !s->mctx)
		goto fail;
	/* hostile input must not make a backtracking expression run for ever */
	pcre2_set_match_limit(s->mctx, 1000000);
	pcre2_set_depth_limit(s->mctx, 10000);
	if (e->hs_proto && hs_clone_scratch(e->hs_proto, &s->hs) != HS_SUCCESS)
		goto fail;
	return s;
fail:
	engine_scratch_free(s);
	return NULL;
}

void engine_scratch_free(engine_scratch *s)
{
	if (!s)
		return;
	if (s->hs)
		hs_free_scratch(s->hs);
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	free(s->bits);
	free(s->srcs);
	free(s->inst_stamp);
	free(s->mask_stamp);
	free(s->mask);
	free(s->atom_stamp);
	free(s->rule_stamp);
	free(s->slot_stamp);
	free(s->cand);
	free(s->out);
	free(s->memo);
	free(s->eqbuf);
	free(s->segs);
	free(s->vec);
	free(s->veclen);
	free(s->numbuf);
	core_arena_free(s->lcarena);
	core_buf_free(&s->catbuf);
	free(s);
}

static void next_gen(engine_scratch *s)
{
	const engine *e = s->e;
	if (++s->gen != 0)
		return;
	memset(s->inst_stamp, 0, ((size_t)e->ninsts + 1) * sizeof *s->inst_stamp);
	memset(s->mask_stamp, 0, ((size_t)e->ninsts + 1) * sizeof *s->mask_stamp);
	memset(s->atom_stamp, 0, ((size_t)e->natoms + 1) * sizeof *s->atom_stamp);
	memset(s->rule_stamp, 0, (e->set->nrules + 1) * sizeof *s->rule_stamp);
	memset(s->slot_stamp, 0, ((size_t)e->nslots + 1) * sizeof *s->slot_stamp);
	s->lc_gen = 0;
	s->gen = 1;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- candidates ------------------------------------------------------------------------ */
static inline bool routed(const engine_scratch *s, uint32_t src)
{
	return (s->bits[src / 64] >> (src % 64)) & 1;
}

static inline void add_cand(engine_scratch *s, uint32_t inst)
{
	if (s->inst_stamp[inst] == s->gen)
		return;
	const eng_inst *in = &s->e->insts[inst];
	bool ok = in->nsources == 1 ? routed(s, in->sources[0]) : false;
	for (uint32_t k = 0; !ok && k < in->nsources; k++)
		ok = routed(s, in->sources[k]);
	if (!ok)
		return;
	s->inst_stamp[inst] = s->gen;
	s->cand[s->ncand++] = inst;
}

static void hit_atom(engine_scratch *s, uint32_t atom)
{
	const engine *e = s->e;
	if (s->atom_stamp[atom] == s->gen)
		return;
	s->atom_stamp[atom] = s->gen;
	const eng_atom *a = &e->atoms[atom];
	for (uint32_t k = 0; k < a->n; k++) {
		uint32_t entry = e->atom_inst[a->first + k], inst = entry >> 1;
		if (s->mask_stamp[inst] != s->gen) {
			s->mask_stamp[inst] = s->gen;
			s->mask[inst] = 0;
		}
		s->mask[inst] |= (uint8_t)(1u << (entry & 1));
		if (s->mask[inst] == e->insts[inst].need)
			add_cand(s, inst);
	}
}

/* ---- scan ---------------------------------------------------------------------------------- */
static int grow_segs(engine_scratch *s)
{
	size_t cap = s->capsegs ? (size_t)s->capsegs * 2 : 64;
	eng_seg *sg = realloc(s->segs, cap * sizeof *sg);
	if (!sg)
		return CORE_ENOMEM;
	s->segs = sg;
	const char **v = realloc(s->vec, cap * sizeof *v);
	if (!v)
		return CORE_ENOMEM;
	s->vec = v;
	unsigned *vl = realloc(s->veclen, cap * sizeof *vl);
	if (!vl)
		return CORE_ENOMEM;
	s->veclen = vl;
	char *nb = realloc(s->numbuf, cap * SEG_NUM);
	if (!nb)
		return CORE_ENOMEM;
	/* number texts moved: re-point the segments that use them */
	for (uint32_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].num)
			s->vec[i] = nb + (size_t)i * SEG_NUM;
	s->numbuf = nb;
	s->capsegs = (uint32_t)cap;
	return 0;
}

/* Adds f's text (a number is copied into numbuf) as the next segment. */
static int add_scalar_seg(engine_scratch *s, const core_field *f, uint32_t slot)
{
	char tmp[32];
	const char *t;
	size_t n;
	if (!eng_scalar_text(f, tmp, &t, &n) || n == 0)
		return 0;
	if (s->nsegs == s->capsegs && grow_segs(s))
		return CORE_ENOMEM;
	uint32_t start = s->nsegs ? s->segs[s->nsegs - 1].end : 0;
	if (n > UINT32_MAX / 4 || start > UINT32_MAX / 4)
		return CORE_ETOOBIG; /* records are bounded far below this (max-record) */
	if (t >= tmp && t < tmp + sizeof tmp) {
		char *dst = s->numbuf + (size_t)s->nsegs * SEG_NUM;
		memcpy(dst, t, n);
		t = dst;
	}
	s->segs[s->nsegs] = (eng_seg){.start = start, .end = start + (uint32_t)n, .slot = slot,
				      .num = t == s->numbuf + (size_t)s->nsegs * SEG_NUM};
	s->vec[s->nsegs] = t;
	s->veclen[s->nsegs] = (unsigned)n;
	s->nsegs++;
	return 0;
}

static int add_field_segs(engine_scratch *s, const core_event *ev, const core_field *f, uint32_t slot)
{
	if (f->type != CORE_T_ARRAY)
		return add_scalar_seg(s, f, slot);
	uint32_t idx = core_event_idx(ev, f);
	for (uint32_t j = core_event_next_child(ev, idx, idx); j != UINT32_MAX; j = core_event_next_child(ev, idx, j)) {
		int rc = add_scalar_seg(s, &ev->f[j], slot);
		if (rc)
			return rc;
	}
	return 0;
}

static int on_lit(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
		  void *ctx)
{
	engine_scratch *s = ctx;
	const engine *e = s->e;
	const eng_lit *l = &e->lits[id];
	(void)from, (void)flags;
	if (to < l->len)
		return 0;
	uint64_t start = to - l->len;
	/* the segment holding start */
	uint32_t lo = 0, hi = s->nsegs;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (s->segs[mid].start <= start)
			lo = mid;
		else
			hi = mid;
	}
	const eng_seg *sg = &s->segs[lo];
	if (to > sg->end)
		return 0; /* spans two fields */
	for (uint32_t k = 0; k < l->n; k++) {
		uint32_t a = e->lit_atoms[l->first + k];
		if (e->atoms[a].slot == sg->slot)
			hit_atom(s, a);
	}
	return 0;
}

static int scan_segs(const hs_database_t *db, engine_scratch *s)
{
	if (!s->nsegs || !db)
		return 0;
	s->st.scans++;
	s->st.scan_bytes += s->segs[s->nsegs - 1].end;
	/* one contiguous copy scans faster than a vector of short pieces */
	uint32_t total = s->segs[s->nsegs - 1].end;
	s->catbuf.len = 0;
	if (core_buf_reserve(&s->catbuf, (size_t)total + 1))
		return CORE_ENOMEM;
	for (uint32_t i = 0; i < s->nsegs; i++) {
		char *d = s->catbuf.data + s->segs[i].start;
		if (s->e->fold_scan && eng_has_high(s->vec[i], s->veclen[i]))
			eng_fold(d, s->vec[i], s->veclen[i]); /* literals are folded too */
		else
			memcpy(d, s->vec[i], s->veclen[i]);
	}
	hs_error_t rc = hs_scan(db, s->catbuf.data, total, 0, s->hs, on_lit, s);
	return rc == HS_SUCCESS ? 0 : CORE_ENOMEM;
}

/* Keyword segments: every string and number of the event. */
static int kw_segs(const engine *e, engine_scratch *s, const core_event *ev)
{
	s->nsegs = 0;
	for (uint32_t j = 0; j < ev->n; j++) {
		const core_field *f = &ev->f[j];
		int rc;
		if ((f->type == CORE_T_STR || f->type == CORE_T_INT || f->type == CORE_T_FLOAT) &&
		    (rc = add_scalar_seg(s, f, e->kw_slot)) != 0)
			return rc;
	}
	return 0;
}

/* One pass per routed source over the fields its rules read, with the
 * literals of its rules; keyword literals over the whole event. */
static int scan(const engine *e, engine_scratch *s, const core_event *ev)
{
	int rc = 0;
	for (uint32_t k = 0; k < s->nsrcs && rc == 0; k++) {
		const eng_source *src = &e->sources[s->srcs[k]];
		if (!src->db)
			continue;
		s->nsegs = 0;
		for (uint32_t i = 0; i < src->nscan && rc == 0; i++) {
			uint32_t sl = src->scan_slots[i];
			const core_field *f = core_event_get(ev, e->slots[sl]);
			if (f)
				rc = add_field_segs(s, ev, f, sl);
		}
		if (rc == 0)
			rc = scan_segs(src->db, s);
	}
	bool built = false;
	for (uint32_t k = 0; k < s->nsrcs && rc == 0; k++) {
		const eng_source *src = &e->sources[s->srcs[k]];
		bool dup = false;
		for (uint32_t j = 0; j < k && !dup; j++)
			dup = e->sources[s->srcs[j]].kwdb == src->kwdb;
		if (!src->kwdb || dup)
			continue;
		if (!built && (rc = kw_segs(e, s, ev)) != 0)
			return rc;
		built = true;
		rc = scan_segs(src->kwdb, s);
	}
	return rc;
}

static void eq_lookup(const engine *e, engine_scratch *s, uint32_t slot, const core_field *f)
{
	size_t n;
	if (!eng_canon_field(f, s->eqbuf, (size_t)e->eq_maxlen + 64, &n))
		return;
	uint64_t h = eng_hash(slot, s->eqbuf, n);
	for (uint32_t j = (uint32_t)h & e->eq_mask; e->eq[j].hash; j = (j + 1) & e->eq_mask) {
		const eng_eq *q = &e->eq[j];
		if (q->hash == h && q->slot == slot && q->len == n && memcmp(q->text, s->eqbuf, n) == 0) {
			hit_atom(s, q->atom);
			return;
		}
	}
}

static void equalities(const engine *e, engine_scratch *s, const core_event *ev)
{
	if (!e->eq)
		return;
	for (uint32_t k = 0; k < s->nsrcs; k++) {
		const eng_source *src = &e->sources[s->srcs[k]];
		for (uint32_t i = 0; i < src->neq; i++) {
			uint32_t sl = src->eq_slots[i];
			if (s->slot_stamp[sl] == s->gen)
				continue;
			s->slot_stamp[sl] = s->gen;
			const core_field *f = core_event_get(ev, e->slots[sl]);
			if (!f)
				continue;
			if (f->type != CORE_T_ARRAY) {
				eq_lookup(e, s, sl, f);
				continue;
			}
			uint32_t idx = core_event_idx(ev, f);
			for (uint32_t j = core_event_next_child(ev, idx, idx); j != UINT32_MAX;
			     j = core_event_next_child(ev, idx, j))
				eq_lookup(e, s, sl, &ev->f[j]);
		}
	}
}

/* ---- confirm ---------------------------------------------------------------------------------- */
enum { MEMO_UNKNOWN = 0, MEMO_FALSE = 1, MEMO_TRUE = 2 };

typedef struct evalctx {
	const engine *e;
	engine_scratch *s;
	const eng_prog *p;
	const core_name *names;
	const core_event *ev;
} evalctx;

static bool eval_search(const evalctx *x, uint32_t si)
{
	uint8_t *m = &x->s->memo[si];
	if (*m != MEMO_UNKNOWN)
		return *m == MEMO_TRUE;
	const rules_search *sr = &x->p->r->searches[si];
	uint32_t k = x->p->search_item[si];
	bool r = false;
	for (uint32_t a = 0; a < sr->nalts && !r; a++) {
		uint32_t n = sr->alts[a].nitems, i = 0;
		while (i < n && eng_item_eval(x->e, x->s, x->p, &x->p->items[k + i], x->names, x->ev))
			i++;
		r = i == n;
		k += n;
	}
	*m = r ? MEMO_TRUE : MEMO_FALSE;
	return r;
}

static bool eval_cond(const evalctx *x, const rules_cond *c)
{
	switch (c->op) {
	case RULES_COND_REF:
		return eval_search(x, c->search);
	case RULES_COND_NOT:
		return !eval_cond(x, c->a);
	case RULES_COND_AND:
		return eval_cond(x, c->a) && eval_cond(x, c->b);
	case RULES_COND_OR:
		return eval_cond(x, c->a) || eval_cond(x, c->b);
	case RULES_COND_ANY_OF:
		for (uint32_t i = 0; i < c->nsearches; i++)
			if (eval_search(x, c->searches[i]))
				return true;
		return false;
	case RULES_COND_ALL_OF:
		for (uint32_t i = 0; i < c->nsearches; i++)
			if (!eval_search(x, c->searches[i]))
				return false;
		return true;
	}
	return false;
}

static bool eval_prog(const engine *e, engine_scratch *s, const eng_prog *p, const core_name *names,
		      const core_event *ev)
{
	evalctx x = {.e = e, .s = s, .p = p, .names = names, .ev = ev};
	memset(s->memo, 0, p->r->nsearches);
	for (uint32_t c = 0; c < p->r->nconds; c++)
		if (eval_cond(&x, p->r->conds[c]))
			return true;
	return false;
}

static void confirm(const engine *e, engine_scratch *s, const core_event *ev)
{
	for (uint32_t k = 0; k < s->ncand; k++) {
		const eng_inst *in = &e->insts[s->cand[k]];
		const eng_prog *p = &e->progs[in->prog];
		if (s->rule_stamp[p->rule] == s->gen)
			continue;
		s->st.candidates++;
		if (!eval_prog(e, s, p, in->names, ev))
			continue;
		bool filtered = false;
		for (uint32_t f = 0; f < p->nfilters && !filtered; f++)
			filtered = eval_prog(e, s, &e->progs[p->filters[f]], in->fnames[f], ev);
		if (filtered)
			continue;
		s->rule_stamp[p->rule] = s->gen;
		s->out[s->nout++] = p->rule;
	}
}

static void sort_out(uint32_t *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint32_t x = v[i], j = i;
		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

int engine_match(const engine *e, engine_scratch *s, const core_event *ev, const uint32_t **rules)
{
	uint64_t t0 = 0, t1, t2;
	int rc;

	*rules = s->out;
	s->nout = 0;
	s->ncand = 0;
	s->nsrcs = 0;
	s->st.events++;
	next_gen(s);
	if (e->ninsts == 0)
		return 0; /* no rule applies to any source: nothing to route */
	if (s->timing)
		t0 = now_ns();
	rc = rules_ls_route(e->ls, ev, s->bits, e->words);
	if (rc <= 0)
		return rc < 0 ? rc : 0;
	for (size_t w = 0; w < e->words; w++)
		for (uint64_t b = s->bits[w]; b; b &= b - 1)
			s->srcs[s->nsrcs++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(b));
	s->st.routed++;
	if (s->timing) {
		t1 = now_ns();
		s->st.ns_route += t1 - t0;
		t0 = t1;
	}
	for (uint32_t k = 0; k < s->nsrcs; k++) {
		const eng_source *src = &e->sources[s->srcs[k]];
		const uint32_t *list = e->opt.no_prefilter ? src->insts : src->always;
		uint32_t n = e->opt.no_prefilter ? src->ninsts : src->nalways;
		for (uint32_t i = 0; i < n; i++)
			add_cand(s, list[i]);
	}
	if (!e->opt.no_prefilter) {
		if ((rc = scan(e, s, ev)) != 0)
			return rc;
		equalities(e, s, ev);
	}
	if (s->timing) {
		t2 = now_ns();
		s->st.ns_scan += t2 - t0;
		t0 = t2;
	}
	confirm(e, s, ev);
	sort_out(s->out, s->nout);
	s->st.matches += s->nout;
	if (s->timing)
		s->st.ns_confirm += now_ns() - t0;
	return (int)s->nout;
}

const core_field *engine_field(const engine *e, engine_scratch *s, const core_event *ev, const char *field)
{
	for (uint32_t k = 0; k < s->nsrcs; k++) {
		core_name nm = rules_ls_field_name(e->ls, s->srcs[k], field);
		const core_field *f = nm ? core_event_get(ev, nm) : NULL;
		if (f)
			return f;
	}
	return core_event_get_path(ev, field);
}

void engine_scratch_stats(const engine_scratch *s, engine_stats *out)
{
	*out = s->st;
}

void engine_scratch_timing(engine_scratch *s, bool on)
{
	s->timing = on;
}
