/* Health, settings and the audit log (metrics: h_metrics.c). Settings are validated as a whole
 * before any is stored; they are applied in memory only after the commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/connwatch.h"
#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "store/store.h"

int h_healthz(struct api_req *r)
{
	return api_reply(r, 200, json_pack("{s:s,s:s}", "status", "ok", "host", r->api->host_id));
}

/* Ready once the host's services are set up: events and jobs are accepted from then on, whether
 * or not the async service runs; not while the database cannot be reached (PostgreSQL). */
int h_readyz(struct api_req *r)
{
	if (!r->api->services)
		return api_error_status(r, 503, "starting", "asyncd is still starting");
	int64_t down = store_down_since();
	if (down) {
		char when[40];
		clock_format_rfc3339(down, when, sizeof(when));
		return api_error(r, AE_UNAVAILABLE,
				 "the database cannot be reached since %s: reconnecting (%s)", when,
				 "requests that need it answer 503 store_unavailable meanwhile");
	}
	return api_reply(r, 200,
			 json_pack("{s:s,s:s}", "status", "ready", "host", r->api->host_id));
}

int h_settings_get(struct api_req *r)
{
	char *s = settings_to_json();
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;
	free(s);
	return v ? api_reply(r, 200, v) : api_error(r, AE_NOMEM, "out of memory");
}

struct settings_call {
	json_t *changes;
};

static int settings_fn(struct store *s, void *arg)
{
	struct settings_call *c = arg;
	const char *key;
	json_t *v;
	json_object_foreach(c->changes, key, v)
	{
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		int rc = text ? store_setting_put(s, key, text) : AE_NOMEM;
		free(text);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void apply_all(json_t *body)
{
	const char *key;
	json_t *v;
	char err[256];
	json_object_foreach(body, key, v)
	{
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (text)
			settings_apply(key, text, err, sizeof(err));
		free(text);
	}
}

int h_settings_patch(struct api_req *r)
{
	json_t *body;
	int rc = api_body(r, BODY_SETTINGS, &body);
	if (rc < 0) {
		/* a refused change is audited too, with what was asked (cut to 512 bytes) */
		char detail[512];
		snprintf(detail, sizeof(detail), "%.*s",
			 (int)(r->body.len < 511 ? r->body.len : 511),
			 r->body.data ? r->body.data : "");
		api_audit(r, "settings.patch", "settings", "refused", detail);
		return rc;
	}
	struct settings_call c = {body};
	if ((rc = writer_call(r->api->w, settings_fn, &c)) < 0)
		api_error(r, rc, "cannot store the settings: %s", asyncd_strerror(rc));
	if (rc == 0) {
		apply_all(body);
		if (r->api->engine)
			engine_notify(r->api->engine);
	}
	char *detail = json_dumps(body, JSON_COMPACT);
	api_audit(r, "settings.patch", "settings", rc < 0 ? "refused" : "ok", detail);
	free(detail);
	json_decref(body);
	return rc < 0 ? rc : h_settings_get(r);
}

int h_audit_list(struct api_req *r)
{
	struct audit_entry *v;
	size_t n;
	const char *lim = api_query(r, "limit"), *cur = api_query(r, "cursor");
	long limit = lim ? strtol(lim, NULL, 10) : 50;
	long long cursor = cur ? strtoll(cur, NULL, 10) : 0;
	if (limit < 1 || limit > 1000 || cursor < 0)
		return api_error(r, AE_INVAL, "limit must be 1 to 1000 and cursor a positive id");
	struct store *s = api_reader(r);
	int rc = store_audit_list(s, cursor, (int)limit, &v, &n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot read the audit log: %s", asyncd_strerror(rc));
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I,s:o,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}", "id",
						   (json_int_t)v[i].id, "at", time_json(v[i].at),
						   "user", v[i].user, "remote", v[i].remote,
						   "action", v[i].action, "target", v[i].target,
						   "result", v[i].result, "detail", v[i].detail));
	char next[32];
	snprintf(next, sizeof(next), "%lld", n ? (long long)v[n - 1].id : 0LL);
	bool more = n == (size_t)limit;
	audit_array_free(v, n);
	return api_reply(r, 200,
			 json_pack("{s:o,s:o}", "entries", a, "next_cursor",
				   more ? json_string(next) : json_null()));
}
