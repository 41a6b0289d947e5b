/* The administration verbs of asyncctl: settings (get, set), users (add), API tokens (create,
 * revoke) and the audit log (list). Who may do what is checked by the server (403 names the
 * role needed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_args.h"
#include "cli/cli_body.h"
#include "cli/cli_delete.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

#define PASSWORD_MAX 4096

static const struct cli_col setting_cols[] = {
    {"KEY", "key", 0, NULL},
    {"VALUE", "value", 80, NULL},
};

static json_t *setting_rows(const json_t *settings)
{
	json_t *rows = json_array(), *v;
	const char *key;

	json_object_foreach((json_t *)settings, key, v)
	{
		if (rows && json_array_append_new(
				rows, json_pack("{s:s,s:O}", "key", key, "value", v)) < 0) {
			json_decref(rows);
			return NULL;
		}
	}
	return rows;
}

static int print_value(const struct cli_ctx *ctx, const json_t *v)
{
	char *text;

	if (ctx->json)
		return cli_print_json(v);
	text = cli_text(v);
	printf("%s\n", text ? text : "null");
	free(text);
	return 0;
}

static int show_settings(const struct cli_ctx *ctx, const struct cli_args *a, const json_t *answer)
{
	const json_t *v;
	json_t *rows;
	int r;

	if (a->nargs == 0 && ctx->json)
		return cli_print_json(answer);
	if (a->nargs == 1) {
		v = json_object_get(answer, a->args[0]);
		if (!v) {
			cli_err("no setting named '%s' (asyncctl setting get lists them)",
				a->args[0]);
			return CLI_EFAIL;
		}
		return print_value(ctx, v);
	}
	rows = setting_rows(answer);
	r = rows ? cli_table(setting_cols, CLI_NCOLS(setting_cols), rows) : cli_oom();
	json_decref(rows);
	return r;
}

static int setting_get(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *answer = NULL;
	int r = cli_http_json(ctx, "GET", "/api/v1/settings", NULL, &answer);

	if (r == 0)
		r = show_settings(ctx, a, answer);
	json_decref(answer);
	return r;
}

/* VALUE as JSON when it parses as JSON (10, true, null, "x", {...}), else as a string. */
static json_t *setting_value(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	return v ? v : json_string(text);
}

static int setting_set(struct cli_ctx *ctx, const struct cli_args *a)
{
	const char *key = a->args[0];
	json_t *body = json_object(), *value = setting_value(a->args[1]), *answer = NULL;
	const json_t *now;
	int r;

	if (!body || !value) {
		json_decref(body);
		json_decref(value);
		return value ? cli_oom() : cli_usage(a, "VALUE is not valid UTF-8");
	}
	r = cli_body_set(body, key, value);
	if (r == 0)
		r = cli_http_json(ctx, "PATCH", "/api/v1/settings", body, &answer);
	now = json_object_get(answer, key) ? json_object_get(answer, key) : value;
	if (r == 0 && ctx->json) {
		r = cli_print_json(answer);
	} else if (r == 0) {
		printf("%s = ", key);
		r = print_value(ctx, now);
	}
	json_decref(body);
	json_decref(answer);
	return r;
}

static const struct {
	const char *alias;
	const char *role;
} roles[] = {
    {"System Administrator", "System Administrator"},
    {"SystemAdministrator", "System Administrator"},
    {"admin", "System Administrator"},
    {"administrator", "System Administrator"},
    {"Operator", "Operator"},
    {"Submitter", "Submitter"},
    {"Reader", "Reader"},
};

static const char *role_name(const char *given)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcasecmp(given, roles[i].alias) == 0)
			return roles[i].role;
	return NULL;
}

static int body_roles(const struct cli_args *a, json_t *body)
{
	json_t *list = json_array();
	const char *given, *role;

	if (!list)
		return cli_oom();
	for (size_t i = 0; (given = cli_opt_nth(a, "role", i)); i++) {
		role = role_name(given);
		if (!role) {
			json_decref(list);
			return cli_usage(a,
					 "--role: '%s' is not a role (\"System Administrator\" or "
					 "admin, Operator, Submitter, Reader)",
					 given);
		}
		if (json_array_append_new(list, json_string(role)) < 0) {
			json_decref(list);
			return cli_oom();
		}
	}
	return cli_body_set(body, "roles", list);
}

static int body_password(json_t *body)
{
	char buf[PASSWORD_MAX + 2];
	size_t len;
	int r;

	if (!fgets(buf, sizeof(buf), stdin)) {
		cli_err("--password-stdin: no password on stdin");
		return CLI_EFAIL;
	}
	len = strcspn(buf, "\r\n");
	if (len > PASSWORD_MAX || len == 0) {
		cli_err("--password-stdin: the password must be 1 to %d bytes", PASSWORD_MAX);
		r = CLI_EFAIL;
	} else {
		r = cli_body_set(body, "password", json_stringn(buf, len));
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

static int print_id(const struct cli_ctx *ctx, const json_t *answer)
{
	char *id;

	if (ctx->json)
		return cli_print_json(answer);
	id = cli_text(json_object_get(answer, "id"));
	printf("%s\n", id ? id : "?");
	free(id);
	return 0;
}

static int user_add(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body, *answer = NULL;
	int r;

	if (!cli_opt(a, "role"))
		return cli_usage(a, "at least one --role is required");
	body = json_object();
	if (!body)
		return cli_oom();
	r = cli_body_set(body, "name", json_string(a->args[0]));
	if (r == 0)
		r = body_roles(a, body);
	if (r == 0 && cli_flag(a, "password-stdin"))
		r = body_password(body);
	if (r == 0)
		r = cli_http_json(ctx, "POST", "/api/v1/users", body, &answer);
	if (r == 0)
		r = print_id(ctx, answer);
	json_decref(body);
	json_decref(answer);
	return r;
}

static int show_token(const struct cli_ctx *ctx, const struct cli_args *a, const json_t *answer)
{
	const char *token = json_string_value(json_object_get(answer, "token"));
	char *id;

	if (ctx->json)
		return cli_print_json(answer);
	if (!token) {
		cli_err("the server's answer has no token");
		return CLI_ESERVER;
	}
	id = cli_text(json_object_get(answer, "id"));
	fprintf(stderr, "token %s created for %s; it is shown only this once\n", id ? id : "?",
		a->args[0]);
	printf("%s\n", token);
	free(id);
	return 0;
}

static int token_create(struct cli_ctx *ctx, const struct cli_args *a)
{
	json_t *body = json_object(), *answer = NULL;
	int r = body ? cli_body_set(body, "user", json_string(a->args[0])) : cli_oom();

	if (r == 0)
		r = cli_body_str(a, body, "name", "name");
	if (r == 0)
		r = cli_http_json(ctx, "POST", "/api/v1/tokens", body, &answer);
	if (r == 0)
		r = show_token(ctx, a, answer);
	json_decref(body);
	json_decref(answer);
	return r;
}

static int token_revoke(struct cli_ctx *ctx, const struct cli_args *a)
{
	return cli_delete(ctx, a, "tokens", "token", "revoked");
}

static const struct cli_col audit_cols[] = {
    {"AT", "at", 0, cli_fmt_time},  {"USER", "user", 24, NULL},	    {"ACTION", "action", 32, NULL},
    {"TARGET", "target", 40, NULL}, {"RESULT", "result", 24, NULL}, {"REMOTE", "remote", 0, NULL},
};

static int audit_list(struct cli_ctx *ctx, const struct cli_args *a)
{
	struct cli_str q = {0};
	json_t *answer = NULL;
	const json_t *rows;
	long long limit;
	int r = cli_opt_ll(a, "limit", 1, 1000000, &limit);

	cli_str_add(&q, "/api/v1/audit");
	cli_str_add_query(&q, "limit", cli_opt(a, "limit"));
	cli_str_add_query(&q, "cursor", cli_opt(a, "cursor"));
	if (r == 0)
		r = q.oom ? cli_oom() : cli_http_json(ctx, "GET", q.buf, NULL, &answer);
	cli_str_done(&q);
	if (r < 0)
		return r;
	rows = json_object_get(answer, "entries");
	if (ctx->json)
		r = cli_print_json(answer);
	else if (json_array_size(rows) == 0)
		fprintf(stderr, "no audit entries\n");
	else
		r = cli_table(audit_cols, CLI_NCOLS(audit_cols), rows);
	if (r == 0 && !ctx->json)
		cli_next_cursor(answer);
	json_decref(answer);
	return r;
}

const struct cli_verb cli_admin_verbs[] = {
    {"setting", "get", setting_get, "", 0, 1, "[KEY]",
     "Show every setting, or only the value of KEY.", NULL},
    {"setting", "set", setting_set, "", 2, 2, "KEY VALUE",
     "Change a setting for every host. VALUE is taken as JSON when it parses (10, true, "
     "\"text\"), else as a string.",
     NULL},
    {"user", "add", user_add, "role*,password-stdin", 1, 1,
     "NAME --role R [--role R2]... [--password-stdin]", "Add a user; prints its id.",
     "  --role R           \"System Administrator\" (or admin), Operator, Submitter or Reader\n"
     "  --password-stdin   read a console password from the first line of stdin\n"},
    {"token", "create", token_create, "name=", 1, 1, "USER [--name N]",
     "Create an API token for USER and print it (it is shown only once).", NULL},
    {"token", "revoke", token_revoke, "", 1, 1, "ID", "Revoke an API token.", NULL},
    {"audit", "list", audit_list, "limit=,cursor=", 0, 0, "[--limit N] [--cursor C]",
     "List the audit log, newest first.", NULL},
    {0},
};
