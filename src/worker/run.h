/* One run inside the worker: the job of a JOB frame is resolved to its library, type and
 * instance, executed with the host API of plugin/context.c, and its outcome, trace (with the
 * plug-in's captured stdout/stderr), output and raised events are encoded as a RESULT frame. */
#ifndef ASYNCD_WORKER_RUN_H
#define ASYNCD_WORKER_RUN_H

#include "sandbox/ipc.h"
#include "sandbox/ipc_job.h"

/* Run j and append its RESULT frame to out. stop_flag is raised by the reader thread when the
 * host sends STOP; memory_mb is the limit named in out_of_memory messages. */
void run_job(const struct ipc_job *j, const int *stop_flag, int memory_mb, struct ipc_wbuf *out);

#endif
