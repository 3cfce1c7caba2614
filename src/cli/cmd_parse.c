/* cmd_parse.c: `hisn parse`: reads files (or stdin), plain or compressed or
 * zipped, detects or takes the format, and prints one normalized JSON event per
 * line. Bad records are reported on stderr with their byte offset and skipped. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "parse/parse.h"

typedef struct run {
	cli_input in;       /* inputs, format, bad-record counts */
	unsigned json_flags;
	const char *lookup; /* --lookup: comma-separated names, or NULL */
	core_name names[32];
	const char *name_text[32];
	size_t nnames;
	core_arena *scratch; /* for --lookup's small events */
	bool strict;
	core_buf out;
	uint64_t events;
} run;

static void help(FILE *f)
{
	fprintf(f,
		"usage: hisn parse [OPTIONS] [FILE...]\n"
		"Reads logs and prints normalized events as JSON lines (one object per line).\n"
		"With no FILE, or when FILE is -, reads standard input. .gz and .zst are\n"
		"decompressed and .zip archives are read member by member (recognised by\n"
		"their content, not their name).\n\n"
		"options:\n"
		"  -f, --format NAME     input format (default: auto); see --list-formats\n"
		"      --list-formats    print the formats and exit\n"
		"      --ref-time TIME   reference time for timestamps without a year\n"
		"                        (RFC 3339; default: now)\n"
		"      --max-record N    longest record in bytes (default 1048576)\n"
		"      --original        add event.original with the raw record\n"
		"      --lookup NAMES    print only these fields, looked up as rules do\n"
		"                        (comma-separated; Sigma names such as Image or\n"
		"                        cs-method, dotted paths such as source.ip)\n"
		"      --pretty          indent the JSON\n"
		"      --stats           print counts and throughput on stderr at the end\n"
		"      --strict          exit 1 when any record could not be parsed\n"
		"  -q, --quiet           do not print bad-record messages\n"
		"  -h, --help            show this help\n\n"
		"exit status: 0 ok (bad records are reported and skipped), 1 an input could\n"
		"not be read or a write failed (or --strict and bad records), 2 usage.\n");
}

static void print_format(void *ud, const char *name, const char *summary)
{
	(void)ud;
	printf("%-8s %s\n", name, summary);
}

/* Copies field idx of ev (with its children) to the top of out under key. */
static int copy_field(core_event *out, const core_event *ev, uint32_t idx, const char *key)
{
	uint32_t *map = core_arena_alloc(out->arena, (size_t)ev->n * sizeof *map);
	int rc = 0;

	if (!map)
		return CORE_ENOMEM;
	memset(map, 0xff, (size_t)ev->n * sizeof *map); /* UINT32_MAX: not copied */
	for (uint32_t i = idx; i < ev->n && rc >= 0; i++) {
		const core_field *f = &ev->f[i];
		uint32_t p = CORE_NO_PARENT;
		if (i != idx) {
			/* only visible descendants of idx: their parent was copied */
			if (f->parent == CORE_NO_PARENT || f->parent < idx || map[f->parent] == UINT32_MAX ||
			    (f->flags & CORE_F_HIDDEN))
				continue;
			p = map[f->parent];
		}
		const char *k = i == idx ? key : f->key;
		size_t kl = i == idx ? strlen(key) : f->key_len;
		switch (f->type) {
		case CORE_T_STR: rc = core_event_add_str(out, p, k, kl, f->u.s, f->len); break;
		case CORE_T_INT: rc = core_event_add_int(out, p, k, kl, f->u.i); break;
		case CORE_T_FLOAT: rc = core_event_add_float(out, p, k, kl, f->u.f); break;
		case CORE_T_BOOL: rc = core_event_add_bool(out, p, k, kl, f->u.b); break;
		case CORE_T_ARRAY: rc = core_event_add_array(out, p, k, kl); break;
		case CORE_T_OBJECT: rc = core_event_add_object(out, p, k, kl); break;
		default: rc = core_event_add_null(out, p, k, kl);
		}
		if (rc >= 0)
			map[i] = (uint32_t)rc;
		if (i == idx && f->type < CORE_T_ARRAY)
			break;
	}
	return rc < 0 ? rc : 0;
}

/* --lookup: an event of the requested names only (absent names are null). */
static int lookup_json(run *r, const core_event *ev)
{
	core_event out;
	int rc = 0;

	core_arena_reset(r->scratch);
	core_event_init(&out, r->scratch);
	for (size_t k = 0; k < r->nnames && rc == 0; k++) {
		const core_field *f = core_event_get(ev, r->names[k]);
		if (f)
			rc = copy_field(&out, ev, core_event_idx(ev, f), r->name_text[k]);
		else
			rc = core_event_add_null(&out, CORE_NO_PARENT, r->name_text[k],
						 strlen(r->name_text[k])) < 0 ? CORE_ENOMEM : 0;
	}
	return rc ? rc : core_event_to_json(&out, &r->out, 0);
}

static int on_batch(void *ud, core_event *ev, size_t n)
{
	run *r = ud;

	r->out.len = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = r->nnames ? lookup_json(r, &ev[i]) : core_event_to_json(&ev[i], &r->out, r->json_flags);
		if (rc == 0)
			rc = core_buf_addc(&r->out, '\n');
		if (rc) {
			fprintf(stderr, "hisn: parse: cannot write an event: %s\n", core_strerror(rc));
			return rc;
		}
	}
	r->events += n;
	if (r->out.len && fwrite(r->out.data, 1, r->out.len, stdout) != r->out.len)
		return CORE_EIO;
	return 0;
}

/* Splits --lookup's list (in place: optarg is ours to modify). */
static int parse_lookup(run *r)
{
	char *s = (char *)r->lookup;

	while (*s) {
		char *comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		if (*s && r->nnames == sizeof r->names / sizeof r->names[0]) {
			fprintf(stderr, "hisn parse: --lookup: at most 32 names\n");
			return -1;
		}
		if (*s) {
			r->name_text[r->nnames] = s;
			r->names[r->nnames++] = core_intern(s, strlen(s));
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	if (!r->nnames || !(r->scratch = core_arena_new(64 * 1024, 0))) {
		fprintf(stderr, "hisn parse: --lookup: expected NAME[,NAME...]\n");
		return -1;
	}
	return 0;
}

int cli_parse_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'}, {"list-formats", no_argument, NULL, 'L'},
		{"ref-time", required_argument, NULL, 'r'}, {"max-record", required_argument, NULL, 'm'},
		{"original", no_argument, NULL, 'o'},    {"pretty", no_argument, NULL, 'p'},
		{"stats", no_argument, NULL, 's'},       {"strict", no_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'},       {"help", no_argument, NULL, 'h'},
		{"lookup", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0}};
	run r = {.in = {.cmd = "parse", .format = "auto", .on_batch = on_batch}};
	int c, rc = CLI_EXIT_OK;
	uint64_t v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': r.in.format = optarg; break;
		case 'L': parse_formats(print_format, NULL); return CLI_EXIT_OK;
		case 'r':
			if (cli_time_arg(optarg, &r.in.ref_time) != 0) {
				fprintf(stderr, "hisn: parse: --ref-time: '%s' is not an RFC 3339 time\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'm':
			if (core_parse_u64(optarg, strlen(optarg), &v) != 0 || v < 64 || v > (1u << 30)) {
				fprintf(stderr, "hisn: parse: --max-record: expected 64..1073741824 bytes\n");
				return CLI_EXIT_USAGE;
			}
			r.in.max_record = (size_t)v;
			break;
		case 'o':
			r.json_flags |= CORE_JSON_ORIGINAL;
			r.in.keep_raw = true;
			break;
		case 'p': r.json_flags |= CORE_JSON_PRETTY; break;
		case 's': r.in.stats = true; break;
		case 'S': r.strict = true; break;
		case 'q': r.in.quiet = true; break;
		case 'l': r.lookup = optarg; break;
		case 'h': help(stdout); return CLI_EXIT_OK;
		default:
			fprintf(stderr, "Try 'hisn parse --help' for more information.\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (r.lookup && parse_lookup(&r) != 0)
		return CLI_EXIT_USAGE;
	r.in.ud = &r;
	core_buf_init(&r.out, 0);
	int64_t t0 = core_time_now();
	if (optind == argc) {
		rc = cli_input_read(&r.in, "-");
	} else {
		for (int i = optind; i < argc; i++) {
			int one = cli_input_read(&r.in, argv[i]);
			if (one == CLI_EXIT_USAGE) {
				rc = one;
				break;
			}
			if (one)
				rc = one;
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "hisn: parse: writing the output failed: %s\n", strerror(errno));
		rc = CLI_EXIT_RUNTIME;
	}
	if (r.in.stats) {
		double secs = (double)(core_time_now() - t0) / 1e9;
		fprintf(stderr, "hisn: parse: %llu events, %llu bad records, %llu bytes in %.3f s (%.1f MB/s)\n",
			(unsigned long long)r.events, (unsigned long long)r.in.errors,
			(unsigned long long)r.in.bytes, secs, secs > 0 ? (double)r.in.bytes / secs / 1e6 : 0.0);
	}
	if (rc == CLI_EXIT_OK && r.strict && r.in.errors)
		rc = CLI_EXIT_RUNTIME;
	core_buf_free(&r.out);
	core_arena_free(r.scratch);
	return rc;
}
