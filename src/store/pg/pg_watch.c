/* Job counts for /metrics on a shared PostgreSQL store. Every host changes the table, so one
 * host's writer cannot keep the counts from its own commits as SQLite's does (sqlite_watch.c):
 * they are read from the table when /metrics is scraped (store_jobs_counts_refresh, called at
 * most once a second by the metrics handler): the unfinished jobs by plug-in type and status
 * (the partial indexes of Ready and active jobs bound the work to the backlog), the finished
 * ones by status only and less often (their index can hold millions of rows). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/metrics.h"
#include "job/job.h"
#include "store/pg/pg_int.h"

int pg_jobs_watch(struct store *s)
{
	(void)s;
	__atomic_store_n(&asyncd_metrics.jobs_live, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Add the rows of sql (plug-in type or NULL, status, count) to counts. */
static int count_rows(struct store *s, const char *sql,
		      int64_t counts[METRICS_TYPES_MAX + 1][METRICS_STATUSES])
{
	PGresult *r;
	int rc = pg_run(s, -1, sql, NULL, &r, "count jobs");
	if (rc < 0)
		return rc;
	for (int row = 0; row < PQntuples(r); row++) {
		int slot = metrics_status_slot((int)pg_i64(r, row, 1));
		int t = PQgetisnull(r, row, 0) ? METRICS_TYPE_OTHER
					       : metrics_type(PQgetvalue(r, row, 0));
		if (slot >= 0)
			counts[t][slot] += pg_i64(r, row, 2);
	}
	PQclear(r);
	return 0;
}

/* The finished jobs by status (not by type: the index has no type), under the "_other" type:
 * only their sum over types is shown (asyncd_jobs). */
#define FINISHED_SQL "SELECT NULL, status, count(*) FROM jobs WHERE state = 3 GROUP BY status"
#define UNFINISHED_SQL                                                                             \
	"SELECT plugin_type, status, count(*) FROM jobs WHERE state IN (1, 2) GROUP BY 1, 2"       \
	" UNION ALL SELECT plugin_type, 0, count(*) FROM jobs WHERE state = 0 GROUP BY 1"

int pg_jobs_counts_refresh(struct store *s, bool finished)
{
	static int64_t counts[METRICS_TYPES_MAX + 1][METRICS_STATUSES];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	memset(counts, 0, sizeof(counts));
	int rc = count_rows(s, UNFINISHED_SQL, counts);
	if (rc == 0 && finished)
		rc = count_rows(s, FINISHED_SQL, counts);
	for (int t = 0; rc == 0 && t <= METRICS_TYPES_MAX; t++)
		for (int k = 0; k < METRICS_STATUSES; k++) {
			int st = metrics_slot_status(k);
			/* finished counts are kept from the last time they were read */
			if (finished || job_status_state(st) != JOB_COMPLETED)
				metrics_set(&asyncd_metrics.jobs[t][k], counts[t][k]);
		}
	pthread_mutex_unlock(&lock);
	return rc;
}

static void head_row(const PGresult *r, int row, void *elem)
{
	struct ready_head *h = elem;
	snprintf(h->plugin_type, sizeof(h->plugin_type), "%s", PQgetvalue(r, row, 0));
	h->created_on = pg_i64(r, row, 1);
}

/* The oldest Ready job of each type: exact (the Ready rows are the backlog, read at most once a
 * second by the metrics handler). */
int pg_jobs_ready_heads(struct store *s, int want, struct ready_head **ret, size_t *ret_n)
{
	(void)want;
	return pg_rows(s,
		       "SELECT plugin_type, min(created_on) FROM jobs WHERE state = 0 GROUP BY 1",
		       NULL, sizeof(**ret), head_row, (void **)ret, ret_n, "read the ready heads");
}
