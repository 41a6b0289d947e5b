/* HTTP requests for /metrics: how many by route (the route table's index, never the raw path)
 * and status class, and their latency from the headers' arrival to the answer being queued. */
#ifndef ASYNCD_HTTPSTATS_H
#define ASYNCD_HTTPSTATS_H

#include <stdint.h>

#include "common/metrics.h"

/* More than the route table holds (checked at render time); the last slot is "no route". */
#define HTTPSTATS_ROUTES 64
#define HTTPSTATS_UNMATCHED HTTPSTATS_ROUTES
#define HTTPSTATS_CLASSES 5 /* 1xx .. 5xx */

struct httpstats {
	uint64_t requests[HTTPSTATS_ROUTES + 1][HTTPSTATS_CLASSES];
	struct metrics_hist latency[HTTPSTATS_ROUTES + 1];
};

extern struct httpstats httpstats;

/* One answered request: route index (-1: none), HTTP status, microseconds it took. */
void httpstats_observe(int route, int status, int64_t us);

#endif
