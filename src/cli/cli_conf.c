/* Resolving asyncctl's server URL and API token (the order is in cli_conf.h). Reads at most two
 * one-line files; sends nothing. */
#include "cli/cli_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_util.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static const char *state_dir(const struct cli_ctx *ctx)
{
	return ctx->state_dir_opt ? ctx->state_dir_opt : env("ASYNCD_STATE_DIR");
}

/* Read DIR/NAME's first line into *ret; reported on failure. */
static int read_state_file(const char *dir, const char *name, char **ret)
{
	char *path;
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	r = cli_read_line_file(path, ret);
	if (r < 0)
		cli_err("cannot read %s: %s%s", path, strerror(-r),
			strcmp(name, "asyncd.url") == 0 ? " (is asyncd running?)" : "");
	free(path);
	return r < 0 ? CLI_ECONN : 0;
}

static int pick(const char *opt, const char *envname, const char *file, const struct cli_ctx *ctx,
		char **ret)
{
	const char *v = opt ? opt : env(envname);

	if (!v && state_dir(ctx))
		return read_state_file(state_dir(ctx), file, ret);
	*ret = v ? strdup(v) : NULL;
	if (v && !*ret) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	return 0;
}

static int check_url(char *url)
{
	size_t n = strlen(url);

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		cli_err("%s: the server URL must start with http:// or https://", url);
		return CLI_EUSAGE;
	}
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	return 0;
}

static bool token_ok(const char *token)
{
	for (const unsigned char *p = (const unsigned char *)token; *p; p++)
		if (*p <= ' ' || *p == 127)
			return false;
	return *token != '\0';
}

/* The Unix socket to use instead of a token: $ASYNCD_SOCKET, or STATE/asyncd.sock when the
 * token file cannot be read (a member of asyncd-admin who is not root). NULL when none. */
static char *local_socket(const struct cli_ctx *ctx)
{
	char *path = NULL, *tok = NULL;
	if (ctx->token_opt || env("ASYNCD_TOKEN"))
		return NULL;
	if (env("ASYNCD_SOCKET"))
		return strdup(env("ASYNCD_SOCKET"));
	if (!state_dir(ctx) || asprintf(&tok, "%s/admin.token", state_dir(ctx)) < 0)
		return NULL;
	bool readable = access(tok, R_OK) == 0;
	free(tok);
	if (readable || asprintf(&path, "%s/asyncd.sock", state_dir(ctx)) < 0)
		return NULL;
	if (access(path, W_OK) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

int cli_conf_resolve(const struct cli_ctx *ctx, char **ret_url, char **ret_token, char **ret_socket)
{
	char *url = NULL, *token = NULL;
	int r;

	*ret_socket = local_socket(ctx);
	if (*ret_socket) {
		*ret_token = NULL;
		*ret_url = strdup("http://localhost");
		return *ret_url ? 0 : cli_oom();
	}
	r = pick(ctx->url_opt, "ASYNCD_URL", "asyncd.url", ctx, &url);
	if (r == 0 && !url && !(url = strdup(CLI_DEFAULT_URL)))
		r = cli_oom();
	if (r == 0)
		r = check_url(url);
	if (r == 0)
		r = pick(ctx->token_opt, "ASYNCD_TOKEN", "admin.token", ctx, &token);
	if (r == 0 && !token) {
		cli_err("no credentials: give --token, set ASYNCD_TOKEN, or point --state-dir "
			"(or ASYNCD_STATE_DIR) at asyncd's state directory");
		r = CLI_ECONN;
	} else if (r == 0 && !token_ok(token)) {
		cli_err("the API token is empty or contains white space or control characters");
		r = CLI_EUSAGE;
	}
	if (r < 0) {
		free(url);
		free(token);
		return r;
	}
	*ret_url = url;
	*ret_token = token;
	return 0;
}

int cli_conf_cacert(const struct cli_ctx *ctx, char **ret)
{
	const char *v = ctx->cacert_opt ? ctx->cacert_opt : env("ASYNCD_CACERT");
	char *path = NULL;

	*ret = NULL;
	if (v && access(v, R_OK) != 0) {
		cli_err("cannot read the CA file %s: %s", v, strerror(errno));
		return CLI_EUSAGE;
	}
	if (v)
		return (*ret = strdup(v)) ? 0 : cli_oom();
	if (!state_dir(ctx))
		return 0;
	if (asprintf(&path, "%s/ca.pem", state_dir(ctx)) < 0)
		return cli_oom();
	if (access(path, R_OK) != 0) {
		free(path);
		return 0;
	}
	*ret = path;
	return 0;
}
