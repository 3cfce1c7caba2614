/* cmd_rules.c: `hisn rules check`: loads Sigma rules (files or folders),
 * prints every failure as FILE:LINE:COL: reason (or JSON with --json) and a
 * summary. Exit 0 when everything loaded, 3 when a rule or the placeholder
 * file failed, 2 on usage errors. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "rules/rules.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: hisn rules check [--json] [--placeholders FILE] PATH...\n"
		"Loads Sigma rules, correlation rules and filters from files or folders\n"
		"(searched recursively for *.yml and *.yaml) and reports every document\n"
		"that cannot load as FILE:LINE:COL: reason. Files in a folder are named\n"
		"relative to it. Deprecated rules are skipped with a warning.\n\n"
		"options:\n"
		"      --json               print {\"loaded\": N, \"failed\": M, \"failures\": [...], ...}\n"
		"      --placeholders FILE  values for |expand placeholders, as YAML:\n"
		"                           placeholders: {name: [value, ...]}\n"
		"  -h, --help               show this help\n\n"
		"exit status: 0 all loaded, 3 a document failed to load, 2 usage.\n");
}

static void json_str(core_buf *b, const char *s)
{
	core_buf_addc(b, '"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			core_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			core_buf_printf(b, "\\u%04x", c);
		else
			core_buf_addc(b, (char)c);
	}
	core_buf_addc(b, '"');
}

static void json_msgs(core_buf *b, const rules_set *s, rules_severity sev)
{
	bool first = true;
	core_buf_addc(b, '[');
	for (size_t i = 0; i < s->nmsgs; i++) {
		const rules_msg *m = &s->msgs[i];
		if (m->severity != sev)
			continue;
		core_buf_printf(b, "%s{\"file\": ", first ? "" : ", ");
		json_str(b, m->file);
		core_buf_printf(b, ", \"line\": %u, \"col\": %u, \"reason\": ", m->line, m->col);
		json_str(b, m->reason);
		core_buf_addc(b, '}');
		first = false;
	}
	core_buf_addc(b, ']');
}

static int print_json(const rules_set *s)
{
	core_buf b;
	core_buf_init(&b, 0);
	core_buf_printf(&b, "{\"loaded\": %zu, \"failed\": %zu, \"failures\": ",
			s->nloaded[0] + s->nloaded[1] + s->nloaded[2], s->nfailed);
	json_msgs(&b, s, RULES_SEV_ERROR);
	core_buf_printf(&b, ", \"skipped\": %zu, \"warnings\": ", s->nskipped);
	json_msgs(&b, s, RULES_SEV_WARNING);
	core_buf_printf(&b, ", \"rules\": %zu, \"correlations\": %zu, \"filters\": %zu, \"files\": %zu}\n",
			s->nloaded[RULES_KIND_RULE], s->nloaded[RULES_KIND_CORRELATION],
			s->nloaded[RULES_KIND_FILTER], s->nfiles);
	int rc = b.data && fwrite(b.data, 1, b.len, stdout) == b.len ? 0 : CORE_EIO;
	core_buf_free(&b);
	return rc;
}

static void print_text(const rules_set *s)
{
	for (size_t i = 0; i < s->nmsgs; i++) {
		const rules_msg *m = &s->msgs[i];
		const char *w = m->severity == RULES_SEV_WARNING ? "warning: " : "";
		if (m->line)
			fprintf(stderr, "%s:%u:%u: %s%s\n", m->file, m->line, m->col, w, m->reason);
		else
			fprintf(stderr, "%s: %s%s\n", m->file, w, m->reason);
	}
	printf("loaded %zu (rules %zu, correlations %zu, filters %zu), failed %zu, skipped %zu (deprecated), "
	       "files %zu\n",
	       s->nloaded[0] + s->nloaded[1] + s->nloaded[2], s->nloaded[RULES_KIND_RULE],
	       s->nloaded[RULES_KIND_CORRELATION], s->nloaded[RULES_KIND_FILTER], s->nfailed, s->nskipped,
	       s->nfiles);
}

static int check(int argc, char **argv, bool json, const char *phfile)
{
	core_arena *a = core_arena_new(1 << 16, 0);
	rules_placeholder *ph = NULL;
	rules_options opt = {0};
	rules_set *s = NULL;
	core_err err = {0};
	int rc = CLI_EXIT_OK;

	if (!a) {
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	if (phfile && rules_placeholders_load(phfile, a, &ph, &opt.nplaceholders, &err) != 0) {
		fprintf(stderr, "hisn rules: %s\n", err.msg[0] ? err.msg : "out of memory");
		rc = CLI_EXIT_CONFIG;
		goto out;
	}
	opt.placeholders = ph;
	s = rules_set_new(&opt);
	if (!s) {
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	for (int i = 0; i < argc; i++)
		if (rules_load_path(s, argv[i]) != 0) {
			fprintf(stderr, "hisn rules: out of memory\n");
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
	rules_set_link(s);
	if (json ? print_json(s) != 0 : (print_text(s), fflush(stdout) != 0))
		rc = CLI_EXIT_RUNTIME;
	else if (s->nfailed)
		rc = CLI_EXIT_CONFIG;
out:
	rules_set_free(s);
	core_arena_free(a);
	return rc;
}

int cli_rules_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"placeholders", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *phfile = NULL;
	bool json = false;
	int c;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		help(stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "usage: hisn rules check [--json] [--placeholders FILE] PATH...\n");
		return CLI_EXIT_USAGE;
	}
	static char name[] = "hisn rules check";
	argc--, argv++;
	argv[0] = name; /* getopt's messages name the program after argv[0] */
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'p': phfile = optarg; break;
		case 'h': help(stdout); return CLI_EXIT_OK;
		default:
			fprintf(stderr, "usage: hisn rules check [--json] [--placeholders FILE] PATH...\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "hisn rules check: no PATH given\n"
				"usage: hisn rules check [--json] [--placeholders FILE] PATH...\n");
		return CLI_EXIT_USAGE;
	}
	return check(argc - optind, argv + optind, json, phfile);
}
