/* POST /api/v1/events: one event as JSON, or NDJSON bulk (one event a line). Every job the
 * events cause is stored in one transaction; the answer comes after its commit. A bad line
 * refuses the whole request and stores nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "plugin/events.h"
#include "plugin/lifecycle.h"
#include "store/store.h"

#define EVENT_MAX_LINE (2u << 20)
#define EVENTS_MAX_PER_REQUEST 10000 /* bounds a bulk request's memory and its transaction */

struct insert_call {
	struct job_vec *jobs;
};

/* Whether step id still takes jobs, asked once per step and group (cache of n entries). */
struct step_verdict {
	int64_t id;
	bool ok;
};

static int step_ok(struct store *s, struct step_verdict *cache, size_t *n, size_t cap, int64_t id,
		   bool *ret)
{
	for (size_t i = 0; i < *n; i++)
		if (cache[i].id == id) {
			*ret = cache[i].ok;
			return 0;
		}
	int rc = lifecycle_accepts_jobs(s, LC_STEP, id, ret);
	if (rc == 0 && *n < cap)
		cache[(*n)++] = (struct step_verdict){id, *ret};
	return rc;
}

/* Drop the jobs of steps deleted or being drained since the registry snapshot was taken, so
 * that no job is created for code on its way out. */
static int keep_accepted(struct store *s, struct job_vec *jobs)
{
	struct step_verdict cache[64];
	size_t n_cache = 0, out = 0;
	for (size_t i = 0; i < jobs->n; i++) {
		struct job *j = &jobs->v[i];
		bool ok;
		int rc = step_ok(s, cache, &n_cache, 64, j->step_id, &ok);
		if (rc < 0)
			return rc;
		if (ok)
			jobs->v[out++] = *j;
		else
			job_done(j);
	}
	jobs->n = out;
	return 0;
}

static int insert_fn(struct store *s, void *arg)
{
	struct insert_call *c = arg;
	int rc = keep_accepted(s, c->jobs);
	return rc < 0 ? rc : store_jobs_insert(s, c->jobs->v, c->jobs->n);
}

static bool is_ndjson(const struct api_req *r)
{
	return r->content_type && (!strncmp(r->content_type, "application/x-ndjson", 20) ||
				   !strncmp(r->content_type, "application/jsonl", 17));
}

static int parse_line(struct api_req *r, const char *p, size_t n, size_t line, json_t **ret)
{
	json_error_t e;
	if (n > EVENT_MAX_LINE)
		return api_error(r, AE_TOOBIG, "line %zu: an event may be at most %u bytes", line,
				 EVENT_MAX_LINE);
	json_t *ev = json_loadb(p, n, JSON_REJECT_DUPLICATES, &e);
	if (!ev)
		return api_error(r, AE_INVAL, "line %zu: not valid JSON: %s", line, e.text);
	if (!json_depth_ok(ev, 32)) {
		json_decref(ev);
		return api_error(r, AE_INVAL, "line %zu: nested more than 32 levels deep", line);
	}
	*ret = ev;
	return 0;
}

static int make_jobs(struct api_req *r, json_t *ev, const struct registry_snap *snap,
		     const struct settings *cfg, int64_t now, struct job_vec *out, size_t line)
{
	char err[512];
	struct event_origin o = {.user = r->user};
	int rc = events_make_jobs(snap, ev, &o, cfg, now, out, err, sizeof(err));
	if (rc < 0 && line)
		return api_error(r, rc, "line %zu: %s", line, err);
	if (rc < 0)
		return api_error(r, rc, "%s", err);
	return 0;
}

/* Build the jobs of every line; *ret_events gets the number of events. */
static int bulk_jobs(struct api_req *r, const struct registry_snap *snap,
		     const struct settings *cfg, struct job_vec *out, size_t *ret_events)
{
	const char *p = r->body.data, *end = p + r->body.len;
	size_t line = 0, events = 0;
	int64_t now = clock_now_ms();
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		line++;
		if (strspn(p, " \t\r") < n && events == EVENTS_MAX_PER_REQUEST)
			return api_error(r, AE_TOOBIG,
					 "line %zu: a request may hold at most %d events: send the "
					 "rest in another request; nothing was stored",
					 line, EVENTS_MAX_PER_REQUEST);
		if (strspn(p, " \t\r") < n) {
			json_t *ev = NULL;
			int rc = parse_line(r, p, n, line, &ev);
			if (rc == 0)
				rc = make_jobs(r, ev, snap, cfg, now, out, line);
			json_decref(ev);
			if (rc < 0)
				return rc;
			events++;
		}
		p = nl ? nl + 1 : end;
	}
	if (!events)
		return api_error(r, AE_INVAL,
				 "the body holds no events: send one JSON object a line");
	*ret_events = events;
	return 0;
}

static int store_jobs(struct api_req *r, struct job_vec *jobs)
{
	struct insert_call c = {jobs};
	if (!jobs->n)
		return 0;
	int rc = writer_call(r->api->w, insert_fn, &c);
	if (rc < 0)
		return api_error(r, rc, "the jobs could not be stored: %s; nothing was stored",
				 asyncd_strerror(rc));
	if (r->api->engine)
		engine_notify(r->api->engine);
	return 0;
}

static json_t *job_ids(const struct job_vec *jobs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < jobs->n; i++)
		json_array_append_new(a, json_pack("{s:I,s:I}", "id", (json_int_t)jobs->v[i].id,
						   "step_id", (json_int_t)jobs->v[i].step_id));
	return a;
}

/* A single event's jobs on their way to the writer; the answer is set after the commit. */
struct pending_insert {
	struct writer_op op;
	struct api_req *r;
	struct job_vec jobs;
};

static int pending_insert_fn(struct store *s, void *arg)
{
	struct pending_insert *p = arg;
	struct insert_call c = {&p->jobs};
	return insert_fn(s, &c);
}

/* On the writer thread, after the commit. */
static void pending_insert_done(void *arg, int rc)
{
	struct pending_insert *p = arg;
	struct api_req *r = p->r;
	if (rc < 0) {
		api_error(r, rc, "the jobs could not be stored: %s; nothing was stored",
			  asyncd_strerror(rc));
	} else {
		api_reply(r, 201, json_pack("{s:o}", "jobs", job_ids(&p->jobs)));
		if (r->api->engine && p->jobs.n)
			engine_notify(r->api->engine);
	}
	job_vec_done(&p->jobs);
	free(p);
	api_finish(r);
}

/* One event in JSON: its jobs are made here, on the I/O thread, and stored by the writer, whose
 * commit callback answers; no thread waits for the commit. NDJSON goes to the pool. */
enum api_start h_events_start(struct api_req *r)
{
	struct settings cfg;
	json_t *ev = NULL;
	if (is_ndjson(r))
		return API_BLOCKING;
	struct pending_insert *p = calloc(1, sizeof(*p));
	if (!p)
		return API_BLOCKING;
	settings_current(&cfg);
	int rc = api_body_object(r, &ev);
	if (rc == 0) {
		struct registry_snap *snap = registry_get();
		rc = make_jobs(r, ev, snap, &cfg, clock_now_ms(), &p->jobs, 0);
		registry_put(snap);
	}
	json_decref(ev);
	if (rc == 0 && !p->jobs.n)
		api_reply(r, 201, json_pack("{s:[]}", "jobs"));
	if (rc < 0 || !p->jobs.n) {
		job_vec_done(&p->jobs);
		free(p);
		return API_DONE;
	}
	p->r = r;
	p->op = (struct writer_op){
	    .fn = pending_insert_fn, .arg = p, .done = pending_insert_done, .isolated = true};
	if ((rc = writer_post(r->api->w, &p->op)) < 0)
		pending_insert_done(p, rc);
	return API_PENDING;
}

int h_events_raise(struct api_req *r)
{
	struct settings cfg;
	struct job_vec jobs = {0};
	size_t events = 1;
	json_t *ev = NULL;
	int rc;
	settings_current(&cfg);
	struct registry_snap *snap = registry_get();
	if (is_ndjson(r)) {
		rc = bulk_jobs(r, snap, &cfg, &jobs, &events);
	} else {
		rc = api_body_object(r, &ev);
		if (rc == 0)
			rc = make_jobs(r, ev, snap, &cfg, clock_now_ms(), &jobs, 0);
	}
	registry_put(snap);
	json_decref(ev);
	if (rc == 0)
		rc = store_jobs(r, &jobs);
	if (rc == 0 && is_ndjson(r))
		api_reply(r, 201,
			  json_pack("{s:I,s:I}", "events", (json_int_t)events, "jobs",
				    (json_int_t)jobs.n));
	else if (rc == 0)
		api_reply(r, 201, json_pack("{s:o}", "jobs", job_ids(&jobs)));
	job_vec_done(&jobs);
	return rc;
}
