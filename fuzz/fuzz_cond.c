/* fuzz_cond.c: libFuzzer target for the Sigma condition parser. The first
 * byte chooses how many of a fixed set of search names the rule offers (so
 * that "them", patterns and unknown identifiers are all reached); the rest is
 * the condition text, parsed and, on success, formatted, with a fresh arena
 * per run (bounded, so that the out-of-memory paths are reached too). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/cond.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"selection", "selection_img", "filter_main", "filter_optional_x",
	"_internal", "keywords",      "sel.cli-1",   "1",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nnames = 0, max = sizeof names / sizeof names[0];
	core_arena *a;
	rules_cond *c = NULL;
	core_err err;
	core_buf b;
	char *text;

	if (size == 0)
		return 0;
	nnames = data[0] % (max + 1);
	/* An exact-size copy, so that reading past the end is caught. */
	text = malloc(size - 1 ? size - 1 : 1);
	a = core_arena_new(4096, data[0] & 0x80 ? 64u << 10 : 0);
	if (!text || !a)
		goto out;
	memcpy(text, data + 1, size - 1);
	if (rules_cond_parse(text, size - 1, names, nnames, a, &c, &err) == 0) {
		core_buf_init(&b, 1u << 24);
		if (rules_cond_format(c, names, &b) != 0)
			abort();
		core_buf_free(&b);
	} else if (err.offset > size - 1 || err.msg[0] == '\0') {
		abort();
	}
out:
	core_arena_free(a);
	free(text);
	return 0;
}
