/* The two frames that carry work (docs/ipc.md): JOB (host -> worker: the job's fields, its code
 * by sha256 and type, the step's configurations) and RESULT (worker -> host: outcome, message,
 * trace, output, raised events, timings). Decoding checks every field a peer could get wrong;
 * the host treats a worker's RESULT as untrusted input. No I/O here. */
#ifndef ASYNCD_IPC_JOB_H
#define ASYNCD_IPC_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "sandbox/ipc.h"
#include "job/job.h"

#define IPC_MAX_MESSAGE 1023			 /* bytes of a result's message */
#define IPC_MAX_OUTPUT (1 << 20)		 /* bytes of output JSON (as CTX_MAX_OUTPUT) */
#define IPC_MAX_TRACE ((16 << 20) + 65536)	 /* job.max_trace_bytes at most, and a note */
#define IPC_MAX_RAISED (16 << 20)		 /* bytes of the raised events' JSON array */
#define IPC_MAX_RESULT_BODY ((uint32_t)40 << 20) /* what a host accepts from a worker */

/* A JOB frame's content. Decoded strings point into the frame; job's strings are borrowed too
 * (never job_done() a decoded one). */
struct ipc_job {
	struct job job; /* id, operation_type, message_name, primary_entity, regarding_id,
			   plugin_type, data, depth, correlation_id, request_id, owner,
			   created_on, attempt */
	const char *sha256;
	const char *type; /* the type's name inside the assembly */
	int64_t step_id;
	const char *config, *secure_config;
	int64_t max_trace;
};

/* A RESULT frame's content; strings point into the frame when decoded. */
struct ipc_result {
	int64_t job_id;
	int result;		/* enum asyncd_result */
	int64_t delay_ms;	/* -1: backoff */
	const char *error_code; /* NULL, or one of the codes a worker may set (static strings) */
	const char *message;
	const char *trace;
	size_t trace_len;
	const char *output; /* JSON text or NULL */
	const char *raised; /* JSON array text of raised events, or NULL */
	int64_t started_on; /* ms since the epoch */
	int64_t execution_time_ms;
	bool oom; /* an allocation was refused during the run */
};

/* Append a JOB frame for j. 0 or AE_TOOBIG/AE_NOMEM. */
int ipc_job_encode(struct ipc_wbuf *w, const struct ipc_job *j);
/* 0 or AE_INVAL (a required field missing or out of bounds). */
int ipc_job_decode(const struct ipc_frame *f, struct ipc_job *ret);

int ipc_result_encode(struct ipc_wbuf *w, const struct ipc_result *r);
int ipc_result_decode(const struct ipc_frame *f, struct ipc_result *ret);

/* The static string for a code a worker may report, or NULL when it is not one. */
const char *ipc_worker_code(const char *code);

#endif
