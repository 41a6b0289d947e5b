/* The PostgreSQL backend's connection: opening, the statement cache, parameters and results,
 * transactions with the one NOTIFY per commit that wakes every host's dispatcher, and the
 * migrations (run under an advisory lock, so that several hosts may start at once). Job and
 * metadata operations live in pg_jobs.c, pg_meta.c and pg_admin.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/pg/pg_int.h"
#include "store/pg/schema_pg.h"

extern const struct store_ops pg_store_ops;

/* The advisory lock that serializes migrations across hosts ('asyncd' in ASCII). */
#define PG_MIGRATE_LOCK "6173796e6364"

static const char *const stmt_sql[PG_STMT_COUNT_] = {
    [PG_JOB_INSERT] =
	"INSERT INTO jobs(name, operation_type, state, status, message_name,"
	" primary_entity, regarding_id, step_id, assembly_id, plugin_type, data, depth,"
	" correlation_id, request_id, dependency_token, priority, postpone_until,"
	" retry_count, max_retries, error_code, message, created_on, completed_on,"
	" modified_on, recurrence_pattern, recurrence_start_time, owner, idempotency_key,"
	" auto_delete, recurrence_timezone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
	" $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27,"
	" $28, $29, $30)"
	" RETURNING id",
    /* SKIP LOCKED: hosts claiming at once take different rows instead of waiting on each other;
     * a dependency token's job is claimable only while it is the token's oldest unfinished job,
     * so a token runs one job at a time across every host. The ids are an array (InitPlan) so
     * that the update looks each up by its key: joined as a CTE, the planner may hash the whole
     * table instead (3x slower at 100k rows, and it grows with the table) */
    [PG_JOB_CLAIM] = "UPDATE jobs SET state = 2, status = 0, host_id = $1,"
		     " attempt = attempt + 1, started_on = NULL, modified_on = $2,"
		     " lease_expires_on = $4 WHERE id = ANY(ARRAY(SELECT id FROM jobs j"
		     " WHERE state = 0 AND (dependency_token IS NULL OR id = (SELECT min(id)"
		     " FROM jobs t WHERE t.dependency_token = j.dependency_token AND t.state < 3))"
		     " ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED))"
		     " RETURNING " PG_JOB_COLUMNS,
    [PG_JOB_COMPLETE] =
	"UPDATE jobs SET"
	" state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE $1 END,"
	" status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE $2 END,"
	" postpone_until = CASE status WHEN 21 THEN postpone_until WHEN 22 THEN NULL"
	" ELSE $3::bigint END,"
	" retry_count = CASE WHEN status IN (21, 22) THEN retry_count ELSE $4 END,"
	" error_code = CASE status WHEN 22 THEN coalesce(error_code, 'canceled')"
	" WHEN 21 THEN 'paused' ELSE $5 END,"
	" message = CASE WHEN status IN (21, 22) THEN message ELSE $6 END,"
	" trace = $7, output = $8, started_on = $9,"
	" completed_on = CASE WHEN status = 22 OR $1::int = 3 THEN $10::bigint ELSE NULL END,"
	" execution_time_ms = $11, modified_on = $10, host_id = NULL, lease_expires_on = NULL"
	" WHERE id = $12 AND host_id = $13 AND attempt = $14 AND state = 2"
	" RETURNING status, state, dependency_token IS NOT NULL",
    [PG_JOB_COMPLETE_DELETE] = "DELETE FROM jobs WHERE id = $1 AND host_id = $2 AND"
			       " attempt = $3 AND state = 2 AND status IN (0, 20)",
    [PG_ATTEMPT_INSERT] =
	"INSERT INTO job_attempts(job_id, slot, attempt, host_id, started_on,"
	" ended_on, outcome, error_code, message, trace)"
	" SELECT id, $2::bigint % $4::bigint, $2, $3, started_on, modified_on, CASE"
	" WHEN status = 30 THEN 'succeeded' WHEN status = 31 THEN 'failed'"
	" WHEN status = 32 THEN 'canceled' WHEN error_code = 'paused' THEN 'interrupted'"
	" WHEN $5::text IS NOT NULL THEN $5"
	" WHEN state = 1 AND postpone_until IS NULL THEN 'needs_attention'"
	" WHEN state = 1 THEN 'transient' ELSE 'interrupted' END,"
	" error_code, message, trace FROM jobs WHERE id = $1"
	" AND NOT (status = 30 AND attempt = 1)"
	" ON CONFLICT (job_id, slot) DO UPDATE SET attempt = excluded.attempt,"
	" host_id = excluded.host_id, started_on = excluded.started_on,"
	" ended_on = excluded.ended_on, outcome = excluded.outcome,"
	" error_code = excluded.error_code, message = excluded.message, trace = excluded.trace",
    [PG_JOB_RELEASE] = "UPDATE jobs SET"
		       " state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE 0 END,"
		       " status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE 0 END,"
		       " completed_on = CASE status WHEN 22 THEN $1::bigint ELSE NULL END,"
		       " host_id = NULL, lease_expires_on = NULL, modified_on = $1"
		       " WHERE id = $2 AND host_id = $3 AND attempt = $4 AND state = 2",
    [PG_JOB_GET] = "SELECT " PG_JOB_COLUMNS ", trace FROM jobs WHERE id = $1",
    [PG_ROW_STATE_STEP] = "SELECT draining FROM steps WHERE id = $1",
    [PG_ROW_STATE_ASSEMBLY] = "SELECT draining FROM assemblies WHERE id = $1",
};

/* ---- parameters and results ---- */

void pgp_text(struct pgp *p, const char *v)
{
	p->v[p->n] = v;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

void pgp_i64(struct pgp *p, int64_t v)
{
	snprintf(p->buf[p->n], sizeof(p->buf[0]), "%" PRId64, v);
	pgp_text(p, p->buf[p->n]);
}

void pgp_i64_or_null(struct pgp *p, int64_t v)
{
	if (v)
		pgp_i64(p, v);
	else
		pgp_text(p, NULL);
}

void pgp_blob(struct pgp *p, const void *v, size_t n)
{
	p->v[p->n] = n ? v : "";
	p->len[p->n] = (int)n;
	p->fmt[p->n++] = 1;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

char *pg_text(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return strdup(PQgetvalue(r, row, col));
}

static int map_state(struct store *s, const char *st)
{
	/* the connection is gone, or the server is shutting down or starting */
	if (PQstatus(s->conn) != CONNECTION_OK ||
	    (st && (!strncmp(st, "08", 2) || !strncmp(st, "57P0", 4)))) {
		store_note_reachable(false);
		return AE_UNAVAILABLE;
	}
	if (!st)
		return AE_STORE;
	if (!strcmp(st, "23505"))
		return AE_EXISTS;
	if (!strcmp(st, "53100"))
		return AE_DISKFULL;
	if (!strcmp(st, "40001") || !strcmp(st, "40P01") || !strcmp(st, "55P03"))
		return AE_BUSY;
	return AE_STORE;
}

int pg_fail(struct store *s, PGresult *r, const char *what)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
	if (!msg || !*msg)
		msg = PQerrorMessage(s->conn);
	snprintf(s->err, sizeof(s->err), "%s: %s", what, msg);
	size_t n = strlen(s->err);
	while (n && (s->err[n - 1] == '\n' || s->err[n - 1] == ' '))
		s->err[--n] = 0;
	return map_state(s, r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL);
}

/* A connection lost between transactions is opened again (once per call): the statements it
 * had prepared are gone with it. */
void pg_revive(struct store *s)
{
	if (PQstatus(s->conn) == CONNECTION_OK || s->in_tx)
		return;
	PQreset(s->conn);
	memset(s->prepared, 0, sizeof(s->prepared));
	s->listening = false; /* LISTEN went with the old session, and its settings */
	if (PQstatus(s->conn) != CONNECTION_OK)
		return;
	PQclear(PQexec(s->conn, "SET client_min_messages = warning"));
	if (s->async_commit)
		PQclear(PQexec(s->conn, "SET synchronous_commit = off"));
}

/* Prepare statement k once per connection: its text from stmt_sql, or sql for the statements
 * whose text lives beside their code (stmt_sql[k] NULL). */
static int prepare(struct store *s, int k, const char *sql, const struct pgp *p)
{
	char name[16];
	if (s->prepared[k])
		return 0;
	snprintf(name, sizeof(name), "a%d", k);
	PGresult *r = PQprepare(s->conn, name, stmt_sql[k] ? stmt_sql[k] : sql, p->n, NULL);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(s, r, "prepare");
	PQclear(r);
	s->prepared[k] = rc == 0;
	return rc;
}

static int run_once(struct store *s, int k, const char *sql, const struct pgp *p, PGresult **ret,
		    const char *what);

/* Outside a transaction (readers, the listener), a statement that finds the connection broken
 * (the server restarted since its last use) is tried once more on a new connection: it did not
 * run. Inside one, the transaction is lost anyway and the caller's rollback says so. */
int pg_run(struct store *s, int k, const char *sql, const struct pgp *p, PGresult **ret,
	   const char *what)
{
	bool idle = !s->in_tx;
	int rc = run_once(s, k, sql, p, ret, what);
	if (rc == AE_UNAVAILABLE && idle && PQstatus(s->conn) != CONNECTION_OK)
		rc = run_once(s, k, sql, p, ret, what);
	return rc;
}

int pg_rows(struct store *s, const char *sql, const struct pgp *p, size_t elem_size, pg_row_fn read,
	    void **ret, size_t *ret_n, const char *what)
{
	PGresult *r;
	int rc = pg_run(s, -1, sql, p, &r, what);
	if (rc < 0)
		return rc;
	size_t n = (size_t)PQntuples(r);
	char *v = calloc(n + 1, elem_size);
	if (!v) {
		PQclear(r);
		return AE_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		read(r, (int)i, v + i * elem_size);
	PQclear(r);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int run_once(struct store *s, int k, const char *sql, const struct pgp *p, PGresult **ret,
		    const char *what)
{
	static const struct pgp none;
	PGresult *r;
	if (!p)
		p = &none;
	if (s->n_pending) {
		/* the outcomes queued before this statement go first: the order stays the callers'
		 */
		int rc = pg_flush_outcomes(s);
		if (rc < 0)
			return rc;
	}
	pg_revive(s);
	if (k >= 0) {
		char name[16];
		int rc = prepare(s, k, sql, p);
		if (rc < 0)
			return rc;
		snprintf(name, sizeof(name), "a%d", k);
		r = PQexecPrepared(s->conn, name, p->n, p->v, p->len, p->fmt, 0);
	} else {
		r = PQexecParams(s->conn, sql, p->n, NULL, p->v, p->len, p->fmt, 0);
	}
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int rc = pg_fail(s, r, what);
		PQclear(r);
		return rc;
	}
	store_note_reachable(true);
	if (ret)
		*ret = r;
	else
		PQclear(r);
	return 0;
}

int pg_change(struct store *s, const char *sql, const struct pgp *p, int64_t *ret_n,
	      const char *what)
{
	PGresult *r;
	int rc = pg_run(s, -1, sql, p, &r, what);
	if (rc < 0)
		return rc;
	if (ret_n)
		*ret_n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

static int exec_simple(struct store *s, const char *sql, const char *what)
{
	PGresult *r = PQexec(s->conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(s, r, what);
	PQclear(r);
	return rc;
}

/* ---- transactions ---- */

int pg_begin(struct store *s)
{
	pg_drop_outcomes(s, 0);
	pg_revive(s);
	int rc = exec_simple(s, "BEGIN", "begin");
	if (rc == AE_UNAVAILABLE && PQstatus(s->conn) != CONNECTION_OK) {
		pg_revive(s); /* found broken by this BEGIN: nothing had started */
		rc = exec_simple(s, "BEGIN", "begin");
	}
	s->in_tx = rc == 0;
	s->notify_jobs = false;
	return rc;
}

int pg_commit(struct store *s)
{
	int rc = s->n_pending ? pg_flush_outcomes(s) : 0;
	/* one notification per committed group that made work Ready; delivered at the commit */
	if (rc == 0 && s->notify_jobs)
		rc = exec_simple(s, "NOTIFY asyncd_jobs", "notify");
	if (rc == 0 && s->notify_settings)
		rc = exec_simple(s, "NOTIFY asyncd_settings", "notify");
	if (rc == 0 && s->notify_commands)
		rc = exec_simple(s, "NOTIFY asyncd_commands", "notify");
	s->notify_settings = s->notify_commands = false;
	if (rc == 0)
		rc = exec_simple(s, "COMMIT", "commit");
	s->in_tx = false;
	s->notify_jobs = false;
	return rc;
}

int pg_rollback(struct store *s)
{
	pg_drop_outcomes(s, 0);
	int rc = exec_simple(s, "ROLLBACK", "rollback");
	s->notify_settings = s->notify_commands = false;
	s->in_tx = false;
	s->notify_jobs = false;
	return rc;
}

int pg_savepoint(struct store *s)
{
	int rc = s->n_pending ? pg_flush_outcomes(s) : 0;
	s->sp_pending = s->n_pending;
	return rc < 0 ? rc : exec_simple(s, "SAVEPOINT op", "savepoint");
}

int pg_release(struct store *s)
{
	int rc = s->n_pending ? pg_flush_outcomes(s) : 0;
	if (rc < 0)
		return rc;
	return exec_simple(s, "RELEASE SAVEPOINT op", "release");
}

int pg_rollback_to(struct store *s)
{
	pg_drop_outcomes(s, s->sp_pending); /* the outcomes of the op undone */
	int rc = exec_simple(s, "ROLLBACK TO SAVEPOINT op", "rollback to savepoint");
	return rc < 0 ? rc : pg_release(s);
}

int pg_set_synchronous(struct store *s, bool full)
{
	int rc =
	    exec_simple(s, full ? "SET synchronous_commit = on" : "SET synchronous_commit = off",
			"set synchronous_commit");
	if (rc == 0)
		s->async_commit = !full;
	return rc;
}

/* ---- migrations ---- */

static int schema_version(struct store *s, int *ret)
{
	PGresult *r;
	int rc = pg_run(s, -1, "SELECT coalesce(max(version), 0) FROM asyncd_schema", NULL, &r,
			"read schema version");
	if (rc < 0)
		return rc;
	*ret = (int)pg_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

static int apply_migrations(struct store *s)
{
	int have = 0, want = (int)(sizeof(pg_migrations) / sizeof(pg_migrations[0]));
	int rc =
	    exec_simple(s, "CREATE TABLE IF NOT EXISTS asyncd_schema(version INTEGER NOT NULL)",
			"create the schema table");
	if (rc == 0)
		rc = schema_version(s, &have);
	if (rc < 0)
		return rc;
	if (have > want) {
		snprintf(s->err, sizeof(s->err),
			 "database schema version %d is newer than this asyncd knows (%d)", have,
			 want);
		return AE_STORE;
	}
	for (int v = have; v < want; v++) {
		char sql[96];
		snprintf(sql, sizeof(sql), "INSERT INTO asyncd_schema(version) VALUES (%d)", v + 1);
		if ((rc = exec_simple(s, "BEGIN", "begin")) < 0)
			return rc;
		if ((rc = exec_simple(s, pg_migrations[v], "migrate")) < 0 ||
		    (rc = exec_simple(s, "DELETE FROM asyncd_schema", "migrate")) < 0 ||
		    (rc = exec_simple(s, sql, "migrate")) < 0 ||
		    (rc = exec_simple(s, "COMMIT", "commit")) < 0) {
			exec_simple(s, "ROLLBACK", "rollback");
			return rc;
		}
	}
	return 0;
}

/* Hosts starting at once take turns: the first migrates, the others find it done. */
int pg_migrate(struct store *s)
{
	int rc = exec_simple(s, "SELECT pg_advisory_lock(x'" PG_MIGRATE_LOCK "'::bigint)",
			     "lock for migrations");
	if (rc < 0)
		return rc;
	rc = apply_migrations(s);
	exec_simple(s, "SELECT pg_advisory_unlock(x'" PG_MIGRATE_LOCK "'::bigint)",
		    "unlock after migrations");
	return rc;
}

/* ---- the connection ---- */

int pg_open(const char *url, struct store **ret)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return AE_NOMEM;
	s->base.ops = &pg_store_ops;
	s->conn = PQconnectdb(url);
	if (PQstatus(s->conn) != CONNECTION_OK ||
	    exec_simple(s, "SET client_min_messages = warning", "configure") < 0) {
		bool down = PQstatus(s->conn) != CONNECTION_OK;
		store_note_reachable(!down);
		pg_close(s);
		return down ? AE_UNAVAILABLE : AE_STORE;
	}
	*ret = s;
	return 0;
}

void pg_close(struct store *s)
{
	if (!s)
		return;
	PQfinish(s->conn);
	free(s->pending);
	free(s);
}

const char *pg_last_error(struct store *s)
{
	return s->err[0] ? s->err : "no error";
}
