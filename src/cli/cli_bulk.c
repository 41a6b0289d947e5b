/* The `job` verbs of asyncctl that act on many jobs or change a schedule: bulk, bulk-delete,
 * schedule (docs/asyncctl.md, docs/system-jobs.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_body.h"
#include "cli/cli_http.h"
#include "cli/cli_jobview.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

/* The filter options: --state, --status (names or numbers), --type, --step, --error-code,
 * --completed-before, --older-than; NULL in *ret when none is given. */
static int filter_body(const struct cli_args *a, json_t **ret)
{
	json_t *f = json_object();
	const char *v;
	int n, r = f ? 0 : cli_oom();

	if (r == 0 && (v = cli_opt(a, "state"))) {
		if (cli_state_parse(v, &n) < 0)
			r = cli_usage(a, "--state: '%s' is not one of %s", v, cli_state_names());
		else
			r = cli_body_set(f, "state", json_integer(n));
	}
	if (r == 0 && (v = cli_opt(a, "status"))) {
		if (cli_status_parse(v, &n) < 0)
			r = cli_usage(a, "--status: '%s' is not one of %s", v, cli_status_names());
		else
			r = cli_body_set(f, "status", json_integer(n));
	}
	if (r == 0)
		r = cli_body_str(a, f, "type", "plugin_type");
	if (r == 0)
		r = cli_body_int(a, f, "step", "step_id", 1, 1LL << 53);
	if (r == 0)
		r = cli_body_str(a, f, "error-code", "error_code");
	if (r == 0)
		r = cli_body_time(a, f, "completed-before", "completed_before");
	if (r == 0 && (v = cli_opt(a, "older-than"))) {
		double s;
		r = cli_opt_seconds(a, "older-than", &s);
		if (r == 0)
			r = cli_body_set(f, "older_than", json_real(s));
	}
	if (r < 0 || json_object_size(f) == 0) {
		json_decref(f);
		f = NULL;
	}
	*ret = f;
	return r;
}

static int print_counts(struct cli_ctx *ctx, const json_t *answer)
{
	if (ctx->json)
		return cli_print_json(answer);
	if (json_object_get(answer, "job_id")) {
		char *id = cli_text(json_object_get(answer, "job_id"));
		printf("system job %s does it (asyncctl job show %s)\n", id ? id : "?",
		       id ? id : "?");
		free(id);
		return 0;
	}
	printf("matched %lld: done %lld, not allowed %lld, not found %lld\n",
	       (long long)json_integer_value(json_object_get(answer, "matched")),
	       (long long)json_integer_value(json_object_get(answer, "done")),
	       (long long)json_integer_value(json_object_get(answer, "not_allowed")),
	       (long long)json_integer_value(json_object_get(answer, "not_found")));
	return 0;
}

static int job_bulk(struct cli_ctx *ctx, const struct cli_args *a)
{
	static const char *const actions[] = {"cancel", "retry", "resume", "delete", NULL};
	json_t *body = json_pack("{s:s}", "action", a->args[0]), *filter = NULL, *answer = NULL;
	bool found = false;
	int r = body ? 0 : cli_oom();

	for (size_t i = 0; actions[i]; i++)
		found |= !strcmp(a->args[0], actions[i]);
	if (r == 0 && !found)
		r = cli_usage(a, "'%s' is not a bulk action (cancel, retry, resume, delete)",
			      a->args[0]);
	if (r == 0)
		r = filter_body(a, &filter);
	if (r == 0 && !filter == !cli_opt(a, "ids"))
		r = cli_usage(a, "give --ids or filter options (--state, --status, --type, ...)");
	if (r == 0 && filter)
		r = cli_body_set(body, "filter", filter);
	else
		json_decref(filter);
	if (r == 0 && cli_opt(a, "ids")) {
		json_t *ids = json_array();
		char *copy = strdup(cli_opt(a, "ids")), *save = NULL;
		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && r == 0;
		     t = strtok_r(NULL, ",", &save)) {
			if (!cli_is_id(t))
				r = cli_usage(a, "--ids: '%s' is not a job id", t);
			else
				json_array_append_new(ids, json_integer(strtoll(t, NULL, 10)));
		}
		free(copy);
		if (r == 0)
			r = cli_body_set(body, "ids", ids);
		else
			json_decref(ids);
	}
	if (r == 0)
		r = cli_http_json(ctx, "POST", "/api/v1/jobs/bulk", body, &answer);
	if (r == 0)
		r = print_counts(ctx, answer);
	json_decref(body);
	json_decref(answer);
	return r;
}

static int recurrence_body(const struct cli_args *a, json_t *body)
{
	int r = cli_body_str(a, body, "recurrence", "recurrence_pattern");
	if (r == 0)
		r = cli_body_time(a, body, "recurrence-start", "recurrence_start_time");
	if (r == 0)
		r = cli_body_str(a, body, "timezone", "recurrence_timezone");
	return r;
}

static int job_bulk_delete(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body = json_object(), *filter = NULL, *answer = NULL;
	int r = body ? 0 : cli_oom();

	if (r == 0)
		r = filter_body(a, &filter);
	if (r == 0 && !filter)
		r = cli_usage(a, "give filter options (--state, --status, --type, --step, "
				 "--error-code, --completed-before, --older-than)");
	if (r == 0)
		r = cli_body_set(body, "filter", filter);
	if (r == 0)
		r = recurrence_body(a, body);
	if (r == 0)
		r = cli_http_json(ctx, "POST", "/api/v1/bulk-deletes", body, &answer);
	if (r == 0 && ctx->json)
		r = cli_print_json(answer);
	else if (r == 0) {
		char *id = cli_text(json_object_get(answer, "id"));
		printf("%s\n", id ? id : "?");
		free(id);
	}
	json_decref(body);
	json_decref(answer);
	return r;
}

static int job_schedule(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body = json_object(), *answer = NULL;
	const char *id;
	char *path = NULL;
	int r = body ? cli_arg_id(a, 0, &id) : cli_oom();

	if (r == 0)
		r = recurrence_body(a, body);
	if (r == 0)
		r = (path = cli_path("jobs", id, NULL)) ? 0 : cli_oom();
	if (r == 0)
		r = cli_http_json(ctx, "PATCH", path, body, &answer);
	if (r == 0)
		r = ctx->json ? cli_print_json(answer) : cli_job_print(answer);
	free(path);
	json_decref(body);
	json_decref(answer);
	return r;
}

#define FILTER_OPTS "state=,status=,type=,step=,error-code=,completed-before=,older-than="
#define FILTER_HELP                                                                                \
	"  --state S              Ready, Suspended, Locked, Completed (or 0-3)\n"                  \
	"  --status S             WaitingForResources, Waiting, ..., Failed, Canceled (or the "    \
	"numbers)\n"                                                                               \
	"  --type T               plug-in type (ASSEMBLY.TYPE)\n"                                  \
	"  --step ID              jobs of step ID\n"                                               \
	"  --error-code C         jobs whose error_code is C\n"                                    \
	"  --completed-before T   completed before T (RFC 3339 or +N[s|m|h|d])\n"                  \
	"  --older-than S         completed more than S seconds ago\n"

const struct cli_verb cli_bulk_verbs[] = {
    {"job", "bulk", job_bulk, "ids=," FILTER_OPTS, 1, 1,
     "cancel|retry|resume|delete (--ids ID,ID,... | FILTER)",
     "Apply an action to a list of jobs or to every job matching a filter; prints the counts "
     "(a large set is done by a system job, whose id is printed).",
     "  --ids ID,ID,...        these jobs\n" FILTER_HELP},
    {"job", "bulk-delete", job_bulk_delete, FILTER_OPTS ",recurrence=,recurrence-start=,timezone=",
     0, 0, "FILTER [--recurrence R [--recurrence-start T] [--timezone Z]]",
     "Make a bulk-delete system job (operation type 13) for the jobs matching a filter; prints "
     "its id.",
     FILTER_HELP "  --recurrence R         run it again and again (docs/recurrence.md)\n"},
    {"job", "schedule", job_schedule, "recurrence=,recurrence-start=,timezone=", 1, 1,
     "ID --recurrence R [--recurrence-start T] [--timezone Z]",
     "Change a recurring job's schedule (maintenance jobs: System Administrators only).", NULL},
    {0},
};
