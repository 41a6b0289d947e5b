/* Integration tests of jobs submitted straight to a plug-in type on the real asyncd: retries of
 * transient failures, permanent failures, the user actions of SPEC §1 (postpone, resume, cancel,
 * pause, retry, delete) and their refusals, idempotency keys, dependency tokens and priority.
 * Each test runs its own server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define HOUR_MS (3600 * 1000)
#define CHAIN_JOBS 5

static void fast_retries(struct harness *h)
{
	h_set_settings(h, json_pack("{s:f}", "async.time_between_retries", 0.05));
}

static int64_t submit_type(struct harness *h, const char *type, json_t *data)
{
	return h_submit(
	    h, json_pack("{s:s,s:o}", "plugin_type", type, "data", data ? data : json_object()));
}

/* Submit type with data, postponed by ms_from_now. */
static int64_t submit_later(struct harness *h, const char *type, json_t *data, int64_t ms_from_now)
{
	char t[H_TIME_LEN];

	return h_submit(h, json_pack("{s:s,s:o,s:s}", "plugin_type", type, "data",
				     data ? data : json_object(), "postpone_until",
				     h_time(t, ms_from_now)));
}

/* POST /api/v1/jobs/ID/action (body may be NULL) wanting status want. */
static json_t *act(struct harness *h, int64_t id, const char *action, json_t *body, long want)
{
	char path[96];

	h_path(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)id, action);
	return h_call(h, "POST", path, body, want);
}

static void assert_state(json_t *j, int state, int status)
{
	if (h_int(j, "state") != state || h_int(j, "status") != status)
		fail_msg("job %lld is %lld/%lld, not %d/%d (%s)", (long long)h_int(j, "id"),
			 (long long)h_int(j, "state"), (long long)h_int(j, "status"), state, status,
			 h_str(j, "message"));
}

/* Wait for job id to complete and check its status; returns the job (the caller owns it). */
static json_t *wait_status(struct harness *h, int64_t id, int status)
{
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);

	assert_state(j, 3, status);
	return j;
}

static void test_flaky_retried_then_succeeds(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	fast_retries(h);
	int64_t id =
	    h_submit(h, json_pack("{s:s,s:{s:i,s:i},s:i}", "plugin_type", "samples.flaky", "data",
				  "fail_times", 2, "delay_ms", 10, "max_retries", 5));
	json_t *j = wait_status(h, id, 30);
	assert_int_equal(h_int(j, "retry_count"), 2);
	assert_int_equal(h_int(j, "attempt"), 3);
	assert_int_equal(h_int(j, "operation_type"), 54);
	json_decref(j);
	h_stop(h);
}

static void test_fail_is_permanent(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t id = submit_type(h, "samples.fail", json_pack("{s:s}", "message", "disk on fire"));
	json_t *j = wait_status(h, id, 31);
	assert_string_equal(h_str(j, "error_code"), "plugin_failed");
	assert_non_null(strstr(h_str(j, "message"), "disk on fire"));
	assert_int_equal(h_int(j, "retry_count"), 0);
	assert_int_equal(h_int(j, "attempt"), 1);
	json_decref(j);
	h_stop(h);
}

static void test_flaky_exhausts_retries(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	fast_retries(h);
	int64_t id =
	    h_submit(h, json_pack("{s:s,s:{s:i,s:i},s:i}", "plugin_type", "samples.flaky", "data",
				  "fail_times", 5, "delay_ms", 10, "max_retries", 1));
	json_t *j = wait_status(h, id, 31);
	assert_int_equal(h_int(j, "attempt"), 2);
	assert_non_null(h_str(j, "error_code"));
	assert_non_null(h_str(j, "message"));
	json_decref(j);
	h_stop(h);
}

static void test_postponed_then_resumed(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t id = submit_later(h, "samples.noop", NULL, HOUR_MS);
	json_t *j = h_job(h, id);
	assert_state(j, 1, 10);
	assert_true(h_parse_time(json_object_get(j, "postpone_until")) > h_now_ms() + HOUR_MS / 2);
	json_decref(j);
	/* a job submitted after it has run: the dispatcher made a pass (promoting what is due)
	 * after the postponed job was stored */
	json_decref(
	    wait_status(h, h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop")), 30));
	j = h_job(h, id);
	assert_state(j, 1, 10); /* still waiting: not due */
	assert_int_equal(h_int(j, "attempt"), 0);
	json_decref(j);
	j = act(h, id, "resume", NULL, 200);
	assert_int_equal(h_int(j, "state"), 0);
	json_decref(j);
	j = wait_status(h, id, 30);
	assert_int_equal(h_int(j, "attempt"), 1); /* claimed once: after the resume */
	json_decref(j);
	h_stop(h);
}

static void test_cancel_postponed(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t id = submit_later(h, "samples.noop", NULL, HOUR_MS);
	json_t *j = act(h, id, "cancel", NULL, 200);
	assert_state(j, 3, 32);
	json_decref(j);
	j = h_job(h, id);
	assert_state(j, 3, 32);
	assert_true(json_is_null(json_object_get(j, "started_on"))); /* it never ran */
	json_decref(j);
	h_stop(h);
}

static void test_postpone_refused_when_suspended(void **state)
{
	struct harness *h = *state;
	char t[H_TIME_LEN];

	h_register_samples(h);
	/* a job postponed by 1 h is Suspended; postpone it again (allowed from Ready or Locked
	 * only: 409 from Suspended), resume it (Ready), then it runs */
	int64_t id = submit_later(h, "samples.noop", NULL, HOUR_MS);
	json_t *a = act(h, id, "postpone", json_pack("{s:s}", "until", h_time(t, HOUR_MS)), 409);
	assert_string_equal(h_error_code(a), "conflict");
	json_decref(a);
	json_decref(act(h, id, "resume", NULL, 200));
	json_decref(wait_status(h, id, 30));
	h_stop(h);
}

/* The outcome of the last run in job j's attempt history */
static const char *last_outcome(json_t *j)
{
	json_t *a = json_object_get(j, "attempts");

	if (!json_array_size(a))
		fail_msg("job %lld has no attempts", (long long)h_int(j, "id"));
	return h_str(json_array_get(a, json_array_size(a) - 1), "outcome");
}

static void test_pause_and_postpone_running(void **state)
{
	struct harness *h = *state;
	char t[H_TIME_LEN];

	h_register_samples(h);
	int64_t id = submit_type(h, "samples.sleep", json_pack("{s:i}", "ms", 20000));
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	json_decref(act(h, id, "pause", NULL, 200));
	json_t *j = h_wait_state(h, id, 1, H_WAIT_TIMEOUT_MS);
	assert_state(j, 1, 10);
	assert_int_equal(h_int(j, "retry_count"), 0); /* a pause is not a retry */
	json_decref(j);
	j = h_job(h, id);
	assert_string_equal(last_outcome(j), "interrupted");
	json_decref(j);
	json_decref(act(h, id, "resume", NULL, 200));
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	json_decref(act(h, id, "postpone", json_pack("{s:s}", "until", h_time(t, HOUR_MS)), 200));
	j = h_wait_state(h, id, 1, H_WAIT_TIMEOUT_MS);
	assert_state(j, 1, 10);
	assert_true(h_parse_time(json_object_get(j, "postpone_until")) > h_now_ms() + HOUR_MS / 2);
	json_decref(j);
	json_decref(act(h, id, "cancel", NULL, 200));
	json_decref(wait_status(h, id, 32));
	h_stop(h);
}

static void test_cancel_running(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t id = submit_type(h, "samples.sleep", json_pack("{s:i}", "ms", 20000));
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	int64_t t0 = h_mono_ms();
	json_decref(act(h, id, "cancel", NULL, 200));
	json_decref(wait_status(h, id, 32));
	assert_true(h_mono_ms() - t0 < 10000); /* the plug-in was interrupted */
	json_t *j = h_job(h, id);
	assert_string_equal(last_outcome(j), "canceled");
	json_decref(j);
	h_stop(h);
}

static void test_retry_failed_runs_again(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t id = h_submit(h, json_pack("{s:s,s:{s:i},s:i}", "plugin_type", "samples.flaky",
					   "data", "fail_times", 1, "max_retries", 0));
	json_t *j = wait_status(h, id, 31);
	assert_int_equal(h_int(j, "attempt"), 1);
	json_decref(j);
	j = act(h, id, "retry", NULL, 200);
	assert_int_equal(h_int(j, "retry_count"), 0);
	assert_int_not_equal(h_int(j, "state"), 1);
	json_decref(j);
	/* the second attempt of flaky with fail_times 1 succeeds */
	j = wait_status(h, id, 30);
	assert_int_equal(h_int(j, "attempt"), 2);
	assert_true(json_is_null(json_object_get(j, "error_code")));
	json_decref(j);
	h_stop(h);
}

static void test_refused_actions(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t id = submit_type(h, "samples.noop", NULL);
	json_decref(wait_status(h, id, 30));
	static const char *const refused[] = {"resume", "cancel", "pause", "retry"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_t *a = act(h, id, refused[i], NULL, 409);
		assert_string_equal(h_error_code(a), "conflict");
		const char *msg = h_str(json_object_get(a, "error"), "message");
		if (!strstr(msg, "Completed"))
			fail_msg("%s: the refusal does not name the state: %s", refused[i], msg);
		json_decref(a);
	}
	json_decref(act(h, id, "frobnicate", NULL, 404));
	json_decref(act(h, 999999, "cancel", NULL, 404));
	h_stop(h);
}

static void test_delete(void **state)
{
	struct harness *h = *state;
	char path[64];

	h_register_samples(h);
	int64_t id = submit_type(h, "samples.noop", NULL);
	json_decref(wait_status(h, id, 30));
	h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id);
	assert_null(h_call(h, "DELETE", path, NULL, 204));
	json_t *a = h_get(h, path, 404);
	assert_string_equal(h_error_code(a), "not_found");
	json_decref(a);
	json_decref(h_call(h, "DELETE", path, NULL, 404));
	assert_int_equal(h_count(h, -1), 0);
	h_stop(h);
}

/* SPEC 1: ids are never reused, after deleting the newest job, nor after a restart */
static void test_ids_never_reused(void **state)
{
	struct harness *h = *state;
	char path[64];

	h_register_samples(h);
	submit_type(h, "samples.noop", NULL);
	int64_t newest = submit_type(h, "samples.noop", NULL);
	json_decref(wait_status(h, newest, 30));
	h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)newest);
	assert_null(h_call(h, "DELETE", path, NULL, 204));
	int64_t next = submit_type(h, "samples.noop", NULL);
	assert_true(next > newest);
	json_decref(wait_status(h, next, 30));
	h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)next);
	assert_null(h_call(h, "DELETE", path, NULL, 204));
	h_stop(h);
	h_restart(h);
	assert_true(submit_type(h, "samples.noop", NULL) > next);
	h_stop(h);
}

/* A refused raise_event leaves its reason in the trace (the plug-in's own -1 says nothing) */
static void test_raise_event_refusal_is_traced(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t bad = submit_type(h, "samples.raise", json_pack("{s:s}", "event", "{not json"));
	int64_t odd = submit_type(h, "samples.raise", json_pack("{s:{s:s}}", "event", "x", "y"));
	json_t *j = wait_status(h, bad, 31);
	if (!strstr(h_str(j, "trace"), "raise_event refused: the event is not valid JSON"))
		fail_msg("no reason in the trace: %s", h_str(j, "trace"));
	json_decref(j);
	j = wait_status(h, odd, 31);
	if (!strstr(h_str(j, "trace"), "raise_event refused: the event must be a JSON object"))
		fail_msg("no reason in the trace: %s", h_str(j, "trace"));
	json_decref(j);
	h_stop(h);
}

/* SPEC 1: a job keeps a bounded history of its runs (the trace of each, not only the last),
 * in its own answer and asyncctl job show, not in listings */
static void test_attempt_history(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;
	char id_text[32];

	h_register_samples(h);
	fast_retries(h);
	int64_t id =
	    h_submit(h, json_pack("{s:s,s:{s:i,s:i},s:i}", "plugin_type", "samples.flaky", "data",
				  "fail_times", 11, "delay_ms", 10, "max_retries", 11));
	json_t *j = wait_status(h, id, 30);
	json_t *a = json_object_get(j, "attempts");
	assert_int_equal(json_array_size(a), 10);
	assert_int_equal(h_int(json_array_get(a, 0), "attempt"), 3);
	json_t *first = json_array_get(a, 0), *last = json_array_get(a, 9);
	assert_string_equal(h_str(first, "outcome"), "transient");
	assert_non_null(strstr(h_str(first, "message"), "attempt 3"));
	assert_non_null(h_str(first, "error_code"));
	assert_true(h_parse_time(json_object_get(first, "started_on")) > 0);
	assert_true(h_parse_time(json_object_get(first, "ended_on")) > 0);
	assert_non_null(h_str(first, "host_id"));
	assert_int_equal(h_int(last, "attempt"), 12);
	assert_string_equal(h_str(last, "outcome"), "succeeded");
	json_decref(j);
	json_t *list = h_get(h, "/api/v1/jobs", 200);
	assert_null(json_object_get(json_array_get(json_object_get(list, "jobs"), 0), "attempts"));
	json_decref(list);
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	h_ctl(h, &c, "job", "show", id_text, NULL);
	assert_int_equal(c.status, 0);
	if (!strstr(c.out, "attempts:") || !strstr(c.out, "attempt 12 succeeded") ||
	    !strstr(c.out, "attempt 11 transient"))
		fail_msg("asyncctl job show does not list the attempts: %s", c.out);
	h_cmd_done(&c);
	h_stop(h);
}

static json_t *keyed_job(const char *key)
{
	return json_pack("{s:s,s:s}", "plugin_type", "samples.noop", "idempotency_key", key);
}

static void test_idempotency_key(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	json_t *a = h_call(h, "POST", "/api/v1/jobs", keyed_job("order-7"), 201);
	json_t *b = h_call(h, "POST", "/api/v1/jobs", keyed_job("order-7"), 200);
	assert_int_equal(h_int(a, "id"), h_int(b, "id"));
	assert_true(json_is_true(json_object_get(b, "existing")));
	json_t *c = h_call(h, "POST", "/api/v1/jobs", keyed_job("order-8"), 201);
	assert_int_not_equal(h_int(c, "id"), h_int(a, "id"));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	assert_int_equal(h_count(h, -1), 2);
	h_stop(h);
}

/* POST a job with key, wanting want; returns the answer */
static json_t *post_keyed(struct harness *h, json_t *spec, const char *key, long want)
{
	json_object_set_new(spec, "idempotency_key", json_string(key));
	return h_call(h, "POST", "/api/v1/jobs", spec, want);
}

static void assert_key_conflict(json_t *a, int64_t id)
{
	char want[32];
	json_t *err = json_object_get(a, "error");

	assert_string_equal(h_error_code(a), "conflict");
	assert_int_equal(h_int(err, "existing_id"), id);
	snprintf(want, sizeof(want), "job %lld", (long long)id);
	if (!strstr(h_str(err, "message"), want))
		fail_msg("the conflict does not name %s: %s", want, h_str(err, "message"));
	json_decref(a);
}

/* SPEC 1: a key reused with other content is a 409 naming the job; the same content (data
 * compared as JSON: member order does not count) is the existing job */
static void test_idempotency_key_other_content(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	json_t *a = post_keyed(
	    h,
	    json_pack("{s:s,s:{s:i,s:s}}", "plugin_type", "samples.echo", "data", "n", 1, "s", "x"),
	    "k1", 201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	json_t *b = post_keyed(
	    h,
	    json_pack("{s:s,s:{s:s,s:i}}", "plugin_type", "samples.echo", "data", "s", "x", "n", 1),
	    "k1", 200);
	assert_int_equal(h_int(b, "id"), id);
	assert_true(json_is_true(json_object_get(b, "existing")));
	json_decref(b);
	assert_key_conflict(post_keyed(h,
				       json_pack("{s:s,s:{s:i,s:s}}", "plugin_type", "samples.echo",
						 "data", "n", 2, "s", "x"),
				       "k1", 409),
			    id);
	assert_key_conflict(post_keyed(h,
				       json_pack("{s:s,s:{s:i,s:s}}", "plugin_type", "samples.noop",
						 "data", "n", 1, "s", "x"),
				       "k1", 409),
			    id);
	assert_key_conflict(
	    post_keyed(h,
		       json_pack("{s:s,s:{s:i,s:s},s:i}", "plugin_type", "samples.echo", "data",
				 "n", 1, "s", "x", "priority", 1),
		       "k1", 409),
	    id);
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	assert_int_equal(h_count(h, -1), 1);
	h_stop(h);
}

static void test_dependency_token_serializes(void **state)
{
	struct harness *h = *state;
	int64_t ids[CHAIN_JOBS], prev_end = 0;

	h_register_samples(h);
	for (int i = 0; i < CHAIN_JOBS; i++)
		ids[i] = h_submit(h, json_pack("{s:s,s:{s:i},s:s}", "plugin_type", "samples.sleep",
					       "data", "ms", 50, "dependency_token", "account-42"));
	for (int i = 0; i < CHAIN_JOBS; i++) {
		json_t *j = wait_status(h, ids[i], 30);
		int64_t start = h_parse_time(json_object_get(j, "started_on"));
		int64_t end = h_parse_time(json_object_get(j, "completed_on"));
		assert_string_equal(h_str(j, "dependency_token"), "account-42");
		if (start < prev_end)
			fail_msg("job %lld started %lld ms before its predecessor ended",
				 (long long)ids[i], (long long)(prev_end - start));
		if (end < start + 49) /* times are cut to whole ms */
			fail_msg("job %lld ran %lld ms (%s to %s); it sleeps 50 ms",
				 (long long)ids[i], (long long)(end - start),
				 h_str(j, "started_on"), h_str(j, "completed_on"));
		prev_end = end;
		json_decref(j);
	}
	h_stop(h);
}

/* GET path; checks that it lists n jobs, newest first, and returns its next_cursor (or ""). */
static void list_page(struct harness *h, const char *path, size_t n, char *ret_cursor)
{
	json_t *a = h_get(h, path, 200), *j;
	json_t *jobs = json_object_get(a, "jobs");
	int64_t prev = INT64_MAX;
	size_t i;

	if (json_array_size(jobs) != n)
		fail_msg("GET %s listed %zu jobs, not %zu", path, json_array_size(jobs), n);
	json_array_foreach(jobs, i, j)
	{
		assert_true(h_int(j, "id") < prev);
		prev = h_int(j, "id");
	}
	const char *next = h_str(a, "next_cursor");
	snprintf(ret_cursor, 32, "%s", next ? next : "");
	json_decref(a);
}

static void test_list_filters_and_paging(void **state)
{
	struct harness *h = *state;
	char path[128], cursor[32];

	h_register_samples(h);
	for (int i = 0; i < 3; i++)
		submit_type(h, "samples.noop", NULL);
	for (int i = 0; i < 2; i++)
		submit_type(h, "samples.fail", NULL);
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	list_page(h, "/api/v1/jobs?status=31", 2, cursor);
	list_page(h, "/api/v1/jobs?plugin_type=samples.noop", 3, cursor);
	list_page(h, "/api/v1/jobs?state=3&status=30", 3, cursor);
	list_page(h, "/api/v1/jobs?state=0", 0, cursor);
	/* (state=3: without the maintenance jobs every server has, docs/system-jobs.md) */
	list_page(h, "/api/v1/jobs?state=3&limit=2", 2, cursor);
	assert_true(cursor[0]);
	list_page(h, h_path(path, sizeof(path), "/api/v1/jobs?state=3&limit=2&cursor=%s", cursor),
		  2, cursor);
	assert_true(cursor[0]);
	list_page(h, h_path(path, sizeof(path), "/api/v1/jobs?state=3&limit=2&cursor=%s", cursor),
		  1, cursor);
	assert_string_equal(cursor, "");
	h_stop(h);
}

/* Priority: with one job at a time, jobs that become due together run by priority, then
 * sequence. The server is restarted so that async.max_concurrent_jobs applies. */
static void test_priority_orders_due_jobs(void **state)
{
	struct harness *h = *state;
	char t[H_TIME_LEN];
	int64_t ids[6];

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "async.max_concurrent_jobs", 1));
	h_stop(h);
	h_restart(h);
	h_time(t, 1500);
	for (int i = 0; i < 6; i++)
		ids[i] = h_submit(h, json_pack("{s:s,s:{s:i},s:i,s:s}", "plugin_type",
					       "samples.sleep", "data", "ms", 20, "priority",
					       i < 3 ? 9 : 1, "postpone_until", t));
	int64_t last_urgent = 0, first_lazy = INT64_MAX;
	for (int i = 0; i < 6; i++) {
		json_t *j = wait_status(h, ids[i], 30);
		int64_t start = h_parse_time(json_object_get(j, "started_on"));
		if (i < 3 && start < first_lazy)
			first_lazy = start;
		if (i >= 3 && start > last_urgent)
			last_urgent = start;
		json_decref(j);
	}
	if (last_urgent > first_lazy)
		fail_msg("a priority-9 job started %lld ms before the last priority-1 job",
			 (long long)(last_urgent - first_lazy));
	h_stop(h);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A type whose create() hangs (in-process) must not hold up the runs of other libraries: the
 * library cache once held its one lock across create() and dlopen(). */
static void test_slow_create_does_not_block_other_runs(void **state)
{
	struct harness *h = *state;
	char gate[300], inside[320];

	h_register_samples(h);
	json_decref(h_upload(h, "tests/plugins/gate_create.so", "none", 201));
	snprintf(gate, sizeof(gate), "%s/gate", h->dir);
	snprintf(inside, sizeof(inside), "%s.in", gate);
	h_add_step(h, json_pack("{s:s,s:s,s:s,s:s}", "plugin_type", "gate.held", "message", "Hold",
				"entity", "account", "configuration", gate));
	json_t *held = h_raise(h, json_pack("{s:s,s:s,s:s}", "message", "Hold", "entity", "account",
					    "entity_id", "1"));
	int64_t held_id = h_int(json_array_get(held, 0), "id");
	json_decref(held);
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (!file_exists(inside) && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	assert_true(file_exists(inside)); /* create() is running and waits for the gate */
	int64_t noop = h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop"));
	json_t *j = h_wait_state(h, noop, 3, 10000);
	assert_int_equal(h_int(j, "status"), 30);
	json_decref(j);
	FILE *f = fopen(gate, "w");
	assert_non_null(f);
	fclose(f);
	j = h_wait_job(h, held_id, H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_flaky_retried_then_succeeds, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_fail_is_permanent, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_flaky_exhausts_retries, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_postponed_then_resumed, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_postponed, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_postpone_refused_when_suspended, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_pause_and_postpone_running, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_running, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_retry_failed_runs_again, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_actions, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_delete, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_idempotency_key, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_idempotency_key_other_content, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_ids_never_reused, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_attempt_history, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_raise_event_refusal_is_traced, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_dependency_token_serializes, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_list_filters_and_paging, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_priority_orders_due_jobs, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_slow_create_does_not_block_other_runs, h_setup,
					    h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("jobs", tests, NULL, NULL);
}
