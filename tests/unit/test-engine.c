/* Unit tests of the engine (dispatcher and in-process pool) on a temporary SQLite store, with the
 * real writer, the real registry and library cache, and the real samples.so registered in the
 * store with isolation=none, as asyncd's start-up wires them (src/host/host.c). Jobs are inserted
 * through the store (store_jobs_insert, on the writer); what the engine did is read back from the
 * store and from engine_stats(). Nothing waits for time to pass: every wait is a bounded poll for
 * a state, and "the engine did not claim X" is checked after two more dispatcher passes
 * (engine_stats.passes), so that a whole pass saw X. The fault seam (store_fault_inject) fails
 * claims, inserts, outcomes and commits while the engine runs. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "plugin/libcache.h"
#include "plugin/registry.h"
#include "store/store.h"
#include "testdb.h"

#define WAIT_MS 30000
#define LONG_SLEEP "{\"ms\":60000}" /* a run that only ends when it is asked to stop */
#define HOST "unit-host"

struct fixture {
	char dir[64];
	char url[256];
	struct store *reader;
	struct writer *w;
	struct engine *e;
	int64_t assembly_id;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the store through the writer ---- */

struct insert_call {
	struct job *jobs;
	size_t n;
};

static int insert_fn(struct store *s, void *arg)
{
	struct insert_call *c = arg;
	return store_jobs_insert(s, c->jobs, c->n);
}

struct update_call {
	int64_t id;
	int status;
};

/* What a cancel (22) or pause (21) of a running job does first (src/api/h_jobs.c). */
static int mark_fn(struct store *s, void *arg)
{
	struct update_call *c = arg;
	struct job j;
	int rc = store_job_get(s, c->id, &j);
	if (rc < 0)
		return rc;
	j.status = c->status;
	if (c->status == JOB_ST_CANCELING)
		j.error_code = strdup("canceled");
	rc = store_job_update(s, &j);
	job_done(&j);
	return rc;
}

struct asm_call {
	struct assembly a;
	const void *bytes;
	size_t n;
};

static int asm_fn(struct store *s, void *arg)
{
	struct asm_call *c = arg;
	c->a.id = 0;
	return store_assembly_insert(s, &c->a, c->bytes, c->n);
}

/* ---- fixture ---- */

static void *read_file(const char *path, size_t *ret_n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *p = malloc(n > 0 ? (size_t)n : 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*ret_n = (size_t)n;
	return p;
}

/* samples.so, registered in the store as isolation=none (what POST /api/v1/assemblies stores). */
static int register_samples(struct fixture *f)
{
	static char *types[] = {"noop", "echo", "fail", "flaky", "sleep"};
	char path[4096], hex[65];
	unsigned char d[crypto_hash_sha256_BYTES];
	const char *root = getenv("ASYNCD_BUILD_DIR");
	size_t n;
	snprintf(path, sizeof(path), "%s/plugins/samples/samples.so", root ? root : "build");
	void *bytes = read_file(path, &n);
	if (!bytes) {
		fprintf(stderr, "cannot read %s (set ASYNCD_BUILD_DIR)\n", path);
		return -1;
	}
	crypto_hash_sha256(d, bytes, n);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	struct asm_call c = {.a = {.name = "samples",
				   .version = "1.0.0.0",
				   .description = "samples",
				   .isolation = ISOLATION_NONE,
				   .sha256 = hex,
				   .modified_on = clock_now_ms(),
				   .types = types,
				   .n_types = sizeof(types) / sizeof(types[0])},
			     .bytes = bytes,
			     .n = n};
	int rc = writer_call(f->w, asm_fn, &c);
	free(bytes);
	f->assembly_id = c.a.id;
	return rc < 0 ? rc : registry_reload(f->reader);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char cache[128];
	if (!f || sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/asyncd-engine-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/asyncd.db", f->dir);
	if (testdb_new(path, f->url, sizeof(f->url)) < 0)
		return -1;
	snprintf(cache, sizeof(cache), "%s/cache", f->dir);
	settings_init();
	if (store_open(f->url, &f->reader) < 0 || store_migrate(f->reader) < 0 ||
	    libcache_init(cache) < 0 || writer_start(f->url, &f->w) < 0 ||
	    register_samples(f) < 0 || engine_new(f->w, f->url, HOST, &f->e) < 0)
		return -1;
	*state = f;
	return 0;
}

/* Wait for a condition on the engine's counters. */
static void wait_stats(struct fixture *f, int held, int running)
{
	struct engine_stats st;
	int64_t end = mono_ms() + WAIT_MS;
	do {
		engine_stats(f->e, &st);
		if (st.held == held && st.running == running)
			return;
		usleep(2000);
	} while (mono_ms() < end);
	fail_msg("the engine holds %d and runs %d, not %d and %d, after %d ms", st.held, st.running,
		 held, running, WAIT_MS);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	store_fault_inject(0);
	engine_stop(f->e, 30000);
	wait_stats(f, 0, 0);
	engine_free(f->e);
	writer_stop(f->w);
	store_close(f->reader);
	registry_shutdown();
	libcache_shutdown();
	settings_init();
	testdb_drop(f->url);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void set(const char *key, const char *value)
{
	char err[256];
	if (settings_apply(key, value, err, sizeof(err)) < 0)
		fail_msg("%s = %s: %s", key, value, err);
}

/* ---- jobs ---- */

struct spec {
	const char *type; /* "sleep", "noop"... */
	const char *data;
	int priority;
	const char *token;
	int64_t postpone_until; /* Suspended/Waiting until then */
};

static int insert_jobs(struct fixture *f, const struct spec *sp, size_t n, int64_t *ret_ids)
{
	char types[16][64];
	struct job jobs[16];
	int64_t now = clock_now_ms();
	assert_true(n <= 16);
	memset(jobs, 0, sizeof(jobs));
	for (size_t i = 0; i < n; i++) {
		snprintf(types[i], sizeof(types[i]), "samples.%s", sp[i].type);
		jobs[i] = (struct job){.name = "unit",
				       .operation_type = JOB_OP_EXECUTE_ASYNC,
				       .state = sp[i].postpone_until ? JOB_SUSPENDED : JOB_READY,
				       .status = sp[i].postpone_until ? JOB_ST_WAITING : 0,
				       .assembly_id = f->assembly_id,
				       .plugin_type = types[i],
				       .data = (char *)(sp[i].data ? sp[i].data : "{}"),
				       .depth = 1,
				       .dependency_token = (char *)sp[i].token,
				       .priority = sp[i].priority,
				       .postpone_until = sp[i].postpone_until,
				       .max_retries = 3,
				       .created_on = now,
				       .modified_on = now};
	}
	struct insert_call c = {jobs, n};
	int rc = writer_call(f->w, insert_fn, &c);
	for (size_t i = 0; rc == 0 && i < n; i++)
		ret_ids[i] = jobs[i].id;
	return rc;
}

static void insert_ok(struct fixture *f, const struct spec *sp, size_t n, int64_t *ret_ids)
{
	assert_int_equal(insert_jobs(f, sp, n, ret_ids), 0);
	engine_notify(f->e); /* as the API does after its commit */
}

/* A read the fault seam fails (it counts every thread's store calls) is simply made again. */
static struct job get(struct fixture *f, int64_t id)
{
	struct job j;
	int rc;
	while ((rc = store_job_get(f->reader, id, &j)) == AE_STORE)
		;
	assert_int_equal(rc, 0);
	return j;
}

/* Wait until job id is in state (and status, unless -1); returns it (job_done it). */
static struct job wait_job(struct fixture *f, int64_t id, int state, int status)
{
	int64_t end = mono_ms() + WAIT_MS;
	struct job j;
	for (;;) {
		j = get(f, id);
		if (j.state == state && (status < 0 || j.status == status))
			return j;
		if (mono_ms() > end)
			break;
		job_done(&j);
		usleep(2000);
	}
	fail_msg("job %lld is %d/%d, not %d/%d, after %d ms", (long long)id, j.state, j.status,
		 state, status, WAIT_MS);
	return j;
}

static void wait_succeeded(struct fixture *f, const int64_t *ids, size_t n, struct job *ret)
{
	for (size_t i = 0; i < n; i++) {
		struct job j = wait_job(f, ids[i], JOB_COMPLETED, -1);
		if (j.status != JOB_ST_SUCCEEDED)
			fail_msg("job %lld ended %d: %s", (long long)ids[i], j.status,
				 j.message ? j.message : "");
		if (ret)
			ret[i] = j;
		else
			job_done(&j);
	}
}

/* Two more dispatcher passes: the second began after this call, so whatever the engine would do
 * with the store as it is now, it has done. */
static void wait_passes(struct fixture *f)
{
	struct engine_stats st;
	engine_stats(f->e, &st);
	unsigned long long want = st.passes + 2;
	int64_t end = mono_ms() + WAIT_MS;
	engine_notify(f->e);
	do {
		engine_stats(f->e, &st);
		if (st.passes >= want)
			return;
		usleep(1000);
		engine_notify(f->e);
	} while (mono_ms() < end);
	fail_msg("the dispatcher made no two passes in %d ms", WAIT_MS);
}

static void mark(struct fixture *f, int64_t id, int status)
{
	struct update_call c = {id, status};
	assert_int_equal(writer_call(f->w, mark_fn, &c), 0);
}

/* Cancel a running (or held) job as the API does: mark it, then interrupt its run. */
static void cancel_running(struct fixture *f, int64_t id)
{
	mark(f, id, JOB_ST_CANCELING);
	engine_interrupt(f->e, &id, 1);
}

static void start(struct fixture *f)
{
	assert_int_equal(engine_start(f->e), 0);
}

/* ---- claiming ---- */

/* One job at a time: they run by priority (0 first), then in sequence (id) order. */
static void test_claim_order_priority_then_sequence(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {
	    {"sleep", "{\"ms\":3}", 7, NULL, 0}, {"sleep", "{\"ms\":3}", 2, NULL, 0},
	    {"sleep", "{\"ms\":3}", 7, NULL, 0}, {"sleep", "{\"ms\":3}", 0, NULL, 0},
	    {"sleep", "{\"ms\":3}", 2, NULL, 0}, {"sleep", "{\"ms\":3}", 9, NULL, 0},
	};
	const int order[] = {3, 1, 4, 0, 2, 5};
	int64_t ids[6];
	struct job done[6];
	set("async.max_concurrent_jobs", "1");
	insert_ok(f, sp, 6, ids);
	start(f);
	wait_succeeded(f, ids, 6, done);
	for (int k = 1; k < 6; k++) {
		const struct job *a = &done[order[k - 1]], *b = &done[order[k]];
		if (b->started_on < a->completed_on)
			fail_msg(
			    "job %lld (priority %d) started at %lld, before job %lld (priority "
			    "%d) ended at %lld",
			    (long long)b->id, b->priority, (long long)b->started_on,
			    (long long)a->id, a->priority, (long long)a->completed_on);
		assert_true(b->started_on > a->started_on);
	}
	for (int i = 0; i < 6; i++)
		job_done(&done[i]);
}

/* The claim itself: a window of one claims the best job only, whatever the pool does. */
static void test_claim_window_of_one(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"sleep", LONG_SLEEP, 1, NULL, 0},
	    {"sleep", LONG_SLEEP, 1, NULL, 0},
	};
	int64_t ids[3];
	set("async.items_in_memory_low", "1");
	set("async.items_in_memory_high", "1");
	insert_ok(f, sp, 3, ids);
	start(f);
	struct job j = wait_job(f, ids[1], JOB_LOCKED, JOB_ST_IN_PROGRESS);
	job_done(&j);
	wait_stats(f, 0, 1);
	wait_passes(f);
	j = get(f, ids[0]);
	assert_int_equal(j.state, JOB_READY);
	job_done(&j);
	j = get(f, ids[2]);
	assert_int_equal(j.state, JOB_READY);
	job_done(&j);
	cancel_running(f, ids[1]);
	j = wait_job(f, ids[1], JOB_COMPLETED, JOB_ST_CANCELED);
	job_done(&j);
	j = wait_job(f, ids[2], JOB_LOCKED, JOB_ST_IN_PROGRESS); /* next by priority, then id */
	job_done(&j);
	j = get(f, ids[0]);
	assert_int_equal(j.state, JOB_READY);
	job_done(&j);
	cancel_running(f, ids[2]);
	j = wait_job(f, ids[0], JOB_LOCKED, JOB_ST_IN_PROGRESS);
	job_done(&j);
	cancel_running(f, ids[0]);
	j = wait_job(f, ids[0], JOB_COMPLETED, JOB_ST_CANCELED);
	job_done(&j);
}

/* Five jobs of one dependency token with four pool threads: one at a time, in sequence order,
 * even when a later one has a better priority; a job of another token runs beside them. */
static void test_dependency_token_one_at_a_time(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {
	    {"sleep", "{\"ms\":20}", 5, "tok", 0}, {"sleep", "{\"ms\":20}", 5, "tok", 0},
	    {"sleep", "{\"ms\":20}", 0, "tok", 0}, {"sleep", "{\"ms\":20}", 9, "tok", 0},
	    {"sleep", "{\"ms\":20}", 5, "tok", 0}, {"sleep", LONG_SLEEP, 5, "other", 0},
	};
	int64_t ids[6];
	struct job done[5];
	set("async.max_concurrent_jobs", "4");
	insert_ok(f, sp, 6, ids);
	start(f);
	wait_succeeded(f, ids, 5, done);
	for (int k = 1; k < 5; k++) {
		if (done[k].started_on < done[k - 1].completed_on)
			fail_msg("job %lld started at %lld, before job %lld of its token ended at "
				 "%lld",
				 (long long)done[k].id, (long long)done[k].started_on,
				 (long long)done[k - 1].id, (long long)done[k - 1].completed_on);
	}
	for (int i = 0; i < 5; i++)
		job_done(&done[i]);
	wait_stats(f, 0, 1); /* the other token's job runs all along */
	cancel_running(f, ids[5]);
	struct job other = wait_job(f, ids[5], JOB_COMPLETED, JOB_ST_CANCELED);
	job_done(&other);
}

/* ---- throttling ---- */

/* samples.sleep=1: one runs, the other two are held (claimed, Locked, not started) while a job of
 * another type runs beside it; raising the cap lets a held one start. */
static void test_throttle_caps_a_type(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"noop", NULL, 5, NULL, 0},
	};
	int64_t ids[4];
	set("async.max_concurrent_jobs", "4");
	set("async.throttling", "\"samples.sleep=1\"");
	insert_ok(f, sp, 4, ids);
	start(f);
	/* the noop, claimed after the sleeps, ran: the pool passed over the held ones */
	wait_succeeded(f, &ids[3], 1, NULL);
	wait_stats(f, 2, 1);
	struct job j;
	for (int i = 0; i < 3; i++) {
		j = get(f, ids[i]);
		assert_int_equal(j.state, JOB_LOCKED); /* held in memory */
		assert_int_equal(j.attempt, 1);
		job_done(&j);
	}
	set("async.throttling", "\"samples.sleep=2\""); /* followed while the engine runs */
	wait_stats(f, 1, 2);
	set("async.throttling", "\"\"");
	wait_stats(f, 0, 3);
	for (int i = 0; i < 3; i++)
		cancel_running(f, ids[i]);
	for (int i = 0; i < 3; i++) {
		j = wait_job(f, ids[i], JOB_COMPLETED, JOB_ST_CANCELED);
		job_done(&j);
	}
}

/* ---- postponed jobs ---- */

/* A job postponed after the engine learnt that nothing is due is promoted when engine_due() names
 * its time, and not before that time. */
static void test_postponed_job_promoted_when_due(void **state)
{
	struct fixture *f = *state;
	int64_t id;
	set("async.select_interval", "3600"); /* no fallback poll: only engine_due wakes it */
	start(f);
	wait_passes(f);
	int64_t at = clock_now_ms() + 300;
	struct spec sp = {"noop", NULL, 5, NULL, at};
	insert_ok(f, &sp, 1, &id);
	engine_due(f->e, at);
	struct job j = wait_job(f, id, JOB_COMPLETED, JOB_ST_SUCCEEDED);
	assert_true(j.started_on >= at);
	assert_int_equal(j.retry_count, 0);
	job_done(&j);
}

/* A transient failure postpones the job by the plug-in's delay; the engine learns the time from
 * the outcome itself and runs it again then. */
static void test_retry_after_transient_failure(void **state)
{
	struct fixture *f = *state;
	int64_t id;
	struct spec sp = {"flaky", "{\"fail_times\":2,\"delay_ms\":50}", 5, NULL, 0};
	set("async.select_interval", "3600");
	insert_ok(f, &sp, 1, &id);
	start(f);
	struct job j = wait_job(f, id, JOB_COMPLETED, JOB_ST_SUCCEEDED);
	assert_int_equal(j.retry_count, 2);
	assert_int_equal(j.attempt, 3);
	job_done(&j);
}

/* ---- stop, pause, continue ---- */

struct stopper {
	struct fixture *f;
	int64_t timeout_ms;
	int rc;
	int done;
};

static void *stop_main(void *p)
{
	struct stopper *s = p;
	s->rc = engine_stop(s->f->e, s->timeout_ms);
	__atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *pause_main(void *p)
{
	struct stopper *s = p;
	s->rc = engine_pause(s->f->e);
	__atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void wait_ready_unstarted(struct fixture *f, int64_t id)
{
	struct job j = wait_job(f, id, JOB_READY, -1);
	assert_int_equal(j.retry_count, 0);
	assert_int_equal(j.attempt, 1); /* claimed once, given back */
	assert_int_equal(j.started_on, 0);
	job_done(&j);
}

/* A stop gives the held jobs back to Ready at once (retry_count unchanged, never started), while
 * the running one still has its time; that one, canceled, ends Canceled and the stop returns
 * with nothing interrupted. */
static void test_stop_returns_held_jobs(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	};
	int64_t ids[3];
	pthread_t t;
	set("async.throttling", "\"samples.sleep=1\"");
	insert_ok(f, sp, 3, ids);
	start(f);
	wait_stats(f, 2, 1);
	struct stopper s = {f, 60000, -1, 0};
	assert_int_equal(pthread_create(&t, NULL, stop_main, &s), 0);
	wait_ready_unstarted(f, ids[1]);
	wait_ready_unstarted(f, ids[2]);
	wait_stats(f, 0, 1);
	assert_false(__atomic_load_n(&s.done, __ATOMIC_SEQ_CST)); /* the run still has its time */
	cancel_running(f, ids[0]);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, 0); /* nothing interrupted by the stop */
	struct job j = get(f, ids[0]);
	assert_int_equal(j.state, JOB_COMPLETED);
	assert_int_equal(j.status, JOB_ST_CANCELED);
	job_done(&j);
	/* started again, the engine takes them */
	set("async.throttling", "\"\"");
	start(f);
	wait_stats(f, 0, 2);
	for (int i = 1; i < 3; i++) {
		j = wait_job(f, ids[i], JOB_LOCKED, JOB_ST_IN_PROGRESS);
		assert_int_equal(j.attempt, 2);
		assert_int_equal(j.retry_count, 0);
		job_done(&j);
		cancel_running(f, ids[i]);
	}
}

/* A stop whose time runs out asks the running job to stop and gives it back to Ready without
 * spending a retry; its late outcome is fenced out. */
static void test_stop_timeout_returns_running_job(void **state)
{
	struct fixture *f = *state;
	int64_t id;
	struct spec sp = {"sleep", LONG_SLEEP, 5, NULL, 0};
	insert_ok(f, &sp, 1, &id);
	start(f);
	wait_stats(f, 0, 1);
	assert_int_equal(engine_stop(f->e, 0), 1);
	wait_stats(f, 0, 0); /* the plug-in saw should_stop() */
	struct job j = get(f, id);
	assert_int_equal(j.state, JOB_READY);
	assert_int_equal(j.retry_count, 0);
	assert_int_equal(j.attempt, 1);
	job_done(&j);
	/* the pool thread that ran it leaves on its own; a new start claims the job again */
	start(f);
	j = wait_job(f, id, JOB_LOCKED, JOB_ST_IN_PROGRESS);
	assert_int_equal(j.attempt, 2);
	assert_int_equal(j.retry_count, 0);
	job_done(&j);
	cancel_running(f, id);
	j = wait_job(f, id, JOB_COMPLETED, JOB_ST_CANCELED);
	job_done(&j);
}

/* A pause gives the held jobs back and waits for the running one; while paused nothing is
 * claimed (checked after whole dispatcher passes); continue runs what waited. */
static void test_pause_and_continue(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"sleep", "{\"ms\":1}", 5, NULL, 0},
	    {"sleep", "{\"ms\":1}", 5, NULL, 0},
	};
	struct spec later = {"noop", NULL, 5, NULL, 0};
	int64_t ids[3], late;
	pthread_t t;
	set("async.throttling", "\"samples.sleep=1\"");
	insert_ok(f, sp, 3, ids);
	start(f);
	wait_stats(f, 2, 1);
	struct stopper s = {f, 0, -1, 0};
	assert_int_equal(pthread_create(&t, NULL, pause_main, &s), 0);
	wait_ready_unstarted(f, ids[1]);
	wait_ready_unstarted(f, ids[2]);
	assert_false(__atomic_load_n(&s.done, __ATOMIC_SEQ_CST)); /* it waits for the run */
	mark(f, ids[0], JOB_ST_PAUSING);
	engine_interrupt(f->e, &ids[0], 1);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, 0);
	struct job j = get(f, ids[0]);
	assert_int_equal(j.state, JOB_SUSPENDED);
	job_done(&j);
	struct engine_stats before, after;
	engine_stats(f->e, &before);
	insert_ok(f, &later, 1, &late);
	wait_passes(f);
	engine_stats(f->e, &after);
	assert_int_equal(after.claimed, before.claimed);
	j = get(f, late);
	assert_int_equal(j.state, JOB_READY);
	job_done(&j);
	assert_int_equal(engine_continue(f->e), 0);
	wait_succeeded(f, &late, 1, NULL);
	wait_succeeded(f, &ids[1], 2, NULL);
}

/* ---- interrupting ---- */

/* Interrupting held jobs takes them out before they start (they end as their action marked
 * them, never started), even though the interrupted running job frees its type's only slot. */
static void test_interrupt_held_and_running(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {
	    {"sleep", LONG_SLEEP, 5, NULL, 0},
	    {"sleep", "{\"ms\":1}", 5, NULL, 0},
	    {"sleep", "{\"ms\":1}", 5, NULL, 0},
	};
	int64_t ids[3];
	set("async.throttling", "\"samples.sleep=1\"");
	set("async.max_concurrent_jobs", "4");
	insert_ok(f, sp, 3, ids);
	start(f);
	wait_stats(f, 2, 1);
	mark(f, ids[1], JOB_ST_CANCELING);
	mark(f, ids[2], JOB_ST_PAUSING);
	mark(f, ids[0], JOB_ST_CANCELING);
	engine_interrupt(f->e, ids, 3); /* all three in one call */
	struct job j = wait_job(f, ids[0], JOB_COMPLETED, JOB_ST_CANCELED);
	assert_true(j.started_on > 0);
	job_done(&j);
	j = wait_job(f, ids[1], JOB_COMPLETED, JOB_ST_CANCELED);
	assert_int_equal(j.started_on, 0);
	job_done(&j);
	j = wait_job(f, ids[2], JOB_SUSPENDED, -1);
	assert_int_equal(j.started_on, 0);
	assert_int_equal(j.retry_count, 0);
	job_done(&j);
	wait_stats(f, 0, 0);
}

/* ---- the fault seam ---- */

/* Every store call in turn fails once while the engine runs (claims, promotions, inserts,
 * outcomes, commits): every job whose insert was acknowledged still ends Succeeded, exactly once
 * recorded, and an insert that failed stored nothing. */
static void test_faults_lose_nothing_acknowledged(void **state)
{
	struct fixture *f = *state;
	struct spec sp[] = {{"noop", NULL, 5, NULL, 0},
			    {"sleep", "{\"ms\":2}", 3, NULL, 0},
			    {"echo", "{\"x\":1}", 5, "t", 0},
			    {"noop", NULL, 5, "t", 0}};
	int64_t acked[256];
	size_t n_acked = 0;
	int refused = 0;
	set("async.select_interval", "0.05"); /* a failed claim is tried again at the next poll */
	start(f);
	for (int nth = 1; nth <= 24; nth++) {
		int64_t ids[4];
		store_fault_inject(nth);
		int rc = insert_jobs(f, sp, 4, ids);
		engine_notify(f->e);
		if (rc < 0) {
			assert_int_equal(rc, AE_STORE);
			refused++;
			assert_int_equal(insert_jobs(f, sp, 4, ids), 0);
			engine_notify(f->e);
		}
		memcpy(&acked[n_acked], ids, sizeof(ids));
		n_acked += 4;
		wait_succeeded(f, &acked[n_acked - 4], 4, NULL);
	}
	store_fault_inject(0);
	assert_true(refused > 0); /* the seam did reach the inserts */
	int64_t by_status[33] = {0}, total = 0;
	assert_int_equal(store_jobs_stats(f->reader, by_status, &total), 0);
	assert_int_equal(total, (int64_t)n_acked); /* refused inserts stored nothing */
	assert_int_equal(by_status[JOB_ST_SUCCEEDED], (int64_t)n_acked);
	wait_succeeded(f, acked, n_acked, NULL);
}

/* Wait until the engine has recorded n outcomes since its start, without a store call (the
 * fault seam counts every thread's calls). */
static void wait_processed(struct fixture *f, unsigned long long n)
{
	struct engine_stats st;
	int64_t end = mono_ms() + WAIT_MS;
	do {
		engine_stats(f->e, &st);
		if (st.processed >= n)
			return;
		usleep(2000);
	} while (mono_ms() < end);
	fail_msg("the engine recorded %llu outcomes, not %llu, in %d ms", st.processed, n, WAIT_MS);
}

/* A claim that fails is tried again soon, not at the next fallback poll (an hour here). The
 * jobs wait while the engine is paused (its passes claim nothing); with nothing else calling the
 * store, the first store call after the continue is the claim's, and it fails. The jobs still
 * run, claimed once (the failed claim was undone). */
static void test_failed_claim_is_retried(void **state)
{
	struct fixture *f = *state;
	int64_t ids[2];
	struct spec sp[] = {{"noop", NULL, 5, NULL, 0}, {"noop", NULL, 5, NULL, 0}};
	set("async.select_interval", "3600");
	start(f);
	wait_passes(f); /* the promotion at start is done */
	assert_int_equal(engine_pause(f->e), 0);
	assert_int_equal(insert_jobs(f, sp, 2, ids), 0);
	wait_passes(f); /* paused: no store call */
	store_fault_inject(1);
	assert_int_equal(engine_continue(f->e), 0);
	wait_processed(f, 2);
	for (int i = 0; i < 2; i++) {
		struct job j = get(f, ids[i]);
		assert_int_equal(j.status, JOB_ST_SUCCEEDED);
		assert_int_equal(j.attempt, 1);
		job_done(&j);
	}
}

int main(void)
{
	if (testdb_skip_without_server())
		return 0;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_claim_order_priority_then_sequence, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_claim_window_of_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dependency_token_one_at_a_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_throttle_caps_a_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_postponed_job_promoted_when_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_transient_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_returns_held_jobs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_timeout_returns_running_job, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_and_continue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interrupt_held_and_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_faults_lose_nothing_acknowledged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_claim_is_retried, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
