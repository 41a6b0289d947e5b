/* Unit tests of events -> jobs: validation, step matching (message, entity or any, enabled,
 * filtering attributes for Update, rank order), images and the depth guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/settings.h"
#include "plugin/events.h"

static struct reg_step steps[4];
static struct registry_snap snap = {.refs = 1, .steps = steps, .n_steps = 4};
static struct settings cfg;

static void set_step(int i, int64_t id, const char *type, const char *msg, const char *entity,
		     const char *filter, const char *images)
{
	memset(&steps[i], 0, sizeof(steps[i]));
	steps[i].row.id = id;
	steps[i].row.plugin_type = (char *)type;
	steps[i].row.message = (char *)msg;
	steps[i].row.entity = (char *)entity;
	steps[i].row.enabled = true;
	steps[i].row.assembly_id = 1;
	steps[i].filter = filter ? json_loads(filter, 0, NULL) : NULL;
	steps[i].images = images ? json_loads(images, 0, NULL) : NULL;
}

static int setup(void **state)
{
	(void)state;
	settings_init();
	settings_current(&cfg);
	set_step(0, 1, "s.a", "Create", "account", NULL, NULL);
	set_step(1, 2, "s.b", "Create", NULL, NULL,
		 "[{\"type\":\"pre\",\"alias\":\"before\",\"attributes\":[\"name\"]},"
		 "{\"type\":\"post\",\"alias\":\"after\",\"attributes\":[]}]");
	set_step(2, 3, "s.c", "Update", "account", "[\"name\",\"phone\"]", NULL);
	set_step(3, 4, "s.d", "Create", "contact", NULL, NULL);
	steps[3].row.enabled = false;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		json_decref(steps[i].filter);
		json_decref(steps[i].images);
	}
	return 0;
}

static size_t jobs_for(const char *event, struct job_vec *out)
{
	char err[256];
	struct event_origin o = {.user = "tester"};
	json_t *ev = json_loads(event, 0, NULL);
	assert_non_null(ev);
	memset(out, 0, sizeof(*out));
	assert_int_equal(events_make_jobs(&snap, ev, &o, &cfg, 1000, out, err, sizeof(err)), 0);
	json_decref(ev);
	return out->n;
}

static void matches_entity_or_any(void **state)
{
	(void)state;
	struct job_vec v;
	assert_int_equal(
	    jobs_for("{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":7}", &v), 2);
	assert_int_equal(v.v[0].step_id, 1);
	assert_int_equal(v.v[1].step_id, 2);
	assert_string_equal(v.v[0].regarding_id, "7");
	assert_string_equal(v.v[0].name, "account.Create: s.a");
	assert_int_equal(v.v[0].depth, 1);
	assert_string_equal(v.v[0].correlation_id, v.v[1].correlation_id);
	job_vec_done(&v);
	/* contact: only the any-entity step; the disabled contact step creates nothing */
	assert_int_equal(jobs_for("{\"message\":\"Create\",\"entity\":\"contact\"}", &v), 1);
	assert_int_equal(v.v[0].step_id, 2);
	job_vec_done(&v);
	assert_int_equal(jobs_for("{\"message\":\"Delete\",\"entity\":\"account\"}", &v), 0);
	job_vec_done(&v);
}

static void update_needs_a_filtering_attribute(void **state)
{
	(void)state;
	struct job_vec v;
	assert_int_equal(jobs_for("{\"message\":\"Update\",\"entity\":\"account\","
				  "\"target\":{\"email\":\"x\"}}",
				  &v),
			 0);
	job_vec_done(&v);
	assert_int_equal(jobs_for("{\"message\":\"Update\",\"entity\":\"account\","
				  "\"target\":{\"phone\":\"1\"}}",
				  &v),
			 1);
	job_vec_done(&v);
}

static void images_are_copied(void **state)
{
	(void)state;
	struct job_vec v;
	jobs_for("{\"message\":\"Create\",\"entity\":\"lead\",\"pre_image\":{\"name\":\"A\","
		 "\"x\":1},\"post_image\":{\"name\":\"B\",\"y\":2}}",
		 &v);
	assert_int_equal(v.n, 1);
	json_t *data = json_loads(v.v[0].data, 0, NULL);
	json_t *images = json_object_get(data, "images");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(images, "before"), "name")), "A");
	assert_null(json_object_get(json_object_get(images, "before"), "x"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(images, "after"), "y")),
			 2);
	json_decref(data);
	job_vec_done(&v);
}

static void depth_guard_fails_deep_jobs(void **state)
{
	(void)state;
	char err[256];
	struct job_vec v = {0};
	struct event_origin o = {.depth = cfg.max_depth,
				 .correlation_id = "11111111-2222-4333-8444-555555555555",
				 .chain_started_on = 900};
	json_t *ev = json_loads("{\"message\":\"Create\",\"entity\":\"account\"}", 0, NULL);
	assert_int_equal(events_make_jobs(&snap, ev, &o, &cfg, 1000, &v, err, sizeof(err)), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.v[0].depth, cfg.max_depth + 1);
	assert_int_equal(v.v[0].state, JOB_COMPLETED);
	assert_int_equal(v.v[0].status, JOB_ST_FAILED);
	assert_string_equal(v.v[0].error_code, "infinite_loop");
	assert_string_equal(v.v[0].correlation_id, o.correlation_id);
	job_vec_done(&v);
	/* an old chain starts counting again */
	o.chain_started_on = 1000 - cfg.depth_window_ms - 1;
	assert_int_equal(events_make_jobs(&snap, ev, &o, &cfg, 1000, &v, err, sizeof(err)), 0);
	assert_int_equal(v.v[0].depth, 1);
	assert_int_equal(v.v[0].state, JOB_READY);
	job_vec_done(&v);
	json_decref(ev);
}

static void bad_events_are_refused(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "[]",
	    "{}",
	    "{\"message\":\"\"}",
	    "{\"message\":\"Cre ate\"}",
	    "{\"message\":\"Create\",\"entity\":5}",
	    "{\"message\":\"Create\",\"target\":[]}",
	    "{\"message\":\"Create\",\"correlation_id\":\"nope\"}",
	    "{\"message\":\"Create\",\"entity_id\":{}}",
	};
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *ev = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		err[0] = 0;
		assert_int_equal(events_validate(ev, err, sizeof(err)), AE_INVAL);
		assert_true(strlen(err) > 10);
		json_decref(ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(matches_entity_or_any),
	    cmocka_unit_test(update_needs_a_filtering_attribute),
	    cmocka_unit_test(images_are_copied),
	    cmocka_unit_test(depth_guard_fails_deep_jobs),
	    cmocka_unit_test(bad_events_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
