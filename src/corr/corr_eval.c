/* corr_eval.c: what a match adds to a group's window for each correlation
 * type, the expiry of sliding windows, the aggregate the condition sees and
 * the condition itself. */
#include <string.h>

#include "corr/corr_int.h"

bool corr_cond(const corr_cc *cc, double x)
{
	const rules_correlation *rc = cc->rc;
	unsigned m = rc->cmp;

	if (!m) /* temporal types without a condition: every referenced rule */
		return x >= (double)cc->npos;
	if ((m & RULES_CMP_GT) && !(x > rc->gt))
		return false;
	if ((m & RULES_CMP_GTE) && !(x >= rc->gte))
		return false;
	if ((m & RULES_CMP_LT) && !(x < rc->lt))
		return false;
	if ((m & RULES_CMP_LTE) && !(x <= rc->lte))
		return false;
	if ((m & RULES_CMP_EQ) && !(x == rc->eq))
		return false;
	if ((m & RULES_CMP_NEQ) && !(x != rc->neq))
		return false;
	return true;
}

static bool sliding(const corr_cc *cc)
{
	return cc->mode != CORR_MODE_CLOSING;
}

/* Removes the oldest entry of a sliding window with its effect on the
 * aggregates. */
static void pop_front(corr_cc *cc, corr_group *g)
{
	const corr_entry *e = corr_ring_front(g);
	if (cc->type == RULES_CORR_VALUE_COUNT || cc->type == RULES_CORR_VALUE_PERCENTILE) {
		if (e->u.h) {
			corr_vslot *s = corr_vmap_get(NULL, g, e->u.h, false);
			if (s && --s->count == 0)
				corr_vmap_del(&g->vals, e->u.h);
		}
	} else if (cc->type == RULES_CORR_VALUE_SUM || cc->type == RULES_CORR_VALUE_AVG) {
		g->sum -= e->u.v;
	}
	corr_ring_pop(g);
	if (g->n == 0) {
		g->sum = 0;
		g->overflow = 0;
	}
}

/* Adds e to the ring of g; when the bound stops the ring from growing, the
 * oldest entries make room (the window then undercounts: st.dropped). */
static int push(corr_state *c, corr_cc *cc, corr_group *g, corr_entry e)
{
	int rc;
	while ((rc = corr_ring_push(c, g, e)) == CORE_ETOOBIG && g->n > 0) {
		pop_front(cc, g);
		c->st.dropped++;
	}
	if (rc == CORE_ETOOBIG) {
		c->st.dropped++;
		return 1;
	}
	return rc;
}

static void add_temporal(corr_cc *cc, corr_group *g, const corr_in *in)
{
	int64_t *t = g->tpos;
	for (uint32_t p = 0; p < cc->npos; p++)
		if ((in->pos >> p & 1) && (t[p] == CORE_TS_NONE || in->ts > t[p]))
			t[p] = in->ts;
}

/* start[p]/end[p]: the ordered chain refs[0..p] with the latest start seen
 * so far, and when it ended. Positions are visited from the last so that one
 * match never serves twice in one chain. */
static void add_ordered(corr_cc *cc, corr_group *g, const corr_in *in)
{
	int64_t *start = g->tpos, *end = g->tpos + cc->npos, ts = in->ts;
	for (uint32_t q = cc->npos; q-- > 0;) {
		if (!(in->pos >> q & 1))
			continue;
		if (q == 0) {
			if (start[0] == CORE_TS_NONE || ts >= start[0])
				start[0] = end[0] = ts;
			continue;
		}
		int64_t s = start[q - 1], e = end[q - 1];
		if (s == CORE_TS_NONE || e > ts || corr_older(s, ts, cc->rc->timespan_ns))
			continue;
		if (start[q] == CORE_TS_NONE || s > start[q] || (s == start[q] && ts < end[q])) {
			start[q] = s;
			end[q] = ts;
		}
	}
}

/* The map entry of a value: past the cap a new value is only counted
 * (overflow); when the memory bound stops the map it is not counted. */
static uint64_t add_value(corr_state *c, corr_group *g, uint64_t h)
{
	corr_vslot *s = corr_vmap_get(c, g, h, true);
	if (!s) {
		if (g->vals.n >= CORR_MAX_DISTINCT)
			g->overflow++;
		else
			c->st.dropped++;
		return 0;
	}
	s->count++;
	return h;
}

int corr_add(corr_state *c, corr_cc *cc, corr_group *g, const corr_in *in)
{
	corr_entry e = {.ts = in->ts};
	int rc = 0;

	switch (cc->type) {
	case RULES_CORR_TEMPORAL:
		add_temporal(cc, g, in);
		g->n++;
		break;
	case RULES_CORR_TEMPORAL_ORDERED:
		add_ordered(cc, g, in);
		g->n++;
		break;
	case RULES_CORR_VALUE_COUNT:
	case RULES_CORR_VALUE_PERCENTILE:
		e.u.h = add_value(c, g, in->vhash);
		if (sliding(cc))
			rc = push(c, cc, g, e);
		else
			g->n++;
		if (rc == 1 && e.u.h) { /* not kept: take its count back */
			corr_vslot *s = corr_vmap_get(c, g, e.u.h, false);
			if (s && --s->count == 0)
				corr_vmap_del(&g->vals, e.u.h);
		}
		break;
	default: /* event_count, value_sum, value_avg */
		e.u.v = in->num;
		if (sliding(cc))
			rc = push(c, cc, g, e);
		else
			g->n++;
		if (rc == 0)
			g->sum += in->num;
		break;
	}
	if (rc < 0)
		return rc;
	if (rc == 0 && (g->first == CORE_TS_NONE || in->ts < g->first))
		g->first = in->ts;
	if (rc == 0 && (g->newest == CORE_TS_NONE || in->ts > g->newest))
		g->newest = in->ts;
	return 0;
}

void corr_expire(corr_state *c, corr_cc *cc, corr_group *g)
{
	(void)c;
	if (!sliding(cc) || cc->type == RULES_CORR_TEMPORAL || cc->type == RULES_CORR_TEMPORAL_ORDERED)
		return;
	while (g->n > 0 && corr_older(corr_ring_front(g)->ts, g->newest, cc->rc->timespan_ns))
		pop_front(cc, g);
	if (g->n > 0)
		g->first = corr_ring_front(g)->ts;
}

static void agg_temporal(const corr_cc *cc, const corr_group *g, corr_result *r)
{
	int64_t span = cc->rc->timespan_ns, first = CORE_TS_NONE;
	bool slide = sliding(cc);
	uint64_t n = 0;

	if (cc->type == RULES_CORR_TEMPORAL) {
		for (uint32_t p = 0; p < cc->npos; p++) {
			int64_t t = g->tpos[p];
			if (t == CORE_TS_NONE || (slide && corr_older(t, g->newest, span)))
				continue;
			n++;
			if (first == CORE_TS_NONE || t < first)
				first = t;
		}
	} else {
		for (uint32_t p = 0; p < cc->npos; p++) {
			int64_t s = g->tpos[p];
			if (s != CORE_TS_NONE && !(slide && corr_older(s, g->newest, span))) {
				n = p + 1;
				first = s;
			}
		}
	}
	r->count = n;
	r->value = (double)n;
	r->first_ts = first == CORE_TS_NONE ? g->first : first;
}

void corr_aggregate(const corr_cc *cc, corr_group *g, uint64_t h, corr_result *r)
{
	r->rule = cc->rule;
	r->first_ts = g->first;
	r->last_ts = g->newest;
	switch (cc->type) {
	case RULES_CORR_TEMPORAL:
	case RULES_CORR_TEMPORAL_ORDERED:
		agg_temporal(cc, g, r);
		break;
	case RULES_CORR_VALUE_COUNT:
		r->count = g->vals.n + g->overflow;
		r->value = (double)r->count;
		break;
	case RULES_CORR_VALUE_SUM:
		r->count = g->n;
		r->value = g->sum;
		break;
	case RULES_CORR_VALUE_AVG:
		r->count = g->n;
		r->value = g->n ? g->sum / (double)g->n : 0;
		break;
	case RULES_CORR_VALUE_PERCENTILE: {
		corr_vslot *s = h ? corr_vmap_get(NULL, g, h, false) : NULL;
		r->count = g->n;
		r->value = s && g->n ? 100.0 * (double)s->count / (double)g->n : 0;
		break;
	}
	default: /* event_count */
		r->count = g->n;
		r->value = (double)g->n;
		break;
	}
}
