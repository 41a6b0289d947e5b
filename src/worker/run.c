/* One run inside the worker (see run.h). Mirrors exec/runner.c's in-process run, except that
 * raised events travel back as JSON: the host turns them into jobs. */
#include "worker/run.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncd/plugin.h"
#include "common/clock.h"
#include "plugin/context.h"
#include "worker/capture.h"
#include "worker/libs.h"
#include "worker/oom.h"

struct outcome {
	struct ipc_result r;
	char message[IPC_MAX_MESSAGE + 1];
};

static void fail(struct outcome *o, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct outcome *o, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
	o->r.result = ASYNCD_FAIL_PERMANENT;
	o->r.delay_ms = -1;
	o->r.error_code = code;
	o->r.message = o->message;
}

static void take_outcome(struct asyncd_ctx *c, int rc, struct outcome *o)
{
	int result = c->has_result && c->result == rc ? c->result : rc;
	if (result < ASYNCD_SUCCESS || result > ASYNCD_NEEDS_ATTENTION) {
		fail(o, "bad_result", "the plug-in returned %d, which is not an asyncd_result", rc);
		return;
	}
	snprintf(o->message, sizeof(o->message), "%s", c->message);
	o->r.result = result;
	o->r.delay_ms = c->has_result ? c->delay_ms : -1;
	o->r.message = o->message[0] ? o->message : NULL;
}

/* A run that failed after an allocation was refused ran out of memory. */
static void check_memory(struct outcome *o, int memory_mb)
{
	char msg[sizeof(o->message)];
	if (o->r.result == ASYNCD_SUCCESS || !oom_seen())
		return;
	snprintf(msg, sizeof(msg), "%s", o->r.message ? o->r.message : "no message");
	fail(o, "out_of_memory",
	     "the plug-in ran out of memory (sandbox.memory_limit_mb is %d): %s", memory_mb, msg);
	o->r.oom = true;
}

/* The run's stdout/stderr as trace lines. */
static void trace_output(struct asyncd_ctx *c)
{
	char *out;
	size_t len, dropped;
	capture_take(&out, &len, &dropped);
	if (out)
		ipc_utf8_sanitize(out, len);
	if (dropped)
		ctx_trace(c, "output: %zu bytes written, the last %zu were not kept", len + dropped,
			  dropped);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(out + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (out + i)) : len - i;
		ctx_trace(c, "output: %.*s", (int)n, out + i);
		i += n + 1;
	}
	free(out);
}

static void execute(const struct ipc_job *j, const struct asyncd_plugin_type *t, void *instance,
		    const int *stop_flag, int memory_mb, struct outcome *o, struct ipc_wbuf *out)
{
	struct asyncd_ctx c;
	char *raised = NULL;
	if (ctx_init(&c, &j->job, j->config, j->secure_config, (size_t)j->max_trace, stop_flag) <
	    0) {
		fail(o, "bad_context", "the job's data is not valid JSON");
		ipc_result_encode(out, &o->r);
		return;
	}
	oom_reset();
	int64_t t0 = clock_mono_ms();
	o->r.started_on = clock_now_ms();
	int rc = t->execute(instance, &c, ctx_host_api());
	o->r.execution_time_ms = clock_mono_ms() - t0;
	take_outcome(&c, rc, o);
	check_memory(o, memory_mb);
	trace_output(&c);
	if (o->r.result == ASYNCD_SUCCESS && json_array_size(c.raised))
		raised = json_dumps(c.raised, JSON_COMPACT);
	o->r.trace = c.trace.data;
	o->r.trace_len = c.trace.len;
	o->r.output = c.output;
	o->r.raised = raised;
	if (ipc_result_encode(out, &o->r) < 0) {
		fail(o, NULL, "the run's trace, output and raised events are too large to return");
		ipc_result_encode(out, &o->r);
	}
	free(raised);
	ctx_done(&c);
}

void run_job(const struct ipc_job *j, const int *stop_flag, int memory_mb, struct ipc_wbuf *out)
{
	struct outcome o;
	const struct asyncd_plugin_type *t;
	const char *code = NULL;
	void *instance;
	memset(&o, 0, sizeof(o));
	o.r.job_id = j->job.id;
	if (libs_instance(j->sha256, j->type, j->step_id, j->config, j->secure_config, &t,
			  &instance, &code, o.message, sizeof(o.message)) < 0) {
		char why[sizeof(o.message)];
		snprintf(why, sizeof(why), "%s", o.message);
		fail(&o, code, "%s", why);
		ipc_result_encode(out, &o.r);
		return;
	}
	execute(j, t, instance, stop_flag, memory_mb, &o, out);
}
