/* test_net.c: the network inputs over real sockets on 127.0.0.1: the framer
 * (split-independence, mixed framing, truncation), listener URLs, UDP with
 * logger -d, TCP with logger in both framings and a raw socket writing at
 * awkward split points, truncation, max_conns, TLS with certtool-made
 * certificates and gnutls-cli (client certificate CN, refusal without one),
 * rsyslogd forwarding with omrelp, omfwd over TCP (both framings) and omfwd
 * over TLS with a client certificate, RELP from librelp's client
 * over TLS, backpressure on TCP (sender blocked, nothing lost), UDP drops,
 * and net_stop with records in flight. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "net/net.h"
#include "net/net_int.h"

#include <librelp.h>

/* ---- a sink that records, with a capacity to simulate a full pipeline ---- */
typedef struct rec {
	char *data;
	size_t len;
	unsigned listener;
	char peer[64];
	char peer_name[128];
	bool has_pn;
} rec;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	rec *r;
	size_t n, cap;
	bool store;        /* keep copies */
	long capacity;     /* records accepted before NET_FULL; -1: no limit */
	uint64_t fulls, count;
	bool check_seq;    /* records must read "seq N ..." with N = 0, 1, 2... */
	uint64_t next_seq;
	bool seq_bad;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void sink_reset(bool store, long capacity, bool check_seq)
{
	pthread_mutex_lock(&S.mu);
	for (size_t i = 0; i < S.n; i++)
		free(S.r[i].data);
	S.n = 0;
	S.store = store;
	S.capacity = capacity;
	S.fulls = S.count = 0;
	S.check_seq = check_seq;
	S.next_seq = 0;
	S.seq_bad = false;
	pthread_mutex_unlock(&S.mu);
}

static void sink_set_capacity(long c)
{
	pthread_mutex_lock(&S.mu);
	S.capacity = c;
	pthread_cond_broadcast(&S.cv);
	pthread_mutex_unlock(&S.mu);
}

/* Called with S.mu held. */
static void sink_accept(const net_record *r)
{
	if (S.capacity > 0)
		S.capacity--;
	S.count++;
	if (S.check_seq) {
		uint64_t v;
		const char *sp = r->len > 4 ? memchr(r->data + 4, ' ', r->len - 4) : NULL;
		if (!sp || memcmp(r->data, "seq ", 4) ||
		    core_parse_u64(r->data + 4, (size_t)(sp - r->data - 4), &v) || v != S.next_seq)
			S.seq_bad = true;
		S.next_seq++;
	}
	if (S.store && core_grow((void **)&S.r, &S.cap, S.n, sizeof *S.r, 64) == 0) {
		rec *x = &S.r[S.n++];
		memset(x, 0, sizeof *x);
		x->data = malloc(r->len + 1);
		memcpy(x->data, r->data, r->len);
		x->data[r->len] = '\0';
		x->len = r->len;
		x->listener = r->listener;
		snprintf(x->peer, sizeof x->peer, "%s", r->peer ? r->peer : "");
		if (r->peer_name) {
			snprintf(x->peer_name, sizeof x->peer_name, "%s", r->peer_name);
			x->has_pn = true;
		}
	}
	pthread_cond_broadcast(&S.cv);
}

static int sink_submit(void *ud, const net_record *r)
{
	(void)ud;
	pthread_mutex_lock(&S.mu);
	if (S.capacity == 0) {
		S.fulls++;
		pthread_mutex_unlock(&S.mu);
		return NET_FULL;
	}
	sink_accept(r);
	pthread_mutex_unlock(&S.mu);
	return 0;
}

static int sink_submit_wait(void *ud, const net_record *r)
{
	(void)ud;
	pthread_mutex_lock(&S.mu);
	while (S.capacity == 0)
		pthread_cond_wait(&S.cv, &S.mu);
	sink_accept(r);
	pthread_mutex_unlock(&S.mu);
	return 0;
}

static uint64_t sink_count(void)
{
	pthread_mutex_lock(&S.mu);
	uint64_t c = S.count;
	pthread_mutex_unlock(&S.mu);
	return c;
}

static bool wait_count(uint64_t target, int ms)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&S.mu);
	while (S.count < target)
		if (pthread_cond_timedwait(&S.cv, &S.mu, &ts) == ETIMEDOUT)
			break;
	ok = S.count >= target;
	pthread_mutex_unlock(&S.mu);
	return ok;
}

/* Records whose text contains s. */
static size_t count_with(const char *s)
{
	size_t k = 0;
	pthread_mutex_lock(&S.mu);
	for (size_t i = 0; i < S.n; i++)
		if (strstr(S.r[i].data, s))
			k++;
	pthread_mutex_unlock(&S.mu);
	return k;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static net_listener_stats stats(net *n, unsigned i)
{
	net_listener_stats st;
	net_get_stats(n, i, &st);
	return st;
}

#define WAIT_FOR(cond, ms)                                              \
	do {                                                            \
		for (int w_ = 0; w_ < (ms) / 5 && !(cond); w_++)         \
			sleep_ms(5);                                    \
	} while (0)

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static net *start1(net_proto p, net_options *o)
{
	static net_listener l;
	core_err err = { 0 };
	net *n = NULL;

	l = (net_listener){ .proto = p, .host = "127.0.0.1", .port = "0" };
	o->listeners = &l;
	o->n_listeners = 1;
	o->sink = (net_sink){ sink_submit, sink_submit_wait, NULL };
	if (net_start(o, &n, &err) != 0) {
		printf("# net_start: %s\n", err.msg);
		return NULL;
	}
	return n;
}

static int tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* ---- framer --------------------------------------------------------------------------- */
typedef struct fout {
	char s[4096];
	size_t len;
	int full_every, calls;
} fout;

static int f_emit(void *ud, const char *data, size_t len, bool trunc)
{
	fout *o = ud;
	if (o->full_every && ++o->calls % o->full_every == 0)
		return NET_FULL;
	int w = snprintf(o->s + o->len, sizeof o->s - o->len, "%s%.*s|", trunc ? "!" : "",
			 (int)len, data);
	if (w > 0 && (size_t)w < sizeof o->s - o->len)
		o->len += (size_t)w;
	return 0;
}

/* Frames in[0..n) in chunks of `chunk` bytes (refusing every full_every-th
 * offer when set) and returns the records joined with '|'. */
static const char *frame_all(const char *in, size_t n, size_t max, size_t chunk, int full_every)
{
	static fout o;
	net_framer f;
	size_t off = 0, used;
	int rc;

	memset(&o, 0, sizeof o);
	o.full_every = full_every;
	net_framer_init(&f, max);
	while (off < n) {
		size_t k = n - off < chunk ? n - off : chunk;
		rc = net_framer_feed(&f, in + off, k, &used, f_emit, &o);
		off += used;
		if (rc != 0 && rc != NET_FULL)
			break;
	}
	while ((rc = net_framer_finish(&f, f_emit, &o)) == NET_FULL)
		;
	if (rc == CORE_EPARSE)
		snprintf(o.s + o.len, sizeof o.s - o.len, "<cut>");
	net_framer_free(&f);
	return o.s;
}

static void test_framer(void)
{
	static const char mixed[] = "<13>first line\r\n"
				    "26 <13>octet\nwith embedded LF"
				    "<14>nul ended\0"
				    "\n\n"
				    "2024-01-01 starts with digits\n"
				    "5 fifth"
				    "last without LF";
	const char *want = "<13>first line|<13>octet\nwith embedded LF|<14>nul ended|"
			   "2024-01-01 starts with digits|fifth|last without LF|";
	size_t n = sizeof mixed - 1;
	bool same = true;
	char whole[4096];

	snprintf(whole, sizeof whole, "%s", frame_all(mixed, n, 1000, n, 0));
	TAP_OK(strcmp(whole, want) == 0, "framer: mixed LF, CRLF, NUL, octet counts, digit lines");
	for (char *q = whole; *q; q++)
		if (*q == '\n')
			*q = '~';
	printf("# records: %s\n", whole);
	for (size_t c = 1; c < 40; c++)
		for (int fe = 0; fe < 5; fe++) /* refuse every 2nd, 3rd, 4th offer */
			same &= strcmp(frame_all(mixed, n, 1000, c, fe == 1 ? 0 : fe), want) == 0;
	TAP_OK(same, "framer: same records for every split (1..39 bytes) and refusals");

	static const char longs[] = "abcdefghij\n12345678\r\n15 abcdefghijklmno123456789\nxy";
	const char *wl = "!abcdefgh|12345678|!abcdefgh|!12345678|xy|";
	same = true;
	for (size_t c = 1; c <= sizeof longs; c++)
		same &= strcmp(frame_all(longs, sizeof longs - 1, 8, c, 0), wl) == 0;
	TAP_OK(same, "framer: over-long lines and octet messages cut at max, rest skipped: %s",
	       frame_all(longs, sizeof longs - 1, 8, 3, 0));
	TAP_OK(strcmp(frame_all("12 abc", 6, 100, 6, 0), "<cut>") == 0,
	       "framer: an octet-counted message cut short is reported");
}

/* ---- URLs ----------------------------------------------------------------------------- */
static void test_url(void)
{
	char buf[256];
	net_listener l;
	core_err err;

	TAP_OK(net_parse_url("tcp://0.0.0.0:514", &l, buf, sizeof buf, &err) == 0 &&
		       l.proto == NET_TCP && strcmp(l.host, "0.0.0.0") == 0 &&
		       strcmp(l.port, "514") == 0,
	       "url: tcp://0.0.0.0:514");
	TAP_OK(net_parse_url("tls://[::1]:6514", &l, buf, sizeof buf, &err) == 0 &&
		       l.proto == NET_TLS && strcmp(l.host, "::1") == 0 &&
		       strcmp(l.port, "6514") == 0,
	       "url: IPv6 in brackets");
	TAP_OK(net_parse_url("udp://127.0.0.1:0", &l, buf, sizeof buf, &err) == 0 &&
		       l.proto == NET_UDP, "url: udp");
	TAP_OK(net_parse_url("relp://logs.example.org:2514", &l, buf, sizeof buf, &err) == 0 &&
		       l.proto == NET_RELP && strcmp(l.host, "logs.example.org") == 0,
	       "url: relp with a host name");
	const char *bad[] = { "tcp://host", "tcp://host:", "http://x:1", "tcp://[::1]", "tcp://::1:514",
			      "tcp://:514", "udp://h:70000", "udp://h:51x" };
	bool all = true;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err.msg[0] = 0;
		all &= net_parse_url(bad[i], &l, buf, sizeof buf, &err) == CORE_EINVAL &&
		       err.msg[0] != 0;
	}
	TAP_OK(all, "url: missing port, bad scheme, unbracketed IPv6, bad port are refused");
	TAP_OK(net_parse_url("tcp://h:1", &l, buf, 3, &err) == CORE_EINVAL, "url: buffer bound");
}

/* ---- UDP and TCP ------------------------------------------------------------------------- */
static void test_udp(void)
{
	net_options o = { 0 };
	sink_reset(true, -1, false);
	net *n = start1(NET_UDP, &o);
	TAP_OK(n && net_port(n, 0) > 0, "udp: listening on port %d", n ? net_port(n, 0) : 0);
	if (!n)
		return;
	int port = net_port(n, 0), ok = 0;
	for (int i = 0; i < 3; i++)
		ok += run("logger -d -n 127.0.0.1 -P %d -t hisntest 'udp message %d'", port, i) == 0;
	wait_count(3, 5000);
	TAP_OK(ok == 3 && count_with("udp message") == 3, "udp: 3 datagrams from logger -d");
	pthread_mutex_lock(&S.mu);
	bool peer = S.n > 0 && strncmp(S.r[0].peer, "127.0.0.1:", 10) == 0 &&
		    S.r[0].data[S.r[0].len - 1] != '\n' && !S.r[0].has_pn;
	pthread_mutex_unlock(&S.mu);
	TAP_OK(peer, "udp: peer is address:port, no trailing LF");
	/* the counter moves after the sink took the record: wait for it */
	WAIT_FOR(stats(n, 0).records >= 3, 5000);
	net_listener_stats st = stats(n, 0);
	TAP_OK(st.records == 3 && st.drops == 0, "udp: stats count 3 records");

	/* a full sink drops datagrams and counts them */
	sink_set_capacity(0);
	for (int i = 0; i < 4; i++)
		run("logger -d -n 127.0.0.1 -P %d 'dropped %d'", port, i);
	WAIT_FOR(stats(n, 0).drops >= 4, 5000);
	st = stats(n, 0);
	TAP_OK(st.drops == 4 && st.records == 3, "udp: full sink: 4 drops counted (%llu)",
	       (unsigned long long)st.drops);
	net_stop(n);
	net_free(n);
}

static void test_tcp_logger(void)
{
	net_options o = { 0 };
	sink_reset(true, -1, false);
	net *n = start1(NET_TCP, &o);
	if (!n) {
		TAP_OK(0, "tcp: start");
		return;
	}
	int port = net_port(n, 0);
	FILE *f = fopen("/tmp/hisn-net-lines.txt", "w");
	for (int i = 0; i < 50; i++)
		fprintf(f, "tcp lf line %02d\n", i);
	fclose(f);
	int rc1 = run("logger -T -n 127.0.0.1 -P %d -t hisntest -f /tmp/hisn-net-lines.txt", port);
	int rc2 = run("logger -T --octet-count -n 127.0.0.1 -P %d -t hisntest 'octet counted one'",
		      port);
	int rc3 = run("logger -T --octet-count -n 127.0.0.1 -P %d -t hisntest "
		      "-f /tmp/hisn-net-lines.txt",
		      port);
	wait_count(101, 5000);
	TAP_OK(rc1 == 0 && count_with("tcp lf line") == 100 && count_with("octet counted one") == 1,
	       "tcp: logger --tcp 50 lines LF-framed, 51 octet-counted (got %zu, %zu)",
	       count_with("tcp lf line"), count_with("octet counted one"));
	(void)rc2;
	(void)rc3;
	unlink("/tmp/hisn-net-lines.txt");
	pthread_mutex_lock(&S.mu);
	bool clean = true;
	for (size_t i = 0; i < S.n; i++)
		clean &= S.r[i].data[0] == '<' && !memchr(S.r[i].data, '\n', S.r[i].len) &&
			 strncmp(S.r[i].peer, "127.0.0.1:", 10) == 0;
	pthread_mutex_unlock(&S.mu);
	TAP_OK(clean, "tcp: records start at the PRI, no framing left, peer set");
	WAIT_FOR(stats(n, 0).open == 0, 2000);
	net_listener_stats st = stats(n, 0);
	TAP_OK(st.connections == 3 && st.open == 0 && st.records == 101,
	       "tcp: stats: 3 connections, none open, 101 records");
	net_stop(n);
	net_free(n);
}

static void test_tcp_raw(void)
{
	net_options o = { .max_record = 100 };
	sink_reset(true, -1, false);
	net *n = start1(NET_TCP, &o);
	if (!n) {
		TAP_OK(0, "tcp raw: start");
		return;
	}
	static const char stream[] = "<13>alpha\n"
				     "24 <13>two\nlines in one msg"
				     "<13>gamma\r\n"
				     "<13>nul\0"
				     "11 <13>delta!!"
				     "<13>epsilon\n";
	static const size_t cuts[] = { 1, 4, 11, 13, 14, 30, 41, 42, 48, 50, 53, 55, 60, 64, 70 };
	int fd = tcp_connect(net_port(n, 0));
	size_t off = 0;
	for (size_t i = 0; i <= sizeof cuts / sizeof *cuts && fd >= 0; i++) {
		size_t end = i < sizeof cuts / sizeof *cuts ? cuts[i] : sizeof stream - 1;
		send_all(fd, stream + off, end - off);
		off = end;
		sleep_ms(3);
	}
	/* an over-long line then a short one */
	char big[400];
	memset(big, 'x', sizeof big);
	big[sizeof big - 1] = '\n';
	send_all(fd, big, sizeof big);
	send_all(fd, "<13>after big\n", 14);
	close(fd);
	wait_count(8, 5000);
	pthread_mutex_lock(&S.mu);
	const char *want[] = { "<13>alpha", "<13>two\nlines in one msg", "<13>gamma", "<13>nul",
			       "<13>delta!!", "<13>epsilon" };
	bool ok = S.n == 8;
	for (size_t i = 0; ok && i < 6; i++)
		ok = strcmp(S.r[i].data, want[i]) == 0;
	bool trunc = S.n == 8 && S.r[6].len == 100 && strcmp(S.r[7].data, "<13>after big") == 0;
	for (size_t i = 0; !(ok && trunc) && i < S.n; i++)
		printf("# record %zu: [%s]\n", i, S.r[i].data);
	pthread_mutex_unlock(&S.mu);
	TAP_OK(ok, "tcp raw: mixed framing split at awkward points, embedded LF kept whole");
	TAP_OK(trunc, "tcp raw: over-long record cut at max_record, next one intact");
	WAIT_FOR(stats(n, 0).open == 0, 2000);
	TAP_OK(stats(n, 0).truncated == 1 && stats(n, 0).records == 8,
	       "tcp raw: truncated counted once");
	net_stop(n);
	net_free(n);
}

static void test_max_conns(void)
{
	net_options o = { .max_conns = 2 };
	sink_reset(true, -1, false);
	net *n = start1(NET_TCP, &o);
	if (!n) {
		TAP_OK(0, "max_conns: start");
		return;
	}
	int port = net_port(n, 0);
	int a = tcp_connect(port), b = tcp_connect(port);
	WAIT_FOR(stats(n, 0).open == 2, 2000);
	int c = tcp_connect(port);
	char ch;
	struct timeval tv = { 2, 0 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t r = c >= 0 ? read(c, &ch, 1) : -1;
	WAIT_FOR(stats(n, 0).refused == 1, 2000);
	TAP_OK(r <= 0 && stats(n, 0).refused == 1 && stats(n, 0).open == 2,
	       "max_conns: a third connection is closed and counted as refused");
	send_all(a, "<13>still served\n", 17);
	wait_count(1, 3000);
	TAP_OK(count_with("still served") == 1, "max_conns: open connections still served");
	close(a);
	close(b);
	if (c >= 0)
		close(c);
	net_stop(n);
	net_free(n);
}

static void test_idle(void)
{
	net_options o = { .idle_timeout_s = 1 };
	sink_reset(true, -1, false);
	net *n = start1(NET_TCP, &o);
	if (!n)
		return;
	int fd = tcp_connect(net_port(n, 0));
	char ch;
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t r = read(fd, &ch, 1); /* returns 0 when the server closes */
	TAP_OK(r == 0, "idle: a silent connection is closed after idle_timeout");
	close(fd);
	net_stop(n);
	net_free(n);
}

/* ---- TLS ------------------------------------------------------------------------------- */
static char tmpdir[64];

static bool make_certs(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/hisn-net-XXXXXX");
	if (!mkdtemp(tmpdir))
		return false;
	return run("(cd %s && "
		   "printf 'cn = \"hisn test CA\"\\nca\\ncert_signing_key\\nexpiration_days = 2\\n' > ca.tmpl && "
		   "printf 'cn = \"localhost\"\\ndns_name = \"localhost\"\\nip_address = \"127.0.0.1\"\\n"
		   "tls_www_server\\nsigning_key\\nencryption_key\\nexpiration_days = 2\\n' > srv.tmpl && "
		   "printf 'cn = \"client-one\"\\ntls_www_client\\nsigning_key\\nexpiration_days = 2\\n' > cli.tmpl && "
		   "certtool --generate-privkey --key-type=ecdsa --outfile ca.key && "
		   "certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem && "
		   "certtool --generate-privkey --key-type=ecdsa --outfile srv.key && "
		   "certtool --generate-certificate --load-privkey srv.key --load-ca-certificate ca.pem "
		   "--load-ca-privkey ca.key --template srv.tmpl --outfile srv.pem && "
		   "certtool --generate-privkey --key-type=ecdsa --outfile cli.key && "
		   "certtool --generate-certificate --load-privkey cli.key --load-ca-certificate ca.pem "
		   "--load-ca-privkey ca.key --template cli.tmpl --outfile cli.pem"
		   ") >/dev/null 2>&1",
		   tmpdir) == 0;
}

static void cert_paths(net_options *o, bool require)
{
	static char cert[128], key[128], ca[128];
	snprintf(cert, sizeof cert, "%s/srv.pem", tmpdir);
	snprintf(key, sizeof key, "%s/srv.key", tmpdir);
	snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
	o->tls_cert = cert;
	o->tls_key = key;
	o->tls_ca = ca;
	o->tls_require_client_cert = require;
}

static int gnutls_send(int port, bool client_cert, const char *msgs)
{
	return run("printf '%s' | gnutls-cli --x509cafile %s/ca.pem %s%s%s%s%s -p %d 127.0.0.1 "
		   ">/dev/null 2>&1",
		   msgs, tmpdir, client_cert ? "--x509certfile " : "", client_cert ? tmpdir : "",
		   client_cert ? "/cli.pem --x509keyfile " : "", client_cert ? tmpdir : "",
		   client_cert ? "/cli.key" : "", port);
}

static void test_tls(bool have_certs)
{
	if (!have_certs) {
		TAP_OK(0, "tls: certtool made the certificates");
		return;
	}
	net_options o = { 0 };
	cert_paths(&o, false);
	sink_reset(true, -1, false);
	net *n = start1(NET_TLS, &o);
	TAP_OK(n != NULL, "tls: listener with cert, key and CA");
	if (!n)
		return;
	int port = net_port(n, 0);
	int rc = gnutls_send(port, true, "<13>tls with cert one\\n28 <13>tls octet\\nwith LF inside\\n");
	wait_count(2, 5000);
	pthread_mutex_lock(&S.mu);
	bool ok = rc == 0 && S.n == 2 && strcmp(S.r[0].data, "<13>tls with cert one") == 0 &&
		  S.r[0].has_pn && strcmp(S.r[0].peer_name, "client-one") == 0;
	bool oct = S.n == 2 && strncmp(S.r[1].data, "<13>tls octet\nwith LF inside", 28) == 0;
	pthread_mutex_unlock(&S.mu);
	TAP_OK(ok, "tls: gnutls-cli with a client certificate: record and peer_name CN");
	TAP_OK(oct, "tls: octet counting over TLS");
	rc = gnutls_send(port, false, "<13>tls without cert\\n");
	wait_count(3, 5000);
	pthread_mutex_lock(&S.mu);
	ok = rc == 0 && S.n == 3 && !S.r[2].has_pn && strcmp(S.r[2].data, "<13>tls without cert") == 0;
	pthread_mutex_unlock(&S.mu);
	TAP_OK(ok, "tls: a client without a certificate is served when none is required");
	/* plain TCP into the TLS port is an error, not a record */
	int fd = tcp_connect(port);
	send_all(fd, "<13>plain text\n", 15);
	close(fd);
	WAIT_FOR(stats(n, 0).errors >= 1, 3000);
	TAP_OK(stats(n, 0).errors >= 1 && sink_count() == 3, "tls: plain text is refused as an error");
	net_stop(n);
	net_free(n);

	cert_paths(&o, true);
	sink_reset(true, -1, false);
	n = start1(NET_TLS, &o);
	if (!n)
		return;
	port = net_port(n, 0);
	rc = gnutls_send(port, false, "<13>must not arrive\\n");
	WAIT_FOR(stats(n, 0).errors >= 1, 3000);
	sleep_ms(100);
	TAP_OK(sink_count() == 0 && stats(n, 0).errors >= 1,
	       "tls: without a client certificate refused when required (gnutls-cli rc %d)", rc);
	rc = gnutls_send(port, true, "<13>with cert arrives\\n");
	wait_count(1, 5000);
	TAP_OK(rc == 0 && count_with("with cert arrives") == 1,
	       "tls: with the client certificate accepted when required");
	net_stop(n);
	net_free(n);

	core_err err;
	net_options bad = { 0 };
	net_listener l = { NET_TLS, "127.0.0.1", "0" };
	bad.listeners = &l;
	bad.n_listeners = 1;
	bad.sink = (net_sink){ sink_submit, sink_submit_wait, NULL };
	n = NULL;
	TAP_OK(net_start(&bad, &n, &err) == CORE_EINVAL && !n && strstr(err.msg, "tls_cert"),
	       "tls: a TLS listener without a certificate is a configuration error");
}

/* ---- RELP --------------------------------------------------------------------------- */
/* rsyslogd without root: imuxsock on a socket of its own (logger -u feeds
 * it 300 lines of a file), forwarding to our listener with `action`, whose
 * @PORT@ is replaced by the port. Every message must arrive exactly once. */
static void rsyslog_case(const char *what, net_proto p, net_options *o, const char *global,
			 const char *action)
{
	sink_reset(true, -1, false);
	net *n = start1(p, o);
	if (!n) {
		TAP_OK(0, "%s: start", what);
		return;
	}
	char dir[64], path[128], act[1024];
	snprintf(dir, sizeof dir, "/tmp/hisn-rsyslog-XXXXXX");
	if (!mkdtemp(dir)) {
		net_free(n);
		return;
	}
	/* the action with @PORT@ replaced by the port */
	const char *at = strstr(action, "@PORT@");
	if (at)
		snprintf(act, sizeof act, "%.*s%d%s", (int)(at - action), action, net_port(n, 0),
			 at + 6);
	else
		snprintf(act, sizeof act, "%s", action);
	snprintf(path, sizeof path, "%s/rsyslog.conf", dir);
	FILE *f = fopen(path, "w");
	fprintf(f,
		"global(workDirectory=\"%s\" %s)\n"
		"module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
		"input(type=\"imuxsock\" Socket=\"%s/log.sock\" CreatePath=\"on\" RateLimit.Interval=\"0\")\n"
		"%s\n",
		dir, global, dir, act);
	fclose(f);
	snprintf(path, sizeof path, "%s/msgs.txt", dir);
	f = fopen(path, "w");
	for (int i = 0; i < 300; i++)
		fprintf(f, "rs-msg-%04d payload\n", i);
	fclose(f);
	int rc = run("rsyslogd -n -f %s/rsyslog.conf -i %s/rsyslogd.pid >%s/rsyslogd.log 2>&1 &", dir,
		     dir, dir);
	char sock[128];
	struct stat sb;
	snprintf(sock, sizeof sock, "%s/log.sock", dir);
	WAIT_FOR(stat(sock, &sb) == 0, 5000);
	int lrc = run("logger -u %s/log.sock -t hisnrs -f %s/msgs.txt", dir, dir);
	bool got = wait_count(300, 15000);
	run("kill $(cat %s/rsyslogd.pid) 2>/dev/null", dir);
	sleep_ms(200);
	bool once = true;
	char key[32];
	for (int i = 0; i < 300 && once; i++) {
		snprintf(key, sizeof key, "rs-msg-%04d ", i);
		once = count_with(key) == 1;
	}
	TAP_OK(rc == 0 && lrc == 0 && got && once && sink_count() == 300,
	       "%s: 300 messages from rsyslogd arrive exactly once (%llu)", what,
	       (unsigned long long)sink_count());
	if (!(got && once))
		run("cat %s/rsyslogd.log | sed 's/^/# /'", dir);
	pthread_mutex_lock(&S.mu);
	bool peer = S.n > 0 && strncmp(S.r[0].peer, "127.0.0.1", 9) == 0 &&
		    strncmp(S.r[0].data, "<13>", 4) == 0 &&
		    (p != NET_TLS || (S.r[0].has_pn && strcmp(S.r[0].peer_name, "client-one") == 0));
	pthread_mutex_unlock(&S.mu);
	TAP_OK(peer && stats(n, 0).records == 300, "%s: records, peer%s and stats", what,
	       p == NET_TLS ? ", client CN" : "");
	net_stop(n);
	net_free(n);
	run("rm -rf %s", dir);
}

static void test_rsyslog(bool have_certs)
{
	net_options o = { 0 };
	rsyslog_case("rsyslog omrelp", NET_RELP, &o, "",
		     "module(load=\"omrelp\")\n"
		     "action(type=\"omrelp\" target=\"127.0.0.1\" port=\"@PORT@\")");
	memset(&o, 0, sizeof o);
	rsyslog_case("rsyslog omfwd tcp octet-counted", NET_TCP, &o, "",
		     "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"@PORT@\" protocol=\"tcp\" "
		     "TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\")");
	memset(&o, 0, sizeof o);
	rsyslog_case("rsyslog omfwd tcp LF", NET_TCP, &o, "",
		     "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"@PORT@\" protocol=\"tcp\")");
	if (!have_certs)
		return;
	char global[512];
	memset(&o, 0, sizeof o);
	cert_paths(&o, true);
	snprintf(global, sizeof global,
		 "DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"%s/ca.pem\" "
		 "DefaultNetstreamDriverCertFile=\"%s/cli.pem\" "
		 "DefaultNetstreamDriverKeyFile=\"%s/cli.key\"",
		 tmpdir, tmpdir, tmpdir);
	rsyslog_case("rsyslog omfwd tls", NET_TLS, &o, global,
		     "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"@PORT@\" protocol=\"tcp\" "
		     "StreamDriver=\"gtls\" StreamDriverMode=\"1\" "
		     "StreamDriverAuthMode=\"x509/name\" StreamDriverPermittedPeers=\"localhost\" "
		     "TCP_Framing=\"octet-counted\")");
}

typedef struct relp_client {
	int port;
	int nmsg;
	bool tls, cert;
	int sent;
	relpRetVal err;
} relp_client;

/* Sends c->nmsg messages with librelp's client (TLS when asked). */
static void *relp_send(void *arg)
{
	relp_client *c = arg;
	relpEngine_t *eng = NULL;
	relpClt_t *clt = NULL;
	char port[16], msg[64], ca[128], cert[128], key[128];
	relpRetVal r;

	snprintf(port, sizeof port, "%d", c->port);
	snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
	snprintf(cert, sizeof cert, "%s/cli.pem", tmpdir);
	snprintf(key, sizeof key, "%s/cli.key", tmpdir);
	if ((r = relpEngineConstruct(&eng)) || (r = relpEngineSetDbgprint(eng, NULL)) ||
	    (r = relpEngineSetEnableCmd(eng, (unsigned char *)"syslog", eRelpCmdState_Required)) ||
	    (r = relpEngineCltConstruct(eng, &clt)))
		goto out;
	if (c->tls && ((r = relpCltEnableTLS(clt)) || (r = relpCltSetCACert(clt, ca)) ||
		       (r = relpCltSetAuthMode(clt, (char *)"certvalid"))))
		goto out;
	if (c->cert && ((r = relpCltSetOwnCert(clt, cert)) || (r = relpCltSetPrivKey(clt, key))))
		goto out;
	if ((r = relpCltConnect(clt, AF_INET, (unsigned char *)port, (unsigned char *)"127.0.0.1")))
		goto out;
	for (int i = 0; i < c->nmsg; i++) {
		int len = snprintf(msg, sizeof msg, "<13>relp-tls-%04d", i);
		if ((r = relpCltSendSyslog(clt, (unsigned char *)msg, (size_t)len)))
			goto out;
		c->sent++;
	}
out:
	c->err = r;
	if (clt)
		relpEngineCltDestruct(eng, &clt); /* waits for the last acknowledgements */
	if (eng)
		relpEngineDestruct(&eng);
	return NULL;
}

static void test_relp_tls(bool have_certs)
{
	if (!have_certs)
		return;
	net_options o = { .relp_tls = true };
	cert_paths(&o, true);
	sink_reset(true, -1, false);
	net *n = start1(NET_RELP, &o);
	TAP_OK(n != NULL, "relp tls: listener");
	if (!n)
		return;
	relp_client c = { .port = net_port(n, 0), .nmsg = 200, .tls = true, .cert = true };
	relp_send(&c);
	wait_count(200, 10000);
	bool once = true;
	char key[32];
	for (int i = 0; i < 200 && once; i++) {
		snprintf(key, sizeof key, "relp-tls-%04d", i);
		once = count_with(key) == 1;
	}
	TAP_OK(c.err == 0 && c.sent == 200 && once && sink_count() == 200,
	       "relp tls: 200 messages from librelp's client with a certificate (err %d)",
	       (int)c.err);

	/* backpressure: the callback waits; nothing is acknowledged before it is taken */
	sink_reset(true, 0, false);
	relp_client d = { .port = net_port(n, 0), .nmsg = 50, .tls = true, .cert = true };
	pthread_t th;
	pthread_create(&th, NULL, relp_send, &d);
	sleep_ms(300);
	uint64_t during = sink_count();
	sink_set_capacity(-1);
	pthread_join(th, NULL);
	wait_count(50, 5000);
	TAP_OK(during == 0 && d.err == 0 && sink_count() == 50,
	       "relp tls: a full sink holds the sender; all 50 arrive after room is made");

	/* without a client certificate: nothing accepted */
	sink_reset(true, -1, false);
	relp_client e = { .port = net_port(n, 0), .nmsg = 5, .tls = true, .cert = false };
	relp_send(&e);
	sleep_ms(100);
	TAP_OK(sink_count() == 0 && e.sent < 5, "relp tls: a client without a certificate is refused");
	net_stop(n);
	net_free(n);
}

/* ---- backpressure ------------------------------------------------------------------------ */
typedef struct writer {
	int fd;
	const char *buf;
	size_t len;
	atomic_bool done;
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;
	send_all(w->fd, w->buf, w->len);
	atomic_store(&w->done, true);
	return NULL;
}

static void test_backpressure(void)
{
	enum { N = 400000 };
	net_options o = { 0 };
	size_t cap = (size_t)N * 40, len = 0;
	char *buf = malloc(cap);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, cap - len, "seq %d <13>backpressure test line\n", i);

	sink_reset(false, 1000, true);
	net *n = start1(NET_TCP, &o);
	if (!n) {
		free(buf);
		return;
	}
	writer w = { .fd = tcp_connect(net_port(n, 0)), .buf = buf, .len = len };
	pthread_t th;
	pthread_create(&th, NULL, writer_main, &w);
	WAIT_FOR(stats(n, 0).paused == 1, 5000);
	sleep_ms(300);
	net_listener_stats st = stats(n, 0);
	bool blocked = !atomic_load(&w.done);
	TAP_OK(st.paused == 1 && sink_count() == 1000 && blocked,
	       "backpressure: full sink pauses the connection, the sender is blocked "
	       "(paused %u, %llu records, %zu bytes to send)",
	       st.paused, (unsigned long long)sink_count(), len);
	/* room for a while, then full again, then open */
	sink_set_capacity(5000);
	net_resume(n);
	WAIT_FOR(sink_count() == 6000 && stats(n, 0).paused == 1, 5000);
	TAP_OK(sink_count() == 6000 && stats(n, 0).paused == 1,
	       "backpressure: resumed, filled again after 5000 more");
	sink_set_capacity(-1);
	net_resume(n);
	pthread_join(th, NULL);
	close(w.fd);
	wait_count(N, 20000);
	WAIT_FOR(stats(n, 0).open == 0, 5000);
	st = stats(n, 0);
	pthread_mutex_lock(&S.mu);
	bool seq = !S.seq_bad && S.next_seq == N;
	uint64_t fulls = S.fulls;
	pthread_mutex_unlock(&S.mu);
	TAP_OK(seq && st.records == N && st.drops == 0 && st.paused == 0,
	       "backpressure: all %d records in order after net_resume, none lost "
	       "(%llu refusals retried)",
	       N, (unsigned long long)fulls);
	net_stop(n);
	net_free(n);
	free(buf);
}

typedef struct stopper {
	net *n;
	atomic_bool done;
} stopper;

static void *stop_main(void *arg)
{
	stopper *s = arg;
	net_stop(s->n);
	atomic_store(&s->done, true);
	return NULL;
}

static void test_stop_in_flight(void)
{
	net_options o = { 0 };
	char buf[4096];
	size_t len = 0;
	for (int i = 0; i < 60; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "seq %d <13>in flight\n", i);
	len += (size_t)snprintf(buf + len, sizeof buf - len, "seq 60 <13>last line, no LF");

	sink_reset(false, 10, true);
	net *n = start1(NET_TCP, &o);
	if (!n)
		return;
	int fd = tcp_connect(net_port(n, 0));
	send_all(fd, buf, len);
	WAIT_FOR(stats(n, 0).paused == 1, 5000);
	stopper s = { .n = n };
	pthread_t th;
	pthread_create(&th, NULL, stop_main, &s);
	sleep_ms(200);
	bool waiting = !atomic_load(&s.done) && sink_count() == 10;
	sink_set_capacity(-1); /* net_stop retries while the sink is full */
	pthread_join(th, NULL);
	pthread_mutex_lock(&S.mu);
	bool seq = !S.seq_bad && S.next_seq == 61;
	pthread_mutex_unlock(&S.mu);
	TAP_OK(waiting && seq && stats(n, 0).records == 61,
	       "stop: net_stop waits for the sink and delivers all 61 framed records (%llu)",
	       (unsigned long long)sink_count());
	close(fd);
	net_free(n);

	/* a port in use: the error names the listener */
	core_err err;
	net_options o1 = { 0 };
	net *a = start1(NET_TCP, &o1), *m = NULL;
	char port[16];
	snprintf(port, sizeof port, "%d", a ? net_port(a, 0) : 1);
	net_listener l2[2] = { { NET_UDP, "127.0.0.1", "0" }, { NET_TCP, "127.0.0.1", port } };
	net_options o2 = { .listeners = l2, .n_listeners = 2,
			   .sink = { sink_submit, sink_submit_wait, NULL } };
	char want[64];
	snprintf(want, sizeof want, "tcp://127.0.0.1:%s: ", port);
	int rc = net_start(&o2, &m, &err);
	TAP_OK(rc == CORE_EIO && !m && strstr(err.msg, want) != NULL,
	       "start: a bind error names the listener: %s", rc ? err.msg : "(bound)");
	if (m) {
		net_stop(m);
		net_free(m);
	}
	net_stop(a);
	net_free(a);
}

/* Under the sanitizers: librelp 1.11 leaks the GnuTLS session (and its
 * credentials) of every RELP-over-TLS handshake that fails, on both sides
 * (the test of a client without a certificate shows it). Full stacks so that
 * only leaks through librelp are suppressed. */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}
const char *__lsan_default_suppressions(void)
{
	return "leak:librelp.so\n";
}

static bool want_test(int argc, char **argv, const char *name)
{
	return argc < 2 || strstr(argv[1], name) != NULL;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (want_test(argc, argv, "framer"))
		test_framer();
	if (want_test(argc, argv, "url"))
		test_url();
	if (want_test(argc, argv, "udp"))
		test_udp();
	if (want_test(argc, argv, "tcp_logger"))
		test_tcp_logger();
	if (want_test(argc, argv, "tcp_raw"))
		test_tcp_raw();
	if (want_test(argc, argv, "max_conns"))
		test_max_conns();
	if (want_test(argc, argv, "idle"))
		test_idle();
	bool certs = (want_test(argc, argv, "tls") || want_test(argc, argv, "rsyslog")) &&
		     make_certs();
	if (want_test(argc, argv, "tls"))
		test_tls(certs);
	if (want_test(argc, argv, "rsyslog"))
		test_rsyslog(certs);
	if (want_test(argc, argv, "relp_tls"))
		test_relp_tls(certs);
	if (want_test(argc, argv, "backpressure"))
		test_backpressure();
	if (want_test(argc, argv, "stop_in_flight"))
		test_stop_in_flight();
	if (tmpdir[0])
		run("rm -rf %s", tmpdir);
	sink_reset(false, -1, false);
	free(S.r);
	return tap_done();
}
