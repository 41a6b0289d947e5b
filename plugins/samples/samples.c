/* The sample assembly "samples" (SPEC §9): small plug-in types that succeed, fail, wait, crash,
 * hog memory or raise events on request, for trying asyncd out and for its tests. It includes only
 * the public asyncd/plugin.h and keeps no state between runs, so execute() is thread-safe. Build
 * with -DSAMPLES_VERSION='"x.y.z.w"' to make another version of it (upgrade tests). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "asyncd/plugin.h"

#ifndef SAMPLES_VERSION
#define SAMPLES_VERSION "1.0.0.0"
#endif

#define SLEEP_SLICE_MS 10
#define MIB ((size_t)1024 * 1024)

typedef const struct asyncd_host_api api_t;

static int noop_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "nothing to do");
}

static int echo_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	const char *input = api->input_json(ctx);

	(void)instance;
	if (!input)
		input = "null";
	api->trace(ctx, "input: %s", input);
	api->trace(ctx, "samples version %s", SAMPLES_VERSION);
	if (api->set_output(ctx, input) != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1,
				   "echo: the host refused the input as output");
	return api->result(ctx, ASYNCD_SUCCESS, -1, "echoed the input (samples version %s)",
			   SAMPLES_VERSION);
}

static int fail_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	const char *msg = api->input_string(ctx, "message");

	(void)instance;
	return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "%s",
			   msg ? msg : "samples.fail always fails");
}

static int flaky_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	int64_t fail_times = api->input_int(ctx, "fail_times", 1);
	int64_t delay_ms = api->input_int(ctx, "delay_ms", -1);
	uint32_t attempt = api->attempt(ctx);

	(void)instance;
	if ((int64_t)attempt <= fail_times)
		return api->result(ctx, ASYNCD_FAIL_TRANSIENT, delay_ms < 0 ? -1 : delay_ms,
				   "flaky: attempt %u of %lld fails on purpose", (unsigned)attempt,
				   (long long)fail_times);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "flaky: attempt %u succeeds",
			   (unsigned)attempt);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sleep_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	int64_t ms = api->input_int(ctx, "ms", 1000);
	int64_t end = now_ms() + (ms > 0 ? ms : 0);
	int64_t left;

	(void)instance;
	while ((left = end - now_ms()) > 0) {
		if (api->should_stop(ctx))
			return api->result(ctx, ASYNCD_FAIL_TRANSIENT, -1, "interrupted");
		sleep_ms(left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS);
	}
	return api->result(ctx, ASYNCD_SUCCESS, -1, "slept %lld ms", (long long)(ms > 0 ? ms : 0));
}

/* no_sanitize: the null store is the point; UBSan must not stop it first */
__attribute__((no_sanitize("undefined"))) static int crash_execute(void *instance, asyncd_ctx *ctx,
								   api_t *api)
{
	/* volatile: the compiler may neither drop the store nor turn it into a trap */
	volatile int *volatile nowhere = NULL;

	(void)instance;
	*nowhere = 1;
	raise(SIGSEGV);
	return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "crash: still alive after SIGSEGV");
}

/* Touch every page of mem so that it is really allocated. */
static void touch_pages(char *mem, size_t bytes)
{
	volatile char *p = mem;
	long page = sysconf(_SC_PAGESIZE);
	size_t step = page > 0 ? (size_t)page : 4096;

	for (size_t i = 0; i < bytes; i += step)
		p[i] = (char)i;
}

static int hog_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	int64_t mb = api->input_int(ctx, "mb", 1024);
	char *mem = NULL;

	(void)instance;
	if (mb < 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "hog: mb must not be negative");
	if ((uint64_t)mb <= SIZE_MAX / MIB)
		mem = malloc((size_t)mb * MIB + 1);
	if (!mem)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "could not allocate %lld MiB",
				   (long long)mb);
	touch_pages(mem, (size_t)mb * MIB);
	free(mem);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "allocated and touched %lld MiB",
			   (long long)mb);
}

/* {"repeat": true}: raise the event that caused this job again, with the same target, like a
 * plug-in that updates the record whose update triggers it (the depth guard ends the loop). */
static int raise_again(asyncd_ctx *ctx, api_t *api)
{
	char ev[8192];
	const char *entity = api->entity(ctx);
	int n = snprintf(ev, sizeof(ev), "{\"message\":\"%s\",%s%s%s\"target\":%s}",
			 api->message(ctx) ? api->message(ctx) : "Repeat",
			 entity ? "\"entity\":\"" : "", entity ? entity : "", entity ? "\"," : "",
			 api->input_json(ctx));
	if (n < 0 || (size_t)n >= sizeof(ev))
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "raise: the input is too large");
	if (api->raise_event(ctx, ev) != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1,
				   "raise: the host refused the event");
	return api->result(ctx, ASYNCD_SUCCESS, -1, "raised the same event again (depth %d)",
			   api->depth(ctx));
}

static int raise_execute(void *instance, asyncd_ctx *ctx, api_t *api)
{
	const char *event = api->input_string(ctx, "event");

	(void)instance;
	if (api->input_string(ctx, "repeat") && !strcmp(api->input_string(ctx, "repeat"), "true"))
		return raise_again(ctx, api);
	if (!event)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1,
				   "raise: the input has no \"event\" member");
	if (api->raise_event(ctx, event) != 0)
		return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1,
				   "raise: the host refused the event");
	return api->result(ctx, ASYNCD_SUCCESS, -1, "raised an event");
}

static const struct asyncd_plugin_type samples_types[] = {
    {"noop", "succeeds at once", NULL, NULL, noop_execute},
    {"echo", "traces its input and its assembly version, and returns the input as output", NULL,
     NULL, echo_execute},
    {"fail", "fails permanently with the input's \"message\"", NULL, NULL, fail_execute},
    {"flaky",
     "fails transiently while the attempt is at most the input's \"fail_times\" (default 1), "
     "then succeeds; \"delay_ms\" sets the retry delay",
     NULL, NULL, flaky_execute},
    {"sleep", "sleeps the input's \"ms\" milliseconds (default 1000), stopping when asked", NULL,
     NULL, sleep_execute},
    {"crash", "crashes with SIGSEGV", NULL, NULL, crash_execute},
    {"hog", "allocates and touches the input's \"mb\" MiB (default 1024)", NULL, NULL, hog_execute},
    {"raise", "raises the input's \"event\", or with \"repeat\": true the same event again", NULL,
     NULL, raise_execute},
};

static const struct asyncd_plugin_info samples_info = ASYNCD_PLUGIN_INFO_INIT(
    "samples", SAMPLES_VERSION, "sample plug-in types for trying asyncd out", samples_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &samples_info;
}
