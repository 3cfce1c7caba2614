/* test_core_time.c: timestamp parsing and formatting, checked against values
 * computed independently (date -u -d ... +%s). */
#include <string.h>

#include "../tap.h"
#include "core/core.h"

#define S 1000000000LL

static void iso(const char *in, int64_t want, size_t want_used)
{
	int64_t ns = 0;
	size_t used = 0;
	int rc = core_time_iso(in, strlen(in), &ns, &used);
	TAP_OK(rc == 0 && ns == want && used == want_used, "iso %s -> %lld (got rc %d, %lld, used %zu)",
	       in, (long long)want, rc, (long long)ns, used);
}

static void bad(int (*fn)(const char *, size_t, int64_t *, size_t *), const char *in)
{
	int64_t ns;
	TAP_OK(fn(in, strlen(in), &ns, NULL) == CORE_EPARSE, "rejects '%s'", in);
}

static void fmt(int64_t ns, const char *want)
{
	char out[40];
	core_time_format(ns, out);
	TAP_OK(strcmp(out, want) == 0, "format %lld -> %s (got %s)", (long long)ns, want, out);
}

int main(void)
{
	iso("2026-11-27T10:00:00Z", 1795773600LL * S, 20);
	iso("2026-11-27T10:00:00.123456789Z", 1795773600LL * S + 123456789, 30);
	iso("2026-11-27T10:00:00.1234567891234Z", 1795773600LL * S + 123456789, 34);
	iso("2026-11-27T11:30:00+01:30", 1795773600LL * S, 25);
	iso("2026-11-27T05:00:00-0500", 1795773600LL * S, 24);
	iso("2026-11-27 10:00:00.5", 1795773600LL * S + 500000000, 21);
	iso("2020-08-07 14:32:22.692", 1596810742LL * S + 692000000, 23);
	iso("1970-01-01T00:00:00Z", 0, 20);
	iso("1969-12-31T23:59:59Z", -S, 20);
	iso("2024-02-29T00:00:00Z", 1709164800LL * S, 20);
	bad(core_time_iso, "2023-02-29T00:00:00Z");
	bad(core_time_iso, "2026-13-01T00:00:00Z");
	bad(core_time_iso, "2026-11-27X10:00:00Z");
	bad(core_time_iso, "2026-11-27T10:0");
	bad(core_time_iso, "2026-11-27T10:00:00+25:00");
	bad(core_time_iso, "1001-01-01T00:00:00Z"); /* ns would overflow int64 */
	bad(core_time_iso, "9999-12-31T23:59:59Z");
	iso("2261-12-31T23:59:59Z", 9214646399LL * S, 20);

	/* RFC 3164 without a year: reference 2026-06-01T00:00:00Z. */
	int64_t ref = 1780272000LL * S, ns;
	size_t used;
	TAP_OK(core_time_bsd("May 31 23:00:00 host", 20, ref, &ns, &used) == 0 &&
		       ns == 1780268400LL * S && used == 15,
	       "bsd: same year");
	TAP_OK(core_time_bsd("Dec 31 23:00:00 host", 20, ref, &ns, NULL) == 0 && ns == 1767222000LL * S,
	       "bsd: a date after the reference is last year");
	TAP_OK(core_time_bsd("Jun  2 00:00:00 host", 20, ref, &ns, NULL) == 0 && ns == 1780358400LL * S,
	       "bsd: one day ahead is still this year (clock skew)");
	TAP_OK(core_time_bsd("Feb 29 12:00:00 x", 17, ref, &ns, NULL) == 0 && ns == 1709208000LL * S,
	       "bsd: Feb 29 goes back to the last leap year (2024)");
	TAP_OK(core_time_bsd("Oct 11 22:14:15.003 x", 21, ref, &ns, &used) == 0 && used == 19 &&
		       ns == 1760220855LL * S + 3000000,
	       "bsd: fraction");
	TAP_OK(core_time_bsd("Foo 11 22:14:15 x", 17, ref, &ns, NULL) == CORE_EPARSE, "bsd: bad month");
	TAP_OK(core_time_bsd("Oct 11 25:14:15 x", 17, ref, &ns, NULL) == CORE_EPARSE, "bsd: bad hour");

	TAP_OK(core_time_clf("10/Oct/2000:13:55:36 -0700", 26, &ns, NULL) == 0 && ns == 971211336LL * S,
	       "clf with offset");
	bad(core_time_clf, "10/Foo/2000:13:55:36 -0700");

	TAP_OK(core_time_epoch("1604994496.155", 14, &ns, &used) == 0 && ns == 1604994496155000000LL &&
		       used == 14,
	       "epoch seconds with fraction");
	TAP_OK(core_time_epoch("1604994496155", 13, &ns, NULL) == 0 && ns == 1604994496155000000LL,
	       "epoch milliseconds");
	TAP_OK(core_time_epoch("1604994496", 10, &ns, NULL) == 0 && ns == 1604994496LL * S, "epoch seconds");
	bad(core_time_epoch, "abc");

	TAP_OK(core_time_filetime(132434784000000000ULL, &ns) == 0 && ns == 1599004800LL * S,
	       "FILETIME 2020-09-02");

	fmt(0, "1970-01-01T00:00:00.000Z");
	fmt(1795773600LL * S + 123000000, "2026-11-27T10:00:00.123Z");
	fmt(1795773600LL * S + 123456000, "2026-11-27T10:00:00.123456Z");
	fmt(1795773600LL * S + 1, "2026-11-27T10:00:00.000000001Z");
	fmt(-S, "1969-12-31T23:59:59.000Z");
	TAP_OK(core_days_from_civil(2000, 3, 1) == 11017, "days_from_civil 2000-03-01");
	return tap_done();
}
