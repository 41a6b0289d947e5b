/* The recurrence rules of SPEC §1: an RFC 5545 (RFC 2445) RRULE subset, parsed and expanded
 * without I/O (the time zone comes in as a parsed struct tz). See docs/recurrence.md for what
 * each part means here, how daylight-saving changes are handled and the bounds. */
#ifndef ASYNCD_RRULE_H
#define ASYNCD_RRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz;

enum rrule_freq { RR_MINUTELY, RR_HOURLY, RR_DAILY, RR_WEEKLY, RR_MONTHLY };

#define RRULE_MAX_LEN 512
#define RRULE_INTERVAL_MAX 10000
#define RRULE_COUNT_MAX 100000
#define RRULE_BYDAY_MAX 35

struct rrule_day {
	int ordinal; /* 0: every such weekday of the period; 1..5 / -1..-5: the nth (from the end)
		      */
	int weekday; /* 0 = Monday .. 6 = Sunday */
};

struct rrule {
	int freq;
	int interval;
	struct rrule_day byday[RRULE_BYDAY_MAX];
	int n_byday;
	uint32_t byhour;   /* bit h: hour h; 0: not given */
	uint64_t byminute; /* bit m: minute m; 0: not given */
	int count;	   /* 0: not given */
	bool has_until;
	bool until_local; /* UNTIL without Z: a wall-clock time of the rule's zone */
	int64_t until;	  /* seconds: UTC, or local when until_local */
};

/* Parse pattern into r. On failure AE_INVAL and a message naming the offending part in err
 * (e.g. "BYHOUR=25: an hour is 0..23"). */
int rrule_parse(const char *pattern, struct rrule *r, char *err, size_t n_err);

/* The first occurrence of r strictly after after_ms, for a rule whose first possible occurrence
 * is start_ms (DTSTART: also the default hour, minute, second, weekday and day of month), with
 * wall-clock times in zone z. Times in milliseconds since the epoch; occurrences fall on whole
 * seconds. 0 and *ret_ms, or AE_NOTFOUND when there is none (COUNT used up, past UNTIL, or none
 * within the search bound of docs/recurrence.md). */
int rrule_next(const struct rrule *r, int64_t start_ms, const struct tz *z, int64_t after_ms,
	       int64_t *ret_ms);

/* ---- recurring jobs ---- */
struct job;
struct job_next;

/* The next occurrence of recurring job j (its recurrence_pattern, _start_time and _timezone)
 * strictly after after_ms. AE_INVAL when its fields do not parse (err says which part),
 * AE_NOTFOUND when it has no more. */
int rrule_job_next(const struct job *j, int64_t after_ms, int64_t *ret_ms, char *err, size_t n_err);
/* Where recurring job j goes after a run that ended at now with next state *n (computed by
 * job_next_state): Suspended/Waiting until its next occurrence, retry_count 0, never deleted,
 * the run's outcome kept in n->run_outcome for its history; *n unchanged when it has no more
 * occurrences (the run's outcome ends it). A cancel is applied by the store over this. */
void rrule_job_after_run(const struct job *j, int64_t now, struct job_next *n);

#endif
