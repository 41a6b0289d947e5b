/* Polling jobs until they complete (see cli_wait.h). A job that answers 404 while waited for is
 * taken as deleted on success (async_auto_delete); any other error stops the wait. */
#include "cli/cli_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_http.h"
#include "cli/cli_jobview.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

#define POLL_MS 100

struct waited {
	const json_t *id;
	char *id_text;
	json_t *job; /* the last answer */
	bool done, gone;
};

static bool completed(const json_t *job)
{
	return json_integer_value(json_object_get(job, "state")) == CLI_STATE_COMPLETED;
}

static bool succeeded(const struct waited *w)
{
	return w->gone || (w->done && json_integer_value(json_object_get(w->job, "status")) ==
					  CLI_STATUS_SUCCEEDED);
}

static int take_answer(struct waited *w, struct cli_reply *reply)
{
	if (reply->status == 404) {
		w->gone = w->done = true;
		return 0;
	}
	if (reply->status < 200 || reply->status > 299)
		return cli_http_fail(reply);
	if (!json_is_object(reply->body)) {
		cli_err("job %s: the server's answer is not a JSON object", w->id_text);
		return CLI_ESERVER;
	}
	json_decref(w->job);
	w->job = json_incref(reply->body);
	w->done = completed(w->job);
	return 0;
}

static int poll_one(struct cli_ctx *ctx, struct waited *w)
{
	char *path = cli_path("jobs", w->id_text, NULL);
	struct cli_reply reply;
	int r;

	if (!path) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	r = cli_http_send(ctx, "GET", path, NULL, NULL, 0, &reply);
	if (r == 0)
		r = take_answer(w, &reply);
	cli_reply_done(&reply);
	free(path);
	return r;
}

/* One round over the unfinished jobs: 0 and *ret_pending, or an error. */
static int poll_round(struct cli_ctx *ctx, struct waited *ws, size_t n, size_t *ret_pending)
{
	size_t pending = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		if (ws[i].done)
			continue;
		r = poll_one(ctx, &ws[i]);
		if (r < 0)
			return r;
		pending += !ws[i].done;
	}
	*ret_pending = pending;
	return 0;
}

static json_t *outcome_row(const struct waited *w)
{
	if (!w->gone)
		return json_incref(w->job);
	return json_pack("{s:O,s:s,s:s}", "id", w->id, "outcome", "Deleted", "message",
			 "the job no longer exists (async_auto_delete removes jobs that succeed)");
}

static char *fmt_outcome(const json_t *row, const char *key)
{
	const json_t *o = json_object_get(row, key);
	const char *status = cli_status_name(json_integer_value(json_object_get(row, "status")));
	const char *state = cli_state_name(json_integer_value(json_object_get(row, "state")));
	char *s;

	if (o)
		return cli_text(o);
	if (!completed(row)) {
		if (asprintf(&s, "NotFinished(%s/%s)", state ? state : "?", status ? status : "?") <
		    0)
			return NULL;
		return s;
	}
	return status ? strdup(status) : NULL;
}

static const struct cli_col outcome_cols[] = {
    {"ID", "id", 0, NULL},
    {"STATUS", "outcome", 0, fmt_outcome},
    {"MESSAGE", "message", 72, NULL},
};

static int print_outcomes(const struct cli_ctx *ctx, const struct waited *ws, size_t n)
{
	json_t *rows = json_array();
	int r = 0;

	for (size_t i = 0; rows && i < n && r == 0; i++)
		if (json_array_append_new(rows, outcome_row(&ws[i])) < 0)
			r = CLI_EFAIL;
	if (!rows || r < 0) {
		json_decref(rows);
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	if (ctx->json) {
		json_t *wrap = json_pack("{s:o}", "jobs", rows);

		r = wrap ? cli_print_json(wrap) : cli_oom();
		json_decref(wrap);
		return r;
	}
	r = cli_table(outcome_cols, CLI_NCOLS(outcome_cols), rows);
	json_decref(rows);
	return r;
}

static int verdict(const struct waited *ws, size_t n, size_t pending, double timeout)
{
	size_t failed = 0;

	for (size_t i = 0; i < n; i++)
		failed += ws[i].done && !succeeded(&ws[i]);
	if (pending)
		cli_err("timed out after %g s: %zu job%s not finished", timeout, pending,
			pending == 1 ? "" : "s");
	if (failed)
		cli_err("%zu job%s did not succeed", failed, failed == 1 ? "" : "s");
	return pending || failed ? CLI_EFAIL : 0;
}

static int wait_loop(struct cli_ctx *ctx, struct waited *ws, size_t n, double timeout)
{
	double deadline = cli_now() + timeout;
	size_t pending = n;
	int r;

	for (;;) {
		r = poll_round(ctx, ws, n, &pending);
		if (r < 0)
			return r;
		if (!pending || cli_now() >= deadline)
			break;
		cli_sleep_ms(POLL_MS);
	}
	r = print_outcomes(ctx, ws, n);
	return r < 0 ? r : verdict(ws, n, pending, timeout);
}

int cli_wait_jobs(struct cli_ctx *ctx, const json_t *ids, double timeout)
{
	size_t n = json_array_size(ids);
	struct waited *ws = calloc(n ? n : 1, sizeof(*ws));
	int r = 0;

	if (!ws) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		ws[i].id = json_array_get(ids, i);
		ws[i].id_text = cli_text(ws[i].id);
		if (!ws[i].id_text) {
			cli_err("out of memory");
			r = CLI_EFAIL;
		}
	}
	if (r == 0)
		r = wait_loop(ctx, ws, n, timeout);
	for (size_t i = 0; i < n; i++) {
		free(ws[i].id_text);
		json_decref(ws[i].job);
	}
	free(ws);
	return r;
}
