/* Services and hosts: list every service with its status, run start/stop/pause/continue/
 * restart (System Administrator only, audited), and change a service's startup type and
 * recovery delay. A host answers for its own services; other hosts' arrive with the shared
 * PostgreSQL store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/body.h"
#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/settings.h"
#include "exec/writer.h"
#include "host/services.h"
#include "store/store.h"

#define ACTION_WAIT_MS 1000

static json_t *services_array(struct api_req *r)
{
	struct host_services *hs = r->api->services;
	json_t *a = json_array();
	for (int i = 0; hs && i < SVC_COUNT; i++)
		json_array_append_new(a, service_json(&hs->svc[i], r->api->host_id));
	return a;
}

int h_services_list(struct api_req *r)
{
	return api_reply(r, 200, json_pack("{s:o}", "services", services_array(r)));
}

/* One row of the shared store's hosts table: alive while its heartbeat is younger than
 * async.time_until_lock_expires and it did not stop. */
static json_t *host_json(struct api_req *r, const struct host_row *h, int64_t now,
			 int64_t expires_ms)
{
	bool self = !strcmp(h->id, r->api->host_id);
	bool alive = !h->stopped_on && h->heartbeat_on >= now - expires_ms;
	json_t *o = json_pack("{s:s,s:s?,s:s?,s:o,s:o,s:b,s:b}", "id", h->id, "address", h->address,
			      "version", h->version, "started_on", time_json(h->started_on),
			      "last_heartbeat", time_json(h->heartbeat_on), "alive", alive || self,
			      "this_host", self);
	json_object_set_new(o, "status",
			    json_string(alive || self	? "alive"
					: h->stopped_on ? "stopped"
							: "dead"));
	if (self)
		json_object_set_new(o, "services", services_array(r));
	return o;
}

int h_hosts_list(struct api_req *r)
{
	struct host_row *v = NULL;
	struct settings cfg;
	size_t n = 0;
	json_t *a = json_array();
	bool self_seen = false;
	if (strncmp(r->api->store_url, "sqlite:", 7)) {
		struct store *s = api_reader(r);
		int rc = store_hosts_list(s, &v, &n);
		api_reader_put(s);
		if (rc < 0) {
			json_decref(a);
			return api_error(r, rc, "cannot read the hosts: %s", asyncd_strerror(rc));
		}
	}
	settings_current(&cfg);
	int64_t now = clock_now_ms();
	for (size_t i = 0; i < n; i++) {
		self_seen |= !strcmp(v[i].id, r->api->host_id);
		json_array_append_new(a, host_json(r, &v[i], now, cfg.time_until_lock_expires_ms));
	}
	host_rows_free(v, n);
	if (!self_seen) /* SQLite: this host alone */
		json_array_append_new(a, json_pack("{s:s,s:b,s:b,s:s,s:o}", "id", r->api->host_id,
						   "alive", 1, "this_host", 1, "status", "alive",
						   "services", services_array(r)));
	return api_reply(r, 200, json_pack("{s:o}", "hosts", a));
}

/* The service named in the path, on this host; answers 404 otherwise. */
static struct service *path_service(struct api_req *r)
{
	struct host_services *hs = r->api->services;
	const char *host = r->params[0], *name = r->params[1];
	if (strcmp(host, r->api->host_id) && strcmp(host, "local")) {
		api_error(r, AE_NOTFOUND,
			  "host '%s' is not known here: this host is '%s' (GET /api/v1/hosts)",
			  host, r->api->host_id);
		return NULL;
	}
	struct service *s = hs ? services_find(hs, name) : NULL;
	if (!s)
		api_error(r, AE_NOTFOUND,
			  "no service '%s': use async, async-maintenance or sandbox", name);
	return s;
}

static void audit_service(struct api_req *r, const char *action, const struct service *s, int rc,
			  const char *detail)
{
	char what[48], target[320];
	snprintf(what, sizeof(what), "service.%s", action);
	snprintf(target, sizeof(target), "%s/%s", r->api->host_id, s->name);
	api_audit(r, what, target, rc < 0 ? "refused" : "ok", detail);
}

#define REMOTE_WAIT_MS 5000
#define REMOTE_POLL_MS 20

/* The row of host id in the shared store (the caller frees it with host_rows_free(ret, 1));
 * answers 404 or 409 (dead or stopped: naming its last heartbeat) itself, returning < 0. */
static int live_host(struct api_req *r, const char *id, struct host_row **ret)
{
	struct host_row *v = NULL;
	struct settings cfg;
	size_t n = 0;
	char when[40];
	struct store *s = api_reader(r);
	int rc = store_hosts_list(s, &v, &n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot read the hosts: %s", asyncd_strerror(rc));
	settings_current(&cfg);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].id, id))
			continue;
		clock_format_rfc3339(v[i].heartbeat_on, when, sizeof(when));
		if (v[i].stopped_on ||
		    v[i].heartbeat_on < clock_now_ms() - cfg.time_until_lock_expires_ms) {
			api_error(
			    r, AE_CONFLICT,
			    "host '%s' is %s: its last heartbeat was at %s (GET /api/v1/hosts)", id,
			    v[i].stopped_on ? "stopped" : "dead", when);
			host_rows_free(v, n);
			return AE_CONFLICT;
		}
		struct host_row *one = calloc(1, sizeof(*one));
		if (one) {
			*one = v[i];
			memset(&v[i], 0, sizeof(v[i]));
		}
		host_rows_free(v, n);
		*ret = one;
		return one ? 0 : api_error(r, AE_NOMEM, "out of memory");
	}
	host_rows_free(v, n);
	return api_error(r, AE_NOTFOUND, "host '%s' is not known here (GET /api/v1/hosts)", id);
}

static int command_put_fn(struct store *s, void *arg)
{
	return store_command_put(s, arg);
}

/* Wait for the target's answer to command id, bounded; 0 with *ret filled, or AE_TIMEOUT. */
static int await_answer(struct api_req *r, int64_t id, struct host_command *ret)
{
	int64_t end = clock_mono_ms() + REMOTE_WAIT_MS;
	do {
		struct store *s = api_reader(r);
		int rc = store_command_get(s, id, ret);
		api_reader_put(s);
		if (rc < 0)
			return rc;
		if (ret->done_on)
			return 0;
		host_command_done(ret);
		struct timespec ts = {0, REMOTE_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	} while (clock_mono_ms() < end);
	return AE_TIMEOUT;
}

/* A service action or configuration (payload: the PATCH body) for another host of the shared
 * store: stored as a command that the target's listener acts on (NOTIFY asyncd_commands); the
 * answer is the target's. Audited here. */
static int remote_command(struct api_req *r, const char *host, const char *service,
			  const char *action, const char *payload)
{
	struct host_row *target = NULL;
	char what[48], where[320];
	int rc = live_host(r, host, &target);
	if (rc < 0)
		return rc;
	host_rows_free(target, 1);
	struct host_command c = {.host_id = (char *)host,
				 .service = (char *)service,
				 .action = (char *)action,
				 .payload = (char *)payload,
				 .requested_by = r->user,
				 .requested_on = clock_now_ms()};
	struct host_command got = {0};
	rc = writer_call(r->api->w, command_put_fn, &c);
	if (rc == 0)
		rc = await_answer(r, c.id, &got);
	snprintf(what, sizeof(what), "service.%s", action);
	snprintf(where, sizeof(where), "%s/%s", host, service);
	api_audit(r, what, where, rc < 0 || got.rc < 0 ? "refused" : "ok",
		  rc < 0       ? asyncd_strerror(rc)
		  : got.rc < 0 ? got.answer
			       : payload);
	if (rc == AE_TIMEOUT)
		return api_error(r, rc, "host '%s' did not answer within %d ms", host,
				 REMOTE_WAIT_MS);
	if (rc < 0)
		return api_error(r, rc, "cannot reach host '%s': %s", host, asyncd_strerror(rc));
	json_t *answer = got.rc == 0 && got.answer ? json_loads(got.answer, 0, NULL) : NULL;
	rc = got.rc < 0 ? api_error(r, got.rc, "%s", got.answer ? got.answer : "refused")
	     : answer	? api_reply(r, 200, answer)
			: api_error(r, AE_INTERNAL, "host '%s' gave no status", host);
	host_command_done(&got);
	return rc;
}

static int remote_action(struct api_req *r, const char *host, const char *service,
			 const char *action)
{
	if (service_action_parse(action) < 0)
		return api_error(
		    r, AE_NOTFOUND,
		    "no service action '%s': use start, stop, pause, continue or restart", action);
	return remote_command(r, host, service, action, NULL);
}

/* The path names another host of a shared store (a SQLite store has one host: its path
 * answers 404 in path_service). */
static bool other_host(const struct api_req *r)
{
	return strcmp(r->params[0], r->api->host_id) && strcmp(r->params[0], "local") &&
	       strncmp(r->api->store_url, "sqlite:", 7);
}

int h_service_action(struct api_req *r)
{
	if (other_host(r))
		return remote_action(r, r->params[0], r->params[1], r->params[2]);
	char err[256];
	struct service *s = path_service(r);
	if (!s)
		return AE_NOTFOUND;
	int a = service_action_parse(r->params[2]);
	if (a < 0)
		return api_error(r, AE_NOTFOUND,
				 "no service action '%s': use start, stop, pause, continue or "
				 "restart",
				 r->params[2]);
	int rc = service_act(s, (enum svc_action)a, err, sizeof(err));
	audit_service(r, service_action_name((enum svc_action)a), s, rc, rc < 0 ? err : NULL);
	if (rc < 0)
		return api_error(r, rc, "%s", err);
	/* quick actions finish within the wait; a draining stop answers stop_pending */
	service_wait_idle(s, ACTION_WAIT_MS);
	return api_reply(r, 200, service_json(s, r->api->host_id));
}

static int parse_config(struct api_req *r, json_t *body, int *ret_startup, int *ret_delay)
{
	json_t *st = json_object_get(body, "startup_type"),
	       *d = json_object_get(body, "recovery_delay_s");
	*ret_startup = *ret_delay = -1;
	if (!st && !d)
		return api_error(r, AE_INVAL,
				 "send startup_type (automatic, manual or disabled) "
				 "and/or recovery_delay_s");
	if (st && (*ret_startup = service_startup_parse(json_string_value(st))) < 0)
		return api_error(r, AE_INVAL, "startup_type must be automatic, manual or disabled");
	if (d && (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 3600))
		return api_error(r, AE_INVAL, "recovery_delay_s must be 0 to 3600 seconds");
	if (d)
		*ret_delay = (int)json_integer_value(d);
	return 0;
}

/* The configuration for another host: checked here, applied there (peers.c). */
static int remote_configure(struct api_req *r)
{
	json_t *body;
	int startup, delay;
	/* every host runs the same services */
	if (!r->api->services || !services_find(r->api->services, r->params[1]))
		return api_error(r, AE_NOTFOUND,
				 "no service '%s': use async, async-maintenance or sandbox",
				 r->params[1]);
	int rc = api_body(r, BODY_SERVICE, &body);
	if (rc < 0)
		return rc;
	rc = parse_config(r, body, &startup, &delay);
	char *payload = rc == 0 ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (rc == 0)
		rc = payload ? remote_command(r, r->params[0], r->params[1], "configure", payload)
			     : api_error(r, AE_NOMEM, "out of memory");
	free(payload);
	return rc;
}

int h_service_configure(struct api_req *r)
{
	json_t *body;
	int startup, delay;
	if (other_host(r))
		return remote_configure(r);
	struct service *s = path_service(r);
	if (!s)
		return AE_NOTFOUND;
	int rc = api_body(r, BODY_SERVICE, &body);
	if (rc < 0)
		return rc;
	rc = parse_config(r, body, &startup, &delay);
	char *detail = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (rc == 0 && (rc = services_configure(r->api->services, s, startup, delay)) < 0)
		api_error(r, rc, "cannot store the service's configuration: %s",
			  asyncd_strerror(rc));
	audit_service(r, "configure", s, rc, detail);
	free(detail);
	return rc < 0 ? rc : api_reply(r, 200, service_json(s, r->api->host_id));
}
