/* Integration tests of the roles of SPEC §6 against the real asyncd: a Submitter reads only the
 * jobs it submitted or whose events it raised (others answer 404 and are not listed) and nothing
 * else; a Reader reads but changes nothing and sees no users, tokens or audit; an Operator acts on
 * jobs. A refusal is 403 naming the role needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* method path (JSON body or NULL) with token: the status must be want; returns the answer. */
static json_t *as(struct harness *h, const char *token, const char *method, const char *path,
		  const char *body, long want)
{
	long status;
	struct h_client *c = h_client_token(h, token);
	json_t *a = h_client_request(c, method, path, body ? "application/json" : NULL, body,
				     body ? strlen(body) : 0, &status);
	if (status != want)
		fail_msg("%s %s: HTTP %ld instead of %ld: %s", method, path, status, want,
			 h_client_last(c));
	h_client_free(c);
	if (want == 403 && !strstr(h_str(json_object_get(a, "error"), "message"), "role"))
		fail_msg("%s %s: the 403 does not name the role needed", method, path);
	return a;
}

static void as_ok(struct harness *h, const char *token, const char *path, long want)
{
	json_decref(as(h, token, "GET", path, NULL, want));
}

/* The ids of GET path (a job list) as token, in a bit set of small ids. */
static unsigned listed_at(struct harness *h, const char *token, const char *path)
{
	json_t *a = as(h, token, "GET", path, NULL, 200);
	size_t i;
	json_t *j;
	unsigned set = 0;
	json_array_foreach(json_object_get(a, "jobs"), i, j)
	{
		if (!h_is_maintenance_job(j)) /* every server has them (docs/system-jobs.md) */
			set |= 1u << h_int(j, "id");
	}
	json_decref(a);
	return set;
}

static unsigned listed(struct harness *h, const char *token)
{
	return listed_at(h, token, "/api/v1/jobs");
}

static int64_t submit_as(struct harness *h, const char *token)
{
	json_t *a = as(
	    h, token, "POST", "/api/v1/jobs",
	    "{\"plugin_type\":\"samples.noop\",\"postpone_until\":\"2999-01-01T00:00:00Z\"}", 201);
	int64_t id = h_int(a, "id");
	json_decref(a);
	return id;
}

static void test_submitter_reads_only_its_jobs(void **state)
{
	struct harness *h = *state;
	char sam[128], sue[128], path[64];

	h_register_samples(h);
	h_add_simple_step(h, "samples.sleep", "Create", "account");
	h_add_user_token(h, "sam", "Submitter", NULL, sam);
	h_add_user_token(h, "sue", "Submitter", NULL, sue);
	int64_t mine = submit_as(h, sam), theirs = submit_as(h, sue);
	int64_t admins = h_submit(h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
					       "postpone_until", "2999-01-01T00:00:00Z"));
	json_t *r =
	    as(h, sam, "POST", "/api/v1/events",
	       "{\"message\":\"Create\",\"entity\":\"account\",\"target\":{\"ms\":1}}", 201);
	int64_t raised = h_int(json_array_get(json_object_get(r, "jobs"), 0), "id");
	json_decref(r);
	assert_int_equal(listed(h, sam), (1u << mine) | (1u << raised));
	assert_int_equal(listed(h, sue), 1u << theirs);
	as_ok(h, sam, h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)mine), 200);
	as_ok(h, sam, h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)raised), 200);
	json_t *a =
	    as(h, sam, "GET", h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)theirs),
	       NULL, 404);
	assert_string_equal(h_error_code(a), "not_found");
	json_decref(a);
	as_ok(h, sam, h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)admins), 404);
	/* the administrator still reads every job */
	assert_int_equal(listed(h, h->token),
			 (1u << mine) | (1u << theirs) | (1u << admins) | (1u << raised));
	/* owner= filters the list for the other roles; a Submitter's own name always wins */
	assert_int_equal(listed_at(h, h->token, "/api/v1/jobs?owner=sam"),
			 (1u << mine) | (1u << raised));
	assert_int_equal(listed_at(h, h->token, "/api/v1/jobs?owner=sue"), 1u << theirs);
	assert_int_equal(listed_at(h, sam, "/api/v1/jobs?owner=sue"),
			 (1u << mine) | (1u << raised));
	h_stop(h);
}

static void test_submitter_reads_nothing_else(void **state)
{
	struct harness *h = *state;
	static const char *const refused[] = {
	    "/api/v1/jobs/stats", "/api/v1/settings", "/api/v1/assemblies", "/api/v1/steps",
	    "/api/v1/steps/1",	  "/api/v1/users",    "/api/v1/tokens",	    "/api/v1/audit",
	    "/api/v1/services",	  "/api/v1/hosts",
	};
	char sam[128];

	h_add_user_token(h, "sam", "Submitter", NULL, sam);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		as_ok(h, sam, refused[i], 403);
	as_ok(h, sam, "/api/v1/whoami", 200);
	h_stop(h);
}

static void test_reader_and_operator(void **state)
{
	struct harness *h = *state;
	static const char *const readable[] = {
	    "/api/v1/jobs",  "/api/v1/jobs/stats", "/api/v1/settings", "/api/v1/assemblies",
	    "/api/v1/steps", "/api/v1/services",   "/api/v1/hosts",    "/api/v1/whoami",
	};
	static const char *const admin_only[] = {"/api/v1/users", "/api/v1/tokens",
						 "/api/v1/audit"};
	char rita[128], olga[128], path[64];

	h_register_samples(h);
	h_add_user_token(h, "rita", "Reader", NULL, rita);
	h_add_user_token(h, "olga", "Operator", NULL, olga);
	int64_t job = h_submit(h, json_pack("{s:s,s:s}", "plugin_type", "samples.noop",
					    "postpone_until", "2999-01-01T00:00:00Z"));
	for (size_t i = 0; i < sizeof(readable) / sizeof(readable[0]); i++) {
		as_ok(h, rita, readable[i], 200);
		as_ok(h, olga, readable[i], 200);
	}
	for (size_t i = 0; i < sizeof(admin_only) / sizeof(admin_only[0]); i++) {
		as_ok(h, rita, admin_only[i], 403);
		as_ok(h, olga, admin_only[i], 403);
	}
	as_ok(h, rita, h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)job), 200);
	h_path(path, sizeof(path), "/api/v1/jobs/%lld/cancel", (long long)job);
	json_decref(as(h, rita, "POST", path, NULL, 403));
	json_decref(as(h, rita, "POST", "/api/v1/jobs", "{\"plugin_type\":\"samples.noop\"}", 403));
	json_decref(as(h, olga, "POST", path, NULL, 200));
	json_decref(as(h, olga, "PATCH", "/api/v1/settings", "{\"async.max_retries\":3}", 403));
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_submitter_reads_only_its_jobs, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_submitter_reads_nothing_else, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_reader_and_operator, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("roles", tests, NULL, NULL);
}
