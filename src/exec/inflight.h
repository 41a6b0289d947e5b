/* The in-process run journal STATE/asyncd.running: while a host lives, the file exists and holds,
 * in one slot per pool thread, the job (id, attempt) that thread is running in-process. A clean
 * stop removes it; a file found at start means the last life ended uncleanly, and its slots name
 * the jobs that were running inside the host when it died (docs/engine.md). The slots live in a
 * shared file mapping: marking a run is two memory stores, no system call, and what was stored
 * survives the death of the process. Sandboxed runs are not marked: a worker's crash is its own.
 * What to do with the jobs found is the host's business. */
#ifndef ASYNCD_INFLIGHT_H
#define ASYNCD_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inflight_mark {
	int64_t id;
	int64_t attempt;
};

/* What the previous life of the host on state_dir left: *ret_unclean is true when it did not
 * stop cleanly (the journal was still there); *ret_marks (the caller frees it) the runs it had in
 * progress in-process, *ret_n of them. AE_IO when the journal exists but cannot be read. */
int inflight_previous(const char *state_dir, bool *ret_unclean, struct inflight_mark **ret_marks,
		      size_t *ret_n);

/* Create this life's journal (replacing the previous one) and start marking runs. */
int inflight_open(const char *state_dir);

/* Mark that this thread now runs job id (attempt) in-process, and that it finished. Without an
 * open journal, or when every slot is taken, they do nothing. */
void inflight_begin(int64_t id, int64_t attempt);
void inflight_end(void);

/* A clean stop: remove the journal (the mapping stays, for a plug-in still running past the
 * stop timeout). */
void inflight_close_clean(const char *state_dir);

#endif
