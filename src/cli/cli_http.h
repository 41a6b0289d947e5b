/* asyncctl's HTTP client over libcurl: one reused connection per invocation, the bearer token on
 * every request, answers bounded to 64 MiB and parsed as JSON. Transport failures and refused
 * requests are reported here (on stderr, in the documented form) and come back as CLI_E*. */
#ifndef ASYNCD_CLI_HTTP_H
#define ASYNCD_CLI_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "cli/cli.h"

/* An answer of any status; body is the parsed JSON (NULL when empty or not JSON), text the raw
 * bytes (NUL-terminated). Free with cli_reply_done(). */
struct cli_reply {
	long status;
	json_t *body;
	char *text;
	size_t len;
};

/* Send METHOD path (already escaped, starting with "/") with an optional body of type ctype.
 * 0 when an answer of any status arrived; otherwise reported and CLI_ECONN or CLI_EFAIL. */
int cli_http_send(struct cli_ctx *ctx, const char *method, const char *path, const char *ctype,
		  const void *data, size_t len, struct cli_reply *ret);
/* Report a reply that is not a success; returns CLI_EFAIL (4xx and others) or CLI_ESERVER (5xx). */
int cli_http_fail(const struct cli_reply *r);
/* Send and require a 2xx answer that is JSON or empty: 0 and *ret_body (NULL when empty; the
 * caller owns it). ret_body may be NULL when the answer is not needed. */
int cli_http_call(struct cli_ctx *ctx, const char *method, const char *path, const char *ctype,
		  const void *data, size_t len, json_t **ret_body);
/* cli_http_call with a JSON body (or none when body is NULL). */
int cli_http_json(struct cli_ctx *ctx, const char *method, const char *path, const json_t *body,
		  json_t **ret_body);

void cli_reply_done(struct cli_reply *r);
/* Close the connection and forget the credentials. Accepts NULL. */
void cli_http_free(struct cli_http *h);

#endif
