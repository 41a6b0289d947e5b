/* Capture of what plug-ins write on stdout and stderr: both descriptors become one pipe that a
 * thread of the worker drains into a bounded buffer; after each run the executor takes what the
 * run wrote (stdio flushed first) for the job's trace. Output past the bound is counted, not
 * kept. The original stderr (the host's log) is not kept: a plug-in could write into it. */
#ifndef ASYNCD_WORKER_CAPTURE_H
#define ASYNCD_WORKER_CAPTURE_H

#include <stddef.h>

#define CAPTURE_MAX_BYTES 65536 /* kept per run */

/* Point stdout and stderr at the capture pipe and start the draining thread. 0, or -1 on
 * failure (stdout and stderr may then already be the pipe). */
int capture_start(void);
/* What was written since the last call: *ret (the caller frees it, NULL when nothing) holding
 * *ret_len bytes, and *ret_dropped bytes that did not fit. */
void capture_take(char **ret, size_t *ret_len, size_t *ret_dropped);

#endif
