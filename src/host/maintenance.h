/* async-maintenance (SPEC §5): its work is recurring system jobs of the job table, owned by
 * "system" and visible in the job list (exec/sysjobs.c runs them): cleanup of succeeded jobs
 * (cleanup.succeeded_after) and of failed and canceled ones (cleanup.failed_after) as bulk
 * deletes (operation type 13), of the audit log (audit.retention) and of the attempt history
 * (attempts.retention). Its thread makes the jobs that do not exist yet (at start, then every
 * minute); while it is stopped or paused on a host, its jobs claimed there end at once without
 * work. docs/system-jobs.md. */
#ifndef ASYNCD_MAINTENANCE_H
#define ASYNCD_MAINTENANCE_H

#include <jansson.h>
#include <stdint.h>

struct writer;
struct engine;
struct maintenance;

/* e (may be NULL) is told of the jobs it makes. */
int maintenance_new(struct writer *w, struct engine *e, struct maintenance **ret);
void maintenance_free(struct maintenance *m);
int maintenance_start(struct maintenance *m);
int maintenance_stop(struct maintenance *m);
int maintenance_pause(struct maintenance *m);
int maintenance_continue(struct maintenance *m);
/* Make the missing maintenance jobs now. */
void maintenance_kick(struct maintenance *m);
void maintenance_describe(struct maintenance *m, json_t *props);

#endif
