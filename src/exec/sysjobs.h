/* System jobs: work of asyncd itself that runs as a job of the job table (SPEC §5), so that an
 * administrator sees, schedules and inspects it: bulk deletes (operation type 13, also the
 * cleanups of async-maintenance), bulk actions (101), audit and attempt-history cleanup (100).
 * Their plug-in type is "asyncd.*", which no assembly can export; the engine runs them
 * in-process on a pool thread, in bounded batches through the writer (each batch one short
 * transaction), checking between batches whether they were asked to stop (cancel, pause, stop),
 * and recording their progress as their output. docs/system-jobs.md. */
#ifndef ASYNCD_SYSJOBS_H
#define ASYNCD_SYSJOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "exec/runner.h"
#include "store/store.h"

struct writer;
struct engine;

#define SYSJOB_BULK_DELETE "asyncd.bulk_delete"
#define SYSJOB_BULK_ACTION "asyncd.bulk_action"
#define SYSJOB_AUDIT_CLEANUP "asyncd.audit_cleanup"
#define SYSJOB_ATTEMPTS_CLEANUP "asyncd.attempts_cleanup"
#define SYSJOB_STATISTICS "asyncd.statistics"

/* Whether j is a system job (its plug-in type starts with "asyncd."). */
bool sysjob_is(const struct job *j);
/* Run system job j (this pool thread's reader connection; stop_flag raised to end it early),
 * filling *ret as a plug-in's run would. */
void sysjob_run(struct writer *w, struct engine *e, struct store *reader, const struct job *j,
		const int *stop_flag, struct run_result *ret);

/* Parse a bulk filter {"state","status","plugin_type","step_id","error_code","completed_before",
 * "older_than"} into f (its strings point into obj, which must outlive f); at least one member.
 * AE_INVAL with a message naming the member in err. */
int sysjob_filter_parse(json_t *obj, int64_t now, struct job_filter *f, char *err, size_t n_err);
/* Fill j (zeroed by the caller) as a new system job of type, operation op, owned by owner, with
 * data (stolen) and an optional recurrence (pattern NULL: runs once, now). AE_INVAL (err says
 * why) when the recurrence does not parse or has no occurrence. */
int sysjob_make(struct job *j, const char *type, int op, const char *name, const char *owner,
		json_t *data, const char *pattern, int64_t start, const char *zone, int64_t now,
		char *err, size_t n_err);

/* The idempotency keys of async-maintenance's jobs (one row each per deployment). */
extern const char *const sysjob_maintenance_keys[];
extern const size_t sysjob_n_maintenance_keys;
/* Take the maintenance jobs out of job counts per status (GET /api/v1/jobs/stats counts the
 * work; they are always there): subtracts them from by_status and total, and counts them in
 * *ret_n. Reads them by their idempotency keys (an index lookup each). */
int sysjobs_uncount_maintenance(struct store *s, int64_t by_status[33], int64_t *total,
				int64_t *ret_n, int64_t ret_by_status[33]);

/* async-maintenance says whether it runs: its own jobs (owner system) do their work only then,
 * and otherwise end their run at once with a note. */
void sysjobs_set_maintenance(bool running);
/* What the maintenance jobs deleted since the start (for the service's properties). */
struct sysjobs_stats {
	unsigned long long runs, jobs_deleted, audit_deleted, attempts_deleted;
};
void sysjobs_stats(struct sysjobs_stats *ret);

#endif
