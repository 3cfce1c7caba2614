/* cli.h: the subcommands of the hisn binary. Each takes argc/argv starting at
 * its own name and returns an exit code (CLI_EXIT_*). */
#ifndef HISN_CLI_H
#define HISN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "parse/parse.h"

enum {
	CLI_EXIT_OK = 0,      /* success */
	CLI_EXIT_RUNTIME = 1, /* an input could not be read, a write failed, --strict saw errors */
	CLI_EXIT_USAGE = 2,   /* bad command line */
	CLI_EXIT_CONFIG = 3,  /* a rule or configuration error */
};

int cli_parse_main(int argc, char **argv);
int cli_rules_main(int argc, char **argv);
int cli_hunt_main(int argc, char **argv);
int cli_server_main(int argc, char **argv);
int cli_import_main(int argc, char **argv);
int cli_user_main(int argc, char **argv);   /* cmd_admin.c */
int cli_token_main(int argc, char **argv);  /* cmd_admin.c */

/* ---- reading inputs (input.c), shared by parse and hunt ----------------------
 * An input is a file or "-" (stdin), plain, gzip, zstd or zip; each member goes
 * through its own parse_stream whose batches reach on_batch. Messages go to
 * stderr as "hisn: CMD: input[: member]: ...". */
typedef struct cli_input {
	/* set by the caller */
	const char *cmd;       /* command name for messages ("parse", "hunt") */
	const char *format;    /* a format name, or NULL / "auto" */
	int64_t ref_time;      /* see parse_options */
	size_t max_record;
	bool keep_raw;
	bool quiet;            /* no bad-record messages */
	bool stats;            /* format and counts of each member on stderr */
	parse_batch_fn on_batch;
	void *ud;
	/* kept up to date by cli_input_read, for the callbacks and the caller */
	const char *input;     /* current input as shown ("stdin" for -) */
	const char *member;    /* current member (the input's name when not a zip) */
	uint64_t errors;       /* bad records */
	uint64_t bytes;        /* decompressed bytes read */
	uint64_t inputs_failed;
} cli_input;

/* Reads every member of path. Returns CLI_EXIT_OK, CLI_EXIT_RUNTIME (the
 * input or a member could not be read, or on_batch failed; reported) or
 * CLI_EXIT_USAGE (the format name is unknown: stop). */
int cli_input_read(cli_input *ci, const char *path);

/* A list of paths (malloc-owned strings). */
typedef struct cli_paths {
	char **v;
	size_t n, cap;
} cli_paths;
void cli_paths_free(cli_paths *p);

/* Appends path to out, or when path is a folder every regular file under it
 * (recursively; each folder's entries sorted by name, symbolic links to
 * folders not followed). Returns 0, or a negative code with err. */
int cli_paths_add(cli_paths *out, const char *path, core_err *err);

/* Parses a whole RFC 3339 time (core_time_iso) into *ns. Returns 0 or -1. */
int cli_time_arg(const char *s, int64_t *ns);

#endif
