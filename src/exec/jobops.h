/* A user's action on one job (cancel, pause, resume, postpone, retry, delete), whoever asks it (the
 * API, the CLI's local socket, the console): the transition (job/job.c job_apply_action) decided
 * and stored in one writer transaction, then the engine told (a Locked job's run is interrupted,
 * a Ready one noticed, a postponed one scheduled). */
#ifndef ASYNCD_JOBOPS_H
#define ASYNCD_JOBOPS_H

#include <stdint.h>

#include "job/job.h"

struct writer;
struct engine;

struct jobop {
	int64_t id;
	enum job_action act;
	int64_t until;	  /* postpone: not before this time */
	struct job job;	  /* the job after the action (before it, when refused); job_done it */
	int state_before; /* for the audit */
};

/* Apply op->act to job op->id through w, then tell e (may be NULL). 0, AE_NOTFOUND, AE_CONFLICT
 * (not allowed in the job's state: op->job says which), or a store error. */
int jobops_apply(struct writer *w, struct engine *e, struct jobop *op);

#endif
