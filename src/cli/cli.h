/* cli.h: the subcommands of the hisn binary. Each takes argc/argv starting at
 * its own name and returns an exit code (CLI_EXIT_*). */
#ifndef HISN_CLI_H
#define HISN_CLI_H

enum {
	CLI_EXIT_OK = 0,      /* success */
	CLI_EXIT_RUNTIME = 1, /* an input could not be read, a write failed, --strict saw errors */
	CLI_EXIT_USAGE = 2,   /* bad command line */
	CLI_EXIT_CONFIG = 3,  /* a rule or configuration error */
};

int cli_parse_main(int argc, char **argv);
int cli_rules_main(int argc, char **argv);

#endif
