/* Wall and monotonic clocks, and RFC 3339 times. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"

static int64_t clock_shift;

int64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	       __atomic_load_n(&clock_shift, __ATOMIC_RELAXED);
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_shift_ms(int64_t delta)
{
	__atomic_add_fetch(&clock_shift, delta, __ATOMIC_RELAXED);
}

void clock_format_rfc3339(int64_t ms, char *buf, size_t n)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int parse_offset(const char *p, int64_t *ret_ms)
{
	int hh, mm, used = 0;
	if (*p == 'Z' || *p == 'z') {
		*ret_ms = 0;
		return p[1] ? AE_INVAL : 0;
	}
	if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 ||
	    p[1 + used] || hh > 23 || mm > 59)
		return AE_INVAL;
	*ret_ms = (*p == '-' ? -1 : 1) * ((int64_t)hh * 3600 + mm * 60) * 1000;
	return 0;
}

static int parse_fraction(const char **pp, int64_t *ret_ms)
{
	const char *p = *pp;
	int64_t ms = 0, scale = 100;
	if (*p != '.') {
		*ret_ms = 0;
		return 0;
	}
	p++;
	if (*p < '0' || *p > '9')
		return AE_INVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		ms += (*p - '0') * scale;
		scale /= 10;
	}
	*pp = p;
	*ret_ms = ms;
	return 0;
}

int clock_parse_rfc3339(const char *s, int64_t *ret_ms)
{
	struct tm tm = {0};
	int used = 0;
	int64_t frac, off;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
		return AE_INVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return AE_INVAL;
	const char *p = s + used;
	if (parse_fraction(&p, &frac) < 0 || parse_offset(p, &off) < 0)
		return AE_INVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	*ret_ms = (int64_t)t * 1000 + frac - off;
	return 0;
}

struct timespec clock_mono_deadline(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}
