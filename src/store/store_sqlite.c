/* store_sqlite.c: the SQLite backend's life cycle: opening the data
 * directory, migrating DIR/hisn.db, reconciling the partition catalog with the
 * files in DIR/events/, the pool of read connections, retention (whole
 * partition files dropped by age, then by total size) and statistics. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

static const char *const migrations[] = {STORE_MIG1, STORE_MIG2};
_Static_assert(sizeof migrations / sizeof *migrations == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

int store_i_dberr(sqlite3 *db, int rc, core_err *err, const char *what)
{
	int code = CORE_EIO;
	int ext = db ? sqlite3_extended_errcode(db) : rc;

	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		code = STORE_ECONFLICT;
	else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		code = STORE_ENOTFOUND;
	else if ((rc & 0xff) == SQLITE_NOMEM)
		code = CORE_ENOMEM;
	return core_err_set(err, code, SIZE_MAX, "%s: %s", what,
			    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int store_i_exec(sqlite3 *db, const char *sql, core_err *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_i_dberr(db, rc, err, "sqlite");
}

int store_i_stmt(sqlite3 *db, sqlite3_stmt **q, int i, sqlite3_stmt **st, core_err *err)
{
	if (!q[i]) {
		int rc = sqlite3_prepare_v3(db, store_sql_q[i], -1, SQLITE_PREPARE_PERSISTENT, &q[i],
					    NULL);
		if (rc != SQLITE_OK)
			return store_i_dberr(db, rc, err, "prepare");
	}
	sqlite3_reset(q[i]);
	sqlite3_clear_bindings(q[i]);
	*st = q[i];
	return 0;
}

int store_i_bind_str(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int64_t store_i_day_of(int64_t ns)
{
	return ns >= 0 ? ns / STORE_DAY_NS : -((-(ns + 1)) / STORE_DAY_NS) - 1;
}

void store_i_part_path(const store *s, int64_t day, const char *sfx, char *path, size_t n)
{
	char t[40];
	core_time_format(day * STORE_DAY_NS, t); /* YYYY-MM-DDT... */
	snprintf(path, n, "%s/%.4s%.2s%.2s.db%s", s->evdir, t, t + 5, t + 8, sfx);
}

/* Opens path with the pragmas every connection uses; a new database gets
 * page_size (0: SQLite's default). *db owned by the caller. */
static int db_open_ps(const char *path, bool create, bool reader, int page_size, sqlite3 **db,
		      core_err *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, db, flags, NULL);

	if (rc != SQLITE_OK) {
		rc = rc == SQLITE_CANTOPEN && !create
			     ? core_err_set(err, STORE_ENOTFOUND, SIZE_MAX, "%s: cannot open", path)
			     : core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path,
					    *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sqlite3_close_v2(*db);
		*db = NULL;
		return rc;
	}
	sqlite3_extended_result_codes(*db, 1);
	sqlite3_busy_timeout(*db, 10000);
	if (reader)
		sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (page_size && !reader) {
		char ps[40];
		snprintf(ps, sizeof ps, "PRAGMA page_size=%d", page_size);
		sqlite3_exec(*db, ps, NULL, NULL, NULL); /* only takes on a new file */
	}
	rc = store_i_exec(*db,
			  reader ? "PRAGMA query_only=1; PRAGMA mmap_size=268435456;"
				   "PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;"
				 : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				   "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
			  err);
	if (rc) {
		core_err_set(err, rc, SIZE_MAX, "%s: %s", path, sqlite3_errmsg(*db));
		sqlite3_close_v2(*db);
		*db = NULL;
	}
	return rc;
}

static int db_open(const char *path, bool create, bool reader, sqlite3 **db, core_err *err)
{
	return db_open_ps(path, create, reader, 0, db, err);
}

int store_i_part_open(const store *s, int64_t day, bool create, bool reader, sqlite3 **db,
		      core_err *err)
{
	char path[4200];
	sqlite3_stmt *st = NULL;
	int rc;

	store_i_part_path(s, day, "", path, sizeof path);
	if ((rc = db_open_ps(path, create, reader, STORE_PART_PAGE, db, err)))
		return rc;
	if (sqlite3_prepare_v2(*db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = store_i_dberr(*db, SQLITE_ERROR, err, path);
		goto out;
	}
	int v = sqlite3_column_int(st, 0);
	if (v > STORE_PART_VERSION) {
		rc = core_err_set(err, CORE_ENOTSUP, SIZE_MAX,
				  "%s: partition version %d is newer than this hisn (%d)", path, v,
				  STORE_PART_VERSION);
		goto out;
	}
	if (!reader && (rc = store_i_exec(*db, STORE_PART_WRITER_PRAGMAS, err)))
		goto out;
	if (v == 0 && !reader)
		rc = store_i_exec(*db, "BEGIN IMMEDIATE;" STORE_PART_SCHEMA
				  "PRAGMA user_version=" STORE_STR(STORE_PART_VERSION) "; COMMIT;",
				  err);
out:
	sqlite3_finalize(st);
	if (rc) {
		sqlite3_exec(*db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close_v2(*db);
		*db = NULL;
	}
	return rc;
}

/* Applies the migrations past the database's version in one transaction. */
static int migrate(store *s, const char *path, core_err *err)
{
	sqlite3 *db = s->w.db;
	sqlite3_stmt *st = NULL;
	int rc, v;
	char sql[64];

	if ((rc = store_i_exec(db, "BEGIN IMMEDIATE", err)))
		return rc;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = store_i_dberr(db, SQLITE_ERROR, err, path);
		goto out;
	}
	v = sqlite3_column_int(st, 0);
	if (v > STORE_SCHEMA_VERSION) {
		rc = core_err_set(err, CORE_ENOTSUP, SIZE_MAX,
				  "%s: schema version %d is newer than this hisn (%d)", path, v,
				  STORE_SCHEMA_VERSION);
		goto out;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			core_err_set(err, CORE_EIO, SIZE_MAX, "%s: migration %d: %s", path, v + 1,
				     sqlite3_errmsg(db));
			rc = CORE_EIO;
			goto out;
		}
	}
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
	if ((rc = store_i_exec(db, sql, err)))
		goto out;
	rc = store_i_exec(db, "COMMIT", err);
	s->version = v;
out:
	sqlite3_finalize(st);
	if (rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Day of a partition file name "YYYYMMDD.db", or -1. */
static int64_t file_day(const char *name)
{
	int64_t y, m, d;
	if (strlen(name) != 11 || strcmp(name + 8, ".db") || core_parse_i64(name, 4, &y) ||
	    core_parse_i64(name + 4, 2, &m) || core_parse_i64(name + 6, 2, &d) || m < 1 ||
	    m > 12 || d < 1 || d > 31 || y < 1970)
		return -1;
	return core_days_from_civil(y, (unsigned)m, (unsigned)d);
}

/* Rewrites the catalog row of day from the partition's own summary (which
 * commits with the events, so it is exact even after a crash). */
static int reconcile_one(store *s, int64_t day, core_err *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *fix;
	int rc;

	if ((rc = store_i_part_open(s, day, false, false, &db, err)))
		return rc;
	if (sqlite3_prepare_v2(db, STORE_SQL_PART_STATS, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = store_i_dberr(db, SQLITE_ERROR, err, "partition");
		goto out;
	}
	if ((rc = store_i_stmt(s->w.db, s->w.q, STORE_Q_CAT_FIX, &fix, err)))
		goto out;
	sqlite3_bind_int64(fix, 1, day);
	sqlite3_bind_int64(fix, 2, core_time_now());
	sqlite3_bind_int64(fix, 3, sqlite3_column_int64(st, 0));
	for (int i = 1; i <= 3; i++) {
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			sqlite3_bind_null(fix, i + 3);
		else
			sqlite3_bind_int64(fix, i + 3, sqlite3_column_int64(st, i));
	}
	if (sqlite3_step(fix) != SQLITE_DONE)
		rc = store_i_dberr(s->w.db, SQLITE_ERROR, err, "catalog");
	sqlite3_reset(fix);
out:
	sqlite3_finalize(st);
	sqlite3_close_v2(db);
	return rc;
}

static void conn_close(store_conn *c)
{
	for (int i = 0; i < STORE_Q_N; i++)
		sqlite3_finalize(c->q[i]);
	sqlite3_close_v2(c->db);
	memset(c, 0, sizeof *c);
}

static void rpart_close(store_rpart *p)
{
	sqlite3_finalize(p->get);
	sqlite3_close_v2(p->db);
	p->get = NULL;
	p->db = NULL;
	p->day = -1;
}

void store_close(store *s)
{
	if (!s)
		return;
	if (s->in_batch)
		store_rollback(s);
	store_i_ckpt_stop(s);
	for (unsigned i = 0; i < STORE_WPARTS; i++)
		store_i_wpart_close(&s->wp[i]);
	for (unsigned i = 0; s->readers && i < s->n_readers; i++) {
		store_reader *r = &s->readers[i];
		for (unsigned j = 0; j < STORE_RPARTS; j++)
			rpart_close(&r->parts[j]);
		for (int q = 0; q < STORE_Q_N; q++)
			sqlite3_finalize(r->q[q]);
		sqlite3_close_v2(r->db);
	}
	free(s->readers);
	conn_close(&s->acct);
	conn_close(&s->w);
	pthread_mutex_destroy(&s->acct_mu);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_cond_destroy(&s->pool_cv);
	free(s);
}

int store_schema_version(const store *s)
{
	return s->version;
}

/* ---- read pool ---------------------------------------------------------- */

store_reader *store_i_reader_get(store *s)
{
	store_reader *r = NULL;

	pthread_mutex_lock(&s->pool_mu);
	for (;;) {
		for (unsigned i = 0; i < s->n_readers && !r; i++)
			if (!s->readers[i].busy)
				r = &s->readers[i];
		if (r)
			break;
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	}
	r->busy = true;
	pthread_mutex_unlock(&s->pool_mu);
	uint64_t gen = atomic_load(&s->drop_gen);
	if (r->gen != gen) { /* partitions were dropped: let their files go */
		for (unsigned j = 0; j < STORE_RPARTS; j++)
			rpart_close(&r->parts[j]);
		r->gen = gen;
	}
	return r;
}

void store_i_reader_put(store *s, store_reader *r)
{
	pthread_mutex_lock(&s->pool_mu);
	r->busy = false;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

int store_i_rpart(store *s, store_reader *r, int64_t day, store_rpart **out, core_err *err)
{
	store_rpart *p = NULL, *lru = &r->parts[0];
	int rc;

	for (unsigned j = 0; j < STORE_RPARTS; j++) {
		if (r->parts[j].day == day) {
			p = &r->parts[j];
			break;
		}
		if (r->parts[j].used < lru->used)
			lru = &r->parts[j];
	}
	if (!p) {
		p = lru;
		rpart_close(p);
		if ((rc = store_i_part_open(s, day, false, true, &p->db, err)))
			return rc;
		rc = sqlite3_prepare_v3(p->db, STORE_SQL_EV_GET, -1, SQLITE_PREPARE_PERSISTENT,
					&p->get, NULL);
		if (rc != SQLITE_OK) {
			rc = store_i_dberr(p->db, rc, err, "partition");
			rpart_close(p);
			return rc == CORE_EIO ? STORE_ENOTFOUND : rc; /* no schema: not ours */
		}
		p->day = day;
	}
	p->used = ++r->tick;
	*out = p;
	return 0;
}

/* ---- retention and statistics ------------------------------------------- */

static uint64_t part_bytes(const store *s, int64_t day)
{
	char path[4300];
	struct stat sb;
	uint64_t n = 0;
	static const char *const sfx[] = {"", "-wal", "-shm"};

	for (int i = 0; i < 3; i++) {
		store_i_part_path(s, day, sfx[i], path, sizeof path);
		if (stat(path, &sb) == 0)
			n += (uint64_t)sb.st_size;
	}
	return n;
}

static int drop_part(store *s, int64_t day, core_err *err)
{
	char path[4300];
	sqlite3_stmt *st;
	int rc;
	static const char *const sfx[] = {"-wal", "-shm", ""};

	if ((rc = store_i_stmt(s->w.db, s->w.q, STORE_Q_CAT_DELETE, &st, err)))
		return rc;
	sqlite3_bind_int64(st, 1, day);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_i_dberr(s->w.db, rc, err, "catalog");
	for (unsigned i = 0; i < STORE_WPARTS; i++)
		if (s->wp[i].day == day)
			store_i_wpart_close(&s->wp[i]);
	store_i_ckpt_forget(s, day);
	atomic_fetch_add(&s->drop_gen, 1);
	for (int i = 0; i < 3; i++) {
		store_i_part_path(s, day, sfx[i], path, sizeof path);
		if (unlink(path) != 0 && errno != ENOENT)
			return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
	}
	return 0;
}

typedef struct part_info {
	int64_t day;
	uint64_t bytes;
} part_info;

/* The catalog's days, oldest first, with file sizes. *out owned by the caller. */
static int list_parts(store *s, part_info **out, size_t *n, core_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = store_i_stmt(s->w.db, s->w.q, STORE_Q_CAT_LIST, &st, err)))
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (core_grow((void **)out, &cap, *n, sizeof **out, 16)) {
			sqlite3_reset(st);
			return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		}
		int64_t day = sqlite3_column_int64(st, 0);
		(*out)[(*n)++] = (part_info){day, part_bytes(s, day)};
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_i_dberr(s->w.db, rc, err, "catalog");
}

/* The catalog lists exactly the partition files there are, with exact counts. */
static int reconcile(store *s, core_err *err)
{
	DIR *d = opendir(s->evdir);
	struct dirent *e;
	part_info *p = NULL;
	size_t n = 0;
	int rc = 0;
	char path[4200];

	if (!d)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", s->evdir, strerror(errno));
	if ((rc = store_i_exec(s->w.db, "BEGIN IMMEDIATE", err)))
		goto out;
	while ((e = readdir(d))) {
		int64_t day = file_day(e->d_name);
		if (day >= 0 && (rc = reconcile_one(s, day, err)))
			goto out;
	}
	if ((rc = list_parts(s, &p, &n, err)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		store_i_part_path(s, p[i].day, "", path, sizeof path);
		if (access(path, F_OK) != 0 && (rc = drop_part(s, p[i].day, err)))
			goto out;
		if (p[i].day > s->cur_day)
			s->cur_day = p[i].day;
	}
	rc = store_i_exec(s->w.db, "COMMIT", err);
out:
	if (rc)
		sqlite3_exec(s->w.db, "ROLLBACK", NULL, NULL, NULL);
	free(p);
	closedir(d);
	return rc;
}

/* Idle readers close their partition connections now, so that the space of
 * dropped files comes back; busy ones do it when next taken. */
static void readers_release(store *s)
{
	uint64_t gen = atomic_load(&s->drop_gen);
	pthread_mutex_lock(&s->pool_mu);
	for (unsigned i = 0; i < s->n_readers; i++) {
		store_reader *r = &s->readers[i];
		if (r->busy || r->gen == gen)
			continue;
		for (unsigned j = 0; j < STORE_RPARTS; j++)
			rpart_close(&r->parts[j]);
		r->gen = gen;
	}
	pthread_mutex_unlock(&s->pool_mu);
}

int store_retain(store *s, unsigned *dropped, core_err *err)
{
	part_info *p = NULL;
	size_t n = 0, first = 0;
	uint64_t total = 0;
	unsigned nd = 0;
	int rc;

	if (dropped)
		*dropped = 0;
	if (s->in_batch)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "store_retain inside a transaction");
	if ((rc = list_parts(s, &p, &n, err)))
		goto out;
	for (size_t i = 0; i < n; i++)
		total += p[i].bytes;
	int64_t keep_from = store_i_day_of(core_time_now()) - (int64_t)s->opt.retain_days;
	/* never the newest partition: it is the one being written */
	for (; first + 1 < n; first++) {
		bool old = s->opt.retain_days && p[first].day < keep_from;
		bool big = s->opt.retain_bytes && total > s->opt.retain_bytes;
		if (!old && !big)
			break;
		if ((rc = drop_part(s, p[first].day, err)))
			goto out;
		total -= p[first].bytes;
		nd++;
	}
out:
	if (nd)
		readers_release(s);
	if (dropped)
		*dropped = nd;
	free(p);
	return rc;
}

static int mkdir_p(const char *path, core_err *err)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
}

static int open_readers(store *s, core_err *err)
{
	char path[4200];
	int rc;

	snprintf(path, sizeof path, "%s/hisn.db", s->dir);
	s->n_readers = s->opt.readers ? s->opt.readers : 4;
	if (s->n_readers > 64)
		s->n_readers = 64;
	s->readers = calloc(s->n_readers, sizeof *s->readers);
	if (!s->readers)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	for (unsigned i = 0; i < s->n_readers; i++) {
		for (unsigned j = 0; j < STORE_RPARTS; j++)
			s->readers[i].parts[j].day = -1;
		if ((rc = db_open(path, false, true, &s->readers[i].db, err)))
			return rc;
	}
	return 0;
}

/* Process-wide, before SQLite's first use: no memory statistics (they take a
 * global mutex on every allocation: 3-4 % of the writer thread's time, in
 * `hisn server` at full load). Refused (harmlessly) when SQLite already runs. */
static void sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const store_options *opt, store **out, core_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	store *s;
	char path[4200];
	int rc;

	pthread_once(&once, sqlite_setup);
	s = calloc(1, sizeof *s);
	*out = NULL;
	if (!s)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	pthread_mutex_init(&s->acct_mu, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	store_i_ckpt_init(s);
	for (unsigned i = 0; i < STORE_WPARTS; i++)
		s->wp[i].day = -1;
	s->cur_day = -1;
	s->opt = *opt;
	if (!opt->dir || !*opt->dir || strlen(opt->dir) > 4000) {
		rc = core_err_set(err, CORE_EINVAL, SIZE_MAX, "store: no or too long data directory");
		goto out;
	}
	snprintf(s->dir, sizeof s->dir, "%s", opt->dir);
	snprintf(s->evdir, sizeof s->evdir, "%s/events", opt->dir);
	s->opt.dir = s->dir;
	if ((rc = mkdir_p(s->dir, err)) || (rc = mkdir_p(s->evdir, err)))
		goto out;
	snprintf(path, sizeof path, "%s/hisn.db", s->dir);
	if ((rc = db_open(path, true, false, &s->w.db, err)) || (rc = migrate(s, path, err)) ||
	    (rc = db_open(path, false, false, &s->acct.db, err)) || (rc = reconcile(s, err)) ||
	    (rc = open_readers(s, err)))
		goto out;
	*out = s;
	s = NULL;
out:
	store_close(s);
	return rc;
}

int store_get_stats(store *s, store_stats *st, core_err *err)
{
	store_reader *r = store_i_reader_get(s);
	sqlite3_stmt *q;
	int rc;
	char path[4200];
	struct stat sb;

	memset(st, 0, sizeof *st);
	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_CAT_LIST, &q, err)))
		goto out;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t day = sqlite3_column_int64(q, 0);
		st->partitions++;
		st->events += (uint64_t)sqlite3_column_int64(q, 1);
		st->bytes += part_bytes(s, day);
		int64_t rcv = sqlite3_column_int64(q, 2);
		if (sqlite3_column_type(q, 2) != SQLITE_NULL &&
		    (st->oldest_received == 0 || rcv < st->oldest_received))
			st->oldest_received = rcv;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		rc = store_i_dberr(r->db, rc, err, "catalog");
		goto out;
	}
	if ((rc = store_i_stmt(r->db, r->q, STORE_Q_ALERT_COUNT, &q, err)))
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW)
		st->alerts = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	snprintf(path, sizeof path, "%s/hisn.db", s->dir);
	if (stat(path, &sb) == 0)
		st->bytes += (uint64_t)sb.st_size;
	rc = 0;
out:
	store_i_reader_put(s, r);
	return rc;
}
