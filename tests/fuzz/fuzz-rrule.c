/* libFuzzer entry for the recurrence rules (src/job/rrule.c) and the TZif reader
 * (src/common/tz.c). Input "TZif...": parsed as a zone file, then offsets and local -> UTC
 * conversions are checked on it. Otherwise the first line is an RRULE; when it parses, its first
 * occurrences from a start taken from the second line (seconds, default 2026-01-01) are walked in
 * UTC and in Europe/Berlin: each must come after the one before and not before the start, and
 * COUNT must bound them. Any crash, sanitizer report or abort() is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/tz.h"
#include "job/rrule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void zone_checks(const uint8_t *data, size_t size)
{
	struct tz *z = NULL;
	if (tz_parse(data, size, &z) < 0)
		return;
	static const int64_t probes[] = {-4000000000LL, 0, 1700000000, 1774746000, 4102444800LL,
					 32503680000LL};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int32_t off = tz_offset_at(z, probes[i]);
		if (off < -26 * 3600 || off > 26 * 3600)
			abort();
		int64_t u = tz_local_to_utc(z, probes[i]);
		if (u < probes[i] - 2 * 86400 || u > probes[i] + 2 * 86400)
			abort();
	}
	tz_free(z);
}

static void walk(const struct rrule *r, int64_t start_ms, const struct tz *z)
{
	int64_t after = start_ms - 1, next = 0;
	int n = 0;
	for (; n < 8 && rrule_next(r, start_ms, z, after, &next) == 0; n++) {
		if (next <= after || next < start_ms - 999 || next % 1000)
			abort();
		after = next;
	}
	if (r->count && n > r->count)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
		zone_checks(data, size);
		return 0;
	}
	char buf[RRULE_MAX_LEN * 2];
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
	memcpy(buf, data, n);
	buf[n] = 0;
	char *nl = strchr(buf, '\n');
	int64_t start_s = 1767225600; /* 2026-01-01 */
	if (nl) {
		*nl = 0;
		start_s = strtoll(nl + 1, NULL, 10) % 20000000000LL;
		if (start_s < 0)
			start_s = -start_s;
	}
	struct rrule r;
	char err[256];
	if (rrule_parse(buf, &r, err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	const struct tz *berlin = NULL;
	walk(&r, start_s * 1000, tz_utc());
	if (tz_get("Europe/Berlin", &berlin) == 0)
		walk(&r, start_s * 1000 + 500, berlin);
	return 0;
}
