/* The job model's pure rules: names of states and statuses, outcome -> next state, backoff with
 * jitter, and which user action is allowed from which state. No I/O. */
#include <stdlib.h>
#include <string.h>

#include "asyncd/plugin.h"
#include "common/util.h"
#include "job/job.h"

static void free_strings(struct job *j)
{
	char **strs[] = {&j->name,
			 &j->message_name,
			 &j->primary_entity,
			 &j->regarding_id,
			 &j->plugin_type,
			 &j->data,
			 &j->correlation_id,
			 &j->request_id,
			 &j->dependency_token,
			 &j->error_code,
			 &j->message,
			 &j->friendly_message,
			 &j->host_id,
			 &j->recurrence_pattern,
			 &j->recurrence_timezone,
			 &j->owner,
			 &j->idempotency_key,
			 &j->trace,
			 &j->output};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
}

void job_done(struct job *j)
{
	if (!j)
		return;
	free_strings(j);
	memset(j, 0, sizeof(*j));
}

void job_array_free(struct job *jobs, size_t n)
{
	if (!jobs)
		return;
	for (size_t i = 0; i < n; i++)
		job_done(&jobs[i]);
	free(jobs);
}

bool job_is_maintenance(const struct job *j)
{
	return j->owner && strcmp(j->owner, JOB_OWNER_SYSTEM) == 0 && j->recurrence_pattern;
}

bool job_state_valid(int state)
{
	return state >= JOB_READY && state <= JOB_COMPLETED;
}

int job_status_state(int status)
{
	switch (status) {
	case JOB_ST_WAITING_FOR_RESOURCES:
		return JOB_READY;
	case JOB_ST_WAITING:
		return JOB_SUSPENDED;
	case JOB_ST_IN_PROGRESS:
	case JOB_ST_PAUSING:
	case JOB_ST_CANCELING:
		return JOB_LOCKED;
	case JOB_ST_SUCCEEDED:
	case JOB_ST_FAILED:
	case JOB_ST_CANCELED:
		return JOB_COMPLETED;
	default:
		return -1;
	}
}

bool job_status_valid(int status)
{
	return job_status_state(status) >= 0;
}

const char *job_state_name(int state)
{
	static const char *names[] = {"Ready", "Suspended", "Locked", "Completed"};
	return job_state_valid(state) ? names[state] : "Unknown";
}

const char *job_status_name(int status)
{
	switch (status) {
	case JOB_ST_WAITING_FOR_RESOURCES:
		return "WaitingForResources";
	case JOB_ST_WAITING:
		return "Waiting";
	case JOB_ST_IN_PROGRESS:
		return "InProgress";
	case JOB_ST_PAUSING:
		return "Pausing";
	case JOB_ST_CANCELING:
		return "Canceling";
	case JOB_ST_SUCCEEDED:
		return "Succeeded";
	case JOB_ST_FAILED:
		return "Failed";
	case JOB_ST_CANCELED:
		return "Canceled";
	default:
		return "Unknown";
	}
}

int64_t job_backoff_ms(const struct retry_policy *p, int retry_count, uint64_t rnd)
{
	int64_t d = p->time_between_retries_ms > 0 ? p->time_between_retries_ms : 0;
	int64_t cap = p->max_backoff_ms > 0 ? p->max_backoff_ms : INT64_MAX / 4;
	for (int i = 0; i < retry_count && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* jitter factor in [0.8, 1.2): spreads retries of jobs that failed together */
	d = d * 4 / 5 + (int64_t)((double)d * 0.4 * (double)(rnd % 1000000) / 1000000.0);
	return d > cap ? cap : d;
}

static void next_failed(struct job_next *n, const char *code)
{
	n->state = JOB_COMPLETED;
	n->status = JOB_ST_FAILED;
	n->error_code = code;
}

static void next_transient(const struct job *j, const struct job_outcome *o,
			   const struct retry_policy *p, int64_t now, uint64_t rnd,
			   struct job_next *n)
{
	const char *code = o->error_code ? o->error_code : "plugin_transient";
	if (j->retry_count >= j->max_retries) {
		next_failed(n, code);
		return;
	}
	int64_t delay = o->delay_ms >= 0 ? o->delay_ms : job_backoff_ms(p, j->retry_count, rnd);
	if (delay > JOB_MAX_RETRY_DELAY_MS) /* a plug-in's request: no overflow of now + delay */
		delay = JOB_MAX_RETRY_DELAY_MS;
	n->state = JOB_SUSPENDED;
	n->status = JOB_ST_WAITING;
	n->postpone_until = now + (delay > 0 ? delay : 1);
	n->retry_count = j->retry_count + 1;
	n->error_code = code;
}

void job_next_state(const struct job *j, const struct job_outcome *o, const struct retry_policy *p,
		    int64_t now, uint64_t rnd, struct job_next *ret)
{
	struct job_next n = {.retry_count = j->retry_count};
	switch (o->result) {
	case ASYNCD_SUCCESS:
		n.state = JOB_COMPLETED;
		n.status = JOB_ST_SUCCEEDED;
		n.delete_row = j->auto_delete;
		break;
	case ASYNCD_FAIL_TRANSIENT:
		next_transient(j, o, p, now, rnd, &n);
		break;
	case ASYNCD_NEEDS_ATTENTION:
		n.state = JOB_SUSPENDED;
		n.status = JOB_ST_WAITING;
		n.error_code = o->error_code ? o->error_code : "needs_attention";
		break;
	case ASYNCD_FAIL_PERMANENT:
		next_failed(&n, o->error_code ? o->error_code : "plugin_failed");
		break;
	default:
		next_failed(&n, "bad_result");
		break;
	}
	*ret = n;
}

bool job_action_allowed(enum job_action a, int state)
{
	switch (a) {
	case JOB_ACT_CANCEL:
		return state == JOB_READY || state == JOB_SUSPENDED || state == JOB_LOCKED;
	case JOB_ACT_PAUSE:
		return state == JOB_LOCKED;
	case JOB_ACT_RESUME:
		return state == JOB_SUSPENDED;
	case JOB_ACT_POSTPONE:
		return state == JOB_READY || state == JOB_LOCKED;
	case JOB_ACT_RETRY:
		return state == JOB_COMPLETED;
	case JOB_ACT_DELETE:
		return job_state_valid(state);
	}
	return false;
}

const char *job_action_name(enum job_action a)
{
	static const char *names[] = {"cancel", "pause", "resume", "postpone", "retry", "delete"};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

bool job_bulk_action(const char *name, enum job_action *ret)
{
	static const enum job_action bulk[] = {JOB_ACT_CANCEL, JOB_ACT_RETRY, JOB_ACT_RESUME,
					       JOB_ACT_DELETE};
	for (size_t i = 0; name && i < sizeof(bulk) / sizeof(bulk[0]); i++)
		if (!strcmp(name, job_action_name(bulk[i]))) {
			*ret = bulk[i];
			return true;
		}
	return false;
}

static void to_completed(struct job *j, int status, const char *code, int64_t now)
{
	j->state = JOB_COMPLETED;
	j->status = status;
	j->completed_on = now;
	j->postpone_until = 0;
	str_set(&j->error_code, code);
}

static void cancel(struct job *j, bool locked, int64_t now)
{
	if (!locked) {
		to_completed(j, JOB_ST_CANCELED, "canceled", now);
		return;
	}
	j->status = JOB_ST_CANCELING; /* the engine ends it once its run stops */
	str_set(&j->error_code, "canceled");
}

static void postpone(struct job *j, bool locked, int64_t until)
{
	if (locked) {
		j->status = JOB_ST_PAUSING;
	} else {
		j->state = JOB_SUSPENDED;
		j->status = JOB_ST_WAITING;
	}
	j->postpone_until = until;
}

static void back_to_ready(struct job *j)
{
	j->state = JOB_READY;
	j->status = JOB_ST_WAITING_FOR_RESOURCES;
	j->postpone_until = 0;
}

bool job_apply_action(struct job *j, enum job_action a, int64_t until, int64_t now,
		      bool *ret_interrupt)
{
	bool locked = j->state == JOB_LOCKED;
	if (!job_action_allowed(a, j->state) || (a == JOB_ACT_RETRY && j->status != JOB_ST_FAILED))
		return false;
	/* A cancel asked while the job ran is final: a pause or postpone while its run stops would
	 * turn Canceling into Pausing and the acknowledged cancel into a wait (model test). */
	if (j->status == JOB_ST_CANCELING && (a == JOB_ACT_PAUSE || a == JOB_ACT_POSTPONE))
		return false;
	switch (a) {
	case JOB_ACT_CANCEL:
		cancel(j, locked, now);
		break;
	case JOB_ACT_PAUSE:
		j->status = JOB_ST_PAUSING;
		break;
	case JOB_ACT_RESUME:
		back_to_ready(j);
		break;
	case JOB_ACT_POSTPONE:
		postpone(j, locked, until);
		break;
	case JOB_ACT_RETRY:
		back_to_ready(j);
		j->retry_count = 0;
		j->completed_on = 0;
		str_set(&j->error_code, NULL);
		str_set(&j->message, NULL);
		break;
	case JOB_ACT_DELETE:
		break;
	}
	j->modified_on = now;
	*ret_interrupt = locked;
	return true;
}
