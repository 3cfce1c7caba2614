/* time.c: timestamp parsing into UTC nanoseconds (ISO 8601 / RFC 3339, RFC 3164
 * with year inference, Common Log Format, epoch seconds or milliseconds,
 * Windows FILETIME) and formatting back to RFC 3339. Calendar arithmetic is
 * proleptic Gregorian, done with integers (no locale, no timezone database). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

#define NS 1000000000LL

static const char months[12][3] = {{'J', 'a', 'n'}, {'F', 'e', 'b'}, {'M', 'a', 'r'},
				    {'A', 'p', 'r'}, {'M', 'a', 'y'}, {'J', 'u', 'n'},
				    {'J', 'u', 'l'}, {'A', 'u', 'g'}, {'S', 'e', 'p'},
				    {'O', 'c', 't'}, {'N', 'o', 'v'}, {'D', 'e', 'c'}};

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned mdays(int64_t y, unsigned m)
{
	static const unsigned char d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Shift the year so that it starts in March: the leap day is then the last day
 * of the shifted year, and a 400-year era holds exactly 146097 days. */
int64_t core_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t yy = m <= 2 ? y - 1 : y;
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;                              /* 0..399 */
	int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;     /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;        /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;      /* 0..146096 */
	return era * 146097 + doe - 719468;                       /* 1970-03-01 is day 60 */
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* n digits at s as a number; -1 if any is not a digit. */
static int64_t digits(const char *s, size_t n)
{
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!core_is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if ((s[0] | 0x20) == (months[i][0] | 0x20) && (s[1] | 0x20) == months[i][1] &&
		    (s[2] | 0x20) == months[i][2])
			return i + 1;
	return 0;
}

/* Nanoseconds since 1970 fit in int64 from 1677-09-21 to 2262-04-11: dates
 * outside 1678..2261 are refused rather than wrapped. */
static int make(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s, int64_t *ns)
{
	if (y < 1678 || y > 2261)
		return CORE_EPARSE;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, (unsigned)mo) || h > 23 || mi > 59 || s > 60)
		return CORE_EPARSE;
	int64_t days = core_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ns = ((days * 24 + h) * 60 + mi) * 60 * NS + s * NS;
	return 0;
}

/* Optional ".digits" fraction at s[*i]: adds nanoseconds (extra digits are
 * truncated). */
static void fraction(const char *s, size_t n, size_t *i, int64_t *ns)
{
	if (*i < n && (s[*i] == '.' || s[*i] == ',') && *i + 1 < n && core_is_digit(s[*i + 1])) {
		int64_t f = 0, scale = NS;
		(*i)++;
		while (*i < n && core_is_digit(s[*i])) {
			if (scale > 1) {
				scale /= 10;
				f += (s[*i] - '0') * scale;
			}
			(*i)++;
		}
		*ns += f;
	}
}

int core_time_iso(const char *s, size_t n, int64_t *ns, size_t *used)
{
	int64_t y, mo, d, h, mi, sec = 0, t;
	size_t i;

	if (n < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') ||
	    s[13] != ':')
		return CORE_EPARSE;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0)
		return CORE_EPARSE;
	i = 16;
	if (i < n && s[i] == ':') {
		if (n < 19 || (sec = digits(s + 17, 2)) < 0)
			return CORE_EPARSE;
		i = 19;
	}
	if (make(y, mo, d, h, mi, sec, &t) != 0)
		return CORE_EPARSE;
	fraction(s, n, &i, &t);
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-') && i + 3 <= n) {
		int sign = s[i] == '-' ? -1 : 1;
		int64_t oh = digits(s + i + 1, 2), om = 0;
		size_t j = i + 3;
		if (j < n && s[j] == ':' && j + 3 <= n) {
			om = digits(s + j + 1, 2);
			j += 3;
		} else if (j + 2 <= n && core_is_digit(s[j]) && core_is_digit(s[j + 1])) {
			om = digits(s + j, 2);
			j += 2;
		}
		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return CORE_EPARSE;
		t -= sign * (oh * 3600 + om * 60) * NS;
		i = j;
	}
	*ns = t;
	if (used)
		*used = i;
	return 0;
}

int core_time_bsd(const char *s, size_t n, int64_t ref_ns, int64_t *ns, size_t *used)
{
	int64_t d, h, mi, sec, t;
	size_t i;

	if (n < 15 || s[3] != ' ')
		return CORE_EPARSE;
	int mo = month_of(s);
	if (!mo)
		return CORE_EPARSE;
	i = 4;
	if (s[i] == ' ' && core_is_digit(s[i + 1])) {
		d = s[i + 1] - '0';
		i += 2;
	} else if (core_is_digit(s[i]) && core_is_digit(s[i + 1])) {
		d = digits(s + i, 2);
		i += 2;
	} else if (core_is_digit(s[i]) && s[i + 1] == ' ') {
		d = s[i] - '0';
		i += 1;
	} else {
		return CORE_EPARSE;
	}
	if (i + 9 > n || s[i] != ' ' || s[i + 3] != ':' || s[i + 6] != ':')
		return CORE_EPARSE;
	h = digits(s + i + 1, 2);
	mi = digits(s + i + 4, 2);
	sec = digits(s + i + 7, 2);
	if (h < 0 || mi < 0 || sec < 0)
		return CORE_EPARSE;
	i += 9;
	int64_t ry;
	unsigned rm, rd;
	civil_from_days((ref_ns >= 0 ? ref_ns / NS : (ref_ns - NS + 1) / NS) / 86400, &ry, &rm, &rd);
	if (make(ry, mo, d, h, mi, sec, &t) != 0 || t > ref_ns + 86400 * NS) {
		/* Feb 29 of a year that is not leap, or a date in the future: the
		 * previous year (or the last leap year for Feb 29). */
		int64_t y = ry - 1;
		while (make(y, mo, d, h, mi, sec, &t) != 0 && y > ry - 8)
			y--;
		if (make(y, mo, d, h, mi, sec, &t) != 0)
			return CORE_EPARSE;
	}
	fraction(s, n, &i, &t);
	*ns = t;
	if (used)
		*used = i;
	return 0;
}

int core_time_clf(const char *s, size_t n, int64_t *ns, size_t *used)
{
	/* 10/Oct/2000:13:55:36 -0700 */
	if (n < 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' ||
	    s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
		return CORE_EPARSE;
	int64_t d = digits(s, 2), y = digits(s + 7, 4), h = digits(s + 12, 2),
		mi = digits(s + 15, 2), sec = digits(s + 18, 2), oh = digits(s + 22, 2),
		om = digits(s + 24, 2), t;
	int mo = month_of(s + 3);
	if (d < 0 || y < 0 || h < 0 || mi < 0 || sec < 0 || oh < 0 || om < 0 || !mo || om > 59)
		return CORE_EPARSE;
	if (make(y, mo, d, h, mi, sec, &t) != 0)
		return CORE_EPARSE;
	t -= (s[21] == '-' ? -1 : 1) * (oh * 3600 + om * 60) * NS;
	*ns = t;
	if (used)
		*used = 26;
	return 0;
}

int core_time_epoch(const char *s, size_t n, int64_t *ns, size_t *used)
{
	size_t i = 0;
	int64_t v = 0;

	while (i < n && core_is_digit(s[i]) && i < 19)
		v = v * 10 + (s[i++] - '0');
	if (i == 0 || (i < n && core_is_digit(s[i])))
		return CORE_EPARSE;
	bool frac = i < n && s[i] == '.';
	if (i <= 11 || frac) {
		if (i > 11 || v > INT64_MAX / NS)
			return CORE_EPARSE;
		int64_t t = v * NS;
		fraction(s, n, &i, &t);
		*ns = t;
	} else if (i <= 13) {
		*ns = v * 1000000; /* milliseconds */
	} else if (i <= 16) {
		*ns = v * 1000; /* microseconds */
	} else {
		*ns = v; /* nanoseconds */
	}
	if (used)
		*used = i;
	return 0;
}

int core_time_filetime(uint64_t ticks, int64_t *ns)
{
	/* 1601-01-01 to 1970-01-01 is 134774 days. */
	const uint64_t epoch_ticks = 134774ULL * 86400ULL * 10000000ULL;
	if (ticks > (uint64_t)INT64_MAX)
		return CORE_EPARSE;
	int64_t d = (int64_t)ticks - (int64_t)epoch_ticks;
	if (d > INT64_MAX / 100 || d < INT64_MIN / 100) /* keep ns in range */
		return CORE_EPARSE;
	*ns = d * 100;
	return 0;
}

size_t core_time_format(int64_t ns, char out[40])
{
	int64_t secs = ns >= 0 ? ns / NS : -((-(ns + 1)) / NS) - 1;
	int64_t frac = ns - secs * NS;
	int64_t days = secs >= 0 ? secs / 86400 : -((-(secs + 1)) / 86400) - 1;
	int64_t rem = secs - days * 86400;
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	int len = snprintf(out, 40, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", (long long)y, m, d,
			   (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60));
	if (len < 0 || len > 32)
		len = 0;
	if (frac % 1000000 == 0)
		len += snprintf(out + len, 40 - (size_t)len, ".%03lldZ", (long long)(frac / 1000000));
	else if (frac % 1000 == 0)
		len += snprintf(out + len, 40 - (size_t)len, ".%06lldZ", (long long)(frac / 1000));
	else
		len += snprintf(out + len, 40 - (size_t)len, ".%09lldZ", (long long)frac);
	return (size_t)len;
}

int64_t core_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}
