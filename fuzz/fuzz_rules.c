/* fuzz_rules.c: libFuzzer target for the Sigma rule loader. The input is one
 * YAML stream (any number of documents) loaded from memory into a fresh set
 * with two placeholders defined, then linked; every rule, message and value
 * is walked so that ASan sees reads of everything the loader produced. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ws[] = {"WS-*", "PC\\?"};
static const rules_placeholder ph[] = {{"Workstations", ws, 2}, {"Domain", ws, 1}};

static size_t walk(const rules_set *s)
{
	size_t sum = 0;
	for (size_t i = 0; i < s->nrules; i++) {
		const rules_rule *r = &s->rules[i];
		for (uint32_t k = 0; k < r->nsearches; k++)
			for (uint32_t a = 0; a < r->searches[k].nalts; a++)
				for (uint32_t t = 0; t < r->searches[k].alts[a].nitems; t++) {
					const rules_item *it = &r->searches[k].alts[a].items[t];
					for (uint32_t v = 0; v < it->nvalues; v++)
						sum += it->values[v].len ? (unsigned char)it->values[v].s[it->values[v].len - 1] : 0;
				}
		sum += r->title ? strlen(r->title) : 0;
	}
	for (size_t i = 0; i < s->nmsgs; i++)
		sum += strlen(s->msgs[i].reason);
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rules_options opt = {.placeholders = ph, .nplaceholders = 2};
	rules_set *s = rules_set_new(&opt);

	if (!s)
		return 0;
	rules_load_string(s, (const char *)data, size, "fuzz.yml");
	rules_set_link(s);
	if (walk(s) == SIZE_MAX) /* never: keeps the walk from being optimized out */
		__builtin_trap();
	rules_set_free(s);
	return 0;
}
