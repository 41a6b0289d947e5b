/* In-process execution of one job (see runner.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "exec/runner.h"
#include "plugin/context.h"
#include "plugin/libcache.h"
#include "plugin/registry.h"

void run_result_done(struct run_result *r)
{
	if (!r)
		return;
	free(r->trace);
	free(r->output);
	job_vec_done(&r->children);
	memset(r, 0, sizeof(*r));
}

static void set_outcome(struct run_result *r, int result, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_outcome(struct run_result *r, int result, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	r->outcome.result = result;
	r->outcome.delay_ms = -1;
	r->outcome.error_code = code;
	r->outcome.message = r->message;
}

/* The children of the events a run raised; a bad event fails the run (the author must see it). */
static void raise_children(const struct job *j, struct asyncd_ctx *c, const struct settings *cfg,
			   const struct registry_snap *snap, struct run_result *r)
{
	char err[512];
	struct event_origin o = {
	    .depth = j->depth,
	    .correlation_id = j->correlation_id,
	    .chain_started_on =
		(int64_t)json_integer_value(json_object_get(c->data, "chain_started_on")),
	    .user = j->owner,
	};
	size_t i;
	json_t *ev;
	if (!o.chain_started_on)
		o.chain_started_on = j->created_on;
	json_array_foreach(c->raised, i, ev)
	{
		if (events_make_jobs(snap, ev, &o, cfg, clock_now_ms(), &r->children, err,
				     sizeof(err)) < 0) {
			job_vec_done(&r->children);
			set_outcome(r, ASYNCD_FAIL_PERMANENT, "bad_event",
				    "the plug-in raised an invalid event: %s", err);
			return;
		}
	}
}

static void take_outcome(struct asyncd_ctx *c, int rc, struct run_result *r)
{
	int result = c->has_result && c->result == rc ? c->result : rc;
	if (result < ASYNCD_SUCCESS || result > ASYNCD_NEEDS_ATTENTION) {
		set_outcome(r, ASYNCD_FAIL_PERMANENT, "bad_result",
			    "the plug-in returned %d, which is not an asyncd_result", rc);
		return;
	}
	snprintf(r->message, sizeof(r->message), "%s", c->message);
	r->outcome.result = result;
	r->outcome.delay_ms = c->has_result ? c->delay_ms : -1;
	r->outcome.error_code = NULL;
	r->outcome.message = r->message[0] ? r->message : NULL;
}

static void execute(const struct job *j, const struct asyncd_plugin_type *t, void *instance,
		    const struct reg_step *st, const struct settings *cfg, const int *stop_flag,
		    const struct registry_snap *snap, struct run_result *r)
{
	struct asyncd_ctx c;
	if (ctx_init(&c, j, st ? st->row.configuration : NULL,
		     st ? st->row.secure_configuration : NULL, (size_t)cfg->max_trace_bytes,
		     stop_flag) < 0) {
		set_outcome(r, ASYNCD_FAIL_PERMANENT, "bad_context",
			    "the job's data is not valid JSON");
		return;
	}
	int64_t t0 = clock_mono_ms();
	r->started_on = clock_now_ms();
	int rc = t->execute(instance, &c, ctx_host_api());
	r->execution_time_ms = clock_mono_ms() - t0;
	take_outcome(&c, rc, r);
	if (r->outcome.result == ASYNCD_SUCCESS && json_array_size(c.raised))
		raise_children(j, &c, cfg, snap, r);
	r->trace = c.trace.len ? buf_steal(&c.trace) : NULL;
	r->output = c.output;
	c.output = NULL;
	ctx_done(&c);
}

static const char *type_part(const char *full)
{
	const char *dot = strrchr(full, '.');
	return dot ? dot + 1 : full;
}

static void run_resolved(const struct job *j, const struct assembly *a, const struct reg_step *st,
			 struct store *reader, const struct settings *cfg, const int *stop_flag,
			 const struct registry_snap *snap, struct run_result *r)
{
	char err[512];
	struct lib_entry *lib;
	const struct asyncd_plugin_type *t;
	void *instance;
	int rc = libcache_acquire(a->sha256, reader, &lib, err, sizeof(err));
	if (rc < 0) {
		bool transient = rc == AE_STORE || rc == AE_BUSY || rc == AE_IO || rc == AE_NOMEM;
		set_outcome(r, transient ? ASYNCD_FAIL_TRANSIENT : ASYNCD_FAIL_PERMANENT,
			    transient ? "store_error" : "plugin_load_failed", "%s", err);
		return;
	}
	rc = libcache_instance(
	    lib, type_part(j->plugin_type), st ? st->row.id : 0, st ? st->row.configuration : NULL,
	    st ? st->row.secure_configuration : NULL, &t, &instance, err, sizeof(err));
	if (rc < 0)
		set_outcome(r, ASYNCD_FAIL_PERMANENT,
			    rc == AE_NOTFOUND ? "type_missing" : "plugin_create_failed", "%s", err);
	else
		execute(j, t, instance, st, cfg, stop_flag, snap, r);
	libcache_release(lib);
}

void runner_run(const struct job *j, struct store *reader, const struct settings *cfg,
		const int *stop_flag, struct run_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct registry_snap *snap = registry_get();
	const struct assembly *a = j->assembly_id ? registry_assembly(snap, j->assembly_id)
						  : registry_resolve_type(snap, j->plugin_type);
	const struct reg_step *st = j->step_id ? registry_step(snap, j->step_id) : NULL;
	if (!a)
		set_outcome(ret, ASYNCD_FAIL_PERMANENT, "plugin_missing",
			    "no registered assembly provides %s", j->plugin_type);
	else if (a->isolation == ISOLATION_SANDBOX)
		set_outcome(ret, ASYNCD_FAIL_TRANSIENT, "sandbox_unavailable",
			    "%s runs in the sandbox, which this host does not offer yet",
			    j->plugin_type);
	else
		run_resolved(j, a, st, reader, cfg, stop_flag, snap, ret);
	registry_put(snap);
}
