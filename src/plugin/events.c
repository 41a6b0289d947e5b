/* Event validation, step matching and job building (see events.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "plugin/events.h"
#include "plugin/lifecycle.h"

void job_vec_done(struct job_vec *jv)
{
	job_array_free(jv->v, jv->n);
	memset(jv, 0, sizeof(*jv));
}

static struct job *job_vec_push(struct job_vec *jv)
{
	if (jv->n == jv->cap) {
		size_t cap = jv->cap ? jv->cap * 2 : 8;
		struct job *v = realloc(jv->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		jv->v = v;
		jv->cap = cap;
	}
	struct job *j = &jv->v[jv->n++];
	memset(j, 0, sizeof(*j));
	return j;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > EVENT_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static int check_object(json_t *ev, const char *key, char *err, size_t errlen)
{
	json_t *v = json_object_get(ev, key);
	if (v && !json_is_object(v) && !json_is_null(v)) {
		snprintf(err, errlen, "%s must be a JSON object", key);
		return AE_INVAL;
	}
	return 0;
}

int events_validate(json_t *ev, char *err, size_t errlen)
{
	if (!json_is_object(ev)) {
		snprintf(err, errlen, "an event must be a JSON object");
		return AE_INVAL;
	}
	json_t *msg = json_object_get(ev, "message"), *ent = json_object_get(ev, "entity");
	json_t *id = json_object_get(ev, "entity_id"),
	       *corr = json_object_get(ev, "correlation_id");
	if (!name_ok(json_string_value(msg))) {
		snprintf(err, errlen,
			 "message is %s: a name of 1 to %d letters, digits, '_', '-' or '.'",
			 msg && !json_is_null(msg) ? "invalid" : "required", EVENT_NAME_MAX);
		return AE_INVAL;
	}
	if (ent && !json_is_null(ent) && !name_ok(json_string_value(ent))) {
		snprintf(err, errlen,
			 "entity must be a name of 1 to %d letters, digits, '_', '-'"
			 " or '.'",
			 EVENT_NAME_MAX);
		return AE_INVAL;
	}
	if (id && !json_is_null(id) &&
	    !(json_is_integer(id) ||
	      (json_is_string(id) && json_string_length(id) <= EVENT_ID_MAX))) {
		snprintf(err, errlen,
			 "entity_id must be a string of at most %d bytes or an integer",
			 EVENT_ID_MAX);
		return AE_INVAL;
	}
	if (corr && !json_is_null(corr) && !uuid_valid(json_string_value(corr))) {
		snprintf(err, errlen, "correlation_id must be a UUID");
		return AE_INVAL;
	}
	int rc = check_object(ev, "target", err, errlen);
	if (rc == 0)
		rc = check_object(ev, "pre_image", err, errlen);
	if (rc == 0)
		rc = check_object(ev, "post_image", err, errlen);
	return rc;
}

static bool filter_matches(const struct reg_step *st, const char *message, json_t *target)
{
	if (strcmp(message, "Update") || json_array_size(st->filter) == 0)
		return true;
	size_t i;
	json_t *a;
	json_array_foreach(st->filter, i, a)
	{
		const char *name = json_string_value(a);
		if (name && json_object_get(target, name))
			return true;
	}
	return false;
}

static bool step_matches(const struct reg_step *st, const char *message, const char *entity,
			 json_t *target)
{
	const struct step *s = &st->row;
	if (!s->enabled || s->draining || strcmp(s->message, message))
		return false;
	if (s->entity && (!entity || strcmp(s->entity, entity)))
		return false;
	return filter_matches(st, message, target);
}

/* The attributes of snapshot that the image lists (all of them when it lists none). */
static json_t *image_subset(json_t *snapshot, json_t *attrs)
{
	if (!json_is_object(snapshot))
		return json_object();
	if (json_array_size(attrs) == 0)
		return json_deep_copy(snapshot);
	json_t *out = json_object();
	size_t i;
	json_t *a;
	json_array_foreach(attrs, i, a)
	{
		const char *name = json_string_value(a);
		json_t *v = name ? json_object_get(snapshot, name) : NULL;
		if (v)
			json_object_set(out, name, v);
	}
	return out;
}

static json_t *build_images(const struct reg_step *st, json_t *ev)
{
	json_t *out = json_object();
	size_t i;
	json_t *img;
	json_array_foreach(st->images, i, img)
	{
		const char *type = json_string_value(json_object_get(img, "type"));
		const char *alias = json_string_value(json_object_get(img, "alias"));
		if (!type || !alias)
			continue;
		json_t *snap =
		    json_object_get(ev, strcmp(type, "pre") ? "post_image" : "pre_image");
		json_object_set_new(out, alias,
				    image_subset(snap, json_object_get(img, "attributes")));
	}
	return out;
}

static char *entity_id_text(json_t *id)
{
	char num[32];
	if (json_is_integer(id)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(id));
		return strdup(num);
	}
	return xstrdup(json_string_value(id));
}

struct chain {
	int depth;
	int64_t started_on;
	const char *correlation_id;
	const char *request_id;
};

static char *context_json(const struct reg_step *st, json_t *ev, const struct chain *ch,
			  const struct event_origin *o)
{
	json_t *target = json_object_get(ev, "target");
	json_t *ctx = json_pack(
	    "{s:o,s:o,s:I}", "target", json_is_object(target) ? json_incref(target) : json_object(),
	    "images", build_images(st, ev), "chain_started_on", (json_int_t)ch->started_on);
	if (!ctx)
		return NULL;
	if (o->user)
		json_object_set_new(ctx, "initiating_user", json_string(o->user));
	if (st->row.impersonating_user)
		json_object_set_new(ctx, "user", json_string(st->row.impersonating_user));
	char *s = json_dumps(ctx, JSON_COMPACT);
	json_decref(ctx);
	return s;
}

static char *job_name(const char *entity, const char *message, const char *type)
{
	char *s = NULL;
	if (asprintf(&s, "%s.%s: %s", entity ? entity : "any", message, type) < 0)
		return NULL;
	return s;
}

static void fail_for_depth(struct job *j, const struct settings *cfg, int64_t now)
{
	char *msg = NULL;
	j->state = JOB_COMPLETED;
	j->status = JOB_ST_FAILED;
	j->completed_on = now;
	j->error_code = strdup("infinite_loop");
	if (asprintf(&msg,
		     "this job would run %d plug-in calls deep within %lld s (async.max_depth is "
		     "%d): a plug-in probably raises the event that triggers it again",
		     j->depth, (long long)(cfg->depth_window_ms / 1000), cfg->max_depth) >= 0)
		j->message = msg;
}

static int build_job(struct job *j, const struct reg_step *st, json_t *ev, const struct chain *ch,
		     const struct event_origin *o, const struct settings *cfg, int64_t now)
{
	const char *message = json_string_value(json_object_get(ev, "message"));
	const char *entity = json_string_value(json_object_get(ev, "entity"));
	j->operation_type = JOB_OP_SYSTEM_EVENT;
	j->state = JOB_READY;
	j->status = JOB_ST_WAITING_FOR_RESOURCES;
	j->name = job_name(entity, message, st->row.plugin_type);
	j->message_name = strdup(message);
	j->primary_entity = xstrdup(entity);
	j->regarding_id = entity_id_text(json_object_get(ev, "entity_id"));
	j->step_id = st->row.id;
	j->assembly_id = st->row.assembly_id;
	j->plugin_type = strdup(st->row.plugin_type);
	j->data = context_json(st, ev, ch, o);
	j->depth = ch->depth;
	j->correlation_id = strdup(ch->correlation_id);
	j->request_id = strdup(ch->request_id);
	j->priority = JOB_PRIORITY_DEFAULT;
	j->max_retries = cfg->max_retries;
	j->created_on = j->modified_on = now;
	j->owner = xstrdup(o->user);
	j->auto_delete = st->row.async_auto_delete;
	if (!j->name || !j->message_name || !j->plugin_type || !j->data || !j->correlation_id ||
	    !j->request_id)
		return AE_NOMEM;
	if (ch->depth > cfg->max_depth)
		fail_for_depth(j, cfg, now);
	return 0;
}

static void chain_of(json_t *ev, const struct event_origin *o, const struct settings *cfg,
		     int64_t now, struct chain *ch, char corr[37], char req[37])
{
	const char *given = json_string_value(json_object_get(ev, "correlation_id"));
	ch->depth = o->depth + 1;
	ch->started_on = o->chain_started_on ? o->chain_started_on : now;
	if (now - ch->started_on > cfg->depth_window_ms) {
		ch->depth = 1; /* an old chain: the loop guard looks at one window at a time */
		ch->started_on = now;
	}
	if (o->correlation_id)
		snprintf(corr, 37, "%s", o->correlation_id);
	else if (given)
		snprintf(corr, 37, "%s", given);
	else
		uuid_v4(corr);
	uuid_v4(req);
	ch->correlation_id = corr;
	ch->request_id = req;
}

int events_make_jobs(const struct registry_snap *r, json_t *ev, const struct event_origin *o,
		     const struct settings *cfg, int64_t now, struct job_vec *out, char *err,
		     size_t errlen)
{
	char corr[37], req[37];
	struct chain ch;
	int rc = events_validate(ev, err, errlen);
	if (rc < 0)
		return rc;
	const char *message = json_string_value(json_object_get(ev, "message"));
	const char *entity = json_string_value(json_object_get(ev, "entity"));
	json_t *target = json_object_get(ev, "target");
	chain_of(ev, o, cfg, now, &ch, corr, req);
	for (size_t i = 0; r && i < r->n_steps; i++) {
		const struct reg_step *st = &r->steps[i];
		if (!step_matches(st, message, entity, target))
			continue;
		struct job *j = job_vec_push(out);
		if (!j || build_job(j, st, ev, &ch, o, cfg, now) < 0) {
			snprintf(err, errlen, "out of memory");
			return AE_NOMEM;
		}
		if ((int64_t)strlen(j->data) > cfg->max_data_bytes) {
			snprintf(err, errlen,
				 "the data of the job for step %lld (the target and images) would "
				 "be %zu bytes; job.max_data_bytes allows %lld",
				 (long long)st->row.id, strlen(j->data),
				 (long long)cfg->max_data_bytes);
			return AE_TOOBIG;
		}
	}
	return 0;
}

/* ---- storing ---- */

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

int events_insert_fn(struct store *s, void *arg)
{
	struct job_vec *jobs = arg;
	int rc = keep_accepted(s, jobs);
	return rc < 0 ? rc : store_jobs_insert(s, jobs->v, jobs->n);
}
