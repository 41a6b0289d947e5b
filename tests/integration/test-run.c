/* Integration test of `make run` (scripts/run.sh, issue 11 item 4): whatever the shell does,
 * stopping the run stops asyncd. Each case starts `scripts/run.sh 2>&1 | tee OUT` as a terminal
 * would (its own process group) with the state in a scratch directory and port 0, waits for the
 * banner, then: Ctrl-C (SIGINT to the process group); the same with SIGINT ignored, as a shell
 * starts background commands; SIGKILL of the shell that started run.sh (its parent). asyncd (its
 * pid from STATE/asyncd.lock) must be gone, after a clean stop, within a bounded time. And a
 * stale asyncd on the state directory makes run.sh refuse, naming its pid. */
#include <errno.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define RUN_START_MS 60000 /* build-free start, first-run registration included */
#define GONE_MS 20000	   /* asyncd's clean stop after the signal */

extern char **environ;

struct run {
	char dir[64]; /* scratch: DIR/var is the state, DIR/out what tee wrote */
	char state[96];
	char out[96];
	pid_t shell; /* bash -c 'scripts/run.sh 2>&1 | tee OUT', leader of its process group */
	pid_t asyncd;
};

static void run_init(struct run *r)
{
	snprintf(r->dir, sizeof(r->dir), "/tmp/asyncd-run.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->state, sizeof(r->state), "%s/var", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/out", r->dir);
	r->shell = r->asyncd = 0;
}

static const char *source_dir(void)
{
	const char *s = getenv("ASYNCD_SOURCE_DIR");
	if (!s)
		fail_msg("ASYNCD_SOURCE_DIR is not set (run the tests with meson test)");
	return s;
}

/* Start the pipeline in a process group of its own; SIGINT ignored when ignore_int. */
static void run_start(struct run *r, bool ignore_int)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "scripts/run.sh 2>&1 | tee %s >/dev/null", r->out);
	const char *src = source_dir();
	setenv("ASYNCD_STATE_DIR", r->state, 1); /* before the fork: the child only execs */
	setenv("ASYNCD_LISTEN", "127.0.0.1:0", 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, ignore_int ? SIG_IGN : SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (chdir(src) == 0)
			execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	r->shell = pid;
}

/* The pid in STATE/asyncd.lock, 0 when none yet. */
static pid_t lock_pid(const struct run *r)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/asyncd.lock", r->state);
	char *s = h_read_file(path, NULL);
	long pid = s ? strtol(s, NULL, 10) : 0;
	free(s);
	return (pid_t)pid;
}

static void show_out(const struct run *r)
{
	char *s = h_read_file(r->out, NULL);
	fprintf(stderr, "# --- what run.sh printed ---\n%s\n", s ? s : "(nothing)");
	free(s);
}

/* Wait for run.sh's banner (asyncd answered, the samples are registered). */
static void run_wait_banner(struct run *r)
{
	int64_t end = h_mono_ms() + RUN_START_MS;
	for (;;) {
		char *s = h_read_file(r->out, NULL);
		bool up = s && strstr(s, "asyncd is running at");
		free(s);
		if (up)
			break;
		if (h_mono_ms() > end) {
			show_out(r);
			fail_msg("no banner from run.sh within %d ms", RUN_START_MS);
		}
		h_sleep_ms(H_POLL_MS);
	}
	r->asyncd = lock_pid(r);
	assert_true(r->asyncd > 0);
}

/* pid is gone or a zombie (not reaped by whoever is its parent now). */
static bool gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

static void expect_gone(struct run *r, const char *how)
{
	int64_t end = h_mono_ms() + GONE_MS;
	while (!gone(r->asyncd)) {
		if (h_mono_ms() > end) {
			kill(r->asyncd, SIGKILL);
			show_out(r);
			fail_msg("asyncd (pid %d) still runs %d ms after %s", (int)r->asyncd,
				 GONE_MS, how);
		}
		h_sleep_ms(H_POLL_MS);
	}
	char log[128];
	snprintf(log, sizeof(log), "%s/asyncd.log", r->state);
	char *text = h_read_file(log, NULL);
	h_expect_text(text ? text : "", "host: received", "asyncd.log (a clean stop)");
	free(text);
}

/* Reap the shell (bounded), end what is left of the group, remove the directory. */
static void run_done(struct run *r)
{
	int st;
	int64_t end = h_mono_ms() + GONE_MS;
	while (r->shell > 0 && waitpid(r->shell, &st, WNOHANG) == 0 && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	if (r->shell > 0) {
		kill(-r->shell, SIGKILL);
		waitpid(r->shell, &st, WNOHANG);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	if (!getenv("ASYNCD_TEST_KEEP") && system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", r->dir);
}

static void test_ctrl_c_on_a_pipe(void **state)
{
	(void)state;
	struct run r;
	run_init(&r);
	run_start(&r, false);
	run_wait_banner(&r);
	kill(-r.shell, SIGINT);
	expect_gone(&r, "Ctrl-C (SIGINT to the process group of run.sh | tee)");
	run_done(&r);
}

static void test_sigint_ignored_background_run(void **state)
{
	(void)state;
	struct run r;
	run_init(&r);
	run_start(&r, true);
	run_wait_banner(&r);
	kill(-r.shell, SIGINT);
	expect_gone(&r, "SIGINT to a run started with SIGINT ignored");
	run_done(&r);
}

static void test_parent_killed(void **state)
{
	(void)state;
	struct run r;
	run_init(&r);
	run_start(&r, false);
	run_wait_banner(&r);
	kill(r.shell, SIGKILL); /* the shell that started run.sh, i.e. asyncd's parent */
	expect_gone(&r, "SIGKILL of its parent");
	run_done(&r);
}

/* An asyncd left from an earlier run (started here without run.sh): run.sh names its pid. */
static void test_stale_asyncd_named(void **state)
{
	(void)state;
	struct run r;
	char bin[1200], url[128];
	run_init(&r);
	assert_int_equal(mkdir(r.state, 0700), 0);
	snprintf(bin, sizeof(bin), "%s/src/bin/asyncd", getenv("ASYNCD_BUILD_DIR"));
	char *argv[] = {bin, "--state-dir", r.state, "--listen", "127.0.0.1:0", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t stale;
	assert_int_equal(posix_spawn(&stale, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	snprintf(url, sizeof(url), "%s/asyncd.url", r.state);
	int64_t end = h_mono_ms() + H_START_TIMEOUT_MS;
	while (access(url, F_OK) != 0 && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	assert_int_equal(access(url, F_OK), 0);

	run_start(&r, false);
	int st = 0;
	end = h_mono_ms() + RUN_START_MS;
	while (waitpid(r.shell, &st, WNOHANG) == 0 && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	r.shell = 0;
	char want[64];
	snprintf(want, sizeof(want), "pid %d", (int)stale);
	char *out = h_read_file(r.out, NULL);
	kill(stale, SIGTERM);
	end = h_mono_ms() + GONE_MS;
	while (waitpid(stale, &st, WNOHANG) == 0 && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	h_expect_text(out ? out : "", "an asyncd from an earlier run still uses",
		      "run.sh's output");
	h_expect_text(out ? out : "", want, "run.sh's output");
	free(out);
	run_done(&r);
}

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctrl_c_on_a_pipe),
	    cmocka_unit_test(test_sigint_ignored_background_run),
	    cmocka_unit_test(test_parent_killed),
	    cmocka_unit_test(test_stale_asyncd_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
