/* The `step` verbs of asyncctl: add a step (which message on which entity runs which plug-in
 * type, asynchronously), list, enable, disable and delete steps. Matching events to steps is
 * the server's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_body.h"
#include "cli/cli_delete.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

#define SECURE_CONFIG_MAX ((size_t)1 << 20)

/* "pre|post:ALIAS[:attr1,attr2]" as {"type","alias","attributes"?}; NULL when malformed. */
static json_t *parse_image(const char *spec)
{
	const char *colon = strchr(spec, ':'), *alias, *attrs;
	size_t tlen = colon ? (size_t)(colon - spec) : 0;
	json_t *img;

	if (!colon || !((tlen == 3 && strncmp(spec, "pre", 3) == 0) ||
			(tlen == 4 && strncmp(spec, "post", 4) == 0)))
		return NULL;
	alias = colon + 1;
	attrs = strchr(alias, ':');
	if (attrs == alias || !*alias)
		return NULL;
	img = json_pack("{s:s%,s:s%}", "type", spec, tlen, "alias", alias,
			attrs ? (size_t)(attrs - alias) : strlen(alias));
	if (img && attrs && json_object_set_new(img, "attributes", cli_split_list(attrs + 1)) < 0) {
		json_decref(img);
		return NULL;
	}
	return img;
}

static int body_images(const struct cli_args *a, json_t *body)
{
	json_t *images, *img;
	const char *spec;

	if (!cli_opt(a, "image"))
		return 0;
	images = json_array();
	if (!images)
		return cli_oom();
	for (size_t i = 0; (spec = cli_opt_nth(a, "image", i)); i++) {
		img = parse_image(spec);
		if (!img) {
			json_decref(images);
			return cli_usage(
			    a, "--image: expected pre|post:ALIAS[:attr1,attr2], not '%s'", spec);
		}
		if (json_array_append_new(images, img) < 0) {
			json_decref(images);
			return cli_oom();
		}
	}
	return cli_body_set(body, "images", images);
}

/* --secure-config -: read it from stdin, so it stays out of the process list. */
static int body_secure_config(const struct cli_args *a, json_t *body)
{
	const char *v = cli_opt(a, "secure-config");
	size_t len;
	char *data;
	int r;

	if (!v || strcmp(v, "-") != 0)
		return cli_body_str(a, body, "secure-config", "secure_configuration");
	r = cli_read_file("-", SECURE_CONFIG_MAX, &data, &len);
	if (r < 0) {
		cli_err("--secure-config -: cannot read stdin: %s",
			r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return CLI_EFAIL;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	r = cli_body_set(body, "secure_configuration", json_stringn(data, len));
	explicit_bzero(data, len);
	free(data);
	return r;
}

static int step_body(const struct cli_args *a, json_t *body)
{
	int r = cli_body_str(a, body, "type", "plugin_type");

	if (r == 0)
		r = cli_body_str(a, body, "message", "message");
	if (r == 0)
		r = cli_body_str(a, body, "entity", "entity");
	if (r == 0)
		r = cli_body_int(a, body, "rank", "rank", 0, 2147483647);
	if (r == 0)
		r = cli_body_list(a, body, "filter", "filtering_attributes");
	if (r == 0)
		r = cli_body_str(a, body, "config", "configuration");
	if (r == 0)
		r = body_secure_config(a, body);
	if (r == 0 && cli_flag(a, "auto-delete"))
		r = cli_body_set(body, "async_auto_delete", json_true());
	if (r == 0)
		r = body_images(a, body);
	if (r == 0)
		r = cli_body_str(a, body, "name", "name");
	if (r == 0)
		r = cli_body_str(a, body, "user", "impersonating_user");
	return r;
}

/* Which assembly the type bound to, on stderr (stdout keeps only the id for scripts). */
static void print_bound(const json_t *asm_)
{
	const char *name = json_string_value(json_object_get(asm_, "name"));
	const char *version = json_string_value(json_object_get(asm_, "version"));
	if (name && version)
		fprintf(stderr, "bound to assembly %s %s (id %lld)\n", name, version,
			(long long)json_integer_value(json_object_get(asm_, "id")));
}

static int step_add(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body, *answer = NULL;
	char *id;
	int r;

	if (!cli_opt(a, "type") || !cli_opt(a, "message"))
		return cli_usage(a, "--type and --message are required");
	body = json_object();
	if (!body)
		return cli_oom();
	r = step_body(a, body);
	if (r == 0)
		r = cli_http_json(ctx, "POST", "/api/v1/steps", body, &answer);
	if (r == 0 && ctx->json) {
		r = cli_print_json(answer);
	} else if (r == 0) {
		id = cli_text(json_object_get(answer, "id"));
		printf("%s\n", id ? id : "?");
		free(id);
		print_bound(json_object_get(answer, "assembly"));
	}
	json_decref(body);
	json_decref(answer);
	return r;
}

static const struct cli_col step_cols[] = {
    {"ID", "id", 0, NULL},
    {"NAME", "name", 40, NULL},
    {"TYPE", "plugin_type", 32, NULL},
    {"MESSAGE", "message", 20, NULL},
    {"ENTITY", "entity", 20, NULL},
    {"RANK", "rank", 0, NULL},
    {"ENABLED", "enabled", 0, cli_fmt_bool},
};

static int step_list(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL;
	const json_t *rows;
	int r;

	(void)a;
	r = cli_http_json(ctx, "GET", "/api/v1/steps", NULL, &answer);
	if (r < 0)
		return r;
	rows = json_object_get(answer, "steps");
	if (ctx->json)
		r = cli_print_json(answer);
	else if (json_array_size(rows) == 0)
		fprintf(stderr, "no steps\n");
	else
		r = cli_table(step_cols, CLI_NCOLS(step_cols), rows);
	json_decref(answer);
	return r;
}

/* step enable|disable ID */
static int step_toggle(struct cli_ctx *ctx, const struct cli_args *a)
{
	bool enable = strcmp(a->verb->verb, "enable") == 0;
	json_t *body = json_pack("{s:b}", "enabled", enable), *answer = NULL;
	char *path = cli_path("steps", a->args[0], NULL);
	int r;

	r = body && path ? cli_http_json(ctx, "PATCH", path, body, &answer) : cli_oom();
	if (r == 0 && ctx->json)
		r = cli_print_json(answer);
	else if (r == 0)
		printf("step %s %s\n", a->args[0], enable ? "enabled" : "disabled");
	json_decref(body);
	json_decref(answer);
	free(path);
	return r;
}

/* step secure-config ID: the one read of a secure configuration (System Administrators; the
 * server audits it). Printed as is, without a newline added, so that it can be piped. */
static int step_secure_config(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL;
	char *path = cli_path("steps", a->args[0], "secure-configuration");
	int r = path ? cli_http_json(ctx, "GET", path, NULL, &answer) : cli_oom();
	const char *v = json_string_value(json_object_get(answer, "secure_configuration"));

	if (r == 0 && ctx->json)
		r = cli_print_json(answer);
	else if (r == 0 && v)
		fputs(v, stdout);
	else if (r == 0)
		fprintf(stderr, "step %s has no secure configuration\n", a->args[0]);
	json_decref(answer);
	free(path);
	return r;
}

/* --clear FIELD (repeatable): the field becomes null (configuration, filter, images, ...). */
static int body_clears(const struct cli_args *a, json_t *body)
{
	static const struct {
		const char *opt, *field;
	} names[] = {{"config", "configuration"},
		     {"secure-config", "secure_configuration"},
		     {"filter", "filtering_attributes"},
		     {"image", "images"},
		     {"entity", "entity"},
		     {"name", "name"},
		     {"user", "impersonating_user"}};
	const char *v;
	for (size_t i = 0; (v = cli_opt_nth(a, "clear", i)); i++) {
		size_t k = 0;
		while (k < sizeof(names) / sizeof(names[0]) && strcmp(names[k].opt, v) &&
		       strcmp(names[k].field, v))
			k++;
		if (k == sizeof(names) / sizeof(names[0]))
			return cli_usage(a,
					 "--clear: expected config, secure-config, filter, image, "
					 "entity, name or user, not '%s'",
					 v);
		if (cli_body_set(body, names[k].field, json_null()) < 0)
			return CLI_EFAIL;
	}
	return 0;
}

static int body_patch(const struct cli_args *a, json_t *body)
{
	int r = step_body(a, body);
	const char *del = cli_opt(a, "auto-delete"), *en = cli_opt(a, "enabled");
	if (r == 0 && del && strcmp(del, "true") && strcmp(del, "false"))
		return cli_usage(a, "--auto-delete: expected true or false, not '%s'", del);
	if (r == 0 && en && strcmp(en, "true") && strcmp(en, "false"))
		return cli_usage(a, "--enabled: expected true or false, not '%s'", en);
	if (r == 0 && del)
		r = cli_body_set(body, "async_auto_delete", json_boolean(!strcmp(del, "true")));
	if (r == 0 && en)
		r = cli_body_set(body, "enabled", json_boolean(!strcmp(en, "true")));
	return r == 0 ? body_clears(a, body) : r;
}

/* step set ID --field value...: PATCH the named fields; prints the step as it is now. */
static int step_set(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body = json_object(), *answer = NULL;
	char *path = cli_path("steps", a->args[0], NULL);
	int r = body && path ? body_patch(a, body) : cli_oom();
	if (r == 0 && json_object_size(body) == 0)
		r = cli_usage(a, "name at least one field to change, e.g. --config S or --rank N");
	if (r == 0)
		r = cli_http_json(ctx, "PATCH", path, body, &answer);
	if (r == 0 && ctx->json) {
		r = cli_print_json(answer);
	} else if (r == 0) {
		const char *k;
		json_t *v;
		printf("step %s changed:", a->args[0]);
		json_object_foreach(body, k, v) printf(" %s", k);
		printf("\n");
	}
	json_decref(body);
	json_decref(answer);
	free(path);
	return r;
}

static int step_delete(struct cli_ctx *ctx, const struct cli_args *a)
{
	return cli_delete(ctx, a, "steps", "step", "deleted");
}

const struct cli_verb cli_step_verbs[] = {
    {"step", "add", step_add,
     "type=,message=,entity=,rank=,filter=,config=,secure-config=,auto-delete,image*,name=,"
     "user=",
     0, 0,
     "--type ASSEMBLY.TYPE --message M [--entity E] [--rank N] [--filter a,b,c] [--config S] "
     "[--secure-config S|-] [--auto-delete] [--image pre|post:ALIAS[:a,b]]... [--name N] "
     "[--user U]",
     "Add an asynchronous step: message M on entity E runs plug-in type ASSEMBLY.TYPE; "
     "prints its id (and on stderr the assembly it bound).",
     "  --type T              the plug-in type, e.g. samples.echo; samples@1.echo or\n"
     "                        samples@1.2.echo pick the assembly's major or major.minor\n"
     "  --message M           Create, Update, Delete, Assign, SetState or a custom message\n"
     "  --entity E            the primary entity (default: any)\n"
     "  --rank N              order among the steps of one event\n"
     "  --filter a,b,c        Update only fires when one of these attributes changed\n"
     "  --config S            unsecure configuration\n"
     "  --secure-config S     secure configuration (\"-\" reads it from stdin)\n"
     "  --auto-delete         delete its jobs as soon as they succeed\n"
     "  --image SPEC          pre:ALIAS or post:ALIAS, optionally :attr1,attr2; repeatable\n"
     "  --name N              a display name\n"
     "  --user U              run as this user\n"},
    {"step", "set", step_set,
     "message=,entity=,rank=,filter=,config=,secure-config=,auto-delete=,enabled=,image*,name=,"
     "user=,clear*",
     1, 1,
     "ID [--config S] [--secure-config S|-] [--rank N] [--filter a,b] [--message M] "
     "[--entity E] [--image SPEC]... [--name N] [--user U] [--auto-delete true|false] "
     "[--enabled true|false] [--clear FIELD]...",
     "Change fields of a step; jobs whose runs start afterwards see them. A new configuration "
     "is checked by the type's create() first (refused: exit 1 with its message).",
     "  --clear FIELD         empty a field: config, secure-config, filter, image, entity,\n"
     "                        name or user\n"
     "  other options         as for step add; the type cannot change\n"},
    {"step", "list", step_list, "", 0, 0, "", "List the steps.", NULL},
    {"step", "secure-config", step_secure_config, "", 1, 1, "ID",
     "Print a step's secure configuration (System Administrator; audited). Listings never show "
     "it.",
     NULL},
    {"step", "enable", step_toggle, "", 1, 1, "ID", "Enable a step.", NULL},
    {"step", "disable", step_toggle, "", 1, 1, "ID",
     "Disable a step: events no longer create jobs for it.", NULL},
    {"step", "delete", step_delete, "mode=,timeout=", 1, 1,
     "ID [--mode refuse|drain|cancel] [--timeout SECONDS]", "Delete a step.",
     "  --mode refuse   (default) refuse while any of its jobs is not Completed\n"
     "  --mode drain    create no more jobs for it, let queued and running ones finish,\n"
     "                  then delete it; progress goes to stderr until it is gone\n"
     "  --mode cancel   cancel its unfinished jobs (reason plugin_deleted), then delete it\n"
     "  --timeout S     with --mode drain: after S seconds the server cancels what is left\n"
     "                  (plugin_deleted) and deletes it\n"},
    {0},
};
