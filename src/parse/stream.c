/* stream.c: the parse pipeline of one input. Bytes arrive in a buffer owned by
 * the stream; records are framed in place (newline, RFC 6587 octet counting,
 * or whole JSON documents), the format is chosen once from the first bytes,
 * each record becomes events in a batch, and the batch is handed to the caller
 * at the end of every chunk. A record over the limit is reported and skipped up
 * to the next newline, so one bad record never loses the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "parse/parse_int.h"

#define PAD 64 /* spare bytes after the data */

static int raw_probe(const char *rec, size_t n)
{
	(void)rec;
	(void)n;
	return 1;
}

static int raw_parse(parse_ctx *cx, const char *rec, size_t n)
{
	core_event *ev = parse_ctx_event(cx, rec, n);
	if (!ev)
		return CORE_ENOMEM;
	int rc = core_event_set_str(ev, "message", rec, n);
	return rc < 0 ? rc : 0;
}

const parse_format parse_fmt_raw = {
	.name = "raw",
	.summary = "any text: each line becomes an event with only a message",
	.framing = PARSE_FRAME_LINE,
	.probe = raw_probe,
	.parse = raw_parse,
};

static const parse_format *const formats[] = {
	&parse_fmt_json, &parse_fmt_syslog, &parse_fmt_auditd, &parse_fmt_access,
	&parse_fmt_cef, &parse_fmt_logfmt, &parse_fmt_csv, &parse_fmt_raw,
};

/* Aliases users may type for a format. */
static const struct {
	const char *alias, *name;
} aliases[] = {{"winevent", "json"}, {"jsonl", "json"}, {"ndjson", "json"},
	       {"nginx", "access"}, {"apache", "access"}, {"audit", "auditd"}};

struct parse_stream {
	parse_options opt;
	const parse_format *fmt; /* NULL until detected */
	parse_ctx cx;
	core_batch batch;
	char *buf;
	size_t cap, len, start; /* unconsumed data is buf[start..len) */
	uint64_t base;          /* stream offset of buf[0] */
	bool skipping;          /* dropping an overlong record up to a newline */
	bool json_docs;         /* JSON framed as documents, not lines */
	int json_array;         /* inside a top-level array of documents */
	parse_stats st;
};

static const parse_format *find_format(const char *name)
{
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strcmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (strcmp(name, formats[i]->name) == 0)
			return formats[i];
	return NULL;
}

void parse_formats(void (*fn)(void *ud, const char *name, const char *summary), void *ud)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		fn(ud, formats[i]->name, formats[i]->summary);
}

static int set_format(parse_stream *ps, const parse_format *f, core_err *err)
{
	ps->fmt = f;
	ps->cx.fmt_name = f->name;
	if (f->state_size) {
		ps->cx.state = calloc(1, f->state_size);
		if (!ps->cx.state)
			return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	}
	return 0;
}

parse_stream *parse_stream_new(const parse_options *opt, core_err *err)
{
	parse_stream *ps = calloc(1, sizeof *ps);

	if (!ps) {
		core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		return NULL;
	}
	ps->opt = *opt;
	if (!ps->opt.max_record)
		ps->opt.max_record = 1u << 20;
	if (!ps->opt.chunk)
		ps->opt.chunk = 1u << 20;
	if (!ps->opt.arena_max)
		ps->opt.arena_max = 256u << 20;
	ps->cap = ps->opt.chunk + ps->opt.max_record + PAD;
	ps->buf = malloc(ps->cap);
	if (!ps->buf || core_batch_init(&ps->batch, ps->opt.chunk < (64u << 10) ? (64u << 10) : ps->opt.chunk,
					     ps->opt.arena_max) != 0) {
		core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		goto fail;
	}
	ps->cx.batch = &ps->batch;
	ps->cx.ref_time = opt->ref_time ? opt->ref_time : core_time_now();
	ps->cx.keep_raw = opt->keep_raw;
	ps->cx.fmt_name = "auto";
	if (opt->format && strcmp(opt->format, "auto") != 0) {
		const parse_format *f = find_format(opt->format);
		if (!f) {
			core_err_set(err, CORE_EINVAL, SIZE_MAX, "unknown format '%s'", opt->format);
			goto fail;
		}
		if (set_format(ps, f, err) != 0)
			goto fail;
	}
	return ps;
fail:
	parse_stream_free(ps);
	return NULL;
}

void parse_stream_free(parse_stream *ps)
{
	if (!ps)
		return;
	if (ps->fmt && ps->fmt->state_free && ps->cx.state)
		ps->fmt->state_free(ps->cx.state);
	free(ps->cx.state);
	core_batch_free(&ps->batch);
	free(ps->buf);
	free(ps);
}

const char *parse_stream_format(const parse_stream *ps)
{
	return ps->fmt ? ps->fmt->name : "auto";
}

void parse_stream_stats(const parse_stream *ps, parse_stats *st)
{
	*st = ps->st;
}

core_event *parse_ctx_event(parse_ctx *cx, const char *rec, size_t n)
{
	core_event *ev = core_batch_new_event(cx->batch);

	if (!ev) {
		core_err_set(&cx->err, CORE_ENOMEM, 0, "out of memory");
		return NULL;
	}
	ev->raw = rec;
	ev->raw_len = n;
	ev->offset = cx->rec_offset;
	ev->format = cx->fmt_name;
	/* Indexed from the start: setters and lookups are then O(1). */
	if (core_event_index(ev) != 0) {
		core_batch_drop_last(cx->batch);
		core_err_set(&cx->err, CORE_ENOMEM, 0, "out of memory");
		return NULL;
	}
	return ev;
}

void parse_ctx_drop(parse_ctx *cx)
{
	core_batch_drop_last(cx->batch);
}

static void report(parse_stream *ps, int code, uint64_t off, const char *msg)
{
	core_err e = {.code = code, .offset = (size_t)off};

	ps->st.errors++;
	snprintf(e.msg, sizeof e.msg, "%s", msg);
	if (ps->opt.on_error)
		ps->opt.on_error(ps->opt.ud, &e);
}

/* Parses one framed record at stream offset off. Parse errors are reported
 * and the record's events dropped; only out-of-memory stops the stream. */
static int one_record(parse_stream *ps, const char *rec, size_t n, uint64_t off)
{
	size_t before = ps->batch.n;

	ps->st.records++;
	ps->cx.rec_offset = off;
	ps->cx.err.code = 0;
	ps->cx.err.msg[0] = '\0';
	int rc = ps->fmt->parse(&ps->cx, rec, n);
	if (rc == 0)
		return 0;
	ps->batch.n = before;
	size_t eoff = ps->cx.err.offset <= n ? ps->cx.err.offset : 0;
	report(ps, rc, off + eoff, ps->cx.err.msg[0] ? ps->cx.err.msg : core_strerror(rc));
	return rc == CORE_ENOMEM && ps->batch.n == 0 ? rc : 0;
}

/* Octet-counted record ("LEN SP MSG") at p: *len is MSG's length and *hdr the
 * length of "LEN SP"; 0 if p does not start like one. */
static bool octet_count(const char *p, size_t n, size_t *hdr, size_t *len)
{
	size_t i = 0, v = 0;

	while (i < n && i < 10 && core_is_digit(p[i]))
		v = v * 10 + (size_t)(p[i++] - '0');
	if (i == 0 || p[0] == '0' || i >= n || p[i] != ' ' || (i + 1 < n && p[i + 1] != '<'))
		return false;
	*hdr = i + 1;
	*len = v;
	return true;
}

/* End of the JSON document starting at p (index past it), 0 if incomplete. */
static size_t json_doc_end(const char *p, size_t n)
{
	size_t depth = 0;
	bool str = false;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth <= 1)
				return i + 1;
			depth--;
		} else if (depth == 0 && (c == '\n' || c == ',')) {
			return i; /* a scalar document */
		}
	}
	return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* JSON document framing. Returns 0, or CORE_EMORE when the rest is partial. */
static int frame_json_doc(parse_stream *ps, bool final, int *rc)
{
	const char *p = ps->buf + ps->start, *end = ps->buf + ps->len;

	p = skip_ws(p, end);
	while (p < end && (*p == ',' || (ps->json_array && *p == ']') || (!ps->json_array && *p == '['))) {
		if (*p == '[')
			ps->json_array = 1;
		else if (*p == ']')
			ps->json_array = 0;
		p = skip_ws(p + 1, end);
	}
	ps->start = (size_t)(p - ps->buf);
	if (p == end)
		return CORE_EMORE;
	size_t n = json_doc_end(p, (size_t)(end - p));
	if (n == 0 && final)
		n = (size_t)(end - p);
	if (n == 0)
		return CORE_EMORE;
	*rc = one_record(ps, p, n, ps->base + ps->start);
	ps->start += n;
	return 0;
}

/* Frames and parses every complete record in the buffer. With final, the
 * last unterminated record is parsed too. */
static int frame(parse_stream *ps, bool final)
{
	int rc = 0;

	while (rc == 0 && ps->start < ps->len) {
		char *p = ps->buf + ps->start;
		size_t avail = ps->len - ps->start, hdr, len;
		if (ps->json_docs) {
			if (frame_json_doc(ps, final, &rc) == CORE_EMORE)
				break;
			continue;
		}
		if (ps->fmt->framing == PARSE_FRAME_SYSLOG && octet_count(p, avail, &hdr, &len)) {
			if (len > ps->opt.max_record) {
				report(ps, CORE_ETOOBIG, ps->base + ps->start, "octet count over the record limit");
				ps->skipping = true;
			} else if (hdr + len <= avail) {
				rc = one_record(ps, p + hdr, len, ps->base + ps->start + hdr);
				ps->start += hdr + len;
				if (ps->start < ps->len && ps->buf[ps->start] == '\n')
					ps->start++;
				continue;
			} else if (!final) {
				break;
			}
		}
		char *nl = memchr(p, '\n', avail);
		if (!nl && !final)
			break;
		len = nl ? (size_t)(nl - p) : avail;
		size_t next = ps->start + len + (nl ? 1 : 0);
		if (ps->skipping) {
			ps->skipping = false;
			ps->start = next;
			continue;
		}
		if (len && p[len - 1] == '\r')
			len--;
		if (ps->fmt->framing == PARSE_FRAME_JSON && len && (*p == '{' || *p == '[')) {
			const char *e = p + len;
			while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e[-1] != '}' && e[-1] != ']') {
				ps->json_docs = true; /* pretty-printed documents */
				continue;
			}
		}
		size_t lead = 0;
		while (lead < len && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		if (lead < len)
			rc = one_record(ps, p, len, ps->base + ps->start);
		ps->start = next;
	}
	return rc;
}

static int emit(parse_stream *ps)
{
	int rc = 0;

	if (ps->batch.n && ps->opt.on_batch) {
		ps->st.events += ps->batch.n;
		rc = ps->opt.on_batch(ps->opt.ud, ps->batch.ev, ps->batch.n);
	} else {
		ps->st.events += ps->batch.n;
	}
	core_batch_reset(&ps->batch);
	return rc;
}

static int detect(parse_stream *ps, bool final)
{
	core_err err;
	const char *name = NULL;
	size_t n = ps->len - ps->start;
	const char *nm = ps->opt.name;

	if (!final && n < 64 * 1024 && !memchr(ps->buf + ps->start, '\n', n))
		return CORE_EMORE;
	if (nm && strlen(nm) > 4 && strcasecmp(nm + strlen(nm) - 4, ".csv") == 0)
		name = "csv";
	if (!name)
		name = parse_detect(ps->buf + ps->start, n > 65536 ? 65536 : n);
	return set_format(ps, find_format(name ? name : "raw"), &err);
}

static int run(parse_stream *ps, bool final)
{
	int rc = 0;

	if (!ps->fmt) {
		rc = detect(ps, final);
		if (rc == CORE_EMORE)
			return 0;
		if (rc)
			return rc;
	}
	rc = frame(ps, final);
	if (rc == 0 && ps->fmt->flush)
		rc = ps->fmt->flush(&ps->cx, final);
	int erc = emit(ps);
	if (rc == 0)
		rc = erc;
	/* A partial record over the limit: report it and skip to its newline. */
	if (!final && ps->len - ps->start > ps->opt.max_record) {
		report(ps, CORE_ETOOBIG, ps->base + ps->start, "record over the size limit, skipped");
		ps->base += ps->len;
		ps->start = ps->len = 0;
		ps->skipping = !ps->json_docs;
	}
	return rc;
}

char *parse_stream_space(parse_stream *ps, size_t *n)
{
	if (ps->start) {
		memmove(ps->buf, ps->buf + ps->start, ps->len - ps->start);
		ps->base += ps->start;
		ps->len -= ps->start;
		ps->start = 0;
	}
	*n = ps->cap - PAD - ps->len;
	if (*n > ps->opt.chunk)
		*n = ps->opt.chunk;
	return ps->buf + ps->len;
}

int parse_stream_commit(parse_stream *ps, size_t n)
{
	ps->len += n;
	ps->st.bytes += n;
	memset(ps->buf + ps->len, 0, PAD);
	return run(ps, false);
}

int parse_stream_feed(parse_stream *ps, const void *data, size_t n)
{
	const char *d = data;

	while (n) {
		size_t room;
		char *dst = parse_stream_space(ps, &room);
		size_t k = n < room ? n : room;
		memcpy(dst, d, k);
		int rc = parse_stream_commit(ps, k);
		if (rc)
			return rc;
		d += k;
		n -= k;
	}
	return 0;
}

int parse_stream_finish(parse_stream *ps)
{
	int rc = run(ps, true);
	ps->base += ps->len;
	ps->start = ps->len = 0;
	return rc;
}
