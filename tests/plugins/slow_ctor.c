/* Test plug-in: a valid assembly whose constructor hangs for a minute, so that validating it
 * must time out and kill the worker's process group (including the child it leaves behind). */
#include <time.h>
#include <unistd.h>

#include "asyncd/plugin.h"

__attribute__((constructor)) static void slow_ctor_on_load(void)
{
	struct timespec minute = {60, 0};

	fork(); /* parent and child both hang, in the worker's process group */
	nanosleep(&minute, NULL);
}

static int slow_ctor_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "unreachable");
}

static const struct asyncd_plugin_type slow_ctor_types[] = {
    {"run", NULL, NULL, NULL, slow_ctor_execute},
};

static const struct asyncd_plugin_info slow_ctor_info =
    ASYNCD_PLUGIN_INFO_INIT("slow_ctor", "1.0.0.0", "hangs when loaded", slow_ctor_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &slow_ctor_info;
}
