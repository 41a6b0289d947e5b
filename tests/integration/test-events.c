/* Integration tests of events → jobs on the real asyncd with the real samples.so: step matching
 * (entity, any entity, rank, enabled, filtering attributes), images copied into the job, NDJSON
 * bulk ingestion (2,000 events, and a bad line that stores nothing) and the loop guard. Each test
 * runs its own server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define BULK_EVENTS 2000
#define BULK_TIMEOUT_MS 90000
#define LOOP_NESTING 8

/* {"message","entity","entity_id","target"}; entity may be NULL (no entity); target is stolen
 * (NULL: {}). */
static json_t *event(const char *message, const char *entity, const char *id, json_t *target)
{
	json_t *ev = json_pack("{s:s,s:s,s:o}", "message", message, "entity_id", id, "target",
			       target ? target : json_object());

	if (entity)
		json_object_set_new(ev, "entity", json_string(entity));
	return ev;
}

/* Raise ev and return how many jobs it made. */
static size_t raise_count(struct harness *h, json_t *ev)
{
	json_t *jobs = h_raise(h, ev);
	size_t n = json_array_size(jobs);

	json_decref(jobs);
	return n;
}

static int64_t job_id_at(json_t *jobs, size_t i)
{
	return h_int(json_array_get(jobs, i), "id");
}

static void assert_succeeded(struct harness *h, int64_t id)
{
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);

	if (h_int(j, "status") != 30)
		fail_msg("job %lld ended with status %lld (%s): %s", (long long)id,
			 (long long)h_int(j, "status"), h_str(j, "error_code"),
			 h_str(j, "message"));
	json_decref(j);
}

static void test_step_on_create_account(void **state)
{
	struct harness *h = *state;

	assert_int_equal(h_register_samples(h), 8);
	int64_t step = h_add_simple_step(h, "samples.noop", "Create", "account");
	json_t *jobs = h_raise(h, event("Create", "account", "42", NULL));
	assert_int_equal(json_array_size(jobs), 1);
	assert_int_equal(h_int(json_array_get(jobs, 0), "step_id"), step);
	json_t *j = h_wait_job(h, job_id_at(jobs, 0), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "operation_type"), 1);
	assert_int_equal(h_int(j, "depth"), 1);
	assert_int_equal(h_int(j, "retry_count"), 0);
	assert_string_equal(h_str(j, "message_name"), "Create");
	assert_string_equal(h_str(j, "primary_entity"), "account");
	assert_string_equal(h_str(j, "regarding_id"), "42");
	assert_string_equal(h_str(j, "plugin_type"), "samples.noop");
	assert_non_null(h_str(j, "correlation_id"));
	json_decref(j);
	json_decref(jobs);
	assert_int_equal(raise_count(h, event("Create", "contact", "7", NULL)), 0);
	assert_int_equal(raise_count(h, event("Update", "account", "42", NULL)), 0);
	assert_int_equal(h_count(h, -1), 1);
	h_stop(h);
}

static void test_step_without_entity_matches_any(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", NULL);
	json_t *a = h_raise(h, event("Create", "account", "1", NULL));
	json_t *c = h_raise(h, event("Create", "contact", "2", NULL));
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(json_array_size(c), 1);
	assert_succeeded(h, job_id_at(a, 0));
	assert_succeeded(h, job_id_at(c, 0));
	json_decref(a);
	json_decref(c);
	assert_int_equal(raise_count(h, event("Delete", "contact", "2", NULL)), 0);
	h_stop(h);
}

static int64_t ranked_step(struct harness *h, const char *type, int rank)
{
	return h_add_step(h, json_pack("{s:s,s:s,s:s,s:i}", "plugin_type", type, "message",
				       "Create", "entity", "account", "rank", rank));
}

static void test_rank_orders_jobs(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t late = ranked_step(h, "samples.echo", 20); /* registered first, ranked last */
	int64_t early = ranked_step(h, "samples.noop", 10);
	json_t *jobs = h_raise(h, event("Create", "account", "5", NULL));
	assert_int_equal(json_array_size(jobs), 2);
	assert_int_equal(h_int(json_array_get(jobs, 0), "step_id"), early);
	assert_int_equal(h_int(json_array_get(jobs, 1), "step_id"), late);
	assert_true(job_id_at(jobs, 0) < job_id_at(jobs, 1)); /* sequence follows rank */
	assert_succeeded(h, job_id_at(jobs, 0));
	assert_succeeded(h, job_id_at(jobs, 1));
	json_decref(jobs);
	h_stop(h);
}

static void set_enabled(struct harness *h, int64_t step, int enabled)
{
	char path[64];

	h_path(path, sizeof(path), "/api/v1/steps/%lld", (long long)step);
	json_decref(h_call(h, "PATCH", path, json_pack("{s:b}", "enabled", enabled), 200));
}

/* The "enabled" member of step in GET /api/v1/steps. */
static int listed_enabled(struct harness *h, int64_t step)
{
	json_t *a = h_get(h, "/api/v1/steps", 200), *s;
	size_t i;
	int enabled = -1;

	json_array_foreach(json_object_get(a, "steps"), i, s)
	{
		if (h_int(s, "id") == step)
			enabled = json_is_true(json_object_get(s, "enabled"));
	}
	json_decref(a);
	return enabled;
}

/* "201 for a step" means the very next event sees it, while the drain thread reloads the registry
 * in the background (it once could publish a snapshot read before the step's commit after the
 * handler's fresher one). */
static void test_new_step_seen_by_next_event(void **state)
{
	struct harness *h = *state;
	char message[32];

	h_register_samples(h);
	for (int i = 0; i < 150; i++) {
		snprintf(message, sizeof(message), "Custom%d", i);
		h_add_simple_step(h, "samples.noop", message, "account");
		size_t n = raise_count(h, event(message, "account", "1", NULL));
		if (n != 1)
			fail_msg("step %d: the event right after its 201 made %zu jobs", i, n);
	}
}

static void test_disabled_step_creates_nothing(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t step = h_add_simple_step(h, "samples.noop", "Create", "account");
	set_enabled(h, step, 0);
	assert_int_equal(listed_enabled(h, step), 0);
	assert_int_equal(raise_count(h, event("Create", "account", "1", NULL)), 0);
	assert_int_equal(h_count(h, -1), 0);
	set_enabled(h, step, 1);
	assert_int_equal(listed_enabled(h, step), 1);
	json_t *jobs = h_raise(h, event("Create", "account", "1", NULL));
	assert_int_equal(json_array_size(jobs), 1);
	assert_succeeded(h, job_id_at(jobs, 0));
	json_decref(jobs);
	h_stop(h);
}

static void test_filtering_attributes(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_add_step(h, json_pack("{s:s,s:s,s:s,s:[s,s]}", "plugin_type", "samples.noop", "message",
				"Update", "entity", "account", "filtering_attributes", "name",
				"email"));
	assert_int_equal(
	    raise_count(h, event("Update", "account", "1", json_pack("{s:s}", "phone", "555"))), 0);
	assert_int_equal(raise_count(h, event("Update", "account", "1", NULL)), 0);
	json_t *jobs = h_raise(h, event("Update", "account", "1",
					json_pack("{s:s,s:s}", "phone", "5", "email", "a@b")));
	assert_int_equal(json_array_size(jobs), 1);
	assert_succeeded(h, job_id_at(jobs, 0));
	json_decref(jobs);
	assert_int_equal(
	    raise_count(h, event("Update", "account", "1", json_pack("{s:s}", "name", "Contoso"))),
	    1);
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	assert_int_equal(h_count(h, 30), 2);
	h_stop(h);
}

/* A step of samples.echo with a pre image "before" of one attribute and a post image "after" of
 * all of them. */
static void add_echo_with_images(struct harness *h)
{
	json_t *images = json_pack("[{s:s,s:s,s:[s]},{s:s,s:s}]", "type", "pre", "alias", "before",
				   "attributes", "name", "type", "post", "alias", "after");

	h_add_step(h, json_pack("{s:s,s:s,s:s,s:o}", "plugin_type", "samples.echo", "message",
				"Update", "entity", "account", "images", images));
}

static void test_images_are_copied(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	add_echo_with_images(h);
	json_t *ev = event("Update", "account", "9", json_pack("{s:s}", "name", "New"));
	json_object_set_new(ev, "pre_image", json_pack("{s:s,s:s}", "name", "Old", "phone", "1"));
	json_object_set_new(ev, "post_image", json_pack("{s:s,s:s}", "name", "New", "phone", "2"));
	json_t *jobs = h_raise(h, ev);
	assert_int_equal(json_array_size(jobs), 1);
	json_t *j = h_wait_job(h, job_id_at(jobs, 0), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	json_t *images = json_object_get(json_object_get(j, "data"), "images");
	json_t *want_before = json_pack("{s:s}", "name", "Old");
	json_t *want_after = json_pack("{s:s,s:s}", "name", "New", "phone", "2");
	assert_true(json_equal(json_object_get(images, "before"), want_before));
	assert_true(json_equal(json_object_get(images, "after"), want_after));
	json_t *want_out = json_pack("{s:s}", "name", "New"); /* echo returns the target */
	assert_true(json_equal(json_object_get(j, "output"), want_out));
	assert_non_null(strstr(h_str(j, "trace"), "samples version 1.0.0.0"));
	json_decref(want_before);
	json_decref(want_after);
	json_decref(want_out);
	json_decref(j);
	json_decref(jobs);
	h_stop(h);
}

static void test_auto_delete_and_correlation(void **state)
{
	struct harness *h = *state;
	const char *corr = "0b8e7c1e-5f7a-4c8e-9d3b-2a1f6e4d9c70";

	h_register_samples(h);
	h_add_step(h, json_pack("{s:s,s:s,s:s,s:b}", "plugin_type", "samples.noop", "message",
				"Create", "entity", "account", "async_auto_delete", 1));
	h_add_simple_step(h, "samples.echo", "Create", "account");
	json_t *ev = event("Create", "account", "3", NULL);
	json_object_set_new(ev, "correlation_id", json_string(corr));
	json_t *jobs = h_raise(h, ev);
	assert_int_equal(json_array_size(jobs), 2);
	json_decref(jobs);
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	json_t *all = h_all_jobs(h); /* the auto-deleted job is gone once it succeeded */
	assert_int_equal(json_array_size(all), 1);
	json_t *j = json_array_get(all, 0);
	assert_string_equal(h_str(j, "plugin_type"), "samples.echo");
	assert_int_equal(h_int(j, "status"), 30);
	assert_string_equal(h_str(j, "correlation_id"), corr);
	json_decref(all);
	h_stop(h);
}

/* n events of Create account, one a line; line bad_line (1-based, 0: none) is broken JSON. */
static char *ndjson(int n, int bad_line, size_t *ret_len)
{
	char *s = NULL;
	FILE *m = open_memstream(&s, ret_len);

	assert_non_null(m);
	for (int i = 1; i <= n; i++)
		if (i == bad_line)
			fprintf(m, "{\"message\":\"Create\",\"entity\":\n");
		else
			fprintf(m,
				"{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":"
				"\"%d\",\"target\":{\"n\":%d}}\n",
				i, i);
	fclose(m);
	return s;
}

static json_t *post_ndjson(struct harness *h, const char *body, size_t len, long *ret_status)
{
	return h_request(h, "POST", "/api/v1/events", "application/x-ndjson", body, len,
			 ret_status);
}

static void test_ndjson_bulk(void **state)
{
	struct harness *h = *state;
	size_t len;
	long status;

	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	char *body = ndjson(BULK_EVENTS, 0, &len);
	json_t *a = post_ndjson(h, body, len, &status);
	free(body);
	assert_int_equal(status, 201);
	assert_int_equal(h_int(a, "events"), BULK_EVENTS);
	assert_int_equal(h_int(a, "jobs"), BULK_EVENTS);
	json_decref(a);
	json_t *stats;
	h_wait_all(h, BULK_TIMEOUT_MS, &stats);
	assert_int_equal(h_int(stats, "total"), BULK_EVENTS);
	assert_int_equal(h_int(json_object_get(stats, "by_status"), "30"), BULK_EVENTS);
	json_decref(stats);
	h_stop(h);
}

static void test_ndjson_bad_line_stores_nothing(void **state)
{
	struct harness *h = *state;
	size_t len;
	long status;

	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	assert_int_equal(raise_count(h, event("Create", "account", "0", NULL)), 1);
	char *body = ndjson(10, 3, &len);
	json_t *a = post_ndjson(h, body, len, &status);
	free(body);
	assert_int_equal(status, 400);
	assert_string_equal(h_error_code(a), "invalid_argument");
	const char *msg = h_str(json_object_get(a, "error"), "message");
	if (!strstr(msg, "line 3"))
		fail_msg("the error does not name line 3: %s", msg);
	json_decref(a);
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	assert_int_equal(h_count(h, -1), 1);
	h_stop(h);
}

/* A Loop event whose target holds, levels deep, the same event again. */
static json_t *loop_event(int levels)
{
	json_t *target = json_object();

	if (levels > 1)
		json_object_set_new(target, "event", loop_event(levels - 1));
	return event("Loop", "account", "1", target);
}

/* Wait until some job has failed (the loop guard's job is created Failed). */
static void wait_failed(struct harness *h)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;

	while (h_count(h, 31) == 0) {
		if (h_mono_ms() > end)
			fail_msg("no job failed within %d ms", H_WAIT_TIMEOUT_MS);
		h_sleep_ms(H_POLL_MS);
	}
}

static void check_loop_job(json_t *j, const char *corr)
{
	int64_t depth = h_int(j, "depth");

	assert_string_equal(h_str(j, "correlation_id"), corr);
	assert_string_equal(h_str(j, "plugin_type"), "samples.raise");
	assert_int_equal(h_int(j, "state"), 3);
	if (depth <= 3) {
		assert_int_equal(h_int(j, "status"), 30);
		return;
	}
	assert_int_equal(depth, 4);
	assert_int_equal(h_int(j, "status"), 31);
	assert_string_equal(h_str(j, "error_code"), "infinite_loop");
	assert_non_null(strstr(h_str(j, "message"), "async.max_depth"));
}

static void test_loop_guard(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "async.max_depth", 3));
	h_add_simple_step(h, "samples.raise", "Loop", "account");
	json_t *first = h_raise(h, loop_event(LOOP_NESTING));
	assert_int_equal(json_array_size(first), 1);
	json_decref(first);
	wait_failed(h);
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	json_t *all = h_all_jobs(h), *j;
	size_t i;
	assert_int_equal(json_array_size(all), 4);
	const char *corr = h_str(json_array_get(all, 0), "correlation_id");
	assert_non_null(corr);
	json_array_foreach(all, i, j)
	{
		assert_int_equal(h_int(j, "depth"), 4 - (int64_t)i); /* newest first */
		check_loop_job(j, corr);
	}
	json_decref(all);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_step_on_create_account, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_step_without_entity_matches_any, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_rank_orders_jobs, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_new_step_seen_by_next_event, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_disabled_step_creates_nothing, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_filtering_attributes, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_images_are_copied, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_auto_delete_and_correlation, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ndjson_bulk, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ndjson_bad_line_stores_nothing, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_loop_guard, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
