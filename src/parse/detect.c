/* detect.c: format auto-detection from the first bytes of an input. JSON is
 * recognised by its first character; for text, each format's probe scores the
 * first few lines and the best total wins. */
#include <string.h>
#include <yyjson.h>

#include "parse/parse_int.h"

#define SAMPLE_LINES 8

extern const parse_format parse_fmt_raw;

static const parse_format *const probed[] = {
	&parse_fmt_syslog, &parse_fmt_auditd, &parse_fmt_access, &parse_fmt_cef,
	&parse_fmt_logfmt, &parse_fmt_csv,
};

/* Is the first line at s a JSON document, or the start of one that goes on
 * (pretty-printed, or cut by the end of the sample)? "[01 Apr 2023] DSA-..."
 * starts like an array but is not one. */
static bool looks_json(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	size_t len = nl ? (size_t)(nl - s) : n;
	yyjson_read_err err;
	yyjson_doc *doc = yyjson_read_opts((char *)s, len, YYJSON_READ_ALLOW_INVALID_UNICODE, NULL, &err);

	if (doc) {
		yyjson_doc_free(doc);
		return true;
	}
	return err.code == YYJSON_READ_ERROR_UNEXPECTED_END;
}

const char *parse_detect(const char *buf, size_t n)
{
	size_t i = 0;
	int score[sizeof probed / sizeof probed[0]] = {0};
	int lines = 0;

	if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i == n)
		return NULL;
	if ((buf[i] == '{' || buf[i] == '[') && looks_json(buf + i, n - i))
		return parse_fmt_json.name;
	while (i < n && lines < SAMPLE_LINES) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;
		if (len && buf[i + len - 1] == '\r')
			len--;
		if (len) {
			for (size_t k = 0; k < sizeof probed / sizeof probed[0]; k++)
				score[k] += probed[k]->probe(buf + i, len);
			lines++;
		}
		if (!nl)
			break;
		i = (size_t)(nl - buf) + 1;
	}
	if (!lines)
		return NULL;
	size_t best = 0;
	for (size_t k = 1; k < sizeof probed / sizeof probed[0]; k++)
		if (score[k] > score[best])
			best = k;
	/* A format must look right on average, not on one line in eight. */
	if (score[best] < 30 * lines)
		return parse_fmt_raw.name;
	return probed[best]->name;
}
