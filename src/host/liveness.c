/* The watchdog's proof of life (see liveness.h). Runs on the notify watch thread only. */
#include <stdio.h>

#include "common/clock.h"
#include "exec/engine.h"
#include "host/liveness.h"

static int probe_fn(struct store *s, void *arg)
{
	(void)s;
	(void)arg;
	return 0;
}

static void probe_done(void *arg, int rc)
{
	struct liveness *l = arg;
	(void)rc; /* a failed commit is an answer too: the writer is not stuck */
	atomic_fetch_add(&l->answered, 1);
}

void liveness_init(struct liveness *l, struct writer *w, struct engine *e)
{
	*l = (struct liveness){.w = w, .e = e};
	l->probe = (struct writer_op){.fn = probe_fn, .arg = l, .done = probe_done};
}

void liveness_stopping(struct liveness *l)
{
	atomic_store(&l->stopping, true);
}

/* The writer answered the last probe (then a new one is posted): true. A probe still queued or
 * in a group that does not end: false, with how long it has waited in *ret_ms. */
static bool writer_alive(struct liveness *l, int64_t *ret_ms)
{
	int64_t now = clock_mono_ms();
	if (atomic_load(&l->sent) != atomic_load(&l->answered)) {
		*ret_ms = now - l->probe_at;
		return false;
	}
	l->probe_at = now;
	atomic_fetch_add(&l->sent, 1);
	if (writer_post(l->w, &l->probe) < 0)
		atomic_fetch_add(&l->answered, 1); /* stopping: it takes no more ops */
	return true;
}

/* The dispatcher ended a pass since the last check (it is woken now for the next one), or does
 * not run (the async service is stopped or stopping). */
static bool dispatcher_alive(struct liveness *l, struct engine_stats *st)
{
	engine_stats(l->e, st);
	bool alive = !st->dispatching || !l->dispatching || st->passes != l->passes;
	l->dispatching = st->dispatching;
	l->passes = st->passes;
	if (st->dispatching)
		engine_notify(l->e);
	return alive;
}

bool liveness_check(void *arg, char *status, size_t n)
{
	struct liveness *l = arg;
	struct engine_stats st;
	int64_t stuck_ms = 0;
	bool writer_ok = writer_alive(l, &stuck_ms);
	bool dispatcher_ok = dispatcher_alive(l, &st);
	if (!writer_ok)
		snprintf(status, n, "not alive: the writer has not committed for %lld ms",
			 (long long)stuck_ms);
	else if (!dispatcher_ok)
		snprintf(status, n, "not alive: the dispatcher has not ended a pass");
	else if (atomic_load(&l->stopping))
		snprintf(status, n, "draining: %d jobs left", st.held + st.running);
	else if (st.dispatching)
		snprintf(status, n, "running: %d jobs running, %d held", st.running, st.held);
	else
		snprintf(status, n, "running: job processing is stopped");
	return writer_ok && dispatcher_ok;
}
