/* Settings (SPEC §8): the table of known keys with their defaults and bounds, validation of new
 * values, and the typed snapshot the engine reads. Values travel as JSON text; durations are
 * seconds (fractions allowed). Persisting them is the caller's business (the store). */
#ifndef ASYNCD_SETTINGS_H
#define ASYNCD_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct settings {
	int max_retries;
	int64_t time_between_retries_ms;
	int max_depth;
	int64_t depth_window_ms;
	int items_in_memory_low;
	int items_in_memory_high;
	int64_t select_interval_ms;
	int max_concurrent_jobs; /* resolved: never 0 */
	int max_host_crashes;	 /* in-process runs of a job its host may die in */
	char throttling[512];
	int64_t keepalive_interval_ms;
	int64_t time_until_lock_expires_ms;
	int64_t stop_timeout_ms;
	int64_t max_data_bytes;
	int64_t max_trace_bytes;
	int sandbox_workers; /* resolved: never 0 */
	int64_t sandbox_timeout_ms;
	int sandbox_memory_limit_mb;
	char sandbox_user[64];
	bool sandbox_allow_privileged; /* sandbox.user may be root or empty */
	char sandbox_network[8];       /* "allow" or "deny" */
	int64_t cleanup_succeeded_after_ms;
	int64_t cleanup_failed_after_ms;
	int64_t audit_retention_ms;    /* audit entries older than this are deleted */
	int64_t attempts_retention_ms; /* attempt-history entries that ended longer ago */
	bool synchronous_full;
};

/* Start from the defaults. */
void settings_init(void);
/* Apply one stored or requested value. 0, AE_NOTFOUND for an unknown key, or AE_INVAL with a
 * message in err that says the allowed range. */
int settings_apply(const char *key, const char *json_value, char *err, size_t errlen);
/* Check a value without applying it. */
int settings_check(const char *key, const char *json_value, char *err, size_t errlen);
/* Check what the values in changes (a JSON object of key -> value, each already checked alone)
 * mean together with the current ones: sandbox.user must exist, and be neither empty nor a uid 0
 * user unless sandbox.allow_privileged is true. 0, or AE_INVAL with the reason in err. */
int settings_check_together(json_t *changes, char *err, size_t errlen);
/* A copy of the current snapshot. */
void settings_current(struct settings *ret);
/* Every key with its current value as one JSON object text; caller frees. */
char *settings_to_json(void);
/* The number of known keys, and the i-th key (NULL past the end). */
const char *settings_key(int i);

/* Rules across settings: the values changes (an object of key -> JSON value) would leave, over
 * the current ones, must keep related settings in order (items_in_memory_low <= _high, ...).
 * AE_INVAL with a message naming both settings and their values. */
struct json_t;
int settings_check_pairs(struct json_t *changes, char *err, size_t errlen);

#endif
