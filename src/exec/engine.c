/* Dispatcher and pool (see engine.h). One mutex guards the held queue, the running list and the
 * counters; the pool threads take runs from the held queue and run them in-process, or hand
 * sandboxed ones to the sandbox supervisor and go on (its reply finishes the run on the
 * supervisor's thread): at most max_concurrent_jobs in-process runs (one per thread), and at most
 * sandbox_capacity() sandboxed ones handed over. Outcomes go to the
 * writer as must-succeed ops whose done() callback frees the run and wakes the dispatcher. */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/settings.h"
#include "common/util.h"
#include "exec/engine.h"
#include "exec/runner.h"
#include "sandbox/sandbox.h"
#include "common/throttle.h"
#include "exec/sysjobs.h"
#include "exec/writer.h"
#include "job/rrule.h"
#include "plugin/registry.h"
#include "store/store.h"

/* A sandboxed run asked to stop (cancel, pause; stop) has this long before its worker dies. */
#define INTERRUPT_GRACE_MS 2000
#define STOP_GRACE_MS 1000

struct run {
	struct engine *e;
	struct job job;
	int stop_flag;
	int throttle;	   /* index in the engine's table, or -1 */
	bool released;	   /* returned to Ready by a stop: its outcome is dropped */
	bool start_marked; /* its start is (to be) written: Locked / In Progress */
	unsigned mark_seq; /* marks_seq when its start was noted, at index mark_idx of marks */
	size_t mark_idx;
	bool sandboxed; /* its assembly runs in the sandbox (when claimed): counted in sb_running */
	struct run_result res;
	struct job_completion c;
	struct writer_op op;
	struct run *prev, *next; /* held queue or running list */
};

struct run_list {
	struct run *head, *tail;
	int n;
};

/* Claimed jobs whose runs started, to be written as In Progress (store_jobs_started). */
struct start_marks {
	int64_t *ids, *attempts, *at;
	size_t n, cap;
};

struct engine {
	struct writer *w;
	struct start_marks marks;    /* lock: started since the last write was posted */
	struct start_marks flushing; /* the writer's: being written */
	bool marks_posted;	     /* lock: mark_op is with the writer */
	unsigned marks_seq;	     /* lock: bumped whenever the writer takes marks */
	struct writer_op mark_op;
	struct sandbox *sandbox;
	char *reader_url;
	bool shared; /* the store serves other hosts too: claim no more than this host can run */
	char *host_id;
	pthread_mutex_t lock;
	pthread_cond_t dispatch_wake; /* the dispatcher waits here */
	pthread_cond_t pool_wake;     /* pool threads wait here */
	pthread_cond_t idle;	      /* engine_stop waits here for runs to end */
	struct run_list held, running;
	int completing; /* outcomes handed to the writer, not yet committed (and the start marks) */
	int outcomes;	/* of which outcomes */
	bool stopping, notified, paused, started;
	bool claim_failed; /* the last claim failed: wait at most CLAIM_RETRY_MS */
	unsigned gen;	   /* bumped by every start: pool threads of an earlier start leave */
	int64_t next_due;  /* earliest postpone_until known, 0: none */
	unsigned due_gen;  /* bumped whenever next_due is lowered outside promote() */
	struct throttle_table throttles;
	char throttle_spec[512];
	unsigned long long processed, claimed, passes, reruns;
	/* the host's run rate, for the size of a shared claim (share_of) */
	int64_t rate_at_ms;
	unsigned long long rate_base;
	double runs_per_s;
	pthread_t dispatcher;
	pthread_t *pool;
	int n_pool;
	int sb_running, sb_cap; /* sandboxed runs handed over, and how many may be */
};

static void list_push(struct run_list *l, struct run *r)
{
	r->next = NULL;
	r->prev = l->tail;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

static void list_push_front(struct run_list *l, struct run *r)
{
	r->prev = NULL;
	r->next = l->head;
	if (l->head)
		l->head->prev = r;
	else
		l->tail = r;
	l->head = r;
	l->n++;
}

static void list_remove(struct run_list *l, struct run *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = NULL;
	l->n--;
}

static void run_free(struct run *r)
{
	if (!r)
		return;
	run_result_done(&r->res);
	job_done(&r->job);
	free(r);
}

void engine_notify(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->notified = true;
	pthread_cond_signal(&e->dispatch_wake);
	pthread_mutex_unlock(&e->lock);
}

/* ---- outcomes ---- */

static int complete_fn(struct store *s, void *arg)
{
	struct run *r = arg;
	return store_jobs_complete(s, &r->c, 1);
}

static int outcome_of(int status)
{
	switch (status) {
	case JOB_ST_SUCCEEDED:
		return METRICS_SUCCEEDED;
	case JOB_ST_FAILED:
		return METRICS_FAILED;
	case JOB_ST_CANCELED:
		return METRICS_CANCELED;
	default:
		return METRICS_RETRIED;
	}
}

/* The run's outcome, its run time and how long it waited to start, for /metrics. */
static void count_outcome(const struct run *r)
{
	int t = metrics_type(r->job.plugin_type);
	int code = metrics_code(r->c.next.error_code);
	metrics_inc(&asyncd_metrics.processed, 1);
	metrics_inc(&asyncd_metrics.outcomes[t][outcome_of(r->c.next.status)][code], 1);
	metrics_observe(&asyncd_metrics.run[t], &metrics_seconds, r->c.execution_time_ms * 1000);
	if (r->job.retry_count == 0 && r->c.started_on && r->job.created_on)
		metrics_observe(&asyncd_metrics.wait[t], &metrics_seconds,
				(r->c.started_on - r->job.created_on) * 1000);
}

/* A run that failed, for good or to be retried, is one record (a success is not). */
static void log_outcome(const struct run *r, int rc)
{
	const struct job_next *n = &r->c.next;
	const struct log_field *f =
	    LOG_FIELDS(LOG_INT("job_id", r->job.id), LOG_STR("plugin_type", r->job.plugin_type),
		       LOG_STR("host", r->e->host_id), LOG_STR("error_code", n->error_code),
		       LOG_INT("attempt", r->c.attempt));
	const char *msg = r->c.message ? r->c.message : "";
	if (rc < 0)
		log_event(LOG_LVL_ERROR, "engine", f,
			  "job %lld: its outcome was not stored: %s; the job stays Locked until "
			  "its lease expires or this host starts again, then runs again",
			  (long long)r->job.id, asyncd_strerror(rc));
	else if (!r->c.applied)
		log_event(
		    LOG_LVL_WARN, "engine", f,
		    "job %lld: the outcome of attempt %lld was refused (fencing): the job is "
		    "no longer this host's (its lease expired and another host took it, or it "
		    "was deleted)",
		    (long long)r->job.id, (long long)r->c.attempt);
	else if (n->status == JOB_ST_FAILED)
		log_event(LOG_LVL_WARN, "engine", f, "job %lld failed: %s", (long long)r->job.id,
			  msg);
	else if (n->error_code && n->postpone_until)
		log_event(LOG_LVL_INFO, "engine", f, "job %lld will be retried (retry %d): %s",
			  (long long)r->job.id, n->retry_count, msg);
}

static void complete_done(void *arg, int rc)
{
	struct run *r = arg;
	struct engine *e = r->e;
	count_outcome(r);
	log_outcome(r, rc);
	pthread_mutex_lock(&e->lock);
	e->completing--;
	e->outcomes--;
	e->processed++;
	if (r->c.next.postpone_until && (!e->next_due || r->c.next.postpone_until < e->next_due)) {
		e->next_due = r->c.next.postpone_until;
		e->due_gen++;
		pthread_cond_signal(&e->dispatch_wake);
	}
	if (r->res.children.n)
		e->notified = true;
	pthread_cond_signal(&e->dispatch_wake);
	if (e->running.n == 0 && e->completing == 0)
		pthread_cond_broadcast(&e->idle);
	pthread_mutex_unlock(&e->lock);
	run_free(r);
}

static void fill_completion(struct engine *e, struct run *r, const struct settings *cfg)
{
	struct retry_policy p = {cfg->time_between_retries_ms, 3600 * 1000};
	int64_t now = clock_now_ms();
	struct job_completion *c = &r->c;
	memset(c, 0, sizeof(*c));
	c->id = r->job.id;
	c->host_id = e->host_id;
	c->attempt = r->job.attempt;
	job_next_state(&r->job, &r->res.outcome, &p, now, rand_fast(), &c->next);
	rrule_job_after_run(&r->job, now, &c->next);
	c->message = r->res.outcome.message;
	c->trace = r->res.trace;
	c->output = r->res.output;
	c->started_on = r->res.started_on;
	c->completed_on = now;
	c->execution_time_ms = r->res.execution_time_ms;
	c->children = r->res.children.v;
	c->n_children = r->res.children.n;
	r->op = (struct writer_op){
	    .fn = complete_fn, .arg = r, .done = complete_done, .must_succeed = true};
}

/* ---- starts: a claimed job is Locked / Waiting For Resources until its run starts ---- */

static int marks_push(struct start_marks *m, int64_t id, int64_t attempt, int64_t at)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		int64_t *ids = realloc(m->ids, cap * sizeof(*ids));
		if (ids)
			m->ids = ids;
		int64_t *att = ids ? realloc(m->attempts, cap * sizeof(*att)) : NULL;
		if (att)
			m->attempts = att;
		int64_t *t = att ? realloc(m->at, cap * sizeof(*t)) : NULL;
		if (!t)
			return AE_NOMEM; /* the job shows Waiting For Resources until it ends */
		m->at = t;
		m->cap = cap;
	}
	m->ids[m->n] = id;
	m->attempts[m->n] = attempt;
	m->at[m->n++] = at;
	return 0;
}

static void marks_free(struct start_marks *m)
{
	free(m->ids);
	free(m->attempts);
	free(m->at);
	memset(m, 0, sizeof(*m));
}

/* Drop the marks of runs that ended before the writer took them (id 0): their outcome writes
 * started_on itself. A no-op job usually ends first, so most marks cost nothing. */
static void marks_compact(struct start_marks *m)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->ids[i]) {
			m->ids[k] = m->ids[i];
			m->attempts[k] = m->attempts[i];
			m->at[k++] = m->at[i];
		}
	m->n = k;
}

/* Run again as is when its group was rolled back: flushing is kept until done. */
static int marks_fn(struct store *s, void *arg)
{
	struct engine *e = arg;
	if (e->flushing.n == 0) {
		pthread_mutex_lock(&e->lock);
		struct start_marks t = e->flushing;
		e->flushing = e->marks;
		e->marks = t;
		e->marks_seq++;
		pthread_mutex_unlock(&e->lock);
		marks_compact(&e->flushing);
	}
	return e->flushing.n ? store_jobs_started(s, e->flushing.ids, e->flushing.attempts,
						  e->flushing.at, e->flushing.n)
			     : 0;
}

static void marks_done(void *arg, int rc)
{
	struct engine *e = arg;
	e->flushing.n = 0;
	pthread_mutex_lock(&e->lock);
	/* a start not written shows when the job ends; after a failure (the store away) the marks
	 * are dropped rather than posted again at once: the next start posts its own */
	bool again = rc == 0 && e->marks.n > 0 && !e->stopping;
	e->marks_posted = again;
	if (!again) {
		e->marks.n = 0;
		e->completing--;
		if (e->running.n == 0 && e->completing == 0)
			pthread_cond_broadcast(&e->idle);
	}
	pthread_mutex_unlock(&e->lock);
	if (again && writer_post(e->w, &e->mark_op) < 0)
		marks_done(e, AE_SHUTDOWN);
}

/* r's run starts now: write it as In Progress with the next group commit. */
static void mark_started(struct engine *e, struct run *r)
{
	pthread_mutex_lock(&e->lock);
	bool post = false;
	if (!r->start_marked && !r->released) {
		r->start_marked = true;
		r->mark_seq = e->marks_seq;
		r->mark_idx = e->marks.n;
		if (marks_push(&e->marks, r->job.id, r->job.attempt, clock_now_ms()) == 0 &&
		    !e->marks_posted) {
			post = e->marks_posted = true;
			e->completing++; /* a stop waits for it */
		}
	}
	pthread_mutex_unlock(&e->lock);
	if (post && writer_post(e->w, &e->mark_op) < 0) {
		pthread_mutex_lock(&e->lock);
		e->marks.n = 0;
		pthread_mutex_unlock(&e->lock);
		marks_done(e, AE_SHUTDOWN);
	}
}

/* The sandbox's word that a run became its worker's head (the supervisor's thread). */
static void sandboxed_started(void *arg)
{
	struct run_result *res = arg;
	struct run *r = (struct run *)((char *)res - offsetof(struct run, res));
	mark_started(r->e, r);
}

/* ---- the pool ---- */

/* The first held run whose type is under its cap. Called with the lock held. */
static struct run *first_eligible(struct engine *e)
{
	for (struct run *r = e->held.head; r; r = r->next) {
		if (r->sandboxed && e->sb_running >= e->sb_cap)
			continue;
		r->throttle =
		    e->throttles.n ? throttle_find(&e->throttles, r->job.plugin_type) : -1;
		if (r->throttle < 0 ||
		    e->throttles.t[r->throttle].running < e->throttles.t[r->throttle].cap)
			return r;
	}
	return NULL;
}

/* In-process runs are bounded by the pool's threads (one each); sandboxed ones, which a thread
 * only hands over, by sb_cap. While the database cannot be reached no held run starts: its
 * outcome could not be written, and its lease may run out meanwhile (another host would run it
 * too); what runs already ends and its outcome is kept by the writer. */
static bool may_run(struct engine *e, struct run **ret)
{
	return !e->paused && !store_down_since() && (*ret = first_eligible(e));
}

#define DOWN_POLL_MS 100

static struct run *take_held(struct engine *e, unsigned gen)
{
	struct run *r = NULL;
	pthread_mutex_lock(&e->lock);
	while (!e->stopping && e->gen == gen && !may_run(e, &r)) {
		if (e->held.n && store_down_since()) {
			/* nothing tells the pool that the database is back: look again soon */
			struct timespec ts = clock_mono_deadline(DOWN_POLL_MS);
			pthread_cond_timedwait(&e->pool_wake, &e->lock, &ts);
			continue;
		}
		pthread_cond_wait(&e->pool_wake, &e->lock);
	}
	if (e->stopping || e->gen != gen)
		r = NULL;
	if (r) {
		list_remove(&e->held, r);
		list_push(&e->running, r);
		e->sb_running += r->sandboxed;
		if (r->throttle >= 0)
			e->throttles.t[r->throttle].running++;
		if (e->held.n == 0)
			pthread_cond_signal(&e->dispatch_wake);
	}
	pthread_mutex_unlock(&e->lock);
	return r;
}

static void finish_run(struct engine *e, struct run *r, const struct settings *cfg)
{
	fill_completion(e, r, cfg);
	pthread_mutex_lock(&e->lock);
	if (r->start_marked && r->mark_seq == e->marks_seq && r->mark_idx < e->marks.n &&
	    e->marks.ids[r->mark_idx] == r->job.id)
		e->marks.ids[r->mark_idx] = 0; /* not taken yet: the outcome says it all */
	list_remove(&e->running, r);
	e->sb_running -= r->sandboxed;
	if (e->held.n && r->sandboxed)
		pthread_cond_signal(&e->pool_wake); /* room for one more sandboxed run */
	if (r->throttle >= 0) {
		e->throttles.t[r->throttle].running--;
		pthread_cond_broadcast(&e->pool_wake); /* a held run of that type may go now */
	}
	bool released = r->released;
	if (!released) {
		e->completing++;
		e->outcomes++;
	}
	pthread_mutex_unlock(&e->lock);
	if (released) {
		/* the stop gave the job back; the writer may be gone already, and the store would
		 * refuse this outcome anyway (fencing) */
		run_free(r);
		return;
	}
	if (writer_post(e->w, &r->op) < 0)
		complete_done(r, AE_SHUTDOWN);
}

/* A sandboxed run that never started because the registry changed goes back to the front of the
 * held queue, still claimed: a pool thread resolves it again (newest build, isolation, step
 * configuration) as if it had just been claimed. */
static void rerun(struct engine *e, struct run *r)
{
	struct registry_snap *snap = registry_get();
	bool sandboxed = runner_sandboxed(snap, &r->job);
	registry_put(snap);
	run_result_done(&r->res);
	memset(&r->res, 0, sizeof(r->res));
	pthread_mutex_lock(&e->lock);
	list_remove(&e->running, r);
	e->sb_running -= r->sandboxed;
	if (r->throttle >= 0)
		e->throttles.t[r->throttle].running--;
	r->sandboxed = sandboxed;
	r->throttle = -1;
	if (r->released) {
		if (e->running.n == 0 && e->completing == 0)
			pthread_cond_broadcast(&e->idle);
		pthread_mutex_unlock(&e->lock);
		run_free(r); /* the stop gave it back */
		return;
	}
	list_push_front(&e->held, r);
	e->reruns++;
	pthread_cond_broadcast(&e->pool_wake);
	if (e->running.n == 0 && e->completing == 0)
		pthread_cond_broadcast(&e->idle);
	pthread_mutex_unlock(&e->lock);
}

/* The sandbox's reply is in r->res (the supervisor's thread). */
static void sandboxed_done(void *arg)
{
	struct run *r = arg;
	struct settings cfg;
	if (r->res.rerun) {
		rerun(r->e, r);
		return;
	}
	settings_current(&cfg);
	finish_run(r->e, r, &cfg);
}

struct pool_arg {
	struct engine *e;
	unsigned gen;
};

static void *pool_main(void *p)
{
	struct pool_arg arg = *(struct pool_arg *)p;
	struct engine *e = arg.e;
	struct store *reader = NULL;
	struct settings cfg;
	free(p);
	if (store_open(e->reader_url, &reader) < 0)
		log_error("engine", "cannot open a reader connection: %s", e->reader_url);
	struct run *r;
	while ((r = take_held(e, arg.gen))) {
		settings_current(&cfg);
		if (sysjob_is(&r->job)) {
			mark_started(e, r);
			sysjob_run(e->w, e, reader, &r->job, &r->stop_flag, &r->res);
			finish_run(e, r, &cfg);
			continue;
		}
		if (!r->sandboxed)
			mark_started(e, r);
		if (runner_start(&r->job, reader, &cfg, &r->stop_flag, e->sandbox, sandboxed_done,
				 r, &r->res) == RUNNER_DONE)
			finish_run(e, r, &cfg);
	}
	store_close(reader);
	return NULL;
}

/* ---- the dispatcher ---- */

struct claim_call {
	struct engine *e;
	int limit;
	struct job *jobs;
	size_t n;
};

static int claim_fn(struct store *s, void *arg)
{
	struct claim_call *c = arg;
	/* run again when its group was rolled back: the rows of the undone claim are not ours */
	job_array_free(c->jobs, c->n);
	c->jobs = NULL;
	c->n = 0;
	return store_jobs_claim(s, c->e->host_id, clock_now_ms(), c->limit, &c->jobs, &c->n);
}

static void mark_sandboxed(struct run **runs, size_t n)
{
	struct registry_snap *snap = registry_get();
	for (size_t i = 0; i < n; i++)
		if (runs[i])
			runs[i]->sandboxed = runner_sandboxed(snap, &runs[i]->job);
	registry_put(snap);
}

static int hold_claimed(struct engine *e, struct claim_call *c)
{
	struct run **runs = calloc(c->n ? c->n : 1, sizeof(*runs));
	if (!runs)
		return AE_NOMEM;
	for (size_t i = 0; i < c->n; i++) {
		runs[i] = calloc(1, sizeof(**runs));
		if (!runs[i]) {
			/* cannot hold it: it stays Locked until the stop or restart releases it */
			job_done(&c->jobs[i]);
			continue;
		}
		runs[i]->e = e;
		runs[i]->job = c->jobs[i];
	}
	free(c->jobs);
	mark_sandboxed(runs, c->n);
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < c->n; i++)
		if (runs[i])
			list_push(&e->held, runs[i]);
	e->claimed += c->n;
	metrics_inc(&asyncd_metrics.claimed, c->n);
	pthread_cond_broadcast(&e->pool_wake);
	pthread_mutex_unlock(&e->lock);
	free(runs);
	return 0;
}

/* Claim up to limit jobs; returns how many were claimed, or a negative error. */
static int claim(struct engine *e, int limit)
{
	struct claim_call c = {.e = e, .limit = limit};
	int rc = writer_call(e->w, claim_fn, &c);
	if (rc < 0) {
		job_array_free(c.jobs, c.n); /* claimed, then the commit failed: undone */
		return rc;
	}
	int n = (int)c.n;
	rc = hold_claimed(e, &c);
	return rc < 0 ? rc : n;
}

struct promote_call {
	int64_t now, promoted, next_due;
};

static int promote_fn(struct store *s, void *arg)
{
	struct promote_call *p = arg;
	int rc = store_jobs_promote_due(s, p->now, &p->promoted);
	return rc < 0 ? rc : store_jobs_next_due(s, &p->next_due);
}

#define PROMOTE_RETRY_MS 1000

/* Promote the jobs that are due and learn the next due time. A due time announced while the
 * store was asked (engine_due, a completion) is kept if it is earlier; a failed attempt is tried
 * again PROMOTE_RETRY_MS later, so that postponed jobs are never forgotten. */
static void promote(struct engine *e)
{
	struct promote_call p = {.now = clock_now_ms()};
	pthread_mutex_lock(&e->lock);
	unsigned gen = e->due_gen;
	pthread_mutex_unlock(&e->lock);
	int rc = writer_call(e->w, promote_fn, &p);
	pthread_mutex_lock(&e->lock);
	if (rc < 0)
		p.next_due = clock_now_ms() + PROMOTE_RETRY_MS;
	if (gen == e->due_gen || !e->next_due || (p.next_due && p.next_due < e->next_due))
		e->next_due = p.next_due;
	pthread_mutex_unlock(&e->lock);
	if (rc < 0)
		log_warn("engine", "cannot promote postponed jobs: %s; trying again in %d ms",
			 asyncd_strerror(rc), PROMOTE_RETRY_MS);
}

#define CLAIM_RETRY_MS 1000

static int64_t wait_ms(struct engine *e, const struct settings *cfg)
{
	int64_t ms = cfg->select_interval_ms;
	if (e->claim_failed && ms > CLAIM_RETRY_MS)
		ms = CLAIM_RETRY_MS; /* what it could not claim is tried again soon, not at the poll
				      */
	if (e->next_due) {
		int64_t until = e->next_due - clock_now_ms();
		if (until < ms)
			ms = until < 1 ? 1 : until;
	}
	return ms;
}

#define SHARE_HORIZON_MS 500 /* a shared claim takes at least what this host runs in this long */
#define RATE_PERIOD_MS 250   /* how often the run rate is measured */

/* This host's runs per second, measured every RATE_PERIOD_MS and smoothed. */
static double run_rate(struct engine *e)
{
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&e->lock);
	if (!e->rate_at_ms || now - e->rate_at_ms >= RATE_PERIOD_MS) {
		if (e->rate_at_ms) {
			double r = (double)(e->processed - e->rate_base) * 1000 /
				   (double)(now - e->rate_at_ms);
			e->runs_per_s = (e->runs_per_s + r) / 2;
		}
		e->rate_at_ms = now;
		e->rate_base = e->processed;
	}
	double r = e->runs_per_s;
	pthread_mutex_unlock(&e->lock);
	return r;
}

/* How much a host sharing the store with others claims: what it can start now, so that slow
 * jobs are spread over the hosts instead of waiting in the window of the first host that asked;
 * but at least what it runs in SHARE_HORIZON_MS, so that quick jobs are not claimed a few at a
 * time: each claim is a statement that steps over the rows the other hosts hold, and a commit.
 * Measured, 3 hosts, 50k no-op jobs on PostgreSQL: claims of what the threads could start,
 * 12.1k jobs/s (drain), 80 us of PostgreSQL CPU per job; of 100 ms of work 16.8k, 74 us; of
 * 500 ms 21.6k, 48 us. Never more than the window allows (max). */
static int share_of(struct engine *e, int capacity, int have, int max)
{
	int quick = (int)(run_rate(e) * SHARE_HORIZON_MS / 1000) - have;
	int want = capacity - have > quick ? capacity - have : quick;
	return want < max ? want : max;
}

/* One pass: promote what is due, refill the window. Returns true when it should run again at
 * once (the window is not full and the last claim filled its limit). */
static bool dispatch_once(struct engine *e, const struct settings *cfg)
{
	pthread_mutex_lock(&e->lock);
	bool due = e->next_due && e->next_due <= clock_now_ms();
	int have = e->held.n + e->running.n + e->completing;
	bool paused = e->paused;
	int capacity = cfg->max_concurrent_jobs + e->sb_cap;
	e->notified = false;
	pthread_mutex_unlock(&e->lock);
	if (due)
		promote(e);
	if (paused || have >= cfg->items_in_memory_low)
		return false;
	int want = cfg->items_in_memory_high - have;
	if (e->shared && store_live_hosts() > 1)
		want = share_of(e, capacity, have, want);
	if (want <= 0)
		return false;
	int got = claim(e, want);
	pthread_mutex_lock(&e->lock);
	e->claim_failed = got < 0;
	pthread_mutex_unlock(&e->lock);
	if (got < 0)
		log_warn("engine", "claim failed: %s; trying again within %d ms",
			 asyncd_strerror(got), CLAIM_RETRY_MS);
	return got == want;
}

/* Rebuild the caps when async.throttling changed, recounting the runs of each type; follow
 * the sandbox's capacity. */
static void follow_throttling(struct engine *e, const struct settings *cfg)
{
	struct throttle_table t;
	char err[256];
	pthread_mutex_lock(&e->lock);
	if (e->sb_cap != sandbox_capacity(cfg)) {
		e->sb_cap = sandbox_capacity(cfg);
		pthread_cond_broadcast(&e->pool_wake);
	}
	if (strcmp(e->throttle_spec, cfg->throttling) &&
	    throttle_parse(cfg->throttling, &t, err, sizeof(err)) == 0) {
		for (struct run *r = e->running.head; r; r = r->next) {
			r->throttle = throttle_find(&t, r->job.plugin_type);
			if (r->throttle >= 0)
				t.t[r->throttle].running++;
		}
		e->throttles = t;
		snprintf(e->throttle_spec, sizeof(e->throttle_spec), "%s", cfg->throttling);
		pthread_cond_broadcast(&e->pool_wake);
	}
	pthread_mutex_unlock(&e->lock);
}

static void *dispatcher_main(void *arg)
{
	struct engine *e = arg;
	struct settings cfg;
	promote(e);
	for (;;) {
		settings_current(&cfg);
		follow_throttling(e, &cfg);
		bool again = dispatch_once(e, &cfg);
		pthread_mutex_lock(&e->lock);
		e->passes++;
		if (!again && !e->notified && !e->stopping) {
			struct timespec ts = clock_mono_deadline(wait_ms(e, &cfg));
			pthread_cond_timedwait(&e->dispatch_wake, &e->lock, &ts);
		}
		bool stop = e->stopping;
		pthread_mutex_unlock(&e->lock);
		if (stop)
			break;
	}
	return NULL;
}

static int start_pool(struct engine *e, int n_pool, unsigned gen)
{
	e->pool = calloc((size_t)n_pool, sizeof(*e->pool));
	if (!e->pool)
		return AE_NOMEM;
	for (e->n_pool = 0; e->n_pool < n_pool; e->n_pool++) {
		struct pool_arg *arg = malloc(sizeof(*arg));
		if (!arg)
			return AE_NOMEM;
		*arg = (struct pool_arg){e, gen};
		if (pthread_create(&e->pool[e->n_pool], NULL, pool_main, arg) != 0) {
			free(arg);
			return AE_NOMEM;
		}
	}
	return 0;
}

static void end_threads(struct engine *e, bool join_pool);

/* Start the pool and the dispatcher; on failure the threads already started are stopped and
 * joined, and nothing is left. */
static int start_threads(struct engine *e, int n_pool, unsigned gen)
{
	int rc = start_pool(e, n_pool, gen);
	if (rc == 0 && pthread_create(&e->dispatcher, NULL, dispatcher_main, e) != 0)
		rc = AE_NOMEM;
	pthread_mutex_lock(&e->lock);
	if (rc < 0) {
		e->stopping = true;
		pthread_cond_broadcast(&e->pool_wake);
	} else {
		e->started = true;
	}
	pthread_mutex_unlock(&e->lock);
	if (rc < 0)
		end_threads(e, true);
	return rc;
}

int engine_new(struct writer *w, const char *reader_url, const char *host_id, struct engine **ret)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return AE_NOMEM;
	e->w = w;
	e->mark_op = (struct writer_op){.fn = marks_fn, .arg = e, .done = marks_done};
	e->reader_url = strdup(reader_url);
	e->host_id = strdup(host_id);
	e->shared = strncmp(reader_url, "sqlite:", 7) != 0;
	if (!e->reader_url || !e->host_id) {
		engine_free(e);
		return AE_NOMEM;
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->dispatch_wake, &ca);
	pthread_cond_init(&e->pool_wake, &ca);
	pthread_cond_init(&e->idle, &ca);
	pthread_condattr_destroy(&ca);
	e->stopping = true; /* until started */
	*ret = e;
	return 0;
}

int engine_start(struct engine *e)
{
	struct settings cfg;
	settings_current(&cfg);
	pthread_mutex_lock(&e->lock);
	if (e->started) {
		pthread_mutex_unlock(&e->lock);
		return AE_CONFLICT;
	}
	e->stopping = e->paused = false;
	e->next_due = 1; /* promote once at start */
	e->processed = e->claimed = 0;
	e->sb_cap = sandbox_capacity(&cfg);
	unsigned gen = ++e->gen;
	pthread_mutex_unlock(&e->lock);
	int rc = start_threads(e, cfg.max_concurrent_jobs, gen);
	if (rc < 0)
		log_error("engine", "cannot start threads");
	return rc;
}

/* ---- stop ---- */

struct release_call {
	const char *host_id;
	int64_t *ids, *attempts;
	size_t n;
};

static int release_fn(struct store *s, void *arg)
{
	struct release_call *c = arg;
	return store_jobs_release(s, c->host_id, c->ids, c->attempts, c->n, clock_now_ms());
}

/* Note the runs of list l in *ret (marking them released; emptying l and freeing them when
 * free_runs), so that release_write can give them back after the lock is dropped. Called with the
 * lock held. */
static int release_collect(struct engine *e, struct run_list *l, bool free_runs,
			   struct release_call *ret)
{
	struct release_call c = {.host_id = e->host_id};
	c.ids = calloc((size_t)l->n + 1, sizeof(int64_t));
	c.attempts = calloc((size_t)l->n + 1, sizeof(int64_t));
	if (!c.ids || !c.attempts) {
		free(c.ids);
		free(c.attempts);
		return AE_NOMEM;
	}
	for (struct run *r = l->head; r; r = r->next) {
		c.ids[c.n] = r->job.id;
		c.attempts[c.n++] = r->job.attempt;
		r->released = true;
	}
	while (free_runs && l->head) {
		struct run *r = l->head;
		list_remove(l, r);
		run_free(r);
	}
	*ret = c;
	return 0;
}

/* Return the jobs noted in c to Ready (fenced by attempt) and free c's arrays. Called without the
 * lock: it waits for a commit. Returns how many, or an error. */
static int release_write(struct engine *e, struct release_call *c)
{
	int rc = c->n ? writer_call(e->w, release_fn, c) : 0;
	free(c->ids);
	free(c->attempts);
	return rc < 0 ? rc : (int)c->n;
}

/* release_collect, then release_write with the lock dropped around it: the caller holds the lock
 * before and after, but other threads may take it in between. */
static int release_unlocking(struct engine *e, struct run_list *l, bool free_runs)
{
	struct release_call c;
	int rc = release_collect(e, l, free_runs, &c);
	if (rc < 0)
		return rc;
	pthread_mutex_unlock(&e->lock);
	rc = release_write(e, &c);
	pthread_mutex_lock(&e->lock);
	return rc;
}

/* Raise r's stop flag; a sandboxed run is also aborted (a no-op for one in-process). Called with
 * the lock held. */
static void interrupt_run(struct engine *e, struct run *r, int64_t grace_ms)
{
	__atomic_store_n(&r->stop_flag, 1, __ATOMIC_RELAXED);
	if (e->sandbox)
		sandbox_abort(e->sandbox, r->job.id, r->job.attempt, grace_ms);
}

static void ask_running_to_stop(struct engine *e)
{
	for (struct run *r = e->running.head; r; r = r->next)
		interrupt_run(e, r, STOP_GRACE_MS);
}

/* Wait until nothing runs or is being recorded, or the deadline (NULL: for ever). Called and
 * returns with the lock held. */
static void wait_idle(struct engine *e, const struct timespec *deadline)
{
	while (e->running.n || e->completing) {
		if (!deadline)
			pthread_cond_wait(&e->idle, &e->lock);
		else if (pthread_cond_timedwait(&e->idle, &e->lock, deadline) != 0)
			break;
	}
}

static void end_threads(struct engine *e, bool join_pool)
{
	for (int i = 0; i < e->n_pool; i++) {
		if (join_pool)
			pthread_join(e->pool[i], NULL);
		else
			pthread_detach(e->pool[i]); /* still in a plug-in: it leaves when done */
	}
	free(e->pool);
	e->pool = NULL;
	e->n_pool = 0;
}

int engine_stop(struct engine *e, int64_t timeout_ms)
{
	pthread_mutex_lock(&e->lock);
	if (!e->started) {
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	e->stopping = true;
	pthread_cond_broadcast(&e->dispatch_wake);
	pthread_cond_broadcast(&e->pool_wake);
	pthread_cond_broadcast(&e->idle); /* a pause waiting for runs gives way */
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->dispatcher, NULL);
	pthread_mutex_lock(&e->lock);
	release_unlocking(e, &e->held, true);
	struct timespec deadline = clock_mono_deadline(timeout_ms);
	wait_idle(e, &deadline);
	int interrupted = e->running.n;
	if (interrupted) {
		ask_running_to_stop(e);
		release_unlocking(e, &e->running, false);
	}
	e->started = false;
	pthread_mutex_unlock(&e->lock);
	end_threads(e, !interrupted);
	return interrupted;
}

int engine_pause(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->paused = true;
	pthread_cond_broadcast(&e->dispatch_wake);
	release_unlocking(e, &e->held, true);
	/* running jobs finish; a stop overtaking the pause ends the wait */
	while ((e->running.n || e->completing) && !e->stopping)
		pthread_cond_wait(&e->idle, &e->lock);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int engine_continue(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->paused = false;
	e->notified = true;
	pthread_cond_broadcast(&e->dispatch_wake);
	pthread_cond_broadcast(&e->pool_wake);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	/* a plug-in still running after the stop keeps its thread and the engine; the process is
	 * exiting */
	if (e->reader_url && e->host_id) {
		pthread_mutex_lock(&e->lock);
		bool busy = e->running.n > 0 || e->started;
		pthread_mutex_unlock(&e->lock);
		if (busy)
			return;
	}
	free(e->pool);
	free(e->reader_url);
	free(e->host_id);
	marks_free(&e->marks);
	marks_free(&e->flushing);
	free(e);
}

void engine_set_sandbox(struct engine *e, struct sandbox *sb)
{
	pthread_mutex_lock(&e->lock);
	e->sandbox = sb;
	pthread_mutex_unlock(&e->lock);
	sandbox_on_start(sandboxed_started);
}

void engine_due(struct engine *e, int64_t at)
{
	pthread_mutex_lock(&e->lock);
	if (!e->next_due || at < e->next_due) {
		e->next_due = at;
		e->due_gen++;
		pthread_cond_signal(&e->dispatch_wake);
	}
	pthread_mutex_unlock(&e->lock);
}

static bool listed(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void engine_interrupt(struct engine *e, const int64_t *ids, size_t n)
{
	struct run_list gone = {0};
	struct release_call c = {0};
	pthread_mutex_lock(&e->lock);
	/* held but not started: they must not start at all, so they leave the held queue before
	 * any running one is interrupted (which frees its type's throttle slot); the release ends
	 * them as the action marked them (Canceling -> Canceled, Pausing -> Suspended) */
	for (struct run *r = e->held.head, *next; r; r = next) {
		next = r->next;
		if (listed(ids, n, r->job.id)) {
			list_remove(&e->held, r);
			list_push(&gone, r);
		}
	}
	for (struct run *r = e->running.head; r; r = r->next)
		if (listed(ids, n, r->job.id))
			interrupt_run(e, r, INTERRUPT_GRACE_MS);
	if (gone.n)
		release_collect(e, &gone, true, &c);
	pthread_mutex_unlock(&e->lock);
	release_write(e, &c);
}

void engine_stats(struct engine *e, struct engine_stats *ret)
{
	pthread_mutex_lock(&e->lock);
	ret->held = e->held.n;
	ret->running = e->running.n;
	ret->processed = e->processed;
	ret->claimed = e->claimed;
	ret->passes = e->passes;
	ret->dispatching = e->started && !e->stopping;
	ret->outcomes_pending = e->outcomes;
	pthread_mutex_unlock(&e->lock);
}
