/* fuzz_net.c: libFuzzer target for the stream framer of src/net. The first
 * bytes choose the record limit, a split seed and how often the sink refuses
 * a record (NET_FULL); the rest is framed twice, whole and split at
 * pseudo-random points with refusals, and both runs must give the same
 * records, each non-empty and within the limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_out {
	core_buf b;        /* records, each as "len:bytes" plus a truncation mark */
	size_t max;
	unsigned refuse_every, calls;
} fz_out;

static int fz_emit(void *ud, const char *rec, size_t len, bool trunc)
{
	fz_out *o = ud;
	char hdr[32];

	if (o->refuse_every && ++o->calls % o->refuse_every == 0)
		return NET_FULL;
	if (len == 0 || len > o->max || (trunc && len != o->max))
		abort(); /* empty, over the limit, or cut anywhere but at the limit */
	int k = snprintf(hdr, sizeof hdr, "%zu%c", len, trunc ? '!' : ':');
	if (core_buf_add(&o->b, hdr, (size_t)k) || core_buf_add(&o->b, rec, len))
		abort();
	return 0;
}

/* Frames p[0..n); split > 0 cuts the input into pieces of 1..split bytes
 * chosen by a small LCG seeded with seed. */
static void fz_run(fz_out *o, const uint8_t *p, size_t n, size_t max, unsigned split, uint32_t seed)
{
	net_framer f;
	size_t off = 0, used;
	int rc;

	net_framer_init(&f, max);
	while (off < n) {
		size_t k = n - off;
		if (split) {
			seed = seed * 1103515245u + 12345u;
			size_t piece = 1 + (seed >> 16) % split;
			if (piece < k)
				k = piece;
		}
		rc = net_framer_feed(&f, (const char *)p + off, k, &used, fz_emit, o);
		if (used > k || (rc != 0 && rc != NET_FULL))
			abort();
		if (rc == 0 && used != k)
			abort();
		off += used;
	}
	while ((rc = net_framer_finish(&f, fz_emit, o)) == NET_FULL)
		;
	if (rc != 0 && rc != CORE_EPARSE)
		abort();
	if (!net_framer_idle(&f))
		abort();
	core_buf_addc(&o->b, rc == CORE_EPARSE ? 'E' : '.');
	net_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	size_t max = 1 + (size_t)data[0] % 64;
	if (data[0] & 0x80)
		max = 1 + (size_t)data[0] * 16;
	unsigned split = 1 + data[1] % 16;
	unsigned refuse = data[2] % 5; /* 0: never; 1 would refuse forever */
	uint32_t seed = data[3];
	fz_out a = { .max = max }, b = { .max = max, .refuse_every = refuse == 1 ? 2 : refuse };

	core_buf_init(&a.b, 0);
	core_buf_init(&b.b, 0);
	fz_run(&a, data + 4, size - 4, max, 0, 0);
	fz_run(&b, data + 4, size - 4, max, split, seed);
	if (a.b.len != b.b.len || (a.b.len && memcmp(a.b.data, b.b.data, a.b.len)))
		abort(); /* the records depend on how the stream was split */
	core_buf_free(&a.b);
	core_buf_free(&b.b);
	return 0;
}
