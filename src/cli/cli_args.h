/* Command-line parsing for asyncctl: the global options, a verb's own long options (declared as
 * a spec string in its table entry) and positional arguments, and typed access to the values.
 * Usage errors are printed here, with the verb's synopsis, and come back as CLI_EUSAGE. */
#ifndef ASYNCD_CLI_ARGS_H
#define ASYNCD_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"

struct cli_opt {
	const char *name; /* points into argv, not NUL-terminated at len */
	size_t len;
	const char *value; /* NULL for a flag */
};

/* A verb's parsed arguments; the strings point into argv. Free with cli_args_done(). */
struct cli_args {
	const struct cli_verb *verb;
	int nargs;
	char **args;
	int nopts;
	struct cli_opt *opts;
	bool help;
};

/* Parse the options that come before the resource: the global ones, --help and --version.
 * *ret_next is the index of the first other argument. */
int cli_args_global(struct cli_ctx *ctx, int argc, char **argv, int *ret_next, bool *ret_help,
		    bool *ret_version);
/* Parse a verb's arguments (argv holds what follows the verb). Global options may appear among
 * them too and are applied to ctx. */
int cli_args_parse(struct cli_ctx *ctx, const struct cli_verb *verb, int argc, char **argv,
		   struct cli_args *ret);
void cli_args_done(struct cli_args *a);

/* The value of an option (the last one when repeated), NULL when absent. */
const char *cli_opt(const struct cli_args *a, const char *name);
/* The i-th value of a repeatable option, NULL past the last. */
const char *cli_opt_nth(const struct cli_args *a, const char *name, size_t i);
bool cli_flag(const struct cli_args *a, const char *name);

/* An integer option within [min, max]; *ret is written only when the option is present. */
int cli_opt_ll(const struct cli_args *a, const char *name, long long min, long long max,
	       long long *ret);
/* A duration in seconds (decimals allowed, > 0); *ret is written only when present. */
int cli_opt_seconds(const struct cli_args *a, const char *name, double *ret);
/* An option whose value must be one of choices (a NULL-ended list); absent is fine. */
int cli_opt_choice(const struct cli_args *a, const char *name, const char *const *choices);
/* Positional argument i that must be a job id (a positive integer). */
int cli_arg_id(const struct cli_args *a, int i, const char **ret);

/* Print "asyncctl: MESSAGE" and the verb's usage on stderr; returns CLI_EUSAGE. */
int cli_usage(const struct cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "usage: asyncctl RESOURCE VERB SYNOPSIS" (and with full, the summary and help). */
void cli_verb_usage(FILE *f, const struct cli_verb *v, bool full);

#endif
