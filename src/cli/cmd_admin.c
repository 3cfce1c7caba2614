/* cmd_admin.c: scriptable set-up on a data folder, with the server running
 * or not (SQLite's WAL lets both use the store at once):
 *   hisn user add NAME --role admin|analyst|viewer --password-stdin --data DIR
 *   hisn token create --user NAME [--name LABEL] [--days N] --data DIR
 * The password is read from the first line of stdin, never from the command
 * line (where `ps` would show it); the token is printed once on stdout and
 * only its hash is stored. Both are written to the audit log. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"
#include "store/store.h"

static void user_usage(FILE *out)
{
	fprintf(out, "usage: hisn user add NAME --role admin|analyst|viewer --password-stdin [--data DIR]\n\n"
		     "Creates a user of the server in the default tenant (other tenants: the API).\n"
		     "  --role ROLE        admin, analyst or viewer\n"
		     "  --password-stdin   read the password (12..256 bytes) from the first line of stdin\n"
		     "  --data DIR         the server's data folder (default: hisn-data)\n");
}

static void token_usage(FILE *out)
{
	fprintf(out, "usage: hisn token create --user NAME [--name LABEL] [--days N] [--data DIR]\n\n"
		     "Creates an API token for a user and prints it (once: only its hash is kept).\n"
		     "Send it as 'Authorization: Bearer TOKEN'.\n"
		     "  --user NAME   the user the token acts as\n"
		     "  --name LABEL  what the token is for (default: cli)\n"
		     "  --days N      validity in days, 1..3650 (default: 90)\n"
		     "  --data DIR    the server's data folder (default: hisn-data)\n");
}

static int open_store(const char *cmd, const char *dir, store **st)
{
	store_options so = {.dir = dir, .readers = 1};
	core_err err = {0};
	if (store_open(&so, st, &err) != 0) {
		fprintf(stderr, "hisn: %s: %s\n", cmd, err.msg);
		return CLI_EXIT_RUNTIME;
	}
	return CLI_EXIT_OK;
}

/* The first line of stdin without its line end; 0, or -1 when too long or absent. */
static int read_password(char *out, size_t cap)
{
	size_t n;
	if (!fgets(out, (int)cap, stdin))
		return -1;
	n = strlen(out);
	if (n && out[n - 1] == '\n')
		out[--n] = '\0';
	else if (!feof(stdin))
		return -1; /* no line end within cap: too long */
	if (n && out[n - 1] == '\r')
		out[--n] = '\0';
	return 0;
}

static int user_add(int argc, char **argv)
{
	static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
					     {"password-stdin", no_argument, NULL, 'p'},
					     {"data", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *role_s = NULL, *dir = "hisn-data";
	char pw[512];
	bool pw_stdin = false;
	int c, role, rc = CLI_EXIT_OK;
	int64_t id = 0;
	store *st = NULL;
	core_err err = {0};

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': role_s = optarg; break;
		case 'p': pw_stdin = true; break;
		case 'd': dir = optarg; break;
		case 'h': user_usage(stdout); return CLI_EXIT_OK;
		default: user_usage(stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !role_s || !pw_stdin) {
		fprintf(stderr, "hisn: user add: %s\n", optind + 1 != argc ? "give one user NAME"
							 : !role_s ? "--role is required"
								   : "--password-stdin is required");
		user_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	role = strcmp(role_s, "admin") == 0 ? STORE_ROLE_ADMIN : strcmp(role_s, "analyst") == 0 ? STORE_ROLE_ANALYST
				 : strcmp(role_s, "viewer") == 0 ? STORE_ROLE_VIEWER : 0;
	if (!role) {
		fprintf(stderr, "hisn: user add: --role: '%s': expected admin, analyst or viewer\n", role_s);
		return CLI_EXIT_USAGE;
	}
	if (read_password(pw, sizeof pw) != 0) {
		fprintf(stderr, "hisn: user add: no password line on stdin (at most 256 bytes)\n");
		return CLI_EXIT_USAGE;
	}
	if ((rc = open_store("user add", dir, &st)) != CLI_EXIT_OK)
		goto out;
	if (api_user_add(st, argv[optind], role, 1, pw, "cli", &id, &err) != 0) {
		fprintf(stderr, "hisn: user add: %s: %s\n", argv[optind], err.msg);
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	fprintf(stderr, "hisn: user add: user '%s' (%s) created\n", argv[optind], role_s);
out:
	memset(pw, 0, sizeof pw);
	store_close(st);
	return rc;
}

static int token_create(int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
					     {"name", required_argument, NULL, 'n'},
					     {"days", required_argument, NULL, 'D'},
					     {"data", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *user = NULL, *label = "cli", *dir = "hisn-data";
	char tok[128], *end;
	unsigned long days = 90;
	int c, rc = CLI_EXIT_OK;
	store *st = NULL;
	core_err err = {0};

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': user = optarg; break;
		case 'n': label = optarg; break;
		case 'D':
			days = strtoul(optarg, &end, 10);
			if (*end || !*optarg || days < 1 || days > 3650) {
				fprintf(stderr, "hisn: token create: --days: '%s': expected 1..3650\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'd': dir = optarg; break;
		case 'h': token_usage(stdout); return CLI_EXIT_OK;
		default: token_usage(stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || !user) {
		fprintf(stderr, "hisn: token create: %s\n", user ? "unexpected argument" : "--user is required");
		token_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if ((rc = open_store("token create", dir, &st)) != CLI_EXIT_OK)
		goto out;
	if (api_token_issue(st, user, label, (unsigned)days, tok, sizeof tok, &err) != 0) {
		fprintf(stderr, "hisn: token create: %s: %s\n", user, err.msg);
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	printf("%s\n", tok);
	if (fflush(stdout) != 0)
		rc = CLI_EXIT_RUNTIME;
out:
	memset(tok, 0, sizeof tok);
	store_close(st);
	return rc;
}

int cli_user_main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		user_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "add") != 0) {
		fprintf(stderr, "hisn: user: expected 'add'\n");
		user_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return user_add(argc - 1, argv + 1);
}

int cli_token_main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		token_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "create") != 0) {
		fprintf(stderr, "hisn: token: expected 'create'\n");
		token_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return token_create(argc - 1, argv + 1);
}
