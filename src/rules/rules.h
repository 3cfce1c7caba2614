/* rules.h: the loaded form of Sigma rules, correlation rules and meta filters
 * (specification v2.1), as the detection engine compiles it.
 *
 * A rules_set owns everything it loads (one arena plus a few growable arrays):
 * every pointer reachable from it lives until rules_set_free.
 *
 * Values are resolved at load time: modifiers are checked, transformation
 * modifiers (expand, windash, base64, base64offset, utf16*) are applied, and
 * strings are kept in ONE normalized pattern form:
 *   '*'  any sequence of characters (possibly empty)
 *   '?'  exactly one character
 *   '\'  escapes the next character, which is always '*', '?' or '\'
 * so a literal backslash is always written "\\" in the normalized form. The
 * Sigma escapes map to it as: "\*" -> literal star, "\?" -> literal '?',
 * "\\" -> literal backslash, and a lone backslash before any other character
 * (or at the end) -> literal backslash. Examples: Sigma 'C:\Windows\\*.exe'
 * is normalized to "C:\\Windows\\*.exe" (two literal backslashes, one
 * wildcard); Sigma 'a\*' (an escaped star) to "a\*" (no wildcard).
 * Encoded values (base64, utf16) may hold any byte, NUL included: use len.
 *
 * Matching is case-insensitive unless the item is `cased` (regular
 * expressions follow their own i flag). A null value means "field absent or
 * null". Numbers keep their source text (s) as well. */
#ifndef HISN_RULES_H
#define HISN_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "rules/cond.h"

/* ---- values ------------------------------------------------------------ */
typedef enum rules_vtype {
	RULES_V_STR = 0,  /* s/len: normalized pattern (see above) */
	RULES_V_INT,      /* i (s: source text) */
	RULES_V_FLOAT,    /* f (s: source text) */
	RULES_V_BOOL,     /* b */
	RULES_V_NULL,     /* field absent or null */
	RULES_V_RE,       /* s: PCRE2 pattern text, validated at load; see re_flags */
	RULES_V_CIDR,     /* family, prefix, addr (s: as written) */
	RULES_V_FIELDREF, /* s: the name of the other field */
} rules_vtype;

#define RULES_VF_GLOB 1u /* STR: holds at least one unescaped '*' or '?' */

typedef struct rules_value {
	uint8_t type;   /* rules_vtype */
	uint8_t flags;  /* RULES_VF_* */
	uint8_t family; /* CIDR: 4 or 6 */
	uint8_t prefix; /* CIDR: prefix length (0..32 or 0..128) */
	uint32_t len;   /* bytes of s */
	uint32_t group; /* index of the value as written: the variants one value
			 * expands to (windash, base64offset, expand) share it */
	const char *s;  /* arena-owned, NUL-terminated (may also hold NULs) */
	int64_t i;
	double f;
	bool b;
	uint8_t addr[16]; /* CIDR: network address, host bits cleared */
} rules_value;

/* ---- field items ---------------------------------------------------------- */
/* What an item compares (from the modifiers). */
typedef enum rules_op {
	RULES_OP_EQ = 0,     /* whole value (pattern, number, bool or null) */
	RULES_OP_CONTAINS,   /* pattern anywhere: as "*pattern*" */
	RULES_OP_STARTSWITH, /* as "pattern*" */
	RULES_OP_ENDSWITH,   /* as "*pattern" */
	RULES_OP_RE,         /* regular expression search (values are RULES_V_RE) */
	RULES_OP_CIDR,       /* address in network (values are RULES_V_CIDR) */
	RULES_OP_LT,         /* numeric comparisons (values are INT or FLOAT) */
	RULES_OP_LTE,
	RULES_OP_GT,
	RULES_OP_GTE,
	RULES_OP_EXISTS,     /* field present (value BOOL true) or absent (false) */
} rules_op;

/* Modifier bits as written (for display and tests). */
enum {
	RULES_MOD_CONTAINS = 1u << 0, RULES_MOD_STARTSWITH = 1u << 1, RULES_MOD_ENDSWITH = 1u << 2,
	RULES_MOD_ALL = 1u << 3, RULES_MOD_EXISTS = 1u << 4, RULES_MOD_CASED = 1u << 5,
	RULES_MOD_NEQ = 1u << 6, RULES_MOD_WINDASH = 1u << 7, RULES_MOD_RE = 1u << 8,
	RULES_MOD_RE_I = 1u << 9, RULES_MOD_RE_M = 1u << 10, RULES_MOD_RE_S = 1u << 11,
	RULES_MOD_BASE64 = 1u << 12, RULES_MOD_BASE64OFFSET = 1u << 13, RULES_MOD_UTF16LE = 1u << 14,
	RULES_MOD_UTF16BE = 1u << 15, RULES_MOD_UTF16 = 1u << 16, RULES_MOD_LT = 1u << 17,
	RULES_MOD_LTE = 1u << 18, RULES_MOD_GT = 1u << 19, RULES_MOD_GTE = 1u << 20,
	RULES_MOD_TIME = 1u << 21, RULES_MOD_CIDR = 1u << 22, RULES_MOD_EXPAND = 1u << 23,
	RULES_MOD_FIELDREF = 1u << 24,
};

/* Time part extracted from a date field before comparing (time modifiers). */
typedef enum rules_timepart {
	RULES_TIME_NONE = 0, RULES_TIME_MINUTE, RULES_TIME_HOUR, RULES_TIME_DAY,
	RULES_TIME_WEEK, RULES_TIME_MONTH, RULES_TIME_YEAR,
} rules_timepart;

#define RULES_RE_I 1u /* re|i: case-insensitive */
#define RULES_RE_M 2u /* re|m: ^ and $ match at line breaks */
#define RULES_RE_S 4u /* re|s: . matches newlines */

/* One "field|mods: values" entry. Values with the same group are
 * alternatives. The item is true when the field compares true with a value of
 * ANY group (with `all`: of EVERY group); with `neq` the result is negated
 * (the field differs from every value). FIELDREF values compare the
 * field with the other field's value using op (EQ, CONTAINS, ...). */
typedef struct rules_item {
	const char *field;    /* arena-owned; NULL for keywords (whole event) */
	uint32_t mods;        /* RULES_MOD_* as written */
	uint8_t op;           /* rules_op */
	uint8_t timepart;     /* rules_timepart */
	uint8_t re_flags;     /* RULES_RE_* */
	bool all, cased, neq;
	rules_value *values;  /* arena-owned array */
	uint32_t nvalues;
	uint32_t line, col;   /* of the key (1-based) */
} rules_item;

/* An AND of items. */
typedef struct rules_alt {
	rules_item *items;
	uint32_t nitems;
} rules_alt;

/* A search identifier: an OR of alternatives (a map gives one alternative, a
 * list of maps one per map, a list of plain values one keyword item). */
typedef struct rules_search {
	const char *name;
	rules_alt *alts;
	uint32_t nalts;
} rules_search;

/* ---- rules ------------------------------------------------------------- */
typedef enum rules_kind { RULES_KIND_RULE = 0, RULES_KIND_CORRELATION, RULES_KIND_FILTER } rules_kind;

typedef enum rules_status {
	RULES_STATUS_NONE = 0, RULES_STATUS_STABLE, RULES_STATUS_TEST, RULES_STATUS_EXPERIMENTAL,
	RULES_STATUS_DEPRECATED, RULES_STATUS_UNSUPPORTED,
} rules_status;

typedef enum rules_level {
	RULES_LEVEL_NONE = 0, RULES_LEVEL_INFORMATIONAL, RULES_LEVEL_LOW, RULES_LEVEL_MEDIUM,
	RULES_LEVEL_HIGH, RULES_LEVEL_CRITICAL,
} rules_level;

typedef enum rules_corr_type {
	RULES_CORR_EVENT_COUNT = 0, RULES_CORR_VALUE_COUNT, RULES_CORR_TEMPORAL,
	RULES_CORR_TEMPORAL_ORDERED, RULES_CORR_VALUE_SUM, RULES_CORR_VALUE_AVG,
	RULES_CORR_VALUE_PERCENTILE,
} rules_corr_type;

typedef struct rules_strs {
	const char **v; /* arena-owned array of arena-owned strings */
	uint32_t n;
} rules_strs;

typedef struct rules_related {
	const char *id, *type; /* type: derived, obsolete, merged, renamed, similar */
} rules_related;

typedef struct rules_logsource {
	const char *category, *product, *service, *definition; /* NULL when absent */
} rules_logsource;

/* A reference to another rule by id or name; target is the index in
 * rules_set.rules once rules_set_link ran, or -1 when not found. */
typedef struct rules_ref {
	const char *text;
	int32_t target;
} rules_ref;

/* Correlation condition: each bound present is ANDed (gt: 100 and lte: 200). */
enum { RULES_CMP_GT = 1u, RULES_CMP_GTE = 2u, RULES_CMP_LT = 4u, RULES_CMP_LTE = 8u,
       RULES_CMP_EQ = 16u, RULES_CMP_NEQ = 32u };

typedef struct rules_alias {
	const char *alias;        /* the name used in group-by */
	const char **rule, **field; /* rule name -> field in its events (n pairs) */
	uint32_t n;
} rules_alias;

typedef struct rules_correlation {
	uint8_t type;          /* rules_corr_type */
	bool generate;         /* top level, or inside `correlation:` (pySigma) */
	bool generate_top;     /* generate was given at the top level (it wins) */
	rules_ref *refs;       /* referenced rules, in order (temporal_ordered) */
	uint32_t nrefs;
	rules_strs group_by;
	int64_t timespan_ns;
	unsigned cmp;          /* RULES_CMP_* present */
	double gt, gte, lt, lte, eq, neq;
	rules_strs fields;     /* condition.field (value_* types); may be empty */
	rules_alias *aliases;
	uint32_t naliases;
} rules_correlation;

typedef struct rules_filter {
	rules_ref *refs; /* the rules the filter applies to (AND NOT) */
	uint32_t nrefs;
} rules_filter;

/* One loaded YAML document. Strings are NULL when absent. */
typedef struct rules_rule {
	uint8_t kind;   /* rules_kind */
	uint8_t status; /* rules_status */
	uint8_t level;  /* rules_level */
	const char *id, *name, *title, *description, *author, *date, *modified, *license, *taxonomy;
	rules_strs references, tags, falsepositives, fields, scope;
	rules_related *related;
	uint32_t nrelated;
	rules_logsource logsource;
	rules_search *searches;   /* RULE and FILTER: detection / filter searches */
	uint32_t nsearches;
	const char **search_names; /* the searches' names (for rules_cond_format) */
	rules_cond **conds;       /* RULE and FILTER: conditions, ORed */
	uint32_t nconds;
	rules_correlation corr;   /* CORRELATION */
	rules_filter filter;      /* FILTER */
	const char *file;         /* path as shown in messages (relative to a folder argument) */
	const char *path;         /* the file as opened (to read it again), or NULL (from memory) */
	uint32_t line;            /* first line of the document (1-based) */
} rules_rule;

/* ---- load messages -------------------------------------------------------- */
typedef enum rules_severity { RULES_SEV_ERROR = 0, RULES_SEV_WARNING } rules_severity;

typedef struct rules_msg {
	uint8_t severity;  /* rules_severity */
	const char *file;  /* arena-owned */
	uint32_t line, col; /* 1-based; 0 when unknown */
	const char *reason; /* arena-owned */
} rules_msg;

/* ---- placeholders (expand) ----------------------------------------------- */
typedef struct rules_placeholder {
	const char *name;           /* without the % signs */
	const char *const *values;  /* Sigma values (wildcards and escapes apply) */
	size_t nvalues;
} rules_placeholder;

typedef struct rules_options {
	const rules_placeholder *placeholders; /* borrowed for the set's life */
	size_t nplaceholders;
	size_t max_file_bytes; /* larger files fail to load; 0: 4 MiB */
} rules_options;

/* ---- the set ----------------------------------------------------------------- */
typedef struct rules_set {
	core_arena *arena;     /* owns every rule, value and message */
	rules_rule *rules;     /* loaded documents (malloc-owned array) */
	size_t nrules, caprules;
	rules_msg *msgs;       /* errors and warnings in load order (malloc-owned) */
	size_t nmsgs, capmsgs;
	size_t nloaded[3];     /* per rules_kind */
	size_t nfailed;        /* documents that did not load */
	size_t nskipped;       /* deprecated documents (warned, not loaded) */
	size_t nfiles;
	rules_options opt;
	const char *cur_path;  /* the file being loaded (arena), for rules_rule.path */
} rules_set;

/* Returns a new empty set owned by the caller (free with rules_set_free), or
 * NULL when out of memory. opt may be NULL; its placeholders are borrowed. */
rules_set *rules_set_new(const rules_options *opt);
void rules_set_free(rules_set *s);

/* Loads every document of the file at path (shown in messages as display, or
 * path when display is NULL; both borrowed, the set keeps a copy) into s.
 * Failures are recorded in s->msgs and counted; the return is 0, or a
 * negative code only when memory ran out. */
int rules_load_file(rules_set *s, const char *path, const char *display);
/* A file, or a folder searched recursively for *.yml and *.yaml (sorted by
 * name); path is borrowed. Messages name files relative to a folder argument.
 * Returns as rules_load_file. */
int rules_load_path(rules_set *s, const char *path);
/* Loads the documents of text[0..n) (borrowed, needed only during the call),
 * shown as name (borrowed, copied) in messages. Returns as rules_load_file. */
int rules_load_string(rules_set *s, const char *text, size_t n, const char *name);
/* Resolves correlation and filter references (id or name) to rule indexes and
 * warns about duplicate ids. Call once after loading. */
void rules_set_link(rules_set *s);

/* Reads a placeholder file ("placeholders: {name: [values...]}") into arena a
 * (borrowed; the result lives as long as a). Returns 0 with *out and *n, or a
 * negative code with err (message names file:line:col). */
int rules_placeholders_load(const char *path, core_arena *a, rules_placeholder **out, size_t *n,
			    core_err *err);

/* Names for display (static strings). */
const char *rules_level_name(rules_level l);
const char *rules_status_name(rules_status st);
const char *rules_corr_type_name(rules_corr_type t);

/* ==== logsource routing and field mapping (logsource.c) ====================
 * Which events a rule applies to and which event field a rule field reads,
 * as data: YAML mapping files (format in docs/LOGSOURCES.md; the shipped
 * default is data/logsources.yml). Each file has `sources:`, a map from a key
 * to a source: a Sigma logsource (product/category/service), a match
 * condition on event fields (`when`, alternatives ORed, fields in one
 * alternative ANDed; optional `format`, the parser names) and field renames.
 * Later files extend the earlier ones; an entry whose key already exists
 * replaces the parts it gives (`fields` are merged name by name), and
 * `disabled: true` removes it.
 *
 * Life cycle: rules_ls_new, rules_ls_add_file / rules_ls_add_string (any
 * number), rules_ls_compile; from then on the map is immutable and may be
 * shared by threads (route, field lookups). rules_ls_free releases all. */
typedef struct rules_ls_map rules_ls_map;

#define RULES_LS_MAX_SOURCES 1024u /* sources per map */
#define RULES_LS_MAX_PROBES 64u    /* distinct event fields all conditions read */

/* A new empty map owned by the caller (free with rules_ls_free), or NULL. */
rules_ls_map *rules_ls_new(void);
void rules_ls_free(rules_ls_map *m);
/* Adds the sources of the file at path (borrowed). A file either loads whole
 * or not at all: on failure the map is unchanged and err (may be NULL) says
 * "file:line:col: reason". Returns 0, CORE_EIO, CORE_ETOOBIG, CORE_EPARSE,
 * CORE_ENOMEM, or CORE_EINVAL after rules_ls_compile. */
int rules_ls_add_file(rules_ls_map *m, const char *path, core_err *err);
/* The same for text[0..n) (borrowed for the call), shown as name. */
int rules_ls_add_string(rules_ls_map *m, const char *text, size_t n, const char *name,
			core_err *err);
/* Adds the default map, data/logsources.yml as embedded in the binary at
 * build time (shown as "logsources.yml (built in)"). Returns as
 * rules_ls_add_string. */
int rules_ls_add_default(rules_ls_map *m, core_err *err);
/* Seals the map: drops disabled sources, fixes the indexes, interns every
 * field name and builds the routing index (a hash of the condition values).
 * Returns 0, CORE_ENOMEM or CORE_EINVAL (over a limit, named in err); after
 * a failure the map can only be freed. */
int rules_ls_compile(rules_ls_map *m, core_err *err);
/* Convenience: new + add each of paths[0..n) in order + compile. Returns 0
 * with *out (owned by the caller) or a negative code with err. */
int rules_ls_load(const char *const *paths, size_t n, rules_ls_map **out, core_err *err);

/* Sources of a compiled map, indexed 0..count-1. Strings are owned by m. */
size_t rules_ls_count(const rules_ls_map *m);
const char *rules_ls_key(const rules_ls_map *m, size_t idx);
const rules_logsource *rules_ls_logsource(const rules_ls_map *m, size_t idx);
/* Index of the source named key, or -1. */
int rules_ls_find(const rules_ls_map *m, const char *key);
/* Whether a rule with logsource ls applies to events of source idx: every
 * attribute the rule gives (product, category, service) is given by the
 * source with the same value (case-insensitive). A rule that gives none
 * applies to no source. */
bool rules_ls_applies(const rules_ls_map *m, size_t idx, const rules_logsource *ls);
/* Words of a routing bitset for m: (count + 63) / 64, at least 1. */
size_t rules_ls_words(const rules_ls_map *m);
/* Sets bit i of bits[0..nwords) (cleared first) for every source i the event
 * belongs to. Returns the number of sources, or CORE_EINVAL when m is not
 * compiled or nwords < rules_ls_words(m). Costs one core_event_get per
 * distinct probed field (index the event first for hashed probes) and one
 * hash lookup per value found; only the sources one of whose conditions
 * holds are then checked. Thread-safe (about 20 KiB of stack). */
int rules_ls_route(const rules_ls_map *m, const core_event *ev, uint64_t *bits, size_t nwords);
/* The event field a rule field reads in source idx: its rename there, or
 * field itself (the pointer given) when there is none. Renamed names are
 * owned by m. */
const char *rules_ls_field(const rules_ls_map *m, size_t idx, const char *field);
/* The same as an interned name (core_intern of the result). 0 only when the
 * intern table is full. */
core_name rules_ls_field_name(const rules_ls_map *m, size_t idx, const char *field);

#endif
