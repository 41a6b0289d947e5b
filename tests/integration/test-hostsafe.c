/* Integration tests of the host's own safety (issue 14): the state directory is private (0700,
 * files 0600) and refused when it is not; one asyncd per state directory (a second one exits
 * naming the holder's pid; the lock dies with the holder and no worker inherits it); a job that
 * keeps killing an isolation=none host ends Failed/host_crashed after async.max_host_crashes
 * deaths, and a clean stop counts none. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MAX_CRASHES 2 /* the default of async.max_host_crashes */
#define WORKER_WAIT_MS 15000

static mode_t mode_of(struct harness *h, const char *name)
{
	char path[400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	if (stat(path, &st) < 0)
		fail_msg("%s is missing", path);
	return st.st_mode & 07777;
}

static void expect_refusal(struct harness *h, const char *needle)
{
	struct h_cmd c;

	h_asyncd_once(h, &c);
	if (c.status == 0 || !strstr(c.err, needle))
		fail_msg("asyncd exited %d with stderr '%s', expected a refusal saying '%s'",
			 c.status, c.err, needle);
	h_cmd_done(&c);
}

static void test_state_dir_is_private(void **state)
{
	struct harness *h = h_start();
	char want[400];

	*state = h;
	assert_int_equal(chmod(h->dir, 0755), 0);
	snprintf(want, sizeof(want), "chmod 700 %s", h->dir);
	expect_refusal(h, want);
	assert_int_equal(chmod(h->dir, 0700), 0);
	h_restart(h);
	h_register_samples(h); /* writes the WAL and the assembly cache */
	assert_int_equal(mode_of(h, "."), 0700);
	const char *files[] = {"asyncd.db",   "asyncd.db-wal", "asyncd.db-shm",
			       "admin.token", "asyncd.lock",   "asyncd.url"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (mode_of(h, files[i]) != 0600)
			fail_msg("%s is %o, not 600", files[i], (unsigned)mode_of(h, files[i]));
	assert_int_equal(mode_of(h, "cache"), 0700);
	assert_int_equal(mode_of(h, "cache/assemblies"), 0700);
	h_stop(h);
	assert_int_equal(chmod(h->dir, 0700), 0);
	snprintf(want, sizeof(want), "%s/admin.token", h->dir);
	assert_int_equal(chmod(want, 0644), 0);
	snprintf(want, sizeof(want), "chmod 600 %s/admin.token", h->dir);
	expect_refusal(h, want);
}

/* The pid of the one sandbox worker of h's asyncd. */
static pid_t sandbox_worker(struct harness *h)
{
	int64_t end = h_mono_ms() + WORKER_WAIT_MS;
	pid_t pid = 0;

	while (!pid && h_mono_ms() < end) {
		json_t *s = h_service(h, "sandbox");
		json_t *w = json_array_get(json_object_get(s, "worker_processes"), 0);
		pid = w ? (pid_t)json_integer_value(json_object_get(w, "pid")) : 0;
		json_decref(s);
		if (!pid)
			h_sleep_ms(H_POLL_MS * 5);
	}
	if (!pid)
		fail_msg("no sandbox worker within %d ms", WORKER_WAIT_MS);
	return pid;
}

/* Whether process pid has a descriptor open on a file whose path ends with suffix. */
static bool holds_file(pid_t pid, const char *suffix)
{
	char dir[64], link[400], target[4096];
	bool found = false;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot list %s", dir);
	while (!found && (e = readdir(d))) {
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		size_t tl = strlen(target), sl = strlen(suffix);
		found = tl >= sl && !strcmp(target + tl - sl, suffix);
	}
	closedir(d);
	return found;
}

static void test_one_host_per_state_dir(void **state)
{
	struct harness *h = *state;
	char want[64];

	snprintf(want, sizeof(want), "pid %d", (int)h->pid);
	expect_refusal(h, want);
	assert_true(holds_file(h->pid, "/asyncd.lock"));
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 1));
	pid_t worker = sandbox_worker(h);
	if (holds_file(worker, "/asyncd.lock"))
		fail_msg("the sandbox worker %d inherited the state directory's lock", (int)worker);
	h_kill(h); /* the kernel drops the lock with its holder */
	h_restart(h);
	snprintf(want, sizeof(want), "pid %d", (int)h->pid);
	expect_refusal(h, want);
	h_stop(h);
}

static void wait_crash(struct harness *h)
{
	int st = h_wait_death(h, H_WAIT_TIMEOUT_MS);

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		fail_msg("asyncd exited 0 instead of dying of samples.crash");
}

static void test_crashing_job_ends_host_crashed(void **state)
{
	struct harness *h = *state;
	char want[64];

	h_register_samples(h); /* isolation=none */
	int64_t id = h_submit(h, json_pack("{s:s,s:{}}", "plugin_type", "samples.crash", "data"));
	for (int crash = 1; crash <= MAX_CRASHES; crash++) {
		wait_crash(h);
		if (crash < MAX_CRASHES)
			h_launch_only(h); /* it claims the job again at once and dies */
	}
	h_restart(h); /* the API comes up and stays up */
	json_t *j = h_job(h, id);
	assert_int_equal(h_int(j, "state"), 3);
	assert_int_equal(h_int(j, "status"), 31);
	assert_string_equal(h_str(j, "error_code"), "host_crashed");
	assert_int_equal(h_int(j, "attempt"), MAX_CRASHES);
	assert_int_equal(h_int(j, "retry_count"), 0);
	snprintf(want, sizeof(want), "%d times", MAX_CRASHES);
	assert_non_null(strstr(h_str(j, "message"), "may have crashed the host"));
	assert_non_null(strstr(h_str(j, "message"), want));
	json_decref(j);
	json_decref(h_get(h, "/healthz", 200));
	h_stop(h);
}

static void test_clean_stop_counts_no_crash(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_set_settings(
	    h, json_pack("{s:i,s:f}", "async.max_host_crashes", 1, "service.stop_timeout", 0.2));
	int64_t id = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", 1500));
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	h_stop(h); /* the run is interrupted and given back */
	h_restart(h);
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "attempt"), 2);
	json_decref(j);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_state_dir_is_private, h_teardown),
	    cmocka_unit_test_setup_teardown(test_one_host_per_state_dir, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_crashing_job_ends_host_crashed, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_clean_stop_counts_no_crash, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("hostsafe", tests, NULL, NULL);
}
