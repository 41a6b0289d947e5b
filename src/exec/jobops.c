/* User actions on jobs (see jobops.h). */
#include "exec/jobops.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "store/store.h"

struct call {
	struct jobop *op;
	bool interrupt;
};

static int action_fn(struct store *s, void *arg)
{
	struct call *c = arg;
	struct jobop *op = c->op;
	job_done(&op->job); /* a run before a rollback may have read it */
	int rc = store_job_get(s, op->id, &op->job);
	if (rc < 0)
		return rc;
	op->state_before = op->job.state;
	op->maintenance = job_is_maintenance(&op->job);
	if (op->maintenance)
		return AE_CONFLICT;
	if (!job_apply_action(&op->job, op->act, op->until, clock_now_ms(), &c->interrupt))
		return AE_CONFLICT;
	if (op->act == JOB_ACT_DELETE)
		return store_job_delete(s, op->id);
	return store_job_update(s, &op->job);
}

int jobops_apply(struct writer *w, struct engine *e, struct jobop *op)
{
	struct call c = {op, false};
	int rc = writer_call(w, action_fn, &c);
	if (rc < 0 || !e)
		return rc;
	if (c.interrupt)
		engine_interrupt(e, &op->id, 1);
	if (op->job.state == JOB_READY)
		engine_notify(e);
	if (op->job.postpone_until)
		engine_due(e, op->job.postpone_until);
	return 0;
}

/* ---- many jobs ---- */

struct many_call {
	enum job_action act;
	const int64_t *ids;
	size_t n;
	const char *owner;
	int64_t skip_id;
	struct jobops_counts counts; /* of this run of the op */
	int64_t *interrupt;	     /* ids of Locked jobs to interrupt */
	size_t n_interrupt;
	bool ready;
};

static int many_fn(struct store *s, void *arg)
{
	struct many_call *c = arg;
	memset(&c->counts, 0, sizeof(c->counts));
	c->n_interrupt = 0;
	c->ready = false;
	for (size_t i = 0; i < c->n; i++) {
		struct job j = {0};
		int rc = store_job_get(s, c->ids[i], &j);
		bool mine = rc == 0 && (!c->owner || (j.owner && !strcmp(j.owner, c->owner)));
		bool interrupt = false;
		if (rc == AE_NOTFOUND || (rc == 0 && !mine)) {
			c->counts.not_found++;
		} else if (rc < 0) {
			return rc;
		} else if (c->ids[i] == c->skip_id || job_is_maintenance(&j) ||
			   !job_apply_action(&j, c->act, 0, clock_now_ms(), &interrupt)) {
			c->counts.not_allowed++;
		} else {
			rc = c->act == JOB_ACT_DELETE ? store_job_delete(s, j.id)
						      : store_job_update(s, &j);
			if (rc < 0 && rc != AE_NOTFOUND) {
				job_done(&j);
				return rc;
			}
			c->counts.done++;
			if (interrupt)
				c->interrupt[c->n_interrupt++] = j.id;
			c->ready |= j.state == JOB_READY && c->act != JOB_ACT_DELETE;
		}
		job_done(&j);
	}
	return 0;
}

int jobops_apply_many(struct writer *w, struct engine *e, enum job_action act, const int64_t *ids,
		      size_t n, const char *owner, int64_t skip_id, struct jobops_counts *counts)
{
	if (n > JOBOPS_BATCH)
		return AE_TOOBIG;
	struct many_call c = {.act = act, .ids = ids, .n = n, .owner = owner, .skip_id = skip_id};
	c.interrupt = calloc(n ? n : 1, sizeof(*c.interrupt));
	if (!c.interrupt)
		return AE_NOMEM;
	int rc = writer_call(w, many_fn, &c);
	if (rc == 0) {
		counts->done += c.counts.done;
		counts->not_allowed += c.counts.not_allowed;
		counts->not_found += c.counts.not_found;
		if (e && c.n_interrupt)
			engine_interrupt(e, c.interrupt, c.n_interrupt);
		if (e && c.ready)
			engine_notify(e);
	}
	free(c.interrupt);
	return rc;
}
