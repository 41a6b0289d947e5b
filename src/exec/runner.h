/* One run of one claimed job: resolve its assembly and step in the registry; for isolation=none
 * load the code, call execute() with a context in this thread; for isolation=sandbox hand the
 * job to the sandbox supervisor and take its reply later. Either way what happened becomes a
 * completion (next state, message, trace, output, child jobs of raised events). It writes
 * nothing; the engine hands the completion to the writer. */
#ifndef ASYNCD_RUNNER_H
#define ASYNCD_RUNNER_H

#include "common/settings.h"
#include "plugin/events.h"
#include "store/store.h"

struct sandbox;
struct ipc_result;

/* A run handed to the sandbox: called once the reply is in the result (sandbox thread). */
typedef void (*runner_done_fn)(void *arg);

struct run_result {
	struct job_outcome outcome;
	char message[1024];
	char *trace;
	char *output;
	struct job_vec children;
	int64_t started_on;
	int64_t execution_time_ms;
	bool rerun; /* a sandboxed run that never started: the registry changed; resolve it again */
	struct {    /* a sandboxed run in progress */
		const struct job *job;
		runner_done_fn done;
		void *arg;
	} async;
};

enum { RUNNER_DONE = 0, RUNNER_ASYNC = 1 };

/* Run job j. reader is this thread's reader connection (for fetching code); stop_flag is raised
 * by the engine to ask the plug-in to end early. Returns RUNNER_DONE with *ret filled, or, when
 * the job runs in the sandbox sb, RUNNER_ASYNC: then done(arg) is called later from the sandbox's
 * thread with *ret filled (j and ret must live until then; the run is aborted through
 * sandbox_abort()). sb may be NULL (sandboxed jobs then wait as sandbox_unavailable). */
int runner_start(const struct job *j, struct store *reader, const struct settings *cfg,
		 const int *stop_flag, struct sandbox *sb, runner_done_fn done, void *arg,
		 struct run_result *ret);
/* The in-process part alone: runner_start without a sandbox, always RUNNER_DONE. */
void runner_run(const struct job *j, struct store *reader, const struct settings *cfg,
		const int *stop_flag, struct run_result *ret);
/* Whether job j runs in the sandbox according to snapshot snap. */
bool runner_sandboxed(const struct registry_snap *snap, const struct job *j);
/* Turn a sandbox reply for job j into the completion in ret. */
void runner_take_reply(const struct job *j, const struct ipc_result *reply,
		       const struct settings *cfg, struct run_result *ret);
void run_result_done(struct run_result *r);

#endif
