/* meta.c: the meta documents of Sigma: correlation rules (type, rules,
 * group-by, timespan, condition, aliases) and filters (rules + a detection),
 * linking their references to loaded rules by id or name, duplicate-id
 * warnings, the placeholder file read for `expand`, and display names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rules_int.h"

static const char *const corr_names[] = {"event_count", "value_count", "temporal", "temporal_ordered",
					 "value_sum", "value_avg", "value_percentile"};

const char *rules_corr_type_name(rules_corr_type t)
{
	return (unsigned)t < 7 ? corr_names[t] : "?";
}

const char *rules_level_name(rules_level l)
{
	static const char *const n[] = {"", "informational", "low", "medium", "high", "critical"};
	return (unsigned)l < 6 ? n[l] : "?";
}

const char *rules_status_name(rules_status st)
{
	static const char *const n[] = {"", "stable", "test", "experimental", "deprecated", "unsupported"};
	return (unsigned)st < 6 ? n[st] : "?";
}

static int refs_from(rules_doc *d, struct fy_node *key, struct fy_node *v, rules_ref **refs, uint32_t *n)
{
	rules_strs l = {0};
	int rc;

	if (!v || (fy_node_get_type(v) == FYNT_SEQUENCE && fy_node_sequence_item_count(v) == 0))
		return rules_fail(d, key, "'rules' must name at least one rule");
	if ((rc = rules_strlist(d, v, "rules", &l)) != 0)
		return rc;
	*refs = core_arena_alloc(d->s->arena, l.n * sizeof **refs);
	if (!*refs)
		return CORE_ENOMEM;
	for (uint32_t i = 0; i < l.n; i++)
		(*refs)[i].text = l.v[i], (*refs)[i].target = -1;
	*n = l.n;
	return 0;
}

/* "<digits><s|m|h|d>" -> nanoseconds (specification: seconds to days). */
static int parse_timespan(rules_doc *d, struct fy_node *v, int64_t *ns)
{
	size_t n;
	const char *s = rules_scalar(v, &n);
	int64_t x = 0;
	size_t i = 0;

	for (; s && i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (x > INT64_MAX / 10 / 1000000000 / 86400)
			return rules_fail(d, v, "'timespan' is too long");
		x = x * 10 + (s[i] - '0');
	}
	if (!s || i == 0 || i + 1 != n)
		return rules_fail(d, v, "'timespan' must be a number and a unit (s, m, h or d), like 5m");
	static const char units[] = "smhd";
	static const int64_t mult[] = {1, 60, 3600, 86400};
	const char *u = memchr(units, s[i], 4);
	if (!u)
		return rules_fail(d, v, "'timespan' unit must be s, m, h or d, not '%c'", s[i]);
	if (x == 0)
		return rules_fail(d, v, "'timespan' must be longer than 0");
	*ns = x * mult[u - units] * 1000000000;
	return 0;
}

static int parse_cmp(rules_doc *d, struct fy_node *v, rules_correlation *c)
{
	static const char *const ops[] = {"gt", "gte", "lt", "lte", "eq", "neq"};
	double *dst[] = {&c->gt, &c->gte, &c->lt, &c->lte, &c->eq, &c->neq};
	void *it = NULL;

	if (fy_node_get_type(v) != FYNT_MAPPING)
		return rules_fail(d, v, "the correlation 'condition' must be a map (gte: 10)");
	for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(v, &it)) != NULL;) {
		struct fy_node *key = fy_node_pair_key(p), *val = fy_node_pair_value(p);
		size_t kl, vl;
		const char *k = rules_scalar(key, &kl);
		int op = -1, rc;
		if (k && kl == 5 && memcmp(k, "field", 5) == 0) {
			if ((rc = rules_strlist(d, val, "field", &c->fields)) != 0)
				return rc;
			continue;
		}
		for (int i = 0; k && i < 6; i++)
			if (strlen(ops[i]) == kl && memcmp(ops[i], k, kl) == 0)
				op = i;
		if (op < 0)
			return rules_fail(d, key, "unknown correlation condition '%.*s' (gt, gte, lt, lte, eq, neq, field)",
					  k ? (int)(kl > 32 ? 32 : kl) : 0, k ? k : "");
		const char *t = rules_scalar(val, &vl);
		char buf[64], *end;
		if (!t || vl == 0 || vl >= sizeof buf)
			return rules_fail(d, key, "'%s' needs a number", ops[op]);
		memcpy(buf, t, vl);
		buf[vl] = 0;
		*dst[op] = strtod(buf, &end);
		if (*end)
			return rules_fail(d, val, "'%s' needs a number, not '%s'", ops[op], buf);
		c->cmp |= 1u << op;
	}
	if (!c->cmp)
		return rules_fail(d, v, "the correlation 'condition' needs gt, gte, lt, lte, eq or neq");
	return 0;
}

static int parse_aliases(rules_doc *d, struct fy_node *v, rules_correlation *c)
{
	void *it = NULL;
	if (!v || fy_node_get_type(v) != FYNT_MAPPING)
		return rules_fail(d, v, "'aliases' must be a map: alias -> {rule name: field}");
	c->aliases = core_arena_alloc(d->s->arena, ((size_t)fy_node_mapping_item_count(v) + 1) * sizeof *c->aliases);
	if (!c->aliases)
		return CORE_ENOMEM;
	for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(v, &it)) != NULL;) {
		rules_alias *al = &c->aliases[c->naliases];
		struct fy_node *m = fy_node_pair_value(p);
		memset(al, 0, sizeof *al);
		void *it2 = NULL;
		int rc = rules_str(d, fy_node_pair_key(p), "alias", &al->alias);
		if (rc)
			return rc;
		if (!m || fy_node_get_type(m) != FYNT_MAPPING)
			return rules_fail(d, fy_node_pair_key(p), "alias '%s' must map rule names to fields", al->alias);
		size_t cnt = (size_t)fy_node_mapping_item_count(m) + 1;
		al->rule = core_arena_alloc(d->s->arena, cnt * sizeof *al->rule);
		al->field = core_arena_alloc(d->s->arena, cnt * sizeof *al->field);
		if (!al->rule || !al->field)
			return CORE_ENOMEM;
		for (struct fy_node_pair *q; (q = fy_node_mapping_iterate(m, &it2)) != NULL; al->n++)
			if ((rc = rules_str(d, fy_node_pair_key(q), "alias rule", &al->rule[al->n])) != 0 ||
			    (rc = rules_str(d, fy_node_pair_value(q), "alias field", &al->field[al->n])) != 0)
				return rc;
		c->naliases++;
	}
	return 0;
}

int rules_correlation_parse(rules_doc *d, struct fy_node *map, struct fy_node *at, rules_rule *r)
{
	rules_correlation *c = &r->corr;
	struct fy_node *type, *rules, *gb, *ts, *cond, *al;
	int rc, t;

	if (!map || fy_node_get_type(map) != FYNT_MAPPING)
		return rules_fail(d, at, "'correlation' must be a map");
	type = fy_node_mapping_lookup_by_string(map, "type", FY_NT);
	rules = fy_node_mapping_lookup_by_string(map, "rules", FY_NT);
	gb = fy_node_mapping_lookup_by_string(map, "group-by", FY_NT);
	ts = fy_node_mapping_lookup_by_string(map, "timespan", FY_NT);
	cond = fy_node_mapping_lookup_by_string(map, "condition", FY_NT);
	al = fy_node_mapping_lookup_by_string(map, "aliases", FY_NT);
	if (!type)
		return rules_fail(d, at, "correlation: missing 'type'");
	t = -1;
	for (int i = 0; i < 7; i++) {
		size_t n;
		const char *s = rules_scalar(type, &n);
		if (s && strlen(corr_names[i]) == n && memcmp(corr_names[i], s, n) == 0)
			t = i;
	}
	if (t < 0)
		return rules_fail(d, type, "unknown correlation type (event_count, value_count, temporal, "
					   "temporal_ordered, value_sum, value_avg, value_percentile)");
	c->type = (uint8_t)t;
	if (!rules)
		return rules_fail(d, at, "correlation: missing 'rules'");
	if ((rc = refs_from(d, at, rules, &c->refs, &c->nrefs)) != 0)
		return rc;
	if (gb && (rc = rules_strlist(d, gb, "group-by", &c->group_by)) != 0)
		return rc;
	if (!ts)
		return rules_fail(d, at, "correlation: missing 'timespan'");
	if ((rc = parse_timespan(d, ts, &c->timespan_ns)) != 0)
		return rc;
	if (al && (rc = parse_aliases(d, al, c)) != 0)
		return rc;
	if (cond && (rc = parse_cmp(d, cond, c)) != 0)
		return rc;
	/* `generate` belongs at the top level (v2.1 schema); pySigma reads it
	 * inside `correlation:`, so rules written for it put it here. Accepted
	 * here too when the top level does not say it. */
	struct fy_node *gen = fy_node_mapping_lookup_by_string(map, "generate", FY_NT);
	if (gen) {
		size_t n = 0;
		const char *s = rules_scalar(gen, &n);
		bool yes = s && n == 4 && strncasecmp(s, "true", 4) == 0;
		if (!yes && !(s && n == 5 && strncasecmp(s, "false", 5) == 0))
			return rules_fail(d, gen, "'generate' must be true or false");
		if (!c->generate_top)
			c->generate = yes;
	}
	bool temporal = t == RULES_CORR_TEMPORAL || t == RULES_CORR_TEMPORAL_ORDERED;
	if (!cond && !temporal)
		return rules_fail(d, at, "correlation: '%s' needs a 'condition'", corr_names[t]);
	if (t != RULES_CORR_EVENT_COUNT && !temporal && c->fields.n == 0)
		return rules_fail(d, cond, "correlation: '%s' needs 'field' in its condition", corr_names[t]);
	return 0;
}

int rules_filter_parse(rules_doc *d, struct fy_node *map, struct fy_node *at, rules_rule *r)
{
	struct fy_node *rules;
	int rc;

	if (!map || fy_node_get_type(map) != FYNT_MAPPING)
		return rules_fail(d, at, "'filter' must be a map");
	rules = fy_node_mapping_lookup_by_string(map, "rules", FY_NT);
	if (!rules)
		return rules_fail(d, at, "filter: missing 'rules'");
	if ((rc = refs_from(d, at, rules, &r->filter.refs, &r->filter.nrefs)) != 0)
		return rc;
	return rules_detection(d, map, at, true, r);
}

/* ---- linking ---------------------------------------------------------------- */
typedef struct table {
	const char **key;
	int32_t *val;
	size_t mask;
} table;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Inserts key -> v; returns the index already there, or -1. */
static int32_t table_put(table *t, const char *key, int32_t v)
{
	for (size_t i = hash_str(key) & t->mask;; i = (i + 1) & t->mask) {
		if (!t->key[i]) {
			t->key[i] = key, t->val[i] = v;
			return -1;
		}
		if (strcmp(t->key[i], key) == 0)
			return t->val[i];
	}
}

static int32_t table_get(const table *t, const char *key)
{
	for (size_t i = hash_str(key) & t->mask; t->key[i]; i = (i + 1) & t->mask)
		if (strcmp(t->key[i], key) == 0)
			return t->val[i];
	return -1;
}

static void resolve(const table *t, rules_ref *refs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		refs[i].target = table_get(t, refs[i].text);
}

void rules_set_link(rules_set *s)
{
	size_t cap = 16;
	while (cap < 4 * s->nrules + 16)
		cap *= 2;
	table t = {.key = calloc(cap, sizeof *t.key), .val = calloc(cap, sizeof *t.val), .mask = cap - 1};

	if (!t.key || !t.val)
		goto out;
	for (size_t i = 0; i < s->nrules; i++) {
		rules_rule *r = &s->rules[i];
		int32_t prev = r->id ? table_put(&t, r->id, (int32_t)i) : -1;
		if (prev >= 0) {
			char why[300];
			snprintf(why, sizeof why, "duplicate id %s (also in %s)", r->id, s->rules[prev].file);
			if (rules_add_msg(s, RULES_SEV_WARNING, r->file, r->line, 1, why) != 0)
				goto out;
		}
		if (r->name)
			table_put(&t, r->name, (int32_t)i);
	}
	for (size_t i = 0; i < s->nrules; i++) {
		rules_rule *r = &s->rules[i];
		if (r->kind == RULES_KIND_CORRELATION)
			resolve(&t, r->corr.refs, r->corr.nrefs);
		else if (r->kind == RULES_KIND_FILTER)
			resolve(&t, r->filter.refs, r->filter.nrefs);
	}
out:
	free(t.key);
	free(t.val);
}

/* ---- placeholder files ---------------------------------------------------------- */
static int ph_fail(core_err *err, const char *path, struct fy_node *n, const char *what)
{
	const struct fy_mark *m = n && fy_node_get_type(n) == FYNT_SCALAR ?
					  fy_token_start_mark(fy_node_get_scalar_token(n)) : NULL;
	return core_err_set(err, CORE_EPARSE, SIZE_MAX, "%s:%d:%d: %s", path, m ? m->line + 1 : 0,
			    m ? m->column + 1 : 0, what);
}

/* One "name: [values]" entry into *ph (arena copies). */
static int ph_entry(core_arena *a, const char *path, struct fy_node_pair *p, rules_placeholder *ph, core_err *err)
{
	struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
	size_t kl, n = v && fy_node_get_type(v) == FYNT_SEQUENCE ? (size_t)fy_node_sequence_item_count(v) : 1;
	const char *ks = rules_scalar(k, &kl);
	const char **vals = core_arena_alloc(a, (n ? n : 1) * sizeof *vals);
	void *it = NULL;

	if (!vals)
		return CORE_ENOMEM;
	if (!ks || !kl)
		return ph_fail(err, path, k, "a placeholder name must be a string");
	ph->name = core_arena_strndup(a, ks, kl);
	ph->values = vals, ph->nvalues = 0;
	for (size_t i = 0; i < n; i++) {
		struct fy_node *e = v && fy_node_get_type(v) == FYNT_SEQUENCE ? fy_node_sequence_iterate(v, &it) : v;
		size_t el;
		const char *es = rules_scalar(e, &el);
		if (!es || !e)
			return ph_fail(err, path, k, "placeholder values must be a list of strings");
		if (!(vals[ph->nvalues++] = core_arena_strndup(a, es, el)) || !ph->name)
			return CORE_ENOMEM;
	}
	if (ph->nvalues == 0)
		return ph_fail(err, path, k, "a placeholder needs at least one value");
	return 0;
}

int rules_placeholders_load(const char *path, core_arena *a, rules_placeholder **out, size_t *n,
			    core_err *err)
{
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET};
	FILE *f = fopen(path, "rb");
	struct fy_document *fyd = NULL;
	char *buf = NULL;
	size_t got = 0;
	int rc = 0;

	*out = NULL, *n = 0;
	if (!f)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: cannot read", path);
	buf = malloc((4u << 20) + 1);
	if (!buf) {
		rc = CORE_ENOMEM;
		goto out;
	}
	got = fread(buf, 1, (4u << 20) + 1, f);
	if (got > (4u << 20)) {
		rc = core_err_set(err, CORE_ETOOBIG, SIZE_MAX, "%s: file larger than 4 MiB", path);
		goto out;
	}
	fyd = fy_document_build_from_string(&cfg, buf, got);
	struct fy_node *root = fyd ? fy_document_root(fyd) : NULL;
	struct fy_node *m = root && fy_node_get_type(root) == FYNT_MAPPING ?
				    fy_node_mapping_lookup_by_string(root, "placeholders", FY_NT) : NULL;
	if (!m || fy_node_get_type(m) != FYNT_MAPPING) {
		rc = core_err_set(err, CORE_EPARSE, SIZE_MAX, "%s: expected a YAML map 'placeholders: {name: [values...]}'",
				  path);
		goto out;
	}
	*out = core_arena_alloc(a, ((size_t)fy_node_mapping_item_count(m) + 1) * sizeof **out);
	if (!*out) {
		rc = CORE_ENOMEM;
		goto out;
	}
	void *it = NULL;
	for (struct fy_node_pair *p; rc == 0 && (p = fy_node_mapping_iterate(m, &it)) != NULL;)
		if ((rc = ph_entry(a, path, p, &(*out)[*n], err)) == 0)
			(*n)++;
out:
	if (fyd)
		fy_document_destroy(fyd);
	free(buf);
	fclose(f);
	return rc;
}
