/* net.h: the network inputs of the server.
 *
 * Listeners for syslog over UDP, TCP and TLS (RFC 5425, optional client
 * certificates) run on one libuv loop in a thread of their own; RELP (librelp,
 * acknowledged delivery for rsyslog's omrelp) runs its own engine in a second
 * thread. Each framed record (one syslog message, the framing removed: newline
 * or RFC 6587 octet counting, detected per connection) goes to the sink.
 *
 * Backpressure: when the sink is full, TCP and TLS connections stop being
 * read until net_resume (the sender's TCP window fills, so it slows down;
 * nothing is dropped); RELP's callback waits for room before the message is
 * acknowledged; UDP datagrams that find the sink full are dropped and
 * counted.
 *
 * Every input is hostile: a record over max_record is cut at the limit and
 * counted as truncated (never a crash or unbounded growth), connections over
 * max_conns are refused and counted, idle connections are closed. */
#ifndef HISN_NET_H
#define HISN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct net net;

typedef enum net_proto { NET_UDP = 1, NET_TCP, NET_TLS, NET_RELP } net_proto;

enum { NET_FULL = 1 }; /* sink return: no room now, retry after net_resume */

typedef struct net_record {
	const char *data;   /* the message, framing removed; valid during the call only */
	size_t len;
	unsigned listener;  /* index into net_options.listeners */
	const char *peer;   /* "address:port" of the sender (valid during the call) */
	const char *peer_name; /* TLS: the client certificate's subject CN, else NULL */
	int64_t received;   /* receive time, ns since 1970 UTC */
} net_record;

typedef struct net_sink {
	/* UDP, TCP, TLS (the net thread): takes the record (copying what it keeps)
	 * and returns 0, or NET_FULL when there is no room; must not block. */
	int (*submit)(void *ud, const net_record *r);
	/* RELP (the RELP thread): may block until there is room; returns 0 when the
	 * record is accepted (the acknowledgement is sent after it returns), or a
	 * negative code to refuse it (the sender retries). */
	int (*submit_wait)(void *ud, const net_record *r);
	void *ud;
} net_sink;

typedef struct net_listener {
	net_proto proto;
	const char *host;   /* address to bind ("0.0.0.0", "::", "127.0.0.1"); borrowed */
	const char *port;   /* service port; "0" picks a free one (see net_port) */
} net_listener;

typedef struct net_options {
	const net_listener *listeners; size_t n_listeners; /* borrowed for net_start */
	/* TLS and RELP-over-TLS: PEM files (borrowed for net_start). A TLS listener
	 * without a certificate is a configuration error. */
	const char *tls_cert, *tls_key;
	const char *tls_ca;          /* CA bundle to verify client certificates, or NULL */
	bool tls_require_client_cert;
	bool relp_tls;               /* RELP listeners use TLS (same cert and key) */
	size_t max_record;           /* bytes; 0: 256 KiB */
	unsigned max_conns;          /* per listener; 0: 1024 */
	unsigned idle_timeout_s;     /* 0: 600 */
	net_sink sink;
} net_options;

/* Binds every listener and starts the threads. Returns 0 with *out (owned by
 * the caller: net_stop then net_free), or a negative code with err naming the
 * listener ("tcp://0.0.0.0:514: bind: permission denied"). Nothing is left
 * running on failure. */
int net_start(const net_options *opt, net **out, core_err *err);
/* The port a listener is bound to (useful after asking for "0"). */
int net_port(const net *n, unsigned listener);
/* Thread-safe, cheap: the sink has room again; paused connections read again. */
void net_resume(net *n);
/* Stops accepting and reading, delivers every record already framed (through
 * submit, retrying while it is full, or submit_wait), closes connections and
 * joins the threads. Safe to call once. */
void net_stop(net *n);
void net_free(net *n);

typedef struct net_listener_stats {
	uint64_t records, bytes, drops, truncated, connections, refused, errors;
	uint32_t open;      /* connections open now */
	uint32_t paused;    /* connections paused by backpressure now */
} net_listener_stats;
/* Thread-safe snapshot of listener i (i < n_listeners). */
void net_get_stats(const net *n, unsigned i, net_listener_stats *st);

/* "udp", "tcp", "tls", "relp". */
const char *net_proto_name(net_proto p);
/* Parses "udp://HOST:PORT" (IPv6 as [::1]:514) into l (host and port point
 * into buf, which the caller owns, of size cap). Returns 0 or CORE_EINVAL with err. */
int net_parse_url(const char *url, net_listener *l, char *buf, size_t cap, core_err *err);

#endif
