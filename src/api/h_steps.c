/* /api/v1/steps: create, list, enable or disable, delete a step that has no unfinished jobs, and
 * read its secure configuration (System Administrators, audited; never in a listing). The registry
 * is reloaded after every change so that the next event sees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "exec/writer.h"
#include "plugin/events.h"
#include "plugin/inspect.h"
#include "plugin/libcache.h"
#include "plugin/lifecycle.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "store/store.h"

#define CONFIG_MAX (64 * 1024)
#define CHECK_TIMEOUT_MS 10000 /* create() with a step's configuration, in a worker */

static json_t *text_json(const char *s)
{
	json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : s ? json_string(s) : json_null();
}

/* A step as every reader sees it: the secure configuration is never in it, only whether one is
 * set (GET /api/v1/steps/ID/secure-configuration reads it, audited). */
static json_t *step_json(const struct step *s)
{
	json_t *o = json_pack(
	    "{s:I,s:s,s:s,s:I,s:s,s:s?,s:i,s:i,s:s,s:o,s:s?,s:s?,s:o,s:b,s:b,s:o,s:o}", "id",
	    (json_int_t)s->id, "name", s->name, "plugin_type", s->plugin_type, "assembly_id",
	    (json_int_t)s->assembly_id, "message", s->message, "entity", s->entity, "stage",
	    s->stage, "rank", s->rank, "mode", "async", "filtering_attributes",
	    text_json(s->filtering_attributes), "configuration", s->configuration,
	    "impersonating_user", s->impersonating_user, "images", text_json(s->images),
	    "async_auto_delete", s->async_auto_delete, "enabled", s->enabled, "created_on",
	    time_json(s->created_on), "modified_on", time_json(s->modified_on));
	json_object_set_new(o, "has_secure_configuration", json_boolean(s->secure_configuration));
	json_object_set_new(o, "draining", json_boolean(s->draining));
	if (s->draining)
		json_object_set_new(o, "drain_deadline", time_json(s->drain_deadline));
	return o;
}

int h_steps_list(struct api_req *r)
{
	struct step *v;
	size_t n;
	struct store *s = api_reader(r);
	int rc = store_steps_list(s, &v, &n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot list steps: %s", asyncd_strerror(rc));
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, step_json(&v[i]));
	step_array_free(v, n);
	return api_reply(r, 200, json_pack("{s:o}", "steps", a));
}

static int config_field(struct api_req *r, json_t *body, const char *key, char **ret)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return 0;
	*ret = json_is_string(v) ? strdup(json_string_value(v))
				 : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!*ret)
		return AE_NOMEM;
	if (strlen(*ret) > CONFIG_MAX)
		return api_error(r, AE_TOOBIG, "%s may be at most %d bytes", key, CONFIG_MAX);
	return 0;
}

static int names_array(struct api_req *r, json_t *v, const char *what)
{
	size_t i;
	json_t *x;
	if (!json_is_array(v) || json_array_size(v) > 256)
		return api_error(r, AE_INVAL, "%s must be an array of at most 256 attribute names",
				 what);
	json_array_foreach(v, i,
			   x) if (!json_is_string(x) || json_string_length(x) == 0 ||
				  json_string_length(x) > 128) return api_error(r, AE_INVAL,
										"%s must hold "
										"names of 1 to "
										"128 bytes",
										what);
	return 0;
}

static int check_images(struct api_req *r, json_t *images)
{
	size_t i;
	json_t *img;
	if (!json_is_array(images) || json_array_size(images) > 16)
		return api_error(r, AE_INVAL, "images must be an array of at most 16 images");
	json_array_foreach(images, i, img)
	{
		const char *type = json_string_value(json_object_get(img, "type"));
		const char *alias = json_string_value(json_object_get(img, "alias"));
		json_t *attrs = json_object_get(img, "attributes");
		if (!type || (strcmp(type, "pre") && strcmp(type, "post")))
			return api_error(r, AE_INVAL, "images[%zu].type must be pre or post", i);
		if (!plugin_name_valid(alias))
			return api_error(r, AE_INVAL,
					 "images[%zu].alias must be 1 to 64 letters, digits, '_' "
					 "or '-'",
					 i);
		if (attrs && names_array(r, attrs, "images[].attributes") < 0)
			return AE_INVAL;
	}
	return 0;
}

static int json_field(struct api_req *r, json_t *body, const char *key,
		      int (*check)(struct api_req *, json_t *), char **ret)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return 0;
	int rc = check(r, v);
	if (rc < 0)
		return rc;
	*ret = json_dumps(v, JSON_COMPACT);
	return *ret ? 0 : AE_NOMEM;
}

static int check_filter(struct api_req *r, json_t *v)
{
	return names_array(r, v, "filtering_attributes");
}

static int step_type(struct api_req *r, json_t *body, struct step *st)
{
	const char *type = json_string_value(json_object_get(body, "plugin_type"));
	if (!type)
		return api_field_error(r, body, "plugin_type", "a string such as \"samples.echo\"");
	struct registry_snap *snap = registry_get();
	const struct assembly *a = registry_resolve_type(snap, type);
	if (a)
		st->assembly_id = a->id;
	registry_put(snap);
	if (!a)
		return api_error(r, AE_NOTFOUND, "no registered assembly exports the type '%s'",
				 type);
	st->plugin_type = strdup(type);
	return st->plugin_type ? 0 : AE_NOMEM;
}

static int step_names(struct api_req *r, json_t *body, struct step *st)
{
	char err[256];
	json_t *msg = json_object_get(body, "message"), *ent = json_object_get(body, "entity");
	if (!json_is_string(msg))
		return api_field_error(r, body, "message", "a string such as \"Create\"");
	json_t *ev = json_pack("{s:O}", "message", msg);
	if (ent)
		json_object_set(ev, "entity", ent);
	int rc = ev ? events_validate(ev, err, sizeof(err)) : AE_NOMEM;
	json_decref(ev);
	if (rc < 0)
		return api_error(r, rc, "%s", rc == AE_NOMEM ? "out of memory" : err);
	st->message = strdup(json_string_value(json_object_get(body, "message")));
	st->entity = xstrdup(json_string_value(json_object_get(body, "entity")));
	const char *name = json_string_value(json_object_get(body, "name"));
	if (name && (strlen(name) == 0 || strlen(name) > 256))
		return api_error(r, AE_INVAL, "name must be 1 to 256 bytes");
	if (name)
		st->name = strdup(name);
	else if (asprintf(&st->name, "%s: %s of %s", st->plugin_type, st->message,
			  st->entity ? st->entity : "any entity") < 0)
		st->name = NULL;
	return st->message && st->name ? 0 : AE_NOMEM;
}

static int user_exists(struct api_req *r, const char *name)
{
	struct user u;
	struct store *s = api_reader(r);
	int rc = store_user_find(s, name, &u);
	api_reader_put(s);
	if (rc == 0)
		user_done(&u);
	if (rc == AE_NOTFOUND)
		return api_error(r, AE_INVAL,
				 "impersonating_user '%s' names no user: create the user first "
				 "(POST /api/v1/users) or leave the field out",
				 name);
	if (rc < 0)
		return api_error(r, rc, "cannot look up impersonating_user: %s",
				 asyncd_strerror(rc));
	return 0;
}

static int step_options(struct api_req *r, json_t *body, struct step *st)
{
	json_t *rank = json_object_get(body, "rank"), *stage = json_object_get(body, "stage");
	json_t *del = json_object_get(body, "async_auto_delete"),
	       *en = json_object_get(body, "enabled");
	const char *mode = json_string_value(json_object_get(body, "mode"));
	if (rank && (!json_is_integer(rank) || json_integer_value(rank) < 1 ||
		     json_integer_value(rank) > 1000000))
		return api_error(r, AE_INVAL, "rank must be a whole number from 1 to 1000000");
	if (stage && (!json_is_integer(stage) || json_integer_value(stage) != 40))
		return api_error(r, AE_INVAL,
				 "asynchronous steps run post-operation: stage must "
				 "be 40");
	if (mode && strcmp(mode, "async"))
		return api_error(r, AE_INVAL, "mode must be async: asyncd runs asynchronous steps");
	if ((del && !json_is_boolean(del)) || (en && !json_is_boolean(en)))
		return api_error(r, AE_INVAL,
				 "async_auto_delete and enabled must be true or false");
	st->rank = rank ? (int)json_integer_value(rank) : 1;
	st->stage = 40;
	st->async_auto_delete = del && json_is_true(del);
	st->enabled = !en || json_is_true(en);
	const char *user = json_string_value(json_object_get(body, "impersonating_user"));
	if (user && (strlen(user) == 0 || strlen(user) > 128))
		return api_error(r, AE_INVAL, "impersonating_user must be 1 to 128 bytes");
	st->impersonating_user = xstrdup(user);
	return user ? user_exists(r, user) : 0;
}

/* Run the type's create() and destroy() with st's configurations in a throwaway worker, walled
 * like a sandbox worker: a configuration the plug-in refuses is refused now (422 with its
 * message), not at every job later. */
static int step_check_config(struct api_req *r, const struct step *st)
{
	char sha[65] = "", path[4096], err[1024];
	struct registry_snap *snap = registry_get();
	const struct assembly *a = registry_assembly(snap, st->assembly_id);
	if (a)
		snprintf(sha, sizeof(sha), "%s", a->sha256);
	registry_put(snap);
	if (!sha[0])
		return api_error(r, AE_NOTFOUND, "the assembly of %s is no longer registered",
				 st->plugin_type);
	struct store *s = api_reader(r);
	int rc = libcache_file(sha, s, path, sizeof(path));
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot read the assembly of %s: %s", st->plugin_type,
				 asyncd_strerror(rc));
	const char *dot = strrchr(st->plugin_type, '.');
	rc = plugin_check_config(r->api->worker_path, path, dot ? dot + 1 : st->plugin_type,
				 st->configuration, st->secure_configuration, CHECK_TIMEOUT_MS, err,
				 sizeof(err));
	if (rc == AE_PLUGIN || rc == AE_TIMEOUT)
		return api_error_status(r, 422, "plugin_create_failed",
					"the step's configuration was refused: %s", err);
	if (rc < 0)
		return api_error(r, rc, "cannot check the step's configuration: %s", err);
	return 0;
}

/* In the writer's transaction, so that no drain of the assembly starts between the check and
 * the insert: a draining assembly takes no new step (its drain would wait for ever on it). */
static int step_insert_fn(struct store *s, void *arg)
{
	struct step *st = arg;
	bool accepts;
	int rc = lifecycle_accepts_jobs(s, LC_ASSEMBLY, st->assembly_id, &accepts);
	if (rc < 0)
		return rc;
	return accepts ? store_step_insert(s, arg) : AE_CONFLICT;
}

static void insert_refused(struct api_req *r, const struct step *st, int rc)
{
	if (rc == AE_CONFLICT)
		api_error(r, rc,
			  "assembly %lld, which %s binds to, is draining (being deleted): it takes "
			  "no new steps; wait for the drain to end, or end it with DELETE "
			  "/api/v1/assemblies/%lld?mode=cancel, then register it again",
			  (long long)st->assembly_id, st->plugin_type, (long long)st->assembly_id);
	else
		api_error(r, rc, "cannot store the step: %s", asyncd_strerror(rc));
}

static void reload_registry(struct api_req *r)
{
	struct store *s = api_reader(r);
	int rc = registry_reload(s);
	api_reader_put(s);
	if (rc < 0)
		log_error("api",
			  "the steps changed but the registry could not be reloaded: %s; the "
			  "drain thread tries again within 0.5 s",
			  asyncd_strerror(rc));
}

/* {"id", "assembly":{"id","name","version"}}: which assembly the type name bound to. */
static json_t *step_created_json(const struct step *st)
{
	struct registry_snap *snap = registry_get();
	const struct assembly *a = registry_assembly(snap, st->assembly_id);
	json_t *o = json_pack("{s:I}", "id", (json_int_t)st->id);
	if (o && a)
		json_object_set_new(o, "assembly",
				    json_pack("{s:I,s:s,s:s}", "id", (json_int_t)a->id, "name",
					      a->name, "version", a->version));
	registry_put(snap);
	return o;
}

int h_steps_create(struct api_req *r)
{
	struct step st = {0};
	json_t *body;
	int rc = api_body(r, BODY_STEP, &body);
	if (rc < 0)
		return rc;
	st.created_on = st.modified_on = clock_now_ms();
	if ((rc = step_type(r, body, &st)) == 0 && (rc = step_names(r, body, &st)) == 0 &&
	    (rc = step_options(r, body, &st)) == 0 &&
	    (rc = config_field(r, body, "configuration", &st.configuration)) == 0 &&
	    (rc = config_field(r, body, "secure_configuration", &st.secure_configuration)) == 0 &&
	    (rc = json_field(r, body, "filtering_attributes", check_filter,
			     &st.filtering_attributes)) == 0 &&
	    (rc = json_field(r, body, "images", check_images, &st.images)) == 0 &&
	    (rc = step_check_config(r, &st)) == 0 &&
	    (rc = writer_call(r->api->w, step_insert_fn, &st)) < 0)
		insert_refused(r, &st, rc);
	json_decref(body);
	if (rc == 0) {
		reload_registry(r);
		api_reply(r, 201, step_created_json(&st));
	}
	api_audit(r, "step.create", st.name, rc < 0 ? "refused" : "ok", st.plugin_type);
	step_done(&st);
	return rc;
}

/* The step of id from a fresh read; AE_NOTFOUND answered. */
static int step_find(struct api_req *r, int64_t id, struct step **ret_v, size_t *ret_n,
		     const struct step **ret)
{
	struct store *s = api_reader(r);
	int rc = store_steps_list(s, ret_v, ret_n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot read steps: %s", asyncd_strerror(rc));
	for (size_t i = 0; i < *ret_n; i++)
		if ((*ret_v)[i].id == id) {
			*ret = &(*ret_v)[i];
			return 0;
		}
	step_array_free(*ret_v, *ret_n);
	return api_error(r, AE_NOTFOUND, "step %lld does not exist", (long long)id);
}

/* The fields of a PATCH that may only repeat the step's current value. */
static int patch_fixed(struct api_req *r, json_t *body, const struct step *cur)
{
	const char *type = json_string_value(json_object_get(body, "plugin_type"));
	if (type && strcmp(type, cur->plugin_type))
		return api_error(
		    r, AE_INVAL,
		    "plugin_type cannot be changed (step %lld runs %s): add a step for "
		    "%s and delete this one",
		    (long long)cur->id, cur->plugin_type, type);
	return 0;
}

/* The stored step with the body laid over it, as POST would receive it: null clears a field. */
static json_t *patch_merged(const struct step *cur, json_t *body)
{
	json_t *o = step_json(cur);
	if (!o)
		return NULL;
	json_object_set_new(o, "secure_configuration",
			    cur->secure_configuration ? json_string(cur->secure_configuration)
						      : json_null());
	json_object_update(o, body);
	return o;
}

/* The names of the fields the body changes, comma-separated, for the audit (never a value). */
static void patch_fields(json_t *body, char *buf, size_t n)
{
	const char *key;
	json_t *v;
	size_t len = 0;
	buf[0] = 0;
	json_object_foreach(body, key, v)
	{
		int w = snprintf(buf + len, n - len, "%s%s", len ? "," : "", key);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

/* The step the merged body describes, checked as a new step is; its type and binding stay. */
static int patch_build(struct api_req *r, json_t *body, json_t *m, const struct step *cur,
		       struct step *st)
{
	int rc;
	st->id = cur->id;
	st->assembly_id = cur->assembly_id;
	st->created_on = cur->created_on;
	st->modified_on = clock_now_ms();
	if (!(st->plugin_type = strdup(cur->plugin_type)))
		return AE_NOMEM;
	if (!json_object_get(body, "name") && cur->name)
		json_object_set_new(m, "name", json_string(cur->name));
	json_object_del(m, "stage");
	json_object_del(m, "mode");
	if (!json_object_get(body, "impersonating_user"))
		json_object_del(m, "impersonating_user"); /* unchanged: not looked up again */
	if ((rc = step_names(r, m, st)) < 0 || (rc = step_options(r, m, st)) < 0)
		return rc;
	if (!json_object_get(body, "impersonating_user"))
		st->impersonating_user = xstrdup(cur->impersonating_user);
	if ((rc = config_field(r, m, "configuration", &st->configuration)) < 0 ||
	    (rc = config_field(r, m, "secure_configuration", &st->secure_configuration)) < 0 ||
	    (rc = json_field(r, m, "filtering_attributes", check_filter,
			     &st->filtering_attributes)) < 0 ||
	    (rc = json_field(r, m, "images", check_images, &st->images)) < 0)
		return rc;
	json_t *stage = json_object_get(body, "stage"), *mode = json_object_get(body, "mode");
	if ((stage && json_integer_value(stage) != 40) ||
	    (mode && strcmp(json_string_value(mode) ? json_string_value(mode) : "", "async")))
		return api_error(r, AE_INVAL, "stage must be 40 and mode async");
	return 0;
}

struct step_update {
	const struct step *st;
	bool draining;
};

static int step_update_fn(struct store *s, void *arg)
{
	struct step_update *u = arg;
	bool exists;
	int rc = store_row_state(s, STORE_STEP, u->st->id, &exists, &u->draining);
	if (rc < 0)
		return rc;
	if (!exists)
		return AE_NOTFOUND;
	return u->draining ? AE_CONFLICT : store_step_update(s, u->st);
}

static int patch_store(struct api_req *r, struct step *st)
{
	struct step_update u = {.st = st};
	int rc = writer_call(r->api->w, step_update_fn, &u);
	if (rc == AE_NOTFOUND)
		return api_error(r, rc, "step %lld does not exist", (long long)st->id);
	if (rc == AE_CONFLICT)
		return api_error(r, rc,
				 "step %lld is being deleted (drain): it cannot be changed; cancel "
				 "the drain by deleting with --mode cancel, or wait for it to end",
				 (long long)st->id);
	if (rc < 0)
		return api_error(r, rc, "cannot change step %lld: %s", (long long)st->id,
				 asyncd_strerror(rc));
	return 0;
}

/* Only "enabled" changes: the old answer and audit names (step.enable / step.disable). */
static bool only_enabled(json_t *body)
{
	return json_object_size(body) == 1 && json_is_boolean(json_object_get(body, "enabled"));
}

static int patch_apply(struct api_req *r, json_t *body, const struct step *cur, struct step *st)
{
	json_t *m = patch_merged(cur, body);
	int rc = m ? patch_fixed(r, body, cur) : AE_NOMEM;
	if (rc == 0)
		rc = patch_build(r, body, m, cur, st);
	json_decref(m);
	bool config_changed =
	    json_object_get(body, "configuration") || json_object_get(body, "secure_configuration");
	if (rc == 0 && config_changed)
		rc = step_check_config(r, st);
	if (rc == 0)
		rc = patch_store(r, st);
	if (rc == 0) {
		reload_registry(r);
		api_reply(r, 200, step_json(st));
	}
	return rc;
}

int h_step_patch(struct api_req *r)
{
	int64_t id;
	json_t *body;
	struct step *v = NULL, st = {0};
	size_t n = 0;
	const struct step *cur = NULL;
	char target[48], fields[256] = "";
	int rc = api_param_id(r, 0, &id);
	if (rc < 0 || (rc = api_body(r, BODY_STEP_PATCH, &body)) < 0)
		return rc;
	const char *action =
	    only_enabled(body)
		? json_is_true(json_object_get(body, "enabled")) ? "step.enable" : "step.disable"
		: "step.patch";
	patch_fields(body, fields, sizeof(fields));
	if ((rc = step_find(r, id, &v, &n, &cur)) == 0) {
		rc = patch_apply(r, body, cur, &st);
		step_array_free(v, n);
	}
	json_decref(body);
	step_done(&st);
	snprintf(target, sizeof(target), "step %lld", (long long)id);
	api_audit(r, action, target, rc < 0 ? "refused" : "ok", fields);
	return rc;
}

int h_step_get(struct api_req *r)
{
	int64_t id;
	struct step *v;
	size_t n;
	const struct step *st = NULL;
	int rc = api_param_id(r, 0, &id);
	if (rc < 0 || (rc = step_find(r, id, &v, &n, &st)) < 0)
		return rc;
	json_t *o = step_json(st);
	step_array_free(v, n);
	api_add_unfinished(r, o, LC_STEP, id);
	return api_reply(r, 200, o);
}

int h_step_secure_config(struct api_req *r)
{
	int64_t id;
	struct step *v;
	size_t n;
	const struct step *st = NULL;
	char target[48];
	int rc = api_param_id(r, 0, &id);
	if (rc < 0)
		return rc;
	snprintf(target, sizeof(target), "step %lld", (long long)id);
	if ((rc = step_find(r, id, &v, &n, &st)) == 0) {
		api_reply(r, 200,
			  json_pack("{s:I,s:s?}", "id", (json_int_t)id, "secure_configuration",
				    st->secure_configuration));
		step_array_free(v, n);
	}
	api_audit(r, "step.read_secure_configuration", target, rc < 0 ? "refused" : "ok", NULL);
	return rc;
}
