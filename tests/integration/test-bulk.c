/* Integration tests of system jobs (issue 10) on the real asyncd: the recurring maintenance jobs
 * every server has (visible, owner system, operation types 13 and 100; cancel/pause/delete 409
 * naming why; their schedule changed by a System Administrator only); cleanup of succeeded jobs
 * and of the audit log happening as those jobs run (audit.retention at least a day); bulk
 * actions on ids and filters with counts per outcome, 10,000 jobs canceled by a bulk system job;
 * bulk deletes (operation type 13) with progress as output, audited, cancelable; asyncctl's
 * bulk verbs. Time passes through the test clock (ASYNCD_TEST_CLOCK=1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define BIG 10000

static void shift_clock(struct harness *h, int64_t ms)
{
	char path[96];
	json_decref(
	    h_call(h, "POST",
		   h_path(path, sizeof(path), "/api/v1/debug/clock?shift_ms=%lld", (long long)ms),
		   NULL, 200));
}

/* The maintenance jobs, by name (the caller owns the object). */
static json_t *maintenance_jobs(struct harness *h)
{
	json_t *out = json_object(), *a = h_get(h, "/api/v1/jobs?limit=1000", 200), *j;
	size_t i;
	json_array_foreach(json_object_get(a, "jobs"), i, j)
	{
		if (h_is_maintenance_job(j))
			json_object_set(out, h_str(j, "name"), j);
	}
	json_decref(a);
	return out;
}

/* Poll until maintenance job name has run at least runs times and waits again. */
static json_t *wait_maintenance_run(struct harness *h, const char *name, int64_t runs)
{
	int64_t deadline = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	for (;;) {
		json_t *all = maintenance_jobs(h);
		json_t *j = json_object_get(all, name);
		if (!j)
			fail_msg("no maintenance job '%s'", name);
		if (h_int(j, "attempt") >= runs && h_int(j, "state") == 1) {
			json_t *full = h_job(h, h_int(j, "id"));
			json_decref(all);
			return full;
		}
		json_decref(all);
		if (h_mono_ms() > deadline)
			fail_msg("maintenance job '%s' did not run %lld times", name,
				 (long long)runs);
		h_sleep_ms(H_POLL_MS);
	}
}

static void test_maintenance_jobs_visible_and_protected(void **state)
{
	struct harness *h = *state;
	char path[96], op_token[128];
	json_t *all = maintenance_jobs(h);
	assert_int_equal(json_object_size(all), 5);
	assert_non_null(json_object_get(all, "Statistics: jobs per hour"));
	json_t *succ = json_object_get(all, "Cleanup: succeeded jobs");
	json_t *audit = json_object_get(all, "Cleanup: audit log");
	assert_non_null(succ);
	assert_non_null(audit);
	assert_non_null(json_object_get(all, "Cleanup: failed and canceled jobs"));
	assert_non_null(json_object_get(all, "Cleanup: attempt history"));
	assert_int_equal(h_int(succ, "operation_type"), 13);
	assert_int_equal(h_int(audit, "operation_type"), 100);
	assert_int_equal(h_int(succ, "state"), 1);
	int64_t id = h_int(succ, "id");
	static const char *const acts[] = {"cancel", "pause", "resume"};
	for (size_t i = 0; i < 3; i++) {
		json_t *a = h_call(
		    h, "POST",
		    h_path(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)id, acts[i]),
		    NULL, 409);
		h_expect_text(
		    json_string_value(json_object_get(json_object_get(a, "error"), "message")),
		    "maintenance job", acts[i]);
		json_decref(a);
	}
	h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id);
	json_decref(h_call(h, "DELETE", path, NULL, 409));
	json_decref(h_call(h, "POST", "/api/v1/jobs/bulk",
			   json_pack("{s:s,s:[I]}", "action", "cancel", "ids", (json_int_t)id),
			   200));
	/* an Operator may not change their schedule; an administrator may */
	h_add_user_token(h, "olga", "Operator", NULL, op_token);
	struct h_client *op = h_client_token(h, op_token);
	long status;
	const char *hourly = "{\"recurrence_pattern\":\"FREQ=HOURLY\"}";
	json_t *a = h_client_request(op, "PATCH", path, "application/json", hourly, strlen(hourly),
				     &status);
	assert_int_equal(status, 403);
	h_expect_text(json_string_value(json_object_get(json_object_get(a, "error"), "message")),
		      "System Administrator", "PATCH as Operator");
	json_decref(a);
	h_client_free(op);
	json_t *j =
	    h_call(h, "PATCH", path,
		   json_pack("{s:s}", "recurrence_pattern", "FREQ=DAILY;BYHOUR=3;BYMINUTE=0"), 200);
	assert_string_equal(h_str(j, "recurrence_pattern"), "FREQ=DAILY;BYHOUR=3;BYMINUTE=0");
	assert_int_equal(json_array_size(json_object_get(j, "next_occurrences")), 5);
	h_expect_text(json_string_value(json_array_get(json_object_get(j, "next_occurrences"), 0)),
		      "T03:00:00", "next occurrence");
	json_decref(j);
	json_decref(h_call(h, "PATCH", path,
			   json_pack("{s:s}", "recurrence_pattern", "FREQ=DAILY;BYHOUR=30"), 400));
	json_decref(all);
	all = maintenance_jobs(h);
	assert_int_equal(json_object_size(all), 5);
	json_decref(all);
}

/* cleanup.succeeded_after 0: the succeeded-jobs cleanup (op 13) deletes them at its next run;
 * audit.retention refuses less than a day; a day later the audit cleanup deletes old entries. */
static void test_cleanup_runs_as_system_jobs(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	h_set_settings(
	    h, json_pack("{s:i,s:i}", "cleanup.succeeded_after", 0, "audit.retention", 86400));
	json_t *a =
	    h_call(h, "PATCH", "/api/v1/settings", json_pack("{s:i}", "audit.retention", 5), 400);
	h_expect_text(json_string_value(json_object_get(json_object_get(a, "error"), "message")),
		      "audit.retention", "PATCH audit.retention 5");
	json_decref(a);
	int64_t ids[3];
	for (int i = 0; i < 3; i++)
		ids[i] = h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop"));
	for (int i = 0; i < 3; i++)
		json_decref(h_wait_job(h, ids[i], H_WAIT_TIMEOUT_MS));
	shift_clock(h, 61000); /* the first cleanups run a minute after the start */
	json_t *j = wait_maintenance_run(h, "Cleanup: succeeded jobs", 1);
	assert_true(h_int(json_object_get(j, "output"), "deleted") >= 3);
	json_t *hist = json_object_get(j, "attempts");
	assert_int_equal(json_array_size(hist), 1);
	assert_string_equal(h_str(json_array_get(hist, 0), "outcome"), "succeeded");
	json_decref(j);
	char path[64];
	for (int i = 0; i < 3; i++)
		json_decref(h_call(
		    h, "GET", h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)ids[i]),
		    NULL, 404));
	json_t *before = h_get(h, "/api/v1/audit?limit=1000", 200);
	size_t n_before = json_array_size(json_object_get(before, "entries"));
	json_decref(before);
	assert_true(n_before > 0);
	j = wait_maintenance_run(h, "Cleanup: audit log", 1); /* its first run: nothing old */
	int64_t runs = h_int(j, "attempt");
	json_decref(j);
	shift_clock(h, 25LL * 3600 * 1000); /* past audit.retention's minimum, one day */
	j = wait_maintenance_run(h, "Cleanup: audit log", runs + 1);
	if (h_int(json_object_get(j, "output"), "deleted") < (int64_t)n_before)
		fail_msg("the audit cleanup deleted %lld entries, not the %zu listed before: %s",
			 (long long)h_int(json_object_get(j, "output"), "deleted"), n_before,
			 h_str(j, "message"));
	json_decref(j);
}

/* The statistics job counts completed jobs per hour, type and status into the table that
 * GET /api/v1/jobs/stats/hourly reads (its schedule made minutely by an administrator). */
static void test_statistics_job(void **state)
{
	struct harness *h = *state;
	char path[64];
	h_register_samples(h);
	int64_t ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = h_submit(
		    h, json_pack("{s:s}", "plugin_type", i < 3 ? "samples.noop" : "samples.fail"));
	for (int i = 0; i < 5; i++)
		json_decref(h_wait_job(h, ids[i], H_WAIT_TIMEOUT_MS));
	json_t *all = maintenance_jobs(h);
	int64_t id = h_int(json_object_get(all, "Statistics: jobs per hour"), "id");
	json_decref(all);
	json_decref(h_call(h, "PATCH",
			   h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id),
			   json_pack("{s:s}", "recurrence_pattern", "FREQ=MINUTELY"), 200));
	shift_clock(h, 61000);
	json_decref(wait_maintenance_run(h, "Statistics: jobs per hour", 1));
	json_t *a = h_get(h, "/api/v1/jobs/stats/hourly", 200), *row;
	size_t i;
	int64_t noop = 0, fail = 0;
	json_array_foreach(json_object_get(a, "hours"), i, row)
	{
		if (!strcmp(h_str(row, "plugin_type"), "samples.noop") &&
		    h_int(row, "status") == 30)
			noop += h_int(row, "count");
		if (!strcmp(h_str(row, "plugin_type"), "samples.fail") &&
		    h_int(row, "status") == 31)
			fail += h_int(row, "count");
	}
	json_decref(a);
	assert_int_equal(noop, 3);
	assert_int_equal(fail, 2);
	json_decref(h_call(h, "GET", "/api/v1/jobs/stats/hourly?since=yesterday", NULL, 400));
}

static void expect_counts(json_t *a, int64_t done, int64_t not_allowed, int64_t not_found)
{
	if (h_int(a, "done") != done || h_int(a, "not_allowed") != not_allowed ||
	    h_int(a, "not_found") != not_found)
		fail_msg("counts %lld/%lld/%lld, expected %lld/%lld/%lld",
			 (long long)h_int(a, "done"), (long long)h_int(a, "not_allowed"),
			 (long long)h_int(a, "not_found"), (long long)done, (long long)not_allowed,
			 (long long)not_found);
}

/* ids and small filters are done in the request: counts per outcome; role rules. */
static void test_bulk_small_sets(void **state)
{
	struct harness *h = *state;
	char reader[128];
	h_register_samples(h);
	int64_t failed = h_submit(h, json_pack("{s:s}", "plugin_type", "samples.fail"));
	int64_t ok = h_submit(h, json_pack("{s:s}", "plugin_type", "samples.noop"));
	json_decref(h_wait_job(h, failed, H_WAIT_TIMEOUT_MS));
	json_decref(h_wait_job(h, ok, H_WAIT_TIMEOUT_MS));
	json_t *a = h_call(h, "POST", "/api/v1/jobs/bulk",
			   json_pack("{s:s,s:[I,I,i]}", "action", "retry", "ids",
				     (json_int_t)failed, (json_int_t)ok, 999999),
			   200);
	expect_counts(a, 1, 1, 1);
	json_decref(a);
	json_decref(h_wait_job(h, failed, H_WAIT_TIMEOUT_MS));
	int64_t later[3];
	for (int i = 0; i < 3; i++)
		later[i] = h_submit(h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
						 "postpone_until", "2999-01-01T00:00:00Z"));
	a = h_call(h, "POST", "/api/v1/jobs/bulk",
		   json_pack("{s:s,s:{s:i,s:s}}", "action", "cancel", "filter", "state", 1,
			     "plugin_type", "samples.noop"),
		   200);
	expect_counts(a, 3, 0, 0);
	json_decref(a);
	json_t *j = h_job(h, later[1]);
	assert_int_equal(h_int(j, "status"), 32);
	json_decref(j);
	a = h_call(h, "POST", "/api/v1/jobs/bulk",
		   json_pack("{s:s,s:{s:i}}", "action", "delete", "filter", "status", 32), 200);
	expect_counts(a, 3, 0, 0);
	json_decref(a);
	/* refusals: bad action, both or neither of ids and filter, a bad filter member, a Reader */
	json_decref(h_call(h, "POST", "/api/v1/jobs/bulk",
			   json_pack("{s:s,s:[i]}", "action", "pause", "ids", 1), 400));
	json_decref(
	    h_call(h, "POST", "/api/v1/jobs/bulk", json_pack("{s:s}", "action", "cancel"), 400));
	a = h_call(h, "POST", "/api/v1/jobs/bulk",
		   json_pack("{s:s,s:{s:s}}", "action", "cancel", "filter", "colour", "red"), 400);
	h_expect_text(json_string_value(json_object_get(json_object_get(a, "error"), "message")),
		      "filter.colour", "bad filter");
	json_decref(a);
	a = h_call(h, "POST", "/api/v1/jobs",
		   json_pack("{s:s,s:{s:{s:i}}}", "plugin_type", "asyncd.bulk_delete", "data",
			     "filter", "state", 3),
		   400);
	h_expect_text(json_string_value(json_object_get(json_object_get(a, "error"), "message")),
		      "system jobs", "a submitted asyncd.* type");
	json_decref(a);
	h_add_user_token(h, "rita", "Reader", NULL, reader);
	struct h_client *c = h_client_token(h, reader);
	long status;
	const char *cancel = "{\"action\":\"cancel\",\"ids\":[1]}";
	json_decref(h_client_request(c, "POST", "/api/v1/jobs/bulk", "application/json", cancel,
				     strlen(cancel), &status));
	assert_int_equal(status, 403);
	h_client_free(c);
	/* asyncctl */
	struct h_cmd cmd;
	char ids[32];
	snprintf(ids, sizeof(ids), "%lld", (long long)failed);
	h_ctl(h, &cmd, "job", "bulk", "delete", "--ids", ids, NULL);
	assert_int_equal(cmd.status, 0);
	h_expect_text(cmd.out, "done 1", "asyncctl job bulk");
	h_cmd_done(&cmd);
	h_ctl(h, &cmd, "job", "bulk", "pause", "--ids", ids, NULL);
	assert_int_equal(cmd.status, 2);
	h_cmd_done(&cmd);
}

/* Raise n events of message msg in NDJSON batches of 1,000. */
static void raise_many(struct harness *h, const char *msg, int n)
{
	size_t cap = 1000 * 96;
	char *body = malloc(cap);
	for (int done = 0; done < n;) {
		size_t len = 0;
		int batch = n - done > 1000 ? 1000 : n - done;
		for (int i = 0; i < batch; i++)
			len += (size_t)snprintf(body + len, cap - len,
						"{\"message\":\"%s\",\"entity\":\"account\","
						"\"target\":{\"ms\":600000}}\n",
						msg);
		long status;
		json_decref(h_request(h, "POST", "/api/v1/events", "application/x-ndjson", body,
				      len, &status));
		if (status != 201)
			fail_msg("NDJSON batch: HTTP %ld", status);
		done += batch;
	}
	free(body);
}

/* 10,000 matching jobs: the request answers 202 with a bulk system job (op 101) that cancels
 * them all (the running and held ones through their interruption), its output counting them. */
static void test_bulk_cancel_ten_thousand(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	h_add_simple_step(h, "samples.sleep", "Hold", "account");
	json_decref(h_service_act(h, "async", "pause", 200));
	json_decref(h_wait_service(h, "async", "paused", H_WAIT_TIMEOUT_MS));
	raise_many(h, "Hold", BIG);
	assert_int_equal(h_count(h, 0), BIG);
	int64_t t0 = h_mono_ms();
	json_t *a = h_call(h, "POST", "/api/v1/jobs/bulk",
			   json_pack("{s:s,s:{s:s}}", "action", "cancel", "filter", "plugin_type",
				     "samples.sleep"),
			   202);
	int64_t job = h_int(a, "job_id");
	json_decref(a);
	json_decref(h_service_act(h, "async", "continue", 200));
	json_t *j = h_wait_job(h, job, 120000);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "operation_type"), 101);
	json_t *out = json_object_get(j, "output");
	assert_int_equal(h_int(out, "matched"), BIG);
	assert_int_equal(h_int(out, "done"), BIG);
	json_decref(j);
	int64_t deadline = h_mono_ms() + 60000;
	while (h_count(h, 32) < BIG && h_mono_ms() < deadline)
		h_sleep_ms(50);
	assert_int_equal(h_count(h, 32), BIG);
	fprintf(stderr, "# bulk cancel of %d jobs: %lld ms until all were Canceled\n", BIG,
		(long long)(h_mono_ms() - t0));
}

/* A bulk delete (op 13) deletes the matching completed jobs in batches, records its progress as
 * its output and is audited; a recurring one waits for its occurrence and can be canceled. */
static void test_bulk_delete(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Hold", "account");
	raise_many(h, "Hold", 2500);
	h_wait_all(h, 60000, NULL);
	int64_t keep = h_submit(h, json_pack("{s:s}", "plugin_type", "samples.fail"));
	json_decref(h_wait_job(h, keep, H_WAIT_TIMEOUT_MS));
	json_t *a = h_call(
	    h, "POST", "/api/v1/bulk-deletes",
	    json_pack("{s:{s:i,s:s}}", "filter", "status", 30, "plugin_type", "samples.noop"), 201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	json_t *j = h_wait_job(h, id, 60000);
	assert_int_equal(h_int(j, "status"), 30);
	assert_int_equal(h_int(j, "operation_type"), 13);
	assert_int_equal(h_int(json_object_get(j, "output"), "deleted"), 2500);
	json_decref(j);
	assert_int_equal(h_count(h, 30), 1); /* the bulk delete itself */
	assert_int_equal(h_count(h, 31), 1);
	json_t *audit = h_get(h, "/api/v1/audit?limit=100", 200);
	char *text = json_dumps(audit, 0);
	h_expect_text(text, "bulk delete", "the audit log");
	free(text);
	json_decref(audit);
	/* recurring, then canceled; a bad filter names the member */
	a = h_call(h, "POST", "/api/v1/bulk-deletes",
		   json_pack("{s:{s:i},s:s}", "filter", "status", 31, "recurrence_pattern",
			     "FREQ=DAILY;BYHOUR=4;BYMINUTE=0"),
		   201);
	id = h_int(a, "id");
	json_decref(a);
	j = h_job(h, id);
	assert_int_equal(h_int(j, "state"), 1);
	json_decref(j);
	char path[64];
	json_decref(h_call(h, "POST",
			   h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id),
			   NULL, 200));
	a = h_call(h, "POST", "/api/v1/bulk-deletes",
		   json_pack("{s:{s:i}}", "filter", "step_id", 0), 400);
	h_expect_text(json_string_value(json_object_get(json_object_get(a, "error"), "message")),
		      "filter.step_id", "bad filter");
	json_decref(a);
	json_decref(h_call(h, "POST", "/api/v1/bulk-deletes", json_pack("{s:{}}", "filter"), 400));
	struct h_cmd cmd;
	h_ctl(h, &cmd, "job", "bulk-delete", "--status", "Failed", NULL);
	assert_int_equal(cmd.status, 0);
	int64_t cli_id = strtoll(cmd.out, NULL, 10);
	h_cmd_done(&cmd);
	j = h_wait_job(h, cli_id, H_WAIT_TIMEOUT_MS);
	assert_int_equal(h_int(json_object_get(j, "output"), "deleted"), 1);
	json_decref(j);
}

int main(void)
{
	setenv("ASYNCD_TEST_CLOCK", "1", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_maintenance_jobs_visible_and_protected, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_cleanup_runs_as_system_jobs, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_statistics_job, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bulk_small_sets, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bulk_cancel_ten_thousand, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bulk_delete, h_setup, h_teardown),
	};
	h_filter_from_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
