/* Where asyncctl finds its server and credentials: --url/--token, else ASYNCD_URL/ASYNCD_TOKEN,
 * else the state directory (--state-dir or ASYNCD_STATE_DIR) with its asyncd.url and
 * admin.token; the URL defaults to http://127.0.0.1:8470. An https server's certificate is
 * verified against --cacert, $ASYNCD_CACERT or DIR/ca.pem. Failures are reported here. */
#ifndef ASYNCD_CLI_CONF_H
#define ASYNCD_CLI_CONF_H

#include "cli/cli.h"

#define CLI_DEFAULT_URL "http://127.0.0.1:8470"

/* The CA file that verifies an https server: --cacert, else $ASYNCD_CACERT, else DIR/ca.pem when
 * the state directory has one; *ret NULL (the system's CAs) when none. malloc'd. CLI_EUSAGE, said
 * on stderr, when the file given cannot be read. */
int cli_conf_cacert(const struct cli_ctx *ctx, char **ret);

/* The base URL (no trailing slash) and the token, both malloc'd; CLI_EUSAGE for a malformed
 * URL, CLI_ECONN when a needed file cannot be read or there is no token. */
int cli_conf_resolve(const struct cli_ctx *ctx, char **ret_url, char **ret_token,
		     char **ret_socket);

#endif
