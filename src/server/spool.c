/* spool.c: the crash-safe spool of acknowledged records (RELP).
 *
 * librelp acknowledges a message as soon as the server's callback returns,
 * long before the event is committed to the store. So that an acknowledged
 * record survives a crash of the process (kill -9, the OOM killer, a bug),
 * the callback first appends it to DATA/spool/ with one write(2): once that
 * returns, the bytes are in the kernel's page cache and outlive the process.
 * No fsync: an operating-system crash or a power cut can still lose the last
 * records written, as it can lose SQLite's last WAL commits (see
 * docs/SERVER.md).
 *
 * Every record gets a sequence number. The writer reports the numbers of the
 * records it has committed (srv_spool_done); the watermark W is the lowest
 * number not yet committed. After each commit DATA/spool/done gets W and a
 * bitmap of the numbers above W already committed (workers finish batches
 * out of order), in the older of its two checksummed slots (see SLOT). On
 * start every spooled record not marked there is queued again. Only a batch
 * committed between the store's commit and that write can be stored twice
 * (at least once, as RELP itself is); none is lost.
 *
 * Files: segments named by their first number (16 hex digits + ".spool"),
 * a new one every SEG_MAX bytes and at every start; a segment is deleted
 * once the watermark has passed it. Record layout (little-endian host
 * order, the spool is not meant to move between machines):
 *   u32 len, u32 crc32(of the rest of the header and the data),
 *   u64 seq, i64 received, u32 tenant, u16 input, u8 kind, u8 0, data[len]
 * A torn or corrupt record ends its segment's replay (only the last write
 * before a crash can be torn, and it was never acknowledged).
 *
 * The numbers between W and the next one are tracked in a ring bitmap of
 * RING bits; appends wait while RING/2 records are pending, so that the ring
 * never wraps (backpressure on the RELP sender, as when the queue is full). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "server/server_int.h"

#define SEG_MAX (64u << 20)
#define RING (1u << 22)
#define HDR 32
#define DONE_HDR 64

struct srv_spool {
	pthread_mutex_t mu;
	pthread_cond_t room;
	char dir[4096];
	int fd;                 /* the segment appended to, or -1 */
	uint64_t fd_size;
	uint64_t *segs;         /* first numbers of the segments on disk, ascending */
	size_t nsegs, capsegs;
	uint64_t next;          /* the number of the next record */
	uint64_t w;             /* every record below is committed */
	uint64_t hi;            /* 1 + the highest number committed */
	uint64_t saved_w, saved_hi; /* what the done file says */
	uint64_t gen;           /* of the newest slot of the done file */
	int done_fd;
	unsigned char *saved;   /* its bitmap of [saved_w, saved_hi) (replay only) */
	uint64_t *ring;         /* bit (seq % RING): committed, for seq in [w, next) */
	unsigned char *bits;    /* scratch for writing the done file */
	bool started;           /* replay has seen a record */
};

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static bool ring_get(const srv_spool *sp, uint64_t seq)
{
	uint64_t b = seq % RING;
	return (sp->ring[b / 64] >> (b % 64)) & 1u;
}

static void ring_set(srv_spool *sp, uint64_t seq, bool on)
{
	uint64_t b = seq % RING, bit = (uint64_t)1 << (b % 64);
	sp->ring[b / 64] = on ? sp->ring[b / 64] | bit : sp->ring[b / 64] & ~bit;
}

static int seg_path(const srv_spool *sp, uint64_t first, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%016" PRIx64 ".spool", sp->dir, first);
	return n > 0 && (size_t)n < cap ? 0 : CORE_EINVAL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Lists the segments of the spool folder, ascending. */
static int list_segments(srv_spool *sp, core_err *err)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", sp->dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *end;
		uint64_t first;
		if (strlen(e->d_name) != 22 || strcmp(e->d_name + 16, ".spool") != 0)
			continue;
		errno = 0;
		first = strtoull(e->d_name, &end, 16);
		if (errno || end != e->d_name + 16)
			continue;
		if (core_grow((void **)&sp->segs, &sp->capsegs, sp->nsegs + 1, sizeof *sp->segs, 8) != 0) {
			rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
			break;
		}
		sp->segs[sp->nsegs++] = first;
	}
	closedir(d);
	if (sp->nsegs > 1)
		qsort(sp->segs, sp->nsegs, sizeof *sp->segs, cmp_u64);
	return rc;
}

static int done_path(const srv_spool *sp, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", sp->dir, name);
	return n > 0 && (size_t)n < cap ? 0 : CORE_EINVAL;
}

/* The done file has two slots of SLOT bytes, written in turn in place (no
 * rename: on ext4 a rename over a file forces its data to disk, which cost
 * the RELP path half its rate). A slot is "hisn-spool GEN W HI CRC\n" padded
 * to DONE_HDR bytes, then the bitmap of [W, HI); CRC (crc32 of the bitmap and
 * the numbers) rejects a slot torn by a crash, and the valid slot with the
 * higher GEN wins. */
#define SLOT (DONE_HDR + RING / 16)

static uint32_t slot_crc(uint64_t gen, uint64_t w, uint64_t hi, const unsigned char *bits, size_t nb)
{
	unsigned char nums[24];
	uLong c = crc32(0L, Z_NULL, 0);
	put64(nums, gen), put64(nums + 8, w), put64(nums + 16, hi);
	c = crc32(c, nums, sizeof nums);
	return (uint32_t)crc32(c, bits, (uInt)nb);
}

/* Reads slot k; 0 with its numbers and bitmap (malloc-owned *bits), or -1. */
static int read_slot(int fd, int k, uint64_t *gen, uint64_t *w, uint64_t *hi, unsigned char **bits)
{
	char hdr[DONE_HDR + 1] = {0}, *end;
	unsigned long long g, a, b, c;
	size_t nb;

	*bits = NULL;
	if (pread(fd, hdr, DONE_HDR, (off_t)k * SLOT) != DONE_HDR || strncmp(hdr, "hisn-spool ", 11) != 0)
		return -1;
	errno = 0;
	g = strtoull(hdr + 11, &end, 10);
	if (errno || *end != ' ')
		return -1;
	a = strtoull(end + 1, &end, 10);
	if (errno || *end != ' ')
		return -1;
	b = strtoull(end + 1, &end, 10);
	if (errno || *end != ' ')
		return -1;
	c = strtoull(end + 1, &end, 10);
	if (errno || *end != '\n' || a == 0 || b < a || b - a > RING / 2 || c > UINT32_MAX)
		return -1;
	nb = (size_t)((b - a + 7) / 8);
	if (!(*bits = calloc(nb ? nb : 1, 1)) || (nb && pread(fd, *bits, nb, (off_t)k * SLOT + DONE_HDR) != (ssize_t)nb) ||
	    slot_crc(g, a, b, *bits, nb) != (uint32_t)c) {
		free(*bits);
		*bits = NULL;
		return -1;
	}
	*gen = g, *w = a, *hi = b;
	return 0;
}

static void read_done(srv_spool *sp)
{
	uint64_t gen[2] = {0}, w[2], hi[2];
	unsigned char *bits[2] = {NULL, NULL};
	int ok[2], best;

	sp->w = sp->hi = 1; /* numbers start at 1: 0 marks a record that is not spooled */
	sp->gen = 0;
	for (int k = 0; k < 2; k++)
		ok[k] = sp->done_fd >= 0 && read_slot(sp->done_fd, k, &gen[k], &w[k], &hi[k], &bits[k]) == 0;
	best = ok[0] && (!ok[1] || gen[0] > gen[1]) ? 0 : ok[1] ? 1 : -1;
	if (best >= 0) {
		sp->gen = gen[best];
		sp->w = w[best], sp->hi = hi[best];
		sp->saved = bits[best];
		bits[best] = NULL;
	}
	free(bits[0]);
	free(bits[1]);
	sp->saved_w = sp->w, sp->saved_hi = sp->hi;
}

static bool saved_done(const srv_spool *sp, uint64_t seq)
{
	uint64_t k = seq - sp->saved_w;
	return sp->saved && seq >= sp->saved_w && seq < sp->saved_hi && (sp->saved[k / 8] >> (k % 8)) & 1u;
}

/* Under the mutex: the next slot (header and bitmap) into sp->bits; its
 * length, or 0 when the file already says this. */
static size_t snapshot_done(srv_spool *sp, off_t *at)
{
	uint64_t hi = sp->hi > sp->w ? sp->hi : sp->w;
	size_t nb = (size_t)((hi - sp->w + 7) / 8);
	unsigned char *bm = sp->bits + DONE_HDR;
	char hdr[DONE_HDR + 1];
	int n;

	if (sp->w == sp->saved_w && hi == sp->saved_hi)
		return 0;
	memset(bm, 0, nb);
	for (uint64_t q = sp->w; q < hi; q++)
		if (ring_get(sp, q))
			bm[(q - sp->w) / 8] |= (unsigned char)(1u << ((q - sp->w) % 8));
	sp->gen++;
	n = snprintf(hdr, sizeof hdr, "hisn-spool %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu32 "\n", sp->gen,
		     sp->w, hi, slot_crc(sp->gen, sp->w, hi, bm, nb));
	if (n <= 0 || n >= DONE_HDR)
		return 0;
	memset(sp->bits, ' ', DONE_HDR);
	memcpy(sp->bits, hdr, (size_t)n);
	sp->bits[DONE_HDR - 1] = '\n';
	sp->saved_w = sp->w, sp->saved_hi = hi;
	*at = (off_t)(sp->gen % 2) * SLOT;
	return DONE_HDR + nb;
}

/* Outside the mutex (only the writer thread calls it). */
static void write_done(srv_spool *sp, size_t len, off_t at)
{
	if (len && sp->done_fd >= 0 && pwrite(sp->done_fd, sp->bits, len, at) != (ssize_t)len)
		sp->saved_w = 0; /* try again at the next commit */
}

int srv_spool_open(const char *data_dir, srv_spool **out, core_err *err)
{
	srv_spool *sp = calloc(1, sizeof *sp);
	char path[4200];
	int rc = 0;

	*out = NULL;
	if (!sp || !(sp->ring = calloc(RING / 64, sizeof *sp->ring)) || !(sp->bits = malloc(SLOT))) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		goto out;
	}
	sp->fd = sp->done_fd = -1;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->room, NULL);
	if (snprintf(sp->dir, sizeof sp->dir, "%s/spool", data_dir) >= (int)sizeof sp->dir) {
		rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: path too long", data_dir);
		goto out;
	}
	if (mkdir(sp->dir, 0700) != 0 && errno != EEXIST) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", sp->dir, strerror(errno));
		goto out;
	}
	if (done_path(sp, "done", path, sizeof path) != 0 ||
	    (sp->done_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s/done: %s", sp->dir, strerror(errno));
		goto out;
	}
	read_done(sp);
	sp->next = sp->w;
	rc = list_segments(sp, err);
out:
	if (rc) {
		srv_spool_close(sp);
		sp = NULL;
	}
	*out = sp;
	return rc;
}

/* Reads one segment; queues every whole record numbered w or more. */
static int replay_segment(srv_spool *sp, uint64_t first, srv_spool_fn fn, void *ud, uint64_t *n_out,
			  core_err *err)
{
	char path[4200];
	unsigned char hdr[HDR];
	int fd = -1, rc = 0;
	srv_rec *r = NULL;

	if (seg_path(sp, first, path, sizeof path) != 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		uint32_t len, crc;
		uint64_t seq;
		if (read(fd, hdr, HDR) != HDR)
			break;
		len = get32(hdr), crc = get32(hdr + 4), seq = get64(hdr + 8);
		if (len > (256u << 20) || !(r = malloc(sizeof *r + len + 1)))
			break;
		if (read(fd, r->data, len) != (ssize_t)len)
			break;
		uLong c = crc32(crc32(0L, Z_NULL, 0), hdr + 8, HDR - 8);
		if ((uint32_t)crc32(c, (const Bytef *)r->data, len) != crc || seq < first)
			break;
		if (seq >= sp->w && seq >= sp->next) {
			*r = (srv_rec){.received = (int64_t)get64(hdr + 16), .tenant = get32(hdr + 24),
				       .kind = hdr[30], .len = len, .spool = seq};
			memcpy(&r->input, hdr + 28, 2);
			r->data[len] = '\0';
			if (!sp->started && seq > sp->w) /* older segments are gone: start here */
				sp->w = sp->next = seq;
			sp->started = true;
			if (seq - sp->next >= RING / 2)
				break; /* a number out of any window this spool could have made */
			/* the numbers skipped (a record of an older crash) count as done */
			for (uint64_t k = sp->next; k < seq; k++)
				ring_set(sp, k, true);
			sp->next = seq + 1;
			if (saved_done(sp, seq)) { /* committed, out of order, before the stop */
				ring_set(sp, seq, true);
			} else {
				(*n_out)++;
				rc = fn(ud, r); /* takes r */
				r = NULL;
				if (rc)
					break;
			}
		}
		free(r);
		r = NULL;
	}
out:
	free(r);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void advance(srv_spool *sp)
{
	while (sp->w < sp->next && ring_get(sp, sp->w))
		ring_set(sp, sp->w++, false);
}

int srv_spool_replay(srv_spool *sp, srv_spool_fn fn, void *ud, uint64_t *replayed, core_err *err)
{
	int rc = 0;
	*replayed = 0;
	sp->next = sp->w;
	for (size_t i = 0; i < sp->nsegs && rc == 0; i++)
		rc = replay_segment(sp, sp->segs[i], fn, ud, replayed, err);
	if (sp->nsegs && sp->next < sp->segs[sp->nsegs - 1])
		sp->next = sp->segs[sp->nsegs - 1]; /* an empty last segment: its name is the next number */
	pthread_mutex_lock(&sp->mu);
	advance(sp);
	if (sp->hi < sp->w) /* else as the file says: nothing to write before a commit */
		sp->hi = sp->w;
	free(sp->saved);
	sp->saved = NULL;
	off_t at = 0;
	size_t len = snapshot_done(sp, &at);
	pthread_mutex_unlock(&sp->mu);
	write_done(sp, len, at);
	return rc;
}

static int new_segment(srv_spool *sp)
{
	char path[4200];
	int fd;
	if (seg_path(sp, sp->next, path, sizeof path) != 0)
		return CORE_EINVAL;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return CORE_EIO;
	if (sp->nsegs == 0 || sp->segs[sp->nsegs - 1] != sp->next) {
		if (core_grow((void **)&sp->segs, &sp->capsegs, sp->nsegs + 1, sizeof *sp->segs, 8) != 0) {
			close(fd);
			return CORE_ENOMEM;
		}
		sp->segs[sp->nsegs++] = sp->next;
	}
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = fd;
	sp->fd_size = 0;
	return 0;
}

int srv_spool_append(srv_spool *sp, srv_rec *r)
{
	unsigned char hdr[HDR];
	struct iovec iov[2] = {{hdr, HDR}, {r->data, r->len}};
	int rc = 0;

	if (r->len > (256u << 20))
		return CORE_ETOOBIG;
	pthread_mutex_lock(&sp->mu);
	while (sp->next - sp->w >= RING / 2)
		pthread_cond_wait(&sp->room, &sp->mu);
	if ((sp->fd < 0 || sp->fd_size >= SEG_MAX) && (rc = new_segment(sp)) != 0)
		goto out;
	put32(hdr, (uint32_t)r->len);
	put64(hdr + 8, sp->next);
	put64(hdr + 16, (uint64_t)r->received);
	put32(hdr + 24, r->tenant);
	memcpy(hdr + 28, &r->input, 2);
	hdr[30] = r->kind, hdr[31] = 0;
	uLong c = crc32(crc32(0L, Z_NULL, 0), hdr + 8, HDR - 8);
	put32(hdr + 4, (uint32_t)crc32(c, (const Bytef *)r->data, (uInt)r->len));
	ssize_t n = writev(sp->fd, iov, 2);
	if (n != (ssize_t)(HDR + r->len)) {
		/* take a partial record back so that the next one is readable */
		if (n > 0 && ftruncate(sp->fd, (off_t)sp->fd_size) != 0)
			sp->fd_size = SEG_MAX; /* cannot: start a new segment next time */
		rc = CORE_EIO;
		goto out;
	}
	sp->fd_size += (uint64_t)n;
	r->spool = sp->next++;
out:
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

void srv_spool_done(srv_spool *sp, const uint64_t *seqs, size_t n)
{
	char path[4200];
	uint64_t spent[16];
	size_t nspent = 0, len;
	off_t at = 0;

	if (!sp || n == 0)
		return;
	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < n; i++)
		if (seqs[i] >= sp->w && seqs[i] < sp->next) {
			ring_set(sp, seqs[i], true);
			if (seqs[i] >= sp->hi)
				sp->hi = seqs[i] + 1;
		}
	advance(sp);
	len = snapshot_done(sp, &at);
	/* a segment is spent once the next one starts at or below the watermark */
	while (nspent < sizeof spent / sizeof *spent && sp->nsegs >= 2 && sp->segs[1] <= sp->w) {
		spent[nspent++] = sp->segs[0];
		memmove(sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof *sp->segs);
		sp->nsegs--;
	}
	pthread_cond_broadcast(&sp->room);
	pthread_mutex_unlock(&sp->mu);
	/* the file work without the mutex, which every RELP append needs */
	write_done(sp, len, at);
	for (size_t i = 0; i < nspent; i++)
		if (seg_path(sp, spent[i], path, sizeof path) == 0)
			unlink(path);
}

uint64_t srv_spool_pending(srv_spool *sp)
{
	uint64_t n;
	if (!sp)
		return 0;
	pthread_mutex_lock(&sp->mu);
	n = sp->next - sp->w;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

void srv_spool_close(srv_spool *sp)
{
	char path[4200];
	if (!sp)
		return;
	/* everything committed: every segment is spent (the done file keeps the
	 * watermark, which is the next number) */
	if (sp->ring && sp->w == sp->next)
		while (sp->nsegs >= 1) {
			if (seg_path(sp, sp->segs[0], path, sizeof path) == 0)
				unlink(path);
			memmove(sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof *sp->segs);
			sp->nsegs--;
		}
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->done_fd >= 0)
		close(sp->done_fd);
	pthread_mutex_destroy(&sp->mu);
	pthread_cond_destroy(&sp->room);
	free(sp->segs);
	free(sp->ring);
	free(sp->bits);
	free(sp->saved);
	free(sp);
}
