/* The writer thread: every write goes through it, and it commits them in groups. Ops queued while
 * a transaction commits ride in the next one, so many callers share one fsync; a caller is
 * answered only after its op's transaction committed (durable acknowledgement). It owns the one
 * write connection; it does not know what the ops do. */
#ifndef ASYNCD_WRITER_H
#define ASYNCD_WRITER_H

#include <stdbool.h>

struct store;
struct writer;

/* Runs inside the group transaction; returns 0 or a negative AE_* code. It may run more than once
 * (when another op broke the group, the group is rolled back and run again without that op), so
 * it must not depend on what an earlier run of it left in memory. */
typedef int (*writer_fn)(struct store *s, void *arg);

/* An op queued to the writer, usually embedded in the caller's own struct (no malloc). */
struct writer_op {
	writer_fn fn;
	void *arg;
	/* Called on the writer thread after the commit (rc: fn's result, or the commit's error);
	 * may be NULL. */
	void (*done)(void *arg, int rc);
	/* true: fn runs under a savepoint, so its failure undoes only its own writes and the group
	 * goes on. false (cheaper): a failure rolls the whole group back; the op is answered with
	 * its error and the others are tried again at once without it. */
	bool isolated;
	/* true: if the commit fails (disk full, I/O error, the database unreachable), keep the op
	 * and try it again later instead of reporting the error (job outcomes must not be lost);
	 * if the op itself fails, it is tried again in later groups, and answered with its error
	 * after 5 tries. At a stop, kept ops are answered with their error after 5 s more. false:
	 * while the store is known unreachable, answered at once with AE_UNAVAILABLE. */
	bool must_succeed;
	int failures; /* the writer's: how many groups this op broke */
	struct writer_op *next;
};

/* Open the store at url for writing and start the thread. */
int writer_start(const char *url, struct writer **ret);
/* Commit what is queued, then stop the thread and close the connection. Accepts NULL. */
void writer_stop(struct writer *w);
/* Queue op; returns at once. AE_SHUTDOWN once stopping. */
int writer_post(struct writer *w, struct writer_op *op);
/* Run fn in the next group and wait for the commit. Returns fn's result or the commit error. */
int writer_call(struct writer *w, writer_fn fn, void *arg);
/* How many groups and ops were committed (for metrics). */
void writer_stats(struct writer *w, unsigned long long *ret_groups, unsigned long long *ret_ops);

#endif
