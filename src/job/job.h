/* The system job model: states and statuses with the numbers of SPEC §1, the row as the engine,
 * store and API see it, and the pure rules that turn a run's outcome or a user's action into the
 * next state. It does no I/O and knows nothing of the store or the plug-ins. */
#ifndef ASYNCD_JOB_H
#define ASYNCD_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum job_state {
	JOB_READY = 0,
	JOB_SUSPENDED = 1,
	JOB_LOCKED = 2,
	JOB_COMPLETED = 3,
};

enum job_status {
	JOB_ST_WAITING_FOR_RESOURCES = 0,
	JOB_ST_WAITING = 10,
	JOB_ST_IN_PROGRESS = 20,
	JOB_ST_PAUSING = 21,
	JOB_ST_CANCELING = 22,
	JOB_ST_SUCCEEDED = 30,
	JOB_ST_FAILED = 31,
	JOB_ST_CANCELED = 32,
};

struct job;

enum job_operation {
	JOB_OP_SYSTEM_EVENT = 1,
	JOB_OP_BULK_DELETE = 13,
	JOB_OP_EXECUTE_ASYNC = 54,
	/* internal: work of asyncd itself (docs/system-jobs.md) */
	JOB_OP_MAINTENANCE = 100, /* audit and history cleanup, statistics */
	JOB_OP_BULK_ACTION = 101, /* cancel, retry, resume or delete of many jobs */
};

/* The owner of the recurring jobs of async-maintenance: users change their schedule, nothing
 * else (SPEC §1). */
#define JOB_OWNER_SYSTEM "system"
/* Whether j is one of them. */
bool job_is_maintenance(const struct job *j);

#define JOB_PRIORITY_MIN 0
#define JOB_PRIORITY_MAX 10
#define JOB_PRIORITY_DEFAULT 5

/* One system job. Times are milliseconds since the Unix epoch, 0 meaning none; strings are owned
 * by the struct (freed by job_done) and NULL meaning none. */
struct job {
	int64_t id; /* also the submission sequence */
	char *name;
	int operation_type;
	int state;
	int status;
	char *message_name;
	char *primary_entity;
	char *regarding_id;
	int64_t step_id;     /* 0: none */
	int64_t assembly_id; /* the assembly whose code runs it (0: resolved at run time) */
	char *plugin_type;   /* ASSEMBLY.TYPE */
	char *data;	     /* JSON text */
	int depth;
	char *correlation_id;
	char *request_id;
	char *dependency_token;
	int priority;
	int64_t postpone_until;
	int retry_count;
	int max_retries;
	char *error_code;
	char *message;
	char *friendly_message;
	char *host_id;
	int64_t attempt; /* bumped by every claim; completions are fenced by it */
	int64_t lease_expires_on;
	int64_t created_on;
	int64_t started_on;
	int64_t completed_on;
	int64_t modified_on;
	int64_t execution_time_ms;
	char *recurrence_pattern;
	int64_t recurrence_start_time;
	char *recurrence_timezone; /* IANA name; NULL: UTC */
	char *owner;
	char *idempotency_key;
	char *trace;  /* the trace log, text */
	char *output; /* JSON text set by the plug-in */
	bool auto_delete;
};

/* Free the contents of j (not j itself) and zero it. Accepts NULL. */
void job_done(struct job *j);
/* Free an array of n jobs and their contents. Accepts NULL. */
void job_array_free(struct job *jobs, size_t n);

bool job_state_valid(int state);
bool job_status_valid(int status);
/* The state a status belongs to, or -1. */
int job_status_state(int status);
const char *job_state_name(int state);
const char *job_status_name(int status);

/* What a run amounted to. result is an enum asyncd_result. */
/* The longest retry delay a plug-in may ask for (30 days); longer requests are cut to it. */
#define JOB_MAX_RETRY_DELAY_MS (30LL * 24 * 3600 * 1000)

struct job_outcome {
	int result;
	int64_t delay_ms;	/* transient failures: requested delay (at most
				 * JOB_MAX_RETRY_DELAY_MS is used), or -1 for the backoff */
	const char *error_code; /* stable name; NULL gives the default for the result */
	const char *message;
};

struct retry_policy {
	int64_t time_between_retries_ms; /* backoff base */
	int64_t max_backoff_ms;		 /* cap */
};

/* Where a job goes after a run. */
struct job_next {
	int state;
	int status;
	int64_t postpone_until; /* 0: none */
	int retry_count;
	const char *error_code; /* NULL on success */
	bool delete_row;	/* succeeded with async_auto_delete */
	/* what the run was, for the attempt history, when the next state does not tell (a recurring
	 * job waits for its next occurrence after any outcome); NULL: read from the next state */
	const char *run_outcome;
};

/* The next state of job j (its retry_count, max_retries and auto_delete are read) after outcome o
 * at time now; rnd is a random number for the jitter. */
void job_next_state(const struct job *j, const struct job_outcome *o, const struct retry_policy *p,
		    int64_t now, uint64_t rnd, struct job_next *ret);

/* The delay before retry number retry_count (0 for the first retry): base * 2^retry_count, capped,
 * then scaled by a jitter factor in [0.8, 1.2) drawn from rnd, and capped again. */
int64_t job_backoff_ms(const struct retry_policy *p, int retry_count, uint64_t rnd);

/* User actions on a job (SPEC §1). */
enum job_action {
	JOB_ACT_CANCEL,
	JOB_ACT_PAUSE,
	JOB_ACT_RESUME,
	JOB_ACT_POSTPONE,
	JOB_ACT_RETRY,
	JOB_ACT_DELETE,
};

/* Whether action a is allowed on a job in state; actions on Locked jobs go through the
 * intermediate statuses (Canceling, Pausing) handled by the engine. */
bool job_action_allowed(enum job_action a, int state);
const char *job_action_name(enum job_action a);
/* The action a bulk request names (cancel, retry, resume, delete); false for any other name. */
bool job_bulk_action(const char *name, enum job_action *ret);
/* Apply action a to j at now (until: postpone's time): the state machine of SPEC §1. False (j
 * untouched) when a is not allowed in j's state (retry: only a Failed job). *ret_interrupt says
 * whether j was Locked, so its run must be asked to stop. */
bool job_apply_action(struct job *j, enum job_action a, int64_t until, int64_t now,
		      bool *ret_interrupt);

#endif
