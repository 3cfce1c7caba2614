/* main.c: the hisn command: dispatches to a subcommand and answers --help and
 * --version. Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 rule or config
 * error (see cli.h and docs/CLI.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"parse", cli_parse_main, "read logs (files, stdin, .gz, .zst, .zip) and print normalized events as JSON lines"},
	{"hunt", cli_hunt_main, "match logs against Sigma rules and correlations ('hisn hunt --rules PATH FILE|DIR...')"},
	{"rules", cli_rules_main, "check Sigma rules, correlations and filters ('hisn rules check PATH...')"},
	{"import", cli_import_main, "send log files to a running server ('hisn import --server URL --token T FILE...')"},
	{"server", cli_server_main, "run the server: syslog/RELP/HTTPS ingest, real-time detection, storage, API"},
	{"user", cli_user_main, "add a user of the server ('hisn user add NAME --role R --password-stdin --data DIR')"},
	{"token", cli_token_main, "create an API token ('hisn token create --user NAME --data DIR')"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: hisn [--version] [--help] COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'hisn COMMAND --help' describes a command.\n"
		     "exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 rule or config error\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("hisn %s\n", HISN_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* getopt names the program after argv[0] in its messages. */
			static char name[64];
			snprintf(name, sizeof name, "hisn %s", commands[i].name);
			argv[1] = name;
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "hisn: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
