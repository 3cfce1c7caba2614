/* net.c: the network inputs' life cycle. net_start binds every listener on
 * the caller's thread, then runs one libuv loop in a thread of its own for
 * UDP, TCP and TLS (stream.c, tls.c) and starts the RELP engine (relp.c).
 * Also UDP reception, statistics and listener URLs. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

const char *net_proto_name(net_proto p)
{
	switch (p) {
	case NET_UDP: return "udp";
	case NET_TCP: return "tcp";
	case NET_TLS: return "tls";
	case NET_RELP: return "relp";
	}
	return "?";
}

void net_format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		uv_ip4_name(s4, host, sizeof host);
		port = ntohs(s4->sin_port);
		snprintf(out, cap, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		uv_ip6_name(s6, host, sizeof host);
		port = ntohs(s6->sin6_port);
		snprintf(out, cap, "[%s]:%d", host, port);
	} else {
		snprintf(out, cap, "?");
	}
}

int net_submit(struct net *n, net_lst *l, net_record *r, bool truncated)
{
	int rc = n->sink.submit(n->sink.ud, r);

	if (rc == NET_FULL)
		return NET_FULL;
	if (rc != 0) { /* refused for good: counted as dropped */
		atomic_fetch_add_explicit(&l->st.drops, 1, memory_order_relaxed);
		return 0;
	}
	atomic_fetch_add_explicit(&l->st.records, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->st.bytes, r->len, memory_order_relaxed);
	if (truncated)
		atomic_fetch_add_explicit(&l->st.truncated, 1, memory_order_relaxed);
	return 0;
}

/* ---- UDP -------------------------------------------------------------------- */
/* With recvmmsg libuv cuts the buffer into 64 KiB slots, one datagram each. */
static void udp_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	net_lst *l = h->data;
	(void)sz;
	if (l->n->ubuf) {
		buf->base = l->n->ubuf;
		buf->len = NET_UBUF;
	} else {
		buf->base = l->n->rbuf;
		buf->len = NET_RBUF;
	}
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *sa,
		     unsigned flags)
{
	net_lst *l = h->data;
	struct net *n = l->n;
	size_t len;
	bool trunc = (flags & UV_UDP_PARTIAL) != 0;

	if (nread < 0) {
		atomic_fetch_add_explicit(&l->st.errors, 1, memory_order_relaxed);
		return;
	}
	if (!sa || nread == 0)
		return; /* nothing, or the end of a recvmmsg batch */
	len = (size_t)nread;
	while (len && (buf->base[len - 1] == '\n' || buf->base[len - 1] == '\r' ||
		       buf->base[len - 1] == '\0'))
		len--;
	if (!len)
		return;
	if (len > n->max_record) {
		len = n->max_record;
		trunc = true;
	}
	socklen_t sl = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	if (memcmp(&l->udp_last, sa, sl) != 0) {
		memset(&l->udp_last, 0, sizeof l->udp_last);
		memcpy(&l->udp_last, sa, sl);
		net_format_addr(sa, l->udp_peer, sizeof l->udp_peer);
	}
	net_record r = { .data = buf->base, .len = len, .listener = l->idx, .peer = l->udp_peer,
			 .received = core_time_now() };
	if (net_submit(n, l, &r, trunc) == NET_FULL)
		atomic_fetch_add_explicit(&l->st.drops, 1, memory_order_relaxed);
}

static int udp_listen(struct net *n, net_lst *l, const struct sockaddr *sa, core_err *err)
{
	int rc;

	if (!n->ubuf)
		n->ubuf = malloc(NET_UBUF);
	rc = n->ubuf ? uv_udp_init_ex(&n->loop, &l->h.udp, sa->sa_family | UV_UDP_RECVMMSG)
		     : uv_udp_init(&n->loop, &l->h.udp);

	if (rc)
		goto out;
	l->h_init = true;
	l->h.udp.data = l;
	rc = uv_udp_bind(&l->h.udp, sa, UV_UDP_REUSEADDR);
	if (rc)
		goto out;
	int rcv = 4 << 20; /* a burst waits in the kernel while the sink is busy */
	(void)uv_recv_buffer_size((uv_handle_t *)&l->h.udp, &rcv);
	rc = uv_udp_recv_start(&l->h.udp, udp_alloc, udp_recv);
out:
	if (rc)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: bind: %s", l->name,
				    uv_strerror(rc));
	return 0;
}

/* ---- loop thread ------------------------------------------------------------------ */
static void close_cb_none(uv_handle_t *h)
{
	(void)h;
}

static void loop_close_all(struct net *n)
{
	for (size_t i = 0; i < n->nlst; i++) {
		net_lst *l = &n->lst[i];
		if (l->h_init && !uv_is_closing((uv_handle_t *)&l->h))
			uv_close((uv_handle_t *)&l->h, close_cb_none);
	}
}

/* Stop: listeners close at once; connections when they are drained. */
static void loop_stop_step(struct net *n)
{
	if (!net_stream_stop(n))
		return; /* the sink is full: the timer or net_resume retries */
	if (n->stop_timer_init && !uv_is_closing((uv_handle_t *)&n->stop_timer))
		uv_close((uv_handle_t *)&n->stop_timer, close_cb_none);
	pthread_mutex_lock(&n->mu);
	n->alive = false;
	pthread_mutex_unlock(&n->mu);
	if (!uv_is_closing((uv_handle_t *)&n->wake))
		uv_close((uv_handle_t *)&n->wake, close_cb_none);
}

static void stop_timer_cb(uv_timer_t *t)
{
	loop_stop_step(t->data);
}

static void wake_cb(uv_async_t *a)
{
	struct net *n = a->data;

	if (atomic_load(&n->stop_req) && !n->stopping) {
		n->stopping = true;
		loop_close_all(n);
		if (uv_timer_init(&n->loop, &n->stop_timer) == 0) {
			n->stop_timer_init = true;
			n->stop_timer.data = n;
			uv_timer_start(&n->stop_timer, stop_timer_cb, 1, 1);
		}
	}
	if (n->stopping)
		loop_stop_step(n);
	else
		net_stream_resume(n);
}

static void loop_main(void *arg)
{
	struct net *n = arg;

	pthread_setname_np(pthread_self(), "hisn-net"); /* for top -H and perf */
	uv_run(&n->loop, UV_RUN_DEFAULT);
}

/* ---- start and stop ------------------------------------------------------------------ */
static int resolve(const net_listener *d, net_lst *l, struct sockaddr_storage *ss, core_err *err)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = d->proto == NET_UDP ? SOCK_DGRAM : SOCK_STREAM };
	struct addrinfo *ai = NULL;
	const char *host = d->host && d->host[0] ? d->host : NULL;
	int rc = getaddrinfo(host, d->port, &hints, &ai);

	if (rc != 0 || !ai)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: %s", l->name,
				    rc ? gai_strerror(rc) : "no address");
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static int bound_port(net_lst *l)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	int rc = l->proto == NET_UDP ? uv_udp_getsockname(&l->h.udp, (struct sockaddr *)&ss, &len)
				     : uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&ss, &len);
	if (rc)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

static int check_options(const net_options *o, core_err *err)
{
	bool tls = false;

	if (!o->sink.submit)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "net: no sink");
	for (size_t i = 0; i < o->n_listeners; i++) {
		const net_listener *d = &o->listeners[i];
		if (d->proto < NET_UDP || d->proto > NET_RELP || !d->port || !d->port[0])
			return core_err_set(err, CORE_EINVAL, SIZE_MAX,
					    "net: listener %zu: bad protocol or port", i);
		if (d->proto == NET_TLS || (d->proto == NET_RELP && o->relp_tls))
			tls = true;
		if (d->proto == NET_RELP && !o->sink.submit_wait)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX,
					    "net: a relp listener needs sink.submit_wait");
	}
	if (tls && (!o->tls_cert || !o->tls_key))
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "net: a TLS listener needs tls_cert and tls_key");
	if (o->tls_require_client_cert && !o->tls_ca)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "net: tls_require_client_cert needs tls_ca");
	return 0;
}

static int start_listeners(struct net *n, const net_options *o, core_err *err)
{
	for (size_t i = 0; i < n->nlst; i++) {
		const net_listener *d = &o->listeners[i];
		net_lst *l = &n->lst[i];
		struct sockaddr_storage ss;
		bool v6 = d->host && strchr(d->host, ':');
		int rc;

		l->n = n;
		l->idx = (unsigned)i;
		l->proto = d->proto;
		snprintf(l->name, sizeof l->name, "%s://%s%s%s:%s", net_proto_name(d->proto),
			 v6 ? "[" : "", d->host ? d->host : "", v6 ? "]" : "", d->port);
		if (d->proto == NET_RELP)
			continue;
		rc = resolve(d, l, &ss, err);
		if (rc)
			return rc;
		rc = d->proto == NET_UDP ? udp_listen(n, l, (struct sockaddr *)&ss, err)
					 : net_stream_listen(n, l, (struct sockaddr *)&ss, err);
		if (rc)
			return rc;
		l->port = bound_port(l);
	}
	return 0;
}

/* Closes the handles of a loop that never ran (start failed). */
static void loop_teardown(struct net *n)
{
	if (!n->loop_init)
		return;
	loop_close_all(n);
	if (n->wake_init)
		uv_close((uv_handle_t *)&n->wake, close_cb_none);
	uv_run(&n->loop, UV_RUN_DEFAULT);
	uv_loop_close(&n->loop);
	n->loop_init = false;
}

int net_start(const net_options *o, net **out, core_err *err)
{
	struct net *n = NULL;
	int rc = check_options(o, err);

	*out = NULL;
	if (rc)
		return rc;
	n = calloc(1, sizeof *n);
	if (!n)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "net: out of memory");
	pthread_mutex_init(&n->mu, NULL);
	n->sink = o->sink;
	n->max_record = o->max_record ? o->max_record : 256 * 1024;
	n->max_conns = o->max_conns ? o->max_conns : 1024;
	n->idle_ms = (uint64_t)(o->idle_timeout_s ? o->idle_timeout_s : 600) * 1000;
	n->nlst = o->n_listeners;
	n->lst = calloc(n->nlst ? n->nlst : 1, sizeof *n->lst);
	n->rbuf = malloc(NET_RBUF);
	n->pbuf = malloc(NET_RBUF);
	if (!n->lst || !n->rbuf || !n->pbuf) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "net: out of memory");
		goto out;
	}
	rc = uv_loop_init(&n->loop);
	if (rc) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "net: %s", uv_strerror(rc));
		goto out;
	}
	n->loop_init = true;
	if ((rc = uv_async_init(&n->loop, &n->wake, wake_cb)) != 0) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "net: %s", uv_strerror(rc));
		goto out;
	}
	n->wake_init = true;
	n->wake.data = n;
	if ((rc = net_tls_init(n, o, err)) != 0 || (rc = start_listeners(n, o, err)) != 0 ||
	    (rc = net_relp_start(n, o, err)) != 0)
		goto out;
	n->alive = true;
	if ((rc = uv_thread_create(&n->thread, loop_main, n)) != 0) {
		n->alive = false;
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "net: thread: %s", uv_strerror(rc));
		goto out;
	}
	n->thread_started = true;
	*out = n;
	n = NULL;
out:
	if (n) {
		net_relp_stop(n);
		loop_teardown(n);
		net_free(n);
	}
	return rc;
}

int net_port(const net *n, unsigned listener)
{
	if (!n || listener >= n->nlst)
		return 0;
	return n->lst[listener].port;
}

void net_resume(net *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	if (n->alive)
		uv_async_send(&n->wake);
	pthread_mutex_unlock(&n->mu);
}

void net_stop(net *n)
{
	if (!n || n->stopped)
		return;
	n->stopped = true;
	net_relp_stop(n);
	if (n->thread_started) {
		atomic_store(&n->stop_req, true);
		net_resume(n);
		uv_thread_join(&n->thread);
		n->thread_started = false;
		uv_loop_close(&n->loop);
		n->loop_init = false;
	}
}

void net_free(net *n)
{
	if (!n)
		return;
	net_stop(n);
	loop_teardown(n);
	net_tls_free(n);
	pthread_mutex_destroy(&n->mu);
	free(n->rbuf);
	free(n->pbuf);
	free(n->ubuf);
	free(n->lst);
	free(n);
}

void net_get_stats(const net *n, unsigned i, net_listener_stats *st)
{
	memset(st, 0, sizeof *st);
	if (!n || i >= n->nlst)
		return;
	const net_stats_a *a = &n->lst[i].st;
	st->records = atomic_load_explicit(&a->records, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&a->bytes, memory_order_relaxed);
	st->drops = atomic_load_explicit(&a->drops, memory_order_relaxed);
	st->truncated = atomic_load_explicit(&a->truncated, memory_order_relaxed);
	st->connections = atomic_load_explicit(&a->connections, memory_order_relaxed);
	st->refused = atomic_load_explicit(&a->refused, memory_order_relaxed);
	st->errors = atomic_load_explicit(&a->errors, memory_order_relaxed);
	st->open = atomic_load_explicit(&a->open, memory_order_relaxed);
	st->paused = atomic_load_explicit(&a->paused, memory_order_relaxed);
}

/* ---- URLs ------------------------------------------------------------------------------- */
int net_parse_url(const char *url, net_listener *l, char *buf, size_t cap, core_err *err)
{
	static const struct { const char *s; net_proto p; } schemes[] = {
		{ "udp://", NET_UDP }, { "tcp://", NET_TCP }, { "tls://", NET_TLS },
		{ "relp://", NET_RELP },
	};
	const char *rest = NULL, *host, *port, *end;
	size_t hlen, plen;

	memset(l, 0, sizeof *l);
	for (size_t i = 0; url && i < sizeof schemes / sizeof *schemes; i++) {
		size_t k = strlen(schemes[i].s);
		if (strncmp(url, schemes[i].s, k) == 0) {
			l->proto = schemes[i].p;
			rest = url + k;
		}
	}
	if (!rest)
		return core_err_set(err, CORE_EINVAL, 0,
				    "%s: expected udp://, tcp://, tls:// or relp://", url ? url : "");
	if (*rest == '[') {
		host = rest + 1;
		end = strchr(host, ']');
		if (!end || end[1] != ':')
			return core_err_set(err, CORE_EINVAL, (size_t)(rest - url),
					    "%s: expected [IPv6]:PORT", url);
		hlen = (size_t)(end - host);
		port = end + 2;
	} else {
		host = rest;
		end = strrchr(rest, ':');
		if (!end || memchr(rest, ':', (size_t)(end - rest)))
			return core_err_set(err, CORE_EINVAL, (size_t)(rest - url),
					    "%s: expected HOST:PORT (IPv6 in brackets)", url);
		hlen = (size_t)(end - host);
		port = end + 1;
	}
	plen = strlen(port);
	while (plen && port[plen - 1] == '/')
		plen--; /* "tcp://host:514/" */
	uint64_t pn;
	if (plen == 0 || core_parse_u64(port, plen, &pn) || pn > 65535)
		return core_err_set(err, CORE_EINVAL, (size_t)(port - url),
				    "%s: missing or invalid port", url);
	if (hlen == 0 || memchr(host, '/', hlen))
		return core_err_set(err, CORE_EINVAL, (size_t)(host - url), "%s: missing host", url);
	if (hlen + plen + 2 > cap)
		return core_err_set(err, CORE_EINVAL, 0, "%s: too long", url);
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	memcpy(buf + hlen + 1, port, plen);
	buf[hlen + 1 + plen] = '\0';
	l->host = buf;
	l->port = buf + hlen + 1;
	return 0;
}
