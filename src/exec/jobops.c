/* User actions on jobs (see jobops.h). */
#include "exec/jobops.h"

#include <stdbool.h>

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
