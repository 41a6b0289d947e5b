/* Running `asyncd-worker --inspect PATH` for the host: spawning it (posix_spawn, never fork() of
 * the threaded host), bounded reading of its two pipes under a deadline, reaping it and its process
 * group, and turning its exit and its JSON answer into struct plugin_meta or an AE_* error. What
 * the worker checks is in loader.c; this file never loads a library. */
#include "common/spawn.h"
#include "plugin/inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asyncd/plugin.h"
#include "common/error.h"
#include "plugin/loader.h"

#define CAPTURE_MAX (64 * 1024) /* bytes kept of the worker's stdout and of its stderr */
#define POLL_SLICE_MS 50	/* how often a still-silent worker is checked for an exit */
#define REAP_SLICE_MS 2		/* wait between exit checks once both pipes are closed */

/* One of the worker's output pipes: at most CAPTURE_MAX bytes kept, the rest drained. */
struct capture {
	int fd;
	size_t len;
	bool overflow;
	char *buf; /* CAPTURE_MAX + 1 bytes, NUL-terminated */
};

struct run {
	pid_t pid;
	struct capture out, err;
	bool exited;	/* the worker is a zombie, not reaped yet */
	bool timed_out; /* the deadline passed while it was still running */
	int status;	/* from waitpid() */
};

/* A configuration check: the type, and its configurations as JSON on the worker's stdin. */
struct check {
	const char *type;
	int in_fd;
};

static char hidden[4096]; /* the state directory, canonical: kept from the worker */

void plugin_inspect_hide(const char *state_dir)
{
	if (!state_dir || !realpath(state_dir, hidden))
		hidden[0] = '\0';
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) ASYNCD_PRINTF(4, 5);

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void run_done(struct run *r)
{
	close_fd(&r->out.fd);
	close_fd(&r->err.fd);
	free(r->out.buf);
	free(r->err.buf);
}

static int run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = -1;
	r->out.fd = r->err.fd = -1;
	r->out.buf = malloc(CAPTURE_MAX + 1);
	r->err.buf = malloc(CAPTURE_MAX + 1);
	if (!r->out.buf || !r->err.buf) {
		run_done(r);
		return AE_NOMEM;
	}
	r->out.buf[0] = r->err.buf[0] = '\0';
	return 0;
}

/* Close every descriptor above stderr in the worker, even those the host opened without
 * O_CLOEXEC. */
static int close_others(posix_spawn_file_actions_t *fa)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	return posix_spawn_file_actions_addclosefrom_np(fa, 3);
#else
	(void)fa;
	return 0;
#endif
}

/* stdin from /dev/null, stdout and stderr onto the pipes' write ends (the pipes are O_CLOEXEC),
 * nothing else. */
static int spawn_files(posix_spawn_file_actions_t *fa, int in_fd, int out_w, int err_w)
{
	if (posix_spawn_file_actions_init(fa) != 0)
		return -1;
	int in = in_fd >= 0 ? posix_spawn_file_actions_adddup2(fa, in_fd, 0)
			    : posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	if (in != 0 || posix_spawn_file_actions_adddup2(fa, out_w, 1) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, err_w, 2) != 0 || close_others(fa) != 0) {
		posix_spawn_file_actions_destroy(fa);
		return -1;
	}
	return 0;
}

/* Start the inspect worker with its output on the pipes; 0, or an AE_* code (errno tells why
 * posix_spawn failed). */
static int spawn_with_pipes(struct run *r, const char *worker, const char *lib,
			    const struct check *ck, int out_w, int err_w)
{
	char *argv[9] = {(char *)worker, (char *)"--inspect", (char *)lib}; /* NULL-ended */
	const char *nl = getenv("ASYNCD_SANDBOX_NO_LANDLOCK"); /* tests: as without Landlock */
	int n = 3;
	if (ck) {
		argv[n++] = (char *)"--check";
		argv[n++] = (char *)ck->type;
	}
	if (hidden[0]) {
		argv[n++] = (char *)"--hide";
		argv[n++] = hidden;
	}
	argv[n] = nl && !strcmp(nl, "1") ? (char *)"--no-landlock" : NULL;
	char *envp[] = {NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int e;

	if (spawn_files(&fa, ck ? ck->in_fd : -1, out_w, err_w) < 0)
		return AE_NOMEM;
	if (spawn_attrs_init(&attr) < 0) {
		posix_spawn_file_actions_destroy(&fa);
		return AE_NOMEM;
	}
	e = posix_spawn(&r->pid, worker, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e == 0)
		return 0;
	errno = e;
	return AE_INTERNAL;
}

static int spawn_worker(struct run *r, const char *worker, const char *lib, const struct check *ck,
			char *err, size_t errlen)
{
	int out[2], errp[2], e;

	if (pipe2(out, O_CLOEXEC) < 0)
		return fail(err, errlen, AE_IO, "cannot make a pipe: %s", strerror(errno));
	if (pipe2(errp, O_CLOEXEC) < 0) {
		e = errno;
		close(out[0]);
		close(out[1]);
		return fail(err, errlen, AE_IO, "cannot make a pipe: %s", strerror(e));
	}
	int rc = spawn_with_pipes(r, worker, lib, ck, out[1], errp[1]);
	e = errno;
	close(out[1]);
	close(errp[1]);
	r->out.fd = out[0];
	r->err.fd = errp[0];
	if (rc < 0) {
		r->pid = -1;
		return fail(err, errlen, rc, "cannot run the plug-in worker %s: %s", worker,
			    rc == AE_NOMEM ? "out of memory" : strerror(e));
	}
	return 0;
}

/* Read what is there; keep up to CAPTURE_MAX bytes and drain the rest. Closes the fd at EOF. */
static void capture_read(struct capture *c)
{
	char sink[4096];
	ssize_t n;

	if (c->len < CAPTURE_MAX)
		n = read(c->fd, c->buf + c->len, CAPTURE_MAX - c->len);
	else
		n = read(c->fd, sink, sizeof(sink));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(&c->fd);
		return;
	}
	if (c->len < CAPTURE_MAX)
		c->len += (size_t)n;
	else
		c->overflow = true;
	c->buf[c->len] = '\0';
}

/* Whether the worker has exited, leaving it a zombie (WNOWAIT) so its process group id stays
 * reserved until the group has been killed. */
static bool worker_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;
	return si.si_pid == pid;
}

/* One round of the wait: false once there is nothing more to wait for. */
static bool collect_step(struct run *r, int64_t deadline)
{
	struct pollfd p[2] = {{r->out.fd, POLLIN, 0}, {r->err.fd, POLLIN, 0}};
	bool open = r->out.fd >= 0 || r->err.fd >= 0;
	int64_t left = deadline - now_ms();
	int n;

	if (!r->exited)
		r->exited = worker_exited(r->pid);
	if (r->exited && !open)
		return false;
	if (left <= 0) {
		r->timed_out = !r->exited;
		return false;
	}
	if (!open) {
		sleep_ms(left < REAP_SLICE_MS ? (int)left : REAP_SLICE_MS);
		return true;
	}
	/* Once the worker has exited, only what is already in the pipes is read. */
	n = poll(p, 2, r->exited ? 0 : (int)(left < POLL_SLICE_MS ? left : POLL_SLICE_MS));
	if (n < 0)
		return errno == EINTR;
	if (n == 0)
		return !r->exited;
	if (p[0].revents)
		capture_read(&r->out);
	if (p[1].revents)
		capture_read(&r->err);
	return true;
}

/* Wait for the worker under the deadline, then kill its process group (stragglers it or the
 * library started, or the worker itself on timeout) and reap it. */
static int collect_worker(struct run *r, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	pid_t w;

	while (collect_step(r, deadline))
		;
	kill(-r->pid, SIGKILL);
	do
		w = waitpid(r->pid, &r->status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return fail(err, errlen, AE_INTERNAL, "lost the plug-in worker's exit status: %s",
			    strerror(errno));
	return 0;
}

static char *dup_or_null(const json_t *v)
{
	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static bool text_or_null(const json_t *v)
{
	return !v || json_is_null(v) || json_is_string(v);
}

static int meta_types(const json_t *types, struct plugin_meta *m)
{
	size_t n = json_array_size(types);

	m->type_names = calloc(n, sizeof(char *));
	m->type_descriptions = calloc(n, sizeof(char *));
	if (!m->type_names || !m->type_descriptions)
		return AE_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_array_get(types, i);
		const json_t *name = json_object_get(t, "name");
		const json_t *desc = json_object_get(t, "description");
		if (!plugin_name_valid(json_string_value(name)) || !text_or_null(desc))
			return AE_INTERNAL;
		m->type_names[i] = dup_or_null(name);
		m->type_descriptions[i] = dup_or_null(desc);
		m->n_types = i + 1;
		if (!m->type_names[i] || (json_is_string(desc) && !m->type_descriptions[i]))
			return AE_NOMEM;
	}
	return 0;
}

static int meta_from_json(const json_t *root, struct plugin_meta *m)
{
	const json_t *name = json_object_get(root, "name");
	const json_t *version = json_object_get(root, "version");
	const json_t *desc = json_object_get(root, "description");
	const json_t *types = json_object_get(root, "types");
	uint32_t v[4];

	if (!plugin_name_valid(json_string_value(name)) ||
	    plugin_version_parse(json_string_value(version), v) < 0 || !text_or_null(desc) ||
	    !json_is_array(types) || json_array_size(types) == 0 ||
	    json_array_size(types) > PLUGIN_MAX_TYPES)
		return AE_INTERNAL;
	m->name = dup_or_null(name);
	m->version = dup_or_null(version);
	m->description = dup_or_null(desc);
	if (!m->name || !m->version || (json_is_string(desc) && !m->description))
		return AE_NOMEM;
	return meta_types(types, m);
}

static int parse_meta(const struct capture *out, struct plugin_meta *ret, char *err, size_t errlen)
{
	struct plugin_meta m = {0};
	json_error_t je;
	json_t *root;
	int r;

	if (out->overflow)
		return fail(err, errlen, AE_PLUGIN,
			    "the assembly's names and descriptions take more than %d bytes",
			    CAPTURE_MAX);
	root = json_loadb(out->buf, out->len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(err, errlen, AE_INTERNAL, "the plug-in worker's answer is not JSON: %s",
			    je.text);
	r = meta_from_json(root, &m);
	json_decref(root);
	if (r < 0) {
		plugin_meta_done(&m);
		return fail(err, errlen, r, "the plug-in worker's answer is not valid: %s",
			    asyncd_strerror(r));
	}
	*ret = m;
	return 0;
}

/* AE_PLUGIN with the message of a worker's {"error": "..."} answer, or AE_INTERNAL if it gave none.
 */
static int worker_error(const struct capture *out, char *err, size_t errlen)
{
	json_t *root = json_loadb(out->buf, out->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(root, "error"));
	int r = msg ? fail(err, errlen, AE_PLUGIN, "%s", msg) : AE_INTERNAL;

	json_decref(root);
	return r;
}

/* The first line of what the worker wrote on stderr, for context. */
static void first_line(const struct capture *c, char *buf, size_t n)
{
	size_t len = strcspn(c->buf, "\r\n");

	if (len >= n)
		len = n - 1;
	memcpy(buf, c->buf, len);
	buf[len] = '\0';
}

static int exit_error(const struct run *r, char *err, size_t errlen)
{
	char line[256];

	first_line(&r->err, line, sizeof(line));
	return fail(err, errlen, AE_PLUGIN, "the library exited while loading (exit status %d)%s%s",
		    WEXITSTATUS(r->status), line[0] ? ": " : "", line);
}

static int signal_error(const struct run *r, char *err, size_t errlen)
{
	const char *abbrev = sigabbrev_np(WTERMSIG(r->status));

	if (abbrev)
		return fail(err, errlen, AE_PLUGIN, "the library crashed while loading (SIG%s)",
			    abbrev);
	return fail(err, errlen, AE_PLUGIN, "the library crashed while loading (signal %d)",
		    WTERMSIG(r->status));
}

static int interpret(const struct run *r, int timeout_ms, struct plugin_meta *ret, char *err,
		     size_t errlen)
{
	if (r->timed_out)
		return fail(err, errlen, AE_TIMEOUT,
			    "the library did not finish loading within %d ms", timeout_ms);
	if (WIFSIGNALED(r->status))
		return signal_error(r, err, errlen);
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0)
		return parse_meta(&r->out, ret, err, errlen);
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 1 &&
	    worker_error(&r->out, err, errlen) == AE_PLUGIN)
		return AE_PLUGIN;
	return exit_error(r, err, errlen);
}

int plugin_inspect(const char *worker_path, const char *lib_path, int timeout_ms,
		   struct plugin_meta *ret, char *err, size_t errlen)
{
	struct run r;
	int code;

	if (!worker_path || !lib_path || !ret || timeout_ms <= 0)
		return fail(err, errlen, AE_INVAL, "plugin_inspect: invalid argument");
	if (run_init(&r) < 0)
		return fail(err, errlen, AE_NOMEM, "out of memory");
	code = spawn_worker(&r, worker_path, lib_path, NULL, err, errlen);
	if (code < 0)
		goto done_run;
	code = collect_worker(&r, timeout_ms, err, errlen);
	if (code == 0)
		code = interpret(&r, timeout_ms, ret, err, errlen);
done_run:
	run_done(&r);
	return code;
}

/* {"configuration":..,"secure_configuration":..} in a sealed-off memory file at offset 0 (it
 * may be larger than a pipe holds); -1 on failure. */
static int config_file(const char *config, const char *secure)
{
	json_t *o =
	    json_pack("{s:s?,s:s?}", "configuration", config, "secure_configuration", secure);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	int fd = text ? memfd_create("asyncd-check", MFD_CLOEXEC) : -1;
	size_t len = text ? strlen(text) : 0, off = 0;
	while (fd >= 0 && off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w <= 0) {
			close(fd);
			fd = -1;
		} else {
			off += (size_t)w;
		}
	}
	if (text)
		explicit_bzero(text, len);
	free(text);
	if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int check_verdict(const struct run *r, const char *type, int timeout_ms, char *err,
			 size_t errlen)
{
	if (r->timed_out)
		return fail(err, errlen, AE_TIMEOUT,
			    "%s.create() did not return within %d ms with this configuration", type,
			    timeout_ms);
	if (WIFSIGNALED(r->status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(r->status));
		return fail(err, errlen, AE_PLUGIN,
			    "%s.create() crashed with this configuration (SIG%s)", type,
			    abbrev ? abbrev : "?");
	}
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0)
		return 0;
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 1 &&
	    worker_error(&r->out, err, errlen) == AE_PLUGIN)
		return AE_PLUGIN;
	return exit_error(r, err, errlen);
}

int plugin_check_config(const char *worker_path, const char *lib_path, const char *type,
			const char *config, const char *secure_config, int timeout_ms, char *err,
			size_t errlen)
{
	struct run r;
	if (!worker_path || !lib_path || !type || timeout_ms <= 0)
		return fail(err, errlen, AE_INVAL, "plugin_check_config: invalid argument");
	struct check ck = {type, config_file(config, secure_config)};
	if (ck.in_fd < 0)
		return fail(err, errlen, AE_IO, "cannot pass the configuration to a worker: %s",
			    strerror(errno));
	if (run_init(&r) < 0) {
		close(ck.in_fd);
		return fail(err, errlen, AE_NOMEM, "out of memory");
	}
	int code = spawn_worker(&r, worker_path, lib_path, &ck, err, errlen);
	close(ck.in_fd);
	if (code == 0)
		code = collect_worker(&r, timeout_ms, err, errlen);
	if (code == 0)
		code = check_verdict(&r, type, timeout_ms, err, errlen);
	run_done(&r);
	return code;
}

static void free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void plugin_meta_done(struct plugin_meta *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->version);
	free(m->description);
	free_strings(m->type_names, m->n_types);
	free_strings(m->type_descriptions, m->n_types);
	memset(m, 0, sizeof(*m));
}
