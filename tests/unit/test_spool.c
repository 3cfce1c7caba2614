/* test_spool.c: the server's spool of acknowledged RELP records (src/server/spool.c).
 * A "crash" is a close without the records being reported committed: the
 * next open must hand back exactly those, byte for byte, and nothing the
 * writer had reported. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_int.h"
#include "tap.h"

static char dir[] = "/tmp/hisn-test-spool-XXXXXX";

typedef struct got {
	srv_rec *r[4096];
	size_t n;
} got;

static int collect(void *ud, srv_rec *r)
{
	got *g = ud;
	if (g->n == sizeof g->r / sizeof *g->r) {
		free(r);
		return CORE_ENOMEM;
	}
	g->r[g->n++] = r;
	return 0;
}

static void got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->r[i]);
	g->n = 0;
}

/* Record i: a text of a length that varies with i, its input, tenant and time. */
static srv_rec *make(int i)
{
	char text[600];
	int n = snprintf(text, sizeof text, "<13>Nov 28 10:00:00 h app: record %d ", i);
	while (n < (int)sizeof text - 1 && n < 40 + (i * 37) % 500)
		text[n++] = (char)('a' + i % 26);
	text[n] = '\0';
	return srv_rec_new(text, (size_t)n, SRV_SYSLOG, (uint16_t)(1 + i % 3), (uint32_t)(1 + i % 2),
			   1700000000000000000ll + i);
}

static bool same(const srv_rec *a, const srv_rec *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0 && a->data[a->len] == '\0' &&
	       a->input == b->input && a->tenant == b->tenant && a->received == b->received &&
	       a->kind == b->kind;
}

static int count_files(const char *suffix)
{
	char path[300];
	DIR *d;
	struct dirent *e;
	int n = 0;
	snprintf(path, sizeof path, "%s/spool", dir);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		n += l > sl && strcmp(e->d_name + l - sl, suffix) == 0;
	}
	closedir(d);
	return n;
}

static srv_spool *open_replay(got *g, uint64_t *replayed)
{
	srv_spool *sp = NULL;
	core_err err = {0};
	if (srv_spool_open(dir, &sp, &err) != 0) {
		printf("# open: %s\n", err.msg);
		return NULL;
	}
	if (srv_spool_replay(sp, collect, g, replayed, &err) != 0)
		printf("# replay: %s\n", err.msg);
	return sp;
}

static void test_crash_and_replay(void)
{
	got g = {0};
	uint64_t replayed = 99, seqs[1000], done[1000];
	size_t nd = 0;
	srv_spool *sp = open_replay(&g, &replayed);
	int ok = sp != NULL, bad = 0;

	TAP_OK(sp && replayed == 0 && g.n == 0, "a new spool has nothing to replay");
	for (int i = 0; ok && i < 1000; i++) {
		srv_rec *r = make(i);
		ok = r && srv_spool_append(sp, r) == 0 && r->spool > 0 && (i == 0 || r->spool == seqs[i - 1] + 1);
		seqs[i] = r ? r->spool : 0;
		free(r);
	}
	TAP_OK(ok, "1000 appends get consecutive numbers from 1 (0 means not spooled)");
	/* the writer committed 0..599 but 300, out of order */
	for (int i = 599; i >= 0; i--)
		if (i != 300)
			done[nd++] = seqs[i];
	srv_spool_done(sp, done, nd);
	TAP_OK(srv_spool_pending(sp) == 700, "pending: from the first uncommitted record (301) to the last (%llu)",
	       (unsigned long long)srv_spool_pending(sp));
	srv_spool_close(sp); /* the crash: 300 and 600..999 were never committed */

	sp = open_replay(&g, &replayed);
	for (size_t k = 0; sp && k < g.n; k++) {
		int i = k == 0 ? 300 : 599 + (int)k;
		srv_rec *want = make(i);
		bad += !want || !same(g.r[k], want) || g.r[k]->spool != seqs[i];
		free(want);
	}
	TAP_OK(sp && replayed == 401 && g.n == 401 && bad == 0,
	       "after a crash: exactly the 401 uncommitted records come back, in order, byte for byte "
	       "(%zu, %d differ)", g.n, bad);
	/* now they are committed, and more records come */
	nd = 0;
	for (size_t k = 0; k < g.n; k++)
		done[nd++] = g.r[k]->spool;
	got_free(&g);
	srv_spool_done(sp, done, nd);
	srv_rec *r = make(5000);
	ok = sp && r && srv_spool_append(sp, r) == 0 && r->spool == seqs[999] + 1;
	TAP_OK(ok, "numbering goes on after a restart (%llu)", r ? (unsigned long long)r->spool : 0ull);
	if (r)
		srv_spool_done(sp, &r->spool, 1);
	free(r);
	TAP_OK(sp && srv_spool_pending(sp) == 0 && count_files(".spool") == 1,
	       "all committed: the old segment is deleted, the current one stays (%d)", count_files(".spool"));
	srv_spool_close(sp);
	TAP_OK(count_files(".spool") == 0, "a close with nothing pending leaves no segment");
	sp = open_replay(&g, &replayed);
	r = make(1);
	ok = sp && replayed == 0 && r && srv_spool_append(sp, r) == 0 && r->spool == seqs[999] + 2;
	TAP_OK(ok, "the watermark survives a clean stop: nothing replayed, numbering goes on");
	if (r && sp)
		srv_spool_done(sp, &r->spool, 1);
	free(r);
	srv_spool_close(sp);
}

/* The last write of a crash may be torn; garbage must end the replay of its segment. */
static void test_torn_tail(void)
{
	got g = {0};
	uint64_t replayed = 0, first = 0;
	srv_spool *sp = open_replay(&g, &replayed);
	char path[300];
	int ok = sp != NULL;

	for (int i = 0; ok && i < 10; i++) {
		srv_rec *r = make(i);
		ok = r && srv_spool_append(sp, r) == 0;
		if (i == 0 && r)
			first = r->spool;
		free(r);
	}
	srv_spool_close(sp);
	snprintf(path, sizeof path, "%s/spool/%016llx.spool", dir, (unsigned long long)first);
	int fd = open(path, O_WRONLY | O_APPEND);
	/* a header that promises 500 bytes, then 7 */
	static const unsigned char torn[] = {0xf4, 0x01, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9, 'a', 'b', 'c'};
	ok = ok && fd >= 0 && write(fd, torn, sizeof torn) == (ssize_t)sizeof torn;
	if (fd >= 0)
		close(fd);
	sp = open_replay(&g, &replayed);
	TAP_OK(ok && sp && replayed == 10 && g.n == 10 && g.r[9]->spool == first + 9,
	       "a torn record at the end is ignored; the 10 whole ones come back (%llu)",
	       (unsigned long long)replayed);
	srv_rec *r = make(77);
	TAP_OK(sp && r && srv_spool_append(sp, r) == 0 && r->spool == first + 10,
	       "appends after a torn tail go to a new segment with the next number");
	uint64_t all[11];
	for (size_t k = 0; k < g.n && k < 10; k++)
		all[k] = g.r[k]->spool;
	all[10] = r ? r->spool : 0;
	srv_spool_done(sp, all, 11);
	TAP_OK(sp && srv_spool_pending(sp) == 0, "and everything can be committed");
	free(r);
	got_free(&g);
	srv_spool_close(sp);

	/* a flipped byte inside a record: its crc fails, the segment's replay ends there */
	sp = open_replay(&g, &replayed);
	ok = sp != NULL;
	for (int i = 0; ok && i < 5; i++) {
		srv_rec *q = make(i);
		ok = q && srv_spool_append(sp, q) == 0;
		if (i == 0 && q)
			first = q->spool;
		free(q);
	}
	srv_spool_close(sp);
	snprintf(path, sizeof path, "%s/spool/%016llx.spool", dir, (unsigned long long)first);
	fd = open(path, O_RDWR);
	struct stat st;
	ok = ok && fd >= 0 && fstat(fd, &st) == 0 && pwrite(fd, "X", 1, st.st_size - 3) == 1;
	if (fd >= 0)
		close(fd);
	sp = open_replay(&g, &replayed);
	TAP_OK(ok && sp && replayed == 4, "a corrupt record (crc) is not replayed; those before it are (%llu)",
	       (unsigned long long)replayed);
	for (size_t k = 0; k < g.n; k++)
		all[k] = g.r[k]->spool;
	srv_spool_done(sp, all, g.n);
	r = make(3);
	TAP_OK(sp && r && srv_spool_append(sp, r) == 0 && (srv_spool_done(sp, &r->spool, 1), srv_spool_pending(sp) == 0),
	       "the number of the corrupt record does not block the watermark");
	free(r);
	got_free(&g);
	srv_spool_close(sp);
}

/* The done file's two slots: a slot torn by a crash is ignored and the
 * other one (older: more records come back, none is lost) is used. */
static void test_done_slots(void)
{
	got g = {0};
	uint64_t replayed = 0, seqs[10];
	srv_spool *sp = open_replay(&g, &replayed);
	char path[300];
	int ok = sp != NULL, fd;

	for (int i = 0; ok && i < 10; i++) {
		srv_rec *r = make(i);
		ok = r && srv_spool_append(sp, r) == 0;
		seqs[i] = r ? r->spool : 0;
		free(r);
	}
	srv_spool_done(sp, seqs, 5);     /* one slot says: up to the 5th */
	srv_spool_done(sp, seqs + 5, 3); /* the other: up to the 8th */
	srv_spool_close(sp);
	sp = open_replay(&g, &replayed);
	TAP_OK(ok && sp && replayed == 2 && g.n == 2 && g.r[0]->spool == seqs[8],
	       "the newer slot of the done file wins: 2 records come back (%llu)", (unsigned long long)replayed);
	got_free(&g);
	srv_spool_close(sp); /* nothing written: the file still holds both slots */
	/* tear the newer slot: a byte of its bitmap-less header changes */
	snprintf(path, sizeof path, "%s/spool/done", dir);
	fd = open(path, O_RDWR);
	char hdr[64] = {0}, hdr2[64] = {0};
	ok = fd >= 0 && pread(fd, hdr, 63, 0) == 63 && pread(fd, hdr2, 63, 64 + (1 << 22) / 16) == 63;
	/* the newer slot has the larger generation: the first number after "hisn-spool " */
	off_t newer = strtoull(hdr + 11, NULL, 10) > strtoull(hdr2 + 11, NULL, 10) ? 0 : 64 + (1 << 22) / 16;
	ok = ok && pwrite(fd, "9", 1, newer + 20) == 1;
	if (fd >= 0)
		close(fd);
	sp = open_replay(&g, &replayed);
	TAP_OK(ok && sp && replayed == 5 && g.n == 5 && g.r[0]->spool == seqs[5],
	       "a torn newer slot is refused; the older one brings back 5 records, none is lost (%llu)",
	       (unsigned long long)replayed);
	uint64_t all[5];
	for (size_t k = 0; k < g.n && k < 5; k++)
		all[k] = g.r[k]->spool;
	srv_spool_done(sp, all, g.n < 5 ? g.n : 5);
	TAP_OK(sp && srv_spool_pending(sp) == 0, "and they can be committed");
	got_free(&g);
	srv_spool_close(sp);
}

/* 70 records of 1 MiB: the spool starts a second segment at 64 MiB and
 * deletes the first once all of its records are committed. */
static void test_segments(void)
{
	got g = {0};
	uint64_t replayed = 0, seqs[70];
	srv_spool *sp = open_replay(&g, &replayed);
	char *big = malloc(1u << 20);
	int ok = sp && big && replayed == 0;

	if (big)
		memset(big, 'x', 1u << 20);
	for (int i = 0; ok && i < 70; i++) {
		srv_rec *r = srv_rec_new(big, 1u << 20, SRV_SYSLOG, 1, 1, i);
		ok = r && srv_spool_append(sp, r) == 0;
		seqs[i] = r ? r->spool : 0;
		free(r);
	}
	TAP_OK(ok && count_files(".spool") == 2, "64 MiB segments: 70 MiB make two (%d)", count_files(".spool"));
	srv_spool_done(sp, seqs, 60);
	TAP_OK(count_files(".spool") == 2, "a segment stays while one of its records is pending");
	srv_spool_done(sp, seqs + 60, 10);
	TAP_OK(count_files(".spool") == 1 && srv_spool_pending(sp) == 0, "and goes once all are committed");
	free(big);
	srv_spool_close(sp);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_crash_and_replay();
	test_torn_tail();
	test_done_slots();
	test_segments();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", dir);
	return tap_done();
}
