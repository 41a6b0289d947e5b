/* Whether the host is alive, for the systemd watchdog (notify.h): the writer must answer a probe
 * (an empty op committed in its own group) and the dispatcher must end a pass it was woken for,
 * each between two checks. A writer stuck in the store, or a dispatcher that never comes back,
 * stops the pings, and systemd restarts asyncd. Also what the host is doing, for STATUS=. */
#ifndef ASYNCD_LIVENESS_H
#define ASYNCD_LIVENESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/writer.h"

struct engine;

struct liveness {
	struct writer *w;
	struct engine *e;
	atomic_bool stopping;
	struct writer_op probe;
	atomic_uint sent, answered; /* probes posted and answered by the writer */
	int64_t probe_at;	    /* when the probe not yet answered was posted (ms, monotonic) */
	unsigned long long passes;  /* the dispatcher's passes at the last check */
	bool dispatching;	    /* it was dispatching at the last check */
};

void liveness_init(struct liveness *l, struct writer *w, struct engine *e);
/* The host is stopping: STATUS says how many jobs are left to drain. */
void liveness_stopping(struct liveness *l);
/* notify_check_fn: the check of one watchdog tick (arg: the struct liveness). */
bool liveness_check(void *arg, char *status, size_t n);

#endif
