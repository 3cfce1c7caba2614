/* store_int.h: private types of the SQLite backend, shared by its files
 * (store_sqlite.c: open, pools, partitions, retention; store_write.c: the
 * writer transaction; store_search.c: event search; store_alerts.c and
 * store_account.c: alerts, rule state, accounts, audit; store_json.c: JSON
 * output helpers). */
#ifndef HISN_STORE_INT_H
#define HISN_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store/store.h"
#include "store/store_sql.h"

/* An event id is (day << STORE_ID_SHIFT) | rowid inside the day's partition:
 * below 2^53 (exact in JavaScript) until the year 2328, 68.7 G rows a day. */
#define STORE_ID_SHIFT 36
#define STORE_ROWID_MAX ((INT64_C(1) << STORE_ID_SHIFT) - 1)
#define STORE_BLOCK_SHIFT 12 /* rowids per time-summary block: 4096 */
#define STORE_DAY_NS (INT64_C(86400) * 1000000000)
#define STORE_DAY_MAX INT64_C(106000) /* year 2260: day * STORE_DAY_NS fits */
#define STORE_LIMIT_DEF 100u
#define STORE_LIMIT_MAX 1000u
#define STORE_WPARTS 4  /* partitions the writer keeps open */
#define STORE_RPARTS 8  /* partitions each reader keeps open */
#define STORE_SCHEMA_VERSION 2
/* Checkpoints (store_ckpt.c): beyond this many WAL frames (16 KiB pages: 128
 * MiB), the writer waits for the checkpoint thread before it begins a
 * transaction on the partition, so that the WAL is rewound; at most this long. */
#define STORE_WAL_WAIT_FRAMES 8192
#define STORE_CKPT_WAIT_NS INT64_C(2000000000)

/* A partition open for writing (writer thread only). */
typedef struct store_wpart {
	int64_t day;         /* days since 1970; -1: slot unused */
	sqlite3 *db;
	struct store *owner; /* for the WAL hook */
	int wal_frames;      /* frames in the WAL after the last commit */
	bool ck_self;        /* the checkpoint thread cannot take it: checkpoint here */
	int version;         /* the file's STORE_PART_VERSION */
	sqlite3_stmt *ins, *fts, *blk;
	bool in_txn, dirty;
	int64_t rows;        /* highest rowid written */
	int64_t min_ts, max_ts, min_rcv; /* of this transaction's rows */
	int64_t blk_b, blk_min, blk_max, blk_rcv; /* block being summarised; blk_b < 0: none */
	uint64_t used;
} store_wpart;

/* A partition open for reading in one reader slot. */
typedef struct store_rpart {
	int64_t day;   /* -1: unused */
	sqlite3 *db;
	sqlite3_stmt *get;
	uint64_t used;
} store_rpart;

/* One pooled read connection set: the main database and a few partitions. */
typedef struct store_reader {
	sqlite3 *db;
	sqlite3_stmt *q[STORE_Q_N];
	store_rpart parts[STORE_RPARTS];
	uint64_t tick, gen;
	bool busy;
} store_reader;

/* A connection with its lazily prepared statements (writer, accounts). */
typedef struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *q[STORE_Q_N];
} store_conn;

/* A partition the checkpoint thread serves: its own connection, and the WAL
 * size (frames) asked for and backfilled. */
typedef struct store_ckslot {
	int64_t day;   /* -1: unused */
	sqlite3 *db;
	int want, done;
	uint64_t asked;
	bool busy, failed;
} store_ckslot;

typedef struct store_ckpt {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t work, progress;
	bool started, stop;
	store_ckslot slot[STORE_WPARTS];
	uint64_t tick, passes, waits;
} store_ckpt;

struct store {
	char dir[4096], evdir[4096];
	store_options opt;
	int version;

	/* writer thread */
	store_conn w;
	bool in_batch, w_txn;
	store_wpart wp[STORE_WPARTS];
	uint64_t wtick;
	int64_t cur_day; /* newest partition day: events never go to an older one */
	store_ckpt ck;   /* the checkpoint thread (store_ckpt.c) */

	/* account writes, any thread */
	pthread_mutex_t acct_mu;
	store_conn acct;

	/* read pool */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	store_reader *readers;
	unsigned n_readers;
	_Atomic uint64_t drop_gen; /* bumped when partitions are dropped */
};

/* ---- store_sqlite.c ---- */
/* A database error as code + message ("what: sqlite message"); a UNIQUE
 * violation is STORE_ECONFLICT. */
int store_i_dberr(sqlite3 *db, int rc, core_err *err, const char *what);
int store_i_exec(sqlite3 *db, const char *sql, core_err *err);
/* Statement i of the connection set q (prepared on first use, owned by q). */
int store_i_stmt(sqlite3 *db, sqlite3_stmt **q, int i, sqlite3_stmt **st, core_err *err);
/* A reader slot, waited for; give it back with store_i_reader_put. */
store_reader *store_i_reader_get(store *s);
void store_i_reader_put(store *s, store_reader *r);
/* The read connection to the partition of day (borrowed from r), or
 * STORE_ENOTFOUND when its file is gone. */
int store_i_rpart(store *s, store_reader *r, int64_t day, store_rpart **out, core_err *err);
/* DIR/events/YYYYMMDD.db + sfx ("", "-wal") of day into path. */
void store_i_part_path(const store *s, int64_t day, const char *sfx, char *path, size_t n);
/* Opens a partition file with the pragmas of its role; creates the schema
 * when create. *db is owned by the caller. */
int store_i_part_open(const store *s, int64_t day, bool create, bool reader, sqlite3 **db,
		      core_err *err);
int64_t store_i_day_of(int64_t ns);
/* Binds text that may be NULL (as SQL NULL); borrowed until the next step. */
int store_i_bind_str(sqlite3_stmt *st, int i, const char *v);

/* ---- store_write.c ---- */
/* Key fields that are FTS5 tokens: their column names and token letters. */
#define STORE_NKEYS 6
extern const char *const store_i_key_names[STORE_NKEYS];
/* The FTS5 token of value v of key k: a letter and 16 hex digits, NUL-ended. */
void store_i_key_token(unsigned k, const char *v, size_t n, char out[18]);
void store_i_wpart_close(store_wpart *wp);
/* Raw records whose message is at least this long are stored compact (see
 * raw_compact in store_write.c). */
#define STORE_RAW_MIN_JOIN 16
/* The raw record of a row stored in the compact BLOB form (the header, then
 * the message bytes found inside the json column), put together in buf
 * (appended). 0, CORE_EINVAL when the BLOB does not fit its json (then buf is
 * unchanged), or CORE_ENOMEM. */
int store_i_raw_join(sqlite3_stmt *st, int raw_col, int json_col, core_buf *buf);
/* 0 (informational) .. 4 (critical), or -1 for an unknown level. */
int store_i_level(const char *level);

/* ---- store_ckpt.c: checkpoints off the writer thread ---- */
void store_i_ckpt_init(store *s);
/* Ends the thread and closes its connections (before the writer's close). */
void store_i_ckpt_stop(store *s);
/* Sets the WAL hook of a writer partition connection just opened. */
void store_i_ckpt_attach(store *s, store_wpart *wp);
/* Writer thread, before BEGIN on wp: waits for the checkpoint when the WAL is
 * over its bound (or checkpoints itself when the thread cannot). */
void store_i_ckpt_wait(store *s, store_wpart *wp);
/* Writer thread, before a partition's files are deleted. */
void store_i_ckpt_forget(store *s, int64_t day);

/* ---- store_json.c: a JSON writer that keeps the first error ---- */
typedef struct store_jw {
	core_buf *b;
	int rc;
} store_jw;

void store_jw_raw(store_jw *w, const char *s, size_t n);
#define store_jw_lit(w, lit) store_jw_raw((w), (lit), sizeof(lit) - 1)
/* A JSON string with escaping; invalid UTF-8 bytes become U+FFFD; NULL: null. */
void store_jw_str(store_jw *w, const char *s, size_t n);
void store_jw_cstr(store_jw *w, const char *s);
void store_jw_i64(store_jw *w, int64_t v);
/* RFC 3339 string, or null when ns is 0. */
void store_jw_time(store_jw *w, int64_t ns);
/* Column i of st: escaped text, or null. */
void store_jw_col(store_jw *w, sqlite3_stmt *st, int i);
/* Column i of st holding JSON we validated on insert: as it is, or dflt when NULL. */
void store_jw_coljson(store_jw *w, sqlite3_stmt *st, int i, const char *dflt);
/* Cursor "a:b" of two integers: 0, or CORE_EINVAL with a message. */
int store_i_cursor_parse(const char *c, int64_t *a, int64_t *b, core_err *err);
/* limit 0 -> default, capped. */
unsigned store_i_limit(unsigned limit);
/* Whether s (NUL-terminated) is one JSON value of the wanted kind ('[', '{' or 0: any). */
bool store_i_json_valid(const char *s, char kind);

#endif
