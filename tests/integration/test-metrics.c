/* Integration tests of GET /metrics (issue 11 item 1, docs/metrics.md): a busy asyncd (events,
 * failing and retried jobs, sandboxed jobs) answers a text that Prometheus' own
 * `promtool check metrics` accepts, and whose values agree with what happened: outcomes and
 * histogram counts match the jobs run, the job gauges match /api/v1/jobs/stats (also after a
 * restart of the process, when they are seeded again), counters stay monotonic across a stop and
 * start of the async service, the backlog and the oldest Ready job's age show jobs that wait, and
 * HTTP requests are counted by route pattern, never by raw path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define N_NOOP 20
#define N_FAIL 5
#define N_FLAKY 3
#define N_SANDBOX 3

/* The whole /metrics text (the caller frees it). */
static char *scrape(struct harness *h)
{
	struct h_answer a;
	h_request_ex(h, &(struct h_req){.method = "GET", .path = "/metrics", .no_token = true}, &a);
	assert_int_equal(a.status, 200);
	h_expect_text(a.headers, "text/plain; version=0.0.4", "the /metrics Content-Type");
	char *t = strdup(a.text);
	h_answer_done(&a);
	return t;
}

/* The value of the series (name with its labels, as printed) in text; -1 when it is absent. */
static double value_in(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; (p = strstr(p, series)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atof(p + n + 1);
	return -1;
}

/* The sum of the series whose line starts with prefix (e.g. every label set of a family). */
static double sum_prefix(const char *text, const char *prefix)
{
	double sum = 0;
	size_t n = strlen(prefix);
	for (const char *p = text; (p = strstr(p, prefix)); p += n)
		if (p == text || p[-1] == '\n') {
			const char *v = strchr(p, ' ');
			const char *nl = strchr(p, '\n');
			if (v && (!nl || v < nl))
				sum += atof(v + 1);
		}
	return sum;
}

static double series(struct harness *h, const char *s)
{
	char *t = scrape(h);
	double v = value_in(t, s);
	free(t);
	if (v < 0)
		fail_msg("/metrics has no series %s", s);
	return v;
}

/* Poll until series s has the value want (bounded). */
static void wait_series(struct harness *h, const char *s, double want)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	double v = -1;
	while (h_mono_ms() < end) {
		char *t = scrape(h);
		v = value_in(t, s);
		free(t);
		if (v == want)
			return;
		h_sleep_ms(H_POLL_MS);
	}
	fail_msg("%s stayed %g, not %g", s, v, want);
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* promtool check metrics on text; fails the test with its complaints. */
static void promtool_check(struct harness *h, const char *text)
{
	char path[512], cmd[1200];
	snprintf(path, sizeof(path), "%s/metrics.txt", h->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s.check' 2>&1", path, path);
	int rc = system(cmd);
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "%s.check", path);
		char *out = h_read_file(cmd, NULL);
		fail_msg("promtool check metrics failed (%d):\n%s", rc, out ? out : "(no output)");
	}
}

static void raise_n(struct harness *h, const char *message, int n, json_t *target)
{
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%d", i);
		json_decref(h_raise(h, json_pack("{s:s,s:s,s:s,s:O}", "message", message, "entity",
						 "account", "entity_id", id, "target", target)));
	}
	json_decref(target);
}

static void register_probe_sandboxed(struct harness *h)
{
	json_decref(h_upload(h, "tests/plugins/sandbox_probe.so", "sandbox", 201));
}

/* Events, failures, retries and sandboxed jobs, all finished. */
static void make_busy(struct harness *h)
{
	h_register_samples(h);
	register_probe_sandboxed(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	h_add_simple_step(h, "samples.fail", "Close", "account");
	h_add_simple_step(h, "samples.flaky", "Touch", "account");
	raise_n(h, "Create", N_NOOP, json_object());
	raise_n(h, "Close", N_FAIL, json_pack("{s:s}", "message", "no such account"));
	raise_n(h, "Touch", N_FLAKY, json_pack("{s:i,s:i}", "fail_times", 1, "delay_ms", 0));
	for (int i = 0; i < N_SANDBOX; i++)
		h_submit(h, json_pack("{s:s,s:{}}", "plugin_type", "probe.thread", "data"));
	h_wait_all(h, H_WAIT_TIMEOUT_MS * 2, NULL);
}

static void test_promtool_on_a_busy_asyncd(void **state)
{
	struct harness *h = *state;
	make_busy(h);
	json_decref(h_get(h, "/api/v1/jobs/1", 200));
	json_decref(h_get(h, "/api/v1/jobs/2", 200));
	json_decref(h_get(h, "/api/v1/no-such-thing", 404));
	char *t = scrape(h);
	if (have_promtool())
		promtool_check(h, t);
	else
		print_message("SKIP promtool check: promtool is not installed (Debian package "
			      "prometheus; scripts/deps.sh installs it)\n");
	/* every family has its HELP and TYPE */
	for (const char *p = t; (p = strstr(p, "\n# TYPE ")); p++) {
		char name[128], help[160];
		sscanf(p + 8, "%127s", name);
		snprintf(help, sizeof(help), "# HELP %s ", name);
		h_expect_text(t, help, "/metrics");
	}
	/* routes by pattern, never a raw path */
	h_expect_text(t, "route=\"/api/v1/jobs/*\"", "/metrics");
	h_expect_no_text(t, "route=\"/api/v1/jobs/1\"", "/metrics");
	h_expect_text(t, "asyncd_http_requests_total{method=\"\",route=\"unmatched\",code=\"4xx\"}",
		      "/metrics");
	assert_true(value_in(t, "asyncd_http_requests_total{method=\"POST\",route=\"/api/v1/"
				"events\",code=\"2xx\"}") >= N_NOOP + N_FAIL + N_FLAKY);
	h_expect_text(t, "asyncd_build_info{version=\"", "/metrics");
	h_expect_text(t, "asyncd_service_status{host=\"", "/metrics");
	free(t);
	/* ?name= answers only the families named */
	struct h_answer a;
	h_request_ex(
	    h,
	    &(struct h_req){.method = "GET",
			    .path = "/metrics?name=asyncd_jobs_processed_total,asyncd_jobs",
			    .no_token = true},
	    &a);
	assert_int_equal(a.status, 200);
	h_expect_text(a.text, "\nasyncd_jobs_processed_total ", "?name=");
	h_expect_text(a.text, "asyncd_jobs{state=\"Ready\"", "?name=");
	h_expect_no_text(a.text, "asyncd_jobs_claimed_total", "?name=");
	h_expect_no_text(a.text, "asyncd_http_requests_total", "?name=");
	h_answer_done(&a);
}

static void test_values_match_the_jobs_run(void **state)
{
	struct harness *h = *state;
	make_busy(h);
	char *t = scrape(h);
	assert_int_equal((int)value_in(t, "asyncd_job_run_seconds_count{plugin_type=\"samples."
					  "noop\"}"),
			 N_NOOP);
	assert_int_equal((int)value_in(t, "asyncd_job_queue_wait_seconds_count{plugin_type="
					  "\"samples.noop\"}"),
			 N_NOOP);
	assert_int_equal((int)value_in(t, "asyncd_job_run_seconds_count{plugin_type=\"samples."
					  "flaky\"}"),
			 2 * N_FLAKY);
	assert_int_equal((int)value_in(t, "asyncd_job_outcomes_total{plugin_type=\"samples.noop\","
					  "outcome=\"succeeded\",error_code=\"none\"}"),
			 N_NOOP);
	h_expect_text(t,
		      "asyncd_job_outcomes_total{plugin_type=\"samples.fail\",outcome=\"failed\"",
		      "/metrics");
	assert_int_equal((int)value_in(t, "asyncd_job_outcomes_total{plugin_type=\"samples.flaky\","
					  "outcome=\"succeeded\",error_code=\"none\"}"),
			 N_FLAKY);
	assert_int_equal((int)value_in(t, "asyncd_job_outcomes_total{plugin_type=\"probe.thread\","
					  "outcome=\"succeeded\",error_code=\"none\"}"),
			 N_SANDBOX);
	int runs = N_NOOP + N_FAIL + 2 * N_FLAKY + N_SANDBOX;
	/* the maintenance jobs (asyncd.*) may have run meanwhile: processed counts them too */
	int maintenance = (int)sum_prefix(t, "asyncd_job_outcomes_total{plugin_type=\"asyncd.");
	assert_int_equal((int)value_in(t, "asyncd_jobs_processed_total") - maintenance, runs);
	assert_int_equal((int)value_in(t, "asyncd_events_received_total"),
			 N_NOOP + N_FAIL + N_FLAKY);
	assert_int_equal((int)value_in(t, "asyncd_event_jobs_created_total"),
			 N_NOOP + N_FAIL + N_FLAKY);
	assert_true(value_in(t, "asyncd_sandbox_workers_spawned_total") >= 1);
	assert_true(value_in(t, "asyncd_store_commit_ops_count") >= 1);
	free(t);
}

/* The jobs of a status in the table: /jobs/stats leaves the maintenance jobs out of by_status
 * (and says how many of each status they are); the gauges count every row. */
static int64_t with_maintenance(struct harness *h, int status)
{
	char key[16];
	json_t *s = h_get(h, "/api/v1/jobs/stats", 200);
	snprintf(key, sizeof(key), "%d", status);
	int64_t n = h_int(json_object_get(s, "by_status"), key) +
		    h_int(json_object_get(s, "maintenance_by_status"), key);
	json_decref(s);
	return n;
}

static void expect_gauges_match_stats(struct harness *h)
{
	static const struct {
		int status;
		const char *series;
	} rows[] = {
	    {30, "asyncd_jobs{state=\"Completed\",status=\"Succeeded\"}"},
	    {31, "asyncd_jobs{state=\"Completed\",status=\"Failed\"}"},
	    {0, "asyncd_jobs{state=\"Ready\",status=\"WaitingForResources\"}"},
	    {20, "asyncd_jobs{state=\"Locked\",status=\"InProgress\"}"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal((int64_t)series(h, rows[i].series),
				 with_maintenance(h, rows[i].status));
}

static void test_job_gauges_match_the_table_and_survive_a_restart(void **state)
{
	struct harness *h = *state;
	make_busy(h);
	expect_gauges_match_stats(h);
	assert_int_equal((int)series(h, "asyncd_jobs{state=\"Completed\",status=\"Succeeded\"}"),
			 N_NOOP + N_FLAKY + N_SANDBOX);
	h_stop(h);
	h_restart(h);
	expect_gauges_match_stats(h); /* seeded by the grouped count at start */
	/* a deleted job leaves the count (the first jobs are the maintenance jobs: not deletable)
	 */
	int64_t gone = h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop"));
	json_decref(h_wait_job(h, gone, H_WAIT_TIMEOUT_MS));
	char path[64];
	assert_null(h_call(h, "DELETE",
			   h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)gone), NULL,
			   204));
	expect_gauges_match_stats(h);
}

/* Every status of the gauges against /api/v1/jobs/stats (a count of the table). */
static void expect_all_gauges_match(struct harness *h, const char *when)
{
	static const int statuses[] = {0, 10, 20, 21, 22, 30, 31, 32};
	static const char *const names[] = {"state=\"Ready\",status=\"WaitingForResources\"",
					    "state=\"Suspended\",status=\"Waiting\"",
					    "state=\"Locked\",status=\"InProgress\"",
					    "state=\"Locked\",status=\"Pausing\"",
					    "state=\"Locked\",status=\"Canceling\"",
					    "state=\"Completed\",status=\"Succeeded\"",
					    "state=\"Completed\",status=\"Failed\"",
					    "state=\"Completed\",status=\"Canceled\""};
	char key[160];
	for (size_t i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "asyncd_jobs{%s}", names[i]);
		int64_t want = with_maintenance(h, statuses[i]), got = (int64_t)series(h, key);
		if (got != want)
			fail_msg("%s: %s is %lld, the table has %lld", when, key, (long long)got,
				 (long long)want);
	}
}

static int64_t submit_sleep(struct harness *h, int ms)
{
	return h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", ms));
}

static void act(struct harness *h, int64_t id, const char *action, json_t *body)
{
	char path[96];
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)id, action);
	json_decref(h_call(h, "POST", path, body, 200));
}

/* The gauges follow each kind of change the store makes: inserts, claims, outcomes (success,
 * failure, retry), pause, resume, postpone and its promotion, cancel of a running job, retry of
 * a failed one, delete, a step deleted with its jobs canceled, and the release of held jobs when
 * async stops. */
static void test_gauges_follow_every_change(void **state)
{
	struct harness *h = *state;
	char t[H_TIME_LEN];
	h_register_samples(h);
	int64_t run = submit_sleep(h, 60000), pause = submit_sleep(h, 60000);
	json_decref(h_wait_state(h, run, 2, H_WAIT_TIMEOUT_MS));
	json_decref(h_wait_state(h, pause, 2, H_WAIT_TIMEOUT_MS));
	expect_all_gauges_match(h, "two running");
	act(h, pause, "pause", NULL);
	json_decref(h_wait_state(h, pause, 1, H_WAIT_TIMEOUT_MS));
	expect_all_gauges_match(h, "paused");
	act(h, pause, "resume", NULL);
	act(h, run, "cancel", NULL);
	json_decref(h_wait_job(h, run, H_WAIT_TIMEOUT_MS));
	json_decref(h_wait_state(h, pause, 2, H_WAIT_TIMEOUT_MS)); /* running again */
	expect_all_gauges_match(h, "canceled and resumed");
	/* a retry after a delay: Waiting, then promoted by the dispatcher */
	int64_t flaky = h_submit(h, json_pack("{s:s,s:{s:i,s:i}}", "plugin_type", "samples.flaky",
					      "data", "fail_times", 1, "delay_ms", 300));
	json_decref(h_wait_job(h, flaky, H_WAIT_TIMEOUT_MS));
	expect_all_gauges_match(h, "retried after a delay");
	act(h, pause, "cancel", NULL);
	json_decref(h_wait_job(h, pause, H_WAIT_TIMEOUT_MS));
	int64_t failed = h_submit(h, json_pack("{s:s,s:{},s:i}", "plugin_type", "samples.fail",
					       "data", "max_retries", 0));
	json_decref(h_wait_job(h, failed, H_WAIT_TIMEOUT_MS));
	expect_all_gauges_match(h, "failed");
	act(h, failed, "retry", NULL);
	json_decref(h_wait_job(h, failed, H_WAIT_TIMEOUT_MS));
	h_path(t, sizeof(t), "/api/v1/jobs/%lld", (long long)failed);
	assert_null(h_call(h, "DELETE", t, NULL, 204));
	expect_all_gauges_match(h, "retried and deleted");
	/* a step deleted with its jobs canceled: one running, the others Ready behind a throttle */
	h_set_settings(h, json_pack("{s:s}", "async.throttling", "samples.sleep=1"));
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	raise_n(h, "Create", 3, json_pack("{s:i}", "ms", 60000));
	wait_series(h, "asyncd_jobs{state=\"Locked\",status=\"InProgress\"}", 3);
	expect_all_gauges_match(h, "three held");
	h_path(t, sizeof(t), "/api/v1/steps/%lld?mode=cancel", (long long)step);
	assert_null(h_call(h, "DELETE", t, NULL, 204));
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	expect_all_gauges_match(h, "step deleted with its jobs");
	/* held jobs released at a stop of async */
	step = h_add_simple_step(h, "samples.sleep", "Update", "account");
	raise_n(h, "Update", 3, json_pack("{s:i}", "ms", 300));
	wait_series(h, "asyncd_jobs{state=\"Locked\",status=\"InProgress\"}", 3);
	json_decref(h_service_act(h, "async", "stop", 200));
	json_decref(h_wait_service(h, "async", "stopped", H_WAIT_TIMEOUT_MS));
	expect_all_gauges_match(h, "released at a stop");
	json_decref(h_service_act(h, "async", "start", 200));
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	expect_all_gauges_match(h, "all done");
}

static void test_backlog_and_oldest_ready_age(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	json_decref(h_service_act(h, "async", "stop", 200));
	json_decref(h_wait_service(h, "async", "stopped", H_WAIT_TIMEOUT_MS));
	raise_n(h, "Create", 3, json_object());
	wait_series(h, "asyncd_jobs_backlog{plugin_type=\"samples.noop\"}", 3);
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (series(h, "asyncd_jobs_oldest_ready_age_seconds{plugin_type=\"samples.noop\"}") <
		   0.2 &&
	       h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	assert_true(
	    series(h, "asyncd_jobs_oldest_ready_age_seconds{plugin_type=\"samples.noop\"}") >= 0.2);
	json_decref(h_service_act(h, "async", "start", 200));
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	wait_series(h, "asyncd_jobs_backlog{plugin_type=\"samples.noop\"}", 0);
	assert_true(
	    series(h, "asyncd_jobs_oldest_ready_age_seconds{plugin_type=\"samples.noop\"}") == 0);
}

/* _total counters live as long as the process: a stop and start of async does not reset them. */
static void test_counters_monotonic_across_async_restart(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	raise_n(h, "Create", 4, json_object());
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	wait_series(h, "asyncd_jobs_processed_total", 4);
	double claimed = series(h, "asyncd_jobs_claimed_total");
	json_decref(h_service_act(h, "async", "stop", 200));
	json_decref(h_wait_service(h, "async", "stopped", H_WAIT_TIMEOUT_MS));
	json_decref(h_service_act(h, "async", "start", 200));
	json_decref(h_wait_service(h, "async", "running", H_WAIT_TIMEOUT_MS));
	assert_int_equal((int)series(h, "asyncd_jobs_processed_total"), 4);
	assert_true(series(h, "asyncd_jobs_claimed_total") >= claimed);
	raise_n(h, "Create", 2, json_object());
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	wait_series(h, "asyncd_jobs_processed_total", 6);
	assert_int_equal((int)series(h, "asyncd_job_run_seconds_count{plugin_type=\"samples."
					"noop\"}"),
			 6);
}

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_promtool_on_a_busy_asyncd, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_values_match_the_jobs_run, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_job_gauges_match_the_table_and_survive_a_restart,
					    h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_gauges_follow_every_change, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_backlog_and_oldest_ready_age, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_counters_monotonic_across_async_restart, h_setup,
					    h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
