/* pipe.c: the input queue and the parse+detect workers.
 *
 * A worker takes up to WORKER_BATCH records, parses them (syslog records
 * through one long-lived parse_stream fed in RFC 6587 octet-counted form, so
 * that a record's own newlines stay inside it; each JSON ingest body through a
 * stream of its own), matches every event with the detector, feeds the
 * correlations, serializes the event for storage and hands the whole batch to
 * the writer. A syslog record that cannot be parsed is still stored (its text
 * as the message, the reason in error.message): nothing received is lost. A
 * JSON body with a bad document is refused whole, with the byte offset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/server_int.h"

#define WORKER_BATCH 512
#define WORKER_MIN 64                  /* records a woken worker waits for ... */
#define QUEUE_GATHER_NS 2000000l       /* ... for at most this long */
#define STREAM_MAX_AGE_NS (3600ll * 1000000000ll)

/* ---- the input queue ------------------------------------------------------------------- */
int srv_queue_init(srv_queue *q, size_t cap_n, size_t cap_bytes)
{
	*q = (srv_queue){.cap_n = cap_n ? cap_n : 65536, .cap_bytes = cap_bytes ? cap_bytes : 64u << 20};
	if (pthread_mutex_init(&q->mu, NULL) || pthread_cond_init(&q->can_get, NULL) ||
	    pthread_cond_init(&q->can_put, NULL))
		return CORE_ENOMEM;
	return 0;
}

void srv_queue_destroy(srv_queue *q)
{
	for (srv_rec *r = q->head, *nx; r; r = nx) {
		nx = r->next;
		free(r);
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->can_get);
	pthread_cond_destroy(&q->can_put);
}

srv_rec *srv_rec_new(const char *data, size_t len, uint8_t kind, uint16_t input, uint32_t tenant,
		     int64_t received)
{
	srv_rec *r = malloc(sizeof *r + len + 1);
	if (!r)
		return NULL;
	*r = (srv_rec){.received = received, .tenant = tenant, .input = input, .kind = kind, .len = len};
	memcpy(r->data, data, len);
	r->data[len] = '\0';
	return r;
}

static bool room(const srv_queue *q, const srv_rec *r)
{
	/* one record always fits an empty queue, however large */
	return q->n == 0 || (q->n < q->cap_n && q->bytes + r->len <= q->cap_bytes);
}

static void append(srv_queue *q, srv_rec *r)
{
	r->next = NULL;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->n++;
	q->bytes += r->len;
	/* wake a worker for the first record and when a batch is ready; between
	 * the two a woken worker waits (at most QUEUE_GATHER_NS) for more: one
	 * wake-up per batch instead of one per record at moderate rates */
	if (q->n == 1 || q->n == WORKER_MIN)
		pthread_cond_signal(&q->can_get);
}

int srv_queue_try_put(srv_queue *q, srv_rec *r)
{
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	if (q->closed)
		rc = CORE_EINVAL;
	else if (!room(q, r))
		rc = NET_FULL, q->refused = true;
	else
		append(q, r);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

int srv_queue_put(srv_queue *q, srv_rec *r)
{
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	while (!q->closed && !room(q, r))
		pthread_cond_wait(&q->can_put, &q->mu);
	if (q->closed)
		rc = CORE_EINVAL;
	else
		append(q, r);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void srv_queue_close(srv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->can_get);
	pthread_cond_broadcast(&q->can_put);
	pthread_mutex_unlock(&q->mu);
}

/* Up to max records; waits while the queue is empty and open. Returns the
 * count (0: closed and empty); *resume tells that a producer was refused. */
static size_t queue_get(srv_queue *q, srv_rec **out, size_t max, bool *resume)
{
	size_t n = 0;
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->can_get, &q->mu);
	if (q->head && q->n < WORKER_MIN && !q->closed) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += QUEUE_GATHER_NS;
		if (until.tv_nsec >= 1000000000l)
			until.tv_sec++, until.tv_nsec -= 1000000000l;
		while (q->n < WORKER_MIN && !q->closed &&
		       pthread_cond_timedwait(&q->can_get, &q->mu, &until) == 0)
			;
	}
	while (q->head && n < max) {
		srv_rec *r = q->head;
		q->head = r->next;
		q->n--;
		q->bytes -= r->len;
		out[n++] = r;
	}
	if (!q->head)
		q->tail = NULL;
	else /* more than this worker took: wake another (appends only signal at 1 and WORKER_MIN) */
		pthread_cond_signal(&q->can_get);
	*resume = q->refused && n > 0;
	if (*resume)
		q->refused = false;
	pthread_cond_broadcast(&q->can_put);
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* ---- the output queue ---------------------------------------------------------------- */
int srv_outq_init(srv_outq *q, size_t cap)
{
	*q = (srv_outq){.cap = cap};
	if (pthread_mutex_init(&q->mu, NULL) || pthread_cond_init(&q->can_get, NULL) ||
	    pthread_cond_init(&q->can_put, NULL))
		return CORE_ENOMEM;
	return 0;
}

void srv_outq_destroy(srv_outq *q)
{
	for (srv_out *o = q->head, *nx; o; o = nx) {
		nx = o->next;
		srv_out_free(o);
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->can_get);
	pthread_cond_destroy(&q->can_put);
}

void srv_outq_close(srv_outq *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->can_get);
	pthread_mutex_unlock(&q->mu);
}

static void outq_put(srv_outq *q, srv_out *o)
{
	pthread_mutex_lock(&q->mu);
	while (q->n >= q->cap)
		pthread_cond_wait(&q->can_put, &q->mu);
	o->next = NULL;
	if (q->tail)
		q->tail->next = o;
	else
		q->head = o;
	q->tail = o;
	q->n++;
	pthread_cond_signal(&q->can_get);
	pthread_mutex_unlock(&q->mu);
}

void srv_out_free(srv_out *o)
{
	if (!o)
		return;
	srv_det_release(o->det);
	core_buf_free(&o->text);
	free(o->ev);
	free(o->al);
	free(o->waits);
	free(o->spooled);
	free(o);
}

/* ---- a worker -------------------------------------------------------------------------------- */
typedef struct worker {
	srv *s;
	pthread_t th;
	parse_stream *sys;
	int64_t sys_born;
	uint64_t sys_pos;          /* bytes fed to sys so far */
	engine_scratch *scr;
	uint64_t scr_gen;          /* generation of the detector scr was made for */
	srv_det *det;
	srv_out *o;
	srv_rec *rec;              /* the record being parsed (JSON) */
	srv_rec **recs;            /* this batch's syslog records ... */
	uint64_t *starts;          /* ... their positions in sys ... */
	const char **errs;         /* ... and the parse error of each, or NULL */
	size_t nrecs;
	uint32_t cur_ev;           /* index in o->ev of the event being matched */
	bool json_check;           /* parse_json's first pass */
	bool json_failed;
	core_err json_err;
	core_buf feed;
	srv_rec *sorted[WORKER_BATCH];
	char errmsg[WORKER_BATCH][128];
} worker;

static const char *const key_names[SRV_NKEYS][6] = {
	[SRV_K_HOST] = {"host.name", "Computer", "hostname", "host.hostname", NULL},
	[SRV_K_USER] = {"user.name", "TargetUserName", "SubjectUserName", "User", "UserName", NULL},
	[SRV_K_SRC] = {"source.ip", "IpAddress", "SourceIp", "client.ip", "src_ip", NULL},
	[SRV_K_DST] = {"destination.ip", "DestinationIp", "server.ip", "dst_ip", NULL},
	[SRV_K_ACTION] = {"event.action", NULL},
	[SRV_K_OUTCOME] = {"event.outcome", NULL},
	[SRV_K_PROGRAM] = {"process.name", "Image", "program", NULL},
	[SRV_K_CODE] = {"event.code", "EventID", NULL},
};

/* Appends a NUL-terminated copy of the first key field found; SIZE_MAX when none. */
static size_t key_text(core_buf *b, const core_event *ev, const char *const *names)
{
	for (; *names; names++) {
		const core_field *f = core_event_get_lit(ev, *names);
		size_t at = b->len;
		int rc;
		if (!f)
			continue;
		if (f->type == CORE_T_STR && f->len > 0 && f->len < 1024)
			rc = core_buf_add(b, f->u.s, f->len);
		else if (f->type == CORE_T_INT)
			rc = core_buf_printf(b, "%lld", (long long)f->u.i);
		else
			continue;
		if (rc || core_buf_addc(b, '\0'))
			return b->len = at, SIZE_MAX;
		if (memchr(b->data + at, '\0', b->len - at - 1)) /* an embedded NUL: not a key */
			return b->len = at, SIZE_MAX;
		return at;
	}
	return SIZE_MAX;
}

static srv_oal *new_alert(srv_out *o)
{
	if (core_grow((void **)&o->al, &o->capal, o->nal + 1, sizeof *o->al, 16) != 0)
		return NULL;
	return &o->al[o->nal++];
}

static const core_field *lookup(void *ud, const core_event *ev, const char *field)
{
	worker *w = ud;
	return engine_field(w->det->eng, w->scr, ev, field);
}

/* A correlation result becomes an alert on the event that completed it. */
static int emit(void *ud, const corr_result *r)
{
	worker *w = ud;
	srv_out *o = w->o;
	srv_oal *a = new_alert(o);
	int rc = 0;

	if (!a)
		return CORE_ENOMEM;
	*a = (srv_oal){.rule = r->rule, .ev = w->cur_ev, .group = SIZE_MAX, .corr = true};
	a->group = o->text.len;
	rc = core_buf_addc(&o->text, '{');
	for (size_t i = 0; rc == 0 && i < r->ngroup; i++) {
		rc = i ? core_buf_addc(&o->text, ',') : 0;
		rc = rc ? rc : core_json_str(&o->text, r->group_fields[i], strlen(r->group_fields[i]));
		rc = rc ? rc : core_buf_addc(&o->text, ':');
		rc = rc ? rc : core_json_str(&o->text, r->group_values[i], strlen(r->group_values[i]));
	}
	rc = rc ? rc : core_buf_addc(&o->text, '}');
	rc = rc ? rc : core_buf_addc(&o->text, '\0');
	atomic_fetch_add(&w->s->corr_results, 1);
	return rc;
}

static int detect(worker *w, const core_event *ev, uint32_t tenant)
{
	srv_det *d = w->det;
	const uint32_t *m;
	int n = engine_match(d->eng, w->scr, ev, &m), rc = 0;

	for (int k = 0; k < n && rc == 0; k++) {
		uint32_t r = m[k];
		if (!atomic_load_explicit(&d->enabled[r], memory_order_relaxed))
			continue;
		atomic_fetch_add_explicit(&d->matches[r], 1, memory_order_relaxed);
		if (!engine_rule_silent(d->eng, r)) {
			srv_oal *a = new_alert(w->o);
			if (!a)
				return CORE_ENOMEM;
			*a = (srv_oal){.rule = r, .ev = w->cur_ev, .group = SIZE_MAX};
		}
		if (d->corr && corr_wants(d->corr, r)) {
			pthread_mutex_lock(&d->corr_mu);
			corr_state *c = srv_det_corr(d, tenant); /* tenants never share a correlation */
			rc = c ? corr_feed(c, r, ev, lookup, w, emit, w) : CORE_ENOMEM;
			pthread_mutex_unlock(&d->corr_mu);
		}
	}
	return n < 0 ? n : rc;
}

/* Adds one event to the output batch: its JSON, raw text, message and key fields. */
static int add_event(worker *w, const core_event *ev, const srv_rec *rec, const char *raw, size_t raw_len)
{
	srv_out *o = w->o;
	srv_oev *e;
	const core_field *msg;
	int rc;

	if (core_grow((void **)&o->ev, &o->cap, o->n + 1, sizeof *o->ev, 64) != 0)
		return CORE_ENOMEM;
	e = &o->ev[o->n];
	*e = (srv_oev){.ts = ev->ts, .received = rec->received, .tenant = rec->tenant,
		       .input = rec->input, .format = ev->format, .raw = SIZE_MAX, .msg = SIZE_MAX};
	e->json = o->text.len;
	if ((rc = core_event_to_json(ev, &o->text, 0)) != 0)
		return rc;
	e->json_len = o->text.len - e->json;
	if (raw) {
		e->raw = o->text.len, e->raw_len = raw_len;
		if ((rc = core_buf_add(&o->text, raw, raw_len)) != 0)
			return rc;
	}
	msg = core_event_get_lit(ev, "message");
	if (msg && msg->type == CORE_T_STR) {
		e->msg = o->text.len, e->msg_len = msg->len;
		if ((rc = core_buf_add(&o->text, msg->u.s, msg->len)) != 0)
			return rc;
	} else if (raw) {
		e->msg = e->raw, e->msg_len = raw_len;
	}
	for (int k = 0; k < SRV_NKEYS; k++)
		e->key[k] = key_text(&o->text, ev, key_names[k]);
	w->cur_ev = (uint32_t)o->n++;
	return detect(w, ev, rec->tenant);
}

/* The record an event of the syslog stream came from: the last start <= offset. */
static size_t rec_of(const worker *w, uint64_t off)
{
	size_t lo = 0, hi = w->nrecs;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (w->starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Who sent it (the syslog header's host name can say anything): the peer's
 * address and, over TLS with a client certificate, its CN (ECS names). */
static int add_peer(core_event *ev, const srv_rec *rec)
{
	if (!rec->peer[0])
		return 0;
	if (core_event_set_strcopy(ev, "log.source.address", rec->peer, strlen(rec->peer)) < 0 ||
	    (rec->peer_name[0] && core_event_set_strcopy(ev, "tls.client.x509.subject.common_name", rec->peer_name,
							  strlen(rec->peer_name)) < 0))
		return CORE_ENOMEM;
	return core_event_index(ev);
}

static int on_sys_batch(void *ud, core_event *ev, size_t n)
{
	worker *w = ud;
	for (size_t i = 0; i < n; i++) {
		size_t r = rec_of(w, ev[i].offset);
		srv_rec *rec = w->recs[r];
		int rc = add_peer(&ev[i], rec);
		rc = rc ? rc : add_event(w, &ev[i], rec, rec->data, rec->len);
		if (rc)
			return rc;
		w->errs[r] = ""; /* parsed: no fallback */
	}
	return 0;
}

static void on_sys_error(void *ud, const core_err *err)
{
	worker *w = ud;
	size_t r = rec_of(w, err->offset);
	atomic_fetch_add(&w->s->parse_errors, 1);
	if (w->errs[r] == NULL) {
		snprintf(w->errmsg[r], sizeof w->errmsg[r], "%.120s", err->msg);
		w->errs[r] = w->errmsg[r];
	}
}

/* A record the parser refused is stored as it came, with the reason. */
static int fallback(worker *w, srv_rec *rec, const char *why)
{
	core_arena *a = core_arena_new(4096, 1u << 20);
	core_event ev;
	int rc = CORE_ENOMEM;

	if (!a)
		return rc;
	core_event_init(&ev, a);
	ev.ts = rec->received;
	ev.format = "raw";
	if (core_event_set_str(&ev, "message", rec->data, rec->len) < 0 ||
	    core_event_set_str(&ev, "error.message", why, strlen(why)) < 0 || add_peer(&ev, rec) != 0 ||
	    (!rec->peer[0] && core_event_index(&ev) != 0)) /* add_peer indexes when it adds */
		goto out;
	rc = add_event(w, &ev, rec, rec->data, rec->len);
out:
	core_arena_free(a);
	return rc;
}

static int open_sys(worker *w, core_err *err)
{
	parse_options po = {.format = "syslog", .max_record = w->s->cfg->max_record + 64,
			    .on_batch = on_sys_batch, .on_error = on_sys_error, .ud = w, .name = "syslog"};
	parse_stream_free(w->sys);
	w->sys_pos = 0;
	w->sys_born = core_time_now();
	w->sys = parse_stream_new(&po, err);
	return w->sys ? 0 : CORE_ENOMEM;
}

static int parse_syslog(worker *w, srv_rec **recs, size_t n)
{
	core_err err = {0};
	int rc = 0;

	if ((!w->sys || core_time_now() - w->sys_born > STREAM_MAX_AGE_NS) && open_sys(w, &err) != 0)
		return CORE_ENOMEM;
	w->feed.len = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* a record without PRI gets <13>, as RFC 3164 4.3.3 has a relay do
		 * (the octet-counted stream needs "LEN <"; the raw text is kept) */
		bool pri = recs[i]->len > 0 && recs[i]->data[0] == '<';
		w->starts[i] = w->sys_pos + w->feed.len;
		w->errs[i] = NULL;
		rc = core_buf_printf(&w->feed, "%zu %s", recs[i]->len + (pri ? 0 : 4), pri ? "" : "<13>");
		rc = rc ? rc : core_buf_add(&w->feed, recs[i]->data, recs[i]->len);
	}
	w->recs = recs, w->nrecs = n;
	if (rc == 0 && w->feed.len)
		rc = parse_stream_feed(w->sys, w->feed.data, w->feed.len);
	w->sys_pos += w->feed.len;
	/* errs[i]: NULL (no event, no reason: an empty record), "" (parsed) or the reason */
	for (size_t i = 0; i < n && rc == 0; i++)
		if (w->errs[i] == NULL || w->errs[i][0])
			rc = fallback(w, recs[i], w->errs[i] ? w->errs[i] : "empty record");
	if (rc)
		parse_stream_free(w->sys), w->sys = NULL;
	return rc;
}

static int on_json_batch(void *ud, core_event *ev, size_t n)
{
	worker *w = ud;
	if (w->json_check)
		return 0; /* the first pass only looks for a malformed document */
	for (size_t i = 0; i < n; i++) {
		int rc = add_event(w, &ev[i], w->rec, NULL, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static void on_json_error(void *ud, const core_err *err)
{
	worker *w = ud;
	if (!w->json_failed) {
		w->json_failed = true;
		w->json_err = *err;
	}
}

static void finish_wait(srv_wait *wt, int rc, uint64_t accepted, const core_err *err)
{
	pthread_mutex_lock(&wt->mu);
	wt->rc = rc;
	wt->accepted = accepted;
	if (err)
		wt->err = *err;
	wt->done = true;
	pthread_cond_broadcast(&wt->cv);
	pthread_mutex_unlock(&wt->mu);
}

static int json_pass(worker *w, srv_rec *rec, bool check)
{
	parse_options po = {.format = "json", .max_record = 1u << 20, .on_batch = on_json_batch,
			    .on_error = on_json_error, .ud = w, .name = "ingest"};
	core_err err = {0};
	parse_stream *ps = parse_stream_new(&po, &err);
	int rc;

	if (!ps)
		return CORE_ENOMEM;
	w->rec = rec;
	w->json_check = check;
	w->json_failed = false;
	rc = parse_stream_feed(ps, rec->data, rec->len);
	rc = rc ? rc : parse_stream_finish(ps);
	parse_stream_free(ps);
	w->json_check = false;
	return rc;
}

/* One ingest body: all its events, or none when a document is malformed.
 * The body is read twice: first only to find a malformed document, so that
 * a refused body never reaches the rules and correlations. */
static int parse_json(worker *w, srv_rec *rec)
{
	srv_out *o = w->o;
	size_t n0 = o->n, nal0 = o->nal, text0 = o->text.len;
	int rc = json_pass(w, rec, true);

	if (rc == 0 && !w->json_failed)
		rc = json_pass(w, rec, false);
	if (rc == 0 && w->json_failed) {
		size_t off = w->json_err.offset < rec->len ? w->json_err.offset : rec->len, line = 1;
		char msg[sizeof w->json_err.msg];
		for (size_t i = 0; i < off; i++)
			line += rec->data[i] == '\n';
		snprintf(msg, sizeof msg, "%s", w->json_err.msg);
		core_err_set(&w->json_err, CORE_EPARSE, off, "line %zu (byte offset %zu): %.150s", line, off, msg);
		atomic_fetch_add(&w->s->parse_errors, 1);
		o->n = n0, o->nal = nal0, o->text.len = text0;
		if (rec->wait)
			finish_wait(rec->wait, CORE_EPARSE, 0, &w->json_err);
		return 0;
	}
	if (rc)
		return rc;
	if (rec->wait) {
		rec->wait->accepted = o->n - n0;
		if (core_grow((void **)&o->waits, &o->capwaits, o->nwaits + 1, sizeof *o->waits, 4) != 0)
			return CORE_ENOMEM;
		o->waits[o->nwaits++] = rec->wait;
	}
	return 0;
}

static void ensure_scratch(worker *w)
{
	if (w->scr && w->scr_gen == w->det->generation)
		return;
	engine_scratch_free(w->scr);
	w->scr = engine_scratch_new(w->det->eng);
	w->scr_gen = w->det->generation;
}

static void process(worker *w, srv_rec **recs, size_t n)
{
	size_t nsys = 0;
	int rc = 0;

	w->det = srv_det_acquire(w->s);
	ensure_scratch(w);
	w->o = calloc(1, sizeof *w->o);
	if (w->o) {
		core_buf_init(&w->o->text, 0);
		w->o->det = w->det; /* the batch owns the reference from here */
	}
	if (!w->o || !w->scr) {
		rc = CORE_ENOMEM;
		goto out;
	}
	/* syslog records first, in order, then each JSON body */
	for (size_t i = 0; i < n; i++)
		if (recs[i]->kind == SRV_SYSLOG)
			w->sorted[nsys++] = recs[i];
	for (size_t i = 0, k = nsys; i < n; i++)
		if (recs[i]->kind != SRV_SYSLOG)
			w->sorted[k++] = recs[i];
	if (nsys)
		rc = parse_syslog(w, w->sorted, nsys);
	for (size_t i = nsys; i < n && rc == 0; i++)
		rc = parse_json(w, w->sorted[i]);
	/* the writer tells the spool once these are committed */
	for (size_t i = 0; i < n && rc == 0; i++) {
		srv_out *o = w->o;
		if (!recs[i]->spool)
			continue;
		if (core_grow((void **)&o->spooled, &o->capspooled, o->nspooled + 1, sizeof *o->spooled, 64) != 0)
			rc = CORE_ENOMEM;
		else
			o->spooled[o->nspooled++] = recs[i]->spool;
	}
out:
	if (rc) {
		/* spooled records stay in the spool: they come back at the next start */
		srv_log(w->s, true, "worker: %s; %zu records lost", core_strerror(rc), n);
		for (size_t i = 0; i < n; i++)
			if (recs[i]->kind == SRV_JSON && recs[i]->wait)
				finish_wait(recs[i]->wait, rc, 0, NULL);
		if (w->o)
			srv_out_free(w->o);
		else
			srv_det_release(w->det);
	} else {
		outq_put(&w->s->out, w->o);
	}
	w->o = NULL;
	w->det = NULL;
	for (size_t i = 0; i < n; i++)
		free(recs[i]);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	srv_rec *recs[WORKER_BATCH];
	bool resume;
	size_t n;

	while ((n = queue_get(&w->s->in, recs, WORKER_BATCH, &resume)) > 0) {
		if (resume && w->s->net)
			net_resume(w->s->net);
		process(w, recs, n);
	}
	return NULL;
}

static worker *g_workers; /* one array per process: there is one server */

int srv_workers_start(srv *s)
{
	unsigned n = s->cfg->workers;
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c <= 0 ? 2 : c < 64 ? (unsigned)c : 64;
	}
	g_workers = calloc(n, sizeof *g_workers);
	if (!g_workers)
		return CORE_ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		worker *w = &g_workers[i];
		w->s = s;
		core_buf_init(&w->feed, 0);
		w->starts = calloc(WORKER_BATCH, sizeof *w->starts);
		w->errs = calloc(WORKER_BATCH, sizeof *w->errs);
		if (!w->starts || !w->errs || pthread_create(&w->th, NULL, worker_main, w) != 0) {
			s->nworkers = i;
			return CORE_ENOMEM;
		}
		s->nworkers = i + 1;
	}
	return 0;
}

/* After srv_queue_close: every record left is processed, then the workers end. */
void srv_workers_join(srv *s)
{
	for (unsigned i = 0; i < s->nworkers; i++) {
		worker *w = &g_workers[i];
		pthread_join(w->th, NULL);
		parse_stream_free(w->sys);
		engine_scratch_free(w->scr);
		core_buf_free(&w->feed);
		free(w->starts);
		free(w->errs);
	}
	free(g_workers);
	g_workers = NULL;
	s->nworkers = 0;
}
