/* The drain thread (see drain.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "common/clock.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "host/drain.h"
#include "plugin/libcache.h"
#include "plugin/lifecycle.h"
#include "plugin/registry.h"
#include "store/store.h"

#define TICK_MS 500

static pthread_t lc_thread;
static pthread_mutex_t lc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lc_cond = PTHREAD_COND_INITIALIZER;
static bool lc_running, lc_stopping, lc_kicked;
static struct writer *lc_writer;
static struct engine *lc_engine;
static char *lc_reader_url;

/* Finish the drain of one step or assembly if its jobs are done, or, once its deadline passed,
 * cancel what is left (plugin_deleted) and delete it; true when it was deleted. */
static bool finish_drain(enum lc_kind kind, int64_t id, int64_t deadline)
{
	bool late = deadline && clock_now_ms() >= deadline;
	struct lc_delete d = {.kind = kind, .id = id, .mode = late ? LC_CANCEL : LC_DRAIN};
	int rc = writer_call(lc_writer, lifecycle_delete_fn, &d);
	bool deleted = rc == 0 && d.res.deleted;
	if (deleted && lc_engine && d.res.n_interrupted)
		engine_interrupt(lc_engine, d.res.interrupted, d.res.n_interrupted);
	const struct log_field *f =
	    LOG_FIELDS(LOG_INT(kind == LC_STEP ? "step_id" : "assembly_id", id));
	if (deleted && late)
		log_event(
		    LOG_LVL_WARN, "drain", f,
		    "%s %lld: its drain's deadline passed; %lld unfinished jobs were canceled "
		    "(plugin_deleted) and it was deleted",
		    kind == LC_STEP ? "step" : "assembly", (long long)id,
		    (long long)(d.res.counts.by_state[0] + d.res.counts.by_state[1] +
				d.res.counts.by_state[2]));
	else if (deleted)
		log_event(LOG_LVL_INFO, "drain", f, "%s %lld drained and deleted",
			  kind == LC_STEP ? "step" : "assembly", (long long)id);
	lc_result_done(&d.res);
	return deleted;
}

static bool drain_pass(const struct registry_snap *r)
{
	bool changed = false;
	for (size_t i = 0; i < r->n_steps; i++)
		if (r->steps[i].row.draining)
			changed |= finish_drain(LC_STEP, r->steps[i].row.id,
						r->steps[i].row.drain_deadline);
	for (size_t i = 0; i < r->n_assemblies; i++)
		if (r->assemblies[i].draining)
			changed |= finish_drain(LC_ASSEMBLY, r->assemblies[i].id,
						r->assemblies[i].drain_deadline);
	return changed;
}

/* Unload libraries that no current assembly uses and no run holds. */
static void sweep_code(const struct registry_snap *r)
{
	const char **keep = calloc(r->n_assemblies + 1, sizeof(*keep));
	if (!keep)
		return;
	for (size_t i = 0; i < r->n_assemblies; i++)
		keep[i] = r->assemblies[i].sha256;
	libcache_sweep(keep, r->n_assemblies);
	free(keep);
}

static void pass(struct store *reader)
{
	if (reader)
		registry_reload(reader);
	struct registry_snap *r = registry_get();
	if (!r)
		return;
	bool changed = drain_pass(r);
	registry_put(r);
	if (changed && reader)
		registry_reload(reader);
	r = registry_get();
	sweep_code(r);
	registry_put(r);
}

static void *drain_main(void *arg)
{
	struct store *reader = NULL;
	(void)arg;
	if (store_open(lc_reader_url, &reader) < 0)
		log_error("drain", "cannot open a reader connection");
	pthread_mutex_lock(&lc_lock);
	while (!lc_stopping) {
		lc_kicked = false;
		pthread_mutex_unlock(&lc_lock);
		pass(reader);
		pthread_mutex_lock(&lc_lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!lc_stopping && !lc_kicked &&
		       pthread_cond_timedwait(&lc_cond, &lc_lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&lc_lock);
	store_close(reader);
	return NULL;
}

int drain_start(struct writer *w, struct engine *e, const char *reader_url)
{
	lc_writer = w;
	lc_engine = e;
	lc_reader_url = strdup(reader_url);
	lc_stopping = false;
	if (!lc_reader_url || pthread_create(&lc_thread, NULL, drain_main, NULL) != 0)
		return AE_NOMEM;
	lc_running = true;
	return 0;
}

void drain_stop(void)
{
	if (!lc_running)
		return;
	pthread_mutex_lock(&lc_lock);
	lc_stopping = true;
	pthread_cond_signal(&lc_cond);
	pthread_mutex_unlock(&lc_lock);
	pthread_join(lc_thread, NULL);
	lc_running = false;
	free(lc_reader_url);
	lc_reader_url = NULL;
}

void drain_kick(void)
{
	pthread_mutex_lock(&lc_lock);
	lc_kicked = true;
	pthread_cond_signal(&lc_cond);
	pthread_mutex_unlock(&lc_lock);
}
