/* Bulk actions (POST /api/v1/jobs/bulk), bulk deletes (POST /api/v1/bulk-deletes) and the
 * schedule of a recurring job (PATCH /api/v1/jobs/ID). Small sets are done in the request (one
 * writer transaction per 1,000 jobs); larger ones become a system job (exec/sysjobs.c) whose
 * progress is its output. docs/system-jobs.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/roles.h"
#include "exec/engine.h"
#include "exec/jobops.h"
#include "exec/sysjobs.h"
#include "exec/writer.h"
#include "job/rrule.h"
#include "store/store.h"

#define BULK_IDS_MAX 100000

static int parse_bulk_action(struct api_req *r, const char *name, enum job_action *ret)
{
	if (job_bulk_action(name, ret))
		return 0;
	return api_error(r, AE_INVAL,
			 "action '%s' is not a bulk action (cancel, retry, resume, delete)",
			 name ? name : "");
}

static json_t *counts_json(const char *action, int64_t matched, const struct jobops_counts *c)
{
	return json_pack("{s:s,s:I,s:I,s:I,s:I}", "action", action, "matched", (json_int_t)matched,
			 "done", (json_int_t)c->done, "not_allowed", (json_int_t)c->not_allowed,
			 "not_found", (json_int_t)c->not_found);
}

struct insert_call {
	struct job *job;
};

static int insert_fn(struct store *s, void *arg)
{
	struct insert_call *c = arg;
	return store_jobs_insert(s, c->job, 1);
}

/* Store system job j and tell the engine. */
static int insert_sysjob(struct api_req *r, struct job *j)
{
	struct insert_call c = {j};
	int rc = writer_call(r->api->w, insert_fn, &c);
	if (rc < 0)
		return api_error(r, rc, "the job could not be stored: %s", asyncd_strerror(rc));
	if (r->api->engine)
		j->postpone_until ? engine_due(r->api->engine, j->postpone_until)
				  : engine_notify(r->api->engine);
	return 0;
}

/* A bulk action too large for one request: a system job of operation type 101. */
static int bulk_as_job(struct api_req *r, const char *action, json_t *body, int64_t matched)
{
	struct job j = {0};
	char name[96], err[256];
	json_t *data = json_pack("{s:s}", "action", action);
	json_t *what = json_object_get(body, "ids") ? json_object_get(body, "ids")
						    : json_object_get(body, "filter");
	json_object_set(data, json_object_get(body, "ids") ? "ids" : "filter", what);
	snprintf(name, sizeof(name), "Bulk %s", action);
	int rc = sysjob_make(&j, SYSJOB_BULK_ACTION, JOB_OP_BULK_ACTION, name, r->user, data, NULL,
			     0, NULL, clock_now_ms(), err, sizeof(err));
	if (rc < 0)
		rc = api_error(r, rc, "cannot make the bulk job: %s", asyncd_strerror(rc));
	if (rc == 0)
		rc = insert_sysjob(r, &j);
	if (rc == 0) {
		api_reply(r, 202,
			  json_pack("{s:s,s:I,s:I,s:s}", "action", action, "job_id",
				    (json_int_t)j.id, "matched_at_least", (json_int_t)matched,
				    "note",
				    "too many jobs for one request: a system job does it; "
				    "its output counts the outcomes"));
		char target[48];
		snprintf(target, sizeof(target), "job %lld", (long long)j.id);
		api_audit(r, name, target, "ok", "as a system job");
	}
	job_done(&j);
	return rc;
}

static int bulk_now(struct api_req *r, const char *action, enum job_action act, const int64_t *ids,
		    size_t n)
{
	struct jobops_counts c = {0};
	int rc = jobops_apply_many(r->api->w, r->api->engine, act, ids, n, NULL, 0, &c);
	if (rc < 0)
		return api_error(r, rc, "the bulk %s failed: %s", action, asyncd_strerror(rc));
	char name[32], detail[128];
	snprintf(name, sizeof(name), "bulk %s", action);
	snprintf(detail, sizeof(detail), "%zu matched, %lld done, %lld not allowed, %lld not found",
		 n, (long long)c.done, (long long)c.not_allowed, (long long)c.not_found);
	api_audit(r, name, "jobs", "ok", detail);
	return api_reply(r, 200, counts_json(action, (int64_t)n, &c));
}

static int bulk_ids(struct api_req *r, const char *action, enum job_action act, json_t *body)
{
	json_t *arr = json_object_get(body, "ids"), *v;
	size_t n = json_array_size(arr), i;
	if (n == 0 || n > BULK_IDS_MAX)
		return api_error(r, AE_INVAL, "ids must list 1 to %d job ids", BULK_IDS_MAX);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return api_error(r, AE_INVAL, "ids[%zu] is not a job id", i);
	}
	if (n > JOBOPS_BATCH)
		return bulk_as_job(r, action, body, (int64_t)n);
	int64_t ids[JOBOPS_BATCH];
	json_array_foreach(arr, i, v) ids[i] = json_integer_value(v);
	return bulk_now(r, action, act, ids, n);
}

static int bulk_filter(struct api_req *r, const char *action, enum job_action act, json_t *body)
{
	struct job_filter f;
	char err[256];
	if (sysjob_filter_parse(json_object_get(body, "filter"), clock_now_ms(), &f, err,
				sizeof(err)) < 0)
		return api_error(r, AE_INVAL, "%s", err);
	f.limit = JOBOPS_BATCH + 1;
	struct job *jobs = NULL;
	size_t n = 0;
	struct store *s = api_reader(r);
	int rc = s ? store_jobs_list(s, &f, &jobs, &n) : AE_STORE;
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot list the jobs: %s", asyncd_strerror(rc));
	if (n > JOBOPS_BATCH) {
		job_array_free(jobs, n);
		return bulk_as_job(r, action, body, (int64_t)n);
	}
	int64_t *ids = calloc(n ? n : 1, sizeof(*ids));
	for (size_t i = 0; ids && i < n; i++)
		ids[i] = jobs[i].id;
	job_array_free(jobs, n);
	rc = ids ? bulk_now(r, action, act, ids, n) : AE_NOMEM;
	free(ids);
	return rc;
}

int h_jobs_bulk(struct api_req *r)
{
	json_t *body;
	enum job_action act = JOB_ACT_CANCEL;
	int rc = api_body(r, BODY_JOB_BULK, &body);
	if (rc < 0)
		return rc;
	const char *action = json_string_value(json_object_get(body, "action"));
	bool ids = json_object_get(body, "ids"), filter = json_object_get(body, "filter");
	rc = parse_bulk_action(r, action, &act);
	if (rc == 0 && ids == filter)
		rc = api_error(r, AE_INVAL, "give either ids (a list of job ids) or filter");
	if (rc == 0)
		rc = ids ? bulk_ids(r, action, act, body) : bulk_filter(r, action, act, body);
	json_decref(body);
	return rc;
}

/* ---- bulk deletes ---- */

static int opt_text(struct api_req *r, json_t *body, const char *key, const char **ret)
{
	json_t *v = json_object_get(body, key);
	*ret = json_string_value(v);
	if (v && (!*ret || !**ret || strlen(*ret) > RRULE_MAX_LEN))
		return api_error(r, AE_INVAL, "%s must be a string of 1 to %d bytes", key,
				 RRULE_MAX_LEN);
	return 0;
}

/* The recurrence members of body: pattern (NULL: none), start (0: now), zone (NULL: UTC). */
static int recurrence_members(struct api_req *r, json_t *body, const char **pattern, int64_t *start,
			      const char **zone)
{
	const char *t = NULL;
	int rc;
	*start = 0;
	if ((rc = opt_text(r, body, "recurrence_pattern", pattern)) < 0 ||
	    (rc = opt_text(r, body, "recurrence_start_time", &t)) < 0 ||
	    (rc = opt_text(r, body, "recurrence_timezone", zone)) < 0)
		return rc;
	if (t && clock_parse_rfc3339(t, start) < 0)
		return api_error(r, AE_INVAL,
				 "recurrence_start_time must be an RFC 3339 time such as "
				 "2026-01-31T09:00:00Z");
	if (!*pattern && (t || *zone))
		return api_error(r, AE_INVAL,
				 "recurrence_start_time and recurrence_timezone need a "
				 "recurrence_pattern");
	return 0;
}

int h_bulk_deletes_create(struct api_req *r)
{
	json_t *body;
	struct job_filter f;
	struct job j = {0};
	char err[300];
	const char *pattern, *zone;
	int64_t start, now = clock_now_ms();
	int rc = api_body(r, BODY_BULK_DELETE, &body);
	if (rc < 0)
		return rc;
	rc = recurrence_members(r, body, &pattern, &start, &zone);
	if (rc == 0 &&
	    sysjob_filter_parse(json_object_get(body, "filter"), now, &f, err, sizeof(err)) < 0)
		rc = api_error(r, AE_INVAL, "%s", err);
	char *filter_text = json_dumps(json_object_get(body, "filter"), JSON_COMPACT);
	char name[200];
	snprintf(name, sizeof(name), "Bulk delete %.180s", filter_text ? filter_text : "");
	free(filter_text);
	if (rc == 0 && sysjob_make(&j, SYSJOB_BULK_DELETE, JOB_OP_BULK_DELETE, name, r->user,
				   json_pack("{s:O}", "filter", json_object_get(body, "filter")),
				   pattern, start, zone, now, err, sizeof(err)) < 0)
		rc = api_error(r, AE_INVAL, "recurrence_%s: %s",
			       strstr(err, "time zone") ? "timezone" : "pattern", err);
	if (rc == 0)
		rc = insert_sysjob(r, &j);
	if (rc == 0) {
		char target[48];
		snprintf(target, sizeof(target), "job %lld", (long long)j.id);
		api_audit(r, "bulk delete", target, "ok", name);
		api_reply(r, 201, json_pack("{s:I}", "id", (json_int_t)j.id));
	}
	job_done(&j);
	json_decref(body);
	return rc;
}

/* ---- a recurring job's schedule ---- */

struct schedule_call {
	struct job job; /* in: id and the new recurrence; out: the job after */
	bool maintenance, recurring, admin;
	int64_t next;
	char err[300];
};

static int schedule_fn(struct store *s, void *arg)
{
	struct schedule_call *c = arg;
	struct job old = {0};
	int rc = store_job_get(s, c->job.id, &old);
	if (rc < 0)
		return rc;
	c->maintenance = job_is_maintenance(&old);
	c->recurring = old.recurrence_pattern != NULL;
	int state = old.state;
	job_done(&old);
	if (!c->recurring || (c->maintenance && !c->admin))
		return AE_CONFLICT;
	int64_t now = clock_now_ms();
	int64_t from = c->job.recurrence_start_time > now ? c->job.recurrence_start_time : now;
	rc = rrule_job_next(&c->job, from - 1, &c->next, c->err, sizeof(c->err));
	if (rc == AE_NOTFOUND)
		snprintf(c->err, sizeof(c->err), "'%s' has no occurrence from now on",
			 c->job.recurrence_pattern);
	if (rc < 0)
		return AE_INVAL;
	c->job.postpone_until = state == JOB_SUSPENDED ? c->next : 0;
	return store_job_set_recurrence(s, &c->job, now);
}

static int schedule_answer(struct api_req *r, struct schedule_call *c, int rc)
{
	long long id = (long long)c->job.id;
	if (rc == AE_NOTFOUND)
		return api_error(r, rc, "job %lld does not exist", id);
	if (rc == AE_CONFLICT && !c->recurring)
		return api_error(r, rc,
				 "job %lld is not a recurring job: only a recurring job's schedule "
				 "can be changed",
				 id);
	if (rc == AE_CONFLICT)
		return api_error(r, AE_FORBIDDEN,
				 "job %lld is a maintenance job: changing its schedule needs the "
				 "System Administrator role",
				 id);
	if (rc == AE_INVAL)
		return api_error(r, rc, "recurrence_%s: %s",
				 strstr(c->err, "time zone") ? "timezone" : "pattern", c->err);
	if (rc < 0)
		return api_error(r, rc, "cannot change job %lld: %s", id, asyncd_strerror(rc));
	return 0;
}

int h_job_patch(struct api_req *r)
{
	json_t *body;
	struct schedule_call c = {.admin = (r->roles & ROLE_SYSADMIN) != 0};
	const char *pattern, *zone;
	int rc = api_param_id(r, 0, &c.job.id);
	if (rc == 0 && (rc = api_body(r, BODY_JOB_PATCH, &body)) == 0) {
		rc = recurrence_members(r, body, &pattern, &c.job.recurrence_start_time, &zone);
		c.job.recurrence_pattern = pattern ? strdup(pattern) : NULL;
		c.job.recurrence_timezone = zone ? strdup(zone) : NULL;
		json_decref(body);
	}
	if (rc < 0) {
		job_done(&c.job);
		return rc;
	}
	if (!c.job.recurrence_start_time) /* now, on the minute: BYHOUR=3 means 03:00:00 */
		c.job.recurrence_start_time = clock_now_ms() / 60000 * 60000;
	rc = schedule_answer(r, &c, writer_call(r->api->w, schedule_fn, &c));
	char target[48];
	snprintf(target, sizeof(target), "job %lld", (long long)c.job.id);
	api_audit(r, "schedule", target, rc < 0 ? "refused" : "ok", c.job.recurrence_pattern);
	if (rc == 0) {
		if (r->api->engine && c.job.postpone_until)
			engine_due(r->api->engine, c.job.postpone_until);
		struct job j = {0};
		struct store *s = api_reader(r);
		rc = s ? store_job_get(s, c.job.id, &j) : AE_STORE;
		api_reader_put(s);
		if (rc == 0) {
			json_t *o = job_to_json(&j, false);
			json_object_set_new(o, "next_occurrences",
					    job_next_occurrences_json(&j, clock_now_ms(), 5));
			api_reply(r, 200, o);
		} else {
			api_error(r, rc, "the schedule was changed; reading the job failed");
		}
		job_done(&j);
	}
	job_done(&c.job);
	return rc;
}

/* ---- hourly statistics (the statistics job's table) ---- */

int h_jobs_stats_hourly(struct api_req *r)
{
	const char *since = api_query(r, "since");
	int64_t from = clock_now_ms() - 24LL * 3600 * 1000;
	struct stats_hour *rows = NULL;
	size_t n = 0;
	if (since && *since && clock_parse_rfc3339(since, &from) < 0)
		return api_error(r, AE_INVAL,
				 "since must be an RFC 3339 time such as 2026-01-31T00:00:00Z");
	struct store *s = api_reader(r);
	int rc = s ? store_stats_hourly_list(s, from / 3600000 * 3600000, &rows, &n) : AE_STORE;
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot read the hourly statistics: %s",
				 asyncd_strerror(rc));
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_pack("{s:o,s:s,s:i,s:I}", "hour",
						     time_json(rows[i].hour), "plugin_type",
						     rows[i].plugin_type, "status", rows[i].status,
						     "count", (json_int_t)rows[i].count));
	free(rows);
	return api_reply(r, 200, json_pack("{s:o}", "hours", arr));
}
