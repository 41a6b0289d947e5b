/* PostgreSQL away while runs end (issue 13, item 6): the outcomes of runs that end while the
 * database is down are kept by the host's writer (bounded by the jobs it held) and committed
 * after the reconnect; no job runs twice at once; /readyz says not ready meanwhile and /metrics
 * still answers. In-process and sandboxed runs; many outcomes; a failure with its retry; a stop
 * (SIGTERM) while outcomes are kept (bounded, the jobs run again later: at-least-once); a host
 * whose lease expired during the outage (its late outcome is fenced); memory under a submit load
 * during an outage. Runs in the suite pg only, with ASYNCD_TEST_PG_DIR (scripts/pg.sh down/up). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "testdb.h"

#define BOUND_MS 60000	   /* any wait for a condition */
#define RECONNECT_MS 10000 /* outcomes committed within this of the database's return */
#define ANSWER_MS 2000	   /* a request during the outage is answered within this */
#define SLEEP_MS 1500	   /* a run that outlives the start of the outage */
#define MANY 20

/* scripts/pg.sh ACTION on the test server; false when the test cannot stop the server. */
static bool pg(const char *action)
{
	const char *dir = getenv("ASYNCD_TEST_PG_DIR"), *src = getenv("ASYNCD_SOURCE_DIR");
	char cmd[1200];
	if (!dir || !src)
		return false;
	snprintf(cmd, sizeof(cmd), "%s/scripts/pg.sh %s %s >/dev/null", src, action, dir);
	assert_int_equal(system(cmd), 0);
	return true;
}

static bool can_stop_database(void)
{
	if (getenv("ASYNCD_TEST_PG_DIR") && getenv("ASYNCD_SOURCE_DIR"))
		return true;
	fprintf(stderr, "# no ASYNCD_TEST_PG_DIR: the outage is not tried\n");
	return false;
}

/* A host with samples registered (isolation iso) and settings (stolen, NULL: none) stored
 * before a restart, so that the engine's pool starts with them. */
static struct harness *start_host(const char *iso, json_t *settings)
{
	struct harness *h = h_start();
	h_restart(h);
	json_decref(h_upload(h, "plugins/samples/samples.so", iso, 201));
	h_set_settings(h, json_pack("{s:i,s:i,s:i}", "async.keepalive_interval", 1,
				    "async.time_until_lock_expires", 3, "service.stop_timeout", 2));
	if (settings)
		h_set_settings(h, settings);
	h_stop(h);
	h_restart(h);
	return h;
}

static int64_t submit_sleep(struct harness *h, int ms)
{
	return h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", ms));
}

static long ready_status(struct harness *h)
{
	long status;
	json_decref(h_request(h, "GET", "/readyz", NULL, NULL, 0, &status));
	return status;
}

static void wait_ready_status(struct harness *h, long want)
{
	int64_t end = h_mono_ms() + BOUND_MS;
	while (ready_status(h) != want) {
		if (h_mono_ms() > end)
			fail_msg("/readyz did not answer %ld within %d ms", want, BOUND_MS);
		h_sleep_ms(H_POLL_MS);
	}
}

/* The database goes away: /readyz says so (503 store_unavailable). */
static void outage_begins(struct harness *h)
{
	assert_true(pg("down"));
	/* the host notices at its next statement: a heartbeat (1 s) at the latest */
	wait_ready_status(h, 503);
	long status;
	json_t *a = h_request(h, "GET", "/readyz", NULL, NULL, 0, &status);
	assert_int_equal(status, 503);
	assert_string_equal(h_error_code(a), "store_unavailable");
	json_decref(a);
}

/* Wait until at least n outcomes are kept (the runs ended during the outage); /metrics answers
 * without the database. */
static void wait_kept(struct harness *h, long long n)
{
	int64_t end = h_mono_ms() + BOUND_MS;
	while (h_metric(h, "asyncd_outcomes_pending") < n) {
		if (h_mono_ms() > end)
			fail_msg("%lld outcomes not kept within %d ms (%lld)", n, BOUND_MS,
				 h_metric(h, "asyncd_outcomes_pending"));
		h_sleep_ms(H_POLL_MS);
	}
}

/* The database is back; returns when (monotonic ms). */
static int64_t outage_ends(void)
{
	assert_true(pg("up"));
	return h_mono_ms();
}

/* GET the job, trying again while the host is not back yet (503). */
static json_t *job_when_back(struct harness *h, int64_t id)
{
	char path[64];
	int64_t end = h_mono_ms() + BOUND_MS;
	for (;;) {
		long status;
		json_t *j = h_request(
		    h, "GET", h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id), NULL,
		    NULL, 0, &status);
		if (status == 200)
			return j;
		json_decref(j);
		if (status != 503 || h_mono_ms() > end)
			fail_msg("GET job %lld answered %ld", (long long)id, status);
		h_sleep_ms(H_POLL_MS);
	}
}

/* Wait until job id is Completed; returns it (the caller owns it). */
static json_t *wait_completed(struct harness *h, int64_t id, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;
	for (;;) {
		json_t *j = job_when_back(h, id);
		if (h_int(j, "state") == 3)
			return j;
		if (h_mono_ms() > end)
			fail_msg("job %lld not Completed within %d ms: state %lld status %lld",
				 (long long)id, timeout_ms, (long long)h_int(j, "state"),
				 (long long)h_int(j, "status"));
		json_decref(j);
		h_sleep_ms(H_POLL_MS);
	}
}

/* The job ran once: attempt 1, and no other attempt in its history. */
static void expect_one_attempt(json_t *j)
{
	json_t *a;
	size_t i;
	assert_int_equal(h_int(j, "attempt"), 1);
	json_array_foreach(json_object_get(j, "attempts"), i, a)
	{
		assert_int_equal(h_int(a, "attempt"), 1);
	}
}

/* One job running when the database goes; its run ends during the outage; it ends Succeeded
 * once, after the reconnect. */
static void one_outcome_kept(const char *iso)
{
	if (!can_stop_database())
		return;
	struct harness *h = start_host(iso, NULL);
	int64_t id = submit_sleep(h, SLEEP_MS);
	json_decref(h_wait_running(h, id, BOUND_MS));
	long long done = h_metric(h, "asyncd_jobs_processed_total");
	outage_begins(h);
	wait_kept(h, 1);
	assert_int_equal(ready_status(h), 503);
	/* nothing committed meanwhile */
	assert_int_equal(h_metric(h, "asyncd_jobs_processed_total"), done);
	int64_t back = outage_ends();
	json_t *j = wait_completed(h, id, RECONNECT_MS);
	fprintf(stderr, "# %s: the kept outcome landed %lld ms after the database came back\n", iso,
		(long long)(h_mono_ms() - back));
	assert_int_equal(h_int(j, "status"), 30);
	expect_one_attempt(j);
	json_decref(j);
	wait_ready_status(h, 200);
	assert_int_equal(h_metric(h, "asyncd_outcomes_pending"), 0);
	h_stop(h);
	h_free(h);
}

static void outcome_kept_in_process(void **state)
{
	(void)state;
	one_outcome_kept("none");
}

static void outcome_kept_sandboxed(void **state)
{
	(void)state;
	one_outcome_kept("sandbox");
}

/* MANY runs end during the outage: every outcome lands after the reconnect, each job once. */
static void many_outcomes_kept(void **state)
{
	(void)state;
	if (!can_stop_database())
		return;
	int64_t ids[MANY];
	struct harness *h =
	    start_host("none", json_pack("{s:i}", "async.max_concurrent_jobs", MANY));
	for (int i = 0; i < MANY; i++)
		ids[i] = submit_sleep(h, SLEEP_MS + 500);
	for (int i = 0; i < MANY; i++)
		json_decref(h_wait_running(h, ids[i], BOUND_MS));
	outage_begins(h);
	wait_kept(h, MANY);
	int64_t back = outage_ends();
	for (int i = 0; i < MANY; i++) {
		json_t *j = wait_completed(h, ids[i], RECONNECT_MS);
		assert_int_equal(h_int(j, "status"), 30);
		expect_one_attempt(j);
		json_decref(j);
	}
	fprintf(stderr, "# %d kept outcomes landed within %lld ms of the database's return\n", MANY,
		(long long)(h_mono_ms() - back));
	h_stop(h);
	h_free(h);
}

/* A run that fails during the outage (a sandboxed sleep past sandbox.timeout: a transient
 * failure) lands as that failure with its retry as usual: attempt 1 in the history as
 * "transient" (timeout), retried after async.time_between_retries, and, past async.max_retries,
 * Failed at attempt 2. */
static void failure_kept(void **state)
{
	(void)state;
	if (!can_stop_database())
		return;
	struct harness *h = start_host("sandbox", json_pack("{s:f,s:i,s:f}", "sandbox.timeout", 1.5,
							    "async.max_retries", 1,
							    "async.time_between_retries", 0.5));
	int64_t id = submit_sleep(h, 30000);
	json_decref(h_wait_running(h, id, BOUND_MS));
	outage_begins(h);
	wait_kept(h, 1); /* killed at the timeout during the outage */
	outage_ends();
	json_t *j = wait_completed(h, id, BOUND_MS);
	assert_int_equal(h_int(j, "status"), 31);
	assert_int_equal(h_int(j, "attempt"), 2);
	assert_int_equal(h_int(j, "retry_count"), 1);
	assert_string_equal(h_str(j, "error_code"), "timeout");
	json_t *a;
	size_t i;
	int first = 0;
	json_array_foreach(json_object_get(j, "attempts"), i, a)
	{
		if (h_int(a, "attempt") == 1) {
			assert_string_equal(h_str(a, "outcome"), "transient");
			assert_string_equal(h_str(a, "error_code"), "timeout");
			first++;
		}
	}
	assert_int_equal(first, 1);
	json_decref(j);
	h_stop(h);
	h_free(h);
}

/* While the database is away no held run starts (its outcome could not be written, and its
 * lease may expire meanwhile): the held job stays held, nothing runs. Observed for a bounded
 * while. */
static void held_stay_held(struct harness *h)
{
	for (int i = 0; i < 10; i++) {
		assert_int_equal(h_metric(h, "asyncd_jobs_held"), 1);
		assert_int_equal(h_metric(h, "asyncd_jobs_running"), 0);
		h_sleep_ms(50);
	}
}

/* SIGTERM while outcomes are kept: the stop ends, bounded (service.stop_timeout 2 s + the
 * writer's 5 s); the jobs stay Locked and run again when the host is back (at-least-once). */
static void stop_while_kept(void **state)
{
	(void)state;
	if (!can_stop_database())
		return;
	struct harness *h = start_host("none", json_pack("{s:i}", "async.max_concurrent_jobs", 1));
	int64_t ran = submit_sleep(h, SLEEP_MS), held = submit_sleep(h, 100);
	json_decref(h_wait_running(h, ran, BOUND_MS));
	json_decref(h_wait_state(h, held, 2, BOUND_MS));
	outage_begins(h);
	wait_kept(h, 1);
	held_stay_held(h);
	int64_t took = h_stop(h); /* exit 0 within H_STOP_TIMEOUT_MS */
	fprintf(stderr, "# stop with a kept outcome and the database away: %lld ms\n",
		(long long)took);
	assert_true(took < 10000);
	char path[600];
	snprintf(path, sizeof(path), "%s/asyncd.log", h->dir);
	char *log = h_read_file(path, NULL);
	h_expect_text(log, "its outcome was not stored", "the log of the stop");
	free(log);
	outage_ends();
	h_restart(h);
	json_t *j = wait_completed(h, ran, BOUND_MS);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "attempt"), 2); /* ran again: at-least-once */
	json_decref(j);
	j = wait_completed(h, held, BOUND_MS);
	assert_int_equal(h_int(j, "status"), 30);
	json_decref(j);
	h_stop(h);
	h_free(h);
}

static char *host_log(struct harness *h)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/asyncd.log", h->dir);
	return h_read_file(path, NULL);
}

/* Two hosts; the database is away longer than the lease; host A, whose run ended meanwhile, is
 * paused (SIGSTOP) when it comes back: B takes the job and runs it (attempt 2); A's kept outcome
 * of attempt 1 is refused by the fence when A continues, and A says so. */
static void late_outcome_fenced(void **state)
{
	(void)state;
	if (!can_stop_database())
		return;
	struct harness *a = start_host("none", json_pack("{s:i,s:i}", "async.items_in_memory_low",
							 1, "async.items_in_memory_high", 1));
	struct harness *b = h_start_peer(a);
	/* B's service paused: A takes the job */
	json_decref(h_service_act(b, "async", "pause", 200));
	json_decref(h_wait_service(b, "async", "paused", H_WAIT_TIMEOUT_MS));
	int64_t id = submit_sleep(a, SLEEP_MS);
	json_decref(h_wait_running(a, id, BOUND_MS));
	json_decref(h_service_act(b, "async", "continue", 200));
	outage_begins(a);
	wait_kept(a, 1);
	kill(a->pid, SIGSTOP);
	outage_ends();
	json_t *j = wait_completed(b, id, BOUND_MS);
	if (h_int(j, "status") != 30) {
		char *text = json_dumps(j, JSON_COMPACT);
		fprintf(stderr, "# %s\n", text);
		free(text);
		h_dump_log(b, 30);
	}
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "attempt"), 2);
	json_decref(j);
	kill(a->pid, SIGCONT);
	int64_t end = h_mono_ms() + BOUND_MS;
	char *log;
	while (!strstr((log = host_log(a)) ? log : "", "was refused (fencing)")) {
		free(log);
		if (h_mono_ms() > end)
			fail_msg("host A did not log its fenced outcome");
		h_sleep_ms(50);
	}
	free(log);
	assert_int_equal(h_metric(a, "asyncd_outcomes_pending"), 0);
	j = job_when_back(b, id);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "attempt"), 2);
	json_decref(j);
	h_stop(b);
	h_stop(a);
	h_free(b);
	h_free(a);
}

static long long rss_kb(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *s = h_read_file(path, NULL);
	const char *at = s ? strstr(s, "VmRSS:") : NULL;
	long long kb = at ? atoll(at + 6) : -1;
	free(s);
	return kb;
}

/* A steady submit load during an outage of ASYNCD_OUTAGE_SECONDS (default 10): every
 * submission is answered 503 store_unavailable at once (not queued in the writer), the host's
 * memory does not grow with them, and it is ready again after. */
static void submissions_refused_at_once(void **state)
{
	(void)state;
	if (!can_stop_database())
		return;
	const char *env = getenv("ASYNCD_OUTAGE_SECONDS");
	int seconds = env && atoi(env) > 0 ? atoi(env) : 10;
	struct harness *h = start_host("none", NULL);
	int64_t id = submit_sleep(h, SLEEP_MS);
	json_decref(h_wait_running(h, id, BOUND_MS));
	outage_begins(h);
	wait_kept(h, 1);
	long long rss0 = rss_kb(h->pid), rss_max = rss0;
	int64_t end = h_mono_ms() + seconds * 1000LL, slowest = 0;
	/* as root over the unix socket: a local administrator needs no token, so the submissions
	 * reach the writer rather than failing at the token's look-up */
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct h_req req = {.method = "POST",
			    .path = "/api/v1/jobs",
			    .body = "{\"plugin_type\":\"samples.noop\"}",
			    .headers = hdr,
			    .no_token = geteuid() == 0,
			    .unix_socket = geteuid() == 0};
	int n = 0;
	while (h_mono_ms() < end && n < 1000000) {
		struct h_answer a;
		int64_t t0 = h_mono_ms();
		h_request_ex(h, &req, &a);
		int64_t took = h_mono_ms() - t0;
		slowest = took > slowest ? took : slowest;
		if (a.status != 503)
			fail_msg("a submission during the outage answered %ld: %s", a.status,
				 a.text ? a.text : "");
		assert_string_equal(h_error_code(a.json), "store_unavailable");
		h_answer_done(&a);
		n++;
		long long kb = rss_kb(h->pid);
		rss_max = kb > rss_max ? kb : rss_max;
	}
	long long rss1 = rss_kb(h->pid);
	fprintf(stderr,
		"# %d s outage: %d submissions answered 503, the slowest in %lld ms; VmRSS %lld kB "
		"before, %lld kB after, %lld kB at most\n",
		seconds, n, (long long)slowest, rss0, rss1, rss_max);
	assert_true(slowest < ANSWER_MS);
	assert_true(rss_max - rss0 < 32 * 1024);
	outage_ends();
	json_t *j = wait_completed(h, id, RECONNECT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	expect_one_attempt(j);
	json_decref(j);
	wait_ready_status(h, 200);
	h_stop(h);
	h_free(h);
}

/* After each test, passed or not: the database is up for the next one. */
static int database_up(void **state)
{
	(void)state;
	const char *dir = getenv("ASYNCD_TEST_PG_DIR"), *src = getenv("ASYNCD_SOURCE_DIR");
	char cmd[1200];
	if (dir && src) {
		snprintf(cmd, sizeof(cmd), "%s/scripts/pg.sh up %s >/dev/null", src, dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not start the database again\n");
	}
	return 0;
}

int main(void)
{
	h_filter_from_env();
	if (!testdb_is_pg()) {
		printf("1..0 # SKIP a database outage needs the PostgreSQL store (suite pg)\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(outcome_kept_in_process, database_up),
	    cmocka_unit_test_teardown(outcome_kept_sandboxed, database_up),
	    cmocka_unit_test_teardown(many_outcomes_kept, database_up),
	    cmocka_unit_test_teardown(failure_kept, database_up),
	    cmocka_unit_test_teardown(stop_while_kept, database_up),
	    cmocka_unit_test_teardown(late_outcome_fenced, database_up),
	    cmocka_unit_test_teardown(submissions_refused_at_once, database_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
