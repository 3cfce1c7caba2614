/* logsource.c: logsource routing and field mapping as data. Reads YAML
 * mapping files (docs/LOGSOURCES.md) with libfyaml into sources (a Sigma
 * logsource, a match condition on event fields, field renames), merges later
 * files over earlier ones by key, then compiles them: every probed field is
 * interned once so that routing an event costs a few core_event_get calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rules_int.h"

#define LS_MAX_FILE (4u << 20)
#define LS_NODE_BUDGET 200000u
#define LS_MAX_CONDS 4096u /* distinct conditions per map */

typedef struct ls_val {
	const char *s; /* arena-owned, NUL-terminated */
	uint32_t len;
	bool isint;    /* s is a decimal integer: i (compared with integer fields) */
	int64_t i;
} ls_val;

/* One "Field: values" or "Field|exists: bool" test. */
typedef struct ls_cond {
	const char *field;  /* arena-owned */
	core_name name;     /* set by compile */
	uint32_t probe;     /* index in map->probe, set by compile */
	uint32_t uid;       /* index of the equal condition in map->uc (compile) */
	bool exists_test;   /* |exists */
	bool exists;        /* wanted presence for |exists */
	ls_val *v;          /* alternatives (any matches) */
	uint32_t nv;
} ls_cond;

typedef struct ls_alt {
	ls_cond *c; /* ANDed */
	uint32_t n;
} ls_alt;

typedef struct ls_ren {
	const char *from, *to; /* arena-owned */
	core_name to_name;     /* set by compile */
} ls_ren;

enum { GIVE_LS = 1u, GIVE_WHEN = 2u, GIVE_FORMAT = 4u, GIVE_DISABLED = 8u };

typedef struct ls_src {
	const char *key;      /* arena-owned */
	rules_logsource ls;   /* arena-owned strings, NULL when absent */
	ls_alt *alts;         /* ORed; none given: any event */
	uint32_t nalts;
	const char **formats; /* parser names; none given: any parser */
	uint32_t nformats;
	ls_ren *ren;
	uint32_t nren;
	unsigned given;       /* GIVE_*: what the entry wrote (while loading) */
	bool disabled;
	uint32_t line, col;   /* of the key, for messages */
} ls_src;

/* A distinct condition and the sources whose alternatives it triggers. */
typedef struct ls_ucond {
	const ls_cond *c;
	uint32_t *trig; /* source indexes (malloc-owned) */
	uint32_t ntrig, captrig;
} ls_ucond;

/* One value of the equality conditions on one probed field; s == NULL: an
 * empty slot. */
typedef struct ls_key {
	const char *s;  /* canonical text (integers in decimal), arena-owned */
	uint32_t len, probe;
	uint64_t h;
	uint32_t *uids; /* the distinct conditions it satisfies (malloc-owned) */
	uint32_t nuids, capuids;
} ls_key;

struct rules_ls_map {
	core_arena *a;        /* owns every string and array below but src */
	ls_src *src;          /* malloc-owned */
	size_t n, cap;
	bool compiled;
	core_name probe[RULES_LS_MAX_PROBES];
	uint32_t nprobe;
	ls_ucond *uc;         /* distinct conditions (malloc-owned, with their trig) */
	uint32_t nuc, capuc;
	ls_key *keys;         /* hash of condition values (malloc-owned, with uids) */
	uint32_t keymask;
	uint32_t *always;     /* sources checked for every event (malloc-owned) */
	uint32_t nalways;
	uint32_t *exist;      /* the |exists conditions (malloc-owned) */
	uint32_t nexist;
};

/* ---- the map ------------------------------------------------------------------ */
rules_ls_map *rules_ls_new(void)
{
	rules_ls_map *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->a = core_arena_new(64 << 10, 0);
	if (!m->a) {
		free(m);
		return NULL;
	}
	return m;
}

void rules_ls_free(rules_ls_map *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nuc; i++)
		free(m->uc[i].trig);
	for (uint32_t i = 0; m->keys && i <= m->keymask; i++)
		free(m->keys[i].uids);
	core_arena_free(m->a);
	free(m->src);
	free(m->uc);
	free(m->keys);
	free(m->always);
	free(m->exist);
	free(m);
}

/* ---- parsing ---------------------------------------------------------------------- */
/* The state of one file being parsed: entries go to a temporary array. */
typedef struct ls_parse {
	rules_ls_map *m;
	rules_doc d;     /* position and reason of the failure (rules_fail) */
	ls_src *e;       /* malloc-owned temporary entries */
	size_t n, cap;
} ls_parse;

static char *dup_scalar(ls_parse *p, struct fy_node *n, const char *what, int *rc)
{
	size_t len;
	const char *t = rules_scalar(n, &len);
	if (!n || !t) {
		*rc = rules_fail(&p->d, n, "%s must be a string", what);
		return NULL;
	}
	char *s = core_arena_strndup(p->m->a, t, len);
	*rc = s ? 0 : CORE_ENOMEM;
	return s;
}

static struct fy_node *deref(ls_parse *p, struct fy_node *n, int *rc)
{
	bool over = false;
	n = rules_node(&p->d, n, &over);
	*rc = over ? rules_fail(&p->d, NULL, "file too large (too many YAML nodes)") : 0;
	return n;
}

static int parse_bool(ls_parse *p, struct fy_node *n, const char *what, bool *out)
{
	size_t len;
	const char *t = n ? rules_scalar(n, &len) : NULL;
	if (t && len == 4 && strncasecmp(t, "true", 4) == 0)
		return *out = true, 0;
	if (t && len == 5 && strncasecmp(t, "false", 5) == 0)
		return *out = false, 0;
	return rules_fail(&p->d, n, "%s must be true or false", what);
}

/* A scalar or a sequence of scalars into an arena array of strings. */
static int parse_strs(ls_parse *p, struct fy_node *n, struct fy_node *key, const char *what, ls_val **out,
		      uint32_t *nout)
{
	bool seq = n && fy_node_get_type(n) == FYNT_SEQUENCE;
	size_t cnt = seq ? (size_t)fy_node_sequence_item_count(n) : 1;
	void *it = NULL;
	int rc = 0;

	if (!n || (seq && cnt == 0)) /* an empty list has no position: name the key */
		return rules_fail(&p->d, key, "%s needs at least one value", what);
	*out = core_arena_alloc(p->m->a, cnt * sizeof **out);
	if (!*out)
		return CORE_ENOMEM;
	*nout = 0;
	for (size_t i = 0; i < cnt; i++) {
		struct fy_node *e = seq ? deref(p, fy_node_sequence_iterate(n, &it), &rc) : n;
		if (rc)
			return rc;
		if (!e || fy_node_get_type(e) != FYNT_SCALAR)
			return rules_fail(&p->d, e ? e : n, "%s must be a string or a list of strings", what);
		ls_val *v = &(*out)[(*nout)++];
		v->s = dup_scalar(p, e, what, &rc);
		if (rc)
			return rc;
		v->len = (uint32_t)strlen(v->s);
		v->isint = core_parse_i64(v->s, v->len, &v->i) == 0;
	}
	return 0;
}

/* One "Field[|exists]: value(s)" entry of a `when` alternative. */
static int parse_cond(ls_parse *p, struct fy_node *key, struct fy_node *val, ls_cond *c)
{
	int rc = 0;
	char *k = dup_scalar(p, key, "a field name", &rc);
	if (rc)
		return rc;
	memset(c, 0, sizeof *c);
	char *bar = strchr(k, '|');
	if (bar) {
		if (strcmp(bar, "|exists") != 0)
			return rules_fail(&p->d, key, "unknown modifier '%s' (only |exists is supported)", bar + 1);
		*bar = '\0';
		c->exists_test = true;
	}
	if (!*k)
		return rules_fail(&p->d, key, "empty field name");
	c->field = k;
	if (c->exists_test)
		return parse_bool(p, val, "a |exists test", &c->exists);
	if (val && fy_node_get_type(val) == FYNT_MAPPING)
		return rules_fail(&p->d, val, "the value of '%s' must be a string or a list of strings", k);
	return parse_strs(p, val, key, "the value of a field", &c->v, &c->nv);
}

static int parse_alt(ls_parse *p, struct fy_node *map, ls_alt *alt)
{
	size_t cnt = (size_t)fy_node_mapping_item_count(map);
	void *it = NULL;
	int rc = 0;

	if (cnt == 0)
		return rules_fail(&p->d, map, "an empty condition would match every event");
	alt->c = core_arena_alloc(p->m->a, cnt * sizeof *alt->c);
	if (!alt->c)
		return CORE_ENOMEM;
	alt->n = 0;
	for (struct fy_node_pair *pr; (pr = fy_node_mapping_iterate(map, &it)) != NULL;) {
		struct fy_node *v = deref(p, fy_node_pair_value(pr), &rc);
		if (rc || (rc = parse_cond(p, fy_node_pair_key(pr), v, &alt->c[alt->n])) != 0)
			return rc;
		alt->n++;
	}
	return 0;
}

/* `when`: one map (one alternative) or a list of maps (ORed). */
static int parse_when(ls_parse *p, struct fy_node *n, ls_src *e)
{
	bool seq = n && fy_node_get_type(n) == FYNT_SEQUENCE;
	size_t cnt = seq ? (size_t)fy_node_sequence_item_count(n) : 1;
	void *it = NULL;
	int rc = 0;

	if (!n || (!seq && fy_node_get_type(n) != FYNT_MAPPING) || cnt == 0)
		return rules_fail(&p->d, n, "'when' must be a map of fields or a list of such maps");
	e->alts = core_arena_alloc(p->m->a, cnt * sizeof *e->alts);
	if (!e->alts)
		return CORE_ENOMEM;
	e->nalts = 0;
	for (size_t i = 0; i < cnt; i++) {
		struct fy_node *a = seq ? deref(p, fy_node_sequence_iterate(n, &it), &rc) : n;
		if (rc)
			return rc;
		if (!a || fy_node_get_type(a) != FYNT_MAPPING)
			return rules_fail(&p->d, a ? a : n, "each alternative of 'when' must be a map of fields");
		if ((rc = parse_alt(p, a, &e->alts[e->nalts])) != 0)
			return rc;
		e->nalts++;
	}
	return 0;
}

static int parse_fields(ls_parse *p, struct fy_node *n, ls_src *e)
{
	void *it = NULL;
	int rc = 0;

	if (!n || fy_node_get_type(n) != FYNT_MAPPING)
		return rules_fail(&p->d, n, "'fields' must be a map 'RuleField: EventField'");
	size_t cnt = (size_t)fy_node_mapping_item_count(n);
	e->ren = core_arena_alloc(p->m->a, (cnt ? cnt : 1) * sizeof *e->ren);
	if (!e->ren)
		return CORE_ENOMEM;
	e->nren = 0;
	for (struct fy_node_pair *pr; (pr = fy_node_mapping_iterate(n, &it)) != NULL;) {
		struct fy_node *v = deref(p, fy_node_pair_value(pr), &rc);
		ls_ren *r = &e->ren[e->nren];
		if (rc)
			return rc;
		r->from = dup_scalar(p, fy_node_pair_key(pr), "a rule field name", &rc);
		if (!rc)
			r->to = dup_scalar(p, v, "an event field name", &rc);
		if (rc)
			return rc;
		if (!*r->from || !*r->to)
			return rules_fail(&p->d, *r->from ? v : fy_node_pair_key(pr), "empty field name");
		e->nren++;
	}
	return 0;
}

static const char *const entry_keys[] = {"product", "category", "service", "when", "format",
					 "fields", "disabled", "description"};

/* One key of a source entry. */
static int parse_entry_key(ls_parse *p, struct fy_node *key, struct fy_node *v, ls_src *e)
{
	size_t kl;
	const char *k = rules_scalar(key, &kl);
	size_t i = 0, nk = sizeof entry_keys / sizeof *entry_keys;
	int rc = 0;

	while (k && i < nk && !(strlen(entry_keys[i]) == kl && memcmp(entry_keys[i], k, kl) == 0))
		i++;
	if (!k || i == nk)
		return rules_fail(&p->d, key, "unknown key '%.*s' (expected product, category, service, when, "
				  "format, fields, disabled or description)", k ? (int)kl : 0, k ? k : "");
	switch (i) {
	case 0: case 1: case 2: {
		const char **slot = i == 0 ? &e->ls.product : i == 1 ? &e->ls.category : &e->ls.service;
		if (!v || fy_node_get_type(v) != FYNT_SCALAR)
			return rules_fail(&p->d, v ? v : key, "'%s' must be a string", entry_keys[i]);
		*slot = dup_scalar(p, v, entry_keys[i], &rc);
		e->given |= GIVE_LS;
		return rc;
	}
	case 3:
		e->given |= GIVE_WHEN;
		return parse_when(p, v, e);
	case 4: {
		ls_val *vals = NULL;
		uint32_t nv = 0;
		if ((rc = parse_strs(p, v, key, "'format'", &vals, &nv)) != 0)
			return rc;
		e->formats = core_arena_alloc(p->m->a, nv * sizeof *e->formats);
		if (!e->formats)
			return CORE_ENOMEM;
		for (uint32_t j = 0; j < nv; j++)
			e->formats[j] = vals[j].s;
		e->nformats = nv, e->given |= GIVE_FORMAT;
		return 0;
	}
	case 5:
		return parse_fields(p, v, e);
	case 6:
		e->given |= GIVE_DISABLED;
		return parse_bool(p, v, "'disabled'", &e->disabled);
	default: /* description: any string, not kept */
		if (!v || fy_node_get_type(v) != FYNT_SCALAR)
			return rules_fail(&p->d, v ? v : key, "'description' must be a string");
		return 0;
	}
}

static ls_src *new_entry(ls_parse *p)
{
	if (core_grow((void **)&p->e, &p->cap, p->n, sizeof *p->e, 64) != 0)
		return NULL;
	ls_src *e = &p->e[p->n++];
	memset(e, 0, sizeof *e);
	return e;
}

static int parse_entry(ls_parse *p, struct fy_node *key, struct fy_node *v)
{
	void *it = NULL;
	int rc = 0;
	ls_src *e = new_entry(p);

	if (!e)
		return CORE_ENOMEM;
	if (!key || fy_node_get_type(key) != FYNT_SCALAR)
		return rules_fail(&p->d, key, "a source key must be a string");
	e->key = dup_scalar(p, key, "a source key", &rc);
	if (rc)
		return rc;
	rules_fail(&p->d, key, "-"); /* records the key's position */
	e->line = p->d.line, e->col = p->d.col;
	if (!*e->key)
		return rules_fail(&p->d, key, "empty source key");
	for (size_t i = 0; i + 1 < p->n; i++)
		if (strcmp(p->e[i].key, e->key) == 0)
			return rules_fail(&p->d, key, "source '%s' is defined twice in this file", e->key);
	if (!v || fy_node_get_type(v) != FYNT_MAPPING)
		return rules_fail(&p->d, v ? v : key, "source '%s' must be a map", e->key);
	for (struct fy_node_pair *pr; (pr = fy_node_mapping_iterate(v, &it)) != NULL;) {
		struct fy_node *val = deref(p, fy_node_pair_value(pr), &rc);
		if (rc || (rc = parse_entry_key(p, fy_node_pair_key(pr), val, e)) != 0)
			return rc;
	}
	return 0;
}

static int parse_root(ls_parse *p, struct fy_node *root)
{
	void *it = NULL;
	int rc = 0;
	struct fy_node *srcs = NULL, *skey = NULL;

	if (!root) /* an empty file (comments only) adds nothing */
		return 0;
	if (fy_node_get_type(root) != FYNT_MAPPING)
		return rules_fail(&p->d, root, "expected a map with the key 'sources'");
	for (struct fy_node_pair *pr; (pr = fy_node_mapping_iterate(root, &it)) != NULL;) {
		size_t kl;
		const char *k = rules_scalar(fy_node_pair_key(pr), &kl);
		if (!k || kl != 7 || memcmp(k, "sources", 7) != 0)
			return rules_fail(&p->d, fy_node_pair_key(pr), "unknown top-level key '%.*s' (expected 'sources')",
					  k ? (int)kl : 0, k ? k : "");
		skey = fy_node_pair_key(pr);
		if ((srcs = deref(p, fy_node_pair_value(pr), &rc)) == NULL || rc)
			return rc ? rc : rules_fail(&p->d, skey, "'sources' must be a map of named sources");
	}
	if (!srcs || fy_node_get_type(srcs) != FYNT_MAPPING) /* the key: an empty value has no position */
		return rules_fail(&p->d, skey ? skey : root, "'sources' must be a map of named sources");
	it = NULL;
	for (struct fy_node_pair *pr; (pr = fy_node_mapping_iterate(srcs, &it)) != NULL;) {
		struct fy_node *v = deref(p, fy_node_pair_value(pr), &rc);
		if (rc || (rc = parse_entry(p, fy_node_pair_key(pr), v)) != 0)
			return rc;
	}
	return 0;
}

/* ---- merging a parsed file into the map ---------------------------------------------- */
static ls_src *find_src(rules_ls_map *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->src[i].key, key) == 0)
			return &m->src[i];
	return NULL;
}

/* Checks that every entry is complete once merged; fails at its key. */
static int check_entries(ls_parse *p)
{
	for (size_t i = 0; i < p->n; i++) {
		ls_src *e = &p->e[i], *old = find_src(p->m, e->key);
		bool disabled = (e->given & GIVE_DISABLED) ? e->disabled : old ? old->disabled : false;
		unsigned have = e->given | (old ? GIVE_LS | (old->nalts ? GIVE_WHEN : 0u) |
						       (old->nformats ? GIVE_FORMAT : 0u) : 0u);
		p->d.line = e->line, p->d.col = e->col;
		if (disabled)
			continue;
		if (!(have & GIVE_LS))
			return rules_fail(&p->d, NULL, "source '%s' needs a product, category or service", e->key);
		if (!(have & (GIVE_WHEN | GIVE_FORMAT)))
			return rules_fail(&p->d, NULL, "source '%s' needs 'when' or 'format' (it would match every event)",
					  e->key);
	}
	return 0;
}

/* Renames of old and e: e's win, the others are kept. */
static int merge_fields(rules_ls_map *m, ls_src *old, const ls_src *e)
{
	ls_ren *r = core_arena_alloc(m->a, ((size_t)old->nren + e->nren + 1) * sizeof *r);
	uint32_t n = 0;
	if (!r)
		return CORE_ENOMEM;
	for (uint32_t i = 0; i < old->nren; i++) {
		uint32_t j = 0;
		while (j < e->nren && strcmp(e->ren[j].from, old->ren[i].from) != 0)
			j++;
		if (j == e->nren)
			r[n++] = old->ren[i];
	}
	for (uint32_t j = 0; j < e->nren; j++)
		r[n++] = e->ren[j];
	old->ren = r, old->nren = n;
	return 0;
}

static int merge_one(rules_ls_map *m, ls_src *e)
{
	ls_src *old = find_src(m, e->key);
	if (!old) {
		if (core_grow((void **)&m->src, &m->cap, m->n, sizeof *m->src, 128) != 0)
			return CORE_ENOMEM;
		m->src[m->n++] = *e;
		return 0;
	}
	if (e->given & GIVE_LS)
		old->ls = e->ls;
	if (e->given & GIVE_WHEN)
		old->alts = e->alts, old->nalts = e->nalts;
	if (e->given & GIVE_FORMAT)
		old->formats = e->formats, old->nformats = e->nformats;
	if (e->given & GIVE_DISABLED)
		old->disabled = e->disabled;
	old->line = e->line, old->col = e->col;
	return merge_fields(m, old, e);
}

/* ---- files ------------------------------------------------------------------------ */
static void quiet(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag, (void)user, (void)buf, (void)len;
}

static int yaml_fail(struct fy_diag *diag, const char *name, core_err *err)
{
	struct fy_diag_error *e = NULL;
	void *it = NULL;
	while ((e = fy_diag_errors_iterate(diag, &it)) != NULL && e->type != FYET_ERROR)
		;
	if (!e)
		return core_err_set(err, CORE_EPARSE, SIZE_MAX, "%s: YAML syntax error", name);
	return core_err_set(err, CORE_EPARSE, SIZE_MAX, "%s:%d:%d: YAML: %s", name, e->line + 1, e->column + 1,
			    e->msg ? e->msg : "syntax error");
}

/* Parses text and merges it when the whole file is valid. */
static int add_text(rules_ls_map *m, const char *text, size_t n, const char *name, core_err *err)
{
	struct fy_diag_cfg dcfg;
	struct fy_document *fyd = NULL;
	ls_parse p = {.m = m, .d = {.file = name, .budget = LS_NODE_BUDGET}};
	int rc = CORE_ENOMEM;

	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL, dcfg.output_fn = quiet, dcfg.colorize = false;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	if (!diag)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "%s: out of memory", name);
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
	fyd = fy_document_build_from_string(&cfg, text, n);
	if (!fyd) {
		rc = yaml_fail(diag, name, err);
		goto out;
	}
	rc = parse_root(&p, fy_document_root(fyd));
	if (!rc)
		rc = check_entries(&p);
	for (size_t i = 0; !rc && i < p.n; i++)
		rc = merge_one(m, &p.e[i]);
	if (rc == CORE_EPARSE)
		core_err_set(err, rc, SIZE_MAX, "%s:%u:%u: %s", name, p.d.line, p.d.col, p.d.why);
	else if (rc)
		core_err_set(err, rc, SIZE_MAX, "%s: %s", name, core_strerror(rc));
out:
	if (fyd)
		fy_document_destroy(fyd);
	fy_diag_destroy(diag);
	free(p.e);
	return rc;
}

int rules_ls_add_string(rules_ls_map *m, const char *text, size_t n, const char *name, core_err *err)
{
	if (m->compiled)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: the map is already compiled", name);
	return add_text(m, text, n, name, err);
}

int rules_ls_add_file(rules_ls_map *m, const char *path, core_err *err)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t got = 0;
	int rc = 0;

	if (m->compiled)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: the map is already compiled", path);
	f = fopen(path, "rb");
	if (!f)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: cannot read", path);
	buf = malloc(LS_MAX_FILE + 1);
	if (!buf) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "%s: out of memory", path);
		goto out;
	}
	got = fread(buf, 1, LS_MAX_FILE + 1, f);
	if (ferror(f))
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: read error", path);
	else if (got > LS_MAX_FILE)
		rc = core_err_set(err, CORE_ETOOBIG, SIZE_MAX, "%s: file larger than 4 MiB", path);
	else
		rc = add_text(m, buf, got, path, err);
out:
	free(buf);
	fclose(f);
	return rc;
}

/* ---- compiling -------------------------------------------------------------------------- */
static int push_u32(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t x)
{
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 4;
		uint32_t *nv = realloc(*v, c * sizeof *nv);
		if (!nv)
			return CORE_ENOMEM;
		*v = nv, *cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n) (no locale). */
static bool ascii_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x != y && ((x | 32u) != (y | 32u) || (x | 32u) < 'a' || (x | 32u) > 'z'))
			return false;
	}
	return true;
}

/* FNV-1a of the probe and the ASCII-lower-cased text. */
static uint64_t key_hash(uint32_t probe, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ probe;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c | 32u : c)) * 1099511628211ull;
	}
	return h;
}

/* The key (probe, s[0..n)), or the empty slot where it belongs. */
static ls_key *key_slot(const rules_ls_map *m, uint32_t probe, const char *s, size_t n, uint64_t h)
{
	for (uint32_t i = (uint32_t)h & m->keymask;; i = (i + 1) & m->keymask) {
		ls_key *k = &m->keys[i];
		if (!k->s || (k->h == h && k->probe == probe && k->len == n && ascii_eq(k->s, s, n)))
			return k;
	}
}

static bool same_cond(const ls_cond *a, const ls_cond *b)
{
	if (a->name != b->name || a->exists_test != b->exists_test || a->exists != b->exists || a->nv != b->nv)
		return false;
	for (uint32_t i = 0; i < a->nv; i++)
		if (a->v[i].len != b->v[i].len || !ascii_eq(a->v[i].s, b->v[i].s, a->v[i].len))
			return false;
	return true;
}

/* Interns c's field, finds its probe slot and its distinct condition. */
static int intern_cond(rules_ls_map *m, ls_cond *c, core_err *err)
{
	c->name = core_intern(c->field, strlen(c->field));
	if (!c->name)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "logsources: the name table is full");
	for (c->probe = 0; c->probe < m->nprobe && m->probe[c->probe] != c->name; c->probe++)
		;
	if (c->probe == m->nprobe) {
		if (m->nprobe == RULES_LS_MAX_PROBES)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX,
					    "logsources: more than %u distinct fields in conditions ('%s')",
					    RULES_LS_MAX_PROBES, c->field);
		m->probe[m->nprobe++] = c->name;
	}
	for (c->uid = 0; c->uid < m->nuc && !same_cond(m->uc[c->uid].c, c); c->uid++)
		;
	if (c->uid < m->nuc)
		return 0;
	if (m->nuc == LS_MAX_CONDS)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "logsources: more than %u distinct conditions",
				    LS_MAX_CONDS);
	if (m->nuc == m->capuc) {
		uint32_t cap = m->capuc ? m->capuc * 2 : 64;
		ls_ucond *uc = realloc(m->uc, cap * sizeof *uc);
		if (!uc)
			return CORE_ENOMEM;
		m->uc = uc, m->capuc = cap;
	}
	m->uc[m->nuc++] = (ls_ucond){.c = c};
	return 0;
}

/* The hash of every value of the equality conditions. */
static int build_keys(rules_ls_map *m)
{
	size_t total = 0, cap = 16;
	for (uint32_t u = 0; u < m->nuc; u++)
		total += m->uc[u].c->nv;
	while (cap < total * 2)
		cap *= 2;
	m->keys = calloc(cap, sizeof *m->keys);
	if (!m->keys)
		return CORE_ENOMEM;
	m->keymask = (uint32_t)cap - 1;
	for (uint32_t u = 0; u < m->nuc; u++) {
		const ls_cond *c = m->uc[u].c;
		for (uint32_t i = 0; i < c->nv; i++) {
			char buf[32];
			const char *t = c->v[i].s;
			size_t n = c->v[i].len;
			if (c->v[i].isint) /* canonical text, as integer fields are written */
				n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)c->v[i].i), t = buf;
			uint64_t h = key_hash(c->probe, t, n);
			ls_key *k = key_slot(m, c->probe, t, n, h);
			if (!k->s && !(k->s = core_arena_strndup(m->a, t, n)))
				return CORE_ENOMEM;
			k->len = (uint32_t)n, k->probe = c->probe, k->h = h;
			if ((!k->nuids || k->uids[k->nuids - 1] != u) && push_u32(&k->uids, &k->nuids, &k->capuids, u))
				return CORE_ENOMEM;
		}
	}
	return 0;
}

/* Each alternative of a source is triggered by one of its conditions (the
 * first that can only hold when a field is present); a source with an
 * alternative that has none is always checked. */
static int build_triggers(rules_ls_map *m)
{
	uint32_t capa = 0;
	for (uint32_t i = 0; i < (uint32_t)m->n; i++) {
		const ls_src *s = &m->src[i];
		bool always = s->nalts == 0;
		for (uint32_t a = 0; a < s->nalts && !always; a++) {
			const ls_alt *alt = &s->alts[a];
			uint32_t c = 0;
			while (c < alt->n && alt->c[c].exists_test && !alt->c[c].exists)
				c++;
			if (c == alt->n) {
				always = true;
				break;
			}
			ls_ucond *u = &m->uc[alt->c[c].uid];
			if ((!u->ntrig || u->trig[u->ntrig - 1] != i) && push_u32(&u->trig, &u->ntrig, &u->captrig, i))
				return CORE_ENOMEM;
		}
		if (always && push_u32(&m->always, &m->nalways, &capa, i))
			return CORE_ENOMEM;
	}
	return 0;
}

int rules_ls_compile(rules_ls_map *m, core_err *err)
{
	size_t n = 0;
	int rc = 0;

	if (m->compiled)
		return 0;
	for (size_t i = 0; i < m->n; i++)
		if (!m->src[i].disabled)
			m->src[n++] = m->src[i];
	m->n = n;
	if (n > RULES_LS_MAX_SOURCES)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "logsources: %zu sources (at most %u)", n,
				    RULES_LS_MAX_SOURCES);
	for (size_t i = 0; i < n; i++) {
		ls_src *s = &m->src[i];
		for (uint32_t a = 0; a < s->nalts; a++)
			for (uint32_t c = 0; c < s->alts[a].n; c++)
				if ((rc = intern_cond(m, &s->alts[a].c[c], err)) != 0)
					return rc == CORE_ENOMEM ? core_err_set(err, rc, SIZE_MAX, "logsources: out of memory") : rc;
		for (uint32_t r = 0; r < s->nren; r++)
			if (!(s->ren[r].to_name = core_intern(s->ren[r].to, strlen(s->ren[r].to))))
				return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "logsources: the name table is full");
	}
	uint32_t cape = 0;
	for (uint32_t u = 0; u < m->nuc; u++)
		if (m->uc[u].c->exists_test && push_u32(&m->exist, &m->nexist, &cape, u))
			return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "logsources: out of memory");
	if (build_keys(m) || build_triggers(m))
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "logsources: out of memory");
	m->compiled = true;
	return 0;
}

int rules_ls_load(const char *const *paths, size_t n, rules_ls_map **out, core_err *err)
{
	rules_ls_map *m = rules_ls_new();
	int rc = 0;

	*out = NULL;
	if (!m)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "logsources: out of memory");
	for (size_t i = 0; i < n && !rc; i++)
		rc = rules_ls_add_file(m, paths[i], err);
	if (!rc)
		rc = rules_ls_compile(m, err);
	if (rc) {
		rules_ls_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* ---- routing ------------------------------------------------------------------------------ */
/* Per-event state: memo[uid] is 2 when the distinct condition uid holds;
 * cand holds the sources worth checking. */
typedef struct ls_eval {
	const core_field *got[RULES_LS_MAX_PROBES];
	uint64_t cand[RULES_LS_MAX_SOURCES / 64];
	uint8_t memo[LS_MAX_CONDS];
	uint32_t ntrue;
	uint32_t truel[LS_MAX_CONDS]; /* the uids with memo 2, in marking order */
} ls_eval;

static void set_true(ls_eval *x, uint32_t uid)
{
	if (x->memo[uid] != 2) {
		x->memo[uid] = 2;
		x->truel[x->ntrue++] = uid;
	}
}

/* Decimal text of v into buf (no NUL); returns the length. */
static size_t i64_text(int64_t v, char buf[24])
{
	char tmp[24];
	size_t n = 0, len = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	return len;
}

/* Marks the equality conditions that scalar f (probe p) satisfies. */
static void mark_scalar(const rules_ls_map *m, uint32_t p, const core_field *f, ls_eval *x)
{
	char buf[48];
	const char *t = buf;
	size_t n;

	switch (f->type) {
	case CORE_T_STR:
		t = f->u.s, n = f->len;
		break;
	case CORE_T_INT:
		n = i64_text(f->u.i, buf);
		break;
	case CORE_T_FLOAT:
		n = (size_t)snprintf(buf, sizeof buf, "%.17g", f->u.f);
		break;
	case CORE_T_BOOL:
		t = f->u.b ? "true" : "false", n = strlen(t);
		break;
	default:
		return;
	}
	const ls_key *k = key_slot(m, p, t, n, key_hash(p, t, n));
	for (uint32_t i = 0; k->s && i < k->nuids; i++)
		set_true(x, k->uids[i]);
}

static void mark_field(const rules_ls_map *m, const core_event *ev, uint32_t p, const core_field *f, ls_eval *x)
{
	if (f->type != CORE_T_ARRAY) {
		mark_scalar(m, p, f, x);
		return;
	}
	uint32_t idx = core_event_idx(ev, f); /* an array matches by any element */
	for (uint32_t j = core_event_next_child(ev, idx, idx); j != UINT32_MAX; j = core_event_next_child(ev, idx, j))
		mark_scalar(m, p, &ev->f[j], x);
}

static bool src_matches(const ls_src *s, const core_event *ev, const ls_eval *x)
{
	if (s->nformats) {
		uint32_t i = 0;
		while (i < s->nformats && !(ev->format && strcasecmp(ev->format, s->formats[i]) == 0))
			i++;
		if (i == s->nformats)
			return false;
	}
	if (!s->nalts)
		return true;
	for (uint32_t a = 0; a < s->nalts; a++) {
		const ls_alt *alt = &s->alts[a];
		uint32_t c = 0;
		while (c < alt->n && x->memo[alt->c[c].uid] == 2)
			c++;
		if (c == alt->n)
			return true;
	}
	return false;
}

size_t rules_ls_words(const rules_ls_map *m)
{
	return m->n ? (m->n + 63) / 64 : 1;
}

/* Fills x: probes, condition memo, candidate sources. */
static void evaluate(const rules_ls_map *m, const core_event *ev, ls_eval *x, size_t nwords)
{
	memset(x->memo, 0, m->nuc);
	memset(x->cand, 0, nwords * sizeof *x->cand);
	x->ntrue = 0;
	for (uint32_t i = 0; i < m->nprobe; i++)
		if ((x->got[i] = core_event_get(ev, m->probe[i])) != NULL)
			mark_field(m, ev, i, x->got[i], x);
	for (uint32_t e = 0; e < m->nexist; e++) {
		const ls_cond *c = m->uc[m->exist[e]].c;
		const core_field *f = x->got[c->probe];
		if ((f && f->type != CORE_T_NULL) == c->exists)
			set_true(x, m->exist[e]);
	}
	for (uint32_t t = 0; t < x->ntrue; t++) {
		const ls_ucond *u = &m->uc[x->truel[t]];
		for (uint32_t j = 0; j < u->ntrig; j++)
			x->cand[u->trig[j] / 64] |= (uint64_t)1 << (u->trig[j] % 64);
	}
	for (uint32_t i = 0; i < m->nalways; i++)
		x->cand[m->always[i] / 64] |= (uint64_t)1 << (m->always[i] % 64);
}

int rules_ls_route(const rules_ls_map *m, const core_event *ev, uint64_t *bits, size_t nwords)
{
	ls_eval x;
	int count = 0;
	size_t words = rules_ls_words(m);

	if (!m->compiled || nwords < words)
		return CORE_EINVAL;
	memset(bits, 0, nwords * sizeof *bits);
	evaluate(m, ev, &x, words);
	for (size_t w = 0; w < words; w++)
		for (uint64_t c = x.cand[w]; c; c &= c - 1) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(c);
			if (src_matches(&m->src[i], ev, &x)) {
				bits[w] |= (uint64_t)1 << (i % 64);
				count++;
			}
		}
	return count;
}

/* ---- sources ----------------------------------------------------------------------------- */
size_t rules_ls_count(const rules_ls_map *m)
{
	return m->compiled ? m->n : 0;
}

const char *rules_ls_key(const rules_ls_map *m, size_t idx)
{
	return idx < rules_ls_count(m) ? m->src[idx].key : NULL;
}

const rules_logsource *rules_ls_logsource(const rules_ls_map *m, size_t idx)
{
	return idx < rules_ls_count(m) ? &m->src[idx].ls : NULL;
}

int rules_ls_find(const rules_ls_map *m, const char *key)
{
	for (size_t i = 0; i < rules_ls_count(m); i++)
		if (strcmp(m->src[i].key, key) == 0)
			return (int)i;
	return -1;
}

static bool attr_ok(const char *rule, const char *src)
{
	return !rule || (src && strcasecmp(rule, src) == 0);
}

bool rules_ls_applies(const rules_ls_map *m, size_t idx, const rules_logsource *ls)
{
	const rules_logsource *s = rules_ls_logsource(m, idx);
	if (!s || !ls || (!ls->product && !ls->category && !ls->service))
		return false;
	return attr_ok(ls->product, s->product) && attr_ok(ls->category, s->category) &&
	       attr_ok(ls->service, s->service);
}

static const ls_ren *find_ren(const rules_ls_map *m, size_t idx, const char *field)
{
	if (idx >= rules_ls_count(m) || !field)
		return NULL;
	const ls_src *s = &m->src[idx];
	for (uint32_t i = 0; i < s->nren; i++)
		if (strcmp(s->ren[i].from, field) == 0)
			return &s->ren[i];
	return NULL;
}

const char *rules_ls_field(const rules_ls_map *m, size_t idx, const char *field)
{
	const ls_ren *r = find_ren(m, idx, field);
	return r ? r->to : field;
}

core_name rules_ls_field_name(const rules_ls_map *m, size_t idx, const char *field)
{
	const ls_ren *r = find_ren(m, idx, field);
	if (r)
		return r->to_name;
	return field ? core_intern(field, strlen(field)) : 0;
}
