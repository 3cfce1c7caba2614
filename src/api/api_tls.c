/* api_tls.c: the server's certificate. The user's PEM files when given;
 * otherwise DIR/tls/server.crt and server.key, generated at the first start
 * (ECDSA P-256, self-signed, 2 years, SAN: the host name, localhost,
 * 127.0.0.1, ::1 and the bind address) and reused afterwards. The key file is
 * created 0600 and written atomically (temporary file, then rename). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "api/api_int.h"

#define PEM_MAX (1u << 20)
#define DAYS_VALID 730

/* Reads a whole PEM file (at most PEM_MAX) into a NUL-terminated string
 * owned by the caller. */
static int read_pem(const char *path, char **out, core_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	*out = NULL;
	if (fd < 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
	buf = malloc(PEM_MAX + 1);
	if (!buf) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "%s: out of memory", path);
		goto out;
	}
	while ((n = read(fd, buf + len, PEM_MAX + 1 - len)) > 0 && len + (size_t)n <= PEM_MAX)
		len += (size_t)n;
	if (n < 0 || n > 0) {
		rc = n < 0 ? core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno))
			   : core_err_set(err, CORE_ETOOBIG, SIZE_MAX, "%s: over %u bytes", path, PEM_MAX);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
out:
	if (buf) {
		sodium_memzero(buf, PEM_MAX + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

/* Writes text to path through path.tmp (mode), then renames. */
static int write_atomic(const char *path, const char *text, mode_t mode, core_err *err)
{
	char tmp[4200];
	size_t len = strlen(text), off = 0;
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: path too long", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", tmp, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", tmp, strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || core_is_digit(c) || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

static int add_ip(gnutls_x509_crt_t crt, const char *ip)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, ip, b) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, b, 4,
							    GNUTLS_FSAN_APPEND);
	if (inet_pton(AF_INET6, ip, b) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, b, 16,
							    GNUTLS_FSAN_APPEND);
	return 0;
}

static int add_names(gnutls_x509_crt_t crt, const char *hostname, const char *bind_ip)
{
	int g = 0;

	if (hostname && dns_name_ok(hostname) && strcmp(hostname, "localhost") != 0)
		g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, hostname,
							 (unsigned)strlen(hostname), GNUTLS_FSAN_APPEND);
	if (g >= 0)
		g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
							 GNUTLS_FSAN_APPEND);
	if (g >= 0)
		g = add_ip(crt, "127.0.0.1");
	if (g >= 0)
		g = add_ip(crt, "::1");
	if (g >= 0 && bind_ip && strcmp(bind_ip, "0.0.0.0") != 0 && strcmp(bind_ip, "::") != 0 &&
	    strcmp(bind_ip, "127.0.0.1") != 0 && strcmp(bind_ip, "::1") != 0)
		g = add_ip(crt, bind_ip);
	return g;
}

static char *datum_str(const gnutls_datum_t *d)
{
	char *s = malloc(d->size + 1);

	if (s) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	return s;
}

int api_tls_generate(const char *hostname, const char *bind_ip, char **cert_pem, char **key_pem,
		     core_err *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dc = {NULL, 0}, dk = {NULL, 0};
	unsigned char serial[16], kid[64];
	size_t kid_len = sizeof kid;
	const char *cn = hostname && dns_name_ok(hostname) ? hostname : "localhost";
	time_t now = time(NULL);
	int g, rc = 0;

	*cert_pem = *key_pem = NULL;
	randombytes_buf(serial, sizeof serial);
	serial[0] &= 0x7f; /* a positive serial number */
	serial[0] |= 0x01;
	g = gnutls_x509_privkey_init(&key);
	if (g >= 0)
		g = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (g >= 0)
		g = gnutls_x509_crt_init(&crt);
	if (g >= 0)
		g = gnutls_x509_crt_set_version(crt, 3);
	if (g >= 0)
		g = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
	if (g >= 0)
		g = gnutls_x509_crt_set_activation_time(crt, now - 3600);
	if (g >= 0)
		g = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)DAYS_VALID * 86400);
	if (g >= 0)
		g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						  (unsigned)strlen(cn));
	if (g >= 0)
		g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "hisn", 4);
	if (g >= 0)
		g = gnutls_x509_crt_set_key(crt, key);
	if (g >= 0)
		g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	if (g >= 0)
		g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (g >= 0)
		g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
	if (g >= 0)
		g = add_names(crt, hostname, bind_ip);
	if (g >= 0)
		g = gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len);
	if (g >= 0)
		g = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len);
	if (g >= 0)
		g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
	if (g >= 0)
		g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &dc);
	if (g >= 0)
		g = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
						      &dk);
	if (g < 0) {
		rc = core_err_set(err, CORE_EIO, SIZE_MAX, "self-signed certificate: %s",
				  gnutls_strerror(g));
		goto out;
	}
	*cert_pem = datum_str(&dc);
	*key_pem = datum_str(&dk);
	if (!*cert_pem || !*key_pem) {
		free(*cert_pem);
		free(*key_pem);
		*cert_pem = *key_pem = NULL;
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "self-signed certificate: out of memory");
	}
out:
	if (dk.data) {
		sodium_memzero(dk.data, dk.size);
		gnutls_free(dk.data);
	}
	gnutls_free(dc.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/* Checks that the pair loads (a clear message now rather than a silent
 * refusal of the HTTP library later). */
static int check_pair(const api *a, const char *what, core_err *err)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t c = {(unsigned char *)a->cert_pem, (unsigned)strlen(a->cert_pem)};
	gnutls_datum_t k = {(unsigned char *)a->key_pem, (unsigned)strlen(a->key_pem)};
	int g = gnutls_certificate_allocate_credentials(&cred);

	if (g >= 0) {
		g = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
		gnutls_certificate_free_credentials(cred);
	}
	if (g < 0)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: %s", what, gnutls_strerror(g));
	return 0;
}

static int load_or_make(api *a, core_err *err)
{
	char dir[4096], crt[4200], key[4200], host[256] = "";
	const char *d = a->opt.data_dir;
	bool has_c, has_k;
	int rc;

	if (!d)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX,
				    "HTTPS needs a certificate or a data directory to keep one in");
	if ((size_t)snprintf(dir, sizeof dir, "%s/tls", d) >= sizeof dir)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: path too long", d);
	snprintf(crt, sizeof crt, "%s/server.crt", dir);
	snprintf(key, sizeof key, "%s/server.key", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: %s", dir, strerror(errno));
	has_c = access(crt, F_OK) == 0;
	has_k = access(key, F_OK) == 0;
	if (has_c != has_k)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "%s: one of server.crt and server.key is missing",
				    dir);
	if (has_c) {
		rc = read_pem(crt, &a->cert_pem, err);
		return rc ? rc : read_pem(key, &a->key_pem, err);
	}
	if (gethostname(host, sizeof host - 1) != 0)
		host[0] = '\0';
	rc = api_tls_generate(host, a->opt.host, &a->cert_pem, &a->key_pem, err);
	if (rc == 0)
		rc = write_atomic(key, a->key_pem, 0600, err);
	if (rc == 0)
		rc = write_atomic(crt, a->cert_pem, 0644, err);
	if (rc == 0)
		api_log("generated a self-signed certificate: %s", crt);
	return rc;
}

int api_tls_load(api *a, core_err *err)
{
	const api_options *o = &a->opt;
	int rc;

	if (!o->cert_file != !o->key_file)
		return core_err_set(err, CORE_EINVAL, SIZE_MAX, "give both a certificate and its key");
	if (o->cert_file) {
		rc = read_pem(o->cert_file, &a->cert_pem, err);
		if (rc == 0)
			rc = read_pem(o->key_file, &a->key_pem, err);
	} else {
		rc = load_or_make(a, err);
	}
	return rc ? rc : check_pair(a, o->cert_file ? o->cert_file : "DIR/tls/server.crt", err);
}
