/* input.c: reading inputs for the commands that parse logs (parse, hunt): a
 * file or stdin, plain, compressed or zipped, member by member, each through
 * its own parse_stream; bad records reported with their byte offset. Also the
 * recursive listing of an input folder and the time argument parser. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/io.h"

static void on_error(void *ud, const core_err *e)
{
	cli_input *ci = ud;

	ci->errors++;
	if (ci->quiet)
		return;
	if (ci->member && strcmp(ci->member, ci->input) != 0)
		fprintf(stderr, "hisn: %s: %s: %s: offset %zu: %s\n", ci->cmd, ci->input, ci->member, e->offset,
			e->msg);
	else
		fprintf(stderr, "hisn: %s: %s: offset %zu: %s\n", ci->cmd, ci->input, e->offset, e->msg);
}

/* parse_options has one user pointer, for both callbacks: batches go on to
 * the caller's callback with its own. */
static int on_batch(void *ud, core_event *ev, size_t n)
{
	cli_input *ci = ud;
	return ci->on_batch(ci->ud, ev, n);
}

static void member_stats(const cli_input *ci, const parse_stream *ps)
{
	parse_stats st;
	bool zip = strcmp(ci->member, ci->input) != 0;

	parse_stream_stats(ps, &st);
	fprintf(stderr, "hisn: %s: %s%s%s: format %s, %llu events, %llu bad records\n", ci->cmd, ci->input,
		zip ? ": " : "", zip ? ci->member : "", parse_stream_format(ps),
		(unsigned long long)st.events, (unsigned long long)st.errors);
}

/* Streams the current member of in through a new parse stream. */
static int read_member(cli_input *ci, io_input *in)
{
	core_err err = {0};
	parse_options po = {.format = ci->format, .ref_time = ci->ref_time, .max_record = ci->max_record,
			    .name = ci->member, .on_batch = on_batch, .on_error = on_error, .ud = ci,
			    .keep_raw = ci->keep_raw};
	parse_stream *ps;
	int rc = 0;
	bool first = true;

	ps = parse_stream_new(&po, &err);
	if (!ps) {
		fprintf(stderr, "hisn: %s: %s\n", ci->cmd, err.msg);
		return CLI_EXIT_USAGE;
	}
	for (;;) {
		size_t room;
		char *buf = parse_stream_space(ps, &room);
		ssize_t got = io_read(in, buf, room, &err);
		if (got < 0) {
			fprintf(stderr, "hisn: %s: %s: %s\n", ci->cmd, ci->input, err.msg);
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
		if (got == 0)
			break;
		if (first && !io_looks_textual(buf, (size_t)got)) {
			fprintf(stderr, "hisn: %s: %s: %s: binary data, not a log; skipped\n", ci->cmd, ci->input,
				ci->member);
			goto out;
		}
		first = false;
		ci->bytes += (uint64_t)got;
		if (parse_stream_commit(ps, (size_t)got) != 0) {
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
	}
	if (parse_stream_finish(ps) != 0)
		rc = CLI_EXIT_RUNTIME;
	if (ci->stats)
		member_stats(ci, ps);
out:
	parse_stream_free(ps);
	return rc;
}

int cli_input_read(cli_input *ci, const char *path)
{
	core_err err = {0};
	const char *name;
	int rc = 0, more;
	io_input *in = io_open(path, &err);

	ci->input = strcmp(path, "-") == 0 ? "stdin" : path;
	ci->member = ci->input;
	if (!in) {
		fprintf(stderr, "hisn: %s: %s: %s\n", ci->cmd, ci->input, err.msg);
		ci->inputs_failed++;
		return CLI_EXIT_RUNTIME;
	}
	/* A member that cannot be read (an unsupported method, a bad CRC) is
	 * reported and the next one is still read. */
	while ((more = io_next(in, &name, &err)) == 1) {
		ci->member = name;
		int one = read_member(ci, in);
		if (one == CLI_EXIT_USAGE) {
			rc = one;
			break;
		}
		if (one)
			rc = one;
	}
	if (more < 0) {
		fprintf(stderr, "hisn: %s: %s: %s\n", ci->cmd, ci->input, err.msg);
		rc = CLI_EXIT_RUNTIME;
	}
	if (rc)
		ci->inputs_failed++;
	io_close(in);
	return rc;
}

/* ---- folders ---------------------------------------------------------------------- */
void cli_paths_free(cli_paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	*p = (cli_paths){0};
}

static int paths_push(cli_paths *p, char *s)
{
	if (!s || core_grow((void **)&p->v, &p->cap, p->n, sizeof *p->v, 16) != 0) {
		free(s);
		return CORE_ENOMEM;
	}
	p->v[p->n++] = s;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return s;
}

/* The entries of folder dir (not . and ..), sorted by name. */
static int list_dir(const char *dir, cli_paths *names, core_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", dir, strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = paths_push(names, strdup(de->d_name));
	}
	closedir(d);
	if (rc)
		return core_err_set(err, rc, SIZE_MAX, "%s: out of memory", dir);
	if (names->n)
		qsort(names->v, names->n, sizeof *names->v, by_name);
	return 0;
}

static int walk(cli_paths *out, const char *dir, int depth, core_err *err)
{
	cli_paths names = {0};
	int rc;

	if (depth > 64)
		return core_err_set(err, CORE_ETOOBIG, SIZE_MAX, "%s: folders nested too deep", dir);
	rc = list_dir(dir, &names, err);
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		char *p = join(dir, names.v[i]);
		struct stat st, lst;
		if (!p) {
			rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "%s: out of memory", dir);
			break;
		}
		if (lstat(p, &lst) != 0 || stat(p, &st) != 0) {
			free(p); /* a dangling link or a file gone meanwhile */
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!S_ISLNK(lst.st_mode))
				rc = walk(out, p, depth + 1, err);
			free(p);
		} else if (S_ISREG(st.st_mode)) {
			rc = paths_push(out, p);
			if (rc)
				core_err_set(err, rc, SIZE_MAX, "%s: out of memory", dir);
		} else {
			free(p);
		}
	}
	cli_paths_free(&names);
	return rc;
}

int cli_paths_add(cli_paths *out, const char *path, core_err *err)
{
	struct stat st;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return walk(out, path, 0, err);
	if (paths_push(out, strdup(path)) != 0)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	return 0;
}

int cli_time_arg(const char *s, int64_t *ns)
{
	size_t used;
	return core_time_iso(s, strlen(s), ns, &used) == 0 && used == strlen(s) ? 0 : -1;
}
