/* cond.h: the Sigma condition grammar (private to the rules module).
 *
 *   condition := or
 *   or        := and ("or" and)*
 *   and       := not ("and" not)*
 *   not       := "not" not | primary
 *   primary   := "(" or ")" | quantifier | IDENT
 *   quantifier:= ("1" | "any" | "all") "of" (PATTERN | "them")
 *
 * Keywords are case-insensitive; IDENT is [A-Za-z0-9_.-]+ (a search
 * identifier), PATTERN the same plus '*' wildcards. "them" and patterns never
 * match identifiers that start with '_'. Precedence: not > and > or.
 * The parser resolves identifiers and patterns against the rule's search names
 * while parsing, so the tree holds search indexes, not names. */
#ifndef HISN_RULES_COND_H
#define HISN_RULES_COND_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef enum rules_cond_op {
	RULES_COND_REF,    /* the search at index `search` */
	RULES_COND_NOT,    /* not a */
	RULES_COND_AND,    /* a and b */
	RULES_COND_OR,     /* a or b */
	RULES_COND_ANY_OF, /* any of searches[0..nsearches) ("1 of", "any of") */
	RULES_COND_ALL_OF, /* all of searches[0..nsearches) */
} rules_cond_op;

typedef struct rules_cond {
	rules_cond_op op;
	struct rules_cond *a, *b; /* children (NOT uses a) */
	uint32_t search;          /* REF */
	uint32_t *searches;       /* ANY_OF / ALL_OF: resolved indexes (may be 0 long) */
	uint32_t nsearches;
} rules_cond;

/* Parses text[0..n) against the search names names[0..nnames) (borrowed).
 * Nodes and arrays are allocated in arena a (borrowed; the tree lives as long
 * as a). Returns 0 and *out, or CORE_EPARSE with err->offset the byte offset
 * in text and a message naming what was expected or which identifier is
 * unknown ("unknown search identifier 'selection2'", "'1 of filter*' matches
 * no search identifier"). Nesting is bounded (64 levels): deeper is an error,
 * never a stack overflow. */
int rules_cond_parse(const char *text, size_t n, const char *const *names, size_t nnames,
		     core_arena *a, rules_cond **out, core_err *err);

/* Writes the tree back as a fully parenthesised condition (for tests and
 * messages) into b. Returns 0 or a negative code. */
int rules_cond_format(const rules_cond *c, const char *const *names, core_buf *b);

#endif
