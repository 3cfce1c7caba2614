/* test_rules_load.c: the rule loader from strings: resolved values of every
 * modifier (base64offset's three variants, windash permutations, utf16
 * bytes, CIDR), the escape normalization table, keywords, multi-document
 * files, correlations, filters and failure positions. Expected encodings
 * were computed independently (python3 base64 / codecs). */
#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "rules/rules.h"

static rules_set *set;

/* Loads a rule whose only search is "sel: {<key>: <value>}"; returns its
 * item, or NULL when the rule failed. */
static const rules_item *item(const char *key, const char *value, const rules_options *opt)
{
	char text[1024];
	rules_set_free(set);
	set = rules_set_new(opt);
	snprintf(text, sizeof text,
		 "title: t\nlogsource:\n    product: windows\ndetection:\n    sel:\n        %s: %s\n"
		 "    condition: sel\n", key, value);
	if (!set || rules_load_string(set, text, strlen(text), "t.yml") != 0 || set->nrules != 1)
		return NULL;
	return &set->rules[0].searches[0].alts[0].items[0];
}

static bool has(const rules_item *it, const char *s, size_t n)
{
	for (uint32_t i = 0; it && i < it->nvalues; i++)
		if (it->values[i].len == n && memcmp(it->values[i].s, s, n) == 0)
			return true;
	return false;
}

static void escape(const char *sigma, const char *want, bool glob)
{
	const rules_item *it = item("F", sigma, NULL);
	TAP_OK(it && it->nvalues == 1 && strcmp(it->values[0].s, want) == 0 &&
		       !!(it->values[0].flags & RULES_VF_GLOB) == glob,
	       "escape %s -> %s (got %s)", sigma, want, it ? it->values[0].s : "(failed)");
}

static void escapes(void)
{
	escape("'C:\\Windows\\*'", "C:\\\\Windows\\*", false);
	escape("'C:\\Windows\\\\*'", "C:\\\\Windows\\\\*", true);
	escape("'a\\*b'", "a\\*b", false);
	escape("'a\\?b'", "a\\?b", false);
	escape("'a\\\\b'", "a\\\\b", false);
	escape("'a\\\\*'", "a\\\\*", true);
	escape("'a\\\\\\*'", "a\\\\\\*", false);
	escape("'a\\\\\\\\b'", "a\\\\\\\\b", false);
	escape("'end\\'", "end\\\\", false);
	escape("'prog?.exe'", "prog?.exe", true);
}

static void encodings(void)
{
	const rules_item *it = item("F|base64offset|contains", "'ping'", NULL);
	TAP_OK(it && it->nvalues == 3 && it->op == RULES_OP_CONTAINS && has(it, "cGluZ", 5) && has(it, "Bpbm", 4) &&
		       has(it, "waW5n", 5) && it->values[0].group == 0 && it->values[2].group == 0,
	       "base64offset: the three shifted variants of one value");
	it = item("F|base64", "'cmd'", NULL);
	TAP_OK(it && it->nvalues == 1 && has(it, "Y21k", 4), "base64 cmd -> Y21k");
	it = item("F|utf16le", "'cmd'", NULL);
	TAP_OK(it && has(it, "c\0m\0d\0", 6), "utf16le cmd -> 63 00 6d 00 64 00");
	it = item("F|wide", "'cmd'", NULL);
	TAP_OK(it && has(it, "c\0m\0d\0", 6), "wide is utf16le");
	it = item("F|utf16be", "'cmd'", NULL);
	TAP_OK(it && has(it, "\0c\0m\0d", 6), "utf16be cmd -> 00 63 00 6d 00 64");
	it = item("F|utf16", "'cmd'", NULL);
	TAP_OK(it && has(it, "\xff\xfe" "c\0m\0d\0", 8), "utf16 adds the FF FE byte order mark");
	it = item("F|utf16le", "'a*'", NULL);
	TAP_OK(it == NULL, "utf16 refuses a wildcard");
	it = item("F|wide|base64offset|contains", "'ping'", NULL);
	/* base64 of "p\0i\0n\0g\0" at shifts 0, 1, 2 */
	TAP_OK(it && it->nvalues == 3 && has(it, "cABpAG4AZw", 10) && has(it, "AAaQBuAGcA", 10) &&
		       has(it, "wAGkAbgBnA", 10),
	       "wide|base64offset (got %s, %s, %s)", it ? it->values[0].s : "-", it ? it->values[1].s : "-",
	       it ? it->values[2].s : "-");
}

static void windash(void)
{
	const rules_item *it = item("F|windash|contains", "' -a '", NULL);
	TAP_OK(it && it->nvalues == 5 && has(it, " -a ", 4) && has(it, " /a ", 4) && has(it, " \xe2\x80\x93" "a ", 6) &&
		       has(it, " \xe2\x80\x94" "a ", 6) && has(it, " \xe2\x80\x95" "a ", 6),
	       "windash: the five dashes");
	it = item("F|windash|contains|all", "[' -a -b', ' /c']", NULL);
	TAP_OK(it && it->nvalues == 30 && it->all && has(it, " /a \xe2\x80\x95" "b", 8) &&
		       it->values[24].group == 0 && it->values[25].group == 1,
	       "windash: every position (25 + 5 values, grouped per written value)");
}

static void typed(void)
{
	const rules_item *it = item("IP|cidr", "['10.1.2.3/8', 'fe80::1/10', '192.168.0.1']", NULL);
	static const unsigned char v6[16] = {0xfe, 0x80};
	TAP_OK(it && it->op == RULES_OP_CIDR && it->nvalues == 3 && it->values[0].family == 4 &&
		       it->values[0].prefix == 8 && it->values[0].addr[0] == 10 && it->values[0].addr[1] == 0 &&
		       it->values[1].family == 6 && it->values[1].prefix == 10 && !memcmp(it->values[1].addr, v6, 16) &&
		       it->values[2].prefix == 32,
	       "cidr: IPv4 and IPv6, host bits cleared, default prefix");
	TAP_OK(!item("IP|cidr", "'10.0.0.0/40'", NULL) && !item("IP|cidr", "'fe80::/129'", NULL) &&
		       !item("IP|cidr", "'zz'", NULL), "cidr: bad prefixes and addresses fail");
	it = item("F|re|i|s", "'^a.b$'", NULL);
	TAP_OK(it && it->op == RULES_OP_RE && it->re_flags == (RULES_RE_I | RULES_RE_S) &&
		       it->values[0].type == RULES_V_RE, "re with sub-modifiers");
	TAP_OK(!item("F|re", "'(a'", NULL), "re: invalid pattern fails");
	it = item("N|gte", "10", NULL);
	TAP_OK(it && it->op == RULES_OP_GTE && it->values[0].type == RULES_V_INT && it->values[0].i == 10, "gte 10");
	it = item("N|lt", "1.5", NULL);
	TAP_OK(it && it->op == RULES_OP_LT && it->values[0].type == RULES_V_FLOAT, "lt 1.5");
	it = item("T|hour|gt", "20", NULL);
	TAP_OK(it && it->timepart == RULES_TIME_HOUR && it->op == RULES_OP_GT, "hour|gt");
	it = item("F|exists", "false", NULL);
	TAP_OK(it && it->op == RULES_OP_EXISTS && !it->values[0].b, "exists: false");
	it = item("F|fieldref|neq", "Other", NULL);
	TAP_OK(it && it->neq && it->values[0].type == RULES_V_FIELDREF && !strcmp(it->values[0].s, "Other"),
	       "fieldref|neq");
	it = item("F", "null", NULL);
	TAP_OK(it && it->values[0].type == RULES_V_NULL, "null value");
	it = item("EventID", "[4624, '4625', 0x10, true]", NULL);
	TAP_OK(it && it->values[0].type == RULES_V_INT && it->values[1].type == RULES_V_STR &&
		       it->values[2].type == RULES_V_INT && it->values[2].i == 16 && it->values[3].type == RULES_V_BOOL,
	       "typed list: int, quoted string, hex int, bool");
	it = item("F|cased|endswith", "'X'", NULL);
	TAP_OK(it && it->cased && it->op == RULES_OP_ENDSWITH, "cased|endswith");
}

static void expand(void)
{
	static const char *const ws[] = {"WS-*", "PC?"};
	static const char *const dom[] = {"CORP"};
	rules_placeholder ph[] = {{"Workstations", ws, 2}, {"Domain", dom, 1}};
	rules_options opt = {.placeholders = ph, .nplaceholders = 2};
	const rules_item *it = item("F|expand", "'%Domain%-%Workstations%'", &opt);
	TAP_OK(it && it->nvalues == 2 && has(it, "CORP-WS-*", 9) && has(it, "CORP-PC?", 8),
	       "expand: placeholder values, cartesian product");
	it = item("F|expand", "'\\%plain%Domain%'", &opt);
	TAP_OK(it && it->nvalues == 1 && has(it, "%plainCORP", 10), "expand: \\%% is a plain percent");
	TAP_OK(!item("F|expand", "'%Nope%'", &opt), "expand: a placeholder without value fails");
	TAP_OK(set->nmsgs == 1 && strstr(set->msgs[0].reason, "'%Nope%'") && set->msgs[0].line == 6 &&
		       set->msgs[0].col == 9, "the failure names the placeholder at 6:9");
}

static void documents(void)
{
	static const char text[] =
		"title: c\nname: c1\ncorrelation:\n  type: event_count\n  rules: [base]\n"
		"  group-by: [User]\n  timespan: 90m\n  condition: {gt: 5, lte: 10}\n---\n"
		"title: base\nname: base\nlogsource: {product: windows}\n"
		"detection:\n  k:\n    - 'evil'\n    - 42\n  m:\n    - A: 1\n    - B: 2\n      C: 3\n"
		"  condition: [k, m]\n---\n"
		"title: f\nlogsource: {product: windows}\nfilter:\n  rules: [base]\n  sel: {U: x}\n"
		"  condition: not sel\n";
	rules_set_free(set);
	set = rules_set_new(NULL);
	TAP_OK(set && rules_load_string(set, text, sizeof text - 1, "m.yml") == 0 && set->nrules == 3 &&
		       set->nfailed == 0, "three documents load");
	if (!set || set->nrules != 3)
		return;
	rules_set_link(set);
	const rules_rule *c = &set->rules[0], *b = &set->rules[1], *f = &set->rules[2];
	TAP_OK(c->kind == RULES_KIND_CORRELATION && c->corr.timespan_ns == 5400LL * 1000000000 &&
		       c->corr.cmp == (RULES_CMP_GT | RULES_CMP_LTE) && c->corr.gt == 5 && c->corr.refs[0].target == 1,
	       "correlation: 90m, gt and lte, reference linked");
	TAP_OK(b->nconds == 2 && b->nsearches == 2 && b->searches[0].nalts == 1 &&
		       b->searches[0].alts[0].items[0].field == NULL && b->searches[0].alts[0].items[0].nvalues == 2 &&
		       b->searches[1].nalts == 2 && b->searches[1].alts[1].nitems == 2 && b->line == 10,
	       "keywords, list of maps, condition list");
	TAP_OK(f->kind == RULES_KIND_FILTER && f->filter.nrefs == 1 && f->filter.refs[0].target == 1 && f->nconds == 1,
	       "filter linked to its rule");
}

static void failures(void)
{
	static const char bad[] = "title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n"
				  "    A|contains|nope: b\n  condition: sel\n";
	rules_set_free(set);
	set = rules_set_new(NULL);
	rules_load_string(set, bad, sizeof bad - 1, "bad.yml");
	TAP_OK(set->nfailed == 1 && set->nmsgs == 1 && set->msgs[0].line == 5 && set->msgs[0].col == 5 &&
		       strcmp(set->msgs[0].reason, "unknown modifier 'nope'") == 0,
	       "unknown modifier at 5:5 (got %u:%u %s)", set->msgs[0].line, set->msgs[0].col, set->msgs[0].reason);
	static const char bomb[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				   "title: t\nlogsource: {product: x}\ndetection:\n  s:\n    F: *d\n  condition: s\n";
	rules_set_free(set);
	set = rules_set_new(NULL);
	TAP_OK(rules_load_string(set, bomb, sizeof bomb - 1, "bomb.yml") == 0 && set->nfailed == 1,
	       "aliases are bounded (nested list rejected, no expansion blow-up)");
	rules_set_free(set);
	set = rules_set_new(NULL);
	TAP_OK(rules_load_string(set, "{{{", 3, "y.yml") == 0 && set->nfailed == 1 && set->msgs[0].line > 0,
	       "YAML syntax error has a position");
}

int main(void)
{
	escapes();
	encodings();
	windash();
	typed();
	expand();
	documents();
	failures();
	rules_set_free(set);
	return tap_done();
}
