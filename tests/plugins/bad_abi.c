/* Test plug-in: a well-formed assembly that claims plug-in ABI version 99, which the host must
 * refuse at registration with a message naming both versions. */
#include "asyncd/plugin.h"

static int bad_abi_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "unreachable");
}

static const struct asyncd_plugin_type bad_abi_types[] = {
    {"run", NULL, NULL, NULL, bad_abi_execute},
};

static const struct asyncd_plugin_info bad_abi_info = {
    sizeof(struct asyncd_plugin_info), 99, "bad_abi",	  "1.0.0.0", "built for ABI 99",
    sizeof(struct asyncd_plugin_type), 1,  bad_abi_types,
};

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &bad_abi_info;
}
