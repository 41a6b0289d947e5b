/* Unit tests of the request body parsers (src/api/body.c, common/jfields.c): unknown members, JSON
 * types, required members, ranges, NDJSON line numbers and the settings pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/body.h"
#include "common/error.h"
#include "common/settings.h"

/* body_parse of text as kind must fail with rc and a message containing want. */
static void refused(enum body_kind kind, const char *text, int rc, const char *want)
{
	char err[1024] = "";
	json_t *v = NULL;
	assert_int_equal(body_parse(kind, text, strlen(text), &v, err, sizeof(err)), rc);
	assert_null(v);
	if (!strstr(err, want))
		fail_msg("'%s': the message '%s' does not say '%s'", text, err, want);
}

static void accepted(enum body_kind kind, const char *text)
{
	char err[1024] = "";
	json_t *v = NULL;
	if (body_parse(kind, text, strlen(text), &v, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
	json_decref(v);
}

static void unknown_and_types(void **state)
{
	(void)state;
	refused(BODY_JOB, "{\"plugin_type\":\"a.b\",\"priorty\":1}", AE_INVAL,
		"unknown field 'priorty'");
	refused(BODY_JOB, "{\"plugin_type\":\"a.b\",\"priority\":\"1\"}", AE_INVAL,
		"priority must be an integer");
	refused(BODY_JOB, "{\"plugin_type\":\"a.b\",\"priority\":11}", AE_INVAL, "0 to 10");
	refused(BODY_JOB, "{\"data\":1}", AE_INVAL, "plugin_type is required");
	refused(BODY_STEP, "{\"plugin_type\":\"a.b\",\"message\":\"Create\",\"configuration\":5}",
		AE_INVAL, "configuration must be a string or an object or an array");
	refused(BODY_STEP_PATCH, "{\"enabled\":1}", AE_INVAL, "enabled must be true or false");
	refused(BODY_JOB_ACTION, "{\"x\":1}", AE_INVAL, "unknown field 'x'");
	refused(BODY_EVENT, "[1]", AE_INVAL, "JSON object");
	accepted(BODY_JOB, "{\"plugin_type\":\"a.b\",\"priority\":null,\"data\":[1]}");
	accepted(BODY_STEP,
		 "{\"plugin_type\":\"a.b\",\"message\":\"Create\",\"configuration\":{}}");
	accepted(BODY_JOB_ACTION, "{}");
}

static int count(json_t *ev, size_t line, void *arg, char *err, size_t errlen)
{
	(void)ev;
	(void)line;
	(void)err;
	(void)errlen;
	(*(int *)arg)++;
	return 0;
}

static void ndjson_lines(void **state)
{
	(void)state;
	char err[1024];
	int n = 0;
	size_t events = 0;
	const char *ok = "{\"message\":\"Create\"}\n\n  \r\n{\"message\":\"Update\"}";
	assert_int_equal(body_ndjson_each(ok, strlen(ok), count, &n, &events, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(events, 2);
	const char *bad = "{\"message\":\"Create\"}\n{\"message\":\"Create\",\"y\":2}\n";
	assert_int_equal(body_ndjson_each(bad, strlen(bad), count, &n, &events, err, sizeof(err)),
			 AE_INVAL);
	assert_non_null(strstr(err, "line 2: unknown field 'y'"));
}

static void settings_pairs(void **state)
{
	(void)state;
	settings_init();
	refused(BODY_SETTINGS, "{\"async.items_in_memory_low\":3000}", AE_INVAL,
		"async.items_in_memory_low (3000) must be at most async.items_in_memory_high "
		"(2000)");
	refused(BODY_SETTINGS, "{\"async.keepalive_interval\":60}", AE_INVAL,
		"async.time_until_lock_expires (60)");
	refused(BODY_SETTINGS, "{\"async.nope\":1}", AE_INVAL, "unknown setting");
	accepted(BODY_SETTINGS,
		 "{\"async.items_in_memory_low\":3000,\"async.items_in_memory_high\":3000}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unknown_and_types),
	    cmocka_unit_test(ndjson_lines),
	    cmocka_unit_test(settings_pairs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
