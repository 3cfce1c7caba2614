/* zip.c: a streaming zip reader written from the PKWARE APPNOTE. It finds the
 * end of central directory record (and its ZIP64 locator and record), checks
 * every central entry against the file size and against its neighbours (no
 * overlaps), then reads one member at a time with pread: stored or raw
 * deflate, with the CRC-32 and the uncompressed size checked at the end. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/zip.h"

#define ZIP_EOCD_LEN 22u
#define ZIP_TAIL_MAX (65535u + ZIP_EOCD_LEN)
#define ZIP_LOC64_LEN 20u
#define ZIP_EOCD64_LEN 56u
#define ZIP_CEN_LEN 46u
#define ZIP_LOC_LEN 30u
#define ZIP_CD_MAX (16u << 20)
#define ZIP_BUF (256u << 10)
#define ZIP_NAME_MAX 65535u
#define ZIP_READ_MAX ((size_t)1 << 30)

enum { ZM_NONE, ZM_HEADER, ZM_DATA, ZM_DONE, ZM_FAILED };

typedef struct zip_entry {
	uint64_t lho;    /* offset of the local header */
	uint64_t csize;  /* compressed size */
	uint64_t usize;  /* uncompressed size */
	uint64_t limit;  /* where the next member (or the directory) starts */
	uint32_t crc;
	uint32_t name_off; /* offset of the name inside io_zip.cd */
	uint32_t idx;      /* position in the central directory */
	uint16_t name_len, method, flags;
	bool skip;
} zip_entry;

struct io_zip {
	int fd;               /* borrowed */
	uint64_t fsize;
	uint64_t cd_off, cd_size;
	unsigned char *cd;    /* owned: the central directory bytes */
	zip_entry *ent;       /* owned: n entries in directory order */
	size_t n, cur;        /* entry count, index of the next one to visit */
	bool started;
	zip_entry *m;         /* current member (points into ent) or NULL */
	char *name;           /* owned: display name of m, ZIP_NAME_MAX + 1 bytes */
	int mstate;           /* ZM_* */
	core_err merr;        /* sticky error of the current member */
	uint64_t cpos, cend;  /* next compressed byte to read, end of the data */
	uint64_t out;         /* uncompressed bytes produced so far */
	unsigned long crc;    /* running CRC-32 */
	unsigned char *buf;   /* owned: ZIP_BUF compressed bytes */
	z_stream z;           /* raw inflate state when z_live */
	bool z_live, z_end;
};

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Reads exactly n bytes at off, which must lie inside the file. */
static int zip_pread(io_zip *z, void *dst, size_t n, uint64_t off, core_err *err)
{
	unsigned char *p = dst;

	if (off > z->fsize || n > z->fsize - off)
		return core_err_set(err, CORE_EPARSE, (size_t)off,
				    "%zu bytes at offset %" PRIu64 " run past the end of the archive (%" PRIu64 " bytes)",
				    n, off, z->fsize);
	while (n > 0) {
		ssize_t r = pread(z->fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return core_err_set(err, CORE_EIO, (size_t)off, "read failed at offset %" PRIu64 ": %s",
					    off, strerror(errno));
		if (r == 0)
			return core_err_set(err, CORE_EIO, (size_t)off, "archive shrank while being read (offset %" PRIu64 ")",
					    off);
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Finds the end of central directory record in the last 64 KiB + 22 bytes;
 * copies it to rec and its offset to *at. */
static int zip_find_eocd(io_zip *z, uint64_t *at, unsigned char rec[ZIP_EOCD_LEN], core_err *err)
{
	size_t len = z->fsize < ZIP_TAIL_MAX ? (size_t)z->fsize : ZIP_TAIL_MAX;
	uint64_t base = z->fsize - len;
	unsigned char *tail = NULL;
	bool found = false;
	int rc;

	if (len < ZIP_EOCD_LEN)
		return core_err_set(err, CORE_EPARSE, 0, "too small to be a zip archive (%" PRIu64 " bytes)",
				    z->fsize);
	tail = malloc(len);
	if (!tail)
		return core_err_set(err, CORE_ENOMEM, 0, "out of memory");
	rc = zip_pread(z, tail, len, base, err);
	if (rc < 0)
		goto out;
	for (size_t i = len - ZIP_EOCD_LEN + 1; i-- > 0;) {
		if (memcmp(tail + i, "PK\5\6", 4) != 0)
			continue;
		if (i + ZIP_EOCD_LEN + rd16(tail + i + 20) > len)
			continue; /* its comment would run past the end */
		memcpy(rec, tail + i, ZIP_EOCD_LEN);
		*at = base + i;
		found = true;
		break;
	}
	if (!found)
		rc = core_err_set(err, CORE_EPARSE, (size_t)z->fsize,
				  "no end of central directory record in the last %zu bytes", len);
out:
	free(tail);
	return rc;
}

/* Reads the ZIP64 locator just before the EOCD at eocd_at and the ZIP64 end
 * of central directory record it points to. *dir_end receives the record's
 * offset (the central directory must end before it). */
static int zip_eocd64(io_zip *z, uint64_t eocd_at, uint64_t *count, uint64_t *dir_end, core_err *err)
{
	unsigned char loc[ZIP_LOC64_LEN], rec[ZIP_EOCD64_LEN];
	uint64_t loc_at, off;
	int rc;

	if (eocd_at < ZIP_LOC64_LEN)
		return core_err_set(err, CORE_EPARSE, (size_t)eocd_at, "ZIP64 sizes but no ZIP64 locator");
	loc_at = eocd_at - ZIP_LOC64_LEN;
	rc = zip_pread(z, loc, sizeof loc, loc_at, err);
	if (rc < 0)
		return rc;
	if (memcmp(loc, "PK\6\7", 4) != 0)
		return core_err_set(err, CORE_EPARSE, (size_t)loc_at, "ZIP64 sizes but no ZIP64 locator");
	if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1)
		return core_err_set(err, CORE_ENOTSUP, (size_t)loc_at, "multi-disk archives are not supported");
	off = rd64(loc + 8);
	if (off > loc_at || loc_at - off < ZIP_EOCD64_LEN)
		return core_err_set(err, CORE_EPARSE, (size_t)loc_at,
				    "ZIP64 end of central directory offset %" PRIu64 " is out of range", off);
	rc = zip_pread(z, rec, sizeof rec, off, err);
	if (rc < 0)
		return rc;
	if (memcmp(rec, "PK\6\6", 4) != 0)
		return core_err_set(err, CORE_EPARSE, (size_t)off,
				    "no ZIP64 end of central directory record at offset %" PRIu64, off);
	if (rd32(rec + 16) != 0 || rd32(rec + 20) != 0 || rd64(rec + 24) != rd64(rec + 32))
		return core_err_set(err, CORE_ENOTSUP, (size_t)off, "multi-disk archives are not supported");
	*count = rd64(rec + 32);
	z->cd_size = rd64(rec + 40);
	z->cd_off = rd64(rec + 48);
	*dir_end = off;
	return 0;
}

/* Locates the central directory: sets z->cd_off, z->cd_size and *count. */
static int zip_locate_cd(io_zip *z, uint64_t *count, core_err *err)
{
	unsigned char e[ZIP_EOCD_LEN] = { 0 };
	uint64_t at = 0, end;
	int rc;

	rc = zip_find_eocd(z, &at, e, err);
	if (rc < 0)
		return rc;
	*count = rd16(e + 10);
	z->cd_size = rd32(e + 12);
	z->cd_off = rd32(e + 16);
	end = at;
	if (rd16(e + 8) == 0xFFFF || rd16(e + 10) == 0xFFFF || z->cd_size == 0xFFFFFFFFu ||
	    z->cd_off == 0xFFFFFFFFu) {
		rc = zip_eocd64(z, at, count, &end, err);
		if (rc < 0)
			return rc;
	} else if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != rd16(e + 10)) {
		return core_err_set(err, CORE_ENOTSUP, (size_t)at, "multi-disk archives are not supported");
	}
	if (z->cd_off > end || z->cd_size > end - z->cd_off)
		return core_err_set(err, CORE_EPARSE, (size_t)at,
				    "central directory (%" PRIu64 " bytes at offset %" PRIu64
				    ") runs past its end record at %" PRIu64 " or the end of the file",
				    z->cd_size, z->cd_off, end);
	if (z->cd_size > ZIP_CD_MAX)
		return core_err_set(err, CORE_ETOOBIG, (size_t)z->cd_off,
				    "central directory of %" PRIu64 " bytes is over the %u-byte limit",
				    z->cd_size, ZIP_CD_MAX);
	if (*count > z->cd_size / ZIP_CEN_LEN)
		return core_err_set(err, CORE_EPARSE, (size_t)at,
				    "%" PRIu64 " entries cannot fit in a central directory of %" PRIu64 " bytes",
				    *count, z->cd_size);
	return 0;
}

/* Copies the name of e into z->name for display (control bytes become '?'). */
static const char *zip_set_name(io_zip *z, const zip_entry *e)
{
	const unsigned char *s = z->cd + e->name_off;

	for (size_t i = 0; i < e->name_len; i++)
		z->name[i] = (char)(s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	z->name[e->name_len] = '\0';
	return z->name;
}

/* Directories, macOS metadata (__MACOSX/...) and AppleDouble files (._x). */
static bool zip_skip_name(const unsigned char *s, size_t n)
{
	size_t last = 0;

	if (n > 0 && s[n - 1] == '/')
		return true;
	if (n >= 9 && memcmp(s, "__MACOSX/", 9) == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			last = i + 1;
	return n - last >= 2 && s[last] == '.' && s[last + 1] == '_';
}

/* Applies the ZIP64 extended information extra field (id 1) to e. */
static int zip_extra64(io_zip *z, zip_entry *e, const unsigned char *x, size_t xlen, uint64_t at, core_err *err)
{
	while (xlen >= 4) {
		uint16_t id = rd16(x), sz = rd16(x + 2);
		const unsigned char *d = x + 4;
		size_t left = sz;

		if (sz > xlen - 4)
			break; /* malformed trailing padding: ignored, as other readers do */
		if (id == 1) {
			uint64_t *want[3] = { &e->usize, &e->csize, &e->lho };
			for (int k = 0; k < 3; k++) {
				if (*want[k] != 0xFFFFFFFFu)
					continue;
				if (left < 8)
					return core_err_set(err, CORE_EPARSE, (size_t)at,
							    "member %s: ZIP64 extra field too short",
							    zip_set_name(z, e));
				*want[k] = rd64(d);
				d += 8;
				left -= 8;
			}
			return 0;
		}
		x += 4 + (size_t)sz;
		xlen -= 4 + (size_t)sz;
	}
	return 0;
}

/* Parses the central directory entry at *pos into e and advances *pos. */
static int zip_parse_entry(io_zip *z, size_t *pos, zip_entry *e, core_err *err)
{
	const unsigned char *p = z->cd + *pos;
	size_t left = (size_t)z->cd_size - *pos;
	uint64_t at = z->cd_off + *pos;
	size_t nlen, xlen, clen;

	if (left < ZIP_CEN_LEN || memcmp(p, "PK\1\2", 4) != 0)
		return core_err_set(err, CORE_EPARSE, (size_t)at,
				    "central directory entry %" PRIu32 " has no valid header", e->idx);
	nlen = rd16(p + 28);
	xlen = rd16(p + 30);
	clen = rd16(p + 32);
	if (ZIP_CEN_LEN + nlen + xlen + clen > left)
		return core_err_set(err, CORE_EPARSE, (size_t)at,
				    "central directory entry %" PRIu32 ": name, extra and comment (%zu+%zu+%zu bytes) run past the directory",
				    e->idx, nlen, xlen, clen);
	e->flags = rd16(p + 8);
	e->method = rd16(p + 10);
	e->crc = rd32(p + 16);
	e->csize = rd32(p + 20);
	e->usize = rd32(p + 24);
	e->lho = rd32(p + 42);
	e->name_off = (uint32_t)(*pos + ZIP_CEN_LEN);
	e->name_len = (uint16_t)nlen;
	e->skip = zip_skip_name(p + ZIP_CEN_LEN, nlen);
	*pos += ZIP_CEN_LEN + nlen + xlen + clen;
	return zip_extra64(z, e, p + ZIP_CEN_LEN + nlen, xlen, at, err);
}

static int zip_cmp_lho(const void *a, const void *b)
{
	const zip_entry *x = a, *y = b;

	if (x->lho != y->lho)
		return x->lho < y->lho ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int zip_cmp_idx(const void *a, const void *b)
{
	const zip_entry *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Every member must lie before the central directory and not overlap the
 * next one (in file order); sets each entry's limit. */
static int zip_check_layout(io_zip *z, core_err *err)
{
	int rc = 0;

	qsort(z->ent, z->n, sizeof *z->ent, zip_cmp_lho);
	for (size_t i = 0; i < z->n; i++) {
		zip_entry *e = &z->ent[i];
		uint64_t next = i + 1 < z->n ? z->ent[i + 1].lho : z->cd_off;

		/* lho <= next <= cd_off < 2^63, so the sum below cannot wrap */
		if (e->lho > next || e->csize > z->cd_off || e->lho + ZIP_LOC_LEN + e->csize > next) {
			rc = core_err_set(err, CORE_EPARSE, (size_t)e->lho,
					  "member %s: %" PRIu64 " bytes at offset %" PRIu64
					  " overlap the next member or the central directory",
					  zip_set_name(z, e), e->csize, e->lho);
			break;
		}
		e->limit = next;
	}
	qsort(z->ent, z->n, sizeof *z->ent, zip_cmp_idx);
	return rc;
}

/* Reads the central directory and parses its count entries. */
static int zip_parse_cd(io_zip *z, uint64_t count, core_err *err)
{
	size_t pos = 0;
	int rc;

	z->cd = malloc(z->cd_size ? (size_t)z->cd_size : 1);
	z->ent = calloc(count ? (size_t)count : 1, sizeof *z->ent);
	if (!z->cd || !z->ent)
		return core_err_set(err, CORE_ENOMEM, 0, "out of memory for the central directory");
	rc = zip_pread(z, z->cd, (size_t)z->cd_size, z->cd_off, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < count; i++) {
		z->ent[i].idx = (uint32_t)i;
		rc = zip_parse_entry(z, &pos, &z->ent[i], err);
		if (rc < 0)
			return rc;
		z->n = i + 1;
	}
	return zip_check_layout(z, err);
}

io_zip *io_zip_open(int fd, core_err *err)
{
	struct stat st;
	uint64_t count = 0;
	io_zip *z = calloc(1, sizeof *z);
	int rc;

	if (!z) {
		core_err_set(err, CORE_ENOMEM, 0, "out of memory");
		return NULL;
	}
	z->fd = fd;
	z->name = malloc(ZIP_NAME_MAX + 1);
	z->buf = malloc(ZIP_BUF);
	if (!z->name || !z->buf) {
		rc = core_err_set(err, CORE_ENOMEM, 0, "out of memory");
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) {
		rc = core_err_set(err, CORE_EINVAL, 0, "a zip archive must be a regular file");
		goto out;
	}
	z->fsize = (uint64_t)st.st_size;
	rc = zip_locate_cd(z, &count, err);
	if (rc < 0)
		goto out;
	rc = zip_parse_cd(z, count, err);
out:
	if (rc < 0) {
		io_zip_close(z);
		return NULL;
	}
	return z;
}

void io_zip_close(io_zip *z)
{
	if (!z)
		return;
	if (z->z_live)
		inflateEnd(&z->z);
	free(z->cd);
	free(z->ent);
	free(z->name);
	free(z->buf);
	free(z);
}

int io_zip_next(io_zip *z, const char **name, core_err *err)
{
	if (!z || !name)
		return core_err_set(err, CORE_EINVAL, 0, "io_zip_next: no archive");
	z->started = true;
	while (z->cur < z->n && z->ent[z->cur].skip)
		z->cur++;
	if (z->cur >= z->n) {
		z->m = NULL;
		z->mstate = ZM_NONE;
		return 0;
	}
	z->m = &z->ent[z->cur++];
	z->mstate = ZM_HEADER;
	*name = zip_set_name(z, z->m);
	return 1;
}

static const char *zip_method_name(unsigned m)
{
	switch (m) {
	case 1: return "shrink";
	case 2: case 3: case 4: case 5: return "reduce";
	case 6: return "implode";
	case 9: return "deflate64";
	case 12: return "bzip2";
	case 14: return "lzma";
	case 93: return "zstd";
	case 95: return "xz";
	case 96: return "jpeg";
	case 97: return "wavpack";
	case 98: return "ppmd";
	case 99: return "AES encryption";
	default: return "unknown";
	}
}

/* Reads and checks the local header of the current member. */
static int zip_begin(io_zip *z, core_err *err)
{
	zip_entry *e = z->m;
	unsigned char h[ZIP_LOC_LEN];
	uint64_t data;
	int rc;

	if ((e->flags & 1) || e->method == 99)
		return core_err_set(err, CORE_ENOTSUP, (size_t)e->lho, "member %s is encrypted", z->name);
	if (e->method != 0 && e->method != 8)
		return core_err_set(err, CORE_ENOTSUP, (size_t)e->lho,
				    "member %s uses compression method %u (%s); only stored and deflate are supported",
				    z->name, e->method, zip_method_name(e->method));
	rc = zip_pread(z, h, sizeof h, e->lho, err);
	if (rc < 0)
		return rc;
	if (memcmp(h, "PK\3\4", 4) != 0)
		return core_err_set(err, CORE_EPARSE, (size_t)e->lho, "member %s: no local header at offset %" PRIu64,
				    z->name, e->lho);
	if (rd16(h + 8) != e->method)
		return core_err_set(err, CORE_EPARSE, (size_t)e->lho,
				    "member %s: local header method %u differs from the directory's %u",
				    z->name, rd16(h + 8), e->method);
	data = e->lho + ZIP_LOC_LEN + rd16(h + 26) + rd16(h + 28);
	if (data > e->limit || e->csize > e->limit - data)
		return core_err_set(err, CORE_EPARSE, (size_t)e->lho,
				    "member %s: data (%" PRIu64 " bytes at %" PRIu64 ") overlaps the next member or the central directory",
				    z->name, e->csize, data);
	if (e->method == 0 && e->csize != e->usize)
		return core_err_set(err, CORE_EPARSE, (size_t)e->lho,
				    "stored member %s: compressed size %" PRIu64 " differs from size %" PRIu64,
				    z->name, e->csize, e->usize);
	z->cpos = data;
	z->cend = data + e->csize;
	z->out = 0;
	z->crc = crc32(0L, Z_NULL, 0);
	if (e->method == 8) {
		if (!z->z_live) {
			if (inflateInit2(&z->z, -15) != Z_OK)
				return core_err_set(err, CORE_ENOMEM, (size_t)e->lho, "cannot start inflate");
			z->z_live = true;
		} else if (inflateReset(&z->z) != Z_OK) {
			return core_err_set(err, CORE_EIO, (size_t)e->lho, "cannot reset inflate");
		}
		z->z.avail_in = 0;
		z->z_end = false;
	}
	return 0;
}

/* Counts n produced bytes against the declared size and into the CRC. */
static ssize_t zip_account(io_zip *z, const void *buf, size_t n, core_err *err)
{
	z->out += n;
	if (z->out > z->m->usize)
		return core_err_set(err, CORE_EPARSE, (size_t)z->cpos,
				    "member %s: more data than its declared size of %" PRIu64 " bytes",
				    z->name, z->m->usize);
	z->crc = crc32(z->crc, buf, (uInt)n);
	return (ssize_t)n;
}

static ssize_t zip_read_stored(io_zip *z, void *buf, size_t n, core_err *err)
{
	uint64_t left = z->cend - z->cpos;
	int rc;

	if (left == 0)
		return 0;
	if (n > left)
		n = (size_t)left;
	rc = zip_pread(z, buf, n, z->cpos, err);
	if (rc < 0)
		return rc;
	z->cpos += n;
	return zip_account(z, buf, n, err);
}

static ssize_t zip_read_deflate(io_zip *z, void *buf, size_t n, core_err *err)
{
	for (;;) {
		size_t got;
		int zr, rc;

		if (z->z_end)
			return 0;
		if (z->z.avail_in == 0 && z->cpos < z->cend) {
			size_t want = z->cend - z->cpos < ZIP_BUF ? (size_t)(z->cend - z->cpos) : ZIP_BUF;
			rc = zip_pread(z, z->buf, want, z->cpos, err);
			if (rc < 0)
				return rc;
			z->cpos += want;
			z->z.next_in = z->buf;
			z->z.avail_in = (uInt)want;
		}
		z->z.next_out = buf;
		z->z.avail_out = (uInt)n;
		zr = inflate(&z->z, Z_NO_FLUSH);
		got = n - z->z.avail_out;
		if (zr == Z_STREAM_END)
			z->z_end = true;
		else if (zr == Z_MEM_ERROR)
			return core_err_set(err, CORE_ENOMEM, (size_t)z->cpos, "member %s: out of memory", z->name);
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return core_err_set(err, CORE_EPARSE, (size_t)(z->cpos - z->z.avail_in),
					    "member %s: bad deflate data (%s)", z->name,
					    z->z.msg ? z->z.msg : "unknown error");
		if (got > 0)
			return zip_account(z, buf, got, err);
		if (!z->z_end && z->z.avail_in == 0 && z->cpos == z->cend)
			return core_err_set(err, CORE_EPARSE, (size_t)z->cpos,
					    "member %s: deflate data ends before the end of its stream",
					    z->name);
	}
}

/* Checks the size and CRC-32 of the finished member. */
static int zip_finish(io_zip *z, core_err *err)
{
	if (z->out != z->m->usize)
		return core_err_set(err, CORE_EPARSE, (size_t)z->cpos,
				    "member %s: %" PRIu64 " bytes, but the directory says %" PRIu64,
				    z->name, z->out, z->m->usize);
	if (z->crc != z->m->crc)
		return core_err_set(err, CORE_EPARSE, (size_t)z->cpos,
				    "member %s: CRC-32 mismatch (data %08lx, directory %08" PRIx32 ")",
				    z->name, z->crc, z->m->crc);
	return 0;
}

static ssize_t zip_fail(io_zip *z, const core_err *local, core_err *err)
{
	z->merr = *local;
	z->mstate = ZM_FAILED;
	if (err)
		*err = *local;
	return local->code;
}

ssize_t io_zip_read(io_zip *z, void *buf, size_t n, core_err *err)
{
	core_err local = { 0 };
	ssize_t r;

	if (!z || (!buf && n > 0))
		return core_err_set(err, CORE_EINVAL, 0, "io_zip_read: no archive or buffer");
	if (!z->m)
		return z->started ? 0 : core_err_set(err, CORE_EINVAL, 0, "read before the first member");
	if (z->mstate == ZM_FAILED) {
		if (err)
			*err = z->merr;
		return z->merr.code;
	}
	if (z->mstate == ZM_DONE || n == 0)
		return 0;
	if (n > ZIP_READ_MAX)
		n = ZIP_READ_MAX;
	if (z->mstate == ZM_HEADER) {
		r = zip_begin(z, &local);
		if (r < 0)
			return zip_fail(z, &local, err);
		z->mstate = ZM_DATA;
	}
	r = z->m->method == 0 ? zip_read_stored(z, buf, n, &local) : zip_read_deflate(z, buf, n, &local);
	if (r < 0)
		return zip_fail(z, &local, err);
	if (r == 0) {
		if (zip_finish(z, &local) < 0)
			return zip_fail(z, &local, err);
		z->mstate = ZM_DONE;
	}
	return r;
}
