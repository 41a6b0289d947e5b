/* Integration tests of the Sandbox Processing Service on the real asyncd and asyncd-worker with
 * samples.so and tests/plugins/sandbox_probe.c (isolation=sandbox): crash, timeout, memory limit,
 * refused fork/ptrace/exec, the worker's isolation, captured output, exit(), bad libraries, raised
 * events, cancel/stop of runs ignoring should_stop(), upgrades, pings and the service's actions.
 * Load tests (thousands of jobs, many worker replacements) are in test-sandbox-load.c. */
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SHORT_WAIT_MS 15000

/* ---- helpers ---- */

/* POST a built library (path relative to the build directory) with isolation iso (NULL: the
 * default); returns the answer and its status. */
static json_t *post_lib(struct harness *h, const char *rel, const char *iso, long *ret_status)
{
	char path[1200], url[128];
	size_t len;
	snprintf(path, sizeof(path), "%s/%s", h->build, rel);
	char *bytes = h_read_file(path, &len);
	if (!bytes)
		fail_msg("cannot read %s", path);
	snprintf(url, sizeof(url), "/api/v1/assemblies%s%s", iso ? "?isolation=" : "",
		 iso ? iso : "");
	json_t *a = h_request(h, "POST", url, "application/octet-stream", bytes, len, ret_status);
	free(bytes);
	return a;
}

static void register_lib(struct harness *h, const char *rel)
{
	long status;
	json_t *a = post_lib(h, rel, "sandbox", &status);
	if (status != 201 && status != 200)
		fail_msg("registering %s: HTTP %ld: %s", rel, status, h_client_last(h->client));
	assert_string_equal(h_str(a, "isolation"), "sandbox");
	json_decref(a);
}

static void register_samples(struct harness *h)
{
	register_lib(h, "plugins/samples/samples.so");
}

static void register_probe(struct harness *h)
{
	register_lib(h, "tests/plugins/sandbox_probe.so");
}

static int64_t submit(struct harness *h, const char *type, json_t *data, int max_retries)
{
	return h_submit(h, json_pack("{s:s,s:o,s:i}", "plugin_type", type, "data",
				     data ? data : json_object(), "max_retries", max_retries));
}

/* Wait for job id to complete with status; returns it (the caller owns it). */
static json_t *wait_status(struct harness *h, int64_t id, int status)
{
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	if (h_int(j, "status") != status)
		fail_msg("job %lld (%s) ended with status %lld, not %d: %s %s", (long long)id,
			 h_str(j, "plugin_type"), (long long)h_int(j, "status"), status,
			 h_str(j, "error_code"), h_str(j, "message"));
	return j;
}

/* Run type to completion with status and check its error_code and message. */
static void expect_failure(struct harness *h, const char *type, json_t *data, const char *code,
			   const char *msg_part)
{
	json_t *j = wait_status(h, submit(h, type, data, 0), 31);
	assert_string_equal(h_str(j, "error_code"), code);
	h_expect_text(h_str(j, "message"), msg_part, type);
	json_decref(j);
}

static void expect_success(struct harness *h, const char *type, json_t *data)
{
	json_decref(wait_status(h, submit(h, type, data, 0), 30));
}

/* The sandbox service's description (the caller owns it). */
static json_t *sandbox_service(struct harness *h)
{
	json_t *all = h_get(h, "/api/v1/services", 200);
	json_t *found = NULL, *s;
	size_t i;
	json_array_foreach(json_object_get(all, "services"), i, s)
	{
		if (!found && !strcmp(h_str(s, "name"), "sandbox"))
			found = json_incref(s);
	}
	json_decref(all);
	if (!found)
		fail_msg("no sandbox service in /api/v1/services");
	return found;
}

/* Wait until the sandbox service's integer property key is want. */
static void wait_sandbox_prop(struct harness *h, const char *key, int64_t want)
{
	int64_t end = h_mono_ms() + SHORT_WAIT_MS, got = -1;
	while (h_mono_ms() < end) {
		json_t *s = sandbox_service(h);
		got = json_integer_value(json_object_get(s, key));
		json_decref(s);
		if (got == want)
			return;
		h_sleep_ms(H_POLL_MS * 5);
	}
	fail_msg("the sandbox's %s stayed %lld, not %lld", key, (long long)got, (long long)want);
}

static void service_act(struct harness *h, const char *name, const char *action)
{
	char path[128];
	h_path(path, sizeof(path), "/api/v1/hosts/local/services/%s/%s", name, action);
	json_decref(h_call(h, "POST", path, NULL, 200));
}

static void wait_service_status(struct harness *h, const char *name, const char *status)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (h_mono_ms() < end) {
		json_t *all = h_get(h, "/api/v1/services", 200), *s;
		size_t i;
		bool ok = false;
		json_array_foreach(json_object_get(all, "services"), i, s)
		{
			ok |=
			    !strcmp(h_str(s, "name"), name) && !strcmp(h_str(s, "status"), status);
		}
		json_decref(all);
		if (ok)
			return;
		h_sleep_ms(H_POLL_MS);
	}
	fail_msg("service %s did not become %s", name, status);
}

/* ---- tests ---- */

static void test_crash_is_transient_worker_crashed(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	expect_failure(h, "samples.crash", NULL, "worker_crashed", "SIGSEGV");
	expect_success(h, "samples.noop", NULL);
	json_t *s = sandbox_service(h);
	assert_true(h_int(s, "crashes") >= 1);
	assert_true(h_int(s, "restarts") >= 1);
	json_decref(s);
	/* transient: with retries it is tried again */
	h_set_settings(h, json_pack("{s:f}", "async.time_between_retries", 0.05));
	json_t *j = wait_status(h, submit(h, "samples.crash", NULL, 2), 31);
	assert_int_equal(h_int(j, "retry_count"), 2);
	assert_int_equal(h_int(j, "attempt"), 3);
	json_decref(j);
}

static void test_timeout_kills_the_worker(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:f}", "sandbox.timeout", 0.5));
	int64_t t0 = h_mono_ms();
	expect_failure(h, "samples.sleep", json_pack("{s:i}", "ms", 20000), "timeout",
		       "sandbox.timeout (0.5 s)");
	assert_true(h_mono_ms() - t0 < 10000);
	expect_success(h, "samples.noop", NULL);
	json_t *s = sandbox_service(h);
	assert_true(h_int(s, "timeouts") >= 1);
	json_decref(s);
}

static void test_memory_limit(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "sandbox.memory_limit_mb", 64));
	expect_failure(h, "samples.hog", json_pack("{s:i}", "mb", 1024), "out_of_memory",
		       "sandbox.memory_limit_mb");
	expect_success(h, "samples.hog", json_pack("{s:i}", "mb", 8));
	expect_success(h, "samples.noop", NULL);
}

static void test_fork_and_friends_refused(void **state)
{
	struct harness *h = *state;
	register_probe(h);
	expect_failure(h, "probe.fork", NULL, "plugin_failed",
		       "fork refused: Operation not permitted");
	expect_success(h, "probe.thread", NULL); /* threads are allowed */
	json_t *j = wait_status(h, submit(h, "probe.probe", NULL, 0), 30);
	json_t *o = json_object_get(j, "output");
	static const char *const refused[] = {"fork",  "ptrace", "unshare",
					      "mount", "chroot", "execve"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		h_expect_text(h_str(o, refused[i]), "Operation not permitted", refused[i]);
	json_decref(j);
}

static void test_worker_isolation(void **state)
{
	struct harness *h = *state;
	register_probe(h);
	json_t *j = wait_status(h, submit(h, "probe.probe", NULL, 0), 30);
	json_t *o = json_object_get(j, "output");
	if (getuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		assert_non_null(pw);
		assert_int_equal(h_int(o, "uid"), pw->pw_uid);
		assert_int_equal(h_int(o, "groups"), 0);
	}
	assert_int_equal(h_int(o, "env"), 2); /* TMPDIR and HOME: its private directory */
	assert_int_equal(h_int(o, "pgid"), h_int(o, "pid"));
	assert_int_equal(h_int(o, "no_new_privs"), 1);
	assert_int_equal(h_int(o, "seccomp"), 2);
	assert_int_equal(h_int(o, "dumpable"), 0);
	assert_int_equal(h_int(o, "core"), 0);
	assert_int_equal(h_int(o, "nofile"), 256);
	assert_true(h_int(o, "cpu") > 0);
	json_t *s = sandbox_service(h);
	assert_true(json_is_true(json_object_get(s, "seccomp")));
	assert_true(json_is_true(json_object_get(s, "no_new_privs")));
	if (json_is_true(json_object_get(s, "address_space_limit")))
		assert_true(h_int(o, "as") > 0);
	json_decref(s);
	json_decref(j);
}

static void test_output_captured(void **state)
{
	struct harness *h = *state;
	register_probe(h);
	json_t *j =
	    wait_status(h, submit(h, "probe.print", json_pack("{s:s}", "text", "hi"), 0), 30);
	h_expect_text(h_str(j, "trace"), "output: hi from stdout", "trace");
	h_expect_text(h_str(j, "trace"), "output: hi from stderr", "trace");
	json_decref(j);
	/* bounded: a flood is cut, the job still succeeds and the trace stays small */
	j = wait_status(h, submit(h, "probe.print", json_pack("{s:i}", "bytes", 1 << 20), 0), 30);
	h_expect_text(h_str(j, "trace"), "were not kept", "trace");
	assert_true(strlen(h_str(j, "trace")) < 70000 + 4096);
	json_decref(j);
	/* and nothing of it leaks into the next job's trace */
	j = wait_status(h, submit(h, "probe.thread", NULL, 0), 30);
	assert_null(strstr(h_str(j, "trace") ? h_str(j, "trace") : "", "xxxx"));
	json_decref(j);
}

static void test_exit_is_worker_crashed(void **state)
{
	struct harness *h = *state;
	register_probe(h);
	register_samples(h);
	expect_failure(h, "probe.exit", NULL, "worker_crashed", "exited with status 3");
	expect_success(h, "samples.noop", NULL);
}

static void expect_refused(struct harness *h, const char *rel, const char *msg_part)
{
	long status;
	json_t *a = post_lib(h, rel, "sandbox", &status);
	if (status != 422)
		fail_msg("%s: HTTP %ld, not 422: %s", rel, status, h_client_last(h->client));
	assert_string_equal(h_error_code(a), "invalid_assembly");
	h_expect_text(h_str(json_object_get(a, "error"), "message"), msg_part, rel);
	json_decref(a);
}

static void test_bad_libraries_refused(void **state)
{
	struct harness *h = *state;
	expect_refused(h, "tests/plugins/not_a_library.so", "not a loadable shared library");
	expect_refused(h, "tests/plugins/bad_abi.so", "ABI version 99");
	expect_refused(h, "tests/plugins/no_types.so", "exports no plug-in types");
	expect_refused(h, "tests/plugins/ctor_crash.so", "crashed while loading (SIGSEGV)");
	expect_refused(h, "tests/plugins/exit_ctor.so", "exited while loading (exit status 3)");
	json_t *l = h_get(h, "/api/v1/assemblies", 200);
	assert_int_equal(json_array_size(json_object_get(l, "assemblies")), 0);
	json_decref(l);
	/* without ?isolation= an assembly is sandboxed */
	long status;
	json_t *a = post_lib(h, "plugins/samples/samples.so", NULL, &status);
	assert_int_equal(status, 201);
	assert_string_equal(h_str(a, "isolation"), "sandbox");
	json_decref(a);
}

static void test_raised_events_and_output_travel_back(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_add_simple_step(h, "samples.echo", "Echo", NULL);
	h_add_simple_step(h, "samples.raise", "Raise", NULL);
	json_t *jobs = h_raise(h, json_pack("{s:s,s:s,s:s,s:{s:{s:s,s:s,s:s,s:{s:i}}}}", "message",
					    "Raise", "entity", "account", "entity_id", "1",
					    "target", "event", "message", "Echo", "entity",
					    "account", "entity_id", "2", "target", "n", 7));
	int64_t parent = h_int(json_array_get(jobs, 0), "id");
	json_decref(jobs);
	json_decref(wait_status(h, parent, 30));
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	json_t *all = h_all_jobs(h), *j, *child = NULL;
	size_t i;
	json_array_foreach(all, i, j)
	{
		if (!strcmp(h_str(j, "plugin_type"), "samples.echo"))
			child = j;
	}
	assert_non_null(child);
	assert_int_equal(h_int(child, "depth"), 2);
	assert_int_equal(h_int(child, "status"), 30);
	assert_int_equal(h_int(json_object_get(child, "output"), "n"), 7);
	json_t *full = h_job(h, h_int(child, "id"));
	h_expect_text(h_str(full, "trace"), "samples version 1.0.0.0", "echo trace");
	json_decref(full);
	json_decref(all);
}

/* A refused raise_event's reason travels back with the worker's trace */
static void test_raise_event_refusal_is_traced(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	int64_t id = submit(h, "samples.raise", json_pack("{s:s}", "event", "[1"), 0);
	json_t *j = wait_status(h, id, 31);
	h_expect_text(h_str(j, "trace"), "raise_event refused: the event is not valid JSON",
		      "the refusal's reason");
	json_decref(j);
}

static void test_depth_guard(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "async.max_depth", 3));
	h_add_simple_step(h, "samples.raise", "Loop", NULL);
	json_decref(h_raise(h, json_pack("{s:s,s:s,s:s,s:{s:b}}", "message", "Loop", "entity",
					 "account", "entity_id", "1", "target", "repeat", 1)));
	h_wait_all(h, H_WAIT_TIMEOUT_MS, NULL);
	json_t *all = h_all_jobs(h), *j;
	size_t i;
	int loops = 0;
	json_array_foreach(all, i, j)
	{
		loops += h_str(j, "error_code") && !strcmp(h_str(j, "error_code"), "infinite_loop");
	}
	assert_int_equal(loops, 1);
	assert_int_equal(json_array_size(all), 4);
	json_decref(all);
}

static void test_cancel_kills_a_run_that_ignores_stop(void **state)
{
	struct harness *h = *state;
	char path[96];
	register_probe(h);
	register_samples(h);
	/* a cooperative plug-in ends when asked */
	int64_t id = submit(h, "samples.sleep", json_pack("{s:i}", "ms", 60000), 0);
	json_decref(h_wait_state(h, id, 2, SHORT_WAIT_MS));
	wait_sandbox_prop(h, "jobs_in_flight", 1); /* a worker has it: the cancel reaches a run */
	int64_t t0 = h_mono_ms();
	json_decref(h_call(h, "POST",
			   h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id),
			   NULL, 200));
	json_decref(wait_status(h, id, 32));
	assert_true(h_mono_ms() - t0 < 2000);
	/* one that never looks at should_stop() loses its worker */
	id = submit(h, "probe.spin", json_pack("{s:i}", "ms", 60000), 0);
	json_decref(h_wait_state(h, id, 2, SHORT_WAIT_MS));
	wait_sandbox_prop(h, "jobs_in_flight", 1);
	json_t *sb = sandbox_service(h);
	int64_t restarts = h_int(sb, "restarts");
	json_decref(sb);
	t0 = h_mono_ms();
	json_decref(h_call(h, "POST",
			   h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id),
			   NULL, 200));
	json_decref(wait_status(h, id, 32));
	assert_true(h_mono_ms() - t0 < 10000);
	wait_sandbox_prop(h, "restarts", restarts + 1); /* its worker was killed and replaced */
	expect_success(h, "samples.noop", NULL);
}

static void test_stop_returns_sandboxed_runs_to_ready(void **state)
{
	struct harness *h = *state;
	char path[96];
	register_probe(h);
	h_set_settings(h, json_pack("{s:f}", "service.stop_timeout", 0.5));
	int64_t id = submit(h, "probe.spin", json_pack("{s:i}", "ms", 60000), 3);
	json_decref(h_wait_state(h, id, 2, SHORT_WAIT_MS));
	int64_t t0 = h_mono_ms();
	service_act(h, "async", "stop");
	wait_service_status(h, "async", "stopped");
	assert_true(h_mono_ms() - t0 < 10000);
	json_t *j = h_wait_state(h, id, 0, SHORT_WAIT_MS);
	assert_int_equal(h_int(j, "retry_count"), 0);
	json_decref(j);
	wait_sandbox_prop(h, "busy", 0); /* its worker was killed */
	json_decref(h_call(h, "POST",
			   h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id),
			   NULL, 200));
	service_act(h, "async", "start");
	wait_service_status(h, "async", "running");
}

static void test_upgrade_unloads_the_old_version(void **state)
{
	struct harness *h = *state;
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 1));
	wait_sandbox_prop(h, "workers_ready", 1);
	register_samples(h);
	json_t *j = wait_status(h, submit(h, "samples.echo", NULL, 0), 30);
	h_expect_text(h_str(j, "message"), "samples version 1.0.0.0", "v1");
	json_decref(j);
	register_lib(h, "plugins/samples/samples-1.0.1.0.so");
	j = wait_status(h, submit(h, "samples.echo", NULL, 0), 30);
	h_expect_text(h_str(j, "message"), "samples version 1.0.1.0", "v2");
	json_decref(j);
	wait_sandbox_prop(h, "libraries_loaded", 1);
}

static void test_service_stop_and_start(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:f}", "async.time_between_retries", 0.2));
	service_act(h, "sandbox", "stop");
	wait_service_status(h, "sandbox", "stopped");
	int64_t id = submit(h, "samples.noop", NULL, 50);
	json_t *j = h_wait_state(h, id, 1, SHORT_WAIT_MS);
	assert_string_equal(h_str(j, "error_code"), "sandbox_unavailable");
	json_decref(j);
	service_act(h, "sandbox", "start");
	wait_service_status(h, "sandbox", "running");
	json_decref(wait_status(h, id, 30));
}

#define MULTI_LIBS 12 /* more than the 8 descriptors one IPC buffer carries */

/* Wait until exactly one worker process is left. */
static void wait_one_worker(struct harness *h)
{
	int64_t end = h_mono_ms() + SHORT_WAIT_MS;
	size_t n = 0;
	while (h_mono_ms() < end) {
		json_t *s = sandbox_service(h);
		n = json_array_size(json_object_get(s, "worker_processes"));
		int64_t ready = json_integer_value(json_object_get(s, "workers_ready"));
		json_decref(s);
		if (n == 1 && ready == 1)
			return;
		h_sleep_ms(H_POLL_MS);
	}
	fail_msg("%zu worker processes, not 1", n);
}

/* One event makes jobs of twelve distinct libraries, claimed together and sent to the one worker
 * in one turn: each LOAD frame must go whole, none corrupting the stream (a LOAD begun after its
 * descriptor was refused once stayed half-written in the buffer, and the rest failed). */
static void test_many_libraries_in_one_turn(void **state)
{
	struct harness *h = *state;
	char rel[64];
	for (int i = 1; i <= MULTI_LIBS; i++) {
		snprintf(rel, sizeof(rel), "tests/plugins/multi%d.so", i);
		register_lib(h, rel);
		snprintf(rel, sizeof(rel), "multi%d.noop", i);
		h_add_simple_step(h, rel, "Multi", "account");
	}
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 1));
	wait_one_worker(h);
	json_t *jobs = h_raise(h, json_pack("{s:s,s:s,s:s}", "message", "Multi", "entity",
					    "account", "entity_id", "1"));
	assert_int_equal(json_array_size(jobs), MULTI_LIBS);
	for (size_t i = 0; i < json_array_size(jobs); i++) {
		json_t *j = wait_status(h, h_int(json_array_get(jobs, i), "id"), 30);
		assert_int_equal(h_int(j, "retry_count"), 0);
		json_decref(j);
	}
	json_decref(jobs);
}

/* A worker that answers no ping is killed (the 30 s are shortened to 1.5 s for the test). */
static void test_silent_worker_is_killed(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 1));
	wait_sandbox_prop(h, "workers_ready", 1);
	int64_t id = submit(h, "samples.sleep", json_pack("{s:i}", "ms", 60000), 0);
	json_decref(h_wait_state(h, id, 2, SHORT_WAIT_MS));
	wait_sandbox_prop(h, "busy", 1);
	json_t *s = sandbox_service(h);
	pid_t pid = (pid_t)h_int(json_array_get(json_object_get(s, "worker_processes"), 0), "pid");
	json_decref(s);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	json_t *j = wait_status(h, id, 31);
	assert_string_equal(h_str(j, "error_code"), "worker_unresponsive");
	h_expect_text(h_str(j, "message"), "did not answer a ping", "unresponsive");
	json_decref(j);
	expect_success(h, "samples.noop", NULL);
}

static int setup_short_ping(void **state)
{
	setenv("ASYNCD_SANDBOX_PING_TIMEOUT_MS", "1500", 1);
	int rc = h_setup(state);
	unsetenv("ASYNCD_SANDBOX_PING_TIMEOUT_MS");
	return rc;
}

static void test_workers_follow_the_setting(void **state)
{
	struct harness *h = *state;
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 3));
	wait_sandbox_prop(h, "workers_ready", 3);
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 1));
	wait_sandbox_prop(h, "workers_ready", 1);
	register_samples(h);
	expect_success(h, "samples.noop", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_crash_is_transient_worker_crashed, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_kills_the_worker, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_memory_limit, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_fork_and_friends_refused, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_worker_isolation, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_output_captured, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_exit_is_worker_crashed, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_libraries_refused, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_raised_events_and_output_travel_back, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_raise_event_refusal_is_traced, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_depth_guard, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_kills_a_run_that_ignores_stop, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_returns_sandboxed_runs_to_ready, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_unloads_the_old_version, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_service_stop_and_start, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_many_libraries_in_one_turn, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_workers_follow_the_setting, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_silent_worker_is_killed, setup_short_ping,
					    h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
