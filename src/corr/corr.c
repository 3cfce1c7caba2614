/* corr.c: the correlation state: correlations compiled from the rule set
 * (group-by and value fields resolved per referenced rule through aliases),
 * which correlations each rule feeds, feeding a match (group key, window,
 * condition), emission and cascading into correlations of correlations,
 * idle-group expiry and the end-of-input flush. Semantics: corr.h and
 * docs/RULES.md, "Correlations". */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr/corr_int.h"

#define DEFAULT_MAX_BYTES ((size_t)64 << 20)

/* ---- compiling ------------------------------------------------------------------- */
/* The field name reads in the events of refs[pos]: the alias's field for that
 * rule (matched by name, id or the reference as written), else name. */
static const char *resolve(const rules_set *set, const rules_correlation *rc, uint32_t pos,
			   const char *name)
{
	const rules_ref *ref = &rc->refs[pos];
	const rules_rule *t = ref->target >= 0 ? &set->rules[ref->target] : NULL;
	for (uint32_t a = 0; a < rc->naliases; a++) {
		const rules_alias *al = &rc->aliases[a];
		if (strcmp(al->alias, name) != 0)
			continue;
		for (uint32_t j = 0; j < al->n; j++)
			if ((t && t->name && strcmp(al->rule[j], t->name) == 0) ||
			    (t && t->id && strcmp(al->rule[j], t->id) == 0) ||
			    (ref->text && strcmp(al->rule[j], ref->text) == 0))
				return al->field[j];
	}
	return name;
}

static uint8_t mode_of(const rules_correlation *rc)
{
	unsigned m = rc->cmp;
	if (rc->type == RULES_CORR_VALUE_PERCENTILE)
		return CORR_MODE_PERVALUE;
	if (!m)
		return CORR_MODE_RISING;
	if ((m & (RULES_CMP_LT | RULES_CMP_LTE | RULES_CMP_EQ)) || !(m & (RULES_CMP_GT | RULES_CMP_GTE)))
		return CORR_MODE_CLOSING;
	return CORR_MODE_RISING;
}

static int compile(corr_state *c, corr_cc *cc, uint32_t rule)
{
	const rules_correlation *rc = &c->set->rules[rule].corr;
	size_t fixed;

	cc->rule = rule;
	cc->rc = rc;
	cc->type = rc->type;
	cc->mode = mode_of(rc);
	cc->npos = rc->nrefs < 64 ? rc->nrefs : 64;
	cc->ngb = rc->group_by.n;
	cc->nval = rc->fields.n;
	cc->nbucket = 16;
	fixed = ((size_t)cc->npos * (cc->ngb + cc->nval)) * sizeof(char *) + cc->nbucket * sizeof(corr_group *);
	cc->gbf = calloc((size_t)cc->npos * cc->ngb + 1, sizeof *cc->gbf);
	cc->valf = calloc((size_t)cc->npos * cc->nval + 1, sizeof *cc->valf);
	cc->bucket = calloc(cc->nbucket, sizeof *cc->bucket);
	if (!cc->gbf || !cc->valf || !cc->bucket)
		return CORE_ENOMEM;
	for (uint32_t p = 0; p < cc->npos; p++) {
		for (uint32_t i = 0; i < cc->ngb; i++)
			cc->gbf[p * cc->ngb + i] = resolve(c->set, rc, p, rc->group_by.v[i]);
		for (uint32_t i = 0; i < cc->nval; i++)
			cc->valf[p * cc->nval + i] = resolve(c->set, rc, p, rc->fields.v[i]);
	}
	c->st.bytes += fixed;
	return 0;
}

/* use_start/use: for each rule, the correlations referencing it and where. */
static int index_uses(corr_state *c)
{
	size_t nr = c->set->nrules, total = 0;
	c->use_start = calloc(nr + 1, sizeof *c->use_start);
	for (size_t k = 0; k < c->ncc; k++)
		total += c->cc[k].npos;
	c->use = calloc(total + 1, sizeof *c->use);
	if (!c->use_start || !c->use)
		return CORE_ENOMEM;
	for (size_t k = 0; k < c->ncc; k++) /* upper bound per target first */
		for (uint32_t p = 0; p < c->cc[k].npos; p++) {
			int32_t t = c->cc[k].rc->refs[p].target;
			if (t >= 0 && (size_t)t < nr)
				c->use_start[t + 1]++;
		}
	for (size_t r = 0; r < nr; r++)
		c->use_start[r + 1] += c->use_start[r];
	uint32_t *fill = calloc(nr + 1, sizeof *fill);
	if (!fill)
		return CORE_ENOMEM;
	for (size_t k = 0; k < c->ncc; k++)
		for (uint32_t p = 0; p < c->cc[k].npos; p++) {
			int32_t t = c->cc[k].rc->refs[p].target;
			if (t < 0 || (size_t)t >= nr)
				continue;
			corr_use *u = c->use + c->use_start[t], *end = u + fill[t];
			while (u < end && u->corr != k)
				u++;
			if (u == end)
				*u = (corr_use){.corr = (uint32_t)k}, fill[t]++;
			u->mask |= 1ull << p;
		}
	/* compact: drop the slots duplicates left unused */
	uint32_t w = 0;
	for (size_t r = 0; r < nr; r++) {
		uint32_t from = c->use_start[r];
		c->use_start[r] = w;
		for (uint32_t i = 0; i < fill[r]; i++)
			c->use[w++] = c->use[from + i];
	}
	c->use_start[nr] = w;
	free(fill);
	c->st.bytes += (nr + 1) * sizeof *c->use_start + (total + 1) * sizeof *c->use;
	return 0;
}

corr_state *corr_new(const rules_set *set, const corr_options *opt)
{
	corr_state *c = calloc(1, sizeof *c);
	if (!c || !set)
		goto fail;
	c->set = set;
	c->max_bytes = opt && opt->max_bytes ? opt->max_bytes : DEFAULT_MAX_BYTES;
	c->now = CORE_TS_NONE;
	core_buf_init(&c->key, 1u << 20);
	for (size_t i = 0; i < set->nrules; i++)
		c->ncc += set->rules[i].kind == RULES_KIND_CORRELATION;
	c->cc = calloc(c->ncc + 1, sizeof *c->cc);
	if (!c->cc)
		goto fail;
	c->st.bytes = sizeof *c + (c->ncc + 1) * sizeof *c->cc;
	for (size_t i = 0, k = 0; i < set->nrules; i++)
		if (set->rules[i].kind == RULES_KIND_CORRELATION && compile(c, &c->cc[k++], (uint32_t)i) != 0)
			goto fail;
	if (index_uses(c) != 0)
		goto fail;
	c->st.bytes_peak = c->st.bytes;
	return c;
fail:
	corr_free(c);
	return NULL;
}

void corr_free(corr_state *c)
{
	if (!c)
		return;
	while (c->gtail)
		corr_group_drop(c, c->gtail);
	for (size_t k = 0; c->cc && k < c->ncc; k++) {
		free(c->cc[k].gbf);
		free(c->cc[k].valf);
		free(c->cc[k].bucket);
	}
	free(c->cc);
	free(c->use_start);
	free(c->use);
	core_buf_free(&c->key);
	free(c);
}

size_t corr_count(const corr_state *c)
{
	return c ? c->ncc : 0;
}

bool corr_wants(const corr_state *c, uint32_t rule)
{
	return c && rule < c->set->nrules && c->use_start[rule + 1] > c->use_start[rule];
}

void corr_get_stats(const corr_state *c, corr_stats *out)
{
	if (c)
		*out = c->st;
	else
		memset(out, 0, sizeof *out);
}

/* ---- reading fields -------------------------------------------------------------- */
/* What a match reads fields from: an event, or a correlation result (its
 * group-by values first, then the event that completed it, if any). */
typedef struct src {
	const core_event *ev;
	corr_lookup_fn lookup;
	void *lud;
	const corr_result *res;
	int64_t ts;
} src;

typedef struct ctx {
	corr_emit_fn emit;
	void *eud;
} ctx;

static bool field_text(const core_field *f, char tmp[40], const char **p, size_t *n)
{
	int w = -1;
	if (!f)
		return false;
	switch (f->type) {
	case CORE_T_STR:
		*p = f->u.s ? f->u.s : "";
		*n = f->u.s ? f->len : 0;
		return true;
	case CORE_T_INT:
		w = snprintf(tmp, 40, "%" PRId64, f->u.i);
		break;
	case CORE_T_FLOAT: /* the shortest of 15 or 17 digits that reads back */
		w = snprintf(tmp, 40, "%.15g", f->u.f);
		if (strtod(tmp, NULL) != f->u.f)
			w = snprintf(tmp, 40, "%.17g", f->u.f);
		break;
	case CORE_T_BOOL:
		w = snprintf(tmp, 40, "%s", f->u.b ? "true" : "false");
		break;
	default: /* null, arrays and objects: no value */
		return false;
	}
	*p = tmp;
	*n = w > 0 && w < 40 ? (size_t)w : 0;
	return true;
}

static bool get_text(const src *s, const char *field, char tmp[40], const char **p, size_t *n)
{
	if (s->res)
		for (size_t i = 0; i < s->res->ngroup; i++)
			if (strcmp(s->res->group_fields[i], field) == 0) {
				*p = s->res->group_values[i];
				*n = strlen(*p);
				return true;
			}
	if (!s->ev)
		return false;
	const core_field *f = s->lookup ? s->lookup(s->lud, s->ev, field) : core_event_get_path(s->ev, field);
	return field_text(f, tmp, p, n);
}

static bool get_num(const src *s, const char *field, double *out)
{
	char tmp[40], buf[64], *end;
	const char *p;
	size_t n;

	if (!s->res && s->ev) {
		const core_field *f = s->lookup ? s->lookup(s->lud, s->ev, field) : core_event_get_path(s->ev, field);
		if (f && f->type == CORE_T_INT) {
			*out = (double)f->u.i;
			return true;
		}
		if (f && f->type == CORE_T_FLOAT) {
			*out = f->u.f;
			return isfinite(f->u.f);
		}
		if (f && f->type == CORE_T_BOOL)
			return false;
	}
	if (!get_text(s, field, tmp, &p, &n) || n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, p, n);
	buf[n] = 0;
	*out = strtod(buf, &end);
	return *end == 0 && end != buf && isfinite(*out);
}

/* The group key of the match into c->key: per group-by value its length
 * (u32), text and a NUL. Returns 0, 1 (a group-by field is missing) or
 * CORE_ENOMEM. */
static int build_key(corr_state *c, const corr_cc *cc, uint32_t pos, const src *s)
{
	c->key.len = 0;
	for (uint32_t i = 0; i < cc->ngb; i++) {
		char tmp[40];
		const char *p;
		size_t n;
		if (!get_text(s, cc->gbf[pos * cc->ngb + i], tmp, &p, &n))
			return 1;
		uint32_t l = (uint32_t)(n < CORR_MAX_VALUE ? n : CORR_MAX_VALUE);
		if (core_buf_add(&c->key, &l, sizeof l) != 0 || core_buf_add(&c->key, p, l) != 0 ||
		    core_buf_addc(&c->key, 0) != 0)
			return CORE_ENOMEM;
	}
	return 0;
}

/* The value of the match: a hash of the value fields' texts (value_count,
 * value_percentile) or a number (value_sum, value_avg). false: missing. */
static bool match_value(const corr_cc *cc, uint32_t pos, const src *s, corr_in *in)
{
	if (cc->type == RULES_CORR_VALUE_SUM || cc->type == RULES_CORR_VALUE_AVG)
		return get_num(s, cc->valf[pos * cc->nval], &in->num);
	if (cc->type != RULES_CORR_VALUE_COUNT && cc->type != RULES_CORR_VALUE_PERCENTILE)
		return true;
	uint32_t nv = cc->type == RULES_CORR_VALUE_COUNT ? cc->nval : 1;
	uint64_t h = 0;
	for (uint32_t i = 0; i < nv; i++) {
		char tmp[40];
		const char *p;
		size_t n;
		if (!get_text(s, cc->valf[pos * cc->nval + i], tmp, &p, &n))
			return false;
		n = n < CORR_MAX_VALUE ? n : CORR_MAX_VALUE;
		h = corr_hash(&n, sizeof n, h);
		h = corr_hash(p, n, h);
	}
	in->vhash = h ? h : 1;
	return true;
}

/* ---- results --------------------------------------------------------------------- */
typedef struct pend {
	corr_result r;
	void *mem; /* the values and their texts; NULL: no result */
} pend;

/* A copy of g's result (aggregate r) that outlives g. */
static int pend_make(const corr_cc *cc, const corr_group *g, const corr_result *r, pend *out)
{
	size_t nv = cc->ngb;
	char **vals = malloc((nv + 1) * sizeof *vals + g->keylen + 1);
	if (!vals)
		return CORE_ENOMEM;
	char *key = (char *)(vals + nv + 1), *p = key;
	if (g->keylen)
		memcpy(key, g->key, g->keylen);
	for (size_t i = 0; i < nv; i++) {
		uint32_t l;
		memcpy(&l, p, sizeof l);
		vals[i] = p + sizeof l;
		p += sizeof l + l + 1;
	}
	out->r = *r;
	out->r.group_fields = (const char *const *)cc->rc->group_by.v;
	out->r.group_values = (const char *const *)vals;
	out->r.ngroup = nv;
	out->mem = vals;
	return 0;
}

static int feed_rule(corr_state *c, uint32_t rule, const src *s, const ctx *x, int depth);

/* Emits p (then frees it) and feeds it to the correlations referencing its
 * rule; via (may be NULL) is the match that completed it. */
static int emit_pend(corr_state *c, pend *p, const src *via, const ctx *x, int depth)
{
	int rc = 0;
	if (!p->mem)
		return 0;
	c->st.results++;
	if (x->emit && (rc = x->emit(x->eud, &p->r)) != 0)
		goto out;
	if (depth + 1 < CORR_MAX_DEPTH) {
		src s = {.res = &p->r, .ts = p->r.last_ts};
		if (via) {
			s.ev = via->ev;
			s.lookup = via->lookup;
			s.lud = via->lud;
		}
		rc = feed_rule(c, p->r.rule, &s, x, depth + 1);
	}
out:
	free(p->mem);
	p->mem = NULL;
	return rc;
}

/* The pending result of a closing window (or none). */
static int close_window(corr_cc *cc, corr_group *g, pend *p)
{
	corr_result r = {0};
	if (cc->mode != CORR_MODE_CLOSING || g->n == 0)
		return 0;
	corr_aggregate(cc, g, 0, &r);
	return corr_cond(cc, r.value) ? pend_make(cc, g, &r, p) : 0;
}

/* Drops the idle groups of correlation k (newest event older than ts minus the
 * timespan), least recently updated first, a few per match. */
static int sweep(corr_state *c, uint32_t k, int64_t ts, const ctx *x, int depth)
{
	corr_cc *cc = &c->cc[k];
	for (int i = 0; i < CORR_SWEEP; i++) {
		corr_group *g = cc->lru_tail;
		pend p = {0};
		if (!g || (g->newest != CORE_TS_NONE && !corr_older(g->newest, ts, cc->rc->timespan_ns)))
			break; /* (a group whose every match was left out has no time) */
		int rc = close_window(cc, g, &p);
		corr_group_drop(c, g);
		c->st.expired++;
		if (rc == 0)
			rc = emit_pend(c, &p, NULL, x, depth);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- feeding ------------------------------------------------------------------------ */
/* Adds the match to g and decides: old receives the result of a closing
 * window the match closed, res the result the match completed. */
static int update(corr_state *c, corr_cc *cc, corr_group *g, const corr_in *in, pend *old, pend *res)
{
	int64_t span = cc->rc->timespan_ns;
	corr_result r = {0};
	int rc;

	if (g->n > 0 && cc->mode == CORR_MODE_CLOSING && corr_older(g->first, in->ts, span)) {
		if ((rc = close_window(cc, g, old)) != 0)
			return rc;
		corr_group_clear(c, g);
	}
	if (g->n > 0 && g->newest != CORE_TS_NONE && corr_older(in->ts, g->newest, span)) {
		c->st.late++;
		return 0;
	}
	if ((rc = corr_add(c, cc, g, in)) != 0 || cc->mode == CORR_MODE_CLOSING)
		return rc;
	corr_expire(c, cc, g);
	corr_aggregate(cc, g, in->vhash, &r);
	if (!corr_cond(cc, r.value))
		return 0;
	if (cc->mode == CORR_MODE_PERVALUE) {
		corr_vslot *sl = corr_vmap_get(c, g, in->vhash, false);
		if (!sl || sl->emitted)
			return 0;
		sl->emitted = 1;
		return pend_make(cc, g, &r, res);
	}
	rc = pend_make(cc, g, &r, res);
	corr_group_drop(c, g); /* emitted: the group starts again */
	return rc;
}

static int feed_corr(corr_state *c, const corr_use *u, const src *s, const ctx *x, int depth)
{
	corr_cc *cc = &c->cc[u->corr];
	uint32_t pos = (uint32_t)__builtin_ctzll(u->mask);
	corr_in in = {.ts = s->ts, .pos = u->mask};
	corr_group *g;
	pend old = {0}, res = {0};
	int rc = build_key(c, cc, pos, s);

	if (rc == 0 && !match_value(cc, pos, s, &in))
		rc = 1;
	if (rc == 1) {
		c->st.ungrouped++;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = corr_group_get(c, u->corr, corr_hash(c->key.data, c->key.len, 0), &g);
	if (rc == CORE_ETOOBIG) {
		c->st.dropped++;
		return 0;
	}
	if (rc == 0)
		rc = update(c, cc, g, &in, &old, &res);
	if (rc == 0)
		rc = emit_pend(c, &old, NULL, x, depth);
	if (rc == 0)
		rc = emit_pend(c, &res, s, x, depth);
	free(old.mem);
	free(res.mem);
	return rc;
}

static int feed_rule(corr_state *c, uint32_t rule, const src *s, const ctx *x, int depth)
{
	if (rule >= c->set->nrules)
		return 0;
	for (uint32_t i = c->use_start[rule]; i < c->use_start[rule + 1]; i++) {
		corr_use u = c->use[i];
		int rc = feed_corr(c, &u, s, x, depth);
		if (rc == 0)
			rc = sweep(c, u.corr, s->ts, x, depth);
		if (rc)
			return rc;
	}
	return 0;
}

int corr_feed(corr_state *c, uint32_t rule, const core_event *ev, corr_lookup_fn lookup, void *lud,
	      corr_emit_fn emit, void *eud)
{
	ctx x = {.emit = emit, .eud = eud};
	if (!c || !ev)
		return CORE_EINVAL;
	int64_t ts = ev->ts;
	c->st.fed++;
	if (ts == CORE_TS_NONE)
		ts = c->now == CORE_TS_NONE ? 0 : c->now;
	else if (c->now == CORE_TS_NONE || ts > c->now)
		c->now = ts;
	src s = {.ev = ev, .lookup = lookup, .lud = lud, .ts = ts};
	return feed_rule(c, rule, &s, &x, 0);
}

int corr_flush(corr_state *c, corr_emit_fn emit, void *eud)
{
	ctx x = {.emit = emit, .eud = eud};
	if (!c)
		return CORE_EINVAL;
	/* results cascade into correlations already flushed: a few passes */
	for (int pass = 0; pass < CORR_MAX_DEPTH && c->ghead; pass++)
		for (size_t k = 0; k < c->ncc; k++) {
			corr_cc *cc = &c->cc[k];
			for (size_t left = cc->ngroups; left > 0 && cc->lru_tail; left--) {
				corr_group *g = cc->lru_tail;
				pend p = {0};
				int rc = close_window(cc, g, &p);
				corr_group_drop(c, g);
				if (rc == 0)
					rc = emit_pend(c, &p, NULL, &x, pass);
				free(p.mem);
				if (rc)
					return rc;
			}
		}
	while (c->gtail)
		corr_group_drop(c, c->gtail);
	return 0;
}
