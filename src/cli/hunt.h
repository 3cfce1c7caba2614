/* hunt.h: the state of `hisn hunt`, shared by cmd_hunt.c (options, rules,
 * the event loop) and hunt_out.c (JSON lines, the table, the summary and the
 * progress bar). Private to src/cli. */
#ifndef HISN_CLI_HUNT_H
#define HISN_CLI_HUNT_H

#include "cli/cli.h"
#include "corr/corr.h"
#include "engine/engine.h"
#include "rules/rules.h"

/* Matches of one rule. */
typedef struct hunt_tally {
	uint64_t count;
	int64_t first, last; /* event times (CORE_TS_NONE when none had one) */
} hunt_tally;

/* Correlation results of one rule and group (merged at the end). */
typedef struct hunt_corr_row {
	uint32_t rule;
	const char *group; /* "field=value, ..." (arena-owned), "" without group-by */
	uint64_t results;
	int64_t first, last;
	double value; /* of the last result */
} hunt_corr_row;

typedef struct hunt {
	cli_input in;
	/* options */
	bool jsonl, quiet, stats, progress, has_from, has_to;
	uint8_t min_level; /* rules_level */
	size_t corr_bytes; /* --corr-memory: bound of correlation state (0: corr's default) */
	int64_t from, to;
	/* rules */
	const rules_set *set;
	engine *eng;
	engine_scratch *scr;
	corr_state *corr;
	hunt_tally *tally;  /* per rule of set */
	const char **body;  /* per rule: its JSON members ("rule_id":...,"author":...,) */
	uint32_t *body_len;
	core_arena *arena;  /* bodies and correlation groups */
	hunt_corr_row *rows;
	size_t nrows, caprows;
	/* output */
	core_buf out;      /* JSON lines of the current batch */
	core_buf file;     /* "file": value of the current member, as JSON */
	core_buf tmp;
	const char *file_input, *file_member;
	bool write_failed;
	/* counts */
	uint64_t events, outside, silent, below, by_level[6], corr_results, corr_below;
	int64_t t0, ns_batches, ns_corr;
	/* progress */
	uint64_t total_bytes, done_bytes, cur_size, cur_base;
	int64_t next_tick;
	bool bar_shown;
} hunt;

int cli_hunt_bodies(hunt *h);
int cli_hunt_match_json(hunt *h, uint32_t rule, const core_event *ev);
int cli_hunt_emit(void *ud, const corr_result *r);
int cli_hunt_table(hunt *h, FILE *f);
void cli_hunt_summary(const hunt *h, const engine_info *info);
void cli_hunt_stats(const hunt *h);
void cli_hunt_progress(hunt *h, bool final);

#endif
