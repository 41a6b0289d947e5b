/* Integration tests of the real asyncctl against the real asyncd: set-up from the shell (assembly
 * register, step add, setting set/get), events with --wait and from an NDJSON file, --json
 * answers that parse, and the documented exit statuses (0 ok, 1 refused or not succeeded, 2 usage,
 * 3 unreachable). Each test runs its own server. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define FILE_EVENTS 100

static void expect_exit(const struct h_cmd *c, int status, const char *what)
{
	if (c->status == status)
		return;
	fprintf(stderr, "# %s\n# stdout:\n%s\n# stderr:\n%s\n", what, c->out, c->err);
	fail_msg("%s: exit %d instead of %d", what, c->status, status);
}

/* The id a creating verb prints alone on stdout. */
static int64_t printed_id(const struct h_cmd *c)
{
	char *end;
	long long id = strtoll(c->out, &end, 10);

	while (isspace((unsigned char)*end))
		end++;
	if (id <= 0 || *end)
		fail_msg("expected an id alone on stdout, got: %s", c->out);
	return id;
}

static void ctl_register_samples(struct harness *h)
{
	char path[1200];
	struct h_cmd c;

	snprintf(path, sizeof(path), "%s/plugins/samples/samples.so", h->build);
	h_ctl(h, &c, "assembly", "register", path, NULL);
	expect_exit(&c, 0, "assembly register");
	h_expect_text(c.out, "samples", "assembly register");
	h_expect_text(c.out, "1.0.0.0", "assembly register");
	h_cmd_done(&c);
}

static int64_t ctl_add_step(struct harness *h, const char *type)
{
	struct h_cmd c;

	h_ctl(h, &c, "step", "add", "--type", type, "--message", "Create", "--entity", "account",
	      NULL);
	expect_exit(&c, 0, "step add");
	int64_t id = printed_id(&c);
	h_cmd_done(&c);
	return id;
}

static void test_cli_raise_and_wait(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;

	ctl_register_samples(h);
	int64_t step = ctl_add_step(h, "samples.echo");
	h_ctl(h, &c, "event", "raise", "--message", "Create", "--entity", "account", "--id", "42",
	      "--target", "{\"name\":\"Contoso\"}", "--wait", NULL);
	expect_exit(&c, 0, "event raise --wait");
	h_expect_text(c.out, "Succeeded", "event raise --wait");
	h_cmd_done(&c);
	json_t *all = h_all_jobs(h);
	assert_int_equal(json_array_size(all), 1);
	json_t *j = json_array_get(all, 0);
	assert_int_equal(h_int(j, "step_id"), step);
	assert_int_equal(h_int(j, "status"), 30);
	assert_string_equal(h_str(j, "regarding_id"), "42");
	assert_string_equal(h_str(json_object_get(j, "output"), "name"), "Contoso");
	json_decref(all);
	h_stop(h);
}

static json_t *parse_out(const struct h_cmd *c, const char *what)
{
	json_error_t e;
	json_t *v = json_loads(c->out, 0, &e);

	if (!v)
		fail_msg("%s: --json printed no JSON (%s): %s", what, e.text, c->out);
	return v;
}

static void test_cli_job_json(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;
	char id_text[32];

	ctl_register_samples(h);
	h_ctl(h, &c, "job", "submit", "samples.echo", "--data", "{\"k\":\"v\"}", NULL);
	expect_exit(&c, 0, "job submit");
	int64_t id = printed_id(&c);
	h_cmd_done(&c);
	json_decref(h_wait_job(h, id, H_WAIT_TIMEOUT_MS));
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	h_ctl(h, &c, "job", "show", id_text, "--json", NULL);
	expect_exit(&c, 0, "job show --json");
	json_t *j = parse_out(&c, "job show");
	assert_int_equal(h_int(j, "id"), id);
	assert_int_equal(h_int(j, "status"), 30);
	assert_string_equal(h_str(json_object_get(j, "output"), "k"), "v");
	h_expect_text(h_str(j, "trace"), "samples version 1.0.0.0", "job show trace");
	json_decref(j);
	h_cmd_done(&c);
	h_ctl(h, &c, "--json", "job", "list", "--state", "Completed", NULL);
	expect_exit(&c, 0, "job list --json");
	j = parse_out(&c, "job list");
	assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
	json_decref(j);
	h_cmd_done(&c);
	h_stop(h);
}

static void test_cli_refusals_exit_1(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;

	ctl_register_samples(h);
	h_ctl(h, &c, "job", "submit", "samples.fail", "--data", "{\"message\":\"no luck\"}",
	      "--wait", NULL);
	expect_exit(&c, 1, "job submit samples.fail --wait");
	h_expect_text(c.out, "Failed", "job submit samples.fail --wait");
	h_cmd_done(&c);
	h_ctl(h, &c, "job", "show", "999999", NULL);
	expect_exit(&c, 1, "job show of a missing job");
	h_expect_text(c.err, "not_found", "job show of a missing job");
	h_cmd_done(&c);
	h_ctl(h, &c, "job", "resume", "1", NULL);
	expect_exit(&c, 1, "job resume of a Completed job");
	h_expect_text(c.err, "conflict", "job resume of a Completed job");
	h_cmd_done(&c);
	h_ctl(h, &c, "step", "add", "--type", "samples.nope", "--message", "Create", NULL);
	expect_exit(&c, 1, "step add of an unknown type");
	h_cmd_done(&c);
	h_stop(h);
}

static void test_cli_usage_exit_2(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;

	h_ctl(h, &c, "job", "list", "--bogus", NULL);
	expect_exit(&c, 2, "job list --bogus");
	h_expect_text(c.err, "usage", "job list --bogus");
	h_cmd_done(&c);
	h_ctl(h, &c, "job", "frobnicate", NULL);
	expect_exit(&c, 2, "job frobnicate");
	h_cmd_done(&c);
	h_ctl(h, &c, "event", "raise", "--entity", "account", NULL); /* no --message */
	expect_exit(&c, 2, "event raise without --message");
	h_cmd_done(&c);
	assert_int_equal(h_count(h, -1), 0);
	h_stop(h);
}

static void test_cli_unreachable_exit_3(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;

	h_ctl(h, &c, "--url", "http://127.0.0.1:1", "job", "list", NULL);
	expect_exit(&c, 3, "job list at port 1");
	h_cmd_done(&c);
	h_stop(h);
	h_ctl(h, &c, "job", "list", NULL); /* the state dir names the stopped server */
	expect_exit(&c, 3, "job list with the server stopped");
	h_cmd_done(&c);
}

static void test_cli_settings(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;

	h_ctl(h, &c, "setting", "set", "async.max_retries", "4", NULL);
	expect_exit(&c, 0, "setting set");
	h_cmd_done(&c);
	h_ctl(h, &c, "setting", "get", "async.max_retries", NULL);
	expect_exit(&c, 0, "setting get");
	assert_string_equal(c.out, "4\n");
	h_cmd_done(&c);
	h_ctl(h, &c, "setting", "set", "async.max_retries", "5000", NULL);
	expect_exit(&c, 1, "setting set out of range");
	h_cmd_done(&c);
	json_t *s = h_get(h, "/api/v1/settings", 200);
	assert_int_equal(h_int(s, "async.max_retries"), 4);
	json_decref(s);
	h_stop(h);
}

static void write_events_file(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (int i = 0; i < FILE_EVENTS; i++)
		fprintf(f, "{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":\"%d\"}\n",
			i);
	fclose(f);
}

static void test_cli_event_file(void **state)
{
	struct harness *h = *state;
	struct h_cmd c;
	char path[300], want[64];

	ctl_register_samples(h);
	ctl_add_step(h, "samples.noop");
	snprintf(path, sizeof(path), "%s/events.ndjson", h->dir);
	write_events_file(path);
	h_ctl(h, &c, "event", "raise", "--file", path, NULL);
	expect_exit(&c, 0, "event raise --file");
	snprintf(want, sizeof(want), "%d events raised, %d jobs created", FILE_EVENTS, FILE_EVENTS);
	h_expect_text(c.out, want, "event raise --file");
	h_cmd_done(&c);
	json_t *stats;
	h_wait_all(h, H_WAIT_TIMEOUT_MS, &stats);
	assert_int_equal(h_int(json_object_get(stats, "by_status"), "30"), FILE_EVENTS);
	json_decref(stats);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cli_raise_and_wait, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_job_json, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_refusals_exit_1, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_usage_exit_2, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_unreachable_exit_3, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_settings, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_event_file, h_setup, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
