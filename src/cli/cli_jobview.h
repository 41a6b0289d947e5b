/* How asyncctl shows system jobs: the names of states and statuses (numbers as in SPEC §1), the
 * job table of `job list`, the detail of `job show` and one-line outcomes. Pure formatting: it
 * neither fetches nor changes jobs. */
#ifndef ASYNCD_CLI_JOBVIEW_H
#define ASYNCD_CLI_JOBVIEW_H

#include <jansson.h>

#define CLI_STATE_COMPLETED 3
#define CLI_STATUS_SUCCEEDED 30

/* The name of a state or status number, NULL when unknown. */
const char *cli_state_name(long long n);
const char *cli_status_name(long long n);
/* A state or status given as a number or a name ("Completed", "in-progress", "waiting for
 * resources": case, spaces, '-' and '_' do not matter). 0 and *ret, or -EINVAL. */
int cli_state_parse(const char *text, int *ret);
int cli_status_parse(const char *text, int *ret);
/* The list of names, for messages: "Ready, Suspended, ...". */
const char *cli_state_names(void);
const char *cli_status_names(void);

/* Print an array of jobs as the job table. */
int cli_jobs_table(const json_t *jobs);
/* Print one job: every field as "key: value", then its trace log. */
int cli_job_print(const json_t *job);
/* "job ID: STATE/STATUS[: message]" on stdout. */
void cli_job_line(const json_t *job);

#endif
