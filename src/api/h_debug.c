/* Test-only: make the host's wall clock jump forward (POST /api/v1/debug/clock?shift_ms=N), so
 * that tests of recurring and postponed jobs need not wait for minutes to pass. It answers 404
 * unless asyncd was started with ASYNCD_TEST_CLOCK=1 in its environment (the test harness sets
 * it; a deployment never does), and then only to a System Administrator. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "exec/engine.h"

#define SHIFT_MAX_MS (400LL * 24 * 3600 * 1000)

int h_debug_clock(struct api_req *r)
{
	const char *on = getenv("ASYNCD_TEST_CLOCK"), *v = api_query(r, "shift_ms");
	char *end = NULL;
	if (!on || strcmp(on, "1") != 0)
		return api_error(r, AE_NOTFOUND, "no such resource (a test build hook)");
	long long ms = v ? strtoll(v, &end, 10) : -1;
	if (!v || *end || ms < 0 || ms > SHIFT_MAX_MS)
		return api_error(r, AE_INVAL, "shift_ms must be a whole number from 0 to %lld",
				 SHIFT_MAX_MS);
	clock_shift_ms(ms);
	if (r->api->engine)
		engine_due(r->api->engine, clock_now_ms());
	return api_reply(r, 200, json_pack("{s:o}", "now", time_json(clock_now_ms())));
}
