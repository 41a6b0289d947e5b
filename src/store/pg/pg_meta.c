/* The PostgreSQL backend's metadata: assemblies and their types, steps, settings, users, tokens
 * and audit (none of it on the hot path, so statements are sent with their parameters per call),
 * and the ops table that exposes the backend to store.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/pg/pg_int.h"

/* Rows of sql (with p) in *ret; the caller PQclear()s it. */
static int query(struct store *s, const char *sql, const struct pgp *p, PGresult **ret,
		 const char *what)
{
	return pg_run(s, -1, sql, p, ret, what);
}

/* Run sql: AE_NOTFOUND when it changed no row. */
static int change_one(struct store *s, const char *sql, const struct pgp *p, const char *what)
{
	int64_t n = 0;
	int rc = pg_change(s, sql, p, &n, what);
	return rc < 0 ? rc : n > 0 ? 0 : AE_NOTFOUND;
}

/* The id a RETURNING id statement gave. */
static int insert_id(struct store *s, const char *sql, const struct pgp *p, int64_t *ret_id,
		     const char *what)
{
	PGresult *r;
	int rc = query(s, sql, p, &r, what);
	if (rc < 0)
		return rc;
	*ret_id = PQntuples(r) ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

/* ---- assemblies ---- */

#define ASM_COLUMNS                                                                                \
	"id, name, version, description, isolation, sha256, size, created_on, modified_on, "       \
	"draining, drain_deadline"

static void read_assembly(const PGresult *r, int row, struct assembly *a)
{
	memset(a, 0, sizeof(*a));
	a->id = pg_i64(r, row, 0);
	a->name = pg_text(r, row, 1);
	a->version = pg_text(r, row, 2);
	a->description = pg_text(r, row, 3);
	a->isolation = (int)pg_i64(r, row, 4);
	a->sha256 = pg_text(r, row, 5);
	a->size = pg_i64(r, row, 6);
	a->created_on = pg_i64(r, row, 7);
	a->modified_on = pg_i64(r, row, 8);
	a->draining = pg_i64(r, row, 9) != 0;
	a->drain_deadline = pg_i64(r, row, 10);
}

static int load_types(struct store *s, struct assembly *a)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_i64(&p, a->id);
	int rc = query(s, "SELECT name FROM plugin_types WHERE assembly_id = $1 ORDER BY name", &p,
		       &r, "read plug-in types");
	if (rc < 0)
		return rc;
	int n = PQntuples(r);
	a->types = calloc((size_t)n + 1, sizeof(*a->types));
	if (!a->types) {
		PQclear(r);
		return AE_NOMEM;
	}
	for (int i = 0; i < n; i++)
		a->types[a->n_types++] = pg_text(r, i, 0);
	PQclear(r);
	return 0;
}

static int replace_types(struct store *s, const struct assembly *a)
{
	struct pgp p = {0};
	pgp_i64(&p, a->id);
	int rc = pg_change(s, "DELETE FROM plugin_types WHERE assembly_id = $1", &p, NULL,
			   "replace plug-in types");
	for (size_t i = 0; rc == 0 && i < a->n_types; i++) {
		struct pgp q = {0};
		pgp_i64(&q, a->id);
		pgp_text(&q, a->types[i]);
		rc = pg_change(s, "INSERT INTO plugin_types(assembly_id, name) VALUES ($1, $2)", &q,
			       NULL, "insert plug-in type");
	}
	return rc;
}

static int pg_assembly_insert(struct store *s, struct assembly *a, const void *bytes, size_t n)
{
	struct pgp p = {0};
	pgp_text(&p, a->name);
	pgp_text(&p, a->version);
	pgp_text(&p, a->description);
	pgp_i64(&p, a->isolation);
	pgp_text(&p, a->sha256);
	pgp_i64(&p, (int64_t)n);
	pgp_blob(&p, bytes, n);
	pgp_i64(&p, a->modified_on);
	int rc;
	if (a->id) {
		pgp_i64(&p, a->id);
		rc = pg_change(
		    s,
		    "UPDATE assemblies SET name = $1, version = $2, description = $3,"
		    " isolation = $4, sha256 = $5, size = $6, bytes = $7, modified_on = $8"
		    " WHERE id = $9",
		    &p, NULL, "store assembly");
	} else {
		rc = insert_id(
		    s,
		    "INSERT INTO assemblies(name, version, description, isolation, sha256,"
		    " size, bytes, modified_on, created_on) VALUES ($1, $2, $3, $4, $5, $6,"
		    " $7, $8, $8) RETURNING id",
		    &p, &a->id, "store assembly");
	}
	if (rc < 0)
		return rc;
	a->size = (int64_t)n;
	return replace_types(s, a);
}

static int pg_assembly_set_isolation(struct store *s, int64_t id, int isolation, int64_t now)
{
	struct pgp p = {0};
	pgp_i64(&p, isolation);
	pgp_i64(&p, now);
	pgp_i64(&p, id);
	return change_one(s, "UPDATE assemblies SET isolation = $1, modified_on = $2 WHERE id = $3",
			  &p, "change assembly isolation");
}

static int get_assembly_where(struct store *s, const char *where, int64_t id, const char *text,
			      struct assembly *ret)
{
	char sql[256];
	struct pgp p = {0};
	PGresult *r;
	snprintf(sql, sizeof(sql), "SELECT " ASM_COLUMNS " FROM assemblies WHERE %s", where);
	if (text)
		pgp_text(&p, text);
	else
		pgp_i64(&p, id);
	int rc = query(s, sql, &p, &r, "read assembly");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found)
		read_assembly(r, 0, ret);
	PQclear(r);
	return found ? load_types(s, ret) : AE_NOTFOUND;
}

static int pg_assembly_get(struct store *s, int64_t id, struct assembly *ret)
{
	return get_assembly_where(s, "id = $1", id, NULL, ret);
}

static int pg_assembly_find_sha(struct store *s, const char *sha256, struct assembly *ret)
{
	return get_assembly_where(s, "sha256 = $1", 0, sha256, ret);
}

static int bytes_once(struct store *s, const struct pgp *p, PGresult **ret)
{
	pg_revive(s);
	PGresult *r = PQexecParams(s->conn, "SELECT bytes FROM assemblies WHERE sha256 = $1", 1,
				   NULL, p->v, NULL, NULL, 1 /* binary */);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = pg_fail(s, r, "read assembly bytes");
		PQclear(r);
		return rc;
	}
	store_note_reachable(true);
	*ret = r;
	return 0;
}

static int pg_assembly_bytes(struct store *s, const char *sha256, void **ret_bytes, size_t *ret_n)
{
	struct pgp p = {0};
	pgp_text(&p, sha256);
	PGresult *r = NULL;
	/* like pg_run: a connection found broken (the server restarted since its last use) is
	 * opened again and the read tried once more (the bytes come in binary, which pg_run does
	 * not ask for) */
	int rc = bytes_once(s, &p, &r);
	if (rc == AE_UNAVAILABLE && PQstatus(s->conn) != CONNECTION_OK)
		rc = bytes_once(s, &p, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return AE_NOTFOUND;
	}
	size_t n = (size_t)PQgetlength(r, 0, 0);
	void *b = malloc(n ? n : 1);
	if (b && n)
		memcpy(b, PQgetvalue(r, 0, 0), n);
	PQclear(r);
	if (!b)
		return AE_NOMEM;
	*ret_bytes = b;
	*ret_n = n;
	return 0;
}

static void assembly_row(const PGresult *r, int row, void *elem)
{
	read_assembly(r, row, elem);
}

static int pg_assemblies_list(struct store *s, struct assembly **ret, size_t *ret_n)
{
	struct assembly *v;
	size_t n;
	int rc = pg_rows(s, "SELECT " ASM_COLUMNS " FROM assemblies ORDER BY name, id", NULL,
			 sizeof(*v), assembly_row, (void **)&v, &n, "list assemblies");
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = load_types(s, &v[i])) < 0) {
			assembly_array_free(v, n);
			return rc;
		}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- steps ---- */

#define STEP_COLUMNS                                                                               \
	"id, name, plugin_type, assembly_id, message, entity, stage, rank, filtering_attributes,"  \
	" configuration, secure_configuration, impersonating_user, images, async_auto_delete,"     \
	" enabled, created_on, modified_on, draining, drain_deadline"

static void read_step(const PGresult *r, int row, struct step *p)
{
	memset(p, 0, sizeof(*p));
	p->id = pg_i64(r, row, 0);
	p->name = pg_text(r, row, 1);
	p->plugin_type = pg_text(r, row, 2);
	p->assembly_id = pg_i64(r, row, 3);
	p->message = pg_text(r, row, 4);
	p->entity = pg_text(r, row, 5);
	p->stage = (int)pg_i64(r, row, 6);
	p->rank = (int)pg_i64(r, row, 7);
	p->filtering_attributes = pg_text(r, row, 8);
	p->configuration = pg_text(r, row, 9);
	p->secure_configuration = pg_text(r, row, 10);
	p->impersonating_user = pg_text(r, row, 11);
	p->images = pg_text(r, row, 12);
	p->async_auto_delete = pg_i64(r, row, 13) != 0;
	p->enabled = pg_i64(r, row, 14) != 0;
	p->created_on = pg_i64(r, row, 15);
	p->modified_on = pg_i64(r, row, 16);
	p->draining = pg_i64(r, row, 17) != 0;
	p->drain_deadline = pg_i64(r, row, 18);
}

static int pg_step_insert(struct store *s, struct step *st)
{
	struct pgp p = {0};
	pgp_text(&p, st->name);
	pgp_text(&p, st->plugin_type);
	pgp_i64(&p, st->assembly_id);
	pgp_text(&p, st->message);
	pgp_text(&p, st->entity);
	pgp_i64(&p, st->stage);
	pgp_i64(&p, st->rank);
	pgp_text(&p, st->filtering_attributes);
	pgp_text(&p, st->configuration);
	pgp_text(&p, st->secure_configuration);
	pgp_text(&p, st->impersonating_user);
	pgp_text(&p, st->images);
	pgp_i64(&p, st->async_auto_delete);
	pgp_i64(&p, st->enabled);
	pgp_i64(&p, st->created_on);
	return insert_id(s,
			 "INSERT INTO steps(name, plugin_type, assembly_id, message, entity, stage,"
			 " rank, filtering_attributes, configuration, secure_configuration,"
			 " impersonating_user, images, async_auto_delete, enabled, created_on,"
			 " modified_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
			 " $13, $14, $15, $15) RETURNING id",
			 &p, &st->id, "insert step");
}

static int pg_step_set_enabled(struct store *s, int64_t id, bool enabled, int64_t now)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	pgp_i64(&p, enabled);
	pgp_i64(&p, now);
	return change_one(s, "UPDATE steps SET enabled = $2, modified_on = $3 WHERE id = $1", &p,
			  "update step");
}

static int pg_step_update(struct store *s, const struct step *st)
{
	struct pgp p = {0};
	pgp_i64(&p, st->id);
	pgp_text(&p, st->name);
	pgp_text(&p, st->message);
	pgp_text(&p, st->entity);
	pgp_i64(&p, st->rank);
	pgp_text(&p, st->filtering_attributes);
	pgp_text(&p, st->configuration);
	pgp_text(&p, st->secure_configuration);
	pgp_text(&p, st->impersonating_user);
	pgp_text(&p, st->images);
	pgp_i64(&p, st->async_auto_delete);
	pgp_i64(&p, st->enabled);
	pgp_i64(&p, st->modified_on);
	return change_one(
	    s,
	    "UPDATE steps SET name = $2, message = $3, entity = $4, rank = $5,"
	    " filtering_attributes = $6, configuration = $7, secure_configuration = $8,"
	    " impersonating_user = $9, images = $10, async_auto_delete = $11,"
	    " enabled = $12, modified_on = $13 WHERE id = $1",
	    &p, "update step");
}

static int pg_step_delete(struct store *s, int64_t id)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	return change_one(s, "DELETE FROM steps WHERE id = $1", &p, "delete step");
}

static void step_row(const PGresult *r, int row, void *elem)
{
	read_step(r, row, elem);
}

static int pg_steps_list(struct store *s, struct step **ret, size_t *ret_n)
{
	return pg_rows(s, "SELECT " STEP_COLUMNS " FROM steps ORDER BY rank, id", NULL,
		       sizeof(**ret), step_row, (void **)ret, ret_n, "list steps");
}

/* ---- settings ---- */

static void setting_row(const PGresult *r, int row, void *elem)
{
	struct setting_row *v = elem;
	v->key = pg_text(r, row, 0);
	v->value = pg_text(r, row, 1);
}

static int pg_settings_list(struct store *s, struct setting_row **ret, size_t *ret_n)
{
	return pg_rows(s, "SELECT key, value FROM settings ORDER BY key", NULL, sizeof(**ret),
		       setting_row, (void **)ret, ret_n, "list settings");
}

static int pg_setting_put(struct store *s, const char *key, const char *value)
{
	struct pgp p = {0};
	pgp_text(&p, key);
	pgp_text(&p, value);
	s->notify_settings = true; /* every host applies it (peers.c) */
	return pg_change(s,
			 "INSERT INTO settings(key, value) VALUES ($1, $2)"
			 " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			 &p, NULL, "store setting");
}

/* ---- users and tokens ---- */

static int pg_user_insert(struct store *s, struct user *u)
{
	struct pgp p = {0};
	pgp_text(&p, u->name);
	pgp_i64(&p, u->roles);
	pgp_text(&p, u->password_hash);
	pgp_i64(&p, u->created_on);
	return insert_id(s,
			 "INSERT INTO users(name, roles, password_hash, created_on)"
			 " VALUES ($1, $2, $3, $4) RETURNING id",
			 &p, &u->id, "insert user");
}

static int user_where(struct store *s, const char *where, int64_t id, const char *name,
		      struct user *ret)
{
	char sql[160];
	struct pgp p = {0};
	PGresult *r;
	snprintf(sql, sizeof(sql),
		 "SELECT id, name, roles, password_hash, created_on FROM users WHERE %s", where);
	if (name)
		pgp_text(&p, name);
	else
		pgp_i64(&p, id);
	int rc = query(s, sql, &p, &r, "read user");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found) {
		memset(ret, 0, sizeof(*ret));
		ret->id = pg_i64(r, 0, 0);
		ret->name = pg_text(r, 0, 1);
		ret->roles = (unsigned)pg_i64(r, 0, 2);
		ret->password_hash = pg_text(r, 0, 3);
		ret->created_on = pg_i64(r, 0, 4);
	}
	PQclear(r);
	return found ? 0 : AE_NOTFOUND;
}

static int pg_user_find(struct store *s, const char *name, struct user *ret)
{
	return user_where(s, "name = $1", 0, name, ret);
}

static int pg_user_get(struct store *s, int64_t id, struct user *ret)
{
	return user_where(s, "id = $1", id, NULL, ret);
}

static int pg_token_insert(struct store *s, struct token *t)
{
	struct pgp p = {0};
	pgp_i64(&p, t->user_id);
	pgp_text(&p, t->name);
	pgp_text(&p, t->hash);
	pgp_i64(&p, t->created_on);
	return insert_id(s,
			 "INSERT INTO tokens(user_id, name, hash, created_on)"
			 " VALUES ($1, $2, $3, $4) RETURNING id",
			 &p, &t->id, "insert token");
}

static int pg_token_find(struct store *s, const char *hash, struct token *ret)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_text(&p, hash);
	int rc = query(s,
		       "SELECT id, user_id, name, hash, created_on, revoked_on FROM tokens"
		       " WHERE hash = $1",
		       &p, &r, "read token");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found) {
		memset(ret, 0, sizeof(*ret));
		ret->id = pg_i64(r, 0, 0);
		ret->user_id = pg_i64(r, 0, 1);
		ret->name = pg_text(r, 0, 2);
		ret->hash = pg_text(r, 0, 3);
		ret->created_on = pg_i64(r, 0, 4);
		ret->revoked_on = pg_i64(r, 0, 5);
	}
	PQclear(r);
	return found ? 0 : AE_NOTFOUND;
}

static int pg_token_revoke(struct store *s, int64_t id, int64_t now)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	pgp_i64(&p, now);
	return change_one(s,
			  "UPDATE tokens SET revoked_on = $2 WHERE id = $1 AND revoked_on IS NULL",
			  &p, "revoke token");
}

/* ---- audit ---- */

static int pg_audit_insert(struct store *s, struct audit_entry *e)
{
	struct pgp p = {0};
	pgp_i64(&p, e->at);
	pgp_text(&p, e->user);
	pgp_text(&p, e->remote);
	pgp_text(&p, e->action);
	pgp_text(&p, e->target);
	pgp_text(&p, e->result);
	pgp_text(&p, e->detail);
	return insert_id(s,
			 "INSERT INTO audit(at, user_name, remote, action, target, result, detail)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
			 &p, &e->id, "insert audit entry");
}

static int pg_audit_list(struct store *s, int64_t before_id, int limit, struct audit_entry **ret,
			 size_t *ret_n)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_i64(&p, before_id > 0 ? before_id : INT64_MAX);
	pgp_i64(&p, limit);
	int rc = query(s,
		       "SELECT id, at, user_name, remote, action, target, result, detail FROM audit"
		       " WHERE id < $1 ORDER BY id DESC LIMIT $2",
		       &p, &r, "list audit");
	if (rc < 0)
		return rc;
	size_t n = (size_t)PQntuples(r);
	struct audit_entry *v = calloc((size_t)limit + 1, sizeof(*v));
	if (!v) {
		PQclear(r);
		return AE_NOMEM;
	}
	for (size_t i = 0; i < n && i < (size_t)limit; i++) {
		int row = (int)i;
		v[i].id = pg_i64(r, row, 0);
		v[i].at = pg_i64(r, row, 1);
		v[i].user = pg_text(r, row, 2);
		v[i].remote = pg_text(r, row, 3);
		v[i].action = pg_text(r, row, 4);
		v[i].target = pg_text(r, row, 5);
		v[i].result = pg_text(r, row, 6);
		v[i].detail = pg_text(r, row, 7);
	}
	PQclear(r);
	*ret = v;
	*ret_n = n < (size_t)limit ? n : (size_t)limit;
	return 0;
}

const struct store_ops pg_store_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .migrate = pg_migrate,
    .last_error = pg_last_error,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .rollback_to = pg_rollback_to,
    .jobs_insert = pg_jobs_insert,
    .jobs_claim = pg_jobs_claim,
    .jobs_started = pg_jobs_started,
    .jobs_complete = pg_jobs_complete,
    .jobs_release = pg_jobs_release,
    .jobs_release_all_locked = pg_jobs_release_all_locked,
    .jobs_promote_due = pg_jobs_promote_due,
    .jobs_next_due = pg_jobs_next_due,
    .job_get = pg_job_get,
    .job_find_idempotent = pg_job_find_idempotent,
    .job_update = pg_job_update,
    .job_delete = pg_job_delete,
    .jobs_list = pg_jobs_list,
    .jobs_stats = pg_jobs_stats,
    .jobs_count_unfinished = pg_jobs_count_unfinished,
    .assembly_insert = pg_assembly_insert,
    .assembly_get = pg_assembly_get,
    .assembly_find_sha = pg_assembly_find_sha,
    .assembly_bytes = pg_assembly_bytes,
    .assemblies_list = pg_assemblies_list,
    .step_insert = pg_step_insert,
    .step_set_enabled = pg_step_set_enabled,
    .step_update = pg_step_update,
    .step_delete = pg_step_delete,
    .steps_list = pg_steps_list,
    .settings_list = pg_settings_list,
    .setting_put = pg_setting_put,
    .user_insert = pg_user_insert,
    .user_find = pg_user_find,
    .user_get = pg_user_get,
    .token_insert = pg_token_insert,
    .token_find = pg_token_find,
    .token_revoke = pg_token_revoke,
    .audit_insert = pg_audit_insert,
    .audit_list = pg_audit_list,
    .set_synchronous = pg_set_synchronous,
    .service_configs = pg_service_configs,
    .service_config_put = pg_service_config_put,
    .users_list = pg_users_list,
    .user_delete = pg_user_delete,
    .tokens_list = pg_tokens_list,
    .session_insert = pg_session_insert,
    .session_find = pg_session_find,
    .session_delete = pg_session_delete,
    .jobs_cleanup = pg_jobs_cleanup,
    .audit_cleanup = pg_audit_cleanup,
    .set_draining = pg_set_draining,
    .row_state = pg_row_state,
    .assembly_delete = pg_assembly_delete,
    .jobs_cancel_for = pg_jobs_cancel_for,
    .job_count_host_crash = pg_job_count_host_crash,
    .job_fail_locked = pg_job_fail_locked,
    .job_attempts = pg_job_attempts,
    .assembly_set_isolation = pg_assembly_set_isolation,
    .host_put = pg_host_put,
    .hosts_list = pg_hosts_list,
    .jobs_rescue = pg_jobs_rescue,
    .listen_wait = pg_listen_wait,
    .job_progress = pg_job_progress,
    .job_set_recurrence = pg_job_set_recurrence,
    .attempts_cleanup = pg_attempts_cleanup,
    .stats_hourly_collect = pg_stats_hourly_collect,
    .stats_hourly_list = pg_stats_hourly_list,
    .command_put = pg_command_put,
    .commands_pending = pg_commands_pending,
    .command_done = pg_command_done,
    .command_get = pg_command_get,
    .jobs_watch = pg_jobs_watch,
    .jobs_ready_heads = pg_jobs_ready_heads,
    .jobs_counts_refresh = pg_jobs_counts_refresh,
};
