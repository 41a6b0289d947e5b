/* Integration tests of the life of plug-in assemblies and steps on the real asyncd (SPEC §2;
 * issue 5): safe deletes of steps and assemblies (refused with counts per state, drained, or
 * canceled with plugin_deleted, held jobs included; an assembly with steps refused naming them),
 * hot upgrades in place (jobs running across it finish on the old code, later ones run the new)
 * and a new major version beside the old one, step images and filtering attributes, the secure
 * configuration hidden from all but System Administrators, the plug-in of the guide
 * (docs/writing-plugins.md) and `asyncctl step delete --mode drain`. Each test has its server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define QUEUED_EVENTS 1000
#define CANCELED_EVENTS 200
#define LONG_MS 60000
#define HOUR_MS (3600 * 1000)
#define GONE_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 15000
#define DRAIN_TIMEOUT_MS 120000
#define ECHO_JOBS 3
#define CROSSING_MS 3000
#define DRAIN_EVENTS 6
#define HELD_EVENTS 3
#define HELD_CANCEL_MS 10000
#define DRAIN_SLEEP_MS 1500
#define SECRET "s3cret-value-7f"
#define V1 "samples version 1.0.0.0"
#define V101 "samples version 1.0.1.0"
#define V2 "samples version 2.0.0.0"

/* ---- small tools ---- */

static json_t *event(const char *message, const char *entity, const char *id, json_t *target)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "message", message, "entity", entity, "entity_id", id,
			 "target", target ? target : json_object());
}

/* Raise ev and return the id of the only job it made. */
static int64_t raise_one(struct harness *h, json_t *ev)
{
	json_t *jobs = h_raise(h, ev);

	assert_int_equal(json_array_size(jobs), 1);
	int64_t id = h_int(json_array_get(jobs, 0), "id");
	json_decref(jobs);
	return id;
}

/* Post n Create account events as NDJSON, each with target (JSON text); returns how many jobs
 * they made. */
static int64_t raise_many(struct harness *h, int n, const char *target)
{
	char *body = NULL;
	size_t len = 0;
	long status;
	FILE *m = open_memstream(&body, &len);

	assert_non_null(m);
	for (int i = 0; i < n; i++)
		fprintf(m,
			"{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":\"%d\","
			"\"target\":%s}\n",
			i, target);
	fclose(m);
	json_t *a =
	    h_request(h, "POST", "/api/v1/events", "application/x-ndjson", body, len, &status);
	free(body);
	if (status != 201)
		fail_msg("NDJSON of %d events: HTTP %ld: %s", n, status, h_client_last(h->client));
	assert_int_equal(h_int(a, "events"), n);
	int64_t jobs = h_int(a, "jobs");
	json_decref(a);
	return jobs;
}

static const char *item_path(char *buf, size_t n, const char *kind, int64_t id, const char *mode)
{
	return h_path(buf, n, "/api/v1/%s/%lld%s%s", kind, (long long)id, mode ? "?mode=" : "",
		      mode ? mode : "");
}

/* DELETE a step or assembly ("steps" or "assemblies") with mode (NULL: none given). */
static json_t *delete_item(struct harness *h, const char *kind, int64_t id, const char *mode,
			   long want)
{
	char path[128];

	return h_call(h, "DELETE", item_path(path, sizeof(path), kind, id, mode), NULL, want);
}

static json_t *get_item(struct harness *h, const char *kind, int64_t id, long want)
{
	char path[128];

	return h_get(h, item_path(path, sizeof(path), kind, id, NULL), want);
}

/* Poll GET /api/v1/KIND/ID until it answers 404. */
static void wait_gone(struct harness *h, const char *kind, int64_t id)
{
	char path[128];
	int64_t end = h_mono_ms() + GONE_TIMEOUT_MS;
	long status;

	item_path(path, sizeof(path), kind, id, NULL);
	for (;;) {
		json_t *a = h_request(h, "GET", path, NULL, NULL, 0, &status);
		json_decref(a);
		if (status == 404)
			return;
		if (h_mono_ms() > end)
			fail_msg("GET %s still answers %ld after %d ms", path, status,
				 GONE_TIMEOUT_MS);
		h_sleep_ms(H_POLL_MS);
	}
}

static void assert_counts(json_t *counts, int64_t ready, int64_t suspended, int64_t locked)
{
	if (h_int(counts, "ready") != ready || h_int(counts, "suspended") != suspended ||
	    h_int(counts, "locked") != locked) {
		char *text = json_dumps(counts, JSON_COMPACT);
		fprintf(stderr, "# counts: %s\n", text);
		free(text);
		fail_msg("counts are not ready %lld, suspended %lld, locked %lld", (long long)ready,
			 (long long)suspended, (long long)locked);
	}
}

/* A refused delete: 409 conflict with the counts per state, naming the other modes. */
static void expect_refused_with_counts(json_t *a, int64_t ready, int64_t suspended, int64_t locked)
{
	json_t *err = json_object_get(a, "error");

	assert_string_equal(h_error_code(a), "conflict");
	assert_counts(json_object_get(err, "counts"), ready, suspended, locked);
	h_expect_text(h_str(err, "message"), "drain", "the refusal");
	h_expect_text(h_str(err, "message"), "cancel", "the refusal");
}

static bool listed(struct harness *h, const char *kind, int64_t id)
{
	char path[64];
	json_t *a = h_get(h, h_path(path, sizeof(path), "/api/v1/%s", kind), 200), *x;
	size_t i;
	bool found = false;

	json_array_foreach(json_object_get(a, kind), i, x)
	{
		found |= h_int(x, "id") == id;
	}
	json_decref(a);
	return found;
}

static void stop_async(struct harness *h)
{
	json_decref(h_service_act(h, "async", "stop", 200));
	json_decref(h_wait_service(h, "async", "stopped", STOP_TIMEOUT_MS));
}

static void start_async(struct harness *h)
{
	json_decref(h_service_act(h, "async", "start", 200));
	json_decref(h_wait_service(h, "async", "running", STOP_TIMEOUT_MS));
}

static int64_t stat_of(json_t *stats, const char *status)
{
	return h_int(json_object_get(stats, "by_status"), status);
}

/* Wait for job id to end Succeeded; returns it (the caller owns it). */
static json_t *wait_succeeded(struct harness *h, int64_t id)
{
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);

	if (h_int(j, "status") != 30)
		fail_msg("job %lld ended with status %lld (%s): %s", (long long)id,
			 (long long)h_int(j, "status"), h_str(j, "error_code"),
			 h_str(j, "message"));
	return j;
}

/* Wait for job id to succeed and check that its trace holds want. */
static void expect_trace(struct harness *h, int64_t id, const char *want)
{
	json_t *j = wait_succeeded(h, id);
	char what[64];

	snprintf(what, sizeof(what), "the trace of job %lld", (long long)id);
	h_expect_text(h_str(j, "trace"), want, what);
	json_decref(j);
}

static json_t *job_action(struct harness *h, int64_t id, const char *action)
{
	char path[96];

	h_path(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)id, action);
	return h_call(h, "POST", path, NULL, 200);
}

static int64_t submit_later(struct harness *h, const char *type, int64_t ms_from_now)
{
	char t[H_TIME_LEN];

	return h_submit(h, json_pack("{s:s,s:s}", "plugin_type", type, "postpone_until",
				     h_time(t, ms_from_now)));
}

/* ---- safe deletes ---- */

/* Events for a draining step create no jobs. */
static void expect_no_new_jobs(struct harness *h)
{
	assert_int_equal(raise_many(h, 10, "{}"), 0);
	json_t *jobs = h_raise(h, event("Create", "account", "x", NULL));
	assert_int_equal(json_array_size(jobs), 0);
	json_decref(jobs);
}

static void test_drain_while_1000_queued(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t step = h_add_simple_step(h, "samples.noop", "Create", "account");
	stop_async(h);
	assert_int_equal(raise_many(h, QUEUED_EVENTS, "{}"), QUEUED_EVENTS);
	json_t *a = delete_item(h, "steps", step, NULL, 409);
	expect_refused_with_counts(a, QUEUED_EVENTS, 0, 0);
	json_decref(a);
	json_decref(delete_item(h, "steps", step, "refuse", 409));
	json_decref(delete_item(h, "steps", step, "everything", 400));
	a = delete_item(h, "steps", step, "drain", 202);
	assert_true(json_is_true(json_object_get(a, "draining")));
	assert_counts(json_object_get(a, "counts"), QUEUED_EVENTS, 0, 0);
	json_decref(a);
	a = get_item(h, "steps", step, 200);
	assert_true(json_is_true(json_object_get(a, "draining")));
	assert_counts(json_object_get(a, "unfinished"), QUEUED_EVENTS, 0, 0);
	json_decref(a);
	expect_no_new_jobs(h);
	start_async(h);
	json_t *stats;
	h_wait_all(h, DRAIN_TIMEOUT_MS, &stats);
	assert_int_equal(stat_of(stats, "30"), QUEUED_EVENTS);
	assert_int_equal(h_int(stats, "total"), QUEUED_EVENTS); /* none made while draining */
	json_decref(stats);
	wait_gone(h, "steps", step);
	assert_false(listed(h, "steps", step));
	assert_int_equal(h_count(h, -1), QUEUED_EVENTS); /* the rows stay */
	h_stop(h);
}

/* Every job Completed/Canceled with plugin_deleted. */
static void expect_all_canceled(struct harness *h, int64_t n)
{
	json_t *all = h_all_jobs(h), *j;
	size_t i;

	assert_int_equal(json_array_size(all), n);
	json_array_foreach(all, i, j)
	{
		if (h_int(j, "state") != 3 || h_int(j, "status") != 32 || !h_str(j, "error_code") ||
		    strcmp(h_str(j, "error_code"), "plugin_deleted"))
			fail_msg("job %lld is %lld/%lld (%s): %s", (long long)h_int(j, "id"),
				 (long long)h_int(j, "state"), (long long)h_int(j, "status"),
				 h_str(j, "error_code"), h_str(j, "message"));
	}
	json_decref(all);
}

/* With an in-memory window of one job, one 60 s job runs and the others wait as Ready; a cancel
 * delete ends them all, interrupting the running one. */
static void test_cancel_mode(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i,s:i}", "async.items_in_memory_low", 1,
				    "async.items_in_memory_high", 1));
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	assert_int_equal(raise_many(h, CANCELED_EVENTS, "{\"ms\":60000}"), CANCELED_EVENTS);
	json_t *running = h_get(h, "/api/v1/jobs?state=2", 200);
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (json_array_size(json_object_get(running, "jobs")) == 0 && h_mono_ms() < end) {
		json_decref(running);
		h_sleep_ms(H_POLL_MS);
		running = h_get(h, "/api/v1/jobs?state=2", 200);
	}
	int64_t locked = h_int(json_array_get(json_object_get(running, "jobs"), 0), "id");
	json_decref(running);
	json_decref(h_wait_state(h, locked, 2, H_WAIT_TIMEOUT_MS));
	json_t *a = delete_item(h, "steps", step, NULL, 409);
	expect_refused_with_counts(a, CANCELED_EVENTS - 1, 0, 1);
	json_decref(a);
	int64_t t0 = h_mono_ms();
	assert_null(delete_item(h, "steps", step, "cancel", 204));
	json_decref(get_item(h, "steps", step, 404)); /* deleted at once */
	json_decref(h_wait_job(h, locked, H_WAIT_TIMEOUT_MS));
	assert_true(h_mono_ms() - t0 < 10000); /* the running one was interrupted */
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	expect_all_canceled(h, CANCELED_EVENTS);
	h_stop(h);
}

/* Jobs held in memory (claimed, waiting for their type's throttle) are canceled like the others
 * and never start: no plug-in code of a deleted step runs after the delete. */
static void test_cancel_mode_with_held_jobs(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i,s:s}", "service.stop_timeout", 1, "async.throttling",
				    "samples.sleep=1"));
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	int64_t ids[HELD_EVENTS];
	for (int i = 0; i < HELD_EVENTS; i++)
		ids[i] = raise_one(
		    h, event("Create", "account", "1", json_pack("{s:i}", "ms", LONG_MS)));
	for (int i = 0; i < HELD_EVENTS; i++) /* one runs, the others are held */
		json_decref(h_wait_state(h, ids[i], 2, H_WAIT_TIMEOUT_MS));
	assert_null(delete_item(h, "steps", step, "cancel", 204));
	for (int i = 0; i < HELD_EVENTS; i++)
		json_decref(h_wait_job(h, ids[i], HELD_CANCEL_MS));
	expect_all_canceled(h, HELD_EVENTS);
	int64_t started = 0;
	for (int i = 0; i < HELD_EVENTS; i++) {
		json_t *j = h_job(h, ids[i]);
		started += !json_is_null(json_object_get(j, "started_on"));
		json_decref(j);
	}
	assert_int_equal(started, 1); /* only the one that ran when it was deleted */
	h_stop(h);
}

/* The ids in error.steps of a refused assembly delete. */
static bool names_step(json_t *a, int64_t step)
{
	json_t *s;
	size_t i;
	bool found = false;

	json_array_foreach(json_object_get(json_object_get(a, "error"), "steps"), i, s)
	{
		found |= h_int(s, "id") == step && h_str(s, "name");
	}
	return found;
}

static void test_assembly_with_steps_refused(void **state)
{
	struct harness *h = *state;

	json_t *g = h_register_file(h, "examples/greeter.so", 201);
	int64_t greeter = h_int(g, "id");
	json_decref(g);
	int64_t s1 = h_add_simple_step(h, "greeter.greet", "Create", "contact");
	int64_t s2 = h_add_simple_step(h, "greeter.greet", "Update", "contact");
	static const char *const modes[] = {NULL, "drain", "cancel"};
	for (size_t i = 0; i < 3; i++) {
		json_t *a = delete_item(h, "assemblies", greeter, modes[i], 409);
		assert_string_equal(h_error_code(a), "conflict");
		assert_true(names_step(a, s1));
		assert_true(names_step(a, s2));
		json_decref(a);
	}
	assert_true(listed(h, "assemblies", greeter));
	assert_null(delete_item(h, "steps", s1, NULL, 204));
	assert_null(delete_item(h, "steps", s2, NULL, 204));
	assert_null(delete_item(h, "assemblies", greeter, NULL, 204));
	assert_false(listed(h, "assemblies", greeter));
	json_decref(get_item(h, "assemblies", greeter, 404));
	json_t *jobs = h_raise(h, event("Create", "contact", "1", NULL));
	assert_int_equal(json_array_size(jobs), 0);
	json_decref(jobs);
	h_stop(h);
}

/* An assembly without steps whose job waits: refused with counts, then drained. */
static void test_assembly_drain(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	json_t *list = h_get(h, "/api/v1/assemblies", 200);
	int64_t samples = h_int(json_array_get(json_object_get(list, "assemblies"), 0), "id");
	json_decref(list);
	int64_t job = submit_later(h, "samples.noop", HOUR_MS);
	json_t *a = delete_item(h, "assemblies", samples, NULL, 409);
	expect_refused_with_counts(a, 0, 1, 0);
	json_decref(a);
	a = delete_item(h, "assemblies", samples, "drain", 202);
	assert_counts(json_object_get(a, "counts"), 0, 1, 0);
	json_decref(a);
	a = get_item(h, "assemblies", samples, 200);
	assert_true(json_is_true(json_object_get(a, "draining")));
	json_decref(a);
	a = h_call(h, "POST", "/api/v1/jobs", json_pack("{s:s}", "plugin_type", "samples.noop"),
		   409); /* no new work for a draining assembly */
	json_decref(a);
	json_decref(job_action(h, job, "resume"));
	json_decref(wait_succeeded(h, job));
	wait_gone(h, "assemblies", samples);
	assert_false(listed(h, "assemblies", samples));
	h_stop(h);
}

/* ---- upgrades ---- */

static int64_t samples_id(struct harness *h, const char *version)
{
	json_t *list = h_get(h, "/api/v1/assemblies", 200), *a;
	size_t i;
	int64_t id = -1;

	json_array_foreach(json_object_get(list, "assemblies"), i, a)
	{
		if (!strcmp(h_str(a, "name"), "samples") && !strcmp(h_str(a, "version"), version))
			id = h_int(a, "id");
	}
	json_decref(list);
	return id;
}

static int64_t step_assembly(struct harness *h, int64_t step)
{
	json_t *s = get_item(h, "steps", step, 200);
	int64_t id = h_int(s, "assembly_id");

	json_decref(s);
	return id;
}

static int64_t raise_create(struct harness *h, const char *id)
{
	return raise_one(h, event("Create", "account", id, NULL));
}

/* Jobs that ended before the upgrade ran 1.0.0.0; one running across it ends well; jobs
 * created before it but started after it (postponed, then resumed) and jobs created after it
 * run 1.0.1.0. */
static void test_upgrade_while_jobs_run(void **state)
{
	struct harness *h = *state;
	int64_t before[ECHO_JOBS], queued[ECHO_JOBS], after[ECHO_JOBS];

	h_register_samples(h);
	int64_t old_id = samples_id(h, "1.0.0.0");
	int64_t step = h_add_simple_step(h, "samples.echo", "Create", "account");
	for (int i = 0; i < ECHO_JOBS; i++)
		before[i] = raise_create(h, "before");
	for (int i = 0; i < ECHO_JOBS; i++)
		expect_trace(h, before[i], V1);
	int64_t crossing = h_submit(h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep",
						 "data", "ms", CROSSING_MS));
	json_decref(h_wait_state(h, crossing, 2, H_WAIT_TIMEOUT_MS));
	for (int i = 0; i < ECHO_JOBS; i++) /* created now, started after the upgrade */
		queued[i] = submit_later(h, "samples.echo", HOUR_MS);
	json_t *a = h_register_file(h, "plugins/samples/samples-1.0.1.0.so", 201);
	assert_string_equal(h_str(a, "outcome"), "upgraded");
	assert_int_equal(h_int(a, "id"), old_id);
	assert_string_equal(h_str(a, "version"), "1.0.1.0");
	json_decref(a);
	json_t *j = h_job(h, crossing);
	assert_int_equal(h_int(j, "state"), 2); /* still running on the old code */
	json_decref(j);
	assert_int_equal(step_assembly(h, step), old_id); /* the step follows */
	assert_int_equal(samples_id(h, "1.0.0.0"), -1);
	for (int i = 0; i < ECHO_JOBS; i++)
		after[i] = raise_create(h, "after");
	for (int i = 0; i < ECHO_JOBS; i++)
		json_decref(job_action(h, queued[i], "resume"));
	for (int i = 0; i < ECHO_JOBS; i++) {
		expect_trace(h, after[i], V101);
		expect_trace(h, queued[i], V101);
		expect_trace(h, before[i], V1); /* what they ran stays recorded */
	}
	json_decref(wait_succeeded(h, crossing));
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	assert_int_equal(h_count(h, 31), 0);
	assert_int_equal(h_count(h, 30), h_count(h, -1));
	h_stop(h);
}

/* The test plug-in "versioned" traces its version when a job ends: a job running across the
 * upgrade is finished by the code that started it. */
static void test_running_job_finishes_on_old_code(void **state)
{
	struct harness *h = *state;

	json_t *a = h_register_file(h, "tests/plugins/versioned-1.0.0.0.so", 201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	int64_t old = h_submit(h, json_pack("{s:s,s:{s:i}}", "plugin_type", "versioned.slow",
					    "data", "ms", CROSSING_MS));
	json_decref(h_wait_state(h, old, 2, H_WAIT_TIMEOUT_MS));
	a = h_register_file(h, "tests/plugins/versioned-1.0.1.0.so", 201);
	assert_string_equal(h_str(a, "outcome"), "upgraded");
	assert_int_equal(h_int(a, "id"), id);
	json_decref(a);
	json_t *j = h_job(h, old);
	assert_int_equal(h_int(j, "state"), 2); /* it crosses the upgrade */
	json_decref(j);
	int64_t young = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "versioned.slow", "data", "ms", 0));
	expect_trace(h, young, "versioned version 1.0.1.0");
	j = wait_succeeded(h, old);
	h_expect_text(h_str(j, "trace"), "versioned version 1.0.0.0", "the job run across");
	h_expect_text(h_str(j, "message"), "1.0.0.0", "the job run across");
	assert_int_equal(h_int(j, "retry_count"), 0);
	json_decref(j);
	h_stop(h);
}

static void test_major_version_beside(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t v1 = samples_id(h, "1.0.0.0");
	int64_t create = h_add_simple_step(h, "samples.echo", "Create", "account");
	json_t *a = h_register_file(h, "plugins/samples/samples-2.0.0.0.so", 201);
	assert_string_equal(h_str(a, "outcome"), "registered");
	int64_t v2 = h_int(a, "id");
	json_decref(a);
	assert_int_not_equal(v1, v2);
	assert_int_equal(samples_id(h, "1.0.0.0"), v1); /* both listed */
	assert_int_equal(samples_id(h, "2.0.0.0"), v2);
	assert_int_equal(step_assembly(h, create), v1); /* the step stays */
	expect_trace(h, raise_create(h, "1"), V1);
	int64_t update = h_add_simple_step(h, "samples.echo", "Update", "account");
	assert_int_equal(step_assembly(h, update), v2); /* a new step takes the newest */
	expect_trace(h, raise_one(h, event("Update", "account", "1", NULL)), V2);
	/* a new revision of 1.0 upgrades 1.0 in place, not 2.0 */
	a = h_register_file(h, "plugins/samples/samples-1.0.1.0.so", 201);
	assert_string_equal(h_str(a, "outcome"), "upgraded");
	assert_int_equal(h_int(a, "id"), v1);
	json_decref(a);
	expect_trace(h, raise_create(h, "2"), V101);
	expect_trace(h, raise_one(h, event("Update", "account", "2", NULL)), V2);
	a = delete_item(h, "assemblies", v1, NULL, 409);
	assert_true(names_step(a, create));
	assert_false(names_step(a, update));
	json_decref(a);
	h_stop(h);
}

/* ---- steps ---- */

static int64_t add_step_with_images(struct harness *h)
{
	json_t *images = json_pack("[{s:s,s:s,s:[s]},{s:s,s:s,s:[s,s]}]", "type", "pre", "alias",
				   "before", "attributes", "total", "type", "post", "alias",
				   "after", "attributes", "total", "name");

	return h_add_step(h, json_pack("{s:s,s:s,s:s,s:[s,s],s:o}", "plugin_type", "samples.echo",
				       "message", "Update", "entity", "invoice",
				       "filtering_attributes", "total", "name", "images", images));
}

static json_t *update_invoice(json_t *target)
{
	json_t *ev = event("Update", "invoice", "7", target);

	json_object_set_new(ev, "pre_image",
			    json_pack("{s:i,s:s,s:s}", "total", 3, "name", "A", "note", "x"));
	json_object_set_new(ev, "post_image",
			    json_pack("{s:i,s:s,s:s}", "total", 5, "name", "A", "note", "y"));
	return ev;
}

static void expect_json(json_t *got, json_t *want, const char *what)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(stderr, "# %s: got %s, want %s\n", what, g ? g : "(null)", w);
		free(g);
		free(w);
		json_decref(want);
		fail_msg("%s differs", what);
	}
	json_decref(want);
}

static void test_images_and_filtering_attributes(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	int64_t step = add_step_with_images(h);
	json_t *s = get_item(h, "steps", step, 200);
	expect_json(json_object_get(s, "filtering_attributes"), json_pack("[s,s]", "total", "name"),
		    "filtering_attributes");
	assert_int_equal(json_array_size(json_object_get(s, "images")), 2);
	json_decref(s);
	json_t *none = h_raise(h, update_invoice(json_pack("{s:s}", "note", "y")));
	assert_int_equal(json_array_size(none), 0); /* no filtering attribute changed */
	json_decref(none);
	int64_t id = raise_one(h, update_invoice(json_pack("{s:i}", "total", 5)));
	json_t *j = wait_succeeded(h, id);
	json_t *images = json_object_get(json_object_get(j, "data"), "images");
	expect_json(json_object_get(images, "before"), json_pack("{s:i}", "total", 3),
		    "the pre image");
	expect_json(json_object_get(images, "after"),
		    json_pack("{s:i,s:s}", "total", 5, "name", "A"), "the post image");
	expect_json(json_object_get(j, "output"), json_pack("{s:i}", "total", 5), "the output");
	h_expect_text(h_str(j, "trace"), "\"total\":5", "the trace of the input");
	json_decref(j);
	none = h_raise(h, event("Create", "invoice", "7", json_pack("{s:i}", "total", 5)));
	assert_int_equal(json_array_size(none), 0); /* the step is on Update */
	json_decref(none);
	h_stop(h);
}

/* GET path with token: 200, and the answer text. */
static char *read_as(struct harness *h, const char *token, const char *path, json_t **ret)
{
	struct h_client *c = h_client_token(h, token);
	long status;

	*ret = h_client_request(c, "GET", path, NULL, NULL, 0, &status);
	if (status != 200)
		fail_msg("GET %s: HTTP %ld: %s", path, status, h_client_last(c));
	char *text = strdup(h_client_last(c));
	h_client_free(c);
	return text;
}

/* A step as a non-administrator sees it: no secure configuration, only that there is one. */
static void expect_hidden(json_t *step, const char *text, const char *what)
{
	assert_null(json_object_get(step, "secure_configuration"));
	assert_true(json_is_true(json_object_get(step, "has_secure_configuration")));
	assert_string_equal(h_str(step, "configuration"), "plain-config");
	h_expect_no_text(text, SECRET, what);
}

static void check_hidden_from(struct harness *h, const char *token, int64_t step, int64_t job)
{
	char path[64];
	json_t *a;

	char *text = read_as(h, token,
			     h_path(path, sizeof(path), "/api/v1/steps/%lld", (long long)step), &a);
	expect_hidden(a, text, "GET /api/v1/steps/ID");
	json_decref(a);
	free(text);
	text = read_as(h, token, "/api/v1/steps", &a);
	expect_hidden(json_array_get(json_object_get(a, "steps"), 0), text, "GET /api/v1/steps");
	json_decref(a);
	free(text);
	text =
	    read_as(h, token, h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)job), &a);
	h_expect_no_text(text, SECRET, "GET /api/v1/jobs/ID");
	json_decref(a);
	free(text);
}

/* Only GET /api/v1/steps/ID/secure-configuration shows it: to a System Administrator, audited. */
static void check_secure_endpoint(struct harness *h, int64_t step, const char *operator)
{
	char path[96];
	long status;
	json_t *a;

	h_path(path, sizeof(path), "/api/v1/steps/%lld/secure-configuration", (long long)step);
	a = h_get(h, path, 200);
	assert_string_equal(h_str(a, "secure_configuration"), SECRET);
	json_decref(a);
	struct h_client *c = h_client_token(h, operator);
	a = h_client_request(c, "GET", path, NULL, NULL, 0, &status);
	assert_int_equal(status, 403);
	assert_string_equal(h_error_code(a), "forbidden");
	json_decref(a);
	h_client_free(c);
	a = h_get(h, "/api/v1/audit?limit=500", 200);
	size_t i, reads = 0;
	json_t *e;
	json_array_foreach(json_object_get(a, "entries"), i,
			   e) if (!strcmp(h_str(e, "action"), "step.read_secure_configuration") &&
				  !strcmp(h_str(e, "user"), "admin")) reads++;
	assert_int_equal(reads, 1);
	json_decref(a);
}

static void test_secure_configuration_hidden(void **state)
{
	struct harness *h = *state;
	char operator[128], reader[128], admin[256], path[64];

	h_register_samples(h);
	int64_t step =
	    h_add_step(h, json_pack("{s:s,s:s,s:s,s:s,s:s}", "plugin_type", "samples.echo",
				    "message", "Create", "entity", "account", "configuration",
				    "plain-config", "secure_configuration", SECRET));
	h_add_user_token(h, "olga", "Operator", NULL, operator);
	h_add_user_token(h, "rita", "Reader", NULL, reader);
	snprintf(admin, sizeof(admin), "%s", h->token);
	json_t *s = get_item(h, "steps", step, 200); /* not even the administrator, here */
	assert_true(json_is_true(json_object_get(s, "has_secure_configuration")));
	json_decref(s);
	int64_t job = raise_create(h, "1");
	json_decref(wait_succeeded(h, job));
	check_hidden_from(h, admin, step, job);
	check_hidden_from(h, operator, step, job);
	check_hidden_from(h, reader, step, job);
	check_secure_endpoint(h, step, operator);
	json_t *audit = h_get(h, "/api/v1/audit?limit=500", 200);
	char *text = json_dumps(audit, JSON_COMPACT);
	h_expect_no_text(text, SECRET, "the audit log");
	free(text);
	json_decref(audit);
	h_stop(h);
	text = h_read_file(h_path(path, sizeof(path), "%s/asyncd.log", h->dir), NULL);
	h_expect_no_text(text, SECRET, "asyncd.log");
	free(text);
}

/* ---- asyncctl and the plug-in guide ---- */

static void expect_exit(const struct h_cmd *c, int status, const char *what)
{
	if (c->status == status)
		return;
	fprintf(stderr, "# %s\n# stdout:\n%s\n# stderr:\n%s\n", what, c->out, c->err);
	fail_msg("%s: exit %d instead of %d", what, c->status, status);
}

/* The job of step (the only one). */
static json_t *job_of_step(struct harness *h, int64_t step)
{
	char path[96];
	json_t *a =
	    h_get(h, h_path(path, sizeof(path), "/api/v1/jobs?step_id=%lld", (long long)step), 200);

	assert_int_equal(json_array_size(json_object_get(a, "jobs")), 1);
	json_t *j = h_job(h, h_int(json_array_get(json_object_get(a, "jobs"), 0), "id"));
	json_decref(a);
	return j;
}

/* The steps of docs/writing-plugins.md §4 and §5 with the greeter built from §2. */
static void test_plugin_from_the_guide(void **state)
{
	struct harness *h = *state;
	char so[1200];
	struct h_cmd c;

	snprintf(so, sizeof(so), "%s/examples/greeter.so", h->build);
	h_ctl(h, &c, "assembly", "register", so, NULL);
	expect_exit(&c, 0, "assembly register greeter.so");
	h_expect_text(c.out, "greeter", "assembly register");
	h_cmd_done(&c);
	h_ctl(h, &c, "step", "add", "--type", "greeter.greet", "--message", "Create", "--entity",
	      "contact", "--config", "Good morning", NULL);
	expect_exit(&c, 0, "step add");
	int64_t step = strtoll(c.out, NULL, 10);
	assert_true(step > 0);
	h_cmd_done(&c);
	h_ctl(h, &c, "event", "raise", "--message", "Create", "--entity", "contact", "--id", "7",
	      "--target", "{\"name\":\"Ada\"}", "--wait", NULL);
	expect_exit(&c, 0, "event raise --wait");
	h_expect_text(c.out, "Succeeded", "event raise --wait");
	h_cmd_done(&c);
	json_t *j = job_of_step(h, step);
	expect_json(json_object_get(j, "output"),
		    json_pack("{s:s}", "greeting", "Good morning, Ada!"), "the greeting");
	h_expect_text(h_str(j, "trace"), "greeting Ada", "the greeter's trace");
	json_decref(j);
	h_ctl(h, &c, "event", "raise", "--message", "Create", "--entity", "contact", "--id", "8",
	      "--target", "{}", "--wait", NULL);
	expect_exit(&c, 1, "event raise without a name"); /* a permanent failure */
	h_expect_text(c.out, "name", "event raise without a name");
	h_cmd_done(&c);
	h_stop(h);
}

static void test_ctl_step_delete_drain(void **state)
{
	struct harness *h = *state;
	char id[32], target[32];
	struct h_cmd c;

	h_register_samples(h);
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	snprintf(target, sizeof(target), "{\"ms\":%d}", DRAIN_SLEEP_MS);
	assert_int_equal(raise_many(h, DRAIN_EVENTS, target), DRAIN_EVENTS);
	snprintf(id, sizeof(id), "%lld", (long long)step);
	h_ctl(h, &c, "step", "delete", id, "--mode", "drain", NULL);
	expect_exit(&c, 0, "step delete --mode drain");
	h_expect_text(c.err, "draining step", "the drain's progress");
	h_expect_text(c.out, "drained and deleted", "step delete --mode drain");
	h_cmd_done(&c);
	json_decref(get_item(h, "steps", step, 404));
	json_t *stats;
	h_wait_all(h, H_WAIT_TIMEOUT_MS, &stats);
	assert_int_equal(stat_of(stats, "30"), DRAIN_EVENTS);
	json_decref(stats);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_drain_while_1000_queued, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_mode, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_mode_with_held_jobs, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_assembly_with_steps_refused, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_assembly_drain, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_while_jobs_run, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_running_job_finishes_on_old_code, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_major_version_beside, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_images_and_filtering_attributes, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_secure_configuration_hidden, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_plugin_from_the_guide, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ctl_step_delete_drain, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
