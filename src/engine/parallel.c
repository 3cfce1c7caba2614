/* parallel.c: compile work (regular expressions, literal databases) spread
 * over the machine's cores while the engine is built; matching itself is
 * single-threaded per scratch. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/engine_int.h"

#define MAX_THREADS 8

typedef struct pjob {
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n;
	atomic_size_t next;
} pjob;

static void *worker(void *arg)
{
	pjob *j = arg;
	for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n;)
		j->fn(j->ctx, i);
	return NULL;
}

int eng_parallel(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
	pjob j = {.fn = fn, .ctx = ctx, .n = n};
	pthread_t th[MAX_THREADS];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nth = cores > 1 ? (size_t)cores : 1, started = 0;

	atomic_init(&j.next, 0);
	if (nth > MAX_THREADS)
		nth = MAX_THREADS;
	if (nth > n)
		nth = n;
	/* the calling thread works too; extra threads only when there is enough */
	for (size_t t = 1; t < nth && n >= 8; t++) {
		if (pthread_create(&th[started], NULL, worker, &j) != 0)
			break; /* fewer threads: the work still gets done */
		started++;
	}
	worker(&j);
	for (size_t t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	return 0;
}
