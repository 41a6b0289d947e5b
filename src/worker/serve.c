/* The worker's serve loop (see serve.h). Two threads share the socket: the reader queues work
 * frames (JOB, LOAD, UNLOAD, QUIT) for the executor and answers PING, RECALL and STOP itself;
 * the executor (the main thread) runs the queue in order and sends one RESULT per job. One
 * mutex guards the queue and the running job, another the socket's writing side. */
#include "worker/serve.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/error.h"
#include "sandbox/ipc.h"
#include "sandbox/ipc_job.h"
#include "worker/capture.h"
#include "worker/libs.h"
#include "worker/run.h"

#define READER_STACK (256 * 1024)

struct item {
	uint8_t type;
	uint64_t id;
	uint8_t *frame; /* JOB: the whole frame, parsed again by the executor */
	size_t len;
	int fd; /* LOAD */
	char sha256[65];
	struct item *next;
};

static struct {
	int sock, log_fd, memory_mb, cpu_s;
	pthread_mutex_t lock; /* queue, running_id, stop_flag */
	pthread_cond_t more;
	struct item *head, *tail;
	uint64_t running_id;
	int stop_flag;
	pthread_mutex_t wlock; /* writing to sock */
} S = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .more = PTHREAD_COND_INITIALIZER,
       .wlock = PTHREAD_MUTEX_INITIALIZER};

static void fatal(const char *msg);

/* Send all of w (blocking). The host always reads, so this ends. */
static int send_all(struct ipc_wbuf *w)
{
	pthread_mutex_lock(&S.wlock);
	long n = 0;
	while (ipc_wbuf_pending(w) && (n = ipc_send(S.sock, w)) >= 0)
		if (n == 0) {
			struct pollfd p = {S.sock, POLLOUT, 0};
			poll(&p, 1, 1000);
		}
	pthread_mutex_unlock(&S.wlock);
	return n < 0 ? (int)n : 0;
}

static void send_small(enum ipc_type type, uint64_t id)
{
	struct ipc_wbuf w;
	ipc_wbuf_init(&w);
	ipc_frame_begin(&w, type, id);
	if (ipc_frame_end(&w) == 0)
		send_all(&w);
	ipc_wbuf_done(&w);
}

/* ---- the queue ---- */

static void push(struct item *it)
{
	pthread_mutex_lock(&S.lock);
	if (S.tail)
		S.tail->next = it;
	else
		S.head = it;
	S.tail = it;
	pthread_cond_signal(&S.more);
	pthread_mutex_unlock(&S.lock);
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	if (it->fd >= 0)
		close(it->fd);
	free(it->frame);
	free(it);
}

/* Remove the queued job id; true when it was there. Called with the lock held. */
static bool unqueue_locked(uint64_t id)
{
	struct item *prev = NULL;
	for (struct item *it = S.head; it; prev = it, it = it->next) {
		if (it->type != IPC_JOB || it->id != id)
			continue;
		if (prev)
			prev->next = it->next;
		else
			S.head = it->next;
		if (S.tail == it)
			S.tail = prev;
		item_free(it);
		return true;
	}
	return false;
}

/* RECALL (stop_running false) or STOP (true). */
static void recall(uint64_t id, bool stop_running)
{
	pthread_mutex_lock(&S.lock);
	bool dropped = unqueue_locked(id);
	if (!dropped && stop_running && S.running_id == id)
		__atomic_store_n(&S.stop_flag, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&S.lock);
	if (dropped)
		send_small(IPC_RECALLED, id);
}

/* ---- the reader ---- */

static struct item *item_new(const struct ipc_frame *f)
{
	struct item *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->type = f->type;
	it->id = f->id;
	it->fd = -1;
	const char *sha = ipc_str(f, IPC_T_SHA256);
	if (sha && strlen(sha) == 64)
		memcpy(it->sha256, sha, 65);
	return it;
}

/* A work frame for the executor; false on a protocol error. */
static bool queue_frame(struct ipc_rbuf *rb, const struct ipc_frame *f)
{
	struct item *it = item_new(f);
	if (!it)
		return false;
	if (f->type == IPC_JOB) {
		it->len = IPC_HEADER_SIZE + f->len;
		it->frame = malloc(it->len);
		if (it->frame)
			memcpy(it->frame, f->body - IPC_HEADER_SIZE, it->len);
	}
	if (f->type == IPC_LOAD)
		it->fd = ipc_rbuf_take_fd(rb);
	bool ok = (f->type != IPC_JOB || it->frame) &&
		  (f->type != IPC_LOAD || (it->fd >= 0 && it->sha256[0])) &&
		  (f->type != IPC_UNLOAD || it->sha256[0]);
	if (!ok) {
		item_free(it);
		return false;
	}
	push(it);
	return true;
}

static bool handle_frame(struct ipc_rbuf *rb, const struct ipc_frame *f)
{
	switch (f->type) {
	case IPC_PING:
		send_small(IPC_PONG, f->id);
		return true;
	case IPC_RECALL:
		recall(f->id, false);
		return true;
	case IPC_STOP:
		recall(f->id, true);
		return true;
	case IPC_JOB:
	case IPC_LOAD:
	case IPC_UNLOAD:
	case IPC_QUIT:
		return queue_frame(rb, f);
	default:
		return false;
	}
}

/* Read and dispatch until the host closes the socket; then the worker ends. */
static void *reader_main(void *arg)
{
	struct ipc_rbuf rb;
	struct ipc_frame f;
	(void)arg;
	ipc_rbuf_init(&rb, IPC_MAX_BODY);
	for (;;) {
		struct pollfd p = {S.sock, POLLIN, 0};
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		long n = ipc_recv(S.sock, &rb);
		if (n == 0 || (n < 0 && n != AE_BUSY))
			break;
		int rc;
		while ((rc = ipc_rbuf_next(&rb, &f)) == 1)
			if (!handle_frame(&rb, &f)) {
				rc = AE_INVAL;
				break;
			}
		if (rc < 0) {
			fatal("the host broke the IPC protocol");
			break;
		}
	}
	_exit(0);
}

static int start_reader(void)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, READER_STACK);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&t, &a, reader_main, NULL);
	pthread_attr_destroy(&a);
	return e == 0 ? 0 : AE_NOMEM;
}

/* ---- the executor ---- */

static struct item *pop(void)
{
	pthread_mutex_lock(&S.lock);
	while (!S.head)
		pthread_cond_wait(&S.more, &S.lock);
	struct item *it = S.head;
	S.head = it->next;
	if (!S.head)
		S.tail = NULL;
	if (it->type == IPC_JOB) {
		S.running_id = it->id;
		S.stop_flag = 0;
	}
	pthread_mutex_unlock(&S.lock);
	return it;
}

static void run_item(struct item *it, struct ipc_wbuf *out)
{
	struct ipc_frame f;
	struct ipc_job j;
	size_t used;
	if (ipc_frame_parse(it->frame, it->len, IPC_MAX_BODY, &f, &used) != 1 ||
	    ipc_job_decode(&f, &j) < 0) {
		fatal("a JOB frame that does not decode");
		_exit(2);
	}
	run_job(&j, &S.stop_flag, S.memory_mb, out);
	pthread_mutex_lock(&S.lock);
	S.running_id = 0;
	pthread_mutex_unlock(&S.lock);
	if (send_all(out) < 0)
		_exit(0);
}

/* Half the CPU budget spent: ask to be replaced before RLIMIT_CPU ends the worker. */
static void check_cpu(bool *retired)
{
	struct rusage ru;
	if (*retired || S.cpu_s <= 0 || getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	if (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec > S.cpu_s / 2) {
		send_small(IPC_RETIRE, 0);
		*retired = true;
	}
}

static void execute_loop(void)
{
	struct ipc_wbuf out;
	bool retired = false;
	ipc_wbuf_init(&out);
	for (;;) {
		struct item *it = pop();
		if (it->type == IPC_JOB)
			run_item(it, &out);
		else if (it->type == IPC_LOAD) {
			libs_add(it->sha256, it->fd);
			it->fd = -1;
		} else if (it->type == IPC_UNLOAD)
			libs_unload(it->sha256);
		else if (it->type == IPC_QUIT)
			_exit(0);
		item_free(it);
		check_cpu(&retired);
	}
}

static void hello(const struct isolate_result *iso)
{
	struct ipc_wbuf w;
	ipc_wbuf_init(&w);
	ipc_frame_begin(&w, IPC_HELLO, 0);
	ipc_put_int(&w, IPC_T_VERSION, IPC_VERSION);
	ipc_put_int(&w, IPC_T_PID, getpid());
	ipc_put_int(&w, IPC_T_UID, geteuid());
	ipc_put_int(&w, IPC_T_FLAGS, iso->flags);
	ipc_put_int(&w, IPC_T_LANDLOCK_ABI, iso->landlock_abi);
	if (ipc_frame_end(&w) == 0)
		send_all(&w);
	ipc_wbuf_done(&w);
}

/* Tell the host why the worker ends: on the host's log (the original stderr) while it is still
 * open, and in a FATAL frame, which the host logs. */
static void fatal(const char *msg)
{
	struct ipc_wbuf w;
	if (S.log_fd >= 0)
		dprintf(S.log_fd, "asyncd-worker[%d]: %s\n", (int)getpid(), msg);
	ipc_wbuf_init(&w);
	ipc_frame_begin(&w, IPC_FATAL, 0);
	ipc_put_str(&w, IPC_T_TEXT, msg);
	if (ipc_frame_end(&w) == 0)
		send_all(&w);
	ipc_wbuf_done(&w);
}

int worker_serve(const struct serve_opts *o)
{
	char err[512];
	struct isolate_result iso;
	S.sock = o->sock;
	S.log_fd = STDERR_FILENO;
	S.memory_mb = o->isolation.memory_mb;
	S.cpu_s = o->isolation.cpu_s;
	mallopt(M_ARENA_MAX, 1); /* arenas reserve 64 MiB of address space each */
	if (isolate_close_fds(S.sock) < 0) {
		fatal("cannot close the descriptors it inherited");
		return 1;
	}
	if (isolate_apply(&o->isolation, &iso, err, sizeof(err)) < 0) {
		fatal(err);
		return 1;
	}
	if (capture_start() < 0 || start_reader() < 0) {
		fatal("cannot start the worker's threads");
		return 1;
	}
	S.log_fd = -1; /* stderr is the capture pipe now; the host's log is not kept open */
	hello(&iso);
	execute_loop();
	return 0;
}
