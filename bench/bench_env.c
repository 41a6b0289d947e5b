/* A prepared asyncd for one benchmark test (see bench_env.h). Registration and steps go through
 * the HTTP API as an administrator would; only env_populate() writes the SQLite file (or, on
 * PostgreSQL, the database through psql) directly, with the server stopped, to make tables of
 * millions of rows in seconds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_env.h"
#include "bench_pg.h"
#include "bench_stats.h"

#define START_TIMEOUT_S 60
#define STOP_TIMEOUT_S 60
#define POPULATE_CHUNK 1000000

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	struct stat st;
	FILE *f = fopen(path, "rbe");
	if (!f) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char *buf = NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && st.st_size < (64 << 20))
		buf = malloc((size_t)st.st_size);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "bench: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*ret = buf;
	*ret_len = (size_t)st.st_size;
	return 0;
}

int env_register(struct env *e, const char *path, const char *iso, int64_t *ret_id)
{
	char *bytes, q[128];
	size_t len;
	if (read_file(path, &bytes, &len) < 0)
		return -1;
	snprintf(q, sizeof(q), "/api/v1/assemblies?isolation=%s", iso);
	int rc = http_request(&e->h, "POST", q, HTTP_BINARY, bytes, len);
	free(bytes);
	if (rc < 0) {
		fprintf(stderr, "bench: registering %s: %s\n", path, e->h.error);
		return -1;
	}
	if (e->h.status != 201 && e->h.status != 200)
		return (int)e->h.status;
	json_t *v = json_loads(e->h.resp ? e->h.resp : "", 0, NULL);
	json_int_t id = json_integer_value(json_object_get(v, "id"));
	json_decref(v);
	if (id <= 0)
		return -1;
	*ret_id = id;
	return 0;
}

int env_add_step(struct env *e, const char *type, const char *message, const char *entity,
		 int64_t *ret_id)
{
	json_t *body =
	    json_pack("{s:s,s:s,s:s}", "plugin_type", type, "message", message, "entity", entity);
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_t *v = s ? http_json(&e->h, "adding a step", "POST", "/api/v1/steps", HTTP_JSON, s,
				  strlen(s), 201)
		      : NULL;
	free(s);
	json_int_t id = json_integer_value(json_object_get(v, "id"));
	json_decref(v);
	if (id <= 0)
		return -1;
	*ret_id = id;
	return 0;
}

static int connect_http(struct env *e)
{
	http_done(&e->h);
	if (http_init(&e->h, e->srv.url, e->srv.token) < 0)
		return -1;
	for (int i = 0; i < e->hosts - 1; i++) {
		http_done(&e->more_h[i]);
		if (http_init(&e->more_h[i], e->more[i].url, e->more[i].token) < 0)
			return -1;
	}
	return 0;
}

/* A fresh database on the PostgreSQL server for this env; every host's --store. */
static int make_database(struct env *e, const struct env_paths *p)
{
	static int seq;
	char db[64], sql[128];
	snprintf(db, sizeof(db), "asyncd_bench_%d_%d", (int)getpid(), ++seq);
	if (pg_db_url(p->pg_url, db, e->db_url, sizeof(e->db_url)) < 0 ||
	    strlen(p->pg_url) >= sizeof(e->pg_url)) {
		fprintf(stderr, "bench: --store %s: not a postgres:// URL\n", p->pg_url);
		return -1;
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if (pg_psql(p->pg_url, sql, NULL, 0) < 0)
		return -1;
	snprintf(e->db, sizeof(e->db), "%s", db);
	snprintf(e->pg_url, sizeof(e->pg_url), "%s", p->pg_url);
	return 0;
}

/* A state directory for host n (1-based) on the env's store; hosts after the first get host 1's
 * admin token, so that one token works on all of them. */
static int make_host(struct env *e, struct server *s, const struct env_paths *p, int n)
{
	if (server_make_dir(s, p->asyncd, p->tmpdir) < 0)
		return -1;
	if (!e->db[0])
		return 0;
	snprintf(s->store, sizeof(s->store), "%s", e->db_url);
	snprintf(s->host_id, sizeof(s->host_id), "h%d", n);
	if (n == 1)
		return 0;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/admin.token", s->dir);
	FILE *f = fopen(path, "wxe");
	int ok = f && fprintf(f, "%s\n", e->srv.token) > 0;
	if ((f && fclose(f) != 0) || !ok) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	chmod(path, 0600);
	return 0;
}

/* Hosts 2..paths->hosts, started once host 1 has registered everything. */
static int start_more(struct env *e, const struct env_paths *p)
{
	int want = p->pg_url && p->hosts > 1 ? p->hosts : 1;
	for (int n = 2; n <= want; n++) {
		struct server *s = &e->more[n - 2];
		e->hosts = n;
		if (make_host(e, s, p, n) < 0 || server_start(s, START_TIMEOUT_S) < 0)
			return -1;
	}
	return connect_http(e);
}

int env_up(struct env *e, const struct env_paths *p, int with_stamp)
{
	int64_t stamp_id;
	memset(e, 0, sizeof(*e));
	e->hosts = 1;
	if ((p->pg_url && make_database(e, p) < 0) || make_host(e, &e->srv, p, 1) < 0 ||
	    server_start(&e->srv, START_TIMEOUT_S) < 0 || connect_http(e) < 0)
		return -1;
	if (env_register(e, p->samples, "none", &e->samples_id) != 0) {
		fprintf(stderr, "bench: registering %s failed: %.300s\n", p->samples,
			e->h.resp ? e->h.resp : "");
		return -1;
	}
	if (env_add_step(e, "samples.noop", "Create", "account", &e->noop_step) < 0)
		return -1;
	if (with_stamp) {
		if (env_register(e, p->stamp, "none", &stamp_id) != 0) {
			fprintf(stderr, "bench: registering %s failed: %.300s\n", p->stamp,
				e->h.resp ? e->h.resp : "");
			return -1;
		}
		if (env_add_step(e, "bench.stamp", "Stamp", "bench", &e->stamp_step) < 0)
			return -1;
	}
	return start_more(e, p);
}

int env_stop(struct env *e)
{
	int rc = 0;
	for (int i = 0; i < e->hosts - 1; i++) {
		http_done(&e->more_h[i]);
		rc |= server_stop(&e->more[i], STOP_TIMEOUT_S);
	}
	http_done(&e->h);
	return server_stop(&e->srv, STOP_TIMEOUT_S) | rc;
}

int env_restart(struct env *e, double timeout_s)
{
	if (server_start(&e->srv, timeout_s) < 0)
		return -1;
	for (int i = 0; i < e->hosts - 1; i++)
		if (server_start(&e->more[i], timeout_s) < 0)
			return -1;
	return connect_http(e);
}

void env_down(struct env *e, const struct env_paths *p)
{
	char sql[128];
	for (int i = 0; i < e->hosts - 1; i++) {
		http_done(&e->more_h[i]);
		server_destroy(&e->more[i], p->keep);
	}
	http_done(&e->h);
	server_destroy(&e->srv, p->keep);
	if (!e->db[0])
		return;
	if (p->keep) {
		fprintf(stderr, "bench: kept database %s\n", e->db_url);
	} else {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", e->db);
		pg_psql(e->pg_url, sql, NULL, 0);
	}
	e->db[0] = 0;
}

double env_metric(struct env *e, const char *name)
{
	double sum = http_metric(&e->h, name);
	for (int i = 0; i < e->hosts - 1 && sum >= 0; i++) {
		double v = http_metric(&e->more_h[i], name);
		sum = v < 0 ? -1 : sum + v;
	}
	return sum;
}

int env_wait_processed(struct env *e, double want, double timeout_s, long poll_ms, double *ret_seen)
{
	double seen = -1;
	for (double end = mono_s() + timeout_s;; sleep_ms(poll_ms)) {
		seen = env_metric(e, "asyncd_jobs_processed_total");
		if (seen >= want || mono_s() > end)
			break;
	}
	if (ret_seen)
		*ret_seen = seen;
	return seen >= want ? 0 : -1;
}

int env_stats(struct env *e, int status, int64_t *ret_status_n, int64_t *ret_unfinished)
{
	static const char *const unfinished[] = {"0", "10", "20", "21", "22"};
	char key[16];
	json_t *v =
	    http_json(&e->h, "job stats", "GET", "/api/v1/jobs/stats", HTTP_NONE, NULL, 0, 200);
	if (!v)
		return -1;
	json_t *by = json_object_get(v, "by_status");
	snprintf(key, sizeof(key), "%d", status);
	*ret_status_n = json_integer_value(json_object_get(by, key));
	*ret_unfinished = 0;
	for (size_t i = 0; i < sizeof(unfinished) / sizeof(unfinished[0]); i++)
		*ret_unfinished += json_integer_value(json_object_get(by, unfinished[i]));
	json_decref(v);
	return 0;
}

/* ---- the SQLite file, server stopped ---- */

static sqlite3 *db_open(struct env *e, int writable)
{
	char path[PATH_MAX + 16];
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/asyncd.db", e->srv.dir);
	int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s: %s\n", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static int db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	fprintf(stderr, "bench: sqlite: %s: %s\n", sql, err ? err : "?");
	sqlite3_free(err);
	return -1;
}

/* The columns the server writes for an event's job (src/store/sqlite.c), for rows ?1 + 1 .. ?1 +
 * ?2 of one chunk: ?3 state, ?4 status, ?5 step, ?6 assembly, ?7 created, ?8 done (or NULL),
 * ?9 attempt, ?10 message. */
static const char populate_sql[] =
    "INSERT INTO jobs(name, operation_type, state, status, message_name, primary_entity,"
    " regarding_id, step_id, assembly_id, plugin_type, data, depth, correlation_id, request_id,"
    " priority, retry_count, max_retries, attempt, message, created_on, started_on, completed_on,"
    " modified_on, execution_time_ms, owner, auto_delete)"
    " WITH RECURSIVE c(i) AS (SELECT ?1 + 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?1 + ?2)"
    " SELECT 'account.Create: samples.noop', 1, ?3, ?4, 'Create', 'account', 'b' || i, ?5, ?6,"
    " 'samples.noop',"
    " '{\"target\":{\"i\":' || i || '},\"images\":{},\"chain_started_on\":' || ?7 ||"
    " ',\"initiating_user\":\"admin\"}',"
    " 1, printf('%08x-%04x-4000-8000-%012x', ?7 % 4294967296, 0, i),"
    " printf('%08x-%04x-4000-8000-%012x', ?7 % 4294967296, 1, i),"
    " 5, 0, 10, ?9, ?10, ?7, ?8, ?8, coalesce(?8, ?7), CASE WHEN ?8 IS NULL THEN NULL ELSE 0 END,"
    " 'admin', 0 FROM c";

static int populate_chunk(sqlite3_stmt *st, struct env *e, int64_t from, int64_t n, int completed,
			  int64_t now)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, n);
	sqlite3_bind_int(st, 3, completed ? 3 : 0);
	sqlite3_bind_int(st, 4, completed ? 30 : 0);
	sqlite3_bind_int64(st, 5, e->noop_step);
	sqlite3_bind_int64(st, 6, e->samples_id);
	sqlite3_bind_int64(st, 7, completed ? now - 3600 * 1000 : now);
	if (completed) {
		sqlite3_bind_int64(st, 8, now - 3599 * 1000);
		sqlite3_bind_int(st, 9, 1);
		sqlite3_bind_text(st, 10, "nothing to do", -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 8);
		sqlite3_bind_int(st, 9, 0);
		sqlite3_bind_null(st, 10);
	}
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

/* Write the filled file out now: otherwise the server's first checkpoint fsync pays for it, in
 * the middle of the measurement. */
static int sync_db(struct env *e)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/asyncd.db", e->srv.dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = fd >= 0 ? fsync(fd) : -1;
	if (rc < 0)
		fprintf(stderr, "bench: fsync %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int64_t max_id(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t id = -1;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM jobs", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static int populate_all(sqlite3 *db, struct env *e, int64_t n, int completed)
{
	struct timespec ts;
	sqlite3_stmt *st = NULL;
	int64_t base = max_id(db);
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (base < 0 || sqlite3_prepare_v2(db, populate_sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: sqlite: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	double t0 = mono_s();
	for (int64_t done = 0; done < n;) {
		int64_t k = n - done < POPULATE_CHUNK ? n - done : POPULATE_CHUNK;
		if (populate_chunk(st, e, base + done, k, completed, now) < 0) {
			fprintf(stderr, "bench: sqlite: inserting rows: %s\n", sqlite3_errmsg(db));
			sqlite3_finalize(st);
			return -1;
		}
		done += k;
		if (n > POPULATE_CHUNK)
			fprintf(stderr, "bench:   %lld of %lld rows (%.0f s)\n", (long long)done,
				(long long)n, mono_s() - t0);
	}
	sqlite3_finalize(st);
	return 0;
}

int env_populate(struct env *e, int64_t n, int completed)
{
	if (e->db[0])
		return pg_populate(e->db_url, e->noop_step, e->samples_id, n, completed);
	sqlite3 *db = db_open(e, 1);
	if (!db)
		return -1;
	/* a rollback journal while filling: appended pages need no journal, a WAL would copy all */
	int rc = db_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;"
			     " PRAGMA cache_size = -262144");
	if (rc == 0)
		rc = populate_all(db, e, n, completed);
	if (rc == 0)
		rc = db_exec(db, "PRAGMA journal_mode = WAL");
	sqlite3_close(db);
	return rc == 0 ? sync_db(e) : rc;
}

static int query_2(struct env *e, const char *sql, int64_t a, int64_t b, int64_t c, int64_t *r1,
		   int64_t *r2)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	sqlite3 *db = db_open(e, 0);
	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
		sqlite3_bind_int64(st, 3, c);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*r1 = sqlite3_column_int64(st, 0);
			*r2 = sqlite3_column_int64(st, 1);
			rc = 0;
		}
	}
	if (rc < 0)
		fprintf(stderr, "bench: sqlite: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int env_ready(struct env *e, int64_t *ret_n, int64_t *ret_lo)
{
	if (e->db[0])
		return pg_ready(e->db_url, ret_n, ret_lo);
	return query_2(
	    e, "SELECT count(*), coalesce(min(id), 0) FROM jobs WHERE state = 0 AND ?1 = ?2 + ?3",
	    0, 0, 0, ret_n, ret_lo);
}

int env_done_window(struct env *e, int64_t lo, int64_t since_ms, int64_t *ret_n,
		    int64_t *ret_span_ms)
{
	if (e->db[0])
		return pg_done_window(e->db_url, lo, since_ms, ret_n, ret_span_ms);
	return query_2(
	    e,
	    "SELECT count(*), coalesce(max(completed_on) - min(started_on), 0) FROM jobs"
	    " WHERE state = 3 AND status = 30 AND id >= ?1 AND started_on >= ?2 AND ?3 = 0",
	    lo, since_ms, 0, ret_n, ret_span_ms);
}

/* proc_cpu_s summed over every host of e; -1 when one cannot be read. */
double env_cpu_s(const struct env *e)
{
	double sum = proc_cpu_s(e->srv.pid);
	for (int i = 0; i < e->hosts - 1 && sum >= 0; i++) {
		double v = proc_cpu_s(e->more[i].pid);
		sum = v < 0 ? -1 : sum + v;
	}
	return sum;
}

int env_db_note(struct env *e)
{
	e->n_db_pids = 0;
	if (!e->db[0])
		return -1;
	int n = pg_backend_pids(e->pg_url, e->db, e->db_pids, ENV_DB_PIDS_MAX);
	if (n < 0)
		return -1;
	e->n_db_pids = n;
	return 0;
}

double env_db_cpu_s(const struct env *e)
{
	double sum = 0;
	if (!e->db[0] || !e->n_db_pids)
		return -1;
	for (int i = 0; i < e->n_db_pids; i++) {
		double v = proc_cpu_s(e->db_pids[i]);
		sum += v > 0 ? v : 0; /* a backend gone since: its time is lost */
	}
	return sum;
}
