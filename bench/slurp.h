/* slurp.h: the benchmarks' input, read whole (decompressed) into memory. */
#ifndef HISN_BENCH_SLURP_H
#define HISN_BENCH_SLURP_H

#include <stddef.h>

/* Every member of the input at path (plain, gzip, zstd or zip) end to end, in
 * a malloc'd buffer owned by the caller (*len bytes), or NULL with a message
 * on stderr naming prog. */
char *bench_slurp(const char *prog, const char *path, size_t *len);

#endif
