/* The API's JSON form of a job (SPEC §1 field names, times RFC 3339 UTC or null). */
#ifndef ASYNCD_JOB_JSON_H
#define ASYNCD_JOB_JSON_H

#include <jansson.h>

#include "job/job.h"
#include "store/store.h"

/* with_trace: include the trace log (a single job's answer). */
json_t *job_to_json(const struct job *j, bool with_trace);
json_t *time_json(int64_t ms);
/* A job's attempt history as the "attempts" array of a single job's answer. */
json_t *job_attempts_to_json(const struct job_attempt *a, size_t n);

/* The next n occurrences of a recurring job from now (from its postpone_until while it waits),
 * as RFC 3339 strings; empty for other jobs and for finished ones. */
json_t *job_next_occurrences_json(const struct job *j, int64_t now, int n);

#endif
