/* err.c: the project's error codes and the user-facing error record. */
#include <stdio.h>

#include "core/core.h"

const char *core_strerror(int code)
{
	switch (code) {
	case CORE_OK: return "success";
	case CORE_ENOMEM: return "out of memory or over a memory bound";
	case CORE_EPARSE: return "malformed input";
	case CORE_ETOOBIG: return "input over its size limit";
	case CORE_EIO: return "input/output error";
	case CORE_EINVAL: return "invalid argument";
	case CORE_EMORE: return "incomplete input";
	case CORE_ENOTSUP: return "unsupported input";
	default: return "unknown error";
	}
}

int core_err_set(core_err *e, int code, size_t offset, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	e->offset = offset;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

int core_parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return CORE_EPARSE;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9)
			return CORE_EPARSE;
		if (v > (UINT64_MAX - d) / 10)
			return CORE_EPARSE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int core_parse_i64(const char *s, size_t n, int64_t *out)
{
	uint64_t v;
	bool neg = false;

	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		s++;
		n--;
	}
	if (core_parse_u64(s, n, &v) != 0)
		return CORE_EPARSE;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return CORE_EPARSE;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return CORE_EPARSE;
		*out = (int64_t)v;
	}
	return 0;
}
