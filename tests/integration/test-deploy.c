/* Deploying assemblies (issue 9): what an upload does next to a drain, an isolation, a lower
 * build, a second major, and how a refused upload is worded. Each test starts from an empty
 * server; every wait polls a condition, bounded in time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define HOUR_MS (3600 * 1000)
#define V100 "tests/plugins/versioned-1.0.0.0.so"
#define V101 "tests/plugins/versioned-1.0.1.0.so"
#define SAMPLES1 "samples version 1.0.0.0"

static const char *error_message(json_t *a)
{
	return h_str(json_object_get(a, "error"), "message");
}

static json_t *get_assembly(struct harness *h, int64_t id)
{
	char p[64];
	return h_get(h, h_path(p, sizeof(p), "/api/v1/assemblies/%lld", (long long)id), 200);
}

static int64_t submit_later(struct harness *h, const char *type)
{
	char t[H_TIME_LEN];
	return h_submit(
	    h, json_pack("{s:s,s:s}", "plugin_type", type, "postpone_until", h_time(t, HOUR_MS)));
}

static void drain(struct harness *h, int64_t id)
{
	char p[80];
	json_decref(h_call(
	    h, "DELETE", h_path(p, sizeof(p), "/api/v1/assemblies/%lld?mode=drain", (long long)id),
	    NULL, 202));
}

/* 1. A build uploaded while its assembly drains is refused, naming the drain and its ends. */
static void test_upgrade_refused_while_draining(void **state)
{
	struct harness *h = *state;
	json_t *a = h_upload_query(h, V100, "?isolation=none", 201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	submit_later(h, "versioned.slow");
	drain(h, id);
	a = h_upload_query(h, V101, "?isolation=none", 409);
	assert_string_equal(h_error_code(a), "conflict");
	h_expect_text(error_message(a), "draining", "refused upload");
	h_expect_text(error_message(a), "mode=cancel", "refused upload");
	json_decref(a);
	a = h_upload_query(h, V100, "?isolation=none", 409); /* the same bytes too */
	json_decref(a);
	a = get_assembly(h, id);
	assert_string_equal(h_str(a, "version"), "1.0.0.0");
	json_decref(a);
	h_stop(h);
}

/* 1b. A step for an assembly that drains is refused too (found by the model test: it was added,
 * and the drain then waited for ever on the new step). */
static void test_step_refused_while_draining(void **state)
{
	struct harness *h = *state;
	json_t *a = h_upload_query(h, V100, "?isolation=none", 201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	submit_later(h, "versioned.slow");
	drain(h, id);
	a = h_call(h, "POST", "/api/v1/steps",
		   json_pack("{s:s,s:s}", "plugin_type", "versioned.slow", "message", "Create"),
		   409);
	assert_string_equal(h_error_code(a), "conflict");
	h_expect_text(error_message(a), "draining", "refused step");
	h_expect_text(error_message(a), "mode=cancel", "refused step");
	json_decref(a);
	a = h_get(h, "/api/v1/steps", 200);
	assert_int_equal(json_array_size(json_object_get(a, "steps")), 0);
	json_decref(a);
	h_stop(h);
}

/* 2. An upgrade keeps the isolation; the same bytes naming another change it explicitly. */
static void test_isolation_kept_and_changed(void **state)
{
	struct harness *h = *state;
	json_t *a = h_upload_query(h, V100, "?isolation=none", 201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	a = h_upload_query(h, V101, "", 201);
	assert_string_equal(h_str(a, "outcome"), "upgraded");
	assert_string_equal(h_str(a, "isolation"), "none");
	json_decref(a);
	a = h_upload_query(h, V101, "", 200);
	assert_string_equal(h_str(a, "outcome"), "unchanged");
	json_decref(a);
	a = h_upload_query(h, V101, "?isolation=sandbox", 201);
	assert_string_equal(h_str(a, "outcome"), "isolation_changed");
	assert_string_equal(h_str(a, "isolation"), "sandbox");
	json_decref(a);
	char p[64];
	h_path(p, sizeof(p), "/api/v1/assemblies/%lld", (long long)id);
	a = h_call(h, "PATCH", p, json_pack("{s:s}", "isolation", "none"), 200);
	assert_string_equal(h_str(a, "isolation"), "none");
	json_decref(a);
	json_decref(h_call(h, "PATCH", p, json_pack("{s:s}", "isolation", "nowhere"), 400));
	json_decref(h_call(h, "PATCH", "/api/v1/assemblies/999999",
			   json_pack("{s:s}", "isolation", "none"), 404));
	a = h_get(h, "/api/v1/audit?limit=50", 200);
	char *text = json_dumps(a, 0);
	h_expect_text(text, "isolation_changed", "audit");
	h_expect_text(text, "assembly.patch", "audit");
	free(text);
	json_decref(a);
	h_stop(h);
}

/* 3. A lower build is refused unless allowed, then answered and audited as a downgrade. */
static void test_downgrade(void **state)
{
	struct harness *h = *state;
	json_decref(h_upload_query(h, V101, "?isolation=none", 201));
	json_t *a = h_upload_query(h, V100, "", 409);
	assert_string_equal(h_error_code(a), "conflict");
	h_expect_text(error_message(a), "1.0.0.0", "downgrade");
	h_expect_text(error_message(a), "1.0.1.0", "downgrade");
	h_expect_text(error_message(a), "allow_downgrade=true", "downgrade");
	json_decref(a);
	a = h_upload_query(h, V100, "?allow_downgrade=true", 201);
	assert_string_equal(h_str(a, "outcome"), "downgraded");
	assert_string_equal(h_str(a, "version"), "1.0.0.0");
	assert_string_equal(h_str(a, "isolation"), "none");
	json_decref(a);
	a = h_get(h, "/api/v1/audit?limit=50", 200);
	char *text = json_dumps(a, 0);
	h_expect_text(text, "downgraded from 1.0.1.0", "audit");
	free(text);
	json_decref(a);
	h_stop(h);
}

static json_t *wait_trace(struct harness *h, int64_t id, const char *want)
{
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	h_expect_text(h_str(j, "trace"), want, "trace");
	return j;
}

static json_t *bound_of(json_t *step_answer)
{
	json_t *a = json_object_get(step_answer, "assembly");
	if (!a)
		fail_msg("the step's answer names no assembly");
	return a;
}

/* 4. Two majors side by side: a name without a version skips a draining one; a version picks. */
static void test_two_majors(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	json_t *a = h_upload_query(h, "plugins/samples/samples-2.0.0.0.so", "?isolation=none", 201);
	int64_t v2 = h_int(a, "id");
	json_decref(a);
	submit_later(h, "samples.noop"); /* binds the newest, 2.0 */
	drain(h, v2);
	json_decref(wait_trace(h, h_submit(h, json_pack("{s:s}", "plugin_type", "samples.echo")),
			       SAMPLES1));
	json_decref(wait_trace(h, h_submit(h, json_pack("{s:s}", "plugin_type", "samples@1.echo")),
			       SAMPLES1));
	json_decref(wait_trace(
	    h, h_submit(h, json_pack("{s:s}", "plugin_type", "samples@1.0.echo")), SAMPLES1));
	json_decref(h_call(h, "POST", "/api/v1/jobs",
			   json_pack("{s:s}", "plugin_type", "samples@3.echo"), 404));
	json_decref(h_call(h, "POST", "/api/v1/jobs",
			   json_pack("{s:s}", "plugin_type", "samples@2.echo"), 409));
	a = h_call(h, "POST", "/api/v1/steps",
		   json_pack("{s:s,s:s}", "plugin_type", "samples@1.echo", "message", "Create"),
		   201);
	assert_string_equal(h_str(bound_of(a), "version"), "1.0.0.0");
	assert_string_equal(h_str(bound_of(a), "name"), "samples");
	json_decref(a);
	struct h_cmd c;
	h_ctl(h, &c, "step", "add", "--type", "samples@1.0.echo", "--message", "Update", NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.err, "bound to assembly samples 1.0.0.0", "asyncctl step add");
	h_cmd_done(&c);
	h_stop(h);
}

static json_t *job_when(struct harness *h, int64_t id, int state, const char *status_name)
{
	for (int64_t end = h_mono_ms() + 60000; h_mono_ms() < end; h_sleep_ms(20)) {
		json_t *j = h_job(h, id);
		if (h_int(j, "state") == state &&
		    (!status_name || !strcmp(h_str(j, "status_name"), status_name)))
			return j;
		json_decref(j);
	}
	json_t *j = h_job(h, id);
	fail_msg("job %lld never reached state %d %s: it is %lld %s", (long long)id, state,
		 status_name ? status_name : "", (long long)h_int(j, "state"),
		 h_str(j, "status_name"));
	return NULL;
}

/* 3. A job claimed and handed to the sandbox, but still waiting for the one worker when its
 * assembly is upgraded, starts on the new build: only runs that started finish on the old one. */
static void test_waiting_job_runs_newest_build(void **state)
{
	struct harness *h = *state;
	char p[96];
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 1));
	for (int64_t end = h_mono_ms() + 60000;; h_sleep_ms(20)) { /* one worker process left */
		json_t *sb = h_service(h, "sandbox");
		size_t n = json_array_size(json_object_get(sb, "worker_processes"));
		json_decref(sb);
		if (n == 1)
			break;
		if (h_mono_ms() > end)
			fail_msg("the sandbox kept %zu worker processes", n);
	}
	json_decref(h_upload_query(h, V100, "?isolation=sandbox", 201));
	int64_t head = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "versioned.slow", "data", "ms", 120000));
	json_decref(job_when(h, head, 2, "InProgress"));
	int64_t behind = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "versioned.slow", "data", "ms", 0));
	json_t *j = job_when(h, behind, 2, NULL); /* claimed, waiting for the worker */
	assert_true(json_is_null(json_object_get(j, "started_on")));
	assert_string_equal(h_str(j, "status_name"), "WaitingForResources");
	json_decref(j);
	json_t *a = h_upload_query(h, V101, "", 201);
	assert_string_equal(h_str(a, "outcome"), "upgraded");
	json_decref(a);
	/* had it been queued in the busy worker behind the running job, the upgrade recalls it;
	 * either way it waits in the supervisor's queue for the worker to be free */
	for (int64_t end = h_mono_ms() + 60000;; h_sleep_ms(20)) {
		json_t *sb = h_service(h, "sandbox");
		json_int_t pending = json_integer_value(json_object_get(sb, "jobs_pending"));
		json_decref(sb);
		if (pending == 1)
			break;
		if (h_mono_ms() > end)
			fail_msg("the waiting job never got back to the supervisor's queue");
	}
	json_decref(h_call(h, "POST",
			   h_path(p, sizeof(p), "/api/v1/jobs/%lld/cancel", (long long)head), NULL,
			   200));
	j = h_wait_job(h, behind, 60000);
	assert_string_equal(h_str(j, "status_name"), "Succeeded");
	h_expect_text(h_str(j, "trace"), "versioned version 1.0.1.0", "the job that waited");
	assert_int_equal(h_int(j, "retry_count"), 0); /* waiting again was no failed attempt */
	json_decref(j);
	h_stop(h);
}

/* 5. A refused upload is named as uploaded, in the docs' words, never as the cache's copy. */
static void test_refusal_names_the_upload(void **state)
{
	struct harness *h = *state;
	json_t *a = h_upload_query(h, "tests/plugins/not_a_library.so", "", 422);
	assert_string_equal(h_error_code(a), "invalid_assembly");
	h_expect_text(error_message(a), "the uploaded library", "not a library");
	h_expect_text(error_message(a), "invalid ELF header", "not a library");
	h_expect_no_text(error_message(a), "cache/assemblies", "not a library");
	json_decref(a);
	a = h_upload_query(h, "tests/plugins/no_entry.so", "", 422);
	h_expect_text(error_message(a), "the uploaded library", "no entry");
	h_expect_no_text(error_message(a), "cache/assemblies", "no entry");
	json_decref(a);
	h_stop(h);
}

/* asyncctl says what an upload did, and changes an isolation. */
static void test_ctl_outcomes(void **state)
{
	struct harness *h = *state;
	char path[1200];
	struct h_cmd c;
	snprintf(path, sizeof(path), "%s/%s", h->build, V100);
	h_ctl(h, &c, "assembly", "register", path, "--isolation", "none", NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.out, "registered", "first register");
	h_cmd_done(&c);
	h_ctl(h, &c, "assembly", "register", path, NULL);
	h_expect_text(c.out, "unchanged", "second register");
	h_cmd_done(&c);
	snprintf(path, sizeof(path), "%s/%s", h->build, V101);
	h_ctl(h, &c, "assembly", "register", path, NULL);
	h_expect_text(c.out, "upgraded", "upgrade");
	h_cmd_done(&c);
	json_t *list = h_get(h, "/api/v1/assemblies", 200);
	char id[32];
	snprintf(id, sizeof(id), "%lld",
		 (long long)h_int(json_array_get(json_object_get(list, "assemblies"), 0), "id"));
	json_decref(list);
	h_ctl(h, &c, "assembly", "set", id, "--isolation", "sandbox", NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.out, "sandbox", "set");
	h_cmd_done(&c);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_upgrade_refused_while_draining, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_step_refused_while_draining, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_isolation_kept_and_changed, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_downgrade, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_waiting_job_runs_newest_build, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_waiting_job_runs_newest_build,
					    h_setup_unprivileged, h_teardown),
	    cmocka_unit_test_setup_teardown(test_two_majors, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_names_the_upload, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ctl_outcomes, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("deploy", tests, NULL, NULL);
}
