/* io.h: reading inputs. A file or stdin, plain, gzip (.gz, also concatenated
 * members) or zstd (.zst), recognised by their magic bytes; a zip archive is
 * read member by member (stored and deflate), each member being one input.
 * Memory is bounded: data is streamed through fixed buffers. */
#ifndef HISN_IO_H
#define HISN_IO_H

#include <sys/types.h>

#include "core/core.h"

typedef struct io_input io_input;

/* Opens path ("-" for stdin). Returns an input owned by the caller (close it
 * with io_close), or NULL with err filled. A zip read from stdin is spooled to
 * an unlinked temporary file first. */
io_input *io_open(const char *path, core_err *err);
void io_close(io_input *in);

/* Moves to the next member: 1 and *name set (borrowed, valid until the next
 * io_next or io_close) when there is one, 0 at the end, or a negative code with
 * err filled. A plain or compressed file has exactly one member, named after
 * the path. Zip directories and macOS resource forks (__MACOSX/, ._*) are
 * skipped. */
int io_next(io_input *in, const char **name, core_err *err);

/* Reads up to n decompressed bytes of the current member into buf. Returns the
 * count (> 0), 0 at the end of the member, or a negative code with err filled
 * (err->offset is the compressed byte offset where it failed). */
ssize_t io_read(io_input *in, void *buf, size_t n, core_err *err);

/* The container of the current input: "plain", "gzip", "zstd" or "zip". */
const char *io_kind(const io_input *in);

/* Decides from the first bytes of a member whether it is text a log parser can
 * read (false for pcap, ELF, images, NUL-filled data...). */
bool io_looks_textual(const void *buf, size_t n);

#endif
