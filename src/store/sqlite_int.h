/* Internals shared by the SQLite backend's files: the connection struct, its statement cache and
 * binding helpers. Nothing outside src/store/sqlite*.c includes this. */
#ifndef ASYNCD_SQLITE_INT_H
#define ASYNCD_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* Statements prepared once per connection and reused. */
enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_SAVEPOINT,
	SQ_RELEASE,
	SQ_ROLLBACK_TO,
	SQ_JOB_INSERT,
	SQ_JOB_CLAIM,
	SQ_JOB_COMPLETE,
	SQ_JOB_COMPLETE_DELETE,
	SQ_JOB_RELEASE,
	SQ_JOB_RELEASE_ALL,
	SQ_JOB_STARTED,
	SQ_JOB_PROMOTE,
	SQ_JOB_NEXT_DUE,
	SQ_JOB_GET,
	SQ_JOB_IDEMPOTENT,
	SQ_JOB_UPDATE,
	SQ_JOB_DELETE,
	SQ_JOB_STATS,
	SQ_STEP_STATE,
	SQ_ASSEMBLY_STATE,
	SQ_ATTEMPT_INSERT,
	SQ_ATTEMPTS_LIST,
	SQ_READY_LEVEL,
	SQ_JOB_CREATED,
	SQ_JOB_STATUS,
	SQ_COUNT_
};

struct store {
	struct store_base base; /* first: the ops the wrappers call */
	sqlite3 *db;
	sqlite3_stmt *stmts[SQ_COUNT_];
	char err[512];
	struct sq_watch *watch; /* job counts kept for metrics (sqlite_watch.c); NULL: none */
};

/* The cached statement k, reset and with bindings cleared; NULL on failure (message in s->err). */
sqlite3_stmt *sq_stmt(struct store *s, enum sq_stmt k);
/* Record the connection's error message and return AE_STORE (or AE_BUSY/AE_EXISTS as fits). */
int sq_fail(struct store *s, const char *what);
/* Run one SQL text that returns no rows. */
int sq_exec(struct store *s, const char *sql);

void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
void sq_bind_i64(sqlite3_stmt *st, int i, int64_t v);
/* Bind v, or NULL when v is 0. */
void sq_bind_i64_or_null(sqlite3_stmt *st, int i, int64_t v);
char *sq_col_text(sqlite3_stmt *st, int i);

/* The column list a job row is read with, and the reader. A trace column may follow. */
#define SQ_JOB_COLUMNS                                                                             \
	"id, name, operation_type, state, status, message_name, primary_entity, regarding_id,"     \
	" step_id, plugin_type, data, depth, correlation_id, request_id, dependency_token,"        \
	" priority, postpone_until, retry_count, max_retries, error_code, message,"                \
	" friendly_message, host_id, attempt, lease_expires_on, created_on, started_on,"           \
	" completed_on, modified_on, execution_time_ms, recurrence_pattern,"                       \
	" recurrence_start_time, recurrence_timezone, owner, idempotency_key, output, "            \
	"auto_delete,"                                                                             \
	" assembly_id"
int sq_read_job(sqlite3_stmt *st, struct job *j);

/* Connection and transactions (sqlite.c). */
int sq_open(const char *url, struct store **ret);
void sq_close(struct store *s);
int sq_migrate(struct store *s);
const char *sq_last_error(struct store *s);
int sq_begin(struct store *s);
int sq_commit(struct store *s);
int sq_rollback(struct store *s);
int sq_savepoint(struct store *s);
int sq_release(struct store *s);
int sq_rollback_to(struct store *s);

/* Job counts for metrics (sqlite_watch.c): the changes of the open transaction are kept until
 * its commit; a rollback (or one to the savepoint) drops them. */
struct sq_watch;
int sq_jobs_watch(struct store *s);
/* A job of type went from old_status to new_status (-1: it was inserted / deleted) in the open
 * transaction; nothing when the connection keeps no counts. Every statement of the backend
 * that inserts or deletes jobs or changes their status must say so here. */
void sq_count(struct store *s, const char *type, int old_status, int new_status);
bool sq_watching(const struct store *s);
/* The status and plug-in type of job id (-1 and "" when there is none), for sq_count. */
int sq_job_status(struct store *s, int64_t id, int *ret_status, char *type, size_t n);
int sq_jobs_ready_heads(struct store *s, int want, struct ready_head **ret, size_t *ret_n);
void sq_watch_free(struct sq_watch *w);
void sq_watch_commit(struct sq_watch *w);
void sq_watch_rollback(struct sq_watch *w);
void sq_watch_savepoint(struct sq_watch *w);
void sq_watch_rollback_to(struct sq_watch *w);

/* Jobs (sqlite_jobs.c). */
int sq_jobs_insert(struct store *s, struct job *jobs, size_t n);
int sq_jobs_claim(struct store *s, const char *host_id, int64_t now, int limit,
		  struct job **ret_jobs, size_t *ret_n);
int sq_jobs_complete(struct store *s, struct job_completion *c, size_t n);
int sq_jobs_release(struct store *s, const char *host_id, const int64_t *ids,
		    const int64_t *attempts, size_t n, int64_t now);
int sq_jobs_started(struct store *s, const int64_t *ids, const int64_t *attempts,
		    const int64_t *started_on, size_t n);
int sq_jobs_release_all_locked(struct store *s, int64_t now, int64_t *ret_n);
int sq_jobs_promote_due(struct store *s, int64_t now, int64_t *ret_n);
int sq_jobs_next_due(struct store *s, int64_t *ret_at);
int sq_job_get(struct store *s, int64_t id, struct job *ret);
int sq_job_find_idempotent(struct store *s, const char *key, int64_t *ret_id);
int sq_job_update(struct store *s, const struct job *j);
int sq_job_delete(struct store *s, int64_t id);
int sq_job_attempts(struct store *s, int64_t id, struct job_attempt **ret, size_t *ret_n);
int sq_jobs_list(struct store *s, const struct job_filter *f, struct job **ret_jobs, size_t *ret_n);
int sq_jobs_stats(struct store *s, int64_t ret_by_status[33], int64_t *ret_total);
int sq_jobs_count_unfinished(struct store *s, enum store_owner owner, int64_t id,
			     struct job_counts *ret);

/* Administration rows (sqlite_admin.c). */
int sq_service_configs(struct store *s, const char *host_id, struct service_config **ret,
		       size_t *ret_n);
int sq_service_config_put(struct store *s, const char *host_id, const struct service_config *c);
int sq_users_list(struct store *s, struct user **ret, size_t *ret_n);
int sq_user_delete(struct store *s, int64_t id);
int sq_tokens_list(struct store *s, struct token **ret, size_t *ret_n);
int sq_session_insert(struct store *s, const struct session *se);
int sq_session_find(struct store *s, const char *hash, int64_t now, struct session *ret);
int sq_session_delete(struct store *s, const char *hash);
int sq_jobs_cleanup(struct store *s, int status, int64_t before_ms, int limit, int64_t *ret_n);
int sq_audit_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);
int sq_job_progress(struct store *s, int64_t id, int64_t attempt, const char *output);
int sq_job_set_recurrence(struct store *s, const struct job *j, int64_t now);
int sq_attempts_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n);
int sq_stats_hourly_collect(struct store *s, int64_t from_ms, int64_t to_ms);
int sq_stats_hourly_list(struct store *s, int64_t since_ms, struct stats_hour **ret, size_t *ret_n);
/* The table and the jobs column of an owner (never from a caller's string). */
const char *sq_owner_table(enum store_owner owner);
const char *sq_owner_column(enum store_owner owner);
int sq_set_draining(struct store *s, enum store_owner owner, int64_t id, int64_t deadline);
int sq_row_state(struct store *s, enum store_owner owner, int64_t id, bool *ret_exists,
		 bool *ret_draining);
int sq_assembly_delete(struct store *s, int64_t id);
int sq_jobs_cancel_for(struct store *s, enum store_owner owner, int64_t id, int64_t now,
		       const char *error_code, const char *message, int64_t **ret_locked,
		       size_t *ret_n_locked);
int sq_job_count_host_crash(struct store *s, int64_t id, int64_t attempt, int64_t *ret_crashes);
int sq_job_fail_locked(struct store *s, int64_t id, int64_t attempt, int64_t now,
		       const char *error_code, const char *message);

/* Hosts (sqlite_hosts.c). */
int sq_host_put(struct store *s, const struct host_row *h, int64_t lease_until);
int sq_hosts_list(struct store *s, struct host_row **ret, size_t *ret_n);
int sq_jobs_rescue(struct store *s, const char *host_id, int64_t dead_before, int64_t now,
		   int64_t *ret_n);
int sq_listen_wait(struct store *s, int timeout_ms);

#endif
