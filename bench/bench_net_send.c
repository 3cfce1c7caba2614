/* bench_net_send.c: a syslog load generator for hisn server, and a
 * counting receiver to measure src/net alone.
 *
 *   bench_net_send tcp|udp|relp HOST PORT FILE [--rate N] [--seconds S]
 *                  [--count N] [--octet]
 *     sends the lines of FILE (looping) as fast as possible, or N per second,
 *     for S seconds (default 10) or N messages; prints the count sent (RELP:
 *     acknowledged), the seconds and events/s.
 *   bench_net_send recv tcp|udp|relp HOST PORT [--seconds S]
 *     runs src/net with a sink that only counts and prints events/s each
 *     second, then the total. */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "slurp.h"

#include <librelp.h>

typedef struct bopts {
	const char *proto, *host, *port, *file;
	double rate, seconds;
	uint64_t count;
	bool octet;
} bopts;

typedef struct line {
	const char *p;
	size_t n;
} line;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - now_s();
	if (d <= 0)
		return;
	struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
	nanosleep(&ts, NULL);
}

/* The non-empty lines of buf (borrowed), in a malloc'd array. */
static line *split_lines(char *buf, size_t len, size_t *n)
{
	line *v = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t i = 0; i < len;) {
		char *e = memchr(buf + i, '\n', len - i);
		size_t k = e ? (size_t)(e - (buf + i)) : len - i;
		if (k && buf[i + k - 1] == '\r')
			k--;
		if (k && core_grow((void **)&v, &cap, *n, sizeof *v, 1024) == 0)
			v[(*n)++] = (line){ buf + i, k };
		i += (e ? (size_t)(e - (buf + i)) : len - i) + 1;
	}
	return v;
}

static int connect_to(const bopts *o, int socktype)
{
	struct addrinfo hints = { .ai_socktype = socktype }, *ai = NULL;
	int fd = -1;
	if (getaddrinfo(o->host, o->port, &hints, &ai) || !ai) {
		fprintf(stderr, "bench_net_send: cannot resolve %s:%s\n", o->host, o->port);
		return -1;
	}
	fd = socket(ai->ai_family, socktype, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		fprintf(stderr, "bench_net_send: connect %s:%s: %s\n", o->host, o->port,
			strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* How many messages may go now: all when there is no rate, else the ones
 * due by the clock (waiting for the next one when none is). */
static uint64_t budget(const bopts *o, double t0, uint64_t sent, uint64_t want)
{
	if (o->rate <= 0)
		return want;
	for (;;) {
		double due = (now_s() - t0) * o->rate;
		if (due > (double)sent)
			return (uint64_t)due - sent < want ? (uint64_t)due - sent + 1 : want;
		sleep_until(t0 + (double)(sent + 1) / o->rate);
	}
}

static bool done(const bopts *o, double t0, uint64_t sent)
{
	return (o->count && sent >= o->count) || (!o->count && now_s() - t0 >= o->seconds);
}

static uint64_t send_tcp(const bopts *o, const line *v, size_t nl)
{
	int fd = connect_to(o, SOCK_STREAM);
	char *buf = malloc(1 << 20);
	uint64_t sent = 0;
	size_t li = 0;
	double t0 = now_s();

	if (fd < 0 || !buf)
		goto out;
	while (!done(o, t0, sent)) {
		uint64_t k = budget(o, t0, sent, 4096), m = 0;
		size_t len = 0;
		for (; m < k && (!o->count || sent + m < o->count); m++) {
			const line *l = &v[li];
			if (len + l->n + 24 > (1 << 20))
				break;
			if (o->octet)
				len += (size_t)snprintf(buf + len, 24, "%zu ", l->n);
			memcpy(buf + len, l->p, l->n);
			len += l->n;
			if (!o->octet)
				buf[len++] = '\n';
			li = li + 1 == nl ? 0 : li + 1;
		}
		for (size_t off = 0; off < len;) {
			ssize_t w = write(fd, buf + off, len - off);
			if (w <= 0) {
				fprintf(stderr, "bench_net_send: write: %s\n", strerror(errno));
				goto out;
			}
			off += (size_t)w;
		}
		sent += m;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return sent;
}

static uint64_t send_udp(const bopts *o, const line *v, size_t nl)
{
	enum { B = 64 };
	int fd = connect_to(o, SOCK_DGRAM);
	struct mmsghdr mm[B];
	struct iovec iov[B];
	uint64_t sent = 0;
	size_t li = 0;
	double t0 = now_s();

	if (fd < 0)
		return 0;
	while (!done(o, t0, sent)) {
		uint64_t k = budget(o, t0, sent, B);
		unsigned m = 0;
		for (; m < k && (!o->count || sent + m < o->count); m++) {
			iov[m] = (struct iovec){ (void *)v[li].p, v[li].n };
			mm[m] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[m], .msg_iovlen = 1 } };
			li = li + 1 == nl ? 0 : li + 1;
		}
		int r = sendmmsg(fd, mm, m, 0);
		if (r < 0) {
			if (errno == ECONNREFUSED)
				continue; /* nobody listening yet: an ICMP error, keep going */
			fprintf(stderr, "bench_net_send: sendmmsg: %s\n", strerror(errno));
			break;
		}
		sent += (unsigned)r;
	}
	close(fd);
	return sent;
}

/* RELP with librelp's client: relpCltSendSyslog waits while the window of
 * unacknowledged messages is full; destructing the client closes the session
 * after the last acknowledgement, so what was sent then is acknowledged. */
static uint64_t send_relp(const bopts *o, const line *v, size_t nl, bool *acked)
{
	relpEngine_t *eng = NULL;
	relpClt_t *clt = NULL;
	uint64_t sent = 0;
	size_t li = 0;
	double t0;

	*acked = false;
	if (relpEngineConstruct(&eng) || relpEngineSetDbgprint(eng, NULL) ||
	    relpEngineSetEnableCmd(eng, (unsigned char *)"syslog", eRelpCmdState_Required) ||
	    relpEngineCltConstruct(eng, &clt) ||
	    relpCltConnect(clt, 0, (unsigned char *)o->port, (unsigned char *)o->host)) {
		fprintf(stderr, "bench_net_send: relp: cannot connect to %s:%s\n", o->host, o->port);
		goto out;
	}
	t0 = now_s();
	while (!done(o, t0, sent)) {
		uint64_t k = budget(o, t0, sent, 256);
		for (uint64_t m = 0; m < k && (!o->count || sent < o->count); m++) {
			if (relpCltSendSyslog(clt, (unsigned char *)v[li].p, v[li].n)) {
				fprintf(stderr, "bench_net_send: relp: send failed after %llu\n",
					(unsigned long long)sent);
				goto out;
			}
			sent++;
			li = li + 1 == nl ? 0 : li + 1;
		}
	}
	*acked = true;
out:
	if (clt && relpEngineCltDestruct(eng, &clt))
		*acked = false;
	if (eng)
		relpEngineDestruct(&eng);
	return sent;
}

/* ---- receiver ------------------------------------------------------------------ */
static atomic_uint_fast64_t recv_count;

static int count_submit(void *ud, const net_record *r)
{
	(void)ud;
	(void)r;
	atomic_fetch_add_explicit(&recv_count, 1, memory_order_relaxed);
	return 0;
}

static int run_recv(const bopts *o)
{
	net_proto p = strcmp(o->proto, "udp") == 0 ? NET_UDP
		      : strcmp(o->proto, "relp") == 0 ? NET_RELP : NET_TCP;
	net_listener l = { p, o->host, o->port };
	net_options no = { .listeners = &l, .n_listeners = 1,
			   .sink = { count_submit, count_submit, NULL } };
	core_err err;
	net *n = NULL;
	uint64_t last = 0, first_t = 0;
	double t_first = 0, t_last = 0;

	if (net_start(&no, &n, &err)) {
		fprintf(stderr, "bench_net_send: %s\n", err.msg);
		return 1;
	}
	fprintf(stderr, "listening on %s://%s:%d\n", o->proto, o->host, net_port(n, 0));
	for (int s = 0; s < (int)o->seconds; s++) {
		sleep_until(now_s() + 1);
		uint64_t c = atomic_load(&recv_count);
		if (c && !first_t) {
			first_t = c;
			t_first = now_s();
		}
		if (c != last)
			t_last = now_s();
		printf("%d s: %llu events (%llu/s)\n", s + 1, (unsigned long long)c,
		       (unsigned long long)(c - last));
		fflush(stdout);
		last = c;
	}
	net_stop(n);
	net_listener_stats st;
	net_get_stats(n, 0, &st);
	net_free(n);
	printf("received %llu events, %llu bytes, %llu dropped, %llu truncated",
	       (unsigned long long)st.records, (unsigned long long)st.bytes,
	       (unsigned long long)st.drops, (unsigned long long)st.truncated);
	if (t_last > t_first)
		printf("; %.0f events/s while busy", (double)(last - first_t) / (t_last - t_first));
	printf("\n");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_net_send tcp|udp|relp HOST PORT FILE [--rate N] "
			"[--seconds S] [--count N] [--octet]\n"
			"       bench_net_send recv tcp|udp|relp HOST PORT [--seconds S]\n");
	return 2;
}

static int parse_args(int argc, char **argv, bopts *o, bool *recv)
{
	int i = 1;
	*recv = argc > 1 && strcmp(argv[1], "recv") == 0;
	if (*recv)
		i++;
	if (argc < i + (*recv ? 3 : 4))
		return -1;
	o->proto = argv[i++];
	o->host = argv[i++];
	o->port = argv[i++];
	if (!*recv)
		o->file = argv[i++];
	o->seconds = 10;
	for (; i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "--octet") == 0) {
			o->octet = true;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		double v = strtod(argv[i + 1], &end);
		if (!end || *end || v < 0)
			return -1;
		if (strcmp(argv[i], "--rate") == 0)
			o->rate = v;
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = v;
		else if (strcmp(argv[i], "--count") == 0)
			o->count = (uint64_t)v;
		else
			return -1;
		i++;
	}
	if (strcmp(o->proto, "tcp") && strcmp(o->proto, "udp") && strcmp(o->proto, "relp"))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	bopts o = { 0 };
	bool recv, acked = true;
	size_t len = 0, nl = 0;
	char *buf = NULL;
	line *v = NULL;
	uint64_t sent;
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &o, &recv))
		return usage();
	if (recv)
		return run_recv(&o);
	buf = bench_slurp("bench_net_send", o.file, &len);
	if (!buf)
		return 1;
	v = split_lines(buf, len, &nl);
	if (!nl) {
		fprintf(stderr, "bench_net_send: %s: no lines\n", o.file);
		goto out;
	}
	double t0 = now_s();
	if (strcmp(o.proto, "tcp") == 0)
		sent = send_tcp(&o, v, nl);
	else if (strcmp(o.proto, "udp") == 0)
		sent = send_udp(&o, v, nl);
	else
		sent = send_relp(&o, v, nl, &acked);
	double dt = now_s() - t0;
	printf("%s %llu messages in %.2f s: %.0f events/s\n",
	       strcmp(o.proto, "relp") == 0 && acked ? "acked" : "sent",
	       (unsigned long long)sent, dt, dt > 0 ? (double)sent / dt : 0.0);
	rc = sent ? 0 : 1;
out:
	free(v);
	free(buf);
	return rc;
}
