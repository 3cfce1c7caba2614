/* test_rules_logsource.c: logsource routing and field mapping. Loads the
 * shipped data/logsources.yml, routes hand-built events with the field names
 * hisn's parsers produce (OTRF Sysmon and Security, PowerShell, sshd syslog,
 * auditd, access log), checks the 4688 renames, an override file, and every
 * load error with its line:col. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "rules/rules.h"

#define DEFAULT_FILE "../data/logsources.yml"

static core_arena *arena;

static void ev_new(core_event *ev, const char *format)
{
	core_arena_reset(arena);
	core_event_init(ev, arena);
	ev->format = format;
}

static void add_str(core_event *ev, const char *k, const char *v)
{
	core_event_add_str(ev, CORE_NO_PARENT, k, strlen(k), v, strlen(v));
}

static void add_int(core_event *ev, const char *k, int64_t v)
{
	core_event_add_int(ev, CORE_NO_PARENT, k, strlen(k), v);
}

/* The keys the event is routed to, space-separated, in source order. */
static const char *route(const rules_ls_map *m, const core_event *ev, int *count)
{
	static char out[1024];
	uint64_t bits[RULES_LS_MAX_SOURCES / 64];
	size_t len = 0;

	out[0] = '\0';
	*count = rules_ls_route(m, ev, bits, sizeof bits / sizeof *bits);
	for (size_t i = 0; *count > 0 && i < rules_ls_count(m); i++)
		if (bits[i / 64] >> (i % 64) & 1) {
			int w = snprintf(out + len, sizeof out - len, "%s%s", len ? " " : "", rules_ls_key(m, i));
			if (w < 0 || (size_t)w >= sizeof out - len)
				break;
			len += (size_t)w;
		}
	return out;
}

static void expect_route(const rules_ls_map *m, const core_event *ev, const char *want, const char *what)
{
	int n;
	const char *got = route(m, ev, &n);
	TAP_OK(strcmp(got, want) == 0, "%s routes to [%s] (got [%s], %d)", what, want, got, n);
}

static const char *field(const rules_ls_map *m, const char *key, const char *f)
{
	int i = rules_ls_find(m, key);
	return i < 0 ? "(no source)" : rules_ls_field(m, (size_t)i, f);
}

static void test_windows(const rules_ls_map *m)
{
	core_event ev;

	/* OTRF flat form, Sysmon process creation. */
	ev_new(&ev, "json");
	add_str(&ev, "SourceName", "Microsoft-Windows-Sysmon");
	add_str(&ev, "Channel", "Microsoft-Windows-Sysmon/Operational");
	add_int(&ev, "EventID", 1);
	add_str(&ev, "Image", "C:\\Windows\\System32\\cmd.exe");
	add_str(&ev, "ParentImage", "C:\\Windows\\explorer.exe");
	core_event_index(&ev);
	expect_route(m, &ev, "sysmon-process-creation windows-sysmon", "OTRF Sysmon EID 1");

	/* OTRF writes the Security channel in lower case. */
	ev_new(&ev, "json");
	add_str(&ev, "Channel", "security");
	add_int(&ev, "EventID", 4688);
	add_str(&ev, "NewProcessName", "C:\\Windows\\System32\\whoami.exe");
	expect_route(m, &ev, "security-process-creation windows-security", "Security 4688 ('security')");

	/* Sysmon registry: EventType splits EventID 12. */
	ev_new(&ev, "json");
	add_str(&ev, "Channel", "Microsoft-Windows-Sysmon/Operational");
	add_int(&ev, "EventID", 12);
	add_str(&ev, "EventType", "DeleteValue");
	expect_route(m, &ev, "sysmon-registry-event sysmon-registry-delete windows-sysmon", "Sysmon EID 12 DeleteValue");

	/* PowerShell script block; EventID written as a string. */
	ev_new(&ev, "json");
	add_str(&ev, "Channel", "Microsoft-Windows-PowerShell/Operational");
	add_str(&ev, "EventID", "4104");
	add_str(&ev, "ScriptBlockText", "IEX (New-Object Net.WebClient)");
	expect_route(m, &ev, "ps-script windows-powershell", "PowerShell 4104");

	ev_new(&ev, "json");
	add_str(&ev, "Channel", "Windows PowerShell");
	add_int(&ev, "EventID", 400);
	expect_route(m, &ev, "ps-classic-start windows-powershell-classic", "classic PowerShell 400");

	ev_new(&ev, "json");
	add_str(&ev, "Channel", "System");
	add_int(&ev, "EventID", 7045);
	expect_route(m, &ev, "windows-system", "System 7045");

	ev_new(&ev, "json");
	add_str(&ev, "Channel", "Security");
	add_int(&ev, "EventID", 4624);
	expect_route(m, &ev, "windows-security", "Security 4624");
}

static void test_renames(const rules_ls_map *m)
{
	TAP_OK(strcmp(field(m, "security-process-creation", "Image"), "NewProcessName") == 0, "4688: Image");
	TAP_OK(strcmp(field(m, "security-process-creation", "ParentImage"), "ParentProcessName") == 0,
	       "4688: ParentImage");
	TAP_OK(strcmp(field(m, "security-process-creation", "User"), "SubjectUserName") == 0, "4688: User");
	TAP_OK(strcmp(field(m, "security-process-creation", "ProcessId"), "NewProcessId") == 0, "4688: ProcessId");
	TAP_OK(strcmp(field(m, "security-process-creation", "ParentProcessId"), "ProcessId") == 0,
	       "4688: ParentProcessId");
	const char *cl = "CommandLine";
	TAP_OK(field(m, "security-process-creation", cl) == cl, "4688: CommandLine is not renamed");
	TAP_OK(strcmp(field(m, "sysmon-process-creation", "Image"), "Image") == 0, "Sysmon: Image is not renamed");
	int i = rules_ls_find(m, "security-process-creation");
	TAP_OK(i >= 0 && rules_ls_field_name(m, (size_t)i, "Image") == core_intern("NewProcessName", 14),
	       "4688: interned rename");
	TAP_OK(i >= 0 && rules_ls_field_name(m, (size_t)i, "CommandLine") == core_intern("CommandLine", 11),
	       "4688: interned default");
	TAP_OK(strcmp(field(m, "webserver-access", "cs-uri-query"), "url.query") == 0, "webserver: cs-uri-query");
	TAP_OK(strcmp(field(m, "proxy-access", "c-useragent"), "user_agent.original") == 0, "proxy: c-useragent");
	TAP_OK(strcmp(field(m, "windefend-antivirus", "Signature"), "ThreatName") == 0, "antivirus: Signature");

	rules_logsource pc = {.product = "windows", .category = "process_creation"};
	rules_logsource sec = {.product = "Windows", .service = "security"};
	rules_logsource none = {0};
	int s1 = rules_ls_find(m, "sysmon-process-creation"), s2 = rules_ls_find(m, "windows-security");
	TAP_OK(s1 >= 0 && i >= 0 && s2 >= 0, "sources found");
	if (s1 < 0 || i < 0 || s2 < 0)
		return;
	TAP_OK(rules_ls_applies(m, (size_t)s1, &pc) && rules_ls_applies(m, (size_t)i, &pc) &&
	       !rules_ls_applies(m, (size_t)s2, &pc), "process_creation rules apply to Sysmon and 4688 sources");
	TAP_OK(rules_ls_applies(m, (size_t)s2, &sec) && !rules_ls_applies(m, (size_t)i, &sec),
	       "service security rules apply to the Security channel source only");
	TAP_OK(!rules_ls_applies(m, (size_t)s1, &none), "a rule without logsource applies to no source");
}

static void test_linux_web(const rules_ls_map *m)
{
	core_event ev;

	ev_new(&ev, "syslog");
	core_event_set_str(&ev, "process.name", "sshd", 4);
	core_event_set_str(&ev, "log.syslog.facility.name", "authpriv", 8);
	core_event_set_str(&ev, "user.name", "oracle", 6);
	expect_route(m, &ev, "linux-sshd linux-auth linux-syslog", "sshd syslog line");

	/* auditd: process.name is the audited command, not a syslog program. */
	ev_new(&ev, "auditd");
	int t = core_event_add_array(&ev, CORE_NO_PARENT, "type", 4);
	core_event_add_str(&ev, (uint32_t)t, NULL, 0, "SYSCALL", 7);
	core_event_add_str(&ev, (uint32_t)t, NULL, 0, "EXECVE", 6);
	core_event_set_int(&ev, "auditd.serial", 92733);
	core_event_set_str(&ev, "process.name", "sshd", 4);
	expect_route(m, &ev, "linux-auditd", "auditd event");

	ev_new(&ev, "syslog");
	core_event_set_str(&ev, "process.name", "sysmon", 6);
	add_str(&ev, "Channel", "Linux-Sysmon/Operational");
	add_int(&ev, "EventID", 1);
	expect_route(m, &ev, "linux-sysmon-process-creation linux-syslog", "Sysmon for Linux EID 1");

	ev_new(&ev, "json");
	add_str(&ev, "__REALTIME_TIMESTAMP", "1700000000000000");
	core_event_set_str(&ev, "process.name", "sudo", 4);
	expect_route(m, &ev, "linux-sudo linux-auth linux-syslog-journald", "journald sudo record");

	ev_new(&ev, "access");
	core_event_set_str(&ev, "source.ip", "192.0.2.10", 10);
	core_event_set_str(&ev, "http.request.method", "GET", 3);
	core_event_set_str(&ev, "url.query", "q=1", 3);
	expect_route(m, &ev, "webserver-access proxy-access", "access log line");

	ev_new(&ev, "csv");
	add_str(&ev, "cs-method", "POST");
	expect_route(m, &ev, "webserver-w3c proxy-w3c", "W3C log line");

	ev_new(&ev, "raw");
	add_str(&ev, "message", "hello");
	expect_route(m, &ev, "", "unrelated event");
}

/* Loads text over the default map; returns the code and the message. */
static int load_over(const char *text, rules_ls_map **out, core_err *err)
{
	rules_ls_map *m = rules_ls_new();
	int rc = m ? rules_ls_add_file(m, DEFAULT_FILE, err) : CORE_ENOMEM;
	if (!rc)
		rc = rules_ls_add_string(m, text, strlen(text), "over.yml", err);
	if (!rc)
		rc = rules_ls_compile(m, err);
	if (rc || !out)
		rules_ls_free(m);
	else
		*out = m;
	return rc;
}

static void test_override(size_t ndefault)
{
	rules_ls_map *m = NULL;
	core_err err = {0};
	const char *text =
		"# site overrides\n"
		"sources:\n"
		"  security-process-creation:\n"
		"    fields: {User: TargetUserName}\n"
		"  ps-script: {disabled: true}\n"
		"  windows-security:\n"
		"    when: {Channel: Security, EventID|exists: true}\n"
		"  custom-audit:\n"
		"    product: linux\n"
		"    service: auditd\n"
		"    when: {type: EXECVE, auditd.serial|exists: true}\n";
	int rc = load_over(text, &m, &err);
	TAP_OK(rc == 0 && m, "override loads (%s)", rc ? err.msg : "ok");
	if (!m)
		return;
	TAP_OK(rules_ls_count(m) == ndefault, "one source disabled, one added (%zu)", rules_ls_count(m));
	TAP_OK(strcmp(field(m, "security-process-creation", "User"), "TargetUserName") == 0, "override renames User");
	TAP_OK(strcmp(field(m, "security-process-creation", "Image"), "NewProcessName") == 0,
	       "override keeps the other renames");
	TAP_OK(rules_ls_find(m, "ps-script") < 0, "disabled source is gone");

	core_event ev;
	ev_new(&ev, "auditd");
	int t = core_event_add_array(&ev, CORE_NO_PARENT, "type", 4);
	core_event_add_str(&ev, (uint32_t)t, NULL, 0, "SYSCALL", 7);
	core_event_add_str(&ev, (uint32_t)t, NULL, 0, "EXECVE", 6);
	core_event_set_int(&ev, "auditd.serial", 1);
	expect_route(m, &ev, "linux-auditd custom-audit", "array field matches an element");

	ev_new(&ev, "json");
	add_str(&ev, "Channel", "Microsoft-Windows-PowerShell/Operational");
	add_int(&ev, "EventID", 4104);
	expect_route(m, &ev, "windows-powershell", "4104 without ps-script");

	uint64_t one;
	TAP_OK(rules_ls_words(m) > 1 && rules_ls_route(m, &ev, &one, 1) == CORE_EINVAL, "short bitset refused");
	TAP_OK(rules_ls_add_string(m, "sources: {}", 11, "late.yml", &err) == CORE_EINVAL, "no loading after compile");
	rules_ls_free(m);
}

/* A file that must fail with msg starting "over.yml:<pos>: <reason>". */
static void bad(const char *text, const char *want)
{
	core_err err = {0};
	rules_ls_map *m = rules_ls_new();
	int rc = rules_ls_add_string(m, text, strlen(text), "over.yml", &err);
	TAP_OK(rc == CORE_EPARSE && strncmp(err.msg, want, strlen(want)) == 0, "error '%s' (got %d '%s')", want, rc,
	       err.msg);
	TAP_OK(rules_ls_compile(m, NULL) == 0 && rules_ls_count(m) == 0, "failed file adds nothing");
	rules_ls_free(m);
}

/* A YAML syntax error: "over.yml:L:C: YAML: <libfyaml's reason>". */
static void bad_yaml(const char *text)
{
	core_err err = {0};
	rules_ls_map *m = rules_ls_new();
	int rc = rules_ls_add_string(m, text, strlen(text), "over.yml", &err);
	unsigned line = 0, col = 0;
	TAP_OK(rc == CORE_EPARSE && sscanf(err.msg, "over.yml:%u:%u: YAML: ", &line, &col) == 2 && line > 0 &&
	       col > 0 && strstr(err.msg, ": YAML: "), "YAML syntax error with a position (%s)", err.msg);
	rules_ls_free(m);
}

static void test_errors(void)
{
	bad("sources:\n  a:\n    product: x\n    colour: red\n", "over.yml:4:5: unknown key 'colour'");
	bad("sources:\n  a:\n    product: [x]\n    format: syslog\n", "over.yml:3:15: 'product' must be a string");
	bad("sources:\n  a:\n    product: x\n    when: {F|contains: v}\n",
	    "over.yml:4:12: unknown modifier 'contains'");
	bad("sources:\n  a:\n    product: x\n    when: {F|exists: maybe}\n",
	    "over.yml:4:22: a |exists test must be true or false");
	bad("sources:\n  a:\n    product: x\n    when: F\n", "over.yml:4:11: 'when' must be a map");
	bad("sources:\n  a:\n    product: x\n    when: [{F: {x: 1}}]\n",
	    "over.yml:4:17: the value of 'F' must be a string");
	bad("sources:\n  a:\n    product: x\n    fields: [Image]\n", "over.yml:4:14: 'fields' must be a map");
	bad("sources:\n  a:\n    product: x\n    when: {F: []}\n", "over.yml:4:12: the value of a field needs");
	bad("sources:\n  a:\n    product: x\n", "over.yml:2:3: source 'a' needs 'when' or 'format'");
	bad("sources:\n  a:\n    when: {F: v}\n", "over.yml:2:3: source 'a' needs a product, category or service");
	bad("source:\n  a: {}\n", "over.yml:1:1: unknown top-level key 'source'");
	bad("# nothing yet\nsources:\n", "over.yml:2:1: 'sources' must be a map");
	bad("sources:\n  a:\n    product: x\n    disabled: 2\n", "over.yml:4:15: 'disabled' must be true or false");
	bad("sources:\n  a: [1]\n", "over.yml:2:7: source 'a' must be a map");
	bad_yaml("sources:\n  a:\n    product: x\n   when: {F: v}\n");
	bad_yaml("sources:\n  a:\n    product: 'x\n");

	/* a failed override leaves the earlier files in place */
	rules_ls_map *m = rules_ls_new();
	core_err err = {0};
	int rc1 = rules_ls_add_file(m, DEFAULT_FILE, &err);
	int rc2 = rules_ls_add_string(m, "sources:\n  ps-script: {disabled: true}\n  x: {bogus: 1}\n", 51, "o.yml", &err);
	TAP_OK(rc1 == 0 && rc2 == CORE_EPARSE && rules_ls_compile(m, NULL) == 0 && rules_ls_find(m, "ps-script") >= 0,
	       "a failed file is not applied in part");
	rules_ls_free(m);

	rules_ls_map *none = NULL;
	const char *paths[] = {"no/such/file.yml"};
	TAP_OK(rules_ls_load(paths, 1, &none, &err) == CORE_EIO && !none && strstr(err.msg, "no/such/file.yml"),
	       "missing file: %s", err.msg);
}

int main(void)
{
	core_err err = {0};
	rules_ls_map *m = NULL;
	const char *paths[] = {DEFAULT_FILE};

	arena = core_arena_new(1 << 16, 0);
	int rc = rules_ls_load(paths, 1, &m, &err);
	TAP_OK(rc == 0 && m, "%s loads (%s)", DEFAULT_FILE, rc ? err.msg : "ok");
	if (!m) {
		core_arena_free(arena);
		return tap_done();
	}
	TAP_OK(rules_ls_count(m) > 90, "%zu sources", rules_ls_count(m));
	test_windows(m);
	test_renames(m);
	test_linux_web(m);
	test_override(rules_ls_count(m));
	test_errors();
	rules_ls_free(m);
	core_arena_free(arena);
	return tap_done();
}
