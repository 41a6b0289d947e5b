/* Deleting one resource by id, shared by the verbs that do it (jobs, assemblies, steps,
 * tokens): the optional --mode of safe deletion, the request and the confirmation line. */
#ifndef ASYNCD_CLI_DELETE_H
#define ASYNCD_CLI_DELETE_H

#include "cli/cli_args.h"

/* DELETE /api/v1/COLLECTION/ID[?mode=M, from --mode when the verb has it]; prints "NOUN ID
 * DONE" for an empty answer, or the answer's members when there is one (e.g. a drain that is
 * under way). */
int cli_delete(struct cli_ctx *ctx, const struct cli_args *a, const char *collection,
	       const char *noun, const char *done);

#endif
