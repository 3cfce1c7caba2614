/* hunt_out.c: what `hisn hunt` writes: one JSON line per match and per
 * correlation result (--jsonl), or a table of the rules that matched; the
 * summary and --stats on stderr; the progress bar on a terminal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "cli/hunt.h"

/* ---- JSON ------------------------------------------------------------------------- */
/* Appends s[0..n) as a JSON string; bytes that are not valid UTF-8 become
 * U+FFFD so that the line is always valid JSON. */
static int str_or_null(core_buf *b, const char *s)
{
	return s ? core_json_str(b, s, strlen(s)) : core_buf_add(b, "null", 4);
}

static int ts_json(core_buf *b, int64_t ts)
{
	char t[40];
	if (ts == CORE_TS_NONE)
		return core_buf_add(b, "null", 4);
	return core_buf_printf(b, "\"%.*s\"", (int)core_time_format(ts, t), t);
}

/* The members every line of rule i starts with: "rule_id":...,"author":..., */
static int body_of(const rules_rule *r, core_buf *b)
{
	int rc = core_buf_add(b, "\"rule_id\":", 10);
	rc = rc ? rc : str_or_null(b, r->id);
	rc = rc ? rc : core_buf_add(b, ",\"rule_title\":", 14);
	rc = rc ? rc : str_or_null(b, r->title);
	rc = rc ? rc : core_buf_add(b, ",\"level\":", 9);
	rc = rc ? rc : str_or_null(b, r->level ? rules_level_name(r->level) : NULL);
	rc = rc ? rc : core_buf_add(b, ",\"tags\":[", 9);
	for (uint32_t k = 0; rc == 0 && k < r->tags.n; k++) {
		if (k)
			rc = core_buf_addc(b, ',');
		rc = rc ? rc : str_or_null(b, r->tags.v[k]);
	}
	rc = rc ? rc : core_buf_add(b, "],\"author\":", 11);
	rc = rc ? rc : str_or_null(b, r->author);
	return rc ? rc : core_buf_addc(b, ',');
}

int cli_hunt_bodies(hunt *h)
{
	const rules_set *s = h->set;

	h->body = calloc(s->nrules ? s->nrules : 1, sizeof *h->body);
	h->body_len = calloc(s->nrules ? s->nrules : 1, sizeof *h->body_len);
	if (!h->body || !h->body_len)
		return CORE_ENOMEM;
	for (size_t i = 0; i < s->nrules; i++) {
		h->tmp.len = 0;
		if (body_of(&s->rules[i], &h->tmp) != 0)
			return CORE_ENOMEM;
		h->body[i] = core_arena_strndup(h->arena, h->tmp.data, h->tmp.len);
		h->body_len[i] = (uint32_t)h->tmp.len;
		if (!h->body[i])
			return CORE_ENOMEM;
	}
	return 0;
}

/* "file": the input, and !member for a member of a zip. */
static int file_json(hunt *h)
{
	const cli_input *in = &h->in;
	bool zip = in->member && strcmp(in->member, in->input) != 0;
	int rc;

	h->tmp.len = 0;
	rc = core_buf_printf(&h->tmp, "%s%s%s", in->input, zip ? "!" : "", zip ? in->member : "");
	return rc ? rc : core_json_str(&h->file, h->tmp.data, h->tmp.len);
}

int cli_hunt_match_json(hunt *h, uint32_t rule, const core_event *ev)
{
	core_buf *o = &h->out;
	int rc = h->file.len ? 0 : file_json(h);

	rc = rc ? rc : core_buf_add(o, "{\"type\":\"match\",", 16);
	rc = rc ? rc : core_buf_add(o, h->body[rule], h->body_len[rule]);
	rc = rc ? rc : core_buf_add(o, "\"timestamp\":", 12);
	rc = rc ? rc : ts_json(o, ev->ts);
	rc = rc ? rc : core_buf_add(o, ",\"file\":", 8);
	rc = rc ? rc : core_buf_add(o, h->file.data, h->file.len);
	rc = rc ? rc : core_buf_printf(o, ",\"offset\":%llu,\"event\":", (unsigned long long)ev->offset);
	rc = rc ? rc : core_event_to_json(ev, o, 0);
	return rc ? rc : core_buf_add(o, "}\n", 2);
}

/* ---- correlation results ------------------------------------------------------------- */
static int corr_json(hunt *h, const corr_result *r)
{
	core_buf *o = &h->out;
	int rc = core_buf_add(o, "{\"type\":\"correlation\",", 22);

	rc = rc ? rc : core_buf_add(o, h->body[r->rule], h->body_len[r->rule]);
	rc = rc ? rc : core_buf_add(o, "\"timestamp\":", 12);
	rc = rc ? rc : ts_json(o, r->last_ts);
	rc = rc ? rc : core_buf_add(o, ",\"first\":", 9);
	rc = rc ? rc : ts_json(o, r->first_ts);
	rc = rc ? rc : core_buf_add(o, ",\"last\":", 8);
	rc = rc ? rc : ts_json(o, r->last_ts);
	rc = rc ? rc : core_buf_add(o, ",\"group\":{", 10);
	for (size_t k = 0; rc == 0 && k < r->ngroup; k++) {
		if (k)
			rc = core_buf_addc(o, ',');
		rc = rc ? rc : str_or_null(o, r->group_fields[k]);
		rc = rc ? rc : core_buf_addc(o, ':');
		rc = rc ? rc : str_or_null(o, r->group_values[k]);
	}
	rc = rc ? rc : core_buf_printf(o, "},\"count\":%llu,\"value\":", (unsigned long long)r->count);
	if (rc == 0)
		rc = isfinite(r->value) ? core_buf_printf(o, "%.15g", r->value) : core_buf_add(o, "null", 4);
	return rc ? rc : core_buf_add(o, "}\n", 2);
}

static int corr_row(hunt *h, const corr_result *r)
{
	hunt_corr_row *row;
	int rc = 0;

	h->tmp.len = 0;
	for (size_t k = 0; rc == 0 && k < r->ngroup; k++)
		rc = core_buf_printf(&h->tmp, "%s%s=%s", k ? ", " : "", r->group_fields[k] ? r->group_fields[k] : "",
				     r->group_values[k] ? r->group_values[k] : "");
	if (rc || core_grow((void **)&h->rows, &h->caprows, h->nrows, sizeof *h->rows, 64) != 0)
		return CORE_ENOMEM;
	row = &h->rows[h->nrows];
	*row = (hunt_corr_row){.rule = r->rule, .results = 1, .first = r->first_ts, .last = r->last_ts,
			       .value = r->value};
	row->group = core_arena_strndup(h->arena, h->tmp.data ? h->tmp.data : "", h->tmp.len);
	if (!row->group)
		return CORE_ENOMEM;
	h->nrows++;
	return 0;
}

int cli_hunt_emit(void *ud, const corr_result *r)
{
	hunt *h = ud;

	/* a correlation that only feeds other correlations (generate: false)
	 * is not shown, like the rules it references */
	if (engine_rule_silent(h->eng, r->rule))
		return 0;
	h->corr_results++;
	if (h->set->rules[r->rule].level < h->min_level) {
		h->corr_below++;
		return 0;
	}
	return h->jsonl ? corr_json(h, r) : corr_row(h, r);
}

/* ---- the table ------------------------------------------------------------------------ */
typedef struct match_row {
	uint32_t rule;
	uint8_t level;
	uint64_t count;
	const char *title;
} match_row;

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* Level (critical first), then count (larger first), then title and index. */
static int by_level(const void *pa, const void *pb)
{
	const match_row *a = pa, *b = pb;
	if (a->level != b->level)
		return a->level > b->level ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	int c = cmp_str(a->title, b->title);
	return c ? c : (a->rule > b->rule) - (a->rule < b->rule);
}

static int by_count(const void *pa, const void *pb)
{
	const match_row *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return by_level(pa, pb);
}

/* The rules with matches shown (at or above --min-level), sorted by cmp.
 * Returns a malloc'd array (NULL when empty or out of memory). */
static match_row *match_rows(const hunt *h, size_t *n, int (*cmp)(const void *, const void *))
{
	match_row *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < h->set->nrules; i++) {
		const rules_rule *r = &h->set->rules[i];
		if (!h->tally[i].count || r->level < h->min_level)
			continue;
		if (core_grow((void **)&v, &cap, *n, sizeof *v, 32) != 0)
			break;
		v[(*n)++] = (match_row){.rule = (uint32_t)i, .level = r->level, .count = h->tally[i].count,
					.title = r->title};
	}
	if (*n)
		qsort(v, *n, sizeof *v, cmp);
	return v;
}

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* Prints cells[nrows][ncols] (row 0: the header) in aligned columns; the
 * columns of bit c of right are aligned right. */
static void table_print(FILE *f, const char **cells, size_t nrows, size_t ncols, unsigned right)
{
	size_t w[16] = {0};

	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols && c < 16; c++) {
			size_t cw = text_width(cells[r * ncols + c]);
			w[c] = cw > w[c] ? cw : w[c];
		}
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols && c < 16; c++) {
			const char *s = cells[r * ncols + c];
			int pad = (int)(w[c] - text_width(s));
			bool last = c + 1 == ncols;
			if (right & (1u << c))
				fprintf(f, "%*s%s%s", pad, "", s, last ? "" : "  ");
			else
				fprintf(f, "%s%*s", s, last ? 0 : pad + 2, "");
		}
		fputc('\n', f);
	}
}

/* Cell text in the arena ("-" when out of memory). */
static const char *cell_u64(hunt *h, uint64_t v)
{
	char t[32];
	int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
	const char *s = core_arena_strndup(h->arena, t, (size_t)n);
	return s ? s : "-";
}

static const char *cell_value(hunt *h, double v)
{
	char t[64];
	int n = isfinite(v) ? snprintf(t, sizeof t, "%.15g", v) : snprintf(t, sizeof t, "-");
	const char *s = core_arena_strndup(h->arena, t, (size_t)n);
	return s ? s : "-";
}

/* To the second: "2026-11-27T10:00:00Z". */
static const char *cell_ts(hunt *h, int64_t ts)
{
	char t[40];
	if (ts == CORE_TS_NONE)
		return "-";
	size_t n = core_time_format(ts, t);
	if (n > 20 && t[19] == '.')
		t[19] = 'Z', n = 20;
	const char *s = core_arena_strndup(h->arena, t, n);
	return s ? s : "-";
}

static const char *cell_str(const char *s)
{
	return s && *s ? s : "-";
}

static int print_matches(hunt *h, FILE *f, const match_row *v, size_t n)
{
	enum { NC = 7 };
	const char **cells = calloc((n + 1) * NC, sizeof *cells);
	static const char *const head[NC] = {"LEVEL", "COUNT", "FIRST", "LAST", "RULE ID", "TITLE", "AUTHOR"};

	if (!cells)
		return CORE_ENOMEM;
	memcpy(cells, head, sizeof head);
	for (size_t i = 0; i < n; i++) {
		const rules_rule *r = &h->set->rules[v[i].rule];
		const hunt_tally *t = &h->tally[v[i].rule];
		const char **row = cells + (i + 1) * NC;
		row[0] = cell_str(rules_level_name(r->level));
		row[1] = cell_u64(h, t->count);
		row[2] = cell_ts(h, t->first);
		row[3] = cell_ts(h, t->last);
		row[4] = cell_str(r->id);
		row[5] = cell_str(r->title);
		row[6] = cell_str(r->author);
	}
	table_print(f, cells, n + 1, NC, 1u << 1);
	free(cells);
	return 0;
}

static int by_rule_group(const void *pa, const void *pb)
{
	const hunt_corr_row *a = pa, *b = pb;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	int c = strcmp(a->group, b->group);
	return c ? c : (a->last > b->last) - (a->last < b->last);
}

static const rules_set *g_sort_set; /* for by_corr_level: qsort has no user pointer in C17 */

static int by_corr_level(const void *pa, const void *pb)
{
	const hunt_corr_row *a = pa, *b = pb;
	const rules_rule *ra = &g_sort_set->rules[a->rule], *rb = &g_sort_set->rules[b->rule];
	if (ra->level != rb->level)
		return ra->level > rb->level ? -1 : 1;
	if (a->results != b->results)
		return a->results > b->results ? -1 : 1;
	int c = cmp_str(ra->title, rb->title);
	if (c)
		return c;
	return a->rule != b->rule ? (a->rule < b->rule ? -1 : 1) : strcmp(a->group, b->group);
}

/* One row per correlation and group: results counted, first and last
 * times widened, the value of the latest result kept. */
static void merge_rows(hunt *h)
{
	size_t n = 0;

	if (!h->nrows)
		return;
	qsort(h->rows, h->nrows, sizeof *h->rows, by_rule_group);
	for (size_t i = 0; i < h->nrows; i++) {
		hunt_corr_row *o = n ? &h->rows[n - 1] : NULL, *r = &h->rows[i];
		if (o && o->rule == r->rule && strcmp(o->group, r->group) == 0) {
			o->results += r->results;
			if (r->first != CORE_TS_NONE && (o->first == CORE_TS_NONE || r->first < o->first))
				o->first = r->first;
			if (r->last != CORE_TS_NONE && (o->last == CORE_TS_NONE || r->last >= o->last)) {
				o->last = r->last;
				o->value = r->value;
			}
			continue;
		}
		h->rows[n++] = *r;
	}
	h->nrows = n;
	g_sort_set = h->set;
	qsort(h->rows, h->nrows, sizeof *h->rows, by_corr_level);
}

static int print_corr(hunt *h, FILE *f)
{
	enum { NC = 9 };
	const char **cells = calloc((h->nrows + 1) * NC, sizeof *cells);
	static const char *const head[NC] = {"LEVEL", "RESULTS", "VALUE", "FIRST", "LAST", "RULE ID",
					     "TITLE", "GROUP", "AUTHOR"};

	if (!cells)
		return CORE_ENOMEM;
	memcpy(cells, head, sizeof head);
	for (size_t i = 0; i < h->nrows; i++) {
		const hunt_corr_row *c = &h->rows[i];
		const rules_rule *r = &h->set->rules[c->rule];
		const char **row = cells + (i + 1) * NC;
		row[0] = cell_str(rules_level_name(r->level));
		row[1] = cell_u64(h, c->results);
		row[2] = cell_value(h, c->value);
		row[3] = cell_ts(h, c->first);
		row[4] = cell_ts(h, c->last);
		row[5] = cell_str(r->id);
		row[6] = cell_str(r->title);
		row[7] = cell_str(c->group);
		row[8] = cell_str(r->author);
	}
	fprintf(f, "\ncorrelations:\n");
	table_print(f, cells, h->nrows + 1, NC, 1u << 1 | 1u << 2);
	free(cells);
	return 0;
}

int cli_hunt_table(hunt *h, FILE *f)
{
	size_t n;
	match_row *v = match_rows(h, &n, by_level);
	int rc = 0;

	merge_rows(h);
	if (!n && !h->nrows) {
		fprintf(f, "no matches\n");
		free(v);
		return 0;
	}
	if (n)
		rc = print_matches(h, f, v, n);
	else
		fprintf(f, "no rule matches\n");
	if (rc == 0 && h->nrows)
		rc = print_corr(h, f);
	free(v);
	return rc;
}

/* ---- stderr ------------------------------------------------------------------------------ */
static void summary_matches(const hunt *h)
{
	static const char *const lv[] = {"critical", "high", "medium", "low", "informational", "no level"};
	uint64_t total = 0;

	for (int l = 0; l < 6; l++)
		total += h->by_level[l];
	fprintf(stderr, "hisn: hunt: matches: %llu", (unsigned long long)total);
	for (int l = RULES_LEVEL_CRITICAL, k = 0; l >= RULES_LEVEL_NONE; l--, k++)
		fprintf(stderr, "%s%s %llu", k ? ", " : " (", lv[k], (unsigned long long)h->by_level[l]);
	fprintf(stderr, ")");
	if (h->below)
		fprintf(stderr, ", %llu below --min-level", (unsigned long long)h->below);
	if (h->silent)
		fprintf(stderr, ", %llu for correlations only", (unsigned long long)h->silent);
	fprintf(stderr, "\n");
}

static void summary_top(const hunt *h)
{
	size_t n;
	match_row *v = match_rows(h, &n, by_count);

	if (n)
		fprintf(stderr, "hisn: hunt: top rules:\n");
	for (size_t i = 0; i < n && i < 5; i++)
		fprintf(stderr, "hisn: hunt:   %8llu  %-13s  %s\n", (unsigned long long)v[i].count,
			v[i].level ? rules_level_name(v[i].level) : "-", cell_str(v[i].title));
	free(v);
}

void cli_hunt_summary(const hunt *h, const engine_info *info)
{
	const rules_set *s = h->set;
	double secs = (double)(core_time_now() - h->t0) / 1e9;
	corr_stats cs = {0};

	fprintf(stderr, "hisn: hunt: rules: %zu loaded (%zu rules, %zu correlations, %zu filters), %zu failed, "
			"%zu left out by the engine, %zu not routed (no source of the logsource map fits them)\n",
		s->nloaded[0] + s->nloaded[1] + s->nloaded[2], s->nloaded[RULES_KIND_RULE],
		s->nloaded[RULES_KIND_CORRELATION], s->nloaded[RULES_KIND_FILTER], s->nfailed, info->failed,
		info->unrouted);
	fprintf(stderr, "hisn: hunt: %llu events, %llu bad records", (unsigned long long)h->events,
		(unsigned long long)h->in.errors);
	if (h->has_from || h->has_to)
		fprintf(stderr, ", %llu outside --from/--to", (unsigned long long)h->outside);
	fprintf(stderr, "; %.1f MB in %.3f s, %.0f events/s\n", (double)h->in.bytes / 1e6, secs,
		secs > 0 ? (double)h->events / secs : 0.0);
	summary_matches(h);
	summary_top(h);
	if (h->corr) {
		corr_get_stats(h->corr, &cs);
		fprintf(stderr, "hisn: hunt: correlations: %zu rules, %llu results", corr_count(h->corr),
			(unsigned long long)h->corr_results);
		if (h->corr_below)
			fprintf(stderr, " (%llu below --min-level)", (unsigned long long)h->corr_below);
		fprintf(stderr, ", %llu groups evicted (memory bound), peak state %.1f MB\n",
			(unsigned long long)cs.evictions, (double)cs.bytes_peak / 1e6);
	}
}

void cli_hunt_stats(const hunt *h)
{
	engine_info info;
	engine_stats st;
	double ev = h->events ? (double)h->events : 1.0;
	double total = (double)(core_time_now() - h->t0);

	engine_get_info(h->eng, &info);
	engine_scratch_stats(h->scr, &st);
	fprintf(stderr, "hisn: hunt: engine: %zu rules, %zu instances (%zu gated, %zu always), %zu literals, "
			"regular expressions %zu Vectorscan + %zu PCRE2, %zu filters\n",
		info.rules, info.instances, info.gated, info.always, info.literals, info.re_hs, info.re_pcre,
		info.filters);
	fprintf(stderr, "hisn: hunt: engine: %llu events, %llu routed, %llu scans (%.1f MB), %llu candidates, "
			"%llu matches\n",
		(unsigned long long)st.events, (unsigned long long)st.routed, (unsigned long long)st.scans,
		(double)st.scan_bytes / 1e6, (unsigned long long)st.candidates, (unsigned long long)st.matches);
	fprintf(stderr, "hisn: hunt: ns per event: parse %.0f, route %.0f, scan %.0f, confirm %.0f, "
			"correlate %.0f, total %.0f\n",
		(total - (double)h->ns_batches) / ev, (double)st.ns_route / ev, (double)st.ns_scan / ev,
		(double)st.ns_confirm / ev, (double)h->ns_corr / ev, total / ev);
}

void cli_hunt_progress(hunt *h, bool final)
{
	int64_t now;
	uint64_t cur, done;
	double secs;

	if (!h->progress)
		return;
	if (final) {
		if (h->bar_shown)
			fputs("\r\033[K", stderr);
		h->bar_shown = false;
		return;
	}
	now = core_time_now();
	if (now < h->next_tick)
		return;
	h->next_tick = now + 200000000; /* 5 times a second */
	cur = h->in.bytes - h->cur_base;
	done = h->done_bytes + (h->cur_size && cur > h->cur_size ? h->cur_size : cur);
	secs = (double)(now - h->t0) / 1e9;
	if (h->total_bytes) {
		unsigned pct = (unsigned)(done >= h->total_bytes ? 100 : done * 100 / h->total_bytes);
		fprintf(stderr, "\r[%.*s%.*s] %3u%%  %.1f / %.1f MB", (int)(pct / 5), "####################",
			(int)(20 - pct / 5), "....................", pct, (double)done / 1e6,
			(double)h->total_bytes / 1e6);
	} else {
		fprintf(stderr, "\r%.1f MB", (double)done / 1e6);
	}
	fprintf(stderr, "  %.0f events/s\033[K", secs > 0 ? (double)h->events / secs : 0.0);
	h->bar_shown = true;
}
