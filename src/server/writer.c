/* writer.c: the one storage writer. It takes every batch the workers have
 * finished (up to WRITE_MAX events), writes them in one transaction (events,
 * then the alerts, which the store groups), commits, then answers the HTTP
 * ingests of those batches and records the ingest-to-alert latency. Retention
 * runs here too, between transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server_int.h"

#define WRITE_MAX 20000
#define WRITE_MIN 4096
#define WRITE_WAIT_NS 50000000l
#define RETAIN_EVERY_NS (300ll * 1000000000ll)

static const double hist_le[SRV_HBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					     0.1, 0.25, 0.5, 1, 2.5, 10};

void srv_hist_add(srv_hist *h, int64_t ns)
{
	double sec = (double)ns / 1e9;
	int i = 0;
	while (i < SRV_HBUCKETS && sec > hist_le[i])
		i++;
	atomic_fetch_add(&h->b[i], 1);
	atomic_fetch_add(&h->count, 1);
	atomic_fetch_add(&h->sum_us, (uint64_t)(ns > 0 ? ns / 1000 : 0));
}

/* Waits up to timeout for batches; takes those queued (at most WRITE_MAX
 * events). Returns the list, NULL when none (*closed: no more will come). */
static srv_out *take(srv_outq *q, int64_t timeout_ns, bool *closed)
{
	srv_out *head = NULL, **tail = &head;
	size_t events = 0;
	struct timespec ts, until = {0, 0};
	bool late = false;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ns / 1000000000ll;
	ts.tv_nsec += timeout_ns % 1000000000ll;
	if (ts.tv_nsec >= 1000000000l)
		ts.tv_sec++, ts.tv_nsec -= 1000000000l;
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->closed)
		if (pthread_cond_timedwait(&q->can_get, &q->mu, &ts) != 0)
			break;
	while (q->head && (events == 0 || events + q->head->n <= WRITE_MAX)) {
		srv_out *o = q->head;
		q->head = o->next;
		q->n--;
		events += o->n;
		o->next = NULL;
		*tail = o;
		tail = &o->next;
		/* a small round waits a little for more (up to WRITE_MIN events or
		 * WRITE_WAIT_NS): each commit has a fixed cost of a few ms. Not when
		 * an ingest call waits for this commit (hisn import posts in turn). */
		late = late || o->nwaits > 0;
		while (!q->head && events < WRITE_MIN && !q->closed && !late) {
			if (!until.tv_sec) {
				clock_gettime(CLOCK_REALTIME, &until);
				until.tv_nsec += WRITE_WAIT_NS;
				until.tv_sec += until.tv_nsec / 1000000000l;
				until.tv_nsec %= 1000000000l;
			}
			q->tail = NULL;
			pthread_cond_broadcast(&q->can_put);
			late = pthread_cond_timedwait(&q->can_get, &q->mu, &until) != 0;
		}
	}
	if (!q->head)
		q->tail = NULL;
	*closed = q->closed && !q->head;
	pthread_cond_broadcast(&q->can_put);
	pthread_mutex_unlock(&q->mu);
	return head;
}

static const char *key(const srv_out *o, const srv_oev *e, int k)
{
	return e->key[k] == SIZE_MAX ? NULL : o->text.data + e->key[k];
}

static int write_events(srv *s, srv_out *o, int64_t *ids, core_err *err)
{
	store_event *se = calloc(o->n ? o->n : 1, sizeof *se);
	int rc;

	if (!se)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	for (size_t i = 0; i < o->n; i++) {
		const srv_oev *e = &o->ev[i];
		se[i] = (store_event){
			.tenant = e->tenant, .ts = e->ts, .received = e->received,
			.input = s->input_name[e->input < s->ninputs ? e->input : 0], .format = e->format,
			.raw = e->raw == SIZE_MAX ? NULL : o->text.data + e->raw, .raw_len = e->raw_len,
			.json = o->text.data + e->json, .json_len = e->json_len,
			.message = e->msg == SIZE_MAX ? NULL : o->text.data + e->msg, .message_len = e->msg_len,
			.host = key(o, e, SRV_K_HOST), .user = key(o, e, SRV_K_USER),
			.src_ip = key(o, e, SRV_K_SRC), .dst_ip = key(o, e, SRV_K_DST),
			.action = key(o, e, SRV_K_ACTION), .outcome = key(o, e, SRV_K_OUTCOME),
			.program = key(o, e, SRV_K_PROGRAM), .code = key(o, e, SRV_K_CODE)};
	}
	rc = store_add_events(s->st, se, o->n, ids, err);
	free(se);
	return rc;
}

/* The rule's tags as a JSON array, and the event's key fields as an object. */
static int alert_json(const rules_rule *r, const srv_out *o, const srv_oev *e, core_buf *tags,
		      core_buf *detail)
{
	static const char *const names[SRV_NKEYS] = {"host", "user", "src_ip", "dst_ip", "action",
						       "outcome", "program", "code"};
	int rc = 0, first = 1;

	tags->len = detail->len = 0;
	rc = core_buf_addc(tags, '[');
	for (uint32_t i = 0; rc == 0 && i < r->tags.n; i++) {
		rc = i ? core_buf_addc(tags, ',') : 0;
		rc = rc ? rc : core_json_str(tags, r->tags.v[i], strlen(r->tags.v[i]));
	}
	rc = rc ? rc : core_buf_add(tags, "]", 2); /* with its NUL */
	rc = rc ? rc : core_buf_addc(detail, '{');
	for (int k = 0; rc == 0 && k < SRV_NKEYS; k++) {
		const char *v = key(o, e, k);
		if (!v)
			continue;
		rc = first ? 0 : core_buf_addc(detail, ',');
		first = 0;
		rc = rc ? rc : core_buf_printf(detail, "\"%s\":", names[k]);
		rc = rc ? rc : core_json_str(detail, v, strlen(v));
	}
	if (rc == 0 && e->msg != SIZE_MAX) {
		rc = core_buf_add(detail, first ? "\"message\":" : ",\"message\":", first ? 10 : 11);
		rc = rc ? rc : core_json_str(detail, o->text.data + e->msg, e->msg_len < 2048 ? e->msg_len : 2048);
	}
	rc = rc ? rc : core_buf_add(detail, "}", 2);
	return rc;
}

static int write_alerts(srv *s, srv_out *o, const int64_t *ids, core_buf *tags, core_buf *detail,
			core_err *err)
{
	for (size_t i = 0; i < o->nal; i++) {
		const srv_oal *a = &o->al[i];
		const rules_rule *r = &o->det->set->rules[a->rule];
		const srv_oev *e = &o->ev[a->ev];
		int64_t id;
		bool grouped = false;
		int rc = alert_json(r, o, e, tags, detail);
		store_alert sa = {
			.tenant = e->tenant, .rule_id = r->id ? r->id : r->name ? r->name : r->title,
			.rule_title = r->title, .level = rules_level_name((rules_level)r->level),
			.tags_json = tags->data, .author = r->author, .kind = a->corr ? "correlation" : "rule",
			.ts = e->ts == CORE_TS_NONE ? e->received : e->ts, .event_ids = &ids[a->ev], .n_events = 1,
			.host = key(o, e, SRV_K_HOST), .user = key(o, e, SRV_K_USER),
			.src_ip = key(o, e, SRV_K_SRC), .dst_ip = key(o, e, SRV_K_DST),
			.group_json = a->group == SIZE_MAX ? NULL : o->text.data + a->group,
			.detail_json = detail->data};
		if (rc)
			return core_err_set(err, rc, SIZE_MAX, "out of memory");
		if ((rc = store_add_alert(s->st, &sa, s->cfg->alert_window_ns, &id, &grouped, err)) != 0)
			return rc;
		atomic_fetch_add(grouped ? &s->alerts_grouped : &s->alerts_new, 1);
	}
	return 0;
}

/* After the commit: from receiving each alert's event to its alert being stored. */
static void record_latency(srv *s, const srv_out *list)
{
	int64_t now = core_time_now();
	for (const srv_out *o = list; o; o = o->next)
		for (size_t i = 0; i < o->nal; i++)
			srv_hist_add(&s->latency, now - o->ev[o->al[i].ev].received);
}

static void answer(srv_out *list, int rc, const core_err *err)
{
	for (srv_out *o = list; o; o = o->next)
		for (size_t i = 0; i < o->nwaits; i++) {
			srv_wait *w = o->waits[i];
			pthread_mutex_lock(&w->mu);
			w->rc = rc;
			if (rc) {
				w->accepted = 0;
				w->err = *err;
			}
			w->done = true;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
		}
}

static int write_list(srv *s, srv_out *list, core_err *err)
{
	int64_t t0 = core_time_now(), *ids = NULL;
	size_t cap = 0, n = 0;
	core_buf tags, detail;
	int rc;

	core_buf_init(&tags, 0);
	core_buf_init(&detail, 0);
	if ((rc = store_begin(s->st, err)) != 0)
		goto out;
	for (srv_out *o = list; o && rc == 0; o = o->next) {
		if (o->n > cap) {
			free(ids);
			cap = o->n;
			if ((ids = malloc(cap * sizeof *ids)) == NULL) {
				rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
				break;
			}
		}
		rc = o->n ? write_events(s, o, ids, err) : 0;
		rc = rc ? rc : write_alerts(s, o, ids, &tags, &detail, err);
		n += o->n;
	}
	if (rc == 0)
		rc = store_commit(s->st, err);
	else
		store_rollback(s->st);
	if (rc == 0) {
		atomic_fetch_add(&s->events_stored, n);
		srv_hist_add(&s->commit, core_time_now() - t0);
		record_latency(s, list);
	}
out:
	free(ids);
	core_buf_free(&tags);
	core_buf_free(&detail);
	return rc;
}

/* One call per commit with the spool numbers of every batch in it. */
static void spool_done(srv *s, const srv_out *list, uint64_t **allp, size_t *capp)
{
	uint64_t *all = *allp;
	size_t cap = *capp, n = 0;

	for (const srv_out *o = list; o; o = o->next) {
		if (!o->nspooled)
			continue;
		if (core_grow((void **)&all, &cap, n + o->nspooled, sizeof *all, 1024) != 0) {
			srv_spool_done(s->spool, o->spooled, o->nspooled); /* no memory: one by one */
			continue;
		}
		memcpy(all + n, o->spooled, o->nspooled * sizeof *all);
		n += o->nspooled;
	}
	srv_spool_done(s->spool, all, n);
	if (cap > (1u << 20)) { /* do not keep a huge array after a burst */
		free(all);
		all = NULL, cap = 0;
	}
	*allp = all, *capp = cap;
}

static void *writer_main(void *arg)
{
	srv *s = arg;
	int64_t next_retain = core_time_now() + RETAIN_EVERY_NS;
	uint64_t *seqs = NULL; /* spool numbers of one commit */
	size_t nseqs = 0;      /* (its capacity) */
	bool closed = false;

	while (!closed) {
		srv_out *list = take(&s->out, 200000000ll, &closed);
		core_err err = {0};
		int rc = 0;
		for (int attempt = 0; list && attempt < 3; attempt++) {
			if ((rc = write_list(s, list, &err)) == 0)
				break;
			srv_log(s, true, "store: %s (attempt %d of 3)", err.msg, attempt + 1);
			struct timespec pause = {0, 100000000l};
			nanosleep(&pause, NULL);
		}
		if (rc) {
			size_t lost = 0;
			for (srv_out *o = list; o; o = o->next)
				lost += o->n;
			atomic_fetch_add(&s->store_errors, 1);
			srv_log(s, true, "store: %zu events could not be stored", lost);
		}
		answer(list, rc, &err);
		/* committed: their spooled records are spent (else they stay for the next start) */
		if (rc == 0 && s->spool)
			spool_done(s, list, &seqs, &nseqs);
		for (srv_out *o = list, *nx; o; o = nx) {
			nx = o->next;
			srv_out_free(o);
		}
		if (core_time_now() >= next_retain) {
			unsigned dropped = 0;
			if (store_retain(s->st, &dropped, &err) != 0)
				srv_log(s, true, "retention: %s", err.msg);
			else if (dropped)
				srv_log(s, false, "retention: %u partitions dropped", dropped);
			next_retain = core_time_now() + RETAIN_EVERY_NS;
		}
	}
	free(seqs);
	return NULL;
}

int srv_writer_start(srv *s)
{
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
		return CORE_ENOMEM;
	s->writer_started = true;
	return 0;
}

/* After the workers have ended and the queue is closed: the writer stores
 * what is left and ends. */
void srv_writer_join(srv *s)
{
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	s->writer_started = false;
}
