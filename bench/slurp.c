/* slurp.c: see slurp.h. */
#include <stdio.h>

#include "io/io.h"
#include "slurp.h"

char *bench_slurp(const char *prog, const char *path, size_t *len)
{
	core_err err;
	const char *name;
	io_input *in = io_open(path, &err);
	core_buf b;

	core_buf_init(&b, 0);
	if (!in) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, err.msg);
		return NULL;
	}
	while (io_next(in, &name, &err) == 1) {
		for (;;) {
			if (core_buf_reserve(&b, 1 << 20) != 0)
				break;
			ssize_t got = io_read(in, b.data + b.len, 1 << 20, &err);
			if (got <= 0)
				break;
			b.len += (size_t)got;
		}
	}
	io_close(in);
	*len = b.len;
	return b.data;
}
