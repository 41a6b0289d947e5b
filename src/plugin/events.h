/* Events to jobs: validates an event, matches it against the enabled steps of a registry
 * snapshot (message, entity or any, filtering attributes for Update, rank order), copies the
 * images each step asks for, and builds one job row per step, applying the depth guard. It
 * writes nothing itself: the caller runs events_insert_fn through its writer, one transaction. */
#ifndef ASYNCD_EVENTS_H
#define ASYNCD_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/settings.h"
#include "job/job.h"
#include "plugin/registry.h"

#define EVENT_NAME_MAX 128
#define EVENT_ID_MAX 256

/* Where an event comes from: the outside (depth 0, no correlation) or a running job. */
struct event_origin {
	int depth;		    /* the raising job's depth; 0 for an outside event */
	const char *correlation_id; /* NULL: take the event's or make one */
	int64_t chain_started_on;   /* when the chain began; 0 for an outside event */
	const char *user;	    /* who raised it */
};

/* A growable array of jobs. */
struct job_vec {
	struct job *v;
	size_t n, cap;
};

void job_vec_done(struct job_vec *jv);

/* Check an event object; AE_INVAL with a message a person can act on. */
int events_validate(json_t *ev, char *err, size_t errlen);
/* Append the jobs event ev causes to out. */
int events_make_jobs(const struct registry_snap *r, json_t *ev, const struct event_origin *o,
		     const struct settings *cfg, int64_t now, struct job_vec *out, char *err,
		     size_t errlen);

/* A writer op (arg: struct job_vec *): drop the jobs of steps deleted or being drained since the
 * registry snapshot they were made from was taken, so that no job is created for code on its way
 * out, then insert the rest (ids set in place). */
int events_insert_fn(struct store *s, void *arg);

#endif
