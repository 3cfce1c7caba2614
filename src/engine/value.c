/* value.c: the exact semantics of one Sigma field item against an event
 * (wildcards, escapes, case, numbers, null, arrays, keywords, regular
 * expressions, CIDR, time parts, field references). The prefilter only
 * decides which rules reach this code; what matches is decided here. */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

/* ---- text ------------------------------------------------------------------ */
static inline unsigned char lc(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* Upper/lower pairs where the uppercase letter has the even (or odd) code
 * point and the lowercase the next one: [first, last] inclusive. */
static const struct {
	uint32_t first, last;
	bool odd_upper;
} pairs[] = {
	{0x100, 0x12F, false}, {0x132, 0x137, false}, {0x139, 0x148, true},  {0x14A, 0x177, false},
	{0x179, 0x17E, true},  {0x1A0, 0x1A5, false}, {0x1B3, 0x1B6, true},  {0x1CD, 0x1DC, true},
	{0x1DE, 0x1EF, false}, {0x1F8, 0x21F, false}, {0x222, 0x233, false}, {0x246, 0x24F, false},
	{0x3D8, 0x3EF, false}, {0x460, 0x481, false}, {0x48A, 0x4BF, false}, {0x4C1, 0x4CE, true},
	{0x4D0, 0x52F, false}, {0x1E00, 0x1E95, false}, {0x1EA0, 0x1EFF, false},
};

/* The lowercase of an uppercase letter whose lowercase is written with as
 * many UTF-8 bytes (Latin-1, Latin Extended-A/B/Additional (Vietnamese),
 * Greek, Cyrillic, Armenian, fullwidth Latin, Deseret); other code points are
 * returned as they are. Letters whose lowercase has another length
 * (U+0130 'İ') or depends on the language are left alone. */
static uint32_t fold_cp(uint32_t c)
{
	if (c >= 0xC0 && c <= 0xDE)
		return c == 0xD7 ? c : c + 0x20;
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (c >= pairs[i].first && c <= pairs[i].last)
			return ((c & 1) != 0) == pairs[i].odd_upper ? c + 1 : c;
	switch (c) {
	case 0x178: return 0xFF;
	case 0x1AF: return 0x1B0;
	case 0x1B8: return 0x1B9;
	case 0x1BC: return 0x1BD;
	case 0x386: return 0x3AC;
	case 0x38C: return 0x3CC;
	case 0x4C0: return 0x4CF;
	default: break;
	}
	if (c >= 0x388 && c <= 0x38A)
		return c + 0x25;
	if (c == 0x38E || c == 0x38F)
		return c + 0x3F;
	if (c >= 0x391 && c <= 0x3AB)
		return c == 0x3A2 ? c : c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	if (c >= 0x531 && c <= 0x556)
		return c + 0x30;
	if (c >= 0xFF21 && c <= 0xFF3A)
		return c + 0x20;
	if (c >= 0x10400 && c <= 0x10427)
		return c + 0x28;
	return c;
}

/* Length of the valid UTF-8 sequence at s[0..n) with its code point, or 0. */
static size_t utf8_dec(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] >= 0xC2 && s[0] <= 0xDF && n >= 2 && (s[1] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
		return 2;
	}
	if (s[0] >= 0xE0 && s[0] <= 0xEF && n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
		return *cp >= 0x800 && (*cp < 0xD800 || *cp > 0xDFFF) ? 3 : 0;
	}
	if (s[0] >= 0xF0 && s[0] <= 0xF4 && n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
	    (s[3] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
		      ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
		return *cp >= 0x10000 && *cp <= 0x10FFFF ? 4 : 0;
	}
	return 0;
}

static void utf8_enc(unsigned char *d, size_t len, uint32_t c)
{
	if (len == 2) {
		d[0] = (unsigned char)(0xC0 | (c >> 6));
		d[1] = (unsigned char)(0x80 | (c & 0x3F));
	} else if (len == 3) {
		d[0] = (unsigned char)(0xE0 | (c >> 12));
		d[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		d[2] = (unsigned char)(0x80 | (c & 0x3F));
	} else {
		d[0] = (unsigned char)(0xF0 | (c >> 18));
		d[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
		d[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		d[3] = (unsigned char)(0x80 | (c & 0x3F));
	}
}

/* ASCII letters of one 8-byte word lowercased at once (no byte >= 0x80):
 * a byte gets 0x20 when adding 0x3F sets its high bit (>= 'A') and adding
 * 0x25 does not (<= 'Z'); no sum carries into the next byte. */
static inline uint64_t lower8(uint64_t w)
{
	uint64_t ge_a = w + 0x3F3F3F3F3F3F3F3Full, gt_z = w + 0x2525252525252525ull;
	return w | (((ge_a ^ gt_z) & 0x8080808080808080ull) >> 2);
}

void eng_fold(char *d, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t len;
		uint64_t w;
		if (i + 8 <= n && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0)) {
			w = lower8(w);
			memcpy(d + i, &w, 8);
			i += 8;
		} else if (u[i] < 0x80) {
			d[i] = (char)lc(u[i]);
			i++;
		} else if ((len = utf8_dec(u + i, n - i, &c)) != 0) {
			uint32_t f = fold_cp(c);
			if (f == c)
				memmove(d + i, s + i, len);
			else
				utf8_enc((unsigned char *)d + i, len, f); /* same length: the table only has such pairs */
			i += len;
		} else {
			d[i] = (char)u[i];
			i++;
		}
	}
}

bool eng_has_high(const char *s, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			return true;
	}
	for (; i < n; i++)
		if ((unsigned char)s[i] & 0x80)
			return true;
	return false;
}

static bool ch_eq(unsigned char a, unsigned char b, bool cased)
{
	return cased ? a == b : lc(a) == lc(b);
}

/* Shortest text that reads back as the same double. */
static size_t float_text(double d, char buf[32])
{
	int k = snprintf(buf, 32, "%.15g", d);
	if (k > 0 && k < 32 && strtod(buf, NULL) != d)
		k = snprintf(buf, 32, "%.17g", d);
	return k > 0 && k < 32 ? (size_t)k : 0;
}

static bool text_double(const char *s, size_t n, double *d);

/* An integral double small enough to be exact, as decimal text. */
static bool integral(double d, char *buf, size_t *len)
{
	if (!(d > -9007199254740992.0 && d < 9007199254740992.0) || d != (double)(int64_t)d)
		return false;
	*len = (size_t)snprintf(buf, 32, "%lld", (long long)(int64_t)d);
	return true;
}

size_t eng_canon(const char *s, size_t n, char *buf)
{
	int64_t v;
	double d;
	size_t len;
	if (n > 0 && n < 21 && core_parse_i64(s, n, &v) == 0)
		return (size_t)snprintf(buf, 32, "%lld", (long long)v);
	if (n > 0 && n < 64 && text_double(s, n, &d) && integral(d, buf, &len))
		return len;
	eng_fold(buf, s, n);
	return n;
}

bool eng_canon_field(const core_field *f, char *buf, size_t cap, size_t *len)
{
	char tmp[32];
	const char *t;
	size_t n;
	if (f->type == CORE_T_FLOAT && integral(f->u.f, buf, len))
		return true;
	if (!eng_scalar_text(f, tmp, &t, &n) || n + 32 > cap)
		return false;
	*len = eng_canon(t, n, buf);
	return true;
}

bool eng_scalar_text(const core_field *f, char buf[32], const char **s, size_t *n)
{
	switch (f->type) {
	case CORE_T_STR:
		*s = f->u.s;
		*n = f->len;
		return true;
	case CORE_T_INT: {
		/* decimal, right to left (snprintf costs more than the rest of a scan) */
		uint64_t v = f->u.i < 0 ? 0 - (uint64_t)f->u.i : (uint64_t)f->u.i;
		char *p = buf + 31;
		do {
			*--p = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		if (f->u.i < 0)
			*--p = '-';
		*s = p;
		*n = (size_t)(buf + 31 - p);
		return true;
	}
	case CORE_T_FLOAT:
		*n = float_text(f->u.f, buf);
		*s = buf;
		return true;
	case CORE_T_BOOL:
		*s = f->u.b ? "true" : "false";
		*n = f->u.b ? 4 : 5;
		return true;
	default:
		return false;
	}
}

/* Exact search of n[0..nn) in h[0..hn): memchr (vectorised in libc) for the
 * needle's first byte, then a compare; several times faster than memmem on
 * the short needles and kilobyte texts of Sigma. */
static bool find_exact(const char *h, size_t hn, const char *n, size_t nn)
{
	if (nn == 0)
		return true;
	if (nn > hn)
		return false;
	const char *p = h, *last = h + (hn - nn);
	while (p <= last && (p = memchr(p, n[0], (size_t)(last - p) + 1)) != NULL) {
		if (memcmp(p + 1, n + 1, nn - 1) == 0)
			return true;
		p++;
	}
	return false;
}

/* Case-aware search of lit[0..ln) in t[0..tn). */
static bool find_lit(const char *t, size_t tn, const char *lit, size_t ln, bool cased)
{
	if (ln == 0)
		return true;
	if (ln > tn)
		return false;
	if (cased)
		return find_exact(t, tn, lit, ln);
	unsigned char f0 = (unsigned char)lit[0]; /* lit is lowercased */
	for (size_t i = 0; i + ln <= tn; i++) {
		if (lc((unsigned char)t[i]) != f0)
			continue;
		size_t k = 1;
		while (k < ln && lc((unsigned char)t[i + k]) == (unsigned char)lit[k])
			k++;
		if (k == ln)
			return true;
	}
	return false;
}

static bool eq_lit(const char *t, size_t tn, const char *lit, size_t ln, bool cased)
{
	if (tn != ln)
		return false;
	for (size_t i = 0; i < ln; i++)
		if (!ch_eq((unsigned char)t[i], (unsigned char)lit[i], cased))
			return false;
	return true;
}

static size_t utf8_len(unsigned char c)
{
	return c < 0xC2 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 1;
}

/* Normalized pattern p (rules.h) against t. lead/trail: an implicit '*'
 * before/after the pattern (contains, endswith / startswith). '?' takes one
 * UTF-8 character. Backtracks only to the last star: linear-ish, no recursion. */
static bool glob(const char *p, size_t pn, const char *t, size_t tn, bool lead, bool trail, bool cased)
{
	size_t pi = 0, ti = 0, star_p = SIZE_MAX, star_t = 0;

	if (lead)
		star_p = 0;
	while (ti < tn) {
		if (pi < pn) {
			unsigned char c = (unsigned char)p[pi];
			if (c == '*') {
				star_p = ++pi;
				star_t = ti;
				continue;
			}
			if (c == '?') {
				size_t l = utf8_len((unsigned char)t[ti]);
				ti += l <= tn - ti ? l : 1;
				pi++;
				continue;
			}
			size_t plen = 1;
			if (c == '\\' && pi + 1 < pn) {
				c = (unsigned char)p[pi + 1];
				plen = 2;
			}
			if (ch_eq(c, (unsigned char)t[ti], cased)) {
				pi += plen;
				ti++;
				continue;
			}
		} else if (trail) {
			return true;
		}
		if (star_p == SIZE_MAX)
			return false;
		pi = star_p;
		ti = ++star_t;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* A lowercased copy of t[0..tn), made once per event and text (searching a
 * long command line for ten literals lowers it once). NULL when out of
 * memory (the caller then compares byte by byte). */
static const char *lowered(engine_scratch *s, const char *t, size_t tn)
{
	if (s->lc_gen != s->gen) {
		s->lc_gen = s->gen;
		s->nlc = 0;
		core_arena_reset(s->lcarena);
	}
	for (uint32_t i = 0; i < s->nlc; i++)
		if (s->lc[i].src == t && s->lc[i].len == tn)
			return s->lc[i].low;
	/* an arena: copies made earlier in this event never move */
	char *d = tn < UINT32_MAX ? core_arena_alloc(s->lcarena, tn + 1) : NULL;
	if (!d)
		return NULL;
	eng_fold(d, t, tn);
	uint32_t slot = s->nlc < 16 ? s->nlc++ : (uint32_t)(s->gen % 16);
	s->lc[slot] = (struct eng_lc){.src = t, .len = (uint32_t)tn, .low = d};
	return d;
}

/* t[0..n) equals the folded literal l[0..n): folding keeps lengths, so only
 * a text with bytes beyond ASCII needs a folded copy (of this window only). */
static bool eq_folded(engine_scratch *s, const char *t, const char *l, size_t n, bool cased)
{
	char buf[256];
	if (cased)
		return memcmp(t, l, n) == 0;
	if (!eng_has_high(t, n))
		return eq_lit(t, n, l, n, false);
	if (n <= sizeof buf) {
		eng_fold(buf, t, n);
		return memcmp(buf, l, n) == 0;
	}
	const char *low = lowered(s, t, n);
	return low ? memcmp(low, l, n) == 0 : eq_lit(t, n, l, n, false);
}

static bool str_match(engine_scratch *s, const rules_item *it, const rules_value *v, const eng_val *ev,
		      const char *t, size_t tn, bool keyword)
{
	bool cased = it->cased;
	uint8_t op = it->op;
	if (keyword && op == RULES_OP_EQ)
		op = RULES_OP_CONTAINS;
	if (ev->lit) {
		const char *l = ev->lit, *low;
		size_t ln = ev->lit_len;
		switch (op) {
		case RULES_OP_EQ:
			return tn == ln && eq_folded(s, t, l, ln, cased);
		case RULES_OP_STARTSWITH:
			return tn >= ln && eq_folded(s, t, l, ln, cased);
		case RULES_OP_ENDSWITH:
			return tn >= ln && eq_folded(s, t + tn - ln, l, ln, cased);
		case RULES_OP_CONTAINS:
			if (ln > tn)
				return false;
			if (ln == 0)
				return true;
			if (cased)
				return find_exact(t, tn, l, ln);
			if ((tn >= 48 || eng_has_high(t, tn)) && (low = lowered(s, t, tn)) != NULL)
				return find_exact(low, tn, l, ln);
			return find_lit(t, tn, l, ln, false);
		default:
			return false;
		}
	}
	const char *pat = v->s;
	if (!cased && eng_has_high(t, tn)) {
		/* letters beyond ASCII: the folded text against the folded pattern
		 * (ASCII letters still compare without case) */
		const char *low = lowered(s, t, tn);
		if (low) {
			t = low;
			if (ev->pat)
				pat = ev->pat;
		}
	}
	return glob(pat, v->len, t, tn, op == RULES_OP_CONTAINS || op == RULES_OP_ENDSWITH,
		    op == RULES_OP_CONTAINS || op == RULES_OP_STARTSWITH, cased);
}

/* ---- numbers ------------------------------------------------------------------ */
static bool text_double(const char *s, size_t n, double *d)
{
	char buf[64];
	char *end;
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	*d = strtod(buf, &end);
	return end == buf + n && isfinite(*d);
}

/* The numeric value of f: ints exactly (isint), others as doubles. */
static bool field_number(const core_field *f, int64_t *i, double *d, bool *isint)
{
	switch (f->type) {
	case CORE_T_INT:
		*i = f->u.i;
		*d = (double)f->u.i;
		*isint = true;
		return true;
	case CORE_T_FLOAT:
		*d = f->u.f;
		*isint = false;
		return true;
	case CORE_T_STR:
		if (f->len > 0 && f->len < 21 && core_parse_i64(f->u.s, f->len, i) == 0) {
			*d = (double)*i;
			*isint = true;
			return true;
		}
		*isint = false;
		return text_double(f->u.s, f->len, d);
	default:
		return false;
	}
}

static bool num_cmp(uint8_t op, int64_t a_i, double a_d, bool a_int, const rules_value *v)
{
	int c;
	if (a_int && v->type == RULES_V_INT)
		c = a_i < v->i ? -1 : a_i > v->i;
	else {
		double b = v->type == RULES_V_INT ? (double)v->i : v->f;
		c = a_d < b ? -1 : a_d > b;
	}
	switch (op) {
	case RULES_OP_LT: return c < 0;
	case RULES_OP_LTE: return c <= 0;
	case RULES_OP_GT: return c > 0;
	case RULES_OP_GTE: return c >= 0;
	default: return c == 0;
	}
}

/* ---- time parts ------------------------------------------------------------------ */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	/* days since 1970-01-01 to a proleptic Gregorian date (era arithmetic) */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* ISO 8601 week number (1..53) of days since 1970. */
static int64_t iso_week(int64_t days)
{
	int64_t wd = ((days % 7) + 7 + 3) % 7; /* 0 = Monday (1970-01-01 was a Thursday) */
	int64_t thursday = days - wd + 3;
	int64_t y;
	unsigned m, d;
	civil(thursday, &y, &m, &d);
	int64_t jan1 = core_days_from_civil(y, 1, 1);
	return (thursday - jan1) / 7 + 1;
}

static bool time_part(const core_field *f, uint8_t part, int64_t *out)
{
	int64_t ns;
	size_t used = 0;
	if (f->type == CORE_T_STR) {
		if (core_time_iso(f->u.s, f->len, &ns, &used) != 0 || used != f->len)
			return false;
	} else if (f->type == CORE_T_INT) {
		if (f->u.i > INT64_MAX / 1000000000 || f->u.i < INT64_MIN / 1000000000)
			return false;
		ns = f->u.i * 1000000000;
	} else {
		return false;
	}
	int64_t secs = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t sod = secs - days * 86400;
	int64_t y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	switch (part) {
	case RULES_TIME_MINUTE: *out = (sod / 60) % 60; break;
	case RULES_TIME_HOUR: *out = sod / 3600; break;
	case RULES_TIME_DAY: *out = d; break;
	case RULES_TIME_WEEK: *out = iso_week(days); break;
	case RULES_TIME_MONTH: *out = m; break;
	default: *out = y; break;
	}
	return true;
}

/* ---- CIDR --------------------------------------------------------------------------- */
static bool cidr_match(const rules_value *v, const char *t, size_t tn)
{
	char buf[64];
	uint8_t addr[16];
	if (tn == 0 || tn >= sizeof buf)
		return false;
	memcpy(buf, t, tn);
	buf[tn] = 0;
	if (v->family == 4) {
		if (inet_pton(AF_INET, buf, addr) != 1)
			return false;
	} else {
		char *pct = strchr(buf, '%'); /* zone index: fe80::1%eth0 */
		if (pct)
			*pct = 0;
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return false;
	}
	unsigned bits = v->prefix, full = bits / 8, rest = bits % 8;
	if (memcmp(addr, v->addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xFF << (8 - rest));
		if ((addr[full] & mask) != (v->addr[full] & mask))
			return false;
	}
	return true;
}

/* ---- regular expressions ------------------------------------------------------------- */
static int on_re(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
		 void *ctx)
{
	(void)id, (void)from, (void)to, (void)flags;
	*(bool *)ctx = true;
	return 1; /* stop */
}

static bool re_match(engine_scratch *s, const eng_re *re, const char *t, size_t tn)
{
	if (re->hs) {
		bool found = false;
		if (tn > UINT32_MAX)
			return false;
		hs_error_t rc = hs_scan(re->hs, tn ? t : "", (unsigned)tn, 0, s->hs, on_re, &found);
		if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
			s->re_errors++;
		return found;
	}
	int rc = pcre2_match(re->pcre, (PCRE2_SPTR)(tn ? t : ""), tn, 0, 0, s->md, s->mctx);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		s->re_errors++; /* match limit: counted, treated as no match */
	return rc >= 0;
}

/* ---- one value against one scalar field ---------------------------------------------- */
typedef struct vctx {
	const engine *e;
	engine_scratch *s;
	const eng_item *ei;
	const core_name *names;
	const core_event *ev;
} vctx;

static bool ref_match(const vctx *x, uint32_t k, const char *t, size_t tn)
{
	const rules_item *it = x->ei->it;
	core_name nm = x->names[x->ei->slot + 1 + k];
	const core_field *o = nm ? core_event_get(x->ev, nm) : NULL;
	char buf[32];
	const char *os;
	size_t on;
	if (!o || !eng_scalar_text(o, buf, &os, &on))
		return false;
	if (!it->cased) {
		/* letters beyond ASCII: fold the side that has them (numbers never do) */
		const char *a = eng_has_high(t, tn) ? lowered(x->s, t, tn) : t;
		const char *b = eng_has_high(os, on) ? lowered(x->s, os, on) : os;
		if (a && b)
			t = a, os = b;
	}
	switch (it->op) {
	case RULES_OP_CONTAINS:
		for (size_t i = 0; i + on <= tn; i++)
			if (eq_lit(t + i, on, os, on, it->cased))
				return true;
		return false;
	case RULES_OP_STARTSWITH:
		return tn >= on && eq_lit(t, on, os, on, it->cased);
	case RULES_OP_ENDSWITH:
		return tn >= on && eq_lit(t + tn - on, on, os, on, it->cased);
	default:
		return eq_lit(t, tn, os, on, it->cased);
	}
}

static bool scalar_match(const vctx *x, uint32_t k, const core_field *f, bool keyword)
{
	const rules_item *it = x->ei->it;
	const rules_value *v = &it->values[k];
	char buf[32];
	const char *t;
	size_t tn;
	int64_t i;
	double d;
	bool isint;

	if (f->type == CORE_T_NULL)
		return v->type == RULES_V_NULL;
	if (it->timepart) {
		int64_t part;
		return time_part(f, it->timepart, &part) && num_cmp(it->op, part, (double)part, true, v);
	}
	switch (v->type) {
	case RULES_V_STR:
		return eng_scalar_text(f, buf, &t, &tn) && str_match(x->s, it, v, &x->ei->vals[k], t, tn, keyword);
	case RULES_V_INT:
	case RULES_V_FLOAT:
		if (keyword) /* full-text search: the number as written, anywhere */
			return eng_scalar_text(f, buf, &t, &tn) && find_lit(t, tn, v->s, v->len, false);
		if (f->type == CORE_T_BOOL)
			return false;
		return field_number(f, &i, &d, &isint) && num_cmp(it->op, i, d, isint, v);
	case RULES_V_BOOL:
		if (f->type == CORE_T_BOOL)
			return f->u.b == v->b;
		return f->type == CORE_T_STR && eq_lit(f->u.s, f->len, v->b ? "true" : "false", v->b ? 4 : 5, false);
	case RULES_V_RE:
		return eng_scalar_text(f, buf, &t, &tn) && re_match(x->s, x->ei->vals[k].re, t, tn);
	case RULES_V_CIDR:
		return f->type == CORE_T_STR && cidr_match(v, f->u.s, f->len);
	case RULES_V_FIELDREF:
		return eng_scalar_text(f, buf, &t, &tn) && ref_match(x, k, t, tn);
	default:
		return false;
	}
}

/* A field (scalar, or array: any element) against value k. */
static bool field_match(const vctx *x, uint32_t k, const core_field *f)
{
	if (f->type != CORE_T_ARRAY)
		return f->type != CORE_T_OBJECT && scalar_match(x, k, f, false);
	const core_event *ev = x->ev;
	uint32_t idx = core_event_idx(ev, f);
	for (uint32_t j = core_event_next_child(ev, idx, idx); j != UINT32_MAX; j = core_event_next_child(ev, idx, j)) {
		const core_field *c = &ev->f[j];
		if (c->type != CORE_T_ARRAY && c->type != CORE_T_OBJECT && scalar_match(x, k, c, false))
			return true;
	}
	return false;
}

/* Keyword value k anywhere in the event (strings and numbers). */
static bool keyword_match(const vctx *x, uint32_t k)
{
	const core_event *ev = x->ev;
	for (uint32_t j = 0; j < ev->n; j++) {
		const core_field *f = &ev->f[j];
		if ((f->type == CORE_T_STR || f->type == CORE_T_INT || f->type == CORE_T_FLOAT) &&
		    scalar_match(x, k, f, true))
			return true;
	}
	return false;
}

static bool value_match(const vctx *x, uint32_t k, const core_field *f)
{
	if (!x->ei->it->field)
		return keyword_match(x, k);
	return f && field_match(x, k, f);
}

bool eng_item_eval(const engine *e, engine_scratch *s, const eng_prog *p, const eng_item *ei,
		   const core_name *names, const core_event *ev)
{
	const rules_item *it = ei->it;
	vctx x = {.e = e, .s = s, .ei = ei, .names = names, .ev = ev};
	const core_field *f = NULL;
	bool r = false;

	(void)p;
	if (it->field) {
		core_name nm = names[ei->slot];
		f = nm ? core_event_get(ev, nm) : NULL;
	}
	if (it->op == RULES_OP_EXISTS) {
		bool want = it->nvalues && it->values[0].b;
		return want == (f != NULL);
	}
	if (it->nvalues == 1 && it->values[0].type == RULES_V_NULL) {
		r = !f || f->type == CORE_T_NULL;
		return it->neq ? !r : r;
	}
	if (!it->all) {
		for (uint32_t k = 0; k < it->nvalues && !r; k++)
			r = value_match(&x, k, f);
	} else {
		/* every group (values written) must hold; variants of one group are
		 * alternatives and are contiguous */
		r = true;
		for (uint32_t k = 0; k < it->nvalues && r;) {
			uint32_t g = it->values[k].group, end = k;
			bool any = false;
			while (end < it->nvalues && it->values[end].group == g)
				end++;
			for (uint32_t j = k; j < end && !any; j++)
				any = value_match(&x, j, f);
			r = any;
			k = end;
		}
	}
	return it->neq ? !r : r;
}

/* ---- compiling regular expressions ------------------------------------------------------ */
int eng_re_compile(bool use_hs, const rules_value *v, uint8_t re_flags, eng_re *r, char *why, size_t whylen)
{
	hs_compile_error_t *cerr = NULL;

	memset(r, 0, sizeof *r);
	if (use_hs && memchr(v->s, 0, v->len) == NULL) {
		unsigned fl = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY |
			      (re_flags & RULES_RE_I ? HS_FLAG_CASELESS : 0) |
			      (re_flags & RULES_RE_M ? HS_FLAG_MULTILINE : 0) |
			      (re_flags & RULES_RE_S ? HS_FLAG_DOTALL : 0);
		if (hs_compile(v->s, fl, HS_MODE_BLOCK, NULL, &r->hs, &cerr) == HS_SUCCESS)
			return 0;
		hs_free_compile_error(cerr);
		r->hs = NULL;
	}
	int err;
	PCRE2_SIZE off;
	uint32_t opts = (re_flags & RULES_RE_I ? PCRE2_CASELESS : 0) | (re_flags & RULES_RE_M ? PCRE2_MULTILINE : 0) |
			(re_flags & RULES_RE_S ? PCRE2_DOTALL : 0);
	r->pcre = pcre2_compile((PCRE2_SPTR)v->s, v->len, opts, &err, &off, NULL);
	if (!r->pcre) {
		PCRE2_UCHAR msg[120];
		pcre2_get_error_message(err, msg, sizeof msg);
		snprintf(why, whylen, "regular expression '%.60s': %s at offset %zu", v->s, (const char *)msg,
			 (size_t)off);
		return CORE_EPARSE;
	}
	(void)pcre2_jit_compile(r->pcre, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
	return 0;
}

void eng_re_free(eng_re *r)
{
	if (!r)
		return;
	if (r->hs)
		hs_free_database(r->hs);
	if (r->pcre)
		pcre2_code_free(r->pcre);
}
