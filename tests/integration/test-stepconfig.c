/* A step's configuration (issue 9, items 9 and 10): every field can be patched, a patch applies to
 * the runs that start after it, it is audited without secrets, and a configuration the type's
 * create() refuses is refused when the step is added or patched (422 with the plug-in's words),
 * not at every job later. Uses gate.strict (tests/plugins/gate_create.c): create() accepts only a
 * configuration starting with "ok" and a secure configuration other than "bad", and its runs
 * report the configuration their instance was made with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define GATE "tests/plugins/gate_create.so"

static const char *error_message(json_t *a)
{
	return h_str(json_object_get(a, "error"), "message");
}

static int64_t add_strict(struct harness *h, const char *config)
{
	json_t *a = h_call(h, "POST", "/api/v1/steps",
			   json_pack("{s:s,s:s,s:s,s:s}", "plugin_type", "gate.strict", "message",
				     "Update", "entity", "account", "configuration", config),
			   201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	return id;
}

static json_t *patch(struct harness *h, int64_t id, json_t *body, long want)
{
	char p[64];
	return h_call(h, "PATCH", h_path(p, sizeof(p), "/api/v1/steps/%lld", (long long)id), body,
		      want);
}

static json_t *get_step(struct harness *h, int64_t id)
{
	char p[64];
	return h_get(h, h_path(p, sizeof(p), "/api/v1/steps/%lld", (long long)id), 200);
}

/* Raise an Update of an account and return the output's "config" of its one job. */
static char *run_once(struct harness *h)
{
	json_t *jobs = h_raise(h, json_pack("{s:s,s:s,s:s}", "message", "Update", "entity",
					    "account", "entity_id", "a1"));
	assert_int_equal(json_array_size(jobs), 1);
	int64_t id = h_int(json_array_get(jobs, 0), "id");
	json_decref(jobs);
	json_t *j = h_wait_job(h, id, 30000);
	assert_string_equal(h_str(j, "status_name"), "Succeeded");
	json_t *out = json_object_get(j, "output");
	const char *c = h_str(out, "config");
	char *copy = strdup(c ? c : "");
	json_decref(j);
	return copy;
}

static void upload_gate(struct harness *h, const char *isolation)
{
	json_decref(h_upload(h, GATE, isolation, 201));
}

/* Adding a step whose configuration create() refuses answers 422 with its message and stores
 * nothing; an accepted one runs with it. */
static void test_add_checks_configuration(void **state)
{
	struct harness *h = *state;
	upload_gate(h, "none");
	json_t *a = h_call(h, "POST", "/api/v1/steps",
			   json_pack("{s:s,s:s,s:s}", "plugin_type", "gate.strict", "message",
				     "Update", "configuration", "nope"),
			   422);
	assert_string_equal(h_error_code(a), "plugin_create_failed");
	h_expect_text(error_message(a), "must start with \"ok\"", "refused step");
	json_decref(a);
	a = h_call(h, "POST", "/api/v1/steps",
		   json_pack("{s:s,s:s,s:s,s:s}", "plugin_type", "gate.strict", "message", "Update",
			     "configuration", "ok1", "secure_configuration", "bad"),
		   422);
	h_expect_text(error_message(a), "secure configuration is not accepted", "refused step");
	json_decref(a);
	a = h_get(h, "/api/v1/steps", 200);
	assert_int_equal(json_array_size(json_object_get(a, "steps")), 0);
	json_decref(a);
	add_strict(h, "ok1");
	char *c = run_once(h);
	assert_string_equal(c, "ok1");
	free(c);
	h_stop(h);
}

/* A patched configuration reaches the runs that start after it, in the host and in the
 * sandbox; a refused one changes nothing. */
static void patch_reaches_runs(struct harness *h)
{
	int64_t id = add_strict(h, "ok1");
	char *c = run_once(h);
	assert_string_equal(c, "ok1");
	free(c);
	json_t *a = patch(h, id, json_pack("{s:s}", "configuration", "ok2"), 200);
	assert_string_equal(h_str(a, "configuration"), "ok2");
	json_decref(a);
	c = run_once(h);
	assert_string_equal(c, "ok2");
	free(c);
	a = patch(h, id, json_pack("{s:s}", "configuration", "nope"), 422);
	h_expect_text(error_message(a), "must start with \"ok\"", "refused patch");
	json_decref(a);
	a = get_step(h, id);
	assert_string_equal(h_str(a, "configuration"), "ok2");
	json_decref(a);
	c = run_once(h);
	assert_string_equal(c, "ok2");
	free(c);
}

static void test_patch_reaches_runs_in_host(void **state)
{
	struct harness *h = *state;
	upload_gate(h, "none");
	patch_reaches_runs(h);
	h_stop(h);
}

static void test_patch_reaches_runs_in_sandbox(void **state)
{
	struct harness *h = *state;
	upload_gate(h, "sandbox");
	patch_reaches_runs(h);
	h_stop(h);
}

/* Every field can be patched; null clears; the type cannot change; the audit names the fields,
 * never a value. */
static void test_patch_every_field(void **state)
{
	struct harness *h = *state;
	upload_gate(h, "none");
	int64_t id = add_strict(h, "ok1");
	json_t *a =
	    patch(h, id,
		  json_pack("{s:s,s:s,s:i,s:[s],s:s,s:b,s:[{s:s,s:s}],s:s}", "name", "renamed",
			    "entity", "contact", "rank", 7, "filtering_attributes", "email",
			    "secure_configuration", "s3cret-value", "async_auto_delete", 1,
			    "images", "type", "pre", "alias", "before", "message", "Assign"),
		  200);
	json_decref(a);
	a = get_step(h, id);
	assert_string_equal(h_str(a, "name"), "renamed");
	assert_string_equal(h_str(a, "entity"), "contact");
	assert_string_equal(h_str(a, "message"), "Assign");
	assert_int_equal(h_int(a, "rank"), 7);
	assert_true(json_is_true(json_object_get(a, "async_auto_delete")));
	assert_true(json_is_true(json_object_get(a, "has_secure_configuration")));
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(a, "filtering_attributes"), 0)),
	    "email");
	assert_string_equal(h_str(json_array_get(json_object_get(a, "images"), 0), "alias"),
			    "before");
	assert_string_equal(h_str(a, "configuration"), "ok1"); /* not named: kept */
	json_decref(a);
	a = patch(h, id,
		  json_pack("{s:n,s:n,s:n,s:n}", "filtering_attributes", "images", "entity",
			    "secure_configuration"),
		  200);
	json_decref(a);
	a = get_step(h, id);
	assert_true(json_is_null(json_object_get(a, "filtering_attributes")));
	assert_true(json_is_null(json_object_get(a, "images")));
	assert_true(json_is_null(json_object_get(a, "entity")));
	assert_false(json_is_true(json_object_get(a, "has_secure_configuration")));
	json_decref(a);
	a = patch(h, id, json_pack("{s:s}", "plugin_type", "gate.held"), 400);
	h_expect_text(error_message(a), "cannot be changed", "type patch");
	json_decref(a);
	json_decref(patch(h, id, json_pack("{s:i}", "rank", 0), 400));
	json_decref(patch(h, id, json_pack("{s:s}", "nonsense", "x"), 400));
	json_decref(patch(h, id, json_object(), 400));
	json_decref(patch(h, 999999, json_pack("{s:i}", "rank", 2), 404));
	a = h_get(h, "/api/v1/audit?limit=200", 200);
	char *text = json_dumps(a, 0);
	h_expect_text(text, "step.patch", "audit");
	h_expect_text(text, "secure_configuration", "audit");
	h_expect_no_text(text, "s3cret-value", "audit");
	free(text);
	json_decref(a);
	h_stop(h);
}

/* A draining step cannot be patched (409 naming the drain). */
static void test_patch_refused_while_draining(void **state)
{
	struct harness *h = *state;
	char p[80];
	upload_gate(h, "none");
	int64_t id = add_strict(h, "ok1");
	json_decref(h_service_act(h, "async", "stop", 200));
	json_decref(h_wait_service(h, "async", "stopped", 30000));
	json_decref(h_raise(h, json_pack("{s:s,s:s,s:s}", "message", "Update", "entity", "account",
					 "entity_id", "a1")));
	json_decref(h_call(h, "DELETE",
			   h_path(p, sizeof(p), "/api/v1/steps/%lld?mode=drain", (long long)id),
			   NULL, 202));
	json_t *a = patch(h, id, json_pack("{s:s}", "configuration", "ok2"), 409);
	h_expect_text(error_message(a), "being deleted", "patch of a draining step");
	json_decref(a);
	h_stop(h);
}

/* asyncctl step set changes fields and says which; a refusal is exit 1 with the reason. */
static void test_ctl_step_set(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;
	char ids[32];
	upload_gate(h, "none");
	snprintf(ids, sizeof(ids), "%lld", (long long)add_strict(h, "ok1"));
	h_ctl(h, &c, "step", "set", ids, "--config", "ok3", "--rank", "4", NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.out, "configuration", "asyncctl step set");
	h_cmd_done(&c);
	json_t *a = get_step(h, atoll(ids));
	assert_string_equal(h_str(a, "configuration"), "ok3");
	assert_int_equal(h_int(a, "rank"), 4);
	json_decref(a);
	h_ctl(h, &c, "step", "set", ids, "--config", "bad", NULL);
	assert_int_equal(c.status, 1);
	h_expect_text(c.err, "must start with \"ok\"", "asyncctl step set refused");
	h_cmd_done(&c);
	h_ctl(h, &c, "step", "set", ids, "--clear", "config", NULL);
	assert_int_equal(c.status, 1); /* create() needs one */
	h_cmd_done(&c);
	h_ctl(h, &c, "step", "set", ids, NULL);
	assert_int_equal(c.status, 2);
	h_cmd_done(&c);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_add_checks_configuration, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_patch_reaches_runs_in_host, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_patch_reaches_runs_in_sandbox, h_setup,
					    h_teardown),
	    /* as the packaged unit runs it: asyncd as an unprivileged user */
	    cmocka_unit_test_setup_teardown(test_add_checks_configuration, h_setup_unprivileged,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_patch_reaches_runs_in_sandbox,
					    h_setup_unprivileged, h_teardown),
	    cmocka_unit_test_setup_teardown(test_patch_every_field, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_patch_refused_while_draining, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_ctl_step_set, h_setup, h_teardown),
	};
	h_filter_from_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
