/* buf.c: a growable byte buffer with a hard maximum (output and carry-over
 * buffers); growth doubles, and a request past max fails with CORE_ETOOBIG.
 * Also core_grow, the one way growable arrays of the project grow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int core_grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : first;
	if (c < *cap || c > SIZE_MAX / elem)
		return CORE_ENOMEM;
	void *p = realloc(*arr, c * elem);
	if (!p)
		return CORE_ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

void core_buf_init(core_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

void core_buf_free(core_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int core_buf_reserve(core_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return CORE_ETOOBIG;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	char *p = realloc(b->data, cap);
	if (!p)
		return CORE_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int core_buf_add(core_buf *b, const void *p, size_t n)
{
	int rc = core_buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int core_buf_addc(core_buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return core_buf_add(b, &c, 1);
}

int core_buf_printf(core_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CORE_EINVAL;
	if ((size_t)n < sizeof small)
		return core_buf_add(b, small, (size_t)n);
	int rc = core_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}
