/* /api/v1/jobs: submit straight to a plug-in type (operation 54), list with filters and cursor
 * paging, statistics, one job with its trace, delete, and the user actions of SPEC §1 (cancel,
 * pause, resume, retry, postpone), each checked against the job's state inside the transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "job/rrule.h"
#include "common/error.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/jobops.h"
#include "exec/sysjobs.h"
#include "exec/writer.h"
#include "plugin/lifecycle.h"
#include "plugin/registry.h"
#include "store/store.h"

#define TOKEN_MAX 128
#define LIST_MAX 1000
#define LIST_DEFAULT 50

/* ---- submit ---- */

struct submit_call {
	struct job job;
	bool existed;	     /* out: the key names an identical job, existing_id */
	bool key_conflict;   /* out: the key names a job of other content, existing_id */
	int64_t existing_id; /* out */
};

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* data compared as JSON values (member order and spacing do not count), bytes first */
static bool same_data(const char *a, const char *b)
{
	if (same_str(a, b))
		return true;
	if (!a || !b)
		return false;
	json_t *x = json_loads(a, JSON_DECODE_ANY, NULL);
	json_t *y = json_loads(b, JSON_DECODE_ANY, NULL);
	bool eq = x && y && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

/* The fields that define what a submitted job does (docs/api.md); postpone_until is not one: a
 * client's retry computes "in an hour" anew, and the stored value changes as the job runs. */
static bool same_job(const struct job *a, const struct job *b)
{
	return same_str(a->plugin_type, b->plugin_type) && a->priority == b->priority &&
	       a->max_retries == b->max_retries &&
	       same_str(a->dependency_token, b->dependency_token) && same_data(a->data, b->data);
}

/* 1 when the idempotency key is taken (existed or key_conflict set), 0 when it is free. */
static int check_key(struct store *s, struct submit_call *c)
{
	struct job old;
	int64_t id;
	int rc = store_job_find_idempotent(s, c->job.idempotency_key, &id);
	if (rc == AE_NOTFOUND)
		return 0;
	if (rc < 0 || (rc = store_job_get(s, id, &old)) < 0)
		return rc;
	c->existing_id = id;
	if (same_job(&c->job, &old))
		c->existed = true;
	else
		c->key_conflict = true;
	job_done(&old);
	return 1;
}

/* A writer op: may run again after a rollback, so its outputs start afresh. */
static int submit_fn(struct store *s, void *arg)
{
	struct submit_call *c = arg;
	bool accepts;
	c->existed = c->key_conflict = false;
	c->existing_id = 0;
	int rc = c->job.idempotency_key ? check_key(s, c) : 0;
	if (rc != 0)
		return rc < 0 ? rc : c->key_conflict ? AE_CONFLICT : 0;
	rc = lifecycle_accepts_jobs(s, LC_ASSEMBLY, c->job.assembly_id, &accepts);
	if (rc < 0 || !accepts)
		return rc < 0 ? rc : AE_CONFLICT;
	return store_jobs_insert(s, &c->job, 1);
}

static int opt_string(struct api_req *r, json_t *body, const char *key, size_t max, char **ret)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return api_error(r, AE_INVAL, "%s must be a string of 1 to %zu bytes", key, max);
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : AE_NOMEM;
}

static int opt_int(struct api_req *r, json_t *body, const char *key, int lo, int hi, int *ret)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return api_error(r, AE_INVAL, "%s must be a whole number from %d to %d", key, lo,
				 hi);
	*ret = (int)json_integer_value(v);
	return 0;
}

static int opt_time(struct api_req *r, json_t *body, const char *key, int64_t *ret)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return 0;
	if (clock_parse_rfc3339(json_string_value(v), ret) < 0)
		return api_error(r, AE_INVAL,
				 "%s must be an RFC 3339 time such as 2026-01-31T09:00:00Z", key);
	return 0;
}

static int submit_data(struct api_req *r, json_t *body, const struct settings *cfg, struct job *j)
{
	json_t *data = json_object_get(body, "data");
	j->data = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
	if (!j->data)
		return AE_NOMEM;
	if ((int64_t)strlen(j->data) > cfg->max_data_bytes)
		return api_error(r, AE_TOOBIG, "data is %zu bytes; job.max_data_bytes allows %lld",
				 strlen(j->data), (long long)cfg->max_data_bytes);
	return 0;
}

static int submit_type(struct api_req *r, json_t *body, struct job *j)
{
	const char *type = json_string_value(json_object_get(body, "plugin_type"));
	if (!type)
		return api_field_error(r, body, "plugin_type", "a string such as \"samples.noop\"");
	if (strncasecmp(type, "asyncd.", 7) == 0)
		return api_error(r, AE_INVAL,
				 "plugin_type '%s': asyncd.* are asyncd's own system jobs (bulk "
				 "deletes and actions have their own endpoints)",
				 type);
	struct registry_snap *snap = registry_get();
	const struct assembly *a = registry_resolve_type(snap, type);
	if (a) {
		j->assembly_id = a->id;
		j->plugin_type = strdup(type);
		j->name = strdup(type);
	}
	registry_put(snap);
	if (!a)
		return api_error(r, AE_NOTFOUND,
				 "no registered assembly exports the plug-in type '%s' (register "
				 "it first: asyncctl assembly register FILE)",
				 type);
	return j->plugin_type && j->name ? 0 : AE_NOMEM;
}

/* recurrence_pattern, _start_time, _timezone: checked, and the first occurrence (at or after
 * the later of now and the start) becomes postpone_until. */
static int submit_recurrence(struct api_req *r, json_t *body, int64_t now, struct job *j)
{
	char err[300];
	int64_t first;
	int rc;
	if ((rc = opt_string(r, body, "recurrence_pattern", RRULE_MAX_LEN,
			     &j->recurrence_pattern)) < 0 ||
	    (rc = opt_time(r, body, "recurrence_start_time", &j->recurrence_start_time)) < 0 ||
	    (rc = opt_string(r, body, "recurrence_timezone", 128, &j->recurrence_timezone)) < 0)
		return rc;
	if (!j->recurrence_pattern) {
		if (j->recurrence_start_time || j->recurrence_timezone)
			return api_error(r, AE_INVAL,
					 "recurrence_start_time and recurrence_timezone need a "
					 "recurrence_pattern");
		return 0;
	}
	if (j->postpone_until)
		return api_error(r, AE_INVAL,
				 "postpone_until and recurrence_pattern: give "
				 "recurrence_start_time for the first run of a recurring job");
	if (!j->recurrence_start_time)
		j->recurrence_start_time = now;
	int64_t from = j->recurrence_start_time > now ? j->recurrence_start_time : now;
	rc = rrule_job_next(j, from - 1, &first, err, sizeof(err));
	if (rc == AE_NOTFOUND)
		return api_error(r, AE_INVAL,
				 "recurrence_pattern '%s' has no occurrence from %s on (see "
				 "docs/recurrence.md)",
				 j->recurrence_pattern, "its start");
	if (rc < 0)
		return api_error(r, AE_INVAL, "recurrence_%s: %s",
				 strstr(err, "time zone") ? "timezone" : "pattern", err);
	j->postpone_until = first;
	return 0;
}

static int submit_fields(struct api_req *r, json_t *body, const struct settings *cfg, struct job *j)
{
	int64_t now = clock_now_ms();
	int rc;
	j->operation_type = JOB_OP_EXECUTE_ASYNC;
	j->priority = JOB_PRIORITY_DEFAULT;
	j->max_retries = cfg->max_retries;
	j->depth = 1;
	j->created_on = j->modified_on = now;
	if ((rc = submit_type(r, body, j)) < 0 || (rc = submit_data(r, body, cfg, j)) < 0 ||
	    (rc = opt_int(r, body, "priority", JOB_PRIORITY_MIN, JOB_PRIORITY_MAX, &j->priority)) <
		0 ||
	    (rc = opt_int(r, body, "max_retries", 0, 1000, &j->max_retries)) < 0 ||
	    (rc = opt_time(r, body, "postpone_until", &j->postpone_until)) < 0 ||
	    (rc = opt_string(r, body, "dependency_token", TOKEN_MAX, &j->dependency_token)) < 0 ||
	    (rc = opt_string(r, body, "idempotency_key", TOKEN_MAX, &j->idempotency_key)) < 0)
		return rc;
	if ((rc = submit_recurrence(r, body, now, j)) < 0)
		return rc;
	char corr[37];
	uuid_v4(corr);
	j->correlation_id = strdup(corr);
	j->owner = strdup(r->user);
	bool later = j->postpone_until > now;
	j->state = later ? JOB_SUSPENDED : JOB_READY;
	j->status = later ? JOB_ST_WAITING : JOB_ST_WAITING_FOR_RESOURCES;
	if (!later)
		j->postpone_until = 0;
	return 0;
}

static void submit_conflict(struct api_req *r, const struct submit_call *c)
{
	if (!c->key_conflict) {
		api_error(r, AE_CONFLICT,
			  "the assembly of %s is being deleted: it takes no new jobs",
			  c->job.plugin_type);
		return;
	}
	api_error(r, AE_CONFLICT,
		  "idempotency_key '%s' was used for job %lld with other content (plugin_type, "
		  "data, priority, max_retries or dependency_token): use a new key, or the same "
		  "content",
		  c->job.idempotency_key, (long long)c->existing_id);
	json_object_set_new(json_object_get(r->out, "error"), "existing_id",
			    json_integer(c->existing_id));
}

int h_jobs_submit(struct api_req *r)
{
	struct settings cfg;
	struct submit_call c = {0};
	json_t *body;
	int rc = api_body(r, BODY_JOB, &body);
	if (rc < 0)
		return rc;
	settings_current(&cfg);
	rc = submit_fields(r, body, &cfg, &c.job);
	json_decref(body);
	if (rc == 0 && (rc = writer_call(r->api->w, submit_fn, &c)) == AE_CONFLICT)
		submit_conflict(r, &c);
	else if (rc < 0 && !r->out)
		api_error(r, rc, "the job could not be stored: %s", asyncd_strerror(rc));
	if (rc == 0) {
		if (r->api->engine)
			c.job.postpone_until ? engine_due(r->api->engine, c.job.postpone_until)
					     : engine_notify(r->api->engine);
		api_reply(r, c.existed ? 200 : 201,
			  json_pack("{s:I,s:b}", "id",
				    (json_int_t)(c.existed ? c.existing_id : c.job.id), "existing",
				    c.existed));
	}
	job_done(&c.job);
	return rc;
}

/* ---- reads ---- */

static int query_int(struct api_req *r, const char *key, long long lo, long long hi, long long dflt,
		     long long *ret)
{
	const char *v = api_query(r, key);
	char *end;
	if (!v || !*v) {
		*ret = dflt;
		return 0;
	}
	long long x = strtoll(v, &end, 10);
	if (*end || x < lo || x > hi)
		return api_error(r, AE_INVAL, "%s must be a whole number from %lld to %lld", key,
				 lo, hi);
	*ret = x;
	return 0;
}

/* A caller whose only roles are Submitter reads only its own jobs (SPEC §6): those it submitted
 * or whose events it raised, both recorded as the job's owner. */
static bool only_own(const struct api_req *r)
{
	return !(r->roles & (ROLE_SYSADMIN | ROLE_OPERATOR | ROLE_READER));
}

static int list_filter(struct api_req *r, struct job_filter *f)
{
	long long state = -1, status = -1, step = 0, limit = LIST_DEFAULT, cursor = 0;
	int rc;
	if ((rc = query_int(r, "state", 0, 3, -1, &state)) < 0 ||
	    (rc = query_int(r, "status", 0, 32, -1, &status)) < 0 ||
	    (rc = query_int(r, "step_id", 1, INT64_MAX, 0, &step)) < 0 ||
	    (rc = query_int(r, "limit", 1, LIST_MAX, LIST_DEFAULT, &limit)) < 0 ||
	    (rc = query_int(r, "cursor", 1, INT64_MAX, 0, &cursor)) < 0)
		return rc;
	if (status >= 0 && !job_status_valid((int)status))
		return api_error(r, AE_INVAL,
				 "status %lld is not a job status (0, 10, 20, 21, 22, "
				 "30, 31, 32)",
				 status);
	memset(f, 0, sizeof(*f));
	f->state = (int)state;
	f->status = (int)status;
	f->step_id = step;
	f->limit = (int)limit;
	f->before_id = cursor;
	f->owner = only_own(r) ? r->user : api_query(r, "owner");
	if (!only_own(r) && f->owner && (!*f->owner || strlen(f->owner) > 200))
		f->owner = NULL;
	f->plugin_type = api_query(r, "plugin_type");
	if (f->plugin_type && (!*f->plugin_type || strlen(f->plugin_type) > 200))
		f->plugin_type = NULL;
	f->error_code = api_query(r, "error_code");
	if (f->error_code && (!*f->error_code || strlen(f->error_code) > 200))
		f->error_code = NULL;
	const char *before = api_query(r, "completed_before");
	if (before && *before && clock_parse_rfc3339(before, &f->completed_before) < 0)
		return api_error(r, AE_INVAL,
				 "completed_before must be an RFC 3339 time such as "
				 "2026-01-31T00:00:00Z");
	return 0;
}

int h_jobs_list(struct api_req *r)
{
	struct job_filter f;
	struct job *jobs;
	size_t n;
	int rc = list_filter(r, &f);
	if (rc < 0)
		return rc;
	struct store *s = api_reader(r);
	rc = store_jobs_list(s, &f, &jobs, &n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot list jobs: %s", asyncd_strerror(rc));
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, job_to_json(&jobs[i], false));
	char cur[32];
	snprintf(cur, sizeof(cur), "%lld", n ? (long long)jobs[n - 1].id : 0LL);
	json_t *next = n == (size_t)f.limit ? json_string(cur) : json_null();
	job_array_free(jobs, n);
	return api_reply(r, 200, json_pack("{s:o,s:o}", "jobs", a, "next_cursor", next));
}

int h_jobs_stats(struct api_req *r)
{
	static const int statuses[] = {0, 10, 20, 21, 22, 30, 31, 32};
	int64_t by[33], total, maintenance = 0, m_by[33];
	struct store *s = api_reader(r);
	int rc = store_jobs_stats(s, by, &total);
	if (rc == 0)
		rc = sysjobs_uncount_maintenance(s, by, &total, &maintenance, m_by);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot count jobs: %s", asyncd_strerror(rc));
	json_t *o = json_object(), *m = json_object();
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		char k[8];
		snprintf(k, sizeof(k), "%d", statuses[i]);
		json_object_set_new(o, k, json_integer(by[statuses[i]]));
		json_object_set_new(m, k, json_integer(m_by[statuses[i]]));
	}
	return api_reply(r, 200,
			 json_pack("{s:o,s:I,s:I,s:o}", "by_status", o, "total", (json_int_t)total,
				   "maintenance_jobs", (json_int_t)maintenance,
				   "maintenance_by_status", m));
}

/* The job id and its attempt history, read on one reader connection. */
static int read_job(struct api_req *r, int64_t id, struct job *ret, struct job_attempt **ret_a,
		    size_t *ret_n)
{
	struct store *s = api_reader(r);
	int rc = store_job_get(s, id, ret);
	if (rc == 0 && (rc = store_job_attempts(s, id, ret_a, ret_n)) < 0)
		job_done(ret);
	api_reader_put(s);
	return rc;
}

int h_job_get(struct api_req *r)
{
	int64_t id;
	struct job j;
	struct job_attempt *a = NULL;
	size_t n = 0;
	int rc = api_param_id(r, 0, &id);
	if (rc < 0)
		return rc;
	rc = read_job(r, id, &j, &a, &n);
	if (rc == 0 && only_own(r) && (!j.owner || strcmp(j.owner, r->user))) {
		job_done(&j);
		job_attempts_free(a, n);
		rc = AE_NOTFOUND; /* the same answer as a job that does not exist */
	}
	if (rc == AE_NOTFOUND)
		return api_error(r, rc, "job %lld does not exist", (long long)id);
	if (rc < 0)
		return api_error(r, rc, "cannot read job %lld: %s", (long long)id,
				 asyncd_strerror(rc));
	json_t *o = job_to_json(&j, true);
	json_object_set_new(o, "attempts", job_attempts_to_json(a, n));
	json_object_set_new(o, "next_occurrences",
			    job_next_occurrences_json(&j, clock_now_ms(), 5));
	api_reply(r, 200, o);
	job_attempts_free(a, n);
	job_done(&j);
	return 0;
}

/* ---- actions ---- */

static int action_answer(struct api_req *r, struct jobop *op, int rc)
{
	if (rc == AE_NOTFOUND)
		return api_error(r, rc, "job %lld does not exist", (long long)op->id);
	if (rc == AE_CONFLICT && op->maintenance)
		return api_error(r, rc,
				 "cannot %s job %lld: it is a recurring maintenance job of "
				 "async-maintenance, which cannot be canceled, paused, resumed, "
				 "postponed or deleted; a System Administrator may change its "
				 "schedule (PATCH /api/v1/jobs/%lld with recurrence_pattern)",
				 job_action_name(op->act), (long long)op->id, (long long)op->id);
	if (rc == AE_CONFLICT)
		return api_error(r, rc, "cannot %s job %lld: it is %s/%s", job_action_name(op->act),
				 (long long)op->id, job_state_name(op->job.state),
				 job_status_name(op->job.status));
	if (rc < 0)
		return api_error(r, rc, "cannot %s job %lld: %s", job_action_name(op->act),
				 (long long)op->id, asyncd_strerror(rc));
	if (op->act == JOB_ACT_DELETE)
		return api_reply(r, 204, NULL);
	return api_reply(r, 200, job_to_json(&op->job, false));
}

static int run_action(struct api_req *r, struct jobop *op)
{
	int rc = jobops_apply(r->api->w, r->api->engine, op);
	rc = action_answer(r, op, rc);
	char target[48], detail[64];
	snprintf(target, sizeof(target), "job %lld", (long long)op->id);
	snprintf(detail, sizeof(detail), "from %s", job_state_name(op->state_before));
	char action[32];
	snprintf(action, sizeof(action), "job.%s", job_action_name(op->act));
	api_audit(r, action, target, rc < 0 ? "refused" : "ok", detail);
	job_done(&op->job);
	return rc;
}

static int parse_action(struct api_req *r, struct jobop *c)
{
	static const struct {
		const char *name;
		enum job_action act;
	} names[] = {{"cancel", JOB_ACT_CANCEL},
		     {"pause", JOB_ACT_PAUSE},
		     {"resume", JOB_ACT_RESUME},
		     {"retry", JOB_ACT_RETRY},
		     {"postpone", JOB_ACT_POSTPONE}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(r->params[1], names[i].name)) {
			c->act = names[i].act;
			return 0;
		}
	return api_error(r, AE_NOTFOUND,
			 "no such job action: %s (use cancel, pause, resume, retry or postpone)",
			 r->params[1]);
}

static int postpone_until(struct api_req *r, struct jobop *c)
{
	json_t *body;
	int rc = api_body(r, BODY_POSTPONE, &body);
	if (rc < 0)
		return rc;
	rc = opt_time(r, body, "until", &c->until);
	json_decref(body);
	if (rc == 0 && c->until <= clock_now_ms())
		rc = api_error(r, AE_INVAL, "until must be an RFC 3339 time in the future");
	return rc;
}

/* cancel, pause, resume and retry take no body; an empty object is accepted too. */
static int no_body(struct api_req *r)
{
	json_t *body;
	int rc = api_body(r, BODY_JOB_ACTION, &body);
	if (rc == 0)
		json_decref(body);
	return rc;
}

int h_job_action(struct api_req *r)
{
	struct jobop c = {0};
	int rc = api_param_id(r, 0, &c.id);
	if (rc == 0)
		rc = parse_action(r, &c);
	if (rc == 0 && c.act == JOB_ACT_POSTPONE)
		rc = postpone_until(r, &c);
	else if (rc == 0 && r->body.len)
		rc = no_body(r);
	return rc < 0 ? rc : run_action(r, &c);
}

int h_job_delete(struct api_req *r)
{
	struct jobop c = {.act = JOB_ACT_DELETE};
	int rc = api_param_id(r, 0, &c.id);
	return rc < 0 ? rc : run_action(r, &c);
}
