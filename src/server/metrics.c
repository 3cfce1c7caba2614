/* metrics.c: /metrics in the Prometheus text format (version 0.0.4) and the
 * detailed health object. Every figure is read from atomics or taken under
 * the lock that guards it: scraping never slows the pipeline. */
#include <stdio.h>
#include <string.h>

#include "server/server_int.h"

static const char *const hist_le[SRV_HBUCKETS] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
						  "0.1", "0.25", "0.5", "1", "2.5", "10"};

static int help(core_buf *b, const char *name, const char *type, const char *text)
{
	return core_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A label value: backslash, quote and newline escaped. */
static int label(core_buf *b, const char *v)
{
	int rc = 0;
	for (; *v && rc == 0; v++) {
		if (*v == '\\' || *v == '"')
			rc = core_buf_addc(b, '\\'), rc = rc ? rc : core_buf_addc(b, *v);
		else if (*v == '\n')
			rc = core_buf_add(b, "\\n", 2);
		else
			rc = core_buf_addc(b, *v);
	}
	return rc;
}

static int hist(core_buf *b, const char *name, const char *text, srv_hist *h)
{
	uint64_t cum = 0;
	int rc = help(b, name, "histogram", text);
	for (int i = 0; rc == 0 && i <= SRV_HBUCKETS; i++) {
		cum += atomic_load(&h->b[i]);
		rc = core_buf_printf(b, "%s_bucket{le=\"%s\"} %llu\n", name, i < SRV_HBUCKETS ? hist_le[i] : "+Inf",
				     (unsigned long long)cum);
	}
	rc = rc ? rc : core_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name,
				       (double)atomic_load(&h->sum_us) / 1e6, name,
				       (unsigned long long)atomic_load(&h->count));
	return rc;
}

static int queue_depths(srv *s, core_buf *b)
{
	size_t in_n, in_bytes, out_n;
	int rc;
	pthread_mutex_lock(&s->in.mu);
	in_n = s->in.n, in_bytes = s->in.bytes;
	pthread_mutex_unlock(&s->in.mu);
	pthread_mutex_lock(&s->out.mu);
	out_n = s->out.n;
	pthread_mutex_unlock(&s->out.mu);
	rc = help(b, "hisn_queue_depth", "gauge", "Items waiting in each queue (input: records; store: batches).");
	rc = rc ? rc : core_buf_printf(b, "hisn_queue_depth{queue=\"input\"} %zu\nhisn_queue_depth{queue=\"store\"} %zu\n",
				       in_n, out_n);
	rc = rc ? rc : help(b, "hisn_queue_capacity", "gauge", "Capacity of each queue.");
	rc = rc ? rc : core_buf_printf(b, "hisn_queue_capacity{queue=\"input\"} %zu\nhisn_queue_capacity{queue=\"store\"} %zu\n",
				       s->in.cap_n, s->out.cap);
	rc = rc ? rc : help(b, "hisn_queue_bytes", "gauge", "Bytes waiting in the input queue.");
	rc = rc ? rc : core_buf_printf(b, "hisn_queue_bytes %zu\n", in_bytes);
	return rc;
}

typedef struct net_col {
	const char *name, *help;
	size_t off;
} net_col;

static int inputs(srv *s, core_buf *b)
{
	static const net_col cols[] = {
		{"hisn_input_drops_total", "Records dropped by an input (UDP with a full queue).", offsetof(net_listener_stats, drops)},
		{"hisn_input_truncated_total", "Records cut at max-record.", offsetof(net_listener_stats, truncated)},
		{"hisn_input_connections_total", "Connections accepted.", offsetof(net_listener_stats, connections)},
		{"hisn_input_refused_total", "Connections refused (over the limit).", offsetof(net_listener_stats, refused)},
		{"hisn_input_bytes_total", "Bytes received.", offsetof(net_listener_stats, bytes)},
	};
	net_listener_stats st[SRV_MAX_INPUTS];
	int rc = help(b, "hisn_events_received_total", "counter", "Records received per input (HTTP: events accepted).");

	for (unsigned i = 1; i < s->ninputs; i++)
		net_get_stats(s->net, i - 1, &st[i]);
	for (unsigned i = 0; rc == 0 && i < s->ninputs; i++) {
		uint64_t v = i == SRV_INPUT_HTTP ? atomic_load(&s->received[0]) : st[i].records;
		rc = core_buf_add(b, "hisn_events_received_total{input=\"", 34);
		rc = rc ? rc : label(b, s->input_name[i]);
		rc = rc ? rc : core_buf_printf(b, "\"} %llu\n", (unsigned long long)v);
	}
	for (size_t c = 0; rc == 0 && c < sizeof cols / sizeof cols[0]; c++) {
		rc = help(b, cols[c].name, "counter", cols[c].help);
		for (unsigned i = 1; rc == 0 && i < s->ninputs; i++) {
			rc = core_buf_printf(b, "%s{input=\"", cols[c].name);
			rc = rc ? rc : label(b, s->input_name[i]);
			rc = rc ? rc : core_buf_printf(b, "\"} %llu\n",
						       (unsigned long long)*(uint64_t *)((char *)&st[i] + cols[c].off));
		}
	}
	rc = rc ? rc : help(b, "hisn_input_connections_open", "gauge", "Connections open now.");
	for (unsigned i = 1; rc == 0 && i < s->ninputs; i++) {
		rc = core_buf_add(b, "hisn_input_connections_open{input=\"", 35);
		rc = rc ? rc : label(b, s->input_name[i]);
		rc = rc ? rc : core_buf_printf(b, "\"} %u\n", st[i].open);
	}
	return rc;
}

static int rules(srv *s, core_buf *b)
{
	srv_det *d = srv_det_acquire(s);
	int rc = help(b, "hisn_rule_matches_total", "counter", "Matches per rule since the rules were loaded (rules with none are left out).");
	for (size_t i = 0; rc == 0 && i < d->set->nrules; i++) {
		const rules_rule *r = &d->set->rules[i];
		uint64_t n = atomic_load(&d->matches[i]);
		if (!n)
			continue;
		rc = core_buf_add(b, "hisn_rule_matches_total{rule_id=\"", 33);
		rc = rc ? rc : label(b, r->id ? r->id : r->name ? r->name : "");
		rc = rc ? rc : core_buf_add(b, "\",rule_title=\"", 14);
		rc = rc ? rc : label(b, r->title ? r->title : "");
		rc = rc ? rc : core_buf_printf(b, "\"} %llu\n", (unsigned long long)n);
	}
	rc = rc ? rc : help(b, "hisn_rules_loaded", "gauge", "Rules, correlations and filters loaded.");
	rc = rc ? rc : core_buf_printf(b, "hisn_rules_loaded %zu\n", d->set->nrules);
	if (rc == 0 && d->corr) {
		corr_stats cs = {0}, one;
		pthread_mutex_lock(&d->corr_mu);
		for (size_t i = 0; i < d->ntcorr; i++) { /* every tenant's */
			corr_get_stats(d->tcorr[i].c, &one);
			cs.evictions += one.evictions;
			cs.bytes += one.bytes;
		}
		pthread_mutex_unlock(&d->corr_mu);
		rc = help(b, "hisn_correlation_evictions_total", "counter", "Correlation groups dropped to stay under corr-memory.");
		rc = rc ? rc : core_buf_printf(b, "hisn_correlation_evictions_total %llu\n", (unsigned long long)cs.evictions);
		rc = rc ? rc : help(b, "hisn_correlation_bytes", "gauge", "Memory of the correlation state.");
		rc = rc ? rc : core_buf_printf(b, "hisn_correlation_bytes %zu\n", cs.bytes);
	}
	srv_det_release(d);
	return rc;
}

static int counter(core_buf *b, const char *name, const char *text, uint64_t v)
{
	int rc = help(b, name, "counter", text);
	return rc ? rc : core_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

int srv_metrics(srv *s, core_buf *out)
{
	int rc = inputs(s, out);
	rc = rc ? rc : queue_depths(s, out);
	rc = rc ? rc : counter(out, "hisn_parse_errors_total", "Records the parsers refused (stored raw).", atomic_load(&s->parse_errors));
	rc = rc ? rc : counter(out, "hisn_events_stored_total", "Events committed to the store.", atomic_load(&s->events_stored));
	rc = rc ? rc : counter(out, "hisn_store_errors_total", "Batches the store could not write.", atomic_load(&s->store_errors));
	rc = rc ? rc : help(out, "hisn_alerts_total", "counter", "Alerts raised (new) and grouped into an open alert.");
	rc = rc ? rc : core_buf_printf(out, "hisn_alerts_total{grouped=\"false\"} %llu\nhisn_alerts_total{grouped=\"true\"} %llu\n",
				       (unsigned long long)atomic_load(&s->alerts_new),
				       (unsigned long long)atomic_load(&s->alerts_grouped));
	rc = rc ? rc : counter(out, "hisn_correlation_results_total", "Correlation results.", atomic_load(&s->corr_results));
	rc = rc ? rc : counter(out, "hisn_reloads_total", "Successful rule reloads.", atomic_load(&s->reloads));
	rc = rc ? rc : counter(out, "hisn_reload_failures_total", "Failed rule reloads (the old rules stay).", atomic_load(&s->reload_failures));
	if (s->spool) {
		rc = rc ? rc : help(out, "hisn_spool_pending", "gauge", "Acknowledged RELP records in the spool, not yet committed.");
		rc = rc ? rc : core_buf_printf(out, "hisn_spool_pending %llu\n", (unsigned long long)srv_spool_pending(s->spool));
		rc = rc ? rc : counter(out, "hisn_spool_replayed_total", "Spooled records stored at start (left by a crash).", atomic_load(&s->spool_replayed));
		rc = rc ? rc : counter(out, "hisn_spool_errors_total", "RELP records acknowledged without being spooled (write failed).", atomic_load(&s->spool_errors));
	}
	rc = rc ? rc : rules(s, out);
	rc = rc ? rc : hist(out, "hisn_ingest_to_alert_seconds", "From receiving an event to its alert being stored.", &s->latency);
	rc = rc ? rc : hist(out, "hisn_store_commit_seconds", "Duration of one storage transaction.", &s->commit);
	return rc;
}

int srv_health(srv *s, core_buf *out)
{
	store_stats st = {0};
	core_err err = {0};
	srv_det *d = srv_det_acquire(s);
	bool ok = store_get_stats(s->st, &st, &err) == 0;
	size_t in_n;
	int rc;

	pthread_mutex_lock(&s->in.mu);
	in_n = s->in.n;
	pthread_mutex_unlock(&s->in.mu);
	rc = core_buf_printf(out, "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_seconds\":%lld,"
			     "\"rules\":%zu,\"queue\":{\"depth\":%zu,\"capacity\":%zu},"
			     "\"events_stored\":%llu,\"store\":{\"events\":%llu,\"alerts\":%llu,"
			     "\"partitions\":%llu,\"bytes\":%llu}}",
			     ok ? "ok" : "degraded", HISN_VERSION,
			     (long long)((core_time_now() - s->started) / 1000000000ll), d->set->nrules, in_n,
			     s->in.cap_n, (unsigned long long)atomic_load(&s->events_stored),
			     (unsigned long long)st.events, (unsigned long long)st.alerts,
			     (unsigned long long)st.partitions, (unsigned long long)st.bytes);
	srv_det_release(d);
	return rc;
}
