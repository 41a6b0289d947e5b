/* Integration tests of a drain that waits: a step drained while one of its jobs is postponed far
 * into the future must wait quietly (the drain thread once kicked itself after every pass, and
 * asyncd made ~8,000 commits and burnt a core a second), and must still finish once the job does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define QUIET_WINDOW_MS 1000 /* a rate is measured over a window: this one, bounded */
#define QUIET_MAX_COMMITS 20 /* the drain thread's two passes a second, and a little more */

static void test_waiting_drain_is_quiet(void **state)
{
	struct harness *h = *state;
	char path[64];
	h_register_samples(h);
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	json_t *jobs = h_raise(h, json_pack("{s:s,s:s,s:s,s:{s:i}}", "message", "Create", "entity",
					    "account", "entity_id", "1", "target", "ms", 60000));
	int64_t id = h_int(json_array_get(jobs, 0), "id");
	json_decref(jobs);
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/postpone", (long long)id);
	json_decref(
	    h_call(h, "POST", path, json_pack("{s:s}", "until", "2031-01-01T00:00:00Z"), 200));
	json_decref(h_wait_state(h, id, 1, H_WAIT_TIMEOUT_MS));
	h_path(path, sizeof(path), "/api/v1/steps/%lld?mode=drain", (long long)step);
	json_decref(h_call(h, "DELETE", path, NULL, 202));

	long long before = h_metric(h, "asyncd_store_commits_total");
	int64_t t0 = h_mono_ms();
	while (h_mono_ms() < t0 + QUIET_WINDOW_MS)
		h_sleep_ms(H_POLL_MS);
	long long n = h_metric(h, "asyncd_store_commits_total") - before;
	if (n > QUIET_MAX_COMMITS)
		fail_msg("%lld store commits in %d ms while a drain waited for one postponed job",
			 n, QUIET_WINDOW_MS);

	/* the drain still ends once its job does */
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id);
	json_decref(h_call(h, "POST", path, NULL, 200));
	h_path(path, sizeof(path), "/api/v1/steps/%lld", (long long)step);
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	long status = 200;
	while (status != 404 && h_mono_ms() < end) {
		json_decref(h_request(h, "GET", path, NULL, NULL, 0, &status));
		if (status != 404)
			h_sleep_ms(H_POLL_MS);
	}
	assert_int_equal(status, 404);
}

/* A sleeping job of the step: raised, then Locked (running). */
static int64_t running_job(struct harness *h, const char *entity_id)
{
	json_t *jobs =
	    h_raise(h, json_pack("{s:s,s:s,s:s,s:{s:i}}", "message", "Create", "entity", "account",
				 "entity_id", entity_id, "target", "ms", 60000));
	int64_t id = h_int(json_array_get(jobs, 0), "id");
	json_decref(jobs);
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	return id;
}

static void job_do(struct harness *h, int64_t id, const char *action, json_t *body)
{
	char path[80];
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)id, action);
	json_decref(h_call(h, "POST", path, body, 200));
}

/* A drain says what it waits for (per state, jobs waiting for a person, the earliest postponed
 * one), and with a timeout cancels what is left (plugin_deleted, a running job interrupted) and
 * deletes the step. */
static void test_drain_progress_and_deadline(void **state)
{
	struct harness *h = *state;
	char path[96];
	h_register_samples(h);
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	int64_t later = running_job(h, "1"), paused = running_job(h, "2");
	job_do(h, later, "postpone", json_pack("{s:s}", "until", "2031-01-01T00:00:00Z"));
	job_do(h, paused, "pause", NULL);
	json_decref(h_wait_state(h, later, 1, H_WAIT_TIMEOUT_MS));
	json_decref(h_wait_state(h, paused, 1, H_WAIT_TIMEOUT_MS));
	int64_t busy = running_job(h, "3");
	h_path(path, sizeof(path), "/api/v1/steps/%lld?mode=cancel&timeout=5", (long long)step);
	json_decref(h_call(h, "DELETE", path, NULL, 400));
	h_path(path, sizeof(path), "/api/v1/steps/%lld?mode=drain&timeout=-1", (long long)step);
	json_decref(h_call(h, "DELETE", path, NULL, 400));
	h_path(path, sizeof(path), "/api/v1/steps/%lld?mode=drain&deadline=2020-01-01T00:00:00Z",
	       (long long)step);
	json_decref(h_call(h, "DELETE", path, NULL, 400));
	h_path(path, sizeof(path), "/api/v1/steps/%lld?mode=drain&timeout=3", (long long)step);
	json_t *a = h_call(h, "DELETE", path, NULL, 202);
	json_t *c = json_object_get(a, "counts");
	assert_int_equal(h_int(c, "suspended"), 2);
	assert_int_equal(h_int(c, "locked"), 1);
	assert_int_equal(h_int(c, "waiting_for_person"), 1);
	assert_string_equal(h_str(c, "earliest_postpone_until"), "2031-01-01T00:00:00.000Z");
	assert_non_null(h_str(a, "drain_deadline"));
	json_decref(a);
	h_path(path, sizeof(path), "/api/v1/steps/%lld", (long long)step);
	a = h_get(h, path, 200);
	assert_true(json_is_true(json_object_get(a, "draining")));
	assert_non_null(h_str(a, "drain_deadline"));
	assert_int_equal(h_int(json_object_get(a, "unfinished"), "waiting_for_person"), 1);
	json_decref(a);
	long status = 200;
	for (int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS; status != 404 && h_mono_ms() < end;) {
		json_decref(h_request(h, "GET", path, NULL, NULL, 0, &status));
		if (status != 404)
			h_sleep_ms(H_POLL_MS);
	}
	assert_int_equal(status, 404);
	int64_t ids[] = {later, paused, busy};
	for (int i = 0; i < 3; i++) {
		json_t *j = h_wait_job(h, ids[i], H_WAIT_TIMEOUT_MS);
		assert_string_equal(h_str(j, "status_name"), "Canceled");
		assert_string_equal(h_str(j, "error_code"), "plugin_deleted");
		json_decref(j);
	}
}

/* asyncctl follows a drain with what it waits for, and --timeout ends it. */
static void test_ctl_drain_timeout(void **state)
{
	struct harness *h = *state;
	char ids[32];
	struct h_cmd c;
	h_register_samples(h);
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	int64_t later = running_job(h, "1");
	job_do(h, later, "postpone", json_pack("{s:s}", "until", "2031-01-01T00:00:00Z"));
	json_decref(h_wait_state(h, later, 1, H_WAIT_TIMEOUT_MS));
	snprintf(ids, sizeof(ids), "%lld", (long long)step);
	h_ctl(h, &c, "step", "delete", ids, "--timeout", "1", NULL);
	assert_int_equal(c.status, 2); /* --timeout goes with --mode drain */
	h_cmd_done(&c);
	h_ctl(h, &c, "step", "delete", ids, "--mode", "drain", "--timeout", "1", NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.err, "next due 2031-01-01", "asyncctl's drain progress");
	h_expect_text(c.err, "the rest is canceled at", "asyncctl's drain progress");
	h_expect_text(c.out, "drained and deleted", "asyncctl step delete");
	h_cmd_done(&c);
}

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_waiting_drain_is_quiet, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_drain_progress_and_deadline, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ctl_drain_timeout, h_setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
