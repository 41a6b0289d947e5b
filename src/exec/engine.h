/* The engine of one host: the dispatcher thread that keeps the in-memory window of claimed jobs
 * (claiming by priority then sequence when it falls below items_in_memory_low, up to
 * items_in_memory_high), promotes postponed jobs when they come due, and the in-process pool
 * that runs them and hands their outcomes to the writer. */
#ifndef ASYNCD_ENGINE_H
#define ASYNCD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

struct writer;
struct engine;
struct sandbox;

struct engine_stats {
	int held;		      /* claimed, not started */
	int running;		      /* in a plug-in now */
	unsigned long long processed; /* since the last start */
	unsigned long long claimed;
	/* dispatcher passes ended since the engine was made (never reset): once it has grown by 2
	 * after a change, a whole pass began after it, so a test (or a client, through the async
	 * service's "dispatch_passes") can wait for that instead of for time to pass */
	unsigned long long passes;
	bool dispatching; /* the dispatcher thread runs (started, not stopping) */
	/* runs that ended whose outcome is with the writer, not committed yet: kept there while
	 * the database cannot be reached */
	int outcomes_pending;
};

/* Make the engine of this host, stopped. reader_url opens the pool's reader connections. */
int engine_new(struct writer *w, const char *reader_url, const char *host_id, struct engine **ret);
/* Run jobs of sandboxed assemblies on sb (NULL: they wait as sandbox_unavailable). Call before
 * the first start. */
void engine_set_sandbox(struct engine *e, struct sandbox *sb);
/* Start selecting and running jobs (again after a stop). AE_CONFLICT when it runs. */
int engine_start(struct engine *e);
/* New work was committed: select at once instead of waiting for the fallback poll. */
void engine_notify(struct engine *e);
/* Stop: selection ends, held jobs go back to Ready at once, running jobs get timeout_ms to
 * finish, the rest are asked to stop and returned to Ready without spending a retry. Returns
 * the number of runs interrupted (sandboxed ones have their workers killed after a grace). */
int engine_stop(struct engine *e, int64_t timeout_ms);
/* Pause: selection stops, held jobs go back to Ready, running jobs finish; returns then. */
int engine_pause(struct engine *e);
/* Continue after a pause. */
int engine_continue(struct engine *e);
/* Free after engine_stop. Accepts NULL. */
void engine_free(struct engine *e);
/* A job was postponed until at: promote it then. */
void engine_due(struct engine *e, int64_t at);
/* Ask the runs of the n jobs ids that run here to end early (cancel, pause); a sandboxed run that
 * does not end within a grace period has its worker killed. Those of them held but not started
 * are taken out first, in one step, so that none starts in a slot an interrupted run frees. */
void engine_interrupt(struct engine *e, const int64_t *ids, size_t n);
void engine_stats(struct engine *e, struct engine_stats *ret);

#endif
