/* The SQL of a job listing (see list_sql.h). */
#include "store/list_sql.h"

#include "job/job.h"

/* The first failure (AE_TOOBIG, AE_NOMEM) is kept and what follows it is skipped. */
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (rc == 0)                                                                       \
			rc = buf_printf(b, __VA_ARGS__);                                           \
	} while (0)

int store_list_sql(const struct job_filter *f, const char *columns, char mark, struct buf *b)
{
	int rc = 0, k = 1;
	ADD("SELECT %s FROM jobs WHERE 1 = 1", columns);
	if (f->state >= 0)
		ADD(" AND state = %d", f->state);
	if (f->status >= 0)
		ADD(" AND status = %d", f->status);
	if (f->status >= 0 && f->state < 0)
		ADD(" AND state = %d", job_status_state(f->status));
	int st = f->state >= 0 ? f->state : f->status >= 0 ? job_status_state(f->status) : -1;
	if (st == JOB_SUSPENDED || st == JOB_LOCKED)
		ADD(" AND state IN (1, 2)"); /* lets the planner use the index of active jobs */
	if (f->plugin_type)
		ADD(" AND plugin_type = %c%d", mark, k++);
	if (f->owner)
		ADD(" AND owner = %c%d", mark, k++);
	if (f->error_code)
		ADD(" AND error_code = %c%d", mark, k++);
	if (f->step_id)
		ADD(" AND step_id = %lld", (long long)f->step_id);
	if (f->before_id)
		ADD(" AND id < %lld", (long long)f->before_id);
	if (f->completed_before)
		ADD(" AND state = 3 AND completed_on < %lld", (long long)f->completed_before);
	ADD(" ORDER BY id DESC LIMIT %d", f->limit);
	return rc;
}
