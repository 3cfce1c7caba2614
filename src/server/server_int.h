/* server_int.h: what the files of src/server share (not a public interface). */
#ifndef HISN_SERVER_INT_H
#define HISN_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "api/api.h"
#include "corr/corr.h"
#include "engine/engine.h"
#include "net/net.h"
#include "parse/parse.h"
#include "rules/rules.h"
#include "server/server.h"
#include "store/store.h"

enum { SRV_SYSLOG = 1, SRV_JSON = 2 };
#define SRV_MAX_INPUTS 64
#define SRV_INPUT_HTTP 0 /* input 0 is the HTTP ingest; net listener i is input i + 1 */

/* An HTTP ingest waiting for its events to be committed. */
typedef struct srv_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rc;              /* 0 or the store's error */
	uint64_t accepted;   /* events stored */
	core_err err;
} srv_wait;

/* One record on the input queue (malloc-owned by the queue until popped). */
typedef struct srv_rec {
	struct srv_rec *next;
	int64_t received;
	srv_wait *wait;      /* borrowed: the ingest call outlives the record */
	uint64_t spool;      /* its number in the spool (RELP), 0 when not spooled */
	uint32_t tenant;
	uint16_t input;
	uint8_t kind;        /* SRV_SYSLOG, SRV_JSON */
	char peer[64];       /* the sender's "address:port" (net inputs), or "" */
	char peer_name[64];  /* TLS: its client certificate's CN, or "" */
	size_t len;
	char data[];
} srv_rec;

/* A bounded multi-producer, multi-consumer queue of records. */
typedef struct srv_queue {
	pthread_mutex_t mu;
	pthread_cond_t can_get, can_put;
	srv_rec *head, *tail;
	size_t n, bytes, cap_n, cap_bytes;
	bool closed;
	bool refused;        /* a try_put failed since the last get: resume the net */
} srv_queue;

/* The detector: rules, logsource map, engine and correlation state, built
 * together and swapped whole on reload. Reference counted: a batch keeps the
 * detector it was matched with until the writer has stored it. */
typedef struct srv_det {
	rules_set *set;
	rules_ls_map *ls;
	engine *eng;
	corr_state *corr;           /* the first tenant's; corr_wants, counts */
	struct srv_tcorr { uint32_t tenant; corr_state *c; } *tcorr; /* one per tenant */
	size_t ntcorr, captcorr;
	uint64_t corr_memory;
	pthread_mutex_t corr_mu;    /* guards every correlation state and tcorr */
	core_arena *arena;          /* placeholders */
	_Atomic uint8_t *enabled;   /* per rule: 1 enabled, 0 disabled (API) */
	_Atomic uint64_t *matches;  /* per rule */
	atomic_int refs;
	uint64_t generation;
} srv_det;

/* One stored event of an output batch: offsets into srv_out.text. */
enum { SRV_K_HOST, SRV_K_USER, SRV_K_SRC, SRV_K_DST, SRV_K_ACTION, SRV_K_OUTCOME, SRV_K_PROGRAM,
       SRV_K_CODE, SRV_NKEYS };
typedef struct srv_oev {
	size_t json, json_len, raw, raw_len, msg, msg_len;
	size_t key[SRV_NKEYS];        /* offset of a NUL-terminated text, or SIZE_MAX */
	int64_t ts, received;
	uint32_t tenant;
	uint16_t input;
	const char *format;           /* static string */
} srv_oev;

typedef struct srv_oal {
	uint32_t rule;
	uint32_t ev;                  /* index in srv_out.ev */
	size_t group;                 /* offset of the group JSON, or SIZE_MAX */
	bool corr;
} srv_oal;

/* What a worker hands the writer: one batch of events and alerts. */
typedef struct srv_out {
	struct srv_out *next;
	srv_det *det;                 /* a reference (released by the writer) */
	core_buf text;
	srv_oev *ev;
	size_t n, cap;
	srv_oal *al;
	size_t nal, capal;
	srv_wait **waits;             /* ingests completed by this batch */
	size_t nwaits, capwaits;
	uint64_t *spooled;            /* spool numbers of the batch's records */
	size_t nspooled, capspooled;
} srv_out;

typedef struct srv_outq {
	pthread_mutex_t mu;
	pthread_cond_t can_get, can_put;
	srv_out *head, *tail;
	size_t n, cap;
	bool closed;
} srv_outq;

/* A histogram with fixed buckets (seconds), Prometheus style. */
#define SRV_HBUCKETS 12
typedef struct srv_hist {
	_Atomic uint64_t b[SRV_HBUCKETS + 1]; /* last: +Inf */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_us;
} srv_hist;

typedef struct srv_spool srv_spool;

typedef struct srv {
	server_config *cfg;
	store *st;
	srv_spool *spool;            /* NULL without RELP listeners */
	net *net;
	api *api;
	srv_queue in;
	srv_outq out;
	pthread_t *workers;
	unsigned nworkers;
	pthread_t writer;
	bool writer_started;
	pthread_mutex_t det_mu;
	srv_det *det;                /* current; guarded by det_mu */
	uint64_t generation;
	/* inputs: 0 = HTTP ingest, then the net listeners in order */
	unsigned ninputs;
	char input_name[SRV_MAX_INPUTS][96];
	_Atomic uint64_t received[SRV_MAX_INPUTS];
	_Atomic uint64_t parse_errors, events_stored, alerts_new, alerts_grouped, store_errors;
	_Atomic uint64_t reloads, reload_failures, corr_results;
	_Atomic uint64_t spool_replayed, spool_errors;
	srv_hist latency, commit;
	int64_t started;
} srv;

/* pipe.c: the queues and the workers */
int srv_queue_init(srv_queue *q, size_t cap_n, size_t cap_bytes);
void srv_queue_destroy(srv_queue *q);
/* Takes r (malloc-owned) or returns NET_FULL (r stays the caller's). */
int srv_queue_try_put(srv_queue *q, srv_rec *r);
/* Waits for room; returns CORE_EINVAL when the queue is closed (r stays the caller's). */
int srv_queue_put(srv_queue *q, srv_rec *r);
void srv_queue_close(srv_queue *q);
int srv_outq_init(srv_outq *q, size_t cap);
void srv_outq_destroy(srv_outq *q);
void srv_outq_close(srv_outq *q);
srv_rec *srv_rec_new(const char *data, size_t len, uint8_t kind, uint16_t input, uint32_t tenant,
		     int64_t received);
int srv_workers_start(srv *s);
void srv_workers_join(srv *s);
void srv_out_free(srv_out *o);

/* writer.c */
int srv_writer_start(srv *s);
void srv_writer_join(srv *s);
void srv_hist_add(srv_hist *h, int64_t ns);

/* detect.c */
int srv_det_build(srv *s, srv_det **out, core_err *err);
srv_det *srv_det_acquire(srv *s);
/* The correlation state of tenant (created on first use; NULL: out of memory).
 * Call with d->corr_mu held: correlations never mix tenants. */
corr_state *srv_det_corr(srv_det *d, uint32_t tenant);
void srv_det_release(srv_det *d);
/* Builds a new detector from the configuration and swaps it in. */
int srv_det_reload(srv *s, core_err *err);
void srv_det_free(srv_det *d);
/* The project's default rules folder (compiled in). */
const char *srv_default_rules(void);

/* spool.c: acknowledged records kept on disk until they are committed */
typedef int (*srv_spool_fn)(void *ud, srv_rec *r); /* takes r (malloc-owned) */
/* Opens (creating) DATA/spool. Returns 0 with *out (owned: srv_spool_close)
 * or a negative code with err. */
int srv_spool_open(const char *data_dir, srv_spool **out, core_err *err);
/* Hands every record not yet committed to fn, in order (at start, before
 * any append); *replayed counts them. */
int srv_spool_replay(srv_spool *sp, srv_spool_fn fn, void *ud, uint64_t *replayed, core_err *err);
/* Writes r (borrowed) to the spool and sets r->spool; waits while too many
 * records are pending. Thread-safe. Returns 0 or CORE_EIO/CORE_ETOOBIG. */
int srv_spool_append(srv_spool *sp, srv_rec *r);
/* The writer committed these records (seqs borrowed). NULL sp: no-op. */
void srv_spool_done(srv_spool *sp, const uint64_t *seqs, size_t n);
uint64_t srv_spool_pending(srv_spool *sp);
void srv_spool_close(srv_spool *sp);

/* hooks.c: what the API calls */
void srv_api_hooks(srv *s, api_hooks *h);

/* metrics.c */
int srv_metrics(srv *s, core_buf *out);
int srv_health(srv *s, core_buf *out);

/* Log lines on stderr: "hisn server: ...". */
void srv_log(const srv *s, bool important, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
