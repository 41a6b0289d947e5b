/* The `service` verbs of asyncctl: list every host's services and start, stop, pause, continue
 * or restart one. A stop is followed until the service is stopped, with its progress (running
 * jobs, seconds left) on stderr. How a service stops is the server's business. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

#define STOP_POLL_MS 500
#define STOP_TIMEOUT_S 600.0

static const struct cli_col service_cols[] = {
    {"HOST", "host", 40, NULL},
    {"NAME", "name", 0, NULL},
    {"STATUS", "status", 0, NULL},
    {"STARTUP", "startup_type", 0, NULL},
    {"DISPLAY NAME", "display_name", 0, NULL},
};

static const struct cli_col host_cols[] = {
    {"ID", "id", 40, NULL},
    {"STATUS", "status", 0, NULL},
    {"ADDRESS", "address", 0, NULL},
    {"VERSION", "version", 0, NULL},
    {"STARTED", "started_on", 0, NULL},
    {"LAST HEARTBEAT", "last_heartbeat", 0, NULL},
};

/* `host list`: every host of the store (PostgreSQL), alive, dead or stopped. */
static int host_list(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL;
	(void)a;
	int r = cli_http_json(ctx, "GET", "/api/v1/hosts", NULL, &answer);
	if (r == 0 && !json_is_array(json_object_get(answer, "hosts"))) {
		cli_err("the server's list of hosts has no \"hosts\" array");
		r = CLI_ESERVER;
	} else if (r == 0) {
		r = ctx->json ? cli_print_json(answer)
			      : cli_table(host_cols, CLI_NCOLS(host_cols),
					  json_object_get(answer, "hosts"));
	}
	json_decref(answer);
	return r;
}

static int get_services(struct cli_ctx *ctx, json_t **ret_answer)
{
	json_t *answer = NULL;
	int r = cli_http_json(ctx, "GET", "/api/v1/services", NULL, &answer);

	if (r == 0 && !json_is_array(json_object_get(answer, "services"))) {
		cli_err("the server's list of services has no \"services\" array");
		json_decref(answer);
		return CLI_ESERVER;
	}
	if (r == 0)
		*ret_answer = answer;
	return r;
}

static int service_list(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL;
	int r;

	(void)a;
	r = get_services(ctx, &answer);
	if (r < 0)
		return r;
	if (ctx->json)
		r = cli_print_json(answer);
	else
		r = cli_table(service_cols, CLI_NCOLS(service_cols),
			      json_object_get(answer, "services"));
	json_decref(answer);
	return r;
}

static bool str_eq(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* The service named name (on host, when not NULL) in a services answer; borrowed. */
static json_t *find_service(const json_t *answer, const char *name, const char *host)
{
	json_t *svc;
	size_t i;

	json_array_foreach(json_object_get(answer, "services"), i, svc)
	{
		if (str_eq(json_object_get(svc, "name"), name) &&
		    (!host || str_eq(json_object_get(svc, "host"), host)))
			return svc;
	}
	return NULL;
}

/* --host, else the host of the first service with this name; malloc'd into *ret. */
static int pick_host(struct cli_ctx *ctx, const struct cli_args *a, char **ret)
{
	const char *host = cli_opt(a, "host");
	json_t *answer = NULL, *svc;
	int r = 0;

	if (!host) {
		r = get_services(ctx, &answer);
		if (r < 0)
			return r;
		svc = find_service(answer, a->args[0], NULL);
		host = json_string_value(json_object_get(svc, "host"));
		if (!host) {
			cli_err("no service named '%s' (asyncctl service list shows them)",
				a->args[0]);
			r = CLI_EFAIL;
		}
	}
	*ret = host ? strdup(host) : NULL;
	if (r == 0 && !*ret)
		r = cli_oom();
	json_decref(answer);
	return r;
}

static char *action_path(const char *host, const char *name, const char *action)
{
	struct cli_str s = {0};

	cli_str_add(&s, "/api/v1/hosts/");
	cli_str_add_escaped(&s, host);
	cli_str_add(&s, "/services/");
	cli_str_add_escaped(&s, name);
	cli_str_addf(&s, "/%s", action);
	return cli_str_steal(&s);
}

static void service_line(FILE *f, const char *host, const char *name, const json_t *svc)
{
	const json_t *running = json_object_get(svc, "jobs_running");
	const json_t *left = json_object_get(svc, "seconds_left");
	char *status = cli_text(json_object_get(svc, "status"));
	char *clean = cli_clean(status ? status : "?", 40);

	fprintf(f, "%s on %s: %s", name, host, clean ? clean : "?");
	if (json_is_integer(running))
		fprintf(f, ", %lld jobs running", (long long)json_integer_value(running));
	if (json_is_number(left))
		fprintf(f, ", %.0f s left", json_number_value(left));
	fputc('\n', f);
	free(status);
	free(clean);
}

/* Print the progress line when it differs from the last one (kept in *last). */
static void progress(const char *host, const char *name, const json_t *svc, char **last)
{
	char *line = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&line, &size);

	if (!f)
		return;
	service_line(f, host, name, svc);
	fclose(f);
	if (!*last || strcmp(*last, line) != 0)
		fputs(line, stderr);
	free(*last);
	*last = line;
}

static int stop_round(struct cli_ctx *ctx, const char *host, const char *name, char **last,
		      json_t **ret_svc)
{
	json_t *answer = NULL, *svc;
	int r = get_services(ctx, &answer);

	if (r < 0)
		return r;
	svc = find_service(answer, name, host);
	if (!svc) {
		cli_err("service %s on %s is no longer listed", name, host);
		r = CLI_EFAIL;
	} else {
		progress(host, name, svc, last);
		*ret_svc = json_incref(svc);
	}
	json_decref(answer);
	return r;
}

/* Poll until the service is stopped; the last state seen goes to *ret_svc. */
static int follow_stop(struct cli_ctx *ctx, const char *host, const char *name, double timeout,
		       json_t **ret_svc)
{
	double deadline = cli_now() + timeout;
	char *last = NULL;
	json_t *svc = NULL;
	int r;

	for (;;) {
		json_decref(svc);
		svc = NULL;
		r = stop_round(ctx, host, name, &last, &svc);
		if (r < 0 || str_eq(json_object_get(svc, "status"), "stopped"))
			break;
		if (cli_now() >= deadline) {
			cli_err("%s on %s is not stopped after %g s", name, host, timeout);
			r = CLI_EFAIL;
			break;
		}
		cli_sleep_ms(STOP_POLL_MS);
	}
	free(last);
	if (r == 0)
		*ret_svc = svc;
	else
		json_decref(svc);
	return r;
}

static int show_service(const struct cli_ctx *ctx, const char *host, const char *name,
			const json_t *svc)
{
	if (ctx->json)
		return cli_print_json(svc);
	if (json_is_object(svc))
		service_line(stdout, host, name, svc);
	return 0;
}

static int post_action(struct cli_ctx *ctx, const struct cli_args *a, const char *host,
		       json_t **ret_answer)
{
	char *path = action_path(host, a->args[0], a->verb->verb);
	int r = path ? cli_http_json(ctx, "POST", path, NULL, ret_answer) : cli_oom();

	free(path);
	return r;
}

/* {"startup_type", "recovery_delay_s"} from --startup and --recovery-delay; NULL (said why)
 * when neither is given or the delay is not a whole number of seconds. */
static json_t *config_body(const struct cli_args *a)
{
	const char *startup = cli_opt(a, "startup"), *delay = cli_opt(a, "recovery-delay");
	json_t *body = json_object();
	char *end = NULL;
	long d = delay ? strtol(delay, &end, 10) : 0;

	if (!startup && !delay) {
		cli_err("give --startup automatic|manual|disabled and/or --recovery-delay SECONDS");
	} else if (delay && (!*delay || *end || d < 0 || d > 3600)) {
		cli_err("--recovery-delay: '%s' is not a number of seconds from 0 to 3600", delay);
	} else if (body) {
		if (startup)
			json_object_set_new(body, "startup_type", json_string(startup));
		if (delay)
			json_object_set_new(body, "recovery_delay_s", json_integer(d));
		return body;
	}
	json_decref(body);
	return NULL;
}

/* asyncctl service set NAME [--host H] --startup TYPE --recovery-delay S: the service's
 * configuration, on any host of a shared store (that host applies and stores it). */
static int service_set(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body = config_body(a), *answer = NULL;
	char *host = NULL, *path = NULL;
	int r = body ? pick_host(ctx, a, &host) : CLI_EUSAGE;

	if (r == 0)
		r = (path = action_path(host, a->args[0], "")) ? 0 : cli_oom();
	if (r == 0) {
		path[strlen(path) - 1] = 0; /* no trailing "/" */
		r = cli_http_json(ctx, "PATCH", path, body, &answer);
	}
	if (r == 0 && ctx->json)
		r = cli_print_json(answer);
	else if (r == 0)
		printf("%s on %s: startup %s, recovery delay %lld s\n", a->args[0], host,
		       json_string_value(json_object_get(answer, "startup_type")),
		       (long long)json_integer_value(json_object_get(answer, "recovery_delay_s")));
	json_decref(body);
	json_decref(answer);
	free(path);
	free(host);
	return r;
}

static int service_action(struct cli_ctx *ctx, const struct cli_args *a)
{
	bool follow = strcmp(a->verb->verb, "stop") == 0 && !cli_flag(a, "no-wait");
	double timeout = STOP_TIMEOUT_S;
	json_t *answer = NULL, *final = NULL;
	char *host = NULL;
	int r;

	r = cli_opt_seconds(a, "timeout", &timeout);
	if (r == 0)
		r = pick_host(ctx, a, &host);
	if (r == 0)
		r = post_action(ctx, a, host, &answer);
	if (r == 0 && follow)
		r = follow_stop(ctx, host, a->args[0], timeout, &final);
	if (r == 0)
		r = show_service(ctx, host, a->args[0], final ? final : answer);
	json_decref(answer);
	json_decref(final);
	free(host);
	return r;
}

#define ACTION_HELP "  --host H   the host (default: the first host that runs a service NAME)\n"

const struct cli_verb cli_service_verbs[] = {
    {"service", "list", service_list, "", 0, 0, "",
     "List the services of every host with their status and startup type.", NULL},
    {"service", "start", service_action, "host=", 1, 1, "NAME [--host H]",
     "Start a service (async, async-maintenance or sandbox).", ACTION_HELP},
    {"service", "stop", service_action, "host=,timeout=,no-wait", 1, 1,
     "NAME [--host H] [--timeout S] [--no-wait]",
     "Stop a service: running jobs get service.stop_timeout to finish, the rest go back to "
     "Ready. Follows the stop until the service is stopped.",
     ACTION_HELP "  --timeout S   give up following after S seconds (default 600)\n"
		 "  --no-wait     only ask for the stop\n"},
    {"service", "pause", service_action, "host=", 1, 1, "NAME [--host H]",
     "Pause a service: no new jobs are selected, running ones finish.", ACTION_HELP},
    {"service", "continue", service_action, "host=", 1, 1, "NAME [--host H]",
     "Continue a paused service.", ACTION_HELP},
    {"service", "restart", service_action, "host=", 1, 1, "NAME [--host H]",
     "Stop a service, then start it again.", ACTION_HELP},
    {"service", "set", service_set, "host=,startup=,recovery-delay=", 1, 1,
     "NAME [--host H] [--startup automatic|manual|disabled] [--recovery-delay S]",
     "Change how a service starts with its host and how long it waits before it starts again "
     "after a failure, on any host of the store.",
     ACTION_HELP},
    {"host", "list", host_list, "", 0, 0, "",
     "List the hosts that share the store: id, status (alive, dead, stopped), address, "
     "version, start and last heartbeat.",
     NULL},
    {0},
};
