/* Unit tests of the service state machine (src/host/service.c): every action from every status,
 * refusals and their messages, startup types, a failing start (with and without recovery), a
 * failing stop, pause or continue, a stop overtaking a pending pause, and the JSON. The service is
 * given ops whose every call can be held on a gate and made to fail: they stand for what starting
 * or stopping means (the engine, the sandbox...), which is not this module's business; the
 * module's own threads, locks and statuses are the real ones. */
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

#include "common/clock.h"
#include "common/error.h"
#include "host/service.h"

#define WAIT_MS 20000

enum op { OP_START, OP_STOP, OP_PAUSE, OP_RESUME, N_OPS };

struct ctl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool hold[N_OPS];   /* the op waits until released */
	int rc[N_OPS];	    /* what it returns */
	int calls[N_OPS];   /* how many times it was entered */
	int fails[N_OPS];   /* its next calls that return AE_IO whatever rc says */
	bool paused_wakeup; /* a stop releases a held pause (as engine_stop wakes engine_pause) */
	struct service s;
};

static int op(struct ctl *c, enum op o)
{
	pthread_mutex_lock(&c->lock);
	c->calls[o]++;
	pthread_cond_broadcast(&c->cond);
	while (c->hold[o])
		pthread_cond_wait(&c->cond, &c->lock);
	int rc = c->fails[o] > 0 ? (c->fails[o]--, AE_IO) : c->rc[o];
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int t_start(void *ctx)
{
	return op(ctx, OP_START);
}

static int t_stop(void *ctx)
{
	struct ctl *c = ctx;
	pthread_mutex_lock(&c->lock);
	if (c->paused_wakeup)
		c->hold[OP_PAUSE] = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return op(ctx, OP_STOP);
}

static int t_pause(void *ctx)
{
	return op(ctx, OP_PAUSE);
}

static int t_resume(void *ctx)
{
	return op(ctx, OP_RESUME);
}

static void t_describe(void *ctx, json_t *props)
{
	struct ctl *c = ctx;
	pthread_mutex_lock(&c->lock);
	json_object_set_new(props, "starts", json_integer(c->calls[OP_START]));
	pthread_mutex_unlock(&c->lock);
}

static const struct service_ops ops = {t_start, t_stop, t_pause, t_resume, t_describe};
static const struct service_ops ops_no_pause = {t_start, t_stop, NULL, NULL, NULL};

static struct ctl *ctl_new(const struct service_ops *o)
{
	struct ctl *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	service_init(&c->s, "svc", "Test Service", "a service under test", o, c);
	return c;
}

static int setup(void **state)
{
	*state = ctl_new(&ops);
	return 0;
}

static int teardown(void **state)
{
	struct ctl *c = *state;
	pthread_mutex_lock(&c->lock);
	memset(c->hold, 0, sizeof(c->hold));
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	service_done(&c->s); /* waits for the action threads */
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	return 0;
}

static void hold(struct ctl *c, enum op o, bool on)
{
	pthread_mutex_lock(&c->lock);
	c->hold[o] = on;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void set_rc(struct ctl *c, enum op o, int rc)
{
	pthread_mutex_lock(&c->lock);
	c->rc[o] = rc;
	pthread_mutex_unlock(&c->lock);
}

static int calls(struct ctl *c, enum op o)
{
	pthread_mutex_lock(&c->lock);
	int n = c->calls[o];
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Wait until op o has been entered n times. */
static void wait_calls(struct ctl *c, enum op o, int n)
{
	int64_t end = clock_mono_ms() + WAIT_MS;
	while (calls(c, o) < n && clock_mono_ms() < end)
		usleep(1000);
	if (calls(c, o) < n)
		fail_msg("op %d entered %d times, not %d, in %d ms", o, calls(c, o), n, WAIT_MS);
}

/* Wait until no action runs; then the status must be st. */
static void settle(struct ctl *c, enum svc_status st)
{
	service_wait_idle(&c->s, WAIT_MS);
	pthread_mutex_lock(&c->s.lock);
	int busy = c->s.busy;
	pthread_mutex_unlock(&c->s.lock);
	if (busy)
		fail_msg("an action of %s still runs after %d ms", c->s.name, WAIT_MS);
	if (service_status(&c->s) != st)
		fail_msg("%s is %s, not %s", c->s.name, service_status_name(service_status(&c->s)),
			 service_status_name(st));
}

static int act(struct ctl *c, enum svc_action a, char *err, size_t n)
{
	err[0] = 0;
	return service_act(&c->s, a, err, n);
}

/* Begin action a. When the op it calls first is held, the pending status must show as soon as
 * service_act returns (a caller sees the action begun). */
static void act_ok(struct ctl *c, enum svc_action a, enum svc_status pending)
{
	char err[256];
	static const enum op first[] = {OP_START, OP_STOP, OP_STOP, OP_PAUSE, OP_RESUME};
	pthread_mutex_lock(&c->lock);
	bool held = c->hold[first[a]];
	pthread_mutex_unlock(&c->lock);
	int rc = act(c, a, err, sizeof(err));
	if (rc < 0)
		fail_msg("%s refused: %s", service_action_name(a), err);
	if (held && service_status(&c->s) != pending)
		fail_msg("after %s the service is %s, not %s", service_action_name(a),
			 service_status_name(service_status(&c->s)), service_status_name(pending));
}

static void refused(struct ctl *c, enum svc_action a, int want, const char *text)
{
	char err[256];
	enum svc_status before = service_status(&c->s);
	int rc = act(c, a, err, sizeof(err));
	if (rc != want)
		fail_msg("%s from %s gave %d (%s), not %d", service_action_name(a),
			 service_status_name(before), rc, err, want);
	if (!strstr(err, text))
		fail_msg("%s from %s: \"%s\" does not say \"%s\"", service_action_name(a),
			 service_status_name(before), err, text);
	assert_int_equal(service_status(&c->s), before); /* a refusal changes nothing */
}

static void to_running(struct ctl *c)
{
	act_ok(c, SVC_ACT_START, SVC_START_PENDING);
	settle(c, SVC_RUNNING);
}

static void to_paused(struct ctl *c)
{
	to_running(c);
	act_ok(c, SVC_ACT_PAUSE, SVC_PAUSE_PENDING);
	settle(c, SVC_PAUSED);
}

/* ---- names ---- */

static void test_names_and_parsing(void **state)
{
	(void)state;
	assert_string_equal(service_status_name(SVC_STOPPED), "stopped");
	assert_string_equal(service_status_name(SVC_CONTINUE_PENDING), "continue_pending");
	assert_string_equal(service_status_name((enum svc_status)7), "unknown");
	assert_string_equal(service_startup_name(SVC_DISABLED), "disabled");
	assert_string_equal(service_startup_name((enum svc_startup)3), "unknown");
	assert_string_equal(service_action_name(SVC_ACT_CONTINUE), "continue");
	assert_int_equal(service_startup_parse("Manual"), SVC_MANUAL);
	assert_int_equal(service_startup_parse("sometimes"), -1);
	assert_int_equal(service_startup_parse(NULL), -1);
	assert_int_equal(service_action_parse("RESTART"), SVC_ACT_RESTART);
	assert_int_equal(service_action_parse("kill"), -1);
}

/* ---- every action from every settled status ---- */

struct row {
	enum svc_status from;
	enum svc_action a;
	int rc;		      /* 0: allowed */
	enum svc_status then; /* where it settles when allowed */
	const char *says;     /* in the refusal */
};

static const struct row table[] = {
    {SVC_STOPPED, SVC_ACT_START, 0, SVC_RUNNING, NULL},
    {SVC_STOPPED, SVC_ACT_STOP, AE_CONFLICT, 0, "cannot stop svc: it is stopped"},
    {SVC_STOPPED, SVC_ACT_RESTART, AE_CONFLICT, 0, "cannot restart svc: it is stopped"},
    {SVC_STOPPED, SVC_ACT_PAUSE, AE_CONFLICT, 0, "cannot pause svc: it is stopped"},
    {SVC_STOPPED, SVC_ACT_CONTINUE, AE_CONFLICT, 0, "cannot continue svc: it is stopped"},
    {SVC_RUNNING, SVC_ACT_START, AE_CONFLICT, 0, "cannot start svc: it is running"},
    {SVC_RUNNING, SVC_ACT_STOP, 0, SVC_STOPPED, NULL},
    {SVC_RUNNING, SVC_ACT_RESTART, 0, SVC_RUNNING, NULL},
    {SVC_RUNNING, SVC_ACT_PAUSE, 0, SVC_PAUSED, NULL},
    {SVC_RUNNING, SVC_ACT_CONTINUE, AE_CONFLICT, 0, "cannot continue svc: it is running"},
    {SVC_PAUSED, SVC_ACT_START, AE_CONFLICT, 0, "cannot start svc: it is paused"},
    {SVC_PAUSED, SVC_ACT_STOP, 0, SVC_STOPPED, NULL},
    {SVC_PAUSED, SVC_ACT_RESTART, 0, SVC_RUNNING, NULL},
    {SVC_PAUSED, SVC_ACT_PAUSE, AE_CONFLICT, 0, "cannot pause svc: it is paused"},
    {SVC_PAUSED, SVC_ACT_CONTINUE, 0, SVC_RUNNING, NULL},
};

static void test_every_action_from_every_status(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];
		struct ctl *c = ctl_new(&ops);
		if (r->from == SVC_RUNNING)
			to_running(c);
		else if (r->from == SVC_PAUSED)
			to_paused(c);
		int starts = calls(c, OP_START), stops = calls(c, OP_STOP);
		if (r->rc) {
			refused(c, r->a, r->rc, r->says);
		} else {
			char err[256];
			if (act(c, r->a, err, sizeof(err)) != 0)
				fail_msg("%s from %s refused: %s", service_action_name(r->a),
					 service_status_name(r->from), err);
			settle(c, r->then);
			/* a restart is a stop, then a start */
			if (r->a == SVC_ACT_RESTART) {
				assert_int_equal(calls(c, OP_STOP), stops + 1);
				assert_int_equal(calls(c, OP_START), starts + 1);
			}
		}
		void *p = c;
		teardown(&p);
	}
}

/* ---- pending statuses ---- */

/* While an action runs, its pending status shows and every other action is refused as busy. */
static void test_pending_statuses_refuse_others(void **state)
{
	struct ctl *c = *state;
	static const struct {
		enum op op;
		enum svc_action a;
		enum svc_status pending, then;
	} pend[] = {
	    {OP_START, SVC_ACT_START, SVC_START_PENDING, SVC_RUNNING},
	    {OP_STOP, SVC_ACT_STOP, SVC_STOP_PENDING, SVC_STOPPED},
	    {OP_START, SVC_ACT_START, SVC_START_PENDING, SVC_RUNNING},
	    {OP_PAUSE, SVC_ACT_PAUSE, SVC_PAUSE_PENDING, SVC_PAUSED},
	    {OP_RESUME, SVC_ACT_CONTINUE, SVC_CONTINUE_PENDING, SVC_RUNNING},
	};
	for (size_t i = 0; i < sizeof(pend) / sizeof(pend[0]); i++) {
		int n = calls(c, pend[i].op);
		hold(c, pend[i].op, true);
		act_ok(c, pend[i].a, pend[i].pending);
		wait_calls(c, pend[i].op, n + 1);
		assert_int_equal(service_status(&c->s), pend[i].pending);
		for (int a = SVC_ACT_START; a <= SVC_ACT_CONTINUE; a++) {
			if (a == SVC_ACT_STOP && pend[i].pending == SVC_PAUSE_PENDING)
				continue; /* the one exception: test_stop_overtakes_pending_pause */
			refused(c, (enum svc_action)a, AE_BUSY, "svc is busy");
		}
		hold(c, pend[i].op, false);
		settle(c, pend[i].then);
	}
}

/* A stop may overtake a pause that waits for long runs; the pause, when it returns, does not
 * turn the stopped service into a paused one. */
static void test_stop_overtakes_pending_pause(void **state)
{
	struct ctl *c = *state;
	to_running(c);
	hold(c, OP_PAUSE, true);
	c->paused_wakeup = true;
	act_ok(c, SVC_ACT_PAUSE, SVC_PAUSE_PENDING);
	wait_calls(c, OP_PAUSE, 1);
	hold(c, OP_STOP, true);
	act_ok(c, SVC_ACT_STOP, SVC_STOP_PENDING);
	wait_calls(c, OP_STOP, 1);
	refused(c, SVC_ACT_STOP, AE_BUSY, "busy"); /* only one stop */
	hold(c, OP_STOP, false);
	settle(c, SVC_STOPPED);
	assert_int_equal(calls(c, OP_PAUSE), 1);
	act_ok(c, SVC_ACT_START, SVC_START_PENDING); /* and it starts again normally */
	settle(c, SVC_RUNNING);
}

/* ---- failures ---- */

/* A start that fails leaves the service stopped with the reason, and no recovery is tried when
 * the delay is 0; the next start that works clears the error. */
static void test_failed_start(void **state)
{
	struct ctl *c = *state;
	set_rc(c, OP_START, AE_IO);
	act_ok(c, SVC_ACT_START, SVC_START_PENDING);
	settle(c, SVC_STOPPED);
	assert_int_equal(calls(c, OP_START), 1);
	json_t *o = service_json(&c->s, "h");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "stopped");
	const char *e = json_string_value(json_object_get(o, "last_error"));
	assert_non_null(e);
	assert_non_null(strstr(e, "start failed"));
	json_decref(o);
	set_rc(c, OP_START, 0);
	to_running(c);
	o = service_json(&c->s, "h");
	assert_null(json_object_get(o, "last_error"));
	json_decref(o);
}

/* With a recovery delay, a failing start is tried three times in all, then given up at once:
 * the service does not stay busy (refusing every action) for one more delay after its last try. */
static void test_failed_start_recovery(void **state)
{
	struct ctl *c = *state;
	c->s.recovery_delay_s = 2;
	set_rc(c, OP_START, AE_IO);
	act_ok(c, SVC_ACT_START, SVC_START_PENDING);
	wait_calls(c, OP_START, 3);
	int64_t third = clock_mono_ms();
	settle(c, SVC_STOPPED);
	int64_t idle_after = clock_mono_ms() - third;
	if (idle_after >= 1500) /* microseconds without the bug; 2 s (the delay) with it */
		fail_msg("the service stayed busy %lld ms after its last start",
			 (long long)idle_after);
	assert_int_equal(calls(c, OP_START), 3);
	assert_non_null(strstr(c->s.last_error, "start failed"));
}

/* A start that works on its second try ends running. */
static void test_start_recovers(void **state)
{
	struct ctl *c = *state;
	c->s.recovery_delay_s = 1;
	c->fails[OP_START] = 1; /* the first try fails */
	act_ok(c, SVC_ACT_START, SVC_START_PENDING);
	settle(c, SVC_RUNNING);
	assert_int_equal(calls(c, OP_START), 2);
}

/* A stop that fails still ends stopped (the stop op drains what it can), with the reason; a
 * restart whose stop fails does not start again. */
static void test_failed_stop_and_restart(void **state)
{
	struct ctl *c = *state;
	to_running(c);
	set_rc(c, OP_STOP, AE_TIMEOUT);
	act_ok(c, SVC_ACT_RESTART, SVC_STOP_PENDING);
	settle(c, SVC_STOPPED);
	assert_int_equal(calls(c, OP_START), 1);
	assert_non_null(strstr(c->s.last_error, "stop failed"));
}

/* A pause that fails goes back to running; a continue that fails stays paused; both say why. */
static void test_failed_pause_and_continue(void **state)
{
	struct ctl *c = *state;
	to_running(c);
	set_rc(c, OP_PAUSE, AE_IO);
	act_ok(c, SVC_ACT_PAUSE, SVC_PAUSE_PENDING);
	settle(c, SVC_RUNNING);
	assert_non_null(strstr(c->s.last_error, "pause failed"));
	set_rc(c, OP_PAUSE, 0);
	act_ok(c, SVC_ACT_PAUSE, SVC_PAUSE_PENDING);
	settle(c, SVC_PAUSED);
	set_rc(c, OP_RESUME, AE_IO);
	act_ok(c, SVC_ACT_CONTINUE, SVC_CONTINUE_PENDING);
	settle(c, SVC_PAUSED);
	assert_non_null(strstr(c->s.last_error, "continue failed"));
}

/* ---- startup types and abilities ---- */

/* Disabled: everything but stop is refused with the fix in the message, whatever the status. */
static void test_disabled_refuses_all_but_stop(void **state)
{
	struct ctl *c = *state;
	to_running(c);
	c->s.startup = SVC_DISABLED;
	refused(c, SVC_ACT_START, AE_CONFLICT, "svc is disabled: set its startup type");
	refused(c, SVC_ACT_RESTART, AE_CONFLICT, "disabled");
	refused(c, SVC_ACT_PAUSE, AE_CONFLICT, "disabled");
	act_ok(c, SVC_ACT_STOP, SVC_STOP_PENDING);
	settle(c, SVC_STOPPED);
	refused(c, SVC_ACT_START, AE_CONFLICT, "disabled");
	refused(c, SVC_ACT_CONTINUE, AE_CONFLICT, "disabled");
	c->s.startup = SVC_MANUAL;
	to_running(c);
	json_t *o = service_json(&c->s, "h");
	assert_string_equal(json_string_value(json_object_get(o, "startup_type")), "manual");
	json_decref(o);
}

/* A service without pause says so, and cannot be continued either. */
static void test_service_that_cannot_pause(void **state)
{
	struct ctl *c = ctl_new(&ops_no_pause);
	(void)state;
	to_running(c);
	refused(c, SVC_ACT_PAUSE, AE_CONFLICT, "cannot pause svc: it is running and cannot pause");
	refused(c, SVC_ACT_CONTINUE, AE_CONFLICT, "cannot continue");
	json_t *o = service_json(&c->s, "h");
	assert_false(json_is_true(json_object_get(o, "can_pause")));
	json_decref(o);
	void *p = c;
	teardown(&p);
}

/* service_run waits for the action; the JSON has every field and the ops' own properties. */
static void test_run_and_json(void **state)
{
	struct ctl *c = *state;
	int64_t before = c->s.since;
	assert_int_equal(service_run(&c->s, SVC_ACT_START), 0);
	assert_int_equal(service_status(&c->s), SVC_RUNNING);
	assert_true(c->s.since >= before);
	json_t *o = service_json(&c->s, "host-1");
	assert_string_equal(json_string_value(json_object_get(o, "host")), "host-1");
	assert_string_equal(json_string_value(json_object_get(o, "name")), "svc");
	assert_string_equal(json_string_value(json_object_get(o, "display_name")), "Test Service");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "running");
	assert_string_equal(json_string_value(json_object_get(o, "startup_type")), "automatic");
	assert_non_null(json_string_value(json_object_get(o, "since")));
	assert_true(json_is_true(json_object_get(o, "can_pause")));
	assert_int_equal(json_integer_value(json_object_get(o, "starts")), 1);
	json_decref(o);
	assert_int_equal(service_run(&c->s, SVC_ACT_START), AE_CONFLICT);
	assert_int_equal(service_run(&c->s, SVC_ACT_STOP), 0);
	assert_int_equal(service_status(&c->s), SVC_STOPPED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_and_parsing),
	    cmocka_unit_test(test_every_action_from_every_status),
	    cmocka_unit_test_setup_teardown(test_pending_statuses_refuse_others, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_overtakes_pending_pause, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_start_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_recovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_stop_and_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_pause_and_continue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disabled_refuses_all_but_stop, setup, teardown),
	    cmocka_unit_test(test_service_that_cannot_pause),
	    cmocka_unit_test_setup_teardown(test_run_and_json, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
