/* Job counts by plug-in type and status for metrics, kept on the write connection: temporary
 * triggers (this connection's only) call asyncd_job_count() for every row that is inserted,
 * deleted or changes status, whatever statement did it; the changes wait in a log until the
 * transaction commits (a rollback drops them, one to the savepoint drops those after it), then
 * go to asyncd_metrics.jobs. The counts are seeded by one grouped count when the watch starts, so
 * a scrape reads memory and never counts rows. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/metrics.h"
#include "store/sqlite_int.h"

struct change {
	int type, slot;
	int64_t delta;
};

struct sq_watch {
	struct change *v;
	size_t n, cap, mark;
};

static void add(struct sq_watch *w, int type, int slot, int64_t delta)
{
	if (slot < 0)
		return;
	if (w->n > w->mark && w->v[w->n - 1].type == type && w->v[w->n - 1].slot == slot) {
		w->v[w->n - 1].delta += delta;
		return;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct change *v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return; /* the counts drift rather than the commit failing */
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = (struct change){type, slot, delta};
}

static int type_of(sqlite3_value *v)
{
	return metrics_type((const char *)sqlite3_value_text(v));
}

/* asyncd_job_count(old_type, old_status, new_type, new_status): NULLs for an insert's old side
 * and a delete's new side. */
static void count_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct sq_watch *w = sqlite3_user_data(ctx);
	(void)argc;
	if (sqlite3_value_type(argv[1]) != SQLITE_NULL)
		add(w, type_of(argv[0]), metrics_status_slot(sqlite3_value_int(argv[1])), -1);
	if (sqlite3_value_type(argv[3]) != SQLITE_NULL)
		add(w, type_of(argv[2]), metrics_status_slot(sqlite3_value_int(argv[3])), 1);
	sqlite3_result_null(ctx);
}

static const char triggers[] =
    "CREATE TEMP TRIGGER IF NOT EXISTS asyncd_jobs_ins AFTER INSERT ON main.jobs BEGIN"
    " SELECT asyncd_job_count(NULL, NULL, NEW.plugin_type, NEW.status); END;"
    "CREATE TEMP TRIGGER IF NOT EXISTS asyncd_jobs_del AFTER DELETE ON main.jobs BEGIN"
    " SELECT asyncd_job_count(OLD.plugin_type, OLD.status, NULL, NULL); END;"
    "CREATE TEMP TRIGGER IF NOT EXISTS asyncd_jobs_upd AFTER UPDATE OF status, plugin_type"
    " ON main.jobs WHEN OLD.status IS NOT NEW.status OR OLD.plugin_type IS NOT NEW.plugin_type"
    " BEGIN SELECT asyncd_job_count(OLD.plugin_type, OLD.status, NEW.plugin_type, NEW.status);"
    " END;";

/* The counts now, by one grouped count (a scan of the table, once). */
static int seed(struct store *s)
{
	static int64_t counts[METRICS_TYPES_MAX + 1][METRICS_STATUSES];
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT plugin_type, status, COUNT(*) FROM jobs"
			       " GROUP BY plugin_type, status",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "count jobs");
	memset(counts, 0, sizeof(counts));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int slot = metrics_status_slot(sqlite3_column_int(st, 1));
		if (slot >= 0)
			counts[metrics_type((const char *)sqlite3_column_text(st, 0))][slot] +=
			    sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "count jobs");
	for (int t = 0; t <= METRICS_TYPES_MAX; t++)
		for (int k = 0; k < METRICS_STATUSES; k++)
			metrics_set(&asyncd_metrics.jobs[t][k], counts[t][k]);
	return 0;
}

int sq_jobs_watch(struct store *s)
{
	if (s->watch)
		return 0;
	struct sq_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return AE_NOMEM;
	if (sqlite3_create_function(s->db, "asyncd_job_count", 4, SQLITE_UTF8, w, count_fn, NULL,
				    NULL) != SQLITE_OK) {
		free(w);
		return sq_fail(s, "register the job counter");
	}
	int rc = sq_exec(s, "BEGIN IMMEDIATE");
	if (rc == 0 && (rc = seed(s)) == 0)
		rc = sq_exec(s, triggers);
	if (rc == 0 && (rc = sq_exec(s, "COMMIT")) == 0) {
		s->watch = w;
		__atomic_store_n(&asyncd_metrics.jobs_live, 1, __ATOMIC_RELEASE);
		return 0;
	}
	sq_exec(s, "ROLLBACK");
	free(w);
	return rc;
}

int sq_jobs_oldest_ready(struct store *s, const char *plugin_type, int64_t *ret_created_on)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_OLDEST_READY);
	if (!st)
		return AE_STORE;
	sq_bind_text(st, 1, plugin_type);
	int rc = sqlite3_step(st);
	*ret_created_on = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(s, "oldest ready job");
}

void sq_watch_free(struct sq_watch *w)
{
	if (w) {
		__atomic_store_n(&asyncd_metrics.jobs_live, 0, __ATOMIC_RELEASE);
		free(w->v);
		free(w);
	}
}

void sq_watch_commit(struct sq_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].delta)
			__atomic_fetch_add(&asyncd_metrics.jobs[w->v[i].type][w->v[i].slot],
					   w->v[i].delta, __ATOMIC_RELAXED);
	w->n = w->mark = 0;
}

void sq_watch_rollback(struct sq_watch *w)
{
	if (w)
		w->n = w->mark = 0;
}

void sq_watch_savepoint(struct sq_watch *w)
{
	if (w)
		w->mark = w->n;
}

void sq_watch_rollback_to(struct sq_watch *w)
{
	if (w)
		w->n = w->mark;
}
