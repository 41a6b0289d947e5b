/* The execution context of one run and the host API table handed to plug-ins: the accessors over
 * the job's data, the trace log, output, raised events and the recorded result. It runs no
 * plug-in itself (exec/runner.c does). */
#ifndef ASYNCD_CONTEXT_H
#define ASYNCD_CONTEXT_H

#include <jansson.h>
#include <stdbool.h>

#include "asyncd/plugin.h"
#include "common/util.h"
#include "job/job.h"

#define CTX_MAX_RAISED 100	   /* events one run may raise */
#define CTX_MAX_OUTPUT (1 << 20)   /* bytes of output JSON */
#define CTX_MAX_SHARED_BYTES 65536 /* bytes of one shared variable */

struct asyncd_ctx {
	const struct job *job;
	json_t *data;	/* the job's data, parsed (owned) */
	json_t *input;	/* the target, or a direct job's data (borrowed from data) */
	json_t *images; /* alias -> object (borrowed), or NULL */
	json_t *shared; /* shared variables (owned object) */
	const char *config;
	const char *secure_config;
	struct buf trace;
	bool trace_truncated;
	char *output;
	json_t *raised; /* events raised (owned array) */
	char message[1024];
	bool has_result;
	int result;
	int64_t delay_ms;
	const int *stop_flag;
	json_t *strings; /* keeps strings handed to the plug-in alive (owned array) */
};

/* Prepare ctx for running job j. Fails with AE_INVAL when the job's data is not valid JSON. */
int ctx_init(struct asyncd_ctx *c, const struct job *j, const char *config,
	     const char *secure_config, size_t max_trace, const int *stop_flag);
void ctx_done(struct asyncd_ctx *c);
/* Append a host line to the trace (the same bounds as plug-in lines). */
void ctx_trace(struct asyncd_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const struct asyncd_host_api *ctx_host_api(void);

#endif
