/* zip.h: the io module's private zip reader (used by input.c and the fuzz
 * target only; not part of the public io.h interface). An archive is read
 * member by member from a seekable file descriptor with pread: stored and
 * deflate members, CRC-32 and size checked at the end of each member. */
#ifndef HISN_IO_ZIP_H
#define HISN_IO_ZIP_H

#include <sys/types.h>

#include "core/core.h"

typedef struct io_zip io_zip;

/* Opens the archive on fd, a regular (seekable) file. fd is borrowed: it must
 * stay open until io_zip_close, which does not close it. Reads and checks the
 * whole central directory (bounded to 16 MiB). Returns a reader owned by the
 * caller, or NULL with err filled. Error messages name the member, not the
 * archive (the caller prefixes the input's name, as for every io error). */
io_zip *io_zip_open(int fd, core_err *err);
void io_zip_close(io_zip *z);

/* Moves to the next member, skipping directories, __MACOSX/ and ._* entries.
 * Returns 1 with *name set (owned by z: a display copy with control bytes
 * replaced by '?', valid until the next io_zip_next or io_zip_close), 0 at the
 * end. Member problems (unsupported method, encryption, a bad local header)
 * are reported by io_zip_read, so a caller can go on with the next member. */
int io_zip_next(io_zip *z, const char **name, core_err *err);

/* Reads up to n bytes of the current member. Returns the count, 0 at its end
 * (after the CRC-32 and size were checked), or a negative code with err filled
 * (err->offset is the archive offset); an error is repeated by later calls
 * for the same member. */
ssize_t io_zip_read(io_zip *z, void *buf, size_t n, core_err *err);

#endif
