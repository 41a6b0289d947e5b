/* Test plug-in "probe" for tests/integration/test-sandbox.c: types that try what a sandboxed
 * plug-in must not do (fork, ptrace, exec, exit) or describe the worker's process (uid, limits,
 * seccomp), print to stdout/stderr, start a thread, or spin ignoring should_stop(). Each type's
 * description in the table below says what it does with its input. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asyncd/plugin.h"

typedef const struct asyncd_host_api api_t;

extern char **environ;

static int fork_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	pid_t pid = fork();
	if (pid < 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "fork refused: %s",
				   strerror(errno));
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "fork succeeded");
}

/* "ok", or the errno's text of a refused call. */
static const char *outcome(int rc)
{
	return rc >= 0 ? "ok" : strerror(errno);
}

static const char *try_exec(void)
{
	char *argv[] = {"/bin/true", NULL};
	char *envp[] = {NULL};
	execve("/bin/true", argv, envp);
	return strerror(errno);
}

/* The value of a "Name:" line of /proc/self/status. */
static long status_field(const char *name)
{
	char line[256];
	long v = -1;
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long long limit(int res)
{
	struct rlimit rl;
	if (getrlimit(res, &rl) < 0)
		return -2;
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
}

static int probe_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	char out[2048];
	int envc = 0;
	(void)instance;
	while (environ && environ[envc])
		envc++;
	pid_t f = fork();
	if (f == 0)
		_exit(0);
	const char *fork_err = f < 0 ? strerror(errno) : "ok";
	snprintf(out, sizeof(out),
		 "{\"uid\":%d,\"gid\":%d,\"groups\":%d,\"pid\":%d,\"pgid\":%d,\"env\":%d,"
		 "\"no_new_privs\":%ld,\"seccomp\":%ld,\"dumpable\":%d,\"core\":%lld,\"as\":%lld,"
		 "\"nofile\":%lld,\"nproc\":%lld,\"cpu\":%lld,\"fork\":\"%s\",\"ptrace\":\"%s\","
		 "\"unshare\":\"%s\",\"mount\":\"%s\",\"chroot\":\"%s\",\"execve\":\"%s\"}",
		 (int)getuid(), (int)getgid(), getgroups(0, NULL), (int)getpid(), (int)getpgrp(),
		 envc, status_field("NoNewPrivs"), status_field("Seccomp"),
		 prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), limit(RLIMIT_CORE), limit(RLIMIT_AS),
		 limit(RLIMIT_NOFILE), limit(RLIMIT_NPROC), limit(RLIMIT_CPU), fork_err,
		 outcome((int)ptrace(PTRACE_TRACEME, 0, NULL, NULL)),
		 outcome(unshare(CLONE_NEWUSER)), outcome(mount("none", "/tmp", "tmpfs", 0, NULL)),
		 outcome(chroot("/")), try_exec());
	if (f > 0)
		waitpid(f, NULL, 0);
	if (api->set_output(ctx, out) != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "probe: bad output %s", out);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "probed");
}

static int exit_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	(void)ctx;
	(void)api;
	exit(3);
}

static int print_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	const char *text = api->input_string(ctx, "text");
	int64_t bytes = api->input_int(ctx, "bytes", 0);
	(void)instance;
	printf("%s from stdout\n", text ? text : "hello");
	fprintf(stderr, "%s from stderr\n", text ? text : "hello");
	for (int64_t i = 0; i < bytes; i++)
		putchar(i % 64 == 63 ? '\n' : 'x');
	return api->result(ctx, ASYNCD_SUCCESS, -1, "printed");
}

static void *thread_main(void *arg)
{
	return arg;
}

static int thread_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	pthread_t t;
	(void)instance;
	int e = pthread_create(&t, NULL, thread_main, NULL);
	if (e != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "pthread_create: %s",
				   strerror(e));
	pthread_join(t, NULL);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "a thread ran");
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spin_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	int64_t end = now_ms() + api->input_int(ctx, "ms", 60000);
	volatile unsigned long n = 0;
	(void)instance;
	while (now_ms() < end)
		n++;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "spun %lu times", (unsigned long)n);
}

static const struct asyncd_plugin_type probe_types[] = {
    {"fork", "tries fork(): fails permanently \"fork refused: ...\" or succeeds", NULL, NULL,
     fork_execute},
    {"probe",
     "sets its output to its uid, groups, limits, seccomp state and the errors of fork, ptrace, "
     "unshare, mount, chroot and execve",
     NULL, NULL, probe_execute},
    {"exit", "calls exit(3)", NULL, NULL, exit_execute},
    {"print", "writes the input's \"text\" to stdout and stderr, and \"bytes\" more", NULL, NULL,
     print_execute},
    {"thread", "starts and joins a thread", NULL, NULL, thread_execute},
    {"spin", "busy-loops for the input's \"ms\", never looking at should_stop()", NULL, NULL,
     spin_execute},
};

static const struct asyncd_plugin_info probe_info =
    ASYNCD_PLUGIN_INFO_INIT("probe", "1.0.0.0", "sandbox probes for tests", probe_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &probe_info;
}
