/* Integration tests of asyncd's logs (issue 11 item 2): with --log-format json every line of the
 * log is a JSON object with time, level, module and message; an error answer carries a request id
 * (the X-Request-Id header and the error's "request_id") that finds its record in the log; a
 * caller's own X-Request-Id is kept; a failed job is one record with job_id, plugin_type, host
 * and error_code; the text format puts the same fields after the message as key=value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "harness.h"

static int setup_json(void **state)
{
	struct harness *h = h_start();
	*state = h;
	h_restart_args(h, "--log-format", "json", NULL);
	return 0;
}

/* The value of header name in the answer's header lines (into buf), or NULL. */
static const char *header(const char *headers, const char *name, char *buf, size_t n)
{
	size_t len = strlen(name);
	for (const char *p = headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncasecmp(p, name, len) && p[len] == ':') {
			const char *v = p + len + 1;
			v += strspn(v, " ");
			snprintf(buf, n, "%.*s", (int)strcspn(v, "\r\n"), v);
			return buf;
		}
	}
	return NULL;
}

static char *read_log(struct harness *h)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/asyncd.log", h->dir);
	char *s = h_read_file(path, NULL);
	if (!s)
		fail_msg("cannot read %s", path);
	return s;
}

/* Every line of the log parses as a JSON object with the four members; returns them (the caller
 * owns the array). */
static json_t *json_records(struct harness *h)
{
	char *text = read_log(h);
	json_t *all = json_array();
	int line = 0;
	for (char *p = text, *next; p && *p; p = next) {
		next = strchr(p, '\n');
		if (next)
			*next++ = 0;
		line++;
		json_error_t e;
		json_t *o = json_loads(p, 0, &e);
		if (!json_is_object(o))
			fail_msg("log line %d is not a JSON object (%s): %s", line, e.text, p);
		for (const char **k = (const char *[]){"time", "level", "module", "message", NULL};
		     *k; k++)
			if (!json_is_string(json_object_get(o, *k)))
				fail_msg("log line %d has no string \"%s\": %s", line, *k, p);
		json_array_append_new(all, o);
	}
	free(text);
	if (line == 0)
		fail_msg("the log is empty");
	return all;
}

/* The first record whose member key is the string want (or integer, when want_int >= 0). */
static json_t *find_record(json_t *all, const char *key, const char *want, long long want_int)
{
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o)
	{
		json_t *v = json_object_get(o, key);
		if (want && json_is_string(v) && !strcmp(json_string_value(v), want))
			return o;
		if (!want && json_is_integer(v) && json_integer_value(v) == want_int)
			return o;
	}
	return NULL;
}

/* GET a job that does not exist; returns the request id of the 404 (header and body agree). */
static void error_answer(struct harness *h, const char *const *headers, char *id, size_t n)
{
	struct h_answer a;
	char hdr[128];
	h_request_ex(
	    h,
	    &(struct h_req){.method = "GET", .path = "/api/v1/jobs/987654321", .headers = headers},
	    &a);
	assert_int_equal(a.status, 404);
	const char *body_id = h_str(json_object_get(a.json, "error"), "request_id");
	if (!body_id || !header(a.headers, "X-Request-Id", hdr, sizeof(hdr)))
		fail_msg("a 404 without its request id in the body and the header: %s %s",
			 a.headers, a.text);
	assert_string_equal(body_id, hdr);
	snprintf(id, n, "%s", body_id);
	h_answer_done(&a);
}

static json_t *wait_record(struct harness *h, const char *key, const char *want, long long want_int)
{
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	for (;;) {
		json_t *all = json_records(h);
		json_t *o = find_record(all, key, want, want_int);
		if (o) {
			json_incref(o);
			json_decref(all);
			return o;
		}
		json_decref(all);
		if (h_mono_ms() > end)
			fail_msg("no log record with %s = %s%lld", key, want ? want : "",
				 want ? 0 : want_int);
		h_sleep_ms(H_POLL_MS);
	}
}

static void test_json_error_answer_found_by_request_id(void **state)
{
	struct harness *h = *state;
	char id[80];
	error_answer(h, NULL, id, sizeof(id));
	json_t *rec = wait_record(h, "request_id", id, -1);
	assert_string_equal(h_str(rec, "module"), "api");
	assert_string_equal(h_str(rec, "level"), "info");
	assert_string_equal(h_str(rec, "error_code"), "not_found");
	assert_int_equal(h_int(rec, "status"), 404);
	assert_string_equal(h_str(rec, "path"), "/api/v1/jobs/987654321");
	json_decref(rec);
}

static void test_callers_request_id_kept(void **state)
{
	struct harness *h = *state;
	char id[80];
	error_answer(h, (const char *const[]){"X-Request-Id: support-ticket-42", NULL}, id,
		     sizeof(id));
	assert_string_equal(id, "support-ticket-42");
	json_decref(wait_record(h, "request_id", "support-ticket-42", -1));
	/* one that is not a plain token is replaced */
	error_answer(h, (const char *const[]){"X-Request-Id: a b\"c", NULL}, id, sizeof(id));
	assert_int_equal(strlen(id), 16);
}

static void test_failed_job_record(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	int64_t id = h_submit(h, json_pack("{s:s}", "plugin_type", "samples.fail"));
	json_decref(h_wait_job(h, id, H_WAIT_TIMEOUT_MS));
	json_t *rec = wait_record(h, "job_id", NULL, id);
	assert_string_equal(h_str(rec, "module"), "engine");
	assert_string_equal(h_str(rec, "level"), "warn");
	assert_string_equal(h_str(rec, "plugin_type"), "samples.fail");
	assert_non_null(h_str(rec, "error_code"));
	assert_non_null(h_str(rec, "host"));
	json_decref(rec);
}

static void test_text_format_fields(void **state)
{
	struct harness *h = *state;
	char id[80], want[128];
	h_stop(h);
	h_restart(h); /* the default: text */
	error_answer(h, NULL, id, sizeof(id));
	snprintf(want, sizeof(want), "request_id=%s", id);
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	for (;;) {
		char *text = read_log(h);
		bool found = strstr(text, want) != NULL;
		if (found)
			h_expect_text(
			    strstr(text, "info api: GET /api/v1/jobs/987654321 answered 404"),
			    "error_code=not_found", "the text record");
		free(text);
		if (found)
			break;
		if (h_mono_ms() > end)
			fail_msg("no \"%s\" in the text log", want);
		h_sleep_ms(H_POLL_MS);
	}
	h_stop(h);
}

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_error_answer_found_by_request_id),
	    cmocka_unit_test(test_callers_request_id_kept),
	    cmocka_unit_test(test_failed_job_record),
	    cmocka_unit_test(test_text_format_fields),
	};
	return cmocka_run_group_tests(tests, setup_json, h_teardown);
}
