/* arena.c: bump allocation for one batch of events. Blocks are chained; a
 * reset keeps the blocks of the standard size (up to a retention bound) so
 * that steady-state batches do not touch the system allocator or fault pages
 * in again. Requests larger than a block get a block of their own. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define RETAIN_MAX (64u << 20) /* bytes of spare blocks a reset keeps */

typedef struct block {
	struct block *next;
	size_t size, used;
	_Alignas(16) char data[];
} block;

struct core_arena {
	block *head;      /* current block (most recent) */
	block *first;     /* kept across resets */
	block *spare;     /* blocks of the standard size kept by reset for reuse */
	size_t spare_bytes;
	size_t block_size;
	size_t max_bytes; /* 0: unbounded */
	size_t total;     /* bytes of all blocks */
	size_t used;      /* bytes handed out */
};

static block *block_new(size_t size)
{
	block *b = malloc(sizeof *b + size);

	if (!b)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

core_arena *core_arena_new(size_t block_size, size_t max_bytes)
{
	core_arena *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
	a->max_bytes = max_bytes;
	a->first = block_new(a->block_size);
	if (!a->first) {
		free(a);
		return NULL;
	}
	a->head = a->first;
	a->total = a->block_size;
	return a;
}

void core_arena_free(core_arena *a)
{
	if (!a)
		return;
	for (int list = 0; list < 2; list++) {
		block *b = list ? a->spare : a->head;
		while (b) {
			block *next = b->next;
			free(b);
			b = next;
		}
	}
	free(a);
}

void *core_arena_alloc(core_arena *a, size_t n)
{
	size_t need = (n + 7) & ~(size_t)7;
	block *b = a->head;

	if (need < n)
		return NULL;
	if (b->size - b->used < need) {
		size_t size = need > a->block_size ? need : a->block_size;
		if (a->max_bytes && a->total + size > a->max_bytes)
			return NULL;
		block *nb;
		if (size == a->block_size && a->spare) {
			nb = a->spare;
			a->spare = nb->next;
			a->spare_bytes -= size;
			nb->used = 0;
		} else if (!(nb = block_new(size))) {
			return NULL;
		}
		nb->next = a->head;
		a->head = nb;
		a->total += size;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->used += need;
	return p;
}

char *core_arena_strndup(core_arena *a, const char *s, size_t n)
{
	char *p = core_arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void core_arena_reset(core_arena *a)
{
	block *b = a->head;

	while (b && b != a->first) {
		block *next = b->next;
		if (b->size == a->block_size && a->spare_bytes + b->size <= RETAIN_MAX) {
			b->next = a->spare;
			a->spare = b;
			a->spare_bytes += b->size;
		} else {
			free(b);
		}
		b = next;
	}
	a->head = a->first;
	a->first->used = 0;
	a->first->next = NULL;
	a->total = a->first->size;
	a->used = 0;
}

size_t core_arena_used(const core_arena *a)
{
	return a->used;
}
