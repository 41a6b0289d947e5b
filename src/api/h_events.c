/* POST /api/v1/events: one event as JSON, or NDJSON bulk (one event a line). Every job the
 * events cause is stored in one transaction; the answer comes after its commit. A bad line
 * refuses the whole request and stores nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/body.h"
#include "api/handlers.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/metrics.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "plugin/events.h"
#include "plugin/lifecycle.h"
#include "store/store.h"

#define EVENTS_MAX_PER_REQUEST 10000 /* bounds a bulk request's memory and its transaction */

static bool is_ndjson(const struct api_req *r)
{
	const char *t = r->content_type;
	return t && (!strncasecmp(t, "application/x-ndjson", 20) ||
		     !strncasecmp(t, "application/jsonl", 17));
}

/* What every event of one request shares while its jobs are built. */
struct build {
	struct api_req *r;
	const struct registry_snap *snap;
	const struct settings *cfg;
	int64_t now;
	struct job_vec *out;
	size_t events;
};

static int build_event(json_t *ev, size_t line, void *arg, char *err, size_t errlen)
{
	struct build *b = arg;
	char msg[512];
	if (++b->events > EVENTS_MAX_PER_REQUEST) {
		snprintf(err, errlen,
			 "line %zu: a request may hold at most %d events: send the rest in another "
			 "request; nothing was stored",
			 line, EVENTS_MAX_PER_REQUEST);
		return AE_TOOBIG;
	}
	struct event_origin o = {.user = b->r->user};
	int rc = events_make_jobs(b->snap, ev, &o, b->cfg, b->now, b->out, msg, sizeof(msg));
	if (rc < 0 && line)
		snprintf(err, errlen, "line %zu: %s; nothing was stored", line, msg);
	else if (rc < 0)
		snprintf(err, errlen, "%s", msg);
	return rc;
}

/* The jobs of the body's events (one JSON object, or NDJSON: all lines or none). */
static int build_jobs(struct build *b, size_t *ret_events)
{
	char err[1024];
	json_t *ev = NULL;
	int rc;
	struct api_req *r = b->r;
	if (is_ndjson(r)) {
		rc = body_ndjson_each(r->body.data, r->body.len, build_event, b, ret_events, err,
				      sizeof(err));
		return rc < 0 ? api_error(r, rc, "%s", err) : 0;
	}
	if ((rc = api_body(r, BODY_EVENT, &ev)) < 0)
		return rc;
	rc = build_event(ev, 0, b, err, sizeof(err));
	json_decref(ev);
	*ret_events = 1;
	return rc < 0 ? api_error(r, rc, "%s", err) : 0;
}

static int store_jobs(struct api_req *r, struct job_vec *jobs)
{
	if (!jobs->n)
		return 0;
	int rc = writer_call(r->api->w, events_insert_fn, jobs);
	if (rc < 0)
		return api_error(r, rc, "the jobs could not be stored: %s%s", asyncd_strerror(rc),
				 rc == AE_DISKFULL ? "" : "; nothing was stored");
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

/* Events accepted and the jobs they made, for /metrics. */
static void count_ingest(size_t events, size_t jobs)
{
	metrics_inc(&asyncd_metrics.events, events);
	metrics_inc(&asyncd_metrics.event_jobs, jobs);
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
	return events_insert_fn(s, &p->jobs);
}

/* On the writer thread, after the commit. */
static void pending_insert_done(void *arg, int rc)
{
	struct pending_insert *p = arg;
	struct api_req *r = p->r;
	if (rc < 0) {
		api_error(r, rc, "the jobs could not be stored: %s%s", asyncd_strerror(rc),
			  rc == AE_DISKFULL ? "" : "; nothing was stored");
	} else {
		count_ingest(1, p->jobs.n);
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
	size_t events = 0;
	if (is_ndjson(r))
		return API_BLOCKING;
	struct pending_insert *p = calloc(1, sizeof(*p));
	if (!p)
		return API_BLOCKING;
	settings_current(&cfg);
	struct registry_snap *snap = registry_get();
	struct build b = {r, snap, &cfg, clock_now_ms(), &p->jobs, 0};
	int rc = build_jobs(&b, &events);
	registry_put(snap);
	if (rc == 0 && !p->jobs.n) {
		count_ingest(1, 0);
		api_reply(r, 201, json_pack("{s:[]}", "jobs"));
	}
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
	size_t events = 0;
	settings_current(&cfg);
	struct registry_snap *snap = registry_get();
	struct build b = {r, snap, &cfg, clock_now_ms(), &jobs, 0};
	int rc = build_jobs(&b, &events);
	registry_put(snap);
	if (rc == 0)
		rc = store_jobs(r, &jobs);
	if (rc == 0)
		count_ingest(events, jobs.n);
	if (rc == 0 && is_ndjson(r))
		api_reply(r, 201,
			  json_pack("{s:I,s:I}", "events", (json_int_t)events, "jobs",
				    (json_int_t)jobs.n));
	else if (rc == 0)
		api_reply(r, 201, json_pack("{s:o}", "jobs", job_ids(&jobs)));
	job_vec_done(&jobs);
	return rc;
}
