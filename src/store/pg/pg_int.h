/* Internals shared by the PostgreSQL backend's files: the connection struct, the parameter
 * builder and the helpers that run a statement and read its rows. Nothing outside src/store/pg/
 * includes this. */
#ifndef ASYNCD_PG_INT_H
#define ASYNCD_PG_INT_H

#include <libpq-fe.h>

#include "store/store.h"

#define PG_MAX_PARAMS 40

/* Statements prepared once per connection (by name) on first use and reused. */
enum pg_stmt {
	PG_JOB_INSERT,
	PG_JOB_CLAIM,
	PG_JOB_COMPLETE,
	PG_JOB_COMPLETE_DELETE,
	PG_ATTEMPT_INSERT,
	PG_JOB_RELEASE,
	PG_JOB_GET,
	PG_ROW_STATE_STEP,
	PG_ROW_STATE_ASSEMBLY,
	PG_STMT_COUNT_
};

struct store {
	struct store_base base; /* first: the ops the wrappers call */
	PGconn *conn;
	bool prepared[PG_STMT_COUNT_];
	bool in_tx;	      /* between begin and commit/rollback */
	bool notify_jobs;     /* the transaction made new Ready work: NOTIFY at commit */
	bool listening;	      /* LISTEN asyncd_jobs was sent on this connection */
	bool notify_settings; /* the transaction changed settings: NOTIFY asyncd_settings */
	bool notify_commands; /* it stored a command for another host: NOTIFY asyncd_commands */
	bool async_commit;    /* store.synchronous off: SET again on a new session (pg_revive) */
	/* outcomes waiting to be sent together (pipeline), before the next other statement or the
	 * commit: job_completion structs of callers that live until the commit is answered */
	struct job_completion **pending;
	size_t n_pending, cap_pending, sp_pending;
	char err[512];
};

/* Parameters in text form (and binary for a blob). */
struct pgp {
	int n;
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS];
	int fmt[PG_MAX_PARAMS];
	char buf[PG_MAX_PARAMS][24];
};

void pgp_text(struct pgp *p, const char *v);
void pgp_i64(struct pgp *p, int64_t v);
/* NULL when v is 0. */
void pgp_i64_or_null(struct pgp *p, int64_t v);
void pgp_blob(struct pgp *p, const void *v, size_t n);

/* Run sql (or the statement k, prepared once per connection, when k >= 0: its text is sql when
 * pg.c has none for it) with p; *ret gets the result on success (the
 * caller PQclear()s it; pass NULL to drop it). Returns 0, or the AE_* error (message in s->err). */
int pg_run(struct store *s, int k, const char *sql, const struct pgp *p, PGresult **ret,
	   const char *what);
/* Fills one element of a listing from row row of r. */
typedef void (*pg_row_fn)(const PGresult *r, int row, void *elem);
/* Run sql (params p, may be NULL) and read each row with read into an array of n + 1 zeroed
 * elements of elem_size bytes (the caller frees it as its type's array); *ret_n = n. */
int pg_rows(struct store *s, const char *sql, const struct pgp *p, size_t elem_size, pg_row_fn read,
	    void **ret, size_t *ret_n, const char *what);
/* Run sql; the number of rows it changed in *ret_n (may be NULL). */
int pg_change(struct store *s, const char *sql, const struct pgp *p, int64_t *ret_n,
	      const char *what);
/* A connection lost between transactions is opened again (prepared statements forgotten). */
void pg_revive(struct store *s);
/* Record msg as the last error, mapped from the result's SQLSTATE. */
int pg_fail(struct store *s, PGresult *r, const char *what);

int64_t pg_i64(const PGresult *r, int row, int col);
/* A copy of the value, NULL for SQL NULL. */
char *pg_text(const PGresult *r, int row, int col);

/* The column list a job row is read with, and the reader. A trace column may follow. */
#define PG_JOB_COLUMNS                                                                             \
	"id, name, operation_type, state, status, message_name, primary_entity, regarding_id,"     \
	" step_id, plugin_type, data, depth, correlation_id, request_id, dependency_token,"        \
	" priority, postpone_until, retry_count, max_retries, error_code, message,"                \
	" friendly_message, host_id, attempt, lease_expires_on, created_on, started_on,"           \
	" completed_on, modified_on, execution_time_ms, recurrence_pattern,"                       \
	" recurrence_start_time, recurrence_timezone, owner, idempotency_key, output,"             \
	" auto_delete, assembly_id"
void pg_read_job(const PGresult *r, int row, struct job *j);

/* Connection, transactions, migrations (pg.c). */
int pg_open(const char *url, struct store **ret);
void pg_close(struct store *s);
int pg_migrate(struct store *s);
const char *pg_last_error(struct store *s);
int pg_begin(struct store *s);
int pg_commit(struct store *s);
int pg_rollback(struct store *s);
int pg_savepoint(struct store *s);
int pg_release(struct store *s);
int pg_rollback_to(struct store *s);
int pg_set_synchronous(struct store *s, bool full);

/* Send the outcomes waiting in s->pending (pg_jobs.c); called before any other statement and
 * at commit. */
int pg_flush_outcomes(struct store *s);
/* Record the n outcomes v as one statement (pg_outcomes.c); sets each applied, and per outcome
 * whether it needs a row of history and whether other jobs may be claimable now. */
int pg_outcomes_batch(struct store *s, struct job_completion **v, size_t n, bool *history,
		      bool *wake);
void pg_drop_outcomes(struct store *s, size_t keep);

/* Jobs (pg_jobs.c). */
int pg_jobs_insert(struct store *s, struct job *jobs, size_t n);
int pg_jobs_started(struct store *s, const int64_t *ids, const int64_t *attempts,
		    const int64_t *started_on, size_t n);
int pg_jobs_claim(struct store *s, const char *host_id, int64_t now, int limit,
		  struct job **ret_jobs, size_t *ret_n);
int pg_jobs_complete(struct store *s, struct job_completion *c, size_t n);
int pg_jobs_release(struct store *s, const char *host_id, const int64_t *ids,
		    const int64_t *attempts, size_t n, int64_t now);
int pg_jobs_release_all_locked(struct store *s, int64_t now, int64_t *ret_n);
int pg_jobs_promote_due(struct store *s, int64_t now, int64_t *ret_n);
int pg_jobs_next_due(struct store *s, int64_t *ret_at);
int pg_job_get(struct store *s, int64_t id, struct job *ret);
int pg_job_find_idempotent(struct store *s, const char *key, int64_t *ret_id);
int pg_job_update(struct store *s, const struct job *j);
int pg_job_delete(struct store *s, int64_t id);
int pg_job_attempts(struct store *s, int64_t id, struct job_attempt **ret, size_t *ret_n);
int pg_jobs_list(struct store *s, const struct job_filter *f, struct job **ret_jobs, size_t *ret_n);
int pg_jobs_stats(struct store *s, int64_t ret_by_status[33], int64_t *ret_total);
int pg_jobs_count_unfinished(struct store *s, enum store_owner owner, int64_t id,
			     struct job_counts *ret);

/* Job counts for /metrics (pg_watch.c). */
int pg_jobs_watch(struct store *s);
int pg_jobs_counts_refresh(struct store *s, bool finished);
int pg_jobs_ready_heads(struct store *s, int want, struct ready_head **ret, size_t *ret_n);

/* Priority, then sequence (qsort). */
int pg_cmp_claim_order(const void *a, const void *b);

/* A claim under async.throttling caps, global across hosts (pg_claim.c). */
struct throttle_table;
int pg_claim_capped(struct store *s, const struct throttle_table *caps, const char *host_id,
		    int64_t now, int64_t lease, int limit, struct job **ret_jobs, size_t *ret_n);

/* Administration rows (pg_admin.c). */
int pg_service_configs(struct store *s, const char *host_id, struct service_config **ret,
		       size_t *ret_n);
int pg_service_config_put(struct store *s, const char *host_id, const struct service_config *c);
int pg_users_list(struct store *s, struct user **ret, size_t *ret_n);
int pg_user_delete(struct store *s, int64_t id);
int pg_tokens_list(struct store *s, struct token **ret, size_t *ret_n);
int pg_session_insert(struct store *s, const struct session *se);
int pg_session_find(struct store *s, const char *hash, int64_t now, struct session *ret);
int pg_session_delete(struct store *s, const char *hash);
int pg_jobs_cleanup(struct store *s, int status, int64_t before_ms, int limit, int64_t *ret_n);
int pg_audit_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);
const char *pg_owner_table(enum store_owner owner);
const char *pg_owner_column(enum store_owner owner);
int pg_set_draining(struct store *s, enum store_owner owner, int64_t id, int64_t deadline);
int pg_row_state(struct store *s, enum store_owner owner, int64_t id, bool *ret_exists,
		 bool *ret_draining);
int pg_assembly_delete(struct store *s, int64_t id);
int pg_jobs_cancel_for(struct store *s, enum store_owner owner, int64_t id, int64_t now,
		       const char *error_code, const char *message, int64_t **ret_locked,
		       size_t *ret_n_locked);
int pg_job_count_host_crash(struct store *s, int64_t id, int64_t attempt, int64_t *ret_crashes);
int pg_stats_hourly_collect(struct store *s, int64_t from_ms, int64_t to_ms);
int pg_stats_hourly_list(struct store *s, int64_t since_ms, struct stats_hour **ret, size_t *ret_n);
int pg_job_progress(struct store *s, int64_t id, int64_t attempt, const char *output);
int pg_job_set_recurrence(struct store *s, const struct job *j, int64_t now);
int pg_attempts_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);
int pg_job_fail_locked(struct store *s, int64_t id, int64_t attempt, int64_t now,
		       const char *error_code, const char *message);

/* Hosts (pg_hosts.c). */
int pg_host_put(struct store *s, const struct host_row *h, int64_t lease_until);
int pg_hosts_list(struct store *s, struct host_row **ret, size_t *ret_n);
int pg_jobs_rescue(struct store *s, const char *host_id, int64_t dead_before, int64_t now,
		   int64_t *ret_n);
int pg_listen_wait(struct store *s, int timeout_ms);
int pg_command_put(struct store *s, struct host_command *c);
int pg_commands_pending(struct store *s, const char *host_id, struct host_command **ret,
			size_t *ret_n);
int pg_command_done(struct store *s, int64_t id, int rc, const char *answer, int64_t now);
int pg_command_get(struct store *s, int64_t id, struct host_command *ret);

#endif
