/* The three services of a host and their stored configuration (see services.h). */
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "sandbox/sandbox.h"
#include "exec/writer.h"
#include "host/maintenance.h"
#include "host/services.h"
#include "store/store.h"

/* ---- async ---- */

static int async_start(void *ctx)
{
	struct async_ctx *a = ctx;
	return engine_start(a->engine);
}

static int async_stop(void *ctx)
{
	struct async_ctx *a = ctx;
	struct settings cfg;
	settings_current(&cfg);
	pthread_mutex_lock(&a->lock);
	a->stop_timeout_ms = cfg.stop_timeout_ms;
	a->stop_deadline = clock_mono_ms() + cfg.stop_timeout_ms;
	pthread_mutex_unlock(&a->lock);
	int n = engine_stop(a->engine, cfg.stop_timeout_ms);
	if (n)
		log_info("async", "%d running jobs were interrupted and returned to Ready", n);
	pthread_mutex_lock(&a->lock);
	a->stop_deadline = 0;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static int async_pause(void *ctx)
{
	struct async_ctx *a = ctx;
	return engine_pause(a->engine);
}

static int async_resume(void *ctx)
{
	struct async_ctx *a = ctx;
	return engine_continue(a->engine);
}

static void async_describe(void *ctx, json_t *props)
{
	struct async_ctx *a = ctx;
	struct engine_stats st;
	engine_stats(a->engine, &st);
	json_object_set_new(props, "jobs_running", json_integer(st.running));
	json_object_set_new(props, "jobs_held", json_integer(st.held));
	json_object_set_new(props, "processed_since_start", json_integer((json_int_t)st.processed));
	json_object_set_new(props, "dispatch_passes", json_integer((json_int_t)st.passes));
	pthread_mutex_lock(&a->lock);
	if (a->stop_deadline) {
		int64_t left = a->stop_deadline - clock_mono_ms();
		json_object_set_new(props, "seconds_left",
				    json_real(left > 0 ? (double)left / 1000.0 : 0.0));
		json_object_set_new(props, "stop_timeout_s",
				    json_real((double)a->stop_timeout_ms / 1000.0));
	}
	pthread_mutex_unlock(&a->lock);
}

static const struct service_ops async_ops = {
    .start = async_start,
    .stop = async_stop,
    .pause = async_pause,
    .resume = async_resume,
    .describe = async_describe,
};

/* ---- async-maintenance ---- */

static int maint_start(void *ctx)
{
	return maintenance_start(ctx);
}

static int maint_stop(void *ctx)
{
	return maintenance_stop(ctx);
}

static int maint_pause(void *ctx)
{
	return maintenance_pause(ctx);
}

static int maint_resume(void *ctx)
{
	return maintenance_continue(ctx);
}

static void maint_describe(void *ctx, json_t *props)
{
	maintenance_describe(ctx, props);
}

static const struct service_ops maint_ops = {
    .start = maint_start,
    .stop = maint_stop,
    .pause = maint_pause,
    .resume = maint_resume,
    .describe = maint_describe,
};

/* ---- sandbox ---- */

/* The worker pool (sandbox/sandbox.c); its ctx is the host's services, for the worker's path. */
static int sb_svc_start(void *ctx)
{
	struct host_services *hs = ctx;
	if (!hs->worker_path || !hs->worker_path[0])
		return AE_INTERNAL;
	return sandbox_start(hs->sandbox, hs->worker_path, hs->state_dir);
}

static int sb_svc_stop(void *ctx)
{
	struct host_services *hs = ctx;
	struct settings cfg;
	settings_current(&cfg);
	return sandbox_stop(hs->sandbox, cfg.stop_timeout_ms);
}

static void sb_svc_describe(void *ctx, json_t *props)
{
	struct host_services *hs = ctx;
	sandbox_describe(hs->sandbox, props);
}

static const struct service_ops sandbox_ops = {
    .start = sb_svc_start,
    .stop = sb_svc_stop,
    .describe = sb_svc_describe,
};

/* ---- the set ---- */

static void load_configs(struct host_services *hs, struct store *reader)
{
	struct service_config *c;
	size_t n;
	if (store_service_configs(reader, hs->host_id, &c, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct service *s = services_find(hs, c[i].name);
		if (s && c[i].startup_type >= SVC_AUTOMATIC && c[i].startup_type <= SVC_DISABLED) {
			s->startup = (enum svc_startup)c[i].startup_type;
			s->recovery_delay_s = c[i].recovery_delay_s;
		}
	}
	service_configs_free(c, n);
}

int services_init(struct host_services *hs, const char *host_id, struct writer *w, struct engine *e,
		  struct store *reader)
{
	memset(hs, 0, sizeof(*hs));
	hs->host_id = host_id;
	hs->w = w;
	hs->async.engine = e;
	pthread_mutex_init(&hs->async.lock, NULL);
	int rc = maintenance_new(w, e, &hs->maint);
	if (rc == 0)
		rc = sandbox_new(&hs->sandbox);
	if (rc < 0)
		return rc;
	engine_set_sandbox(e, hs->sandbox);
	service_init(&hs->svc[SVC_ASYNC], "async", "Asynchronous Processing Service",
		     "selects and runs system jobs", &async_ops, &hs->async);
	service_init(
	    &hs->svc[SVC_MAINTENANCE], "async-maintenance",
	    "Asynchronous Processing Service (maintenance)",
	    "recurring system jobs: cleanup of completed jobs, the audit log and the attempt "
	    "history",
	    &maint_ops, hs->maint);
	service_init(&hs->svc[SVC_SANDBOX], "sandbox", "Sandbox Processing Service",
		     "the pool of worker processes for sandboxed plug-ins", &sandbox_ops, hs);
	load_configs(hs, reader);
	return 0;
}

struct service *services_find(struct host_services *hs, const char *name)
{
	for (int i = 0; name && i < SVC_COUNT; i++)
		if (!strcmp(hs->svc[i].name, name))
			return &hs->svc[i];
	return NULL;
}

void services_start_automatic(struct host_services *hs)
{
	/* sandbox first: async hands it jobs */
	static const int order[] = {SVC_SANDBOX, SVC_MAINTENANCE, SVC_ASYNC};
	for (int i = 0; i < SVC_COUNT; i++) {
		struct service *s = &hs->svc[order[i]];
		if (s->startup == SVC_AUTOMATIC && service_run(s, SVC_ACT_START) < 0)
			log_event(LOG_LVL_ERROR, "host", LOG_FIELDS(LOG_STR("service", s->name)),
				  "%s did not start: %s", s->name, s->last_error);
	}
}

void services_stop_all(struct host_services *hs)
{
	static const int order[] = {SVC_ASYNC, SVC_MAINTENANCE, SVC_SANDBOX};
	for (int i = 0; i < SVC_COUNT; i++) {
		struct service *s = &hs->svc[order[i]];
		/* a pending pause is overtaken (the stop has a timeout); anything else ends first
		 */
		if (service_status(s) != SVC_PAUSE_PENDING)
			service_wait_idle(s, -1);
		enum svc_status st = service_status(s);
		if (st == SVC_RUNNING || st == SVC_PAUSED || st == SVC_PAUSE_PENDING)
			service_run(s, SVC_ACT_STOP);
		service_wait_idle(s, -1);
	}
}

void services_done(struct host_services *hs)
{
	for (int i = 0; i < SVC_COUNT; i++)
		service_done(&hs->svc[i]);
	maintenance_free(hs->maint);
	sandbox_free(hs->sandbox);
	pthread_mutex_destroy(&hs->async.lock);
}

struct config_call {
	const char *host_id;
	struct service_config c;
};

static int config_fn(struct store *s, void *arg)
{
	struct config_call *c = arg;
	return store_service_config_put(s, c->host_id, &c->c);
}

int services_configure(struct host_services *hs, struct service *s, int startup,
		       int recovery_delay_s)
{
	struct config_call c = {hs->host_id,
				{(char *)s->name, startup >= 0 ? startup : (int)s->startup,
				 recovery_delay_s >= 0 ? recovery_delay_s : s->recovery_delay_s}};
	int rc = writer_call(hs->w, config_fn, &c);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	s->startup = (enum svc_startup)c.c.startup_type;
	s->recovery_delay_s = c.c.recovery_delay_s;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
