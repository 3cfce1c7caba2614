/* test_io_input.c: TAP tests of the io module. Fixtures (plain, gzip,
 * concatenated gzip, zstd, multi-frame zstd, zip, and damaged copies) are made
 * at run time in a temporary directory with the gzip, zstd and zip tools; a
 * real OTRF zip from $HISN_SHARED is read when that variable is set. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "io/io.h"

static char tdir[512];

typedef struct blob {
	unsigned char *p; /* owned (malloc) */
	size_t n;
} blob;

/* Runs a shell command built from fmt; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof cmd)
		return -1;
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* tdir/name into out (static storage rotates over 4 slots). */
static const char *tpath(const char *name)
{
	static char slots[4][1024];
	static int k;
	char *p = slots[k++ & 3];

	snprintf(p, sizeof slots[0], "%s/%s", tdir, name);
	return p;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(p, 1, n, f) == n ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static blob read_file(const char *path)
{
	blob b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	long sz;

	if (!f)
		return b;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		b.p = malloc((size_t)sz + 1);
		if (b.p && fread(b.p, 1, (size_t)sz, f) == (size_t)sz)
			b.n = (size_t)sz;
	}
	fclose(f);
	return b;
}

/* Deterministic log-like text of about n bytes. */
static blob gen_text(size_t n, unsigned seed)
{
	blob b = { malloc(n + 128), 0 };
	uint32_t x = seed * 2654435761u + 1;

	while (b.p && b.n < n) {
		x = x * 1103515245u + 12345u;
		b.n += (size_t)snprintf((char *)b.p + b.n, 128, "line %zu user=u%u value=%u path=/var/x/%08x\n",
					b.n, x % 97, (x >> 8) % 100000, x);
	}
	return b;
}

/* Reads the current member entirely in chunks of chunk bytes. Returns 0 or
 * the negative code of the failing read. */
static int read_member(io_input *in, blob *out, size_t chunk, core_err *err)
{
	size_t cap = 0;
	ssize_t r = 0;

	out->p = NULL;
	out->n = 0;
	for (;;) {
		if (cap - out->n < chunk) {
			unsigned char *np = realloc(out->p, cap * 2 + chunk + 1);
			if (!np)
				return -1;
			out->p = np;
			cap = cap * 2 + chunk;
		}
		r = io_read(in, out->p + out->n, chunk, err);
		if (r <= 0)
			break;
		out->n += (size_t)r;
	}
	return (int)r;
}

static bool same(const blob *a, const void *p, size_t n)
{
	return a->n == n && (n == 0 || memcmp(a->p, p, n) == 0);
}

/* Opens path, expects one member of kind and content want. */
static void check_single(const char *label, const char *path, const char *kind, const void *want, size_t n)
{
	core_err err = { 0 };
	io_input *in = io_open(path, &err);
	const char *name = NULL;
	blob got = { NULL, 0 };
	int rc;

	TAP_OK(in != NULL, "%s: opens (%s)", label, in ? "ok" : err.msg);
	if (!in)
		return;
	TAP_OK(strcmp(io_kind(in), kind) == 0, "%s: kind is %s (got %s)", label, kind, io_kind(in));
	TAP_OK(io_next(in, &name, &err) == 1 && name && strcmp(name, path) == 0, "%s: one member named after the path",
	       label);
	rc = read_member(in, &got, 4093, &err);
	TAP_OK(rc == 0 && same(&got, want, n), "%s: %zu bytes read exactly (rc %d, %zu bytes%s%s)", label, n, rc,
	       got.n, rc ? ": " : "", rc ? err.msg : "");
	TAP_OK(io_next(in, &name, &err) == 0, "%s: no second member", label);
	free(got.p);
	io_close(in);
}

static void test_plain_and_compressed(void)
{
	blob a = gen_text(2u << 20, 1), b = gen_text(300000, 2), ab;

	ab.n = a.n + b.n;
	ab.p = malloc(ab.n);
	memcpy(ab.p, a.p, a.n);
	memcpy(ab.p + a.n, b.p, b.n);
	write_file(tpath("a.txt"), a.p, a.n);
	write_file(tpath("b.txt"), b.p, b.n);
	write_file(tpath("empty.txt"), "", 0);
	TAP_OK(sh("cd '%s' && gzip -c a.txt > a.gz && gzip -c a.txt > ab.gz && gzip -c b.txt >> ab.gz", tdir) == 0,
	       "gzip fixtures made");
	TAP_OK(sh("cd '%s' && zstd -q -c a.txt > a.zst && zstd -q -c a.txt > ab.zst && zstd -q -c b.txt >> ab.zst",
		  tdir) == 0,
	       "zstd fixtures made");
	check_single("plain", tpath("a.txt"), "plain", a.p, a.n);
	check_single("empty", tpath("empty.txt"), "plain", "", 0);
	check_single("gzip", tpath("a.gz"), "gzip", a.p, a.n);
	check_single("concatenated gzip", tpath("ab.gz"), "gzip", ab.p, ab.n);
	check_single("zstd", tpath("a.zst"), "zstd", a.p, a.n);
	check_single("multi-frame zstd", tpath("ab.zst"), "zstd", ab.p, ab.n);
	/* gzip members padded with NULs (as tape tools do) still read */
	sh("cd '%s' && cp ab.gz pad.gz && head -c 1000 /dev/zero >> pad.gz", tdir);
	check_single("NUL-padded gzip", tpath("pad.gz"), "gzip", ab.p, ab.n);
	free(a.p);
	free(b.p);
	free(ab.p);
}

/* Opens a damaged stream and expects io_read to fail with code. */
static void check_read_fails(const char *label, const char *path, int code, const char *needle)
{
	core_err err = { 0 }, err2 = { 0 };
	io_input *in = io_open(path, &err);
	const char *name;
	blob got = { NULL, 0 };
	int rc;

	TAP_OK(in != NULL, "%s: opens", label);
	if (!in)
		return;
	TAP_OK(io_next(in, &name, &err) == 1, "%s: has a member", label);
	rc = read_member(in, &got, 65536, &err);
	TAP_OK(rc == code && strstr(err.msg, needle) && err.offset > 0 && err.offset != SIZE_MAX,
	       "%s: read fails with %d at offset %zu (%s)", label, rc, err.offset, err.msg);
	TAP_OK(io_read(in, got.p, 1, &err2) == code && err2.offset == err.offset, "%s: the error is repeated", label);
	free(got.p);
	io_close(in);
}

static void test_damaged_streams(void)
{
	sh("cd '%s' && head -c 300000 a.gz > trunc.gz && head -c 300000 a.zst > trunc.zst", tdir);
	sh("cd '%s' && cp a.gz junk.gz && printf 'trailing junk' >> junk.gz", tdir);
	check_read_fails("truncated gzip", tpath("trunc.gz"), CORE_EPARSE, "truncated");
	check_read_fails("truncated zstd", tpath("trunc.zst"), CORE_EPARSE, "truncated");
	check_read_fails("gzip with trailing junk", tpath("junk.gz"), CORE_EPARSE, "gzip");
}

static void test_open_errors(void)
{
	core_err err = { 0 };
	io_input *in;

	in = io_open(tpath("does-not-exist"), &err);
	TAP_OK(in == NULL && err.code == CORE_EIO, "missing file: CORE_EIO (%s)", err.msg);
	io_close(in);
	in = io_open(tdir, &err);
	TAP_OK(in == NULL && err.code == CORE_EINVAL, "directory: CORE_EINVAL (%s)", err.msg);
	io_close(in);
	write_file(tpath("notzip.zip"), "PK\3\4 this is not really a zip archive", 38);
	in = io_open(tpath("notzip.zip"), &err);
	TAP_OK(in == NULL && err.code == CORE_EPARSE, "zip magic without a directory: CORE_EPARSE (%s)", err.msg);
	io_close(in);
}

static blob stored_text(void)
{
	static const char s[] = "STORED-MEMBER first line\nsecond line of the stored member\n";
	blob b = { malloc(sizeof s), sizeof s - 1 };

	memcpy(b.p, s, b.n);
	return b;
}

static void make_zip(void)
{
	blob st = stored_text(), big = gen_text(400000, 3);

	sh("mkdir -p '%s/z/sub' '%s/z/__MACOSX'", tdir, tdir);
	write_file(tpath("z/stored.txt"), st.p, st.n);
	write_file(tpath("z/big.txt"), big.p, big.n);
	write_file(tpath("z/__MACOSX/._x"), "\0\5\26\7 resource fork", 18);
	write_file(tpath("z/sub/._hidden"), "apple double", 12);
	TAP_OK(sh("cd '%s/z' && rm -f ../t.zip && zip -q -0 ../t.zip stored.txt && zip -q -9 ../t.zip big.txt sub "
		  "__MACOSX/._x sub/._hidden",
		  tdir) == 0,
	       "zip fixture made");
	free(st.p);
	free(big.p);
}

/* Reads every member of the zip at path; checks names and exact bytes. */
static void check_zip_members(const char *label, const char *path)
{
	blob st = stored_text(), big = gen_text(400000, 3), got = { NULL, 0 };
	core_err err = { 0 };
	io_input *in = io_open(path, &err);
	const char *name = NULL;
	int rc;

	TAP_OK(in != NULL, "%s: opens (%s)", label, in ? "ok" : err.msg);
	if (!in)
		goto out;
	TAP_OK(strcmp(io_kind(in), "zip") == 0, "%s: kind zip", label);
	rc = io_next(in, &name, &err);
	TAP_OK(rc == 1 && strcmp(name, "stored.txt") == 0, "%s: first member stored.txt (%s)", label, rc == 1 ? name : "-");
	rc = read_member(in, &got, 7, &err);
	TAP_OK(rc == 0 && same(&got, st.p, st.n), "%s: stored member exact (%s)", label, rc ? err.msg : "ok");
	free(got.p);
	rc = io_next(in, &name, &err);
	TAP_OK(rc == 1 && strcmp(name, "big.txt") == 0, "%s: second member big.txt (%s)", label, rc == 1 ? name : "-");
	rc = read_member(in, &got, 100000, &err);
	TAP_OK(rc == 0 && same(&got, big.p, big.n), "%s: deflated member exact (%s)", label, rc ? err.msg : "ok");
	free(got.p);
	rc = io_next(in, &name, &err);
	TAP_OK(rc == 0, "%s: directory, __MACOSX/ and ._ entries skipped (rc %d, %s)", label, rc, rc == 1 ? name : "-");
	io_close(in);
out:
	free(st.p);
	free(big.p);
}

static unsigned char *find_bytes(blob *b, const void *needle, size_t n)
{
	return memmem(b->p, b->n, needle, n);
}

/* The number of central directory headers (signature PK 1 2). */
static int count_entries(const blob *z)
{
	int n = 0;

	for (size_t i = 0; i + 4 <= z->n; i++)
		n += memcmp(z->p + i, "PK\1\2", 4) == 0;
	return n;
}

/* Sets the method (and flags) of the named member in both headers. */
static void patch_member(blob *z, const char *name, unsigned method, unsigned flags)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + 46 + nl <= z->n; i++) {
		unsigned char *p = z->p + i;
		if (memcmp(p, "PK\1\2", 4) == 0 && p[28] == nl && p[29] == 0 && memcmp(p + 46, name, nl) == 0) {
			p[8] = (unsigned char)flags;
			p[10] = (unsigned char)method;
		}
		if (memcmp(p, "PK\3\4", 4) == 0 && p[26] == nl && p[27] == 0 && memcmp(p + 30, name, nl) == 0) {
			p[6] = (unsigned char)flags;
			p[8] = (unsigned char)method;
		}
	}
}

/* Member at position skip (0-based among readable ones) must fail to read
 * with code and a message containing needle; the other members read. */
static void check_zip_member_fails(const char *label, const char *path, int code, const char *needle)
{
	core_err err = { 0 };
	io_input *in = io_open(path, &err);
	const char *name;
	blob got = { NULL, 0 };
	int rc, bad = 0, good = 0;

	TAP_OK(in != NULL, "%s: opens (%s)", label, in ? "ok" : err.msg);
	if (!in)
		return;
	while (io_next(in, &name, &err) == 1) {
		rc = read_member(in, &got, 65536, &err);
		free(got.p);
		if (rc == code && strstr(err.msg, needle))
			bad++;
		else if (rc == 0)
			good++;
		else
			TAP_OK(0, "%s: unexpected error %d: %s", label, rc, err.msg);
	}
	TAP_OK(bad == 1 && good == 1, "%s: one member fails with %d (%s), the other reads", label, code, needle);
	io_close(in);
}

static void check_zip_open_fails(const char *label, const blob *z, const char *file)
{
	core_err err = { 0 };
	io_input *in;

	write_file(tpath(file), z->p, z->n);
	in = io_open(tpath(file), &err);
	TAP_OK(in == NULL && err.code == CORE_EPARSE, "%s: open fails with CORE_EPARSE (%s)", label, err.msg);
	io_close(in);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void test_damaged_zips(void)
{
	blob z = read_file(tpath("t.zip")), st = stored_text(), big = gen_text(400000, 3), c;
	unsigned char *hit;

	TAP_OK(z.n > 22 && memcmp(z.p + z.n - 22, "PK\5\6", 4) == 0, "zip fixture has a plain EOCD at its end");
	hit = find_bytes(&z, st.p, st.n);
	TAP_OK(hit != NULL, "stored member appears verbatim (stored)");
	TAP_OK(find_bytes(&z, big.p, 200) == NULL, "big member does not (deflated)");
	TAP_OK(count_entries(&z) == 5 && find_bytes(&z, "__MACOSX/._x", 12) && find_bytes(&z, "sub/._hidden", 12),
	       "zip fixture holds 5 entries: 2 files, sub/, __MACOSX/._x and sub/._hidden");
	if (!hit || z.n <= 22)
		goto out;
	c = (blob){ malloc(z.n), z.n };
	memcpy(c.p, z.p, z.n);
	c.p[hit - z.p + 3] ^= 0x20;
	write_file(tpath("badcrc.zip"), c.p, c.n);
	check_zip_member_fails("zip with a bad CRC", tpath("badcrc.zip"), CORE_EPARSE, "CRC-32");
	memcpy(c.p, z.p, z.n);
	patch_member(&c, "big.txt", 12, 0);
	write_file(tpath("bzip2.zip"), c.p, c.n);
	check_zip_member_fails("zip with a bzip2 member", tpath("bzip2.zip"), CORE_ENOTSUP, "bzip2");
	memcpy(c.p, z.p, z.n);
	patch_member(&c, "stored.txt", 0, 1);
	write_file(tpath("enc.zip"), c.p, c.n);
	check_zip_member_fails("zip with an encrypted member", tpath("enc.zip"), CORE_ENOTSUP, "encrypted");
	memcpy(c.p, z.p, z.n);
	put32(c.p + c.n - 22 + 16, 0x7ffffff0u);
	check_zip_open_fails("zip whose EOCD points past EOF", &c, "pasteof.zip");
	memcpy(c.p, z.p, z.n);
	c.p[c.n - 22 + 8] = c.p[c.n - 22 + 10] = 0xfe;
	check_zip_open_fails("zip with too many entries", &c, "count.zip");
	memcpy(c.p, z.p, z.n);
	put32(c.p + c.n - 22 + 12, (uint32_t)c.n);
	check_zip_open_fails("zip with an oversized directory", &c, "cdsize.zip");
	check_zip_open_fails("zip cut before its directory", &(blob){ z.p, z.n / 2 }, "half.zip");
	free(c.p);
out:
	free(z.p);
	free(st.p);
	free(big.p);
}

/* io_open("-") on a pipe: the zip is spooled to a temporary file. */
static void test_zip_stdin(void)
{
	blob z = read_file(tpath("t.zip"));
	int fds[2], saved = dup(STDIN_FILENO);
	pid_t pid;

	if (z.n == 0 || saved < 0 || pipe(fds) != 0) {
		TAP_OK(0, "stdin zip: setup");
		free(z.p);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < z.n;) {
			ssize_t w = write(fds[1], z.p + off, z.n - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	dup2(fds[0], STDIN_FILENO);
	close(fds[0]);
	check_zip_members("zip from a pipe on stdin", "-");
	dup2(saved, STDIN_FILENO);
	close(saved);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	free(z.p);
}

static void test_textual(void)
{
	static const unsigned char pcap[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
						0,    0,    0,    0,    0xff, 0xff, 0, 0, 1, 0, 0, 0 };
	static const unsigned char elf[16] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
	static const char utf8[] = "2024-01-01 h\xc3\xa9llo w\xc3\xb6rld \xe2\x80\x94 \xe2\x9c\x93 \xf0\x9f\x94\x92 ok\n";
	static const char text[] = "{\"EventID\": 1, \"Image\": \"C:\\\\Windows\\\\cmd.exe\"}\r\n\tmore\n";
	static const char nuls[] = "abc\0def\0ghi";
	unsigned char rnd[512];
	uint32_t x = 7;

	for (size_t i = 0; i < sizeof rnd; i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (unsigned char)(x >> 16) | 0x80; /* no NULs: only the UTF-8 check decides */
	}
	TAP_OK(io_looks_textual(text, sizeof text - 1), "textual: ASCII JSON text");
	TAP_OK(io_looks_textual(utf8, sizeof utf8 - 1), "textual: UTF-8 text");
	TAP_OK(io_looks_textual(utf8, 15), "textual: UTF-8 cut inside a character");
	TAP_OK(io_looks_textual("\xef\xbb\xbfhello\n", 9), "textual: UTF-8 with a BOM");
	TAP_OK(!io_looks_textual(pcap, sizeof pcap), "not textual: pcap header");
	TAP_OK(!io_looks_textual(elf, sizeof elf), "not textual: ELF header");
	TAP_OK(!io_looks_textual(nuls, sizeof nuls - 1), "not textual: NUL bytes");
	TAP_OK(!io_looks_textual(rnd, sizeof rnd), "not textual: random high bytes");
	TAP_OK(!io_looks_textual("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00", 8), "not textual: pcapng");
	TAP_OK(!io_looks_textual("\x01\x02\x03\x04\x05\x06\x07\x08", 8), "not textual: control bytes");
}

/* Reads a zip from the shared corpus; returns the member count. */
static int count_otrf(const char *path, size_t *first_total, int *first_byte)
{
	core_err err = { 0 };
	io_input *in = io_open(path, &err);
	const char *name;
	blob got = { NULL, 0 };
	int members = 0, rc;

	if (!in) {
		TAP_OK(0, "open %s: %s", path, err.msg);
		return -1;
	}
	while ((rc = io_next(in, &name, &err)) == 1) {
		rc = read_member(in, &got, 1 << 16, &err);
		TAP_OK(rc == 0, "%s member %s reads (%s)", path, name, rc ? err.msg : "ok");
		if (members++ == 0) {
			*first_total = got.n;
			*first_byte = got.n ? got.p[0] : -1;
			TAP_OK(io_looks_textual(got.p, got.n < 4096 ? got.n : 4096), "%s member %s looks textual", path, name);
		}
		free(got.p);
	}
	io_close(in);
	return rc < 0 ? -1 : members;
}

static void test_otrf(void)
{
	const char *shared = getenv("HISN_SHARED");
	char path[4096];
	size_t total = 0;
	int first = -1, n;

	if (!shared || !*shared) {
		TAP_OK(1, "# SKIP HISN_SHARED is not set");
		return;
	}
	snprintf(path, sizeof path, "%s/otrf/datasets/atomic/windows/discovery/host/"
		 "cmd_discover_iexplorer_version_registry.zip", shared);
	n = count_otrf(path, &total, &first);
	TAP_OK(n == 1 && first == '{' && total == 119351, "OTRF zip: 1 member, 119351 bytes, starts with '{' (%d, %zu, %d)",
	       n, total, first);
	snprintf(path, sizeof path, "%s/otrf/datasets/atomic/windows/defense_evasion/host/"
		 "psh_disable_eventlog_service_startuptype_modification.zip", shared);
	n = count_otrf(path, &total, &first);
	TAP_OK(n == 1 && first == '{' && total == 14311268,
	       "OTRF zip with a __MACOSX/._ member: 1 member, 14311268 bytes, starts with '{' (%d, %zu, %d)", n, total,
	       first);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tdir, sizeof tdir, "%s/hisn-io-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tdir)) {
		TAP_OK(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	test_plain_and_compressed();
	test_damaged_streams();
	test_open_errors();
	make_zip();
	check_zip_members("zip", tpath("t.zip"));
	test_damaged_zips();
	test_zip_stdin();
	test_textual();
	test_otrf();
	sh("rm -rf '%s'", tdir);
	return tap_done();
}
