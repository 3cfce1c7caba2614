/* relp.c: RELP listeners with librelp. One engine for every RELP listener
 * runs in a thread of its own; its callback hands each message to
 * sink.submit_wait, which may block, before librelp acknowledges it. The
 * engine only looks at its stop flag when a socket wakes it, so net_stop
 * connects to the listener to wake it. */
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net_int.h"

#include <librelp.h> /* after stddef.h: it uses size_t without including it */

/* Listeners of running engines, for librelp's error callbacks whose user
 * pointer is checked against them before it is used. */
static pthread_mutex_t relp_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static net_lst *relp_reg[64];

static void relp_register(net_lst *l, bool on)
{
	pthread_mutex_lock(&relp_reg_mu);
	for (size_t i = 0; i < sizeof relp_reg / sizeof *relp_reg; i++) {
		if (on && !relp_reg[i]) {
			relp_reg[i] = l;
			break;
		}
		if (!on && relp_reg[i] == l)
			relp_reg[i] = NULL;
	}
	pthread_mutex_unlock(&relp_reg_mu);
}

static void relp_count_error(void *usr)
{
	pthread_mutex_lock(&relp_reg_mu);
	for (size_t i = 0; usr && i < sizeof relp_reg / sizeof *relp_reg; i++)
		if (relp_reg[i] == usr)
			atomic_fetch_add_explicit(&relp_reg[i]->st.errors, 1, memory_order_relaxed);
	pthread_mutex_unlock(&relp_reg_mu);
}

static void relp_on_err(void *usr, char *obj, char *msg, relpRetVal code)
{
	(void)obj;
	(void)msg;
	(void)code;
	relp_count_error(usr);
}

static void relp_on_generic_err(char *obj, char *msg, relpRetVal code)
{
	(void)obj;
	(void)msg;
	(void)code;
}

static relpRetVal relp_rcv(void *usr, unsigned char *host, unsigned char *ip, unsigned char *msg,
			   size_t len)
{
	net_lst *l = usr;
	struct net *n = l->n;
	bool trunc = false;

	(void)host;
	if (len == 0)
		return RELP_RET_OK;
	if (len > n->max_record) {
		len = n->max_record;
		trunc = true;
	}
	net_record r = { .data = (const char *)msg, .len = len, .listener = l->idx,
			 .peer = ip ? (const char *)ip : "?", .received = core_time_now() };
	if (n->sink.submit_wait(n->sink.ud, &r) != 0) {
		atomic_fetch_add_explicit(&l->st.drops, 1, memory_order_relaxed);
		return RELP_RET_ERR_INTERNAL;
	}
	atomic_fetch_add_explicit(&l->st.records, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->st.bytes, len, memory_order_relaxed);
	if (trunc)
		atomic_fetch_add_explicit(&l->st.truncated, 1, memory_order_relaxed);
	return RELP_RET_OK;
}

/* Port "0": librelp cannot say which port it bound, so a free one is found
 * first (bound and released; a tiny window for another process to take it). */
static int relp_pick_port(const net_listener *d, char *out, size_t cap)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, rc = -1;

	if (getaddrinfo(d->host && d->host[0] ? d->host : NULL, "0", &hints, &ai) || !ai)
		goto out;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl))
		goto out;
	snprintf(out, cap, "%d",
		 ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

static int relp_tls_setup(relpSrv_t *srv, const net_options *o)
{
	if (relpSrvEnableTLS2(srv) != RELP_RET_OK ||
	    relpSrvSetOwnCert(srv, (char *)o->tls_cert) != RELP_RET_OK ||
	    relpSrvSetPrivKey(srv, (char *)o->tls_key) != RELP_RET_OK)
		return -1;
	if (o->tls_ca && relpSrvSetCACert(srv, (char *)o->tls_ca) != RELP_RET_OK)
		return -1;
	if (o->tls_require_client_cert && relpSrvSetAuthMode(srv, (char *)"certvalid") != RELP_RET_OK)
		return -1;
	return 0;
}

static int relp_listener(struct net *n, const net_options *o, net_lst *l, core_err *err)
{
	const net_listener *d = &o->listeners[l->idx];
	relpEngine_t *eng = n->relp;
	relpSrv_t *srv = NULL;
	char port[16];
	const char *what = "listener";
	relpRetVal r;

	snprintf(port, sizeof port, "%s", d->port);
	if (strcmp(d->port, "0") == 0 && relp_pick_port(d, port, sizeof port))
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: no free port", l->name);
	if ((r = relpEngineListnerConstruct(eng, &srv)) != RELP_RET_OK)
		goto out;
	if ((r = relpSrvSetLstnPort(srv, (unsigned char *)port)) != RELP_RET_OK ||
	    (d->host && d->host[0] && (r = relpSrvSetLstnAddr(srv, (unsigned char *)d->host))) ||
	    (r = relpSrvSetUsrPtr(srv, l)) != RELP_RET_OK ||
	    (r = relpSrvSetMaxDataSize(srv, n->max_record + 1)) != RELP_RET_OK ||
	    (r = relpSrvSetOversizeMode(srv, RELP_OVERSIZE_TRUNCATE)) != RELP_RET_OK)
		goto out;
	if (o->relp_tls && relp_tls_setup(srv, o)) {
		what = "tls setup";
		r = RELP_RET_ERR_TLS_SETUP;
		goto out;
	}
	what = "bind";
	r = relpEngineListnerConstructFinalize(eng, srv);
	/* on failure the engine owns srv or it is gone: librelp frees it with the engine */
out:
	if (r != RELP_RET_OK)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s: librelp error %d", l->name,
				    what, (int)r);
	uint64_t pn = 0;
	(void)core_parse_u64(port, strlen(port), &pn);
	l->port = (int)pn;
	return 0;
}

static void *relp_main(void *arg)
{
	struct net *n = arg;

	pthread_setname_np(pthread_self(), "hisn-relp");
	(void)relpEngineRun(n->relp);
	return NULL;
}

int net_relp_start(struct net *n, const net_options *o, core_err *err)
{
	relpEngine_t *eng = NULL;
	bool any = false;
	int rc;

	for (size_t i = 0; i < n->nlst; i++)
		any |= o->listeners[i].proto == NET_RELP;
	if (!any)
		return 0;
	if (relpEngineConstruct(&eng) != RELP_RET_OK)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "relp: cannot create the engine");
	n->relp = eng;
	(void)relpEngineSetDbgprint(eng, NULL);
	(void)relpEngineSetDnsLookupMode(eng, 0);
	(void)relpEngineSetEnableCmd(eng, (unsigned char *)"syslog", eRelpCmdState_Required);
	(void)relpEngineSetSyslogRcv2(eng, relp_rcv);
	(void)relpEngineSetOnErr(eng, relp_on_err);
	(void)relpEngineSetOnAuthErr(eng, relp_on_err);
	(void)relpEngineSetOnGenericErr(eng, relp_on_generic_err);
	for (size_t i = 0; i < n->nlst; i++) {
		if (o->listeners[i].proto != NET_RELP)
			continue;
		if ((rc = relp_listener(n, o, &n->lst[i], err)) != 0)
			return rc;
		relp_register(&n->lst[i], true);
	}
	if (pthread_create(&n->relp_thread, NULL, relp_main, n) != 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "relp: cannot start the thread");
	n->relp_started = true;
	return 0;
}

/* Connects to the listener so that the engine's epoll_wait returns. */
static void relp_poke(const net_lst *l)
{
	const char *host = l->name + strlen("relp://");
	char h[300];
	size_t hl = strlen(host);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char port[16];
	const char *colon = strrchr(host, ':');

	if (!colon)
		return;
	hl = (size_t)(colon - host);
	if (hl >= 2 && host[0] == '[') {
		host++;
		hl -= 2;
	}
	if (hl >= sizeof h)
		return;
	memcpy(h, host, hl);
	h[hl] = '\0';
	if (hl == 0 || strcmp(h, "0.0.0.0") == 0)
		memcpy(h, "127.0.0.1", sizeof "127.0.0.1");
	else if (strcmp(h, "::") == 0)
		memcpy(h, "::1", sizeof "::1");
	snprintf(port, sizeof port, "%d", l->port);
	if (getaddrinfo(h, port, &hints, &ai) || !ai)
		return;
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0) {
		(void)connect(fd, ai->ai_addr, ai->ai_addrlen);
		close(fd);
	}
	freeaddrinfo(ai);
}

void net_relp_stop(struct net *n)
{
	if (!n->relp)
		return;
	(void)relpEngineSetStop(n->relp);
	if (n->relp_started) {
		bool joined = false;
		for (int i = 0; i < 50 && !joined; i++) {
			struct timespec ts;
			for (size_t k = 0; k < n->nlst; k++)
				if (n->lst[k].proto == NET_RELP && n->lst[k].port)
					relp_poke(&n->lst[k]);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			joined = pthread_timedjoin_np(n->relp_thread, NULL, &ts) == 0;
		}
		if (!joined) /* a callback still waits for the sink: wait for it */
			pthread_join(n->relp_thread, NULL);
		n->relp_started = false;
	}
	for (size_t k = 0; k < n->nlst; k++)
		if (n->lst[k].proto == NET_RELP)
			relp_register(&n->lst[k], false);
	relpEngine_t *eng = n->relp;
	(void)relpEngineDestruct(&eng);
	n->relp = NULL;
}
