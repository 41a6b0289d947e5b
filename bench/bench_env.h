/* A prepared asyncd for one benchmark test: a fresh server with the sample assembly and the
 * benchmark assembly registered and their steps added, an HTTP client on it, and the helpers that
 * wait for jobs, check their outcome and fill the SQLite file directly (server stopped). */
#ifndef BENCH_ENV_H
#define BENCH_ENV_H

#include <stdint.h>

#include "bench_http.h"
#include "bench_server.h"

struct env_paths {
	const char *asyncd;   /* the asyncd executable */
	const char *samples;  /* samples.so */
	const char *stamp;    /* stamp.so (assembly "bench") */
	const char *stamp_sb; /* stamp-sandbox.so (assembly "benchsb") */
	const char *tmpdir;   /* where state directories go (NULL: $TMPDIR or /tmp) */
	int keep;	      /* keep state directories */
	const char *pg_url;   /* a PostgreSQL server (superuser URL), or NULL: SQLite */
	int hosts;	      /* asyncd hosts sharing the PostgreSQL database (1..ENV_HOSTS_MAX) */
};

#define ENV_HOSTS_MAX 8
#define ENV_DB_PIDS_MAX 256

/* On SQLite one asyncd; on PostgreSQL (paths->pg_url) a fresh database on that server and
 * paths->hosts asyncd sharing it: host 1 is srv/h (events go there), the others more[]/more_h[]. */
struct env {
	struct server srv;
	struct http h;
	struct server more[ENV_HOSTS_MAX - 1];
	struct http more_h[ENV_HOSTS_MAX - 1];
	int hosts;		      /* 1 + how many of more[] are in use */
	char db[64];		      /* the database made for this env ("" on SQLite) */
	char db_url[512];	      /* its URL: every host's --store */
	char pg_url[512];	      /* the server's URL (to drop db) */
	int db_pids[ENV_DB_PIDS_MAX]; /* the server processes for db (env_db_note) */
	int n_db_pids;
	int64_t samples_id, noop_step; /* samples assembly; Create account -> samples.noop */
	int64_t stamp_step;	       /* Stamp bench -> bench.stamp */
};

/* Start a fresh asyncd and register: samples + "Create account -> samples.noop", and (with_stamp)
 * the bench assembly + "Stamp bench -> bench.stamp". Returns 0 or -1 (message printed). */
int env_up(struct env *e, const struct env_paths *p, int with_stamp);
/* Stop asyncd, every host (the state stays). */
int env_stop(struct env *e);
/* Start it (every host) again on the same state directory (a new port). */
int env_restart(struct env *e, double timeout_s);
/* Stop and remove everything. */
void env_down(struct env *e, const struct env_paths *p);

/* The sum of a counter or gauge over every host, or -1 when a host did not answer. */
double env_metric(struct env *e, const char *name);
/* asyncd's user + system CPU seconds so far, summed over every host; -1 when one is gone. */
double env_cpu_s(const struct env *e);
/* On PostgreSQL: note the server processes that serve the env's database now (the backends of
 * its hosts' connections), then env_db_cpu_s() sums their CPU seconds so far. -1 on SQLite. */
int env_db_note(struct env *e);
double env_db_cpu_s(const struct env *e);
/* Wait until asyncd_jobs_processed_total (summed over the hosts) >= want or timeout_s passed; the
 * last value seen goes to *ret_seen. Returns 0 when reached. Polls every poll_ms. */
int env_wait_processed(struct env *e, double want, double timeout_s, long poll_ms,
		       double *ret_seen);
/* GET /api/v1/jobs/stats; *ret_status_n gets by_status[status], *ret_unfinished the jobs in status
 * 0, 10, 20, 21 or 22. Returns 0 or -1. */
int env_stats(struct env *e, int status, int64_t *ret_status_n, int64_t *ret_unfinished);
/* Register a library with ?isolation=iso; *ret_id gets its id. Returns 0, or the HTTP status
 * (> 0) when refused, or -1. */
int env_register(struct env *e, const char *path, const char *iso, int64_t *ret_id);
/* POST /api/v1/steps for type on message/entity; *ret_id gets the step's id. 0 or -1. */
int env_add_step(struct env *e, const char *type, const char *message, const char *entity,
		 int64_t *ret_id);

/* With the server(s) stopped: insert n rows into its jobs table (SQLite file, or the PostgreSQL
 * database with psql, then VACUUM ANALYZE) as the server writes them for
 * samples.noop on the noop step, Ready (completed = 0) or Completed/Succeeded an hour ago
 * (completed = 1), in chunks of at most 1M rows with progress on stderr. 0 or -1. */
int env_populate(struct env *e, int64_t n, int completed);
/* With the server(s) stopped: how many Ready jobs it has, and the smallest id among them. 0 or -1.
 */
int env_ready(struct env *e, int64_t *ret_n, int64_t *ret_lo);
/* With the server(s) stopped: among the jobs with id >= lo that Succeeded after starting at or
 * after since_ms (Unix ms), their number and the span from the first start to the last completion
 * in ms. 0 or -1. */
int env_done_window(struct env *e, int64_t lo, int64_t since_ms, int64_t *ret_n,
		    int64_t *ret_span_ms);

#endif
