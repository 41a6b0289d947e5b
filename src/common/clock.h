/* Time: wall clock in milliseconds since the Unix epoch (what rows store), a monotonic clock for
 * deadlines, RFC 3339 formatting and parsing. A test build can shift the wall clock. */
#ifndef ASYNCD_CLOCK_H
#define ASYNCD_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

int64_t clock_now_ms(void);
int64_t clock_mono_ms(void);
/* Shift clock_now_ms() by delta milliseconds (tests). */
void clock_shift_ms(int64_t delta);
/* Format ms as "2026-11-25T12:00:00.123Z" into buf (at least 32 bytes). */
void clock_format_rfc3339(int64_t ms, char *buf, size_t n);
/* Parse an RFC 3339 UTC or offset time ("...Z" or "+hh:mm"); 0 or AE_INVAL. */
int clock_parse_rfc3339(const char *s, int64_t *ret_ms);
/* An absolute timespec ms from now on CLOCK_MONOTONIC, for pthread_cond_timedwait. */
struct timespec clock_mono_deadline(int64_t ms);

#endif
