/* The `job` verbs of asyncctl that change one job: cancel, pause, resume, retry, postpone and
 * delete. Which transitions are allowed is the server's call (409 names the current state). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_body.h"
#include "cli/cli_delete.h"
#include "cli/cli_http.h"
#include "cli/cli_jobview.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

static int show_after(struct cli_ctx *ctx, const struct cli_args *a, const char *id,
		      const json_t *answer)
{
	if (ctx->json)
		return cli_print_json(answer);
	if (json_is_object(answer))
		cli_job_line(answer);
	else
		printf("job %s: %s done\n", id, a->verb->verb);
	return 0;
}

/* POST /api/v1/jobs/ID/VERB with body (may be NULL). */
static int post_action(struct cli_ctx *ctx, const struct cli_args *a, const json_t *body)
{
	json_t *answer = NULL;
	const char *id;
	char *path;
	int r;

	r = cli_arg_id(a, 0, &id);
	if (r < 0)
		return r;
	path = cli_path("jobs", id, a->verb->verb);
	r = path ? cli_http_json(ctx, "POST", path, body, &answer) : cli_oom();
	if (r == 0)
		r = show_after(ctx, a, id, answer);
	json_decref(answer);
	free(path);
	return r;
}

static int job_action(struct cli_ctx *ctx, const struct cli_args *a)
{
	return post_action(ctx, a, NULL);
}

static int job_postpone(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body;
	int r;

	if (!cli_opt(a, "until"))
		return cli_usage(a, "--until is required");
	body = json_object();
	if (!body)
		return cli_oom();
	r = cli_body_time(a, body, "until", "until");
	if (r == 0)
		r = post_action(ctx, a, body);
	json_decref(body);
	return r;
}

static int job_delete(struct cli_ctx *ctx, const struct cli_args *a)
{
	const char *id;
	int r = cli_arg_id(a, 0, &id);

	return r < 0 ? r : cli_delete(ctx, a, "jobs", "job", "deleted");
}

const struct cli_verb cli_job_action_verbs[] = {
    {"job", "cancel", job_action, "", 1, 1, "ID",
     "Cancel a Ready, Suspended or Locked job (a running one is interrupted).", NULL},
    {"job", "pause", job_action, "", 1, 1, "ID",
     "Pause a Locked job: it is interrupted and waits Suspended until resumed.", NULL},
    {"job", "resume", job_action, "", 1, 1, "ID", "Resume a Suspended job.", NULL},
    {"job", "retry", job_action, "", 1, 1, "ID",
     "Run a Failed job again, with its retry count reset.", NULL},
    {"job", "postpone", job_postpone, "until=", 1, 1, "ID --until T",
     "Postpone a Ready or Locked job until T.",
     "  --until T   RFC 3339 (2030-01-31T12:00:00Z), or +N[s|m|h|d] from now\n"},
    {"job", "delete", job_delete, "", 1, 1, "ID",
     "Delete a job in any state (a Locked job is canceled first).", NULL},
    {0},
};
