/* frame.c: the stream framer for syslog over TCP and TLS. Each message is
 * framed on its own, detected from its first byte: a digit starts an RFC 6587
 * octet count ("LEN SP MSG"), anything else a line ended by LF or NUL (a
 * trailing CR is stripped). Digits not followed by a space fall back to a
 * line. Records over max are cut and the rest of the message skipped. The
 * result never depends on how the stream was split into reads. */
#include <string.h>

#include "net/net_int.h"

void net_framer_init(net_framer *f, size_t max)
{
	memset(f, 0, sizeof *f);
	f->max = max ? max : 1;
	/* room for max + 1 bytes (a line of max bytes plus its CR) */
	core_buf_init(&f->acc, f->max + 2);
	f->state = NF_START;
}

void net_framer_free(net_framer *f)
{
	core_buf_free(&f->acc);
	f->pending = false;
}

bool net_framer_idle(const net_framer *f)
{
	return !f->pending && f->state == NF_START && f->acc.len == 0;
}

/* Offers rec; on NET_FULL keeps a copy in acc (rec may already be acc). */
static int fr_emit(net_framer *f, const char *rec, size_t len, bool trunc, net_emit_fn emit,
		   void *ud)
{
	int rc = emit(ud, rec, len, trunc);

	if (rc != NET_FULL) {
		f->acc.len = 0;
		return rc < 0 ? rc : 0;
	}
	if (rec == f->acc.data) {
		f->acc.len = len;
	} else {
		f->acc.len = 0;
		if (core_buf_add(&f->acc, rec, len))
			return CORE_ENOMEM;
	}
	f->pending = true;
	f->pending_trunc = trunc;
	return NET_FULL;
}

/* The first LF or NUL in p[0..n), or NULL (two memchr passes are much
 * faster than one loop over the bytes). */
static const char *fr_term(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	const char *nul = memchr(p, '\0', lf ? (size_t)(lf - p) : n);

	return nul ? nul : lf;
}

/* A complete line: acc (when not empty) + p[0..k). */
static int fr_line_done(net_framer *f, const char *p, size_t k, net_emit_fn emit, void *ud)
{
	const char *rec = p;
	size_t len = k;
	bool trunc = false;

	if (f->acc.len) {
		if (core_buf_add(&f->acc, p, k))
			return CORE_ENOMEM;
		rec = f->acc.data;
		len = f->acc.len;
	}
	f->state = NF_START;
	if (len && rec[len - 1] == '\r')
		len--;
	if (len > f->max) {
		len = f->max;
		trunc = true;
	}
	if (len == 0) {
		f->acc.len = 0;
		return 0;
	}
	return fr_emit(f, rec, len, trunc, emit, ud);
}

/* NF_LINE: up to max + 1 bytes are kept (so that a CR before the terminator
 * can still be stripped); one more byte that is not a terminator makes the
 * line too long. */
static int fr_line(net_framer *f, const char *p, size_t n, size_t *used, net_emit_fn emit,
		   void *ud)
{
	size_t room = f->max + 1 - f->acc.len;
	size_t lim = n < room + 1 ? n : room + 1;
	const char *t = fr_term(p, lim);

	if (t) {
		*used = (size_t)(t - p) + 1;
		return fr_line_done(f, p, (size_t)(t - p), emit, ud);
	}
	if (n <= room) {
		*used = n;
		return core_buf_add(&f->acc, p, n) ? CORE_ENOMEM : 0;
	}
	/* too long: deliver the first max bytes, skip to the terminator */
	*used = room + 1;
	f->state = NF_LINE_SKIP;
	if (f->acc.len == 0)
		return fr_emit(f, p, f->max, true, emit, ud);
	if (f->acc.len < f->max && core_buf_add(&f->acc, p, f->max - f->acc.len))
		return CORE_ENOMEM;
	return fr_emit(f, f->acc.data, f->max, true, emit, ud);
}

/* NF_OCT_BODY: keeps min(olen, max) bytes, then skips the rest. */
static int fr_body(net_framer *f, const char *p, size_t n, size_t *used, net_emit_fn emit,
		   void *ud)
{
	size_t keep = f->olen < f->max ? (size_t)f->olen : f->max;
	size_t need = keep - f->acc.len;
	const char *rec;

	if (f->acc.len == 0 && n >= need) {
		rec = p;
		*used = need;
	} else {
		size_t k = n < need ? n : need;
		if (core_buf_add(&f->acc, p, k))
			return CORE_ENOMEM;
		*used = k;
		if (f->acc.len < keep)
			return 0;
		rec = f->acc.data;
	}
	f->left = f->olen - keep;
	f->state = f->left ? NF_OCT_SKIP : NF_START;
	return fr_emit(f, rec, keep, f->olen > keep, emit, ud);
}

/* NF_OCT_LEN, at byte c: returns 1 when c was taken, 0 when the state
 * changed without taking it, or fr_line's result for the digits (which then
 * start a line). */
static int fr_octlen(net_framer *f, char c, net_emit_fn emit, void *ud, int *rc)
{
	size_t u;

	*rc = 0;
	if (core_is_digit(c) && f->ndigits < 10) {
		f->digits[f->ndigits++] = c;
		f->olen = f->olen * 10 + (uint64_t)(c - '0');
		return 1;
	}
	if (c == ' ') {
		f->state = f->olen ? NF_OCT_BODY : NF_START;
		return 1;
	}
	/* not an octet count: the digits begin a line (no terminator among them) */
	f->state = NF_LINE;
	*rc = fr_line(f, f->digits, f->ndigits, &u, emit, ud);
	return 0;
}

int net_framer_feed(net_framer *f, const char *p, size_t n, size_t *used, net_emit_fn emit,
		    void *ud)
{
	size_t i = 0, u;
	int rc = 0;

	*used = 0;
	if (f->pending) {
		rc = emit(ud, f->acc.data, f->acc.len, f->pending_trunc);
		if (rc)
			return rc;
		f->pending = false;
		f->acc.len = 0;
	}
	while (i < n && rc == 0) {
		switch (f->state) {
		case NF_START:
			f->olen = 0;
			f->ndigits = 0;
			f->state = core_is_digit(p[i]) ? NF_OCT_LEN : NF_LINE;
			break;
		case NF_OCT_LEN:
			i += (size_t)fr_octlen(f, p[i], emit, ud, &rc);
			break;
		case NF_OCT_BODY:
			rc = fr_body(f, p + i, n - i, &u, emit, ud);
			i += u;
			break;
		case NF_OCT_SKIP:
			u = f->left < n - i ? (size_t)f->left : n - i;
			f->left -= u;
			i += u;
			if (!f->left)
				f->state = NF_START;
			break;
		case NF_LINE:
			rc = fr_line(f, p + i, n - i, &u, emit, ud);
			i += u;
			break;
		default: { /* NF_LINE_SKIP */
			const char *t = fr_term(p + i, n - i);
			if (!t) {
				i = n;
			} else {
				i = (size_t)(t - p) + 1;
				f->state = NF_START;
			}
			break;
		}
		}
	}
	*used = i;
	return rc;
}

int net_framer_finish(net_framer *f, net_emit_fn emit, void *ud)
{
	size_t u;
	int rc;

	if (f->pending) {
		rc = emit(ud, f->acc.data, f->acc.len, f->pending_trunc);
		if (rc)
			return rc;
		f->pending = false;
		f->acc.len = 0;
	}
	switch (f->state) {
	case NF_OCT_LEN: /* bare digits: a line */
		f->state = NF_LINE;
		rc = fr_line(f, f->digits, f->ndigits, &u, emit, ud);
		if (rc || f->state != NF_LINE)
			break;
		/* fall through */
	case NF_LINE:
		f->state = NF_START;
		rc = f->acc.len ? fr_line_done(f, "", 0, emit, ud) : 0;
		break;
	case NF_OCT_BODY:
		f->acc.len = 0;
		rc = CORE_EPARSE;
		break;
	default:
		rc = 0;
		break;
	}
	if (rc != NET_FULL)
		f->state = NF_START;
	return rc;
}
