/* The Sandbox Processing Service's supervisor (docs/sandbox.md): a thread that keeps
 * sandbox.workers asyncd-worker processes (posix_spawn, one socketpair each), replaces those that
 * die, runs the jobs handed to it on them (pipelined), enforces sandbox.timeout, the memory limit
 * and the ping, and turns a worker's death into its job's outcome. It knows nothing of the store
 * or the engine (the registry only to unload old code); replies come through a callback. */
#ifndef ASYNCD_SANDBOX_H
#define ASYNCD_SANDBOX_H

#include <jansson.h>
#include <stdint.h>

#include "sandbox/ipc_job.h"
#include "job/job.h"

struct sandbox;
struct settings;

#define SANDBOX_PIPELINE 32 /* jobs in flight per worker: one runs, the others wait their turn */

/* How many jobs the sandbox takes at once with these settings (workers x pipeline). */
int sandbox_capacity(const struct settings *cfg);

/* What runs where: the job (borrowed until sandbox_submit returns: it is encoded at once), its
 * library by sha256 and the path of the cached file, the type, the step's configurations. */
struct sandbox_job {
	const struct job *job;
	const char *sha256;
	const char *lib_path;
	const char *type; /* without the assembly's name */
	int64_t step_id;
	const char *config, *secure_config;
	int64_t max_trace;
	uint64_t gen; /* registry_generation() it was resolved under */
};

/* The error_code of a reply for a job that never started because the registry changed since it
 * was resolved (an upgrade, an isolation or a step's configuration): the caller resolves it again
 * and submits it anew; it is no attempt and no failure. */
#define SANDBOX_RERUN "asyncd_rerun"

/* The reply for one job, valid during the callback only. Host-made failures (timeout,
 * worker_crashed, out_of_memory, worker_unresponsive, sandbox_unavailable) come in the same
 * shape as a worker's RESULT. */
typedef void (*sandbox_done_fn)(void *arg, const struct ipc_result *reply);

/* Called (on the supervisor's thread) with a run's arg when it becomes its worker's head, i.e.
 * when its run starts; once per run. One hook for the process, set before runs are submitted. */
typedef void (*sandbox_started_fn)(void *arg);
void sandbox_on_start(sandbox_started_fn fn);

/* A supervisor, stopped. */
int sandbox_new(struct sandbox **ret);
/* Free a stopped supervisor. Accepts NULL. */
void sandbox_free(struct sandbox *sb);
/* Start the supervisor thread and its workers (worker_path is copied); state_dir (NULL: none)
 * is kept out of the workers' reach even if it lies beneath a system directory they may read.
 * AE_CONFLICT when it runs. */
int sandbox_start(struct sandbox *sb, const char *worker_path, const char *state_dir);
/* Refuse new jobs, let those handed over finish for at most timeout_ms, then kill the workers;
 * jobs still unfinished get a transient sandbox_unavailable reply. Returns once stopped. */
int sandbox_stop(struct sandbox *sb, int64_t timeout_ms);
/* Whether it accepts jobs now. */
bool sandbox_running(struct sandbox *sb);

/* Hand job sj over. 0: done(arg, reply) will be called exactly once, on the supervisor's thread.
 * Otherwise done is not called: AE_SHUTDOWN (not running), AE_TOOBIG or AE_NOMEM. */
int sandbox_submit(struct sandbox *sb, const struct sandbox_job *sj, sandbox_done_fn done,
		   void *arg);
/* Ask the run of (job_id, attempt) to end: dropped if it has not started, asked to stop
 * (should_stop) if it runs, and its worker killed if it still runs grace_ms later. The reply
 * comes as usual (the engine's fencing decides what it means). */
void sandbox_abort(struct sandbox *sb, int64_t job_id, int64_t attempt, int64_t grace_ms);

/* Properties for the service's description: workers, busy, restarts, ... */
void sandbox_describe(struct sandbox *sb, json_t *props);

#endif
