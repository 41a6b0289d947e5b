/* Execution of one job (see runner.h): in-process for isolation=none, handed to the sandbox
 * supervisor for isolation=sandbox, whose reply is turned into the same completion. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "exec/inflight.h"
#include "sandbox/ipc.h"
#include "sandbox/ipc_job.h"
#include "exec/runner.h"
#include "sandbox/sandbox.h"
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

/* The children of the events a run raised (data: the job's data, parsed); a bad event fails the
 * run (the author must see it). */
static void raise_children(const struct job *j, json_t *data, json_t *raised,
			   const struct settings *cfg, const struct registry_snap *snap,
			   struct run_result *r)
{
	char err[512];
	struct event_origin o = {
	    .depth = j->depth,
	    .correlation_id = j->correlation_id,
	    .chain_started_on =
		(int64_t)json_integer_value(json_object_get(data, "chain_started_on")),
	    .user = j->owner,
	};
	size_t i;
	json_t *ev;
	if (!o.chain_started_on)
		o.chain_started_on = j->created_on;
	json_array_foreach(raised, i, ev)
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
		raise_children(j, c.data, c.raised, cfg, snap, r);
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

/* An assembly that could not be had from the store: the store's trouble (the database away
 * included) is transient, the job is tried again; anything else is the assembly's, permanent. */
static bool load_transient(int rc)
{
	return rc == AE_STORE || rc == AE_BUSY || rc == AE_IO || rc == AE_NOMEM ||
	       rc == AE_UNAVAILABLE;
}

static int load_failure(int rc)
{
	return load_transient(rc) ? ASYNCD_FAIL_TRANSIENT : ASYNCD_FAIL_PERMANENT;
}

static const char *load_failure_code(int rc)
{
	if (rc == AE_UNAVAILABLE)
		return "store_unavailable";
	return load_transient(rc) ? "store_error" : "plugin_load_failed";
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
		set_outcome(r, load_failure(rc), load_failure_code(rc), "%s", err);
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

/* ---- sandboxed runs ---- */

static char *copy_text(const char *s, size_t n, size_t max)
{
	if (!s || !n)
		return NULL;
	if (n > max)
		n = max;
	char *c = malloc(n + 1);
	if (!c)
		return NULL;
	memcpy(c, s, n);
	c[n] = 0;
	ipc_utf8_sanitize(c, n);
	return c;
}

/* Output that is not JSON is dropped: the worker is not trusted to have checked it. */
static char *copy_output(const char *s)
{
	json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	if (!v)
		return NULL;
	json_decref(v);
	return strdup(s);
}

static void take_children(const struct job *j, const char *raised, const struct settings *cfg,
			  struct run_result *r)
{
	json_t *events = json_loads(raised, 0, NULL);
	if (!json_is_array(events) || json_array_size(events) > CTX_MAX_RAISED) {
		json_decref(events);
		set_outcome(r, ASYNCD_FAIL_PERMANENT, "bad_event",
			    "the plug-in raised events the host cannot read");
		return;
	}
	json_t *data = j->data ? json_loads(j->data, JSON_DECODE_ANY, NULL) : NULL;
	struct registry_snap *snap = registry_get();
	raise_children(j, data, events, cfg, snap, r);
	registry_put(snap);
	json_decref(data);
	json_decref(events);
}

void runner_take_reply(const struct job *j, const struct ipc_result *reply,
		       const struct settings *cfg, struct run_result *r)
{
	const char *msg = reply->message ? reply->message : "";
	size_t n = strnlen(msg, sizeof(r->message) - 1);
	memcpy(r->message, msg, n);
	r->message[n] = 0;
	ipc_utf8_sanitize(r->message, n);
	r->outcome.result = reply->result;
	r->outcome.delay_ms = reply->delay_ms;
	r->outcome.error_code = reply->error_code;
	r->outcome.message = r->message[0] ? r->message : NULL;
	if (reply->result == ASYNCD_SUCCESS && reply->raised)
		take_children(j, reply->raised, cfg, r);
	r->trace = copy_text(reply->trace, reply->trace_len, (size_t)cfg->max_trace_bytes + 128);
	r->output = copy_output(reply->output);
	r->started_on = reply->started_on > 0 ? reply->started_on : clock_now_ms();
	r->execution_time_ms = reply->execution_time_ms > 0 ? reply->execution_time_ms : 0;
}

static void on_reply(void *arg, const struct ipc_result *reply)
{
	struct run_result *r = arg;
	struct settings cfg;
	settings_current(&cfg);
	if (reply->error_code && !strcmp(reply->error_code, SANDBOX_RERUN)) {
		r->rerun = true;
		r->async.done(r->async.arg);
		return;
	}
	runner_take_reply(r->async.job, reply, &cfg, r);
	r->async.done(r->async.arg);
}

/* libcache_file(), remembering per thread the last library found (no stat() per job). */
static int cached_file(const char *sha256, struct store *reader, char *path, size_t n)
{
	static __thread char last_sha[65], last_path[4096];
	if (!strcmp(last_sha, sha256) && strlen(last_path) < n) {
		memcpy(path, last_path, strlen(last_path) + 1);
		return 0;
	}
	int rc = libcache_file(sha256, reader, path, n);
	if (rc == 0 && strlen(path) < sizeof(last_path)) {
		snprintf(last_sha, sizeof(last_sha), "%s", sha256);
		memcpy(last_path, path, strlen(path) + 1);
	}
	return rc;
}

struct handover {
	const struct job *j;
	const struct assembly *a;
	const struct reg_step *st;
	struct store *reader;
	const struct settings *cfg;
	struct sandbox *sb;
	uint64_t gen;
};

/* Encode the job for the sandbox and queue it; RUNNER_ASYNC, or RUNNER_DONE with r filled. */
static int submit(const struct handover *h, const char *path, runner_done_fn done, void *arg,
		  struct run_result *r)
{
	struct sandbox_job sj = {
	    .job = h->j,
	    .sha256 = h->a->sha256,
	    .lib_path = path,
	    .type = type_part(h->j->plugin_type),
	    .step_id = h->st ? h->st->row.id : 0,
	    .config = h->st ? h->st->row.configuration : NULL,
	    .secure_config = h->st ? h->st->row.secure_configuration : NULL,
	    .max_trace = h->cfg->max_trace_bytes,
	    .gen = h->gen,
	};
	r->async.job = h->j;
	r->async.done = done;
	r->async.arg = arg;
	int rc = sandbox_submit(h->sb, &sj, on_reply, r);
	if (rc == 0)
		return RUNNER_ASYNC;
	if (rc == AE_TOOBIG)
		set_outcome(r, ASYNCD_FAIL_PERMANENT, "bad_context",
			    "the job is too large to pass to a sandbox worker");
	else
		set_outcome(r, ASYNCD_FAIL_TRANSIENT, "sandbox_unavailable",
			    "the sandbox could not take the job: %s", asyncd_strerror(rc));
	return RUNNER_DONE;
}

static int hand_over(const struct handover *h, const int *stop_flag, runner_done_fn done, void *arg,
		     struct run_result *r)
{
	char path[4096];
	if (!h->sb || !sandbox_running(h->sb)) {
		set_outcome(r, ASYNCD_FAIL_TRANSIENT, "sandbox_unavailable",
			    "%s runs in the sandbox, and the Sandbox Processing Service is not "
			    "running on this host: start it",
			    h->j->plugin_type);
		return RUNNER_DONE;
	}
	if (stop_flag && __atomic_load_n(stop_flag, __ATOMIC_RELAXED)) {
		set_outcome(r, ASYNCD_FAIL_TRANSIENT, NULL, "interrupted before it ran");
		return RUNNER_DONE;
	}
	int rc = cached_file(h->a->sha256, h->reader, path, sizeof(path));
	if (rc < 0) {
		set_outcome(r, load_failure(rc), load_failure_code(rc),
			    "assembly %s is not available: %s", h->a->sha256, asyncd_strerror(rc));
		return RUNNER_DONE;
	}
	return submit(h, path, done, arg, r);
}

static const struct assembly *assembly_of(const struct registry_snap *snap, const struct job *j)
{
	return j->assembly_id ? registry_assembly(snap, j->assembly_id)
			      : registry_resolve_type(snap, j->plugin_type);
}

bool runner_sandboxed(const struct registry_snap *snap, const struct job *j)
{
	const struct assembly *a = snap ? assembly_of(snap, j) : NULL;
	return a && a->isolation == ISOLATION_SANDBOX;
}

int runner_start(const struct job *j, struct store *reader, const struct settings *cfg,
		 const int *stop_flag, struct sandbox *sb, runner_done_fn done, void *arg,
		 struct run_result *ret)
{
	int rc = RUNNER_DONE;
	memset(ret, 0, sizeof(*ret));
	struct registry_snap *snap = registry_get();
	const struct assembly *a = assembly_of(snap, j);
	const struct reg_step *st = j->step_id ? registry_step(snap, j->step_id) : NULL;
	if (!a) {
		set_outcome(ret, ASYNCD_FAIL_PERMANENT, "plugin_missing",
			    "no registered assembly provides %s", j->plugin_type);
	} else if (a->isolation == ISOLATION_SANDBOX) {
		struct handover h = {j, a, st, reader, cfg, sb, snap->gen};
		rc = hand_over(&h, stop_flag, done, arg, ret);
	} else {
		inflight_begin(j->id,
			       j->attempt); /* should it kill the host, the next start knows */
		run_resolved(j, a, st, reader, cfg, stop_flag, snap, ret);
		inflight_end();
	}
	registry_put(snap);
	return rc;
}

void runner_run(const struct job *j, struct store *reader, const struct settings *cfg,
		const int *stop_flag, struct run_result *ret)
{
	runner_start(j, reader, cfg, stop_flag, NULL, NULL, NULL, ret);
}
