/* Group commit: one thread takes every queued op, runs them in one transaction, commits, then
 * tells each caller. An op whose failure breaks the group (a non-isolated op that fails, or one
 * whose savepoint cannot be handled) is taken out and the rest of the group is tried again at
 * once without it, so that no caller gets another's error. A failed begin or commit (disk full,
 * I/O, the database unreachable) is every op's failure: it is answered with its error, except for
 * must_succeed ops (job outcomes), which are kept and retried with a growing pause. An op that
 * fails because the store cannot be reached is not to blame: that is a failure of the group.
 * While the store is known unreachable (the last try failed with AE_UNAVAILABLE and the pause is
 * not over), ops that may fail are answered at once with AE_UNAVAILABLE instead of waiting: only
 * the kept outcomes wait, so nothing else piles up in the writer during an outage. A
 * must_succeed op that breaks its group MUST_SUCCEED_TRIES times is answered with its error (and
 * logged) rather than retried for ever. At the stop, kept ops are tried for STOP_RETRY_MS more,
 * then answered with their error (a job outcome not stored leaves its job Locked: the lease
 * expiry or the next start of this host's state directory returns it to Ready). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/settings.h"
#include "exec/writer.h"
#include "store/store.h"

#define MUST_SUCCEED_TRIES 5
#define BACKOFF_MAX_MS 5000
/* the database away: tried again at least this often, so that a host is back (its outcomes, its
 * heartbeat) within a second of the database */
#define UNAVAILABLE_MAX_MS 1000
#define STOP_RETRY_MS 5000

struct writer {
	struct store *store;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct writer_op *head, *tail;
	bool stopping;
	/* the writer thread's: ops kept after a failed begin or commit, the error, when to try
	 * again (monotonic ms), the pause, and when a stop gives up on them */
	struct writer_op *kept;
	int fail_rc;
	int64_t retry_at, give_up_at;
	int backoff_ms;
	int synchronous_full; /* -1: not set yet */
	unsigned long long groups, ops;
	const char *hang_file; /* test-only fault seam (ASYNCD_TEST_WRITER_HANG_FILE) */
};

static void queue_push_list(struct writer *w, struct writer_op *first, struct writer_op *last)
{
	if (w->tail)
		w->tail->next = first;
	else
		w->head = first;
	w->tail = last;
}

int writer_post(struct writer *w, struct writer_op *op)
{
	op->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->stopping && !op->must_succeed) {
		pthread_mutex_unlock(&w->lock);
		return AE_SHUTDOWN;
	}
	bool was_empty = !w->head;
	queue_push_list(w, op, op);
	if (was_empty)
		pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

struct call {
	writer_fn fn;
	void *arg;
	int rc;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static int call_fn(struct store *s, void *arg)
{
	struct call *c = arg;
	return c->fn(s, c->arg);
}

static void call_done(void *arg, int rc)
{
	struct call *c = arg;
	pthread_mutex_lock(&c->lock);
	c->rc = rc;
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int writer_call(struct writer *w, writer_fn fn, void *arg)
{
	struct call c = {.fn = fn, .arg = arg};
	struct writer_op op = {.fn = call_fn, .arg = &c, .done = call_done, .isolated = true};
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	int rc = writer_post(w, &op);
	if (rc == 0) {
		pthread_mutex_lock(&c.lock);
		while (!c.done)
			pthread_cond_wait(&c.cond, &c.lock);
		pthread_mutex_unlock(&c.lock);
		rc = c.rc;
	}
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	return rc;
}

/* Run one op inside the group; its result is kept in *ret_rc. Returns nonzero when the group
 * itself is broken (a non-isolated op failed, or a savepoint could not be handled: then *ret_rc
 * is the savepoint's error when the op had none or the connection went, so that a connection
 * lost between an op's statement and its RELEASE is the group's AE_UNAVAILABLE, not the op's
 * fault). */
static int apply_op(struct store *s, struct writer_op *op, int *ret_rc)
{
	if (!op->isolated) {
		*ret_rc = op->fn(s, op->arg);
		return *ret_rc < 0;
	}
	int rc = store_savepoint(s);
	if (rc < 0) {
		*ret_rc = rc;
		return 1;
	}
	*ret_rc = op->fn(s, op->arg);
	rc = *ret_rc < 0 ? store_rollback_to(s) : store_release(s);
	/* a failed op keeps its own error (SQLite ends the whole transaction on a full disk: the
	 * rollback to the savepoint then fails, but the answer is still 507), unless the
	 * connection went */
	if (rc < 0 && (*ret_rc >= 0 || rc == AE_UNAVAILABLE))
		*ret_rc = rc;
	return rc < 0;
}

/* Run the ops in one transaction. Returns 0 after a commit, or the error that lost the group;
 * *ret_culprit is the index of the op that broke it, or -1 when begin or commit failed. */
static int run_group(struct writer *w, struct writer_op *ops, int *rcs, int *ret_culprit)
{
	int i = 0, rc = store_begin(w->store);
	*ret_culprit = -1;
	if (rc < 0)
		return rc;
	for (struct writer_op *op = ops; op; op = op->next, i++)
		if (apply_op(w->store, op, &rcs[i])) {
			store_rollback(w->store);
			*ret_culprit = i;
			return rcs[i] < 0 ? rcs[i] : AE_STORE;
		}
	rc = store_commit(w->store);
	if (rc < 0) {
		log_error("writer", "commit failed: %s", store_last_error(w->store));
		store_rollback(w->store);
	}
	return rc;
}

/* After a failed begin or commit: answer the ops that may fail, keep the rest for the next try. */
static struct writer_op *answer_failed(struct writer_op *ops, int rc)
{
	struct writer_op *keep = NULL, **tail = &keep, *next;
	for (struct writer_op *op = ops; op; op = next) {
		next = op->next;
		if (op->must_succeed) {
			op->next = NULL;
			*tail = op;
			tail = &op->next;
		} else if (op->done) {
			op->done(op->arg, rc);
		}
	}
	return keep;
}

static void answer_committed(struct writer_op *ops, const int *rcs)
{
	int i = 0;
	struct writer_op *next;
	for (struct writer_op *op = ops; op; op = next, i++) {
		next = op->next; /* done() may free op */
		if (op->done)
			op->done(op->arg, rcs[i]);
	}
}

static size_t list_len(const struct writer_op *ops)
{
	size_t n = 0;
	for (; ops; ops = ops->next)
		n++;
	return n;
}

/* Follow the store.synchronous setting between groups. */
static void follow_durability(struct writer *w)
{
	struct settings cfg;
	settings_current(&cfg);
	if (w->synchronous_full == (int)cfg.synchronous_full)
		return;
	if (store_set_synchronous(w->store, cfg.synchronous_full) == 0)
		w->synchronous_full = cfg.synchronous_full;
}

/* Take the op at index i out of *ops and return it. */
static struct writer_op *unlink_nth(struct writer_op **ops, int i)
{
	struct writer_op **at = ops;
	while (i-- > 0)
		at = &(*at)->next;
	struct writer_op *op = *at;
	*at = op->next;
	op->next = NULL;
	return op;
}

/* The op that broke its group: answered with its error, or, if it must succeed, tried again in
 * a later group until MUST_SUCCEED_TRIES. Returns it when it is to be tried again. */
static struct writer_op *blame(struct writer *w, struct writer_op *op, int rc)
{
	if (op->must_succeed && ++op->failures < MUST_SUCCEED_TRIES)
		return op;
	log_error("writer", "an operation failed and was taken out of its group: %s (%s)",
		  asyncd_strerror(rc), store_last_error(w->store));
	if (op->done)
		op->done(op->arg, rc);
	return NULL;
}

static void append(struct writer_op **list, struct writer_op *more)
{
	while (*list)
		list = &(*list)->next;
	*list = more;
}

/* After a failed begin or commit: the next try after a growing pause (shorter when the store is
 * unreachable: see UNAVAILABLE_MAX_MS). */
static void note_failure(struct writer *w, int rc)
{
	int max = rc == AE_UNAVAILABLE ? UNAVAILABLE_MAX_MS : BACKOFF_MAX_MS;
	w->backoff_ms = w->backoff_ms ? (w->backoff_ms * 2 > max ? max : w->backoff_ms * 2) : 10;
	w->fail_rc = rc;
	w->retry_at = clock_mono_ms() + w->backoff_ms;
}

static void count_committed(struct writer *w, size_t n)
{
	pthread_mutex_lock(&w->lock);
	w->groups++;
	w->ops += n;
	pthread_mutex_unlock(&w->lock);
}

static void process(struct writer *w, struct writer_op *ops)
{
	follow_durability(w);
	size_t n = list_len(ops);
	int culprit = -1, *rcs = calloc(n, sizeof(*rcs));
	int64_t t0 = metrics_now_us();
	int rc = rcs ? run_group(w, ops, rcs, &culprit) : AE_NOMEM;
	if (rc == AE_UNAVAILABLE)
		culprit = -1; /* the connection went, not the op's fault: the group's failure */
	if (rc == 0) {
		metrics_observe(&asyncd_metrics.commit_time, &metrics_seconds,
				metrics_now_us() - t0);
		metrics_observe(&asyncd_metrics.commit_batch, &metrics_sizes, (int64_t)n);
		answer_committed(ops, rcs);
		count_committed(w, n);
		w->backoff_ms = w->fail_rc = 0;
	} else if (culprit >= 0) {
		/* the others are innocent: they go again at once, the culprit after them */
		struct writer_op *again = blame(w, unlink_nth(&ops, culprit), rc);
		if (again)
			append(&ops, again);
		pthread_mutex_lock(&w->lock);
		append(&ops, w->head);
		w->head = ops;
		for (w->tail = ops; w->tail && w->tail->next; w->tail = w->tail->next)
			;
		pthread_mutex_unlock(&w->lock);
	} else {
		metrics_inc(&asyncd_metrics.commit_failures, 1);
		append(&w->kept, answer_failed(ops, rc));
		note_failure(w, rc);
	}
	free(rcs);
}

/* TEST ONLY (docs/testing.md "Fault seams"): while the file named by
 * $ASYNCD_TEST_WRITER_HANG_FILE exists, the writer does not take its next group, as if it hung in
 * the store; the systemd notify test proves that a stuck writer stops the watchdog pings. */
static void test_hang(const struct writer *w)
{
	struct timespec ts = {0, 10 * 1000000L};
	while (w->hang_file && access(w->hang_file, F_OK) == 0)
		nanosleep(&ts, NULL);
}

/* Whether the kept ops (and new ones) are to be tried now: the pause is over, or another
 * connection reached the store since (its first success clears store_down_since). */
static bool due(const struct writer *w)
{
	if (!w->fail_rc)
		return true;
	if (w->fail_rc == AE_UNAVAILABLE && !store_down_since())
		return true;
	return clock_mono_ms() >= w->retry_at;
}

/* Lock held. */
static bool has_work(const struct writer *w)
{
	if (w->stopping && (!w->kept || clock_mono_ms() >= w->give_up_at))
		return true;
	if (due(w))
		return w->head || w->kept;
	/* in a pause: what may fail is answered at once while the store is known away */
	return w->head && w->fail_rc == AE_UNAVAILABLE;
}

/* Wait (lock held) until there is something to do. In a pause, store_down_since() is polled. */
static void wait_work(struct writer *w)
{
	while (!has_work(w)) {
		if (!w->fail_rc) {
			pthread_cond_wait(&w->wake, &w->lock);
			continue;
		}
		int64_t ms = w->retry_at - clock_mono_ms();
		ms = ms < 1 ? 1 : ms > 100 ? 100 : ms;
		struct timespec ts = clock_mono_deadline(ms);
		pthread_cond_timedwait(&w->wake, &w->lock, &ts);
	}
}

/* Stopping, past give_up_at: the kept ops are answered with their error. Lock held. */
static void give_up_kept(struct writer *w)
{
	if (!w->kept || clock_mono_ms() < w->give_up_at)
		return;
	struct writer_op *kept = w->kept;
	w->kept = NULL;
	pthread_mutex_unlock(&w->lock);
	log_error("writer",
		  "stopping: %zu kept operations (job outcomes) could not be written: %s (%s)",
		  list_len(kept), asyncd_strerror(w->fail_rc), store_last_error(w->store));
	for (struct writer_op *op = kept, *next; op; op = next) {
		next = op->next;
		if (op->done)
			op->done(op->arg, w->fail_rc);
	}
	pthread_mutex_lock(&w->lock);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		wait_work(w);
		if (w->stopping)
			give_up_kept(w);
		if (w->stopping && !w->head && !w->kept)
			break;
		if (!has_work(w))
			continue;
		struct writer_op *ops = w->head;
		w->head = w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		if (due(w)) {
			struct writer_op *all = w->kept;
			w->kept = NULL;
			append(&all, ops);
			test_hang(w);
			process(w, all);
		} else {
			/* the store is known away: answer at once what may fail, keep the rest */
			append(&w->kept, answer_failed(ops, w->fail_rc));
		}
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int writer_start(const char *url, struct writer **ret)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		return AE_NOMEM;
	int rc = store_open(url, &w->store);
	if (rc < 0) {
		free(w);
		return rc;
	}
	w->synchronous_full = -1;
	/* job counts for /metrics; a store without the tables (tests) or the operation has none */
	if (store_jobs_watch(w->store) < 0)
		log_info("writer", "no job counts for metrics: %s", store_last_error(w->store));
	w->hang_file = getenv("ASYNCD_TEST_WRITER_HANG_FILE");
	if (w->hang_file && !*w->hang_file)
		w->hang_file = NULL;
	pthread_mutex_init(&w->lock, NULL);
	/* monotonic, as the deadlines of wait_work (clock_mono_deadline): with the default clock
	 * every wait in a pause ended at once and the writer spun at a full core while the database
	 * was away */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		store_close(w->store);
		free(w);
		return AE_NOMEM;
	}
	*ret = w;
	return 0;
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	w->give_up_at = clock_mono_ms() + STOP_RETRY_MS;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	store_close(w->store);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}

void writer_stats(struct writer *w, unsigned long long *ret_groups, unsigned long long *ret_ops)
{
	pthread_mutex_lock(&w->lock);
	*ret_groups = w->groups;
	*ret_ops = w->ops;
	pthread_mutex_unlock(&w->lock);
}
