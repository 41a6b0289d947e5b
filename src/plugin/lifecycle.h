/* Safe deletes of steps and assemblies (SPEC §2): refuse while jobs are unfinished, drain (stop
 * creating jobs, let the queued and running ones finish, then delete), or cancel (cancel the
 * unfinished jobs with reason plugin_deleted, keep their rows, delete at once). Each decision is
 * an op for the caller's writer (one transaction), so it holds against concurrent events. The
 * thread that finishes drains is the host's (src/host/drain.c). */
#ifndef ASYNCD_LIFECYCLE_H
#define ASYNCD_LIFECYCLE_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

enum lc_kind { LC_STEP, LC_ASSEMBLY };
enum lc_mode { LC_REFUSE, LC_DRAIN, LC_CANCEL };

struct lc_result {
	struct job_counts counts; /* unfinished jobs when asked */
	bool deleted;		  /* gone now */
	bool draining;		  /* will be gone once its jobs are done */
	json_t *blocking_steps;	  /* an assembly's steps, when they refuse the delete */
	int64_t *interrupted;	  /* running jobs canceled (cancel mode) */
	size_t n_interrupted;
};

/* A delete to decide: what, how, and what came of it (free res with lc_result_done). */
struct lc_delete {
	enum lc_kind kind;
	int64_t id;
	enum lc_mode mode;
	int64_t
	    deadline; /* LC_DRAIN: when what is left is canceled (ms since the epoch; 0: never) */
	struct lc_result res;
};

/* -1 when unknown. */
int lifecycle_mode_parse(const char *s);
/* A writer op (arg: struct lc_delete): delete per mode. AE_CONFLICT when refused (res.counts or
 * res.blocking_steps say why), AE_NOTFOUND. */
int lifecycle_delete_fn(struct store *s, void *arg);
void lc_result_done(struct lc_result *r);

/* Within a writer transaction: whether new jobs may be created for the step or assembly. */
int lifecycle_accepts_jobs(struct store *s, enum lc_kind kind, int64_t id, bool *ret);

#endif
