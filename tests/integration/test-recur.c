/* Integration tests of recurring jobs (issue 10) on the real asyncd: a FREQ=MINUTELY job runs at
 * its occurrences and keeps one history entry per run, whatever their outcome; missed occurrences
 * run once; COUNT ends it; DST-aware next occurrences through the API and asyncctl; bad patterns,
 * zones and combinations are 400 naming the part. Time passes through the test-only clock hook
 * (POST /api/v1/debug/clock, enabled by ASYNCD_TEST_CLOCK=1): no test waits for a minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define MINUTE_MS 60000

static int64_t submit_recurring(struct harness *h, const char *type, const char *pattern)
{
	return h_submit(h, json_pack("{s:s,s:{},s:s}", "plugin_type", type, "data",
				     "recurrence_pattern", pattern));
}

/* Move asyncd's wall clock forward by ms. */
static void shift_clock(struct harness *h, int64_t ms)
{
	char path[96];
	json_decref(
	    h_call(h, "POST",
		   h_path(path, sizeof(path), "/api/v1/debug/clock?shift_ms=%lld", (long long)ms),
		   NULL, 200));
}

/* Poll job id until its attempt is at least attempt and it waits again (Suspended) or has ended;
 * returns it (the caller owns it). */
static json_t *wait_runs(struct harness *h, int64_t id, int64_t attempt)
{
	int64_t deadline = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	for (;;) {
		json_t *j = h_job(h, id);
		int64_t state = h_int(j, "state");
		if (h_int(j, "attempt") >= attempt && (state == 1 || state == 3))
			return j;
		if (h_mono_ms() > deadline)
			fail_msg("job %lld: attempt %lld state %lld, waited for run %lld",
				 (long long)id, (long long)h_int(j, "attempt"), (long long)state,
				 (long long)attempt);
		json_decref(j);
		h_sleep_ms(H_POLL_MS);
	}
}

static void expect_outcomes(json_t *j, const char *const *want, size_t n)
{
	json_t *a = json_object_get(j, "attempts");
	if (json_array_size(a) != n)
		fail_msg("job %lld has %zu history entries, not %zu", (long long)h_int(j, "id"),
			 json_array_size(a), n);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(a, i);
		assert_int_equal(h_int(e, "attempt"), (int64_t)i + 1);
		if (!h_str(e, "outcome") || strcmp(h_str(e, "outcome"), want[i]) != 0)
			fail_msg("run %zu: outcome %s, not %s", i + 1, h_str(e, "outcome"),
				 want[i]);
	}
}

/* FREQ=MINUTELY: runs at once (its start is the submission), then waits Suspended until the next
 * minute; each time the clock passes an occurrence it runs again; every run is in the history. */
static void minutely_runs_at_occurrences(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	int64_t id = submit_recurring(h, "samples.noop", "FREQ=MINUTELY");
	json_t *j = wait_runs(h, id, 1);
	int64_t first_due = h_parse_time(json_object_get(j, "postpone_until"));
	int64_t start = h_parse_time(json_object_get(j, "recurrence_start_time"));
	assert_int_equal(h_int(j, "state"), 1);
	assert_int_equal(h_int(j, "status"), 10);
	assert_true(first_due > start && (first_due - start) % MINUTE_MS < 1000);
	json_t *next = json_object_get(j, "next_occurrences");
	assert_int_equal(json_array_size(next), 5);
	assert_int_equal(h_parse_time(json_array_get(next, 0)), first_due);
	assert_int_equal(h_parse_time(json_array_get(next, 1)), first_due + MINUTE_MS);
	assert_string_equal(h_str(j, "recurrence_timezone"), "UTC");
	json_decref(j);
	for (int run = 2; run <= 3; run++) {
		shift_clock(h, MINUTE_MS);
		j = wait_runs(h, id, run);
		assert_int_equal(h_int(j, "state"), 1);
		assert_int_equal(h_parse_time(json_object_get(j, "postpone_until")),
				 first_due + (run - 1) * MINUTE_MS);
		json_decref(j);
	}
	j = h_job(h, id);
	static const char *const want[] = {"succeeded", "succeeded", "succeeded"};
	expect_outcomes(j, want, 3);
	assert_int_equal(h_int(j, "attempt"), 3);
	json_decref(j);
}

/* A run that fails still waits for the next occurrence; its failure is in the history and on the
 * row; ten minutes without a run give one run, not ten. */
static void failures_recur_and_missed_run_once(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	int64_t id = submit_recurring(h, "samples.fail", "FREQ=MINUTELY");
	json_t *j = wait_runs(h, id, 1);
	assert_int_equal(h_int(j, "state"), 1);
	assert_string_equal(h_str(j, "error_code"), "plugin_failed");
	int64_t due = h_parse_time(json_object_get(j, "postpone_until"));
	json_decref(j);
	shift_clock(h, 10 * MINUTE_MS + 500);
	j = wait_runs(h, id, 2);
	int64_t next = h_parse_time(json_object_get(j, "postpone_until"));
	/* the next occurrence is after the shifted now: the nine missed ones in between never run
	 */
	assert_true(next >= due + 10 * MINUTE_MS);
	assert_int_equal(h_int(j, "attempt"), 2);
	static const char *const want[] = {"failed", "failed"};
	expect_outcomes(j, want, 2);
	json_decref(j);
}

/* COUNT=2: two runs, then the job ends with its last run's outcome. */
static void count_ends_the_job(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	int64_t id = submit_recurring(h, "samples.noop", "FREQ=MINUTELY;COUNT=2");
	json_decref(wait_runs(h, id, 1));
	shift_clock(h, MINUTE_MS);
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "attempt"), 2);
	assert_int_equal(json_array_size(json_object_get(j, "next_occurrences")), 0);
	json_decref(j);
}

/* 02:00 Europe/Berlin stays 02:00 across the change of 2027-03-28 (no 02:00 that night: 03:00
 * summer time), through the API and asyncctl; cancel ends a recurring job for good. */
static void berlin_next_occurrences(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;
	h_register_samples(h);
	h_ctl(h, &c, "job", "submit", "samples.noop", "--recurrence",
	      "FREQ=DAILY;BYHOUR=2;BYMINUTE=0", "--recurrence-start", "2027-03-27T00:00:00Z",
	      "--timezone", "Europe/Berlin", NULL);
	if (c.status != 0)
		fail_msg("asyncctl job submit: %d %s", c.status, c.err);
	int64_t id = strtoll(c.out, NULL, 10);
	h_cmd_done(&c);
	json_t *j = h_job(h, id);
	static const char *const want[] = {"2027-03-27T01:00:00.000Z", "2027-03-28T01:00:00.000Z",
					   "2027-03-29T00:00:00.000Z", "2027-03-30T00:00:00.000Z",
					   "2027-03-31T00:00:00.000Z"};
	json_t *next = json_object_get(j, "next_occurrences");
	assert_int_equal(json_array_size(next), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_array_get(next, i)), want[i]);
	assert_int_equal(h_int(j, "state"), 1);
	assert_string_equal(h_str(j, "recurrence_timezone"), "Europe/Berlin");
	json_decref(j);
	char ids[32];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	h_ctl(h, &c, "job", "show", ids, NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.out, "next occurrences:\n  2027-03-27T01:00:00", "job show");
	h_cmd_done(&c);
	char path[64];
	json_decref(h_call(h, "POST",
			   h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id),
			   NULL, 200));
	j = h_job(h, id);
	assert_int_equal(h_int(j, "status"), 32);
	json_decref(j);
}

struct refusal {
	const char *field, *value;
	const char *names; /* the message names this */
};

/* Bad patterns, zones and combinations: 400 naming the part; nothing stored. */
static void bad_recurrence_is_400(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	static const struct refusal cases[] = {
	    {"recurrence_pattern", "FREQ=DAILY;BYHOUR=25", "BYHOUR item '25'"},
	    {"recurrence_pattern", "FREQ=YEARLY", "FREQ"},
	    {"recurrence_pattern", "FREQ=WEEKLY;BYDAY=2MO", "needs FREQ=MONTHLY"},
	    {"recurrence_pattern", "FREQ=DAILY;COUNT=1;UNTIL=20300101", "COUNT and UNTIL"},
	    {"recurrence_pattern", "FREQ=DAILY;UNTIL=20200101", "has no occurrence"},
	    {"recurrence_timezone", "Mars/Olympus_Mons", "recurrence_timezone"},
	    {"recurrence_start_time", "yesterday", "recurrence_start_time"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *body = json_pack("{s:s,s:s}", "plugin_type", "samples.noop", cases[i].field,
					 cases[i].value);
		if (strcmp(cases[i].field, "recurrence_pattern") != 0)
			json_object_set_new(body, "recurrence_pattern", json_string("FREQ=DAILY"));
		json_t *a = h_call(h, "POST", "/api/v1/jobs", body, 400);
		const char *msg =
		    json_string_value(json_object_get(json_object_get(a, "error"), "message"));
		h_expect_text(msg, cases[i].names, cases[i].value);
		json_decref(a);
	}
	json_decref(h_call(h, "POST", "/api/v1/jobs",
			   json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
				     "recurrence_timezone", "Europe/Berlin"),
			   400));
	assert_int_equal(h_count(h, -1), 0);
	struct h_cmd c;
	h_ctl(h, &c, "job", "submit", "samples.noop", "--recurrence", "FREQ=DAILY;BYMINUTE=99",
	      NULL);
	assert_int_equal(c.status, 1);
	h_expect_text(c.err, "BYMINUTE", "asyncctl's stderr");
	h_cmd_done(&c);
}

int main(void)
{
	setenv("ASYNCD_TEST_CLOCK", "1", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(minutely_runs_at_occurrences, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(failures_recur_and_missed_run_once, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(count_ends_the_job, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(berlin_next_occurrences, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(bad_recurrence_is_400, h_setup, h_teardown),
	};
	h_filter_from_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
