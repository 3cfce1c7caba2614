/* fuzz_format.c: libFuzzer target for one parser, chosen at build time by
 * FUZZ_FORMAT ("syslog", "json", "auditd", ... or "auto" for detection and
 * framing). The input is fed through a parse stream in two uneven pieces so
 * that records split across chunks are exercised, with a small record limit so
 * that the overlong-record path is reached too. Every event is written as
 * JSON, which reads every field. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "parse/parse.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT "auto"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_batch(void *ud, core_event *ev, size_t n)
{
	core_buf *b = ud;
	for (size_t i = 0; i < n; i++) {
		b->len = 0;
		core_event_to_json(&ev[i], b, CORE_JSON_ORIGINAL);
		core_event_index(&ev[i]);
		core_event_get_path(&ev[i], "message");
	}
	return 0;
}

static void on_error(void *ud, const core_err *e)
{
	(void)ud;
	(void)e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	core_buf out;
	core_err err;
	core_buf_init(&out, 0);
	parse_options o = {.format = FUZZ_FORMAT, .ref_time = 1780272000LL * 1000000000LL,
			   .max_record = 4096, .chunk = 1024, .arena_max = 64u << 20, .keep_raw = true,
			   .on_batch = on_batch, .on_error = on_error, .ud = &out};
	parse_stream *ps = parse_stream_new(&o, &err);
	if (!ps)
		abort();
	size_t cut = size ? (size_t)data[0] % size : 0;
	parse_stream_feed(ps, data, cut);
	parse_stream_feed(ps, data + cut, size - cut);
	parse_stream_finish(ps);
	parse_stream_free(ps);
	core_buf_free(&out);
	return 0;
}
