/* Host API functions over struct asyncd_ctx (see context.h). Strings handed to a plug-in are
 * owned by the context and live until the run ends. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "plugin/context.h"

static const char *str_member(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *keep_string(const asyncd_ctx *cc, char *s)
{
	asyncd_ctx *c = (asyncd_ctx *)cc;
	if (!s)
		return NULL;
	json_t *v = json_string(s);
	free(s);
	if (!v)
		return NULL;
	json_array_append_new(c->strings, v);
	return json_string_value(v);
}

static const char *h_message(const asyncd_ctx *c)
{
	return c->job->message_name;
}

static const char *h_entity(const asyncd_ctx *c)
{
	return c->job->primary_entity;
}

static const char *h_entity_id(const asyncd_ctx *c)
{
	return c->job->regarding_id;
}

static const char *h_input_json(const asyncd_ctx *c)
{
	return c->input ? keep_string(c, json_dumps(c->input, JSON_COMPACT | JSON_ENCODE_ANY))
			: "{}";
}

static const char *h_input_string(const asyncd_ctx *c, const char *key)
{
	json_t *v = key ? json_object_get(c->input, key) : NULL;
	if (!v)
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	return keep_string(c, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
}

static int64_t h_input_int(const asyncd_ctx *c, const char *key, int64_t dflt)
{
	json_t *v = key ? json_object_get(c->input, key) : NULL;
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static const char *h_image_json(const asyncd_ctx *c, const char *alias)
{
	json_t *v = alias ? json_object_get(c->images, alias) : NULL;
	return v ? keep_string(c, json_dumps(v, JSON_COMPACT)) : NULL;
}

static int h_depth(const asyncd_ctx *c)
{
	return c->job->depth;
}

static const char *h_correlation_id(const asyncd_ctx *c)
{
	return c->job->correlation_id;
}

static const char *h_request_id(const asyncd_ctx *c)
{
	return c->job->request_id;
}

static const char *h_initiating_user(const asyncd_ctx *c)
{
	const char *u = str_member(c->data, "initiating_user");
	return u ? u : c->job->owner;
}

static const char *h_user(const asyncd_ctx *c)
{
	const char *u = str_member(c->data, "user");
	return u ? u : h_initiating_user(c);
}

static int64_t h_job_id(const asyncd_ctx *c)
{
	return c->job->id;
}

static int64_t h_job_created_on(const asyncd_ctx *c)
{
	return c->job->created_on;
}

static uint32_t h_attempt(const asyncd_ctx *c)
{
	return (uint32_t)c->job->attempt;
}

static const char *h_config(const asyncd_ctx *c)
{
	return c->config;
}

static const char *h_secure_config(const asyncd_ctx *c)
{
	return c->secure_config;
}

static const char *h_shared_variable(const asyncd_ctx *c, const char *name)
{
	return name ? str_member(c->shared, name) : NULL;
}

static int h_set_shared_variable(const asyncd_ctx *c, const char *name, const char *value)
{
	if (!name || !*name || strlen(name) > 256 || !value ||
	    strlen(value) > CTX_MAX_SHARED_BYTES || json_object_size(c->shared) >= 256)
		return -1;
	return json_object_set_new(c->shared, name, json_string(value)) == 0 ? 0 : -1;
}

static void trace_line(asyncd_ctx *c, const char *fmt, va_list ap)
{
	char line[2048];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0 || c->trace_truncated)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (buf_append(&c->trace, line, (size_t)n) < 0 || buf_append(&c->trace, "\n", 1) < 0) {
		c->trace_truncated = true;
		c->trace.max += 64;
		buf_printf(&c->trace, "... trace truncated at %zu bytes\n", c->trace.max - 64);
	}
}

void ctx_trace(struct asyncd_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	trace_line(c, fmt, ap);
	va_end(ap);
}

static void h_trace(const asyncd_ctx *c, const char *fmt, ...)
{
	va_list ap;
	if (!fmt)
		return;
	va_start(ap, fmt);
	trace_line((asyncd_ctx *)c, fmt, ap);
	va_end(ap);
}

static int h_set_output(const asyncd_ctx *cc, const char *json)
{
	asyncd_ctx *c = (asyncd_ctx *)cc;
	if (!json || strlen(json) > CTX_MAX_OUTPUT)
		return -1;
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	if (!v)
		return -1;
	json_decref(v);
	char *copy = strdup(json);
	if (!copy)
		return -1;
	free(c->output);
	c->output = copy;
	return 0;
}

/* A refused raise_event leaves its reason in the trace: a plug-in that ignores the -1 still
 * shows why its event is missing. */
static int raise_refused(asyncd_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int raise_refused(asyncd_ctx *c, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ctx_trace(c, "raise_event refused: %s", why);
	return -1;
}

static int h_raise_event(const asyncd_ctx *cc, const char *event_json)
{
	asyncd_ctx *c = (asyncd_ctx *)cc;
	json_error_t err;
	if (!event_json)
		return raise_refused(c, "the event is NULL");
	if (json_array_size(c->raised) >= CTX_MAX_RAISED)
		return raise_refused(c, "a run may raise at most %d events", CTX_MAX_RAISED);
	json_t *ev = json_loads(event_json, 0, &err);
	if (!ev)
		return raise_refused(c, "the event is not valid JSON: %s (line %d, column %d)",
				     err.text, err.line, err.column);
	if (!json_is_object(ev) || !json_is_string(json_object_get(ev, "message"))) {
		json_decref(ev);
		return raise_refused(c,
				     "the event must be a JSON object with a \"message\" string");
	}
	if (json_array_append_new(c->raised, ev) < 0)
		return raise_refused(c, "out of memory");
	return 0;
}

static int h_should_stop(const asyncd_ctx *c)
{
	return c->stop_flag && __atomic_load_n(c->stop_flag, __ATOMIC_RELAXED);
}

static int h_result(const asyncd_ctx *cc, int code, int64_t delay_ms, const char *fmt, ...)
{
	asyncd_ctx *c = (asyncd_ctx *)cc;
	c->has_result = true;
	c->result = code;
	c->delay_ms = delay_ms;
	c->message[0] = 0;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->message, sizeof(c->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

static const struct asyncd_host_api host_api = {
    .size = sizeof(struct asyncd_host_api),
    .abi_version = ASYNCD_PLUGIN_ABI_VERSION,
    .message = h_message,
    .entity = h_entity,
    .entity_id = h_entity_id,
    .input_json = h_input_json,
    .input_string = h_input_string,
    .input_int = h_input_int,
    .image_json = h_image_json,
    .depth = h_depth,
    .correlation_id = h_correlation_id,
    .request_id = h_request_id,
    .initiating_user = h_initiating_user,
    .user = h_user,
    .job_id = h_job_id,
    .job_created_on = h_job_created_on,
    .attempt = h_attempt,
    .config = h_config,
    .secure_config = h_secure_config,
    .shared_variable = h_shared_variable,
    .set_shared_variable = h_set_shared_variable,
    .trace = h_trace,
    .set_output = h_set_output,
    .raise_event = h_raise_event,
    .should_stop = h_should_stop,
    .result = h_result,
};

const struct asyncd_host_api *ctx_host_api(void)
{
	return &host_api;
}

int ctx_init(struct asyncd_ctx *c, const struct job *j, const char *config,
	     const char *secure_config, size_t max_trace, const int *stop_flag)
{
	memset(c, 0, sizeof(*c));
	c->job = j;
	c->config = config;
	c->secure_config = secure_config;
	c->stop_flag = stop_flag;
	buf_init(&c->trace, max_trace);
	c->data = j->data ? json_loads(j->data, JSON_DECODE_ANY, NULL) : json_object();
	c->shared = json_object();
	c->raised = json_array();
	c->strings = json_array();
	if (!c->data || !c->shared || !c->raised || !c->strings) {
		ctx_done(c);
		return AE_INVAL;
	}
	bool event = j->operation_type == JOB_OP_SYSTEM_EVENT;
	c->input = event ? json_object_get(c->data, "target") : c->data;
	c->images = event ? json_object_get(c->data, "images") : NULL;
	json_t *shared = event ? json_object_get(c->data, "shared_variables") : NULL;
	if (json_is_object(shared))
		json_object_update(c->shared, shared);
	return 0;
}

void ctx_done(struct asyncd_ctx *c)
{
	if (!c)
		return;
	json_decref(c->data);
	json_decref(c->shared);
	json_decref(c->raised);
	json_decref(c->strings);
	buf_done(&c->trace);
	free(c->output);
	memset(c, 0, sizeof(*c));
}
