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

/* Print the unfinished counts of a draining step or assembly when they change. */
static void drain_line(const char *noun, const char *id, const json_t *counts, char **last)
{
	char *text = cli_text(counts);
	if (text && (!*last || strcmp(text, *last))) {
		fprintf(stderr, "draining %s %s: unfinished jobs %s\n", noun, id, text);
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
			drain_line(noun, id, json_object_get(rep.body, "unfinished"), &last);
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
	r = path.oom ? cli_oom() : cli_http_json(ctx, "DELETE", path.buf, NULL, &answer);
	if (r == 0)
		r = show_deleted(ctx, noun, id, done, answer);
	if (r == 0 && json_is_true(json_object_get(answer, "draining")) && !ctx->json)
		r = follow_drain(ctx, collection, noun, id);
	json_decref(answer);
	cli_str_done(&path);
	return r;
}
