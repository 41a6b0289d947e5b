/* Unit tests of the writer (group commit) on a temporary SQLite store: ops queued together share
 * one transaction; an op that breaks its group is answered with its own error while the others
 * commit; a must-succeed op that always fails is given up after its tries instead of blocking
 * every other write; a failed commit (the store's fault seam) keeps must-succeed ops and answers
 * the others. The writer is held by a first op that waits on a gate, so that the ops under test
 * are queued before it takes them and land in one group. */
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

#include "common/error.h"
#include "exec/writer.h"
#include "store/store.h"
#include "testdb.h"

#define WAIT_MS 20000

struct fixture {
	char dir[64];
	char url[256];
	struct writer *w;
	struct store *reader;
};

/* One op of a test: writes an audit entry named name unless fail is set; records its answer. */
struct probe {
	struct writer_op op;
	const char *name;
	int fail; /* the error its fn returns, 0: none */
	int calls;
	int rc;
	int answered;
};

/* The first op: holds the writer until the gate opens. */
struct gate {
	struct writer_op op;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered, open;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int probe_fn(struct store *s, void *arg)
{
	struct probe *p = arg;
	__atomic_add_fetch(&p->calls, 1, __ATOMIC_SEQ_CST);
	if (p->fail)
		return p->fail;
	struct audit_entry e = {
	    .at = 1, .user = "test", .action = (char *)p->name, .target = "t", .result = "ok"};
	return store_audit_insert(s, &e);
}

static void probe_done(void *arg, int rc)
{
	struct probe *p = arg;
	p->rc = rc;
	__atomic_store_n(&p->answered, 1, __ATOMIC_SEQ_CST);
}

static void probe_init(struct probe *p, const char *name, int fail, bool isolated, bool must)
{
	*p = (struct probe){.name = name, .fail = fail};
	p->op = (struct writer_op){.fn = probe_fn,
				   .arg = p,
				   .done = probe_done,
				   .isolated = isolated,
				   .must_succeed = must};
}

static int gate_fn(struct store *s, void *arg)
{
	struct gate *g = arg;
	(void)s;
	pthread_mutex_lock(&g->lock);
	g->entered = 1;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* Queue a gate and wait until the writer is inside it. */
static void gate_close(struct fixture *f, struct gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->op = (struct writer_op){.fn = gate_fn, .arg = g};
	assert_int_equal(writer_post(f->w, &g->op), 0);
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void wait_answered(struct probe *p)
{
	int64_t end = now_ms() + WAIT_MS;
	while (!__atomic_load_n(&p->answered, __ATOMIC_SEQ_CST) && now_ms() < end)
		usleep(1000);
	if (!p->answered)
		fail_msg("op %s was not answered within %d ms (%d calls)", p->name, WAIT_MS,
			 p->calls);
}

/* Whether an audit entry with action name was committed. */
static bool stored(struct fixture *f, const char *name)
{
	struct audit_entry *e = NULL;
	size_t n = 0;
	bool found = false;
	assert_int_equal(store_audit_list(f->reader, 0, 1000, &e, &n), 0);
	for (size_t i = 0; i < n; i++)
		found |= e[i].action && !strcmp(e[i].action, name);
	audit_array_free(e, n);
	return found;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store *s;
	snprintf(f->dir, sizeof(f->dir), "/tmp/asyncd-writer-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/t.db", f->dir);
	if (testdb_new(path, f->url, sizeof(f->url)) < 0)
		return -1;
	if (store_open(f->url, &s) < 0 || store_migrate(s) < 0)
		return -1;
	store_close(s);
	if (writer_start(f->url, &f->w) < 0 || store_open(f->url, &f->reader) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	store_fault_inject(0);
	writer_stop(f->w);
	store_close(f->reader);
	testdb_drop(f->url);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A non-isolated op that fails takes only itself down: the innocent ops of its group, before and
 * after it, commit and are answered 0. */
static void test_failing_op_does_not_fail_its_group(void **state)
{
	struct fixture *f = *state;
	struct gate g;
	struct probe a, bad, b, iso_bad;
	probe_init(&a, "a", 0, false, false);
	probe_init(&bad, "bad", AE_INVAL, false, false);
	probe_init(&iso_bad, "iso_bad", AE_CONFLICT, true, false);
	probe_init(&b, "b", 0, true, false);
	gate_close(f, &g);
	writer_post(f->w, &a.op);
	writer_post(f->w, &bad.op);
	writer_post(f->w, &iso_bad.op);
	writer_post(f->w, &b.op);
	gate_open(&g);
	wait_answered(&a);
	wait_answered(&bad);
	wait_answered(&iso_bad);
	wait_answered(&b);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_int_equal(bad.rc, AE_INVAL);
	assert_int_equal(iso_bad.rc, AE_CONFLICT);
	assert_true(stored(f, "a"));
	assert_true(stored(f, "b"));
}

/* A must-succeed op that fails every time is answered with its error after its tries; the ops
 * queued with it and after it commit. */
static void test_must_succeed_failing_for_ever_is_given_up(void **state)
{
	struct fixture *f = *state;
	struct gate g;
	struct probe doomed, a, later;
	probe_init(&doomed, "doomed", AE_STORE, false, true);
	probe_init(&a, "a", 0, false, false);
	probe_init(&later, "later", 0, false, false);
	gate_close(f, &g);
	writer_post(f->w, &doomed.op);
	writer_post(f->w, &a.op);
	gate_open(&g);
	wait_answered(&a);
	assert_int_equal(a.rc, 0);
	writer_post(f->w, &later.op);
	wait_answered(&later);
	assert_int_equal(later.rc, 0);
	wait_answered(&doomed);
	assert_int_equal(doomed.rc, AE_STORE);
	assert_true(doomed.calls >= 2);
	assert_true(stored(f, "a"));
	assert_true(stored(f, "later"));
}

/* A failed commit (the fault seam fails the commit of the group) answers the ops that may fail
 * with the error and keeps the must-succeed one, which commits on the next try. */
static void test_failed_commit_keeps_must_succeed_ops(void **state)
{
	struct fixture *f = *state;
	struct gate g;
	struct probe plain, must;
	probe_init(&plain, "plain", 0, false, false);
	probe_init(&must, "must", 0, false, true);
	gate_close(f, &g);
	writer_post(f->w, &plain.op);
	writer_post(f->w, &must.op);
	/* store_* calls from now: the gate's commit (1), then the next group's begin (2), the two
	 * inserts (3, 4) and its commit (5) */
	store_fault_inject(5);
	gate_open(&g);
	wait_answered(&plain);
	wait_answered(&must);
	store_fault_inject(0);
	assert_int_equal(plain.rc, AE_STORE);
	assert_int_equal(must.rc, 0);
	assert_false(stored(f, "plain"));
	assert_true(stored(f, "must"));
}

/* The connection lost between an op's statement and its RELEASE SAVEPOINT (the fault seam
 * fails the release with AE_UNAVAILABLE, as PostgreSQL's restart did in test-peers): the op is
 * answered store_unavailable like the rest of its group, not blamed with store_error. */
static void test_lost_connection_at_release_is_the_groups(void **state)
{
	struct fixture *f = *state;
	struct gate g;
	struct probe plain;
	probe_init(&plain, "plain", 0, true, false);
	gate_close(f, &g);
	writer_post(f->w, &plain.op);
	/* the gate's commit (1), then the next group's begin (2), savepoint (3), insert (4),
	 * release (5) */
	store_fault_inject_rc(5, AE_UNAVAILABLE);
	gate_open(&g);
	wait_answered(&plain);
	store_fault_inject(0);
	assert_int_equal(plain.rc, AE_UNAVAILABLE);
	assert_false(stored(f, "plain"));
}

/* CPU seconds of this whole process so far. */
static double process_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* While the store is known unreachable the writer pauses between tries (waiting on its condition
 * variable) instead of spinning: its waits once had monotonic deadlines on a realtime condition
 * variable, each ended at once, and a host whose database was away used a whole core. The kept
 * outcome lands once the store is back. */
static void test_pause_does_not_spin(void **state)
{
	struct fixture *f = *state;
	struct probe must;
	probe_init(&must, "must", 0, false, true);
	store_note_reachable(false); /* as the PostgreSQL backend says when it loses the server */
	store_fault_inject_rc(-1, AE_UNAVAILABLE); /* and every try fails until it is back */
	writer_post(f->w, &must.op);
	struct timespec pause = {0, 50 * 1000000L};
	nanosleep(&pause, NULL); /* the first failed try, then the writer's pause */
	double cpu0 = process_cpu_s();
	struct timespec span = {0, 500 * 1000000L};
	nanosleep(&span, NULL);
	double used = process_cpu_s() - cpu0;
	fprintf(stderr, "# %.3f s of CPU in 0.5 s while the store was away\n", used);
	assert_false(__atomic_load_n(&must.answered, __ATOMIC_SEQ_CST));
	store_fault_inject(0);
	store_note_reachable(true);
	wait_answered(&must);
	assert_int_equal(must.rc, 0);
	assert_true(stored(f, "must"));
	assert_true(used < 0.25);
}

int main(void)
{
	if (testdb_skip_without_server())
		return 0;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_failing_op_does_not_fail_its_group, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_must_succeed_failing_for_ever_is_given_up, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_failed_commit_keeps_must_succeed_ops, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lost_connection_at_release_is_the_groups, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pause_does_not_spin, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
