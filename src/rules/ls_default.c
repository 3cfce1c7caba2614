/* ls_default.c: the default logsource map (data/logsources.yml), embedded in
 * the binary at build time by scripts/embed.py, so that `hisn hunt` routes
 * events without any file installed next to it. */
#include "rules/rules.h"

#include "rules/logsources_data.h" /* generated: rules_ls_default_yml[_len] */

int rules_ls_add_default(rules_ls_map *m, core_err *err)
{
	return rules_ls_add_string(m, rules_ls_default_yml, rules_ls_default_yml_len,
				   "logsources.yml (built in)", err);
}
