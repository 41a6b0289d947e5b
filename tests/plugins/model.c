/* Test plug-in of the randomized model test (tests/integration/test-model.c): the assembly
 * "model", built at three revisions (MODEL_VERSION). Every type first traces which build runs
 * it ("model build 1.0.1.0"), so that the test can tell from a job's attempts which code ran
 * each run, then behaves as its name says:
 *   fast       succeeds at once
 *   slow       sleeps the input's "ms" (default 500), stopping when asked, then succeeds
 *   failing    fails permanently
 *   attention  needs attention (waits for a person to resume it)
 *   postponed  fails transiently with a delay of an hour (waits, postponed) */
#include <stdint.h>
#include <time.h>

#include "asyncd/plugin.h"

#ifndef MODEL_VERSION
#define MODEL_VERSION "1.0.0.0"
#endif

#define SLICE_MS 10
#define POSTPONE_MS (3600 * 1000)

typedef const struct asyncd_host_api api_t;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mark(asyncd_ctx *ctx, api_t *api)
{
	api->trace(ctx, "model build %s", MODEL_VERSION);
	api->set_output(ctx, "{\"build\":\"" MODEL_VERSION "\"}");
}

static int fast_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	mark(ctx, api);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "done by build %s", MODEL_VERSION);
}

static int slow_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	struct timespec slice = {0, SLICE_MS * 1000000L};

	(void)instance;
	mark(ctx, api);
	int64_t end = mono_ms() + api->input_int(ctx, "ms", 500);
	while (mono_ms() < end) {
		if (api->should_stop(ctx))
			return api->result(ctx, ASYNCD_FAIL_TRANSIENT, -1,
					   "interrupted in build %s", MODEL_VERSION);
		nanosleep(&slice, NULL);
	}
	return api->result(ctx, ASYNCD_SUCCESS, -1, "done by build %s", MODEL_VERSION);
}

static int failing_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	mark(ctx, api);
	return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "failed in build %s", MODEL_VERSION);
}

static int attention_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	mark(ctx, api);
	return api->result(ctx, ASYNCD_NEEDS_ATTENTION, -1, "build %s needs a person",
			   MODEL_VERSION);
}

static int postponed_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	mark(ctx, api);
	return api->result(ctx, ASYNCD_FAIL_TRANSIENT, POSTPONE_MS, "build %s postponed it",
			   MODEL_VERSION);
}

static const struct asyncd_plugin_type model_types[] = {
    {"fast", "succeeds at once", NULL, NULL, fast_execute},
    {"slow", "sleeps the input's \"ms\" (default 500)", NULL, NULL, slow_execute},
    {"failing", "fails permanently", NULL, NULL, failing_execute},
    {"attention", "needs attention", NULL, NULL, attention_execute},
    {"postponed", "fails transiently, to be retried in an hour", NULL, NULL, postponed_execute},
};

static const struct asyncd_plugin_info model_info = ASYNCD_PLUGIN_INFO_INIT(
    "model", MODEL_VERSION, "the randomized model test's plug-in", model_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &model_info;
}
