/* server.c: start-up, the signal loop, reload and the orderly shutdown of
 * `hisn server`. Start: store, detector, writer, workers, then the inputs and
 * the API. Stop (SIGTERM/SIGINT): the API and the inputs first (every record
 * already received goes into the queue), then the workers drain the queue,
 * then the writer stores what they made, then the store closes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/server_int.h"

void srv_log(const srv *s, bool important, const char *fmt, ...)
{
	char t[40], msg[1024];
	va_list ap;

	if (s && s->cfg && s->cfg->quiet && !important)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	core_time_format(core_time_now(), t);
	fprintf(stderr, "%s hisn server: %s\n", t, msg);
}

/* ---- inputs ------------------------------------------------------------------------------- */
static srv_rec *net_rec(srv *s, const net_record *r)
{
	srv_rec *rec = srv_rec_new(r->data, r->len, SRV_SYSLOG, (uint16_t)(r->listener + 1),
				   s->cfg->tenant, r->received);
	if (rec) {
		snprintf(rec->peer, sizeof rec->peer, "%s", r->peer ? r->peer : "");
		snprintf(rec->peer_name, sizeof rec->peer_name, "%s", r->peer_name ? r->peer_name : "");
	}
	return rec;
}

static int sink_submit(void *ud, const net_record *r)
{
	srv *s = ud;
	srv_rec *rec = net_rec(s, r);
	int rc;
	if (!rec)
		return NET_FULL;
	if ((rc = srv_queue_try_put(&s->in, rec)) != 0)
		free(rec);
	return rc == NET_FULL ? NET_FULL : rc;
}

static int sink_wait(void *ud, const net_record *r)
{
	srv *s = ud;
	srv_rec *rec = net_rec(s, r);
	if (!rec)
		return CORE_ENOMEM;
	/* on disk before librelp acknowledges it (it does once this returns) */
	for (int attempt = 0; s->spool && srv_spool_append(s->spool, rec) != 0; attempt++) {
		struct timespec pause = {0, 100000000l};
		if (attempt == 10) { /* the disk is full or failing: keep it in memory only */
			if (atomic_fetch_add(&s->spool_errors, 1) % 10000 == 0)
				srv_log(s, true, "spool: cannot write to %s/spool: %s; RELP records are "
					"acknowledged without it", s->cfg->data, strerror(errno));
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (srv_queue_put(&s->in, rec) != 0) {
		free(rec);
		return CORE_EIO;
	}
	return 0;
}

typedef struct listeners {
	net_listener l[SRV_MAX_INPUTS];
	char buf[SRV_MAX_INPUTS][300];
	size_t n;
} listeners;

static int parse_listeners(const server_config *c, listeners *ls, core_err *err)
{
	ls->n = 0;
	for (size_t k = 0; k < c->syslog.n + c->relp.n; k++) {
		const char *u = k < c->syslog.n ? c->syslog.v[k] : c->relp.v[k - c->syslog.n];
		char url[300];
		int rc;
		if (ls->n + 1 >= SRV_MAX_INPUTS)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "too many listeners (at most %d)",
					    SRV_MAX_INPUTS - 1);
		if (k >= c->syslog.n && !strstr(u, "://"))
			snprintf(url, sizeof url, "relp://%s", u);
		else
			snprintf(url, sizeof url, "%s", u);
		if ((rc = net_parse_url(url, &ls->l[ls->n], ls->buf[ls->n], sizeof ls->buf[ls->n], err)) != 0)
			return rc;
		if (k < c->syslog.n && ls->l[ls->n].proto == NET_RELP)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: give RELP listeners with --relp", u);
		if (k >= c->syslog.n && ls->l[ls->n].proto != NET_RELP)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: --relp takes HOST:PORT", u);
		if (ls->l[ls->n].proto == NET_TLS && (!c->tls_cert || !c->tls_key))
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: a TLS listener needs tls-cert and tls-key", u);
		ls->n++;
	}
	return 0;
}

/* "https://HOST:PORT" -> host, port, plain. */
static int parse_http(const char *url, char *host, size_t hcap, char *port, size_t pcap, bool *plain,
		      core_err *err)
{
	const char *p = url, *colon;
	size_t hl;
	*plain = false;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7, *plain = true;
	colon = strrchr(p, ':');
	if (!colon || colon == p || !colon[1] || strchr(colon, '/'))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "http: '%s': expected https://HOST:PORT", url);
	hl = (size_t)(colon - p);
	if (*p == '[' && hl >= 2 && p[hl - 1] == ']')
		p++, hl -= 2;
	if (hl >= hcap || strlen(colon + 1) >= pcap)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "http: '%s': too long", url);
	memcpy(host, p, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", colon + 1);
	return 0;
}

/* ---- first start -------------------------------------------------------------------------- */
static int bootstrap(srv *s)
{
	uint64_t users = 0;
	char pass[64], path[4200];
	core_err err = {0};
	int fd;

	if (store_user_count(s->st, &users, &err) != 0) {
		srv_log(s, true, "store: %s", err.msg);
		return 1;
	}
	if (users > 0)
		return 0;
	if (api_bootstrap_admin(s->st, s->cfg->admin, NULL, pass, sizeof pass, &err) != 0) {
		srv_log(s, true, "first admin: %s", err.msg);
		return 1;
	}
	snprintf(path, sizeof path, "%s/initial-admin-password", s->cfg->data);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		size_t n = strlen(pass);
		if (write(fd, pass, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
			srv_log(s, true, "%s: %s", path, strerror(errno));
		close(fd);
	}
	srv_log(s, true, "first start: user '%s' (admin) created; its password is in %s "
		"(change it, then delete the file)", s->cfg->admin, path);
	return 0;
}

/* ---- start and stop ----------------------------------------------------------------------- */
static int requeue(void *ud, srv_rec *r)
{
	srv *s = ud;
	if (srv_queue_put(&s->in, r) != 0) {
		free(r);
		return CORE_EIO;
	}
	return 0;
}

/* With RELP listeners: the spool, and the records a crash left in it. */
static int start_spool(srv *s, const listeners *ls, core_err *err)
{
	bool relp = false;
	uint64_t n = 0;
	int rc;

	for (size_t i = 0; i < ls->n; i++)
		relp |= ls->l[i].proto == NET_RELP;
	if (!relp)
		return 0;
	if ((rc = srv_spool_open(s->cfg->data, &s->spool, err)) != 0 ||
	    (rc = srv_spool_replay(s->spool, requeue, s, &n, err)) != 0)
		return rc;
	atomic_store(&s->spool_replayed, n);
	if (n)
		srv_log(s, true, "spool: %llu acknowledged records were not stored before the last stop; "
			"storing them now", (unsigned long long)n);
	return 0;
}

static int start_net(srv *s, listeners *ls, core_err *err)
{
	net_options no = {.listeners = ls->l, .n_listeners = ls->n, .tls_cert = s->cfg->tls_cert,
			  .tls_key = s->cfg->tls_key, .tls_ca = s->cfg->tls_ca,
			  .tls_require_client_cert = s->cfg->tls_client_cert, .relp_tls = s->cfg->relp_tls,
			  .max_record = s->cfg->max_record,
			  .sink = {.submit = sink_submit, .submit_wait = sink_wait, .ud = s}};
	net *n = NULL;
	int rc;

	s->ninputs = 1;
	snprintf(s->input_name[0], sizeof s->input_name[0], "http");
	if (ls->n == 0)
		return 0;
	if ((rc = net_start(&no, &n, err)) != 0)
		return rc;
	for (size_t i = 0; i < ls->n; i++) {
		const net_listener *l = &ls->l[i];
		bool v6 = strchr(l->host, ':') != NULL;
		snprintf(s->input_name[i + 1], sizeof s->input_name[i + 1], "%s://%s%s%s:%d",
			 net_proto_name(l->proto), v6 ? "[" : "", l->host, v6 ? "]" : "",
			 net_port(n, (unsigned)i));
	}
	s->ninputs = (unsigned)ls->n + 1;
	__atomic_store_n(&s->net, n, __ATOMIC_RELEASE);
	return 0;
}

static void banner(srv *s, const char *host, bool plain)
{
	const char *show = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ? "localhost" : host;
	for (unsigned i = 1; i < s->ninputs; i++)
		srv_log(s, false, "listening: %s", s->input_name[i]);
	srv_log(s, false, "listening: %s://%s:%d (API%s)", plain ? "http" : "https", host,
		api_port(s->api), plain ? "" : ", certificate in the data directory unless tls-cert is set");
	if (s->cfg->web_root)
		srv_log(s, false, "web console: %s://%s:%d/", plain ? "http" : "https", show, api_port(s->api));
	srv_log(s, false, "API: %s://%s:%d/api/v1/ (log in: POST /api/v1/auth/login, or a token from "
		"'hisn token create --user NAME --data %s'); metrics: /metrics",
		plain ? "http" : "https", show, api_port(s->api), s->cfg->data);
	for (unsigned i = 1; i < s->ninputs; i++) {
		const char *name = s->input_name[i], *port = strrchr(name, ':');
		if (strncmp(name, "tcp://", 6) == 0)
			srv_log(s, false, "rsyslog: *.* action(type=\"omfwd\" target=\"THIS-HOST\" port=\"%s\" "
				"protocol=\"tcp\" TCP_Framing=\"octet-counted\")", port + 1);
		else if (strncmp(name, "relp://", 7) == 0)
			srv_log(s, false, "rsyslog: module(load=\"omrelp\") *.* action(type=\"omrelp\" "
				"target=\"THIS-HOST\" port=\"%s\")", port + 1);
	}
}

static void stop_all(srv *s)
{
	if (s->api)
		api_stop(s->api);
	s->api = NULL;
	if (s->net) {
		net_stop(s->net);
		net_free(s->net);
		s->net = NULL;
	}
	srv_queue_close(&s->in);
	srv_workers_join(s);
	srv_outq_close(&s->out);
	srv_writer_join(s);
	srv_spool_close(s->spool);
	s->spool = NULL;
}

/* SIGHUP: the config file is read again; rules, logsources, placeholders,
 * alert window and correlation memory take effect; listeners and storage
 * settings need a restart. */
static void reload(srv *s)
{
	core_err err = {0};
	if (s->cfg->file) {
		server_config fresh;
		server_config_init(&fresh);
		if (server_config_file(&fresh, s->cfg->file, &err) != 0) {
			srv_log(s, true, "reload: %s; the running configuration stays", err.msg);
			server_config_free(&fresh);
			return;
		}
		if (fresh.rules.n) {
			server_strs t = s->cfg->rules;
			s->cfg->rules = fresh.rules;
			fresh.rules = t;
		}
		server_strs t = s->cfg->logsources;
		s->cfg->logsources = fresh.logsources, fresh.logsources = t;
		char *p = s->cfg->placeholders;
		s->cfg->placeholders = fresh.placeholders, fresh.placeholders = p;
		s->cfg->alert_window_ns = fresh.alert_window_ns;
		s->cfg->corr_memory = fresh.corr_memory;
		server_config_free(&fresh);
	}
	if (srv_det_reload(s, &err) != 0)
		srv_log(s, true, "reload: %s; the old rules stay", err.msg);
	else
		srv_log(s, false, "reload: done");
}

static int wait_signals(srv *s, const sigset_t *set)
{
	for (;;) {
		struct timespec ts = {1, 0};
		int sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGHUP)
			reload(s);
		else if (sig == SIGTERM || sig == SIGINT)
			return sig;
	}
}

static int start(srv *s, sigset_t *set, core_err *err)
{
	store_options so = {.dir = s->cfg->data, .retain_days = s->cfg->retain_days,
			    .retain_bytes = s->cfg->retain_bytes};
	api_options ao = {.store = NULL, .data_dir = s->cfg->data, .web_root = s->cfg->web_root,
			  .cert_file = s->cfg->tls_cert, .key_file = s->cfg->tls_key,
			  .metrics_public = s->cfg->metrics_public};
	char host[256], port[32];
	listeners *ls = calloc(1, sizeof *ls);
	int rc;

	if (!ls)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	if ((rc = parse_listeners(s->cfg, ls, err)) != 0 ||
	    (rc = parse_http(s->cfg->http, host, sizeof host, port, sizeof port, &ao.plain_http, err)) != 0)
		goto out;
	if (mkdir(s->cfg->data, 0700) != 0 && errno != EEXIST) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", s->cfg->data, strerror(errno));
		goto out;
	}
	if ((rc = store_open(&so, &s->st, err)) != 0 || (rc = bootstrap(s) ? CORE_EIO : 0) != 0 ||
	    (rc = srv_det_build(s, &s->det, err)) != 0)
		goto out;
	if ((rc = srv_queue_init(&s->in, s->cfg->queue, s->cfg->queue_bytes)) != 0 ||
	    (rc = srv_outq_init(&s->out, 64)) != 0 || (rc = srv_writer_start(s)) != 0 ||
	    (rc = srv_workers_start(s)) != 0) {
		core_err_set(err, rc, SIZE_MAX, "cannot start the pipeline threads");
		goto out;
	}
	if ((rc = start_spool(s, ls, err)) != 0)
		goto out;
	pthread_sigmask(SIG_BLOCK, set, NULL); /* every thread started from here inherits it */
	if ((rc = start_net(s, ls, err)) != 0)
		goto out;
	ao.host = host, ao.port = port, ao.store = s->st;
	srv_api_hooks(s, &ao.hooks);
	if ((rc = api_start(&ao, &s->api, err)) != 0)
		goto out;
	banner(s, host, ao.plain_http);
out:
	free(ls);
	return rc;
}

int server_run(server_config *c)
{
	srv *s = calloc(1, sizeof *s);
	sigset_t set;
	core_err err = {0};
	int rc, sig;

	if (!s)
		return 1;
	s->cfg = c;
	s->started = core_time_now();
	pthread_mutex_init(&s->det_mu, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rc = start(s, &set, &err)) != 0) {
		srv_log(s, true, "cannot start: %s", err.msg);
		stop_all(s);
		goto out;
	}
	srv_log(s, false, "hisn %s ready (%u workers); SIGHUP reloads the rules, SIGTERM stops", HISN_VERSION,
		s->nworkers);
	sig = wait_signals(s, &set);
	srv_log(s, false, "%s: stopping (flushing what was received)", sig == SIGINT ? "SIGINT" : "SIGTERM");
	stop_all(s);
	srv_log(s, false, "stopped: %llu events stored", (unsigned long long)atomic_load(&s->events_stored));
out:
	if (s->det)
		srv_det_release(s->det);
	if (s->st)
		store_close(s->st);
	if (s->in.cap_n) {
		srv_queue_destroy(&s->in);
		srv_outq_destroy(&s->out);
	}
	pthread_mutex_destroy(&s->det_mu);
	free(s);
	return rc ? 1 : 0;
}

/* ---- --check-config ------------------------------------------------------------------------ */
int server_check(const server_config *c)
{
	srv s = {.cfg = (server_config *)c};
	listeners *ls = calloc(1, sizeof *ls);
	char host[256], port[32];
	bool plain;
	srv_det *d = NULL;
	core_err err = {0};
	int rc = 0;

	if (!ls)
		return 1;
	pthread_mutex_init(&s.det_mu, NULL);
	if (parse_listeners(c, ls, &err) != 0 ||
	    parse_http(c->http, host, sizeof host, port, sizeof port, &plain, &err) != 0) {
		fprintf(stderr, "hisn: server: %s\n", err.msg);
		rc = 3;
		goto out;
	}
	const char *files[] = {c->tls_cert, c->tls_key, c->tls_ca};
	for (size_t i = 0; i < 3; i++)
		if (files[i] && access(files[i], R_OK) != 0) {
			fprintf(stderr, "hisn: server: %s: %s\n", files[i], strerror(errno));
			rc = 3;
		}
	if (srv_det_build(&s, &d, &err) != 0) {
		fprintf(stderr, "hisn: server: %s\n", err.msg);
		rc = 3;
		goto out;
	}
	if (d->set->nfailed)
		rc = 3;
	fprintf(stderr, "hisn: server: configuration %s: %zu listeners, API on %s, %zu rules (%zu failed)\n",
		rc ? "has errors" : "ok", ls->n, c->http, d->set->nrules, d->set->nfailed);
out:
	srv_det_release(d);
	pthread_mutex_destroy(&s.det_mu);
	free(ls);
	return rc;
}
