/* greeter: a complete asyncd plug-in assembly, the one docs/writing-plugins.md walks through.
 * It greets the record an event is about, reads its step's configuration, traces what it does,
 * raises a follow-up event, and tells transient from permanent failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asyncd/plugin.h>

/* What create() makes from the step's configuration: here, the greeting to use. */
struct greeter {
	char greeting[64];
};

static int greeter_create(const char *config, const char *secure_config, void **ret_instance,
			  char *err, size_t errlen)
{
	struct greeter *g = calloc(1, sizeof(*g));
	(void)secure_config;
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(g->greeting, sizeof(g->greeting), "%s", config && *config ? config : "Hello");
	*ret_instance = g;
	return 0;
}

static void greeter_destroy(void *instance)
{
	free(instance);
}

static int greet_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	const struct greeter *g = instance;
	const char *name = api->input_string(ctx, "name");
	char output[256];

	if (!name) /* bad input: retrying cannot help */
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1,
				   "the target has no \"name\": send {\"name\": ...}");
	if (!strcmp(name, "busy")) /* the kind of failure that goes away: retry in 2 s */
		return api->result(ctx, ASYNCD_FAIL_TRANSIENT, 2000, "%s is busy, trying later",
				   name);

	/* job id + attempt make an idempotency key for anything sent outside */
	api->trace(ctx, "job %lld attempt %u: greeting %s", (long long)api->job_id(ctx),
		   api->attempt(ctx), name);
	snprintf(output, sizeof(output), "{\"greeting\":\"%s, %s!\"}", g->greeting, name);
	api->set_output(ctx, output);
	if (api->input_string(ctx, "notify"))
		api->raise_event(ctx, "{\"message\":\"Greeted\",\"entity\":\"contact\","
				      "\"target\":{\"who\":\"someone\"}}");
	return api->result(ctx, ASYNCD_SUCCESS, -1, "greeted %s", name);
}

static const struct asyncd_plugin_type types[] = {
    {"greet", "greets the record's name", greeter_create, greeter_destroy, greet_execute},
};

static const struct asyncd_plugin_info info =
    ASYNCD_PLUGIN_INFO_INIT("greeter", "1.0.0.0", "an example assembly", types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &info;
}
