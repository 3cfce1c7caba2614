/* net_int.h: private to src/net. The stream framer (pure, fuzzed on its own),
 * and the structures the loop thread (net.c, stream.c, tls.c) and the RELP
 * thread (relp.c) share. */
#ifndef HISN_NET_INT_H
#define HISN_NET_INT_H

#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/net.h"

/* ---- framer ---------------------------------------------------------------- */
/* Receives one record (framing removed). rec is borrowed for the call. Returns
 * 0 when the record was taken, NET_FULL to have the framer keep it (it is
 * offered again by the next net_framer_feed or net_framer_finish), or a
 * negative code to stop (returned as is; the record is then lost). */
typedef int (*net_emit_fn)(void *ud, const char *rec, size_t len, bool truncated);

enum { NF_START, NF_OCT_LEN, NF_OCT_BODY, NF_OCT_SKIP, NF_LINE, NF_LINE_SKIP };

typedef struct net_framer {
	core_buf acc;        /* the record being assembled, or the kept one; owned */
	size_t max;          /* longest record delivered; longer ones are cut */
	uint64_t olen;       /* octet count of the current message */
	uint64_t left;       /* octets of it still to skip (NF_OCT_SKIP) */
	char digits[12];     /* the octet count as read (NF_OCT_LEN) */
	unsigned ndigits;
	uint8_t state;
	bool pending, pending_trunc;
} net_framer;

/* max: longest record (>= 1). */
void net_framer_init(net_framer *f, size_t max);
void net_framer_free(net_framer *f);
/* Frames p[0..n) (borrowed), continuing the stream. Offers the kept record
 * first, then every complete record to emit in order. Returns 0 with *used = n,
 * NET_FULL when emit refused a record (the framer keeps it; *used bytes were
 * consumed, feed the rest later), or a negative code (CORE_ENOMEM, or emit's). */
int net_framer_feed(net_framer *f, const char *p, size_t n, size_t *used, net_emit_fn emit,
		    void *ud);
/* End of stream: offers the kept record, then a last line without its
 * terminator. Returns 0, NET_FULL (call again), or CORE_EPARSE when an
 * octet-counted message was cut short (it is lost; the framer is reset). */
int net_framer_finish(net_framer *f, net_emit_fn emit, void *ud);
/* True when the framer holds nothing: no kept record, no partial message. */
bool net_framer_idle(const net_framer *f);

/* ---- shared state -------------------------------------------------------------- */
#define NET_RBUF (64 * 1024)
#define NET_UBUF (16 * 64 * 1024) /* UDP: up to 16 datagrams per recvmmsg */

typedef struct net_stats_a {
	_Atomic uint64_t records, bytes, drops, truncated, connections, refused, errors;
	_Atomic uint32_t open, paused;
} net_stats_a;

struct net;
struct net_conn;

typedef struct net_lst {
	struct net *n;
	unsigned idx;
	net_proto proto;
	int port;
	char name[320];          /* "tcp://host:port" for messages */
	union {
		uv_tcp_t tcp;
		uv_udp_t udp;
	} h;
	bool h_init;
	net_stats_a st;
	struct sockaddr_storage udp_last; /* peer cache for UDP */
	char udp_peer[64];
} net_lst;

typedef struct net_conn {
	uv_tcp_t tcp;
	uv_timer_t idle;
	net_lst *l;
	struct net_conn *prev, *next;     /* every open connection */
	struct net_conn *pnext;           /* paused queue */
	net_framer fr;
	core_buf backlog;                 /* plaintext read, not yet framed */
	size_t backlog_off;
	core_buf tls_in;                  /* ciphertext not yet taken by GnuTLS */
	size_t tls_off;
	gnutls_session_t tls;
	size_t wpending;                  /* bytes queued for writing */
	uint64_t last_active;             /* uv_now of the last read */
	int64_t received;
	int closes_left;
	bool handshaken, eof, paused, closing, queued;
	char peer[64];
	char peer_name[256];
	bool has_peer_name;
} net_conn;

struct net {
	net_sink sink;
	size_t max_record;
	unsigned max_conns;
	uint64_t idle_ms;
	bool tls_require, tls_verify;
	net_lst *lst;
	size_t nlst;
	uv_loop_t loop;
	bool loop_init;
	uv_async_t wake;
	bool wake_init;
	uv_timer_t stop_timer;
	bool stop_timer_init;
	uv_thread_t thread;
	bool thread_started;
	pthread_mutex_t mu;        /* guards wake against net_resume after the loop ends */
	bool alive;
	atomic_bool stop_req;
	bool stopping, stopped;
	net_conn *conns;
	net_conn *phead, *ptail;   /* paused connections, oldest first */
	char *rbuf, *pbuf, *ubuf;  /* read, plaintext and UDP scratch (loop thread) */
	gnutls_certificate_credentials_t cred;
	/* RELP */
	void *relp;                /* relpEngine_t */
	pthread_t relp_thread;
	bool relp_started;
	atomic_bool relp_stopping;
};

/* stream.c: TCP and TLS connections (loop thread). */
int net_stream_listen(struct net *n, net_lst *l, const struct sockaddr *sa, core_err *err);
/* Delivers what each connection holds and closes it; returns true when every
 * connection is closed (false: the sink is full, call again). */
bool net_stream_stop(struct net *n);
/* Retries paused connections in order. */
void net_stream_resume(struct net *n);

/* tls.c */
int net_tls_init(struct net *n, const net_options *o, core_err *err);
void net_tls_free(struct net *n);
/* Starts the server side of a session on c; 0 or a negative code. */
int net_tls_session(struct net *n, net_conn *c);
/* Runs the handshake as far as the buffered data allows: 0 when done, 1 to
 * wait for more, negative on failure (the connection must be closed). */
int net_tls_handshake(struct net *n, net_conn *c);

/* relp.c (the RELP thread) */
int net_relp_start(struct net *n, const net_options *o, core_err *err);
void net_relp_stop(struct net *n);

/* net.c */
void net_format_addr(const struct sockaddr *sa, char *out, size_t cap);
/* Hands a record to the sink for listener l and counts it (loop thread). */
int net_submit(struct net *n, net_lst *l, net_record *r, bool truncated);

#endif
