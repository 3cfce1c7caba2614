/* fuzz_io.c: libFuzzer target for the io module. The input is written to a
 * memfd and opened through io_open("/proc/self/fd/N"), so it is sniffed as
 * plain, gzip, zstd or zip like a real file; every member is read to its end,
 * with at most 64 MiB of decompressed output per run (zip and gzip bombs). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/io.h"

#define FUZZ_OUT_MAX ((size_t)64 << 20)
#define FUZZ_CHUNK 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every member of in; returns when the output bound is reached. */
static void fuzz_drain(io_input *in, unsigned char *buf)
{
	size_t total = 0;
	const char *name;
	core_err err;

	while (io_next(in, &name, &err) == 1) {
		bool first = true;
		ssize_t r;

		while ((r = io_read(in, buf, FUZZ_CHUNK, &err)) > 0) {
			if (first)
				(void)io_looks_textual(buf, (size_t)r);
			first = false;
			total += (size_t)r;
			if (total >= FUZZ_OUT_MAX)
				return;
		}
		if (r < 0 && (err.code != (int)r || err.msg[0] == '\0'))
			abort(); /* an error must come with its code and message */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = NULL;
	char path[64];
	core_err err;
	io_input *in = NULL;
	size_t off = 0;
	int fd = memfd_create("fuzz_io", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	buf = malloc(FUZZ_CHUNK);
	if (!buf)
		goto out;
	in = io_open(path, &err);
	if (!in) {
		if (err.code >= 0 || err.msg[0] == '\0')
			abort();
		goto out;
	}
	(void)io_kind(in);
	fuzz_drain(in, buf);
out:
	io_close(in);
	free(buf);
	close(fd);
	return 0;
}
