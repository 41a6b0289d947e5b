/* Integration tests of the sandbox's walls (issue 14) on the real asyncd and asyncd-worker with
 * tests/plugins/hostile.c: each attack of a sandboxed plug-in on the host (its state directory,
 * database, token, assembly cache and admin socket; signals to the host, to a sibling worker and
 * to everyone; /proc/PPID/mem; /tmp; the network when denied) fails with a clear error while the
 * host and the other workers live on. The attacks run twice: with asyncd as an unprivileged user
 * (as root, uid H_UNPRIVILEGED_UID without a passwd entry) and as the tests' own user (root: the
 * workers switch to sandbox.user). Also: the private directory, no inherited descriptors, what
 * the service reports, the refusal to run unprotected, and the checks of sandbox.user. */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define WORKERS 2
#define HOSTILE "tests/plugins/hostile.so"

/* What an attack must leave as it was. */
struct scene {
	char sha256[65];     /* the hostile library in the cache */
	pid_t host;	     /* asyncd */
	pid_t pids[WORKERS]; /* the workers */
};

/* ---- helpers ---- */

static const char *state_file(const struct harness *h, char *buf, size_t n, const char *name)
{
	return h_path(buf, n, "%s/%s", h->dir, name);
}

static json_t *sandbox_service(struct harness *h)
{
	return h_service(h, "sandbox");
}

/* The pids of the ready workers into pids (up to n); returns how many. */
static int worker_pids(struct harness *h, pid_t *pids, int n)
{
	json_t *s = sandbox_service(h), *w;
	size_t i;
	int k = 0;
	json_array_foreach(json_object_get(s, "worker_processes"), i, w)
	{
		if (k < n && !strcmp(h_str(w, "state"), "ready"))
			pids[k++] = (pid_t)h_int(w, "pid");
	}
	json_decref(s);
	return k;
}

/* Wait until WORKERS workers are listed as ready (the list is refreshed every 100 ms); their pids
 * into pids. */
static void wait_workers(struct harness *h, pid_t *pids)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (worker_pids(h, pids, WORKERS) != WORKERS) {
		if (h_mono_ms() > end)
			fail_msg("%d sandbox workers did not become ready", WORKERS);
		h_sleep_ms(H_POLL_MS);
	}
}

/* Wait until the sandbox service's property key is the JSON value want (compared as text). */
static void wait_prop(struct harness *h, const char *key, json_t *want)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	for (;;) {
		json_t *s = sandbox_service(h);
		bool same = json_equal(json_object_get(s, key), want);
		if (same || h_mono_ms() > end) {
			char *text = json_dumps(s, JSON_COMPACT);
			json_decref(s);
			if (!same)
				fprintf(stderr, "# sandbox: %s\n", text);
			free(text);
			if (!same)
				fail_msg("the sandbox's %s did not become what was expected", key);
			json_decref(want);
			return;
		}
		json_decref(s);
		h_sleep_ms(H_POLL_MS);
	}
}

static bool kernel_has_landlock(int *ret_abi)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U);
	*ret_abi = abi > 0 ? (int)abi : 0;
	return abi > 0;
}

/* Register hostile.so sandboxed with WORKERS workers ready; remember who must survive. Without
 * Landlock and without root, sandboxed work is refused (test_refuses_unprotected): skipped. */
static void prepare(struct harness *h, struct scene *sc)
{
	int abi;
	if ((h->run_uid || getuid() != 0) && !kernel_has_landlock(&abi)) {
		skip();
		return;
	}
	json_t *a = h_upload(h, HOSTILE, "sandbox", 201);
	snprintf(sc->sha256, sizeof(sc->sha256), "%s", h_str(a, "sha256"));
	json_decref(a);
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", WORKERS));
	wait_workers(h, sc->pids);
	sc->host = h->pid;
}

/* The host answers, every worker is the one it was, and nothing crashed. */
static void expect_survivors(struct harness *h, const struct scene *sc)
{
	pid_t now[WORKERS];
	assert_int_equal(kill(sc->host, 0), 0);
	json_decref(h_get(h, "/healthz", 200));
	assert_int_equal(worker_pids(h, now, WORKERS), WORKERS);
	for (int i = 0; i < WORKERS; i++) {
		bool found = false;
		for (int k = 0; k < WORKERS; k++)
			found |= now[k] == sc->pids[i];
		if (!found || kill(sc->pids[i], 0) < 0)
			fail_msg("worker %d is gone", (int)sc->pids[i]);
	}
	json_t *s = sandbox_service(h);
	assert_int_equal(h_int(s, "crashes"), 0);
	assert_int_equal(h_int(s, "restarts"), 0);
	json_decref(s);
}

static int64_t submit(struct harness *h, const char *type, json_t *data)
{
	return h_submit(h, json_pack("{s:s,s:o,s:i}", "plugin_type", type, "data",
				     data ? data : json_object(), "max_retries", 0));
}

/* Run the attack: it must fail permanently, saying it was blocked and why, and hurt no one. */
static void expect_blocked(struct harness *h, const struct scene *sc, const char *type,
			   json_t *data, const char *why)
{
	int64_t id = submit(h, type, data);
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	const char *msg = h_str(j, "message");
	if (h_int(j, "status") != 31 || strcmp(h_str(j, "error_code"), "plugin_failed") || !msg ||
	    strncmp(msg, "blocked: ", 9) || (why && !strstr(msg, why)))
		fail_msg("%s: status %lld, %s: %s", type, (long long)h_int(j, "status"),
			 h_str(j, "error_code"), msg ? msg : "(no message)");
	json_decref(j);
	expect_survivors(h, sc);
}

static json_t *path_data(const char *path)
{
	return json_pack("{s:s}", "path", path);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- the attacks ---- */

static void test_read_token(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char p[512];
	prepare(h, &sc);
	expect_blocked(h, &sc, "hostile.read",
		       path_data(state_file(h, p, sizeof(p), "admin.token")), NULL);
}

static void test_create_in_state(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char p[512];
	prepare(h, &sc);
	state_file(h, p, sizeof(p), "hostile-was-here");
	expect_blocked(h, &sc, "hostile.create", path_data(p), NULL);
	assert_false(exists(p));
}

static void test_database(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char p[512];
	prepare(h, &sc);
	expect_blocked(h, &sc, "hostile.read", path_data(state_file(h, p, sizeof(p), "asyncd.db")),
		       NULL);
	expect_blocked(h, &sc, "hostile.write", path_data(state_file(h, p, sizeof(p), "asyncd.db")),
		       NULL);
	state_file(h, p, sizeof(p), "asyncd.db-wal");
	if (exists(p))
		expect_blocked(h, &sc, "hostile.write", path_data(p), NULL);
	state_file(h, p, sizeof(p), "asyncd.db-shm");
	if (exists(p))
		expect_blocked(h, &sc, "hostile.write", path_data(p), NULL);
}

static void test_assembly_cache(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char p[512], name[128];
	prepare(h, &sc);
	expect_blocked(h, &sc, "hostile.list",
		       path_data(state_file(h, p, sizeof(p), "cache/assemblies")), NULL);
	snprintf(name, sizeof(name), "cache/assemblies/%s.so", sc.sha256);
	state_file(h, p, sizeof(p), name);
	assert_true(exists(p));
	expect_blocked(h, &sc, "hostile.read", path_data(p), NULL);
}

static void test_kill_host(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	prepare(h, &sc);
	expect_blocked(h, &sc, "hostile.kill_parent", NULL, "Operation not permitted");
	expect_blocked(h, &sc, "hostile.rlimit_parent", NULL, NULL);
}

static void test_kill_sibling(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	prepare(h, &sc);
	expect_blocked(h, &sc, "hostile.kill_pids",
		       json_pack("{s:i,s:i}", "pid", (int)sc.pids[0], "pid2", (int)sc.pids[1]),
		       "Operation not permitted");
}

static void test_kill_everyone(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	prepare(h, &sc);
	expect_blocked(h, &sc, "hostile.kill_all", NULL, "Operation not permitted");
}

static void test_admin_socket(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char p[512];
	prepare(h, &sc);
	state_file(h, p, sizeof(p), "asyncd.sock");
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (!exists(p) && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	if (!exists(p)) {
		h_dump_log(h, 20);
		fail_msg("no %s", p);
	}
	expect_blocked(h, &sc, "hostile.connect_unix", path_data(p), NULL);
}

static void test_host_memory(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	prepare(h, &sc);
	expect_blocked(h, &sc, "hostile.proc_mem", NULL, NULL);
}

static void test_tmp_outside_private_dir(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char p[128];
	prepare(h, &sc);
	snprintf(p, sizeof(p), "/tmp/asyncd-hostile.%d", (int)getpid());
	expect_blocked(h, &sc, "hostile.create", path_data(p), NULL);
	assert_false(exists(p));
}

/* The port of the host's HTTP listener, from its URL. */
static int host_port(const struct harness *h)
{
	const char *colon = strrchr(h->url, ':');
	return colon ? atoi(colon + 1) : 0;
}

static void test_network_deny(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	prepare(h, &sc);
	json_t *data = json_pack("{s:i}", "port", host_port(h));
	/* allowed by default: webhooks are the common plug-in */
	json_t *j = h_wait_job(h, submit(h, "hostile.tcp", json_incref(data)), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	json_decref(j);
	h_set_settings(h, json_pack("{s:s}", "sandbox.network", "deny"));
	wait_prop(h, "network_denied", json_true()); /* every worker replaced */
	wait_workers(h, sc.pids);
	expect_blocked(h, &sc, "hostile.tcp", data, "Permission denied");
}

/* ---- what a plug-in has ---- */

static void test_private_dir(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	struct stat st;
	prepare(h, &sc);
	json_t *j = h_wait_job(h, submit(h, "hostile.private", NULL), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	json_t *o = json_object_get(j, "output");
	const char *dir = h_str(o, "tmpdir");
	assert_non_null(dir);
	assert_string_equal(h_str(o, "cwd"), dir);
	assert_string_equal(h_str(o, "home"), dir);
	assert_null(strstr(dir, h->dir));
	assert_non_null(strstr(dir, "/asyncd-worker."));
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	struct passwd *nobody = getpwnam("nobody");
	uid_t want = h->run_uid ? h->run_uid : getuid() == 0 && nobody ? nobody->pw_uid : getuid();
	assert_int_equal(st.st_uid, want);
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", dir);
	json_decref(j);
	/* gone with its worker: a setting the workers were started with changes, they are replaced
	 */
	h_set_settings(h, json_pack("{s:i}", "sandbox.memory_limit_mb", 512));
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (exists(copy) && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	assert_false(exists(copy));
}

/* A worker's private directory, as a hostile.private job reports it, into dir. */
static void private_dir_of(struct harness *h, char *dir, size_t n)
{
	json_t *j = h_wait_job(h, submit(h, "hostile.private", NULL), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	snprintf(dir, n, "%s", h_str(json_object_get(j, "output"), "tmpdir"));
	json_decref(j);
	assert_true(exists(dir));
}

static void wait_gone(const char *path)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (exists(path) && h_mono_ms() < end)
		h_sleep_ms(H_POLL_MS);
	if (exists(path))
		fail_msg("%s is still there", path);
}

/* What a plug-in leaves (a directory no one may enter, a link out) is cleaned without following
 * the link; what a killed host left is cleaned when the sandbox starts again. */
static void test_private_dir_cleaned(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char dirs[WORKERS][512], keep[512];
	prepare(h, &sc);
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", 1));
	wait_prop(h, "workers_ready", json_integer(1));
	state_file(h, keep, sizeof(keep), "keep-me");
	FILE *f = fopen(keep, "w");
	assert_non_null(f);
	fclose(f);
	private_dir_of(h, dirs[0], sizeof(dirs[0]));
	json_t *j = h_wait_job(h, submit(h, "hostile.mess", path_data(keep)), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	json_decref(j);
	h_set_settings(h, json_pack("{s:i}", "sandbox.memory_limit_mb", 512)); /* replaced */
	wait_gone(dirs[0]);
	assert_true(exists(keep));
	/* a host killed outright leaves its workers' directories; the next start removes them */
	private_dir_of(h, dirs[1], sizeof(dirs[1]));
	h_kill(h);
	assert_true(exists(dirs[1]));
	h_restart(h);
	wait_gone(dirs[1]);
}

static void test_no_inherited_descriptors(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	size_t i;
	json_t *fd;
	int sockets = 0;
	prepare(h, &sc);
	json_t *j = h_wait_job(h, submit(h, "hostile.fds", NULL), H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 30);
	json_array_foreach(json_object_get(json_object_get(j, "output"), "fds"), i, fd)
	{
		const char *s = json_string_value(fd);
		fprintf(stderr, "# fd %s\n", s);
		if (strstr(s, h->dir) || strstr(s, "/dev/pts") || strstr(s, "anon_inode:"))
			fail_msg("a descriptor it should not have: %s", s);
		sockets += strstr(s, "socket:") != NULL;
	}
	assert_int_equal(sockets, 1); /* the IPC socket */
	json_decref(j);
}

static void test_services_report(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	int abi;
	prepare(h, &sc);
	json_t *s = sandbox_service(h);
	char *text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	fprintf(stderr, "# %s\n", text);
	free(text);
	bool ll = kernel_has_landlock(&abi);
	assert_int_equal(h_int(s, "landlock_abi"), abi);
	assert_int_equal(json_is_true(json_object_get(s, "landlock_fs")), ll);
	assert_int_equal(json_is_true(json_object_get(s, "signal_scope")), abi >= 6);
	assert_true(json_is_true(json_object_get(s, "seccomp_signals")));
	assert_true(json_is_true(json_object_get(s, "no_unix_sockets")));
	assert_true(json_is_true(json_object_get(s, "private_tmp")));
	assert_false(json_is_true(json_object_get(s, "network_denied")));
	assert_string_equal(h_str(s, "network"), "allow");
	assert_int_equal(json_is_true(json_object_get(s, "user_changed")),
			 getuid() == 0 && !h->run_uid);
	json_decref(s);
	char log[512];
	char *all = h_read_file(state_file(h, log, sizeof(log), "asyncd.log"), NULL);
	assert_non_null(all);
	assert_non_null(strstr(all, "worker protections: landlock ABI"));
	free(all);
}

/* Without Landlock (as on an older kernel) and without root to switch users, nothing keeps a
 * plug-in from the host's files: asyncd refuses to run it. */
static void test_refuses_unprotected(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	prepare(h, &sc);
	h_stop(h);
	setenv("ASYNCD_SANDBOX_NO_LANDLOCK", "1", 1);
	h_restart(h);
	unsetenv("ASYNCD_SANDBOX_NO_LANDLOCK");
	int64_t id = submit(h, "hostile.private", NULL);
	json_t *j = h_wait_job(h, id, H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(j, "status"), 31);
	assert_string_equal(h_str(j, "error_code"), "sandbox_unavailable");
	json_decref(j);
	json_t *s = sandbox_service(h);
	const char *err = h_str(s, "last_error");
	if (!err || !strstr(err, "refusing to run plug-ins unprotected"))
		fail_msg("last_error: %s", err ? err : "(none)");
	json_decref(s);
	/* and a new library is not even inspected */
	long status;
	char path[1200];
	size_t len;
	char *bytes = h_read_file(
	    h_path(path, sizeof(path), "%s/%s", h->build, "tests/plugins/sandbox_probe.so"), &len);
	assert_non_null(bytes);
	json_t *a = h_request(h, "POST", "/api/v1/assemblies?isolation=sandbox",
			      "application/octet-stream", bytes, len, &status);
	free(bytes);
	assert_int_equal(status, 422);
	assert_non_null(strstr(h_client_last(h->client), "unprotected"));
	json_decref(a);
}

/* As root without Landlock the user change is the wall: the work runs, the token stays out of
 * reach (it is the host's, 0600); the workers share one user, so only seccomp keeps them from
 * signalling each other. */
static void test_root_without_landlock_uses_the_user(void **state)
{
	struct harness *h = *state;
	struct scene sc;
	char p[512];
	if (getuid() != 0) {
		skip();
		return;
	}
	prepare(h, &sc);
	h_stop(h);
	setenv("ASYNCD_SANDBOX_NO_LANDLOCK", "1", 1);
	h_restart(h);
	unsetenv("ASYNCD_SANDBOX_NO_LANDLOCK");
	h_set_settings(h, json_pack("{s:i}", "sandbox.workers", WORKERS));
	wait_workers(h, sc.pids);
	sc.host = h->pid;
	json_t *s = sandbox_service(h);
	assert_false(json_is_true(json_object_get(s, "landlock_fs")));
	assert_true(json_is_true(json_object_get(s, "user_changed")));
	json_decref(s);
	expect_blocked(h, &sc, "hostile.read",
		       path_data(state_file(h, p, sizeof(p), "admin.token")), "Permission denied");
	expect_blocked(h, &sc, "hostile.kill_parent", NULL, "Operation not permitted");
	expect_blocked(h, &sc, "hostile.kill_pids",
		       json_pack("{s:i,s:i}", "pid", (int)sc.pids[0], "pid2", (int)sc.pids[1]),
		       "Operation not permitted");
	expect_blocked(h, &sc, "hostile.kill_all", NULL, "Operation not permitted");
	expect_blocked(h, &sc, "hostile.connect_unix",
		       path_data(state_file(h, p, sizeof(p), "asyncd.sock")), "socket(AF_UNIX)");
}

/* ---- sandbox.user ---- */

static void expect_setting_refused(struct harness *h, json_t *values, const char *why)
{
	json_t *a = h_call(h, "PATCH", "/api/v1/settings", values, 400);
	const char *msg = h_str(json_object_get(a, "error"), "message");
	if (!msg || !strstr(msg, why))
		fail_msg("refused, but \"%s\" does not say \"%s\"", msg ? msg : "", why);
	json_decref(a);
}

static void test_sandbox_user_checked(void **state)
{
	struct harness *h = *state;
	expect_setting_refused(h, json_pack("{s:s}", "sandbox.user", "root"), "uid 0");
	expect_setting_refused(h, json_pack("{s:s}", "sandbox.user", ""), "empty");
	expect_setting_refused(h, json_pack("{s:s}", "sandbox.user", "no-such-user-14"),
			       "no such user");
	expect_setting_refused(h, json_pack("{s:s}", "sandbox.network", "maybe"), "deny");
	/* allowed on purpose, in the same request or before */
	h_set_settings(
	    h, json_pack("{s:s,s:b}", "sandbox.user", "root", "sandbox.allow_privileged", 1));
	expect_setting_refused(h, json_pack("{s:b}", "sandbox.allow_privileged", 0), "uid 0");
	h_set_settings(h, json_pack("{s:s}", "sandbox.user", ""));
	h_set_settings(
	    h, json_pack("{s:s,s:b}", "sandbox.user", "nobody", "sandbox.allow_privileged", 0));
	json_t *a = h_get(h, "/api/v1/audit?limit=100", 200), *e;
	size_t i;
	int refused = 0, ok = 0;
	json_array_foreach(json_object_get(a, "entries"), i, e)
	{
		if (strcmp(h_str(e, "action"), "settings.patch"))
			continue;
		refused += !strcmp(h_str(e, "result"), "refused");
		ok += !strcmp(h_str(e, "result"), "ok");
	}
	json_decref(a);
	assert_int_equal(refused, 5);
	assert_int_equal(ok, 3);
}

/* Each attack with asyncd as an unprivileged user, then as the tests' own user. */
#define BOTH(fn)                                                                                   \
	{#fn " (unprivileged)", fn, h_setup_unprivileged, h_teardown, NULL},                       \
	{                                                                                          \
#fn " (as the tests)", fn, h_setup, h_teardown, NULL                               \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_read_token),
	    BOTH(test_create_in_state),
	    BOTH(test_database),
	    BOTH(test_assembly_cache),
	    BOTH(test_kill_host),
	    BOTH(test_kill_sibling),
	    BOTH(test_kill_everyone),
	    BOTH(test_admin_socket),
	    BOTH(test_host_memory),
	    BOTH(test_tmp_outside_private_dir),
	    BOTH(test_network_deny),
	    BOTH(test_private_dir),
	    BOTH(test_private_dir_cleaned),
	    BOTH(test_no_inherited_descriptors),
	    BOTH(test_services_report),
	    cmocka_unit_test_setup_teardown(test_refuses_unprotected, h_setup_unprivileged,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_root_without_landlock_uses_the_user, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_user_checked, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("walls", tests, NULL, NULL);
}
