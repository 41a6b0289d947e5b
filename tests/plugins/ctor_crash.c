/* Test plug-in: a valid assembly whose constructor crashes with SIGSEGV as soon as it is loaded,
 * to show that only the worker that loads it dies, and that the host names the signal. */
#include "asyncd/plugin.h"

__attribute__((constructor)) static void ctor_crash_on_load(void)
{
	volatile int *volatile nowhere = 0;

	*nowhere = 1;
}

static int ctor_crash_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "unreachable");
}

static const struct asyncd_plugin_type ctor_crash_types[] = {
    {"run", NULL, NULL, NULL, ctor_crash_execute},
};

static const struct asyncd_plugin_info ctor_crash_info =
    ASYNCD_PLUGIN_INFO_INIT("ctor_crash", "1.0.0.0", "crashes when loaded", ctor_crash_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &ctor_crash_info;
}
