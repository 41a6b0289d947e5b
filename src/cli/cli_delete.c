/* The shared DELETE verb body (see cli_delete.h). Whether a delete is allowed, drained or
 * refused with counts per state is decided by the server; this only words the outcome. */
#include "cli/cli_delete.h"

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
	json_decref(answer);
	cli_str_done(&path);
	return r;
}
