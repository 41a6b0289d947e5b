/* RRULE subset: parse "FREQ=...;INTERVAL=...;..." and walk its occurrences period by period.
 * DAILY, WEEKLY and MONTHLY periods are calendar days, weeks (Monday first) and months of the
 * zone's wall clock, and their times are wall-clock times (converted with tz_local_to_utc, so
 * 02:00 stays 02:00 across DST); MINUTELY and HOURLY periods are elapsed time from the start, and
 * BYHOUR / BYMINUTE / BYDAY limit them by the wall clock of each occurrence. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/tz.h"
#include "job/job.h"
#include "job/rrule.h"

#define YEAR_S (366LL * 86400)
#define HORIZON_S (10 * YEAR_S)	       /* DAILY and longer: search this far ahead */
#define MINUTELY_MAX_PERIODS 1100000LL /* about 2 years of minutes */
#define HOURLY_MAX_PERIODS 110000LL    /* about 12 years of hours */
#define DAY_MAX_TIMES (24 * 60)

static const char *const weekdays[] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};

/* ---- parsing ---- */

struct perr {
	char *buf;
	size_t n;
};

__attribute__((format(printf, 2, 3))) static int fail(struct perr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (e->n)
		vsnprintf(e->buf, e->n, fmt, ap);
	va_end(ap);
	return AE_INVAL;
}

/* A decimal in [lo, hi] filling all of s. */
static bool int_in(const char *s, long lo, long hi, long *ret)
{
	char *end;
	if (!*s || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+'))
		return false;
	long v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi || (end - s) > 7)
		return false;
	*ret = v;
	return true;
}

static int parse_freq(const char *v, struct rrule *r)
{
	static const char *const names[] = {"MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY"};
	for (int i = 0; i < 5; i++)
		if (strcasecmp(v, names[i]) == 0) {
			r->freq = i;
			return 0;
		}
	return -1;
}

static int weekday_of(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (strcasecmp(s, weekdays[i]) == 0)
			return i;
	return -1;
}

/* One BYDAY item: [+|-][1-5]XX. */
static int parse_day(const char *item, struct rrule_day *d)
{
	size_t n = strlen(item);
	long ord = 0;
	if (n < 2 || (d->weekday = weekday_of(item + n - 2)) < 0)
		return -1;
	if (n > 2) {
		char num[8];
		if (n - 2 >= sizeof(num))
			return -1;
		memcpy(num, item, n - 2);
		num[n - 2] = 0;
		if (!int_in(num, -5, 5, &ord) || ord == 0)
			return -1;
	}
	d->ordinal = (int)ord;
	return 0;
}

/* Split the comma list v and call item() on each; the failing item goes to *bad. */
static int each_item(char *v, int (*item)(const char *s, struct rrule *r), struct rrule *r,
		     const char **bad)
{
	char *save = NULL;
	if (!*v || v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,")) {
		*bad = v;
		return -1;
	}
	for (char *it = strtok_r(v, ",", &save); it; it = strtok_r(NULL, ",", &save))
		if (item(it, r) < 0) {
			*bad = it;
			return -1;
		}
	return 0;
}

static int byday_item(const char *s, struct rrule *r)
{
	if (r->n_byday >= RRULE_BYDAY_MAX)
		return -1;
	return parse_day(s, &r->byday[r->n_byday++]);
}

static int byhour_item(const char *s, struct rrule *r)
{
	long h;
	if (!int_in(s, 0, 23, &h) || *s == '-' || *s == '+')
		return -1;
	r->byhour |= 1u << h;
	return 0;
}

static int byminute_item(const char *s, struct rrule *r)
{
	long m;
	if (!int_in(s, 0, 59, &m) || *s == '-' || *s == '+')
		return -1;
	r->byminute |= 1ull << m;
	return 0;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* YYYYMMDD (through the end of that day), YYYYMMDDTHHMMSS (wall clock), ...Z (UTC). */
static int parse_until(const char *v, struct rrule *r)
{
	size_t n = strlen(v);
	if ((n != 8 && n != 15 && n != 16) || !digits(v, 8) ||
	    (n > 8 && (toupper((unsigned char)v[8]) != 'T' || !digits(v + 9, 6))) ||
	    (n == 16 && toupper((unsigned char)v[15]) != 'Z'))
		return -1;
	int y = num(v, 4), mo = num(v + 4, 2), d = num(v + 6, 2);
	int h = n > 8 ? num(v + 9, 2) : 23, mi = n > 8 ? num(v + 11, 2) : 59,
	    s = n > 8 ? num(v + 13, 2) : 59;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > tz_days_in_month(y, mo) || h > 23 ||
	    mi > 59 || s > 59)
		return -1;
	r->until = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	r->until_local = n != 16;
	r->has_until = true;
	return 0;
}

enum { K_FREQ, K_INTERVAL, K_BYDAY, K_BYHOUR, K_BYMINUTE, K_COUNT, K_UNTIL, K_N };
static const char *const keys[] = {"FREQ",     "INTERVAL", "BYDAY", "BYHOUR",
				   "BYMINUTE", "COUNT",	   "UNTIL"};

static int parse_value(int k, char *v, struct rrule *r, struct perr *e, const char *part)
{
	long x;
	const char *bad = v;
	switch (k) {
	case K_FREQ:
		if (parse_freq(v, r) < 0)
			return fail(e,
				    "%s: FREQ is one of MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY%s",
				    part, "");
		return 0;
	case K_INTERVAL:
		if (!int_in(v, 1, RRULE_INTERVAL_MAX, &x))
			return fail(e, "%s: INTERVAL is a whole number from 1 to %s", part,
				    "10000");
		r->interval = (int)x;
		return 0;
	case K_COUNT:
		if (!int_in(v, 1, RRULE_COUNT_MAX, &x))
			return fail(e, "%s: COUNT is a whole number from 1 to %s", part, "100000");
		r->count = (int)x;
		return 0;
	case K_UNTIL:
		if (parse_until(v, r) < 0)
			return fail(e,
				    "%s: UNTIL is a date YYYYMMDD, a wall-clock time "
				    "YYYYMMDDTHHMMSS or a UTC time YYYYMMDDTHHMMSSZ (1970 on)%s",
				    part, "");
		return 0;
	case K_BYDAY:
		if (each_item(v, byday_item, r, &bad) < 0)
			return fail(e,
				    "BYDAY item '%s': a day is MO, TU, WE, TH, FR, SA or SU, in "
				    "MONTHLY rules optionally after an ordinal 1..5 or -1..-5 "
				    "(2MO, -1FR)%s",
				    bad, "");
		return 0;
	case K_BYHOUR:
		if (each_item(v, byhour_item, r, &bad) < 0)
			return fail(e, "BYHOUR item '%s': an hour is 0..23%s", bad, "");
		return 0;
	default:
		if (each_item(v, byminute_item, r, &bad) < 0)
			return fail(e, "BYMINUTE item '%s': a minute is 0..59%s", bad, "");
		return 0;
	}
}

static int find_key(const char *name)
{
	for (int i = 0; i < K_N; i++)
		if (strcasecmp(name, keys[i]) == 0)
			return i;
	return -1;
}

static int parse_part(char *part, struct rrule *r, unsigned *seen, struct perr *e)
{
	char whole[RRULE_MAX_LEN + 1];
	snprintf(whole, sizeof(whole), "%s", part);
	char *eq = strchr(part, '=');
	if (!eq)
		return fail(e, "'%s': a part is NAME=VALUE%s", whole, "");
	*eq = 0;
	int k = find_key(part);
	if (k < 0)
		return fail(e,
			    "'%s': not supported (the parts are FREQ, INTERVAL, BYDAY, BYHOUR, "
			    "BYMINUTE, COUNT and UNTIL)%s",
			    part, "");
	if (*seen & (1u << k))
		return fail(e, "%s: given twice%s", keys[k], "");
	*seen |= 1u << k;
	return parse_value(k, eq + 1, r, e, whole);
}

static int check_rule(const struct rrule *r, unsigned seen, struct perr *e)
{
	if (!(seen & (1u << K_FREQ)))
		return fail(e, "FREQ is missing%s%s", "", " (e.g. FREQ=DAILY;BYHOUR=2)");
	if ((seen & (1u << K_COUNT)) && (seen & (1u << K_UNTIL)))
		return fail(e, "COUNT and UNTIL: give one of them, not both%s%s", "", "");
	for (int i = 0; i < r->n_byday; i++)
		if (r->byday[i].ordinal && r->freq != RR_MONTHLY)
			return fail(e, "BYDAY: an ordinal (%s%s) needs FREQ=MONTHLY", "2",
				    weekdays[r->byday[i].weekday]);
	return 0;
}

int rrule_parse(const char *pattern, struct rrule *r, char *err, size_t n_err)
{
	struct perr e = {err, n_err};
	char buf[RRULE_MAX_LEN + 1], *save = NULL;
	unsigned seen = 0;
	memset(r, 0, sizeof(*r));
	r->interval = 1;
	if (n_err)
		err[0] = 0;
	if (!pattern || !*pattern)
		return fail(&e, "empty%s%s", "", " (e.g. FREQ=DAILY;BYHOUR=2)");
	if (strlen(pattern) > RRULE_MAX_LEN)
		return fail(&e, "longer than %s characters%s", "512", "");
	if (strncasecmp(pattern, "RRULE:", 6) == 0)
		pattern += 6;
	snprintf(buf, sizeof(buf), "%s", pattern);
	if (!*buf || buf[strlen(buf) - 1] == ';' || buf[0] == ';' || strstr(buf, ";;"))
		return fail(&e, "'%s': an empty part (parts are separated by one ';')%s", pattern,
			    "");
	for (char *p = strtok_r(buf, ";", &save); p; p = strtok_r(NULL, ";", &save))
		if (parse_part(p, r, &seen, &e) < 0)
			return AE_INVAL;
	return check_rule(r, seen, &e);
}

/* ---- expansion ---- */

struct walk {
	const struct rrule *r;
	const struct tz *z;
	int64_t start;	/* UTC seconds */
	int64_t sday;	/* the start's local day */
	int sh, sm, ss; /* the start's local hour, minute, second */
	int64_t sy;	/* the start's local year, month, day of month */
	int smon, smday;
	int64_t until;	 /* UTC seconds, INT64_MAX: none */
	int64_t after;	 /* UTC seconds: return the first occurrence above */
	int64_t horizon; /* give up after this (UTC seconds) */
	int counted;
	int64_t found;
	int rc; /* 1: found, AE_NOTFOUND: no more, 0: go on */
};

static bool day_allowed(const struct rrule *r, int weekday)
{
	if (!r->n_byday)
		return true;
	for (int i = 0; i < r->n_byday; i++)
		if (r->byday[i].weekday == weekday)
			return true;
	return false;
}

/* One occurrence, in order: count it, check COUNT and UNTIL, and stop at the first after after. */
static void visit(struct walk *w, int64_t t)
{
	if (w->rc || t < w->start)
		return;
	if (t > w->until || (w->r->count && ++w->counted > w->r->count)) {
		w->rc = AE_NOTFOUND;
		return;
	}
	if (t > w->after) {
		w->found = t;
		w->rc = 1;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The wall-clock times of local day 'day' (BYHOUR x BYMINUTE, or the start's), in UTC order,
 * each visited once (a skipped time can land on one that exists). */
static void visit_day(struct walk *w, int64_t day)
{
	int64_t t[DAY_MAX_TIMES];
	size_t n = 0;
	for (int h = 0; h < 24; h++) {
		if (w->r->byhour ? !(w->r->byhour & (1u << h)) : h != w->sh)
			continue;
		for (int m = 0; m < 60; m++)
			if (w->r->byminute ? (w->r->byminute & (1ull << m)) : m == w->sm)
				t[n++] =
				    tz_local_to_utc(w->z, day * 86400 + h * 3600 + m * 60 + w->ss);
	}
	qsort(t, n, sizeof(t[0]), cmp_i64);
	for (size_t i = 0; i < n && !w->rc; i++)
		if (i == 0 || t[i] != t[i - 1])
			visit(w, t[i]);
}

/* The days of month y-m that BYDAY selects (bit d-1 for day d), or the start's day. */
static uint32_t month_days(const struct walk *w, int64_t y, int m)
{
	int dim = tz_days_in_month(y, m);
	int wd1 = tz_weekday(tz_days_from_civil(y, m, 1));
	uint32_t set = 0;
	if (!w->r->n_byday)
		return w->smday <= dim ? 1u << (w->smday - 1) : 0;
	for (int i = 0; i < w->r->n_byday; i++) {
		const struct rrule_day *bd = &w->r->byday[i];
		int first = 1 + (bd->weekday - wd1 + 7) % 7; /* the first such weekday */
		int last = first + (dim - first) / 7 * 7;
		if (bd->ordinal == 0) {
			for (int d = first; d <= dim; d += 7)
				set |= 1u << (d - 1);
			continue;
		}
		int d =
		    bd->ordinal > 0 ? first + (bd->ordinal - 1) * 7 : last + (bd->ordinal + 1) * 7;
		if (d >= 1 && d <= dim) /* a 5th Monday only in months that have one */
			set |= 1u << (d - 1);
	}
	return set;
}

static bool local_ok(const struct walk *w, int64_t t, bool minutes)
{
	int64_t local = t + tz_offset_at(w->z, t);
	int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int64_t sod = local - day * 86400;
	int h = (int)(sod / 3600), m = (int)(sod / 60 % 60);
	if (w->r->byhour && !(w->r->byhour & (1u << h)))
		return false;
	if (minutes && w->r->byminute && !(w->r->byminute & (1ull << m)))
		return false;
	return day_allowed(w->r, tz_weekday(day));
}

static int64_t fdiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t first_period(const struct walk *w, int64_t pos, int64_t origin, int64_t len)
{
	if (w->r->count)
		return 0; /* COUNT: every occurrence from the start counts */
	int64_t k = fdiv(pos - origin, len) - 1;
	return k > 0 ? k : 0;
}

static void walk_minutely(struct walk *w)
{
	int64_t len = (int64_t)w->r->interval * 60;
	for (int64_t k = first_period(w, w->after, w->start, len), i = 0;
	     !w->rc && i < MINUTELY_MAX_PERIODS; k++, i++) {
		int64_t t = w->start + k * len;
		if (local_ok(w, t, true))
			visit(w, t);
	}
}

static void walk_hourly(struct walk *w)
{
	int64_t len = (int64_t)w->r->interval * 3600;
	int64_t h0 = w->start - w->sm * 60 - w->ss; /* the start's wall-clock hour */
	for (int64_t k = first_period(w, w->after, h0, len), i = 0;
	     !w->rc && i < HOURLY_MAX_PERIODS; k++, i++)
		for (int m = 0; m < 60 && !w->rc; m++) {
			if (w->r->byminute ? !(w->r->byminute & (1ull << m)) : m != w->sm)
				continue;
			int64_t t = h0 + k * len + m * 60 + w->ss;
			if (local_ok(w, t, false))
				visit(w, t);
		}
}

static int64_t local_day_of(const struct walk *w, int64_t t)
{
	return fdiv(t + tz_offset_at(w->z, t), 86400);
}

static void walk_daily(struct walk *w)
{
	int64_t len = w->r->interval;
	for (int64_t k = first_period(w, local_day_of(w, w->after), w->sday, len); !w->rc; k++) {
		int64_t day = w->sday + k * len;
		if (day * 86400 > w->horizon + 86400) {
			w->rc = AE_NOTFOUND;
			return;
		}
		if (day_allowed(w->r, tz_weekday(day)))
			visit_day(w, day);
	}
}

static void walk_weekly(struct walk *w)
{
	int64_t len = 7LL * w->r->interval;
	int64_t w0 = w->sday - tz_weekday(w->sday); /* Monday of the start's week */
	for (int64_t k = first_period(w, local_day_of(w, w->after), w0, len); !w->rc; k++) {
		int64_t monday = w0 + k * len;
		if (monday * 86400 > w->horizon + 86400) {
			w->rc = AE_NOTFOUND;
			return;
		}
		for (int d = 0; d < 7 && !w->rc; d++)
			if (w->r->n_byday ? day_allowed(w->r, d) : d == tz_weekday(w->sday))
				visit_day(w, monday + d);
	}
}

static void walk_monthly(struct walk *w)
{
	int64_t m0 = w->sy * 12 + w->smon - 1, y;
	int m, d;
	tz_civil_from_days(local_day_of(w, w->after), &y, &m, &d);
	for (int64_t k = first_period(w, y * 12 + m - 1, m0, w->r->interval); !w->rc; k++) {
		int64_t mi = m0 + k * w->r->interval;
		int64_t first = tz_days_from_civil(mi / 12, (int)(mi % 12) + 1, 1);
		if (first * 86400 > w->horizon + 86400) {
			w->rc = AE_NOTFOUND;
			return;
		}
		uint32_t set = month_days(w, mi / 12, (int)(mi % 12) + 1);
		for (int day = 0; day < 31 && !w->rc; day++)
			if (set & (1u << day))
				visit_day(w, first + day);
	}
}

static void walk_init(struct walk *w, const struct rrule *r, int64_t start_ms, const struct tz *z,
		      int64_t after_ms)
{
	memset(w, 0, sizeof(*w));
	w->r = r;
	w->z = z;
	w->start = fdiv(start_ms + 999, 1000); /* occurrences on whole seconds, not before start */
	int64_t local = w->start + tz_offset_at(z, w->start);
	w->sday = fdiv(local, 86400);
	int64_t sod = local - w->sday * 86400;
	w->sh = (int)(sod / 3600);
	w->sm = (int)(sod / 60 % 60);
	w->ss = (int)(sod % 60);
	tz_civil_from_days(w->sday, &w->sy, &w->smon, &w->smday);
	w->until = !r->has_until    ? INT64_MAX
		   : r->until_local ? tz_local_to_utc(z, r->until)
				    : r->until;
	w->after = fdiv(after_ms, 1000);
	w->horizon = (w->after > w->start ? w->after : w->start) + HORIZON_S;
}

int rrule_next(const struct rrule *r, int64_t start_ms, const struct tz *z, int64_t after_ms,
	       int64_t *ret_ms)
{
	struct walk w;
	walk_init(&w, r, start_ms, z, after_ms);
	switch (r->freq) {
	case RR_MINUTELY:
		walk_minutely(&w);
		break;
	case RR_HOURLY:
		walk_hourly(&w);
		break;
	case RR_DAILY:
		walk_daily(&w);
		break;
	case RR_WEEKLY:
		walk_weekly(&w);
		break;
	default:
		walk_monthly(&w);
		break;
	}
	if (w.rc != 1)
		return AE_NOTFOUND;
	*ret_ms = w.found * 1000;
	return 0;
}

/* ---- recurring jobs ---- */

int rrule_job_next(const struct job *j, int64_t after_ms, int64_t *ret_ms, char *err, size_t n_err)
{
	struct rrule r;
	const struct tz *z;
	int rc = rrule_parse(j->recurrence_pattern, &r, err, n_err);
	if (rc < 0)
		return rc;
	if (tz_get(j->recurrence_timezone, &z) < 0) {
		if (n_err)
			snprintf(err, n_err, "'%s' is not a time zone of this system's tzdata",
				 j->recurrence_timezone);
		return AE_INVAL;
	}
	return rrule_next(&r, j->recurrence_start_time, z, after_ms, ret_ms);
}

static const char *outcome_of(const struct job_next *n)
{
	if (n->state == JOB_COMPLETED)
		return n->status == JOB_ST_SUCCEEDED ? "succeeded" : "failed";
	return n->postpone_until ? "transient" : "needs_attention";
}

void rrule_job_after_run(const struct job *j, int64_t now, struct job_next *n)
{
	int64_t at;
	char err[8];
	if (!j->recurrence_pattern || rrule_job_next(j, now, &at, err, sizeof(err)) < 0)
		return;
	n->run_outcome = outcome_of(n);
	n->state = JOB_SUSPENDED;
	n->status = JOB_ST_WAITING;
	n->postpone_until = at;
	n->retry_count = 0;
	n->delete_row = false;
}
