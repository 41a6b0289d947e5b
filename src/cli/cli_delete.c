/* The shared DELETE verb body (see cli_delete.h). Whether a delete is allowed, drained or
 * refused with counts per state is decided by the server; this only words the outcome. */
#include "cli/cli_delete.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

static const char *const modes[] = {"refuse", "drain", "cancel", NULL};

static void show_members(const json_t *answer)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)answer, key, v)
	{
		char *text = cli_text(v);

		printf("  ");
		cli_kv(stdout, 0, key, text);
		free(text);
	}
}

static int show_deleted(const struct cli_ctx *ctx, const char *noun, const char *id,
			const char *done, const json_t *answer)
{
	if (ctx->json)
		return cli_print_json(answer);
	if (!json_is_object(answer) || json_object_size(answer) == 0) {
		printf("%s %s %s\n", noun, id, done);
		return 0;
	}
	printf("%s %s:\n", noun, id);
	show_members(answer);
	return 0;
}

#define DRAIN_POLL_MS 500
#define DRAIN_MAX_POLLS 7200 /* one hour */

/* "Ready 1, Suspended 2 (1 waiting for a person, next due 2031-01-01T00:00:00Z), Locked 0" and
 * the deadline, from a step's or assembly's JSON. */
static char *drain_text(const json_t *o)
{
	const json_t *c = json_object_get(o, "unfinished");
	const char *next = json_string_value(json_object_get(c, "earliest_postpone_until"));
	const char *deadline = json_string_value(json_object_get(o, "drain_deadline"));
	char *text = NULL;
	if (asprintf(&text,
		     "Ready %lld, Suspended %lld (%lld waiting for a person%s%s), Locked %lld%s%s",
		     (long long)json_integer_value(json_object_get(c, "ready")),
		     (long long)json_integer_value(json_object_get(c, "suspended")),
		     (long long)json_integer_value(json_object_get(c, "waiting_for_person")),
		     next ? ", next due " : "", next ? next : "",
		     (long long)json_integer_value(json_object_get(c, "locked")),
		     deadline ? "; the rest is canceled at " : "", deadline ? deadline : "") < 0)
		return NULL;
	return text;
}

/* Print what a draining step or assembly waits for when it changes. */
static void drain_line(const char *noun, const char *id, const json_t *o, char **last)
{
	char *text = drain_text(o);
	if (text && (!*last || strcmp(text, *last))) {
		fprintf(stderr, "draining %s %s: unfinished jobs: %s\n", noun, id, text);
		free(*last);
		*last = text;
		return;
	}
	free(text);
}

/* Follow a drain until the step or assembly is gone (404). */
static int follow_drain(struct cli_ctx *ctx, const char *collection, const char *noun,
			const char *id)
{
	struct cli_str path = {0};
	char *last = NULL;
	int r = CLI_EFAIL;
	cli_str_addf(&path, "/api/v1/%s/", collection);
	cli_str_add_escaped(&path, id);
	for (int i = 0; i < DRAIN_MAX_POLLS && !path.oom; i++) {
		struct cli_reply rep = {0};
		r = cli_http_send(ctx, "GET", path.buf, NULL, NULL, 0, &rep);
		if (r == 0 && rep.status == 404) {
			printf("%s %s drained and deleted\n", noun, id);
			cli_reply_done(&rep);
			break;
		}
		if (r == 0 && rep.status != 200)
			r = cli_http_fail(&rep);
		if (r == 0)
			drain_line(noun, id, rep.body, &last);
		cli_reply_done(&rep);
		if (r < 0)
			break;
		cli_sleep_ms(DRAIN_POLL_MS);
	}
	free(last);
	cli_str_done(&path);
	return r;
}

int cli_delete(struct cli_ctx *ctx, const struct cli_args *a, const char *collection,
	       const char *noun, const char *done)
{
	const char *id = a->args[0];
	struct cli_str path = {0};
	json_t *answer = NULL;
	int r;

	r = cli_opt_choice(a, "mode", modes);
	if (r < 0)
		return r;
	cli_str_addf(&path, "/api/v1/%s/", collection);
	cli_str_add_escaped(&path, id);
	cli_str_add_query(&path, "mode", cli_opt(a, "mode"));
	if (cli_opt(a, "timeout")) {
		double s;
		if ((r = cli_opt_seconds(a, "timeout", &s)) == 0 &&
		    (!cli_opt(a, "mode") || strcmp(cli_opt(a, "mode"), "drain")))
			r = cli_usage(a, "--timeout goes with --mode drain");
		if (r < 0) {
			cli_str_done(&path);
			return r;
		}
		cli_str_add_query(&path, "timeout", cli_opt(a, "timeout"));
	}
	r = path.oom ? cli_oom() : cli_http_json(ctx, "DELETE", path.buf, NULL, &answer);
	if (r == 0)
		r = show_deleted(ctx, noun, id, done, answer);
	if (r == 0 && json_is_true(json_object_get(answer, "draining")) && !ctx->json)
		r = follow_drain(ctx, collection, noun, id);
	json_decref(answer);
	cli_str_done(&path);
	return r;
}
