/* Safe deletes of steps and assemblies (SPEC §2): refuse while jobs are unfinished, drain (stop
 * creating jobs, let the queued and running ones finish, then delete), or cancel (cancel the
 * unfinished jobs with reason plugin_deleted, keep their rows, delete at once); and the thread
 * that finishes drains and unloads code no job uses any more. Each decision is taken inside one
 * writer transaction, so it holds against concurrent events. */
#ifndef ASYNCD_LIFECYCLE_H
#define ASYNCD_LIFECYCLE_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

struct writer;
struct engine;

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

/* -1 when unknown. */
int lifecycle_mode_parse(const char *s);
/* Delete per mode. AE_CONFLICT when refused (counts or blocking_steps say why), AE_NOTFOUND. */
int lifecycle_delete(struct writer *w, enum lc_kind kind, int64_t id, enum lc_mode mode,
		     struct lc_result *ret);
void lc_result_done(struct lc_result *r);

/* Within a writer transaction: whether new jobs may be created for the step or assembly. */
int lifecycle_accepts_jobs(struct store *s, enum lc_kind kind, int64_t id, bool *ret);

/* The thread that completes drains and unloads unused code. */
int lifecycle_start(struct writer *w, const char *reader_url);
void lifecycle_stop(void);
/* Run one pass now (after a delete), without waiting for the next tick. */
void lifecycle_kick(void);

#endif
