/* cmd_import.c: `hisn import --server URL --token T [--ca FILE|--insecure] FILE...`
 *
 * Reads files as `hisn parse` does (every format, compressed, zipped,
 * folders), and posts the normalized events in batches of JSON lines to a
 * running server's POST /api/v1/ingest. The server answers only after a
 * batch is stored, so when import says "accepted" the events are durable; a
 * refused batch stops the import with the server's message. */
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"

#define BATCH_BYTES (4u << 20)

typedef struct importer {
	cli_input in;
	char host[256], port[16], path_prefix[8];
	bool plain, insecure;
	const char *ca, *token, *format;
	core_buf batch, resp;
	uint64_t sent, accepted, batches;
	bool failed;
} importer;

static void usage(FILE *out)
{
	fprintf(out, "usage: hisn import --server https://HOST:PORT --token TOKEN [OPTIONS] FILE|DIR...\n\n"
		     "Parses the files as 'hisn parse' does and sends the events to a running server\n"
		     "(POST /api/v1/ingest, answered once they are stored).\n\n"
		     "  --server URL     the server (https://HOST:PORT; http:// only through a TLS proxy)\n"
		     "  --token TOKEN    an API token (default: $HISN_TOKEN)\n"
		     "  --ca FILE        CA or server certificate to trust (the server's self-signed\n"
		     "                   certificate is DATA/tls/server.crt)\n"
		     "  --insecure       do not verify the server's certificate\n"
		     "  -f, --format F   input format (default: detected)\n"
		     "  -q, --quiet      no bad-record messages\n");
}

static int parse_url(importer *im, const char *url)
{
	const char *p = url, *colon;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7, im->plain = true;
	else
		return -1;
	colon = strrchr(p, ':');
	if (!colon || colon == p || (size_t)(colon - p) >= sizeof im->host)
		return -1;
	size_t pl = strcspn(colon + 1, "/");
	if (pl == 0 || pl >= sizeof im->port)
		return -1;
	memcpy(im->host, p, (size_t)(colon - p));
	im->host[colon - p] = '\0';
	memcpy(im->port, colon + 1, pl);
	im->port[pl] = '\0';
	return 0;
}

static int connect_to(const importer *im)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *a;
	int fd = -1, e = getaddrinfo(im->host, im->port, &hints, &res);
	if (e != 0) {
		fprintf(stderr, "hisn: import: %s: %s\n", im->host, gai_strerror(e));
		return -1;
	}
	for (a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "hisn: import: %s:%s: %s\n", im->host, im->port, strerror(errno));
	return fd;
}

/* Plain or TLS I/O on one connection. */
typedef struct conn {
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
} conn;

static int conn_tls(const importer *im, conn *c)
{
	int rc;
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
	    gnutls_init(&c->tls, GNUTLS_CLIENT) < 0)
		return -1;
	if (im->ca ? gnutls_certificate_set_x509_trust_file(c->cred, im->ca, GNUTLS_X509_FMT_PEM) <= 0
		   : gnutls_certificate_set_x509_system_trust(c->cred) < 0) {
		fprintf(stderr, "hisn: import: %s: no certificate could be read\n", im->ca ? im->ca : "system trust");
		return -1;
	}
	gnutls_set_default_priority(c->tls);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
	gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, im->host, strlen(im->host));
	if (!im->insecure)
		gnutls_session_set_verify_cert(c->tls, im->host, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	do
		rc = gnutls_handshake(c->tls);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		fprintf(stderr, "hisn: import: TLS with %s: %s%s\n", im->host, gnutls_strerror(rc),
			rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ? " (give --ca DATA/tls/server.crt)" : "");
		return -1;
	}
	return 0;
}

static int conn_write(conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = c->tls ? gnutls_record_send(c->tls, p, n) : write(c->fd, p, n);
		if (w < 0 && (c->tls ? (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) : errno == EINTR))
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

static ssize_t conn_read(conn *c, char *p, size_t n)
{
	for (;;) {
		ssize_t r = c->tls ? gnutls_record_recv(c->tls, p, n) : read(c->fd, p, n);
		if (r < 0 && (c->tls ? (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) : errno == EINTR))
			continue;
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		return r;
	}
}

static void conn_close(conn *c)
{
	if (c->tls) {
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c->tls);
	}
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	if (c->fd >= 0)
		close(c->fd);
}

/* Sends the batch; returns the HTTP status (0 on a transport failure) with
 * the response body in im->resp. */
static int post(importer *im)
{
	conn c = {.fd = connect_to(im)};
	char head[1024], buf[16384];
	int status = 0, n;
	ssize_t r;

	im->resp.len = 0;
	if (c.fd < 0 || (!im->plain && conn_tls(im, &c) != 0))
		goto out;
	n = snprintf(head, sizeof head,
		     "POST /api/v1/ingest HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
		     "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     im->host, im->token, im->batch.len);
	if (n < 0 || (size_t)n >= sizeof head || conn_write(&c, head, (size_t)n) != 0 ||
	    conn_write(&c, im->batch.data, im->batch.len) != 0) {
		fprintf(stderr, "hisn: import: sending to %s failed\n", im->host);
		goto out;
	}
	while ((r = conn_read(&c, buf, sizeof buf)) > 0)
		if (core_buf_add(&im->resp, buf, (size_t)r) != 0)
			break;
	if (im->resp.len > 12 && memcmp(im->resp.data, "HTTP/1.", 7) == 0)
		status = (im->resp.data[9] - '0') * 100 + (im->resp.data[10] - '0') * 10 + (im->resp.data[11] - '0');
	else
		fprintf(stderr, "hisn: import: %s:%s did not answer with HTTP\n", im->host, im->port);
out:
	conn_close(&c);
	return status;
}

/* The body of the response, and the "accepted" count in it. */
static const char *resp_body(importer *im, uint64_t *accepted)
{
	const char *b, *a;
	if (core_buf_addc(&im->resp, '\0') != 0 || (b = strstr(im->resp.data, "\r\n\r\n")) == NULL)
		return "";
	b += 4;
	if (accepted && (a = strstr(b, "\"accepted\":")) != NULL)
		*accepted = strtoull(a + 11, NULL, 10);
	return b;
}

static int flush(importer *im)
{
	uint64_t acc = 0;
	int status;
	if (im->batch.len == 0 || im->failed)
		return im->failed ? -1 : 0;
	status = post(im);
	if (status != 200) {
		const char *body = status > 0 ? resp_body(im, NULL) : "";
		if (status > 0) /* else post() has said why (connection, TLS) */
			fprintf(stderr, "hisn: import: the server refused a batch (HTTP %d): %.300s\n", status, body);
		im->failed = true;
		return -1;
	}
	resp_body(im, &acc);
	im->accepted += acc;
	im->batches++;
	im->batch.len = 0;
	return 0;
}

static int on_batch(void *ud, core_event *ev, size_t n)
{
	importer *im = ud;
	for (size_t i = 0; i < n; i++) {
		if (core_event_to_json(&ev[i], &im->batch, 0) != 0 || core_buf_addc(&im->batch, '\n') != 0)
			return CORE_ENOMEM;
		im->sent++;
		if (im->batch.len >= BATCH_BYTES && flush(im) != 0)
			return CORE_EIO;
	}
	return 0;
}

static int options(importer *im, int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"token", required_argument, NULL, 't'},
		{"ca", required_argument, NULL, 'c'},     {"insecure", no_argument, NULL, 'k'},
		{"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *server = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 't': im->token = optarg; break;
		case 'c': im->ca = optarg; break;
		case 'k': im->insecure = true; break;
		case 'f': im->in.format = optarg; break;
		case 'q': im->in.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: return -1;
		}
	}
	if (!im->token)
		im->token = getenv("HISN_TOKEN");
	if (!server || parse_url(im, server) != 0) {
		fprintf(stderr, "hisn: import: --server https://HOST:PORT is required\n");
		return -1;
	}
	if (!im->token || !im->token[0] || strpbrk(im->token, "\r\n")) {
		fprintf(stderr, "hisn: import: an API token is required (--token or HISN_TOKEN)\n");
		return -1;
	}
	if (optind == argc) {
		fprintf(stderr, "hisn: import: no input (give files or folders, or - for stdin)\n");
		return -1;
	}
	return 1;
}

int cli_import_main(int argc, char **argv)
{
	importer im = {.in = {.cmd = "import", .format = "auto", .on_batch = on_batch}};
	cli_paths paths = {0};
	int rc = CLI_EXIT_OK, o = options(&im, argc, argv);

	if (o <= 0)
		return o == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	im.in.ud = &im;
	core_buf_init(&im.batch, 0);
	core_buf_init(&im.resp, 1u << 20);
	for (int i = optind; i < argc; i++) { /* folders: every file in them, recursively */
		core_err err = {0};
		if (cli_paths_add(&paths, argv[i], &err) != 0) {
			fprintf(stderr, "hisn: import: %s\n", err.msg);
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
	}
	for (size_t i = 0; i < paths.n && !im.failed; i++) {
		int one = cli_input_read(&im.in, paths.v[i]);
		if (one == CLI_EXIT_USAGE) {
			rc = one;
			goto out;
		}
		if (one)
			rc = one;
	}
	if (flush(&im) != 0 || im.failed)
		rc = CLI_EXIT_RUNTIME;
	fprintf(stderr, "hisn: import: %llu events read, %llu accepted by %s:%s in %llu batches%s\n",
		(unsigned long long)im.sent, (unsigned long long)im.accepted, im.host, im.port,
		(unsigned long long)im.batches, im.failed ? " (stopped on a refusal)" : "");
out:
	cli_paths_free(&paths);
	core_buf_free(&im.batch);
	core_buf_free(&im.resp);
	return rc;
}
