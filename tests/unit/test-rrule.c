/* Unit tests of the RRULE subset (job/rrule.c) and the TZif zones (common/tz.c), against tables
 * checked by hand with a calendar: DST changes in Europe/Berlin and America/New_York, month
 * ends, 5th weekdays, leap years, COUNT and UNTIL, and the messages of bad patterns. The zones
 * come from the system's tzdata (/usr/share/zoneinfo, package tzdata). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/tz.h"
#include "job/rrule.h"

#define MAX_EXPECT 8

struct rcase {
	const char *pattern;
	const char *zone;
	const char *start;		    /* recurrence_start_time */
	const char *after;		    /* NULL: just before the start */
	const char *expect[MAX_EXPECT + 1]; /* the next occurrences (UTC); "none" ends the rule */
};

static const struct rcase cases[] = {
    /* 02:00 Berlin every day; 2026-03-29 has no 02:00 (CET 02:00 -> CEST 03:00): 03:00 CEST */
    {"FREQ=DAILY;BYHOUR=2;BYMINUTE=0",
     "Europe/Berlin",
     "2026-03-27T00:00:00Z",
     NULL,
     {"2026-03-27T01:00:00Z", "2026-03-28T01:00:00Z", "2026-03-29T01:00:00Z",
      "2026-03-30T00:00:00Z"}},
    /* 02:30 Berlin; 2026-10-25 has it twice: the first (CEST) */
    {"FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
     "Europe/Berlin",
     "2026-10-24T00:00:00Z",
     NULL,
     {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
    /* New York: 2026-03-08 02:30 does not exist: read as EST, 07:30Z = 03:30 EDT */
    {"FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
     "America/New_York",
     "2026-03-07T00:00:00Z",
     NULL,
     {"2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"}},
    /* New York: 2026-11-01 01:30 happens twice: the first (EDT) */
    {"FREQ=DAILY;BYHOUR=1;BYMINUTE=30",
     "America/New_York",
     "2026-10-31T00:00:00Z",
     NULL,
     {"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
    /* the same wall-clock time far beyond the file's table (the footer's rule): 2100 */
    {"FREQ=DAILY;BYHOUR=2;BYMINUTE=0",
     "Europe/Berlin",
     "2100-07-01T00:00:00Z",
     NULL,
     {"2100-07-01T00:00:00Z"}},
    /* the 31st: months without one are skipped */
    {"FREQ=MONTHLY",
     "UTC",
     "2026-01-31T10:00:00Z",
     NULL,
     {"2026-01-31T10:00:00Z", "2026-03-31T10:00:00Z", "2026-05-31T10:00:00Z",
      "2026-07-31T10:00:00Z", "2026-08-31T10:00:00Z", "2026-10-31T10:00:00Z",
      "2026-12-31T10:00:00Z"}},
    /* 5th Mondays of 2026: March 30, June 29, August 31 */
    {"FREQ=MONTHLY;BYDAY=5MO;BYHOUR=9;BYMINUTE=0",
     "UTC",
     "2026-01-01T00:00:00Z",
     NULL,
     {"2026-03-30T09:00:00Z", "2026-06-29T09:00:00Z", "2026-08-31T09:00:00Z"}},
    /* last Fridays; second Mondays */
    {"FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=0",
     "UTC",
     "2026-01-01T00:00:00Z",
     NULL,
     {"2026-01-30T17:00:00Z", "2026-02-27T17:00:00Z", "2026-03-27T17:00:00Z"}},
    {"FREQ=MONTHLY;BYDAY=+2MO;BYHOUR=8;BYMINUTE=15",
     "UTC",
     "2026-01-01T00:00:00Z",
     NULL,
     {"2026-01-12T08:15:00Z", "2026-02-09T08:15:00Z", "2026-03-09T08:15:00Z"}},
    /* Feb 29 every 12 months: leap years only (2100 is not one) */
    {"FREQ=MONTHLY;INTERVAL=12",
     "UTC",
     "2024-02-29T12:00:00Z",
     NULL,
     {"2024-02-29T12:00:00Z", "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"}},
    {"FREQ=MONTHLY;INTERVAL=12",
     "UTC",
     "2096-02-29T12:00:00Z",
     "2096-02-29T12:00:00Z",
     {"2104-02-29T12:00:00Z"}},
    /* COUNT and UNTIL */
    {"FREQ=DAILY;COUNT=3",
     "UTC",
     "2026-01-01T08:00:00Z",
     NULL,
     {"2026-01-01T08:00:00Z", "2026-01-02T08:00:00Z", "2026-01-03T08:00:00Z", "none"}},
    {"FREQ=DAILY;COUNT=3",
     "UTC",
     "2026-01-01T08:00:00Z",
     "2026-01-02T09:00:00Z",
     {"2026-01-03T08:00:00Z", "none"}},
    {"FREQ=DAILY;UNTIL=20260103T080000Z",
     "UTC",
     "2026-01-01T08:00:00Z",
     NULL,
     {"2026-01-01T08:00:00Z", "2026-01-02T08:00:00Z", "2026-01-03T08:00:00Z", "none"}},
    {"FREQ=DAILY;UNTIL=20260102",
     "Europe/Berlin",
     "2026-01-01T08:00:00Z",
     NULL,
     {"2026-01-01T08:00:00Z", "2026-01-02T08:00:00Z", "none"}},
    /* weekly on three days, from a Thursday */
    {"FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=0",
     "UTC",
     "2026-01-01T00:00:00Z",
     NULL,
     {"2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z", "2026-01-07T09:00:00Z",
      "2026-01-09T09:00:00Z"}},
    /* every other week on the start's weekday */
    {"FREQ=WEEKLY;INTERVAL=2",
     "UTC",
     "2026-01-01T06:00:00Z",
     NULL,
     {"2026-01-01T06:00:00Z", "2026-01-15T06:00:00Z", "2026-01-29T06:00:00Z"}},
    /* elapsed minutes, also across a DST change */
    {"FREQ=MINUTELY;INTERVAL=15",
     "UTC",
     "2026-01-01T00:00:00Z",
     NULL,
     {"2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"}},
    {"FREQ=MINUTELY;INTERVAL=30",
     "Europe/Berlin",
     "2026-03-29T00:30:00Z",
     NULL,
     {"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
    /* minutes limited by the wall clock: 09:xx Berlin on Mondays only */
    {"FREQ=MINUTELY;INTERVAL=20;BYHOUR=9;BYDAY=MO",
     "Europe/Berlin",
     "2026-01-01T00:00:00Z",
     NULL,
     {"2026-01-05T08:00:00Z", "2026-01-05T08:20:00Z", "2026-01-05T08:40:00Z",
      "2026-01-12T08:00:00Z"}},
    {"FREQ=HOURLY;BYMINUTE=0,30",
     "UTC",
     "2026-01-01T10:10:00Z",
     NULL,
     {"2026-01-01T10:30:00Z", "2026-01-01T11:00:00Z", "2026-01-01T11:30:00Z"}},
    {"FREQ=HOURLY;INTERVAL=6;BYHOUR=0,12",
     "UTC",
     "2026-01-01T00:00:00Z",
     NULL,
     {"2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z", "2026-01-02T00:00:00Z"}},
    {"FREQ=DAILY;INTERVAL=2",
     "UTC",
     "2026-01-01T08:00:00Z",
     NULL,
     {"2026-01-01T08:00:00Z", "2026-01-03T08:00:00Z", "2026-01-05T08:00:00Z"}},
    /* DAILY limited to weekdays */
    {"FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=7;BYMINUTE=0",
     "UTC",
     "2026-01-02T08:00:00Z",
     NULL,
     {"2026-01-05T07:00:00Z", "2026-01-06T07:00:00Z"}},
    /* missed occurrences: asked months later, the next one comes, not the backlog */
    {"RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0",
     "UTC",
     "2026-01-01T00:00:00Z",
     "2026-06-15T12:00:00Z",
     {"2026-06-16T02:00:00Z"}},
    /* a rule that never matches within the bound */
    {"FREQ=MINUTELY;INTERVAL=1440;BYHOUR=5", "UTC", "2026-01-01T04:00:00Z", NULL, {"none"}},
};

static int64_t t_of(const char *s)
{
	int64_t ms = 0;
	assert_int_equal(clock_parse_rfc3339(s, &ms), 0);
	return ms;
}

static void run_case(const struct rcase *c)
{
	struct rrule r;
	char err[256];
	const struct tz *z;
	int rc = rrule_parse(c->pattern, &r, err, sizeof(err));
	if (rc < 0)
		fail_msg("%s: %s", c->pattern, err);
	assert_int_equal(tz_get(c->zone, &z), 0);
	int64_t start = t_of(c->start), after = c->after ? t_of(c->after) : start - 1;
	for (int i = 0; i < MAX_EXPECT && c->expect[i]; i++) {
		int64_t next = 0;
		rc = rrule_next(&r, start, z, after, &next);
		if (strcmp(c->expect[i], "none") == 0) {
			if (rc != AE_NOTFOUND)
				fail_msg("%s from %s, #%d: expected none", c->pattern, c->start, i);
			return;
		}
		char got[40] = "none";
		if (rc == 0)
			clock_format_rfc3339(next, got, sizeof(got));
		if (rc != 0 || next != t_of(c->expect[i]))
			fail_msg("%s in %s from %s, #%d: expected %s, got %s", c->pattern, c->zone,
				 c->start, i, c->expect[i], got);
		after = next;
	}
}

static void occurrence_tables(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

struct bad {
	const char *pattern;
	const char *names; /* the message names this */
};

static const struct bad bads[] = {
    {"", "empty"},
    {"FREQ=YEARLY", "FREQ"},
    {"FREQ=SECONDLY", "FREQ"},
    {"INTERVAL=2", "FREQ is missing"},
    {"FREQ=DAILY;BYHOUR=25", "BYHOUR item '25'"},
    {"FREQ=DAILY;BYHOUR=1,,2", "BYHOUR"},
    {"FREQ=DAILY;BYMINUTE=60", "BYMINUTE item '60'"},
    {"FREQ=DAILY;BYDAY=XX", "BYDAY item 'XX'"},
    {"FREQ=MONTHLY;BYDAY=6MO", "BYDAY item '6MO'"},
    {"FREQ=MONTHLY;BYDAY=0MO", "BYDAY item '0MO'"},
    {"FREQ=WEEKLY;BYDAY=2MO", "needs FREQ=MONTHLY"},
    {"FREQ=DAILY;INTERVAL=0", "INTERVAL"},
    {"FREQ=DAILY;INTERVAL=x", "INTERVAL"},
    {"FREQ=DAILY;COUNT=2;UNTIL=20260101", "COUNT and UNTIL"},
    {"FREQ=DAILY;UNTIL=20261301", "UNTIL"},
    {"FREQ=DAILY;UNTIL=20260230", "UNTIL"},
    {"FREQ=DAILY;FREQ=HOURLY", "FREQ: given twice"},
    {"FREQ=DAILY;BYSECOND=1", "'BYSECOND': not supported"},
    {"FREQ=DAILY;;BYHOUR=1", "empty part"},
    {"FREQ=DAILY;BYHOUR", "NAME=VALUE"},
};

static void bad_patterns_name_the_part(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct rrule r;
		char err[256];
		if (rrule_parse(bads[i].pattern, &r, err, sizeof(err)) != AE_INVAL)
			fail_msg("'%s' was accepted", bads[i].pattern);
		if (!strstr(err, bads[i].names))
			fail_msg("'%s': message '%s' does not name '%s'", bads[i].pattern, err,
				 bads[i].names);
	}
}

static void zones(void **state)
{
	(void)state;
	const struct tz *z;
	assert_int_equal(tz_get("Europe/Berlin", &z), 0);
	assert_int_equal(tz_offset_at(z, t_of("2026-07-01T00:00:00Z") / 1000), 7200);
	assert_int_equal(tz_offset_at(z, t_of("2026-01-01T00:00:00Z") / 1000), 3600);
	assert_int_equal(tz_offset_at(z, t_of("2300-07-01T00:00:00Z") / 1000), 7200);
	const struct tz *again;
	assert_int_equal(tz_get("Europe/Berlin", &again), 0);
	assert_ptr_equal(z, again); /* cached */
	assert_int_equal(tz_get("America/New_York", &z), 0);
	assert_int_equal(tz_offset_at(z, t_of("2026-01-15T00:00:00Z") / 1000), -5 * 3600);
	assert_int_equal(tz_get("UTC", &z), 0);
	assert_int_equal(tz_offset_at(z, 0), 0);
	assert_int_equal(tz_get("Mars/Olympus_Mons", &z), AE_INVAL);
	assert_int_equal(tz_get("../../etc/passwd", &z), AE_INVAL);
	assert_int_equal(tz_get("/etc/passwd", &z), AE_INVAL);
	assert_int_equal(tz_get("Europe", &z), AE_INVAL); /* a directory */
	struct tz *p = NULL;
	assert_int_equal(tz_parse("TZif2", 5, &p), AE_INVAL);
}

static void calendar(void **state)
{
	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_weekday(tz_days_from_civil(2026, 3, 29)), 6); /* a Sunday */
	assert_int_equal(tz_days_in_month(2024, 2), 29);
	assert_int_equal(tz_days_in_month(2100, 2), 28);
	assert_int_equal(tz_days_in_month(2000, 2), 29);
	int64_t y;
	int m, d;
	tz_civil_from_days(tz_days_from_civil(2028, 2, 29), &y, &m, &d);
	assert_true(y == 2028 && m == 2 && d == 29);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(occurrence_tables),
	    cmocka_unit_test(bad_patterns_name_the_part),
	    cmocka_unit_test(zones),
	    cmocka_unit_test(calendar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
