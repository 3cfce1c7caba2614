/* fuzz_spool.c: libFuzzer target for the replay of the server's RELP spool
 * (src/server/spool.c). The input is a spool segment as a crash could leave
 * it (torn, corrupt, or any bytes at all); replay must hand back only whole
 * records whose checksum holds, with consecutive rising numbers, and never
 * crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static uint64_t last;

static int take(void *ud, srv_rec *r)
{
	(void)ud;
	if (r->spool <= last || r->data[r->len] != '\0')
		abort();
	last = r->spool;
	free(r);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	srv_spool *sp = NULL;
	core_err err = {0};
	uint64_t n = 0;
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/hisn-fuzz-spool-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof path, "%s/spool", dir);
		mkdir(path, 0700);
	}
	snprintf(path, sizeof path, "%s/spool/done", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/spool/0000000000000001.spool", dir);
	if (!(f = fopen(path, "wb")))
		return 0;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	last = 0;
	if (srv_spool_open(dir, &sp, &err) == 0) {
		(void)srv_spool_replay(sp, take, NULL, &n, &err);
		srv_spool_close(sp);
	}
	unlink(path);
	return 0;
}
