/* The benchmark's plug-in assembly "bench" (bench/bench.c): "stamp" records when its handler
 * started (CLOCK_REALTIME, ns) as its output {"t":NS}, for the event -> handler latency; "noop"
 * succeeds at once. It includes only the public asyncd/plugin.h and keeps no state, so execute()
 * is thread-safe. Build with -DSTAMP_ASSEMBLY='"name"' for a second assembly with other bytes
 * (the sandboxed copy of the isolation test). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "asyncd/plugin.h"

#ifndef STAMP_ASSEMBLY
#define STAMP_ASSEMBLY "bench"
#endif

typedef const struct asyncd_host_api api_t;

static int stamp_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	struct timespec ts;
	char out[64];

	(void)instance;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, sizeof(out), "{\"t\":%" PRId64 "}",
		 (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec);
	if (api->set_output(ctx, out) != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "stamp: the host refused %s",
				   out);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "stamped");
}

static int noop_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "nothing to do");
}

static const struct asyncd_plugin_type stamp_types[] = {
    {"stamp", "sets its output to {\"t\": CLOCK_REALTIME in ns at the handler's start}", NULL, NULL,
     stamp_execute},
    {"noop", "succeeds at once", NULL, NULL, noop_execute},
};

static const struct asyncd_plugin_info stamp_info = ASYNCD_PLUGIN_INFO_INIT(
    STAMP_ASSEMBLY, "1.0.0.0", "the benchmark's plug-in types (bench/)", stamp_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &stamp_info;
}
