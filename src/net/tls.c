/* tls.c: GnuTLS over libuv streams. GnuTLS reads ciphertext from the
 * connection's buffer (filled by the read callback) and writes through
 * uv_try_write, queueing what the socket does not take; the handshake and
 * records advance as data arrives. Client certificates are checked against
 * tls_ca after the handshake; the subject CN becomes net_record.peer_name. */
#include <errno.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

#define NET_TLS_WMAX (1u << 20) /* bytes queued for a slow reader before giving up */

int net_tls_init(struct net *n, const net_options *o, core_err *err)
{
	bool need = false;
	int rc;

	for (size_t i = 0; i < o->n_listeners; i++)
		if (o->listeners[i].proto == NET_TLS)
			need = true;
	if (!need)
		return 0;
	if ((rc = gnutls_certificate_allocate_credentials(&n->cred)) < 0)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "tls: %s", gnutls_strerror(rc));
	rc = gnutls_certificate_set_x509_key_file(n->cred, o->tls_cert, o->tls_key,
						  GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "tls: %s, %s: %s", o->tls_cert,
				    o->tls_key, gnutls_strerror(rc));
	if (o->tls_ca) {
		rc = gnutls_certificate_set_x509_trust_file(n->cred, o->tls_ca, GNUTLS_X509_FMT_PEM);
		if (rc <= 0)
			return core_err_set(err, CORE_EINVAL, SIZE_MAX, "tls: %s: %s", o->tls_ca,
					    rc < 0 ? gnutls_strerror(rc) : "no certificate");
		n->tls_verify = true;
	}
	n->tls_require = o->tls_require_client_cert;
	return 0;
}

void net_tls_free(struct net *n)
{
	if (n->cred)
		gnutls_certificate_free_credentials(n->cred);
	n->cred = NULL;
}

/* ---- transport over the connection's buffers -------------------------------------- */
static ssize_t tls_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	net_conn *c = p;
	size_t avail = c->tls_in.len - c->tls_off;

	if (!avail) {
		if (c->eof)
			return 0;
		gnutls_transport_set_errno(c->tls, EAGAIN);
		return -1;
	}
	if (len > avail)
		len = avail;
	memcpy(data, c->tls_in.data + c->tls_off, len);
	c->tls_off += len;
	return (ssize_t)len;
}

typedef struct tls_wreq {
	uv_write_t req;
	net_conn *c;
	size_t len;
	char data[];
} tls_wreq;

static void tls_write_cb(uv_write_t *req, int status)
{
	tls_wreq *w = (tls_wreq *)req;

	(void)status;
	w->c->wpending -= w->len;
	free(w);
}

static ssize_t tls_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	net_conn *c = p;
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	size_t done = 0;

	if (uv_is_closing((uv_handle_t *)&c->tcp))
		goto fail;
	if (c->wpending == 0) {
		int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (w >= 0)
			done = (size_t)w;
		else if (w != UV_EAGAIN)
			goto fail;
	}
	if (done < len) {
		size_t rest = len - done;
		tls_wreq *w;
		if (c->wpending + rest > NET_TLS_WMAX || !(w = malloc(sizeof *w + rest)))
			goto fail;
		memcpy(w->data, (const char *)data + done, rest);
		w->c = c;
		w->len = rest;
		b = uv_buf_init(w->data, (unsigned)rest);
		if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, tls_write_cb)) {
			free(w);
			goto fail;
		}
		c->wpending += rest;
	}
	return (ssize_t)len;
fail:
	gnutls_transport_set_errno(c->tls, EPIPE);
	return -1;
}

int net_tls_session(struct net *n, net_conn *c)
{
	int rc = gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK);

	if (rc < 0) {
		c->tls = NULL;
		return CORE_ENOMEM;
	}
	if (gnutls_set_default_priority(c->tls) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, n->cred) < 0)
		return CORE_EINVAL;
	if (n->tls_verify)
		gnutls_certificate_server_set_request(c->tls, n->tls_require ? GNUTLS_CERT_REQUIRE
									      : GNUTLS_CERT_REQUEST);
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_pull_function(c->tls, tls_pull);
	gnutls_transport_set_push_function(c->tls, tls_push);
	gnutls_handshake_set_timeout(c->tls, 0);
	return 0;
}

/* The subject CN of the peer's first certificate into c->peer_name. */
static void tls_peer_cn(net_conn *c, const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	size_t sz = sizeof c->peer_name - 1;

	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, c->peer_name,
					  &sz) >= 0) {
		c->peer_name[sz < sizeof c->peer_name ? sz : sizeof c->peer_name - 1] = '\0';
		c->has_peer_name = true;
	}
	gnutls_x509_crt_deinit(crt);
}

/* After the handshake: a certificate, when sent, must verify against tls_ca;
 * none at all is refused when one is required. */
static int tls_check_peer(struct net *n, net_conn *c)
{
	unsigned ncert = 0, status = 0;
	const gnutls_datum_t *certs;

	if (!n->tls_verify)
		return 0;
	certs = gnutls_certificate_get_peers(c->tls, &ncert);
	if (!certs || ncert == 0)
		return n->tls_require ? CORE_EINVAL : 0;
	if (gnutls_certificate_verify_peers2(c->tls, &status) < 0 || status != 0)
		return CORE_EINVAL;
	tls_peer_cn(c, &certs[0]);
	return 0;
}

int net_tls_handshake(struct net *n, net_conn *c)
{
	int rc = gnutls_handshake(c->tls);

	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return c->eof ? CORE_EIO : 1;
	if (rc < 0)
		return CORE_EIO;
	if (tls_check_peer(n, c))
		return CORE_EINVAL;
	c->handshaken = true;
	return 0;
}
