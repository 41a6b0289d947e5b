/* Request bodies from options: each helper reads one option of a verb and, when present, checks
 * it and sets one member of a JSON object. Bad values are usage errors (printed, CLI_EUSAGE);
 * an absent option leaves the body alone. */
#ifndef ASYNCD_CLI_BODY_H
#define ASYNCD_CLI_BODY_H

#include <jansson.h>

#include "cli/cli_args.h"

/* A string option as it is. */
int cli_body_str(const struct cli_args *a, json_t *body, const char *opt, const char *key);
/* A whole number within [min, max]. */
int cli_body_int(const struct cli_args *a, json_t *body, const char *opt, const char *key,
		 long long min, long long max);
/* A JSON text; with object_only it must be an object. */
int cli_body_json(const struct cli_args *a, json_t *body, const char *opt, const char *key,
		  bool object_only);
/* A time: RFC 3339, or "+N[smhd]" from now. */
int cli_body_time(const struct cli_args *a, json_t *body, const char *opt, const char *key);
/* A comma-separated list, as an array of strings. */
int cli_body_list(const struct cli_args *a, json_t *body, const char *opt, const char *key);

/* Set body[key] = value, taking the reference; CLI_EFAIL (reported) when out of memory. */
int cli_body_set(json_t *body, const char *key, json_t *value);
/* Split "a,b,c" into a new array of strings (empty items skipped); NULL when out of memory. */
json_t *cli_split_list(const char *text);

#endif
