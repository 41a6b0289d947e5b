/* Test plug-in "hostile" for tests/integration/test-walls.c: each type tries one attack on the
 * host from inside a sandbox worker. When the attack works the job succeeds ("got through: ...");
 * when it is refused the job fails permanently with "blocked: WHAT: <errno text>". The targets
 * come in the job's data ("path", "pid", "pid2", "port"). Other types describe the worker instead:
 * "private" (its cwd, TMPDIR and HOME, after writing a file there) and "fds" (its descriptors),
 * or leave a mess in its private directory for the host to clean ("mess"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "asyncd/plugin.h"

typedef const struct asyncd_host_api api_t;

static int blocked(asyncd_ctx *ctx, api_t *api, const char *what)
{
	return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "blocked: %s: %s", what,
			   strerror(errno));
}

static int through(asyncd_ctx *ctx, api_t *api, const char *what)
{
	return api->result(ctx, ASYNCD_SUCCESS, -1, "got through: %s", what);
}

static const char *path_of(asyncd_ctx *ctx, api_t *api)
{
	const char *p = api->input_string(ctx, "path");
	return p ? p : "/nonexistent";
}

static int read_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	char c;
	const char *path = path_of(ctx, api);
	(void)instance;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return blocked(ctx, api, path);
	ssize_t n = read(fd, &c, 1);
	close(fd);
	return n < 0 ? blocked(ctx, api, path) : through(ctx, api, path);
}

static int list_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	const char *path = path_of(ctx, api);
	(void)instance;
	DIR *d = opendir(path);
	if (!d)
		return blocked(ctx, api, path);
	closedir(d);
	return through(ctx, api, path);
}

static int create_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	const char *path = path_of(ctx, api);
	(void)instance;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return blocked(ctx, api, path);
	close(fd);
	return through(ctx, api, path);
}

/* Opening for writing is the proof; nothing is written, so that a run on a worker without walls
 * does not damage the database it could reach. */
static int write_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	const char *path = path_of(ctx, api);
	(void)instance;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return blocked(ctx, api, path);
	close(fd);
	return through(ctx, api, path);
}

static int kill_parent_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	if (kill(getppid(), SIGKILL) < 0)
		return blocked(ctx, api, "kill(getppid(), SIGKILL)");
	return through(ctx, api, "kill(getppid(), SIGKILL)");
}

/* SIGKILL to "pid" and "pid2" but not to itself (the test passes every worker's pid). */
static int kill_pids_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	pid_t pids[2] = {(pid_t)api->input_int(ctx, "pid", 0),
			 (pid_t)api->input_int(ctx, "pid2", 0)};
	int tried = 0;
	(void)instance;
	for (int i = 0; i < 2; i++) {
		if (pids[i] <= 0 || pids[i] == getpid())
			continue;
		tried++;
		if (kill(pids[i], SIGKILL) == 0)
			return through(ctx, api, "kill(sibling, SIGKILL)");
	}
	if (!tried)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "no sibling pid given");
	return blocked(ctx, api, "kill(sibling, SIGKILL)");
}

static int kill_all_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	if (kill(-1, SIGKILL) < 0)
		return blocked(ctx, api, "kill(-1, SIGKILL)");
	return through(ctx, api, "kill(-1, SIGKILL)");
}

static int connect_unix_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	const char *path = path_of(ctx, api);
	(void)instance;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return blocked(ctx, api, "socket(AF_UNIX)");
	int r = connect(s, (struct sockaddr *)&a, sizeof(a));
	int e = errno;
	close(s);
	errno = e;
	return r < 0 ? blocked(ctx, api, path) : through(ctx, api, path);
}

static int proc_mem_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	char path[64];
	(void)instance;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)getppid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return blocked(ctx, api, path);
	close(fd);
	return through(ctx, api, path);
}

static int tcp_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)api->input_int(ctx, "port", 80)),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	(void)instance;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return blocked(ctx, api, "socket(AF_INET)");
	int r = connect(s, (struct sockaddr *)&a, sizeof(a));
	int e = errno;
	close(s);
	errno = e;
	return r < 0 ? blocked(ctx, api, "connect(127.0.0.1)") : through(ctx, api, "tcp");
}

/* Lower nothing: reading the host's core limit already needs to be allowed to change it. */
static int rlimit_parent_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	struct rlimit old;
	(void)instance;
	if (prlimit(getppid(), RLIMIT_CORE, NULL, &old) < 0)
		return blocked(ctx, api, "prlimit(getppid())");
	return through(ctx, api, "prlimit(getppid())");
}

static int private_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	char cwd[512], path[600], out[2048];
	const char *tmp = getenv("TMPDIR"), *home = getenv("HOME");
	(void)instance;
	if (!getcwd(cwd, sizeof(cwd)) || !tmp)
		return blocked(ctx, api, "getcwd or TMPDIR");
	snprintf(path, sizeof(path), "%s/scratch", tmp);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return blocked(ctx, api, path);
	close(fd);
	snprintf(out, sizeof(out), "{\"cwd\":\"%s\",\"tmpdir\":\"%s\",\"home\":\"%s\"}", cwd, tmp,
		 home ? home : "");
	if (api->set_output(ctx, out) != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "bad output %s", out);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "wrote %s", path);
}

/* Leave a mess in $TMPDIR for the host to clean: a directory no one may enter (mode 0) with a
 * file in it, and a symbolic link to the input's "path" (which must survive the cleaning). */
static int mess_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	char p[600];
	const char *tmp = getenv("TMPDIR");
	(void)instance;
	if (!tmp)
		return blocked(ctx, api, "TMPDIR");
	snprintf(p, sizeof(p), "%s/locked", tmp);
	if (mkdir(p, 0700) < 0)
		return blocked(ctx, api, p);
	snprintf(p, sizeof(p), "%s/locked/file", tmp);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return blocked(ctx, api, p);
	close(fd);
	snprintf(p, sizeof(p), "%s/locked", tmp);
	if (chmod(p, 0) < 0)
		return blocked(ctx, api, "chmod");
	snprintf(p, sizeof(p), "%s/link", tmp);
	if (symlink(path_of(ctx, api), p) < 0)
		return blocked(ctx, api, p);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "left a mess in %s", tmp);
}

/* {"fds": ["N -> target", ...]} */
static int fds_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	char out[8192], link[300], target[256];
	size_t n = (size_t)snprintf(out, sizeof(out), "{\"fds\":[");
	struct dirent *e;
	(void)instance;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return blocked(ctx, api, "/proc/self/fd");
	while ((e = readdir(d)) && n < sizeof(out) - 400) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		for (char *p = target; *p; p++)
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
				*p = '?';
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s\"%s -> %s\"",
				      out[n - 1] == '[' ? "" : ",", e->d_name, target);
	}
	closedir(d);
	snprintf(out + n, sizeof(out) - n, "]}");
	if (api->set_output(ctx, out) != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "bad output %s", out);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "listed");
}

static const struct asyncd_plugin_type hostile_types[] = {
    {"read", "opens and reads the input's \"path\"", NULL, NULL, read_execute},
    {"list", "lists the directory \"path\"", NULL, NULL, list_execute},
    {"create", "creates the file \"path\"", NULL, NULL, create_execute},
    {"write", "opens \"path\" for writing (writes nothing)", NULL, NULL, write_execute},
    {"kill_parent", "kill(getppid(), SIGKILL)", NULL, NULL, kill_parent_execute},
    {"kill_pids", "SIGKILL to \"pid\" and \"pid2\" unless it is itself", NULL, NULL,
     kill_pids_execute},
    {"kill_all", "kill(-1, SIGKILL)", NULL, NULL, kill_all_execute},
    {"connect_unix", "connects to the UNIX socket \"path\"", NULL, NULL, connect_unix_execute},
    {"proc_mem", "opens /proc/PPID/mem", NULL, NULL, proc_mem_execute},
    {"tcp", "connects to 127.0.0.1:\"port\"", NULL, NULL, tcp_execute},
    {"rlimit_parent", "reads the host's RLIMIT_CORE with prlimit()", NULL, NULL,
     rlimit_parent_execute},
    {"private", "writes $TMPDIR/scratch; output: cwd, TMPDIR, HOME", NULL, NULL, private_execute},
    {"fds", "output: its open descriptors and what they are", NULL, NULL, fds_execute},
    {"mess", "leaves an unreadable directory and a link to \"path\" in $TMPDIR", NULL, NULL,
     mess_execute},
};

static const struct asyncd_plugin_info hostile_info =
    ASYNCD_PLUGIN_INFO_INIT("hostile", "1.0.0.0", "attacks on the host, for tests", hostile_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &hostile_info;
}
