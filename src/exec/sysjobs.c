/* System jobs (see sysjobs.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncd/plugin.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/jobops.h"
#include "exec/sysjobs.h"
#include "exec/writer.h"
#include "job/rrule.h"

#define CLEANUP_BATCH 1000
#define PROGRESS_EVERY_MS 500

static int maintenance_on;
static struct sysjobs_stats totals;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;

void sysjobs_set_maintenance(bool running)
{
	__atomic_store_n(&maintenance_on, running ? 1 : 0, __ATOMIC_RELAXED);
}

void sysjobs_stats(struct sysjobs_stats *ret)
{
	pthread_mutex_lock(&totals_lock);
	*ret = totals;
	pthread_mutex_unlock(&totals_lock);
}

static void add_totals(int64_t jobs, int64_t audit, int64_t attempts)
{
	pthread_mutex_lock(&totals_lock);
	totals.runs++;
	totals.jobs_deleted += (unsigned long long)jobs;
	totals.audit_deleted += (unsigned long long)audit;
	totals.attempts_deleted += (unsigned long long)attempts;
	pthread_mutex_unlock(&totals_lock);
}

const char *const sysjob_maintenance_keys[] = {"system:cleanup-succeeded", "system:cleanup-failed",
					       "system:cleanup-audit", "system:cleanup-attempts",
					       "system:statistics"};
const size_t sysjob_n_maintenance_keys =
    sizeof(sysjob_maintenance_keys) / sizeof(sysjob_maintenance_keys[0]);

int sysjobs_uncount_maintenance(struct store *s, int64_t by_status[33], int64_t *total,
				int64_t *ret_n, int64_t ret_by_status[33])
{
	*ret_n = 0;
	memset(ret_by_status, 0, 33 * sizeof(*ret_by_status));
	for (size_t i = 0; i < sysjob_n_maintenance_keys; i++) {
		int64_t id;
		struct job j = {0};
		int rc = store_job_find_idempotent(s, sysjob_maintenance_keys[i], &id);
		if (rc == 0)
			rc = store_job_get(s, id, &j);
		if (rc == AE_NOTFOUND)
			continue;
		if (rc < 0)
			return rc;
		/* counted as the store counts: a claimed one not started yet with In Progress */
		int st = j.state == JOB_LOCKED && j.status == JOB_ST_WAITING_FOR_RESOURCES
			     ? JOB_ST_IN_PROGRESS
			     : j.status;
		if (job_is_maintenance(&j) && st >= 0 && st <= 32 && by_status[st] > 0) {
			by_status[st]--;
			ret_by_status[st]++;
			(*total)--;
			(*ret_n)++;
		}
		job_done(&j);
	}
	return 0;
}

bool sysjob_is(const struct job *j)
{
	return j->plugin_type && strncasecmp(j->plugin_type, "asyncd.", 7) == 0;
}

/* ---- filters ---- */

static int bad(char *err, size_t n, const char *member, const char *what)
{
	snprintf(err, n, "filter.%s %s", member, what);
	return AE_INVAL;
}

static int filter_member(const char *k, json_t *v, int64_t now, struct job_filter *f, char *err,
			 size_t n)
{
	if (!strcmp(k, "state")) {
		if (!json_is_integer(v) || !job_state_valid((int)json_integer_value(v)))
			return bad(err, n, k, "must be a state number 0..3");
		f->state = (int)json_integer_value(v);
	} else if (!strcmp(k, "status")) {
		if (!json_is_integer(v) || !job_status_valid((int)json_integer_value(v)))
			return bad(err, n, k, "must be a status number (0, 10, 20-22, 30-32)");
		f->status = (int)json_integer_value(v);
	} else if (!strcmp(k, "plugin_type") || !strcmp(k, "error_code")) {
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 256)
			return bad(err, n, k, "must be a string of 1 to 256 bytes");
		*(!strcmp(k, "plugin_type") ? &f->plugin_type : &f->error_code) =
		    json_string_value(v);
	} else if (!strcmp(k, "step_id")) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return bad(err, n, k, "must be a step id (a whole number above 0)");
		f->step_id = json_integer_value(v);
	} else if (!strcmp(k, "completed_before")) {
		if (!json_is_string(v) ||
		    clock_parse_rfc3339(json_string_value(v), &f->completed_before) < 0)
			return bad(err, n, k,
				   "must be an RFC 3339 time such as 2026-01-31T00:00:00Z");
	} else if (!strcmp(k, "older_than")) {
		if (!json_is_number(v) || json_number_value(v) < 0 ||
		    json_number_value(v) > 3650 * 86400.0)
			return bad(err, n, k, "must be a number of seconds (0 to 10 years)");
		f->completed_before = now - (int64_t)(json_number_value(v) * 1000.0);
	} else {
		snprintf(err, n,
			 "filter.%s is not a filter member (state, status, plugin_type, step_id, "
			 "error_code, completed_before, older_than)",
			 k);
		return AE_INVAL;
	}
	return 0;
}

int sysjob_filter_parse(json_t *obj, int64_t now, struct job_filter *f, char *err, size_t n_err)
{
	const char *k;
	json_t *v;
	memset(f, 0, sizeof(*f));
	f->state = f->status = -1;
	if (!json_is_object(obj) || json_object_size(obj) == 0) {
		snprintf(
		    err, n_err,
		    "filter must be an object with at least one of state, status, plugin_type, "
		    "step_id, error_code, completed_before, older_than");
		return AE_INVAL;
	}
	json_object_foreach(obj, k, v)
	{
		int rc = filter_member(k, v, now, f, err, n_err);
		if (rc < 0)
			return rc;
	}
	if (f->state >= 0 && f->status >= 0 && job_status_state(f->status) != f->state) {
		snprintf(err, n_err, "filter: status %d is not a status of state %d", f->status,
			 f->state);
		return AE_INVAL;
	}
	return 0;
}

int sysjob_make(struct job *j, const char *type, int op, const char *name, const char *owner,
		json_t *data, const char *pattern, int64_t start, const char *zone, int64_t now,
		char *err, size_t n_err)
{
	j->operation_type = op;
	j->priority = 3; /* ahead of default work: they keep the table small */
	j->depth = 1;
	j->created_on = j->modified_on = now;
	j->plugin_type = strdup(type);
	j->name = strdup(name);
	j->owner = strdup(owner);
	j->data = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!j->plugin_type || !j->name || !j->owner || !j->data)
		return AE_NOMEM;
	j->state = JOB_READY;
	j->status = JOB_ST_WAITING_FOR_RESOURCES;
	if (!pattern)
		return 0;
	j->recurrence_pattern = strdup(pattern);
	j->recurrence_timezone = zone ? strdup(zone) : NULL;
	j->recurrence_start_time = start ? start : now;
	if (!j->recurrence_pattern || (zone && !j->recurrence_timezone))
		return AE_NOMEM;
	int64_t from = j->recurrence_start_time > now ? j->recurrence_start_time : now, first;
	int rc = rrule_job_next(j, from - 1, &first, err, n_err);
	if (rc == AE_NOTFOUND)
		snprintf(err, n_err, "'%s' has no occurrence from its start on", pattern);
	if (rc < 0)
		return AE_INVAL;
	if (first > now) {
		j->state = JOB_SUSPENDED;
		j->status = JOB_ST_WAITING;
		j->postpone_until = first;
	}
	return 0;
}

/* ---- running ---- */

struct sysrun {
	struct writer *w;
	struct engine *e;
	struct store *reader;
	const struct job *j;
	const int *stop;
	struct run_result *r;
	json_t *data;
	int64_t matched, done, not_allowed, not_found;
	const char *done_name; /* "deleted" or "done" */
	int64_t last_progress;
};

static bool stopped(const struct sysrun *x)
{
	return __atomic_load_n(x->stop, __ATOMIC_RELAXED) != 0;
}

static json_t *progress_json(const struct sysrun *x)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "matched", (json_int_t)x->matched, x->done_name,
			 (json_int_t)x->done, "not_allowed", (json_int_t)x->not_allowed,
			 "not_found", (json_int_t)x->not_found);
}

struct progress_call {
	int64_t id, attempt;
	char *output;
};

static int progress_fn(struct store *s, void *arg)
{
	struct progress_call *p = arg;
	int rc = store_job_progress(s, p->id, p->attempt, p->output);
	return rc == AE_NOTFOUND ? 0 : rc;
}

static void progress(struct sysrun *x, bool force)
{
	int64_t now = clock_mono_ms();
	if (!force && now - x->last_progress < PROGRESS_EVERY_MS)
		return;
	x->last_progress = now;
	json_t *o = progress_json(x);
	struct progress_call p = {x->j->id, x->j->attempt, o ? json_dumps(o, JSON_COMPACT) : NULL};
	json_decref(o);
	if (p.output)
		writer_call(x->w, progress_fn, &p);
	free(p.output);
}

static void outcome(struct sysrun *x, int result, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void outcome(struct sysrun *x, int result, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->r->message, sizeof(x->r->message), fmt, ap);
	va_end(ap);
	x->r->outcome.result = result;
	x->r->outcome.delay_ms = -1;
	x->r->outcome.error_code = code;
	x->r->outcome.message = x->r->message;
}

/* Apply act to every job matching f, newest first, a batch at a time. */
static int walk(struct sysrun *x, struct job_filter f, enum job_action act)
{
	f.limit = JOBOPS_BATCH;
	f.before_id = 0;
	int64_t *ids = calloc(JOBOPS_BATCH, sizeof(*ids));
	int rc = ids ? 0 : AE_NOMEM;
	while (rc == 0 && !stopped(x)) {
		struct job *jobs = NULL;
		size_t n = 0;
		if ((rc = store_jobs_list(x->reader, &f, &jobs, &n)) < 0 || n == 0) {
			job_array_free(jobs, n);
			break;
		}
		for (size_t i = 0; i < n; i++)
			ids[i] = jobs[i].id;
		f.before_id = jobs[n - 1].id;
		job_array_free(jobs, n);
		x->matched += (int64_t)n;
		struct jobops_counts c = {0};
		rc = jobops_apply_many(x->w, x->e, act, ids, n, NULL, x->j->id, &c);
		x->done += c.done;
		x->not_allowed += c.not_allowed;
		x->not_found += c.not_found;
		progress(x, false);
		if (n < JOBOPS_BATCH)
			break;
	}
	free(ids);
	return rc;
}

/* A bulk action on a list of ids, a batch at a time. */
static int walk_ids(struct sysrun *x, json_t *arr, enum job_action act)
{
	int64_t ids[256];
	size_t n = 0, i;
	json_t *v;
	int rc = 0;
	json_array_foreach(arr, i, v)
	{
		if (rc < 0 || stopped(x))
			break;
		ids[n++] = json_integer_value(v);
		if (n == 256 || i + 1 == json_array_size(arr)) {
			struct jobops_counts c = {0};
			rc = jobops_apply_many(x->w, x->e, act, ids, n, NULL, x->j->id, &c);
			x->matched += (int64_t)n;
			x->done += c.done;
			x->not_allowed += c.not_allowed;
			x->not_found += c.not_found;
			n = 0;
			progress(x, false);
		}
	}
	return rc;
}

/* The cutoff of a maintenance cleanup: now minus the setting named in data. */
static int64_t cutoff(const char *setting, int64_t now)
{
	struct settings cfg;
	settings_current(&cfg);
	if (setting && !strcmp(setting, "cleanup.succeeded_after"))
		return now - cfg.cleanup_succeeded_after_ms;
	if (setting && !strcmp(setting, "audit.retention"))
		return now - cfg.audit_retention_ms;
	if (setting && !strcmp(setting, "attempts.retention"))
		return now - cfg.attempts_retention_ms;
	return now - cfg.cleanup_failed_after_ms;
}

struct cleanup_call {
	const char *type;
	int status;
	int64_t before, n;
};

static int cleanup_fn(struct store *s, void *arg)
{
	struct cleanup_call *c = arg;
	if (!strcmp(c->type, SYSJOB_AUDIT_CLEANUP))
		return store_audit_cleanup(s, c->before, CLEANUP_BATCH, &c->n);
	if (!strcmp(c->type, SYSJOB_ATTEMPTS_CLEANUP))
		return store_attempts_cleanup(s, c->before, CLEANUP_BATCH, &c->n);
	return store_jobs_cleanup(s, c->status, c->before, CLEANUP_BATCH, &c->n);
}

/* A maintenance cleanup: batches of the store's cleanup op until one comes back short. */
static int clean(struct sysrun *x, const char *type, int status, int64_t before)
{
	int rc = 0;
	while (!stopped(x)) {
		struct cleanup_call c = {type, status, before, 0};
		if ((rc = writer_call(x->w, cleanup_fn, &c)) < 0)
			break;
		x->matched += c.n;
		x->done += c.n;
		progress(x, false);
		if (c.n < CLEANUP_BATCH)
			break;
	}
	return rc;
}

static int run_cleanup(struct sysrun *x)
{
	const char *setting = json_string_value(json_object_get(x->data, "older_than_setting"));
	int64_t before = cutoff(setting, clock_now_ms());
	json_t *statuses = json_object_get(x->data, "statuses"), *v;
	size_t i;
	int rc = 0;
	if (!json_is_array(statuses))
		return clean(x, x->j->plugin_type, 0, before);
	json_array_foreach(statuses, i, v)
	{
		if (rc == 0)
			rc = clean(x, SYSJOB_BULK_DELETE, (int)json_integer_value(v), before);
	}
	return rc;
}

static int run_bulk(struct sysrun *x)
{
	enum job_action act = JOB_ACT_DELETE;
	json_t *ids = json_object_get(x->data, "ids");
	char err[256];
	if (!strcmp(x->j->plugin_type, SYSJOB_BULK_ACTION) &&
	    !job_bulk_action(json_string_value(json_object_get(x->data, "action")), &act))
		return AE_INVAL;
	if (json_is_array(ids))
		return walk_ids(x, ids, act);
	struct job_filter f;
	if (sysjob_filter_parse(json_object_get(x->data, "filter"), clock_now_ms(), &f, err,
				sizeof(err)) < 0)
		return AE_INVAL;
	return walk(x, f, act);
}

struct stats_call {
	int64_t from, to;
};

static int stats_fn(struct store *s, void *arg)
{
	struct stats_call *c = arg;
	return store_stats_hourly_collect(s, c->from, c->to);
}

/* The per-hour counts of the previous hour and of this one so far. */
static int run_statistics(struct sysrun *x)
{
	int64_t now = clock_now_ms();
	struct stats_call c = {now / 3600000 * 3600000 - 3600000, now};
	int rc = writer_call(x->w, stats_fn, &c);
	char from[40], to[40];
	clock_format_rfc3339(c.from, from, sizeof(from));
	clock_format_rfc3339(c.to, to, sizeof(to));
	if (rc == AE_INTERNAL) {
		outcome(x, ASYNCD_SUCCESS, NULL, "this store keeps no hourly statistics");
		return 1;
	}
	if (rc == 0) {
		outcome(x, ASYNCD_SUCCESS, NULL, "counted the jobs completed from %s to %s", from,
			to);
		json_t *o = json_pack("{s:s,s:s}", "from", from, "to", to);
		x->r->output = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		return 1;
	}
	return rc;
}

static int dispatch(struct sysrun *x)
{
	bool maint = job_is_maintenance(x->j);
	if (maint && !__atomic_load_n(&maintenance_on, __ATOMIC_RELAXED)) {
		outcome(x, ASYNCD_SUCCESS, NULL,
			"skipped: async-maintenance is not running on this host");
		return 1;
	}
	if (!strcmp(x->j->plugin_type, SYSJOB_STATISTICS))
		return run_statistics(x);
	if (!strcmp(x->j->plugin_type, SYSJOB_AUDIT_CLEANUP) ||
	    !strcmp(x->j->plugin_type, SYSJOB_ATTEMPTS_CLEANUP) ||
	    (maint && !strcmp(x->j->plugin_type, SYSJOB_BULK_DELETE)))
		return run_cleanup(x);
	if (!strcmp(x->j->plugin_type, SYSJOB_BULK_DELETE) ||
	    !strcmp(x->j->plugin_type, SYSJOB_BULK_ACTION))
		return run_bulk(x);
	outcome(x, ASYNCD_FAIL_PERMANENT, "plugin_type_missing",
		"no system job type %s in this asyncd", x->j->plugin_type);
	return 1;
}

void sysjob_run(struct writer *w, struct engine *e, struct store *reader, const struct job *j,
		const int *stop_flag, struct run_result *ret)
{
	struct sysrun x = {.w = w, .e = e, .reader = reader, .j = j, .stop = stop_flag, .r = ret};
	x.data = j->data ? json_loads(j->data, 0, NULL) : NULL;
	x.done_name = strcmp(j->plugin_type, SYSJOB_BULK_ACTION) ? "deleted" : "done";
	int64_t t0 = clock_mono_ms();
	ret->started_on = clock_now_ms();
	int rc = reader ? dispatch(&x) : AE_STORE;
	ret->execution_time_ms = clock_mono_ms() - t0;
	if (rc == AE_INVAL)
		outcome(&x, ASYNCD_FAIL_PERMANENT, "bad_input",
			"the system job's data is not valid (action, ids or filter)");
	else if (rc < 0)
		outcome(&x, ASYNCD_FAIL_TRANSIENT, ae_name(rc), "stopped after a store error: %s",
			asyncd_strerror(rc));
	else if (rc == 0)
		outcome(&x, ASYNCD_SUCCESS, NULL, "%s %lld of %lld matched%s", x.done_name,
			(long long)x.done, (long long)x.matched,
			stopped(&x) ? " (asked to stop)" : "");
	if (rc <= 0 || x.matched) {
		json_t *o = progress_json(&x);
		ret->output = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	if (job_is_maintenance(j) && rc == 0) {
		bool audit = !strcmp(j->plugin_type, SYSJOB_AUDIT_CLEANUP);
		bool attempts = !strcmp(j->plugin_type, SYSJOB_ATTEMPTS_CLEANUP);
		add_totals(audit || attempts ? 0 : x.done, audit ? x.done : 0,
			   attempts ? x.done : 0);
		if (x.done)
			log_info("maintenance", "%s (job %lld): deleted %lld", j->name,
				 (long long)j->id, (long long)x.done);
	}
	json_decref(x.data);
}
