/* The integration-test harness: starts the real asyncd on a free loopback port in a fresh state
 * directory, talks to it over HTTP (libcurl + jansson) and through the real asyncctl, and stops,
 * kills and restarts it. It owns no test logic. Helpers named h_* fail the running cmocka test
 * (fail_msg) when the server does not answer as asked; h_client_* never fail a test and may be
 * used from other threads. Every wait is bounded in time. */
#ifndef ASYNCD_TESTS_HARNESS_H
#define ASYNCD_TESTS_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define H_START_TIMEOUT_MS 10000
#define H_STOP_TIMEOUT_MS 15000
#define H_WAIT_TIMEOUT_MS 30000
#define H_POLL_MS 20
#define H_TIME_LEN 40

struct h_client;

struct harness {
	char dir[256];	  /* the temporary state directory */
	char url[256];	  /* from DIR/asyncd.url, without the newline */
	char token[256];  /* from DIR/admin.token */
	char build[1024]; /* $ASYNCD_BUILD_DIR */
	pid_t pid;	  /* the running asyncd, 0 when none */
	int starts;	  /* how many times asyncd was started on dir */
	struct h_client *client;
	uid_t run_uid;	  /* asyncd runs as this uid and gid (setpriv); 0: as the tests do */
	char store[256];  /* --store URL (a fresh PostgreSQL database, testdb.h); "": the default */
	bool peer;	  /* shares another harness's database (h_start_peer): does not drop it */
	char cacert[256]; /* the CA file that verifies an https asyncd (test-tls); "": none */
};

/* What a run of asyncctl left: its exit status (-1 when it did not exit normally) and its
 * output, each NUL-terminated and owned by the struct (h_cmd_done frees them). */
struct h_cmd {
	int status;
	char *out;
	char *err;
};

/* ---- the server ---- */

/* Make a fresh state directory and start asyncd in it; the caller owns the result (h_free). */
struct harness *h_start(void);
/* PostgreSQL: start another host on first's database, with a state directory of its own (and
 * the first host's administrator token); the caller owns the result (h_free, before first's). */
struct harness *h_start_peer(const struct harness *first);
/* Start asyncd again on the same state directory after h_stop or h_kill. */
void h_restart(struct harness *h);
/* SIGTERM, wait for the exit (bounded) and check that it is 0; returns how long it took (ms). */
int64_t h_stop(struct harness *h);
/* SIGKILL and reap. */
void h_kill(struct harness *h);
/* Stop a server still running (and show the end of its log: the test did not reach its end),
 * remove the state directory unless $ASYNCD_TEST_KEEP is set, free h. Accepts NULL. */
void h_free(struct harness *h);
/* Print the last lines of DIR/asyncd.log on stderr. */
void h_dump_log(const struct harness *h, int lines);

/* Run only the tests whose names match $ASYNCD_TEST_FILTER (cmocka wildcards * and ?), if set
 * (and none, exiting, in the PostgreSQL variant without a server: testdb.h);
 * call it first in main. */
void h_filter_from_env(void);

/* The uid (and gid) asyncd runs as for h_setup_unprivileged when the tests run as root: one with
 * no passwd entry, like a dedicated service user nothing else uses. */
#define H_UNPRIVILEGED_UID 64123

/* cmocka group helpers: setup starts a server into *state, teardown frees it. */
int h_setup(void **state);
/* h_setup with asyncd running as an unprivileged user: as uid and gid H_UNPRIVILEGED_UID (with
 * no supplementary groups, through setpriv, the state directory given to it) when the tests run
 * as root, else as the tests' own user. */
int h_setup_unprivileged(void **state);
int h_teardown(void **state);

/* ---- HTTP ---- */

/* A connection of its own to h's current server (url and token copied now; an empty token
 * sends no Authorization header). */
struct h_client *h_client_new(const struct harness *h);
void h_client_free(struct h_client *c);
/* One request; *ret_status gets the HTTP status, 0 when no answer came. Returns the answer
 * parsed as JSON, NULL when it is empty or not JSON. */
json_t *h_client_request(struct h_client *c, const char *method, const char *path,
			 const char *content_type, const void *body, size_t len, long *ret_status);
/* The raw text of the last answer, or the transport error when there was none. */
const char *h_client_last(const struct h_client *c);

/* h_client_request on h's own connection; never fails the test. */
json_t *h_request(struct harness *h, const char *method, const char *path, const char *content_type,
		  const void *body, size_t len, long *ret_status);
/* Send body (a JSON value, stolen; NULL for none), fail the test unless the status is want;
 * returns the answer (the caller owns it, NULL for an empty one). */
json_t *h_call(struct harness *h, const char *method, const char *path, json_t *body, long want);
/* h_call with GET. */
json_t *h_get(struct harness *h, const char *path, long want);
/* The error code of an {"error":{"code","message"}} answer, checked to carry a message. */
const char *h_error_code(json_t *answer);

/* ---- the API, asserting ---- */

/* POST the built samples.so with isolation=none; returns the answer's "types" count. */
/* POST the library at build-dir/relpath to /api/v1/assemblies?isolation=…; fails the test unless
 * the status is want. Returns the answer (caller decrefs). */
json_t *h_upload(struct harness *h, const char *relpath, const char *isolation, long want);
/* h_upload with the query string given whole ("" for none, else "?a=b&c=d"). */
json_t *h_upload_query(struct harness *h, const char *relpath, const char *query, long want);
size_t h_register_samples(struct harness *h);
/* POST /api/v1/steps with spec (stolen); returns the step's id. */
int64_t h_add_step(struct harness *h, json_t *spec);
/* h_add_step with {"plugin_type":type,"message":message,"entity":entity (NULL: any)}. */
int64_t h_add_simple_step(struct harness *h, const char *type, const char *message,
			  const char *entity);
/* PATCH /api/v1/settings with values (stolen). */
void h_set_settings(struct harness *h, json_t *values);
/* POST /api/v1/jobs with spec (stolen); returns the job's id. */
int64_t h_submit(struct harness *h, json_t *spec);
/* POST /api/v1/events with ev (stolen); returns the "jobs" array (the caller owns it). */
json_t *h_raise(struct harness *h, json_t *ev);
/* GET /api/v1/jobs/ID (the caller owns it). */
json_t *h_job(struct harness *h, int64_t id);
/* Poll the job until its state is state; returns it (the caller owns it). A claimed job is Locked
 * before its run starts (Locked / Waiting For Resources): H_RUNNING waits for Locked with the run
 * started (In Progress, Pausing or Canceling). */
#define H_RUNNING 102
json_t *h_wait_state(struct harness *h, int64_t id, int state, int timeout_ms);
/* h_wait_state(h, id, H_RUNNING, timeout_ms) */
json_t *h_wait_running(struct harness *h, int64_t id, int timeout_ms);
/* h_wait_state for Completed (3). */
json_t *h_wait_job(struct harness *h, int64_t id, int timeout_ms);
/* Poll /jobs/stats until no job is unfinished; *ret_stats (unless NULL) gets the last stats
 * (the caller owns them). */
void h_wait_all(struct harness *h, int timeout_ms, json_t **ret_stats);
/* The number of jobs with status (a number of SPEC §1), or of all jobs when status is -1. */
int64_t h_count(struct harness *h, int status);
/* h_count with the maintenance jobs (which /jobs/stats leaves out): what the table holds. */
int64_t h_count_all(struct harness *h, int status);
/* Whether job (as the API shows it) is one of async-maintenance's recurring system jobs (owner
 * "system"): every server has them (docs/system-jobs.md). */
bool h_is_maintenance_job(json_t *job);
/* Every job but the maintenance jobs, newest first, paging through /api/v1/jobs (the caller owns
 * the array). */
json_t *h_all_jobs(struct harness *h);

/* ---- asyncctl ---- */

/* Run asyncctl --state-dir DIR ARGS... (NULL-terminated), bounded in time. */
void h_ctl(struct harness *h, struct h_cmd *ret, ...);
/* Like h_ctl without --state-dir. */
void h_ctl_bare(struct harness *h, struct h_cmd *ret, ...);
void h_cmd_done(struct h_cmd *c);

/* ---- small tools ---- */
/* Fail the test unless text contains want / does not contain unwanted; what names the text. */
void h_expect_text(const char *text, const char *want, const char *what);
void h_expect_no_text(const char *text, const char *unwanted, const char *what);
/* The value of the counter or gauge name in GET /metrics; fails the test when it is missing. */
long long h_metric(struct harness *h, const char *name);

int64_t h_now_ms(void);	 /* wall clock */
int64_t h_mono_ms(void); /* monotonic clock */
void h_sleep_ms(int ms);
/* RFC 3339 UTC with milliseconds, now + ms_from_now; buf must hold H_TIME_LEN bytes. */
const char *h_time(char *buf, int64_t ms_from_now);
/* Parse an RFC 3339 UTC time of the API into ms since the epoch; -1 for null or garbage. */
int64_t h_parse_time(json_t *v);
/* Integer member of o (fails the test when it is missing or not an integer). */
int64_t h_int(json_t *o, const char *key);
/* The whole file (NUL-terminated; the caller frees it), its length in *ret_len unless NULL;
 * NULL when it cannot be read. */
char *h_read_file(const char *path, size_t *ret_len);
/* String member of o, or NULL. */
const char *h_str(json_t *o, const char *key);
/* snprintf into buf, returning buf: for request paths. */
const char *h_path(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- requests with other credentials, services, more servers (services and lifecycle) ---- */

/* A connection of its own to h's server that sends token instead of the administrator's (NULL or
 * "": no Authorization header). */
struct h_client *h_client_token(const struct harness *h, const char *token);

/* One request described in full. */
struct h_req {
	const char *method;
	const char *path;
	const char *body;	    /* JSON text, NULL for none */
	const char *const *headers; /* extra header lines, NULL-terminated; NULL for none */
	bool no_token;		    /* send no Authorization header */
	bool unix_socket;	    /* over DIR/asyncd.sock instead of h->url */
};

/* What a request left: the HTTP status (0 without an answer), the answer as text and as JSON
 * (NULL when empty or not JSON), and the header lines of the answer. h_answer_done frees them. */
struct h_answer {
	long status;
	json_t *json;
	char *text;
	char *headers;
};

/* Send req on a connection of its own; never fails the test. */
void h_request_ex(struct harness *h, const struct h_req *req, struct h_answer *ret);
void h_answer_done(struct h_answer *a);

/* Create the user name with one role (and a console password unless NULL) and an API token for
 * it; the token goes to ret_token (at least 128 bytes). Returns the token's id. */
int64_t h_add_user_token(struct harness *h, const char *name, const char *role,
			 const char *password, char *ret_token);

/* The service name of h's host in GET /api/v1/services (the caller owns it); fails the test when
 * it is not listed. */
json_t *h_service(struct harness *h, const char *name);
/* POST /api/v1/hosts/local/services/NAME/ACTION; fails the test unless the status is want;
 * returns the answer (the caller owns it). */
json_t *h_service_act(struct harness *h, const char *name, const char *action, long want);
/* Poll GET /api/v1/services until service name has status; returns it (the caller owns it). */
json_t *h_wait_service(struct harness *h, const char *name, const char *status, int timeout_ms);

/* POST the library $ASYNCD_BUILD_DIR/relpath (isolation=none); fails the test unless the status
 * is want; returns the answer (the caller owns it). */
json_t *h_register_file(struct harness *h, const char *relpath, long want);

/* h_restart with more arguments for asyncd (NULL-terminated), e.g. "--host-id", "itest". */
void h_restart_args(struct harness *h, ...);

/* Run one more asyncd on h's state directory and expect it to refuse to start: its exit status
 * and output in ret (h_cmd_done frees them); fails the test when it is still running after 10 s
 * (it is then stopped). The output files live next to the directory, not in it. */
void h_asyncd_once(struct harness *h, struct h_cmd *ret);
/* Wait for h's asyncd to exit by itself (e.g. killed by a plug-in's crash), bounded; returns its
 * wait status and forgets the pid. */
int h_wait_death(struct harness *h, int timeout_ms);
/* Start asyncd again on h's state directory without waiting for it to answer (it may die before
 * it does); h_wait_death or h_free end it. */
void h_launch_only(struct harness *h);

#endif
