/* Test plug-in built many times under other assembly names (-DMULTI_NAME="multiN"): type "noop"
 * succeeds at once. Tests use the copies to send many distinct libraries to one worker. */
#include "asyncd/plugin.h"

#ifndef MULTI_NAME
#define MULTI_NAME "multi0"
#endif

static int multi_noop(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "%s", MULTI_NAME);
}

static const struct asyncd_plugin_type multi_types[] = {
    {"noop", NULL, NULL, NULL, multi_noop},
};

static const struct asyncd_plugin_info multi_info =
    ASYNCD_PLUGIN_INFO_INIT(MULTI_NAME, "1.0.0.0", "one of many copies", multi_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &multi_info;
}
