/* Test plug-in: an assembly whose info says it exports no plug-in types (n_types 0), which the
 * host must refuse at registration. */
#include "asyncd/plugin.h"

static int no_types_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "unreachable");
}

static const struct asyncd_plugin_type no_types_types[] = {
    {"run", NULL, NULL, NULL, no_types_execute},
};

static const struct asyncd_plugin_info no_types_info = {
    sizeof(struct asyncd_plugin_info),
    ASYNCD_PLUGIN_ABI_VERSION,
    "no_types",
    "1.0.0.0",
    "exports no types",
    sizeof(struct asyncd_plugin_type),
    0,
    no_types_types,
};

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &no_types_info;
}
