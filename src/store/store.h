/* The store: durable rows for jobs, assemblies, plug-in types, steps, settings, users, tokens,
 * audit and hosts, behind struct store_ops so that a backend (SQLite now, PostgreSQL later) can be
 * added without touching the engine. A struct store is one connection: use it from one thread at a
 * time. Core code calls the store_*() wrappers, never ops directly. */
#ifndef ASYNCD_STORE_H
#define ASYNCD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/job.h"

enum isolation {
	ISOLATION_NONE = 0,
	ISOLATION_SANDBOX = 1,
};

struct assembly {
	int64_t id;
	char *name;
	char *version; /* major.minor.build.revision */
	char *description;
	int isolation;
	char *sha256; /* hex */
	int64_t size;
	int64_t created_on;
	int64_t modified_on;
	char **types; /* type names (not full names) */
	size_t n_types;
	bool draining;		/* being deleted once its unfinished jobs are done */
	int64_t drain_deadline; /* when a drain cancels what is left (0: never) */
};

struct step {
	int64_t id;
	char *name;
	char *plugin_type; /* ASSEMBLY.TYPE */
	int64_t assembly_id;
	char *message;
	char *entity; /* NULL: any */
	int stage;    /* 40 */
	int rank;
	char *filtering_attributes; /* JSON array of names, NULL: any change */
	char *configuration;
	char *secure_configuration;
	char *impersonating_user;
	char *images; /* JSON array of {"type":"pre"|"post","alias","attributes":[...]}, or NULL */
	bool async_auto_delete;
	bool enabled;
	bool draining;		/* being deleted once its unfinished jobs are done */
	int64_t drain_deadline; /* when a drain cancels what is left (0: never) */
	int64_t created_on;
	int64_t modified_on;
};

struct setting_row {
	char *key;
	char *value; /* JSON text */
};

struct user {
	int64_t id;
	char *name;
	unsigned roles; /* bit set of enum role (common/roles.h) */
	char *password_hash;
	int64_t created_on;
};

struct token {
	int64_t id;
	int64_t user_id;
	char *name;
	char *hash; /* hex SHA-256 of the token */
	int64_t created_on;
	int64_t revoked_on;
};

struct audit_entry {
	int64_t id;
	int64_t at;
	char *user;
	char *remote;
	char *action;
	char *target;
	char *result;
	char *detail;
};

struct service_config {
	char *name;
	int startup_type;
	int recovery_delay_s;
};

struct session {
	char *hash; /* SHA-256 of the cookie value */
	int64_t user_id;
	char *csrf;
	int64_t created_on;
	int64_t expires_on;
};

struct job_filter {
	int state;  /* -1: any */
	int status; /* -1: any */
	const char *plugin_type;
	int64_t step_id;   /* 0: any */
	int64_t before_id; /* cursor: only ids below it; 0: from the newest */
	int limit;
	const char
	    *owner; /* only the jobs this user submitted or raised the events of; NULL: any */
	const char *error_code;	  /* NULL: any */
	int64_t completed_before; /* only jobs completed before this time (ms); 0: any */
};

/* The recorded end of one run, applied only when the job is still Locked by host_id with the same
 * attempt (fencing). */
struct job_completion {
	int64_t id;
	const char *host_id;
	int64_t attempt;
	struct job_next next;
	const char *message;
	const char *trace;
	const char *output;
	int64_t started_on;
	int64_t completed_on;
	int64_t execution_time_ms;
	struct job *children; /* jobs of events the plug-in raised, inserted with the outcome */
	size_t n_children;
	bool applied; /* out: false when the fence refused it; set by the commit at the latest
		       * (in a transaction PostgreSQL sends a group's outcomes together, at its next
		       * other statement or at the commit: the struct must live until then) */
};

/* How many runs of a job its history keeps: the last ones. */
#define STORE_ATTEMPTS_KEPT 10

/* One run of a job, as its history keeps it (written with the run's outcome). outcome is one of
 * succeeded, failed, transient, needs_attention, interrupted (paused), canceled. */
struct job_attempt {
	int64_t attempt;
	char *host_id;
	int64_t started_on; /* 0: the run never started (e.g. the plug-in was missing) */
	int64_t ended_on;
	char *outcome;
	char *error_code;
	char *message;
	char *trace; /* at most job.max_trace_bytes and a note */
};

/* One asyncd process that uses (or used) the store: written at start and at every heartbeat. */
struct host_row {
	char *id;
	char *address; /* the API's URL */
	char *version;
	int64_t started_on;
	int64_t heartbeat_on;
	int64_t stopped_on; /* 0: not stopped cleanly */
};

/* A service action one host asks of another through a shared store: the target acts on it and
 * writes its answer (its service's new status as JSON, or an error). */
struct host_command {
	int64_t id;
	char *host_id; /* the target */
	char *service;
	char *action;
	char *payload; /* JSON for "configure" (the service's new configuration), else NULL */
	char *requested_by;
	int64_t requested_on;
	int64_t done_on; /* 0: not yet */
	int rc;		 /* the target's result: 0 or an AE_* code */
	char *answer;	 /* JSON of the service, or the error's message */
};

/* Counts of unfinished jobs per state, for safe deletes. */
struct job_counts {
	int64_t by_state[4];
	int64_t needs_attention;   /* Suspended without a time: waiting for a person to resume */
	int64_t earliest_postpone; /* the earliest postpone_until of the Suspended ones, 0: none */
};

struct store;
struct store_ops;

/* Every backend's struct store starts with this. */
struct store_base {
	const struct store_ops *ops;
};

/* What a safe delete is about: a step or an assembly (its jobs are those of step_id or
 * assembly_id). */
enum store_owner { STORE_STEP, STORE_ASSEMBLY };

/* After name, every member is a function pointer that a backend must fill: store_open checks. */
/* The oldest Ready job of a plug-in type, as far as the first STORE_READY_SCAN Ready jobs of each
 * priority in claim order show it (bounded work): created_on of the type's first one among them.
 * Exact unless a priority level was cut short before it; then it is a lower bound of the age (a
 * job that old is Ready), and a type not met at all is not listed. */
#define STORE_READY_SCAN 2000
struct ready_head {
	char plugin_type[128];
	int64_t created_on;
};

/* Jobs completed in one hour with one plug-in type and status (the statistics job). */
struct stats_hour {
	int64_t hour; /* ms, a multiple of 3,600,000 */
	char plugin_type[128];
	int status;
	int64_t count;
};

struct store_ops {
	const char *name;
	int (*open)(const char *url, struct store **ret);
	void (*close)(struct store *s);
	int (*migrate)(struct store *s);
	const char *(*last_error)(struct store *s);

	int (*begin)(struct store *s); /* a write transaction */
	int (*commit)(struct store *s);
	int (*rollback)(struct store *s);
	int (*savepoint)(struct store *s);
	int (*release)(struct store *s);
	int (*rollback_to)(struct store *s);

	int (*jobs_insert)(struct store *s, struct job *jobs, size_t n);
	int (*jobs_claim)(struct store *s, const char *host_id, int64_t now, int limit,
			  struct job **ret_jobs, size_t *ret_n);
	int (*jobs_complete)(struct store *s, struct job_completion *c, size_t n);
	int (*jobs_release)(struct store *s, const char *host_id, const int64_t *ids,
			    const int64_t *attempts, size_t n, int64_t now);
	int (*jobs_started)(struct store *s, const int64_t *ids, const int64_t *attempts,
			    const int64_t *started_on, size_t n);
	int (*jobs_release_all_locked)(struct store *s, int64_t now, int64_t *ret_n);
	int (*jobs_promote_due)(struct store *s, int64_t now, int64_t *ret_n);
	int (*jobs_next_due)(struct store *s, int64_t *ret_at);
	int (*job_get)(struct store *s, int64_t id, struct job *ret);
	int (*job_find_idempotent)(struct store *s, const char *key, int64_t *ret_id);
	int (*job_update)(struct store *s, const struct job *j); /* user actions */
	int (*job_delete)(struct store *s, int64_t id);
	int (*jobs_list)(struct store *s, const struct job_filter *f, struct job **ret_jobs,
			 size_t *ret_n);
	int (*jobs_stats)(struct store *s, int64_t ret_by_status[33], int64_t *ret_total);
	int (*jobs_count_unfinished)(struct store *s, enum store_owner owner, int64_t id,
				     struct job_counts *ret);

	int (*assembly_insert)(struct store *s, struct assembly *a, const void *bytes, size_t n);
	int (*assembly_get)(struct store *s, int64_t id, struct assembly *ret);
	int (*assembly_find_sha)(struct store *s, const char *sha256, struct assembly *ret);
	int (*assembly_bytes)(struct store *s, const char *sha256, void **ret_bytes, size_t *ret_n);
	int (*assemblies_list)(struct store *s, struct assembly **ret, size_t *ret_n);

	int (*step_insert)(struct store *s, struct step *st);
	int (*step_set_enabled)(struct store *s, int64_t id, bool enabled, int64_t now);
	int (*step_update)(struct store *s, const struct step *st);
	int (*step_delete)(struct store *s, int64_t id);
	int (*steps_list)(struct store *s, struct step **ret, size_t *ret_n);

	int (*settings_list)(struct store *s, struct setting_row **ret, size_t *ret_n);
	int (*setting_put)(struct store *s, const char *key, const char *value);

	int (*user_insert)(struct store *s, struct user *u);
	int (*user_find)(struct store *s, const char *name, struct user *ret);
	int (*user_get)(struct store *s, int64_t id, struct user *ret);
	int (*token_insert)(struct store *s, struct token *t);
	int (*token_find)(struct store *s, const char *hash, struct token *ret);
	int (*token_revoke)(struct store *s, int64_t id, int64_t now);

	int (*audit_insert)(struct store *s, struct audit_entry *e);
	int (*audit_list)(struct store *s, int64_t before_id, int limit, struct audit_entry **ret,
			  size_t *ret_n);

	int (*set_synchronous)(struct store *s, bool full);

	int (*service_configs)(struct store *s, const char *host_id, struct service_config **ret,
			       size_t *ret_n);
	int (*service_config_put)(struct store *s, const char *host_id,
				  const struct service_config *c);
	int (*users_list)(struct store *s, struct user **ret, size_t *ret_n);
	int (*user_delete)(struct store *s, int64_t id);
	int (*tokens_list)(struct store *s, struct token **ret, size_t *ret_n);
	int (*session_insert)(struct store *s, const struct session *se);
	int (*session_find)(struct store *s, const char *hash, int64_t now, struct session *ret);
	int (*session_delete)(struct store *s, const char *hash);
	/* Delete up to limit Completed jobs of status completed before before_ms. */
	int (*jobs_cleanup)(struct store *s, int status, int64_t before_ms, int limit,
			    int64_t *ret_n);
	int (*audit_cleanup)(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);

	int (*set_draining)(struct store *s, enum store_owner owner, int64_t id, int64_t deadline);
	int (*row_state)(struct store *s, enum store_owner owner, int64_t id, bool *ret_exists,
			 bool *ret_draining);
	int (*assembly_delete)(struct store *s, int64_t id);
	int (*jobs_cancel_for)(struct store *s, enum store_owner owner, int64_t id, int64_t now,
			       const char *error_code, const char *message, int64_t **ret_locked,
			       size_t *ret_n_locked);
	int (*job_count_host_crash)(struct store *s, int64_t id, int64_t attempt,
				    int64_t *ret_crashes);
	int (*job_fail_locked)(struct store *s, int64_t id, int64_t attempt, int64_t now,
			       const char *error_code, const char *message);
	int (*job_attempts)(struct store *s, int64_t id, struct job_attempt **ret, size_t *ret_n);
	int (*assembly_set_isolation)(struct store *s, int64_t id, int isolation, int64_t now);
	int (*host_put)(struct store *s, const struct host_row *h, int64_t lease_until);
	int (*hosts_list)(struct store *s, struct host_row **ret, size_t *ret_n);
	int (*jobs_rescue)(struct store *s, const char *host_id, int64_t dead_before, int64_t now,
			   int64_t *ret_n);
	int (*listen_wait)(struct store *s, int timeout_ms);

	/* Optional (a backend may leave them NULL; the metrics then omit what they give):
	 * keep asyncd_metrics.jobs (common/metrics.h) by plug-in type and status from every job
	 * row this connection commits, seeded now by a count of the indexes (the write connection);
	 * and the first Ready job of each plug-in type, from the claim's index (bounded work). */
	int (*jobs_watch)(struct store *s);
	int (*jobs_ready_heads)(struct store *s, int want, struct ready_head **ret, size_t *ret_n);
	int (*job_progress)(struct store *s, int64_t id, int64_t attempt, const char *output);
	int (*job_set_recurrence)(struct store *s, const struct job *j, int64_t now);
	int (*attempts_cleanup)(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);
	/* optional too (NULL: the statistics job says so and GET /jobs/stats/hourly is empty) */
	int (*stats_hourly_collect)(struct store *s, int64_t from_ms, int64_t to_ms);
	int (*stats_hourly_list)(struct store *s, int64_t since_ms, struct stats_hour **ret,
				 size_t *ret_n);
	/* Optional: service actions addressed to another host of a shared store (PostgreSQL). */
	int (*command_put)(struct store *s, struct host_command *c);
	int (*commands_pending)(struct store *s, const char *host_id, struct host_command **ret,
				size_t *ret_n);
	int (*command_done)(struct store *s, int64_t id, int rc, const char *answer, int64_t now);
	int (*command_get)(struct store *s, int64_t id, struct host_command *ret);
	/* Optional: a shared store's job counts are read from the table (finished: the finished
	 * ones too, which cost more) into asyncd_metrics.jobs; NULL where jobs_watch keeps them. */
	int (*jobs_counts_refresh)(struct store *s, bool finished);
};

/* Open the backend that url names ("sqlite:PATH"; "postgres://..." once that backend exists). */
int store_open(const char *url, struct store **ret);
void store_close(struct store *s);
int store_migrate(struct store *s);
/* The backend's message for the last failure on s, for logs and API details. */
const char *store_last_error(struct store *s);

int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
int store_savepoint(struct store *s);
int store_release(struct store *s);
int store_rollback_to(struct store *s);

/* Insert n jobs; sets each id. */
int store_jobs_insert(struct store *s, struct job *jobs, size_t n);
/* Mark up to limit Ready jobs Locked by host_id (priority, then sequence; skipping dependency
 * tokens held by an earlier unfinished job); returns them with attempt bumped. */
int store_jobs_claim(struct store *s, const char *host_id, int64_t now, int limit,
		     struct job **ret_jobs, size_t *ret_n);
/* Record outcomes (fenced); each applied one that keeps its row also writes the run into the
 * job's attempt history (the oldest of STORE_ATTEMPTS_KEPT makes room), in the same
 * transaction. */
int store_jobs_complete(struct store *s, struct job_completion *c, size_t n);
/* Return Locked jobs held by host_id (fenced by attempt) to Ready without spending a retry. */
int store_jobs_release(struct store *s, const char *host_id, const int64_t *ids,
		       const int64_t *attempts, size_t n, int64_t now);
/* Return every Locked job to Ready (single-host start-up after a crash). */
/* Claimed jobs whose runs have started: Locked / Waiting For Resources becomes Locked / In Progress
 * with started_on, for each (id, attempt) still in that state (a job already finished, paused or
 * canceled, or claimed again, is left alone). */
int store_jobs_started(struct store *s, const int64_t *ids, const int64_t *attempts,
		       const int64_t *started_on, size_t n);
int store_jobs_release_all_locked(struct store *s, int64_t now, int64_t *ret_n);
/* Move Suspended jobs whose postpone_until has passed to Ready. */
int store_jobs_promote_due(struct store *s, int64_t now, int64_t *ret_n);
/* The earliest postpone_until among Suspended jobs, 0 when none. */
int store_jobs_next_due(struct store *s, int64_t *ret_at);
int store_job_get(struct store *s, int64_t id, struct job *ret);
/* The id of the job with this idempotency key; AE_NOTFOUND when none. */
int store_job_find_idempotent(struct store *s, const char *key, int64_t *ret_id);
/* Write the mutable fields of j (state, status, postpone_until, retry_count, error_code, message,
 * host_id, attempt, completed_on, modified_on). */
int store_job_update(struct store *s, const struct job *j);
int store_job_delete(struct store *s, int64_t id);
int store_jobs_list(struct store *s, const struct job_filter *f, struct job **ret_jobs,
		    size_t *ret_n);
int store_jobs_stats(struct store *s, int64_t ret_by_status[33], int64_t *ret_total);
/* Unfinished jobs per state of the step or assembly id. */
int store_jobs_count_unfinished(struct store *s, enum store_owner owner, int64_t id,
				struct job_counts *ret);

int store_assembly_insert(struct store *s, struct assembly *a, const void *bytes, size_t n);
int store_assembly_get(struct store *s, int64_t id, struct assembly *ret);
int store_assembly_find_sha(struct store *s, const char *sha256, struct assembly *ret);
int store_assembly_bytes(struct store *s, const char *sha256, void **ret_bytes, size_t *ret_n);
int store_assemblies_list(struct store *s, struct assembly **ret, size_t *ret_n);

int store_step_insert(struct store *s, struct step *st);
int store_step_set_enabled(struct store *s, int64_t id, bool enabled, int64_t now);
/* Every field of step st->id that a PATCH may change (not its type, assembly or stage);
 * AE_NOTFOUND when there is no such step. */
int store_step_update(struct store *s, const struct step *st);
int store_step_delete(struct store *s, int64_t id);
int store_steps_list(struct store *s, struct step **ret, size_t *ret_n);

int store_settings_list(struct store *s, struct setting_row **ret, size_t *ret_n);
int store_setting_put(struct store *s, const char *key, const char *value);

int store_user_insert(struct store *s, struct user *u);
int store_user_find(struct store *s, const char *name, struct user *ret);
int store_user_get(struct store *s, int64_t id, struct user *ret);
int store_token_insert(struct store *s, struct token *t);
int store_token_find(struct store *s, const char *hash, struct token *ret);
int store_token_revoke(struct store *s, int64_t id, int64_t now);

int store_audit_insert(struct store *s, struct audit_entry *e);
int store_audit_list(struct store *s, int64_t before_id, int limit, struct audit_entry **ret,
		     size_t *ret_n);

/* Durable commits (fsync at every commit) or faster ones that a power loss may undo. Outside a
 * transaction only. */
/* The optional operations: AE_INTERNAL when the backend has not got them. */
int store_jobs_watch(struct store *s);
/* want: how many types have Ready jobs (a level's scan stops once it met that many). */
int store_jobs_ready_heads(struct store *s, int want, struct ready_head **ret, size_t *ret_n);
/* Read the job counts of /metrics from the table (a shared store); AE_INTERNAL where the
 * writer keeps them (SQLite). */
int store_jobs_counts_refresh(struct store *s, bool finished);
/* Store a command for c->host_id (sets c->id) and tell that host at the commit. */
int store_command_put(struct store *s, struct host_command *c);
/* The commands for host_id not done yet, oldest first. */
int store_commands_pending(struct store *s, const char *host_id, struct host_command **ret,
			   size_t *ret_n);
/* Record the target's answer to command id. */
int store_command_done(struct store *s, int64_t id, int rc, const char *answer, int64_t now);
int store_command_get(struct store *s, int64_t id, struct host_command *ret);
void host_command_done(struct host_command *c);
void host_commands_free(struct host_command *c, size_t n);
int store_set_synchronous(struct store *s, bool full);

int store_service_configs(struct store *s, const char *host_id, struct service_config **ret,
			  size_t *ret_n);
int store_service_config_put(struct store *s, const char *host_id, const struct service_config *c);
int store_users_list(struct store *s, struct user **ret, size_t *ret_n);
int store_user_delete(struct store *s, int64_t id);
int store_tokens_list(struct store *s, struct token **ret, size_t *ret_n);
int store_session_insert(struct store *s, const struct session *se);
/* A session that has not expired at now; AE_NOTFOUND otherwise. */
int store_session_find(struct store *s, const char *hash, int64_t now, struct session *ret);
int store_session_delete(struct store *s, const char *hash);
int store_jobs_cleanup(struct store *s, int status, int64_t before_ms, int limit, int64_t *ret_n);
int store_audit_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);

/* Mark a step or assembly as draining, until deadline (ms since the epoch; 0: no deadline). */
int store_set_draining(struct store *s, enum store_owner owner, int64_t id, int64_t deadline);
/* Whether the step or assembly exists and is draining. */
int store_row_state(struct store *s, enum store_owner owner, int64_t id, bool *ret_exists,
		    bool *ret_draining);
int store_assembly_delete(struct store *s, int64_t id);
/* Change an assembly's isolation (ISOLATION_*); AE_NOTFOUND when it does not exist. */
int store_assembly_set_isolation(struct store *s, int64_t id, int isolation, int64_t now);
/* Cancel the unfinished jobs of the step or assembly id: Ready and
 * Suspended ones become Completed/Canceled with error_code and message; Locked ones become
 * Locked/Canceling and their ids are returned so that their runs can be interrupted. */
int store_jobs_cancel_for(struct store *s, enum store_owner owner, int64_t id, int64_t now,
			  const char *error_code, const char *message, int64_t **ret_locked,
			  size_t *ret_n_locked);

/* Start-up after an unclean exit: job id was running in-process at attempt when the host died.
 * When it is still Locked at that attempt (and not being canceled), count one more host crash
 * for it; *ret_crashes gets the job's count so far. AE_NOTFOUND when the fence refuses it. */
int store_job_count_host_crash(struct store *s, int64_t id, int64_t attempt, int64_t *ret_crashes);
/* End the job id, Locked at attempt, Completed/Failed with error_code and message (AE_NOTFOUND
 * when it is not Locked at that attempt). */
int store_job_fail_locked(struct store *s, int64_t id, int64_t attempt, int64_t now,
			  const char *error_code, const char *message);

/* The attempt history of job id, oldest first (empty when it has none or does not exist); the
 * caller frees it with job_attempts_free. */
int store_job_attempts(struct store *s, int64_t id, struct job_attempt **ret, size_t *ret_n);

/* Write host h's row (insert or replace) and extend the leases of the jobs it holds Locked to
 * lease_until. */
int store_host_put(struct store *s, const struct host_row *h, int64_t lease_until);
/* Every host row, oldest start first. */
int store_hosts_list(struct store *s, struct host_row **ret, size_t *ret_n);
/* Return to Ready the Locked jobs of host_id, or (host_id NULL) of every dead host: one whose
 * heartbeat is older than dead_before or that stopped; the attempt stays, so that the dead host's
 * late outcome is refused by the fence. A pause or cancel asked meanwhile wins as at release. */
int store_jobs_rescue(struct store *s, const char *host_id, int64_t dead_before, int64_t now,
		      int64_t *ret_n);

/* Wait up to timeout_ms for commits (of any host) that other hosts should hear of: a bit set of
 * STORE_HEARD_JOBS (jobs were made Ready) and STORE_HEARD_SETTINGS (settings changed), 0 when
 * the time passed; the first call starts listening. A connection of its own (the listener's).
 * AE_INVAL on a store without notifications (SQLite: one host, its engine is told directly). */
#define STORE_HEARD_JOBS 1
#define STORE_HEARD_SETTINGS 2
#define STORE_HEARD_COMMANDS 4 /* a command for some host was stored */
int store_listen_wait(struct store *s, int timeout_ms);

void host_rows_free(struct host_row *h, size_t n);

/* A running system job's progress: set the output of job id while it is Locked at attempt (the
 * outcome overwrites it); AE_NOTFOUND when the fence refuses it. */
int store_job_progress(struct store *s, int64_t id, int64_t attempt, const char *output);
/* Change the schedule of recurring job j->id: its recurrence_pattern, _start_time, _timezone,
 * and, when it is Suspended, postpone_until (its next occurrence); modified_on = now.
 * AE_NOTFOUND when it does not exist. */
int store_job_set_recurrence(struct store *s, const struct job *j, int64_t now);
/* Delete up to limit attempt-history entries that ended before before_ms. */
int store_attempts_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);

/* Count the jobs completed in [from_ms, to_ms) per hour, plug-in type and status into the
 * hourly statistics, replacing what those hours had (from_ms on an hour). Reads every completed
 * row of that window. AE_INTERNAL when the backend does not keep statistics. */
int store_stats_hourly_collect(struct store *s, int64_t from_ms, int64_t to_ms);
/* The hourly statistics from since_ms on, oldest first (free() the array). */
int store_stats_hourly_list(struct store *s, int64_t since_ms, struct stats_hour **ret,
			    size_t *ret_n);

void job_attempts_free(struct job_attempt *a, size_t n);
void service_configs_free(struct service_config *c, size_t n);
void users_free(struct user *u, size_t n);
void tokens_free(struct token *t, size_t n);
void session_done(struct session *se);
void assembly_done(struct assembly *a);
void assembly_array_free(struct assembly *a, size_t n);
void step_done(struct step *st);
void step_array_free(struct step *st, size_t n);
void setting_rows_free(struct setting_row *r, size_t n);
void user_done(struct user *u);
void token_done(struct token *t);
void audit_array_free(struct audit_entry *e, size_t n);

/* How many hosts share the store as this process last saw it (its heartbeat counts them, with a
 * heartbeat younger than 3 lock expiries: src/host/peers.c); 1 until then and on SQLite. With more
 * than one, claims share the work: a host claims what it can start, and async.throttling caps are
 * global. */
int store_live_hosts(void);
void store_set_live_hosts(int n);

/* Since when (ms) the database cannot be reached, as the last calls on any connection found it;
 * 0 while it can (SQLite: always 0). */
int64_t store_down_since(void);
/* For backends: a call found the database unreachable (down) or reachable again. */
void store_note_reachable(bool reachable);

/* Test builds: make the nth store call from now on fail with AE_STORE (0 disables). */
void store_fault_inject(int nth);
/* The same, failing with rc (e.g. AE_UNAVAILABLE: the connection lost) instead of AE_STORE; nth <
 * 0: every call fails until store_fault_inject(0) (a database that stays away). */
void store_fault_inject_rc(int nth, int rc);

#endif
