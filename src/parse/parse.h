/* parse.h: turning a byte stream into normalized events.
 *
 * A parse_stream takes the bytes of one input (a file, a zip member, a TCP
 * connection) in chunks, frames them into records (newline, RFC 6587 octet
 * counting, or whole JSON documents), picks the format (given or detected from
 * the first records), parses each record into a core_event and hands the
 * events of each chunk to a callback as one batch. Bad records are reported
 * through the error callback with their byte offset and skipped; they never
 * stop the stream. Memory is bounded by the chunk size, the record limit and
 * the arena limit. */
#ifndef HISN_PARSE_H
#define HISN_PARSE_H

#include "core/core.h"

typedef struct parse_stream parse_stream;

/* Called with the events of one chunk; they live until the call returns.
 * A non-zero return stops parse_stream_* with that code. */
typedef int (*parse_batch_fn)(void *ud, core_event *ev, size_t n);
/* Called for each record that could not be parsed (err->offset is the byte
 * offset in the stream). */
typedef void (*parse_error_fn)(void *ud, const core_err *err);

typedef struct parse_options {
	const char *format;      /* a format name, or NULL / "auto" to detect */
	int64_t ref_time;        /* reference for year-less timestamps (ns); 0: now */
	size_t max_record;       /* hard limit of one record in bytes; 0: 1 MiB */
	size_t chunk;            /* read size; 0: 1 MiB */
	size_t arena_max;        /* bound of one batch's arena; 0: 256 MiB */
	bool keep_raw;           /* keep the raw record in each event (ev->raw) */
	const char *name;        /* input name for messages (borrowed), or NULL */
	parse_batch_fn on_batch;
	parse_error_fn on_error;
	void *ud;
} parse_options;

/* Returns a stream owned by the caller (free with parse_stream_free), or NULL
 * with err filled (unknown format name, out of memory). opt is copied. */
parse_stream *parse_stream_new(const parse_options *opt, core_err *err);
void parse_stream_free(parse_stream *ps);

/* Zero-copy feeding: parse_stream_space returns a buffer inside the stream of
 * at least *n bytes (never NULL after a successful new); write up to *n bytes
 * in it and call parse_stream_commit with the count. Returns 0 or the callback's
 * non-zero code or a negative CORE_E* code. */
char *parse_stream_space(parse_stream *ps, size_t *n);
int parse_stream_commit(parse_stream *ps, size_t n);
/* Copying variant of the two calls above. */
int parse_stream_feed(parse_stream *ps, const void *data, size_t n);
/* End of input: parses the last unterminated record and flushes grouped
 * records (auditd). Returns as parse_stream_commit. */
int parse_stream_finish(parse_stream *ps);

/* The format in use ("auto" until detected). */
const char *parse_stream_format(const parse_stream *ps);

typedef struct parse_stats {
	uint64_t bytes, records, events, errors;
} parse_stats;
void parse_stream_stats(const parse_stream *ps, parse_stats *st);

/* Detection on a sample (the first bytes of an input): the best format name,
 * or NULL when nothing fits. */
const char *parse_detect(const char *buf, size_t n);

/* Lists the formats: calls fn for each with its name and one-line summary. */
void parse_formats(void (*fn)(void *ud, const char *name, const char *summary), void *ud);

#endif
