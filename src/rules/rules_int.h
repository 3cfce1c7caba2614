/* rules_int.h: types and helpers shared by the files of the rules module
 * (private; nothing here is part of the module's interface). */
#ifndef HISN_RULES_INT_H
#define HISN_RULES_INT_H

#include <libfyaml.h>

#include "rules/rules.h"

/* A YAML scalar as read: text (borrowed) and the type its style gives it
 * (RULES_V_STR for quoted or non-numeric text, INT, FLOAT, BOOL or NULL). */
typedef struct rules_raw {
	const char *s;
	size_t len;
	uint8_t type;
} rules_raw;

/* Builds *it from the key "field|mod|mod..." (borrowed) and its values
 * raw[0..n) (borrowed; from_list: written as a YAML sequence). Everything is
 * allocated in a (borrowed). Returns 0, CORE_ENOMEM, or CORE_EPARSE with the
 * reason in why[0..whylen). */
int rules_item_build(core_arena *a, const rules_options *opt, const char *key, size_t keylen,
		     const rules_raw *raw, size_t n, bool from_list, rules_item *it, char *why,
		     size_t whylen);

/* The state of one YAML document being loaded (load.c). */
typedef struct rules_doc {
	rules_set *s;       /* borrowed */
	const char *file;   /* arena-owned display name */
	uint32_t line, col; /* where the failure is (1-based, 0: unknown) */
	uint32_t budget;    /* nodes left to visit (bounds alias expansion) */
	bool v1;            /* the document had `action:` (a Sigma v1 collection) */
	size_t *values_left; /* values the file may still produce (bounds expansion) */
	char why[256];      /* the failure's reason */
} rules_doc;

/* Records a failure at node at (may be NULL) in d; returns CORE_EPARSE. */
int rules_fail(rules_doc *d, struct fy_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Follows aliases and spends one node of the budget; NULL when exhausted
 * (the failure is recorded) or when n is NULL. */
struct fy_node *rules_node(rules_doc *d, struct fy_node *n, bool *over);
/* The text of scalar n (borrowed from the document) or NULL. */
const char *rules_scalar(struct fy_node *n, size_t *len);
/* Copies scalar n into the arena as *out (what names it in messages). */
int rules_str(rules_doc *d, struct fy_node *n, const char *what, const char **out);
/* A string or a list of strings into out (arena-owned). */
int rules_strlist(rules_doc *d, struct fy_node *n, const char *what, rules_strs *out);
/* Detection-like sections: every key but `condition` (and `rules` when
 * skip_rules) is a search; the conditions are parsed against them. at names
 * the section's key for messages. */
int rules_detection(rules_doc *d, struct fy_node *map, struct fy_node *at, bool skip_rules, rules_rule *r);
/* Appends a message to s (reason copied into the arena; file borrowed from
 * the arena). Returns 0 or CORE_ENOMEM. */
int rules_add_msg(rules_set *s, rules_severity sev, const char *file, uint32_t line, uint32_t col,
		  const char *reason);
/* The `correlation` and `filter` sections (meta.c). */
int rules_correlation_parse(rules_doc *d, struct fy_node *map, struct fy_node *at, rules_rule *r);
int rules_filter_parse(rules_doc *d, struct fy_node *map, struct fy_node *at, rules_rule *r);

#endif
