/* IANA time zones read from the system's tzdata (TZif files under /usr/share/zoneinfo, or $TZDIR
 * as read once at the first call), without touching the process-global TZ/tzset/localtime state:
 * a zone is parsed once into an immutable struct tz that any thread may use. Loaded zones are
 * kept until exit (there are a few hundred at most). Times here are seconds since the Unix epoch;
 * "local seconds" are the wall-clock time of the zone counted the same way (local = utc + offset).
 */
#ifndef ASYNCD_TZ_H
#define ASYNCD_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

/* The zone named name ("Europe/Berlin"); NULL, "" and "UTC" give UTC. AE_INVAL when the name is
 * not a zone of the system's tzdata (or not a safe relative path); AE_NOMEM. Thread-safe. */
int tz_get(const char *name, const struct tz **ret);
/* UTC, always available. */
const struct tz *tz_utc(void);
/* Parse the bytes of a TZif file (versions 1 to 4); the caller frees it with tz_free. AE_INVAL. */
int tz_parse(const void *data, size_t n, struct tz **ret);
void tz_free(struct tz *z);

/* The zone's offset from UTC in seconds (east positive) at utc. */
int32_t tz_offset_at(const struct tz *z, int64_t utc);
/* The UTC time of the wall-clock time local. A time that exists twice (the hour repeated when
 * clocks go back) gives the first of them (the one before the change); a time that does not exist
 * (skipped when clocks go forward) is read with the offset before the change, so it lands as far
 * after the change as it was after the skipped hour began (02:30 on a spring-forward night of
 * Europe/Berlin is 03:30 CEST). This is RFC 5545's rule. */
int64_t tz_local_to_utc(const struct tz *z, int64_t local);

/* Calendar helpers on day numbers (days since 1970-01-01, proleptic Gregorian). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d);
/* 0 = Monday .. 6 = Sunday */
int tz_weekday(int64_t days);
int tz_days_in_month(int64_t y, int m);

#endif
