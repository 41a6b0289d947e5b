/* The SQLite backend's administration rows: services' startup types, users and tokens lists,
 * console sessions, and the bounded cleanup of completed jobs and old audit entries. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "store/sqlite_int.h"

static int prep(struct store *s, const char *sql, sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, ret, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	return 0;
}

static int finish(struct store *s, sqlite3_stmt *st, int rc, const char *what)
{
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, what);
}

/* Grow *v (of elem bytes) to hold n + 1 elements. */
static void *grow(void *v, size_t n, size_t elem)
{
	return realloc(v, (n + 1) * elem);
}

int sq_service_configs(struct store *s, const char *host_id, struct service_config **ret,
		       size_t *ret_n)
{
	sqlite3_stmt *st;
	struct service_config *v = NULL;
	size_t n = 0;
	int rc = prep(
	    s, "SELECT name, startup_type, recovery_delay_s FROM services WHERE host_id = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, host_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct service_config *g = grow(v, n, sizeof(*v));
		if (!g)
			break;
		v = g;
		v[n].name = sq_col_text(st, 0);
		v[n].startup_type = sqlite3_column_int(st, 1);
		v[n++].recovery_delay_s = sqlite3_column_int(st, 2);
	}
	if ((rc = finish(s, st, rc, "read services")) < 0) {
		service_configs_free(v, n);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sq_service_config_put(struct store *s, const char *host_id, const struct service_config *c)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "INSERT INTO services(host_id, name, startup_type, recovery_delay_s)"
		      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(host_id, name) DO UPDATE SET"
		      " startup_type = excluded.startup_type,"
		      " recovery_delay_s = excluded.recovery_delay_s",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, host_id);
	sq_bind_text(st, 2, c->name);
	sq_bind_i64(st, 3, c->startup_type);
	sq_bind_i64(st, 4, c->recovery_delay_s);
	return finish(s, st, sqlite3_step(st), "store service");
}

int sq_users_list(struct store *s, struct user **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct user *v = NULL;
	size_t n = 0;
	int rc = prep(s, "SELECT id, name, roles, created_on FROM users ORDER BY id", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct user *g = grow(v, n, sizeof(*v));
		if (!g)
			break;
		v = g;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].name = sq_col_text(st, 1);
		v[n].roles = (unsigned)sqlite3_column_int(st, 2);
		v[n++].created_on = sqlite3_column_int64(st, 3);
	}
	if ((rc = finish(s, st, rc, "list users")) < 0) {
		users_free(v, n);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sq_user_delete(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int rc = prep(
	    s, "UPDATE tokens SET revoked_on = coalesce(revoked_on, 1) WHERE user_id = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	if ((rc = finish(s, st, sqlite3_step(st), "revoke tokens")) < 0)
		return rc;
	if ((rc = prep(s, "DELETE FROM sessions WHERE user_id = ?1", &st)) < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	if ((rc = finish(s, st, sqlite3_step(st), "end sessions")) < 0)
		return rc;
	/* the row stays (tokens and the audit log refer to it); its roles are taken away */
	if ((rc = prep(s, "UPDATE users SET roles = 0, password_hash = NULL WHERE id = ?1", &st)) <
	    0)
		return rc;
	sq_bind_i64(st, 1, id);
	if ((rc = finish(s, st, sqlite3_step(st), "delete user")) < 0)
		return rc;
	return sqlite3_changes(s->db) ? 0 : AE_NOTFOUND;
}

int sq_tokens_list(struct store *s, struct token **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct token *v = NULL;
	size_t n = 0;
	int rc = prep(s, "SELECT id, user_id, name, created_on, revoked_on FROM tokens ORDER BY id",
		      &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct token *g = grow(v, n, sizeof(*v));
		if (!g)
			break;
		v = g;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].user_id = sqlite3_column_int64(st, 1);
		v[n].name = sq_col_text(st, 2);
		v[n].created_on = sqlite3_column_int64(st, 3);
		v[n++].revoked_on = sqlite3_column_int64(st, 4);
	}
	if ((rc = finish(s, st, rc, "list tokens")) < 0) {
		tokens_free(v, n);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sq_session_insert(struct store *s, const struct session *se)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "INSERT INTO sessions(hash, user_id, csrf, created_on, expires_on)"
		      " VALUES (?1, ?2, ?3, ?4, ?5)",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, se->hash);
	sq_bind_i64(st, 2, se->user_id);
	sq_bind_text(st, 3, se->csrf);
	sq_bind_i64(st, 4, se->created_on);
	sq_bind_i64(st, 5, se->expires_on);
	return finish(s, st, sqlite3_step(st), "store session");
}

int sq_session_find(struct store *s, const char *hash, int64_t now, struct session *ret)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "SELECT hash, user_id, csrf, created_on, expires_on FROM sessions"
		      " WHERE hash = ?1 AND expires_on > ?2",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, hash);
	sq_bind_i64(st, 2, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret->hash = sq_col_text(st, 0);
		ret->user_id = sqlite3_column_int64(st, 1);
		ret->csrf = sq_col_text(st, 2);
		ret->created_on = sqlite3_column_int64(st, 3);
		ret->expires_on = sqlite3_column_int64(st, 4);
		sqlite3_finalize(st);
		return 0;
	}
	rc = finish(s, st, rc, "read session");
	return rc < 0 ? rc : AE_NOTFOUND;
}

int sq_session_delete(struct store *s, const char *hash)
{
	sqlite3_stmt *st;
	int rc = prep(s, "DELETE FROM sessions WHERE hash = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, hash);
	return finish(s, st, sqlite3_step(st), "delete session");
}

int sq_jobs_cleanup(struct store *s, int status, int64_t before_ms, int limit, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 3"
		      " AND status = ?1 AND completed_on < ?2 LIMIT ?3) RETURNING plugin_type",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, status);
	sq_bind_i64(st, 2, before_ms);
	sq_bind_i64(st, 3, limit);
	int step;
	int64_t n = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		sq_count(s, (const char *)sqlite3_column_text(st, 0), status, -1);
		n++;
	}
	if ((rc = finish(s, st, step, "clean up jobs")) < 0)
		return rc;
	*ret_n = n;
	return 0;
}

int sq_audit_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = prep(
	    s, "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1 LIMIT ?2)", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, before_ms);
	sq_bind_i64(st, 2, limit);
	if ((rc = finish(s, st, sqlite3_step(st), "clean up audit")) < 0)
		return rc;
	*ret_n = sqlite3_changes(s->db);
	return 0;
}

int sq_attempts_cleanup(struct store *s, int64_t before_ms, int limit, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "DELETE FROM job_attempts WHERE (job_id, slot) IN (SELECT job_id, slot"
		      " FROM job_attempts WHERE ended_on < ?1 LIMIT ?2)",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, before_ms);
	sq_bind_i64(st, 2, limit);
	if ((rc = finish(s, st, sqlite3_step(st), "clean up attempt history")) < 0)
		return rc;
	*ret_n = sqlite3_changes(s->db);
	return 0;
}

int sq_job_progress(struct store *s, int64_t id, int64_t attempt, const char *output)
{
	sqlite3_stmt *st;
	int rc = prep(s, "UPDATE jobs SET output = ?3 WHERE id = ?1 AND attempt = ?2 AND state = 2",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	sq_bind_i64(st, 2, attempt);
	sq_bind_text(st, 3, output);
	if ((rc = finish(s, st, sqlite3_step(st), "record job progress")) < 0)
		return rc;
	return sqlite3_changes(s->db) > 0 ? 0 : AE_NOTFOUND;
}

int sq_job_set_recurrence(struct store *s, const struct job *j, int64_t now)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "UPDATE jobs SET recurrence_pattern = ?2, recurrence_start_time = ?3,"
		      " recurrence_timezone = ?4, postpone_until = CASE state WHEN 1 THEN ?5"
		      " ELSE postpone_until END, modified_on = ?6 WHERE id = ?1",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, j->id);
	sq_bind_text(st, 2, j->recurrence_pattern);
	sq_bind_i64_or_null(st, 3, j->recurrence_start_time);
	sq_bind_text(st, 4, j->recurrence_timezone);
	sq_bind_i64_or_null(st, 5, j->postpone_until);
	sq_bind_i64(st, 6, now);
	if ((rc = finish(s, st, sqlite3_step(st), "change job schedule")) < 0)
		return rc;
	return sqlite3_changes(s->db) > 0 ? 0 : AE_NOTFOUND;
}

int sq_stats_hourly_collect(struct store *s, int64_t from_ms, int64_t to_ms)
{
	sqlite3_stmt *st;
	int rc = prep(s, "DELETE FROM job_stats_hourly WHERE hour >= ?1 AND hour < ?2", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, from_ms);
	sq_bind_i64(st, 2, to_ms);
	if ((rc = finish(s, st, sqlite3_step(st), "clear hourly statistics")) < 0)
		return rc;
	rc = prep(s,
		  "INSERT INTO job_stats_hourly(hour, plugin_type, status, count)"
		  " SELECT completed_on / 3600000 * 3600000, plugin_type, status, count(*)"
		  " FROM jobs INDEXED BY jobs_completed WHERE state = 3 AND status IN (30, 31, 32)"
		  " AND completed_on >= ?1 AND completed_on < ?2 GROUP BY 1, 2, 3",
		  &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, from_ms);
	sq_bind_i64(st, 2, to_ms);
	return finish(s, st, sqlite3_step(st), "collect hourly statistics");
}

int sq_stats_hourly_list(struct store *s, int64_t since_ms, struct stats_hour **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct stats_hour *v = NULL;
	size_t n = 0;
	int rc = prep(s,
		      "SELECT hour, plugin_type, status, count FROM job_stats_hourly"
		      " WHERE hour >= ?1 ORDER BY hour, plugin_type, status LIMIT 100000",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct stats_hour *w = grow(v, n, sizeof(*v));
		if (!w) {
			sqlite3_finalize(st);
			free(v);
			return AE_NOMEM;
		}
		v = w;
		v[n].hour = sqlite3_column_int64(st, 0);
		snprintf(v[n].plugin_type, sizeof(v[n].plugin_type), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		v[n].status = sqlite3_column_int(st, 2);
		v[n].count = sqlite3_column_int64(st, 3);
		n++;
	}
	if ((rc = finish(s, st, rc, "read hourly statistics")) < 0) {
		free(v);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- safe deletes ---- */

const char *sq_owner_table(enum store_owner owner)
{
	return owner == STORE_STEP ? "steps" : "assemblies";
}

const char *sq_owner_column(enum store_owner owner)
{
	return owner == STORE_STEP ? "step_id" : "assembly_id";
}

int sq_set_draining(struct store *s, enum store_owner owner, int64_t id, int64_t deadline)
{
	char sql[128];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "UPDATE %s SET draining = 1, drain_deadline = ?2 WHERE id = ?1",
		 sq_owner_table(owner));
	int rc = prep(s, sql, &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	if (deadline > 0)
		sq_bind_i64(st, 2, deadline);
	if ((rc = finish(s, st, sqlite3_step(st), "mark draining")) < 0)
		return rc;
	return sqlite3_changes(s->db) ? 0 : AE_NOTFOUND;
}

int sq_row_state(struct store *s, enum store_owner owner, int64_t id, bool *ret_exists,
		 bool *ret_draining)
{
	/* cached: asked for every group of new jobs */
	sqlite3_stmt *st = sq_stmt(s, owner == STORE_STEP ? SQ_STEP_STATE : SQ_ASSEMBLY_STATE);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, id);
	int rc = sqlite3_step(st);
	bool draining = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s, "read state");
	*ret_exists = rc == SQLITE_ROW;
	*ret_draining = draining;
	return 0;
}

int sq_assembly_delete(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int rc = prep(s, "DELETE FROM assemblies WHERE id = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	if ((rc = finish(s, st, sqlite3_step(st), "delete assembly")) < 0)
		return rc;
	return sqlite3_changes(s->db) ? 0 : AE_NOTFOUND;
}

static int collect_locked(struct store *s, const char *column, int64_t id, int64_t **ret,
			  size_t *ret_n)
{
	char sql[256];
	sqlite3_stmt *st;
	int64_t *v = NULL;
	size_t n = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT id FROM jobs INDEXED BY jobs_active WHERE state IN (1, 2) AND state = 2"
		 " AND %s = ?1",
		 column);
	int rc = prep(s, sql, &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t *g = grow(v, n, sizeof(*v));
		if (!g)
			break;
		v = g;
		v[n++] = sqlite3_column_int64(st, 0);
	}
	if ((rc = finish(s, st, rc, "find running jobs")) < 0) {
		free(v);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The unfinished jobs of an owner (column = ?1): Ready, Suspended and Locked. */
#define UNFINISHED_OF                                                                              \
	"SELECT id FROM jobs INDEXED BY jobs_ready WHERE state = 0 AND %s = ?1"                    \
	" UNION ALL SELECT id FROM jobs INDEXED BY jobs_active WHERE state IN (1, 2)"              \
	" AND %s = ?1"

/* For the job counts: what sq_jobs_cancel_for is about to change, by type and status (Locked
 * ones become Canceling, the others Canceled). */
static int count_canceled(struct store *s, const char *column, int64_t id)
{
	char sql[600];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql),
		 "SELECT plugin_type, CASE WHEN state = 2 AND status = 0 THEN 20 ELSE status END,"
		 " count(*) FROM jobs WHERE id IN (" UNFINISHED_OF ") GROUP BY 1, 2",
		 column, column);
	int rc = prep(s, sql, &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int old = sqlite3_column_int(st, 1);
		int now = old >= 20 && old <= 22 ? 22 : 32;
		for (int64_t n = sqlite3_column_int64(st, 2); n > 0; n--)
			sq_count(s, (const char *)sqlite3_column_text(st, 0), old, now);
	}
	return finish(s, st, rc, "count jobs to cancel");
}

int sq_jobs_cancel_for(struct store *s, enum store_owner owner, int64_t id, int64_t now,
		       const char *error_code, const char *message, int64_t **ret_locked,
		       size_t *ret_n_locked)
{
	char sql[700];
	sqlite3_stmt *st;
	const char *column = sq_owner_column(owner);
	int rc = collect_locked(s, column, id, ret_locked, ret_n_locked);
	if (rc < 0)
		return rc;
	if (sq_watching(s) && (rc = count_canceled(s, column, id)) < 0)
		goto fail;
	snprintf(sql, sizeof(sql),
		 "UPDATE jobs SET"
		 " state = CASE state WHEN 2 THEN 2 ELSE 3 END,"
		 " status = CASE state WHEN 2 THEN 22 ELSE 32 END,"
		 " completed_on = CASE state WHEN 2 THEN NULL ELSE ?2 END,"
		 " postpone_until = NULL, error_code = ?3, message = ?4, modified_on = ?2"
		 " WHERE id IN (" UNFINISHED_OF ")",
		 column, column);
	if ((rc = prep(s, sql, &st)) < 0)
		goto fail;
	sq_bind_i64(st, 1, id);
	sq_bind_i64(st, 2, now);
	sq_bind_text(st, 3, error_code);
	sq_bind_text(st, 4, message);
	if ((rc = finish(s, st, sqlite3_step(st), "cancel jobs")) == 0)
		return 0;
fail:
	free(*ret_locked);
	*ret_locked = NULL;
	return rc;
}

int sq_job_count_host_crash(struct store *s, int64_t id, int64_t attempt, int64_t *ret_crashes)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "UPDATE jobs SET host_crashes = host_crashes + 1 WHERE id = ?1"
		      " AND attempt = ?2 AND state = 2 AND status <> 22 RETURNING host_crashes",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	sq_bind_i64(st, 2, attempt);
	int step = sqlite3_step(st);
	int64_t crashes = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (step == SQLITE_ROW)
		step = sqlite3_step(st);
	if ((rc = finish(s, st, step, "count a host crash")) < 0)
		return rc;
	if (crashes == 0)
		return AE_NOTFOUND;
	*ret_crashes = crashes;
	return 0;
}

int sq_job_fail_locked(struct store *s, int64_t id, int64_t attempt, int64_t now,
		       const char *error_code, const char *message)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "UPDATE jobs SET state = 3, status = 31, error_code = ?3, message = ?4,"
		      " postpone_until = NULL, host_id = NULL, completed_on = ?5, modified_on = ?5"
		      " WHERE id = ?1 AND attempt = ?2 AND state = 2",
		      &st);
	if (rc < 0)
		return rc;
	char type[256] = "";
	int old = -1;
	if (sq_watching(s) && (rc = sq_job_status(s, id, &old, type, sizeof(type))) < 0) {
		sqlite3_finalize(st);
		return rc;
	}
	sq_bind_i64(st, 1, id);
	sq_bind_i64(st, 2, attempt);
	sq_bind_text(st, 3, error_code);
	sq_bind_text(st, 4, message);
	sq_bind_i64(st, 5, now);
	if ((rc = finish(s, st, sqlite3_step(st), "fail a job")) < 0)
		return rc;
	if (!sqlite3_changes(s->db))
		return AE_NOTFOUND;
	sq_count(s, type, old, JOB_ST_FAILED);
	return 0;
}
