/* values.c: Sigma value modifiers (appendix v2.1). Parses a "field|mod|..."
 * key, checks the modifier chain against the specification, and resolves the
 * values once at load: placeholders are expanded, escapes normalized, windash
 * permutations and base64/utf16 encodings produced, regexes compiled once to
 * validate them, CIDR ranges parsed. The engine only ever sees the result. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

#define MAX_VALUES 65536 /* values of one item after every expansion */
#define MAX_MODS 16

enum mod_id {
	M_CONTAINS, M_STARTSWITH, M_ENDSWITH, M_ALL, M_EXISTS, M_CASED, M_NEQ, M_WINDASH, M_RE,
	M_RE_I, M_RE_M, M_RE_S, M_BASE64, M_BASE64OFFSET, M_UTF16LE, M_UTF16BE, M_UTF16, M_LT,
	M_LTE, M_GT, M_GTE, M_MINUTE, M_HOUR, M_DAY, M_WEEK, M_MONTH, M_YEAR, M_CIDR, M_EXPAND,
	M_FIELDREF, M_COUNT
};

static const struct {
	const char *name;
	uint32_t bit;
} mods[] = {
	[M_CONTAINS] = {"contains", RULES_MOD_CONTAINS}, [M_STARTSWITH] = {"startswith", RULES_MOD_STARTSWITH},
	[M_ENDSWITH] = {"endswith", RULES_MOD_ENDSWITH}, [M_ALL] = {"all", RULES_MOD_ALL},
	[M_EXISTS] = {"exists", RULES_MOD_EXISTS}, [M_CASED] = {"cased", RULES_MOD_CASED},
	[M_NEQ] = {"neq", RULES_MOD_NEQ}, [M_WINDASH] = {"windash", RULES_MOD_WINDASH},
	[M_RE] = {"re", RULES_MOD_RE}, [M_RE_I] = {"i", RULES_MOD_RE_I}, [M_RE_M] = {"m", RULES_MOD_RE_M},
	[M_RE_S] = {"s", RULES_MOD_RE_S}, [M_BASE64] = {"base64", RULES_MOD_BASE64},
	[M_BASE64OFFSET] = {"base64offset", RULES_MOD_BASE64OFFSET},
	[M_UTF16LE] = {"utf16le", RULES_MOD_UTF16LE}, [M_UTF16BE] = {"utf16be", RULES_MOD_UTF16BE},
	[M_UTF16] = {"utf16", RULES_MOD_UTF16}, [M_LT] = {"lt", RULES_MOD_LT}, [M_LTE] = {"lte", RULES_MOD_LTE},
	[M_GT] = {"gt", RULES_MOD_GT}, [M_GTE] = {"gte", RULES_MOD_GTE},
	[M_MINUTE] = {"minute", RULES_MOD_TIME}, [M_HOUR] = {"hour", RULES_MOD_TIME},
	[M_DAY] = {"day", RULES_MOD_TIME}, [M_WEEK] = {"week", RULES_MOD_TIME},
	[M_MONTH] = {"month", RULES_MOD_TIME}, [M_YEAR] = {"year", RULES_MOD_TIME},
	[M_CIDR] = {"cidr", RULES_MOD_CIDR}, [M_EXPAND] = {"expand", RULES_MOD_EXPAND},
	[M_FIELDREF] = {"fieldref", RULES_MOD_FIELDREF},
};

#define STRING_MODS (RULES_MOD_CONTAINS | RULES_MOD_STARTSWITH | RULES_MOD_ENDSWITH)
#define ENCODE_MODS (RULES_MOD_BASE64 | RULES_MOD_BASE64OFFSET | RULES_MOD_UTF16LE | RULES_MOD_UTF16BE | RULES_MOD_UTF16)
#define NUM_MODS (RULES_MOD_LT | RULES_MOD_LTE | RULES_MOD_GT | RULES_MOD_GTE)
#define TRANSFORM_MODS (ENCODE_MODS | RULES_MOD_WINDASH | RULES_MOD_EXPAND)

/* A working list of byte strings during value resolution (arena memory). */
typedef struct strlist {
	char **s;
	size_t *len;
	size_t n, cap;
} strlist;

typedef struct ctx {
	core_arena *a;
	const rules_options *opt;
	char *why;
	size_t whylen;
	int order[MAX_MODS]; /* modifier ids in the order written */
	size_t norder;
} ctx;

static int fail(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return CORE_EPARSE;
}

static int sl_add_own(ctx *c, strlist *l, char *s, size_t n);

/* Adds a copy of s[0..n) to l. */
static int sl_add(ctx *c, strlist *l, const char *s, size_t n)
{
	char *d = core_arena_strndup(c->a, s, n);
	return d ? sl_add_own(c, l, d, n) : CORE_ENOMEM;
}

/* Adds s (already arena-owned) to l without copying it. */
static int sl_add_own(ctx *c, strlist *l, char *s, size_t n)
{
	if (l->n >= MAX_VALUES)
		return fail(c, "more than %d values after expanding the modifiers", MAX_VALUES);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **ns = core_arena_alloc(c->a, cap * sizeof *ns);
		size_t *nl = core_arena_alloc(c->a, cap * sizeof *nl);
		if (!ns || !nl)
			return CORE_ENOMEM;
		if (l->n) {
			memcpy(ns, l->s, l->n * sizeof *ns);
			memcpy(nl, l->len, l->n * sizeof *nl);
		}
		l->s = ns, l->len = nl, l->cap = cap;
	}
	l->s[l->n] = s;
	l->len[l->n++] = n;
	return 0;
}

/* ---- the modifier chain ------------------------------------------------------ */
static int parse_mods(ctx *c, const char *key, size_t keylen, rules_item *it)
{
	const char *p = memchr(key, '|', keylen), *end = key + keylen;

	if (!p)
		return 0;
	while (p < end) {
		const char *m = p + 1, *q = memchr(m, '|', (size_t)(end - m));
		size_t ml = (size_t)((q ? q : end) - m);
		int id = -1;
		for (int k = 0; k < M_COUNT && id < 0; k++)
			if (strlen(mods[k].name) == ml && memcmp(mods[k].name, m, ml) == 0)
				id = k;
		if (ml == 4 && memcmp(m, "wide", 4) == 0)
			id = M_UTF16LE;
		if (id < 0)
			return fail(c, "unknown modifier '%.*s'", (int)(ml > 64 ? 64 : ml), m);
		for (size_t k = 0; k < c->norder; k++)
			if (c->order[k] == id)
				return fail(c, "modifier '%s' given twice", mods[id].name);
		if (c->norder == MAX_MODS)
			return fail(c, "too many modifiers");
		c->order[c->norder++] = id;
		it->mods |= mods[id].bit;
		if (id >= M_MINUTE && id <= M_YEAR) {
			if (it->timepart)
				return fail(c, "only one time modifier may be used");
			it->timepart = (uint8_t)(RULES_TIME_MINUTE + (id - M_MINUTE));
		}
		p = q ? q : end;
	}
	return 0;
}

static int popcount32(uint32_t v)
{
	return __builtin_popcount(v);
}

/* Combinations the specification rules out (or that have no meaning). */
static int check_combination(ctx *c, uint32_t m)
{
	if ((m & (RULES_MOD_RE_I | RULES_MOD_RE_M | RULES_MOD_RE_S)) && !(m & RULES_MOD_RE))
		return fail(c, "the modifiers 'i', 'm' and 's' only apply to 're'");
	if (popcount32(m & STRING_MODS) > 1)
		return fail(c, "only one of 'contains', 'startswith' and 'endswith' may be used");
	if (popcount32(m & NUM_MODS) > 1)
		return fail(c, "only one of 'lt', 'lte', 'gt' and 'gte' may be used");
	if (popcount32(m & (RULES_MOD_BASE64 | RULES_MOD_BASE64OFFSET)) > 1)
		return fail(c, "'base64' and 'base64offset' cannot be combined");
	if (popcount32(m & (RULES_MOD_UTF16LE | RULES_MOD_UTF16BE | RULES_MOD_UTF16)) > 1)
		return fail(c, "only one of 'utf16le' ('wide'), 'utf16be' and 'utf16' may be used");
	if ((m & RULES_MOD_EXISTS) && (m & ~RULES_MOD_EXISTS))
		return fail(c, "'exists' cannot be combined with other modifiers");
	if ((m & RULES_MOD_RE) && (m & (STRING_MODS | TRANSFORM_MODS | NUM_MODS | RULES_MOD_CIDR |
					RULES_MOD_TIME | RULES_MOD_FIELDREF)))
		return fail(c, "'re' cannot be combined with string, encoding, numeric or cidr modifiers");
	if ((m & RULES_MOD_CIDR) && (m & (STRING_MODS | TRANSFORM_MODS | NUM_MODS | RULES_MOD_TIME |
					  RULES_MOD_FIELDREF | RULES_MOD_CASED)))
		return fail(c, "'cidr' cannot be combined with string, encoding, numeric or time modifiers");
	if ((m & (NUM_MODS | RULES_MOD_TIME)) && (m & (STRING_MODS | TRANSFORM_MODS | RULES_MOD_FIELDREF)))
		return fail(c, "numeric and time modifiers cannot be combined with string or encoding modifiers");
	if ((m & RULES_MOD_FIELDREF) && (m & (TRANSFORM_MODS | RULES_MOD_ALL)))
		return fail(c, "'fieldref' cannot be combined with 'all', encoding, 'windash' or 'expand'");
	return 0;
}

/* ---- escapes ----------------------------------------------------------------- */
/* Sigma text -> the normalized pattern form (rules.h). Adds to out. */
static int normalize(ctx *c, const char *s, size_t n, strlist *out)
{
	char *d = core_arena_alloc(c->a, 2 * n + 1);
	size_t k = 0;

	if (!d)
		return CORE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\\') {
			char nx = i + 1 < n ? s[i + 1] : 0;
			if (nx == '*' || nx == '?' || nx == '\\') {
				d[k++] = '\\';
				d[k++] = nx;
				i++;
			} else {
				d[k++] = '\\';
				d[k++] = '\\';
			}
		} else {
			d[k++] = ch;
		}
	}
	d[k] = 0;
	return sl_add_own(c, out, d, k);
}

/* Pattern -> literal bytes; fails when the pattern holds a wildcard. */
static int unescape(ctx *c, const char *p, size_t n, const char *mod, char *d, size_t *dn)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			d[k++] = p[++i];
		else if (p[i] == '*' || p[i] == '?')
			return fail(c, "'%s' cannot encode a value with wildcards", mod);
		else
			d[k++] = p[i];
	}
	*dn = k;
	return 0;
}

/* Literal bytes -> pattern (escapes '*', '?' and '\'). */
static int escape_add(ctx *c, const char *s, size_t n, strlist *out)
{
	char *d = core_arena_alloc(c->a, 2 * n + 1);
	size_t k = 0;
	if (!d)
		return CORE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '*' || s[i] == '?' || s[i] == '\\')
			d[k++] = '\\';
		d[k++] = s[i];
	}
	d[k] = 0;
	return sl_add_own(c, out, d, k);
}

/* ---- expand ------------------------------------------------------------------ */
static const rules_placeholder *find_placeholder(ctx *c, const char *name, size_t n)
{
	for (size_t i = 0; c->opt && i < c->opt->nplaceholders; i++) {
		const rules_placeholder *p = &c->opt->placeholders[i];
		if (strlen(p->name) == n && memcmp(p->name, name, n) == 0)
			return p;
	}
	return NULL;
}

/* Appends s[0..n) to every string of l (in place, new arena copies). */
static int append_all(ctx *c, strlist *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->n; i++) {
		char *d = core_arena_alloc(c->a, l->len[i] + n + 1);
		if (!d)
			return CORE_ENOMEM;
		memcpy(d, l->s[i], l->len[i]);
		memcpy(d + l->len[i], s, n);
		d[l->len[i] + n] = 0;
		l->s[i] = d;
		l->len[i] += n;
	}
	return 0;
}

/* Every combination of l's strings followed by one of the placeholder values. */
static int multiply(ctx *c, strlist *l, const rules_placeholder *ph)
{
	strlist out = {0};
	int rc = 0;
	for (size_t i = 0; i < l->n && rc == 0; i++)
		for (size_t v = 0; v < ph->nvalues && rc == 0; v++) {
			size_t vl = strlen(ph->values[v]);
			char *d = core_arena_alloc(c->a, l->len[i] + vl + 1);
			if (!d)
				return CORE_ENOMEM;
			memcpy(d, l->s[i], l->len[i]);
			memcpy(d + l->len[i], ph->values[v], vl);
			rc = sl_add(c, &out, d, l->len[i] + vl);
		}
	*l = out;
	return rc;
}

/* Raw text with %name% placeholders -> raw texts ("\%" is a plain '%'). */
static int expand(ctx *c, const char *s, size_t n, strlist *out)
{
	strlist l = {0};
	size_t lit = 0;
	int rc = sl_add(c, &l, "", 0);

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '%') {
			rc = append_all(c, &l, s + lit, i - lit);
			lit = ++i; /* keep the '%' as literal text */
			continue;
		}
		if (s[i] != '%')
			continue;
		const char *e = memchr(s + i + 1, '%', n - i - 1);
		if (!e)
			break;
		size_t nl = (size_t)(e - (s + i + 1));
		const rules_placeholder *ph = find_placeholder(c, s + i + 1, nl);
		if (!ph)
			return fail(c, "placeholder '%%%.*s%%' has no value (give it with --placeholders)",
				    (int)(nl > 64 ? 64 : nl), s + i + 1);
		rc = append_all(c, &l, s + lit, i - lit);
		if (rc == 0)
			rc = multiply(c, &l, ph);
		i += nl + 1;
		lit = i + 1;
	}
	if (rc == 0)
		rc = append_all(c, &l, s + lit, n - lit);
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = sl_add(c, out, l.s[i], l.len[i]);
	return rc;
}

/* ---- windash ------------------------------------------------------------------ */
static const char *const dashes[5] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};

/* Length of the dash at p (1 or 3 bytes), 0 when none. */
static size_t dash_at(const char *p, size_t left)
{
	if (*p == '-' || *p == '/')
		return 1;
	if (left >= 3 && (unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
	    (unsigned char)p[2] >= 0x93 && (unsigned char)p[2] <= 0x95)
		return 3;
	return 0;
}

/* Every assignment of the five dashes to the dash positions of p. */
static int windash_one(ctx *c, const char *p, size_t n, strlist *out)
{
	size_t pos[8], plen[8], k = 0;
	unsigned digit[8] = {0};

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		size_t dl = dash_at(p + i, n - i);
		if (!dl)
			continue;
		if (k == 5)
			return fail(c, "'windash' on a value with more than 5 dashes");
		pos[k] = i, plen[k++] = dl;
		i += dl - 1;
	}
	char *buf = core_arena_alloc(c->a, n + 2 * k + 1);
	if (!buf)
		return CORE_ENOMEM;
	for (;;) {
		size_t o = 0, from = 0;
		for (size_t j = 0; j < k; j++) {
			memcpy(buf + o, p + from, pos[j] - from);
			o += pos[j] - from;
			size_t dl = strlen(dashes[digit[j]]);
			memcpy(buf + o, dashes[digit[j]], dl);
			o += dl;
			from = pos[j] + plen[j];
		}
		memcpy(buf + o, p + from, n - from);
		int rc = sl_add(c, out, buf, o + n - from);
		if (rc)
			return rc;
		size_t j = 0;
		while (j < k && ++digit[j] == 5)
			digit[j++] = 0;
		if (j == k)
			return 0;
	}
}

/* ---- encodings ----------------------------------------------------------------- */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of s[0..n) into d; returns the length (pad: add '=' padding). */
static size_t b64_encode(const unsigned char *s, size_t n, char *d, bool pad)
{
	size_t k = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		d[k++] = b64[v >> 18], d[k++] = b64[(v >> 12) & 63];
		d[k++] = b64[(v >> 6) & 63], d[k++] = b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		d[k++] = b64[v >> 18], d[k++] = b64[(v >> 12) & 63];
		if (pad)
			d[k++] = '=', d[k++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		d[k++] = b64[v >> 18], d[k++] = b64[(v >> 12) & 63], d[k++] = b64[(v >> 6) & 63];
		if (pad)
			d[k++] = '=';
	}
	return k;
}

/* base64offset: the value shifted by 0, 1 and 2 bytes in the encoded stream,
 * keeping only the characters that do not depend on the unknown bytes around
 * it (the first 0, 2 or 3 characters come from the shift; the last character
 * is dropped when it mixes in bits of the following byte). */
static int base64offset(ctx *c, const char *lit, size_t n, strlist *out)
{
	unsigned char *tmp = core_arena_alloc(c->a, n + 3);
	char *enc = core_arena_alloc(c->a, (n + 3) / 3 * 4 + 8);
	static const size_t skip[3] = {0, 2, 3};
	int rc = 0;

	if (!tmp || !enc)
		return CORE_ENOMEM;
	for (size_t shift = 0; shift < 3 && rc == 0; shift++) {
		memset(tmp, 0, shift);
		memcpy(tmp + shift, lit, n);
		size_t total = shift + n, el = b64_encode(tmp, total, enc, false);
		if (total % 3)
			el--; /* last character mixes in the next (unknown) byte */
		if (el <= skip[shift])
			return fail(c, "'base64offset' value too short to encode");
		rc = escape_add(c, enc + skip[shift], el - skip[shift], out);
	}
	return rc;
}

/* UTF-8 -> UTF-16 (le: little endian; bom: FF FE / FE FF first). */
static int utf16(ctx *c, const char *s, size_t n, bool le, bool bom, strlist *out)
{
	unsigned char *d = core_arena_alloc(c->a, 4 * n + 2);
	size_t k = 0;
	if (!d)
		return CORE_ENOMEM;
	if (bom)
		d[k++] = le ? 0xff : 0xfe, d[k++] = le ? 0xfe : 0xff;
	for (size_t i = 0; i < n;) {
		unsigned char b = (unsigned char)s[i];
		uint32_t cp;
		size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
		if (!len || i + len > n)
			return fail(c, "value is not valid UTF-8");
		cp = len == 1 ? b : b & (0x7f >> len);
		for (size_t j = 1; j < len; j++) {
			if (((unsigned char)s[i + j] >> 6) != 2)
				return fail(c, "value is not valid UTF-8");
			cp = cp << 6 | ((unsigned char)s[i + j] & 0x3f);
		}
		i += len;
		uint16_t units[2] = {(uint16_t)cp, 0};
		size_t nu = 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[0] = (uint16_t)(0xd800 | (cp >> 10)), units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
			nu = 2;
		}
		for (size_t u = 0; u < nu; u++) {
			d[k++] = le ? (unsigned char)units[u] : (unsigned char)(units[u] >> 8);
			d[k++] = le ? (unsigned char)(units[u] >> 8) : (unsigned char)units[u];
		}
	}
	return escape_add(c, (const char *)d, k, out);
}

/* Applies one transformation modifier to every pattern of *l. */
static int transform(ctx *c, int id, strlist *l)
{
	strlist out = {0};
	int rc = 0;

	for (size_t i = 0; i < l->n && rc == 0; i++) {
		if (id == M_WINDASH) {
			rc = windash_one(c, l->s[i], l->len[i], &out);
			continue;
		}
		char *lit = core_arena_alloc(c->a, l->len[i] + 1);
		size_t ln = 0;
		if (!lit)
			return CORE_ENOMEM;
		rc = unescape(c, l->s[i], l->len[i], mods[id].name, lit, &ln);
		if (rc)
			break;
		if (id == M_BASE64) {
			char *enc = core_arena_alloc(c->a, (ln + 2) / 3 * 4 + 1);
			if (!enc)
				return CORE_ENOMEM;
			rc = escape_add(c, enc, b64_encode((const unsigned char *)lit, ln, enc, true), &out);
		} else if (id == M_BASE64OFFSET) {
			rc = base64offset(c, lit, ln, &out);
		} else {
			rc = utf16(c, lit, ln, id != M_UTF16BE, id == M_UTF16, &out);
		}
	}
	*l = out;
	return rc;
}

/* ---- typed values ---------------------------------------------------------------- */
static int parse_cidr(ctx *c, const char *s, size_t n, rules_value *v)
{
	char buf[64];
	const char *slash = memchr(s, '/', n);
	size_t al = slash ? (size_t)(slash - s) : n;
	long prefix = -1;

	if (al == 0 || al >= sizeof buf)
		return fail(c, "invalid CIDR '%.*s'", (int)(n > 64 ? 64 : n), s);
	memcpy(buf, s, al);
	buf[al] = 0;
	v->family = memchr(buf, ':', al) ? 6 : 4;
	if (inet_pton(v->family == 6 ? AF_INET6 : AF_INET, buf, v->addr) != 1)
		return fail(c, "invalid CIDR address '%s'", buf);
	if (slash) {
		char *end;
		char pb[8];
		size_t pl = n - al - 1;
		if (pl == 0 || pl >= sizeof pb)
			return fail(c, "invalid CIDR prefix in '%.*s'", (int)(n > 64 ? 64 : n), s);
		memcpy(pb, slash + 1, pl);
		pb[pl] = 0;
		errno = 0;
		prefix = strtol(pb, &end, 10);
		if (*end || pb[0] < '0' || pb[0] > '9')
			prefix = -1;
	}
	int max = v->family == 6 ? 128 : 32;
	if (!slash)
		prefix = max;
	if (prefix < 0 || prefix > max)
		return fail(c, "invalid CIDR prefix in '%.*s'", (int)(n > 64 ? 64 : n), s);
	v->prefix = (uint8_t)prefix;
	for (int b = (int)prefix; b < max; b++)
		v->addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	v->type = RULES_V_CIDR;
	return 0;
}

static int compile_re(ctx *c, const char *s, size_t n, uint8_t flags)
{
	int code;
	PCRE2_SIZE off;
	uint32_t opt = (flags & RULES_RE_I ? PCRE2_CASELESS : 0) | (flags & RULES_RE_M ? PCRE2_MULTILINE : 0) |
		       (flags & RULES_RE_S ? PCRE2_DOTALL : 0) | PCRE2_UTF;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, n, opt, &code, &off, NULL);

	if (!re) {
		/* retry without UTF: a pattern may hold bytes that are not UTF-8 */
		re = pcre2_compile((PCRE2_SPTR)s, n, opt & ~PCRE2_UTF, &code, &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[120];
			pcre2_get_error_message(code, msg, sizeof msg);
			return fail(c, "invalid regular expression at offset %zu: %s", (size_t)off, (char *)msg);
		}
	}
	pcre2_code_free(re);
	return 0;
}

/* Parses s as a number: INT or FLOAT into v; false when it is not one. */
static bool as_number(const char *s, size_t n, rules_value *v)
{
	char buf[64], *end;
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	int base = n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'o') ? (buf[1] == 'x' ? 16 : 8) : 10;
	long long i = strtoll(base == 10 ? buf : buf + 2, &end, base);
	if (*end == 0 && errno == 0) {
		v->type = RULES_V_INT, v->i = i, v->f = (double)i;
		return true;
	}
	errno = 0;
	double f = strtod(buf, &end);
	if (*end == 0 && errno == 0 && isfinite(f)) {
		v->type = RULES_V_FLOAT, v->f = f;
		return true;
	}
	return false;
}

/* ---- building an item ------------------------------------------------------------- */
static rules_value *new_values(ctx *c, rules_item *it, size_t n)
{
	it->values = core_arena_alloc(c->a, (n ? n : 1) * sizeof *it->values);
	if (it->values)
		memset(it->values, 0, (n ? n : 1) * sizeof *it->values);
	it->nvalues = 0;
	return it->values;
}

static int set_text(ctx *c, rules_value *v, const char *s, size_t n)
{
	v->s = core_arena_strndup(c->a, s, n);
	v->len = (uint32_t)n;
	return v->s ? 0 : CORE_ENOMEM;
}

/* exists, re, cidr, fieldref, numeric and time items: one value per raw. */
static int build_typed(ctx *c, rules_item *it, const rules_raw *raw, size_t n)
{
	uint32_t m = it->mods;

	if ((m & RULES_MOD_EXISTS) && (n != 1 || raw[0].type != RULES_V_BOOL))
		return fail(c, "'exists' needs a single true or false");
	if (!new_values(c, it, n))
		return CORE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		rules_value *v = &it->values[i];
		int rc = set_text(c, v, raw[i].s, raw[i].len);
		v->group = (uint32_t)i;
		if (rc == 0 && raw[i].type == RULES_V_NULL)
			return fail(c, "a null value cannot be used with these modifiers");
		if (rc)
			return rc;
		if (m & RULES_MOD_EXISTS) {
			v->type = RULES_V_BOOL;
			v->b = raw[i].s[0] == 't' || raw[i].s[0] == 'T';
		} else if (m & RULES_MOD_RE) {
			v->type = RULES_V_RE;
			rc = compile_re(c, raw[i].s, raw[i].len, it->re_flags);
		} else if (m & RULES_MOD_CIDR) {
			rc = parse_cidr(c, raw[i].s, raw[i].len, v);
		} else if (m & RULES_MOD_FIELDREF) {
			if (raw[i].type != RULES_V_STR || raw[i].len == 0)
				return fail(c, "'fieldref' needs a field name");
			v->type = RULES_V_FIELDREF;
		} else if (!as_number(raw[i].s, raw[i].len, v)) {
			return fail(c, "'%s' needs a number, not '%.*s'",
				    (m & RULES_MOD_TIME) && !(m & NUM_MODS) ? mods[c->order[0]].name :
				    m & RULES_MOD_LT ? "lt" : m & RULES_MOD_LTE ? "lte" : m & RULES_MOD_GT ? "gt" : "gte",
				    (int)(raw[i].len > 64 ? 64 : raw[i].len), raw[i].s);
		}
		if (rc)
			return rc;
		it->nvalues++;
	}
	return 0;
}

/* Adds the patterns of one written string value to out (expand, normalize,
 * then the transformations in the order written). */
static int string_patterns(ctx *c, const rules_item *it, const rules_raw *r, strlist *out)
{
	strlist l = {0};
	int rc = 0;
	if (it->mods & RULES_MOD_EXPAND) {
		strlist raw = {0};
		rc = expand(c, r->s, r->len, &raw);
		for (size_t i = 0; i < raw.n && rc == 0; i++)
			rc = normalize(c, raw.s[i], raw.len[i], &l);
	} else {
		rc = normalize(c, r->s, r->len, &l);
	}
	for (size_t k = 0; k < c->norder && rc == 0; k++) {
		int id = c->order[k];
		if (id == M_WINDASH || id == M_BASE64 || id == M_BASE64OFFSET || id == M_UTF16LE ||
		    id == M_UTF16BE || id == M_UTF16)
			rc = transform(c, id, &l);
	}
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = sl_add_own(c, out, l.s[i], l.len[i]);
	return rc;
}

static bool has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '*' || s[i] == '?')
			return true;
	}
	return false;
}

static int build_strings(ctx *c, rules_item *it, const rules_raw *raw, size_t n, bool from_list)
{
	strlist all = {0};
	uint32_t *groups = NULL;
	bool plain = !(it->mods & (STRING_MODS | TRANSFORM_MODS));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (raw[i].type != RULES_V_NULL)
			continue;
		if (n > 1 || from_list)
			return fail(c, "null cannot be part of a list of values");
		if (!plain)
			return fail(c, "a null value cannot be used with string or encoding modifiers");
	}
	size_t gcap = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t before = all.n;
		if (plain && raw[i].type != RULES_V_STR)
			rc = sl_add(c, &all, raw[i].s, raw[i].len);
		else
			rc = string_patterns(c, it, &raw[i], &all);
		if (rc)
			break;
		if (all.n > gcap) {
			size_t cap = gcap * 2 > all.n ? gcap * 2 : all.n + 16;
			uint32_t *ng = core_arena_alloc(c->a, cap * sizeof *ng);
			if (!ng)
				return CORE_ENOMEM;
			if (before)
				memcpy(ng, groups, before * sizeof *ng);
			groups = ng, gcap = cap;
		}
		for (size_t k = before; k < all.n; k++)
			groups[k] = (uint32_t)i;
	}
	if (rc)
		return rc;
	if (!new_values(c, it, all.n))
		return CORE_ENOMEM;
	for (size_t k = 0; k < all.n; k++) {
		rules_value *v = &it->values[k];
		const rules_raw *r = &raw[groups[k]];
		v->s = all.s[k], v->len = (uint32_t)all.len[k], v->group = groups[k];
		if (plain && r->type != RULES_V_STR) {
			v->type = r->type;
			if (r->type == RULES_V_BOOL)
				v->b = r->s[0] == 't' || r->s[0] == 'T';
			else if (r->type != RULES_V_NULL && !as_number(r->s, r->len, v))
				v->type = RULES_V_STR; /* 0x/0o forms: compare as text */
		} else {
			v->type = RULES_V_STR;
			v->flags = has_glob(v->s, v->len) ? RULES_VF_GLOB : 0;
		}
	}
	it->nvalues = (uint32_t)all.n;
	return 0;
}

static uint8_t item_op(uint32_t m)
{
	return m & RULES_MOD_EXISTS ? RULES_OP_EXISTS : m & RULES_MOD_RE ? RULES_OP_RE :
	       m & RULES_MOD_CIDR ? RULES_OP_CIDR : m & RULES_MOD_LT ? RULES_OP_LT :
	       m & RULES_MOD_LTE ? RULES_OP_LTE : m & RULES_MOD_GT ? RULES_OP_GT :
	       m & RULES_MOD_GTE ? RULES_OP_GTE : m & RULES_MOD_CONTAINS ? RULES_OP_CONTAINS :
	       m & RULES_MOD_STARTSWITH ? RULES_OP_STARTSWITH : m & RULES_MOD_ENDSWITH ? RULES_OP_ENDSWITH :
	       RULES_OP_EQ;
}

int rules_item_build(core_arena *a, const rules_options *opt, const char *key, size_t keylen,
		     const rules_raw *raw, size_t n, bool from_list, rules_item *it, char *why,
		     size_t whylen)
{
	ctx c = {.a = a, .opt = opt, .why = why, .whylen = whylen};
	const char *bar = memchr(key, '|', keylen);
	size_t fl = bar ? (size_t)(bar - key) : keylen;
	int rc;

	memset(it, 0, sizeof *it);
	if (fl) {
		it->field = core_arena_strndup(a, key, fl);
		if (!it->field)
			return CORE_ENOMEM;
	}
	if ((rc = parse_mods(&c, key, keylen, it)) != 0 || (rc = check_combination(&c, it->mods)) != 0)
		return rc;
	if (n == 0)
		return fail(&c, "'%.*s' has an empty list of values", (int)(keylen > 64 ? 64 : keylen), key);
	if ((it->mods & RULES_MOD_ALL) && n < 2)
		return fail(&c, "'all' needs a list of two or more values");
	it->op = item_op(it->mods);
	it->all = it->mods & RULES_MOD_ALL;
	it->cased = it->mods & RULES_MOD_CASED;
	it->neq = it->mods & RULES_MOD_NEQ;
	it->re_flags = (uint8_t)((it->mods & RULES_MOD_RE_I ? RULES_RE_I : 0) |
				 (it->mods & RULES_MOD_RE_M ? RULES_RE_M : 0) |
				 (it->mods & RULES_MOD_RE_S ? RULES_RE_S : 0));
	if (it->mods & (RULES_MOD_EXISTS | RULES_MOD_RE | RULES_MOD_CIDR | RULES_MOD_FIELDREF | NUM_MODS |
			RULES_MOD_TIME))
		return build_typed(&c, it, raw, n);
	return build_strings(&c, it, raw, n, from_list);
}
