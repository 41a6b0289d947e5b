/* Unit tests of settings: defaults, validation messages, durations in seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/settings.h"
#include "common/throttle.h"

static void defaults(void **state)
{
	(void)state;
	struct settings s;
	settings_init();
	settings_current(&s);
	assert_int_equal(s.max_retries, 10);
	assert_int_equal(s.time_between_retries_ms, 30000);
	assert_int_equal(s.items_in_memory_low, 1000);
	assert_int_equal(s.items_in_memory_high, 2000);
	assert_int_equal(s.stop_timeout_ms, 30000);
	assert_true(s.max_concurrent_jobs > 0);
	assert_true(s.synchronous_full);
}

static void apply_and_refuse(void **state)
{
	(void)state;
	char err[256];
	struct settings s;
	settings_init();
	assert_int_equal(settings_apply("async.time_between_retries", "0.05", err, sizeof(err)), 0);
	settings_current(&s);
	assert_int_equal(s.time_between_retries_ms, 50);
	assert_int_equal(settings_apply("async.max_retries", "1.5", err, sizeof(err)), AE_INVAL);
	assert_non_null(strstr(err, "whole number"));
	assert_int_equal(settings_apply("async.max_retries", "-1", err, sizeof(err)), AE_INVAL);
	assert_non_null(strstr(err, "between"));
	assert_int_equal(settings_apply("no.such", "1", err, sizeof(err)), AE_NOTFOUND);
	assert_int_equal(settings_apply("store.synchronous", "\"fast\"", err, sizeof(err)),
			 AE_INVAL);
	assert_int_equal(settings_apply("store.synchronous", "\"normal\"", err, sizeof(err)), 0);
	settings_current(&s);
	assert_false(s.synchronous_full);
	char *all = settings_to_json();
	assert_non_null(strstr(all, "0.05"));
	free(all);
}

static void throttling_spec(void **state)
{
	(void)state;
	char err[256];
	struct throttle_table t;
	assert_int_equal(throttle_parse(" samples.sleep=2; Notify=3 ;", &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(throttle_find(&t, "samples.sleep"), 0);
	assert_int_equal(throttle_find(&t, "crm.Notify"), 1);
	assert_int_equal(throttle_find(&t, "samples.noop"), -1);
	assert_int_equal(t.t[1].cap, 3);
	assert_int_equal(throttle_parse("", &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(throttle_parse("x=0", &t, err, sizeof(err)), AE_INVAL);
	assert_int_equal(throttle_parse("x", &t, err, sizeof(err)), AE_INVAL);
	assert_non_null(strstr(err, "NAME=N"));
	assert_int_equal(settings_check("async.throttling", "\"a=b\"", err, sizeof(err)), AE_INVAL);
}

/* Check changes (JSON text) together with the current settings. */
static int together(const char *changes, char *err, size_t errlen)
{
	json_t *c = json_loads(changes, 0, NULL);
	assert_non_null(c);
	int rc = settings_check_together(c, err, errlen);
	json_decref(c);
	return rc;
}

static void sandbox_settings(void **state)
{
	char err[256];
	struct settings s;
	(void)state;
	settings_init();
	settings_current(&s);
	assert_string_equal(s.sandbox_network, "allow");
	assert_false(s.sandbox_allow_privileged);
	assert_int_equal(settings_check("sandbox.network", "\"deny\"", err, sizeof(err)), 0);
	assert_int_equal(settings_check("sandbox.network", "\"off\"", err, sizeof(err)), AE_INVAL);
	assert_int_equal(settings_check("sandbox.allow_privileged", "1", err, sizeof(err)),
			 AE_INVAL);
	assert_int_equal(together("{\"sandbox.user\": \"root\"}", err, sizeof(err)), AE_INVAL);
	assert_non_null(strstr(err, "uid 0"));
	assert_int_equal(together("{\"sandbox.user\": \"\"}", err, sizeof(err)), AE_INVAL);
	assert_int_equal(together("{\"sandbox.user\": \"no-such-user-14\"}", err, sizeof(err)),
			 AE_INVAL);
	assert_int_equal(
	    together("{\"sandbox.user\": \"root\", \"sandbox.allow_privileged\": true}", err,
		     sizeof(err)),
	    0);
	assert_int_equal(together("{\"sandbox.workers\": 2}", err, sizeof(err)), 0);
	assert_int_equal(settings_apply("sandbox.user", "\"root\"", err, sizeof(err)), 0);
	assert_int_equal(together("{\"sandbox.allow_privileged\": false}", err, sizeof(err)),
			 AE_INVAL);
	settings_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(apply_and_refuse),
	    cmocka_unit_test(throttling_spec),
	    cmocka_unit_test(sandbox_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
