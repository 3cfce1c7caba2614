/* test_rules_cond.c: the Sigma condition parser, driven by a table of
 * {search names, condition, expected canonical form or error offset and
 * message}, plus depth-bound, long-input and memory-bound checks. Every
 * condition is copied into a buffer of exactly its length (no NUL), so that
 * a read past the end shows up under the address sanitizer. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "core/core.h"
#include "rules/cond.h"

#define MAXN 10

typedef struct tcase {
	const char *names[MAXN]; /* NULL-terminated */
	const char *cond;
	const char *want;   /* canonical form, or NULL for an error */
	size_t err_off;     /* error: byte offset */
	const char *err_sub; /* error: a substring of the message; a final '$'
			      * anchors it at the end of the message */
} tcase;

#define ABC {"a", "b", "c", "d"}
#define SEL {"selection", "selection_img", "filter_main", "filter_optional_x", "_internal", "keywords"}
#define SPEC {"selection1", "selection2", "keywords", "keywords1", "keywords2", "filters", "filter1"}

static const char AGG[] = "the aggregation syntax ('| count() ...') was removed from Sigma; "
			  "use a correlation rule";
static const char EXP_OPERAND[] = "expected a search identifier, '(', 'not', '1 of', 'any of' or "
				  "'all of', found ";

static const tcase cases[] = {
	/* precedence and parentheses */
	{ABC, "a or b and not c", "(a or (b and (not c)))", 0, NULL},
	{ABC, "a and b or c", "((a and b) or c)", 0, NULL},
	{ABC, "(a or b) and not c", "((a or b) and (not c))", 0, NULL},
	{ABC, "a and (b or c) and d", "(a and (b or c) and d)", 0, NULL},
	{ABC, "not a and b", "((not a) and b)", 0, NULL},
	{ABC, "not (a and b)", "(not (a and b))", 0, NULL},
	{ABC, "not not a", "(not (not a))", 0, NULL},
	{ABC, "not not not (not a)", "(not (not (not (not a))))", 0, NULL},
	{ABC, "((a))", "a", 0, NULL},
	{ABC, "a", "a", 0, NULL},
	{ABC, "a or b or c or d", "(a or b or c or d)", 0, NULL},
	{ABC, "(a or b) or (c or d)", "(a or b or c or d)", 0, NULL},
	{ABC, "a and b and c", "(a and b and c)", 0, NULL},
	{ABC, "a and not (b or not c) or d", "((a and (not (b or (not c)))) or d)", 0, NULL},
	{ABC, "(a)and(b)", "(a and b)", 0, NULL},
	{ABC, "  a\n\tand\r\nb  ", "(a and b)", 0, NULL},
	/* case-insensitive keywords */
	{ABC, "a AND NOT b", "(a and (not b))", 0, NULL},
	{ABC, "a Or b aNd c", "(a or (b and c))", 0, NULL},
	{SEL, "1 Of selection*", "(any of [selection, selection_img])", 0, NULL},
	{SEL, "ANY OF filter*", "(any of [filter_main, filter_optional_x])", 0, NULL},
	{SEL, "All Of Them", "(all of [selection, selection_img, filter_main, filter_optional_x, keywords])", 0, NULL},
	/* quantifiers */
	{SEL, "all of them", "(all of [selection, selection_img, filter_main, filter_optional_x, keywords])", 0, NULL},
	{SEL, "1 of them", "(any of [selection, selection_img, filter_main, filter_optional_x, keywords])", 0, NULL},
	{{"_a", "b", "_c", "d"}, "1 of them", "(any of [b, d])", 0, NULL},
	{{"selection_img", "selection_cli", "selection", "filter_main", "selection_"}, "all of selection_*",
	 "(all of [selection_img, selection_cli, selection_])", 0, NULL},
	{SEL, "1 of selection", "(any of [selection])", 0, NULL},
	{SEL, "any of *", "(any of [selection, selection_img, filter_main, filter_optional_x, keywords])", 0, NULL},
	{SEL, "all of **", "(all of [selection, selection_img, filter_main, filter_optional_x, keywords])", 0, NULL},
	{SEL, "1 of *_*", "(any of [selection_img, filter_main, filter_optional_x])", 0, NULL},
	{SEL, "1 of *_*_*", "(any of [filter_optional_x])", 0, NULL},
	{SEL, "1 of *lect*_*", "(any of [selection_img])", 0, NULL},
	{SEL, "1 of f*l*r*_*a*", "(any of [filter_main, filter_optional_x])", 0, NULL},
	{SEL, "1 of *o*", "(any of [selection, selection_img, filter_optional_x, keywords])", 0, NULL},
	{SEL, "1 of *x", "(any of [filter_optional_x])", 0, NULL},
	{{"xabyabababc", "abc", "ab"}, "1 of *ab*abc", "(any of [xabyabababc])", 0, NULL},
	{{"xabyabababc", "abc", "ab"}, "1 of a*b", "(any of [ab])", 0, NULL},
	{SEL, "_internal and selection", "(_internal and selection)", 0, NULL},
	{SEL, "selection and not 1 of filter_* and not _internal",
	 "(selection and (not (any of [filter_main, filter_optional_x])) and (not _internal))", 0, NULL},
	{SEL, "1 of selection* and not (1 of filter* or keywords)",
	 "((any of [selection, selection_img]) and (not ((any of [filter_main, filter_optional_x]) or keywords)))", 0, NULL},
	/* identifiers with dots, dashes and digits; keywords as plain names */
	{{"sel.img-1", "filter-2.x", "3"}, "sel.img-1 and not filter-2.x or 3",
	 "((sel.img-1 and (not filter-2.x)) or 3)", 0, NULL},
	{{"sel.img-1", "sel.cli-2", "x"}, "all of sel.*-*", "(all of [sel.img-1, sel.cli-2])", 0, NULL},
	{{"any", "a"}, "any and a", "(any and a)", 0, NULL},
	{{"1", "a"}, "1 or 1 of a", "(1 or (any of [a]))", 0, NULL},
	/* the examples of the specification's condition section */
	{SPEC, "keywords1 or keywords2", "(keywords1 or keywords2)", 0, NULL},
	{SPEC, "1 of them",
	 "(any of [selection1, selection2, keywords, keywords1, keywords2, filters, filter1])", 0, NULL},
	{SPEC, "all of them",
	 "(all of [selection1, selection2, keywords, keywords1, keywords2, filters, filter1])", 0, NULL},
	{{"_example", "selection"}, "1 of them", "(any of [selection])", 0, NULL},
	{SPEC, "all of selection*", "(all of [selection1, selection2])", 0, NULL},
	{SPEC, "1 of selection* and keywords", "((any of [selection1, selection2]) and keywords)", 0, NULL},
	{SPEC, "1 of selection* and not 1 of filter*",
	 "((any of [selection1, selection2]) and (not (any of [filters, filter1])))", 0, NULL},
	{SPEC, "keywords and not filters", "(keywords and (not filters))", 0, NULL},
	{SPEC, "selection1 and (keywords1 or keywords2)", "(selection1 and (keywords1 or keywords2))", 0, NULL},

	/* errors, with the exact offset */
	{ABC, "", NULL, 0, "empty condition"},
	{ABC, "   \n", NULL, 4, "empty condition"},
	{ABC, "a and", NULL, 5, "found end of condition"},
	{ABC, "a and not", NULL, 9, "found end of condition"},
	{ABC, "not", NULL, 3, EXP_OPERAND},
	{ABC, "and a", NULL, 0, "found 'and'"},
	{ABC, "a or or b", NULL, 5, "found 'or'"},
	{ABC, "a and ()", NULL, 7, "found ')'"},
	{ABC, "(a or b", NULL, 7, "expected ')' to close the '(' at offset 0, found end of condition"},
	{ABC, "a and ((b) or c", NULL, 15, "expected ')' to close the '(' at offset 6"},
	{ABC, "(a b)", NULL, 3, "expected ')' to close the '(' at offset 0, found 'b'"},
	{ABC, "a b", NULL, 2, "expected 'and', 'or' or end of condition, found 'b'"},
	{ABC, "a )", NULL, 2, "expected 'and', 'or' or end of condition, found ')'"},
	{ABC, "a or b) and c", NULL, 6, "found ')'"},
	{ABC, "a not b", NULL, 2, "found 'not'"},
	{SEL, "selection and selection2", NULL, 14, "unknown search identifier 'selection2'"},
	{SEL, "Selection", NULL, 0, "unknown search identifier 'Selection'"},
	{SEL, "1 of filter", NULL, 5, "'1 of filter' matches no search identifier"},
	{ABC, "a and 1 of filter*", NULL, 11, "'1 of filter*' matches no search identifier"},
	{ABC, "ALL of x*y", NULL, 7, "'ALL of x*y' matches no search identifier"},
	{{"_a", "_b"}, "all of them", NULL, 7, "matches no search identifier (identifiers starting with '_' are excluded)"},
	{SEL, "1 of _int*", NULL, 5, "'1 of _int*' matches no search identifier (identifiers starting with '_'"},
	{SEL, "1 of _internal", NULL, 5, "matches no search identifier (identifiers starting"},
	{{"_filter1", "selection"}, "1 of *filter*", NULL, 5, "'1 of *filter*' matches no search identifier (identifiers"},
	{{"_filter1", "selection"}, "1 of filter*", NULL, 5, "'1 of filter*' matches no search identifier$"},
	{{NULL}, "1 of them", NULL, 5, "'1 of them' matches no search identifier$"},
	{{NULL}, "a", NULL, 0, "unknown search identifier 'a'"},
	{SEL, "selection*", NULL, 0, "a pattern ('selection*') is only allowed after '1 of', 'any of' or 'all of'"},
	{SEL, "keywords and *", NULL, 13, "a pattern ('*') is only allowed"},
	{SEL, "them", NULL, 0, "'them' is only allowed after '1 of', 'any of' or 'all of'"},
	{SEL, "1 of", NULL, 4, "expected a search identifier pattern or 'them' after 'of', found end of condition"},
	{SEL, "1 of (selection)", NULL, 5, "after 'of', found '('"},
	{SEL, "all of of", NULL, 7, "after 'of', found 'of'"},
	{SEL, "any of not selection", NULL, 7, "after 'of', found 'not'"},
	{SEL, "1 selection", NULL, 2, "expected 'of' after '1', found 'selection'"},
	{SEL, "all", NULL, 3, "expected 'of' after 'all', found end of condition"},
	{SEL, "2 of them", NULL, 0, "expected '1', 'any' or 'all' before 'of', found '2'"},
	{SEL, "selection of them", NULL, 0, "expected '1', 'any' or 'all' before 'of', found 'selection'"},
	{SEL, "of them", NULL, 0, "found 'of'"},
	{SEL, "selection | count() by x > 5", NULL, 10, AGG},
	{SEL, "selection | count(dst_ip) by src_ip > 10", NULL, 10, AGG},
	{SEL, "1 of selection* | near filter_main", NULL, 16, AGG},
	{SEL, "selection|count()>5", NULL, 9, AGG},
	{SEL, "selection & keywords", NULL, 10, "unexpected character '&'"},
	{SEL, "selection and \"keywords\"", NULL, 14, "unexpected character '\"'"},
	{SEL, "selection\x01", NULL, 9, "unexpected byte 0x01"},
	{SEL, "selection and s\xc3\xa9l", NULL, 15, "unexpected byte 0xc3"},
};

static int height(const rules_cond *c)
{
	int l, r;

	if (!c)
		return 0;
	l = height(c->a);
	r = height(c->b);
	return 1 + (l > r ? l : r);
}

static size_t count_names(const char *const *names)
{
	size_t k = 0;

	while (k < MAXN && names[k])
		k++;
	return k;
}

/* Parses text[0..n) from an exact-size copy; returns rc, fills out/err. */
static int parse(const char *text, size_t n, const char *const *names, size_t nnames,
		 core_arena *a, rules_cond **out, core_err *err)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	*out = NULL;
	memset(err, 0, sizeof *err);
	if (!copy)
		return CORE_ENOMEM;
	if (n)
		memcpy(copy, text, n);
	rc = rules_cond_parse(copy, n, names, nnames, a, out, err);
	free(copy);
	return rc;
}

/* s with control bytes escaped (TAP descriptions are one line), clipped. */
static const char *show(const char *s)
{
	static char out[256];
	size_t k = 0;

	for (; *s && k + 5 < sizeof out; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch >= 0x7f)
			k += (size_t)snprintf(out + k, sizeof out - k, "\\x%02x", ch);
		else
			out[k++] = (char)ch;
	}
	out[k] = '\0';
	return out;
}

/* Whether msg holds sub, or ends with it when sub ends with '$'. */
static bool msg_has(const char *msg, const char *sub)
{
	size_t ml = strlen(msg), sl = strlen(sub);

	if (sl > 0 && sub[sl - 1] == '$')
		return sl - 1 <= ml && memcmp(msg + ml - (sl - 1), sub, sl - 1) == 0;
	return strstr(msg, sub) != NULL;
}

static void run_case(const tcase *t, core_arena *a)
{
	size_t nn = count_names(t->names), n = strlen(t->cond);
	rules_cond *c = NULL;
	core_err err = {0};
	core_buf b;
	int rc = parse(t->cond, n, t->names, nn, a, &c, &err);

	if (!t->want) {
		TAP_OK(rc == CORE_EPARSE && err.code == CORE_EPARSE && err.offset == t->err_off &&
			       msg_has(err.msg, t->err_sub),
		       "'%s' fails at %zu with '%s' (got rc %d at %zu: %s)", show(t->cond), t->err_off,
		       t->err_sub, rc, err.offset, err.msg);
		return;
	}
	core_buf_init(&b, 1 << 20);
	if (rc == 0)
		rc = rules_cond_format(c, t->names, &b);
	TAP_OK(rc == 0 && b.len > 0 && strcmp(b.data, t->want) == 0, "'%s' -> %s (got rc %d: %s %s)",
	       show(t->cond), t->want, rc, b.len ? b.data : "", rc ? err.msg : "");
	core_buf_free(&b);
}

/* A string of k copies of unit, then tail. */
static char *repeat(const char *unit, size_t k, const char *tail, size_t *len)
{
	size_t ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(ul * k + tl + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < k; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + ul * k, tail, tl + 1);
	*len = ul * k + tl;
	return s;
}

/* k copies of unit, "a", k copies of close: parses to a tree of height h
 * (h > 0) or fails at offset off. */
static void depth_case(const char *unit, size_t k, const char *close, int h, size_t off)
{
	static const char *const names[] = {"a"};
	size_t n;
	char *tail = repeat(close, k, "", &n);
	char *s = NULL, *full = NULL;
	core_arena *a = core_arena_new(0, 0);
	rules_cond *c = NULL;
	core_err err = {0};
	int rc = CORE_ENOMEM;

	if (tail && (s = repeat(unit, k, "a", &n)) && (full = malloc(n + strlen(tail) + 1))) {
		memcpy(full, s, n);
		memcpy(full + n, tail, strlen(tail) + 1);
		rc = parse(full, strlen(full), names, 1, a, &c, &err);
	}
	if (h > 0)
		TAP_OK(rc == 0 && height(c) == h, "%zu x '%s' parses", k, unit);
	else
		TAP_OK(rc == CORE_EPARSE && err.offset == off && strstr(err.msg, "nested deeper than 64"),
		       "%zu x '%s' fails at %zu (got rc %d at %zu: %s)", k, unit, off, rc,
		       rc ? err.offset : 0, rc ? err.msg : "");
	free(tail);
	free(s);
	free(full);
	core_arena_free(a);
}

static void depth_tests(void)
{
	depth_case("(", 64, ")", 1, 0);
	depth_case("(", 65, ")", 0, 64);
	depth_case("(", 100000, "", 0, 64);
	depth_case("(", 100000, ")", 0, 64);
	depth_case("not ", 64, "", 65, 0);
	depth_case("not ", 65, "", 0, 256);
	depth_case("not ", 100000, "", 0, 256);
	depth_case("NOT(", 32, ")", 33, 0);
	depth_case("not (", 33, ")", 0, 160);
	depth_case("(not ", 100000, "", 0, 160);
}

/* "a or a and a or ... or b" with 100,000 operands: parses, formats flat,
 * and the tree stays logarithmically deep. */
static void long_chain(void)
{
	static const char *const names[] = {"a", "b"};
	size_t n, wn;
	char *s = repeat("a or ", 100000, "b", &n);
	char *want = repeat("a or ", 100000, "b)", &wn);
	core_arena *a = core_arena_new(0, 0);
	rules_cond *c = NULL;
	core_err err = {0};
	core_buf b;
	int rc = s && want ? parse(s, n, names, 2, a, &c, &err) : CORE_ENOMEM;

	core_buf_init(&b, 16u << 20);
	TAP_OK(rc == 0 && height(c) <= 18, "100,000-operand chain parses, tree height %d",
	       rc == 0 ? height(c) : -1);
	if (rc == 0)
		rc = rules_cond_format(c, names, &b);
	TAP_OK(rc == 0 && b.len == wn + 1 && b.data[0] == '(' && memcmp(b.data + 1, want, wn) == 0,
	       "100,000-operand chain formats flat (%zu bytes)", b.len);
	core_buf_free(&b);
	free(s);
	free(want);
	core_arena_free(a);
}

static void long_tokens(void)
{
	static const char *const names[] = {"selection", "aaaaab"};
	size_t n;
	char *id = repeat("x", 1u << 20, "", &n);
	char *stars = repeat("*", 100000, "b", &n);
	char *glob = repeat("*a", 2000, "*c", &n);
	core_arena *a = core_arena_new(0, 0);
	rules_cond *c = NULL;
	core_err err = {0};
	core_buf b;
	char buf[210000];
	int rc;

	rc = id ? parse(id, strlen(id), names, 2, a, &c, &err) : CORE_ENOMEM;
	TAP_OK(rc == CORE_EPARSE && err.offset == 0 && strstr(err.msg, "xxx...'"),
	       "1 MiB unknown identifier: clipped message (%s)", err.msg);
	snprintf(buf, sizeof buf, "1 of %s", stars ? stars : "");
	rc = parse(buf, strlen(buf), names, 2, a, &c, &err);
	core_buf_init(&b, 1024);
	if (rc == 0)
		rc = rules_cond_format(c, names, &b);
	TAP_OK(rc == 0 && strcmp(b.data, "(any of [aaaaab])") == 0, "100,000-star pattern matches");
	core_buf_free(&b);
	snprintf(buf, sizeof buf, "1 of %s", glob ? glob : "");
	rc = parse(buf, strlen(buf), names, 2, a, &c, &err);
	TAP_OK(rc == CORE_EPARSE && err.offset == 5 && strstr(err.msg, "matches no search identifier"),
	       "4,000-star pattern is rejected quickly (%s)", err.msg);
	free(id);
	free(stars);
	free(glob);
	core_arena_free(a);
}

/* An arena with a small bound: a long condition fails with CORE_ENOMEM. */
static void memory_bound(void)
{
	static const char *const names[] = {"a", "b"};
	size_t n;
	char *s = repeat("not a and ", 20000, "b", &n);
	core_arena *a = core_arena_new(1024, 4096);
	rules_cond *c = NULL;
	core_err err = {0};
	int rc = s && a ? parse(s, n, names, 2, a, &c, &err) : CORE_EINVAL;

	TAP_OK(rc == CORE_ENOMEM && err.code == CORE_ENOMEM, "bounded arena: CORE_ENOMEM (got %d)", rc);
	free(s);
	core_arena_free(a);
}

static void misc(void)
{
	static const char *const names[] = {"a", "b"};
	static const char nul[] = {'a', ' ', 'o', 'r', '\0', 'b'};
	core_arena *a = core_arena_new(0, 0);
	rules_cond *c = NULL;
	core_err err = {0};
	core_buf b;
	int rc;

	rc = parse(nul, sizeof nul, names, 2, a, &c, &err);
	TAP_OK(rc == CORE_EPARSE && err.offset == 4 && strstr(err.msg, "0x00"), "NUL byte at 4: %s",
	       err.msg);
	rc = parse("a or b", 4, names, 2, a, &c, &err);
	TAP_OK(rc == CORE_EPARSE && err.offset == 4, "length is honoured: 'a or' of 'a or b'");
	rc = parse("a or b", 6, names, 2, a, &c, &err);
	core_buf_init(&b, 64);
	if (rc == 0)
		rc = rules_cond_format(c, NULL, &b);
	TAP_OK(rc == 0 && strcmp(b.data, "(#0 or #1)") == 0, "format without names: %s",
	       b.len ? b.data : "");
	core_buf_free(&b);
	rc = rules_cond_parse("a", 1, NULL, 2, a, &c, &err);
	TAP_OK(rc == CORE_EINVAL, "NULL names with nnames > 0: CORE_EINVAL");
	rc = rules_cond_parse("a", 1, names, 2, NULL, &c, &err);
	TAP_OK(rc == CORE_EINVAL, "NULL arena: CORE_EINVAL");
	core_buf_init(&b, 64);
	TAP_OK(rules_cond_format(NULL, names, &b) == CORE_EINVAL, "format NULL tree: CORE_EINVAL");
	core_buf_free(&b);
	core_arena_free(a);
}

int main(void)
{
	core_arena *a = core_arena_new(0, 0);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i], a);
	core_arena_free(a);
	depth_tests();
	long_chain();
	long_tokens();
	memory_bound();
	misc();
	return tap_done();
}
