/* The PostgreSQL backend's job operations: insert, claim (FOR UPDATE SKIP LOCKED, in batches),
 * fenced completion with the attempt history, release, promotion of postponed jobs, reads and
 * listing. The hot statements are prepared once per connection. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/settings.h"
#include "common/throttle.h"
#include "common/util.h"
#include "store/list_sql.h"
#include "store/pg/pg_array.h"
#include "store/pg/pg_int.h"

void pg_read_job(const PGresult *r, int row, struct job *j)
{
	int c = 0;
	memset(j, 0, sizeof(*j));
	j->id = pg_i64(r, row, c++);
	j->name = pg_text(r, row, c++);
	j->operation_type = (int)pg_i64(r, row, c++);
	j->state = (int)pg_i64(r, row, c++);
	j->status = (int)pg_i64(r, row, c++);
	j->message_name = pg_text(r, row, c++);
	j->primary_entity = pg_text(r, row, c++);
	j->regarding_id = pg_text(r, row, c++);
	j->step_id = pg_i64(r, row, c++);
	j->plugin_type = pg_text(r, row, c++);
	j->data = pg_text(r, row, c++);
	j->depth = (int)pg_i64(r, row, c++);
	j->correlation_id = pg_text(r, row, c++);
	j->request_id = pg_text(r, row, c++);
	j->dependency_token = pg_text(r, row, c++);
	j->priority = (int)pg_i64(r, row, c++);
	j->postpone_until = pg_i64(r, row, c++);
	j->retry_count = (int)pg_i64(r, row, c++);
	j->max_retries = (int)pg_i64(r, row, c++);
	j->error_code = pg_text(r, row, c++);
	j->message = pg_text(r, row, c++);
	j->friendly_message = pg_text(r, row, c++);
	j->host_id = pg_text(r, row, c++);
	j->attempt = pg_i64(r, row, c++);
	j->lease_expires_on = pg_i64(r, row, c++);
	j->created_on = pg_i64(r, row, c++);
	j->started_on = pg_i64(r, row, c++);
	j->completed_on = pg_i64(r, row, c++);
	j->modified_on = pg_i64(r, row, c++);
	j->execution_time_ms = pg_i64(r, row, c++);
	j->recurrence_pattern = pg_text(r, row, c++);
	j->recurrence_start_time = pg_i64(r, row, c++);
	j->recurrence_timezone = pg_text(r, row, c++);
	j->owner = pg_text(r, row, c++);
	j->idempotency_key = pg_text(r, row, c++);
	j->output = pg_text(r, row, c++);
	j->auto_delete = pg_i64(r, row, c++) != 0;
	j->assembly_id = pg_i64(r, row, c++);
	if (PQnfields(r) > c)
		j->trace = pg_text(r, row, c);
}

static void bind_insert(struct pgp *p, const struct job *j)
{
	pgp_text(p, j->name);
	pgp_i64(p, j->operation_type);
	pgp_i64(p, j->state);
	pgp_i64(p, j->status);
	pgp_text(p, j->message_name);
	pgp_text(p, j->primary_entity);
	pgp_text(p, j->regarding_id);
	pgp_i64_or_null(p, j->step_id);
	pgp_i64_or_null(p, j->assembly_id);
	pgp_text(p, j->plugin_type);
	pgp_text(p, j->data);
	pgp_i64(p, j->depth);
	pgp_text(p, j->correlation_id);
	pgp_text(p, j->request_id);
	pgp_text(p, j->dependency_token);
	pgp_i64(p, j->priority);
	pgp_i64_or_null(p, j->postpone_until);
	pgp_i64(p, j->retry_count);
	pgp_i64(p, j->max_retries);
	pgp_text(p, j->error_code);
	pgp_text(p, j->message);
	pgp_i64(p, j->created_on);
	pgp_i64_or_null(p, j->completed_on);
	pgp_i64(p, j->modified_on ? j->modified_on : j->created_on);
	pgp_text(p, j->recurrence_pattern);
	pgp_i64_or_null(p, j->recurrence_start_time);
	pgp_text(p, j->owner);
	pgp_text(p, j->idempotency_key);
	pgp_i64(p, j->auto_delete);
	pgp_text(p, j->recurrence_timezone);
}

/* The columns of INSERT_MANY, as unnest() reads them: the type of each array and its column. */
#define INSERT_COLS 30
static const char *const insert_cols[INSERT_COLS][2] = {
    {"text", "name"},
    {"int", "operation_type"},
    {"int", "state"},
    {"int", "status"},
    {"text", "message_name"},
    {"text", "primary_entity"},
    {"text", "regarding_id"},
    {"bigint", "step_id"},
    {"bigint", "assembly_id"},
    {"text", "plugin_type"},
    {"text", "data"},
    {"int", "depth"},
    {"text", "correlation_id"},
    {"text", "request_id"},
    {"text", "dependency_token"},
    {"int", "priority"},
    {"bigint", "postpone_until"},
    {"int", "retry_count"},
    {"int", "max_retries"},
    {"text", "error_code"},
    {"text", "message"},
    {"bigint", "created_on"},
    {"bigint", "completed_on"},
    {"bigint", "modified_on"},
    {"text", "recurrence_pattern"},
    {"bigint", "recurrence_start_time"},
    {"text", "owner"},
    {"text", "idempotency_key"},
    {"int", "auto_delete"},
    {"text", "recurrence_timezone"},
};

/* Rows per INSERT_MANY statement: big enough to make a request of 10,000 events a few
 * statements, small enough to keep each array literal a few MB. */
#define INSERT_CHUNK 2000

static char insert_many[4096];
static pthread_once_t insert_many_once = PTHREAD_ONCE_INIT;

/* "INSERT INTO jobs(cols) SELECT cols FROM unnest($1::t[], ...) WITH ORDINALITY AS u(cols, ord)
 * ORDER BY ord RETURNING id": the identities are drawn in ord order, so the i-th smallest is
 * jobs[i]'s. */
static void build_insert_many(void)
{
	struct buf b;
	int rc;
	buf_init(&b, sizeof(insert_many) - 1);
	rc = buf_printf(&b, "INSERT INTO jobs(");
	for (int c = 0; rc == 0 && c < INSERT_COLS; c++)
		rc = buf_printf(&b, "%s%s", c ? ", " : "", insert_cols[c][1]);
	rc = rc ? rc : buf_printf(&b, ") SELECT ");
	for (int c = 0; rc == 0 && c < INSERT_COLS; c++)
		rc = buf_printf(&b, "%s%s", c ? ", " : "", insert_cols[c][1]);
	rc = rc ? rc : buf_printf(&b, " FROM unnest(");
	for (int c = 0; rc == 0 && c < INSERT_COLS; c++)
		rc = buf_printf(&b, "%s$%d::%s[]", c ? ", " : "", c + 1, insert_cols[c][0]);
	rc = rc ? rc : buf_printf(&b, ") WITH ORDINALITY AS u(");
	for (int c = 0; rc == 0 && c < INSERT_COLS; c++)
		rc = buf_printf(&b, "%s, ", insert_cols[c][1]);
	rc = rc ? rc : buf_printf(&b, "ord) ORDER BY ord RETURNING id");
	if (rc == 0)
		memcpy(insert_many, b.data, b.len + 1);
	buf_done(&b);
}

/* Each column of job j, appended to its array in cols (the order of insert_cols). */
static void insert_row(struct pga *cols, const struct job *j)
{
	const int64_t ints[INSERT_COLS] = {
	    [1] = j->operation_type,
	    [2] = j->state,
	    [3] = j->status,
	    [7] = j->step_id,
	    [8] = j->assembly_id,
	    [11] = j->depth,
	    [15] = j->priority,
	    [16] = j->postpone_until,
	    [17] = j->retry_count,
	    [18] = j->max_retries,
	    [21] = j->created_on,
	    [22] = j->completed_on,
	    [23] = j->modified_on ? j->modified_on : j->created_on,
	    [25] = j->recurrence_start_time,
	    [28] = j->auto_delete,
	};
	const char *texts[INSERT_COLS] = {
	    [0] = j->name,
	    [4] = j->message_name,
	    [5] = j->primary_entity,
	    [6] = j->regarding_id,
	    [9] = j->plugin_type,
	    [10] = j->data,
	    [12] = j->correlation_id,
	    [13] = j->request_id,
	    [14] = j->dependency_token,
	    [19] = j->error_code,
	    [20] = j->message,
	    [24] = j->recurrence_pattern,
	    [26] = j->owner,
	    [27] = j->idempotency_key,
	    [29] = j->recurrence_timezone,
	};
	for (int c = 0; c < INSERT_COLS; c++) {
		/* NULL when 0, as bind_insert's pgp_i64_or_null */
		bool zero_is_null = c == 7 || c == 8 || c == 16 || c == 22 || c == 25;
		if (insert_cols[c][0][0] == 't')
			pga_text(&cols[c], texts[c]);
		else
			pga_int_or_null(&cols[c], ints[c], zero_is_null && !ints[c]);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Give jobs[0..n) their ids in ascending order. */
static void sort_ids(struct job *jobs, size_t n)
{
	int64_t *ids = malloc(n * sizeof(*ids));
	if (!ids)
		return; /* they stay in RETURNING's order, which is the insertion's */
	for (size_t i = 0; i < n; i++)
		ids[i] = jobs[i].id;
	qsort(ids, n, sizeof(*ids), cmp_i64);
	for (size_t i = 0; i < n; i++)
		jobs[i].id = ids[i];
	free(ids);
}

/* Insert jobs[0..n) in one statement; their ids come back in order. */
static int insert_chunk(struct store *s, struct job *jobs, size_t n)
{
	struct pga cols[INSERT_COLS];
	struct pgp p = {0};
	for (int c = 0; c < INSERT_COLS; c++)
		pga_init(&cols[c]);
	for (size_t i = 0; i < n; i++)
		insert_row(cols, &jobs[i]);
	int rc = pga_bind(cols, INSERT_COLS, &p);
	PGresult *r = NULL;
	if (rc == 0)
		rc = pg_run(s, -1, insert_many, &p, &r, "insert jobs");
	if (rc == 0 && (size_t)PQntuples(r) != n)
		rc = AE_IO; /* cannot happen: one row per job */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		jobs[i].id = pg_i64(r, (int)i, 0);
		if (jobs[i].state == JOB_READY)
			s->notify_jobs = true;
	}
	/* the identities were drawn in ord order: sorted, they are the jobs' in order, whatever
	 * order RETURNING gave them in (it follows the insertion, but SQL does not promise it) */
	if (rc == 0)
		sort_ids(jobs, n);
	PQclear(r);
	pga_done_all(cols, INSERT_COLS);
	return rc;
}

/* One job: the single-row statement (cheaper to plan than unnest for one row). */
static int insert_one(struct store *s, struct job *j)
{
	struct pgp p = {0};
	PGresult *r;
	bind_insert(&p, j);
	int rc = pg_run(s, PG_JOB_INSERT, NULL, &p, &r, "insert job");
	if (rc < 0)
		return rc;
	j->id = pg_i64(r, 0, 0);
	PQclear(r);
	if (j->state == JOB_READY)
		s->notify_jobs = true;
	return 0;
}

int pg_jobs_insert(struct store *s, struct job *jobs, size_t n)
{
	if (n == 1)
		return insert_one(s, jobs);
	pthread_once(&insert_many_once, build_insert_many);
	if (!insert_many[0])
		return AE_NOMEM;
	for (size_t i = 0; i < n; i += INSERT_CHUNK) {
		int rc = insert_chunk(s, jobs + i, n - i < INSERT_CHUNK ? n - i : INSERT_CHUNK);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* One statement for the whole batch: the ids, attempts and start times as arrays; "still
 * claimed" as join clauses, for the reason given in pg_outcomes.c. */
int pg_jobs_started(struct store *s, const int64_t *ids, const int64_t *attempts,
		    const int64_t *started_on, size_t n)
{
	if (!n)
		return 0;
	char *a = pga_ints(ids, n), *b = pga_ints(attempts, n), *c = pga_ints(started_on, n);
	int rc = AE_NOMEM;
	if (a && b && c) {
		struct pgp p = {0};
		pgp_text(&p, a);
		pgp_text(&p, b);
		pgp_text(&p, c);
		rc = pg_run(
		    s, -1,
		    "UPDATE jobs SET status = 20, started_on = u.started,"
		    " modified_on = u.started FROM unnest($1::bigint[], $2::bigint[],"
		    " $3::bigint[], array_fill(2, ARRAY[cardinality($1::bigint[])]),"
		    " array_fill(0, ARRAY[cardinality($1::bigint[])]))"
		    " AS u(id, attempt, started, locked, claimed) WHERE jobs.id = ANY($1::bigint[])"
		    " AND jobs.id = u.id AND jobs.attempt = u.attempt AND jobs.state = u.locked"
		    " AND jobs.status = u.claimed",
		    &p, NULL, "mark jobs started");
	}
	free(a);
	free(b);
	free(c);
	return rc;
}

int pg_cmp_claim_order(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int pg_jobs_claim(struct store *s, const char *host_id, int64_t now, int limit,
		  struct job **ret_jobs, size_t *ret_n)
{
	struct settings cfg;
	struct throttle_table caps = {0};
	char err[256];
	struct pgp p = {0};
	PGresult *r;
	settings_current(&cfg);
	int64_t lease = now + cfg.time_until_lock_expires_ms;
	/* async.throttling caps hold across every host sharing the database */
	if (cfg.throttling[0] && store_live_hosts() > 1 &&
	    throttle_parse(cfg.throttling, &caps, err, sizeof(err)) == 0 && caps.n)
		return pg_claim_capped(s, &caps, host_id, now, lease, limit, ret_jobs, ret_n);
	pgp_text(&p, host_id);
	pgp_i64(&p, now);
	pgp_i64(&p, limit);
	pgp_i64(&p, lease);
	int rc = pg_run(s, PG_JOB_CLAIM, NULL, &p, &r, "claim jobs");
	if (rc < 0)
		return rc;
	size_t n = (size_t)PQntuples(r);
	if (limit > 0 && n > (size_t)limit)
		n = (size_t)limit;
	struct job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	if (!jobs) {
		PQclear(r);
		return AE_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		pg_read_job(r, (int)i, &jobs[i]);
	PQclear(r);
	qsort(jobs, n, sizeof(*jobs), pg_cmp_claim_order);
	*ret_jobs = jobs;
	*ret_n = n;
	return 0;
}

static int run_applied(struct store *s, int k, const struct pgp *p, bool *applied, const char *what)
{
	PGresult *r;
	int rc = pg_run(s, k, NULL, p, &r, what);
	if (rc < 0)
		return rc;
	*applied = strtoll(PQcmdTuples(r), NULL, 10) > 0;
	PQclear(r);
	return 0;
}

static int complete_delete(struct store *s, struct job_completion *c)
{
	struct pgp p = {0};
	pgp_i64(&p, c->id);
	pgp_text(&p, c->host_id);
	pgp_i64(&p, c->attempt);
	return run_applied(s, PG_JOB_COMPLETE_DELETE, &p, &c->applied, "delete succeeded job");
}

static void bind_complete(struct pgp *p, const struct job_completion *c)
{
	pgp_i64(p, c->next.state);
	pgp_i64(p, c->next.status);
	pgp_i64_or_null(p, c->next.postpone_until);
	pgp_i64(p, c->next.retry_count);
	pgp_text(p, c->next.error_code);
	pgp_text(p, c->message);
	pgp_text(p, c->trace);
	pgp_text(p, c->output);
	pgp_i64_or_null(p, c->started_on);
	pgp_i64(p, c->completed_on);
	pgp_i64(p, c->execution_time_ms);
	pgp_i64(p, c->id);
	pgp_text(p, c->host_id);
	pgp_i64(p, c->attempt);
}

/* What the outcome's UPDATE ... RETURNING said: c->applied; *ret_history: the run needs a row of
 * history (all but a first run that succeeded, which the job row itself shows); *ret_wake: other
 * jobs may be claimable now (the job is Ready again, or it ended holding a dependency token). */
static void read_complete(const PGresult *r, struct job_completion *c, bool *ret_history,
			  bool *ret_wake)
{
	c->applied = PQntuples(r) > 0;
	*ret_history = *ret_wake = false;
	if (c->applied) {
		int64_t status = pg_i64(r, 0, 0), state = pg_i64(r, 0, 1);
		*ret_history = !(status == JOB_ST_SUCCEEDED && c->attempt == 1);
		*ret_wake = state == JOB_READY || (state == JOB_COMPLETED && pg_i64(r, 0, 2));
	}
}

static int complete_update(struct store *s, struct job_completion *c, bool *ret_history,
			   bool *ret_wake)
{
	struct pgp p = {0};
	PGresult *r;
	bind_complete(&p, c);
	int rc = pg_run(s, PG_JOB_COMPLETE, NULL, &p, &r, "record job outcome");
	if (rc < 0)
		return rc;
	read_complete(r, c, ret_history, ret_wake);
	PQclear(r);
	return 0;
}

static int attempt_insert(struct store *s, const struct job_completion *c)
{
	struct pgp p = {0};
	pgp_i64(&p, c->id);
	pgp_i64(&p, c->attempt);
	pgp_text(&p, c->host_id);
	pgp_i64(&p, STORE_ATTEMPTS_KEPT);
	pgp_text(&p, c->next.run_outcome);
	return pg_run(s, PG_ATTEMPT_INSERT, NULL, &p, NULL, "record job attempt");
}

static int complete_one(struct store *s, struct job_completion *c)
{
	bool history = false, wake = false;
	c->applied = false;
	int rc = c->next.delete_row ? complete_delete(s, c) : 0;
	if (rc < 0 || (c->next.delete_row && c->applied)) {
		if (c->applied)
			s->notify_jobs = true; /* it may have held a dependency token */
		return rc;
	}
	if ((rc = complete_update(s, c, &history, &wake)) == 0 && c->applied && history)
		rc = attempt_insert(s, c);
	if (rc == 0 && wake)
		s->notify_jobs = true;
	return rc;
}

/* After the outcome c was applied: its history row and the jobs of the events its run raised. */
static int after_outcome(struct store *s, struct job_completion *c, bool history)
{
	int rc = history ? attempt_insert(s, c) : 0;
	if (rc == 0 && c->n_children)
		rc = pg_jobs_insert(s, c->children, c->n_children);
	return rc;
}

static int queue_outcome(struct store *s, struct job_completion *c)
{
	if (s->n_pending == s->cap_pending) {
		size_t cap = s->cap_pending ? 2 * s->cap_pending : 256;
		struct job_completion **v = realloc(s->pending, cap * sizeof(*v));
		if (!v)
			return AE_NOMEM;
		s->pending = v;
		s->cap_pending = cap;
	}
	c->applied = false;
	s->pending[s->n_pending++] = c;
	return 0;
}

void pg_drop_outcomes(struct store *s, size_t keep)
{
	if (keep < s->n_pending)
		s->n_pending = keep;
	s->sp_pending = s->sp_pending > s->n_pending ? s->n_pending : s->sp_pending;
}

/* Outcomes sent PIPELINE_CHUNK at a time, one statement each (pg_outcomes.c). */
#define PIPELINE_CHUNK 256

int pg_flush_outcomes(struct store *s)
{
	size_t n = s->n_pending;
	struct job_completion **v = s->pending;
	bool history[PIPELINE_CHUNK], wake[PIPELINE_CHUNK];
	int rc = 0;
	s->n_pending = s->sp_pending = 0; /* what follows runs plain statements */
	for (size_t at = 0; rc == 0 && at < n; at += PIPELINE_CHUNK) {
		size_t k = n - at < PIPELINE_CHUNK ? n - at : PIPELINE_CHUNK;
		rc = pg_outcomes_batch(s, v + at, k, history, wake);
		for (size_t i = 0; rc == 0 && i < k; i++) {
			if (wake[i])
				s->notify_jobs = true;
			if (v[at + i]->applied)
				rc = after_outcome(s, v[at + i], history[i]);
		}
	}
	return rc;
}

int pg_jobs_complete(struct store *s, struct job_completion *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* in a group: sent with the group's other outcomes in one round trip */
		if (s->in_tx && !c[i].next.delete_row) {
			int rc = queue_outcome(s, &c[i]);
			if (rc < 0)
				return rc;
			continue;
		}
		int rc = complete_one(s, &c[i]);
		if (rc == 0 && c[i].applied && c[i].n_children)
			rc = pg_jobs_insert(s, c[i].children, c[i].n_children);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pg_jobs_release(struct store *s, const char *host_id, const int64_t *ids,
		    const int64_t *attempts, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct pgp p = {0};
		pgp_i64(&p, now);
		pgp_i64(&p, ids[i]);
		pgp_text(&p, host_id);
		pgp_i64(&p, attempts[i]);
		int rc = pg_run(s, PG_JOB_RELEASE, NULL, &p, NULL, "release job");
		if (rc < 0)
			return rc;
	}
	if (n)
		s->notify_jobs = true;
	return 0;
}

static int change_now(struct store *s, const char *sql, int64_t now, int64_t *ret_n,
		      const char *what)
{
	struct pgp p = {0};
	int64_t n = 0;
	pgp_i64(&p, now);
	int rc = pg_change(s, sql, &p, &n, what);
	if (rc == 0 && n > 0)
		s->notify_jobs = true;
	if (ret_n)
		*ret_n = n;
	return rc;
}

int pg_jobs_release_all_locked(struct store *s, int64_t now, int64_t *ret_n)
{
	return change_now(s,
			  "UPDATE jobs SET"
			  " state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE 0 END,"
			  " status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE 0 END,"
			  " completed_on = CASE status WHEN 22 THEN $1::bigint ELSE NULL END,"
			  " host_id = NULL, lease_expires_on = NULL, modified_on = $1"
			  " WHERE state IN (1, 2) AND state = 2",
			  now, ret_n, "release locked jobs");
}

int pg_jobs_promote_due(struct store *s, int64_t now, int64_t *ret_n)
{
	return change_now(s,
			  "UPDATE jobs SET state = 0, status = 0, postpone_until = NULL,"
			  " modified_on = $1 WHERE state = 1 AND postpone_until IS NOT NULL"
			  " AND postpone_until <= $1",
			  now, ret_n, "promote postponed jobs");
}

int pg_jobs_next_due(struct store *s, int64_t *ret_at)
{
	PGresult *r;
	int rc = pg_run(s, -1,
			"SELECT min(postpone_until) FROM jobs WHERE state = 1"
			" AND postpone_until IS NOT NULL",
			NULL, &r, "next postponed job");
	if (rc < 0)
		return rc;
	*ret_at = pg_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

int pg_job_get(struct store *s, int64_t id, struct job *ret)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_i64(&p, id);
	int rc = pg_run(s, PG_JOB_GET, NULL, &p, &r, "read job");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found)
		pg_read_job(r, 0, ret);
	PQclear(r);
	return found ? 0 : AE_NOTFOUND;
}

int pg_job_find_idempotent(struct store *s, const char *key, int64_t *ret_id)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_text(&p, key);
	int rc = pg_run(s, -1, "SELECT id FROM jobs WHERE idempotency_key = $1", &p, &r,
			"find job by idempotency key");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found)
		*ret_id = pg_i64(r, 0, 0);
	PQclear(r);
	return found ? 0 : AE_NOTFOUND;
}

int pg_job_update(struct store *s, const struct job *j)
{
	struct pgp p = {0};
	int64_t n = 0;
	pgp_i64(&p, j->id);
	pgp_i64(&p, j->state);
	pgp_i64(&p, j->status);
	pgp_i64_or_null(&p, j->postpone_until);
	pgp_i64(&p, j->retry_count);
	pgp_text(&p, j->error_code);
	pgp_text(&p, j->message);
	pgp_text(&p, j->host_id);
	pgp_i64(&p, j->attempt);
	pgp_i64_or_null(&p, j->completed_on);
	pgp_i64(&p, j->modified_on);
	int rc = pg_change(s,
			   "UPDATE jobs SET state = $2, status = $3, postpone_until = $4,"
			   " retry_count = $5, error_code = $6, message = $7, host_id = $8,"
			   " attempt = $9, completed_on = $10, modified_on = $11,"
			   " lease_expires_on = CASE WHEN $2::int = 2 THEN lease_expires_on END"
			   " WHERE id = $1",
			   &p, &n, "update job");
	if (rc == 0 && j->state == JOB_READY)
		s->notify_jobs = true;
	return rc < 0 ? rc : n > 0 ? 0 : AE_NOTFOUND;
}

int pg_job_delete(struct store *s, int64_t id)
{
	struct pgp p = {0};
	int64_t n = 0;
	pgp_i64(&p, id);
	int rc = pg_change(s, "DELETE FROM jobs WHERE id = $1", &p, &n, "delete job");
	if (rc == 0 && n > 0)
		s->notify_jobs = true; /* a token's next job may be Ready now */
	return rc < 0 ? rc : n > 0 ? 0 : AE_NOTFOUND;
}

int pg_job_attempts(struct store *s, int64_t id, struct job_attempt **ret, size_t *ret_n)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_i64(&p, id);
	int rc = pg_run(s, -1,
			"SELECT attempt, host_id, started_on, ended_on, outcome, error_code,"
			" message, trace FROM job_attempts WHERE job_id = $1"
			" UNION ALL SELECT attempt, host_id, started_on, completed_on, 'succeeded',"
			" error_code, message, trace FROM jobs WHERE id = $1 AND status = 30"
			" AND attempt = 1"
			" AND NOT EXISTS (SELECT 1 FROM job_attempts WHERE job_id = $1)"
			" ORDER BY 1",
			&p, &r, "read job attempts");
	if (rc < 0)
		return rc;
	size_t n = (size_t)PQntuples(r);
	if (n > STORE_ATTEMPTS_KEPT)
		n = STORE_ATTEMPTS_KEPT;
	struct job_attempt *a = calloc(STORE_ATTEMPTS_KEPT, sizeof(*a));
	if (!a) {
		PQclear(r);
		return AE_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int row = (int)i;
		a[i].attempt = pg_i64(r, row, 0);
		a[i].host_id = pg_text(r, row, 1);
		a[i].started_on = pg_i64(r, row, 2);
		a[i].ended_on = pg_i64(r, row, 3);
		a[i].outcome = pg_text(r, row, 4);
		a[i].error_code = pg_text(r, row, 5);
		a[i].message = pg_text(r, row, 6);
		a[i].trace = pg_text(r, row, 7);
	}
	PQclear(r);
	*ret = a;
	*ret_n = n;
	return 0;
}

int pg_jobs_list(struct store *s, const struct job_filter *f, struct job **ret_jobs, size_t *ret_n)
{
	struct buf b;
	struct pgp p = {0};
	PGresult *r;
	buf_init(&b, 4096);
	int rc = store_list_sql(f, PG_JOB_COLUMNS, '$', &b);
	if (f->plugin_type)
		pgp_text(&p, f->plugin_type);
	if (f->owner)
		pgp_text(&p, f->owner);
	if (f->error_code)
		pgp_text(&p, f->error_code);
	if (rc == 0)
		rc = pg_run(s, -1, b.data, &p, &r, "list jobs");
	buf_done(&b);
	if (rc < 0)
		return rc;
	size_t n = (size_t)PQntuples(r);
	if (n > (size_t)f->limit)
		n = (size_t)f->limit;
	struct job *jobs = calloc(n + 1, sizeof(*jobs));
	if (!jobs) {
		PQclear(r);
		return AE_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		pg_read_job(r, (int)i, &jobs[i]);
	PQclear(r);
	*ret_jobs = jobs;
	*ret_n = n;
	return 0;
}

int pg_jobs_stats(struct store *s, int64_t ret_by_status[33], int64_t *ret_total)
{
	PGresult *r;
	int rc = pg_run(s, -1,
			"SELECT 0, count(*) FROM jobs WHERE state = 0"
			" UNION ALL SELECT CASE status WHEN 0 THEN 20 ELSE status END, count(*)"
			" FROM jobs WHERE state IN (1, 2) GROUP BY 1"
			" UNION ALL SELECT status, count(*) FROM jobs WHERE state = 3"
			" GROUP BY status",
			NULL, &r, "job statistics");
	if (rc < 0)
		return rc;
	int64_t total = 0, by_status[33] = {0};
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t status = pg_i64(r, i, 0), n = pg_i64(r, i, 1);
		if (status >= 0 && status <= 32)
			by_status[status] = n;
		total += n;
	}
	PQclear(r);
	memcpy(ret_by_status, by_status, sizeof(by_status));
	*ret_total = total;
	return 0;
}

int pg_jobs_count_unfinished(struct store *s, enum store_owner owner, int64_t id,
			     struct job_counts *ret)
{
	char sql[400];
	struct pgp p = {0};
	PGresult *r;
	const char *column = pg_owner_column(owner);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT 0, count(*), 0, NULL FROM jobs WHERE state = 0 AND %s = $1"
	    " UNION ALL SELECT state, count(*), count(*) FILTER (WHERE postpone_until IS NULL),"
	    " min(postpone_until) FROM jobs WHERE state IN (1, 2) AND %s = $1 GROUP BY state",
	    column, column);
	pgp_i64(&p, id);
	int rc = pg_run(s, -1, sql, &p, &r, "count jobs");
	if (rc < 0)
		return rc;
	memset(ret, 0, sizeof(*ret));
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t state = pg_i64(r, i, 0);
		if (state >= 0 && state < 4)
			ret->by_state[state] = pg_i64(r, i, 1);
		if (state == JOB_SUSPENDED) {
			ret->needs_attention = pg_i64(r, i, 2);
			ret->earliest_postpone = pg_i64(r, i, 3);
		}
	}
	PQclear(r);
	return 0;
}
