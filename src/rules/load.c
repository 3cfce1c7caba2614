/* load.c: the Sigma rule loader. Reads files or folders (sorted, recursive),
 * parses every YAML document with libfyaml, and turns each into a rules_rule
 * (rule, correlation or filter). A document that cannot load records one
 * message with file:line:col and the reason; the others still load. Inputs
 * are bounded: file size, nodes visited per document (alias expansion). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/rules_int.h"

#define DEFAULT_MAX_FILE (4u << 20)
#define DOC_NODE_BUDGET 200000u
#define FILE_VALUE_BUDGET ((size_t)1 << 18) /* values per file after expansion */
#define MAX_DIR_DEPTH 32

/* ---- the set --------------------------------------------------------------- */
rules_set *rules_set_new(const rules_options *opt)
{
	rules_set *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->arena = core_arena_new(1 << 20, 0);
	if (!s->arena) {
		free(s);
		return NULL;
	}
	if (opt)
		s->opt = *opt;
	if (!s->opt.max_file_bytes)
		s->opt.max_file_bytes = DEFAULT_MAX_FILE;
	return s;
}

void rules_set_free(rules_set *s)
{
	if (!s)
		return;
	core_arena_free(s->arena);
	free(s->rules);
	free(s->msgs);
	free(s);
}

int rules_add_msg(rules_set *s, rules_severity sev, const char *file, uint32_t line, uint32_t col,
		   const char *reason)
{
	if (core_grow((void **)&s->msgs, &s->capmsgs, s->nmsgs, sizeof *s->msgs, 64) != 0)
		return CORE_ENOMEM;
	rules_msg *m = &s->msgs[s->nmsgs];
	m->severity = (uint8_t)sev, m->file = file, m->line = line, m->col = col;
	m->reason = core_arena_strndup(s->arena, reason, strlen(reason));
	if (!m->reason)
		return CORE_ENOMEM;
	s->nmsgs++;
	return 0;
}

static rules_rule *new_rule(rules_set *s)
{
	if (core_grow((void **)&s->rules, &s->caprules, s->nrules, sizeof *s->rules, 256) != 0)
		return NULL;
	rules_rule *r = &s->rules[s->nrules];
	memset(r, 0, sizeof *r);
	return r;
}

/* ---- YAML helpers ------------------------------------------------------------ */
/* 1-based position of node n: its token, or its first key or item. */
static void node_pos(struct fy_node *n, uint32_t *line, uint32_t *col)
{
	for (int depth = 0; n && depth < 8; depth++) {
		if (fy_node_get_type(n) == FYNT_SCALAR) {
			const struct fy_mark *m = fy_token_start_mark(fy_node_get_scalar_token(n));
			if (m) {
				*line = (uint32_t)m->line + 1, *col = (uint32_t)m->column + 1;
				return;
			}
			return;
		}
		void *it = NULL;
		if (fy_node_get_type(n) == FYNT_MAPPING) {
			struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
			n = p ? fy_node_pair_key(p) : NULL;
		} else {
			n = fy_node_sequence_iterate(n, &it);
		}
	}
}

int rules_fail(rules_doc *d, struct fy_node *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof d->why, fmt, ap);
	va_end(ap);
	if (at)
		node_pos(at, &d->line, &d->col);
	return CORE_EPARSE;
}

struct fy_node *rules_node(rules_doc *d, struct fy_node *n, bool *over)
{
	if (d->budget == 0) {
		*over = true;
		return NULL;
	}
	d->budget--;
	if (n && fy_node_is_alias(n))
		n = fy_node_resolve_alias(n);
	return n;
}

const char *rules_scalar(struct fy_node *n, size_t *len)
{
	if (!n) {
		*len = 0;
		return "";
	}
	if (fy_node_get_type(n) != FYNT_SCALAR)
		return NULL;
	const char *s = fy_node_get_scalar(n, len);
	if (!s)
		*len = 0;
	return s ? s : "";
}

int rules_str(rules_doc *d, struct fy_node *n, const char *what, const char **out)
{
	size_t len;
	const char *t = rules_scalar(n, &len);
	if (!t)
		return rules_fail(d, n, "'%s' must be a string", what);
	*out = core_arena_strndup(d->s->arena, t, len);
	return *out ? 0 : CORE_ENOMEM;
}

int rules_strlist(rules_doc *d, struct fy_node *n, const char *what, rules_strs *out)
{
	bool over = false;
	size_t cnt = n && fy_node_get_type(n) == FYNT_SEQUENCE ? (size_t)fy_node_sequence_item_count(n) : 1;
	void *it = NULL;

	out->n = 0;
	out->v = core_arena_alloc(d->s->arena, (cnt ? cnt : 1) * sizeof *out->v);
	if (!out->v)
		return CORE_ENOMEM;
	if (!n || fy_node_get_type(n) != FYNT_SEQUENCE) {
		out->n = 1;
		return rules_str(d, n, what, &out->v[0]);
	}
	for (struct fy_node *e; (e = fy_node_sequence_iterate(n, &it)) != NULL;) {
		e = rules_node(d, e, &over);
		if (over)
			return rules_fail(d, n, "document too large");
		int rc = rules_str(d, e, what, &out->v[out->n]);
		if (rc)
			return rc;
		out->n++;
	}
	return 0;
}

static bool all_digits(const char *s, size_t n, int base)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = base == 16 ? (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f') :
			  base == 8 ? c >= '0' && c <= '7' : c >= '0' && c <= '9';
		if (!ok)
			return false;
	}
	return true;
}

static bool is_float(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (!digits)
		return false;
	if (i < n && (s[i] | 32) == 'e') {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i >= n || !all_digits(s + i, 1, 10))
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

/* The YAML 1.2 core schema type of a scalar (plain style only). */
static uint8_t scalar_type(struct fy_node *n, const char *s, size_t len)
{
	if (n && fy_node_get_style(n) != FYNS_PLAIN)
		return RULES_V_STR;
	if (len == 0 || (len == 1 && s[0] == '~') ||
	    (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
		return RULES_V_NULL;
	if ((len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))) ||
	    (len == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))
		return RULES_V_BOOL;
	size_t sign = len && (s[0] == '-' || s[0] == '+');
	if (all_digits(s + sign, len - sign, 10))
		return RULES_V_INT;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && all_digits(s + 2, len - 2, s[1] == 'x' ? 16 : 8))
		return RULES_V_INT;
	return is_float(s, len) ? RULES_V_FLOAT : RULES_V_STR;
}

/* ---- detection ------------------------------------------------------------------ */
/* The values of one map entry: a scalar or a list of scalars. */
static int item_values(rules_doc *d, struct fy_node *key, struct fy_node *v, rules_raw **raw, size_t *n,
		       bool *from_list)
{
	bool over = false;
	*from_list = v && fy_node_get_type(v) == FYNT_SEQUENCE;
	size_t cnt = *from_list ? (size_t)fy_node_sequence_item_count(v) : 1;
	void *it = NULL;

	*n = 0;
	*raw = core_arena_alloc(d->s->arena, (cnt ? cnt : 1) * sizeof **raw);
	if (!*raw)
		return CORE_ENOMEM;
	if (v && fy_node_get_type(v) == FYNT_MAPPING)
		return rules_fail(d, key, "the value of a field cannot be a map");
	struct fy_node *e = *from_list ? NULL : v;
	for (size_t i = 0; i < cnt; i++) {
		if (*from_list)
			e = rules_node(d, fy_node_sequence_iterate(v, &it), &over);
		if (over)
			return rules_fail(d, key, "document too large");
		if (e && fy_node_get_type(e) != FYNT_SCALAR)
			return rules_fail(d, e, "a list of values can only hold plain values");
		rules_raw *r = &(*raw)[(*n)++];
		r->s = rules_scalar(e, &r->len);
		r->type = scalar_type(e, r->s, r->len);
	}
	return 0;
}

/* Spends it's values from the file's budget. */
static int spend(rules_doc *d, struct fy_node *key, const rules_item *it)
{
	if (it->nvalues > *d->values_left)
		return rules_fail(d, key, "file too large: more than %zu values after expanding the modifiers",
				  FILE_VALUE_BUDGET);
	*d->values_left -= it->nvalues;
	return 0;
}

static int add_item(rules_doc *d, rules_alt *alt, struct fy_node *key, const char *k, size_t kl,
		    struct fy_node *v)
{
	rules_raw *raw;
	size_t n;
	bool from_list;
	int rc = item_values(d, key, v, &raw, &n, &from_list);
	if (rc)
		return rc;
	rules_item *it = &alt->items[alt->nitems];
	rc = rules_item_build(d->s->arena, &d->s->opt, k, kl, raw, n, from_list, it, d->why, sizeof d->why);
	if (rc == CORE_EPARSE) {
		node_pos(key, &d->line, &d->col);
		return rc;
	}
	if (rc)
		return rc;
	node_pos(key, &it->line, &it->col);
	alt->nitems++;
	return spend(d, key, it);
}

/* A map of "field|mods: values" entries -> one alternative (AND). */
static int map_alt(rules_doc *d, struct fy_node *map, rules_alt *alt)
{
	bool over = false;
	size_t cnt = (size_t)fy_node_mapping_item_count(map);
	void *it = NULL;

	alt->nitems = 0;
	alt->items = core_arena_alloc(d->s->arena, (cnt ? cnt : 1) * sizeof *alt->items);
	if (!alt->items)
		return CORE_ENOMEM;
	if (cnt == 0)
		return rules_fail(d, map, "empty map in a search");
	for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(map, &it)) != NULL;) {
		struct fy_node *key = fy_node_pair_key(p), *v = rules_node(d, fy_node_pair_value(p), &over);
		size_t kl;
		const char *k = rules_scalar(key, &kl);
		if (over)
			return rules_fail(d, map, "document too large");
		if (!k)
			return rules_fail(d, map, "a field name must be a string");
		int rc = add_item(d, alt, key, k, kl, v);
		if (rc)
			return rc;
	}
	return 0;
}

/* A list: plain values form one keyword item, each map one alternative. */
static int list_search(rules_doc *d, struct fy_node *key, struct fy_node *seq, rules_search *sr)
{
	bool over = false, keywords = false;
	size_t cnt = (size_t)fy_node_sequence_item_count(seq);
	void *it = NULL;

	sr->alts = core_arena_alloc(d->s->arena, (cnt + 1) * sizeof *sr->alts);
	if (!sr->alts)
		return CORE_ENOMEM;
	if (cnt == 0)
		return rules_fail(d, key, "search '%s' is empty", sr->name);
	for (struct fy_node *e; (e = fy_node_sequence_iterate(seq, &it)) != NULL;) {
		e = rules_node(d, e, &over);
		if (over)
			return rules_fail(d, key, "document too large");
		int rc = 0;
		if (e && fy_node_get_type(e) == FYNT_MAPPING)
			rc = map_alt(d, e, &sr->alts[sr->nalts++]);
		else if (e && fy_node_get_type(e) == FYNT_SEQUENCE)
			rc = rules_fail(d, e, "a search cannot hold a list of lists");
		else
			keywords = true;
		if (rc)
			return rc;
	}
	if (!keywords)
		return 0;
	/* the plain values, in order, as one keyword item */
	rules_alt *alt = &sr->alts[sr->nalts];
	rules_raw *raw = core_arena_alloc(d->s->arena, cnt * sizeof *raw);
	size_t n = 0;
	alt->items = core_arena_alloc(d->s->arena, sizeof *alt->items);
	alt->nitems = 0;
	if (!raw || !alt->items)
		return CORE_ENOMEM;
	it = NULL;
	for (struct fy_node *e; (e = fy_node_sequence_iterate(seq, &it)) != NULL;) {
		e = fy_node_is_alias(e) ? fy_node_resolve_alias(e) : e;
		if (e && fy_node_get_type(e) != FYNT_SCALAR)
			continue;
		raw[n].s = rules_scalar(e, &raw[n].len);
		raw[n].type = scalar_type(e, raw[n].s, raw[n].len);
		n++;
	}
	int rc = rules_item_build(d->s->arena, &d->s->opt, "", 0, raw, n, true, alt->items, d->why, sizeof d->why);
	if (rc == CORE_EPARSE)
		node_pos(key, &d->line, &d->col);
	if (rc)
		return rc;
	node_pos(key, &alt->items->line, &alt->items->col);
	alt->nitems = 1;
	sr->nalts++;
	return spend(d, key, alt->items);
}

static int parse_search(rules_doc *d, struct fy_node *key, struct fy_node *v, rules_search *sr)
{
	if (!v || (fy_node_get_type(v) == FYNT_SCALAR && scalar_type(v, "", 0) == RULES_V_NULL &&
		   fy_node_get_scalar_length(v) == 0))
		return rules_fail(d, key, "search '%s' is empty", sr->name);
	if (fy_node_get_type(v) == FYNT_MAPPING) {
		sr->alts = core_arena_alloc(d->s->arena, sizeof *sr->alts);
		if (!sr->alts)
			return CORE_ENOMEM;
		sr->nalts = 1;
		return map_alt(d, v, sr->alts);
	}
	if (fy_node_get_type(v) == FYNT_SEQUENCE)
		return list_search(d, key, v, sr);
	/* a single plain value: one keyword */
	sr->alts = core_arena_alloc(d->s->arena, sizeof *sr->alts);
	if (!sr->alts)
		return CORE_ENOMEM;
	sr->nalts = 0;
	sr->alts->nitems = 0;
	sr->alts->items = core_arena_alloc(d->s->arena, sizeof *sr->alts->items);
	if (!sr->alts->items)
		return CORE_ENOMEM;
	sr->nalts = 1;
	return add_item(d, sr->alts, key, "", 0, v);
}

/* Parses one condition text; failures point into the scalar. */
static int parse_condition(rules_doc *d, struct fy_node *c, rules_rule *r, rules_cond **out)
{
	size_t len;
	const char *t = rules_scalar(c, &len);
	core_err err = {0};

	if (!t || len == 0)
		return rules_fail(d, c, "'condition' must be a non-empty string");
	int rc = rules_cond_parse(t, len, r->search_names, r->nsearches, d->s->arena, out, &err);
	if (rc == 0)
		return 0;
	if (rc != CORE_EPARSE)
		return rc;
	rules_fail(d, c, "condition: %s", err.msg);
	if (d->line && err.offset < len && !memchr(t, '\n', err.offset)) {
		enum fy_node_style st = fy_node_get_style(c);
		d->col += (uint32_t)err.offset + (st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED);
	}
	return CORE_EPARSE;
}

static int parse_conditions(rules_doc *d, struct fy_node *cond, rules_rule *r)
{
	bool over = false;
	bool list = fy_node_get_type(cond) == FYNT_SEQUENCE;
	size_t cnt = list ? (size_t)fy_node_sequence_item_count(cond) : 1;
	void *it = NULL;

	if (cnt == 0)
		return rules_fail(d, cond, "'condition' is an empty list");
	r->conds = core_arena_alloc(d->s->arena, cnt * sizeof *r->conds);
	if (!r->conds)
		return CORE_ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		struct fy_node *c = list ? rules_node(d, fy_node_sequence_iterate(cond, &it), &over) : cond;
		if (over)
			return rules_fail(d, cond, "document too large");
		int rc = parse_condition(d, c, r, &r->conds[r->nconds]);
		if (rc)
			return rc;
		r->nconds++;
	}
	return 0;
}

int rules_detection(rules_doc *d, struct fy_node *map, struct fy_node *at, bool skip_rules, rules_rule *r)
{
	bool over = false;
	struct fy_node *cond = NULL, *condkey = NULL;
	size_t cnt = (size_t)fy_node_mapping_item_count(map);
	void *it = NULL;

	r->searches = core_arena_alloc(d->s->arena, (cnt ? cnt : 1) * sizeof *r->searches);
	r->search_names = core_arena_alloc(d->s->arena, (cnt ? cnt : 1) * sizeof *r->search_names);
	if (!r->searches || !r->search_names)
		return CORE_ENOMEM;
	for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(map, &it)) != NULL;) {
		struct fy_node *key = fy_node_pair_key(p), *v = rules_node(d, fy_node_pair_value(p), &over);
		size_t kl;
		const char *k = rules_scalar(key, &kl);
		if (over)
			return rules_fail(d, map, "document too large");
		if (!k || kl == 0)
			return rules_fail(d, key, "a search identifier must be a string");
		if (kl == 9 && memcmp(k, "condition", 9) == 0) {
			cond = v, condkey = key;
			continue;
		}
		if (skip_rules && kl == 5 && memcmp(k, "rules", 5) == 0)
			continue;
		if (kl == 9 && memcmp(k, "timeframe", 9) == 0)
			return rules_fail(d, key, "'timeframe' belongs to the Sigma v1 aggregation syntax, "
						  "which was removed; use a correlation rule");
		rules_search *sr = &r->searches[r->nsearches];
		memset(sr, 0, sizeof *sr);
		sr->name = core_arena_strndup(d->s->arena, k, kl);
		if (!sr->name)
			return CORE_ENOMEM;
		int rc = parse_search(d, key, v, sr);
		if (rc)
			return rc;
		r->search_names[r->nsearches++] = sr->name;
	}
	if (!condkey)
		return rules_fail(d, at, "missing 'condition'");
	if (!cond)
		return rules_fail(d, condkey, "'condition' is empty");
	return parse_conditions(d, cond, r);
}

/* ---- one document ------------------------------------------------------------ */
/* The top-level keys the loader reads (NULL when absent). */
typedef struct top {
	struct fy_node *key[32], *val[32];
} top;

enum {
	K_TITLE, K_ID, K_NAME, K_DESCRIPTION, K_AUTHOR, K_DATE, K_MODIFIED, K_LICENSE, K_TAXONOMY,
	K_REFERENCES, K_TAGS, K_FALSEPOSITIVES, K_FIELDS, K_SCOPE, K_RELATED, K_LEVEL, K_STATUS,
	K_LOGSOURCE, K_DETECTION, K_CORRELATION, K_FILTER, K_ACTION, K_GENERATE, K_NKEYS
};

static const char *const top_names[K_NKEYS] = {
	"title", "id", "name", "description", "author", "date", "modified", "license", "taxonomy",
	"references", "tags", "falsepositives", "fields", "scope", "related", "level", "status",
	"logsource", "detection", "correlation", "filter", "action", "generate",
};

static int read_top(rules_doc *d, struct fy_node *root, top *t)
{
	bool over = false;
	void *it = NULL;

	memset(t, 0, sizeof *t);
	for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(root, &it)) != NULL;) {
		struct fy_node *key = fy_node_pair_key(p), *v = rules_node(d, fy_node_pair_value(p), &over);
		size_t kl;
		const char *k = rules_scalar(key, &kl);
		if (over)
			return rules_fail(d, root, "document too large");
		for (int i = 0; k && i < K_NKEYS; i++)
			if (strlen(top_names[i]) == kl && memcmp(top_names[i], k, kl) == 0)
				t->key[i] = key, t->val[i] = v;
	}
	return 0;
}

/* Index of text in names[0..n) (case-sensitive), or -1. */
static int lookup(struct fy_node *v, const char *const *names, int n)
{
	size_t len;
	const char *s = rules_scalar(v, &len);
	for (int i = 0; s && i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return -1;
}

static const char *const status_names[] = {"", "stable", "test", "experimental", "deprecated", "unsupported"};
static const char *const level_names[] = {"", "informational", "low", "medium", "high", "critical"};

static int read_related(rules_doc *d, struct fy_node *key, struct fy_node *v, rules_rule *r)
{
	static const char *const types[] = {"derived", "obsolete", "merged", "renamed", "similar"};
	bool over = false;
	void *it = NULL;

	if (!v || fy_node_get_type(v) != FYNT_SEQUENCE)
		return rules_fail(d, key, "'related' must be a list of {id, type}");
	r->related = core_arena_alloc(d->s->arena, ((size_t)fy_node_sequence_item_count(v) + 1) * sizeof *r->related);
	if (!r->related)
		return CORE_ENOMEM;
	for (struct fy_node *e; (e = fy_node_sequence_iterate(v, &it)) != NULL;) {
		e = rules_node(d, e, &over);
		if (over || !e || fy_node_get_type(e) != FYNT_MAPPING)
			return rules_fail(d, e ? e : key, "'related' must be a list of {id, type}");
		rules_related *rel = &r->related[r->nrelated];
		struct fy_node *id = fy_node_mapping_lookup_by_string(e, "id", FY_NT);
		struct fy_node *ty = fy_node_mapping_lookup_by_string(e, "type", FY_NT);
		if (!id || !ty)
			return rules_fail(d, e, "a 'related' entry needs 'id' and 'type'");
		int rc = rules_str(d, id, "related.id", &rel->id);
		if (rc == 0)
			rc = rules_str(d, ty, "related.type", &rel->type);
		if (rc == 0 && lookup(ty, types, 5) < 0)
			rc = rules_fail(d, ty, "unknown 'related' type '%s'", rel->type);
		if (rc)
			return rc;
		r->nrelated++;
	}
	return 0;
}

static int read_logsource(rules_doc *d, struct fy_node *key, struct fy_node *v, rules_rule *r)
{
	static const char *const names[] = {"category", "product", "service", "definition"};
	const char **dst[] = {&r->logsource.category, &r->logsource.product, &r->logsource.service,
			      &r->logsource.definition};

	if (!v || fy_node_get_type(v) != FYNT_MAPPING)
		return rules_fail(d, key, "'logsource' must be a map");
	for (int i = 0; i < 4; i++) {
		struct fy_node *n = fy_node_mapping_lookup_by_string(v, names[i], FY_NT);
		if (!n)
			continue;
		int rc = rules_str(d, n, names[i], dst[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* title, id, ... into r (strings and lists). */
static int read_meta(rules_doc *d, const top *t, rules_rule *r)
{
	const char **str[] = {&r->title, &r->id, &r->name, &r->description, &r->author, &r->date,
			      &r->modified, &r->license, &r->taxonomy};
	rules_strs *lists[] = {&r->references, &r->tags, &r->falsepositives, &r->fields, &r->scope};
	int rc = 0;

	for (int i = K_TITLE; i <= K_TAXONOMY && rc == 0; i++)
		if (t->key[i])
			rc = rules_str(d, t->val[i], top_names[i], str[i - K_TITLE]);
	for (int i = K_REFERENCES; i <= K_SCOPE && rc == 0; i++)
		if (t->key[i] && t->val[i])
			rc = rules_strlist(d, t->val[i], top_names[i], lists[i - K_REFERENCES]);
	if (rc == 0 && t->key[K_RELATED])
		rc = read_related(d, t->key[K_RELATED], t->val[K_RELATED], r);
	if (rc == 0 && t->key[K_LEVEL]) {
		int l = lookup(t->val[K_LEVEL], level_names + 1, 5);
		if (l < 0)
			return rules_fail(d, t->val[K_LEVEL] ? t->val[K_LEVEL] : t->key[K_LEVEL],
					  "unknown level (informational, low, medium, high or critical)");
		r->level = (uint8_t)(l + 1);
	}
	if (rc == 0 && r->title && strlen(r->title) > 256)
		rc = rules_fail(d, t->val[K_TITLE], "'title' is longer than 256 characters");
	return rc;
}

static int read_kind(rules_doc *d, const top *t, struct fy_node *root, rules_rule *r)
{
	int nk = !!t->key[K_DETECTION] + !!t->key[K_CORRELATION] + !!t->key[K_FILTER];

	if (nk == 0)
		return rules_fail(d, root, "missing 'detection' (or 'correlation' or 'filter')");
	if (nk > 1)
		return rules_fail(d, t->key[K_CORRELATION] ? t->key[K_CORRELATION] : t->key[K_FILTER],
				  "a document holds one of 'detection', 'correlation' and 'filter'");
	if (t->key[K_CORRELATION]) {
		r->kind = RULES_KIND_CORRELATION;
		if (t->key[K_GENERATE]) {
			int b = lookup(t->val[K_GENERATE], (const char *const[]){"false", "true"}, 2);
			if (b < 0)
				return rules_fail(d, t->key[K_GENERATE], "'generate' must be true or false");
			r->corr.generate = b == 1;
			r->corr.generate_top = true;
		}
		return rules_correlation_parse(d, t->val[K_CORRELATION], t->key[K_CORRELATION], r);
	}
	if (!t->key[K_LOGSOURCE])
		return rules_fail(d, root, "missing 'logsource'");
	int rc = read_logsource(d, t->key[K_LOGSOURCE], t->val[K_LOGSOURCE], r);
	if (rc)
		return rc;
	if (t->key[K_FILTER]) {
		r->kind = RULES_KIND_FILTER;
		return rules_filter_parse(d, t->val[K_FILTER], t->key[K_FILTER], r);
	}
	r->kind = RULES_KIND_RULE;
	if (!t->val[K_DETECTION] || fy_node_get_type(t->val[K_DETECTION]) != FYNT_MAPPING)
		return rules_fail(d, t->key[K_DETECTION], "'detection' must be a map");
	return rules_detection(d, t->val[K_DETECTION], t->key[K_DETECTION], false, r);
}

/* 0 loaded, 1 deprecated (skipped), CORE_EPARSE failed (see d), CORE_ENOMEM. */
static int load_doc(rules_doc *d, struct fy_node *root, rules_rule *r)
{
	top t;
	int rc;

	if (fy_node_get_type(root) != FYNT_MAPPING)
		return rules_fail(d, root, "a rule must be a YAML map");
	if ((rc = read_top(d, root, &t)) != 0)
		return rc;
	if (t.key[K_ACTION]) {
		size_t l;
		d->v1 = true;
		const char *a = rules_scalar(t.val[K_ACTION], &l);
		return rules_fail(d, t.key[K_ACTION], "Sigma v1 rule collections ('action: %.*s') are not supported",
				  a ? (int)(l > 32 ? 32 : l) : 0, a ? a : "");
	}
	if (t.key[K_STATUS]) {
		int st = lookup(t.val[K_STATUS], status_names + 1, 5);
		if (st < 0)
			return rules_fail(d, t.val[K_STATUS] ? t.val[K_STATUS] : t.key[K_STATUS],
					  "unknown status (stable, test, experimental, deprecated or unsupported)");
		r->status = (uint8_t)(st + 1);
		if (r->status == RULES_STATUS_DEPRECATED) {
			rules_fail(d, t.val[K_STATUS], "deprecated rule skipped");
			return 1;
		}
		if (r->status == RULES_STATUS_UNSUPPORTED)
			return rules_fail(d, t.val[K_STATUS], "status 'unsupported': the rule cannot be used "
								"in its current state");
	}
	if (!t.key[K_TITLE])
		return rules_fail(d, root, "missing 'title'");
	if ((rc = read_meta(d, &t, r)) != 0)
		return rc;
	return read_kind(d, &t, root, r);
}

/* ---- streams, files and folders ------------------------------------------------ */
/* Records the outcome of one document. */
static int finish_doc(rules_set *s, rules_doc *d, int rc)
{
	if (rc == 0) {
		s->nloaded[s->rules[s->nrules].kind]++;
		s->nrules++;
		return 0;
	}
	if (rc == 1) {
		s->nskipped++;
		return rules_add_msg(s, RULES_SEV_WARNING, d->file, d->line, d->col, d->why);
	}
	if (rc != CORE_EPARSE)
		return rc;
	s->nfailed++;
	return rules_add_msg(s, RULES_SEV_ERROR, d->file, d->line, d->col, d->why);
}

/* The first error the parser reported, as a failed document. */
static int yaml_error(rules_set *s, struct fy_diag *diag, const char *file)
{
	struct fy_diag_error *e = NULL;
	void *it = NULL;
	char why[256];
	uint32_t line = 0, col = 0;

	while ((e = fy_diag_errors_iterate(diag, &it)) != NULL && e->type != FYET_ERROR)
		;
	if (e) {
		snprintf(why, sizeof why, "YAML: %s", e->msg ? e->msg : "syntax error");
		line = (uint32_t)e->line + 1, col = (uint32_t)e->column + 1;
	} else {
		snprintf(why, sizeof why, "YAML: syntax error");
	}
	s->nfailed++;
	return rules_add_msg(s, RULES_SEV_ERROR, file, line, col, why);
}

static void quiet(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag, (void)user, (void)buf, (void)len;
}

/* Loads every document of one stream; text[0..n) is borrowed. */
static int load_docs(rules_set *s, struct fy_parser *fyp, struct fy_diag *diag, const char *file)
{
	bool v1 = false;
	size_t values_left = FILE_VALUE_BUDGET;
	int rc = 0;

	for (;;) {
		struct fy_document *fyd = fy_parse_load_document(fyp);
		if (!fyd)
			return fy_parser_get_stream_error(fyp) ? yaml_error(s, diag, file) : rc;
		struct fy_node *root = fy_document_root(fyd);
		if (root) {
			rules_doc d = {.s = s, .file = file, .budget = DOC_NODE_BUDGET, .values_left = &values_left};
			rules_rule *r = new_rule(s);
			uint32_t line = 1, col = 1;
			node_pos(root, &line, &col);
			rc = r ? 0 : CORE_ENOMEM;
			if (r) {
				r->file = file;
				r->path = s->cur_path;
				r->line = line;
				int lr = v1 ? rules_fail(&d, root, "part of a Sigma v1 rule collection "
								    "('action:' earlier in the file), not supported") :
					    load_doc(&d, root, r);
				if (v1)
					d.col = 1;
				v1 = v1 || d.v1;
				rc = finish_doc(s, &d, lr);
			}
		}
		fy_parse_document_destroy(fyp, fyd);
		if (rc)
			return rc;
	}
}

static int load_stream(rules_set *s, const char *text, size_t n, const char *file)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag;
	struct fy_parser *fyp = NULL;
	int rc = CORE_ENOMEM;

	/* YAML is Unicode text; refusing bad bytes here also keeps libfyaml 0.7
	 * away from a loop it falls into on some invalid sequences. */
	size_t bad = core_utf8_invalid(text, n);
	if (bad < n) {
		uint32_t line = 1, col = 1;
		for (size_t i = 0; i < bad; i++, col++)
			if (text[i] == '\n')
				line++, col = 0;
		char msg[96];
		snprintf(msg, sizeof msg, "invalid UTF-8 (byte 0x%02x): YAML must be Unicode text",
			 (unsigned char)text[bad]);
		s->nfailed++;
		return rules_add_msg(s, RULES_SEV_ERROR, file, line, col, msg);
	}
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL, dcfg.output_fn = quiet, dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (!diag)
		return CORE_ENOMEM;
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
	fyp = fy_parser_create(&cfg);
	if (!fyp || fy_parser_set_string(fyp, text, n) != 0)
		goto out;
	rc = load_docs(s, fyp, diag, file);
out:
	if (fyp)
		fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	return rc;
}

int rules_load_string(rules_set *s, const char *text, size_t n, const char *name)
{
	const char *file = core_arena_strndup(s->arena, name, strlen(name));
	if (!file)
		return CORE_ENOMEM;
	s->nfiles++;
	return load_stream(s, text, n, file);
}

static int file_failure(rules_set *s, const char *file, const char *why)
{
	s->nfailed++;
	return rules_add_msg(s, RULES_SEV_ERROR, file, 0, 0, why);
}

int rules_load_file(rules_set *s, const char *path, const char *display)
{
	const char *file = core_arena_strndup(s->arena, display ? display : path, strlen(display ? display : path));
	char *buf = NULL, why[256];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (!file) {
		rc = CORE_ENOMEM;
		goto out;
	}
	s->nfiles++;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, sizeof why, "cannot read: %s", strerror(errno));
		rc = file_failure(s, file, why);
		goto out;
	}
	if ((uint64_t)st.st_size > s->opt.max_file_bytes) {
		snprintf(why, sizeof why, "file larger than %zu bytes", s->opt.max_file_bytes);
		rc = file_failure(s, file, why);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = CORE_ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[got] = 0;
	s->cur_path = core_arena_strndup(s->arena, path, strlen(path));
	rc = s->cur_path ? load_stream(s, buf, got, file) : CORE_ENOMEM;
	s->cur_path = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_rule_file(const char *name)
{
	size_t n = strlen(name);
	return (n > 4 && strcmp(name + n - 4, ".yml") == 0) || (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

/* The sorted names in folder path (hidden ones left out); malloc-owned. */
static int list_dir(const char *path, char ***names, size_t *n)
{
	DIR *dir = opendir(path);
	size_t cap = 0;
	int rc = 0;

	*names = NULL, *n = 0;
	if (!dir)
		return CORE_EIO;
	for (struct dirent *e; (e = readdir(dir)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		if (core_grow((void **)names, &cap, *n, sizeof **names, 64) != 0) {
			rc = CORE_ENOMEM;
			goto out;
		}
		if (!((*names)[*n] = strdup(e->d_name))) {
			rc = CORE_ENOMEM;
			goto out;
		}
		(*n)++;
	}
	if (*n)
		qsort(*names, *n, sizeof **names, cmp_name);
out:
	closedir(dir);
	return rc;
}

static int walk(rules_set *s, core_buf *path, size_t rel, int depth)
{
	char **names = NULL;
	size_t n = 0, base = path->len;
	int rc = list_dir(path->data, &names, &n);

	if (rc == CORE_EIO) {
		char why[256];
		snprintf(why, sizeof why, "cannot read the folder: %s", strerror(errno));
		rc = file_failure(s, core_arena_strndup(s->arena, path->data, path->len), why);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;
		path->len = base;
		if ((rc = core_buf_printf(path, "/%s", names[i])) != 0)
			break;
		if (stat(path->data, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < MAX_DIR_DEPTH)
			rc = walk(s, path, rel, depth + 1);
		else if (S_ISREG(st.st_mode) && is_rule_file(names[i]))
			rc = rules_load_file(s, path->data, path->data + rel);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	path->len = base;
	if (path->data)
		path->data[base] = 0;
	return rc;
}

int rules_load_path(rules_set *s, const char *path)
{
	struct stat st;
	core_buf b;
	size_t n = strlen(path);
	int rc;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return rules_load_file(s, path, NULL);
	while (n > 1 && path[n - 1] == '/')
		n--;
	core_buf_init(&b, 1 << 16);
	rc = core_buf_add(&b, path, n);
	if (rc == 0)
		rc = walk(s, &b, n + 1, 0);
	core_buf_free(&b);
	return rc;
}
