/* Several hosts on one PostgreSQL database (issue 13): three asyncd processes, each with its own
 * state directory, share the jobs; kill -9 of one under load hands its Locked jobs to the others
 * after async.time_until_lock_expires (none lost, none run to completion twice); a host paused
 * past the expiry (SIGSTOP) finds its late outcomes refused by the fence; GET /api/v1/hosts and
 * `asyncctl host list` show every host alive or dead. Runs in the suite pg only. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "testdb.h"

#define HOSTS 3
#define JOBS 90
#define SLEEP_MS 300
#define EXPIRES_S 3
#define RECOVER_MS 60000

struct peers {
	struct harness *h[HOSTS];
	char id[HOSTS][256];
};

/* This host's id, from its own GET /api/v1/hosts. */
static void host_id(struct harness *h, char *out, size_t n)
{
	json_t *a = h_get(h, "/api/v1/hosts", 200), *row;
	size_t i;
	out[0] = 0;
	json_array_foreach(json_object_get(a, "hosts"), i, row)
	{
		if (json_is_true(json_object_get(row, "this_host")))
			snprintf(out, n, "%s", h_str(row, "id"));
	}
	json_decref(a);
	assert_true(out[0] != 0);
}

/* The status ("alive", "dead", "stopped") of host id as h lists it; "" when not listed. */
static void host_status(struct harness *h, const char *id, char *out, size_t n)
{
	json_t *a = h_get(h, "/api/v1/hosts", 200), *row;
	size_t i;
	out[0] = 0;
	json_array_foreach(json_object_get(a, "hosts"), i, row)
	{
		if (!strcmp(h_str(row, "id"), id))
			snprintf(out, n, "%s", h_str(row, "status"));
	}
	json_decref(a);
}

static void wait_host_status(struct harness *h, const char *id, const char *want)
{
	char got[32];
	int64_t end = h_mono_ms() + RECOVER_MS;
	for (;;) {
		host_status(h, id, got, sizeof(got));
		if (!strcmp(got, want))
			return;
		if (h_mono_ms() > end)
			fail_msg("host %s is '%s', not '%s', after %d ms", id, got, want,
				 RECOVER_MS);
		h_sleep_ms(100);
	}
}

/* This host's last heartbeat is later than every host's start. */
static bool beat_after_starts(struct harness *h)
{
	json_t *a = h_get(h, "/api/v1/hosts", 200), *row;
	size_t i;
	int64_t newest = 0, mine = 0;
	json_array_foreach(json_object_get(a, "hosts"), i, row)
	{
		int64_t started = h_parse_time(json_object_get(row, "started_on"));
		newest = started > newest ? started : newest;
		if (json_is_true(json_object_get(row, "this_host")))
			mine = h_parse_time(json_object_get(row, "last_heartbeat"));
	}
	json_decref(a);
	return mine > newest;
}

static void wait_beat_after_starts(struct harness *h)
{
	int64_t end = h_mono_ms() + RECOVER_MS;
	while (!beat_after_starts(h)) {
		if (h_mono_ms() > end)
			fail_msg("no heartbeat after the hosts' starts within %d ms", RECOVER_MS);
		h_sleep_ms(50);
	}
}

static void start_peers_with(struct peers *p, json_t *extra)
{
	p->h[0] = h_start();
	h_restart(p->h[0]);
	h_register_samples(p->h[0]);
	/* stored before the others start, so that every host reads them at its start */
	h_set_settings(p->h[0], json_pack("{s:i,s:i}", "async.keepalive_interval", 1,
					  "async.time_until_lock_expires", EXPIRES_S));
	if (extra)
		h_set_settings(p->h[0], extra);
	h_stop(p->h[0]);
	h_restart(p->h[0]);
	for (int i = 1; i < HOSTS; i++)
		p->h[i] = h_start_peer(p->h[0]);
	for (int i = 0; i < HOSTS; i++)
		host_id(p->h[i], p->id[i], sizeof(p->id[i]));
	for (int i = 0; i < HOSTS; i++)
		wait_host_status(p->h[0], p->id[i], "alive");
	/* each host counts the live hosts at its heartbeat: wait for one after the last start */
	for (int i = 0; i < HOSTS; i++)
		wait_beat_after_starts(p->h[i]);
}

/* a small window: every host holds a few jobs at a time */
static void start_peers(struct peers *p)
{
	start_peers_with(p, json_pack("{s:i,s:i}", "async.items_in_memory_low", 3,
				      "async.items_in_memory_high", 6));
}

static void free_peers(struct peers *p)
{
	for (int i = HOSTS - 1; i >= 0; i--)
		h_free(p->h[i]);
}

/* The ids of the jobs host id holds Locked now, seen from h (at most max). */
static size_t locked_by(struct harness *h, const char *id, int64_t *out, size_t max)
{
	json_t *a = h_get(h, "/api/v1/jobs?state=2&limit=500", 200), *j;
	size_t i, n = 0;
	json_array_foreach(json_object_get(a, "jobs"), i, j)
	{
		const char *holder = h_str(j, "host_id");
		if (holder && !strcmp(holder, id) && n < max)
			out[n++] = h_int(j, "id");
	}
	json_decref(a);
	return n;
}

static bool contains(const int64_t *v, size_t n, int64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Every job Completed/Succeeded; those run twice (attempt 2) were all held by the lost host. */
static void check_all_succeeded(struct harness *h, const int64_t *ids, size_t n,
				const int64_t *held, size_t n_held)
{
	int again = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *j = h_job(h, ids[i]);
		assert_int_equal(h_int(j, "state"), 3);
		assert_int_equal(h_int(j, "status"), 30);
		int64_t attempt = h_int(j, "attempt");
		assert_true(attempt == 1 || attempt == 2);
		if (attempt == 2) {
			assert_true(contains(held, n_held, ids[i]));
			again++;
		}
		json_decref(j);
	}
	fprintf(stderr,
		"# %zu jobs succeeded once each; %d of the %zu held by the lost host ran "
		"again elsewhere\n",
		n, again, n_held);
}

static void submit_sleeps(struct harness *h, int64_t *ids, int n)
{
	for (int i = 0; i < n; i++)
		ids[i] = h_submit(h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep",
					       "data", "ms", SLEEP_MS));
}

/* kill -9 of one host under load: its jobs finish on the others after the expiry. */
static void kill_one_host_under_load(void **state)
{
	(void)state;
	struct peers p = {0};
	int64_t ids[JOBS], held[64];
	size_t n_held = 0;
	start_peers(&p);
	submit_sleeps(p.h[0], ids, JOBS);
	int64_t end = h_mono_ms() + RECOVER_MS;
	while ((n_held = locked_by(p.h[0], p.id[2], held, 64)) == 0) {
		if (h_mono_ms() > end)
			fail_msg("host %s never claimed a job: the work is not shared", p.id[2]);
		h_sleep_ms(20);
	}
	h_kill(p.h[2]);
	int64_t killed = h_mono_ms();
	json_t *stats;
	h_wait_all(p.h[0], RECOVER_MS, &stats);
	fprintf(stderr, "# kill -9 with %zu jobs held: all %d done %lld ms later\n", n_held, JOBS,
		(long long)(h_mono_ms() - killed));
	assert_int_equal(h_int(stats, "total"), JOBS);
	assert_int_equal(h_int(json_object_get(stats, "by_status"), "30"), JOBS);
	json_decref(stats);
	check_all_succeeded(p.h[1], ids, JOBS, held, n_held);
	wait_host_status(p.h[1], p.id[2], "dead");
	struct h_cmd c;
	h_ctl(p.h[0], &c, "host", "list", NULL);
	assert_int_equal(c.status, 0);
	assert_non_null(strstr(c.out, p.id[2]));
	assert_non_null(strstr(c.out, "dead"));
	h_cmd_done(&c);
	for (int i = 0; i < 2; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

/* A host paused past the expiry: its jobs run elsewhere; when it continues, its late outcomes
 * are refused (each job ends once, at attempt 2, by another host), and it says so in its log. */
static void paused_host_is_fenced(void **state)
{
	(void)state;
	struct peers p = {0};
	int64_t ids[JOBS / 3], held[64];
	size_t n_held = 0;
	start_peers(&p);
	submit_sleeps(p.h[0], ids, JOBS / 3);
	int64_t end = h_mono_ms() + RECOVER_MS;
	while ((n_held = locked_by(p.h[0], p.id[1], held, 64)) == 0) {
		if (h_mono_ms() > end)
			fail_msg("host %s never claimed a job", p.id[1]);
		h_sleep_ms(20);
	}
	kill(p.h[1]->pid, SIGSTOP);
	wait_host_status(p.h[0], p.id[1], "dead");
	h_wait_all(p.h[0], RECOVER_MS, NULL);
	kill(p.h[1]->pid, SIGCONT);
	/* its heartbeat comes back: alive again, and it noticed */
	wait_host_status(p.h[0], p.id[1], "alive");
	char log[300];
	size_t len;
	snprintf(log, sizeof(log), "%s/asyncd.log", p.h[1]->dir);
	char *text = h_read_file(log, &len);
	h_expect_text(text, "gave no heartbeat", "the paused host's log");
	free(text);
	check_all_succeeded(p.h[0], ids, JOBS / 3, held, n_held);
	for (size_t i = 0; i < n_held; i++) {
		json_t *j = h_job(p.h[0], held[i]);
		assert_int_equal(h_int(j, "attempt"), 2);
		json_decref(j);
	}
	for (int i = 0; i < HOSTS; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

/* A setting changed on one host takes effect on the others (NOTIFY asyncd_settings). */
static void settings_reach_every_host(void **state)
{
	(void)state;
	struct peers p = {0};
	start_peers(&p);
	h_set_settings(p.h[0], json_pack("{s:i}", "job.max_trace_bytes", 12345));
	int64_t t0 = h_mono_ms();
	for (int i = 1; i < HOSTS; i++)
		for (;;) {
			json_t *v = h_get(p.h[i], "/api/v1/settings", 200);
			json_t *now = json_object_get(v, "job.max_trace_bytes");
			if (!now)
				now = json_object_get(json_object_get(v, "settings"),
						      "job.max_trace_bytes");
			bool seen = json_integer_value(now) == 12345;
			json_decref(v);
			if (seen)
				break;
			if (h_mono_ms() > t0 + 3000)
				fail_msg("host %s still has the old job.max_trace_bytes after 3 s",
					 p.id[i]);
			h_sleep_ms(10);
		}
	fprintf(stderr, "# a setting changed on one host reached the other two in %lld ms\n",
		(long long)(h_mono_ms() - t0));
	for (int i = 0; i < HOSTS; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

/* A service action for host B asked from host A's API (and asyncctl --host) reaches B, is acted
 * on and answered with B's new status; a dead host answers 409 naming its last heartbeat. */
static void service_action_across_hosts(void **state)
{
	(void)state;
	struct peers p = {0};
	char path[400];
	start_peers(&p);
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/services/async/pause", p.id[1]);
	json_t *a = h_call(p.h[0], "POST", path, NULL, 200);
	const char *st = h_str(a, "status");
	assert_true(!strcmp(st, "paused") || !strcmp(st, "pause_pending"));
	assert_string_equal(h_str(a, "host"), p.id[1]);
	json_decref(a);
	json_decref(h_wait_service(p.h[1], "async", "paused", H_WAIT_TIMEOUT_MS));
	struct h_cmd c;
	h_ctl(p.h[0], &c, "service", "continue", "async", "--host", p.id[1], NULL);
	assert_int_equal(c.status, 0);
	h_cmd_done(&c);
	json_decref(h_wait_service(p.h[1], "async", "running", H_WAIT_TIMEOUT_MS));
	/* the configuration too: checked on host 0, stored and applied by host 1 */
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/services/async", p.id[1]);
	a = h_call(p.h[0], "PATCH", path,
		   json_pack("{s:s,s:i}", "startup_type", "manual", "recovery_delay_s", 7), 200);
	assert_string_equal(h_str(a, "host"), p.id[1]);
	assert_string_equal(h_str(a, "startup_type"), "manual");
	assert_int_equal(h_int(a, "recovery_delay_s"), 7);
	json_decref(a);
	a = h_service(p.h[1], "async");
	assert_string_equal(h_str(a, "startup_type"), "manual");
	assert_int_equal(h_int(a, "recovery_delay_s"), 7);
	json_decref(a);
	json_decref(
	    h_call(p.h[0], "PATCH", path, json_pack("{s:s}", "startup_type", "sometimes"), 400));
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/services/nothing", p.id[1]);
	json_decref(h_call(p.h[0], "PATCH", path, json_pack("{s:i}", "recovery_delay_s", 1), 404));
	h_ctl(p.h[0], &c, "service", "set", "async", "--host", p.id[1], "--startup", "automatic",
	      NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.out, "automatic", "asyncctl service set");
	h_cmd_done(&c);
	a = h_service(p.h[1], "async");
	assert_string_equal(h_str(a, "startup_type"), "automatic");
	assert_int_equal(h_int(a, "recovery_delay_s"), 7);
	json_decref(a);
	h_kill(p.h[2]);
	wait_host_status(p.h[0], p.id[2], "dead");
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/services/async/stop", p.id[2]);
	a = h_call(p.h[0], "POST", path, NULL, 409);
	const char *msg =
	    json_string_value(json_object_get(json_object_get(a, "error"), "message"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "last heartbeat"));
	json_decref(a);
	a = h_get(p.h[0], "/api/v1/audit?limit=20", 200);
	char *text = json_dumps(a, JSON_COMPACT);
	assert_non_null(strstr(text, "service.pause"));
	assert_non_null(strstr(text, "service.configure"));
	free(text);
	json_decref(a);
	for (int i = 0; i < 2; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

#define CAPPED_JOBS 12
#define GLOBAL_CAP 2

/* async.throttling is global: a cap of 2 means 2 jobs of the type Locked in the deployment. */
static void throttle_holds_across_hosts(void **state)
{
	(void)state;
	struct peers p = {0};
	int64_t ids[CAPPED_JOBS];
	int most = 0;
	start_peers_with(&p, json_pack("{s:s}", "async.throttling", "samples.sleep=2"));
	for (int i = 0; i < CAPPED_JOBS; i++)
		ids[i] = h_submit(p.h[i % HOSTS], json_pack("{s:s,s:{s:i}}", "plugin_type",
							    "samples.sleep", "data", "ms", 200));
	int64_t end = h_mono_ms() + RECOVER_MS;
	for (;;) {
		json_t *a = h_get(p.h[0], "/api/v1/jobs?state=2&limit=500", 200), *j;
		int locked = 0;
		size_t k;
		/* the capped type's only: a maintenance job may be running too */
		json_array_foreach(json_object_get(a, "jobs"), k, j)
		{
			if (!strcmp(h_str(j, "plugin_type"), "samples.sleep"))
				locked++;
			else if (!h_is_maintenance_job(j))
				fail_msg("a Locked job of type %s", h_str(j, "plugin_type"));
		}
		json_decref(a);
		most = locked > most ? locked : most;
		if (h_count(p.h[0], 30) == CAPPED_JOBS)
			break;
		if (h_mono_ms() > end)
			fail_msg("the capped jobs did not finish within %d ms", RECOVER_MS);
		h_sleep_ms(10);
	}
	fprintf(stderr, "# global cap %d on 3 hosts: at most %d Locked at once\n", GLOBAL_CAP,
		most);
	assert_true(most <= GLOBAL_CAP);
	assert_true(most >= 1);
	check_all_succeeded(p.h[0], ids, CAPPED_JOBS, NULL, 0);
	for (int i = 0; i < HOSTS; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

#define RESTART_JOBS 60

/* Submit one sleep job, trying again while the database is away (503 store_unavailable, with
 * Retry-After); returns its id. */
static int64_t submit_through_outage(struct harness *h, int *ret_refused)
{
	int64_t end = h_mono_ms() + RECOVER_MS;
	for (;;) {
		long status;
		json_t *spec = json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data",
					 "ms", SLEEP_MS);
		char *body = json_dumps(spec, JSON_COMPACT);
		json_t *a = h_request(h, "POST", "/api/v1/jobs", "application/json", body,
				      strlen(body), &status);
		free(body);
		json_decref(spec);
		if (status == 201) {
			int64_t id = h_int(a, "id");
			json_decref(a);
			return id;
		}
		if (status != 503)
			fail_msg("POST /api/v1/jobs answered %ld during a database restart: %s",
				 status, h_client_last(h->client));
		assert_string_equal(h_error_code(a), "store_unavailable");
		json_decref(a);
		(*ret_refused)++;
		if (h_mono_ms() > end)
			fail_msg("the database did not come back within %d ms", RECOVER_MS);
		h_sleep_ms(50);
	}
}

/* PostgreSQL restarted under load: submissions meanwhile are refused with 503 store_unavailable
 * (nothing half-stored) and succeed after; every accepted job ends Succeeded once. */
static void database_restart_under_load(void **state)
{
	(void)state;
	const char *dir = getenv("ASYNCD_TEST_PG_DIR"), *src = getenv("ASYNCD_SOURCE_DIR");
	if (!dir || !src) {
		fprintf(stderr, "# no ASYNCD_TEST_PG_DIR: the database restart is not tried\n");
		return;
	}
	struct peers p = {0};
	int64_t ids[RESTART_JOBS];
	int refused = 0;
	char cmd[1200];
	start_peers(&p);
	for (int i = 0; i < RESTART_JOBS / 2; i++)
		ids[i] = submit_through_outage(p.h[0], &refused);
	/* in the background: the submissions below meet the outage */
	snprintf(cmd, sizeof(cmd), "%s/scripts/pg.sh restart %s >/dev/null 2>&1 &", src, dir);
	int64_t t0 = h_mono_ms();
	assert_int_equal(system(cmd), 0);
	for (int i = RESTART_JOBS / 2; i < RESTART_JOBS; i++)
		ids[i] = submit_through_outage(p.h[i % HOSTS], &refused);
	h_wait_all(p.h[0], RECOVER_MS, NULL);
	fprintf(stderr,
		"# database restart: %d submissions refused meanwhile; all %d jobs done %lld ms "
		"after the restart began\n",
		refused, RESTART_JOBS, (long long)(h_mono_ms() - t0));
	check_all_succeeded(p.h[0], ids, RESTART_JOBS, NULL, 0);
	for (int i = 0; i < HOSTS; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

#define COUNTED_JOBS 5
#define BACKLOG "asyncd_jobs_backlog{plugin_type=\"samples.sleep\"}"
#define READY "asyncd_jobs{state=\"Ready\",status=\"WaitingForResources\"}"

/* Wait until host h's /metrics shows want for the series name (read from the table at most once
 * a second on a shared store). */
static void wait_metric(struct harness *h, const char *name, long long want)
{
	int64_t end = h_mono_ms() + RECOVER_MS;
	long long v;
	while ((v = h_metric(h, name)) != want) {
		if (h_mono_ms() > end)
			fail_msg("%s is %lld, not %lld, after %d ms", name, v, want, RECOVER_MS);
		h_sleep_ms(50);
	}
}

/* The job gauges of /metrics are the deployment's: jobs submitted through one host are counted
 * by another, and leave its backlog when any host runs them. */
static void job_counts_are_the_deployments(void **state)
{
	(void)state;
	struct peers p = {0};
	start_peers(&p);
	for (int i = 0; i < HOSTS; i++) {
		json_decref(h_service_act(p.h[i], "async", "pause", 200));
		json_decref(h_wait_service(p.h[i], "async", "paused", H_WAIT_TIMEOUT_MS));
	}
	for (int i = 0; i < COUNTED_JOBS; i++)
		h_submit(p.h[0], json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data",
					   "ms", 10));
	wait_metric(p.h[2], BACKLOG, COUNTED_JOBS);
	assert_int_equal(h_metric(p.h[2], READY), COUNTED_JOBS);
	assert_true(h_metric(p.h[2], "asyncd_jobs_oldest_ready_age_seconds{plugin_type=\"samples."
				     "sleep\"}") >= 0);
	for (int i = 0; i < HOSTS; i++)
		json_decref(h_service_act(p.h[i], "async", "continue", 200));
	h_wait_all(p.h[0], RECOVER_MS, NULL);
	wait_metric(p.h[2], BACKLOG, 0);
	assert_int_equal(h_metric(p.h[2], READY), 0);
	for (int i = 0; i < HOSTS; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

#define FAIR_JOBS 150

/* Each host claims what it can run, not a window's worth: the jobs are shared within 20 % of an
 * even split. */
static void work_is_shared_fairly(void **state)
{
	(void)state;
	struct peers p = {0};
	int64_t ids[FAIR_JOBS];
	long long done[HOSTS];
	start_peers_with(
	    &p, json_pack("{s:i,s:i}", "async.max_concurrent_jobs", 2, "sandbox.workers", 1));
	for (int i = 0; i < HOSTS; i++)
		done[i] = h_metric(p.h[i], "asyncd_jobs_processed_total");
	/* queued while every host is paused, then let go host after host: the first one back
	 * must not take them all */
	for (int i = 0; i < HOSTS; i++) {
		json_decref(h_service_act(p.h[i], "async", "pause", 200));
		json_decref(h_wait_service(p.h[i], "async", "paused", H_WAIT_TIMEOUT_MS));
	}
	for (int i = 0; i < FAIR_JOBS; i++)
		ids[i] = h_submit(p.h[0], json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep",
						    "data", "ms", 60));
	long long claimed = h_metric(p.h[0], "asyncd_jobs_claimed_total");
	json_decref(h_service_act(p.h[0], "async", "continue", 200));
	int64_t end = h_mono_ms() + RECOVER_MS;
	while (h_metric(p.h[0], "asyncd_jobs_claimed_total") == claimed) {
		if (h_mono_ms() > end)
			fail_msg("host %s claimed nothing after continue", p.id[0]);
		h_sleep_ms(5);
	}
	for (int i = 1; i < HOSTS; i++)
		json_decref(h_service_act(p.h[i], "async", "continue", 200));
	h_wait_all(p.h[0], RECOVER_MS, NULL);
	fprintf(stderr, "# fair share of %d jobs:", FAIR_JOBS);
	for (int i = 0; i < HOSTS; i++) {
		done[i] = h_metric(p.h[i], "asyncd_jobs_processed_total") - done[i];
		fprintf(stderr, " %s %lld", p.id[i], done[i]);
	}
	fprintf(stderr, "\n");
	for (int i = 0; i < HOSTS; i++)
		if (done[i] < FAIR_JOBS / HOSTS * 8 / 10 || done[i] > FAIR_JOBS / HOSTS * 12 / 10)
			fail_msg("host %s ran %lld of %d jobs: not within 20 %% of %d", p.id[i],
				 done[i], FAIR_JOBS, FAIR_JOBS / HOSTS);
	(void)ids;
	for (int i = 0; i < HOSTS; i++)
		h_stop(p.h[i]);
	free_peers(&p);
}

int main(void)
{
	h_filter_from_env();
	if (!testdb_is_pg()) {
		printf("1..0 # SKIP several hosts need the PostgreSQL store (suite pg)\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kill_one_host_under_load),
	    cmocka_unit_test(paused_host_is_fenced),
	    cmocka_unit_test(work_is_shared_fairly),
	    cmocka_unit_test(settings_reach_every_host),
	    cmocka_unit_test(throttle_holds_across_hosts),
	    cmocka_unit_test(service_action_across_hosts),
	    cmocka_unit_test(job_counts_are_the_deployments),
	    cmocka_unit_test(database_restart_under_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
