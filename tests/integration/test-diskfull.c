/* Integration tests of a full disk against the real asyncd. The disk is made full without root:
 * the store URL's max_pages=N option caps the SQLite database at N pages (PRAGMA max_page_count),
 * so writes past it fail with SQLITE_FULL exactly as on a full file system. A request that cannot
 * be stored answers 507 disk_full saying that nothing was stored; every job acknowledged before
 * is still there after a restart; starting on a full disk exits with status 73 and says why. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

#define PAGE 4096
#define DATA_BYTES 20000
#define MAX_SUBMITS 400
#define EXIT_DISK_FULL 73

extern char **environ;

static long db_pages(struct harness *h)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/asyncd.db", h->dir);
	assert_int_equal(stat(path, &st), 0);
	return (long)(st.st_size / PAGE);
}

/* POST a job with DATA_BYTES of data; returns its id, or 0 after a 507 (checked). */
static int64_t submit_big(struct harness *h, const char *filler)
{
	long status;
	char *body = malloc(DATA_BYTES + 200);

	assert_non_null(body);
	snprintf(body, DATA_BYTES + 200,
		 "{\"plugin_type\":\"samples.noop\",\"postpone_until\":\"2999-01-01T00:00:00Z\","
		 "\"data\":{\"x\":\"%s\"}}",
		 filler);
	json_t *a =
	    h_request(h, "POST", "/api/v1/jobs", "application/json", body, strlen(body), &status);
	free(body);
	int64_t id = status == 201 ? h_int(a, "id") : 0;
	if (status != 201 && status != 507)
		fail_msg("POST /api/v1/jobs: HTTP %ld: %s", status, h_client_last(h->client));
	if (status == 507) {
		assert_string_equal(h_error_code(a), "disk_full");
		const char *msg = h_str(json_object_get(a, "error"), "message");
		if (!strstr(msg, "disk is full") || !strstr(msg, "nothing was stored"))
			fail_msg("the 507 message does not say so: %s", msg);
	}
	json_decref(a);
	return id;
}

static void test_full_disk_answers_507_and_loses_nothing(void **state)
{
	struct harness *h = *state;
	char url[400], path[64];
	int64_t ids[MAX_SUBMITS];
	int n = 0;

	h_register_samples(h);
	h_stop(h);
	snprintf(url, sizeof(url), "sqlite:%s/asyncd.db?max_pages=%ld", h->dir, db_pages(h) + 40);
	h_restart_args(h, "--store", url, NULL);
	char *filler = malloc(DATA_BYTES);
	assert_non_null(filler);
	memset(filler, 'd', DATA_BYTES - 1);
	filler[DATA_BYTES - 1] = 0;
	while (n < MAX_SUBMITS && (ids[n] = submit_big(h, filler)) > 0)
		n++;
	if (n == MAX_SUBMITS)
		fail_msg("%d jobs of %d bytes fitted in a capped database", n, DATA_BYTES);
	assert_true(n > 0);
	assert_int_equal(submit_big(h, filler), 0); /* still full, still answering */
	json_decref(h_get(h, "/healthz", 200));
	free(filler);
	h_stop(h);
	h_restart(h); /* no cap: every acknowledged job is there, and nothing else */
	for (int i = 0; i < n; i++)
		json_decref(h_get(
		    h, h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)ids[i]), 200));
	assert_int_equal(h_count(h, -1), n);
	h_stop(h);
}

/* Start asyncd on h's directory with store url; returns its exit status (bounded wait). */
static int start_expecting_exit(struct harness *h, const char *url)
{
	char bin[1200], log[300];
	pid_t pid;
	int st = 0;
	posix_spawn_file_actions_t fa;

	snprintf(bin, sizeof(bin), "%s/src/bin/asyncd", h->build);
	snprintf(log, sizeof(log), "%s/asyncd.log", h->dir);
	char *argv[] = {bin,	     "--state-dir", h->dir,	   "--store",
			(char *)url, "--listen",    "127.0.0.1:0", NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	int64_t end = h_mono_ms() + H_START_TIMEOUT_MS;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (h_mono_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("asyncd kept running on a full disk");
		}
		h_sleep_ms(H_POLL_MS);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_start_on_full_disk(void **state)
{
	(void)state;
	struct harness *h = h_start();
	char url[400], path[300];

	snprintf(url, sizeof(url), "sqlite:%s/asyncd.db?max_pages=2", h->dir);
	assert_int_equal(start_expecting_exit(h, url), EXIT_DISK_FULL);
	char *text = h_read_file(h_path(path, sizeof(path), "%s/asyncd.log", h->dir), NULL);
	assert_non_null(text);
	if (!strstr(text, "disk is full"))
		fail_msg("the log does not say the disk is full:\n%s", text);
	free(text);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_full_disk_answers_507_and_loses_nothing, h_setup,
					    h_teardown),
	    cmocka_unit_test(test_start_on_full_disk),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("diskfull", tests, NULL, NULL);
}
