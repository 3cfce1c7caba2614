/* linux_xml.c: Sysmon for Linux events, which Sysmon writes to syslog as one
 * XML document per message. A small bounded XML scanner (elements, attributes,
 * text, the five predefined entities and numeric character references; no DTD,
 * no CDATA) collects System/EventID, Channel, Computer, Provider Name,
 * TimeCreated and every EventData/Data Name=... value, which become the flat
 * Sigma fields of the event. */
#include <string.h>

#include "parse/linux_int.h"

#define SX_MAX_DEPTH 16
#define SX_MAX_DATA 256 /* Data elements kept per event; more are ignored */

enum sx_kind { SX_EOF, SX_START, SX_END, SX_TEXT, SX_ERR };

typedef struct sx_tok {
	enum sx_kind kind;
	lx_sv name;  /* START, END */
	lx_sv attrs; /* START: the text between the name and '>' or "/>" */
	lx_sv text;  /* TEXT: raw, entities not decoded */
	bool empty;  /* START of an empty element ("<a/>") */
} sx_tok;

typedef struct sx_item {
	lx_sv key, val;
} sx_item;

typedef struct sx_doc {
	lx_sv event_id, channel, computer, provider, time;
	sx_item data[SX_MAX_DATA];
	size_t nd;
} sx_doc;

/* Index of the first occurrence of lit in s at or after i, or s.n. */
static size_t sx_find(lx_sv s, size_t i, const char *lit, size_t n)
{
	const char *k = i < s.n ? memmem(s.p + i, s.n - i, lit, n) : NULL;

	return k ? (size_t)(k - s.p) : s.n;
}

static bool sx_name_end(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>';
}

/* A start tag at s.p[i] == '<' (not "</", "<?" or "<!"). */
static int sx_start(lx_sv s, size_t *pos, sx_tok *t)
{
	size_t i = *pos + 1, j = i;
	char q = 0;

	while (j < s.n && !sx_name_end(s.p[j]))
		j++;
	if (j == i)
		return t->kind = SX_ERR;
	t->name = lx_sv_make(s.p + i, j - i);
	for (i = j; j < s.n; j++) {
		if (q) {
			if (s.p[j] == q)
				q = 0;
		} else if (s.p[j] == '"' || s.p[j] == '\'') {
			q = s.p[j];
		} else if (s.p[j] == '>') {
			break;
		}
	}
	if (j >= s.n)
		return t->kind = SX_ERR;
	t->empty = j > i && s.p[j - 1] == '/';
	t->attrs = lx_sv_make(s.p + i, j - i - (t->empty ? 1 : 0));
	*pos = j + 1;
	return t->kind = SX_START;
}

/* The next token from s.p[*pos]; comments, "<?...?>" and "<!...>" are skipped. */
static int sx_next(lx_sv s, size_t *pos, sx_tok *t)
{
	size_t i = *pos;

	memset(t, 0, sizeof *t);
	while (i < s.n && s.p[i] == '<' && i + 1 < s.n && (s.p[i + 1] == '?' || s.p[i + 1] == '!')) {
		if (LX_STARTS(lx_sv_make(s.p + i, s.n - i), "<!--"))
			i = sx_find(s, i + 4, "-->", 3) + 3;
		else
			i = sx_find(s, i + 2, ">", 1) + 1;
		if (i > s.n)
			return t->kind = SX_ERR;
	}
	*pos = i;
	if (i >= s.n)
		return t->kind = SX_EOF;
	if (s.p[i] != '<') {
		size_t j = sx_find(s, i, "<", 1);
		t->text = lx_sv_make(s.p + i, j - i);
		*pos = j;
		return t->kind = SX_TEXT;
	}
	if (i + 1 < s.n && s.p[i + 1] == '/') {
		size_t j = sx_find(s, i + 2, ">", 1);
		if (j >= s.n)
			return t->kind = SX_ERR;
		t->name = lx_trim(lx_sv_make(s.p + i + 2, j - i - 2));
		*pos = j + 1;
		return t->kind = SX_END;
	}
	return sx_start(s, pos, t);
}

/* The raw value of attribute name in attrs ("Name=\"Image\" Guid='x'"). */
static bool sx_attr(lx_sv a, const char *name, size_t nn, lx_sv *val)
{
	size_t i = 0;

	while (i < a.n) {
		while (i < a.n && (a.p[i] == ' ' || a.p[i] == '\t' || a.p[i] == '\r' || a.p[i] == '\n'))
			i++;
		size_t k = i;
		while (i < a.n && a.p[i] != '=' && a.p[i] != ' ')
			i++;
		lx_sv key = lx_sv_make(a.p + k, i - k);
		while (i < a.n && a.p[i] == ' ')
			i++;
		if (i >= a.n || a.p[i] != '=')
			return false;
		for (i++; i < a.n && a.p[i] == ' '; i++)
			;
		if (i >= a.n || (a.p[i] != '"' && a.p[i] != '\''))
			return false;
		char q = a.p[i++];
		size_t v = i;
		while (i < a.n && a.p[i] != q)
			i++;
		if (i >= a.n)
			return false;
		if (lx_eq(key, name, nn)) {
			*val = lx_sv_make(a.p + v, i - v);
			return true;
		}
		i++;
	}
	return false;
}

/* ---- entities ---------------------------------------------------------------- */

static size_t utf8_put(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xC0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xE0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The entity body e (between '&' and ';') written at d; 0 if it is unknown. */
static size_t sx_entity(lx_sv e, char *d)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
	uint32_t cp = 0;

	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		if (lx_eq(e, named[i].name, strlen(named[i].name))) {
			d[0] = named[i].c;
			return 1;
		}
	}
	if (e.n < 2 || e.p[0] != '#')
		return 0;
	bool hex = e.p[1] == 'x' || e.p[1] == 'X';
	size_t i = hex ? 2 : 1;
	if (i >= e.n || e.n - i > 8)
		return 0;
	for (; i < e.n; i++) {
		char c = e.p[i];
		uint32_t v = core_is_digit(c) ? (uint32_t)(c - '0')
			     : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (uint32_t)((c | 0x20) - 'a' + 10)
									       : 99;
		if (v > (hex ? 15u : 9u))
			return 0;
		cp = cp * (hex ? 16 : 10) + v;
	}
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return utf8_put(d, cp);
}

/* v with its entities decoded: v itself when it has none, else a copy in the
 * arena (never longer than v); unknown entities are kept as written. */
static int sx_decode(core_event *ev, lx_sv v, lx_sv *out)
{
	if (!v.n || !memchr(v.p, '&', v.n)) {
		*out = v;
		return 0;
	}
	char *d = core_arena_alloc(ev->arena, v.n);
	size_t n = 0;
	if (!d)
		return CORE_ENOMEM;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] == '&') {
			size_t j = i + 1;
			while (j < v.n && j - i <= 12 && v.p[j] != ';' && v.p[j] != '&')
				j++;
			size_t w = j < v.n && v.p[j] == ';'
					   ? sx_entity(lx_sv_make(v.p + i + 1, j - i - 1), d + n)
					   : 0;
			if (w) {
				n += w;
				i = j;
				continue;
			}
		}
		d[n++] = v.p[i];
	}
	*out = lx_sv_make(d, n);
	return 0;
}

/* ---- the Event document ----------------------------------------------------- */

/* A start tag at depth 3 (children of System and EventData). */
static void sx_leaf_start(sx_doc *d, int section, const sx_tok *t, lx_sv *data_name)
{
	if (section == 1 && LX_EQ(t->name, "Provider"))
		sx_attr(t->attrs, "Name", 4, &d->provider);
	else if (section == 1 && LX_EQ(t->name, "TimeCreated"))
		sx_attr(t->attrs, "SystemTime", 10, &d->time);
	else if (section == 2 && LX_EQ(t->name, "Data"))
		sx_attr(t->attrs, "Name", 4, data_name);
}

/* The end of an element at depth 3 with its text. */
static void sx_leaf_end(sx_doc *d, int section, lx_sv name, lx_sv text, lx_sv data_name)
{
	if (section == 1) {
		if (LX_EQ(name, "EventID"))
			d->event_id = lx_trim(text);
		else if (LX_EQ(name, "Channel"))
			d->channel = text;
		else if (LX_EQ(name, "Computer"))
			d->computer = text;
	} else if (section == 2 && LX_EQ(name, "Data") && data_name.n && d->nd < SX_MAX_DATA) {
		d->data[d->nd].key = data_name;
		d->data[d->nd++].val = text;
	}
}

/* Scans s; true when it is one well-formed <Event> document. */
static bool sx_scan(lx_sv s, sx_doc *d)
{
	lx_sv stack[SX_MAX_DEPTH], text = {0}, data_name = {0};
	size_t pos = 0;
	int depth = 0, section = 0;
	sx_tok t;

	while (sx_next(s, &pos, &t) != SX_EOF) {
		if (t.kind == SX_ERR || (depth == 0 && t.kind != SX_START))
			return false;
		if (t.kind == SX_TEXT) {
			if (depth == 3 && !text.p)
				text = t.text;
			continue;
		}
		if (t.kind == SX_START) {
			if (depth >= SX_MAX_DEPTH || (depth == 0 && !LX_EQ(t.name, "Event")))
				return false;
			stack[depth++] = t.name;
			if (depth == 2)
				section = LX_EQ(t.name, "System") ? 1 : LX_EQ(t.name, "EventData") ? 2 : 0;
			if (depth == 3) {
				text = data_name = lx_sv_make(NULL, 0);
				sx_leaf_start(d, section, &t, &data_name);
			}
			if (!t.empty)
				continue;
		} else if (depth == 0 || !lx_eq(t.name, stack[depth - 1].p, stack[depth - 1].n)) {
			return false;
		}
		if (depth == 3)
			sx_leaf_end(d, section, stack[2], text, data_name);
		if (--depth == 0)
			return true;
	}
	return false;
}

static void sx_put(lx_out *o, const char *path, lx_sv v)
{
	lx_sv dec;

	if (o->rc || !v.p)
		return;
	lx_keep(o, sx_decode(o->ev, v, &dec));
	if (!o->rc)
		lx_keep(o, core_event_set_str(o->ev, path, dec.p, dec.n));
}

static void sx_emit(lx_out *o, const sx_doc *d)
{
	int64_t id, ns;
	size_t used;
	lx_sv k, v;

	if (d->event_id.n && core_parse_i64(d->event_id.p, d->event_id.n, &id) == 0)
		lx_int(o, "EventID", id);
	else
		sx_put(o, "EventID", d->event_id);
	sx_put(o, "Channel", d->channel);
	sx_put(o, "Computer", d->computer);
	sx_put(o, "Provider_Name", d->provider);
	for (size_t i = 0; i < d->nd && !o->rc; i++) {
		lx_keep(o, sx_decode(o->ev, d->data[i].key, &k));
		lx_keep(o, sx_decode(o->ev, d->data[i].val, &v));
		if (!o->rc)
			lx_keep(o, core_event_add_str(o->ev, CORE_NO_PARENT, k.p, k.n, v.p ? v.p : "", v.n));
	}
	lx_str(o, "event.code", d->event_id);
	sx_put(o, "host.name", d->computer);
	if (lx_iso_year_ok(d->time.p, d->time.n) &&
	    core_time_iso(d->time.p, d->time.n, &ns, &used) == 0 && used == d->time.n) {
		o->ev->ts = ns;
		o->ev->ts_orig = d->time.p;
		o->ev->ts_orig_len = (uint32_t)d->time.n;
	}
}

int parse_linux_sysmon_xml(parse_ctx *cx, core_event *ev, const char *s, size_t n)
{
	lx_out o = {.cx = cx, .ev = ev, .rc = 0};
	sx_doc d;

	memset(&d, 0, offsetof(sx_doc, data));
	d.nd = 0;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!sx_scan(lx_sv_make(s, n), &d) || !d.event_id.n)
		return 0;
	sx_emit(&o, &d);
	return o.rc ? o.rc : 1;
}
