/* test_server.c: the server's configuration: defaults, the YAML file (errors
 * with FILE:LINE:COL), flags over the file, sizes and durations. The running
 * server is tested end to end by tests/server_test.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"
#include "tap.h"

static char dir[] = "/tmp/hisn-test-server-XXXXXX";

static const char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

static void test_defaults(void)
{
	server_config c;
	server_config_init(&c);
	TAP_OK(strcmp(c.data, "hisn-data") == 0 && strcmp(c.http, "https://0.0.0.0:8443") == 0,
	       "defaults: data folder and HTTPS address");
	TAP_OK(c.syslog.n == 2 && strcmp(c.syslog.v[0], "udp://0.0.0.0:5514") == 0 &&
	       strcmp(c.syslog.v[1], "tcp://0.0.0.0:5514") == 0 && c.relp.n == 1,
	       "defaults: syslog on UDP and TCP 5514, RELP on 2514");
	TAP_OK(c.alert_window_ns == 600ll * 1000000000ll && c.retain_days == 30 && c.rules.n == 0,
	       "defaults: 10 min alert window, 30 days retention, the project's rules");
	server_config_free(&c);
}

static void test_file(void)
{
	server_config c;
	core_err err = {0};
	const char *p = write_tmp("ok.yml", "# a comment\n"
					    "data: /var/lib/hisn\n"
					    "syslog:\n  - tcp://127.0.0.1:6514\n  - udp://[::1]:514\n"
					    "rules: [/etc/hisn/rules, /srv/more]\n"
					    "alert-window: 2h\n"
					    "corr-memory: 128M\n"
					    "retain-size: 5G\n"
					    "tls-client-cert: yes\n"
					    "workers: 3\n");
	server_config_init(&c);
	TAP_OK(server_config_file(&c, p, &err) == 0, "a valid file loads (%s)", err.msg);
	TAP_OK(strcmp(c.data, "/var/lib/hisn") == 0, "file: data");
	TAP_OK(c.syslog.n == 2 && strcmp(c.syslog.v[1], "udp://[::1]:514") == 0,
	       "file: a list replaces the default list");
	TAP_OK(c.rules.n == 2 && strcmp(c.rules.v[1], "/srv/more") == 0, "file: flow sequences");
	TAP_OK(c.alert_window_ns == 7200ll * 1000000000ll, "file: durations (2h)");
	TAP_OK(c.corr_memory == 128ull << 20 && c.retain_bytes == 5ull << 30, "file: sizes (128M, 5G)");
	TAP_OK(c.tls_client_cert && c.workers == 3, "file: booleans and numbers");
	TAP_OK(server_config_set(&c, "syslog", "tls://0.0.0.0:6514, udp://0.0.0.0:514", &err) == 0 &&
	       c.syslog.n == 4 && strcmp(c.syslog.v[3], "udp://0.0.0.0:514") == 0,
	       "a flag appends comma-separated values to a list");
	server_config_reset(&c, "syslog");
	TAP_OK(c.syslog.n == 0, "a list can be emptied (the first list flag replaces the file's)");
	TAP_OK(server_config_set(&c, "data", "/tmp/other", &err) == 0 && strcmp(c.data, "/tmp/other") == 0,
	       "a flag wins over the file");
	server_config_free(&c);
}

static void test_errors(void)
{
	server_config c;
	core_err err = {0};
	char want[300];
	const char *p;

	server_config_init(&c);
	p = write_tmp("unknown.yml", "data: /x\n  \nsyslgo: tcp://127.0.0.1:514\n");
	snprintf(want, sizeof want, "%s:3:1: unknown setting 'syslgo'", p);
	TAP_OK(server_config_file(&c, p, &err) == CORE_EINVAL && strstr(err.msg, want) != NULL,
	       "unknown setting named with FILE:LINE:COL (%s)", err.msg);
	p = write_tmp("badval.yml", "workers: many\n");
	snprintf(want, sizeof want, "%s:1:10: workers: invalid value 'many'", p);
	TAP_OK(server_config_file(&c, p, &err) == CORE_EINVAL && strstr(err.msg, want) != NULL,
	       "bad value named with its position (%s)", err.msg);
	p = write_tmp("list.yml", "http:\n  - https://a:1\n");
	TAP_OK(server_config_file(&c, p, &err) == CORE_EINVAL && strstr(err.msg, "takes one value") != NULL,
	       "a list where one value is expected is refused (%s)", err.msg);
	p = write_tmp("notmap.yml", "- data\n");
	TAP_OK(server_config_file(&c, p, &err) == CORE_EINVAL && strstr(err.msg, "expected a mapping") != NULL,
	       "a file that is not a mapping is refused (%s)", err.msg);
	p = write_tmp("broken.yml", "data: [unclosed\n");
	TAP_OK(server_config_file(&c, p, &err) == CORE_EINVAL, "invalid YAML is refused (%s)", err.msg);
	TAP_OK(server_config_file(&c, "/nonexistent/hisn.yml", &err) == CORE_EIO &&
	       strstr(err.msg, "No such file") != NULL, "a missing file is an I/O error (%s)", err.msg);
	TAP_OK(server_config_set(&c, "retain-size", "12Q", &err) == CORE_EINVAL &&
	       server_config_set(&c, "alert-window", "-5m", &err) == CORE_EINVAL &&
	       server_config_set(&c, "workers", "99999999999", &err) == CORE_EINVAL &&
	       server_config_set(&c, "metrics-public", "maybe", &err) == CORE_EINVAL,
	       "bad sizes, durations, numbers and booleans are refused");
	TAP_OK(server_config_set(&c, "no-such-key", "1", &err) == CORE_EINVAL, "unknown flag refused");
	TAP_OK(server_config_is_bool("tls-client-cert") && !server_config_is_bool("data"),
	       "boolean settings are known (given alone as flags)");
	server_config_free(&c);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_file();
	test_errors();
	for (const char *f, **n = (const char *[]){"ok.yml", "unknown.yml", "badval.yml", "list.yml",
						     "notmap.yml", "broken.yml", NULL};
	     (f = *n) != NULL; n++) {
		char path[300];
		snprintf(path, sizeof path, "%s/%s", dir, f);
		unlink(path);
	}
	rmdir(dir);
	return tap_done();
}
