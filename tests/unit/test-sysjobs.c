/* Unit tests of the pure parts of system jobs (exec/sysjobs.c): bulk filters (members, types,
 * ranges, messages naming the member), making a system job (once or recurring: Ready or
 * Suspended until its first occurrence, a bad pattern refused), which jobs are maintenance
 * jobs. The running of them is tested against the real asyncd (tests/integration/test-bulk.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "exec/sysjobs.h"
#include "job/job.h"

#define NOW 1780000000000LL /* 2026-05-28T20:26:40Z */

static int parse(const char *text, struct job_filter *f, char *err, size_t n)
{
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	int rc = sysjob_filter_parse(o, NOW, f, err, n);
	json_decref(o);
	return rc;
}

static void filters(void **state)
{
	(void)state;
	struct job_filter f;
	char err[256];
	json_t *o = json_loads("{\"state\":3,\"status\":31,\"plugin_type\":\"samples.fail\","
			       "\"step_id\":7,\"error_code\":\"plugin_failed\",\"older_than\":60}",
			       0, NULL);
	assert_int_equal(sysjob_filter_parse(o, NOW, &f, err, sizeof(err)), 0);
	assert_int_equal(f.state, 3);
	assert_int_equal(f.status, 31);
	assert_string_equal(f.plugin_type, "samples.fail");
	assert_int_equal(f.step_id, 7);
	assert_string_equal(f.error_code, "plugin_failed");
	assert_int_equal(f.completed_before, NOW - 60000);
	assert_null(f.owner);
	json_decref(o);
	assert_int_equal(
	    parse("{\"completed_before\":\"2026-01-01T00:00:00Z\"}", &f, err, sizeof(err)), 0);
	assert_int_equal(f.completed_before, 1767225600000LL);
	assert_int_equal(f.state, -1);
	assert_int_equal(f.status, -1);
}

static void bad_filters_name_the_member(void **state)
{
	(void)state;
	static const struct {
		const char *filter, *names;
	} bad[] = {
	    {"{}", "at least one"},
	    {"{\"colour\":\"red\"}", "filter.colour"},
	    {"{\"state\":4}", "filter.state"},
	    {"{\"status\":11}", "filter.status"},
	    {"{\"status\":\"30\"}", "filter.status"},
	    {"{\"step_id\":0}", "filter.step_id"},
	    {"{\"plugin_type\":\"\"}", "filter.plugin_type"},
	    {"{\"completed_before\":\"yesterday\"}", "filter.completed_before"},
	    {"{\"older_than\":-1}", "filter.older_than"},
	    {"{\"state\":1,\"status\":30}", "not a status of state 1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct job_filter f;
		char err[256] = "";
		if (parse(bad[i].filter, &f, err, sizeof(err)) != AE_INVAL)
			fail_msg("%s was accepted", bad[i].filter);
		if (!strstr(err, bad[i].names))
			fail_msg("%s: '%s' does not name '%s'", bad[i].filter, err, bad[i].names);
	}
	struct job_filter f;
	char err[64];
	assert_int_equal(sysjob_filter_parse(NULL, NOW, &f, err, sizeof(err)), AE_INVAL);
}

static void make_once_and_recurring(void **state)
{
	(void)state;
	struct job j = {0};
	char err[256];
	assert_int_equal(sysjob_make(&j, SYSJOB_BULK_DELETE, JOB_OP_BULK_DELETE, "Bulk delete",
				     "olga", json_pack("{s:{s:i}}", "filter", "status", 30), NULL,
				     0, NULL, NOW, err, sizeof(err)),
			 0);
	assert_int_equal(j.state, JOB_READY);
	assert_int_equal(j.operation_type, 13);
	assert_string_equal(j.data, "{\"filter\":{\"status\":30}}");
	assert_true(sysjob_is(&j));
	assert_false(job_is_maintenance(&j));
	job_done(&j);
	/* daily at 02:00 Berlin from a start in the future: Suspended until then */
	assert_int_equal(sysjob_make(&j, SYSJOB_AUDIT_CLEANUP, JOB_OP_MAINTENANCE, "Cleanup",
				     JOB_OWNER_SYSTEM, json_object(),
				     "FREQ=DAILY;BYHOUR=2;BYMINUTE=0", NOW - 40000, "Europe/Berlin",
				     NOW, err, sizeof(err)),
			 0);
	assert_int_equal(j.state, JOB_SUSPENDED);
	assert_int_equal(j.postpone_until, 1780012800000LL); /* 2026-05-29T00:00:00Z */
	assert_true(job_is_maintenance(&j));
	job_done(&j);
	assert_int_equal(sysjob_make(&j, SYSJOB_BULK_DELETE, JOB_OP_BULK_DELETE, "x", "olga",
				     json_object(), "FREQ=DAILY;BYHOUR=24", 0, NULL, NOW, err,
				     sizeof(err)),
			 AE_INVAL);
	assert_non_null(strstr(err, "BYHOUR"));
	job_done(&j);
	assert_int_equal(sysjob_make(&j, SYSJOB_BULK_DELETE, JOB_OP_BULK_DELETE, "x", "olga",
				     json_object(), "FREQ=DAILY", 0, "Nowhere/Else", NOW, err,
				     sizeof(err)),
			 AE_INVAL);
	assert_non_null(strstr(err, "time zone"));
	job_done(&j);
	struct job plugin = {.plugin_type = (char *)"samples.noop"};
	assert_false(sysjob_is(&plugin));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(filters),
	    cmocka_unit_test(bad_filters_name_the_member),
	    cmocka_unit_test(make_once_and_recurring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
