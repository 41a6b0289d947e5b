/* Load tests of the Sandbox Processing Service on the real asyncd and asyncd-worker with
 * samples.so registered with isolation=sandbox: the "done means" (crashing and overrunning
 * jobs fail with their reasons while noop jobs beside them succeed and the host stays up),
 * thousands of noop jobs beside crashing ones, and the host's memory and descriptors steady
 * across hundreds of worker replacements. Bounded in count and time. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define LOAD_WAIT_MS 240000

static void register_samples(struct harness *h)
{
	json_decref(h_upload(h, "plugins/samples/samples.so", "sandbox", 201));
}

/* POST n events of message (one NDJSON body). */
static void raise_many(struct harness *h, const char *message, int n)
{
	char line[160];
	size_t cap = (size_t)n * sizeof(line), len = 0;
	char *body = malloc(cap);
	assert_non_null(body);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"{\"message\":\"%s\",\"entity\":\"account\","
					"\"entity_id\":\"%d\",\"target\":{\"n\":%d}}\n",
					message, i, i);
	long status;
	json_t *a =
	    h_request(h, "POST", "/api/v1/events", "application/x-ndjson", body, len, &status);
	free(body);
	if (status != 201)
		fail_msg("NDJSON events: HTTP %ld: %s", status, h_client_last(h->client));
	assert_int_equal(h_int(a, "jobs"), n);
	json_decref(a);
}

static int64_t stat_of(json_t *stats, const char *status)
{
	return json_integer_value(json_object_get(json_object_get(stats, "by_status"), status));
}

static json_t *wait_all(struct harness *h)
{
	json_t *stats;
	h_wait_all(h, LOAD_WAIT_MS, &stats);
	return stats;
}

/* ---- the "done means" ---- */

static void check_done_means_job(json_t *j)
{
	const char *type = h_str(j, "plugin_type");
	int64_t status = h_int(j, "status");
	if (!strcmp(type, "samples.noop")) {
		if (status != 30)
			fail_msg("noop job %lld: status %lld (%s)", (long long)h_int(j, "id"),
				 (long long)status, h_str(j, "message"));
		return;
	}
	assert_int_equal(status, 31);
	assert_int_equal(h_int(j, "retry_count"), 1);
	if (!strcmp(type, "samples.crash")) {
		assert_string_equal(h_str(j, "error_code"), "worker_crashed");
		h_expect_text(h_str(j, "message"), "SIGSEGV", "crash");
	} else {
		assert_string_equal(h_str(j, "error_code"), "timeout");
		h_expect_text(h_str(j, "message"), "sandbox.timeout", "sleep");
	}
}

static void test_done_means(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:i,s:f,s:f}", "async.max_retries", 1,
				    "async.time_between_retries", 0.05, "sandbox.timeout", 1.0));
	for (int i = 0; i < 3; i++)
		h_submit(h, json_pack("{s:s}", "plugin_type", "samples.crash"));
	for (int i = 0; i < 2; i++)
		h_submit(h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms",
				      30000));
	for (int i = 0; i < 200; i++)
		h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop"));
	json_t *stats = wait_all(h);
	assert_int_equal(stat_of(stats, "30"), 200);
	assert_int_equal(stat_of(stats, "31"), 5);
	json_decref(stats);
	json_t *all = h_all_jobs(h), *j;
	size_t i;
	json_array_foreach(all, i, j)
	{
		check_done_means_job(j);
	}
	json_decref(all);
	json_decref(h_get(h, "/healthz", 200)); /* the host stayed up */
	h_stop(h);
}

/* ---- thousands beside crashes ---- */

static void test_thousands_beside_crashes(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "async.max_retries", 0));
	h_add_simple_step(h, "samples.noop", "Noop", NULL);
	h_add_simple_step(h, "samples.crash", "Crash", NULL);
	for (int round = 0; round < 10; round++) {
		raise_many(h, "Noop", 300);
		raise_many(h, "Crash", 3);
	}
	json_t *stats = wait_all(h);
	assert_int_equal(stat_of(stats, "30"), 3000);
	assert_int_equal(stat_of(stats, "31"), 30);
	json_decref(stats);
	json_decref(h_get(h, "/healthz", 200));
}

/* ---- the host's memory across worker replacements ---- */

/* VmRSS of pid in KiB. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

static int fd_count(pid_t pid)
{
	char path[64];
	int n = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Children of pid that are zombies (exited, not reaped). */
static int zombies_of(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		char path[300], buf[512];
		int ppid = 0;
		char st = 0;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = e->d_name[0] >= '1' && e->d_name[0] <= '9' ? fopen(path, "r") : NULL;
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			if (p && sscanf(p + 1, " %c %d", &st, &ppid) == 2 && ppid == pid &&
			    st == 'Z')
				n++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* How much the host may grow over 400 replacements. Sanitizer runtimes keep per-thread caches
 * and shadow memory that grow with the many threads that serve the API while the host warms up
 * (the plain build grows about 1 MiB): there, leaks are LeakSanitizer's to find at exit. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GROWTH_ALLOWED_KIB (32 * 1024)
#else
#define GROWTH_ALLOWED_KIB (8 * 1024)
#endif
/* Wait until the sandbox has all its workers again, ready: the last replacements started. */
static void wait_workers_ready(struct harness *h)
{
	int64_t end = h_mono_ms() + LOAD_WAIT_MS, ready = -1, want = -1;
	while (h_mono_ms() < end) {
		json_t *svc = h_service(h, "sandbox");
		ready = h_int(svc, "workers_ready");
		want = h_int(svc, "workers");
		json_decref(svc);
		if (want > 0 && ready == want)
			return;
		h_sleep_ms(H_POLL_MS);
	}
	fail_msg("the sandbox has %lld of its %lld workers ready", (long long)ready,
		 (long long)want);
}

static void crash_round(struct harness *h, int n, int64_t want_failed)
{
	raise_many(h, "Crash", n);
	json_t *stats = wait_all(h);
	assert_int_equal(stat_of(stats, "31"), want_failed);
	json_decref(stats);
	wait_workers_ready(h);
}

static void test_memory_steady_across_replacements(void **state)
{
	struct harness *h = *state;
	register_samples(h);
	h_set_settings(h, json_pack("{s:i}", "async.max_retries", 0));
	h_add_simple_step(h, "samples.crash", "Crash", NULL);
	crash_round(h, 100, 100);
	long rss100 = rss_kib(h->pid);
	int fds100 = fd_count(h->pid);
	int64_t t0 = h_mono_ms();
	for (int i = 0; i < 4; i++)
		crash_round(h, 100, 200 + 100 * i);
	long rss500 = rss_kib(h->pid);
	int fds500 = fd_count(h->pid);
	fprintf(stderr, "# host VmRSS %ld KiB after 100 crashes, %ld KiB after 500 (%lld ms)\n",
		rss100, rss500, (long long)(h_mono_ms() - t0));
	assert_true(rss100 > 0);
	if (rss500 > rss100 + GROWTH_ALLOWED_KIB)
		fail_msg("the host grew from %ld to %ld KiB over 400 worker replacements", rss100,
			 rss500);
	if (fds500 > fds100 + 2)
		fail_msg("the host's descriptors went from %d to %d", fds100, fds500);
	assert_int_equal(zombies_of(h->pid), 0);
	json_decref(h_get(h, "/healthz", 200));
}

/* In sanitizer builds ASan's quarantine keeps freed memory for a while; keep it small so that
 * the host's resident size shows leaks, not the quarantine. */
static int setup_small_quarantine(void **state)
{
	const char *old = getenv("ASAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=4", old ? old : "", old ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	return h_setup(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_done_means, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_thousands_beside_crashes, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_memory_steady_across_replacements,
					    setup_small_quarantine, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("sandbox-load", tests, NULL, NULL);
}
