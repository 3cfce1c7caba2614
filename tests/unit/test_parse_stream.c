/* test_parse_stream.c: framing and batching of parse streams: lines, CRLF,
 * records split across chunks (fed one byte at a time), JSON documents that
 * span lines, top-level arrays, RFC 6587 octet counting, overlong records
 * skipped with their offset, errors that do not stop the stream, detection. */
#include <string.h>

#include "../tap.h"
#include "parse/parse.h"

typedef struct sink {
	char got[8192];
	size_t len;
	int events, errors;
	size_t err_off[16];
} sink;

static int on_batch(void *ud, core_event *ev, size_t n)
{
	sink *s = ud;
	for (size_t i = 0; i < n; i++) {
		core_buf b;
		core_buf_init(&b, 0);
		core_event_to_json(&ev[i], &b, 0);
		int k = snprintf(s->got + s->len, sizeof s->got - s->len, "%s\n", b.data ? b.data : "");
		if (k > 0 && (size_t)k < sizeof s->got - s->len)
			s->len += (size_t)k;
		core_buf_free(&b);
		s->events++;
	}
	return 0;
}

static void on_error(void *ud, const core_err *e)
{
	sink *s = ud;
	if (s->errors < 16)
		s->err_off[s->errors] = e->offset;
	s->errors++;
}

/* Runs input through a stream of format fmt, in pieces of step bytes. */
static void run(sink *s, const char *fmt, const char *in, size_t n, size_t step, size_t max_record)
{
	core_err err;
	parse_options o = {.format = fmt, .on_batch = on_batch, .on_error = on_error, .ud = s,
			   .max_record = max_record, .ref_time = 1780272000LL * 1000000000LL};
	memset(s, 0, sizeof *s);
	parse_stream *ps = parse_stream_new(&o, &err);
	for (size_t i = 0; i < n; i += step)
		parse_stream_feed(ps, in + i, n - i < step ? n - i : step);
	parse_stream_finish(ps);
	parse_stream_free(ps);
}

int main(void)
{
	sink s;
	const char *lines = "{\"a\":1}\r\n\n  \n{\"a\":2}\n{\"a\":3}";
	for (size_t step = 1; step <= 64; step *= 4) {
		run(&s, "json", lines, strlen(lines), step, 0);
		TAP_OK(s.events == 3 && strcmp(s.got, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n") == 0,
		       "JSON lines, CRLF, blank lines, last line unterminated, fed %zu bytes at a time", step);
	}
	const char *pretty = "{\n  \"a\": {\n    \"b\": \"}{\\\"\"\n  }\n}\n{\n  \"c\": [1, 2]\n}\n";
	for (size_t step = 1; step <= 64; step *= 8) {
		run(&s, "json", pretty, strlen(pretty), step, 0);
		TAP_OK(s.events == 2 && strcmp(s.got, "{\"a\":{\"b\":\"}{\\\"\"}}\n{\"c\":[1,2]}\n") == 0,
		       "concatenated pretty-printed documents (braces inside strings), step %zu", step);
	}
	const char *arr = "[\n {\"a\":1},\n {\"a\":2}\n]\n";
	run(&s, "auto", arr, strlen(arr), 3, 0);
	TAP_OK(s.events == 2 && strcmp(s.got, "{\"a\":1}\n{\"a\":2}\n") == 0, "a top-level array of events");
	const char *bad = "{\"a\":1}\n{\"a\":\n{\"a\":3}\n";
	run(&s, "json", bad, strlen(bad), 1000, 0);
	TAP_OK(s.events >= 1 && s.errors >= 1, "a broken document is reported (%d events, %d errors)",
	       s.events, s.errors);
	const char *oneline = "{\"a\":1}\n{\"a\" 2}\n{\"a\":3}\n";
	run(&s, "json", oneline, strlen(oneline), 1000, 0);
	TAP_OK(s.events == 2 && s.errors == 1 && s.err_off[0] == 13,
	       "a bad JSON line: error at its byte offset (%zu), the next line still parsed", s.err_off[0]);

	char big[600];
	memset(big, 'x', sizeof big);
	memcpy(big, "short\n", 6);
	big[400] = '\n';
	memcpy(big + 590, "\nlast\n\0", 7);
	run(&s, "raw", big, 596, 100, 128);
	TAP_OK(s.events == 3 && s.errors >= 1 && strstr(s.got, "\"message\":\"last\""),
	       "an overlong record is skipped to its newline (%d events, %d errors)", s.events, s.errors);

	const char *oc = "38 <34>1 2026-11-27T10:00:00Z h a - - - x39 <34>1 2026-11-27T10:00:01Z h a - - - yz";
	run(&s, "syslog", oc, strlen(oc), 5, 0);
	TAP_OK(s.events == 2 && s.errors == 0 && strstr(s.got, "\"message\":\"x\"") &&
		       strstr(s.got, "\"message\":\"yz\""),
	       "RFC 6587 octet-counted syslog records back to back");

	TAP_OK(strcmp(parse_detect("{\"a\":1}\n", 8), "json") == 0, "detect JSON");
	const char *sl = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n";
	TAP_OK(parse_detect(sl, strlen(sl)) && strcmp(parse_detect(sl, strlen(sl)), "syslog") == 0,
	       "detect syslog");
	const char *au = "type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes\n";
	TAP_OK(parse_detect(au, strlen(au)) && strcmp(parse_detect(au, strlen(au)), "auditd") == 0,
	       "detect auditd");
	const char *ac = "203.0.113.9 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 2326 \"-\" \"curl/8.0\"\n";
	TAP_OK(parse_detect(ac, strlen(ac)) && strcmp(parse_detect(ac, strlen(ac)), "access") == 0,
	       "detect access log");
	TAP_OK(parse_detect("hello world\n", 12) && strcmp(parse_detect("hello world\n", 12), "raw") == 0,
	       "unknown text falls back to raw");
	core_err err;
	parse_options o = {.format = "nope"};
	TAP_OK(parse_stream_new(&o, &err) == NULL && strstr(err.msg, "unknown format"), "unknown format refused");
	return tap_done();
}
