/* Integration tests of durability on the real asyncd: what is stored survives a clean stop
 * (steps, settings, postponed jobs), a SIGTERM in the middle of running jobs loses nothing and
 * counts no retry, and a kill -9 under a stream of NDJSON batches (with jobs running) keeps every
 * acknowledged event's job and finishes every job. Each test runs its own server. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define QUEUED_JOBS 50
#define QUEUED_DELAY_MS 2500
#define SLEEP_JOBS 4
#define SLEEP_MS 5000
#define NOOP_JOBS 20
#define STOP_LIMIT_MS 5000
#define BATCH_EVENTS 500
#define MAX_BATCHES 20
#define BATCHES_BEFORE_KILL 3
#define LOAD_TIMEOUT_MS 60000
#define DRAIN_TIMEOUT_MS 120000
#define KILLED_SLEEPS 2
#define KILLED_SLEEP_MS 1500

static void test_restart_keeps_steps_and_settings(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	h_set_settings(h, json_pack("{s:i}", "async.max_retries", 3));
	h_stop(h);
	h_restart(h);
	json_t *s = h_get(h, "/api/v1/settings", 200);
	assert_int_equal(h_int(s, "async.max_retries"), 3);
	json_decref(s);
	json_t *jobs = h_raise(h, json_pack("{s:s,s:s,s:s}", "message", "Create", "entity",
					    "account", "entity_id", "1"));
	assert_int_equal(json_array_size(jobs), 1);
	json_t *j = h_wait_job(h, h_int(json_array_get(jobs, 0), "id"), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "max_retries"), 3);
	json_decref(j);
	json_decref(jobs);
	h_stop(h);
}

static void test_restart_keeps_queued_jobs(void **state)
{
	struct harness *h = *state;
	char t[H_TIME_LEN];

	h_register_samples(h);
	json_t *when = json_string(h_time(t, QUEUED_DELAY_MS));
	int64_t due = h_parse_time(when);

	json_decref(when);
	for (int i = 0; i < QUEUED_JOBS; i++)
		h_submit(
		    h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop", "postpone_until", t));
	h_stop(h);
	h_restart(h);
	if (h_now_ms() < due - 200) /* restarted before they were due: all still waiting */
		assert_int_equal(h_count(h, 10), QUEUED_JOBS);
	json_t *stats;
	h_wait_all(h, H_WAIT_TIMEOUT_MS, &stats);
	assert_int_equal(h_int(stats, "total"), QUEUED_JOBS);
	assert_int_equal(h_int(json_object_get(stats, "by_status"), "30"), QUEUED_JOBS);
	json_decref(stats);
	json_t *all = h_all_jobs(h), *j;
	size_t i;
	json_array_foreach(all, i, j)
	{
		assert_true(h_parse_time(json_object_get(j, "started_on")) >= due);
	}
	json_decref(all);
	h_stop(h);
}

static int64_t submit_sleep(struct harness *h, int ms)
{
	return h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", ms));
}

/* Jobs that outlive service.stop_timeout are returned to Ready and their late outcomes dropped;
 * this once caught a use-after-free of the writer by such a run after the host stopped. */
static void test_sigterm_mid_run_loses_nothing(void **state)
{
	struct harness *h = *state;
	int64_t sleeps[SLEEP_JOBS];

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:f}", "service.stop_timeout", 0.5));
	for (int i = 0; i < SLEEP_JOBS; i++)
		sleeps[i] = submit_sleep(h, SLEEP_MS);
	for (int i = 0; i < NOOP_JOBS; i++)
		h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop"));
	for (int i = 0; i < SLEEP_JOBS; i++)
		json_decref(h_wait_state(h, sleeps[i], 2, H_WAIT_TIMEOUT_MS));
	int64_t took = h_stop(h);
	if (took > STOP_LIMIT_MS)
		fail_msg("asyncd took %lld ms to stop with service.stop_timeout 0.5 s",
			 (long long)took);
	h_restart(h);
	json_t *stats;
	h_wait_all(h, H_WAIT_TIMEOUT_MS, &stats);
	assert_int_equal(h_int(stats, "total"), SLEEP_JOBS + NOOP_JOBS);
	assert_int_equal(h_int(json_object_get(stats, "by_status"), "30"), SLEEP_JOBS + NOOP_JOBS);
	json_decref(stats);
	for (int i = 0; i < SLEEP_JOBS; i++) {
		json_t *j = h_job(h, sleeps[i]);
		assert_int_equal(h_int(j, "retry_count"), 0); /* a stop is not a failure */
		json_decref(j);
	}
	h_stop(h);
}

/* ---- kill -9 under load ---- */

struct loader {
	struct h_client *client;
	const char *body;
	size_t len;
	int acked_events;   /* answered 201 (atomic) */
	int acked_batches;  /* (atomic) */
	int unknown_events; /* the batch sent when the server died: may or may not be stored */
	int failures_before_kill; /* answers other than 201 while the server lived */
	int stop;		  /* (atomic) */
};

static int load_get(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void load_add(int *p, int n)
{
	__atomic_add_fetch(p, n, __ATOMIC_SEQ_CST);
}

/* Post one batch; false when the server did not acknowledge it. */
static bool post_batch(struct loader *l)
{
	long status;
	json_t *a = h_client_request(l->client, "POST", "/api/v1/events", "application/x-ndjson",
				     l->body, l->len, &status);
	bool ok = status == 201 && json_integer_value(json_object_get(a, "events")) == BATCH_EVENTS;

	json_decref(a);
	if (ok) {
		load_add(&l->acked_events, BATCH_EVENTS);
		load_add(&l->acked_batches, 1);
	} else {
		l->unknown_events = BATCH_EVENTS;
		if (status != 0 && !load_get(&l->stop))
			l->failures_before_kill++;
	}
	return ok;
}

static void *load_run(void *arg)
{
	struct loader *l = arg;
	int64_t end = h_mono_ms() + LOAD_TIMEOUT_MS;

	for (int b = 0; b < MAX_BATCHES && !load_get(&l->stop) && h_mono_ms() < end; b++)
		if (!post_batch(l))
			break;
	return NULL;
}

static char *batch_body(size_t *ret_len)
{
	char *s = NULL;
	FILE *m = open_memstream(&s, ret_len);

	assert_non_null(m);
	for (int i = 0; i < BATCH_EVENTS; i++)
		fprintf(m, "{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":\"%d\"}\n",
			i);
	fclose(m);
	return s;
}

/* Kill the server once BATCHES_BEFORE_KILL batches were acknowledged (or the loader ended). */
static void kill_during_load(struct harness *h, struct loader *l)
{
	int64_t end = h_mono_ms() + LOAD_TIMEOUT_MS;

	while (load_get(&l->acked_batches) < BATCHES_BEFORE_KILL && h_mono_ms() < end)
		h_sleep_ms(5);
	load_add(&l->stop, 1);
	h_kill(h);
}

/* Every job listed once (ids strictly decreasing, newest first), total of them. */
static void check_listing(struct harness *h, int64_t total)
{
	json_t *all = h_all_jobs(h), *j;
	int64_t prev = INT64_MAX;
	size_t i;

	assert_int_equal(json_array_size(all), total);
	json_array_foreach(all, i, j)
	{
		int64_t id = h_int(j, "id");
		if (id >= prev)
			fail_msg("job %lld listed after job %lld", (long long)id, (long long)prev);
		prev = id;
		assert_int_equal(h_int(j, "status"), 30);
	}
	json_decref(all);
}

/* Run the loader in a thread and kill the server under it; l gets the counts. */
static void load_and_kill(struct harness *h, struct loader *l)
{
	pthread_t th;

	l->client = h_client_new(h);
	l->body = batch_body(&l->len);
	assert_int_equal(pthread_create(&th, NULL, load_run, l), 0);
	kill_during_load(h, l);
	pthread_join(th, NULL);
	h_client_free(l->client);
	free((char *)l->body);
	assert_int_equal(l->failures_before_kill, 0);
	assert_true(l->acked_batches >= BATCHES_BEFORE_KILL);
}

static void test_kill9_under_load(void **state)
{
	struct harness *h = *state;
	struct loader l = {0};
	int64_t sleeps[KILLED_SLEEPS];

	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	for (int i = 0; i < KILLED_SLEEPS; i++) /* Locked when the host dies */
		sleeps[i] = submit_sleep(h, KILLED_SLEEP_MS);
	for (int i = 0; i < KILLED_SLEEPS; i++)
		json_decref(h_wait_state(h, sleeps[i], 2, H_WAIT_TIMEOUT_MS));
	load_and_kill(h, &l);
	h_restart(h);
	json_t *stats;
	h_wait_all(h, DRAIN_TIMEOUT_MS, &stats);
	int64_t total = h_int(stats, "total"), events = total - KILLED_SLEEPS;
	fprintf(stderr, "# acknowledged %d events, %d in flight at the kill, %lld event jobs\n",
		l.acked_events, l.unknown_events, (long long)events);
	assert_true(events >= l.acked_events);
	assert_true(events <= l.acked_events + l.unknown_events);
	assert_int_equal(h_int(json_object_get(stats, "by_status"), "30"), total);
	json_decref(stats);
	check_listing(h, total);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_restart_keeps_steps_and_settings, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_restart_keeps_queued_jobs, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_mid_run_loses_nothing, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_under_load, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("durability", tests, NULL, NULL);
}
