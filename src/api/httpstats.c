/* HTTP requests by route and status class (see httpstats.h). */
#include "api/httpstats.h"

struct httpstats httpstats;

void httpstats_observe(int route, int status, int64_t us)
{
	int i = route < 0 || route >= HTTPSTATS_ROUTES ? HTTPSTATS_UNMATCHED : route;
	int k = status / 100 - 1;
	if (k < 0 || k >= HTTPSTATS_CLASSES)
		k = HTTPSTATS_CLASSES - 1;
	metrics_inc(&httpstats.requests[i][k], 1);
	metrics_observe(&httpstats.latency[i], &metrics_seconds, us);
}
