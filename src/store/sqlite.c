/* The SQLite backend's connection: opening in WAL mode, migrations, transactions, the statement
 * cache and binding helpers. Job and metadata operations live in sqlite_jobs.c and
 * sqlite_meta.c; the ops table that joins them is at the end of sqlite_meta.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/schema_sqlite.h"
#include "store/sqlite_int.h"

extern const struct store_ops sqlite_store_ops;

static const char *const stmt_sql[SQ_COUNT_] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SAVEPOINT] = "SAVEPOINT op",
    [SQ_RELEASE] = "RELEASE op",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO op",
    [SQ_JOB_INSERT] =
	"INSERT INTO jobs(name, operation_type, state, status, message_name,"
	" primary_entity, regarding_id, step_id, assembly_id, plugin_type, data, depth,"
	" correlation_id, request_id, dependency_token, priority, postpone_until,"
	" retry_count, max_retries, error_code, message, created_on, completed_on,"
	" modified_on, recurrence_pattern, recurrence_start_time, owner, idempotency_key,"
	" auto_delete, recurrence_timezone) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	" ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27,"
	" ?28, ?29, ?30)",
    /* not started yet: the started_on of an earlier run goes (it is in the attempt history) */
    [SQ_JOB_CLAIM] = "UPDATE jobs SET state = 2, status = 0, host_id = ?1, attempt = attempt + 1,"
		     " started_on = NULL, modified_on = ?2 WHERE id IN (SELECT id FROM jobs j "
		     "WHERE state = 0 AND"
		     " (dependency_token IS NULL OR id = (SELECT min(id) FROM jobs t"
		     " WHERE t.dependency_token = j.dependency_token AND t.state < 3))"
		     " ORDER BY priority, id LIMIT ?3) RETURNING " SQ_JOB_COLUMNS,
    /* a pause or cancel asked for during the run wins over the run's own outcome */
    [SQ_JOB_COMPLETE] =
	"UPDATE jobs SET"
	" state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE ?1 END,"
	" status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE ?2 END,"
	" postpone_until = CASE status WHEN 21 THEN postpone_until WHEN 22 THEN NULL"
	" ELSE ?3 END,"
	" retry_count = CASE WHEN status IN (21, 22) THEN retry_count ELSE ?4 END,"
	" error_code = CASE status WHEN 22 THEN coalesce(error_code, 'canceled')"
	" WHEN 21 THEN 'paused' ELSE ?5 END,"
	" message = CASE WHEN status IN (21, 22) THEN message ELSE ?6 END,"
	" trace = ?7, output = ?8, started_on = ?9,"
	" completed_on = CASE WHEN status = 22 OR ?1 = 3 THEN ?10 ELSE NULL END,"
	" execution_time_ms = ?11, modified_on = ?10, host_id = NULL"
	" WHERE id = ?12 AND host_id = ?13 AND attempt = ?14 AND state = 2",
    [SQ_JOB_COMPLETE_DELETE] = "DELETE FROM jobs WHERE id = ?1 AND host_id = ?2 AND"
			       " attempt = ?3 AND state = 2 AND status IN (0, 20)",
    [SQ_JOB_RELEASE] = "UPDATE jobs SET"
		       " state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE 0 END,"
		       " status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE 0 END,"
		       " completed_on = CASE status WHEN 22 THEN ?1 ELSE NULL END,"
		       " host_id = NULL, modified_on = ?1"
		       " WHERE id = ?2 AND host_id = ?3 AND attempt = ?4 AND state = 2",
    [SQ_JOB_RELEASE_ALL] = "UPDATE jobs SET"
			   " state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE 0 END,"
			   " status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE 0 END,"
			   " completed_on = CASE status WHEN 22 THEN ?1 ELSE NULL END,"
			   " host_id = NULL, modified_on = ?1 WHERE state IN (1, 2) AND state = 2"
			   " RETURNING plugin_type, status",
    /* claimed (Locked / Waiting For Resources) until its run starts: then In Progress */
    [SQ_JOB_STARTED] = "UPDATE jobs SET status = 20, started_on = ?3, modified_on = ?3"
		       " WHERE id = ?1 AND attempt = ?2 AND state = 2 AND status = 0",
    [SQ_JOB_PROMOTE] = "UPDATE jobs SET state = 0, status = 0, postpone_until = NULL,"
		       " modified_on = ?1 WHERE state = 1 AND postpone_until IS NOT NULL"
		       " AND postpone_until <= ?1 RETURNING plugin_type, status",
    [SQ_JOB_NEXT_DUE] = "SELECT min(postpone_until) FROM jobs WHERE state = 1"
			" AND postpone_until IS NOT NULL",
    [SQ_JOB_GET] = "SELECT " SQ_JOB_COLUMNS ", trace FROM jobs WHERE id = ?1",
    [SQ_JOB_IDEMPOTENT] = "SELECT id FROM jobs WHERE idempotency_key = ?1",
    [SQ_JOB_UPDATE] = "UPDATE jobs SET state = ?2, status = ?3, postpone_until = ?4,"
		      " retry_count = ?5, error_code = ?6, message = ?7, host_id = ?8,"
		      " attempt = ?9, completed_on = ?10, modified_on = ?11 WHERE id = ?1",
    [SQ_JOB_DELETE] = "DELETE FROM jobs WHERE id = ?1 RETURNING plugin_type,"
		      " CASE WHEN state = 2 AND status = 0 THEN 20 ELSE status END",
    /* index-only: the Ready rows' index, the active rows' index and the completed rows' index,
     * never the table itself with its data and trace columns */
    [SQ_JOB_STATS] = "SELECT 0, count(*) FROM jobs INDEXED BY jobs_ready WHERE state = 0"
		     " UNION ALL SELECT CASE status WHEN 0 THEN 20 ELSE status END, count(*)"
		     " FROM jobs INDEXED BY jobs_active WHERE state IN (1, 2) GROUP BY 1"
		     " UNION ALL SELECT status, count(*) FROM jobs INDEXED BY jobs_completed"
		     " WHERE state = 3 GROUP BY status",
    [SQ_STEP_STATE] = "SELECT draining FROM steps WHERE id = ?1",
    [SQ_ASSEMBLY_STATE] = "SELECT draining FROM assemblies WHERE id = ?1",
    /* the run just recorded, read back from its row: a pause or cancel asked during the run
     * has already won over the plug-in's result there */
    [SQ_ATTEMPT_INSERT] =
	"INSERT OR REPLACE INTO job_attempts(job_id, slot, attempt, host_id, started_on,"
	" ended_on, outcome, error_code, message, trace)"
	" SELECT id, ?2 % ?4, ?2, ?3, started_on, modified_on, CASE"
	" WHEN status = 30 THEN 'succeeded' WHEN status = 31 THEN 'failed'"
	" WHEN status = 32 THEN 'canceled' WHEN error_code IS 'paused' THEN 'interrupted'"
	" WHEN ?5 IS NOT NULL THEN ?5"
	" WHEN state = 1 AND postpone_until IS NULL THEN 'needs_attention'"
	" WHEN state = 1 THEN 'transient' ELSE 'interrupted' END,"
	" error_code, message, trace FROM jobs WHERE id = ?1"
	/* a first run that succeeded is the job row itself: no row of history to write */
	" AND NOT (status = 30 AND attempt = 1)",
    [SQ_ATTEMPTS_LIST] =
	"SELECT attempt, host_id, started_on, ended_on, outcome, error_code,"
	" message, trace FROM job_attempts WHERE job_id = ?1"
	" UNION ALL SELECT attempt, host_id, started_on, completed_on, 'succeeded',"
	" error_code, message, trace FROM jobs WHERE id = ?1 AND status = 30"
	" AND attempt = 1"
	" AND NOT EXISTS (SELECT 1 FROM job_attempts WHERE job_id = ?1)"
	" ORDER BY 1",
    /* for the metrics' counts a claimed job that has not started (Locked / Waiting For
     * Resources) counts as In Progress */
    [SQ_JOB_STATUS] = "SELECT CASE WHEN state = 2 AND status = 0 THEN 20 ELSE status END,"
		      " plugin_type FROM jobs WHERE id = ?1",
    [SQ_READY_LEVEL] = "SELECT id, plugin_type FROM jobs INDEXED BY jobs_ready"
		       " WHERE state = 0 AND priority = ?1 ORDER BY id LIMIT ?2",
    [SQ_JOB_CREATED] = "SELECT created_on FROM jobs WHERE id = ?1",
};

int sq_fail(struct store *s, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);
	snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
		return AE_BUSY;
	if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return AE_EXISTS;
	if ((code & 0xff) == SQLITE_FULL)
		return AE_DISKFULL;
	if ((code & 0xff) == SQLITE_IOERR)
		return AE_IO;
	return AE_STORE;
}

sqlite3_stmt *sq_stmt(struct store *s, enum sq_stmt k)
{
	sqlite3_stmt *st = s->stmts[k];
	if (!st) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[k], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->stmts[k], NULL) != SQLITE_OK) {
			sq_fail(s, "prepare");
			return NULL;
		}
		return s->stmts[k];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int sq_exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = sq_fail(s, "exec");
		if (msg)
			snprintf(s->err, sizeof(s->err), "%s", msg);
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void sq_bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

void sq_bind_i64_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

char *sq_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

static int step_done_simple(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(s, what);
}

static int sq_run(struct store *s, enum sq_stmt k, const char *what)
{
	sqlite3_stmt *st = sq_stmt(s, k);
	return st ? step_done_simple(s, st, what) : AE_STORE;
}

int sq_begin(struct store *s)
{
	return sq_run(s, SQ_BEGIN, "begin");
}

int sq_commit(struct store *s)
{
	int rc = sq_run(s, SQ_COMMIT, "commit");
	if (rc == 0)
		sq_watch_commit(s->watch);
	return rc;
}

int sq_rollback(struct store *s)
{
	sq_watch_rollback(s->watch);
	return sq_run(s, SQ_ROLLBACK, "rollback");
}

int sq_savepoint(struct store *s)
{
	sq_watch_savepoint(s->watch);
	return sq_run(s, SQ_SAVEPOINT, "savepoint");
}

int sq_release(struct store *s)
{
	return sq_run(s, SQ_RELEASE, "release");
}

int sq_rollback_to(struct store *s)
{
	sq_watch_rollback_to(s->watch);
	int rc = sq_run(s, SQ_ROLLBACK_TO, "rollback to savepoint");
	return rc < 0 ? rc : sq_run(s, SQ_RELEASE, "release");
}

static int user_version(struct store *s, int *ret)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "read schema version");
	int rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, "read schema version");
}

int sq_migrate(struct store *s)
{
	int have, want = (int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]));
	int rc = user_version(s, &have);
	if (rc < 0)
		return rc;
	if (have > want) {
		snprintf(s->err, sizeof(s->err),
			 "database schema version %d is newer than this asyncd knows (%d)", have,
			 want);
		return AE_STORE;
	}
	for (int v = have; v < want; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if ((rc = sq_exec(s, "BEGIN IMMEDIATE")) < 0)
			return rc;
		if ((rc = sq_exec(s, sqlite_migrations[v])) < 0 || (rc = sq_exec(s, pragma)) < 0 ||
		    (rc = sq_exec(s, "COMMIT")) < 0) {
			sq_exec(s, "ROLLBACK");
			return rc;
		}
	}
	return 0;
}

static int configure(struct store *s, const char *sync)
{
	char sql[256];
	sqlite3_busy_timeout(s->db, 10000);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA foreign_keys = ON;"
		 " PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;",
		 sync);
	return sq_exec(s, sql);
}

/* The options after '?' of a store URL, '&'-separated: synchronous=normal, and max_pages=N (cap
 * the database at N pages, so that a full disk can be tried without filling one). */
static int url_options(const char *q, char sync[16], long *ret_max_pages)
{
	while (q && *q) {
		size_t n = strcspn(q, "&");
		char *end;
		if (n == 18 && !strncmp(q, "synchronous=normal", n)) {
			strcpy(sync, "NORMAL");
		} else if (n > 10 && !strncmp(q, "max_pages=", 10)) {
			*ret_max_pages = strtol(q + 10, &end, 10);
			if (end != q + n || *ret_max_pages < 1)
				return AE_INVAL;
		} else {
			return AE_INVAL;
		}
		q += n + (q[n] == '&');
	}
	return 0;
}

static int cap_pages(struct store *s, long max_pages)
{
	char sql[64];
	if (!max_pages)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", max_pages);
	return sq_exec(s, sql);
}

/* url: "sqlite:PATH[?synchronous=normal][&max_pages=N]" */
int sq_open(const char *url, struct store **ret)
{
	char path[4096], sync[16] = "FULL";
	long max_pages = 0;
	const char *p = url + strlen("sqlite:");
	const char *q = strchr(p, '?');
	size_t n = q ? (size_t)(q - p) : strlen(p);
	if (n == 0 || n >= sizeof(path))
		return AE_INVAL;
	memcpy(path, p, n);
	path[n] = 0;
	if (url_options(q ? q + 1 : NULL, sync, &max_pages) < 0)
		return AE_INVAL;
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return AE_NOMEM;
	s->base.ops = &sqlite_store_ops;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK || configure(s, sync) < 0 ||
	    cap_pages(s, max_pages) < 0) {
		sq_close(s);
		return AE_STORE;
	}
	*ret = s;
	return 0;
}

void sq_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < SQ_COUNT_; i++)
		sqlite3_finalize(s->stmts[i]);
	sqlite3_close_v2(s->db);
	sq_watch_free(s->watch);
	free(s);
}

const char *sq_last_error(struct store *s)
{
	return s->err[0] ? s->err : "no error";
}
