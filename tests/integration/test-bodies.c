/* Integration tests of request bodies against the real asyncd: every JSON body is checked against
 * its field table (unknown fields and wrong types answer 400 naming the field), bodies of another
 * Content-Type answer 415, ids in paths are plain digits, events obey job.max_data_bytes (NDJSON
 * all or nothing, the bad line named), related settings stay in order. Nothing refused is stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* method path with body of content type ctype: the status must be want, the error's code code and
 * its message must contain every one of the NULL-terminated words. */
static void expect(struct harness *h, const char *method, const char *path, const char *ctype,
		   const char *body, long want, const char *code, ...)
{
	long status;
	va_list ap;
	json_t *a = h_request(h, method, path, ctype, body, body ? strlen(body) : 0, &status);
	if (status != want)
		fail_msg("%s %s %.200s: HTTP %ld instead of %ld: %s", method, path,
			 body ? body : "", status, want, h_client_last(h->client));
	if (!code) {
		json_decref(a);
		return;
	}
	if (!a)
		fail_msg("%s %s: the answer is not JSON: %s", method, path,
			 h_client_last(h->client));
	const char *got = h_error_code(a);
	if (!got || strcmp(got, code))
		fail_msg("%s %s: error code %s instead of %s", method, path, got, code);
	const char *msg = h_str(json_object_get(a, "error"), "message");
	va_start(ap, code);
	for (const char *w; (w = va_arg(ap, const char *));)
		if (!strstr(msg, w))
			fail_msg("%s %s %.200s: the message '%s' does not say '%s'", method, path,
				 body ? body : "", msg, w);
	va_end(ap);
	json_decref(a);
}

#define JSON "application/json"
#define bad(h, m, p, b, ...) expect(h, m, p, JSON, b, 400, "invalid_argument", __VA_ARGS__, NULL)

static void test_unknown_fields(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	bad(h, "POST", "/api/v1/jobs", "{\"plugin_type\":\"samples.noop\",\"priorty\":1}",
	    "priorty");
	bad(h, "POST", "/api/v1/events", "{\"message\":\"Create\",\"tagret\":{}}", "tagret");
	bad(h, "POST", "/api/v1/steps",
	    "{\"plugin_type\":\"samples.noop\",\"message\":\"Create\",\"confg\":\"x\"}", "confg");
	bad(h, "POST", "/api/v1/users", "{\"name\":\"u1\",\"roles\":[\"Reader\"],\"pass\":\"x\"}",
	    "pass");
	bad(h, "POST", "/api/v1/tokens", "{\"user\":\"admin\",\"label\":\"x\"}", "label");
	bad(h, "POST", "/api/v1/login", "{\"name\":\"admin\",\"password\":\"x\",\"otp\":1}", "otp");
	int64_t id = h_submit(h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
					   "postpone_until", "2999-01-01T00:00:00Z"));
	char path[96];
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id);
	bad(h, "POST", path, "{\"reason\":\"x\"}", "reason");
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/postpone", (long long)id);
	bad(h, "POST", path, "{\"until\":\"2999-01-01T00:00:00Z\",\"when\":1}", "when");
	assert_int_equal(h_count(h, -1), 1);
	h_stop(h);
}

static void test_field_types(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	bad(h, "POST", "/api/v1/steps",
	    "{\"plugin_type\":\"samples.noop\",\"message\":\"Create\",\"configuration\":5}",
	    "configuration", "string");
	bad(h, "POST", "/api/v1/steps",
	    "{\"plugin_type\":\"samples.noop\",\"message\":\"Create\",\"name\":5}", "name",
	    "string");
	bad(h, "POST", "/api/v1/steps",
	    "{\"plugin_type\":\"samples.noop\",\"message\":\"Create\",\"impersonating_user\":5}",
	    "impersonating_user", "string");
	bad(h, "POST", "/api/v1/steps",
	    "{\"plugin_type\":\"samples.noop\",\"message\":\"Create\","
	    "\"impersonating_user\":\"nobody-here\"}",
	    "impersonating_user", "nobody-here");
	bad(h, "PATCH", "/api/v1/steps/1", "{\"enabled\":\"yes\"}", "enabled", "true or false");
	bad(h, "POST", "/api/v1/jobs", "{\"plugin_type\":\"samples.noop\",\"priority\":\"1\"}",
	    "priority", "integer");
	bad(h, "POST", "/api/v1/jobs", "{\"plugin_type\":[\"samples.noop\"]}", "plugin_type");
	bad(h, "POST", "/api/v1/events", "{\"message\":\"Create\",\"entity\":7}", "entity");
	bad(h, "POST", "/api/v1/users", "{\"name\":\"u1\",\"roles\":\"Reader\"}", "roles", "array");
	bad(h, "POST", "/api/v1/tokens", "{\"user\":1}", "user", "string");
	bad(h, "POST", "/api/v1/login", "{\"name\":\"admin\",\"password\":12345678901234}",
	    "password", "string");
	bad(h, "PATCH", "/api/v1/settings", "{\"async.max_retries\":\"3\"}", "async.max_retries");
	/* a well-formed step with a configuration object and an existing user is still taken */
	json_decref(
	    h_call(h, "POST", "/api/v1/steps",
		   json_pack("{s:s,s:s,s:{s:i},s:s}", "plugin_type", "samples.noop", "message",
			     "Create", "configuration", "n", 5, "impersonating_user", "admin"),
		   201));
	json_t *steps = h_get(h, "/api/v1/steps", 200);
	assert_int_equal(json_array_size(json_object_get(steps, "steps")), 1);
	json_decref(steps);
	assert_int_equal(h_count(h, -1), 0);
	h_stop(h);
}

static void test_content_types(void **state)
{
	struct harness *h = *state;
	const char *job = "{\"plugin_type\":\"samples.noop\"}";

	h_register_samples(h);
	expect(h, "POST", "/api/v1/jobs", "text/plain", job, 415, "unsupported_media_type",
	       "application/json", NULL);
	expect(h, "POST", "/api/v1/jobs", NULL, job, 415, "unsupported_media_type",
	       "application/json", NULL);
	expect(h, "POST", "/api/v1/jobs", "multipart/form-data; boundary=x", job, 415,
	       "unsupported_media_type", NULL);
	expect(h, "POST", "/api/v1/events", "text/plain", "{\"message\":\"Create\"}", 415,
	       "unsupported_media_type", "application/x-ndjson", NULL);
	expect(h, "PATCH", "/api/v1/settings", "text/plain", "{\"async.max_retries\":3}", 415,
	       "unsupported_media_type", NULL);
	expect(h, "POST", "/api/v1/assemblies?isolation=none", "application/json", "{}", 415,
	       "unsupported_media_type", "application/octet-stream", NULL);
	assert_int_equal(h_count(h, -1), 0);
	/* what clients send keeps working, parameters and case included */
	expect(h, "POST", "/api/v1/jobs", "Application/JSON; charset=utf-8", job, 201, NULL);
	expect(h, "POST", "/api/v1/events", "application/x-ndjson", "{\"message\":\"Create\"}\n",
	       201, NULL);
	h_stop(h);
}

static void test_path_ids(void **state)
{
	struct harness *h = *state;
	static const char *const bad_ids[] = {"+1", "-1",  "1%00", "1%20", "%201",
					      "1x", "0x1", "01",   "1.0",  "99999999999999999999"};
	char path[96];

	h_register_samples(h);
	int64_t id = h_submit(h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
					   "postpone_until", "2999-01-01T00:00:00Z"));
	assert_true(id >= 1);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		h_path(path, sizeof(path), "/api/v1/jobs/%s", bad_ids[i]);
		expect(h, "GET", path, NULL, NULL, 400, "invalid_argument", "not a valid id", NULL);
		h_path(path, sizeof(path), "/api/v1/steps/%s", bad_ids[i]);
		expect(h, "GET", path, NULL, NULL, 400, "invalid_argument", NULL);
		h_path(path, sizeof(path), "/api/v1/assemblies/%s", bad_ids[i]);
		expect(h, "GET", path, NULL, NULL, 400, "invalid_argument", NULL);
		h_path(path, sizeof(path), "/api/v1/users/%s", bad_ids[i]);
		expect(h, "DELETE", path, NULL, NULL, 400, "invalid_argument", NULL);
		h_path(path, sizeof(path), "/api/v1/tokens/%s", bad_ids[i]);
		expect(h, "DELETE", path, NULL, NULL, 400, "invalid_argument", NULL);
		h_path(path, sizeof(path), "/api/v1/jobs/%s/cancel", bad_ids[i]);
		expect(h, "POST", path, NULL, NULL, 400, "invalid_argument", NULL);
	}
	json_decref(h_get(h, "/api/v1/jobs/1", 200));
	h_stop(h);
}

/* An event whose target is n bytes of text. */
static char *big_event(size_t n)
{
	char *s = malloc(n + 128);
	assert_non_null(s);
	int k = sprintf(s, "{\"message\":\"Create\",\"entity\":\"account\",\"target\":{\"t\":\"");
	memset(s + k, 'x', n);
	strcpy(s + k + n, "\"}}");
	return s;
}

static void test_event_data_limit(void **state)
{
	struct harness *h = *state;

	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	char *big = big_event(3 << 19); /* 1.5 MiB: over the 1 MiB default */
	expect(h, "POST", "/api/v1/events", JSON, big, 413, "too_large", "job.max_data_bytes",
	       NULL);
	/* NDJSON: two good lines and the big one third: nothing stored, line 3 named */
	const char *good = "{\"message\":\"Create\",\"entity\":\"account\"}\n";
	size_t n = 2 * strlen(good) + strlen(big) + 2;
	char *nd = malloc(n);
	assert_non_null(nd);
	snprintf(nd, n, "%s%s%s\n", good, good, big);
	expect(h, "POST", "/api/v1/events", "application/x-ndjson", nd, 413, "too_large", "line 3",
	       "job.max_data_bytes", NULL);
	snprintf(nd, n, "%s{\"message\":\"Create\",\"entity\":\"account\",\"x\":1}\n%s", good,
		 good);
	expect(h, "POST", "/api/v1/events", "application/x-ndjson", nd, 400, "invalid_argument",
	       "line 2", "'x'", NULL);
	assert_int_equal(h_count(h, -1), 0);
	/* the limit is the setting: raised, the same event is taken */
	h_set_settings(h, json_pack("{s:i}", "job.max_data_bytes", 4 << 20));
	expect(h, "POST", "/api/v1/events", JSON, big, 201, NULL);
	assert_int_equal(h_count(h, -1), 1);
	free(nd);
	free(big);
	h_stop(h);
}

static void test_settings_pairs(void **state)
{
	struct harness *h = *state;

	bad(h, "PATCH", "/api/v1/settings", "{\"async.items_in_memory_low\":3000}",
	    "async.items_in_memory_low", "async.items_in_memory_high", "3000", "2000");
	bad(h, "PATCH", "/api/v1/settings",
	    "{\"async.items_in_memory_low\":50,\"async.items_in_memory_high\":10}",
	    "async.items_in_memory_low", "50", "10");
	bad(h, "PATCH", "/api/v1/settings", "{\"async.keepalive_interval\":60}",
	    "async.keepalive_interval", "async.time_until_lock_expires");
	/* both moved together in one change is fine */
	h_set_settings(h, json_pack("{s:i,s:i}", "async.items_in_memory_low", 3000,
				    "async.items_in_memory_high", 4000));
	json_t *s = h_get(h, "/api/v1/settings", 200);
	assert_int_equal(h_int(s, "async.items_in_memory_low"), 3000);
	json_decref(s);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unknown_fields, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_field_types, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_content_types, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_path_ids, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_event_data_limit, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_settings_pairs, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("bodies", tests, NULL, NULL);
}
