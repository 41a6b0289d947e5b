/* The `job` verbs of asyncctl that submit and look at jobs: submit, list, show, stats, wait.
 * The actions that change a job (cancel, pause, ...) are in cli_job_actions.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_body.h"
#include "cli/cli_http.h"
#include "cli/cli_jobview.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"
#include "cli/cli_wait.h"

static int submit_body(const struct cli_args *a, json_t *body)
{
	int r = cli_body_set(body, "plugin_type", json_string(a->args[0]));

	if (r == 0)
		r = cli_body_json(a, body, "data", "data", false);
	if (r == 0)
		r = cli_body_int(a, body, "priority", "priority", 0, 10);
	if (r == 0)
		r = cli_body_time(a, body, "postpone-until", "postpone_until");
	if (r == 0)
		r = cli_body_str(a, body, "dependency-token", "dependency_token");
	if (r == 0)
		r = cli_body_str(a, body, "idempotency-key", "idempotency_key");
	if (r == 0)
		r = cli_body_int(a, body, "max-retries", "max_retries", 0, 1000);
	if (r == 0)
		r = cli_body_str(a, body, "recurrence", "recurrence_pattern");
	if (r == 0)
		r = cli_body_time(a, body, "recurrence-start", "recurrence_start_time");
	if (r == 0)
		r = cli_body_str(a, body, "timezone", "recurrence_timezone");
	if (r == 0 && !cli_opt(a, "recurrence") &&
	    (cli_opt(a, "recurrence-start") || cli_opt(a, "timezone")))
		r = cli_usage(a, "--recurrence-start and --timezone go with --recurrence");
	return r;
}

static int show_submitted(struct cli_ctx *ctx, const struct cli_args *a, const json_t *answer,
			  double timeout)
{
	json_t *ids;
	char *id;
	int r;

	if (cli_flag(a, "wait")) {
		ids = json_pack("[O]", json_object_get(answer, "id"));
		r = ids ? cli_wait_jobs(ctx, ids, timeout) : cli_oom();
		json_decref(ids);
		return r;
	}
	if (ctx->json)
		return cli_print_json(answer);
	id = cli_text(json_object_get(answer, "id"));
	printf("%s\n", id ? id : "?");
	free(id);
	return 0;
}

static int job_submit(struct cli_ctx *ctx, const struct cli_args *a)
{
	double timeout = CLI_WAIT_DEFAULT_S;
	json_t *body = json_object(), *answer = NULL;
	int r = body ? 0 : cli_oom();

	if (r == 0 && cli_opt(a, "timeout") && !cli_flag(a, "wait"))
		r = cli_usage(a, "--timeout only goes with --wait");
	if (r == 0)
		r = cli_opt_seconds(a, "timeout", &timeout);
	if (r == 0)
		r = submit_body(a, body);
	if (r == 0)
		r = cli_http_json(ctx, "POST", "/api/v1/jobs", body, &answer);
	if (r == 0)
		r = show_submitted(ctx, a, answer, timeout);
	json_decref(body);
	json_decref(answer);
	return r;
}

/* Add ?name=N for a state or status option given by name or number. */
static int query_named(const struct cli_args *a, struct cli_str *q, const char *opt,
		       int (*parse)(const char *, int *), const char *(*names)(void))
{
	const char *v = cli_opt(a, opt);
	char num[16];
	int n;

	if (!v)
		return 0;
	if (parse(v, &n) < 0)
		return cli_usage(a, "--%s: '%s' is not one of %s", opt, v, names());
	snprintf(num, sizeof(num), "%d", n);
	cli_str_add_query(q, opt, num);
	return 0;
}

static int list_query(const struct cli_args *a, struct cli_str *q)
{
	long long limit = 0;
	int r = query_named(a, q, "state", cli_state_parse, cli_state_names);

	if (r == 0)
		r = query_named(a, q, "status", cli_status_parse, cli_status_names);
	if (r == 0)
		r = cli_opt_ll(a, "limit", 1, 1000000, &limit);
	cli_str_add_query(q, "plugin_type", cli_opt(a, "type"));
	cli_str_add_query(q, "step_id", cli_opt(a, "step"));
	cli_str_add_query(q, "limit", cli_opt(a, "limit"));
	cli_str_add_query(q, "cursor", cli_opt(a, "cursor"));
	return r;
}

static int job_list(struct cli_ctx *ctx, const struct cli_args *a)
{
	struct cli_str q = {0};
	json_t *answer = NULL;
	const json_t *jobs;
	int r;

	cli_str_add(&q, "/api/v1/jobs");
	r = list_query(a, &q);
	if (r == 0 && q.oom)
		r = cli_oom();
	if (r == 0)
		r = cli_http_json(ctx, "GET", q.buf, NULL, &answer);
	cli_str_done(&q);
	if (r < 0)
		return r;
	jobs = json_object_get(answer, "jobs");
	if (ctx->json)
		r = cli_print_json(answer);
	else if (json_array_size(jobs) == 0)
		fprintf(stderr, "no jobs\n");
	else
		r = cli_jobs_table(jobs);
	if (r == 0 && !ctx->json)
		cli_next_cursor(answer);
	json_decref(answer);
	return r;
}

static int job_show(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL;
	const char *id;
	char *path;
	int r;

	r = cli_arg_id(a, 0, &id);
	if (r < 0)
		return r;
	path = cli_path("jobs", id, NULL);
	r = path ? cli_http_json(ctx, "GET", path, NULL, &answer) : cli_oom();
	if (r == 0)
		r = ctx->json ? cli_print_json(answer) : cli_job_print(answer);
	json_decref(answer);
	free(path);
	return r;
}

static json_t *stats_rows(const json_t *by_status)
{
	json_t *rows = json_array(), *v;
	const char *key;

	json_object_foreach((json_t *)by_status, key, v)
	{
		const char *name = cli_status_name(strtol(key, NULL, 10));

		if (rows &&
		    json_array_append_new(rows, json_pack("{s:s,s:s,s:O}", "status", key, "name",
							  name ? name : "?", "count", v)) < 0) {
			json_decref(rows);
			return NULL;
		}
	}
	return rows;
}

static const struct cli_col stats_cols[] = {
    {"STATUS", "status", 0, NULL},
    {"NAME", "name", 0, NULL},
    {"COUNT", "count", 0, NULL},
};

static int job_stats(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL, *rows;
	char *total;
	int r;

	(void)a;
	r = cli_http_json(ctx, "GET", "/api/v1/jobs/stats", NULL, &answer);
	if (r < 0)
		return r;
	if (ctx->json) {
		r = cli_print_json(answer);
		json_decref(answer);
		return r;
	}
	rows = stats_rows(json_object_get(answer, "by_status"));
	r = rows ? cli_table(stats_cols, CLI_NCOLS(stats_cols), rows) : cli_oom();
	total = cli_text(json_object_get(answer, "total"));
	if (r == 0)
		printf("total: %s\n", total ? total : "-");
	free(total);
	json_decref(rows);
	json_decref(answer);
	return r;
}

static int job_wait(struct cli_ctx *ctx, const struct cli_args *a)
{
	double timeout = CLI_WAIT_DEFAULT_S;
	json_t *ids = json_array();
	const char *id;
	int r = ids ? cli_opt_seconds(a, "timeout", &timeout) : cli_oom();

	for (int i = 0; r == 0 && i < a->nargs; i++) {
		r = cli_arg_id(a, i, &id);
		if (r == 0 && json_array_append_new(ids, json_integer(strtoll(id, NULL, 10))) < 0)
			r = cli_oom();
	}
	if (r == 0)
		r = cli_wait_jobs(ctx, ids, timeout);
	json_decref(ids);
	return r;
}

const struct cli_verb cli_job_verbs[] = {
    {"job", "submit", job_submit,
     "data=,priority=,postpone-until=,dependency-token=,idempotency-key=,max-retries=,"
     "recurrence=,recurrence-start=,timezone=,wait,timeout=",
     1, 1,
     "TYPE [--data JSON] [--priority N] [--postpone-until T] [--dependency-token S] "
     "[--idempotency-key K] [--max-retries N] [--recurrence R [--recurrence-start T] "
     "[--timezone Z]] [--wait [--timeout S]]",
     "Submit a job straight to a plug-in type (ASSEMBLY.TYPE, e.g. samples.noop); prints its "
     "id.",
     "  --data JSON            the job's input, any JSON value\n"
     "  --priority N           0 (first) to 10 (default 5)\n"
     "  --postpone-until T     not before T: RFC 3339, or +N[s|m|h|d] from now\n"
     "  --dependency-token S   jobs sharing S run one at a time, in order\n"
     "  --idempotency-key K    submitting the same key again is a no-op\n"
     "  --max-retries N        attempts allowed after transient failures\n"
     "  --recurrence R         run again and again: an RRULE such as\n"
     "                         'FREQ=DAILY;BYHOUR=2;BYMINUTE=0' (docs/recurrence.md)\n"
     "  --recurrence-start T   no occurrence before T (default now)\n"
     "  --timezone Z           IANA zone of the rule's wall-clock times (default UTC)\n"
     "  --wait                 wait until it is Completed; exit 1 unless it Succeeded\n"
     "  --timeout S            how long --wait waits, in seconds (default 30)\n"},
    {"job", "list", job_list, "state=,status=,type=,step=,limit=,cursor=", 0, 0,
     "[--state S] [--status S] [--type T] [--step ID] [--limit N] [--cursor C]",
     "List jobs, newest first, one page at a time.",
     "  --state S     Ready, Suspended, Locked, Completed, or their numbers 0-3\n"
     "  --status S    WaitingForResources, Waiting, InProgress, Pausing, Canceling,\n"
     "                Succeeded, Failed, Canceled, or their numbers (0, 10, 20-22, 30-32)\n"
     "  --type T      only jobs of plug-in type T\n"
     "  --step ID     only jobs of step ID\n"
     "  --limit N     at most N jobs\n"
     "  --cursor C    the page after the one that printed C\n"},
    {"job", "show", job_show, "", 1, 1, "ID", "Show every field of a job, then its trace log.",
     NULL},
    {"job", "stats", job_stats, "", 0, 0, "", "Count jobs per status.", NULL},
    {"job", "wait", job_wait, "timeout=", 1, 1000, "ID... [--timeout S]",
     "Wait until the jobs are Completed; exit 1 unless all Succeeded.",
     "  --timeout S   give up after S seconds (default 30)\n"},
    {0},
};
