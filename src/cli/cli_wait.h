/* Waiting for jobs to finish, for `event raise --wait`, `job submit --wait` and `job wait`:
 * poll each job every 100 ms until all are Completed or the time is up, then print how each
 * ended. It owns no job state beyond one wait. */
#ifndef ASYNCD_CLI_WAIT_H
#define ASYNCD_CLI_WAIT_H

#include <jansson.h>

#include "cli/cli.h"

#define CLI_WAIT_DEFAULT_S 30.0

/* Wait for the jobs whose ids (JSON integers or strings) are in the array ids, at most timeout
 * seconds. 0 when every job Succeeded (or vanished: async_auto_delete removes a job that
 * succeeded); CLI_EFAIL when one failed, was canceled or did not finish in time; or the error of
 * a request. */
int cli_wait_jobs(struct cli_ctx *ctx, const json_t *ids, double timeout);

#endif
