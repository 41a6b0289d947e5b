/* Integration tests of the services of a host and of who may drive them, on the real asyncd
 * (SPEC §3, §6; issue 4): start, stop, pause, continue and restart of `async` by a System
 * Administrator only (403 naming the role for the others, audited), a stop that releases held
 * jobs at once and interrupts running ones after service.stop_timeout without spending a retry,
 * events accepted while stopped, a held job canceled before it starts, a pause that waits for
 * running jobs (and a stop or SIGTERM that does not), Disabled, startup types that survive a
 * restart, SIGTERM under load, console login with CSRF, token revocation, the local socket, and
 * `asyncctl service stop` with its progress. Each test runs its own server. */
#include <pthread.h>
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

#define LONG_MS 60000
#define LONG_JOBS 4
#define STOP_LIMIT_MS 15000
#define RAISED_EVENTS 100
#define RAISED_BEFORE_STOP 20
#define RAISED_GATE 50
#define PAUSE_SLEEP_MS 3000
#define PAUSE_QUEUED 5
#define LOAD_BATCH 200
#define LOAD_MAX_BATCHES 30
#define LOAD_BATCHES_BEFORE_TERM 3
#define LOAD_SLEEP_MS 20
#define LOAD_TIMEOUT_MS 60000
#define DRAIN_TIMEOUT_MS 120000
#define HELD_JOBS 3
#define HELD_CANCEL_MS 5000
#define PASSWORD "correct horse battery"
#define TEST_HOST "itest-host"

/* ---- small tools ---- */

static int64_t submit_sleep(struct harness *h, int ms)
{
	return h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", ms));
}

static int64_t submit_noop(struct harness *h)
{
	return h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop"));
}

static json_t *job_action(struct harness *h, int64_t id, const char *action, long want)
{
	char path[96];

	h_path(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)id, action);
	return h_call(h, "POST", path, NULL, want);
}

static void cancel_and_wait(struct harness *h, int64_t id)
{
	json_decref(job_action(h, id, "cancel", 200));
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 32);
	json_decref(j);
}

static void assert_job(json_t *j, int state, int status, int retry_count)
{
	if (h_int(j, "state") != state || h_int(j, "status") != status ||
	    h_int(j, "retry_count") != retry_count)
		fail_msg("job %lld is %lld/%lld with retry_count %lld, not %d/%d with %d (%s)",
			 (long long)h_int(j, "id"), (long long)h_int(j, "state"),
			 (long long)h_int(j, "status"), (long long)h_int(j, "retry_count"), state,
			 status, retry_count, h_str(j, "message"));
}

static void assert_status_in(json_t *svc, const char *a, const char *b)
{
	const char *st = h_str(svc, "status");

	if (!st || (strcmp(st, a) && strcmp(st, b)))
		fail_msg("service %s is %s, not %s or %s", h_str(svc, "name"), st ? st : "(none)",
			 a, b);
}

static int64_t stat_of(json_t *stats, const char *status)
{
	return h_int(json_object_get(stats, "by_status"), status);
}

/* Wait until the async service's dispatcher has made n more passes than now (a bounded poll):
 * from the second on, a pass began after this call and saw the store as it is now. */
static void wait_dispatch_passes(struct harness *h, int n)
{
	json_t *svc = h_service(h, "async");
	int64_t want = h_int(svc, "dispatch_passes") + n, now = 0;
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;

	json_decref(svc);
	while (h_mono_ms() < end) {
		svc = h_service(h, "async");
		now = h_int(svc, "dispatch_passes");
		json_decref(svc);
		if (now >= want)
			return;
		h_sleep_ms(H_POLL_MS);
	}
	fail_msg("the dispatcher made %lld passes, not %lld, in %d ms", (long long)now,
		 (long long)want, H_WAIT_TIMEOUT_MS);
}

/* Jobs that are Locked (In Progress, Pausing, Canceling). */
static int64_t locked_count(struct harness *h)
{
	json_t *s = h_get(h, "/api/v1/jobs/stats", 200);
	int64_t n = stat_of(s, "20") + stat_of(s, "21") + stat_of(s, "22");

	json_decref(s);
	return n;
}

/* ---- who may ---- */

/* The newest entries of the audit log (the caller owns them). */
static json_t *audit_entries(struct harness *h)
{
	json_t *a = h_get(h, "/api/v1/audit?limit=500", 200);
	json_t *e = json_incref(json_object_get(a, "entries"));

	json_decref(a);
	assert_true(json_is_array(e));
	return e;
}

/* Whether an audit entry by user has an action and a target containing the given texts and
 * the given result. */
static bool audited(json_t *entries, const char *user, const char *action, const char *target,
		    const char *result)
{
	json_t *e;
	size_t i;

	json_array_foreach(entries, i, e)
	{
		const char *u = h_str(e, "user"), *a = h_str(e, "action"), *t = h_str(e, "target"),
			   *r = h_str(e, "result");
		if (u && a && t && r && !strcmp(u, user) && strstr(a, action) &&
		    strstr(t, target) && !strcmp(r, result) && h_str(e, "at"))
			return true;
	}
	return false;
}

/* Refused attempts are audited without delaying the refusal: wait for the entry (bounded). */
static void expect_audited(struct harness *h, const char *user, const char *action,
			   const char *target, const char *result)
{
	json_t *entries = audit_entries(h);
	bool found = audited(entries, user, action, target, result);
	for (int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS; !found && h_mono_ms() < end;) {
		h_sleep_ms(H_POLL_MS);
		json_decref(entries);
		entries = audit_entries(h);
		found = audited(entries, user, action, target, result);
	}

	if (!found) {
		char *text = json_dumps(entries, JSON_COMPACT);
		fprintf(stderr, "# audit: %s\n", text);
		free(text);
	}
	json_decref(entries);
	if (!found)
		fail_msg("no audit entry by %s for %s on %s with result %s", user, action, target,
			 result);
}

/* POST a service action with token; checks the 403 and that it names the role needed. */
static void expect_forbidden(struct harness *h, const char *token, const char *action)
{
	struct h_client *c = h_client_token(h, token);
	char path[128];
	long status;

	h_path(path, sizeof(path), "/api/v1/hosts/local/services/async/%s", action);
	json_t *a = h_client_request(c, "POST", path, NULL, NULL, 0, &status);
	if (status != 403)
		fail_msg("%s as a non-administrator: HTTP %ld: %s", path, status, h_client_last(c));
	assert_string_equal(h_error_code(a), "forbidden");
	h_expect_text(h_str(json_object_get(a, "error"), "message"), "System Administrator", path);
	json_decref(a);
	h_client_free(c);
}

/* GET path with token; returns the HTTP status. */
static long status_with(struct harness *h, const char *token, const char *method, const char *path)
{
	struct h_client *c = h_client_token(h, token);
	long status;

	json_decref(h_client_request(c, method, path, NULL, NULL, 0, &status));
	h_client_free(c);
	return status;
}

static void test_only_admins_start_and_stop(void **state)
{
	struct harness *h = *state;
	static const char *const users[] = {"olga", "sam", "rita"};
	static const char *const roles[] = {"Operator", "Submitter", "Reader"};
	char tokens[3][128];

	for (int i = 0; i < 3; i++)
		h_add_user_token(h, users[i], roles[i], NULL, tokens[i]);
	for (int i = 0; i < 3; i++) {
		expect_forbidden(h, tokens[i], "stop");
		expect_forbidden(h, tokens[i], "start");
		expect_forbidden(h, tokens[i], "restart");
		/* SPEC §6: a Submitter raises events and submits jobs, nothing else */
		assert_int_equal(status_with(h, tokens[i], "GET", "/api/v1/services"),
				 i == 1 ? 403 : 200);
		assert_int_equal(status_with(h, tokens[i], "GET", "/api/v1/audit"), 403);
	}
	json_t *svc = h_service(h, "async");
	assert_string_equal(h_str(svc, "status"), "running"); /* nothing happened */
	json_decref(svc);
	for (int i = 0; i < 3; i++) {
		expect_audited(h, users[i], "service.stop", "/services/async/stop", "refused");
		expect_audited(h, users[i], "service.start", "/services/async/start", "refused");
	}
	h_stop(h);
}

/* ---- stop: events accepted, held and running jobs ---- */

struct raiser {
	struct h_client *client;
	int raised;  /* acknowledged with one job (atomic) */
	int stopped; /* the main thread saw the service stopped (atomic) */
	int failures;
};

static int atomic_get(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void atomic_set(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static bool raise_one(struct raiser *r, int i)
{
	char body[160];
	long status;

	snprintf(body, sizeof(body),
		 "{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":\"%d\"}", i);
	json_t *a = h_client_request(r->client, "POST", "/api/v1/events", "application/json", body,
				     strlen(body), &status);
	bool ok = status == 201 && json_array_size(json_object_get(a, "jobs")) == 1;
	json_decref(a);
	return ok;
}

/* Raise RAISED_EVENTS events; the second half waits until the service is stopped. */
static void *raiser_main(void *arg)
{
	struct raiser *r = arg;
	int64_t end = h_mono_ms() + LOAD_TIMEOUT_MS;

	for (int i = 0; i < RAISED_EVENTS; i++) {
		while (i == RAISED_GATE && !atomic_get(&r->stopped) && h_mono_ms() < end)
			h_sleep_ms(5);
		if (raise_one(r, i))
			atomic_set(&r->raised, atomic_get(&r->raised) + 1);
		else
			r->failures++;
	}
	return NULL;
}

static void wait_raised(struct raiser *r, int n)
{
	int64_t end = h_mono_ms() + LOAD_TIMEOUT_MS;

	while (atomic_get(&r->raised) < n && h_mono_ms() < end)
		h_sleep_ms(2);
	assert_true(atomic_get(&r->raised) >= n);
}

/* Stopped: nothing Locked, the service holds and runs nothing; returns how many jobs had run. */
static int64_t expect_nothing_runs(struct harness *h, int64_t ready_at_least)
{
	json_t *s = h_get(h, "/api/v1/jobs/stats", 200);
	int64_t ready = stat_of(s, "0"), done = stat_of(s, "30");

	json_decref(s);
	assert_int_equal(locked_count(h), 0);
	assert_true(ready >= ready_at_least);
	assert_int_equal(ready + done, RAISED_EVENTS);
	json_t *svc = h_service(h, "async");
	assert_string_equal(h_str(svc, "status"), "stopped");
	assert_int_equal(h_int(svc, "jobs_held"), 0);
	assert_int_equal(h_int(svc, "jobs_running"), 0);
	json_decref(svc);
	return done;
}

/* Once everything has run after a start asked for at start_ms (wall clock): the jobs that
 * started before it are exactly the ran_before that had run when the service was found stopped.
 * This covers the whole time the service was stopped, not a window: a stopped service that runs
 * a job late is caught too. */
static void expect_none_ran_between(struct harness *h, int64_t ran_before, int64_t start_ms)
{
	json_t *all = h_all_jobs(h), *j;
	size_t i;
	int64_t early = 0;

	json_array_foreach(all, i, j)
	{
		assert_int_equal(h_int(j, "status"), 30);
		early += h_parse_time(json_object_get(j, "started_on")) < start_ms;
	}
	json_decref(all);
	assert_int_equal(early, ran_before);
}

static void test_stop_while_events_are_raised(void **state)
{
	struct harness *h = *state;
	struct raiser r = {.client = h_client_new(h)};
	pthread_t th;

	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	assert_int_equal(pthread_create(&th, NULL, raiser_main, &r), 0);
	wait_raised(&r, RAISED_BEFORE_STOP);
	json_t *svc = h_service_act(h, "async", "stop", 200);
	assert_status_in(svc, "stop_pending", "stopped");
	json_decref(svc);
	json_decref(h_wait_service(h, "async", "stopped", STOP_LIMIT_MS));
	atomic_set(&r.stopped, 1);
	pthread_join(th, NULL);
	h_client_free(r.client);
	assert_int_equal(r.failures, 0);
	assert_int_equal(r.raised, RAISED_EVENTS);
	int64_t ran = expect_nothing_runs(h, RAISED_EVENTS - RAISED_GATE);
	int64_t start_ms = h_now_ms();
	svc = h_service_act(h, "async", "start", 200);
	assert_string_equal(h_str(svc, "status"), "running");
	json_decref(svc);
	json_t *stats;
	h_wait_all(h, H_WAIT_TIMEOUT_MS, &stats);
	assert_int_equal(stat_of(stats, "30"), RAISED_EVENTS);
	assert_int_equal(h_int(stats, "total"), RAISED_EVENTS);
	json_decref(stats);
	expect_none_ran_between(h, ran, start_ms);
	expect_audited(h, "admin", "service.stop", "async", "ok");
	expect_audited(h, "admin", "service.start", "async", "ok");
	h_stop(h);
}

static void wait_all_locked(struct harness *h, const int64_t *ids, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(h_wait_state(h, ids[i], 2, H_WAIT_TIMEOUT_MS));
}

/* The answer to a stop that drains shows its progress. */
static void check_stop_answer(json_t *svc, int running)
{
	assert_status_in(svc, "stop_pending", "stopped");
	if (strcmp(h_str(svc, "status"), "stop_pending"))
		return;
	assert_true(h_int(svc, "jobs_running") <= running);
	assert_true(json_is_number(json_object_get(svc, "seconds_left")));
}

static void test_stop_interrupts_long_jobs(void **state)
{
	struct harness *h = *state;
	int64_t ids[LONG_JOBS];

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "service.stop_timeout", 1));
	for (int i = 0; i < LONG_JOBS; i++)
		ids[i] = submit_sleep(h, LONG_MS);
	wait_all_locked(h, ids, LONG_JOBS);
	int64_t t0 = h_mono_ms();
	json_t *svc = h_service_act(h, "async", "stop", 200);
	check_stop_answer(svc, LONG_JOBS);
	json_decref(svc);
	json_decref(h_wait_service(h, "async", "stopped", STOP_LIMIT_MS));
	int64_t took = h_mono_ms() - t0;
	fprintf(stderr, "# stopped with %d running jobs in %lld ms\n", LONG_JOBS, (long long)took);
	assert_true(took < STOP_LIMIT_MS);
	for (int i = 0; i < LONG_JOBS; i++) {
		json_t *j = h_job(h, ids[i]);
		assert_job(j, 0, 0, 0); /* back in Ready, no retry spent */
		json_decref(j);
	}
	json_decref(h_service_act(h, "async", "start", 200));
	wait_all_locked(h, ids, LONG_JOBS); /* they run again */
	for (int i = 0; i < LONG_JOBS; i++)
		cancel_and_wait(h, ids[i]);
	h_stop(h);
}

/* With samples.sleep throttled to one at a time, one job runs and the others are held in
 * memory (Locked, not started): a stop gives the held ones back at once, the running one after
 * service.stop_timeout. */
static void test_stop_releases_held_jobs_at_once(void **state)
{
	struct harness *h = *state;
	int64_t ids[1 + HELD_JOBS];

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i,s:s}", "service.stop_timeout", 5, "async.throttling",
				    "samples.sleep=1"));
	for (int i = 0; i < 1 + HELD_JOBS; i++)
		ids[i] = submit_sleep(h, LONG_MS);
	wait_all_locked(h, ids, 1 + HELD_JOBS); /* all claimed: one running, the rest held */
	json_t *svc = h_service(h, "async");
	assert_int_equal(h_int(svc, "jobs_running"), 1);
	assert_int_equal(h_int(svc, "jobs_held"), HELD_JOBS);
	json_decref(svc);
	svc = h_service_act(h, "async", "stop", 200);
	assert_string_equal(h_str(svc, "status"), "stop_pending"); /* 5 s for the running one */
	assert_int_equal(h_int(svc, "jobs_running"), 1);
	json_decref(svc);
	assert_int_equal(locked_count(h), 1); /* the held ones are Ready already */
	assert_int_equal(h_count(h, 0), HELD_JOBS);
	json_decref(h_wait_service(h, "async", "stopped", STOP_LIMIT_MS));
	assert_int_equal(h_count(h, 0), 1 + HELD_JOBS);
	json_t *j = h_job(h, ids[0]);
	assert_job(j, 0, 0, 0);
	json_decref(j);
	h_set_settings(h, json_pack("{s:s}", "async.throttling", ""));
	json_decref(h_service_act(h, "async", "start", 200));
	wait_all_locked(h, ids, 1 + HELD_JOBS);
	for (int i = 0; i < 1 + HELD_JOBS; i++)
		cancel_and_wait(h, ids[i]);
	h_stop(h);
}

/* A job held in memory (claimed, not started: its type is at its throttle) and canceled never
 * runs: it ends Canceled at once, not when it would have had its turn. */
static void test_cancel_of_held_job_is_prompt(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i,s:s}", "service.stop_timeout", 1, "async.throttling",
				    "samples.sleep=1"));
	int64_t running = submit_sleep(h, LONG_MS);
	json_decref(h_wait_state(h, running, 2, H_WAIT_TIMEOUT_MS));
	int64_t held = submit_sleep(h, LONG_MS);
	json_decref(h_wait_state(h, held, 2, H_WAIT_TIMEOUT_MS));
	json_t *svc = h_service(h, "async");
	assert_int_equal(h_int(svc, "jobs_held"), 1);
	json_decref(svc);
	json_decref(job_action(h, held, "cancel", 200));
	json_t *j = h_wait_job(h, held, HELD_CANCEL_MS);
	assert_job(j, 3, 32, 0);
	assert_true(json_is_null(json_object_get(j, "started_on"))); /* it never ran */
	json_decref(j);
	cancel_and_wait(h, running);
	h_stop(h);
}

/* ---- pause, continue, disabled, restart ---- */

static void test_pause_and_continue(void **state)
{
	struct harness *h = *state;
	int64_t queued[PAUSE_QUEUED];

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:f}", "async.select_interval", 0.05));
	int64_t running = submit_sleep(h, PAUSE_SLEEP_MS);
	json_decref(h_wait_state(h, running, 2, H_WAIT_TIMEOUT_MS));
	json_t *svc = h_service_act(h, "async", "pause", 200);
	assert_string_equal(h_str(svc, "status"), "pause_pending"); /* the job still runs */
	assert_int_equal(h_int(svc, "jobs_running"), 1);
	json_decref(svc);
	for (int i = 0; i < PAUSE_QUEUED; i++)
		queued[i] = submit_noop(h);
	json_decref(h_wait_service(h, "async", "paused", H_WAIT_TIMEOUT_MS));
	json_t *j = h_job(h, running);
	assert_job(j, 3, 30, 0); /* the running job finished */
	json_decref(j);
	/* a paused dispatcher still makes its passes (every async.select_interval, set short above)
	 * and claims nothing: two more passes, and the second began after the jobs were queued */
	wait_dispatch_passes(h, 2);
	assert_int_equal(h_count(h, 0), PAUSE_QUEUED);
	svc = h_service(h, "async");
	assert_int_equal(h_int(svc, "jobs_held"), 0);
	json_decref(svc);
	json_decref(h_service_act(h, "async", "pause", 409));
	json_decref(h_service_act(h, "async", "start", 409));
	int64_t continue_ms = h_now_ms();
	svc = h_service_act(h, "async", "continue", 200);
	assert_status_in(svc, "running", "continue_pending");
	json_decref(svc);
	for (int i = 0; i < PAUSE_QUEUED; i++) {
		j = h_wait_job(h, queued[i], H_WAIT_TIMEOUT_MS);
		assert_job(j, 3, 30, 0);
		/* it waited for the continue, however long the pause lasted */
		assert_true(h_parse_time(json_object_get(j, "started_on")) >= continue_ms);
		json_decref(j);
	}
	json_decref(h_wait_service(h, "async", "running", H_WAIT_TIMEOUT_MS));
	json_decref(h_service_act(h, "async", "continue", 409));
	expect_audited(h, "admin", "service.pause", "async", "ok");
	expect_audited(h, "admin", "service.continue", "async", "ok");
	h_stop(h);
}

/* A pause waits for its running jobs without a time limit; a stop may overtake it. */
static void test_stop_overtakes_pause(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "service.stop_timeout", 1));
	int64_t id = submit_sleep(h, LONG_MS);
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	json_t *svc = h_service_act(h, "async", "pause", 200);
	assert_string_equal(h_str(svc, "status"), "pause_pending");
	json_decref(svc);
	json_decref(h_service_act(h, "async", "continue", 503)); /* busy pausing */
	int64_t t0 = h_mono_ms();
	json_decref(h_service_act(h, "async", "stop", 200));
	json_decref(h_wait_service(h, "async", "stopped", STOP_LIMIT_MS));
	assert_true(h_mono_ms() - t0 < STOP_LIMIT_MS);
	json_t *j = h_job(h, id);
	assert_job(j, 0, 0, 0);
	json_decref(j);
	json_decref(h_service_act(h, "async", "start", 200));
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	cancel_and_wait(h, id);
	h_stop(h);
}

/* SIGTERM stops every service "as above": with service.stop_timeout, also while a pause waits
 * for a long job. */
static void test_sigterm_while_pause_pending(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "service.stop_timeout", 1));
	int64_t id = submit_sleep(h, LONG_MS);
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	json_t *svc = h_service_act(h, "async", "pause", 200);
	assert_string_equal(h_str(svc, "status"), "pause_pending");
	json_decref(svc);
	int64_t took = h_stop(h); /* fails when asyncd waits for the 60 s job */
	fprintf(stderr, "# SIGTERM during pause_pending took %lld ms\n", (long long)took);
	h_restart(h);
	json_t *j = h_job(h, id);
	assert_int_equal(h_int(j, "retry_count"), 0);
	assert_true(h_int(j, "state") == 0 || h_int(j, "state") == 2);
	json_decref(j);
	cancel_and_wait(h, id);
	h_stop(h);
}

static json_t *configure(struct harness *h, const char *host, const char *name, json_t *body,
			 long want)
{
	char path[256];

	h_path(path, sizeof(path), "/api/v1/hosts/%s/services/%s", host, name);
	return h_call(h, "PATCH", path, body, want);
}

static void test_disabled_refuses_start(void **state)
{
	struct harness *h = *state;

	json_t *svc =
	    configure(h, "local", "async", json_pack("{s:s}", "startup_type", "disabled"), 200);
	assert_string_equal(h_str(svc, "startup_type"), "disabled");
	json_decref(svc);
	json_decref(h_service_act(h, "async", "stop", 200)); /* stopping is still allowed */
	json_decref(h_wait_service(h, "async", "stopped", STOP_LIMIT_MS));
	json_t *a = h_service_act(h, "async", "start", 409);
	assert_string_equal(h_error_code(a), "conflict");
	h_expect_text(h_str(json_object_get(a, "error"), "message"), "disabled", "start refused");
	json_decref(a);
	json_decref(h_service_act(h, "async", "restart", 409));
	expect_audited(h, "admin", "service.start", "async", "refused");
	json_decref(
	    configure(h, "local", "async", json_pack("{s:s}", "startup_type", "fast"), 400));
	json_decref(
	    configure(h, "local", "async", json_pack("{s:s}", "startup_type", "manual"), 200));
	svc = h_service_act(h, "async", "start", 200);
	assert_string_equal(h_str(svc, "status"), "running");
	json_decref(svc);
	h_stop(h);
}

static void test_restart(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "service.stop_timeout", 1));
	int64_t id = submit_sleep(h, LONG_MS);
	json_t *j = h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS);
	int64_t attempt = h_int(j, "attempt");
	json_decref(j);
	json_t *before = h_service(h, "async");
	json_decref(h_service_act(h, "async", "restart", 200));
	json_t *after = h_wait_service(h, "async", "running", STOP_LIMIT_MS);
	assert_true(h_parse_time(json_object_get(after, "since")) >
		    h_parse_time(json_object_get(before, "since")));
	json_decref(before);
	json_decref(after);
	/* the interrupted job is claimed again by the new start, without a retry spent */
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	/* (its start is written a moment after its claim: wait for both) */
	while ((j = h_job(h, id)) && (h_int(j, "attempt") == attempt || h_int(j, "status") != 20) &&
	       h_mono_ms() < end) {
		json_decref(j);
		h_sleep_ms(H_POLL_MS);
	}
	assert_job(j, 2, 20, 0);
	assert_true(h_int(j, "attempt") > attempt);
	json_decref(j);
	assert_int_equal(h_count(h, 30), 0);
	cancel_and_wait(h, id);
	j = h_wait_job(h, submit_noop(h), H_WAIT_TIMEOUT_MS);
	assert_job(j, 3, 30, 0);
	json_decref(j);
	expect_audited(h, "admin", "service.restart", "async", "ok");
	h_stop(h);
}

/* ---- host lifecycle ---- */

struct loader {
	struct h_client *client;
	char *body;
	size_t len;
	int acked_events;  /* (atomic) */
	int acked_batches; /* (atomic) */
	int unknown_events;
	int stop; /* (atomic) */
};

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	int64_t end = h_mono_ms() + LOAD_TIMEOUT_MS;
	long status;

	for (int b = 0; b < LOAD_MAX_BATCHES && !atomic_get(&l->stop) && h_mono_ms() < end; b++) {
		json_t *a = h_client_request(l->client, "POST", "/api/v1/events",
					     "application/x-ndjson", l->body, l->len, &status);
		bool ok = status == 201 && h_int(a, "jobs") == LOAD_BATCH;
		json_decref(a);
		if (!ok) {
			l->unknown_events = LOAD_BATCH; /* the batch the SIGTERM cut */
			break;
		}
		atomic_set(&l->acked_events, atomic_get(&l->acked_events) + LOAD_BATCH);
		atomic_set(&l->acked_batches, atomic_get(&l->acked_batches) + 1);
	}
	return NULL;
}

static char *load_body(size_t *ret_len)
{
	char *s = NULL;
	FILE *m = open_memstream(&s, ret_len);

	assert_non_null(m);
	for (int i = 0; i < LOAD_BATCH; i++)
		fprintf(m,
			"{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":\"%d\","
			"\"target\":{\"ms\":%d}}\n",
			i, LOAD_SLEEP_MS);
	fclose(m);
	return s;
}

/* Every job listed once, Succeeded, with retry_count 0. */
static void check_all_succeeded(struct harness *h, int64_t total)
{
	json_t *all = h_all_jobs(h), *j;
	size_t i;

	assert_int_equal(json_array_size(all), total);
	json_array_foreach(all, i, j)
	{
		assert_job(j, 3, 30, 0);
	}
	json_decref(all);
}

static void test_sigterm_under_load_loses_nothing(void **state)
{
	struct harness *h = *state;
	struct loader l = {0};
	pthread_t th;

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "service.stop_timeout", 2));
	h_add_simple_step(h, "samples.sleep", "Create", "account");
	l.client = h_client_new(h);
	l.body = load_body(&l.len);
	assert_int_equal(pthread_create(&th, NULL, loader_main, &l), 0);
	int64_t end = h_mono_ms() + LOAD_TIMEOUT_MS;
	while (atomic_get(&l.acked_batches) < LOAD_BATCHES_BEFORE_TERM && h_mono_ms() < end)
		h_sleep_ms(5);
	assert_true(locked_count(h) > 0); /* jobs are running */
	int64_t took = h_stop(h);	  /* SIGTERM with events in flight: exit 0 */
	atomic_set(&l.stop, 1);
	pthread_join(th, NULL);
	h_client_free(l.client);
	free(l.body);
	fprintf(stderr, "# SIGTERM took %lld ms; %d events acknowledged, %d in flight\n",
		(long long)took, l.acked_events, l.unknown_events);
	assert_true(l.acked_batches >= LOAD_BATCHES_BEFORE_TERM);
	h_restart(h);
	json_t *stats;
	h_wait_all(h, DRAIN_TIMEOUT_MS, &stats);
	int64_t total = h_int(stats, "total");
	json_decref(stats);
	assert_true(total >= l.acked_events);
	assert_true(total <= l.acked_events + l.unknown_events);
	check_all_succeeded(h, total);
	h_stop(h);
}

static void test_startup_type_survives_restart(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_stop(h);
	h_restart_args(h, "--host-id", TEST_HOST, NULL); /* a host id that outlives the port */
	json_t *svc =
	    configure(h, TEST_HOST, "async",
		      json_pack("{s:s,s:i}", "startup_type", "manual", "recovery_delay_s", 9), 200);
	assert_string_equal(h_str(svc, "host"), TEST_HOST);
	json_decref(svc);
	/* asyncctl service set: the same through the CLI, refusing what it cannot send */
	struct h_cmd c;
	h_ctl(h, &c, "service", "set", "async", "--recovery-delay", "3", NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.out, "startup manual, recovery delay 3 s", "asyncctl service set");
	h_cmd_done(&c);
	h_ctl(h, &c, "service", "set", "async", "--recovery-delay", "soon", NULL);
	assert_int_not_equal(c.status, 0);
	h_expect_text(c.err, "--recovery-delay", "asyncctl service set");
	h_cmd_done(&c);
	h_ctl(h, &c, "service", "set", "async", NULL);
	assert_int_not_equal(c.status, 0);
	h_expect_text(c.err, "--startup", "asyncctl service set");
	h_cmd_done(&c);
	h_stop(h);
	h_restart_args(h, "--host-id", TEST_HOST, NULL);
	svc = h_service(h, "async");
	assert_string_equal(h_str(svc, "status"), "stopped");
	assert_string_equal(h_str(svc, "startup_type"), "manual");
	assert_int_equal(h_int(svc, "recovery_delay_s"), 3);
	json_decref(svc);
	svc = h_service(h, "async-maintenance");
	assert_string_equal(h_str(svc, "status"), "running"); /* still automatic */
	json_decref(svc);
	int64_t id = submit_noop(h);
	json_t *j = h_job(h, id);
	assert_job(j, 0, 0, 0);
	json_decref(j);
	svc = h_service(h, "async");
	assert_int_equal(h_int(svc, "dispatch_passes"), 0); /* no dispatcher ever ran here */
	json_decref(svc);
	int64_t start_ms = h_now_ms();
	json_decref(
	    h_call(h, "POST", "/api/v1/hosts/" TEST_HOST "/services/async/start", NULL, 200));
	j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	assert_job(j, 3, 30, 0);
	/* it waited for the start, however long the service had been stopped */
	assert_int_equal(h_int(j, "attempt"), 1);
	assert_true(h_parse_time(json_object_get(j, "started_on")) >= start_ms);
	json_decref(j);
	h_stop(h);
}

/* ---- authentication ---- */

/* The value of the asyncd_session cookie in the answer's headers, into buf ("" when none);
 * checks its attributes. */
static void session_cookie(const char *headers, char *buf, size_t n)
{
	const char *c = strstr(headers, "asyncd_session=");

	buf[0] = 0;
	if (!c)
		return;
	const char *eol = c + strcspn(c, "\r\n");
	char line[512];
	snprintf(line, sizeof(line), "%.*s", (int)(eol - c), c);
	h_expect_text(line, "HttpOnly", "the session cookie");
	h_expect_text(line, "SameSite=Strict", "the session cookie");
	snprintf(buf, n, "%.*s", (int)strcspn(c, ";\r\n"), c);
}

/* A request with the session cookie and no token (csrf: the X-CSRF-Token to send, or NULL). */
static long with_cookie(struct harness *h, const char *cookie, const char *csrf, const char *method,
			const char *path)
{
	char cookie_line[300], csrf_line[300];
	const char *headers[3] = {cookie_line, NULL, NULL};
	struct h_answer a;

	snprintf(cookie_line, sizeof(cookie_line), "Cookie: %s", cookie);
	if (csrf) {
		snprintf(csrf_line, sizeof(csrf_line), "X-CSRF-Token: %s", csrf);
		headers[1] = csrf_line;
	}
	struct h_req req = {.method = method, .path = path, .headers = headers, .no_token = true};
	h_request_ex(h, &req, &a);
	long status = a.status;
	h_answer_done(&a);
	return status;
}

static void login(struct harness *h, const char *password, struct h_answer *ret)
{
	char body[200];

	snprintf(body, sizeof(body), "{\"name\":\"ada\",\"password\":\"%s\"}", password);
	struct h_req req = {
	    .method = "POST", .path = "/api/v1/login", .body = body, .no_token = true};
	h_request_ex(h, &req, ret);
}

static void test_login_and_csrf(void **state)
{
	struct harness *h = *state;
	char token[128], cookie[256], path[96], csrf[128];
	struct h_answer a;

	h_register_samples(h);
	h_add_user_token(h, "ada", "Operator", PASSWORD, token);
	login(h, "wrong horse battery", &a);
	assert_int_equal(a.status, 401);
	h_answer_done(&a);
	login(h, PASSWORD, &a);
	assert_int_equal(a.status, 200);
	session_cookie(a.headers, cookie, sizeof(cookie));
	assert_true(cookie[0]);
	snprintf(csrf, sizeof(csrf), "%s", h_str(a.json, "csrf_token"));
	assert_true(strlen(csrf) >= 16);
	h_answer_done(&a);
	assert_int_equal(with_cookie(h, cookie, NULL, "GET", "/api/v1/whoami"), 200);
	char t[H_TIME_LEN];
	int64_t id = h_submit(h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
					   "postpone_until", h_time(t, 3600 * 1000)));
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id);
	assert_int_equal(with_cookie(h, cookie, NULL, "POST", path), 403);
	assert_int_equal(with_cookie(h, cookie, "0123456789abcdef", "POST", path), 403);
	json_t *j = h_job(h, id);
	assert_job(j, 1, 10, 0); /* not canceled */
	json_decref(j);
	assert_int_equal(with_cookie(h, cookie, csrf, "POST", path), 200);
	j = h_job(h, id);
	assert_job(j, 3, 32, 0);
	json_decref(j);
	/* an Operator's session may not stop the service, CSRF token or not */
	assert_int_equal(
	    with_cookie(h, cookie, csrf, "POST", "/api/v1/hosts/local/services/async/stop"), 403);
	assert_int_equal(with_cookie(h, cookie, csrf, "POST", "/api/v1/logout"), 204);
	assert_int_equal(with_cookie(h, cookie, NULL, "GET", "/api/v1/whoami"), 401);
	h_stop(h);
}

static void test_revoked_token_is_refused(void **state)
{
	struct harness *h = *state;
	char token[128], path[64];

	int64_t id = h_add_user_token(h, "sam", "Submitter", NULL, token);
	struct h_client *c = h_client_token(h, token);
	long status;
	json_t *me = h_client_request(c, "GET", "/api/v1/whoami", NULL, NULL, 0, &status);
	assert_int_equal(status, 200);
	assert_string_equal(h_str(me, "name"), "sam");
	json_decref(me);
	h_path(path, sizeof(path), "/api/v1/tokens/%lld", (long long)id);
	assert_null(h_call(h, "DELETE", path, NULL, 204));
	json_t *a = h_client_request(c, "GET", "/api/v1/whoami", NULL, NULL, 0, &status);
	assert_int_equal(status, 401);
	assert_string_equal(h_error_code(a), "unauthorized");
	json_decref(a);
	const char *job = "{\"plugin_type\":\"samples.noop\"}";
	json_decref(h_client_request(c, "POST", "/api/v1/jobs", "application/json", job,
				     strlen(job), &status));
	assert_int_equal(status, 401);
	h_client_free(c);
	h_stop(h);
}

static bool has_role(json_t *me, const char *role)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(me, "roles"), i, r)
	{
		if (json_is_string(r) && !strcmp(json_string_value(r), role))
			return true;
	}
	return false;
}

static void test_local_socket_as_root(void **state)
{
	struct harness *h = *state;
	struct h_answer a;

	if (geteuid() != 0) {
		h_stop(h);
		skip(); /* the peer-credential rule under test is root's */
	}
	struct h_req who = {
	    .method = "GET", .path = "/api/v1/whoami", .no_token = true, .unix_socket = true};
	h_request_ex(h, &who, &a);
	assert_int_equal(a.status, 200);
	assert_true(has_role(a.json, "System Administrator"));
	h_expect_text(h_str(a.json, "name"), "root", "whoami over the local socket");
	h_answer_done(&a);
	struct h_req stop = {.method = "POST",
			     .path = "/api/v1/hosts/local/services/async/stop",
			     .no_token = true,
			     .unix_socket = true};
	h_request_ex(h, &stop, &a);
	assert_int_equal(a.status, 200);
	h_answer_done(&a);
	json_decref(h_wait_service(h, "async", "stopped", STOP_LIMIT_MS));
	expect_audited(h, "unix:root", "service.stop", "async", "ok");
	struct h_req tcp = {.method = "GET", .path = "/api/v1/whoami", .no_token = true};
	h_request_ex(h, &tcp, &a);
	assert_int_equal(a.status, 401); /* over TCP, no token is no one */
	h_answer_done(&a);
	h_stop(h);
}

/* ---- asyncctl ---- */

static void expect_exit(const struct h_cmd *c, int status, const char *what)
{
	if (c->status == status)
		return;
	fprintf(stderr, "# %s\n# stdout:\n%s\n# stderr:\n%s\n", what, c->out, c->err);
	fail_msg("%s: exit %d instead of %d", what, c->status, status);
}

static void test_ctl_service_stop_shows_progress(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;
	int64_t ids[2];

	h_register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "service.stop_timeout", 2));
	for (int i = 0; i < 2; i++)
		ids[i] = submit_sleep(h, LONG_MS);
	wait_all_locked(h, ids, 2);
	h_ctl(h, &c, "service", "stop", "async", NULL);
	expect_exit(&c, 0, "service stop");
	h_expect_text(c.err, "stop_pending", "service stop progress");
	h_expect_text(c.err, "2 jobs running", "service stop progress");
	h_expect_text(c.err, "s left", "service stop progress");
	h_cmd_done(&c);
	json_t *svc = h_service(h, "async");
	assert_string_equal(h_str(svc, "status"), "stopped");
	json_decref(svc);
	h_ctl(h, &c, "service", "list", NULL);
	expect_exit(&c, 0, "service list");
	h_expect_text(c.out, "stopped", "service list");
	h_expect_text(c.out, "async-maintenance", "service list");
	h_cmd_done(&c);
	h_ctl(h, &c, "service", "start", "async", NULL);
	expect_exit(&c, 0, "service start");
	h_cmd_done(&c);
	json_decref(h_wait_service(h, "async", "running", STOP_LIMIT_MS));
	h_ctl(h, &c, "--json", "audit", "list", NULL);
	expect_exit(&c, 0, "audit list");
	h_expect_text(c.out, "service.stop", "audit list");
	h_cmd_done(&c);
	for (int i = 0; i < 2; i++)
		cancel_and_wait(h, ids[i]);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_only_admins_start_and_stop, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_while_events_are_raised, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_interrupts_long_jobs, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_releases_held_jobs_at_once, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_of_held_job_is_prompt, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_pause_and_continue, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_overtakes_pause, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_while_pause_pending, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_disabled_refuses_start, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_restart, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_under_load_loses_nothing, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_startup_type_survives_restart, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_login_and_csrf, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_token_is_refused, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_local_socket_as_root, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ctl_service_stop_shows_progress, h_setup,
					    h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("services", tests, NULL, NULL);
}
