/* DELETE of steps and assemblies with ?mode=refuse|drain|cancel, and reading one step or
 * assembly with its unfinished jobs (to follow a drain). The rules are lifecycle.c's; this file
 * turns them into answers a person can act on, interrupts canceled runs and audits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "host/drain.h"
#include "plugin/lifecycle.h"
#include "plugin/registry.h"
#include "store/store.h"

static const char *kind_name(enum lc_kind k)
{
	return k == LC_STEP ? "step" : "assembly";
}

/* {ready, suspended, locked, waiting_for_person, earliest_postpone_until}: what a drain waits for.
 */
static json_t *counts_json(const struct job_counts *c)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I}", "ready", (json_int_t)c->by_state[0], "suspended",
			      (json_int_t)c->by_state[1], "locked", (json_int_t)c->by_state[2],
			      "waiting_for_person", (json_int_t)c->needs_attention);
	if (o)
		json_object_set_new(o, "earliest_postpone_until", time_json(c->earliest_postpone));
	return o;
}

/* ?timeout=SECONDS or ?deadline=RFC3339: when a drain cancels what is left; 0 none. */
static int drain_deadline(struct api_req *r, int64_t *ret)
{
	const char *t = api_query(r, "timeout"), *d = api_query(r, "deadline");
	char *end;
	*ret = 0;
	if (t && d)
		return api_error(r, AE_INVAL, "give timeout or deadline, not both");
	if (t) {
		double s = strtod(t, &end);
		if (end == t || *end || !(s > 0) || s > 366 * 86400.0)
			return api_error(
			    r, AE_INVAL,
			    "timeout is invalid: seconds from 0 to 31622400, e.g. 600");
		*ret = clock_now_ms() + (int64_t)(s * 1000);
	} else if (d && clock_parse_rfc3339(d, ret) < 0) {
		return api_error(r, AE_INVAL,
				 "deadline is invalid: an RFC 3339 time such as "
				 "2026-12-31T23:00:00Z");
	} else if (d && *ret <= clock_now_ms()) {
		return api_error(r, AE_INVAL,
				 "deadline %s has passed: give a time to come, or use mode=cancel",
				 d);
	}
	return 0;
}

static int refused(struct api_req *r, enum lc_kind kind, int64_t id, struct lc_result *res)
{
	const int64_t *n = res->counts.by_state;
	if (res->blocking_steps) {
		char *names = json_dumps(res->blocking_steps, JSON_COMPACT);
		api_error(r, AE_CONFLICT,
			  "assembly %lld still has steps %s: delete them (or register their types "
			  "elsewhere) first",
			  (long long)id, names ? names : "");
		free(names);
		json_object_set(json_object_get(r->out, "error"), "steps", res->blocking_steps);
		return AE_CONFLICT;
	}
	api_error(r, AE_CONFLICT,
		  "%s %lld still has unfinished jobs (Ready %lld, Suspended %lld, Locked %lld): "
		  "use mode=drain to let them finish and then delete it, or mode=cancel to cancel "
		  "them",
		  kind_name(kind), (long long)id, (long long)n[0], (long long)n[1],
		  (long long)n[2]);
	json_object_set_new(json_object_get(r->out, "error"), "counts", counts_json(&res->counts));
	return AE_CONFLICT;
}

static int answer(struct api_req *r, enum lc_kind kind, int64_t id, struct lc_result *res, int rc,
		  int64_t deadline)
{
	if (rc == AE_NOTFOUND)
		return api_error(r, rc, "%s %lld does not exist", kind_name(kind), (long long)id);
	if (rc == AE_CONFLICT)
		return refused(r, kind, id, res);
	if (rc < 0)
		return api_error(r, rc, "cannot delete %s %lld: %s", kind_name(kind), (long long)id,
				 asyncd_strerror(rc));
	if (r->api->engine && res->n_interrupted)
		engine_interrupt(r->api->engine, res->interrupted, res->n_interrupted);
	if (res->deleted)
		return api_reply(r, 204, NULL);
	return api_reply(r, 202,
			 json_pack("{s:I,s:b,s:o,s:o}", "id", (json_int_t)id, "draining", 1,
				   "counts", counts_json(&res->counts), "drain_deadline",
				   time_json(deadline)));
}

/* The registry shows the delete or the drain before the answer, so that a request sent after it
 * binds no new job to what is going (a type resolves to an assembly that is not draining). */
static void publish(struct api_req *r)
{
	struct store *s = api_reader(r);
	if (registry_reload(s) < 0)
		log_error("api", "a delete was stored but the registry could not be reloaded; the "
				 "drain thread tries again within 0.5 s");
	api_reader_put(s);
	drain_kick();
}

static int safe_delete(struct api_req *r, enum lc_kind kind)
{
	struct lc_delete d = {.kind = kind};
	char target[48], detail[96];
	int rc = api_param_id(r, 0, &d.id);
	if (rc < 0)
		return rc;
	int mode = lifecycle_mode_parse(api_query(r, "mode"));
	if (mode < 0)
		return api_error(r, AE_INVAL, "mode must be refuse, drain or cancel");
	d.mode = (enum lc_mode)mode;
	if ((rc = drain_deadline(r, &d.deadline)) < 0)
		return rc;
	if (d.deadline && d.mode != LC_DRAIN)
		return api_error(r, AE_INVAL, "timeout and deadline go with mode=drain only");
	rc = writer_call(r->api->w, lifecycle_delete_fn, &d);
	if (rc == 0)
		publish(r);
	int64_t id = d.id;
	struct lc_result *res = &d.res;
	rc = answer(r, kind, id, res, rc, d.deadline);
	snprintf(target, sizeof(target), "%s %lld", kind_name(kind), (long long)id);
	snprintf(detail, sizeof(detail), "mode=%s%s%s",
		 api_query(r, "mode") ? api_query(r, "mode") : "refuse",
		 d.deadline ? ", with a deadline" : "",
		 res->draining	? ", draining"
		 : res->deleted ? ", deleted"
				: "");
	api_audit(r, kind == LC_STEP ? "step.delete" : "assembly.delete", target,
		  rc < 0 ? "refused" : "ok", detail);
	lc_result_done(res);
	return rc;
}

int h_step_delete(struct api_req *r)
{
	return safe_delete(r, LC_STEP);
}

int h_assembly_delete(struct api_req *r)
{
	return safe_delete(r, LC_ASSEMBLY);
}

/* The unfinished jobs of a step or assembly, added to its answer as "unfinished". */
int api_add_unfinished(struct api_req *r, json_t *o, enum lc_kind kind, int64_t id)
{
	struct job_counts c;
	struct store *s = api_reader(r);
	int rc =
	    store_jobs_count_unfinished(s, kind == LC_STEP ? STORE_STEP : STORE_ASSEMBLY, id, &c);
	api_reader_put(s);
	if (rc == 0)
		json_object_set_new(o, "unfinished", counts_json(&c));
	return rc;
}
