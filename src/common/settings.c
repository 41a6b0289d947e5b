/* The settings table and the current snapshot, guarded by one mutex. Each key maps to a field of
 * struct settings through a type and an offset; defaults follow SPEC §1-§5. */
#include <jansson.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/settings.h"
#include "common/util.h"
#include "common/throttle.h"

enum set_type { T_INT, T_INT64, T_SECONDS, T_STRING, T_SYNC, T_BOOL };

struct setting_def {
	const char *key;
	enum set_type type;
	size_t off;
	double min, max;
	const char *dflt; /* JSON text */
};

#define F(field) offsetof(struct settings, field)
static const struct setting_def defs[] = {
    {"async.max_retries", T_INT, F(max_retries), 0, 1000, "10"},
    {"async.time_between_retries", T_SECONDS, F(time_between_retries_ms), 0, 86400, "30"},
    {"async.max_depth", T_INT, F(max_depth), 1, 1000, "8"},
    {"async.depth_window", T_SECONDS, F(depth_window_ms), 1, 7 * 86400, "3600"},
    {"async.items_in_memory_low", T_INT, F(items_in_memory_low), 1, 1000000, "1000"},
    {"async.items_in_memory_high", T_INT, F(items_in_memory_high), 1, 1000000, "2000"},
    {"async.select_interval", T_SECONDS, F(select_interval_ms), 0.01, 3600, "5"},
    {"async.max_host_crashes", T_INT, F(max_host_crashes), 1, 1000, "2"},
    {"async.max_concurrent_jobs", T_INT, F(max_concurrent_jobs), 0, 4096, "0"},
    {"async.throttling", T_STRING, F(throttling), 0, 511, "\"\""},
    {"async.keepalive_interval", T_SECONDS, F(keepalive_interval_ms), 1, 3600, "10"},
    {"async.time_until_lock_expires", T_SECONDS, F(time_until_lock_expires_ms), 2, 86400, "60"},
    {"service.stop_timeout", T_SECONDS, F(stop_timeout_ms), 0, 3600, "30"},
    {"job.max_data_bytes", T_INT64, F(max_data_bytes), 1024, 64 << 20, "1048576"},
    {"job.max_trace_bytes", T_INT64, F(max_trace_bytes), 0, 16 << 20, "65536"},
    {"sandbox.workers", T_INT, F(sandbox_workers), 0, 256, "0"},
    {"sandbox.timeout", T_SECONDS, F(sandbox_timeout_ms), 0.1, 86400, "120"},
    {"sandbox.memory_limit_mb", T_INT, F(sandbox_memory_limit_mb), 16, 1 << 20, "1024"},
    {"sandbox.user", T_STRING, F(sandbox_user), 0, 63, "\"nobody\""},
    {"sandbox.allow_privileged", T_BOOL, F(sandbox_allow_privileged), 0, 0, "false"},
    {"sandbox.network", T_STRING, F(sandbox_network), 0, 7, "\"allow\""},
    {"cleanup.succeeded_after", T_SECONDS, F(cleanup_succeeded_after_ms), 0, 3650 * 86400.0,
     "86400"},
    {"cleanup.failed_after", T_SECONDS, F(cleanup_failed_after_ms), 0, 3650 * 86400.0, "2592000"},
    /* at least a day: a mistake must not delete the record of itself */
    {"audit.retention", T_SECONDS, F(audit_retention_ms), 86400, 3650 * 86400.0, "7776000"},
    {"attempts.retention", T_SECONDS, F(attempts_retention_ms), 86400, 3650 * 86400.0, "7776000"},
    {"store.synchronous", T_SYNC, F(synchronous_full), 0, 0, "\"full\""},
};
#undef F

static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct settings current;
static json_t *current_json; /* key -> value as given */

static const struct setting_def *def_find(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		if (!strcmp(defs[i].key, key))
			return &defs[i];
	return NULL;
}

const char *settings_key(int i)
{
	return i >= 0 && (size_t)i < ARRAY_SIZE(defs) ? defs[i].key : NULL;
}

/* x as a person writes it: whole numbers in full (315360000, never 3.1536e+08), others with
 * their decimals. buf holds at least 32 bytes. */
static const char *num_text(double x, char *buf, size_t n)
{
	if (x == (double)(long long)x && x > -1e18 && x < 1e18)
		snprintf(buf, n, "%lld", (long long)x);
	else
		snprintf(buf, n, "%.6f", x);
	if (strchr(buf, '.')) { /* drop the trailing zeros of the decimals */
		size_t k = strlen(buf);
		while (k > 1 && buf[k - 1] == '0')
			buf[--k] = 0;
		if (buf[k - 1] == '.')
			buf[k - 1] = 0;
	}
	return buf;
}

static int check_number(const struct setting_def *d, json_t *v, char *err, size_t errlen)
{
	char lo[32], hi[32];
	bool integral = d->type != T_SECONDS;
	if (integral ? !json_is_integer(v) : !json_is_number(v)) {
		snprintf(err, errlen, "%s must be %s", d->key,
			 integral ? "a whole number" : "a number of seconds");
		return AE_INVAL;
	}
	double x = json_number_value(v);
	if (x < d->min || x > d->max) {
		snprintf(err, errlen, "%s must be between %s and %s", d->key,
			 num_text(d->min, lo, sizeof(lo)), num_text(d->max, hi, sizeof(hi)));
		return AE_INVAL;
	}
	return 0;
}

static int check_value(const struct setting_def *d, json_t *v, char *err, size_t errlen)
{
	if (d->type == T_STRING) {
		if (!json_is_string(v) || json_string_length(v) > (size_t)d->max) {
			char max[32];
			snprintf(err, errlen, "%s must be a string of at most %s bytes", d->key,
				 num_text(d->max, max, sizeof(max)));
			return AE_INVAL;
		}
		struct throttle_table t;
		if (!strcmp(d->key, "async.throttling") &&
		    throttle_parse(json_string_value(v), &t, err, errlen) < 0)
			return AE_INVAL;
		if (!strcmp(d->key, "sandbox.network") && strcmp(json_string_value(v), "allow") &&
		    strcmp(json_string_value(v), "deny")) {
			snprintf(err, errlen, "%s must be \"allow\" or \"deny\"", d->key);
			return AE_INVAL;
		}
		return 0;
	}
	if (d->type == T_BOOL) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "%s must be true or false", d->key);
			return AE_INVAL;
		}
		return 0;
	}
	if (d->type == T_SYNC) {
		const char *s = json_string_value(v);
		if (!s || (strcmp(s, "full") && strcmp(s, "normal"))) {
			snprintf(err, errlen, "%s must be \"full\" or \"normal\"", d->key);
			return AE_INVAL;
		}
		return 0;
	}
	return check_number(d, v, err, errlen);
}

static void store_value(const struct setting_def *d, json_t *v)
{
	char *field = (char *)&current + d->off;
	switch (d->type) {
	case T_INT:
		*(int *)field = (int)json_integer_value(v);
		break;
	case T_INT64:
		*(int64_t *)field = (int64_t)json_integer_value(v);
		break;
	case T_SECONDS:
		*(int64_t *)field = (int64_t)(json_number_value(v) * 1000.0 + 0.5);
		break;
	case T_STRING:
		snprintf(field, (size_t)d->max + 1, "%s", json_string_value(v));
		break;
	case T_SYNC:
		*(bool *)field = !strcmp(json_string_value(v), "full");
		break;
	case T_BOOL:
		*(bool *)field = json_is_true(v);
		break;
	}
}

static int parse_checked(const char *key, const char *json_value, const struct setting_def **ret_d,
			 json_t **ret_v, char *err, size_t errlen)
{
	const struct setting_def *d = def_find(key);
	if (!d) {
		snprintf(err, errlen, "unknown setting: %s", key);
		return AE_NOTFOUND;
	}
	json_t *v = json_loads(json_value, JSON_DECODE_ANY, NULL);
	if (!v) {
		snprintf(err, errlen, "%s: value is not valid JSON", key);
		return AE_INVAL;
	}
	int rc = check_value(d, v, err, errlen);
	if (rc < 0) {
		json_decref(v);
		return rc;
	}
	*ret_d = d;
	*ret_v = v;
	return 0;
}

int settings_check(const char *key, const char *json_value, char *err, size_t errlen)
{
	const struct setting_def *d;
	json_t *v;
	int rc = parse_checked(key, json_value, &d, &v, err, errlen);
	if (rc == 0)
		json_decref(v);
	return rc;
}

int settings_apply(const char *key, const char *json_value, char *err, size_t errlen)
{
	const struct setting_def *d;
	json_t *v;
	int rc = parse_checked(key, json_value, &d, &v, err, errlen);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&settings_lock);
	store_value(d, v);
	json_object_set_new(current_json, d->key, v);
	pthread_mutex_unlock(&settings_lock);
	return 0;
}

/* The value key will have once changes (an object of key -> value) are applied. */
static json_t *value_after(json_t *changes, const char *key)
{
	json_t *v = json_object_get(changes, key);
	if (v)
		return json_incref(v);
	pthread_mutex_lock(&settings_lock);
	v = json_incref(json_object_get(current_json, key));
	pthread_mutex_unlock(&settings_lock);
	return v;
}

/* Whether name is a user that exists; *ret_uid its uid. */
static bool user_uid(const char *name, uid_t *ret_uid)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return false;
	*ret_uid = pw.pw_uid;
	return true;
}

static int check_sandbox_user(const char *user, bool privileged_ok, char *err, size_t errlen)
{
	uid_t uid;
	if (!user[0]) {
		if (privileged_ok)
			return 0;
		snprintf(err, errlen,
			 "sandbox.user is empty: plug-ins would keep asyncd's own user; set "
			 "sandbox.allow_privileged to true to allow that");
		return AE_INVAL;
	}
	if (!user_uid(user, &uid)) {
		snprintf(err, errlen, "sandbox.user %s: no such user", user);
		return AE_INVAL;
	}
	if (uid == 0 && !privileged_ok) {
		snprintf(err, errlen,
			 "sandbox.user %s has uid 0: plug-ins would run as root; set "
			 "sandbox.allow_privileged to true to allow that",
			 user);
		return AE_INVAL;
	}
	return 0;
}

int settings_check_together(json_t *changes, char *err, size_t errlen)
{
	if (!json_object_get(changes, "sandbox.user") &&
	    !json_object_get(changes, "sandbox.allow_privileged"))
		return 0;
	json_t *user = value_after(changes, "sandbox.user");
	json_t *priv = value_after(changes, "sandbox.allow_privileged");
	int rc = check_sandbox_user(json_is_string(user) ? json_string_value(user) : "",
				    json_is_true(priv), err, errlen);
	json_decref(user);
	json_decref(priv);
	return rc;
}

void settings_init(void)
{
	char err[256];
	pthread_mutex_lock(&settings_lock);
	if (!current_json)
		current_json = json_object();
	pthread_mutex_unlock(&settings_lock);
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		settings_apply(defs[i].key, defs[i].dflt, err, sizeof(err));
}

/* Read once: sysconf() reads /sys on every call, and settings_current() is on the hot path. */
static int ncpus(void)
{
	static int cached;
	int n = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (int)c : 1;
		__atomic_store_n(&cached, n, __ATOMIC_RELAXED);
	}
	return n;
}

void settings_current(struct settings *ret)
{
	pthread_mutex_lock(&settings_lock);
	*ret = current;
	pthread_mutex_unlock(&settings_lock);
	if (ret->max_concurrent_jobs == 0)
		ret->max_concurrent_jobs = 4 * ncpus();
	if (ret->sandbox_workers == 0)
		ret->sandbox_workers = ncpus();
	if (ret->items_in_memory_high < ret->items_in_memory_low)
		ret->items_in_memory_high = ret->items_in_memory_low;
}

char *settings_to_json(void)
{
	pthread_mutex_lock(&settings_lock);
	char *s = json_dumps(current_json, JSON_COMPACT | JSON_SORT_KEYS);
	pthread_mutex_unlock(&settings_lock);
	return s;
}

/* ---- rules across settings ----
 * Pairs of settings that only make sense in one order, checked on the values a change would
 * leave (the change over the current ones). Kept apart from the per-key table above. */

struct settings_pair {
	const char *lo, *hi;
	bool strict; /* lo < hi rather than lo <= hi */
	const char *why;
};

static const struct settings_pair pairs[] = {
    {"async.items_in_memory_low", "async.items_in_memory_high", false,
     "selection refills the in-memory window from below low up to high"},
    {"async.keepalive_interval", "async.time_until_lock_expires", true,
     "a host that heartbeats less often than its lock expires would be taken for dead"},
};

/* value_after, borrowed, with the settings lock already held. */
static json_t *value_after_locked(json_t *changes, const char *key)
{
	json_t *v = json_object_get(changes, key);
	return v ? v : json_object_get(current_json, key);
}

static int check_pair(const struct settings_pair *p, json_t *changes, char *err, size_t errlen)
{
	json_t *lo = value_after_locked(changes, p->lo), *hi = value_after_locked(changes, p->hi);
	if (!json_is_number(lo) || !json_is_number(hi))
		return 0; /* the per-key check reports it */
	double a = json_number_value(lo), b = json_number_value(hi);
	char at[32], bt[32];
	if (p->strict ? a < b : a <= b)
		return 0;
	snprintf(err, errlen, "%s (%s) must be %s %s (%s): %s", p->lo, num_text(a, at, sizeof(at)),
		 p->strict ? "below" : "at most", p->hi, num_text(b, bt, sizeof(bt)), p->why);
	return AE_INVAL;
}

int settings_check_pairs(json_t *changes, char *err, size_t errlen)
{
	int rc = 0;
	pthread_mutex_lock(&settings_lock);
	for (size_t i = 0; i < ARRAY_SIZE(pairs) && rc == 0; i++)
		rc = check_pair(&pairs[i], changes, err, errlen);
	pthread_mutex_unlock(&settings_lock);
	return rc;
}
