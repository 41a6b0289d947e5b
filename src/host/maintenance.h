/* The maintenance work of async-maintenance (SPEC §5): a thread that deletes completed jobs past
 * their retention (succeeded after cleanup.succeeded_after, failed and canceled after
 * cleanup.failed_after) and audit entries past cleanup.failed_after, in bounded batches so that
 * it never holds the writer long. It can be paused and stopped. */
#ifndef ASYNCD_MAINTENANCE_H
#define ASYNCD_MAINTENANCE_H

#include <jansson.h>
#include <stdint.h>

struct writer;
struct maintenance;

int maintenance_new(struct writer *w, struct maintenance **ret);
void maintenance_free(struct maintenance *m);
int maintenance_start(struct maintenance *m);
int maintenance_stop(struct maintenance *m);
int maintenance_pause(struct maintenance *m);
int maintenance_continue(struct maintenance *m);
/* Run one cleanup pass now (tests, and the first pass after a start). */
void maintenance_kick(struct maintenance *m);
void maintenance_describe(struct maintenance *m, json_t *props);

#endif
