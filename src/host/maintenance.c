/* async-maintenance (see maintenance.h): its work is recurring system jobs in the job table. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "exec/engine.h"
#include "exec/sysjobs.h"
#include "exec/writer.h"
#include "host/maintenance.h"
#include "job/job.h"
#include "store/store.h"

#define CHECK_INTERVAL_MS 60000
#define FIRST_RUN_AFTER_MS 60000 /* a new deployment's first cleanups: a minute after start */

struct maintenance {
	struct writer *w;
	struct engine *e;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running, stopping, paused, kicked;
	unsigned long long passes;
};

/* The jobs of async-maintenance, each found by its idempotency key (so every host of a
 * deployment shares one of each). Their schedule is the users' to change afterwards. */
static const struct maint_def {
	int key; /* in sysjob_maintenance_keys */
	const char *type, *name, *data, *pattern;
	int op;
} defs[] = {
    {0, SYSJOB_BULK_DELETE, "Cleanup: succeeded jobs",
     "{\"statuses\":[30],\"older_than_setting\":\"cleanup.succeeded_after\"}",
     "FREQ=MINUTELY;INTERVAL=5", JOB_OP_BULK_DELETE},
    {1, SYSJOB_BULK_DELETE, "Cleanup: failed and canceled jobs",
     "{\"statuses\":[31,32],\"older_than_setting\":\"cleanup.failed_after\"}",
     "FREQ=MINUTELY;INTERVAL=5", JOB_OP_BULK_DELETE},
    {2, SYSJOB_AUDIT_CLEANUP, "Cleanup: audit log", "{\"older_than_setting\":\"audit.retention\"}",
     "FREQ=HOURLY", JOB_OP_MAINTENANCE},
    {3, SYSJOB_ATTEMPTS_CLEANUP, "Cleanup: attempt history",
     "{\"older_than_setting\":\"attempts.retention\"}", "FREQ=HOURLY", JOB_OP_MAINTENANCE},
    {4, SYSJOB_STATISTICS, "Statistics: jobs per hour", "{}", "FREQ=HOURLY;BYMINUTE=5",
     JOB_OP_MAINTENANCE},
};

struct ensure_call {
	int64_t due; /* earliest first occurrence of a job made now */
	int made;
};

static int ensure_one(struct store *s, const struct maint_def *d, int64_t now,
		      struct ensure_call *c)
{
	int64_t id;
	char err[256];
	int rc = store_job_find_idempotent(s, sysjob_maintenance_keys[d->key], &id);
	if (rc != AE_NOTFOUND)
		return rc;
	struct job j = {0};
	rc = sysjob_make(&j, d->type, d->op, d->name, JOB_OWNER_SYSTEM,
			 json_loads(d->data, 0, NULL), d->pattern,
			 (now + FIRST_RUN_AFTER_MS) / 60000 * 60000, NULL, now, err, sizeof(err));
	if (rc == 0 && !(j.idempotency_key = strdup(sysjob_maintenance_keys[d->key])))
		rc = AE_NOMEM;
	j.max_retries = 0;
	if (rc == 0 && (rc = store_jobs_insert(s, &j, 1)) == 0) {
		c->made++;
		if (j.postpone_until && (!c->due || j.postpone_until < c->due))
			c->due = j.postpone_until;
	}
	job_done(&j);
	return rc;
}

static int ensure_fn(struct store *s, void *arg)
{
	struct ensure_call *c = arg;
	int64_t now = clock_now_ms();
	c->due = 0;
	c->made = 0;
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		int rc = ensure_one(s, &defs[i], now, c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void pass(struct maintenance *m)
{
	struct ensure_call c = {0};
	int rc = writer_call(m->w, ensure_fn, &c);
	if (rc < 0)
		log_warn("maintenance", "cannot make the maintenance jobs: %s",
			 asyncd_strerror(rc));
	if (rc == 0 && c.made) {
		log_info("maintenance", "made %d maintenance jobs", c.made);
		if (m->e) {
			engine_notify(m->e);
			if (c.due)
				engine_due(m->e, c.due);
		}
	}
	pthread_mutex_lock(&m->lock);
	m->passes++;
	pthread_mutex_unlock(&m->lock);
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
		struct timespec ts = clock_mono_deadline(CHECK_INTERVAL_MS);
		while (!m->stopping && !m->kicked &&
		       pthread_cond_timedwait(&m->wake, &m->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int maintenance_new(struct writer *w, struct engine *e, struct maintenance **ret)
{
	struct maintenance *m = calloc(1, sizeof(*m));
	if (!m)
		return AE_NOMEM;
	m->w = w;
	m->e = e;
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
	sysjobs_set_maintenance(true);
	return 0;
}

int maintenance_stop(struct maintenance *m)
{
	pthread_mutex_lock(&m->lock);
	bool was = m->running;
	m->stopping = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	sysjobs_set_maintenance(false);
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
	sysjobs_set_maintenance(!paused);
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
	struct sysjobs_stats st;
	sysjobs_stats(&st);
	pthread_mutex_lock(&m->lock);
	json_object_set_new(props, "checks", json_integer((json_int_t)m->passes));
	pthread_mutex_unlock(&m->lock);
	json_object_set_new(props, "maintenance_runs", json_integer((json_int_t)st.runs));
	json_object_set_new(props, "jobs_deleted", json_integer((json_int_t)st.jobs_deleted));
	json_object_set_new(props, "audit_entries_deleted",
			    json_integer((json_int_t)st.audit_deleted));
	json_object_set_new(props, "attempts_deleted",
			    json_integer((json_int_t)st.attempts_deleted));
}
