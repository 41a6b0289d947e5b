/* One run of one claimed job inside the host (isolation=none): resolve its assembly and step in
 * the registry, load the code, call execute() with a context, and turn what happened into a
 * completion (next state, message, trace, output, child jobs of raised events). It writes
 * nothing; the engine hands the completion to the writer. */
#ifndef ASYNCD_RUNNER_H
#define ASYNCD_RUNNER_H

#include "common/settings.h"
#include "plugin/events.h"
#include "store/store.h"

struct run_result {
	struct job_outcome outcome;
	char message[1024];
	char *trace;
	char *output;
	struct job_vec children;
	int64_t started_on;
	int64_t execution_time_ms;
};

/* Run job j. reader is this thread's reader connection (for fetching code); stop_flag is raised
 * by the engine to ask the plug-in to end early. */
void runner_run(const struct job *j, struct store *reader, const struct settings *cfg,
		const int *stop_flag, struct run_result *ret);
void run_result_done(struct run_result *r);

#endif
