/* The SQLite backend's metadata: assemblies and their types, steps, settings, users, tokens,
 * audit and hosts (none of it on the hot path, so statements are prepared per call), and the ops
 * table that exposes the backend to store.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "store/sqlite_int.h"

/* A prepared statement for one call; finalized by the caller. */
static int prep(struct store *s, const char *sql, sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, ret, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	return 0;
}

static int step_once(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(s, what);
	sqlite3_finalize(st);
	return rc;
}

/* ---- assemblies ---- */

#define ASM_COLUMNS                                                                                \
	"id, name, version, description, isolation, sha256, size, created_on, modified_on, "       \
	"draining, drain_deadline"

static void read_assembly(sqlite3_stmt *st, struct assembly *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->name = sq_col_text(st, 1);
	a->version = sq_col_text(st, 2);
	a->description = sq_col_text(st, 3);
	a->isolation = sqlite3_column_int(st, 4);
	a->sha256 = sq_col_text(st, 5);
	a->size = sqlite3_column_int64(st, 6);
	a->created_on = sqlite3_column_int64(st, 7);
	a->modified_on = sqlite3_column_int64(st, 8);
	a->draining = sqlite3_column_int(st, 9) != 0;
	a->drain_deadline = sqlite3_column_int64(st, 10);
}

static int load_types(struct store *s, struct assembly *a)
{
	sqlite3_stmt *st;
	int rc = prep(s, "SELECT name FROM plugin_types WHERE assembly_id = ?1 ORDER BY name", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, a->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **t = realloc(a->types, (a->n_types + 1) * sizeof(*t));
		if (!t) {
			sqlite3_finalize(st);
			return AE_NOMEM;
		}
		a->types = t;
		a->types[a->n_types++] = sq_col_text(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "read plug-in types");
}

static int replace_types(struct store *s, const struct assembly *a)
{
	sqlite3_stmt *st;
	int rc = prep(s, "DELETE FROM plugin_types WHERE assembly_id = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, a->id);
	if ((rc = step_once(s, st, "replace plug-in types")) < 0)
		return rc;
	for (size_t i = 0; i < a->n_types; i++) {
		if ((rc = prep(s, "INSERT INTO plugin_types(assembly_id, name) VALUES (?1, ?2)",
			       &st)) < 0)
			return rc;
		sq_bind_i64(st, 1, a->id);
		sq_bind_text(st, 2, a->types[i]);
		if ((rc = step_once(s, st, "insert plug-in type")) < 0)
			return rc;
	}
	return 0;
}

/* a->id == 0: a new row; otherwise the row a->id is replaced in place (an upgrade). */
static int sq_assembly_insert(struct store *s, struct assembly *a, const void *bytes, size_t n)
{
	sqlite3_stmt *st;
	const char *sql =
	    a->id ? "UPDATE assemblies SET name = ?1, version = ?2, description = ?3,"
		    " isolation = ?4, sha256 = ?5, size = ?6, bytes = ?7, modified_on = ?8"
		    " WHERE id = ?9"
		  : "INSERT INTO assemblies(name, version, description, isolation, sha256, size,"
		    " bytes, modified_on, created_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)";
	int rc = prep(s, sql, &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, a->name);
	sq_bind_text(st, 2, a->version);
	sq_bind_text(st, 3, a->description);
	sq_bind_i64(st, 4, a->isolation);
	sq_bind_text(st, 5, a->sha256);
	sq_bind_i64(st, 6, (int64_t)n);
	sqlite3_bind_blob64(st, 7, bytes, n, SQLITE_STATIC);
	sq_bind_i64(st, 8, a->modified_on);
	if (a->id)
		sq_bind_i64(st, 9, a->id);
	if ((rc = step_once(s, st, "store assembly")) < 0)
		return rc;
	if (!a->id)
		a->id = sqlite3_last_insert_rowid(s->db);
	a->size = (int64_t)n;
	return replace_types(s, a);
}

static int sq_assembly_set_isolation(struct store *s, int64_t id, int isolation, int64_t now)
{
	sqlite3_stmt *st;
	int rc =
	    prep(s, "UPDATE assemblies SET isolation = ?1, modified_on = ?2 WHERE id = ?3", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, isolation);
	sq_bind_i64(st, 2, now);
	sq_bind_i64(st, 3, id);
	if ((rc = step_once(s, st, "change assembly isolation")) < 0)
		return rc;
	return sqlite3_changes(s->db) ? 0 : AE_NOTFOUND;
}

static int get_assembly_where(struct store *s, const char *where, int64_t id, const char *text,
			      struct assembly *ret)
{
	char sql[256];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "SELECT " ASM_COLUMNS " FROM assemblies WHERE %s", where);
	int rc = prep(s, sql, &st);
	if (rc < 0)
		return rc;
	if (text)
		sq_bind_text(st, 1, text);
	else
		sq_bind_i64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_assembly(st, ret);
	int found = rc == SQLITE_ROW;
	rc = found || rc == SQLITE_DONE ? 0 : sq_fail(s, "read assembly");
	sqlite3_finalize(st);
	if (rc < 0 || !found)
		return rc < 0 ? rc : AE_NOTFOUND;
	return load_types(s, ret);
}

static int sq_assembly_get(struct store *s, int64_t id, struct assembly *ret)
{
	return get_assembly_where(s, "id = ?1", id, NULL, ret);
}

static int sq_assembly_find_sha(struct store *s, const char *sha256, struct assembly *ret)
{
	return get_assembly_where(s, "sha256 = ?1", 0, sha256, ret);
}

static int sq_assembly_bytes(struct store *s, const char *sha256, void **ret_bytes, size_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = prep(s, "SELECT bytes FROM assemblies WHERE sha256 = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, sha256);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? AE_NOTFOUND : sq_fail(s, "read assembly bytes");
		sqlite3_finalize(st);
		return rc;
	}
	size_t n = (size_t)sqlite3_column_bytes(st, 0);
	void *p = malloc(n ? n : 1);
	if (p && n)
		memcpy(p, sqlite3_column_blob(st, 0), n);
	sqlite3_finalize(st);
	if (!p)
		return AE_NOMEM;
	*ret_bytes = p;
	*ret_n = n;
	return 0;
}

static int sq_assemblies_list(struct store *s, struct assembly **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct assembly *v = NULL;
	size_t n = 0;
	int rc = prep(s, "SELECT " ASM_COLUMNS " FROM assemblies ORDER BY name, id", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct assembly *g = realloc(v, (n + 1) * sizeof(*v));
		if (!g)
			break;
		v = g;
		read_assembly(st, &v[n++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		assembly_array_free(v, n);
		return rc == SQLITE_ROW ? AE_NOMEM : sq_fail(s, "list assemblies");
	}
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

static void read_step(sqlite3_stmt *st, struct step *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	p->name = sq_col_text(st, 1);
	p->plugin_type = sq_col_text(st, 2);
	p->assembly_id = sqlite3_column_int64(st, 3);
	p->message = sq_col_text(st, 4);
	p->entity = sq_col_text(st, 5);
	p->stage = sqlite3_column_int(st, 6);
	p->rank = sqlite3_column_int(st, 7);
	p->filtering_attributes = sq_col_text(st, 8);
	p->configuration = sq_col_text(st, 9);
	p->secure_configuration = sq_col_text(st, 10);
	p->impersonating_user = sq_col_text(st, 11);
	p->images = sq_col_text(st, 12);
	p->async_auto_delete = sqlite3_column_int(st, 13) != 0;
	p->enabled = sqlite3_column_int(st, 14) != 0;
	p->created_on = sqlite3_column_int64(st, 15);
	p->modified_on = sqlite3_column_int64(st, 16);
	p->draining = sqlite3_column_int(st, 17) != 0;
	p->drain_deadline = sqlite3_column_int64(st, 18);
}

static int sq_step_insert(struct store *s, struct step *p)
{
	sqlite3_stmt *st;
	int rc =
	    prep(s,
		 "INSERT INTO steps(name, plugin_type, assembly_id, message, entity, stage, rank,"
		 " filtering_attributes, configuration, secure_configuration,"
		 " impersonating_user, images, async_auto_delete, enabled, created_on,"
		 " modified_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		 " ?13, ?14, ?15, ?15)",
		 &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, p->name);
	sq_bind_text(st, 2, p->plugin_type);
	sq_bind_i64(st, 3, p->assembly_id);
	sq_bind_text(st, 4, p->message);
	sq_bind_text(st, 5, p->entity);
	sq_bind_i64(st, 6, p->stage);
	sq_bind_i64(st, 7, p->rank);
	sq_bind_text(st, 8, p->filtering_attributes);
	sq_bind_text(st, 9, p->configuration);
	sq_bind_text(st, 10, p->secure_configuration);
	sq_bind_text(st, 11, p->impersonating_user);
	sq_bind_text(st, 12, p->images);
	sq_bind_i64(st, 13, p->async_auto_delete);
	sq_bind_i64(st, 14, p->enabled);
	sq_bind_i64(st, 15, p->created_on);
	if ((rc = step_once(s, st, "insert step")) < 0)
		return rc;
	p->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int change_one(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = step_once(s, st, what);
	if (rc < 0)
		return rc;
	return sqlite3_changes(s->db) > 0 ? 0 : AE_NOTFOUND;
}

static int sq_step_set_enabled(struct store *s, int64_t id, bool enabled, int64_t now)
{
	sqlite3_stmt *st;
	int rc = prep(s, "UPDATE steps SET enabled = ?2, modified_on = ?3 WHERE id = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	sq_bind_i64(st, 2, enabled);
	sq_bind_i64(st, 3, now);
	return change_one(s, st, "update step");
}

static int sq_step_update(struct store *s, const struct step *p)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "UPDATE steps SET name = ?2, message = ?3, entity = ?4, rank = ?5,"
		      " filtering_attributes = ?6, configuration = ?7, secure_configuration = ?8,"
		      " impersonating_user = ?9, images = ?10, async_auto_delete = ?11,"
		      " enabled = ?12, modified_on = ?13 WHERE id = ?1",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, p->id);
	sq_bind_text(st, 2, p->name);
	sq_bind_text(st, 3, p->message);
	sq_bind_text(st, 4, p->entity);
	sq_bind_i64(st, 5, p->rank);
	sq_bind_text(st, 6, p->filtering_attributes);
	sq_bind_text(st, 7, p->configuration);
	sq_bind_text(st, 8, p->secure_configuration);
	sq_bind_text(st, 9, p->impersonating_user);
	sq_bind_text(st, 10, p->images);
	sq_bind_i64(st, 11, p->async_auto_delete);
	sq_bind_i64(st, 12, p->enabled);
	sq_bind_i64(st, 13, p->modified_on);
	return change_one(s, st, "update step");
}

static int sq_step_delete(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int rc = prep(s, "DELETE FROM steps WHERE id = ?1", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	return change_one(s, st, "delete step");
}

static int sq_steps_list(struct store *s, struct step **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct step *v = NULL;
	size_t n = 0;
	int rc = prep(s, "SELECT " STEP_COLUMNS " FROM steps ORDER BY rank, id", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct step *g = realloc(v, (n + 1) * sizeof(*v));
		if (!g)
			break;
		v = g;
		read_step(st, &v[n++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		step_array_free(v, n);
		return rc == SQLITE_ROW ? AE_NOMEM : sq_fail(s, "list steps");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- settings ---- */

static int sq_settings_list(struct store *s, struct setting_row **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct setting_row *v = NULL;
	size_t n = 0;
	int rc = prep(s, "SELECT key, value FROM settings ORDER BY key", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct setting_row *g = realloc(v, (n + 1) * sizeof(*v));
		if (!g)
			break;
		v = g;
		v[n].key = sq_col_text(st, 0);
		v[n++].value = sq_col_text(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		setting_rows_free(v, n);
		return rc == SQLITE_ROW ? AE_NOMEM : sq_fail(s, "list settings");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int sq_setting_put(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "INSERT INTO settings(key, value) VALUES (?1, ?2)"
		      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, key);
	sq_bind_text(st, 2, value);
	return step_once(s, st, "store setting");
}

/* ---- users and tokens ---- */

static int sq_user_insert(struct store *s, struct user *u)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "INSERT INTO users(name, roles, password_hash, created_on)"
		      " VALUES (?1, ?2, ?3, ?4)",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, u->name);
	sq_bind_i64(st, 2, u->roles);
	sq_bind_text(st, 3, u->password_hash);
	sq_bind_i64(st, 4, u->created_on);
	if ((rc = step_once(s, st, "insert user")) < 0)
		return rc;
	u->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int user_where(struct store *s, const char *where, int64_t id, const char *name,
		      struct user *ret)
{
	char sql[160];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql),
		 "SELECT id, name, roles, password_hash, created_on FROM users WHERE %s", where);
	int rc = prep(s, sql, &st);
	if (rc < 0)
		return rc;
	if (name)
		sq_bind_text(st, 1, name);
	else
		sq_bind_i64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(ret, 0, sizeof(*ret));
		ret->id = sqlite3_column_int64(st, 0);
		ret->name = sq_col_text(st, 1);
		ret->roles = (unsigned)sqlite3_column_int(st, 2);
		ret->password_hash = sq_col_text(st, 3);
		ret->created_on = sqlite3_column_int64(st, 4);
	}
	int found = rc == SQLITE_ROW;
	rc = found || rc == SQLITE_DONE ? 0 : sq_fail(s, "read user");
	sqlite3_finalize(st);
	return rc < 0 ? rc : found ? 0 : AE_NOTFOUND;
}

static int sq_user_find(struct store *s, const char *name, struct user *ret)
{
	return user_where(s, "name = ?1", 0, name, ret);
}

static int sq_user_get(struct store *s, int64_t id, struct user *ret)
{
	return user_where(s, "id = ?1", id, NULL, ret);
}

static int sq_token_insert(struct store *s, struct token *t)
{
	sqlite3_stmt *st;
	int rc = prep(
	    s, "INSERT INTO tokens(user_id, name, hash, created_on) VALUES (?1, ?2, ?3, ?4)", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, t->user_id);
	sq_bind_text(st, 2, t->name);
	sq_bind_text(st, 3, t->hash);
	sq_bind_i64(st, 4, t->created_on);
	if ((rc = step_once(s, st, "insert token")) < 0)
		return rc;
	t->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int sq_token_find(struct store *s, const char *hash, struct token *ret)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "SELECT id, user_id, name, hash, created_on, revoked_on FROM tokens"
		      " WHERE hash = ?1",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(ret, 0, sizeof(*ret));
		ret->id = sqlite3_column_int64(st, 0);
		ret->user_id = sqlite3_column_int64(st, 1);
		ret->name = sq_col_text(st, 2);
		ret->hash = sq_col_text(st, 3);
		ret->created_on = sqlite3_column_int64(st, 4);
		ret->revoked_on = sqlite3_column_int64(st, 5);
	}
	int found = rc == SQLITE_ROW;
	rc = found || rc == SQLITE_DONE ? 0 : sq_fail(s, "read token");
	sqlite3_finalize(st);
	return rc < 0 ? rc : found ? 0 : AE_NOTFOUND;
}

static int sq_token_revoke(struct store *s, int64_t id, int64_t now)
{
	sqlite3_stmt *st;
	int rc =
	    prep(s, "UPDATE tokens SET revoked_on = ?2 WHERE id = ?1 AND revoked_on IS NULL", &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, id);
	sq_bind_i64(st, 2, now);
	return change_one(s, st, "revoke token");
}

/* ---- audit and hosts ---- */

static int sq_audit_insert(struct store *s, struct audit_entry *e)
{
	sqlite3_stmt *st;
	int rc = prep(s,
		      "INSERT INTO audit(at, user, remote, action, target, result, detail)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		      &st);
	if (rc < 0)
		return rc;
	sq_bind_i64(st, 1, e->at);
	sq_bind_text(st, 2, e->user);
	sq_bind_text(st, 3, e->remote);
	sq_bind_text(st, 4, e->action);
	sq_bind_text(st, 5, e->target);
	sq_bind_text(st, 6, e->result);
	sq_bind_text(st, 7, e->detail);
	if ((rc = step_once(s, st, "insert audit entry")) < 0)
		return rc;
	e->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int sq_audit_list(struct store *s, int64_t before_id, int limit, struct audit_entry **ret,
			 size_t *ret_n)
{
	sqlite3_stmt *st;
	struct audit_entry *v = calloc((size_t)limit + 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return AE_NOMEM;
	int rc = prep(s,
		      "SELECT id, at, user, remote, action, target, result, detail FROM audit"
		      " WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
		      &st);
	if (rc < 0) {
		free(v);
		return rc;
	}
	sq_bind_i64(st, 1, before_id > 0 ? before_id : INT64_MAX);
	sq_bind_i64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < (size_t)limit) {
		struct audit_entry *e = &v[n++];
		e->id = sqlite3_column_int64(st, 0);
		e->at = sqlite3_column_int64(st, 1);
		e->user = sq_col_text(st, 2);
		e->remote = sq_col_text(st, 3);
		e->action = sq_col_text(st, 4);
		e->target = sq_col_text(st, 5);
		e->result = sq_col_text(st, 6);
		e->detail = sq_col_text(st, 7);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		audit_array_free(v, n);
		return sq_fail(s, "list audit");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int sq_set_synchronous(struct store *s, bool full)
{
	return sq_exec(s, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

const struct store_ops sqlite_store_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .migrate = sq_migrate,
    .last_error = sq_last_error,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .jobs_insert = sq_jobs_insert,
    .jobs_claim = sq_jobs_claim,
    .jobs_complete = sq_jobs_complete,
    .jobs_release = sq_jobs_release,
    .jobs_started = sq_jobs_started,
    .jobs_release_all_locked = sq_jobs_release_all_locked,
    .jobs_promote_due = sq_jobs_promote_due,
    .jobs_next_due = sq_jobs_next_due,
    .job_get = sq_job_get,
    .job_find_idempotent = sq_job_find_idempotent,
    .job_update = sq_job_update,
    .job_delete = sq_job_delete,
    .jobs_list = sq_jobs_list,
    .jobs_stats = sq_jobs_stats,
    .jobs_count_unfinished = sq_jobs_count_unfinished,
    .assembly_insert = sq_assembly_insert,
    .assembly_get = sq_assembly_get,
    .assembly_find_sha = sq_assembly_find_sha,
    .assembly_bytes = sq_assembly_bytes,
    .assemblies_list = sq_assemblies_list,
    .step_insert = sq_step_insert,
    .step_set_enabled = sq_step_set_enabled,
    .step_update = sq_step_update,
    .step_delete = sq_step_delete,
    .steps_list = sq_steps_list,
    .settings_list = sq_settings_list,
    .setting_put = sq_setting_put,
    .user_insert = sq_user_insert,
    .user_find = sq_user_find,
    .user_get = sq_user_get,
    .token_insert = sq_token_insert,
    .token_find = sq_token_find,
    .token_revoke = sq_token_revoke,
    .audit_insert = sq_audit_insert,
    .audit_list = sq_audit_list,
    .set_synchronous = sq_set_synchronous,
    .service_configs = sq_service_configs,
    .service_config_put = sq_service_config_put,
    .users_list = sq_users_list,
    .user_delete = sq_user_delete,
    .tokens_list = sq_tokens_list,
    .session_insert = sq_session_insert,
    .session_find = sq_session_find,
    .session_delete = sq_session_delete,
    .jobs_cleanup = sq_jobs_cleanup,
    .audit_cleanup = sq_audit_cleanup,
    .set_draining = sq_set_draining,
    .row_state = sq_row_state,
    .assembly_delete = sq_assembly_delete,
    .jobs_cancel_for = sq_jobs_cancel_for,
    .job_count_host_crash = sq_job_count_host_crash,
    .job_fail_locked = sq_job_fail_locked,
    .job_attempts = sq_job_attempts,
    .assembly_set_isolation = sq_assembly_set_isolation,
    .host_put = sq_host_put,
    .hosts_list = sq_hosts_list,
    .jobs_rescue = sq_jobs_rescue,
    .listen_wait = sq_listen_wait,
    .jobs_watch = sq_jobs_watch,
    .jobs_ready_heads = sq_jobs_ready_heads,
    .job_progress = sq_job_progress,
    .job_set_recurrence = sq_job_set_recurrence,
    .attempts_cleanup = sq_attempts_cleanup,
    .stats_hourly_collect = sq_stats_hourly_collect,
    .stats_hourly_list = sq_stats_hourly_list,
};
