/* Request bodies: one field table per kind and the checks that need only the body (see body.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/jfields.h"
#include "common/settings.h"
#include "common/util.h"
#include "plugin/events.h"

#define TOKEN_MAX 128

static const struct jfield event_fields[] = {
    {"message", JF_STR, false},
    {"entity", JF_STR, false},
    {"entity_id", JF_STR | JF_INT, false},
    {"target", JF_OBJ, false},
    {"pre_image", JF_OBJ, false},
    {"post_image", JF_OBJ, false},
    {"correlation_id", JF_STR, false},
};

static const struct jfield job_fields[] = {
    {"plugin_type", JF_STR, true},
    {"data", JF_ANY, false},
    {"priority", JF_INT, false},
    {"postpone_until", JF_STR, false},
    {"dependency_token", JF_STR, false},
    {"idempotency_key", JF_STR, false},
    {"recurrence_pattern", JF_STR, false},
    {"max_retries", JF_INT, false},
    {"recurrence_start_time", JF_STR, false},
    {"recurrence_timezone", JF_STR, false},
};

#define CONFIG_TYPES (JF_STR | JF_OBJ | JF_ARR)
static const struct jfield step_fields[] = {
    {"plugin_type", JF_STR, true},
    {"message", JF_STR, true},
    {"entity", JF_STR, false},
    {"name", JF_STR, false},
    {"rank", JF_INT, false},
    {"stage", JF_INT, false},
    {"mode", JF_STR, false},
    {"filtering_attributes", JF_ARR, false},
    {"configuration", CONFIG_TYPES, false},
    {"secure_configuration", CONFIG_TYPES, false},
    {"impersonating_user", JF_STR, false},
    {"async_auto_delete", JF_BOOL, false},
    {"enabled", JF_BOOL, false},
    {"images", JF_ARR, false},
};

/* A PATCH names any of a step's fields; plugin_type, stage and mode only with their current value
 * (h_steps.c checks that). */
static const struct jfield step_patch_fields[] = {
    {"plugin_type", JF_STR, false},
    {"message", JF_STR, false},
    {"entity", JF_STR | JF_NULL, false},
    {"name", JF_STR | JF_NULL, false},
    {"rank", JF_INT, false},
    {"stage", JF_INT, false},
    {"mode", JF_STR, false},
    {"filtering_attributes", JF_ARR | JF_NULL, false},
    {"configuration", CONFIG_TYPES | JF_NULL, false},
    {"secure_configuration", CONFIG_TYPES | JF_NULL, false},
    {"impersonating_user", JF_STR | JF_NULL, false},
    {"async_auto_delete", JF_BOOL, false},
    {"enabled", JF_BOOL, false},
    {"images", JF_ARR | JF_NULL, false},
};
static const struct jfield job_bulk_fields[] = {
    {"action", JF_STR, true}, {"ids", JF_ARR, false}, {"filter", JF_OBJ, false}};
static const struct jfield bulk_delete_fields[] = {{"filter", JF_OBJ, true},
						   {"recurrence_pattern", JF_STR, false},
						   {"recurrence_start_time", JF_STR, false},
						   {"recurrence_timezone", JF_STR, false}};
static const struct jfield job_patch_fields[] = {{"recurrence_pattern", JF_STR, true},
						 {"recurrence_start_time", JF_STR, false},
						 {"recurrence_timezone", JF_STR, false}};
static const struct jfield assembly_patch_fields[] = {{"isolation", JF_STR, true}};
static const struct jfield user_fields[] = {
    {"name", JF_STR, true}, {"roles", JF_ARR, true}, {"password", JF_STR, false}};
static const struct jfield token_fields[] = {{"user", JF_STR, true}, {"name", JF_STR, false}};
static const struct jfield login_fields[] = {{"name", JF_STR, true}, {"password", JF_STR, true}};
static const struct jfield postpone_fields[] = {{"until", JF_STR, true}};
static const struct jfield service_fields[] = {{"startup_type", JF_STR, false},
					       {"recovery_delay_s", JF_INT, false}};

static int int_range(json_t *o, const char *key, long long lo, long long hi, char *err,
		     size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return 0;
	long long x = json_integer_value(v);
	if (x >= lo && x <= hi)
		return 0;
	snprintf(err, errlen, "%s must be a whole number from %lld to %lld", key, lo, hi);
	return AE_INVAL;
}

static int str_len(json_t *o, const char *key, size_t lo, size_t hi, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return 0;
	size_t n = json_string_length(v);
	if (n >= lo && n <= hi && strlen(json_string_value(v)) == n)
		return 0;
	snprintf(err, errlen, "%s must be a string of %zu to %zu bytes without NUL", key, lo, hi);
	return AE_INVAL;
}

static int time_field(json_t *o, const char *key, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	int64_t t;
	if (!json_is_string(v) || clock_parse_rfc3339(json_string_value(v), &t) == 0)
		return 0;
	snprintf(err, errlen, "%s must be an RFC 3339 time such as 2026-01-31T09:00:00Z", key);
	return AE_INVAL;
}

static int strings_array(json_t *o, const char *key, char *err, size_t errlen)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(o, key), i, x) if (!json_is_string(x))
	{
		snprintf(err, errlen, "%s[%zu] must be a string", key, i);
		return AE_INVAL;
	}
	return 0;
}

static int event_extra(json_t *o, char *err, size_t errlen)
{
	return events_validate(o, err, errlen);
}

static int job_extra(json_t *o, char *err, size_t errlen)
{
	int rc;
	if ((rc = int_range(o, "priority", 0, 10, err, errlen)) < 0 ||
	    (rc = int_range(o, "max_retries", 0, 1000, err, errlen)) < 0 ||
	    (rc = str_len(o, "plugin_type", 1, 200, err, errlen)) < 0 ||
	    (rc = str_len(o, "dependency_token", 1, TOKEN_MAX, err, errlen)) < 0 ||
	    (rc = str_len(o, "idempotency_key", 1, TOKEN_MAX, err, errlen)) < 0)
		return rc;
	return time_field(o, "postpone_until", err, errlen);
}

static int step_extra(json_t *o, char *err, size_t errlen)
{
	int rc;
	if ((rc = str_len(o, "plugin_type", 1, 200, err, errlen)) < 0 ||
	    (rc = str_len(o, "name", 1, 256, err, errlen)) < 0 ||
	    (rc = str_len(o, "impersonating_user", 1, 128, err, errlen)) < 0 ||
	    (rc = int_range(o, "rank", 1, 1000000, err, errlen)) < 0 ||
	    (rc = strings_array(o, "filtering_attributes", err, errlen)) < 0)
		return rc;
	return 0;
}

static int step_patch_extra(json_t *o, char *err, size_t errlen)
{
	if (json_object_size(o) == 0) {
		snprintf(err, errlen,
			 "name at least one field to change, e.g. {\"enabled\": false} or "
			 "{\"configuration\": \"...\"}");
		return AE_INVAL;
	}
	return step_extra(o, err, errlen);
}

static int settings_extra(json_t *o, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	if (json_object_size(o) == 0) {
		snprintf(err, errlen,
			 "send the settings to change, e.g. {\"async.max_retries\": 3}");
		return AE_INVAL;
	}
	json_object_foreach(o, key, v)
	{
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		int rc = text ? settings_check(key, text, err, errlen) : AE_NOMEM;
		free(text);
		if (rc < 0)
			return rc == AE_NOTFOUND ? AE_INVAL : rc;
	}
	int rc = settings_check_pairs(o, err, errlen);
	return rc < 0 ? rc : settings_check_together(o, err, errlen);
}

static int user_extra(json_t *o, char *err, size_t errlen)
{
	return strings_array(o, "roles", err, errlen);
}

static int login_extra(json_t *o, char *err, size_t errlen)
{
	return str_len(o, "password", 0, 256, err, errlen);
}

static int postpone_extra(json_t *o, char *err, size_t errlen)
{
	return time_field(o, "until", err, errlen);
}

struct body_def {
	const struct jfield *fields;
	size_t n;
	int (*extra)(json_t *o, char *err, size_t errlen); /* NULL: none */
	bool open;					   /* any member name (settings) */
};

#define DEF(f, x)                                                                                  \
	{                                                                                          \
		f, ARRAY_SIZE(f), x, false                                                         \
	}
static const struct body_def defs[BODY_KIND_COUNT_] = {
    [BODY_EVENT] = DEF(event_fields, event_extra),
    [BODY_JOB] = DEF(job_fields, job_extra),
    [BODY_STEP] = DEF(step_fields, step_extra),
    [BODY_STEP_PATCH] = DEF(step_patch_fields, step_patch_extra),
    [BODY_SETTINGS] = {NULL, 0, settings_extra, true},
    [BODY_USER] = DEF(user_fields, user_extra),
    [BODY_TOKEN] = DEF(token_fields, NULL),
    [BODY_LOGIN] = DEF(login_fields, login_extra),
    [BODY_POSTPONE] = DEF(postpone_fields, postpone_extra),
    [BODY_JOB_ACTION] = {NULL, 0, NULL, false},
    [BODY_SERVICE] = DEF(service_fields, NULL),
    [BODY_ASSEMBLY_PATCH] = DEF(assembly_patch_fields, NULL),
    [BODY_JOB_BULK] = DEF(job_bulk_fields, NULL),
    [BODY_BULK_DELETE] = DEF(bulk_delete_fields, NULL),
    [BODY_JOB_PATCH] = DEF(job_patch_fields, NULL),
};
#undef DEF

int body_check(enum body_kind kind, json_t *obj, char *err, size_t errlen)
{
	if ((unsigned)kind >= BODY_KIND_COUNT_ || !json_is_object(obj)) {
		snprintf(err, errlen, "the body must be a JSON object");
		return AE_INVAL;
	}
	const struct body_def *d = &defs[kind];
	int rc = d->open ? 0 : jfields_check(obj, d->fields, d->n, err, errlen);
	if (rc == 0 && d->extra)
		rc = d->extra(obj, err, errlen);
	return rc;
}

static bool depth_ok(json_t *v, int max_depth)
{
	const char *k;
	size_t i;
	json_t *x;
	if (max_depth < 0)
		return false;
	if (json_is_object(v))
		json_object_foreach(v, k, x) if (!depth_ok(x, max_depth - 1)) return false;
	if (json_is_array(v))
		json_array_foreach(v, i, x) if (!depth_ok(x, max_depth - 1)) return false;
	return true;
}

int body_parse(enum body_kind kind, const char *data, size_t len, json_t **ret, char *err,
	       size_t errlen)
{
	json_error_t e;
	if (!len) {
		snprintf(err, errlen, "a JSON object body is required");
		return AE_INVAL;
	}
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
	if (!v) {
		snprintf(err, errlen, "the body is not valid JSON: %s (line %d, column %d)", e.text,
			 e.line, e.column);
		return AE_INVAL;
	}
	if (!json_is_object(v) || !depth_ok(v, BODY_MAX_DEPTH)) {
		json_decref(v);
		snprintf(err, errlen,
			 "the body must be a JSON object nested at most %d levels deep",
			 BODY_MAX_DEPTH);
		return AE_INVAL;
	}
	int rc = body_check(kind, v, err, errlen);
	if (rc < 0) {
		json_decref(v);
		return rc;
	}
	*ret = v;
	return 0;
}

/* One NDJSON line: parsed, checked and handed to fn. */
static int ndjson_line(const char *p, size_t n, size_t line, body_event_fn fn, void *arg, char *err,
		       size_t errlen)
{
	char msg[768];
	json_t *ev = NULL;
	int rc;
	if (n > BODY_EVENT_MAX_LINE) {
		snprintf(err, errlen, "line %zu: an event may be at most %u bytes", line,
			 BODY_EVENT_MAX_LINE);
		return AE_TOOBIG;
	}
	rc = body_parse(BODY_EVENT, p, n, &ev, msg, sizeof(msg));
	if (rc < 0) {
		snprintf(err, errlen, "line %zu: %s", line, msg);
		return rc;
	}
	rc = fn(ev, line, arg, err, errlen);
	json_decref(ev);
	return rc;
}

int body_ndjson_each(const char *data, size_t len, body_event_fn fn, void *arg, size_t *ret_events,
		     char *err, size_t errlen)
{
	const char *p = data, *end = data + len;
	size_t line = 0, events = 0;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), blank = 0;
		line++;
		while (blank < n && strchr(" \t\r", p[blank]) && p[blank])
			blank++;
		if (blank < n) {
			int rc = ndjson_line(p, n, line, fn, arg, err, errlen);
			if (rc < 0)
				return rc;
			events++;
		}
		p = nl ? nl + 1 : end;
	}
	if (!events) {
		snprintf(err, errlen, "the body holds no events: send one JSON object a line");
		return AE_INVAL;
	}
	*ret_events = events;
	return 0;
}
