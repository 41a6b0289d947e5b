/* The `event` verbs of asyncctl: raising one business event (optionally waiting for the jobs it
 * caused) or a file of them as NDJSON. Event matching and job creation are the server's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_body.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"
#include "cli/cli_wait.h"

static int event_body(const struct cli_args *a, json_t *body)
{
	int r = cli_body_str(a, body, "message", "message");

	if (r == 0)
		r = cli_body_str(a, body, "entity", "entity");
	if (r == 0)
		r = cli_body_str(a, body, "id", "entity_id");
	if (r == 0)
		r = cli_body_set(body, "target", json_object());
	if (r == 0)
		r = cli_body_json(a, body, "target", "target", true);
	if (r == 0)
		r = cli_body_set(body, "pre_image", json_object());
	if (r == 0)
		r = cli_body_json(a, body, "pre-image", "pre_image", true);
	if (r == 0)
		r = cli_body_set(body, "post_image", json_object());
	if (r == 0)
		r = cli_body_json(a, body, "post-image", "post_image", true);
	if (r == 0)
		r = cli_body_str(a, body, "correlation-id", "correlation_id");
	return r;
}

static const struct cli_col raised_cols[] = {
    {"JOB", "id", 0, NULL},
    {"STEP", "step_id", 0, NULL},
};

/* The ids of the jobs in answer["jobs"], as a new array. */
static json_t *job_ids(const json_t *jobs)
{
	json_t *ids = json_array(), *job;
	size_t i;

	json_array_foreach(jobs, i, job)
	{
		if (ids && json_array_append(ids, json_object_get(job, "id")) < 0) {
			json_decref(ids);
			return NULL;
		}
	}
	return ids;
}

static int show_raised(struct cli_ctx *ctx, const struct cli_args *a, const json_t *answer,
		       double timeout)
{
	const json_t *jobs = json_object_get(answer, "jobs");
	json_t *ids;
	int r;

	if (json_array_size(jobs) == 0 && !ctx->json)
		fprintf(stderr, "no asynchronous step matches this event: no job was created\n");
	if (!cli_flag(a, "wait") && ctx->json)
		return cli_print_json(answer);
	if (!cli_flag(a, "wait"))
		return cli_table(raised_cols, CLI_NCOLS(raised_cols), jobs);
	ids = job_ids(jobs);
	if (!ids) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	r = cli_wait_jobs(ctx, ids, timeout);
	json_decref(ids);
	return r;
}

static int raise_bulk(struct cli_ctx *ctx, const struct cli_args *a)
{
	static const char *const single[] = {
	    "message",	  "entity",	    "id",   "target",  "pre-image",
	    "post-image", "correlation-id", "wait", "timeout", NULL};
	const char *file = cli_opt(a, "file");
	json_t *answer = NULL;
	size_t len;
	char *data;
	int r;

	for (size_t i = 0; single[i]; i++)
		if (cli_opt(a, single[i]))
			return cli_usage(a, "--file cannot be combined with --%s", single[i]);
	r = cli_read_file(file, CLI_MAX_BYTES, &data, &len);
	if (r < 0) {
		cli_err("%s: %s", strcmp(file, "-") ? file : "stdin",
			r == -EFBIG ? "larger than 64 MiB: refused" : strerror(-r));
		return CLI_EFAIL;
	}
	r = cli_http_call(ctx, "POST", "/api/v1/events", "application/x-ndjson", data, len,
			  &answer);
	free(data);
	if (r == 0 && ctx->json)
		r = cli_print_json(answer);
	else if (r == 0)
		printf("%lld events raised, %lld jobs created\n",
		       (long long)json_integer_value(json_object_get(answer, "events")),
		       (long long)json_integer_value(json_object_get(answer, "jobs")));
	json_decref(answer);
	return r;
}

static int event_raise(struct cli_ctx *ctx, const struct cli_args *a)
{
	double timeout = CLI_WAIT_DEFAULT_S;
	json_t *body, *answer = NULL;
	int r;

	if (cli_opt(a, "file"))
		return raise_bulk(ctx, a);
	if (!cli_opt(a, "message"))
		return cli_usage(a, "--message is required (or --file for a file of events)");
	if (cli_opt(a, "timeout") && !cli_flag(a, "wait"))
		return cli_usage(a, "--timeout only goes with --wait");
	r = cli_opt_seconds(a, "timeout", &timeout);
	if (r < 0)
		return r;
	body = json_object();
	if (!body) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	r = event_body(a, body);
	if (r == 0)
		r = cli_http_json(ctx, "POST", "/api/v1/events", body, &answer);
	if (r == 0)
		r = show_raised(ctx, a, answer, timeout);
	json_decref(body);
	json_decref(answer);
	return r;
}

const struct cli_verb cli_event_verbs[] = {
    {"event", "raise", event_raise,
     "message=,entity=,id=,target=,pre-image=,post-image=,correlation-id=,wait,timeout=,file=", 0,
     0,
     "--message M [--entity E] [--id ID] [--target JSON] [--pre-image JSON] [--post-image "
     "JSON] [--correlation-id U] [--wait [--timeout S]] | --file F",
     "Raise a business event; asyncd creates one job per matching asynchronous step.",
     "  --message M          the message, e.g. Create, Update, Delete or a custom name\n"
     "  --entity E           the primary entity, e.g. account\n"
     "  --id ID              the entity's id\n"
     "  --target JSON        the input parameters, a JSON object\n"
     "  --pre-image JSON     the entity before the operation, a JSON object\n"
     "  --post-image JSON    the entity after the operation, a JSON object\n"
     "  --correlation-id U   ties the jobs to an original request\n"
     "  --wait               wait until every job is Completed; exit 1 unless all Succeeded\n"
     "  --timeout S          how long --wait waits, in seconds (default 30)\n"
     "  --file F             raise every event of an NDJSON file, one JSON event a line\n"
     "                       (\"-\" reads stdin; at most 64 MiB)\n"},
    {0},
};
