/* input.c: opening inputs. A file or stdin is recognised by its first bytes
 * and read as plain, gzip (every concatenated member, as zcat does) or zstd
 * (every frame) through one fixed 256 KiB buffer. A zip is handed to zip.c,
 * after being spooled to an unlinked temporary file (at most 4 GiB) when it
 * does not come from a regular file. io_looks_textual sniffs member content. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "io/io.h"
#include "io/zip.h"

#define IO_INBUF (256u * 1024u)
#define IO_SPOOL_MAX ((uint64_t)4 << 30)
#define IO_READ_MAX ((size_t)1 << 30)

enum { K_PLAIN, K_GZIP, K_ZSTD, K_ZIP };
enum { ST_START, ST_OPEN, ST_DONE };

struct io_input {
	int fd;               /* owned when close_fd (not for stdin) */
	bool close_fd;
	int kind;             /* K_* */
	int state;            /* ST_*: of the single member of a non-zip input */
	char *name;           /* owned: the path, or "stdin" */
	unsigned char *buf;   /* owned: IO_INBUF bytes of raw (compressed) input */
	size_t len, pos;      /* valid bytes in buf, next one to use */
	uint64_t buf_off;     /* stream offset of buf[0] */
	bool eof;             /* read() returned 0 */
	z_stream z;           /* gzip state (z_live) */
	bool z_live, z_end;   /* z_end: the current gzip member has ended */
	ZSTD_DStream *zs;     /* owned zstd state */
	bool frame_open;      /* a zstd frame is started but not finished */
	io_zip *zip;          /* owned zip reader (kind K_ZIP) */
	int fail;             /* sticky error code of the stream, 0 if none */
	core_err fail_err;
};

/* Reads the next chunk of raw input into buf; call only when pos == len and
 * !eof. Sets eof at the end of the input. */
static int io_fill(io_input *in, core_err *err)
{
	ssize_t r;

	in->buf_off += in->len;
	in->len = in->pos = 0;
	do
		r = read(in->fd, in->buf, IO_INBUF);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return core_err_set(err, CORE_EIO, (size_t)in->buf_off, "read failed: %s", strerror(errno));
	if (r == 0)
		in->eof = true;
	in->len = (size_t)r;
	return 0;
}

/* Reads at least 4 bytes (or up to the end) and decides the kind. */
static int io_sniff(io_input *in, core_err *err)
{
	const unsigned char *b = in->buf;

	while (in->len < 4 && !in->eof) {
		ssize_t r = read(in->fd, in->buf + in->len, IO_INBUF - in->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return core_err_set(err, CORE_EIO, in->len, "read failed: %s", strerror(errno));
		if (r == 0)
			in->eof = true;
		in->len += (size_t)r;
	}
	in->kind = K_PLAIN;
	if (in->len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		in->kind = K_GZIP;
	else if (in->len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		in->kind = K_ZSTD;
	else if (in->len >= 4 && memcmp(b, "PK\3\4", 4) == 0)
		in->kind = K_ZIP;
	return 0;
}

/* A new unlinked temporary file in $TMPDIR (or /tmp); returns an fd or a
 * negative code. */
static int io_tmpfile(core_err *err)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd, n;

	if (!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	n = snprintf(path, sizeof path, "%s/hisn-zip-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof path)
		return core_err_set(err, CORE_EINVAL, 0, "TMPDIR path too long");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return core_err_set(err, CORE_EIO, 0, "cannot create a temporary file in %s: %s", dir,
				    strerror(errno));
	unlink(path);
	return fd;
}

static int io_write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies the whole (non-seekable) input to a temporary file that replaces
 * in->fd, so that the zip reader can seek. */
static int io_spool(io_input *in, core_err *err)
{
	uint64_t total = 0;
	int tmp = io_tmpfile(err), rc = 0;

	if (tmp < 0)
		return tmp;
	for (;;) {
		if (in->len - in->pos > IO_SPOOL_MAX - total) {
			rc = core_err_set(err, CORE_ETOOBIG, (size_t)total,
					  "a zip read from a pipe is limited to 4 GiB");
			goto out;
		}
		if (io_write_all(tmp, in->buf + in->pos, in->len - in->pos) != 0) {
			rc = core_err_set(err, CORE_EIO, (size_t)total, "cannot write the temporary copy: %s",
					  strerror(errno));
			goto out;
		}
		total += in->len - in->pos;
		in->pos = in->len;
		if (in->eof)
			break;
		rc = io_fill(in, err);
		if (rc < 0)
			goto out;
	}
	if (in->close_fd)
		close(in->fd);
	in->fd = tmp;
	in->close_fd = true;
	tmp = -1;
out:
	if (tmp >= 0)
		close(tmp);
	return rc;
}

/* Prepares the decoder for the detected kind. */
static int io_setup(io_input *in, const struct stat *st, core_err *err)
{
	core_err local = { 0 };
	int rc;

	switch (in->kind) {
	case K_GZIP:
		if (inflateInit2(&in->z, 15 + 32) != Z_OK)
			return core_err_set(err, CORE_ENOMEM, 0, "cannot start gzip decoding");
		in->z_live = true;
		in->z.next_in = in->buf;
		in->z.avail_in = (uInt)in->len;
		return 0;
	case K_ZSTD:
		in->zs = ZSTD_createDStream();
		if (!in->zs || ZSTD_isError(ZSTD_initDStream(in->zs)))
			return core_err_set(err, CORE_ENOMEM, 0, "cannot start zstd decoding");
		return 0;
	case K_ZIP:
		if (!S_ISREG(st->st_mode)) {
			rc = io_spool(in, err);
			if (rc < 0)
				return rc;
		}
		in->zip = io_zip_open(in->fd, &local);
		if (in->zip) {
			free(in->buf); /* the zip reader has its own buffer */
			in->buf = NULL;
			in->len = in->pos = 0;
			return 0;
		}
		if (err)
			*err = local;
		return local.code < 0 ? local.code : CORE_EPARSE;
	default:
		return 0;
	}
}

io_input *io_open(const char *path, core_err *err)
{
	io_input *in;
	struct stat st;
	bool is_stdin;
	int rc;

	if (!path) {
		core_err_set(err, CORE_EINVAL, 0, "io_open: no path");
		return NULL;
	}
	in = calloc(1, sizeof *in);
	if (!in) {
		core_err_set(err, CORE_ENOMEM, 0, "out of memory");
		return NULL;
	}
	is_stdin = strcmp(path, "-") == 0;
	in->fd = -1;
	in->name = strdup(is_stdin ? "stdin" : path);
	in->buf = malloc(IO_INBUF);
	if (!in->name || !in->buf) {
		rc = core_err_set(err, CORE_ENOMEM, 0, "out of memory");
		goto out;
	}
	if (is_stdin) {
		in->fd = STDIN_FILENO;
	} else {
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			rc = core_err_set(err, CORE_EIO, 0, "cannot open: %s", strerror(errno));
			goto out;
		}
		in->close_fd = true;
	}
	if (fstat(in->fd, &st) != 0) {
		rc = core_err_set(err, CORE_EIO, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = core_err_set(err, CORE_EINVAL, 0, "is a directory");
		goto out;
	}
	rc = io_sniff(in, err);
	if (rc == 0)
		rc = io_setup(in, &st, err);
out:
	if (rc < 0) {
		io_close(in);
		return NULL;
	}
	return in;
}

void io_close(io_input *in)
{
	if (!in)
		return;
	io_zip_close(in->zip);
	if (in->z_live)
		inflateEnd(&in->z);
	ZSTD_freeDStream(in->zs);
	if (in->close_fd && in->fd >= 0)
		close(in->fd);
	free(in->name);
	free(in->buf);
	free(in);
}

int io_next(io_input *in, const char **name, core_err *err)
{
	if (!in || !name)
		return core_err_set(err, CORE_EINVAL, 0, "io_next: no input");
	if (in->kind == K_ZIP)
		return io_zip_next(in->zip, name, err);
	if (in->state == ST_START) {
		in->state = ST_OPEN;
		*name = in->name;
		return 1;
	}
	in->state = ST_DONE;
	return 0;
}

static ssize_t io_read_plain(io_input *in, unsigned char *out, size_t n, core_err *err)
{
	ssize_t r;

	if (in->pos < in->len) {
		size_t k = in->len - in->pos < n ? in->len - in->pos : n;
		memcpy(out, in->buf + in->pos, k);
		in->pos += k;
		return (ssize_t)k;
	}
	if (in->eof)
		return 0;
	do
		r = read(in->fd, out, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return core_err_set(err, CORE_EIO, (size_t)(in->buf_off + in->len), "read failed: %s", strerror(errno));
	if (r == 0)
		in->eof = true;
	in->buf_off += (uint64_t)r;
	return r;
}

/* After a gzip member: skips NUL padding, then starts the next member if
 * there is more input. Returns 1 when a member follows, 0 at the end. */
static int io_gz_next_member(io_input *in, core_err *err)
{
	in->pos = (size_t)(in->z.next_in - in->buf);
	for (;;) {
		int rc;

		while (in->pos < in->len && in->buf[in->pos] == 0)
			in->pos++;
		if (in->pos < in->len)
			break;
		if (in->eof)
			return 0;
		rc = io_fill(in, err);
		if (rc < 0)
			return rc;
	}
	if (inflateReset(&in->z) != Z_OK)
		return core_err_set(err, CORE_EIO, (size_t)(in->buf_off + in->pos), "cannot reset inflate");
	in->z.next_in = in->buf + in->pos;
	in->z.avail_in = (uInt)(in->len - in->pos);
	in->z_end = false;
	return 1;
}

static ssize_t io_read_gzip(io_input *in, unsigned char *out, size_t n, core_err *err)
{
	for (;;) {
		size_t got;
		int zr, rc;

		if (in->z_end) {
			rc = io_gz_next_member(in, err);
			if (rc <= 0)
				return rc;
		}
		if (in->z.avail_in == 0 && !in->eof) {
			in->pos = in->len;
			rc = io_fill(in, err);
			if (rc < 0)
				return rc;
			in->z.next_in = in->buf;
			in->z.avail_in = (uInt)in->len;
		}
		in->z.next_out = out;
		in->z.avail_out = (uInt)n;
		zr = inflate(&in->z, Z_NO_FLUSH);
		got = n - in->z.avail_out;
		if (zr == Z_STREAM_END)
			in->z_end = true;
		else if (zr == Z_MEM_ERROR)
			return core_err_set(err, CORE_ENOMEM, (size_t)in->buf_off, "out of memory");
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return core_err_set(err, CORE_EPARSE, (size_t)(in->buf_off + (size_t)(in->z.next_in - in->buf)),
					    "bad gzip data (%s)", in->z.msg ? in->z.msg : "unexpected stream");
		if (got > 0)
			return (ssize_t)got;
		if (!in->z_end && in->z.avail_in == 0 && in->eof)
			return core_err_set(err, CORE_EPARSE, (size_t)(in->buf_off + in->len),
					    "truncated gzip stream (ends inside a member)");
	}
}

static ssize_t io_read_zstd(io_input *in, unsigned char *out, size_t n, core_err *err)
{
	ZSTD_outBuffer ob = { out, n, 0 };
	int stalls = 0;

	for (;;) {
		ZSTD_inBuffer ib;
		size_t r;
		int rc;

		if (in->pos == in->len && !in->eof) {
			rc = io_fill(in, err);
			if (rc < 0)
				return rc;
		}
		if (in->pos == in->len && in->eof && !in->frame_open)
			return 0;
		ib = (ZSTD_inBuffer){ in->buf, in->len, in->pos };
		r = ZSTD_decompressStream(in->zs, &ob, &ib);
		if (ZSTD_isError(r))
			return core_err_set(err, CORE_EPARSE, (size_t)(in->buf_off + in->pos), "bad zstd data (%s)",
					    ZSTD_getErrorName(r));
		stalls = ib.pos == in->pos ? stalls + 1 : 0;
		in->pos = ib.pos;
		in->frame_open = r != 0;
		if (ob.pos > 0)
			return (ssize_t)ob.pos;
		if ((in->pos == in->len && in->eof && in->frame_open) || stalls > 2)
			return core_err_set(err, CORE_EPARSE, (size_t)(in->buf_off + in->len),
					    "truncated zstd stream (ends inside a frame)");
	}
}

ssize_t io_read(io_input *in, void *buf, size_t n, core_err *err)
{
	core_err local = { 0 };
	ssize_t r;

	if (!in || (!buf && n > 0))
		return core_err_set(err, CORE_EINVAL, 0, "io_read: no input or buffer");
	if (n > IO_READ_MAX)
		n = IO_READ_MAX;
	if (in->kind == K_ZIP)
		return io_zip_read(in->zip, buf, n, err);
	if (in->fail) {
		if (err)
			*err = in->fail_err;
		return in->fail;
	}
	if (in->state == ST_DONE || n == 0)
		return 0;
	if (in->kind == K_GZIP)
		r = io_read_gzip(in, buf, n, &local);
	else if (in->kind == K_ZSTD)
		r = io_read_zstd(in, buf, n, &local);
	else
		r = io_read_plain(in, buf, n, &local);
	if (r < 0) {
		in->fail = (int)r;
		in->fail_err = local;
		if (err)
			*err = local;
	}
	return r;
}

const char *io_kind(const io_input *in)
{
	static const char *const names[] = { "plain", "gzip", "zstd", "zip" };

	return in ? names[in->kind] : "none";
}

/* Known binary formats, some of which start with text-like bytes. */
static bool io_binary_magic(const unsigned char *p, size_t n)
{
	static const struct {
		const char *m;
		size_t len;
	} magic[] = {
		{ "\xd4\xc3\xb2\xa1", 4 }, { "\xa1\xb2\xc3\xd4", 4 }, /* pcap */
		{ "\x4d\x3c\xb2\xa1", 4 }, { "\xa1\xb2\x3c\x4d", 4 }, /* pcap, ns */
		{ "\x0a\x0d\x0d\x0a", 4 },                            /* pcapng */
		{ "\x7f" "ELF", 4 }, { "\x89PNG", 4 }, { "\xff\xd8\xff", 3 }, { "GIF8", 4 },
		{ "%PDF-", 5 }, { "PK\3\4", 4 }, { "\x1f\x8b", 2 }, { "\x28\xb5\x2f\xfd", 4 },
		{ "\xfd" "7zXZ", 5 }, { "7z\xbc\xaf", 4 }, { "ElfFile", 7 }, { "SQLite format 3", 15 },
		{ "\xff\xfe", 2 }, { "\xfe\xff", 2 }, /* UTF-16 */
	};

	for (size_t i = 0; i < sizeof magic / sizeof magic[0]; i++)
		if (n >= magic[i].len && memcmp(p, magic[i].m, magic[i].len) == 0)
			return true;
	return false;
}

/* Length of the UTF-8 sequence at p (n > 0 bytes left, p[0] >= 0x80), or 0
 * when it is invalid. A sequence cut by the end of the buffer counts as
 * valid: the sample may end in the middle of a character. */
static size_t io_utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < len; i++) {
		if (i >= n)
			return n;
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return 0;
	}
	return len;
}

bool io_looks_textual(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	size_t bad = 0, i = 0;

	if (!p || n == 0)
		return true;
	if (io_binary_magic(p, n))
		return false;
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < n) {
		unsigned c = p[i];
		size_t len = 1;

		if (c == 0)
			return false;
		if (c >= 0x80) {
			len = io_utf8_len(p + i, n - i);
			if (len == 0) {
				bad++;
				len = 1;
			}
		} else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b) ||
			   c == 0x7f) {
			bad++;
		}
		i += len;
	}
	return bad * 10 <= n;
}
