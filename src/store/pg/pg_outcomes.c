/* A group's job outcomes as one statement: UPDATE ... FROM unnest(arrays) RETURNING the rows the
 * fence let through (same id, host and attempt, still Locked). A pause or cancel asked for during
 * the run wins over the run's own outcome, as in PG_JOB_COMPLETE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
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
	" $13::text[], $14::bigint[]) AS u(nstate, nstatus, postpone, retry, ecode, msg, trace,"   \
	" output, started, completed, exec_ms, id, host, attempt)"                                 \
	" WHERE jobs.id = u.id AND jobs.host_id = u.host AND jobs.attempt = u.attempt"             \
	" AND jobs.state = 2"                                                                      \
	" RETURNING jobs.id, jobs.status, jobs.state, jobs.dependency_token IS NOT NULL"

#define COLS 14
#define ARRAY_MAX ((size_t)512 << 20)

/* One array literal element: NULL, a number, or a quoted text with \ and " escaped. */
static int add_text(struct buf *b, const char *v, bool first)
{
	int rc = first ? 0 : buf_append(b, ",", 1);
	if (rc < 0)
		return rc;
	if (!v)
		return buf_append(b, "NULL", 4);
	rc = buf_append(b, "\"", 1);
	for (const char *c = v; rc == 0 && *c; c++) {
		size_t run = strcspn(c, "\"\\");
		if (run) {
			rc = buf_append(b, c, run);
			c += run - 1;
			continue;
		}
		char esc[2] = {'\\', *c};
		rc = buf_append(b, esc, 2);
	}
	return rc < 0 ? rc : buf_append(b, "\"", 1);
}

static int add_int(struct buf *b, int64_t v, bool null, bool first)
{
	if (null)
		return buf_printf(b, "%sNULL", first ? "" : ",");
	return buf_printf(b, "%s%lld", first ? "" : ",", (long long)v);
}

/* Column col of completion c, appended to b. */
static int add_col(struct buf *b, int col, const struct job_completion *c, bool first)
{
	switch (col) {
	case 0:
		return add_int(b, c->next.state, false, first);
	case 1:
		return add_int(b, c->next.status, false, first);
	case 2:
		return add_int(b, c->next.postpone_until, !c->next.postpone_until, first);
	case 3:
		return add_int(b, c->next.retry_count, false, first);
	case 4:
		return add_text(b, c->next.error_code, first);
	case 5:
		return add_text(b, c->message, first);
	case 6:
		return add_text(b, c->trace, first);
	case 7:
		return add_text(b, c->output, first);
	case 8:
		return add_int(b, c->started_on, !c->started_on, first);
	case 9:
		return add_int(b, c->completed_on, false, first);
	case 10:
		return add_int(b, c->execution_time_ms, false, first);
	case 11:
		return add_int(b, c->id, false, first);
	case 12:
		return add_text(b, c->host_id, first);
	default:
		return add_int(b, c->attempt, false, first);
	}
}

static void read_rows(PGresult *r, struct job_completion **v, size_t n, bool *history, bool *wake)
{
	for (size_t i = 0; i < n; i++) {
		v[i]->applied = false;
		history[i] = wake[i] = false;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		int64_t id = pg_i64(r, row, 0), status = pg_i64(r, row, 1),
			state = pg_i64(r, row, 2);
		for (size_t i = 0; i < n; i++) {
			if (v[i]->id != id || v[i]->applied)
				continue;
			v[i]->applied = true;
			history[i] = !(status == JOB_ST_SUCCEEDED && v[i]->attempt == 1);
			wake[i] =
			    state == JOB_READY || (state == JOB_COMPLETED && pg_i64(r, row, 3));
			break;
		}
	}
}

int pg_outcomes_batch(struct store *s, struct job_completion **v, size_t n, bool *history,
		      bool *wake)
{
	struct buf cols[COLS];
	struct pgp p = {0};
	int rc = 0;
	for (int c = 0; c < COLS; c++)
		buf_init(&cols[c], ARRAY_MAX);
	for (int c = 0; rc == 0 && c < COLS; c++) {
		rc = buf_append(&cols[c], "{", 1);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = add_col(&cols[c], c, v[i], i == 0);
		if (rc == 0)
			rc = buf_append(&cols[c], "}", 2); /* with its NUL */
		pgp_text(&p, cols[c].data);
	}
	PGresult *r = NULL;
	if (rc == 0)
		rc = pg_run(s, -1, OUTCOMES_SQL, &p, &r, "record job outcomes");
	if (rc == 0) {
		read_rows(r, v, n, history, wake);
		PQclear(r);
	}
	for (int c = 0; c < COLS; c++)
		buf_done(&cols[c]);
	return rc;
}
