/* The cleanup thread of async-maintenance (see maintenance.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/settings.h"
#include "exec/writer.h"
#include "host/maintenance.h"
#include "job/job.h"
#include "store/store.h"

#define BATCH 1000
#define MAX_BATCHES_PER_PASS 1000
#define PASS_INTERVAL_MS 60000

struct maintenance {
	struct writer *w;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running, stopping, paused, kicked;
	unsigned long long deleted_jobs, deleted_audit, passes;
	int64_t last_pass;
};

struct cleanup_call {
	int status; /* -1: audit */
	int64_t before;
	int64_t n;
};

static int cleanup_fn(struct store *s, void *arg)
{
	struct cleanup_call *c = arg;
	if (c->status < 0)
		return store_audit_cleanup(s, c->before, BATCH, &c->n);
	return store_jobs_cleanup(s, c->status, c->before, BATCH, &c->n);
}

static bool should_go_on(struct maintenance *m)
{
	pthread_mutex_lock(&m->lock);
	bool go = !m->stopping && !m->paused;
	pthread_mutex_unlock(&m->lock);
	return go;
}

/* Delete in batches until a batch comes back short; returns the rows deleted. */
static int64_t clean(struct maintenance *m, int status, int64_t before)
{
	int64_t total = 0;
	for (int i = 0; i < MAX_BATCHES_PER_PASS && should_go_on(m); i++) {
		struct cleanup_call c = {status, before, 0};
		if (writer_call(m->w, cleanup_fn, &c) < 0)
			break;
		total += c.n;
		if (c.n < BATCH)
			break;
	}
	return total;
}

static void pass(struct maintenance *m)
{
	struct settings cfg;
	settings_current(&cfg);
	int64_t now = clock_now_ms();
	int64_t jobs = clean(m, JOB_ST_SUCCEEDED, now - cfg.cleanup_succeeded_after_ms);
	jobs += clean(m, JOB_ST_FAILED, now - cfg.cleanup_failed_after_ms);
	jobs += clean(m, JOB_ST_CANCELED, now - cfg.cleanup_failed_after_ms);
	int64_t audit = clean(m, -1, now - cfg.cleanup_failed_after_ms);
	pthread_mutex_lock(&m->lock);
	m->deleted_jobs += (unsigned long long)jobs;
	m->deleted_audit += (unsigned long long)audit;
	m->passes++;
	m->last_pass = now;
	pthread_mutex_unlock(&m->lock);
	if (jobs || audit)
		log_event(
		    LOG_LVL_INFO, "maintenance",
		    LOG_FIELDS(LOG_INT("jobs_deleted", jobs), LOG_INT("audit_deleted", audit)),
		    "deleted %lld completed jobs and %lld audit entries", (long long)jobs,
		    (long long)audit);
}

static void *maintenance_main(void *arg)
{
	struct maintenance *m = arg;
	pthread_mutex_lock(&m->lock);
	while (!m->stopping) {
		if (!m->paused) {
			m->kicked = false;
			pthread_mutex_unlock(&m->lock);
			pass(m);
			pthread_mutex_lock(&m->lock);
		}
		struct timespec ts = clock_mono_deadline(PASS_INTERVAL_MS);
		while (!m->stopping && !m->kicked &&
		       pthread_cond_timedwait(&m->wake, &m->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int maintenance_new(struct writer *w, struct maintenance **ret)
{
	struct maintenance *m = calloc(1, sizeof(*m));
	if (!m)
		return AE_NOMEM;
	m->w = w;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &ca);
	pthread_condattr_destroy(&ca);
	*ret = m;
	return 0;
}

void maintenance_free(struct maintenance *m)
{
	if (!m)
		return;
	maintenance_stop(m);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	free(m);
}

int maintenance_start(struct maintenance *m)
{
	pthread_mutex_lock(&m->lock);
	bool already = m->running;
	m->stopping = m->paused = false;
	pthread_mutex_unlock(&m->lock);
	if (already)
		return AE_CONFLICT;
	if (pthread_create(&m->thread, NULL, maintenance_main, m) != 0)
		return AE_NOMEM;
	m->running = true;
	return 0;
}

int maintenance_stop(struct maintenance *m)
{
	pthread_mutex_lock(&m->lock);
	bool was = m->running;
	m->stopping = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	if (was)
		pthread_join(m->thread, NULL);
	m->running = false;
	return 0;
}

static int set_paused(struct maintenance *m, bool paused)
{
	pthread_mutex_lock(&m->lock);
	m->paused = paused;
	m->kicked = !paused;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int maintenance_pause(struct maintenance *m)
{
	return set_paused(m, true);
}

int maintenance_continue(struct maintenance *m)
{
	return set_paused(m, false);
}

void maintenance_kick(struct maintenance *m)
{
	pthread_mutex_lock(&m->lock);
	m->kicked = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

void maintenance_describe(struct maintenance *m, json_t *props)
{
	pthread_mutex_lock(&m->lock);
	json_object_set_new(props, "cleanup_passes", json_integer((json_int_t)m->passes));
	json_object_set_new(props, "jobs_deleted", json_integer((json_int_t)m->deleted_jobs));
	json_object_set_new(props, "audit_entries_deleted",
			    json_integer((json_int_t)m->deleted_audit));
	pthread_mutex_unlock(&m->lock);
}
