/* bench_parse.c: parse + normalize throughput on one core, without output.
 * The input is read whole (decompressed) into memory first, then fed through
 * a parse stream in 1 MiB chunks; every event is indexed (parsers index as
 * they build; the benchmark indexes any event left without) and counted. Prints MB/s, events/s and peak RSS.
 *   bench_parse [--format F] [--repeat N] FILE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "io/io.h"
#include "parse/parse.h"
#include "slurp.h"

static int on_batch(void *ud, core_event *ev, size_t n)
{
	uint64_t *fields = ud;
	for (size_t i = 0; i < n; i++) {
		if (!ev[i].index)
			core_event_index(&ev[i]);
		*fields += ev[i].n;
	}
	return 0;
}

static void on_error(void *ud, const core_err *e)
{
	(void)ud;
	fprintf(stderr, "bench_parse: offset %zu: %s\n", e->offset, e->msg);
}


int main(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"repeat", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *format = "auto";
	int repeat = 3, c;

	while ((c = getopt_long(argc, argv, "f:r:", opts, NULL)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'r')
			repeat = (int)strtol(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind != argc - 1 || repeat < 1) {
		fprintf(stderr, "usage: bench_parse [--format F] [--repeat N] FILE\n");
		return 2;
	}
	size_t len = 0;
	char *data = bench_slurp("bench_parse", argv[optind], &len);
	if (!data)
		return 1;
	double best = 1e30;
	parse_stats st = {0};
	uint64_t fields = 0;
	for (int r = 0; r < repeat; r++) {
		core_err err;
		parse_options o = {.format = format, .ref_time = 1780272000LL * 1000000000LL,
				   .on_batch = on_batch, .on_error = on_error, .ud = &fields};
		parse_stream *ps = parse_stream_new(&o, &err);
		if (!ps) {
			fprintf(stderr, "bench_parse: %s\n", err.msg);
			return 2;
		}
		int64_t t0 = core_time_now();
		parse_stream_feed(ps, data, len);
		parse_stream_finish(ps);
		double secs = (double)(core_time_now() - t0) / 1e9;
		parse_stream_stats(ps, &st);
		parse_stream_free(ps);
		if (secs < best)
			best = secs;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("input %s: %zu bytes, %llu records, %llu events, %llu errors, %.1f fields/event\n",
	       argv[optind], len, (unsigned long long)st.records, (unsigned long long)st.events,
	       (unsigned long long)st.errors, st.events ? (double)fields / repeat / (double)st.events : 0.0);
	printf("best of %d: %.3f s, %.1f MB/s, %.0f events/s; peak RSS %ld MiB (input held in memory: %zu MiB)\n",
	       repeat, best, (double)len / best / 1e6, (double)st.events / best, ru.ru_maxrss / 1024,
	       len >> 20);
	free(data);
	return 0;
}
