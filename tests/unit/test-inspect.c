/* Unit tests of src/plugin/inspect.c: the real asyncd-worker is spawned on the real samples
 * assemblies and on every bad test library of tests/plugins/, and the answers, error codes and
 * messages are checked, along with timeouts, missing files and leaked descriptors. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "plugin/inspect.h"

#define TIMEOUT_MS 10000

static char worker[4096];

static const char *built(char *buf, size_t n, const char *rel)
{
	snprintf(buf, n, "%s/%s", getenv("ASYNCD_BUILD_DIR"), rel);
	return buf;
}

static int group_setup(void **state)
{
	(void)state;
	if (!getenv("ASYNCD_BUILD_DIR")) {
		fprintf(stderr, "ASYNCD_BUILD_DIR is not set\n");
		return -1;
	}
	built(worker, sizeof(worker), "src/bin/asyncd-worker");
	return 0;
}

static void inspect_ok(const char *rel, struct plugin_meta *m)
{
	char path[4096], err[1024] = "";
	int r;

	r = plugin_inspect(worker, built(path, sizeof(path), rel), TIMEOUT_MS, m, err, sizeof(err));
	if (r != 0)
		fail_msg("inspecting %s failed (%s): %s", rel, ae_name(r), err);
}

/* Inspect rel and check that it fails with code and a message containing want; *ret must stay
 * untouched. */
static void inspect_fails(const char *rel, int code, const char *want)
{
	struct plugin_meta m = {(char *)"sentinel", NULL, NULL, 0, NULL, NULL};
	char path[4096], err[1024] = "";
	int r;

	r = plugin_inspect(worker, built(path, sizeof(path), rel), TIMEOUT_MS, &m, err,
			   sizeof(err));
	if (r != code)
		fail_msg("%s: %s (%s) instead of %s", rel, ae_name(r), err, ae_name(code));
	if (!strstr(err, want))
		fail_msg("%s: message \"%s\" does not contain \"%s\"", rel, err, want);
	assert_string_equal(m.name, "sentinel");
}

static void test_samples(void **state)
{
	static const char *const names[] = {"noop",  "echo",  "fail", "flaky",
					    "sleep", "crash", "hog",  "raise"};
	struct plugin_meta m;

	(void)state;
	inspect_ok("plugins/samples/samples.so", &m);
	assert_string_equal(m.name, "samples");
	assert_string_equal(m.version, "1.0.0.0");
	assert_non_null(m.description);
	assert_int_equal(m.n_types, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(m.type_names[i], names[i]);
		assert_non_null(m.type_descriptions[i]);
	}
	plugin_meta_done(&m);
	assert_null(m.name);
	plugin_meta_done(&m);
	plugin_meta_done(NULL);
}

static void test_sample_versions(void **state)
{
	struct plugin_meta m;

	(void)state;
	inspect_ok("plugins/samples/samples-1.0.1.0.so", &m);
	assert_string_equal(m.name, "samples");
	assert_string_equal(m.version, "1.0.1.0");
	plugin_meta_done(&m);
	inspect_ok("plugins/samples/samples-2.0.0.0.so", &m);
	assert_string_equal(m.version, "2.0.0.0");
	plugin_meta_done(&m);
}

/* A library that prints a lot from its constructor still gives a clean answer. */
static void test_noisy_library(void **state)
{
	struct plugin_meta m;

	(void)state;
	inspect_ok("tests/plugins/noisy_ctor.so", &m);
	assert_string_equal(m.name, "noisy");
	assert_null(m.description);
	assert_int_equal(m.n_types, 1);
	assert_string_equal(m.type_names[0], "run");
	assert_null(m.type_descriptions[0]);
	plugin_meta_done(&m);
}

static void test_bad_libraries(void **state)
{
	(void)state;
	inspect_fails("tests/plugins/bad_abi.so", AE_PLUGIN,
		      "built for plug-in ABI version 99, this host supports version 1");
	inspect_fails("tests/plugins/no_types.so", AE_PLUGIN, "exports no plug-in types");
	inspect_fails("tests/plugins/no_entry.so", AE_PLUGIN,
		      "does not export asyncd_plugin_entry()");
	inspect_fails("tests/plugins/not_a_library.so", AE_PLUGIN, "not a loadable shared library");
	inspect_fails("tests/plugins/does-not-exist.so", AE_PLUGIN, "No such file or directory");
}

static void test_crash_while_loading(void **state)
{
	char path[4096], err[1024] = "";
	struct plugin_meta m;

	(void)state;
	assert_int_equal(plugin_inspect(worker,
					built(path, sizeof(path), "tests/plugins/ctor_crash.so"),
					TIMEOUT_MS, &m, err, sizeof(err)),
			 AE_PLUGIN);
	assert_string_equal(err, "the library crashed while loading (SIGSEGV)");
}

static void test_exit_while_loading(void **state)
{
	(void)state;
	inspect_fails("tests/plugins/exit_ctor.so", AE_PLUGIN,
		      "the library exited while loading (exit status 3)");
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether a live process's command line mentions needle (zombies have none). */
static bool process_alive_with(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		char path[300], cmd[4096];
		FILE *f;
		size_t n;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !(f = fopen(path, "r")))
			continue;
		n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i < n; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		cmd[n] = '\0';
		found = strstr(cmd, needle) != NULL;
	}
	if (d)
		closedir(d);
	return found;
}

/* A constructor that hangs (and forks a child that hangs too) is cut off at the deadline, and
 * the worker's whole process group is gone afterwards. The library is reached through a symlink
 * with a name of this run's own, so that other runs cannot be mistaken for ours. */
static void test_timeout_kills_group(void **state)
{
	char dir[] = "/tmp/asyncd-test-inspect-XXXXXX", link[64], target[4096], err[1024] = "";
	struct plugin_meta m;
	int64_t t0;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/slow.so", dir);
	assert_int_equal(symlink(built(target, sizeof(target), "tests/plugins/slow_ctor.so"), link),
			 0);
	t0 = mono_ms();
	assert_int_equal(plugin_inspect(worker, link, 300, &m, err, sizeof(err)), AE_TIMEOUT);
	assert_true(mono_ms() - t0 < 5000);
	assert_string_equal(err, "the library did not finish loading within 300 ms");
	for (i = 0; i < 200 && process_alive_with(dir); i++)
		usleep(10000);
	assert_false(process_alive_with(dir));
	unlink(link);
	rmdir(dir);
}

static void test_missing_worker(void **state)
{
	char path[4096], err[1024] = "";
	struct plugin_meta m;

	(void)state;
	assert_int_equal(plugin_inspect("/nonexistent/asyncd-worker",
					built(path, sizeof(path), "plugins/samples/samples.so"),
					TIMEOUT_MS, &m, err, sizeof(err)),
			 AE_INTERNAL);
	assert_non_null(strstr(err, "cannot run the plug-in worker /nonexistent/asyncd-worker"));
}

static void test_invalid_arguments(void **state)
{
	char err[256] = "";
	struct plugin_meta m;

	(void)state;
	assert_int_equal(plugin_inspect(worker, "x.so", 0, &m, err, sizeof(err)), AE_INVAL);
	assert_int_equal(plugin_inspect(NULL, "x.so", 100, &m, err, sizeof(err)), AE_INVAL);
	assert_int_equal(plugin_inspect(worker, NULL, 100, &m, NULL, 0), AE_INVAL);
	assert_int_equal(plugin_inspect(worker, "x.so", 100, NULL, err, sizeof(err)), AE_INVAL);
}

/* The worker refuses bad usage with exit status 2. */
static void test_worker_usage(void **state)
{
	char cmd[8192];
	int status;

	(void)state;
	snprintf(cmd, sizeof(cmd), "'%s' >/dev/null 2>&1", worker);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
	snprintf(cmd, sizeof(cmd), "'%s' --run x y >/dev/null 2>&1", worker);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_no_fd_leak(void **state)
{
	int before = count_fds();
	struct plugin_meta m;

	inspect_ok("plugins/samples/samples.so", &m);
	plugin_meta_done(&m);
	test_bad_libraries(state);
	test_crash_while_loading(state);
	test_missing_worker(state);
	assert_int_equal(count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_samples),
	    cmocka_unit_test(test_sample_versions),
	    cmocka_unit_test(test_noisy_library),
	    cmocka_unit_test(test_bad_libraries),
	    cmocka_unit_test(test_crash_while_loading),
	    cmocka_unit_test(test_exit_while_loading),
	    cmocka_unit_test(test_timeout_kills_group),
	    cmocka_unit_test(test_missing_worker),
	    cmocka_unit_test(test_invalid_arguments),
	    cmocka_unit_test(test_worker_usage),
	    cmocka_unit_test(test_no_fd_leak),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
