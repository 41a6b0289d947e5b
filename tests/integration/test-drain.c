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

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_waiting_drain_is_quiet, h_setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
