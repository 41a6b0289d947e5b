/* The route table and dispatch (see router.h). Who may call what is decided here, in one table. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/router.h"
#include "common/error.h"
#include "common/log.h"

#define KiB (1024u)
#define MiB (1024u * 1024u)

struct route {
	const char *method;
	const char *pattern; /* segments; "*" captures a parameter */
	unsigned roles;	     /* 0: no token needed */
	size_t max_body;
	int (*fn)(struct api_req *r);
	/* optional: begins the request on the I/O thread without waiting (see enum api_start) */
	enum api_start (*start)(struct api_req *r);
};

#define ADMIN ROLE_SYSADMIN
#define OPS (ROLE_SYSADMIN | ROLE_OPERATOR)
#define SUBMIT (ROLE_SYSADMIN | ROLE_SUBMITTER)
#define READ (ROLE_SYSADMIN | ROLE_OPERATOR | ROLE_READER) /* SPEC §6: not Submitters */
#define OWN ROLE_ANY /* Submitters too: the handler shows them only their own jobs */

static const struct route routes[] = {
    {"GET", "/healthz", 0, 0, h_healthz},
    {"GET", "/metrics", 0, 0, h_metrics},
    {"GET", "/readyz", 0, 0, h_readyz},
    {"GET", "/", 0, 0, h_console, h_console_start},
    {"GET", "/console/*", 0, 0, h_console, h_console_start},
    {"POST", "/api/v1/events", SUBMIT, 64 * MiB, h_events_raise, h_events_start},
    {"POST", "/api/v1/jobs", SUBMIT, 2 * MiB, h_jobs_submit},
    {"GET", "/api/v1/jobs", OWN, 0, h_jobs_list},
    {"GET", "/api/v1/jobs/stats", READ, 0, h_jobs_stats},
    {"GET", "/api/v1/jobs/stats/hourly", READ, 0, h_jobs_stats_hourly},
    {"GET", "/api/v1/jobs/*", OWN, 0, h_job_get},
    {"DELETE", "/api/v1/jobs/*", OPS, 0, h_job_delete},
    {"POST", "/api/v1/jobs/bulk", OPS, 2 * MiB, h_jobs_bulk},
    {"POST", "/api/v1/jobs/*/*", OPS, 4 * KiB, h_job_action},
    {"PATCH", "/api/v1/jobs/*", OPS, 4 * KiB, h_job_patch},
    {"POST", "/api/v1/bulk-deletes", OPS, 64 * KiB, h_bulk_deletes_create},
    {"POST", "/api/v1/assemblies", ADMIN, 64 * MiB, h_assemblies_register},
    {"GET", "/api/v1/assemblies", READ, 0, h_assemblies_list},
    {"POST", "/api/v1/steps", ADMIN, 1 * MiB, h_steps_create},
    {"GET", "/api/v1/steps", READ, 0, h_steps_list},
    {"PATCH", "/api/v1/steps/*", ADMIN, 4 * KiB, h_step_patch},
    {"DELETE", "/api/v1/steps/*", ADMIN, 0, h_step_delete},
    {"GET", "/api/v1/steps/*", READ, 0, h_step_get},
    {"GET", "/api/v1/steps/*/secure-configuration", ADMIN, 0, h_step_secure_config},
    {"GET", "/api/v1/assemblies/*", READ, 0, h_assembly_get},
    {"DELETE", "/api/v1/assemblies/*", ADMIN, 0, h_assembly_delete},
    {"PATCH", "/api/v1/assemblies/*", ADMIN, 4 * KiB, h_assembly_patch},
    {"GET", "/api/v1/settings", READ, 0, h_settings_get},
    {"PATCH", "/api/v1/settings", ADMIN, 64 * KiB, h_settings_patch},
    {"GET", "/api/v1/audit", ADMIN, 0, h_audit_list},
    {"GET", "/api/v1/services", READ, 0, h_services_list},
    {"GET", "/api/v1/hosts", READ, 0, h_hosts_list},
    {"POST", "/api/v1/hosts/*/services/*/*", ADMIN, 4 * KiB, h_service_action},
    {"PATCH", "/api/v1/hosts/*/services/*", ADMIN, 4 * KiB, h_service_configure},
    {"GET", "/api/v1/users", ADMIN, 0, h_users_list},
    {"POST", "/api/v1/users", ADMIN, 4 * KiB, h_users_create},
    {"DELETE", "/api/v1/users/*", ADMIN, 0, h_user_delete},
    {"GET", "/api/v1/tokens", ADMIN, 0, h_tokens_list},
    {"POST", "/api/v1/tokens", ADMIN, 4 * KiB, h_tokens_create},
    {"DELETE", "/api/v1/tokens/*", ADMIN, 0, h_token_revoke},
    {"POST", "/api/v1/login", 0, 4 * KiB, h_login},
    {"POST", "/api/v1/logout", 0, 0, h_logout},
    {"GET", "/api/v1/whoami", ROLE_ANY, 0, h_whoami},
    {"POST", "/api/v1/debug/clock", ADMIN, 0, h_debug_clock},
};

/* Match path against pattern, copying parameters into r. */
static bool path_matches(const char *pattern, const char *path, struct api_req *r)
{
	size_t used = 0;
	int np = 0;
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");
			if (n == 0 || np == API_MAX_PARAMS || used + n + 1 > sizeof(r->param_buf))
				return false;
			memcpy(r->param_buf + used, path, n);
			r->param_buf[used + n] = 0;
			r->params[np++] = r->param_buf + used;
			used += n + 1;
			path += n;
			pattern++;
		} else if (*pattern++ != *path++) {
			return false;
		}
	}
	return !*pattern && !*path;
}

const struct route *router_match(struct api_req *r, bool *ret_path_known)
{
	*ret_path_known = false;
	size_t n = strcspn(r->url, "?");
	char path[512];
	if (n >= sizeof(path))
		return NULL;
	memcpy(path, r->url, n);
	path[n] = 0;
	if (n > 1 && path[n - 1] == '/')
		path[n - 1] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!path_matches(routes[i].pattern, path, r))
			continue;
		if (!strcmp(routes[i].method, r->method))
			return &routes[i];
		*ret_path_known = true;
	}
	return NULL;
}

int router_count(void)
{
	return (int)ARRAY_SIZE(routes);
}

int router_index(const struct route *rt)
{
	return rt ? (int)(rt - routes) : -1;
}

void router_describe(int i, const char **ret_method, const char **ret_pattern)
{
	*ret_method = routes[i].method;
	*ret_pattern = routes[i].pattern;
}

size_t router_max_body(const struct route *rt)
{
	return rt->max_body;
}

/* The audit action of each administrative route, "noun.verb" as its handler records it when it
 * runs (docs/services.md lists them); "%s" takes the route's last parameter (the action). */
static const struct {
	int (*fn)(struct api_req *r);
	const char *action;
} audit_actions[] = {
    {h_events_raise, "event.raise"},
    {h_jobs_submit, "job.submit"},
    {h_job_delete, "job.delete"},
    {h_job_action, "job.%s"},
    {h_assemblies_register, "assembly.register"},
    {h_assembly_delete, "assembly.delete"},
    {h_assembly_patch, "assembly.patch"},
    {h_steps_create, "step.create"},
    {h_step_patch, "step.patch"},
    {h_step_delete, "step.delete"},
    {h_step_secure_config, "step.read_secure_configuration"},
    {h_settings_patch, "settings.patch"},
    {h_audit_list, "audit.list"},
    {h_service_action, "service.%s"},
    {h_service_configure, "service.configure"},
    {h_users_list, "user.list"},
    {h_users_create, "user.create"},
    {h_user_delete, "user.delete"},
    {h_tokens_list, "token.list"},
    {h_tokens_create, "token.create"},
    {h_token_revoke, "token.revoke"},
};

static void audit_action(const struct route *rt, const struct api_req *r, char *buf, size_t n)
{
	int np = 0;
	while (np < API_MAX_PARAMS && r->params[np])
		np++;
	for (size_t i = 0; i < ARRAY_SIZE(audit_actions); i++)
		if (audit_actions[i].fn == rt->fn) {
			const char *fmt = audit_actions[i].action;
			if (strstr(fmt, "%s"))
				snprintf(buf, n, "%.*s%.40s", (int)(strstr(fmt, "%s") - fmt), fmt,
					 np ? r->params[np - 1] : "?");
			else
				snprintf(buf, n, "%s", fmt);
			return;
		}
	snprintf(buf, n, "%s %s", rt->method, rt->pattern); /* a route not in the list yet */
}

/* Administrative routes (not open to Readers) record refused attempts in the audit log without
 * waiting for the commit (this runs on an HTTP I/O thread); the handlers record what they did. */
static void audit_refusal(const struct route *rt, struct api_req *r, const char *why)
{
	char action[96];
	if (!rt->roles || (rt->roles & ROLE_READER))
		return;
	audit_action(rt, r, action, sizeof(action));
	size_t n = strcspn(r->url, "?");
	char target[256];
	snprintf(target, sizeof(target), "%.*s", (int)(n < 255 ? n : 255), r->url);
	api_audit_post(r, action, target, "refused", why);
}

/* The Content-Types a route's body may have: JSON everywhere but the two routes that take
 * something else as well or instead. */
static const char *body_types(const struct route *rt)
{
	if (rt->fn == h_events_raise)
		return "application/json, application/x-ndjson";
	if (rt->fn == h_assemblies_register)
		return "application/octet-stream";
	return "application/json";
}

/* Whether the media type of header (parameters and case ignored) is one of list. */
static bool type_listed(const char *header, const char *list)
{
	size_t n = header ? strcspn(header, ";") : 0;
	while (n && (header[n - 1] == ' ' || header[n - 1] == '\t'))
		n--;
	for (const char *p = list; n && *p; p += strspn(p, ", ")) {
		size_t m = strcspn(p, ", ");
		if (m == n && !strncasecmp(p, header, n))
			return true;
		p += m;
	}
	return false;
}

/* A body sent with a Content-Type the route does not take is refused (415), never guessed at.
 * application/jsonl is kept as an alias of NDJSON for the events route. */
bool router_body_type_ok(const struct route *rt, struct api_req *r, bool has_body)
{
	const char *types = body_types(rt);
	if (!has_body || type_listed(r->content_type, types) ||
	    (rt->fn == h_events_raise && type_listed(r->content_type, "application/jsonl")))
		return true;
	api_error(r, AE_MEDIATYPE, "%s %.*s takes a body of Content-Type %s, not %s", rt->method,
		  (int)strcspn(r->url, "?"), r->url, types,
		  r->content_type && *r->content_type ? r->content_type : "(none)");
	return false;
}

int router_authorize(const struct route *rt, struct api_req *r)
{
	char need[128], why[256];
	if (!rt->roles)
		return 0;
	int rc = auth_request(r);
	if (rc < 0) {
		audit_refusal(rt, r, "not authenticated");
		return rc;
	}
	if (!(r->roles & rt->roles)) {
		auth_roles_text(rt->roles, need, sizeof(need));
		api_error(r, AE_FORBIDDEN, "%s %.*s needs the role %s; %s does not have it",
			  rt->method, (int)strcspn(r->url, "?"), r->url, need, r->user);
		snprintf(why, sizeof(why), "needs %s", need);
		audit_refusal(rt, r, why);
		return AE_FORBIDDEN;
	}
	return 0;
}

enum api_start router_start(const struct route *rt, struct api_req *r)
{
	if (!rt->start)
		return API_BLOCKING; /* router_dispatch checks the type */
	if (!router_body_type_ok(rt, r, r->body.len > 0))
		return API_DONE;
	return rt->start(r);
}

void router_dispatch(const struct route *rt, struct api_req *r)
{
	if (!router_body_type_ok(rt, r, r->body.len > 0))
		return;
	int rc = rt->fn(r);
	if (rc < 0 && !r->out && !r->text)
		api_error(r, rc, "%s", asyncd_strerror(rc));
}
