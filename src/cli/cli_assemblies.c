/* The `assembly` verbs of asyncctl: register a plug-in library (its bytes are uploaded; the
 * server validates it in a sandbox), list and delete assemblies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_delete.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

static const char *const isolations[] = {"none", "sandbox", NULL};

/* Types as "a,b,c": each item a string or an object with a "name". */
static char *fmt_types(const json_t *row, const char *key)
{
	const json_t *types = json_object_get(row, key), *t;
	struct cli_str s = {0};
	size_t i;

	if (!json_is_array(types))
		return cli_text(types);
	json_array_foreach(types, i, t)
	{
		const char *name =
		    json_string_value(json_is_object(t) ? json_object_get(t, "name") : t);
		cli_str_addf(&s, "%s%s", i ? "," : "", name ? name : "?");
	}
	return cli_str_steal(&s);
}

static const char *const shown[] = {"outcome",	 "id",	   "name", "version",
				    "isolation", "sha256", NULL};

static int show_registered(const struct cli_ctx *ctx, const json_t *answer)
{
	char *text;

	if (ctx->json)
		return cli_print_json(answer);
	for (size_t i = 0; shown[i]; i++) {
		if (!json_object_get(answer, shown[i]))
			continue;
		text = cli_text(json_object_get(answer, shown[i]));
		cli_kv(stdout, 9, shown[i], text);
		free(text);
	}
	text = fmt_types(answer, "types");
	cli_kv(stdout, 9, "types", text);
	free(text);
	return 0;
}

static int read_library(const char *file, char **ret_data, size_t *ret_len)
{
	char *data;
	size_t len;
	int r = cli_read_file(file, CLI_MAX_BYTES, &data, &len);

	if (r == -EFBIG) {
		cli_err("%s: larger than 64 MiB: refused", file);
		return CLI_EFAIL;
	}
	if (r < 0) {
		cli_err("cannot read %s: %s", file, strerror(-r));
		return CLI_EFAIL;
	}
	if (len == 0) {
		free(data);
		cli_err("%s: empty file", file);
		return CLI_EFAIL;
	}
	*ret_data = data;
	*ret_len = len;
	return 0;
}

static int assembly_register(struct cli_ctx *ctx, const struct cli_args *a)
{
	struct cli_str path = {0};
	json_t *answer = NULL;
	char *data = NULL;
	size_t len = 0;
	int r;

	r = cli_opt_choice(a, "isolation", isolations);
	if (r == 0)
		r = read_library(a->args[0], &data, &len);
	if (r < 0)
		return r;
	cli_str_add(&path, "/api/v1/assemblies");
	cli_str_add_query(&path, "isolation", cli_opt(a, "isolation"));
	if (cli_flag(a, "allow-downgrade"))
		cli_str_add_query(&path, "allow_downgrade", "true");
	r = path.oom ? cli_oom()
		     : cli_http_call(ctx, "POST", path.buf, "application/octet-stream", data, len,
				     &answer);
	if (r == 0)
		r = show_registered(ctx, answer);
	json_decref(answer);
	cli_str_done(&path);
	free(data);
	return r;
}

static int assembly_set(struct cli_ctx *ctx, const struct cli_args *a)
{
	struct cli_str path = {0};
	json_t *body, *answer = NULL;
	int r = cli_opt_choice(a, "isolation", isolations);

	if (r == 0 && !cli_opt(a, "isolation"))
		r = cli_usage(a, "--isolation is required");
	if (r == 0 && !cli_is_id(a->args[0]))
		r = cli_usage(a, "ID must be an assembly id");
	if (r < 0)
		return r;
	body = json_pack("{s:s}", "isolation", cli_opt(a, "isolation"));
	cli_str_addf(&path, "/api/v1/assemblies/%s", a->args[0]);
	r = !body || path.oom ? cli_oom() : cli_http_json(ctx, "PATCH", path.buf, body, &answer);
	if (r == 0)
		r = show_registered(ctx, answer);
	json_decref(body);
	json_decref(answer);
	cli_str_done(&path);
	return r;
}

static char *fmt_short_sha(const json_t *row, const char *key)
{
	char *s = cli_text(json_object_get(row, key));

	if (s && strlen(s) > 12)
		s[12] = '\0';
	return s;
}

static const struct cli_col assembly_cols[] = {
    {"ID", "id", 0, NULL},
    {"NAME", "name", 32, NULL},
    {"VERSION", "version", 0, NULL},
    {"ISOLATION", "isolation", 0, NULL},
    {"TYPES", "types", 48, fmt_types},
    {"CREATED", "created_on", 0, cli_fmt_time},
    {"SHA256", "sha256", 0, fmt_short_sha},
};

static int assembly_list(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL;
	const json_t *rows;
	int r;

	(void)a;
	r = cli_http_json(ctx, "GET", "/api/v1/assemblies", NULL, &answer);
	if (r < 0)
		return r;
	rows = json_object_get(answer, "assemblies");
	if (ctx->json)
		r = cli_print_json(answer);
	else if (json_array_size(rows) == 0)
		fprintf(stderr, "no assemblies\n");
	else
		r = cli_table(assembly_cols, CLI_NCOLS(assembly_cols), rows);
	json_decref(answer);
	return r;
}

static int assembly_delete(struct cli_ctx *ctx, const struct cli_args *a)
{
	return cli_delete(ctx, a, "assemblies", "assembly", "deleted");
}

const struct cli_verb cli_assembly_verbs[] = {
    {"assembly", "register", assembly_register, "isolation=,allow-downgrade", 1, 1,
     "FILE [--isolation none|sandbox] [--allow-downgrade]",
     "Register a plug-in assembly (a shared library built against asyncd/plugin.h), or "
     "upgrade it in place when only its build or revision changed; prints the outcome "
     "(registered, unchanged, upgraded, downgraded, isolation_changed) or why it was refused.",
     "  --isolation none|sandbox   run its jobs inside the host or in a worker process\n"
     "                             (default: sandbox; an upgrade keeps the registered one)\n"
     "  --allow-downgrade          accept a lower build or revision than the registered one\n"
     "  FILE is uploaded as it is (at most 64 MiB; \"-\" reads stdin)\n"},
    {"assembly", "set", assembly_set, "isolation=", 1, 1, "ID --isolation none|sandbox",
     "Change a registered assembly's isolation.",
     "  --isolation none|sandbox   run its jobs inside the host or in a worker process\n"},
    {"assembly", "list", assembly_list, "", 0, 0, "",
     "List the registered assemblies and their plug-in types.", NULL},
    {"assembly", "delete", assembly_delete, "mode=,timeout=", 1, 1,
     "ID [--mode refuse|drain|cancel] [--timeout SECONDS]", "Delete an assembly that no step uses.",
     "  --mode refuse   (default) refuse while any of its jobs is not Completed\n"
     "  --mode drain    create no more jobs for it, let queued and running ones finish,\n"
     "                  then delete it; progress goes to stderr until it is gone\n"
     "  --mode cancel   cancel its unfinished jobs (reason plugin_deleted), then delete it\n"
     "  --timeout S     with --mode drain: after S seconds the server cancels what is left\n"
     "                  (plugin_deleted) and deletes it\n"},
    {0},
};
