/* linux_int.h: what syslog.c, linux.c, linux_net.c and linux_xml.c share
 * (private to the syslog parsers): a string view with prefix/suffix helpers,
 * an output that remembers the first error so that field setters can be
 * chained, and the two program parsers that live in their own files. */
#ifndef HISN_LINUX_INT_H
#define HISN_LINUX_INT_H

#include <string.h>

#include "parse/parse_int.h"

/* A borrowed slice of the record. */
typedef struct lx_sv {
	const char *p;
	size_t n;
} lx_sv;

/* Where fields go; rc keeps the first negative code, later calls are no-ops. */
typedef struct lx_out {
	parse_ctx *cx;
	core_event *ev;
	int rc;
} lx_out;

static inline lx_sv lx_sv_make(const char *p, size_t n)
{
	return (lx_sv){.p = p, .n = n};
}

static inline bool lx_starts(lx_sv s, const char *lit, size_t n)
{
	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* Drops the prefix lit when s starts with it. */
static inline bool lx_eat(lx_sv *s, const char *lit, size_t n)
{
	if (!lx_starts(*s, lit, n))
		return false;
	s->p += n;
	s->n -= n;
	return true;
}

/* Drops the suffix lit when s ends with it. */
static inline bool lx_chop(lx_sv *s, const char *lit, size_t n)
{
	if (s->n < n || memcmp(s->p + s->n - n, lit, n) != 0)
		return false;
	s->n -= n;
	return true;
}

static inline bool lx_eq(lx_sv s, const char *lit, size_t n)
{
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* First occurrence of lit in s, or NULL. */
static inline const char *lx_find(lx_sv s, const char *lit, size_t n)
{
	return memmem(s.p, s.n, lit, n);
}

/* Last occurrence of lit that ends at or before s.p + end, or NULL. */
static inline const char *lx_rfind(lx_sv s, size_t end, const char *lit, size_t n)
{
	if (end > s.n)
		end = s.n;
	if (n == 0)
		return NULL;
	for (size_t k = end; k >= n; k--)
		if (s.p[k - n] == lit[0] && memcmp(s.p + k - n, lit, n) == 0)
			return s.p + k - n;
	return NULL;
}

/* Splits s at the first (or last) lit: left and right of it. */
static inline bool lx_split(lx_sv s, const char *lit, size_t n, lx_sv *l, lx_sv *r, bool last)
{
	const char *k = last ? lx_rfind(s, s.n, lit, n) : lx_find(s, lit, n);

	if (!k)
		return false;
	*l = lx_sv_make(s.p, (size_t)(k - s.p));
	*r = lx_sv_make(k + n, s.n - (size_t)(k - s.p) - n);
	return true;
}

static inline lx_sv lx_trim(lx_sv s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* The string literal macros: lit must be a literal. */
#define LX_STARTS(s, lit) lx_starts((s), "" lit, sizeof(lit) - 1)
#define LX_EAT(s, lit) lx_eat((s), "" lit, sizeof(lit) - 1)
#define LX_CHOP(s, lit) lx_chop((s), "" lit, sizeof(lit) - 1)
#define LX_EQ(s, lit) lx_eq((s), "" lit, sizeof(lit) - 1)
#define LX_FIND(s, lit) lx_find((s), "" lit, sizeof(lit) - 1)
#define LX_SPLIT(s, lit, l, r) lx_split((s), "" lit, sizeof(lit) - 1, (l), (r), false)
#define LX_RSPLIT(s, lit, l, r) lx_split((s), "" lit, sizeof(lit) - 1, (l), (r), true)

/* ---- output (each is a no-op after an error; empty strings are skipped) ---- */

static inline void lx_keep(lx_out *o, int r)
{
	if (r < 0 && !o->rc)
		o->rc = r;
}

static inline void lx_str(lx_out *o, const char *path, lx_sv v)
{
	if (!o->rc && v.n)
		lx_keep(o, core_event_set_str(o->ev, path, v.p, v.n));
}

static inline void lx_cstr(lx_out *o, const char *path, const char *s)
{
	if (s)
		lx_str(o, path, lx_sv_make(s, strlen(s)));
}

static inline void lx_int(lx_out *o, const char *path, int64_t v)
{
	if (!o->rc)
		lx_keep(o, core_event_set_int(o->ev, path, v));
}

static inline void lx_true(lx_out *o, const char *path, bool v)
{
	if (!o->rc && v)
		lx_keep(o, core_event_set_bool(o->ev, path, true));
}

/* A decimal port 0..65535 as an int; anything else is skipped. */
static inline void lx_port(lx_out *o, const char *path, lx_sv v)
{
	int64_t p;

	if (v.n && v.n <= 5 && core_parse_i64(v.p, v.n, &p) == 0 && p >= 0 && p <= 65535)
		lx_int(o, path, p);
}

/* event.category, event.action and event.outcome (outcome may be NULL). */
static inline void lx_event(lx_out *o, const char *category, const char *action,
			    const char *outcome)
{
	lx_cstr(o, "event.category", category);
	lx_cstr(o, "event.action", action);
	lx_cstr(o, "event.outcome", outcome);
}

static inline bool lx_ipv4(lx_sv v)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned x = 0, d = 0;
		if (part && (i >= v.n || v.p[i++] != '.'))
			return false;
		while (i < v.n && d < 4 && core_is_digit(v.p[i])) {
			x = x * 10 + (unsigned)(v.p[i++] - '0');
			d++;
		}
		if (d == 0 || d > 3 || x > 255)
			return false;
	}
	return i == v.n;
}

/* IPv4 dotted quad, or IPv6 text (hex groups, "::", an embedded IPv4 tail,
 * an optional %zone). */
static inline bool lx_is_ip(lx_sv v)
{
	size_t colons = 0, i = 0;

	if (v.n < 2 || v.n > 64)
		return false;
	if (lx_ipv4(v))
		return true;
	for (; i < v.n && v.p[i] != '%'; i++) {
		char c = v.p[i];
		if (c == ':')
			colons++;
		else if (!core_is_digit(c) && !((c | 0x20) >= 'a' && (c | 0x20) <= 'f') && c != '.')
			return false;
	}
	return colons >= 2 && colons <= 7 && (i == v.n || i + 1 < v.n);
}

/* An address: the ip_path field when v is an IP (without its %zone), else the
 * domain_path one (when not NULL). */
static inline void lx_addr(lx_out *o, const char *ip_path, const char *domain_path, lx_sv v)
{
	if (v.n && lx_is_ip(v)) {
		const char *zone = memchr(v.p, '%', v.n); /* fe80::1%eth0: ECS ip has no zone */
		lx_str(o, ip_path, lx_sv_make(v.p, zone ? (size_t)(zone - v.p) : v.n));
	}
	else if (domain_path)
		lx_str(o, domain_path, v);
}

/* The year of "YYYY-..." is one that nanoseconds since 1970 in an int64 can
 * hold with margin (core_time_iso overflows before 1678 and after 2262). */
static inline bool lx_iso_year_ok(const char *s, size_t n)
{
	int y;

	if (n < 4 || !core_is_digit(s[0]) || !core_is_digit(s[1]) || !core_is_digit(s[2]) ||
	    !core_is_digit(s[3]))
		return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	return y >= 1900 && y <= 2200;
}

/* ---- the parsers of linux_net.c and linux_xml.c ---- */

/* Kernel netfilter LOG lines ("[UFW BLOCK] IN=eth0 OUT= ... SRC=... DST=...").
 * Returns 1 when s was one (fields added), 0 if not, or a negative code. */
int parse_linux_netfilter(parse_ctx *cx, core_event *ev, const char *s, size_t n);

/* parse_linux_sysmon_xml is declared in parse_int.h (json.c uses it too). */

#endif
