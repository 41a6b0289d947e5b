/* Starting and stopping the asyncd under test (see bench_server.h). The child is exec'd from the
 * driver's main thread (no other thread runs then), gets PR_SET_PDEATHSIG so that it dies with the
 * driver, and logs to STATE/asyncd.log. Only loopback addresses are used. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_http.h"
#include "bench_server.h"

#define MAX_SERVERS 16

static volatile pid_t running[MAX_SERVERS];

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void remember(pid_t pid, pid_t replace)
{
	for (int i = 0; i < MAX_SERVERS; i++)
		if (running[i] == replace) {
			running[i] = pid;
			return;
		}
}

void server_kill_all(void)
{
	for (int i = 0; i < MAX_SERVERS; i++)
		if (running[i] > 0)
			kill(running[i], SIGKILL);
}

int server_make_dir(struct server *s, const char *bin, const char *tmpdir)
{
	memset(s, 0, sizeof(*s));
	if (!tmpdir)
		tmpdir = getenv("TMPDIR");
	snprintf(s->bin, sizeof(s->bin), "%s", bin);
	snprintf(s->dir, sizeof(s->dir), "%s/asyncd-bench.XXXXXX", tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(s->dir)) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", s->dir, strerror(errno));
		s->dir[0] = 0;
		return -1;
	}
	return 0;
}

/* Read a one-line file into buf without white space; 0 when it has content. */
static int read_line(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n &&
	       (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '/'))
		buf[--n] = 0;
	return n ? 0 : -1;
}

pid_t bench_fork_child(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	return 0;
}

static pid_t spawn(struct server *s)
{
	char log[PATH_MAX + 32], url[PATH_MAX + 32];
	snprintf(log, sizeof(log), "%s/asyncd.log", s->dir);
	snprintf(url, sizeof(url), "%s/asyncd.url", s->dir);
	unlink(url);
	pid_t pid = bench_fork_child();
	if (pid != 0)
		return pid;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	const char *argv[12] = {s->bin, "--state-dir", s->dir, "--listen", "127.0.0.1:0"};
	int n = 5;
	if (s->store[0]) {
		argv[n++] = "--store";
		argv[n++] = s->store;
	}
	if (s->host_id[0]) {
		argv[n++] = "--host-id";
		argv[n++] = s->host_id;
	}
	execv(s->bin, (char *const *)argv);
	_exit(127);
}

static int healthy(const char *url)
{
	struct http h;
	if (http_init(&h, url, NULL) < 0)
		return 0;
	int ok = http_request(&h, "GET", "/healthz", HTTP_NONE, NULL, 0) == 0 && h.status == 200;
	http_done(&h);
	return ok;
}

static int exited(struct server *s, int *ret_status)
{
	int st;
	pid_t r = waitpid(s->pid, &st, WNOHANG);
	if (r == 0)
		return 0;
	remember(0, s->pid);
	s->pid = 0;
	*ret_status = r < 0 ? -1 : st;
	return 1;
}

int server_start(struct server *s, double timeout_s)
{
	int st;
	s->pid = spawn(s);
	if (s->pid < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		s->pid = 0;
		return -1;
	}
	remember(s->pid, 0);
	for (double end = mono_s() + timeout_s; mono_s() < end; sleep_ms(20)) {
		if (exited(s, &st)) {
			fprintf(
			    stderr,
			    "bench: asyncd exited during startup (status %d); see %s/asyncd.log\n",
			    st, s->dir);
			return -1;
		}
		if (read_line(s->dir, "asyncd.url", s->url, sizeof(s->url)) == 0 && healthy(s->url))
			return read_line(s->dir, "admin.token", s->token, sizeof(s->token));
	}
	fprintf(stderr, "bench: asyncd did not answer within %.0f s; see %s/asyncd.log\n",
		timeout_s, s->dir);
	server_stop(s, 5);
	return -1;
}

int server_stop(struct server *s, double timeout_s)
{
	int st = 0;
	if (!s->pid)
		return 0;
	kill(s->pid, SIGTERM);
	for (double end = mono_s() + timeout_s; mono_s() < end; sleep_ms(10))
		if (exited(s, &st))
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
	fprintf(stderr, "bench: asyncd (pid %d) ignored SIGTERM for %.0f s: killing it\n",
		(int)s->pid, timeout_s);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	remember(0, s->pid);
	s->pid = 0;
	return -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void server_destroy(struct server *s, int keep)
{
	server_stop(s, 60);
	if (!s->dir[0])
		return;
	if (keep)
		fprintf(stderr, "bench: kept %s\n", s->dir);
	else
		nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = 0;
}

long server_mem_kb(const struct server *s, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	size_t n = strlen(field);
	if (!s->pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}
