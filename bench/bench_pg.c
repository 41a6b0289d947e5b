/* The benchmark's PostgreSQL side (see bench_pg.h). psql is spawned as asyncd is in
 * bench_server.c (fork + exec, PR_SET_PDEATHSIG); its output comes back through a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_pg.h"
#include "bench_server.h"
#include "bench_stats.h"

#define POPULATE_CHUNK 1000000

static pid_t spawn_psql(const char *url, const char *sql, int out_fd)
{
	pid_t pid = bench_fork_child();
	if (pid != 0)
		return pid;
	dup2(out_fd, 1);
	execlp("psql", "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c",
	       sql, (char *)NULL);
	fprintf(stderr, "bench: psql: %s\n", strerror(errno));
	_exit(127);
}

/* Read fd to its end; the first len - 1 bytes go to out (NUL-terminated), without the last
 * newline. */
static void drain(int fd, char *out, size_t len)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (ssize_t i = 0; out && i < n && got + 1 < len; i++)
			out[got++] = buf[i];
	}
	if (!out || !len)
		return;
	while (got && out[got - 1] == '\n')
		got--;
	out[got] = 0;
}

int pg_psql(const char *url, const char *sql, char *out, size_t len)
{
	int p[2], st = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "bench: pipe: %s\n", strerror(errno));
		return -1;
	}
	pid_t pid = spawn_psql(url, sql, p[1]);
	close(p[1]);
	if (pid < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		close(p[0]);
		return -1;
	}
	drain(p[0], out, len);
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, "bench: psql failed on: %.200s\n", sql);
	return -1;
}

int pg_db_url(const char *url, const char *db, char *out, size_t len)
{
	const char *rest = strstr(url, "://");
	if (!rest || (strncmp(url, "postgres://", 11) && strncmp(url, "postgresql://", 13)))
		return -1;
	const char *slash = strchr(rest + 3, '/');
	const char *query = strchr(rest + 3, '?');
	size_t head = slash ? (size_t)(slash - url) : query ? (size_t)(query - url) : strlen(url);
	int n = snprintf(out, len, "%.*s/%s%s", (int)head, url, db, query ? query : "");
	return n > 0 && (size_t)n < len ? 0 : -1;
}

void pg_describe(const char *url, char *out, size_t len)
{
	if (pg_psql(url,
		    "SELECT 'PostgreSQL ' || current_setting('server_version') || ' fsync=' ||"
		    " current_setting('fsync') || ' synchronous_commit=' ||"
		    " current_setting('synchronous_commit')",
		    out, len) < 0)
		snprintf(out, len, "PostgreSQL (version unknown)");
}

int pg_backend_pids(const char *url, const char *db, int *pids, int max)
{
	char sql[256], out[4096];
	int n = 0, used;
	snprintf(sql, sizeof(sql),
		 "SELECT coalesce(string_agg(pid::text, ' '), '') FROM pg_stat_activity"
		 " WHERE datname = '%s'",
		 db);
	if (pg_psql(url, sql, out, sizeof(out)) < 0)
		return -1;
	for (const char *p = out; n < max && sscanf(p, "%d%n", &pids[n], &used) == 1; p += used)
		n++;
	return n;
}

/* Rows from + 1 .. from + n of one chunk; the columns the server writes for an event's job, as
 * env_populate writes them into SQLite (bench_env.c). */
static int populate_chunk(const char *db_url, int64_t step, int64_t assembly, int64_t from,
			  int64_t n, int completed, int64_t now)
{
	char sql[2048], done[32];
	int64_t created = completed ? now - 3600 * 1000 : now;
	snprintf(done, sizeof(done), completed ? "%" PRId64 : "NULL", now - 3599 * 1000);
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO jobs(name, operation_type, state, status, message_name, primary_entity,"
	    " regarding_id, step_id, assembly_id, plugin_type, data, depth, correlation_id,"
	    " request_id, priority, retry_count, max_retries, attempt, message, created_on,"
	    " started_on, completed_on, modified_on, execution_time_ms, owner, auto_delete)"
	    " SELECT 'account.Create: samples.noop', 1, %d, %d, 'Create', 'account', 'b' || i,"
	    " %" PRId64 ", %" PRId64 ", 'samples.noop',"
	    " '{\"target\":{\"i\":' || i || '},\"images\":{},\"chain_started_on\":%" PRId64
	    ",\"initiating_user\":\"admin\"}',"
	    " 1, '%08" PRIx64 "-0000-4000-8000-' || lpad(to_hex(i), 12, '0'),"
	    " '%08" PRIx64 "-0001-4000-8000-' || lpad(to_hex(i), 12, '0'),"
	    " 5, 0, 10, %d, %s, %" PRId64 ", %s, %s, %" PRId64 ", %s, 'admin', 0"
	    " FROM generate_series(%" PRId64 "::bigint, %" PRId64 "::bigint) AS i",
	    completed ? 3 : 0, completed ? 30 : 0, step, assembly, created,
	    (uint64_t)created % 4294967296u, (uint64_t)created % 4294967296u, completed ? 1 : 0,
	    completed ? "'nothing to do'" : "NULL", created, done, done,
	    completed ? now - 3599 * 1000 : created, completed ? "0" : "NULL", from + 1, from + n);
	return pg_psql(db_url, sql, NULL, 0);
}

static int query_2(const char *db_url, const char *sql, int64_t *r1, int64_t *r2)
{
	char out[128];
	long long a, b;
	if (pg_psql(db_url, sql, out, sizeof(out)) < 0)
		return -1;
	if (sscanf(out, "%lld|%lld", &a, &b) != 2) {
		fprintf(stderr, "bench: psql: unexpected answer '%s' to: %.200s\n", out, sql);
		return -1;
	}
	*r1 = a;
	*r2 = b;
	return 0;
}

int pg_populate(const char *db_url, int64_t step, int64_t assembly, int64_t n, int completed)
{
	struct timespec ts;
	int64_t base, ignored;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (query_2(db_url, "SELECT coalesce(max(id), 0), 0 FROM jobs", &base, &ignored) < 0)
		return -1;
	double t0 = mono_s();
	for (int64_t done = 0; done < n;) {
		int64_t k = n - done < POPULATE_CHUNK ? n - done : POPULATE_CHUNK;
		if (populate_chunk(db_url, step, assembly, base + done, k, completed, now) < 0)
			return -1;
		done += k;
		if (n > POPULATE_CHUNK)
			fprintf(stderr, "bench:   %" PRId64 " of %" PRId64 " rows (%.0f s)\n", done,
				n, mono_s() - t0);
	}
	/* VACUUM refuses a multi-statement string: one psql each */
	if (pg_psql(db_url, "VACUUM ANALYZE jobs", NULL, 0) < 0)
		return -1;
	return pg_psql(db_url, "CHECKPOINT", NULL, 0);
}

int pg_ready(const char *db_url, int64_t *ret_n, int64_t *ret_lo)
{
	return query_2(db_url, "SELECT count(*), coalesce(min(id), 0) FROM jobs WHERE state = 0",
		       ret_n, ret_lo);
}

int pg_done_window(const char *db_url, int64_t lo, int64_t since_ms, int64_t *ret_n,
		   int64_t *ret_span_ms)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*), coalesce(max(completed_on) - min(started_on), 0) FROM jobs"
		 " WHERE state = 3 AND status = 30 AND id >= %" PRId64
		 " AND started_on >= %" PRId64,
		 lo, since_ms);
	return query_2(db_url, sql, ret_n, ret_span_ms);
}
