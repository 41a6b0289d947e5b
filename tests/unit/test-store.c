/* Unit tests of the SQLite store: migrations, insert/claim order, fencing, release, promotion,
 * listing, idempotency, counts, settings and tokens, on a temporary database file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "common/error.h"
#include "common/metrics.h"
#include "store/pg/pg_int.h" /* the connection, to read a session setting back */
#include "store/schema_sqlite.h"
#include "store/store.h"
#include "testdb.h"

struct fixture {
	char dir[64];
	char url[256];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/asyncd-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/t.db", f->dir);
	if (testdb_new(path, f->url, sizeof(f->url)) < 0)
		return -1;
	if (store_open(f->url, &f->s) < 0 || store_migrate(f->s) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	store_close(f->s);
	testdb_drop(f->url);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct job make_job(const char *type, int priority)
{
	struct job j = {0};
	j.name = strdup(type);
	j.operation_type = JOB_OP_EXECUTE_ASYNC;
	j.state = JOB_READY;
	j.status = JOB_ST_WAITING_FOR_RESOURCES;
	j.plugin_type = strdup(type);
	j.data = strdup("{}");
	j.depth = 1;
	j.priority = priority;
	j.max_retries = 3;
	j.created_on = 1000;
	return j;
}

static void insert(struct store *s, struct job *jobs, size_t n)
{
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_jobs_insert(s, jobs, n), 0);
	assert_int_equal(store_commit(s), 0);
}

static void claim(struct store *s, int limit, struct job **ret, size_t *n)
{
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_jobs_claim(s, "h1", 2000, limit, ret, n), 0);
	assert_int_equal(store_commit(s), 0);
}

static void migrate_twice_is_harmless(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_migrate(f->s), 0);
}

static void claim_by_priority_then_sequence(void **state)
{
	struct fixture *f = *state;
	struct job jobs[4] = {make_job("a.x", 5), make_job("a.x", 1), make_job("a.x", 5),
			      make_job("a.x", 0)};
	insert(f->s, jobs, 4);
	struct job *got;
	size_t n;
	claim(f->s, 3, &got, &n);
	assert_int_equal(n, 3);
	assert_int_equal(got[0].id, jobs[3].id);
	assert_int_equal(got[1].id, jobs[1].id);
	assert_int_equal(got[2].id, jobs[0].id);
	assert_int_equal(got[0].state, JOB_LOCKED);
	assert_int_equal(got[0].attempt, 1);
	assert_string_equal(got[0].host_id, "h1");
	job_array_free(got, n);
	for (int i = 0; i < 4; i++)
		job_done(&jobs[i]);
}

static void completion_is_fenced(void **state)
{
	struct fixture *f = *state;
	struct job j = make_job("a.x", 5);
	insert(f->s, &j, 1);
	struct job *got;
	size_t n;
	claim(f->s, 1, &got, &n);
	struct job_completion c = {.id = got[0].id,
				   .host_id = "h1",
				   .attempt = 7,
				   .next = {.state = JOB_COMPLETED, .status = JOB_ST_SUCCEEDED},
				   .completed_on = 3000};
	assert_int_equal(store_jobs_complete(f->s, &c, 1), 0);
	assert_false(c.applied); /* wrong attempt */
	c.attempt = got[0].attempt;
	assert_int_equal(store_jobs_complete(f->s, &c, 1), 0);
	assert_true(c.applied);
	c.applied = false;
	assert_int_equal(store_jobs_complete(f->s, &c, 1), 0);
	assert_false(c.applied); /* no longer Locked */
	struct job back;
	assert_int_equal(store_job_get(f->s, got[0].id, &back), 0);
	assert_int_equal(back.status, JOB_ST_SUCCEEDED);
	assert_null(back.host_id);
	job_done(&back);
	job_array_free(got, n);
	job_done(&j);
}

static void release_returns_to_ready_and_cancel_wins(void **state)
{
	struct fixture *f = *state;
	struct job jobs[2] = {make_job("a.x", 5), make_job("a.x", 5)};
	insert(f->s, jobs, 2);
	struct job *got;
	size_t n;
	claim(f->s, 2, &got, &n);
	got[1].status = JOB_ST_CANCELING;
	got[1].modified_on = 2500;
	assert_int_equal(store_job_update(f->s, &got[1]), 0);
	int64_t ids[2] = {got[0].id, got[1].id}, att[2] = {got[0].attempt, got[1].attempt};
	assert_int_equal(store_jobs_release(f->s, "h1", ids, att, 2, 3000), 0);
	struct job a, b;
	assert_int_equal(store_job_get(f->s, ids[0], &a), 0);
	assert_int_equal(store_job_get(f->s, ids[1], &b), 0);
	assert_int_equal(a.state, JOB_READY);
	assert_int_equal(a.retry_count, 0);
	assert_int_equal(b.status, JOB_ST_CANCELED);
	job_done(&a);
	job_done(&b);
	job_array_free(got, n);
	job_done(&jobs[0]);
	job_done(&jobs[1]);
}

static void dependency_token_one_at_a_time(void **state)
{
	struct fixture *f = *state;
	struct job jobs[3] = {make_job("a.x", 5), make_job("a.x", 5), make_job("a.x", 5)};
	jobs[0].dependency_token = strdup("k");
	jobs[1].dependency_token = strdup("k");
	insert(f->s, jobs, 3);
	struct job *got;
	size_t n;
	claim(f->s, 10, &got, &n);
	assert_int_equal(n, 2); /* the second "k" waits for the first */
	job_array_free(got, n);
	claim(f->s, 10, &got, &n);
	assert_int_equal(n, 0);
	job_array_free(got, n);
	for (int i = 0; i < 3; i++)
		job_done(&jobs[i]);
}

static void postponed_jobs_are_promoted(void **state)
{
	struct fixture *f = *state;
	struct job j = make_job("a.x", 5);
	j.state = JOB_SUSPENDED;
	j.status = JOB_ST_WAITING;
	j.postpone_until = 5000;
	insert(f->s, &j, 1);
	int64_t at, n;
	assert_int_equal(store_jobs_next_due(f->s, &at), 0);
	assert_int_equal(at, 5000);
	assert_int_equal(store_jobs_promote_due(f->s, 4999, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_jobs_promote_due(f->s, 5000, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_jobs_next_due(f->s, &at), 0);
	assert_int_equal(at, 0);
	job_done(&j);
}

static void list_pages_newest_first(void **state)
{
	struct fixture *f = *state;
	struct job jobs[5];
	for (int i = 0; i < 5; i++)
		jobs[i] = make_job(i % 2 ? "a.odd" : "a.even", 5);
	insert(f->s, jobs, 5);
	struct job_filter flt = {.state = -1, .status = -1, .limit = 2};
	struct job *got;
	size_t n;
	assert_int_equal(store_jobs_list(f->s, &flt, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(got[0].id, jobs[4].id);
	flt.before_id = got[1].id;
	job_array_free(got, n);
	assert_int_equal(store_jobs_list(f->s, &flt, &got, &n), 0);
	assert_int_equal(got[0].id, jobs[2].id);
	job_array_free(got, n);
	flt = (struct job_filter){.state = -1, .status = -1, .plugin_type = "a.odd", .limit = 10};
	assert_int_equal(store_jobs_list(f->s, &flt, &got, &n), 0);
	assert_int_equal(n, 2);
	job_array_free(got, n);
	int64_t by[33], total;
	assert_int_equal(store_jobs_stats(f->s, by, &total), 0);
	assert_int_equal(total, 5);
	assert_int_equal(by[0], 5);
	for (int i = 0; i < 5; i++)
		job_done(&jobs[i]);
}

static void idempotency_key_is_unique(void **state)
{
	struct fixture *f = *state;
	struct job a = make_job("a.x", 5), b = make_job("a.x", 5);
	a.idempotency_key = strdup("once");
	b.idempotency_key = strdup("once");
	insert(f->s, &a, 1);
	int64_t id;
	assert_int_equal(store_job_find_idempotent(f->s, "once", &id), 0);
	assert_int_equal(id, a.id);
	assert_int_equal(store_jobs_insert(f->s, &b, 1), AE_EXISTS);
	assert_int_equal(store_job_find_idempotent(f->s, "never", &id), AE_NOTFOUND);
	job_done(&a);
	job_done(&b);
}

static void settings_tokens_users(void **state)
{
	struct fixture *f = *state;
	struct setting_row *rows;
	size_t n;
	assert_int_equal(store_setting_put(f->s, "async.max_retries", "3"), 0);
	assert_int_equal(store_setting_put(f->s, "async.max_retries", "4"), 0);
	assert_int_equal(store_settings_list(f->s, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].value, "4");
	setting_rows_free(rows, n);
	struct user u = {.name = "ann", .roles = 2, .created_on = 1};
	assert_int_equal(store_user_insert(f->s, &u), 0);
	struct token t = {.user_id = u.id, .hash = "abc", .created_on = 1}, got;
	assert_int_equal(store_token_insert(f->s, &t), 0);
	assert_int_equal(store_token_find(f->s, "abc", &got), 0);
	assert_int_equal(got.user_id, u.id);
	token_done(&got);
	assert_int_equal(store_token_revoke(f->s, t.id, 5), 0);
	assert_int_equal(store_token_find(f->s, "abc", &got), 0);
	assert_int_equal(got.revoked_on, 5);
	token_done(&got);
	assert_int_equal(store_user_insert(f->s, &u), AE_EXISTS);
}

static void fault_injection_fails_the_nth_call(void **state)
{
	struct fixture *f = *state;
	int64_t at;
	store_fault_inject(2);
	assert_int_equal(store_jobs_next_due(f->s, &at), 0);
	assert_int_equal(store_jobs_next_due(f->s, &at), AE_STORE);
	assert_int_equal(store_jobs_next_due(f->s, &at), 0);
}
/* Host crashes count only on a job still Locked at that attempt and not being canceled; the
 * count survives a release and a new claim; failing it ends it Completed/Failed. */
static void host_crashes_are_fenced_and_counted(void **state)
{
	struct fixture *f = *state;
	struct job jobs[2] = {make_job("a.x", 5), make_job("a.x", 5)};
	int64_t crashes = 0;
	insert(f->s, jobs, 2);
	struct job *got;
	size_t n;
	claim(f->s, 2, &got, &n);
	int64_t id = got[0].id;
	assert_int_equal(store_job_count_host_crash(f->s, id, got[0].attempt + 1, &crashes),
			 AE_NOTFOUND);
	assert_int_equal(store_job_count_host_crash(f->s, id, got[0].attempt, &crashes), 0);
	assert_int_equal(crashes, 1);
	got[1].status = JOB_ST_CANCELING;
	assert_int_equal(store_job_update(f->s, &got[1]), 0);
	assert_int_equal(store_job_count_host_crash(f->s, got[1].id, got[1].attempt, &crashes),
			 AE_NOTFOUND);
	assert_int_equal(store_jobs_release_all_locked(f->s, 3000, NULL), 0);
	job_array_free(got, n);
	claim(f->s, 1, &got, &n);
	assert_int_equal(got[0].id, id);
	assert_int_equal(store_job_count_host_crash(f->s, id, got[0].attempt, &crashes), 0);
	assert_int_equal(crashes, 2);
	assert_int_equal(store_job_fail_locked(f->s, id, got[0].attempt, 4000, "host_crashed", "m"),
			 0);
	assert_int_equal(store_job_fail_locked(f->s, id, got[0].attempt, 4000, "host_crashed", "m"),
			 AE_NOTFOUND);
	struct job back;
	assert_int_equal(store_job_get(f->s, id, &back), 0);
	assert_int_equal(back.state, JOB_COMPLETED);
	assert_int_equal(back.status, JOB_ST_FAILED);
	assert_string_equal(back.error_code, "host_crashed");
	assert_int_equal(back.completed_on, 4000);
	assert_null(back.host_id);
	job_done(&back);
	job_array_free(got, n);
	job_done(&jobs[0]);
	job_done(&jobs[1]);
}

static int64_t insert_one(struct store *s)
{
	struct job j = make_job("a.x", 5);
	insert(s, &j, 1);
	int64_t id = j.id;
	job_done(&j);
	return id;
}

static void delete_job(struct store *s, int64_t id)
{
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_job_delete(s, id), 0);
	assert_int_equal(store_commit(s), 0);
}

/* VACUUM on a connection of its own, as an administrator would run it */
static void vacuum(const char *url)
{
	sqlite3 *db;
	if (testdb_is_pg()) {
		assert_int_equal(testdb_exec(url, "VACUUM FULL jobs"), 0);
		return;
	}
	assert_int_equal(sqlite3_open(url + strlen("sqlite:"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "VACUUM", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* SPEC 1: an id is never given again, not after a delete of the newest job, a restart (a new
 * connection) or a VACUUM */
static void job_ids_are_never_reused(void **state)
{
	struct fixture *f = *state;
	insert_one(f->s);
	int64_t newest = insert_one(f->s);
	delete_job(f->s, newest);
	int64_t next = insert_one(f->s);
	assert_true(next > newest);
	delete_job(f->s, next);
	store_close(f->s);
	vacuum(f->url);
	assert_int_equal(store_open(f->url, &f->s), 0);
	assert_int_equal(store_migrate(f->s), 0);
	int64_t after_restart = insert_one(f->s);
	assert_true(after_restart > next);
}

/* One run of job id: claimed, then recorded as a transient failure and made Ready again. */
static void run_transient(struct store *s, int64_t id, int64_t now)
{
	struct job *got;
	size_t n;
	claim(s, 1, &got, &n);
	assert_int_equal(n, 1);
	struct job_completion c = {.id = id,
				   .host_id = "h1",
				   .attempt = got[0].attempt,
				   .next = {.state = JOB_SUSPENDED,
					    .status = JOB_ST_WAITING,
					    .postpone_until = now,
					    .error_code = "plugin_failed"},
				   .message = "try again",
				   .trace = "a line",
				   .started_on = now - 5,
				   .completed_on = now};
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_jobs_complete(s, &c, 1), 0);
	assert_int_equal(store_jobs_promote_due(s, now, NULL), 0);
	assert_int_equal(store_commit(s), 0);
	assert_true(
	    c.applied); /* known at the commit at the latest (PostgreSQL sends them later) */
	job_array_free(got, n);
}

/* The attempt history keeps the last STORE_ATTEMPTS_KEPT runs, oldest first, and goes with its
 * job */
static void attempt_history_is_bounded(void **state)
{
	struct fixture *f = *state;
	int64_t id = insert_one(f->s);
	struct job_attempt *a;
	size_t n;
	for (int i = 1; i <= STORE_ATTEMPTS_KEPT + 2; i++)
		run_transient(f->s, id, 3000 + i);
	assert_int_equal(store_job_attempts(f->s, id, &a, &n), 0);
	assert_int_equal(n, STORE_ATTEMPTS_KEPT);
	assert_int_equal(a[0].attempt, 3);
	assert_int_equal(a[n - 1].attempt, STORE_ATTEMPTS_KEPT + 2);
	assert_string_equal(a[n - 1].outcome, "transient");
	assert_string_equal(a[n - 1].error_code, "plugin_failed");
	assert_string_equal(a[n - 1].message, "try again");
	assert_string_equal(a[n - 1].trace, "a line");
	assert_string_equal(a[n - 1].host_id, "h1");
	assert_int_equal(a[n - 1].ended_on, 3000 + STORE_ATTEMPTS_KEPT + 2);
	assert_int_equal(a[n - 1].started_on, 3000 + STORE_ATTEMPTS_KEPT + 2 - 5);
	job_attempts_free(a, n);
	delete_job(f->s, id);
	assert_int_equal(store_job_attempts(f->s, id, &a, &n), 0);
	assert_int_equal(n, 0);
	job_attempts_free(a, n);
}

/* A first run that succeeds writes no history row (the job row is that attempt), yet it reads
 * as one attempt, succeeded. */
static void first_success_is_its_own_history(void **state)
{
	struct fixture *f = *state;
	int64_t id = insert_one(f->s);
	struct job *got;
	struct job_attempt *a;
	size_t n;
	claim(f->s, 1, &got, &n);
	assert_int_equal(n, 1);
	struct job_completion c = {.id = id,
				   .host_id = "h1",
				   .attempt = got[0].attempt,
				   .next = {.state = JOB_COMPLETED, .status = JOB_ST_SUCCEEDED},
				   .message = "done",
				   .trace = "ran",
				   .started_on = 100,
				   .completed_on = 105};
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_jobs_complete(f->s, &c, 1), 0);
	assert_int_equal(store_commit(f->s), 0);
	job_array_free(got, 1);
	assert_int_equal(store_job_attempts(f->s, id, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].attempt, 1);
	assert_string_equal(a[0].outcome, "succeeded");
	assert_string_equal(a[0].trace, "ran");
	assert_int_equal(a[0].ended_on, 105);
	job_attempts_free(a, n);
}

/* A database at version 4 (before ids were kept from reuse) with jobs 1 and 7: migrations 5 and
 * 6 keep its rows, make every index of jobs again, and ids go on above 7. */
static void make_v4_database(const char *url)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(url + strlen("sqlite:"), &db), SQLITE_OK);
	for (int v = 0; v < 4; v++)
		assert_int_equal(sqlite3_exec(db, sqlite_migrations[v], NULL, NULL, NULL),
				 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO jobs(id, name, operation_type, state, status,"
				      " plugin_type, max_retries, created_on, modified_on,"
				      " host_crashes, idempotency_key) VALUES"
				      " (1, 'a', 54, 0, 0, 'a.x', 3, 1, 1, 0, 'k1'),"
				      " (7, 'b', 54, 3, 30, 'a.x', 3, 1, 1, 2, NULL);"
				      "PRAGMA user_version = 4;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

static int count_job_indexes(const char *url)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;
	assert_int_equal(sqlite3_open(url + strlen("sqlite:"), &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
			       " AND tbl_name = 'jobs' AND sql IS NOT NULL",
			       -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void migration_keeps_jobs_and_indexes(void **state)
{
	struct fixture *f = *state;
	char url[160];
	struct store *s;
	struct job back;
	int64_t id;
	if (testdb_is_pg())
		return; /* SQLite's own migrations; PostgreSQL's schema starts at the current one */
	snprintf(url, sizeof(url), "sqlite:%s/v4.db", f->dir);
	make_v4_database(url);
	assert_int_equal(store_open(url, &s), 0);
	assert_int_equal(store_migrate(s), 0);
	assert_int_equal(store_job_get(s, 7, &back), 0);
	assert_int_equal(back.status, JOB_ST_SUCCEEDED);
	job_done(&back);
	assert_int_equal(store_job_find_idempotent(s, "k1", &id), 0);
	assert_int_equal(id, 1);
	struct job *got;
	size_t n;
	claim(s, 5, &got, &n); /* through jobs_ready */
	assert_int_equal(n, 1);
	assert_int_equal(got[0].id, 1);
	job_array_free(got, n);
	assert_true(insert_one(s) > 7);
	store_close(s);
	assert_int_equal(count_job_indexes(url), 6);
}

/* PostgreSQL: hosts starting at once migrate one at a time (the advisory lock), and two
 * connections claiming at once take different jobs (SKIP LOCKED) without waiting. */
static void pg_concurrent_hosts(void **state)
{
	struct fixture *f = *state;
	struct store *other;
	struct job *a, *b;
	size_t na, nb;
	if (!testdb_is_pg())
		return; /* SQLite has one writer: nothing to take turns on */
	for (int i = 0; i < 6; i++)
		insert_one(f->s);
	assert_int_equal(store_open(f->url, &other), 0);
	assert_int_equal(store_migrate(other), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_jobs_claim(f->s, "h1", 1000, 4, &a, &na), 0);
	assert_int_equal(store_begin(other), 0);
	assert_int_equal(store_jobs_claim(other, "h2", 1000, 4, &b, &nb), 0);
	assert_int_equal(na, 4);
	assert_int_equal(nb, 2); /* the rest: h1's rows are locked and skipped, not waited for */
	for (size_t i = 0; i < na; i++)
		for (size_t k = 0; k < nb; k++)
			assert_true(a[i].id != b[k].id);
	assert_int_equal(store_commit(other), 0);
	assert_int_equal(store_commit(f->s), 0);
	job_array_free(a, na);
	job_array_free(b, nb);
	store_close(other);
}

/* PostgreSQL: a connection opened again after the server ended it keeps the session's settings
 * (store.synchronous off stays off). */
static void pg_session_settings_survive_reconnect(void **state)
{
	struct fixture *f = *state;
	if (!testdb_is_pg())
		return; /* SQLite has no session to lose */
	assert_int_equal(store_set_synchronous(f->s, false), 0);
	assert_int_equal(testdb_exec(f->url, "SELECT pg_terminate_backend(pid) FROM"
					     " pg_stat_activity WHERE datname = current_database()"
					     " AND pid <> pg_backend_pid()"),
			 0);
	assert_int_equal(store_begin(f->s), 0); /* finds the connection broken, opens it again */
	PGresult *r = PQexec(f->s->conn, "SHOW synchronous_commit");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "off");
	PQclear(r);
	assert_int_equal(store_rollback(f->s), 0);
}

/* The job counts of /metrics (jobs_watch): seeded from the table, moved by the changes of
 * committed transactions only; a rollback, or one to the savepoint, drops its changes. */
static int64_t count_of(const char *type, int status)
{
	return asyncd_metrics.jobs[metrics_type(type)][metrics_status_slot(status)];
}

static void job_counts_follow_commits(void **state)
{
	struct fixture *f = *state;
	if (testdb_is_pg())
		return; /* PostgreSQL leaves the optional jobs_watch out: /metrics omits the counts
			 */
	struct job j[3] = {make_job("c.one", 5), make_job("c.one", 5), make_job("c.two", 5)};
	insert(f->s, j, 2); /* before the watch: seen by its grouped count */
	assert_int_equal(store_jobs_watch(f->s), 0);
	assert_int_equal(count_of("c.one", JOB_ST_WAITING_FOR_RESOURCES), 2);
	/* rolled back: nothing moves */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_jobs_insert(f->s, &j[2], 1), 0);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(count_of("c.two", JOB_ST_WAITING_FOR_RESOURCES), 0);
	/* one transaction: an insert kept, a claim undone to its savepoint, then committed */
	struct job *got;
	size_t n;
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_jobs_insert(f->s, &j[2], 1), 0);
	assert_int_equal(store_savepoint(f->s), 0);
	assert_int_equal(store_jobs_claim(f->s, "h1", 2000, 10, &got, &n), 0);
	assert_int_equal(n, 3);
	job_array_free(got, n);
	assert_int_equal(store_rollback_to(f->s), 0);
	assert_int_equal(count_of("c.two", JOB_ST_WAITING_FOR_RESOURCES), 0); /* not yet */
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(count_of("c.two", JOB_ST_WAITING_FOR_RESOURCES), 1);
	assert_int_equal(count_of("c.one", JOB_ST_IN_PROGRESS), 0);
	/* a committed claim moves them; a delete removes one */
	claim(f->s, 10, &got, &n);
	assert_int_equal(n, 3);
	job_array_free(got, n);
	assert_int_equal(count_of("c.one", JOB_ST_WAITING_FOR_RESOURCES), 0);
	assert_int_equal(count_of("c.one", JOB_ST_IN_PROGRESS), 2);
	delete_job(f->s, j[0].id);
	assert_int_equal(count_of("c.one", JOB_ST_IN_PROGRESS), 1);
	struct ready_head *heads;
	assert_int_equal(store_jobs_ready_heads(f->s, 1, &heads, &n), 0);
	assert_int_equal(n, 0); /* none Ready */
	free(heads);
	struct job more[2] = {make_job("c.two", 7), make_job("c.one", 2)};
	more[0].created_on = 500;
	more[1].created_on = 700;
	insert(f->s, more, 2);
	assert_int_equal(store_jobs_ready_heads(f->s, 2, &heads, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(heads[i].created_on,
				 !strcmp(heads[i].plugin_type, "c.two") ? 500 : 700);
	free(heads);
	job_done(&more[0]);
	job_done(&more[1]);
	for (int i = 0; i < 3; i++)
		job_done(&j[i]);
}

#define MANY 2500 /* more than one statement's chunk on PostgreSQL */

/* A batch of jobs is inserted as one or a few statements; each row keeps its own fields (quotes,
 * backslashes, braces, commas, NULL and empty texts, non-ASCII) and the ids come back in the
 * batch's order. */
static void many_jobs_keep_their_fields_and_order(void **state)
{
	struct fixture *f = *state;
	static const char *const texts[] = {
	    "plain", "with \"quotes\"", "back\\slash", "{brace,comma}", "NULL",
	    "",	     "é ü 漢字",	"a\nnew line"};
	size_t nt = sizeof(texts) / sizeof(texts[0]);
	struct job *j = calloc(MANY, sizeof(*j));
	assert_non_null(j);
	for (int i = 0; i < MANY; i++) {
		j[i] = make_job("a.x", i % 7);
		free(j[i].data);
		j[i].data = strdup(texts[i % nt]);
		j[i].correlation_id = i % 3 ? strdup(texts[(i + 1) % nt]) : NULL;
		j[i].postpone_until = i % 5 ? 0 : 5000 + i;
		j[i].state = i % 5 ? JOB_READY : JOB_SUSPENDED;
		j[i].status = i % 5 ? JOB_ST_WAITING_FOR_RESOURCES : JOB_ST_WAITING;
	}
	insert(f->s, j, MANY);
	for (int i = 0; i < MANY; i++) {
		struct job g = {0};
		if (i)
			assert_true(j[i].id > j[i - 1].id);
		assert_int_equal(store_job_get(f->s, j[i].id, &g), 0);
		assert_string_equal(g.data, texts[i % nt]);
		if (i % 3)
			assert_string_equal(g.correlation_id, texts[(i + 1) % nt]);
		else
			assert_null(g.correlation_id);
		assert_int_equal(g.priority, i % 7);
		assert_int_equal(g.postpone_until, i % 5 ? 0 : 5000 + i);
		assert_int_equal(g.state, j[i].state);
		assert_int_equal(g.step_id, 0);
		job_done(&g);
	}
	for (int i = 0; i < MANY; i++)
		job_done(&j[i]);
	free(j);
}

int main(void)
{
	if (testdb_skip_without_server())
		return 0;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(job_counts_follow_commits),
	    T(migrate_twice_is_harmless),
	    T(claim_by_priority_then_sequence),
	    T(completion_is_fenced),
	    T(release_returns_to_ready_and_cancel_wins),
	    T(dependency_token_one_at_a_time),
	    T(postponed_jobs_are_promoted),
	    T(list_pages_newest_first),
	    T(idempotency_key_is_unique),
	    T(settings_tokens_users),
	    T(fault_injection_fails_the_nth_call),
	    T(host_crashes_are_fenced_and_counted),
	    T(job_ids_are_never_reused),
	    T(attempt_history_is_bounded),
	    T(first_success_is_its_own_history),
	    T(migration_keeps_jobs_and_indexes),
	    T(pg_concurrent_hosts),
	    T(many_jobs_keep_their_fields_and_order),
	    T(pg_session_settings_survive_reconnect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
