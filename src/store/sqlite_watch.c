/* Job counts by plug-in type and status for metrics, kept on the write connection: each
 * operation of the backend that inserts, deletes or changes the status of jobs says so with
 * sq_count() (it knows the rows: the jobs it inserts, the rows its RETURNING gives, or a look-up
 * by primary key before a fenced update); the changes wait in a log until the transaction
 * commits (a rollback drops them, one to the savepoint drops those after it), then go to
 * asyncd_metrics.jobs. The counts are seeded from the indexes when the watch starts (seed()),
 * so a scrape reads memory and never counts rows. SQLite's triggers and pre-update hook would see
 * every row without help but cost 15-35% more CPU per claim and outcome (measured; see
 * docs/metrics.md), so the few statements that change jobs count explicitly. */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/metrics.h"
#include "job/job.h"
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

void sq_count(struct store *s, const char *type, int old_status, int new_status)
{
	if (!s->watch || old_status == new_status)
		return;
	int t = metrics_type(type);
	if (old_status >= 0)
		add(s->watch, t, metrics_status_slot(old_status), -1);
	if (new_status >= 0)
		add(s->watch, t, metrics_status_slot(new_status), 1);
}

bool sq_watching(const struct store *s)
{
	return s->watch != NULL;
}

int sq_job_status(struct store *s, int64_t id, int *ret_status, char *type, size_t n)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_STATUS);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, id);
	int rc = sqlite3_step(st);
	*ret_status = -1;
	type[0] = 0;
	if (rc == SQLITE_ROW) {
		*ret_status = sqlite3_column_int(st, 0);
		snprintf(type, n, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(s, "read a job's status");
}

/* The seed's three counts, each from an index alone (never the rows with their data and trace):
 * Ready jobs by type (the claim's index holds it), Suspended and Locked ones by type and status
 * (few), Completed ones by status only: their type is exported nowhere, so they are seeded under
 * "_other" and the per-type changes later add up to the right totals. Column 2, when there, is
 * a count; else each row counts one. */
static const char *const seed_sql[] = {
    "SELECT plugin_type, 0 FROM jobs INDEXED BY jobs_ready WHERE state = 0",
    /* a claimed job not started yet (Locked, status 0) counts as In Progress, as in stats */
    "SELECT plugin_type, CASE WHEN state = 2 AND status = 0 THEN 20 ELSE status END"
    " FROM jobs INDEXED BY jobs_active WHERE state IN (1, 2)",
    "SELECT NULL, status, count(*) FROM jobs INDEXED BY jobs_completed WHERE state = 3"
    " GROUP BY status",
};

static int seed_one(struct store *s, const char *sql, int64_t counts[][METRICS_STATUSES])
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "count jobs");
	int rc, with_n = sqlite3_column_count(st) > 2;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int slot = metrics_status_slot(sqlite3_column_int(st, 1));
		const char *type = (const char *)sqlite3_column_text(st, 0);
		if (slot >= 0)
			counts[type ? metrics_type(type) : METRICS_TYPE_OTHER][slot] +=
			    with_n ? sqlite3_column_int64(st, 2) : 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "count jobs");
}

/* The counts now (once, at the start of the watch). */
static int seed(struct store *s)
{
	static int64_t counts[METRICS_TYPES_MAX + 1][METRICS_STATUSES];
	memset(counts, 0, sizeof(counts));
	for (size_t i = 0; i < sizeof(seed_sql) / sizeof(seed_sql[0]); i++) {
		int rc = seed_one(s, seed_sql[i], counts);
		if (rc < 0)
			return rc;
	}
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
	int rc = sq_exec(s, "BEGIN IMMEDIATE");
	if (rc == 0)
		rc = seed(s);
	if (rc == 0 && (rc = sq_exec(s, "COMMIT")) == 0) {
		s->watch = w;
		__atomic_store_n(&asyncd_metrics.jobs_live, 1, __ATOMIC_RELEASE);
		return 0;
	}
	sq_exec(s, "ROLLBACK");
	free(w);
	return rc;
}

struct heads {
	struct ready_head *v;
	int64_t *min_id;
	int *level; /* the last priority level each type was met at */
	size_t n, cap;
};

static int grow_heads(struct heads *h)
{
	size_t cap = h->cap ? h->cap * 2 : 16;
	struct ready_head *v = realloc(h->v, cap * sizeof(*v));
	if (v)
		h->v = v;
	int64_t *m = v ? realloc(h->min_id, cap * sizeof(*m)) : NULL;
	if (m)
		h->min_id = m;
	int *l = m ? realloc(h->level, cap * sizeof(*l)) : NULL;
	if (!l)
		return AE_NOMEM;
	h->level = l;
	h->cap = cap;
	return 0;
}

/* The index of type in h, added if new; -1 when out of memory. */
static int head_of(struct heads *h, const char *type)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].plugin_type, type))
			return (int)i;
	if (h->n == h->cap && grow_heads(h) < 0)
		return -1;
	memset(&h->v[h->n], 0, sizeof(h->v[h->n]));
	snprintf(h->v[h->n].plugin_type, sizeof(h->v[h->n].plugin_type), "%s", type);
	h->min_id[h->n] = INT64_MAX;
	h->level[h->n] = -1;
	return (int)h->n++;
}

/* Scan priority level p in claim order (at most STORE_READY_SCAN index entries, from the index
 * alone) until want types were met at it: each type's first id goes to h. */
static int scan_level(struct store *s, int p, int want, struct heads *h)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_READY_LEVEL);
	if (!st)
		return AE_STORE;
	sq_bind_i64(st, 1, p);
	sq_bind_i64(st, 2, STORE_READY_SCAN);
	int rc = SQLITE_DONE, met = 0;
	while (met < want && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		int k = head_of(h, type ? type : "");
		if (k < 0 || h->level[k] == p)
			continue;
		h->level[k] = p; /* ids grow within a level: the first met is the level's oldest */
		met++;
		if (id < h->min_id[k])
			h->min_id[k] = id;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(s, "scan Ready jobs");
}

static int64_t created_of(struct store *s, int64_t id)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_JOB_CREATED);
	if (!st)
		return 0;
	sq_bind_i64(st, 1, id);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return v;
}

/* Each type's first Ready job in id order over the levels (ids grow with creation); a level cut
 * short hides only jobs younger than its last one looked at. */
int sq_jobs_ready_heads(struct store *s, int want, struct ready_head **ret, size_t *ret_n)
{
	struct heads h = {0};
	int rc = 0;
	for (int p = JOB_PRIORITY_MIN; rc == 0 && want > 0 && p <= JOB_PRIORITY_MAX; p++)
		rc = scan_level(s, p, want, &h);
	for (size_t i = 0; rc == 0 && i < h.n; i++)
		h.v[i].created_on = created_of(s, h.min_id[i]);
	free(h.min_id);
	free(h.level);
	if (rc < 0) {
		free(h.v);
		return rc;
	}
	*ret = h.v;
	*ret_n = h.n;
	return 0;
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
