/* corr_group.c: groups of the correlation state (one hash per correlation,
 * two LRU lists: per correlation and global), the memory account with
 * eviction, the time-sorted ring of sliding-window entries and the value
 * maps (hash -> occurrences). */
#include <stdlib.h>
#include <string.h>

#include "corr/corr_int.h"

uint64_t corr_hash(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* ---- memory account ------------------------------------------------------------ */
static corr_group *victim(corr_state *c, uint32_t k, const corr_group *keep)
{
	corr_group *v = c->cc[k].lru_tail;
	if (v && v == keep)
		v = v->lprev;
	if (!v) {
		v = c->gtail;
		if (v && v == keep)
			v = v->gprev;
	}
	return v;
}

int corr_room(corr_state *c, size_t n, uint32_t k, const corr_group *keep)
{
	while (c->st.bytes + n > c->max_bytes || c->st.bytes + n < n) {
		corr_group *v = victim(c, k, keep);
		if (!v)
			return CORE_ENOMEM;
		corr_group_drop(c, v);
		c->st.evictions++;
	}
	c->st.bytes += n;
	if (c->st.bytes > c->st.bytes_peak)
		c->st.bytes_peak = c->st.bytes;
	return 0;
}

void corr_unaccount(corr_state *c, size_t n)
{
	c->st.bytes -= n < c->st.bytes ? n : c->st.bytes;
}

/* ---- LRU lists ------------------------------------------------------------------ */
static void unlink_lists(corr_state *c, corr_group *g)
{
	corr_cc *cc = &c->cc[g->corr];
	if (g->lprev)
		g->lprev->lnext = g->lnext;
	else
		cc->lru_head = g->lnext;
	if (g->lnext)
		g->lnext->lprev = g->lprev;
	else
		cc->lru_tail = g->lprev;
	if (g->gprev)
		g->gprev->gnext = g->gnext;
	else
		c->ghead = g->gnext;
	if (g->gnext)
		g->gnext->gprev = g->gprev;
	else
		c->gtail = g->gprev;
	g->lprev = g->lnext = g->gprev = g->gnext = NULL;
}

static void link_head(corr_state *c, corr_group *g)
{
	corr_cc *cc = &c->cc[g->corr];
	g->lprev = NULL;
	g->lnext = cc->lru_head;
	if (cc->lru_head)
		cc->lru_head->lprev = g;
	cc->lru_head = g;
	if (!cc->lru_tail)
		cc->lru_tail = g;
	g->gprev = NULL;
	g->gnext = c->ghead;
	if (c->ghead)
		c->ghead->gprev = g;
	c->ghead = g;
	if (!c->gtail)
		c->gtail = g;
}

/* ---- groups --------------------------------------------------------------------- */
static void grow_buckets(corr_state *c, corr_cc *cc, const corr_group *keep)
{
	size_t n = cc->nbucket * 2, bytes = n * sizeof *cc->bucket;
	if (n < cc->nbucket || corr_room(c, bytes, (uint32_t)(cc - c->cc), keep) != 0)
		return; /* chains just get longer */
	corr_group **b = calloc(n, sizeof *b);
	if (!b) {
		corr_unaccount(c, bytes);
		return;
	}
	for (size_t i = 0; i < cc->nbucket; i++)
		for (corr_group *g = cc->bucket[i], *next; g; g = next) {
			next = g->hnext;
			g->hnext = b[g->hash & (n - 1)];
			b[g->hash & (n - 1)] = g;
		}
	free(cc->bucket);
	corr_unaccount(c, cc->nbucket * sizeof *cc->bucket);
	cc->bucket = b;
	cc->nbucket = n;
}

static size_t ntpos(const corr_cc *cc)
{
	if (cc->type == RULES_CORR_TEMPORAL)
		return cc->npos;
	return cc->type == RULES_CORR_TEMPORAL_ORDERED ? 2 * (size_t)cc->npos : 0;
}

static int group_new(corr_state *c, uint32_t k, uint64_t h, corr_group **out)
{
	corr_cc *cc = &c->cc[k];
	size_t nt = ntpos(cc), klen = c->key.len;
	size_t size = sizeof(corr_group) + nt * sizeof(int64_t) + klen + 1;

	if (corr_room(c, size, k, NULL) != 0)
		return CORE_ETOOBIG;
	corr_group *g = calloc(1, size);
	if (!g) {
		corr_unaccount(c, size);
		return CORE_ENOMEM;
	}
	g->tpos = (int64_t *)(void *)(g + 1);
	for (size_t i = 0; i < nt; i++)
		g->tpos[i] = CORE_TS_NONE;
	g->key = (char *)(g->tpos + nt);
	if (klen)
		memcpy(g->key, c->key.data, klen);
	g->keylen = (uint32_t)klen;
	g->hash = h;
	g->corr = k;
	g->first = g->newest = CORE_TS_NONE;
	g->bytes = size;
	g->hnext = cc->bucket[h & (cc->nbucket - 1)];
	cc->bucket[h & (cc->nbucket - 1)] = g;
	link_head(c, g);
	cc->ngroups++;
	c->st.groups++;
	if (cc->ngroups > cc->nbucket)
		grow_buckets(c, cc, g);
	*out = g;
	return 0;
}

int corr_group_get(corr_state *c, uint32_t k, uint64_t h, corr_group **out)
{
	corr_cc *cc = &c->cc[k];
	size_t klen = c->key.len;

	for (corr_group *g = cc->bucket[h & (cc->nbucket - 1)]; g; g = g->hnext)
		if (g->hash == h && g->keylen == klen && (klen == 0 || memcmp(g->key, c->key.data, klen) == 0)) {
			unlink_lists(c, g);
			link_head(c, g);
			*out = g;
			return 0;
		}
	return group_new(c, k, h, out);
}

static void free_window(corr_state *c, corr_group *g)
{
	size_t b = g->rcap * sizeof *g->ring + g->vals.cap * sizeof *g->vals.slot;
	free(g->ring);
	free(g->vals.slot);
	g->ring = NULL;
	g->vals.slot = NULL;
	g->rcap = g->rhead = g->vals.cap = g->vals.n = 0;
	corr_unaccount(c, b);
	g->bytes -= b;
}

void corr_group_drop(corr_state *c, corr_group *g)
{
	corr_cc *cc = &c->cc[g->corr];
	corr_group **pp = &cc->bucket[g->hash & (cc->nbucket - 1)];
	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	unlink_lists(c, g);
	free_window(c, g);
	corr_unaccount(c, g->bytes);
	cc->ngroups--;
	c->st.groups--;
	free(g);
}

void corr_group_clear(corr_state *c, corr_group *g)
{
	size_t nt = ntpos(&c->cc[g->corr]);
	free_window(c, g);
	g->n = g->overflow = 0;
	g->sum = 0;
	g->first = g->newest = CORE_TS_NONE;
	for (size_t i = 0; i < nt; i++)
		g->tpos[i] = CORE_TS_NONE;
}

/* ---- the ring --------------------------------------------------------------------- */
static int ring_grow(corr_state *c, corr_group *g)
{
	size_t ncap = g->rcap ? g->rcap * 2 : 8, add = (ncap - g->rcap) * sizeof *g->ring;
	if (corr_room(c, add, g->corr, g) != 0)
		return CORE_ETOOBIG;
	corr_entry *r = realloc(g->ring, ncap * sizeof *r);
	if (!r) {
		corr_unaccount(c, add);
		return CORE_ENOMEM;
	}
	if (g->rhead + g->n > g->rcap) /* unwrap: the part at the start follows */
		memcpy(r + g->rcap, r, (g->rhead + g->n - g->rcap) * sizeof *r);
	g->ring = r;
	g->rcap = ncap;
	g->bytes += add;
	return 0;
}

int corr_ring_push(corr_state *c, corr_group *g, corr_entry e)
{
	if (g->n == g->rcap) {
		int rc = ring_grow(c, g);
		if (rc)
			return rc;
	}
	size_t mask = g->rcap - 1, i = (size_t)g->n;
	while (i > 0) { /* out of order: shift the newer entries up */
		corr_entry *p = &g->ring[(g->rhead + i - 1) & mask];
		if (p->ts <= e.ts)
			break;
		g->ring[(g->rhead + i) & mask] = *p;
		i--;
	}
	g->ring[(g->rhead + i) & mask] = e;
	g->n++;
	return 0;
}

const corr_entry *corr_ring_front(const corr_group *g)
{
	return &g->ring[g->rhead];
}

void corr_ring_pop(corr_group *g)
{
	g->rhead = (g->rhead + 1) & (g->rcap - 1);
	g->n--;
	if (g->n == 0)
		g->rhead = 0;
}

/* ---- value maps --------------------------------------------------------------------- */
static corr_vslot *vfind(const corr_vmap *m, uint64_t h, size_t *at)
{
	size_t mask = m->cap - 1, i = h & mask;
	while (m->slot[i].h) {
		if (m->slot[i].h == h)
			return &m->slot[i];
		i = (i + 1) & mask;
	}
	*at = i;
	return NULL;
}

static int vgrow(corr_state *c, corr_group *g)
{
	corr_vmap *m = &g->vals;
	size_t ncap = m->cap ? m->cap * 2 : 16, bytes = ncap * sizeof *m->slot, at = 0;
	if (corr_room(c, bytes, g->corr, g) != 0)
		return CORE_ETOOBIG;
	corr_vslot *s = calloc(ncap, sizeof *s);
	if (!s) {
		corr_unaccount(c, bytes);
		return CORE_ENOMEM;
	}
	corr_vmap nm = {.slot = s, .cap = ncap, .n = m->n};
	for (size_t i = 0; i < m->cap; i++)
		if (m->slot[i].h && !vfind(&nm, m->slot[i].h, &at))
			s[at] = m->slot[i];
	free(m->slot);
	corr_unaccount(c, m->cap * sizeof *m->slot);
	g->bytes += bytes - m->cap * sizeof *m->slot;
	*m = nm;
	return 0;
}

corr_vslot *corr_vmap_get(corr_state *c, corr_group *g, uint64_t h, bool insert)
{
	corr_vmap *m = &g->vals;
	size_t at = 0;
	corr_vslot *s = m->cap ? vfind(m, h, &at) : NULL;
	if (s || !insert || m->n >= CORR_MAX_DISTINCT)
		return s;
	if ((m->n + 1) * 2 > m->cap) {
		if (vgrow(c, g) != 0)
			return NULL;
	}
	vfind(m, h, &at);
	m->slot[at] = (corr_vslot){.h = h};
	m->n++;
	return &m->slot[at];
}

void corr_vmap_del(corr_vmap *m, uint64_t h)
{
	size_t at = 0, mask = m->cap - 1;
	corr_vslot *s = m->cap ? vfind(m, h, &at) : NULL;
	if (!s)
		return;
	size_t i = (size_t)(s - m->slot), j = i;
	s->h = 0;
	m->n--;
	for (;;) { /* backward shift: keep every probe chain unbroken */
		j = (j + 1) & mask;
		if (!m->slot[j].h)
			break;
		size_t home = m->slot[j].h & mask;
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			m->slot[i] = m->slot[j];
			m->slot[j].h = 0;
			i = j;
		}
	}
}
