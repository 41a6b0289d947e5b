/* JOB and RESULT frames (see ipc_job.h): field by field, with the checks a decoder owes to a peer
 * it does not trust. */
#include "sandbox/ipc_job.h"

#include <string.h>

#include "common/error.h"

static const char *const worker_codes[] = {
    "plugin_load_failed", "type_missing", "plugin_create_failed",
    "bad_result",	  "bad_context",  "out_of_memory",
};

const char *ipc_worker_code(const char *code)
{
	for (size_t i = 0; code && i < sizeof(worker_codes) / sizeof(worker_codes[0]); i++)
		if (!strcmp(code, worker_codes[i]))
			return worker_codes[i];
	return NULL;
}

int ipc_job_encode(struct ipc_wbuf *w, const struct ipc_job *j)
{
	const struct job *b = &j->job;
	ipc_frame_begin(w, IPC_JOB, (uint64_t)b->id);
	ipc_put_str(w, IPC_T_SHA256, j->sha256);
	ipc_put_str(w, IPC_T_TYPE, j->type);
	ipc_put_int(w, IPC_T_STEP_ID, j->step_id);
	ipc_put_str(w, IPC_T_CONFIG, j->config);
	ipc_put_str(w, IPC_T_SECURE_CONFIG, j->secure_config);
	ipc_put_int(w, IPC_T_MAX_TRACE, j->max_trace);
	ipc_put_int(w, IPC_T_OPERATION, b->operation_type);
	ipc_put_str(w, IPC_T_MESSAGE_NAME, b->message_name);
	ipc_put_str(w, IPC_T_ENTITY, b->primary_entity);
	ipc_put_str(w, IPC_T_ENTITY_ID, b->regarding_id);
	ipc_put_str(w, IPC_T_PLUGIN_TYPE, b->plugin_type);
	ipc_put_str(w, IPC_T_DATA, b->data);
	ipc_put_int(w, IPC_T_DEPTH, b->depth);
	ipc_put_str(w, IPC_T_CORRELATION_ID, b->correlation_id);
	ipc_put_str(w, IPC_T_REQUEST_ID, b->request_id);
	ipc_put_str(w, IPC_T_OWNER, b->owner);
	ipc_put_int(w, IPC_T_CREATED_ON, b->created_on);
	ipc_put_int(w, IPC_T_ATTEMPT, b->attempt);
	return ipc_frame_end(w);
}

static bool sha_valid(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static bool name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static char *str(const struct ipc_frame *f, enum ipc_tag tag)
{
	return (char *)ipc_str(f, tag);
}

int ipc_job_decode(const struct ipc_frame *f, struct ipc_job *ret)
{
	struct ipc_job j;
	memset(&j, 0, sizeof(j));
	if (f->type != IPC_JOB || f->id == 0 || f->id > INT64_MAX)
		return AE_INVAL;
	j.sha256 = ipc_str(f, IPC_T_SHA256);
	j.type = ipc_str(f, IPC_T_TYPE);
	if (!sha_valid(j.sha256) || !name_valid(j.type))
		return AE_INVAL;
	j.step_id = ipc_int(f, IPC_T_STEP_ID, 0);
	j.config = ipc_str(f, IPC_T_CONFIG);
	j.secure_config = ipc_str(f, IPC_T_SECURE_CONFIG);
	j.max_trace = ipc_int(f, IPC_T_MAX_TRACE, 65536);
	if (j.max_trace < 0 || j.max_trace > (16 << 20))
		return AE_INVAL;
	j.job.id = (int64_t)f->id;
	j.job.operation_type = (int)ipc_int(f, IPC_T_OPERATION, 0);
	j.job.message_name = str(f, IPC_T_MESSAGE_NAME);
	j.job.primary_entity = str(f, IPC_T_ENTITY);
	j.job.regarding_id = str(f, IPC_T_ENTITY_ID);
	j.job.plugin_type = str(f, IPC_T_PLUGIN_TYPE);
	j.job.data = str(f, IPC_T_DATA);
	j.job.depth = (int)ipc_int(f, IPC_T_DEPTH, 0);
	j.job.correlation_id = str(f, IPC_T_CORRELATION_ID);
	j.job.request_id = str(f, IPC_T_REQUEST_ID);
	j.job.owner = str(f, IPC_T_OWNER);
	j.job.created_on = ipc_int(f, IPC_T_CREATED_ON, 0);
	j.job.attempt = ipc_int(f, IPC_T_ATTEMPT, 0);
	*ret = j;
	return 0;
}

int ipc_result_encode(struct ipc_wbuf *w, const struct ipc_result *r)
{
	ipc_frame_begin(w, IPC_RESULT, (uint64_t)r->job_id);
	ipc_put_int(w, IPC_T_RESULT, r->result);
	ipc_put_int(w, IPC_T_DELAY_MS, r->delay_ms);
	ipc_put_str(w, IPC_T_ERROR_CODE, r->error_code);
	ipc_put_str(w, IPC_T_MESSAGE, r->message);
	if (r->trace)
		ipc_put_strn(w, IPC_T_TRACE, r->trace, r->trace_len);
	ipc_put_str(w, IPC_T_OUTPUT, r->output);
	ipc_put_str(w, IPC_T_RAISED, r->raised);
	ipc_put_int(w, IPC_T_STARTED_ON, r->started_on);
	ipc_put_int(w, IPC_T_EXEC_MS, r->execution_time_ms);
	if (r->oom)
		ipc_put_int(w, IPC_T_OOM, 1);
	return ipc_frame_end(w);
}

static bool within(const struct ipc_frame *f, enum ipc_tag tag, size_t max)
{
	return ipc_strlen(f, tag) <= max;
}

int ipc_result_decode(const struct ipc_frame *f, struct ipc_result *ret)
{
	struct ipc_result r;
	memset(&r, 0, sizeof(r));
	if (f->type != IPC_RESULT || f->id == 0 || f->id > INT64_MAX)
		return AE_INVAL;
	r.job_id = (int64_t)f->id;
	int64_t result = ipc_int(f, IPC_T_RESULT, -1);
	if (result < 0 || result > 3 || !within(f, IPC_T_MESSAGE, IPC_MAX_MESSAGE) ||
	    !within(f, IPC_T_OUTPUT, IPC_MAX_OUTPUT) || !within(f, IPC_T_TRACE, IPC_MAX_TRACE) ||
	    !within(f, IPC_T_RAISED, IPC_MAX_RAISED))
		return AE_INVAL;
	const char *code = ipc_str(f, IPC_T_ERROR_CODE);
	r.error_code = ipc_worker_code(code);
	if (code && !r.error_code)
		return AE_INVAL;
	r.result = (int)result;
	r.delay_ms = ipc_int(f, IPC_T_DELAY_MS, -1);
	if (r.delay_ms < -1)
		r.delay_ms = -1;
	r.message = ipc_str(f, IPC_T_MESSAGE);
	r.trace = ipc_str(f, IPC_T_TRACE);
	r.trace_len = ipc_strlen(f, IPC_T_TRACE);
	r.output = ipc_str(f, IPC_T_OUTPUT);
	r.raised = ipc_str(f, IPC_T_RAISED);
	r.started_on = ipc_int(f, IPC_T_STARTED_ON, 0);
	r.execution_time_ms = ipc_int(f, IPC_T_EXEC_MS, 0);
	r.oom = ipc_int(f, IPC_T_OOM, 0) != 0;
	*ret = r;
	return 0;
}
