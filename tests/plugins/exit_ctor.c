/* Test plug-in: a valid assembly whose constructor calls exit(3) as soon as it is loaded, to show
 * that loading it ends only the worker, with a clear error at registration. */
#include <stdlib.h>

#include "asyncd/plugin.h"

__attribute__((constructor)) static void exit_ctor_on_load(void)
{
	exit(3);
}

static int exit_ctor_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "unreachable");
}

static const struct asyncd_plugin_type exit_ctor_types[] = {
    {"run", NULL, NULL, NULL, exit_ctor_execute},
};

static const struct asyncd_plugin_info exit_ctor_info =
    ASYNCD_PLUGIN_INFO_INIT("exit_ctor", "1.0.0.0", "exits when loaded", exit_ctor_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &exit_ctor_info;
}
