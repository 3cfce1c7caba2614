/* cmd_server.c: `hisn server [-c FILE] [--KEY VALUE]... [--check-config]`.
 * Every key of the config file is also a flag (--KEY VALUE or --KEY=VALUE);
 * flags win over the file, and a list flag replaces the file's list. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"

static void key_help(void *ud, const char *key, const char *help)
{
	fprintf(ud, "  --%-16s %s\n", key, help);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: hisn server [-c FILE] [--check-config] [--KEY VALUE]...\n\n"
		     "Runs the server in the foreground: syslog (UDP, TCP, TLS) and RELP inputs, Sigma\n"
		     "detection on every event, storage (SQLite under --data), the HTTPS API.\n"
		     "SIGHUP reloads the rules and the config file; SIGTERM stops after flushing.\n\n"
		     "  -c, --config FILE  YAML file of settings (the keys below)\n"
		     "  --check-config     check the settings, certificates and rules, then exit\n\n"
		     "settings (docs/SERVER.md):\n");
	server_config_keys(key_help, out);
}

/* First pass: -c FILE. */
static int find_config(int argc, char **argv, const char **file)
{
	*file = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return -1;
			*file = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			*file = argv[i] + 9;
		}
	}
	return 0;
}

static int apply_flags(server_config *c, int argc, char **argv, bool *check)
{
	char seen[64][32];
	size_t nseen = 0;
	core_err err = {0};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		char key[32];
		size_t kl;
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0)
			continue;
		if (strcmp(a, "--check-config") == 0) {
			*check = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "hisn: server: unexpected argument '%s'\n", a);
			return CLI_EXIT_USAGE;
		}
		a += 2;
		eq = strchr(a, '=');
		kl = eq ? (size_t)(eq - a) : strlen(a);
		if (kl == 0 || kl >= sizeof key) {
			fprintf(stderr, "hisn: server: unknown option '%s'\n", argv[i]);
			return CLI_EXIT_USAGE;
		}
		memcpy(key, a, kl);
		key[kl] = '\0';
		if (eq)
			val = eq + 1;
		else if (server_config_is_bool(key))
			val = "true";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "hisn: server: --%s needs a value\n", key);
			return CLI_EXIT_USAGE;
		}
		bool first = true;
		for (size_t k = 0; k < nseen; k++)
			first = first && strcmp(seen[k], key) != 0;
		if (first && nseen < 64) {
			memcpy(seen[nseen++], key, kl + 1);
			server_config_reset(c, key);
		}
		if (server_config_set(c, key, val, &err) != 0) {
			fprintf(stderr, "hisn: server: --%s\n", err.msg);
			return CLI_EXIT_USAGE;
		}
	}
	return CLI_EXIT_OK;
}

int cli_server_main(int argc, char **argv)
{
	server_config c;
	const char *file;
	core_err err = {0};
	bool check = false;
	int rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
	if (find_config(argc, argv, &file) != 0) {
		fprintf(stderr, "hisn: server: -c needs a file\n");
		return CLI_EXIT_USAGE;
	}
	server_config_init(&c);
	if (file && server_config_file(&c, file, &err) != 0) {
		fprintf(stderr, "hisn: server: %s\n", err.msg);
		rc = CLI_EXIT_CONFIG;
		goto out;
	}
	if ((rc = apply_flags(&c, argc, argv, &check)) != CLI_EXIT_OK)
		goto out;
	rc = check ? server_check(&c) : server_run(&c);
out:
	server_config_free(&c);
	return rc;
}
