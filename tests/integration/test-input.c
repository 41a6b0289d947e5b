/* Integration tests of what the real asyncd refuses and how: no or wrong token, malformed JSON,
 * unknown endpoints and methods, oversized bodies, bad settings, unknown plug-in types, bad
 * libraries, bad query values and a step delete refused while its jobs run. Every refusal must be
 * a 4xx with {"error":{"code","message"}} and change nothing. Each test runs its own server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define BIG_BODY ((size_t)10 << 20)

/* A request with a raw body; checks the status and, for a 4xx, the error's shape and code. */
static void refused(struct harness *h, const char *method, const char *path, const char *body,
		    long want, const char *code)
{
	long status;
	json_t *a = h_request(h, method, path, body ? "application/json" : NULL, body,
			      body ? strlen(body) : 0, &status);

	if (status != want)
		fail_msg("%s %s answered HTTP %ld instead of %ld: %s", method, path, status, want,
			 h_client_last(h->client));
	if (!a)
		fail_msg("%s %s: the %ld answer is not JSON: %s", method, path, status,
			 h_client_last(h->client));
	const char *got = h_error_code(a);
	if (code && (!got || strcmp(got, code)))
		fail_msg("%s %s: error code %s instead of %s", method, path, got, code);
	json_decref(a);
}

static void as_client(struct harness *h, const char *token, const char *path, long want)
{
	struct harness other = *h;
	long status;

	snprintf(other.token, sizeof(other.token), "%s", token);
	struct h_client *c = h_client_new(&other);
	json_t *a = h_client_request(c, "GET", path, NULL, NULL, 0, &status);
	if (status != want)
		fail_msg("GET %s with token '%s': HTTP %ld instead of %ld", path, token, status,
			 want);
	if (want == 401)
		assert_string_equal(h_error_code(a), "unauthorized");
	json_decref(a);
	h_client_free(c);
}

static void test_unauthenticated(void **state)
{
	struct harness *h = *state;

	as_client(h, "", "/api/v1/jobs", 401);
	as_client(h, "not-a-token", "/api/v1/jobs", 401);
	as_client(h, "", "/api/v1/settings", 401);
	as_client(h, "", "/healthz", 200);
	as_client(h, "", "/metrics", 200);
	h_stop(h);
}

static void test_malformed_json(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	refused(h, "POST", "/api/v1/jobs", "{not json", 400, "invalid_argument");
	refused(h, "POST", "/api/v1/jobs", "[1,2]", 400, "invalid_argument");
	refused(h, "POST", "/api/v1/jobs", "{\"data\":{}}", 400, "invalid_argument");
	refused(h, "POST", "/api/v1/jobs", "{\"plugin_type\":\"samples.noop\",\"priority\":99}",
		400, "invalid_argument");
	refused(h, "POST", "/api/v1/events", "{\"entity\":\"account\"}", 400, "invalid_argument");
	refused(h, "POST", "/api/v1/events", "{\"message\":\"Create\",\"target\":[1]}", 400,
		"invalid_argument");
	refused(h, "POST", "/api/v1/steps", "{\"plugin_type\":", 400, "invalid_argument");
	refused(h, "PATCH", "/api/v1/settings", "nope", 400, "invalid_argument");
	assert_int_equal(h_count(h, -1), 0);
	h_stop(h);
}

static void test_unknown_endpoints(void **state)
{
	struct harness *h = *state;

	refused(h, "GET", "/api/v1/nothing", NULL, 404, NULL);
	refused(h, "GET", "/nothing/at/all", NULL, 404, NULL);
	refused(h, "DELETE", "/api/v1/settings", NULL, 405, NULL);
	refused(h, "GET", "/api/v1/jobs/abc", NULL, 400, "invalid_argument");
	refused(h, "GET", "/api/v1/jobs/424242", NULL, 404, "not_found");
	refused(h, "GET", "/api/v1/jobs?status=7", NULL, 400, "invalid_argument");
	refused(h, "GET", "/api/v1/jobs?limit=0", NULL, 400, "invalid_argument");
	refused(h, "GET", "/api/v1/jobs?state=x", NULL, 400, "invalid_argument");
	h_stop(h);
}

static void test_body_too_large(void **state)
{
	struct harness *h = *state;
	long status;
	char *big = malloc(BIG_BODY);

	assert_non_null(big);
	memset(big, ' ', BIG_BODY);
	big[0] = '{';
	big[BIG_BODY - 1] = '}';
	json_t *a =
	    h_request(h, "POST", "/api/v1/jobs", "application/json", big, BIG_BODY, &status);
	free(big);
	if (status != 413)
		fail_msg("10 MiB to /api/v1/jobs: HTTP %ld: %s", status, h_client_last(h->client));
	assert_string_equal(h_error_code(a), "too_large");
	json_decref(a);
	json_decref(h_get(h, "/healthz", 200)); /* still serving */
	assert_int_equal(h_count(h, -1), 0);
	h_stop(h);
}

static int64_t max_retries(struct harness *h)
{
	json_t *s = h_get(h, "/api/v1/settings", 200);
	int64_t n = h_int(s, "async.max_retries");

	json_decref(s);
	return n;
}

static void test_settings_refused(void **state)
{
	struct harness *h = *state;

	assert_int_equal(max_retries(h), 10);
	refused(h, "PATCH", "/api/v1/settings", "{\"async.max_retries\":5000}", 400,
		"invalid_argument");
	refused(h, "PATCH", "/api/v1/settings", "{\"async.max_retries\":-1}", 400,
		"invalid_argument");
	refused(h, "PATCH", "/api/v1/settings", "{\"async.max_retries\":\"ten\"}", 400,
		"invalid_argument");
	refused(h, "PATCH", "/api/v1/settings", "{\"async.no_such_setting\":1}", 400,
		"invalid_argument");
	refused(h, "PATCH", "/api/v1/settings", "{\"service.stop_timeout\":-0.5}", 400,
		"invalid_argument");
	/* one bad value refuses the whole change */
	refused(h, "PATCH", "/api/v1/settings", "{\"async.max_retries\":3,\"async.max_depth\":0}",
		400, "invalid_argument");
	assert_int_equal(max_retries(h), 10);
	h_set_settings(h, json_pack("{s:i}", "async.max_retries", 3));
	assert_int_equal(max_retries(h), 3);
	h_stop(h);
}

static void test_unknown_plugin_type(void **state)
{
	struct harness *h = *state;

	refused(h, "POST", "/api/v1/steps",
		"{\"plugin_type\":\"samples.noop\",\"message\":\"Create\"}", 404, "not_found");
	h_register_samples(h);
	refused(h, "POST", "/api/v1/steps",
		"{\"plugin_type\":\"samples.nope\",\"message\":\"Create\",\"entity\":\"account\"}",
		404, "not_found");
	refused(h, "POST", "/api/v1/jobs", "{\"plugin_type\":\"samples.nope\"}", 404, "not_found");
	refused(h, "POST", "/api/v1/jobs", "{\"plugin_type\":\"other.noop\"}", 404, "not_found");
	json_t *steps = h_get(h, "/api/v1/steps", 200);
	assert_int_equal(json_array_size(json_object_get(steps, "steps")), 0);
	json_decref(steps);
	h_stop(h);
}

static void test_assembly_outcomes(void **state)
{
	struct harness *h = *state;

	json_t *a = h_upload(h, "plugins/samples/samples.so", "none", 201);
	assert_string_equal(h_str(a, "outcome"), "registered");
	assert_string_equal(h_str(a, "name"), "samples");
	assert_string_equal(h_str(a, "version"), "1.0.0.0");
	assert_int_equal(strlen(h_str(a, "sha256")), 64);
	json_t *b = h_upload(h, "plugins/samples/samples.so", "none", 200);
	assert_string_equal(h_str(b, "outcome"), "unchanged");
	assert_int_equal(h_int(a, "id"), h_int(b, "id"));
	json_decref(a);
	json_decref(b);
	json_t *c = h_upload(h, "tests/plugins/not_a_library.so", "none", 422);
	assert_string_equal(h_error_code(c), "invalid_assembly");
	json_decref(c);
	json_t *list = h_get(h, "/api/v1/assemblies", 200);
	assert_int_equal(json_array_size(json_object_get(list, "assemblies")), 1);
	json_decref(list);
	h_stop(h);
}

static void test_step_delete_refused_while_jobs_run(void **state)
{
	struct harness *h = *state;
	char path[96];
	long status;

	h_register_samples(h);
	int64_t step = h_add_simple_step(h, "samples.sleep", "Create", "account");
	json_t *jobs = h_raise(h, json_pack("{s:s,s:s,s:s,s:{s:i}}", "message", "Create", "entity",
					    "account", "entity_id", "1", "target", "ms", 20000));
	int64_t job = h_int(json_array_get(jobs, 0), "id");
	json_decref(jobs);
	json_decref(h_wait_state(h, job, 2, H_WAIT_TIMEOUT_MS));
	h_path(path, sizeof(path), "/api/v1/steps/%lld", (long long)step);
	json_t *a = h_request(h, "DELETE", path, NULL, NULL, 0, &status);
	assert_int_equal(status, 409);
	assert_string_equal(h_error_code(a), "conflict");
	json_t *counts = json_object_get(json_object_get(a, "error"), "counts");
	assert_int_equal(h_int(counts, "locked"), 1); /* the counts per state */
	assert_int_equal(h_int(counts, "ready"), 0);
	json_decref(a);
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)job);
	json_decref(h_call(h, "POST", path, NULL, 200));
	json_decref(h_wait_job(h, job, H_WAIT_TIMEOUT_MS));
	h_path(path, sizeof(path), "/api/v1/steps/%lld", (long long)step);
	assert_null(h_call(h, "DELETE", path, NULL, 204));
	json_t *steps = h_get(h, "/api/v1/steps", 200);
	assert_int_equal(json_array_size(json_object_get(steps, "steps")), 0);
	json_decref(steps);
	h_stop(h);
}

static void test_postpone_into_the_past(void **state)
{
	struct harness *h = *state;
	char path[96], body[128], t[H_TIME_LEN];

	h_register_samples(h);
	int64_t id = h_submit(h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
					   "postpone_until", h_time(t, 3600 * 1000)));
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/postpone", (long long)id);
	snprintf(body, sizeof(body), "{\"until\":\"%s\"}", h_time(t, -60000));
	refused(h, "POST", path, body, 400, "invalid_argument");
	refused(h, "POST", path, "{\"until\":\"tomorrow\"}", 400, "invalid_argument");
	refused(h, "POST", "/api/v1/jobs",
		"{\"plugin_type\":\"samples.noop\",\"postpone_until\":\"soon\"}", 400,
		"invalid_argument");
	assert_int_equal(h_count(h, -1), 1);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unauthenticated, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_json, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_endpoints, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_body_too_large, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_settings_refused, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_plugin_type, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_assembly_outcomes, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_step_delete_refused_while_jobs_run, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_postpone_into_the_past, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
