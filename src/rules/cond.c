/* cond.c: the Sigma condition parser (grammar in cond.h). A cursor tokenizer
 * over text[0..n) (never NUL-terminated), a recursive-descent parser whose
 * nesting ('(' and 'not') is bounded at COND_MAX_DEPTH, and an iterative glob
 * matcher for "1 of sel*" patterns. Chains of one operator ("a or b or c") are
 * built as balanced trees, so a tree is O(depth * log n) deep, never O(n). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/cond.h"

#define COND_MAX_DEPTH 64      /* '(' and 'not' levels */
#define COND_FMT_MAX_DEPTH 4096 /* guard for trees not made by the parser */
#define TOK_SHOW 48            /* bytes of a token quoted in a message */

static const char AGG_MSG[] = "the aggregation syntax ('| count() ...') was removed from Sigma; "
			      "use a correlation rule";

typedef enum tok_kind { T_END, T_LP, T_RP, T_WORD } tok_kind;

typedef enum kw {
	K_NONE, K_AND, K_OR, K_NOT, K_OF, K_THEM, K_ONE, K_ANY, K_ALL,
} kw;

typedef struct tok {
	tok_kind kind;
	kw key;      /* T_WORD: the keyword it spells, or K_NONE */
	bool star;   /* T_WORD: holds a '*' (a pattern) */
	size_t off;  /* byte offset in the text */
	size_t len;
} tok;

typedef struct parser {
	const char *s;
	size_t n;
	const char *const *names;
	size_t nnames;
	size_t *lens;     /* strlen of each name, or SIZE_MAX for a NULL name (malloc) */
	core_arena *a;
	core_err *err;
	tok cur;
	unsigned depth;
	rules_cond **stk; /* operands of the chains being parsed (malloc) */
	size_t nstk, capstk;
} parser;

/* ---- tokenizer ----------------------------------------------------------- */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || core_is_digit(c) || c == '_' ||
	       c == '.' || c == '-' || c == '*';
}

/* ASCII case-insensitive comparison of s[0..n) with the lower-case word w. */
static bool word_is(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n && w[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)w[i])
			return false;
	}
	return i == n && w[i] == '\0';
}

static kw keyword(const char *s, size_t n)
{
	static const struct { const char *w; kw k; } tab[] = {
		{"and", K_AND}, {"or", K_OR},     {"not", K_NOT}, {"of", K_OF},
		{"them", K_THEM}, {"1", K_ONE}, {"any", K_ANY}, {"all", K_ALL},
	};

	if (n > 4)
		return K_NONE;
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (word_is(s, n, tab[i].w))
			return tab[i].k;
	return K_NONE;
}

/* The token starting at or after pos. The text was checked beforehand to hold
 * only spaces, parentheses and word bytes. */
static tok lex(const parser *p, size_t pos)
{
	tok t = {T_END, K_NONE, false, 0, 0};

	while (pos < p->n && is_space((unsigned char)p->s[pos]))
		pos++;
	t.off = pos;
	if (pos >= p->n)
		return t;
	if (p->s[pos] == '(' || p->s[pos] == ')') {
		t.kind = p->s[pos] == '(' ? T_LP : T_RP;
		t.len = 1;
		return t;
	}
	t.kind = T_WORD;
	while (pos < p->n && is_word((unsigned char)p->s[pos])) {
		if (p->s[pos] == '*')
			t.star = true;
		pos++;
	}
	t.len = pos - t.off;
	t.key = t.star ? K_NONE : keyword(p->s + t.off, t.len);
	return t;
}

static void advance(parser *p)
{
	p->cur = lex(p, p->cur.off + p->cur.len);
}

/* Rejects the old aggregation syntax and bytes outside the grammar up front,
 * so that the tokenizer only ever sees valid bytes. */
static int prescan(parser *p)
{
	const char *bar = p->n ? memchr(p->s, '|', p->n) : NULL;

	if (bar)
		return core_err_set(p->err, CORE_EPARSE, (size_t)(bar - p->s), "%s", AGG_MSG);
	for (size_t i = 0; i < p->n; i++) {
		unsigned char c = (unsigned char)p->s[i];
		if (is_space(c) || is_word(c) || c == '(' || c == ')')
			continue;
		if (c > 0x20 && c < 0x7f)
			return core_err_set(p->err, CORE_EPARSE, i, "unexpected character '%c'", c);
		return core_err_set(p->err, CORE_EPARSE, i, "unexpected byte 0x%02x", c);
	}
	return 0;
}

/* ---- messages -------------------------------------------------------------- */

/* Describes t for "found ..." into out. */
static void tok_desc(const parser *p, const tok *t, char *out, size_t cap)
{
	switch (t->kind) {
	case T_END: snprintf(out, cap, "end of condition"); break;
	case T_LP: snprintf(out, cap, "'('"); break;
	case T_RP: snprintf(out, cap, "')'"); break;
	case T_WORD:
		snprintf(out, cap, "'%.*s%s'", (int)(t->len > TOK_SHOW ? TOK_SHOW : t->len),
			 p->s + t->off, t->len > TOK_SHOW ? "..." : "");
		break;
	}
}

/* An error at the current token: "expected <what>, found <token>". */
static int expected(parser *p, const char *what)
{
	char d[TOK_SHOW + 16];

	tok_desc(p, &p->cur, d, sizeof d);
	return core_err_set(p->err, CORE_EPARSE, p->cur.off, "expected %s, found %s", what, d);
}

static int show_len(const tok *t)
{
	return (int)(t->len > TOK_SHOW ? TOK_SHOW : t->len);
}

static const char *show_more(const tok *t)
{
	return t->len > TOK_SHOW ? "..." : "";
}

/* ---- tree building ------------------------------------------------------------ */

static rules_cond *node(parser *p, rules_cond_op op, rules_cond *a, rules_cond *b)
{
	rules_cond *c = core_arena_alloc(p->a, sizeof *c);

	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->op = op;
	c->a = a;
	c->b = b;
	return c;
}

static int oom(parser *p)
{
	return core_err_set(p->err, CORE_ENOMEM, p->cur.off, "out of memory parsing the condition");
}

static int push(parser *p, rules_cond *c)
{
	if (core_grow((void **)&p->stk, &p->capstk, p->nstk, sizeof *p->stk, 16) != 0)
		return oom(p);
	p->stk[p->nstk++] = c;
	return 0;
}

/* A balanced tree of op over it[0..n) (n >= 1), keeping the operand order. */
static rules_cond *balance(parser *p, rules_cond_op op, rules_cond *const *it, size_t n)
{
	size_t mid = (n + 1) / 2;
	rules_cond *l, *r;

	if (n == 1)
		return it[0];
	l = balance(p, op, it, mid);
	r = l ? balance(p, op, it + mid, n - mid) : NULL;
	return r ? node(p, op, l, r) : NULL;
}

/* ---- name resolution ----------------------------------------------------------- */

/* Glob match with '*' (any run, including empty): iterative, backtracking to
 * the last star only, so O(plen * nlen) at worst. */
static bool glob(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

	while (si < slen) {
		if (pi < plen && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && pat[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

/* Whether names[i] is chosen by the pattern t (or by "them" when t is them). */
static bool chosen(const parser *p, const tok *t, size_t literals, size_t i)
{
	const char *nm = p->names[i];

	if (!nm || nm[0] == '_')
		return false;
	if (t->key == K_THEM)
		return true;
	if (p->lens[i] < literals)
		return false;
	return glob(p->s + t->off, t->len, nm, p->lens[i]);
}

/* Whether a name starting with '_' would have been chosen but for the rule
 * that excludes them (for the message). */
static bool underscore_chosen(const parser *p, const tok *t)
{
	for (size_t i = 0; i < p->nnames; i++)
		if (p->names[i] && p->names[i][0] == '_' &&
		    (t->key == K_THEM || glob(p->s + t->off, t->len, p->names[i], p->lens[i])))
			return true;
	return false;
}

/* The index of the name spelled exactly (case-sensitive) by t, or SIZE_MAX. */
static size_t find_name(const parser *p, const tok *t)
{
	for (size_t i = 0; i < p->nnames; i++)
		if (p->lens[i] == t->len && memcmp(p->names[i], p->s + t->off, t->len) == 0)
			return i;
	return SIZE_MAX;
}

static int resolve_ident(parser *p, rules_cond **out)
{
	const tok *t = &p->cur;
	size_t i = find_name(p, t);
	rules_cond *c;

	if (i == SIZE_MAX)
		return core_err_set(p->err, CORE_EPARSE, t->off,
				    "unknown search identifier '%.*s%s'", show_len(t),
				    p->s + t->off, show_more(t));
	c = node(p, RULES_COND_REF, NULL, NULL);
	if (!c)
		return oom(p);
	c->search = (uint32_t)i;
	*out = c;
	advance(p);
	return 0;
}

/* The searches a pattern or "them" (the current token) selects, in names[]
 * order, into c; q is the quantifier token (for the message). */
static int resolve_set(parser *p, const tok *q, rules_cond *c)
{
	const tok *t = &p->cur;
	size_t literals = 0, k = 0;

	for (size_t i = 0; i < t->len; i++)
		literals += p->s[t->off + i] != '*';
	for (size_t i = 0; i < p->nnames; i++)
		k += chosen(p, t, literals, i);
	if (k == 0)
		return core_err_set(p->err, CORE_EPARSE, t->off,
				    "'%.*s of %.*s%s' matches no search identifier%s", (int)q->len,
				    p->s + q->off, show_len(t), p->s + t->off, show_more(t),
				    underscore_chosen(p, t)
					    ? " (identifiers starting with '_' are excluded)"
					    : "");
	c->searches = core_arena_alloc(p->a, k * sizeof *c->searches);
	if (!c->searches)
		return oom(p);
	for (size_t i = 0; i < p->nnames; i++)
		if (chosen(p, t, literals, i))
			c->searches[c->nsearches++] = (uint32_t)i;
	advance(p);
	return 0;
}

/* ---- parser ---------------------------------------------------------------------- */

static int parse_or(parser *p, rules_cond **out);

/* quantifier := ("1" | "any" | "all") "of" (PATTERN | "them"); the current
 * token is the quantifier word and the next is "of". */
static int parse_quant(parser *p, rules_cond **out)
{
	tok q = p->cur;
	rules_cond *c;
	int rc;

	if (q.key != K_ONE && q.key != K_ANY && q.key != K_ALL)
		return core_err_set(p->err, CORE_EPARSE, q.off,
				    "expected '1', 'any' or 'all' before 'of', found '%.*s%s'",
				    show_len(&q), p->s + q.off, show_more(&q));
	advance(p);
	advance(p);
	if (p->cur.kind != T_WORD || (p->cur.key != K_NONE && p->cur.key != K_THEM))
		return expected(p, "a search identifier pattern or 'them' after 'of'");
	c = node(p, q.key == K_ALL ? RULES_COND_ALL_OF : RULES_COND_ANY_OF, NULL, NULL);
	if (!c)
		return oom(p);
	rc = resolve_set(p, &q, c);
	if (rc == 0)
		*out = c;
	return rc;
}

static int parse_paren(parser *p, rules_cond **out)
{
	size_t open = p->cur.off;
	int rc;

	if (p->depth + 1 > COND_MAX_DEPTH)
		return core_err_set(p->err, CORE_EPARSE, open,
				    "condition nested deeper than %d levels of '(' and 'not'",
				    COND_MAX_DEPTH);
	p->depth++;
	advance(p);
	rc = parse_or(p, out);
	if (rc == 0 && p->cur.kind != T_RP) {
		char what[64];
		snprintf(what, sizeof what, "')' to close the '(' at offset %zu", open);
		rc = expected(p, what);
	}
	if (rc == 0)
		advance(p);
	p->depth--;
	return rc;
}

/* primary := "(" or ")" | quantifier | IDENT */
static int parse_primary(parser *p, rules_cond **out)
{
	const tok *t = &p->cur;
	tok next;

	if (t->kind == T_LP)
		return parse_paren(p, out);
	if (t->kind != T_WORD || (t->key != K_NONE && t->key != K_ONE && t->key != K_ANY &&
				  t->key != K_ALL && t->key != K_THEM))
		return expected(p, "a search identifier, '(', 'not', '1 of', 'any of' or 'all of'");
	next = lex(p, t->off + t->len);
	if (next.kind == T_WORD && next.key == K_OF)
		return parse_quant(p, out);
	if (t->key == K_THEM)
		return core_err_set(p->err, CORE_EPARSE, t->off,
				    "'them' is only allowed after '1 of', 'any of' or 'all of'");
	if (t->star)
		return core_err_set(p->err, CORE_EPARSE, t->off,
				    "a pattern ('%.*s%s') is only allowed after '1 of', 'any of' "
				    "or 'all of'", show_len(t), p->s + t->off, show_more(t));
	if (t->key != K_NONE && find_name(p, t) == SIZE_MAX) {
		char what[32];
		snprintf(what, sizeof what, "'of' after '%.*s'", (int)t->len, p->s + t->off);
		p->cur = next;
		return expected(p, what);
	}
	return resolve_ident(p, out);
}

/* not := "not" not | primary; the chain is counted, not recursed. */
static int parse_not(parser *p, rules_cond **out)
{
	unsigned nots = 0;
	int rc = 0;

	while (p->cur.kind == T_WORD && p->cur.key == K_NOT) {
		if (p->depth + 1 > COND_MAX_DEPTH) {
			rc = core_err_set(p->err, CORE_EPARSE, p->cur.off,
					  "condition nested deeper than %d levels of '(' and 'not'",
					  COND_MAX_DEPTH);
			goto out;
		}
		p->depth++;
		nots++;
		advance(p);
	}
	rc = parse_primary(p, out);
	for (unsigned i = 0; rc == 0 && i < nots; i++) {
		*out = node(p, RULES_COND_NOT, *out, NULL);
		if (!*out)
			rc = oom(p);
	}
out:
	p->depth -= nots;
	return rc;
}

/* chain := sub (kw sub)* for and (sub = not) and or (sub = and); the operands
 * go on the shared stack and become a balanced tree. */
static int parse_chain(parser *p, kw k, rules_cond **out)
{
	size_t base = p->nstk;
	rules_cond *c = NULL;
	int rc;

	for (;;) {
		rc = k == K_OR ? parse_chain(p, K_AND, &c) : parse_not(p, &c);
		if (rc == 0)
			rc = push(p, c);
		if (rc != 0)
			goto out;
		if (p->cur.kind != T_WORD || p->cur.key != k)
			break;
		advance(p);
	}
	*out = balance(p, k == K_OR ? RULES_COND_OR : RULES_COND_AND, p->stk + base,
		       p->nstk - base);
	if (!*out)
		rc = oom(p);
out:
	p->nstk = base;
	return rc;
}

static int parse_or(parser *p, rules_cond **out)
{
	return parse_chain(p, K_OR, out);
}

int rules_cond_parse(const char *text, size_t n, const char *const *names, size_t nnames,
		     core_arena *a, rules_cond **out, core_err *err)
{
	parser p = {0};
	rules_cond *c = NULL;
	int rc;

	if ((!text && n) || (!names && nnames) || !a || !out || nnames > UINT32_MAX)
		return core_err_set(err, CORE_EINVAL, 0, "invalid argument");
	p.s = text;
	p.n = n;
	p.names = names;
	p.nnames = nnames;
	p.a = a;
	p.err = err;
	rc = prescan(&p);
	if (rc != 0)
		goto out;
	p.lens = malloc((nnames ? nnames : 1) * sizeof *p.lens);
	if (!p.lens) {
		rc = oom(&p);
		goto out;
	}
	for (size_t i = 0; i < nnames; i++)
		p.lens[i] = names[i] ? strlen(names[i]) : SIZE_MAX;
	p.cur = lex(&p, 0);
	if (p.cur.kind == T_END) {
		rc = core_err_set(err, CORE_EPARSE, p.cur.off,
				  "empty condition: expected a search identifier, '(', 'not', "
				  "'1 of', 'any of' or 'all of'");
		goto out;
	}
	rc = parse_or(&p, &c);
	if (rc == 0 && p.cur.kind != T_END)
		rc = expected(&p, "'and', 'or' or end of condition");
	if (rc == 0)
		*out = c;
out:
	free(p.lens);
	free(p.stk);
	return rc;
}

/* ---- formatting ---------------------------------------------------------------------- */

static int fmt_node(const rules_cond *c, const char *const *names, core_buf *b, unsigned depth);

/* The operands of a run of op nodes, joined by " and " / " or ". */
static int fmt_chain(const rules_cond *c, rules_cond_op op, const char *const *names, core_buf *b,
		     unsigned depth)
{
	int rc;

	if (!c)
		return CORE_EINVAL;
	if (c->op != op)
		return fmt_node(c, names, b, depth);
	if (depth > COND_FMT_MAX_DEPTH)
		return CORE_EINVAL;
	rc = fmt_chain(c->a, op, names, b, depth + 1);
	if (rc == 0)
		rc = core_buf_printf(b, " %s ", op == RULES_COND_AND ? "and" : "or");
	if (rc == 0)
		rc = fmt_chain(c->b, op, names, b, depth + 1);
	return rc;
}

static int fmt_name(uint32_t i, const char *const *names, core_buf *b)
{
	if (names && names[i])
		return core_buf_printf(b, "%s", names[i]);
	return core_buf_printf(b, "#%u", i);
}

static int fmt_set(const rules_cond *c, const char *const *names, core_buf *b)
{
	int rc = core_buf_printf(b, "(%s of [", c->op == RULES_COND_ALL_OF ? "all" : "any");

	for (uint32_t i = 0; rc == 0 && i < c->nsearches; i++) {
		if (i)
			rc = core_buf_printf(b, ", ");
		if (rc == 0)
			rc = fmt_name(c->searches[i], names, b);
	}
	return rc ? rc : core_buf_printf(b, "])");
}

static int fmt_node(const rules_cond *c, const char *const *names, core_buf *b, unsigned depth)
{
	int rc;

	if (!c || depth > COND_FMT_MAX_DEPTH)
		return CORE_EINVAL;
	switch (c->op) {
	case RULES_COND_REF: return fmt_name(c->search, names, b);
	case RULES_COND_NOT:
		rc = core_buf_printf(b, "(not ");
		if (rc == 0)
			rc = fmt_node(c->a, names, b, depth + 1);
		return rc ? rc : core_buf_addc(b, ')');
	case RULES_COND_AND:
	case RULES_COND_OR:
		rc = core_buf_addc(b, '(');
		if (rc == 0)
			rc = fmt_chain(c, c->op, names, b, depth + 1);
		return rc ? rc : core_buf_addc(b, ')');
	case RULES_COND_ANY_OF:
	case RULES_COND_ALL_OF:
		if (c->nsearches && !c->searches)
			return CORE_EINVAL;
		return fmt_set(c, names, b);
	}
	return CORE_EINVAL;
}

/* Canonical form: a search is its name; "not x" is "(not x)"; a run of one
 * operator is "(x and y and z)" / "(x or y)" (runs are flattened, so the
 * grouping of "a or b or c" never shows); "1 of"/"any of" is "(any of [a, b])"
 * and "all of" is "(all of [a, b])" with the resolved names in names[] order.
 * Example: "((selection and (not filter)) or (any of [a, b]))". With names
 * NULL a search is written "#<index>". */
int rules_cond_format(const rules_cond *c, const char *const *names, core_buf *b)
{
	if (!b)
		return CORE_EINVAL;
	return fmt_node(c, names, b, 0);
}
