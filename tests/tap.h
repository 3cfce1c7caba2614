/* tap.h: a minimal TAP producer for the C unit tests (meson reads TAP).
 * TAP_OK(cond, fmt, ...) prints "ok N - ..." or "not ok N - ..." and counts;
 * tap_done() prints the plan and returns the process exit status. */
#ifndef HISN_TAP_H
#define HISN_TAP_H
#include <stdio.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...)                                                         \
	do {                                                                      \
		int tap_c_ = (cond) ? 1 : 0;                                      \
		tap_n++;                                                          \
		if (!tap_c_)                                                      \
			tap_failed++;                                             \
		printf("%sok %d - ", tap_c_ ? "" : "not ", tap_n);                \
		printf(__VA_ARGS__);                                              \
		printf("\n");                                                     \
		if (!tap_c_)                                                      \
			printf("# failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
