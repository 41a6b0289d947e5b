/* A group's job outcomes as one statement: UPDATE ... FROM unnest(arrays) RETURNING the rows the
 * fence let through (same id, host and attempt, still Locked). It is planned at each call (not
 * prepared: a generic plan cannot know the arrays' sizes, and nested the unnest() inside a loop
 * over the rows, 24 ms for 219 outcomes), and the plan must not depend
 * on the table's statistics: the ids are given again as = ANY($12), so that the rows are read by
 * key, and "still Locked" is a join clause (state = u.locked, an array of 2s), not a condition on
 * jobs alone, which after an ANALYZE of an idle table makes the planner expect one Locked row and
 * rescan the whole unnest() once per row (quadratic: 24 ms instead of 2 ms for 219 outcomes). A
 * pause or cancel asked for during the run wins over the run's own outcome, as in PG_JOB_COMPLETE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/util.h"
#include "store/pg/pg_array.h"
#include "store/pg/pg_int.h"

#define OUTCOMES_SQL                                                                               \
	"UPDATE jobs SET"                                                                          \
	" state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE u.nstate END,"                    \
	" status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE u.nstatus END,"                \
	" postpone_until = CASE status WHEN 21 THEN postpone_until WHEN 22 THEN NULL"              \
	" ELSE u.postpone END,"                                                                    \
	" retry_count = CASE WHEN status IN (21, 22) THEN retry_count ELSE u.retry END,"           \
	" error_code = CASE status WHEN 22 THEN coalesce(error_code, 'canceled')"                  \
	" WHEN 21 THEN 'paused' ELSE u.ecode END,"                                                 \
	" message = CASE WHEN status IN (21, 22) THEN message ELSE u.msg END,"                     \
	" trace = u.trace, output = u.output, started_on = u.started,"                             \
	" completed_on = CASE WHEN status = 22 OR u.nstate = 3 THEN u.completed ELSE NULL END,"    \
	" execution_time_ms = u.exec_ms, modified_on = u.completed, host_id = NULL,"               \
	" lease_expires_on = NULL"                                                                 \
	" FROM unnest($1::int[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::text[],"      \
	" $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],"      \
	" $13::text[], $14::bigint[], array_fill(2, ARRAY[cardinality($12::bigint[])]))"           \
	" AS u(nstate, nstatus, postpone, retry, ecode, msg, trace, output, started, completed,"   \
	" exec_ms, id, host, attempt, locked)"                                                     \
	" WHERE jobs.id = ANY($12::bigint[]) AND jobs.id = u.id AND jobs.host_id = u.host"         \
	" AND jobs.attempt = u.attempt AND jobs.state = u.locked"                                  \
	" RETURNING jobs.id, jobs.status, jobs.state, jobs.dependency_token IS NOT NULL"

#define COLS 14

/* Column col of completion c, appended to a. */
static void add_col(struct pga *a, int col, const struct job_completion *c)
{
	switch (col) {
	case 0:
		return pga_int(a, c->next.state);
	case 1:
		return pga_int(a, c->next.status);
	case 2:
		return pga_int_or_null(a, c->next.postpone_until, !c->next.postpone_until);
	case 3:
		return pga_int(a, c->next.retry_count);
	case 4:
		return pga_text(a, c->next.error_code);
	case 5:
		return pga_text(a, c->message);
	case 6:
		return pga_text(a, c->trace);
	case 7:
		return pga_text(a, c->output);
	case 8:
		return pga_int_or_null(a, c->started_on, !c->started_on);
	case 9:
		return pga_int(a, c->completed_on);
	case 10:
		return pga_int(a, c->execution_time_ms);
	case 11:
		return pga_int(a, c->id);
	case 12:
		return pga_text(a, c->host_id);
	default:
		return pga_int(a, c->attempt);
	}
}

/* Indexes into the batch v, by job id (qsort_r). */
static int cmp_by_id(const void *a, const void *b, void *v)
{
	struct job_completion **batch = v;
	int64_t x = batch[*(const size_t *)a]->id, y = batch[*(const size_t *)b]->id;
	return x < y ? -1 : x > y;
}

/* The index (into v) of the first outcome of job id that no row has matched yet, or -1; order
 * holds v's indexes sorted by id. */
static ssize_t find_unapplied(struct job_completion **v, const size_t *order, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[order[mid]]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && v[order[lo]]->id == id; lo++)
		if (!v[order[lo]]->applied)
			return (ssize_t)order[lo];
	return -1;
}

/* Match the rows the statement returned to the outcomes, by id (n log n: a group can hold
 * thousands). */
static int read_rows(PGresult *r, struct job_completion **v, size_t n, bool *history, bool *wake)
{
	size_t *order = malloc(n * sizeof(*order));
	if (!order)
		return AE_NOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i]->applied = false;
		history[i] = wake[i] = false;
		order[i] = i;
	}
	qsort_r(order, n, sizeof(*order), cmp_by_id, v);
	for (int row = 0; row < PQntuples(r); row++) {
		int64_t status = pg_i64(r, row, 1), state = pg_i64(r, row, 2);
		ssize_t i = find_unapplied(v, order, n, pg_i64(r, row, 0));
		if (i < 0)
			continue;
		v[i]->applied = true;
		history[i] = !(status == JOB_ST_SUCCEEDED && v[i]->attempt == 1);
		wake[i] = state == JOB_READY || (state == JOB_COMPLETED && pg_i64(r, row, 3));
	}
	free(order);
	return 0;
}

int pg_outcomes_batch(struct store *s, struct job_completion **v, size_t n, bool *history,
		      bool *wake)
{
	struct pga cols[COLS];
	struct pgp p = {0};
	for (int c = 0; c < COLS; c++) {
		pga_init(&cols[c]);
		for (size_t i = 0; i < n; i++)
			add_col(&cols[c], c, v[i]);
	}
	int rc = pga_bind(cols, COLS, &p);
	PGresult *r = NULL;
	if (rc == 0)
		rc = pg_run(s, -1, OUTCOMES_SQL, &p, &r, "record job outcomes");
	if (rc == 0) {
		rc = read_rows(r, v, n, history, wake);
		PQclear(r);
	}
	pga_done_all(cols, COLS);
	return rc;
}
