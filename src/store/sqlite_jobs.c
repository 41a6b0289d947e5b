/* The SQLite backend's job operations: insert, claim, fenced completion, release, promotion of
 * postponed jobs, reads and listing. Every statement is prepared once per connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "store/list_sql.h"
#include "store/sqlite_int.h"

int sq_read_job(sqlite3_stmt *st, struct job *j)
{
	int c = 0;
	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(st, c++);
	j->name = sq_col_text(st, c++);
	j->operation_type = sqlite3_column_int(st, c++);
	j->state = sqlite3_column_int(st, c++);
	j->status = sqlite3_column_int(st, c++);
	j->message_name = sq_col_text(st, c++);
	j->primary_entity = sq_col_text(st, c++);
	j->regarding_id = sq_col_text(st, c++);
	j->step_id = sqlite3_column_int64(st, c++);
	j->plugin_type = sq_col_text(st, c++);
	j->data = sq_col_text(st, c++);
	j->depth = sqlite3_column_int(st, c++);
	j->correlation_id = sq_col_text(st, c++);
	j->request_id = sq_col_text(st, c++);
	j->dependency_token = sq_col_text(st, c++);
	j->priority = sqlite3_column_int(st, c++);
	j->postpone_until = sqlite3_column_int64(st, c++);
	j->retry_count = sqlite3_column_int(st, c++);
	j->max_retries = sqlite3_column_int(st, c++);
	j->error_code = sq_col_text(st, c++);
	j->message = sq_col_text(st, c++);
	j->friendly_message = sq_col_text(st, c++);
	j->host_id = sq_col_text(st, c++);
	j->attempt = sqlite3_column_int64(st, c++);
	j->lease_expires_on = sqlite3_column_int64(st, c++);
	j->created_on = sqlite3_column_int64(st, c++);
	j->started_on = sqlite3_column_int64(st, c++);
	j->completed_on = sqlite3_column_int64(st, c++);
	j->modified_on = sqlite3_column_int64(st, c++);
	j->execution_time_ms = sqlite3_column_int64(st, c++);
	j->recurrence_pattern = sq_col_text(st, c++);
	j->recurrence_start_time = sqlite3_column_int64(st, c++);
	j->recurrence_timezone = sq_col_text(st, c++);
	j->owner = sq_col_text(st, c++);
	j->idempotency_key = sq_col_text(st, c++);
	j->output = sq_col_text(st, c++);
	j->auto_delete = sqlite3_column_int(st, c++) != 0;
	j->assembly_id = sqlite3_column_int64(st, c++);
	if (sqlite3_column_count(st) > c)
		j->trace = sq_col_text(st, c);
	return 0;
}

static void bind_insert(sqlite3_stmt *st, const struct job *j)
{
	sq_bind_text(st, 1, j->name);
	sq_bind_i64(st, 2, j->operation_type);
	sq_bind_i64(st, 3, j->state);
	sq_bind_i64(st, 4, j->status);
	sq_bind_text(st, 5, j->message_name);
	sq_bind_text(st, 6, j->primary_entity);
	sq_bind_text(st, 7, j->regarding_id);
	sq_bind_i64_or_null(st, 8, j->step_id);
	sq_bind_i64_or_null(st, 9, j->assembly_id);
	sq_bind_text(st, 10, j->plugin_type);
	sq_bind_text(st, 11, j->data);
	sq_bind_i64(st, 12, j->depth);
	sq_bind_text(st, 13, j->correlation_id);
	sq_bind_text(st, 14, j->request_id);
	sq_bind_text(st, 15, j->dependency_token);
	sq_bind_i64(st, 16, j->priority);
	sq_bind_i64_or_null(st, 17, j->postpone_until);
	sq_bind_i64(st, 18, j->retry_count);
	sq_bind_i64(st, 19, j->max_retries);
	sq_bind_text(st, 20, j->error_code);
	sq_bind_text(st, 21, j->message);
	sq_bind_i64(st, 22, j->created_on);
	sq_bind_i64_or_null(st, 23, j->completed_on);
	sq_bind_i64(st, 24, j->modified_on ? j->modified_on : j->created_on);
	sq_bind_text(st, 25, j->recurrence_pattern);
	sq_bind_i64_or_null(st, 26, j->recurrence_start_time);
	sq_bind_text(st, 27, j->owner);
	sq_bind_text(st, 28, j->idempotency_key);
	sq_bind_i64(st, 29, j->auto_delete);
	sq_bind_text(st, 30, j->recurrence_timezone);
}

int sq_jobs_insert(struct store *s, struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = sq_stmt(s, SQ_JOB_INSERT);
		if (!st)
			return AE_STORE;
		bind_insert(st, &jobs[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			return sq_fail(s, "insert job");
		jobs[i].id = sqlite3_last_insert_rowid(s->db);
		sq_count(s, jobs[i].plugin_type, -1, jobs[i].status);
	}
	return 0;
}

static int cmp_claim_order(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int sq_jobs_claim(struct store *s, const char *host_id, int64_t now, int limit,
		  struct job **ret_jobs, size_t *ret_n)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_CLAIM);
	if (!st)
		return AE_STORE;
	struct job *jobs = calloc((size_t)(limit > 0 ? limit : 1), sizeof(*jobs));
	if (!jobs)
		return AE_NOMEM;
	sq_bind_text(st, 1, host_id);
	sq_bind_i64(st, 2, now);
	sq_bind_i64(st, 3, limit);
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < (size_t)limit)
		sq_read_job(st, &jobs[n++]);
	if (rc != SQLITE_DONE) {
		rc = sq_fail(s, "claim jobs");
		sqlite3_reset(st);
		job_array_free(jobs, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++) /* Ready (always Waiting For Resources) -> In Progress */
		sq_count(s, jobs[i].plugin_type, JOB_ST_WAITING_FOR_RESOURCES, JOB_ST_IN_PROGRESS);
	qsort(jobs, n, sizeof(*jobs), cmp_claim_order);
	*ret_jobs = jobs;
	*ret_n = n;
	return 0;
}

static int complete_delete(struct store *s, struct job_completion *c)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_COMPLETE_DELETE);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, c->id);
	sq_bind_text(st, 2, c->host_id);
	sq_bind_i64(st, 3, c->attempt);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(s, "delete succeeded job");
	c->applied = sqlite3_changes(s->db) > 0;
	return 0;
}

static int complete_update(struct store *s, struct job_completion *c)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_COMPLETE);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, c->next.state);
	sq_bind_i64(st, 2, c->next.status);
	sq_bind_i64_or_null(st, 3, c->next.postpone_until);
	sq_bind_i64(st, 4, c->next.retry_count);
	sq_bind_text(st, 5, c->next.error_code);
	sq_bind_text(st, 6, c->message);
	sq_bind_text(st, 7, c->trace);
	sq_bind_text(st, 8, c->output);
	sq_bind_i64_or_null(st, 9, c->started_on);
	sq_bind_i64(st, 10, c->completed_on);
	sq_bind_i64(st, 11, c->execution_time_ms);
	sq_bind_i64(st, 12, c->id);
	sq_bind_text(st, 13, c->host_id);
	sq_bind_i64(st, 14, c->attempt);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(s, "record job outcome");
	c->applied = sqlite3_changes(s->db) > 0;
	return 0;
}

/* One row of the job's attempt history, read back from the row complete_update just wrote. */
static int attempt_insert(struct store *s, const struct job_completion *c)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_ATTEMPT_INSERT);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, c->id);
	sq_bind_i64(st, 2, c->attempt);
	sq_bind_text(st, 3, c->host_id);
	sq_bind_i64(st, 4, STORE_ATTEMPTS_KEPT);
	sq_bind_text(st, 5, c->next.run_outcome);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(s, "record job attempt");
	return 0;
}

/* The status a Locked job takes from an outcome: a pause or cancel asked for during the run wins
 * (as SQ_JOB_COMPLETE and SQ_JOB_RELEASE say). */
static int locked_next(int old, int outcome)
{
	return old == JOB_ST_CANCELING ? JOB_ST_CANCELED
	       : old == JOB_ST_PAUSING ? JOB_ST_WAITING
				       : outcome;
}

static int complete_one(struct store *s, struct job_completion *c)
{
	char type[256] = "";
	int old = -1;
	c->applied = false;
	int rc = sq_watching(s) ? sq_job_status(s, c->id, &old, type, sizeof(type)) : 0;
	if (rc == 0 && c->next.delete_row)
		rc = complete_delete(s, c);
	if (rc < 0)
		return rc;
	if (c->next.delete_row && c->applied) {
		sq_count(s, type, JOB_ST_IN_PROGRESS, -1);
		return rc; /* gone with its history */
	}
	if ((rc = complete_update(s, c)) == 0 && c->applied) {
		sq_count(s, type, old, locked_next(old, c->next.status));
		rc = attempt_insert(s, c);
	}
	return rc;
}

int sq_jobs_complete(struct store *s, struct job_completion *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = complete_one(s, &c[i]);
		if (rc == 0 && c[i].applied && c[i].n_children)
			rc = sq_jobs_insert(s, c[i].children, c[i].n_children);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sq_jobs_release(struct store *s, const char *host_id, const int64_t *ids,
		    const int64_t *attempts, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		char type[256] = "";
		int old = -1;
		if (sq_watching(s) && sq_job_status(s, ids[i], &old, type, sizeof(type)) < 0)
			return AE_STORE;
		sqlite3_stmt *st = sq_stmt(s, SQ_JOB_RELEASE);
		if (!st)
			return AE_STORE;
		sq_bind_i64(st, 1, now);
		sq_bind_i64(st, 2, ids[i]);
		sq_bind_text(st, 3, host_id);
		sq_bind_i64(st, 4, attempts[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			return sq_fail(s, "release job");
		if (sqlite3_changes(s->db))
			sq_count(s, type, old, locked_next(old, JOB_ST_WAITING_FOR_RESOURCES));
	}
	return 0;
}

int sq_jobs_started(struct store *s, const int64_t *ids, const int64_t *attempts,
		    const int64_t *started_on, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = sq_stmt(s, SQ_JOB_STARTED);
		if (!st)
			return AE_STORE;
		sq_bind_i64(st, 1, ids[i]);
		sq_bind_i64(st, 2, attempts[i]);
		sq_bind_i64(st, 3, started_on[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			return sq_fail(s, "mark a job started");
	}
	return 0;
}

/* Run statement k, whose RETURNING gives each changed row's plug-in type and new status; the
 * old status is old_of(new). */
static int run_count(struct store *s, enum sq_stmt k, int64_t now, int64_t *ret_n, const char *what,
		     int (*old_of)(int status))
{
	sqlite3_stmt *st = sq_stmt(s, k);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, now);
	int rc;
	int64_t n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int status = sqlite3_column_int(st, 1);
		sq_count(s, (const char *)sqlite3_column_text(st, 0), old_of(status), status);
		n++;
	}
	if (rc != SQLITE_DONE)
		return sq_fail(s, what);
	if (ret_n)
		*ret_n = n;
	return 0;
}

/* A release's new status tells the old one (SQ_JOB_RELEASE_ALL's CASE, inverted). */
static int released_from(int status)
{
	return status == JOB_ST_CANCELED  ? JOB_ST_CANCELING
	       : status == JOB_ST_WAITING ? JOB_ST_PAUSING
					  : JOB_ST_IN_PROGRESS;
}

/* Promoted jobs were Suspended, whose one status is Waiting. */
static int promoted_from(int status)
{
	(void)status;
	return JOB_ST_WAITING;
}

int sq_jobs_release_all_locked(struct store *s, int64_t now, int64_t *ret_n)
{
	return run_count(s, SQ_JOB_RELEASE_ALL, now, ret_n, "release locked jobs", released_from);
}

int sq_jobs_promote_due(struct store *s, int64_t now, int64_t *ret_n)
{
	return run_count(s, SQ_JOB_PROMOTE, now, ret_n, "promote postponed jobs", promoted_from);
}

int sq_jobs_next_due(struct store *s, int64_t *ret_at)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_NEXT_DUE);
	if (!st)
		return AE_STORE;
	if (sqlite3_step(st) != SQLITE_ROW)
		return sq_fail(s, "next postponed job");
	*ret_at = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int sq_job_get(struct store *s, int64_t id, struct job *ret)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_GET);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sq_read_job(st, ret);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? AE_NOTFOUND : sq_fail(s, "read job");
}

int sq_job_find_idempotent(struct store *s, const char *key, int64_t *ret_id)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_IDEMPOTENT);
	if (!st)
		return AE_STORE;
	sq_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? AE_NOTFOUND : sq_fail(s, "find job by idempotency key");
}

int sq_job_update(struct store *s, const struct job *j)
{
	char type[256] = "";
	int old = -1;
	if (sq_watching(s) && sq_job_status(s, j->id, &old, type, sizeof(type)) < 0)
		return AE_STORE;
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_UPDATE);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, j->id);
	sq_bind_i64(st, 2, j->state);
	sq_bind_i64(st, 3, j->status);
	sq_bind_i64_or_null(st, 4, j->postpone_until);
	sq_bind_i64(st, 5, j->retry_count);
	sq_bind_text(st, 6, j->error_code);
	sq_bind_text(st, 7, j->message);
	sq_bind_text(st, 8, j->host_id);
	sq_bind_i64(st, 9, j->attempt);
	sq_bind_i64_or_null(st, 10, j->completed_on);
	sq_bind_i64(st, 11, j->modified_on);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(s, "update job");
	if (sqlite3_changes(s->db) == 0)
		return AE_NOTFOUND;
	sq_count(s, type, old,
		 j->state == JOB_LOCKED && j->status == JOB_ST_WAITING_FOR_RESOURCES
		     ? JOB_ST_IN_PROGRESS
		     : j->status); /* a claimed job not started counts as In Progress */
	return 0;
}

int sq_job_delete(struct store *s, int64_t id)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_DELETE);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, id);
	int rc = sqlite3_step(st), found = rc == SQLITE_ROW;
	if (found) /* RETURNING the row as it was */
		sq_count(s, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
			 -1);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "delete job");
	return found ? 0 : AE_NOTFOUND;
}

static void read_attempt(sqlite3_stmt *st, struct job_attempt *a)
{
	a->attempt = sqlite3_column_int64(st, 0);
	a->host_id = sq_col_text(st, 1);
	a->started_on = sqlite3_column_int64(st, 2);
	a->ended_on = sqlite3_column_int64(st, 3);
	a->outcome = sq_col_text(st, 4);
	a->error_code = sq_col_text(st, 5);
	a->message = sq_col_text(st, 6);
	a->trace = sq_col_text(st, 7);
}

int sq_job_attempts(struct store *s, int64_t id, struct job_attempt **ret, size_t *ret_n)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_ATTEMPTS_LIST);
	if (!st)
		return AE_STORE;
	struct job_attempt *a = calloc(STORE_ATTEMPTS_KEPT, sizeof(*a));
	if (!a)
		return AE_NOMEM;
	sq_bind_i64(st, 1, id);
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < STORE_ATTEMPTS_KEPT)
		read_attempt(st, &a[n++]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = sq_fail(s, "read job attempts");
		sqlite3_reset(st);
		job_attempts_free(a, n);
		return rc;
	}
	sqlite3_reset(st);
	*ret = a;
	*ret_n = n;
	return 0;
}

int sq_jobs_list(struct store *s, const struct job_filter *f, struct job **ret_jobs, size_t *ret_n)
{
	struct buf b;
	sqlite3_stmt *st = NULL;
	buf_init(&b, 4096);
	int rc = store_list_sql(f, SQ_JOB_COLUMNS, '?', &b);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(s->db, b.data, -1, &st, NULL) != SQLITE_OK) {
		rc = sq_fail(s, "list jobs");
		goto out;
	}
	int k = 1; /* in store_list_sql's order */
	if (f->plugin_type)
		sq_bind_text(st, k++, f->plugin_type);
	if (f->owner)
		sq_bind_text(st, k++, f->owner);
	if (f->error_code)
		sq_bind_text(st, k++, f->error_code);
	struct job *jobs = calloc((size_t)f->limit + 1, sizeof(*jobs));
	size_t n = 0;
	if (!jobs) {
		rc = AE_NOMEM;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < (size_t)f->limit)
		sq_read_job(st, &jobs[n++]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = sq_fail(s, "list jobs");
		job_array_free(jobs, n);
		goto out;
	}
	rc = 0;
	*ret_jobs = jobs;
	*ret_n = n;
out:
	sqlite3_finalize(st);
	buf_done(&b);
	return rc;
}

int sq_jobs_stats(struct store *s, int64_t ret_by_status[33], int64_t *ret_total)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_STATS);
	if (!st)
		return AE_STORE;
	int64_t total = 0, by_status[33] = {0};
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int status = sqlite3_column_int(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);
		if (status >= 0 && status <= 32)
			by_status[status] = n;
		total += n;
	}
	if (rc != SQLITE_DONE)
		return sq_fail(s, "job statistics");
	memcpy(ret_by_status, by_status, sizeof(by_status));
	*ret_total = total;
	return 0;
}

int sq_jobs_count_unfinished(struct store *s, enum store_owner owner, int64_t id,
			     struct job_counts *ret)
{
	char sql[512];
	sqlite3_stmt *st;
	const char *column = sq_owner_column(owner);
	/* through the two partial indexes of unfinished rows, never the whole table */
	snprintf(
	    sql, sizeof(sql),
	    "SELECT 0, count(*), 0, NULL FROM jobs INDEXED BY jobs_ready"
	    " WHERE state = 0 AND %s = ?1"
	    " UNION ALL SELECT state, count(*),"
	    " sum(postpone_until IS NULL), min(postpone_until)"
	    " FROM jobs INDEXED BY jobs_active WHERE state IN (1, 2) AND %s = ?1 GROUP BY state",
	    column, column);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "count jobs");
	memset(ret, 0, sizeof(*ret));
	sq_bind_i64(st, 1, id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int state = sqlite3_column_int(st, 0);
		if (state >= 0 && state < 4)
			ret->by_state[state] = sqlite3_column_int64(st, 1);
		if (state == JOB_SUSPENDED) {
			ret->needs_attention = sqlite3_column_int64(st, 2);
			ret->earliest_postpone = sqlite3_column_int64(st, 3);
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "count jobs");
}
