/* intern.c: process-wide interning of field names and dotted paths.
 *
 * Ids index a chunked table whose entries never move, so a name's text stays
 * valid for the life of the process and readers need no lock once they hold an
 * id. Inserts and lookups in the global hash take a mutex; each thread keeps a
 * direct-mapped cache in front of it, so the hot path (the same few hundred
 * names in every event) is lock-free. The table is bounded by CORE_NAME_MAX
 * names and CORE_NAME_BYTES bytes of text. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define CHUNK_BITS 12
#define CHUNK (1u << CHUNK_BITS)
#define NCHUNKS (CORE_NAME_MAX / CHUNK)
#define CORE_NAME_BYTES (64u << 20)
#define CACHE_SIZE 4096

typedef struct entry {
	const char *s;
	uint32_t len;
	uint32_t parent; /* the name this one extends ("a.b" extends "a"), or 0 */
	uint64_t hash;
} entry;

static entry *g_chunks[NCHUNKS];
static uint32_t g_count = 1; /* id 0 is "none" */
static uint32_t *g_map;      /* open addressing: ids, 0 = empty */
static uint32_t g_map_mask;
static core_arena *g_text;
static size_t g_text_bytes;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct cache_slot {
	uint64_t hash;
	uint32_t parent, id;
} cache_slot;

static _Thread_local cache_slot t_cache[CACHE_SIZE];

#define HASH_SEED 0x9E3779B97F4A7C15ULL
#define HASH_MUL 0xff51afd7ed558ccdULL

/* Continues hash h over s[0..n), eight bytes at a time. Names are short, so
 * this beats a byte-wise hash by a wide margin on the hot path. */
static uint64_t hash_more(uint64_t h, const char *s, size_t n)
{
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * HASH_MUL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w ^ ((uint64_t)n << 56)) * HASH_MUL;
		h ^= h >> 32;
	}
	return h;
}

static inline entry *ent(uint32_t id)
{
	return &g_chunks[id >> CHUNK_BITS][id & (CHUNK - 1)];
}

/* Does name id spell "<parent>.<key>" (or key when parent is 0)? */
static bool same(uint32_t id, uint32_t parent, const char *key, size_t n)
{
	const entry *e = ent(id);

	if (parent == 0)
		return e->len == n && memcmp(e->s, key, n) == 0 && e->parent == 0;
	return e->parent == parent && e->len >= n + 1 &&
	       memcmp(e->s + e->len - n, key, n) == 0 && e->s[e->len - n - 1] == '.' &&
	       e->len == ent(parent)->len + 1 + n;
}

static int map_grow(void)
{
	uint32_t cap = g_map ? (g_map_mask + 1) * 2 : 4096;
	uint32_t *m = calloc(cap, sizeof *m);

	if (!m)
		return CORE_ENOMEM;
	for (uint32_t id = 1; id < g_count; id++) {
		uint32_t i = (uint32_t)ent(id)->hash & (cap - 1);
		while (m[i])
			i = (i + 1) & (cap - 1);
		m[i] = id;
	}
	free(g_map);
	g_map = m;
	g_map_mask = cap - 1;
	return 0;
}

/* Under the lock: find or insert. Returns the id or 0 when full. */
static uint32_t lookup_locked(uint64_t h, uint32_t parent, const char *key, size_t n, bool insert)
{
	if (!g_map && map_grow() != 0)
		return 0;
	uint32_t i = (uint32_t)h & g_map_mask;
	for (; g_map[i]; i = (i + 1) & g_map_mask) {
		uint32_t id = g_map[i];
		if (ent(id)->hash == h && same(id, parent, key, n))
			return id;
	}
	if (!insert || g_count >= CORE_NAME_MAX)
		return 0;
	size_t plen = parent ? ent(parent)->len + 1 : 0;
	if (g_text_bytes + plen + n + 1 > CORE_NAME_BYTES)
		return 0;
	if (!g_text && !(g_text = core_arena_new(256 * 1024, 0)))
		return 0;
	uint32_t id = g_count;
	if (!g_chunks[id >> CHUNK_BITS] && !(g_chunks[id >> CHUNK_BITS] = calloc(CHUNK, sizeof(entry))))
		return 0;
	char *s = core_arena_alloc(g_text, plen + n + 1);
	if (!s)
		return 0;
	if (parent) {
		memcpy(s, ent(parent)->s, plen - 1);
		s[plen - 1] = '.';
	}
	memcpy(s + plen, key, n);
	s[plen + n] = '\0';
	*ent(id) = (entry){.s = s, .len = (uint32_t)(plen + n), .parent = parent, .hash = h};
	g_text_bytes += plen + n + 1;
	g_count++;
	g_map[i] = id;
	if (g_count * 2 > g_map_mask + 1 && map_grow() != 0)
		return 0; /* the name exists; only the next insert may fail */
	return id;
}

static uint32_t intern(uint32_t parent, const char *key, size_t n, bool insert)
{
	uint64_t h;

	if (n > UINT32_MAX / 2)
		return 0;
	if (parent) {
		if (parent >= CORE_NAME_MAX)
			return 0;
		h = ent(parent)->hash * HASH_MUL + '.';
	} else {
		h = HASH_SEED;
	}
	h = hash_more(h, key, n);
	cache_slot *c = &t_cache[(h ^ (h >> 29)) & (CACHE_SIZE - 1)];
	if (c->id && c->hash == h && c->parent == parent && same(c->id, parent, key, n))
		return c->id;
	pthread_mutex_lock(&g_lock);
	uint32_t id = lookup_locked(h, parent, key, n, insert);
	pthread_mutex_unlock(&g_lock);
	if (id)
		*c = (cache_slot){.hash = h, .parent = parent, .id = id};
	return id;
}

/* Walks the dot-separated segments of s[0..n) from parent, so that the text
 * "a.b.c" always names the same id however it was built. */
static core_name intern_path(core_name parent, const char *s, size_t n, bool insert)
{
	core_name id = parent;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			id = intern(id, s + start, i - start, insert);
			if (!id)
				return 0;
			start = i + 1;
		}
	}
	return id;
}

core_name core_intern(const char *s, size_t n)
{
	return intern_path(0, s, n, true);
}

core_name core_intern_child(core_name parent, const char *key, size_t n)
{
	if (memchr(key, '.', n))
		return intern_path(parent, key, n, true);
	return intern(parent, key, n, true);
}

core_name core_intern_find(const char *s, size_t n)
{
	return intern_path(0, s, n, false);
}

const char *core_name_str(core_name id, size_t *len)
{
	uint32_t count;

	pthread_mutex_lock(&g_lock);
	count = g_count;
	pthread_mutex_unlock(&g_lock);
	if (id == 0 || id >= count) {
		if (len)
			*len = 0;
		return "";
	}
	if (len)
		*len = ent(id)->len;
	return ent(id)->s;
}

uint32_t core_name_count(void)
{
	pthread_mutex_lock(&g_lock);
	uint32_t n = g_count - 1;
	pthread_mutex_unlock(&g_lock);
	return n;
}
