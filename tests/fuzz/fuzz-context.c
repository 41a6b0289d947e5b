/* libFuzzer entry for the job data and execution-context builder: the input, taken as an event,
 * goes through events_make_jobs() (src/plugin/events.c) against a fixed registry of steps with
 * images, filtering attributes and impersonation; every job built must hold data within
 * job.max_data_bytes that ctx_init() (src/plugin/context.c) accepts, and the plug-in accessors are
 * called on it. The same input is also used as the data of a direct job. Any crash, leak,
 * sanitizer report or abort() is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/settings.h"
#include "plugin/context.h"
#include "plugin/events.h"
#include "plugin/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct reg_step steps[3];
static struct registry_snap snap = {.refs = 1, .steps = steps, .n_steps = 3};

static void step_init(struct reg_step *s, int64_t id, const char *message, const char *entity,
		      const char *filter, const char *images, const char *user)
{
	s->row.id = id;
	s->row.assembly_id = 1;
	s->row.plugin_type = (char *)"samples.echo";
	s->row.message = (char *)message;
	s->row.entity = (char *)entity;
	s->row.enabled = true;
	s->row.impersonating_user = (char *)user;
	s->filter = filter ? json_loads(filter, 0, NULL) : NULL;
	s->images = images ? json_loads(images, 0, NULL) : NULL;
}

static void setup(void)
{
	settings_init();
	step_init(&steps[0], 1, "Create", NULL, NULL,
		  "[{\"type\":\"pre\",\"alias\":\"before\",\"attributes\":[\"name\",\"n\"]},"
		  "{\"type\":\"post\",\"alias\":\"after\"}]",
		  NULL);
	step_init(&steps[1], 2, "Update", "account", "[\"name\",\"phone\"]",
		  "[{\"type\":\"post\",\"alias\":\"post\",\"attributes\":[]}]", "someone");
	step_init(&steps[2], 3, "Create", "contact", NULL, NULL, NULL);
}

/* Call every accessor a plug-in may call on the context of j. */
static void use_context(const struct job *j)
{
	struct asyncd_ctx c;
	int stop = 0;
	const struct asyncd_host_api *api = ctx_host_api();
	if (ctx_init(&c, j, "config", "secure", 4096, &stop) < 0)
		return;
	api->input_json(&c);
	api->input_string(&c, "name");
	api->input_int(&c, "n", 0);
	api->image_json(&c, "before");
	api->image_json(&c, "after");
	api->initiating_user(&c);
	api->user(&c);
	api->shared_variable(&c, "x");
	api->set_shared_variable(&c, "x", "1");
	api->trace(&c, "fuzz %d", api->depth(&c));
	api->message(&c);
	api->entity(&c);
	api->entity_id(&c);
	ctx_done(&c);
}

static void as_event(const char *p, size_t n, const struct settings *cfg)
{
	char err[512] = "";
	struct job_vec jobs = {0};
	struct event_origin o = {.user = "fuzz", .depth = (int)(n % 10)};
	json_t *ev = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (!ev)
		return;
	int rc = events_make_jobs(&snap, ev, &o, cfg, 1700000000000, &jobs, err, sizeof(err));
	if (rc < 0 && !err[0])
		abort();
	for (size_t i = 0; rc == 0 && i < jobs.n; i++) {
		if (!jobs.v[i].data || (int64_t)strlen(jobs.v[i].data) > cfg->max_data_bytes)
			abort();
		struct job copy = jobs.v[i];
		use_context(&copy);
	}
	job_vec_done(&jobs);
	json_decref(ev);
}

static void as_direct_job(const char *p, size_t n)
{
	char *text = malloc(n + 1);
	if (!text)
		return;
	memcpy(text, p, n);
	text[n] = 0;
	struct job j = {.id = 7, .operation_type = JOB_OP_EXECUTE_ASYNC, .data = text, .depth = 1};
	use_context(&j);
	j.operation_type = JOB_OP_SYSTEM_EVENT; /* stored data that claims to be an event's */
	use_context(&j);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct settings cfg;
	if (!ready) {
		setup();
		ready = 1;
	}
	settings_current(&cfg);
	cfg.max_data_bytes = 4096; /* small, so that the limit is reached */
	as_event((const char *)data, size, &cfg);
	as_direct_job((const char *)data, size);
	return 0;
}
