/* auditd.c: Linux audit records (raw and ENRICHED log format, optionally after
 * "node=X " or a syslog header). Records sharing msg=audit(ts:serial) are
 * grouped into one event, which ends at EOE, after 64 records without news, at
 * the end of the input, when more than 32 groups are open, or at 256 records /
 * 1 MiB. Groups outlive the input buffer, so each one copies into its own arena. */
#include <string.h>

#include "parse/auditd_syscalls.h"
#include "parse/parse_int.h"

#define GROUP_MAX 32              /* open groups; the oldest is emitted beyond */
#define GROUP_IDLE 64             /* records without news that end a group */
#define GROUP_RECORDS 256         /* records per group */
#define GROUP_BYTES (1u << 20)    /* accounted bytes per group */
#define GROUP_BLOCK (16u << 10)   /* arena block of a group */
#define GROUP_ARENA (3u * GROUP_BYTES)

/* One key=value of a record, in the group's arena. */
typedef struct kv {
	struct kv *next;   /* the group's kvs in input order */
	struct kv *first;  /* the first kv with the same key (emission) */
	struct kv *same;   /* next kv with this key (emission; chained from first) */
	struct kv *tail;   /* last kv of the chain (on first) */
	const char *key, *val;
	const char *out;   /* first value as copied into the event (on first) */
	uint32_t klen, vlen;
	uint16_t rec;      /* index of the record in the group */
	uint8_t null;      /* the value was (null) */
	uint8_t piece;     /* EXECVE aN[i]: 1 first piece, 2 continuation */
	uint8_t differ;    /* the key has different values (on first) */
	uint8_t skip;      /* merged into an earlier piece */
} kv;

typedef struct rinfo {
	const char *raw, *type;
	uint32_t rawlen, tlen;
} rinfo;

typedef struct group {
	core_arena *arena;  /* kept across groups, reset after emission */
	bool open, truncated;
	uint64_t serial, seq, last, offset;
	int64_t ts;
	const char *ts_text;
	uint32_t ts_len, nrec;
	rinfo *recs;
	kv *head, *tail;
	size_t bytes;       /* accounted bytes, bounded by GROUP_BYTES */
} group;

typedef struct state {
	group g[GROUP_MAX];
	uint64_t count;     /* valid records seen */
	uint64_t seq;       /* group opening order */
} state;

/* The parsed header of one record (offsets into the record). */
typedef struct hdr {
	size_t type, type_len, node, node_len, ts, ts_len, body;
	uint64_t serial;
	int64_t ns;
} hdr;

/* One token of a record body. */
typedef struct tok {
	const char *k, *v;
	size_t kl, vl;
	char quote;         /* 0, '"', '\'' or '{' */
} tok;

typedef int (*tok_fn)(void *ud, const tok *t);

/* ---- header ----------------------------------------------------------------- */

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == 0x1d;
}

static bool starts(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n >= l && memcmp(s, lit, l) == 0;
}

static bool type_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || core_is_digit(c) || c == '_' ||
	       c == '[' || c == ']';
}

/* Offset of "type=" at r[from..n) at the start of r or after a space, or n. */
static size_t find_type(const char *r, size_t n, size_t from)
{
	for (size_t i = from; i + 5 <= n; i++) {
		const char *p = memchr(r + i, 't', n - i);
		if (!p)
			break;
		i = (size_t)(p - r);
		if ((i == 0 || r[i - 1] == ' ') && starts(p, n - i, "type="))
			return i;
	}
	return n;
}

/* "type=WORD msg=audit(" (or "audit(") at t: the offset after "audit(", or 0. */
static size_t type_and_msg(const char *r, size_t n, size_t t, hdr *h)
{
	size_t i = t + 5;

	while (i < n && type_char(r[i]))
		i++;
	if (i == t + 5 || i >= n || r[i] != ' ')
		return 0;
	h->type = t + 5;
	h->type_len = i - h->type;
	while (i < n && r[i] == ' ')
		i++;
	if (starts(r + i, n - i, "msg=audit("))
		return i + 10;
	if (starts(r + i, n - i, "audit("))
		return i + 6;
	return 0;
}

/* "TS:SERIAL)" at r[i..n): fills h; returns 0 or an error. */
static int parse_stamp(const char *r, size_t n, size_t i, hdr *h, core_err *e)
{
	size_t s = i;

	while (i < n && (core_is_digit(r[i]) || r[i] == '.'))
		i++;
	size_t used = 0;
	if (i == s || i >= n || r[i] != ':' || core_time_epoch(r + s, i - s, &h->ns, &used) ||
	    used != i - s)
		return core_err_set(e, CORE_EPARSE, s, "expected an audit timestamp (seconds.millis:serial)");
	h->ts = s;
	h->ts_len = i - s;
	s = ++i;
	while (i < n && core_is_digit(r[i]))
		i++;
	if (i == s || i >= n || r[i] != ')' || core_parse_u64(r + s, i - s, &h->serial) ||
	    h->serial > INT64_MAX)
		return core_err_set(e, CORE_EPARSE, s, "expected an audit serial number and ')'");
	i++;
	if (i < n && r[i] == ':')
		i++;
	h->body = i;
	return 0;
}

static int parse_header(const char *r, size_t n, hdr *h, core_err *e)
{
	size_t t = n, i = 0, first = n;

	memset(h, 0, sizeof *h);
	for (size_t from = 0; i == 0; from = t + 5) { /* the first "type=X msg=audit(" */
		t = find_type(r, n, from);
		if (t == n && first == n)
			return core_err_set(e, CORE_EPARSE, 0, "expected an audit record (type=... msg=audit(...))");
		if (t == n)
			return core_err_set(e, CORE_EPARSE, first + 5,
					    "expected a record type and 'msg=audit(' after 'type='");
		if (first == n)
			first = t;
		i = type_and_msg(r, n, t, h);
	}
	if (t >= 2) { /* "node=X " right before type= */
		size_t s = t - 1;
		while (s > 0 && r[s - 1] != ' ')
			s--;
		if (starts(r + s, t - 1 - s, "node=")) {
			h->node = s + 5;
			h->node_len = t - 1 - h->node;
		}
	}
	return parse_stamp(r, n, i, h, e);
}

/* ---- body tokens ---------------------------------------------------------------- */

static int scan_value(const char *r, size_t *ip, size_t end, tok *t, core_err *e)
{
	size_t i = *ip;

	if (i < end && (r[i] == '"' || r[i] == '\'')) {
		char q = r[i];
		const char *c = memchr(r + i + 1, q, end - i - 1);
		if (!c)
			return core_err_set(e, CORE_EPARSE, i, "unterminated %s quote in the value of '%.*s'",
					    q == '"' ? "double" : "single", (int)(t->kl > 40 ? 40 : t->kl), t->k);
		t->quote = q;
		t->v = r + i + 1;
		t->vl = (size_t)(c - t->v);
		*ip = (size_t)(c - r) + 1;
		return 0;
	}
	if (i < end && r[i] == '{') { /* ENRICHED SADDR={ saddr_fam=inet ... } */
		const char *c = memchr(r + i, '}', end - i);
		if (c) {
			t->quote = '{';
			t->v = r + i;
			t->vl = (size_t)(c - t->v) + 1;
			*ip = (size_t)(c - r) + 1;
			return 0;
		}
	}
	size_t s = i;
	while (i < end && !is_sep(r[i]))
		i++;
	t->v = r + s;
	t->vl = i - s;
	*ip = i;
	return 0;
}

/* SELinux "avc:  denied  { read write } for ..." at r[*ip]: two tokens. */
static int scan_avc(const char *r, size_t *ip, size_t end, tok_fn fn, void *ud)
{
	size_t i = *ip + 4;

	while (i < end && r[i] == ' ')
		i++;
	size_t w = i;
	while (i < end && r[i] != ' ')
		i++;
	if (!((i - w == 6 && memcmp(r + w, "denied", 6) == 0) ||
	      (i - w == 7 && memcmp(r + w, "granted", 7) == 0)))
		return 0;
	tok t = {.k = "seresult", .kl = 8, .v = r + w, .vl = i - w};
	int rc = fn(ud, &t);
	while (rc == 0 && i < end && r[i] == ' ')
		i++;
	if (rc || i >= end || r[i] != '{')
		return rc;
	const char *c = memchr(r + i, '}', end - i);
	if (!c)
		return 0;
	size_t s = i + 1, z = (size_t)(c - r);
	while (s < z && r[s] == ' ')
		s++;
	while (z > s && r[z - 1] == ' ')
		z--;
	t = (tok){.k = "seperms", .kl = 7, .v = r + s, .vl = z - s};
	*ip = (size_t)(c - r) + 1;
	return fn(ud, &t);
}

/* Calls fn for each key=value in r[i..end); words without '=' are skipped. The
 * single-quoted msg='...' of user-space records is reported and then split. */
static int scan_body(const char *r, size_t i, size_t end, bool inner, tok_fn fn, void *ud,
		     core_err *e)
{
	while (i < end && r[i] == ' ')
		i++;
	if (starts(r + i, end - i, "avc:")) {
		int rc = scan_avc(r, &i, end, fn, ud);
		if (rc)
			return rc;
	}
	while (i < end) {
		while (i < end && is_sep(r[i]))
			i++;
		size_t ks = i;
		while (i < end && !is_sep(r[i]) && r[i] != '=')
			i++;
		if (i >= end || r[i] != '=' || i == ks) {
			while (i < end && !is_sep(r[i]))
				i++;
			continue;
		}
		tok t = {.k = r + ks, .kl = i - ks};
		i++;
		int rc = scan_value(r, &i, end, &t, e);
		if (rc == 0)
			rc = fn(ud, &t);
		if (rc == 0 && t.quote == '\'' && !inner) {
			size_t s = (size_t)(t.v - r);
			rc = scan_body(r, s, s + t.vl, true, fn, ud, e);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- values ------------------------------------------------------------------------ */

static bool key_is(const tok *t, const char *lit)
{
	size_t l = strlen(lit);
	return t->kl == l && memcmp(t->k, lit, l) == 0;
}

/* "aN" (piece < 0) or "aN[M]" (*prefix = length of "aN"). */
static bool execve_arg(const char *k, size_t kl, size_t *prefix, bool *piece)
{
	size_t i = 1;

	if (kl < 2 || k[0] != 'a' || !core_is_digit(k[1]))
		return false;
	while (i < kl && core_is_digit(k[i]))
		i++;
	*prefix = i;
	*piece = false;
	if (i == kl)
		return true;
	if (k[i] != '[' || k[kl - 1] != ']' || kl - i < 3)
		return false;
	for (size_t j = i + 1; j < kl - 1; j++)
		if (!core_is_digit(k[j]))
			return false;
	*piece = true;
	return true;
}

/* Fields audit writes hex-encoded when they hold spaces, quotes or control bytes. */
static bool encoded_key(const tok *t, bool execve)
{
	static const char *const names[] = {"proctitle", "name", "cwd", "exe", "comm", "path",
					    "data", "key", "ocomm", "acct", "cmd", "watch", "dir"};
	size_t p;
	bool piece;

	if (execve && execve_arg(t->k, t->kl, &p, &piece))
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (key_is(t, names[i]))
			return true;
	return false;
}

static int hexval(char c)
{
	if (core_is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_hex(const char *s, size_t n)
{
	if (n < 2 || n % 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/* ---- measuring a record ------------------------------------------------------------ */

typedef struct measure {
	size_t nkv, bytes;
} measure;

/* Values are kept in the copy of the record; only hex values take more room
 * (decoded: half their length, and as much again if EXECVE pieces are joined). */
static int measure_tok(void *ud, const tok *t)
{
	measure *m = ud;
	m->nkv++;
	if (t->quote == 0 && is_hex(t->v, t->vl))
		m->bytes += t->vl;
	return 0;
}

/* Bytes a record will take in a group, or an error when it is malformed. */
static int record_need(const char *r, size_t n, const hdr *h, size_t *need, core_err *e)
{
	measure m = {0};
	int rc = scan_body(r, h->body, n, false, measure_tok, &m, e);

	if (rc)
		return rc;
	*need = n + 64 + (m.nkv + 2) * (sizeof(kv) + 4 * sizeof(kv *)) + m.bytes;
	return 0;
}

/* ---- groups -------------------------------------------------------------------------- */

typedef struct adder {
	group *g;
	bool execve;
	uint16_t rec;
	int rc;
} adder;

/* Decodes hex value t into the group arena: proctitle NULs become spaces. */
static const char *decode_hex(core_arena *a, const tok *t, size_t *len)
{
	size_t n = t->vl / 2;
	char *d = core_arena_alloc(a, n + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = (char)(hexval(t->v[2 * i]) << 4 | hexval(t->v[2 * i + 1]));
	if (key_is(t, "proctitle")) {
		while (n && d[n - 1] == '\0')
			n--;
		for (size_t i = 0; i < n; i++)
			if (d[i] == '\0')
				d[i] = ' ';
	}
	d[n] = '\0';
	*len = n;
	return d;
}

static int add_tok(void *ud, const tok *t)
{
	adder *ad = ud;
	group *g = ad->g;
	kv *k = core_arena_alloc(g->arena, sizeof *k);

	if (!k)
		return ad->rc = CORE_ENOMEM;
	*k = (kv){.key = t->k, .klen = (uint32_t)t->kl, .val = t->v, .vlen = (uint32_t)t->vl,
		  .rec = ad->rec};
	size_t prefix;
	bool piece;
	if (ad->execve && execve_arg(t->k, t->kl, &prefix, &piece) && piece) {
		k->klen = (uint32_t)prefix; /* aN[M] pieces join into aN */
		kv *p = g->tail;
		bool cont = p && p->piece && p->rec == k->rec && p->klen == prefix &&
			    memcmp(p->key, k->key, prefix) == 0;
		k->piece = cont ? 2 : 1;
	}
	if (t->quote == 0 && t->vl == 6 && memcmp(t->v, "(null)", 6) == 0) {
		k->null = 1;
		k->vlen = 0;
	} else if (t->quote == 0 && encoded_key(t, ad->execve) && is_hex(t->v, t->vl)) {
		size_t len;
		k->val = decode_hex(g->arena, t, &len);
		if (!k->val)
			return ad->rc = CORE_ENOMEM;
		k->vlen = (uint32_t)len;
	}
	if (g->tail)
		g->tail->next = k;
	else
		g->head = k;
	g->tail = k;
	return 0;
}

static void group_reset(group *g)
{
	core_arena *a = g->arena;

	if (a)
		core_arena_reset(a);
	memset(g, 0, sizeof *g);
	g->arena = a;
}

static int group_open(group *g, state *st, const hdr *h, const char *r, uint64_t off)
{
	if (!g->arena) {
		g->arena = core_arena_new(GROUP_BLOCK, GROUP_ARENA);
		if (!g->arena)
			return CORE_ENOMEM;
	}
	g->recs = core_arena_alloc(g->arena, GROUP_RECORDS * sizeof *g->recs);
	g->ts_text = core_arena_strndup(g->arena, r + h->ts, h->ts_len);
	if (!g->recs || !g->ts_text)
		return CORE_ENOMEM;
	g->open = true;
	g->serial = h->serial;
	g->ts = h->ns;
	g->ts_len = (uint32_t)h->ts_len;
	g->offset = off;
	g->seq = ++st->seq;
	g->bytes = GROUP_RECORDS * sizeof *g->recs + h->ts_len;
	return 0;
}

/* Copies the record into the group and adds its key=values. */
static int group_add(group *g, const char *rec, size_t n, const hdr *h, size_t need, uint64_t count)
{
	char *r = core_arena_strndup(g->arena, rec, n);

	if (!r)
		return CORE_ENOMEM;
	uint16_t idx = (uint16_t)g->nrec;
	g->recs[g->nrec++] = (rinfo){.raw = r, .rawlen = (uint32_t)n, .type = r + h->type,
				     .tlen = (uint32_t)h->type_len};
	g->bytes += need;
	g->last = count;
	adder ad = {.g = g, .rec = idx,
		    .execve = h->type_len == 6 && memcmp(r + h->type, "EXECVE", 6) == 0};
	if (h->node_len) {
		tok t = {.k = r + h->node - 5, .kl = 4, .v = r + h->node, .vl = h->node_len};
		add_tok(&ad, &t);
	}
	if (ad.rc == 0) {
		core_err e;
		scan_body(r, h->body, n, false, add_tok, &ad, &e);
	}
	return ad.rc;
}

/* ---- emission --------------------------------------------------------------------------- */

static uint32_t hash_key(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static bool same_key(const kv *a, const char *k, size_t kl)
{
	return a->klen == kl && memcmp(a->key, k, kl) == 0;
}

/* Joins runs of EXECVE aN[i] pieces into their first piece. */
static int join_pieces(group *g)
{
	for (kv *k = g->head; k; k = k->next) {
		if (k->piece != 1 || !k->next || k->next->piece != 2)
			continue;
		size_t len = 0;
		kv *e = k;
		for (; e && (e == k || e->piece == 2); e = e->next)
			len += e->vlen;
		char *d = core_arena_alloc(g->arena, len + 1);
		if (!d || len > UINT32_MAX)
			return CORE_ENOMEM;
		size_t o = 0;
		for (kv *p = k; p != e; p = p->next) {
			if (p->vlen)
				memcpy(d + o, p->val, p->vlen);
			o += p->vlen;
			p->skip = p != k;
		}
		k->val = d;
		k->vlen = (uint32_t)len;
		k->null = 0;
	}
	return 0;
}

/* Links each kv to the first kv of its key; returns the table or NULL. */
static kv **link_keys(group *g, uint32_t *mask)
{
	uint32_t n = 0, cap = 16;

	for (kv *k = g->head; k; k = k->next)
		n++;
	while (cap < 2 * n)
		cap *= 2;
	kv **tab = core_arena_alloc(g->arena, cap * sizeof *tab);
	if (!tab)
		return NULL;
	memset(tab, 0, cap * sizeof *tab);
	*mask = cap - 1;
	for (kv *k = g->head; k; k = k->next) {
		if (k->skip)
			continue;
		uint32_t s = hash_key(k->key, k->klen) & *mask;
		while (tab[s] && !same_key(tab[s], k->key, k->klen))
			s = (s + 1) & *mask;
		kv *f = tab[s];
		if (!f) {
			tab[s] = k;
			k->first = k->tail = k;
			continue;
		}
		k->first = f;
		f->tail->same = k;
		f->tail = k;
		if (k->null != f->null || k->vlen != f->vlen || memcmp(k->val, f->val, k->vlen) != 0)
			f->differ = 1;
	}
	return tab;
}

static const kv *lookup(kv **tab, uint32_t mask, const char *key)
{
	size_t kl = strlen(key);
	for (uint32_t s = hash_key(key, kl) & mask; tab[s]; s = (s + 1) & mask)
		if (same_key(tab[s], key, kl))
			return tab[s];
	return NULL;
}

/* The first value of key as copied into the event, or NULL. */
static const kv *value_of(kv **tab, uint32_t mask, const char *key)
{
	const kv *k = lookup(tab, mask, key);
	return k && !k->null && k->out ? k : NULL;
}

static int add_value(core_event *ev, uint32_t parent, const char *key, size_t kl, kv *k)
{
	if (k->null)
		return core_event_add_null(ev, parent, key, kl);
	int i = core_event_add_strcopy(ev, parent, key, kl, k->val, k->vlen);
	if (i >= 0 && !k->first->out)
		k->first->out = ev->f[i].u.s;
	return i;
}

/* SYSCALL from the arch and syscall numbers when ENRICHED did not give it. */
static int add_syscall_name(core_event *ev, const kv *k, kv **tab, uint32_t mask)
{
	const kv *arch = lookup(tab, mask, "arch");
	uint64_t a = 0, nr;

	if (lookup(tab, mask, "SYSCALL") || !arch || arch->null || arch->vlen > 8 || k->null ||
	    core_parse_u64(k->val, k->vlen, &nr))
		return 0;
	for (uint32_t i = 0; i < arch->vlen; i++) {
		int d = hexval(arch->val[i] >= 'a' ? (char)(arch->val[i] - 32) : arch->val[i]);
		if (d < 0)
			return 0;
		a = a << 4 | (uint64_t)d;
	}
	const char *name = auditd_syscall_name((uint32_t)a, nr);
	return name ? core_event_add_str(ev, CORE_NO_PARENT, "SYSCALL", 7, name, strlen(name)) : 0;
}

/* Every key=value at the top level; repeated keys with differing values
 * become arrays of all their values in order. */
static int emit_kvs(core_event *ev, group *g, kv **tab, uint32_t mask)
{
	for (kv *k = g->head; k; k = k->next) {
		if (k->skip || k->first != k || same_key(k, "type", 4))
			continue;
		char *key = core_arena_strndup(ev->arena, k->key, k->klen);
		if (!key)
			return CORE_ENOMEM;
		int rc;
		if (!k->differ) {
			rc = add_value(ev, CORE_NO_PARENT, key, k->klen, k);
		} else {
			rc = core_event_add_array(ev, CORE_NO_PARENT, key, k->klen);
			for (kv *s = k; s && rc >= 0; s = s->same) {
				int e = add_value(ev, (uint32_t)rc, NULL, 0, s);
				if (e < 0)
					rc = e;
			}
		}
		if (rc >= 0 && same_key(k, "syscall", 7))
			rc = add_syscall_name(ev, k, tab, mask);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int emit_types(core_event *ev, const group *g)
{
	int arr = core_event_add_array(ev, CORE_NO_PARENT, "type", 4);

	for (uint32_t i = 0; i < g->nrec && arr >= 0; i++) {
		int rc = core_event_add_strcopy(ev, (uint32_t)arr, NULL, 0, g->recs[i].type,
						g->recs[i].tlen);
		if (rc < 0)
			return rc;
	}
	return arr < 0 ? arr : 0;
}

/* Sets path to the first value of key (a string). */
static int set_from(core_event *ev, const char *path, kv **tab, uint32_t mask, const char *key)
{
	const kv *k = value_of(tab, mask, key);
	int rc = k ? core_event_set_str(ev, path, k->out, k->vlen) : 0;
	return rc < 0 ? rc : 0;
}

static int set_int_from(core_event *ev, const char *path, kv **tab, uint32_t mask, const char *key)
{
	const kv *k = value_of(tab, mask, key);
	int64_t v;
	int rc = 0;

	if (k && core_parse_i64(k->val, k->vlen, &v) == 0)
		rc = core_event_set_int(ev, path, v);
	return rc < 0 ? rc : 0;
}

/* process.command_line: the EXECVE arguments joined by spaces, else proctitle. */
static int set_command_line(core_event *ev, group *g, kv **tab, uint32_t mask)
{
	uint32_t rec = UINT32_MAX;
	size_t len = 0, nargs = 0, p;
	bool piece;

	for (uint32_t i = 0; i < g->nrec && rec == UINT32_MAX; i++)
		if (g->recs[i].tlen == 6 && memcmp(g->recs[i].type, "EXECVE", 6) == 0)
			rec = i;
	for (kv *k = g->head; k && rec != UINT32_MAX; k = k->next)
		if (k->rec == rec && !k->skip && !k->null && execve_arg(k->key, k->klen, &p, &piece)) {
			len += k->vlen + 1;
			nargs++;
		}
	if (!nargs)
		return set_from(ev, "process.command_line", tab, mask, "proctitle");
	char *d = core_arena_alloc(ev->arena, len);
	if (!d)
		return CORE_ENOMEM;
	size_t o = 0;
	for (kv *k = g->head; k; k = k->next)
		if (k->rec == rec && !k->skip && !k->null && execve_arg(k->key, k->klen, &p, &piece)) {
			if (o)
				d[o++] = ' ';
			memcpy(d + o, k->val, k->vlen);
			o += k->vlen;
		}
	int rc = core_event_set_str(ev, "process.command_line", d, o);
	return rc < 0 ? rc : 0;
}

static int set_outcome(core_event *ev, kv **tab, uint32_t mask)
{
	const kv *k = value_of(tab, mask, "success");
	const char *o = NULL;

	if (!k)
		k = value_of(tab, mask, "res");
	if (!k)
		return 0;
	if ((k->vlen == 3 && memcmp(k->val, "yes", 3) == 0) ||
	    (k->vlen == 7 && memcmp(k->val, "success", 7) == 0) || (k->vlen == 1 && k->val[0] == '1'))
		o = "success";
	else if ((k->vlen == 2 && memcmp(k->val, "no", 2) == 0) ||
		 (k->vlen == 6 && memcmp(k->val, "failed", 6) == 0) ||
		 (k->vlen == 4 && memcmp(k->val, "fail", 4) == 0) || (k->vlen == 1 && k->val[0] == '0'))
		o = "failure";
	int rc = o ? core_event_set_str(ev, "event.outcome", o, strlen(o)) : 0;
	return rc < 0 ? rc : 0;
}

/* tags: the audit key(s); several keys are separated by 0x01. */
static int set_tags(core_event *ev, kv **tab, uint32_t mask)
{
	const kv *k = value_of(tab, mask, "key");

	if (!k || !k->vlen)
		return 0;
	int arr = core_event_add_array(ev, CORE_NO_PARENT, "tags", 4);
	for (size_t i = 0; i < k->vlen && arr >= 0;) {
		const char *sep = memchr(k->out + i, 0x01, k->vlen - i);
		size_t e = sep ? (size_t)(sep - k->out) : k->vlen;
		if (e > i) {
			int rc = core_event_add_str(ev, (uint32_t)arr, NULL, 0, k->out + i, e - i);
			if (rc < 0)
				return rc;
		}
		i = e + 1;
	}
	return arr < 0 ? arr : 0;
}

static int emit_ecs(core_event *ev, group *g, kv **tab, uint32_t mask)
{
	int rc = core_event_set_int(ev, "auditd.serial", (int64_t)g->serial);
	if (rc >= 0)
		rc = core_event_set_int(ev, "auditd.records", g->nrec);
	if (rc >= 0 && g->truncated)
		rc = core_event_set_bool(ev, "auditd.truncated", true);
	if (rc >= 0)
		rc = set_int_from(ev, "process.pid", tab, mask, "pid");
	if (rc >= 0)
		rc = set_int_from(ev, "process.parent.pid", tab, mask, "ppid");
	if (rc >= 0)
		rc = set_from(ev, "process.executable", tab, mask, "exe");
	if (rc >= 0)
		rc = set_from(ev, "process.name", tab, mask, "comm");
	if (rc >= 0)
		rc = set_command_line(ev, g, tab, mask);
	if (rc >= 0)
		rc = set_from(ev, "process.working_directory", tab, mask, "cwd");
	if (rc >= 0)
		rc = set_from(ev, "user.id", tab, mask, "uid");
	if (rc >= 0)
		rc = set_from(ev, "user.name", tab, mask, value_of(tab, mask, "acct") ? "acct" : "UID");
	if (rc >= 0)
		rc = set_from(ev, "user.effective.id", tab, mask, "euid");
	if (rc >= 0)
		rc = set_from(ev, "user.audit.id", tab, mask, "auid");
	if (rc >= 0)
		rc = set_from(ev, "user.audit.name", tab, mask, "AUID");
	if (rc >= 0)
		rc = set_outcome(ev, tab, mask);
	if (rc >= 0 && g->nrec) {
		char *a = core_arena_strndup(ev->arena, g->recs[0].type, g->recs[0].tlen);
		rc = a ? 0 : CORE_ENOMEM;
		for (size_t i = 0; a && a[i]; i++)
			if (a[i] >= 'A' && a[i] <= 'Z')
				a[i] = (char)(a[i] + 32);
		if (a)
			rc = core_event_set_str(ev, "event.action", a, g->recs[0].tlen);
	}
	if (rc >= 0)
		rc = set_from(ev, "host.name", tab, mask, "node");
	const kv *addr = value_of(tab, mask, "addr");
	if (rc >= 0 && addr && !(addr->vlen == 1 && addr->val[0] == '?'))
		rc = core_event_set_str(ev, "source.ip", addr->out, addr->vlen);
	if (rc >= 0)
		rc = set_tags(ev, tab, mask);
	return rc < 0 ? rc : 0;
}

/* The timestamp and, with keep_raw, the records joined by newlines. */
static int emit_meta(parse_ctx *cx, core_event *ev, const group *g)
{
	ev->offset = g->offset;
	ev->ts = g->ts;
	ev->ts_orig = core_arena_strndup(ev->arena, g->ts_text, g->ts_len);
	ev->ts_orig_len = g->ts_len;
	if (!ev->ts_orig)
		return CORE_ENOMEM;
	if (!cx->keep_raw)
		return 0;
	size_t len = 0;
	for (uint32_t i = 0; i < g->nrec; i++)
		len += g->recs[i].rawlen + 1;
	char *d = core_arena_alloc(ev->arena, len + 1);
	if (!d)
		return CORE_ENOMEM;
	size_t o = 0;
	for (uint32_t i = 0; i < g->nrec; i++) {
		if (i)
			d[o++] = '\n';
		memcpy(d + o, g->recs[i].raw, g->recs[i].rawlen);
		o += g->recs[i].rawlen;
	}
	ev->raw = d;
	ev->raw_len = o;
	return 0;
}

/* Adds the group's event to the batch and closes the group. */
static int group_emit(parse_ctx *cx, group *g)
{
	uint32_t mask = 0;
	kv **tab = NULL;
	core_event *ev = NULL;
	int rc = join_pieces(g);

	if (rc == 0) {
		tab = link_keys(g, &mask);
		rc = tab ? 0 : CORE_ENOMEM;
	}
	if (rc == 0) {
		ev = parse_ctx_event(cx, NULL, 0);
		rc = ev ? 0 : CORE_ENOMEM;
	}
	if (rc == 0)
		rc = emit_meta(cx, ev, g);
	if (rc == 0)
		rc = emit_types(ev, g);
	if (rc == 0)
		rc = emit_kvs(ev, g, tab, mask);
	if (rc == 0)
		rc = emit_ecs(ev, g, tab, mask);
	if (rc && ev)
		parse_ctx_drop(cx);
	if (rc)
		core_err_set(&cx->err, rc, 0, "audit event %llu (%u records) could not be built: %s",
			     (unsigned long long)g->serial, g->nrec, core_strerror(rc));
	group_reset(g);
	return rc;
}

/* ---- the format ------------------------------------------------------------------------- */

/* Emits groups idle for GROUP_IDLE records, oldest first. */
static int expire(parse_ctx *cx, state *st)
{
	int rc = 0;

	for (;;) {
		group *old = NULL;
		for (int i = 0; i < GROUP_MAX; i++) {
			group *g = &st->g[i];
			if (g->open && st->count - g->last >= GROUP_IDLE && (!old || g->seq < old->seq))
				old = g;
		}
		if (!old)
			return rc;
		int e = group_emit(cx, old);
		if (rc == 0)
			rc = e;
	}
}

/* Records of user-space programs and daemons make one-record events. */
static bool standalone(const char *t, size_t n)
{
	static const char *const pre[] = {"USER_", "CRED_", "DAEMON_", "SERVICE_", "SYSTEM_",
					  "ANOM_LOGIN_", "ACCT_", "ADD_", "DEL_", "GRP_", "AUOMS_"};
	for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
		if (starts(t, n, pre[i]))
			return true;
	return false;
}

/* The open group of the record's serial and time, or a free slot (the oldest
 * group is emitted when all are taken). *found tells which. */
static group *group_slot(parse_ctx *cx, state *st, const hdr *h, bool *found, int *rc)
{
	group *free_g = NULL, *old = NULL;

	*found = false;
	for (int i = 0; i < GROUP_MAX; i++) {
		group *g = &st->g[i];
		if (g->open && g->serial == h->serial && g->ts == h->ns) {
			*found = true;
			return g;
		}
		if (!g->open && !free_g)
			free_g = g;
		if (g->open && (!old || g->seq < old->seq))
			old = g;
	}
	if (free_g)
		return free_g;
	*rc = group_emit(cx, old);
	return old;
}

static int add_record(parse_ctx *cx, state *st, const char *rec, size_t n, const hdr *h,
		      size_t need)
{
	bool found;
	int rc = 0, e = 0;
	group *g = group_slot(cx, st, h, &found, &rc);

	if (found && (g->nrec >= GROUP_RECORDS || g->bytes + need > GROUP_BYTES)) {
		g->truncated = true;
		rc = group_emit(cx, g);
		found = false;
	}
	if (!found)
		e = group_open(g, st, h, rec, cx->rec_offset);
	if (e == 0)
		e = group_add(g, rec, n, h, need, st->count);
	if (e == 0 && g->nrec == 1 && standalone(rec + h->type, h->type_len))
		e = group_emit(cx, g);
	if (e) {
		core_err_set(&cx->err, e, 0, "audit record could not be kept: %s", core_strerror(e));
		group_reset(g);
	}
	return rc ? rc : e;
}

static int auditd_parse(parse_ctx *cx, const char *rec, size_t n)
{
	state *st = cx->state;
	hdr h;
	size_t need = 0;
	int rc = parse_header(rec, n, &h, &cx->err);

	if (rc == 0)
		rc = record_need(rec, n, &h, &need, &cx->err);
	if (rc == 0 && need > GROUP_BYTES)
		rc = core_err_set(&cx->err, CORE_ETOOBIG, 0, "audit record too large to group (%zu bytes)", n);
	if (rc)
		return rc;
	st->count++;
	if (h.type_len == 3 && memcmp(rec + h.type, "EOE", 3) == 0) {
		for (int i = 0; i < GROUP_MAX; i++)
			if (st->g[i].open && st->g[i].serial == h.serial && st->g[i].ts == h.ns)
				rc = group_emit(cx, &st->g[i]);
	} else {
		rc = add_record(cx, st, rec, n, &h, need);
	}
	int e = expire(cx, st);
	return rc ? rc : e;
}

static int auditd_flush(parse_ctx *cx, bool final)
{
	state *st = cx->state;
	int rc = 0;

	while (final) {
		group *old = NULL;
		for (int i = 0; i < GROUP_MAX; i++)
			if (st->g[i].open && (!old || st->g[i].seq < old->seq))
				old = &st->g[i];
		if (!old)
			break;
		int e = group_emit(cx, old);
		if (rc == 0)
			rc = e;
	}
	return rc;
}

static void auditd_free(void *p)
{
	state *st = p;
	for (int i = 0; i < GROUP_MAX; i++)
		core_arena_free(st->g[i].arena);
}

/* 95 for "type=WORD msg=audit(" at the start or after "node=X ", 93 after
 * some other prefix (a syslog header). */
static int auditd_probe(const char *rec, size_t n)
{
	hdr h;
	core_err e;

	if (parse_header(rec, n, &h, &e) != 0)
		return 0;
	size_t start = h.node_len ? h.node - 5 : h.type - 5;
	return start == 0 ? 95 : 93;
}

const parse_format parse_fmt_auditd = {
	.name = "auditd",
	.summary = "Linux audit records (raw or ENRICHED), grouped into events by serial",
	.framing = PARSE_FRAME_LINE,
	.probe = auditd_probe,
	.parse = auditd_parse,
	.flush = auditd_flush,
	.state_size = sizeof(state),
	.state_free = auditd_free,
};
