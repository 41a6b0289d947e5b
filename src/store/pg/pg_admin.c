/* The PostgreSQL backend's administration rows: services' startup types, users and tokens lists,
 * console sessions, the bounded cleanup of completed jobs and old audit entries, safe deletes
 * and the crash accounting of start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/pg/pg_int.h"

static int change_one(struct store *s, const char *sql, const struct pgp *p, const char *what)
{
	int64_t n = 0;
	int rc = pg_change(s, sql, p, &n, what);
	return rc < 0 ? rc : n > 0 ? 0 : AE_NOTFOUND;
}

static void service_row(const PGresult *r, int row, void *elem)
{
	struct service_config *v = elem;
	v->name = pg_text(r, row, 0);
	v->startup_type = (int)pg_i64(r, row, 1);
	v->recovery_delay_s = (int)pg_i64(r, row, 2);
}

int pg_service_configs(struct store *s, const char *host_id, struct service_config **ret,
		       size_t *ret_n)
{
	struct pgp p = {0};
	pgp_text(&p, host_id);
	return pg_rows(
	    s, "SELECT name, startup_type, recovery_delay_s FROM services WHERE host_id = $1", &p,
	    sizeof(**ret), service_row, (void **)ret, ret_n, "read services");
}

int pg_service_config_put(struct store *s, const char *host_id, const struct service_config *c)
{
	struct pgp p = {0};
	pgp_text(&p, host_id);
	pgp_text(&p, c->name);
	pgp_i64(&p, c->startup_type);
	pgp_i64(&p, c->recovery_delay_s);
	return pg_change(s,
			 "INSERT INTO services(host_id, name, startup_type, recovery_delay_s)"
			 " VALUES ($1, $2, $3, $4) ON CONFLICT(host_id, name) DO UPDATE SET"
			 " startup_type = excluded.startup_type,"
			 " recovery_delay_s = excluded.recovery_delay_s",
			 &p, NULL, "store service");
}

static void user_row(const PGresult *r, int row, void *elem)
{
	struct user *v = elem;
	v->id = pg_i64(r, row, 0);
	v->name = pg_text(r, row, 1);
	v->roles = (unsigned)pg_i64(r, row, 2);
	v->created_on = pg_i64(r, row, 3);
}

int pg_users_list(struct store *s, struct user **ret, size_t *ret_n)
{
	return pg_rows(s, "SELECT id, name, roles, created_on FROM users ORDER BY id", NULL,
		       sizeof(**ret), user_row, (void **)ret, ret_n, "list users");
}

int pg_user_delete(struct store *s, int64_t id)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	int rc = pg_change(
	    s, "UPDATE tokens SET revoked_on = coalesce(revoked_on, 1) WHERE user_id = $1", &p,
	    NULL, "revoke tokens");
	if (rc == 0)
		rc = pg_change(s, "DELETE FROM sessions WHERE user_id = $1", &p, NULL,
			       "end sessions");
	if (rc < 0)
		return rc;
	/* the row stays (tokens and the audit log refer to it); its roles are taken away */
	return change_one(s, "UPDATE users SET roles = 0, password_hash = NULL WHERE id = $1", &p,
			  "delete user");
}

static void token_row(const PGresult *r, int row, void *elem)
{
	struct token *v = elem;
	v->id = pg_i64(r, row, 0);
	v->user_id = pg_i64(r, row, 1);
	v->name = pg_text(r, row, 2);
	v->created_on = pg_i64(r, row, 3);
	v->revoked_on = pg_i64(r, row, 4);
}

int pg_tokens_list(struct store *s, struct token **ret, size_t *ret_n)
{
	return pg_rows(s,
		       "SELECT id, user_id, name, created_on, revoked_on FROM tokens ORDER BY id",
		       NULL, sizeof(**ret), token_row, (void **)ret, ret_n, "list tokens");
}

int pg_session_insert(struct store *s, const struct session *se)
{
	struct pgp p = {0};
	pgp_text(&p, se->hash);
	pgp_i64(&p, se->user_id);
	pgp_text(&p, se->csrf);
	pgp_i64(&p, se->created_on);
	pgp_i64(&p, se->expires_on);
	return pg_change(s,
			 "INSERT INTO sessions(hash, user_id, csrf, created_on, expires_on)"
			 " VALUES ($1, $2, $3, $4, $5)",
			 &p, NULL, "store session");
}

int pg_session_find(struct store *s, const char *hash, int64_t now, struct session *ret)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_text(&p, hash);
	pgp_i64(&p, now);
	int rc = pg_run(s, -1,
			"SELECT hash, user_id, csrf, created_on, expires_on FROM sessions"
			" WHERE hash = $1 AND expires_on > $2",
			&p, &r, "read session");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found) {
		ret->hash = pg_text(r, 0, 0);
		ret->user_id = pg_i64(r, 0, 1);
		ret->csrf = pg_text(r, 0, 2);
		ret->created_on = pg_i64(r, 0, 3);
		ret->expires_on = pg_i64(r, 0, 4);
	}
	PQclear(r);
	return found ? 0 : AE_NOTFOUND;
}

int pg_session_delete(struct store *s, const char *hash)
{
	struct pgp p = {0};
	pgp_text(&p, hash);
	return pg_change(s, "DELETE FROM sessions WHERE hash = $1", &p, NULL, "delete session");
}

int pg_jobs_cleanup(struct store *s, int status, int64_t before_ms, int limit, int64_t *ret_n)
{
	struct pgp p = {0};
	pgp_i64(&p, status);
	pgp_i64(&p, before_ms);
	pgp_i64(&p, limit);
	return pg_change(s,
			 "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 3"
			 " AND status = $1 AND completed_on < $2 LIMIT $3)",
			 &p, ret_n, "clean up jobs");
}

int pg_audit_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n)
{
	struct pgp p = {0};
	pgp_i64(&p, before_ms);
	pgp_i64(&p, limit);
	return pg_change(
	    s, "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 LIMIT $2)", &p,
	    ret_n, "clean up audit");
}

/* ---- safe deletes ---- */

const char *pg_owner_table(enum store_owner owner)
{
	return owner == STORE_STEP ? "steps" : "assemblies";
}

const char *pg_owner_column(enum store_owner owner)
{
	return owner == STORE_STEP ? "step_id" : "assembly_id";
}

int pg_set_draining(struct store *s, enum store_owner owner, int64_t id, int64_t deadline)
{
	char sql[128];
	struct pgp p = {0};
	snprintf(sql, sizeof(sql), "UPDATE %s SET draining = 1, drain_deadline = $2 WHERE id = $1",
		 pg_owner_table(owner));
	pgp_i64(&p, id);
	pgp_i64_or_null(&p, deadline > 0 ? deadline : 0);
	return change_one(s, sql, &p, "mark draining");
}

int pg_row_state(struct store *s, enum store_owner owner, int64_t id, bool *ret_exists,
		 bool *ret_draining)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_i64(&p, id);
	int rc = pg_run(s, owner == STORE_STEP ? PG_ROW_STATE_STEP : PG_ROW_STATE_ASSEMBLY, NULL,
			&p, &r, "read state");
	if (rc < 0)
		return rc;
	*ret_exists = PQntuples(r) > 0;
	*ret_draining = *ret_exists && pg_i64(r, 0, 0) != 0;
	PQclear(r);
	return 0;
}

int pg_assembly_delete(struct store *s, int64_t id)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	return change_one(s, "DELETE FROM assemblies WHERE id = $1", &p, "delete assembly");
}

static void id_row(const PGresult *r, int row, void *elem)
{
	*(int64_t *)elem = pg_i64(r, row, 0);
}

static int collect_locked(struct store *s, const char *column, int64_t id, int64_t **ret,
			  size_t *ret_n)
{
	char sql[160];
	struct pgp p = {0};
	snprintf(sql, sizeof(sql), "SELECT id FROM jobs WHERE state = 2 AND %s = $1", column);
	pgp_i64(&p, id);
	return pg_rows(s, sql, &p, sizeof(**ret), id_row, (void **)ret, ret_n, "find running jobs");
}

int pg_jobs_cancel_for(struct store *s, enum store_owner owner, int64_t id, int64_t now,
		       const char *error_code, const char *message, int64_t **ret_locked,
		       size_t *ret_n_locked)
{
	char sql[600];
	struct pgp p = {0};
	const char *column = pg_owner_column(owner);
	int rc = collect_locked(s, column, id, ret_locked, ret_n_locked);
	if (rc < 0)
		return rc;
	snprintf(sql, sizeof(sql),
		 "UPDATE jobs SET"
		 " state = CASE state WHEN 2 THEN 2 ELSE 3 END,"
		 " status = CASE state WHEN 2 THEN 22 ELSE 32 END,"
		 " completed_on = CASE state WHEN 2 THEN NULL ELSE $2::bigint END,"
		 " postpone_until = NULL, error_code = $3, message = $4, modified_on = $2"
		 " WHERE state < 3 AND %s = $1",
		 column);
	pgp_i64(&p, id);
	pgp_i64(&p, now);
	pgp_text(&p, error_code);
	pgp_text(&p, message);
	if ((rc = pg_change(s, sql, &p, NULL, "cancel jobs")) == 0)
		return 0;
	free(*ret_locked);
	*ret_locked = NULL;
	return rc;
}

int pg_job_count_host_crash(struct store *s, int64_t id, int64_t attempt, int64_t *ret_crashes)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_i64(&p, id);
	pgp_i64(&p, attempt);
	int rc = pg_run(s, -1,
			"UPDATE jobs SET host_crashes = host_crashes + 1 WHERE id = $1"
			" AND attempt = $2 AND state = 2 AND status <> 22 RETURNING host_crashes",
			&p, &r, "count a host crash");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found)
		*ret_crashes = pg_i64(r, 0, 0);
	PQclear(r);
	return found ? 0 : AE_NOTFOUND;
}

int pg_job_fail_locked(struct store *s, int64_t id, int64_t attempt, int64_t now,
		       const char *error_code, const char *message)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	pgp_i64(&p, attempt);
	pgp_text(&p, error_code);
	pgp_text(&p, message);
	pgp_i64(&p, now);
	return change_one(s,
			  "UPDATE jobs SET state = 3, status = 31, error_code = $3, message = $4,"
			  " postpone_until = NULL, host_id = NULL, lease_expires_on = NULL,"
			  " completed_on = $5, modified_on = $5 WHERE id = $1 AND attempt = $2"
			  " AND state = 2",
			  &p, "fail a job");
}

int pg_job_progress(struct store *s, int64_t id, int64_t attempt, const char *output)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	pgp_i64(&p, attempt);
	pgp_text(&p, output);
	return change_one(
	    s, "UPDATE jobs SET output = $3 WHERE id = $1 AND attempt = $2 AND state = 2", &p,
	    "record job progress");
}

int pg_job_set_recurrence(struct store *s, const struct job *j, int64_t now)
{
	struct pgp p = {0};
	pgp_i64(&p, j->id);
	pgp_text(&p, j->recurrence_pattern);
	pgp_i64_or_null(&p, j->recurrence_start_time);
	pgp_text(&p, j->recurrence_timezone);
	pgp_i64_or_null(&p, j->postpone_until);
	pgp_i64(&p, now);
	return change_one(
	    s,
	    "UPDATE jobs SET recurrence_pattern = $2, recurrence_start_time = $3,"
	    " recurrence_timezone = $4, postpone_until = CASE state WHEN 1 THEN $5::bigint"
	    " ELSE postpone_until END, modified_on = $6 WHERE id = $1",
	    &p, "change job schedule");
}

int pg_attempts_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n)
{
	struct pgp p = {0};
	pgp_i64(&p, before_ms);
	pgp_i64(&p, limit);
	return pg_change(s,
			 "DELETE FROM job_attempts WHERE (job_id, slot) IN (SELECT job_id, slot"
			 " FROM job_attempts WHERE ended_on < $1 LIMIT $2)",
			 &p, ret_n, "clean up attempt history");
}

int pg_stats_hourly_collect(struct store *s, int64_t from_ms, int64_t to_ms)
{
	struct pgp p = {0};
	pgp_i64(&p, from_ms);
	pgp_i64(&p, to_ms);
	int rc = pg_change(s, "DELETE FROM job_stats_hourly WHERE hour >= $1 AND hour < $2", &p,
			   NULL, "clear hourly statistics");
	if (rc < 0)
		return rc;
	return pg_change(s,
			 "INSERT INTO job_stats_hourly(hour, plugin_type, status, count)"
			 " SELECT completed_on / 3600000 * 3600000, plugin_type, status, count(*)"
			 " FROM jobs WHERE state = 3 AND status IN (30, 31, 32)"
			 " AND completed_on >= $1 AND completed_on < $2 GROUP BY 1, 2, 3",
			 &p, NULL, "collect hourly statistics");
}

static void stats_row(const PGresult *r, int row, void *elem)
{
	struct stats_hour *v = elem;
	v->hour = pg_i64(r, row, 0);
	snprintf(v->plugin_type, sizeof(v->plugin_type), "%s", PQgetvalue(r, row, 1));
	v->status = (int)pg_i64(r, row, 2);
	v->count = pg_i64(r, row, 3);
}

int pg_stats_hourly_list(struct store *s, int64_t since_ms, struct stats_hour **ret, size_t *ret_n)
{
	struct pgp p = {0};
	pgp_i64(&p, since_ms);
	return pg_rows(s,
		       "SELECT hour, plugin_type, status, count FROM job_stats_hourly"
		       " WHERE hour >= $1 ORDER BY hour, plugin_type, status LIMIT 100000",
		       &p, sizeof(**ret), stats_row, (void **)ret, ret_n, "read hourly statistics");
}
