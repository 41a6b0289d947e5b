/* The drain thread of a host: every 500 ms (or at once when kicked) it reloads the registry,
 * finishes the drains of steps and assemblies whose jobs are all done (deleting them through the
 * writer it was given, with plugin/lifecycle.c's decision), and unloads in-process code that no
 * current assembly uses and no run holds. */
#ifndef ASYNCD_DRAIN_H
#define ASYNCD_DRAIN_H

struct writer;

/* Start the thread; reader_url is opened for its own reader connection. */
struct engine;
/* engine (may be NULL) is told to interrupt the runs that a drain's deadline cancels. */
int drain_start(struct writer *w, struct engine *e, const char *reader_url);
void drain_stop(void);
/* Run one pass now (after a delete or an upgrade), without waiting for the next tick. */
void drain_kick(void);

#endif
