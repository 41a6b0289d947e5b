/* One worker process of the sandbox supervisor (see sandbox_int.h): spawning it with
 * posix_spawn (never fork() of the threaded host) on a fresh socketpair, its frames (HELLO,
 * RESULT, RECALLED, PONG, RETIRE, FATAL, each checked: a worker is untrusted), sending jobs and
 * libraries, killing it, and turning its death into the outcome of the job it was running. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/spawn.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"
#include "sandbox/sandbox_int.h"

#define MAX_READS 16 /* recv() calls per event, so that one worker cannot starve the others */

/* ---- spawning ---- */

/* stdin and stdout /dev/null, stderr the host's (its log), the socket as fd 3, nothing else.
 * When the host's log is JSON lines or the journal, the worker's plain "asyncd-worker[PID]: ..."
 * line would not fit in it: stderr is /dev/null then, and the host logs the FATAL frame that
 * carries the same text. */
static int spawn_files(posix_spawn_file_actions_t *fa, int sock)
{
	if (posix_spawn_file_actions_init(fa) != 0)
		return -1;
	if (posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
	    (log_get_format() != LOG_FMT_TEXT &&
	     posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0) != 0) ||
	    posix_spawn_file_actions_adddup2(fa, sock, 3) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(fa, 4) != 0) {
		posix_spawn_file_actions_destroy(fa);
		return -1;
	}
	return 0;
}

/* Start the worker process on sock; 0, or an AE_* code with the reason in the service's
 * last_error. */
static int spawn_process(struct sandbox *sb, int sock, const char *dir, pid_t *ret_pid)
{
	char parent[24], mem[24], cpu[24];
	const struct settings *c = &sb->cfg;
	int64_t timeout_s = (c->sandbox_timeout_ms + 999) / 1000;
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	snprintf(mem, sizeof(mem), "%d", c->sandbox_memory_limit_mb);
	snprintf(cpu, sizeof(cpu), "%lld",
		 (long long)(timeout_s * 2 > 3600 ? timeout_s * 2 : 3600));
	char *argv[] = {sb->worker_path,
			"--serve",
			"--fd",
			"3",
			"--parent",
			parent,
			"--user",
			(char *)c->sandbox_user,
			"--memory-mb",
			mem,
			"--cpu-s",
			cpu,
			"--dir",
			(char *)dir,
			"--network",
			(char *)c->sandbox_network,
			sb->hide[0] ? "--hide" : NULL,
			sb->hide,
			sb->no_landlock ? "--no-landlock" : NULL,
			NULL};
	char *envp[] = {NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	if (spawn_files(&fa, sock) < 0)
		return AE_NOMEM;
	if (spawn_attrs_init(&attr) < 0) {
		posix_spawn_file_actions_destroy(&fa);
		return AE_NOMEM;
	}
	int e = posix_spawn(ret_pid, sb->worker_path, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e == 0)
		return 0;
	sb_set_error(sb, "cannot run the worker %s: %s", sb->worker_path, strerror(e));
	return AE_INTERNAL;
}

static int watch(struct sandbox *sb, int fd, struct sb_watch *wt, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = wt};
	return epoll_ctl(sb->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static struct sb_worker *worker_new(void)
{
	struct sb_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->pid = -1;
	w->pidfd = w->sock = -1;
	w->sock_watch = (struct sb_watch){0, w};
	w->pid_watch = (struct sb_watch){1, w};
	ipc_rbuf_init(&w->in, IPC_MAX_RESULT_BODY);
	ipc_wbuf_init(&w->out);
	return w;
}

void sbw_free(struct sandbox *sb, struct sb_worker *w)
{
	if (!w)
		return;
	if (w->sock >= 0) {
		if (w->sock_open)
			epoll_ctl(sb->epfd, EPOLL_CTL_DEL, w->sock, NULL);
		close(w->sock);
	}
	if (w->pidfd >= 0) {
		epoll_ctl(sb->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
		close(w->pidfd);
	}
	ipc_rbuf_done(&w->in);
	ipc_wbuf_done(&w->out);
	for (int i = 0; i < w->n_loaded; i++)
		free(w->loaded[i]);
	free(w->loaded);
	sb_dir_remove(w->dir);
	free(w);
}

static int attach(struct sandbox *sb, struct sb_worker *w)
{
	w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
	if (w->pidfd < 0 || fcntl(w->sock, F_SETFL, O_NONBLOCK) < 0 ||
	    watch(sb, w->sock, &w->sock_watch, EPOLLIN) < 0 ||
	    watch(sb, w->pidfd, &w->pid_watch, EPOLLIN) < 0)
		return AE_IO;
	w->sock_open = true;
	return 0;
}

int sbw_spawn(struct sandbox *sb, int slot, const char *key)
{
	int sv[2];
	struct sb_worker *w = worker_new();
	if (!w)
		return AE_NOMEM;
	if (sb_dir_make(sb, w->dir, sizeof(w->dir)) < 0) {
		sbw_free(sb, w);
		return AE_IO;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		sb_set_error(sb, "cannot make a socketpair: %s", strerror(errno));
		sbw_free(sb, w);
		return AE_IO;
	}
	int rc = spawn_process(sb, sv[1], w->dir, &w->pid);
	close(sv[1]);
	w->sock = sv[0];
	if (rc < 0) {
		sbw_free(sb, w);
		return rc;
	}
	if (attach(sb, w) < 0) {
		kill(-w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
		sbw_free(sb, w);
		return AE_IO;
	}
	snprintf(w->spawn_key, sizeof(w->spawn_key), "%s", key);
	w->spawned_at = w->heard_at = clock_mono_ms();
	sb->slots[slot] = w;
	sb->stats.spawned++;
	metrics_inc(&asyncd_metrics.sb_spawned, 1);
	return 0;
}

/* ---- sending ---- */

void sbw_send_small(struct sb_worker *w, enum ipc_type type, uint64_t id)
{
	ipc_frame_begin(&w->out, type, id);
	ipc_frame_end(&w->out);
}

bool sbw_has_lib(const struct sb_worker *w, const char *sha256)
{
	for (int i = 0; i < w->n_loaded; i++)
		if (!strcmp(w->loaded[i], sha256))
			return true;
	return false;
}

void sbw_forget_lib(struct sb_worker *w, int i)
{
	free(w->loaded[i]);
	w->loaded[i] = w->loaded[--w->n_loaded];
}

/* LOAD: the library's descriptor goes with the frame (SCM_RIGHTS), so that a worker running as
 * another user can load a file from the host's private cache. */
static int send_lib(struct sb_worker *w, const struct sb_run *r)
{
	char **grown = realloc(w->loaded, (size_t)(w->n_loaded + 1) * sizeof(char *));
	if (!grown)
		return AE_NOMEM;
	w->loaded = grown;
	if (!(w->loaded[w->n_loaded] = strdup(r->sha256)))
		return AE_NOMEM;
	int fd = open(r->lib_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(w->loaded[w->n_loaded]);
		return AE_IO;
	}
	/* the frame begins only once its descriptor is attached: a frame begun and left unfinished
	 * would corrupt the stream (ipc_frame_end drops a frame it refuses, descriptor included) */
	int rc = ipc_wbuf_attach_fd(&w->out, fd);
	if (rc == 0) {
		ipc_frame_begin(&w->out, IPC_LOAD, 0);
		ipc_put_str(&w->out, IPC_T_SHA256, r->sha256);
		rc = ipc_frame_end(&w->out);
	}
	if (rc < 0) {
		free(w->loaded[w->n_loaded]);
		return rc;
	}
	w->n_loaded++;
	return 0;
}

int sbw_send_job(struct sb_worker *w, struct sb_run *r, int64_t now)
{
	int rc = sbw_has_lib(w, r->sha256) ? 0 : send_lib(w, r);
	if (rc == 0)
		rc = ipc_wbuf_append(&w->out, r->frame, r->len);
	if (rc < 0)
		return rc;
	if (w->inflight.n == 0)
		w->head_since = now;
	sb_list_push(&w->inflight, r);
	sb_head_started(w);
	return 0;
}

static void want_out(struct sandbox *sb, struct sb_worker *w, bool want)
{
	if (want == w->want_out || !w->sock_open)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
				 .data.ptr = &w->sock_watch};
	if (epoll_ctl(sb->epfd, EPOLL_CTL_MOD, w->sock, &ev) == 0)
		w->want_out = want;
}

static void sock_closed(struct sandbox *sb, struct sb_worker *w)
{
	if (!w->sock_open)
		return;
	epoll_ctl(sb->epfd, EPOLL_CTL_DEL, w->sock, NULL);
	w->sock_open = w->want_out = false;
	w->eof_at = clock_mono_ms();
}

void sbw_flush(struct sandbox *sb, struct sb_worker *w)
{
	if (!w->sock_open || w->out_broken)
		return;
	long n = ipc_send(w->sock, &w->out);
	if (n < 0) {
		want_out(sb, w, false);
		w->out_broken = true;
		w->eof_at = clock_mono_ms();
		return;
	}
	want_out(sb, w, ipc_wbuf_pending(&w->out) > 0);
}

static void read_worker(struct sandbox *sb, struct sb_worker *w, bool draining);

bool sbw_check_exit(struct sandbox *sb, struct sb_worker *w)
{
	siginfo_t si;
	int status;
	memset(&si, 0, sizeof(si));
	/* WNOWAIT: the process group id stays reserved until the group is killed */
	if (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid != w->pid)
		return false;
	kill(-w->pid, SIGKILL); /* whatever it left in its process group */
	if (waitpid(w->pid, &status, 0) != w->pid)
		status = 0;
	read_worker(sb, w, true);
	sbw_reap(sb, w, status);
	return true;
}

void sbw_kill(struct sb_worker *w, enum sb_kill why)
{
	if (w->killed == SB_ALIVE) {
		w->killed = why;
		metrics_inc(&asyncd_metrics.sb_killed[why], 1);
		w->kill_job = w->inflight.head ? w->inflight.head->job_id : 0;
		w->kill_attempt = w->inflight.head ? w->inflight.head->attempt : 0;
	}
	kill(-w->pid, SIGKILL);
	kill(w->pid, SIGKILL);
}

/* ---- frames from the worker ---- */

static void protocol_error(struct sandbox *sb, struct sb_worker *w, const char *what)
{
	sb_set_error(sb, "worker %d broke the IPC protocol: %s", (int)w->pid, what);
	log_warn("sandbox", "%s", sb->stats.last_error);
	sbw_kill(w, SB_KILL_PROTOCOL);
}

uint64_t sbw_rss(pid_t pid)
{
	char path[64];
	unsigned long long size = 0, resident = 0;
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

static void on_hello(struct sandbox *sb, struct sb_worker *w, const struct ipc_frame *f)
{
	if (w->state != SB_STARTING || ipc_int(f, IPC_T_VERSION, 0) != IPC_VERSION) {
		protocol_error(sb, w, "a HELLO of another version, or twice");
		return;
	}
	w->state = SB_READY;
	w->flags = (int)ipc_int(f, IPC_T_FLAGS, 0);
	w->landlock_abi = (int)ipc_int(f, IPC_T_LANDLOCK_ABI, 0);
	w->uid = (long)ipc_int(f, IPC_T_UID, -1);
	sb_log_walls(sb, w);
	w->rss_base = sbw_rss(w->pid);
	sb->start_failures = 0;
}

static void retire_if_idle(struct sb_worker *w, int64_t now)
{
	if (w->state == SB_RETIRING && w->inflight.n == 0 && !w->quit_sent) {
		sbw_send_small(w, IPC_QUIT, 0);
		w->quit_sent = true;
		w->quit_sent_at = now;
	}
}

static void on_result(struct sandbox *sb, struct sb_worker *w, const struct ipc_frame *f,
		      int64_t now)
{
	struct ipc_result res;
	struct sb_run *head = w->inflight.head;
	if (ipc_result_decode(f, &res) < 0 || !head || head->job_id != res.job_id) {
		protocol_error(sb, w, "a RESULT that does not answer the job it runs");
		return;
	}
	sb_list_pop(&w->inflight);
	w->head_since = now;
	w->jobs++;
	sb->stats.jobs_done++;
	sb_complete(head, &res);
	sb_head_started(w);
	retire_if_idle(w, now);
}

static struct sb_run *find_run(struct sb_list *l, int64_t job_id)
{
	for (struct sb_run *r = l->head; r; r = r->next)
		if (r->job_id == job_id)
			return r;
	return NULL;
}

static void on_recalled(struct sandbox *sb, struct sb_worker *w, const struct ipc_frame *f,
			int64_t now)
{
	struct sb_run *r = find_run(&w->inflight, (int64_t)f->id);
	if (!r) {
		protocol_error(sb, w, "a RECALLED for a job it does not hold");
		return;
	}
	if (r == w->inflight.head)
		w->head_since = now;
	sb_list_remove(&w->inflight, r);
	sb_head_started(w);
	r->recalling = false;
	if (r->aborted)
		sb_fail(r, "sandbox_unavailable", "interrupted before it ran");
	else
		sb_list_push_front(&sb->pending, r);
	retire_if_idle(w, now);
}

static void on_frame(struct sandbox *sb, struct sb_worker *w, const struct ipc_frame *f,
		     int64_t now)
{
	w->heard_at = now;
	switch (f->type) {
	case IPC_HELLO:
		on_hello(sb, w, f);
		break;
	case IPC_RESULT:
		on_result(sb, w, f, now);
		break;
	case IPC_RECALLED:
		on_recalled(sb, w, f, now);
		break;
	case IPC_PONG:
		if (f->id == w->ping_seq)
			w->ping_seq = 0;
		break;
	case IPC_RETIRE:
		if (w->state == SB_READY)
			w->state = SB_RETIRING;
		retire_if_idle(w, now);
		break;
	case IPC_FATAL:
		if (w->fatal[0]) /* one is enough (and a plug-in could send many) */
			break;
		snprintf(w->fatal, sizeof(w->fatal), "%s",
			 ipc_str(f, IPC_T_TEXT) ? ipc_str(f, IPC_T_TEXT) : "no reason given");
		ipc_utf8_sanitize(w->fatal, strlen(w->fatal));
		if (w->state != SB_STARTING)
			log_event(LOG_LVL_WARN, "sandbox",
				  LOG_FIELDS(LOG_INT("worker_pid", w->pid)), "worker %d ends: %s",
				  (int)w->pid, w->fatal);
		break;
	default:
		protocol_error(sb, w, "a frame of a type a worker does not send");
	}
}

/* Whether frames from w are still believed: not after a protocol error. */
static bool trusted(const struct sb_worker *w)
{
	return w->killed != SB_KILL_PROTOCOL;
}

/* Read and handle what the worker sent; frames point into w->in until the next read. A dead
 * worker's socket is drained to the end (draining), so that results it sent before it died are
 * not lost and the death is blamed on the job it was really running. */
static void read_worker(struct sandbox *sb, struct sb_worker *w, bool draining)
{
	struct ipc_frame f;
	for (int i = 0; (draining || i < MAX_READS) && w->sock_open && trusted(w); i++) {
		long n = ipc_recv(w->sock, &w->in);
		if (n == AE_BUSY)
			return;
		if (n <= 0) {
			sock_closed(sb, w);
			return;
		}
		if (w->in.n_fds || w->in.fd_overflow) {
			protocol_error(sb, w, "it sent file descriptors");
			return;
		}
		int64_t now = clock_mono_ms();
		int rc;
		while (trusted(w) && (rc = ipc_rbuf_next(&w->in, &f)) == 1)
			on_frame(sb, w, &f, now);
		if (trusted(w) && rc < 0)
			protocol_error(sb, w,
				       rc == AE_TOOBIG ? "a frame over the size limit"
						       : "bytes that are not a frame");
	}
}

void sbw_event(struct sandbox *sb, struct sb_watch *wt, uint32_t events)
{
	struct sb_worker *w = wt->w;
	if (w->dead)
		return;
	if (wt->kind == 1) {
		sbw_check_exit(sb, w);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_worker(sb, w, false);
	if ((events & EPOLLOUT) && w->sock_open)
		sbw_flush(sb, w);
}
