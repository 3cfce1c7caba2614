/* store_ckpt.c: WAL checkpoints of the event partitions, on a thread of their
 * own.
 *
 * SQLite's automatic checkpoint runs inside the committing connection: the
 * writer thread would copy every page a second time (WAL -> database file)
 * and wait for the fsync before it could start the next transaction. Measured
 * in `hisn server` at full load, that was 30 % of the writer's time. So the
 * writer's partition connections have no automatic checkpoint; their WAL hook
 * (called after each commit, with the WAL's size in frames) tells this thread,
 * which runs a PASSIVE checkpoint through its own connection to the partition
 * while the writer goes on with the next transaction.
 *
 * A passive checkpoint never blocks the writer, but SQLite only rewinds the WAL
 * to its start when a transaction begins while every frame is backfilled. Under
 * continuous load the writer begins the next transaction right after a commit,
 * before the checkpoint of that commit ends, so the WAL would grow without
 * bound. Hence the bound: before it begins a transaction on a partition whose
 * WAL holds more than STORE_WAL_WAIT_FRAMES frames, the writer waits (at most
 * STORE_CKPT_WAIT_NS) for the checkpoint to catch up; the transaction it then
 * begins rewinds the WAL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

static void slot_close(store_ckslot *c)
{
	sqlite3_close_v2(c->db);
	c->db = NULL;
	c->day = -1;
	c->want = c->done = 0;
	c->failed = false;
}

static int ck_open(store *s, int64_t day, sqlite3 **db)
{
	char path[4200];
	int rc;

	store_i_part_path(s, day, "", path, sizeof path);
	rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(*db, 1000);
		/* the writer closes last and checkpoints then; this one never does on close */
		sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
		rc = sqlite3_exec(*db, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;", NULL,
				  NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		sqlite3_close_v2(*db);
		*db = NULL;
	}
	return rc;
}

static void *ck_main(void *arg)
{
	store *s = arg;
	store_ckpt *k = &s->ck;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		store_ckslot *c = NULL;
		for (unsigned i = 0; i < STORE_WPARTS && !c; i++)
			if (k->slot[i].day >= 0 && k->slot[i].want > k->slot[i].done && !k->slot[i].failed)
				c = &k->slot[i];
		if (!c) {
			if (k->stop)
				break;
			pthread_cond_wait(&k->work, &k->mu);
			continue;
		}
		int64_t day = c->day;
		int want = c->want, nlog = 0, nck = 0, rc = SQLITE_OK;
		sqlite3 *db = c->db;
		c->busy = true;
		pthread_mutex_unlock(&k->mu);
		if (!db)
			rc = ck_open(s, day, &db);
		if (rc == SQLITE_OK)
			rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nck);
		pthread_mutex_lock(&k->mu);
		c->db = db;
		c->busy = false;
		if (rc == SQLITE_OK && nlog == nck) {
			/* all backfilled: nlog may be below want when the WAL was rewound meanwhile */
			c->done = want > nlog ? want : nlog;
			k->passes++;
		} else if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
			/* a reader holds older frames: try again at the next commit */
			c->done = want;
		} else {
			c->failed = true; /* the writer's own checkpoint takes over (see store_i_ckpt_wait) */
		}
		pthread_cond_broadcast(&k->progress);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

void store_i_ckpt_init(store *s)
{
	store_ckpt *k = &s->ck;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->work, NULL);
	pthread_cond_init(&k->progress, NULL);
	for (unsigned i = 0; i < STORE_WPARTS; i++)
		k->slot[i].day = -1;
}

void store_i_ckpt_stop(store *s)
{
	store_ckpt *k = &s->ck;
	if (k->started) {
		pthread_mutex_lock(&k->mu);
		k->stop = true;
		pthread_cond_broadcast(&k->work);
		pthread_mutex_unlock(&k->mu);
		pthread_join(k->th, NULL);
		k->started = false;
	}
	for (unsigned i = 0; i < STORE_WPARTS; i++)
		slot_close(&k->slot[i]);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->work);
	pthread_cond_destroy(&k->progress);
}

/* The slot of day, or a free/least recently asked one (closed) for it; NULL
 * when every other slot is being checkpointed right now. With k->mu held. */
static store_ckslot *slot_for(store_ckpt *k, int64_t day)
{
	store_ckslot *lru = NULL;
	for (unsigned i = 0; i < STORE_WPARTS; i++) {
		store_ckslot *c = &k->slot[i];
		if (c->day == day)
			return c;
		if (!c->busy && c->want <= c->done && (!lru || c->asked < lru->asked))
			lru = c;
	}
	if (lru) {
		slot_close(lru);
		lru->day = day;
	}
	return lru;
}

/* The WAL hook of the writer's partition connections: after each commit. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
	store_wpart *wp = ud;
	store *s = wp->owner;
	store_ckpt *k = &s->ck;
	store_ckslot *c;

	(void)db;
	(void)name;
	wp->wal_frames = frames;
	pthread_mutex_lock(&k->mu);
	if (!k->started && !k->stop) {
		if (pthread_create(&k->th, NULL, ck_main, s) == 0) {
			k->started = true;
			pthread_setname_np(k->th, "hisn-ckpt");
		}
	}
	if (k->started && (c = slot_for(k, wp->day)) != NULL) {
		c->want = frames;
		c->asked = ++k->tick;
		if (c->done > frames) /* the WAL was rewound */
			c->done = 0;
		pthread_cond_signal(&k->work);
	} else {
		wp->ck_self = true; /* no thread: checkpoint in the writer, as SQLite would */
	}
	pthread_mutex_unlock(&k->mu);
	return SQLITE_OK;
}

void store_i_ckpt_attach(store *s, store_wpart *wp)
{
	wp->owner = s;
	wp->wal_frames = 0;
	sqlite3_wal_hook(wp->db, wal_hook, wp);
}

/* Before the writer begins a transaction on wp: bounds the WAL. */
void store_i_ckpt_wait(store *s, store_wpart *wp)
{
	store_ckpt *k = &s->ck;
	bool self = wp->ck_self;

	if (wp->wal_frames <= STORE_WAL_WAIT_FRAMES && !self)
		return;
	if (!self) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += STORE_CKPT_WAIT_NS / 1000000000;
		until.tv_nsec += STORE_CKPT_WAIT_NS % 1000000000;
		if (until.tv_nsec >= 1000000000)
			until.tv_sec++, until.tv_nsec -= 1000000000;
		pthread_mutex_lock(&k->mu);
		for (;;) {
			store_ckslot *c = NULL;
			for (unsigned i = 0; i < STORE_WPARTS && !c; i++)
				if (k->slot[i].day == wp->day)
					c = &k->slot[i];
			if (!c || c->failed) {
				self = true;
				break;
			}
			if (c->done >= c->want && !c->busy)
				break;
			k->waits++;
			if (pthread_cond_timedwait(&k->progress, &k->mu, &until) != 0) {
				self = c->done < c->want; /* too slow: the writer checkpoints itself */
				break;
			}
		}
		pthread_mutex_unlock(&k->mu);
	}
	if (self) {
		sqlite3_wal_checkpoint_v2(wp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		wp->ck_self = false;
		wp->wal_frames = 0;
	}
}

/* Before a partition's files are removed: the thread lets go of it. */
void store_i_ckpt_forget(store *s, int64_t day)
{
	store_ckpt *k = &s->ck;
	pthread_mutex_lock(&k->mu);
	for (unsigned i = 0; i < STORE_WPARTS; i++) {
		store_ckslot *c = &k->slot[i];
		if (c->day != day)
			continue;
		while (c->busy)
			pthread_cond_wait(&k->progress, &k->mu);
		slot_close(c);
	}
	pthread_mutex_unlock(&k->mu);
}
