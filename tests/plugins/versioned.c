/* Test plug-in: the assembly "versioned", built at two revisions (VERSIONED_VERSION), whose type
 * "slow" sleeps the input's "ms" (stopping when asked) and only then traces and reports its own
 * version: a job that was running when the assembly was upgraded shows which code finished it. */
#include <stdint.h>
#include <time.h>

#include "asyncd/plugin.h"

#ifndef VERSIONED_VERSION
#define VERSIONED_VERSION "1.0.0.0"
#endif

#define SLICE_MS 10

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int slow_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	int64_t end = mono_ms() + api->input_int(ctx, "ms", 0);
	struct timespec slice = {0, SLICE_MS * 1000000L};

	(void)instance;
	while (mono_ms() < end) {
		if (api->should_stop(ctx))
			return api->result(ctx, ASYNCD_FAIL_TRANSIENT, -1, "interrupted");
		nanosleep(&slice, NULL);
	}
	api->trace(ctx, "versioned version %s", VERSIONED_VERSION);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "finished by version %s", VERSIONED_VERSION);
}

static const struct asyncd_plugin_type versioned_types[] = {
    {"slow", "sleeps the input's \"ms\", then traces its version", NULL, NULL, slow_execute},
};

static const struct asyncd_plugin_info versioned_info = ASYNCD_PLUGIN_INFO_INIT(
    "versioned", VERSIONED_VERSION, "reports its version after a wait", versioned_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &versioned_info;
}
