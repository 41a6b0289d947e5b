/* The sandbox supervisor's API and thread (see sandbox.h, sandbox_int.h): jobs handed over by
 * pool threads are encoded at once and queued under the lock; the supervisor thread moves them to
 * its pending queue, spreads them over the ready workers (fewest in flight first, never behind a
 * slow job), and replies through each run's callback. One epoll set watches every worker's
 * socket and pidfd and an eventfd that other threads ring. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "plugin/registry.h"
#include "common/metrics.h"
#include "sandbox/sandbox_int.h"

#define MAX_EVENTS 64
#define UNMATCHED_KEEP_MS 2000

/* ---- lists and replies ---- */

void sb_list_push(struct sb_list *l, struct sb_run *r)
{
	r->next = NULL;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

void sb_list_push_front(struct sb_list *l, struct sb_run *r)
{
	r->next = l->head;
	l->head = r;
	if (!l->tail)
		l->tail = r;
	l->n++;
}

struct sb_run *sb_list_pop(struct sb_list *l)
{
	struct sb_run *r = l->head;
	if (!r)
		return NULL;
	l->head = r->next;
	if (!l->head)
		l->tail = NULL;
	l->n--;
	r->next = NULL;
	return r;
}

bool sb_list_remove(struct sb_list *l, struct sb_run *r)
{
	struct sb_run *prev = NULL;
	for (struct sb_run *p = l->head; p; prev = p, p = p->next) {
		if (p != r)
			continue;
		if (prev)
			prev->next = p->next;
		else
			l->head = p->next;
		if (l->tail == p)
			l->tail = prev;
		l->n--;
		p->next = NULL;
		return true;
	}
	return false;
}

static void run_free(struct sb_run *r)
{
	if (!r)
		return;
	free(r->lib_path);
	free(r->frame);
	free(r);
}

void sb_complete(struct sb_run *r, const struct ipc_result *reply)
{
	r->done(r->arg, reply);
	run_free(r);
}

void sb_fail(struct sb_run *r, const char *code, const char *fmt, ...)
{
	char msg[IPC_MAX_MESSAGE + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct ipc_result reply = {.job_id = r->job_id,
				   .result = 2 /* ASYNCD_FAIL_TRANSIENT */,
				   .delay_ms = -1,
				   .error_code = code,
				   .message = msg};
	sb_complete(r, &reply);
}

void sb_requeue_all(struct sandbox *sb, struct sb_list *l)
{
	struct sb_list keep = {0};
	struct sb_run *r;
	while ((r = sb_list_pop(l))) {
		r->recalling = false;
		if (r->aborted)
			sb_fail(r, "sandbox_unavailable", "interrupted before it ran");
		else
			sb_list_push(&keep, r);
	}
	if (!keep.head)
		return;
	keep.tail->next = sb->pending.head;
	if (!sb->pending.head)
		sb->pending.tail = keep.tail;
	sb->pending.head = keep.head;
	sb->pending.n += keep.n;
}

void sb_set_error(struct sandbox *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sb->stats.last_error, sizeof(sb->stats.last_error), fmt, ap);
	va_end(ap);
	ipc_utf8_sanitize(sb->stats.last_error, strlen(sb->stats.last_error));
}

/* ---- other threads ---- */

static void wake(struct sandbox *sb)
{
	uint64_t one = 1;
	if (sb->wake_pending)
		return;
	sb->wake_pending = true;
	if (write(sb->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("sandbox", "cannot wake the supervisor: %s", strerror(errno));
}

static struct sb_run *run_new(const struct sandbox_job *sj, sandbox_done_fn done, void *arg,
			      int *rc)
{
	struct ipc_wbuf w;
	struct ipc_job j = {.job = *sj->job,
			    .sha256 = sj->sha256,
			    .type = sj->type,
			    .step_id = sj->step_id,
			    .config = sj->config,
			    .secure_config = sj->secure_config,
			    .max_trace = sj->max_trace};
	struct sb_run *r = calloc(1, sizeof(*r));
	*rc = AE_NOMEM;
	if (!r || !(r->lib_path = strdup(sj->lib_path))) {
		free(r);
		return NULL;
	}
	ipc_wbuf_init(&w);
	if ((*rc = ipc_job_encode(&w, &j)) < 0) {
		ipc_wbuf_done(&w);
		run_free(r);
		return NULL;
	}
	r->frame = w.data; /* the buffer holds exactly this frame */
	r->len = w.len;
	r->job_id = sj->job->id;
	r->attempt = sj->job->attempt;
	snprintf(r->sha256, sizeof(r->sha256), "%s", sj->sha256);
	r->gen = sj->gen;
	r->done = done;
	r->arg = arg;
	return r;
}

int sandbox_capacity(const struct settings *cfg)
{
	return cfg->sandbox_workers * SB_PIPELINE;
}

int sandbox_submit(struct sandbox *sb, const struct sandbox_job *sj, sandbox_done_fn done,
		   void *arg)
{
	int rc;
	if (!sandbox_running(sb))
		return AE_SHUTDOWN;
	struct sb_run *r = run_new(sj, done, arg, &rc);
	if (!r)
		return rc;
	pthread_mutex_lock(&sb->lock);
	bool open = sb->running && !sb->stopping;
	if (open) {
		sb_list_push(&sb->incoming, r);
		wake(sb);
	}
	pthread_mutex_unlock(&sb->lock);
	if (!open)
		run_free(r);
	return open ? 0 : AE_SHUTDOWN;
}

void sandbox_abort(struct sandbox *sb, int64_t job_id, int64_t attempt, int64_t grace_ms)
{
	struct sb_abort *a = calloc(1, sizeof(*a));
	if (!a)
		return;
	*a = (struct sb_abort){job_id, attempt, grace_ms, NULL};
	pthread_mutex_lock(&sb->lock);
	if (sb->running) {
		a->next = sb->aborts;
		sb->aborts = a;
		wake(sb);
		a = NULL;
	}
	pthread_mutex_unlock(&sb->lock);
	free(a);
}

bool sandbox_running(struct sandbox *sb)
{
	pthread_mutex_lock(&sb->lock);
	bool r = sb->running && !sb->stopping;
	pthread_mutex_unlock(&sb->lock);
	return r;
}

/* ---- the supervisor: incoming work and aborts ---- */

static bool abort_in_list(struct sb_list *l, const struct sb_abort *a)
{
	for (struct sb_run *r = l->head; r; r = r->next)
		if (r->job_id == a->job_id && r->attempt == a->attempt) {
			sb_list_remove(l, r);
			sb_fail(r, "sandbox_unavailable", "interrupted before it ran");
			return true;
		}
	return false;
}

static bool abort_in_workers(struct sandbox *sb, const struct sb_abort *a, int64_t now)
{
	for (int i = 0; i < SB_MAX_WORKERS; i++) {
		struct sb_worker *w = sb->slots[i];
		for (struct sb_run *r = w ? w->inflight.head : NULL; r; r = r->next) {
			if (r->job_id != a->job_id || r->attempt != a->attempt || r->aborted)
				continue;
			r->aborted = true;
			r->abort_deadline = now + (a->grace_ms > 0 ? a->grace_ms : 0);
			sbw_send_small(w, IPC_STOP, (uint64_t)r->job_id);
			return true;
		}
	}
	return false;
}

/* An abort that found nothing may have overtaken its job's hand-over: it is kept a while and
 * applied to jobs that arrive later. */
static void keep_unmatched(struct sandbox *sb, struct sb_abort *a, int64_t now)
{
	a->grace_ms = now + UNMATCHED_KEEP_MS; /* reused as the expiry */
	a->next = sb->unmatched;
	sb->unmatched = a;
}

static void apply_unmatched(struct sandbox *sb, int64_t now)
{
	for (struct sb_abort **pp = &sb->unmatched; *pp;) {
		struct sb_abort *a = *pp;
		if (abort_in_list(&sb->pending, a) || a->grace_ms < now) {
			*pp = a->next;
			free(a);
		} else {
			pp = &a->next;
		}
	}
}

static void take_incoming(struct sandbox *sb, int64_t now)
{
	pthread_mutex_lock(&sb->lock);
	struct sb_list in = sb->incoming;
	struct sb_abort *aborts = sb->aborts;
	sb->incoming = (struct sb_list){0};
	sb->aborts = NULL;
	pthread_mutex_unlock(&sb->lock);
	if (in.head) {
		if (sb->pending.tail)
			sb->pending.tail->next = in.head;
		else
			sb->pending.head = in.head;
		sb->pending.tail = in.tail;
		sb->pending.n += in.n;
	}
	if (sb->unmatched)
		apply_unmatched(sb, now);
	while (aborts) {
		struct sb_abort *a = aborts;
		aborts = a->next;
		if (abort_in_list(&sb->pending, a) || abort_in_workers(sb, a, now))
			free(a);
		else
			keep_unmatched(sb, a, now);
	}
}

/* ---- the supervisor: dispatch ---- */

static bool takes_more(const struct sb_worker *w, int64_t now)
{
	if (w->state != SB_READY || w->killed != SB_ALIVE || !w->sock_open || w->out_broken)
		return false;
	if (w->inflight.n >= SB_PIPELINE)
		return false;
	return w->inflight.n == 0 || now - w->head_since < SB_SLOW_MS;
}

/* The ready worker with the fewest jobs in flight, or NULL. */
static struct sb_worker *pick(struct sandbox *sb, int64_t now)
{
	struct sb_worker *best = NULL;
	for (int i = 0; i < SB_MAX_WORKERS; i++) {
		struct sb_worker *w = sb->slots[i];
		if (w && takes_more(w, now) && (!best || w->inflight.n < best->inflight.n))
			best = w;
	}
	return best;
}

static sandbox_started_fn started_hook;

void sandbox_on_start(sandbox_started_fn fn)
{
	__atomic_store_n(&started_hook, fn, __ATOMIC_RELEASE);
}

void sb_head_started(struct sb_worker *w)
{
	struct sb_run *r = w->inflight.head;
	sandbox_started_fn fn = __atomic_load_n(&started_hook, __ATOMIC_ACQUIRE);
	if (r && !r->started && !r->aborted) {
		r->started = true;
		if (fn)
			fn(r->arg);
	}
}

bool sb_run_stale(const struct sb_run *r)
{
	return r->gen && r->gen != registry_generation();
}

/* A run resolved before the registry changed goes back to its caller unstarted, to be resolved
 * again: the build, isolation or configuration it carries may be gone. */
static void rerun(struct sb_run *r)
{
	sb_fail(r, SANDBOX_RERUN, "the registry changed before it started");
}

static void dispatch(struct sandbox *sb, int64_t now)
{
	struct sb_worker *w;
	while (sb->pending.head && sb_run_stale(sb->pending.head))
		rerun(sb_list_pop(&sb->pending));
	while (sb->pending.head && (w = pick(sb, now))) {
		struct sb_run *r = sb_list_pop(&sb->pending);
		if (sb_run_stale(r)) {
			rerun(r);
			continue;
		}
		int rc = sbw_send_job(w, r, now);
		if (rc == AE_TOOBIG) {
			/* the worker's output already carries IPC_MAX_FDS libraries: the job waits
			 * for the next turn, once they are sent */
			sb_list_push_front(&sb->pending, r);
			break;
		}
		if (rc < 0)
			sb_fail(r, "plugin_load_failed",
				"cannot pass the library %s to a worker: %s", r->lib_path,
				asyncd_strerror(rc));
	}
}

/* No worker can start: pending jobs wait as transient failures instead of for ever. */
static void fail_pending(struct sandbox *sb)
{
	const char *why = sb->stats.last_error;
	struct sb_run *r;
	while ((r = sb_list_pop(&sb->pending)))
		sb_fail(r, "sandbox_unavailable", "no sandbox worker could start: %s",
			why[0] ? why : "unknown reason");
}

/* ---- the supervisor: the walls ---- */

struct wall {
	int flag;
	const char *prop; /* in GET /api/v1/services */
	const char *text; /* in the log */
};

static const struct wall walls[] = {
    {IPC_ISOLATE_LANDLOCK_FS, "landlock_fs", "landlock filesystem"},
    {IPC_ISOLATE_SIGNAL_SCOPE, "signal_scope", "landlock signal scope"},
    {IPC_ISOLATE_SOCKET_SCOPE, "abstract_socket_scope", "landlock abstract socket scope"},
    {IPC_ISOLATE_LANDLOCK_NET, "landlock_net", "landlock tcp"},
    {IPC_ISOLATE_SECCOMP, "seccomp", "seccomp"},
    {IPC_ISOLATE_SECCOMP_SIGNALS, "seccomp_signals", "seccomp signals"},
    {IPC_ISOLATE_NO_UNIX_SOCKETS, "no_unix_sockets", "no unix sockets"},
    {IPC_ISOLATE_NETWORK_DENIED, "network_denied", "network denied"},
    {IPC_ISOLATE_PRIVATE_DIR, "private_tmp", "private directory"},
    {IPC_ISOLATE_USER, "user_changed", "user changed"},
    {IPC_ISOLATE_NO_NEW_PRIVS, "no_new_privs", "no_new_privs"},
    {IPC_ISOLATE_AS_LIMIT, "address_space_limit", "address space limit"},
};

void sb_log_walls(struct sandbox *sb, const struct sb_worker *w)
{
	char line[512];
	size_t n = 0;
	if (w->flags == sb->logged_flags)
		return;
	sb->logged_flags = w->flags;
	line[0] = 0;
	for (size_t i = 0; i < sizeof(walls) / sizeof(walls[0]) && n < sizeof(line); i++)
		if (w->flags & walls[i].flag)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? ", " : "",
					      walls[i].text);
	log_info("sandbox", "worker protections: landlock ABI %d; %s; as uid %ld", w->landlock_abi,
		 line, w->uid);
}

static void describe_walls(json_t *props, int flags, int abi, const char *network)
{
	json_object_set_new(props, "landlock_abi", json_integer(abi));
	for (size_t i = 0; i < sizeof(walls) / sizeof(walls[0]); i++)
		json_object_set_new(props, walls[i].prop, json_boolean(flags & walls[i].flag));
	json_object_set_new(props, "network", json_string(network));
}

/* ---- the supervisor: the view for describe() ---- */

static json_t *worker_json(const struct sb_worker *w, int64_t now)
{
	static const char *const states[] = {"starting", "ready", "retiring"};
	return json_pack("{s:i,s:s,s:i,s:I,s:i,s:f}", "pid", (int)w->pid, "state", states[w->state],
			 "in_flight", w->inflight.n, "jobs", (json_int_t)w->jobs, "libraries",
			 w->n_loaded, "uptime_s", (double)(now - w->spawned_at) / 1000.0);
}

static json_t *workers_json(struct sandbox *sb, int64_t now)
{
	json_t *list = json_array();
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		if (sb->slots[i])
			json_array_append_new(list, worker_json(sb->slots[i], now));
	return list;
}

/* Copy what describe() shows; the per-worker list (JSON) only when with_list. */
static void publish(struct sandbox *sb, int64_t now, bool with_list)
{
	json_t *list = with_list ? workers_json(sb, now) : NULL;
	int ready = 0, busy = 0, inflight = 0, libs = 0, flags = -1, abi = -1, alive = 0;
	int64_t rss = 0;
	for (int i = 0; i < SB_MAX_WORKERS; i++) {
		struct sb_worker *w = sb->slots[i];
		if (!w)
			continue;
		alive++;
		if (with_list)
			rss += (int64_t)sbw_rss(w->pid);
		ready += w->state == SB_READY;
		busy += w->inflight.n > 0;
		inflight += w->inflight.n;
		libs += w->n_loaded;
		if (w->state == SB_STARTING)
			continue;
		flags = flags < 0 ? w->flags : (flags & w->flags);
		abi = abi < 0 || w->landlock_abi < abi ? w->landlock_abi : abi;
	}
	pthread_mutex_lock(&sb->lock);
	if (list) {
		json_decref(sb->workers_json);
		sb->workers_json = list;
	}
	sb->n_ready = ready;
	sb->n_busy = busy;
	sb->n_inflight = inflight;
	sb->n_pending = sb->pending.n;
	sb->n_libs = libs;
	sb->flags = flags;
	sb->landlock_abi = abi;
	sb->n_target = sb->cfg.sandbox_workers;
	snprintf(sb->network_shown, sizeof(sb->network_shown), "%s", sb->cfg.sandbox_network);
	sb->shown = sb->stats;
	pthread_mutex_unlock(&sb->lock);
	metrics_set(&asyncd_metrics.sb_alive, alive);
	if (with_list || !alive)
		metrics_set(&asyncd_metrics.sb_rss, rss);
}

/* ---- the supervisor thread ---- */

/* Read the eventfd, then let the next hand-over ring again: what was handed over before is
 * taken by this turn's take_incoming(). */
static void drain_wake(struct sandbox *sb)
{
	uint64_t v;
	if (read(sb->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("sandbox", "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&sb->lock);
	sb->wake_pending = false;
	pthread_mutex_unlock(&sb->lock);
}

static void handle_events(struct sandbox *sb, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int n = epoll_wait(sb->epfd, ev, MAX_EVENTS, timeout_ms);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == NULL)
			drain_wake(sb);
		else
			sbw_event(sb, ev[i].data.ptr, ev[i].events);
	}
}

static void flush_all(struct sandbox *sb)
{
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		if (sb->slots[i] && ipc_wbuf_pending(&sb->slots[i]->out))
			sbw_flush(sb, sb->slots[i]);
}

static int workers_alive(const struct sandbox *sb)
{
	int n = 0;
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		n += sb->slots[i] != NULL;
	return n;
}

/* Stopping: true once nothing is left to wait for. */
static bool stop_step(struct sandbox *sb, int64_t now)
{
	pthread_mutex_lock(&sb->lock);
	bool stopping = sb->stopping;
	int64_t deadline = sb->stop_deadline;
	pthread_mutex_unlock(&sb->lock);
	if (!stopping)
		return false;
	int busy = sb->pending.n;
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		busy += sb->slots[i] ? sb->slots[i]->inflight.n : 0;
	if (busy && now < deadline)
		return false;
	sb->quitting = true;
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		if (sb->slots[i])
			sbw_kill(sb->slots[i], SB_KILL_STOP);
	struct sb_run *r;
	while ((r = sb_list_pop(&sb->pending)))
		sb_fail(r, "sandbox_unavailable", "the sandbox service stopped before it ran");
	return workers_alive(sb) == 0;
}

/* The registry published a new generation: wake the supervisor to recall stale queued runs. */
static void registry_changed(void *arg)
{
	struct sandbox *sb = arg;
	pthread_mutex_lock(&sb->lock);
	if (sb->running && !sb->stopping)
		wake(sb);
	pthread_mutex_unlock(&sb->lock);
}

static void *supervisor_main(void *arg)
{
	struct sandbox *sb = arg;
	int64_t now = clock_mono_ms();
	sb_watch_settings(sb);
	sb_dir_sweep(sb);
	for (;;) {
		handle_events(sb, sb_watch_timeout(sb, now));
		now = clock_mono_ms();
		take_incoming(sb, now);
		sb_watch_recall_stale(sb);
		sb_watch_tick(sb, now);
		sb_watch_respawn(sb, now);
		if (sb->start_failures >= SB_START_FAILURES_FATAL)
			fail_pending(sb);
		dispatch(sb, now);
		flush_all(sb);
		sbw_bury(sb);
		bool with_list = now >= sb->next_publish;
		publish(sb, now, with_list);
		if (with_list)
			sb->next_publish = now + SB_TICK_MS;
		if (stop_step(sb, now))
			break;
	}
	sbw_bury(sb);
	publish(sb, now, true);
	pthread_mutex_lock(&sb->lock);
	sb->thread_done = true;
	pthread_cond_broadcast(&sb->stopped);
	pthread_mutex_unlock(&sb->lock);
	return NULL;
}

/* ---- start and stop ---- */

/* The ping's timing; ASYNCD_SANDBOX_PING_TIMEOUT_MS shortens it for tests (docs/sandbox.md). */
static void ping_timing(struct sandbox *sb)
{
	const char *env = getenv("ASYNCD_SANDBOX_PING_TIMEOUT_MS");
	long ms = env ? strtol(env, NULL, 10) : 0;
	sb->ping_timeout_ms = ms >= 300 && ms < SB_PING_TIMEOUT_MS ? ms : SB_PING_TIMEOUT_MS;
	sb->ping_every_ms =
	    sb->ping_timeout_ms < SB_PING_TIMEOUT_MS ? sb->ping_timeout_ms / 3 : SB_PING_EVERY_MS;
}

/* ASYNCD_SANDBOX_NO_LANDLOCK=1: workers behave as on a kernel without Landlock (tests). */
static bool no_landlock(void)
{
	const char *env = getenv("ASYNCD_SANDBOX_NO_LANDLOCK");
	return env && !strcmp(env, "1");
}

static void free_aborts(struct sb_abort *a)
{
	while (a) {
		struct sb_abort *next = a->next;
		free(a);
		a = next;
	}
}

int sandbox_new(struct sandbox **ret)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return AE_NOMEM;
	pthread_mutex_init(&sb->lock, NULL);
	pthread_cond_init(&sb->stopped, NULL);
	sb->epfd = sb->efd = -1;
	*ret = sb;
	return 0;
}

void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	registry_on_change(NULL, NULL);
	json_decref(sb->workers_json);
	pthread_mutex_destroy(&sb->lock);
	pthread_cond_destroy(&sb->stopped);
	free(sb);
}

static int open_loop(struct sandbox *sb)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	sb->epfd = epoll_create1(EPOLL_CLOEXEC);
	sb->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sb->epfd < 0 || sb->efd < 0 || epoll_ctl(sb->epfd, EPOLL_CTL_ADD, sb->efd, &ev) < 0)
		return AE_IO;
	return 0;
}

static void close_loop(struct sandbox *sb)
{
	if (sb->epfd >= 0)
		close(sb->epfd);
	if (sb->efd >= 0)
		close(sb->efd);
	sb->epfd = sb->efd = -1;
}

int sandbox_start(struct sandbox *sb, const char *worker_path, const char *state_dir)
{
	pthread_mutex_lock(&sb->lock);
	bool busy = sb->running;
	pthread_mutex_unlock(&sb->lock);
	if (busy)
		return AE_CONFLICT;
	snprintf(sb->worker_path, sizeof(sb->worker_path), "%s", worker_path);
	if (!state_dir || !realpath(state_dir, sb->hide))
		sb->hide[0] = 0;
	memset(&sb->stats, 0, sizeof(sb->stats));
	memset(&sb->shown, 0, sizeof(sb->shown));
	sb->start_failures = 0;
	sb->quitting = sb->respawn = false;
	ping_timing(sb);
	sb->no_landlock = no_landlock();
	sb->logged_flags = -1;
	sb->start_after = sb->next_tick = sb->next_slow_tick = sb->next_publish = 0;
	int rc = open_loop(sb);
	if (rc == 0) {
		pthread_mutex_lock(&sb->lock);
		sb->running = true;
		sb->stopping = sb->thread_done = sb->wake_pending = false;
		pthread_mutex_unlock(&sb->lock);
		if (pthread_create(&sb->thread, NULL, supervisor_main, sb) != 0) {
			pthread_mutex_lock(&sb->lock);
			sb->running = false;
			pthread_mutex_unlock(&sb->lock);
			rc = AE_NOMEM;
		}
	}
	if (rc < 0)
		close_loop(sb);
	else
		registry_on_change(registry_changed, sb);
	return rc;
}

int sandbox_stop(struct sandbox *sb, int64_t timeout_ms)
{
	pthread_mutex_lock(&sb->lock);
	if (!sb->running) {
		pthread_mutex_unlock(&sb->lock);
		return 0;
	}
	sb->stopping = true;
	sb->stop_deadline = clock_mono_ms() + timeout_ms;
	wake(sb);
	while (!sb->thread_done)
		pthread_cond_wait(&sb->stopped, &sb->lock);
	pthread_mutex_unlock(&sb->lock);
	pthread_join(sb->thread, NULL);
	close_loop(sb);
	pthread_mutex_lock(&sb->lock);
	sb->running = false;
	struct sb_list in = sb->incoming;
	struct sb_abort *aborts = sb->aborts;
	sb->incoming = (struct sb_list){0};
	sb->aborts = NULL;
	pthread_mutex_unlock(&sb->lock);
	struct sb_run *r;
	while ((r = sb_list_pop(&in)))
		sb_fail(r, "sandbox_unavailable", "the sandbox service stopped before it ran");
	free_aborts(aborts);
	free_aborts(sb->unmatched);
	sb->unmatched = NULL;
	return 0;
}

void sandbox_describe(struct sandbox *sb, json_t *props)
{
	pthread_mutex_lock(&sb->lock);
	struct sb_stats st = sb->shown;
	json_object_set_new(props, "workers", json_integer(sb->running ? sb->n_target : 0));
	json_object_set_new(props, "workers_ready", json_integer(sb->n_ready));
	json_object_set_new(props, "busy", json_integer(sb->n_busy));
	json_object_set_new(props, "jobs_in_flight", json_integer(sb->n_inflight));
	json_object_set_new(props, "jobs_pending", json_integer(sb->n_pending));
	json_object_set_new(props, "libraries_loaded", json_integer(sb->n_libs));
	json_object_set_new(props, "worker_processes",
			    sb->workers_json ? json_deep_copy(sb->workers_json) : json_array());
	int flags = sb->flags, abi = sb->landlock_abi;
	char network[sizeof(sb->cfg.sandbox_network)];
	snprintf(network, sizeof(network), "%s", sb->network_shown);
	pthread_mutex_unlock(&sb->lock);
	json_object_set_new(props, "spawned", json_integer((json_int_t)st.spawned));
	json_object_set_new(props, "restarts", json_integer((json_int_t)st.restarts));
	json_object_set_new(props, "crashes", json_integer((json_int_t)st.crashes));
	json_object_set_new(props, "timeouts", json_integer((json_int_t)st.timeouts));
	json_object_set_new(props, "memory_kills", json_integer((json_int_t)st.memory_kills));
	json_object_set_new(props, "unresponsive_kills",
			    json_integer((json_int_t)st.unresponsive_kills));
	json_object_set_new(props, "jobs_done", json_integer((json_int_t)st.jobs_done));
	if (st.last_error[0])
		json_object_set_new(props, "last_error", json_string(st.last_error));
	if (flags >= 0)
		describe_walls(props, flags, abi, network);
}
