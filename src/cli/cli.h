/* What every asyncctl module shares: the return codes (0 or a negative CLI_E*, which main turns
 * into the documented exit status), the per-invocation context and the shape of a verb table
 * entry. Each resource module (cli_jobs.c, cli_steps.c, ...) exports one verb table; the
 * dispatcher in cli_main.c walks them. Nothing here talks to the network. */
#ifndef ASYNCD_CLI_H
#define ASYNCD_CLI_H

#include <stdbool.h>

#ifndef ASYNCCTL_VERSION
#define ASYNCCTL_VERSION "0.1.0"
#endif

/* Return codes of every CLI function; main exits with their negation. */
enum cli_rc {
	CLI_OK = 0,
	CLI_EFAIL = -1,	  /* refused (HTTP 4xx), failed, or a waited-for job did not succeed */
	CLI_EUSAGE = -2,  /* bad flags or arguments */
	CLI_ECONN = -3,	  /* cannot reach the server, or no credentials */
	CLI_ESERVER = -4, /* the server failed (HTTP 5xx, or an answer that makes no sense) */
};

struct cli_http;

/* One invocation. The *_opt strings point into argv (not owned); http is opened on first use. */
struct cli_ctx {
	const char *url_opt;
	const char *token_opt;
	const char *state_dir_opt;
	const char *cacert_opt;
	bool json;
	struct cli_http *http;
};

struct cli_args;
typedef int (*cli_handler)(struct cli_ctx *ctx, const struct cli_args *args);

/* One verb. options lists the verb's long options, comma-separated, without "--": a bare name is
 * a flag, "name=" takes a value, "name*" takes a value and may be repeated. */
struct cli_verb {
	const char *resource;
	const char *verb;
	cli_handler run;
	const char *options;
	int min_args, max_args; /* positional arguments */
	const char *synopsis;	/* what follows "asyncctl RESOURCE VERB" */
	const char *summary;	/* one line */
	const char *help;	/* option details, may be NULL */
};

/* Verb tables, each ended by an entry whose resource is NULL. */
extern const struct cli_verb cli_event_verbs[];
extern const struct cli_verb cli_job_verbs[];
extern const struct cli_verb cli_job_action_verbs[];
extern const struct cli_verb cli_bulk_verbs[];
extern const struct cli_verb cli_assembly_verbs[];
extern const struct cli_verb cli_step_verbs[];
extern const struct cli_verb cli_service_verbs[];
extern const struct cli_verb cli_admin_verbs[];

/* Print "asyncctl: MESSAGE" and a newline on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report that memory ran out; returns CLI_EFAIL. */
int cli_oom(void);

/* Run asyncctl; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
