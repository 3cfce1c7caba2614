/* linux_net.c: kernel netfilter LOG lines (iptables/nftables LOG target, UFW)
 * as the kernel writes them to syslog: an optional printk time, the
 * administrator's prefix, then "IN=.. OUT=.. MAC=.. SRC=.. DST=.. ... PROTO=..
 * SPT=.. DPT=.. ... SYN URGP=0" into ECS source/destination/network fields. */
#include <string.h>

#include "parse/linux_int.h"

#define NF_FLAGS_MAX 96 /* bytes of the space-separated flag list kept */

typedef struct nf_rec {
	lx_sv prefix, in, out, mac, src, dst, proto, spt, dpt;
	char flags[NF_FLAGS_MAX];
	size_t flags_n;
} nf_rec;

/* "[ 12345.678901] " at the start of s (the kernel's own clock): skipped. */
static lx_sv nf_skip_printk(lx_sv s)
{
	size_t i = 1;
	bool dot = false;

	if (!s.n || s.p[0] != '[')
		return s;
	while (i < s.n && i < 24 && (core_is_digit(s.p[i]) || s.p[i] == ' ' || s.p[i] == '.'))
		dot |= s.p[i++] == '.';
	if (!dot || i >= s.n || s.p[i] != ']')
		return s;
	for (i++; i < s.n && s.p[i] == ' '; i++)
		;
	return lx_sv_make(s.p + i, s.n - i);
}

/* The administrator's log prefix without brackets, a trailing ':' or spaces:
 * "[UFW BLOCK] " -> "UFW BLOCK", "DROP: " -> "DROP". */
static lx_sv nf_prefix(lx_sv p)
{
	p = lx_trim(p);
	if (p.n >= 2 && p.p[0] == '[' && p.p[p.n - 1] == ']')
		p = lx_trim(lx_sv_make(p.p + 1, p.n - 2));
	while (p.n && (p.p[p.n - 1] == ':' || p.p[p.n - 1] == ' '))
		p.n--;
	return p;
}

/* The start of "IN=<if> OUT=" in s: the first "IN=" whose value is followed
 * by " OUT=" (a prefix may contain anything). */
static const char *nf_find_in(lx_sv s)
{
	lx_sv t = s;
	const char *k;

	while ((k = LX_FIND(t, "IN=")) != NULL) {
		size_t i = (size_t)(k - s.p) + 3;
		while (i < s.n && s.p[i] != ' ')
			i++;
		if (LX_STARTS(lx_sv_make(s.p + i, s.n - i), " OUT="))
			return k;
		t = lx_sv_make(k + 3, s.n - (size_t)(k - s.p) - 3);
	}
	return NULL;
}

/* A bare upper-case token (DF, SYN, ACK...) appended to the flag list. */
static void nf_flag(nf_rec *r, lx_sv tok)
{
	for (size_t i = 0; i < tok.n; i++)
		if (tok.p[i] < 'A' || tok.p[i] > 'Z')
			return;
	if (LX_EQ(tok, "OPT") || r->flags_n + tok.n + 1 > NF_FLAGS_MAX)
		return;
	if (r->flags_n)
		r->flags[r->flags_n++] = ' ';
	memcpy(r->flags + r->flags_n, tok.p, tok.n);
	r->flags_n += tok.n;
}

static void nf_kv(nf_rec *r, lx_sv key, lx_sv val)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"IN", offsetof(nf_rec, in)},     {"OUT", offsetof(nf_rec, out)},
		{"MAC", offsetof(nf_rec, mac)},   {"SRC", offsetof(nf_rec, src)},
		{"DST", offsetof(nf_rec, dst)},   {"PROTO", offsetof(nf_rec, proto)},
		{"SPT", offsetof(nf_rec, spt)},   {"DPT", offsetof(nf_rec, dpt)},
	};

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (lx_eq(key, keys[i].key, strlen(keys[i].key))) {
			lx_sv *f = (lx_sv *)((char *)r + keys[i].off);
			if (!f->p)
				*f = val;
			return;
		}
	}
}

/* The "KEY=value" and flag tokens from IN= on. The packet quoted inside an
 * ICMP error ("[SRC=... DST=... ]") is skipped. */
static void nf_tokens(nf_rec *r, lx_sv s)
{
	lx_sv tok, key, val;
	int nested = 0;

	while (s.n) {
		const char *sp = memchr(s.p, ' ', s.n);
		size_t n = sp ? (size_t)(sp - s.p) : s.n;
		tok = lx_sv_make(s.p, n);
		s = sp ? lx_sv_make(sp + 1, s.n - n - 1) : lx_sv_make(s.p + n, 0);
		if (!tok.n)
			continue;
		if (nested || tok.p[0] == '[') {
			nested = tok.p[tok.n - 1] != ']';
			continue;
		}
		const char *eq = memchr(tok.p, '=', tok.n);
		if (!eq) {
			nf_flag(r, tok);
			continue;
		}
		key = lx_sv_make(tok.p, (size_t)(eq - tok.p));
		val = lx_sv_make(eq + 1, tok.n - key.n - 1);
		nf_kv(r, key, val);
	}
}

/* network.transport in ECS spelling; numeric protocols go to iana_number. */
static void nf_transport(lx_out *o, lx_sv p)
{
	static const struct {
		const char *in, *out;
	} names[] = {{"TCP", "tcp"},   {"UDP", "udp"},   {"ICMP", "icmp"}, {"ICMPv6", "ipv6-icmp"},
		     {"SCTP", "sctp"}, {"DCCP", "dccp"}, {"UDPLITE", "udplite"}};

	if (!p.n)
		return;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (lx_eq(p, names[i].in, strlen(names[i].in))) {
			lx_cstr(o, "network.transport", names[i].out);
			return;
		}
	}
	if (core_is_digit(p.p[0])) {
		lx_str(o, "network.iana_number", p);
		return;
	}
	char low[16];
	if (p.n > sizeof low)
		return;
	for (size_t i = 0; i < p.n; i++)
		low[i] = (char)(p.p[i] >= 'A' && p.p[i] <= 'Z' ? p.p[i] | 0x20 : p.p[i]);
	if (!o->rc)
		lx_keep(o, core_event_set_strcopy(o->ev, "network.transport", low, p.n));
}

static void nf_emit(lx_out *o, const nf_rec *r)
{
	lx_event(o, "network", "netfilter_log", NULL);
	lx_str(o, "source.ip", r->src);
	lx_port(o, "source.port", r->spt);
	lx_str(o, "destination.ip", r->dst);
	lx_port(o, "destination.port", r->dpt);
	nf_transport(o, r->proto);
	lx_cstr(o, "network.type", memchr(r->src.p, ':', r->src.n) ? "ipv6" : "ipv4");
	lx_str(o, "observer.ingress.interface.name", r->in);
	lx_str(o, "observer.egress.interface.name", r->out);
	lx_str(o, "netfilter.prefix", r->prefix);
	lx_str(o, "netfilter.mac", r->mac);
	if (r->flags_n && !o->rc)
		lx_keep(o, core_event_set_strcopy(o->ev, "netfilter.flags", r->flags, r->flags_n));
}

int parse_linux_netfilter(parse_ctx *cx, core_event *ev, const char *s, size_t n)
{
	lx_out o = {.cx = cx, .ev = ev, .rc = 0};
	lx_sv m = nf_skip_printk(lx_sv_make(s, n));
	nf_rec r;
	const char *in;

	if (m.n < 12 || (in = nf_find_in(m)) == NULL)
		return 0;
	memset(&r, 0, sizeof r);
	r.prefix = nf_prefix(lx_sv_make(m.p, (size_t)(in - m.p)));
	nf_tokens(&r, lx_sv_make(in, m.n - (size_t)(in - m.p)));
	if (!lx_is_ip(r.src) || !lx_is_ip(r.dst))
		return 0;
	nf_emit(&o, &r);
	return o.rc ? o.rc : 1;
}
