/* build.c: compiles a rules_set into an engine (engine_int.h): programs of
 * rules and filters, instances per field renaming, the prefilter (a gate of
 * atoms per instance, the literal database, the equality table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"
#include "engine/gate.h"

/* ---- failures --------------------------------------------------------------------- */
static int add_failure(engine *e, uint32_t rule, const char *why)
{
	const char *copy = core_arena_strndup(e->arena, why, strlen(why));
	if (!copy)
		return CORE_ENOMEM;
	if (core_grow((void **)&e->failed_rule, &e->capfailed, e->nfailed, sizeof *e->failed_rule, 16))
		return CORE_ENOMEM;
	/* failed_why has the capacity of failed_rule */
	const char **w = realloc(e->failed_why, e->capfailed * sizeof *w);
	if (!w)
		return CORE_ENOMEM;
	e->failed_why = w;
	e->failed_rule[e->nfailed] = rule;
	e->failed_why[e->nfailed++] = copy;
	return 0;
}

/* ---- programs -------------------------------------------------------------------------- */
/* Unescaped bytes of a pattern without wildcards, lowercased unless cased. */
static const char *plain_text(core_arena *a, const rules_value *v, bool cased, uint32_t *len)
{
	char *d = core_arena_alloc(a, (size_t)v->len + 1);
	uint32_t k = 0;
	if (!d)
		return NULL;
	for (uint32_t i = 0; i < v->len; i++) {
		char c = v->s[i];
		if (c == '\\' && i + 1 < v->len)
			c = v->s[++i];
		d[k++] = c;
	}
	d[k] = 0;
	if (!cased)
		eng_fold(d, d, k);
	*len = k;
	return d;
}

static int prep_item(engine *e, eng_item *ei, uint32_t *names)
{
	const rules_item *it = ei->it;

	ei->slot = (*names)++;
	if (it->nvalues && it->values[0].type == RULES_V_FIELDREF)
		*names += it->nvalues;
	ei->vals = core_arena_alloc(e->arena, (it->nvalues + 1) * sizeof *ei->vals);
	if (!ei->vals)
		return CORE_ENOMEM;
	memset(ei->vals, 0, (it->nvalues + 1) * sizeof *ei->vals);
	for (uint32_t k = 0; k < it->nvalues; k++) {
		const rules_value *v = &it->values[k];
		eng_val *ev = &ei->vals[k];
		if (v->type == RULES_V_STR && !(v->flags & RULES_VF_GLOB)) {
			ev->lit = plain_text(e->arena, v, it->cased, &ev->lit_len);
			if (!ev->lit)
				return CORE_ENOMEM;
		} else if (v->type == RULES_V_STR && !it->cased && eng_has_high(v->s, v->len)) {
			char *pat = core_arena_alloc(e->arena, (size_t)v->len + 1);
			if (!pat)
				return CORE_ENOMEM;
			eng_fold(pat, v->s, v->len);
			pat[v->len] = 0;
			ev->pat = pat;
		} else if (v->type == RULES_V_RE) {
			/* compiled later, all together and in parallel (compile_res) */
			ev->re = core_arena_alloc(e->arena, sizeof *ev->re);
			if (!ev->re)
				return CORE_ENOMEM;
			memset(ev->re, 0, sizeof *ev->re);
		}
	}
	return 0;
}

static int make_prog(engine *e, uint32_t rule, eng_prog *p)
{
	const rules_rule *r = &e->set->rules[rule];
	uint32_t n = 0, names = 0;
	int rc;

	memset(p, 0, sizeof *p);
	p->r = r;
	p->rule = rule;
	for (uint32_t s = 0; s < r->nsearches; s++)
		for (uint32_t a = 0; a < r->searches[s].nalts; a++)
			n += r->searches[s].alts[a].nitems;
	p->items = core_arena_alloc(e->arena, (n + 1) * sizeof *p->items);
	p->search_item = core_arena_alloc(e->arena, (r->nsearches + 1) * sizeof *p->search_item);
	if (!p->items || !p->search_item)
		return CORE_ENOMEM;
	n = 0;
	for (uint32_t s = 0; s < r->nsearches; s++) {
		p->search_item[s] = n;
		for (uint32_t a = 0; a < r->searches[s].nalts; a++) {
			const rules_alt *alt = &r->searches[s].alts[a];
			for (uint32_t i = 0; i < alt->nitems; i++) {
				p->items[n].it = &alt->items[i];
				if ((rc = prep_item(e, &p->items[n], &names)) != 0)
					return rc;
				n++;
			}
		}
	}
	p->search_item[r->nsearches] = n;
	p->nitems = n;
	p->nnames = names;
	return 0;
}

/* Resolves the names of prog p for source src into out[p->nnames]. */
static void resolve(const engine *e, const eng_prog *p, uint32_t src, core_name *out)
{
	for (uint32_t k = 0; k < p->nitems; k++) {
		const eng_item *ei = &p->items[k];
		const rules_item *it = ei->it;
		out[ei->slot] = it->field ? rules_ls_field_name(e->ls, src, it->field) : 0;
		if (it->nvalues && it->values[0].type == RULES_V_FIELDREF)
			for (uint32_t v = 0; v < it->nvalues; v++)
				out[ei->slot + 1 + v] = rules_ls_field_name(e->ls, src, it->values[v].s);
	}
}

/* ---- building ------------------------------------------------------------------------------- */
typedef struct bld {
	engine *e;
	int32_t *prog_of;   /* set rule -> prog, or -1 */
	uint32_t nrules;    /* progs that are rules (filters follow) */
	uint32_t **filt;    /* per prog: filter progs (malloc) */
	uint32_t *nfilt;
	size_t *capfilt;
	char why[300];
} bld;

static int build_progs(bld *b)
{
	engine *e = b->e;
	const rules_set *set = e->set;
	int rc = 0;

	e->progs = core_arena_alloc(e->arena, (set->nrules + 1) * sizeof *e->progs);
	b->prog_of = malloc((set->nrules + 1) * sizeof *b->prog_of);
	if (!e->progs || !b->prog_of)
		return CORE_ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < set->nrules; i++) {
			uint8_t kind = set->rules[i].kind;
			if (pass == 0)
				b->prog_of[i] = -1;
			if ((pass == 0 && kind != RULES_KIND_RULE) || (pass == 1 && kind != RULES_KIND_FILTER))
				continue;
			rc = make_prog(e, i, &e->progs[e->nprogs]);
			if (rc)
				return rc;
			b->prog_of[i] = (int32_t)e->nprogs++;
			if (pass == 0)
				e->info.rules++;
		}
		if (pass == 0)
			b->nrules = e->nprogs;
	}
	return 0;
}

/* ---- regular expressions, compiled in parallel ------------------------------------ */
typedef struct rejob {
	eng_re *r;
	const rules_value *v;
	uint8_t flags;
	uint32_t prog;
	int rc;
	char why[200];
} rejob;

typedef struct rejobs {
	rejob *j;
	bool use_hs;
} rejobs;

static bool routable(const engine *e, const eng_prog *p)
{
	for (uint32_t src = 0; src < e->nsources; src++)
		if (rules_ls_applies(e->ls, src, &p->r->logsource))
			return true;
	return false;
}

static void re_job(void *ctx, size_t i)
{
	rejobs *js = ctx;
	rejob *j = &js->j[i];
	j->rc = eng_re_compile(js->use_hs, j->v, j->flags, j->r, j->why, sizeof j->why);
}

static int compile_res(bld *b)
{
	engine *e = b->e;
	rejobs js = {.use_hs = !e->opt.no_hyperscan_re};
	size_t n = 0, cap = 0;
	int rc = 0;

	for (uint32_t p = 0; p < e->nprogs; p++) {
		/* a rule no source gives the logsource of never runs: nothing to
		 * compile (its instances are never made) */
		if (p < b->nrules && !routable(e, &e->progs[p]))
			continue;
		for (uint32_t k = 0; k < e->progs[p].nitems; k++) {
			const eng_item *ei = &e->progs[p].items[k];
			for (uint32_t v = 0; v < ei->it->nvalues; v++) {
				if (!ei->vals[v].re)
					continue;
				if (core_grow((void **)&js.j, &cap, n, sizeof *js.j, 64)) {
					rc = CORE_ENOMEM;
					goto out;
				}
				js.j[n++] = (rejob){.r = ei->vals[v].re, .v = &ei->it->values[v],
						    .flags = ei->it->re_flags, .prog = p};
			}
		}
	}
	if ((rc = eng_parallel(n, re_job, &js)) != 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rejob *j = &js.j[i];
		eng_prog *p = &e->progs[j->prog];
		if (j->rc) {
			if (!p->failed && (rc = add_failure(e, p->rule, j->why)) == 0 && p->r->kind == RULES_KIND_RULE)
				e->info.rules--;
			p->failed = true;
			continue;
		}
		if (j->r->hs && hs_alloc_scratch(j->r->hs, &e->hs_proto) != HS_SUCCESS)
			rc = CORE_ENOMEM;
		if (j->r->hs)
			e->info.re_hs++;
		else
			e->info.re_pcre++;
	}
	e->info.failed = e->nfailed;
out:
	free(js.j);
	return rc;
}

static int attach_filters(bld *b)
{
	engine *e = b->e;
	b->filt = calloc(e->nprogs + 1, sizeof *b->filt);
	b->nfilt = calloc(e->nprogs + 1, sizeof *b->nfilt);
	b->capfilt = calloc(e->nprogs + 1, sizeof *b->capfilt);
	if (!b->filt || !b->nfilt || !b->capfilt)
		return CORE_ENOMEM;
	for (uint32_t f = b->nrules; f < e->nprogs; f++) {
		const rules_filter *fl = &e->progs[f].r->filter;
		bool used = false;
		if (e->progs[f].failed)
			continue;
		for (uint32_t k = 0; k < fl->nrefs; k++) {
			int32_t t = fl->refs[k].target;
			if (t < 0 || b->prog_of[t] < 0 || (uint32_t)b->prog_of[t] >= b->nrules)
				continue;
			uint32_t p = (uint32_t)b->prog_of[t];
			if (e->progs[p].failed)
				continue;
			if (core_grow((void **)&b->filt[p], &b->capfilt[p], b->nfilt[p], sizeof **b->filt, 4))
				return CORE_ENOMEM;
			b->filt[p][b->nfilt[p]++] = f;
			used = true;
		}
		e->info.filters += used;
	}
	for (uint32_t p = 0; p < b->nrules; p++) {
		e->progs[p].nfilters = b->nfilt[p];
		if (!b->nfilt[p])
			continue;
		e->progs[p].filters = core_arena_alloc(e->arena, b->nfilt[p] * sizeof(uint32_t));
		if (!e->progs[p].filters)
			return CORE_ENOMEM;
		memcpy(e->progs[p].filters, b->filt[p], b->nfilt[p] * sizeof(uint32_t));
	}
	return 0;
}

/* Names of prog p and its filters for src, concatenated, into buf. */
static uint32_t all_names(const engine *e, const eng_prog *p, uint32_t src, core_name *buf)
{
	uint32_t n = p->nnames;
	resolve(e, p, src, buf);
	for (uint32_t f = 0; f < p->nfilters; f++) {
		const eng_prog *fp = &e->progs[p->filters[f]];
		resolve(e, fp, src, buf + n);
		n += fp->nnames;
	}
	return n;
}

typedef struct srclists {
	uint32_t **v;
	uint32_t *n;
	size_t *cap;
} srclists;

static int push(srclists *l, uint32_t i, uint32_t x)
{
	if (core_grow((void **)&l->v[i], &l->cap[i], l->n[i], sizeof(uint32_t), 8))
		return CORE_ENOMEM;
	l->v[i][l->n[i]++] = x;
	return 0;
}

/* One prog's instances: sources grouped by identical names. */
static int prog_instances(bld *b, uint32_t p, core_name *buf, core_name *buf2, size_t *capinst,
			  srclists *insts_of_src)
{
	engine *e = b->e;
	const eng_prog *pg = &e->progs[p];
	uint32_t first = e->ninsts;
	bool any = false;

	for (uint32_t src = 0; src < e->nsources; src++) {
		if (!rules_ls_applies(e->ls, src, &pg->r->logsource))
			continue;
		any = true;
		uint32_t n = all_names(e, pg, src, buf);
		uint32_t found = UINT32_MAX;
		for (uint32_t i = first; i < e->ninsts && found == UINT32_MAX; i++) {
			(void)all_names(e, pg, e->insts[i].sources[0], buf2);
			if (memcmp(buf, buf2, n * sizeof *buf) == 0)
				found = i;
		}
		if (found == UINT32_MAX) {
			if (core_grow((void **)&e->insts, capinst, e->ninsts, sizeof *e->insts, 256))
				return CORE_ENOMEM;
			eng_inst *in = &e->insts[e->ninsts];
			memset(in, 0, sizeof *in);
			in->prog = p;
			in->names = core_arena_alloc(e->arena, (pg->nnames + 1) * sizeof *in->names);
			in->sources = core_arena_alloc(e->arena, e->nsources * sizeof *in->sources);
			in->fnames = core_arena_alloc(e->arena, (pg->nfilters + 1) * sizeof *in->fnames);
			if (!in->names || !in->sources || !in->fnames)
				return CORE_ENOMEM;
			memcpy(in->names, buf, pg->nnames * sizeof *buf);
			uint32_t off = pg->nnames;
			for (uint32_t f = 0; f < pg->nfilters; f++) {
				uint32_t fn = e->progs[pg->filters[f]].nnames;
				in->fnames[f] = core_arena_alloc(e->arena, (fn + 1) * sizeof(core_name));
				if (!in->fnames[f])
					return CORE_ENOMEM;
				memcpy(in->fnames[f], buf + off, fn * sizeof *buf);
				off += fn;
			}
			found = e->ninsts++;
		}
		eng_inst *in = &e->insts[found];
		in->sources[in->nsources++] = src;
		if (push(insts_of_src, src, found))
			return CORE_ENOMEM;
	}
	if (!any)
		e->info.unrouted++;
	return 0;
}

static int build_instances(bld *b, srclists *insts_of_src)
{
	engine *e = b->e;
	size_t capinst = 0, maxn = 1;
	int rc = 0;

	for (uint32_t p = 0; p < b->nrules; p++) {
		size_t n = e->progs[p].nnames;
		for (uint32_t f = 0; f < e->progs[p].nfilters; f++)
			n += e->progs[e->progs[p].filters[f]].nnames;
		if (n > maxn)
			maxn = n;
	}
	core_name *buf = malloc(maxn * sizeof *buf), *buf2 = malloc(maxn * sizeof *buf2);
	if (!buf || !buf2) {
		rc = CORE_ENOMEM;
		goto out;
	}
	for (uint32_t p = 0; p < b->nrules && rc == 0; p++)
		if (!e->progs[p].failed)
			rc = prog_instances(b, p, buf, buf2, &capinst, insts_of_src);
	e->info.instances = e->ninsts;
out:
	free(buf);
	free(buf2);
	return rc;
}

/* ---- silent rules ------------------------------------------------------------------------------ */
static int mark_silent(engine *e)
{
	const rules_set *set = e->set;
	bool *loud = calloc(set->nrules + 1, sizeof *loud);
	e->silent = core_arena_alloc(e->arena, (set->nrules + 1) * sizeof *e->silent);
	if (!loud || !e->silent) {
		free(loud);
		return CORE_ENOMEM;
	}
	memset(e->silent, 0, (set->nrules + 1) * sizeof *e->silent);
	for (uint32_t i = 0; i < set->nrules; i++) {
		const rules_rule *r = &set->rules[i];
		if (r->kind != RULES_KIND_CORRELATION)
			continue;
		for (uint32_t k = 0; k < r->corr.nrefs; k++) {
			int32_t t = r->corr.refs[k].target;
			if (t < 0)
				continue;
			e->silent[t] = true;
			loud[t] |= r->corr.generate;
		}
	}
	for (uint32_t i = 0; i < set->nrules; i++)
		e->silent[i] = e->silent[i] && !loud[i];
	free(loud);
	return 0;
}

/* ---- the prefilter ------------------------------------------------------------------------------- */
static int build_prefilter(bld *b, srclists *insts_of_src)
{
	engine *e = b->e;
	eng_gatebuild g;
	int rc = eng_gate_begin(&g, e);

	for (uint32_t i = 0; i < e->ninsts && rc == 0; i++)
		rc = eng_gate_inst(&g, i);
	if (rc == 0)
		rc = eng_gate_finish(&g, insts_of_src->v, insts_of_src->n);
	eng_gate_end(&g);
	return rc;
}

/* ---- engine_build ---------------------------------------------------------------------------------- */
static void free_lists(srclists *l, uint32_t n)
{
	for (uint32_t i = 0; l->v && i < n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->n);
	free(l->cap);
}

int engine_build(const rules_set *set, const rules_ls_map *ls, const engine_options *opt,
		 engine **out, core_err *err)
{
	bld b = {0};
	srclists isrc = {0};
	uint32_t nsrc = 0;
	engine *e = calloc(1, sizeof *e);
	int rc = CORE_ENOMEM;

	*out = NULL;
	if (!set || !ls) {
		rc = CORE_EINVAL;
		goto out;
	}
	if (!e)
		goto out;
	e->set = set;
	e->ls = ls;
	if (opt)
		e->opt = *opt;
	e->nsources = nsrc = (uint32_t)rules_ls_count(ls);
	e->words = rules_ls_words(ls);
	b.e = e;
	if (!(e->arena = core_arena_new(1 << 20, 0)))
		goto out;
	isrc.v = calloc(e->nsources + 1, sizeof *isrc.v);
	isrc.n = calloc(e->nsources + 1, sizeof *isrc.n);
	isrc.cap = calloc(e->nsources + 1, sizeof *isrc.cap);
	e->sources = core_arena_alloc(e->arena, (e->nsources + 1) * sizeof *e->sources);
	if (!isrc.v || !isrc.n || !isrc.cap || !e->sources)
		goto out;
	memset(e->sources, 0, (e->nsources + 1) * sizeof *e->sources);
	if ((rc = build_progs(&b)) != 0 || (rc = compile_res(&b)) != 0 || (rc = attach_filters(&b)) != 0 ||
	    (rc = build_instances(&b, &isrc)) != 0 || (rc = mark_silent(e)) != 0 ||
	    (rc = build_prefilter(&b, &isrc)) != 0)
		goto out;
	*out = e;
	e = NULL;
out:
	if (rc)
		core_err_set(err, rc, SIZE_MAX, "cannot build the detection engine: %s",
			     rc == CORE_ENOMEM ? "out of memory" : b.why[0] ? b.why : core_strerror(rc));
	free_lists(&isrc, nsrc);
	for (uint32_t p = 0; b.filt && p < b.nrules; p++)
		free(b.filt[p]);
	free(b.filt);
	free(b.nfilt);
	free(b.capfilt);
	free(b.prog_of);
	engine_free(e);
	return rc;
}

void engine_free(engine *e)
{
	if (!e)
		return;
	for (uint32_t p = 0; p < e->nprogs; p++)
		for (uint32_t k = 0; k < e->progs[p].nitems; k++) {
			const eng_item *ei = &e->progs[p].items[k];
			for (uint32_t v = 0; ei->vals && v < ei->it->nvalues; v++)
				eng_re_free(ei->vals[v].re);
		}
	for (uint32_t d = 0; d < e->ndbs; d++)
		hs_free_database(e->dbs[d]);
	free(e->dbs);
	if (e->hs_proto)
		hs_free_scratch(e->hs_proto);
	free(e->insts);
	free(e->eq);
	free(e->failed_rule);
	free(e->failed_why);
	core_arena_free(e->arena);
	free(e);
}

void engine_get_info(const engine *e, engine_info *out)
{
	*out = e->info;
}

bool engine_failure(const engine *e, size_t i, uint32_t *rule, const char **reason)
{
	if (i >= e->nfailed)
		return false;
	*rule = e->failed_rule[i];
	*reason = e->failed_why[i];
	return true;
}

bool engine_rule_silent(const engine *e, uint32_t rule)
{
	return rule < e->set->nrules && e->silent[rule];
}
