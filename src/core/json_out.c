/* json_out.c: an event as one JSON object, written with yyjson. "@timestamp"
 * (RFC 3339, UTC) comes first, then the fields in order, nested by parent.
 * Strings that are not valid UTF-8 are written with U+FFFD for each bad byte,
 * so that the output is always valid JSON. Memory comes from a per-thread arena
 * reset on every call, freed when the thread ends. */
#include <pthread.h>
#include <string.h>
#include <yyjson.h>

#include "core/core.h"

static _Thread_local core_arena *t_out;
static pthread_key_t out_key;
static pthread_once_t out_once = PTHREAD_ONCE_INIT;

static void out_free(void *a)
{
	core_arena_free(a);
}

static void out_key_init(void)
{
	(void)pthread_key_create(&out_key, out_free);
}

/* The thread's arena; registered so that it is freed when the thread ends. */
static core_arena *out_arena(void)
{
	if (t_out)
		return t_out;
	pthread_once(&out_once, out_key_init);
	if ((t_out = core_arena_new(256 * 1024, 0)) != NULL)
		(void)pthread_setspecific(out_key, t_out);
	return t_out;
}

static void *a_malloc(void *ctx, size_t size)
{
	return core_arena_alloc(ctx, size);
}

static void *a_realloc(void *ctx, void *ptr, size_t old, size_t size)
{
	void *p = core_arena_alloc(ctx, size);
	if (p && ptr)
		memcpy(p, ptr, old < size ? old : size);
	return p;
}

static void a_free(void *ctx, void *ptr)
{
	(void)ctx;
	(void)ptr;
}

void core_arena_yyjson(core_arena *a, yyjson_alc *alc)
{
	*alc = (yyjson_alc){.malloc = a_malloc, .realloc = a_realloc, .free = a_free, .ctx = a};
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
			return 0; /* overlong, surrogates */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

size_t core_utf8_invalid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_len(u + i, n - i)) == 0)
			return i;
		i += k;
	}
	return n;
}

/* s itself when it is valid UTF-8, else a copy in a with U+FFFD for bad bytes. */
static const char *valid_utf8(core_arena *a, const char *s, size_t n, size_t *out_n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n && (u[i] < 0x80 || (k = utf8_len(u + i, n - i)) != 0))
		i += u[i] < 0x80 ? 1 : k;
	*out_n = n;
	if (i == n)
		return s;
	char *c = core_arena_alloc(a, n * 3 + 1);
	if (!c)
		return NULL;
	size_t o = 0;
	for (i = 0; i < n;) {
		k = utf8_len(u + i, n - i);
		if (k) {
			memcpy(c + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(c + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	*out_n = o;
	return c;
}

static yyjson_mut_val *str_val(yyjson_mut_doc *doc, const char *s, size_t n)
{
	size_t m;
	const char *v = valid_utf8(t_out, s ? s : "", s ? n : 0, &m);
	return v ? yyjson_mut_strn(doc, v, m) : NULL;
}

static yyjson_mut_val *field_val(yyjson_mut_doc *doc, const core_field *f)
{
	switch (f->type) {
	case CORE_T_BOOL: return yyjson_mut_bool(doc, f->u.b);
	case CORE_T_INT: return yyjson_mut_sint(doc, f->u.i);
	case CORE_T_FLOAT: return yyjson_mut_real(doc, f->u.f);
	case CORE_T_STR: return str_val(doc, f->u.s, f->len);
	case CORE_T_ARRAY: return yyjson_mut_arr(doc);
	case CORE_T_OBJECT: return yyjson_mut_obj(doc);
	default: return yyjson_mut_null(doc);
	}
}

/* Builds the document; returns 0 or CORE_ENOMEM. */
static int build(yyjson_mut_doc *doc, const core_event *ev, unsigned flags)
{
	yyjson_mut_val *root = yyjson_mut_obj(doc);
	yyjson_mut_val **vals = core_arena_alloc(t_out, (ev->n + 1) * sizeof *vals);

	if (!root || !vals)
		return CORE_ENOMEM;
	yyjson_mut_doc_set_root(doc, root);
	if (ev->ts != CORE_TS_NONE) {
		char ts[40];
		size_t n = core_time_format(ev->ts, ts);
		char *c = core_arena_strndup(t_out, ts, n);
		if (!c || !yyjson_mut_obj_add(root, yyjson_mut_str(doc, "@timestamp"),
					      yyjson_mut_strn(doc, c, n)))
			return CORE_ENOMEM;
	}
	for (uint32_t i = 0; i < ev->n; i++) {
		const core_field *f = &ev->f[i];
		vals[i] = NULL;
		if (f->flags & CORE_F_HIDDEN)
			continue;
		if (f->parent == CORE_NO_PARENT && ev->ts != CORE_TS_NONE && f->key_len == 10 &&
		    memcmp(f->key, "@timestamp", 10) == 0)
			continue; /* the normalized time replaces it */
		yyjson_mut_val *parent = f->parent == CORE_NO_PARENT ? root
				       : f->parent < i ? vals[f->parent] : NULL;
		if (!parent)
			continue; /* under a skipped field */
		yyjson_mut_val *v = field_val(doc, f);
		if (!v)
			return CORE_ENOMEM;
		vals[i] = v;
		if (yyjson_mut_is_arr(parent)) {
			if (!yyjson_mut_arr_append(parent, v))
				return CORE_ENOMEM;
		} else {
			yyjson_mut_val *k = str_val(doc, f->key, f->key_len);
			if (!k || !yyjson_mut_obj_add(parent, k, v))
				return CORE_ENOMEM;
		}
	}
	if ((flags & CORE_JSON_ORIGINAL) && ev->raw) {
		yyjson_mut_val *o = yyjson_mut_obj_get(root, "event");
		if (!o || !yyjson_mut_is_obj(o)) {
			o = yyjson_mut_obj(doc);
			if (!o || !yyjson_mut_obj_add(root, yyjson_mut_str(doc, "event"), o))
				return CORE_ENOMEM;
		}
		yyjson_mut_val *v = str_val(doc, ev->raw, ev->raw_len);
		if (!v || !yyjson_mut_obj_add(o, yyjson_mut_str(doc, "original"), v))
			return CORE_ENOMEM;
	}
	return 0;
}

int core_event_to_json(const core_event *ev, core_buf *out, unsigned flags)
{
	yyjson_alc alc;
	yyjson_write_err werr;
	size_t len;
	int rc = CORE_ENOMEM;

	if (!out_arena())
		return CORE_ENOMEM;
	core_arena_reset(t_out);
	core_arena_yyjson(t_out, &alc);
	yyjson_mut_doc *doc = yyjson_mut_doc_new(&alc);
	if (!doc)
		goto out;
	rc = build(doc, ev, flags);
	if (rc)
		goto out;
	yyjson_write_flag wf = YYJSON_WRITE_INF_AND_NAN_AS_NULL;
	if (flags & CORE_JSON_PRETTY)
		wf |= YYJSON_WRITE_PRETTY_TWO_SPACES;
	char *text = yyjson_mut_write_opts(doc, wf, &alc, &len, &werr);
	if (!text) {
		rc = CORE_ENOMEM;
		goto out;
	}
	rc = core_buf_add(out, text, len);
out:
	return rc;
}

int core_json_str(core_buf *b, const char *s, size_t n)
{
	core_buf fix;
	yyjson_mut_val v;
	size_t len = 0;
	char *t;
	int rc = 0;

	core_buf_init(&fix, 0);
	if (!s)
		s = "", n = 0;
	if (core_utf8_invalid(s, n) < n) {
		while (rc == 0) {
			size_t ok = core_utf8_invalid(s, n);
			rc = core_buf_add(&fix, s, ok);
			if (ok == n)
				break;
			if (rc == 0)
				rc = core_buf_add(&fix, "\xEF\xBF\xBD", 3);
			s += ok + 1, n -= ok + 1;
		}
		s = fix.data ? fix.data : "", n = fix.len;
	}
	yyjson_mut_set_strn(&v, s, n);
	t = rc ? NULL : yyjson_mut_val_write(&v, 0, &len);
	rc = t ? core_buf_add(b, t, len) : CORE_ENOMEM;
	free(t);
	core_buf_free(&fix);
	return rc;
}
