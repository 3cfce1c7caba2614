/* bench_store.c: the SQLite store's ingest and query speed. Inserts N
 * synthetic syslog-like events (sshd, sudo, cron, nginx, kernel firewall,
 * postfix; 2,000 hosts, 5,000 users, random addresses; ~300-byte normalized
 * JSON plus the raw line; receive times spread over three days) in batches of
 * 1000 and prints events/s, µs/event and the disk size; then times typical
 * queries, best of 5, in ms.
 *   bench_store DIR N [BATCH]  (N = 0: only the queries, on a DIR filled
 *                               before; BATCH events per commit, 1000, at
 *                               most 20000 as the server's writer) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <yyjson.h>

#include "store/store.h"

#define SEC INT64_C(1000000000)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned r(unsigned n)
{
	return (unsigned)(rnd() % n);
}

typedef struct gen {
	char host[24], user[24], src[24], dst[24], prog[16], action[24], outcome[16], code[8];
	char msg[256], raw[400], json[1024];
	size_t msg_len, raw_len, json_len;
	int pid;
} gen;


static void ip(char *out, size_t n, bool internal)
{
	if (internal)
		snprintf(out, n, "10.%u.%u.%u", r(4), r(256), 1 + r(254));
	else
		snprintf(out, n, "%u.%u.%u.%u", 11 + r(200), r(256), r(256), 1 + r(254));
}

static void make(gen *g, uint64_t i, int64_t ts)
{
	unsigned kind = r(100), port = 1024 + r(60000);
	const char *prog;

	snprintf(g->host, sizeof g->host, "srv-%04u", r(2000));
	snprintf(g->user, sizeof g->user, "user%04u", r(5000));
	ip(g->src, sizeof g->src, r(3) == 0);
	ip(g->dst, sizeof g->dst, true);
	g->pid = 300 + (int)r(30000);
	snprintf(g->code, sizeof g->code, "%u", 100 + r(50));
	snprintf(g->outcome, sizeof g->outcome, "success");
	if (i % 1000003 == 17) {
		prog = "kernel";
		snprintf(g->action, sizeof g->action, "crash");
		snprintf(g->msg, sizeof g->msg, "segfault at deadbeef ip 00007f3a sp 00007ffd error 4 in "
			 "libcrypto.so.3");
	} else if (kind < 30) {
		prog = "sshd";
		bool ok = r(4) == 0;
		snprintf(g->action, sizeof g->action, "ssh_login");
		snprintf(g->outcome, sizeof g->outcome, ok ? "success" : "failure");
		if (ok)
			snprintf(g->msg, sizeof g->msg, "Accepted publickey for %s from %s port %u ssh2: "
				 "RSA SHA256:%08x", g->user, g->src, port, (unsigned)rnd());
		else
			snprintf(g->msg, sizeof g->msg, "Failed password for %s%s from %s port %u ssh2",
				 r(3) ? "" : "invalid user ", g->user, g->src, port);
	} else if (kind < 40) {
		prog = "sudo";
		snprintf(g->action, sizeof g->action, "sudo");
		snprintf(g->msg, sizeof g->msg, "%s : TTY=pts/%u ; PWD=/home/%s ; USER=root ; "
			 "COMMAND=/usr/bin/systemctl restart svc%u", g->user, r(8), g->user, r(40));
	} else if (kind < 55) {
		prog = "CRON";
		snprintf(g->action, sizeof g->action, "cron_exec");
		snprintf(g->msg, sizeof g->msg, "(%s) CMD (/usr/local/bin/backup.sh --target vol%u)",
			 g->user, r(20));
	} else if (kind < 80) {
		prog = "nginx";
		snprintf(g->action, sizeof g->action, "http_request");
		snprintf(g->msg, sizeof g->msg, "%s - - \"GET /api/v1/items/%u HTTP/1.1\" %u %u",
			 g->src, r(100000), r(10) ? 200 : 404, r(50000));
	} else if (kind < 95) {
		prog = "kernel";
		snprintf(g->action, sizeof g->action, "firewall_block");
		snprintf(g->msg, sizeof g->msg, "UFW BLOCK IN=eth0 OUT= SRC=%s DST=%s PROTO=TCP "
			 "SPT=%u DPT=%u", g->src, g->dst, port, r(3) ? 22 : 3389);
	} else {
		prog = "postfix/smtpd";
		snprintf(g->action, sizeof g->action, "smtp_connect");
		snprintf(g->msg, sizeof g->msg, "connect from unknown[%s]", g->src);
	}
	snprintf(g->prog, sizeof g->prog, "%s", prog);
	g->msg_len = strlen(g->msg);
	char t[40];
	core_time_format(ts, t);
	g->raw_len = (size_t)snprintf(g->raw, sizeof g->raw, "<38>1 %s %s %s %d - - %s", t, g->host,
				      prog, g->pid, g->msg);
	core_buf b = {.data = g->json, .cap = sizeof g->json, .max = sizeof g->json - 1};
	core_buf_printf(&b,
			"{\"@timestamp\":\"%s\",\"host\":{\"name\":\"%s\"},\"process\":{\"name\":"
			"\"%s\",\"pid\":%d},\"user\":{\"name\":\"%s\"},\"source\":{\"ip\":\"%s\","
			"\"port\":%u},\"destination\":{\"ip\":\"%s\"},\"event\":{\"action\":\"%s\","
			"\"outcome\":\"%s\",\"code\":\"%s\"},\"message\":\"",
			t, g->host, prog, g->pid, g->user, g->src, port, g->dst, g->action,
			g->outcome, g->code);
	for (size_t k = 0; k < g->msg_len; k++) {
		if (g->msg[k] == '"')
			core_buf_addc(&b, '\\');
		core_buf_addc(&b, g->msg[k]);
	}
	core_buf_printf(&b, "\"}");
	g->json_len = b.len;
}

static uint64_t du(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat sb;
	uint64_t n = 0;
	char p[4096];

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (lstat(p, &sb))
			continue;
		n += S_ISDIR(sb.st_mode) ? du(p) : (uint64_t)sb.st_blocks * 512;
	}
	closedir(d);
	return n;
}

enum { BATCH_MAX = 20000 };

/* CPU seconds of the process (every thread: the writer and the checkpoints). */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The first batch read back: each event's raw record is the one given (the
 * store keeps syslog records compact, header + message found in the JSON). */
static int check_raw(store *s, const gen *g, const int64_t *ids, size_t k)
{
	core_buf b;
	core_err err;
	size_t bad = 0;

	core_buf_init(&b, 0);
	for (size_t i = 0; i < k && i < 1000; i++) {
		b.len = 0;
		if (store_get_event(s, 1, ids[i], &b, &err)) {
			fprintf(stderr, "bench_store: get event: %s\n", err.msg);
			bad++;
			continue;
		}
		yyjson_doc *d = yyjson_read(b.data, b.len, 0);
		const char *raw = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), "raw"));
		bad += !raw || strcmp(raw, g[i].raw) != 0;
		yyjson_doc_free(d);
	}
	core_buf_free(&b);
	if (bad)
		fprintf(stderr, "bench_store: %zu raw records read back differ\n", bad);
	return bad != 0;
}

static int insert(store *s, uint64_t n, int64_t base, size_t batch)
{
	static gen g[BATCH_MAX];
	static store_event ev[BATCH_MAX];
	static int64_t ids[BATCH_MAX];
	core_err err;
	int64_t span = 3 * DAY - HOUR, t0 = core_time_now(), in_store = 0;
	double cpu_store = 0;

	for (uint64_t i = 0; i < n;) {
		size_t k = 0;
		for (; k < batch && i < n; k++, i++) {
			int64_t rcv = base + (int64_t)((double)i / (double)n * (double)span);
			int64_t ts = rcv - (int64_t)r(5000) * 1000000; /* up to 5 s late */
			make(&g[k], i, ts);
			ev[k] = (store_event){.tenant = 1, .ts = ts, .received = rcv, .input = "syslog-tcp",
					      .format = "syslog", .raw = g[k].raw, .raw_len = g[k].raw_len,
					      .json = g[k].json, .json_len = g[k].json_len,
					      .message = g[k].msg, .message_len = g[k].msg_len,
					      .host = g[k].host, .user = g[k].user, .src_ip = g[k].src,
					      .dst_ip = g[k].dst, .action = g[k].action,
					      .outcome = g[k].outcome, .program = g[k].prog,
					      .code = g[k].code};
		}
		int64_t t1 = core_time_now();
		double c1 = cpu_s();
		if (store_begin(s, &err) || store_add_events(s, ev, k, ids, &err) ||
		    store_commit(s, &err)) {
			fprintf(stderr, "bench_store: %s\n", err.msg);
			return 1;
		}
		in_store += core_time_now() - t1;
		cpu_store += cpu_s() - c1;
		if (i == k && check_raw(s, g, ids, k))
			return 1;
	}
	double secs = (double)in_store / 1e9, all = (double)(core_time_now() - t0) / 1e9;
	printf("insert: %llu events, %.1f s in the store (%.1f s with generation): %.0f events/s, "
	       "%.2f us/event (batches of %zu); CPU in the store (all threads, the checkpoints "
	       "included, as far as they ran during the store calls) %.2f us/event\n",
	       (unsigned long long)n, secs, all, (double)n / secs, secs * 1e6 / (double)n, batch,
	       cpu_store * 1e6 / (double)n);
	return 0;
}

/* Best of 5 of q, in ms; *hits gets the page size; *cur the next cursor. */
static double timeq(store *s, const store_event_query *q, size_t *hits, char *cur, size_t cn)
{
	core_buf b;
	core_err err;
	double best = 1e9;

	core_buf_init(&b, 0);
	for (int k = 0; k < 5; k++) {
		b.len = 0;
		int64_t t0 = core_time_now();
		if (store_search_events(s, q, &b, &err)) {
			fprintf(stderr, "bench_store: query: %s\n", err.msg);
			break;
		}
		double ms = (double)(core_time_now() - t0) / 1e6;
		if (ms < best)
			best = ms;
	}
	*hits = 0;
	for (const char *p = b.data; p && (p = strstr(p, "{\"id\":")); p++)
		(*hits)++;
	const char *c = b.data ? strstr(b.data, "\"next_cursor\":\"") : NULL;
	if (cur && cn) {
		*cur = 0;
		if (c) {
			c += 15;
			const char *e = strchr(c, '"');
			if (e && (size_t)(e - c) < cn) {
				memcpy(cur, c, (size_t)(e - c));
				cur[e - c] = 0;
			}
		}
	}
	core_buf_free(&b);
	return best;
}

static void queries(store *s, int64_t base)
{
	int64_t mid = base + DAY + 13 * HOUR; /* yesterday 13:00: a full partition */
	char cur[64];
	size_t hits;
	store_filter host = {"host", "srv-0042"}, user = {"user", "user0042"};
	store_filter path = {"process.pid", "4242"}, prog = {"program", "sshd"};
	struct {
		const char *name;
		store_event_query q;
	} t[] = {
		{"newest 100, no filter", {.tenant = 1}},
		{"time range 1 h", {.tenant = 1, .from = mid - HOUR, .to = mid}},
		{"host filter + 1 h", {.tenant = 1, .from = mid - HOUR, .to = mid, .filters = &host, .n_filters = 1}},
		{"user filter + 1 day", {.tenant = 1, .from = mid - DAY, .to = mid, .filters = &user, .n_filters = 1}},
		{"program (frequent) + 1 h", {.tenant = 1, .from = mid - HOUR, .to = mid, .filters = &prog, .n_filters = 1}},
		{"full text 'Failed' + 1 h", {.tenant = 1, .from = mid - HOUR, .to = mid, .text = "Failed"}},
		{"full text 'user0042' + 1 day", {.tenant = 1, .from = mid - DAY, .to = mid, .text = "user0042"}},
		{"full text 'Failed', all time", {.tenant = 1, .text = "Failed"}},
		{"rare phrase, all time", {.tenant = 1, .text = "\"segfault at deadbeef\""}},
		{"json path process.pid + 1 h", {.tenant = 1, .from = mid - HOUR, .to = mid, .filters = &path, .n_filters = 1}},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		double ms = timeq(s, &t[i].q, &hits, NULL, 0);
		printf("  %-32s %8.2f ms  (%zu events)\n", t[i].name, ms, hits);
	}
	store_event_query q = {.tenant = 1, .from = mid - DAY, .to = mid, .filters = &prog, .n_filters = 1};
	timeq(s, &q, &hits, cur, sizeof cur);
	q.cursor = cur;
	double ms = timeq(s, &q, &hits, NULL, 0);
	printf("  %-32s %8.2f ms  (%zu events)\n", "cursor page 2 (program + 1 day)", ms, hits);
	q = (store_event_query){.tenant = 1, .text = "Failed", .from = mid - DAY, .to = mid};
	timeq(s, &q, &hits, cur, sizeof cur);
	q.cursor = cur;
	ms = timeq(s, &q, &hits, NULL, 0);
	printf("  %-32s %8.2f ms  (%zu events)\n", "cursor page 2 (text + 1 day)", ms, hits);
}

int main(int argc, char **argv)
{
	store *s = NULL;
	core_err err;
	uint64_t n = 0, batch = 1000;
	char bp[4200];
	int64_t base;
	FILE *f;

	if (argc < 3 || argc > 4 || core_parse_u64(argv[2], strlen(argv[2]), &n) ||
	    (argc == 4 && (core_parse_u64(argv[3], strlen(argv[3]), &batch) || !batch ||
			   batch > BATCH_MAX))) {
		fprintf(stderr, "usage: bench_store DIR N [BATCH (1000, at most 20000)]\n");
		return 2;
	}
	store_options o = {.dir = argv[1]};
	if (store_open(&o, &s, &err)) {
		fprintf(stderr, "bench_store: %s\n", err.msg);
		return 1;
	}
	snprintf(bp, sizeof bp, "%s/bench.base", argv[1]);
	if (n) {
		base = (core_time_now() / DAY - 2) * DAY; /* three days, the last one today */
		if ((f = fopen(bp, "w"))) {
			fprintf(f, "%lld\n", (long long)base);
			fclose(f);
		}
		if (insert(s, n, base, (size_t)batch))
			return 1;
	} else {
		long long b = 0;
		if (!(f = fopen(bp, "r")) || fscanf(f, "%lld", &b) != 1) {
			fprintf(stderr, "bench_store: %s: no earlier run\n", bp);
			return 1;
		}
		fclose(f);
		base = b;
	}
	store_stats st;
	if (store_get_stats(s, &st, &err) == 0)
		printf("stored: %llu events in %llu partitions, %.1f MB (%.0f bytes/event on disk)\n",
		       (unsigned long long)st.events, (unsigned long long)st.partitions,
		       (double)du(argv[1]) / 1e6, (double)du(argv[1]) / (double)(st.events ? st.events : 1));
	printf("queries (best of 5, page of 100):\n");
	queries(s, base);
	store_close(s);
	return 0;
}
