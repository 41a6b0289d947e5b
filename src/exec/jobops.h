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
	bool maintenance; /* refused: a recurring job of async-maintenance (AE_CONFLICT) */
};

/* Apply op->act to job op->id through w, then tell e (may be NULL). 0, AE_NOTFOUND, AE_CONFLICT
 * (not allowed in the job's state: op->job says which), or a store error. */
int jobops_apply(struct writer *w, struct engine *e, struct jobop *op);

/* What a bulk action did. */
struct jobops_counts {
	int64_t done;	     /* the action was applied */
	int64_t not_allowed; /* refused in the job's state, or a maintenance job */
	int64_t not_found;   /* gone (or not visible to owner) */
};

/* Apply act to the n jobs ids in one writer transaction (at most JOBOPS_BATCH), with the same
 * rules as jobops_apply, then tell e (may be NULL); counts are added to *counts. owner: only
 * jobs of that owner count (others are not_found); NULL: any. skip_id: a job left alone (the
 * bulk job itself), 0: none. */
#define JOBOPS_BATCH 1000
int jobops_apply_many(struct writer *w, struct engine *e, enum job_action act, const int64_t *ids,
		      size_t n, const char *owner, int64_t skip_id, struct jobops_counts *counts);

#endif
