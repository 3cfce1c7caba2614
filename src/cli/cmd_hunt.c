/* cmd_hunt.c: `hisn hunt`: offline threat hunting. Loads Sigma rules (files or
 * folders), builds the detection engine over the logsource map (the built-in
 * data/logsources.yml, extended by --logsources files), reads every input as
 * `hisn parse` does (folders walked recursively) and matches each event;
 * matches of rules that correlations reference are fed to the correlation
 * engine. Output: a table by rule, or one JSON line per match (--jsonl);
 * summary on stderr. Output formats are described in docs/CLI.md. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/hunt.h"

#define USAGE "usage: hisn hunt --rules PATH [--rules PATH]... [OPTIONS] [FILE|DIR...]\n"

typedef struct hunt_args {
	const char *rules[64];
	size_t nrules;
	const char *ls[16];
	size_t nls;
	bool no_default_ls;
	const char *placeholders;
} hunt_args;

static void help(FILE *f)
{
	fprintf(f, USAGE
		"Matches events against Sigma rules (and correlation rules) offline.\n"
		"Reads files, folders (every file under them, recursively, by name) and\n"
		"standard input (no FILE, or -), plain, .gz, .zst or .zip, as 'hisn parse'.\n"
		"Prints a table of the rules that matched (level, count, first and last\n"
		"event times, id, title, author) and of correlation results, or with\n"
		"--jsonl one JSON object per match and per correlation result.\n\n"
		"options:\n"
		"  -r, --rules PATH         a rule file or a folder searched recursively for\n"
		"                           *.yml and *.yaml (repeatable; at least one)\n"
		"      --jsonl              one JSON object per line: {\"type\":\"match\",\"rule_id\",\n"
		"                           \"rule_title\",\"level\",\"tags\",\"author\",\"timestamp\",\n"
		"                           \"file\",\"offset\",\"event\"} and {\"type\":\"correlation\",...}\n"
		"      --min-level LEVEL    show only rules of this level or above:\n"
		"                           informational, low, medium, high, critical; rules\n"
		"                           without a level are then hidden (every rule is\n"
		"                           still evaluated, for correlations)\n"
		"      --from TIME          skip events before TIME (RFC 3339)\n"
		"      --to TIME            skip events at or after TIME; events without a\n"
		"                           time are kept by --from and --to\n"
		"      --logsources FILE    extend or override the logsource map (repeatable;\n"
		"                           format in docs/LOGSOURCES.md)\n"
		"      --no-default-logsources  start from an empty map instead of the built-in\n"
		"                           data/logsources.yml\n"
		"      --placeholders FILE  values for |expand placeholders (as 'hisn rules check')\n"
		"  -f, --format NAME        input format (default: auto); see 'hisn parse --list-formats'\n"
		"      --ref-time TIME      reference time for timestamps without a year\n"
		"      --stats              engine counters and time per event and stage on stderr\n"
		"      --corr-memory MB     bound of the correlation state (default 64); past it\n"
		"                           the least recently updated groups are evicted and\n"
		"                           counted in the summary\n"
		"  -q, --quiet              no warnings, bad-record messages or summary\n"
		"  -h, --help               show this help\n\n"
		"Rules that fail to load are reported (FILE:LINE:COL: reason) and the others\n"
		"are used. A summary goes to stderr at the end, and a progress bar while\n"
		"reading when stderr is a terminal.\n\n"
		"exit status: 0 ok, 1 an input could not be read or a write failed, 2 usage,\n"
		"3 no rule loaded and some failed, or a logsource file failed.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "hisn hunt: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n" USAGE "Try 'hisn hunt --help' for more information.\n");
	va_end(ap);
	return CLI_EXIT_USAGE;
}

static int level_arg(const char *s, uint8_t *out)
{
	for (int l = RULES_LEVEL_INFORMATIONAL; l <= RULES_LEVEL_CRITICAL; l++)
		if (strcmp(s, rules_level_name((rules_level)l)) == 0) {
			*out = (uint8_t)l;
			return 0;
		}
	return -1;
}

/* Options into h and a; returns -1 to go on, or an exit code. */
static int options(int argc, char **argv, hunt *h, hunt_args *a)
{
	enum { O_JSONL = 256, O_MIN, O_FROM, O_TO, O_LS, O_NOLS, O_PH, O_REF, O_STATS, O_CMEM };
	static const struct option opts[] = {
		{"rules", required_argument, NULL, 'r'},     {"jsonl", no_argument, NULL, O_JSONL},
		{"min-level", required_argument, NULL, O_MIN}, {"from", required_argument, NULL, O_FROM},
		{"to", required_argument, NULL, O_TO},       {"logsources", required_argument, NULL, O_LS},
		{"no-default-logsources", no_argument, NULL, O_NOLS},
		{"placeholders", required_argument, NULL, O_PH}, {"format", required_argument, NULL, 'f'},
		{"ref-time", required_argument, NULL, O_REF}, {"stats", no_argument, NULL, O_STATS},
		{"quiet", no_argument, NULL, 'q'},           {"help", no_argument, NULL, 'h'},
		{"corr-memory", required_argument, NULL, O_CMEM},
		{NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (a->nrules == sizeof a->rules / sizeof a->rules[0])
				return usage_error("at most 64 --rules");
			a->rules[a->nrules++] = optarg;
			break;
		case O_JSONL: h->jsonl = true; break;
		case O_MIN:
			if (level_arg(optarg, &h->min_level) != 0)
				return usage_error("--min-level: '%s' is not informational, low, medium, high "
						   "or critical", optarg);
			break;
		case O_FROM:
		case O_TO:
			if (cli_time_arg(optarg, c == O_FROM ? &h->from : &h->to) != 0)
				return usage_error("--%s: '%s' is not an RFC 3339 time", c == O_FROM ? "from" : "to",
						   optarg);
			*(c == O_FROM ? &h->has_from : &h->has_to) = true;
			break;
		case O_LS:
			if (a->nls == sizeof a->ls / sizeof a->ls[0])
				return usage_error("at most 16 --logsources");
			a->ls[a->nls++] = optarg;
			break;
		case O_NOLS: a->no_default_ls = true; break;
		case O_PH: a->placeholders = optarg; break;
		case 'f': h->in.format = optarg; break;
		case O_REF:
			if (cli_time_arg(optarg, &h->in.ref_time) != 0)
				return usage_error("--ref-time: '%s' is not an RFC 3339 time", optarg);
			break;
		case O_STATS: h->stats = true; break;
		case O_CMEM: {
			uint64_t mb;
			if (core_parse_u64(optarg, strlen(optarg), &mb) != 0 || mb == 0 || mb > 1u << 20)
				return usage_error("--corr-memory: '%s' is not a size in MB (1 to 1048576)", optarg);
			h->corr_bytes = (size_t)mb << 20;
			break;
		}
		case 'q': h->quiet = h->in.quiet = true; break;
		case 'h': help(stdout); return CLI_EXIT_OK;
		default:
			fprintf(stderr, USAGE "Try 'hisn hunt --help' for more information.\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (!a->nrules)
		return usage_error("no --rules PATH given");
	if (h->has_from && h->has_to && h->to <= h->from)
		return usage_error("--to must be after --from");
	return -1;
}

/* ---- set-up ------------------------------------------------------------------------------- */
static void print_msgs(const rules_set *s, bool quiet)
{
	for (size_t i = 0; i < s->nmsgs; i++) {
		const rules_msg *m = &s->msgs[i];
		bool warning = m->severity == RULES_SEV_WARNING;
		char where[32] = "";
		if (warning && quiet)
			continue;
		if (m->line)
			snprintf(where, sizeof where, ":%u:%u", m->line, m->col);
		fprintf(stderr, "%s%s: %s%s\n", m->file, where, warning ? "warning: " : "", m->reason);
	}
}

/* Returns -1 to go on, or an exit code. */
static int load_rules(const hunt_args *a, core_arena *arena, bool quiet, rules_set **out)
{
	rules_placeholder *ph = NULL;
	rules_options opt = {0};
	core_err err = {0};
	rules_set *s;

	if (a->placeholders && rules_placeholders_load(a->placeholders, arena, &ph, &opt.nplaceholders, &err) != 0) {
		fprintf(stderr, "hisn: hunt: %s\n", err.msg[0] ? err.msg : "out of memory");
		return CLI_EXIT_CONFIG;
	}
	opt.placeholders = ph;
	s = *out = rules_set_new(&opt);
	if (!s) {
		fprintf(stderr, "hisn: hunt: out of memory\n");
		return CLI_EXIT_RUNTIME;
	}
	for (size_t i = 0; i < a->nrules; i++)
		if (rules_load_path(s, a->rules[i]) != 0) {
			fprintf(stderr, "hisn: hunt: out of memory loading the rules\n");
			return CLI_EXIT_RUNTIME;
		}
	rules_set_link(s);
	print_msgs(s, quiet);
	if (s->nloaded[0] + s->nloaded[1] + s->nloaded[2] == 0 && s->nfailed) {
		fprintf(stderr, "hisn: hunt: no rule could be loaded (%zu failed)\n", s->nfailed);
		return CLI_EXIT_CONFIG;
	}
	return -1;
}

static int load_ls(const hunt_args *a, rules_ls_map **out)
{
	core_err err = {0};
	rules_ls_map *m = *out = rules_ls_new();
	int rc = m ? 0 : CORE_ENOMEM;

	if (rc == 0 && !a->no_default_ls)
		rc = rules_ls_add_default(m, &err);
	for (size_t i = 0; rc == 0 && i < a->nls; i++)
		rc = rules_ls_add_file(m, a->ls[i], &err);
	if (rc == 0)
		rc = rules_ls_compile(m, &err);
	if (rc == 0)
		return -1;
	fprintf(stderr, "hisn: hunt: logsources: %s\n", err.msg[0] ? err.msg : core_strerror(rc));
	return rc == CORE_ENOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_CONFIG;
}

static int setup_engine(hunt *h, const rules_ls_map *ls, engine_info *info)
{
	core_err err = {0};
	int rc = engine_build(h->set, ls, NULL, &h->eng, &err);
	uint32_t rule;
	const char *reason;

	if (rc != 0) {
		fprintf(stderr, "hisn: hunt: cannot build the detection engine: %s\n",
			err.msg[0] ? err.msg : core_strerror(rc));
		return rc == CORE_ENOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_CONFIG;
	}
	engine_get_info(h->eng, info);
	for (size_t i = 0; engine_failure(h->eng, i, &rule, &reason); i++) {
		const rules_rule *r = &h->set->rules[rule];
		fprintf(stderr, "%s:%u: %s (rule left out)\n", r->file ? r->file : "?", r->line, reason);
	}
	h->scr = engine_scratch_new(h->eng);
	if (h->scr && h->stats)
		engine_scratch_timing(h->scr, true);
	if (h->scr && h->set->nloaded[RULES_KIND_CORRELATION])
		h->corr = corr_new(h->set, &(corr_options){.max_bytes = h->corr_bytes});
	h->tally = calloc(h->set->nrules ? h->set->nrules : 1, sizeof *h->tally);
	if (!h->scr || !h->tally || (h->set->nloaded[RULES_KIND_CORRELATION] && !h->corr) ||
	    cli_hunt_bodies(h) != 0) {
		fprintf(stderr, "hisn: hunt: out of memory\n");
		return CLI_EXIT_RUNTIME;
	}
	for (size_t i = 0; i < h->set->nrules; i++)
		h->tally[i].first = h->tally[i].last = CORE_TS_NONE;
	return -1;
}

/* ---- the event loop ------------------------------------------------------------------------ */
static const core_field *lookup(void *ud, const core_event *ev, const char *field)
{
	hunt *h = ud;
	return engine_field(h->eng, h->scr, ev, field);
}

static void tally(hunt_tally *t, int64_t ts)
{
	t->count++;
	if (ts == CORE_TS_NONE)
		return;
	if (t->first == CORE_TS_NONE || ts < t->first)
		t->first = ts;
	if (t->last == CORE_TS_NONE || ts > t->last)
		t->last = ts;
}

static int feed_corr(hunt *h, uint32_t rule, const core_event *ev)
{
	int64_t t0 = h->stats ? core_time_now() : 0;
	int rc = corr_feed(h->corr, rule, ev, lookup, h, cli_hunt_emit, h);
	if (h->stats)
		h->ns_corr += core_time_now() - t0;
	return rc;
}

static int one_event(hunt *h, const core_event *ev)
{
	const uint32_t *m;
	int n = engine_match(h->eng, h->scr, ev, &m), rc = 0;

	for (int k = 0; k < n && rc == 0; k++) {
		uint32_t r = m[k];
		uint8_t lv = h->set->rules[r].level;
		if (engine_rule_silent(h->eng, r)) {
			h->silent++;
		} else if (lv < h->min_level) {
			h->below++;
		} else {
			tally(&h->tally[r], ev->ts);
			h->by_level[lv < 6 ? lv : 0]++;
			if (h->jsonl)
				rc = cli_hunt_match_json(h, r, ev);
		}
		if (rc == 0 && h->corr && corr_wants(h->corr, r))
			rc = feed_corr(h, r, ev);
	}
	return n < 0 ? n : rc;
}

static int on_batch(void *ud, core_event *ev, size_t n)
{
	hunt *h = ud;
	int64_t t0 = h->stats ? core_time_now() : 0;
	int rc = 0;

	h->out.len = 0;
	h->file.len = 0; /* a batch belongs to one member: its "file" is made on first use */
	for (size_t i = 0; i < n && rc == 0; i++) {
		const core_event *e = &ev[i];
		h->events++;
		if (e->ts != CORE_TS_NONE && ((h->has_from && e->ts < h->from) || (h->has_to && e->ts >= h->to))) {
			h->outside++;
			continue;
		}
		rc = one_event(h, e);
	}
	if (rc)
		fprintf(stderr, "hisn: hunt: %s\n", core_strerror(rc));
	else if (h->out.len && fwrite(h->out.data, 1, h->out.len, stdout) != h->out.len)
		rc = CORE_EIO, h->write_failed = true;
	cli_hunt_progress(h, false);
	if (h->stats)
		h->ns_batches += core_time_now() - t0;
	return rc;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

static int run_inputs(hunt *h, int argc, char **argv)
{
	cli_paths p = {0};
	core_err err = {0};
	int rc = 0;

	for (int i = 0; i < argc; i++)
		if (cli_paths_add(&p, argv[i], &err) != 0) {
			fprintf(stderr, "hisn: hunt: %s\n", err.msg);
			rc = CLI_EXIT_RUNTIME;
		}
	if (argc == 0 && cli_paths_add(&p, "-", &err) != 0)
		rc = CLI_EXIT_RUNTIME;
	for (size_t i = 0; h->progress && i < p.n; i++)
		h->total_bytes += file_size(p.v[i]);
	for (size_t i = 0; i < p.n && !h->write_failed; i++) {
		h->cur_size = h->progress ? file_size(p.v[i]) : 0;
		h->cur_base = h->in.bytes;
		int one = cli_input_read(&h->in, p.v[i]);
		h->done_bytes += h->cur_size;
		if (one == CLI_EXIT_USAGE) {
			rc = one;
			break;
		}
		if (one)
			rc = one;
	}
	/* windows that only close at the end (upper bounds, eq) are judged now;
	 * their JSON lines go out like a batch's */
	h->out.len = 0;
	if (h->corr && corr_flush(h->corr, cli_hunt_emit, h) < 0 && !rc)
		rc = CLI_EXIT_RUNTIME;
	if (h->out.len && fwrite(h->out.data, 1, h->out.len, stdout) != h->out.len) {
		h->write_failed = true;
		rc = CLI_EXIT_RUNTIME;
	}
	cli_hunt_progress(h, true);
	cli_paths_free(&p);
	return rc;
}

static void hunt_free(hunt *h)
{
	corr_free(h->corr);
	engine_scratch_free(h->scr);
	engine_free(h->eng);
	free(h->tally);
	free(h->body);
	free(h->body_len);
	free(h->rows);
	core_buf_free(&h->out);
	core_buf_free(&h->file);
	core_buf_free(&h->tmp);
}

int cli_hunt_main(int argc, char **argv)
{
	hunt h = {.in = {.cmd = "hunt", .format = "auto", .on_batch = on_batch}};
	hunt_args a = {0};
	rules_set *set = NULL;
	rules_ls_map *ls = NULL;
	engine_info info = {0};
	int rc = options(argc, argv, &h, &a);

	if (rc >= 0)
		return rc;
	h.in.ud = &h;
	core_buf_init(&h.out, 0);
	core_buf_init(&h.file, 0);
	core_buf_init(&h.tmp, 0);
	h.arena = core_arena_new(1 << 16, 0);
	if (!h.arena) {
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	if ((rc = load_rules(&a, h.arena, h.quiet, &set)) >= 0 || (h.set = set, rc = load_ls(&a, &ls)) >= 0 ||
	    (rc = setup_engine(&h, ls, &info)) >= 0)
		goto out;
	h.progress = !h.quiet && isatty(STDERR_FILENO);
	h.t0 = core_time_now();
	rc = run_inputs(&h, argc - optind, argv + optind);
	if (rc != CLI_EXIT_USAGE && !h.jsonl && !h.write_failed && cli_hunt_table(&h, stdout) != 0)
		rc = CLI_EXIT_RUNTIME;
	if (fflush(stdout) != 0 || h.write_failed) {
		fprintf(stderr, "hisn: hunt: writing the output failed: %s\n", strerror(errno));
		rc = CLI_EXIT_RUNTIME;
	}
	if (rc != CLI_EXIT_USAGE && !h.quiet)
		cli_hunt_summary(&h, &info);
	if (rc != CLI_EXIT_USAGE && h.stats)
		cli_hunt_stats(&h);
out:
	hunt_free(&h);
	rules_ls_free(ls);
	rules_set_free(set);
	core_arena_free(h.arena);
	return rc;
}
