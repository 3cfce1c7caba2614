/* api_static.c: static files of the web console under web_root (GET and HEAD
 * only). The path was already decoded and refused when it holds "..", "."
 * or empty segments (api_target_parse); here the resolved file must still lie
 * inside the resolved root (no symbolic link out of it) and be a regular
 * file. "/" and directories serve their index.html. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api_int.h"

static const struct {
	const char *ext, *type;
} mime[] = {
	{".html", "text/html; charset=utf-8"},
	{".htm", "text/html; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".json", "application/json"},
	{".map", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".jpg", "image/jpeg"},
	{".jpeg", "image/jpeg"},
	{".gif", "image/gif"},
	{".ico", "image/x-icon"},
	{".webp", "image/webp"},
	{".woff", "font/woff"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
	{".wasm", "application/wasm"},
};

const char *api_mime_type(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof mime / sizeof *mime; i++) {
		size_t e = strlen(mime[i].ext);
		if (n > e && strcasecmp(path + n - e, mime[i].ext) == 0)
			return mime[i].type;
	}
	return "application/octet-stream";
}

/* Resolves the request path to a regular file inside the root; fd open. */
static int open_inside(const api *a, const char *path, int *fd_out, struct stat *st,
		       char real[PATH_MAX])
{
	char full[PATH_MAX + 32];
	size_t rl = strlen(a->web_real);
	int fd;

	if ((size_t)snprintf(full, sizeof full, "%s%s", a->web_real, path) >= sizeof full)
		return CORE_EINVAL;
	for (int tries = 0; tries < 2; tries++) {
		if (!realpath(full, real))
			return STORE_ENOTFOUND;
		if (strncmp(real, a->web_real, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
			return STORE_ENOTFOUND; /* a link out of the root */
		if (stat(real, st) != 0)
			return STORE_ENOTFOUND;
		if (!S_ISDIR(st->st_mode))
			break;
		if (tries == 1 || strlen(real) + 12 >= sizeof full)
			return STORE_ENOTFOUND;
		snprintf(full, sizeof full, "%s/index.html", real);
	}
	if (!S_ISREG(st->st_mode))
		return STORE_ENOTFOUND;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return STORE_ENOTFOUND;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return STORE_ENOTFOUND;
	}
	*fd_out = fd;
	return 0;
}

bool api_static_serve(api_req *r)
{
	struct MHD_Response *resp;
	struct stat st;
	char real[PATH_MAX];
	int fd = -1;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		snprintf(r->extra_name, sizeof r->extra_name, "Allow");
		snprintf(r->extra_val, sizeof r->extra_val, "GET, HEAD");
		api_fail(r, 405, "method %s is not allowed on %s", r->method, r->path);
		return false;
	}
	if (open_inside(r->a, r->path, &fd, &st, real) != 0) {
		api_fail(r, 404, "not found: %s", r->path);
		return false;
	}
	resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		api_fail(r, 500, "out of memory");
		return false;
	}
	MHD_add_response_header(resp, "Content-Type", api_mime_type(real));
	api_secure_headers(r->a, resp, false);
	enum MHD_Result ok = MHD_queue_response(r->con, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ok == MHD_YES;
}
