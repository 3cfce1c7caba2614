/* stream.c: TCP and TLS connections on the loop thread. Each read is framed
 * at once (frame.c); when the sink is full the connection keeps the refused
 * record and the unframed rest of the read, stops reading and waits in the
 * paused queue for net_resume. Idle connections are closed by a timer;
 * connections over max_conns are accepted and closed at once. */
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

#define NET_TLS_IN_MAX (4u << 20) /* ciphertext buffered before GnuTLS takes it */

static void conn_close(net_conn *c);

/* ---- records ------------------------------------------------------------------ */
static int conn_emit(void *ud, const char *rec, size_t len, bool truncated)
{
	net_conn *c = ud;
	net_record r = { .data = rec, .len = len, .listener = c->l->idx, .peer = c->peer,
			 .peer_name = c->has_peer_name ? c->peer_name : NULL,
			 .received = c->received };
	return net_submit(c->l->n, c->l, &r, truncated);
}

/* Frames p[0..n); on NET_FULL the unframed rest goes to the backlog. */
static int conn_feed(net_conn *c, const char *p, size_t n)
{
	size_t used = 0;
	int rc = net_framer_feed(&c->fr, p, n, &used, conn_emit, c);

	if (rc == NET_FULL && used < n) {
		if (core_buf_add(&c->backlog, p + used, n - used))
			return CORE_ENOMEM;
	}
	return rc;
}

/* Frames the backlog left by an earlier pause (and the kept record). */
static int conn_feed_backlog(net_conn *c)
{
	size_t used = 0, n = c->backlog.len - c->backlog_off;
	int rc = net_framer_feed(&c->fr, c->backlog.data ? c->backlog.data + c->backlog_off : "",
				 n, &used, conn_emit, c);

	c->backlog_off += used;
	if (c->backlog_off == c->backlog.len) {
		c->backlog.len = 0;
		c->backlog_off = 0;
		if (c->backlog.cap > NET_RBUF * 2)
			core_buf_free(&c->backlog);
	}
	return rc;
}

/* Frames everything the connection holds: the kept record, the backlog,
 * then the TLS records GnuTLS can decrypt from the buffered ciphertext.
 * Returns 0, NET_FULL, or a negative code (close the connection). */
static int conn_pump(net_conn *c)
{
	char *pbuf = c->l->n->pbuf;
	int rc = conn_feed_backlog(c), soft = 0;

	if (rc)
		return rc;
	if (!c->tls || !c->handshaken)
		return 0;
	for (;;) {
		ssize_t r = gnutls_record_recv(c->tls, pbuf, NET_RBUF);
		if (r > 0) {
			rc = conn_feed(c, pbuf, (size_t)r);
			if (rc)
				return rc;
			continue;
		}
		if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
			c->eof = true;
			return 0;
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			return 0;
		if (!gnutls_error_is_fatal((int)r) && ++soft < 16)
			continue; /* a warning alert, a renegotiation request: go on */
		return CORE_EIO;
	}
}

/* ---- pause and resume -------------------------------------------------------------- */
static void conn_pause(net_conn *c)
{
	struct net *n = c->l->n;

	if (!c->paused) {
		c->paused = true;
		atomic_fetch_add_explicit(&c->l->st.paused, 1, memory_order_relaxed);
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
	if (!c->queued) {
		c->queued = true;
		c->pnext = NULL;
		if (n->ptail)
			n->ptail->pnext = c;
		else
			n->phead = c;
		n->ptail = c;
	}
}

static void conn_unpause(net_conn *c)
{
	if (c->paused) {
		c->paused = false;
		atomic_fetch_sub_explicit(&c->l->st.paused, 1, memory_order_relaxed);
	}
}

static void conn_error(net_conn *c)
{
	atomic_fetch_add_explicit(&c->l->st.errors, 1, memory_order_relaxed);
	conn_close(c);
}

/* At end of stream: the last line without its terminator. */
static int conn_finish(net_conn *c)
{
	int rc = net_framer_finish(&c->fr, conn_emit, c);

	if (rc == CORE_EPARSE) /* an octet-counted message cut short */
		atomic_fetch_add_explicit(&c->l->st.errors, 1, memory_order_relaxed);
	return rc == NET_FULL ? NET_FULL : 0;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *buf);

/* Runs the connection after new data, a resume or the end of the stream. */
static void conn_run(net_conn *c)
{
	int rc = conn_pump(c);

	if (rc == 0 && c->eof)
		rc = conn_finish(c);
	if (rc == NET_FULL) {
		conn_pause(c);
		return;
	}
	if (rc < 0) {
		conn_error(c);
		return;
	}
	if (c->eof) {
		conn_close(c);
		return;
	}
	if (c->paused) {
		conn_unpause(c);
		if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb))
			conn_error(c);
	}
}

void net_stream_resume(struct net *n)
{
	net_conn *stop = n->ptail;

	/* in order; a connection that fills the sink again goes to the back */
	while (n->phead) {
		net_conn *c = n->phead;
		n->phead = c->pnext;
		if (!n->phead)
			n->ptail = NULL;
		c->queued = false;
		if (!c->closing)
			conn_run(c);
		if (c->queued || c == stop)
			break; /* full again, or one round done */
	}
}

/* ---- reading ----------------------------------------------------------------------- */
static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	net_conn *c = h->data;
	(void)sz;
	buf->base = c->l->n->rbuf;
	buf->len = NET_RBUF;
}

static int tls_take(net_conn *c, const char *p, size_t n)
{
	if (c->tls_off && c->tls_off == c->tls_in.len) {
		c->tls_in.len = 0;
		c->tls_off = 0;
	} else if (c->tls_off > c->tls_in.len / 2) {
		memmove(c->tls_in.data, c->tls_in.data + c->tls_off, c->tls_in.len - c->tls_off);
		c->tls_in.len -= c->tls_off;
		c->tls_off = 0;
	}
	return core_buf_add(&c->tls_in, p, n);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	net_conn *c = s->data;

	if (c->closing)
		return;
	if (nread < 0) {
		if (nread != UV_EOF)
			atomic_fetch_add_explicit(&c->l->st.errors, 1, memory_order_relaxed);
		c->eof = true;
		uv_read_stop(s);
		conn_run(c);
		return;
	}
	if (nread == 0)
		return;
	c->last_active = uv_now(s->loop);
	c->received = core_time_now();
	if (!c->tls) {
		int rc = conn_feed(c, buf->base, (size_t)nread);
		if (rc == NET_FULL)
			conn_pause(c);
		else if (rc < 0)
			conn_error(c);
		return;
	}
	if (tls_take(c, buf->base, (size_t)nread)) {
		conn_error(c);
		return;
	}
	if (!c->handshaken) {
		int hr = net_tls_handshake(c->l->n, c);
		if (hr < 0) {
			conn_error(c);
			return;
		}
		if (hr > 0)
			return;
	}
	conn_run(c);
}

/* ---- idle timer and closing ------------------------------------------------------------ */
static void idle_cb(uv_timer_t *t)
{
	net_conn *c = t->data;
	struct net *n = c->l->n;
	uint64_t now = uv_now(&n->loop), quiet = now - c->last_active;

	if (c->paused) { /* waiting for the sink, not for the sender */
		c->last_active = now;
		quiet = 0;
	}
	if (quiet >= n->idle_ms) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->idle, idle_cb, n->idle_ms - quiet, 0);
}

static void conn_free_cb(uv_handle_t *h)
{
	net_conn *c = h->data;

	if (--c->closes_left > 0)
		return;
	if (c->tls)
		gnutls_deinit(c->tls);
	net_framer_free(&c->fr);
	core_buf_free(&c->backlog);
	core_buf_free(&c->tls_in);
	free(c);
}

static void conn_close(net_conn *c)
{
	struct net *n = c->l->n;

	if (c->closing)
		return;
	c->closing = true;
	if (c->tls && c->handshaken)
		(void)gnutls_bye(c->tls, GNUTLS_SHUT_WR); /* best effort, never waits */
	conn_unpause(c);
	if (c->queued) { /* unlink from the paused queue */
		net_conn **pp = &n->phead, *prev = NULL;
		while (*pp && *pp != c) {
			prev = *pp;
			pp = &(*pp)->pnext;
		}
		if (*pp)
			*pp = c->pnext;
		if (n->ptail == c)
			n->ptail = prev;
		c->queued = false;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		n->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	atomic_fetch_sub_explicit(&c->l->st.open, 1, memory_order_relaxed);
	c->closes_left = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_free_cb);
	uv_close((uv_handle_t *)&c->idle, conn_free_cb);
}

/* ---- accepting ------------------------------------------------------------------------------ */
static void refuse_close_cb(uv_handle_t *h)
{
	free(h);
}

static void refuse(net_lst *l, uv_stream_t *server)
{
	uv_tcp_t *t = malloc(sizeof *t);

	atomic_fetch_add_explicit(&l->st.refused, 1, memory_order_relaxed);
	if (!t)
		return;
	if (uv_tcp_init(server->loop, t)) {
		free(t);
		return;
	}
	(void)uv_accept(server, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, refuse_close_cb);
}

static int conn_setup(struct net *n, net_lst *l, net_conn *c, uv_stream_t *server)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	int rc;

	if ((rc = uv_accept(server, (uv_stream_t *)&c->tcp)) != 0)
		return rc;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
		net_format_addr((struct sockaddr *)&ss, c->peer, sizeof c->peer);
	else
		memcpy(c->peer, "?", 2);
	(void)uv_tcp_nodelay(&c->tcp, 1);
	if (l->proto == NET_TLS && (rc = net_tls_session(n, c)) != 0)
		return rc;
	if ((rc = uv_timer_start(&c->idle, idle_cb, n->idle_ms, 0)) != 0)
		return rc;
	return uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void accept_cb(uv_stream_t *server, int status)
{
	net_lst *l = server->data;
	struct net *n = l->n;
	net_conn *c;

	if (status < 0 || n->stopping) {
		atomic_fetch_add_explicit(&l->st.errors, 1, memory_order_relaxed);
		return;
	}
	if (atomic_load_explicit(&l->st.open, memory_order_relaxed) >= n->max_conns ||
	    !(c = calloc(1, sizeof *c))) {
		refuse(l, server);
		return;
	}
	c->l = l;
	net_framer_init(&c->fr, n->max_record);
	core_buf_init(&c->backlog, 0);
	core_buf_init(&c->tls_in, NET_TLS_IN_MAX);
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->idle);
	c->tcp.data = c;
	c->idle.data = c;
	c->last_active = uv_now(server->loop);
	c->next = n->conns;
	if (n->conns)
		n->conns->prev = c;
	n->conns = c;
	atomic_fetch_add_explicit(&l->st.open, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->st.connections, 1, memory_order_relaxed);
	if (conn_setup(n, l, c, server) != 0)
		conn_error(c);
}

int net_stream_listen(struct net *n, net_lst *l, const struct sockaddr *sa, core_err *err)
{
	const char *what = "bind";
	int rc = uv_tcp_init(&n->loop, &l->h.tcp);

	if (rc)
		goto out;
	l->h_init = true;
	l->h.tcp.data = l;
	rc = uv_tcp_bind(&l->h.tcp, sa, 0);
	if (rc)
		goto out;
	what = "listen";
	rc = uv_listen((uv_stream_t *)&l->h.tcp, 511, accept_cb);
out:
	if (rc)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s: %s", l->name, what,
				    uv_strerror(rc));
	return 0;
}

/* ---- stop --------------------------------------------------------------------------------- */
bool net_stream_stop(struct net *n)
{
	net_conn *c = n->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->closing)
			continue;
		if (!c->paused)
			uv_read_stop((uv_stream_t *)&c->tcp);
		int rc = conn_pump(c);
		if (rc == 0)
			rc = conn_finish(c);
		if (rc == NET_FULL) {
			if (!c->paused) {
				c->paused = true;
				atomic_fetch_add_explicit(&c->l->st.paused, 1, memory_order_relaxed);
			}
			continue;
		}
		if (rc < 0)
			atomic_fetch_add_explicit(&c->l->st.errors, 1, memory_order_relaxed);
		conn_close(c);
	}
	for (c = n->conns; c; c = c->next)
		if (!c->closing)
			return false;
	return true;
}
