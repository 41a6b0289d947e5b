/* Unit tests of the job model: outcome -> next state, backoff, actions, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "asyncd/plugin.h"
#include "job/job.h"

static const struct retry_policy policy = {30000, 3600000};

static void success_completes(void **state)
{
	(void)state;
	struct job j = {.retry_count = 2, .max_retries = 10};
	struct job_outcome o = {.result = ASYNCD_SUCCESS, .delay_ms = -1};
	struct job_next n;
	job_next_state(&j, &o, &policy, 1000, 0, &n);
	assert_int_equal(n.state, JOB_COMPLETED);
	assert_int_equal(n.status, JOB_ST_SUCCEEDED);
	assert_false(n.delete_row);
	assert_null(n.error_code);
	j.auto_delete = true;
	job_next_state(&j, &o, &policy, 1000, 0, &n);
	assert_true(n.delete_row);
}

static void transient_retries_then_fails(void **state)
{
	(void)state;
	struct job j = {.retry_count = 0, .max_retries = 2};
	struct job_outcome o = {.result = ASYNCD_FAIL_TRANSIENT, .delay_ms = -1};
	struct job_next n;
	job_next_state(&j, &o, &policy, 1000, 0, &n);
	assert_int_equal(n.state, JOB_SUSPENDED);
	assert_int_equal(n.status, JOB_ST_WAITING);
	assert_int_equal(n.retry_count, 1);
	assert_true(n.postpone_until >= 1000 + 24000 && n.postpone_until <= 1000 + 36000);
	assert_string_equal(n.error_code, "plugin_transient");
	j.retry_count = 2;
	job_next_state(&j, &o, &policy, 1000, 0, &n);
	assert_int_equal(n.state, JOB_COMPLETED);
	assert_int_equal(n.status, JOB_ST_FAILED);
}

static void transient_delay_is_honoured(void **state)
{
	(void)state;
	struct job j = {.max_retries = 5};
	struct job_outcome o = {
	    .result = ASYNCD_FAIL_TRANSIENT, .delay_ms = 250, .error_code = "timeout"};
	struct job_next n;
	job_next_state(&j, &o, &policy, 1000, 12345, &n);
	assert_int_equal(n.postpone_until, 1250);
	assert_string_equal(n.error_code, "timeout");
}

/* A plug-in's huge delay (INT64_MAX) is cut to 30 days: no signed overflow of now + delay. */
static void huge_delay_is_bounded(void **state)
{
	(void)state;
	struct job j = {.max_retries = 5};
	struct job_outcome o = {.result = ASYNCD_FAIL_TRANSIENT, .delay_ms = INT64_MAX};
	struct job_next n;
	int64_t now = 1800000000000;
	job_next_state(&j, &o, &policy, now, 1, &n);
	assert_int_equal(n.postpone_until, now + JOB_MAX_RETRY_DELAY_MS);
}

static void permanent_and_attention(void **state)
{
	(void)state;
	struct job j = {.max_retries = 5};
	struct job_outcome o = {.result = ASYNCD_FAIL_PERMANENT, .delay_ms = -1};
	struct job_next n;
	job_next_state(&j, &o, &policy, 1000, 0, &n);
	assert_int_equal(n.status, JOB_ST_FAILED);
	assert_string_equal(n.error_code, "plugin_failed");
	o.result = ASYNCD_NEEDS_ATTENTION;
	job_next_state(&j, &o, &policy, 1000, 0, &n);
	assert_int_equal(n.state, JOB_SUSPENDED);
	assert_int_equal(n.postpone_until, 0);
	assert_string_equal(n.error_code, "needs_attention");
	o.result = 77;
	job_next_state(&j, &o, &policy, 1000, 0, &n);
	assert_int_equal(n.status, JOB_ST_FAILED);
	assert_string_equal(n.error_code, "bad_result");
}

static void backoff_doubles_with_cap_and_jitter(void **state)
{
	(void)state;
	for (int r = 0; r < 12; r++) {
		int64_t base = 30000LL << r;
		if (base > 3600000)
			base = 3600000;
		for (uint64_t rnd = 0; rnd < 1000000; rnd += 99991) {
			int64_t d = job_backoff_ms(&policy, r, rnd);
			assert_true(d >= base * 4 / 5);
			assert_true(d <= base * 6 / 5 && d <= 3600000);
		}
	}
	struct retry_policy zero = {0, 3600000};
	assert_int_equal(job_backoff_ms(&zero, 3, 5), 0);
}

static void actions_by_state(void **state)
{
	(void)state;
	assert_true(job_action_allowed(JOB_ACT_CANCEL, JOB_READY));
	assert_true(job_action_allowed(JOB_ACT_CANCEL, JOB_LOCKED));
	assert_false(job_action_allowed(JOB_ACT_CANCEL, JOB_COMPLETED));
	assert_true(job_action_allowed(JOB_ACT_PAUSE, JOB_LOCKED));
	assert_false(job_action_allowed(JOB_ACT_PAUSE, JOB_READY));
	assert_true(job_action_allowed(JOB_ACT_RESUME, JOB_SUSPENDED));
	assert_false(job_action_allowed(JOB_ACT_RESUME, JOB_LOCKED));
	assert_true(job_action_allowed(JOB_ACT_RETRY, JOB_COMPLETED));
	assert_false(job_action_allowed(JOB_ACT_RETRY, JOB_READY));
	assert_true(job_action_allowed(JOB_ACT_POSTPONE, JOB_READY));
	assert_false(job_action_allowed(JOB_ACT_POSTPONE, JOB_SUSPENDED));
	assert_true(job_action_allowed(JOB_ACT_DELETE, JOB_LOCKED));
}

/* The user actions' transitions (SPEC §1) and their refusals, without a store. */
static void apply_actions(void **state)
{
	(void)state;
	bool interrupt;
	struct job j = {.state = JOB_READY, .status = JOB_ST_WAITING_FOR_RESOURCES};
	assert_true(job_apply_action(&j, JOB_ACT_CANCEL, 0, 50, &interrupt));
	assert_int_equal(j.state, JOB_COMPLETED);
	assert_int_equal(j.status, JOB_ST_CANCELED);
	assert_int_equal(j.completed_on, 50);
	assert_false(interrupt);
	assert_false(job_apply_action(&j, JOB_ACT_RETRY, 0, 60, &interrupt)); /* not Failed */
	job_done(&j);

	struct job l = {.state = JOB_LOCKED, .status = JOB_ST_IN_PROGRESS};
	assert_true(job_apply_action(&l, JOB_ACT_CANCEL, 0, 70, &interrupt));
	assert_int_equal(l.state, JOB_LOCKED);
	assert_int_equal(l.status, JOB_ST_CANCELING);
	assert_true(interrupt);
	/* the cancel stays: no pause or postpone while the run stops (409 naming Canceling) */
	assert_false(job_apply_action(&l, JOB_ACT_PAUSE, 0, 71, &interrupt));
	assert_false(job_apply_action(&l, JOB_ACT_POSTPONE, 9000, 72, &interrupt));
	assert_int_equal(l.status, JOB_ST_CANCELING);
	assert_int_equal(l.postpone_until, 0);
	assert_true(job_apply_action(&l, JOB_ACT_CANCEL, 0, 73, &interrupt));
	assert_int_equal(l.status, JOB_ST_CANCELING);
	job_done(&l);

	struct job p = {.state = JOB_READY};
	assert_true(job_apply_action(&p, JOB_ACT_POSTPONE, 9000, 80, &interrupt));
	assert_int_equal(p.state, JOB_SUSPENDED);
	assert_int_equal(p.postpone_until, 9000);
	assert_false(job_apply_action(&p, JOB_ACT_PAUSE, 0, 90, &interrupt));
	assert_true(job_apply_action(&p, JOB_ACT_RESUME, 0, 95, &interrupt));
	assert_int_equal(p.state, JOB_READY);
	assert_int_equal(p.postpone_until, 0);

	struct job f = {.state = JOB_COMPLETED, .status = JOB_ST_FAILED, .retry_count = 4};
	assert_true(job_apply_action(&f, JOB_ACT_RETRY, 0, 99, &interrupt));
	assert_int_equal(f.state, JOB_READY);
	assert_int_equal(f.retry_count, 0);
	job_done(&f);
}

static void status_names_and_states(void **state)
{
	(void)state;
	static const int pairs[][2] = {{0, 0},	{10, 1}, {20, 2}, {21, 2},
				       {22, 2}, {30, 3}, {31, 3}, {32, 3}};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		assert_int_equal(job_status_state(pairs[i][0]), pairs[i][1]);
	assert_int_equal(job_status_state(5), -1);
	assert_string_equal(job_status_name(0), "WaitingForResources");
	assert_string_equal(job_status_name(20), "InProgress");
	assert_string_equal(job_state_name(2), "Locked");
	assert_false(job_status_valid(33));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(success_completes),
	    cmocka_unit_test(transient_retries_then_fails),
	    cmocka_unit_test(transient_delay_is_honoured),
	    cmocka_unit_test(huge_delay_is_bounded),
	    cmocka_unit_test(permanent_and_attention),
	    cmocka_unit_test(backoff_doubles_with_cap_and_jitter),
	    cmocka_unit_test(actions_by_state),
	    cmocka_unit_test(apply_actions),
	    cmocka_unit_test(status_names_and_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
