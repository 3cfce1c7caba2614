/* event.c: building and reading events (fields in an arena, lookup by interned
 * name or alias, dotted-path setters for the normalized ECS fields) and the
 * per-chunk batch of events. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void core_event_init(core_event *ev, core_arena *a)
{
	memset(ev, 0, sizeof *ev);
	ev->arena = a;
	ev->ts = CORE_TS_NONE;
}

static int grow(core_event *ev)
{
	if (ev->n >= CORE_EVENT_MAX_FIELDS)
		return CORE_ETOOBIG;
	uint32_t cap = ev->cap ? ev->cap * 2 : 64;
	core_field *f = core_arena_alloc(ev->arena, (size_t)cap * sizeof *f);
	if (!f)
		return CORE_ENOMEM;
	if (ev->n)
		memcpy(f, ev->f, (size_t)ev->n * sizeof *f);
	ev->f = f;
	ev->cap = cap;
	return 0;
}

static void index_put(uint32_t *tab, uint32_t mask, const core_field *f, core_name name, uint32_t i);

/* Keeps the name index (when there is one) up to date with field i; it is
 * rebuilt twice as large when half full (or dropped if memory runs out). */
static void index_add(core_event *ev, uint32_t i, core_name name)
{
	if (!ev->index || !name)
		return;
	if ((ev->n + 1) * 2 > ev->index_mask + 1) {
		ev->index = NULL;
		if (core_event_index(ev) != 0)
			return;
	}
	index_put(ev->index, ev->index_mask, ev->f, name, i);
}

/* Appends a field of type t named name (0: derived from the parent's name
 * and key); returns its index or a negative code. */
static int add_named(core_event *ev, uint32_t parent, const char *key, size_t klen, uint8_t t,
		     core_name name)
{

	if (ev->n == ev->cap) {
		int rc = grow(ev);
		if (rc)
			return rc;
	}
	if (parent == CORE_NO_PARENT) {
		if (!name)
			name = core_intern_child(0, key, klen);
	} else {
		if (parent >= ev->n || ev->f[parent].type < CORE_T_ARRAY)
			return CORE_EINVAL;
		core_field *p = &ev->f[parent];
		p->len++;
		if (p->type == CORE_T_ARRAY) {
			key = NULL;
			klen = 0;
			name = p->name; /* elements answer to the array's name */
		} else if (!name) {
			name = p->name ? core_intern_child(p->name, key, klen) : 0;
		}
	}
	if (klen > UINT32_MAX)
		return CORE_ETOOBIG;
	core_field *f = &ev->f[ev->n];
	*f = (core_field){.key = key, .key_len = (uint32_t)klen, .name = name,
			  .parent = parent, .type = t};
	index_add(ev, ev->n, name);
	return (int)ev->n++;
}

static int add(core_event *ev, uint32_t parent, const char *key, size_t klen, uint8_t t)
{
	return add_named(ev, parent, key, klen, t, 0);
}

int core_event_add_str(core_event *ev, uint32_t parent, const char *key, size_t klen,
		       const char *s, size_t n)
{
	if (n > UINT32_MAX)
		return CORE_ETOOBIG;
	int i = add(ev, parent, key, klen, CORE_T_STR);
	if (i >= 0) {
		ev->f[i].u.s = s;
		ev->f[i].len = (uint32_t)n;
	}
	return i;
}

int core_event_add_strcopy(core_event *ev, uint32_t parent, const char *key, size_t klen,
			   const char *s, size_t n)
{
	char *c = core_arena_strndup(ev->arena, s, n);

	if (!c)
		return CORE_ENOMEM;
	return core_event_add_str(ev, parent, key, klen, c, n);
}

int core_event_add_int(core_event *ev, uint32_t parent, const char *key, size_t klen, int64_t v)
{
	int i = add(ev, parent, key, klen, CORE_T_INT);
	if (i >= 0)
		ev->f[i].u.i = v;
	return i;
}

int core_event_add_float(core_event *ev, uint32_t parent, const char *key, size_t klen, double v)
{
	int i = add(ev, parent, key, klen, CORE_T_FLOAT);
	if (i >= 0)
		ev->f[i].u.f = v;
	return i;
}

int core_event_add_bool(core_event *ev, uint32_t parent, const char *key, size_t klen, bool v)
{
	int i = add(ev, parent, key, klen, CORE_T_BOOL);
	if (i >= 0)
		ev->f[i].u.b = v;
	return i;
}

int core_event_add_null(core_event *ev, uint32_t parent, const char *key, size_t klen)
{
	return add(ev, parent, key, klen, CORE_T_NULL);
}

int core_event_add_object(core_event *ev, uint32_t parent, const char *key, size_t klen)
{
	return add(ev, parent, key, klen, CORE_T_OBJECT);
}

int core_event_add_array(core_event *ev, uint32_t parent, const char *key, size_t klen)
{
	return add(ev, parent, key, klen, CORE_T_ARRAY);
}

/* ---- dotted-path setters ------------------------------------------------ */

/* The setters take string literals: their names are cached per thread by the
 * address and length of the text, so a path is interned once per thread. */
typedef struct path_slot {
	const char *p;
	size_t n;
	core_name id;
} path_slot;

static _Thread_local path_slot t_paths[1024];

static core_name path_name(const char *p, size_t n);

core_name core_intern_lit(const char *lit)
{
	return path_name(lit, strlen(lit));
}

static core_name path_name(const char *p, size_t n)
{
	uintptr_t h = ((uintptr_t)p >> 3) * 2654435761u + n * 40503u;
	path_slot *s = &t_paths[(h >> 7) & 1023];

	if (s->p == p && s->n == n && s->id)
		return s->id;
	core_name id = core_intern(p, n);
	*s = (path_slot){.p = p, .n = n, .id = id};
	return id;
}

static inline uint32_t slot_of(core_name name, uint32_t mask)
{
	return (name * 2654435761u) & mask;
}

static int find_name(const core_event *ev, core_name name)
{
	if (!name)
		return -1;
	if (ev->index) {
		for (uint32_t s = slot_of(name, ev->index_mask); ev->index[s];
		     s = (s + 1) & ev->index_mask) {
			uint32_t i = ev->index[s] - 1;
			if (ev->f[i].name == name)
				return (int)i;
			if (ev->f[i].alias == name)
				return -1;
		}
		return -1;
	}
	for (uint32_t i = 0; i < ev->n; i++)
		if (ev->f[i].name == name)
			return (int)i;
	return -1;
}

/* Index of the object named by path[0..n), created with its parents when
 * missing. CORE_EPARSE when a prefix exists but is not an object. */
static int ensure_object(core_event *ev, const char *path, size_t n)
{
	core_name name = path_name(path, n);
	int i = find_name(ev, name);

	if (i >= 0)
		return ev->f[i].type == CORE_T_OBJECT ? i : CORE_EPARSE;
	const char *dot = memrchr(path, '.', n);
	if (!dot)
		return add_named(ev, CORE_NO_PARENT, path, n, CORE_T_OBJECT, name);
	int p = ensure_object(ev, path, (size_t)(dot - path));
	if (p < 0)
		return p;
	return add_named(ev, (uint32_t)p, dot + 1, n - (size_t)(dot - path) - 1, CORE_T_OBJECT, name);
}

/* The index of the leaf at path: the existing field (its children, if any,
 * are left in place but the caller overwrites its type and value), or a new
 * one of type t. When an enclosing name holds a non-object value (an input
 * field "host": "x" and the path "host.name"), the leaf is added at the top
 * level under its full dotted key, which still has the same interned name. */
/* What a setter needs to know of a literal path, cached per thread by its
 * address: its length, its name, and where its last dot is. */
typedef struct leaf_slot {
	const char *p;
	uint32_t n, dot; /* dot == n: none */
	core_name name, pname; /* the path's name and its parent path's name */
} leaf_slot;

static _Thread_local leaf_slot t_leaves[512];

static const leaf_slot *leaf_info(const char *path)
{
	leaf_slot *s = &t_leaves[(((uintptr_t)path >> 3) * 2654435761u >> 9) & 511];

	if (s->p != path || !s->name) {
		size_t n = strlen(path);
		const char *dot = memrchr(path, '.', n);
		if (n > UINT32_MAX / 2)
			n = UINT32_MAX / 2;
		*s = (leaf_slot){.p = path, .n = (uint32_t)n, .name = path_name(path, n),
				 .dot = dot ? (uint32_t)(dot - path) : (uint32_t)n,
				 .pname = dot ? path_name(path, (size_t)(dot - path)) : 0};
	}
	return s;
}

static int leaf(core_event *ev, const char *path, uint8_t t)
{
	const leaf_slot *L = leaf_info(path);
	int i = find_name(ev, L->name);

	if (i >= 0) {
		if (ev->f[i].type >= CORE_T_ARRAY)
			return CORE_EINVAL; /* never replace a container */
		ev->f[i].type = t;
		return i;
	}
	if (L->dot == L->n)
		return add_named(ev, CORE_NO_PARENT, path, L->n, t, L->name);
	int p = find_name(ev, L->pname);
	if (p >= 0 && ev->f[p].type != CORE_T_OBJECT)
		p = CORE_EPARSE;
	else if (p < 0)
		p = ensure_object(ev, path, L->dot);
	if (p == CORE_EPARSE)
		return add_named(ev, CORE_NO_PARENT, path, L->n, t, L->name);
	if (p < 0)
		return p;
	return add_named(ev, (uint32_t)p, path + L->dot + 1, L->n - L->dot - 1, t, L->name);
}

int core_event_set_str(core_event *ev, const char *path, const char *s, size_t n)
{
	if (n > UINT32_MAX)
		return CORE_ETOOBIG;
	int i = leaf(ev, path, CORE_T_STR);
	if (i >= 0) {
		ev->f[i].u.s = s;
		ev->f[i].len = (uint32_t)n;
	}
	return i;
}

int core_event_set_strcopy(core_event *ev, const char *path, const char *s, size_t n)
{
	char *c = core_arena_strndup(ev->arena, s, n);

	if (!c)
		return CORE_ENOMEM;
	return core_event_set_str(ev, path, c, n);
}

int core_event_set_int(core_event *ev, const char *path, int64_t v)
{
	int i = leaf(ev, path, CORE_T_INT);
	if (i >= 0) {
		ev->f[i].u.i = v;
		ev->f[i].len = 0;
	}
	return i;
}

int core_event_set_bool(core_event *ev, const char *path, bool v)
{
	int i = leaf(ev, path, CORE_T_BOOL);
	if (i >= 0) {
		ev->f[i].u.b = v;
		ev->f[i].len = 0;
	}
	return i;
}

int core_event_set_object(core_event *ev, const char *path)
{
	return ensure_object(ev, path, strlen(path));
}

int core_event_set_alias(core_event *ev, uint32_t idx, core_name alias)
{
	if (idx >= ev->n)
		return CORE_EINVAL;
	ev->f[idx].alias = alias;
	index_add(ev, idx, alias);
	return 0;
}

/* Container p has one visible child less: when none is left it is hidden,
 * and so on upwards. */
static void lose_child(core_event *ev, uint32_t p)
{
	for (; p != CORE_NO_PARENT && p < ev->n; p = ev->f[p].parent) {
		if (ev->f[p].len == 0 || --ev->f[p].len > 0)
			break;
		ev->f[p].flags |= CORE_F_HIDDEN;
	}
}

void core_event_hide(core_event *ev, uint32_t idx, uint32_t parent)
{
	if (idx >= ev->n || (ev->f[idx].flags & CORE_F_HIDDEN))
		return;
	ev->f[idx].flags |= CORE_F_HIDDEN;
	lose_child(ev, parent);
}

int core_event_hoist(core_event *ev, uint32_t idx)
{
	core_field *f = idx < ev->n ? &ev->f[idx] : NULL;
	size_t n;

	if (!f || !f->alias || f->type >= CORE_T_ARRAY || f->parent == CORE_NO_PARENT)
		return CORE_EINVAL;
	if (ev->f[f->parent].type == CORE_T_ARRAY)
		return CORE_EINVAL;
	lose_child(ev, f->parent);
	f->parent = CORE_NO_PARENT;
	core_name old = f->name;
	f->name = f->alias;
	f->alias = old;
	f->key = core_name_str(f->name, &n);
	f->key_len = (uint32_t)n;
	return 0; /* the same two names: the index stays valid */
}

/* ---- lookup ------------------------------------------------------------------ */


static void index_put(uint32_t *tab, uint32_t mask, const core_field *f, core_name name, uint32_t i)
{
	uint32_t s = slot_of(name, mask);

	for (; tab[s]; s = (s + 1) & mask) {
		const core_field *o = &f[tab[s] - 1];
		if (o->name == name || o->alias == name)
			return; /* the first field of a name wins */
	}
	tab[s] = i + 1;
}

int core_event_index(core_event *ev)
{
	uint32_t cap = 128;

	while (cap < ev->n * 4u)
		cap *= 2;
	uint32_t *tab = core_arena_alloc(ev->arena, (size_t)cap * sizeof *tab);
	if (!tab)
		return CORE_ENOMEM;
	memset(tab, 0, (size_t)cap * sizeof *tab);
	for (uint32_t i = 0; i < ev->n; i++) {
		const core_field *f = &ev->f[i];
		if (f->name)
			index_put(tab, cap - 1, ev->f, f->name, i);
		if (f->alias)
			index_put(tab, cap - 1, ev->f, f->alias, i);
	}
	ev->index = tab;
	ev->index_mask = cap - 1;
	return 0;
}

const core_field *core_event_get(const core_event *ev, core_name name)
{
	if (!name)
		return NULL;
	if (ev->index) {
		for (uint32_t s = slot_of(name, ev->index_mask); ev->index[s];
		     s = (s + 1) & ev->index_mask) {
			const core_field *f = &ev->f[ev->index[s] - 1];
			if (f->name == name || f->alias == name)
				return f;
		}
		return NULL;
	}
	for (uint32_t i = 0; i < ev->n; i++)
		if (ev->f[i].name == name || ev->f[i].alias == name)
			return &ev->f[i];
	return NULL;
}

const core_field *core_event_get_path(const core_event *ev, const char *path)
{
	return core_event_get(ev, core_intern_find(path, strlen(path)));
}

const core_field *core_event_get_lit(const core_event *ev, const char *lit)
{
	return core_event_get(ev, path_name(lit, strlen(lit)));
}

/* ---- batches ------------------------------------------------------------------ */

int core_batch_init(core_batch *b, size_t block, size_t arena_max)
{
	memset(b, 0, sizeof *b);
	b->arena = core_arena_new(block, arena_max);
	return b->arena ? 0 : CORE_ENOMEM;
}

void core_batch_free(core_batch *b)
{
	core_arena_free(b->arena);
	free(b->ev);
	memset(b, 0, sizeof *b);
}

core_event *core_batch_new_event(core_batch *b)
{
	if (core_grow((void **)&b->ev, &b->cap, b->n, sizeof *b->ev, 256) != 0)
		return NULL;
	core_event *ev = &b->ev[b->n++];
	core_event_init(ev, b->arena);
	return ev;
}

void core_batch_drop_last(core_batch *b)
{
	if (b->n)
		b->n--;
}

void core_batch_reset(core_batch *b)
{
	b->n = 0;
	core_arena_reset(b->arena);
}

uint32_t core_event_next_child(const core_event *ev, uint32_t idx, uint32_t after)
{
	for (uint32_t j = after + 1; j < ev->n; j++)
		if (ev->f[j].parent == idx)
			return j;
	return UINT32_MAX;
}
