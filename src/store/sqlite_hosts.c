/* The SQLite backend's hosts: SQLite serves one host, so its hosts table keeps only an id and a
 * heartbeat (asyncd writes neither on SQLite today: recover.c releases what the last life held);
 * these make the operations whole and behave as PostgreSQL's. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/sqlite_int.h"

#define SQ_RELEASE_SET                                                                             \
	"state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE 0 END,"                            \
	" status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE 0 END,"                        \
	" completed_on = CASE status WHEN 22 THEN ?1 ELSE NULL END,"                               \
	" host_id = NULL, lease_expires_on = NULL, modified_on = ?1"

static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, what);
}

int sq_host_put(struct store *s, const struct host_row *h, int64_t lease_until)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
		s->db,
		"INSERT INTO hosts(id, heartbeat_on) VALUES (?1, ?2)"
		" ON CONFLICT(id) DO UPDATE SET heartbeat_on = excluded.heartbeat_on",
		-1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	sq_bind_text(st, 1, h->id);
	sq_bind_i64(st, 2, h->stopped_on ? 0 : h->heartbeat_on);
	int rc = run(s, st, "write the host row");
	if (rc < 0 || h->stopped_on)
		return rc;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE jobs SET lease_expires_on = ?2 WHERE state IN (1, 2)"
			       " AND state = 2 AND host_id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	sq_bind_text(st, 1, h->id);
	sq_bind_i64(st, 2, lease_until);
	return run(s, st, "extend leases");
}

int sq_hosts_list(struct store *s, struct host_row **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct host_row *v = NULL;
	size_t n = 0;
	int rc;
	if (sqlite3_prepare_v2(s->db, "SELECT id, heartbeat_on FROM hosts ORDER BY id", -1, &st,
			       NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct host_row *g = realloc(v, (n + 1) * sizeof(*v));
		if (!g)
			break;
		v = g;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].id = sq_col_text(st, 0);
		v[n++].heartbeat_on = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		host_rows_free(v, n);
		return rc == SQLITE_ROW ? AE_NOMEM : sq_fail(s, "list hosts");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sq_jobs_rescue(struct store *s, const char *host_id, int64_t dead_before, int64_t now,
		   int64_t *ret_n)
{
	sqlite3_stmt *st;
	const char *sql = host_id ? "UPDATE jobs SET " SQ_RELEASE_SET " WHERE state IN (1, 2)"
				    " AND state = 2 AND host_id = ?2"
				  : "UPDATE jobs SET " SQ_RELEASE_SET " WHERE state IN (1, 2)"
				    " AND state = 2 AND host_id IN (SELECT id FROM hosts"
				    " WHERE heartbeat_on < ?2)";
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	sq_bind_i64(st, 1, now);
	if (host_id)
		sq_bind_text(st, 2, host_id);
	else
		sq_bind_i64(st, 2, dead_before);
	int rc = run(s, st, "rescue jobs");
	if (rc == 0 && ret_n)
		*ret_n = sqlite3_changes(s->db);
	return rc;
}

int sq_listen_wait(struct store *s, int timeout_ms)
{
	(void)s;
	(void)timeout_ms;
	return AE_INVAL; /* one host: its engine is told of new work directly */
}
