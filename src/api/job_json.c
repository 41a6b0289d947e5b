/* A job as the API answers it. */
#include "api/job_json.h"
#include "common/clock.h"
#include "job/rrule.h"

json_t *time_json(int64_t ms)
{
	char buf[40];
	if (!ms)
		return json_null();
	clock_format_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *json_text_or_null(const char *s)
{
	json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : (s ? json_string(s) : json_null());
}

static json_t *id_or_null(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

json_t *job_to_json(const struct job *j, bool with_trace)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(j->id));
	json_object_set_new(o, "name", str_or_null(j->name));
	json_object_set_new(o, "operation_type", json_integer(j->operation_type));
	json_object_set_new(o, "state", json_integer(j->state));
	json_object_set_new(o, "status", json_integer(j->status));
	json_object_set_new(o, "state_name", json_string(job_state_name(j->state)));
	json_object_set_new(o, "status_name", json_string(job_status_name(j->status)));
	json_object_set_new(o, "message_name", str_or_null(j->message_name));
	json_object_set_new(o, "primary_entity", str_or_null(j->primary_entity));
	json_object_set_new(o, "regarding_id", str_or_null(j->regarding_id));
	json_object_set_new(o, "step_id", id_or_null(j->step_id));
	json_object_set_new(o, "plugin_type", str_or_null(j->plugin_type));
	json_object_set_new(o, "data", json_text_or_null(j->data));
	json_object_set_new(o, "depth", json_integer(j->depth));
	json_object_set_new(o, "correlation_id", str_or_null(j->correlation_id));
	json_object_set_new(o, "request_id", str_or_null(j->request_id));
	json_object_set_new(o, "dependency_token", str_or_null(j->dependency_token));
	json_object_set_new(o, "sequence", json_integer(j->id));
	json_object_set_new(o, "priority", json_integer(j->priority));
	json_object_set_new(o, "postpone_until", time_json(j->postpone_until));
	json_object_set_new(o, "retry_count", json_integer(j->retry_count));
	json_object_set_new(o, "max_retries", json_integer(j->max_retries));
	json_object_set_new(o, "error_code", str_or_null(j->error_code));
	json_object_set_new(o, "message", str_or_null(j->message));
	json_object_set_new(o, "friendly_message", str_or_null(j->friendly_message));
	json_object_set_new(o, "host_id", str_or_null(j->host_id));
	json_object_set_new(o, "attempt", json_integer(j->attempt));
	json_object_set_new(o, "lease_expires_on", time_json(j->lease_expires_on));
	json_object_set_new(o, "created_on", time_json(j->created_on));
	json_object_set_new(o, "started_on", time_json(j->started_on));
	json_object_set_new(o, "completed_on", time_json(j->completed_on));
	json_object_set_new(o, "modified_on", time_json(j->modified_on));
	json_object_set_new(o, "execution_time_ms",
			    j->started_on ? json_integer(j->execution_time_ms) : json_null());
	json_object_set_new(o, "recurrence_pattern", str_or_null(j->recurrence_pattern));
	json_object_set_new(o, "recurrence_start_time", time_json(j->recurrence_start_time));
	json_object_set_new(
	    o, "recurrence_timezone",
	    j->recurrence_pattern
		? json_string(j->recurrence_timezone ? j->recurrence_timezone : "UTC")
		: json_null());
	json_object_set_new(o, "owner", str_or_null(j->owner));
	json_object_set_new(o, "idempotency_key", str_or_null(j->idempotency_key));
	json_object_set_new(o, "output", json_text_or_null(j->output));
	if (with_trace)
		json_object_set_new(o, "trace", json_string(j->trace ? j->trace : ""));
	return o;
}

static json_t *attempt_to_json(const struct job_attempt *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "attempt", json_integer(a->attempt));
	json_object_set_new(o, "host_id", str_or_null(a->host_id));
	json_object_set_new(o, "started_on", time_json(a->started_on));
	json_object_set_new(o, "ended_on", time_json(a->ended_on));
	json_object_set_new(o, "outcome", str_or_null(a->outcome));
	json_object_set_new(o, "error_code", str_or_null(a->error_code));
	json_object_set_new(o, "message", str_or_null(a->message));
	json_object_set_new(o, "trace", json_string(a->trace ? a->trace : ""));
	return o;
}

json_t *job_next_occurrences_json(const struct job *j, int64_t now, int n)
{
	json_t *arr = json_array();
	char err[8];
	int64_t at = j->state == JOB_SUSPENDED && j->postpone_until ? j->postpone_until - 1 : now;
	if (!j->recurrence_pattern || j->state == JOB_COMPLETED)
		return arr;
	for (int i = 0; arr && i < n && rrule_job_next(j, at, &at, err, sizeof(err)) == 0; i++)
		json_array_append_new(arr, time_json(at));
	return arr;
}

json_t *job_attempts_to_json(const struct job_attempt *a, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, attempt_to_json(&a[i]));
	return arr;
}
