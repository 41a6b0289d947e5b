/* Integration tests of consistent messages and names (issue 11 item 6): a value that is present
 * but wrong is "invalid", not "required"; ranges print as whole numbers, never in scientific
 * notation; status names are one word in JSON as in the CLI ("InProgress"); login answers role
 * names as whoami does; audit actions are all "noun.verb", refusals included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define PASSWORD "correct horse battery"

/* Send body to path; expect status 400 and return the error message (copied into buf). */
static const char *refusal(struct harness *h, const char *method, const char *path,
			   const char *body, char *buf, size_t n)
{
	struct h_answer a;
	h_request_ex(h, &(struct h_req){.method = method, .path = path, .body = body}, &a);
	if (a.status != 400)
		fail_msg("%s %s %s: HTTP %ld, not 400: %s", method, path, body, a.status, a.text);
	snprintf(buf, n, "%s", h_str(json_object_get(a.json, "error"), "message"));
	h_answer_done(&a);
	return buf;
}

static void test_invalid_is_not_required(void **state)
{
	struct harness *h = *state;
	char m[512];
	refusal(h, "POST", "/api/v1/events", "{\"message\":\"no spaces allowed\"}", m, sizeof(m));
	h_expect_text(m, "message is invalid", "a bad event message");
	refusal(h, "POST", "/api/v1/events", "{\"entity\":\"account\"}", m, sizeof(m));
	h_expect_text(m, "message is required", "a missing event message");
	refusal(h, "POST", "/api/v1/users",
		"{\"name\":\"not a name\",\"roles\":[\"Reader\"],\"password\":\"" PASSWORD "\"}", m,
		sizeof(m));
	h_expect_text(m, "name is invalid (\"not a name\")", "a bad user name");
}

static void test_ranges_are_whole_numbers(void **state)
{
	struct harness *h = *state;
	char m[512];
	refusal(h, "PATCH", "/api/v1/settings", "{\"cleanup.succeeded_after\":-1}", m, sizeof(m));
	h_expect_text(m, "between 0 and 315360000", "a range");
	h_expect_no_text(m, "e+", "a range");
}

static void test_status_names_are_one_word(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	int64_t id = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", 60000));
	json_t *j = h_wait_running(h, id, H_WAIT_TIMEOUT_MS);
	assert_string_equal(h_str(j, "status_name"), "InProgress");
	json_decref(j);
	char path[64];
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id);
	json_decref(h_call(h, "POST", path, NULL, 200));
	json_decref(h_wait_job(h, id, H_WAIT_TIMEOUT_MS));
}

static void test_login_gives_role_names(void **state)
{
	struct harness *h = *state;
	char token[128];
	struct h_answer a;
	h_add_user_token(h, "ada", "Operator", PASSWORD, token);
	h_request_ex(h,
		     &(struct h_req){.method = "POST",
				     .path = "/api/v1/login",
				     .body = "{\"name\":\"ada\",\"password\":\"" PASSWORD "\"}",
				     .no_token = true},
		     &a);
	assert_int_equal(a.status, 200);
	json_t *roles = json_object_get(a.json, "roles");
	assert_true(json_is_array(roles));
	assert_int_equal(json_array_size(roles), 1);
	assert_string_equal(json_string_value(json_array_get(roles, 0)), "Operator");
	h_answer_done(&a);
}

/* Whether the audit log has an entry with action and result (bounded wait: refusals are written
 * without waiting). */
static void expect_action(struct harness *h, const char *action, const char *result)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	for (;;) {
		json_t *a = h_get(h, "/api/v1/audit?limit=500", 200), *e;
		size_t i;
		bool found = false;
		json_array_foreach(json_object_get(a, "entries"), i, e) found |=
		    !strcmp(h_str(e, "action"), action) && !strcmp(h_str(e, "result"), result);
		json_decref(a);
		if (found)
			return;
		if (h_mono_ms() > end)
			fail_msg("no audit entry %s %s", action, result);
		h_sleep_ms(H_POLL_MS);
	}
}

static void test_audit_actions_are_noun_verb(void **state)
{
	struct harness *h = *state;
	char token[128], path[64];
	struct h_answer a;
	h_register_samples(h);
	int64_t id = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", 60000));
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)id);
	json_decref(h_call(h, "POST", path, NULL, 200));
	expect_action(h, "job.cancel", "ok");
	h_add_user_token(h, "rita", "Reader", NULL, token);
	const char *hdr[] = {NULL, NULL};
	char auth[200];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdr[0] = auth;
	h_request_ex(h,
		     &(struct h_req){.method = "POST",
				     .path = "/api/v1/hosts/local/services/async/stop",
				     .headers = hdr,
				     .no_token = true},
		     &a);
	assert_int_equal(a.status, 403);
	h_answer_done(&a);
	expect_action(h, "service.stop", "refused");
	h_request_ex(
	    h, &(struct h_req){.method = "POST", .path = path, .headers = hdr, .no_token = true},
	    &a);
	assert_int_equal(a.status, 403);
	h_answer_done(&a);
	expect_action(h, "job.cancel", "refused");
	/* no entry in another style */
	json_t *all = h_get(h, "/api/v1/audit?limit=500", 200), *e;
	size_t i;
	json_array_foreach(json_object_get(all, "entries"), i, e)
	{
		const char *act = h_str(e, "action");
		if (!strchr(act, '.') || strchr(act, ' ') || strchr(act, '/'))
			fail_msg("audit action '%s' is not noun.verb", act);
	}
	json_decref(all);
}

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_invalid_is_not_required, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ranges_are_whole_numbers, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_status_names_are_one_word, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_login_gives_role_names, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_audit_actions_are_noun_verb, h_setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
