/* Noticing that a plug-in ran into the worker's memory limit: the worker's executable interposes
 * malloc and friends (glibc's __libc_* do the work) and counts the allocations refused, so that a
 * run that fails after one is reported as out_of_memory. Not built into sanitizer builds, whose
 * runtime owns malloc (there the host's RSS watchdog decides). */
#ifndef ASYNCD_WORKER_OOM_H
#define ASYNCD_WORKER_OOM_H

#include <stdbool.h>

/* Forget refusals seen by this thread so far (at the start of a run). */
void oom_reset(void);
/* Whether an allocation was refused since oom_reset(), in any thread of the worker. */
bool oom_seen(void);

#endif
